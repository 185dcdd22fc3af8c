"""Every statistic of dqm.diversity.stats against an independent scipy (or statsmodels) computation,
including the degenerate tables: one class, one institution, empty cells, all values equal."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
import scipy.stats as st
from scipy.stats.contingency import association

from dqm.diversity import stats

# --- goodness of fit -------------------------------------------------------------------


def test_goodness_of_fit_asymptotic_equals_scipy_chisquare() -> None:
    observed = [120, 160, 140, 170, 210, 130, 70]
    shares = [0.10, 0.15, 0.15, 0.15, 0.20, 0.15, 0.10]
    n = sum(observed)
    out = stats.goodness_of_fit(observed, shares)
    ref = st.chisquare(observed, np.array(shares) * n)
    assert out.method == "Pearson chi-square"
    assert out.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert out.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert out.df == 6
    assert out.effect == pytest.approx(math.sqrt(ref.statistic / n))
    assert out.warnings == []


def test_goodness_of_fit_one_class_present_equals_scipy() -> None:
    """Every slide in one class of seven (the others empty): still a valid test."""
    observed = [0, 0, 0, 0, 400, 0, 0]
    shares = [0.10, 0.15, 0.15, 0.15, 0.20, 0.15, 0.10]
    out = stats.goodness_of_fit(observed, shares)
    ref = st.chisquare(observed, np.array(shares) * 400)
    assert out.statistic == pytest.approx(ref.statistic)
    assert out.p_value == pytest.approx(ref.pvalue, abs=1e-300)
    assert out.effect == pytest.approx(math.sqrt(ref.statistic / 400))


def _brute_force_multinomial_p(observed: list[int], shares: list[float]) -> float:
    n = sum(observed)
    expected = n * np.array(shares)
    x2_obs = float(((np.array(observed) - expected) ** 2 / expected).sum())
    total = 0.0
    for counts in itertools.product(range(n + 1), repeat=len(shares)):
        if sum(counts) != n:
            continue
        x2 = float(((np.array(counts) - expected) ** 2 / expected).sum())
        if x2 >= x2_obs - 1e-9:
            total += st.multinomial.pmf(counts, n, shares)
    return total


def test_goodness_of_fit_exact_equals_brute_force_multinomial() -> None:
    observed, shares = [1, 6, 0, 3], [0.4, 0.3, 0.2, 0.1]
    out = stats.goodness_of_fit(observed, shares)
    assert out.method == "exact multinomial"
    assert out.p_value == pytest.approx(_brute_force_multinomial_p(observed, shares), rel=1e-9)
    assert out.warnings and "exact" in out.warnings[0]


def test_goodness_of_fit_monte_carlo_close_to_exact() -> None:
    observed, shares = [1, 6, 0, 3], [0.4, 0.3, 0.2, 0.1]
    exact = _brute_force_multinomial_p(observed, shares)
    draws = 20_000
    out = stats.goodness_of_fit(observed, shares, exact_max_outcomes=1, draws=draws, seed=3)
    assert out.method == "Monte Carlo chi-square"
    se = math.sqrt(exact * (1 - exact) / draws)
    assert abs(out.p_value - exact) < 4 * se + 1 / draws
    again = stats.goodness_of_fit(observed, shares, exact_max_outcomes=1, draws=draws, seed=3)
    assert again.p_value == out.p_value  # seeded: the same batch gives the same p-value


def test_goodness_of_fit_degenerate() -> None:
    empty = stats.goodness_of_fit([0, 0], [0.5, 0.5])
    assert empty.p_value is None and empty.note
    single = stats.goodness_of_fit([12], [1.0])
    assert single.p_value is None and single.statistic == 0.0 and "one category" in single.note


# --- independence ------------------------------------------------------------------------


def test_independence_asymptotic_equals_scipy() -> None:
    table = np.array([[60, 40, 35, 20], [80, 70, 60, 50], [30, 45, 40, 35]])
    out = stats.independence(table)
    ref = st.chi2_contingency(table, correction=False)
    assert out.method == "Pearson chi-square"
    assert out.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert out.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert out.df == ref.dof
    assert out.effect == pytest.approx(association(table, method="cramer"), rel=1e-12)
    assert out.df_star == 2


def test_independence_2x2_without_continuity_correction() -> None:
    table = np.array([[90, 60], [70, 80]])
    out = stats.independence(table)
    ref = st.chi2_contingency(table, correction=False)
    assert out.statistic == pytest.approx(ref.statistic)
    assert out.p_value == pytest.approx(ref.pvalue)


def test_independence_drops_empty_rows_and_columns_like_scipy_needs() -> None:
    """A declared class with no slide (an all-zero row) and an empty site column."""
    table = np.array([[20, 0, 15, 12], [0, 0, 0, 0], [25, 0, 30, 9], [18, 0, 11, 20]])
    with pytest.raises(ValueError, match="zero element"):
        st.chi2_contingency(table)
    kept = table[[0, 2, 3]][:, [0, 2, 3]]
    out = stats.independence(table)
    ref = st.chi2_contingency(kept, correction=False)
    assert out.statistic == pytest.approx(ref.statistic)
    assert out.p_value == pytest.approx(ref.pvalue)
    assert out.df == ref.dof == 4
    assert out.effect == pytest.approx(association(kept, method="cramer"))


def test_independence_one_class_or_one_institution_is_not_tested() -> None:
    one_row = np.array([[0, 0, 0], [12, 30, 7], [0, 0, 0]])
    out = stats.independence(one_row)
    ref = st.chi2_contingency(one_row[[1]], correction=False)
    assert out.statistic == ref.statistic == 0.0
    assert out.df == ref.dof == 0
    assert out.p_value is None and out.effect is None and "one row" in out.note
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert math.isnan(association(one_row[[1]], method="cramer"))  # scipy: undefined too
    one_col = stats.independence(np.array([[5], [9], [3]]))
    assert one_col.p_value is None and "one column" in one_col.note
    assert stats.independence(np.zeros((3, 4), dtype=int)).p_value is None


def _fisher_minlike(table: np.ndarray) -> float:
    (a, b), (c, d) = table
    rv = st.hypergeom(a + b + c + d, a + b, a + c)
    lo, hi = max(0, a + c - (c + d)), min(a + b, a + c)
    support = np.arange(lo, hi + 1)
    pmf = rv.pmf(support)
    return float(pmf[pmf <= rv.pmf(a) * (1 + 1e-7)].sum())


def test_small_2x2_uses_fisher_exact_with_a_warning() -> None:
    table = np.array([[3, 1], [1, 5]])
    out = stats.independence(table)
    assert out.method == "Fisher exact"
    assert out.p_value == pytest.approx(_fisher_minlike(table), rel=1e-9)
    assert out.statistic == pytest.approx(st.chi2_contingency(table, correction=False).statistic)
    assert out.warnings and "Fisher" in out.warnings[0]


def _exact_conditional_p(table: np.ndarray) -> float:
    """P(X² ≥ observed | margins) by enumerating every 2×c table with the observed margins."""
    rows, cols = table.sum(axis=1), table.sum(axis=0)
    expected = np.outer(rows, cols) / table.sum()
    x2_obs = ((table - expected) ** 2 / expected).sum()
    total = 0.0
    for first in itertools.product(*(range(c + 1) for c in cols)):
        if sum(first) != rows[0]:
            continue
        t = np.vstack([first, cols - np.array(first)])
        if ((t - expected) ** 2 / expected).sum() >= x2_obs - 1e-9:
            total += st.multivariate_hypergeom.pmf(first, cols, rows[0])
    return total


def test_small_rxc_uses_monte_carlo_close_to_the_exact_conditional_p() -> None:
    table = np.array([[4, 1, 0, 2], [1, 3, 4, 1]])
    exact = _exact_conditional_p(table)
    draws = 20_000
    out = stats.independence(table, draws=draws, seed=1)
    assert out.method == "Monte Carlo chi-square"
    assert abs(out.p_value - exact) < 4 * math.sqrt(exact * (1 - exact) / draws) + 1 / draws
    assert out.warnings and "Monte Carlo" in out.warnings[0]
    assert out.statistic == pytest.approx(st.chi2_contingency(table, correction=False).statistic)


# --- Kruskal–Wallis ----------------------------------------------------------------------


def test_kruskal_equals_scipy_with_ties() -> None:
    rng = np.random.default_rng(0)
    groups = [rng.integers(20, 80, size=n).astype(float) for n in (30, 12, 45, 8)]
    out = stats.kruskal_wallis(groups)
    ref = st.kruskal(*groups)
    assert out.statistic == pytest.approx(ref.statistic, rel=1e-10)
    assert out.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    n, k = sum(map(len, groups)), len(groups)
    assert out.effect == pytest.approx(max(0.0, (ref.statistic - k + 1) / (n - k)))


def test_kruskal_drops_empty_groups() -> None:
    groups = [np.array([30.0, 41, 52]), np.array([]), np.array([60.0, 71, 65, 80])]
    out = stats.kruskal_wallis(groups)
    ref = st.kruskal(groups[0], groups[2])
    assert out.statistic == pytest.approx(ref.statistic)
    assert out.df == 1


def test_kruskal_degenerate_all_equal_and_one_group() -> None:
    equal = [np.full(5, 50.0), np.full(3, 50.0)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert math.isnan(st.kruskal(*equal).pvalue)  # scipy cannot test it either
    out = stats.kruskal_wallis(equal)
    assert out.p_value is None and out.note == "all values are equal"
    with pytest.raises((IndexError, ValueError)):
        st.kruskal(np.array([1.0, 2.0]))
    one = stats.kruskal_wallis([np.array([1.0, 2.0]), np.array([])])
    assert one.p_value is None and "two groups" in one.note


# --- Kolmogorov–Smirnov from value counts, PSI -------------------------------------------


def test_ks_from_counts_equals_scipy_on_the_same_samples() -> None:
    rng = np.random.default_rng(5)
    a = np.round(rng.normal(60, 12, 700))
    b = np.round(rng.normal(63, 12, 450))
    sa, ca = np.unique(a, return_counts=True)
    sb, cb = np.unique(b, return_counts=True)
    out = stats.ks_from_counts(sa, ca, sb, cb)
    ref = st.ks_2samp(a, b, method="exact")
    assert out.method == "Kolmogorov–Smirnov (exact)"
    assert out.statistic == pytest.approx(ref.statistic, abs=1e-12)
    assert out.p_value == pytest.approx(ref.pvalue, rel=1e-9)


def test_ks_from_counts_large_samples_use_the_asymptotic_p() -> None:
    rng = np.random.default_rng(6)
    a, b = np.round(rng.normal(60, 12, 12_000)), np.round(rng.normal(60.3, 12, 11_000))
    sa, ca = np.unique(a, return_counts=True)
    sb, cb = np.unique(b, return_counts=True)
    out = stats.ks_from_counts(sa, ca, sb, cb)
    ref = st.ks_2samp(a, b, method="asymp")
    assert out.method == "Kolmogorov–Smirnov (asymptotic)"
    assert out.statistic == pytest.approx(ref.statistic, abs=1e-12)
    assert out.p_value == pytest.approx(ref.pvalue, rel=1e-9)


def test_ks_identical_and_empty() -> None:
    same = stats.ks_from_counts([1, 2, 3], [4, 5, 6], [1, 2, 3], [4, 5, 6])
    assert same.statistic == 0.0 and same.p_value == pytest.approx(1.0)
    assert stats.ks_from_counts([], [], [1.0], [3]).p_value is None


def test_psi_equals_symmetric_kl_from_scipy() -> None:
    base, cur = np.array([300, 250, 200, 150, 100]), np.array([200, 260, 210, 180, 150])
    k = len(base)
    pb = (base + 0.5) / (base.sum() + 0.5 * k)
    pc = (cur + 0.5) / (cur.sum() + 0.5 * k)
    assert stats.psi(base, cur) == pytest.approx(st.entropy(pc, pb) + st.entropy(pb, pc), rel=1e-12)


def test_psi_with_a_new_category_is_finite_and_both_absent_ignored() -> None:
    value = stats.psi([50, 50, 0, 0], [40, 40, 20, 0])
    assert math.isfinite(value) and value > 0.1
    assert stats.psi([5, 5], [5, 5]) == 0.0
    with pytest.raises(ValueError):
        stats.psi([0, 0], [1, 2])


# --- multiple testing -------------------------------------------------------------------


@pytest.mark.parametrize("method", ["holm", "bonferroni", "fdr_bh"])
def test_adjust_equals_statsmodels(method: str) -> None:
    from statsmodels.stats.multitest import multipletests

    p = [0.01, 0.04, 0.03, 0.005, 0.2, 0.04, 0.9]
    assert stats.adjust(p, method) == pytest.approx(list(multipletests(p, method=method)[1]), rel=1e-12)


def test_adjust_none_and_empty() -> None:
    assert stats.adjust([0.2, 0.01], "none") == [0.2, 0.01]
    assert stats.adjust([], "holm") == []


# --- balance and effect sizes -------------------------------------------------------------


def test_balance_indices_equal_scipy_entropy_and_definitions() -> None:
    counts = {"NS": 40, "EC": 60, "SK": 55, "BCC": 90}
    ix = stats.balance_indices(counts)
    c = np.array(list(counts.values()), dtype=float)
    p = c / c.sum()
    assert ix.shannon == pytest.approx(st.entropy(c))
    assert ix.evenness == pytest.approx(st.entropy(c) / math.log(4))
    assert ix.simpson == pytest.approx(1 - (p**2).sum())
    assert ix.inverse_simpson == pytest.approx(1 / (p**2).sum())
    assert ix.imbalance_ratio == pytest.approx(90 / 40)
    assert (ix.min_category, ix.max_category) == ("NS", "BCC")


def test_balance_indices_degenerate() -> None:
    absent = stats.balance_indices({"A": 10, "B": 0})
    assert absent.imbalance_ratio is None and absent.min_share == 0.0 and absent.observed == 1
    assert absent.shannon == pytest.approx(st.entropy([10, 0])) == 0.0
    one = stats.balance_indices({"A": 7})
    assert one.shannon == 0.0 and one.evenness is None and one.max_share == 1.0
    empty = stats.balance_indices({"A": 0, "B": 0})
    assert empty.shannon is None and empty.min_share is None


def test_cramers_v_labels_follow_the_table_size() -> None:
    # the example: a 7 × 4 table (df* = 3), V 0.21 is moderate
    assert stats.effect_label(0.21, "V", df_star=3) == "moderate"
    assert stats.effect_label(0.21, "V", df_star=1) == "small"
    assert stats.effect_label(0.05, "w") == "negligible"
    assert stats.effect_label(0.15, "eta2") == "large"
    assert stats.effect_label(None, "w") == ""


def test_ks_falls_back_to_asymptotic_when_scipy_gives_up_on_exact() -> None:
    """Heavy ties (lesions per slide: 1, 2 or 3) make scipy's exact computation fail with a warning;
    the test then says it used the asymptotic p-value, and no warning escapes."""
    a, b = np.repeat([1.0, 2.0, 3.0], [71, 70, 59]), np.repeat([1.0, 2.0, 3.0], [72, 70, 58])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        st.ks_2samp(a, b, method="exact")
    assert any("Exact calculation unsuccessful" in str(w.message) for w in caught)
    out = stats.ks_from_counts([1, 2, 3], [71, 70, 59], [1, 2, 3], [72, 70, 58])
    assert out.method == "Kolmogorov–Smirnov (asymptotic)"
    ref = st.ks_2samp(a, b, method="asymp")
    assert out.statistic == pytest.approx(ref.statistic) and out.p_value == pytest.approx(ref.pvalue)


def test_a_monte_carlo_test_of_a_wide_sparse_table_draws_its_tables_in_bounded_memory() -> None:
    """All 10,000 random tables were drawn at once: a class x institution table of 7 x 9,000 (a
    manifest's rows naming 9,000 institutions) held 5 GB of draws, and their float copy and X²
    as much again (an audit killed at 19 GB). Beyond MAX_DRAWN_CELLS they are drawn in chunks."""
    import tracemalloc

    table = np.zeros((7, 200), dtype=int)
    for j in range(200):
        table[j % 7, j] = 1 + j % 2
    assert 10_000 * table.size > 3 * stats.MAX_DRAWN_CELLS  # drawn whole, over the bound
    tracemalloc.start()
    try:
        outcome = stats.independence(table)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert outcome.method == "Monte Carlo chi-square" and 0 < outcome.p_value <= 1
    assert peak < 300 * 2**20, f"{peak / 2**20:.0f} MiB"
