"""Very large results: above the findings cap report.html aggregates them and findings.csv.gz, part
of the output set, holds every finding (spreadsheet-safe, masked)."""

from __future__ import annotations

import csv
import gzip
import io
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.cli import app
from dqm.identifiers import DeidSettings, Masker
from dqm.output import from_spreadsheet
from reports import write_outputs
from reports.findings_cap import FINDINGS_SIDECAR, SIDECAR_COLUMNS, WORST_ROWS, findings_csv
from reports.html import render_html, unpack_island
from tests.reports.conftest import PLANT, finding, make_result, parse_html
from tests.reports.test_browser import CHROMIUM, browser, planted_result  # noqa: F401 (a fixture)

RRN = "900101-1234567"
FORMULA = '=HYPERLINK("http://x","y")'


def many_findings():
    """121 findings over 20 slides: slide S00003 the worst (most errors), one with a formula,
    coordinates and a planted script in its message and file."""
    fs = [
        finding(f"S{i % 20:05d}", code, sev, message=PLANT, file=f"a/{PLANT}.json")
        for i in range(60)
        for code, sev in (("SELF_INTERSECTION", "error"), ("MPP_MISSING", "warning"))
    ]
    fs += [finding("S00003", "SELF_INTERSECTION", message=FORMULA, xy=(1.5, -2.0), lesion=4, vertex=7)]
    return fs


def read_sidecar(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(gzip.decompress(data).decode("utf-8"))))


def test_below_the_cap_the_report_holds_every_finding_and_no_aggregate():
    r = make_result(findings=many_findings())
    html = render_html(r, findings_cap=len(r.findings))
    doc = parse_html(html)
    assert not doc.find_all(id="findings-aggregated") and "Example slides" not in html
    assert len(unpack_island(doc.by_id("dqm-data").text)["findings"]["rows"]) == len(r.findings)
    assert html == render_html(r, findings_cap=None) == render_html(r)


def test_above_the_cap_findings_are_aggregated_and_the_explorer_holds_the_worst_slides():
    r = make_result(findings=many_findings())
    doc = parse_html(render_html(r, findings_cap=30))
    note = doc.by_id("findings-cap-note").text
    assert "121 findings" in note and "cap of 30" in note and FINDINGS_SIDECAR in note
    rows = unpack_island(doc.by_id("dqm-data").text)["findings"]["rows"]
    strings = unpack_island(doc.by_id("dqm-data").text)["strings"]
    slides = [strings[row[0]] for row in rows]
    assert 0 < len(rows) <= 30 and slides[0] == "S00003"
    # whole slides only: each slide in the explorer has all its findings there
    for slide in set(slides):
        assert slides.count(slide) == sum(f.item_id == slide for f in r.findings)
    assert doc.by_id("findings-total").text == f"({len(rows)} of 121)"
    section = doc.by_id("findings-aggregated")
    institutions = section.find_all("table")[0].find_all("tr")[1:]
    assert sorted(tr.find_all("td")[0].text for tr in institutions) == ["Busan-B", "Seoul-A"]
    errors = sum(int(tr.find_all("td")[3].text) for tr in institutions)
    assert errors == sum(f.severity == "error" for f in r.findings)
    worst = section.find_all("table")[1].find_all("tr")[1:]
    assert worst[0].find_all("td")[0].text == "S00003" and len(worst) == min(WORST_ROWS, 20)
    examples = doc.find_all("table", **{"class": "codes-table"})[0].find_all("tr")[1]
    assert examples.find_all("a", **{"class": "item-link"})


def test_aggregated_report_escapes_batch_strings():
    fs = [finding(PLANT, "SELF_INTERSECTION", message=PLANT) for _ in range(5)]
    html = render_html(make_result(findings=fs), findings_cap=2)
    assert "<script>window.__pwned" not in html and 'onerror="window' not in html
    assert parse_html(html).find_all(id="findings-aggregated")


def test_sidecar_holds_every_finding_spreadsheet_safe():
    r = make_result(findings=many_findings())
    rows = list(csv.reader(io.StringIO(findings_csv(r))))
    assert tuple(rows[0]) == SIDECAR_COLUMNS and len(rows) == 1 + len(r.findings)
    table = [dict(zip(SIDECAR_COLUMNS, row, strict=True)) for row in rows[1:]]
    formula = [t for t in table if t["message"].startswith("'=")]
    assert len(formula) == 1 and from_spreadsheet(formula[0]["message"]) == FORMULA
    assert (formula[0]["x"], formula[0]["y"], formula[0]["lesion"], formula[0]["vertex"]) == (
        "1.5",
        "-2.0",
        "4",
        "7",
    )
    assert not [cell for t in table for cell in t.values() if cell[:1] in ("=", "+", "@")]
    assert {t["institution"] for t in table} == {"Seoul-A", "Busan-B"}
    assert [(t["item"], t["code"], t["severity"]) for t in table] == [
        (f.item_id, f.code, f.severity.value) for f in r.findings
    ]


