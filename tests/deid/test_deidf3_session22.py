"""Task deidf3 (session 22): the third review of the de-identification fixes, on its inputs.

A cut after a long name's whole first word reads a reference between the name's words
(``&nbsp;``, ``&#32;``, ``&#x20;``, ``&Tab;``) as :func:`find` reads it, so it keeps no part of
the name; a vertical tab, a form feed and U+001C to U+001F part a name's words as a tab does, as
docs/formats.md says."""

from __future__ import annotations

import pytest

from dqm.findings import clip
from dqm.identifiers import cut_outside_identifiers, find
from tests.deid.deid_helpers import SETTINGS, default_masker


@pytest.mark.parametrize("gap", ["&nbsp;", "&#32;", "&#x20;", "&Tab;", " &nbsp; ", "&#44;"])
@pytest.mark.parametrize("keyword", ["Patient name: ", "pt. name ", "patient's name:\t"])
@pytest.mark.parametrize("upper", [False, True])
def test_a_cut_around_a_reference_after_a_long_first_word_keeps_no_part_of_the_name(
    gap: str, keyword: str, upper: bool
) -> None:
    word = "W" + ("O" if upper else "o") * 1_499
    last = "HUBERT" if upper else "Hubert"
    text = keyword + word + gap + last + "." * 3_000
    assert [h.name for h in find(text, SETTINGS, "annotation")] == ["person_name"]
    end = len(keyword) + len(word)
    for cut in range(end - 2, end + len(gap) + 3):
        shown = default_masker()(clip(text, cut))
        # failed on b386714 for each cut from the word's end to the reference's: the word shown
        assert word[:6] not in shown and last not in shown, cut


@pytest.mark.parametrize("gap", ["&nbsp;", "&#32;", "&Tab;"])
def test_a_cut_inside_a_reference_between_a_names_words_goes_back_to_the_keyword(gap: str) -> None:
    text = "Patient name: W" + "o" * 1_499 + gap + "Hubert" + "." * 3_000
    for inside in range(len(gap) + 1):
        assert cut_outside_identifiers(text, 1_514 + inside) == 14  # failed on b386714


@pytest.mark.parametrize("after", ["&amp;Hubert", "&#10;Hubert", "&eacute;Hubert", "&nbsp;hubert"])
def test_a_reference_that_parts_no_name_leaves_the_cut(after: str) -> None:
    word = "W" + "o" * 1_499
    text = "Patient name: " + word + after + "." * 3_000
    # one capitalised word after a person's keyword is a name since session 31's deid15 (no hit
    # before): the word alone, the reference after it parting no second word from it
    assert [(h.name, h.length) for h in find(text, SETTINGS, "annotation")] == [("person_name", len(word))]
    assert word in clip(text, 14 + len(word))


@pytest.mark.parametrize("gap", ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "&#11;", "&#x1F;"])
def test_a_vertical_tab_a_form_feed_and_asciis_separators_part_a_names_words(gap: str) -> None:
    text = f"Patient name: Hong{gap}Gildong seen"
    assert [h.name for h in find(text, SETTINGS, "annotation")] == ["person_name"]  # failed on b386714
    assert "Gildong" not in default_masker()(text)


@pytest.mark.parametrize("gap", ["\n", "\r", "&#10;"])
def test_a_line_feed_still_ends_a_name(gap: str) -> None:
    # `Hong` alone, a one-word name since session 31's deid15 (no hit before): `Gildong` not with it
    hits = find(f"Patient name: Hong{gap}Gildong seen", SETTINGS, "annotation")
    assert [(h.name, h.length) for h in hits] == [("person_name", 4)]


@pytest.mark.parametrize("inside", [1, 3, 1_000, 2_001, 2_003, 2_008])
def test_a_cut_inside_a_reference_longer_than_the_cuts_search_goes_back_to_the_keyword(inside: int) -> None:
    gap = "&#" + "0" * 2_000 + "32;"  # its digits led by zeros: one space as find reads it
    text = "Patient name: W" + "o" * 1_499 + gap + "Hubert" + "." * 3_000
    assert [h.name for h in find(text, SETTINGS, "annotation")] == ["person_name"]
    assert cut_outside_identifiers(text, 1_514 + inside) == 14  # failed on b386714
    assert "Wooooo" not in default_masker()(clip(text, 1_514 + inside))


@pytest.mark.parametrize("cut", [1_530, 1_533, 1_536])
def test_a_cut_inside_the_next_word_after_a_reference_goes_back_to_the_keyword(cut: int) -> None:
    text = "Patient name: W" + "o" * 1_499 + "&#" + "0" * 10 + "32;" + "Hubertus" + "." * 3_000
    assert cut_outside_identifiers(text, cut) == 14  # failed on b386714: the word kept whole
