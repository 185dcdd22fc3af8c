"""The validity dimension's result: plain frozen data (no torch), kept in ``results.json``.

Dice conventions (stated once, repeated in ``method``): per slide and class, Dice is MONAI's
``DiceMetric`` with ``include_background=False`` and ``ignore_empty=True`` on the slide's
predicted and annotated label maps at the working resolution. A class absent from a slide's
annotation gives NaN there (MONAI's rule), so that slide does not count for that class, whatever
was predicted; a class's Dice is the mean over the held-out slides whose annotation holds it
(``n_slides``). Background (label 0) is never scored.

Pooled Dice (``ClassDice.pooled``): each slide's pixel counts per class (``SlideScore.pixels``)
summed over every held-out slide, ``2 TP / (2 TP + FP + FN)``; a class predicted on a slide whose
annotation lacks it counts there (``fp_unannotated``). Which of the two figures the decision uses
is ``ValidityResult.gate_dice`` (each figure's ``gated``). Results written before pooled Dice
existed load with ``pooled`` None, ``gated`` True and ``gate_dice`` ``per_slide``: as decided then.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dqm.decided import DecidedFigure
from dqm.validity.settings import ValidityProfile


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PixelCounts(_Frozen):
    """Pixels of one class: predicted and annotated (``tp``), predicted only (``fp``), annotated only (``fn``)."""

    tp: int = Field(0, ge=0)
    fp: int = Field(0, ge=0)
    fn: int = Field(0, ge=0)


class PooledDice(_Frozen):
    """One class: Dice of the pixels pooled over every held-out slide, ``2 TP / (2 TP + FP + FN)``."""

    name: str
    """The gate's name: the class id and ``pooled``."""
    dice: float | None
    """None when no held-out slide has the class, predicted or annotated; 0 when only predicted."""
    ci_low: float | None = None
    ci_high: float | None = None
    """Percentile bootstrap interval over patient groups (the groups with a slide annotated with the
    class and the others each resampled in their stratum); None with fewer than two such groups."""
    pixels: PixelCounts
    """Summed over the held-out slides."""
    fp_unannotated: int = Field(0, ge=0)
    """Of ``pixels.fp``: predicted on held-out slides whose annotation lacks the class (the false
    positives the per-slide mean cannot see)."""
    n_slides: int
    """Held-out slides pooled (all scored slides)."""
    n_annotated: int
    """Of them, slides whose annotation holds the class."""
    target: float
    passed: bool
    """Some held-out slide is annotated with the class and the pooled Dice (or interval low end,
    ``gate_on``) reaches the target."""
    gated: bool = True
    """Whether the run's decision uses this figure (``gate_dice``)."""


class ClassDice(_Frozen):
    """One class: mean slide-level Dice over the held-out slides annotated with it, and pooled Dice."""

    name: str = ""
    """The class id."""

    dice: float | None
    """None when no held-out slide carries the class."""
    ci_low: float | None = None
    ci_high: float | None = None
    """Percentile bootstrap interval over patient groups (a slide without ``patient_id`` is its own
    group; results that predate groups resampled slides); None with fewer than two groups."""
    n_slides: int
    target: float
    passed: bool
    """The mean slide Dice (or its interval low end) reaches the target."""
    gated: bool = True
    """Whether the run's decision uses this figure (``gate_dice``)."""
    pooled: PooledDice | None = None
    """The class's Dice pooled over every held-out slide; None in results that predate it."""


class SlideScore(_Frozen):
    """One held-out slide, scored by the model of the fold that held it out."""

    slide_id: str
    fold: str
    institution: str | None = None
    diagnosis: str | None = None
    dice: dict[str, float] = Field(default_factory=dict)
    """Per class annotated on the slide (classes without annotation are NaN in MONAI and left out)."""
    lesion_dice: float | None = None
    """Dice over all lesion classes together: 2 sum_c |P_c & A_c| / sum_c (|P_c| + |A_c|)."""
    suspicion: float = 0.0
    """1 - ``lesion_dice``; 0 when neither annotation nor prediction has a lesion pixel."""
    annotated_px: int = 0
    predicted_px: int = 0
    pixels: dict[str, PixelCounts] = Field(default_factory=dict)
    """Per class with any predicted or annotated pixel on the slide (others have none): the counts
    pooled Dice sums. Empty in results that predate pooled Dice."""
    group: str | None = None
    """The slide's group (its patient, else the slide itself): the unit the bootstrap resamples.
    None in results that predate it (each slide was its own unit)."""
    split_value: str | None = None
    """The slide's value of the split column (``split: {mode: column}``), else None."""


class InstitutionDice(_Frozen):
    """Dice per class over one institution's held-out slides (no interval)."""

    institution: str
    n_slides: int
    dice_per_class: dict[str, float | None]
    n_per_class: dict[str, int]
    mean_dice: float | None


class SubsetDice(_Frozen):
    """Dice per class over one subset of the held-out slides (a test set of a ``column`` split),
    with intervals; reported beside the decision, never gated."""

    name: str
    n_slides: int
    n_groups: int
    dice_per_class: dict[str, ClassDice]
    mean_dice: float | None = None
    pooled_mean_dice: float | None = None


class FoldSummary(_Frozen):
    name: str
    train: list[str]
    test: list[str]
    held_out_institution: str | None = None
    train_groups: int
    test_groups: int
    shared_groups: int = 0
    """Groups (patients) with slides on both sides: 0 for the splits dqm makes; a published split
    (``column``) may have some, which flatters its Dice."""


class SplitSummary(_Frozen):
    """How slides were held out (see ``docs/validity.md``)."""

    mode: Literal["holdout", "kfold", "loio", "column"]
    unit: str
    """What a group is: ``patient`` (patient_id), ``slide`` (none given) or both, mixed."""
    seed: int
    folds: list[FoldSummary]


