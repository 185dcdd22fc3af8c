"""Waivers: the file, what each one covers, syntactic accuracy decided again, and the commands."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.cli import app
from dqm.delivery import Waiver
from dqm.findings import Aspect, Finding, Location, Severity
from dqm.identifiers import Masker
from dqm.results import QualityResult
from dqm.runner import RunOptions, run_batch
from dqm.syntactic.accuracy import counts_against, rewaived, syntactic_result
from dqm.waivers import WaiverError, _matches, covers, load_waivers, table_rows, with_waivers

runner = CliRunner()
TODAY = dt.date(2026, 6, 1)


def waiver(**fields: object) -> Waiver:
    base: dict[str, object] = {
        "item": "*",
        "reason": "accepted",
        "approved_by": "QA lead",
        "expires": "2027-01-01",
    }
    return Waiver.model_validate({**base, **fields})


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def defect_run(defect_batch: Path, profile):  # type: ignore[no-untyped-def]
    return run_batch(defect_batch, profile, RunOptions(workers=1))


@pytest.fixture(scope="module")
def defect_result(defect_run) -> QualityResult:  # type: ignore[no-untyped-def]
    from dqm.audit import build_result

    return build_result(defect_run, ["dqm", "audit"])


def test_a_waiver_file_loads(tmp_path: Path) -> None:
    path = write(
        tmp_path / "w.yaml",
        "waivers:\n"
        "  - code: MPP_MISSING\n    file: 'hospital_b/*.svs'\n    reason: no resolution\n"
        "    approved_by: J. Kim\n    expires: 2027-03-31\n"
        "  - check: slide.resolution\n    item: '*'\n    reason: r\n    approved_by: QA\n    expires: 2026-01-01\n",
    )
    first, second = load_waivers(path)
    assert (first.code, first.file, first.expires) == (
        "MPP_MISSING",
        "hospital_b/*.svs",
        dt.date(2027, 3, 31),
    )
    assert (second.check, second.item) == ("slide.resolution", "*")


@pytest.mark.parametrize(
    "text, said",
    [
        ("waivers:\n  - code: X\n    item: '*'\n    approved_by: a\n    expires: 2027-01-01\n", "waivers/0/reason"),
        ("waivers:\n  - code: X\n    item: '*'\n    reason: r\n    approved_by: a\n    expires: soon\n", "expires"),
        ("waivers:\n  - item: '*'\n    reason: r\n    approved_by: a\n    expires: 2027-01-01\n", "code or a check"),
        ("waivers:\n  - code: X\n    reason: r\n    approved_by: a\n    expires: 2027-01-01\n", "item or a file"),
        ("waivers:\n  - code: X\n    item: '*'\n    reason: r\n    approved_by: a\n    expires: 2027-01-01\n"
         "    colour: red\n", "colour"),
        ("waivers: [\n", "not YAML"),
        ("- code: X\n", "(top)"),
        ("waivers: []\n", "waivers"),
    ],
)  # fmt: skip
def test_a_malformed_waiver_file_says_what_is_wrong(tmp_path: Path, text: str, said: str) -> None:
    with pytest.raises(WaiverError, match=r"not (valid|YAML)") as info:
        load_waivers(write(tmp_path / "w.yaml", text))
    assert said in str(info.value)


@pytest.mark.parametrize("code", ["OVERSTAINED", "UNDERSTAINED"])
def test_a_waiver_naming_a_code_under_the_check_that_no_longer_raises_it_is_refused(
    tmp_path: Path, code: str
) -> None:
    """Over- and under-staining moved from artefacts.slide to artefacts.stain: a waiver naming the
    old check and the code matched no finding, silently (only listed as unused)."""
    text = f"waivers:\n  - check: artefacts.slide\n    code: {code}\n    item: '*'\n    reason: r\n"
    path = write(tmp_path / "w.yaml", text + "    approved_by: QA\n    expires: 2027-01-01\n")
    with pytest.raises(WaiverError) as info:
        load_waivers(path)
    said = str(info.value)
    assert "waivers/0" in said and f"{code} is raised by artefacts.stain" in said
    (kept,) = load_waivers(
        write(
            tmp_path / "n.yaml",
            text.replace("slide", "stain") + "    approved_by: QA\n    expires: 2027-01-01\n",
        )
    )
    assert (kept.check, kept.code) == ("artefacts.stain", code)


@pytest.mark.parametrize("nested", ["[" * 5_000, "{a: " * 5_000, "- " * 5_000 + "x"])
def test_a_waiver_or_profile_file_nested_past_the_stack_is_an_error(tmp_path: Path, nested: str) -> None:
    """YAML nested a few thousand deep (a 5 KB waiver file or profile) made PyYAML recurse past
    Python's stack: ``dqm gate --waivers`` stopped with an internal error (exit 4). libyaml's
    parser, where PyYAML has it, stops at its own depth (1,000 levels) with its own words."""
    from dqm.profile import ProfileError, load_profile

    deep = r"(?s)not (valid )?YAML: .*(nested too deeply|exceeded maximum nesting depth)"
    path = write(tmp_path / "w.yaml", nested)
    with pytest.raises(WaiverError, match=deep):
        load_waivers(path)
    with pytest.raises(ProfileError, match=deep):
        load_profile(path)


def test_a_missing_or_binary_waiver_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(WaiverError, match="cannot read"):
        load_waivers(tmp_path / "absent.yaml")
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(WaiverError, match="cannot read"):
        load_waivers(tmp_path / "bin.yaml")


def test_what_a_waiver_covers(profile) -> None:  # type: ignore[no-untyped-def]
    f = Finding(
        item_id="HOSP-B-0007",
        check="slide.resolution",
        code="MPP_MISSING",
        severity=Severity.ERROR,
        aspect=Aspect.IMAGE,
        message="m",
        location=Location(file="hospital_b/0007.svs"),
    )
    assert covers(waiver(code="MPP_MISSING"), f)
    assert covers(waiver(code="MPP_MISSING", check="slide.resolution", item="HOSP-B-*"), f)
    assert covers(waiver(check="slide.resolution", item=None, file="hospital_b/*.svs"), f)
    assert not covers(waiver(code="MPP_MISSING", check="slide.other"), f)
    assert not covers(waiver(code="MPP_MISSING", item="HOSP-A-*"), f)
    assert not covers(waiver(code="MPP_MISSING", item="hosp-b-*"), f)  # case matters
    assert not covers(waiver(code="MPP_MISSING", item=None, file="hospital_a/*"), f)
    # a masked results.json names the item by its token: the pattern is masked the same way
    mask = Masker(profile.deid, b"a test key of 16+ bytes")
    rrn = "S900101-1234567"
    masked = f.model_copy(update={"item_id": mask(rrn), "location": Location(file=mask(f"b/{rrn}.svs"))})
    assert masked.item_id != rrn
    assert covers(waiver(code="MPP_MISSING", item=rrn), masked, mask)
    assert covers(waiver(code="MPP_MISSING", item=None, file=f"b/{rrn}.*"), masked, mask)
    assert not covers(waiver(code="MPP_MISSING", item="S900101-1234568"), masked, mask)
    crash = f.model_copy(update={"aspect": Aspect.INTERNAL, "code": "CHECK_CRASHED"})
    assert not covers(waiver(code="CHECK_CRASHED"), crash)  # a crash is never waived


def test_a_waiver_of_a_code_said_once_covers_it_whichever_check_said_it() -> None:
    """``SLIDE_ALL_INK`` is said by ``slide.lesion_tissue``, else ``artefacts.slide``, else
    ``artefacts.lesion`` (validators.engine.ONCE_CODES): a waiver naming it with one of them covers
    the finding when another said it (the named one disabled); naming the check alone does not."""
    f = Finding(
        item_id="S1",
        check="artefacts.slide",
        code="SLIDE_ALL_INK",
        severity=Severity.ERROR,
        aspect=Aspect.IMAGE,
        message="m",
        location=Location(file="S1.svs"),
    )
    named = waiver(code="SLIDE_ALL_INK", check="slide.lesion_tissue")
    assert covers(named, f)
    assert covers(waiver(code="SLIDE_ALL_INK", check="artefacts.lesion"), f)
    assert _matches([named], [f], None) == [[0]]
    assert not covers(waiver(code="SLIDE_ALL_INK", check="slide.resolution"), f)  # no declarer
    assert not covers(waiver(check="slide.lesion_tissue"), f)  # the check alone: its own findings
    other = f.model_copy(update={"code": "PEN_MARKS", "check": "artefacts.slide"})
    assert not covers(waiver(code="PEN_MARKS", check="slide.lesion_tissue"), other)


def _without(run, drop: set[int]):  # type: ignore[no-untyped-def]
    """The run with the findings at ``drop`` (indexes into run.findings) left out."""
    index = 0
    outcomes = []
    for o in run.outcomes:
        kept = [f for k, f in enumerate(o.findings, start=index) if k not in drop]
        index += len(o.findings)
        outcomes.append(dataclasses.replace(o, findings=kept))
    batch = [f for k, f in enumerate(run.batch_findings, start=index) if k not in drop]
    return dataclasses.replace(run, outcomes=outcomes, batch_findings=batch)


def test_waiving_a_code_gives_the_figures_of_a_run_without_its_findings(defect_run) -> None:  # type: ignore[no-untyped-def]
    findings = defect_run.findings
    measured = syntactic_result(defect_run)
    rows = table_rows(QualityResult.model_construct(items=[o.summary for o in defect_run.outcomes]))
    compared = 0
    for code in sorted({f.code for f in findings if counts_against(f)}):
        drop = {i for i, f in enumerate(findings) if f.code == code}
        expected = syntactic_result(_without(defect_run, drop))
        if expected.files_total != measured.files_total:
            continue  # a file only its finding names (a missing file) leaves the universe when dropped
        got = rewaived(measured, findings, set(), drop, rows)
        for field in (
            "files_valid",
            "values_valid",
            "structure",
            "format",
            "gates",
            "passed",
            "file_accuracy",
        ):
            assert getattr(got, field) == getattr(expected, field), (code, field)
        back = rewaived(got, findings, drop, set(), rows)  # and back again
        assert (back.files_valid, back.values_valid, back.gates) == (
            measured.files_valid,
            measured.values_valid,
            measured.gates,
        )
        compared += 1
    assert compared >= 5


def test_waivers_decide_the_verdict_and_never_remove_a_finding(defect_result: QualityResult) -> None:
    counting = sorted({(f.code, f.check) for f in defect_result.findings if counts_against(f)})
    assert defect_result.syntactic is not None and not defect_result.syntactic.passed
    everything = [waiver(code=code) for code, _ in counting]
    decided = with_waivers(defect_result, everything, "w.yaml", TODAY)
    assert decided.findings == defect_result.findings
    assert decided.syntactic is not None
    if defect_result.syntactic.crashed == 0:
        assert decided.syntactic.passed and "syntactic" not in decided.verdict.failed
    assert decided.waivers is not None and decided.waivers.measured == defect_result.syntactic.gates
    assert decided.waivers.waived == sorted(
        i for i, f in enumerate(defect_result.findings) if counts_against(f) and f.aspect != Aspect.INTERNAL
    )
    assert all(u.status == "active" and u.covered for u in decided.waivers.uses)
    # decided again with a waiver that matches nothing: the figures as measured
    again = with_waivers(decided, [waiver(code="NO_SUCH_CODE")], "w2.yaml", TODAY)
    assert again.syntactic == defect_result.syntactic
    assert again.waivers is not None and again.waivers.measured == defect_result.syntactic.gates
    assert again.waivers.warnings == ["waiver NO_SUCH_CODE on * (approved by QA lead) matched no finding"]


def test_a_waiver_a_slide_is_matched_against_that_slide_s_findings_only(
    defect_result: QualityResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every slide waived one by one (a waiver file of 1,000 slide ids, one code on every slide):
    each waiver was matched against every finding of its code (1,000 x 34,376 globs: 68 s, half an
    hour at a million findings). A waiver naming one slide (no glob) now looks its findings up."""
    import dqm.waivers

    one = next(f for f in defect_result.findings if counts_against(f) and f.aspect != Aspect.INTERNAL)
    findings = [one.model_copy(update={"item_id": f"S{k:04d}"}) for k in range(400)]
    result = defect_result.model_copy(update={"findings": findings})
    one_each = [waiver(code=one.code, item=f"S{k:04d}") for k in range(0, 400, 2)]
    globbed = [
        waiver(code=one.code, item=f"S{k:04d}"[:-1] + "[" + str(k % 10) + "]") for k in range(0, 400, 2)
    ]
    expected = with_waivers(result, globbed, "w.yaml", TODAY)
    matched = 0
    real = dqm.waivers.fnmatchcase

    def counted(name: str, pattern: str) -> bool:
        nonlocal matched
        matched += 1
        return real(name, pattern)

    monkeypatch.setattr(dqm.waivers, "fnmatchcase", counted)
    decided = with_waivers(result, one_each, "w.yaml", TODAY)
    assert matched <= 2 * len(one_each)
    assert decided.waivers is not None and expected.waivers is not None
    assert decided.waivers.waived == expected.waivers.waived == list(range(0, 400, 2))
    assert [u.covered for u in decided.waivers.uses] == [u.covered for u in expected.waivers.uses]
    assert decided.syntactic == expected.syntactic


