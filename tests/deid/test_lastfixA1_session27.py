"""Session 27 (lastfixA1), after the last review: after ``환자명은`` a word about the name that goes on as a
compound noun (``가명화``, ``가명코드``, ``동명이인``, ``전산오류``) was a ``person_name`` identifier, and a
de-identified batch's README failed the gate; a Korean keyword's comma lost the name after it (``성명,홍길동``);
a name before ``이었다``, ``이라고``, ``님이세요`` was in clear or masked as another token than the name."""

from __future__ import annotations

import pytest

from .test_deidko2_session26 import MASK, _named


@pytest.mark.parametrize(
    "word",
    ["가명화", "가명코드", "가명번호", "가명인", "동명이인", "동일인", "정정요망", "기재요망", "기재누락", "변경전",
     "변경후", "정정중", "전산상", "전산오류", "오류있음", "위와같음", "표시생략", "변경불가", "기재안됨"],
)  # fmt: skip
def test_a_word_about_the_name_that_goes_on_is_a_possible_name_not_an_identifier(word: str) -> None:
    text = "환자명은 " + word
    assert _named(text) == [("possible_name", "quasi")]
    assert word not in MASK(text)


def test_a_de_identified_batch_s_readme_is_no_identifier() -> None:
    text = "환자명은 가명화 처리하였습니다."
    assert _named(text) == [("possible_name", "quasi")]
    assert MASK(text).endswith("] 처리하였습니다.")


@pytest.mark.parametrize("word", ["변경한", "기재한", "동명한", "가명한", "정정하", "기재하"])
def test_a_stem_and_a_one_syllable_ending_alone_is_masked(word: str) -> None:
    """Real names start with them (``변`` + ``경한``, ``정`` + ``정하``): they were none, in clear."""
    text = "환자명은 " + word
    assert _named(text) == [("possible_name", "quasi")]
    assert word not in MASK(text)


@pytest.mark.parametrize(
    "text",
    ["환자명은 가명", "환자명은 가명처리", "환자명은 변경됨", "환자명은 변경한 이름", "환자명은 기재하지 않음",
     "환자명은 가명으로", "환자명은 가명의 것", "환자명은 기재한다", "환자명은 정정해야 함"],
)  # fmt: skip
def test_a_stem_alone_or_with_a_prose_ending_stays_no_name(text: str) -> None:
    assert _named(text) == []
    assert MASK(text) == text
