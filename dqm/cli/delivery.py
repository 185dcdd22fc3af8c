"""Delivery commands: ``dqm fixlist`` (what a hospital must fix, from a results.json)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dqm.cli.common import (
    LangOpt,
    MaskKeyOpt,
    ProfileOpt,
    app,
    load_profile_or_exit,
    load_result_or_exit,
    locked,
    out,
    output_folder,
    removed_when_unused,
    settle_own_or_exit,
    start_masking,
    usage_error,
)
from dqm.i18n import translator

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
    lang: LangOpt = "en",
) -> None:
    """What a hospital must fix: the findings of its slides grouped by file, with where each one is,
    as fixlist.html and fixlist.csv (names masked as in the results)."""
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
    try:
        items = lot_items(result, lot_by, lot, masker) if lot is not None else None
    except LotError as exc:
        raise usage_error(str(exc)) from None
    rows, fixed = fix_rows(result, items, lang), fixed_rows(result, items, lang)
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
