"""The statistics, as pure functions over counts, tables and samples.

Statistics are computed here from their textbook formulas (numpy); scipy provides only the
reference distributions, the random tables for Monte Carlo p-values and Fisher's exact test.
The tests in ``tests/diversity`` compare every figure with scipy's own implementation.

Degenerate input never raises: a function returns ``None`` (or a result whose ``p_value`` is
None) with the reason in ``note`` when there is nothing to test.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from dqm.diversity.settings import MIN_MONTE_CARLO_DRAWS
from dqm.i18n import N_, msg

W_THRESHOLDS = (0.1, 0.3, 0.5)
"""Cohen's w: small, moderate (Cohen's "medium"), large."""
ETA2_THRESHOLDS = (0.01, 0.06, 0.14)
"""η² (from Kruskal–Wallis H): small, moderate, large."""
LABELS = ("small", "moderate", "large")
LABEL_WORDS = (N_("negligible"), N_("small"), N_("moderate"), N_("large"))
"""The effect labels as msgids (a report shows them translated)."""
KS_EXACT_MAX = 10_000
"""scipy's ``ks_2samp`` computes exact p-values up to this many values per side."""


def effect_thresholds(effect: str, df_star: int = 1) -> tuple[float, float, float]:
    """Small / moderate / large thresholds of an effect size.

    ``w`` is Cohen's w; ``V`` is Cramér's V, whose thresholds are w's divided by
    ``sqrt(df_star)`` with ``df_star = min(rows, cols) - 1`` (Cohen 1988); ``eta2`` is η²_H.
    """
    if effect == "w":
        return W_THRESHOLDS
    if effect == "V":
        k = math.sqrt(max(1, df_star))
        return (W_THRESHOLDS[0] / k, W_THRESHOLDS[1] / k, W_THRESHOLDS[2] / k)
    if effect == "eta2":
        return ETA2_THRESHOLDS
    raise ValueError(f"unknown effect size {effect!r}")


def effect_label(value: float | None, effect: str, df_star: int = 1) -> str:
    """``negligible``, ``small``, ``moderate`` or ``large``; empty for None."""
    if value is None:
        return ""
    label = "negligible"
    for threshold, name in zip(effect_thresholds(effect, df_star), LABELS, strict=True):
        if value >= threshold:
            label = name
    return label


# --- goodness of fit ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TestOutcome:
    """A statistic with its p-value, how it was obtained and an effect size."""

    __test__ = False  # not a pytest class

    statistic: float | None
    df: int | None
    p_value: float | None
    method: str
    effect: float | None = None
    n: int = 0
    df_star: int = 1
    note: str = ""
    warnings: list[str] = field(default_factory=list)


