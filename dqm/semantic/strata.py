"""Merging strata when the stratification fields make too many (``dqm sample --strata``).

A field with a value a slide or so (``age``, a measurement, a free-text site) makes a stratum of
nearly every slide, and the floor per stratum then draws the whole lot. :func:`merge_strata`
coarsens the fields until the lot makes at most :data:`MAX_STRATA` strata:

* the field with the most values (in the strata as they stand) is coarsened first, to half its
  values, and the count is taken again; the next field with the most values follows, until the
  lot makes at most the cap;
* a **numeric** field (most of its non-missing slides a finite number) becomes quantile bins over
  the lot's slides, each labelled with the range of the values it holds (``34–41``), its values
  that are not numbers (a typo the syntactic checks report) merged into :data:`OTHER`; a **categorical**
  field keeps its most frequent values and puts the rest into :data:`OTHER`; ``(missing)`` stays a
  value of its own either way;
* every choice depends on the values only (ties by value), so the same lot gives the same strata
  and, with the same seed, the same sample.

The merged labels are the strata :func:`dqm.semantic.sampling.draw_sample` draws from: the weights
stay ``N_c / n_c`` of each merged cell and sum to its size.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Mapping, Sequence

from dqm.semantic.models import MergedField, StrataMerge

MAX_STRATA = 500
"""The most strata a plan is drawn over (as ``MAX_LOTS`` caps ``--lot-by``): past it the fields
are coarsened (see the module docstring)."""
OTHER = "(other)"
"""The merged value of a categorical field's less frequent values."""
ALL = "(all)"
"""The merged value of a field coarsened to a single value."""
MISSING = "(missing)"


def _number(value: str) -> float | None:
    try:
        x = float(value)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def _numbers(values: Sequence[str]) -> dict[str, float] | None:
    """Value → number for the values that are finite numbers, when they are the most of the
    non-missing slides (a numeric field with a typo or two); else None (a categorical field)."""
    counts = Counter(values)
    got = {v: x for v in counts if v != MISSING and (x := _number(v)) is not None}
    numeric = sum(counts[v] for v in got)
    return got if got and 2 * numeric > len(values) - counts[MISSING] else None


def _range_label(low: float, high: float) -> str:
    return f"{low:.15g}" if low == high else f"{low:.15g}–{high:.15g}"


def _bins(values: Sequence[str], numbers: Mapping[str, float], k: int) -> dict[str, str]:
    """Value → the label of its quantile bin (at most ``k`` bins of about equal numbers of slides);
    ``(missing)`` stays itself, a value that is not a number goes to :data:`OTHER`."""
    xs = sorted(numbers[v] for v in values if v in numbers)
    cuts = sorted({xs[j * len(xs) // k] for j in range(1, k)} - {xs[0]})
    members: dict[int, list[float]] = {}
    for x in sorted(set(numbers.values())):
        members.setdefault(bisect_right(cuts, x), []).append(x)
    label_of = {b: _range_label(xs_b[0], xs_b[-1]) for b, xs_b in members.items()}
    return {
        v: label_of[bisect_right(cuts, numbers[v])] if v in numbers else MISSING if v == MISSING else OTHER
        for v in set(values)
    }


def _top(values: Sequence[str], k: int) -> dict[str, str]:
    """Value → itself for the ``k − 1`` most frequent values (ties by value), :data:`OTHER` for the rest."""
    counts = Counter(values)
    ranked = sorted(counts, key=lambda v: (-counts[v], v))
    keep = set(ranked[: k - 1]) if len(ranked) > k else set(ranked)
    return {v: v if v in keep else OTHER for v in counts}


def _coarsened(values: Sequence[str], numbers: Mapping[str, float] | None, k: int) -> dict[str, str]:
    """Value → its merged value, the field coarsened to at most ``k`` values (:data:`ALL` for one)."""
    if k <= 1:
        return dict.fromkeys(values, ALL)
    if numbers is None:
        return _top(values, k)
    distinct = set(values)
    extra = (MISSING in distinct) + any(v != MISSING and v not in numbers for v in distinct)
    return _bins(values, numbers, max(k - extra, 1))


def merge_strata(
    keys: Mapping[str, tuple[str, ...]], fields: Sequence[str], cap: int = MAX_STRATA
) -> tuple[dict[str, tuple[str, ...]], StrataMerge | None]:
    """The slides' stratum keys with at most ``cap`` distinct keys, and the record of the merge.

    ``keys`` maps each slide id to its values of ``fields``. Returns the keys unchanged and None
    when they make at most ``cap`` strata.
    """
    if cap < 1:
        raise ValueError(f"the cap on strata must be at least 1, got {cap}")
    before = len(set(keys.values()))
    if before <= cap:
        return dict(keys), None
    columns = [[k[i] for k in keys.values()] for i in range(len(fields))]
    numeric = [_numbers(col) for col in columns]
    maps: list[dict[str, str]] = [{v: v for v in set(col)} for col in columns]

    def levels(i: int) -> int:
        return len(set(maps[i].values()))

    def strata() -> int:
        return len(
            {tuple(m[v] for m, v in zip(maps, row, strict=True)) for row in zip(*columns, strict=True)}
        )

    coarsened: set[int] = set()
    while strata() > cap:
        i = max(range(len(fields)), key=lambda j: (levels(j), -j))
        k = max(levels(i) // 2, 1)
        maps[i] = _coarsened(columns[i], numeric[i], k)
        coarsened.add(i)
    merged = {s: tuple(m[v] for m, v in zip(maps, key, strict=True)) for s, key in keys.items()}
    record = StrataMerge(
        cap=cap,
        strata_before=before,
        strata_after=len(set(merged.values())),
        fields=[
            MergedField(
                field=fields[i],
                kind="bins" if numeric[i] is not None else "top",
                values_before=len(set(columns[i])),
                values_after=levels(i),
                labels=sorted(set(maps[i].values())),
            )
            for i in sorted(coarsened)
        ],
    )
    return merged, record
