"""When a figure reaches its target: the rules every gate decision, the contradiction check
(:func:`dqm.figures.contradictions`) and the display (:func:`fmt_value` and its kin, here so that
every layer prints a figure beside its decision by one rule) apply.

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
from collections.abc import Callable, Iterable
from decimal import Decimal
from functools import partial

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


def fmt_value(
    value: float | None, percent: bool, target: float | None = None, passed: bool | None = None
) -> str:
    """A figure as every output prints it: ``87.70 %`` for ratios, 4 significant digits else.

    With the ``target`` it is gated against (``≥``), a value below the target is never shown as
    reaching it: more digits are shown until it reads below (98,999 of 100,000 files: ``98.999 %``
    against a target of ``99.00 %``, not ``99.00 %`` and *fail*). Rounding is monotone, so the
    first precision at which the two differ shows the value below the target; one no digits tell
    from it reads ``< 80.00 %``. A value that reaches its target by rounding alone
    (:func:`dqm.tolerance.reaches`: a float's last bits below it) is shown as the target only when
    the figure's own decision ``passed`` is True: ``85.00 %``, never ``84.99999999999999 %`` beside
    a pass. Without that decision (``None``) or against it (``False``: a result written before the
    tolerance, which decided ``0.8499999999999999 >= 0.85`` as fail) it reads below the target
    (``0.8499999999999999``), so that the value shown and the decision beside it never disagree.
    """
    if value is None:
        return "n/a"
    return _against(value, target, passed, partial(_shown, percent=percent))


def fmt_value_target(target: float, percent: bool) -> str:
    """A target as :func:`fmt_value` prints figures, with as many digits more as it needs to read
    as written (0.99995 as a percentage: ``99.995 %``, not ``100.00 %``)."""
    return _as_written(target, partial(_shown, percent=percent))


def fmt_decimals(
    value: float,
    decimals: int,
    target: float | None = None,
    passed: bool | None = None,
    *,
    percent: bool = False,
    at_most: bool = False,
) -> str:
    """``value`` with ``decimals`` decimals (a Dice: 3; ``percent``: of ``100 * value``, then
    `` %``) and, against its ``target``, by the rule of :func:`fmt_value`: a failing 0.8496
    against 0.85 reads ``0.8496``, not ``0.850``, a passing 0.8552 against 0.8551 ``0.8552``, not
    ``0.855``, and a value is shown as its target only beside its own pass (``passed``).
    ``at_most``: the target is a maximum (``≤``), so a value above it never reads as it (a largest
    share of 50.04 % against 50 % reads ``50.04 %``, not ``50.0 %``)."""
    return _against(value, target, passed, partial(_fixed, decimals=decimals, percent=percent), at_most)


def fmt_target(target: float, decimals: int, *, percent: bool = False) -> str:
    """A target with ``decimals`` decimals (``percent``: of ``100 * target``, then `` %``), or as
    many more as it needs to read as written: a target of 0.855 is neither ``0.85`` nor ``0.86``
    beside a value of 0.853 that fails it, a share of 0.0525 reads ``5.25 %``, not ``5.2 %``."""
    return _as_written(target, partial(_fixed, decimals=decimals, percent=percent))


def fmt_dice(
    value: float | None, low: float | None, high: float | None, target: float | None, passed: bool | None
) -> tuple[str, str]:
    """A Dice and its interval (``"0.812", "0.790–0.833"``; ``–`` and ``""`` when there is none) as
    the report and the console print them beside the class's decision: the figure and the interval's
    low end (either may be what ``gate_on`` decides on) by :func:`fmt_decimals`' rule."""
    point = "–" if value is None else fmt_decimals(value, 3, target, passed)
    if low is None or high is None:
        return point, ""
    return point, f"{fmt_decimals(low, 3, target, passed)}–{fmt_decimals(high, 3)}"


def digits_on_side(
    value: float,
    bounds: Iterable[tuple[float, str | None]],
    shown_at: Callable[[float, int], str],
    least: int,
    most: int = 17,
) -> int | None:
    """The fewest digits ``d`` (``least`` ≤ d < ``most``) at which ``shown_at(value, d)`` reads on
    ``value``'s own side of every bound: at or above the bound's text when ``value`` reaches it, below
    it and not equal to the bound printed with ``d`` when short of it (a value short of a bound
    never reads as it). Each bound comes with the text it is printed as beside the value (a rule's
    sentence), or None for ``shown_at(bound, d)``. None when no ``d`` in the range does."""
    marks = [(b, w) for b, w in bounds if math.isfinite(b)]
    for d in range(least, most):
        shown = shown_at(value, d)
        read = Decimal(shown)
        if all(
            read >= Decimal(w if w is not None else shown_at(b, d))
            if value >= b
            else read < Decimal(w if w is not None else shown_at(b, d)) and shown != shown_at(b, d)
            for b, w in marks
        ):
            return d
    return None


def _significant(value: float, digits: int) -> str:
    return f"{value:.{digits}g}"


def sig_digits(value: float | None, bounds: Iterable[float], digits: int = 3) -> int:
    """The significant digits (``digits`` at least) at which ``value`` and every one of ``bounds``,
    each printed with them, read on the sides of one another they are on: an effect size of 0.07069
    beside a threshold of 0.0707107 (Cramér's V's small, ``0.1 / sqrt(2)``) needs 4 (``0.07069``
    below ``0.07071``; at 3 both read ``0.0707`` and the effect would read as reaching it). A value
    that reaches a bound may read as it; one short of it never does. 17 digits tell any two floats
    apart (:func:`digits_on_side`)."""
    if value is None or not math.isfinite(value):
        return digits
    found = digits_on_side(value, ((b, None) for b in bounds), _significant, digits)
    return 17 if found is None else found


def fmt_among(value: float | None, bounds: Iterable[float] = (), digits: int = 3) -> str:
    """``value`` with ``digits`` significant digits, or as many more as :func:`sig_digits` needs
    for it to read on its own side of each of ``bounds`` (the thresholds its decision and label
    were taken on, printed with as many); thousands and more as whole numbers. ``–`` for None."""
    if value is None:
        return "–"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    shown = f"{value:.{sig_digits(value, bounds, digits)}g}"
    # positional, never 3.4e-05 in a sentence: the same digits as 0.000034
    return format(Decimal(shown), "f") if "e" in shown and math.isfinite(value) else shown


def _against(
    value: float,
    target: float | None,
    passed: bool | None,
    shown_at: Callable[[float, int], str],
    at_most: bool = False,
) -> str:
    """``value`` as ``shown_at`` prints it with 0, 1, ... digits more, on its own side of
    ``target`` as the target is printed (:func:`_as_written`): one that meets it never reads short
    of it (0.8552 against 0.8551: not ``0.855``), one short of it never reads as reaching it unless
    its own decision ``passed`` (:func:`fmt_value`). ``at_most``: the target is a maximum."""
    shown = shown_at(value, 0)
    if target is None or math.isnan(value) or math.isnan(target):
        return shown
    sign = -1 if at_most else 1  # mirrored: above a maximum is below a minimum
    written = _as_written(target, shown_at)
    bound = sign * _read(written)

    def short(text: str) -> bool:  # reads as not reaching the target as printed
        return sign * _read(text) < bound

    if not sign * value < sign * target:  # meets it: digits until it reads so
        return next(
            (s for e in range(16) if not short(s := shown_at(value, e))),
            ("≤ " if at_most else "≥ ") + written,
        )
    if passed is True and reaches(sign * value, sign * target):
        return written
    for extra in range(16):
        shown = shown_at(value, extra)
        if shown != shown_at(target, extra) and short(shown):
            return shown
    # within a float's precision of the target (1 ulp below 0.8): no digits tell them apart
    return ("> " if at_most else "< ") + written


def _as_written(target: float, shown_at: Callable[[float, int], str]) -> str:
    """``target`` as ``shown_at`` prints it with the fewest digits more that read as the target
    itself (0.99995 as a percentage: ``99.995 %``, not ``100.00 %``)."""
    return next(
        (s for e in range(16) if float(_read(s := shown_at(target, e))) == target), shown_at(target, 15)
    )


def _read(shown: str) -> Decimal:
    """The number a figure as printed reads as, in the figure's units (``5.25 %``: 0.0525)."""
    return Decimal(shown[:-2]).scaleb(-2) if shown.endswith(" %") else Decimal(shown)


def _fixed(value: float, extra: int, decimals: int, percent: bool) -> str:
    """``value`` with ``decimals + extra`` decimals (``percent``: of ``100 * value``, then `` %``)."""
    return f"{100 * value:.{decimals + extra}f} %" if percent else f"{value:.{decimals + extra}f}"


def _shown(value: float, extra: int, percent: bool) -> str:
    """``value`` with ``extra`` digits more than the outputs' usual 2 decimals of a percentage or
    4 significant digits."""
    return f"{100 * value:.{2 + extra}f} %" if percent else f"{value:.{4 + extra}g}"
