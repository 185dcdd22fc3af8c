"""From final verdicts to estimates and the lot decision.

* **Accuracy** (``accuracy``, ``ci_low``, ``ci_high``): slides judged PASS over slides reviewed,
  with a Wilson (default) or Clopper–Pearson interval on those counts.
* **Stratified estimate** (``weighted``): ``p̂_w = Σ_c (N_c / N) p̂_c`` over the sampling cells
  ``c`` (strata, or their flagged / other parts), ``p̂_c`` the PASS share among the cell's reviewed
  slides. Its variance is ``Σ_c (N_c / N)² (1 − r_c / N_c) s_c² / r_c`` with ``r_c`` slides reviewed
  and ``s_c² = r_c p̂_c (1 − p̂_c) / (r_c − 1)``. A cell with one reviewed slide out of several has
  no variance estimate of its own: such cells are **collapsed** (Cochran, *Sampling Techniques*,
  §5A.12; Wolter, *Introduction to Variance Estimation*, §2.5), taken in the plan's order (the
  strata sorted by label, so neighbours share their first fields) in pairs, the last three together
  when they are odd, and each group ``g`` of ``L`` cells adds
  ``L / (L − 1) · Σ_{c∈g} (t_c − t̄_g)²``, ``t_c = (N_c / N) p̂_c`` (the cell's estimated share of
  PASS slides), with no finite-population correction. Its expectation is the cells' own variances
  plus the spread of their ``t_c`` means, never less than the true variance (conservative *in
  expectation*); one review's estimate is often far less: at high accuracy nearly every pair of
  singles agrees and most cells of two or three reviewed slides are all PASS, so the estimate is
  near 0 while those cells hold failures nobody drew. A lone such cell, with none to collapse
  it with, is collapsed with the rest of the lot: ``s² = (p̂_c − p̂_o)²``, ``p̂_o`` the other
  cells' stratified estimate (:func:`lone_variance`; ``1/4`` where no other cell has a verdict, or
  while the cell's other drawn slides are still unreviewed: a large cell lone only because its review
  is unfinished would otherwise pass for known, at 0.38 coverage when it holds half the lot).
  The interval is the normal one, ``p̂_w ± z·SE`` clipped to [0, 1], widened where needed to hold
  the Wilson interval at the reviewed count (finite-population corrected); when every cell is all
  PASS or all FAIL that is Wilson's interval alone (no cell has a variance of its own; collapsed
  groups still differ by their sizes). 34,376 slides by age and
  institution, about two core slides a merged stratum, 20 plan seeds × 20 truths
  (``benchmarks/bench_strata.py --simulate 20``): at accuracies 0.991, 0.983, 0.965 and 0.931 the
  normal interval alone covered 0.907, 0.880, 0.892 and 0.930 of 400 trials, missing almost always
  above the truth; with the Wilson bound 1.000, 0.960, 0.955 and 0.940, at 1.08 to 1.17 times a
  simple random sample's Wilson width (docs/semantic.md §6). When the lot is wholly reviewed the
  estimate is exact and the interval a point. During a partial review, cells with no reviewed
  slide are left out and ``lot_covered`` says how much of the lot the estimate speaks for.
* **Decision**
  - ISO 2859-1: ``d`` = number of FAIL among the slides of the equal-probability core (the plan's
    ``n``, a simple random sample of the lot; the supplementary slides drawn for stratum floors
    and oversampling are not counted). ``d ≥ Re`` rejects, even before the core is fully reviewed
    (later verdicts cannot undo it); once every core slide has a verdict, ``d ≤ Ac`` accepts.
  - A plan written before dqm drew a core is decided as it was then: with equal probabilities
    (no oversampling, no floor raising the sample) by the FAIL count over every sampled slide;
    otherwise the complete review compares ``d_w = n · (1 − p̂_w)`` with Ac (a rule of dqm's own,
    not of the standard; the result's note says so).
  - Precision plan: once every sampled slide has a verdict, accept when ``p̂_w ≥ target``
    (default 0.95), else reject.
  - Otherwise the decision is ``incomplete``.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping

from dqm.i18n import N_, NP_, msg
from dqm.semantic.intervals import effective_n, interval, wilson_bounds, z_value
from dqm.semantic.models import CoreReview, ReviewPlan, StratumResult, WeightedEstimate
from dqm.tolerance import reaches


def weighted_estimate(
    cells: Mapping[str, tuple[int, int, int]],
    lot_size: int,
    confidence: float = 0.95,
    unfinished: Collection[str] = frozenset(),
) -> WeightedEstimate:
    """Stratified estimate over cells.

    Parameters
    ----------
    cells
        Cell label → ``(N_c, reviewed r_c, passes)``.
    lot_size
        ``N`` of the lot (the sum of ``N_c`` over all cells of the plan).
    confidence
        Level of the normal interval.
    unfinished
        Labels of cells some of whose drawn slides have no verdict yet (:func:`unfinished_cells`).

    Returns
    -------
    WeightedEstimate
        None values when no cell has a reviewed slide. Cells with ``r_c = 0`` are left out and the
        shares renormalised over the cells covered (``lot_covered`` < ``N``: a provisional estimate).
    """
    covered = {k: v for k, v in cells.items() if v[1] > 0}
    n_cov = sum(v[0] for v in covered.values())
    if not covered or n_cov == 0:
        return WeightedEstimate(accuracy=None, variance=None, standard_error=None, lot_covered=0,
                                note=N_("no reviewed slide yet"))  # fmt: skip
    p_w = 0.0
    var = 0.0
    single = [k for k, (n_c, r_c, _) in covered.items() if r_c == 1 and n_c > 1]
    collapsed = collapsed_groups(single)
    for label, (n_c, r_c, passes) in covered.items():
        share = n_c / n_cov
        p_c = passes / r_c
        p_w += share * p_c
        fpc = 1.0 - r_c / n_c if n_c else 0.0
        if r_c >= 2:
            s2 = r_c * p_c * (1.0 - p_c) / (r_c - 1)
        elif fpc > 0 and not collapsed:
            s2 = 0.25 if label in unfinished else lone_variance(p_c, covered, label)
        else:
            s2 = 0.0  # the whole cell reviewed, or collapsed below
        var += share * share * fpc * s2 / r_c
    for group in collapsed:
        # Cochran §5A.12: the estimated totals of the group's strata, each one slide, differ by the
        # strata's own variances and by the differences of their means (conservative in expectation)
        totals = [covered[k][0] / n_cov * covered[k][2] for k in group]
        mean = sum(totals) / len(totals)
        var += len(totals) / (len(totals) - 1) * sum((t - mean) ** 2 for t in totals)
    p_w = min(1.0, max(0.0, p_w))  # the shares sum to 1 up to rounding
    se = math.sqrt(var)
    half = z_value(confidence) * se
    low, high, method = max(0.0, p_w - half), min(1.0, p_w + half), NP_("interval method", "normal")
    notes = []
    reviewed = sum(v[1] for v in covered.values())
    if reviewed < n_cov:
        # The interval holds at least the Wilson interval at the reviewed count (finite-population
        # corrected): at high accuracy the cells' variance estimates, on a few slides each, are
        # mostly 0 although their cells hold failures nobody drew (the module docstring gives the
        # coverage this restores). When every cell is all PASS or all FAIL no cell has a
        # variance of its own, and Wilson's is the interval (Korn & Graubard's for an estimate of
        # 0 or 1), unless collapsed cells that differ widen it further.
        w_low, w_high = wilson_bounds(p_w, effective_n(reviewed, n_cov), confidence)
        if w_low < low or w_high > high:
            low, high = min(low, w_low), max(high, w_high)
            if (low, high) == (w_low, w_high) and all(p in (0, r) for _, r, p in covered.values()):
                method = N_("Wilson at the reviewed count (every cell all PASS or all FAIL)")
                notes.append(N_("every cell is all PASS or all FAIL: Wilson interval at the reviewed count"))
            else:
                method = N_("normal, widened to the Wilson interval at the reviewed count")
    if n_cov < lot_size:
        notes.append(
            msg(
                "provisional: cells holding {missing} of {lot} slides have no verdict yet",
                missing=lot_size - n_cov,
                lot=lot_size,
            )
        )
    if collapsed:  # two cells at least, in one group or more: the catalogue has each form
        groups = (
            N_(
                "{n} cells with a single reviewed slide out of several: variance from their differences "
                "in 1 collapsed group of neighbouring cells"
            )
            if len(collapsed) == 1
            else N_(
                "{n} cells with a single reviewed slide out of several: variance from their differences "
                "in {groups} collapsed groups of neighbouring cells"
            )
        )
        notes.append(msg(groups, n=len(single), groups=len(collapsed)))
    elif single and len(covered) > 1 and single[0] in unfinished:
        notes.append(
            N_(
                "1 cell with a single reviewed slide out of several, its other drawn slides not yet "
                "reviewed: variance bound s² = 1/4 used"
            )
        )
    elif single and len(covered) > 1:
        notes.append(
            N_(
                "1 cell with a single reviewed slide out of several, none to collapse it with: "
                "variance from its slide's difference with the other cells' estimate"
            )
        )
    elif single:
        notes.append(
            N_(
                "1 cell with a single reviewed slide out of several and no other cell: variance bound s² = 1/4 used"
            )
        )
    return WeightedEstimate(
        accuracy=p_w,
        variance=var,
        standard_error=se,
        ci_low=low,
        ci_high=high,
        ci_method=method,
        lot_covered=n_cov,
        note="; ".join(notes),
    )


def lone_variance(p_c: float, covered: Mapping[str, tuple[int, int, int]], lone: str) -> float:
    """``s²`` of the lone cell of one reviewed slide (``p_c`` its verdict, 1 PASS, 0 FAIL): the
    squared difference of its slide from the other cells' stratified estimate ``p̂_o``, the cell
    collapsed with the rest of the lot as if with one more cell (the *lonely PSU* rule that centres
    a stratum at the population estimate: Lumley's R survey package,
    ``options(survey.lonely.psu = "adjust")``). Its expectation is the cell's own variance plus
    ``V(p̂_o)`` and the squared difference of the means, never below the cell's variance (as a
    collapsed pair's); the bound ``1/4`` is kept where no other cell has a verdict."""
    others = [(n, r, p) for k, (n, r, p) in covered.items() if k != lone]
    rest = sum(n for n, _, _ in others)
    if not rest:
        return 0.25  # the largest variance a slide can have
    p_o = sum(n / rest * p / r for n, r, p in others)
    return (p_c - p_o) ** 2


