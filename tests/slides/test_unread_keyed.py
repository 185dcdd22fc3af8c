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


def test_the_record_keeps_the_files_its_probe_could_not_read(
    real_data: Path, tmp_path: Path, profile: Profile
) -> None:
    """The record's slide facts carry the probe's unread files (batch path, the system's words)
    and read back from their plain form (the item record's version 15)."""
    from dqm.model import RECORD_VERSION, ItemRecord
    from dqm.runner import RunOptions, run_batch

    root = _batch(real_data, tmp_path)
    with _failing({"zz_a.bin"}):
        run = run_batch(root, profile, RunOptions(workers=1, clinical=False))
    record = run.record(0)
    assert record.slide is not None and record.slide.parts_unread == (("zz_a.bin", os.strerror(errno.EIO)),)
    assert RECORD_VERSION == 15
    assert ItemRecord.from_dict(record.to_dict()).slide == record.slide


@pytest.mark.parametrize("kind", ["fifo", "link out"])
def test_a_fifo_or_a_link_out_of_the_batch_beside_a_dicom_slide_is_refused_before_it_is_read(
    real_data: Path, tmp_path: Path, profile: Profile, kind: str
) -> None:
    """The file beside the DICOM slide that cannot be read is a FIFO (an open of it waits for a
    writer) or a link to a file outside the batch that fails with EIO (note23: not fed to the new
    warning). The take's special-file and jail rules run first: the slide is refused
    (``SLIDE_REFERENCE_REFUSED``, the entry named), no ``SLIDE_PART_UNREADABLE``, the run and the
    result cache's key end (no wait), and neither opens the FIFO or anything outside the batch
    (an open of either fails here with EIO and is counted), on a cold cache and a warm one."""
    import threading

    from tests.test_cache import audit, boxes_batch

    root = boxes_batch(real_data, tmp_path / "b")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "zz.bin").write_bytes(b"\0" * 300)
    if kind == "fifo":
        os.mkfifo(root / "zz_odd")
    else:
        (root / "zz_odd").symlink_to(outside / "zz.bin")
    real_open = os.open
    opened: list[str] = []

    def watched(path: object, *args: object, **kwargs: object) -> int:
        if isinstance(path, (str, bytes, os.PathLike)):
            real = os.path.realpath(os.fsdecode(path))
            if os.path.basename(os.fsdecode(path)) == "zz_odd" or real.startswith(str(outside)):
                opened.append(os.fsdecode(path))
                raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    runs: list[Any] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "open", watched)

        def both() -> None:
            for _ in range(2):
                runs.append(audit(root, profile, tmp_path / "cache"))

        worker = threading.Thread(target=both, daemon=True)  # a wait on the FIFO fails, never hangs
        worker.start()
        worker.join(300)
    assert not worker.is_alive() and len(runs) == 2, "the run waited"
    assert opened == []
    for run in runs:
        codes = {o.summary.slide_id: [f.code for f in o.findings] for o in run.outcomes}
        assert "SLIDE_REFERENCE_REFUSED" in codes["boxes_0"], codes
        assert not [c for found in codes.values() for c in found if c == "SLIDE_PART_UNREADABLE"]
        refused = [
            str(f.message) for o in run.outcomes for f in o.findings if f.code == "SLIDE_REFERENCE_REFUSED"
        ]
        assert all("zz_odd" in said for said in refused)
