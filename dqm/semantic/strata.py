"""Merging strata when the stratification fields make too many for the sample (``dqm sample --strata``).

A field with a value a slide or so (``age``, a measurement, a free-text site) makes a stratum of
nearly every slide: the floor per stratum then draws the whole lot, and with one slide a cell the
stratified interval is several times too wide (a cell of one reviewed slide has no variance
estimate). :func:`merge_strata` coarsens the fields until the lot makes at most
:func:`strata_cap` strata, ``n // 2`` for a plan of ``n`` slides (at least 50, at most 500), or
``dqm sample --max-strata`` (0: never merged):

* the lesion class (:data:`CLASS_FIELD`) is never coarsened, so every class keeps its strata and
  their floors and is reviewed; when it alone makes more strata than the cap, the other fields go
  to their least and the strata stay over the cap (the record lists it in ``kept``; it is written
  also when no other field could be coarsened, the class alone past the cap: ``fields`` empty);
* the slides are counted once per distinct stratum key (:class:`collections.Counter`), and every
  later step works on those counts: ``O(rows + distinct · log distinct)``;
* **balanced**: the aim is strata of comparable size, not only few of them. The fields to coarsen
  share the cap evenly: over the strata the other fields make alone (the class), the field of
  fewest values takes its share ``budget ** (1 / fields left)`` (all its values when it has fewer)
  and the others share what it leaves (age 121 values × 60 institutions under a cap of 157:
  13 × 12). Each field is then cut once, from its values as written, into that many values of
  about equal numbers of slides, and the strata counted over the merged keys; when they are still
  over the cap (the values kept whatever the cap, fields that go together), the field with the
  most merged values is cut again to fewer, from its values as written, until the lot makes at
  most the cap or every field is at its least;
* a **numeric** field (most of its non-missing slides a finite number) becomes quantile bins of
  adjacent values holding about equal numbers of slides (a value goes to the bin its midpoint
  falls in, by the cumulative share of the slides), a value never split; a bin is labelled
  ``first … last`` by the texts of its smallest and largest members *as the batch wrote them*
  (so an identifier in them is masked where any batch text is), a bin of one text by that text;
  its values that are not numbers go to :data:`OTHER`. A **categorical** field cut to ``k``
  values keeps by name each value big enough on its own (largest first, while a value holds at
  least ``1/k`` of the slides left for the values left) and packs the rest, largest first (ties
  by value), each into the group that holds fewest slides so far: ``(other 1)``, ``(other 2)`` …
  of about equal sizes (``(other)`` when there is one group; a group of one value keeps its
  name), so no ``(other)`` holds most of the lot (when the field kept its most frequent values
  and merged the rest into one ``(other)``, the ten ``age bin / (other)`` strata of 34,376 slides
  by age and institution held 1,751 to 3,487 slides each, the others a bin's share of one site);
* ``(missing)`` is a stratum of its own and never merged (a field with it cannot go below two
  values; when every field is at its least and the lot still makes more than the cap, the merge
  stops there, and the record says so by ``strata_after``);
* a synthetic label (:data:`OTHER`, ``(other 2)``, a bin's range) that equals a value of the
  field as written is put in parentheses again until it does not, so a merged stratum never takes a real value's name;
* every choice depends on the counts only (ties by value), so the same lot gives the same strata
  and, with the same seed, the same sample.

The merged labels are the strata :func:`dqm.semantic.sampling.draw_sample` draws from: the weights
are ``N_c / n_c`` of each merged cell and sum to its size.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter

import numpy as np

from dqm.semantic.models import MergedField, StrataMerge

MAX_STRATA = 500
"""The most strata a plan is drawn over, whatever its size (as ``MAX_LOTS`` caps ``--lot-by``)."""
CLASS_FIELD = "diagnosis"
"""The lesion class (the slide's diagnosis): never coarsened, so every class the lot holds keeps a
stratum of its own and its floor (a rare class merged into :data:`OTHER` was drawn no slide)."""
MISSING = "(missing)"
"""The value of a slide without the field: a stratum of its own, never merged."""
OTHER = "(other)"
"""The merged value of a categorical field's less frequent values and of a numeric field's
non-numbers (in more parentheses when the field holds this text as a value)."""
RANGE = " … "
"""Between a bin's first and last member."""


MIN_CAP = 50
"""The cap of a small plan: up to 50 strata (the seven classes by seven institutions) are kept whatever
``n``, their floors adding at most 50 slides (the warning of ``dqm sample`` says when that doubles the review)."""


def strata_cap(sample_size: int) -> int:
    """The most strata a plan of ``sample_size`` slides is drawn over: ``n // 2`` (so the floors add
    at most half the plan), between :data:`MIN_CAP` and :data:`MAX_STRATA`.

    It bounds the floors; the merge makes the strata of comparable size, so the core (``n`` slides
    over at most ``n // 2`` strata) puts about two slides in each and the cells of one reviewed slide
    are the strata the core missed or hit once (a lot of 34,376 by age and institution: 67 of 156
    cells, docs/semantic.md §2; their variance is estimated by collapsing them in pairs,
    :mod:`dqm.semantic.estimate`)."""
    return min(MAX_STRATA, max(MIN_CAP, sample_size // 2))


def _number(value: str) -> float | None:
    try:
        x = float(value)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def _fresh(label: str, taken: set[str]) -> str:
    """``label``, in more parentheses while it is one of the field's values as written."""
    while label in taken:
        label = f"({label})"
    return label


def _range(first: str, last: str, texts: int, taken: set[str]) -> str:
    """A bin's label: ``first … last`` by its members' own texts (one text alone is itself), fresh
    against ``taken``."""
    return first if texts == 1 else _fresh(f"{first}{RANGE}{last}", taken)


@dataclass(slots=True)
class _Runs:
    """A numeric field's numbers as runs of equal numbers (``1`` and ``1.0`` one run), in order."""

    first: list[str]
    last: list[str]
    """The texts as written of each run's smallest and largest members (by number, then text)."""
    texts: np.ndarray
    slides: np.ndarray
    values: list[str]
    """The field's numbers in order, and ``run_of`` the run each is in."""
    run_of: np.ndarray

    @classmethod
    def of(cls, counts: Mapping[str, int], numbers: Mapping[str, float]) -> _Runs:
        ordered = sorted(numbers.items(), key=itemgetter(1))  # then equal numbers ("1", "1.0") by text:
        values = [v for v, _ in ordered]
        xs = np.array([x for _, x in ordered], dtype=float)
        new = np.r_[True, xs[1:] != xs[:-1]]
        starts = np.flatnonzero(new)
        ends = np.r_[starts[1:], len(values)]
        for start, end in zip(
            starts[ends - starts > 1].tolist(), ends[ends - starts > 1].tolist(), strict=True
        ):
            values[start:end] = sorted(values[start:end])
        slides = np.array([counts[v] for v in values], dtype=np.int64)
        return cls(
            first=[values[j] for j in starts.tolist()],
            last=[values[j - 1] for j in ends.tolist()],
            texts=ends - starts,
            slides=np.add.reduceat(slides, starts),
            values=values,
            run_of=np.cumsum(new) - 1,
        )

    def bins(self, k: int, taken: set[str]) -> dict[str, str]:
        """Each number's bin of at most ``k`` quantile bins of adjacent runs (a run goes to the bin
        its midpoint falls in, by the cumulative share of the slides): about equal numbers of
        slides a bin, a run never split."""
        total = int(self.slides.sum())
        before = np.cumsum(self.slides) - self.slides
        bins = np.minimum(k - 1, (k * (2 * before + self.slides)) // (2 * total))
        new = np.r_[True, bins[1:] != bins[:-1]]
        starts = np.flatnonzero(new)
        ends = np.r_[starts[1:], len(bins)]
        texts = np.add.reduceat(self.texts, starts).tolist()
        labels = [
            _range(self.first[s], self.last[e - 1], n, taken)
            for s, e, n in zip(starts.tolist(), ends.tolist(), texts, strict=True)
        ]
        group = (np.cumsum(new) - 1)[self.run_of]
        return dict(zip(self.values, np.array(labels, dtype=object)[group].tolist(), strict=True))


def _groups(counts: Mapping[str, int], k: int, taken: set[str]) -> dict[str, str]:
    """A categorical field's values (``(missing)`` left out) merged into at most ``k`` values of
    comparable size: the largest values that hold at least an equal share of what is left, ``1/k``
    of it, keep their own names, one at a time; the rest are packed into the ``k`` left groups, each
    value, largest first (ties by value), into the group that holds fewest slides so far (ties: the
    first). A group of one value keeps its name; the others are ``(other 1)``, ``(other 2)`` … in
    the order of their largest members (``(other)`` when there is one), fresh against ``taken``."""
    ranked = sorted((v for v in counts if v != MISSING), key=lambda v: (-counts[v], v))
    if len(ranked) <= k:
        return {v: v for v in ranked}
    left, rest = k, sum(counts[v] for v in ranked)
    alone = 0
    while left > 1 and counts[ranked[alone]] * left >= rest:
        rest -= counts[ranked[alone]]
        alone, left = alone + 1, left - 1
    step = {v: v for v in ranked[:alone]}
    members: list[list[str]] = [[] for _ in range(left)]
    heap = [(0, j) for j in range(left)]  # (slides, group): the lightest group first
    for v in ranked[alone:]:
        slides, j = heapq.heappop(heap)
        members[j].append(v)
        heapq.heappush(heap, (slides + counts[v], j))
    merged = [m for m in members if len(m) > 1]
    for j, m in enumerate(merged, start=1):
        label = _fresh(OTHER if len(merged) == 1 else f"(other {j})", taken)
        step |= dict.fromkeys(m, label)
    step |= {m[0]: m[0] for m in members if len(m) == 1}
    return step


@dataclass(slots=True)
class _Field:
    """One stratification field: its values as written with their slide counts, and how it is
    coarsened to a given number of values (always from the values as written, so a field coarsened
    twice is cut as if once)."""

    counts: Counter[str]
    """Value as written → slides."""
    runs: _Runs | None
    """A numeric field's numbers; None for a categorical field."""
    others: list[str]
    """A numeric field's values that are not numbers: merged into ``other``."""
    taken: set[str]
    other: str
    """This field's :data:`OTHER` (fresh against its values as written, ``taken``)."""
    reserved: int
    """Values the field keeps whatever the cap: ``(missing)``, and a numeric field's non-numbers."""

    @classmethod
    def of(cls, counts: Counter[str]) -> _Field:
        taken = set(counts)
        missing = int(MISSING in counts)
        numbers = {v: x for v in counts if v != MISSING and (x := _number(v)) is not None}
        if 2 * sum(counts[v] for v in numbers) <= sum(counts.values()) - counts.get(MISSING, 0):
            return cls(counts, None, [], taken, _fresh(OTHER, taken), missing)
        others = [v for v in counts if v != MISSING and v not in numbers]
        runs = _Runs.of(counts, numbers)
        return cls(counts, runs, others, taken, _fresh(OTHER, taken), missing + bool(others))

    @property
    def values(self) -> int:
        """Its values as written."""
        return len(self.counts)

    def coarsen(self, total: int) -> dict[str, str]:
        """Each value as written → its merged value, at most ``total`` values in all (never fewer
        than the reserved ones and one more)."""
        k = max(1, total - self.reserved)
        step = {MISSING: MISSING} if MISSING in self.counts else {}
        if self.runs is None:
            return step | _groups(self.counts, k, self.taken)
        return step | dict.fromkeys(self.others, self.other) | self.runs.bins(k, self.taken)


def _shares(values: Sequence[int], least: Sequence[int], budget: float) -> list[int]:
    """Values for each field so that their product is at most ``budget``, spread evenly: the field
    of fewest values first takes its share ``budget ** (1 / fields left)`` (all its values when it
    has fewer, ``least`` when the share is less), the fields after it share what it leaves."""
    out = [0] * len(values)
    for done, i in enumerate(sorted(range(len(values)), key=lambda j: (values[j], j))):
        share = math.floor(budget ** (1.0 / (len(values) - done)) + 1e-9)
        out[i] = min(values[i], max(least[i], share))
        budget /= out[i]
    return out


def merge_strata(
    keys: Mapping[str, tuple[str, ...]], fields: Sequence[str], cap: int, whole: Collection[str] = ()
) -> tuple[dict[str, tuple[str, ...]], StrataMerge | None]:
    """The slides' stratum keys merged to at most ``cap`` distinct keys where ``(missing)`` and the
    fields kept ``whole`` allow, and the record of the merge (see the module docstring).

    ``keys`` maps each slide id to its values of ``fields``; the fields of ``fields`` named in
    ``whole`` (the lesion class, :data:`CLASS_FIELD`) are never coarsened. Returns the keys
    unchanged and None when they make at most ``cap`` strata; unchanged with a record that coarsens
    no field when only the fields kept whole (and ``(missing)``) keep them over the cap.
    """
    if cap < 1:
        raise ValueError(f"the cap on strata must be at least 1, got {cap}")
    distinct = Counter(keys.values())  # the one pass over the slides; the rest is over distinct keys
    if len(distinct) <= cap:
        return dict(keys), None
    kept = [f for f in fields if f in whole]
    columns: list[Counter[str]] = [Counter() for _ in fields]
    for key, count in distinct.items():
        for column, value in zip(columns, key, strict=True):
            column[value] += count
    info = [_Field.of(c) for c in columns]
    free = [i for i, f in enumerate(fields) if f not in kept and info[i].values > info[i].reserved + 1]
    if not free and not kept:
        return dict(keys), None  # only (missing) and fields of one value: nothing to merge, nothing kept
    # the strata the fields not coarsened make alone; the free fields share the cap over them evenly
    fixed = len({tuple(v for i, v in enumerate(key) if i not in free) for key in distinct})
    totals = dict(
        zip(
            free,
            _shares([info[i].values for i in free], [info[i].reserved + 1 for i in free], cap / fixed),
            strict=True,
        )
    )
    maps: dict[int, dict[str, str]] = {}
    current: Counter[tuple[str, ...]] = distinct
    while free:
        maps |= {i: info[i].coarsen(totals[i]) for i in free if i not in maps}
        current = Counter()
        for key, count in distinct.items():
            current[tuple(maps[i][v] if i in maps else v for i, v in enumerate(key))] += count
        after = {i: len(set(maps[i].values())) for i in free}
        open_ = [i for i in free if after[i] > info[i].reserved + 1]
        if len(current) <= cap or not open_:
            break  # under the cap, or every free field at its least: (missing) and the class stay apart
        i = max(open_, key=lambda j: (after[j], -j))
        # fewer by the share the cap leaves, by one in eight at least (a few rounds, each over the keys)
        cut = min(after[i] - max(1, after[i] // 8), after[i] * cap // len(current))
        totals[i] = max(info[i].reserved + 1, cut)
        del maps[i]
    record = StrataMerge(
        cap=cap,
        strata_before=len(distinct),
        strata_after=len(current),
        kept=kept,
        fields=[
            MergedField(
                field=fields[i],
                kind="groups" if info[i].runs is None else "bins",
                values_before=info[i].values,
                values_after=len(set(maps[i].values())),
            )
            for i in sorted(maps)
            if len(set(maps[i].values())) < info[i].values
        ],
    )
    merged_of = {key: tuple(maps[i][v] if i in maps else v for i, v in enumerate(key)) for key in distinct}
    return {s: merged_of[key] for s, key in keys.items()}, record
