"""A file beside a DICOM slide that always fails to open (EIO: a bad sector, a broken mount) is
left out by OpenSlide, which opens every file of the folder it can; the audit's probe took the
slide's files leaving it out too, but checked them after the read strictly (that file's error
raised), so the item was "check crashed: NotChecked" on every run. The take and the check are
equally strict now: the slide is read as OpenSlide reads it (second review of the server fix
round, finding 1; /tmp/rev2-server/s5.py)."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from dqm.profile import Profile
from dqm.runner import RunOptions, run_batch


def test_a_file_beside_a_dicom_slide_that_always_fails_does_not_crash_every_run(
    real_data: Path, tmp_path: Path, profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_cache import boxes_batch

    root = boxes_batch(real_data, tmp_path / "b")
    (root / "zz_bad.bin").write_bytes(b"\0" * 300)
    real_open = os.open

    def bad(path: object, *args: object, **kwargs: object) -> int:
        if isinstance(path, (str, bytes, os.PathLike)) and os.fsdecode(path).endswith("zz_bad.bin"):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", bad)
    for _ in range(2):  # every run, not only the first
        run = run_batch(root, profile, RunOptions(workers=1, clinical=False))
        said = {o.summary.slide_id: [str(f.message) for f in o.findings] for o in run.outcomes}
        assert set(said) >= {"boxes_0", "boxes_1"}
        for slide in ("boxes_0", "boxes_1"):
            assert not [s for s in said[slide] if "crashed" in s or "while the slide was being" in s], said
        described = {o.summary.slide_id: o.summary for o in run.outcomes}["boxes_0"]
        assert described.width and described.height  # read as OpenSlide reads it, without that file


def test_validity_reader_given_the_record_refuses_a_dicom_series_listed_cut_now(
    real_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A DICOM slide of exactly MAX_PARTS files besides it at the audit that gains one since
    (``zz.dcm``, sorted past the others: off the listing cut at MAX_PARTS): the review server
    refused it, validity's reader given the record read it, OpenSlide with the file joined. Both
    apply one rule (:func:`dqm.slide_io.crowded_since_audit`, at :func:`open_checked`): refused
    (second server review, finding 4; /tmp/rev2-server/s4.py)."""
    import shutil

    from dqm import slide_refs
    from dqm.slide_io import NotAudited, open_checked
    from dqm.validity.data import SlideReader, SlideRefused
    from tests.slides.test_read_after_audit import _parts_recorded

    monkeypatch.setattr(slide_refs, "MAX_PARTS", 1)
    root = tmp_path / "b"
    (root / "d").mkdir(parents=True)
    for name in ("boxes_0.dcm", "boxes_1.dcm"):
        shutil.copy(real_data / "slides" / name, root / "d" / name)
    slide = root / "d" / "boxes_0.dcm"
    recorded = _parts_recorded(root, slide)
    reader = SlideReader(slide, root=root, recorded=recorded)
    assert reader.read(0, 0, 4, 4, 1.0).shape[:2] == (4, 4)  # as audited: read
    reader.close()
    shutil.copy(real_data / "slides" / "boxes_1.dcm", root / "d" / "zz.dcm")
    assert slide_refs.slide_parts(str(slide), slide.stat().st_size, root) == (["d/boxes_1.dcm"], True)
    reader = SlideReader(slide, root=root, recorded=recorded)
    with pytest.raises(SlideRefused) as refused:
        reader.read(0, 0, 4, 4, 1.0)
    reader.close()
    assert refused.value.code == "SLIDE_UNREADABLE" and "more than 1 files of its series" in str(
        refused.value.why
    )
    with pytest.raises(NotAudited):
        open_checked(slide, root, recorded=recorded)


def _unreadable(monkeypatch: pytest.MonkeyPatch, name: str, code: int) -> None:
    """``os.open`` of any file named ``name`` failing with ``code`` (EIO: a bad sector, for good;
    EACCES: made unreadable; as root a mode does not stop a read, so the open is refused here)."""
    real_open = os.open

    def failing(path: object, *args: object, **kwargs: object) -> int:
        if isinstance(path, (str, bytes, os.PathLike)) and os.path.basename(os.fsdecode(path)) == name:
            raise OSError(code, os.strerror(code))
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", failing)


