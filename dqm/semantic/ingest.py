"""``dqm review ingest``: verdict files + the review plan → :class:`~dqm.semantic.models.SemanticResult`.

:func:`ingest` is pure: it takes the plan, the verdict files already read, and a function that
returns a slide's delivered lesions (the only I/O, injected); :func:`delivered_loader` builds that
function over a batch folder, read only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from shapely.geometry.base import BaseGeometry

from dqm.findings import clip
from dqm.i18n import N_, msg
from dqm.output import visible
from dqm.profile import Profile
from dqm.semantic import agreement as agr
from dqm.semantic.estimate import (
    cell_counts,
    core_review,
    decide,
    equal_probability,
    stratum_results,
    unfinished_cells,
    unsampled_slides,
    weighted_estimate,
)
from dqm.semantic.intervals import interval
from dqm.semantic.models import (
    REASONS,
    Disagreement,
    Overlap,
    OverlapSummary,
    ReviewFinding,
    ReviewPlan,
    SemanticResult,
)
from dqm.semantic.overlap import compare, parse_geojson
from dqm.semantic.verdicts import Findings, NotReviewable, VerdictFile, VerdictRecord, file_text
from dqm.tolerance import fmt_value_target

Lesions = list[tuple[str | None, BaseGeometry]]
DeliveredLoader = Callable[[str], "Lesions | str"]
"""slide id → its delivered lesions (class id, geometry), or a sentence saying why there are none."""


@dataclass(frozen=True, slots=True)
class IngestOptions:
    ci_method: str = "wilson"
    confidence: float = 0.95
    adjudication: str = "strict"
    target: float = 0.95
    """Accuracy a precision plan must reach (ISO plans decide by Ac / Re)."""


NOT_AUDITED = N_(
    "the review server refused this slide as not the file the audit checked (swapped or changed since "
    "the audit: a sign of tampering with the batch; it took no verdict on it after that): {reason}"
)
"""The finding of a slide a review database's export lists as not reviewable."""
NOT_AUDITED_NO_REASON = N_(
    "the review server refused this slide as not the file the audit checked (swapped or changed since "
    "the audit: a sign of tampering with the batch; it took no verdict on it after that)"
)
""":data:`NOT_AUDITED` where the export gives no reason."""
NOT_COUNTED = N_(
    "{n} verdict(s) given on it before the refusal are not counted: adjudicated by the review's rule "
    "they pass it, and a PASS would certify a file the batch no longer holds (verdicts that fail it "
    "by the rule count: they judged the audited file)"
)
"""Added to :data:`NOT_AUDITED` where the verdicts given on the refused slide before the refusal
pass it by the adjudication rule (distinct ones: one of each reviewer, however many exports
repeat it)."""
NOT_REVIEWED = N_(
    "{n} drawn slide(s) could not be reviewed: the review server refused them as not the files the audit "
    "checked (SLIDE_NOT_AUDITED); they count among the slides still to review, so the decision waits "
    "for the batch to be audited and sampled again"
)
"""The result's note where drawn slides were refused (each one SLIDE_NOT_AUDITED, no VERDICT_MISSING)."""
NOT_REVIEWABLE_UNKNOWN = N_(
    "slide {slide!r} is listed as not reviewable but was not drawn for review in this plan: ignored"
)


def _finding(
    code: str, severity: str, message: str, rec: VerdictRecord | None = None, **kw: object
) -> ReviewFinding:
    where: dict[str, object] = {}
    if rec is not None:
        where = dict(
            file=rec.file, row=rec.row, pointer=rec.pointer, slide_id=rec.slide_id, reviewer=rec.reviewer
        )
    where.update(kw)
    return ReviewFinding(code=code, severity=severity, message=message, **where)  # type: ignore[arg-type]


def _shown(plan: ReviewPlan) -> dict[str, str]:
    """Each slide id of the lot as dqm showed it (:func:`dqm.output.visible`) → the id, where they differ."""
    return {visible(s): s for s in plan.lot_ids if visible(s) != s}


