"""Frozen data of the semantic dimension: the review plan file and the semantic result.

Pydantic only, so :mod:`dqm.results` can import :class:`SemanticResult` without loading anything
heavy. Every estimate says what it counts and carries its denominator; ``SemanticResult.passed``
is what the verdict and the gate read.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from dqm.decided import DecidedFigure
from dqm.i18n import N_, render

PLAN_FORMAT = "dqm.review_plan/1"
VERDICTS_FORMAT = "dqm.verdicts/1"
REASONS: tuple[str, ...] = (
    "wrong_class",
    "boundary_too_loose",
    "boundary_too_tight",
    "missed_lesion",
    "false_lesion",
    "other",
)
"""Reasons a reviewer may give for FAIL (the review sheet offers exactly these)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------- the plan file


class PlanBatch(_Frozen):
    """The batch the sample was drawn from."""

    path: str
    fingerprint: str
    n_items: int
    profile: str
    profile_sha256: str


class PlanCell(_Frozen):
    """A sampling cell: a stratum, or its flagged / other part when oversampling."""

    label: str
    part: Literal["flagged", "other"] | None = None
    lot: int
    sampled: int
    weight: float
    """Inverse inclusion probability ``lot / sampled`` (0 when nothing was drawn)."""


class PlanStratum(_Frozen):
    """One stratum of the lot and how many of its slides were drawn."""

    label: str
    key: dict[str, str]
    lot: int
    sampled: int
    cells: list[PlanCell]


class RecordedFile(_Frozen):
    """What the audit recorded of one file of a drawn slide: its size, modification time (ns) and
    quick print (:func:`dqm.slide_io.fingerprint`); None where it recorded none (not compared)."""

    size: int | None = None
    mtime_ns: int | None = None
    quick_print: str | None = None


class SlideFiles(_Frozen):
    """The audit's record of a drawn slide's files (:class:`dqm.slide_io.Recorded`), which the
    review server checks the slide against before it serves a tile of it: ``slide``, the slide
    file's; ``parts``, that of each file OpenSlide opens by name besides it, by batch path (masked
    as the plan's other paths are, one by one: :func:`dqm.semantic.planfile.with_files`)."""

    slide: RecordedFile
    parts: dict[str, RecordedFile] = Field(default_factory=dict)


class PlanSlide(_Frozen):
    """One drawn slide."""

    slide_id: str
    stratum: str
    cell: str
    flagged: bool
    inclusion_probability: float
    weight: float
    image_path: str | None = None
    annotation_path: str | None = None
    """Paths relative to the batch folder, as the manifest or the pairing gave them."""
    core: bool | None = None
    """True: in the equal-probability core sample, the slides the ISO 2859-1 decision counts;
    False: supplementary (stratum floors, oversampling), for the per-stratum figures and the
    weighted estimate only. None in a plan written before dqm drew a core (every slide then
    counts, as it did)."""
    files: SlideFiles | None = None
    """The audit's record of the slide's files; None where the sample had none, and in a plan
    written before dqm recorded them (the review server then checks a slide against its own
    first open only, and says so)."""


class Oversampling(_Frozen):
    enabled: bool = False
    factor: float = 1.0
    threshold: float = 0.5
    """Risk score at or above which a slide is flagged (besides syntactic findings)."""
    flagged_in_lot: int = 0
    flagged_in_sample: int = 0


class PlanLot(_Frozen):
    """The lot a plan was drawn from when the batch was split (``dqm sample --lot-by``)."""

    field: str
    """The field the batch was split by (``institution``, a clinical field)."""
    name: str
    """The lot's value of the field: its supplier in the lot history (masked in the written plan)."""
    severity: Literal["normal", "tightened", "reduced"] = "normal"
    """The ISO 2859-1 table of the plan: where the supplier stood in the switching rules."""
    switching_score: int | None = None
    reduced_allowed: bool = False
    """Steady production and reduced inspection approved when the sample was drawn."""
    history: str | None = None
    """The lot history the severity was read from; ``dqm review ingest`` records the decision there."""


class MergedField(_Frozen):
    """A stratification field coarsened to keep the strata under the cap (:mod:`dqm.semantic.strata`)."""

    field: str
    kind: Literal["bins", "top", "groups"]
    """``bins``: a numeric field cut into runs of adjacent values, each labelled ``first … last`` by
    its members' own texts; ``top``: a categorical field's most frequent values kept, the rest
    merged into ``(other)``. ``(missing)`` is never merged."""
    values_before: int
    values_after: int


