"""The semantic commands: ``dqm sample``, ``dqm review plan`` and ``dqm review ingest``.

Only typer loads at import; each command imports what it needs when it runs. Exit codes follow the main app: 0 accepted (or written),
1 rejected, 2 usage error, 3 review incomplete.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from dqm.cli.common import (
    CACHE_FOLDER,
    SEVERITY_ORDER,
    CacheOpt,
    ExecutorOpt,
    IdentifierMapOpt,
    LangOpt,
    MaskKeyOpt,
    SchedulerOpt,
    app,
    audited_or_exit,
    batch_folder,
    executor_or_exit,
    first_names,
    load_profile_or_exit,
    out,
    outside_batch,
    print_finding_lines,
    read_mask_key,
    reason,
    run_with_progress,
    settle_own_or_exit,
    severity_word,
    start_masking,
    start_run,
    tr,
    usage_error,
    warning,
    write_identifier_map,
)
from dqm.cli.lots import (
    HistoryOpt,
    LotByOpt,
    ReducedOpt,
    lot_field_or_exit,
    open_history_or_exit,
    supplier,
    supplier_states,
)
from dqm.i18n import N_, msg
from dqm.output import TooLarge, csv_cell_limit, read_bounded, visible

review_app = typer.Typer(
    help="Expert review: plan a sample size, ingest reviewers' verdicts.",
    no_args_is_help=True,
    add_completion=False,
)

PlanOpt = Annotated[str, typer.Option("--plan", help="iso2859 (ISO 2859-1, default) or precision.")]
LevelOpt = Annotated[str, typer.Option(help="ISO 2859-1 inspection level: I, II, III, S-1 … S-4.")]
AqlOpt = Annotated[float, typer.Option(help="ISO 2859-1 AQL in % nonconforming (a Table 2-A value ≤ 10).")]
LqOpt = Annotated[
    float | None,
    typer.Option(
        "--lq",
        help="An isolated lot: the limiting quality in % nonconforming. The plan is the smallest sample whose "
        "chance of accepting a lot at the LQ is at most 10 % (hypergeometric, as ISO 2859-2 Procedure A "
        "defines it; computed, not the standard's printed table). Replaces --level / --aql.",
    ),
]
LqAcOpt = Annotated[
    int, typer.Option("--lq-ac", min=0, help="With --lq: the plan's acceptance number (default 0).")
]
MarginOpt = Annotated[
    float, typer.Option(help="Precision plan: largest Wilson half-width of the accuracy interval.")
]
ConfidenceOpt = Annotated[float, typer.Option(help="Confidence level of intervals (precision plan, ingest).")]
ExpectedOpt = Annotated[float, typer.Option(help="Precision plan: accuracy expected before the review.")]


MAX_RISK_BYTES = 64 << 20
"""The most a --risk CSV is read of (a slide id and a number a row)."""


def _plan_options(**kw: Any) -> Any:
    from dqm.semantic.planfile import PlanOptions

    return PlanOptions(**kw)


def _read_risk(path: Path) -> dict[str, float]:
    """``slide_id,risk`` CSV → mapping; a usage error names the first bad row."""
    import csv

    csv_cell_limit()  # raised again, where something lowered it since dqm.output's import
    try:
        rows = list(csv.DictReader(read_bounded(path, MAX_RISK_BYTES).decode("utf-8-sig").splitlines()))
    except TooLarge as exc:
        raise usage_error(exc.message(N_("risk file"))) from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise usage_error(msg("cannot read risk file {path}: {error}", path=path, error=exc)) from None
    out: dict[str, float] = {}
    for i, row in enumerate(rows, start=1):
        try:
            out[str(row["slide_id"]).strip()] = float(row["risk"])
        except (KeyError, TypeError, ValueError):
            raise usage_error(
                msg("{path} row {row}: needs columns slide_id and risk (a number)", path=path, row=i)
            ) from None
    return out


@app.command()
def sample(
    batch: Annotated[Path, typer.Argument(help="The batch folder (read only).")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the review plan and sheet.")],
    plan: PlanOpt = "iso2859",
    level: LevelOpt = "II",
    aql: AqlOpt = 1.0,
    margin: MarginOpt = 0.03,
    confidence: ConfidenceOpt = 0.95,
    expected: ExpectedOpt = 0.95,
    strata: Annotated[
        str,
        typer.Option(
            help="Comma-separated fields to stratify by (diagnosis, institution or clinical fields)."
        ),
    ] = "diagnosis,institution",
    min_per_stratum: Annotated[
        int, typer.Option(min=0, help="Slides drawn at least from each non-empty stratum.")
    ] = 1,
    max_strata: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="The most strata before the fields are merged (default: half the plan's n, 50 to 500; "
            "0: never merge). The lesion class (diagnosis) is never merged.",
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            help="Seed of the draw; same batch and seed, same sample (default: a fresh random seed, recorded in "
            "the plan; a seed known before the delivery lets the supplier predict the sample)."
        ),
    ] = None,
    oversample_flagged: Annotated[
        bool,
        typer.Option(
            help="Draw slides with syntactic findings (or a high --risk) more often; weights correct it."
        ),
    ] = False,
    oversample_factor: Annotated[
        float, typer.Option(min=1.0, help="How much more often flagged slides are drawn.")
    ] = 3.0,
    risk: Annotated[
        Path | None,
        typer.Option(help="CSV slide_id,risk (e.g. low model agreement); risk ≥ --risk-threshold flags."),
    ] = None,
    risk_threshold: Annotated[
        float, typer.Option(help="Risk score at or above which a slide is flagged.")
    ] = 0.5,
    thumb_size: Annotated[
        int, typer.Option(min=64, max=2048, help="Largest thumbnail side in review.html (px).")
    ] = 640,
    thumb_quality: Annotated[int, typer.Option(min=20, max=95, help="JPEG quality of the thumbnails.")] = 70,
    profile: Annotated[
        str | None, typer.Option("--profile", "-p", help="Profile YAML file or built-in name.")
    ] = None,
    workers: Annotated[int | None, typer.Option("--workers", "-j", min=1, help="Worker processes.")] = None,
    results: Annotated[
        Path | None,
        typer.Option(
            help="An audit's results.json of this batch: drawn from it instead of checking the batch again "
            "(refused when the batch changed since)."
        ),
    ] = None,
    cache: CacheOpt = None,
    mask_key: MaskKeyOpt = None,
    identifier_map: IdentifierMapOpt = None,
    executor: ExecutorOpt = None,
    scheduler: SchedulerOpt = None,
    lot_by: LotByOpt = None,
    history: HistoryOpt = None,
    reduced_allowed: ReducedOpt = False,
    lq: LqOpt = None,
    lq_ac: LqAcOpt = 0,
    lang: LangOpt = "en",
) -> None:
    """Draw the expert-review sample: review_plan.json, review_plan.csv and the review sheet review.html.

    With --lot-by, one plan per lot (OUT/lots/lot-NN), each for the lot's size at the ISO 2859-1
    severity its supplier is at in the lot history (--history).

    With --results, the audit's items and findings are reused and the drawn slides' records come
    from the result cache (--cache, default: the audit's .dqm-cache next to results.json); a drawn
    slide without a cached record is checked alone."""
    from dataclasses import replace

    from dqm.batch import discover
    from dqm.output import write_file
    from dqm.runner import RunOptions
    from dqm.semantic.history import default_history_path
    from dqm.semantic.models import PlanBatch
    from dqm.semantic.planfile import PlanError, build_plan, masked_plan, with_files, write_plan
    from dqm.semantic.sampling import fresh_seed
    from dqm.semantic.sheet import sheet_data
    from dqm.syntactic.accuracy import fingerprint
    from reports.review import render_review_html

    run_id = start_run()
    root = batch_folder(batch)
    outside_batch(out_dir, root, "--out")
    if identifier_map is not None:
        outside_batch(identifier_map, root, "--identifier-map")
    if history is not None or lot_by is not None:  # the default beside --out too: a link there into the batch
        outside_batch(history if history is not None else default_history_path(out_dir), root, "--history")
    if lq is not None and (lot_by is not None or history is not None or plan != "iso2859"):
        raise usage_error(
            msg(
                "--lq plans one isolated lot: not with --lot-by or --history (lots of a supplier follow ISO "
                "2859-1's switching rules) nor with --plan precision"
            )
        )
    prof = load_profile_or_exit(profile)
    masker = start_masking(prof.deid, mask_key)
    if lot_by is not None:
        lot_field_or_exit(lot_by, prof)
    fields = tuple(f.strip() for f in strata.split(",") if f.strip())
    unknown = [f for f in fields if f not in ("diagnosis", "institution") and f not in prof.clinical]
    if unknown:
        raise usage_error(
            msg(
                "unknown stratification field(s) {names}: use diagnosis, institution or a clinical field of "
                "the profile ({fields})",
                names=", ".join(unknown),
                fields=", ".join(prof.clinical),
            )
        )
    where = executor_or_exit(executor, scheduler)
    risk_scores = _read_risk(risk) if risk is not None else {}
    seed_source = "given" if seed is not None else "drawn"
    seed = seed if seed is not None else fresh_seed()
    options = _plan_options(
        plan=plan,
        level=level,
        aql=aql,
        margin=margin,
        confidence=confidence,
        expected=expected,
        strata=fields,
        minimum=min_per_stratum,
        max_strata=max_strata,
        seed=seed,
        seed_source=seed_source,
        oversample=oversample_flagged or bool(risk_scores),
        factor=oversample_factor,
        threshold=risk_threshold,
        risk=risk_scores,
        lq=lq,
        lq_ac=lq_ac,
    )
    run = None
    if results is not None:
        settle_own_or_exit(results, out_dir)  # an audit into --out a killed run left half moved
        discovery = discover(root)  # once: for the fingerprint and the drawn slides' records
        audited = audited_or_exit(results, root, prof, discovery, masker)
        items, findings, batch_print = audited.items, audited.findings, audited.batch.fingerprint
    else:
        # whole records: the review sheet draws hundreds of slides, too many to check again
        run_options = RunOptions(workers=workers, whole_records=True, **where)
        run = run_with_progress(root, prof, run_options, cache, mask=masker)
        items, findings, batch_print = list(run.outcomes.summaries()), run.findings, fingerprint(run)
    batch_info = PlanBatch(
        path=str(root),
        fingerprint=batch_print,
        n_items=len(items),
        profile=prof.name,
        profile_sha256=prof.sha256,
    )
    findings_by_slide: dict[str, int] = {}
    for f in findings:
        if f.severity.value in ("error", "warning"):
            findings_by_slide[f.item_id] = findings_by_slide.get(f.item_id, 0) + 1
    if run is not None:
        by_id: dict[str, int] = {}  # slide id -> its first item: records are built as drawn
        for k, slide_id in enumerate(run.outcomes.summaries().column("slide_id")):
            by_id.setdefault(slide_id, k)
    written_names: list[str] = []
    for folder, items_of_lot, lot_info in _lots_to_sample(
        items, out_dir, lot_by, prof, history, reduced_allowed, masker
    ):
        try:
            review_plan = build_plan(
                items_of_lot,
                batch_info,
                replace(options, severity=lot_info.severity if lot_info else "normal"),
                findings_by_slide,
                lot_info,
            ).model_copy(update={"run_id": run_id})
        except PlanError as exc:
            raise usage_error(reason(exc)) from None
        # The files name slides masked; the sheet reads the batch by the real names, and quotes the
        # masked plan's id, so the verdicts it exports match the plan that ingest reads.
        written = masked_plan(review_plan, masker) if masker is not None else review_plan
        drawn = {s.slide_id for s in review_plan.sample}
        if run is None:  # an audit's results.json names its slides masked already
            cached = cache or results.parent / CACHE_FOLDER  # type: ignore[union-attr]
            records = _records_of(root, prof, drawn, cached, audited, discovery, masker)
        else:
            records = {sid: run.outcomes[by_id[sid]] for sid in drawn if sid in by_id}
        # the audit's record of each drawn slide's files: the review server serves no tile of a
        # slide that is not that file any more
        written = with_files(review_plan, written, records, masker)
        paths = write_plan(written, folder)
        real = review_plan.model_copy(update={"plan_id": written.plan_id})
        sheet = sheet_data(real, records, root, prof, thumb_size, thumb_quality, lang)
        write_file(folder / "review.html", render_review_html(sheet, lang), masker)
        written_names += [
            n
            for r in records.values()
            for n in (r.summary.slide_id, r.summary.image_path, r.summary.annotation_path)
            if n
        ]
        if lot_info is not None:
            out.print(
                tr(msg("lot {name} ({folder}):", name=lot_info.name, folder=folder.name)),
                highlight=False,
                soft_wrap=True,
            )
        _print_sample(review_plan, paths, folder, seed)
    write_identifier_map(identifier_map, written_names, masker)


def _lots_to_sample(
    items: list[Any],
    out_dir: Path,
    lot_by: str | None,
    profile: Any,
    history: Path | None,
    reduced_allowed: bool,
    masker: Any,
) -> list[tuple[Path, list[Any], Any]]:
    """Where each plan goes, its items and its lot: the whole batch in ``out_dir``, or with
    ``--lot-by`` each lot in ``out_dir/lots/lot-NN`` at the severity of its supplier's history.
    A supplier whose inspection is discontinued gets no plan (a warning says so)."""
    from dqm.lots.compute import too_many_lots
    from dqm.semantic.history import default_history_path
    from dqm.semantic.models import PlanLot
    from dqm.semantic.planfile import stratum_value
    from dqm.semantic.switching import SchemeState

    if lot_by is None:
        return [(out_dir, items, None)]
    field = lot_field_or_exit(lot_by, profile)
    by_lot: dict[str, list[Any]] = {}
    for item in items:
        by_lot.setdefault(stratum_value(item, field), []).append(item)
    refused = too_many_lots(len(by_lot), field)
    if refused is not None:
        raise usage_error(refused)
    where = history if history is not None else default_history_path(out_dir)
    states = supplier_states(where, list(by_lot), masker)
    plans = []
    for k, (name, members) in enumerate(sorted(by_lot.items()), start=1):
        state = states.get(name, SchemeState())
        if state.state == "discontinued":
            warning(
                msg(
                    "lot {name}: inspection of its supplier is discontinued (dqm lots resume after corrective "
                    "action); no plan drawn",
                    name=name,
                )
            )
            continue
        lot_info = PlanLot(
            field=field,
            name=supplier(name, masker),
            severity=state.severity,
            switching_score=state.score if state.state == "normal" else None,
            reduced_allowed=reduced_allowed,
            history=str(where.resolve()),
        )
        plans.append((out_dir / "lots" / f"lot-{k:02d}", members, lot_info))
    return plans


def _print_sample(review_plan: Any, paths: dict[str, Path], folder: Path, seed: int) -> None:
    from dqm.semantic.planfile import floors_over_plan

    out.print(_plan_line(review_plan), highlight=False, soft_wrap=True)
    merge = review_plan.strata_merge
    if merge is not None and merge.fields:  # none: the class alone past the cap, nothing merged
        warning(
            msg(
                "stratified by {fields}, the lot makes {before} strata, more than {cap} for a sample of {core}: "
                "merged into {after} (values of each coarsened field: {how}); numeric fields are cut into bins "
                "of adjacent values holding about equal numbers of slides, the others keep their values big enough "
                "on their own and group the rest into (other …) groups of about equal size; (missing) stays a "
                "stratum of its own",
                fields=", ".join(review_plan.strata_fields),
                before=merge.strata_before,
                cap=merge.cap,
                core=review_plan.plan_sample_size,
                after=merge.strata_after,
                how=merge.coarsened,
            )
        )
    if merge is not None and merge.kept and merge.strata_after > merge.cap:
        warning(
            msg(
                "the lesion class ({field}) is never merged, so that every class is reviewed: its "
                "{values} values keep {after} strata over the cap of {cap}",
                field=", ".join(merge.kept),
                values=len({s.key[f] for s in review_plan.strata for f in merge.kept}),
                after=merge.strata_after,
                cap=merge.cap,
            )
        )
    extra = floors_over_plan(review_plan)
    if extra > review_plan.plan_sample_size:  # the floors more than double the review
        template = (
            N_(
                "the {strata} merged strata's floor of {minimum} a stratum (--min-per-stratum) adds {extra} "
                "slides to the sample of {core}; lower the floor or the cap on strata (--max-strata)"
            )
            if merge is not None and merge.fields
            else N_(
                "stratified by {fields}, the lot makes {strata} strata for a sample of {core}: the floor of "
                "{minimum} a stratum (--min-per-stratum) adds {extra} slides to review; stratify by fewer or "
                "coarser fields, or lower the floor"
            )
        )
        warning(
            msg(
                template,
                fields=", ".join(review_plan.strata_fields),
                strata=len(review_plan.strata),
                core=review_plan.plan_sample_size,
                minimum=review_plan.minimum_per_stratum,
                extra=extra,
            )
        )
    over = review_plan.oversampling
    if over.enabled:
        out.print(
            tr(
                msg(
                    "oversampling ×{factor:g}: {drawn} of {flagged} flagged slides drawn",
                    factor=over.factor,
                    drawn=over.flagged_in_sample,
                    flagged=over.flagged_in_lot,
                )
            ),
            highlight=False,
            soft_wrap=True,
        )
    out.print(
        escape(
            tr(
                msg(
                    "{n} slides drawn ({core} core, the rest supplementary) from {strata} strata (seed {seed})\n"
                    "plan: {plan}\nslides: {slides}\nreview sheet: {sheet}",
                    n=review_plan.sample_size,
                    core=review_plan.plan_sample_size,
                    strata=len(review_plan.strata),
                    seed=seed,
                    plan=paths["json"],
                    slides=paths["csv"],
                    sheet=folder / "review.html",
                )
            )
        ),
        highlight=False,
        soft_wrap=True,
    )


def _records_of(
    root: Path,
    profile: Any,
    slide_ids: set[str],
    folder: Path,
    audited: Any,
    discovery: Any,
    mask: Any = None,
) -> dict[str, Any]:
    """The item records of ``slide_ids`` among the items of ``discovery``: from the result cache in
    ``folder`` where it holds them (unchanged files, the options of the audit ``audited``), else by
    checking those items alone in this process. With the run's ``mask``, an id may be masked (as an
    audit's results.json names it)."""
    from dqm.cache import RecordCache, context_key
    from dqm.reuse import audit_item_options
    from dqm.runner import RunOptions, check_item_safely
    from validators.engine import configure

    options = audit_item_options(audited, RunOptions(workers=1))

    # the audit lists the discovered items, in the same order, each under its own id as it is or
    # masked (dqm.reuse refused it otherwise): a drawn slide is the discovered item at its place
    place: dict[str, int] = {}
    for k, summary in enumerate(audited.items):
        place.setdefault(summary.slide_id, k)
    items = {sid: discovery.items[place[sid]] for sid in sorted(slide_ids, key=lambda i: (place[i], i))}
    records: dict[str, Any] = {}
    if folder.is_dir():
        outside_batch(folder, root, "--cache")
        with RecordCache(
            folder, root, context_key(profile.sha256, options), warn=warning, mask=mask
        ) as cache:
            for slide_id, item in items.items():
                record = cache.lookup(cache.key(item), item)
                if record is not None:
                    records[slide_id] = record
    missing = [slide_id for slide_id in items if slide_id not in records]
    if missing:
        warning(
            msg(
                "{n} drawn slides checked again for the review sheet: the result cache {path} holds no record "
                "of them under their current files and the audit's options ({names})",
                n=len(missing),
                path=folder,
                names=first_names(missing),
            )
        )
    checks = configure(profile) if missing else []
    for slide_id in missing:
        records[slide_id] = check_item_safely(items[slide_id], root, profile, checks, options)
    return records


def _lq_line(lq: float, lot_size: int, n: int, ac: int, note: str) -> str:
    return tr(
        msg(
            "limiting-quality plan for an isolated lot, LQ {lq:g} %: lot {lot} → n = {n}, Ac = {ac}, Re = {re} "
            "({note})",
            lq=lq,
            lot=lot_size,
            n=n,
            ac=ac,
            re=ac + 1,
            note=note,
        )
    )


def _plan_line(p: Any) -> str:
    if p.plan == "iso2859" and p.lq is not None:
        return _lq_line(p.lq, p.lot_size, p.plan_sample_size, p.acceptance_number, p.note)
    if p.plan == "iso2859":
        extra = f" ({p.note})" if p.note else ""
        return (
            tr(
                msg(
                    "ISO 2859-1 {severity} inspection, level {level}, AQL {aql:g}: lot {lot} → code letter {letter}, "
                    "n = {n}, Ac = {ac}, Re = {re}",
                    severity=severity_word(p.lot.severity if p.lot else "normal"),
                    level=p.level,
                    aql=p.aql,
                    lot=p.lot_size,
                    letter=p.code_letter,
                    n=p.plan_sample_size,
                    ac=p.acceptance_number,
                    re=p.rejection_number,
                )
            )
            + extra
        )
    return tr(
        msg("precision plan: lot {lot} → n = {n} ({note})", lot=p.lot_size, n=p.plan_sample_size, note=p.note)
    )


@review_app.command("plan")
def plan_command(
    lot_size: Annotated[int, typer.Option("--lot-size", "-N", min=1, help="Slides in the lot.")],
    plan: PlanOpt = "iso2859",
    level: LevelOpt = "II",
    aql: AqlOpt = 1.0,
    margin: MarginOpt = 0.03,
    confidence: ConfidenceOpt = 0.95,
    expected: ExpectedOpt = 0.95,
    json_out: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
    severity: Annotated[
        str, typer.Option(help="ISO 2859-1 inspection: normal (Table 2-A), tightened (2-B) or reduced (2-C).")
    ] = "normal",
    lq: LqOpt = None,
    lq_ac: LqAcOpt = 0,
    lang: LangOpt = "en",
) -> None:
    """The sample size and Ac / Re for a lot size, without a batch (for agreeing a plan with a supplier)."""
    import dataclasses
    import json

    from dqm.semantic.intervals import precision_sample_size
    from dqm.semantic.iso2859 import plan_iso2859
    from dqm.semantic.lq_plans import plan_lq

    try:
        if plan == "iso2859" and lq is not None:
            q = plan_lq(lot_size, lq, lq_ac)
            data: dict[str, Any] = {"plan": "iso2859", **dataclasses.asdict(q)}
            line = _lq_line(q.lq, lot_size, q.sample_size, q.acceptance_number, q.note)
        elif plan == "iso2859":
            p = plan_iso2859(lot_size, level, aql, severity)  # type: ignore[arg-type]
            data = {"plan": "iso2859", **dataclasses.asdict(p)}
            line = tr(
                msg(
                    "ISO 2859-1 single sampling, {severity} inspection, level {level}, AQL {aql:g}: lot {lot} → "
                    "code letter {letter}, n = {n}, Ac = {ac}, Re = {re}",
                    severity=severity_word(p.severity),
                    level=p.level,
                    aql=p.aql,
                    lot=lot_size,
                    letter=p.code_letter,
                    n=p.sample_size,
                    ac=p.acceptance_number,
                    re=p.rejection_number,
                )
            ) + (f" ({p.note})" if p.note else "")
        elif plan == "precision":
            n = precision_sample_size(margin, confidence, expected, lot_size)
            data = dict(plan="precision", lot_size=lot_size, margin=margin, confidence=confidence, expected=expected,
                        sample_size=n, full_inspection=n >= lot_size)  # fmt: skip
            line = tr(
                msg(
                    "precision plan: lot {lot} → n = {n} (Wilson half-width ≤ {margin:g} at accuracy "
                    "{expected:g}, {confidence:g} % confidence, finite-population corrected)",
                    lot=lot_size,
                    n=n,
                    margin=margin,
                    expected=expected,
                    confidence=100 * confidence,
                )
            )
        else:
            raise ValueError(tr(msg("unknown plan {plan}; choose iso2859 or precision", plan=repr(plan))))
    except ValueError as exc:
        raise usage_error(reason(exc)) from None
    out.print(json.dumps(data, ensure_ascii=False) if json_out else line, highlight=False, soft_wrap=True)


@review_app.command("ingest")
def ingest_command(
    verdicts: Annotated[
        list[Path],
        typer.Argument(
            help="Verdict files (CSV or JSON) or review databases (review.sqlite), one or more reviewers."
        ),
    ],
    plan_dir: Annotated[
        Path, typer.Option("--plan", help="The folder dqm sample wrote (or its review_plan.json).")
    ],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for semantic.json.")],
    ci: Annotated[str, typer.Option(help="Interval: wilson (default) or clopper-pearson.")] = "wilson",
    confidence: ConfidenceOpt = 0.95,
    adjudicate: Annotated[
        str,
        typer.Option(
            help="Several reviewers: strict (any FAIL fails), majority (ties fail) or reviewer=NAME."
        ),
    ] = "strict",
    target: Annotated[float, typer.Option(help="Precision plans: accuracy the lot must reach.")] = 0.95,
    batch: Annotated[
        Path | None,
        typer.Option(help="The batch folder, if moved since sampling (for Dice / IoU of corrections)."),
    ] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", "-p", help="Profile YAML file or built-in name.")
    ] = None,
    limit: Annotated[int, typer.Option(help="Findings to print.")] = 20,
    mask_key: MaskKeyOpt = None,
    record: Annotated[
        bool,
        typer.Option(
            "--record",
            help="A plan of one lot (dqm sample --lot-by): record its accept / reject as its supplier's next "
            "lot in the lot history (ISO 2859-1 switching rules).",
        ),
    ] = False,
    history: HistoryOpt = None,
    lang: LangOpt = "en",
) -> None:
    """Judge verdict files against the plan: estimate, interval, lot decision, agreement; writes semantic.json."""
    from dqm.semantic.ingest import IngestOptions, delivered_loader, ingest
    from dqm.semantic.intervals import CI_METHODS
    from dqm.semantic.planfile import PlanError, read_plan
    from dqm.semantic.resultfile import write_semantic
    from dqm.semantic.server.db import read_verdict_source
    from dqm.semantic.verdicts import read_verdict_files

    if ci not in CI_METHODS:
        raise usage_error(
            msg("unknown interval {ci}: choose {choices}", ci=repr(ci), choices=" or ".join(CI_METHODS))
        )
    if not 0.0 < confidence < 1.0:
        raise usage_error(msg("--confidence must be between 0 and 1"))
    try:
        review_plan = read_plan(plan_dir)
    except PlanError as exc:
        raise usage_error(reason(exc)) from None
    missing = [p for p in verdicts if not p.is_file()]
    if missing:
        raise usage_error(msg("no such verdict file: {path}", path=missing[0]))
    prof = _plan_profile(review_plan, profile)
    root = (batch or Path(review_plan.batch.path)).resolve()
    outside_batch(out_dir, root, "--out")
    masker = start_masking(prof.deid, mask_key)
    loader = delivered_loader(root, review_plan, prof, masker) if root.is_dir() else None
    try:
        result = ingest(
            review_plan,
            read_verdict_files(verdicts, read=read_verdict_source),
            prof,
            IngestOptions(ci_method=ci, confidence=confidence, adjudication=adjudicate, target=target),
            loader,
        )
    except ValueError as exc:
        raise usage_error(reason(exc)) from None
    path = write_semantic(result, out_dir, masker)
    _print_result(result, limit, lang)
    role = tr(msg("semantic"))
    out.print(
        tr(msg("{role}: {path}", role=role, path=path)),
        highlight=False,
        soft_wrap=True,
        markup=False,
    )
    if record:
        _record_lot(review_plan, result, history, root)
    raise typer.Exit({"accept": 0, "reject": 1, "incomplete": 3}[result.decision])


