"""The statistical-diversity result: frozen, plain data stored in ``results.json``.

Summaries keep enough of each distribution (counts, histogram, quantiles and the distribution
at a stated resolution) that a later audit can use a ``results.json`` as its drift baseline
without the old batch.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dqm.decided import DecidedFigure

Decision = Literal["pass", "warn", "fail", "not_applicable"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Histogram(_Frozen):
    """Counts in bins ``[edges[i], edges[i+1])``; the last bin includes its right edge."""

    edges: list[float]
    counts: list[int]


class CategoricalSummary(_Frozen):
    """The composition of one categorical variable over the slides that have a value."""

    name: str
    label: str
    n: int
    """Slides with a value (the denominator of ``shares``)."""
    missing: int
    """Slides without a value."""
    counts: dict[str, int]
    """Slides per category, in the profile's order where it has one (declared categories with 0 kept)."""
    shares: dict[str, float]
    undeclared: list[str] = Field(default_factory=list)
    """Categories present in the batch that the profile does not declare."""


class ContinuousSummary(_Frozen):
    """One numeric variable over the slides that have a value."""

    name: str
    label: str
    unit: str = ""
    n: int
    missing: int
    """Slides without a value."""
    invalid: int = 0
    """Slides whose value is present but is not a finite number (counted in ``missing``)."""
    mean: float | None = None
    sd: float | None = None
    """Sample standard deviation (ddof 1); None under two values."""
    min: float | None = None
    max: float | None = None
    quantiles: dict[str, float] = Field(default_factory=dict)
    """``p01`` … ``p99`` (linear interpolation), absent when there is no value."""
    histogram: Histogram | None = None
    support: list[float] = Field(default_factory=list)
    """Distinct values after rounding to ``digits`` significant digits, increasing."""
    support_counts: list[int] = Field(default_factory=list)
    """Slides per value of ``support``: the whole distribution at that resolution."""
    digits: int = 3


class JointTable(_Frozen):
    """A contingency table: slides per (row category, column category)."""

    name: str
    row_var: str
    col_var: str
    rows: list[str]
    cols: list[str]
    counts: list[list[int]]
    n: int
    """Slides with a value in both variables."""
    excluded: int
    """Slides missing one of the two values."""


class Balance(_Frozen):
    """Balance and richness of one categorical variable (over its declared categories when known)."""

    variable: str
    n: int
    """Slides counted: those with a declared value when the profile declares the categories."""
    declared: int
    """Categories the profile declares (0 when it declares none: the observed ones are used)."""
    observed: int
    """Categories with at least one slide (richness)."""
    shannon: float | None
    """Shannon entropy, natural log."""
    evenness: float | None
    """Pielou's evenness: Shannon / ln(categories); None with fewer than two categories."""
    simpson: float | None
    """Gini–Simpson index 1 − Σ p²: the chance two slides drawn with replacement differ."""
    inverse_simpson: float | None
    """1 / Σ p²: the effective number of categories."""
    imbalance_ratio: float | None
    """Largest count / smallest count; None when a category is absent (ratio infinite)."""
    min_share: float | None
    min_category: str | None
    max_share: float | None
    max_category: str | None


