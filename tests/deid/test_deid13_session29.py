"""Session 29's deid13: accented Latin names, a surname joined by any dash, spaced dashes in an SSN or a phone
number, a combining mark after any script's digit; and what was masked beside a name that is none (``Female``
after it, a ``; Ward B`` cell, a prose ``medical record, 12345``)."""

from __future__ import annotations

import pytest

from tests.deid.deid_helpers import default_masker, kinds_found


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Patient Name: José García", "José García"),
        ("Patient Name: Smith, Renée", "Smith, Renée"),
        ("Patient Name: Müller, Jürgen", "Müller, Jürgen"),
        ("Patient Name: Łukasz Nowak", "Łukasz Nowak"),
        ("Patient Name: François Dupont", "François Dupont"),
        ("Patient Name: JOSÉ GARCÍA", "JOSÉ GARCÍA"),
        ("Patient Name: ÉMILE ZOLA", "ÉMILE ZOLA"),
        ("Patient Name: Jose\u0301 Garci\u0301a", "Jose\u0301 Garci\u0301a"),
        ("Patient Name,Nguyễn Văn", "Nguyễn Văn"),
    ],
)
def test_an_accented_latin_name_is_found_and_masked_whole(text: str, name: str) -> None:
    assert kinds_found(text) == ["person_name"]
    masked = default_masker()(text)
    assert masked.startswith(text[: len(text) - len(name)])
    assert masked.endswith("]"), masked  # no accented tail left in clear (``Smith, Renée`` showed ``ée``)


def test_an_accented_name_has_one_token_composed_or_not() -> None:
    masker = default_masker()
    assert masker("Patient Name: José García") == masker("Patient Name: Jose\u0301 Garci\u0301a")


@pytest.mark.parametrize("dash", ["\u2012", "\u2013", "\u2014", "\u2015"])
def test_a_surname_joined_by_a_dash_is_masked_whole(dash: str) -> None:
    masker = default_masker()
    text = f"Patient Name: Mary Smith{dash}Jones"
    assert kinds_found(text) == ["person_name"]
    assert masker(text) == masker("Patient Name: Mary Smith-Jones")


@pytest.mark.parametrize(
    ("text", "kind", "plain"),
    [
        ("SSN 123 - 45 - 6789", "us_ssn", "SSN 123-45-6789"),
        ("ssn 123%20-%2045%20-%206789", "us_ssn", "ssn 123-45-6789"),
        ("SSN 123 \u2013 45 \u2013 6789", "us_ssn", "SSN 123-45-6789"),
        ("Tel 010 - 1234 - 5678", "phone_number", "Tel 010-1234-5678"),
        ("Tel 010%20-%201234%20-%205678", "phone_number", "Tel 010-1234-5678"),
    ],
)
def test_a_number_with_spaced_dashes_is_found_with_its_unspaced_token(
    text: str, kind: str, plain: str
) -> None:
    assert kinds_found(text) == [kind]
    masker = default_masker()
    assert masker(text) == masker(plain)


@pytest.mark.parametrize("text", ["x 123  -  45  -  6789", "id 123 - 45 - 67890", "x 1234 - 45 - 6789"])
def test_numbers_apart_or_too_long_are_still_no_ssn(text: str) -> None:
    # guards: pass on base too
    assert kinds_found(text) == []


def test_a_combining_mark_after_another_scripts_digit_is_read_as_nothing() -> None:
    text = "SSN \u0661\u0301\u0662\u0663-45-6789"
    assert kinds_found(text) == ["us_ssn"]
    assert "\u0662" not in default_masker()(text)


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Patient Name: John Smith;Female", ";Female"),
        ("Patient Name,John Smith, Female", ", Female"),
        ("Patient Name: John Smith, Male, 45", ", Male, 45"),
        ("Patient Name: John Smith; Ward B", "; Ward B"),
    ],
)
def test_a_cell_after_a_name_is_not_masked_with_it(text: str, kept: str) -> None:
    masker = default_masker()
    assert kinds_found(text) == ["person_name"]
    assert masker(text) == masker("Patient Name: John Smith")[len("Patient Name: ") :].join(
        (text[: text.index("John")], kept)
    )


@pytest.mark.parametrize(
    "text",
    [
        "Patient Name: Smith;John;Paul",
        "Patient Name: Smith,John,Paul",
        "Patient Name: John Smith; Paul",
        "Patient Name, Smith, John Paul",
        "Patient Name,Smith,John Paul",
    ],
)
def test_a_third_name_word_is_still_masked(text: str) -> None:
    # guards: pass on base too
    assert kinds_found(text) == ["person_name"]
    assert default_masker()(text).endswith("]")


@pytest.mark.parametrize(
    "text",
    ["medical record, 12345 slides were reviewed", "patients born, 19901231 was the cutoff"],
)
def test_a_keyword_and_a_prose_comma_take_no_number(text: str) -> None:
    assert kinds_found(text) == []
    assert default_masker()(text) == text


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("MRN,12345678", "hospital_record_number"),
        ('"MRN","12345678"', "hospital_record_number"),
        ("MRN ,12345678", "hospital_record_number"),
        ("DOB,1990-01-01", "date_of_birth"),
        ("| MRN | 12345678 |", "hospital_record_number"),
    ],
)
def test_a_csv_rows_keyword_still_takes_its_number(text: str, kind: str) -> None:
    # guards: pass on base too
    assert kinds_found(text) == [kind]
