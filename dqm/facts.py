"""The facts every dimension reads: a ratio with its denominator, and what the run learned about
each item (its slide header, lesion counts and areas, clinical record).

Plain, frozen data at the bottom of the house: the dimensions compute from these, and
:class:`~dqm.results.QualityResult` keeps them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Frozen(BaseModel):
    """Base of every result model: immutable, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Ratio(Frozen):
    """A ratio with its denominator, target and decision."""

    name: str
    unit: Literal["files", "values", "slides", "lesions", "labels"]
    numerator: int
    denominator: int
    value: float | None
    """None when there was nothing to count."""
    target: float | None = None
    passed: bool | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    note: str = ""

    @classmethod
    def of(
        cls,
        name: str,
        unit: str,
        numerator: int,
        denominator: int,
        target: float | None = None,
        note: str = "",
    ) -> Ratio:
        value = numerator / denominator if denominator else None
        passed = None if target is None or value is None else value >= target
        return cls(
            name=name,
            unit=unit,  # type: ignore[arg-type]  # validated by pydantic against Unit
            numerator=numerator,
            denominator=denominator,
            value=value,
            target=target,
            passed=passed,
            note=note,
        )


class SlideSummary(Frozen):
    """Facts from a slide's header."""

    width: int | None = None
    height: int | None = None
    mpp: float | None = None
    vendor: str | None = None
    levels: int = 0
    objective_power: float | None = None
    level_downsamples: list[float] = Field(default_factory=list)
    compression: str | None = None
    """Level-0 codec: jpeg, jpeg2000, deflate, lzw, none, ... (``other:<tiff code>`` otherwise)."""
    label_thumbnail: str | None = None
    """A small JPEG data URI of the slide's label image, only when the audit was asked for it."""
    perceptual_hash: str | None = None
    """48 hex digits: the perceptual hash of the tissue thumbnail (:mod:`dqm.pixels.hashes`), which
    finds near-duplicate slides in this batch and slides delivered again in a later release."""


class ItemSummary(Frozen):
    """One slide of the batch, as the report and the other dimensions see it."""

    slide_id: str
    row: int | None = None
    image_path: str | None = None
    annotation_path: str | None = None
    institution: str | None = None
    diagnosis: str | None = None
    """Class id when the diagnosis resolves, else the value as written."""
    clinical: dict[str, str | None] = Field(default_factory=dict)
    """Clinical fields of the profile as table text (identifying fields such as patient_id left out)."""
    patient: int | None = None
    """The slide's patient as a number within the batch (1, 2, … in the order of each patient's first
    slide; :func:`number_patients`), None when its record has no ``patient_id``. Slides of one patient
    share it; the identifier itself is never stored."""
    n_lesions: int = 0
    lesion_classes: dict[str, int] = Field(default_factory=dict)
    """Lesion count per class id (``?`` for classes outside the taxonomy)."""
    lesion_area_px: dict[str, float] = Field(default_factory=dict)
    """Summed lesion area per class, level-0 square pixels."""
    unmapped_classes: dict[str, int] = Field(default_factory=dict)
    """Lesion class names as written that the profile does not resolve, with their counts."""
    annotation_format: str | None = None
    """The format the annotation file was read as (native, qupath, asap, imagescope, halo, coco, dsa)."""
    width: int | None = None
    height: int | None = None
    """Slide size the annotation declares."""
    slide: SlideSummary | None = None
    errors: int = 0
    warnings: int = 0


def number_patients(items: Sequence[ItemSummary], patient_ids: Sequence[object]) -> list[ItemSummary]:
    """The items with :attr:`ItemSummary.patient` set from each one's ``patient_id`` (blank or
    missing: None), numbered in the order of each patient's first slide."""
    numbers: dict[str, int] = {}
    out = []
    for item, pid in zip(items, patient_ids, strict=True):
        key = "" if pid is None else str(pid).strip()
        number = numbers.setdefault(key, len(numbers) + 1) if key else None
        out.append(item.model_copy(update={"patient": number}))
    return out