class StrataMerge(_Frozen):
    """How the strata were merged when the fields made more than ``cap`` of them."""

    cap: int
    """``n // 2`` for the plan's sample size ``n``, at least 50 and at most 500, or ``dqm sample
    --max-strata``."""
    strata_before: int
    strata_after: int
    """At most ``cap``, unless ``(missing)`` values or the lesion class alone make more."""
    kept: list[str] = Field(default_factory=list)
    """The stratification fields never coarsened: the lesion class (``diagnosis``), so every class
    keeps its strata and their floors; left out of ``plan_id`` when empty."""
    fields: list[MergedField]
    """The coarsened fields, in the order of ``strata_fields``."""

    @property
    def coarsened(self) -> str:
        """Each coarsened field with its values before and after: ``age 122 → 11, institution 60 → 15``."""
        return ", ".join(f"{f.field} {f.values_before} → {f.values_after}" for f in self.fields)


class ReviewPlan(_Frozen):
    """``review_plan.json``: everything needed to review the sample and to judge the verdicts."""

    format: Literal["dqm.review_plan/1"] = "dqm.review_plan/1"
    plan_id: str
    """SHA-256 of the plan's content (all fields but this one): verdict files quote it."""
    dqm_version: str
    run_id: str = ""
    """The ``dqm sample`` run that drew the plan (its CSV and review sheet carry it too); not part
    of ``plan_id``: the same batch and seed draw the same plan in any run."""
    batch: PlanBatch
    lot_size: int
    plan: Literal["iso2859", "precision"]
    level: str | None = None
    aql: float | None = None
    table_letter: str | None = None
    code_letter: str | None = None
    lq: float | None = None
    """A limiting-quality plan for an isolated lot (``dqm sample --lq``): its LQ in percent
    nonconforming; the plan is computed, not ISO 2859-2's printed table (:mod:`dqm.semantic.lq_plans`).
    None for an ISO 2859-1 plan (``level``, ``aql`` and ``code_letter`` then say which)."""
    arrow: Literal["down", "up"] | None = None
    full_inspection: bool = False
    margin: float | None = None
    confidence: float | None = None
    expected: float | None = None
    plan_sample_size: int
    """The sample size the plan asks for (after the arrows, capped at the lot)."""
    sample_size: int
    """Slides actually drawn: the core (``plan_sample_size``) and the supplementary slides."""
    acceptance_number: int | None = None
    rejection_number: int | None = None
    note: str = ""
    strata_fields: list[str]
    minimum_per_stratum: int
    allocation: str
    seed: int
    seed_source: Literal["drawn", "given"] | None = None
    """``drawn``: ``dqm sample`` recorded drawing the seed at random from the operating system when
    it drew the plan (only whoever ran it could know or choose it; anyone can edit this field);
    ``given``: the user set it (``--seed``), so
    whoever knew it before the delivery could compute the sample; None in plans written before
    dqm recorded it (their seed was then 0 unless given). Left out of ``plan_id``: provenance, not
    the draw (the same batch and seed are the same plan however the seed was chosen)."""
    oversampling: Oversampling
    strata: list[PlanStratum]
    sample: list[PlanSlide]
    lot_ids: list[str]
    """Every slide id of the lot, sorted (verdicts for other ids are unknown slides)."""
    duplicate_ids: list[str] = Field(default_factory=list)
    """Slide ids that occur more than once in the batch; the first occurrence is in the lot."""
    lot: PlanLot | None = None
    """The lot of a batch split with ``--lot-by``; None for a plan of the whole batch."""
    strata_merge: StrataMerge | None = None
    """How the strata were merged when ``strata_fields`` made more than the cap; None when they
    were not (the strata are then the fields' values as written)."""

    @property
    def has_core(self) -> bool:
        """True when the slides are marked core or supplementary (plans written before are not)."""
        return any(s.core is not None for s in self.sample)


# --------------------------------------------------------------------------- the result


