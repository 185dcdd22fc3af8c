"""ISO 2859-1 single sampling plans for normal, tightened and reduced inspection, with the tables
written out as data.

Table 1 gives a sample size code letter for a lot size and an inspection level; Table 2-A (normal),
2-B (tightened) and 2-C (reduced) give, for a code letter and an AQL, the acceptance and rejection
numbers (Ac, Re) — or an arrow. An arrow means "use the first sampling plan below (↓) or above (↑)
the arrow", that is another code letter and so another sample size. ISO 2859-1, ANSI/ASQ Z1.4 and
MIL-STD-105E share Tables 1, 2-A and 2-B; Table 2-C follows ISO 2859-1:1999 (see ``TABLE_2C``).

The cells are transcribed below one row per code letter: ``v`` is ↓, ``^`` is ↑, ``Ac/Re``
otherwise. The columns are the 26 preferred AQLs; those above 10 are expressed in nonconformities
per 100 items only, so :func:`plan_iso2859` (a proportion of slides) accepts AQL ≤ 10.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

LEVELS: tuple[str, ...] = ("S-1", "S-2", "S-3", "S-4", "I", "II", "III")

CODE_LETTERS: tuple[str, ...] = tuple("ABCDEFGHJKLMNPQR")

SAMPLE_SIZES: dict[str, int] = dict(
    zip(CODE_LETTERS, (2, 3, 5, 8, 13, 20, 32, 50, 80, 125, 200, 315, 500, 800, 1250, 2000), strict=True)
)

# Table 1: (smallest lot size, largest lot size or None, code letters for LEVELS).
TABLE_1: tuple[tuple[int, int | None, str], ...] = (
    (2, 8, "AAAAAAB"),
    (9, 15, "AAAAABC"),
    (16, 25, "AABBBCD"),
    (26, 50, "ABBCCDE"),
    (51, 90, "BBCCCEF"),
    (91, 150, "BBCDDFG"),
    (151, 280, "BCDEEGH"),
    (281, 500, "BCDEFHJ"),
    (501, 1200, "CCEFGJK"),
    (1201, 3200, "CDEGHKL"),
    (3201, 10000, "CDFGJLM"),
    (10001, 35000, "CDFHKMN"),
    (35001, 150000, "DEGJLNP"),
    (150001, 500000, "DEGJMPQ"),
    (500001, None, "DEHKNQR"),
)

AQLS: tuple[float, ...] = (
    0.010, 0.015, 0.025, 0.040, 0.065, 0.10, 0.15, 0.25, 0.40, 0.65, 1.0, 1.5, 2.5,
    4.0, 6.5, 10, 15, 25, 40, 65, 100, 150, 250, 400, 650, 1000,
)  # fmt: skip

MAX_PERCENT_AQL = 10.0
"""AQLs above this are nonconformities per 100 items only (ISO 2859-1, Table 2-A)."""

# Table 2-A, normal inspection, single sampling. One row per code letter, one cell per AQL.
# Two arrows point out of the table: ↑ at A / AQL 10 (no row above A) and ↓ at R / AQL 0.015
# (no row below R). :func:`resolve` then follows the opposite direction and says so.
TABLE_2A: dict[str, str] = {
    "A": "v v v v v v v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31",
    "B": "v v v v v v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31 44/45",
    "C": "v v v v v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31 44/45 ^",
    "D": "v v v v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31 44/45 ^ ^",
    "E": "v v v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31 44/45 ^ ^ ^",
    "F": "v v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^",
    "G": "v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^",
    "H": "v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^",
    "J": "v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "K": "v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "L": "v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "M": "v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "N": "v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "P": "v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "Q": "0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "R": "^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
}

# Table 2-B, tightened inspection, single sampling: the sample sizes of 2-A plus row S (n = 3150),
# reached only through the arrows of row R. Each row is row 2-A's shifted one AQL step to the right
# (a smaller AQL column holds the plan), with the series 0/1 1/2 2/3 3/4 5/6 8/9 12/13 18/19 27/28
# 41/42, and both cells between 0/1 and 1/2 are ↓; row A has no 0/1 plan. Rows A to L at AQL 0.65
# to 15 are checked against a transcription of MIL-STD-105E Table II-B (tests/semantic/test_iso2859.py);
# the other cells follow the table's diagonals. Row S at AQL 0.015 is ↓ out of the table, like 2-A's
# row R there, and :func:`resolve` takes the plan above.
TABLE_2B: dict[str, str] = {
    "A": "v v v v v v v v v v v v v v v v v v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 27/28",
    "B": "v v v v v v v v v v v v v v 0/1 v v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 27/28 41/42",
    "C": "v v v v v v v v v v v v v 0/1 v v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 27/28 41/42 ^",
    "D": "v v v v v v v v v v v v 0/1 v v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 27/28 41/42 ^ ^",
    "E": "v v v v v v v v v v v 0/1 v v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 27/28 41/42 ^ ^ ^",
    "F": "v v v v v v v v v v 0/1 v v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^",
    "G": "v v v v v v v v v 0/1 v v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^ ^",
    "H": "v v v v v v v v 0/1 v v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^ ^ ^",
    "J": "v v v v v v v 0/1 v v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "K": "v v v v v v 0/1 v v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "L": "v v v v v 0/1 v v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "M": "v v v v 0/1 v v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "N": "v v v 0/1 v v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "P": "v v 0/1 v v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "Q": "v 0/1 v v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "R": "0/1 v v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "S": "^ v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
}

TIGHTENED_LETTERS: tuple[str, ...] = (*CODE_LETTERS, "S")
TIGHTENED_SAMPLE_SIZES: dict[str, int] = {**SAMPLE_SIZES, "S": 3150}

# Table 2-C, reduced inspection, single sampling, as in ISO 2859-1:1999: the reduced sample of a
# code letter is the normal sample two letters earlier (A, B and C: 2), and its Ac and Re are those
# of that normal plan, Re = Ac + 1. (The 1989 edition, MIL-STD-105E and ANSI/ASQ Z1.4 print reduced
# plans with a gap between Ac and Re instead.)
REDUCED_SAMPLE_SIZES: dict[str, int] = {
    letter: SAMPLE_SIZES[CODE_LETTERS[max(i - 2, 0)]] for i, letter in enumerate(CODE_LETTERS)
}
TABLE_2C: dict[str, str] = {
    letter: TABLE_2A[CODE_LETTERS[max(i - 2, 0)]] for i, letter in enumerate(CODE_LETTERS)
}

Severity = Literal["normal", "tightened", "reduced"]
SEVERITIES: tuple[Severity, ...] = ("normal", "tightened", "reduced")
_TABLES: dict[str, tuple[str, dict[str, str], tuple[str, ...], dict[str, int]]] = {
    "normal": ("2-A", TABLE_2A, CODE_LETTERS, SAMPLE_SIZES),
    "tightened": ("2-B", TABLE_2B, TIGHTENED_LETTERS, TIGHTENED_SAMPLE_SIZES),
    "reduced": ("2-C", TABLE_2C, CODE_LETTERS, REDUCED_SAMPLE_SIZES),
}

Cell = tuple[int, int] | Literal["down", "up"]


@dataclass(frozen=True, slots=True)
class Iso2859Plan:
    """A single sampling plan after following the arrows."""

    lot_size: int
    level: str
    aql: float
    table_letter: str
    """The code letter Table 1 gives for the lot size and level."""
    code_letter: str
    """The code letter whose plan is used (differs from ``table_letter`` after an arrow)."""
    table_sample_size: int
    """The sample size of ``code_letter`` in Table 2-A."""
    sample_size: int
    """Slides to inspect: ``table_sample_size``, or the whole lot when that is smaller."""
    acceptance_number: int
    rejection_number: int
    arrow: Literal["down", "up"] | None
    """The arrow followed from the Table 1 letter, None when its cell held a plan."""
    full_inspection: bool
    """True when the table's sample size equals or exceeds the lot: every slide is inspected."""
    note: str
    severity: Severity = "normal"
    """The table the plan comes from: normal (2-A), tightened (2-B) or reduced (2-C)."""


