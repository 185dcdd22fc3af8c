"""The facts every dimension reads: a ratio with its denominator, and what the run learned about
each item (its slide header, lesion counts and areas, clinical record).

Plain, frozen data at the bottom of the house: the dimensions compute from these, and
:class:`~dqm.results.QualityResult` keeps them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field

from dqm.i18n import N_
from dqm.tolerance import count_reaches


class Frozen(BaseModel):
    """Base of every result model: immutable, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


M = TypeVar("M", bound=Frozen)
SHORT_TEXT = 40
"""Strings up to this long that :func:`compact` interns: the classes, institutions, formats and
clinical values a batch repeats on every item (a slide id or a path is rarely shared: left as it is)."""


def interned(value: Any) -> Any:
    """``value``, as the one string object of its text when it is a short string."""
    return sys.intern(value) if type(value) is str and len(value) <= SHORT_TEXT else value


def compact(model: M, shared: dict[Any, Any], same: Callable[[Any], Any] = interned) -> M:
    """The same model holding less memory, for a run that keeps one per item: its strings
    ``same``'s (by default: short ones interned), nested models compacted, and its dictionaries
    (class counts, clinical fields: a batch repeats them) and its set of fields (pydantic keeps
    one per instance, 700 bytes) those of ``shared`` when an earlier model had equal ones. None of
    them is ever changed in place (a frozen model's; a copy gets its own set of fields), so
    sharing them is safe."""
    values: dict[str, Any] = {}
    for name, value in model.__dict__.items():
        if isinstance(value, dict):
            value = _shared_dict(value, shared)
        elif isinstance(value, Frozen):
            value = compact(value, shared)
        else:
            value = same(value)
        values[name] = value
    fields = model.model_fields_set
    return cast(M, model.model_construct(shared.setdefault(frozenset(fields), set(fields)), **values))


def _shared_dict(value: dict[Any, Any], shared: dict[Any, Any]) -> dict[Any, Any]:
    """The dictionary of ``shared`` equal to ``value`` (a model's field: never changed in place),
    or ``value`` with its keys and values interned, which ``shared`` keeps from then on; a
    dictionary of other values (unhashable) is left as it is."""
    try:  # by type and text: {"a": 1}, {"a": 1.0} and {"a": -0.0} are equal, but not written alike
        key = ("dict", *((k, type(v), repr(v) if type(v) is float else v) for k, v in value.items()))
        hash(key)
    except TypeError:
        return value
    found = shared.get(key)
    if found is None:
        found = shared[key] = {interned(k): interned(v) for k, v in value.items()}
    return found


Share = Annotated[float, Field(ge=0, le=1)]
"""A fraction: what a results.json holds there is refused past [0, 1] as it is read (a share of
1e308 was shown as ``inf %`` and stopped ``dqm report`` with an OverflowError drawing its bar)."""
Count = Annotated[int, Field(ge=0)]
"""A number of things: never negative."""


class Ratio(Frozen):
    """A ratio with its denominator, target and decision."""

    name: str
    unit: Literal["files", "values", "slides", "lesions", "labels"]
    numerator: Count
    denominator: Count
    value: Share | None
    """None when there was nothing to count."""
    target: Share | None = None
    passed: bool | None = None
    ci_low: Share | None = None
    ci_high: Share | None = None
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
        passed = None if target is None or value is None else count_reaches(value, target)
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


class StainSummary(Frozen):
    """Colour descriptors of a slide's tissue at low resolution (:mod:`dqm.pixels.stain`).

    Stain vectors are unit vectors in optical-density space (red, green, blue), found by Macenko's
    method; concentrations are in optical-density units along those vectors.
    """

    h_od_r: float
    h_od_g: float
    h_od_b: float
    e_od_r: float
    e_od_g: float
    e_od_b: float
    angle_spread: float
    """Degrees between the 1st and 99th percentile directions in the stain plane."""
    od_mean: float
    """Mean optical density of the tissue pixels, over the three channels."""
    h_p50: float
    h_p99: float
    e_p50: float
    e_p99: float
    background: float | None = None
    """Mean luminance of the background (0 black, 1 white); None when the image is nearly all tissue."""
    pixels: int = 0
    """Tissue pixels measured."""


STAIN_DESCRIPTORS: dict[str, tuple[str, str]] = {
    "h_od_r": (N_("haematoxylin vector, red OD"), "OD"),
    "h_od_g": (N_("haematoxylin vector, green OD"), "OD"),
    "h_od_b": (N_("haematoxylin vector, blue OD"), "OD"),
    "e_od_r": (N_("eosin vector, red OD"), "OD"),
    "e_od_g": (N_("eosin vector, green OD"), "OD"),
    "e_od_b": (N_("eosin vector, blue OD"), "OD"),
    "angle_spread": (N_("stain angle spread (p01–p99)"), "°"),
    "od_mean": (N_("tissue optical density, mean"), "OD"),
    "h_p50": (N_("haematoxylin concentration, median"), "OD"),
    "h_p99": (N_("haematoxylin concentration, p99"), "OD"),
    "e_p50": (N_("eosin concentration, median"), "OD"),
    "e_p99": (N_("eosin concentration, p99"), "OD"),
    "background": (N_("background brightness"), "0–1"),
}
"""The pixel descriptors of :class:`StainSummary` that become diversity variables: label and unit."""


