"""Validity profiles: the built-in ones load, bad ones are refused with the reason and place."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dqm.validity.settings import (
    BUILTIN,
    BasicUNetConfig,
    SegResNetConfig,
    UNetConfig,
    ValidityProfileError,
    load_validity_profile,
)


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_profiles_load(name: str) -> None:
    prof = load_validity_profile(name)
    assert prof.name == name
    assert len(prof.sha256) == 64
    assert prof.evaluation.target == pytest.approx(0.80)


def test_smoke_is_cpu_sized_and_standard_larger() -> None:
    smoke, standard = load_validity_profile("smoke"), load_validity_profile("standard")
    assert smoke.tile <= 128
    assert standard.tile > smoke.tile
    assert standard.training.epochs * standard.training.tiles_per_epoch > (
        smoke.training.epochs * smoke.training.tiles_per_epoch
    )


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "p.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_tile_must_fit_the_network(tmp_path: Path) -> None:
    p = _write(
        tmp_path, "name: x\ntile: 100\nnetwork: {kind: UNet, channels: [8, 16, 32, 64], strides: [2, 2, 2]}\n"
    )
    with pytest.raises(ValidityProfileError, match="multiple of 8"):
        load_validity_profile(p)


def test_segresnet_filters_must_fit_group_norm(tmp_path: Path) -> None:
    p = _write(tmp_path, "name: x\ntile: 64\nnetwork: {kind: SegResNet, init_filters: 12}\n")
    with pytest.raises(ValidityProfileError, match="multiple of 8"):
        load_validity_profile(p)


def test_gating_on_the_interval_needs_an_interval(tmp_path: Path) -> None:
    p = _write(tmp_path, "name: x\nevaluation: {gate_on: ci_low, bootstrap: 0}\n")
    with pytest.raises(ValidityProfileError, match="bootstrap above 0"):
        load_validity_profile(p)


def test_unknown_key_and_bad_values_are_located(tmp_path: Path) -> None:
    p = _write(tmp_path, "name: x\ntraining: {epochs: 0, speed: 3}\nsplit: {mode: random}\n")
    with pytest.raises(ValidityProfileError) as err:
        load_validity_profile(p)
    text = str(err.value)
    assert "training.epochs" in text
    assert "training.speed" in text
    assert "split.mode" in text


def test_not_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValidityProfileError, match="not valid YAML"):
        load_validity_profile(_write(tmp_path, "name: [x\n"))
    with pytest.raises(ValidityProfileError, match="cannot read"):
        load_validity_profile(tmp_path / "absent.yaml")
    with pytest.raises(ValidityProfileError, match="mapping"):
        load_validity_profile(_write(tmp_path, "- a\n- b\n"))


def test_per_class_targets_override_the_default(tmp_path: Path) -> None:
    p = _write(tmp_path, "name: x\nevaluation: {target: 0.8, targets: {MM: 0.7}}\n")
    prof = load_validity_profile(p)
    assert prof.target_for("MM") == pytest.approx(0.7)
    assert prof.target_for("BCC") == pytest.approx(0.8)


@pytest.mark.parametrize("config", [UNetConfig(), BasicUNetConfig(), SegResNetConfig()], ids=lambda c: c.kind)
def test_each_network_maps_rgb_to_label_logits(config: object) -> None:
    import torch

    from dqm.validity.model import build_network

    torch.manual_seed(0)
    net = build_network(config, 8)  # type: ignore[arg-type]
    with torch.no_grad():
        out = net(torch.rand(2, 3, 32, 32))
    assert tuple(out.shape) == (2, 8, 32, 32)


@pytest.mark.parametrize(
    ("setting", "place"),
    [
        # a NaN target compares False with every Dice, a negative one passes a Dice of 0, one over 1
        # fails every class: per-class targets had no bounds where `target` had
        ("evaluation: {targets: {MN: .nan}}", "evaluation.targets.MN"),
        ("evaluation: {targets: {MN: -1}}", "evaluation.targets.MN"),
        ("evaluation: {targets: {MN: 2}}", "evaluation.targets.MN"),
        ("evaluation: {targets: {MN: .inf}}", "evaluation.targets.MN"),
        # infinities: every slide one pixel, weights of NaN
        ("resolution_um: .inf", "resolution_um"),
        ("training: {learning_rate: .inf}", "training.learning_rate"),
        ("training: {weight_decay: .inf}", "training.weight_decay"),
        ("training: {lambda_dice: .inf}", "training.lambda_dice"),
        ("training: {lambda_dice: 0, lambda_ce: 0}", "nothing learnt"),
        # seeds numpy refuses (negative) or torch cannot hold (past 64 bits)
        ("seed: -1", "seed"),
        ("seed: 100000000000000000000000", "seed"),
        # sizes that exhaust memory or processes before the first epoch ends
        ("tile: 1048576", "tile"),
        ("training: {tiles_per_epoch: 10000000000}", "training.tiles_per_epoch"),
        ("training: {epochs: 100000000000}", "training.epochs"),
        ("training: {batch_size: 1000000000}", "training.batch_size"),
        ("training: {loader_workers: 100000}", "training.loader_workers"),
        ("training: {processes: 100000}", "training.processes"),
        ("training: {cpu_threads: 100000}", "training.cpu_threads"),
        ("evaluation: {bootstrap: 10000000000}", "evaluation.bootstrap"),
        ("evaluation: {sw_batch_size: 1000000000}", "evaluation.sw_batch_size"),
        ("evaluation: {block: 100000000}", "evaluation.block"),
        ("max_slide_pixels: 100000000000000", "max_slide_pixels"),
        ("index_factor: 1000000000000", "index_factor"),
        # a stride of 0 raised ZeroDivisionError out of the tile check; negative widths reached MONAI
        ("network: {kind: UNet, channels: [8, 16], strides: [0]}", "network.UNet.strides.0"),
        ("network: {kind: UNet, channels: [8, 16], strides: [-2]}", "network.UNet.strides.0"),
        ("network: {kind: UNet, channels: [0, 16], strides: [2]}", "network.UNet.channels.0"),
        ("network: {kind: UNet, channels: [100000, 16], strides: [2]}", "network.UNet.channels.0"),
        ("network: {kind: BasicUNet, features: [-1, 16, 32, 64, 128, 16]}", "network.BasicUNet.features.0"),
        (
            "network: {kind: SegResNet, blocks_down: [1, -1], blocks_up: [1]}",
            "network.SegResNet.blocks_down.1",
        ),
    ],
)
def test_hostile_settings_are_refused_with_their_place(tmp_path: Path, setting: str, place: str) -> None:
    text = "name: x\ntile: 32\n" if not setting.startswith("tile:") else "name: x\n"
    if not setting.startswith("network:"):
        text += "network: {kind: UNet, channels: [8, 16], strides: [2]}\n"
    with pytest.raises(ValidityProfileError, match=re.escape(place)):
        load_validity_profile(_write(tmp_path, text + setting + "\n"))


def test_targets_must_name_classes_of_the_dataset_profile(tmp_path: Path) -> None:
    # a misspelt class was held to the default target without a word
    prof = load_validity_profile(_write(tmp_path, "name: x\nevaluation: {targets: {MN: 0.9, mn: 0.7}}\n"))
    prof.check_classes(["MN", "mn", "MM"])
    with pytest.raises(
        ValidityProfileError, match=r"names mn, not a class of the dataset profile \(MN, MM\)"
    ):
        prof.check_classes(["MN", "MM"])


def test_a_stored_profile_beyond_the_new_bounds_still_loads_and_reports(tmp_path: Path) -> None:
    # results-1.1.json with seed 2**33, max_slide_pixels 5e9 and lambda_dice = lambda_ce = 0 (a
    # run the dqm before the bounds made): report, diff and --baseline refused it (exit 2); the
    # bounds are for a profile file a run is about to use, not for a result's record of one
    from typer.testing import CliRunner

    from dqm.cli import app
    from dqm.results import QualityResult

    fixtures = Path(__file__).parents[1] / "fixtures" / "results"
    stored = fixtures / "unbounded-validity-1.1.json"
    result = QualityResult.load(stored)
    assert result.validity is not None
    prof = result.validity.profile
    assert (prof.seed, prof.max_slide_pixels, prof.training.lambda_dice) == (2**33, 5_000_000_000, 0)
    runner = CliRunner()
    res = runner.invoke(app, ["report", str(stored), "-o", str(tmp_path / "report.html")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(
        app, ["diff", str(fixtures / "results-1.1.json"), str(stored), "--format", "markdown"]
    )
    assert res.exit_code == 0, res.output
    text = prof.model_dump_json(exclude={"sha256"})
    (tmp_path / "p.yaml").write_text(text)  # the same settings as a profile file: refused
    with pytest.raises(ValidityProfileError) as err:
        load_validity_profile(tmp_path / "p.yaml")
    assert (
        "seed" in str(err.value)
        and "max_slide_pixels" in str(err.value)
        and "nothing learnt" in str(err.value)
    )
