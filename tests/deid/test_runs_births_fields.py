"""The second review of deid8 (task deid8fix2): ``생일`` found inside ``발생일`` (onset); a standard
property name's index or a surname after its name word shown whole; one number reported as two
findings; a date of birth's tail shown after a dash or past a scan window; a scan word after a
maker's own model code flagged. Each case failed on 25fa403."""

from __future__ import annotations

import re

import pytest

from dqm.identifiers import DeidSettings, Masker, find, looks_identifying, names_fields
from validators import deid

TOKEN = r"\[[A-Z_]+-[0-9a-f]{10}\]"

NOT_BIRTHS = (
    "발생일 2019-01-01",  # onset
    "재발생일 2020-03-04",  # recurrence
    "암발생일2019.01.01", "최초발생일: 2018-05-06",
    "학생일 때 2019-01-01",  # "when a student"
    "평생일 2019-01-01", "환자발생일 2019-01-01",
)  # fmt: skip
BIRTHS = (
    "출생일 1990-01-01", "탄생일: 19900101", "생일 900101", "환자생일 1990.01.01", "환자출생일 1990.01.01",
)  # fmt: skip


@pytest.mark.parametrize("text", NOT_BIRTHS)
def test_a_word_ending_in_saengil_is_no_birthday(text: str) -> None:
    settings = DeidSettings()
    assert find(text, settings, "slide") == []
    assert Masker(settings, b"k")(text) == text


@pytest.mark.parametrize("text", BIRTHS)
def test_birth_words_in_korean_still_find_a_date_of_birth(text: str) -> None:
    settings = DeidSettings()
    assert [h.name for h in find(text, settings, "slide")] == ["date_of_birth"]
    assert re.fullmatch(rf"[^\d]+{TOKEN}", Masker(settings, b"k")(text))


HELD_IN_NAMES = {
    "dicom.PatientBirthDate[19900101]": "19900101",
    "dicom.PatientID[12345678]": "12345678",
    "aperio.dob[19900101]": "19900101",
    "aperio.SSN[123456789]": "123456789",
    "aperio.patient_id[900101]": "900101",
    "aperio.patient_name_Case_Rank": "Case",
    "aperio.PatientName_Reading": "Reading",
    "aperio.PatientName.Reading": "Reading",
}


@pytest.mark.parametrize(("key", "held"), HELD_IN_NAMES.items())
def test_a_long_index_or_a_word_after_a_name_word_is_not_shown(key: str, held: str) -> None:
    """An index of any length and any field word after ``name``/``id`` passed as a standard name."""
    assert not names_fields(key.partition(".")[2])
    shown = deid.shown_property(key, DeidSettings())
    assert held not in shown and shown != key


STANDARD_NAMES = (
    "dicom.OtherPatientIDsSequence[0].PatientID", "dicom.IssuerOfPatientIDQualifiersSequence",
    "dicom.NameOfPhysiciansReadingStudy", "dicom.PatientName.Alphabetic", "dicom.PatientID[3]",
    "dicom.PatientBirthDate", "aperio.patient_id_type",
)  # fmt: skip


@pytest.mark.parametrize("key", STANDARD_NAMES)
def test_a_standard_name_is_still_shown_whole(key: str) -> None:
    assert deid.shown_property(key, DeidSettings()) == key


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("DOB: 900101 - 2234567", "korean_rrn"),
        ("생년월일: 900101-1234567", "korean_rrn"),
        ("-123-45-6789x@y.z", "us_ssn"),  # an e-mail's local part takes in the number
    ],
)
def test_one_masked_run_is_one_finding_named_as_its_token(text: str, kind: str) -> None:
    """A resident number after a birth keyword was both ``korean_rrn`` and ``date_of_birth``; the
    run is one finding, an identifier's rather than a quasi-identifier's, as the token names it."""
    settings = DeidSettings()
    assert [h.name for h in find(text, settings, "slide")] == [kind]
    assert re.search(rf"\[{kind.upper()}-[0-9a-f]{{10}}\]", Masker(settings, b"k")(text))


def test_two_runs_are_still_two_findings() -> None:
    found = find("dob 900101-1234567 and dob 1990-01-01", DeidSettings(), "slide")
    assert [h.name for h in found] == ["korean_rrn", "date_of_birth"]


@pytest.mark.parametrize(
    "text", ["dob 900101-1234567900101-1234567", "DOB:1990-01-01-1234567", "생년월일 900101-1234567-1234567"]
)
def test_no_digit_after_a_dob_and_a_dash_is_shown(text: str) -> None:
    shown = Masker(DeidSettings(), b"k")(text)
    assert not re.search(r"\d", re.sub(TOKEN, "", shown)), shown


def test_a_dob_longer_than_a_window_overlap_shows_no_tail() -> None:
    """A run cut at a window's end showed what was past it (308 digits of 600)."""
    for text in (
        "x " * 1900 + "dob " + "1" * 600,
        "x " * 1900 + "dob " + "1" * 9000 + " then 900101-1234567 y",
    ):
        shown = Masker(DeidSettings(), b"k")(text)
        assert not re.search(r"\d", re.sub(TOKEN, "", shown)), shown[-200:]
        assert shown.startswith("x " * 1900 + "dob [DATE_OF_BIRTH-")


@pytest.mark.parametrize("value", ["3DHistech P250 Flash III", "3DHistech P1000 Scan"])
def test_a_scan_word_after_a_makers_own_model_code_is_a_product(value: str) -> None:
    assert not looks_identifying(value)


@pytest.mark.parametrize(
    "value", ["3DHistech P250 Flash Hong", "Hamamatsu S360 Flash", "3DHistech Kim1 Flash"]
)
def test_a_name_beside_a_model_codes_scan_word_is_still_flagged(value: str) -> None:
    assert looks_identifying(value)