class SlideSummary(Frozen):
    """Facts from a slide's header."""

    width: int | None = None
    height: int | None = None
    mpp: float | None = None
    """The level-0 µm per pixel the probe used (blur tiles, fold scale)."""
    mpp_source: str | None = None
    """Where :attr:`mpp` came from: ``header``, ``annotation`` (its declared mpp, when it fits the
    image), ``stated`` (the manifest's ``mpp``), ``profile`` (its ``image_mpp``), ``objective`` (10 µm
    over the objective power) or ``none``."""
    vendor: str | None = None
    levels: int = 0
    objective_power: float | None = None
    level_downsamples: list[float] = Field(default_factory=list)
    compression: str | None = None
    """Level-0 codec: jpeg, jpeg2000, deflate, lzw, none, ... (``other:<tiff code>`` otherwise)."""
    jpeg_quality: float | None = None
    """JPEG quality (1–100) estimated from the quantisation tables, or the one the header states."""
    scanner: str | None = None
    """The scanner the header names (manufacturer and model, or the instrument)."""
    stain: StainSummary | None = None
    """Colour descriptors of the tissue (None: no tissue mask, or too little stained tissue)."""
    label_thumbnail: str | None = None
    """A small JPEG data URI of the slide's label image, only when the audit was asked for it."""
    perceptual_hash: str | None = None
    """48 hex digits: the perceptual hash of the tissue thumbnail (:mod:`dqm.pixels.hashes`), which
    finds near-duplicate slides in this batch and slides delivered again in a later release."""
    overstain_share: Share | None = None
    """The share of the tissue near-black in its darkest channel (:mod:`dqm.pixels.artefacts`), which
    ``artefacts.stain`` compares with the other slides of the batch (:mod:`dqm.pixels.stain_batch`);
    None: not measured (no tissue, artefacts off, or a record written before it was kept here)."""
    understain_share: Share | None = None
    """The share of the tissue paler than any nucleus (every channel over 72 of 255), likewise."""
    colour_pen_share: Share | None = None
    """The share of the tissue under blue, green or red pen ink (:mod:`dqm.pixels.artefacts`; black
    ink left out: its rule marks over-stained tissue too): past the profile's ``artefacts.slide``
    pen share ``artefacts.stain`` judges the slide on its mean density alone (ink raises its nuclei's
    density, ``h_p99``); None as above."""
    all_ink: bool | None = None
    """True when the slide's image is ink alone (:mod:`dqm.pixels.ink`: pen ink, or a colour with a
    channel near 0, over nearly all of what is not glass): no section, so ``slide.lesion_tissue``
    says ``SLIDE_ALL_INK`` and no check judges its pixels (``artefacts.stain`` leaves it out);
    None: not measured (no tissue, artefacts off, or a record written before it was kept here)."""
    one_colour: bool | None = None
    """True when the slide's image is one flat colour and not ink alone (:mod:`dqm.pixels.ink`: a blank
    scan, a placeholder image): no section, so ``slide.lesion_tissue`` says ``SLIDE_ONE_COLOUR`` and no
    check judges its pixels; None: not measured (as ``all_ink``)."""
    artefact_scale_unknown: bool | None = None
    """True when the artefact measure had no resolution for the slide (:mod:`dqm.pixels.artefacts`:
    its folds judged at the working image's scale, ``artefacts.scale`` counts such slides); None:
    not measured (no tissue, artefacts off, or a record written before it was kept here)."""
    artefact_scale_coarse: bool | None = None
    """True when the slide's resolution is plausible by the profile's ``slide.header`` range but
    coarser than a scanner's (:data:`dqm.coords.PLAUSIBLE_MPP`): its folds judged at that coarse
    scale, the record's ``scale_note`` says so, ``artefacts.scale`` counts such slides; None as above."""


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


def patient_numbers(patient_ids: Sequence[object]) -> list[int | None]:
    """Each slide's patient number from its ``patient_id`` (blank or missing: None), numbered in
    the order of each patient's first slide."""
    numbers: dict[str, int] = {}
    out = []
    for pid in patient_ids:
        key = "" if pid is None else str(pid).strip()
        out.append(numbers.setdefault(key, len(numbers) + 1) if key else None)
    return out


def number_patients(items: Sequence[ItemSummary], patient_ids: Sequence[object]) -> list[ItemSummary]:
    """The items with :attr:`ItemSummary.patient` set (:func:`patient_numbers`); an item already
    numbered so is kept as it is, not copied."""
    numbers = patient_numbers(patient_ids)
    if len(numbers) != len(items):
        raise ValueError(f"{len(items)} items and {len(numbers)} patient ids")
    return [numbered(item, number) for item, number in zip(items, numbers, strict=True)]


def numbered(item: ItemSummary, number: int | None) -> ItemSummary:
    """``item`` with patient number ``number``: itself when it has it already, else a copy."""
    return item if item.patient == number else item.model_copy(update={"patient": number})
