"""The family of tests over one batch: each test with its rule, decision and plain sentence.

Hypothesis tests (goodness of fit, independence, Kruskal–Wallis) form one family whose p-values
are corrected together (Holm by default). A test then *fails* when its adjusted p-value is under
α and its effect size reaches the rule's ``fail_at`` size, *warns* at ``warn_at``, and passes
otherwise. Balance rules are thresholds on a share or a ratio, outside the family.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from dqm.diversity.models import Balance, CategoricalSummary, JointTable, TestResult
from dqm.diversity.settings import BalanceRules, DiversitySettings, EffectRule
from dqm.diversity.stats import (
    LABELS,
    TestOutcome,
    adjust,
    balance_indices,
    effect_label,
    effect_thresholds,
    goodness_of_fit,
    independence,
    kruskal_wallis,
)
from dqm.diversity.variables import INDEPENDENCE, KRUSKAL
from dqm.i18n import N_, msg
from dqm.tolerance import count_reaches, fmt_among, sig_digits

EFFECT_NAMES = {"w": "Cohen's w", "V": "Cramér's V", "eta2": "η²_H"}


@dataclass(frozen=True, slots=True)
class Pending:
    """A test computed but not yet decided (its adjusted p-value comes from the whole family)."""

    name: str
    title: str
    variables: list[str]
    outcome: TestOutcome
    effect: str
    claim: str
    excluded: int = 0
    extra_warnings: tuple[str, ...] = ()


def fmt_p(p: float | None) -> str:
    """``p = 0.012``, ``p < 0.001``; ``–`` for None."""
    if p is None:
        return "–"
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def fit_tests(summaries: dict[str, CategoricalSummary], settings: DiversitySettings) -> list[Pending]:
    """One goodness-of-fit test per variable with target shares.

    Slides in a category without a target are excluded (and counted); a variable absent from
    the summaries gives a test with no p-value.
    """
    out = []
    for var, targets in settings.targets.items():
        s = summaries.get(var)
        cats = list(targets)
        observed = [s.counts.get(c, 0) for c in cats] if s else [0] * len(cats)
        excluded = (s.n - sum(observed)) if s else 0
        outcome = goodness_of_fit(
            observed,
            [targets[c] for c in cats],
            min_expected=settings.min_expected,
            exact_max_outcomes=settings.exact_max_outcomes,
            draws=settings.monte_carlo_draws,
            seed=settings.seed,
        )
        label = s.label if s else var
        warnings = (
            (msg("{n} slides in a category without a target were left out", n=excluded),) if excluded else ()
        )
        out.append(
            Pending(
                f"fit.{var}",
                msg("{label}: shares against the targets", label=label),
                [var],
                outcome,
                "w",
                msg("{label} shares differ from the targets", label=label),
                excluded,
                warnings,
            )
        )
    return out


def independence_tests(tables: dict[str, JointTable], settings: DiversitySettings) -> list[Pending]:
    """Chi-square tests of independence on the joint tables (class × each variable that declares one)."""
    out = []
    for name, row, col, claim in INDEPENDENCE:
        t = tables[f"{row}_{col}"]
        outcome = independence(
            np.asarray(t.counts, dtype=np.int64).reshape(len(t.rows), len(t.cols)),
            min_expected=settings.min_expected,
            draws=settings.monte_carlo_draws,
            seed=settings.seed,
        )
        out.append(Pending(name, f"{row} × {col}", [row, col], outcome, "V", claim, t.excluded))
    return out


def kruskal_tests(age: np.ndarray, groups: dict[str, np.ndarray]) -> list[Pending]:
    """Kruskal–Wallis tests of age across the categories of each variable that declares one."""
    out = []
    for name, var, claim in KRUSKAL:
        labels = groups[var]
        ok = ~np.isnan(age) & np.array([v is not None for v in labels.tolist()], dtype=bool)
        by: dict[str, list[float]] = {}
        for a, g in zip(age[ok].tolist(), labels[ok].tolist(), strict=True):
            by.setdefault(g, []).append(a)
        outcome = kruskal_wallis([np.asarray(v) for _, v in sorted(by.items())])
        out.append(
            Pending(
                name,
                msg("age by {variable}", variable=var),
                ["age", var],
                outcome,
                "eta2",
                claim,
                int(len(age) - ok.sum()),
            )
        )
    return out


def rule_text(rule: EffectRule, effect: str, df_star: int, alpha: float, size: float | None = None) -> str:
    """The rule in words, with the thresholds for this table's size, printed with as many
    significant digits (3 at least) as the effect ``size`` beside them needs to read on its own
    side of each (:func:`dqm.tolerance.sig_digits`)."""
    th = dict(zip(LABELS, effect_thresholds(effect, df_star), strict=True))
    digits = sig_digits(size, th.values())
    common = {"alpha": alpha, "effect": EFFECT_NAMES[effect]}
    fail = {"fail": f"{th[rule.fail_at]:.{digits}g}", "fail_size": rule.fail_at} if rule.fail_at else None
    warn = {"warn": f"{th[rule.warn_at]:.{digits}g}", "warn_size": rule.warn_at} if rule.warn_at else None
    if fail and warn:
        return msg(
            "fail when p_adj < {alpha:g} and {effect} ≥ {fail} ({fail_size}); "
            "warn when p_adj < {alpha:g} and {effect} ≥ {warn} ({warn_size})",
            **common, **fail, **warn,
        )  # fmt: skip
    if fail:
        return msg("fail when p_adj < {alpha:g} and {effect} ≥ {fail} ({fail_size})", **common, **fail)
    if warn:
        return msg("warn when p_adj < {alpha:g} and {effect} ≥ {warn} ({warn_size})", **common, **warn)
    return N_("reported only (never warns or fails)")


def decide(
    effect_size: float | None,
    p_adjusted: float | None,
    rule: EffectRule,
    effect: str,
    df_star: int,
    alpha: float,
) -> str:
    """pass / warn / fail by the rule; not_applicable without a p-value."""
    if p_adjusted is None or effect_size is None:
        return "not_applicable"
    if p_adjusted >= alpha:
        return "pass"
    th = dict(zip(LABELS, effect_thresholds(effect, df_star), strict=True))
    if rule.fail_at and effect_size >= th[rule.fail_at]:
        return "fail"
    if rule.warn_at and effect_size >= th[rule.warn_at]:
        return "warn"
    return "pass"


def sentence(
    claim: str, outcome: TestOutcome, effect: str, label: str, p_adj: float | None, alpha: float
) -> str:
    """The plain-language reading, e.g. "class mix differs between institutions: Cramér's V 0.21, moderate"."""
    if outcome.p_value is None or p_adj is None:
        return msg("not tested: {note}", note=outcome.note)
    name = EFFECT_NAMES[effect]
    size = f"{name} {fmt_among(outcome.effect or 0.0, effect_thresholds(effect, outcome.df_star))}"
    if p_adj >= alpha:
        return msg("no evidence that {claim} ({size}, p_adj {p})", claim=claim, size=size, p=fmt_p(p_adj))
    if label == "negligible":
        return msg("{claim}, but negligibly: {size} (p_adj {p})", claim=claim, size=size, p=fmt_p(p_adj))
    return msg("{claim}: {size}, {label} (p_adj {p})", claim=claim, size=size, label=label, p=fmt_p(p_adj))


def decide_family(pending: Sequence[Pending], settings: DiversitySettings) -> list[TestResult]:
    """Correct the family's p-values together, then decide each test by its rule."""
    alpha = settings.alpha
    tested = [i for i, t in enumerate(pending) if t.outcome.p_value is not None]
    adjusted = adjust([pending[i].outcome.p_value for i in tested], settings.correction)  # type: ignore[misc]
    p_adj: dict[int, float] = dict(zip(tested, adjusted, strict=True))
    out = []
    for i, t in enumerate(pending):
        o = t.outcome
        rule = settings.rule(t.name)
        pa = p_adj.get(i)
        label = effect_label(o.effect, t.effect, o.df_star) if pa is not None else ""
        out.append(
            TestResult(
                name=t.name,
                title=t.title,
                variables=t.variables,
                method=o.method,
                statistic=o.statistic,
                statistic_name="H" if t.effect == "eta2" else "χ²",
                df=o.df,
                p_value=o.p_value,
                p_adjusted=pa,
                effect_size=o.effect,
                effect_name=EFFECT_NAMES[t.effect],
                effect_label=label,
                n=o.n,
                excluded=t.excluded,
                decision=decide(o.effect, pa, rule, t.effect, o.df_star, alpha),  # type: ignore[arg-type]
                thresholds=dict(zip(LABELS, effect_thresholds(t.effect, o.df_star), strict=True)),
                rule=rule_text(rule, t.effect, o.df_star, alpha, o.effect),
                sentence=sentence(t.claim, o, t.effect, label, pa, alpha),
                in_family=pa is not None,
                gated=bool(rule.warn_at or rule.fail_at),
                warnings=[*t.extra_warnings, *o.warnings],
            )
        )
    return out


