"""The result cache keyed by which files beside a DICOM slide could not be read, not whether any
was (session 24, task cachekey): a record is stored only where its probe found the same files
failing for the same reason as its key saw (:meth:`dqm.cache.RecordCache.as_keyed`)."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from dqm.profile import CheckSetting, Profile


def _warned(run: Any) -> dict[str, list[str]]:
    """Each slide's ``SLIDE_PART_UNREADABLE`` messages."""
    out: dict[str, list[str]] = {}
    for o in run.outcomes:
        out[o.summary.slide_id] = [str(f.message) for f in o.findings if f.code == "SLIDE_PART_UNREADABLE"]
    return out


@contextmanager
def _failing(probe: set[str], key: set[str] | None = None) -> Iterator[None]:
    """``os.open`` of the files named ``probe`` failing with EIO, of those named ``key`` instead
    while the result cache keys the DICOM folder (:func:`dqm.cache._series_digest`): an EIO that
    moved between the key and the probe."""
    import dqm.cache as cache_mod

    real_open, real_digest = os.open, cache_mod._series_digest
    now = {"names": probe}

    def failing(path: object, *args: object, **kwargs: object) -> int:
        if (
            isinstance(path, (str, bytes, os.PathLike))
            and os.path.basename(os.fsdecode(path)) in now["names"]
        ):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    def digest(*args: Any, **kwargs: Any) -> Any:
        now["names"] = probe if key is None else key
        try:
            return real_digest(*args, **kwargs)
        finally:
            now["names"] = probe

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "open", failing)
        mp.setattr(cache_mod, "_series_digest", digest)
        yield


def _batch(real_data: Path, tmp_path: Path) -> Path:
    from tests.test_cache import boxes_batch

    root = boxes_batch(real_data, tmp_path / "b")
    for name in ("zz_a.bin", "zz_b.bin"):
        (root / name).write_bytes(b"\0" * 300)
    return root


@pytest.mark.parametrize(
    ("probe", "stale"),
    [({"zz_b.bin"}, "zz_b.bin"), ({"zz_a.bin", "zz_b.bin"}, "1 other such file")],
    ids=["name", "count"],
)
def test_a_record_naming_other_unread_files_than_its_key_saw_is_not_served(
    real_data: Path, tmp_path: Path, profile: Profile, probe: set[str], stale: str
) -> None:
    """The key saw ``zz_a.bin`` failing; the probe, a moment later, ``zz_b.bin`` instead (or both).
    Both said "a file could not be read", so the record was stored, and every later run that saw
    ``zz_a.bin`` failing alone was told of ``zz_b.bin`` (or of one other file). Stored only where
    the probe's files are the key's: the next run checks again and names what fails then (failed
    on 1706a01: the stale name, the stale count served)."""
    from tests.test_cache import audit

    root = _batch(real_data, tmp_path)
    with _failing(probe, key={"zz_a.bin"}):
        first = _warned(audit(root, profile, tmp_path / "cache"))
    assert all(stale in said[0] for said in first.values()), first
    with _failing({"zz_a.bin"}):
        run = audit(root, profile, tmp_path / "cache")
    again = _warned(run)
    assert set(again) >= {"boxes_0", "boxes_1"}
    for said in again.values():
        assert len(said) == 1 and "zz_a.bin" in said[0] and "(0 other such file(s))" in said[0], again
        assert "zz_b.bin" not in said[0]
    with _failing({"zz_a.bin"}):  # stored now, as the key saw it: served
        assert _warned(audit(root, profile, tmp_path / "cache")) == again


