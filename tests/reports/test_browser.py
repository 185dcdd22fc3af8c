"""The report in a real headless Chromium (Debian's, driven by Playwright; never downloaded).

Set DQM_SCREENSHOTS=DIR to keep the screenshots for a person to look at.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from reports.html import render_html
from tests.reports.conftest import PLANT, as_core, finding, make_result, semantic

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason=f"{CHROMIUM} not installed (make browser)"),
]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def planted_result():
    """300 findings over 60 slides, with a script planted in a class name, an institution, a
    clinical value, a message and a file name."""
    codes = ["SELF_INTERSECTION", "HOLE_OUTSIDE_SHELL", "MPP_MISSING"]
    fs = []
    for i in range(300):
        code = codes[i % 3]
        sev, aspect = ("warning", "image") if code == "MPP_MISSING" else ("error", "format")
        fs.append(
            finding(
                f"S{i % 60:05d}",
                code,
                severity=sev,
                aspect=aspect,
                file=f"annotations/S{i % 60:05d}.json",
                message=f"{code} number {i}",
            )
        )
    fs.append(finding("S00007", "SELF_INTERSECTION", message=PLANT, file=f"x/{PLANT}.json"))
    return make_result(
        n_items=60,
        findings=fs,
        files_ok=80,
        diagnosis=PLANT,
        institution=f"inst {PLANT}",
        clinical={"age": PLANT, "sex": "F"},
        semantic=semantic(),
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "report.html"
    out.write_text(render_html(planted_result()), encoding="utf-8")
    return out


@pytest.fixture
def page(browser, report):
    pg = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    pg.on(
        "console",
        lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None,
    )
    pg.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    pg.add_init_script(
        "document.addEventListener('securitypolicyviolation',"
        " e => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    pg.goto(report.as_uri())
    pg.wait_for_selector("html[data-ready='1']", state="attached", timeout=30_000)
    yield pg
    pg.close()
    assert problems == [], problems


def rows(pg) -> list[list[str]]:
    return pg.eval_on_selector_all(
        "#findings-body tr", "trs => trs.map(tr => [...tr.cells].map(td => td.textContent))"
    )


def test_loads_without_errors_and_planted_scripts_stay_text(page, tmp_path):
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#verdict").inner_text() == "NOT CERTIFIED"
    assert page.evaluate("document.querySelectorAll('script').length") == 2
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    # the class name and the clinical value, as text, in the slides table and the class filter
    cells = page.eval_on_selector_all("#items-body td", "tds => tds.map(td => td.textContent)")
    assert PLANT in cells and f"age {PLANT} · sex F" in cells and f"inst {PLANT}" in cells
    options = page.eval_on_selector_all("#f-class option", "os => os.map(o => o.textContent)")
    assert PLANT in options
    # the message and the file name in the findings table
    page.fill("#f-search", "x/<script>")
    page.dispatch_event("#f-search", "change")
    found = rows(page)
    assert [r[3] for r in found] == [PLANT] and found[0][4] == f"x/{PLANT}.json"
    shot = tmp_path / "report.png"
    page.fill("#f-search", "")
    page.dispatch_event("#f-search", "change")
    page.screenshot(path=str(shot))
    keep = os.environ.get("DQM_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(Path(keep) / "report-top.png"))
        page.fill("#f-search", "x/<script>")
        page.dispatch_event("#f-search", "change")
        page.locator("#findings").screenshot(path=str(Path(keep) / "report-planted-finding.png"))
        page.fill("#i-search", "pwned")
        page.dispatch_event("#i-search", "change")
        page.locator("#items-section").screenshot(path=str(Path(keep) / "report-planted-slides.png"))
    img = Image.open(shot).convert("RGB")
    assert img.size == (1280, 900) and len(img.getcolors(1 << 20) or []) > 50  # not a blank page
    badge = tmp_path / "badge.png"
    page.locator("#verdict").screenshot(path=str(badge))
    red = [
        c
        for n, c in Image.open(badge).convert("RGB").getcolors(1 << 16)
        if c[0] > 150 and c[1] < 80 and c[2] < 80
    ]
    assert red, "the NOT CERTIFIED badge is drawn in red"


def test_filters_work(page):
    assert "1–100 of 301 findings" in page.inner_text("#shown")
    page.select_option("#f-code", label="MPP_MISSING")
    got = rows(page)
    assert len(got) == 100 and {r[2] for r in got} == {"MPP_MISSING"}
    assert "of 100 findings (filtered from 301)" in page.inner_text("#shown")
    page.select_option("#f-severity", label="error")
    assert rows(page) == [] and page.inner_text("#shown").startswith("0–0 of 0 findings")
    page.click("#f-reset")
    page.click("#code-chips button[data-code]:has-text('HOLE_OUTSIDE_SHELL')")
    got = rows(page)
    assert {r[2] for r in got} == {"HOLE_OUTSIDE_SHELL"} and "of 100 findings" in page.inner_text("#shown")
    chips = page.eval_on_selector_all("#code-chips button", "bs => bs.map(b => b.textContent)")
    assert "SELF_INTERSECTION 101" in chips
    page.click("#f-reset")
    page.select_option("#f-institution", label="Busan-B")
    assert {r[0] for r in rows(page)} <= {f"S{i:05d}" for i in range(1, 60, 2)}
    page.click("#f-reset")
    page.fill("#f-file", "S00042.json")
    page.dispatch_event("#f-file", "change")
    assert {r[4] for r in rows(page)} == {"annotations/S00042.json"} and len(rows(page)) == 5
    page.click("#f-reset")
    page.click("#next")
    assert "101–200 of 301" in page.inner_text("#shown")


def test_a_finding_links_to_its_slide_row(page):
    page.click("#f-reset")
    page.click("#next")
    page.click("#next")  # the slide is on the second page of the slides table
    link = page.locator("#findings-body a.item-link", has_text="S00051").first
    link.click()
    page.wait_for_selector("#items-body tr.target")
    target = page.locator("#items-body tr.target")
    assert target.locator("td").first.inner_text() == "S00051"
    assert target.is_visible() and "page 2 of 2" in page.inner_text("#i-shown")
    box = target.bounding_box()
    assert box is not None and 0 <= box["y"] <= 900


def test_print_shows_the_certificate_not_the_explorers(page):
    page.emulate_media(media="print")
    assert page.locator("#verdict").is_visible() and page.locator("#gates").is_visible()
    assert not page.locator("#findings").is_visible() and not page.locator("#items-section").is_visible()
    assert page.locator("#codes").is_visible()


def test_report_pdf_is_printed_by_chromium(tmp_path):
    from typer.testing import CliRunner

    from dqm.cli import app

    results = tmp_path / "results.json"
    as_core(planted_result()).dump(results)
    out = tmp_path / "cert.html"
    res = CliRunner().invoke(app, ["report", str(results), "-o", str(out), "--pdf", "--chromium", CHROMIUM])
    assert res.exit_code == 0, res.output
    pdf = tmp_path / "cert.pdf"
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and data.count(b"/Type /Page") + data.count(b"/Type/Page") >= 2


def _glyph_pixels(page, text: str) -> bytes:
    """The pixels of ``text`` drawn on a canvas in the report's own font stack."""
    data = page.evaluate(
        """(text) => {
            const c = document.createElement("canvas"); c.width = 64; c.height = 64;
            const g = c.getContext("2d");
            g.font = "40px " + getComputedStyle(document.body).fontFamily;
            g.fillStyle = "#000"; g.fillText(text, 4, 48);
            return Array.from(g.getImageData(0, 0, 64, 64).data.filter((_, i) => i % 4 === 3));
        }""",
        text,
    )
    return bytes(data)


