"""Audit commands: ``dqm audit``, ``validity``, ``report``, ``gate`` and ``diff``."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from dqm.cli.certify import signed_or_exit, signer_or_exit
from dqm.cli.common import (
    ABORTS,
    CACHE_FOLDER,
    EXIT_INTERRUPTED,
    EXITS,
    INTERRUPT_EXPLAINED,
    LANGUAGE,
    RESULTS_HELP,
    USAGE_ERRORS,
    CertifyOpt,
    DeviceOpt,
    ExecutorOpt,
    ExpectOpt,
    FindingsCapOpt,
    IdentifierMapOpt,
    LangOpt,
    MaskKeyOpt,
    ProfileOpt,
    SchedulerOpt,
    ValidityProfileOpt,
    Workers,
    app,
    batch_folder,
    console,
    dimensions_or_exit,
    executor_or_exit,
    load_profile_or_exit,
    load_result_or_exit,
    locked,
    order_or_exit,
    out,
    output_folder,
    outside_batch,
    print_order_line,
    reason,
    removed_when_unused,
    reused_run_or_exit,
    run_with_progress,
    settle_own_or_exit,
    start_masking,
    start_run,
    syntactic_figures,
    tr,
    usage_error,
    warning,
    with_order_or_exit,
    write_identifier_map,
)
from dqm.cli.lots import (
    HistoryOpt,
    LotByOpt,
    lot_field_or_exit,
    open_history_or_exit,
    supplier,
    supplier_states,
)
from dqm.i18n import N_, msg, translated
from dqm.output import visible

Require = Annotated[
    str | None,
    typer.Option(
        help="Comma-separated dimensions that must pass: syntactic,semantic,diversity,validity "
        "(default: those evaluated, syntactic, those the verdict lists as failed or pending, "
        "and those whose stage crashed)."
    ),
]
GateRequire = Annotated[
    str | None,
    typer.Option(
        help="Comma-separated dimensions that must pass: syntactic,semantic,diversity,validity "
        "(default: every dimension, so an incomplete result exits 3)."
    ),
]
WarnOnly = Annotated[
    str | None, typer.Option(help="Comma-separated dimensions reported but never failing the gate.")
]
WaiversOpt = Annotated[
    Path | None,
    typer.Option(
        help="A waiver file (YAML): findings it covers stay listed but do not fail the verdict "
        "(docs/delivery.md)."
    ),
]


@app.command()
def audit(
    context: typer.Context,
    batch: Annotated[Path, typer.Argument(help="The batch folder (read only).")],
    out_dir: Annotated[
        Path,
        typer.Option("--out", "-o", help="Folder for results.json, report.html, junit.xml and summary.md."),
    ] = Path("dqm-out"),
    profile: ProfileOpt = None,
    workers: Workers = None,
    executor: ExecutorOpt = None,
    scheduler: SchedulerOpt = None,
    gx_suite: Annotated[
        Path | None,
        typer.Option(
            help="An extra great-expectations suite (JSON) for the clinical table (its regular "
            "expressions run on RE2)."
        ),
    ] = None,
    label_thumbnails: Annotated[
        bool,
        typer.Option(
            help="Show a thumbnail of each slide's label image in the report (it may show identifiers)."
        ),
    ] = False,
    slide_budget: Annotated[
        float | None,
        typer.Option(
            min=0.1,
            help="One slide probe's budget in seconds (header, tiles, tissue mask, pixel measures; "
            "default: the profile's limits.slide_seconds): 20 million work units (pixels, weighted by "
            "step) a second, the same on every machine, with the seconds as a CPU-time backstop and 10 "
            "times as many on the wall clock.",
        ),
    ] = None,
    require: Require = None,
    warn_only: WarnOnly = None,
    thumbnails: Annotated[
        int,
        typer.Option(min=0, max=24, help="Worst slides drawn small with their outlines in the report."),
    ] = 12,
    baseline: Annotated[
        Path | None,
        typer.Option(
            help="A previous release for drift: its results.json (or output folder) or batch folder; "
            "a results.json also says of each finding: fixed, still there or new."
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
    cache: Annotated[
        Path | None,
        typer.Option(
            help="Folder of the per-item result cache (default: OUT/.dqm-cache): an audit run again checks "
            "only the items left or changed."
        ),
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Check every item; keep no cache.")] = False,
    mask_key: MaskKeyOpt = None,
    identifier_map: IdentifierMapOpt = None,
    waivers: WaiversOpt = None,
    lot_by: LotByOpt = None,
    history: HistoryOpt = None,
    lot_review: Annotated[
        list[Path] | None,
        typer.Option(
            help="--lot-by: a lot's ingested review (semantic.json of a plan from dqm sample --lot-by), "
            "repeated for each lot: its ISO 2859-1 decision joins the lot's gate."
        ),
    ] = None,
    level: Annotated[
        str, typer.Option(help="--lot-by: ISO 2859-1 inspection level of each lot's plan.")
    ] = "II",
    aql: Annotated[float, typer.Option(help="--lot-by: ISO 2859-1 AQL (%) of each lot's plan.")] = 1.0,
    lang: LangOpt = "en",
    report_findings_cap: FindingsCapOpt = None,
    results: Annotated[Path | None, typer.Option(help=RESULTS_HELP)] = None,
    full_hashes: Annotated[
        bool,
        typer.Option(
            "--full-hashes",
            help="Hash every slide whole (SHA-256; slides are otherwise known by a quick print): what "
            "dqm verify --batch compares.",
        ),
    ] = False,
    sign_key: Annotated[
        Path | None,
        typer.Option(
            help="Sign results.json with this private key (dqm keygen): writes results.json.sig; "
            "implies --full-hashes."
        ),
    ] = None,
    certify: CertifyOpt = False,
    expect: ExpectOpt = None,
) -> None:
    """Audit a batch: every dimension available; writes results.json, report.html, junit.xml and
    summary.md; exits like `dqm gate` (0 passed, 1 failed, 3 missing). With --lot-by, each lot is
    also judged on its own (results.json `lots`, a row per lot in the report).

    With --results, the stages (diversity, validity, thumbnails, lots) run on that audit's item
    records (its result cache, or --cache) instead of checking the batch again; an item the cache
    lacks is checked again and named."""
    from dqm.audit import build_result, with_dimension
    from dqm.clinical_table import suite_refusal
    from dqm.figures import verdict_line
    from dqm.gate import gate, lot_lines
    from dqm.i18n import translator
    from dqm.runner import RunOptions
    from dqm.semantic.history import default_history_path
    from dqm.thumbnails import with_thumbnails
    from reports.findings_cap import FINDINGS_CAP
    from reports.outputs import render_outputs, with_digest_slot, write_rendered

    run_id = start_run()
    root = batch_folder(batch)
    prof = load_profile_or_exit(profile)
    masker = start_masking(prof.deid, mask_key)
    if identifier_map is not None:
        outside_batch(identifier_map, root, "--identifier-map")
    req = dimensions_or_exit(require, "--require")
    warn = dimensions_or_exit(warn_only, "--warn-only") or []
    if gx_suite is not None and not gx_suite.is_file():
        raise usage_error(msg("no such GX suite file: {path}", path=gx_suite))
    refused = suite_refusal(gx_suite) if gx_suite is not None else None
    if refused is not None:
        raise usage_error(refused)
    if review is not None and not review.exists():
        raise usage_error(msg("no such review folder or file: {path}", path=review))
    out_dir = removed_when_unused(context, out_dir, root)  # a run refused below leaves no empty --out
    output_folder(out_dir, root, "--out")
    signer = signer_or_exit(sign_key) if sign_key is not None else None
    where = executor_or_exit(executor, scheduler)
    if results is not None and no_cache:
        raise usage_error(msg("--results reuses the audit's result cache: drop --no-cache"))
    chosen = {x.strip() for x in stages.split(",") if x.strip()} | {"syntactic"}
    unknown = chosen - {"syntactic", "diversity", "validity"}
    if unknown:
        raise usage_error(
            msg(
                "unknown stage(s): {names} (choose from syntactic, diversity, validity)",
                names=", ".join(sorted(unknown)),
            )
        )
    earlier = _earlier_delivery(baseline, out_dir) if baseline is not None else None
    if baseline is not None and earlier is None and "diversity" not in chosen:
        raise usage_error(
            msg("--baseline with a batch folder compares distributions: it needs the diversity stage")
        )
    waiver_list = _waivers_or_exit(waivers) if waivers is not None else None
    order = order_or_exit(expect, root)
    lot_field = lot_field_or_exit(lot_by, prof) if lot_by is not None else None
    if lot_field is not None:
        _lot_plan_or_exit(level, aql)
    elif lot_review:
        raise usage_error(msg("--lot-review needs --lot-by"))
    for path in lot_review or []:
        if not path.exists():
            raise usage_error(msg("no such lot review: {path}", path=path))
    if history is not None:
        outside_batch(history, root, "--history")
    history = history if history is not None else default_history_path(out_dir)
    if lot_field is not None:  # the default beside --out too: a link there into the batch is refused
        outside_batch(history, root, "--history")
    if lot_field is not None and history.is_file():
        open_history_or_exit(history).close()  # a history that cannot be read is refused before any work
    voptions = (
        _validity_options(validity_profile, out_dir / "validity", device, False, prof.class_ids, masker)
        if "validity" in chosen
        else None
    )
    options = RunOptions(
        workers=workers,
        gx_suite=gx_suite,
        label_thumbnails=label_thumbnails,
        slide_budget_s=slide_budget,
        full_hashes=full_hashes or signer is not None,
        certify=certify,
        whole_records=True if voptions is not None else None,  # validity trains on every record
        **where,
    )
    base = (
        _load_baseline(baseline, prof, workers, masker, earlier)
        if baseline is not None and "diversity" in chosen
        else None
    )
    with locked(out_dir, "--out"):
        if results is not None:
            run = reused_run_or_exit(
                results, root, prof, options, cache, _earlier_slides(base, earlier, masker), mask=masker
            )
        else:
            cache_dir = None if no_cache else (cache or out_dir / CACHE_FOLDER)
            run = run_with_progress(
                root, prof, options, cache_dir, _earlier_slides(base, earlier, masker), masker, lang, order
            )
        result = build_result(run, ["dqm", *sys.argv[1:]], run_id, with_order_or_exit(run, order))
        if "diversity" in chosen:
            drift = (base.summaries, base.info) if base is not None else None
            result = _stage(result, "diversity", lambda r: _diversity(r, prof, drift, masker))
        if voptions is not None:
            hint = f"dqm validity {batch} --out {voptions.out} --profile {validity_profile} --resume"
            result = _stage(
                result,
                "validity",
                lambda r: with_dimension(r, "validity", _run_validity_stage(run, r, voptions, hint)),
            )
        result = _stage(
            result, "thumbnails", lambda r: with_thumbnails(r, run.records(), root, prof, count=thumbnails)
        )
        if review is not None:
            result = with_dimension(result, "semantic", _load_review(review, result.batch.fingerprint))
        if waiver_list is not None:
            result = _with_waivers(result, waiver_list, masker)
        if earlier is not None:
            from dqm.redelivery import with_redelivery

            result = with_redelivery(result, earlier[1], str(earlier[0]), masker)
        if lot_field is not None:
            decisions = _lot_decisions(lot_review or [], lot_field, result.batch.fingerprint)
            result = _stage(
                result,
                "lots",
                lambda r: _with_lots(r, run, lot_field, (level, aql), history, masker, decisions, order),
            )
        cap = FINDINGS_CAP if report_findings_cap is None else report_findings_cap
        # a renderer's crash joins the verdict the audit exits with
        result, rendered = render_outputs(
            with_digest_slot(result), prof.quality_table, lang, prof.display_names(lang), masker, cap
        )
        paths = write_rendered(result, rendered, out_dir, masker, signer)
    write_identifier_map(identifier_map, _item_names(result), masker)
    outcome = gate(result, req, warn, lang=lang)
    s = result.syntactic
    assert s is not None
    _ = translator(lang)
    out.print(f"[bold]{escape(verdict_line(result, lang))}[/]", markup=True)
    _print_disabled(result, lang)
    out.print(
        _(
            "syntactic: file accuracy {file_accuracy} ({files_valid}/{files_total} files), "
            "value accuracy {value_accuracy} ({values_valid}/{values_total} values), "
            "{errors} errors, {warnings} warnings",
            **syntactic_figures(s),
        ),
        markup=False,
    )
    print_order_line(result, lang)
    if result.diversity is not None:
        summary = translated(result.diversity.summary, lang)
        out.print(_("diversity: {summary}", summary=summary), highlight=False)
        if result.diversity.drift is not None:
            summary = translated(result.diversity.drift.summary, lang)
            out.print(_("drift: {summary}", summary=summary), highlight=False)
    if result.validity is not None:
        _print_validity(result.validity)
    if result.redelivery is not None:
        d = result.redelivery
        out.print(
            _(
                "redelivery: {fixed} findings fixed, {still} still there, {new} new",
                fixed=d.n_fixed,
                still=len(d.still_there),
                new=len(d.new),
            ),
            highlight=False,
        )
    for line in outcome.lines:
        out.print(line, highlight=False)
    for line in lot_lines(result, lang):
        out.print(line, highlight=False, soft_wrap=True)
    out.print(
        "\n".join(
            _("{role}: {path}", role=_(role), path=Path(paths[key]))
            for key, role in (
                ("report", N_("report")),
                ("results", N_("results")),
                ("junit", N_("junit")),
                ("summary", N_("summary")),
                ("findings", N_("findings")),
                ("signature", N_("signature")),
            )
            if key in paths
        ),
        markup=False,
    )
    raise typer.Exit(outcome.exit_code)


def _lot_plan_or_exit(level: str, aql: float) -> None:
    """``--level`` / ``--aql`` of the lots' plans, checked once before any work."""
    from dqm.semantic.iso2859 import plan_iso2859

    try:
        plan_iso2859(1, level, aql)
    except ValueError as exc:
        raise usage_error(reason(exc)) from None


