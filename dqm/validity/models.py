"""The validity dimension's result: plain frozen data (no torch), kept in ``results.json``.

Dice conventions (stated once, repeated in ``method``): per slide and class, Dice is MONAI's
``DiceMetric`` with ``include_background=False`` and ``ignore_empty=True`` on the slide's
predicted and annotated label maps at the working resolution. A class absent from a slide's
annotation gives NaN there (MONAI's rule), so that slide does not count for that class, whatever
was predicted; a class's Dice is the mean over the held-out slides whose annotation holds it
(``n_slides``). Background (label 0) is never scored.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dqm.decided import DecidedFigure
from dqm.validity.settings import ValidityProfile


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ClassDice(_Frozen):
    """One class: mean slide-level Dice over the held-out slides annotated with it."""

    name: str = ""
    """The class id."""

    dice: float | None
    """None when no held-out slide carries the class."""
    ci_low: float | None = None
    ci_high: float | None = None
    """Percentile bootstrap interval over slides; None with fewer than two slides."""
    n_slides: int
    target: float
    passed: bool


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


class InstitutionDice(_Frozen):
    """Dice per class over one institution's held-out slides (no interval)."""

    institution: str
    n_slides: int
    dice_per_class: dict[str, float | None]
    n_per_class: dict[str, int]
    mean_dice: float | None


class FoldSummary(_Frozen):
    name: str
    train: list[str]
    test: list[str]
    held_out_institution: str | None = None
    train_groups: int
    test_groups: int


class SplitSummary(_Frozen):
    """How slides were held out (see ``docs/validity.md``)."""

    mode: Literal["holdout", "kfold", "loio"]
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
    target: float
    gate_on: Literal["dice", "ci_low"] = "dice"
    passed: bool
    """Every class of the taxonomy has held-out slides and reaches its target."""
    classes: list[str]
    n_slides: int
    """Slides in the batch."""
    n_used: int
    """Slides without syntactic errors that the run could read."""
    n_scored: int
    excluded: list[ExcludedSlide] = Field(default_factory=list)
    unreadable_tiles: dict[str, int] = Field(default_factory=dict)
    """Training tiles that could not be read and were replaced by blank ones, per slide (counted
    when tiles are read in the training process, ``loader_workers: 0``)."""
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
    suspicious: list[SuspiciousSlide] = Field(default_factory=list)
    overlays: list[Overlay] = Field(default_factory=list)
    checkpoints: list[str] = Field(default_factory=list)
    """Checkpoint files, relative to the output folder."""
    timing: Timing | None = None
    method: str = ""

    @property
    def gates(self) -> list[DecidedFigure]:
        """The gated thresholds: each class's Dice against its target (the mean is reported, not gated)."""
        return [
            DecidedFigure(
                name=d.name or c,
                value=d.dice,
                target=d.target,
                passed=d.passed,
                denominator=d.n_slides,
                ci_low=d.ci_low,
                ci_high=d.ci_high,
                source=f"dice_per_class/{c}",
                value_field="dice",
            )
            for c, d in self.dice_per_class.items()
        ]

    def label_risk(self) -> dict[str, float]:
        """Slide id -> suspicion score (0-1) for every scored slide, for risk-based review sampling.

        Each score comes from a model that never saw the slide (cross-fitted); slides the run left
        out or did not hold out are absent.
        """
        return {s.slide_id: s.suspicion for s in self.per_slide}
