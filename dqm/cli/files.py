"""File commands: ``dqm version``, ``synth``, ``validate``, ``checks``, ``convert``, ``schema``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from dqm import __version__
from dqm.cli.common import (
    SEVERITY_ORDER,
    CacheOpt,
    CertifyOpt,
    ExecutorOpt,
    ExpectOpt,
    LangOpt,
    MaskKeyOpt,
    ProfileOpt,
    SchedulerOpt,
    Workers,
    app,
    batch_folder,
    console,
    executor_or_exit,
    first_names,
    load_profile_or_exit,
    order_or_exit,
    out,
    outside_batch,
    print_finding_lines,
    progress_bar,
    removed_when_unused,
    run_with_progress,
    start_masking,
    syntactic_figures,
    usage_error,
    with_order_or_exit,
)
from dqm.i18n import N_, translator


@app.command()
def version() -> None:
    """Print dqm's version."""
    out.print(__version__)


@app.command()
def synth(
    out_dir: Annotated[Path, typer.Argument(help="Folder to create.")],
    slides: Annotated[int, typer.Option("--slides", "-n", min=1, help="Number of slides.")] = 40,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same batch.")] = 0,
    defect_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of slides given one injected defect.")
    ] = 0.0,
    max_size: Annotated[int, typer.Option(min=256, help="Largest slide side in pixels (level 0).")] = 1536,
    force: Annotated[bool, typer.Option(help="Replace OUT if it exists.")] = False,
    workers: Workers = None,
    lang: LangOpt = "en",
) -> None:
    """Build an example batch: H&E-like slides, native annotations, a manifest and truth.csv."""
    import os

    from dqm.synth import build_batch

    _ = translator(lang)
    n_workers = workers or os.cpu_count() or 1
    with progress_bar(N_("rendering")) as bar:
        task = bar.add_task("slides", total=slides)
        try:
            plan = build_batch(
                out_dir,
                slides,
                seed,
                defect_rate,
                max_size,
                n_workers,
                force,
                progress=lambda: bar.advance(task),
            )
        except FileExistsError as exc:
            raise usage_error(str(exc)) from None
    n_defects = sum(1 for d in plan.deliveries if d.defect) + len(plan.extra_truth)
    out.print(
        _(
            "wrote {slides} slides to {path} ({n} injected defects, see truth.csv)",
            slides=slides,
            path=Path(out_dir),
            n=n_defects,
        ),
        markup=False,
    )


def _print_findings(findings: list[Any], limit: int, lang: str) -> None:
    shown = sorted(
        findings, key=lambda f: (SEVERITY_ORDER[f.severity.value], f.location.file or "", f.item_id)
    )
    rows = [(f.location.describe(lang) or f.item_id, f.severity.value, f.code, f.text(lang)) for f in shown]
    _ = translator(lang)
    print_finding_lines(rows, limit, _("(see results.json or raise --limit)"))


@app.command()
def validate(
    paths: Annotated[list[Path], typer.Argument(help="A batch folder, or annotation files.")],
    profile: ProfileOpt = None,
    annotations_only: Annotated[
        bool, typer.Option(help="Check annotation files alone: no slide opening or pairing.")
    ] = False,
    workers: Workers = None,
    cache: CacheOpt = None,
    certify: CertifyOpt = False,
    executor: ExecutorOpt = None,
    scheduler: SchedulerOpt = None,
    limit: Annotated[int, typer.Option(help="Findings to print.")] = 50,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the findings as JSON here.")
    ] = None,
    mask_key: MaskKeyOpt = None,
    expect: ExpectOpt = None,
    lang: LangOpt = "en",
) -> None:
    """Syntactic checks only, fast: for pre-commit hooks and CI. Exit 1 when an error is found, 3
    when none is but a check crashed on an item (not evaluated; the items are named)."""
    from dqm.runner import RunOptions

    _ = translator(lang)
    prof = load_profile_or_exit(profile)
    masker = start_masking(prof.deid, mask_key)
    if len(paths) == 1 and paths[0].is_dir():
        root = batch_folder(paths[0])
        order = order_or_exit(expect, root)
        if json_out is not None:
            outside_batch(json_out, root, "--json")
        where = executor_or_exit(executor, scheduler)
        options = RunOptions(
            workers=workers, slides=not annotations_only, hash_files=False, certify=certify, **where
        )
        run = run_with_progress(root, prof, options, cache, mask=masker, order=order)
        from dqm.figures import order_line
        from dqm.syntactic.accuracy import syntactic_result

        info = with_order_or_exit(run, order)
        findings = run.findings
        s = syntactic_result(run)
        summary = _(
            "{files_valid}/{files_total} files accurate ({file_accuracy}), "
            "{values_valid}/{values_total} values ({value_accuracy}); {errors} errors, {warnings} warnings",
            **syntactic_figures(s),
        )
        if info is not None:
            summary += "\n" + (order_line(info, lang, s) or "")
    else:
        if expect is not None:
            raise usage_error(
                _("--expect compares a batch folder with its order list: give one batch folder")
            )
        from dqm.single_files import validate_files

        missing = [p for p in paths if not p.is_file()]
        if missing:
            raise usage_error(
                _("not a file: {path} (give one batch folder, or annotation files)", path=Path(missing[0]))
            )
        findings = validate_files(paths, prof)
        errors = sum(f.severity.value == "error" for f in findings)
        summary = _(
            "{files} files, {errors} errors, {others} other findings",
            files=len(paths),
            errors=errors,
            others=len(findings) - errors,
        )
    _print_findings(findings, limit, lang)
    if json_out is not None:
        import orjson

        from dqm.output import write_file

        write_file(json_out, orjson.dumps([f.model_dump(mode="json") for f in findings]), masker)
    out.print(summary)
    from dqm.findings import Aspect, not_evaluated

    crashed = not_evaluated(findings)[0]
    if crashed:  # a bug in dqm: not evaluated, never an error of the files
        out.print(_("not evaluated (a check crashed): {names}", names=first_names(crashed)), highlight=False)
    errors_found = any(f.severity.value == "error" and f.aspect != Aspect.INTERNAL for f in findings)
    raise typer.Exit(1 if errors_found else 3 if crashed else 0)