def _record_lot(review_plan: Any, result: Any, history: Path | None, root: Path) -> None:
    """``--record``: the lot's decision as its supplier's next lot in the history (the plan's, or
    ``--history``); a usage error when the plan is of no lot, the review is incomplete, or the
    history refuses it (a lot already recorded, a plan of a severity the supplier is no longer at)."""
    from dqm.semantic.iso2859 import plan_iso2859
    from dqm.semantic.switching import LotOutcome

    lot = review_plan.lot
    if lot is None or review_plan.plan != "iso2859":
        raise usage_error(msg("--record: the plan is not of one lot (draw it with dqm sample --lot-by)"))
    if result.decision == "incomplete":
        raise usage_error(msg("--record: the review is incomplete; nothing recorded"))
    where = history if history is not None else Path(lot.history) if lot.history else None
    if where is None:
        raise usage_error(msg("--record: give the lot history with --history"))
    outside_batch(where, root, "--history")  # the plan's path too: a link there into the batch is refused
    plan = plan_iso2859(review_plan.lot_size, review_plan.level, review_plan.aql, lot.severity)
    failed = result.core.n_fail if result.core is not None else result.n_fail
    outcome = LotOutcome(result.decision == "accept", failed, plan, lot.reduced_allowed)
    with open_history_or_exit(where) as h:
        try:
            done = h.record(lot.name, outcome, review_plan.plan_id)
        except ValueError as exc:
            raise usage_error(f"--record: {visible(reason(exc), newlines=False)}") from None
    after = done.after
    said = "; ".join(tr(x) for x in (done.score_note, done.transition) if x)
    decision = tr(msg("accepted")) if outcome.accepted else tr(msg("NOT accepted"))
    out.print(
        tr(msg("recorded in {path}: {name} lot {decision}", path=where, name=lot.name, decision=decision))
        + (f" ({said})" if said else "")
        + tr(msg("; its next lot at {severity} inspection", severity=severity_word(after.state))),
        highlight=False,
        soft_wrap=True,
        markup=False,
    )


