"""What a second review of the kind keys (task deidfix2) found passed under them: a date with a
two-digit year (``01/02/90``), an id in groups of three digits (``123-456-789``), a name in
capitals taken for an acronym (``KIM``, ``MINSU``) or Hangul syllables of the kind words (``주민``),
an object's keys; and what was flagged though it only names a kind (``ISO 8601``, ``NHS Number``).
Each failed on the former code."""

from __future__ import annotations

from typing import Any

import pytest

from dqm.identifiers import looks_identifying
from dqm.profile import Profile, load_profile
from tests.deid.test_key_forms import _flagged
from tests.deid.test_key_forms import (
    test_a_name_or_an_id_of_any_form_under_a_kind_element_is_flagged as _under_an_element,
)
from tests.deid.test_key_forms import (
    test_a_name_or_an_id_of_any_form_under_a_kind_key_is_flagged as _under_a_key,
)


@pytest.fixture(scope="module")
def profile() -> Profile:
    return load_profile()


SHORT_LEAKS = (
    "01/02/90",
    "1.2.90",
    "12-31-99",
    "03/04/85",
    "123-456-789",
    "123 456 789",
    "1.234.567",
    "KIM",
    "LEE",
    "PARK",
    "HONG",
    "MINSU",
    "JIWOO",
    "주민",
    "유형",
    "주민일",
    "ISO 8601 01/02/90",
)
KINDS = (
    "9999-9999",
    "99/99/9999",
    "ISO 8601",
    "ISO-8601",
    "RFC 3339",
    "NHS Number",
    "Meditech",
    "Cerner Millennium",
    "8자리 숫자",
)


def test_short_dates_grouped_ids_and_names_in_capitals_or_hangul_are_not_a_kind() -> None:
    """``_DATE`` flagged ``01/02/90`` before the kind words came; the words let every number of
    at most three digits through, so two or three of them joined (``1.2.90``, ``123-456-789``)
    passed, as did any one word of two to six capitals (``KIM``) and any run of the Hangul kind
    syllables (``주민``)."""
    assert [v for v in SHORT_LEAKS if not looks_identifying(v)] == []
    assert looks_identifying(["KIM", "MINSU"]) and looks_identifying("8 or 10 digits")
    assert not looks_identifying(["MRN", "8 digits", "YYYY-MM-DD", "주민등록번호", "HL7"])


def test_a_standard_or_a_system_named_under_a_kind_key_is_a_kind() -> None:
    """``ISO 8601``, ``NHS Number``, ``Meditech`` were flagged as an error; a placeholder of
    nines (``9999-9999``) is one as ``NNNN-NNNN`` is, though its digits are joined."""
    assert [v for v in KINDS if looks_identifying(v)] == []


@pytest.mark.parametrize(
    "value", [{"Hong Gildong": "MRN"}, {"87654321": "MRN"}, {"type": {"KIM": "MRN"}}, {"01/02/90": "MRN"}]
)
def test_the_keys_of_an_object_under_a_kind_key_are_judged(profile: Profile, value: dict[str, Any]) -> None:
    """Only an object's values were judged: ``{"patient_id_type": {"Hong Gildong": "MRN"}}`` was
    quiet. Its keys are judged too, and never shown."""
    assert looks_identifying(value)
    assert not looks_identifying({"type": "MRN", "length": 8})
    flagged, shown = _flagged(profile, "native", {"patient_id_type": value})
    assert [at for at, _ in flagged] == ["#1"]
    assert next(iter(value)) not in shown


@pytest.mark.parametrize("fmt", ["native", "xml"])
@pytest.mark.parametrize("value", SHORT_LEAKS)
def test_a_short_date_an_id_or_a_name_under_a_kind_key_is_flagged(
    profile: Profile, fmt: str, value: str
) -> None:
    _under_a_key(profile, fmt, value)  # flagged at its key, masked, never shown
    _under_an_element(profile, value)


@pytest.mark.parametrize("fmt", ["native", "xml"])
def test_a_standard_or_a_system_under_a_kind_key_is_not_flagged(profile: Profile, fmt: str) -> None:
    payload = {"dob_format": "ISO 8601", "patient_id_system": "Cerner Millennium", "PatientIDType": "NHS Number",
               "patient_id_format": "8자리 숫자", "mrn_system": "Meditech"}  # fmt: skip
    assert _flagged(profile, fmt, payload)[0] == []


def test_a_kept_answer_is_read_in_one_look() -> None:
    """``_Kept.get`` asked ``in`` and then indexed: a thread clearing the cache between the two
    (another audit thread past 4,096 keys) raised ``KeyError`` from a key's lookup. The cache here
    is cleared right after it answers ``in``, as that thread would."""
    from dqm.identifiers import _Kept

    class ClearedBetween(dict[Any, Any]):
        def __contains__(self, key: object) -> bool:
            held = super().__contains__(key)
            self.clear()
            return held

    kept = _Kept()
    assert kept.get("k", 1, lambda: "worked") == "worked"
    kept._held = ClearedBetween(kept._held)
    assert kept.get("k", 1, lambda: "again") in ("worked", "again")
