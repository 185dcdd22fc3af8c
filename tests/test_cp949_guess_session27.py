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


def test_every_leading_utf8_mark_is_dropped_and_the_finding_says_so(tmp_path: Path) -> None:
    """Two UTF-8 byte-order marks before CP949: the second mark read as a well-formed UTF-8 run,
    so the manifest was refused as "UTF-8 with a stray byte". Now every leading mark is dropped, a
    finding says how many, and the CP949 rows are read with the file's offset."""
    root = write_tiny_batch(tmp_path / "b")
    manifest = (root / "manifest.csv").read_text().replace("Seoul-A", "서울대병원 병리과", 1)
    data = 2 * b"\xef\xbb\xbf" + manifest.encode("cp949")
    (root / "manifest.csv").write_bytes(data)
    disc = discover(root)
    issues = [i for i in disc.issues if i.code.startswith("MANIFEST")]
    assert [i.code for i in issues] == ["MANIFEST_ENCODING", "MANIFEST_ENCODING"]
    assert "starts with 2 UTF-8 byte-order marks" in issues[0].message.rendered("en")
    assert "BOM) 2개로 시작합니다" in issues[0].message.rendered("ko")
    at = data.index("서".encode("cp949"))
    assert f"(byte 0x{data[at]:02x} at offset {at:,})" in issues[1].message.rendered("en")
    assert any("서울대병원 병리과" in item.record.values() for item in disc.items)


def test_two_utf8_marks_before_utf8_leave_no_mark_in_the_header(tmp_path: Path) -> None:
    """Two marks before UTF-8: the second was read as text, before the header's ``slide_id``."""
    root = write_tiny_batch(tmp_path / "b")
    data = (root / "manifest.csv").read_bytes()
    (root / "manifest.csv").write_bytes(2 * b"\xef\xbb\xbf" + data)
    disc = discover(root)
    issues = [i for i in disc.issues if i.code.startswith("MANIFEST")]
    assert [i.code for i in issues] == ["MANIFEST_ENCODING"]
    assert sorted(item.slide_id for item in disc.items) == ["S1", "S2", "S3"]


@pytest.mark.parametrize(("codec", "order"), [("utf-16-le", "LE"), ("utf-16-be", "BE")])
@pytest.mark.parametrize("cell", ["서울대병원", "Seoul-B"])
def test_utf16_without_a_mark_is_named(tmp_path: Path, codec: str, order: str, cell: str) -> None:
    """UTF-16 without a byte-order mark: the finding said only "'utf-8' codec can't decode byte
    0xc1" (or, all ASCII, no header row). Its NUL bytes at every other byte now say UTF-16 and
    which byte order."""
    root = write_tiny_batch(tmp_path / "b")
    manifest = (root / "manifest.csv").read_text().replace("Seoul-A", cell, 1)
    (root / "manifest.csv").write_bytes(manifest.encode(codec))
    (issue,) = (i for i in discover(root).issues if i.code.startswith("MANIFEST"))
    assert issue.code == "MANIFEST_UNREADABLE"
    assert f"it looks like UTF-16 {order} without a byte-order mark" in issue.message.rendered("en")
    assert f"UTF-16 {order}로 보입니다" in issue.message.rendered("ko")


@pytest.mark.parametrize(("codec", "cell"), [("gbk", "南京"), ("cp949", "외과"), ("big5", "陽性")])
def test_the_other_reading_note_on_a_manifest_of_bare_cr_line_ends(
    tmp_path: Path, codec: str, cell: str
) -> None:
    """Lines ending in a bare CR (classic Mac Excel): the note's place was found by splitting at
    LF only, its CSV reader raised "new-line character seen in unquoted field", and the readable
    manifest was refused (MANIFEST_UNREADABLE, no row read). Lines now end as the parser's do."""
    root = write_tiny_batch(tmp_path / "b")
    manifest = (root / "manifest.csv").read_text().replace("Seoul-A", cell, 1).replace("\n", "\r")
    data = manifest.encode(codec)
    (root / "manifest.csv").write_bytes(data)
    disc = discover(root)
    (issue,) = (i for i in disc.issues if i.code.startswith("MANIFEST"))
    assert issue.code == "MANIFEST_ENCODING"
    column = manifest.split("\r")[0].split(",").index("institution") + 1
    where = f"line 2, column {column}, byte offset {data.index(cell.encode(codec)):,}"
    assert f"(the first such text: {where})" in issue.message.rendered("en")
    assert sorted(item.slide_id for item in disc.items) == ["S1", "S2", "S3"]
    assert not disc.manifest_unread_cut