def test_an_expired_waiver_covers_nothing_and_warns(defect_result: QualityResult) -> None:
    code = next(f.code for f in defect_result.findings if counts_against(f))
    n = sum(f.code == code for f in defect_result.findings)
    decided = with_waivers(defect_result, [waiver(code=code, expires="2026-05-31")], "w.yaml", TODAY)
    assert decided.waivers is not None
    (use,) = decided.waivers.uses
    assert (use.status, use.covered, use.would_cover) == ("expired", [], n)
    assert decided.syntactic == defect_result.syntactic
    assert f"expired on 2026-05-31: the {n} findings it matches count again" in decided.waivers.warnings[0]
    on_its_last_day = with_waivers(defect_result, [waiver(code=code, expires="2026-06-01")], "w.yaml", TODAY)
    assert on_its_last_day.waivers is not None and on_its_last_day.waivers.uses[0].status == "active"


@pytest.fixture(scope="module")
def audited_out(defect_batch: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("waived") / "out"
    res = runner.invoke(app, ["audit", str(defect_batch), "--out", str(out), "--stages", "syntactic"])
    assert res.exit_code == 1, res.output
    return out


def _waiver_file(tmp_path: Path, result: QualityResult, expired: bool = False) -> Path:
    codes = sorted({f.code for f in result.findings if counts_against(f) and f.aspect != Aspect.INTERNAL})
    lines = ["waivers:"]
    for code in codes:
        lines += [f"  - code: {code}", "    item: '*'", "    reason: accepted for this delivery",
                  "    approved_by: QA lead", "    expires: 2999-12-31"]  # fmt: skip
    lines += ["  - code: NO_SUCH_CODE", "    file: 'x/*'", "    reason: r", "    approved_by: a",
              f"    expires: {'2000-01-01' if expired else '2999-12-31'}"]  # fmt: skip
    return write(tmp_path / "waivers.yaml", "\n".join(lines) + "\n")


def test_gate_and_report_honour_a_waiver_file(audited_out: Path, tmp_path: Path) -> None:
    results = audited_out / "results.json"
    result = QualityResult.load(results)
    path = _waiver_file(tmp_path, result, expired=True)
    res = runner.invoke(app, ["gate", str(results), "--waivers", str(path), "--require", "syntactic"])
    assert res.exit_code == 0, res.output
    assert "PASS     syntactic" in res.output
    assert "expired on 2000-01-01" in res.output
    res = runner.invoke(app, ["report", str(results), "-o", str(tmp_path / "r.html"), "--waivers", str(path)])
    assert res.exit_code == 0, res.output
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert (
        'id="waivers"' in page
        and 'data-waiver-status="expired"' in page
        and "accepted for this delivery" in page
    )
    assert runner.invoke(app, ["gate", str(results)]).exit_code == 1  # without the file: as measured


def test_an_audit_with_waivers_lists_them_and_keeps_every_finding(
    defect_batch: Path, audited_out: Path, tmp_path: Path
) -> None:
    plain = QualityResult.load(audited_out / "results.json")
    path = _waiver_file(tmp_path, plain)
    out = tmp_path / "out"
    args = ["audit", str(defect_batch), "--out", str(out), "--stages", "syntactic", "--waivers", str(path)]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "matched no finding" in res.output
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert len(data["findings"]) == len(plain.findings)
    assert data["verdict"]["failed"] == []
    assert {u["status"] for u in data["waivers"]["uses"]} == {"active", "unused"}
    assert 'id="waivers"' in (out / "report.html").read_text(encoding="utf-8")
    n = len(data["waivers"]["waived"])
    assert f"waivers.yaml): {n} findings waived by" in (out / "summary.md").read_text(encoding="utf-8")


def test_a_malformed_waiver_file_is_a_usage_error_before_any_work(
    defect_batch: Path, audited_out: Path, tmp_path: Path
) -> None:
    bad = write(
        tmp_path / "bad.yaml",
        "waivers:\n  - code: X\n    item: '*'\n    approved_by: a\n    expires: 2027-01-01\n",
    )
    out = tmp_path / "never"
    res = runner.invoke(app, ["audit", str(defect_batch), "--out", str(out), "--waivers", str(bad)])
    assert res.exit_code == 2 and "waivers/0/reason" in res.output
    assert not (out / "results.json").exists()
    for command in (
        ["gate", str(audited_out / "results.json")],
        ["report", str(audited_out / "results.json"), "-o", str(tmp_path / "r.html")],
    ):
        res = runner.invoke(app, [*command, "--waivers", str(bad)])
        assert res.exit_code == 2 and "reason" in res.output, res.output


def test_junit_fails_no_testcase_on_waived_findings(defect_result: QualityResult) -> None:
    import xml.etree.ElementTree as ET

    from reports import render_junit

    code = next(f.code for f in defect_result.findings if counts_against(f) and f.aspect != Aspect.INTERNAL)
    decided = with_waivers(defect_result, [waiver(code=code)], "w.yaml", TODAY)
    assert decided.syntactic is not None and not decided.syntactic.passed  # other codes still fail it

    def case(result: QualityResult) -> ET.Element:
        root = ET.fromstring(render_junit(result))
        return next(c for c in root.iter("testcase") if c.get("name", "").startswith(f"{code} ("))

    assert case(defect_result).find("failure") is not None
    waived = case(decided)
    assert waived.find("failure") is None and "(waived)" in (waived.findtext("system-out") or "")


def test_a_hostile_waiver_file_is_refused_quickly(tmp_path: Path) -> None:
    one = "  - code: X\n    item: '*'\n    reason: r\n    approved_by: a\n    expires: 2027-01-01\n"
    with pytest.raises(WaiverError, match="at most 1000 items"):
        load_waivers(write(tmp_path / "many.yaml", "waivers:\n" + one * 1001))
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{b}: &{b} [*{a}, *{a}, *{a}, *{a}, *{a}, *{a}, *{a}, *{a}, *{a}, *{a}]\n"
        for a, b in zip("abcdefgh", "bcdefghi", strict=True)
    )
    with pytest.raises(WaiverError, match="waivers: Field required"):
        load_waivers(write(tmp_path / "bomb.yaml", bomb + "wavers: [*i, *i]\n"))
    with pytest.raises(WaiverError, match="should be a valid dictionary"):
        load_waivers(write(tmp_path / "bomb2.yaml", bomb + "waivers: [*i, *i]\n"))
    (tmp_path / "huge.yaml").write_bytes(b"#" * 1_000_001)
    with pytest.raises(WaiverError, match="larger than"):
        load_waivers(tmp_path / "huge.yaml")