def _lot_decisions(paths: list[Path], field: str, fingerprint: str) -> dict[str, Any]:
    """``--lot-review``: each lot's decision by the name its plan gives it (masked like the lots'
    names in the history); a usage error for a review of no lot, of another split or of another batch."""
    from dqm.lots.compute import LotDecision
    from dqm.lots.models import LotPlan
    from dqm.semantic.resultfile import SemanticFileError, load_semantic

    decisions: dict[str, Any] = {}
    for path in paths:
        try:
            semantic = load_semantic(path, fingerprint)
        except SemanticFileError as exc:
            raise usage_error(reason(exc)) from None
        if semantic.lot is None or semantic.lot.field != field:
            raise usage_error(
                f"--lot-review {path}: not the review of a lot by {field} (dqm sample --lot-by {field})"
            )
        if semantic.decision != "incomplete":
            failed = semantic.core.n_fail if semantic.core is not None else semantic.n_fail
            plan = (
                None
                if semantic.plan != "iso2859"
                else LotPlan(
                    severity=semantic.lot.severity,
                    level=semantic.level or "II",
                    aql=semantic.aql or 0.0,
                    code_letter=semantic.code_letter or "",
                    sample_size=semantic.plan_sample_size,
                    acceptance_number=semantic.acceptance_number or 0,
                    rejection_number=semantic.rejection_number or 0,
                )
            )
            decisions[semantic.lot.name] = LotDecision(
                semantic.decision == "accept", failed, plan, semantic.lot.switching_score
            )
    return decisions


