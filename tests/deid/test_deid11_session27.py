"""Session 27's de-identification leftovers: a profile's edit that leaves a built-in pattern
finding none of what it was written for is warned of, a name never crosses a tab or a cell
separator, and a header row's words parted by characters nobody sees are no name."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.cli import app
from dqm.identifiers import (
    BUILT_IN_EXAMPLES,
    DEFAULT_PATTERNS,
    DeidSettings,
    built_in_patterns_finding_nothing,
    find,
)
from tests.deid.test_deid10_session26 import _profile_with


def test_every_built_in_pattern_finds_each_of_its_examples() -> None:
    assert set(BUILT_IN_EXAMPLES) == set(DEFAULT_PATTERNS)
    settings = DeidSettings()
    for name, examples in BUILT_IN_EXAMPLES.items():
        place = DEFAULT_PATTERNS[name].places[0]
        for text in examples:
            assert name in [hit.name for hit in find(text, settings, place)], (name, text)
    assert built_in_patterns_finding_nothing(settings) == []


@pytest.mark.parametrize(
    ("edit", "name"),
    [
        ("possible_name: {validate_as: rrn}", "possible_name"),
        ("person_name: {validate_as: rrn}", "person_name"),
        ("us_ssn: {validate_as: rrn}", "us_ssn"),
        ("email: {regex: 'nobody@example[.]org'}", "email"),
    ],
)
def test_an_edit_that_leaves_a_built_in_pattern_finding_nothing_is_warned_of(
    tmp_path: Path, edit: str, name: str
) -> None:
    path = _profile_with(tmp_path, f"    {edit}\n")
    annotation = tmp_path / "a.json"
    annotation.write_text('{"slide": {"file": "x.png", "width": 4, "height": 3}, "lesions": []}')
    res = CliRunner().invoke(app, ["validate", str(annotation), "--profile", str(path)])
    assert res.exit_code != 2 and "not valid YAML" not in res.output, res.output
    said = " ".join(res.output.split())  # the console wraps its lines
    level = DEFAULT_PATTERNS[name].level
    assert f"built-in de-identification pattern {name} ({level}) finds none" in said, res.output


@pytest.mark.parametrize(
    "edit",
    [
        "email: {places: [filename, clinical]}",  # keys the profile does not list: valid YAML (session 27f)
        "us_ssn: {level: quasi}",
        r"phone_number: {regex: '0\d{1,2}-\d{3,4}-\d{4}'}",
    ],
)
def test_an_edit_that_keeps_a_built_in_pattern_finding_is_not_warned_of(tmp_path: Path, edit: str) -> None:
    path = _profile_with(tmp_path, f"    {edit}\n")
    annotation = tmp_path / "a.json"
    annotation.write_text('{"slide": {"file": "x.png", "width": 4, "height": 3}, "lesions": []}')
    res = CliRunner().invoke(app, ["validate", str(annotation), "--profile", str(path)])
    assert res.exit_code != 2 and "not valid YAML" not in res.output, res.output
    assert "finds none" not in " ".join(res.output.split()), res.output


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Patient Name\tJohn Smith\tAge\t45", "\tAge\t45"),
        ("Patient Name\tJOHN SMITH\tAGE\tSEX", "\tAGE\tSEX"),
        ("Patient Name\tHong Gildong\tDiagnosis\tStage", "\tDiagnosis\tStage"),
        ("Patient Name: John Smith\x1fAge", "\x1fAge"),
        ("Patient Name\tJohn Smith\tSample Joe", "\tSample Joe"),
        ("Patient Name\tJo\u00adhn Smith\tAge", "\tAge"),
    ],
)
def test_a_name_never_crosses_a_tab_or_a_cell_separator(text: str, kept: str) -> None:
    from tests.deid.deid_helpers import default_masker

    masked = default_masker()(text)
    assert "[PERSON_NAME-" in masked and masked.endswith("]" + kept), masked
    assert "John" not in masked and "JOHN" not in masked and "Hong" not in masked


@pytest.mark.parametrize("joiner", ["\u00ad", "\u200d", "\u200c", "\u2060", "\ufeff"])
def test_a_header_row_whose_words_a_character_written_inside_a_word_joins_is_no_name(joiner: str) -> None:
    from tests.deid.deid_helpers import assert_no_name

    assert_no_name(f"Patient Name\tSAMPLE{joiner}JOE\tAGE")
    assert_no_name(f"Patient Name\tSAMPLE{joiner}ID\tAGE\tSEX")


@pytest.mark.parametrize("joiner", ["\u00ad", "\u200d", "\u2060"])
def test_a_real_name_with_a_character_written_inside_a_word_is_still_masked(joiner: str) -> None:
    from tests.deid.deid_helpers import default_masker, kinds_found

    text = f"Patient Name\tJo{joiner}hn Sm{joiner}ith\tAge"
    assert kinds_found(text) == ["person_name"]
    masked = default_masker()(text)
    assert "Jo" not in masked and "ith" not in masked and masked.endswith("]\tAge"), masked


@pytest.mark.parametrize("gap", ["\t", "\x1f", "&Tab;"])
def test_a_surname_and_a_given_name_in_two_cells_are_still_one_name(gap: str) -> None:
    from tests.deid.deid_helpers import default_masker, kinds_found

    text = f"Patient name:\tHong{gap}Gildong\t45"
    assert kinds_found(text) == ["person_name"]
    masked = default_masker()(text)
    assert "Hong" not in masked and "Gildong" not in masked and masked.endswith("]\t45"), masked


def test_the_digit_zeros_are_unicodes() -> None:
    import sys
    import unicodedata

    from dqm.identifiers import DIGIT_ZEROS

    zeros = [c for c in range(sys.maxunicode + 1) if unicodedata.decimal(chr(c), -1) == 0]
    assert list(DIGIT_ZEROS) == zeros
    assert all(unicodedata.decimal(chr(zero + v)) == v for zero in zeros for v in range(10))


AR = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FA = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
DEVA = str.maketrans("0123456789", "०१२३४५६७८९")


@pytest.mark.parametrize("digits", [AR, FA, DEVA])
@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("RRN 900101-1234567", "korean_rrn"),
        ("id 900101-2234567 seen", "korean_rrn"),
        ("slide_900101-1234567.svs", "korean_rrn"),
        ("Tel 010-1234-5678", "phone_number"),
    ],
)
def test_a_number_in_another_scripts_digits_is_found_and_masked(digits: dict, text: str, kind: str) -> None:
    from tests.deid.deid_helpers import default_masker, kinds_found

    written = text.translate(digits)
    assert kinds_found(written) == [kind]
    masked = default_masker()(written)
    assert "[" + kind.upper() + "-" in masked, masked
    assert not any(c.isdigit() for c in masked.split("[")[0] + masked.split("]")[-1]), masked  # none in clear


@pytest.mark.parametrize("text", ["900101-9234567", "900101-0234567", "Tel 110-1234-5678"])
def test_another_scripts_digits_take_no_number_the_ascii_one_is_not(text: str) -> None:
    from tests.deid.deid_helpers import kinds_found

    assert kinds_found(text.translate(AR)) == kinds_found(text) == []


@pytest.mark.parametrize(
    ("text", "kind", "number"),
    [
        ("file:///data/Kim%20900101-1234567.svs", "korean_rrn", "900101-1234567"),
        ("https://pacs/view?q=id%09900101-2234567&x=1", "korean_rrn", "900101-2234567"),
        ("report?q=patient%20123-45-6789", "us_ssn", "123-45-6789"),
        ("contact%20010-1234-5678", "phone_number", "010-1234-5678"),
    ],
)
def test_a_number_after_a_percent_escape_is_found_and_masked(text: str, kind: str, number: str) -> None:
    from tests.deid.deid_helpers import default_masker, kinds_found

    assert kinds_found(text) == [kind]
    masked = default_masker()(text)
    assert number not in masked and f"[{kind.upper()}-" in masked, masked


@pytest.mark.parametrize("text", ["a%2012345900101-1234567", "x%201900101-1234567", "v2.20900101-1234567"])
def test_a_longer_number_after_a_percent_escape_is_still_none(text: str) -> None:
    from tests.deid.deid_helpers import kinds_found

    assert kinds_found(text) == []
