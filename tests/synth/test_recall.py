"""Every injected defect kind is detected (recall 1.0) and clean slides raise no error."""

from __future__ import annotations

from collections import defaultdict

import pytest

from dqm.runner import RunOptions, run_batch
from dqm.synth import load_truth
from dqm.synth.defects import DEFECTS
from tests.helpers import without_scale_note


@pytest.fixture(scope="module")
def defect_run(defect_batch, profile):
    return run_batch(defect_batch, profile, RunOptions(workers=2))


def _by_item(run):
    out = defaultdict(list)
    for f in run.findings:
        out[f.item_id].append(f)
    return out


def test_the_fixture_injects_every_defect_kind(defect_batch):
    kinds = {row["defect"] for row in load_truth(defect_batch) if row["defect"]}
    assert kinds == {d.name for d in DEFECTS}


def test_every_injected_defect_is_detected(defect_batch, defect_run):
    found = _by_item(defect_run)
    missed = [
        (row["slide_id"], row["defect"], sorted({f.code for f in found[row["slide_id"]]}))
        for row in load_truth(defect_batch)
        if row["defect"] and row["code"] not in {f.code for f in found[row["slide_id"]]}
    ]
    assert missed == []


def test_clean_slides_have_no_error_and_no_warning(defect_batch, defect_run):
    found = _by_item(defect_run)
    truth = load_truth(defect_batch)
    clean = [row["slide_id"] for row in truth if not row["defect"]]
    assert len(clean) >= 5
    assert {sid: [f.code for f in found[sid]] for sid in clean if found[sid]} == {}


def test_every_finding_belongs_to_an_injected_defect(defect_batch, defect_run):
    defective = {row["slide_id"] for row in load_truth(defect_batch) if row["defect"]}
    # batch-level summaries (unmapped class names, listed with their counts) come from defects too
    summaries = {("batch", "CLASS_UNMAPPED"), ("batch", "ARTEFACT_SCALE_UNKNOWN")}  # and the JPEGs' scale
    strays = [(f.item_id, f.code) for f in defect_run.findings if f.item_id not in defective]
    assert set(strays) <= summaries


def test_a_clean_batch_is_fully_accurate(clean_batch, profile):
    from dqm.syntactic.accuracy import syntactic_result

    run = run_batch(clean_batch, profile, RunOptions(workers=1))
    assert without_scale_note(run.findings) == []
    s = syntactic_result(run)
    assert s.file_accuracy == 1.0 and s.value_accuracy == 1.0 and s.passed
    # 14 slides: 14 annotation files + 14 slide files + the manifest
    assert s.files_total == 29