def collapsed_groups(labels: list[str]) -> list[list[str]]:
    """The cells of one reviewed slide, in the plan's order, collapsed into pairs of neighbours (the
    last three together when they are odd); none when there is one (see the module docstring)."""
    if len(labels) < 2:
        return []
    groups = [labels[j : j + 2] for j in range(0, len(labels) - 1, 2)]
    if len(labels) % 2:
        groups[-1].append(labels[-1])
    return groups


def equal_probability(plan: ReviewPlan) -> bool:
    """For a plan drawn without a core: True when every slide had the same chance of being drawn
    as far as the plan can tell (no oversampling, no floor raising the sample above ``n``)."""
    return not plan.oversampling.enabled and plan.sample_size == plan.plan_sample_size


def core_review(
    plan: ReviewPlan, final: Mapping[str, str], ci_method: str, confidence: float
) -> CoreReview | None:
    """The verdicts on the equal-probability core; None for a plan drawn without a core."""
    if not plan.has_core:
        return None
    core = [s.slide_id for s in plan.sample if s.core]
    judged = [final[s] for s in core if s in final]
    n_pass = sum(v == "pass" for v in judged)
    ci = interval(n_pass, len(judged), ci_method, confidence)
    return CoreReview(
        size=len(core),
        inclusion_probability=len(core) / plan.lot_size,
        reviewed=len(judged),
        n_pass=n_pass,
        n_fail=len(judged) - n_pass,
        remaining=len(core) - len(judged),
        accuracy=n_pass / len(judged) if judged else None,
        ci_low=ci[0] if ci else None,
        ci_high=ci[1] if ci else None,
    )


