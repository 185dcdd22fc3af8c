"""Syntactic accuracy arithmetic on a batch whose answer is worked out by hand."""

from __future__ import annotations

import pytest

from dqm.runner import RunOptions, run_batch
from dqm.syntactic.accuracy import syntactic_result
from tests.helpers import write_tiny_batch


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, profile):
    root = write_tiny_batch(tmp_path_factory.mktemp("tiny") / "batch")
    return run_batch(root, profile, RunOptions(workers=1))


def test_findings_of_the_tiny_batch(tiny):
    got = sorted((f.item_id, f.code, f.severity.value) for f in tiny.findings)
    # the slides are flat pale pink, with no nucleus darker than any channel's 72: under-stained
    # (a warning, of the slide, not of the annotation files whose accuracy these tests work out)
    assert got == [
        ("S1", "UNDERSTAINED", "warning"),
        ("S2", "INVALID_JSON", "error"),
        ("S2", "MPP_MISSING", "warning"),  # the only mpp was in the unreadable annotation
        ("S2", "UNDERSTAINED", "warning"),
        ("S3", "CLINICAL_OUT_OF_RANGE", "error"),
        ("S3", "UNDERSTAINED", "warning"),
        ("S3", "UNKNOWN_KEY", "error"),
    ]


def test_file_grain(tiny):
    s = syntactic_result(tiny)
    # files: manifest + 3 annotations + 3 slides; inaccurate: S2.json, S3.json, manifest.csv (age)
    assert (s.files_valid, s.files_total) == (4, 7)
    assert s.file_accuracy == pytest.approx(4 / 7)
    assert s.gates[0].passed is False and not s.passed


def test_value_grain(tiny):
    s = syntactic_result(tiny)
    # S1.json 6 (slide 4 + class, geometry), S2.json 1 (unreadable), S3.json 7 (+ colour),
    # manifest path cells 3x3, clinical cells 3x5  ->  38; bad: S2, colour, age -> 3
    assert (s.values_valid, s.values_total) == (35, 38)
    assert (s.structure.values.numerator, s.structure.values.denominator) == (36, 38)
    assert (s.format.values.numerator, s.format.values.denominator) == (35, 36)
    assert (s.structure.files.numerator, s.structure.files.denominator) == (6, 7)
    assert (s.format.files.numerator, s.format.files.denominator) == (5, 6)


def test_breakdowns_carry_denominators(tiny):
    s = syntactic_result(tiny)
    (inst,) = s.by_institution
    assert inst.key == "Seoul-A" and inst.files.denominator >= 6
    assert s.by_code == {
        "CLINICAL_OUT_OF_RANGE": 1,
        "INVALID_JSON": 1,
        "MPP_MISSING": 1,
        "UNDERSTAINED": 3,
        "UNKNOWN_KEY": 1,
    }


def test_without_manifest_files_pair_by_stem_and_clinical_comes_from_annotations(tmp_path, profile):
    root = write_tiny_batch(tmp_path / "b", manifest=False)
    run = run_batch(root, profile, RunOptions(workers=1))
    assert [i.slide_id for i in run.discovery.items] == ["S1", "S2", "S3"]
    codes = sorted((f.item_id, f.code) for f in run.findings)
    # the clinical blocks are empty: every required field is missing, once per readable file
    assert codes.count(("S1", "CLINICAL_MISSING_COLUMN")) == 0
    assert ("S1", "INVALID_JSON") not in codes and ("S2", "INVALID_JSON") in codes
    missing = [f for f in run.findings if f.code == "CLINICAL_MISSING_COLUMN"]
    assert {f.location.column for f in missing} == {"institution", "diagnosis", "age", "sex", "site"}
    s = syntactic_result(run)
    assert s.values_total == 6 + 1 + 7 + 2 * 5
