"""Session 26 (deidko2f2): what the second review of deidko2f found. Names glued to a Korean
keyword whose given name ends like a particle (``이름김정은``, ``이름김예서``), a two-syllable name
and a particle (``이름김철에게``) and ``명`` glued to a name after ``pt``, ``피검자`` or ``환자_``
(``pt 명김지은``) were shown in clear; 841 two-syllable glued words (``이름변경``, ``성명기재``) were
identifiers; ``성명: 남궁정은`` left ``은`` in clear. No syllable rule tells a glued name from a glued
word: the strict shape stays ``person_name``, any other surname-led word there is ``possible_name``
(a warning, masked whole)."""

from __future__ import annotations

import pytest

from .test_deidko2_session26 import MASK, _named

SURNAMES = "김이박최정강조윤장임"


def _masked_whole(keyword: str, text: str) -> bool:
    """``text`` is flagged, and all of it after ``keyword`` is one mask."""
    masked = MASK(text)
    return (
        bool(_named(text))
        and masked.startswith(keyword + "[")
        and masked.endswith("]")
        and masked.count("[") == 1
    )


@pytest.mark.parametrize(
    "keyword", ["이름", "성명", "환자명", "성함", "pt 명", "피검자 명", "환자_명", "PT 명"]
)
def test_every_name_glued_to_a_keyword_is_flagged_and_masked_whole(keyword: str) -> None:
    """Given names ending like a particle (``정은``, ``예서``, ``수이``) and two-syllable names with
    and without a particle (``김철에게``): 0/80 and 0/200 were found after deidko2f. The particle is
    shown after the name's mask, as ``person_name`` shows it, so one name is one token (deidko3)."""
    texts = [
        keyword + s + g
        for s in SURNAMES
        for g in ("정은", "영은", "경은", "성은", "승은", "예서", "지서", "수이")
    ]
    texts += [keyword + s + g for s in SURNAMES for g in "철준민훈"]
    assert [text for text in texts if not _masked_whole(keyword, text)] == []
    glued = [(s + g, p) for s in SURNAMES for g in "철준민훈" for p in ("에게", "의", "을", "과")]
    assert [
        name + p
        for name, p in glued
        if not _named(keyword + name + p) or MASK(keyword + name + p) != MASK(keyword + name) + p
    ] == []


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("이름김지은", "person_name"),
        ("pt 명김지은", "person_name"),
        ("피검자 명김지은", "person_name"),
        ("환자_명홍길동", "person_name"),
        ("이름김정은", "possible_name"),
        ("이름김철에게", "possible_name"),
        ("환자명이준에게", "possible_name"),
    ],
)
def test_the_strict_shape_is_an_identifier_any_other_glued_name_a_warning(text: str, kind: str) -> None:
    """The strict shape after any name keyword, ``명`` after ``pt``/``피검자``/``환자_`` too, is
    ``person_name``; the rest ``possible_name`` (quasi)."""
    assert [found for found, _ in _named(text)] == [kind]


@pytest.mark.parametrize("text", ["이름변경", "성명기재", "이름구분", "이름기타", "이름변경을", "이름정보는"])
def test_a_two_syllable_glued_word_is_at_most_a_warning(text: str) -> None:
    """These 841 words were identifiers (errors) again after deidko2f: now quasi warnings."""
    assert _named(text) == [("possible_name", "quasi")]


@pytest.mark.parametrize(
    "text",
    [
        "이름이죠",
        "이름인데",
        "이름이나",
        "이름표를",
        "성명서를",
        "이름 이 누락",
        "이름 이 다름",
        "이름 이 기재 안됨",
    ],
)
def test_grammar_after_a_keyword_is_no_name(text: str) -> None:
    """The copula's endings, a syllable and a particle, and ``이`` before a word saying the name
    is missing (``이름 이 누락`` was a ``person_name``) are no name."""
    assert _named(text) == []


@pytest.mark.parametrize(
    ("text", "keyword"),
    [("성명: 남궁정은", "성명: "), ("환자 선우경은", "환자 "), ("성명: 남궁민은", "성명: ")],
)
def test_a_two_syllable_surname_name_ending_in_eun_is_masked_whole(text: str, keyword: str) -> None:
    """``은`` after a final consonant was read as a particle and left in clear."""
    assert _masked_whole(keyword, text)
