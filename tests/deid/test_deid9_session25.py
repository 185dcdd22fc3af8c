"""Task deid9 (session 25): de-identification leftovers of session 24.

An invisible character's escape written twice (``\\\\u200b``, a JSON string inside a JSON string)
at a cut; dashes that look like ``-`` and full-width digits inside a resident number or a phone
number, a tab or several spaces between a resident number's groups; a character nobody sees
inside a romanised name in capitals and inside a header's phrase; surrogate references."""

from __future__ import annotations

import pytest

from dqm.findings import clip
from tests.deid.deid_helpers import CUT_CASES, assert_no_name, default_masker, kinds_found

TOKEN = {
    "korean_rrn": "[KOREAN_RRN-",
    "phone_number": "[PHONE_NUMBER-",
    "hospital_record_number": "[HOSPITAL_RECORD_NUMBER-",
    "person_name": "[PERSON_NAME-",
}


def assert_found_and_masked(text: str, kind: str, parts: tuple[str, ...]) -> None:
    """``find`` flags ``kind`` in ``text``, and the masker masks it: its token shown, no part left."""
    assert kind in kinds_found(text)
    masked = default_masker()(text)
    assert TOKEN[kind] in masked
    for part in parts:
        assert part not in masked


# 1. The cut's look-back over an escape of an invisible character written twice or more
TWICE = [
    "\\\\u200b",  # two backslashes: a JSON string inside a JSON string
    "\\\\\\\\u200b",  # four: one more layer
    "\\\\ufeff",
    "\\\\x00",
    "\\\\udb40\\\\udc41",  # a surrogate pair (U+E0041), each half written twice
]


