"""Dice per slide (MONAI ``DiceMetric``), per class over slides, bootstrap intervals over slides.

Conventions (also in ``docs/validity.md``):

* Per slide and class: MONAI ``DiceMetric(include_background=False, ignore_empty=True,
  reduction="none", num_classes=K + 1)`` on the predicted and annotated label maps (label 0 is
  background). An empty annotation for a class gives NaN: the slide does not count for that
  class, even if the model predicted it there. With ``ignore_empty=False`` MONAI would score such
  a slide 1 (nothing predicted) or 0 (anything predicted); :func:`slide_dice` takes the flag so
  the tests can show the difference.
* Per class: the mean of the slide Dice over the slides whose annotation holds the class.
* Interval: percentile bootstrap over patient groups (a cluster bootstrap: the slides of one patient
  are not independent, so a patient is drawn with all its slides; a slide without ``patient_id``
  is its own group), resampling each class's groups (a stratified bootstrap): a replicate is the
  mean over the drawn groups' slides. When every group is one slide this is the plain bootstrap
  over slides. The mean-Dice interval averages the classes' resampled means.
* Pooled class Dice: each slide's pixel counts of a class (predicted and annotated, predicted
  only, annotated only; :func:`confusion_counts`) are summed over the held-out slides and
  ``2 TP / (2 TP + FP + FN)`` taken once (:func:`pooled_dice`). Every held-out slide counts, so a
  class predicted on a slide whose annotation lacks it costs that class's Dice, which the
  per-slide mean above cannot see. Interval: percentile bootstrap over patient groups, for each
  class resampling the groups with a slide annotated with it and the other held-out groups
  separately (the split fixes how many of each are held out); a group brings all its slides' counts.
* Lesion Dice of a slide (the label-quality signal): all lesion classes together,
  ``2 sum_c |P_c & A_c| / sum_c (|P_c| + |A_c|)``; None when both are empty.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from functools import partial

import numpy as np

from dqm.tolerance import reaches
from dqm.validity.models import ClassDice, InstitutionDice, PixelCounts, PooledDice, SlideScore

COUNT_CHUNK = 1 << 22
"""Pixels counted at a time by :func:`confusion_counts` (bounds its memory on whole slides)."""


def slide_dice(pred: np.ndarray, truth: np.ndarray, n_labels: int, ignore_empty: bool = True) -> np.ndarray:
    """Dice of labels ``1 .. n_labels - 1`` between two ``(rows, cols)`` label maps (MONAI ``DiceMetric``).

    Returns a float64 array of ``n_labels - 1`` values; NaN where the annotation lacks the label
    and ``ignore_empty`` is True.
    """
    import torch
    from monai.metrics import DiceMetric

    if pred.shape != truth.shape:
        raise ValueError(f"prediction {pred.shape} and annotation {truth.shape} differ in shape")
    metric = DiceMetric(
        include_background=False, reduction="none", ignore_empty=ignore_empty, num_classes=n_labels
    )
    p = torch.from_numpy(np.ascontiguousarray(pred, dtype=np.int64))[None, None]
    t = torch.from_numpy(np.ascontiguousarray(truth, dtype=np.int64))[None, None]
    out = metric(p, t)
    assert isinstance(out, torch.Tensor)  # reduction="none", no not-nan counts: one tensor
    return out.reshape(-1).double().numpy()


def lesion_dice(pred: np.ndarray, truth: np.ndarray) -> float | None:
    """Dice over every lesion label together (label > 0 must match exactly); None when both are empty."""
    p, t = pred > 0, truth > 0
    total = int(p.sum()) + int(t.sum())
    if total == 0:
        return None
    agree = int(np.count_nonzero(p & (pred == truth)))
    return 2.0 * agree / total


def confusion_counts(pred: np.ndarray, truth: np.ndarray, n_labels: int) -> np.ndarray:
    """Pixel counts of labels ``1 .. n_labels - 1`` between two ``(rows, cols)`` label maps.

    Returns an int64 array of shape ``(n_labels - 1, 3)``: per label, the pixels predicted and
    annotated with it (TP), predicted only (FP) and annotated only (FN). Background (label 0) is
    not a class. Counted exactly in integers (MONAI's ``get_confusion_matrix`` counts in float32,
    which is inexact past 2**24 pixels, and one-hot encodes every label; a whole slide is larger).
    Empty maps give zeros.
    """
    if pred.shape != truth.shape:
        raise ValueError(f"prediction {pred.shape} and annotation {truth.shape} differ in shape")
    p, t = pred.reshape(-1), truth.reshape(-1)
    for name, arr in (("prediction", p), ("annotation", t)):
        if arr.size and (int(arr.min()) < 0 or int(arr.max()) >= n_labels):
            raise ValueError(f"{name} holds labels outside 0..{n_labels - 1}")
    matrix = np.zeros(n_labels * n_labels, dtype=np.int64)
    for a in range(0, p.size, COUNT_CHUNK):
        cells = t[a : a + COUNT_CHUNK].astype(np.int64) * n_labels + p[a : a + COUNT_CHUNK]
        matrix += np.bincount(cells, minlength=n_labels * n_labels)
    full = matrix.reshape(n_labels, n_labels)  # rows: annotated label, columns: predicted label
    tp = np.diagonal(full)[1:]
    return np.stack([tp, full.sum(axis=0)[1:] - tp, full.sum(axis=1)[1:] - tp], axis=1)


def pooled_dice(counts: np.ndarray) -> np.ndarray:
    """``2 TP / (2 TP + FP + FN)`` over the last axis of ``counts`` (``[..., 3]``: TP, FP, FN).

    NaN where a class has no predicted and no annotated pixel (nothing to agree on).
    """
    c = np.asarray(counts, dtype=np.float64)
    tp, fp, fn = c[..., 0], c[..., 1], c[..., 2]
    denom = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1), np.nan)


def _bootstrap_means(values: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    idx = rng.integers(0, len(values), size=(n_boot, len(values)))
    return values[idx].mean(axis=1)


def _cluster_means(
    values: np.ndarray, groups: np.ndarray, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """Means of ``n_boot`` resamples of the groups, each drawn with all its values (a ratio of sums);
    the plain bootstrap of the values when every group holds one value."""
    keys, inverse = np.unique(groups, return_inverse=True)
    if len(keys) == len(values):
        return _bootstrap_means(values, n_boot, rng)
    sums = np.bincount(inverse, weights=values)
    sizes = np.bincount(inverse).astype(np.float64)
    idx = rng.integers(0, len(keys), size=(n_boot, len(keys)))
    return sums[idx].sum(axis=1) / sizes[idx].sum(axis=1)


def _groups(scores: Sequence[SlideScore]) -> np.ndarray:
    """Each score's bootstrap unit: its group (patient), else its slide."""
    return np.array([s.group or s.slide_id for s in scores], dtype=object)