def decide(
    plan: ReviewPlan,
    n_fail: int,
    remaining: int,
    weighted_accuracy: float | None,
    target: float,
    core: CoreReview | None = None,
) -> tuple[str, str, float | None]:
    """The lot decision: ``(decision, basis, failures counted)`` (see the module docstring).

    ``n_fail`` and ``remaining`` count every sampled slide; an ISO plan with a ``core`` counts
    the core's instead.
    """
    if plan.plan == "precision":
        if remaining == 0 and weighted_accuracy is not None:
            return ("accept" if reaches(weighted_accuracy, target) else "reject"), "target", None
        return "incomplete", "target", None
    ac, re_ = plan.acceptance_number, plan.rejection_number
    assert ac is not None and re_ is not None
    if core is not None:
        n_fail, remaining = core.n_fail, core.remaining
    elif not equal_probability(plan):
        if remaining == 0 and weighted_accuracy is not None:
            d_w = plan.plan_sample_size * (1.0 - weighted_accuracy)
            return ("accept" if d_w <= ac + 1e-9 else "reject"), "weighted", d_w
        return "incomplete", "weighted", None
    if n_fail >= re_:
        return "reject", "count", float(n_fail)
    if remaining == 0:
        return "accept", "count", float(n_fail)
    return "incomplete", "count", float(n_fail)


