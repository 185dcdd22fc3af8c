"""From a run to a :class:`~dqm.results.QualityResult`, and the verdict over the dimensions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal

from dqm import __version__
from dqm.batch import jailed, normalise
from dqm.facts import numbered, patient_numbers
from dqm.figures import dimension_state
from dqm.findings import (
    ITEM_TIMED_OUT,
    STAGE_CRASHED,
    Aspect,
    Finding,
    Severity,
    not_evaluated,
    stage_message,
)
from dqm.i18n import N_
from dqm.order import ORDER_CHECK, OrderList, delivered, header_not_known
from dqm.output import new_run_id
from dqm.profile import Profile
from dqm.results import (
    DIMENSIONS,
    BatchInfo,
    CheckInfo,
    CodeInfo,
    FileDigests,
    OrderInfo,
    ProfileInfo,
    QualityResult,
    Verdict,
)
from dqm.runner import Run, hash_whole
from dqm.slide_refs import part_name
from dqm.syntactic.accuracy import fingerprint, syntactic_result


def dimension_passed(result: QualityResult, name: str) -> bool | None:
    """True / False for a dimension that was evaluated and finished, None when it is absent or
    still pending (see :func:`dqm.figures.dimension_state`)."""
    state = dimension_state(result, name)
    return None if state in ("missing", "pending") else state == "passed"


MAX_NAMED = 10
"""Items a verdict names one by one; the rest are counted."""


def _unfinished(missing: list[str], pending: list[str], items: list[str], stages: list[str]) -> str:
    parts = []
    if pending:
        parts.append(f"{', '.join(pending)} pending")
    if missing:
        parts.append(f"{', '.join(missing)} not evaluated")
    if items:
        named = ", ".join(items[:MAX_NAMED]) + (
            f" and {len(items) - MAX_NAMED} more" if len(items) > MAX_NAMED else ""
        )
        parts.append(
            f"{len(items)} item{'s' if len(items) != 1 else ''} not evaluated (a check crashed): {named}"
        )
    parts.extend(f"the {stage} stage crashed (not evaluated)" for stage in stages)
    return "; ".join(parts)


def verdict(result: QualityResult) -> Verdict:
    """CERTIFIED only when every dimension was evaluated, finished and passed, and nothing crashed.

    A crash (``CHECK_CRASHED`` on an item, ``STAGE_CRASHED`` on a stage) is *not evaluated*, not
    *failed*: unless a dimension fails on other grounds the verdict is INCOMPLETE, naming the
    items and stages."""
    states = {d: dimension_state(result, d) for d in DIMENSIONS}
    failed = [d for d, s in states.items() if s == "failed"]
    missing = [d for d, s in states.items() if s == "missing"]
    pending = [d for d, s in states.items() if s == "pending"]
    items, stages = not_evaluated(result.findings)
    crashed = {"not_evaluated": items, "crashed_stages": stages}
    rest = _unfinished(missing, pending, items, stages)
    if failed:
        return Verdict(
            status="not_certified",
            failed=failed,
            missing=missing,
            pending=pending,
            summary=f"NOT CERTIFIED: {', '.join(failed)} failed" + (f"; {rest}" if rest else ""),
            **crashed,
        )
    if rest:
        return Verdict(
            status="incomplete", missing=missing, pending=pending, summary=f"INCOMPLETE: {rest}", **crashed
        )
    return Verdict(status="certified", summary="CERTIFIED: every dimension met its targets")


def checks_info(profile: Profile) -> list[CheckInfo]:
    """The checks the profile enables, with each code's severity after the profile's overrides."""
    from validators import REGISTRY
    from validators.engine import CRASH_CODE, configure

    out = []
    for cfg in configure(profile):
        spec = REGISTRY[cfg.id]
        codes = [CodeInfo(code=c, severity=cfg.severities[c].value, meaning=m) for c, m in spec.codes.items()]
        out.append(CheckInfo(id=spec.id, aspect=spec.aspect.value, doc=spec.doc, codes=codes))
    crash = CodeInfo(
        code=CRASH_CODE, severity="error", meaning=N_("a check raised: the item was not verified")
    )
    stage = CodeInfo(
        code=STAGE_CODE,
        severity="error",
        meaning=N_("a stage of the audit raised: its part was not evaluated"),
    )
    timed_out = CodeInfo(
        code=ITEM_TIMED_OUT,
        severity="error",
        meaning=N_("an item's work went past its wall-clock limit and was ended: the item was not verified"),
    )
    out.append(
        CheckInfo(
            id="runner",
            aspect="internal",
            doc="No check or stage crashed.",
            codes=[crash, timed_out, stage],
        )
    )
    return out


def disabled_checks(profile: Profile) -> list[str]:
    """The ids of the registered checks ``profile`` disables, sorted."""
    from validators import REGISTRY
    from validators.engine import configure

    enabled = {cfg.id for cfg in configure(profile)}
    return sorted(set(REGISTRY) - enabled)


STAGE_CODE = STAGE_CRASHED
"""A stage of the audit (diversity, validity, thumbnails, rendering, ...) raised: a finding of the
batch, and what the stage would have added is missing; the other stages and outputs go on."""


def stage_crashed(stage: str, exc: BaseException) -> Finding:
    """The batch finding of a stage that raised (its name and the exception's type and text)."""
    return Finding(
        item_id="batch",
        check="runner",
        code=STAGE_CODE,
        severity=Severity.ERROR,
        aspect=Aspect.INTERNAL,
        message=stage_message(stage, exc),
    )


def with_finding(result: QualityResult, finding: Finding) -> QualityResult:
    """The result with one more batch finding, and its verdict recomputed (a crashed stage makes
    the run incomplete)."""
    return with_verdict(result.model_copy(update={"findings": [*result.findings, finding]}))


def file_digests(run: Run) -> FileDigests:
    """Each file the run read with its hashes (once, in item order, then the manifest): the
    annotation files and the manifest by full SHA-256, slides and the files OpenSlide opens
    besides them by their quick print and, when they were hashed whole, their full SHA-256.
    Every item's own files come first, then the parts not listed among them: a slide that is
    also another slide's part (two DICOM slides of one series) keeps its role ``slide`` and the
    full SHA-256 that either record took of it (``dqm verify --batch`` compares a slide with a
    full hash by it, one without by its quick print alone).
    Made from the run's own checked values, straight into columns (one row per file, no object:
    a million at a million items)."""
    out = FileDigests([])
    seen: set[str] = set()
    unhashed: dict[str, int] = {}  # the slides listed without a full hash, by row
    records = run.outcomes
    summaries = records.summaries()
    paths = (summaries.column("annotation_path"), summaries.column("image_path"))
    annotation_sha256s, prints = records.annotation_sha256s(), records.fingerprints()
    roles: tuple[Literal["annotation", "slide"], ...] = ("annotation", "slide")
    for k in range(len(records)):
        for rel, role in ((paths[0][k], roles[0]), (paths[1][k], roles[1])):
            norm, outside = normalise(rel or "")
            if not norm or outside or norm in seen:
                continue
            full = records.full_hashes_of(k).get(norm) or (
                annotation_sha256s[k] if role == "annotation" else None
            )
            quick = prints[k] if role == "slide" else None
            if full or quick:
                seen.add(norm)
                if full is None:
                    unhashed[norm] = len(out)
                out.append(norm, role, full, quick, records.stat_of(k, norm))
    for k in range(len(records)):
        for part, quick in records.parts_of(k).items():  # the files OpenSlide opens besides the slide
            full = records.full_hashes_of(k).get(part)
            if (name := part_name(part)) not in seen:
                seen.add(name)
                out.append(name, "slide_part", full, quick, records.stat_of(k, part))
            elif full and name in unhashed:  # an item's slide, hashed whole as this one's part
                out.set_sha256(unhashed.pop(name), full)
    disc = run.discovery
    if disc.manifest is not None and disc.manifest_sha256 is not None and disc.manifest not in seen:
        out.append(disc.manifest, "manifest", disc.manifest_sha256)
    return out


def order_findings(run: Run, order: OrderList) -> tuple[list[Finding], OrderInfo]:
    """The ``order.list`` check's findings over ``run`` with ``order``, and what the result
    records of the list. The slides the list gives a SHA-256 for are hashed whole (unless the
    run hashed them already). Raises :class:`dqm.order.OrderError` for a list whose first line
    is a column name dqm does not know (:func:`dqm.order.header_not_known`)."""
    from validators.context import BatchView, ItemFacts
    from validators.engine import configure, run_checks

    summaries = run.outcomes.summaries()
    ids, images, rows = summaries.column("slide_id"), summaries.column("image_path"), summaries.column("row")
    matches = delivered(order, ids, images)
    if (refused := header_not_known(order, matches)) is not None:
        raise refused
    hashed, sparse = _slide_hashes(run, order, matches, images)
    view = BatchView(
        profile=run.profile,
        items=[ItemFacts(i, row, image, None) for i, row, image in zip(ids, rows, images, strict=True)],
        manifest=run.discovery.manifest,
        hashed=hashed,
        sparse=sparse,
        order=order,
        order_matches=matches,
    )
    checks = [c for c in configure(run.profile) if c.id == ORDER_CHECK]  # unless the profile disabled it
    n_delivered = sum(k is not None for k in matches)
    info = OrderInfo(
        sha256=order.sha256,
        ordered=len(order.entries),
        delivered=n_delivered,
        not_ordered=len(set(range(len(ids))) - {k for k in matches if k is not None}),
        by="file" if order.by_file else "id",
        hashes=sum(e.sha256 is not None for e in order.entries),
    )
    return run_checks("batch", view, checks), info


def _slide_hashes(
    run: Run, order: OrderList, matches: list[int | None], images: Sequence[str | None]
) -> tuple[dict[str, str], dict[str, tuple[int, int]]]:
    """Full SHA-256 of the delivered slides the order list gives a hash for, by batch path: as
    the run's items hashed them (``--full-hashes``, a checksum list), else read whole here; and
    those found sparse instead (apparent and allocated bytes: never read whole). A slide that
    cannot be read is in neither (its finding says so)."""
    hashed: dict[str, str] = {}
    sparse: dict[str, tuple[int, int]] = {}
    for entry, k in zip(order.entries, matches, strict=True):
        image = images[k] if k is not None else None
        if entry.sha256 is None or k is None or not image:
            continue
        norm, outside = normalise(image)
        if outside or norm in hashed or norm in sparse:
            continue
        known = run.outcomes.full_hashes_of(k).get(norm)
        if known is not None:
            hashed[norm] = known
        elif (path := jailed(run.root, norm)[0]) is not None:
            hash_whole(path, norm, hashed, sparse)
    return hashed, sparse


def with_order(run: Run, order: OrderList | None) -> OrderInfo | None:
    """Add the findings of ``order`` (:func:`order_findings`) to ``run``'s batch findings, where
    syntactic accuracy counts them; what the result records of the list (None without one)."""
    if order is None:
        return None
    findings, info = order_findings(run, order)
    run.batch_findings = [*run.batch_findings, *findings]
    run.ordered = len(order.entries)
    return info


def build_result(
    run: Run, command: list[str], run_id: str | None = None, order: OrderInfo | None = None
) -> QualityResult:
    """The quality result of a run (syntactic accuracy; other dimensions are added by their
    stages); ``run_id``: the command's run (:func:`dqm.output.new_run_id`), a new one if None;
    ``order``: the order list the run's findings were compared with (:func:`with_order`).
    The run's records take the result's summaries (numbered by patient)."""
    numbers = patient_numbers([r.get("patient_id") for r in run.outcomes.clinical_records()])
    items = run.outcomes.summaries()  # the run's summaries are the result's: one store, numbered here
    patients = items.column("patient")
    for k, number in enumerate(numbers):
        if patients[k] != number:  # only the summaries whose number changes are built
            items[k] = numbered(items[k], number)
    disc = run.discovery
    draft = QualityResult(
        dqm_version=__version__,
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        run_id=run_id or new_run_id(),
        command=command,
        batch=BatchInfo(
            path=str(run.root),
            fingerprint=fingerprint(run),
            n_items=len(items),
            n_slide_files=len(disc.slide_files),
            n_annotation_files=len(disc.annotation_files),
            manifest=disc.manifest,
            files=file_digests(run),
        ),
        profile=ProfileInfo(name=run.profile.name, version=run.profile.version, sha256=run.profile.sha256),
        items=items,
        findings=run.findings,
        syntactic=syntactic_result(run),
        verdict=Verdict(status="incomplete"),
        checks=checks_info(run.profile),
        disabled_checks=disabled_checks(run.profile),
        order=order,
    )
    return with_verdict(draft)


def with_verdict(result: QualityResult) -> QualityResult:
    """The result with its verdict recomputed (after a dimension was added)."""
    return result.model_copy(update={"verdict": verdict(result)})


def with_dimension(result: QualityResult, name: str, value: Any) -> QualityResult:
    """The result with dimension ``name`` (one of :data:`~dqm.results.DIMENSIONS`) set to ``value``
    and the verdict recomputed: how every stage — diversity, validity, an ingested review — joins
    the audit."""
    if name not in DIMENSIONS:
        raise ValueError(f"unknown dimension {name!r}: one of {', '.join(DIMENSIONS)}")
    return with_verdict(result.model_copy(update={name: value}))
