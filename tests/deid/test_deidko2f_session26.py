"""Session 26 (deidko2f): what the review of deidko2 found. A name glued to a Korean keyword whose
given name ends like a particle (``이름김지은``, ``환자명김민서``) or is one syllable (``이름김철``)
was missed; ``환자 명가은`` read ``가은`` as two particles; a Hanja, a spaced or a dotted name after a
gap longer than a window's overlap was flagged by ``find`` and shown by the masker; ``이름 이 없음``
was a name; ``성함`` glued to a name was no keyword; ``황보라가`` and ``황보라`` were two tokens."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import dqm.identifiers as identifiers

from .test_deidko2_session26 import MASK, _named

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from hangul_supplement import GIVEN_NAMES


@pytest.mark.parametrize("keyword", ["이름", "성명", "환자명", "성함"])
def test_every_name_glued_to_a_keyword_is_found_and_masked_whole(keyword: str) -> None:
    """Ten surnames times the supplement's given names (1,680 names, ``김지은``, ``김민서``) glued
    to a keyword: each an identifier, masked to the keyword (two-syllable names, ``이름김철``, are
    ``possible_name`` since deidko2f2: ``test_deidko2f2_session26``)."""
    missed = []
    for surname in "김이박최정강조윤장임":
        for given in GIVEN_NAMES:
            text = keyword + surname + given
            masked = MASK(text)
            if _named(text) != [("person_name", "identifier")] or masked[len(keyword)] + masked[-1] != "[]":
                missed.append(text)
    assert missed == []


@pytest.mark.parametrize(
    "text",
    [
        "이름으로",
        "이름표를",
        "성명서를",
        "이름바꾸기",
        "이름에서",
        "성명란에",
        "이름해서",
        "이름이나",
        "이름이고",
    ],
)
def test_a_keyword_glued_to_an_ordinary_word_stays_no_name(text: str) -> None:
    """The glued words deidko2 stopped reading as names stay so: a particle's syllable ends them
    (``을``, ``는``, ``에서``: ``은`` only after a final consonant, ``서`` after none)."""
    assert _named(text) == []


@pytest.mark.parametrize(
    ("text", "kind", "secret"),
    [
        ("환자 명가은", "possible_name", "가은"),
        ("환자 명이은", "possible_name", "이은"),
        ("환자 명도은", "possible_name", "도은"),
        ("환자 명김지은", "person_name", "김지은"),
        ("환자 명김지은 내원", "person_name", "지은"),
    ],
)
def test_a_name_after_myeong_is_not_read_as_two_particles(text: str, kind: str, secret: str) -> None:
    """``가은`` after ``명`` is no particle (``가`` takes none after it): a name; ``명김지은`` is
    ``환자명`` and ``김지은``, masked whole (``은`` was left in clear)."""
    assert [found for found, _ in _named(text)] == [kind]
    assert secret not in MASK(text)
    assert "은" not in MASK(text).split("]")[-1]


@pytest.mark.parametrize(
    ("keyword", "name", "secret"),
    [
        ("성명:", "洪吉童", "吉童"),
        ("성명:", "홍 길동", "길동"),
        ("성명:", "홍·길동", "길동"),
        ("patient name:", "洪吉童", "吉童"),
        ("patient name:", "홍 길동", "길동"),
        ("성명:", "남궁 민수", "민수"),
    ],
)
@pytest.mark.parametrize("gap", [300, 1_000, 5_000])
def test_a_window_end_inside_a_name_after_a_long_gap(
    keyword: str, name: str, secret: str, gap: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After more than a window's overlap of spaces (``_WINDOW_OVERLAP``) a Hanja, a spaced or a
    dotted name cut by a window's end was shown though ``find`` flagged it. Each place a window may
    end inside the name is tried, and the windows the masker read are recorded to prove one did."""
    windows: list[str] = []
    plain_read = identifiers._plain_read

    def recording(window: str):  # type: ignore[no-untyped-def]
        windows.append(window)
        return plain_read(window)

    monkeypatch.setattr(identifiers, "_plain_read", recording)
    cut_inside = 0
    for end in (4_096, 8_192, 16_384):
        for inside in range(1, len(name)):
            before = end - len(keyword) - gap - inside
            if before < 0:
                continue
            text = "." * before + keyword + " " * gap + name + " 끝"
            windows.clear()
            assert _named(text), text[-20:]
            assert secret not in MASK(text), (before, gap)
            cut_inside += any(window.endswith(" " + name[:inside]) for window in windows)
    assert cut_inside > 0


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("이름 이 없음", ""),
        ("이름 김 외 2명", ""),
        ("성명: 김 등", ""),
        ("환자 명에게는", ""),
        ("성함홍길동", "길동"),
        ("성함홍길동님", "길동"),
        ("성함: 홍길동", "길동"),
    ],
)
def test_a_function_word_is_no_given_name_and_seongham_glued_is_a_keyword(text: str, secret: str) -> None:
    """``이름 이 없음`` was a name (``이`` and ``없음``), ``성함홍길동`` none (``성함`` was no glued keyword)."""
    assert _named(text) == ([("person_name", "identifier")] if secret else [])
    assert not secret or secret not in MASK(text)


@pytest.mark.parametrize(
    ("bare", "with_particle"),
    [("황보라", "황보라가"), ("사공민", "사공민이"), ("남궁민", "남궁민을")],
)
def test_one_name_one_token_after_a_two_syllable_surname(bare: str, with_particle: str) -> None:
    """``성명: 황보라가`` and ``성명: 황보라`` were two tokens (``라가`` read as a given name): a given
    name's last syllable is no particle's (``은`` only after no final consonant: ``남궁지은``)."""
    token = MASK("성명: " + bare)
    assert token.endswith("]")
    assert MASK("성명: " + with_particle) == token + with_particle[len(bare) :]
    assert MASK("성명: 남궁지은").endswith("]")
