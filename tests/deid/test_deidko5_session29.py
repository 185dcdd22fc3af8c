"""Session 29 (deidko5): ``환자명은 {word}임`` was an error for 3,703 of the bench's 14,173 words (``환자명은 가능임``
reads as a word and the terse copula ``임``, the shape of ``김순임``); a file or a slide named after its patient
(``파일 이름은 홍길동입니다``) was no finding while ``파일의 이름은 …`` and ``파일  이름은 …`` (two spaces) were warnings.
Kept: ``이름홍길동입니다`` (glued) and ``pt 명김지은`` are errors."""

from __future__ import annotations

import pytest

from .test_deidko2_session26 import MASK, _named


@pytest.mark.parametrize(
    "text",
    [
        "환자명은 가능임",
        "환자명은 가기가임",
        "환자명은 가로방향임",
        "환자명은 문제임",
        "환자명은 기록임",
    ],
)
def test_a_word_ending_in_the_terse_copula_after_patient_name_is_a_warning(text: str) -> None:
    assert _named(text) == [("possible_name", "quasi")]
    word = text.split()[-1][:2]
    assert word not in MASK(text)


@pytest.mark.parametrize(
    "text",
    [
        "환자명은 김순임",
        "환자명은 이정임",
        "환자명이 박옥임",
        "환자명은 최말임",
        "환자명은 남궁옥임",
        "환자명은 김순임입니다",
    ],
)
def test_a_name_ending_in_im_after_patient_name_stays_an_identifier(text: str) -> None:
    assert _named(text) == [("person_name", "identifier")]
    assert text.split()[-1][:3] not in MASK(text)


@pytest.mark.parametrize("text", ["환자명은 공란임", "환자명은 정정임", "환자명은 미기재"])
def test_a_word_saying_the_name_is_missing_stays_no_finding(text: str) -> None:
    assert _named(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "파일 이름은 홍길동입니다",
        "슬라이드 이름은 김지은입니다",
        "폴더 이름이 홍길동입니다",
        "파일이름은 홍길동입니다",
        "파일의 이름은 홍길동입니다",
        "파일  이름은 홍길동입니다",
    ],
)
def test_a_file_or_slide_named_after_a_patient_is_a_warning_masked(text: str) -> None:
    assert _named(text) == [("possible_name", "quasi")]
    assert "홍길동" not in MASK(text) and "김지은" not in MASK(text)


@pytest.mark.parametrize(
    "text", ["파일 이름은 전립선입니다", "파일의 이름은 전립선입니다", "파일  이름은 전립선입니다"]
)
def test_one_sentence_gives_one_answer_whatever_the_spacing(text: str) -> None:
    assert _named(text) == [("possible_name", "quasi")]


@pytest.mark.parametrize(
    "text", ["이름홍길동입니다", "pt 명김지은", "환자 이름은 홍길동입니다", "환자명은 홍길동"]
)
def test_a_name_after_a_persons_keyword_stays_an_error(text: str) -> None:
    assert _named(text) == [("person_name", "identifier")]