def _with_lots(
    result: Any,
    run: Any,
    field: str,
    plan: tuple[str, float],
    history: Path,
    masker: Any,
    decisions: dict[str, Any],
    order: Any = None,
) -> Any:
    from dqm.lots.compute import lot_names, lots_result, too_many_lots

    order_lots = order.lots(field, lot_names(run, field)) if order is not None else None
    names = list(lot_names(run, field, order_lots))
    refused = too_many_lots(len(names), field)
    if refused is not None:  # the items' records are in the cache: an audit by another field is quick
        raise usage_error(refused)
    states = supplier_states(history, names, masker)
    by_name = {n: decisions[supplier(n, masker)] for n in names if supplier(n, masker) in decisions}
    waived = [result.findings[i] for i in result.waivers.waived] if result.waivers is not None else []
    lots = lots_result(
        run,
        field,
        plan[0],
        plan[1],
        states,
        by_name,
        history=str(history) if history.is_file() else None,
        waived=waived,
        order_lots=order_lots,
    )
    return result.model_copy(update={"lots": lots})


def _item_names(result: Any) -> list[str]:
    """What an item is known by in the outputs: its slide id and its files' paths."""
    return [n for i in result.items for n in (i.slide_id, i.image_path, i.annotation_path) if n]


def _diversity(result: Any, profile: Any, baseline: Any, mask: Any) -> Any:
    from dqm.audit import with_dimension
    from dqm.baseline import masked_items
    from dqm.diversity import diversity_result

    items = masked_items(result.items, mask)  # as the baseline names them
    return with_dimension(result, "diversity", diversity_result(items, profile, baseline))


