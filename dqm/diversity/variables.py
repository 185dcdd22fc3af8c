"""The variables of the diversity dimension, read from the items of a result (one row per slide).

Everything comes from :class:`~dqm.results.ItemSummary` (so a ``results.json`` is enough): the
class and institution, the clinical fields as text, lesion counts and areas, and the slide header.
Missing or unreadable values become ``None`` (categorical) or NaN (continuous) and are counted,
never guessed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from dqm.coords import usable_mpp
from dqm.facts import ItemSummary
from dqm.profile import Profile

MAGNIFICATION_FROM_MPP = ((0.35, "40×"), (0.75, "20×"), (1.5, "10×"))
"""Nominal magnification from the resolution when the header has no objective power:
under 0.35 µm/px is 40×, under 0.75 is 20×, under 1.5 is 10×, coarser is ``<10×``."""


@dataclass(frozen=True, slots=True)
class Variable:
    """What one column means."""

    name: str
    label: str
    kind: Literal["categorical", "continuous"]
    unit: str = ""
    declared: tuple[str, ...] | None = None
    """The categories the profile declares, in its order (None: take them from the data)."""


@dataclass(frozen=True, slots=True)
class Table:
    """One array per variable.

    Categorical columns are object arrays with ``None`` for missing; continuous ones are float
    arrays with NaN for missing. Every column has one entry per slide, except the per-class
    lesion-area fractions, which cover only the slides carrying a lesion of that class.
    """

    variables: dict[str, Variable]
    columns: dict[str, np.ndarray]
    invalid: dict[str, int] = field(default_factory=dict)
    """Values present but not a finite number, per continuous variable."""
    n_items: int = 0

    def categorical(self) -> list[Variable]:
        return [v for v in self.variables.values() if v.kind == "categorical"]

    def continuous(self) -> list[Variable]:
        return [v for v in self.variables.values() if v.kind == "continuous"]


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


def age_bands(ages: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """The band label of each age; ``None`` for a missing age or one under the first edge."""
    labels = np.array(band_labels(edges), dtype=object)
    idx = np.searchsorted(np.asarray(edges, dtype=float), ages, side="right") - 1
    out = np.full(len(ages), None, dtype=object)
    ok = ~np.isnan(ages) & (idx >= 0)
    out[ok] = labels[idx[ok]]
    return out


def magnification(objective_power: float | None, mpp: float | None) -> str | None:
    """``40×`` from the header's objective power, else the nominal one from mpp, else None."""
    if objective_power is not None and math.isfinite(objective_power) and objective_power > 0:
        return f"{objective_power:g}×"
    if mpp is None or not usable_mpp(mpp):
        return None
    return next((label for limit, label in MAGNIFICATION_FROM_MPP if mpp < limit), "<10×")


def _number(text: str | None) -> tuple[float, bool]:
    """(value, invalid): NaN for missing; NaN and True for text that is not a finite number."""
    if text is None:
        return math.nan, False
    try:
        value = float(text)
    except ValueError:
        return math.nan, True
    return (value, False) if math.isfinite(value) else (math.nan, True)


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _declared(profile: Profile, name: str) -> tuple[str, ...] | None:
    fdef = profile.clinical.get(name)
    return tuple(fdef.values) if fdef is not None and fdef.values else None


def _slide_area(item: ItemSummary) -> float:
    """Level-0 area in px² from the slide header, else from the annotation's declared size."""
    s = item.slide
    if s is not None and s.width and s.height:
        return float(s.width) * float(s.height)
    if item.width and item.height:
        return float(item.width) * float(item.height)
    return math.nan


