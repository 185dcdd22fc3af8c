"""The third review of deid8 (task deidfix4): a birth date after a Korean noun glued to ``생일``
missed; a property name's identifier shown whole when split into short indices, after an index
or ``of``/``sequence``, or before the name word; ordinary names over-masked. Each case failed on
d3cd09b."""

from __future__ import annotations

import re

import pytest

from dqm.identifiers import DeidSettings, Masker, find, names_fields
from validators import deid

TOKEN = r"\[[A-Z_]+-[0-9a-f]{10}\]"

GLUED_BIRTHS = (
    "본인생일 900101", "환자의생일 900101", "피검자생일 1990-01-01", "대상자생일: 1990-01-01",
    "고객생일:19900101", "부모생일 1960-01-01", "아기출생일 2020-01-01", "신생아출생일 2020-01-01",
    "출생일자 1990-01-01", "아기생일 900101",
)  # fmt: skip
NOT_BIRTHS = (
    "대학생일 2019-01-01", "인생일 2019-01-01", "기생일 2019-01-01", "재생일 2019-01-01",
    "회생일 2019-01-01", "희생일 2019-01-01", "선생일 2019-01-01", "증상발생일 2019-01-01",
)  # fmt: skip


@pytest.mark.parametrize("text", GLUED_BIRTHS)
def test_a_birthday_glued_after_whose_it_is_is_found(text: str) -> None:
    settings = DeidSettings()
    assert [h.name for h in find(text, settings, "slide")] == ["date_of_birth"]
    assert re.fullmatch(rf"[^\d]+{TOKEN}", Masker(settings, b"k")(text))


@pytest.mark.parametrize("text", NOT_BIRTHS)
def test_a_word_in_saeng_before_il_is_still_no_birthday(text: str) -> None:
    settings = DeidSettings()
    assert find(text, settings, "slide") == []
    assert Masker(settings, b"k")(text) == text


@pytest.mark.parametrize(
    ("key", "held"),
    [
        ("dicom.PatientBirthDate[19][90][01][01]", "[19][90]"),
        ("dicom.PatientID[123][456][78]", "[123][456]"),
        ("aperio.dob[900][101]", "[900][101]"),
        ("aperio.patient_id[12]_[34]", "[34]"),
        ("aperio.patient_name[0].Case_Rank", "Case"),  # an index no longer resets the check
        ("aperio.patient_name_of_Case_Rank", "Case"),  # nor does ``of``
        ("aperio.PatientName_Sequence_Reading", "Reading"),  # nor ``sequence`` without its index
        ("aperio.PatientName[0].Reading", "Reading"),
        ("aperio.Case_Rank_patient_name", "Case"),  # words before the name word are checked
        ("aperio.Reading_PatientName", "Reading"),
    ],
)
def test_an_identifier_in_a_property_name_is_not_shown(key: str, held: str) -> None:
    vendor = key.partition(".")[0]
    shown = deid.shown_property(key, DeidSettings())
    assert shown.startswith(vendor + ".") and held not in shown[len(vendor) :]
    assert not names_fields(key[len(vendor) + 1 :])


READABLE_NAMES = (
    "aperio.patient_id_number", "aperio.patient_id_issuer", "aperio.patient_id_value",
    "aperio.patient_name_text", "dicom.PatientIDIssuer", "dicom.PatientBirthDateInAlternativeCalendar",
    "dicom.ConsultingPhysicianName",
)  # fmt: skip


@pytest.mark.parametrize("key", READABLE_NAMES)
def test_a_readable_standard_name_is_shown_whole(key: str) -> None:
    assert deid.shown_property(key, DeidSettings()) == key


@pytest.mark.parametrize("escape", ["\\u0031", "\\x31", "\\\\u0031"])
@pytest.mark.parametrize("before", [1900, 1901, 2000])
def test_an_escaped_dob_past_a_scan_window_shows_no_tail(escape: str, before: int) -> None:
    """A window's end cut an escape inside the date: the run ended there read as text, not at the
    window's end, so the window was not scanned again and the next one showed the tail."""
    masked = Masker(DeidSettings(), b"k")("x " * before + "dob " + escape * 60)
    assert re.fullmatch(rf"(?:x )+dob {TOKEN}", masked)
