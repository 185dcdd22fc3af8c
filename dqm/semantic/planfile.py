"""The review plan: from the lot (the batch's items) to ``review_plan.json`` and ``review_plan.csv``.

:func:`build_plan` is pure: it takes the items a syntactic run summarised and the options, and
returns a :class:`~dqm.semantic.models.ReviewPlan`. :func:`write_plan` writes the two files with no
timestamp and no output path inside, so the same batch and seed give the same bytes.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dqm import __version__
from dqm.facts import ItemSummary
from dqm.i18n import N_, msg
from dqm.output import Mask, TooLarge, read_bounded, spreadsheet_safe, write_together
from dqm.semantic.intervals import precision_sample_size
from dqm.semantic.iso2859 import plan_iso2859
from dqm.semantic.models import (
    Oversampling,
    PlanBatch,
    PlanCell,
    PlanLot,
    PlanSlide,
    PlanStratum,
    RecordedFile,
    ReviewPlan,
    SlideFiles,
)
from dqm.semantic.sampling import Unit, draw_sample, flag_units
from dqm.semantic.strata import CLASS_FIELD, MISSING, merge_strata, strata_cap
from dqm.strictjson import StrictJSONError, loads

PLAN_JSON, PLAN_CSV = "review_plan.json", "review_plan.csv"
ALLOCATION_RULE = (
    "core: simple random sample of the plan's n from the whole lot by SHA-256 rank (the ISO 2859-1 "
    "decision counts these slides only); supplementary: each cell brought up to min(minimum, N_h) per "
    "non-empty stratum, or with oversampling to its share of the proportional allocation (flagged "
    "slides counted factor times, largest-remainder rounding), by the next slides of the cell in "
    "SHA-256 rank"
)
SAMPLE_PARTS = {True: "core", False: "supplementary", None: ""}
"""The ``sample`` column of ``review_plan.csv`` (empty for a plan drawn without a core)."""


MAX_PLAN_BYTES = 256 << 20
"""The most a review_plan.json is read of (a row per slide drawn): a larger file is refused as not
the right one, never read whole."""


class PlanError(ValueError):
    """The plan cannot be built or read (bad options, unreadable or invalid plan file)."""


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """What ``dqm sample`` was asked for."""

    plan: str = "iso2859"
    level: str = "II"
    aql: float = 1.0
    margin: float = 0.03
    confidence: float = 0.95
    expected: float = 0.95
    strata: tuple[str, ...] = ("diagnosis", "institution")
    minimum: int = 1
    seed: int = 0
    seed_source: str = "given"
    """``drawn`` when ``dqm sample`` drew the seed itself
    (:func:`~dqm.semantic.sampling.fresh_seed`), ``given`` when the caller chose it."""
    oversample: bool = False
    factor: float = 3.0
    threshold: float = 0.5
    risk: Mapping[str, float] = field(default_factory=dict)
    """Slide id → risk score (e.g. from the validity dimension); at or above ``threshold`` flags."""
    severity: str = "normal"
    """ISO 2859-1 table: normal, tightened or reduced (the supplier's state in the switching rules)."""
    lq: float | None = None
    """An isolated lot's limiting quality in percent: the ``iso2859`` plan is then the computed
    limiting-quality plan of :func:`dqm.semantic.lq_plans.plan_lq` instead of ISO 2859-1's."""
    lq_ac: int = 0
    """The acceptance number of the limiting-quality plan."""
    max_strata: int | None = None
    """The most strata before they are merged (:mod:`dqm.semantic.strata`): None for
    :func:`~dqm.semantic.strata.strata_cap` of the plan's n, 0 for no merge."""


def stratum_value(item: ItemSummary, name: str) -> str:
    """The value of a stratification field for one item (``(missing)`` when empty)."""
    if name == "diagnosis":
        value = item.diagnosis
    elif name == "institution":
        value = item.institution
    else:
        value = item.clinical.get(name)
    value = value.strip() if isinstance(value, str) else value
    return value if value else MISSING


def stratum_label(key: Sequence[str]) -> str:
    return " / ".join(key) if key else "(all)"


def _plan_size(lot_size: int, options: PlanOptions) -> dict[str, object]:
    if options.plan == "iso2859" and options.lq is not None:
        from dqm.semantic.lq_plans import plan_lq

        q = plan_lq(lot_size, options.lq, options.lq_ac)
        return dict(
            lq=q.lq,
            full_inspection=q.full_inspection,
            plan_sample_size=q.sample_size,
            acceptance_number=q.acceptance_number,
            rejection_number=q.rejection_number,
            note=q.note,
        )
    if options.plan == "iso2859":
        p = plan_iso2859(lot_size, options.level, options.aql, options.severity)  # type: ignore[arg-type]
        return dict(
            level=p.level,
            aql=p.aql,
            table_letter=p.table_letter,
            code_letter=p.code_letter,
            arrow=p.arrow,
            full_inspection=p.full_inspection,
            plan_sample_size=p.sample_size,
            acceptance_number=p.acceptance_number,
            rejection_number=p.rejection_number,
            note=p.note,
        )
    if options.plan == "precision":
        n = precision_sample_size(options.margin, options.confidence, options.expected, lot_size)
        return dict(
            margin=options.margin,
            confidence=options.confidence,
            expected=options.expected,
            full_inspection=n >= lot_size,
            plan_sample_size=n,
            note=(
                f"smallest n with Wilson half-width ≤ {options.margin:g} at accuracy "
                f"{options.expected:g}, {100 * options.confidence:g} % confidence, finite-population corrected"
            ),
        )
    raise PlanError(f"unknown plan {options.plan!r}; choose iso2859 or precision")


def build_plan(
    items: Sequence[ItemSummary],
    batch: PlanBatch,
    options: PlanOptions,
    findings_by_slide: Mapping[str, int] | None = None,
    lot_info: PlanLot | None = None,
) -> ReviewPlan:
    """The review plan for a lot.

    Parameters
    ----------
    items
        The lot: one summary per slide of the batch (``Run.outcomes[i].summary``). A slide id that
        occurs twice is kept once (the first) and listed in ``duplicate_ids``.
    batch
        Where the lot came from.
    options
        Plan, level, AQL or margin, strata, floor per stratum, seed, oversampling.
    findings_by_slide
        Slide id → number of syntactic errors and warnings, item and batch checks together (a slide
        with any is flagged). Default: the item counts of each summary.
    lot_info
        The lot ``items`` are, when the batch was split by a field (``--lot-by``).

    Raises
    ------
    PlanError
        For an empty lot, unknown options, or an out-of-range parameter.
    """
    seen: dict[str, ItemSummary] = {}
    duplicates: list[str] = []
    for item in items:
        if item.slide_id in seen:
            duplicates.append(item.slide_id)
        else:
            seen[item.slide_id] = item
    lot = list(seen.values())
    if not lot:
        raise PlanError("the batch holds no slide: nothing to sample")
    if options.minimum < 0:
        raise PlanError("the minimum per stratum must not be negative")
    try:
        sizing = _plan_size(len(lot), options)
    except ValueError as exc:
        raise PlanError(str(exc)) from None
    if options.max_strata is not None and options.max_strata < 0:
        raise PlanError("the most strata must not be negative (0: never merge them)")
    keys = {i.slide_id: tuple(stratum_value(i, f) for f in options.strata) for i in lot}
    merge = None
    if options.max_strata != 0:
        cap = options.max_strata or strata_cap(int(sizing["plan_sample_size"]))  # type: ignore[call-overload]
        keys, merge = merge_strata(keys, options.strata, cap, whole=(CLASS_FIELD,))
    counts = findings_by_slide or {i.slide_id: i.errors + i.warnings for i in lot}
    flags = flag_units(seen, {s: counts.get(s, 0) > 0 for s in seen}, options.risk, options.threshold)
    units = [Unit(s, stratum_label(keys[s]), flags[s] if options.oversample else False) for s in seen]
    try:
        sample = draw_sample(
            units,
            int(sizing["plan_sample_size"]),  # type: ignore[call-overload]
            options.seed,
            options.minimum,
            options.factor if options.oversample else 1.0,
        )
    except ValueError as exc:
        raise PlanError(str(exc)) from None
    key_of = {stratum_label(k): k for k in keys.values()}
    cells_of: dict[str, list[PlanCell]] = {label: [] for label in sample.sizes}
    for c in sample.cells:  # one pass: every slide may be a stratum of its own
        cells_of[c.stratum].append(
            PlanCell(label=c.label, part=c.part, lot=c.lot, sampled=c.sampled, weight=c.weight)  # type: ignore[arg-type]
        )
    strata = [
        PlanStratum(
            label=label,
            key=dict(zip(options.strata, key_of[label], strict=True)),
            lot=sample.sizes[label],
            sampled=sample.allocation[label],
            cells=cells_of[label],
        )
        for label in sample.sizes
    ]
    slides = [
        PlanSlide(
            slide_id=d.slide_id,
            stratum=d.stratum,
            cell=d.cell,
            flagged=flags[d.slide_id],
            inclusion_probability=d.inclusion_probability,
            weight=d.weight,
            image_path=seen[d.slide_id].image_path,
            annotation_path=seen[d.slide_id].annotation_path,
            core=d.core,
        )
        for d in sample.draws
    ]
    draft = ReviewPlan(
        plan_id="",
        dqm_version=__version__,
        batch=batch,
        lot_size=len(lot),
        plan=options.plan,  # type: ignore[arg-type]
        sample_size=len(slides),
        strata_fields=list(options.strata),
        minimum_per_stratum=options.minimum,
        allocation=ALLOCATION_RULE,
        seed=options.seed,
        seed_source=options.seed_source,  # type: ignore[arg-type]
        oversampling=Oversampling(
            enabled=options.oversample,
            factor=options.factor if options.oversample else 1.0,
            threshold=options.threshold,
            flagged_in_lot=sum(flags.values()),
            flagged_in_sample=sum(flags[d.slide_id] for d in sample.draws),
        ),
        strata=strata,
        sample=slides,
        lot_ids=sorted(seen),
        duplicate_ids=sorted(set(duplicates)),
        lot=lot_info,
        strata_merge=merge,
        **sizing,  # type: ignore[arg-type]
    )
    return draft.model_copy(update={"plan_id": plan_id(draft)})


def floors_over_plan(plan: ReviewPlan) -> int:
    """How many slides the floor per stratum alone draws beyond the plan's sample size (0 when the
    floors fit within it): stratified by a field with a value a slide or so (age, a free-text
    site), every stratum's floor of one turns the review into the whole lot."""
    floors = sum(min(plan.minimum_per_stratum, s.lot) for s in plan.strata)
    return max(0, floors - plan.plan_sample_size)


def plan_id(plan: ReviewPlan, seed_source: bool = False) -> str:
    """SHA-256 of the plan without its ``plan_id`` (verdict files quote it) or its ``seed_source``:
    how the seed was chosen is provenance, not the draw, so ``--seed N`` with a seed dqm drew
    gives the same plan, its same id (with ``seed_source``: the id plans written while it was
    hashed carry, which :func:`load_plan` still reads).

    A plan written before slides were marked core or supplementary hashes without that field,
    as it did when it was written, so it still reads; so does a plan without a ``lot``, an ``lq``,
    a ``strata_merge`` (or a merge without ``kept``) or any slide's ``files``.
    """
    exclude: dict[str, object] = {"plan_id": True, "run_id": True}
    if plan.lq is None:
        exclude["lq"] = True
    unhashed = ({"core"} if not plan.has_core else set()) | (
        {"files"} if all(s.files is None for s in plan.sample) else set()
    )
    if unhashed:
        exclude["sample"] = {"__all__": unhashed}
    if plan.lot is None:
        exclude["lot"] = True
    if plan.seed_source is None or not seed_source:
        exclude["seed_source"] = True
    if plan.strata_merge is None:
        exclude["strata_merge"] = True
    elif not plan.strata_merge.kept:
        exclude["strata_merge"] = {"kept": True}
    body = plan.model_dump_json(exclude=exclude)  # type: ignore[arg-type]
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def plan_csv(plan: ReviewPlan) -> str:
    """``review_plan.csv``: one row per drawn slide; ``sample`` says core or supplementary, ``run_id``
    the run that drew it (as in ``review_plan.json``)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["slide_id", "stratum", "weight", "flagged", "inclusion_probability", "sample", "run_id"])
    for s in plan.sample:
        writer.writerow(
            [
                spreadsheet_safe(s.slide_id),
                spreadsheet_safe(s.stratum),
                repr(s.weight),
                "yes" if s.flagged else "no",
                repr(s.inclusion_probability),
                SAMPLE_PARTS[s.core],
                spreadsheet_safe(plan.run_id),
            ]
        )
    return buf.getvalue()


def masked_plan(plan: ReviewPlan, mask: Mask) -> ReviewPlan:
    """The plan as it is written and reviewed: every identifier in it (slide ids, paths, strata)
    replaced by its token, and its ``plan_id`` of the masked content, so verdict files that quote
    the masked ids and plan match it. The batch is found again by masking its names with the same
    key (:func:`dqm.semantic.ingest.delivered_loader`, the review server)."""
    masked = ReviewPlan.model_validate_json(mask(plan.model_dump_json()))
    return masked.model_copy(update={"plan_id": plan_id(masked)})


def with_files(
    plan: ReviewPlan, written: ReviewPlan, records: Mapping[str, Any], mask: Mask | None
) -> ReviewPlan:
    """``written`` (``plan`` as written: masked, or ``plan`` itself) with each drawn slide's
    ``files``, the audit's record of its files from its item record in ``records`` (by the real
    slide id: :class:`~dqm.model.ItemRecord`'s ``fingerprint``, ``stats`` and ``parts``, as
    :func:`dqm.slide_io.recorded_of` reads them), and its ``plan_id`` of that content: the review
    server checks each slide against it before serving its tiles. Added after masking, each part's
    batch path masked alone through ``mask``: the JSON text is not masked again, so no pattern
    can turn a size or a print into a token. A slide without a record keeps none."""
    from dqm.batch import normalise
    from dqm.slide_io import recorded_of

    def file(record: tuple[int | None, int | None, str | None]) -> RecordedFile:
        return RecordedFile(size=record[0], mtime_ns=record[1], quick_print=record[2])

    sample = []
    for real, shown in zip(plan.sample, written.sample, strict=True):
        record = records.get(real.slide_id)
        recorded = (
            recorded_of(normalise(real.image_path)[0], record.fingerprint, record.stats, record.parts)
            if record is not None and real.image_path
            else None
        )
        files = (
            None
            if recorded is None
            else SlideFiles(
                slide=file(recorded.own),
                parts={(mask(p) if mask else p): file(values) for p, values in recorded.parts.items()},
            )
        )
        sample.append(shown.model_copy(update={"files": files}))
    out = written.model_copy(update={"sample": sample})
    return out.model_copy(update={"plan_id": plan_id(out)})


def write_plan(plan: ReviewPlan, out: Path) -> dict[str, Path]:
    """Write ``review_plan.json`` and ``review_plan.csv`` into ``out`` (created), as a pair: a full
    disk leaves neither (:func:`dqm.output.write_together`), never a JSON beside an older CSV."""
    paths = {"json": out / PLAN_JSON, "csv": out / PLAN_CSV}
    write_together(
        [
            (paths["json"], (plan.model_dump_json(indent=2) + "\n").encode("utf-8"), False),
            (paths["csv"], plan_csv(plan).encode("utf-8"), False),
        ]
    )
    return paths


def read_plan(path: Path) -> ReviewPlan:
    """Read ``review_plan.json`` (from the file, or a folder holding it) and check its ``plan_id``.

    Raises
    ------
    PlanError
        When the file is missing, not a valid plan, or edited since it was written.
    """
    file = path / PLAN_JSON if path.is_dir() else path
    try:
        plan = ReviewPlan.model_validate(loads(read_bounded(file, MAX_PLAN_BYTES)))
    except TooLarge as exc:
        raise PlanError(exc.message(N_("review plan"))) from None
    except OSError as exc:
        raise PlanError(msg("cannot read {path}: {reason}", path=file, reason=exc.strerror or exc)) from None
    except StrictJSONError as exc:
        raise PlanError(
            msg("{path} is not a dqm review plan: {where}: {reason}", path=file, where="(top)", reason=exc)
        ) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top)"
        raise PlanError(
            msg(
                "{path} is not a dqm review plan: {where}: {reason}",
                path=file,
                where=where,
                reason=first["msg"],
            )
        ) from None
    if plan.plan_id not in (plan_id(plan), plan_id(plan, seed_source=True)):
        raise PlanError(
            msg("{path} was edited after dqm wrote it (its plan_id no longer matches its content)", path=file)
        )
    return plan