def test_a_waiver_file_with_a_key_repeated_is_refused(tmp_path: Path) -> None:
    """Two ``waivers:`` lists in one file: YAML kept the second in silence, so the waivers a reader
    approved in the first were not the ones applied."""
    path = tmp_path / "w.yaml"
    entry = "  - {code: MPP_MISSING, reason: r, approved_by: me, expires: 2099-01-01}\n"
    path.write_text("waivers:\n" + entry + "waivers:\n" + entry.replace("MPP_MISSING", "CHECKSUM_MISMATCH"))
    with pytest.raises(WaiverError, match="'waivers' appears twice"):
        load_waivers(path)


def _random_glob(rng: random.Random) -> str:
    return "".join(rng.choice(["a", "b", "ab", "*", "*", "*", "?", "[", "]", "!", "-", "^", "[ab]", "[!a]", "[]]", "[!]", "[-]", "[^]"])
                   for _ in range(rng.randint(1, 5)))  # fmt: skip


def _random_value(rng: random.Random) -> str:
    return "".join(
        rng.choice(["a", "b", "ab", "[", "]", "!", "-", "^", "*"]) for _ in range(rng.randint(0, 6))
    )


def _token_mask(text: str) -> str:
    """A stand-in for the run's masker: every ``ab`` becomes a token, brackets and all."""
    return text.replace("ab", "[ID-0123456789]")


