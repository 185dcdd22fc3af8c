"""Binomial confidence intervals and the precision-based sample size.

Wilson's score interval is the default (good coverage even near 0 and 1, never outside [0, 1]);
Clopper–Pearson's exact interval is offered for auditors who ask for guaranteed coverage.
"""

from __future__ import annotations

import math
from functools import lru_cache
from statistics import NormalDist
from typing import Literal

CiMethod = Literal["wilson", "clopper-pearson"]
CI_METHODS: tuple[str, ...] = ("wilson", "clopper-pearson")


@lru_cache(maxsize=64)
def z_value(confidence: float) -> float:
    """The two-sided standard normal quantile for a confidence level in (0, 1).

    The standard library's ``NormalDist.inv_cdf`` (Wichura's AS 241, accurate to double precision)
    spares loading scipy for a number that every interval needs.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2.0)


def _check_counts(successes: int, n: int) -> None:
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 ≤ successes ≤ n, got {successes} of {n}")


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """Wilson score interval for a binomial proportion.

    Returns ``None`` when ``n`` is 0 (nothing observed, no interval). With 0 successes the lower
    bound is exactly 0, with ``n`` successes the upper bound is exactly 1.
    """
    _check_counts(successes, n)
    if n == 0:
        return None
    z = z_value(confidence)
    z2 = z * z
    centre = (successes + z2 / 2.0) / (n + z2)
    half = z / (n + z2) * math.sqrt(successes * (n - successes) / n + z2 / 4.0)
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def clopper_pearson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """Clopper–Pearson ("exact", beta-quantile) interval for a binomial proportion.

    Returns ``None`` when ``n`` is 0. With 0 successes the lower bound is 0, with ``n`` the upper
    bound is 1 (each side then keeps its α/2, as statsmodels' ``method="beta"`` does).
    """
    _check_counts(successes, n)
    if n == 0:
        return None
    from scipy.stats import beta

    alpha = 1.0 - confidence
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    low = 0.0 if successes == 0 else float(beta.ppf(alpha / 2.0, successes, n - successes + 1))
    high = 1.0 if successes == n else float(beta.ppf(1.0 - alpha / 2.0, successes + 1, n - successes))
    return low, high


def interval(
    successes: int, n: int, method: str = "wilson", confidence: float = 0.95
) -> tuple[float, float] | None:
    """The interval of ``method`` (``wilson`` or ``clopper-pearson``); None when ``n`` is 0."""
    if method == "wilson":
        return wilson_interval(successes, n, confidence)
    if method == "clopper-pearson":
        return clopper_pearson_interval(successes, n, confidence)
    raise ValueError(f"unknown interval method {method!r}; choose one of {', '.join(CI_METHODS)}")


def effective_n(n: int, lot_size: int | None) -> float:
    """Sample size corrected for a finite lot: ``n (N - 1) / (N - n)``; infinite when ``n = N``.

    Sampling ``n`` of ``N`` without replacement shrinks the variance of the sample proportion by
    the finite-population correction ``(N - n) / (N - 1)``; dividing ``n`` by it gives the size
    of a with-replacement sample with the same variance. ``lot_size`` None means an infinite lot.
    """
    if lot_size is None:
        return float(n)
    if n >= lot_size:
        return math.inf
    return n * (lot_size - 1) / (lot_size - n)


def wilson_half_width(p: float, n: float, confidence: float = 0.95) -> float:
    """Half-width of the Wilson interval at observed proportion ``p`` and (effective) size ``n``.

    ``n`` may be fractional (an effective size) or infinite (the whole lot inspected: width 0).
    """
    if math.isinf(n):
        return 0.0
    if n <= 0:
        raise ValueError(f"sample size must be positive, got {n}")
    z = z_value(confidence)
    z2 = z * z
    return z / (1.0 + z2 / n) * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n))


def wilson_bounds(p: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson interval at a proportion ``p`` (an estimate, not necessarily a count over ``n``)
    and an (effective, possibly fractional or infinite) size ``n``, clipped to [0, 1] and widened
    to hold ``p`` itself (a point when ``n`` is infinite: the whole lot is known)."""
    if math.isinf(n):
        return p, p
    z2 = z_value(confidence) ** 2
    centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n)
    half = wilson_half_width(p, n, confidence)
    return min(max(0.0, centre - half), p), max(min(1.0, centre + half), p)


def precision_sample_size(
    margin: float,
    confidence: float = 0.95,
    expected: float = 0.95,
    lot_size: int | None = None,
) -> int:
    """Smallest ``n`` whose Wilson half-width at ``expected`` is at most ``margin``.

    The half-width is computed at the effective size of :func:`effective_n`, so a finite lot
    (finite-population correction) needs fewer slides; ``n`` never exceeds the lot, and at
    ``n = N`` the width is 0 (the whole lot is known).

    Parameters
    ----------
    margin
        Largest acceptable half-width, in (0, 0.5].
    confidence
        Confidence level of the interval, in (0, 1).
    expected
        The accuracy expected before the review, in [0, 1]. At 0 or 1 the Wilson width still
        depends on ``n`` (unlike the Wald width, which would be 0).
    lot_size
        Slides in the lot (≥ 1), or None for an infinite lot.

    Raises
    ------
    ValueError
        For a margin outside (0, 0.5], an expected accuracy outside [0, 1], a confidence outside
        (0, 1) or a lot size below 1.
    """
    if not 0.0 < margin <= 0.5:
        raise ValueError(f"margin must be in (0, 0.5], got {margin}")
    if not 0.0 <= expected <= 1.0:
        raise ValueError(f"expected accuracy must be in [0, 1], got {expected}")
    z_value(confidence)
    if lot_size is not None and lot_size < 1:
        raise ValueError(f"lot size must be at least 1, got {lot_size}")

    def ok(n: int) -> bool:
        return wilson_half_width(expected, effective_n(n, lot_size), confidence) <= margin

    # The width falls as n grows; find the first n that meets the margin by doubling, then bisection.
    high = 1
    while not ok(high):
        if lot_size is not None and high >= lot_size:
            return lot_size
        high = high * 2 if lot_size is None else min(high * 2, lot_size)
    low = high // 2  # ok(low) is False (or low is 0)
    while high - low > 1:
        mid = (low + high) // 2
        if ok(mid):
            high = mid
        else:
            low = mid
    return high
