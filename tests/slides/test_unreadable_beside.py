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
