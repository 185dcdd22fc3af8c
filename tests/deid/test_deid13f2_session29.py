"""Session 29's third round on deid13's Latin rules: a given name after ``;`` before an age or a middle
initial (``John Smith; Mary 45``, ``; Mary J. Jones``: in clear in deid13f, which kept ``;`` unsplit before any
word a number or a letter alone follows), and a spaced-dash phone number in another script's digits
(``Tel ٠١٠ - ١٢٣٤ - ٥٦٧٨``: none in deid13f, whose phone prefix took ASCII and full-width digits only)."""

from __future__ import annotations

import pytest

from tests.deid.deid_helpers import default_masker, kinds_found


@pytest.mark.parametrize(
    ("text", "given", "after"),
    [
        ("Patient Name: John Smith; Mary 45", "Mary", " 45"),
        ("Patient Name: Smith, John; Kim 45", "Kim", " 45"),
        ("Patient Name: John Smith; Mary 45y", "Mary", " 45y"),
        ("Patient Name: John Smith; Mary 45 F", "Mary", " 45 F"),
        ("Patient Name: John Smith; Mary J. Jones", "Mary", ""),  # the initial and surname too since deid14
        ("Patient Name: John Smith; Mary K Jones", "Mary", ""),
        ("Patient Name: John Smith; Ann B. Lee", "Ann", ""),
    ],
)
def test_a_given_name_after_a_semicolon_before_an_age_or_an_initial_is_masked(
    text: str, given: str, after: str
) -> None:
    assert kinds_found(text) == ["person_name"]
    masked = default_masker()(text)
    assert given not in masked, masked
    assert ";" not in masked, masked  # the semicolon is inside the one masked name
    assert masked.startswith("Patient Name: [PERSON_NAME-"), masked
    assert masked.endswith("]" + after), masked


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Patient Name: John Smith; Bed 4", "; Bed 4"),
        ("Patient Name: John Smith; ROOM 12", "; ROOM 12"),
        ("Patient Name: John Smith; Unit C", "; Unit C"),
        ("Patient Name: John Smith; Floor 3", "; Floor 3"),
    ],
)
def test_a_place_word_after_a_semicolon_is_still_kept(text: str, kept: str) -> None:
    # guards: pass on base too
    masker = default_masker()
    assert masker(text) == masker("Patient Name: John Smith") + kept


def test_a_surname_that_is_a_place_word_before_a_comma_is_still_a_name() -> None:
    # guards: pass on base too
    masked = default_masker()("Patient Name: Smith, John; Ward, Mary")
    assert "Ward" not in masked and "Mary" not in masked, masked


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("Tel \u0660\u0661\u0660 - \u0661\u0662\u0663\u0664 - \u0665\u0666\u0667\u0668", "Tel 010-1234-5678"),
        ("Tel \u06f0\u06f1\u06f0 - \u06f1\u06f2\u06f3\u06f4 - \u06f5\u06f6\u06f7\u06f8", "Tel 010-1234-5678"),
        ("Tel \u0660\u0662 - \u0661\u0662\u0663 - \u0664\u0665\u0666\u0667", "Tel 02-123-4567"),
        ("Tel \u0966\u0969\u0967 - \u0967\u0968\u0969 - \u096a\u096b\u096c\u096d", "Tel 031-123-4567"),
    ],
)
def test_a_spaced_dash_phone_number_in_any_scripts_digits_is_found(text: str, plain: str) -> None:
    assert kinds_found(text) == ["phone_number"]
    masker = default_masker()
    assert masker(text) == masker(plain)


def test_spaced_numbers_in_other_digits_with_no_phone_prefix_are_still_none() -> None:
    # guards: pass on base too
    assert kinds_found("range \u0660\u0662\u0660 - \u0661\u0660\u0660 - \u0662\u0660\u0660\u0660 mm") == []
