"""Limiting-quality sampling plans for an isolated lot, in the manner of ISO 2859-2 Procedure A,
computed from their definition.

ISO 2859-2 indexes single sampling plans by a limiting quality (LQ): the percentage of
nonconforming items a consumer wants a lot rejected at, with a consumer's risk (the probability of
accepting a lot of that quality) usually below 10 %. Procedure A is for a lot in isolation, where
the hypergeometric distribution of the lot itself applies (no process average, no switching rules).

**These are not the standard's printed Table A.** No copy of it that could be checked was at hand
when this was written (the standard is not freely published; public code and pages searched held
no transcription of its cells or of its worked examples), and its cells were not guessed. The plans
here are computed from the definition instead: for a lot of ``N`` slides, the lot at the limiting
quality holds ``D = ceil(LQ * N / 100)`` nonconforming slides (any worse lot holds more, and is
accepted less often), and the plan is the smallest sample ``n`` such that the probability of
accepting that lot, ``P(X <= Ac)`` with ``X`` hypergeometric (``N``, ``D``, ``n``), is at most the
consumer's risk (10 % unless asked otherwise), for the acceptance number asked for (0 unless asked
otherwise: the smallest sample that gives the protection; a larger ``Ac`` tolerates a few
nonconforming slides in the sample at the price of a larger one). A printed plan of the standard
may differ from these: it is chosen from ISO 2859-1's sample sizes, and its risk is "usually below
10 %".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.stats import hypergeom

CONSUMER_RISK = 0.10
"""The probability of accepting a lot at the limiting quality that a plan may not exceed."""
SOURCE = "computed from the definition of ISO 2859-2 Procedure A (hypergeometric), not its printed Table A"


@dataclass(frozen=True, slots=True)
class LqPlan:
    """A single sampling plan for an isolated lot, indexed by its limiting quality."""

    lot_size: int
    lq: float
    """Limiting quality, percent nonconforming."""
    nonconforming_at_lq: int
    """``D``: nonconforming slides in a lot of ``lot_size`` at the limiting quality (rounded up)."""
    sample_size: int
    acceptance_number: int
    rejection_number: int
    consumer_risk: float
    """The probability of accepting a lot at the limiting quality under this plan (at most the risk asked for)."""
    risk_limit: float
    full_inspection: bool
    """True when the plan inspects every slide of the lot."""
    note: str


def acceptance_probability(
    lot_size: int, nonconforming: int, sample_size: int, acceptance_number: int
) -> float:
    """``P(X <= Ac)`` for ``X`` the nonconforming slides in a simple random sample of
    ``sample_size`` from a lot of ``lot_size`` holding ``nonconforming`` (hypergeometric)."""
    return float(hypergeom.cdf(acceptance_number, lot_size, nonconforming, sample_size))


def plan_lq(
    lot_size: int, lq: float, acceptance_number: int = 0, consumer_risk: float = CONSUMER_RISK
) -> LqPlan:
    """The smallest single sampling plan with acceptance number ``acceptance_number`` that accepts a
    lot of ``lot_size`` slides at the limiting quality ``lq`` (percent) with probability at most
    ``consumer_risk``.

    Raises
    ------
    ValueError
        A lot size below 1, an LQ outside (0, 100), a risk outside (0, 1), a negative acceptance
        number, or one the lot cannot exceed: at the LQ the lot holds only ``D`` nonconforming
        slides, and a plan that accepts ``D`` of them accepts that lot even on inspecting all.
    """
    if lot_size < 1:
        raise ValueError(f"lot size must be at least 1, got {lot_size}")
    if not 0 < lq < 100:
        raise ValueError(f"the limiting quality is a percentage above 0 and below 100, got {lq:g}")
    if not 0 < consumer_risk < 1:
        raise ValueError(f"the consumer's risk is a probability above 0 and below 1, got {consumer_risk:g}")
    if acceptance_number < 0:
        raise ValueError(f"the acceptance number cannot be negative, got {acceptance_number}")
    defective = max(1, math.ceil(lq * lot_size / 100 - 1e-9))
    if acceptance_number >= defective:
        raise ValueError(
            f"at LQ {lq:g} % a lot of {lot_size} holds {defective} nonconforming slide(s): a plan that accepts "
            f"{acceptance_number} accepts it even on inspecting every slide; choose an acceptance number below {defective}"
        )
    low, high = acceptance_number + 1, lot_size  # at n = lot_size, X = D > Ac: never accepted
    while low < high:  # acceptance falls as the sample grows: the first n at or under the risk
        mid = (low + high) // 2
        if acceptance_probability(lot_size, defective, mid, acceptance_number) <= consumer_risk + 1e-12:
            high = mid
        else:
            low = mid + 1
    n = low
    risk = acceptance_probability(lot_size, defective, n, acceptance_number)
    full = n >= lot_size
    return LqPlan(
        lot_size=lot_size,
        lq=lq,
        nonconforming_at_lq=defective,
        sample_size=n,
        acceptance_number=acceptance_number,
        rejection_number=acceptance_number + 1,
        consumer_risk=risk,
        risk_limit=consumer_risk,
        full_inspection=full,
        note=(
            f"{SOURCE}: a lot of {lot_size} at LQ {lq:g} % holds {defective} nonconforming slide(s); "
            f"P(accept) = {risk:.3f} ≤ {consumer_risk:g}" + ("; every slide is inspected" if full else "")
        ),
    )
