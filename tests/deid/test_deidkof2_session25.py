"""Session 25 (deidkof2): the second review of deidko. ``환자:``, ``피검자:``, ``pt:`` and ``=``
before a word a quasi-identifier, as without the ``:``; a date read across a control character
masked beside one the pattern finds; a Korean name masked without its particle or honorific, one
token for one name and no part of its word left in clear."""

from __future__ import annotations

import re

import pytest

from dqm.identifiers import DeidSettings, Masker, find

from .test_deidko_session25 import _batch_check

S = DeidSettings()
MASK = Masker(S, b"k" * 32)


def _named(text: str) -> list[tuple[str, str]]:
    return [
        (hit.name, hit.level)
        for hit in find(text, S, "clinical")
        if hit.name in ("person_name", "possible_name")
    ]


@pytest.mark.parametrize(
    "text",
    [
        "환자: 정상",
        "환자: 양호",
        "환자: 고령",
        "환자: 소견 없음",
        "환자: 유방암",
        "피검자: 성인",
        "PT: 정상",
        "PT=연장",
        "pt: 연장됨",
        "환자 : 정상",
        "환자=조직검사",
    ],
)
def test_a_word_after_a_colon_keyword_is_a_quasi_identifier(text: str) -> None:
    """``환자:``, ``피검자:``, ``pt:`` (prothrombin time too) or ``=`` label a word as often as a
    name (35 % of the words ``benchmarks/korean_name_words.py`` holds were identifiers, an error
    failing the delivery): a warning, still masked."""
    assert _named(text) == [("possible_name", "quasi")]
    word = re.split("[:=] ?", text, maxsplit=1)[1].split()[0]
    assert word not in MASK(text)


@pytest.mark.parametrize(
    "text",
    [
        "환자명: 김철수",
        "피검자명: 김철수",
        "성명: 김철수",
        "이름=김철수",
        "Patient name: 김철수",
        "환자명 김철수",
    ],
)
def test_a_name_labelling_keyword_stays_an_identifier(text: str) -> None:
    assert _named(text) == [("person_name", "identifier")]
    assert "김철수" not in MASK(text)


@pytest.mark.parametrize(
    "name",
    [
        "2024-03-01_2024\x01-03-02.svs",
        "3f2a1b9c-2024-0101-8abc-0123456789ab_2024\x01-03-05.svs",
        "2024-03-01_2024\x7f-03-02.svs",
    ],
)
def test_a_date_beside_one_the_pattern_finds_is_masked(name: str) -> None:
    """``find`` reads the date across the control character; the raw pattern finds another (or a
    UUID's date-shaped digits that ``find`` passes over): the example shown has no digit in clear
    (it masked the pattern's match only and showed the date ``find`` flagged)."""
    (found,) = _batch_check("deid.file_name_dates", files=(f"slides/{name}",))
    assert found.code == "DEID_FILENAME_DATES"
    shown = found.message.rsplit("slides/", 1)[1]
    assert not re.search(r"\d", shown), shown


@pytest.mark.parametrize(
    "path",
    [
        "slides/2024-03-01/2024\x01-03-02.svs",
        "slides/2024\x01-03-02/case_2024-03-01.svs",
        "slides/2024-03-01/scan&#50;024-03-02.svs",
        "slides/2024-03-01/2024\u200b-03-02.svs",
    ],
)
def test_a_date_in_another_part_of_the_path_is_masked(path: str) -> None:
    """A part read only as written does not make the whole path plain (a second review: the dated
    folder was shown ``20********``, the file's date read across a control character in clear),
    and a path of two dated parts is shown once."""
    (found,) = _batch_check("deid.file_name_dates", files=(path,))
    examples = found.message.rsplit(": ", 1)[1]
    assert not re.search(r"\d", examples), examples
    assert examples.count("slides/") == 1, examples


def test_a_date_the_pattern_finds_is_masked_as_before() -> None:
    (found,) = _batch_check("deid.file_name_dates", files=("slides/case_2024-03-01.svs",))
    assert found.message.endswith("slides/case_20********.svs")


def _token(text: str) -> str:
    (token,) = re.findall(r"\[[A-Z_]+-[0-9a-f]+\]", MASK(text))
    return token.split("-")[-1]


@pytest.mark.parametrize(
    ("texts", "tails"),
    [
        (
            ["환자 김철수", "환자 김철수님", "환자 김철수에게서", "환자: 김철수님께서", "환자명: 김철수씨의"],
            ["님", "에게서", "님께서", "씨의"],
        ),
        (["환자 남궁민수", "환자 남궁민수님", "pt_남궁민수에게"], ["님", "에게"]),
        (["환자 김지은", "환자 김지은이", "성명: 김지은님"], ["이", "님"]),
        (["환자 김철", "환자 김철님", "환자 김철에게"], ["님", "에게"]),
    ],
)
def test_one_name_one_token_and_no_fragment(texts: list[str], tails: list[str]) -> None:
    """A name glued to a particle or an honorific is masked without it: the same token wherever it
    stands (``환자 김철수`` and ``환자 김철수님`` had two), and the particle shown whole after it
    (``김철수에`` was masked, ``게서`` left). ``find`` flags as many syllables as the masker masks."""
    assert len({_token(text) for text in texts}) == 1
    for text in texts[1:]:
        tail = next(t for t in sorted(tails, key=len, reverse=True) if text.endswith(t))
        assert re.fullmatch(r".*\[[A-Z_]+-[0-9a-f]+\]" + tail, MASK(text)), MASK(text)
        word = re.split("[ :_]+", text)[-1]
        (hit,) = [hit for hit in find(text, S, "clinical") if hit.name in ("person_name", "possible_name")]
        assert hit.length == len(word) - len(tail)


@pytest.mark.parametrize(
    "text",
    [
        "환자 김철수에게는",
        "환자 김철수와의",
        "환자 김철수님께서는",
        "환자 김철수로부터",
        "성명: 김철수에게는",
    ],
)
def test_a_name_with_two_particles_is_one_token_and_leaves_none(text: str) -> None:
    masked = MASK(text)
    assert "김철수" not in masked and _token(text) == _token("환자 김철수")
    tail = text.split("김철수", 1)[1]
    assert masked.endswith("]" + tail), masked  # the particles kept whole after the token