def pearson(observed: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Pearson's X² = Σ (O − E)² / E over the last axes (vectorised over leading axes)."""
    axes = tuple(range(observed.ndim - expected.ndim, observed.ndim))
    return np.sum((observed - expected) ** 2 / expected, axis=axes)


def multinomial_outcomes(n: int, k: int) -> int:
    """How many count vectors of ``k`` categories sum to ``n``: C(n + k − 1, k − 1)."""
    return math.comb(n + k - 1, k - 1)


def _compositions(n: int, k: int) -> np.ndarray:
    """Every count vector of ``k`` non-negative parts summing to ``n`` (stars and bars)."""
    if k == 1:
        return np.array([[n]])
    m = multinomial_outcomes(n, k)
    bars = np.fromiter(
        itertools.combinations(range(n + k - 1), k - 1), dtype=np.dtype((np.int64, k - 1)), count=m
    )
    padded = np.hstack([np.full((m, 1), -1), bars, np.full((m, 1), n + k - 1)])
    return np.diff(padded, axis=1) - 1


def exact_multinomial_p(observed: np.ndarray, shares: np.ndarray) -> float:
    """P(X² ≥ observed X²) under the multinomial with these shares, by enumerating every outcome.

    The cost is :func:`multinomial_outcomes`; callers bound it.
    """
    from scipy.special import gammaln

    n = int(observed.sum())
    expected = n * shares
    x2_obs = float(pearson(observed.astype(float), expected))
    outcomes = _compositions(n, len(shares))
    log_p = gammaln(n + 1) - gammaln(outcomes + 1).sum(axis=1) + (outcomes * np.log(shares)).sum(axis=1)
    x2 = pearson(outcomes.astype(float), expected)
    tol = 1e-9 * max(1.0, x2_obs)
    return float(min(1.0, np.exp(log_p[x2 >= x2_obs - tol]).sum()))


def goodness_of_fit(
    observed: Sequence[int],
    shares: Sequence[float],
    *,
    min_expected: float = 5.0,
    exact_max_outcomes: int = 200_000,
    draws: int = 10_000,
    seed: int = 0,
) -> TestOutcome:
    """Pearson's chi-square goodness of fit of counts against target shares.

    Parameters
    ----------
    observed
        Count per category.
    shares
        Target share per category, positive, summing to 1.

    Returns
    -------
    TestOutcome
        ``statistic`` X², ``df`` k − 1, ``effect`` Cohen's w = sqrt(X² / n). The p-value is
        asymptotic (chi-square, k − 1 df) when every expected count is at least ``min_expected``;
        otherwise exact (every multinomial outcome enumerated) when there are at most
        ``exact_max_outcomes`` outcomes, else Monte Carlo (``draws`` multinomial samples,
        p = (1 + #{X² ≥ observed}) / (1 + draws)). With no slide, or one category, the p-value
        is None and ``note`` says why.
    """
    from scipy.stats import chi2

    obs = np.asarray(observed, dtype=np.int64)
    p = np.asarray(shares, dtype=float)
    n, k = int(obs.sum()), len(obs)
    if n == 0:
        return TestOutcome(None, None, None, "none", n=0, note=N_("no slide to test"))
    if k < 2:
        return TestOutcome(0.0, 0, None, "none", n=n, note=N_("only one category has a target"))
    expected = n * p
    x2 = float(pearson(obs.astype(float), expected))
    w = math.sqrt(x2 / n)
    small = int((expected < min_expected).sum())
    if not small:
        return TestOutcome(x2, k - 1, float(chi2.sf(x2, k - 1)), N_("Pearson chi-square"), w, n)
    warn = {"small": small, "k": k, "min": min_expected}
    if multinomial_outcomes(n, k) <= exact_max_outcomes:
        p_value = exact_multinomial_p(obs, p)
        return TestOutcome(x2, k - 1, p_value, N_("exact multinomial"), w, n,
            warnings=[msg("{small} of {k} expected counts under {min:g}: exact p-value", **warn)],
        )  # fmt: skip
    rng = np.random.default_rng(seed)
    sims = rng.multinomial(n, p, size=draws).astype(float)
    hits = int((pearson(sims, expected) >= x2 - 1e-9 * max(1.0, x2)).sum())
    p_value = (1 + hits) / (1 + draws)
    return TestOutcome(
        x2,
        k - 1,
        p_value,
        N_("Monte Carlo chi-square"),
        w,
        n,
        warnings=[
            msg(
                "{small} of {k} expected counts under {min:g}: Monte Carlo p-value ({draws:,} multinomial draws, seed {seed})",
                **warn,
                draws=draws,
                seed=seed,
            )
        ],
    )


# --- independence / homogeneity -------------------------------------------------------


def drop_empty(table: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The table without all-zero rows and columns, and the masks of the rows/columns kept."""
    rows = table.sum(axis=1) > 0
    cols = table.sum(axis=0) > 0
    return table[rows][:, cols], rows, cols


def expected_counts(table: np.ndarray) -> np.ndarray:
    """Row total × column total / n for each cell (vectorised over leading axes)."""
    n = table.sum(axis=(-2, -1), keepdims=True)
    return table.sum(axis=-1, keepdims=True) * table.sum(axis=-2, keepdims=True) / n


def cramers_v(x2: float, n: int, shape: tuple[int, int]) -> float | None:
    """sqrt(X² / (n · (min(r, c) − 1))); None for a table with one row or one column."""
    k = min(shape) - 1
    if n == 0 or k < 1:
        return None
    return math.sqrt(x2 / (n * k))


MAX_DRAWN_CELLS = 1 << 22
"""Cells of the random tables of a Monte Carlo test held at once (32 MiB of counts; with their
float copy and X², some 160 MiB): beyond them the tables are drawn in chunks. All 10,000 at once,
a batch of 9,000 institutions (a manifest's rows for files that are not there) made a class x
institution table whose draws held 5 GB, and the float copy and X² as much again: an audit
killed for memory at 19 GB."""


MAX_MONTE_CARLO_CELLS = 1 << 27
"""Cells of all the random tables of one Monte Carlo test together (about 2 s of drawing and X²):
a table of more cells than this over the draws asked for gets fewer draws, ``MAX_MONTE_CARLO_CELLS
// cells`` but at least :data:`MIN_MONTE_CARLO_DRAWS`, and its warning says how many. A drift
baseline of 300,000 categories made a table of 600,000 cells, and its 10,000 draws took 80 s."""


def monte_carlo_draws(draws: int, cells: int) -> int:
    """The draws a Monte Carlo test of a table of ``cells`` cells makes when ``draws`` are asked
    for: all of them when they fit :data:`MAX_MONTE_CARLO_CELLS`, else as many as fit, at least
    :data:`MIN_MONTE_CARLO_DRAWS` (the p-value (1 + hits) / (1 + draws) is valid with any number;
    fewer draws only make it coarser)."""
    return min(draws, max(MIN_MONTE_CARLO_DRAWS, MAX_MONTE_CARLO_CELLS // max(1, cells)))


def _in_chunks(draw: Callable[[int], np.ndarray], draws: int, cells: int) -> Iterator[np.ndarray]:
    """``draw(draws)``, in one piece when it holds at most :data:`MAX_DRAWN_CELLS` cells (the
    p-values of every table that fits stay as they were), else in pieces of that many cells from
    the same random stream (the tables drawn differ, the test does not)."""
    per = max(1, MAX_DRAWN_CELLS // max(1, cells))
    if draws <= per:
        yield draw(draws)
        return
    for start in range(0, draws, per):
        yield draw(min(per, draws - start))


def independence(
    table: Sequence[Sequence[int]] | np.ndarray,
    *,
    min_expected: float = 5.0,
    draws: int = 10_000,
    seed: int = 0,
) -> TestOutcome:
    """Pearson's chi-square test of independence (homogeneity), without continuity correction.

    Parameters
    ----------
    table
        Counts, rows × columns. All-zero rows and columns are dropped first (a declared but
        absent category says nothing about association).

    Returns
    -------
    TestOutcome
        ``statistic`` X², ``df`` (r − 1)(c − 1), ``effect`` Cramér's V, ``df_star`` min(r, c) − 1.
        The p-value is asymptotic when every expected count is at least ``min_expected``;
        otherwise Fisher's exact test for a 2×2 table, or a Monte Carlo p-value from ``draws``
        random tables with the observed margins (Patefield's algorithm; fewer for a table too
        large for them all: :func:`monte_carlo_draws`), with a warning that says how many.
        With fewer than two non-empty rows or columns the p-value is None (X² is 0, df 0).
    """
    from scipy.stats import chi2, fisher_exact, random_table

    full = np.asarray(table, dtype=np.int64)
    t, _, _ = drop_empty(full)
    n = int(t.sum())
    if n == 0:
        return TestOutcome(None, None, None, "none", n=0, note=N_("no slide has both values"))
    r, c = t.shape
    if r < 2 or c < 2:
        note = N_("only one row category present") if r < 2 else N_("only one column category present")
        return TestOutcome(0.0, 0, None, "none", n=n, df_star=0, note=note)
    expected = expected_counts(t.astype(float))
    x2 = float(pearson(t.astype(float), expected))
    df = (r - 1) * (c - 1)
    df_star = min(r, c) - 1
    v = cramers_v(x2, n, (r, c))
    small = int((expected < min_expected).sum())
    if not small:
        return TestOutcome(x2, df, float(chi2.sf(x2, df)), N_("Pearson chi-square"), v, n, df_star)
    warn = {"small": small, "k": r * c, "min": min_expected}
    if (r, c) == (2, 2):
        p_value = float(fisher_exact(t).pvalue)
        return TestOutcome(
            x2, df, p_value, N_("Fisher exact"), v, n, df_star,
            warnings=[msg("{small} of {k} expected counts under {min:g}: Fisher's exact test", **warn)],
        )  # fmt: skip
    draws = monte_carlo_draws(draws, r * c)
    tables = random_table(t.sum(axis=1), t.sum(axis=0), seed=np.random.default_rng(seed))
    at_least = x2 - 1e-9 * max(1.0, x2)
    hits = sum(
        int((pearson(sims.astype(float), expected) >= at_least).sum())
        for sims in _in_chunks(tables.rvs, draws, r * c)
    )
    p_value = (1 + hits) / (1 + draws)
    return TestOutcome(
        x2,
        df,
        p_value,
        N_("Monte Carlo chi-square"),
        v,
        n,
        df_star,
        warnings=[
            msg(
                "{small} of {k} expected counts under {min:g}: Monte Carlo p-value ({draws:,} tables with the observed margins, seed {seed})",
                **warn,
                draws=draws,
                seed=seed,
            )
        ],
    )


# --- Kruskal–Wallis ---------------------------------------------------------------------


def kruskal_wallis(groups: Sequence[np.ndarray]) -> TestOutcome:
    """Kruskal–Wallis H test with the tie correction, and η²_H = (H − k + 1) / (n − k).

    Empty groups are dropped. With fewer than two groups, or all values equal, the p-value is
    None and ``note`` says why (scipy returns NaN or raises there). η²_H is clipped at 0 and is
    None when n = k.
    """
    from scipy.stats import chi2, rankdata

    kept = [np.asarray(g, dtype=float) for g in groups if len(g)]
    n = sum(len(g) for g in kept)
    k = len(kept)
    if k < 2:
        return TestOutcome(None, None, None, "none", n=n, note=N_("fewer than two groups with values"))
    x = np.concatenate(kept)
    if np.all(x == x[0]):
        return TestOutcome(0.0, k - 1, None, "none", n=n, note=N_("all values are equal"))
    ranks = rankdata(x)
    bounds = np.cumsum([0, *(len(g) for g in kept)])
    h = 12.0 / (n * (n + 1)) * sum(
        ranks[a:b].sum() ** 2 / (b - a) for a, b in itertools.pairwise(bounds)
    ) - 3.0 * (n + 1)
    _, ties = np.unique(x, return_counts=True)
    h /= 1.0 - float((ties**3 - ties).sum()) / (n**3 - n)
    eta2 = max(0.0, (h - k + 1) / (n - k)) if n > k else None
    return TestOutcome(float(h), k - 1, float(chi2.sf(h, k - 1)), "Kruskal–Wallis", eta2, n)


# --- drift ------------------------------------------------------------------------------


def psi(baseline: Sequence[float], current: Sequence[float], smoothing: float = 0.5) -> float:
    """Population stability index Σ (c − b) · ln(c / b) over the shares of each category.

    Shares are smoothed as (count + ``smoothing``) / (n + k · ``smoothing``) so that a category
    absent on one side gives a large but finite contribution. Categories absent on both sides
    contribute nothing. Raises ValueError when one side has no count.
    """
    b = np.asarray(baseline, dtype=float)
    c = np.asarray(current, dtype=float)
    keep = (b + c) > 0
    b, c = b[keep], c[keep]
    if b.sum() == 0 or c.sum() == 0:
        raise ValueError("psi needs counts on both sides")
    k = len(b)
    pb = (b + smoothing) / (b.sum() + k * smoothing)
    pc = (c + smoothing) / (c.sum() + k * smoothing)
    return float(np.sum((pc - pb) * np.log(pc / pb)))


def ks_from_counts(
    support_a: Sequence[float], counts_a: Sequence[int], support_b: Sequence[float], counts_b: Sequence[int]
) -> TestOutcome:
    """Two-sample Kolmogorov–Smirnov test of two distributions given as value → count.

    D = max |F_a − F_b| over every value, computed from the counts. The p-value is scipy's
    ``ks_2samp`` on the samples the counts describe: exact when both sides have at most 10,000
    values (unless scipy's exact computation gives up, then asymptotic, and ``method`` says so),
    else Smirnov's asymptotic formula. Ties (rounded or discrete values) make it conservative.
    With an empty side the p-value is None.
    """
    from scipy.stats import ks_2samp, kstwo

    sa, ca = np.asarray(support_a, dtype=float), np.asarray(counts_a, dtype=np.int64)
    sb, cb = np.asarray(support_b, dtype=float), np.asarray(counts_b, dtype=np.int64)
    na, nb = int(ca.sum()), int(cb.sum())
    if na == 0 or nb == 0:
        return TestOutcome(None, None, None, "none", n=na + nb, note=N_("one side has no value"))
    grid = np.union1d(sa, sb)
    fa = np.zeros(len(grid))
    fb = np.zeros(len(grid))
    fa[np.searchsorted(grid, sa)] = ca
    fb[np.searchsorted(grid, sb)] = cb
    d = float(np.max(np.abs(np.cumsum(fa) / na - np.cumsum(fb) / nb)))
    exact = max(na, nb) <= KS_EXACT_MAX
    if not exact:
        # Smirnov's formula as ks_2samp applies it (scipy.stats._stats_py): D and the sizes are all
        # it needs, so the samples are not spelled out (a baseline stating 3 million values of a
        # billion slides each asked for 21 PiB)
        m, n = sorted([float(na), float(nb)], reverse=True)
        p_value = float(np.clip(kstwo.sf(d, np.round(m * n / (m + n))), 0, 1))
        return TestOutcome(d, None, p_value, "Kolmogorov–Smirnov (asymptotic)", d, na + nb)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        p_value = float(ks_2samp(np.repeat(sa, ca), np.repeat(sb, cb), method="exact").pvalue)
    for w in caught:
        # scipy gives up on some exact computations and says so; the p-value is then asymptotic
        if "Exact calculation unsuccessful" in str(w.message):
            exact = False
        else:
            warnings.warn(w.message, w.category, stacklevel=2)
    method = "Kolmogorov–Smirnov (exact)" if exact else "Kolmogorov–Smirnov (asymptotic)"
    return TestOutcome(d, None, p_value, method, d, na + nb)


# --- multiple testing -------------------------------------------------------------------


def adjust(p_values: Sequence[float], method: str = "holm") -> list[float]:
    """Adjusted p-values for a family: ``holm`` (step-down), ``bonferroni``, ``fdr_bh``
    (Benjamini–Hochberg) or ``none``. An empty family gives an empty list."""
    p = np.asarray(p_values, dtype=float)
    m = len(p)
    if m == 0 or method == "none":
        return p.tolist()
    if method == "bonferroni":
        return np.minimum(1.0, p * m).tolist()
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    if method == "holm":
        adj = np.maximum.accumulate(ranked * (m - np.arange(m)))
    elif method == "fdr_bh":
        adj = np.minimum.accumulate((ranked * m / np.arange(1, m + 1))[::-1])[::-1]
    else:
        raise ValueError(f"unknown correction {method!r}")
    out = np.empty(m)
    out[order] = np.minimum(1.0, adj)
    return out.tolist()


# --- balance and richness ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Indices:
    """Balance and richness of one composition."""

    n: int
    observed: int
    shannon: float | None
    evenness: float | None
    simpson: float | None
    inverse_simpson: float | None
    imbalance_ratio: float | None
    min_share: float | None
    min_category: str | None
    max_share: float | None
    max_category: str | None


def balance_indices(counts: dict[str, int]) -> Indices:
    """Shannon (natural log), Pielou's evenness, Gini–Simpson, inverse Simpson, imbalance ratio,
    and the smallest and largest shares, over the categories given (zeros included).

    With no slide every index is None; with one category Shannon is 0 and evenness None; when a
    category has no slide the imbalance ratio is None (infinite) and the smallest share is 0.
    """
    names = list(counts)
    c = np.asarray([counts[k] for k in names], dtype=float)
    n = int(c.sum())
    if n == 0 or not names:
        return Indices(n, 0, None, None, None, None, None, None, None, None, None)
    p = c / n
    nz = p[p > 0]
    shannon = float(-(nz * np.log(nz)).sum())
    k = len(names)
    sum_sq = float((p**2).sum())
    i_min, i_max = int(np.argmin(c)), int(np.argmax(c))
    return Indices(
        n=n,
        observed=int((c > 0).sum()),
        shannon=shannon,
        evenness=shannon / math.log(k) if k > 1 else None,
        simpson=1.0 - sum_sq,
        inverse_simpson=1.0 / sum_sq,
        imbalance_ratio=float(c.max() / c.min()) if c.min() > 0 else None,
        min_share=float(p[i_min]),
        min_category=names[i_min],
        max_share=float(p[i_max]),
        max_category=names[i_max],
    )
