"""The ``dqm`` command line. Commands import what they need when they run, so ``dqm --help``
and ``dqm validate`` stay fast (no torch, monai or great_expectations at start-up).

Exit codes: 0 passed, 1 a gated threshold failed (or validation found errors), 2 usage error
(no such folder, invalid profile, bad arguments), 3 a required dimension was not evaluated,
130 interrupted by Ctrl-C during a validity run (a checkpoint is kept: resume with --resume).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from dqm import __version__

app = typer.Typer(
    name="dqm",
    help="Quality assurance and certification for histopathology lesion-segmentation datasets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Output quotes file content (class names, paths, "[x, y]"): plain text unless a print says markup=True.
console = Console(stderr=True, markup=False)
out = Console(markup=False)

EXIT_USAGE = 2


def usage_error(message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/] {escape(message)}", markup=True)  # paths and file text escaped
    return typer.Exit(EXIT_USAGE)


def load_profile_or_exit(profile: str | None) -> Any:
    from dqm.checks import configure
    from dqm.profile import ProfileError, load_profile

    try:
        prof = load_profile(profile)
        configure(prof)
    except ProfileError as exc:
        raise usage_error(str(exc)) from None
    return prof


def load_result_or_exit(path: Path) -> Any:
    """A results.json, or exit 2 with a short message (never a traceback)."""
    from dqm.results import ResultsError, load_result

    try:
        return load_result(path)
    except ResultsError as exc:
        raise usage_error(str(exc)) from None


def dimensions_or_exit(text: str | None, option: str) -> list[str] | None:
    from dqm.gate import parse_dimensions

    try:
        return parse_dimensions(text, option)
    except ValueError as exc:
        raise usage_error(str(exc)) from None


def batch_folder(path: Path) -> Path:
    if not path.exists():
        raise usage_error(f"no such folder: {path}")
    if not path.is_dir():
        raise usage_error(f"not a folder: {path} (give the batch folder)")
    return path.resolve()


def outside_batch(path: Path, root: Path, option: str) -> None:
    """Refuse (usage error) an output path at or inside the batch folder ``root``."""
    where = path.resolve()
    if where == root or root in where.parents:
        raise usage_error(f"{option} must be outside the batch folder: dqm never writes into a batch")


def progress_bar(label: str) -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


def run_with_progress(root: Path, profile: Any, options: Any) -> Any:
    from dqm.runner import run_batch

    with progress_bar("checking") as bar:
        task = bar.add_task("items", total=None)

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return run_batch(root, profile, options, progress=tick)


Workers = Annotated[
    int | None,
    typer.Option(
        "--workers", "-j", help="Worker processes (default: all cores; 1 runs in this process).", min=1
    ),
]
ProfileOpt = Annotated[
    str | None,
    typer.Option("--profile", "-p", help="Profile YAML file or built-in name (default: dermatopathology)."),
]


EXIT_INTERRUPTED = 130
ValidityProfileOpt = Annotated[
    str,
    typer.Option(
        "--profile", "-p", help="Validity profile: smoke (CPU, minutes), standard (GPU) or a YAML file."
    ),
]
DeviceOpt = Annotated[
    str | None,
    typer.Option(help="auto | cpu | cuda (default: the validity profile's)."),
]


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
) -> None:
    """Build an example batch: H&E-like slides, native annotations, a manifest and truth.csv."""
    import os

    from dqm.synth import build_batch

    n_workers = workers or os.cpu_count() or 1
    with progress_bar("rendering") as bar:
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
        f"wrote {slides} slides to {out_dir} ({n_defects} injected defects, see truth.csv)", markup=False
    )


def _print_findings(findings: list[Any], limit: int) -> None:
    from dqm.findings import Severity

    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    shown = sorted(findings, key=lambda f: (order[f.severity], f.location.file or "", f.item_id))
    style = {"error": "red", "warning": "yellow", "info": "dim"}
    for f in shown[:limit]:
        # paths and messages quote file content ("[x, y]", class names): never markup
        where = escape(f.location.describe() or f.item_id)
        out.print(
            f"{where}: [{style[f.severity.value]}]{f.severity.value}[/] {f.code} {escape(f.message)}",
            markup=True,
            highlight=False,
            soft_wrap=True,
        )
    if len(shown) > limit:
        out.print(f"… {len(shown) - limit} more (see results.json or raise --limit)")


@app.command()
def validate(
    paths: Annotated[list[Path], typer.Argument(help="A batch folder, or annotation files.")],
    profile: ProfileOpt = None,
    annotations_only: Annotated[
        bool, typer.Option(help="Check annotation files alone: no slide opening or pairing.")
    ] = False,
    workers: Workers = None,
    limit: Annotated[int, typer.Option(help="Findings to print.")] = 50,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the findings as JSON here.")
    ] = None,
) -> None:
    """Syntactic checks only, fast: for pre-commit hooks and CI. Exit 1 when an error is found."""
    from dqm.runner import RunOptions

    prof = load_profile_or_exit(profile)
    if len(paths) == 1 and paths[0].is_dir():
        root = batch_folder(paths[0])
        if json_out is not None:
            outside_batch(json_out, root, "--json")
        run = run_with_progress(
            root, prof, RunOptions(workers=workers, slides=not annotations_only, hash_files=False)
        )
        findings = run.findings
        from dqm.syntactic import syntactic_result

        s = syntactic_result(run)
        summary = (
            f"{s.files_valid}/{s.files_total} files accurate ({_pct(s.file_accuracy)}), "
            f"{s.values_valid}/{s.values_total} values ({_pct(s.value_accuracy)}); "
            f"{s.errors} errors, {s.warnings} warnings"
        )
    else:
        from dqm.single_files import validate_files

        missing = [p for p in paths if not p.is_file()]
        if missing:
            raise usage_error(f"not a file: {missing[0]} (give one batch folder, or annotation files)")
        findings = validate_files(paths, prof)
        errors = sum(f.severity.value == "error" for f in findings)
        summary = f"{len(paths)} files, {errors} errors, {len(findings) - errors} other findings"
    _print_findings(findings, limit)
    if json_out is not None:
        import orjson

        json_out.write_bytes(orjson.dumps([f.model_dump(mode="json") for f in findings]))
    out.print(summary)
    raise typer.Exit(1 if any(f.severity.value == "error" for f in findings) else 0)


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.2f} %"


Require = Annotated[
    str | None,
    typer.Option(
        help="Comma-separated dimensions that must pass: syntactic,semantic,diversity,validity "
        "(default: those evaluated)."
    ),
]
WarnOnly = Annotated[
    str | None, typer.Option(help="Comma-separated dimensions reported but never failing the gate.")
]


@app.command()
def audit(
    batch: Annotated[Path, typer.Argument(help="The batch folder (read only).")],
    out_dir: Annotated[
        Path,
        typer.Option("--out", "-o", help="Folder for results.json, report.html, junit.xml and summary.md."),
    ] = Path("dqm-out"),
    profile: ProfileOpt = None,
    workers: Workers = None,
    gx_suite: Annotated[
        Path | None,
        typer.Option(help="An extra great-expectations suite (JSON) for the clinical table."),
    ] = None,
    label_thumbnails: Annotated[
        bool,
        typer.Option(
            help="Show a thumbnail of each slide's label image in the report (it may show identifiers)."
        ),
    ] = False,
    slide_budget: Annotated[
        float, typer.Option(min=0.1, help="Seconds one slide probe may spend (header, tiles, tissue mask).")
    ] = 30.0,
    require: Require = None,
    warn_only: WarnOnly = None,
    thumbnails: Annotated[
        int,
        typer.Option(min=0, max=24, help="Worst slides drawn small with their outlines in the report."),
    ] = 12,
    baseline: Annotated[
        Path | None,
        typer.Option(
            help="A previous release for drift: its results.json (or output folder) or batch folder."
        ),
    ] = None,
    review: Annotated[
        Path | None,
        typer.Option(
            help="Folder (or file) with semantic.json from dqm review ingest: the semantic dimension."
        ),
    ] = None,
    stages: Annotated[
        str,
        typer.Option(
            help="Comma-separated stages: syntactic (always), diversity (cheap), validity (slow: trains a model)."
        ),
    ] = "syntactic,diversity",
    validity_profile: Annotated[
        str, typer.Option(help="Validity stage: smoke, standard or a YAML file.")
    ] = "smoke",
    device: DeviceOpt = None,
) -> None:
    """Audit a batch: every dimension available; writes results.json, report.html, junit.xml and
    summary.md; exits like `dqm gate` (0 passed, 1 failed, 3 missing)."""
    from dqm.audit import build_result, with_diversity, write_outputs
    from dqm.gate import gate
    from dqm.runner import RunOptions
    from dqm.thumbnails import with_thumbnails

    root = batch_folder(batch)
    prof = load_profile_or_exit(profile)
    req = dimensions_or_exit(require, "--require")
    warn = dimensions_or_exit(warn_only, "--warn-only") or []
    if gx_suite is not None and not gx_suite.is_file():
        raise usage_error(f"no such GX suite file: {gx_suite}")
    if review is not None and not review.exists():
        raise usage_error(f"no such review folder or file: {review}")
    outside_batch(out_dir, root, "--out")
    chosen = {x.strip() for x in stages.split(",") if x.strip()} | {"syntactic"}
    unknown = chosen - {"syntactic", "diversity", "validity"}
    if unknown:
        raise usage_error(
            f"unknown stage(s): {', '.join(sorted(unknown))} (choose from syntactic, diversity, validity)"
        )
    if baseline is not None and "diversity" not in chosen:
        raise usage_error("--baseline compares distributions: it needs the diversity stage")
    voptions = (
        _validity_options(validity_profile, out_dir / "validity", device, False)
        if "validity" in chosen
        else None
    )
    options = RunOptions(
        workers=workers, gx_suite=gx_suite, label_thumbnails=label_thumbnails, slide_budget_s=slide_budget
    )
    base = _load_baseline(baseline, prof, workers) if baseline is not None else None
    run = run_with_progress(root, prof, options)
    result = build_result(run, ["dqm", *sys.argv[1:]])
    if "diversity" in chosen:
        result = with_diversity(result, prof, base)
    if voptions is not None:
        from dqm.audit import with_verdict

        hint = f"dqm validity {batch} --out {voptions.out} --profile {validity_profile} --resume"
        v = _run_validity_stage(run, result, voptions, hint)
        result = with_verdict(result.model_copy(update={"validity": v}))
    result = with_thumbnails(result, root, prof, count=thumbnails)
    if review is not None:
        from dqm.semantic.cli import attach_review

        result = attach_review(result, review)
    paths = write_outputs(result, out_dir)
    outcome = gate(result, req, warn)
    s = result.syntactic
    assert s is not None
    out.print(f"[bold]{escape(result.verdict.summary)}[/]", markup=True)
    out.print(
        f"syntactic: file accuracy {_pct(s.file_accuracy)} ({s.files_valid}/{s.files_total} files), "
        f"value accuracy {_pct(s.value_accuracy)} ({s.values_valid}/{s.values_total} values), "
        f"{s.errors} errors, {s.warnings} warnings"
    )
    if result.diversity is not None:
        out.print(f"diversity: {result.diversity.summary}", highlight=False)
        if result.diversity.drift is not None:
            out.print(f"drift: {result.diversity.drift.summary}", highlight=False)
    if result.validity is not None:
        _print_validity(result.validity)
    for line in outcome.lines:
        out.print(line, highlight=False)
    out.print(
        f"report: {paths['report']}\nresults: {paths['results']}\n"
        f"junit: {paths['junit']}\nsummary: {paths['summary']}",
        markup=False,
    )
    raise typer.Exit(outcome.exit_code)


def _load_baseline(path: Path, profile: Any, workers: int | None) -> Any:
    from dqm.diversity.baseline import BaselineError, load_baseline

    if not path.exists():
        raise usage_error(f"no such baseline: {path} (give a results.json or a batch folder)")
    try:
        return load_baseline(path, profile, workers)
    except BaselineError as exc:
        raise usage_error(str(exc)) from None


def _validity_options(validity_profile: str, out_dir: Path, device: str | None, resume: bool) -> Any:
    from dqm.validity import ValidityProfileError, load_validity_profile
    from dqm.validity.run import ValidityOptions

    if device is not None and device not in ("auto", "cpu", "cuda"):
        raise usage_error(f"--device must be auto, cpu or cuda, not {device!r}")
    try:
        vprof = load_validity_profile(validity_profile)
    except ValidityProfileError as exc:
        raise usage_error(str(exc)) from None
    return ValidityOptions(profile=vprof, out=out_dir, device=device, resume=resume)


def _run_validity_stage(run: Any, result: Any, options: Any, resume_hint: str) -> Any:
    """The validity stage with progress bars; Ctrl-C and bad requests end with a clear message."""
    from dqm.validity.progress import RichReporter
    from dqm.validity.run import validity_stage
    from dqm.validity.train import CheckpointMismatch

    try:
        with RichReporter(console) as reporter:
            options.reporter = reporter
            return validity_stage(run, result, options)
    except KeyboardInterrupt:
        console.print(
            f"[bold yellow]interrupted[/]: the last finished epoch is saved in "
            f"{escape(str(options.out / 'checkpoints'))}; continue with: {escape(resume_hint)}",
            markup=True,
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except (CheckpointMismatch, ValueError) as exc:
        raise usage_error(str(exc)) from None


def _print_validity(v: Any) -> None:
    from rich.table import Table

    def fig(value: float | None, lo: float | None = None, hi: float | None = None) -> str:
        return "–" if value is None else f"{value:.3f}" + ("" if lo is None else f" ({lo:.3f}–{hi:.3f})")

    table = Table("class", "pooled Dice (95 % CI)", "slide Dice (95 % CI)", "slides", "target", "decision")
    for cls, d in v.dice_per_class.items():
        p = d.pooled
        failed = [g.name for g in v.gates if g.name in (cls, f"{cls} pooled") and not g.passed]
        table.add_row(
            cls,
            "–" if p is None else fig(p.dice, p.ci_low, p.ci_high),
            fig(d.dice, d.ci_low, d.ci_high),
            str(d.n_slides),
            f"{d.target:.2f}",
            "FAIL" if failed else "pass",
        )
    out.print(table)
    mean = "n/a" if v.mean_dice is None else f"{v.mean_dice:.3f}"
    pooled = "" if v.pooled_mean_dice is None else f"pooled Dice {v.pooled_mean_dice:.3f}, "
    out.print(
        f"validity: {pooled}mean slide Dice {mean} over {v.n_scored} held-out slides "
        f"({v.n_used} of {v.n_slides} slides used, {len(v.excluded)} left out), "
        f"{'PASS' if v.passed else 'FAIL'}",
        highlight=False,
    )
    if v.unreadable_tiles:
        n_bad = sum(v.unreadable_tiles.values())
        of = f" of {v.training_tiles}" if v.training_tiles else ""
        out.print(f"unreadable training tiles: {n_bad}{of}, replaced by blank ones", highlight=False)
    if v.excluded:
        from collections import Counter

        why = Counter(e.reason.split(":")[0] for e in v.excluded)
        out.print(
            "left out: " + ", ".join(f"{n} {reason}" for reason, n in why.most_common()), highlight=False
        )


@app.command()
def validity(
    batch: Annotated[Path, typer.Argument(help="The batch folder (read only).")],
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for validity.json and the checkpoints.")
    ] = Path("dqm-validity"),
    profile: ValidityProfileOpt = "smoke",
    device: DeviceOpt = None,
    resume: Annotated[bool, typer.Option(help="Continue the run whose checkpoints are in --out.")] = False,
    force: Annotated[bool, typer.Option(help="Start over, replacing the run in --out.")] = False,
    dataset_profile: Annotated[
        str | None, typer.Option(help="Dataset profile (taxonomy, checks); default: dermatopathology.")
    ] = None,
    workers: Workers = None,
) -> None:
    """Train a segmentation model on the batch and score Dice per class on held-out slides.

    Exit 0 when every class reaches its target, 1 when one does not, 130 when interrupted
    (resume with --resume).
    """
    import shutil

    from dqm.runner import RunOptions
    from dqm.validity.run import CHECKPOINTS, RESULT_FILE

    root = batch_folder(batch)
    prof = load_profile_or_exit(dataset_profile)
    outside_batch(out_dir, root, "--out")
    options = _validity_options(profile, out_dir, device, resume)
    previous = [p for p in (out_dir / RESULT_FILE, out_dir / CHECKPOINTS) if p.exists()]
    if previous and not (resume or force):
        raise usage_error(
            f"{out_dir} holds a validity run: pass --resume to continue it or --force to replace it"
        )
    if force and not resume:
        for p in previous:
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    run = run_with_progress(root, prof, RunOptions(workers=workers))
    hint = f"dqm validity {batch} --out {out_dir} --profile {profile} --resume"
    v = _run_validity_stage(run, None, options, hint)
    _print_validity(v)
    out.print(f"results: {out_dir / RESULT_FILE}", markup=False)
    raise typer.Exit(0 if v.passed else 1)


@app.command()
def report(
    results: Annotated[Path, typer.Argument(help="A results.json written by dqm audit.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.")] = Path("report.html"),
    pdf: Annotated[
        bool, typer.Option("--pdf", help="Also print it to PDF (OUTPUT with .pdf) with a headless Chromium.")
    ] = False,
    chromium: Annotated[
        str | None, typer.Option(help="The Chromium to print with (default: $DQM_CHROMIUM, then PATH).")
    ] = None,
    junit: Annotated[Path | None, typer.Option(help="Also write the JUnit XML here.")] = None,
    summary: Annotated[Path | None, typer.Option(help="Also write the Markdown summary here.")] = None,
) -> None:
    """Re-render the report from results.json, without re-running anything."""
    from reports import render_html, render_junit, render_summary

    result = load_result_or_exit(results)
    batch = Path(result.batch.path)
    if batch.is_dir():  # the result names its batch: never write into it
        for path, option in ((output, "--output"), (junit, "--junit"), (summary, "--summary")):
            if path is not None:
                outside_batch(path, batch.resolve(), option)
    # The HTML, JUnit and summary are written before the PDF is attempted: without a Chromium the
    # page is still there to open and print from a browser (the error message says so).
    output.write_text(render_html(result), encoding="utf-8")
    out.print(f"report: {output}", markup=False)
    if junit is not None:
        junit.write_bytes(render_junit(result))
        out.print(f"junit: {junit}", markup=False)
    if summary is not None:
        summary.write_text(render_summary(result), encoding="utf-8")
        out.print(f"summary: {summary}", markup=False)
    if pdf:
        from reports.pdf import PdfError, find_chromium, print_pdf

        target = output.with_suffix(".pdf")
        try:
            print_pdf(output, target, find_chromium(chromium))
        except PdfError as exc:
            raise usage_error(f"--pdf: {exc}") from None
        out.print(f"pdf: {target}", markup=False)


@app.command("gate")
def gate_command(
    results: Annotated[Path, typer.Argument(help="A results.json written by dqm audit.")],
    require: Require = None,
    warn_only: WarnOnly = None,
) -> None:
    """Exit 0 when the required dimensions passed, 1 when one failed, 3 when one is missing or
    pending, 2 on usage errors (bad option, unreadable or malformed results.json)."""
    from dqm.gate import gate

    req = dimensions_or_exit(require, "--require")
    warn = dimensions_or_exit(warn_only, "--warn-only") or []
    result = load_result_or_exit(results)
    outcome = gate(result, req, warn)
    out.print(f"[bold]{escape(result.verdict.summary)}[/]", markup=True)
    for line in outcome.lines:
        out.print(line, highlight=False)
    raise typer.Exit(outcome.exit_code)


@app.command()
def diff(
    old: Annotated[Path, typer.Argument(help="The earlier results.json.")],
    new: Annotated[Path, typer.Argument(help="The later results.json.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="text | markdown")] = "text",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """What changed between two deliveries: verdicts, figures, new and resolved finding codes."""
    from dqm.diff import diff_results
    from reports import render_diff_markdown, render_diff_text

    renderers = {"text": render_diff_text, "markdown": render_diff_markdown, "md": render_diff_markdown}
    if fmt not in renderers:
        raise usage_error(f"unknown --format {fmt!r}: choose text or markdown")
    text = renderers[fmt](diff_results(load_result_or_exit(old), load_result_or_exit(new)))
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        out.print(f"diff: {output}", markup=False)


@app.command()
def checks(
    plain: Annotated[bool, typer.Option(help="One tab-separated line per check, for scripts.")] = False,
) -> None:
    """List every registered check: id, scope, aspect, severity, codes and what it checks."""
    from rich.table import Table

    from validators import REGISTRY

    table = Table("check", "scope", "aspect", "severity", "codes", "checks that…", show_lines=False)
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
    sources: Annotated[list[Path], typer.Argument(help="Annotation files (any supported format).")],
    to: Annotated[str, typer.Option("--to", help="native | qupath")] = "native",
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the converted files.")] = Path(
        "converted"
    ),
    slide: Annotated[
        Path | None, typer.Option(help="The slide file, for its size when the source does not state it.")
    ] = None,
    profile: ProfileOpt = None,
    force: Annotated[bool, typer.Option(help="Overwrite files in OUT.")] = False,
) -> None:
    """Convert annotation files to the native format (or to QuPath GeoJSON). Exit 1 if one was not converted."""
    from dqm.convert import SlideFacts, convert_file, slide_facts

    if to not in ("native", "qupath"):
        raise usage_error(f"--to must be native or qupath, not {to!r}")
    missing = [p for p in sources if not p.is_file()]
    if missing:
        raise usage_error(f"not a file: {missing[0]}")
    prof = load_profile_or_exit(profile)
    facts: SlideFacts | None = None
    if slide is not None:
        got = slide_facts(slide)
        if isinstance(got, str):
            raise usage_error(got)
        facts = got
    failed = False
    written: set[Path] = set()
    for src in sources:
        res = convert_file(src, to, out_dir, prof, facts, force, written)  # type: ignore[arg-type]
        for problem in res.problems:
            console.print(f"[yellow]{escape(problem)}[/]", highlight=False, markup=True)
        for path in res.written:
            out.print(f"wrote {path}", highlight=False, markup=False)
        failed = failed or not res.written
    raise typer.Exit(1 if failed else 0)


@app.command()
def schema(
    which: Annotated[str, typer.Argument(help="native | results | profile")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write it to this file (as in docs/).")
    ] = None,
) -> None:
    """Print a JSON Schema: the native annotation format, results.json or the profile."""
    import json

    from dqm.schemas import SCHEMAS, schema_text

    if which not in SCHEMAS:
        raise usage_error(f"unknown schema {which!r}: choose from {', '.join(SCHEMAS)}")
    if output is not None:
        output.write_text(schema_text(which), encoding="utf-8")
        out.print(f"schema: {output}", markup=False)
        return
    out.print_json(json.dumps(SCHEMAS[which]()))


# Semantic accuracy (expert review): `dqm sample`, `dqm review plan|ingest`. Light imports only.
from dqm.semantic.cli import review_app, sample  # noqa: E402

app.command()(sample)
app.add_typer(review_app, name="review")


def main() -> None:
    """Entry point of the ``dqm`` script."""
    app()


if __name__ == "__main__":
    main()