def balance_of(summary: CategoricalSummary, declared: int) -> Balance:
    """Balance and richness of a composition; ``declared`` is how many categories the profile
    declares (0: none, the observed categories are used).

    With declared categories the indices are over those, zeros included; slides whose value the
    profile does not declare (a class outside the taxonomy) are left out: they are syntactic
    errors, reported there, not a diversity of the batch.
    """
    counts = {k: v for k, v in summary.counts.items() if not declared or k not in summary.undeclared}
    ix = balance_indices(counts)
    return Balance(variable=summary.name, declared=declared, **asdict(ix))


def _pct(x: float, target: float | None = None, passed: bool | None = None, at_most: bool = False) -> str:
    """A share as the rules print it; against its ``target`` by :func:`dqm.tolerance.fmt_decimals`'
    rule: never reading on the other side of the target from its decision."""
    from dqm.tolerance import fmt_decimals

    return fmt_decimals(x, 1, target, passed, percent=True, at_most=at_most)


def _target_pct(t: float) -> str:
    """A rule's target share as written (0.0525: ``5.25 %``, not ``5.2 %``)."""
    from dqm.tolerance import fmt_target

    return fmt_target(t, 1, percent=True)


def _rule_result(
    name: str,
    title: str,
    variable: str,
    rule: str,
    decision: str,
    sentence: str,
    statistic: float | None = None,
    statistic_name: str = "",
    n: int = 0,
) -> TestResult:
    return TestResult(
        name=name,
        title=title,
        variables=[variable],
        method="rule",
        statistic=statistic,
        statistic_name=statistic_name,
        n=n,
        decision=decision,  # type: ignore[arg-type]
        rule=rule,
        sentence=sentence,
    )


