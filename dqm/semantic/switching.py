"""ISO 2859-1's switching rules across the successive lots of one supplier (ISO 2859-1:1999, clause 9).

Inspection starts at **normal** with a switching score of 0 and moves between three severities,
each with its own table (:func:`dqm.semantic.iso2859.plan_iso2859`):

normal → tightened
    when 2 lots out of 5 or fewer consecutive lots on normal inspection are not accepted.
tightened → normal
    when 5 consecutive lots on tightened inspection are accepted.
normal → reduced
    when the switching score reaches 30, production is at a steady rate and the responsible
    authority approves reduced inspection (both given as the lot's ``reduced_allowed``).
reduced → normal
    when a lot is not accepted, or reduced inspection is no longer allowed (production irregular or
    delayed, the authority withdraws it).
tightened → discontinued
    when the number of lots not accepted since tightened inspection began reaches 5. Inspection
    under the standard resumes, at tightened, only after the supplier's corrective action
    (:func:`resume`).

The **switching score** (1999 revision, 9.3.3.2, single sampling), updated after each lot on normal
inspection: a lot not accepted sets it to 0; for a plan with Ac ≥ 2, an accepted lot adds 3 when it
would also have been accepted at the AQL one step tighter (the same code letter in Table 2-A, one
column to the left) and sets it to 0 otherwise; for Ac 0 or 1 an accepted lot adds 2. It is 0
whenever normal inspection (re)starts. So at least 10 accepted lots (Ac ≥ 2) or 15 (Ac ≤ 1) lead to
reduced inspection; the 1989 edition's limit numbers are gone.

Everything here is pure: a history is a list of :class:`LotOutcome` replayed from the start
(:func:`replay`); :mod:`dqm.semantic.history` keeps it in a small SQLite file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

from dqm.i18n import msg
from dqm.semantic.iso2859 import AQLS, Iso2859Plan, Severity, aql_index, resolve

State = Literal["normal", "tightened", "reduced", "discontinued"]

REDUCED_SCORE = 30
"""Switching score at which normal inspection may switch to reduced (9.3.3.2)."""
TIGHTEN_REJECTIONS, TIGHTEN_WINDOW = 2, 5
"""Normal → tightened: 2 lots not accepted out of 5 or fewer consecutive lots."""
RELAX_ACCEPTANCES = 5
"""Tightened → normal: 5 consecutive lots accepted."""
DISCONTINUE_REJECTIONS = 5
"""Tightened → discontinued: 5 lots not accepted since tightened inspection began."""


@dataclass(frozen=True, slots=True)
class LotOutcome:
    """One lot's inspection as the switching rules see it."""

    accepted: bool
    nonconforming: int
    """Nonconforming items (FAIL verdicts) in the sample the decision counted."""
    plan: Iso2859Plan
    """The plan the lot was inspected with; its ``severity`` must be the scheme's state."""
    reduced_allowed: bool = False
    """Production is at a steady rate and the responsible authority approves reduced inspection."""


@dataclass(frozen=True, slots=True)
class SchemeState:
    """Where a supplier stands in the switching scheme, before its next lot."""

    state: State = "normal"
    score: int = 0
    """Switching score (normal inspection only; 0 elsewhere)."""
    normal_run: tuple[bool, ...] = ()
    """Accepted / not accepted for the last lots (at most 5) since normal inspection began."""
    tightened_accepted: int = 0
    """Consecutive lots accepted on tightened inspection."""
    tightened_rejected: int = 0
    """Lots not accepted since tightened inspection began."""
    lots: int = 0
    """Lots inspected so far."""

    @property
    def severity(self) -> Severity:
        """The table of the next lot's plan (tightened while discontinued: inspection resumes there)."""
        return "tightened" if self.state == "discontinued" else self.state


@dataclass(frozen=True, slots=True)
class Step:
    """One lot through the scheme: the state before and after, and why."""

    before: SchemeState
    after: SchemeState
    outcome: LotOutcome
    score_note: str
    """How the lot changed the switching score (empty off normal inspection)."""
    transition: str
    """``normal → tightened: …`` when the severity changed, else empty."""


class DiscontinuedError(ValueError):
    """A lot offered while inspection is discontinued (corrective action first: :func:`resume`)."""


def _tighter_acceptance(plan: Iso2859Plan) -> int:
    """Ac of Table 2-A at the same code letter, one AQL step tighter (the left neighbour)."""
    i = aql_index(plan.aql)
    if i == 0:
        return plan.acceptance_number  # no tighter AQL in the table
    return resolve(plan.code_letter, AQLS[i - 1], "normal").ac