class TestResult(_Frozen):
    """One hypothesis test or rule, its decision and the sentence the report prints."""

    __test__ = False  # not a pytest class

    name: str
    """Stable id, e.g. ``independence.class_institution``."""
    title: str
    variables: list[str]
    method: str
    """e.g. ``Pearson chi-square``, ``Fisher exact``, ``Monte Carlo chi-square``, ``rule``."""
    statistic: float | None = None
    statistic_name: str = ""
    df: int | None = None
    p_value: float | None = None
    p_adjusted: float | None = None
    """After the family's multiple-testing correction; None outside the family."""
    effect_size: float | None = None
    effect_name: str = ""
    effect_label: str = ""
    """``negligible``, ``small``, ``moderate`` or ``large`` (conventions in docs/diversity.md)."""
    thresholds: dict[str, float] = Field(default_factory=dict)
    """The effect size's ``small``, ``moderate`` and ``large`` thresholds for this table's size
    (schema 1.19): its label and the rule's decision were taken on them, and every output prints
    the effect with the digits it needs to read on its own side of each
    (:func:`dqm.tolerance.fmt_among`). Empty in an older result: 3 significant digits."""
    n: int = 0
    """Slides the test used."""
    excluded: int = 0
    """Slides left out (missing value, category outside the targets)."""
    decision: Decision
    rule: str
    sentence: str
    in_family: bool = False
    """Whether the test is part of the corrected family."""
    gated: bool = True
    """False when the rule can neither warn nor fail: the test is reported only."""
    warnings: list[str] = Field(default_factory=list)


class DriftVariable(_Frozen):
    """One variable compared with the baseline."""

    name: str
    label: str
    kind: Literal["categorical", "continuous"]
    method: str
    statistic: float | None = None
    """Chi-square (categorical) or Kolmogorov–Smirnov D (continuous)."""
    df: int | None = None
    p_value: float | None = None
    p_adjusted: float | None = None
    psi: float | None = None
    """Population stability index (categorical only)."""
    effect_size: float | None = None
    """PSI (categorical) or D (continuous): what the thresholds apply to."""
    thresholds: dict[str, float] = Field(default_factory=dict)
    """The ``warn`` and ``fail`` thresholds the effect was decided on (schema 1.19), so that every
    output prints it on its own side of them (:func:`dqm.diversity.drift.fmt_effect`)."""
    baseline_n: int
    current_n: int
    bins: list[str] = Field(default_factory=list)
    """Category names, or bin labels on common edges for a continuous variable."""
    baseline_shares: list[float] = Field(default_factory=list)
    current_shares: list[float] = Field(default_factory=list)
    baseline_figures: dict[str, float] = Field(default_factory=dict)
    """mean, p25, median, p75 of the baseline (continuous)."""
    current_figures: dict[str, float] = Field(default_factory=dict)
    new: list[str] = Field(default_factory=list)
    """Categories present now and absent from the baseline."""
    vanished: list[str] = Field(default_factory=list)
    """Categories of the baseline absent now."""
    decision: Decision
    rule: str
    sentence: str
    warnings: list[str] = Field(default_factory=list)


class BaselineInfo(_Frozen):
    """Where the baseline came from."""

    source: Literal["results", "batch"]
    path: str
    fingerprint: str | None = None
    created: str | None = None
    n_items: int
    from_summaries: bool
    """True when the stored summaries were used (no item was needed)."""


class DriftResult(_Frozen):
    """The comparison with a previous release."""

    baseline: BaselineInfo
    variables: list[DriftVariable]
    correction: str
    alpha: float
    verdict: Literal["pass", "warn", "fail"]
    summary: str
    notes: list[str] = Field(default_factory=list)


class Comparison(_Frozen):
    """One stain or acquisition descriptor across the categories of a grouping (institution, scanner)."""

    variable: str
    label: str
    by: str
    """The grouping variable (``institution``, ``scanner_header``, ``scanner``)."""
    method: str
    statistic: float | None = None
    """Kruskal–Wallis H."""
    df: int | None = None
    p_value: float | None = None
    p_adjusted: float | None = None
    """Holm (or the profile's correction) over every comparison of the batch: their own family."""
    effect_size: float | None = None
    """η²_H."""
    effect_label: str = ""
    n: int = 0
    medians: dict[str, float] = Field(default_factory=dict)
    """Median per category (at most 20 categories, the largest)."""
    sentence: str


class Importance(_Frozen):
    """How much the cross-validated AUC drops when one descriptor's values are permuted."""

    variable: str
    label: str
    drop: float
    """Mean drop of the AUC over folds and repeats (can be slightly negative by chance)."""