def _stage(result: Any, name: str, step: Any) -> Any:
    """``step(result)``, or — when it raises — ``result`` with a ``STAGE_CRASHED`` finding: a bug in
    one stage costs that stage, not the audit's other outputs. Usage errors and Ctrl-C pass through."""
    from dqm.audit import stage_crashed, with_finding

    try:
        return step(result)
    except (*EXITS, *USAGE_ERRORS, *ABORTS):
        raise
    except Exception as exc:
        warning(
            msg(
                "the {name} stage crashed ({error}); the rest of the audit goes on",
                name=name,
                error=type(exc).__name__,
            )
        )
        return with_finding(result, stage_crashed(name, exc))


def _load_review(review: Path, fingerprint: str) -> Any:
    """``--review``: the ingested review of this batch, or a usage error that says why not."""
    from dqm.semantic.resultfile import SemanticFileError, load_semantic

    try:
        semantic = load_semantic(review, fingerprint)
    except SemanticFileError as exc:
        raise usage_error(reason(exc)) from None
    if semantic.decision == "incomplete":
        warning(
            msg(
                "the expert review is incomplete ({n} of {total} sampled slides without a verdict): semantic "
                "accuracy does not pass yet",
                n=semantic.remaining,
                total=semantic.sample_size,
            )
        )
    return semantic


def _earlier_slides(base: Any, earlier: tuple[Path, Any] | None, mask: Any = None) -> Any:
    """The slides of the ``--baseline`` release for the batch checks (slides delivered again): from
    the drift baseline when the diversity stage loaded one (a batch folder too), else from its
    results.json; None without a baseline. ``mask``: the run's masker, as the earlier results name
    their slides."""
    import dataclasses

    if base is not None:
        release = base.earlier
    elif earlier is not None:
        from dqm.baseline import earlier_of_result

        release = earlier_of_result(*earlier)
    else:
        return None
    return dataclasses.replace(release, mask=mask)


def _no_baseline(path: Path) -> str:
    return msg("no such baseline: {path} (give a results.json or a batch folder)", path=path)


def _earlier_delivery(
    path: Path, out_dir: Path | None = None, undigested: str | None = None, keys: list[Path] | None = None
) -> tuple[Path, Any] | None:
    """``--baseline`` as an earlier delivery: its results.json (a file, or a folder holding one) and
    the result; None for a batch folder (it serves drift alone). The run's own ``out_dir`` (the
    previous delivery audited into the same folder), if any, is settled first. ``undigested``: as
    :func:`dqm.cli.common.load_result_or_exit` takes it. With ``keys`` (``dqm gate --key
    --new-only``) its signature beside it must verify with one of them, and the bytes it covers are
    those read: an unsigned baseline decides which findings are new, so it could turn a signed FAIL
    into a PASS."""
    if not path.exists():
        raise usage_error(_no_baseline(path))
    where = path / "results.json" if path.is_dir() else path
    if out_dir is not None:
        settle_own_or_exit(where, out_dir)
    if not where.is_file():
        return None
    raw = signed_or_exit(where, keys, None, "--new-only")[0] if keys else None
    return where, load_result_or_exit(where, raw, undigested=undigested)


def _signed_line(signed: str, result: Any) -> str:
    """Who signed, and what: the run, the batch and the date the signature binds, so that a signed
    result of an older run or of another batch, replayed, reads as such in a CI log."""
    return tr(
        msg(
            "{signed}: run {run_id}, batch {fingerprint}, written {created}",
            signed=tr(signed),
            run_id=visible(result.run_id or "–", newlines=False),
            fingerprint=visible(result.batch.fingerprint[:16], newlines=False),
            created=visible(result.created, newlines=False),
        )
    )


def _written(result: Any) -> dt.datetime | None:
    """When ``result`` says it was written (timezone-aware), or None where its date cannot be read."""
    try:
        when = dt.datetime.fromisoformat(result.created)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo is not None else None


