"""What changed between two results (two deliveries, or two releases of one dataset).

:func:`diff_results` compares verdicts, each dimension's state and gated figures, every other
figure of the dimensions (:func:`dqm.figures.figures`), finding counts per reason code (new,
resolved, changed) and the slides added or removed. ``reports.diff`` renders it as text or
Markdown (``dqm diff OLD.json NEW.json --format text|markdown``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from dqm.figures import Gate, dimension_gates, dimension_state, dimensions, figures
from dqm.results import QualityResult


@dataclass(frozen=True, slots=True)
class GateChange:
    key: str
    old: Gate | None
    new: Gate | None

    @property
    def delta(self) -> float | None:
        if self.old is None or self.new is None or self.old.value is None or self.new.value is None:
            return None
        return self.new.value - self.old.value


@dataclass(frozen=True, slots=True)
class ResultDiff:
    """Two results side by side; every list holds only what differs."""

    old: QualityResult
    new: QualityResult
    verdict: tuple[str, str]
    states: dict[str, tuple[str, str]]
    """Dimension -> (old state, new state), for every dimension."""
    gates: list[GateChange]
    """Gates whose value or decision changed, or that exist on one side only."""
    figures: list[tuple[str, Any, Any]]
    """Other figures that changed: (path, old, new); a side without it holds None."""
    codes_new: dict[str, int]
    codes_resolved: dict[str, int]
    codes_changed: dict[str, tuple[int, int]]
    slides_added: list[str] = field(default_factory=list)
    slides_removed: list[str] = field(default_factory=list)

    @property
    def same_batch(self) -> bool:
        return self.old.batch.fingerprint == self.new.batch.fingerprint

    @property
    def same_profile(self) -> bool:
        return self.old.profile.sha256 == self.new.profile.sha256

    @property
    def changed(self) -> bool:
        """Anything a reader would care about differs."""
        return bool(
            self.verdict[0] != self.verdict[1]
            or any(a != b for a, b in self.states.values())
            or self.gates
            or self.figures
            or self.codes_new
            or self.codes_resolved
            or self.codes_changed
            or self.slides_added
            or self.slides_removed
        )


def _gate_changes(old: QualityResult, new: QualityResult) -> list[GateChange]:
    a = {g.key: g for d in dimensions() for g in dimension_gates(old, d)}
    b = {g.key: g for d in dimensions() for g in dimension_gates(new, d)}
    out = []
    for key in [*a, *(k for k in b if k not in a)]:
        ga, gb = a.get(key), b.get(key)
        if ga is None or gb is None or (ga.value, ga.passed, ga.target) != (gb.value, gb.passed, gb.target):
            out.append(GateChange(key, ga, gb))
    return out


def _figure_changes(old: QualityResult, new: QualityResult) -> list[tuple[str, Any, Any]]:
    out = []
    for dim in dimensions():
        a, b = figures(old, dim), figures(new, dim)
        for path in [*a, *(p for p in b if p not in a)]:
            if f"{dim}.gates[" in path:  # listed with the gates
                continue
            if a.get(path) != b.get(path):
                out.append((path, a.get(path), b.get(path)))
    return out


def diff_results(old: QualityResult, new: QualityResult) -> ResultDiff:
    """Compare ``old`` with ``new``."""
    gates = _gate_changes(old, new)
    ca, cb = Counter(f.code for f in old.findings), Counter(f.code for f in new.findings)
    ia, ib = {i.slide_id for i in old.items}, {i.slide_id for i in new.items}
    return ResultDiff(
        old=old,
        new=new,
        verdict=(old.verdict.status, new.verdict.status),
        states={d: (dimension_state(old, d), dimension_state(new, d)) for d in dimensions()},
        gates=gates,
        figures=_figure_changes(old, new),
        codes_new={c: n for c, n in sorted(cb.items()) if c not in ca},
        codes_resolved={c: n for c, n in sorted(ca.items()) if c not in cb},
        codes_changed={c: (ca[c], cb[c]) for c in sorted(ca.keys() & cb.keys()) if ca[c] != cb[c]},
        slides_added=sorted(ib - ia),
        slides_removed=sorted(ia - ib),
    )