class SitePrediction(_Frozen):
    """How well one set of descriptors predicts the institution (cross-validated)."""

    features: Literal["pixel", "acquisition"]
    evaluated: bool
    reason: str = ""
    """Why it was not evaluated (too few institutions or slides, no descriptor)."""
    model: str = ""
    n: int = 0
    """Slides used."""
    excluded: int = 0
    """Slides left out (no institution, no descriptor, an institution or class too small, the sample cap)."""
    sites: list[str] = Field(default_factory=list)
    folds: int = 0
    auc: float | None = None
    """Out-of-fold AUC (one-vs-rest macro average over institutions when there are more than two),
    weighted so that every institution has the same class mix."""
    ci_low: float | None = None
    ci_high: float | None = None
    """95 % bootstrap interval of the AUC over slides (the fitted folds kept)."""
    fold_aucs: list[float] = Field(default_factory=list)
    site_aucs: dict[str, float] = Field(default_factory=dict)
    """Each institution's one-vs-rest AUC: one institution that stands out is diluted in the mean."""
    permutation_auc: float | None = None
    """Mean AUC of the same cross-validation with the institutions permuted within each class."""
    permutation_p95: float | None = None
    permutation_p: float | None = None
    """(1 + permutations at least as high) / (1 + permutations)."""
    site_permutation_p: float | None = None
    """The same for the largest institution's AUC, against each permutation's largest."""
    class_control: str = ""
    importance: list[Importance] = Field(default_factory=list)
    """Every descriptor, largest drop first."""
    carriers: list[str] = Field(default_factory=list)
    """Labels of the descriptors that carry the prediction (drop ≥ the profile's ``importance_min``)."""
    decision: Decision = "not_applicable"
    sentence: str = ""


class BatchEffects(_Frozen):
    """Stain and scanner batch effects: descriptors across institutions and scanners, and how well
    they predict the institution."""

    pixel: SitePrediction
    acquisition: SitePrediction
    comparisons: list[Comparison] = Field(default_factory=list)
    method: str = ""


VERDICT_NOTE = "the worst decision of the gated tests, balance rules and drift; warn passes"


def verdict_gates(passed: bool) -> list[DecidedFigure]:
    """The gated figures of the dimension: its verdict, which rests on many tests and rules at
    once (each in ``tests`` and ``drift`` with its own decision), not on one number."""
    return [DecidedFigure.verdict("diversity", passed, VERDICT_NOTE)]


class DiversityResult(_Frozen):
    """Statistical diversity: distributions, tests with decisions, drift and a verdict."""

    passed: bool
    """Verdict pass or warn."""
    verdict: Literal["pass", "warn", "fail"]
    summary: str
    gates: list[DecidedFigure]
    """What the gate reads: the verdict (:func:`verdict_gates`), then one figure per minimum count
    or share the profile requires (:mod:`dqm.diversity.minimums`); results of schema 1.0 and 1.1 have none
    stored, and get them from ``passed`` when they load."""
    n_items: int
    alpha: float
    correction: str
    family_size: int
    """Tests in the corrected family."""
    categorical: list[CategoricalSummary]
    continuous: list[ContinuousSummary]
    joint: list[JointTable]
    balance: list[Balance]
    tests: list[TestResult]
    drift: DriftResult | None = None
    batch_effects: BatchEffects | None = None
    """Stain and scanner batch effects (results before schema 1.3 have none)."""
    age_bands: list[float]
    """Lower edges of the age bands used (a baseline with other bands is not compared by band)."""
    notes: list[str] = Field(default_factory=list)
    """Plain statements about the input (missing values, unknown categories, skipped tests)."""
    method: str = ""

    @model_validator(mode="before")
    @classmethod
    def _gates_of_older_results(cls, data: Any) -> Any:
        if isinstance(data, dict) and "gates" not in data and isinstance(data.get("passed"), bool):
            return {**data, "gates": verdict_gates(data["passed"])}
        return data
