"""Task deidf2 (session 22): the second review of the de-identification fixes, on its inputs.

A ``&`` that starts no character reference (a URL's query) is decoded not at all, and a window
once; a cut after a long name's whole first word keeps no part of a name :func:`find` flags
across it; an ISO edition before ISO's first is an id's whatever its number's digits; a tab,
U+0085 and U+2028 part a name's words, as docs/formats.md says."""

from __future__ import annotations

import re
from typing import Any

import pytest

from dqm import identifiers
from dqm.findings import clip
from dqm.identifiers import find, looks_identifying
from tests.deid.deid_helpers import SETTINGS, default_masker


class _CountingEscape:
    """:data:`dqm.identifiers._ESCAPE` with each text it decodes (``sub``/``subn``) kept."""

    def __init__(self, rx: re.Pattern[str]) -> None:
        self.rx, self.decoded = rx, []

    def sub(self, repl: Any, text: str) -> str:
        self.decoded.append(text)
        return self.rx.sub(repl, text)

    def subn(self, repl: Any, text: str) -> tuple[str, int]:
        self.decoded.append(text)
        return self.rx.subn(repl, text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.rx, name)


@pytest.fixture
def escape(monkeypatch: pytest.MonkeyPatch) -> _CountingEscape:
    counting = _CountingEscape(identifiers._ESCAPE)
    monkeypatch.setattr(identifiers, "_ESCAPE", counting)
    return counting


@pytest.mark.parametrize("unit", ["see https://x.org/q?id=7&page=2&sort=asc now. ", "a=1&b=2&c "])
def test_an_ampersand_that_starts_no_reference_is_not_decoded(escape: _CountingEscape, unit: str) -> None:
    text = unit * 2_000
    assert default_masker()(text) == text
    assert escape.decoded == []  # failed on 89611d0: each window decoded three times, twice over


def test_a_window_is_decoded_once(escape: _CountingEscape) -> None:
    text = "".join(f"note&#32;{i} &amp; a=1&b=2 " for i in range(2_000))  # no two windows alike
    default_masker()(text)
    assert escape.decoded
    assert len(escape.decoded) == len(set(escape.decoded))  # failed on 89611d0: by the patterns and again


@pytest.mark.parametrize("gap", [" ", "^", "   ", ", "])
@pytest.mark.parametrize("length", [600, 1_500])
def test_a_cut_after_a_long_first_word_keeps_no_part_of_the_name(gap: str, length: int) -> None:
    word = "W" + "o" * (length - 1)
    text = "Patient name: " + word + gap + "Hubert" + "." * 3_000
    assert [h.name for h in find(text, SETTINGS, "annotation")] == ["person_name"]
    for inside in range(len(gap)):
        shown = default_masker()(clip(text, 14 + length + inside))
        assert "Wooooo" not in shown  # failed on 89611d0: the whole first word shown


@pytest.mark.parametrize("after", [". seen", " hubert", "\nHubert"])
def test_a_cut_after_a_long_word_that_is_no_name_keeps_it(after: str) -> None:
    word = "W" + "o" * 1_499
    text = "Patient name: " + word + after + "." * 3_000
    # the word alone is a name since session 31's deid15 (one word after a person's keyword);
    # what follows it is not, and the cut after it keeps it (it is whole on the kept side)
    assert [(h.name, h.length) for h in find(text, SETTINGS, "annotation")] == [("person_name", len(word))]
    assert word in clip(text, 14 + len(word))


@pytest.mark.parametrize("value", ["ISO 639:1950", "ISO 216:1950", "ISO 639-2:1948", "ISO 15189:1950"])
def test_an_iso_edition_before_isos_first_is_an_id_of_any_digits(value: str) -> None:
    assert looks_identifying(value)  # failed on 89611d0 for three digits: taken for a standard


@pytest.mark.parametrize("value", ["ISO 639:2002", "ISO 216:1975", "ISO 639-2:1998"])
def test_an_iso_edition_of_three_digits_issued_is_a_standard(value: str) -> None:
    assert not looks_identifying(value)


@pytest.mark.parametrize("gap", ["\t", "&Tab;", "&#9;", "\u2028", "&#x2028;", "\u0085", "\u2029"])
def test_a_tab_and_a_line_separator_part_a_names_words(gap: str) -> None:
    text = f"Patient name: Hong{gap}Gildong seen"
    assert [h.name for h in find(text, SETTINGS, "annotation")] == ["person_name"]  # failed on 89611d0
    assert "Gildong" not in default_masker()(text)
