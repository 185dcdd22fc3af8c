"""Session 29 (deidko5f2), after deidko5f's second review: a file noun glued after another word (``원본파일명은
홍길동입니다``, ``첨부파일명: 홍길동``) was no finding; ``환자 중 열 명이 한국인입니다`` ("ten people") was a warning;
the comma after a keyword took any number of spaces after it and line breaks before it, and a full-width comma
(``환자번호， 12345678``) none."""

from __future__ import annotations

import pytest

from dqm.identifiers import DeidSettings, find

from .test_deidko2_session26 import MASK


def _kinds(text: str) -> list[str]:
    return sorted({hit.name for hit in find(text, DeidSettings(), "clinical")})


@pytest.mark.parametrize(
    "text",
    [
        "원본파일명은 홍길동입니다",
        "첨부파일명: 홍길동",
        "이미지파일명은 홍길동입니다",
        "원본슬라이드명은 김지은입니다",
        "첨부이미지명: 홍길동",
    ],
)
def test_a_file_noun_glued_after_another_word_names_a_possible_name(text: str) -> None:
    # as the spaced form, 원본 파일명은 홍길동입니다, a warning
    assert _kinds(text) == ["possible_name"]
    assert "홍길동" not in MASK(text) and "김지은" not in MASK(text)


@pytest.mark.parametrize(
    "text",
    [
        "환자 중 열 명이 한국인입니다",
        "열 명은 유방암입니다",
        "대상자 열 명이 전이암입니다",
        "열명이 홍길동입니다",
    ],
)
def test_ten_people_is_no_name(text: str) -> None:
    assert _kinds(text) == []


@pytest.mark.parametrize("text", ["원본폴더명: 홍길동", "첨부항목명은 홍길동입니다"])
def test_other_file_nouns_stay_words_of_their_own(text: str) -> None:
    # guards: pass on base too (a word glued before 폴더, 항목… is none, as before)
    assert _kinds(text) == []


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("환자번호， 12345678", "hospital_record_number"),
        ("환자번호，12345678", "hospital_record_number"),
        ("생년월일， 1990-01-01", "date_of_birth"),
        ("MRN， 12345678", "hospital_record_number"),
    ],
)
def test_a_full_width_comma_reads_as_a_comma(text: str, kind: str) -> None:
    assert _kinds(text) == [kind]
    assert text[-8:] not in MASK(text)


@pytest.mark.parametrize("keyword", ["환자번호", "MRN"])
def test_the_comma_takes_at_most_8_spaces_after_it(keyword: str) -> None:
    assert _kinds(f"{keyword},{' ' * 8}12345678") == ["hospital_record_number"]
    assert _kinds(f"{keyword},{' ' * 9}12345678") == []
    assert _kinds(f"{keyword},{' ' * 500}12345678") == []


@pytest.mark.parametrize(
    "text", ["환자번호\n\n, 12345678", "환자번호\n, 12345678", "MRN\n, 12345678", "환자번호\n,12345678"]
)
def test_no_line_break_before_the_comma(text: str) -> None:
    assert _kinds(text) == []
