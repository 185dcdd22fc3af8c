"""Task deidf2 (session 24): the second review of the invisible characters' reading.

A run of characters nobody sees is read as nothing, so an identifier it parts is one: the masker's
window overlap and the cut's look-back are measured on the text as read (a window whose written
overlap reads shorter takes a longer one; a cut reaches back over the run as over separators).
JSON's surrogate pair of a character past U+FFFF (``\\udb40\\udc41``, as ``json.dumps`` writes
U+E0041) is one character, read past as the raw one is."""

from __future__ import annotations

import json

import pytest

from dqm.findings import clip
from tests.deid.deid_helpers import default_masker, kinds_found

Z = "\u200b"


@pytest.mark.parametrize(
    ("text", "secret", "kind"),
    [
        ("y " * 1915 + "RRN 900101" + Z * 300 + "-1234567 end", "1234567", "korean_rrn"),
        (Z * 5000 + "RRN 900101-1234567", "1234567", "korean_rrn"),
        ("y " * 1915 + "MRN 1234" + Z * 300 + "5678 end", "5678", "hospital_record_number"),
        ("y " * 1915 + "010-1234" + Z * 300 + "-5678 end", "5678", "phone_number"),
        ("y " * 1915 + "RRN 900101" + "&#8203;" * 300 + "-1234567 end", "1234567", "korean_rrn"),
        ("y " * 1915 + "RRN 900101" + "\\u200b" * 300 + "-1234567 end", "1234567", "korean_rrn"),
    ],
)
def test_invisible_run_at_a_window_edge_is_masked(text: str, secret: str, kind: str) -> None:
    # the run crosses the masker's 4096-character window: the overlap written read as nothing
    assert kind in kinds_found(text)
    masked = default_masker()(text)
    assert secret not in masked.replace(Z, "").replace("&#8203;", "").replace("\\u200b", "")


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("RRN 900101" + Z * 3000 + "-1234567 end" + "x" * 3000, "900101"),
        ("MRN 1234" + Z * 3000 + "5678 end " + "x" * 3000, "1234"),
        ("Patient name: Hong" + Z * 3000 + "Gildong" + "x" * 3000, "Hong"),
    ],
)
def test_cut_reaches_back_over_invisible_characters(text: str, kept: str) -> None:
    # a cut after the run must see the identifier's start 3,000 characters (none read) before it
    assert kept not in clip(text, 3010)


@pytest.mark.parametrize("hidden", ["\U000e0041", "\U000e0100", "\U000e01ef", "\U0001d173"])
@pytest.mark.parametrize("layers", [1, 2])
def test_surrogate_pair_escape_is_one_invisible_character(hidden: str, layers: int) -> None:
    text = "RRN 900101" + hidden + "-1234567"
    for _ in range(layers):
        text = json.dumps({"t": text})
    assert "korean_rrn" in kinds_found(text)
    assert "1234567" not in default_masker()(text)


@pytest.mark.parametrize(
    "row",
    [
        "Patient Name\tDate Scanned\tScanner",
        "Patient Name\tSlide Stain\tBlock",
        "Patient Name\tSample Collection\u00a0Date",
        "Patient Name\tSpecimen Pathologist",
        "PATIENT NAME  SLIDE STAIN",
        "Patient Name\tDate Accessioned\t45",
    ],
)
def test_header_row_holds_no_name(row: str) -> None:
    assert "person_name" not in kinds_found(row)
    assert default_masker()(row) == row


@pytest.mark.parametrize(
    ("text", "given"),
    [
        ("Patient Name\tSample Joe", "Joe"),
        ("Patient Name\tSample Joe\u00a0Kim", "Kim"),
        ("Patient Name\tDate Kim\t45", "Kim"),
    ],
)
def test_header_word_surname_still_a_name(text: str, given: str) -> None:
    assert "person_name" in kinds_found(text)
    assert given not in default_masker()(text)


@pytest.mark.parametrize(
    "text",
    [
        "Patient Name\tSample Joe final",
        "Patient Name\tSample Joe side",
        "Patient Name\tDate Anil primary",
        "Patient name:  Age Kim part of study",
        "Patient Name\tSample Joe day 3",
        "Patient Name\tSample Joe, Pathologist",
        "Patient Name\tStage John Final",
    ],
)
def test_a_common_word_after_a_header_word_surnames_given_names_leaves_it_a_name(text: str) -> None:
    """The header phrases' second words (``final``, ``side``, ``day``, ``primary``) were refused
    after given names too, so any of them after the name read as a header row: neither flagged
    nor masked (the third review). After given names only the words that end a header's phrase
    count (``Sample Collection Date``)."""
    assert "person_name" in kinds_found(text)
    shown = default_masker()(text)
    assert "Joe" not in shown and "Anil" not in shown and "Kim" not in shown and "John" not in shown
