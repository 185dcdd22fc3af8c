"""Training one fold's model with MONAI: transforms, data loader, DiceCE loss, checkpoints, resume.

Reproducibility: epoch ``e`` of a fold draws its tiles from ``numpy.random.default_rng([seed, e])``
and seeds torch (hence MONAI's random transforms and loader workers) with ``seed * 1000 + e``
before the loader is built, so an epoch depends only on the state at its start. A checkpoint is
written (atomically) before the first epoch and after every epoch; resuming from it replays the
remaining epochs exactly as an uninterrupted run would, bit for bit on CPU, where torch's
deterministic algorithms are switched on (with the same number of CPU threads: the order of
floating-point sums inside a convolution depends on it). On CUDA, mixed precision (bfloat16) and cuDNN autotuning
are used and runs are seeded but not bit-reproducible.

Several processes (``training.processes``): dqm starts them itself (``torch.multiprocessing``,
spawn), joined by ``torch.distributed`` over a local TCP port (gloo on CPU, NCCL on CUDA with one
GPU each) and training one ``DistributedDataParallel`` model. Every process draws the same epoch
sample and trains on its share (every ``processes``-th tile) in batches of ``batch_size /
processes``; the averaged gradients make a step see ``batch_size`` tiles, as in one process. The
first process writes the checkpoints and reports progress through a queue; the epoch's loss, tile
Dice and unreadable tiles are summed over all processes. The calling process then loads the
trained weights from the final checkpoint. Seeded, not bit-identical to one process (other
batches, other reduction order).
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import queue as queue_module
import socket
import stat
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from dqm.findings import clip
from dqm.i18n import msg
from dqm.output import visible
from dqm.validity.data import SlideIndex, SlideRecord, TileReader, decoded_cache_share, epoch_samples
from dqm.validity.model import build_network
from dqm.validity.models import CurvePoint
from dqm.validity.settings import ValidityProfile

CHECKPOINT_FORMAT = "dqm-validity-checkpoint/1"
CHECKPOINT_SLACK = 64 << 20
"""Bytes a checkpoint may hold besides its network's and optimiser's tensors (:func:`checkpoint_limit`):
the scheduler, a curve of up to 10,000 epochs and the archive's records take well under 10 MiB."""


class Reporter:
    """Progress callbacks of a validity run; the default does nothing (the CLI draws rich bars)."""

    def stage(self, text: str) -> None:
        """A new stage begins (reading slides, a fold, prediction)."""

    def warn(self, text: str) -> None:
        """Something the user should change in the run's settings (said once a run)."""

    def epoch_start(self, fold: str, epoch: int, epochs: int, steps: int) -> None:
        """An epoch of ``steps`` batches begins (``epoch`` counts from 1)."""

    def step(self, loss: float) -> None:
        """One batch was trained; ``loss`` is its loss."""

    def epoch_end(self, point: CurvePoint) -> None:
        """An epoch ended."""

    def slide_done(self, done: int, total: int) -> None:
        """Prediction of one held-out slide finished."""


class CheckpointMismatch(ValueError):
    """A checkpoint exists for this fold but was made with other settings or data."""


class TrainingDiverged(ValueError):
    """A fold's training loss was not a finite number (NaN, infinite): the weights it would go on
    from are broken, and every later epoch and the validity decision would rest on them."""

    where: tuple[str, int, float] = ("", 0, 0.0)
    """The fold, the epoch (from 1) and the loss."""


def _diverged(fold: str, epoch: int, loss: float) -> TrainingDiverged:
    exc = TrainingDiverged(
        msg(
            "training of fold {fold} stopped in epoch {epoch}: its loss is {loss}, not a finite number "
            "(a learning rate too high, or tiles or labels holding values the network cannot learn "
            "from); the checkpoints of the epochs before are kept",
            fold=fold,
            epoch=epoch,
            loss=str(loss),
        )
    )
    exc.where = (fold, epoch, loss)
    return exc


@dataclass(slots=True)
class TrainOutcome:
    model: Any
    curve: list[CurvePoint]
    seconds: float = 0.0
    """Training time spent in this process (resumed epochs not counted again)."""
    tiles: int = 0
    epochs_run: int = 0
    epoch_seconds: list[float] = field(default_factory=list)
    unreadable_tiles: dict[str, int] = field(default_factory=dict)
    """Training tiles that could not be read, per slide (replaced by blank tiles; see TileReader),
    counted from the flags the samples carry, so loader workers' failures count too."""


