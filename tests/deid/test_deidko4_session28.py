"""Session 28 (deidko4), the Korean name leftovers of session 27: a name before the copula after ``이름이`` or glued
to ``이름`` (``이름이 홍길동입니다``, ``이름홍길동입니다``), a two-syllable name after a keyword's comma
(``성명,김철``) and a name ending ``은``/``서`` before the copula (``김정은입니다``) were none; words that say the name
is absent or withheld (``환자명은 이번주``, ``공란임``, ``정정임``, ``추후``) and a Hanja common noun
(``환자명은 病理``) were names; ``12pt 명조체`` (a font) and ``pt 명시되지`` were names."""

from __future__ import annotations

import pytest

from .test_deidko2_session26 import MASK, _named


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("환자 이름이 홍길동입니다", "환자 이름이 [입니다"),
        ("성함은 김지은이고 나이는 45", "성함은 [이고 나이는 45"),
        ("이름홍길동입니다", "이름[입니다"),
        ("성명김지은이고", "성명[이고"),
        ("환자명은 김정은입니다", "환자명은 [입니다"),
        ("성명은 김예서이고", "성명은 [이고"),
    ],
)
def test_a_name_before_the_copula_is_an_identifier_masked_alone(text: str, shown: str) -> None:
    assert _named(text) == [("person_name", "identifier")]
    masked = MASK(text)
    before, after = shown.split("[")
    assert masked.count("[") == 1
    assert masked.startswith(before + "[PERSON_NAME-")
    assert masked.endswith("]" + after)


@pytest.mark.parametrize("text", ["성명,김철", "성명, 김철,45", "환자명,이준", "성함, 이준"])
def test_a_two_syllable_name_after_a_keywords_comma_is_a_warning(text: str) -> None:
    assert _named(text) == [("possible_name", "quasi")]
    assert "김철" not in MASK(text) and "이준" not in MASK(text)


@pytest.mark.parametrize(
    "text",
    [
        "환자명은 이번주",
        "환자명은 이번주 확인",
        "환자명은 이번달",
        "환자명은 공란임",
        "환자명은 정정임",
        "환자명은 변경임",
        "환자명은 추후",
        "환자명은 추후 기재",
        "환자명은 病理",
        "환자명은 乳癌",
        "글꼴은 12pt 명조체",
        "10pt 명조",
        "12PT: 홍길동",
        "pt 명시되지 않은",
        "환자 명시적인",
    ],
)
def test_words_that_say_the_name_is_absent_and_common_nouns_are_no_identifier(text: str) -> None:
    assert [kind for kind in _named(text) if kind == ("person_name", "identifier")] == []


@pytest.mark.parametrize(
    "text",
    [
        "환자명은 이번주",
        "환자명은 공란임",
        "환자명은 정정임",
        "환자명은 추후",
        "환자명은 病理",
        "글꼴은 12pt 명조체",
    ],
)
def test_those_words_are_no_finding_at_all(text: str) -> None:
    assert _named(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "성명,나이",
        "이름, 주민등록번호",
        "이름, 포트",
        "이름, 경로",
        "이름이 유효하지 않습니다",
        "이름이 공란임",
        "이름이 변경입니다",
        "이름인증서입니다",
        "환자명은 인증서입니다",
        "환자명은 조직에서입니다",
        "이름이었습니다",
        "성함이세요",
        "환자명은 추후기재",
    ],
)
def test_prose_and_header_rows_stay_free_of_names(text: str) -> None:
    assert _named(text) == []


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("환자명은 洪吉童", "person_name"),
        ("환자명은 洪 吉童", "possible_name"),
        ("pt 명김지은", "person_name"),
        ("pt 홍길동", "possible_name"),
        ("환자명은 정정희", "possible_name"),
        ("환자명은 추후기록", "possible_name"),
        ("환자명은 김정은", "possible_name"),
    ],
)
def test_names_next_to_those_words_are_still_found(text: str, kind: str) -> None:
    assert [found for found, _ in _named(text)] == [kind]
