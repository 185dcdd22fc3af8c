"""Allocating a sample over strata: proportional, with a floor and a ceiling, rounded by largest remainder.

The rule, in words an auditor can check by hand:

1. Every non-empty stratum gets at least ``min(minimum, N_h)`` slides; the total is raised to the sum
   of these floors when the plan's ``n`` is smaller, and never exceeds the lot.
2. The rest follows each stratum's share of the weights (the stratum sizes ``N_h`` for a
   proportional allocation): quota ``q_h = n_rest · w_h / Σ w``. A stratum whose quota falls below
   its floor is fixed at the floor, one whose quota exceeds its size is fixed at its size, and the
   quotas of the others are recomputed, until no quota breaks a bound.
3. Quotas are rounded by the largest-remainder (Hamilton) method: each stratum gets ``⌊q_h⌋``, and
   the slides left over go one each to the strata with the largest fractional parts (ties: the
   larger stratum first, then the stratum label in sorted order).
"""

from __future__ import annotations

import math
from collections.abc import Mapping


def allocate(
    sizes: Mapping[str, int],
    n: int,
    minimum: int = 1,
    weights: Mapping[str, float] | None = None,
) -> dict[str, int]:
    """Split ``n`` sampled slides over strata (see the module docstring for the rule).

    Parameters
    ----------
    sizes
        Stratum label → number of slides in the lot (``N_h`` ≥ 0).
    n
        Sample size asked for (≥ 0).
    minimum
        Floor per non-empty stratum (≥ 0); a stratum smaller than the floor is taken whole.
    weights
        Stratum label → positive weight; default the sizes (proportional allocation).

    Returns
    -------
    dict
        Stratum label → slides to draw, in the order of ``sizes``. Empty strata get 0; every value
        lies between its floor and its size; the values sum to
        ``min(N, max(n, Σ min(minimum, N_h)))``. An empty lot gives all zeros.

    Raises
    ------
    ValueError
        For negative sizes, ``n`` or ``minimum``, or a non-positive weight on a non-empty stratum.
    """
    if n < 0 or minimum < 0 or any(v < 0 for v in sizes.values()):
        raise ValueError("sizes, n and minimum must not be negative")
    w = {k: float(sizes[k]) if weights is None else float(weights[k]) for k in sizes if sizes[k] > 0}
    if any(not (v > 0 and math.isfinite(v)) for v in w.values()):
        raise ValueError("every non-empty stratum needs a positive, finite weight")
    out = dict.fromkeys(sizes, 0)
    lot = sum(sizes.values())
    floor = {k: min(minimum, sizes[k]) for k in w}
    total = min(lot, max(n, sum(floor.values())))
    fixed: dict[str, int] = {}
    while True:
        free = [k for k in w if k not in fixed]
        rest = total - sum(fixed.values())
        weight_sum = sum(w[k] for k in free)
        if not free or weight_sum <= 0:
            break
        quota = {k: rest * w[k] / weight_sum for k in free}
        low = [k for k in free if quota[k] < floor[k]]
        if low:
            fixed.update({k: floor[k] for k in low})
            continue
        high = [k for k in free if quota[k] > sizes[k]]
        if high:
            fixed.update({k: sizes[k] for k in high})
            continue
        base = {k: math.floor(quota[k]) for k in free}
        left = rest - sum(base.values())
        order = sorted(free, key=lambda k: (-(quota[k] - base[k]), -sizes[k], k))
        for k in order[:left]:
            base[k] += 1
        fixed.update(base)
        break
    out.update(fixed)
    _settle(out, sizes, floor, total)
    return out


def _settle(out: dict[str, int], sizes: Mapping[str, int], floor: Mapping[str, int], total: int) -> None:
    """Guarantee the sum when every stratum ended fixed at a bound (a rare corner of the loop)."""
    diff = total - sum(out.values())
    keys = sorted(floor, key=lambda k: (-sizes[k], k))
    while diff > 0:
        k = next(k for k in keys if out[k] < sizes[k])
        out[k] += 1
        diff -= 1
    while diff < 0:
        k = next(k for k in keys if out[k] > floor[k])
        out[k] -= 1
        diff += 1