def score_after(score: int, outcome: LotOutcome) -> tuple[int, str]:
    """The switching score after a lot on normal inspection, and the rule that applied."""
    plan = outcome.plan
    ac = plan.acceptance_number
    if not outcome.accepted:
        return 0, msg("lot not accepted: score reset to 0")
    if ac >= 2:
        tighter = _tighter_acceptance(plan)
        if outcome.nonconforming <= tighter:
            return score + 3, msg(
                "+3: {n} ≤ Ac {ac} at the AQL one step tighter", n=outcome.nonconforming, ac=tighter
            )
        return 0, msg(
            "score reset to 0: {n} > Ac {ac} at the AQL one step tighter", n=outcome.nonconforming, ac=tighter
        )
    return score + 2, msg("+2: accepted with Ac {ac}", ac=ac)


def step(state: SchemeState, outcome: LotOutcome) -> Step:
    """Apply one lot to the scheme.

    Parameters
    ----------
    state
        The supplier's state before the lot.
    outcome
        The lot's decision, inspected with a plan of the state's severity.

    Raises
    ------
    DiscontinuedError
        The scheme is discontinued: the supplier must take corrective action first.
    ValueError
        The lot's plan is not of the state's severity.
    """
    if state.state == "discontinued":
        raise DiscontinuedError(
            msg(
                "inspection under ISO 2859-1 is discontinued for this supplier: it resumes at tightened "
                "inspection after corrective action"
            )
        )
    if outcome.plan.severity != state.state:
        raise ValueError(
            msg(
                "the lot was inspected with a {plan} plan while the scheme is at {severity}",
                plan=outcome.plan.severity,
                severity=state.state,
            )
        )
    counted = replace(state, lots=state.lots + 1)
    if state.state == "normal":
        after, score_note, transition = _after_normal(counted, outcome)
    elif state.state == "tightened":
        after, score_note, transition = _after_tightened(counted, outcome)
    else:
        after, score_note, transition = _after_reduced(counted, outcome)
    return Step(state, after, outcome, score_note, transition)


def _after_normal(state: SchemeState, outcome: LotOutcome) -> tuple[SchemeState, str, str]:
    score, note = score_after(state.score, outcome)
    run = (*state.normal_run, outcome.accepted)[-TIGHTEN_WINDOW:]
    if run.count(False) >= TIGHTEN_REJECTIONS:
        return (
            SchemeState("tightened", lots=state.lots),
            note,
            msg(
                "normal → tightened: {n} of the last {last} lots not accepted",
                n=run.count(False),
                last=len(run),
            ),
        )
    if score >= REDUCED_SCORE and outcome.reduced_allowed:
        return (
            SchemeState("reduced", lots=state.lots),
            note,
            msg(
                "normal → reduced: switching score {score} ≥ {limit}, production steady, approved",
                score=score,
                limit=REDUCED_SCORE,
            ),
        )
    return replace(state, score=score, normal_run=run), note, ""


def _after_tightened(state: SchemeState, outcome: LotOutcome) -> tuple[SchemeState, str, str]:
    if outcome.accepted:
        accepted = state.tightened_accepted + 1
        if accepted >= RELAX_ACCEPTANCES:
            return (
                SchemeState("normal", lots=state.lots),
                "",
                msg(
                    "tightened → normal: {n} consecutive lots accepted (switching score starts at 0)",
                    n=accepted,
                ),
            )
        return replace(state, tightened_accepted=accepted), "", ""
    rejected = state.tightened_rejected + 1
    if rejected >= DISCONTINUE_REJECTIONS:
        return (
            SchemeState("discontinued", lots=state.lots, tightened_rejected=rejected),
            "",
            msg(
                "tightened → discontinued: {n} lots not accepted on tightened inspection; corrective action "
                "before inspection resumes",
                n=rejected,
            ),
        )
    return replace(state, tightened_accepted=0, tightened_rejected=rejected), "", ""


def _after_reduced(state: SchemeState, outcome: LotOutcome) -> tuple[SchemeState, str, str]:
    if not outcome.accepted:
        return SchemeState("normal", lots=state.lots), "", msg("reduced → normal: a lot not accepted")
    if not outcome.reduced_allowed:
        return (
            SchemeState("normal", lots=state.lots),
            "",
            msg(
                "reduced → normal: reduced inspection no longer allowed (production irregular or not approved)"
            ),
        )
    return state, "", ""


def resume(state: SchemeState) -> SchemeState:
    """After the supplier's corrective action: a discontinued scheme resumes at tightened inspection.

    Raises
    ------
    ValueError
        The scheme is not discontinued.
    """
    if state.state != "discontinued":
        raise ValueError(
            msg(
                "inspection is not discontinued (it is at {severity}): nothing to resume",
                severity=state.state,
            )
        )
    return SchemeState("tightened", lots=state.lots)


def replay(outcomes: Iterable[LotOutcome | Literal["resume"]]) -> tuple[SchemeState, list[Step]]:
    """The scheme after a supplier's history, and each lot's step (``"resume"`` marks corrective action)."""
    state = SchemeState()
    steps: list[Step] = []
    for outcome in outcomes:
        if outcome == "resume":
            state = resume(state)
            continue
        assert not isinstance(outcome, str)
        s = step(state, outcome)
        steps.append(s)
        state = s.after
    return state, steps
