"""Names that display as something else: a right-to-left override (U+202E), an isolate (U+2066) or a
zero-width space (U+200B) in a slide id, a file name, a class name and so in a finding's text.

``evil\\u202egpj.svs`` displays as ``evilsvs.jpg``; ``S1\\u200b`` looks like ``S1``. Every output a
person reads (report.html and its explorers, summary.md, junit.xml, fixlist.html / .csv, the
diff's Markdown) shows such a character as its escape (``\\u202e``), as the console does;
results.json is data and keeps the true names, each such character written as a JSON escape
(the file read as text shows ``\\u202e`` too). Korean text is shown as it is.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.cli import app
from reports.html import unpack_island
from tests.helpers import write_tiny_batch

runner = CliRunner()
HIDDEN = ("\u202e", "\u2066", "\u200b")
SLIDE = "evil\u202egpj\u200b"
ANNOTATION = "annotations/evil\u202egpj\u2066.json"
CLASS = "B\u202eC\u2066C\u200b"
HOSPITAL = "서울대학교병원"


def _shown(text: str) -> str:
    return text.replace("\u202e", "\\u202e").replace("\u2066", "\\u2066").replace("\u200b", "\\u200b")


def _audit(root: Path, out: Path) -> None:
    res = runner.invoke(app, ["audit", str(root), "--out", str(out), "--workers", "1"])
    assert res.exit_code == 1, res.output  # the tiny batch's own defects fail it


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The tiny batch audited as delivered, and again with a fourth slide whose id, file names
    and class name hold the hidden characters, from a Korean hospital."""
    tmp = tmp_path_factory.mktemp("bidi")
    before = write_tiny_batch(tmp / "before")
    _audit(before, tmp / "out-before")
    root = tmp / "batch"
    shutil.copytree(before, root)
    image = "slides/evil\u202egpj.png"
    shutil.copy(root / "slides" / "S1.png", root / image)
    doc = json.loads((root / "annotations" / "S1.json").read_text(encoding="utf-8"))
    doc["lesions"][0]["class"] = CLASS
    (root / ANNOTATION).write_text(json.dumps(doc), encoding="utf-8")
    with (root / "manifest.csv").open("a", encoding="utf-8") as fh:
        fh.write(f"{SLIDE},{image},{ANNOTATION},{HOSPITAL},BCC,60,M,trunk\n")
    _audit(root, tmp / "out")
    return tmp / "out-before", tmp / "out"


def _no_hidden(text: str) -> None:
    assert not any(c in text for c in HIDDEN)


def test_the_report_shows_hidden_characters_as_escapes(audited: tuple[Path, Path]) -> None:
    out = audited[1]
    page = (out / "report.html").read_text(encoding="utf-8")
    _no_hidden(page)
    (island,) = re.findall(r'<script type="application/octet-stream"[^>]*>([^<]*)</script>', page)
    strings = unpack_island(island)["strings"]
    for name in (SLIDE, ANNOTATION, "slides/evil\u202egpj.png"):
        assert _shown(name) in strings
    assert any(f"class '{_shown(CLASS)}' is not in the taxonomy" in s for s in strings)
    assert HOSPITAL in strings
    # a link to the slide's row in the explorer names the row, never the slide (a URL-encoded name is
    # out of the masker's sight)
    links = re.findall(r'href="#item-([^"]*)"', page)
    assert links and all(link.isdigit() for link in links)


def test_summary_and_junit_show_hidden_characters_as_escapes(audited: tuple[Path, Path]) -> None:
    out = audited[1]
    for name in ("summary.md", "junit.xml"):
        _no_hidden((out / name).read_text(encoding="utf-8"))
    assert _shown(CLASS) in (out / "junit.xml").read_text(encoding="utf-8")


def test_results_json_keeps_the_true_names(audited: tuple[Path, Path]) -> None:
    """results.json is data: a tool reading it gets the slide's real id and file names."""
    doc = json.loads((audited[1] / "results.json").read_text(encoding="utf-8"))
    assert SLIDE in {i["slide_id"] for i in doc["items"]}
    assert ANNOTATION in {f["location"]["file"] for f in doc["findings"]}


def test_results_json_writes_hidden_characters_as_json_escapes(audited: tuple[Path, Path]) -> None:
    """Read as text (an editor, ``cat``, ``grep``), results.json showed the override raw, where
    every other output escapes it; its strings now hold ``\\u202e`` escapes, parsed to the same
    names, and Korean stays as it is."""
    text = (audited[1] / "results.json").read_text(encoding="utf-8")
    _no_hidden(text)
    assert "evil\\u202egpj\\u200b" in text
    assert SLIDE in {i["slide_id"] for i in json.loads(text)["items"]}


def test_the_fix_list_shows_hidden_characters_as_escapes(audited: tuple[Path, Path], tmp_path: Path) -> None:
    res = runner.invoke(app, ["fixlist", str(audited[1] / "results.json"), "--out", str(tmp_path / "fix")])
    assert res.exit_code == 0, res.output
    page = (tmp_path / "fix" / "fixlist.html").read_text(encoding="utf-8")
    table = (tmp_path / "fix" / "fixlist.csv").read_text(encoding="utf-8")
    for text in (page, table):
        _no_hidden(text)
        assert _shown(ANNOTATION) in text and _shown(CLASS) in text
    rows = list(csv.reader(io.StringIO(table)))
    assert any(_shown(ANNOTATION) in cell for row in rows for cell in row)


def test_the_diff_markdown_shows_hidden_characters_as_escapes(
    audited: tuple[Path, Path], tmp_path: Path
) -> None:
    """The Markdown is posted as a pull-request comment: the added slide is named by its escape."""
    before, after = (o / "results.json" for o in audited)
    for fmt in ("markdown", "text"):
        res = runner.invoke(
            app, ["diff", str(before), str(after), "--format", fmt, "-o", str(tmp_path / fmt)]
        )
        assert res.exit_code == 0, res.output
        text = (tmp_path / fmt).read_text(encoding="utf-8")
        _no_hidden(text)
        assert _shown(SLIDE) in text
