"""Numbers in manifest cells that ``str.isdigit`` and pandas take differently from ``int``: a
superscript digit, an integer past Python's 4,300-digit limit. Each is a finding or ignored as
any other bad value, never a crashed check, never a silent pass of a range."""

from __future__ import annotations

import pytest

from dqm.batch import discover
from dqm.coords import MAX_MPP, MIN_MPP
from dqm.model import Item
from dqm.runner import RunOptions, run_batch
from tests.helpers import write_tiny_batch


@pytest.mark.parametrize("cell", ["²", "١٢", "9" * 5000, "99999999999", "-3", ""])
def test_a_mask_cell_that_is_not_a_plain_whole_number_is_not_stated(cell: str) -> None:
    item = Item("S1", None, None, {"mask_downsample": cell, "mask_left": cell, "mask_top": "4"})
    assert item.stated_mask_downsample is None and item.stated_mask_offset is None


def test_mask_cells_in_plain_digits_are_stated() -> None:
    item = Item("S1", None, None, {"mask_downsample": " 4 ", "mask_left": "10", "mask_top": "0"})
    assert item.stated_mask_downsample == 4 and item.stated_mask_offset == (10, 0)


@pytest.mark.parametrize("cell", ["1e-300", "0.0009", "0", "1e5", "nan", "inf"])
def test_an_mpp_cell_out_of_the_annotations_bounds_is_not_stated(cell: str) -> None:
    # 1e-300 µm a pixel made every lesion's area 0.0 µm² and LESION_TOO_SMALL
    assert Item("S1", None, None, {"mpp": cell}).stated_mpp is None


@pytest.mark.parametrize("cell", [str(MIN_MPP), "0.25", str(MAX_MPP)])
def test_an_mpp_cell_within_the_bounds_is_stated(cell: str) -> None:
    assert Item("S1", None, None, {"mpp": cell}).stated_mpp == float(cell)


def _batch_with_columns(folder, columns: str, *rows: str):  # type: ignore[no-untyped-def]
    """The tiny batch with ``columns`` added to its manifest, ``rows[k]`` the cells of data row k + 1
    (rows not given: empty cells)."""
    root = write_tiny_batch(folder)
    manifest = root / "manifest.csv"
    lines = manifest.read_text().splitlines()
    lines[0] += "," + columns
    for k in range(1, len(lines)):
        lines[k] += "," + (rows[k - 1] if k - 1 < len(rows) else "," * columns.count(","))
    manifest.write_text("\n".join(lines) + "\n")
    return root


def test_hostile_numbers_in_the_manifest_are_findings_not_crashes(tmp_path, profile) -> None:  # type: ignore[no-untyped-def]
    root = _batch_with_columns(tmp_path / "b", "mask_downsample", "²", "9" * 5000, "2")
    manifest = root / "manifest.csv"
    lines = manifest.read_text().splitlines()
    lines[2] = lines[2].replace(",50,", "," + "9" * 5000 + ",", 1)
    manifest.write_text("\n".join(lines) + "\n")
    run = run_batch(root, profile, RunOptions(workers=1))
    codes = {(f.item_id, f.code) for f in run.findings}
    assert not [c for c in codes if c[1] == "CHECK_CRASHED"], codes
    # age 999…9 (5,000 digits): pandas made it NaN, which the range check let through
    assert ("S2", "CLINICAL_OUT_OF_RANGE") in codes
    # the mask cells dqm cannot use are said, not ignored in silence; a plain 2 is used
    bad = {item for item, code in codes if code == "MANIFEST_BAD_VALUE"}
    assert bad == {"S1", "S2"}, codes


def test_each_unusable_stated_cell_is_reported_at_its_row_and_column(tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = _batch_with_columns(tmp_path / "b", "mpp,mask_left,mask_top", "abc,-3,7", "0.25,,", "1e-300,12,١٢")
    issues = [(i.item_id, i.row, i.column) for i in discover(root).issues if i.code == "MANIFEST_BAD_VALUE"]
    assert sorted(issues) == [
        ("S1", 1, "mask_left"),
        ("S1", 1, "mpp"),
        ("S3", 3, "mask_top"),
        ("S3", 3, "mpp"),
    ]


def test_a_stated_column_the_profile_declares_is_left_to_the_clinical_table(tmp_path, profile) -> None:  # type: ignore[no-untyped-def]
    from dqm.profile import FieldDef

    root = _batch_with_columns(tmp_path / "b", "mpp", "abc")
    declared = profile.model_copy(update={"clinical": {**profile.clinical, "mpp": FieldDef(type="number")}})
    for p, said in ((profile, {"S1"}), (declared, set())):
        run = run_batch(root, p, RunOptions(workers=1, clinical=False))
        assert {f.item_id for f in run.findings if f.code == "MANIFEST_BAD_VALUE"} == said


def test_the_reason_names_the_bounds_and_is_translated_whole(tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = _batch_with_columns(tmp_path / "b", "mpp", "abc")
    (issue,) = [i for i in discover(root).issues if i.code == "MANIFEST_BAD_VALUE"]
    assert issue.message == "mpp is not a number of µm per pixel from 0.001 to 10,000: not used"
    assert f"{MIN_MPP:g}" in issue.message
    # what the cell should hold was shown in English inside the Korean sentence
    korean = issue.message.rendered("ko")
    assert "픽셀당 µm" in korean and "per pixel" not in korean
