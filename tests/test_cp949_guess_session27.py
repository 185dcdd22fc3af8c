"""Session 27 (manifests3): the CP949 guess's note that a manifest reads as well as GBK, Big5 or
EUC-JP. ``OTHER_SYLLABLES`` re-measured (``benchmarks/cp949_guess_cv.py --syllables``): 2; and the
note names both readings, so the reader sees which one is the text."""

from __future__ import annotations

from pathlib import Path

import pytest

from dqm.batch import discover
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
    ("codec", "cell", "readings"),
    [
        ("gbk", "南京", "CP949 '켓쑴', GBK '南京', EUC-JP '掴奨'"),
        ("big5", "陽性", "CP949 '때㈙', Big5 '陽性'"),
        ("cp949", "외과", "CP949 '외과', EUC-JP '須引'"),
    ],
)
def test_the_other_reading_note_names_both_readings(
    tmp_path: Path, codec: str, cell: str, readings: str
) -> None:
    """The note said that the manifest reads as well as GBK, not what either reading is: now it
    shows the first word beyond ASCII in CP949 and in each other encoding, in English and Korean."""
    issue = _encoding_issue(tmp_path, cell, codec)
    assert issue.code == "MANIFEST_ENCODING"
    assert f"of frequent characters ({readings})" in issue.message.rendered("en")
    assert f"읽힙니다({readings})" in issue.message.rendered("ko")


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
