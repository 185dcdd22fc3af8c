"""Stain and acquisition descriptors of one slide (dqm/pixels/stain.py)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dqm.pixels.stain import (
    _covariance,
    dqt_tables,
    jpeg_quality,
    macenko_vectors,
    optical_density,
    percentiles,
    quality_of_table,
    scanner,
    stain_descriptors,
)
from dqm.slide_io import ProbeOptions, probe_slide

H = np.array([0.65, 0.70, 0.29])
E = np.array([0.07, 0.99, 0.11])


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def synthetic_he(
    h: np.ndarray = H, e: np.ndarray = E, side: int = 96, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """An RGBA image whose left three quarters are tissue stained with exactly ``h`` and ``e`` (random
    concentrations, some pixels one stain only), the rest white glass; and its tissue mask."""
    rng = np.random.default_rng(seed)
    conc = rng.gamma(2.0, 0.35, size=(side, side, 2))
    conc[: side // 4, :, 1] *= 0.05  # nearly pure haematoxylin rows
    conc[side // 4 : side // 2, :, 0] *= 0.05  # nearly pure eosin rows
    od = conc @ np.stack([_unit(h), _unit(e)])
    rgb = np.clip(255.0 * np.exp(-od) - 1.0, 0, 255)
    tissue = np.zeros((side, side), dtype=bool)
    tissue[:, : 3 * side // 4] = True
    rgb[~tissue] = 245
    rgba = np.dstack([rgb.round().astype(np.uint8), np.full((side, side), 255, np.uint8)])
    return rgba, tissue


def _angle(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip(_unit(a) @ _unit(b), -1, 1))))


def test_known_stain_vectors_are_recovered() -> None:
    rgba, tissue = synthetic_he()
    s = stain_descriptors(rgba, tissue)
    assert s is not None
    assert _angle(np.array([s.h_od_r, s.h_od_g, s.h_od_b]), H) < 4
    assert _angle(np.array([s.e_od_r, s.e_od_g, s.e_od_b]), E) < 4
    assert s.background == pytest.approx(245 / 255, abs=0.01)
    assert s.h_p99 > s.h_p50 > 0 and s.e_p99 > s.e_p50 > 0
    assert s.pixels == tissue.sum()


def test_a_colour_shift_moves_the_vectors_and_not_a_stronger_stain() -> None:
    shifted_e = np.array([0.30, 0.90, 0.10])
    base = stain_descriptors(*synthetic_he())
    other = stain_descriptors(*synthetic_he(e=shifted_e))
    assert base is not None and other is not None
    assert _angle(np.array([other.e_od_r, other.e_od_g, other.e_od_b]), shifted_e) < 4
    assert other.e_od_r - base.e_od_r > 0.15


def test_vectors_do_not_depend_on_eigenvector_signs() -> None:
    rgba, tissue = synthetic_he()
    od = optical_density(rgba[..., :3][tissue])
    od = od[(od > 0.15).all(axis=1)]
    found = macenko_vectors(od)
    assert found is not None
    h, e, spread = found
    assert np.all(h > 0) and np.all(e > 0) and spread > 0


@pytest.mark.parametrize(
    "rgba,tissue",
    [
        (np.full((20, 20, 4), 255, np.uint8), np.zeros((20, 20), bool)),  # no tissue
        (
            np.dstack([np.full((50, 50, 3), (120, 60, 150), np.uint8), np.full((50, 50), 255, np.uint8)]),
            np.ones((50, 50), bool),
        ),  # one colour: no plane
        (np.zeros((5, 5), np.uint8), np.ones((5, 5), bool)),  # not a colour image
        (np.zeros((5, 5, 4), np.uint8), np.ones((4, 4), bool)),  # mask of another size
    ],
    ids=["no tissue", "one colour", "grey", "mask mismatch"],
)
def test_degenerate_images_give_no_descriptor(rgba: np.ndarray, tissue: np.ndarray) -> None:
    assert stain_descriptors(rgba, tissue) is None


def test_all_tissue_has_no_background_brightness() -> None:
    rgba, _ = synthetic_he()
    s = stain_descriptors(rgba, np.ones(rgba.shape[:2], bool))
    assert s is not None and s.background is None


@pytest.mark.parametrize("quality", [10, 30, 50, 75, 90, 97])
def test_jpeg_quality_from_the_quantisation_tables(quality: int) -> None:
    buf = io.BytesIO()
    rgba, _ = synthetic_he(side=32)
    Image.fromarray(rgba[..., :3]).save(buf, format="JPEG", quality=quality)
    tables = dqt_tables(buf.getvalue())
    assert set(tables) == {0, 1}
    estimate, how = jpeg_quality(tables)
    assert how == "quantisation table"
    assert estimate is not None and abs(estimate - quality) <= 1
    with Image.open(io.BytesIO(buf.getvalue())) as img:
        assert jpeg_quality(img.quantization)[0] == estimate  # Pillow's order gives the same answer


def test_jpeg_quality_degenerate_input() -> None:
    assert dqt_tables(b"") == {} and dqt_tables(b"\xff\xd8\xff\xdb\x00") == {}
    assert dqt_tables(b"\xff\xd8\xff\xdb\xff\xff" + bytes(10)) == {}  # a length past the end
    assert quality_of_table([0] * 64) is None and quality_of_table([1] * 10) is None
    assert jpeg_quality({}, "Aperio Image Library v11 46000x32914 JPEG/RGB Q=30;") == (30.0, "header")
    assert jpeg_quality(None, "Q=300") == (None, None)


def test_scanner_from_the_header() -> None:
    assert scanner({"dicom.Manufacturer": "Leica", "dicom.ManufacturerModelName": "GT450"}) == "Leica GT450"
    assert scanner({"tiff.Make": "Acme", "tiff.Model": "Acme"}) == "Acme"
    assert scanner({"aperio.ScanScope ID": "SS1234", "tiff.Make": " "}) == "SS1234"
    assert scanner({"openslide.vendor": "generic-tiff"}) is None
    long = scanner({"tiff.Model": "Acme GT450 " * 50})
    assert long is not None and long.startswith("Acme GT450") and len(long) <= 80
    # cut like any text from the batch: never through a word or a name the masker knows only whole
    assert scanner({"tiff.Model": "x" * 500}) is None
    assert scanner({"tiff.Model": "y" * 60 + " Patient name: Hong Gildong"}) == "y" * 60 + " Patient name:"


def test_a_real_svs_gets_descriptors_quality_and_scanner(real_data: Path) -> None:
    probe = probe_slide(real_data / "slides" / "CMU-1-Small-Region.svs", "CMU-1-Small-Region.svs")
    assert probe.compression == "jpeg" and probe.jpeg_quality == 30  # its header says Q=30
    assert probe.scanner == "CPAPERIOCS"
    assert probe.tissue is not None and probe.tissue.stain is not None
    s = probe.tissue.stain
    assert s.h_od_r > s.e_od_r  # haematoxylin absorbs more red
    assert 0.8 < (s.background or 0) <= 1


def test_a_png_has_descriptors_and_no_jpeg_quality(tmp_path: Path) -> None:
    rgba, _ = synthetic_he(side=128)
    Image.fromarray(rgba).save(tmp_path / "he.png")
    probe = probe_slide(tmp_path / "he.png", "he.png")
    assert probe.jpeg_quality is None and probe.scanner is None
    assert probe.tissue is not None and probe.tissue.stain is not None


RECORDED = {
    "segmentation/glas/images/testA_1.png": {
        "h_od_r": 0.5347004665695054,
        "h_od_g": 0.8223893193195296,
        "h_od_b": 0.19434818887634114,
        "e_od_r": 0.4898344140139667,
        "e_od_g": 0.6828350631481133,
        "e_od_b": 0.542031847203747,
        "angle_spread": 21.749333970128582,
        "od_mean": 0.21722503300884569,
        "h_p50": 0.4902454596191071,
        "h_p99": 1.547437643281745,
        "e_p50": 0.259476562466917,
        "e_p99": 0.9027912418809794,
        "background": 0.9340378212753989,
        "pixels": 92837,
    },
    "slides/CMU-1-Small-Region.svs": {
        "h_od_r": 0.7596093578160992,
        "h_od_g": 0.551282313796161,
        "h_od_b": 0.345081778733338,
        "e_od_r": 0.1863491296284879,
        "e_od_g": 0.8916980899865141,
        "e_od_b": 0.41249062801608904,
        "angle_spread": 39.152070397874034,
        "od_mean": 0.6318171735146263,
        "h_p50": 0.42323806079489723,
        "h_p99": 2.4650183944060386,
        "e_p50": 0.874530105736193,
        "e_p99": 2.3772063721512793,
        "background": 0.9557297473166562,
        "pixels": 91445,
    },
}
"""Descriptors of two real images as the unoptimised code computed them (float64 throughout, one
``np.percentile`` call per statistic), recorded before the stain step was made faster."""


@pytest.mark.parametrize("rel", sorted(RECORDED))
def test_real_descriptors_are_those_recorded_before_the_speed_up(real_data: Path, rel: str) -> None:
    probe = probe_slide(real_data / rel, Path(rel).name, ProbeOptions(artefacts=False))
    assert probe.tissue is not None and probe.tissue.stain is not None
    found = probe.tissue.stain.model_dump()
    assert found.keys() == RECORDED[rel].keys()
    for key, value in RECORDED[rel].items():
        assert found[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 99, 100, 101, 17_448])
def test_percentiles_are_numpys_to_the_bit(n: int) -> None:
    rng = np.random.default_rng(n)
    for values in (rng.normal(size=n) * 3.7 + 0.2, np.round(rng.gamma(2.0, 0.4, size=n), 1)):  # ties too
        for qs in ([50, 99], [1.0, 99.0], [0, 100], [0.0, 33.3, 66.7, 99.99]):
            expected = np.percentile(values, qs)
            found = percentiles(values, qs)
            assert found.dtype == expected.dtype
            assert np.array_equal(found, expected), (values, qs)


def test_percentiles_with_nan_are_numpys() -> None:
    values = np.array([0.5, np.nan, 2.0])
    assert np.array_equal(percentiles(values, [50, 99]), np.percentile(values, [50, 99]), equal_nan=True)


@pytest.mark.parametrize("n", [2, 3, 200, 1_000, 13_526, 100_000])
def test_covariance_is_numpys_to_the_bit(n: int) -> None:
    """The stain vectors' covariance is ``np.cov``'s, every bit: optical densities of 8-bit values
    (the look-up table's few distinct values, in any order) and spread floats, with an offset that
    makes the order of the channel sums' additions matter."""
    rng = np.random.default_rng(n)
    table = optical_density(np.arange(256, dtype=np.uint8))
    for od in (table[rng.integers(0, 256, (n, 3))], rng.gamma(2.0, 0.4, (n, 3)) + 1e3 * rng.random(3)):
        expected = np.cov(od, rowvar=False)
        found = _covariance(od)
        assert found.dtype == expected.dtype and found.shape == expected.shape
        assert found.tobytes() == expected.tobytes()
        fortran = np.asfortranarray(od)  # numpy sums these pairwise: np.cov's own path
        assert _covariance(fortran).tobytes() == np.cov(fortran, rowvar=False).tobytes()