class ReviewFinding(_Frozen):
    """A problem with a verdict file or a verdict: never a crash, always a reason and a place."""

    code: str
    severity: Literal["error", "warning", "info"]
    message: str
    file: str | None = None
    row: int | None = None
    """1-based data row of a CSV file (the header is row 0)."""
    pointer: str | None = None
    """JSON pointer inside a JSON verdict file."""
    slide_id: str | None = None
    reviewer: str | None = None

    def where(self, lang: str = "en") -> str:
        """The file, its row and the JSON pointer (the row's word in ``lang``)."""
        row = render(N_("row {row}"), {"row": self.row}, lang) if self.row is not None else None
        return " ".join(p for p in (self.file, row, self.pointer) if p)


class StratumResult(_Frozen):
    """Review outcome in one stratum."""

    label: str
    lot: int
    sampled: int
    reviewed: int
    n_pass: int
    accuracy: float | None
    """``n_pass / reviewed`` (None when nothing was reviewed)."""
    ci_low: float | None = None
    ci_high: float | None = None
    weighted_accuracy: float | None = None
    """Within-stratum estimate with the cells' weights (equals ``accuracy`` without oversampling)."""
    core_sampled: int | None = None
    """Of ``sampled``, the slides in the equal-probability core (the rest are supplementary);
    None for a plan drawn without a core."""


class WeightedEstimate(_Frozen):
    """The stratified (inverse-probability weighted) estimate of the lot's accuracy."""

    accuracy: float | None
    variance: float | None
    standard_error: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    ci_method: str = "normal"
    lot_covered: int
    """Slides of the lot in cells with at least one reviewed slide (the whole lot once complete)."""
    note: str = ""


class CoreReview(_Frozen):
    """The equal-probability core: the plan's ``n`` slides, the only ones the ISO 2859-1 decision counts."""

    size: int
    """Slides in the core: the plan's sample size (the whole lot under 100 % inspection)."""
    inclusion_probability: float
    """``size / lot``: the same for every slide of the lot (a simple random sample)."""
    reviewed: int
    n_pass: int
    n_fail: int
    remaining: int
    """Core slides still without a usable verdict: the decision waits for them."""
    accuracy: float | None
    """``n_pass / reviewed`` over the core (None before any core verdict)."""
    ci_low: float | None = None
    ci_high: float | None = None


class Kappa(_Frozen):
    """Agreement between reviewers on PASS / FAIL."""

    method: Literal["cohen", "fleiss"]
    reviewers: list[str]
    n_items: int
    """Slides judged by every reviewer counted here."""
    kappa: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    ci_method: str = ""
    observed_agreement: float | None = None
    expected_agreement: float | None = None
    note: str = ""


class Disagreement(_Frozen):
    slide_id: str
    verdicts: dict[str, str]
    """Reviewer → pass / fail."""
    reasons: dict[str, str] = Field(default_factory=dict)
    final: Literal["pass", "fail"]


class Overlap(_Frozen):
    """Overlap between the delivered annotation and a reviewer's corrected outline."""

    slide_id: str
    reviewer: str
    label: str
    """A class id, or ``all`` for every lesion of the slide together."""
    dice: float | None
    iou: float | None
    delivered_area: float
    corrected_area: float
    """Level-0 square pixels."""
    note: str = ""


class OverlapSummary(_Frozen):
    label: str
    n: int
    """Slide × reviewer pairs with a defined Dice."""
    mean_dice: float | None
    mean_iou: float | None
    min_dice: float | None = None