def stratum_results(
    plan: ReviewPlan, final: Mapping[str, str], ci_method: str, confidence: float
) -> list[StratumResult]:
    """Per stratum: lot, sampled (of which core), reviewed, PASS count, accuracy with its interval,
    weighted accuracy. Core and supplementary slides count alike here."""
    core: dict[str, int] = {}
    for slide in plan.sample:
        core[slide.stratum] = core.get(slide.stratum, 0) + bool(slide.core)
    counts = cell_counts(plan, final)  # one pass over the verdicts, not one a stratum
    out = []
    for st in plan.strata:
        # a cell nothing was drawn from has no verdict: (N_c, 0, 0)
        cells = {c.label: counts.get(c.label, (c.lot, 0, 0)) for c in st.cells}
        reviewed = sum(v[1] for v in cells.values())
        n_pass = sum(v[2] for v in cells.values())
        ci = interval(n_pass, reviewed, ci_method, confidence)
        w = weighted_estimate(cells, st.lot, confidence)
        out.append(
            StratumResult(
                label=st.label,
                lot=st.lot,
                sampled=st.sampled,
                reviewed=reviewed,
                n_pass=n_pass,
                accuracy=n_pass / reviewed if reviewed else None,
                ci_low=ci[0] if ci else None,
                ci_high=ci[1] if ci else None,
                weighted_accuracy=w.accuracy,
                core_sampled=core.get(st.label, 0) if plan.has_core else None,
            )
        )
    return out


def unfinished_cells(plan: ReviewPlan, reviewed: Mapping[str, tuple[int, int, int]]) -> frozenset[str]:
    """Labels of the cells some of whose drawn slides have no final verdict yet (``reviewed``:
    :func:`cell_counts` of the verdicts)."""
    return frozenset(
        c.label for st in plan.strata for c in st.cells if c.sampled > reviewed.get(c.label, (0, 0, 0))[1]
    )


def unsampled_slides(plan: ReviewPlan) -> int:
    """Slides in cells nothing was drawn from (possible only with ``--min-per-stratum 0``)."""
    return sum(c.lot for st in plan.strata for c in st.cells if c.sampled == 0)


def cell_counts(plan: ReviewPlan, final: Mapping[str, str]) -> dict[str, tuple[int, int, int]]:
    """Cell label → ``(N_c, reviewed, passes)`` for the cells the sample was drawn from."""
    cells = {c.label: [c.lot, 0, 0] for st in plan.strata for c in st.cells if c.sampled > 0}
    by_slide = {s.slide_id: s for s in plan.sample}
    for slide_id, verdict in final.items():
        s = by_slide.get(slide_id)
        if s is not None:
            cells[s.cell][1] += 1
            cells[s.cell][2] += verdict == "pass"
    return {k: (v[0], v[1], v[2]) for k, v in cells.items()}
