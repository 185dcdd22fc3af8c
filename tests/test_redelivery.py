"""A redelivery against the earlier delivery (fixed, still there, new) and ``dqm gate --new-only``."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.cli import app
from dqm.findings import Aspect, Finding, Location, Severity
from dqm.redelivery import compare_findings, masked_findings
from dqm.results import QualityResult

runner = CliRunner()


def finding(item: str, code: str, **loc: object) -> Finding:
    return Finding(
        item_id=item,
        check="geometry.validity",
        code=code,
        severity=Severity.ERROR,
        aspect=Aspect.FORMAT,
        message=f"{code} on {item}",
        location=Location.model_validate(loc),
    )


def test_findings_are_paired_on_item_code_and_place() -> None:
    old = [
        finding("S1", "SELF_INTERSECTION", file="a/S1.json", pointer="/lesions/0/geometry", vertex=3),
        finding("S1", "SELF_INTERSECTION", file="a/S1.json", pointer="/lesions/0/geometry", vertex=9),
        finding("S2", "CLASS_UNKNOWN", file="a/S2.json", pointer="/lesions/1/class"),
        finding("S3", "INVALID_JSON", file="a/S3.json", line=4, char=2),
    ]
    new = [
        finding("S3", "INVALID_JSON", file="a/S3.json", line=40, char=1),  # the file was edited: same finding
        finding("S1", "SELF_INTERSECTION", file="a/S1.json", pointer="/lesions/0/geometry", vertex=5),
        finding("S2", "CLASS_UNKNOWN", file="a/S2.json", pointer="/lesions/2/class"),  # another lesion
        finding("S4", "CLASS_UNKNOWN", file="a/S4.json", pointer="/lesions/1/class"),
    ]
    still, fresh, fixed = compare_findings(old, new)
    assert still == [0, 1]
    assert fresh == [2, 3]
    assert fixed == [1, 2]  # one of the two equal S1 findings is gone, and S2's lesion 1
    assert compare_findings([], new) == ([], [0, 1, 2, 3], [])
    assert compare_findings(old, []) == ([], [], [0, 1, 2, 3])


def identifier(column: str | None, masked: str, row: int | None = 1, **loc: object) -> Finding:
    """A DEID_CLINICAL_IDENTIFIER finding of S1's manifest row (or another place) in ``column``."""
    f = finding(
        "S1", "DEID_CLINICAL_IDENTIFIER", **({"file": "manifest.csv", "row": row, "column": column} | loc)
    )
    return f.model_copy(update={"params": {"masked": masked, "length": len(masked), "name": column}})


def test_a_column_named_by_its_position_is_paired_by_its_value_not_its_number() -> None:
    """A column the profile does not declare is named by its position (#13), and the rule compared
    the column: a column put before it (#13 -> #14) made its finding 'fixed' and 'new', and another
    column's finding taking #13 was paired with it. Now such a column is not compared, the
    finding's masked value is."""
    old = [identifier("#13", "90************")]
    moved = [identifier("#14", "90************")]
    assert compare_findings(old, moved) == ([0], [], [])  # before: ([], [0], [0])
    taken = [identifier("#13", "80************"), identifier("#14", "90************")]
    assert compare_findings(old, taken) == ([1], [0], [])  # before: ([0], [1], [])
    assert compare_findings(old, [identifier("#13", "90************", row=2)]) == ([], [0], [0])


def test_a_column_named_by_its_name_before_and_by_its_position_now_is_the_same_finding() -> None:
    """Results written before undeclared columns were named by their position name them: the first
    redelivery after the upgrade showed each such finding fixed and new. Now a finding naming its
    column by its position pairs with one naming it by its name, the rest equal (an annotation's
    clinical block: /clinical/<key> then, /clinical and #N now), both ways (a column the profile
    declares since); not with another value, nor two names with each other."""
    named = identifier("Kim Minsoo 김민수 notes", "90************")
    block = identifier(None, "90************", row=None, file="a/S1.json", pointer="/clinical/Kim Minsoo")
    old = [named, block]
    new = [
        identifier("#13", "90************"),
        identifier("#2", "90************", row=None, file="a/S1.json", pointer="/clinical"),
    ]
    assert compare_findings(old, new) == ([0, 1], [], [])  # before: ([], [0, 1], [0, 1])
    assert compare_findings(new, old) == ([0, 1], [], [])
    assert compare_findings([named], [identifier("#13", "80************")]) == ([], [0], [0])
    assert compare_findings([named], [identifier("notes", "90************")]) == ([], [0], [0])


