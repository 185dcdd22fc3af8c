"""Session 31's deid15 on the Latin rules: a one-word name after a name's keyword (no finding before), US phone
numbers whose exchange starts with 0 or 1 (none before) and an ISBN's number (a phone number before), eponyms after a
name's keyword (``Patient Name: DiGeorge Syndrome``, masked as a name before)."""

from __future__ import annotations

import pytest

from dqm.identifiers import Place, find
from tests.deid.deid_helpers import SETTINGS, default_masker, kinds_found


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Patient Name: Nakamura", "Nakamura"),
        ("Patient Name:Okafor", "Okafor"),
        ("PATIENT NAME: OKAFOR", "OKAFOR"),
        ("pt name: Okafor", "Okafor"),
        ("Patient Name,O'Brien,45", "O'Brien"),
        ('"Patient Name","Nakamura","45"', "Nakamura"),
        ("Patient Name\tNakamura\t45", "Nakamura"),
        ("Patient Name: Nakamura.", "Nakamura"),
        ("Patient Name: Nakamura's slides", "Nakamura"),
        ("Patient Name: Nakamura, 45, F", "Nakamura"),
        ("Patient Name: Nakamura-Smith", "Nakamura-Smith"),
        ("Patient Name: José", "José"),
        ("Patient Name: DiGeorge", "DiGeorge"),
        ("Patient Name: Nakamura\nAge: 45", "Nakamura"),
    ],
)
def test_a_one_word_name_after_a_name_keyword_is_found(text: str, name: str) -> None:
    assert kinds_found(text) == ["person_name"]
    assert name not in default_masker()(text)


@pytest.mark.parametrize(
    "text",
    [
        "Patient Name: Unknown",
        "Patient Name: N/A",
        "Patient Name: NA",
        "Patient Name: Tissue",
        "Patient Name: Slide",
        "Patient Name: Pending",
        "Patient Name: Redacted",
        "Patient Name: Anonymized",
        "Patient Name: None",
        "Patient Name: Slide01",
        "Patient Name: Case_3",
        "Patient Name: Scan.svs",
        "Patient Name|Pathologist|Date",
        "Patient Name,Diagnosis,Stage",
        "Patient Name, Stain, Notes",
        "Patient Name\tAge\tSex",
        "Patient Name: see below",
    ],
)
def test_a_placeholder_or_a_header_after_a_name_keyword_is_no_name(text: str) -> None:
    # guards: pass on base too
    assert kinds_found(text) == []
    assert default_masker()(text) == text


def test_a_one_word_name_is_masked_at_every_window_offset() -> None:
    masker = default_masker()
    for pad in range(0, 6000, 113):
        text = "x " * pad + "Patient Name: Nakamura\nnext line"
        assert "Nakamura" not in masker(text), pad


@pytest.mark.parametrize(
    "text",
    [
        "555-123-4567",
        "call 555-123-4567 today",
        "Tel 555-023-4567",
        "555%2D123%2D4567",
    ],
)
def test_a_us_number_whose_exchange_starts_with_0_or_1_is_a_phone_number(text: str) -> None:
    assert kinds_found(text) == ["phone_number"]
    assert "4567" not in default_masker()(text)


@pytest.mark.parametrize(
    "text",
    ["ISBN 978-555-2341", "ISBN: 978-555-2341", "ISBN:978-555-2341", "isbn978-555-2341", "ISBN-10 978-555-2341",
     "ISBN-13: 978-555-2341"],
)  # fmt: skip
def test_an_isbn_is_no_phone_number(text: str) -> None:
    assert kinds_found(text) == []


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("(200) 300-4000", ["phone_number"]),  # an area code's shape, unassigned or not
        ("555-234-5678", ["phone_number"]),
        ("123-456-7890", []),  # no area code starts with 1
        ("range 200 - 300 - 4000", []),
        ("2021-123-4567", []),
        ("Tel 555-234-5678, ISBN 978-555-2341", ["phone_number"]),
    ],
)
def test_us_phone_guards(text: str, kinds: list[str]) -> None:
    # guards: pass on base too
    assert kinds_found(text) == kinds


@pytest.mark.parametrize(
    "text",
    [
        "Patient Name: DiGeorge Syndrome",
        "Patient Name: LaPlace Transform",
        "Patient Name: LaPlace's law",
        "Patient Name: Gleason Score",
        "Patient Name,DiGeorge syndrome,45",
    ],
)
def test_an_eponym_and_its_term_after_a_name_keyword_is_no_name(text: str) -> None:
    assert kinds_found(text) == []
    assert default_masker()(text) == text


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Patient Name: Mary DiGeorge", "DiGeorge"),
        ("Patient Name: DiGeorge, Mary", "DiGeorge"),
        ("Patient Name: Clark Kent", "Clark"),
        ("DiGeorge syndrome, Patient Name: Ann LaPlace", "LaPlace"),
    ],
)
def test_an_eponym_s_surname_standing_as_a_name_is_still_masked(text: str, name: str) -> None:
    assert kinds_found(text) == ["person_name"]
    assert name not in default_masker()(text).split("Patient Name")[-1]


def test_a_quoted_one_word_name_after_a_name_keyword_is_found() -> None:
    # was test_deid12_session28's guard (no name): the keyword says the word is one
    assert kinds_found('Patient Name: "Smith" was seen') == ["person_name"]


@pytest.mark.parametrize(
    ("text", "place", "value"),
    [
        ("MRN1234567", "annotation", "1234567"),
        ("mrn_1234567", "annotation", "1234567"),
        ("HRN123456", "annotation", "123456"),
        ("Smith_John_MRN1234567.svs", "filename", "1234567"),
        ("Smith_MRN1234567_HE.svs", "filename", "1234567"),
        ("MRN 1234567_HE", "annotation", "1234567"),
    ],
)
def test_a_record_number_glued_to_mrn_or_after_an_underscore_is_found(
    text: str, place: Place, value: str
) -> None:
    assert [hit.name for hit in find(text, SETTINGS, place)] == ["hospital_record_number"]
    assert value not in default_masker()(text)


@pytest.mark.parametrize("text", ["MRNs 1234567", "AMRN1234567", "MRN:123"])
def test_a_word_holding_mrn_or_a_short_number_is_no_record_number(text: str) -> None:
    # guards: pass on base too
    assert kinds_found(text) == []


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("patient_name=Nakamura", "Nakamura"),
        ("PATIENT_NAME: John Smith", "John"),
        ("pt_name: Okafor", "Okafor"),
    ],
)
def test_a_name_keyword_written_with_an_underscore_is_one(text: str, name: str) -> None:
    assert kinds_found(text) == ["person_name"]
    assert name not in default_masker()(text)
