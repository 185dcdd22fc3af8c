"""Session 27 (manifests3): the CP949 guess's note that a manifest reads as well as GBK, Big5 or
EUC-JP. ``OTHER_SYLLABLES`` re-measured (``benchmarks/cp949_guess_cv.py --syllables``): 2; and the
note names where the text is (line, column, byte offset), never the text: a cell's text
may be a patient's name."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.batch import discover
from dqm.cli import app
from tests.helpers import write_tiny_batch


def _encoding_issue(tmp_path: Path, cell: str, codec: str):
    root = write_tiny_batch(tmp_path / "b")
    manifest = (root / "manifest.csv").read_text()
    (root / "manifest.csv").write_bytes(manifest.replace("Seoul-A", cell, 1).encode(codec))
    (issue,) = (i for i in discover(root).issues if i.code.startswith("MANIFEST"))
    return issue


@pytest.mark.parametrize("word", ["대장암", "유방암"])
def test_a_korean_word_of_three_syllables_or_more_gets_no_other_reading_note(
    tmp_path: Path, word: str
) -> None:
    """Korean '대장암' reads as EUC-JP kanji its software writes often: at BASE (``OTHER_SYLLABLES``
    None) the finding said it reads as well as EUC-JP. The CV chose 2 on three folds of five: a
    reading of three distinct syllables or more is read as CP949 with the plain note."""
    issue = _encoding_issue(tmp_path, word, "cp949")
    assert issue.code == "MANIFEST_ENCODING"
    assert "reads as well as" not in issue.message.rendered("en")


@pytest.mark.parametrize(
    ("codec", "cell", "encoding"),
    [("gbk", "南京", "GBK / EUC-JP"), ("big5", "陽性", "Big5"), ("cp949", "외과", "EUC-JP")],
)
def test_the_other_reading_note_names_where_the_text_is(
    tmp_path: Path, codec: str, cell: str, encoding: str
) -> None:
    """The note names the first text beyond ASCII by line, column and byte offset (the tiny
    batch's first row, its ``institution`` column), never by its text in either reading: the
    text is a cell's (Session 27's first round quoted it, a patient's name included)."""
    issue = _encoding_issue(tmp_path, cell, codec)
    data = (tmp_path / "b" / "manifest.csv").read_bytes()
    manifest = data.decode("ascii", "replace")
    at = data.index(cell.encode(codec))
    column = manifest.splitlines()[0].split(",").index("institution") + 1
    where = f"line 2, column {column}, byte offset {at:,}"
    assert issue.code == "MANIFEST_ENCODING"
    assert f"reads as well as {encoding}" in issue.message.rendered("en")
    assert f"frequent characters (the first such text: {where})" in issue.message.rendered("en")
    assert f"2행 {column}열, 바이트 오프셋 {at:,})" in issue.message.rendered("ko")
    for shown in (issue.message.rendered("en"), issue.message.rendered("ko")):
        assert cell not in shown and cell.encode(codec).decode("cp949", "replace") not in shown


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_gbk_name_in_patient_name_appears_in_no_output(tmp_path: Path, lang: str) -> None:
    """A GBK manifest whose first text beyond ASCII is a patient's name (``李明``): the
    other-reading note quoted it as GBK, in clear in results.json and junit.xml, next to the
    column's own finding that masks it. Neither reading (GBK's ``李明``, CP949's ``쟀츠``) is in
    results.json, junit.xml, report.html, summary.md or the console."""
    root = write_tiny_batch(tmp_path / "b")
    lines = (root / "manifest.csv").read_text().splitlines()
    lines[0] += ",patient_name"
    for i, name in enumerate(["李明", "Kim", "Lee"], 1):
        lines[i] += "," + name
    (root / "manifest.csv").write_bytes(("\n".join(lines) + "\n").encode("gbk"))
    out = tmp_path / "res"
    res = CliRunner().invoke(app, ["audit", str(root), "-o", str(out), "--lang", lang])
    results = (out / "results.json").read_text(encoding="utf-8")
    written = [results, res.output] + [
        (out / name).read_text(encoding="utf-8") for name in ("junit.xml", "report.html", "summary.md")
    ]
    for text in written:
        assert "李明" not in text and "쟀츠" not in text
        assert "\\u674e" not in text.lower()  # nor as a JSON escape
    assert "MANIFEST_ENCODING" in results and "the first such text" in results


def test_a_utf8_mark_before_cp949_is_read_as_cp949_without_the_mark(tmp_path: Path) -> None:
    """A UTF-8 byte-order mark before a CP949 manifest (a tool that added one): the mark was read
    as CP949 with the header, whose first letter became part of a hanja ('癤퓋lide_id'), so the
    manifest lacked its slide_id column; the finding gave the byte and offset past the mark
    (utf-8-sig's). Now the mark is dropped, the header read, and the offset is the file's."""
    root = write_tiny_batch(tmp_path / "b")
    manifest = (root / "manifest.csv").read_text().replace("Seoul-A", "서울대병원 병리과", 1)
    data = b"\xef\xbb\xbf" + manifest.encode("cp949")
    (root / "manifest.csv").write_bytes(data)
    disc = discover(root)
    issues = [i for i in disc.issues if i.code.startswith("MANIFEST")]
    assert [i.code for i in issues] == ["MANIFEST_ENCODING"]
    at = data.index("서".encode("cp949"))
    assert f"(byte 0x{data[at]:02x} at offset {at:,})" in issues[0].message.rendered("en")
    assert any("서울대병원 병리과" in item.record.values() for item in disc.items)
