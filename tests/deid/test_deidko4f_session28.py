"""Session 28 (deidko4f), the review of deidko4: ``이름은/이름이 <word>입니다`` was an identifier where ``이름`` names a
file, a column or a folder (1,357 of the bench's 14,173 words); ``pt`` after a digit was never a keyword, so
``12PT: 홍길동`` left the name in clear; a two-syllable word after ``이름,`` was a warning and a word that says the
name is missing after ``성명,`` too."""

from __future__ import annotations

import pytest

from .test_deidko2_session26 import MASK, _named


@pytest.mark.parametrize(
    "text",
    [
        "이름은 문자열입니다",
        "이름이 고유번호입니다",
        "이름이 홍길동입니다",
        "이름이 김예서이고",
        # none in session 28 (deidko4f); a warning after every noun since session 29 (deidko5)
        "파일 이름은 전립선입니다",
        "폴더 이름은 이미지입니다",
        "태그 이름은 정상조직입니다",
        "슬라이드 이름은 백병원입니다",
        "파일이름은 전립선입니다",
    ],
)
def test_a_word_after_a_bare_name_and_before_the_copula_is_a_warning_masked(text: str) -> None:
    assert _named(text) == [("possible_name", "quasi")]
    word = text.split()[-1][:3]
    assert word not in MASK(text)


@pytest.mark.parametrize(
    "text",
    ["성명은 홍길동입니다", "성함은 김지은이고", "환자 이름은 홍길동입니다", "환자이름은 홍길동입니다"],
)
def test_a_persons_keyword_before_the_copula_stays_an_identifier(text: str) -> None:
    assert _named(text) == [("person_name", "identifier")]


@pytest.mark.parametrize(
    "text",
    ["12PT: 홍길동", "01pt_김철수", "slide3pt_홍길동.svs", "ID12pt: 김철수", "3pt 홍길동", "12pt=홍길동"],
)
def test_pt_after_a_digit_is_still_a_keyword(text: str) -> None:
    assert _named(text) == [("possible_name", "quasi")]
    assert "홍길동" not in MASK(text) and "김철수" not in MASK(text)


def test_pt_after_a_digit_glued_to_a_name_is_an_identifier() -> None:
    assert _named("12pt 명김지은") == [("person_name", "identifier")]


@pytest.mark.parametrize(
    "text", ["글꼴은 12pt 명조체", "10pt 명조", "12pt 고딕체", "11pt 굴림", "9pt 돋움체", "12pt_바탕"]
)
def test_pt_after_a_digit_before_a_font_is_no_finding(text: str) -> None:
    assert _named(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "성명,모름",
        "성명,공란",
        "성명,가명",
        "성명,추후",
        "환자명,미상",
        "이름,변경",
        "이름,모델",
        "이름,고객",
        "이름, 이준",
    ],
)
def test_no_warning_after_a_bare_names_comma_or_before_a_word_that_says_the_name_is_missing(
    text: str,
) -> None:
    assert _named(text) == []


@pytest.mark.parametrize("text", ["성명,김철", "성함, 이준", "환자명,이준", "성명, 김철,45"])
def test_a_two_syllable_name_after_a_persons_keywords_comma_is_still_a_warning(text: str) -> None:
    assert _named(text) == [("possible_name", "quasi")]