def classes_shown(classes: Balance, slides: int) -> list[TestResult]:
    """The rule ``balance.classes_shown``, failed, when the profile declares classes and none of the
    batch's ``slides`` has one: the class distribution cannot be shown, and the class tests and
    rules, not applicable then, would have let the dimension pass on its other variables. Nothing
    when the profile declares no classes (nothing to show) or the batch has no slide (the dimension
    fails for want of any evidence, :func:`dqm.diversity.analyse._verdict`)."""
    if not classes.declared or classes.n or not slides:
        return []
    text = msg(
        "no slide has a class of the {n} the profile declares: the class distribution cannot be shown",
        n=classes.declared,
    )
    rule = N_("fail when the profile declares classes and no slide has one of them")
    args = ("balance.classes_shown", N_("class distribution shown"), "class", rule, "fail", text)
    return [_rule_result(*args, 0.0, N_("slides with a class"), slides)]


def balance_tests(classes: Balance, institutions: Balance, rules: BalanceRules) -> list[TestResult]:
    """The profile's balance rules as decided results (no p-value: a rule is a threshold).

    With no slide carrying the variable a rule is not applicable; an absent class has share 0
    (and makes the imbalance ratio infinite); a single institution has share 1.
    """
    out = []
    if rules.min_class_share is not None:
        t = rules.min_class_share
        args = ("balance.min_class_share", N_("smallest class share"), "class")
        rule = msg("fail when a class of the taxonomy has under {share} of the slides", share=_target_pct(t))
        if classes.min_share is None:
            out.append(_rule_result(*args, rule, "not_applicable", N_("not tested: no slide has a class")))
        else:
            ok = count_reaches(classes.min_share, t)  # a share of counts: exact, as every count gate
            cls, share, under = classes.min_category, _pct(classes.min_share, t, ok), _target_pct(t)
            if classes.min_share == 0:
                template = (
                    N_("smallest class {cls} is absent")
                    if ok
                    else N_("smallest class {cls} is absent, under {under}")
                )
            elif ok:
                template = N_("smallest class {cls} has {share} of the slides")
            else:
                template = N_("smallest class {cls} has {share} of the slides, under {under}")
            text = msg(template, cls=cls, share=share, under=under)
            decision = "pass" if ok else "fail"
            out.append(_rule_result(*args, rule, decision, text, classes.min_share, N_("share"), classes.n))
    if rules.max_institution_share is not None:
        t = rules.max_institution_share
        args = ("balance.max_institution_share", N_("largest institution share"), "institution")
        rule = msg("fail when one institution has over {share} of the slides", share=_target_pct(t))
        if institutions.max_share is None:
            out.append(
                _rule_result(*args, rule, "not_applicable", N_("not tested: no slide has an institution"))
            )
        else:
            ok = institutions.max_share <= t
            if institutions.observed == 1:
                template = (
                    N_("largest institution {name} (the only institution) has {share} of the slides")
                    if ok
                    else N_(
                        "largest institution {name} (the only institution) has {share} of the slides, over {over}"
                    )
                )
            elif ok:
                template = N_("largest institution {name} has {share} of the slides")
            else:
                template = N_("largest institution {name} has {share} of the slides, over {over}")
            text = msg(
                template,
                name=institutions.max_category,
                share=_pct(institutions.max_share, t, ok, at_most=True),
                over=_target_pct(t),
            )
            decision = "pass" if ok else "fail"
            out.append(
                _rule_result(*args, rule, decision, text, institutions.max_share, N_("share"), institutions.n)
            )
    if rules.max_imbalance_ratio is not None:
        t = rules.max_imbalance_ratio
        args = ("balance.imbalance_ratio", N_("class imbalance ratio"), "class")
        from dqm.tolerance import fmt_decimals, fmt_value_target

        # as written: a maximum of 2.1234567 is not "2.12346" beside a ratio of 2.1234570 that warns
        rule = msg(
            "warn when the largest class has over {t} times the slides of the smallest",
            t=fmt_value_target(t, False),
        )
        ratio = classes.imbalance_ratio
        if classes.n == 0:
            out.append(_rule_result(*args, rule, "not_applicable", N_("not tested: no slide has a class")))
        elif ratio is None:
            text = msg("class {cls} is absent: the imbalance ratio is infinite", cls=classes.min_category)
            out.append(_rule_result(*args, rule, "warn", text, None, N_("max / min"), classes.n))
        else:
            decision = "pass" if ratio <= t else "warn"
            shown = fmt_decimals(ratio, 2, t, decision == "pass", at_most=True)  # 2.004 over 2: not 2.00
            text = msg(
                "largest class {largest} has {ratio} times the slides of the smallest, {smallest}",
                largest=classes.max_category, ratio=shown, smallest=classes.min_category,
            )  # fmt: skip
            out.append(_rule_result(*args, rule, decision, text, ratio, N_("max / min"), classes.n))
    return out