class ClassIntervals:
    """Collects each class's figure and bootstrap replicates: its interval, and the mean over
    classes with the interval of the classes' averaged replicates (seeded, one generator)."""

    def __init__(self, n_boot: int, confidence: float, seed: int) -> None:
        self.n_boot = n_boot
        self.alpha = (1 - confidence) / 2
        self.rng = np.random.default_rng(seed)
        self.values: list[float] = []
        self.replicates: list[np.ndarray] = []
        self.resampled = False

    def add(
        self, value: float, resample: Callable[[int, np.random.Generator], np.ndarray] | None
    ) -> tuple[float | None, float | None]:
        """Record one class's ``value``; ``resample(n_boot, rng)`` gives its replicates (None: too
        few slides, no interval; the value then stands in for its replicates in the mean's)."""
        self.values.append(value)
        if self.n_boot == 0:
            return None, None
        if resample is None:
            self.replicates.append(np.full(self.n_boot, value))
            return None, None
        r = resample(self.n_boot, self.rng)
        self.replicates.append(r)
        self.resampled = True
        return self._interval(r)

    def _interval(self, replicates: np.ndarray) -> tuple[float, float]:
        lo, hi = np.quantile(replicates, [self.alpha, 1 - self.alpha])
        return float(lo), float(hi)

    def mean(self) -> tuple[float | None, float | None, float | None]:
        """The mean over the recorded classes and its interval (None without resamples)."""
        mean = float(np.mean(self.values)) if self.values else None
        if self.resampled:
            return (mean, *self._interval(np.mean(np.stack(self.replicates), axis=0)))
        return mean, None, None


def summarise_classes(
    scores: Sequence[SlideScore],
    classes: Sequence[str],
    targets: dict[str, float],
    n_boot: int,
    confidence: float,
    seed: int,
    gate_on: str = "dice",
    gated: bool = True,
) -> tuple[dict[str, ClassDice], float | None, float | None, float | None]:
    """Per-class mean slide Dice with intervals, and the mean over classes with its interval.

    A class passes when it has held-out slides and its Dice (or interval low end, ``gate_on``)
    reaches its target; ``gated`` records whether the run's decision uses this figure. With
    ``n_boot = 0`` or a single group (patient) there is no interval.
    """
    acc = ClassIntervals(n_boot, confidence, seed)
    out: dict[str, ClassDice] = {}
    for cls in classes:
        having = [s for s in scores if cls in s.dice]
        vals = np.array([s.dice[cls] for s in having], dtype=float)
        groups = _groups(having)
        target = targets[cls]
        if len(vals) == 0:
            out[cls] = ClassDice(name=cls, dice=None, n_slides=0, target=target, passed=False, gated=gated)
            continue
        dice = float(vals.mean())
        enough = len(set(groups)) >= 2
        lo, hi = acc.add(dice, partial(_cluster_means, vals, groups) if enough else None)
        gated_value = dice if gate_on == "dice" else lo
        out[cls] = ClassDice(
            name=cls,
            dice=dice,
            ci_low=lo,
            ci_high=hi,
            n_slides=len(vals),
            target=target,
            passed=gated_value is not None and reaches(gated_value, target),
            gated=gated,
        )
    return (out, *acc.mean())