def _before_or_exit(baseline: Any, result: Any, path: Path | None) -> None:
    """``dqm gate --key --new-only``: the baseline must be an earlier delivery, another run written
    before the result. A signed result given as its own baseline (or a later one) would leave no
    finding "new" and turn its signed FAIL into a PASS."""
    then, now = _written(baseline), _written(result)
    same_run = bool(result.run_id) and baseline.run_id == result.run_id
    if same_run or then is None or now is None or then >= now:
        raise usage_error(
            msg(
                "--new-only {path}: --key: the baseline must be an earlier run (run {run_id}, written "
                "{created}; the result: run {result_run}, written {result_created})",
                path=path,
                run_id=visible(baseline.run_id or "–", newlines=False),
                created=visible(baseline.created, newlines=False),
                result_run=visible(result.run_id or "–", newlines=False),
                result_created=visible(result.created, newlines=False),
            )
        )


def _waivers_unsigned(path: Path) -> str:
    return msg("waivers applied from {path} (not signed: the signature covers the result only)", path=path)


def _bound_or_exit(result: Any, fingerprint: str | None) -> None:
    """``--batch-fingerprint``: a usage error unless the result is of that batch (the whole
    fingerprint, or a prefix of at least 12 hex digits)."""
    if fingerprint is None:
        return
    wanted = fingerprint.strip().lower()
    if len(wanted) < 12 or any(c not in "0123456789abcdef" for c in wanted):
        raise usage_error(
            msg(
                "--batch-fingerprint {value}: give 12 or more hex digits",
                value=visible(fingerprint, newlines=False),
            )
        )
    if not result.batch.fingerprint.lower().startswith(wanted):
        raise usage_error(
            msg(
                "--batch-fingerprint {value}: the result is of batch {actual} (run {run_id})",
                value=wanted,
                actual=visible(result.batch.fingerprint[:16], newlines=False),
                run_id=visible(result.run_id or "–", newlines=False),
            )
        )


def _waivers_or_exit(path: Path) -> tuple[Path, Any]:
    """``--waivers``: the file and its waivers, or a usage error that says what is wrong with it."""
    from dqm.waivers import WaiverError, load_waivers

    try:
        return path, load_waivers(path)
    except WaiverError as exc:
        raise usage_error(reason(exc)) from None


def _with_waivers(result: Any, waivers: tuple[Path, Any], mask: Any) -> Any:
    """The result decided with the waivers; each expired or unused waiver is a warning."""
    from dqm.waivers import with_waivers

    decided = with_waivers(result, waivers[1], waivers[0].name, mask=mask)
    for line in decided.waivers.warnings if decided.waivers is not None else []:
        warning(line)
    return decided


def _print_disabled(result: Any, lang: str) -> None:
    """The checks the profile disabled, under the verdict (nothing when it disabled none)."""
    from dqm.figures import disabled_line

    line = disabled_line(result, lang)
    if line is not None:
        out.print(f"[bold yellow]{escape(line)}[/]", markup=True)


def _load_baseline(
    path: Path, profile: Any, workers: int | None, mask: Any, earlier: tuple[Path, Any] | None = None
) -> Any:
    """``--baseline``: the earlier release (:class:`dqm.baseline.Release`), or a usage error;
    ``earlier``: its results.json as :func:`_earlier_delivery` read it (not read again: a baseline
    of a million slides is a GB of JSON)."""
    from dqm.baseline import BaselineError, load_release, release_of_result

    try:
        if earlier is not None:
            return release_of_result(*earlier, profile, mask)
        return load_release(path, profile, workers, mask)
    except BaselineError as exc:
        raise usage_error(reason(exc)) from None


def _validity_options(
    validity_profile: str,
    out_dir: Path,
    device: str | None,
    resume: bool,
    classes: Sequence[str],
    mask: Any = None,
) -> Any:
    from dqm.validity import ValidityProfileError, load_validity_profile
    from dqm.validity.run import ValidityOptions

    if device is not None and device not in ("auto", "cpu", "cuda"):
        raise usage_error(msg("--device must be auto, cpu or cuda, not {device}", device=repr(device)))
    try:
        vprof = load_validity_profile(validity_profile)
        vprof.check_classes(classes)  # before the checks run, not after them
    except ValidityProfileError as exc:
        raise usage_error(reason(exc)) from None
    return ValidityOptions(profile=vprof, out=out_dir, device=device, resume=resume, mask=mask)


def _run_validity_stage(run: Any, result: Any, options: Any, resume_hint: str) -> Any:
    """The validity stage with progress bars; Ctrl-C and bad requests end with a clear message."""
    from dqm.validity.progress import RichReporter
    from dqm.validity.run import validity_stage
    from dqm.validity.train import CheckpointMismatch

    try:
        with RichReporter(console, LANGUAGE.value) as reporter:
            options.reporter = reporter
            return validity_stage(run, result, options)
    except KeyboardInterrupt:
        rest = msg(
            "the last finished epoch is saved in {path}; continue with: {command}",
            path=Path(options.out / "checkpoints"),
            command=resume_hint,
        )
        said = f"[bold yellow]{escape(tr(msg('interrupted')))}[/]: {escape(tr(rest))}"
        console.print(said, markup=True)
        INTERRUPT_EXPLAINED.append(said)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except (CheckpointMismatch, ValueError) as exc:
        raise usage_error(reason(exc)) from None


