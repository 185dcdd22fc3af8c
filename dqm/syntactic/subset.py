"""A part of a run judged on its own: a ``--lot-by`` lot (:mod:`dqm.lots.compute`), or the items
of the buyer's order list without those not ordered (:func:`dqm.syntactic.accuracy.syntactic_result`):
its items' outcomes, its rows of the clinical table, its share of the manifest's path cells, the
batch findings on its items and the order list's items not delivered given to it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from dqm.findings import Finding
from dqm.order import NOT_DELIVERED, NOT_DELIVERED_LOT
from dqm.runner import Run


@dataclasses.dataclass(frozen=True, slots=True)
class ItemRows:
    """Where the rows of a run's clinical table and its batch findings are, by item: found in one
    pass over the batch, not one a lot (500 lots of a million items)."""

    table: dict[tuple[str, int | None], list[int]]
    """(item id, manifest row) -> indexes of the clinical table's sources."""
    batch_findings: dict[str, list[int]]
    """Item id -> indexes of the run's batch findings."""
    undelivered: dict[str, list[int]]
    """Lot name -> indexes of the run's findings of items ordered and not delivered (their item
    id is the order list's, in no lot of the batch's items)."""

    @classmethod
    def of(cls, run: Run, order_lots: Mapping[int, str]) -> ItemRows:
        table: dict[tuple[str, int | None], list[int]] = {}
        for i, s in enumerate(run.table.sources if run.table is not None else ()):
            table.setdefault((s.item_id, s.row), []).append(i)
        findings: dict[str, list[int]] = {}
        undelivered: dict[str, list[int]] = {}
        for i, f in enumerate(run.batch_findings):
            if f.code == NOT_DELIVERED:
                lot = order_lots.get(f.location.line or 0, NOT_DELIVERED_LOT)
                undelivered.setdefault(lot, []).append(i)
            else:
                findings.setdefault(f.item_id, []).append(i)
        return cls(table, findings, undelivered)


def part_run(run: Run, name: str, indices: list[int], manifest_rows: int, where: ItemRows) -> Run:
    """The part of ``run`` that belongs to the lot ``name`` (see the module docstring): its
    items ``indices`` and the items of the order list not delivered in it; ``manifest_rows``
    is the number of the batch's items that have a manifest row, ``where`` the run's rows by item."""
    outcomes = run.outcomes.take(indices)  # the lot's rows of each column: no record built
    summaries = outcomes.summaries()
    slide_ids, manifest_row = summaries.column("slide_id"), summaries.column("row")
    ids = set(slide_ids)
    disc = run.discovery
    lot_rows = sum(row is not None for row in manifest_row)
    cells = disc.manifest_cells // manifest_rows * lot_rows if manifest_rows else 0
    table = run.table
    if table is not None:
        rows = set(zip(slide_ids, manifest_row, strict=True))  # a slide id may repeat
        keep = sorted(i for key in rows for i in where.table.get(key, ()))
        table = dataclasses.replace(
            table, frame=table.frame.iloc[keep], sources=[table.sources[i] for i in keep]
        )
    # a repeated id's findings at the manifest row of a copy outside the part stay with that copy
    others = set(run.outcomes.summaries().column("row")) - set(manifest_row) - {None}
    found = sorted(
        i
        for s in ids
        for i in where.batch_findings.get(s, ())
        if not _at_row(run.batch_findings[i], disc.manifest, others)
    )
    found += where.undelivered.get(name, [])
    return dataclasses.replace(
        run,
        outcomes=outcomes,
        batch_findings=[run.batch_findings[i] for i in found],
        discovery=dataclasses.replace(disc, manifest_cells=cells, issues=[]),
        table=table,
        ordered=None,  # a lot's figures are the value-weighted ones, and it is judged on what it shows
    )


def _at_row(f: Finding, manifest: str | None, rows: set[int]) -> bool:
    """Whether ``f`` is at one of the manifest's rows ``rows``."""
    return manifest is not None and f.location.file == manifest and f.location.row in rows
