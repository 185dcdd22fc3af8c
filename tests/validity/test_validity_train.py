"""Training: seeded and deterministic on CPU, checkpoints, Ctrl-C leaves a resumable checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dqm.validity.data import SlideReader, SlideRecord, index_slide
from dqm.validity.models import CurvePoint
from dqm.validity.settings import ValidityProfile
from dqm.validity.train import (
    CheckpointMismatch,
    Reporter,
    TrainingDiverged,
    load_checkpoint,
    reproducible,
    resolve_device,
    train_fold,
)

CLASSES = ["NS", "EC", "SK", "BD_SCC", "BCC", "MN", "MM"]
ANY_SIZE = 1 << 30
"""A size cap no checkpoint of these tests reaches."""


@pytest.fixture(scope="module")
def indices(clean_records: list[SlideRecord], tiny: ValidityProfile) -> list[Any]:
    rng = np.random.default_rng(0)
    return [
        index_slide(r, SlideReader(r.path), tiny.resolution_um, tiny.index_factor, rng) for r in clean_records
    ]


def _train(records, indices, profile, ckpt: Path, resume: bool = False, reporter: Reporter | None = None):
    with reproducible("cpu", profile.training.cpu_threads):
        return train_fold(
            profile=profile,
            fold_name="holdout",
            fold_seed=3,
            records=records,
            indices=indices,
            train_ids=list(range(len(records))),
            classes=CLASSES,
            device="cpu",
            checkpoint=ckpt,
            resume=resume,
            reporter=reporter or Reporter(),
        )


def _weights(model: Any) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def _same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


class StopAfter(Reporter):
    """Simulates Ctrl-C once ``epochs`` epochs have finished."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs

    def epoch_end(self, point: CurvePoint) -> None:
        if point.epoch == self.epochs:
            raise KeyboardInterrupt


def test_same_seed_same_model_and_resume_replays_exactly(
    tmp_path: Path, clean_records: list[SlideRecord], indices: list[Any], tiny: ValidityProfile
) -> None:
    prof = tiny.model_copy(update={"training": tiny.training.model_copy(update={"epochs": 3})})
    a = _train(clean_records, indices, prof, tmp_path / "a.pt")
    b = _train(clean_records, indices, prof, tmp_path / "b.pt")
    assert [p.loss for p in a.curve] == [p.loss for p in b.curve]
    assert _same(_weights(a.model), _weights(b.model))
    assert a.curve[-1].loss < a.curve[0].loss

    with pytest.raises(KeyboardInterrupt):
        _train(clean_records, indices, prof, tmp_path / "c.pt", reporter=StopAfter(2))
    state = load_checkpoint(tmp_path / "c.pt", ANY_SIZE)
    assert state["epoch"] == 2 and not state["complete"]
    c = _train(clean_records, indices, prof, tmp_path / "c.pt", resume=True)
    assert c.epochs_run == 1
    assert [p.loss for p in c.curve] == [p.loss for p in a.curve]
    assert _same(_weights(c.model), _weights(a.model))
    assert load_checkpoint(tmp_path / "c.pt", ANY_SIZE)["complete"]

    # a finished checkpoint is reloaded, not retrained
    d = _train(clean_records, indices, prof, tmp_path / "c.pt", resume=True)
    assert d.epochs_run == 0 and _same(_weights(d.model), _weights(a.model))


def test_interrupt_in_the_first_epoch_still_leaves_a_checkpoint(
    tmp_path: Path, clean_records: list[SlideRecord], indices: list[Any], tiny: ValidityProfile
) -> None:
    class StopNow(Reporter):
        def step(self, loss: float) -> None:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _train(clean_records, indices, tiny, tmp_path / "x.pt", reporter=StopNow())
    assert load_checkpoint(tmp_path / "x.pt", ANY_SIZE)["epoch"] == 0


