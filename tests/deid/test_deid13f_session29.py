"""Session 29's fix round of deid13: a keyword's comma and a space before an MRN or a date of birth
(``MRN, 12345678``, in clear in deid13), a list of names parted by ``;``, an accented name that starts with a
header's word (``Idália``, ``Agénor``), and a surname alone before a sex column (``Smith<TAB>Female``)."""

from __future__ import annotations

import pytest

from tests.deid.deid_helpers import default_masker, kinds_found

_DOB = "date_of_birth"
_MRN = "hospital_record_number"


@pytest.mark.parametrize(
    ("text", "kinds", "values"),
    [
        ("MRN, 12345678", [_MRN], ["12345678"]),
        ("DOB, 1990-01-01", [_DOB], ["1990-01-01"]),
        ("DOB, 01/02/1990", [_DOB], ["01/02/1990"]),
        ("HRN, 1234567", [_MRN], ["1234567"]),
        ("chart no, 123456", [_MRN], ["123456"]),
        ("date of birth, 1990-01-01", [_DOB], ["1990-01-01"]),
        ("MRN,\t12345678", [_MRN], ["12345678"]),
        ('MRN, "12345678"', [_MRN], ["12345678"]),
        ("MRN , 12345678", [_MRN], ["12345678"]),
        ("Patient Smith, DOB, 1990-01-01, MRN, 1234567", [_DOB, _MRN], ["1990-01-01", "1234567"]),
        ("환자번호, 12345678", [_MRN], ["12345678"]),
    ],
)
def test_a_keywords_comma_and_a_space_take_its_number(text: str, kinds: list[str], values: list[str]) -> None:
    assert kinds_found(text) == kinds
    masked = default_masker()(text)
    for value in values:
        assert value not in masked, masked
    assert masked.startswith(text[: text.index(",")])


@pytest.mark.parametrize(
    "text",
    [
        "medical record, 12345 slides were reviewed",
        "patients born, 19901231 was the cutoff",
        "the medical record,\t12345 slides",
        "Patients were born on, 19901231 or later",
    ],
)
def test_a_prose_keywords_comma_still_takes_no_number(text: str) -> None:
    assert kinds_found(text) == []
    assert default_masker()(text) == text


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Patient Name: John Smith; Mary Jones", ["Mary", "Jones"]),
        ("Patient Name: Smith, John; Jones, Mary", ["Jones", "Mary"]),
        ("Patient Name: Smith;John;Paul Jones", ["Paul", "Jones"]),
        ("Patient Name: José García; Ana Núñez", ["Ana", "Núñez"]),
    ],
)
def test_a_list_of_names_parted_by_semicolons_is_masked_whole(text: str, names: list[str]) -> None:
    assert kinds_found(text) == ["person_name"]
    masked = default_masker()(text)
    assert masked.endswith("]"), masked
    for name in names:
        assert name not in masked, masked


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Patient Name: John Smith; Ward B", "; Ward B"),
        ("Patient Name: John Smith; Ward B2", "; Ward B2"),
        ("Patient Name: John Smith; Ward 3", "; Ward 3"),
    ],
)
def test_a_place_after_a_semicolon_is_kept(text: str, kept: str) -> None:
    masker = default_masker()
    assert masker(text) == masker("Patient Name: John Smith") + kept


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Patient Name\tIdália Souza\t45", "Idália Souza"),
        ("Patient Name,Idália Souza,F", "Idália Souza"),
        ("Patient Name: Souza, Ana Idália", "Souza, Ana Idália"),
        ("Patient Name\tAgénor Silva\t45", "Agénor Silva"),
        ("Patient Name\tIdália\tSouza", "Idália\tSouza"),
    ],
)
def test_an_accented_name_starting_as_a_header_word_is_a_name(text: str, name: str) -> None:
    assert kinds_found(text) == ["person_name"]
    masked = default_masker()(text)
    assert name.split()[0].split("\t")[0].rstrip(",") not in masked, masked
    assert name.split()[-1].split("\t")[-1] not in masked, masked


def test_a_header_word_before_an_accented_letter_in_a_header_row_is_still_a_header() -> None:
    # guards: pass on base too
    assert kinds_found("Patient Name\tAge\tSex") == []
    assert kinds_found("PATIENT NAME\tID\tDIAGNOSIS") == []


@pytest.mark.parametrize(
    ("text", "after"),
    [
        ("Patient Name\tSmith\tFemale\t45", "\tFemale\t45"),
        ("Patient Name|Smith|Female", "|Female"),
        ("Patient Name,Smith,Male,45", ",Male,45"),
        ("Patient Name: Smith Female", " Female"),
    ],
)
def test_a_surname_before_a_sex_column_is_masked_alone(text: str, after: str) -> None:
    masker = default_masker()
    assert kinds_found(text) == ["person_name"]
    token = masker("Patient Name|Smith|Female").split("|")[1]  # one token for the surname in every layout
    assert masker(text) == text.replace("Smith", token), masker(text)
    assert masker(text).endswith(after)
    assert token.startswith("[PERSON_NAME-"), token


@pytest.mark.parametrize(
    "text", ["Patient Name|Redacted|Female", "Patient Name\tUnknown\tMale", "Patient Name\tAge\tSex\tFemale"]
)
def test_a_placeholder_or_header_before_a_sex_column_is_no_name(text: str) -> None:
    # guards: pass on base too
    assert kinds_found(text) == []


@pytest.mark.parametrize(
    "text", ["range 020 - 100 - 2000 mm", "x 099 - 1234 - 5678", "size 0101 - 234 - 5678"]
)
def test_spaced_numbers_with_no_phone_prefix_are_no_phone_number(text: str) -> None:
    assert kinds_found(text) == []


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("Tel 02 - 123 - 4567", "Tel 02-123-4567"),
        ("Tel 031 - 123 - 4567", "Tel 031-123-4567"),
        ("Tel \uff10\uff11\uff10 - \uff11\uff12\uff13\uff14 - \uff15\uff16\uff17\uff18", "Tel 010-1234-5678"),
        ("Tel 020-100-2000", "Tel 020-100-2000"),
    ],
)
def test_a_phone_prefix_before_a_spaced_dash_is_still_a_phone_number(text: str, plain: str) -> None:
    # guards: pass on base too
    assert kinds_found(text) == ["phone_number"]
    masker = default_masker()
    assert masker(text) == masker(plain)
