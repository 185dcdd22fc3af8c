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
