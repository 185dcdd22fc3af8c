"""With several training processes, a non-finite loss reaches the user as ``TrainingDiverged``
whichever rank ends first: only rank 0 said it, and a rank that ended before it made torch end
rank 0 too, so the user saw torch's generic failure of a process instead."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dqm.profile import Profile
from dqm.validity import train
from dqm.validity.data import SlideReader, SlideRecord, index_slide
from dqm.validity.settings import load_validity_profile
from dqm.validity.train import Reporter, TrainingDiverged, reproducible, train_fold
from tests.helpers import within


class _SlowToSay:
    """Rank 0's queue, slow to take its divergence (a loaded machine): the other rank ends first."""

    def __init__(self, queue: Any) -> None:
        self._queue = queue

    def put(self, item: Any) -> None:
        if item[0] == "diverged":
            time.sleep(120)
        self._queue.put(item)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._queue, name)


def nan_rank(index: int, world: int, port: int, queue: Any, *rest: Any) -> None:
    """:func:`dqm.validity.train._rank_main` in a spawned process, with a loss of NaN."""
    import monai.losses

    from dqm.validity.train import _rank_main

    class NanLoss(monai.losses.DiceCELoss):
        def forward(self, *args: Any, **kwargs: Any) -> Any:
            return super().forward(*args, **kwargs) * float("nan")

    monai.losses.DiceCELoss = NanLoss
    _rank_main(index, world, port, _SlowToSay(queue) if index == 0 else queue, *rest)


@pytest.mark.slow
def test_a_divergence_is_reported_whichever_rank_ends_first(
    tmp_path: Path, clean_records: list[SlideRecord], profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = load_validity_profile(Path(__file__).with_name("fast.yaml"))
    prof = fast.model_copy(update={"training": fast.training.model_copy(update={"processes": 2})})
    rng = np.random.default_rng(0)
    indices = [
        index_slide(r, SlideReader(r.path), fast.resolution_um, fast.index_factor, rng) for r in clean_records
    ]
    monkeypatch.setattr(train, "_rank_main", nan_rank)
    with within(240), reproducible("cpu", 1), pytest.raises(TrainingDiverged, match="stopped in epoch 1"):
        train_fold(
            profile=prof,
            fold_name="all",
            fold_seed=0,
            records=clean_records,
            indices=indices,
            train_ids=list(range(len(clean_records))),
            classes=list(profile.class_ids),
            device="cpu",
            checkpoint=tmp_path / "p2.pt",
            resume=False,
            reporter=Reporter(),
        )
