"""The review of deid8 (task deid8fix): a date of birth before a resident number that fails its
check found by nothing; a date of birth's digits glued after it shown; where two identifiers overlap
the masker kept one and showed the other's tail; dates of birth missed after ``DOB.``, ``dob/``,
``patientdob``, ``생일`` and in prose found after ``rebirth``. Each case failed on 51ef618."""

from __future__ import annotations

import re

import pytest

from dqm.identifiers import DeidSettings, Masker, find, looks_identifying
from validators import deid

INVALID_RRN_AFTER_DOB = (
    "dob 900231-1234567",
    "DOB: 850229-1234567",
    "생년월일 900230-2234567",
    "dob 900101-1234567-1",
)


@pytest.mark.parametrize("text", INVALID_RRN_AFTER_DOB)
def test_a_dob_before_a_number_that_is_no_resident_number_is_found(text: str) -> None:
    """``_NO_RRN`` left six digits before a resident number's back part to the RRN pattern by
    shape alone; one that fails its date check was then found by neither."""
    settings = DeidSettings()
    assert "date_of_birth" in [h.name for h in find(text, settings, "slide")]
    shown = re.sub(r"\[[A-Z_]+-[0-9a-f]{10}\]", "[]", Masker(settings, b"k")(text))
    assert re.fullmatch(r"[^\d]+\[\](-1)?", shown), shown


GLUED_DIGITS = ("dob9001011234567", "dob01012345678", "birth:01012345678", "DOB:1990010219900102")


@pytest.mark.parametrize("text", GLUED_DIGITS)
def test_no_digit_glued_after_a_dob_is_shown(text: str) -> None:
    shown = Masker(DeidSettings(), b"k")(text)
    assert re.fullmatch(r"[A-Za-z:]+\[DATE_OF_BIRTH-[0-9a-f]{10}\]", shown), shown


def test_overlapping_identifiers_are_masked_as_one_run() -> None:
    """At one start the shorter match was kept and the longer one's tail shown; now the union of
    every overlapping match is masked, one token named for the longest (a resident number before
    a date of birth of its length)."""
    masker = Masker(
        DeidSettings.model_validate(
            {"patterns": {"short": {"regex": r"AB\d{2}"}, "long": {"regex": r"AB\d{6}"}}}
        ),
        b"k",
    )
    assert re.fullmatch(r"x \[LONG-[0-9a-f]{10}\] y", masker("x AB123456 y"))
    masker = Masker(
        DeidSettings.model_validate(
            {"patterns": {"head": {"regex": r"AB\d{3}"}, "tail": {"regex": r"\d{3}CD"}}}
        ),
        b"k",
    )
    assert re.fullmatch(r"x \[(HEAD|TAIL)-[0-9a-f]{10}\] y", masker("x AB12345CD y"))
    assert re.fullmatch(
        r"dob \[KOREAN_RRN-[0-9a-f]{10}\]", Masker(DeidSettings(), b"k")("dob 900101-1234567")
    )


MISSED = (
    "DOB.19900101",
    "dob/19900101",
    "dob__19900101",
    "patientdob19900101",
    "dob 1990 01 01",
    "생일19900101",
)
NO_DOB = (
    "rebirth2019-01-01",
    "firstbirth12.03.2019",
    "birth 2019-01-01 of a new scanner",
)


@pytest.mark.parametrize("text", MISSED)
def test_more_keyword_forms_find_a_dob(text: str) -> None:
    assert [h.name for h in find(text, DeidSettings(), "slide")] == ["date_of_birth"]
    assert "19900101" not in Masker(DeidSettings(), b"k")(text).replace(" ", "")


@pytest.mark.parametrize("text", NO_DOB)
def test_birth_inside_a_word_or_in_prose_is_no_keyword(text: str) -> None:
    """``birth`` alone is a keyword as a word (or a camel-case one) glued to its date or before
    ``:``/``=``/``_``; ``rebirth2019`` and a birth in prose (``birth 2019-01-01 of a new scanner``:
    a product's) are none. ``birth: 1990-01-01`` and ``birthdate 1990-01-01`` still are."""
    assert find(text, DeidSettings(), "slide") == []
    assert find("birth: 1990-01-01", DeidSettings(), "slide") != []
    assert find("patientBirth19900101", DeidSettings(), "slide") != []


def test_standard_property_names_are_shown_whole_and_distinct() -> None:
    """deid8 showed ``dicom.IssuerOfPatientID`` and ``dicom.OtherPatientIDsSequence[0].PatientID``
    both as ``dicom.PatientID…``, ``dicom.PatientBirthDate`` and ``…Time`` both as
    ``dicom.PatientBirth…``: names that hold no identifier, made misleading and alike. A name is
    masked only where its own text holds a value, and two names are never shown the same."""
    standard = (
        "dicom.IssuerOfPatientID",
        "dicom.OtherPatientIDsSequence[0].PatientID",
        "dicom.PatientBirthDate",
        "dicom.PatientBirthTime",
        "dicom.RequestAttributesSequence[0].AccessionNumber",
    )
    holding = ("aperio.dob19900101", "aperio.dob19850101", "aperio.patient_id_Kim", "aperio.patient_id_Lee")
    assert [deid.shown_property(k, DeidSettings()) for k in standard] == list(standard)
    shown = deid.shown_properties([*standard, *holding], DeidSettings())
    assert [shown[k] for k in standard] == list(standard)
    assert len(set(shown.values())) == len(shown)
    assert not [k for k in holding if shown[k] == k or "19" in shown[k] or shown[k].endswith(("Kim", "Lee"))]


def test_product_and_standard_names_the_review_found() -> None:
    """deid8 passed a year split by a dot as a version (``HL7 v19.90``) and a scan word after any
    maker (``Hamamatsu NanoZoomer 1 Flash``), and flagged Leica's ``DM2000`` (a year's digits),
    ``ISO 2022`` (DICOM's encoding for Korean) and five-digit standards' parts (``IEC 60601-1``)."""
    flagged = ("HL7 v19.90", "FHIR R19.85", "Hamamatsu NanoZoomer 1 Flash", "Leica DM1990", "ISO 1990")
    clean = ("Leica DM2000", "Leica DM2500", "ISO 2022", "IEC 60601-1", "IEC 60601-1-2", "ISO 10993-5:2009")
    assert [v for v in flagged if not looks_identifying(v)] == []
    assert [v for v in clean if looks_identifying(v)] == []