def resolve_device(requested: str) -> str:
    """``auto`` -> ``cuda`` when available, else ``cpu``; ``cuda`` without a GPU is an error."""
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise ValueError(msg("--device cuda asked for, but torch sees no CUDA device"))
    return requested


def cpu_threads(requested: int) -> int:
    """The torch thread count for ``requested`` (0: one per core this process may use)."""
    if requested > 0:
        return requested
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@contextlib.contextmanager
def reproducible(device: str, threads: int = 0) -> Iterator[None]:
    """Deterministic torch algorithms and a fixed thread count on CPU, cuDNN autotuning on CUDA,
    and no MONAI metadata on tensors; the previous settings are restored on exit."""
    import torch
    from monai.data import get_track_meta, set_track_meta

    prev_det = torch.are_deterministic_algorithms_enabled()
    prev_bench = torch.backends.cudnn.benchmark
    prev_threads = torch.get_num_threads()
    prev_meta = get_track_meta()
    set_track_meta(False)
    if device == "cpu":
        torch.use_deterministic_algorithms(True)
        torch.set_num_threads(cpu_threads(threads))
    else:
        torch.backends.cudnn.benchmark = True
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(prev_det)
        torch.backends.cudnn.benchmark = prev_bench
        torch.set_num_threads(prev_threads)
        set_track_meta(prev_meta)


def train_transforms(profile: ValidityProfile, tiles: TileReader) -> Any:
    """Tile reading, intensity scaling to [-1, 1] and the augmentations of the profile (MONAI)."""
    import torch
    from monai.transforms import (
        Compose,
        EnsureTyped,
        RandFlipd,
        RandRotate90d,
        RandShiftIntensityd,
        ScaleIntensityRanged,
    )

    keys = ["image", "label"]
    steps: list[Any] = [
        tiles,
        ScaleIntensityRanged(keys="image", a_min=0.0, a_max=255.0, b_min=-1.0, b_max=1.0, dtype=np.float32),
    ]
    t = profile.training
    if t.flip:
        steps += [
            RandFlipd(keys=keys, prob=0.5, spatial_axis=0),
            RandFlipd(keys=keys, prob=0.5, spatial_axis=1),
        ]
    if t.rotate90:
        steps.append(RandRotate90d(keys=keys, prob=0.75, max_k=3))
    if t.intensity_shift > 0:
        steps.append(
            RandShiftIntensityd(keys="image", offsets=2 * t.intensity_shift, prob=0.8, channel_wise=True)
        )
    steps += [
        EnsureTyped(keys="image", dtype=torch.float32, track_meta=False),
        EnsureTyped(keys="label", dtype=torch.long, track_meta=False),
    ]
    return Compose(steps)


class TileSamples:
    """The training tiles of an epoch as a DataLoader's dataset: ``samples`` made up by
    ``transform``, whose first step is ``tiles``. A batch is fetched whole (``__getitems__``):
    its tiles are read slide by slide first (:meth:`~dqm.validity.data.TileReader.read_ahead`),
    then each sample made up in the batch's order, as one at a time (the augmentations draw
    their random numbers in the same order: the same batch)."""

    def __init__(self, samples: Sequence[dict[str, int]], transform: Any, tiles: TileReader) -> None:
        self.samples = samples
        self.transform = transform
        self.tiles = tiles

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> Any:
        return self.transform(self.samples[index])

    def __getitems__(self, indices: Sequence[int]) -> list[Any]:
        self.tiles.read_ahead([self.samples[i] for i in indices])
        try:
            return [self.transform(self.samples[i]) for i in indices]
        finally:
            self.tiles.forget_ahead()


def scale_input(rgb: np.ndarray) -> np.ndarray:
    """uint8 ``(rows, cols, 3)`` -> float32 ``(3, rows, cols)`` in [-1, 1], as in training."""
    return (rgb.transpose(2, 0, 1).astype(np.float32) / 127.5) - 1.0


def checkpoint_key(profile: ValidityProfile, fold: str, train: Sequence[str], classes: Sequence[str]) -> str:
    """What a checkpoint must match to be resumed: the settings that shape training, and the data."""
    h = hashlib.sha256()
    shaping = profile.model_dump(
        mode="json", exclude={"name", "description", "sha256", "evaluation", "suspicious", "device"}
    )
    h.update(repr(sorted(shaping.items())).encode())
    h.update(fold.encode())
    h.update("\n".join(train).encode())
    h.update("\n".join(classes).encode())
    return h.hexdigest()