def _plan_profile(review_plan: Any, profile: str | None) -> Any:
    """The profile a review is judged with: ``--profile``, else the built-in one the plan names (a
    profile from a file must be given again); warns when it is not the one the sample was drawn with."""

    from dqm.profile import BUILTIN_PROFILES

    named = review_plan.batch.profile if review_plan.batch.profile in BUILTIN_PROFILES else None
    prof = load_profile_or_exit(profile or named)
    if prof.sha256 != review_plan.batch.profile_sha256:
        warning(
            msg(
                "profile {name} differs from the one the sample was drawn with (class names in corrected "
                "outlines may resolve differently)",
                name=prof.name,
            )
        )
    return prof


def _print_result(r: Any, limit: int, lang: str) -> None:
    from dqm.figures import fmt_value, fmt_value_target
    from dqm.i18n import translated, translator

    _ = translator(lang)
    shown = sorted(r.findings, key=lambda f: SEVERITY_ORDER[f.severity])
    # a finding keeps its English message (semantic.json); its words are msgids, read back in lang
    rows = [
        (f.where(lang) or f.slide_id or "", f.severity, f.code, translated(f.message, lang)) for f in shown
    ]
    print_finding_lines(rows, limit, _("findings (see semantic.json or raise --limit)"))
    if r.accuracy is None:
        acc = _("no verdict yet")
    else:
        acc = _(
            "accuracy {accuracy} ({n_pass}/{n_reviewed} PASS), {confidence:g} % {method} CI "
            "{low:.2f}–{high:.2f} %",
            accuracy=fmt_value(r.accuracy, True, r.target),  # beside the target: never reaching it from below
            n_pass=r.n_pass,
            n_reviewed=r.n_reviewed,
            confidence=100 * r.confidence,
            method=r.ci_method,
            low=100 * r.ci_low,
            high=100 * r.ci_high,
        )
    out.print(acc, highlight=False, soft_wrap=True)
    if r.weighted is not None and r.weighted.accuracy is not None:
        out.print(
            _(
                "stratified estimate {accuracy} (SE {se:.2f} points)",
                # a precision plan decides on it: within rounding of the target reads as it if accepted
                accuracy=fmt_value(
                    r.weighted.accuracy,
                    True,
                    r.target,
                    r.decision == "accept" if r.decision_basis == "target" else None,
                ),
                se=100 * (r.weighted.standard_error or 0),
            ),
            highlight=False,
            soft_wrap=True,
        )
    if r.agreement is not None:
        k = r.agreement
        kappa = _("undefined") if k.kappa is None else f"{k.kappa:.3f}"
        ci = "" if k.ci_low is None else f" (CI {k.ci_low:.3f}–{k.ci_high:.3f})"
        out.print(
            _(
                "agreement: {method} kappa {kappa}{ci} over {n} slides; {disagreements} disagreements",
                method=k.method,
                kappa=kappa,
                ci=ci,
                n=k.n_items,
                disagreements=len(r.disagreements),
            ),
            highlight=False,
            soft_wrap=True,
        )
    rule = (
        f"Ac {r.acceptance_number} / Re {r.rejection_number}"
        if r.plan == "iso2859"
        else _("target {target}", target=fmt_value_target(r.target, True))  # as written, as the accuracy
    )
    remain = (
        _(", {n} of {total} slides still to review (provisional)", n=r.remaining, total=r.sample_size)
        if r.remaining
        else ""
    )
    decisive = r.core if r.plan == "iso2859" else None  # the core decides an ISO plan only
    fails = (
        f"{r.n_fail} FAIL"
        if decisive is None
        else _("{core} FAIL in the core, {all} in all", core=decisive.n_fail, all=r.n_fail)
    )
    decision = _("decision: {decision}", decision=r.decision.upper())  # ACCEPT / REJECT stay, for logs
    out.print(
        f"[bold]{escape(decision)}[/] ({escape(fails)}; {escape(rule)}{escape(remain)})",
        highlight=False,
        markup=True,
        soft_wrap=True,
    )
    if r.note:  # what the decision's reader should know: a plan without a core, drawn slides refused
        out.print(escape(translated(r.note, lang)), highlight=False, markup=True, soft_wrap=True)