@pytest.mark.parametrize("count", [300, 1100])
@pytest.mark.parametrize("esc", TWICE)
@pytest.mark.parametrize(
    ("head", "tail", "kind"),
    CUT_CASES,
)
def test_cut_inside_a_run_of_escapes_written_twice(
    head: str, tail: str, kind: str, esc: str, count: int
) -> None:
    text = head + esc * count + tail
    assert kind in kinds_found(text)
    kept = default_masker()(clip(text + " " + "x" * 3000, len(head) + len(esc) * (count // 2)))
    assert head.split()[-1].split("-")[-1] not in kept


def test_a_run_of_backslashes_is_cut_as_before() -> None:
    """An escaped backslash is passed over whole: a run of them parts nothing and hides nothing."""
    text = "RRN 900101" + "\\" * 3000 + "-1234567 end " + "x" * 3000
    assert "korean_rrn" not in kinds_found(text)
    kept = clip(text, 2000)
    assert kept.startswith("RRN 900101\\")


# 2. Look-alike dashes, full-width digits, a tab or several spaces between the groups
DASHES = ["\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2015", "\u2212", "\ufe63", "\uff0d"]
FULL = str.maketrans("0123456789-", "０１２３４５６７８９－")


@pytest.mark.parametrize("dash", DASHES)
def test_rrn_and_phone_with_a_look_alike_dash(dash: str) -> None:
    assert_found_and_masked(f"RRN 900101{dash}1234567 end", "korean_rrn", ("900101", "1234567"))
    assert_found_and_masked(f"tel 010{dash}1234{dash}5678 end", "phone_number", ("1234", "5678"))


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("900101-1234567", "korean_rrn"),
        ("900101－1234567", "korean_rrn"),
        ("010-1234-5678", "phone_number"),
        ("MRN 12345678", "hospital_record_number"),
    ],
)
def test_full_width_digits(text: str, kind: str) -> None:
    full = text.translate(FULL)
    assert_found_and_masked(f"id {full} end", kind, (full[-4:],))


@pytest.mark.parametrize("gap", ["\t", "\t\t", "  ", "    ", " \u2013 ", "\t-\t"])
def test_rrn_groups_parted_by_tabs_or_spaces(gap: str) -> None:
    """A spreadsheet's two columns copied out (a tab), a text laid out in columns (spaces)."""
    assert_found_and_masked(f"RRN 900101{gap}1234567 end", "korean_rrn", ("900101", "1234567"))


@pytest.mark.parametrize(
    "text",
    [
        "900101 1234567",  # one space: two numbers
        "900101\t9234567",  # no gender digit
        "901301\t1234567",  # no month 13
        "07\t512\t2048",  # a table's zero-padded columns: no phone number
        "010 1234 5678",
        "area 231015  2345678000",
    ],
)
def test_no_identifier_where_a_gap_parts_numbers(text: str) -> None:
    assert kinds_found(text) == []
    assert default_masker()(text) == text


@pytest.mark.parametrize("ref", ["&minus;", "&#8722;", "&#x2010;", "&hyphen;", "&#150;"])
def test_look_alike_dash_as_a_reference(ref: str) -> None:
    assert_found_and_masked(f"RRN 900101{ref}1234567 end", "korean_rrn", ("1234567",))
    assert_found_and_masked(f"tel 010{ref}1234{ref}5678 end", "phone_number", ("5678",))


@pytest.mark.parametrize(
    "rrn", ["９００１０１－１２３４５６７", "900101\u22121234567", "900101\t1234567", "900101  1234567"]
)
def test_cut_inside_a_look_alike_rrn(rrn: str) -> None:
    text = "RRN " + rrn + " " + "x" * 3000
    masker = default_masker()
    for at in range(5, 4 + len(rrn)):
        kept = masker(clip(text, at))
        assert rrn[:3] not in kept and rrn[-3:] not in kept, at


# 3. A character nobody sees inside a name in capitals, and inside a header's phrase
# a soft hyphen is written inside a word, not between two: test_deid9f_session25
@pytest.mark.parametrize("unseen", ["\u200b", "\\u200b", "&#8203;", "\u200b\u200b", "&ZeroWidthSpace;"])
def test_capitals_name_parted_by_an_invisible_character(unseen: str) -> None:
    assert_found_and_masked(f"Patient name: HONG{unseen}GILDONG end", "person_name", ("HONG", "GILDONG"))


@pytest.mark.parametrize("unseen", ["\u200b", "\\u200b", "&#8203;", "\u00ad", "\u2060"])
@pytest.mark.parametrize(
    "header",
    [
        "Patient Name\tSample Collection{}Date",
        "Patient Name\tSample Collection{}Date\tAge",
        "PATIENT NAME\tDate Collected{}Time",
    ],
)
def test_header_phrase_with_an_invisible_character_is_no_name(header: str, unseen: str) -> None:
    assert_no_name(header.format(unseen))


def test_name_after_a_header_word_still_found_with_an_invisible_character() -> None:
    assert_found_and_masked("Patient Name\tSample Joe\u200bKim", "person_name", ("Joe", "Kim"))
    assert_found_and_masked("Patient name: Hong\u200bGildong", "person_name", ("Hong", "Gildong"))


# 4. Surrogate references: U+FFFD each, as the HTML standard reads them, in find and the masker alike
@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        # a name then two U+FFFD: the name is found as without them
        ("Patient name: Hong Gildong&#55348;&#56692;", ["person_name"]),
        ("Patient name: HONG GILDONG&#xD834;&#xDD74;", ["person_name"]),
        # a browser shows two replacement characters, no name (a Latin or Hangul name's letters are
        # all below U+FFFF: none is ever written as a surrogate pair)
        ("Patient name: &#55348;&#56692;", []),
        # a visible replacement character parts the number, as any other symbol does
        ("RRN 900101&#55348;&#56692;-1234567", []),
        ("RRN 900101-1234567&#55348;&#56692;", ["korean_rrn"]),
    ],
)
def test_surrogate_references_read_as_replacement_characters(text: str, kinds: list[str]) -> None:
    assert kinds_found(text) == kinds
    masked = default_masker()(text)
    assert (masked != text) == bool(kinds)
    for kind in kinds:
        assert TOKEN[kind] in masked
