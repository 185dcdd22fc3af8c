"""The release gate: which required dimensions hold, and the exit code CI sees.

Exit codes: 0 every required dimension passed; 1 a required dimension failed; 3 a required
dimension was not evaluated or is still pending, or a stage of the audit crashed (and none
failed): a crash is *not evaluated*, never *failed*; 2 is left to usage errors
(bad arguments, unreadable or malformed files). A dimension named in ``warn_only`` is reported
but never changes the exit code, whether it failed or is missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from dqm.figures import (
    Gate,
    contradictions,
    dimension_gates,
    dimension_state,
    edited_order,
    fmt_value,
    forms_apart,
    ordered_figure,
    unfinished,
)
from dqm.findings import not_evaluated
from dqm.i18n import N_, gettext, pgettext, render
from dqm.results import DIMENSIONS, QualityResult
from dqm.tolerance import count_reaches

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_MISSING = 0, 1, 2, 3
NOTHING_GATED = N_("the result holds no evaluated dimension: there is nothing to pass")
CONTRADICTED = N_(
    "the result says it passed, but its gated figures say otherwise (edited after dqm wrote it, its digest "
    "computed again): failed"
)


ROWLESS = N_(
    "syntactic.ordered: an ITEM_NOT_ORDERED finding names the manifest without a row while its id has "
    "several items without a slide file (a result written before dqm kept that row): which copy was "
    "kept out cannot be told, so the figures without the items not ordered are as measured, not moved "
    "by the waivers"
)
FORMS_APART = N_(
    "syntactic.ordered: an id is held in two Unicode forms (NFC and NFD), and the figures over the "
    "items ordered count them as two ids, as dqm did before it joined them: the file names no "
    "ITEM_DELIVERED_AGAIN, which dqm writes since, so they are gated as written; a file edited so "
    "reads alike (only a signature tells who wrote it), and an audit now may give lower ones"
)


@dataclass(frozen=True, slots=True)
class GateOutcome:
    exit_code: int
    lines: list[str]
    required: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    warned: list[str] = field(default_factory=list)
    crashed_stages: list[str] = field(default_factory=list)
    """Stages that crashed and are no dimension of their own (thumbnails, rendering, ...)."""


def parse_dimensions(text: str | None, option: str) -> list[str] | None:
    """A comma-separated list of dimension names; None for None.

    Raises
    ------
    ValueError
        An unknown name, or an option given with no name at all.
    """
    if text is None:
        return None
    names = list(dict.fromkeys(d.strip().lower() for d in text.split(",") if d.strip()))
    if not names:
        raise ValueError(f"{option} needs at least one dimension (choose from {', '.join(DIMENSIONS)})")
    unknown = [d for d in names if d not in DIMENSIONS]
    if unknown:
        raise ValueError(
            f"{option}: unknown dimension(s) {', '.join(unknown)} (choose from {', '.join(DIMENSIONS)})"
        )
    return names


def gate(
    result: QualityResult,
    require: Iterable[str] | None = None,
    warn_only: Iterable[str] = (),
    lots: bool = False,
    lang: str = "en",
    every: bool = False,
) -> GateOutcome:
    """Decide the gate. ``require`` defaults to the dimensions the result holds (finished or not),
    those its verdict lists as failed or pending, and ``syntactic``, which every audit runs: a
    member deleted from the file (its digest sealed again) is missing, not left out; with
    ``every`` (the release gate, ``dqm gate``) to every dimension, the verdict's own rule, so that
    an INCOMPLETE result (the review not ingested, say) is missing, exit 3, never a pass: a
    dimension to let through goes in ``warn_only``. A result holding no dimension never passes,
    whatever is ``warn_only``.
    With ``lots``, every lot of the result (``--lot-by``) must pass as well: a failed lot fails the
    gate, a result without lots is missing them. ``lang``: the language of the lines' explanations
    (the ``PASS``/``FAIL`` markers and the dimension names stay as they are, for logs that are
    searched).

    Raises
    ------
    ValueError
        A dimension name that dqm does not know.
    """
    warn = list(dict.fromkeys(warn_only))
    items, stages = not_evaluated(result.findings)
    held = [d for d in DIMENSIONS if dimension_state(result, d) != "missing"]
    # by default, the dimensions the result holds, those its verdict says were run (failed or
    # pending: a member taken out of the file stays required), syntactic (every audit runs it)
    # and those whose stage crashed (holding none)
    ran = {"syntactic", *stages, *result.verdict.failed, *result.verdict.pending}
    if require is not None:
        required = list(dict.fromkeys(require))
    else:
        required = [d for d in DIMENSIONS if every or d in held or d in ran]
    unknown = [d for d in (*required, *warn) if d not in DIMENSIONS]
    if unknown:
        raise ValueError(f"unknown dimension(s): {', '.join(unknown)} (choose from {', '.join(DIMENSIONS)})")
    lines: list[str] = []
    failed: list[str] = []
    missing: list[str] = []
    warned: list[str] = []
    for dim in [*required, *(d for d in warn if d not in required)]:
        state = dimension_state(result, dim)
        soft = dim in warn
        if state == "passed":
            lines.append(f"PASS     {dim}")
        elif state == "failed":
            (warned if soft else failed).append(dim)
            odd = bool(contradictions(result, dim))
            why = gettext(CONTRADICTED if odd else N_("failed"), lang)
            plain = f"FAIL     {dim}: {why}" if odd else f"FAIL     {dim}"
            lines.append(f"WARN     {dim}: {_warn_only(why, lang)}" if soft else plain)
            if odd and dim == "syntactic":
                lines.extend(f"           {line}" for line in _order_edits(result, lang))
        else:
            if state == "pending":
                why = gettext(N_("pending (not finished)"), lang)
            elif dim in stages:
                why = gettext(N_("the stage crashed (not evaluated)"), lang)
            else:
                why = gettext(N_("not evaluated"), lang)
            reason = unfinished(getattr(result, dim)) if state == "pending" else None
            if reason and reason != "not finished":  # items a check crashed on
                why = f"{why}: {reason}"
            (warned if soft else missing).append(dim)
            lines.append(f"WARN     {dim}: {_warn_only(why, lang)}" if soft else f"MISSING  {dim}: {why}")
        for g in dimension_gates(result, dim):
            if g.value is not None or g.target is not None:
                lines.append(f"           {g.describe(lang)}")
                if dim == "syntactic":
                    lines.extend(f"             {why}" for why in _ordered_fail(result, g, lang))
        if dim == "syntactic" and _rowless(result):
            lines.append(f"NOTE     {gettext(ROWLESS, lang)}")
        if dim == "syntactic" and forms_apart(result):
            lines.append(f"NOTE     {gettext(FORMS_APART, lang)}")
    if not held:  # a result holding no dimension (dqm writes none): nothing passed, warn-only or not
        missing.extend(d for d in DIMENSIONS if d not in missing)
        lines.append(f"MISSING  {gettext(NOTHING_GATED, lang)}")
    if lots:
        if result.lots is None:
            missing.append("lots")
            lines.append("MISSING  lots: the audit was not run with --lot-by")
        else:
            bad = [lot.name for lot in result.lots.lots if not lot.passed]
            if bad:
                failed.append("lots")
            lines.append(
                f"FAIL     lots: {len(bad)} of {len(result.lots.lots)} failed" if bad else "PASS     lots"
            )
    if items:
        lines.append(f"NOT EVALUATED: {len(items)} item(s) a check crashed on: {', '.join(items[:10])}")
    crashed = [s for s in stages if s not in DIMENSIONS]  # a crashed dimension is judged above
    lines.extend(f"MISSING  the {stage} stage crashed (not evaluated)" for stage in crashed)
    code = EXIT_FAILED if failed else EXIT_MISSING if missing or crashed else EXIT_OK
    return GateOutcome(code, lines, required, failed, missing, warned, crashed)


def _ordered_fail(result: QualityResult, g: Gate, lang: str) -> list[str]:
    """Why a value gate failed though its value-weighted figure reaches its target (or is said to
    pass, edited, though it misses): a figure it is judged on too misses it, over the items ordered
    or without the items not ordered (``syntactic.ordered``); one line each (none otherwise)."""
    ordered = getattr(result.syntactic, "ordered", None)
    if ordered_figure(result.syntactic, g.name) is None or g.target is None or g.passed is None:
        return []
    key = g.name.removesuffix("_accuracy")
    figures = (
        (
            getattr(ordered, g.name),
            N_(
                "fails on the figure over the items ordered, {value} (each ordered item's share of "
                "accurate values, an item not delivered 0: syntactic.ordered)"
            ),
        ),
        (
            getattr(getattr(ordered, f"{key}_without_unordered"), "value", None),
            N_(
                "fails on the value-weighted figure without the items not ordered, {value} (padding "
                "the batch with items not ordered never raises it: syntactic.ordered)"
            ),
        ),
    )
    return [
        render(template, {"value": fmt_value(value, True, g.target, False)}, lang)
        for value, template in figures
        if value is not None and not count_reaches(value, g.target)
    ]


def _rowless(result: QualityResult) -> bool:
    """Whether the result's figures without the items not ordered cannot be moved by waivers
    (:func:`dqm.syntactic.accuracy.rowless_unordered`)."""
    from dqm.syntactic.accuracy import rowless_unordered

    ordered = getattr(result.syntactic, "ordered", None)
    if ordered is None or ordered.structure_without_unordered is None:
        return False
    items = result.items
    return rowless_unordered(
        result.findings, [i.slide_id for i in items], [i.image_path for i in items], result.batch.manifest
    )


def _order_edits(result: QualityResult, lang: str) -> list[str]:
    """Why an edited result's syntactic accuracy is a contradiction when its figures over the items
    ordered disagree with its findings (:func:`dqm.figures.edited_order`): one line a member."""
    return [
        render(
            N_("syntactic.ordered disagrees with the rest of the result (edited): {member}"),
            {"member": member.rendered(lang)},
            lang,
        )
        for member in edited_order(result)
    ]


MAX_NEW_LINES = 20


def new_only(
    result: QualityResult, baseline: QualityResult, lang: str = "en"
) -> tuple[QualityResult, list[str]]:
    """``result`` to gate with ``dqm gate --new-only``: syntactic accuracy passes when no finding
    that the ``baseline`` lacks (:data:`dqm.delivery.MATCHING_RULE`) lowers it, waived findings
    aside; its ratios are shown, not gated. The other dimensions are gated as usual. Also the
    lines that say which findings are new (in ``lang``)."""
    from dqm.audit import with_verdict
    from dqm.redelivery import compare_findings
    from dqm.syntactic.accuracy import counts_against

    still, fresh, fixed = compare_findings(baseline.findings, result.findings)
    waived = set(result.waivers.waived) if result.waivers is not None else set()
    failing = [result.findings[i] for i in fresh if i not in waived and counts_against(result.findings[i])]
    head = N_(
        "new-only: {fresh} findings not in the baseline ({failing} lower syntactic accuracy), "
        "{still} still there, {fixed} fixed"
    )
    counts = {"fresh": len(fresh), "failing": len(failing), "still": len(still), "fixed": len(fixed)}
    lines = [render(head, counts, lang)]
    lines += [  # NEW stays: a marker logs are searched for
        f"  NEW    {f.item_id} {f.location.describe(lang)} {f.code}: {f.text(lang)}"
        for f in failing[:MAX_NEW_LINES]
    ]
    if len(failing) > MAX_NEW_LINES:
        lines.append("  " + render(N_("… {n} more"), {"n": len(failing) - MAX_NEW_LINES}, lang))
    if result.syntactic is None:
        return result, lines
    syntactic = result.syntactic.model_copy(update={"passed": not failing, "gates": []})
    return with_verdict(result.model_copy(update={"syntactic": syntactic})), lines


def lot_lines(result: QualityResult, lang: str = "en") -> list[str]:
    """One line per lot of a result split with ``--lot-by`` (none otherwise): its gate, syntactic
    figures, ISO 2859-1 plan at its supplier's severity, and decision, in ``lang`` (the PASS/FAIL
    marker stays, for logs that are searched)."""
    if result.lots is None:
        return []
    lines = [render(N_("lots by {field}:"), {"field": result.lots.field}, lang)]
    for lot in result.lots.lots:
        f = lot.files
        figures = render(
            N_("file accuracy {value} ({numerator}/{denominator})"),
            {
                "value": _pct(f.value, f.target, f.passed),
                "numerator": f.numerator,
                "denominator": f.denominator,
            },
            lang,
        )
        if lot.plan is None:
            plan = gettext(N_("inspection discontinued"), lang)
        else:
            p = lot.plan
            plan = render(
                N_("ISO 2859-1 {severity} {letter} n={n} Ac={ac} Re={re}"),
                {
                    # a word of two meanings in Korean: looked up in its context, as the report does
                    "severity": pgettext("inspection severity", p.severity, lang),
                    "letter": p.code_letter,
                    "n": p.sample_size,
                    "ac": p.acceptance_number,
                    "re": p.rejection_number,
                },
                lang,
            )
        failed = (
            " " + render(N_("[{names} failed]"), {"names": ", ".join(lot.failed)}, lang) if lot.failed else ""
        )
        line = render(
            N_("{name}: {items} slides, {figures}, {plan}, review {_decision}{failed}"),
            {
                "name": lot.name,
                "items": lot.items,
                "figures": figures,
                "plan": plan,
                "_decision": lot.decision,
                "failed": failed,
            },
            lang,
        )
        lines.append(f"{'PASS' if lot.passed else 'FAIL':8} {line}")
    return lines


def _pct(value: float | None, target: float | None, passed: bool | None) -> str:
    return "–" if value is None else fmt_value(value, True, target, passed)


def _warn_only(why: str, lang: str) -> str:
    return render(N_("{why} (warn-only)"), {"why": why}, lang)
