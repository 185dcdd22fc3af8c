"""Session 27 (lastfixA1), after the last review: after ``환자명은`` a word about the name that goes on as a
compound noun (``가명화``, ``가명코드``, ``동명이인``, ``전산오류``) was a ``person_name`` identifier, and a
de-identified batch's README failed the gate; a Korean keyword's comma lost the name after it (``성명,홍길동``);
a name before ``이었다``, ``이라고``, ``님이세요`` was in clear or masked as another token than the name."""

from __future__ import annotations

from pathlib import Path

import pytest

from dqm.profile import load_profile
from dqm.runner import RunOptions, run_batch
from tests.helpers import write_tiny_batch

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


@pytest.mark.parametrize(
    ("text", "name"),
    [("성명,홍길동", "홍길동"), ("이름,홍길동,45", "홍길동"), ("환자명,홍길동", "홍길동"), ("성함,김철수", "김철수"),
     ("성함, 김철수", "김철수"), ("성명, 홍길동", "홍길동"), ("이름,John Smith", "Smith"),
     ("Patient Name  , John Smith", "Smith")],
)  # fmt: skip
def test_a_keyword_s_comma_before_a_name_is_its_colon(text: str, name: str) -> None:
    """A CSV row's name after a Korean keyword was no finding since e9fef0d1 (every Korean comma listed)."""
    assert _named(text) == [("person_name", "identifier")]
    assert name not in MASK(text)


@pytest.mark.parametrize(
    "text",
    [
        "개인 식별자(이름, 주민등록번호 등)",
        "같은 이름, 포트 없이",
        "이름, 나이",
        "성명,성별",
        "이름, 성별, 나이",
    ],
)
def test_a_korean_keyword_s_comma_in_a_list_stays_none(text: str) -> None:
    assert _named(text) == []
    assert MASK(text) == text


def _other_text_findings(tmp_path: Path, files: dict[str, bytes]) -> list[tuple[str, str]]:
    root = write_tiny_batch(tmp_path / "b")
    for name, data in files.items():
        (root / name).write_bytes(data)
    result = run_batch(root, load_profile(), RunOptions(workers=1))
    return [(f.code, f.location.file) for f in result.findings if f.code.startswith("DEID_OTHER_TEXT")]


def test_a_korean_csv_row_s_name_is_found_in_a_batch(tmp_path: Path) -> None:
    found = _other_text_findings(tmp_path, {"pairs.csv": "성명,홍길동\n나이,45\n".encode()})
    assert ("DEID_OTHER_TEXT_IDENTIFIER", "pairs.csv") in found


def test_a_de_identified_batch_s_readme_fails_no_gate(tmp_path: Path) -> None:
    found = _other_text_findings(tmp_path, {"README.txt": "환자명은 가명화 처리하였습니다.\n".encode()})
    assert [code for code, _ in found if code == "DEID_OTHER_TEXT_IDENTIFIER"] == []


@pytest.mark.parametrize("keyword", ["환자명은 ", "성명: "])
@pytest.mark.parametrize(
    "copula", ["이었다", "이었음", "이었는데", "이라고", "이요", "임", "님이세요", "이세요"]
)
def test_a_name_before_these_copula_endings_is_one_token_with_the_name(keyword: str, copula: str) -> None:
    """``환자명은 홍길동이었다`` was none, in clear; ``성명: 홍길동이었다`` masked ``홍길동이``, another token."""
    text = keyword + "홍길동" + copula
    assert _named(text) == [("person_name", "identifier")]
    masked = MASK(text)
    assert masked.endswith("]" + copula)
    assert masked == MASK(keyword + "홍길동") + copula
