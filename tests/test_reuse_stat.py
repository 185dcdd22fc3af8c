"""--results: the check that an audit still stands for its batch reads no file whose size, times and
inode are those the audit recorded, and reads again every other one (issue 13 §3)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import dqm.syntactic.accuracy as accuracy
from dqm.audit import build_result
from dqm.profile import Profile
from dqm.results import QualityResult
from dqm.reuse import refusal
from dqm.runner import RunOptions, run_batch
from dqm.synth import build_batch


@pytest.fixture
def audited(tmp_path: Path, profile: Profile) -> tuple[Path, QualityResult]:
    batch = tmp_path / "batch"
    build_batch(batch, 5, seed=9, defect_rate=0.0, max_size=256)
    result = build_result(run_batch(batch, profile, RunOptions(workers=1, clinical=False)), ["dqm", "audit"])
    return batch, result


@pytest.fixture
def read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files the fingerprint reads (annotations whole, slides' quick prints), by name."""
    seen: list[str] = []
    real_bytes, real_print = accuracy.read_bytes, accuracy.slide_print

    def read_bytes(path, *args):  # type: ignore[no-untyped-def]
        seen.append(path.name)
        return real_bytes(path, *args)

    def slide_print(path, size):  # type: ignore[no-untyped-def]
        seen.append(path.name)
        return real_print(path, size)

    monkeypatch.setattr(accuracy, "read_bytes", read_bytes)
    monkeypatch.setattr(accuracy, "slide_print", slide_print)
    return seen


def test_the_audit_records_each_file_s_size_times_and_inode(audited):
    batch, result = audited
    for f in result.batch.files:
        if f.role != "manifest":
            st = (batch / f.path).stat()
            assert f.stat == [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def test_an_unchanged_batch_is_accepted_without_reading_a_file(audited, profile, read):
    batch, result = audited
    assert refusal(result, Path("results.json"), batch, profile) is None
    assert read == []


def test_a_touched_file_is_read_again_and_accepted_when_its_content_is_the_same(audited, profile, read):
    batch, result = audited
    annotation = sorted((batch / "annotations").iterdir())[1]
    slide = sorted((batch / "slides").iterdir())[2]
    for path in (annotation, slide):
        os.utime(path, ns=(1, 2))
    assert refusal(result, Path("results.json"), batch, profile) is None
    assert sorted(read) == sorted([annotation.name, slide.name])


@pytest.mark.parametrize("folder", ["annotations", "slides"])
def test_a_file_changed_with_its_size_kept_is_refused(audited, profile, read, folder):
    batch, result = audited
    path = sorted((batch / folder).iterdir())[0]
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # in the last MiB: the slide's quick print sees it
    path.write_bytes(bytes(data))
    why = refusal(result, Path("results.json"), batch, profile)
    assert why is not None and "does not match the batch" in why
    assert read == [path.name]


def test_a_result_without_stats_reads_every_file(audited, profile, read):
    batch, result = audited
    files = [f.model_copy(update={"stat": None}) for f in result.batch.files]
    older = result.model_copy(update={"batch": result.batch.model_copy(update={"files": files})})
    assert refusal(older, Path("results.json"), batch, profile) is None
    assert len(read) == sum(f.role != "manifest" for f in files)