def not_reviewable(
    plan: ReviewPlan, files: Sequence[VerdictFile]
) -> dict[str, tuple[VerdictFile, NotReviewable]]:
    """Slide id → the first export (and entry) listing it as refused by the review server (the
    export's ``not_reviewable``; named as the plan does or as dqm showed it), drawn or not. An
    export quoting another plan (VERDICT_PLAN_MISMATCH) refuses nothing here: its server served
    another sample, maybe of another batch."""
    shown = _shown(plan)
    refused: dict[str, tuple[VerdictFile, NotReviewable]] = {}
    for vf in files:
        if vf.plan_id is not None and vf.plan_id != plan.plan_id:
            continue
        for gone in vf.not_reviewable:  # one finding a slide, however often it is listed
            refused.setdefault(shown.get(gone.slide_id, gone.slide_id), (vf, gone))
    return refused


def validate(
    plan: ReviewPlan, files: Sequence[VerdictFile], adjudication: str = "strict"
) -> tuple[list[VerdictRecord], list[ReviewFinding]]:
    """The usable verdicts (first of each slide × reviewer; where a reviewer both passed and failed
    a slide, the first FAIL, in any order of the files) and the findings about the others; of a
    slide the review server refused (:func:`not_reviewable`), its verdicts only where they fail it
    by the rule ``adjudication`` (:func:`~dqm.semantic.agreement.adjudicate`), all of them, else
    none (the slide is not reviewed). A
    verdict may name its slide as the plan does or as dqm showed it (:func:`dqm.output.visible`:
    the review sheet, ``review_plan.csv`` and the server write a right-to-left override or a
    zero-width space in a slide id as its escape, and a reviewer copies what they see). Findings
    about verdicts are listed up to :data:`~dqm.semantic.verdicts.FINDINGS_PER_CODE` of a code and
    severity, the rest counted (:class:`~dqm.semantic.verdicts.Findings`)."""
    findings = [f for vf in files for f in vf.findings]
    found = Findings()
    lot = set(plan.lot_ids)
    sampled = {s.slide_id for s in plan.sample}
    shown = _shown(plan)
    kept: dict[tuple[str, str], VerdictRecord] = {}
    for vf in files:
        if vf.plan_id is not None and vf.plan_id != plan.plan_id:
            findings.append(
                _finding(
                    "VERDICT_PLAN_MISMATCH",
                    "warning",
                    msg(
                        "the file quotes plan {quoted}…, not this plan ({plan}…): verdicts are matched by slide id",
                        quoted=vf.plan_id[:12],
                        plan=plan.plan_id[:12],
                    ),
                    file=vf.path,
                )
            )
    refused = not_reviewable(plan, files)
    for rec in sorted((r for vf in files for r in vf.records), key=lambda r: r.order):
        if rec.slide_id not in lot and rec.slide_id in shown:
            rec = replace(rec, slide_id=shown[rec.slide_id])
        if rec.slide_id not in lot:
            if found.room("VERDICT_UNKNOWN_SLIDE", "error"):
                found.listed.append(
                    _finding(
                        "VERDICT_UNKNOWN_SLIDE",
                        "error",
                        msg("slide {slide!r} is not in the batch", slide=file_text(rec.slide_id)),
                        rec,
                        slide_id=file_text(rec.slide_id),
                    )
                )
            continue
        if rec.slide_id not in sampled:
            if found.room("VERDICT_OUTSIDE_PLAN", "warning"):
                found.listed.append(
                    _finding(
                        "VERDICT_OUTSIDE_PLAN",
                        "warning",
                        msg(
                            "slide {slide!r} was not drawn for review: its verdict is not counted",
                            slide=rec.slide_id,
                        ),
                        rec,
                    )
                )
            continue
        key = (rec.slide_id, rec.reviewer)
        first = kept.get(key)
        if first is None:
            kept[key] = rec
            continue
        # ``first`` is the verdict counted so far: the first one, or a later FAIL that replaced a
        # PASS (a third, identical FAIL is a duplicate of that one, not of the first row, a PASS)
        same = first.verdict == rec.verdict
        if not same and rec.verdict == "fail":
            # a reviewer's PASS and FAIL on one slide (two exports merged, two servers' "Lee")
            # count as the FAIL, whichever file comes first: first kept, the order of the files
            # decided the gate (PASS first: accepted, with the conflict only an error finding)
            kept[key] = rec
        if not found.room("VERDICT_DUPLICATE", "warning" if same else "error"):
            continue
        found.listed.append(
            _finding(
                "VERDICT_DUPLICATE",
                "warning" if same else "error",
                msg(
                    N_(
                        "{reviewer} judged {slide_id} again (same verdict); the one counted, in {file} {where}, is kept"
                    )
                    if same
                    else N_(
                        "{reviewer} judged {slide_id} again ({verdict}; before: {first}, in {file} {where}): "
                        "a reviewer's conflicting verdicts on a slide count as FAIL"
                    ),
                    reviewer=rec.reviewer,
                    slide_id=rec.slide_id,
                    verdict=rec.verdict,
                    first=first.verdict,
                    file=first.file,
                    where=f"row {first.row}" if first.row is not None else first.pointer or "",
                ),
                rec,
            )
        )
    # a refused slide's verdicts adjudicated by the review's rule first, all of them: a FAIL judged
    # the audited file, and a supplier's swap must not undo it (they all count, as given); a PASS
    # would certify a file the batch no longer holds: none counts (said in its SLIDE_NOT_AUDITED).
    # Dropping the PASSes first let a minority FAIL decide (majority: FAIL, PASS, PASS → FAIL)
    on_refused: dict[str, dict[str, str]] = {}
    for (sid, who), r in kept.items():
        if sid in refused:
            on_refused.setdefault(sid, {})[who] = r.verdict
    passed = {sid for sid, r in on_refused.items() if agr.adjudicate(r, adjudication) == "pass"}
    dropped = Counter(sid for sid, _ in kept if sid in passed)
    kept = {k: r for k, r in kept.items() if k[0] not in passed}
    found.listed[:0] = _refusals(refused, sampled, dropped, found)
    return sorted(kept.values(), key=lambda r: r.order), findings + found.all()


