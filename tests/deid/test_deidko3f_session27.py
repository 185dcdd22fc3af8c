"""Session 27 (deidko3f), the review of deidko3: ``환자명은`` and a common word was a ``person_name``
identifier (``환자명은 변경됨``); the copula's stems glued to ``이름`` were names; Hanja names leaked
(13 ideographs, ``諸葛 孔明``, ``洪 吉 童``, extension ideographs, a full-width colon); a two-syllable
name and its particle were two tokens after ``성명:``; ``환자: 病理`` was a possible name."""

from __future__ import annotations

import pytest

from dqm.identifiers import MASK_SCAN_CHARS

from .test_deidko2_session26 import MASK, _named


@pytest.mark.parametrize(
    "text",
    [
        "환자명은 이번 검사에서 확인",
        "환자 명이 정확하지 않음",
        "환자명은 정정됨",
        "환자명은 변경됨",
        "환자 명은 가명 처리",
        "환자명이 공란",
        "환자명이 표시되지 않음",
        "환자명은 동일",
        "환자명은 전산 오류",
        "환자명은 삭제됨",
    ],
)
def test_a_keyword_and_a_particle_before_a_word_about_the_name_is_no_name(text: str) -> None:
    """QA notes about a name field: the word after ``환자명은`` was masked as an identifier."""
    assert _named(text) == []
    assert MASK(text) == text


@pytest.mark.parametrize("text", ["환자명은 모순을", "환자 명은 지금", "환자명은 김철"])
def test_a_keyword_and_a_particle_before_a_word_not_of_a_name_s_shape_is_a_warning(text: str) -> None:
    """A surname-led word without :data:`_KO_GLUED`'s strict name shape was an identifier."""
    assert _named(text) == [("possible_name", "quasi")]
    assert text.split()[-1] not in MASK(text)


@pytest.mark.parametrize(
    "text", ["환자 명은 홍길동", "환자명이 김지은", "환자명은 남궁민수", "환자 명은 洪吉童"]
)
def test_a_keyword_and_a_particle_before_a_name_s_shape_stays_an_identifier(text: str) -> None:
    assert _named(text) == [("person_name", "identifier")]


@pytest.mark.parametrize("keyword", ["이름", "성함"])
@pytest.mark.parametrize(
    "ending",
    ["이던데", "이었지", "이거든", "이었던", "이구나", "이겠지", "이라니", "인가봐", "이지만", "이었어요", "이어서", "이래요",
     "이랍니다", "인걸", "인듯", "이므로", "이시다", "이신", "이군요", "이신가요"],
)  # fmt: skip
def test_the_copula_s_stems_glued_to_a_keyword_are_no_name(keyword: str, ending: str) -> None:
    """Only whole listed endings were excluded: 8 of these were identifiers, the rest warnings."""
    assert _named(keyword + ending) == []


@pytest.mark.parametrize("text", ["이름이시우", "성함이시우", "이름이신영", "이름이지은"])
def test_a_name_starting_like_a_copula_stem_stays_a_name(text: str) -> None:
    assert _named(text) == [("person_name", "identifier")]


@pytest.mark.parametrize(
    ("text", "secrets"),
    [
        ("성명: 洪吉童患者病理標本番號", ["洪吉童"]),
        ("성명: 諸葛 孔明", ["諸葛", "孔明"]),
        ("성명: 洪 吉童先生", ["吉童"]),
        ("성명: 洪 吉 童", ["吉", "童"]),
        ("성명: 홍 길 동", ["길", "동"]),
        ("성명: 洪\u3402童", ["\u3402", "童"]),
        ("성명: 洪\U00020000童", ["\U00020000", "童"]),
        ("성명：洪吉童", ["吉童"]),
        ("성명：홍길동", ["길동"]),
        ("환자명：김철수", ["철수"]),
    ],
)
def test_a_hanja_or_spaced_name_is_masked_whole(text: str, secrets: list[str]) -> None:
    """Each was shown whole or in part: nothing after 13 ideographs, ``孔明``, ``吉童先生``, the last
    syllable of ``洪 吉 童``, extension ideographs, and every name after a full-width colon."""
    assert _named(text) == [("person_name", "identifier")]
    masked = MASK(text)
    assert [secret for secret in secrets if secret in masked] == []


@pytest.mark.parametrize("name", ["洪 吉 童", "諸葛 孔明", "홍 길 동", "洪吉童患者病理標本番號"])
def test_find_and_the_masker_agree_on_the_new_hanja_shapes_across_windows(name: str) -> None:
    for before in range(MASK_SCAN_CHARS - 40, MASK_SCAN_CHARS + 1, 3):
        text = "." * before + "성명: " + name + " 끝"
        assert _named(text), before
        assert name[-1] not in MASK(text) or len(name) > 12, before
        assert name[:3].replace(" ", "") not in MASK(text).replace(" ", ""), before


@pytest.mark.parametrize("text", ["환자: 病理", "환자: 乳癌", "환자: 甲狀腺癌", "pt 病理"])
def test_a_hanja_word_after_patient_without_a_surname_is_no_name(text: str) -> None:
    """Any Hanja word after ``환자`` was a possible name."""
    assert _named(text) == []


def test_a_hanja_name_after_patient_stays_a_warning() -> None:
    assert _named("환자: 洪吉童") == [("possible_name", "quasi")]


_FITTING = {
    "김철": ["이", "을", "과", "의", "로", "에게", "님", "님은", "씨", "부터"],
    "김민": ["이", "을", "과", "의", "으로", "에게", "님", "부터"],
}


@pytest.mark.parametrize("keyword", ["이름", "성명: ", "환자 명은 ", "성명 "])
@pytest.mark.parametrize(
    ("name", "particle"), [(name, particle) for name, particles in _FITTING.items() for particle in particles]
)
def test_a_two_syllable_name_is_one_token_with_each_fitting_particle(
    keyword: str, name: str, particle: str
) -> None:
    """``성명: 김철이`` and ``이름김철님`` (identifier) were other tokens than ``성명: 김철``; ``이름김민으로``
    masked ``김민으``."""
    assert MASK(keyword + name + particle) == MASK(keyword + name) + particle


@pytest.mark.parametrize("keyword", ["이름", "성명: ", "환자 명은 "])
@pytest.mark.parametrize("text", ["김철은", "김철도", "김철만", "김정은", "김영도"])
def test_a_word_ending_in_a_given_name_s_syllable_is_masked_whole(keyword: str, text: str) -> None:
    """``은``, ``도``, ``만`` end a given name as often as they are a particle: the word is masked whole, none in clear."""
    masked = MASK(keyword + text)
    assert text[1:] not in masked and masked.endswith("]")


@pytest.mark.parametrize(
    "text", ["이름인증서", "이름설명서", "환자명진단서를", "pt 명소견서", "성명이력서", "환자 명은 진단서"]
)
def test_a_document_word_ending_in_seo_glued_to_a_keyword_is_a_warning(text: str) -> None:
    """``_KO_GIVEN_END`` takes ``서`` after a final consonant (``민서``): these were identifiers."""
    assert _named(text) == [("possible_name", "quasi")]


@pytest.mark.parametrize("text", ["이름김민서", "환자명김윤서에게", "pt 명박준서"])
def test_a_name_ending_in_seo_stays_an_identifier(text: str) -> None:
    assert _named(text) == [("person_name", "identifier")]
