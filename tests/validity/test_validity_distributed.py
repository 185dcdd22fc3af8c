"""Training with several processes (DistributedDataParallel, gloo on CPU): what one process learns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dqm.profile import Profile
from dqm.validity.data import SlideReader, SlideRecord, index_slide
from dqm.validity.models import CurvePoint
from dqm.validity.run import evaluate_slides
from dqm.validity.settings import load_validity_profile
from dqm.validity.train import Reporter, load_checkpoint, reproducible, train_fold


class Recorder(Reporter):
    def __init__(self) -> None:
        self.points: list[CurvePoint] = []
        self.steps = 0

    def step(self, loss: float) -> None:
        self.steps += 1

    def epoch_end(self, point: CurvePoint) -> None:
        self.points.append(point)


@pytest.mark.slow
def test_two_gloo_processes_learn_what_one_process_learns(
    tmp_path: Path, clean_records: list[SlideRecord], profile: Profile
) -> None:
    fast = load_validity_profile(Path(__file__).with_name("fast.yaml"))
    classes = list(profile.class_ids)
    rng = np.random.default_rng(0)
    indices = [
        index_slide(r, SlideReader(r.path), fast.resolution_um, fast.index_factor, rng) for r in clean_records
    ]
    dice = {}
    outcomes = {}
    for processes in (1, 2):
        prof = fast.model_copy(update={"training": fast.training.model_copy(update={"processes": processes})})
        recorder = Recorder()
        with reproducible("cpu", 1):
            outcome = train_fold(
                profile=prof,
                fold_name="all",
                fold_seed=0,
                records=clean_records,
                indices=indices,
                train_ids=list(range(len(clean_records))),
                classes=classes,
                device="cpu",
                checkpoint=tmp_path / f"p{processes}.pt",
                resume=False,
                reporter=recorder,
            )
            scored = evaluate_slides(outcome.model, clean_records, "all", prof, classes, "cpu")
        dice[processes] = float(np.mean([s.lesion_dice or 0.0 for s in scored.scores]))
        outcomes[processes] = outcome
        # progress reaches the calling process, and the curve counts every process's tiles
        assert [p.epoch for p in recorder.points] == list(range(1, fast.training.epochs + 1))
        assert recorder.steps == fast.training.epochs * -(
            -fast.training.tiles_per_epoch // fast.training.batch_size
        )
        assert [p.tiles for p in outcome.curve] == [fast.training.tiles_per_epoch] * fast.training.epochs
        assert load_checkpoint(tmp_path / f"p{processes}.pt", 1 << 30)["complete"]
    print(f"lesion Dice: one process {dice[1]:.3f}, two processes {dice[2]:.3f}")
    assert dice[1] > 0.3 and dice[2] > 0.3, "both learnt the tissue"
    assert abs(dice[2] - dice[1]) < 0.15
    assert outcomes[2].tiles == outcomes[1].tiles and outcomes[2].epochs_run == fast.training.epochs
