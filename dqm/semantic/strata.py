"""Merging strata when the stratification fields make too many for the sample (``dqm sample --strata``).

A field with a value a slide or so (``age``, a measurement, a free-text site) makes a stratum of
nearly every slide: the floor per stratum then draws the whole lot, and with one slide a cell the
stratified interval is several times too wide (a cell of one reviewed slide has no variance
estimate). :func:`merge_strata` coarsens the fields until the lot makes at most
:func:`strata_cap` strata, ``n // 2`` for a plan of ``n`` slides (at least 50, at most 500), or
``dqm sample --max-strata`` (0: never merged):

* the lesion class (:data:`CLASS_FIELD`) is never coarsened, so every class keeps its strata and
  their floors and is reviewed; when it alone makes more strata than the cap, the other fields go
  to their least and the strata stay over the cap (the record lists it in ``kept``);

* the slides are counted once per distinct stratum key (:class:`collections.Counter`), and every
  later step works on those counts: ``O(rows + distinct · log distinct)``;
* the other field with the most values in the current strata is coarsened to half its values (fewer
  values removed when, the other fields as they are, that makes about the cap), and
  the strata counted again over the merged keys; then the next, until the lot makes at most the cap;
* a **numeric** field (most of its non-missing slides a finite number) becomes bins of adjacent
  values holding about equal numbers of slides, a value never split; a bin is labelled
  ``first … last`` by the texts of its smallest and largest members *as the batch wrote them*
  (so an identifier in them is masked where any batch text is), a bin of one text by that text;
  its values that are not numbers go to :data:`OTHER`. A **categorical** field keeps its most
  frequent values (ties by value) and puts the rest into :data:`OTHER`;
* ``(missing)`` is a stratum of its own and never merged (a field with it cannot go below two
  values; when every field is at its least and the lot still makes more than the cap, the merge
  stops there, and the record says so by ``strata_after``);
* a synthetic label (:data:`OTHER`, a bin's range) that equals a value of the field as written is
  put in parentheses again until it does not, so a merged stratum never takes a real value's name;
* every choice depends on the counts only (ties by value), so the same lot gives the same strata
  and, with the same seed, the same sample.

The merged labels are the strata :func:`dqm.semantic.sampling.draw_sample` draws from: the weights
are ``N_c / n_c`` of each merged cell and sum to its size.
"""