@pytest.mark.parametrize("seed", range(6))
def test_indexed_matching_credits_what_pairwise_matching_credits(seed: int) -> None:
    # every waiver is credited with exactly the findings covers() gives it, over random globs full
    # of classes, brackets and masked tokens (the index takes literal heads, tails and dict keys)
    rng = random.Random(seed)
    mask = _token_mask if seed % 2 else None
    codes, checks = ["C_A", "C_B", "C_C"], ["c.a", "c.b", "C_A"]
    findings, values = [], []
    for _ in range(400):
        value = _random_value(rng)
        values.append(value)
        item = _token_mask(value) if mask and rng.random() < 0.5 else value
        findings.append(
            Finding(
                item_id=item,
                check=rng.choice(checks),
                code=rng.choice(codes),
                severity=Severity.ERROR,
                aspect=Aspect.INTERNAL if rng.random() < 0.05 else Aspect.IMAGE,
                message="m",
                location=Location(file=rng.choice([None, _random_value(rng), item + "/x.svs"])),
            )
        )
    waivers = []
    for _ in range(60):
        code, check = rng.choice([(rng.choice(codes), None), (None, rng.choice(checks)),
                                  (rng.choice(codes), rng.choice(checks))])  # fmt: skip
        item, file = rng.choice([(_random_glob(rng), None), (None, _random_glob(rng) + rng.choice(["", "/x.svs"])),
                                 (_random_glob(rng), _random_glob(rng)), (rng.choice(values) or "a", None)])  # fmt: skip
        waivers.append(waiver(code=code, check=check, item=item, file=file))
    expected = [[i for i, f in enumerate(findings) if covers(w, f, mask)] for w in waivers]
    assert _matches(waivers, findings, mask) == expected
    assert sum(map(bool, expected)) >= 10  # the draw does match: the comparison is not of empty lists


