"""Dice: MONAI's DiceMetric per class equals an independent numpy computation; the conventions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dqm.validity.metrics import (
    by_institution,
    confusion_counts,
    lesion_dice,
    pooled_dice,
    slide_dice,
    summarise_classes,
    summarise_pooled,
)
from dqm.validity.models import PixelCounts, SlideScore


def numpy_dice(pred: np.ndarray, truth: np.ndarray, n_labels: int) -> np.ndarray:
    """The reference: 2|P & T| / (|P| + |T|) per label >= 1; NaN where the annotation lacks it."""
    out = np.full(n_labels - 1, np.nan)
    for k in range(1, n_labels):
        p, t = pred == k, truth == k
        if t.any():
            out[k - 1] = 2.0 * np.logical_and(p, t).sum() / (p.sum() + t.sum())
    return out


LABEL_MAPS = st.integers(2, 9).flatmap(
    lambda n: st.tuples(
        st.just(n),
        arrays(np.uint8, (17, 23), elements=st.integers(0, n - 1)),
        arrays(np.uint8, (17, 23), elements=st.integers(0, n - 1)),
    )
)


@settings(max_examples=60, deadline=None)
@given(LABEL_MAPS)
def test_monai_dice_equals_numpy(case: tuple[int, np.ndarray, np.ndarray]) -> None:
    n, pred, truth = case
    np.testing.assert_allclose(
        slide_dice(pred, truth, n), numpy_dice(pred, truth, n), rtol=1e-6, equal_nan=True
    )


@settings(max_examples=40, deadline=None)
@given(LABEL_MAPS)
def test_pixel_counts_equal_monai_confusion_matrix(case: tuple[int, np.ndarray, np.ndarray]) -> None:
    import torch
    from monai.metrics import get_confusion_matrix
    from monai.networks.utils import one_hot

    n, pred, truth = case
    p = one_hot(torch.from_numpy(pred.astype(np.int64))[None, None], n)
    t = one_hot(torch.from_numpy(truth.astype(np.int64))[None, None], n)
    monai = get_confusion_matrix(p, t, include_background=False)[0].numpy()  # tp, fp, tn, fn
    got = confusion_counts(pred, truth, n)
    assert got.dtype == np.int64 and got.shape == (n - 1, 3)
    np.testing.assert_array_equal(got, monai[:, [0, 1, 3]].astype(np.int64))
    # on one slide, pooled Dice is MONAI's slide Dice wherever the class is annotated
    one = pooled_dice(got)
    mine = slide_dice(pred, truth, n)
    annotated = ~np.isnan(mine)
    np.testing.assert_allclose(one[annotated], mine[annotated], rtol=1e-6)


def test_pixel_counts_degenerate_input() -> None:
    empty = np.zeros((0, 5), np.uint8)
    assert confusion_counts(empty, empty, 3).tolist() == [[0, 0, 0], [0, 0, 0]]
    blank = np.zeros((4, 4), np.uint8)
    assert not confusion_counts(blank, blank, 4).any()
    assert np.isnan(pooled_dice(confusion_counts(blank, blank, 4))).all()  # nothing to agree on
    only_predicted = blank.copy()
    only_predicted[0, :2] = 2
    counts = confusion_counts(only_predicted, blank, 3)
    assert counts.tolist() == [[0, 0, 0], [0, 2, 0]]
    assert pooled_dice(counts)[1] == 0.0
    with pytest.raises(ValueError, match="differ in shape"):
        confusion_counts(blank, np.zeros((4, 5), np.uint8), 3)
    with pytest.raises(ValueError, match=r"outside 0\.\.2"):
        confusion_counts(blank + 3, blank, 3)


def test_pixel_counts_do_not_depend_on_the_chunk_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whole slides are counted in chunks (bounded memory): the sums are the same."""
    import dqm.validity.metrics as metrics

    rng = np.random.default_rng(1)
    pred = rng.integers(0, 4, size=(300, 301)).astype(np.uint8)
    truth = rng.integers(0, 4, size=(300, 301)).astype(np.uint8)
    whole = confusion_counts(pred, truth, 4)
    monkeypatch.setattr(metrics, "COUNT_CHUNK", 997)
    np.testing.assert_array_equal(confusion_counts(pred, truth, 4), whole)
    assert (whole[:, 0] + whole[:, 1]).tolist() == np.bincount(pred.ravel(), minlength=4)[1:].tolist()
    assert (whole[:, 0] + whole[:, 2]).tolist() == np.bincount(truth.ravel(), minlength=4)[1:].tolist()


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