REASON_HEADS = (N_("syntactic errors"), N_("cannot read the slide"))
"""The reasons a slide is left out of validity that go on with its codes or an error after a colon:
the summary line counts them by this head."""


def _reason_head(reason: str) -> str:
    return next((h for h in REASON_HEADS if reason.startswith(h + ":")), reason)


def _print_validity(v: Any) -> None:
    from rich.table import Table

    from dqm.tolerance import fmt_dice, fmt_target

    def fig(d: Any) -> str:  # a class's Dice and interval, beside its decision (fmt_dice)
        point, interval = fmt_dice(d.dice, d.ci_low, d.ci_high, d.target, d.passed) if d else ("–", "")
        return f"{point} ({interval})" if interval else point

    headers = (
        N_("class"),
        N_("pooled Dice (95 % CI)"),
        N_("slide Dice (95 % CI)"),
        N_("slides"),
        N_("target"),
    )
    table = Table(*(tr(msg(h)) for h in (*headers, N_("decision"))))
    for cls, d in v.dice_per_class.items():
        p = d.pooled
        failed = [g.name for g in v.gates if g.name in (cls, f"{cls} pooled") and not g.passed]
        table.add_row(
            cls,
            fig(p),
            fig(d),
            str(d.n_slides),
            fmt_target(d.target, 2),
            tr(msg("FAIL")) if failed else tr(msg("pass")),
        )
    out.print(table)
    for t in v.by_test_set:
        figures = ", ".join(
            tr(
                msg(
                    "{cls}: pooled {pooled}, slide {slide}",
                    cls=cls,
                    pooled=fmt_dice(d.pooled.dice, None, None, d.target, d.pooled.passed)[0]
                    if d.pooled
                    else "–",
                    slide=fig(d),
                )
            )
            for cls, d in t.dice_per_class.items()
        )
        said = msg(
            "test set {name} ({n} slides, {patients} patients): {figures}",
            name=t.name,
            n=t.n_slides,
            patients=t.n_groups,
            figures=figures,
        )
        out.print(tr(said), markup=False)
    mean = "n/a" if v.mean_dice is None else fmt_dice(v.mean_dice, None, None, v.target, v.passed)[0]
    pooled = (
        ""
        if v.pooled_mean_dice is None
        else tr(
            msg("pooled Dice {dice}, ", dice=fmt_dice(v.pooled_mean_dice, None, None, v.target, v.passed)[0])
        )
    )
    said = msg(
        "validity: {pooled}mean slide Dice {mean} over {n} held-out slides ({used} of {total} slides used, "
        "{left} left out), {decision}",
        pooled=pooled,
        mean=mean,
        n=v.n_scored,
        used=v.n_used,
        total=v.n_slides,
        left=len(v.excluded),
        decision="PASS" if v.passed else "FAIL",  # the marker stays, for logs that are searched
    )
    out.print(tr(said), highlight=False)
    if v.unreadable_tiles:
        n_bad = sum(v.unreadable_tiles.values())
        said = (
            msg(
                "unreadable training tiles: {n} of {total}, replaced by blank ones",
                n=n_bad,
                total=v.training_tiles,
            )
            if v.training_tiles
            else msg("unreadable training tiles: {n}, replaced by blank ones", n=n_bad)
        )
        out.print(tr(said), highlight=False)
    if v.excluded:
        from collections import Counter

        why = Counter(_reason_head(e.reason) for e in v.excluded)
        lang = LANGUAGE.value
        reasons = ", ".join(f"{n} {translated(reason, lang)}" for reason, n in why.most_common())
        out.print(tr(msg("left out: {reasons}", reasons=reasons)), highlight=False)