class _Sink:
    """The file a checkpoint is written into, as ``torch.save`` writes it: keeps the OSError of a
    write that failed (torch reports it only as a RuntimeError of its own)."""

    def __init__(self, fh: Any) -> None:
        self.fh = fh
        self.error: OSError | None = None

    def write(self, data: Any) -> int:
        try:
            return int(self.fh.write(data))
        except OSError as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        self.fh.flush()


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write atomically: a Ctrl-C while writing leaves the previous checkpoint intact, and any
    failure (a full disk) leaves no temporary file and names ``path``; the temporary file is
    :func:`dqm.output.replacing`'s (a random name, never through a link into the batch)."""
    import torch

    from dqm.output import replacing

    # into a file dqm opened: on a full disk torch raises a RuntimeError ("[enforce fail at
    # inline_container.cc:672] . unexpected pos"), the system's error lost; the write's own
    # OSError (ENOSPC, EDQUOT, EIO), kept by the sink, is raised instead, and named
    with replacing(path) as fh:
        sink = _Sink(fh)
        try:
            torch.save(state, sink)  # type: ignore[arg-type]  # a writer torch accepts (write, flush)
        except RuntimeError:
            if sink.error is None:
                raise
            raise sink.error from None


def checkpoint_limit(net: Any) -> int:
    """The most bytes a checkpoint of ``net`` written by :func:`save_checkpoint` holds: its weights
    and buffers, AdamW's two moments of each weight, and :data:`CHECKPOINT_SLACK` for the rest
    (the scheduler, the curve, the archive's records). A larger file is not one of this network's,
    and is refused before it is read."""
    state = sum(t.numel() * t.element_size() for t in net.state_dict().values())
    return 3 * state + CHECKPOINT_SLACK


def _cannot_read(path: Path, exc: BaseException) -> str:
    return msg("{path} cannot be read as a checkpoint ({error})", path=path, error=type(exc).__name__)


def _unreadable_checkpoint(f: BinaryIO, path: Path, limit: int) -> str | None:
    """Why the file open as ``f`` (at ``path``) is not read as a checkpoint of at most ``limit``
    bytes (None: it may be): not a regular file, larger than ``limit``, or not the archive
    :func:`torch.save` writes (truncated: no central directory), or one whose records are
    compressed (torch writes them stored: a compressed one may inflate to any size) or claim more
    bytes than the file holds."""
    import zipfile

    try:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            return msg("{path} is not a regular file", path=path)
        if info.st_size > limit:
            return msg(
                "{path} holds {size:,} bytes, more than a checkpoint of this network can ({limit:,}): "
                "not read",
                path=path,
                size=info.st_size,
                limit=limit,
            )
        with zipfile.ZipFile(f) as archive:  # leaves ``f`` open
            records = archive.infolist()
    except (OSError, zipfile.BadZipFile, ValueError, EOFError) as exc:
        return _cannot_read(path, exc)
    if any(r.compress_type != zipfile.ZIP_STORED for r in records):
        return msg("{path} holds compressed records: not a checkpoint dqm writes, not read", path=path)
    if sum(r.file_size for r in records) > info.st_size:
        return msg("{path} claims more bytes than it holds: not a checkpoint dqm writes, not read", path=path)
    return None


