"""The statistical-diversity dimension of one batch: :func:`diversity_result`."""

from __future__ import annotations

from collections.abc import Sequence

from dqm.decided import DecidedFigure
from dqm.diversity.batch_effects import as_test, batch_effects
from dqm.diversity.drift import SEVERITY, Summaries, drift
from dqm.diversity.family import (
    balance_of,
    balance_tests,
    classes_shown,
    decide_family,
    fit_tests,
    independence_tests,
    kruskal_tests,
)
from dqm.diversity.minimums import minimum_figures
from dqm.diversity.models import BaselineInfo, DiversityResult, TestResult, verdict_gates
from dqm.diversity.summaries import categorical_summary, continuous_summary, joint_table
from dqm.diversity.table import Table, build_table
from dqm.diversity.variables import BALANCED, INDEPENDENCE, KRUSKAL, NOTE_MISSING, NOTE_UNDECLARED
from dqm.facts import ItemSummary
from dqm.i18n import N_, msg
from dqm.profile import Profile


def summarise(table: Table) -> Summaries:
    """The summaries of every variable of a table."""
    cat = {v.name: categorical_summary(v, table.columns[v.name]) for v in table.categorical()}
    cont = {
        v.name: continuous_summary(v, table.columns[v.name], table.invalid.get(v.name, 0))
        for v in table.continuous()
    }
    return Summaries(cat, cont, ())


def summaries_of(items: Sequence[ItemSummary], profile: Profile) -> Summaries:
    """The summaries a baseline needs, from a release's items."""
    s = summarise(build_table(items, profile))
    return Summaries(s.categorical, s.continuous, tuple(profile.diversity.age_bands))


def _notes(table: Table, s: Summaries, profile: Profile) -> list[str]:
    notes: list[str] = []
    n = table.n_items
    for name in NOTE_MISSING:
        summary = s.categorical.get(name) or s.continuous.get(name)
        if summary is None or not summary.missing:
            continue
        invalid = getattr(summary, "invalid", 0)
        template = (
            N_(
                "{label}: missing for {missing} of {n} slides ({invalid} not a number or out of range); left out of its tests"
            )
            if invalid
            else N_("{label}: missing for {missing} of {n} slides; left out of its tests")
        )
        notes.append(msg(template, label=summary.label, missing=summary.missing, n=n, invalid=invalid))
    for name in NOTE_UNDECLARED:
        c = s.categorical[name]
        if c.undeclared:
            shown = ", ".join(f"{k} ({c.counts[k]})" for k in c.undeclared[:8])
            more = f" and {len(c.undeclared) - 8} more" if len(c.undeclared) > 8 else ""
            notes.append(
                msg(
                    "{label}: values the profile does not declare: {values}",
                    label=c.label,
                    values=shown + more,
                )
            )
    if not profile.diversity.targets:
        notes.append(N_("no targets declared in the profile: goodness of fit not tested"))
    return notes


def _verdict(
    tests: Sequence[TestResult], drift_verdict: str | None, minimums: Sequence[DecidedFigure] = ()
) -> tuple[str, str]:
    """The worst decision, and a one-line summary naming every test that warned or failed.

    When no test or rule could be decided (no slide, or no value anywhere) the verdict is
    ``fail``: nothing contradicts the targets, but nothing was shown either, and a certificate
    needs the evidence (a dimension that cannot fail would certify an empty clinical table).
    """
    decided = [t for t in tests if t.decision != "not_applicable"]
    short = [f for f in minimums if f.passed is False]
    if not decided and drift_verdict is None and not short:
        return "fail", N_(
            "FAIL: no test or rule could be decided (no slide with the values they need): "
            "the batch shows no evidence of its diversity"
        )
    worst = max(
        [t.decision for t in decided] + ([drift_verdict] if drift_verdict else []),
        key=lambda d: SEVERITY[d],
        default="pass",
    )
    if short:
        worst = "fail"
    bad = [t for t in decided if t.decision in ("warn", "fail")]
    parts = [f"{t.decision.upper()} {t.name}" for t in sorted(bad, key=lambda t: -SEVERITY[t.decision])]
    if drift_verdict in ("warn", "fail"):
        parts.append(f"{drift_verdict.upper()} drift")
    if short:
        parts.append(msg("FAIL {n} of {total} minimum counts and shares", n=len(short), total=len(minimums)))
    head = {"pass": "PASS", "warn": "WARN", "fail": "FAIL"}[worst]
    if not parts:
        return worst, msg("{head}: all {n} decided tests and rules passed", head=head, n=len(decided))
    return worst, f"{head}: {'; '.join(parts)}"


