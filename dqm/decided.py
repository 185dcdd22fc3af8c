"""A decided figure: what a dimension compared with its target, and the decision.

Every dimension result declares its gated figures as ``gates``, a list of these (syntactic's
ratios are :class:`~dqm.facts.Ratio`, read the same way). :mod:`dqm.figures` turns them into the
gates every output shows (report, JUnit, summary, ``dqm gate``, ``dqm diff``); it reads what a
dimension declared and never guesses from the names of its fields.
"""

from __future__ import annotations

from dqm.facts import Frozen


class DecidedFigure(Frozen):
    """One gated figure of a dimension: its value, target and decision."""

    name: str
    value: float | None = None
    """None when there was nothing to measure, or when the decision rests on no single number."""
    target: float | None = None
    passed: bool | None = None
    """None when nothing was decided."""
    numerator: int | None = None
    denominator: int | None = None
    unit: str = ""
    """What ``numerator`` and ``denominator`` count (slides, slides reviewed …)."""
    ci_low: float | None = None
    ci_high: float | None = None
    percent: bool = False
    """A proportion, shown as a percentage; else a plain number (Dice, statistics)."""
    note: str = ""
    key: str = ""
    """Its stable id within the dimension when that is not ``name``."""
    source: str = ""
    """Where the figure is stored inside the dimension in results.json (``/``-separated; empty: at
    its top), for a figure that is computed from stored fields rather than stored itself."""
    value_field: str = "value"
    """The field of that stored object that holds :attr:`value` (empty: the figure has no value)."""

    @classmethod
    def verdict(cls, dimension: str, passed: bool | None, note: str = "") -> DecidedFigure:
        """The one figure of a dimension whose decision rests on no single number: its verdict
        (keyed ``passed``, named after the dimension, without a value or target)."""
        return cls(name=dimension, key="passed", passed=passed, note=note, value_field="")
