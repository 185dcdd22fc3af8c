"""Drift: each variable of this batch against the same variable of a baseline release.

Works on summaries only (counts per category; the distribution of a numeric variable at three
significant digits), so a baseline ``results.json`` is enough. Categorical variables get a
chi-square test of homogeneity (baseline vs current) and the population stability index (PSI);
continuous ones a two-sample Kolmogorov–Smirnov test. The drift tests form their own family,
corrected together. A variable drifts when its adjusted p-value is under α *and* its effect
(PSI or D) reaches the profile's threshold: with small batches PSI alone moves by chance
(about (k − 1)(1/n₀ + 1/n₁) for k categories), with large ones any difference is significant.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dqm.diversity.family import fmt_p
from dqm.diversity.models import (
    BaselineInfo,
    CategoricalSummary,
    ContinuousSummary,
    DriftResult,
    DriftVariable,
)
from dqm.diversity.settings import DiversitySettings, DriftSettings
from dqm.diversity.stats import TestOutcome, adjust, independence, ks_from_counts, psi
from dqm.diversity.summaries import nice_edges
from dqm.diversity.variables import NEW_VANISHED
from dqm.i18n import N_, msg

SEVERITY = {"not_applicable": -1, "pass": 0, "warn": 1, "fail": 2}
FIGURES = (("mean", None), ("p25", "p25"), ("median", "p50"), ("p75", "p75"))


@dataclass(frozen=True, slots=True)
class Summaries:
    """The distributions of one release, as stored in its result."""

    categorical: dict[str, CategoricalSummary]
    continuous: dict[str, ContinuousSummary]
    age_bands: tuple[float, ...]


MAX_LISTED = 100
"""Categories a categorical variable's comparison lists at most (``bins`` and their shares,
``new``, ``vanished``, the names its sentence gives): beyond them the largest are listed, and a
warning says how many there are. The test, PSI and decisions count every category. A hand-edited
baseline of 300,000 categories listed each of them three times in results.json and again in the
report (70 MB of outputs, three minutes of masking)."""


@dataclass(frozen=True, slots=True)
class _Pending:
    """A variable compared but not yet decided (its adjusted p-value comes from the family)."""

    draft: DriftVariable
    outcome: TestOutcome
    absence: dict[str, float] = field(default_factory=dict)
    """:func:`absence_p` of each new or vanished category (class, institution and site only):
    members of the drift family, corrected with the other tests."""
    new: list[str] = field(default_factory=list)
    """Every new category (the draft lists at most :data:`MAX_LISTED`)."""
    vanished: list[str] = field(default_factory=list)
    """Every vanished category."""


def _worst(decisions: Sequence[str]) -> str:
    return max(decisions, key=lambda d: SEVERITY[d], default="pass")


def absence_p(baseline_count: int, current_count: int, baseline_n: int, current_n: int) -> float:
    """Exact probability that a category seen ``t`` times in both releases together falls
    entirely on one side, when both releases share one distribution.

    Given its total ``t``, the baseline's part is Binomial(t, n₀ / (n₀ + n₁)), so all ``t`` in the
    current batch (a new category) has probability (n₁ / (n₀ + n₁))^t, and all in the baseline
    (a vanished one) (n₀ / (n₀ + n₁))^t. Returns 1 when the category is on both sides or none.
    """
    t = baseline_count + current_count
    if baseline_n + current_n == 0 or t == 0 or (baseline_count and current_count):
        return 1.0
    side = current_n if baseline_count == 0 else baseline_n
    return float((side / (baseline_n + current_n)) ** t)


def _largest(weights: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Indices where ``where`` holds, in order: all of them, or the :data:`MAX_LISTED` of the
    largest ``weights`` among them (the earlier of two equal ones)."""
    at = np.flatnonzero(where)
    if len(at) > MAX_LISTED:
        at = np.sort(at[np.argsort(-weights[at], kind="stable")[:MAX_LISTED]])
    return at