class SemanticResult(_Frozen):
    """Semantic accuracy (ISO/IEC 25024 Acc-I-2): an expert review of a designed sample."""

    plan_id: str
    plan: Literal["iso2859", "precision"]
    batch_fingerprint: str
    lot_size: int
    sample_size: int
    plan_sample_size: int
    level: str | None = None
    aql: float | None = None
    code_letter: str | None = None
    lq: float | None = None
    """The limiting quality (percent) of a plan for an isolated lot (``dqm sample --lq``), computed
    as ISO 2859-2 Procedure A defines it, not its printed table; None for an ISO 2859-1 plan."""
    acceptance_number: int | None = None
    rejection_number: int | None = None
    accuracy: float | None
    """Slides judged PASS / slides reviewed (after adjudication); None before any verdict."""
    ci_low: float | None
    ci_high: float | None
    ci_method: Literal["wilson", "clopper-pearson"]
    confidence: float
    n_reviewed: int
    n_pass: int
    n_fail: int
    remaining: int
    """Sampled slides still without a usable verdict."""
    refused: int = 0
    """Drawn slides the review server refused as not the files the audit checked
    (SLIDE_NOT_AUDITED; an export's ``not_reviewable``) that count as not reviewed: among
    ``remaining`` (1.19). A refused slide with a FAIL given before the refusal counts as that FAIL,
    not here."""
    provisional: bool
    """True while ``remaining`` > 0: the estimates are those of a partial review."""
    decision: Literal["accept", "reject", "incomplete"]
    decision_basis: Literal["count", "weighted", "target"]
    failures_counted: float | None = None
    """What was compared with Ac: the FAIL count among the core slides (all sampled slides for a
    plan without a core), or for the weighted basis ``n · (1 − p̂_w)``."""
    core: CoreReview | None = None
    """The equal-probability core and its verdicts; None for a plan drawn without a core."""
    lot: PlanLot | None = None
    """The plan's lot when the batch was split (``dqm sample --lot-by``); None for the whole batch."""
    target: float | None = None
    weighted: WeightedEstimate | None = None
    strata: list[StratumResult] = Field(default_factory=list)
    fail_reasons: dict[str, int] = Field(default_factory=dict)
    reviewers: list[str] = Field(default_factory=list)
    adjudication: str = "strict"
    agreement: Kappa | None = None
    disagreements: list[Disagreement] = Field(default_factory=list)
    overlaps: list[Overlap] = Field(default_factory=list)
    overlap_by_class: list[OverlapSummary] = Field(default_factory=list)
    findings: list[ReviewFinding] = Field(default_factory=list)
    verdict_files: list[str] = Field(default_factory=list)
    passed: bool
    """True only when the lot decision is ``accept``."""
    method: str = ""
    note: str = ""
    """What the reader of the decision should know (e.g. a plan drawn without a core)."""

    @property
    def gates(self) -> list[DecidedFigure]:
        """The gated figure: what the decision compared with its target.

        A precision plan decides on the stratified estimate (``weighted``), which differs from the
        raw PASS share when flagged slides were oversampled; an ISO plan decides on the FAIL count
        among the equal-probability core against Ac / Re, and the core's PASS share is shown with
        it (the raw share of every sampled slide for a plan drawn without a core).
        """
        if self.plan == "precision" and self.weighted is not None:
            w = self.weighted
            return [
                DecidedFigure(
                    name="weighted_accuracy",
                    value=w.accuracy,
                    ci_low=w.ci_low,
                    ci_high=w.ci_high,
                    denominator=self.n_reviewed,
                    unit="slides reviewed",
                    target=self.target,
                    passed=self.passed,
                    percent=True,
                    note=self._with_refused("stratified estimate, compared with the target"),
                    source="weighted",
                    value_field="accuracy",
                )
            ]
        c = self.core if self.plan == "iso2859" else None
        counts = (
            (c.accuracy, c.ci_low, c.ci_high, c.n_pass, c.reviewed, "core slides", "core")
            if c is not None
            else (self.accuracy, self.ci_low, self.ci_high, self.n_pass, self.n_reviewed, "slides", "")
        )
        accuracy, low, high, n_pass, n_reviewed, unit, source = counts
        return [
            DecidedFigure(
                name="accuracy",
                value=accuracy,
                ci_low=low,
                ci_high=high,
                numerator=n_pass,
                denominator=n_reviewed,
                unit=unit,
                target=self.target,
                passed=self.passed,
                percent=True,
                note=self._with_refused(self._count_rule()),
                source=source,
                value_field="accuracy",
            )
        ]

    def _with_refused(self, note: str) -> str:
        """``note`` and, where drawn slides were refused (:attr:`refused`), how many: the figure
        counts them among the slides still to review."""
        if not self.refused:
            return note
        said = (
            f"{self.refused} drawn slide(s) refused by the review server as not the audited files "
            "(semantic.refused), counted as not reviewed"
        )
        return "; ".join(n for n in (note, said) if n)

    def _count_rule(self) -> str:
        """The ISO 2859-1 acceptance rule in words (the decision is on the FAIL count)."""
        if self.acceptance_number is None or self.rejection_number is None:
            return ""
        among = f" among the {self.core.size} core slides" if self.core is not None else ""
        return (
            f"lot accepted with at most {self.acceptance_number} FAIL{among}, rejected from "
            f"{self.rejection_number} (ISO 2859-1 Ac / Re)"
        )
