"""The quality table in the AI-Hub layout, from any ``results.json``: rows, xlsx, csv.

One row per gated figure (:func:`dqm.figures.all_gates`), grouped by quality characteristic in
the layout's order: syntactic accuracy, semantic accuracy (the sampling plan as its method),
statistical diversity (each gated test instead of the dimension's verdict), diversity
requirements (the minimum counts), validity (Dice per class, the model and split as its method);
then the slides' technical checks and de-identification, as the share of slides without an error
finding of the layout's checks. Values and targets are those the result states (targets came
from the profile when the audit ran); the technical rows' targets come from the profile's
layout. The words are the layout's (:mod:`dqm.quality_layout`). Nothing here decides anything.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dqm.diversity.minimums import is_minimum
from dqm.diversity.settings import PATIENT_GROUPS
from dqm.figures import Gate, all_gates, fmt_value, fmt_value_target
from dqm.i18n import translated
from dqm.output import spreadsheet_safe, visible
from dqm.quality_layout import QualityTableLayout, TechnicalRow
from dqm.results import QualityResult
from dqm.tolerance import count_reaches, fmt_among

_SHOWN_AS = {"syntactic": "syntactic", "semantic": "semantic", "validity": "validity"}
"""The characteristic of each dimension's gates (diversity's: below)."""


@dataclass(frozen=True, slots=True)
class Row:
    """One row of the table in one language; ``value`` and ``target`` are numbers or None."""

    characteristic: str
    item: str
    metric: str
    target: float | None
    target_text: str
    """The target as printed (``≥ 99.00 %``), or a rule in words where no number decides."""
    scope: str
    method: str
    value: float | None
    percent: bool
    decision: str
    passed: bool | None = None
    """The row's own decision: a value within rounding of its target reads as the target only
    when True (:func:`dqm.figures.fmt_value`)."""

    def cell(self, key: str) -> str | float | None:
        return {
            "characteristic": self.characteristic,
            "item": self.item,
            "metric": self.metric,
            "target": self.target if self.target is not None else self.target_text,
            "scope": self.scope,
            "method": self.method,
            "value": self.value,
            "decision": self.decision,
        }[key]

    def shown(self, key: str) -> str:
        """The cell as text (HTML, CSV)."""
        if key == "target":
            return self.target_text
        if key == "value":
            return (
                "–" if self.value is None else fmt_value(self.value, self.percent, self.target, self.passed)
            )
        return str(self.cell(key))


def _decision(layout: QualityTableLayout, lang: str, passed: bool | None) -> str:
    return layout.word({True: "pass", False: "fail", None: "undecided"}[passed], lang)


def _target_text(layout: QualityTableLayout, lang: str, target: float | None, percent: bool) -> str:
    if target is None:
        return "–"
    # as written, as the value beside it is shown against it (0.99994: ``99.994 %``, not ``99.99 %``)
    return layout.word("at_least", lang, {"target": fmt_value_target(target, percent)})


def _unit(layout: QualityTableLayout, lang: str, unit: str) -> str:
    return layout.word(unit, lang) if unit in layout.words else unit


def _semantic_params(result: QualityResult, layout: QualityTableLayout, lang: str) -> dict[str, object]:
    s = result.semantic
    if s is None:
        return {}
    size = s.core.size if s.core is not None else s.sample_size
    params = {
        "level": s.level,
        "aql": s.aql,
        "n": size,
        "ac": s.acceptance_number,
        "re": s.rejection_number,
        "confidence": f"{100 * s.confidence:g} %",
        "lq": f"{s.lq:g}" if s.lq is not None else None,
    }
    return {"plan": layout.word("lq_plan" if s.lq is not None else s.plan, lang, params)}


def _validity_params(result: QualityResult) -> dict[str, object]:
    v = result.validity
    if v is None:
        return {}
    return {
        "model": type(v.profile.network).__name__.removesuffix("Config"),
        "profile": v.profile.name,
        "split": v.split.mode,
        "unit": v.split.unit,
        "folds": len(v.split.folds),
        "seed": v.split.seed,
    }


def _gate_rows(result: QualityResult, layout: QualityTableLayout, lang: str) -> dict[str, list[Row]]:
    chars = {c.key: c for c in layout.characteristics}
    rows: dict[str, list[Row]] = {k: [] for k in chars}
    params = {"semantic": _semantic_params(result, layout, lang), "validity": _validity_params(result)}
    for g in all_gates(result):
        if g.dimension == "diversity" and not is_minimum(g.key):
            continue  # the verdict: its tests are rows of their own
        key = "requirements" if g.dimension == "diversity" else _SHOWN_AS.get(g.dimension)
        if key is None or key not in chars:
            continue
        rows[key].append(_gate_row(g, key, layout, lang, params.get(g.dimension, {})))
    if "diversity" in chars:
        rows["diversity"] = _test_rows(result, layout, lang)
    return rows


def _gate_row(
    g: Gate,
    key: str,
    layout: QualityTableLayout,
    lang: str,
    params: Mapping[str, object],
) -> Row:
    char = next(c for c in layout.characteristics if c.key == key)
    item = layout.items.get(g.key)
    if item is not None:
        title, metric = item.title.text(lang), item.metric.text(lang)
    elif key == "validity":
        title, metric = layout.word("dice", lang, {"name": g.name}), layout.word("dice_metric", lang)
    elif key == "requirements":
        title, metric = _minimum_words(g, layout, lang)
    else:
        title, metric = g.label, g.label
    n = g.denominator if g.denominator is not None else "–"
    return Row(
        characteristic=char.title.text(lang),
        item=title,
        metric=char.metric.text(lang, {"metric": metric}),
        target=g.target,
        target_text=g.note
        if g.target is None and g.note
        else _target_text(layout, lang, g.target, g.percent),
        scope=char.scope.text(lang, {"n": n, "unit": _unit(layout, lang, g.unit)}),
        method=char.method.text(lang, params),
        value=g.value,
        percent=g.percent,
        decision=_decision(layout, lang, g.passed),
        passed=g.passed,
    )


def _minimum_words(g: Gate, layout: QualityTableLayout, lang: str) -> tuple[str, str]:
    # key: diversity.minimum.<grouping>.<category…>.<count|share>
    parts = g.key.split(".")
    grouping, category, what = parts[2], " × ".join(parts[3:-1]), parts[-1]
    if grouping in PATIENT_GROUPS:
        title = layout.word(f"minimum_patients_{what}", lang, {"category": category})
        return title, layout.word("minimum_patients_metric", lang)
    group = grouping.replace("_", " × ")
    title = layout.word(f"minimum_{what}", lang, {"group": group, "category": category})
    return title, layout.word("minimum_metric", lang)


def _test_rows(result: QualityResult, layout: QualityTableLayout, lang: str) -> list[Row]:
    d = result.diversity
    if d is None:
        return []
    char = next(c for c in layout.characteristics if c.key == "diversity")
    out = []
    for t in d.tests:
        if not t.gated:
            continue
        effect = (
            "–"
            if t.effect_size is None
            else f"{t.effect_name} {fmt_among(t.effect_size, t.thresholds.values())}".strip()
        )
        value = t.p_adjusted if t.p_adjusted is not None else t.p_value
        metric = (
            layout.word("test_metric", lang, {"method": t.method, "effect": effect})
            if value is not None
            else translated(t.statistic_name or t.title, lang)
        )
        out.append(
            Row(
                characteristic=char.title.text(lang),
                item=translated(t.title, lang),
                metric=char.metric.text(lang, {"metric": metric}),
                target=None,
                target_text=translated(t.rule, lang),
                scope=char.scope.text(lang, {"n": t.n, "unit": _unit(layout, lang, "slides")}),
                method=char.method.text(
                    lang, {"test": t.method, "alpha": f"{d.alpha:g}", "correction": d.correction}
                )
                if t.in_family
                else layout.word("rule", lang),
                value=value if value is not None else t.statistic,
                percent=False,
                decision=layout.word(t.decision, lang),
            )
        )
    return out


def _error_checks(result: QualityResult) -> set[tuple[str, str]]:
    """Each slide and check with an error finding, once: what every technical row counts (one
    pass over the findings, not one a row)."""
    return {(f.item_id, f.check) for f in result.findings if f.severity.value == "error"}


def _technical_row(
    result: QualityResult,
    layout: QualityTableLayout,
    lang: str,
    spec: TechnicalRow,
    errors: set[tuple[str, str]],
) -> Row:
    char = next(c for c in layout.characteristics if c.key == spec.characteristic)
    slides = {i.slide_id for i in result.items}
    bad = {
        item
        for item, check in errors
        if item in slides
        and any(check == c or (c.endswith(".") and check.startswith(c)) for c in spec.checks)
    }
    n = len(slides)
    value = (n - len(bad)) / n if n else None
    passed = None if value is None else count_reaches(value, spec.target)
    return Row(
        characteristic=char.title.text(lang),
        item=spec.title.text(lang),
        metric=char.metric.text(lang, {"metric": spec.metric.text(lang)}),
        target=spec.target,
        target_text=_target_text(layout, lang, spec.target, True),
        scope=char.scope.text(lang, {"n": n, "unit": _unit(layout, lang, "slides")}),
        method=char.method.text(lang),
        value=value,
        percent=True,
        decision=_decision(layout, lang, passed),
        passed=passed,
    )


def quality_rows(result: QualityResult, layout: QualityTableLayout, lang: str) -> list[Row]:
    """The table's rows in ``lang``, grouped by characteristic in the layout's order."""
    by_char = _gate_rows(result, layout, lang)
    errors = _error_checks(result)
    for spec in layout.technical:
        if spec.characteristic in by_char:
            by_char[spec.characteristic].append(_technical_row(result, layout, lang, spec, errors))
    return [row for c in layout.characteristics for row in by_char[c.key]]


def quality_csv(result: QualityResult, layout: QualityTableLayout, lang: str) -> str:
    """One language's table as CSV text (every cell spreadsheet-safe; numbers as printed)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([spreadsheet_safe(c.title.text(lang)) for c in layout.columns])
    for row in quality_rows(result, layout, lang):
        w.writerow([_csv_cell(row, c.key) for c in layout.columns])
    return "\ufeff" + buf.getvalue()  # a BOM: spreadsheets then read the Hangul as UTF-8


