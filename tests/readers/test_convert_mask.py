"""dqm convert --to mask: label images from any format, and a mask that survives the round trip."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from dqm.cli import app
from dqm.convert import SlideFacts, convert_file, mask_values
from dqm.profile import Profile


def _png(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


def _profile(values: dict[int, str] | None = None) -> Profile:
    classes = ({"id": "a", "name": "a"}, {"id": "b", "name": "b"}, {"id": "c", "name": "c"})
    return Profile(name="p", classes=classes, clinical={}, mask_values=values or {})


def _labels(rng: np.random.Generator) -> np.ndarray:
    """Ragged regions of three values with holes and corner-touching pixels."""
    a = np.zeros((70, 90), np.uint8)
    a[rng.random(a.shape) < 0.3] = 1
    a[10:40, 10:50] = 2
    a[18:30, 20:35] = 0  # a hole in 2
    a[22:26, 25:28] = 3  # an island in the hole
    a[50:65, 60:85] = 3
    return a


def _read(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path))


@pytest.mark.parametrize("via", ["native", "qupath"])
def test_a_mask_survives_conversion_to_polygons_and_back(tmp_path: Path, via: str) -> None:
    """mask -> polygons (with holes) -> mask gives the same pixels: outlines on pixel edges, filled by centre."""
    profile = _profile({1: "a", 2: "b", 3: "c"})
    original = _labels(np.random.default_rng(1))
    src = tmp_path / "S1.png"
    src.write_bytes(_png(original))
    (poly,) = convert_file(src, via, tmp_path / via, profile).written  # type: ignore[arg-type]
    slide = SlideFacts("S1.png", 90, 70)  # QuPath GeoJSON does not state the slide's size
    (back,) = convert_file(poly, "mask", tmp_path / "back", profile, slide=slide).written
    assert back.suffix == ".png"
    np.testing.assert_array_equal(_read(back), original)


def test_values_follow_the_profile_else_the_taxonomy(tmp_path: Path) -> None:
    assert mask_values(_profile({255: "b", 7: "b", 9: "a"})) == {"a": 9, "b": 7}
    assert mask_values(_profile()) == {"a": 1, "b": 2, "c": 3}
    profile = _profile({300: "a", 2: "b"})  # 300 needs 16 bits
    src = tmp_path / "S.png"
    labels = np.zeros((20, 30), np.uint8)
    labels[2:8, 2:8], labels[10:15, 10:20], labels[16:19, 1:4] = 1, 2, 3
    src.write_bytes(_png(labels))
    res = convert_file(src, "native", tmp_path / "n", _profile({1: "a", 2: "b", 3: "c"}))
    (back,) = convert_file(res.written[0], "mask", tmp_path / "m", profile).written
    out = _read(back)
    assert out.dtype == np.uint16 and out[4, 4] == 300 and out[12, 12] == 2
    assert out[17, 2] == 0  # class c has no value in this profile: left out, and said
    res = convert_file(res.written[0], "mask", tmp_path / "m2", profile)
    assert any("1 lesion(s) whose class has no mask value left out" in p for p in res.problems)


def test_downsample_size_limit_and_missing_size(tmp_path: Path) -> None:
    profile = _profile({1: "a"})
    labels = np.zeros((40, 60), np.uint8)
    labels[8:24, 12:36] = 1
    src = tmp_path / "S.png"
    src.write_bytes(_png(labels))
    (native,) = convert_file(src, "native", tmp_path / "n", profile).written
    (small,) = convert_file(native, "mask", tmp_path / "d", profile, downsample=4).written
    np.testing.assert_array_equal(_read(small), labels[2::4, 2::4])  # centres of 4x4 blocks
    huge = SlideFacts("big.svs", 200_000, 100_000)
    qupath = tmp_path / "q.geojson"
    qupath.write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Polygon",'
        '"coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]]]},"properties":{"classification":{"name":"a"}}}]}'
    )
    res = convert_file(qupath, "mask", tmp_path / "q", profile)
    assert not res.written and "pass --slide" in res.problems[0]
    res = convert_file(qupath, "mask", tmp_path / "q", profile, slide=huge)
    assert not res.written and "pixel limit: pass a larger --downsample" in res.problems[0]
    (ok,) = convert_file(qupath, "mask", tmp_path / "q", profile, slide=huge, downsample=64).written
    assert _read(ok).shape == (1562, 3125)


def test_cli_to_mask(tmp_path: Path) -> None:
    labels = np.zeros((30, 40), np.uint8)
    labels[5:15, 5:25] = 255
    src = tmp_path / "S.png"
    src.write_bytes(_png(labels))
    profile = tmp_path / "p.yaml"
    profile.write_text(
        "name: p\nversion: '1'\nclasses:\n  - {id: gland, name: gland, colour: '#e15759'}\n"
        "mask_values: {255: gland}\nclinical: {}\n"
    )
    runner = CliRunner()
    native = runner.invoke(app, ["convert", str(src), "--out", str(tmp_path / "n"), "-p", str(profile)])
    assert native.exit_code == 0, native.output
    doc = (tmp_path / "n" / "S.json").read_text()
    assert '"class": "gland"' in doc  # the mask's 255 is written as the class it stands for
    back = runner.invoke(
        app,
        [
            "convert",
            str(tmp_path / "n" / "S.json"),
            "--to",
            "mask",
            "--out",
            str(tmp_path / "m"),
            "-p",
            str(profile),
        ],
    )
    assert back.exit_code == 0, back.output
    np.testing.assert_array_equal(_read(tmp_path / "m" / "S.png"), labels)
    wrong = runner.invoke(app, ["convert", str(src), "--downsample", "2", "--out", str(tmp_path / "x")])
    assert wrong.exit_code == 2 and "--downsample applies to --to mask only" in wrong.output
