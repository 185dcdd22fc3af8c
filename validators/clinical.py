"""Clinical-table checks: the great-expectations results, as findings with row and column."""

from __future__ import annotations

from dqm.clinical_table import IDENTIFYING, TableFailure, TableValidation
from dqm.findings import Aspect, Finding
from validators.context import BatchView
from validators.registry import CheckContext, NoParams, check

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


def _shown(column: str, value: object) -> str:
    if column in IDENTIFYING:
        return ""
    return f" ({str(value)[:60]!r})"


def _findings(
    table: TableValidation, failure: TableFailure, ctx: CheckContext, manifest: str | None
) -> list[Finding]:
    if not failure.rows:
        where = manifest or "the annotation files' clinical blocks"
        return [
            ctx.finding(
                failure.code,
                f"{failure.column}: expected {failure.description}, failed for the table in {where}",
                item_id=manifest or "batch",
                file=manifest,
                column=failure.column or None,
            )
        ]
    out = []
    values = failure.values if len(failure.values) == len(failure.rows) else (None,) * len(failure.rows)
    for idx, value in zip(failure.rows, values, strict=True):
        src = table.sources[idx]
        shown = _shown(failure.column, value) if value is not None else ""
        message = f"{failure.column}{shown}: expected {failure.description}"
        if src.row is not None:
            out.append(
                ctx.finding(
                    failure.code,
                    message,
                    item_id=src.item_id,
                    file=src.file,
                    row=src.row,
                    column=failure.column,
                )
            )
        else:
            out.append(
                ctx.finding(
                    failure.code,
                    message,
                    item_id=src.item_id,
                    file=src.file,
                    pointer=f"/clinical/{failure.column}",
                )
            )
    return out


def _emit(batch: BatchView, ctx: CheckContext) -> list[Finding]:
    table = batch.table
    if table is None:
        return []
    out: list[Finding] = []
    for failure in table.failures:
        if failure.code in ctx.spec.codes:
            out.extend(_findings(table, failure, ctx, batch.manifest))
    return out


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
