"""The runner: an exception outside the checks is a crash of that item, never of the run."""

from __future__ import annotations

import json

import dqm.runner
from dqm.checks import CRASH_CODE
from dqm.runner import RunOptions, run_batch
from tests.helpers import native_doc


def _batch(root):
    root.mkdir()
    for sid in ("A", "B"):
        (root / f"{sid}.json").write_text(json.dumps(native_doc()))
    return root


def test_a_raising_reader_is_a_crash_of_that_file_and_the_run_goes_on(tmp_path, profile, monkeypatch):
    real = dqm.runner.parse_annotation

    def parse(data, rel, prof):
        if rel == "A.json":
            raise OverflowError("bug in a reader")
        return real(data, rel, prof)

    monkeypatch.setattr(dqm.runner, "parse_annotation", parse)
    run = run_batch(_batch(tmp_path / "b"), profile, RunOptions(workers=1, slides=False, clinical=False))
    a, b = run.outcomes
    crashed = [f for f in a.findings if f.code == CRASH_CODE]
    assert len(crashed) == 1 and crashed[0].location.file == "A.json"
    assert "bug in a reader" in crashed[0].message and a.unreadable
    assert not [f for f in b.findings if f.code == CRASH_CODE]


def test_a_raising_item_step_outside_the_checks_is_a_crash_of_that_item(tmp_path, profile, monkeypatch):
    real = dqm.runner.with_institution

    def relabel(ann, prof, institution):
        if ann.path == "B.json":
            raise RuntimeError("bug outside the checks")
        return real(ann, prof, institution)

    monkeypatch.setattr(dqm.runner, "with_institution", relabel)
    run = run_batch(_batch(tmp_path / "b"), profile, RunOptions(workers=1, slides=False, clinical=False))
    a, b = run.outcomes
    assert [f.code for f in b.findings] == [CRASH_CODE] and b.summary.slide_id == "B"
    assert b.summary.errors == 1
    assert not [f for f in a.findings if f.code == CRASH_CODE]
