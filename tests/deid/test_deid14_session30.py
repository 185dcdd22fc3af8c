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
        "123-456-7890",  # no area code starts with 1 (555-123-4567, exchange 1xx, is one since session 31's deid15)
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


@pytest.mark.parametrize(
    "text",
    [
        "Patient Name: Mary J. Jones",
        "Patient Name: Mary K Jones",
        "Patient Name: Ann B. Lee",
        "PATIENT NAME: MARY J. JONES",
        "Patient Name,Mary J. Jones,F",
        "Patient Name\tMary J Jones\t45",
        "Patient Name: John Smith; Mary J. Jones",
    ],
)
def test_a_name_with_a_middle_initial_is_masked_whole(text: str) -> None:
    assert kinds_found(text) == ["person_name"]
    masked = default_masker()(text)
    for word in ("Mary", "MARY", "Jones", "JONES", "Ann", "Lee", "J.", "K ", "B."):
        assert word not in masked, masked


def test_male_as_a_surname_after_one_space_is_masked() -> None:
    masker = default_masker()
    for text in ("Patient Name: John Male", "Patient Name: SMITH MALE"):
        assert kinds_found(text) == ["person_name"]
        masked = masker(text)
        assert masked.startswith("Patient Name: [PERSON_NAME-") and masked.endswith("]"), masked


@pytest.mark.parametrize(
    ("text", "after"),
    [
        ("Patient Name,Smith,Male,45", ",Male,45"),
        ("Patient Name: Smith, Male", ", Male"),
        ("Patient Name: Smith Female", " Female"),
        ("Patient Name\tSmith\tMale", "\tMale"),
    ],
)
def test_a_sex_column_after_a_surname_is_still_kept(text: str, after: str) -> None:
    # guards: pass on base too
    masked = default_masker()(text)
    assert masked.endswith(after) and "Smith" not in masked, masked


@pytest.mark.parametrize(
    "text",
    [
        "Patient Name|Ward|Bed",
        "Patient Name\tWard\tBed",
        "| Patient Name | Ward | Bed |",
        "Patient Name,Ward,Bed",
        "Patient Name|DeIdentified|Female",
        "Patient Name\tDeidentified\tMale",
    ],
)
def test_a_header_row_of_place_columns_or_a_placeholder_is_no_name(text: str) -> None:
    assert kinds_found(text) == []
    assert default_masker()(text) == text


@pytest.mark.parametrize(
    "text", ["Patient Name: Ward, Mary", "Patient Name: Mary Ward; Bed 4", "Patient Name\tWardle\tBedford"]
)
def test_a_place_word_surname_is_still_a_name(text: str) -> None:
    # guards: pass on base too
    masked = default_masker()(text)
    assert "Mary" not in masked and "Wardle" not in masked, masked


@pytest.mark.parametrize(
    ("text", "given"),
    [
        ("Patient Name\tSample No\u00e9mie", "No\u00e9mie"),
        ("PATIENT NAME\tSAMPLE NO\u00c9MIE", "NO\u00c9MIE"),
        ("Patient Name\tSample Of\u00e9lia\t45", "Of\u00e9lia"),
        ("Patient Name\tSample No\u00ebl", "No\u00ebl"),
    ],
)
def test_a_given_name_a_header_phrase_word_and_an_accent_start_is_a_name(text: str, given: str) -> None:
    assert kinds_found(text) == ["person_name"]
    masked = default_masker()(text)
    assert given not in masked and "Sample" not in masked and "SAMPLE" not in masked, masked


@pytest.mark.parametrize(
    "text",
    [
        "Patient Name\tSample Collection Date",
        "PATIENT NAME\tSAMPLE COLLECTION DATE",
        "Patient Name\tDate Collected",
    ],
)
def test_a_header_phrase_is_still_no_name(text: str) -> None:
    # guards: pass on base too
    assert kinds_found(text) == []


def test_a_phone_number_inside_a_uuid_far_into_a_text_is_still_kept() -> None:
    # guards: pass on base too (the hex runs are looked for only near a match since deid14)
    uuid = "3f2a1b02-1234-5678-abcd-0123456789ab"  # 02-1234-5678 inside it
    text = "x " * 3000 + uuid + " Tel 010-1234-5678"
    masked = default_masker()(text)
    assert kinds_found("3f2a1b 02-1234-5678-abcd-0123456789ab") == ["phone_number"]  # no UUID
    assert uuid in masked and masked.endswith(" Tel " + default_masker()("010-1234-5678")), masked[-120:]


def test_a_masker_sent_to_a_worker_gives_the_same_tokens() -> None:
    # guards: pass on base too (tokens are kept per masker since deid14)
    import pickle

    masker = default_masker()
    first = masker("MRN 12345678, Tel 555-234-5678")
    assert pickle.loads(pickle.dumps(masker))("MRN 12345678, Tel 555-234-5678") == first
    assert masker("MRN 12345678, Tel 555-234-5678") == first