@app.command()
def checks(
    plain: Annotated[bool, typer.Option(help="One tab-separated line per check, for scripts.")] = False,
    lang: LangOpt = "en",
) -> None:
    """List every registered check: id, scope, aspect, severity, codes and what it checks. The table's
    headers follow --lang; its cells (ids, values, what each check checks) and --plain stay English."""
    from rich.table import Table

    from validators import REGISTRY

    _ = translator(lang)
    headers = (N_("check"), N_("scope"), N_("aspect"), N_("severity"), N_("codes"), N_("checks that…"))
    table = Table(*(_(h) for h in headers), show_lines=False)
    for spec in sorted(REGISTRY.values(), key=lambda s: s.id):
        codes = ", ".join(
            f"{c}({spec.severity_of(c).value})" if c in spec.code_severity else c for c in spec.codes
        )
        row = (spec.id, spec.scope, spec.aspect.value, spec.severity.value, codes, spec.doc)
        if plain:
            typer.echo("\t".join(row))
        else:
            table.add_row(*row)
    if not plain:
        out.print(table)


@app.command()
def convert(
    context: typer.Context,
    sources: Annotated[list[Path], typer.Argument(help="Annotation files (any supported format).")],
    to: Annotated[str, typer.Option("--to", help="native | qupath | mask (a label PNG)")] = "native",
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the converted files.")] = Path(
        "converted"
    ),
    slide: Annotated[
        Path | None, typer.Option(help="The slide file, for its size when the source does not state it.")
    ] = None,
    profile: ProfileOpt = None,
    force: Annotated[bool, typer.Option(help="Overwrite files in OUT.")] = False,
    downsample: Annotated[
        int, typer.Option(min=1, help="--to mask: write the mask this many times smaller than the slide.")
    ] = 1,
    mask_key: MaskKeyOpt = None,
    lang: LangOpt = "en",
) -> None:
    """Convert annotation files to the native format, QuPath GeoJSON or a label mask (PNG; values from
    the profile's mask_values, else the taxonomy order 1..K). Exit 1 if one was not converted."""
    from dqm.convert import TARGETS, SlideFacts, convert_file, slide_facts
    from dqm.output import FileBatch

    _ = translator(lang)
    if to not in TARGETS:
        raise usage_error(
            _("--to must be one of {choices}, not {to}", choices=", ".join(TARGETS), to=repr(to))
        )
    if downsample != 1 and to != "mask":
        raise usage_error(_("--downsample applies to --to mask only"))
    missing = [p for p in sources if not p.is_file()]
    if missing:
        raise usage_error(_("not a file: {path}", path=Path(missing[0])))
    prof = load_profile_or_exit(profile)
    start_masking(prof.deid, mask_key)  # what it prints; the converted files keep the annotation's text
    facts: SlideFacts | None = None
    if slide is not None:
        got = slide_facts(slide)
        if isinstance(got, str):
            raise usage_error(got)
        facts = got
    failed = False
    written: set[Path] = set()
    out_dir = removed_when_unused(context, out_dir)  # none converted, none left
    with FileBatch() as batch:  # flushed to the disk in groups, not file by file
        for src in sources:
            res = convert_file(src, to, out_dir, prof, facts, force, written, downsample, batch)  # type: ignore[arg-type]
            for problem in res.problems:
                console.print(f"[yellow]{escape(problem)}[/]", highlight=False, markup=True)
            for path in res.written:
                out.print(_("wrote {path}", path=Path(path)), highlight=False, markup=False)
            failed = failed or not res.written
    raise typer.Exit(1 if failed else 0)


@app.command()
def schema(
    which: Annotated[str, typer.Argument(help="native | results | profile")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write it to this file (as in docs/).")
    ] = None,
    lang: LangOpt = "en",
) -> None:
    """Print a JSON Schema: the native annotation format, results.json or the profile."""
    import json

    from dqm.schemas import SCHEMAS, schema_text

    _ = translator(lang)
    if which not in SCHEMAS:
        raise usage_error(
            _("unknown schema {which}: choose from {choices}", which=repr(which), choices=", ".join(SCHEMAS))
        )
    if output is not None:
        from dqm.output import write_file

        write_file(output, schema_text(which))
        out.print(_("{role}: {path}", role=_(N_("schema")), path=Path(output)), markup=False)
        return
    out.print_json(json.dumps(SCHEMAS[which]()))
