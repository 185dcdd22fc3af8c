"""Delivery commands: ``dqm fixlist`` (what a hospital must fix, from a results.json)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from dqm.cli.common import (
    ExpectOpt,
    LangOpt,
    MaskKeyOpt,
    ProfileOpt,
    app,
    load_profile_or_exit,
    load_result_or_exit,
    locked,
    order_or_exit,
    out,
    output_folder,
    removed_when_unused,
    settle_own_or_exit,
    start_masking,
    usage_error,
    warning,
)
from dqm.i18n import msg, translator

FIXLIST_FILES = {"html": "fixlist.html", "csv": "fixlist.csv"}


@app.command()
def fixlist(
    context: typer.Context,
    results: Annotated[Path, typer.Argument(help="A results.json written by dqm audit.")],
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for fixlist.html and fixlist.csv.")
    ] = Path("dqm-fixlist"),
    lot: Annotated[
        str | None,
        typer.Option(help="Only the slides of this lot (the value of --lot-by in their clinical record)."),
    ] = None,
    lot_by: Annotated[
        str, typer.Option(help="The clinical field that names an item's lot (institution, vendor, ...).")
    ] = "institution",
    profile: ProfileOpt = None,
    mask_key: MaskKeyOpt = None,
    expect: ExpectOpt = None,
    lang: LangOpt = "en",
) -> None:
    """What a hospital must fix: the findings of its slides grouped by file, with where each one is,
    as fixlist.html and fixlist.csv (names masked as in the results). With --lot and the audit's
    order list (--expect), the lot's items ordered and not delivered too."""
    from dqm.output import OutputSet
    from reports.fixlist import (
        LotError,
        fix_rows,
        fixed_rows,
        lot_items,
        render_fixlist_csv,
        render_fixlist_html,
    )

    masker = start_masking(load_profile_or_exit(profile).deid, mask_key)
    settle_own_or_exit(results, out_dir)
    result = load_result_or_exit(results)
    batch = Path(result.batch.path)
    root = batch.resolve() if batch.is_dir() else None
    out_dir = removed_when_unused(context, out_dir, root)  # refused below (an unknown --lot): none left
    output_folder(out_dir, root, "--out")
    lines = _undelivered_lines(result, expect, root, lot_by, lot, masker) if lot is not None else frozenset()
    try:
        items = lot_items(result, lot_by, lot, masker) if lot is not None else None
    except LotError as exc:
        if not lines:  # a lot whose every item was ordered and not delivered has no item
            raise usage_error(str(exc)) from None
        items = set()
    rows, fixed = fix_rows(result, items, lang, lines), fixed_rows(result, items, lang, lines)
    with locked(out_dir, "--out"), OutputSet(out_dir, masker) as outputs:
        html = outputs.write(
            FIXLIST_FILES["html"], render_fixlist_html(result, rows, fixed, lot, lot_by, lang)
        )
        table = outputs.write(FIXLIST_FILES["csv"], render_fixlist_csv(rows, lang))
    errors = sum(r.severity == "error" and not r.waiver for r in rows)
    _ = translator(lang)
    out.print(
        _(
            "fix list: {n} findings ({errors} errors not waived) in {files} files",
            n=len(rows),
            errors=errors,
            files=len({r.file for r in rows}),
        ),
        highlight=False,
    )
    out.print(f"html: {html}\ncsv: {table}", markup=False)


def _undelivered_lines(
    result: Any, expect: Path | None, root: Path | None, field: str, lot: str, masker: Any
) -> frozenset[int]:
    """The lines of the audit's order list (``--expect``) whose items, ordered and not delivered,
    are of the lot ``lot`` (its column of ``field``: :meth:`dqm.order.OrderList.lots`); a warning,
    and none, when the results hold such items and no order list is given."""
    from dqm.order import NOT_DELIVERED, lot_key

    undelivered = sum(f.code == NOT_DELIVERED for f in result.findings)
    if expect is None:
        if undelivered:
            warning(
                msg(
                    "{n} items ordered and not delivered are in no lot's list: give the audit's order "
                    "list (--expect) to list those of the lot",
                    n=undelivered,
                )
            )
        return frozenset()
    order = order_or_exit(expect, root)
    if result.order is None or result.order.sha256 != order.sha256:
        raise usage_error(msg("--expect {path} is not the order list the audit was run with", path=expect))
    wanted = {lot, masker(lot)} if masker is not None else {lot}  # as reports.fixlist.lot_items
    keys = {lot_key(name) for name in wanted}  # as the audit placed them (OrderList.lots)
    return frozenset(line for line, name in order.lots(field).items() if lot_key(name) in keys)
