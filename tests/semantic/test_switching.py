"""ISO 2859-1's switching rules: a worked sequence of lots through every transition, and the score."""

from __future__ import annotations

import pytest

from dqm.semantic.iso2859 import plan_iso2859
from dqm.semantic.switching import (
    DiscontinuedError,
    LotOutcome,
    SchemeState,
    replay,
    resume,
    score_after,
    step,
)

LOT = 20_000  # code letter M at level II
AQL = 1.0  # normal M: n 315, 7/8 (one step tighter, AQL 0.65: Ac 5); tightened 5/6; reduced n 125, 3/4


def lot(severity: str, nonconforming: int, reduced_allowed: bool = False, size: int = LOT) -> LotOutcome:
    plan = plan_iso2859(size, "II", AQL, severity)  # type: ignore[arg-type]
    return LotOutcome(nonconforming <= plan.acceptance_number, nonconforming, plan, reduced_allowed)


def test_a_worked_sequence_walks_every_transition() -> None:
    history = [
        # 1-5 normal: two lots not accepted within five → tightened
        lot("normal", 2),  # +3 (2 ≤ 5)
        lot("normal", 6),  # accepted (≤ 7) but 6 > 5: score reset
        lot("normal", 9),  # not accepted
        lot("normal", 0),  # +3
        lot("normal", 8),  # not accepted: 2 of the last 5 → tightened
        # 6-10 tightened: five consecutive acceptances → normal
        *[lot("tightened", 5) for _ in range(5)],
        # 11-20 normal: ten lots accepted at the tighter AQL's Ac → score 30 → reduced (approved)
        *[lot("normal", 5, reduced_allowed=True) for _ in range(10)],
        # 21-22 reduced: accepted, then not accepted → normal
        lot("reduced", 3, reduced_allowed=True),
        lot("reduced", 4, reduced_allowed=True),
        # 23-24 normal: two rejections in a row → tightened
        lot("normal", 8),
        lot("normal", 8),
        # 25-34 tightened: four accepted, a rejection breaks the run; five rejections → discontinued
        *[lot("tightened", 0) for _ in range(4)],
        lot("tightened", 6),
        lot("tightened", 0),
        lot("tightened", 6),
        lot("tightened", 6),
        lot("tightened", 6),
        lot("tightened", 6),
    ]
    state, steps = replay(history)
    transitions = [(i + 1, s.transition.split(":")[0]) for i, s in enumerate(steps) if s.transition]
    assert transitions == [
        (5, "normal → tightened"),
        (10, "tightened → normal"),
        (20, "normal → reduced"),
        (22, "reduced → normal"),
        (24, "normal → tightened"),
        (34, "tightened → discontinued"),
    ]
    scores = [s.after.score for s in steps[:4]]
    assert scores == [3, 0, 0, 3]
    assert [s.after.score for s in steps[10:19]] == [3, 6, 9, 12, 15, 18, 21, 24, 27]
    assert "switching score 30" in steps[19].transition
    assert steps[20].after.state == "reduced"  # an accepted reduced lot stays reduced
    assert steps[28].after.tightened_accepted == 0 and steps[28].after.tightened_rejected == 1
    assert state.state == "discontinued" and state.lots == 34 and state.severity == "tightened"
    with pytest.raises(DiscontinuedError):
        step(state, lot("tightened", 0))
    resumed = resume(state)
    assert resumed.state == "tightened" and resumed.tightened_rejected == 0
    again, more = replay([*history, "resume", lot("tightened", 0)])
    assert again.state == "tightened" and again.tightened_accepted == 1 and len(more) == 35


def test_score_30_without_approval_stays_normal() -> None:
    state, steps = replay([lot("normal", 1) for _ in range(12)])
    assert state.state == "normal" and state.score == 36
    assert not any(s.transition for s in steps)


def test_score_for_acceptance_numbers_0_and_1_adds_2() -> None:
    small = 60  # code letter E at level II: AQL 1.0 gives 0/1 with n = 13
    plan = plan_iso2859(small, "II", AQL)
    assert plan.acceptance_number == 0
    accepted = LotOutcome(True, 0, plan)
    assert score_after(10, accepted) == (12, "+2: accepted with Ac 0")
    assert score_after(10, LotOutcome(False, 1, plan))[0] == 0
    # fifteen accepted lots with Ac 0 reach 30
    state, steps = replay([LotOutcome(True, 0, plan, True) for _ in range(15)])
    assert state.state == "reduced" and steps[-1].before.score == 28


def test_two_rejections_more_than_five_lots_apart_do_not_tighten() -> None:
    history = [lot("normal", 8), *[lot("normal", 6) for _ in range(4)], lot("normal", 8)]
    state, _ = replay(history)
    assert state.state == "normal"
    state, _ = replay([*history[1:], lot("normal", 8)])
    assert state.state == "tightened"  # 2 rejections within the last five lots


def test_reduced_goes_back_to_normal_when_no_longer_allowed() -> None:
    start = SchemeState("reduced")
    s = step(start, lot("reduced", 0, reduced_allowed=False))
    assert s.after.state == "normal" and "no longer allowed" in s.transition


def test_a_plan_of_the_wrong_severity_is_refused() -> None:
    with pytest.raises(ValueError, match="tightened plan while the scheme is at normal"):
        step(SchemeState(), lot("tightened", 0))
    with pytest.raises(ValueError, match="not discontinued"):
        resume(SchemeState())