def load_checkpoint(path: Path, limit: int) -> dict[str, Any]:
    """The state :func:`save_checkpoint` wrote at ``path``, if it holds at most ``limit`` bytes
    (:func:`checkpoint_limit`), read without running any of its code (``weights_only``);
    :class:`CheckpointMismatch` for any other file. The file is opened once, checked and read
    through that descriptor: a file put at ``path`` after the check is never the one read. Not
    mapped (``mmap``): the optimiser keeps the moments it is given, and a mapped moment of a file
    rewritten in place while training (by another process, or ``torch.save`` to that path) is a
    SIGBUS, a crash, where the cap already bounds the memory a read takes."""
    import torch

    try:  # opened without waiting: a FIFO of that name would block open() for ever
        f = open(os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb")  # noqa: SIM115
    except OSError as exc:
        raise CheckpointMismatch(_cannot_read(path, exc)) from None
    with f:
        why = _unreadable_checkpoint(f, path, limit)
        if why is not None:
            raise CheckpointMismatch(why)
        try:
            f.seek(0)
            state = torch.load(f, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises UnpicklingError, EOFError, RuntimeError...
            raise CheckpointMismatch(_cannot_read(path, exc)) from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointMismatch(msg("{path} is not a dqm validity checkpoint", path=path))
    return state


def _check_schedule(
    optimiser: Any,
    scheduler: Any,
    fresh_groups: list[dict[str, Any]],
    fresh: dict[str, Any],
    max_step: int,
) -> None:
    """Raise ``ValueError`` (its argument: the field that does not fit) when the optimiser's
    hyper-parameters or the scheduler's state a checkpoint gave are not the ones this profile
    builds (``fresh_groups`` and ``fresh``, taken before loading). Only the schedule's position may
    differ after some epochs: its step count, at most ``max_step`` (the steps the checkpoint's
    epochs can have taken), and the learning rate, which must be finite and the cosine schedule's
    value at that step. ``load_state_dict`` takes both as they are: a NaN or 1e30 learning rate, NaN
    betas or base rates trained on silently to a model of NaN; a text rate or ``T_max`` 0 crashed
    at the first step; a finished schedule under epoch 0 retrained with the rate rising again."""
    groups = optimiser.param_groups
    if len(groups) != len(fresh_groups):
        raise ValueError("param_groups")
    for group, want in zip(groups, fresh_groups, strict=True):
        if group.keys() != want.keys():
            raise ValueError("param_groups")
        for name, value in want.items():
            if name not in ("params", "lr") and group[name] != value:
                raise ValueError(name)
    state = scheduler.state_dict()
    if state.keys() != fresh.keys():
        raise ValueError("scheduler")
    for name in ("T_max", "eta_min", "base_lrs"):
        if state[name] != fresh[name]:
            raise ValueError(name)
    step = state["last_epoch"]
    if type(step) is not int or not 0 <= step <= max_step or state["_step_count"] != step + 1:
        raise ValueError("last_epoch")
    t_max, eta_min = fresh["T_max"], fresh["eta_min"]
    rates = [group["lr"] for group in groups]
    for rate, base in zip(rates, fresh["base_lrs"], strict=True):
        if type(rate) is not float or not math.isfinite(rate):
            raise ValueError("lr")
        expected = eta_min + (base - eta_min) * (1 + math.cos(math.pi * step / t_max)) / 2
        if not math.isclose(rate, expected, rel_tol=1e-4, abs_tol=1e-6 * abs(base)):
            raise ValueError("lr")
    if state["_last_lr"] != rates:
        raise ValueError("_last_lr")


def _check_resumed(net: Any, optimiser: Any) -> None:
    """Raise ``ValueError`` when the state a checkpoint gave ``net`` and ``optimiser`` is none a
    training run writes: a weight or buffer not finite, or a weight's optimiser state (AdamW's
    moments and step count) of another shape than the weight, not finite, or a negative step.
    ``load_state_dict`` checks a weight's shape but not its moments': the first step crashed (a
    traceback) on a moment of another shape, or a negative step, and a NaN trained on silently."""
    import torch

    for value in net.state_dict().values():
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise ValueError("weights")
    for group in optimiser.param_groups:
        for param in group["params"]:
            for name, value in optimiser.state.get(param, {}).items():
                if not isinstance(value, torch.Tensor) or not value.is_floating_point():
                    raise ValueError(name)
                if name == "step":
                    if value.numel() != 1 or not bool(torch.isfinite(value).all()) or float(value) < 0:
                        raise ValueError(name)
                elif value.shape != param.shape or not bool(torch.isfinite(value).all()):
                    raise ValueError(name)


@dataclass(frozen=True, slots=True)
class Rank:
    """This process's place in a distributed training run."""

    rank: int
    world: int


def train_fold(
    *,
    profile: ValidityProfile,
    fold_name: str,
    fold_seed: int,
    records: Sequence[SlideRecord],
    indices: Sequence[SlideIndex],
    train_ids: Sequence[int],
    classes: Sequence[str],
    device: str,
    checkpoint: Path,
    resume: bool,
    reporter: Reporter,
    rank: Rank | None = None,
) -> TrainOutcome:
    """Train (or resume, or reload when complete) one fold's network; returns it in eval mode.

    With ``training.processes`` > 1 (and no ``rank``: this is the calling process) the training
    runs in that many new processes (see the module docstring); ``rank`` is given inside them.
    """
    import torch
    from monai.data import DataLoader
    from monai.losses import DiceCELoss

    t = profile.training
    if t.processes > 1 and rank is None:
        return _train_distributed(
            profile=profile,
            fold_name=fold_name,
            fold_seed=fold_seed,
            records=records,
            indices=indices,
            train_ids=train_ids,
            classes=classes,
            device=device,
            checkpoint=checkpoint,
            resume=resume,
            reporter=reporter,
        )
    world = rank.world if rank else 1
    lead = rank is None or rank.rank == 0
    n_labels = len(classes) + 1
    key = checkpoint_key(profile, fold_name, [records[i].slide_id for i in train_ids], classes)
    torch.manual_seed(fold_seed)
    net = build_network(profile.network, n_labels).to(device)
    model: Any = net
    optimiser = torch.optim.AdamW(model.parameters(), lr=t.learning_rate, weight_decay=t.weight_decay)
    steps_per_epoch = max(1, -(-t.tiles_per_epoch // t.batch_size))
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=t.epochs * steps_per_epoch)
    curve: list[CurvePoint] = []
    start = 0
    if resume and checkpoint.is_file():
        state = load_checkpoint(checkpoint, checkpoint_limit(net))
        if state.get("key") != key:
            raise CheckpointMismatch(
                msg(
                    "{path} was made with other settings or slides; start over without --resume",
                    path=checkpoint,
                )
            )
        fresh_groups = [dict(group) for group in optimiser.param_groups]
        fresh_schedule = scheduler.state_dict()
        try:
            net.load_state_dict(state["model"])
            optimiser.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            start = state["epoch"]
            # a negative epoch seeds no rng, a larger one trains nothing
            if type(start) is not int or not 0 <= start <= t.epochs:
                raise ValueError("epoch")
            curve = [CurvePoint.model_validate(p) for p in state["curve"]]
            if len(curve) != start:
                raise ValueError("curve")
            # a rank steps once a batch: at most ceil(tiles / ranks / ceil(batch / ranks)) <=
            # steps_per_epoch batches an epoch; none where the epoch drew fewer tiles than ranks
            _check_schedule(optimiser, scheduler, fresh_groups, fresh_schedule, start * steps_per_epoch)
            _check_resumed(net, optimiser)
        except (
            KeyError,
            TypeError,
            ValueError,
            RuntimeError,
            ArithmeticError,
        ) as exc:  # ValidationError is a ValueError
            # the field that did not fit (``lr``, ``T_max``, a KeyError's key...), as the file gave it
            error = f"{type(exc).__name__}: {clip(visible(str(exc), newlines=False), 80)}"
            raise CheckpointMismatch(
                msg(
                    "{path} cannot be resumed: its state does not fit ({error}); start over without --resume",
                    path=checkpoint,
                    error=error,
                )
            ) from None

    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(
            net, device_ids=[torch.device(device).index] if device != "cpu" else None
        )

    def snapshot(epoch: int) -> None:
        if not lead:
            return
        save_checkpoint(
            checkpoint,
            {
                "format": CHECKPOINT_FORMAT,
                "key": key,
                "epoch": epoch,
                "complete": epoch >= t.epochs,
                "classes": list(classes),
                "network": profile.network.model_dump(mode="json"),
                "resolution_um": profile.resolution_um,
                "model": net.state_dict(),
                "optimizer": optimiser.state_dict(),
                "scheduler": scheduler.state_dict(),
                "curve": [p.model_dump(mode="json") for p in curve],
            },
        )

    if start == 0:
        snapshot(0)
    loss_fn = DiceCELoss(
        to_onehot_y=True,
        softmax=True,
        batch=True,
        lambda_dice=t.lambda_dice,
        lambda_ce=t.lambda_ce,
    )
    share = decoded_cache_share(t.decoded_cache_mib, t.loader_workers, world)
    tiles = TileReader(records, profile.resolution_um, profile.tile, cache_bytes=share)
    transform = train_transforms(profile, tiles)
    use_amp = device == "cuda" and t.amp
    outcome = TrainOutcome(net, curve)
    for epoch in range(start, t.epochs):
        t0 = time.perf_counter()
        rng = np.random.default_rng([fold_seed, epoch])
        samples = epoch_samples(indices, train_ids, t.tiles_per_epoch, profile.tile, t.background_share, rng)
        if rank is not None:  # every process drew the same sample: each trains on an equal share
            samples = samples[: len(samples) - len(samples) % rank.world][rank.rank :: rank.world]
        bad = outcome.unreadable_tiles if rank is None else {}
        torch.manual_seed(fold_seed * 1000 + epoch + (7919 * rank.rank if rank else 0))
        loader = DataLoader(
            TileSamples(samples, transform, tiles),  # type: ignore[arg-type]  # map-style, torch not imported here
            batch_size=-(-t.batch_size // world),
            shuffle=False,
            num_workers=t.loader_workers,
            pin_memory=device == "cuda",
            persistent_workers=False,
        )
        reporter.epoch_start(fold_name, epoch + 1, t.epochs, len(loader))
        model.train()
        total, n_tiles = 0.0, 0
        agree = pred_px = true_px = 0
        for batch in loader:
            x = batch["image"].to(device, non_blocking=True)
            y = batch["label"].to(device, non_blocking=True)
            optimiser.zero_grad(set_to_none=True)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
                logits = model(x)
                loss = loss_fn(logits.float(), y)
            loss.backward()
            optimiser.step()
            scheduler.step()
            with torch.no_grad():
                pred = logits.argmax(dim=1, keepdim=True)
                fg_p, fg_t = pred > 0, y > 0
                agree += int((fg_p & (pred == y)).sum())
                pred_px += int(fg_p.sum())
                true_px += int(fg_t.sum())
            _count_unreadable(bad, records, batch["slide"], batch["unreadable"])
            value = float(loss.detach())
            if rank is None and not math.isfinite(value):  # a rank alone must not leave its group
                raise _diverged(fold_name, epoch + 1, value)
            total += value * len(x)
            n_tiles += len(x)
            reporter.step(value)
        if rank is not None:
            total, n_tiles, agree, pred_px, true_px = _summed(
                (total, n_tiles, agree, pred_px, true_px), bad, records
            )
            for sid, n in bad.items():
                outcome.unreadable_tiles[sid] = outcome.unreadable_tiles.get(sid, 0) + n
            if not math.isfinite(total):  # summed over every rank: each stops in the same epoch
                raise _diverged(fold_name, epoch + 1, total / max(n_tiles, 1))
        seconds = time.perf_counter() - t0
        point = CurvePoint(
            fold=fold_name,
            epoch=epoch + 1,
            loss=total / max(n_tiles, 1),
            tile_dice=2 * agree / (pred_px + true_px) if pred_px + true_px else None,
            learning_rate=float(scheduler.get_last_lr()[0]),
            seconds=seconds,
            tiles=n_tiles,
        )
        curve.append(point)
        outcome.seconds += seconds
        outcome.tiles += n_tiles
        outcome.epochs_run += 1
        outcome.epoch_seconds.append(seconds)
        snapshot(epoch + 1)
        reporter.epoch_end(point)
    net.eval()
    return outcome


def _summed(
    stats: tuple[float, int, int, int, int], unreadable: dict[str, int], records: Sequence[SlideRecord]
) -> tuple[float, int, int, int, int]:
    """An epoch's loss sum, tiles and pixel agreement summed over every process; this epoch's
    ``unreadable`` tiles (per slide) become the sum over every process too."""
    import torch
    import torch.distributed as dist

    totals = torch.tensor(stats, dtype=torch.float64)
    dist.all_reduce(totals)
    ids = [r.slide_id for r in records]
    counts = torch.tensor([unreadable.get(sid, 0) for sid in ids], dtype=torch.float64)
    dist.all_reduce(counts)
    unreadable.clear()
    unreadable.update({sid: int(n) for sid, n in zip(ids, counts.tolist(), strict=True) if n})
    loss, n_tiles, agree, pred_px, true_px = totals.tolist()
    return loss, int(n_tiles), int(agree), int(pred_px), int(true_px)


class _QueueReporter(Reporter):
    """The first training process's progress, sent to the calling process."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue

    def epoch_start(self, fold: str, epoch: int, epochs: int, steps: int) -> None:
        self.queue.put(("epoch_start", (fold, epoch, epochs, steps)))

    def step(self, loss: float) -> None:
        self.queue.put(("step", (loss,)))

    def epoch_end(self, point: CurvePoint) -> None:
        self.queue.put(("epoch_end", (point.model_dump(mode="json"),)))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rank_main(
    index: int, world: int, port: int, queue: Any, kwargs: dict[str, Any], batches: dict[tuple[int, int], str]
) -> None:
    """One training process: join the group, train this rank's share, report (rank 0) and leave.
    ``batches``: the batch folders its parent writes nowhere into (a new interpreter, started by
    spawn, knows none: rank 0's checkpoint went through a link into the batch unrefused)."""
    import torch
    import torch.distributed as dist

    from dqm.output import never_into_these

    never_into_these(batches)

    device = kwargs["device"]
    if device == "cuda":
        device = f"cuda:{index}"
        torch.cuda.set_device(index)
    backend = "nccl" if device.startswith("cuda") else "gloo"
    dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{port}", rank=index, world_size=world)
    try:
        threads = kwargs["profile"].training.cpu_threads
        with reproducible("cpu" if backend == "gloo" else "cuda", threads):
            outcome = train_fold(
                **{**kwargs, "device": device},
                reporter=_QueueReporter(queue) if index == 0 else Reporter(),
                rank=Rank(index, world),
            )
        if index == 0:
            queue.put(
                (
                    "done",
                    (
                        outcome.seconds,
                        outcome.tiles,
                        outcome.epochs_run,
                        outcome.epoch_seconds,
                        outcome.unreadable_tiles,
                    ),
                )
            )
        # every rank done before any leaves: a rank that tore its group down while another's was
        # still in use was aborted by gloo ("terminate called without an active exception")
        dist.barrier()
    except TrainingDiverged as exc:
        # said by every rank (each sees the same summed loss; the parent raises the first, as the
        # run's error: the processes' own traces are torch's), and written through before the rank
        # ends: the first rank to end makes torch end the others, rank 0 too before it said it
        # (the user saw torch's generic failure of a process instead)
        queue.put(("diverged", exc.where))
        queue.close()
        queue.join_thread()
        raise
    finally:
        dist.destroy_process_group()


def _train_distributed(*, reporter: Reporter, **kwargs: Any) -> TrainOutcome:
    """Run :func:`train_fold` in ``training.processes`` new processes; the trained model, loaded
    here from the checkpoint the first of them wrote, with the outcome it reported."""
    import torch
    import torch.multiprocessing as tmp

    from dqm.output import batches_read

    profile: ValidityProfile = kwargs["profile"]
    world = profile.training.processes
    if kwargs["device"] == "cuda" and torch.cuda.device_count() < world:
        raise ValueError(
            f"training.processes is {world} but torch sees {torch.cuda.device_count()} CUDA devices"
        )
    queue = tmp.get_context("spawn").Queue()
    context = tmp.start_processes(
        _rank_main,
        args=(world, _free_port(), queue, kwargs, batches_read()),
        nprocs=world,
        join=False,
        start_method="spawn",
    )
    done: tuple[Any, ...] | None = None
    diverged: list[TrainingDiverged] = []

    def drain() -> None:
        nonlocal done
        while True:
            try:
                kind, payload = queue.get_nowait()
            except queue_module.Empty:
                return
            if kind == "epoch_start":
                reporter.epoch_start(*payload)
            elif kind == "step":
                reporter.step(*payload)
            elif kind == "epoch_end":
                reporter.epoch_end(CurvePoint.model_validate(payload[0]))
            elif kind == "done":
                done = payload
            elif kind == "diverged":
                diverged.append(_diverged(*payload))

    try:
        while not context.join(timeout=0.2):
            drain()
    except Exception:
        drain()
        if diverged:
            raise diverged[0] from None
        raise
    drain()
    if diverged:
        raise diverged[0]
    net = build_network(profile.network, len(kwargs["classes"]) + 1)
    state = load_checkpoint(kwargs["checkpoint"], checkpoint_limit(net))
    net.load_state_dict(state["model"])
    net.to(kwargs["device"]).eval()
    curve = [CurvePoint.model_validate(p) for p in state["curve"]]
    seconds, tiles, epochs_run, epoch_seconds, unreadable = done if done else (0.0, 0, 0, [], {})
    return TrainOutcome(net, curve, seconds, tiles, epochs_run, list(epoch_seconds), dict(unreadable))


def _count_unreadable(
    counts: dict[str, int], records: Sequence[SlideRecord], slides: Any, flags: Any
) -> None:
    """Add a batch's unreadable tiles (``flags`` 1) to ``counts``, per slide id."""
    for s in slides[flags.bool()].tolist():
        sid = records[s].slide_id
        counts[sid] = counts.get(sid, 0) + 1
