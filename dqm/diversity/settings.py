"""The ``diversity`` section of a profile: targets, significance level, rules and drift thresholds.

Every field has a default, so a profile without a ``diversity`` section still gets the
statistical-diversity dimension (without goodness-of-fit tests: those need declared targets).
"""

from __future__ import annotations

import itertools
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dqm.diversity.variables import DEFAULT_RULES, TARGETABLE, TEST_NAMES

MIN_MONTE_CARLO_DRAWS = 100
"""Draws a Monte Carlo test makes at least (:func:`dqm.diversity.stats.monte_carlo_draws`)."""

EffectLabel = Literal["small", "moderate", "large"]
Decision = Literal["pass", "warn", "fail"]
Correction = Literal["holm", "bonferroni", "fdr_bh", "none"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EffectRule(_Frozen):
    """When a significant test warns or fails, by the size of its effect.

    A test whose Holm-adjusted p-value is under ``alpha`` warns when its effect size is at least
    ``warn_at`` and fails when it is at least ``fail_at``; ``None`` turns that level off. A test
    that is not significant passes whatever its effect size.
    """

    warn_at: EffectLabel | None = "moderate"
    fail_at: EffectLabel | None = "large"

    @model_validator(mode="after")
    def _ordered(self) -> EffectRule:
        order = {"small": 0, "moderate": 1, "large": 2}
        if self.warn_at and self.fail_at and order[self.fail_at] < order[self.warn_at]:
            raise ValueError("fail_at must not be a smaller effect than warn_at")
        return self


def _default_rules() -> dict[str, EffectRule]:
    # Declared with the variables (dqm.diversity.variables.VARIABLES): institutions should not
    # differ much; associations of the class with the patient are expected clinically, so by
    # default they are tested and reported, and neither warn nor fail; a profile may gate them.
    return {name: EffectRule(warn_at=warn, fail_at=fail) for name, (warn, fail) in DEFAULT_RULES.items()}


class BalanceRules(_Frozen):
    """Balance and richness rules; ``None`` turns a rule off."""

    min_class_share: Annotated[float | None, Field(ge=0, le=1)] = 0.05
    """Fail when a class of the taxonomy has a smaller share of the slides (an absent class has 0)."""
    max_institution_share: Annotated[float | None, Field(ge=0, le=1)] = 0.60
    """Fail when one institution contributes a larger share of the slides."""
    max_imbalance_ratio: Annotated[float | None, Field(ge=1)] = 10.0
    """Warn when the largest class has more than this many times the slides of the smallest."""


class DriftSettings(_Frozen):
    """Thresholds for the comparison with a previous release (``dqm audit --baseline``).

    A variable drifts when its test is significant after correction *and* its effect reaches a
    threshold: PSI for categorical variables, the Kolmogorov–Smirnov distance D for continuous ones.
    """

    alpha: Annotated[float, Field(gt=0, lt=1)] = 0.01
    """Significance level of the drift family. Stricter than the batch's tests by default: about
    twenty variables are compared at every release, and a release flagged by chance one time in
    twenty would teach people to ignore the flag."""
    psi_warn: Annotated[float, Field(gt=0)] = 0.10
    psi_fail: Annotated[float, Field(gt=0)] = 0.25
    ks_warn: Annotated[float, Field(gt=0, le=1)] = 0.10
    ks_fail: Annotated[float, Field(gt=0, le=1)] = 0.20
    new_category: Decision = "warn"
    """Decision when a class, institution or site appears that the baseline did not have."""
    vanished_category: Decision = "warn"
    """Decision when a class, institution or site of the baseline is absent."""

    @model_validator(mode="after")
    def _ordered(self) -> DriftSettings:
        if self.psi_fail < self.psi_warn or self.ks_fail < self.ks_warn:
            raise ValueError("a fail threshold must not be below its warn threshold")
        return self


class BatchEffectSettings(_Frozen):
    """How the institution is predicted from the stain and the acquisition descriptors
    (:mod:`dqm.diversity.batch_effects`)."""

    auc_warn: Annotated[float, Field(gt=0.5, le=1)] = 0.75
    """Warn of a batch effect when the stain descriptors predict the institution with at least this
    cross-validated AUC and the permutation p-value is at most α."""
    folds: Annotated[int, Field(ge=2, le=20)] = 5
    """Cross-validation folds (fewer when an institution has fewer slides)."""
    permutations: Annotated[int, Field(ge=9, le=1000)] = 19
    """Label permutations (within each class) for the permutation baseline and its Monte Carlo
    p-value (1 + permutations at least as high) / (1 + permutations): 19 can show p ≤ 0.05."""
    bootstrap: Annotated[int, Field(ge=0, le=10_000)] = 200
    """Bootstrap resamples of the out-of-fold predictions for the AUC's interval (0: none)."""
    min_slides_per_site: Annotated[int, Field(ge=2)] = 5
    """An institution with fewer slides (with a class every kept institution has) is left out."""
    max_slides: Annotated[int, Field(ge=20)] = 5000
    """At most this many slides are used (a seeded sample, stratified by institution and class)."""
    importance_min: Annotated[float, Field(ge=0, le=1)] = 0.02
    """A descriptor carries the batch effect when permuting it lowers the AUC by at least this much."""


class Minimum(_Frozen):
    """A minimum that every category (or combination) must reach: a slide count, a share of the
    slides with a value, or both (each is its own gated figure)."""

    count: Annotated[int | None, Field(ge=1)] = None
    share: Annotated[float | None, Field(gt=0, le=1)] = None


MINIMUM_GROUPS: dict[str, tuple[str, ...]] = {
    "class": ("class",),
    "institution": ("institution",),
    "class_institution": ("class", "institution"),
    "sex_age_band": ("sex", "age_band"),
    "site": ("site",),
    "patients_class": ("class",),
}
"""The groupings a profile may set minimums for (``diversity.minimums``), and the variables of
each: one category, or every combination of the categories of two. A grouping in
:data:`PATIENT_GROUPS` counts distinct patients instead of slides."""

PATIENT_GROUPS = frozenset({"patients_class"})
"""Groupings whose counts are distinct patients (``patient_id``) with a slide in the category;
a slide without a patient id is not counted."""


class DiversitySettings(_Frozen):
    """How the statistical-diversity dimension tests a batch."""

    alpha: Annotated[float, Field(gt=0, lt=1)] = 0.05
    correction: Correction = "holm"
    """Multiple-testing correction over the family of tests (and, separately, over drift)."""
    targets: dict[str, dict[str, float]] = Field(default_factory=dict)
    """Target shares per categorical variable (``class`` keys are class ids); each positive, summing to 1."""
    rules: dict[str, EffectRule] = Field(default_factory=_default_rules)
    """Effect-size rules per test name (``fit`` covers every goodness-of-fit test)."""
    balance: BalanceRules = BalanceRules()
    age_bands: tuple[float, ...] = (0, 20, 40, 60, 80)
    """Lower edges of the age bands, increasing; the last band is open-ended."""
    min_expected: Annotated[float, Field(gt=0)] = 5.0
    """Expected count under which a cell is small: exact or Monte Carlo p-values are used instead."""
    monte_carlo_draws: Annotated[int, Field(ge=MIN_MONTE_CARLO_DRAWS)] = 10_000
    exact_max_outcomes: Annotated[int, Field(ge=1)] = 200_000
    """Largest number of multinomial outcomes enumerated for an exact goodness-of-fit test."""
    seed: int = 0
    """Seed of the Monte Carlo draws: the same batch gives the same p-values."""
    drift: DriftSettings = DriftSettings()
    batch_effects: BatchEffectSettings | None = BatchEffectSettings()
    """How the institution is predicted from the stain and acquisition descriptors; ``null`` turns
    the batch-effect analysis off."""
    minimums: dict[str, Minimum] = Field(default_factory=dict)
    """다양성 요건: minimum slide counts and shares per category of a grouping, and minimum patients
    per class (:data:`MINIMUM_GROUPS`); each category is one gated figure. None by default."""

    @field_validator("minimums")
    @classmethod
    def _minimums_known(cls, v: dict[str, Minimum]) -> dict[str, Minimum]:
        unknown = sorted(set(v) - set(MINIMUM_GROUPS))
        if unknown:
            raise ValueError(f"minimums for {unknown}: choose from {', '.join(MINIMUM_GROUPS)}")
        empty = sorted(k for k, m in v.items() if m.count is None and m.share is None)
        if empty:
            raise ValueError(f"minimums for {empty} set neither a count nor a share")
        return v

    @field_validator("targets")
    @classmethod
    def _targets_are_shares(cls, v: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        out = {}
        for var, shares in v.items():
            if var not in TARGETABLE:
                raise ValueError(f"targets for {var!r}: choose from {', '.join(TARGETABLE)}")
            # A share of 0 makes the expected count 0: X² is NaN or infinite and every outcome but
            # the observed one has probability 0. A category that must not occur is left out of
            # the targets instead; its slides are then counted as left out of the test.
            if not shares or any(not s > 0 for s in shares.values()):
                raise ValueError(
                    f"targets for {var!r} must be positive shares (leave out a category that must not occur)"
                )
            total = sum(shares.values())
            if abs(total - 1) > 1e-3:
                raise ValueError(f"targets for {var!r} sum to {total:.4f}, not 1")
            out[var] = {k: s / total for k, s in shares.items()}
        return out

    @field_validator("rules")
    @classmethod
    def _rules_known(cls, v: dict[str, EffectRule]) -> dict[str, EffectRule]:
        unknown = sorted(set(v) - set(TEST_NAMES))
        if unknown:
            raise ValueError(f"unknown test names in rules: {unknown} (choose from {', '.join(TEST_NAMES)})")
        return {**_default_rules(), **v}

    @field_validator("age_bands")
    @classmethod
    def _bands_increase(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if not v or any(b <= a for a, b in itertools.pairwise(v)):
            raise ValueError("age_bands must be one or more increasing lower edges")
        return v

    def rule(self, test: str) -> EffectRule:
        """The effect rule of a test (goodness-of-fit tests share ``fit``)."""
        key = "fit" if test.startswith("fit.") else test
        return self.rules.get(key, EffectRule())