def build_table(items: Sequence[ItemSummary], profile: Profile) -> Table:
    """The diversity variables of every slide.

    Parameters
    ----------
    items
        The result's items; an empty list gives empty columns.
    profile
        Declares the classes, categories (sex, site, institutions) and the age bands.

    Returns
    -------
    Table
        Missing values stay missing (counted by the summaries); ages that are not numbers are
        counted in ``invalid``; a slide whose size is unknown has no lesion-area fraction.
    """
    settings = profile.diversity
    n = len(items)
    cat: dict[str, list[str | None]] = {
        k: [] for k in ("class", "institution", "sex", "site", "scanner", "vendor", "magnification")
    }
    num: dict[str, list[float]] = {
        k: [] for k in ("age", "mpp", "slide_megapixels", "lesions_per_slide", "lesion_area_fraction")
    }
    per_class: dict[str, list[float]] = {}
    invalid_age = 0
    for item in items:
        clinical = item.clinical
        cat["class"].append(_text(item.diagnosis))
        cat["institution"].append(_text(item.institution))
        cat["sex"].append(_text(clinical.get("sex")))
        cat["site"].append(_text(clinical.get("site")))
        cat["scanner"].append(_text(clinical.get("scanner")))
        slide = item.slide
        mpp = slide.mpp if slide is not None else None
        cat["vendor"].append(_text(slide.vendor) if slide is not None else None)
        cat["magnification"].append(magnification(slide.objective_power if slide else None, mpp))
        age, bad = _number(clinical.get("age"))
        invalid_age += bad
        num["age"].append(age)
        num["mpp"].append(float(mpp) if mpp is not None and usable_mpp(mpp) else math.nan)
        area = _slide_area(item)
        num["slide_megapixels"].append(area / 1e6)
        num["lesions_per_slide"].append(float(item.n_lesions))
        has_area = area > 0
        num["lesion_area_fraction"].append(sum(item.lesion_area_px.values()) / area if has_area else math.nan)
        for cls, count in item.lesion_classes.items():
            if count > 0:
                a = item.lesion_area_px.get(cls, 0.0)
                per_class.setdefault(cls, []).append(a / area if has_area else math.nan)

    class_ids = profile.class_ids
    variables = {
        "class": Variable("class", "class (diagnosis)", "categorical", declared=class_ids),
        "institution": Variable("institution", "institution", "categorical", declared=profile.institutions),
        "sex": Variable("sex", "sex", "categorical", declared=_declared(profile, "sex")),
        "site": Variable("site", "anatomical site", "categorical", declared=_declared(profile, "site")),
        "age_band": Variable(
            "age_band", "age band", "categorical", unit="years", declared=band_labels(settings.age_bands)
        ),
        "scanner": Variable("scanner", "scanner (clinical record)", "categorical"),
        "vendor": Variable("vendor", "slide format / vendor (header)", "categorical"),
        "magnification": Variable("magnification", "magnification", "categorical"),
        "age": Variable("age", "age", "continuous", unit="years"),
        "mpp": Variable("mpp", "resolution", "continuous", unit="µm/px"),
        "slide_megapixels": Variable("slide_megapixels", "slide size (level 0)", "continuous", unit="Mpx"),
        "lesions_per_slide": Variable("lesions_per_slide", "lesions per slide", "continuous", unit="lesions"),
        "lesion_area_fraction": Variable(
            "lesion_area_fraction", "lesion-area fraction, all lesions", "continuous", unit="of slide area"
        ),
    }
    columns: dict[str, np.ndarray] = {}
    for name, texts in cat.items():
        arr = np.empty(n, dtype=object)
        arr[:] = texts
        columns[name] = arr
    for name, numbers in num.items():
        columns[name] = np.asarray(numbers, dtype=float).reshape(n)
    columns["age_band"] = age_bands(columns["age"], settings.age_bands)
    order = {c: i for i, c in enumerate(class_ids)}
    for cls in sorted(per_class, key=lambda c: (order.get(c, len(order)), c)):
        name = f"lesion_area_fraction.{cls}"
        variables[name] = Variable(
            name, f"lesion-area fraction, {cls} lesions", "continuous", "of slide area"
        )
        columns[name] = np.asarray(per_class[cls], dtype=float)
    return Table(variables=variables, columns=columns, invalid={"age": invalid_age}, n_items=n)
