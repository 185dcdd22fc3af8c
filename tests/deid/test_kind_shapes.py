"""What was left of the kind keys after deid7 (task deid8): a year, a person's initials, five digits
and a date passing as a product's or a standard's number (``Leica Aperio 1990``, ``Leica KIM1``,
``ISO 12345``, ``HL7 1.12.9``); real products still flagged (``Zeiss Axio Scan.Z1``, ``Philips UFS
300``); a date of birth glued to its keyword (``dob19900101``) not found; a slide property's name
holding an identifier shown whole. Each case below failed on the former code, except the fuzz of
ids in the new products' wrappers, which holds the allowance to its bounds."""

from __future__ import annotations

import itertools
import json

import pytest

from dqm.identifiers import DeidSettings, Masker, find, looks_identifying
from dqm.profile import Profile, load_profile
from dqm.slide_io import virtual_probe
from tests.deid.test_deid import deid_findings, view_of


@pytest.fixture(scope="module")
def profile() -> Profile:
    return load_profile()


PASSED_AS_KINDS = (
    "Leica KIM1",  # initials (or a name in capitals) and a digit: no model code
    "Leica LEE23",
    "Leica Aperio KIM12",
    "Leica Aperio 1990",  # a year, perhaps of birth, as a model number
    "Leica Aperio GT450 2001",
    "Roche Ventana 1985",
    "Leica D1990",  # a year with a letter as a model code
    "Leica Aperio GT2001",
    "Hamamatsu S2019-1",
    "HL7 v1990",  # a year as a version
    "HL7 1990",
    "FHIR R2001",
    "ISO 1990",
    "ISO 12345",  # five digits: an MRN's shape, no standard a delivery names
    "IEC 98765",
    "ISO 54321:2019",
    "ISO 15189-1",
    "HL7 1.12.9",  # a date as a version (1 December 2009)
    "HL7 12.1.9",
    "HL7 v3.12.9",
    "FHIR 1.10.1",
    "v1.12.9",
)
STILL_KINDS = (
    "ISO 15189",
    "ISO 15189:2022",
    "ISO 20387:2018",
    "ISO 12052",
    "ISO/IEC 27001:2022",
    "IEC 62304:2006",
    "ISO 8601",
    "ISO 9001",
    "RFC 3339",
    "HL7 v2.5.1",
    "HL7 2.3.1",
    "FHIR 4.0.1",
    "FHIR R4",
    "LOINC 2.74",
    "DICOM PS3.15",
    "X12v5010",
    "Leica Aperio AT2",
    "Leica Aperio CS2",
    "Leica Aperio LV1",
    "Leica SCN400",
    "3DHistech P1000",
)


def test_a_year_initials_five_digits_and_a_date_are_no_product_or_standard_number() -> None:
    """Each of these passed as a kind: a model code was any capitals and digits, a product's bare
    number and a version any four digits, an ISO number any five, a version's groups 1.12.9."""
    assert [v for v in PASSED_AS_KINDS if not looks_identifying(v)] == []
    assert [v for v in STILL_KINDS if looks_identifying(v)] == []


REAL_PRODUCTS = (
    "Zeiss Axio Scan.Z1",
    "Zeiss Axio Scan",
    "Zeiss Axioscan 7",
    "3DHistech Pannoramic 250 Flash III",
    "3DHISTECH Pannoramic 1000",
    "Grundium Ocus40",
    "Grundium Ocus20",
    "Leica Aperio GT450 DX",
    "Philips UFS 300",
    "Philips UFS",
)
NAMES_IN_THEIR_PLACE = (
    "Zeiss Axio Hong",
    "Zeiss Axio Scan.KIM1",
    "Zeiss Axio Scan.Hong",
    "Philips Axio",  # a line only after its own maker
    "Leica Pannoramic 250",
    "Grundium Ocus1990",
    "Grundium Ocus40 123",
    "Philips UFS KIM",
    "Philips UFS 1990",
    "Philips UFS 0101",
    "Leica Aperio GT450 DX DX",
    "Leica Aperio DX",
    "Philips UFS 300 DX",
    "3DHistech Pannoramic Hong Flash III",
)