def _refusals(
    refused: dict[str, tuple[VerdictFile, NotReviewable]],
    sampled: set[str],
    dropped: Counter[str],
    found: Findings,
) -> list[ReviewFinding]:
    """One finding a slide listed as not reviewable: SLIDE_NOT_AUDITED (an error) for a drawn one,
    saying how many PASS verdicts on it are not counted (``dropped``), a format warning else."""
    out: list[ReviewFinding] = []
    for sid, (vf, gone) in refused.items():
        code, severity = (
            ("SLIDE_NOT_AUDITED", "error") if sid in sampled else ("VERDICT_FILE_FORMAT", "warning")
        )
        if not found.room(code, severity):
            continue
        reason = visible(clip(gone.reason.strip(), 500), newlines=False)  # as written: escaped
        text: str
        if sid not in sampled:
            text = msg(NOT_REVIEWABLE_UNKNOWN, slide=file_text(sid))
        else:
            text = msg(NOT_AUDITED, reason=reason) if reason else msg(NOT_AUDITED_NO_REASON)
            if dropped[sid]:
                text = "; ".join((text, msg(NOT_COUNTED, n=dropped[sid])))
        out.append(
            _finding(code, severity, text, file=vf.path, pointer=gone.pointer, slide_id=file_text(sid))
        )
    return out


def _overlaps(
    records: Sequence[VerdictRecord], profile: Profile, delivered: DeliveredLoader | None
) -> tuple[list[Overlap], list[ReviewFinding]]:
    overlaps: list[Overlap] = []
    findings: list[ReviewFinding] = []
    for rec in records:
        if rec.corrected is None:
            continue
        shapes, problems = parse_geojson(rec.corrected, profile)
        findings.extend(_finding("CORRECTION_INVALID", "warning", p, rec) for p in problems)
        if not shapes and problems:
            continue
        got = delivered(rec.slide_id) if delivered is not None else N_("the batch is not available")
        if isinstance(got, str):
            findings.append(
                _finding(
                    "CORRECTION_NO_DELIVERED",
                    "warning",
                    msg("no overlap computed: {reason}", reason=got),
                    rec,
                )
            )
            continue
        for label, dice, iou, area_a, area_b, note in compare(got, shapes):
            overlaps.append(
                Overlap(
                    slide_id=rec.slide_id,
                    reviewer=rec.reviewer,
                    label=label,
                    dice=dice,
                    iou=iou,
                    delivered_area=area_a,
                    corrected_area=area_b,
                    note=note,
                )
            )
    return overlaps, findings


