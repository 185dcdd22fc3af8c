"""Validity profiles: resolution, tiles, network, training, split and evaluation of one run.

A validity profile is YAML validated once into frozen pydantic models, like the dataset profile.
``smoke`` (CPU, minutes) and ``standard`` (GPU) are built in (``dqm/validity/profiles/``); copy
one, edit it and pass the file with ``--profile FILE``.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

from dqm.i18n import N_, msg
from dqm.output import TooLarge, read_bounded
from dqm.profile import MAX_PROFILE_BYTES, model_from_yaml

BUILTIN = ("smoke", "standard")


class ValidityProfileError(ValueError):
    """The validity profile is missing, not YAML, or not a valid profile."""


class _Frozen(BaseModel):
    # No NaN or infinity anywhere: a NaN target compares False with every Dice, an infinite
    # learning rate turns the weights to NaN, an infinite resolution makes every slide one pixel.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


PROFILE_FILE = "validity profile file"
"""Validation context key set by :func:`load_validity_profile`: the bounds below (:func:`_within`)
apply to a profile a run is about to use, not to one stored in a result (``results.json``,
``--baseline``): a run of the base, before the bounds, must still load and report."""


def _from_file(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get(PROFILE_FILE))


def _within(lo: float | None = None, hi: float | None = None, *, longest: int | None = None) -> Any:
    """A bound checked only when a profile file is loaded (:data:`PROFILE_FILE`), with pydantic's
    own messages: between ``lo`` and ``hi``, or at most ``longest`` items."""

    def check(value: Any, info: ValidationInfo) -> Any:
        if not _from_file(info):
            return value
        if longest is not None and len(value) > longest:
            raise PydanticCustomError(
                "too_long", "Tuple should have at most {max_length} items", {"max_length": longest}
            )
        if lo is not None and value < lo:
            raise PydanticCustomError(
                "greater_than_equal", "Input should be greater than or equal to {ge}", {"ge": lo}
            )
        if hi is not None and value > hi:
            raise PydanticCustomError(
                "less_than_equal", "Input should be less than or equal to {le}", {"le": hi}
            )
        return value

    return AfterValidator(check)


MAX_SEED = 2**32 - 1
"""Seeds are numpy seeds (no negative one) that torch takes too, times 1000 plus the epoch
(:func:`dqm.validity.train.train_fold`), within 64 bits."""
Share = Annotated[float, _within(0, 1)]
"""A Dice target: a fraction."""
Width = Annotated[int, _within(1, 4096)]
"""A layer's channels (features): a network of 100,000-channel layers would not fit in memory."""
Stride = Annotated[int, _within(1, 16)]
"""A downsampling stride: a stride of 0 divides the tile by zero, a negative one is no stride."""
Blocks = Annotated[int, _within(1, 64)]
"""Residual blocks at one resolution of a SegResNet."""


class UNetConfig(_Frozen):
    """MONAI ``UNet`` (residual units, strided convolutions)."""

    kind: Literal["UNet"] = "UNet"
    channels: Annotated[tuple[Width, ...], _within(longest=12)] = (16, 32, 64, 128)
    strides: Annotated[tuple[Stride, ...], _within(longest=11)] = (2, 2, 2)
    res_units: Annotated[int, _within(hi=16)] = Field(1, ge=0)
    dropout: float = Field(0.0, ge=0, lt=1)

    @model_validator(mode="after")
    def _strides_fit(self) -> UNetConfig:
        if len(self.channels) < 2 or len(self.strides) != len(self.channels) - 1:
            raise ValueError("UNet needs at least two channels and one stride fewer than channels")
        return self


class BasicUNetConfig(_Frozen):
    """MONAI ``BasicUNet`` (six feature sizes)."""

    kind: Literal["BasicUNet"] = "BasicUNet"
    features: tuple[Width, Width, Width, Width, Width, Width] = (16, 16, 32, 64, 128, 16)
    dropout: float = Field(0.0, ge=0, lt=1)


class SegResNetConfig(_Frozen):
    """MONAI ``SegResNet``."""

    kind: Literal["SegResNet"] = "SegResNet"
    init_filters: Annotated[int, _within(hi=512)] = Field(16, ge=1)
    blocks_down: Annotated[tuple[Blocks, ...], _within(longest=12)] = Field((1, 2, 2, 4), min_length=1)
    blocks_up: Annotated[tuple[Blocks, ...], _within(longest=11)] = (1, 1, 1)
    dropout: float = Field(0.0, ge=0, lt=1)

    @model_validator(mode="after")
    def _blocks_fit(self) -> SegResNetConfig:
        if len(self.blocks_up) != len(self.blocks_down) - 1:
            raise ValueError("SegResNet needs one up block fewer than down blocks")
        if self.init_filters % 8:
            raise ValueError(
                "SegResNet's init_filters must be a multiple of 8 (group normalisation in 8 groups)"
            )
        return self