def test_a_folder_with_an_unread_file_is_cached_with_slide_format_disabled(
    real_data: Path, tmp_path: Path, profile: Profile
) -> None:
    """With ``slide.format`` disabled, a record never said ``SLIDE_PART_UNREADABLE``, its key saw
    the file failing, and the cache compared the two: no slide of that folder was ever stored,
    each checked again on every run without a word (note23). The probe's facts are compared, not
    the finding made of them: stored, then served (failed on 1706a01: nothing stored, no hit)."""
    from dqm.cache import RecordCache, context_key
    from dqm.runner import run_batch
    from tests.test_cache import OPTIONS

    off = profile.model_copy(
        update={"checks": {**profile.checks, "slide.format": CheckSetting(enabled=False)}}
    )
    root = _batch(real_data, tmp_path)
    counts = []
    with _failing({"zz_a.bin"}):
        for _ in range(2):
            with RecordCache(tmp_path / "cache", root, context_key(off.sha256, OPTIONS)) as cache:
                run = run_batch(root, off, OPTIONS, cache=cache)
            counts.append((cache.stored, cache.hits))
            assert not any(_warned(run).values())
            assert {o.summary.slide_id for o in run.outcomes} >= {"boxes_0", "boxes_1"}
    assert counts[0][0] >= 2 and counts[1] == (0, counts[0][0]), counts


def test_the_record_keeps_a_digest_of_the_files_its_probe_could_not_read(
    real_data: Path, tmp_path: Path, profile: Profile
) -> None:
    """The record's slide facts carry the digest of the probe's unread files (batch path, the
    system's words) and read it back from their plain form (since the item record's version 15,
    never released with the list it held first)."""
    from dqm.model import RECORD_VERSION, ItemRecord, unread_digest
    from dqm.runner import RunOptions, run_batch

    root = _batch(real_data, tmp_path)
    with _failing({"zz_a.bin"}):
        run = run_batch(root, profile, RunOptions(workers=1, clinical=False))
    record = run.record(0)
    assert record.slide is not None
    assert record.slide.parts_unread_digest == unread_digest([("zz_a.bin", os.strerror(errno.EIO))])
    assert RECORD_VERSION >= 15
    assert ItemRecord.from_dict(record.to_dict()).slide == record.slide


def test_a_record_does_not_grow_with_the_files_beside_its_slide_that_cannot_be_read(
    real_data: Path, tmp_path: Path, profile: Profile
) -> None:
    """The record kept the list of every unreadable file beside its slide, in every slide's cache
    entry of the folder: 3,000 such files made each 122 KB (11.5 KB without). A digest now: the
    entry of a slide beside 300 such files is the size of one beside 1, give or take the count
    its warning says (failed on 4c2ab0c: some 10 KB more)."""
    import json

    from dqm.runner import RunOptions, run_batch

    sizes = []
    for many in (1, 300):
        (tmp_path / str(many)).mkdir()
        root = _batch(real_data, tmp_path / str(many))
        names = {f"u_{i:04d}.bin" for i in range(many)}
        for name in names:
            (root / name).write_bytes(b"\0" * 300)
        with _failing(names):
            run = run_batch(root, profile, RunOptions(workers=1, clinical=False))
        said = _warned(run)
        assert all(f"({many - 1:,} other such file(s))" in w[0] for w in said.values()), said
        sizes.append(len(json.dumps(run.record(0).to_dict())))
    assert abs(sizes[1] - sizes[0]) < 50, sizes