def _headless_glob(rng: random.Random) -> str:
    """A glob with neither a literal head nor a literal tail, with or without literal text inside."""
    edge = ["*", "*", "?", "[ab]", "[!a]", "[]]", "[[]"]
    return rng.choice(edge) + (_random_glob(rng) if rng.random() < 0.8 else "") + rng.choice(edge)


@pytest.mark.parametrize("seed", range(4))
def test_globs_without_a_literal_head_or_tail_credit_what_pairwise_matching_credits(seed: int) -> None:
    # hundreds of waivers of one code whose globs neither start nor end with literal text (indexed
    # by a literal run inside, or tried together as one alternation), some repeated by several
    # waivers (each credited), against covers() of every pair, masked tokens included
    rng = random.Random(seed)
    mask = _token_mask if seed % 2 else None
    findings = []
    for _ in range(300):
        item = "".join(_random_value(rng) for _ in range(2))
        item = _token_mask(item) if mask and rng.random() < 0.5 else item
        findings.append(
            Finding(item_id=item, check="c.a", code="C_A", severity=Severity.ERROR, aspect=Aspect.IMAGE,
                    message="m", location=Location(file=rng.choice([None, item + "/x.svs", _random_value(rng)])))
        )  # fmt: skip
    globs = [_headless_glob(rng) for _ in range(150)]
    waivers = []
    for _ in range(300):
        item, file = rng.choice([(rng.choice(globs), None), (None, rng.choice(globs)),
                                 (rng.choice(globs), rng.choice(globs)), ("*", None)])  # fmt: skip
        waivers.append(waiver(code="C_A", item=item, file=file))
    expected = [[i for i, f in enumerate(findings) if covers(w, f, mask)] for w in waivers]
    assert _matches(waivers, findings, mask) == expected
    assert sum(map(bool, expected)) >= 100 and sum(not e for e in expected) >= 10


