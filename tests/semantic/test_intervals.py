"""Wilson / Clopper–Pearson intervals and the precision sample size against statsmodels and brute force."""

from __future__ import annotations

import math

import pytest
from statsmodels.stats.proportion import proportion_confint

from dqm.semantic.intervals import (
    clopper_pearson_interval,
    effective_n,
    interval,
    precision_sample_size,
    wilson_bounds,
    wilson_half_width,
    wilson_interval,
    z_value,
)

CASES = [
    (0, 1),
    (1, 1),
    (0, 10),
    (10, 10),
    (3, 10),
    (7, 8),
    (0, 315),
    (308, 315),
    (315, 315),
    (50, 100),
    (1, 2),
]


@pytest.mark.parametrize(("k", "n"), CASES)
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_wilson_equals_statsmodels(k: int, n: int, confidence: float) -> None:
    low, high = proportion_confint(k, n, alpha=1 - confidence, method="wilson")
    got = wilson_interval(k, n, confidence)
    assert got is not None
    assert got[0] == pytest.approx(low, abs=1e-12) and got[1] == pytest.approx(high, abs=1e-12)


@pytest.mark.parametrize(("k", "n"), CASES)
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_clopper_pearson_equals_statsmodels_beta(k: int, n: int, confidence: float) -> None:
    low, high = proportion_confint(k, n, alpha=1 - confidence, method="beta")
    got = clopper_pearson_interval(k, n, confidence)
    assert got is not None
    assert got[0] == pytest.approx(low, abs=1e-12) and got[1] == pytest.approx(high, abs=1e-12)


def test_edges_are_exact() -> None:
    for f in (wilson_interval, clopper_pearson_interval):
        assert f(0, 40)[0] == 0.0  # type: ignore[index]
        assert f(40, 40)[1] == 1.0  # type: ignore[index]
        assert f(0, 0) is None
    # Clopper–Pearson at 0 failures out of n: the upper bound on the failure rate is the classic
    # 1 - (α/2)^(1/n); for accuracy (successes = n) the lower bound is (α/2)^(1/n).
    assert clopper_pearson_interval(315, 315)[0] == pytest.approx(0.025 ** (1 / 315))  # type: ignore[index]


def test_bad_counts_and_methods_raise() -> None:
    with pytest.raises(ValueError):
        wilson_interval(5, 4)
    with pytest.raises(ValueError):
        interval(1, 2, "wald")
    with pytest.raises(ValueError):
        z_value(1.0)


def _half_width_statsmodels(p: float, n: float, confidence: float) -> float:
    low, high = proportion_confint(p * n, n, alpha=1 - confidence, method="wilson")
    return (high - low) / 2


@pytest.mark.parametrize(
    ("p", "n"), [(0.95, 100), (0.5, 37), (0.99, 1000), (0.0, 20), (1.0, 20), (0.95, 215.5)]
)
def test_half_width_equals_statsmodels(p: float, n: float) -> None:
    assert wilson_half_width(p, n, 0.95) == pytest.approx(_half_width_statsmodels(p, n, 0.95), rel=1e-12)


@pytest.mark.parametrize(("k", "n"), CASES)
def test_wilson_bounds_at_a_count_are_the_wilson_interval(k: int, n: int) -> None:
    """wilson_bounds takes a proportion and an effective size (the stratified estimate's); at a
    count over n it is the score interval itself, and at an infinite size (the lot wholly
    reviewed) the point p."""
    low, high = wilson_bounds(k / n, n, 0.95)
    assert (low, high) == pytest.approx(proportion_confint(k, n, alpha=0.05, method="wilson"), abs=1e-12)
    assert wilson_bounds(k / n, math.inf) == (k / n, k / n)


def _brute(margin: float, confidence: float, expected: float, lot: int | None) -> int:
    n = 1
    while True:
        n_eff = (
            math.inf if lot is not None and n >= lot else (n if lot is None else n * (lot - 1) / (lot - n))
        )
        width = 0.0 if math.isinf(n_eff) else _half_width_statsmodels(expected, n_eff, confidence)
        if width <= margin:
            return n
        n += 1


@pytest.mark.parametrize(
    ("margin", "confidence", "expected", "lot"),
    [
        (0.03, 0.95, 0.95, None),
        (0.03, 0.95, 0.95, 34_376),
        (0.05, 0.95, 0.95, 200),
        (0.02, 0.99, 0.9, 5_000),
        (0.1, 0.9, 0.5, None),
        (0.05, 0.95, 1.0, None),
        (0.05, 0.95, 0.95, 10),
        (0.5, 0.95, 0.95, 1),
    ],
)
def test_precision_size_is_the_smallest_meeting_the_margin(
    margin: float, confidence: float, expected: float, lot: int | None
) -> None:
    assert precision_sample_size(margin, confidence, expected, lot) == _brute(
        margin, confidence, expected, lot
    )


def test_finite_population_correction_never_asks_for_more() -> None:
    infinite = precision_sample_size(0.03)
    assert infinite == 215  # Wilson at p = 0.95, ±3 points, 95 %: brute force above agrees
    for lot in (50, 300, 1_000, 34_376, 10**6):
        n = precision_sample_size(0.03, lot_size=lot)
        assert n <= min(lot, infinite)
    assert precision_sample_size(0.03, lot_size=1_000) < precision_sample_size(0.03, lot_size=34_376)
    assert effective_n(10, 10) == math.inf and effective_n(5, None) == 5


@pytest.mark.parametrize(
    "kwargs",
    [dict(margin=0), dict(margin=0.6), dict(margin=0.03, expected=1.2), dict(margin=0.03, lot_size=0)],
)
def test_precision_rejects_bad_parameters(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        precision_sample_size(**kwargs)  # type: ignore[arg-type]