@pytest.mark.parametrize("case", ["no series", "cut"])
def test_a_slide_whose_folder_is_not_walked_whole_is_cached_beside_an_unread_file(
    real_data: Path, tmp_path: Path, profile: Profile, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key names each unreadable file of a DICOM folder; the probe noted them only as it
    walked the slide's series. A ``.dcm`` of no series (400 zero bytes: ``SLIDE_UNOPENABLE``)
    walks none, and a series past :data:`~dqm.slide_refs.MAX_PARTS` stopped before the failing
    file: the two never matched and the slide was checked again on every run (failed on 4c2ab0c:
    ``plain`` never stored; with the cut, no slide stored). Now the probe says where no file
    counts (not walked: no warning whatever fails) and walks on past the cut for the unread
    files (as OpenSlide opens them all): stored at the first run, served at the second, the
    warning unchanged."""
    from dqm import slide_refs
    from dqm.cache import RecordCache, context_key
    from dqm.runner import run_batch
    from tests.test_cache import OPTIONS

    root = _batch(real_data, tmp_path)
    if case == "no series":
        (root / "plain.dcm").write_bytes(b"\0" * 400)
        (root / "plain.json").write_text(
            (root / "boxes_0.json").read_text().replace("boxes_0.dcm", "plain.dcm")
        )
    else:
        monkeypatch.setattr(slide_refs, "MAX_PARTS", 0)  # cut before zz_a.bin, at boxes_1.dcm
    results = []
    with _failing({"zz_a.bin"}):
        for _ in range(2):
            with RecordCache(tmp_path / "cache", root, context_key(profile.sha256, OPTIONS)) as cache:
                run = run_batch(root, profile, OPTIONS, cache=cache)
            codes = {o.summary.slide_id: sorted(f.code for f in o.findings) for o in run.outcomes}
            results.append((cache.stored, cache.hits, _warned(run), codes))
    slides = 3 if case == "no series" else 2
    assert results[0][:2] == (slides, 0) and results[1][:2] == (0, slides), results
    assert results[0][2:] == results[1][2:]
    warned = results[0][2]
    assert all(len(w) == 1 and "zz_a.bin" in w[0] for s, w in warned.items() if s != "plain"), warned
    if case == "no series":
        assert warned["plain"] == [] and "SLIDE_UNOPENABLE" in results[0][3]["plain"]


@pytest.mark.parametrize("eio", [False, True], ids=["alone", "beside an EIO file"])
@pytest.mark.parametrize("kind", ["fifo", "link out"])
def test_a_fifo_or_a_link_out_of_the_batch_beside_a_dicom_slide_is_refused_before_it_is_read(
    real_data: Path, tmp_path: Path, profile: Profile, kind: str, eio: bool
) -> None:
    """The file beside the DICOM slide that cannot be read is a FIFO (an open of it waits for a
    writer) or a link to a file outside the batch that fails with EIO (note23: not fed to the new
    warning); ``eio``: another file beside the slide fails with EIO too. The take's special-file
    and jail rules run first: the slide is refused (``SLIDE_REFERENCE_REFUSED``, the entry named)
    and, OpenSlide opening nothing, warned of no file left out (``SLIDE_PART_UNREADABLE`` named
    ``zz_a.bin`` beside a FIFO: failed on 4c2ab0c). The run and the result cache's key end (no
    wait); neither opens the FIFO or anything outside the batch (``os.open`` or the builtin
    ``open`` of either fails here with EIO and is counted), nor lists a path outside the batch,
    nor stats one but to see whether a link out leads to a folder (the take's rule; the cache's
    key stat'ed the file outside: failed on 4c2ab0c); the first run stores each slide's record (a cold cache), the second serves it (warm),
    the findings the same."""
    import builtins
    import sys
    import threading

    from dqm.cache import RecordCache, context_key
    from dqm.runner import run_batch
    from tests.test_cache import OPTIONS, boxes_batch

    root = boxes_batch(real_data, tmp_path / "b")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "zz.bin").write_bytes(b"\0" * 300)
    if kind == "fifo":
        os.mkfifo(root / "zz_odd")
    else:
        (root / "zz_odd").symlink_to(outside / "zz.bin")
    if eio:
        (root / "zz_a.bin").write_bytes(b"\0" * 300)
    real = {
        "open": os.open,
        "builtin": builtins.open,
        "stat": os.stat,
        "list": os.listdir,
        "scan": os.scandir,
    }
    opened: list[str] = []
    looked: list[str] = []

    def path_of(path: object) -> str | None:
        return os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else None

    def odd(path: str) -> bool:
        return os.path.basename(path) == "zz_odd" or os.path.realpath(path).startswith(str(outside))

    def watched(what: str) -> Any:
        def call(path: Any = ".", *args: Any, **kwargs: Any) -> Any:
            name = path_of(path)
            if name is not None and what in ("open", "builtin") and odd(name):
                opened.append(name)
                raise OSError(errno.EIO, os.strerror(errno.EIO))
            if name is not None and what == "open" and eio and os.path.basename(name) == "zz_a.bin":
                raise OSError(errno.EIO, os.strerror(errno.EIO))
            # the take's one look outside: whether a link out leads to a folder (``isdir``), let be
            by = sys._getframe(1).f_code.co_name
            if name is not None and what in ("stat", "list", "scan") and by != "isdir":
                follow = kwargs.get("follow_symlinks", True)
                if os.path.realpath(name).startswith(str(outside)) and (
                    follow or not name.endswith("zz_odd")
                ):
                    looked.append(f"{what} {name}")
            return real[what](path, *args, **kwargs)

        return call

    results: list[tuple[int, int, dict[str, list[str]]]] = []
    refused: list[str] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "open", watched("open"))
        mp.setattr(builtins, "open", watched("builtin"))
        mp.setattr(os, "stat", watched("stat"))
        mp.setattr(os, "listdir", watched("list"))
        mp.setattr(os, "scandir", watched("scan"))

        def both() -> None:
            for _ in range(2):
                with RecordCache(tmp_path / "cache", root, context_key(profile.sha256, OPTIONS)) as cache:
                    run = run_batch(root, profile, OPTIONS, cache=cache)
                codes = {o.summary.slide_id: sorted(f.code for f in o.findings) for o in run.outcomes}
                results.append((cache.stored, cache.hits, codes))
                refused.extend(
                    str(f.message)
                    for o in run.outcomes
                    for f in o.findings
                    if f.code == "SLIDE_REFERENCE_REFUSED"
                )

        worker = threading.Thread(target=both, daemon=True)  # a wait on the FIFO fails, never hangs
        worker.start()
        worker.join(300)
    assert not worker.is_alive() and len(results) == 2, "the run waited"
    assert opened == [] and looked == [], (opened, looked)
    (stored, hits, codes), (stored_again, hits_again, codes_again) = results
    assert stored >= 2 and hits == 0 and (stored_again, hits_again) == (0, stored), results
    assert codes == codes_again
    assert "SLIDE_REFERENCE_REFUSED" in codes["boxes_0"], codes
    assert not [c for found in codes.values() for c in found if c == "SLIDE_PART_UNREADABLE"], codes
    assert refused and all("zz_odd" in said for said in refused), refused


def _codes(run: Any) -> dict[str, list[str]]:
    """Each slide's ``SLIDE_*`` codes, sorted."""
    return {
        o.summary.slide_id: sorted(f.code for f in o.findings if f.code.startswith("SLIDE_"))
        for o in run.outcomes
    }


@pytest.mark.parametrize("eio", [False, True], ids=["alone", "beside an EIO file"])
@pytest.mark.parametrize("case", ["listing fails", "listing fails, one file", "changed while checked"])
def test_a_record_of_a_passing_state_is_never_stored(
    real_data: Path, tmp_path: Path, profile: Profile, case: str, eio: bool
) -> None:
    """In the first run only, the take's listing of the DICOM slide's folder fails once (EMFILE:
    ``_dicom_series``), or the check after OpenSlide's reads finds the slide's files changed once.
    The listing's failure read as "no series" (the probe's ``parts_unread`` None, which the cache
    takes as "none counts"), and the check after the reads saw ``boxes_1.dcm`` join: the record's
    ``SLIDE_UNOPENABLE`` ("... while the slide was being checked") was stored and served for ever,
    where a fresh check opens the slide (and, ``eio``: warns of ``zz_a.bin``). Neither is stored:
    the later runs check again and give a fresh check's findings (failed on eaa75cb: the
    ``SLIDE_UNOPENABLE`` served in runs 2 and 3). ``one file``: the slide's series has no other
    file, so the check after the reads sees none join: the record of the failed listing said no
    file counted, and with ``zz_a.bin`` failing the fresh check's ``SLIDE_PART_UNREADABLE`` was
    never said (failed on eaa75cb: the record without it served)."""
    import sys

    import dqm.slide_io as slide_io
    from dqm.cache import RecordCache, context_key
    from dqm.i18n import msg
    from dqm.runner import run_batch
    from tests.test_cache import OPTIONS, boxes_batch

    root = boxes_batch(real_data, tmp_path / "b")
    if eio:
        (root / "zz_a.bin").write_bytes(b"\0" * 300)
    if case == "listing fails, one file":
        (root / "boxes_1.dcm").unlink()
    real_scandir, real_changed = os.scandir, slide_io._changed_while_read
    once = {"left": 0}

    def scandir(path: Any = ".", *args: Any) -> Any:
        if (
            case.startswith("listing fails")
            and once["left"]
            and sys._getframe(1).f_code.co_name == "_dicom_series"
        ):
            once["left"] -= 1
            raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))
        return real_scandir(path, *args)

    def changed(ref: str, *args: Any, **kwargs: Any) -> Any:
        if case == "changed while checked" and once["left"] and ref.endswith("boxes_0.dcm"):
            once["left"] -= 1
            return msg(slide_io.LISTED_WHILE_READ, _ref="boxes_1.dcm")
        return real_changed(ref, *args, **kwargs)

    runs = []
    with _failing({"zz_a.bin"} if eio else set()), pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "scandir", scandir)
        mp.setattr(slide_io, "_changed_while_read", changed)
        for i in range(3):
            once["left"] = 1 if i == 0 else 0
            with RecordCache(tmp_path / "cache", root, context_key(profile.sha256, OPTIONS)) as cache:
                runs.append((_codes(run_batch(root, profile, OPTIONS, cache=cache)), cache.hits))
        fresh = _codes(run_batch(root, profile, OPTIONS))
    if case != "listing fails, one file":  # the passing state was met
        assert "SLIDE_UNOPENABLE" in runs[0][0]["boxes_0"], runs[0]
    else:  # the failed listing's: no file counted
        assert "SLIDE_PART_UNREADABLE" not in runs[0][0]["boxes_0"], runs[0]
    assert "SLIDE_UNOPENABLE" not in fresh["boxes_0"], fresh
    assert ("SLIDE_PART_UNREADABLE" in fresh["boxes_0"]) == eio, fresh
    assert runs[1][0] == fresh and runs[2][0] == fresh, (runs, fresh)
    assert runs[2][1] >= len(fresh), runs  # stored once checked afresh: served