@app.command()
def validity(
    context: typer.Context,
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
    mask_key: MaskKeyOpt = None,
    results: Annotated[Path | None, typer.Option(help=RESULTS_HELP)] = None,
    cache: Annotated[
        Path | None,
        typer.Option(help="--results: the audit's result cache (default: .dqm-cache next to results.json)."),
    ] = None,
    lang: LangOpt = "en",
) -> None:
    """Train a segmentation model on the batch and score Dice per class on held-out slides.

    Exit 0 when every class reaches its target, 1 when one does not, 130 when interrupted
    (resume with --resume).

    With --results, the slides' parsed annotations, facts and findings come from that audit's
    records (its result cache) instead of checking the batch again; an item the cache lacks is
    checked again and named.
    """
    import shutil

    from dqm.runner import RunOptions
    from dqm.validity.run import CHECKPOINTS, RESULT_FILE

    root = batch_folder(batch)
    prof = load_profile_or_exit(dataset_profile)
    masker = start_masking(prof.deid, mask_key)
    out_dir = removed_when_unused(context, out_dir, root)  # a run refused below leaves no empty --out
    if results is not None:  # an audit into --out a killed run left half moved: finished first
        settle_own_or_exit(results, out_dir)
    options = _validity_options(profile, out_dir, device, resume, prof.class_ids, masker)
    previous = [p for p in (out_dir / RESULT_FILE, out_dir / CHECKPOINTS) if p.exists()]
    if previous and not (resume or force):
        raise usage_error(
            msg(
                "{path} holds a validity run: pass --resume to continue it or --force to replace it",
                path=out_dir,
            )
        )
    if force and not resume:
        for p in previous:
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    if results is not None:
        run = reused_run_or_exit(results, root, prof, RunOptions(workers=workers), cache, mask=masker)
    elif cache is not None:
        raise usage_error(msg("--cache is the audit's result cache: it needs --results"))
    else:
        run = run_with_progress(root, prof, RunOptions(workers=workers, whole_records=True))
    hint = f"dqm validity {batch} --out {out_dir} --profile {profile} --resume"
    v = _run_validity_stage(run, None, options, hint)
    _print_validity(v)
    role = tr(msg("results"))
    out.print(tr(msg("{role}: {path}", role=role, path=out_dir / RESULT_FILE)), markup=False)
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
    quality_table: Annotated[
        Path | None,
        typer.Option(
            help="Also write the quality table (AI-Hub layout, Korean and English): .xlsx (a sheet per "
            "language) or .csv (NAME.ko.csv, NAME.en.csv)."
        ),
    ] = None,
    label_thumbnails: Annotated[
        bool,
        typer.Option(
            "--label-thumbnails",
            help="Show the label photographs results.json holds (only an audit run with the flag keeps them).",
        ),
    ] = False,
    profile: ProfileOpt = None,
    mask_key: MaskKeyOpt = None,
    waivers: WaiversOpt = None,
    lang: LangOpt = "en",
    report_findings_cap: FindingsCapOpt = None,
) -> None:
    """Re-render the report from results.json, without re-running anything (the profile gives
    only the quality table's layout; --waivers decides the verdict again with a waiver file)."""
    from dqm.i18n import translator
    from dqm.output import write_file
    from reports import render_junit, render_summary
    from reports.findings_cap import FINDINGS_CAP, FINDINGS_SIDECAR, findings_csv, over_cap
    from reports.outputs import render_sealed_html
    from reports.quality_table import quality_files

    prof = load_profile_or_exit(profile)
    masker = start_masking(prof.deid, mask_key)
    waiver_list = _waivers_or_exit(waivers) if waivers is not None else None
    result = load_result_or_exit(results)
    if waiver_list is not None:  # decided again: no longer the report of that results.json's digest
        result = _with_waivers(result, waiver_list, masker).model_copy(update={"digest": None})
    layout = prof.quality_table
    tables: dict[Path, str | bytes] = {}
    if quality_table is not None:
        try:  # an .xlsx is binary: the result is masked before it is laid out
            masked = type(result).model_validate_json(masker(result.model_dump_json())) if masker else result
            tables = quality_files(masked, layout, quality_table)
        except ValueError as exc:
            raise usage_error(f"--quality-table: {visible(str(exc), newlines=False)}") from None
    if not label_thumbnails:
        result = _without_labels(result)
    batch = Path(result.batch.path)
    if batch.is_dir():  # the result names its batch: never write into it
        for path, option in ((output, "--output"), (junit, "--junit"), (summary, "--summary")):
            if path is not None:
                outside_batch(path, batch.resolve(), option)
        for path in tables:
            outside_batch(path, batch.resolve(), "--quality-table")
    # The HTML, JUnit and summary are written before the PDF is attempted: without a Chromium the
    # page is still there to open and print from a browser (the error message says so).
    _ = translator(lang)
    cap = FINDINGS_CAP if report_findings_cap is None else report_findings_cap
    page = render_sealed_html(result, masker, layout, lang, prof.display_names(lang), findings_cap=cap)
    write_file(output, page, binary=True)
    out.print(_("{role}: {path}", role=_(N_("report")), path=Path(output)), markup=False)
    if over_cap(result, cap):
        sidecar = write_file(output.parent / FINDINGS_SIDECAR, findings_csv(result), masker, compress=True)
        out.print(_("{role}: {path}", role=_(N_("findings")), path=Path(sidecar)), markup=False)
    if junit is not None:
        write_file(junit, render_junit(result, lang), masker)
        out.print(_("{role}: {path}", role=_(N_("junit")), path=Path(junit)), markup=False)
    if summary is not None:
        write_file(summary, render_summary(result, lang), masker)
        out.print(_("{role}: {path}", role=_(N_("summary")), path=Path(summary)), markup=False)
    for path, data in tables.items():
        write_file(path, data, binary=isinstance(data, bytes))
        out.print(_("{role}: {path}", role=_(N_("quality table")), path=Path(path)), markup=False)
    if pdf:
        from reports.pdf import PdfError, find_chromium, print_pdf

        target = output.with_suffix(".pdf")
        try:
            print_pdf(output, target, find_chromium(chromium))
        except PdfError as exc:
            raise usage_error(f"--pdf: {visible(str(exc), newlines=False)}") from None
        out.print(_("{role}: {path}", role="PDF", path=Path(target)), markup=False)


def _without_labels(result: Any) -> Any:
    """The result without the slides' label photographs (pixels of the glass label)."""
    items = [
        i.model_copy(update={"slide": i.slide.model_copy(update={"label_thumbnail": None})})
        if i.slide is not None and i.slide.label_thumbnail
        else i
        for i in result.items
    ]
    return result.model_copy(update={"items": items})


