"""Session 29 (deidko5f), after the review of deidko5: ``환자번호, 12345678`` (a comma and a space after a Korean
keyword) was no finding since deid13; ``파일명은 홍길동입니다`` and ``파일명: 홍길동`` were none; ``환자명은 홍길동임`` was
only a warning (the lead: a real name's leak outranks false errors); ``환자명: 가능임`` was an error while
``환자명은 가능임`` was a warning; ``파일 이름은 김순임`` and ``파일 이름은 홍길동 입니다`` were none."""

from __future__ import annotations

import pytest

from dqm.identifiers import DeidSettings, find

from .test_deidko2_session26 import MASK, _named


def _kinds(text: str) -> list[str]:
    return sorted({hit.name for hit in find(text, DeidSettings(), "clinical")})


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("환자번호, 12345678", "hospital_record_number"),
        ("병록번호, 12345678", "hospital_record_number"),
        ("등록번호 ,  12345678", "hospital_record_number"),
        ('"환자번호", "12345678"', "hospital_record_number"),
        ("생년월일, 1990-01-01", "date_of_birth"),
        ("생일, 19900101", "date_of_birth"),
    ],
)
def test_a_korean_keyword_its_comma_and_a_space_take_the_number(text: str, kind: str) -> None:
    assert _kinds(text) == [kind]
    assert text.split()[-1].strip('"')[:5] not in MASK(text)


@pytest.mark.parametrize(
    "text", ["medical record, 12345 slides were reviewed", "patients born, 19901231 was the cutoff"]
)
def test_prose_comma_after_a_latin_keyword_stays_no_finding(text: str) -> None:
    # guards: pass on base too (deid13's fix kept)
    assert _kinds(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "파일명은 홍길동입니다",
        "슬라이드명은 김지은입니다",
        "파일 명은 홍길동입니다",
        "폴더명이 홍길동입니다",
        "파일명: 홍길동",
        "파일명: 김지은_HE.svs",
        "파일 이름은 김순임",
        "파일 이름은 홍길동 입니다",
        "열 이름이 조직검사입니다",  # these two pass on base too: coverage deidko5 dropped
        "컬럼 이름이 연부조직입니다",
    ],
)
def test_a_file_slide_or_column_name_of_a_names_shape_is_a_warning_masked(text: str) -> None:
    assert _named(text) == [("possible_name", "quasi")]
    for name in ("홍길동", "김지은", "김순임", "조직검사", "연부조직"):
        assert name not in MASK(text)


@pytest.mark.parametrize("text", ["파일명은 모름", "3명은 홍길동입니다", "파일명은 정상입니다"])
def test_no_name_after_a_file_name_stays_no_finding(text: str) -> None:
    assert _named(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "환자명은 홍길동임",
        "환자명은 김지은임",
        "피검자명은 홍길동임",
        "환자명은 남궁민수임",
        "환자명은 가능성임",
        "환자명이 고정값임",
        "성명: 홍길동임",
    ],
)
def test_a_name_of_the_strict_shape_before_im_is_an_error(text: str) -> None:
    assert _named(text) == [("person_name", "identifier")]
    assert text.split()[-1][:3] not in MASK(text)


@pytest.mark.parametrize(
    "text",
    [
        "환자명은 가능임",
        "환자명은 조직검사임",
        "환자명: 가능임",
        "환자명:가능임",
        "성명: 가능임",
        "이름: 가능임",
        "Patient Name: 가능임",
    ],
)
def test_a_word_and_the_terse_copula_is_one_warning_whatever_the_keyword(text: str) -> None:
    assert _named(text) == [("possible_name", "quasi")]
    word = "조직검사" if "조직검사" in text else "가능"
    assert word not in MASK(text)


@pytest.mark.parametrize(
    "text", ["성명: 홍길동 입니다", "성명은 홍길동 입니다", "환자 이름은 김순임", "성명: 김순임"]
)
def test_a_name_before_a_spaced_copula_or_ending_in_im_after_a_persons_keyword_is_an_error(text: str) -> None:
    assert _named(text) == [("person_name", "identifier")]
    assert "홍길동" not in MASK(text) and "김순" not in MASK(text)
