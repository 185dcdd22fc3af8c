"""Dice: MONAI's DiceMetric per class equals an independent numpy computation; the conventions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dqm.validity.metrics import by_institution, lesion_dice, slide_dice, summarise_classes
from dqm.validity.models import SlideScore


def numpy_dice(pred: np.ndarray, truth: np.ndarray, n_labels: int) -> np.ndarray:
    """The reference: 2|P & T| / (|P| + |T|) per label >= 1; NaN where the annotation lacks it."""
    out = np.full(n_labels - 1, np.nan)
    for k in range(1, n_labels):
        p, t = pred == k, truth == k
        if t.any():
            out[k - 1] = 2.0 * np.logical_and(p, t).sum() / (p.sum() + t.sum())
    return out


@settings(max_examples=60, deadline=None)
@given(
    st.integers(2, 9).flatmap(
        lambda n: st.tuples(
            st.just(n),
            arrays(np.uint8, (17, 23), elements=st.integers(0, n - 1)),
            arrays(np.uint8, (17, 23), elements=st.integers(0, n - 1)),
        )
    )
)
def test_monai_dice_equals_numpy(case: tuple[int, np.ndarray, np.ndarray]) -> None:
    n, pred, truth = case
    np.testing.assert_allclose(
        slide_dice(pred, truth, n), numpy_dice(pred, truth, n), rtol=1e-6, equal_nan=True
    )


def test_monai_dice_equals_numpy_on_realistic_masks() -> None:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:300, 0:400]
    truth = np.zeros((300, 400), np.uint8)
    truth[(yy - 150) ** 2 + (xx - 120) ** 2 < 60**2] = 3
    truth[(yy - 100) ** 2 + (xx - 300) ** 2 < 40**2] = 5
    pred = np.roll(truth, (4, -3), axis=(0, 1))
    pred[rng.random(pred.shape) < 0.02] = 6
    got = slide_dice(pred, truth, 8)
    # MONAI divides in float32: equal to its precision
    np.testing.assert_allclose(got, numpy_dice(pred, truth, 8), rtol=1e-6, equal_nan=True)
    assert np.isnan(got[5])  # label 6 predicted but not annotated: NaN, not 0


def test_empty_ground_truth_rule() -> None:
    """MONAI ignore_empty=True (dqm's rule): empty annotation -> NaN whatever the prediction.
    ignore_empty=False: 1 when nothing is predicted either, 0 when something is."""
    empty = np.zeros((8, 8), np.uint8)
    some = empty.copy()
    some[2:4, 2:4] = 1
    assert np.isnan(slide_dice(empty, empty, 2)[0])
    assert np.isnan(slide_dice(some, empty, 2)[0])
    assert slide_dice(empty, empty, 2, ignore_empty=False)[0] == 1.0
    assert slide_dice(some, empty, 2, ignore_empty=False)[0] == 0.0
    assert slide_dice(empty, some, 2)[0] == 0.0  # annotated, nothing predicted: 0 under both rules


def test_background_is_never_scored() -> None:
    truth = np.zeros((6, 6), np.uint8)
    truth[:3] = 1
    pred = np.zeros_like(truth)  # background everywhere: background Dice would be high
    out = slide_dice(pred, truth, 3)
    assert out.shape == (2,)
    assert out[0] == 0.0 and np.isnan(out[1])


def test_shapes_must_agree() -> None:
    with pytest.raises(ValueError, match="differ in shape"):
        slide_dice(np.zeros((2, 2), np.uint8), np.zeros((2, 3), np.uint8), 2)


def test_lesion_dice() -> None:
    truth = np.zeros((10, 10), np.uint8)
    truth[2:6, 2:6] = 2
    assert lesion_dice(truth, truth) == 1.0
    swapped = np.where(truth > 0, 3, 0).astype(np.uint8)
    assert lesion_dice(swapped, truth) == 0.0  # right place, wrong class
    assert lesion_dice(np.zeros_like(truth), np.zeros_like(truth)) is None
    shifted = np.roll(truth, 2, axis=1)
    assert lesion_dice(shifted, truth) == pytest.approx(2 * 8 / 32)


def _score(sid: str, inst: str, **dice: float) -> SlideScore:
    return SlideScore(slide_id=sid, fold="f", institution=inst, dice=dice)


def test_class_summary_interval_and_decision() -> None:
    scores = [
        _score(f"s{i}", "A" if i % 2 else "B", MN=v) for i, v in enumerate([0.9, 0.85, 0.95, 0.8, 0.88])
    ]
    scores += [_score("m1", "A", MM=0.7), _score("m2", "B", MM=0.75)]
    scores += [_score("b1", "A", BCC=0.95)]
    targets = {"MN": 0.8, "MM": 0.8, "BCC": 0.8, "EC": 0.8}
    per, mean, lo, hi = summarise_classes(scores, ["MN", "MM", "BCC", "EC"], targets, 2000, 0.95, seed=0)
    mn = per["MN"]
    assert mn.dice == pytest.approx(0.876) and mn.n_slides == 5 and mn.passed
    assert mn.ci_low is not None and mn.ci_high is not None
    assert 0.8 <= mn.ci_low < mn.dice < mn.ci_high <= 0.95
    assert per["MM"].dice == pytest.approx(0.725) and not per["MM"].passed
    assert per["BCC"].n_slides == 1 and per["BCC"].ci_low is None and per["BCC"].passed
    assert per["EC"].dice is None and per["EC"].n_slides == 0 and not per["EC"].passed
    assert mean == pytest.approx(np.mean([0.876, 0.725, 0.95]))
    assert lo is not None and hi is not None and lo < mean < hi
    again = summarise_classes(scores, ["MN", "MM", "BCC", "EC"], targets, 2000, 0.95, seed=0)
    assert again[0] == per  # seeded bootstrap


def test_gate_on_the_interval_low_end() -> None:
    scores = [_score(f"s{i}", "A", MN=v) for i, v in enumerate([0.95, 0.7, 0.9, 0.82])]
    per, *_ = summarise_classes(scores, ["MN"], {"MN": 0.8}, 2000, 0.95, 0, gate_on="ci_low")
    assert per["MN"].dice is not None and per["MN"].dice > 0.8
    assert per["MN"].ci_low is not None and per["MN"].ci_low < 0.8
    assert not per["MN"].passed


def test_by_institution() -> None:
    scores = [_score("a", "A", MN=0.8), _score("b", "A", MN=0.6, MM=0.5), _score("c", "B", MM=0.9)]
    rows = {r.institution: r for r in by_institution(scores, ["MN", "MM"])}
    assert rows["A"].n_slides == 2 and rows["A"].dice_per_class["MN"] == pytest.approx(0.7)
    assert rows["A"].n_per_class == {"MN": 2, "MM": 1}
    assert rows["B"].dice_per_class["MN"] is None and rows["B"].mean_dice == pytest.approx(0.9)
