"""Split a run into lots by a field and judge each lot on its own.

A lot is every item with the same value of the field (``institution``, ``diagnosis`` or a clinical
field of the profile); items without a value form the lot ``(missing)``. Each lot's syntactic
figures are those of :func:`dqm.syntactic.accuracy.syntactic_result` over the lot alone: its items'
files and values, its rows of the clinical table and its share of the manifest's path cells, and
every finding on its items. Findings on the batch as a whole (a manifest without a required
column, orphan files) count against the batch, not against a lot. An item of the buyer's order
list (``--expect``) that was not delivered counts against the lot the list's column of the
``--lot-by`` field names, or against the lot ``(not delivered)`` (which then fails) when the list
has no such column: deleting a lot's failing item never raises its figures. Each lot gets the ISO 2859-1
plan for its size at the severity its supplier is at (:mod:`dqm.semantic.switching`), and a gate:
passed when every dimension it was evaluated on passed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from dqm.findings import Finding, Severity
from dqm.i18n import N_
from dqm.lots.models import Lot, LotPlan, LotsResult
from dqm.order import NOT_DELIVERED, NOT_DELIVERED_LOT
from dqm.runner import Run
from dqm.semantic.iso2859 import plan_iso2859
from dqm.semantic.planfile import stratum_value
from dqm.semantic.switching import SchemeState
from dqm.syntactic.accuracy import syntactic_result
from dqm.syntactic.subset import ItemRows, part_run

METHOD = N_(
    "Each lot is judged on its own: its syntactic figures count its items' files and values (and its "
    "rows of the clinical table), with the batch's targets; findings on the batch as a whole count "
    "against the batch only. Its ISO 2859-1 plan is the single sampling plan for the lot's size at the "
    "severity its supplier is at under the switching rules (normal without a history). A lot passes "
    "when every dimension it was evaluated on passed."
)


@dataclasses.dataclass(frozen=True, slots=True)
class LotDecision:
    """A lot's ISO 2859-1 decision from an ingested review."""

    accepted: bool
    nonconforming: int
    plan: LotPlan | None = None
    """The plan the lot was reviewed with (its severity then); None: the plan from ``states``."""
    switching_score: int | None = None
    """The supplier's switching score when the lot was sampled."""


MAX_LOTS = 500
"""More lots than this is a field that does not name suppliers (a patient, a slide): refused."""


def too_many_lots(n: int, field: str) -> str | None:
    """Why ``n`` lots by ``field`` are refused (None when they are not)."""
    if n <= MAX_LOTS:
        return None
    return (
        f"--lot-by {field} gives {n} lots, more than {MAX_LOTS}: a lot is the delivery of one supplier "
        "(an institution, a vendor); choose such a field"
    )


def lot_names(run: Run, field: str, order_lots: Mapping[int, str] | None = None) -> dict[str, list[int]]:
    """Lot name → indices of its items in ``run.outcomes``, sorted by name, and a lot that holds
    only items ordered and not delivered (with no index): the lot ``order_lots`` gives their
    line of the order list (:meth:`dqm.order.OrderList.lots`), else ``(not delivered)``."""
    lots: dict[str, list[int]] = {}
    for i, summary in enumerate(run.outcomes.summaries()):
        lots.setdefault(stratum_value(summary, field), []).append(i)
    for f in run.batch_findings:
        if f.code == NOT_DELIVERED:
            lots.setdefault((order_lots or {}).get(f.location.line or 0, NOT_DELIVERED_LOT), [])
    return dict(sorted(lots.items()))


def without(run: Run, waived: set[str]) -> Run:
    """``run`` without the ``waived`` findings (their JSON: keyed once for every lot, not once a
    lot), as the whole batch's figures are decided with a waiver file: a waived finding makes no
    file or value inaccurate."""
    if not waived:
        return run

    def keep(findings: list[Finding]) -> list[Finding]:
        return [f for f in findings if f.model_dump_json() not in waived]

    return dataclasses.replace(
        run, outcomes=run.outcomes.with_findings(keep), batch_findings=keep(run.batch_findings)
    )


def lots_result(
    run: Run,
    field: str,
    level: str = "II",
    aql: float = 1.0,
    states: Mapping[str, SchemeState] | None = None,
    decisions: Mapping[str, LotDecision] | None = None,
    history: str | None = None,
    waived: Sequence[Finding] = (),
    order_lots: Mapping[int, str] | None = None,
) -> LotsResult:
    """Every lot of ``run`` by ``field``, with its figures, plan, decision and gate.

    Parameters
    ----------
    run
        The checked batch.
    field
        ``institution``, ``diagnosis`` or a clinical field.
    level, aql
        The ISO 2859-1 inspection level and AQL of every lot's plan.
    states
        Lot name → its supplier's place in the switching rules (absent: normal, score 0).
    decisions
        Lot name → the decision of its ingested review (absent: pending).
    history
        Where ``states`` were read, for the record.
    waived
        Findings a waiver file covers: each lot's figures are decided without them, as the whole
        batch's are; its error and warning counts stay as measured.
    order_lots
        The lot of each line of the buyer's order list (``--expect``,
        :meth:`dqm.order.OrderList.lots`): an item ordered and not delivered counts against that
        lot (its two files missing, as against the batch) and adds to the size its plan is drawn
        for; a line it does not name, against the lot ``(not delivered)``, which then fails.
    """
    states = states or {}
    decisions = decisions or {}
    lots = []
    manifest_rows = sum(item.row is not None for item in run.discovery.items)
    where = ItemRows.of(run, order_lots or {})
    keys = {f.model_dump_json() for f in waived}
    for name, indices in lot_names(run, field, order_lots).items():
        part = part_run(run, name, indices, manifest_rows, where)
        s = syntactic_result(without(part, keys))
        state = states.get(name, SchemeState())
        decision = decisions.get(name)
        plan = None
        note = ""
        scheme: str = state.state
        score = state.score if state.state == "normal" else None
        if decision is not None and decision.plan is not None:  # reviewed: the plan it was drawn with
            plan, scheme, score = decision.plan, decision.plan.severity, decision.switching_score
        elif state.state == "discontinued":
            note = (
                "inspection discontinued for this supplier: corrective action before its lots are inspected"
            )
        else:
            p = plan_iso2859(len(indices) + len(where.undelivered.get(name, ())), level, aql, state.severity)
            plan = LotPlan(
                severity=state.severity,
                level=p.level,
                aql=p.aql,
                code_letter=p.code_letter,
                sample_size=p.sample_size,
                acceptance_number=p.acceptance_number,
                rejection_number=p.rejection_number,
                note=p.note,
            )
        evaluated = ["syntactic"] + (["semantic"] if decision is not None else [])
        failed = (["syntactic"] if not s.passed else []) + (
            ["semantic"] if decision is not None and not decision.accepted else []
        )
        lots.append(
            Lot(
                name=name,
                items=len(indices),
                files=s.gates[0],
                structure=s.structure.values,
                format=s.format.values,
                errors=sum(f.severity == Severity.ERROR for f in part.findings),
                warnings=sum(f.severity == Severity.WARNING for f in part.findings),
                crashed=s.crashed,
                syntactic_passed=s.passed,
                scheme=scheme,  # type: ignore[arg-type]
                switching_score=score,
                plan=plan,
                decision="pending" if decision is None else "accept" if decision.accepted else "reject",
                nonconforming=None if decision is None else decision.nonconforming,
                evaluated=evaluated,
                failed=failed,
                passed=not failed,
                note=note,
            )
        )
    return LotsResult(field=field, lots=lots, history=history, method=METHOD)