def _figures(s: ContinuousSummary) -> dict[str, float]:
    out = {}
    for key, q in FIGURES:
        value = s.mean if q is None else s.quantiles.get(q)
        if value is not None:
            out[key] = value
    return out


def _draft(name: str, label: str, kind: str, outcome: TestOutcome, **fields: Any) -> DriftVariable:
    return DriftVariable(
        name=name,
        label=label,
        kind=kind,  # type: ignore[arg-type]
        method=outcome.method,
        statistic=outcome.statistic,
        df=outcome.df,
        p_value=outcome.p_value,
        decision="not_applicable",
        rule="",
        sentence="",
        warnings=list(outcome.warnings),
        **fields,
    )


def _categorical(
    name: str, b: CategoricalSummary, c: CategoricalSummary, settings: DiversitySettings
) -> _Pending:
    cats = list(b.counts) + [k for k in c.counts if k not in b.counts]
    bc = np.array([b.counts.get(k, 0) for k in cats], dtype=np.int64)
    cc = np.array([c.counts.get(k, 0) for k in cats], dtype=np.int64)
    present, appeared, gone = (bc + cc) > 0, (bc == 0) & (cc > 0), (bc > 0) & (cc == 0)
    one_side = np.flatnonzero(appeared | gone).tolist() if name in NEW_VANISHED else []
    absence = {cats[j]: absence_p(int(bc[j]), int(cc[j]), b.n, c.n) for j in one_side}
    weight = np.zeros(len(cats))  # the shares on both sides pick the categories listed
    for counts, n in ((bc, b.n), (cc, c.n)):
        if n:
            weight += counts / n
    shown = _largest(weight, present)
    index: float | None = None
    if b.n == 0 or c.n == 0:
        note = N_("the baseline has no value") if b.n == 0 else N_("the current batch has no value")
        outcome = TestOutcome(None, None, None, "none", note=note)
    else:
        outcome = independence(
            np.vstack([bc, cc]),
            min_expected=settings.min_expected,
            draws=settings.monte_carlo_draws,
            seed=settings.seed,
        )
        index = psi(bc.tolist(), cc.tolist())
    draft = _draft(
        name,
        c.label,
        "categorical",
        outcome,
        psi=index,
        effect_size=index,
        baseline_n=b.n,
        current_n=c.n,
        bins=[cats[j] for j in shown.tolist()],
        baseline_shares=(bc[shown] / b.n).tolist() if b.n else [0.0] * len(shown),
        current_shares=(cc[shown] / c.n).tolist() if c.n else [0.0] * len(shown),
        new=[cats[j] for j in _largest(weight, appeared).tolist()],
        vanished=[cats[j] for j in _largest(weight, gone).tolist()],
    )
    if int(present.sum()) > MAX_LISTED:
        listed = msg(
            "{k:,} categories: the {shown} largest are listed (shares, new and vanished ones)",
            k=int(present.sum()), shown=MAX_LISTED,
        )  # fmt: skip
        draft = draft.model_copy(update={"warnings": [*draft.warnings, listed]})
    every_new = [cats[j] for j in np.flatnonzero(appeared).tolist()]
    every_vanished = [cats[j] for j in np.flatnonzero(gone).tolist()]
    return _Pending(draft, outcome, absence, every_new, every_vanished)


def _continuous(name: str, b: ContinuousSummary, c: ContinuousSummary) -> _Pending:
    outcome = ks_from_counts(b.support, b.support_counts, c.support, c.support_counts)
    bins: list[str] = []
    shares_b: list[float] = []
    shares_c: list[float] = []
    if b.n and c.n:
        sb, sc = np.asarray(b.support, dtype=float), np.asarray(c.support, dtype=float)
        values = np.concatenate([sb, sc])
        integer = bool(np.all(np.isfinite(values) & (np.floor(values) == values)))  # float.is_integer
        edges = nice_edges(float(values.min()), float(values.max()), bins=12, integer=integer)
        hb, _ = np.histogram(sb, bins=edges, weights=b.support_counts)
        hc, _ = np.histogram(sc, bins=edges, weights=c.support_counts)
        bins = [f"{a:g}–{z:g}" for a, z in itertools.pairwise(edges)]
        shares_b, shares_c = (hb / b.n).tolist(), (hc / c.n).tolist()
    draft = _draft(
        name,
        c.label,
        "continuous",
        outcome,
        effect_size=outcome.statistic,
        baseline_n=b.n,
        current_n=c.n,
        bins=bins,
        baseline_shares=shares_b,
        current_shares=shares_c,
        baseline_figures=_figures(b),
        current_figures=_figures(c),
    )
    return _Pending(draft, outcome)