# ---------------------------------------------------------------------------------------------
# The review server (issue 16): thin wrappers over dqm/semantic/server/commands.py.

ReviewDirArg = Annotated[Path, typer.Argument(help="The folder dqm sample wrote (review_plan.json).")]
HostOpt = Annotated[
    str, typer.Option(help="Address to listen on; 127.0.0.1 (this computer only) unless you need more.")
]
PortOpt = Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")]


def _server_call(fn: Any, *args: Any, **kw: Any) -> Any:
    from dqm.semantic.server.commands import CommandError

    try:
        return fn(*args, **kw)
    except CommandError as exc:
        raise usage_error(reason(exc)) from None


@review_app.command("serve")
def serve_command(
    review_dir: ReviewDirArg,
    batch: Annotated[Path, typer.Option("--batch", help="The batch folder the sample was drawn from.")],
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8765,
    ssl_keyfile: Annotated[Path | None, typer.Option(help="TLS private key (PEM) to serve HTTPS.")] = None,
    ssl_certfile: Annotated[Path | None, typer.Option(help="TLS certificate chain (PEM).")] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", "-p", help="Profile YAML file or built-in name.")
    ] = None,
    mask_key: MaskKeyOpt = None,
    lang: LangOpt = "en",
    behind_proxy: Annotated[
        bool,
        typer.Option(
            help="A TLS reverse proxy on this machine forwards to the server: believe its "
            "X-Forwarded-For / X-Forwarded-Proto (from 127.0.0.1 only) and the host it names."
        ),
    ] = False,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-host",
            help="A host name reviewers type in the address (e.g. review.pathology.example), besides "
            "IP addresses, localhost and this machine's name; repeat for more, '*' for any. Requests "
            "naming another host are refused (421: DNS rebinding).",
        ),
    ] = None,
) -> None:
    """Serve the sample to reviewers: a zoomable slide viewer, outlines, verdicts in REVIEW_DIR/review.sqlite."""
    from dqm.semantic.planfile import PlanError, read_plan
    from dqm.semantic.server import commands

    try:
        review_plan = read_plan(review_dir)
    except PlanError as exc:
        raise usage_error(reason(exc)) from None
    prof = _plan_profile(review_plan, profile)
    start_masking(prof.deid, mask_key)
    key = read_mask_key(mask_key)  # the key `dqm sample` masked the plan with
    exposed = commands.exposure_warning(host, ssl_certfile is not None)
    if exposed:
        warning(exposed)  # before uvicorn's start-up lines
    out.print(
        tr(
            msg(
                "review of {n} slides at {url}/ (reviewers sign in with the link dqm review add-reviewer "
                "printed for them; Ctrl-C stops)",
                n=review_plan.sample_size,
                url=commands.url(host, port, ssl_certfile is not None),
            )
        ),
        highlight=False,
        soft_wrap=True,
    )
    _server_call(
        commands.serve,
        review_dir,
        batch,
        prof,
        host,
        port,
        ssl_keyfile,
        ssl_certfile,
        warning,
        key,
        lang,
        behind_proxy,
        allowed_host or (),
    )