def test_a_makers_own_line_is_a_product_and_a_name_in_its_place_is_not() -> None:
    """The five products were flagged (a capitalised word or capitals a name may be); now a maker's
    own line (``Zeiss Axio``, ``Grundium Ocus40``, ``Philips UFS``), a word of scanning after it with
    a model code (``Scan.Z1``, ``Flash``) and a diagnostic edition after a model (``GT450 DX``) are
    one; a name, a year or a second number in those places is not."""
    assert [v for v in REAL_PRODUCTS if looks_identifying(v)] == []
    assert [v for v in NAMES_IN_THEIR_PLACE if not looks_identifying(v)] == []


IDS = (
    "010-1234-5678", "010 1234 5678", "01012345678", "900101-1234567", "900101 1234567", "9001011234567",
    "MRN-1234-56", "MRN1234", "1990-01-01", "1990 01 01", "19900101", "1.12.90", "v1990", "1990", "KIM1",
    "Hong Gildong", "HONG", "12345678", "AB12345678", "S 9001 0112 3456 7",
)  # fmt: skip


def test_ids_inside_the_new_products_are_still_flagged() -> None:
    """The attacks on deid7's allowance (phones and resident numbers in groups, ``MRN-1234-56``,
    dates as versions, a year, initials), each after, before and inside each product cleared here:
    none passes as a product."""
    wrapped = []
    for product, found in itertools.product(REAL_PRODUCTS, IDS):
        words = product.split(" ")
        wrapped += [f"{product} {found}", f"{words[0]} {found} {' '.join(words[1:])}"]
        wrapped += [f"{' '.join(words[:2])} {found}"] if len(words) > 2 else []
    assert len(wrapped) > 400
    assert [v for v in wrapped if not looks_identifying(v)] == []


GLUED = (
    ("dob19900101", "19******"),
    ("DOB:1990-01-01", "19********"),
    ("DOB_1990-01-01", "19********"),
    ("birth1990.01.01", "19********"),
    ("생년월일19900101", "19******"),
    ("aperio.dob19900101", "19******"),
    ("patientDob19900101", "19******"),
    ("scan 번호DOB:1990-01-01", "19********"),
)


@pytest.mark.parametrize(("text", "masked"), GLUED)
def test_a_date_of_birth_glued_to_its_keyword_is_found_and_masked(text: str, masked: str) -> None:
    """The pattern needed ``\\bdob\\b`` and ``birth`` before ``date``: a date glued to its keyword
    (``dob19900101``, after Hangul: ``번호DOB:``) was no date of birth, and the masker left it."""
    settings = DeidSettings()
    assert [(h.name, h.masked) for h in find(text, settings, "slide")] == [("date_of_birth", masked)]
    shown = Masker(settings, b"k")(text)
    assert "[DATE_OF_BIRTH-" in shown
    assert not [s for s in ("1990", "19900101") if s in shown]


@pytest.mark.parametrize("text", ["adobe 19900101", "Dobson 1990-01-01", "birth weight 3200", "dobby 900101"])
def test_dob_inside_a_word_is_no_keyword(text: str) -> None:
    assert find(text, DeidSettings(), "slide") == []


def test_a_resident_number_after_a_glued_keyword_is_masked_whole() -> None:
    """``dob850315 - 2345678``: the date of birth would have taken the front six digits and left
    the back part shown; the resident number's pattern masks it whole."""
    shown = Masker(DeidSettings(), b"k")("dob850315 - 2345678")
    assert shown.startswith("dob[KOREAN_RRN-")
    assert "2345678" not in shown


def test_a_slide_property_name_holding_an_identifier_is_masked_everywhere(profile: Profile) -> None:
    """A property's name was shown whole in its findings' messages and pointers
    (``slide property 'aperio.dob19900101' names a person``); now the vendor's name and the
    identifier key's word, or the rest masked."""
    probe = virtual_probe(
        "slides/s1.svs",
        properties={
            "aperio.dob19900101": "x",
            "aperio.patient_id_HongGildong": "y",
            "aperio.note 010-1234-5678": "z",
            "aperio.Patient": "Kim Minsu",
            "openslide.vendor": "aperio",
        },
    )
    found = deid_findings(view_of(profile, slide=probe))
    text = json.dumps([f.model_dump(mode="json") for f in found], ensure_ascii=False)
    assert not [s for s in ("19900101", "HongGildong", "1234-5678", "Minsu") if s in text], text
    pointers = {f.location.pointer for f in found}
    assert {
        "/properties/aperio.dob…",
        "/properties/aperio.patient_id_…",
        "/properties/aperio.Patient",
    } <= pointers
    assert any("'aperio.dob…'" in f.message for f in found)