@app.command("gate")
def gate_command(
    results: Annotated[Path, typer.Argument(help="A results.json written by dqm audit.")],
    require: GateRequire = None,
    warn_only: WarnOnly = None,
    lots: Annotated[
        bool,
        typer.Option(
            "--lots", help="Every lot of an audit run with --lot-by must pass too (3 when it has no lots)."
        ),
    ] = False,
    profile: ProfileOpt = None,
    mask_key: MaskKeyOpt = None,
    waivers: WaiversOpt = None,
    new_only: Annotated[
        Path | None,
        typer.Option(
            "--new-only",
            help="A baseline results.json (or its output folder): only findings it does not have fail "
            "syntactic accuracy.",
        ),
    ] = None,
    allow_undigested: Annotated[
        bool,
        typer.Option(
            "--allow-undigested",
            help="Decide from a results.json without a content digest (written before results schema "
            "1.10), whose content nothing checks; refused without it (exit 2).",
        ),
    ] = False,
    key: Annotated[
        list[Path] | None,
        typer.Option(
            "--key",
            help="A public key (PEM) the result must be signed by (exit 2 otherwise); repeat it to trust "
            "several (one signature, by any of them).",
        ),
    ] = None,
    signature: Annotated[
        Path | None,
        typer.Option(help="The signature file, with --key (default: RESULTS.sig beside it)."),
    ] = None,
    batch_fingerprint: Annotated[
        str | None,
        typer.Option(
            "--batch-fingerprint",
            help="The batch the result must be of: its fingerprint, or its first 12 or more hex digits "
            "(exit 2 otherwise): a signed result of another batch or an older delivery is refused.",
        ),
    ] = None,
    lang: LangOpt = "en",
) -> None:
    """Exit 0 when the required dimensions passed, 1 when one failed, 3 when one is missing or
    pending (without --require every dimension is required: an INCOMPLETE result exits 3), 2 on
    usage errors (bad option, unreadable, malformed, edited or, without --allow-undigested,
    undigested results.json, or waiver file; with --key, a signature missing, bad or by another key,
    on the result or on the --new-only baseline; a result of another --batch-fingerprint)."""
    from dqm.figures import verdict_line
    from dqm.gate import gate, lot_lines
    from dqm.gate import new_only as only_new

    masker = start_masking(load_profile_or_exit(profile).deid, mask_key)
    req = dimensions_or_exit(require, "--require")
    warn = dimensions_or_exit(warn_only, "--warn-only") or []
    waiver_list = _waivers_or_exit(waivers) if waivers is not None else None
    if signature is not None and not key:
        raise usage_error(msg("--signature needs --key (the public key it must verify with)"))
    earlier = None
    undigested = None if allow_undigested else "--allow-undigested"
    if new_only is not None:
        earlier = _earlier_delivery(new_only, undigested=undigested, keys=key)
        if earlier is None:
            raise usage_error(msg("--new-only {path}: no such results.json", path=new_only))
    # with --key, the bytes whose signature verified are those decided from (never read twice)
    raw, signed = signed_or_exit(results, key, signature) if key else (None, None)
    result = load_result_or_exit(results, raw, undigested=undigested)
    _bound_or_exit(result, batch_fingerprint)
    if waiver_list is not None:
        result = _with_waivers(result, waiver_list, masker)
    notes: list[str] = []
    if earlier is not None:
        if key:
            _before_or_exit(earlier[1], result, new_only)
        result, notes = only_new(result, earlier[1], lang)
    outcome = gate(result, req, warn, lots=lots, lang=lang, every=True)
    out.print(f"[bold]{escape(verdict_line(result, lang))}[/]", markup=True)
    if signed is not None:  # SIGNED stays: a marker logs are searched for
        out.print(f"SIGNED   {_signed_line(signed, result)}", markup=False, highlight=False)
        if earlier is not None:
            out.print(f"BASELINE {_signed_line(msg('baseline'), earlier[1])}", markup=False, highlight=False)
        if waiver_list is not None:
            out.print(f"WAIVED   {tr(_waivers_unsigned(waiver_list[0]))}", markup=False, highlight=False)
    _print_disabled(result, lang)
    print_order_line(result, lang)
    for line in notes:
        out.print(line, highlight=False)
    for line in outcome.lines:
        out.print(line, highlight=False)
    for line in lot_lines(result, lang):
        out.print(line, highlight=False, soft_wrap=True)
    raise typer.Exit(outcome.exit_code)


@app.command()
def diff(
    old: Annotated[Path, typer.Argument(help="The earlier results.json.")],
    new: Annotated[Path, typer.Argument(help="The later results.json.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="text | markdown")] = "text",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    profile: ProfileOpt = None,
    mask_key: MaskKeyOpt = None,
    lang: LangOpt = "en",
) -> None:
    """What changed between two deliveries: verdicts, figures, new and resolved finding codes. With
    --lang ko the diff, its errors and the line naming the file written are Korean (codes stay)."""
    from dqm.diff import diff_results
    from dqm.i18n import translator
    from reports import render_diff_markdown, render_diff_text

    _ = translator(lang)
    masker = start_masking(load_profile_or_exit(profile).deid, mask_key)
    renderers = {"text": render_diff_text, "markdown": render_diff_markdown, "md": render_diff_markdown}
    if fmt not in renderers:
        raise usage_error(_("unknown --format {fmt}: choose text or markdown", fmt=repr(fmt)))
    text = renderers[fmt](diff_results(load_result_or_exit(old), load_result_or_exit(new)), lang)
    if output is None:
        sys.stdout.write(masker(text) if masker is not None else text)
    else:
        from dqm.output import write_file

        write_file(output, text, masker)
        out.print(_("{role}: {path}", role=_(N_("diff")), path=Path(output)), markup=False)
