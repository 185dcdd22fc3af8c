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


def test_a_batch_finding_counts_against_the_file_as_the_item_names_it(tmp_path, profile):
    """'./s/a.png' in the manifest is the file 's/a.png': a duplicate-content finding on it must
    not add a sixth file to the syntactic file count."""
    from PIL import Image

    from dqm.syntactic import file_universe

    root = tmp_path / "b"
    (root / "s").mkdir(parents=True)
    Image.new("RGB", (40, 30), (230, 170, 200)).save(root / "s" / "a.png")
    for sid in ("A", "B"):
        (root / f"{sid}.json").write_text(json.dumps(native_doc()))
    (root / "manifest.csv").write_text(
        "slide_id,image_path,annotation_path\nA,s/a.png,A.json\nB,./s/a.png,B.json\n"
    )
    run = run_batch(root, profile, RunOptions(workers=1, clinical=False))
    (dup,) = [f for f in run.batch_findings if f.code == "DUPLICATE_SLIDE_CONTENT"]
    assert dup.location.file == "s/a.png"
    assert file_universe(run) == {"manifest.csv", "s/a.png", "A.json", "B.json"}