class CurvePoint(_Frozen):
    """One training epoch."""

    fold: str
    epoch: int
    loss: float
    tile_dice: float | None
    """Lesion Dice of the epoch's own (augmented) training tiles: a learning signal, not a score."""
    learning_rate: float
    seconds: float
    tiles: int


class Overlay(_Frozen):
    """A small picture of prediction against annotation, as a ``data:image/jpeg`` URI."""

    slide_id: str
    kind: Literal["best", "worst"]
    lesion_dice: float | None
    image: str

    @field_validator("image")
    @classmethod
    def _jpeg_data_uri(cls, v: str) -> str:
        if not v.startswith("data:image/jpeg;base64,"):
            raise ValueError("an overlay is a data:image/jpeg;base64 URI")
        return v


class ExcludedSlide(_Frozen):
    slide_id: str
    reason: str
    codes: list[str] = Field(default_factory=list)


class SuspiciousSlide(_Frozen):
    slide_id: str
    score: float
    fold: str
    diagnosis: str | None = None


class Timing(_Frozen):
    prepare_s: float
    train_s: float
    infer_s: float
    total_s: float
    tiles_per_s: float | None
    """Training tiles per second (forward + backward), over every epoch run in this process."""
    epoch_s: float | None
    """Mean seconds per epoch run in this process."""


class ValidityResult(_Frozen):
    """Validity: can the batch teach a segmentation model? Dice per class against a target."""

    dice_per_class: dict[str, ClassDice]
    mean_dice: float | None
    """Mean of the per-class Dice over the classes that have a value."""
    mean_ci_low: float | None = None
    mean_ci_high: float | None = None
    pooled_mean_dice: float | None = None
    """Mean of the per-class pooled Dice over the classes that have one."""
    pooled_mean_ci_low: float | None = None
    pooled_mean_ci_high: float | None = None
    target: float
    gate_on: Literal["dice", "ci_low"] = "dice"
    gate_dice: Literal["pooled", "per_slide", "both"] = "per_slide"
    """Which class Dice meets the target (results that predate pooled Dice: ``per_slide``)."""
    passed: bool
    """Every class of the taxonomy has held-out slides and each of its gated Dice figures reaches
    its target."""
    classes: list[str]
    n_slides: int
    """Slides in the batch."""
    n_used: int
    """Slides without syntactic errors that the run could read."""
    n_scored: int
    excluded: list[ExcludedSlide] = Field(default_factory=list)
    unreadable_tiles: dict[str, int] = Field(default_factory=dict)
    """Training tiles that could not be read and were replaced by blank ones, per slide, whichever
    process read them (results before ``training_tiles`` existed counted only ``loader_workers: 0``)."""
    training_tiles: int | None = None
    """Training tiles read by this run (every fold and epoch it trained; resumed epochs not again):
    the denominator of ``unreadable_tiles``. None in results that predate it."""
    split: SplitSummary
    profile: ValidityProfile
    seeds: dict[str, int]
    device: str
    cpu_threads: int | None = None
    """torch threads on CPU (a CPU run is bit-reproducible for a given count); None on CUDA."""
    versions: dict[str, str] = Field(default_factory=dict)
    curve: list[CurvePoint] = Field(default_factory=list)
    per_slide: list[SlideScore] = Field(default_factory=list)
    by_institution: list[InstitutionDice] = Field(default_factory=list)
    by_test_set: list[SubsetDice] = Field(default_factory=list)
    """``column`` splits: Dice per held-out value of the split column (e.g. GlaS test A, test B)."""
    suspicious: list[SuspiciousSlide] = Field(default_factory=list)
    overlays: list[Overlay] = Field(default_factory=list)
    checkpoints: list[str] = Field(default_factory=list)
    """Checkpoint files, relative to the output folder."""
    timing: Timing | None = None
    method: str = ""

    @property
    def gates(self) -> list[DecidedFigure]:
        """The gated thresholds: per class, its mean slide Dice and/or its pooled Dice against the
        target, as ``gate_dice`` chose (the means over classes are reported, not gated)."""
        out = []
        for c, d in self.dice_per_class.items():
            name = d.name or c
            if d.gated:
                out.append(
                    DecidedFigure(
                        name=name,
                        value=d.dice,
                        target=d.target,
                        passed=d.passed,
                        denominator=d.n_slides,
                        ci_low=d.ci_low,
                        ci_high=d.ci_high,
                        source=f"dice_per_class/{c}",
                        value_field="dice",
                    )
                )
            p = d.pooled
            if p is not None and p.gated:
                out.append(
                    DecidedFigure(
                        name=p.name or f"{name} pooled",
                        value=p.dice,
                        target=p.target,
                        passed=p.passed,
                        denominator=p.n_slides,
                        ci_low=p.ci_low,
                        ci_high=p.ci_high,
                        source=f"dice_per_class/{c}/pooled",
                        value_field="dice",
                    )
                )
        return out

    def label_risk(self) -> dict[str, float]:
        """Slide id -> suspicion score (0-1) for every scored slide, for risk-based review sampling.

        Each score comes from a model that never saw the slide (cross-fitted); slides the run left
        out or did not hold out are absent.
        """
        return {s.slide_id: s.suspicion for s in self.per_slide}


def gated_figures(dice_per_class: dict[str, ClassDice]) -> list[ClassDice | PooledDice]:
    """The figures the decision uses, class by class: the mean slide Dice and/or the pooled Dice
    (each figure's ``gated``)."""
    out: list[ClassDice | PooledDice] = []
    for d in dice_per_class.values():
        if d.gated:
            out.append(d)
        if d.pooled is not None and d.pooled.gated:
            out.append(d.pooled)
    return out