def test_a_glob_without_a_literal_head_or_tail_is_not_tried_on_every_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """1,000 waivers ``*-0001234*`` (one slide each, wherever its id sits) over 2,000 findings:
    each glob was tried on every distinct value (2 million matches, 20 s at 100,000 findings);
    now a value is tried on the globs whose literal text it holds, and on one alternation of
    the globs without literal text."""
    import re

    import dqm.waivers

    calls = 0

    class Counted:
        def __init__(self, pattern: str) -> None:
            self.real = re.compile(pattern).match

        def match(self, value: str) -> object:
            nonlocal calls
            calls += 1
            return self.real(value)

    monkeypatch.setattr(dqm.waivers, "re", type("re", (), {"compile": Counted}))
    findings = [
        Finding(item_id=f"HOSP-{k % 7}-{k:07d}", check="c.a", code="C_A", severity=Severity.ERROR,
                aspect=Aspect.IMAGE, message="m", location=Location())
        for k in range(2000)
    ]  # fmt: skip
    waivers = [waiver(code="C_A", item=f"*-{3 * k:07d}*") for k in range(1000)]
    waivers += [waiver(code="C_A", item="[H]*[9]"), waiver(code="C_A", item="?*[7]")]
    matched = _matches(waivers, findings, None)
    assert matched[:1000] == [[3 * k] if 3 * k < 2000 else [] for k in range(1000)]
    assert matched[1000:] == [list(range(9, 2000, 10)), list(range(7, 2000, 10))]
    assert calls <= 4 * len(findings)