def test_a_loss_that_is_not_a_finite_number_stops_the_training(
    tmp_path: Path,
    clean_records: list[SlideRecord],
    indices: list[Any],
    tiny: ValidityProfile,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A NaN loss (a learning rate too high, a tile of NaN) trained on silently: every later step
    learnt from broken weights and the fold's Dice was decided on them. The first one stops the
    run, naming the fold and the epoch."""
    import monai.losses

    class NanLoss(monai.losses.DiceCELoss):
        def forward(self, *args: Any, **kwargs: Any) -> Any:
            return super().forward(*args, **kwargs) * float("nan")

    class Steps(Reporter):
        def __init__(self) -> None:
            self.losses: list[float] = []

        def step(self, loss: float) -> None:
            self.losses.append(loss)

    monkeypatch.setattr(monai.losses, "DiceCELoss", NanLoss)
    steps = Steps()
    with pytest.raises(TrainingDiverged, match=r"fold holdout stopped in epoch 1: its loss is nan"):
        _train(clean_records, indices, tiny, tmp_path / "x.pt", reporter=steps)
    assert steps.losses == []  # stopped at the first batch, before it is reported as progress


def test_resume_refuses_a_checkpoint_of_other_settings(
    tmp_path: Path, clean_records: list[SlideRecord], indices: list[Any], tiny: ValidityProfile
) -> None:
    _train(clean_records, indices, tiny, tmp_path / "m.pt")
    other = tiny.model_copy(update={"training": tiny.training.model_copy(update={"learning_rate": 0.02})})
    with pytest.raises(CheckpointMismatch, match="other settings"):
        _train(clean_records, indices, other, tmp_path / "m.pt", resume=True)
    # evaluation settings do not shape training: the checkpoint still fits
    relaxed = tiny.model_copy(update={"evaluation": tiny.evaluation.model_copy(update={"target": 0.5})})
    assert _train(clean_records, indices, relaxed, tmp_path / "m.pt", resume=True).epochs_run == 0
    # a checkpoint folder handed over: junk, an empty file or a broken archive raised torch's
    # UnpicklingError, EOFError or RuntimeError (dqm audit --resume: a crash, not a usage error)
    for junk in (b"not a checkpoint", b"", b"PK\x03\x04" + bytes(100)):
        (tmp_path / "junk.pt").write_bytes(junk)
        with pytest.raises(CheckpointMismatch, match="cannot be read"):
            load_checkpoint(tmp_path / "junk.pt", ANY_SIZE)
    # this run's key, a state that does not fit the network: refused, not a RuntimeError
    import torch

    state = load_checkpoint(tmp_path / "m.pt", ANY_SIZE)
    torch.save({**state, "model": {"weight": torch.zeros(2)}}, tmp_path / "m.pt")
    with pytest.raises(CheckpointMismatch, match="cannot be resumed"):
        _train(clean_records, indices, tiny, tmp_path / "m.pt", resume=True)


def test_device_resolution() -> None:
    import torch

    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            resolve_device("cuda")


@pytest.mark.parametrize("epoch", [-1, 99])
def test_resume_refuses_a_checkpoint_whose_epoch_is_out_of_range(
    tmp_path: Path, clean_records: list[SlideRecord], indices: list[Any], tiny: ValidityProfile, epoch: int
) -> None:
    # this run's key, an epoch no run of these settings writes: a negative one made numpy's seed
    # sequence raise ValueError mid-resume, one past the last "finished" the fold with no training
    import torch

    _train(clean_records, indices, tiny, tmp_path / "e.pt")
    state = load_checkpoint(tmp_path / "e.pt", ANY_SIZE)
    torch.save({**state, "epoch": epoch}, tmp_path / "e.pt")
    with pytest.raises(CheckpointMismatch, match="cannot be resumed"):
        _train(clean_records, indices, tiny, tmp_path / "e.pt", resume=True)


def test_a_pickle_that_runs_code_is_not_loaded(tmp_path: Path) -> None:
    import pickle

    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self) -> tuple[Any, ...]:
            return (Path.touch, (marker,))

    (tmp_path / "evil.pt").write_bytes(pickle.dumps({"format": "x", "model": Payload()}))
    with pytest.raises(CheckpointMismatch, match="cannot be read"):
        load_checkpoint(tmp_path / "evil.pt", ANY_SIZE)
    assert not marker.exists()


def test_a_checkpoint_larger_than_its_network_can_be_is_refused_before_it_is_read(
    tmp_path: Path,
    clean_records: list[SlideRecord],
    indices: list[Any],
    tiny: ValidityProfile,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--resume read the checkpoint in --out whole, whatever its size (torch.load of a file of
    several GB, all of it in memory before the state was found not to fit). Its size is bounded by
    what a checkpoint of the profile's network holds (weights, AdamW's moments, some slack): a
    larger one is refused, and torch never reads it."""
    import torch

    from dqm.validity import train

    _train(clean_records, indices, tiny, tmp_path / "m.pt")
    monkeypatch.setattr(train, "CHECKPOINT_SLACK", 0)  # the cap: the tensors alone, under this file's size

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("torch.load read a refused checkpoint")

    monkeypatch.setattr(torch, "load", never)
    with pytest.raises(CheckpointMismatch, match="more than a checkpoint of this network can"):
        _train(clean_records, indices, tiny, tmp_path / "m.pt", resume=True)


def test_a_truncated_compressed_or_special_checkpoint_is_refused_not_crashed_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """torch writes a zip of stored records: a compressed record (a zip bomb inflates to any size),
    a truncated archive or a FIFO are refused with a reason, before torch reads any of them."""
    import os
    import zipfile

    import torch

    from dqm.validity.train import CHECKPOINT_FORMAT, save_checkpoint

    save_checkpoint(tmp_path / "ok.pt", {"format": CHECKPOINT_FORMAT, "w": torch.zeros(1000)})
    assert load_checkpoint(tmp_path / "ok.pt", ANY_SIZE)["w"].shape == (1000,)
    whole = (tmp_path / "ok.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(whole[: len(whole) // 2])
    with zipfile.ZipFile(tmp_path / "bomb.pt", "w", zipfile.ZIP_DEFLATED) as bomb:
        bomb.writestr("archive/data/0", bytes(50 << 20))  # 50 MiB of zeros in about 50 KiB
    assert (tmp_path / "bomb.pt").stat().st_size < 1 << 20
    os.mkfifo(tmp_path / "fifo.pt")

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("torch.load read a refused checkpoint")

    monkeypatch.setattr(torch, "load", never)
    for name, why in [
        ("cut.pt", "cannot be read as a checkpoint"),
        ("bomb.pt", "holds compressed records"),
        ("fifo.pt", "is not a regular file"),
        ("ok.pt", "more than a checkpoint of this network can"),
    ]:
        with pytest.raises(CheckpointMismatch, match=why):
            load_checkpoint(tmp_path / name, 1 << 20 if name != "ok.pt" else 100)


def test_the_checkpoint_read_is_the_one_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The checkpoint was checked through one open and read by ``torch.load(path)``, a second open
    by name: a file put at that path in between (here a checkpoint of other weights, as a FIFO or a
    file past the cap could be) was read unchecked. It is read from the descriptor it was checked
    through."""
    import os
    import zipfile

    import torch

    from dqm.validity.train import CHECKPOINT_FORMAT, save_checkpoint

    path = tmp_path / "c.pt"
    save_checkpoint(path, {"format": CHECKPOINT_FORMAT, "w": torch.zeros(10)})
    save_checkpoint(tmp_path / "other.pt", {"format": CHECKPOINT_FORMAT, "w": torch.ones(10)})
    infolist = zipfile.ZipFile.infolist

    def swapped(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
        records = infolist(archive)
        os.replace(tmp_path / "other.pt", path)  # once checked, another file takes its name
        return records

    monkeypatch.setattr(zipfile.ZipFile, "infolist", swapped)
    assert load_checkpoint(path, ANY_SIZE)["w"].sum() == 0


@pytest.mark.parametrize("damage", ["moment_shape", "moment_nan", "weight_nan", "step_negative"])
def test_resume_refuses_a_checkpoint_whose_tensors_do_not_fit_its_network(
    tmp_path: Path, clean_records: list[SlideRecord], indices: list[Any], tiny: ValidityProfile, damage: str
) -> None:
    """A checkpoint of this run's key whose optimiser moments are of another shape (the moment of a
    weight, not the weight, is never checked by ``load_state_dict``: the first step crashed with a
    traceback), or whose weights or moments are NaN (trained on silently, a model of NaN scored),
    is refused as one that does not fit, before any training."""
    import torch

    _train(clean_records, indices, tiny, tmp_path / "t.pt")
    state = load_checkpoint(tmp_path / "t.pt", ANY_SIZE)
    moments = state["optimizer"]["state"]
    first = moments[min(moments)]
    if damage == "moment_shape":
        first["exp_avg"] = torch.zeros(3, 1, 2)
    elif damage == "moment_nan":
        first["exp_avg_sq"] = torch.full_like(first["exp_avg_sq"], float("nan"))
    elif damage == "weight_nan":
        name = next(k for k, v in state["model"].items() if v.is_floating_point())
        state["model"][name] = torch.full_like(state["model"][name], float("nan"))
    else:
        first["step"] = torch.tensor(-5.0)
    torch.save({**state, "complete": False}, tmp_path / "t.pt")  # its own epoch: only the damage refuses
    field = {"moment_shape": "exp_avg", "moment_nan": "exp_avg_sq", "weight_nan": "weights"}.get(
        damage, "step"
    )
    with pytest.raises(CheckpointMismatch, match=rf"cannot be resumed: .*\(ValueError: {field}\)"):
        _train(clean_records, indices, tiny, tmp_path / "t.pt", resume=True)


@pytest.fixture(scope="module")
def trained(
    tmp_path_factory: pytest.TempPathFactory,
    clean_records: list[SlideRecord],
    indices: list[Any],
    tiny: ValidityProfile,
) -> Path:
    path = tmp_path_factory.mktemp("trained") / "t.pt"
    _train(clean_records, indices, tiny, path)
    return path


@pytest.mark.parametrize(
    "damage",
    [
        "lr_nan",
        "lr_huge",
        "lr_text",
        "lr_off_schedule",
        "betas_nan",
        "eps",
        "weight_decay",
        "t_max_0",
        "base_nan",
    ],
)
def test_resume_refuses_a_checkpoint_whose_optimiser_settings_are_not_the_profiles(
    tmp_path: Path,
    trained: Path,
    clean_records: list[SlideRecord],
    indices: list[Any],
    tiny: ValidityProfile,
    damage: str,
) -> None:
    """A checkpoint of this run's key whose optimiser hyper-parameters or scheduler state are not the
    profile's (``load_state_dict`` takes them as they are) is refused before any training: a NaN or
    1e30 learning rate, NaN betas or base rates trained on silently to a model of NaN; a text rate
    or ``T_max`` 0 crashed at the first step with a traceback."""
    import torch

    field = {
        "lr_nan": "initial_lr",  # the base rate (initial_lr) is the first field compared
        "lr_huge": "initial_lr",
        "lr_text": "lr",
        "lr_off_schedule": "lr",
        "betas_nan": "betas",
        "eps": "eps",
        "weight_decay": "weight_decay",
        "t_max_0": "T_max",
        "base_nan": "base_lrs",
    }[damage]
    state = load_checkpoint(trained, ANY_SIZE)
    group = state["optimizer"]["param_groups"][0]
    schedule = state["scheduler"]
    if damage in ("lr_nan", "lr_huge"):
        rate = float("nan") if damage == "lr_nan" else 1e30
        group["lr"] = group["initial_lr"] = rate
        schedule["base_lrs"], schedule["_last_lr"] = [rate], [rate]
    elif damage == "lr_text":
        group["lr"] = "abc"
    elif damage == "lr_off_schedule":
        group["lr"] = schedule["_last_lr"][0] = group["initial_lr"] * 3
    elif damage == "betas_nan":
        group["betas"] = (float("nan"), float("nan"))
    elif damage == "eps":
        group["eps"] = 1e-2
    elif damage == "weight_decay":
        group["weight_decay"] = 5.0
    elif damage == "t_max_0":
        schedule["T_max"] = 0
    else:
        schedule["base_lrs"] = [float("nan")]
    torch.save({**state, "complete": False}, tmp_path / "t.pt")  # its own epoch: only the damage refuses
    with pytest.raises(CheckpointMismatch, match=rf"cannot be resumed: .*\(ValueError: {field}\)"):
        _train(clean_records, indices, tiny, tmp_path / "t.pt", resume=True)


@pytest.mark.parametrize(
    ("epoch", "points", "field"), [(0, 0, "last_epoch"), (1, 1, "last_epoch"), (1, 2, "curve")]
)
def test_resume_refuses_a_schedule_position_its_epoch_cannot_have_reached(
    tmp_path: Path,
    trained: Path,
    clean_records: list[SlideRecord],
    indices: list[Any],
    tiny: ValidityProfile,
    epoch: int,
    points: int,
    field: str,
) -> None:
    """A finished checkpoint relabelled as an earlier epoch (its schedule at the end, ``T_max``
    steps) was resumed: it retrained those epochs with the learning rate rising again and ended at
    the peak rate, with no word. The epoch's steps bound the position, and the curve has a point an
    epoch; the message names the field that did not fit."""
    import torch

    state = load_checkpoint(trained, ANY_SIZE)
    assert state["epoch"] == tiny.training.epochs == 2
    assert state["scheduler"]["last_epoch"] == state["scheduler"]["T_max"] > 1
    torch.save(
        {**state, "epoch": epoch, "complete": False, "curve": state["curve"][:points]}, tmp_path / "t.pt"
    )
    with pytest.raises(CheckpointMismatch, match=rf"cannot be resumed: .*\(ValueError: {field}\)"):
        _train(clean_records, indices, tiny, tmp_path / "t.pt", resume=True)


def test_resume_takes_its_own_checkpoint_whole(
    tmp_path: Path, trained: Path, clean_records: list[SlideRecord], indices: list[Any], tiny: ValidityProfile
) -> None:
    """The checks above refuse none of the checkpoints a run writes: a finished one resumes as done."""
    import shutil

    shutil.copy(trained, tmp_path / "t.pt")
    assert _train(clean_records, indices, tiny, tmp_path / "t.pt", resume=True).epochs_run == 0


def test_resume_names_a_field_from_the_file_escaped_on_one_line(
    tmp_path: Path, trained: Path, clean_records: list[SlideRecord], indices: list[Any], tiny: ValidityProfile
) -> None:
    """The field named comes from the file (a curve point's validation error quotes its value):
    escaped, on one line, clipped."""
    import torch

    state = load_checkpoint(trained, ANY_SIZE)
    junk = {"fold": "\x1b[2J\u202e" + "x" * 500, "epoch": "\nforged line"}
    torch.save({**state, "complete": False, "curve": [junk, junk]}, tmp_path / "t.pt")
    with pytest.raises(CheckpointMismatch, match=r"\(ValidationError: ") as caught:
        _train(clean_records, indices, tiny, tmp_path / "t.pt", resume=True)
    text = str(caught.value)
    assert "\n" not in text and "\x1b" not in text and "\u202e" not in text and "x" * 100 not in text
