"""The texts that had no budget of their own (a file name, a manifest cell, a clinical value) are
searched whole: each was cut at 10,000 characters, silently, and an identifier past them was never
found. What bounds them is where they are read from (a manifest line) or a budget a record that
says what it left (``DEID_CLINICAL_UNSEARCHED``)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from dqm import identifiers
from dqm.model import Item
from dqm.profile import Profile
from tests.deid.test_deid import assert_masked, deid_findings, view_of

RRN = "RRN 900101-1234567"


def _long(at: int = 15_000, size: int = 20_000) -> str:
    """``size`` characters of prose, an RRN at ``at``."""
    text = ("tissue block " * (size // 13 + 1))[:at] + RRN
    return text + "x" * (size - len(text))


def test_a_long_manifest_cell_is_searched_whole(profile: Profile) -> None:
    item = Item("s1", "slides/s1.svs", "ann/s1.json", {"notes": _long()}, row=3)
    found = deid_findings(view_of(profile, item=item))
    assert [(f.code, f.location.row, f.location.column) for f in found] == [
        ("DEID_CLINICAL_IDENTIFIER", 3, "#1")  # a column the profile does not declare: its position
    ]
    assert_masked(found)


def test_a_long_slide_id_and_file_name_are_searched_whole(profile: Profile) -> None:
    item = Item(_long(), "slides/" + _long() + ".svs", None, {}, row=2)
    found = deid_findings(view_of(profile, item=item))
    assert sorted((f.code, f.location.column or f.location.file[:7]) for f in found) == [
        ("DEID_FILENAME_IDENTIFIER", "slide_id"),
        ("DEID_FILENAME_IDENTIFIER", "slides/"),
    ]
    assert_masked(found)


def test_a_long_manifest_column_name_is_searched_whole(tmp_path: Path, profile: Profile) -> None:
    from dqm.runner import RunOptions, run_batch

    batch = tmp_path / "b"
    batch.mkdir()
    with (batch / "manifest.csv").open("w", newline="") as fh:
        csv.writer(fh).writerows([["slide_id", "image_path", _long()], ["s1", "slides/s1.svs", "x"]])
    run = run_batch(batch, profile, RunOptions(workers=1))
    found = [f for f in run.findings if f.code == "DEID_COLUMN_IDENTIFIER"]
    assert len(found) == 1
    assert_masked(found)


def test_a_clinical_block_past_the_budget_is_searched_in_part_and_said_so(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An annotation's clinical block (no manifest) is the one record that can hold more than a
    manifest line: within a record's budget each value is searched whole, then the value the budget
    ends in is searched in part, and the warning names it; what follows is not searched."""
    monkeypatch.setattr(identifiers, "MAX_SEARCHED_CHARS", 30_000)
    record = {"diagnosis": _long(), "notes": _long(5_000), "later": RRN}
    item = Item("s1", "slides/s1.svs", "ann/s1.json", record, None)
    found = deid_findings(view_of(profile, item=item))
    assert [(f.code, f.location.pointer, f.location.column) for f in found] == [
        ("DEID_CLINICAL_IDENTIFIER", "/clinical/diagnosis", None),
        ("DEID_CLINICAL_UNSEARCHED", "/clinical", "#2"),
        ("DEID_CLINICAL_IDENTIFIER", "/clinical", "#2"),  # at 5,000 of its first 10,000 characters
    ]
    assert "30,000 characters" in found[1].message
    assert_masked(found)


