"""Held-out slides: split by patient group, stratified by class and institution, never by tile.

A *group* is a patient (``patient_id``), or the slide itself when the record has none; all of a
group's slides are on the same side of every split. A group's stratum is its most frequent
diagnosis (ties: the first in sorted order) and its most frequent institution.

* ``holdout``: about ``test_fraction`` of each class's groups (at least one, never all) are
  held out once.
* ``kfold``: groups are dealt into ``k`` folds; each fold is held out once, so every slide is
  scored by exactly one model that never saw it (cross-fitting).
* ``loio``: each institution is held out in turn (leave one institution out).
* ``column``: the delivery's own split: slides whose split value is among ``test_values`` are
  held out, the others train. Groups are not enforced here (the split is the publisher's); the
  number of patients on both sides is reported with the fold.

Within a class, groups are ordered by institution, then by a seeded random key, and dealt to the
folds in turn from a seeded random start (held out at even spacing for ``holdout``): each fold
gets its share of every class and the institutions of a class are spread over the folds.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dqm.validity.data import SlideRecord


@dataclass(frozen=True, slots=True)
class Fold:
    """One model's data: slide indices it trains on and those it is scored on."""

    name: str
    train: tuple[int, ...]
    test: tuple[int, ...]
    held_out_institution: str | None = None


def _mode(values: Sequence[str | None]) -> str:
    counts = Counter(v or "?" for v in values)
    top = max(counts.values())
    return sorted(k for k, v in counts.items() if v == top)[0]


def groups_of(records: Sequence[SlideRecord]) -> dict[str, list[int]]:
    """Group key -> slide indices (in record order)."""
    out: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        out[r.group].append(i)
    return dict(out)


def deal_groups(records: Sequence[SlideRecord], k: int, seed: int) -> dict[str, int]:
    """Group key -> fold number in ``range(k)``, stratified by class then institution."""
    rng = np.random.default_rng(seed)
    groups = groups_of(records)
    by_class: dict[str, list[tuple[str, float, str]]] = defaultdict(list)
    keys = sorted(groups)
    random_key = dict(zip(keys, rng.random(len(keys)), strict=True))
    for g in keys:
        members = groups[g]
        cls = _mode([records[i].diagnosis for i in members])
        inst = _mode([records[i].institution for i in members])
        by_class[cls].append((inst, float(random_key[g]), g))
    fold_of: dict[str, int] = {}
    for cls in sorted(by_class):
        ordered = sorted(by_class[cls])
        start = int(rng.integers(k))
        for n, (_, _, g) in enumerate(ordered):
            fold_of[g] = (start + n) % k
    return fold_of


def holdout_groups(records: Sequence[SlideRecord], test_fraction: float, seed: int) -> set[str]:
    """Held-out group keys: per class, ``max(1, round(f * n))`` of its ``n`` groups (at most n - 1),
    evenly spaced through the class's groups ordered by institution then a seeded random key.

    A class with a single group cannot be both learnt and scored: it stays in training.
    """
    rng = np.random.default_rng(seed)
    groups = groups_of(records)
    keys = sorted(groups)
    random_key = dict(zip(keys, rng.random(len(keys)), strict=True))
    by_class: dict[str, list[tuple[str, float, str]]] = defaultdict(list)
    for g in keys:
        members = groups[g]
        cls = _mode([records[i].diagnosis for i in members])
        inst = _mode([records[i].institution for i in members])
        by_class[cls].append((inst, float(random_key[g]), g))
    out: set[str] = set()
    for cls in sorted(by_class):
        ordered = sorted(by_class[cls])
        n = len(ordered)
        if n < 2:
            continue
        n_test = min(n - 1, max(1, round(test_fraction * n)))
        start = float(rng.random()) * n / n_test
        picks = {int(start + j * n / n_test) % n for j in range(n_test)}
        out |= {ordered[p][2] for p in picks}
    return out


def make_folds(
    records: Sequence[SlideRecord],
    mode: str,
    seed: int,
    test_fraction: float = 0.3,
    k: int = 5,
    test_values: Sequence[str] = (),
) -> list[Fold]:
    """The folds of a validity run (see the module docstring).

    Degenerate input: with no records there are no folds; a class whose groups are too few to
    split keeps them all in training in ``holdout`` mode (it then has no held-out slide, which the
    result states); ``kfold`` with fewer groups than folds drops the empty folds;
    ``loio`` with a single institution yields no fold.
    """
    if not records:
        return []
    groups = groups_of(records)
    if mode == "loio":
        inst_of = {g: _mode([records[i].institution for i in m]) for g, m in groups.items()}
        folds = []
        for inst in sorted(set(inst_of.values())):
            held = sorted(i for g, m in groups.items() if inst_of[g] == inst for i in m)
            rest = sorted(i for g, m in groups.items() if inst_of[g] != inst for i in m)
            if rest and held:
                folds.append(Fold(f"institution {inst}", tuple(rest), tuple(held), inst))
        return folds
    if mode == "kfold":
        fold_of = deal_groups(records, k, seed)
        kfolds = [
            Fold(
                f"fold {f + 1}/{k}",
                tuple(sorted(i for g, m in groups.items() if fold_of[g] != f for i in m)),
                tuple(sorted(i for g, m in groups.items() if fold_of[g] == f for i in m)),
            )
            for f in range(k)
        ]
        return [f for f in kfolds if f.train and f.test]
    if mode == "column":
        held_values = set(test_values)
        train = tuple(i for i, r in enumerate(records) if r.split_value not in held_values)
        test = tuple(i for i, r in enumerate(records) if r.split_value in held_values)
        name = "split " + " + ".join(sorted(held_values))
        return [Fold(name, train, test)] if train and test else []
    if mode != "holdout":
        raise ValueError(f"unknown split mode {mode!r}")
    test_groups = holdout_groups(records, test_fraction, seed)
    train = tuple(sorted(i for g, m in groups.items() if g not in test_groups for i in m))
    test = tuple(sorted(i for g, m in groups.items() if g in test_groups for i in m))
    return [Fold("holdout", train, test)]
