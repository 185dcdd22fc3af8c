"""The order check (aspect ``file``): the batch against the buyer's order list (``--expect``,
:mod:`dqm.order`). Without an order list it finds nothing."""

from __future__ import annotations

from dqm.checksums import Listed
from dqm.findings import Aspect, Finding, Severity
from dqm.i18n import N_, msg
from dqm.order import AGAIN, MISMATCH, NOT_DELIVERED, NOT_ORDERED, ORDER_CHECK, delivered_again
from validators.checksum import not_hashed
from validators.context import BatchView
from validators.registry import CheckContext, NoParams, check


@check(
    ORDER_CHECK,
    aspect=Aspect.FILE,
    scope="batch",
    codes={
        NOT_DELIVERED: "an item of the order list (--expect) is not in the batch: counted as its slide "
        "and annotation files missing",
        NOT_ORDERED: "an item of the batch is not in the order list (--expect)",
        MISMATCH: "a slide's SHA-256 differs from the one the order list (--expect) gives",
        AGAIN: "an item not in the order list (--expect) is a copy alike of an item a line names (its id, "
        "or its slide's path or name, but for case, Unicode form and spacing): both are judged, "
        "the worst copy counting in the figures without the items not ordered",
    },
    code_severity={NOT_ORDERED: Severity.WARNING, AGAIN: Severity.WARNING},
)
def order_list(batch: BatchView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """Every item of the order list (--expect) is delivered, with the SHA-256 it gives, and nothing else is."""
    order = batch.order
    if order is None:
        return []
    out: list[Finding] = []
    what = N_("slide file") if order.by_file else N_("item id")
    for entry, k in zip(order.entries, batch.order_matches, strict=True):
        if k is None:
            text = msg(
                "{key!r} is ordered ({file} line {line}) but not delivered: no item of the batch has this {_what}",
                key=entry.key,
                file=order.name,
                line=entry.line,
                _what=what,
            )
            out.append(ctx.finding(NOT_DELIVERED, text, item_id=entry.key, file=order.name, line=entry.line))
            continue
        item = batch.items[k]
        if entry.sha256 is None:
            continue
        listed = Listed(item.image_path or "", entry.sha256, "", line=entry.line, source=order.name)
        rel = _batch_path(item.image_path)
        actual = batch.hashed.get(rel) if rel else None
        if actual == entry.sha256:
            continue
        text = (
            not_hashed(rel or entry.key, listed, batch.sparse.get(rel or ""))
            if actual is None
            else msg(
                "{path!r} has SHA-256 {actual}, {_where} gives {listed}",
                path=rel,
                actual=actual,
                listed=entry.sha256,
                **listed.where_params(),
            )
        )
        out.append(ctx.finding(MISMATCH, text, item_id=item.slide_id, file=rel or order.name))
    ordered = {k for k in batch.order_matches if k is not None}
    ids = [item.slide_id for item in batch.items]
    again = delivered_again(order, ids, [item.image_path for item in batch.items], batch.order_matches)
    for k, item in enumerate(batch.items):
        if k not in ordered:
            text = msg(
                "{id!r} is delivered but not in the order list {file}", id=item.slide_id, file=order.name
            )
            slide = _batch_path(item.image_path)
            # an item without a slide file is told by its manifest row: its copies share its id
            # (dqm.syntactic.accuracy.unordered_rows keeps out exactly the items no line matched)
            row = item.row if slide is None else None
            where = {"item_id": item.slide_id, "file": slide or batch.manifest, "row": row}
            out.append(ctx.finding(NOT_ORDERED, text, **where))
            if k in again:
                # the twin's slide too (not in the text): in a list by file two kept items may have its id
                twin_file = _batch_path(batch.items[again[k]].image_path)
                text = msg(
                    "{id!r} is not in the order list {file}, but a copy alike of {twin!r}, which a line "
                    "names: both are judged (the worst copy counts without the items not ordered)",
                    id=item.slide_id,
                    file=order.name,
                    twin=ids[again[k]],
                    **({} if twin_file is None else {"twin_file": twin_file}),
                )
                out.append(ctx.finding(AGAIN, text, **where))
    return out


def _batch_path(rel: str | None) -> str | None:
    """A slide's path as its findings name it (:func:`dqm.batch.as_read`)."""
    from dqm.batch import as_read

    return as_read(rel)
