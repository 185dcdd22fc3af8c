"""다양성 요건 (diversity requirements): minimum slide counts and shares the profile requires.

Each category of a grouping (a class, an institution, a class × institution pair, a sex × age
band pair, a site) is one gated figure: its slide count (or share) against the profile's minimum.
The patients of a class (``patients_class``) count distinct patients instead of slides: a patient
with three slides of a class is one, slides without a patient id are not counted.
The categories are those the profile declares, so a declared category without a slide fails
with count 0; where the profile declares none, the ones present in the batch are used.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Mapping, Sequence

from dqm.decided import DecidedFigure
from dqm.diversity.models import CategoricalSummary
from dqm.diversity.settings import MINIMUM_GROUPS, PATIENT_GROUPS, Minimum
from dqm.diversity.table import Table
from dqm.tolerance import count_reaches

KEY_PREFIX = "minimum."
"""The key of every minimum figure starts so (``minimum.<grouping>.<category>.<count|share>``)."""


def _counts(
    group: tuple[str, ...],
    table: Table,
    summaries: Mapping[str, CategoricalSummary],
    patients: Sequence[int | None] | None = None,
) -> tuple[dict[tuple[str, ...], int], int]:
    """Slides per category (or combination, every one of the declared categories) and the
    slides with a value in every variable of the grouping (the denominator of shares); with
    ``patients`` (one per slide), distinct patients instead, slides without one left out."""
    columns = [table.columns[v] for v in group]
    rows = [
        (tuple(vals), k)
        for k, vals in enumerate(zip(*columns, strict=True))
        if all(x is not None for x in vals) and (patients is None or patients[k] is not None)
    ]
    if patients is None:
        counted = Counter(cell for cell, _ in rows)
        n = len(rows)
    else:
        distinct = {(cell, patients[k]) for cell, k in rows}
        counted = Counter(cell for cell, _ in distinct)
        n = len({patients[k] for _, k in rows})
    cells = itertools.product(*(list(summaries[v].counts) for v in group))
    out = {cell: counted.get(cell, 0) for cell in cells}
    for cell, c in counted.items():  # a value outside the summaries' categories still counts
        out.setdefault(cell, c)
    return out, n


def _figure(
    grouping: str, cell: tuple[str, ...], count: int, n: int, what: str, target: float
) -> DecidedFigure:
    label = " × ".join(cell)
    key = f"{KEY_PREFIX}{grouping}.{'.'.join(cell)}.{what}"
    per_patient = grouping in PATIENT_GROUPS
    unit = "patients" if per_patient else "slides"
    group = "class" if per_patient else grouping.replace("_", " × ")
    if what == "count":
        return DecidedFigure(
            name=f"{unit} {group} {label}",
            key=key,
            value=float(count),
            target=target,
            passed=count_reaches(count, target),
            numerator=count,
            denominator=n,
            unit=unit,
            note="minimum patient count (distinct patient_id)" if per_patient else "minimum slide count",
        )
    share = count / n if n else None
    return DecidedFigure(
        name=f"share of {unit} {group} {label}",
        key=key,
        value=share,
        target=target,
        passed=None if share is None else count_reaches(share, target),
        numerator=count,
        denominator=n,
        unit=unit,
        percent=True,
        note=f"minimum share of the {unit} with a value",
    )


def minimum_figures(
    table: Table,
    summaries: Mapping[str, CategoricalSummary],
    minimums: Mapping[str, Minimum],
    patients: Sequence[int | None],
) -> list[DecidedFigure]:
    """One gated figure per category of each grouping the profile sets a minimum for, count
    before share, in the order of :data:`MINIMUM_GROUPS` and of the categories.

    ``patients`` holds each slide's patient number (:attr:`dqm.facts.ItemSummary.patient`), in
    the order of the table's rows. A share over no slide (or
    patient) with a value is undecided (``passed`` None); a count over none is 0 and fails.
    """
    out: list[DecidedFigure] = []
    for grouping, variables in MINIMUM_GROUPS.items():
        rule = minimums.get(grouping)
        if rule is None:
            continue
        counts, n = _counts(variables, table, summaries, patients if grouping in PATIENT_GROUPS else None)
        for cell, count in counts.items():
            if rule.count is not None:
                out.append(_figure(grouping, cell, count, n, "count", rule.count))
            if rule.share is not None:
                out.append(_figure(grouping, cell, count, n, "share", rule.share))
    return out


def is_minimum(key: str) -> bool:
    """Whether a gate key (``diversity.minimum.…`` or ``minimum.…``) is a minimum figure."""
    return key.removeprefix("diversity.").startswith(KEY_PREFIX)
