"""ISO 2859-1 Tables 2-B (tightened) and 2-C (reduced): table cells and the arrows between them."""

from __future__ import annotations

import pytest

from dqm.semantic.iso2859 import (
    CODE_LETTERS,
    REDUCED_SAMPLE_SIZES,
    TABLE_2B,
    TABLE_2C,
    TIGHTENED_LETTERS,
    TIGHTENED_SAMPLE_SIZES,
    plan_iso2859,
    table_cell,
)

# MIL-STD-105E Table II-B (tightened, single sampling) for AQL 0.65 … 15, rows A to L, as the US
# NIBS guide reprints it ("Single Tightened Sample Sizes and Reject Levels"; Re only, v = use the
# plan below, ^ = use the plan above). ISO 2859-1 Table 2-B holds the same plans.
TIGHTENED_EXTRACT = {
    "A": "v v v v v v v v",
    "B": "v v v v v 1 v v",
    "C": "v v v v 1 v v 2",
    "D": "v v v 1 v v 2 3",
    "E": "v v 1 v v 2 3 4",
    "F": "v 1 v v 2 3 4 6",
    "G": "1 v v 2 3 4 6 9",
    "H": "v v 2 3 4 6 9 13",
    "J": "v 2 3 4 6 9 13 19",
    "K": "2 3 4 6 9 13 19 ^",
    "L": "3 4 6 9 13 19 ^ ^",
}
EXTRACT_AQLS = (0.65, 1.0, 1.5, 2.5, 4.0, 6.5, 10, 15)
TIGHTENED_SERIES = ["0/1", "1/2", "2/3", "3/4", "5/6", "8/9", "12/13", "18/19", "27/28", "41/42"]


def test_tightened_extract_matches_table_2b() -> None:
    for letter, cells in TIGHTENED_EXTRACT.items():
        for aql, expected in zip(EXTRACT_AQLS, cells.split(), strict=True):
            got = table_cell(letter, aql, "tightened")
            shown = {"down": "v", "up": "^"}[got] if isinstance(got, str) else str(got[1])
            assert shown == expected, (letter, aql)


@pytest.mark.parametrize(
    ("lot", "aql", "letter", "n", "ac", "re_"),
    [
        (20_000, 1.0, "M", 315, 5, 6),  # normal: 7/8
        (20_000, 0.65, "M", 315, 3, 4),  # normal: 5/6
        (20_000, 2.5, "M", 315, 12, 13),  # normal: 14/15
        (2_000, 0.65, "K", 125, 1, 2),  # normal: 2/3
        (200, 0.65, "G", 32, 0, 1),  # G / 0.65: 0/1 (normal: ↑ to F, n = 20)
        (200, 1.0, "J", 80, 1, 2),  # G / 1.0: ↓ through H to J (normal: ↓ to H, n = 50)
        (100, 1.5, "H", 50, 1, 2),  # F / 1.5: ↓ through G to H
        (5_000, 4.0, "L", 200, 12, 13),
    ],
)
def test_tightened_plans(lot: int, aql: float, letter: str, n: int, ac: int, re_: int) -> None:
    p = plan_iso2859(lot, "II", aql, "tightened")
    assert (p.code_letter, p.sample_size, p.acceptance_number, p.rejection_number) == (letter, n, ac, re_)
    assert p.severity == "tightened"
    if p.arrow is not None:
        assert "Table 2-B arrow" in p.note


def test_tightened_rows_hold_their_series_and_row_s() -> None:
    assert (*CODE_LETTERS, "S") == TIGHTENED_LETTERS and TIGHTENED_SAMPLE_SIZES["S"] == 3150
    for letter, row in TABLE_2B.items():
        numbers = [t for t in row.split() if "/" in t]
        start = TIGHTENED_SERIES.index(numbers[0])  # row A and row S start at 1/2
        assert numbers == TIGHTENED_SERIES[start : start + len(numbers)], letter
        assert len(row.split()) == 26
    # the arrows of row R at the smallest AQLs lead into row S
    assert plan_iso2859(600_000, "II", 0.025, "tightened").code_letter == "S"


def test_reduced_sample_sizes_of_table_2c() -> None:
    printed = (2, 2, 2, 3, 5, 8, 13, 20, 32, 50, 80, 125, 200, 315, 500, 800)
    assert tuple(REDUCED_SAMPLE_SIZES[letter] for letter in CODE_LETTERS) == printed
    assert set(TABLE_2C) == set(CODE_LETTERS)


@pytest.mark.parametrize(
    ("lot", "aql", "letter", "n", "ac", "re_"),
    [
        (20_000, 1.0, "M", 125, 3, 4),  # normal M: n = 315, 7/8
        (20_000, 0.65, "M", 125, 2, 3),
        (5_000, 1.0, "L", 80, 2, 3),
        (2_000, 2.5, "K", 50, 3, 4),
        (200, 1.0, "G", 13, 0, 1),
        (200, 1.5, "F", 8, 0, 1),  # G / 1.5 in 2-C: ↑ to F
    ],
)
def test_reduced_plans(lot: int, aql: float, letter: str, n: int, ac: int, re_: int) -> None:
    p = plan_iso2859(lot, "II", aql, "reduced")
    assert (p.code_letter, p.sample_size, p.acceptance_number, p.rejection_number) == (letter, n, ac, re_)
    assert p.rejection_number == p.acceptance_number + 1  # the 1999 edition: no gap


def test_tightened_is_never_looser_and_reduced_never_larger() -> None:
    for lot in (20, 100, 500, 2_000, 20_000, 200_000):
        for aql in (0.25, 0.65, 1.0, 2.5, 4.0):
            normal = plan_iso2859(lot, "II", aql)
            tight = plan_iso2859(lot, "II", aql, "tightened")
            reduced = plan_iso2859(lot, "II", aql, "reduced")
            # a tightened plan accepts a smaller share of its sample; a reduced one inspects fewer slides
            assert (
                tight.acceptance_number / tight.table_sample_size
                <= (normal.acceptance_number / normal.table_sample_size) + 1e-12
            ), (lot, aql)
            assert reduced.table_sample_size <= normal.table_sample_size, (lot, aql)


def test_unknown_severity_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="severity"):
        plan_iso2859(100, "II", 1.0, "loose")  # type: ignore[arg-type]


def test_review_plan_prints_tightened_and_reduced_plans() -> None:
    from typer.testing import CliRunner

    from dqm.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["review", "plan", "-N", "20000", "--severity", "reduced"])
    assert (
        res.exit_code == 0 and "reduced inspection" in res.output and "n = 125, Ac = 3, Re = 4" in res.output
    )
    res = runner.invoke(app, ["review", "plan", "-N", "20000", "--severity", "loose"])
    assert res.exit_code == 2 and "unknown severity" in res.output
