"""Dice per slide (MONAI ``DiceMetric``), per class over slides, bootstrap intervals over slides.

Conventions (also in ``docs/validity.md``):

* Per slide and class: MONAI ``DiceMetric(include_background=False, ignore_empty=True,
  reduction="none", num_classes=K + 1)`` on the predicted and annotated label maps (label 0 is
  background). An empty annotation for a class gives NaN: the slide does not count for that
  class, even if the model predicted it there. With ``ignore_empty=False`` MONAI would score such
  a slide 1 (nothing predicted) or 0 (anything predicted); :func:`slide_dice` takes the flag so
  the tests can show the difference.
* Per class: the mean of the slide Dice over the slides whose annotation holds the class.
* Interval: percentile bootstrap over slides, resampling each class's slides (a stratified
  bootstrap); the mean-Dice interval averages the classes' resampled means.
* Lesion Dice of a slide (the label-quality signal): all lesion classes together,
  ``2 sum_c |P_c & A_c| / sum_c (|P_c| + |A_c|)``; None when both are empty.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from dqm.validity.models import ClassDice, InstitutionDice, SlideScore


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


def _bootstrap_means(values: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    idx = rng.integers(0, len(values), size=(n_boot, len(values)))
    return values[idx].mean(axis=1)


def summarise_classes(
    scores: Sequence[SlideScore],
    classes: Sequence[str],
    targets: dict[str, float],
    n_boot: int,
    confidence: float,
    seed: int,
    gate_on: str = "dice",
) -> tuple[dict[str, ClassDice], float | None, float | None, float | None]:
    """Per-class Dice with intervals, and the mean Dice over classes with its interval.

    A class passes when it has held-out slides and its Dice (or interval low end, ``gate_on``)
    reaches its target. With ``n_boot = 0`` or a single slide there is no interval.
    """
    rng = np.random.default_rng(seed)
    alpha = (1 - confidence) / 2
    out: dict[str, ClassDice] = {}
    reps: list[np.ndarray] = []
    means: list[float] = []
    resampled = False
    for cls in classes:
        vals = np.array([s.dice[cls] for s in scores if cls in s.dice], dtype=float)
        target = targets[cls]
        if len(vals) == 0:
            out[cls] = ClassDice(name=cls, dice=None, n_slides=0, target=target, passed=False)
            continue
        dice = float(vals.mean())
        means.append(dice)
        lo = hi = None
        if n_boot > 0 and len(vals) >= 2:
            r = _bootstrap_means(vals, n_boot, rng)
            reps.append(r)
            resampled = True
            lo, hi = (float(v) for v in np.quantile(r, [alpha, 1 - alpha]))
        elif n_boot > 0:
            reps.append(np.full(n_boot, dice))
        gated = dice if gate_on == "dice" else lo
        out[cls] = ClassDice(
            name=cls,
            dice=dice,
            ci_low=lo,
            ci_high=hi,
            n_slides=len(vals),
            target=target,
            passed=gated is not None and gated >= target,
        )
    mean = float(np.mean(means)) if means else None
    mean_lo = mean_hi = None
    if resampled and len(reps) == len(means):
        m = np.mean(np.stack(reps), axis=0)
        mean_lo, mean_hi = (float(v) for v in np.quantile(m, [alpha, 1 - alpha]))
    return out, mean, mean_lo, mean_hi


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
