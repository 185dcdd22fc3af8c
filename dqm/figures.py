"""The figures of a result, read the same way by every output: HTML, JUnit, Markdown, gate, diff.

Each dimension model (``syntactic``, ``semantic``, ``diversity``, ``validity``) is plain data with
a ``passed`` bool. This module reads them without knowing their shape in advance, so a new
dimension shows up in every output as soon as its field exists on
:class:`~dqm.results.QualityResult`:

state
    ``missing`` (the field is None: not evaluated), ``pending`` (evaluated but not finished: a
    ``decision`` or ``status`` of ``incomplete``/``pending``, or ``complete`` False, e.g. an
    expert review still in progress), else ``passed`` / ``failed`` from its ``passed`` bool.
gates
    The gated thresholds, each with its value, target and decision (none while the dimension is
    pending: its figures are provisional). A dimension that has a
    ``gates`` list gives them explicitly (syntactic does). Otherwise every nested object with
    both ``target`` and ``passed`` and a numeric value (``value``, ``accuracy``, ``dice``,
    ``mean_dice``, ``estimate`` or ``statistic``) is a gate. A dimension with neither is one gate:
    its overall ``passed``. ``gates`` may be a computed property (validity: one gate per class).
figures
    Every number of a dimension, flattened to ``dotted.path -> value`` (for ``dqm diff``).

Nothing here computes a quality figure: it only reads what the dimensions stated.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from dqm.results import DIMENSIONS, QualityResult, Ratio

State = Literal["passed", "failed", "pending", "missing"]

DIMENSION_TITLES = {
    "syntactic": "Syntactic accuracy",
    "semantic": "Semantic accuracy",
    "diversity": "Statistical diversity",
    "validity": "Validity",
}

_VALUE_FIELDS = ("value", "accuracy", "dice", "mean_dice", "estimate", "statistic")
_NUM_FIELDS = ("numerator", "n_pass", "n_correct")
_DEN_FIELDS = ("denominator", "n_reviewed", "n", "n_slides", "sample_size")
_PENDING_WORDS = frozenset({"incomplete", "pending"})
MAX_LIST_FIGURES = 200
"""Lists longer than this (per-slide tables) are left out of the flattened figures."""


def dimensions() -> tuple[str, ...]:
    """The dimension names, in report order (:data:`dqm.results.DIMENSIONS`)."""
    return DIMENSIONS


def title(dim: str) -> str:
    """The dimension's name for people."""
    return DIMENSION_TITLES.get(dim, dim.replace("_", " ").capitalize())


