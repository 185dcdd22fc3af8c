"""Session 30's deid14 on the Latin rules: a record's or a birth date's value after ``medical record,`` or
``born,`` (in clear since session 29's deid13, which read that comma as prose's whatever followed it) and US phone
numbers (none before: the phone pattern took Korean forms only)."""

from __future__ import annotations

import pytest

from tests.deid.deid_helpers import default_masker, kinds_found


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("Medical Record, 12345678", "hospital_record_number", "12345678"),
        ("medical record, MRN1234567", "hospital_record_number", "1234567"),
        ("Born, 1990-01-01", "date_of_birth", "1990-01-01"),
        ("born on, 1990-01-01", "date_of_birth", "1990-01-01"),
        ("Born, 01/02/1990", "date_of_birth", "01/02/1990"),
        ("Born, 19901231", "date_of_birth", "19901231"),
    ],
)
def test_an_identifier_shaped_value_after_a_prose_keyword_and_a_comma_is_found(
    text: str, kind: str, value: str
) -> None:
    assert kinds_found(text) == [kind]
    assert value not in default_masker()(text)


def test_a_csv_row_written_with_comma_and_space_masks_both_values() -> None:
    masked = default_masker()("Patient Smith, Medical Record, 1234567, Born, 1990-01-01")
    assert "1234567" not in masked and "1990" not in masked, masked


@pytest.mark.parametrize(
    "text",
    [
        "medical record, 12345 slides were reviewed",
        "medical record, 12345678 slides were reviewed",
        "patients born, 19901231 was the cutoff",
        "medical record, 2019 and 2020",
        "born, 1990 in Seoul",
    ],
)
def test_prose_after_a_prose_keyword_and_a_comma_is_still_none(text: str) -> None:
    # guards: pass on base too
    assert kinds_found(text) == []


@pytest.mark.parametrize(
    ("text", "same_as"),
    [
        ("Tel (555) 123 - 4567", "Tel (555) 123-4567"),
        ("(555) 123-4567", "(555) 123-4567"),
        ("(555)234-5678", "(555)234-5678"),
        ("call (555) 234 5678.", "call (555) 234 5678."),
        ("+1 555 123 4567", "+1 555 123 4567"),
        ("+1-555-123-4567", "+1-555-123-4567"),
        ("+1.555.234.5678", "+1.555.234.5678"),
        ("+1 (555) 123-4567", "+1 (555) 123-4567"),
        ("555-234-5678", "555-234-5678"),
        ("Tel 555\u2013234\u20135678", "Tel 555-234-5678"),
        ("555%2D234%2D5678", "555-234-5678"),
        ("Tel \uff15\uff15\uff15-\uff12\uff13\uff14-\uff15\uff16\uff17\uff18", "Tel 555-234-5678"),
    ],
)
def test_a_us_phone_number_is_found_and_masked(text: str, same_as: str) -> None:
    assert kinds_found(text) == ["phone_number"]
    masker = default_masker()
    masked = masker(text)
    assert "4567" not in masked and "5678" not in masked, masked
    assert masked == masker(same_as)


@pytest.mark.parametrize(
    "text",
    [
        "555-123-4567",  # no exchange starts with 1
        "(100) 234-5678",  # nor an area code
        "range 200 - 300 - 4000 mm",
        "555 234 5678",
        "1555-234-5678",
        "555-234-56789",
        "x+1 555 123 4567",
        "+1 555 123-4567",  # groups parted two ways
        "version 3.555.234.5678",
        "item 2019-234-5678",
    ],
)
def test_numbers_of_no_us_phone_shape_are_none(text: str) -> None:
    # guards: pass on base too
    assert kinds_found(text) == []