def diversity_result(
    items: Sequence[ItemSummary],
    profile: Profile,
    baseline: tuple[Summaries, BaselineInfo] | None = None,
) -> DiversityResult:
    """Statistical diversity of a batch from its items.

    Parameters
    ----------
    items
        The result's items (``QualityResult.items``); an empty list gives a result whose tests
        are all ``not_applicable`` and whose balance rules cannot be applied.
    profile
        Its ``diversity`` section gives α, the correction, targets, rules and drift thresholds.
    baseline
        A previous release's summaries and where they came from
        (:func:`dqm.baseline.load_baseline`); None skips drift.

    Returns
    -------
    DiversityResult
        ``verdict`` is the worst decision among the tests, the balance rules and drift
        (``not_applicable`` never counts); ``passed`` is True for pass and warn.
    """
    settings = profile.diversity
    table = build_table(items, profile)
    s = summarise(table)
    s = Summaries(s.categorical, s.continuous, tuple(settings.age_bands))
    variables = table.variables
    joint = {
        f"{row}_{col}": joint_table(variables[row], variables[col], table.columns[row], table.columns[col])
        for _, row, col, _ in INDEPENDENCE
    }
    pending = [
        *fit_tests(s.categorical, settings),
        *independence_tests(joint, settings),
        *kruskal_tests(table.columns["age"], {var: table.columns[var] for _, var, _ in KRUSKAL}),
    ]
    tests = decide_family(pending, settings)
    declared = {name: len(v.declared or ()) for name, v in variables.items()}
    balances = {k: balance_of(s.categorical[k], declared[k]) for k in BALANCED}
    tests += balance_tests(balances["class"], balances["institution"], settings.balance)
    tests += classes_shown(balances["class"], len(items))
    effects = None
    if settings.batch_effects is not None:
        effects = batch_effects(table, settings)
        tests += [
            as_test(p, settings.batch_effects, settings.alpha) for p in (effects.pixel, effects.acquisition)
        ]
    drift_result = drift(s, baseline[0], baseline[1], settings) if baseline is not None else None
    minimums = minimum_figures(table, s.categorical, settings.minimums, [i.patient for i in items])
    verdict, summary = _verdict(tests, drift_result.verdict if drift_result else None, minimums)
    passed = verdict != "fail"
    family = sum(t.in_family for t in tests)
    correction = {"holm": "Holm", "bonferroni": "Bonferroni", "fdr_bh": "Benjamini–Hochberg", "none": "no"}[
        settings.correction
    ]
    method = msg(
        "{family} hypothesis tests form one family, corrected with the {correction} method at "
        "α = {alpha:g}; a test fails or warns only when significant after correction and its "
        "effect size reaches the rule's size. Chi-square tests are Pearson's without continuity "
        "correction; where an expected count is under {min_expected:g}, a 2×2 table uses "
        "Fisher's exact test and larger tables a Monte Carlo p-value ({draws:,} "
        "random tables with the observed margins, seed {seed}); a goodness-of-fit test uses the "
        "exact multinomial distribution when it is small enough, else Monte Carlo. Drift tests (with a "
        "baseline) are a separate family with the same correction at α = {drift_alpha:g}.",
        family=family, correction=correction, alpha=settings.alpha, min_expected=settings.min_expected,
        draws=settings.monte_carlo_draws, seed=settings.seed, drift_alpha=settings.drift.alpha,
    )  # fmt: skip
    return DiversityResult(
        passed=passed,
        verdict=verdict,  # type: ignore[arg-type]
        summary=summary,
        gates=[*verdict_gates(passed), *minimums],
        n_items=len(items),
        alpha=settings.alpha,
        correction=settings.correction,
        family_size=family,
        categorical=list(s.categorical.values()),
        continuous=list(s.continuous.values()),
        joint=list(joint.values()),
        balance=list(balances.values()),
        tests=tests,
        drift=drift_result,
        batch_effects=effects,
        age_bands=list(settings.age_bands),
        notes=_notes(table, s, profile),
        method=method,
    )


def summaries_of_result(result: DiversityResult) -> Summaries:
    """The summaries stored in a diversity result (what a baseline needs)."""
    return Summaries(
        {c.name: c for c in result.categorical},
        {c.name: c for c in result.continuous},
        tuple(result.age_bands),
    )