from __future__ import annotations

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

    It bounds the floors, not the slides a stratum gets: the core falls where the slides are, mostly
    in the large ``(other)`` strata, and most merged cells still hold one reviewed slide (a lot of
    34,376 by age and institution: 131 of 150 cells, docs/semantic.md §2)."""
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
    """A numeric field's numbers as runs of adjacent values, each run one merged value (numpy arrays
    over the runs, in order of their numbers)."""

    first: list[str]
    last: list[str]
    """The texts as written of each run's smallest and largest members (by number, then text)."""
    texts: np.ndarray
    slides: np.ndarray
    values: list[str]
    """The field's current values that are numbers or runs of them, and ``run_of`` the run each is in."""
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

    def join(self, k: int, taken: set[str]) -> dict[str, str]:
        """Join adjacent runs into at most ``k`` of about equal numbers of slides (a run goes to the
        bin of its midpoint); returns each current value's merged value."""
        total = int(self.slides.sum())
        before = np.cumsum(self.slides) - self.slides
        bins = np.minimum(k - 1, (k * (2 * before + self.slides)) // (2 * total))
        new = np.r_[True, bins[1:] != bins[:-1]]
        starts = np.flatnonzero(new)
        ends = np.r_[starts[1:], len(bins)]
        self.first = [self.first[j] for j in starts.tolist()]
        self.last = [self.last[j - 1] for j in ends.tolist()]
        self.texts = np.add.reduceat(self.texts, starts)
        self.slides = np.add.reduceat(self.slides, starts)
        labels = [
            _range(f, t, n, taken) for f, t, n in zip(self.first, self.last, self.texts.tolist(), strict=True)
        ]
        group = (np.cumsum(new) - 1)[self.run_of]
        step = dict(zip(self.values, np.array(labels, dtype=object)[group].tolist(), strict=True))
        self.values, self.run_of = labels, np.arange(len(labels))
        return step


@dataclass(slots=True)
class _Field:
    """One stratification field as it is coarsened: its current values with their slide counts.

    Coarsening merges current values only (a numeric field joins adjacent runs, a categorical one
    moves values into :data:`OTHER`), so the strata can be counted again over the merged keys.
    """

    counts: dict[str, int]
    """Current value → slides."""
    runs: _Runs | None
    """A numeric field's numbers; None for a categorical field."""
    others: list[str]
    """A numeric field's values that are not numbers, until merged into ``other``."""
    taken: set[str]
    """The field's values as written."""
    other: str
    """This field's :data:`OTHER` (fresh against ``taken``)."""
    reserved: int
    """Values the field keeps whatever the cap: ``(missing)``, and a numeric field's non-numbers."""

    @classmethod
    def of(cls, counts: Counter[str]) -> _Field:
        taken = set(counts)
        missing = int(MISSING in counts)
        numbers = {v: x for v in counts if v != MISSING and (x := _number(v)) is not None}
        if 2 * sum(counts[v] for v in numbers) <= sum(counts.values()) - counts.get(MISSING, 0):
            return cls(dict(counts), None, [], taken, _fresh(OTHER, taken), missing)
        others = [v for v in counts if v != MISSING and v not in numbers]
        runs = _Runs.of(counts, numbers)
        return cls(dict(counts), runs, others, taken, _fresh(OTHER, taken), missing + bool(others))

    def coarsen(self, k: int) -> dict[str, str]:
        """Merge the field to at most ``k`` values besides the reserved ones; returns each current
        value's merged value."""
        if self.runs is None:
            ranked = sorted(
                (v for v in self.counts if v not in (MISSING, self.other)), key=lambda v: (-self.counts[v], v)
            )
            keep = len(ranked) if len(ranked) <= k and self.other not in self.counts else max(k - 1, 0)
            step = {v: v for v in self.counts} | dict.fromkeys(ranked[keep:], self.other)
            counts: Counter[str] = Counter()
            for v, c in self.counts.items():
                counts[step[v]] += c
            self.counts = dict(counts)
            return step
        missing = self.counts.get(MISSING, 0)
        step = {v: v for v in (MISSING, self.other) if v in self.counts} | dict.fromkeys(
            self.others, self.other
        )
        other = sum(self.counts[v] for v in step if v != MISSING)
        self.others = []
        step |= self.runs.join(k, self.taken)
        self.counts = dict(zip(self.runs.values, self.runs.slides.tolist(), strict=True))
        if other:
            self.counts[self.other] = other
        if missing:
            self.counts[MISSING] = missing
        return step


def _composed(steps: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """Value as written → its last merged value, composed from the last step back: each step maps
    the values the one before it left, so the work is the steps' sizes, not rows × steps."""
    out: dict[str, str] = {}
    for step in reversed(steps):
        out = {old: out.get(new, new) for old, new in step.items()}
    return out


def merge_strata(
    keys: Mapping[str, tuple[str, ...]], fields: Sequence[str], cap: int, whole: Collection[str] = ()
) -> tuple[dict[str, tuple[str, ...]], StrataMerge | None]:
    """The slides' stratum keys merged to at most ``cap`` distinct keys where ``(missing)`` and the
    fields kept ``whole`` allow, and the record of the merge (see the module docstring).

    ``keys`` maps each slide id to its values of ``fields``; the fields of ``fields`` named in
    ``whole`` (the lesion class, :data:`CLASS_FIELD`) are never coarsened. Returns the keys
    unchanged and None when they make at most ``cap`` strata.
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
    steps: list[list[dict[str, str]]] = [[] for _ in fields]  # each field's coarsenings, in order
    current: Counter[tuple[str, ...]] = distinct
    while len(current) > cap:
        open_ = [i for i, f in enumerate(info) if len(f.counts) > f.reserved + 1 and fields[i] not in kept]
        if not open_:
            break  # every field at its least: (missing), a numeric field's others and the class stay apart
        i = max(open_, key=lambda j: (len(info[j].counts), -j))
        values = len(info[i].counts) - info[i].reserved
        # half its values, or fewer halved away when that makes about the cap (one in eight at least),
        # and never more than the cap: the strata are at least as many as any field's values
        k = max(values // 2, cap * values // len(current))
        k = max(1, min(values - max(1, values // 8), k, cap - info[i].reserved))
        step = info[i].coarsen(k)
        steps[i].append(step)
        merged: Counter[tuple[str, ...]] = Counter()
        for key, count in current.items():
            merged[(*key[:i], step[key[i]], *key[i + 1 :])] += count
        current = merged
    if not any(steps):
        return dict(keys), None
    maps = [_composed(field_steps) for field_steps in steps]
    merged_of = {key: tuple(m.get(v, v) for m, v in zip(maps, key, strict=True)) for key in distinct}
    record = StrataMerge(
        cap=cap,
        strata_before=len(distinct),
        strata_after=len(current),
        kept=kept,
        fields=[
            MergedField(
                field=fields[i],
                kind="top" if info[i].runs is None else "bins",
                values_before=len(columns[i]),
                values_after=len(info[i].counts),
            )
            for i in range(len(fields))
            if steps[i]
        ],
    )
    return {s: merged_of[key] for s, key in keys.items()}, record