@pytest.mark.parametrize("code", [errno.EIO, errno.EACCES])
def test_a_file_beside_a_dicom_slide_that_cannot_be_read_is_a_finding(
    real_data: Path, tmp_path: Path, profile: Profile, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    """A file beside a DICOM slide that cannot be read (for good: EACCES, or EIO at every try) was
    left out at the take as OpenSlide leaves it out, without a word: the slide was described as
    whole where one of its series may be missing. The run says so, a warning on each slide of the
    folder naming the file (batch path) and why, and goes on (session 23, task server, 1)."""
    from tests.test_cache import boxes_batch

    root = boxes_batch(real_data, tmp_path / "b")
    (root / "zz_bad.bin").write_bytes(b"\0" * 300)
    _unreadable(monkeypatch, "zz_bad.bin", code)
    run = run_batch(root, profile, RunOptions(workers=1, clinical=False))
    by_slide = {o.summary.slide_id: o for o in run.outcomes}
    for slide in ("boxes_0", "boxes_1"):
        found = [f for f in by_slide[slide].findings if f.code == "SLIDE_PART_UNREADABLE"]
        assert len(found) == 1, [f.code for f in by_slide[slide].findings]
        assert found[0].severity == "warning" and found[0].check == "slide.format"
        assert "zz_bad.bin" in found[0].message and os.strerror(code) in found[0].message
        assert not [f for f in by_slide[slide].findings if "crashed" in f.message]
    assert by_slide["boxes_0"].summary.width  # read all the same, as OpenSlide reads it
    monkeypatch.undo()
    run = run_batch(root, profile, RunOptions(workers=1, clinical=False))  # readable now: not kept
    assert not [f for o in run.outcomes for f in o.findings if f.code == "SLIDE_PART_UNREADABLE"]


def test_a_record_taken_while_a_file_beside_could_not_be_read_is_not_reused_once_it_can(
    real_data: Path, tmp_path: Path, profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EIO passes with the file's stat unchanged: the result cache's key of a DICOM folder (its
    listing's stats, each file's series) was that of the folder read whole, so the record saying
    the file could not be read was every later run's answer. A file that cannot be read is its own
    series in the key (:data:`dqm.slide_refs.SERIES_UNREAD`): checked again once it can be."""
    from tests.test_cache import audit, boxes_batch

    root = boxes_batch(real_data, tmp_path / "b")
    (root / "zz_bad.bin").write_bytes(b"\0" * 300)

    def unread(run: object) -> list[str]:
        return [f.item_id for o in run.outcomes for f in o.findings if f.code == "SLIDE_PART_UNREADABLE"]  # type: ignore[attr-defined]

    with pytest.MonkeyPatch.context() as mp:
        _unreadable(mp, "zz_bad.bin", errno.EIO)
        assert sorted(unread(audit(root, profile, tmp_path / "cache"))) == ["boxes_0", "boxes_1"]
        assert sorted(unread(audit(root, profile, tmp_path / "cache"))) == ["boxes_0", "boxes_1"]
    assert unread(audit(root, profile, tmp_path / "cache")) == []


def _audited_dicom(real_data: Path, tmp_path: Path, unreadable: str | None = None) -> tuple[Path, Path, Any]:
    """The real ``boxes_0.dcm`` and ``boxes_1.dcm`` (its series' other file) and a file
    ``zz_bad.bin`` in the folder ``d`` of a batch, and the audit's record of ``boxes_0.dcm``, taken
    as the run takes it (:func:`~dqm.slide_io.taken_of`, not strict) while the file ``unreadable``
    (if any) always fails with EIO."""
    import shutil

    from dqm.slide_io import fingerprint, recorded_of, stat_values, taken_of

    root = tmp_path / "b"
    (root / "d").mkdir(parents=True)
    for name in ("boxes_0.dcm", "boxes_1.dcm"):
        shutil.copy(real_data / "slides" / name, root / "d" / name)
    (root / "d" / "zz_bad.bin").write_bytes(b"\0" * 300)
    slide = root / "d" / "boxes_0.dcm"
    with pytest.MonkeyPatch.context() as mp:
        if unreadable is not None:
            _unreadable(mp, unreadable, errno.EIO)
        st = slide.stat()
        taken = taken_of(slide, st, root)
    stats = {"d/boxes_0.dcm": stat_values(st)} | {part: values for part, (_, values) in taken.parts.items()}
    parts = {part: quick for part, (quick, _) in taken.parts.items()}
    recorded = recorded_of("d/boxes_0.dcm", fingerprint(slide, st.st_size), stats, parts)
    return root, slide, recorded


def test_a_file_the_audit_could_not_read_failing_again_is_served_as_audited(
    real_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file beside a DICOM slide that the audit could not read (EIO), left out of its record,
    failing again at the review: the strict take against the record raised "not checked" at every
    try, a 503 for ever. No evidence of change: the slide is served (and its verdict taken) as the
    audit saw it, by the server and validity's reader alike (session 23, task server, 2)."""
    from dqm.semantic.server.tiles import TileSource
    from dqm.slide_io import crowded_since_audit, open_checked, unlike_audit
    from dqm.validity.data import SlideReader

    root, slide, recorded = _audited_dicom(real_data, tmp_path, "zz_bad.bin")
    assert set(recorded.parts) == {"d/boxes_1.dcm"}
    _unreadable(monkeypatch, "zz_bad.bin", errno.EIO)
    assert unlike_audit(slide, root, recorded) is None
    assert crowded_since_audit(slide, root, recorded=recorded) is None
    open_checked(slide, root, recorded=recorded).close()
    source = TileSource(root, {0: "d/boxes_0.dcm"}, recorded={0: recorded})
    source.check_audited(0)  # a verdict's check
    assert "Image" in source.dzi(0)
    levels = source.info(0)["levels"]
    assert source.tile(0, levels - 1, 0, 0)  # the check after the read: the same listing
    reader = SlideReader(slide, root=root, recorded=recorded)
    assert reader.read(0, 0, 4, 4, 1.0).shape[:2] == (4, 4)
    reader.close()


@pytest.mark.parametrize("code", [errno.EIO, errno.EACCES])
def test_a_file_the_audit_read_failing_now_is_not_the_audited_slide(
    real_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    """The other side of the rule: a file of the series the audit read (in its record) failing now
    transiently (EIO) is "try again", nothing refused; failing for good (EACCES) it is gone since
    the audit: refused."""
    from dqm.semantic.server.tiles import SlideNotAudited, SlideNotChecked, TileSource
    from dqm.slide_io import NotAudited, NotChecked, open_checked

    root, slide, recorded = _audited_dicom(real_data, tmp_path)
    assert set(recorded.parts) == {"d/boxes_1.dcm"}
    _unreadable(monkeypatch, "boxes_1.dcm", code)
    source = TileSource(root, {0: "d/boxes_0.dcm"}, recorded={0: recorded})
    if code == errno.EIO:
        with pytest.raises(NotChecked):
            open_checked(slide, root, recorded=recorded)
        with pytest.raises(SlideNotChecked):
            source.dzi(0)
        assert not source._not_audited
    else:
        with pytest.raises(NotAudited) as refused:
            open_checked(slide, root, recorded=recorded)
        assert "boxes_1.dcm" in str(refused.value.why)
        with pytest.raises(SlideNotAudited):
            source.dzi(0)


def test_a_dzi_of_a_slide_whose_part_was_replaced_while_open_is_not_served(
    real_data: Path, tmp_path: Path
) -> None:
    """A ``.dzi`` was served from the slide held open without the check its tiles have: a part
    replaced since its open, the viewer was given the old file's pyramid. Checked as a tile is,
    refused, the slide closed (session 23, task server, 3)."""
    import shutil

    from dqm.semantic.server.tiles import SlideUnavailable, TileSource

    root, _, recorded = _audited_dicom(real_data, tmp_path)
    source = TileSource(root, {0: "d/boxes_0.dcm"}, recorded={0: recorded})
    assert "Image" in source.dzi(0)
    assert 0 in source._open
    part = root / "d" / "boxes_1.dcm"
    shutil.copy(part, root / "d" / "new.tmp")
    os.replace(root / "d" / "new.tmp", part)  # another file (inode) at the part's name
    with pytest.raises(SlideUnavailable) as refused:
        source.dzi(0)
    assert "boxes_1.dcm" in str(refused.value)
    assert 0 not in source._open
    with pytest.raises(SlideUnavailable):  # opened again: checked against its first open
        source.dzi(0)


def test_a_validity_reader_opened_with_the_audit_record_pickles_and_reads_again(
    real_data: Path, tmp_path: Path
) -> None:
    """Validity's reader given the audit's record kept a closure (the rule of which files the
    record holds) in what its first open took (:attr:`~dqm.slide_io.Taken.each`): pickling it for
    the training's processes raised "Can't pickle local object" (server review, finding 1;
    /tmp/rev-server/t_pickle2.py). The rule is a value now: the copy pickles, reads, and keeps
    the rule."""
    import pickle

    from dqm.validity.data import SlideReader

    root, slide, recorded = _audited_dicom(real_data, tmp_path)
    reader = SlideReader(slide, root=root, recorded=recorded)
    assert reader.read(0, 0, 4, 4, 1.0).shape[:2] == (4, 4)
    assert reader.first is not None and reader.first.taken.each is not None  # taken against the record
    copy = pickle.loads(pickle.dumps(reader))
    reader.close()
    assert copy.first is not None and copy.first.taken.each == reader.first.taken.each
    assert copy.first.taken.each(os.path.realpath(root / "d" / "boxes_1.dcm"))  # the record's part
    assert not copy.first.taken.each(os.path.realpath(root / "d" / "zz_bad.bin"))  # not recorded
    assert copy.read(0, 0, 4, 4, 1.0).shape[:2] == (4, 4)
    copy.close()


@pytest.mark.parametrize("failing_at", ["probe", "key"])
def test_a_record_whose_unread_files_are_not_its_keys_is_not_cached(
    real_data: Path, tmp_path: Path, profile: Profile, failing_at: str
) -> None:
    """The result cache's key (the DICOM folder's series, a file that cannot be read its own) is
    taken before the item is checked; an EIO may come or pass in between. Failing at the probe
    only, the record warning of it (``SLIDE_PART_UNREADABLE``) was stored under the key of the
    folder read whole, and every later run was told the file could not be read; failing at the
    key only, the record without the warning was served while the file kept failing. Neither is
    stored: the next run checks again (server review, finding 2;
    /tmp/rev-server/head/tests/slides/test_zz_race.py)."""
    import dqm.cache as cache_mod
    from tests.test_cache import audit, boxes_batch

    root = boxes_batch(real_data, tmp_path / "b")
    (root / "zz_bad.bin").write_bytes(b"\0" * 300)
    real_open, real_digest = os.open, cache_mod._series_digest
    armed = {"on": failing_at == "probe"}

    def failing(path: object, *args: object, **kwargs: object) -> int:
        if armed["on"] and os.path.basename(os.fsdecode(path)) == "zz_bad.bin":  # type: ignore[arg-type]
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    def digest(*args: Any, **kwargs: Any) -> Any:  # the key sees the file as the probe does not
        armed["on"] = not armed["on"]
        try:
            return real_digest(*args, **kwargs)
        finally:
            armed["on"] = not armed["on"]

    def unread(run: Any) -> list[str]:
        return sorted(
            f.item_id for o in run.outcomes for f in o.findings if f.code == "SLIDE_PART_UNREADABLE"
        )

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "open", failing)
        mp.setattr(cache_mod, "_series_digest", digest)
        said = unread(audit(root, profile, tmp_path / "cache"))
        assert said == (["boxes_0", "boxes_1"] if failing_at == "probe" else [])
    if failing_at == "probe":  # readable now, as when the key was taken: no warning served
        assert unread(audit(root, profile, tmp_path / "cache")) == []
    else:  # failing at every read now, as when the key was taken: the warning, not the record
        with pytest.MonkeyPatch.context() as mp:
            _unreadable(mp, "zz_bad.bin", errno.EIO)
            assert unread(audit(root, profile, tmp_path / "cache")) == ["boxes_0", "boxes_1"]


@pytest.mark.parametrize(
    ("library", "warned"), [("3.4.1", False), ("4.0.0", True), ("4.0.1", True), ("", True)]
)
def test_a_file_beside_a_dicom_slide_is_warned_of_only_where_the_loaded_openslide_reads_dicom(
    real_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, library: str, warned: bool
) -> None:
    """OpenSlide reads DICOM since 4.0.0 (``openslide-vendor-dicom.c``): one older (a system's
    3.4.1) never opens a DICOM slide's folder, so a file there that cannot be read leaves nothing
    out of what it reads, and ``SLIDE_PART_UNREADABLE`` said it did. The probe asks the library
    actually loaded (``openslide.__library_version__``); a version it cannot read is taken as one
    that reads DICOM (the warning kept: a missed part is the costlier error). Session 25, task
    cache2, 1."""
    import openslide

    from dqm.slide_io import probe_slide
    from tests.test_cache import boxes_batch

    root = boxes_batch(real_data, tmp_path / "b")
    (root / "zz_bad.bin").write_bytes(b"\0" * 300)
    monkeypatch.setattr(openslide, "__library_version__", library)
    _unreadable(monkeypatch, "zz_bad.bin", errno.EIO)
    probe = probe_slide(root / "boxes_0.dcm", "boxes_0.dcm")
    assert bool(probe.parts_unread) is warned, probe.parts_unread
    assert (probe.facts().parts_unread_digest is not None) is warned