def test_write_outputs_adds_the_sidecar_above_the_cap_and_removes_a_stale_one(tmp_path: Path):
    r = make_result(findings=many_findings())
    out = tmp_path / "out"
    paths = write_outputs(r, out, findings_cap=30)
    assert paths["findings"] == out / FINDINGS_SIDECAR
    assert len(read_sidecar(paths["findings"].read_bytes())) == len(r.findings)
    paths = write_outputs(r, out)
    assert "findings" not in paths and not (out / FINDINGS_SIDECAR).exists()
    assert not [p for p in tmp_path.iterdir() if p.name != "out"]  # no staging folder left


def test_sidecar_is_masked(tmp_path: Path):
    mask = Masker(DeidSettings(), b"k" * 32)
    fs = [finding(f"S{RRN}", "SELF_INTERSECTION", message=f"RRN {RRN}", file=f"{RRN}.json") for _ in range(3)]
    r = make_result(findings=fs)
    paths = write_outputs(r, tmp_path / "out", mask, findings_cap=1)
    raw = paths["findings"].read_bytes()
    assert raw[:2] == b"\x1f\x8b"
    table = read_sidecar(raw)
    assert len(table) == 3 and all("[KOREAN_RRN-" in t["item"] and "[KOREAN_RRN-" in t["file"] for t in table)
    assert RRN not in gzip.decompress(raw).decode("utf-8") and "1234567" not in gzip.decompress(raw).decode()


@pytest.mark.parametrize("cap", ["2", "1000"])
def test_dqm_report_takes_the_cap(tmp_path: Path, cap: str):
    r = make_result(findings=many_findings())
    results = tmp_path / "results.json"
    r.dump(results)  # with its digest: a result of 1.10 or later without one is refused
    html = tmp_path / "view" / "report.html"
    res = CliRunner().invoke(app, ["report", str(results), "-o", str(html), "--report-findings-cap", cap])
    assert res.exit_code == 0, res.output
    sidecar = html.parent / FINDINGS_SIDECAR
    aggregated = bool(parse_html(html.read_text(encoding="utf-8")).find_all(id="findings-aggregated"))
    assert aggregated == sidecar.exists() == (cap == "2")
    if aggregated:
        assert len(read_sidecar(sidecar.read_bytes())) == len(r.findings)


def test_above_the_slides_cap_the_slides_explorer_lists_the_slides_with_findings():
    r = make_result(findings=many_findings())  # 20 slides, all with findings
    r = r.model_copy(update={"items": [*r.items, *make_result(n_items=40).items[20:]]})
    doc = parse_html(render_html(r, slides_cap=25))
    data = unpack_island(doc.by_id("dqm-data").text)
    listed = [data["strings"][row[0]] for row in data["items"]["rows"]]
    assert listed == [f"S{i:05d}" for i in range(20)]
    assert "40 slides" in doc.by_id("slides-cap-note").text
    assert len(data["findings"]["rows"]) == len(r.findings)  # the findings are under their cap
    doc = parse_html(render_html(r, slides_cap=10))
    data = unpack_island(doc.by_id("dqm-data").text)
    listed = [data["strings"][row[0]] for row in data["items"]["rows"]]
    assert (
        len(listed) == 10
        and "S00003" in listed
        and "10 slides with findings" in doc.by_id("slides-cap-note").text
    )
    assert not parse_html(render_html(r, slides_cap=40)).find_all(id="slides-cap-note")


@pytest.mark.browser
@pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason=f"{CHROMIUM} not installed (make browser)")
def test_a_capped_report_opens_in_chromium_and_links_to_the_worst_slides(browser, tmp_path: Path):  # noqa: F811
    page_file = tmp_path / "report.html"
    page_file.write_text(render_html(planted_result(), findings_cap=50, slides_cap=30), encoding="utf-8")
    pg = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    pg.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    pg.on("pageerror", lambda e: problems.append(str(e)))
    pg.goto(page_file.as_uri())
    pg.wait_for_selector("html[data-ready='1']", state="attached", timeout=30_000)
    assert pg.evaluate("window.__pwned") is None
    assert pg.locator("#findings-body tr").count() > 0
    first = pg.locator("#findings-aggregated table.worst-table a.item-link").first
    slide = first.inner_text()
    first.click()
    pg.wait_for_selector("#items-body tr.target", timeout=10_000)
    assert pg.locator("#items-body tr.target td").first.inner_text() == slide
    pg.close()
    assert problems == []


def test_the_aggregated_report_in_korean():
    r = make_result(n_items=40, findings=many_findings())
    doc = parse_html(render_html(r, lang="ko", findings_cap=30, slides_cap=30))
    assert (
        "발견 사항" in doc.by_id("findings-cap-note").text and "121건" in doc.by_id("findings-cap-note").text
    )
    assert "40장" in doc.by_id("slides-cap-note").text
