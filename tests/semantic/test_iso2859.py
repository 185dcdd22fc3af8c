"""ISO 2859-1 Table 1 and Table 2-A: the known entries, an independent transcription, invariants, a sweep."""

from __future__ import annotations

import itertools

import pytest

from dqm.semantic.iso2859 import (
    AQLS,
    CODE_LETTERS,
    LEVELS,
    MAX_PERCENT_AQL,
    SAMPLE_SIZES,
    TABLE_1,
    TABLE_2A,
    code_letter,
    plan_iso2859,
    resolve,
    table_2a,
)

# --------------------------------------------------------------------------- QUALITY-MEASURES.md


@pytest.mark.parametrize(
    ("lot", "aql", "letter", "n", "ac", "re_"),
    [
        (10_001, 1.0, "M", 315, 7, 8),
        (35_000, 1.0, "M", 315, 7, 8),
        (20_000, 0.65, "M", 315, 5, 6),
        (20_000, 2.5, "M", 315, 14, 15),
        (3_201, 1.0, "L", 200, 5, 6),
        (10_000, 1.0, "L", 200, 5, 6),
    ],
)
def test_entries_of_quality_measures(lot: int, aql: float, letter: str, n: int, ac: int, re_: int) -> None:
    p = plan_iso2859(lot, "II", aql)
    assert (p.table_letter, p.code_letter, p.sample_size, p.acceptance_number, p.rejection_number) == (
        letter,
        letter,
        n,
        ac,
        re_,
    )
    assert p.arrow is None and not p.full_inspection and p.note == ""


@pytest.mark.parametrize("lot", [151, 200, 280])
def test_lot_151_280_follows_the_arrow_down_to_50(lot: int) -> None:
    p = plan_iso2859(lot, "II", 1.0)
    assert p.table_letter == "G"
    assert p.arrow == "down"
    assert (p.code_letter, p.sample_size, p.acceptance_number, p.rejection_number) == ("H", 50, 1, 2)
    assert "↓" in p.note and "G" in p.note and "H" in p.note


def test_the_reference_study_lot() -> None:
    """34,376 slides, level II, AQL 1.0 (the closing note of issue 4 reports this plan)."""
    p = plan_iso2859(34_376)
    assert (p.code_letter, p.sample_size, p.acceptance_number, p.rejection_number) == ("M", 315, 7, 8)


# --------------------------------------------------------------------------- independent transcriptions

# Table 1 as printed (rows of lot sizes; S-1 S-2 S-3 S-4 I II III), typed again from the standard
# rather than copied from the module, so a slip in either shows.
TABLE_1_AGAIN = """
2 8 A A A A A A B
9 15 A A A A A B C
16 25 A A B B B C D
26 50 A B B C C D E
51 90 B B C C C E F
91 150 B B C D D F G
151 280 B C D E E G H
281 500 B C D E F H J
501 1200 C C E F G J K
1201 3200 C D E G H K L
3201 10000 C D F G J L M
10001 35000 C D F H K M N
35001 150000 D E G J L N P
150001 500000 D E G J M P Q
500001 - D E H K N Q R
"""

# MIL-STD-105E Table II-A extract for general level II, AQL 0.65 … 15, as the US NIBS guide
# reprints it (Re only; v = use the plan below, ^ = use the plan above), lot range by lot range.
LEVEL_II_EXTRACT = {
    "A": "v v v v v 1 ^ v",
    "B": "v v v v 1 ^ v 2",
    "C": "v v v 1 ^ v 2 3",
    "D": "v v 1 ^ v 2 3 4",
    "E": "v 1 ^ v 2 3 4 6",
    "F": "1 ^ v 2 3 4 6 8",
    "G": "^ v 2 3 4 6 8 11",
    "H": "v 2 3 4 6 8 11 15",
    "J": "2 3 4 6 8 11 15 22",
    "K": "3 4 6 8 11 15 22 ^",
    "L": "4 6 8 11 15 22 ^ ^",
    "M": "6 8 11 15 22 ^ ^ ^",
    "N": "8 11 15 22 ^ ^ ^ ^",
    "P": "11 15 22 ^ ^ ^ ^ ^",
    "Q": "15 22 ^ ^ ^ ^ ^ ^",
}
EXTRACT_AQLS = (0.65, 1.0, 1.5, 2.5, 4.0, 6.5, 10, 15)