def _pending(model: Any) -> bool:
    for attr in ("decision", "status"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value.lower() in _PENDING_WORDS:
            return True
    return getattr(model, "complete", None) is False


def dimension_state(result: QualityResult, dim: str) -> State:
    """Whether ``dim`` was evaluated, is still pending, and passed."""
    model = getattr(result, dim, None)
    if model is None:
        return "missing"
    if _pending(model):
        return "pending"
    return "passed" if bool(getattr(model, "passed", False)) else "failed"


@dataclass(frozen=True, slots=True)
class Gate:
    """One gated threshold of one dimension, as the dimension stated it."""

    dimension: str
    key: str
    """Stable id, ``dimension.name`` (unique within a result)."""
    name: str
    value: float | None
    target: float | None
    passed: bool | None
    numerator: int | None = None
    denominator: int | None = None
    unit: str = ""
    ci_low: float | None = None
    ci_high: float | None = None
    percent: bool = False
    """Shown as a percentage (ratios), else as a plain number (Dice, statistics)."""
    note: str = ""
    pointer: str = ""
    """JSON pointer, in results.json, to the object the gate was read from."""
    value_field: str = "value"
    """The field of that object holding :attr:`value` (empty: the gate has no value)."""

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")

    @property
    def shown_value(self) -> str:
        """The value as every output prints it."""
        return fmt_value(self.value, self.percent)

    @property
    def shown_target(self) -> str:
        return "–" if self.target is None else f"≥ {fmt_value(self.target, self.percent)}"

    @property
    def shown_counts(self) -> str:
        if self.denominator is None:
            return ""
        num = "" if self.numerator is None else f"{self.numerator} / "
        return f"{num}{self.denominator} {self.unit}".strip()

    @property
    def shown_ci(self) -> str:
        if self.ci_low is None or self.ci_high is None:
            return ""
        return f"{fmt_value(self.ci_low, self.percent)} – {fmt_value(self.ci_high, self.percent)}"

    @property
    def decision(self) -> str:
        return {True: "pass", False: "fail", None: "–"}[self.passed]

    def describe(self) -> str:
        """One line, e.g. ``file accuracy 87.70 % (107 / 122 files), target ≥ 99.00 %: fail``."""
        counts = f" ({self.shown_counts})" if self.shown_counts else ""
        ci = f", interval {self.shown_ci}" if self.shown_ci else ""
        target = f", target {self.shown_target}" if self.target is not None else ""
        return f"{self.label} {self.shown_value}{counts}{ci}{target}: {self.decision}"


def fmt_value(value: float | None, percent: bool) -> str:
    """A figure as every output prints it: ``87.70 %`` for ratios, 4 significant digits else."""
    if value is None:
        return "n/a"
    return f"{100 * value:.2f} %" if percent else f"{value:.4g}"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _int(model: Any, fields: tuple[str, ...]) -> int | None:
    for f in fields:
        v = getattr(model, f, None)
        if isinstance(v, int) and not isinstance(v, bool):
            return v
    return None


def _pointer(parts: tuple[Any, ...]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _gate_of(dim: str, name: str, where: tuple[Any, ...], model: Any) -> Gate | None:
    pointer = _pointer((dim, *where))
    if isinstance(model, Ratio):
        return Gate(
            dim,
            f"{dim}.{model.name}",
            model.name,
            model.value,
            model.target,
            model.passed,
            model.numerator,
            model.denominator,
            model.unit,
            model.ci_low,
            model.ci_high,
            percent=True,
            note=model.note,
            pointer=pointer,
        )
    fields = type(model).model_fields if isinstance(model, BaseModel) else {}
    if "target" not in fields or "passed" not in fields:
        return None
    value_field = next((f for f in _VALUE_FIELDS if f in fields), None)
    if value_field is None:
        return None
    passed = getattr(model, "passed", None)
    label = str(getattr(model, "name", None) or name or value_field)
    return Gate(
        dim,
        f"{dim}.{label}",
        label,
        _number(getattr(model, value_field, None)),
        _number(getattr(model, "target", None)),
        passed if isinstance(passed, bool) else None,
        _int(model, _NUM_FIELDS),
        _int(model, _DEN_FIELDS),
        str(getattr(model, "unit", "") or ""),
        _number(getattr(model, "ci_low", None)),
        _number(getattr(model, "ci_high", None)),
        percent=getattr(model, "percent", False) is True,  # a figure may say it is a proportion
        note=str(getattr(model, "note", "") or ""),
        pointer=pointer,
        value_field=value_field,
    )


def _walk(name: str, where: tuple[Any, ...], obj: Any) -> Iterator[tuple[str, tuple[Any, ...], Any]]:
    """``(dotted label path, JSON path, model)`` for every pydantic model below ``obj``."""
    if isinstance(obj, BaseModel):
        for field in type(obj).model_fields:
            child = getattr(obj, field)
            path = f"{name}.{field}" if name else field
            if isinstance(child, BaseModel):
                yield path, (*where, field), child
            yield from _walk(path, (*where, field), child)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            path = f"{name}.{k}" if name else str(k)
            if isinstance(v, BaseModel):
                yield path, (*where, k), v
            yield from _walk(path, (*where, k), v)
    elif isinstance(obj, list | tuple) and len(obj) <= MAX_LIST_FIGURES:
        for i, v in enumerate(obj):
            label = getattr(v, "key", None) or getattr(v, "name", None) or str(i)
            path = f"{name}[{label}]"
            if isinstance(v, BaseModel):
                yield path, (*where, i), v
            yield from _walk(path, (*where, i), v)


def dimension_gates(result: QualityResult, dim: str) -> list[Gate]:
    """The gated thresholds of ``dim`` (empty when it was not evaluated)."""
    model = getattr(result, dim, None)
    if model is None:
        return []
    explicit = getattr(model, "gates", None)
    gates: list[Gate] = []
    if isinstance(explicit, list):
        # a ``gates`` field is in results.json; a computed ``gates`` property returns objects
        # stored elsewhere in the dimension, so each gate points at where its equal is stored
        stored = isinstance(model, BaseModel) and "gates" in type(model).model_fields
        places = [] if stored else [(where, m) for _, where, m in _walk("", (), model)]
        wheres = [
            ("gates", i) if stored else next((w for w, m in places if m == item), ()) or _source(item)
            for i, item in enumerate(explicit)
        ]
        gates = [
            g
            for i, (m, where) in enumerate(zip(explicit, wheres, strict=True))
            if (g := _gate_of(dim, str(i), where, m)) is not None
        ]
    else:
        candidates = [("", (), model), *_walk("", (), model)]
        gates = [g for path, where, m in candidates if (g := _gate_of(dim, path, where, m)) is not None]
        gates = [g for g in gates if g.target is not None or g.passed is not None]
    if not gates:
        passed = getattr(model, "passed", None)
        gates = [
            Gate(
                dim,
                f"{dim}.passed",
                dim,
                None,
                None,
                passed if isinstance(passed, bool) else None,
                pointer=_pointer((dim,)),
                value_field="",
            )
        ]
    if _pending(model):
        # a provisional figure has no decision yet: "fail" would claim what was not decided
        gates = [_undecided(g) for g in gates]
    seen: dict[str, int] = {}
    unique = []
    for g in gates:  # keys stay unique even when two gates share a name
        n = seen.get(g.key, 0)
        seen[g.key] = n + 1
        unique.append(g if n == 0 else _rekey(g, f"{g.key}#{n + 1}"))
    return unique


def _source(item: Any) -> tuple[Any, ...]:
    """Where a computed gate's figure is stored (its ``source``, a ``/``-separated path inside
    the dimension), or the dimension itself."""
    source = getattr(item, "source", "")
    return tuple(source.split("/")) if isinstance(source, str) and source else ()


def _undecided(g: Gate) -> Gate:
    from dataclasses import replace

    return replace(g, passed=None, note="; ".join(n for n in (g.note, "provisional: not finished") if n))


def _rekey(g: Gate, key: str) -> Gate:
    from dataclasses import replace

    return replace(g, key=key)


def all_gates(result: QualityResult) -> list[Gate]:
    """Every dimension's gates, in dimension order."""
    return [g for dim in dimensions() for g in dimension_gates(result, dim)]


def failing_gates(gates: list[Gate]) -> list[Gate]:
    return [g for g in gates if g.passed is False]


def figures(result: QualityResult, dim: str) -> dict[str, float | int | bool | str | None]:
    """Every scalar of ``dim`` as ``path -> value``; lists longer than ``MAX_LIST_FIGURES`` are
    left out, and so are long texts (methods paragraphs)."""
    model = getattr(result, dim, None)
    if model is None:
        return {}
    out: dict[str, float | int | bool | str | None] = {}

    def visit(path: str, obj: Any) -> None:
        if isinstance(obj, dict):
            for k, v in obj.items():
                visit(f"{path}.{k}", v)
        elif isinstance(obj, list):
            if len(obj) > MAX_LIST_FIGURES:
                return
            for i, v in enumerate(obj):
                label = (v.get("key") or v.get("name") or i) if isinstance(v, dict) else i
                visit(f"{path}[{label}]", v)
        elif obj is None or isinstance(obj, bool | int | float) or (isinstance(obj, str) and len(obj) <= 80):
            out[path] = obj

    visit(dim, model.model_dump(mode="json"))
    return out