def test_findings_are_compared_as_the_outputs_name_them() -> None:
    mask = lambda s: s.replace("S900101-1234567", "[KOREAN_RRN-0123456789]")  # noqa: E731
    f = finding("S900101-1234567", "CLASS_UNKNOWN", file="a/S900101-1234567.json")
    (masked,) = masked_findings([f], mask)
    assert masked.item_id == "[KOREAN_RRN-0123456789]"
    assert masked.location.file == "a/[KOREAN_RRN-0123456789].json"
    assert masked_findings([f], None) == [f]


@pytest.fixture(scope="module")
def deliveries(defect_batch: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """The defect batch audited, then redelivered with one defect fixed and one introduced."""
    work = tmp_path_factory.mktemp("redelivery")
    first = work / "first"
    res = runner.invoke(app, ["audit", str(defect_batch), "--out", str(first), "--stages", "syntactic"])
    assert res.exit_code == 1, res.output
    result = QualityResult.load(first / "results.json")
    fixed = next(f for f in result.findings if f.code == "CLASS_UNKNOWN" and f.location.file)
    again = work / "batch"
    shutil.copytree(defect_batch, again)
    doc = json.loads((again / fixed.location.file).read_text(encoding="utf-8"))
    lesion = int(fixed.location.pointer.split("/")[2])
    doc["lesions"][lesion]["class"] = next(
        les["class"] for les in doc["lesions"] if les is not doc["lesions"][lesion]
    ) if len(doc["lesions"]) > 1 else "BCC"  # fmt: skip
    (again / fixed.location.file).write_text(json.dumps(doc), encoding="utf-8")
    clean = next(
        i.annotation_path for i in result.items if i.errors == 0 and i.warnings == 0 and i.annotation_path
    )
    doc = json.loads((again / clean).read_text(encoding="utf-8"))
    doc["lesions"][0]["class"] = "Tumour of nowhere"
    (again / clean).write_text(json.dumps(doc), encoding="utf-8")
    second = work / "second"
    res = runner.invoke(
        app,
        ["audit", str(again), "--out", str(second), "--stages", "syntactic", "--baseline", str(first)],
    )
    assert res.exit_code == 1, res.output
    assert "redelivery:" in res.output
    return first / "results.json", second / "results.json", again


def test_a_redelivery_says_fixed_still_there_and_new(deliveries: tuple[Path, Path, Path]) -> None:
    first, second, _ = deliveries
    old, new = QualityResult.load(first), QualityResult.load(second)
    d = new.redelivery
    assert d is not None and d.baseline == str(first) and d.baseline_fingerprint == old.batch.fingerprint
    assert sorted(d.still_there + d.new) == list(range(len(new.findings)))
    assert len(d.still_there) + len(d.fixed) == len(old.findings)
    assert any(f.code == "CLASS_UNKNOWN" for f in d.fixed)
    assert {new.findings[i].code for i in d.new} >= {"CLASS_UNKNOWN"}
    page = (second.parent / "report.html").read_text(encoding="utf-8")
    assert 'id="redelivery"' in page and f'data-redelivery="fixed">{len(d.fixed)} fixed' in page
    summary = (second.parent / "summary.md").read_text(encoding="utf-8")
    assert (
        f"Redelivery: {len(d.fixed)} findings fixed, {len(d.still_there)} still there, {len(d.new)} new."
        in summary
    )


def test_gate_new_only_fails_on_new_findings_alone(deliveries: tuple[Path, Path, Path]) -> None:
    first, second, _ = deliveries
    res = runner.invoke(app, ["gate", str(first), "--new-only", str(first), "--require", "syntactic"])
    assert res.exit_code == 0, res.output  # nothing new: the known findings do not fail it
    assert "PASS     syntactic" in res.output and "0 findings not in the baseline" in res.output
    res = runner.invoke(app, ["gate", str(second), "--new-only", str(first.parent)])
    assert res.exit_code == 1, res.output
    assert "NEW    " in res.output and "CLASS_UNKNOWN" in res.output
    ko = runner.invoke(app, ["gate", str(second), "--new-only", str(first.parent), "--lang", "ko"])
    assert (
        ko.exit_code == 1 and "기준에 없는 발견 사항" in ko.output and "not in the baseline" not in ko.output
    )
    new_lines = [line for line in ko.output.splitlines() if line.startswith("  NEW    ")]
    assert new_lines and all(
        re.search("[가-힣]", line) for line in new_lines
    )  # messages in Korean, NEW stays
    assert runner.invoke(app, ["gate", str(second)]).exit_code == 1
    res = runner.invoke(app, ["gate", str(second), "--new-only", str(first.parent / "absent.json")])
    assert res.exit_code == 2 and "no such baseline" in res.output
    res = runner.invoke(app, ["gate", str(second), "--new-only", str(second.parent.parent / "batch")])
    assert res.exit_code == 2 and "no such results.json" in " ".join(res.output.split())  # a batch folder


def test_new_only_honours_waivers(deliveries: tuple[Path, Path, Path], tmp_path: Path) -> None:
    first, second, _ = deliveries
    new = QualityResult.load(second)
    assert new.redelivery is not None
    codes = sorted({new.findings[i].code for i in new.redelivery.new})
    waivers = tmp_path / "w.yaml"
    waivers.write_text(
        "waivers:\n"
        + "".join(
            f"  - code: {c}\n    item: '*'\n    reason: known\n    approved_by: QA\n    expires: 2999-01-01\n"
            for c in codes
        ),
        encoding="utf-8",
    )
    res = runner.invoke(
        app,
        ["gate", str(second), "--new-only", str(first), "--waivers", str(waivers), "--require", "syntactic"],
    )
    assert res.exit_code == 0, res.output


def test_a_batch_folder_baseline_without_diversity_is_a_usage_error(
    deliveries: tuple[Path, Path, Path], defect_batch: Path, tmp_path: Path
) -> None:
    _, _, again = deliveries
    args = ["audit", str(again), "--out", str(tmp_path / "o"), "--stages", "syntactic", "--baseline"]
    res = runner.invoke(app, [*args, str(defect_batch)])
    assert res.exit_code == 2 and "diversity stage" in res.output


def test_an_earlier_release_of_many_findings_is_counted_whole_and_listed_in_part(
    deliveries: tuple[Path, Path, Path],
) -> None:
    # an earlier results.json whose findings are mostly gone used to be copied whole into the
    # redelivery's results.json (a 139 MB baseline made a 130 MB result of a 4-slide batch)
    from dqm.delivery import MAX_FIXED_LISTED
    from dqm.redelivery import redelivery
    from reports.html import render_html
    from reports.markdown import render_summary

    first, second, _ = deliveries
    old, new = QualityResult.load(first), QualityResult.load(second)
    gone = [finding(f"GONE-{i:05d}", ("CLASS_UNKNOWN", "SELF_INTERSECTION")[i % 2], file=f"a/{i}.json")
            for i in range(MAX_FIXED_LISTED + 7)]  # fmt: skip
    earlier = old.model_copy(update={"findings": [*gone, *old.findings]})
    d = redelivery(new, earlier, str(first))
    was = redelivery(new, old, str(first))
    total = len(gone) + len(was.fixed)
    assert d.n_fixed == d.fixed_total == total and len(d.fixed) == MAX_FIXED_LISTED
    assert d.fixed == gone[:MAX_FIXED_LISTED]  # the earliest first, in the earlier release's order
    assert d.still_there == was.still_there and d.new == was.new
    assert sum(d.fixed_by_code.values()) == total
    assert d.fixed_by_code["SELF_INTERSECTION"] >= len(gone) // 2
    shown = new.model_copy(update={"redelivery": d})
    assert f"Redelivery: {total} findings fixed" in render_summary(shown)
    page = render_html(shown)
    assert f'data-redelivery="fixed">{total} fixed' in page and f"Fixed ({total})" in page
    assert f"… {MAX_FIXED_LISTED - 200} more in results.json (redelivery.fixed)." in page  # listed
    assert f"… {total - MAX_FIXED_LISTED} more, listed only in the earlier delivery" in page  # counted
    from reports.fixlist import fix_rows, fixed_rows, render_fixlist_html

    sheet = render_fixlist_html(shown, fix_rows(shown), fixed_rows(shown))
    assert f"Fixed since the earlier delivery ({total})" in sheet
    assert f"{total - MAX_FIXED_LISTED} more, listed only in the earlier delivery" in sheet
    again = QualityResult.model_validate_json(shown.model_dump_json())  # results.json round trip
    assert again.redelivery is not None and again.redelivery.n_fixed == total


def test_a_result_written_before_fixed_was_capped_counts_its_list() -> None:
    from dqm.delivery import Redelivery

    d = Redelivery(baseline="b", baseline_fingerprint="f", baseline_created="c",
                   fixed=[finding("S1", "CLASS_UNKNOWN"), finding("S2", "CLASS_UNKNOWN")])  # fmt: skip
    assert d.fixed_total is None and d.n_fixed == 2


def _key_hit(pointer: str, masked: str = "RR****") -> Finding:
    return Finding(
        item_id="s1", check="deid.annotation_properties", code="DEID_ANNOTATION_IDENTIFIER",
        severity="error", aspect="deid", message="m", location=Location(file="a.json", pointer=pointer),
        params={"masked": masked},
    )  # fmt: skip


def test_a_key_put_before_another_keeps_its_finding_still_there() -> None:
    """A key of an annotation file no format defines is named by its position
    (tests/deid/test_property_keys.py), and a key inserted before renumbers it (#1 -> #2): compared without its positions, by its
    masked value; a finding of results naming the key by its name pairs with it too."""
    old = [_key_hit("/features/0/properties/#1/#1"), _key_hit("/features/0/properties/#2", "01****")]
    new = [_key_hit("/features/0/properties/#1", "01****"), _key_hit("/features/0/properties/#2/#1")]
    assert compare_findings(old, new) == ([0, 1], [], [])
    other = [_key_hit("/features/0/properties/#2/#1", "90****")]  # another value: fixed and new
    assert compare_findings(old[:1], other) == ([], [0], [0])
    named = [
        _key_hit("/features/0/properties/Kim Minsoo 김민수/Hong Gildong"),
        _key_hit("/features/0/properties/note", "01****"),
    ]
    assert compare_findings(named, new) == ([0, 1], [], [])
    assert compare_findings(new, named) == ([0, 1], [], [])


def test_an_xml_step_is_compared_where_a_key_named_by_its_position_is_not() -> None:
    """Results written before keys were named by their position pair with today's at the key
    only: another element's attribute (``B[2]``, ``C[1]``) is another finding, fixed and new."""
    old = [_key_hit("/A/B[1]/@Kim", "90****"), _key_hit("/A/B[1]/text()[1]", "85****")]
    new = [_key_hit("/A/B[1]/@#1", "90****"), _key_hit("/A/B[1]/text()[1]", "85****")]
    assert compare_findings(old, new) == ([0, 1], [], [])
    moved = [_key_hit("/A/B[2]/@#1", "90****"), _key_hit("/A/C[1]/@#1", "85****")]
    assert compare_findings(old, moved) == ([], [0, 1], [0, 1])


def test_an_xml_elements_step_named_by_its_position_is_compared_without_its_number() -> None:
    """An element whose tag no format defines is named by its position (``#1[1]``): a new such tag
    put before it renumbers it (``#2[1]``), and results written before named it by its tag
    (``Hong_Gildong[1]``); both were fixed and new. Its index and a format's element still count."""
    old = [_key_hit("/A/#1[1]/text()[1]", "90****"), _key_hit("/A/Annotation[1]/#1[2]/@Name", "85****")]
    new = [_key_hit("/A/#2[1]/text()[1]", "90****"), _key_hit("/A/Annotation[1]/#3[2]/@Name", "85****")]
    assert compare_findings(old, new) == ([0, 1], [], [])
    before = [
        _key_hit("/A/Hong_Gildong[1]/text()[1]", "90****"),
        _key_hit("/A/B[1]/descendant::Kim[3]", "85****"),
    ]
    now = [_key_hit("/A/#1[1]/text()[1]", "90****"), _key_hit("/A/B[1]/descendant::#1[3]", "85****")]
    assert compare_findings(before, now) == ([0, 1], [], [])
    other = [_key_hit("/A/#1[2]/text()[1]", "90****"), _key_hit("/A/Annotation[2]/#1[2]/@Name", "85****")]
    assert compare_findings(old, other) == ([], [0, 1], [0, 1])
    assert compare_findings(before, other[:1]) == ([], [0], [0, 1])