def _names(listed: list[str], every: int) -> str:
    """The names listed, and how many more there are."""
    names = ", ".join(listed)
    return (
        names
        if every <= len(listed)
        else msg("{names} and {more:,} more", names=names, more=every - len(listed))
    )


def _decide(
    p: _Pending, p_adj: float | None, absence_adj: dict[str, float], s: DriftSettings, alpha: float
) -> DriftVariable:
    """The variable with its adjusted p-value, decision, rule and sentence; ``absence_adj`` holds
    the adjusted :func:`absence_p` of its new and vanished categories."""
    v = p.draft
    cat = v.kind == "categorical"
    name = "PSI" if cat else "KS D"
    warn, fail = (s.psi_warn, s.psi_fail) if cat else (s.ks_warn, s.ks_fail)
    from dqm.tolerance import fmt_value_target

    rule: str = msg(
        "fail when p_adj < {alpha:g} and {effect} ≥ {fail}; warn when p_adj < {alpha:g} and {effect} ≥ {warn}",
        alpha=alpha, effect=name, fail=fmt_value_target(fail, False), warn=fmt_value_target(warn, False),
    )  # fmt: skip
    effect = v.effect_size
    text: str  # a message, then clauses joined to it (the report translates each)
    if p_adj is None or effect is None:
        decision, text = "not_applicable", msg("not compared: {note}", note=p.outcome.note)
    else:
        size = f"{name} {fmt_effect(effect, {'warn': warn, 'fail': fail})}, p_adj {fmt_p(p_adj)}"
        if p_adj < alpha and effect >= fail:
            decision, text = (
                "fail",
                msg("{label} drifted strongly from the baseline ({size})", label=v.label, size=size),
            )
        elif p_adj < alpha and effect >= warn:
            decision, text = (
                "warn",
                msg("{label} drifted from the baseline ({size})", label=v.label, size=size),
            )
        elif p_adj < alpha:
            decision, text = (
                "pass",
                msg("{label} differs from the baseline, but little ({size})", label=v.label, size=size),
            )
        else:
            decision, text = "pass", msg("no evidence of drift in {label} ({size})", label=v.label, size=size)
    decisions = [decision]
    if v.new:
        text += "; " + msg("new: {values}", values=_names(v.new, len(p.new)))
    if v.vanished:
        text += "; " + msg("vanished: {values}", values=_names(v.vanished, len(p.vanished)))
    if v.name in NEW_VANISHED:
        rule += "; " + msg(
            "a new category: {new}, a vanished one: {vanished}, when the chance "
            "that all its slides fall on one side is under {alpha:g} after correction",
            new=s.new_category, vanished=s.vanished_category, alpha=alpha,
        )  # fmt: skip
        decisions += [s.new_category for k in p.new if absence_adj.get(k, 1.0) < alpha]
        decisions += [s.vanished_category for k in p.vanished if absence_adj.get(k, 1.0) < alpha]
    final = _worst(decisions) if len(decisions) > 1 else decision
    return v.model_copy(
        update={
            "p_adjusted": p_adj,
            "decision": final,
            "rule": rule,
            "sentence": text,
            "thresholds": {"warn": warn, "fail": fail},
        }
    )


