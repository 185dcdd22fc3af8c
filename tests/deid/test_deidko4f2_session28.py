"""Session 28 (deidko4f2), the second review of deidko4f: after ``성명:`` or a keyword's comma a word that says the
name is missing (``미기재``, ``공란임``, ``추후기재``) was an error; ``환자의 이름은``, ``피검자 이름은`` and ``환자`` two
spaces or ``_`` before ``이름은`` were warnings, not errors; ``12pt 윤명조`` and ``12pt: 명조`` were warnings."""

from __future__ import annotations

import pytest

from .test_deidko2_session26 import MASK, _named


@pytest.mark.parametrize(
    "text",
    [
        "성명: 미기재",
        "성명: 공란임",
        "성명,추후기재",
        "성명, 정정임",
        "이름, 공란임",
        "성명: 추후기재예정",
        "성명: 확인예정",
        "성명: 추후확인",
        "성함: 변경됨",
        "이름: 공란임",
        "환자명: 미기재",
        "성명 미기재",
    ],
)
def test_a_word_that_says_the_name_is_missing_after_a_keyword_is_no_finding(text: str) -> None:
    assert _named(text) == []


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("성명: 홍길동", "홍길동"),
        ("성명: 정정희", "정정희"),
        ("성명,홍길동,45", "홍길동"),
        ("성명: 공민수", "공민수"),
    ],
)
def test_a_name_of_the_strict_shape_after_a_keyword_stays_an_identifier(text: str, name: str) -> None:
    assert _named(text) == [("person_name", "identifier")]
    assert name not in MASK(text)


@pytest.mark.parametrize(
    "text",
    [
        "환자의 이름은 홍길동입니다",
        "환자_이름은 홍길동입니다",
        "환자  이름은 홍길동입니다",
        "피검자 이름은 홍길동입니다",
        "피검자의 이름은 김지은이고",
        "환자\n이름은 홍길동입니다",
        "환자 이름은 홍길동입니다",
    ],
)
def test_a_patients_name_before_the_copula_is_an_identifier(text: str) -> None:
    assert _named(text) == [("person_name", "identifier")]
    assert "홍길동" not in MASK(text) and "김지은" not in MASK(text)


@pytest.mark.parametrize("text", ["12pt 윤명조", "10pt 윤고딕", "11pt 윤바탕체", "12pt: 명조", "12pt = 고딕"])
def test_pt_after_a_digit_before_a_yoon_font_or_a_colon_and_a_font_is_no_finding(text: str) -> None:
    assert _named(text) == []


@pytest.mark.parametrize("text", ["12pt 윤지은", "12PT: 홍길동", "12pt: 윤지은"])
def test_a_name_after_pt_and_a_digit_stays_a_warning(text: str) -> None:
    assert _named(text) == [("possible_name", "quasi")]
    assert "윤지은" not in MASK(text) and "홍길동" not in MASK(text)
