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
    pending: its figures are provisional). Every dimension declares them as ``gates``: a list of
    :class:`~dqm.decided.DecidedFigure` (or syntactic's :class:`~dqm.facts.Ratio`), stored in
    results.json (syntactic, diversity) or computed from stored fields (semantic: the estimate the
    decision rests on; validity: one per class). A dimension that declares none is one gate: its
    overall ``passed``.
figures
    Every number of a dimension, flattened to ``dotted.path -> value`` (for ``dqm diff``).

Nothing here computes a quality figure: it only reads what the dimensions stated.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from pydantic import BaseModel

from dqm.decided import DecidedFigure
from dqm.findings import STAGE_CRASHED, Severity
from dqm.i18n import N_, Message, gettext, msg, render
from dqm.order import AGAIN, NOT_DELIVERED, NOT_ORDERED, ORDER_CHECK
from dqm.results import DIMENSIONS, OrderInfo, QualityResult, Ratio
from dqm.tolerance import count_reaches, fmt_value, fmt_value_target, reaches

State = Literal["passed", "failed", "pending", "missing"]

DIMENSION_TITLES = {
    "syntactic": N_("Syntactic accuracy"),
    "semantic": N_("Semantic accuracy"),
    "diversity": N_("Statistical diversity"),
    "validity": N_("Validity"),
}
GATE_WORDS = (
    N_("file accuracy"),
    N_("structure accuracy"),
    N_("format accuracy"),
    N_("structure file accuracy"),
    N_("format file accuracy"),
    N_("accuracy"),
    N_("weighted accuracy"),
    N_("diversity"),
    N_("files"),
    N_("values"),
    N_("slides"),
    N_("slides reviewed"),
    N_("patients"),
    N_("lesions"),
    N_("labels"),
    N_("pass"),
    N_("fail"),
)
"""Gate names, units and decisions that are translated where shown; other names (class ids,
categories) are data and shown as they are."""

_PENDING_WORDS = frozenset({"incomplete", "pending"})
MAX_LIST_FIGURES = 200
"""Lists longer than this (per-slide tables) are left out of the flattened figures."""


def dimensions() -> tuple[str, ...]:
    """The dimension names, in report order (:data:`dqm.results.DIMENSIONS`)."""
    return DIMENSIONS


def title(dim: str, lang: str = "en") -> str:
    """The dimension's name for people, in ``lang``."""
    return gettext(DIMENSION_TITLES.get(dim, dim.replace("_", " ").capitalize()), lang)


VERDICT_WORDS = {
    "certified": N_("CERTIFIED"),
    "not_certified": N_("NOT CERTIFIED"),
    "incomplete": N_("INCOMPLETE"),
}


def verdict_line(result: QualityResult, lang: str = "en") -> str:
    """The verdict in one line, e.g. ``NOT CERTIFIED: syntactic failed; validity not evaluated``
    (English: the verdict's own ``summary``)."""
    v = result.verdict
    if lang == "en" and v.summary:
        return v.summary
    parts = [
        render(template, {"dimensions": ", ".join(title(d, lang) for d in dims)}, lang)
        for template, dims in (
            (N_("{dimensions} failed"), v.failed),
            (N_("{dimensions} pending"), v.pending),
            (N_("{dimensions} not evaluated"), v.missing),
        )
        if dims
    ]
    if v.status == "certified":
        parts = [gettext(N_("every dimension met its targets"), lang)]
    return f"{gettext(VERDICT_WORDS[v.status], lang)}: {'; '.join(parts)}"


MAX_DISABLED_SHOWN = 20
"""Disabled checks named one by one in :func:`disabled_line`; past this, a count."""


def disabled_line(result: QualityResult, lang: str = "en") -> str | None:
    """What the verdict does not rest on, in one line: the checks the profile disabled (None when
    it disabled none). A profile may turn every check off and still set the usual targets: the
    verdict then passes on nothing checked, and this line is how a reader knows."""
    ids = result.disabled_checks
    if not ids:
        return None
    shown = ", ".join(ids[:MAX_DISABLED_SHOWN])
    if len(ids) > MAX_DISABLED_SHOWN:
        shown += " " + render(N_("… and {n} more"), {"n": len(ids) - MAX_DISABLED_SHOWN}, lang)
    template = N_(
        "the profile disabled {n} checks: they did not run, and what they check was not checked ({ids})"
    )
    return render(template, {"n": len(ids), "ids": shown}, lang)


def order_line(order: OrderInfo | None, lang: str = "en", syntactic: Any = None) -> str | None:
    """How many of the buyer's ordered items the batch holds (``--expect``: a result's ``order``),
    and how many it holds that were not ordered; None when the audit had no order list.
    ``syntactic``: the result's syntactic accuracy, whose value figures over the items ordered
    (``ordered``, :class:`~dqm.syntactic.models.OrderedValues`) the line then gives too."""
    if order is None:
        return None
    line = render(
        N_("{delivered:,} of {ordered:,} ordered items delivered"),
        {"delivered": order.delivered, "ordered": order.ordered},
        lang,
    )
    if order.not_ordered:
        line += "; " + render(N_("{n:,} delivered items not ordered"), {"n": order.not_ordered}, lang)
    ordered = getattr(syntactic, "ordered", None)
    if ordered is not None:
        line += "; " + render(
            N_(
                "over the {items:,} items ordered, an item not delivered counting 0: structure accuracy "
                "{structure}, format accuracy {format} (with an item not delivered, one not ordered or an "
                "annotation file missing or unreadable the value gates are judged on these too: deleting an item never raises them); semantic accuracy, "
                "diversity and validity are over the items delivered and can rise when one is deleted"
            ),
            {"items": ordered.items, **_ordered_figures(ordered, syntactic.gates)},
            lang,
        )
        if ordered.structure_without_unordered is not None:
            line += "; " + render(
                N_(
                    "without the items not ordered: structure accuracy {structure}, format accuracy "
                    "{format} (value-weighted; padding the batch with items not ordered never raises "
                    "them, and the value gates are judged on these too)"
                ),
                _ordered_figures(ordered, syntactic.gates, "_without_unordered"),
                lang,
            )
    return line


def _ordered_figures(ordered: Any, gates: list[Ratio], which: str = "_accuracy") -> dict[str, str]:
    """The structure and format figures over the items ordered (``which``: ``_accuracy``; or
    ``_without_unordered``, the value-weighted ones without the items not ordered), each beside its
    gate's target and whether it reaches it when the gate is judged on it (never shown reaching a
    target it misses, nor missing one it reaches)."""
    gate = {g.name: g for g in gates}
    shown = {}
    for key in ("structure", "format"):
        g = gate.get(f"{key}_accuracy")
        value = getattr(ordered, f"{key}{which}")
        value = getattr(value, "value", value)  # a Ratio's, or the figure itself
        target = g.target if g is not None else None
        passed = None  # shown, not judged on
        if ordered.judged and target is not None and value is not None:
            passed = count_reaches(value, target)
        shown[key] = fmt_value(value, True, target, passed)
    return shown


def _pending(model: Any) -> bool:
    return unfinished(model) is not None


def unfinished(model: Any) -> str | None:
    """Why a dimension that was evaluated is not finished, or None when it is (or failed anyway).

    Pending: a ``decision`` or ``status`` of ``incomplete``/``pending``, or ``complete`` False.
    Not evaluated in part: ``not_evaluated`` names items a check crashed on; the dimension is
    unfinished only while it passes without them (a failure on other grounds is decided)."""
    for attr in ("decision", "status"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value.lower() in _PENDING_WORDS:
            return "not finished"
    if getattr(model, "complete", None) is False:
        return "not finished"
    items = getattr(model, "not_evaluated", None)
    if items and bool(getattr(model, "passed", False)):
        return f"{len(items)} item{'s' if len(items) != 1 else ''} not evaluated (a check crashed)"
    return None


def dimension_state(result: QualityResult, dim: str) -> State:
    """Whether ``dim`` was evaluated, is still pending (or not evaluated in part), and passed."""
    model = getattr(result, dim, None)
    if model is None:
        return "missing"
    if _pending(model):
        return "pending"
    return "passed" if bool(getattr(model, "passed", False)) and not contradictions(result, dim) else "failed"


def contradictions(result: QualityResult, dim: str) -> list[Gate]:
    """The gated figures of ``dim`` that contradict its ``passed``: one that failed, or one said to
    pass with its value below its target. A result dqm wrote has none (it decides ``passed`` from
    these figures); one edited afterwards may, its content digest recomputed with it (the digest is
    no key: anyone can compute it). :func:`dimension_state` holds such a dimension failed, so that
    its ``passed`` alone never makes the gate pass."""
    model = getattr(result, dim, None)
    if model is None or not bool(getattr(model, "passed", False)):
        return []
    gates = dimension_gates(result, dim)
    if dim == "syntactic" and edited_order(result):  # the figures over the items ordered edited
        return [g for g in gates if ordered_name(g.name)] or gates
    return [
        g
        for g in gates
        if g.passed is False
        or (g.passed is True and g.target is not None and not reaches_ordered(model, g.name, g.target))
        # below its target by more than rounding (dqm.tolerance.reaches, the gates' own rule): 15
        # Dice of 0.85 have a mean 1 ulp below 0.85 while the bound a validity gate decides on
        # (gate_on: ci_low) equals it
        or (
            g.passed is True
            and g.value is not None
            and g.target is not None
            and not reaches(g.value, g.target)
        )
    ]


def edited_order(result: QualityResult) -> list[Message]:
    """The members of ``syntactic.ordered`` that disagree with the rest of ``result`` (its
    findings, items, waivers and ``order``), each as ``member: why``: empty for a result dqm
    wrote (:func:`dqm.syntactic.accuracy.ordered_edits`). dqm writes ``syntactic.ordered`` with
    every order list since 1.19, and only with one: a result holding one without the other had it
    deleted. With the ``order.list`` check disabled in the profile no finding lists the items not
    delivered or not ordered, and nothing is checked against those findings; a result listing it
    disabled that still holds its findings was edited so (``disabled_checks: …``)."""
    from dqm.syntactic.accuracy import ordered_edits

    syntactic = result.syntactic
    if syntactic is None:
        return []
    order = result.order
    listed = ORDER_CHECK not in result.disabled_checks  # the order list's findings are there
    if not listed and any(f.check == ORDER_CHECK for f in result.findings):
        # a check disabled finds nothing: its findings there, it ran (disabled_checks edited to
        # skip the checks below against them)
        return [msg("disabled_checks: {check} is listed, the findings hold its findings", check=ORDER_CHECK)]
    if syntactic.ordered is None:
        if _version(result.schema_version) < (1, 19):  # written before syntactic.ordered
            return []
        if order is not None:
            return [msg("ordered: missing, the result holds an order list (order)")]
        found = listed and any(f.code in (NOT_DELIVERED, NOT_ORDERED) for f in result.findings)
        return (
            [msg("ordered: missing, the findings list items not delivered or not ordered")] if found else []
        )
    waived = result.waivers.waived if result.waivers is not None else ()
    count = order.ordered if order is not None else None
    ids = [i.slide_id for i in result.items]
    out = ordered_edits(syntactic, result.findings, ids, waived, count, listed)
    if out and forms_apart(result):  # a result of 1.19 written before an id's forms were joined
        out = []
    if order is None:
        out.append(msg("order: missing, syntactic.ordered holds the figures over an order list"))
        return out
    if order.delivered + order.not_ordered != len(ids):
        out.append(
            msg(
                "order.delivered: {n} and not_ordered {m}, for {items} items delivered",
                n=order.delivered,
                m=order.not_ordered,
                items=len(ids),
            )
        )
    missing = sum(f.code == NOT_DELIVERED for f in result.findings)
    if listed and order.ordered - order.delivered != missing:
        out.append(
            msg(
                "order.delivered: {n} of {m}, the findings list {missing} {code}",
                n=order.delivered,
                m=order.ordered,
                missing=missing,
                code=NOT_DELIVERED,
            )
        )
    return out


def forms_apart(result: QualityResult) -> bool:
    """Whether ``result``'s figures over the items ordered count an id held in two Unicode forms
    as two ids: they disagree with the findings computed with the forms joined (as dqm computes
    them now) and agree computed with them apart, as results of 1.19 written before the forms were
    joined have them. ``dqm gate`` gates such a result as written, with a note (:func:`dqm.gate.gate`).
    The code ``ITEM_DELIVERED_AGAIN`` came with the join (a new result with an id in both forms
    holds one: the form no line matched is such a copy alike), so a result naming it anywhere
    (:func:`names_code`: a finding, ``syntactic.by_code``, the codes listed in ``checks`` or on a
    thumbnail) was written by a dqm that joins them: never. Nor one whose ``syntactic`` counts
    disagree with its findings' severities (that finding deleted with a count of it left, of
    whatever severity the profile gave it: ``warnings``, or ``errors`` less the ``STAGE_CRASHED``
    findings, which join the findings after the counts: :func:`dqm.audit.with_finding`; an ``info``
    finding has no such count). What this cannot tell: a new file edited to the figures apart with
    the code deleted everywhere and those counts edited alike reads as an older result; only a
    signature tells the writer (its digest is recomputed by whoever edits it)."""
    from dqm.syntactic.accuracy import ordered_edits, two_forms

    syntactic = result.syntactic
    ids = [i.slide_id for i in result.items]
    if syntactic is None or syntactic.ordered is None or not two_forms(ids):
        return False
    if names_code(result, AGAIN):
        return False
    if syntactic.warnings != sum(f.severity == Severity.WARNING for f in result.findings):
        return False
    errors = sum(f.severity == Severity.ERROR and f.code != STAGE_CRASHED for f in result.findings)
    if syntactic.errors != errors:
        return False
    waived = result.waivers.waived if result.waivers is not None else ()
    count = result.order.ordered if result.order is not None else None
    listed = ORDER_CHECK not in result.disabled_checks
    edits = [
        ordered_edits(syntactic, result.findings, ids, waived, count, listed, joined)
        for joined in (True, False)
    ]
    return bool(edits[0]) and not edits[1]


def names_code(result: QualityResult, code: str) -> bool:
    """Whether ``result`` names the reason ``code`` anywhere it lists codes: a finding, a count of
    ``syntactic.by_code``, a check's codes (``checks``: every code a check that ran can raise, since
    results 1.1) or a thumbnail's codes. A dqm that has the code lists it among its check's codes
    whether or not a finding has it."""
    syntactic = result.syntactic
    return (
        any(f.code == code for f in result.findings)
        or (syntactic is not None and code in syntactic.by_code)
        or any(c.code == code for check in result.checks for c in check.codes)
        or any(code in t.codes for t in result.thumbnails)
    )


def _version(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        return ()


def ordered_name(name: str) -> bool:
    """Whether the gate ``name`` is a value gate judged on the figures over the items ordered too."""
    return name in ("structure_accuracy", "format_accuracy")


def ordered_figure(syntactic: Any, name: str) -> float | None:
    """The figure over the items ordered a value gate ``name`` of ``syntactic`` is judged on too
    (:func:`dqm.syntactic.accuracy._judged_on`: the delivery not the order list exactly);
    None when it is judged on the value-weighted figure alone."""
    ordered = getattr(syntactic, "ordered", None)
    if ordered is None or not ordered_name(name):
        return None
    if not ordered.judged:
        return None
    return ordered.bound(name)


def reaches_ordered(model: Any, name: str, target: float) -> bool:
    """Whether the figure over the items ordered a gate is judged on too (:func:`ordered_figure`)
    reaches its ``target`` (True when there is none)."""
    value = ordered_figure(model, name)
    return value is None or reaches(value, target)


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
        return fmt_value(self.value, self.percent, self.target, self.passed)

    @property
    def shown_target(self) -> str:
        return "–" if self.target is None else f"≥ {fmt_value_target(self.target, self.percent)}"

    @property
    def shown_counts(self) -> str:
        return self.counts_in("en")

    def label_in(self, lang: str) -> str:
        """:attr:`label` in ``lang`` (a name that is data, such as a class id, as it is)."""
        return gettext(self.label, lang)

    def counts_in(self, lang: str) -> str:
        """``numerator / denominator unit``, the unit in ``lang``."""
        if self.denominator is None:
            return ""
        num = "" if self.numerator is None else f"{self.numerator} / "
        unit = gettext(self.unit, lang) if self.unit else ""
        return f"{num}{self.denominator} {unit}".strip()

    @property
    def shown_ci(self) -> str:
        if self.ci_low is None or self.ci_high is None:
            return ""
        # the low end may be what is decided on (validity's gate_on: ci_low): never shown reaching a
        # target it failed
        low = fmt_value(self.ci_low, self.percent, self.target, self.passed)
        return f"{low} – {fmt_value(self.ci_high, self.percent)}"

    @property
    def decision(self) -> str:
        return {True: "pass", False: "fail", None: "–"}[self.passed]

    def describe(self, lang: str = "en") -> str:
        """One line, e.g. ``file accuracy 87.70 % (107 / 122 files), target ≥ 99.00 %: fail``."""
        shown = self.counts_in(lang)
        counts = f" ({shown})" if shown else ""
        ci = render(N_(", interval {ci}"), {"ci": self.shown_ci}, lang) if self.shown_ci else ""
        target = (
            render(N_(", target {target}"), {"target": self.shown_target}, lang)
            if self.target is not None
            else ""
        )
        return f"{self.label_in(lang)} {self.shown_value}{counts}{ci}{target}: {gettext(self.decision, lang)}"


def _pointer(parts: tuple[Any, ...]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _figure(item: DecidedFigure | Ratio) -> DecidedFigure:
    """A syntactic ratio is a decided figure shown as a percentage."""
    if isinstance(item, DecidedFigure):
        return item
    return DecidedFigure(
        name=item.name,
        value=item.value,
        target=item.target,
        passed=item.passed,
        numerator=item.numerator,
        denominator=item.denominator,
        unit=item.unit,
        ci_low=item.ci_low,
        ci_high=item.ci_high,
        percent=True,
        note=item.note,
    )


def _gate(dim: str, f: DecidedFigure, where: tuple[Any, ...], value_field: str) -> Gate:
    return Gate(
        dim,
        f"{dim}.{f.key or f.name}",
        f.name,
        f.value,
        f.target,
        f.passed,
        f.numerator,
        f.denominator,
        f.unit,
        f.ci_low,
        f.ci_high,
        percent=f.percent,
        note=f.note,
        pointer=_pointer((dim, *where)),
        value_field=value_field,
    )


def dimension_gates(result: QualityResult, dim: str) -> list[Gate]:
    """The gated thresholds of ``dim`` (empty when it was not evaluated), as it declared them."""
    model = getattr(result, dim, None)
    if model is None:
        return []
    declared: list[DecidedFigure | Ratio] = list(getattr(model, "gates", None) or [])
    # stored ``gates`` point at themselves in results.json; computed ones at what they were read from
    stored = isinstance(model, BaseModel) and "gates" in type(model).model_fields
    gates = []
    for i, item in enumerate(declared):
        f = _figure(item)
        if stored:
            gates.append(_gate(dim, f, ("gates", i), "value"))
        else:
            gates.append(_gate(dim, f, tuple(f.source.split("/")) if f.source else (), f.value_field))
    if not gates:
        passed = getattr(model, "passed", None)
        gates = [_gate(dim, DecidedFigure.verdict(dim, passed if isinstance(passed, bool) else None), (), "")]
    why = unfinished(model)
    if why is not None:
        # a provisional figure has no decision yet: "fail" would claim what was not decided
        gates = [_undecided(g, why) for g in gates]
    seen: dict[str, int] = {}
    unique = []
    for g in gates:  # keys stay unique even when two gates share a name
        n = seen.get(g.key, 0)
        seen[g.key] = n + 1
        unique.append(g if n == 0 else replace(g, key=f"{g.key}#{n + 1}"))
    return unique


def _undecided(g: Gate, why: str) -> Gate:
    return replace(g, passed=None, note="; ".join(n for n in (g.note, f"provisional: {why}") if n))


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