@pytest.mark.parametrize("seed", range(3))
def test_pathological_globs_match_as_fnmatch_and_the_tree_turns_to_a_bounded_scan(seed: int) -> None:
    """Globs of wildcards and classes only (``?*[0-9]**[!a]``), most of which match most values,
    made every node of the alternation tree match: the tree cost its depth in alternations on
    top of each glob's regex (1.4 to 1.8 times trying each glob in turn). Past a few values the
    tree turns to trying each glob in turn; before and after, every answer is fnmatch's."""
    from fnmatch import fnmatchcase

    from dqm.waivers import _Index

    rng = random.Random(seed)
    parts = ["*", "**", "?", "[0-9]", "[!a]", "[A-Z]", "[-0-9]", "[]]", "[!]]"]
    globs = ["".join(rng.choice(parts) for _ in range(rng.randint(1, 10))) for _ in range(300)]
    values = [f"H{rng.choice('AB]')}-{rng.randrange(10**6)}" * rng.randint(1, 2) for _ in range(120)]
    index = _Index([(g,) for g in globs])
    for value in values:
        assert index.naming(value) == {w for w, g in enumerate(globs) if fnmatchcase(value, g)}, value
    assert index.rest is not None and index.rest.linear is not None  # the bounded scan was taken
    few = _Index([("[!H]" + "?" * k + "*",) for k in range(200)] + [("*",)])  # a value meets one glob
    for value in values:
        assert few.naming(value) == {200}
    assert few.rest is not None and few.rest.linear is None  # the tree kept