@pytest.mark.parametrize("quoted", [False, True])
def test_the_other_reading_note_after_a_cell_over_the_csv_field_limit(tmp_path: Path, quoted: bool) -> None:
    """A 200,000-character cell (under the 1 MiB line limit, over the CSV reader's 131,072) before
    the first text beyond ASCII: the note's CSV reader raised "field larger than field limit", the
    MANIFEST_ENCODING finding was lost and the text was not kept to be searched. Now the note
    counts separators outside quotes; the finding stays and the row's text is searched. (The CSV
    cell limit is the line limit, 1 MiB, since dqm.batch is imported: no reader of the manifest
    refuses the cell, where one outside the manifest read's raised limit did.)"""
    root = write_tiny_batch(tmp_path / "b")
    long = "c" * 200_000
    cell = f'"{long} 외과"' if quoted else f"{long},외과"
    manifest = (root / "manifest.csv").read_text().replace("Seoul-A", cell, 1)
    data = manifest.encode("cp949")
    (root / "manifest.csv").write_bytes(data)
    disc = discover(root)
    issues = [i for i in disc.issues if i.code.startswith("MANIFEST")]
    assert issues[0].code == "MANIFEST_ENCODING"
    column = manifest.splitlines()[0].split(",").index("institution") + 1 + (0 if quoted else 1)
    where = f"line 2, column {column}, byte offset {data.index('외'.encode('cp949')):,}"
    assert f"(the first such text: {where})" in issues[0].message.rendered("en")
    assert not [i for i in issues if "field larger" in i.message.rendered("en")]
    assert not [i for i in issues if i.code == "MANIFEST_UNREADABLE"]
    searched = [text for _, text in disc.manifest_unread] + [
        value for item in disc.items if item.record for value in item.record.values()
    ]
    assert any("외과" in text for text in searched)


@pytest.mark.parametrize(("codec", "order"), [("utf-16-le", "LE"), ("utf-16-be", "BE")])
def test_utf16_without_a_mark_is_searched_as_utf16(tmp_path: Path, codec: str, order: str) -> None:
    """A manifest named UTF-16 without a mark was kept for the identifier search as UTF-8/CP949
    with its NULs dropped: a Hangul name in it was no text to find. It is now read as UTF-16 in
    the byte order found."""
    root = write_tiny_batch(tmp_path / "b")
    manifest = (root / "manifest.csv").read_text().replace("Seoul-A", "김민수", 1)
    (root / "manifest.csv").write_bytes(manifest.encode(codec))
    disc = discover(root)
    (issue,) = (i for i in disc.issues if i.code.startswith("MANIFEST"))
    assert f"UTF-16 {order} without a byte-order mark" in issue.message.rendered("en")
    assert any("김민수" in text for _, text in disc.manifest_unread)


def test_a_flood_of_utf8_marks_is_counted_with_thousands_separators(tmp_path: Path) -> None:
    """1,234 leading marks: the count read "1234" (and a 64 MB flood took 6.9 s in a loop)."""
    root = write_tiny_batch(tmp_path / "b")
    data = (root / "manifest.csv").read_bytes()
    (root / "manifest.csv").write_bytes(1234 * b"\xef\xbb\xbf" + data)
    disc = discover(root)
    (issue,) = (i for i in disc.issues if i.code.startswith("MANIFEST"))
    assert "starts with 1,234 UTF-8 byte-order marks" in issue.message.rendered("en")
    assert "BOM) 1,234개로 시작합니다" in issue.message.rendered("ko")
    assert sorted(item.slide_id for item in disc.items) == ["S1", "S2", "S3"]