def test_korean_report_shows_hangul_glyphs_not_boxes(browser, tmp_path):
    path = tmp_path / "ko.html"
    path.write_text(render_html(planted_result(), lang="ko"), encoding="utf-8")
    pg = browser.new_page(viewport={"width": 1280, "height": 900})
    pg.goto(path.as_uri())
    assert pg.locator("#gates h2").inner_text() == "판정 수치"
    pg.wait_for_function("document.documentElement.dataset.ready === '1'")
    assert pg.locator("#shown").inner_text().startswith("발견 사항 301건 중 1–100")
    assert pg.locator("#i-shown").inner_text() == "슬라이드 60장, 2쪽 중 1쪽"
    missing = _glyph_pixels(pg, "\U0010fffd")  # no font has it: the box a missing glyph is drawn as
    ga, na = _glyph_pixels(pg, "가"), _glyph_pixels(pg, "나")
    assert any(ga) and ga != na and missing not in (ga, na), "Hangul is drawn as boxes: make browser"
    pg.close()


def test_korean_pdf_embeds_a_cjk_font(tmp_path):
    from typer.testing import CliRunner

    from dqm.cli import app

    results = tmp_path / "results.json"
    as_core(planted_result()).dump(results)
    out = tmp_path / "ko.html"
    args = ["report", str(results), "-o", str(out), "--pdf", "--chromium", CHROMIUM, "--lang", "ko"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    data = (tmp_path / "ko.pdf").read_bytes()
    # the fonts the PDF embeds (Chromium writes a CFF font such as Noto CJK as Type 3 glyph outlines,
    # named in its descriptor); without one, Hangul would be drawn as the fallback font's boxes
    fonts = {m.decode() for m in re.findall(rb"/FontName\s*/([A-Za-z0-9+_-]+)", data)}
    assert any("CJK" in f for f in fonts), f"no CJK font in the PDF ({sorted(fonts)}): make browser"


def test_worst_slide_shows_its_artefact_mask(browser, tmp_path):
    from dqm.results import QualityResult

    fixture = (
        Path(__file__).parents[1] / "fixtures" / "results" / "results-1.8.json"
    )  # the artefacts' version
    report = tmp_path / "report.html"
    report.write_text(render_html(QualityResult.load(fixture)), encoding="utf-8")
    pg = browser.new_page(viewport={"width": 1280, "height": 900})
    pg.goto(report.as_uri())
    pg.wait_for_selector("html[data-ready='1']", state="attached", timeout=30_000)
    figure = pg.locator("figure.thumb", has_text="PEN_MARKS")
    assert "pen" in [t.strip() for t in figure.locator(".legend-item").all_inner_texts()]
    shot = tmp_path / "thumb.png"
    figure.locator("img").screenshot(path=str(shot))
    keep = os.environ.get("DQM_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        figure.screenshot(path=str(Path(keep) / "report-artefact-thumbnail.png"))
    pg.close()
    colours = Image.open(shot).convert("RGB").getcolors(1 << 20) or []
    shaded = sum(n for n, (r, g, b) in colours if b > r + 60 and b > g + 20)  # the pen mark under its shade
    assert shaded > 50


def test_batch_effects_section_shows_its_warning_and_table(browser, profile, tmp_path):
    """A batch whose one institution was colour-shifted: the section is on screen, says warn and
    why, and its table is drawn (ink in its box, a row per set of descriptors)."""
    from dqm.diversity import diversity_result
    from tests.diversity.test_batch_effects import cohort

    d = diversity_result(cohort(shift={"e_od_r": 0.06, "e_od_b": -0.04}, scanners=True), profile)
    assert d.batch_effects is not None and d.batch_effects.pixel.decision == "warn"
    report = tmp_path / "report.html"
    report.write_text(render_html(make_result(n_items=20, diversity=d)), encoding="utf-8")
    pg = browser.new_page(viewport={"width": 1280, "height": 900})
    pg.goto(report.as_uri())
    pg.wait_for_selector("html[data-ready='1']", state="attached", timeout=30_000)
    heading = pg.locator("#batch-effects")
    heading.scroll_into_view_if_needed()
    assert heading.is_visible() and heading.inner_text() == "Stain and scanner batch effects"
    readings = pg.locator("#batch-effects ~ ul.readings").first
    pixel = readings.locator("li", has_text="stain descriptors")
    assert pixel.locator("span.warn").inner_text() == "warn"
    assert "batch effect" in pixel.inner_text() and "Daegu-C" in pixel.inner_text()
    table = pg.locator("table.batch-effects")
    assert table.is_visible()
    cells = table.locator("tbody tr").evaluate_all(
        "trs => trs.map(tr => [...tr.cells].map(td => td.textContent))"
    )
    assert [row[0] for row in cells] == ["stain descriptors", "acquisition metadata"]
    assert all(re.fullmatch(r"0\.\d+|1(\.0+)?", row[4]) for row in cells), cells  # the AUCs
    shots = {name: tmp_path / f"{name}.png" for name in ("readings", "table")}
    readings.screenshot(path=str(shots["readings"]))
    table.screenshot(path=str(shots["table"]))
    keep = os.environ.get("DQM_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        readings.screenshot(path=str(Path(keep) / "report-batch-effects-readings.png"))
        table.screenshot(path=str(Path(keep) / "report-batch-effects-table.png"))
    warn_colour = pixel.locator("span.warn").evaluate("e => getComputedStyle(e).color")
    pg.close()
    grey = np.asarray(Image.open(shots["table"]).convert("L"))
    assert (grey < 128).mean() > 0.01, "the table's box is (nearly) blank"
    r, g, b = (int(v) for v in re.findall(r"\d+", warn_colour)[:3])
    colours = Image.open(shots["readings"]).convert("RGB").getcolors(1 << 20) or []
    assert sum(n for n, c in colours if c == (r, g, b)) > 10, "the warn mark is not drawn in its colour"
