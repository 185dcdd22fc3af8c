"""The fix list: a lot's findings grouped by file, escaped, spreadsheet-safe and masked."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.cli import app
from dqm.delivery import Redelivery
from dqm.output import from_spreadsheet
from dqm.results import QualityResult
from dqm.waivers import with_waivers
from reports.fixlist import (
    CSV_COLUMNS,
    LotError,
    fix_rows,
    fixed_rows,
    lot_items,
    render_fixlist_csv,
    render_fixlist_html,
)
from tests.reports.conftest import finding, make_result

runner = CliRunner()
RRN = "900101-1234567"
HOSTILE = '=HYPERLINK("http://x","<script>alert(1)</script>")'


@pytest.fixture
def delivered() -> QualityResult:
    """Slides of Seoul-A (even) and Busan-B (odd); one finding message is a formula and markup."""
    found = [
        finding("S00000", "SELF_INTERSECTION", file="annotations/S00000.json", pointer="/lesions/2/geometry", vertex=4),
        finding("S00000", "CLASS_UNKNOWN", file="annotations/S00000.json", pointer="/lesions/0/class", message=HOSTILE),
        finding("S00002", "MPP_MISSING", severity="warning", aspect="image", file="slides/S00002.tiff"),
        finding("S00002", "CLINICAL_BAD_DATE", aspect="format", file="manifest.csv", row=3, column="acquired_on"),
        finding("S00001", "CLASS_UNKNOWN", file="annotations/S00001.json", pointer="/lesions/1/class"),
        finding("batch", "ORPHAN_SLIDE", aspect="file", file="slides/stray.tiff"),
    ]  # fmt: skip
    return make_result(6, found, clinical={"vendor": "Acme", "age": "50"})


def _csv(text: str) -> list[dict[str, str]]:
    rows = list(csv.reader(io.StringIO(text)))
    return [dict(zip(CSV_COLUMNS, (from_spreadsheet(c) for c in r), strict=True)) for r in rows[1:]]


def test_a_lot_is_the_items_of_one_field_value(delivered: QualityResult) -> None:
    assert lot_items(delivered, "institution", "Seoul-A") == {"S00000", "S00002", "S00004"}
    assert lot_items(delivered, "vendor", "Acme") == {i.slide_id for i in delivered.items}
    with pytest.raises(
        LotError, match=r"no item has institution 'Daegu' \(lots by institution: Busan-B, Seoul-A\)"
    ):
        lot_items(delivered, "institution", "Daegu")
    with pytest.raises(LotError, match=r"carry no field 'hospital'.*age, diagnosis, institution, vendor"):
        lot_items(delivered, "hospital", "Seoul-A")


def test_the_rows_of_a_lot_are_grouped_by_file_errors_first(delivered: QualityResult) -> None:
    rows = fix_rows(delivered, lot_items(delivered, "institution", "Seoul-A"))
    assert [(r.file, r.code) for r in rows] == [
        ("annotations/S00000.json", "CLASS_UNKNOWN"),
        ("annotations/S00000.json", "SELF_INTERSECTION"),
        ("manifest.csv", "CLINICAL_BAD_DATE"),
        ("slides/S00002.tiff", "MPP_MISSING"),
    ]
    assert rows[1].where == "/lesions/2/geometry vertex 4"
    assert rows[2].where == "row 3 column acquired_on"
    everything = fix_rows(delivered)
    assert len(everything) == len(delivered.findings) and "ORPHAN_SLIDE" in {r.code for r in everything}


def test_the_csv_is_spreadsheet_safe_and_the_html_escaped(delivered: QualityResult) -> None:
    rows = fix_rows(delivered)
    text = render_fixlist_csv(rows)
    assert "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text and "'=HYPERLINK" in text
    assert HOSTILE in {r["message"] for r in _csv(text)}  # read back, the value as it was
    page = render_fixlist_html(delivered, rows, [], "Seoul-A", "institution")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<title>Fix list: institution Seoul-A</title>" in page
    assert "script-src" not in page and "default-src 'none'" in page.replace("&#39;", "'")


def test_status_and_waivers_travel_to_the_fix_list(delivered: QualityResult) -> None:
    from dqm.delivery import Waiver

    gone = finding(
        "S00000", "TOO_FEW_VERTICES", file="annotations/S00000.json", pointer="/lesions/5/geometry"
    )
    d = Redelivery(
        baseline="old/results.json",
        baseline_fingerprint="ef" * 32,
        baseline_created="2025-01-01T00:00:00+00:00",
        still_there=[0, 1, 2],
        new=[3, 4, 5],
        fixed=[gone, finding("S00001", "TOO_FEW_VERTICES", file="annotations/S00001.json")],
    )
    w = Waiver(
        code="MPP_MISSING",
        item="S0000*",
        reason="no resolution",
        approved_by="QA",
        expires=dt.date(2999, 1, 1),
    )
    result = with_waivers(delivered.model_copy(update={"redelivery": d}), [w], "w.yaml")
    seoul = lot_items(result, "institution", "Seoul-A")
    rows = {r.code: r for r in fix_rows(result, seoul)}
    assert rows["SELF_INTERSECTION"].status == "still there" and rows["CLINICAL_BAD_DATE"].status == "new"
    assert rows["MPP_MISSING"].waiver.startswith(
        "waived: MPP_MISSING on S0000* (no resolution; approved by QA"
    )
    assert [r.item for r in fixed_rows(result, seoul)] == ["S00000"]
    page = render_fixlist_html(
        result, fix_rows(result, seoul), fixed_rows(result, seoul), "Seoul-A", "institution"
    )
    assert "1 fixed, 3 still there, 1 new" in page and 'data-fixed="TOO_FEW_VERTICES"' in page


def test_the_command_writes_a_masked_fix_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DQM_MASK_KEY", "a test key of at least 16 characters")
    found = [finding("S00000", "CLASS_UNKNOWN", file=f"annotations/S{RRN}.json", message=f"patient {RRN}")]
    result = make_result(4, found, path=str(tmp_path / "batch"))
    results = tmp_path / "results.json"
    result.dump(results)  # with its digest: a result of 1.10 or later without one is refused
    out = tmp_path / "fix"
    res = runner.invoke(app, ["fixlist", str(results), "--lot", "Seoul-A", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "1 findings (1 errors not waived) in 1 files" in res.output
    for name in ("fixlist.html", "fixlist.csv"):
        text = (out / name).read_text(encoding="utf-8")
        assert RRN not in text and "[KOREAN_RRN-" in text and "CLASS_UNKNOWN" in text
    res = runner.invoke(app, ["fixlist", str(results), "--lot", "Nowhere", "--out", str(out)])
    assert res.exit_code == 2 and "lots by institution: Busan-B, Seoul-A" in res.output
    res = runner.invoke(
        app, ["fixlist", str(results), "--lot-by", "vendor", "--lot", "A", "--out", str(tmp_path / "x")]
    )
    assert res.exit_code == 2 and "carry no field 'vendor'" in res.output
    (tmp_path / "batch").mkdir()
    res = runner.invoke(app, ["fixlist", str(results), "--out", str(tmp_path / "batch" / "fix")])
    assert res.exit_code == 2 and "outside the batch folder" in res.output


def test_the_fix_list_is_written_in_the_reports_language(delivered: QualityResult) -> None:
    """With --lang ko: headings, columns, places, statuses and messages in Korean; the raw status
    and severity stay in the rows (counted, styled) and codes stay as they are."""
    from dqm.delivery import Waiver

    d = Redelivery(
        baseline="old/results.json",
        baseline_fingerprint="ef" * 32,
        baseline_created="2025-01-01T00:00:00+00:00",
        still_there=[0, 1, 2],
        new=[3, 4, 5],
        fixed=[finding("S00000", "TOO_FEW_VERTICES", file="annotations/S00000.json")],
    )
    w = Waiver(code="MPP_MISSING", item="S0000*", reason="r", approved_by="QA", expires=dt.date(2999, 1, 1))
    result = with_waivers(delivered.model_copy(update={"redelivery": d}), [w], "w.yaml")
    seoul = lot_items(result, "institution", "Seoul-A")
    rows = {r.code: r for r in fix_rows(result, seoul, "ko")}
    assert rows["SELF_INTERSECTION"].status == "still there"  # raw: counted and styled
    assert rows["SELF_INTERSECTION"].where == "/lesions/2/geometry 꼭짓점 4"
    assert rows["CLINICAL_BAD_DATE"].where == "3번째 행 열 acquired_on"
    assert rows["MPP_MISSING"].waiver.startswith("면제됨: MPP_MISSING on S0000* (r; 승인자 QA")
    page = render_fixlist_html(
        result, fix_rows(result, seoul, "ko"), fixed_rows(result, seoul, "ko"), "Seoul-A", "institution", "ko"
    )
    assert '<html lang="ko">' in page and "수정 목록: institution Seoul-A" in page
    assert "수정됨 1건, 남아 있음 3건, 새로 발생 1건" in page and "파일 내 위치" in page
    assert 'data-status="still there">남아 있음<' in page and ">오류<" in page
    assert "Fix list" not in page and "where in the file" not in page
    table = list(csv.reader(io.StringIO(render_fixlist_csv(list(rows.values()), "ko"))))
    assert table[0][:3] == ["파일", "슬라이드", "심각도"] and {r[2] for r in table[1:]} <= {
        "오류",
        "경고",
        "참고",
    }
    english = render_fixlist_html(result, fix_rows(result, seoul), [], "Seoul-A", "institution")
    assert "Fix list: institution Seoul-A" in english and "남아" not in english
