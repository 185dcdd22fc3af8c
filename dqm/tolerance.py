"""When a figure reaches its target: the rules every gate decision, the contradiction check
(:func:`dqm.figures.contradictions`) and the display (:func:`dqm.figures.fmt_value`) apply.

A computed figure (a mean, a bound, a weighted estimate) reaches its target when it is at or above
it, or below it by no more than :data:`TOLERANCE` of the target (relative, :func:`reaches`):
rounding in how a figure is computed, never a difference in the data. The mean of 15 Dice of 0.85
is one ulp below 0.85 (``0.8499999999999999``) while a bootstrap bound of the same values equals
it; a weighted accuracy, a sum of ratios, may land either side of the float ``0.99``. Decided with
a plain ``>=``, such a value failed on one gate and passed on another, and the report printed
``84.99999999999999 %`` beside a pass.

A figure of whole counts (a count, or ``count / n``: file accuracy, a diversity minimum, the
smallest class share, a quality-table row) needs no tolerance and gets none
(:func:`count_reaches`): ``count / n`` is correctly rounded, so it is the very float of the target
when the ratio equals the decimal the target was written as (99 / 100 and ``0.99``), and below it
when the ratio is below. The tolerance would pass ``1 / 3`` against a target of
``0.3333333333333334`` (13 or more significant digits); a plain ``>=`` decides it right.
"""

from __future__ import annotations

import math

TOLERANCE = 1e-12
"""Relative: a computed value (a mean, a bound, a weighted estimate) this close below its target
reaches it (about 4,500 ulps at 1.0)."""


def reaches(value: float, target: float) -> bool:
    """Whether ``value`` reaches ``target``: ``value >= target``, or below it by at most
    :data:`TOLERANCE` of it. NaN reaches nothing."""
    return value >= target or math.isclose(value, target, rel_tol=TOLERANCE, abs_tol=0.0)


def count_reaches(value: float, target: float) -> bool:
    """Whether a figure of whole counts (a count, or ``count / n`` as one IEEE division computes it)
    reaches ``target``: exactly ``value >= target``, no tolerance (see the module docstring)."""
    return value >= target
