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
        ("batch", "ARTEFACT_SCALE_UNKNOWN", "info"),  # S2's PNG: its only mpp is in the unreadable file
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
        "ARTEFACT_SCALE_UNKNOWN": 1,
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


def _s1_with(root, text):
    """S1's annotation with ``text`` (JSON members) added to its top-level object."""
    path = root / "annotations" / "S1.json"
    path.write_text(path.read_text()[:-1] + ", " + text + "}")


def _value_figures(run):
    s = syntactic_result(run)
    return (
        s.values_total,
        s.values_valid,
        s.structure.values.numerator,
        s.format.values.numerator,
        [(b.key, b.values.numerator, b.values.denominator) for b in (*s.by_institution, *s.by_class)],
    )


def test_values_past_a_readers_cap_count_as_if_reported_one_by_one(tmp_path, profile, monkeypatch):
    """1,500 keys the format does not define in one file: the first 1,000 are reported one by one, the rest in one
    finding, and value accuracy counts 1,500 inaccurate values, exactly as a run without a cap
    (and one with a cap of 10) does; it once counted the rest as one value."""
    import dqm.readers.common.base

    root = write_tiny_batch(tmp_path / "b")
    clean = syntactic_result(run_batch(root, profile, RunOptions(workers=1, slides=False)))
    _s1_with(root, ", ".join(f'"colour{k}": "red"' for k in range(1500)))
    figures, listed = {}, {}
    for cap in (10**6, dqm.readers.common.base.MAX_ISSUES_PER_CODE, 10):
        monkeypatch.setattr(dqm.readers.common.base, "MAX_ISSUES_PER_CODE", cap)
        run = run_batch(root, profile, RunOptions(workers=1, slides=False))
        figures[cap] = _value_figures(run)
        listed[cap] = [f for f in run.findings if f.code == "UNKNOWN_KEY" and f.item_id == "S1"]
    assert [len(v) for v in listed.values()] == [1500, 1001, 11]
    assert [sum(f.counted_values for f in v) for v in listed.values()] == [0, 499, 1489]
    (uncapped, *capped) = figures.values()
    assert all(c == uncapped for c in capped), figures
    total, valid = uncapped[:2]
    assert total == clean.values_total + 1500  # each extra key is a value slot of its own
    assert total - valid == clean.values_total - clean.values_valid + 1500


def test_repeated_keys_past_the_readers_cap_count_as_if_reported_one_by_one(tmp_path, profile, monkeypatch):
    """1,500 objects that repeat a key: the JSON reader's own cap (its count kept whole by the
    per-code cap after it) changes what is listed, not the value figures."""
    import dqm.readers
    import dqm.readers.common.base

    root = write_tiny_batch(tmp_path / "b")
    _s1_with(root, '"notes": [' + ", ".join('{"k": 1, "k": 2}' for _ in range(1500)) + "]")
    figures, listed = [], []
    for cap in (10**6, 1000, 10):
        monkeypatch.setattr(dqm.readers.common.base, "MAX_ISSUES_PER_CODE", cap)
        monkeypatch.setattr(dqm.readers.common.base, "MAX_DUPLICATE_KEYS", cap)
        run = run_batch(root, profile, RunOptions(workers=1, slides=False))
        figures.append(_value_figures(run))
        listed.append([f for f in run.findings if f.code == "DUPLICATE_KEY"])
    assert [len(v) for v in listed] == [1500, 1001, 11]
    assert "490 more keys" in listed[2][-1].message  # the reader's count, not "1 more DUPLICATE_KEY"
    assert figures[1] == figures[0] and figures[2] == figures[0]


def test_a_count_past_the_cap_never_exceeds_the_files_value_slots() -> None:
    """Issues past the cap name value slots: those that no reported issue names, and never more than
    the file has, whatever the reader met (5,000 bad vertices of three outlines are three values)."""
    from dqm.model import Annotation, ReadIssue
    from dqm.profile import Limits
    from dqm.readers import within_limits
    from dqm.readers.common.base import MAX_ISSUES_PER_CODE

    def counted(issues, values):
        ann = Annotation(path="a.json", format="dqm", n_values=values, issues=issues)
        return [(i.counted, i.counted_values) for i in within_limits(ann, Limits()).issues if i.counted]

    distinct = [ReadIssue("WRONG_TYPE", "m", pointer=f"/lesions/{k}/class") for k in range(1500)]
    assert counted(distinct, 10_000) == [(500, 499)]
    assert counted(distinct, 1200) == [(500, 199)]  # 1,001 slots named, 199 more: the file's 1,200
    assert counted(distinct, 50) == [(500, 0)]
    same = [ReadIssue("BAD_VERTEX", "m", pointer=f"/lesions/{k % 3}/geometry", vertex=k) for k in range(5000)]
    assert counted(same, 10_000) == [(5000 - MAX_ISSUES_PER_CODE, 0)]
    claimed = ReadIssue("DUPLICATE_KEY", "m", pointer="/x", counted=10**9, counted_values=10**9 - 1)
    assert counted([*distinct, claimed], 1600) == [(10**9, 598), (500, 0)]  # 1,002 named, 598 more


def test_checksum_lines_past_the_cap_change_no_accuracy(tmp_path, profile, monkeypatch):
    """Malformed lines of SHA256SUMS are of aspect file: the list is one inaccurate file however
    many are counted in one finding, and no value slot, so the cap changes no figure."""
    import dqm.checksums

    root = write_tiny_batch(tmp_path / "b")
    (root / "SHA256SUMS").write_text("not a checksum line\n" * 1500)
    results = []
    for cap in (10**6, 10):
        monkeypatch.setattr(dqm.checksums, "MAX_MALFORMED", cap)
        run = run_batch(root, profile, RunOptions(workers=1, slides=False))
        s = syntactic_result(run)
        malformed = [f for f in run.findings if f.code == "CHECKSUM_MALFORMED"]
        results.append((len(malformed), s.files_valid, s.files_total, _value_figures(run)))
    assert results[0][0] == 1500 and results[1][0] == 11
    assert results[0][1:] == results[1][1:]