# The Ac/Re pairs of each row of Table 2-A in order, arrows left out (MIL-STD-105E, Table II-A).
SERIES = ["0/1", "1/2", "2/3", "3/4", "5/6", "7/8", "10/11", "14/15", "21/22"]
ROW_SEQUENCES = {
    "A": [*SERIES, "30/31"],
    **{letter: [*SERIES, "30/31", "44/45"] for letter in "BCDE"},
    **{letter: SERIES for letter in "FGHJKLMNPQ"},
    "R": SERIES[1:],
}
# The extract's ↑ at A / AQL 10 and this module's both point out of the table (see resolve).


def test_table_1_matches_a_second_transcription() -> None:
    rows = [line.split() for line in TABLE_1_AGAIN.strip().splitlines()]
    assert len(rows) == len(TABLE_1)
    for (low, high, letters), row in zip(TABLE_1, rows, strict=True):
        assert low == int(row[0])
        assert high == (None if row[1] == "-" else int(row[1]))
        assert letters == "".join(row[2:])


def test_level_ii_extract_matches_table_2a() -> None:
    for letter, cells in LEVEL_II_EXTRACT.items():
        for aql, expected in zip(EXTRACT_AQLS, cells.split(), strict=True):
            got = table_2a(letter, aql)
            shown = {"down": "v", "up": "^"}[got] if isinstance(got, str) else str(got[1])
            assert shown == expected, (letter, aql)


def test_level_ii_extract_covers_every_lot_range() -> None:
    """The extract is indexed by lot range; Table 1 must give these letters at level II."""
    for (low, _high, letters), letter in zip(TABLE_1, LEVEL_II_EXTRACT, strict=True):
        assert letters[LEVELS.index("II")] == letter
        assert code_letter(low, "II") == letter


def test_each_row_holds_the_series_in_order() -> None:
    for letter, row in TABLE_2A.items():
        numbers = [t for t in row.split() if "/" in t]
        assert numbers == ROW_SEQUENCES[letter], letter


# --------------------------------------------------------------------------- invariants


def test_table_shapes() -> None:
    assert tuple(TABLE_2A) == CODE_LETTERS
    assert all(len(row.split()) == len(AQLS) for row in TABLE_2A.values())
    assert list(SAMPLE_SIZES.values()) == sorted(SAMPLE_SIZES.values())
    # Table 1's ranges are contiguous and open-ended at the top.
    for (_l1, h1, _), (l2, _h2, _) in itertools.pairwise(TABLE_1):
        assert h1 is not None and l2 == h1 + 1
    assert TABLE_1[0][0] == 2 and TABLE_1[-1][1] is None


def test_code_letters_never_fall_with_lot_size_or_level() -> None:
    for (_a, _b, lower), (_c, _d, upper) in itertools.pairwise(TABLE_1):
        assert all(CODE_LETTERS.index(x) <= CODE_LETTERS.index(y) for x, y in zip(lower, upper, strict=True))
    for _low, _high, letters in TABLE_1:
        idx = [CODE_LETTERS.index(c) for c in letters]
        assert idx == sorted(idx)  # S-1 ≤ … ≤ S-4 ≤ I ≤ II ≤ III


def test_single_sampling_has_re_equal_ac_plus_one() -> None:
    for letter, aql in itertools.product(CODE_LETTERS, AQLS):
        cell = table_2a(letter, aql)
        if not isinstance(cell, str):
            assert cell[1] == cell[0] + 1


OUT_OF_TABLE = {("A", 10), ("R", 0.015)}


def test_every_arrow_resolves_to_the_first_plan_in_its_direction() -> None:
    reversed_cells = set()
    for letter, aql in itertools.product(CODE_LETTERS, AQLS):
        cell = table_2a(letter, aql)
        used, ac, re_, arrow, flipped = resolve(letter, aql)
        assert table_2a(used, aql) == (ac, re_)
        if isinstance(cell, str):
            if flipped:
                reversed_cells.add((letter, aql))
                assert arrow != cell
            else:
                assert arrow == cell
            i, j = CODE_LETTERS.index(letter), CODE_LETTERS.index(used)
            assert (j > i) if arrow == "down" else (j < i)
            between = CODE_LETTERS[min(i, j) + 1 : max(i, j)]
            assert all(isinstance(table_2a(x, aql), str) for x in between)
        else:
            assert (used, arrow, flipped) == (letter, None, False)
    assert reversed_cells == OUT_OF_TABLE


