"""Session 27 (deidko3f2), the second review of deidko3f: the stems of words about a name after
``환자명은`` (``정정``, ``변경``, ``기재``) took names that start like them (``정정희``, ``변경희``, ``기재훈``)
for prose, in clear; the copula's open stems glued to ``이름`` took ``이군자``, ``인가영`` for grammar; a name
before the copula (``환자명은 홍길동입니다``) was none, or masked with part of the copula left in clear."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from dqm.identifiers import _KO_SURNAMES

from .test_deidko2_session26 import MASK, _named

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from hangul_supplement import GIVEN_NAMES


@pytest.mark.parametrize("text", ["환자명은 정정희", "환자명은 기재훈", "환자명은 변경희", "환자명은 가명숙",
                                  "환자명은 동명희", "환자명은 표시우", "환자 명이 정정숙"])  # fmt: skip
def test_a_name_that_starts_like_a_word_about_the_name_is_a_name(text: str) -> None:
    """24 of 17,136 names were none after deidko3f: a stem excluded whatever followed it. Since lastfixA1 a
    ``possible_name`` (masked, a warning): the stem and more Hangul is a compound noun as often (``가명화``)."""
    assert _named(text) == [("possible_name", "quasi")]
    assert text.split()[-1] not in MASK(text)


def test_every_surname_and_given_name_after_the_particle_keyword_is_flagged() -> None:
    """Each Hangul surname times each two-syllable given name of the supplement (17,136 names)."""
    surnames = [c for c in _KO_SURNAMES if "가" <= c <= "힣"]
    names = [s + g for s in surnames for g in GIVEN_NAMES if len(g) == 2]
    assert len(names) == 17136
    assert [name for name in names if not _named("환자명은 " + name)] == []


@pytest.mark.parametrize(
    "text",
    ["환자명은 기재 안됨", "환자명은 가명처리", "환자명은 동일한 사람", "환자명은 공란입니다", "환자명은 기재하지 않음",
     "환자명은 변경되었음", "환자명은 표시하지 않음", "환자명은 수정 필요", "환자명은 확인을 요함", "환자명은 오류로 표시"],
)  # fmt: skip
def test_a_word_about_the_name_and_its_ending_stays_no_name(text: str) -> None:
    assert _named(text) == []
    assert MASK(text) == text


@pytest.mark.parametrize("keyword", ["이름", "성함"])
@pytest.mark.parametrize("name", ["이군자", "이래원", "이던희", "인가희", "인가영"])
def test_a_name_that_starts_like_a_copula_stem_glued_to_a_keyword_is_a_name(keyword: str, name: str) -> None:
    """``이군``, ``이래``, ``이던``, ``인가`` with any Hangul after them were grammar: the names were none."""
    text = keyword + name
    assert _named(text) == [("person_name", "identifier")]
    assert MASK(text).startswith(keyword + "[PERSON_NAME-")
    assert name[1:] not in MASK(text)


@pytest.mark.parametrize("keyword", ["이름", "성함"])
@pytest.mark.parametrize(
    "ending", ["이군", "이군나", "이래서", "이래도", "이던가", "이던지", "인가", "인가요", "인가보다"]
)
def test_the_copula_s_limited_stems_and_their_endings_are_no_name(keyword: str, ending: str) -> None:
    assert _named(keyword + ending) == []


@pytest.mark.parametrize(
    ("text", "copula"),
    [
        ("환자명은 홍길동입니다", "입니다"),
        ("환자명은 홍길동이다", "이다"),
        ("환자명은 홍길동이고 나이는 45", "이고 나이는 45"),
        ("환자 명이 홍길동이며", "이며"),
        ("환자명은 홍길동님이에요", "님이에요"),
        ("성명: 홍길동입니다", "입니다"),
        ("성명: 홍길동이고", "이고"),
        ("이름: 홍길동예요", "예요"),
    ],
)
def test_a_name_before_the_copula_is_masked_as_the_name_alone(text: str, copula: str) -> None:
    """``환자명은 홍길동입니다`` was none, in clear; ``성명: 홍길동입니다`` masked ``홍길동입`` under another
    token and showed ``니다``."""
    assert _named(text) == [("person_name", "identifier")]
    masked = MASK(text)
    assert masked.endswith("]" + copula)
    assert masked[masked.index("[") :].split("]")[0] + "]" == MASK("성명: 홍길동")[4:]


@pytest.mark.parametrize(
    ("text", "name", "after"),
    [("성명: 김철입니다", "김철", "입니다"), ("환자명은 김지은이고", "김지은", "이고")],
)
def test_a_short_name_before_the_copula_is_one_token(text: str, name: str, after: str) -> None:
    token = MASK("성명: " + name)[len("성명: ") :]
    assert MASK(text) == text.replace(name + after, token + after)


@pytest.mark.parametrize(
    "text", ["환자명은 정상입니다", "환자명은 이번입니다", "환자 정상입니다", "환자명은 변경이다"]
)
def test_a_word_before_the_copula_is_no_name(text: str) -> None:
    assert _named(text) == []