def _summaries(overlaps: Sequence[Overlap]) -> list[OverlapSummary]:
    labels = sorted({o.label for o in overlaps}, key=lambda x: (x == "all", x))
    out = []
    for label in labels:
        rows = [o for o in overlaps if o.label == label and o.dice is not None]
        dices = [o.dice for o in rows if o.dice is not None]
        ious = [o.iou for o in rows if o.iou is not None]
        out.append(
            OverlapSummary(
                label=label,
                n=len(dices),
                mean_dice=sum(dices) / len(dices) if dices else None,
                mean_iou=sum(ious) / len(ious) if ious else None,
                min_dice=min(dices) if dices else None,
            )
        )
    return out


def ingest(
    plan: ReviewPlan,
    files: Sequence[VerdictFile],
    profile: Profile,
    options: IngestOptions = IngestOptions(),
    delivered: DeliveredLoader | None = None,
) -> SemanticResult:
    """Judge the verdicts against the plan and estimate the lot's semantic accuracy.

    Degenerate input: no usable verdict gives ``accuracy`` None, ``decision`` incomplete and every
    sampled slide counted in ``remaining``; a slide judged by one reviewer keeps that verdict; one
    reviewer overall gives no agreement. Bad files and bad rows are findings, never exceptions.

    Raises
    ------
    ValueError
        For an unknown interval method or adjudication rule (usage errors, checked first).
    """
    agr.parse_adjudication(options.adjudication)
    interval(0, 0, options.ci_method)
    records, findings = validate(plan, files, options.adjudication)
    ratings: dict[str, dict[str, str]] = {}
    by_slide: dict[str, list[VerdictRecord]] = {}
    for rec in records:
        ratings.setdefault(rec.slide_id, {})[rec.reviewer] = rec.verdict
        by_slide.setdefault(rec.slide_id, []).append(rec)
    final = {s: agr.adjudicate(r, options.adjudication) for s, r in ratings.items()}
    unjudged = [s.slide_id for s in plan.sample if s.slide_id not in final]
    refused = not_reviewable(plan, files)  # each its SLIDE_NOT_AUDITED: not missing too, yet not reviewed
    missing = [s for s in unjudged if s not in refused]
    findings.extend(
        ReviewFinding(
            code="VERDICT_MISSING",
            severity="info",
            message=msg("no verdict yet for this sampled slide"),
            slide_id=s,
        )
        for s in missing
    )
    n_reviewed = len(final)
    n_pass = sum(v == "pass" for v in final.values())
    n_fail = n_reviewed - n_pass
    ci = interval(n_pass, n_reviewed, options.ci_method, options.confidence)
    unsampled = unsampled_slides(plan)
    counts = cell_counts(plan, final)
    weighted = weighted_estimate(
        counts, plan.lot_size - unsampled, options.confidence, unfinished_cells(plan, counts)
    )
    if unsampled:
        note = msg(
            "{n} slide(s) in strata with no sampled slide are not covered (minimum per stratum 0)",
            n=unsampled,
        )
        weighted = weighted.model_copy(update={"note": "; ".join(n for n in (weighted.note, note) if n)})
    core = core_review(plan, final, options.ci_method, options.confidence)
    decision, basis, counted = decide(plan, n_fail, len(unjudged), weighted.accuracy, options.target, core)
    reasons = dict.fromkeys(REASONS, 0)
    for slide, verdict in final.items():
        if verdict == "fail":
            for reason in {r for rec in by_slide[slide] if rec.verdict == "fail" for r in rec.reasons}:
                reasons[reason] += 1
    disagreements = [
        Disagreement(
            slide_id=s,
            verdicts=dict(sorted(r.items())),
            reasons={rec.reviewer: ";".join(rec.reasons) for rec in by_slide[s] if rec.reasons},
            final=final[s],  # type: ignore[arg-type]
        )
        for s, r in sorted(ratings.items())
        if len(set(r.values())) > 1
    ]
    overlaps, overlap_findings = _overlaps(records, profile, delivered)
    findings.extend(overlap_findings)
    return SemanticResult(
        plan_id=plan.plan_id,
        plan=plan.plan,
        batch_fingerprint=plan.batch.fingerprint,
        lot_size=plan.lot_size,
        sample_size=plan.sample_size,
        plan_sample_size=plan.plan_sample_size,
        level=plan.level,
        aql=plan.aql,
        code_letter=plan.code_letter,
        lq=plan.lq,
        acceptance_number=plan.acceptance_number,
        rejection_number=plan.rejection_number,
        accuracy=n_pass / n_reviewed if n_reviewed else None,
        ci_low=ci[0] if ci else None,
        ci_high=ci[1] if ci else None,
        ci_method=options.ci_method,  # type: ignore[arg-type]
        confidence=options.confidence,
        n_reviewed=n_reviewed,
        n_pass=n_pass,
        n_fail=n_fail,
        remaining=len(unjudged),
        refused=len(unjudged) - len(missing),
        provisional=bool(unjudged),
        decision=decision,  # type: ignore[arg-type]
        decision_basis=basis,  # type: ignore[arg-type]
        failures_counted=counted,
        core=core,
        lot=plan.lot,
        target=options.target if plan.plan == "precision" else None,
        weighted=weighted,
        strata=stratum_results(plan, final, options.ci_method, options.confidence),
        fail_reasons=reasons,
        reviewers=sorted({r.reviewer for r in records}),
        adjudication=options.adjudication,
        agreement=agr.agreement(ratings, options.confidence),
        disagreements=disagreements,
        overlaps=overlaps,
        overlap_by_class=_summaries(overlaps),
        findings=findings,
        verdict_files=[vf.path for vf in files],
        passed=decision == "accept",
        method=method_text(plan, options),
        note="; ".join(n for n in (plan_note(plan), _not_reviewed(len(unjudged) - len(missing))) if n),
    )