NetworkConfig = Annotated[UNetConfig | BasicUNetConfig | SegResNetConfig, Field(discriminator="kind")]


class TrainingConfig(_Frozen):
    """The optimisation: fixed epochs of class-balanced tiles, AdamW, cosine learning rate."""

    epochs: Annotated[int, _within(hi=10_000)] = Field(10, ge=1)
    tiles_per_epoch: Annotated[int, _within(hi=1_000_000)] = Field(512, ge=1)
    batch_size: Annotated[int, _within(hi=65_536)] = Field(16, ge=1)
    learning_rate: float = Field(2e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    lambda_dice: float = Field(1.0, ge=0)
    lambda_ce: float = Field(1.0, ge=0)
    background_share: float = Field(0.15, ge=0, le=1)
    """Share of tiles centred on lesion-free tissue; the rest is spread evenly over the classes."""
    amp: bool = True
    """Mixed precision (bfloat16 autocast) on CUDA; ignored on CPU."""
    loader_workers: Annotated[int, _within(hi=256)] = Field(0, ge=0)
    """DataLoader worker processes (0: tiles are read in the training process)."""
    decoded_cache_mib: Annotated[int, _within(hi=1 << 20)] = Field(2048, ge=1)
    """Decoded plain images (PNG, JPEG and what else Pillow reads: each decoded whole at the working
    resolution) the run keeps in memory, MiB in all, split evenly among the processes that read
    training tiles (each of ``loader_workers`` in each of ``processes``: 2,048 at 8 workers is
    256 MiB each; the run's own process keeps one share too). An image larger than a share is not
    kept (decoded again for each read). A slide OpenSlide reads is read by region and keeps nothing here."""
    cpu_threads: Annotated[int, _within(hi=1024)] = Field(0, ge=0)
    """torch threads on CPU (0: one per available core). Runs are bit-reproducible for a given
    thread count; on a machine shared with other jobs, 1 avoids thread contention stalls."""
    processes: Annotated[int, _within(hi=256)] = Field(1, ge=1)
    """Training processes (torch DistributedDataParallel, started by dqm): each trains on its share
    of every epoch's tiles with ``batch_size / processes`` tiles per step and the gradients are
    averaged, so a step still sees ``batch_size`` tiles. On CUDA one GPU per process (NCCL), on
    CPU the gloo backend (``cpu_threads`` threads each). 1: one process, no torch.distributed."""
    flip: bool = True
    rotate90: bool = True
    intensity_shift: float = Field(0.05, ge=0, le=1)
    """Largest per-channel intensity shift (fraction of the range), a mild stain variation."""

    @model_validator(mode="after")
    def _some_loss(self, info: ValidationInfo) -> TrainingConfig:
        if _from_file(info) and self.lambda_dice == 0 and self.lambda_ce == 0:
            raise ValueError("lambda_dice and lambda_ce are both 0: the loss would be 0 and nothing learnt")
        return self


class SplitConfig(_Frozen):
    """How slides are held out: patient groups, stratified by class and institution."""

    mode: Literal["holdout", "kfold", "loio", "column"] = "holdout"
    """``holdout``: one split; ``kfold``: every group held out once (cross-fitted);
    ``loio``: leave one institution out, for each institution; ``column``: the delivery's own
    split, read from a clinical field (``column``), holding out the slides whose value is in
    ``test_values`` (a published train/test split, so Dice can stand beside published figures)."""
    test_fraction: float = Field(0.3, gt=0, lt=1)
    """``holdout`` only: about this share of the patients of each class is held out."""
    folds: Annotated[int, _within(hi=1000)] = Field(5, ge=2)
    """``kfold`` only."""
    column: str = "split"
    """``column`` only: the clinical field (manifest column) that names each slide's split."""
    test_values: list[str] = Field(default_factory=list)
    """``column`` only: the values of ``column`` that are held out; the other slides train.
    Dice is also reported per held-out value (e.g. GlaS's test A and test B)."""

    @model_validator(mode="after")
    def _column_needs_values(self) -> SplitConfig:
        if self.mode == "column" and not self.test_values:
            raise ValueError("split mode 'column' needs test_values (the held-out values of the column)")
        return self


class EvaluationConfig(_Frozen):
    """Dice, its interval and the targets."""

    target: float = Field(0.80, ge=0, le=1)
    """Dice every class must reach (the reference study: 0.80-0.91 per group)."""
    targets: dict[str, Share] = Field(default_factory=dict)
    """Per-class targets that override ``target``."""
    gate_on: Literal["dice", "ci_low"] = "dice"
    """Compare the point estimate, or the lower end of the 95 % interval, with the target."""
    gate_dice: Literal["pooled", "per_slide", "both"] = "both"
    """Which class Dice must reach the target: ``pooled`` (pixels summed over every held-out
    slide, so a class predicted on a slide annotated without it costs that class), ``per_slide``
    (mean slide Dice over the slides annotated with the class: every slide weighs the same, a
    small lesion as much as a large one, but such false positives are not seen) or ``both``."""
    bootstrap: Annotated[int, _within(hi=100_000)] = Field(2000, ge=0)
    confidence: float = Field(0.95, gt=0, lt=1)
    overlap: float = Field(0.25, ge=0, lt=1)
    """Sliding-window overlap between neighbouring windows."""
    sw_batch_size: Annotated[int, _within(hi=4096)] = Field(8, ge=1)
    block: Annotated[int, _within(hi=65_536)] = Field(2048, ge=64)
    """Slides larger than this (working-resolution pixels) are predicted block by block."""
    overlays: Annotated[int, _within(hi=100)] = Field(3, ge=0)
    """Best and worst slides shown as overlays in the report (each)."""

    @model_validator(mode="after")
    def _interval_to_gate_on(self) -> EvaluationConfig:
        # without resamples there is no interval, and every class would fail on its missing lower end
        if self.gate_on == "ci_low" and self.bootstrap == 0:
            raise ValueError("gate_on: ci_low needs an interval: set bootstrap above 0")
        return self


class SuspiciousConfig(_Frozen):
    """The label-quality signal."""

    threshold: float = Field(0.5, ge=0, le=1)
    """A slide whose score (1 - lesion Dice against its annotation) reaches this is listed."""
    top: Annotated[int, _within(hi=100_000)] = Field(20, ge=0)
    """At most this many slides are listed (highest scores first)."""


class ValidityProfile(_Frozen):
    """One validity run's settings."""

    name: str
    description: str = ""
    seed: Annotated[int, _within(0, MAX_SEED)] = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    resolution_um: float = Field(2.0, gt=0)
    """Working resolution in micrometres per pixel (the pyramid level at or below is read and resized)."""
    tile: Annotated[int, _within(hi=4096)] = Field(128, ge=16)
    """Training tile and sliding-window side, working-resolution pixels."""
    index_factor: Annotated[int, _within(hi=4096)] = Field(4, ge=1)
    """Tile centres are drawn on a grid this many working pixels wide (tissue and class maps)."""
    max_slide_pixels: Annotated[int, _within(hi=2**32)] = Field(400_000_000, ge=1)
    """Slides larger than this at the working resolution are left out (stated in the result)."""
    network: NetworkConfig = UNetConfig()
    training: TrainingConfig = TrainingConfig()
    split: SplitConfig = SplitConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    suspicious: SuspiciousConfig = SuspiciousConfig()
    sha256: str = ""
    """Hash of the profile's source text, set by :func:`load_validity_profile`."""

    @model_validator(mode="after")
    def _tile_fits_network(self) -> ValidityProfile:
        factor = 1
        net = self.network
        if isinstance(net, UNetConfig):
            for s in net.strides:
                factor *= s
        elif isinstance(net, BasicUNetConfig):
            factor = 16
        else:
            factor = 2 ** (len(net.blocks_down) - 1)
        if self.tile % factor:
            raise ValueError(f"tile {self.tile} must be a multiple of {factor} for this network")
        return self

    def target_for(self, class_id: str) -> float:
        """The Dice target of one class."""
        return self.evaluation.targets.get(class_id, self.evaluation.target)

    def check_classes(self, classes: Sequence[str]) -> None:
        """Raise :class:`ValidityProfileError` when ``evaluation.targets`` names a class that is
        not among ``classes`` (the dataset profile's): a misspelt class would otherwise be held to
        the default target without a word."""
        unknown = sorted(set(self.evaluation.targets) - set(classes))
        if unknown:
            raise ValidityProfileError(
                msg(
                    "evaluation.targets names {unknown}, not a class of the dataset profile ({classes})",
                    unknown=", ".join(unknown),
                    classes=", ".join(classes),
                )
            )


def _read(source: str | Path) -> tuple[str, str]:
    if str(source) in BUILTIN:
        text = resources.files("dqm.validity.profiles").joinpath(f"{source}.yaml").read_text("utf-8")
        return text, f"built-in:{source}"
    path = Path(source)
    try:
        # a FIFO never blocks the run, /dev/zero never fills memory, a huge file is refused unread
        return read_bounded(path, MAX_PROFILE_BYTES).decode("utf-8"), str(path)
    except TooLarge as exc:
        raise ValidityProfileError(exc.message(N_("validity profile"))) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidityProfileError(
            msg(
                "cannot read validity profile {path}: {reason} (built-in: {builtin})",
                path=path,
                reason=exc,
                builtin=", ".join(BUILTIN),
            )
        ) from exc


def load_validity_profile(source: str | Path = "smoke") -> ValidityProfile:
    """Load and validate a validity profile: ``smoke``, ``standard`` or a YAML path.

    Raises
    ------
    ValidityProfileError
        With every problem found and where it is.
    """
    text, origin = _read(source)
    return model_from_yaml(
        text,
        origin,
        ValidityProfile,
        ValidityProfileError,
        N_("validity profile"),
        context={PROFILE_FILE: True},
    )