@pytest.mark.parametrize(("before", "after"), [("folder", "file"), ("missing", "folder"), ("file", "folder")])
def test_a_link_out_of_the_batch_beside_a_dicom_slide_is_keyed_by_what_the_take_decides(
    real_data: Path, tmp_path: Path, profile: Profile, before: str, after: str
) -> None:
    """A link beside DICOM slides to ``outside/t``, out of the batch: the take refuses the slides
    where ``t`` is a file or nothing (``SLIDE_REFERENCE_REFUSED``), not where it is a folder. The
    key named the link alone: ``t`` made a file after a run served that run's "no finding", made a
    folder served its refusal. Keyed by the take's rule (one ``isdir``), the second run checks
    again and agrees with a fresh check (failed on eaa75cb: the first run's findings served)."""
    from dqm.cache import RecordCache, context_key
    from dqm.runner import run_batch
    from tests.test_cache import OPTIONS, boxes_batch

    root = boxes_batch(real_data, tmp_path / "b")
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "t"
    (root / "zz_link").symlink_to(target)

    def make(kind: str) -> None:
        if target.is_dir():
            target.rmdir()
        elif target.exists():
            target.unlink()
        if kind == "file":
            target.write_bytes(b"x" * 300)
        elif kind == "folder":
            target.mkdir()

    said = []
    for kind in (before, after):
        make(kind)
        with RecordCache(tmp_path / "cache", root, context_key(profile.sha256, OPTIONS)) as cache:
            said.append(_codes(run_batch(root, profile, OPTIONS, cache=cache)))
    fresh = _codes(run_batch(root, profile, OPTIONS))
    refused = [("SLIDE_REFERENCE_REFUSED" in said[i]["boxes_0"]) for i in range(2)]
    assert refused == [before != "folder", after != "folder"], said
    assert said[1] == fresh, (said, fresh)