def _not_reviewed(n: int) -> str:
    """What the result says of ``n`` drawn slides the review server refused (:data:`NOT_REVIEWED`)."""
    return msg(NOT_REVIEWED, n=n) if n else ""


def plan_note(plan: ReviewPlan) -> str:
    """What a plan drawn without an equal-probability core means for the decision (else empty)."""
    if plan.has_core:
        return ""
    version = plan.dqm_version
    if plan.plan == "iso2859" and not equal_probability(plan):
        return msg(
            "this plan was drawn by dqm {version}, before the sample had an equal-probability "
            "core: it is decided as it was then, by the weighted FAIL count n · (1 − p̂_w) against Ac, a rule "
            "of dqm's own that ISO 2859-1 does not have (inclusion probabilities differ); draw a new sample "
            "with dqm sample for a decision on an equal-probability core",
            version=version,
        )
    if plan.plan == "iso2859":
        return msg(
            "this plan was drawn by dqm {version}, before the sample had an equal-probability "
            "core: it is decided as it was then, by the FAIL count over every sampled slide",
            version=version,
        )
    return msg(
        "this plan was drawn by dqm {version}, before the sample had an equal-probability "
        "core: it is decided as it was then",
        version=version,
    )


SEED_SENTENCES = {
    # what dqm recorded, not a proof: anyone can edit the field (it is not in the plan_id either)
    "drawn": msg(
        "dqm sample recorded that it drew the seed itself, at random, when the sample was taken: only whoever "
        "ran it could know or choose it."
    ),
    "given": msg(
        "The seed was given to dqm sample (--seed), not drawn at random: whoever knew it before the delivery "
        "could tell which slides would be reviewed."
    ),
    None: msg(
        "The plan does not say how its seed was chosen (it was written before dqm recorded it, when the default "
        "seed was 0, known to anyone): whoever knew it before the delivery could tell which slides would be "
        "reviewed."
    ),
}
"""How the plan's seed was chosen (:attr:`ReviewPlan.seed_source`), for the method paragraph."""