def test_acceptance_numbers_grow_with_aql_and_sample_size() -> None:
    for letter in CODE_LETTERS:
        acs = [c[0] for a in AQLS if not isinstance(c := table_2a(letter, a), str)]
        assert acs == sorted(acs)
    for aql in AQLS:
        acs = [c[0] for x in CODE_LETTERS if not isinstance(c := table_2a(x, aql), str)]
        assert acs == sorted(acs)


def test_plans_lie_on_diagonals_of_equal_n_times_aql() -> None:
    """Sample sizes and AQLs both step by about 10^(1/5): a cell depends on row + column only
    (rows A–E keep the 30/31 and 44/45 plans that rows F–R replace by an up arrow)."""
    for top in (CODE_LETTERS[:5], CODE_LETTERS[5:]):
        by_diagonal: dict[int, set[str]] = {}
        for letter in top:
            for j, token in enumerate(TABLE_2A[letter].split()):
                by_diagonal.setdefault(CODE_LETTERS.index(letter) + j, set()).add(token)
        for d, tokens in by_diagonal.items():
            assert len(tokens) == 1, (d, tokens)


# --------------------------------------------------------------------------- the sweep


def _lots() -> list[int]:
    lots = {1}
    for low, high, _ in TABLE_1:
        lots |= {low, low + 1}
        if high is not None:
            lots |= {high, (low + high) // 2}
    lots |= {750_000, 10**7}
    return sorted(lots)


PERCENT_AQLS = [a for a in AQLS if a <= MAX_PERCENT_AQL]


@pytest.mark.parametrize("level", LEVELS)
def test_sweep_of_lot_sizes_and_aqls(level: str) -> None:
    for lot, aql in itertools.product(_lots(), PERCENT_AQLS):
        p = plan_iso2859(lot, level, aql)
        first = code_letter(lot, level)
        assert p.table_letter == first
        row = next(r for r in TABLE_1 if r[1] is None or max(lot, 2) <= r[1])
        assert first == row[2][LEVELS.index(level)]
        cell = table_2a(first, aql)
        if isinstance(cell, str):
            assert p.code_letter != first
            assert p.arrow == cell or ((first, aql) in OUT_OF_TABLE and p.arrow != cell)
        else:
            assert (p.code_letter, p.acceptance_number, p.rejection_number) == (first, *cell)
        assert table_2a(p.code_letter, aql) == (p.acceptance_number, p.rejection_number)
        assert p.table_sample_size == SAMPLE_SIZES[p.code_letter]
        assert p.sample_size == min(p.table_sample_size, lot)
        assert p.full_inspection == (p.table_sample_size >= lot)
        assert p.rejection_number == p.acceptance_number + 1


def test_full_inspection_when_the_plan_exceeds_the_lot() -> None:
    p = plan_iso2859(12, "II", 1.0)  # B, ↓ to E (13 ≥ 12)
    assert p.full_inspection and p.sample_size == 12 and p.table_sample_size == 13
    assert (p.acceptance_number, p.rejection_number) == (0, 1)
    assert "100 % inspection" in p.note


def test_corners_of_the_table() -> None:
    assert resolve("R", 0.010) == ("Q", 0, 1, "up", False)
    assert resolve("A", 0.010) == ("Q", 0, 1, "down", False)
    # Arrows printed towards no row: the plan on the other side is used, and the note says so.
    assert resolve("R", 0.015) == ("P", 0, 1, "up", True)
    assert resolve("A", 10) == ("C", 1, 2, "down", True)
    p = plan_iso2859(5, "II", 10)
    assert (p.table_letter, p.code_letter, p.table_sample_size, p.sample_size) == ("A", "C", 5, 5)
    assert "out of the table" in p.note and p.full_inspection


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((100, "IV", 1.0), "inspection level"),
        ((0, "II", 1.0), "at least 1"),
        ((100, "II", 0.7), "not in Table 2-A"),
        ((100, "II", 15), "nonconformities per 100"),
    ],
)
def test_bad_arguments_are_value_errors(args: tuple[int, str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plan_iso2859(*args)