def _counted(sid: str, pred: np.ndarray, truth: np.ndarray, classes: list[str]) -> SlideScore:
    """A slide's score as the run records it: MONAI slide Dice and the pixel counts."""
    n = len(classes) + 1
    dice = slide_dice(pred, truth, n)
    counts = confusion_counts(pred, truth, n)
    return SlideScore(
        slide_id=sid,
        fold="f",
        dice={c: float(d) for c, d in zip(classes, dice, strict=True) if not np.isnan(d)},
        pixels={
            c: PixelCounts(tp=int(t), fp=int(f), fn=int(m))
            for c, (t, f, m) in zip(classes, counts, strict=True)
            if t + f + m
        },
    )


def test_pooled_dice_counts_a_class_predicted_on_a_slide_without_it() -> None:
    """The planted false positive: slide a is annotated with A only, the prediction is perfect on
    it but adds a B lesion on its background; slide b is annotated with B, predicted perfectly.
    The per-slide mean cannot see the B pixels on a (NaN there); the pooled Dice of B drops."""
    classes = ["A", "B"]
    truth_a = np.zeros((40, 40), np.uint8)
    truth_a[5:15, 5:15] = 1
    pred_a = truth_a.copy()
    pred_a[25:35, 25:35] = 2  # class B on background of a slide without B
    truth_b = np.zeros((40, 40), np.uint8)
    truth_b[10:20, 10:20] = 2
    scores = [_counted("a", pred_a, truth_a, classes), _counted("b", truth_b, truth_b, classes)]
    assert scores[0].dice == {"A": 1.0}  # MONAI: B is NaN on slide a
    targets = {"A": 0.8, "B": 0.8}
    per, *_ = summarise_classes(scores, classes, targets, 0, 0.95, 0)
    assert per["B"].dice == 1.0 and per["B"].passed  # blind to the false positive
    pooled, mean, _, _ = summarise_pooled(scores, classes, targets, 0, 0.95, 0)
    b = pooled["B"]
    assert b.pixels == PixelCounts(tp=100, fp=100, fn=0) and b.fp_unannotated == 100
    assert b.dice == pytest.approx(2 * 100 / (2 * 100 + 100)) and not b.passed
    assert b.n_slides == 2 and b.n_annotated == 1 and b.name == "B pooled"
    assert pooled["A"].dice == 1.0 and pooled["A"].passed and pooled["A"].fp_unannotated == 0
    assert mean == pytest.approx((1.0 + 2 / 3) / 2)


def _pooled_score(sid: str, **counts: tuple[int, int, int]) -> SlideScore:
    return SlideScore(
        slide_id=sid, fold="f", pixels={c: PixelCounts(tp=t, fp=f, fn=m) for c, (t, f, m) in counts.items()}
    )


def test_pooled_summary_interval_and_decision() -> None:
    scores = [
        _pooled_score("s1", MN=(90, 10, 5)),
        _pooled_score("s2", MN=(80, 5, 20)),
        _pooled_score("s3", MN=(95, 2, 3), MM=(0, 30, 0)),
        _pooled_score("s4", MM=(50, 5, 5)),
        _pooled_score("s5", EC=(0, 7, 0)),
    ]
    classes = ["MN", "MM", "EC", "BCC"]
    targets = dict.fromkeys(classes, 0.8)
    pooled, mean, lo, hi = summarise_pooled(scores, classes, targets, 2000, 0.95, seed=0)
    mn = pooled["MN"]
    assert mn.dice == pytest.approx(2 * 265 / (2 * 265 + 17 + 28)) and mn.passed
    assert mn.ci_low is not None and mn.ci_high is not None and mn.ci_low < mn.dice < mn.ci_high
    assert mn.n_annotated == 3 and mn.n_slides == 5
    mm = pooled["MM"]  # one annotated slide: no interval; the 30 px on s3 count
    assert mm.dice == pytest.approx(100 / 140) and mm.ci_low is None and not mm.passed
    assert mm.fp_unannotated == 30
    ec = pooled["EC"]  # only predicted, never annotated: Dice 0, fails
    assert ec.dice == 0.0 and ec.n_annotated == 0 and not ec.passed
    assert pooled["BCC"].dice is None and not pooled["BCC"].passed  # neither, anywhere
    assert mean == pytest.approx(np.mean([mn.dice, mm.dice, 0.0]))
    assert lo is not None and hi is not None and lo < mean < hi
    again = summarise_pooled(scores, classes, targets, 2000, 0.95, seed=0)
    assert again[0] == pooled  # seeded bootstrap
    by_low, *_ = summarise_pooled(
        scores, classes, {**targets, "MN": mn.ci_low + 1e-9}, 2000, 0.95, 0, "ci_low"
    )
    assert not by_low["MN"].passed and by_low["MN"].dice is not None  # the low end decides
    none, *_ = summarise_pooled(scores, classes, targets, 0, 0.95, 0)
    assert none["MN"].ci_low is None and none["MN"].passed
    ungated, *_ = summarise_pooled(scores, classes, targets, 0, 0.95, 0, gated=False)
    assert not any(p.gated for p in ungated.values())