def _csv_cell(row: Row, key: str) -> str:
    value = row.cell(key)
    if isinstance(value, float):
        return repr(value)
    return spreadsheet_safe("" if value is None else str(value))


def quality_xlsx(result: QualityResult, layout: QualityTableLayout) -> bytes:
    """The workbook: one sheet per language; numbers stored as numbers (percent-formatted where
    a proportion), every text stored as a string cell, never as a formula."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.identifier = result.run_id or None  # the run whose result it lays out
    for lang in layout.languages:
        ws = wb.create_sheet(_sheet_title(layout.sheet_names.text(lang), lang, wb.sheetnames))
        for col, c in enumerate(layout.columns, start=1):
            _text_cell(ws, 1, col, c.title.text(lang)).font = Font(bold=True)
        for r, row in enumerate(quality_rows(result, layout, lang), start=2):
            for col, c in enumerate(layout.columns, start=1):
                value = row.cell(c.key)
                if isinstance(value, float | int):
                    cell = ws.cell(row=r, column=col, value=float(value))
                    cell.number_format = "0.00%" if row.percent else "General"
                else:
                    cell = _text_cell(ws, r, col, "" if value is None else value)
                cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _text_cell(ws, row: int, col: int, text: str):  # type: ignore[no-untyped-def]
    """A string cell, shown as it is (:func:`~dqm.output.visible`): openpyxl would store text
    starting with ``=`` as a formula."""
    cell = ws.cell(row=row, column=col)
    cell.value = visible(text)
    cell.data_type = "s"
    return cell


def _sheet_title(name: str, lang: str, taken: list[str]) -> str:
    bad = set("[]:*?/\\")
    title = "".join("_" if ch in bad else ch for ch in name)[:28].strip("'") or lang
    return title if title not in taken else f"{title[:25]} {lang}"


def quality_files(result: QualityResult, layout: QualityTableLayout, path: Path) -> dict[Path, str | bytes]:
    """What ``--quality-table PATH`` writes, by path: ``.xlsx`` one workbook (a sheet per
    language), ``.csv`` one file per language beside it (``NAME.ko.csv``, ``NAME.en.csv``).

    Raises
    ------
    ValueError
        For any other suffix.
    """
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return {path: quality_xlsx(result, layout)}
    if suffix == ".csv":
        return {
            path.with_suffix(f".{lang}.csv"): quality_csv(result, layout, lang) for lang in layout.languages
        }
    raise ValueError(f"{path.name}: the quality table is written as .xlsx or .csv")
