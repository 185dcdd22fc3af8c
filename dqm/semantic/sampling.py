"""The seeded review draw: an equal-probability core, a supplementary sample, inverse-probability weights.

Design
------
* **Core.** The plan's ``n`` slides are a simple random sample of the whole lot, whatever the
  strata, flags or floors: the ``n`` slides with the smallest SHA-256 of
  ``"dqm-review:{seed}:{slide_id}"``. Every slide of the lot has the same chance ``n / N`` of being
  in it; the ISO 2859-1 decision counts the FAILs among these slides only.
* **Cells.** The lot is split into strata (``--strata``, e.g. diagnosis × institution). With
  oversampling, each stratum that :func:`dqm.semantic.allocation.allocate` gives at least two slides
  (proportional, floor per stratum) is split into two *cells*, flagged and other slides; otherwise
  a cell is a stratum. A stratum given a single slide stays one cell, so every slide keeps a
  positive chance of being drawn.
* **Supplement.** Each cell has a target: without oversampling the stratum's floor
  ``min(minimum, N_h)``; with oversampling the cell's share of the stratified allocation, the
  flagged cell's size counted ``factor`` times (at least one slide per non-empty cell). The core
  slides of a cell count towards its target; when they fall short, the cell's next slides in the
  same SHA-256 order are added as *supplementary* slides. So a cell's drawn slides are always its
  ``n_c`` smallest hashes, ``n_c = max(core slides in the cell, target)``.
* **Weights.** Given how many core slides fell in each cell, the slides drawn from a cell are a
  simple random sample of ``n_c`` of its ``N_c`` slides, independent across cells (the core is
  exchangeable inside a cell). Each drawn slide's inclusion probability is ``π = n_c / N_c`` and
  its weight ``1 / π = N_c / n_c``; the stratified (Horvitz–Thompson) estimate
  ``Σ_c N_c · p̂_c / N`` is unbiased for the lot's accuracy conditionally on the core's composition
  and so overall, whatever the floors and the oversampling factor (tested by simulation).
* The same lot and seed give the same sample on any machine and any numpy version, and an auditor
  can redo the draw with ``sha256sum``.
* **The seed is not known before the draw.** Whoever knows the seed knows the sample from the slide
  ids alone, so a supplier who knows it before delivery can fix only the slides that will be
  reviewed. ``dqm sample`` therefore draws a fresh seed (:func:`fresh_seed`) unless told one, and
  the plan records it and whether it was drawn or given.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dqm.semantic.allocation import allocate

FLAGGED, OTHER = "flagged", "other"


@dataclass(frozen=True, slots=True)
class Unit:
    """One slide of the lot as the sampler sees it."""

    slide_id: str
    stratum: str
    flagged: bool = False


@dataclass(frozen=True, slots=True)
class Cell:
    """A sampling cell: a stratum, or the flagged / other part of one when oversampling."""

    stratum: str
    part: str | None
    """``flagged``, ``other`` or None when the stratum was not split."""
    lot: int
    sampled: int

    @property
    def label(self) -> str:
        return self.stratum if self.part is None else f"{self.stratum} [{self.part}]"

    @property
    def weight(self) -> float:
        """Inverse inclusion probability ``N_c / n_c`` (0 when nothing is drawn from the cell)."""
        return self.lot / self.sampled if self.sampled else 0.0


@dataclass(frozen=True, slots=True)
class Draw:
    """One drawn slide."""

    slide_id: str
    stratum: str
    cell: str
    flagged: bool
    inclusion_probability: float
    """``n_c / N_c`` given the core's composition (see the module docstring)."""
    weight: float
    core: bool
    """True for a slide of the equal-probability core, False for a supplementary slide."""


@dataclass(frozen=True, slots=True)
class Sample:
    """The outcome of :func:`draw_sample`."""

    draws: list[Draw]
    """Sorted by stratum then slide id."""
    cells: list[Cell]
    allocation: dict[str, int]
    """Stratum → slides drawn (core and supplementary)."""
    sizes: dict[str, int]
    """Stratum → slides in the lot."""
    core_size: int
    """Slides in the equal-probability core: the plan's ``n``, capped at the lot."""


SEED_BITS = 53
"""A drawn seed is below ``2**53``: exact as a JSON number in any reader, JavaScript's included."""


def fresh_seed() -> int:
    """A seed nobody can know in advance: from the operating system's cryptographic randomness."""
    return secrets.randbits(SEED_BITS)


def draw_key(seed: int, slide_id: str) -> str:
    """The sort key of a slide in the seeded draw: a hex SHA-256 (see the module docstring)."""
    return hashlib.sha256(f"dqm-review:{seed}:{slide_id}".encode()).hexdigest()