def aql_index(aql: float) -> int:
    """Column of Table 2-A for an AQL; ValueError when it is not one of the preferred values."""
    for i, value in enumerate(AQLS):
        if abs(value - aql) <= 1e-9 * max(1.0, value):
            return i
    raise ValueError(f"AQL {aql:g} is not in Table 2-A; choose one of {', '.join(f'{a:g}' for a in AQLS)}")


def code_letter(lot_size: int, level: str = "II") -> str:
    """Table 1: the sample size code letter for a lot size and inspection level.

    Parameters
    ----------
    lot_size
        Number of items in the lot, at least 1. Table 1 starts at 2; a lot of one item uses the
        first row (its plan then inspects the one item).
    level
        ``S-1`` … ``S-4``, ``I``, ``II`` or ``III``.

    Raises
    ------
    ValueError
        For a lot size below 1 or an unknown level.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown inspection level {level!r}; choose one of {', '.join(LEVELS)}")
    if lot_size < 1:
        raise ValueError(f"lot size must be at least 1, got {lot_size}")
    column = LEVELS.index(level)
    for _low, high, letters in TABLE_1:
        if high is None or lot_size <= high:
            return letters[column]
    raise AssertionError("unreachable: the last row of Table 1 is open-ended")


def table_2a(letter: str, aql: float) -> Cell:
    """The cell of Table 2-A: ``(Ac, Re)`` or the arrow ``"down"`` / ``"up"``."""
    return table_cell(letter, aql, "normal")


def table_cell(letter: str, aql: float, severity: Severity = "normal") -> Cell:
    """The cell of Table 2-A, 2-B or 2-C (by ``severity``): ``(Ac, Re)`` or ``"down"`` / ``"up"``."""
    if severity not in _TABLES:
        raise ValueError(f"unknown severity {severity!r}; choose one of {', '.join(SEVERITIES)}")
    table = _TABLES[severity][1]
    if letter not in table:
        raise ValueError(f"unknown code letter {letter!r}")
    token = table[letter].split()[aql_index(aql)]
    if token == "v":
        return "down"
    if token == "^":
        return "up"
    ac, re_ = token.split("/")
    return int(ac), int(re_)


class Resolution(NamedTuple):
    """Where the arrows of Table 2-A lead."""

    letter: str
    ac: int
    re: int
    arrow: Literal["down", "up"] | None
    """The direction followed; None when the cell held a plan."""
    reversed: bool = False
    """True when the printed arrow leads out of the table and the opposite direction was taken."""


def resolve(letter: str, aql: float, severity: Severity = "normal") -> Resolution:
    """Follow the arrows of Table 2-A (2-B, 2-C by ``severity``) from ``letter`` in the AQL's column.

    An arrow that leads out of the table (↑ in row A at AQL 10, ↓ in row R at AQL 0.015) has no
    plan to point to; the plan in the other direction is used instead (``reversed``). At A / 10 that
    is C (n = 5, Ac 1), which also agrees with the np-diagonal of the table; at R / 0.015 it is P
    (n = 800, Ac 0).
    """
    cell = table_cell(letter, aql, severity)
    if not isinstance(cell, str):
        return Resolution(letter, cell[0], cell[1], None)
    letters = _TABLES[severity][2]
    start = letters.index(letter)
    for direction, flipped in ((cell, False), ("up" if cell == "down" else "down", True)):
        step = 1 if direction == "down" else -1
        i = start + step
        while 0 <= i < len(letters):
            found = table_cell(letters[i], aql, severity)
            if not isinstance(found, str):
                return Resolution(letters[i], found[0], found[1], direction, flipped)  # type: ignore[arg-type]
            i += step
    raise AssertionError(f"no plan in the column of AQL {aql:g}")


def plan_iso2859(
    lot_size: int, level: str = "II", aql: float = 1.0, severity: Severity = "normal"
) -> Iso2859Plan:
    """ISO 2859-1 single sampling plan for a lot, normal inspection unless ``severity`` says otherwise.

    Parameters
    ----------
    lot_size
        Slides in the lot (at least 1).
    level
        Inspection level: ``II`` (general, the default), ``I``, ``III`` or special ``S-1`` … ``S-4``.
    aql
        Acceptance quality limit in percent nonconforming, one of the preferred values ≤ 10.
    severity
        ``normal`` (Table 2-A), ``tightened`` (2-B) or ``reduced`` (2-C): the state of the
        switching rules for the lot's supplier (:mod:`dqm.semantic.switching`).

    Returns
    -------
    Iso2859Plan
        Code letter after the arrows, sample size, Ac and Re. When the table's sample size equals
        or exceeds the lot size every slide is inspected (``full_inspection``); Ac and Re stay
        those of the plan.

    Raises
    ------
    ValueError
        Unknown level or severity, lot size below 1, AQL not in Table 2-A or above 10 %.
    """
    aql_index(aql)
    if severity not in _TABLES:
        raise ValueError(f"unknown severity {severity!r}; choose one of {', '.join(SEVERITIES)}")
    table_name, _table, _letters, sizes = _TABLES[severity]
    if aql > MAX_PERCENT_AQL:
        raise ValueError(
            f"AQL {aql:g} is defined in nonconformities per 100 items only; for a proportion of "
            f"slides use an AQL of at most {MAX_PERCENT_AQL:g}"
        )
    first = code_letter(lot_size, level)
    letter, ac, re_, arrow, flipped = resolve(first, aql, severity)
    n_table = sizes[letter]
    full = n_table >= lot_size
    notes = []
    if arrow is not None:
        printed = arrow if not flipped else ("up" if arrow == "down" else "down")
        notes.append(
            f"Table {table_name} arrow {'↓' if printed == 'down' else '↑'} from code letter {first} "
            f"(n = {sizes[first]}) to {letter} (n = {n_table})"
            + (" (the arrow leads out of the table: the plan on the other side is used)" if flipped else "")
        )
    if full:
        notes.append(f"sample size {n_table} ≥ lot size {lot_size}: 100 % inspection")
    return Iso2859Plan(
        lot_size=lot_size,
        level=level,
        aql=AQLS[aql_index(aql)],
        table_letter=first,
        code_letter=letter,
        table_sample_size=n_table,
        sample_size=min(n_table, lot_size),
        acceptance_number=ac,
        rejection_number=re_,
        arrow=arrow,
        full_inspection=full,
        note="; ".join(notes),
        severity=severity,
    )