def method_text(plan: ReviewPlan, options: IngestOptions) -> str:
    """One paragraph for the report: how the sample was drawn and how the decision was made (its
    sentences msgids, so the report reads each back in its language)."""
    if plan.plan == "iso2859" and plan.lq is not None:
        head = msg(
            "Limiting-quality plan for an isolated lot, LQ {lq:g} %: n = {n}, Ac = {ac}, Re = {re} ({note}).",
            lq=plan.lq, n=plan.plan_sample_size, ac=plan.acceptance_number, re=plan.rejection_number,
            note=plan.note,
        )  # fmt: skip
    elif plan.plan == "iso2859":
        template = (
            N_(
                "ISO 2859-1 single sampling, normal inspection, level {level}, AQL {aql:g} %: code letter {letter}, "
                "n = {n}, Ac = {ac}, Re = {re} ({note})."
            )
            if plan.note
            else N_(
                "ISO 2859-1 single sampling, normal inspection, level {level}, AQL {aql:g} %: code letter {letter}, "
                "n = {n}, Ac = {ac}, Re = {re}."
            )
        )
        head = msg(
            template, level=plan.level, aql=plan.aql, letter=plan.code_letter, n=plan.plan_sample_size,
            ac=plan.acceptance_number, re=plan.rejection_number, note=plan.note,
        )  # fmt: skip
    else:
        head = msg(
            "Precision plan: n = {n} ({note}); the lot is accepted when the estimated accuracy reaches {target}.",
            n=plan.plan_sample_size, note=plan.note, target=fmt_value_target(options.target, True),
        )  # fmt: skip
    strata = ", ".join(plan.strata_fields) or "none"
    sentences = [head]
    if plan.has_core:
        core = sum(bool(s.core) for s in plan.sample)
        template = (
            N_(
                "The {core} core slides are a simple random sample of the {lot} (every slide's chance {chance:.3g}), "
                "and the lot decision counts their FAILs only; {extra} supplementary slides bring each stratum to "
                "at least {minimum} (and flagged slides to their oversampled share) for the per-stratum figures "
                "and the stratified estimate."
            )
            if plan.plan == "iso2859"
            else N_(
                "The {core} core slides are a simple random sample of the {lot} (every slide's chance "
                "{chance:.3g}); {extra} supplementary slides bring each stratum to at least {minimum} (and "
                "flagged slides to their oversampled share) for the per-stratum figures and the stratified "
                "estimate."
            )
        )
        sentences.append(
            msg(
                template, core=core, lot=plan.lot_size, chance=core / plan.lot_size, extra=plan.sample_size - core,
                minimum=plan.minimum_per_stratum,
            )
        )  # fmt: skip
        sentences.append(
            msg(
                "Stratified by {strata} ({k} strata, seed {seed}).",
                strata=strata,
                k=len(plan.strata),
                seed=plan.seed,
            )
        )
    else:
        sentences.append(
            msg(
                "Stratified by {strata} ({k} strata, proportional allocation, at least {minimum} per stratum, "
                "seed {seed}).",
                strata=strata, k=len(plan.strata), minimum=plan.minimum_per_stratum, seed=plan.seed,
            )
        )  # fmt: skip
    merge = plan.strata_merge
    if merge is not None and not merge.fields:
        sentences.append(
            msg(
                "The fields made {before} strata, more than the cap of {cap}; none was merged: the lesion "
                "class ({field}) is never merged, so that every class is reviewed.",
                before=merge.strata_before, cap=merge.cap, field=", ".join(merge.kept),
            )
        )  # fmt: skip
    elif merge is not None:
        sentences.append(
            msg(
                "The fields made {before} strata, more than the cap of {cap}: merged into {after} ({how}).",
                before=merge.strata_before, cap=merge.cap, after=merge.strata_after,
                how=merge.coarsened,
            )
        )  # fmt: skip
    if plan.oversampling.enabled:
        sentences.append(
            msg(
                "Flagged slides were oversampled ×{factor:g}; estimates use inverse-probability weights.",
                factor=plan.oversampling.factor,
            )
        )
    sentences.append(SEED_SENTENCES[plan.seed_source])
    interval = N_("Wilson score") if options.ci_method == "wilson" else N_("Clopper–Pearson exact")
    sentences.append(msg("Interval: {method}, {level:g} %.", method=interval, level=100 * options.confidence))
    sentences.append(msg("Several reviewers: adjudication {rule}.", rule=options.adjudication))
    return " ".join(sentences)


