"""The variables of the diversity dimension, declared once: :data:`VARIABLES`.

Each row says what a variable is (name, label, kind, unit), how it is read from an
:class:`~dqm.facts.ItemSummary` (so a ``results.json`` is enough), where the profile declares its
categories, and what the dimension does with it: target shares, tests with the class or of age,
balance and richness, new and vanished categories in drift, notes on missing or undeclared values.
Everything else (:mod:`dqm.diversity.settings`, :mod:`~dqm.diversity.table`,
:mod:`~dqm.diversity.family`, :mod:`~dqm.diversity.drift`, :mod:`~dqm.diversity.analyse`) reads
this table, so adding a variable is adding one row.

This module sits below the profile (the profile's ``diversity`` block validates target and rule
names against it), so it imports neither the profile nor the settings.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from dqm.facts import STAIN_DESCRIPTORS, ItemSummary
from dqm.i18n import N_

MAGNIFICATION_FROM_MPP = ((0.35, "40×"), (0.75, "20×"), (1.5, "10×"))
"""Nominal magnification from the resolution when the header has no objective power:
under 0.35 µm/px is 40×, under 0.75 is 20×, under 1.5 is 10×, coarser is ``<10×``."""

Size = Literal["small", "moderate", "large"]
Batch = Literal["pixel", "acquisition"]
Categories = Literal["classes", "institutions", "clinical", "age_bands"]


@dataclass(frozen=True, slots=True)
class TestSpec:
    """A hypothesis test a variable takes part in, with its default rule."""

    __test__ = False  # not a pytest class

    claim: str
    """What a significant result means, e.g. ``class mix differs between institutions``."""
    warn_at: Size | None = None
    fail_at: Size | None = None
    """The default effect-size rule (a profile may override it); None and None: reported only."""
    position: int = 0
    """Order among the tests of its kind (results list them so; ties keep the table's order)."""


@dataclass(frozen=True, slots=True)
class PerClass:
    """One more continuous column per lesion class, over the slides that carry such a lesion."""

    label: str
    """The column's label, ``{cls}`` standing for the class id."""
    read: Callable[[ItemSummary], dict[str, float]]
    """Class id -> value, for the classes the slide carries."""


@dataclass(frozen=True, slots=True)
class Variable:
    """One variable: what it means, how it is read, and what the dimension does with it.

    In a :class:`~dqm.diversity.table.Table` only the first five fields matter: ``declared`` is
    then filled from the profile.
    """

    name: str
    label: str
    kind: Literal["categorical", "continuous"]
    unit: str = ""
    declared: tuple[str, ...] | None = None
    """The categories the profile declares, in its order (None: take them from the data)."""
    read: Callable[[ItemSummary], str | float | None] | None = None
    """The value of one slide. Categorical: text, stripped, ``None`` or empty when missing.
    Continuous: a number (NaN when missing), or text, which counts as *invalid* when it is not a
    finite number."""
    valid: Callable[[float], bool] | None = None
    """Continuous: the numbers it may take; another (an mpp of 1e-308, a JPEG quality of 250) is
    *invalid*, counted and left out as text that is not a number is."""
    field: str = ""
    """Continuous, read from this clinical field: a value its profile definition refuses (not of its
    ``integer`` or ``number`` type, out of its ``min``–``max``: what the clinical table reports) is
    *invalid*."""
    bands_of: str = ""
    """Instead of ``read``: this continuous variable cut at the profile's ``age_bands``."""
    categories: Categories | None = None
    """Where the profile declares the categories: its classes, its institutions, the ``values`` of
    the clinical field of the same name, or the labels of its age bands."""
    targets: bool = False
    """May carry target shares (``diversity.targets``: a goodness-of-fit test ``fit.<name>``)."""
    independence: TestSpec | None = None
    """Chi-square test of independence class × this variable (``independence.class_<name>``) and
    its joint table."""
    age_by: TestSpec | None = None
    """Kruskal–Wallis test of age across this variable's categories (``kruskal.age_by_<name>``)."""
    balance: bool = False
    """Balance and richness indices of its composition."""
    new_vanished: bool = False
    """In drift, a new or vanished category is decided by the profile's drift rules."""
    note_missing: bool = False
    """The result's notes say how many slides lack a value."""
    note_undeclared: int | None = None
    """The result's notes list values the profile does not declare, in this order among such notes."""
    per_class: PerClass | None = None
    batch: Batch | None = None
    """A descriptor of how the slide was stained (``pixel``) or scanned (``acquisition``): compared
    across institutions and scanners, and used to predict the institution
    (:mod:`dqm.diversity.batch_effects`), each kind on its own."""


def band_labels(edges: Sequence[float]) -> tuple[str, ...]:
    """Labels of the age bands with these lower edges: ``0–19`` … ``80+`` for whole numbers."""
    whole = all(float(e).is_integer() for e in edges)
    labels = []
    for i, lo in enumerate(edges):
        if i + 1 == len(edges):
            labels.append(f"{lo:g}+")
        elif whole:
            labels.append(f"{lo:g}–{edges[i + 1] - 1:g}")
        else:
            labels.append(f"[{lo:g}, {edges[i + 1]:g})")
    return tuple(labels)


def _usable(mpp: float) -> bool:
    """Whether a slide's resolution is a number dqm takes: from MIN_MPP to MAX_MPP, as an
    annotation's or the manifest's (a header's 1e-308 µm/px is no 40× slide)."""
    # dqm.coords imports numpy: imported here, the profile (which reads this table) stays light
    from dqm.coords import MAX_MPP, MIN_MPP

    return MIN_MPP <= mpp <= MAX_MPP  # NaN compares false


def magnification(
    objective_power: float | None, mpp: float | None, plausible: tuple[float, float] | None = None
) -> str | None:
    """``40×`` from the header's objective power when it is a plausible one (in ``plausible``: the
    ``slide.header`` check's range, which reports a power outside it; by default
    :data:`~dqm.coords.PLAUSIBLE_OBJECTIVE_POWER`, 1–100), else the nominal one from mpp, else None."""
    from dqm.coords import PLAUSIBLE_OBJECTIVE_POWER  # numpy: see _usable

    low, high = PLAUSIBLE_OBJECTIVE_POWER if plausible is None else plausible
    if objective_power is not None and low <= objective_power <= high:  # NaN compares false
        return f"{objective_power:g}×"
    if mpp is None or not _usable(mpp):
        return None
    return next((label for limit, label in MAGNIFICATION_FROM_MPP if mpp < limit), "<10×")


def slide_area(item: ItemSummary) -> float:
    """Level-0 area in px² from the slide header, else from the annotation's declared size, each
    when both its sides are positive (-5 x -5 is no 25 px²); infinite past a double's range (a
    side of 10^400 is no float)."""
    s = item.slide
    for width, height in ((s.width, s.height) if s is not None else (None, None), (item.width, item.height)):
        if width is not None and height is not None and width > 0 and height > 0:
            try:
                return float(width) * float(height)
            except OverflowError:
                return math.inf
    return math.nan


def _clinical(field: str) -> Callable[[ItemSummary], str | None]:
    return lambda item: item.clinical.get(field)


def _mpp(item: ItemSummary) -> float | None:
    """The slide's resolution as a header, annotation, manifest or profile states it; one worked
    out from the objective power (``mpp_source`` ``objective``) is none: the objective itself is
    the magnification, and counting 10 µm over it would count the objective twice."""
    s = item.slide
    return s.mpp if s is not None and s.mpp_source != "objective" else None


def _magnification(item: ItemSummary) -> str | None:
    s = item.slide
    return magnification(s.objective_power, _mpp(item)) if s is not None else None


def magnification_within(plausible: tuple[float, float]) -> Callable[[ItemSummary], str | None]:
    """The ``magnification`` of a slide, a header's objective power taken within ``plausible``
    (the profile's ``slide.header`` range, :func:`dqm.diversity.table.build_table`)."""

    def read(item: ItemSummary) -> str | None:
        s = item.slide
        return magnification(s.objective_power, _mpp(item), plausible) if s is not None else None

    return read


def _header(field: str) -> Callable[[ItemSummary], str | float | None]:
    return lambda item: getattr(item.slide, field) if item.slide is not None else None


def _stain(field: str) -> Callable[[ItemSummary], float | None]:
    def read(item: ItemSummary) -> float | None:
        stain = item.slide.stain if item.slide is not None else None
        return getattr(stain, field) if stain is not None else None

    return read


def _known_area(item: ItemSummary) -> float:
    """The slide's area when a positive finite number, else NaN: a fraction of an area past a
    double's range would be 0, not unknown."""
    area = slide_area(item)
    return area if 0 < area < math.inf else math.nan


def _area_fraction(item: ItemSummary) -> float:
    return sum(item.lesion_area_px.values()) / _known_area(item)


def _area_fraction_per_class(item: ItemSummary) -> dict[str, float]:
    area = _known_area(item)
    return {
        cls: item.lesion_area_px.get(cls, 0.0) / area
        for cls, count in item.lesion_classes.items()
        if count > 0
    }


REPORTED_ONLY: tuple[Size | None, Size | None] = (None, None)

VARIABLES: tuple[Variable, ...] = (
    # Categorical, in the order of the result's summaries. Associations of the class with the
    # patient (nevi in the young, BCC on the head and neck) are expected clinically: tested and
    # reported, never gated by default. Institutions should not differ much.
    Variable(
        "class",
        N_("class (diagnosis)"),
        "categorical",
        read=lambda item: item.diagnosis,
        categories="classes",
        targets=True,
        age_by=TestSpec(N_("age differs between classes")),
        balance=True,
        new_vanished=True,
        note_missing=True,
        note_undeclared=0,
    ),
    Variable(
        "institution",
        N_("institution"),
        "categorical",
        read=lambda item: item.institution,
        categories="institutions",
        targets=True,
        independence=TestSpec(N_("class mix differs between institutions"), "moderate", "large", position=0),
        age_by=TestSpec(N_("age differs between institutions"), "moderate", "large"),
        balance=True,
        new_vanished=True,
        note_missing=True,
        note_undeclared=3,
    ),
    Variable(
        "sex",
        N_("sex"),
        "categorical",
        read=_clinical("sex"),
        categories="clinical",
        targets=True,
        independence=TestSpec(N_("class mix differs between the sexes"), position=1),
        balance=True,
        note_missing=True,
        note_undeclared=1,
    ),
    Variable(
        "site",
        N_("anatomical site"),
        "categorical",
        read=_clinical("site"),
        categories="clinical",
        targets=True,
        independence=TestSpec(N_("class mix differs between anatomical sites"), position=3),
        balance=True,
        new_vanished=True,
        note_missing=True,
        note_undeclared=2,
    ),
    Variable(
        "age_band",
        N_("age band"),
        "categorical",
        unit=N_("years"),
        bands_of="age",
        categories="age_bands",
        targets=True,
        independence=TestSpec(N_("class mix differs between age bands"), position=2),
    ),
    Variable(
        "scanner",
        N_("scanner (clinical record)"),
        "categorical",
        read=_clinical("scanner"),
        targets=True,
        batch="acquisition",
    ),
    Variable(
        "vendor",
        N_("slide format / vendor (header)"),
        "categorical",
        read=_header("vendor"),
        targets=True,
        batch="acquisition",
    ),
    Variable("magnification", N_("magnification"), "categorical", read=_magnification, targets=True),
    Variable(
        "scanner_header", N_("scanner (header)"), "categorical", read=_header("scanner"), batch="acquisition"
    ),
    Variable(
        "codec",
        N_("compression codec (header)"),
        "categorical",
        read=_header("compression"),
        batch="acquisition",
    ),
    # Continuous.
    Variable(
        "age",
        N_("age"),
        "continuous",
        unit=N_("years"),
        read=_clinical("age"),
        field="age",
        note_missing=True,
    ),
    Variable(
        "mpp", N_("resolution"), "continuous", unit="µm/px", read=_mpp, valid=_usable, batch="acquisition"
    ),
    Variable(
        "jpeg_quality",
        N_("JPEG quality (quantisation tables)"),
        "continuous",
        unit="1–100",
        read=_header("jpeg_quality"),
        valid=lambda q: 1 <= q <= 100,
        batch="acquisition",
    ),
    Variable(
        "slide_megapixels",
        N_("slide size (level 0)"),
        "continuous",
        unit="Mpx",
        read=lambda item: slide_area(item) / 1e6,
    ),
    Variable(
        "lesions_per_slide",
        N_("lesions per slide"),
        "continuous",
        unit=N_("lesions"),
        read=lambda item: item.n_lesions,
    ),
    Variable(
        "lesion_area_fraction",
        N_("lesion-area fraction, all lesions"),
        "continuous",
        unit=N_("of slide area"),
        read=_area_fraction,
        per_class=PerClass(N_("lesion-area fraction, {cls} lesions"), _area_fraction_per_class),
    ),
    # Colour of the tissue at low resolution (dqm.pixels.stain), one row per descriptor.
    *(
        Variable(f"stain_{field}", label, "continuous", unit=unit, read=_stain(field), batch="pixel")
        for field, (label, unit) in STAIN_DESCRIPTORS.items()
    ),
)
"""Every variable, in the order of the result's summaries (categorical first)."""

FIT_RULE: tuple[Size | None, Size | None] = ("small", "moderate")
"""The default rule of every goodness-of-fit test (the delivery should match its plan)."""


def _tests(kind: str) -> list[tuple[str, Variable, TestSpec]]:
    """(test name, variable, test) of one kind, in the order results list them."""
    found = [(v, getattr(v, kind)) for v in VARIABLES if getattr(v, kind) is not None]
    prefix = {"independence": "independence.class_", "age_by": "kruskal.age_by_"}[kind]
    return [(f"{prefix}{v.name}", v, t) for v, t in sorted(found, key=lambda vt: vt[1].position)]


INDEPENDENCE: tuple[tuple[str, str, str, str], ...] = tuple(
    (name, "class", v.name, t.claim) for name, v, t in _tests("independence")
)
"""(test name, row variable, column variable, what a significant result means)."""
KRUSKAL: tuple[tuple[str, str, str], ...] = tuple((name, v.name, t.claim) for name, v, t in _tests("age_by"))
"""(test name, grouping variable, what a significant result means)."""
DEFAULT_RULES: dict[str, tuple[Size | None, Size | None]] = {
    "fit": FIT_RULE,
    **{name: (t.warn_at, t.fail_at) for kind in ("independence", "age_by") for name, _, t in _tests(kind)},
}
"""(warn_at, fail_at) of every test name (``fit`` covers every goodness-of-fit test)."""
TEST_NAMES: tuple[str, ...] = tuple(DEFAULT_RULES)
TARGETABLE: tuple[str, ...] = tuple(v.name for v in VARIABLES if v.targets)
"""Categorical variables that may carry target shares."""
BALANCED: tuple[str, ...] = tuple(v.name for v in VARIABLES if v.balance)
PIXEL: tuple[str, ...] = tuple(v.name for v in VARIABLES if v.batch == "pixel")
ACQUISITION: tuple[str, ...] = tuple(v.name for v in VARIABLES if v.batch == "acquisition")
"""The stain descriptors and the acquisition metadata, each predicting the institution on its own."""
NEW_VANISHED: tuple[str, ...] = tuple(v.name for v in VARIABLES if v.new_vanished)
"""Variables whose new or vanished categories are decided by the profile's drift rules."""
NOTE_MISSING: tuple[str, ...] = tuple(v.name for v in VARIABLES if v.note_missing)
NOTE_UNDECLARED: tuple[str, ...] = tuple(
    v.name
    for v in sorted(
        (v for v in VARIABLES if v.note_undeclared is not None),
        key=lambda v: v.note_undeclared or 0,
    )
)
