"""Held-out slides: by patient, stratified by class and institution, never leaking a group."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from dqm.validity.data import SlideRecord
from dqm.validity.split import make_folds

CLASSES = ("NS", "EC", "SK", "BD_SCC", "BCC", "MN", "MM")
INSTITUTIONS = ("A", "B", "C", "D")


def _cohort(n: int = 120, seed: int = 0, shared: float = 0.2) -> list[SlideRecord]:
    """``n`` slides; about ``shared`` of the patients have two slides."""
    rng = np.random.default_rng(seed)
    out: list[SlideRecord] = []
    patient = 0
    while len(out) < n:
        patient += 1
        cls = CLASSES[int(rng.integers(len(CLASSES)))]
        inst = INSTITUTIONS[int(rng.integers(len(INSTITUTIONS)))]
        for _ in range(2 if rng.random() < shared else 1):
            sid = f"S{len(out):04d}"
            out.append(SlideRecord(sid, Path(sid), 0.5, 100, 100, [], cls, inst, f"P{patient:04d}"))
    return out[:n]


def _no_group_straddles(records: list[SlideRecord], train: tuple[int, ...], test: tuple[int, ...]) -> None:
    assert set(train).isdisjoint(test)
    assert {records[i].group for i in train}.isdisjoint({records[i].group for i in test})


def test_holdout_by_patient_stratified_by_class() -> None:
    records = _cohort()
    (fold,) = make_folds(records, "holdout", seed=1, test_fraction=0.3)
    _no_group_straddles(records, fold.train, fold.test)
    assert sorted(fold.train + fold.test) == list(range(len(records)))
    for cls in CLASSES:
        in_test = sum(records[i].diagnosis == cls for i in fold.test)
        total = sum(r.diagnosis == cls for r in records)
        assert in_test >= 1 and in_test < total
        assert abs(in_test / total - 0.3) < 0.15
    assert 0.2 < len(fold.test) / len(records) < 0.4


def test_holdout_spreads_institutions() -> None:
    records = _cohort(400, seed=2)
    (fold,) = make_folds(records, "holdout", seed=3, test_fraction=0.25)
    test_inst = Counter(records[i].institution for i in fold.test)
    all_inst = Counter(r.institution for r in records)
    for inst in INSTITUTIONS:
        assert abs(test_inst[inst] / all_inst[inst] - 0.25) < 0.12


def test_same_seed_same_split_other_seed_other_split() -> None:
    records = _cohort()
    a = make_folds(records, "holdout", seed=5)
    assert a == make_folds(records, "holdout", seed=5)
    assert a != make_folds(records, "holdout", seed=6)


def test_kfold_scores_every_slide_exactly_once() -> None:
    records = _cohort()
    folds = make_folds(records, "kfold", seed=0, k=5)
    assert len(folds) == 5
    held = Counter(i for f in folds for i in f.test)
    assert set(held) == set(range(len(records))) and set(held.values()) == {1}
    for f in folds:
        _no_group_straddles(records, f.train, f.test)
        assert sorted(f.train + f.test) == list(range(len(records)))
        assert len({records[i].diagnosis for i in f.test}) == len(CLASSES)


def test_leave_one_institution_out() -> None:
    records = _cohort()
    folds = make_folds(records, "loio", seed=0)
    assert [f.held_out_institution for f in folds] == sorted(INSTITUTIONS)
    for f in folds:
        assert {records[i].institution for i in f.test} == {f.held_out_institution}
        assert f.held_out_institution not in {records[i].institution for i in f.train}
        _no_group_straddles(records, f.train, f.test)


def test_degenerate_inputs() -> None:
    assert make_folds([], "holdout", 0) == []
    lone = _cohort(30, seed=4, shared=0.0)
    lone = [r for r in lone if r.diagnosis != "MM"] + [
        SlideRecord("ONLY-MM", Path("x"), 0.5, 10, 10, [], "MM", "A", "PX")
    ]
    (fold,) = make_folds(lone, "holdout", 0)
    assert lone.index(lone[-1]) in fold.train  # a class with one patient cannot be scored
    one_inst = [SlideRecord(r.slide_id, r.path, 0.5, 10, 10, [], r.diagnosis, "A", r.patient) for r in lone]
    assert make_folds(one_inst, "loio", 0) == []
    few = _cohort(3, seed=1, shared=0.0)
    assert all(f.test and f.train for f in make_folds(few, "kfold", 0, k=5))
    with pytest.raises(ValueError, match="unknown split mode"):
        make_folds(few, "random", 0)


def test_slides_without_patient_are_their_own_group() -> None:
    records = _cohort(60, seed=3)
    records = [
        SlideRecord(r.slide_id, r.path, 0.5, 10, 10, [], r.diagnosis, r.institution, r.slide_id)
        for r in records
    ]
    (fold,) = make_folds(records, "holdout", 0)
    assert len({records[i].group for i in fold.test}) == len(fold.test)


def test_column_split_holds_out_the_named_values() -> None:
    """A published split (GlaS: train / testA / testB) read from a clinical column."""
    records = _cohort(40)
    values = ["train", "testA", "testB"]
    records = [
        SlideRecord(
            r.slide_id,
            r.path,
            r.mpp,
            r.width,
            r.height,
            [],
            r.diagnosis,
            r.institution,
            r.patient,
            values[i % 3],
        )
        for i, r in enumerate(records)
    ]
    (fold,) = make_folds(records, "column", seed=0, test_values=["testA", "testB"])
    assert {records[i].split_value for i in fold.train} == {"train"}
    assert {records[i].split_value for i in fold.test} == {"testA", "testB"}
    assert sorted(fold.train + fold.test) == list(range(len(records)))
    assert fold.name == "split testA + testB"
    # nothing held out, or nothing left to train on: no fold
    assert make_folds(records, "column", seed=0, test_values=["validation"]) == []
    assert make_folds(records, "column", seed=0, test_values=values) == []


def test_column_split_needs_its_test_values() -> None:
    from pydantic import ValidationError

    from dqm.validity.settings import SplitConfig

    with pytest.raises(ValidationError, match="test_values"):
        SplitConfig(mode="column")
    assert SplitConfig(mode="column", column="fold", test_values=["2"]).column == "fold"
