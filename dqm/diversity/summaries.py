"""Summaries of the variables: compositions, quantiles, histograms and joint tables.

A continuous summary also keeps its whole distribution at a stated resolution (distinct values
rounded to three significant digits, with their counts), so that a later release can run a
Kolmogorov–Smirnov test against it without the old batch.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from dqm.diversity.models import CategoricalSummary, ContinuousSummary, Histogram, JointTable
from dqm.diversity.variables import Variable

QUANTILES = {"p01": 0.01, "p05": 0.05, "p10": 0.10, "p25": 0.25, "p50": 0.50, "p75": 0.75, "p90": 0.90}
QUANTILES |= {"p95": 0.95, "p99": 0.99}
DIGITS = 3
HISTOGRAM_BINS = 20


def order_categories(counts: Counter[str], declared: Sequence[str] | None) -> list[str]:
    """Declared categories first (in the profile's order, even with no slide), then the others
    by decreasing count and name."""
    head = list(declared or ())
    known = set(head)
    tail = sorted((c for c in counts if c not in known), key=lambda c: (-counts[c], c))
    return head + tail


def categorical_summary(var: Variable, values: np.ndarray) -> CategoricalSummary:
    """Counts and shares of one categorical column.

    Missing values (``None``) are counted in ``missing`` and left out of the shares; with no
    value at all every share is 0 and ``n`` is 0.
    """
    present = [v for v in values.tolist() if v is not None]
    counts = Counter(present)
    n = len(present)
    cats = order_categories(counts, var.declared)
    declared = set(var.declared or ())
    return CategoricalSummary(
        name=var.name,
        label=var.label,
        n=n,
        missing=len(values) - n,
        counts={c: counts.get(c, 0) for c in cats},
        shares={c: counts.get(c, 0) / n if n else 0.0 for c in cats},
        undeclared=[c for c in cats if c not in declared] if var.declared is not None else [],
    )


TINY = 1e-280
"""Under this magnitude a value is rounded at 1e300 times its size, then scaled back: the scale
10^(digits - 1 - magnitude) of a value of 1e-306 or less is past a double, and the rounded value
was NaN (a lesion-area fraction of 7e-307 made a support that results.json wrote as null and
could not read back)."""


def round_significant(x: np.ndarray, digits: int = DIGITS) -> np.ndarray:
    """Round each value to ``digits`` significant digits (0 stays 0)."""
    x = np.asarray(x, dtype=float)
    out = np.zeros_like(x)
    nz = x != 0
    y = x[nz]
    tiny = np.abs(y) < TINY
    y[tiny] *= 1e300
    mag = np.floor(np.log10(np.abs(y)))
    scale = 10.0 ** (digits - 1 - mag)
    rounded = np.round(y * scale) / scale
    rounded[tiny] /= 1e300
    out[nz] = rounded
    return out


def _nice_step(raw: float) -> float:
    exp = math.floor(math.log10(raw))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if m * 10**exp >= raw * (1 - 1e-12):
            return m * 10**exp
    return 10.0 ** (exp + 1)  # pragma: no cover - the loop always returns


def nice_edges(lo: float, hi: float, bins: int = HISTOGRAM_BINS, integer: bool = False) -> list[float]:
    """Round-numbered bin edges covering ``[lo, hi]`` with about ``bins`` bins.

    Whole-number data get whole-number steps; with a step of 1 the edges sit at half-integers so
    that each value has its own bin. A single value ``lo == hi`` gets one bin around it.
    """
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi < lo:
        raise ValueError("nice_edges needs finite lo <= hi")
    if integer and hi - lo <= bins:
        return [lo - 0.5 + i for i in range(int(hi - lo) + 2)]
    if hi == lo:
        half = abs(lo) * 0.05 or 0.5
        return [lo - half, lo + half]
    step = _nice_step((hi - lo) / bins)
    if integer:
        step = float(max(1, math.ceil(step)))
    start = math.floor(lo / step) * step
    n = max(1, math.ceil((hi - start) / step - 1e-9))
    return [float(round(start + i * step, 12)) for i in range(n + 1)]


def histogram(values: np.ndarray, edges: Sequence[float], weights: np.ndarray | None = None) -> Histogram:
    """Counts of ``values`` (optionally weighted by counts) in the bins of ``edges``."""
    counts, _ = np.histogram(values, bins=np.asarray(edges, dtype=float), weights=weights)
    return Histogram(edges=list(edges), counts=[round(c) for c in counts])


def support(values: np.ndarray, digits: int = DIGITS) -> tuple[list[float], list[int]]:
    """Distinct values after rounding, and how many slides have each."""
    vals, counts = np.unique(round_significant(values, digits), return_counts=True)
    return vals.tolist(), counts.tolist()


def _spread(x: np.ndarray) -> tuple[float, float | None]:
    """Mean and sample SD (None under two values) of finite values, on the values scaled by a
    power of two when they pass 1e150 (exact, and (x - mean)² then stays finite: values of 1e300
    gave an infinite SD)."""
    scale = max(abs(float(x.min())), abs(float(x.max())))
    step = 2.0 ** math.frexp(scale)[1] if scale > 1e150 else 1.0
    y = x / step if step != 1.0 else x
    return float(y.mean()) * step, (float(y.std(ddof=1)) * step if len(y) > 1 else None)


def continuous_summary(var: Variable, values: np.ndarray, invalid: int = 0) -> ContinuousSummary:
    """Mean, spread, quantiles, histogram and rounded distribution of one numeric column.

    NaN values are missing; with no value the figures are None and there is no histogram; with
    one value the standard deviation is None; with all values equal the histogram is one bin.
    """
    x = values[~np.isnan(values)]
    n = len(x)
    if n == 0:
        return ContinuousSummary(
            name=var.name, label=var.label, unit=var.unit, n=0, missing=len(values), invalid=invalid
        )
    lo, hi = float(x.min()), float(x.max())
    integer = bool(np.all(x == np.round(x)))
    q = np.quantile(x, list(QUANTILES.values()))
    sup, sup_counts = support(x)
    mean, sd = _spread(x)
    return ContinuousSummary(
        name=var.name,
        label=var.label,
        unit=var.unit,
        n=n,
        missing=len(values) - n,
        invalid=invalid,
        mean=mean,
        sd=sd,
        min=lo,
        max=hi,
        quantiles={k: float(v) for k, v in zip(QUANTILES, q, strict=True)},
        histogram=histogram(x, nice_edges(lo, hi, integer=integer)),
        support=sup,
        support_counts=sup_counts,
        digits=DIGITS,
    )


def joint_table(row: Variable, col: Variable, row_values: np.ndarray, col_values: np.ndarray) -> JointTable:
    """Slides per (row category, column category), declared categories included.

    Slides missing either value are counted in ``excluded``. Empty rows and columns are kept
    (they show what is absent); the tests drop them.
    """
    both = [
        (r, c)
        for r, c in zip(row_values.tolist(), col_values.tolist(), strict=True)
        if r is not None and c is not None
    ]
    pairs = Counter(both)
    rows = order_categories(Counter(r for r, _ in both), row.declared)
    cols = order_categories(Counter(c for _, c in both), col.declared)
    return JointTable(
        name=f"{row.name}_{col.name}",
        row_var=row.name,
        col_var=col.name,
        rows=rows,
        cols=cols,
        counts=[[pairs.get((r, c), 0) for c in cols] for r in rows],
        n=len(both),
        excluded=len(row_values) - len(both),
    )
