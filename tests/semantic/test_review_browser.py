"""The review sheet in a real headless Chromium: load, mark slides, reload, export, ingest the export.

Needs Debian's ``chromium`` at /usr/bin/chromium (``make browser`` installs it); never downloads a
browser. The batch is a copy of the clean synthetic batch with hostile text in its manifest, to
show that nothing from the batch runs as markup or script in the sheet.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.cli import app
from tests.helpers import CHROMIUM, launch_chromium

HOSTILE_ID = '<img src=x onerror="window.__xss=1">'
HOSTILE_SCANNER = "</script><script>window.__xss=2</script>"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.is_file(), reason="needs Debian's chromium at /usr/bin/chromium (make browser)"
    ),
]

runner = CliRunner()


@pytest.fixture(scope="module")
def sheet(sampled_review: Callable[..., tuple[Path, Path]]) -> Path:
    """Every slide of a hostile copy of the clean batch drawn (precision plan, margin 1 %)."""

    def hostile(rows: list[dict[str, str]]) -> None:
        rows[0]["slide_id"] = HOSTILE_ID
        rows[0]["scanner"] = HOSTILE_SCANNER
        rows[1]["slide_id"] = "__proto__"  # must be stored as a plain key, not set an object's prototype

    return sampled_review(hostile)[0]


def test_review_export_and_ingest(sheet: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    plan = json.loads((sheet / "review_plan.json").read_text())
    n = plan["sample_size"]
    assert n == plan["lot_size"] == 14
    html = (sheet / "review.html").read_text()
    assert HOSTILE_SCANNER not in html and "<img src=x" not in html  # escaped in the file itself
    island = html.split('<script type="application/json" id="sheet-data">', 1)[1].split("</script>", 1)[0]
    hostile_entry = next(s for s in json.loads(island)["slides"] if s["id"] == HOSTILE_ID)
    problems: list[str] = []
    with sync_playwright() as p:
        browser = launch_chromium(p)
        context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(sheet.joinpath("review.html").as_uri())

        # the reviewer's name is asked once
        assert page.is_visible("#name-dialog")
        page.fill("#name-input", "Dr. Kim")
        page.click("#name-ok")
        assert not page.is_visible("#name-dialog")

        # slide 1: PASS by button; slide 2: FAIL by keyboard with reason 1 and a comment; slide 3: PASS by key
        first = page.text_content("#slide-title")
        page.click("#btn-pass")
        page.keyboard.press("j")
        page.keyboard.press("f")
        page.keyboard.press("1")
        page.keyboard.press("c")
        page.keyboard.type('says BCC, is SCC; "quoted"')
        page.keyboard.press("Escape")
        page.keyboard.press("ArrowRight")
        page.keyboard.press("p")
        page.keyboard.press("+")
        view_box = page.get_attribute("#canvas", "viewBox")
        page.keyboard.press("0")
        assert page.get_attribute("#canvas", "viewBox") != view_box  # zoomed, then fitted again
        assert page.text_content("#progress-text") == f"3 / {n}"

        # progress survives a reload (localStorage); the name is not asked again
        page.reload()
        assert not page.is_visible("#name-dialog")
        assert page.text_content("#progress-text") == f"3 / {n}"
        assert page.get_attribute("#btn-pass", "aria-pressed") == "true"  # back on slide 3

        # hostile batch text is shown as text, never run
        assert page.evaluate("window.__xss") is None
        hostile_button = page.locator("#slide-list button", has_text="onerror")
        assert hostile_button.text_content() == HOSTILE_ID
        hostile_button.click()
        assert HOSTILE_ID in (page.text_content("#slide-title") or "")
        assert HOSTILE_SCANNER in (page.text_content("#facts") or "")
        assert page.evaluate("window.__xss") is None
        assert page.locator("#canvas image").count() == 1  # the thumbnail is drawn (data: URI allowed)
        assert page.locator("#canvas path.outline").count() == len(hostile_entry["shapes"])

        # a second reviewer on the same computer starts afresh; switching back restores the first
        page.click("#change-name")
        page.fill("#name-input", "Dr. Lee")
        page.click("#name-ok")
        assert page.text_content("#progress-text") == f"0 / {n}"
        page.click("#change-name")
        page.fill("#name-input", "Dr. Kim")
        page.click("#name-ok")
        assert page.text_content("#progress-text") == f"3 / {n}"
        page.locator("#slide-list button", has_text="__proto__").click()
        page.keyboard.press("p")
        assert page.text_content("#progress-text") == f"4 / {n}"

        with page.expect_download() as json_download:
            page.click("#export-json")
        json_path = tmp_path / "kim.json"
        json_download.value.save_as(json_path)
        with page.expect_download() as csv_download:
            page.keyboard.press("Escape")
            page.click("#export-csv")
        csv_path = tmp_path / "kim.csv"
        csv_download.value.save_as(csv_path)
        context.close()
        browser.close()
    assert not problems, problems  # no script error, no CSP violation

    exported = json.loads(json_path.read_text())
    assert exported["plan_id"] == plan["plan_id"] and exported["reviewer"] == "Dr. Kim"
    by_id = {v["slide_id"]: v for v in exported["verdicts"]}
    assert (
        len(by_id) == 4 and "__proto__" in by_id and first and first.endswith(plan["sample"][0]["slide_id"])
    )
    fail = [v for v in by_id.values() if v["verdict"] == "fail"]
    assert (
        len(fail) == 1
        and fail[0]["reason"] == "wrong_class"
        and fail[0]["comment"] == 'says BCC, is SCC; "quoted"'
    )

    for path in (json_path, csv_path):
        out = tmp_path / f"sem-{path.suffix[1:]}"
        res = runner.invoke(app, ["review", "ingest", "--plan", str(sheet), str(path), "--out", str(out)])
        assert res.exit_code == 3, res.output  # incomplete: 10 slides to go
        sem = json.loads((out / "semantic.json").read_text())
        assert (sem["n_reviewed"], sem["n_pass"], sem["remaining"], sem["reviewers"]) == (
            4,
            3,
            n - 4,
            ["Dr. Kim"],
        )
        assert sem["fail_reasons"]["wrong_class"] == 1
        assert not [f for f in sem["findings"] if f["severity"] != "info"], sem["findings"]