def delivered_loader(
    root: Path, plan: ReviewPlan, profile: Profile, mask: Callable[[str], str] | None = None
) -> DeliveredLoader:
    """A loader of delivered lesions reading the batch's annotation files (never writing). With the
    run's ``mask``, the slides of a masked plan are found by masking the batch's slide ids (their
    files are then the batch's: a path in the plan may be masked too). A shared file's image is
    picked as the audit picks it, knowing every slide of the batch that reads the file
    (:attr:`dqm.model.Item.file_readers`), or, where the batch gives none (a slide it does not
    list, or lists alone on the file), the plan's slides and the batch's other slides that read
    it: an image a slide of the batch names by its path is never an unlisted slide's."""
    from dqm.batch import NO_SUCH_FILE, as_read, discover, jailed, normalise
    from dqm.readers import read_annotation, resolve_classes
    from dqm.readers.items import image_of

    paths = {s.slide_id: s.annotation_path for s in plan.sample}
    images = {s.slide_id: s.image_path for s in plan.sample}
    batch_ids = {s.slide_id: s.slide_id for s in plan.sample}
    readers: dict[str, frozenset[tuple[str, str | None]]] = {}
    sharing: dict[str, set[tuple[str, str | None]]] = {}  # the slides that read each file
    for item in discover(root).items:
        key = item.slide_id if mask is None else mask(item.slide_id)
        if key in paths and mask is not None:  # its paths too may hold an identifier: the batch's are read
            paths[key], images[key], batch_ids[key] = item.annotation_path, item.image_path, item.slide_id
        if key in paths:
            readers.setdefault(key, item.file_readers)
        elif item.annotation_path:  # a slide of the batch the plan did not draw
            reader = (item.slide_id, as_read(item.image_path))
            sharing.setdefault(normalise(item.annotation_path)[0], set()).add(reader)
    for key, rel in paths.items():  # and the plan's, as the loader names them
        if rel:
            sharing.setdefault(normalise(rel)[0], set()).add((batch_ids[key], as_read(images[key])))
    for key, rel in paths.items():
        if not readers.get(key) and rel:
            readers[key] = frozenset(sharing[normalise(rel)[0]])

    def load(slide_id: str) -> Lesions | str:
        rel = paths.get(slide_id)
        if not rel:
            return msg("the slide has no annotation file")
        path, why = jailed(root, rel)  # a link out of the batch or a FIFO is not read (nor waited on)
        if path is None and why == NO_SUCH_FILE:
            return msg("annotation file {path} not found in the batch", path=rel)
        if path is None:
            return msg("annotation file {path} is not read: {_why}", path=rel, _why=why)
        annotations = read_annotation(path, normalise(rel)[0])
        # the audit's rule (dqm.readers.items.image_of): never another image's lesions
        found = (
            0
            if len(annotations) == 1
            else image_of(annotations, batch_ids[slide_id], images.get(slide_id), readers[slide_id])
        )
        if not isinstance(found, int):
            return found.message
        picked = annotations[found]
        ann = resolve_classes(picked, profile)  # only its image's lesions built (a COCO file holds many)
        if not ann.readable:
            return msg("annotation file {path} cannot be read", path=rel)
        return [(lesion.label, lesion.geometry) for lesion in ann.lesions if lesion.geometry is not None]

    return load