def fmt_effect(effect: float | None, thresholds: dict[str, float]) -> str:
    """A drift's effect (PSI or D) as the sentence and the report's table print it: 3 decimals, or
    as many more as it needs to read on its own side of both thresholds as the rule prints them
    (:func:`dqm.tolerance.fmt_value_target`): a PSI of 0.2496 that warns is not ``0.250`` beside
    "fail when … PSI ≥ 0.25", nor one of 0.10041 that warns ``0.100`` beside "warn when … PSI ≥
    0.1004"; ``thresholds`` empty (a result before schema 1.19): 3 significant digits."""
    from dqm.tolerance import digits_on_side, fmt_among, fmt_value_target

    bounds = [b for b in (thresholds.get("warn"), thresholds.get("fail")) if b is not None]
    if effect is None or not bounds or not math.isfinite(effect):
        return fmt_among(effect)
    # against each threshold as the rule's sentence prints it (0.2500002 against 0.2500004: not "0.250")
    written = [(b, fmt_value_target(b, False)) for b in bounds]
    decimals = digits_on_side(effect, written, _decimals, 3, 21)
    return repr(effect) if decimals is None else _decimals(effect, decimals)


def _decimals(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


def drift(
    current: Summaries,
    baseline: Summaries,
    info: BaselineInfo,
    settings: DiversitySettings,
) -> DriftResult:
    """Compare every variable present in both releases.

    Parameters
    ----------
    current, baseline
        The two releases' summaries (only the baseline's summaries are needed, never its items).
    info
        Where the baseline came from, copied into the result.
    settings
        α, the correction and the drift thresholds.

    Returns
    -------
    DriftResult
        One entry per variable in either release; a variable present on one side only, or with
        no value on one side, is ``not_applicable`` with the reason. Age bands are compared only
        when both releases used the same band edges.
    """
    notes: list[str] = []
    pending: list[_Pending] = []
    for name, c in current.categorical.items():
        b = baseline.categorical.get(name)
        if b is None:
            notes.append(msg("{label}: not in the baseline, not compared", label=c.label))
            continue
        if name == "age_band" and tuple(current.age_bands) != tuple(baseline.age_bands):
            notes.append(N_("age band: the baseline used other band edges, not compared (age itself is)"))
            continue
        pending.append(_categorical(name, b, c, settings))
    for name, cs in current.continuous.items():
        bs = baseline.continuous.get(name)
        if bs is None:
            notes.append(msg("{label}: not in the baseline, not compared", label=cs.label))
            continue
        pending.append(_continuous(name, bs, cs))
    only_base = [
        n
        for n in (*baseline.categorical, *baseline.continuous)
        if n not in current.categorical and n not in current.continuous
    ]
    if only_base:
        notes.append(msg("only in the baseline, not compared: {names}", names=", ".join(only_base)))
    # One family: each variable's test, and the absence of each new or vanished category.
    members: list[tuple[int, str | None, float]] = []
    for i, p in enumerate(pending):
        if p.outcome.p_value is not None:
            members.append((i, None, p.outcome.p_value))
        members += [(i, k, a) for k, a in p.absence.items()]
    adjusted = adjust([m[2] for m in members], settings.correction)
    main: dict[int, float] = {}
    absent: dict[int, dict[str, float]] = {i: {} for i in range(len(pending))}
    for (i, k, _), a in zip(members, adjusted, strict=True):
        if k is None:
            main[i] = a
        else:
            absent[i][k] = a
    variables = [
        _decide(p, main.get(i), absent[i], settings.drift, settings.drift.alpha)
        for i, p in enumerate(pending)
    ]
    verdict = _worst([v.decision for v in variables if v.decision != "not_applicable"])
    flagged = [v for v in variables if v.decision in ("warn", "fail")]
    summary = (
        msg(
            "{n} of {total} variables drifted: {which}",
            n=len(flagged),
            total=len(variables),
            which=", ".join(f"{v.label} ({v.decision})" for v in flagged),
        )
        if flagged
        else msg("no drift in {n} variables compared with the baseline", n=len(variables))
    )
    return DriftResult(
        baseline=info,
        variables=variables,
        correction=settings.correction,
        alpha=settings.drift.alpha,
        verdict=verdict,  # type: ignore[arg-type]
        summary=summary,
        notes=notes,
    )