def slide_counts(scores: Sequence[SlideScore], classes: Sequence[str]) -> np.ndarray:
    """The ``(slides, classes, 3)`` int64 TP, FP, FN pixel counts recorded with each slide's score."""
    out = np.zeros((len(scores), len(classes), 3), dtype=np.int64)
    for i, s in enumerate(scores):
        for k, cls in enumerate(classes):
            px = s.pixels.get(cls)
            if px is not None:
                out[i, k] = (px.tp, px.fp, px.fn)
    return out


def group_counts(counts: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One class's ``(slides, 3)`` counts summed per group, and which groups have an annotated
    slide; unchanged (slide order) when every group holds one slide."""
    annotated = (counts[:, 0] + counts[:, 2]) > 0
    keys, inverse = np.unique(groups, return_inverse=True)
    if len(keys) == len(groups):
        return counts, annotated
    summed = np.zeros((len(keys), counts.shape[1]), dtype=counts.dtype)
    np.add.at(summed, inverse, counts)
    return summed, np.bincount(inverse, weights=annotated).astype(bool)


def _bootstrap_pooled(
    counts: np.ndarray, annotated: np.ndarray, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """Pooled Dice of ``n_boot`` resamples of one class's ``(units, 3)`` counts (a unit: a slide or
    a patient group), resampling the annotated units and the others each within their own stratum."""
    sums = np.zeros((n_boot, 3))
    for stratum in (annotated, ~annotated):
        rows = counts[stratum].astype(np.float64)
        if len(rows):
            weights = rng.multinomial(len(rows), np.full(len(rows), 1 / len(rows)), size=n_boot)
            sums += weights @ rows
    return pooled_dice(sums)


def summarise_pooled(
    scores: Sequence[SlideScore],
    classes: Sequence[str],
    targets: dict[str, float],
    n_boot: int,
    confidence: float,
    seed: int,
    gate_on: str = "dice",
    gated: bool = True,
) -> tuple[dict[str, PooledDice], float | None, float | None, float | None]:
    """Per-class Dice pooled over every held-out slide, with intervals, and their mean over classes.

    A class passes when some held-out slide is annotated with it and its pooled Dice (or interval
    low end, ``gate_on``) reaches its target. A class neither predicted nor annotated anywhere has
    no Dice; one only predicted has Dice 0. No interval with ``n_boot = 0`` or fewer than two
    groups with a slide annotated with the class.
    """
    counts = slide_counts(scores, classes)
    groups = _groups(scores)
    acc = ClassIntervals(n_boot, confidence, seed)
    out: dict[str, PooledDice] = {}
    for k, cls in enumerate(classes):
        c = counts[:, k, :]
        annotated = (c[:, 0] + c[:, 2]) > 0
        tp, fp, fn = (int(v) for v in c.sum(axis=0))
        value = pooled_dice(np.array([tp, fp, fn]))
        dice = None if np.isnan(value) else float(value)
        lo = hi = None
        if dice is not None:
            units, units_annotated = group_counts(c, groups)
            enough = int(units_annotated.sum()) >= 2
            resample = partial(_bootstrap_pooled, units, units_annotated) if enough else None
            lo, hi = acc.add(dice, resample)
        gated_value = dice if gate_on == "dice" else lo
        out[cls] = PooledDice(
            name=f"{cls} pooled",
            dice=dice,
            ci_low=lo,
            ci_high=hi,
            pixels=PixelCounts(tp=tp, fp=fp, fn=fn),
            fp_unannotated=int(c[~annotated, 1].sum()),
            n_slides=len(scores),
            n_annotated=int(annotated.sum()),
            target=targets[cls],
            passed=bool(annotated.any()) and gated_value is not None and reaches(gated_value, targets[cls]),
            gated=gated,
        )
    return (out, *acc.mean())


def by_institution(scores: Sequence[SlideScore], classes: Sequence[str]) -> list[InstitutionDice]:
    """Mean slide Dice per class within each institution's held-out slides."""
    groups: dict[str, list[SlideScore]] = defaultdict(list)
    for s in scores:
        groups[s.institution or "?"].append(s)
    out = []
    for inst in sorted(groups):
        rows = groups[inst]
        per: dict[str, float | None] = {}
        counts: dict[str, int] = {}
        for cls in classes:
            vals = [s.dice[cls] for s in rows if cls in s.dice]
            counts[cls] = len(vals)
            per[cls] = float(np.mean(vals)) if vals else None
        present = [v for v in per.values() if v is not None]
        out.append(
            InstitutionDice(
                institution=inst,
                n_slides=len(rows),
                dice_per_class=per,
                n_per_class=counts,
                mean_dice=float(np.mean(present)) if present else None,
            )
        )
    return out
