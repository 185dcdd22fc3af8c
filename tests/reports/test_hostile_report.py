"""A hostile batch's outputs (red team, session 28): markup, ``javascript:``, bidi controls, a
10^5-character cell and a resident registration number (RRN) in an institution, a class name and
a file name. The report keeps them as escaped, masked text: no element, attribute or URL from the
batch, no RRN in the HTML, its data island, the JUnit file or the PDF's text."""

from __future__ import annotations

import base64
import csv
import gzip
import json
import os
import re
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.cli import app

RRN = "900101-1234567"
SCRIPT = '<script>window.__pwned=1</script>"onerror=window.__pwned=2 '
BIDI = "\u202e"
LONG = "H" * 100_000


def hostile_batch(root: Path) -> Path:
    """Three synthetic slides, their manifest and annotations edited to carry the payloads."""
    from dqm.synth import build_batch

    batch = root / "hostile"
    build_batch(batch, 3, seed=5, defect_rate=0.0, max_size=512)
    with (batch / "manifest.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    first, second = rows[0], rows[1]
    first["institution"] = f"{SCRIPT}{RRN}"
    first["scanner"] = "javascript:window.__pwned=4"
    second["institution"] = "<img src=x onerror=window.__pwned=3>"
    second["site"] = f"trunk{BIDI}gnp.exe"
    second["stain"] = LONG
    # a file name with markup and an RRN; the first slide's class name likewise
    old = batch / second["annotation_path"]
    name = f'annotations/<b>x"onerror=window.__pwned=6 {RRN}.json'
    old.rename(batch / name)
    second["annotation_path"] = name
    ann = batch / first["annotation_path"]
    doc = json.loads(ann.read_text(encoding="utf-8"))
    doc["lesions"][0]["class"] = f"<svg onload=window.__pwned=5>{RRN}"
    ann.write_text(json.dumps(doc), encoding="utf-8")
    with (batch / "manifest.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(first))
        w.writeheader()
        w.writerows(rows)
    return batch


@pytest.fixture(scope="module")
def hostile_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    out = root / "out"
    res = CliRunner().invoke(
        app, ["audit", str(hostile_batch(root)), "--out", str(out), "--stages", "syntactic", "-j", "1"]
    )
    assert res.exit_code in (0, 1), res.output
    assert RRN not in res.output
    return out


class _Parsed(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        (self.scripts if self._in_script else self.text).append(data)


def _islands(html: str) -> list[str]:
    """Every base64 gzip data island the report carries, decoded."""
    found = []
    for blob in re.findall(r"[A-Za-z0-9+/]{200,}={0,2}", html):
        try:
            found.append(gzip.decompress(base64.b64decode(blob)).decode("utf-8"))
        except (OSError, ValueError):
            continue
    return found


def test_the_report_has_no_element_attribute_url_or_rrn_from_the_batch(hostile_out: Path) -> None:
    html = (hostile_out / "report.html").read_text(encoding="utf-8")
    parsed = _Parsed()
    parsed.feed(html)
    tags = [t for t, _ in parsed.tags]
    assert tags.count("script") == 2  # dqm's own two
    assert not {"iframe", "object", "embed", "b"} & set(tags), sorted(set(tags))
    # dqm's own images are data: URLs (the worst slide's thumbnail); the batch's <img src=x> is text
    assert all((dict(a).get("src") or "").startswith("data:image/") for t, a in parsed.tags if t == "img")
    for tag, attrs in parsed.tags:
        for key, value in attrs:
            assert not key.startswith("on"), (tag, key, value)
            assert not (value or "").strip().lower().startswith("javascript:"), (tag, key, value)
            assert "__pwned" not in (value or ""), (tag, key, value)
    assert "__pwned" not in "".join(parsed.scripts)
    text = "".join(parsed.text)
    # the payloads are shown as text, the RRN masked, the bidi control gone
    assert "<script>window.__pwned=1</script>" in text and "<img src=x onerror=window.__pwned=3>" in text
    assert RRN not in html and "1234567" not in text and BIDI not in html
    assert "[KOREAN_RRN-" in text, "the institution's RRN is shown masked"
    islands = _islands(html)
    assert islands, "the report's data island was decoded"
    assert not [i for i in islands if RRN in i or BIDI in i]
    joined = "".join(islands)
    assert "<svg onload=window.__pwned=5>[KOREAN_RRN-" in joined  # the class name, masked
    assert "90************" in joined  # the manifest cell's finding quotes it masked
    assert len(html) < 20 * len(LONG)  # the long cell is not repeated without bound


def test_results_junit_and_summary_hold_no_rrn(hostile_out: Path) -> None:
    for name in ("results.json", "junit.xml", "summary.md"):
        data = (hostile_out / name).read_text(encoding="utf-8")
        assert RRN not in data, name
        assert name == "results.json" or BIDI not in data, name  # results.json keeps the cell as data
    assert "<script>" not in (hostile_out / "junit.xml").read_text(encoding="utf-8")


CHROMIUM = "/usr/bin/chromium"


@pytest.mark.browser
@pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason=f"{CHROMIUM} not installed (make browser)")
def test_the_hostile_report_runs_no_script_and_its_pdf_is_printed(hostile_out: Path) -> None:
    """In a real Chromium: every payload would set ``window.__pwned``; it stays undefined. The PDF
    printed from the same results shows the masked token, never the RRN."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = b.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto((hostile_out / "report.html").as_uri())
            page.wait_for_selector("html[data-ready='1']", state="attached", timeout=30_000)
            page.fill("#i-search", "pwned")  # the slides table shows the hostile rows
            page.dispatch_event("#i-search", "change")
            assert page.evaluate("window.__pwned") is None
            assert page.evaluate("document.querySelectorAll('script').length") == 2
            assert errors == []
        finally:
            b.close()
    pdf = hostile_out / "hostile.html"
    res = CliRunner().invoke(
        app, ["report", str(hostile_out / "results.json"), "-o", str(pdf), "--pdf", "--chromium", CHROMIUM]
    )
    assert res.exit_code == 0, res.output
    data = (hostile_out / "hostile.pdf").read_bytes()
    assert data.startswith(b"%PDF-") and RRN.encode() not in data
    text = pdf_text(data)
    assert "NOT CERTIFIED" in text and "KOREAN_RRN" in text  # the decoding reads the page's text
    assert "1234567" not in text and "900101-" not in text


def _pdf_stream(body: bytes) -> bytes:
    found = re.search(rb"stream\r?\n(.*)endstream", body, re.S)
    if found is None:
        return b""
    return zlib.decompress(found.group(1)) if b"FlateDecode" in body else found.group(1)


def _to_unicode(cmap: bytes) -> dict[int, str]:
    out: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", cmap, re.S):
        for a, b in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            out[int(a, 16)] = bytes.fromhex(b.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", cmap, re.S):
        for a, b, c in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            base = bytes.fromhex(c.decode()).decode("utf-16-be")
            for i in range(int(a, 16), int(b, 16) + 1):
                out[i] = base[:-1] + chr(ord(base[-1]) + i - int(a, 16))
    return out


def pdf_text(data: bytes) -> str:
    """The text Chromium's PDF shows: each content stream's 2-byte glyph codes (``Tj``, ``TJ``) read
    through the ToUnicode map of the font its ``Tf`` selects (no PDF library in the environment)."""
    objs = {int(m.group(1)): m.group(2) for m in re.finditer(rb"(\d+) 0 obj(.*?)endobj", data, re.S)}
    fonts = {}
    for n, body in objs.items():
        ref = re.search(rb"/ToUnicode (\d+) 0 R", body)
        if ref:
            fonts[n] = _to_unicode(_pdf_stream(objs[int(ref.group(1))]))
    names: dict[bytes, int] = {}
    for body in objs.values():
        for block in re.findall(rb"/Font\s*<<(.*?)>>", body, re.S):
            names.update((k, int(v)) for k, v in re.findall(rb"/(\w+) (\d+) 0 R", block))
    out: list[str] = []
    for body in objs.values():
        if b"stream" not in body or b"/ToUnicode" in body:
            continue
        try:
            content = _pdf_stream(body)
        except zlib.error:
            continue
        font: dict[int, str] = {}
        for tok in re.finditer(rb"/(\w+)\s+[\d.]+\s+Tf|\[(.*?)\]\s*TJ|<([0-9A-Fa-f]*)>\s*Tj", content, re.S):
            if tok.group(1):
                font = fonts.get(names.get(tok.group(1), -1), {})
                continue
            hexes = (
                re.findall(rb"<([0-9A-Fa-f]*)>", tok.group(2)) if tok.group(2) is not None else [tok.group(3)]
            )
            out.extend(font.get(int(h[i : i + 4], 16), "?") for h in hexes for i in range(0, len(h), 4))
        out.append("\n")
    return "".join(out)
