"""The validity stage's other modes and edges: cross-fitting, leave-one-institution-out, the other
networks, block-wise prediction, oversized slides, the progress bars."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from dqm.coords import Frame
from dqm.profile import Profile
from dqm.raster import rasterise
from dqm.runner import Run
from dqm.validity.data import SlideReader, SlideRecord
from dqm.validity.run import ValidityOptions, checkpoint_files, decide, score_slide, validity_stage
from dqm.validity.settings import BasicUNetConfig, SegResNetConfig, ValidityProfile


def _with(profile: ValidityProfile, **split: object) -> ValidityProfile:
    return profile.model_copy(update={"split": profile.split.model_copy(update=split)})


def test_kfold_scores_every_slide_once_with_a_basic_unet(
    clean_run: Run, tiny: ValidityProfile, tmp_path: Path
) -> None:
    prof = _with(tiny, mode="kfold", folds=3).model_copy(
        update={"network": BasicUNetConfig(features=(4, 4, 8, 8, 16, 4)), "tile": 32}
    )
    v = validity_stage(clean_run, None, ValidityOptions(prof, tmp_path))
    assert v.split.mode == "kfold" and len(v.split.folds) == 3
    assert v.n_scored == v.n_used == 14
    assert sorted(s.slide_id for s in v.per_slide) == sorted(t for f in v.split.folds for t in f.test)
    assert len(v.checkpoints) == 3 and all((tmp_path / c).is_file() for c in v.checkpoints)
    assert {p.fold for p in v.curve} == {f.name for f in v.split.folds}
    assert set(v.label_risk()) == {s.slide_id for s in v.per_slide}  # every slide, cross-fitted
    for f in v.split.folds:
        fold_scores = [s for s in v.per_slide if s.slide_id in f.test]
        assert all(s.fold == f.name for s in fold_scores)
    assert len([k for k in v.seeds if k.startswith("training ")]) == 3


def test_leave_one_institution_out_with_a_segresnet(
    clean_run: Run, tiny: ValidityProfile, tmp_path: Path
) -> None:
    prof = _with(tiny, mode="loio").model_copy(
        update={"network": SegResNetConfig(init_filters=8, blocks_down=(1, 1), blocks_up=(1,)), "tile": 32}
    )
    v = validity_stage(clean_run, None, ValidityOptions(prof, tmp_path))
    institutions = sorted({o.summary.institution for o in clean_run.outcomes})
    assert [f.held_out_institution for f in v.split.folds] == institutions
    assert [b.institution for b in v.by_institution] == institutions
    by_id = {o.summary.slide_id: o.summary.institution for o in clean_run.outcomes}
    for f in v.split.folds:
        assert {by_id[s] for s in f.test} == {f.held_out_institution}
        assert f.held_out_institution not in {by_id[s] for s in f.train}
    assert v.n_scored == 14


def test_oversized_slides_are_left_out_with_the_reason(
    clean_run: Run, tiny: ValidityProfile, tmp_path: Path
) -> None:
    v = validity_stage(
        clean_run, None, ValidityOptions(tiny.model_copy(update={"max_slide_pixels": 10}), tmp_path)
    )
    assert v.n_used == 0 and len(v.excluded) == 14 and not v.passed
    assert all(e.codes == ["SLIDE_TOO_LARGE"] and "max_slide_pixels" in e.reason for e in v.excluded)


def test_block_wise_prediction_stitches_exactly(clean_records: list[SlideRecord]) -> None:
    import torch

    from dqm.validity.infer import predict_slide

    torch.manual_seed(0)
    model = torch.nn.Conv2d(3, 8, 1)  # pointwise: windows and blocks cannot change its output
    rec = max(clean_records, key=lambda r: r.width * r.height)
    kw = {
        "resolution_um": 1.0,
        "tile": 32,
        "overlap": 0.25,
        "sw_batch_size": 4,
        "device": "cpu",
        "amp": False,
    }
    reader = SlideReader(rec.path)
    with torch.no_grad():
        whole = predict_slide(model, reader, rec, block=4096, **kw)
        blocks = predict_slide(model, reader, rec, block=64, **kw)
    reader.close()
    assert whole.shape == rec.size_at(1.0) and whole.shape[0] > 64 and whole.shape[1] > 64
    assert len(np.unique(whole)) > 1
    assert np.array_equal(whole, blocks)


def test_rich_progress_on_a_terminal(tmp_path: Path) -> None:
    from rich.console import Console

    from dqm.validity.models import CurvePoint
    from dqm.validity.progress import RichReporter

    console = Console(file=(tmp_path / "tty.txt").open("w"), force_terminal=True, width=120)
    with RichReporter(console) as rep:
        rep.stage("training holdout")
        rep.epoch_start("holdout", 1, 2, 3)
        for loss in (1.0, 0.8, 0.6):
            rep.step(loss)
        rep.epoch_end(
            CurvePoint(
                fold="holdout", epoch=1, loss=0.8, tile_dice=0.5, learning_rate=1e-3, seconds=1, tiles=9
            )
        )
        rep.epoch_start("holdout", 2, 2, 3)
        rep.step(0.5)
        rep.slide_done(1, 2)
        rep.slide_done(2, 2)
    console.file.close()
    text = (tmp_path / "tty.txt").read_text()
    assert "training holdout" in text and "epoch 2/2 loss 0.500" in text and "ETA" in text
    assert "predicting held-out slides" in text


def test_same_settings_same_result(clean_run: Run, tiny: ValidityProfile, tmp_path: Path) -> None:
    prof = tiny
    a = validity_stage(clean_run, None, ValidityOptions(prof, tmp_path / "a"))
    b = validity_stage(clean_run, None, ValidityOptions(prof, tmp_path / "b"))
    assert a.per_slide == b.per_slide and a.dice_per_class == b.dice_per_class
    assert [p.loss for p in a.curve] == [p.loss for p in b.curve]


def test_the_gate_sees_a_class_predicted_on_a_slide_annotated_without_it(
    clean_records: list[SlideRecord], profile: Profile, tiny: ValidityProfile
) -> None:
    """An oracle predicts every held-out slide's annotation exactly, but on one slide annotated
    with class A it also predicts class B over part of the lesion-free background. Every slide's
    Dice stays 1.0 (B is NaN on the A slide, as MONAI's ignore_empty rule makes it); the pooled
    Dice of B drops below the target and the gate fails, unless it looks at the slide mean only."""
    classes = list(profile.class_ids)
    res = tiny.resolution_um
    a = clean_records[0]
    b_label = next(
        label for r in clean_records[1:] for label, _ in r.lesions if label not in {la for la, _ in a.lesions}
    )
    b = classes[b_label - 1]
    truths = {
        r.slide_id: rasterise(r.lesions, Frame(downsample=r.downsample(res)), r.size_at(res))
        for r in clean_records
    }
    annotated_b = sum(int(np.count_nonzero(t == b_label)) for t in truths.values())
    scores = []
    for rec in clean_records:
        truth = truths[rec.slide_id]
        pred = truth.copy()
        if rec is a:  # a B lesion as large as all B annotations together, on a's background
            spot = np.argwhere(truth == 0)[:annotated_b]
            pred[spot[:, 0], spot[:, 1]] = b_label
            planted = len(spot)
        scores.append(score_slide(rec, "oracle", pred, truth, classes))
    by_id = {s.slide_id: s for s in scores}
    assert b not in by_id[a.slide_id].dice  # NaN on the A slide: the per-slide view cannot see it
    assert planted == annotated_b  # so B's pooled Dice is 2 TP / (2 TP + FP) = 2/3

    def with_gate(gate_dice: str) -> ValidityProfile:
        ev = tiny.evaluation.model_copy(update={"gate_dice": gate_dice})
        return tiny.model_copy(update={"evaluation": ev})

    both = decide(scores, classes, with_gate("both"))
    d = both.dice_per_class[b]
    assert d.dice == 1.0 and d.passed  # mean slide Dice: blind
    assert d.pooled is not None and d.pooled.dice == pytest.approx(2 / 3) and not d.pooled.passed
    assert d.pooled.fp_unannotated == planted and d.pooled.pixels.fp == planted
    assert all(
        c.pooled is not None and c.pooled.dice == 1.0
        for k, c in both.dice_per_class.items()
        if k != b and c.n_slides
    )
    assert not both.passed
    assert not decide(scores, classes, with_gate("pooled")).passed
    assert decide(scores, classes, with_gate("per_slide")).passed  # what the gate saw before
    print(
        f"planted {planted} px of {b} on {a.slide_id}: per-slide {b} Dice {d.dice:.3f}, "
        f"pooled {d.pooled.dice:.3f}, lesion Dice of the slide {by_id[a.slide_id].lesion_dice:.3f}"
    )


def test_progress_lines_in_korean(tmp_path: Path) -> None:
    """In a log (no terminal) the stages and each epoch are one line each, in the command's language."""
    from rich.console import Console

    from dqm.i18n import msg
    from dqm.validity.models import CurvePoint
    from dqm.validity.progress import RichReporter

    console = Console(file=(tmp_path / "log.txt").open("w"), force_terminal=False, width=200)
    with RichReporter(console, "ko") as rep:
        rep.stage(msg("training {fold}", fold="holdout"))
        rep.epoch_start("holdout", 1, 1, 1)
        rep.step(0.8)
        point = CurvePoint(
            fold="holdout", epoch=1, loss=0.8, tile_dice=None, learning_rate=1e-3, seconds=1, tiles=9
        )
        rep.epoch_end(point)
    console.file.close()
    text = (tmp_path / "log.txt").read_text()
    assert "holdout 학습 중" in text
    assert "holdout 에포크 1/1: 손실 0.8000, 타일 Dice 없음, 1.0초 (초당 타일 9.0개)" in text
    assert "training" not in text and "loss" not in text


def test_each_fold_has_its_own_checkpoint_whatever_its_institutions_are_called(
    clean_batch: Path, profile: Profile, tiny: ValidityProfile, tmp_path: Path
) -> None:
    # the file name kept only [A-Za-z0-9] of the fold's name, lower-cased: "institution 서울대병원"
    # and "institution 대구병원" were both institution.pt (every Korean-named institution; "Seoul-A"
    # and "seoul a" would be one file too): each fold overwrote the one before, the result listed
    # one checkpoint for several folds, and --resume refused the run as foreign
    import shutil

    from dqm.runner import RunOptions, run_batch
    from dqm.validity.train import load_checkpoint

    batch = tmp_path / "batch"
    shutil.copytree(clean_batch, batch)
    names = {"Seoul-A": "서울대병원", "Daegu-C": "대구병원", "Gwangju-D": "gwangju d"}
    for p in [batch / "manifest.csv", *(batch / "annotations").glob("*.json")]:
        text = p.read_text("utf-8")
        for old, new in names.items():
            text = text.replace(old, new)
        p.write_text(text, "utf-8")
    run = run_batch(batch, profile, RunOptions(workers=1))
    prof = _with(tiny, mode="loio").model_copy(
        update={"training": tiny.training.model_copy(update={"epochs": 1, "tiles_per_epoch": 8})}
    )
    v = validity_stage(run, None, ValidityOptions(prof, tmp_path / "out"))
    assert len(v.split.folds) >= 3
    assert len(set(v.checkpoints)) == len(v.checkpoints) == len(v.split.folds)
    for fold, c in zip(v.split.folds, v.checkpoints, strict=True):
        assert (tmp_path / "out" / c).is_file()
        assert load_checkpoint(tmp_path / "out" / c, 1 << 30)["complete"]
        assert [p.fold for p in v.curve].count(fold.name) == 1
    again = validity_stage(run, None, ValidityOptions(prof, tmp_path / "out", resume=True))
    assert again.training_tiles == 0  # every fold reloaded, none refused or retrained


def test_unique_fold_names_keep_their_checkpoint_names() -> None:
    # checkpoints of runs before the hashed names (holdout.pt, fold-1-5.pt) are still found by
    # --resume; only names that would collide, or have no letter or digit, carry a hash
    assert checkpoint_files(["holdout"]) == ["holdout.pt"]
    assert checkpoint_files([f"fold {k}/5" for k in (1, 2)]) == ["fold-1-5.pt", "fold-2-5.pt"]
    assert checkpoint_files(["institution Seoul-A", "institution Busan B"]) == [
        "institution-seoul-a.pt",
        "institution-busan-b.pt",
    ]
    clash = checkpoint_files(["a b", "a-b"])
    assert len(set(clash)) == 2 and all(re.fullmatch(r"a-b-[0-9a-f]{12}\.pt", f) for f in clash)