def simple_random_sample(ids: Iterable[str], n: int, seed: int) -> list[str]:
    """``n`` ids drawn without replacement, seeded; sorted. ``n`` ≥ len(ids) returns them all."""
    ranked = sorted(ids, key=lambda s: (draw_key(seed, s), s))
    return sorted(ranked[: max(n, 0)])


def split_cells(stratum: str, units: list[Unit], n: int, factor: float) -> list[tuple[Cell, list[Unit]]]:
    """The cells of one stratum and their allocation (see the module docstring).

    ``factor`` ≤ 1, an all-flagged or all-other stratum, or ``n`` < 2 give one cell: the stratum.
    """
    flagged = [u for u in units if u.flagged]
    other = [u for u in units if not u.flagged]
    if factor <= 1.0 or not flagged or not other or n < 2:
        return [(Cell(stratum, None, len(units), n), units)]
    parts = {FLAGGED: len(flagged), OTHER: len(other)}
    alloc = allocate(parts, n, minimum=1, weights={FLAGGED: factor * len(flagged), OTHER: len(other)})
    return [
        (Cell(stratum, FLAGGED, len(flagged), alloc[FLAGGED]), flagged),
        (Cell(stratum, OTHER, len(other), alloc[OTHER]), other),
    ]


def draw_sample(
    units: Iterable[Unit],
    n: int,
    seed: int,
    minimum: int = 1,
    oversample: float = 1.0,
) -> Sample:
    """Draw the review sample: the equal-probability core and the supplementary slides.

    Parameters
    ----------
    units
        The lot; slide ids must be unique (the caller removes duplicates).
    n
        Sample size of the plan: the size of the core, capped at the lot size.
    seed
        Seed of the draw; same lot and seed, same sample.
    minimum
        Floor per non-empty stratum, met by supplementary slides where the core falls short.
    oversample
        Factor by which flagged slides are favoured inside a stratum (1 = no oversampling); the
        extra flagged slides are supplementary.

    Returns
    -------
    Sample
        The drawn slides (core or supplementary) with their inclusion probabilities and weights,
        the cells and the slides drawn per stratum. The core does not depend on the strata, the
        flags, the floor or the oversampling. An empty lot gives an empty sample.

    Raises
    ------
    ValueError
        On duplicate slide ids, a negative ``n`` or ``minimum``, or an oversampling factor below 1.
    """
    lot = list(units)
    ids = [u.slide_id for u in lot]
    if len(set(ids)) != len(ids):
        raise ValueError("slide ids in the lot must be unique")
    if oversample < 1.0:
        raise ValueError(f"oversampling factor must be at least 1, got {oversample}")
    if n < 0 or minimum < 0:
        raise ValueError("the sample size and the floor per stratum must not be negative")
    by_stratum: dict[str, list[Unit]] = {}
    for u in sorted(lot, key=lambda u: (u.stratum, u.slide_id)):
        by_stratum.setdefault(u.stratum, []).append(u)
    sizes = {k: len(v) for k, v in by_stratum.items()}
    if oversample > 1.0:
        targets = allocate(sizes, n, minimum)
    else:
        targets = {k: min(minimum, size) for k, size in sizes.items()}
    core = set(simple_random_sample(ids, n, seed))
    draws: list[Draw] = []
    cells: list[Cell] = []
    for stratum, members in by_stratum.items():
        for target, cell_units in split_cells(stratum, members, targets[stratum], oversample):
            in_core = sum(u.slide_id in core for u in cell_units)
            cell = Cell(target.stratum, target.part, target.lot, max(in_core, target.sampled))
            cells.append(cell)
            # the cell's smallest hashes: its core slides first, then the supplementary ones
            chosen = set(simple_random_sample([u.slide_id for u in cell_units], cell.sampled, seed))
            pi = cell.sampled / cell.lot
            draws.extend(
                Draw(u.slide_id, stratum, cell.label, u.flagged, pi, cell.weight, u.slide_id in core)
                for u in cell_units
                if u.slide_id in chosen
            )
    draws.sort(key=lambda d: (d.stratum, d.slide_id))
    drawn = dict.fromkeys(sizes, 0)
    for c in cells:  # one pass: every slide may be a stratum of its own
        drawn[c.stratum] += c.sampled
    return Sample(draws=draws, cells=cells, allocation=drawn, sizes=sizes, core_size=len(core))


def flag_units(
    slide_ids: Iterable[str],
    syntactic_flags: Mapping[str, bool],
    risk: Mapping[str, float] | None = None,
    threshold: float = 0.5,
) -> dict[str, bool]:
    """Which slides are flagged for oversampling.

    A slide is flagged when it has a syntactic finding (``syntactic_flags``) or a risk score of at
    least ``threshold`` in ``risk`` (slide id → score, e.g. low model agreement from the validity
    dimension). Ids absent from both mappings are not flagged.
    """
    risk = risk or {}
    return {
        s: bool(syntactic_flags.get(s, False)) or risk.get(s, float("-inf")) >= threshold for s in slide_ids
    }