@review_app.command("add-reviewer")
def add_reviewer_command(
    review_dir: ReviewDirArg,
    name: Annotated[str, typer.Argument(help="The reviewer's name, as verdicts will record it.")],
    adjudicator: Annotated[
        bool, typer.Option(help="May see disagreements between reviewers and decide them.")
    ] = False,
    rotate: Annotated[
        bool, typer.Option(help="Give an existing reviewer a new link (the old one stops working).")
    ] = False,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8765,
    tls: Annotated[bool, typer.Option(help="Print an https:// link (the server runs with TLS).")] = False,
    lang: LangOpt = "en",
) -> None:
    """Register a reviewer and print their personal sign-in link (the token is shown only once)."""
    from dqm.semantic.server import commands

    link = _server_call(commands.add_reviewer, review_dir, name, adjudicator, rotate, host, port, tls)
    out.print(link, highlight=False, soft_wrap=True)


@review_app.command("export")
def export_command(
    review_dir: ReviewDirArg,
    out_file: Annotated[Path, typer.Option("--out", "-o", help="The verdict file to write (JSON).")],
    profile: Annotated[
        str | None,
        typer.Option("--profile", "-p", help="Profile YAML file or built-in name (its deid masks comments)."),
    ] = None,
    mask_key: MaskKeyOpt = None,
    lang: LangOpt = "en",
) -> None:
    """Write the current verdicts of REVIEW_DIR/review.sqlite as a verdict file dqm review ingest reads."""
    from dqm.semantic.server import commands

    masker = start_masking(load_profile_or_exit(profile).deid, mask_key)  # reviewers' comments are free text
    n = _server_call(commands.export, review_dir, out_file, masker, warning)
    out.print(tr(msg("{n} verdicts: {path}", n=n, path=out_file)), highlight=False, soft_wrap=True)


app.add_typer(review_app, name="review")
