"""The diversity variables of a batch as columns, read from the items of a result (one row per slide).

What each column is and how it is read is declared in :data:`dqm.diversity.variables.VARIABLES`;
this module applies those rows to the items and fills in the categories the profile declares.
Missing or unreadable values become ``None`` (categorical) or NaN (continuous) and are counted,
never guessed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from dqm.clinical_table import field_number, nfc
from dqm.diversity.variables import VARIABLES, Variable, band_labels, magnification_within
from dqm.facts import ItemSummary
from dqm.profile import FieldDef, Profile


@dataclass(frozen=True, slots=True)
class Table:
    """One array per variable.

    Categorical columns are object arrays with ``None`` for missing; continuous ones are float
    arrays with NaN for missing. Every column has one entry per slide, except the per-class
    columns (lesion-area fractions), which cover only the slides carrying a lesion of that class.
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


def age_bands(ages: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """The band label of each age; ``None`` for a missing age or one under the first edge."""
    labels = np.array(band_labels(edges), dtype=object)
    idx = np.searchsorted(np.asarray(edges, dtype=float), ages, side="right") - 1
    out = np.full(len(ages), None, dtype=object)
    ok = ~np.isnan(ages) & (idx >= 0)
    out[ok] = labels[idx[ok]]
    return out


MAX_VALUE = 1e300
"""The largest magnitude a continuous variable takes; a value beyond it is *invalid*. Two ages of
1e308 made the mean and SD infinite (written as null), 1e308 and -1e308 a histogram span past a
double (the stage crashed), and a summary holding one was refused as a baseline by the next
release (:data:`dqm.baseline.MAX_STORED_VALUE`)."""


def _number(value: str | float | None, valid: Callable[[float], bool] | None = None) -> tuple[float, bool]:
    """(value, invalid): NaN for missing (None, or a NaN the reading gives for none); NaN and True
    for a value that is not a finite number (text, an infinity, an integer past a double) within
    ±:data:`MAX_VALUE` that ``valid`` takes."""
    if value is None:
        return math.nan, False
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return math.nan, True
    if math.isnan(number) and not isinstance(value, str):
        return math.nan, False
    usable = abs(number) <= MAX_VALUE and (valid is None or valid(number))  # NaN compares false
    return (number + 0.0, False) if usable else (math.nan, True)  # + 0.0: -0 is 0 (a minimum "-0")


def _field_number(value: str | float | None, fdef: FieldDef) -> tuple[float, bool]:
    """(value, invalid) of a clinical field's cell, as its profile definition reads it."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return math.nan, False
    number = field_number(value, fdef) if isinstance(value, str) else None
    return _number(number) if number is not None else (math.nan, True)


def _text(value: str | float | None) -> str | None:
    """A category as counted: stripped, in NFC (:func:`~dqm.clinical_table.nfc`); None for none."""
    if value is None:
        return None
    value = nfc(str(value).strip())
    return value or None


def declared(variable: Variable, profile: Profile) -> tuple[str, ...] | None:
    """The categories the profile declares for ``variable`` (None: it declares none)."""
    if variable.categories == "classes":
        return profile.class_ids
    if variable.categories == "institutions":
        return tuple(nfc(v) for v in profile.institutions) if profile.institutions else profile.institutions
    if variable.categories == "age_bands":
        return band_labels(profile.diversity.age_bands)
    if variable.categories == "clinical":
        fdef = profile.clinical.get(variable.name)
        return tuple(nfc(v) for v in fdef.values) if fdef is not None and fdef.values else None
    return None


def _column(variable: Variable, items: Sequence[ItemSummary], profile: Profile) -> tuple[np.ndarray, int]:
    """The column of a variable that is read from each item, and how many values were invalid."""
    assert variable.read is not None
    values = [variable.read(item) for item in items]
    if variable.kind == "categorical":
        column = np.empty(len(values), dtype=object)
        column[:] = [_text(v) for v in values]
        return column, 0
    fdef = profile.clinical.get(variable.field) if variable.field else None
    if fdef is not None and fdef.type in ("integer", "number"):
        numbers = [_field_number(v, fdef) for v in values]
    else:
        numbers = [_number(v, variable.valid) for v in values]
    return _numbers(numbers)


def _numbers(numbers: Sequence[tuple[float, bool]]) -> tuple[np.ndarray, int]:
    """A continuous column of (value, invalid) pairs, and how many were invalid."""
    column = np.asarray([x for x, _ in numbers], dtype=float).reshape(len(numbers))
    return column, sum(bad for _, bad in numbers)


def objective_range(profile: Profile) -> tuple[float, float]:
    """The objective powers a slide header's is taken as a magnification between: the
    ``slide.header`` check's ``objective_min`` / ``objective_max`` as the runner and the slide
    checks read them (:func:`dqm.probe_mpp.header_ranges`: one reader)."""
    from dqm.probe_mpp import header_ranges

    return header_ranges(profile)[1]


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
        Missing values stay missing (counted by the summaries); values that are not numbers are
        counted in ``invalid``; a slide whose size is unknown has no lesion-area fraction.
    """
    variables: dict[str, Variable] = {}
    columns: dict[str, np.ndarray] = {}
    invalid: dict[str, int] = {}
    for v in VARIABLES:
        if v.name == "magnification":  # a header's power: within the range the profile's check holds it to
            v = replace(v, read=magnification_within(objective_range(profile)))
        variables[v.name] = replace(v, declared=declared(v, profile))
        if v.read is not None:
            columns[v.name], bad = _column(v, items, profile)
            if v.kind == "continuous":
                invalid[v.name] = bad
    for v in VARIABLES:
        if v.bands_of:
            columns[v.name] = age_bands(columns[v.bands_of], profile.diversity.age_bands)
    order = {c: i for i, c in enumerate(profile.class_ids)}
    for v in VARIABLES:
        if v.per_class is None:
            continue
        per_class: dict[str, list[float]] = {}
        for item in items:
            for cls, value in v.per_class.read(item).items():
                per_class.setdefault(cls, []).append(value)
        for cls in sorted(per_class, key=lambda c: (order.get(c, len(order)), c)):
            name = f"{v.name}.{cls}"
            variables[name] = Variable(name, v.per_class.label.format(cls=cls), v.kind, v.unit)
            columns[name], invalid[name] = _numbers([_number(x) for x in per_class[cls]])
    return Table(variables=variables, columns=columns, invalid=invalid, n_items=len(items))
