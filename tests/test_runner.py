"""The runner: an exception outside the checks is a crash of that item, never of the run."""

from __future__ import annotations

import json

import pytest

import dqm.runner
from dqm.runner import RunOptions, run_batch
from tests.helpers import native_doc
from validators.engine import CRASH_CODE


def _batch(root):
    root.mkdir()
    for sid in ("A", "B"):
        (root / f"{sid}.json").write_text(json.dumps(native_doc()))
    return root


def test_a_raising_reader_is_a_crash_of_that_file_and_the_run_goes_on(tmp_path, profile, monkeypatch):
    real = dqm.runner.parse_annotation

    def parse(data, rel):
        if rel == "A.json":
            raise OverflowError("bug in a reader")
        return real(data, rel)

    monkeypatch.setattr(dqm.runner, "parse_annotation", parse)
    run = run_batch(_batch(tmp_path / "b"), profile, RunOptions(workers=1, slides=False, clinical=False))
    a, b = run.outcomes
    crashed = [f for f in a.findings if f.code == CRASH_CODE]
    assert len(crashed) == 1 and crashed[0].location.file == "A.json"
    assert "bug in a reader" in crashed[0].message and a.unreadable
    assert not [f for f in b.findings if f.code == CRASH_CODE]


def test_a_raising_item_step_outside_the_checks_is_a_crash_of_that_item(tmp_path, profile, monkeypatch):
    real = dqm.runner.resolve_classes

    def resolve(ann, prof, institution):
        if ann.path == "B.json":
            raise RuntimeError("bug outside the checks")
        return real(ann, prof, institution)

    monkeypatch.setattr(dqm.runner, "resolve_classes", resolve)
    run = run_batch(_batch(tmp_path / "b"), profile, RunOptions(workers=1, slides=False, clinical=False))
    a, b = run.outcomes
    assert [f.code for f in b.findings] == [CRASH_CODE] and b.summary.slide_id == "B"
    assert b.summary.errors == 1
    assert not [f for f in a.findings if f.code == CRASH_CODE]


def test_a_batch_finding_counts_against_the_file_as_the_item_names_it(tmp_path, profile):
    """'./s/a.png' in the manifest is the file 's/a.png': a duplicate-content finding on it must
    not add a sixth file to the syntactic file count."""
    from PIL import Image

    from dqm.syntactic.accuracy import file_universe

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


@pytest.mark.parametrize("killers", [{"S17"}, {"S00", "S05", "S31", "S39"}])
def test_an_item_that_kills_its_worker_process_is_a_crash_of_that_item(
    tmp_path, profile, monkeypatch, killers
):
    """A native library that segfaults on one file ends that item, not the run: the items the
    dead pool owed are checked again, and the one that kills its process is named."""
    import faulthandler
    import os
    import signal

    root = tmp_path / "b"
    root.mkdir()
    ids = [f"S{i:02d}" for i in range(40)]
    for sid in ids:
        (root / f"{sid}.json").write_text(json.dumps(native_doc()))
    parent = os.getpid()
    real = dqm.runner.check_item

    def check(item, *args):
        if item.slide_id in killers and os.getpid() != parent:
            faulthandler.disable()  # pytest's handler would print the dying worker's stack
            os.kill(os.getpid(), signal.SIGSEGV)  # what a crashing slide decoder does
        return real(item, *args)

    monkeypatch.setattr(dqm.runner, "check_item", check)
    run = run_batch(root, profile, RunOptions(workers=2, slides=False, clinical=False))
    assert [o.summary.slide_id for o in run.outcomes] == ids  # every item, in order
    by_id = {o.summary.slide_id: o for o in run.outcomes}
    for sid in killers:
        (crash,) = by_id[sid].findings
        assert crash.code == CRASH_CODE and "process checking this item died" in crash.message
        assert crash.location.file == f"{sid}.json"
    others = [f for sid, o in by_id.items() if sid not in killers for f in o.findings]
    assert not [f for f in others if f.code == CRASH_CODE]
