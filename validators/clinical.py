"""Clinical checks: the clinical table's great-expectations results, as findings with row and
column, and an annotation file's clinical block against its manifest row."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from dqm.clinical_table import IDENTIFYING, TableValidation
from dqm.findings import Aspect, Finding, clip
from dqm.i18n import N_, Message, msg
from validators.context import BatchView, ItemView
from validators.registry import CheckContext, NoParams, check, forward

STRUCTURE_CODES = {
    "CLINICAL_MISSING_COLUMN": "a required clinical field is absent from the table",
    "CLINICAL_MISSING_VALUE": "a required clinical value is empty",
    "CLINICAL_WRONG_TYPE": "a clinical value is not of its field's type",
}
FORMAT_CODES = {
    "CLINICAL_OUT_OF_RANGE": "a numeric clinical value is outside its range",
    "CLINICAL_NOT_IN_SET": "a clinical value is not one of its field's values",
    "CLINICAL_UNKNOWN_CLASS": "a diagnosis is not a class of the taxonomy",
    "CLINICAL_BAD_DATE": "a date is not YYYY-MM-DD",
    "CLINICAL_PATTERN": "a clinical value does not match its field's pattern",
    "CLINICAL_NOT_UNIQUE": "a value that must be unique repeats",
    "GX_EXPECTATION_FAILED": "an expectation of the user's great-expectations suite failed",
    "CLINICAL_EXPECTATION_ERROR": "an expectation could not be evaluated (its message is quoted)",
}


_EXPECTED_WITH_VALUES = {
    "an {type}": N_("{column}{shown}: expected an {type}"),
    "between {min} and {max}": N_("{column}{shown}: expected between {min} and {max}"),
    "one of {values}": N_("{column}{shown}: expected one of {values}"),
    "matches {pattern}": N_("{column}{shown}: expected matches {pattern}"),
}
"""A failing row's message for the profile's rules whose expectation has values of its own; the
other rules' expectations are whole msgids, passed as ``{_expected}``."""


def _row_message(column: str, shown: str, expected: str) -> str:
    """``column (value): expected …`` in words the catalogue translates where it can."""
    if isinstance(expected, Message) and expected.template in _EXPECTED_WITH_VALUES:
        return msg(_EXPECTED_WITH_VALUES[expected.template], column=column, shown=shown, **expected.params)
    if isinstance(expected, Message) and not expected.params:
        return msg(
            "{column}{shown}: expected {_expected}", column=column, shown=shown, _expected=expected.template
        )
    return msg("{column}{shown}: expected {expected}", column=column, shown=shown, expected=expected)


def _table_message(column: str, expected: str, manifest: str | None) -> str:
    """A failure of the whole table (no row to point at), in the manifest or the clinical blocks."""
    if isinstance(expected, Message) and not expected.params:
        if manifest is None:
            return msg(
                "{column}: expected {_expected}, failed for the table in the annotation files' clinical blocks",
                column=column,
                _expected=expected.template,
            )
        return msg(
            "{column}: expected {_expected}, failed for the table in {where}",
            column=column,
            _expected=expected.template,
            where=manifest,
        )
    where = manifest or "the annotation files' clinical blocks"
    return msg(
        "{column}: expected {expected}, failed for the table in {where}",
        column=column,
        expected=expected,
        where=where,
    )


def _shown(column: str, value: object) -> str:
    if column in IDENTIFYING:
        return ""
    return f" ({clip(str(value), 60)!r})"


@dataclass(frozen=True, slots=True)
class _TableIssue:
    """A failed expectation at one row of the clinical table (or at the whole table)."""

    code: str
    message: str
    location: dict[str, Any]

    def where(self) -> dict[str, Any]:
        return self.location


def _table_issues(table: TableValidation, manifest: str | None) -> Iterator[_TableIssue]:
    """The expectations' failures, one issue per failing row: its manifest cell, or the clinical
    block of the annotation file the row came from."""
    for failure in table.failures:
        if not failure.rows:
            yield _TableIssue(
                failure.code,
                _table_message(failure.column, failure.description, manifest),
                {"item_id": manifest or "batch", "file": manifest, "column": failure.column or None},
            )
            continue
        values = failure.values if len(failure.values) == len(failure.rows) else (None,) * len(failure.rows)
        for idx, value in zip(failure.rows, values, strict=True):
            src = table.sources[idx]
            shown = _shown(failure.column, value) if value is not None else ""
            location: dict[str, Any] = {"item_id": src.item_id, "file": src.file}
            if src.row is not None:
                location |= {"row": src.row, "column": failure.column}
            else:
                location["pointer"] = f"/clinical/{failure.column}"
            yield _TableIssue(
                failure.code, _row_message(failure.column, shown, failure.description), location
            )


def _emit(batch: BatchView, ctx: CheckContext) -> list[Finding]:
    return [] if batch.table is None else forward(_table_issues(batch.table, batch.manifest), ctx)


@check("clinical.structure", aspect=Aspect.STRUCTURE, scope="batch", codes=STRUCTURE_CODES)
def clinical_structure(batch: BatchView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """The clinical table has every required field, filled, with values of the field's type."""
    return _emit(batch, ctx)


@check("clinical.domain", aspect=Aspect.FORMAT, scope="batch", codes=FORMAT_CODES)
def clinical_domain(batch: BatchView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """Clinical values lie in their domains: ranges, value sets, taxonomy, dates, uniqueness."""
    out = _emit(batch, ctx)
    if batch.table is not None and batch.table.error:
        out.append(
            ctx.finding(
                "CLINICAL_EXPECTATION_ERROR",
                batch.table.error,
                item_id="batch",
                file=batch.manifest,
            )
        )
    return out


def _same(a: Any, b: Any, field: str, view: ItemView) -> bool:
    if field == "diagnosis":
        p = view.profile
        return p.resolve_class(a, view.item.institution) == p.resolve_class(b, view.item.institution)
    try:
        return float(a) == float(b)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an integer beyond a float
        return str(a).strip().casefold() == str(b).strip().casefold()


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip()) or (isinstance(v, float) and math.isnan(v))


@check(
    "clinical.consistency",
    aspect=Aspect.FORMAT,
    codes={"CLINICAL_MISMATCH": "the annotation's clinical block contradicts the manifest"},
)
def clinical_consistency(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """Clinical values in the annotation file agree with the manifest row."""
    ann = view.annotation
    if ann is None or view.item.row is None or not ann.clinical:
        return []
    out = []
    for field, theirs in ann.clinical.items():
        ours = view.item.record.get(field)
        if field not in view.profile.clinical or _blank(ours) or _blank(theirs):
            continue
        if not _same(ours, theirs, field, view):
            text = (
                msg(
                    "{field} differs between manifest row {row} and the annotation",
                    field=field,
                    row=view.item.row,
                )
                if field in IDENTIFYING
                else msg(
                    "{field} differs between manifest row {row} and the annotation: manifest {ours!r}, "
                    "annotation {theirs!r}",
                    field=field,
                    row=view.item.row,
                    ours=ours,
                    theirs=theirs,
                )
            )
            out.append(
                ctx.finding(
                    "CLINICAL_MISMATCH",
                    text,
                    pointer=f"/clinical/{field}",
                )
            )
    return out
