"""Session 28's deid12f2: a ``"`` parts a name's words only in a quoted CSV row's cells, never a JSON
string's end after a ``:``, so masked JSON stays JSON; a header row's titles and a placeholder are no name."""

from __future__ import annotations

import json

import pytest

from dqm.baseline import masked_items
from dqm.facts import ItemSummary
from dqm.identifiers import find
from dqm.profile import load_profile
from tests.deid.deid_helpers import default_masker

DEFAULT = load_profile(None).deid


@pytest.mark.parametrize(
    "value",
    [
        {"Patient Name": "Redacted", "Ward": "East"},
        {"PatientName": "Anonymous", "Modality": "SM"},
        {"comment": "Patient Name: Smith", "Ward": "East"},
        {"notes": "reviewed; patient name Smith", "Laterality": "Left"},
        ["Patient Name: Smith", "Tumor"],
        ["Patient Name: SMITH", "TUMOR", "MARGIN"],
    ],
)
@pytest.mark.parametrize("separators", [(",", ":"), (", ", ": ")])
def test_masked_json_still_parses_to_the_same_keys_and_elements(
    value: dict[str, str] | list[str], separators: tuple[str, str]
) -> None:
    masked = json.loads(default_masker()(json.dumps(value, separators=separators)))
    assert type(masked) is type(value)
    if isinstance(value, dict):
        assert list(masked) == list(value)
    else:
        assert len(masked) == len(value)


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ({"comment": "Patient Name: John Smith", "Ward": "East"}, "John Smith"),
        ({"Patient Name": "John Smith", "Ward": "East"}, "John Smith"),
        (["Patient Name: SMITH^JOHN", "Tumor"], "SMITH^JOHN"),
    ],
)
def test_a_name_in_json_is_masked_and_the_json_still_parses(
    value: dict[str, str] | list[str], name: str
) -> None:
    text = default_masker()(json.dumps(value))
    assert name not in text
    masked = json.loads(text)
    assert (list(masked) if isinstance(masked, dict) else len(masked)) == (
        list(value) if isinstance(value, dict) else len(value)
    )


def test_a_quoted_csv_rows_name_across_its_cells_is_still_one_name() -> None:
    text = default_masker()('"Patient Name","Smith","John"')
    assert "Smith" not in text and "John" not in text


def test_masked_items_of_a_clinical_comment_before_a_capitalised_column_does_not_crash() -> None:
    item = ItemSummary(slide_id="S1", clinical={"comment": "Patient Name: Smith", "Ward": "East"})
    (masked,) = masked_items([item], default_masker())
    # One word after ``Patient Name`` is a name since session 31 (deid15), and a key's cell after it is no header
    # row's (deid15f): masked, the column kept.
    assert masked.clinical is not None and masked.clinical["Ward"] == "East"
    assert "Smith" not in masked.clinical["comment"]
    named = ItemSummary(slide_id="S2", clinical={"comment": "Patient Name: John Smith", "Ward": "East"})
    (masked,) = masked_items([named], default_masker())
    assert masked.clinical is not None and masked.clinical["Ward"] == "East"
    assert "John Smith" not in masked.clinical["comment"]


@pytest.mark.parametrize(
    "header",
    [
        "| Patient Name | Clinic | Ward |",
        "| Patient Name | Consent | Yes |",
        "| Patient Name | Block | Stain |",
        "| Patient Name | Tumor | Margin |",
        '"Patient Name","Clinic","Ward"',
        '"Patient Name","Consent","Yes"',
        '"Patient Name","Redacted","Female"',
        "Patient Name|Redacted|Female",
        "Patient Name|Anonymous|Tumor",
        "Patient Name|Clinic Name|Ward",
        'Patient Name: "Anonymous" Export',
        'Patient Name: "Redacted" "Female"',
    ],
)
def test_a_header_rows_titles_or_a_placeholder_are_no_name(header: str) -> None:
    assert [hit.name for hit in find(header, DEFAULT, "clinical")] == []
    assert default_masker()(header) == header


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Patient Name|John|Ward", "Ward"),
        ("Patient Name\tWard\tJohn", "Ward"),
        ("Patient Name: Ward, John", "Ward"),
        ("Patient Name: Redacted Smith", "Smith"),
        ("Patient Name,Block,Mary", "Block"),
    ],
)
def test_a_surname_beside_those_titles_is_still_masked(text: str, name: str) -> None:
    assert name not in default_masker()(text)