def test_a_clinical_block_of_more_values_than_are_searched_says_so(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(identifiers, "MAX_SEARCHED_TEXTS", 3)
    record = {f"note{k}": "plain" for k in range(3)} | {"note3": RRN, "note4": RRN}
    item = Item("s1", "slides/s1.svs", "ann/s1.json", record, None)
    found = deid_findings(view_of(profile, item=item))
    assert [(f.code, f.location.pointer, f.location.column) for f in found] == [
        ("DEID_CLINICAL_UNSEARCHED", "/clinical", "#4")
    ]


def test_a_manifest_row_is_searched_whole_past_a_records_budget(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A manifest row was searched within a record's budget (8,000,000 characters), which a row
    can pass (quoted cells hold line breaks: 1,024 cells of 131,072 characters): an RRN in the
    80th of 80 cells of 120,000 characters was not searched (DEID_CLINICAL_UNSEARCHED at the
    66th). The manifest's size cap bounds a row; every cell is searched whole."""
    monkeypatch.setattr(identifiers, "MAX_SEARCHED_CHARS", 30_000)
    monkeypatch.setattr(identifiers, "MAX_SEARCHED_TEXTS", 2)
    record = {"c0": "x" * 20_000, "c1": "y" * 20_000, "c2": "z" * 20_000, "c3": _long(5_000)}
    item = Item("s1", "slides/s1.svs", "ann/s1.json", record, row=2)
    found = deid_findings(view_of(profile, item=item))
    assert [(f.code, f.location.column) for f in found] == [("DEID_CLINICAL_IDENTIFIER", "#4")]
    assert_masked(found)


def test_a_clinical_blocks_nested_values_are_searched_without_a_manifest(profile: Profile) -> None:
    """Without a manifest an annotation's clinical block is the item's record, whose objects and
    lists ``deid.clinical_record`` steps over; ``deid.annotation_properties`` searched the block
    only beside a manifest row: a nested value was searched by neither."""
    from dqm.model import Annotation

    clinical = {"notes": {"text": RRN}, "names": ["Patient name: Hong Gildong"], "diagnosis": RRN}
    ann = Annotation("ann/s1.json", "native", clinical=clinical)
    item = Item("s1", "slides/s1.svs", "ann/s1.json", dict(clinical), None)
    found = deid_findings(view_of(profile, item=item, annotation=ann))
    assert sorted((f.check, f.location.pointer, f.location.column or "") for f in found) == [
        ("deid.annotation_properties", "/clinical", "#1"),  # keys the profile does not declare
        ("deid.annotation_properties", "/clinical", "#2"),
        ("deid.clinical_record", "/clinical/diagnosis", ""),
    ]
    assert_masked(found)


def test_class_names_are_charged_to_the_files_budget(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lesion class name was searched whole with no budget (a 20 MB name: 6.3 s of CPU): each
    distinct name is charged to the file's budget, the name it ends in searched in part and named
    by a warning, the file's other texts not searched after it."""
    from dqm.readers import parse_annotation

    monkeypatch.setattr(identifiers, "MAX_SEARCHED_CHARS", 30_000)
    square = {"type": "Polygon", "coordinates": [[[10, 10], [60, 10], [60, 60], [10, 60], [10, 10]]]}
    lesions = [{"class": name, "geometry": square} for name in ("BCC", _long(), _long(5_000), RRN)]
    lesions[0]["properties"] = {"note": RRN}
    doc = {
        "format": "dqm-lesions/1",
        "slide": {"file": "s1.svs", "width": 100, "height": 80},
        "lesions": lesions,
    }
    (ann,) = parse_annotation(json.dumps(doc).encode(), "ann/s1.json")
    found = deid_findings(view_of(profile, annotation=ann))
    assert [(f.code, f.location.lesion) for f in found] == [
        ("DEID_ANNOTATION_IDENTIFIER", 1),
        ("DEID_ANNOTATION_UNSEARCHED", 2),
        ("DEID_ANNOTATION_IDENTIFIER", 2),  # at 5,000 of the first 10,000 characters
    ]
    assert "30,000 characters" in found[1].message
    assert_masked(found)


def test_a_shared_files_class_names_are_searched_once_an_audit(tmp_path: Path, profile: Profile) -> None:
    """Every item of a shared COCO file searched its lesions' class names: a 4 MB category name
    was searched 20 times for 20 items (16.4 s of CPU; 2.4 s before names were searched whole).
    The item that searches the file's own text searches the class names of all its images."""
    from tests.deid.test_deid import _audit_deid, _coco_batch, _coco_doc

    doc = _coco_doc()
    doc["categories"] = [{"id": 7, "name": RRN}, {"id": 8, "name": "Patient name: Kim Minsu"}]
    doc["annotations"][2]["category_id"] = 8
    batch = _coco_batch(tmp_path / "b", doc, [("s1", "s1.svs"), ("s2", "s2.svs"), ("s3", "s3.svs")])
    assert _audit_deid(batch, profile) == [
        ("s1", "ann/coco.json", "/annotations/0"),
        ("s1", "ann/coco.json", "/annotations/2/category_id"),
        ("s1", "ann/coco.json", "/info/description"),
    ]


def test_a_clinical_blocks_keys_are_searched_without_a_manifest(profile: Profile) -> None:
    """Without a manifest ``deid.clinical_record`` searches the block's values and
    ``deid.annotation_properties`` searched only its objects and lists: a top-level key holding
    an RRN (``{"note 900101-1234567": "x"}``) was searched by neither, though found beside a
    manifest row. The keys are searched as the file's texts, as beside a row."""
    from dqm.model import Annotation

    for clinical in ({"note 900101-1234567": "x"}, {"note 900101-1234567": 5}):
        ann = Annotation("ann/s1.json", "native", clinical=clinical)
        item = Item("s1", "slides/s1.svs", "ann/s1.json", dict(clinical), None)
        found = deid_findings(view_of(profile, item=item, annotation=ann))
        assert [(f.code, f.location.pointer) for f in found] == [("DEID_ANNOTATION_IDENTIFIER", "/clinical")]
        assert_masked(found)
