"""Validity profiles: the built-in ones load, bad ones are refused with the reason and place."""

from __future__ import annotations

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
