"""What a third review of the kind keys (task deid7) found: a form under a kind key judged by its
field names (``{"dob": "", "format": "YYYY-MM-DD"}`` flagged, a date under its ``dob`` reported at
the kind key with the rest of the form), standards with their versions (``HL7v2``, ``ISO
8601:2004``, ``DICOM PS3.15``) and scanner products (``Motic EasyScan``) taken for a person's, and
a digit of the identifier a key holds shown after its word (``dob1…``). Each failed on the former
code."""

from __future__ import annotations

from typing import Any

import pytest

from dqm.identifiers import key_says, looks_identifying
from dqm.profile import Profile, load_profile
from tests.deid.test_key_forms import _flagged
from tests.deid.test_property_keys import _found, _payload_file, _shown


@pytest.fixture(scope="module")
def profile() -> Profile:
    return load_profile()


JSON_FORMATS = ["native", "qupath", "coco", "dsa_point"]


@pytest.mark.parametrize("fmt", JSON_FORMATS)
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"dob": "", "format": "YYYY-MM-DD"}, []),
        ({"patient_name": "", "dob": ""}, []),
        ({"type": "MRN", "dob": "1990-01-01"}, [("dob", "19********")]),
        ({"type": "MRN", "patient_name": "Hong Gildong"}, [("patient_name", "Ho**********")]),
        ({"type": "MRN", "dob_format": "Hong Gildong"}, [("dob_…", "Ho**********")]),
        ({"name": "", "mrn": "12345678"}, [("PatientID…", "12******")]),
        ({"Hong Gildong": "", "type": "MRN"}, [("PatientID…", "***")]),
    ],
)
def test_a_form_under_a_kind_key_is_judged_field_by_field(
    profile: Profile, fmt: str, value: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    """A field's name (``dob``, ``patient_name``) was judged as a person's, so a form with its
    fields left blank beside a kind (``"format": "YYYY-MM-DD"``) was flagged, its format masked as
    the identifier; and a date under the form's ``dob`` was reported at the kind key
    (``PatientID…``), the form's other texts masked with it. Now a field is judged as its key says,
    where it is: blank, it names nobody; filled, it is flagged at the field. What else the form
    holds (``mrn``, a name as a key) is judged at the kind key as before."""
    data, name, _ = _payload_file(fmt, {"PatientIDType": value})
    found = [f for f in _found(profile, data, name) if f.code.startswith("DEID")]
    assert [(f.message.split("'")[1], f.params.get("value")) for f in found] == expected
    assert not [s for s in ("Gildong", "12345678", "1990-01-01") if s in _shown(found)]


STANDARDS = (
    "HL7v2",
    "HL7 v2.5.1",
    "HL7 2.5.1",
    "ISO 8601:2004",
    "ISO 8601-1:2019",
    "iso 8601",
    "DICOM PS3.15",
    "ICD-10-CM",
    "ICD-O-3",
    "SNOMED CT",
    "LOINC 2.74",
    "HGVS",
    "FHIR R4",
    "v2.5.1",
    "X12v5010",
    "FHIR 4.0.1",
    "HL7 v2.3",
    "ISO 15189",
    # a standard's number of five digits with its edition's year, and ISO's and IEC's joint body
    "ISO 15189:2022",
    "ISO/IEC 27001:2022",
    "IEC 62304:2006",
    "ISO 13485:2016",
    "ISO 14971:2019",
    "ISO 8601-2:2019",
)
NOT_STANDARDS = (
    "MRN 12345678",
    "ID:20230112-0042",
    "900101-1234567",
    "010-1234-5678",
    "KIM 2.1",
    "LOINC 1990.01.01",
    "HL7 12345678",
    "AB1 2345",
    "v1990.01.01",
    "ISO 8601 01/02/90",
    # dates and ids in a version's place (the review of deid7: each passed)
    "HL7 01.02.90",
    "v1.2.90",
    "HL7 v90.01.01",
    "LOINC 90.01.01",
    "v12.31.99",
    "FHIR R1.2.90",
    "HL7 1.234.567",
    "HL7 010.123.456",
    "HL7 12345",
    "DICOM 12345",
    "CPT 90010",
    "ICD-12345-12",
    "ISO 12345-1",
    # dates as a part and a year, and a day and a month as a version (the review of deidfix: each passed)
    "HL7 15-03:1985",
    "ISO 15-03:1985",
    "HL7 Part 15-03:1985",
    "DICOM PS15-03:1985",
    "HL7 0101:1990",
    "ICD 0315-12:1985",
    "ISO 0101-12:1990",
    "ISO 01019:1990",
    "HL7 0101-90",
    "HL7 0315-85",
    "HL7 1503-85",
    "ISO 1503-85",
    "HL7 1990-12",
    "HL7 12.31",
    "HL7 31.12",
    "v12.31",
    "HL7 12.31.9",
    "HL7 31-12",
    "ISO 15189:2022 1234",
    "HL7 01.02",  # a leading zero: a day and a month, no version
    "HL7 123.45",  # a version of three digits has no second group
    "HL7 v880.10.1",
    # an id split across several standards' numbers: one numbered standard a value
    "HL7 v12 v345 v678",
    "HL7 v123 HL7 v456 HL7 v789",
    "ISO 12345 ISO 67890",
)


def test_a_standard_with_its_version_is_a_kind_and_an_id_beside_one_is_not() -> None:
    """Only ``ISO``/``RFC`` and a number were a standard: ``HL7v2`` (a word not listed),
    ``LOINC 2.74`` (two numbers joined), ``SNOMED CT`` (capitals: a name) were flagged. The rule:
    a standard body's or code system's acronym and a version in a version's form."""
    assert [v for v in STANDARDS if looks_identifying(v)] == []
    assert [v for v in NOT_STANDARDS if not looks_identifying(v)] == []


KIND_PAYLOAD = {
    "dob_format": "ISO 8601:2004",
    "PatientIDType": "HL7v2",
    "patient_id_system": "DICOM PS3.15",
    "PatientIDSource": "Motic EasyScan",
    "patient_id_source": "Hamamatsu NanoZoomer S360",
    "dob_source": "Leica Aperio GT450",
}


@pytest.mark.parametrize("fmt", ["native", "xml"])
def test_standards_and_scanner_products_under_kind_keys_are_not_flagged(profile: Profile, fmt: str) -> None:
    """Every key a kind key (``mrn_source`` was none: its value was never judged), each value a
    kind; the same keys holding an id in a product's or a version's place are flagged."""
    assert {key_says(k, profile.deid) for k in KIND_PAYLOAD} == {"kind"}
    assert _flagged(profile, fmt, KIND_PAYLOAD)[0] == []
    leaks = dict(zip(KIND_PAYLOAD, ("HL7 01.02.90", "v1.2.90", "HL7 1.234.567", "Leica Aperio 010 1234 5678",
                                     "Hamamatsu S360 8765 4321", "Leica GT450 1990 01 01"), strict=True))  # fmt: skip
    flagged, shown = _flagged(profile, fmt, leaks)
    assert len(flagged) == len(leaks)
    assert not [s for s in ("1234 5678", "8765 4321", "1990 01 01", "01.02.90", "1.234.567") if s in shown]


PRODUCTS = (
    "Hamamatsu NanoZoomer S360",
    "Motic EasyScan",
    "Leica Aperio GT450",
    "3DHistech P1000",
    "Philips IntelliSite",
    "Roche Ventana DP 200",
    "Olympus VS200",
    "Evident VS200",
    "Huron TissueScope LE120",
    "Sakura VisionTek",
    "OptraSCAN OS-15",
    "KFBIO KF-PRO-005",
    "Leica Aperio AT2",
    "Hamamatsu NanoZoomer S360 II",
    "Leica Aperio",
    "Hamamatsu NanoZoomer 2.0-HT",  # a version of one digit and one: no numbers joined
    "Hamamatsu NanoZoomer 2.0-RS",
    "Grundium Ocus40",  # a maker's own line (test_kind_shapes)
)
NOT_PRODUCTS = (
    "Sakura",
    "Sakura Tanaka",
    "Leica Hong Gildong",
    "Leica KIM",
    "Philips McDonald",
    "Leica HongGildong",
    "Motic 12345678",
    "Leica AB12345678",
    "Hamamatsu S360 87654321",
    "Motic EasyScan 900101-1234567",
    # an id or a date after a maker or a product (the review of deid7: each passed)
    "Leica Aperio 010 1234 5678",
    "Hamamatsu S360 8765 4321",
    "Leica S 9001 0112 3456 7",
    "Leica MRN-1234-56",
    "Leica H1234-5678",
    "Leica D1990-01-01",
    "Leica GT450 1990 01 01",
    "Leica HongGildong1",
    "Philips JohnSmith7",
    "Leica a1b2c3d4e5f6a7b8c9d0",
    "Leica " + "a1" * 400,
    "Roche Sakura",
    "Olympus Sakura",
    "Leica MRN1234",
    "Leica KimMinsuScan",
    "Leica GT450 I I I",
    # an id in several model codes' groups (the review of deidfix: each passed): one model a product
    "Leica S23 B1234",
    "Leica Y90 M01 D01",
    "Leica KIM1 LEE2",
    "Leica AB 123 CD 456",
    "Leica GT1234 A56",
    "Hamamatsu NanoZoomer 2.0-HT 1.2",
    "Leica GT4 5678",  # two numbers joined by a space, five digits in all
    "Leica S1234 EasyScan 567",  # no numbers joined, seven digits in all
    # a name before a word of scanning, a number with a leading zero or in other digits
    "Leica GildongView",
    "Leica KimScan",
    "Leica JisooPath",
    "Leica Aperio HongScan 1990",
    "Leica Aperio 0101",
    "Leica Aperio \uff11\uff19\uff19\uff10",
)


def test_a_scanner_product_is_a_kind_by_its_shape_and_a_name_after_a_maker_is_not() -> None:
    """A maker's product was a kind only where its every word was listed (none was): ``Motic
    EasyScan`` was flagged as a person's. Now a maker and a model code or a product's word in
    camel case is one; a maker alone, or with words a name is written in, or a long number, is not.
    A product is held to an id's number rules (no numbers joined, even by a space; six digits in
    all; a model code short, without a joined date or a kind's word); a maker after a maker only
    where it is a product line (``Leica Aperio``), never ``Roche Sakura``."""
    assert [v for v in PRODUCTS if looks_identifying(v)] == []
    assert [v for v in NOT_PRODUCTS if not looks_identifying(v)] == []


@pytest.mark.parametrize("fmt", ["native", "qupath", "coco", "dsa_point", "xml"])
def test_a_digit_after_the_word_is_not_shown(profile: Profile, fmt: str) -> None:
    """``dob19900101`` was shown as ``dob1…``, ``patient_id87654321`` as ``patient_id8…``: the
    first digit of the identifier the key holds. Now the word alone, the rest masked."""
    payload = {"dob19900101": "x", "patient_id87654321": "y"}
    data, name, where = _payload_file(fmt, payload)
    found = [f for f in _found(profile, data, name) if f.code.startswith("DEID")]
    shown = sorted((f.location.pointer, f.message.split(" names")[0]) for f in found)
    assert shown == [
        (f"{where}#1", "date of birth in a property name: 19****** (8 characters, masked)"),
        (f"{where}#1", "property 'dob…'"),
        (f"{where}#2", "property 'patient_id…'"),
    ]  # the date glued to ``dob`` is a date of birth too (test_kind_shapes)
    assert not [s for s in ("dob1", "id8", "19900101", "87654321") if s in _shown(found)], _shown(found)