def test_bootstrap_resamples_patients_with_all_their_slides() -> None:
    """Slides of one patient move together: a patient's four near-identical slides are one draw,
    so the interval is wider than the slide bootstrap's, which takes them for 4 independent ones."""
    dice = {"P1": 0.95, "P2": 0.6, "P3": 0.9, "P4": 0.7}
    scores = [
        SlideScore(slide_id=f"{p}-{k}", fold="f", group=p, dice={"MN": v + 0.001 * k})
        for p, v in dice.items()
        for k in range(4)
    ]
    ungrouped = [s.model_copy(update={"group": None}) for s in scores]
    targets = {"MN": 0.8}
    by_patient, *_ = summarise_classes(scores, ["MN"], targets, 4000, 0.95, seed=0)
    by_slide, *_ = summarise_classes(ungrouped, ["MN"], targets, 4000, 0.95, seed=0)
    p, s = by_patient["MN"], by_slide["MN"]
    assert p.dice == s.dice  # the point estimate is the mean over slides either way
    assert p.ci_low is not None and p.ci_high is not None and s.ci_low is not None and s.ci_high is not None
    assert p.ci_high - p.ci_low > 1.5 * (s.ci_high - s.ci_low)
    # one patient: no interval, however many slides
    single = [sc.model_copy(update={"group": "P1"}) for sc in scores]
    assert summarise_classes(single, ["MN"], targets, 2000, 0.95, seed=0)[0]["MN"].ci_low is None


def test_bootstrap_with_one_slide_per_patient_is_the_slide_bootstrap() -> None:
    values = [0.9, 0.85, 0.95, 0.8, 0.88]
    grouped = [
        SlideScore(slide_id=f"s{i}", fold="f", group=f"P{i}", dice={"MN": v}) for i, v in enumerate(values)
    ]
    plain = [sc.model_copy(update={"group": None}) for sc in grouped]
    targets = {"MN": 0.8}
    assert summarise_classes(grouped, ["MN"], targets, 500, 0.95, 0) == summarise_classes(
        plain, ["MN"], targets, 500, 0.95, 0
    )
    counted = [
        sc.model_copy(update={"pixels": {"MN": PixelCounts(tp=90, fp=5, fn=i)}})
        for i, sc in enumerate(grouped)
    ]
    uncounted = [sc.model_copy(update={"group": None}) for sc in counted]
    assert summarise_pooled(counted, ["MN"], targets, 500, 0.95, 0) == summarise_pooled(
        uncounted, ["MN"], targets, 500, 0.95, 0
    )


def test_pooled_bootstrap_sums_a_patients_slides() -> None:
    """Pooled Dice over patients: a patient's slides' counts are drawn together; a patient whose
    only annotated slide is one of several still counts as annotated."""
    scores = [
        SlideScore(slide_id="a1", fold="f", group="A", pixels={"MN": PixelCounts(tp=90, fp=5, fn=5)}),
        SlideScore(slide_id="a2", fold="f", group="A", pixels={"MN": PixelCounts(tp=0, fp=40, fn=0)}),
        SlideScore(slide_id="b1", fold="f", group="B", pixels={"MN": PixelCounts(tp=50, fp=5, fn=30)}),
        SlideScore(slide_id="c1", fold="f", group="C", pixels={"MN": PixelCounts(tp=70, fp=0, fn=10)}),
    ]
    pooled, *_ = summarise_pooled(scores, ["MN"], {"MN": 0.8}, 2000, 0.95, seed=0)
    mn = pooled["MN"]
    assert mn.dice == pytest.approx(2 * 210 / (2 * 210 + 50 + 45))
    assert mn.n_annotated == 3  # slides
    assert mn.ci_low is not None and mn.ci_high is not None and mn.ci_low <= mn.dice <= mn.ci_high
    # every replicate draws three patients: its pooled Dice is one of the multiset sums' values
    from dqm.validity.metrics import group_counts

    units, annotated = group_counts(
        np.array([[90, 5, 5], [0, 40, 0], [50, 5, 30], [70, 0, 10]]),
        np.array(["A", "A", "B", "C"], dtype=object),
    )
    assert units.tolist() == [[90, 45, 5], [50, 5, 30], [70, 0, 10]] and annotated.tolist() == [True] * 3
