"""Label-mask corruption (shift, erode, swap): what the GlaS validity benchmark corrupts."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dqm.pixels.masks import shifted
from dqm.validity.corrupt import REPORT, corrupt_batch


def _disc_mask(h: int, w: int, cy: int, cx: int, r: int) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    return np.where((yy - cy) ** 2 + (xx - cx) ** 2 <= r * r, 255, 0).astype(np.uint8)


@pytest.fixture
def mask_batch(tmp_path: Path) -> Path:
    root = tmp_path / "batch"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rows = []
    for k in range(6):
        sid = f"img{k}"
        h, w = (48, 64) if k < 5 else (40, 50)  # one image of another size: a swap resizes
        Image.fromarray(np.full((h, w, 3), 200, np.uint8)).save(root / "images" / f"{sid}.png")
        Image.fromarray(_disc_mask(h, w, 20, 12 + 5 * k, 9)).save(root / "masks" / f"{sid}.png")
        rows.append(
            {"slide_id": sid, "image_path": f"images/{sid}.png", "annotation_path": f"masks/{sid}.png"}
        )
    with (root / "manifest.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return root


def _mask(root: Path, sid: str) -> np.ndarray:
    return np.asarray(Image.open(root / "masks" / f"{sid}.png"))


def test_each_mask_corruption_does_what_it_says(mask_batch: Path, tmp_path: Path) -> None:
    before = {p.name: p.read_bytes() for p in (mask_batch / "masks").iterdir()}
    dst = tmp_path / "corrupted"
    done = corrupt_batch(mask_batch, dst, fraction=1.0, seed=3, kinds=("shift", "erode", "swap"))
    assert {p.name: p.read_bytes() for p in (mask_batch / "masks").iterdir()} == before  # source untouched
    assert sorted(c.kind for c in done) == ["erode", "erode", "shift", "shift", "swap", "swap"]
    for c in done:
        old = np.asarray(Image.open(mask_batch / "masks" / f"{c.slide_id}.png"))
        new = _mask(dst, c.slide_id)
        assert new.shape == old.shape and set(np.unique(new)) <= {0, 255}
        if c.kind == "erode":
            assert 0 < np.count_nonzero(new) < 0.5 * np.count_nonzero(old)
            assert not (new & ~old).any()  # only shrinks
        elif c.kind == "shift":
            dx, dy = (int(v.split("=")[1]) for v in c.detail.removesuffix(" px").split())
            assert (dx, dy) != (0, 0)
            ys, xs = np.nonzero(old)
            inside = (ys + dy >= 0) & (ys + dy < old.shape[0]) & (xs + dx >= 0) & (xs + dx < old.shape[1])
            expected = np.zeros_like(old)
            expected[ys[inside] + dy, xs[inside] + dx] = 255  # moved; what leaves the image is lost
            assert np.array_equal(new, expected)
        else:
            other = c.detail.removeprefix("the mask of ")
            src = np.asarray(Image.open(mask_batch / "masks" / f"{other}.png"))
            if src.shape == new.shape:
                assert np.array_equal(new, src)
            assert not np.array_equal(new, old)
    for sid in {f"img{k}" for k in range(6)} - {c.slide_id for c in done}:
        assert (dst / "masks" / f"{sid}.png").read_bytes() == before[f"{sid}.png"]
    with (dst / REPORT).open(encoding="utf-8") as fh:
        assert sorted(r["slide_id"] for r in csv.DictReader(fh)) == sorted(c.slide_id for c in done)
    again = corrupt_batch(mask_batch, dst, fraction=1.0, seed=3, kinds=("shift", "erode", "swap"), force=True)
    assert again == done  # seeded


def test_a_lone_swap_is_shifted_instead(mask_batch: Path, tmp_path: Path) -> None:
    done = corrupt_batch(mask_batch, tmp_path / "c", fraction=1 / 6, seed=0, kinds=("swap",))
    assert [c.kind for c in done] == ["shift"]


def test_native_kinds_leave_masks_alone(mask_batch: Path, tmp_path: Path) -> None:
    assert corrupt_batch(mask_batch, tmp_path / "c", fraction=0.5, seed=0, kinds=("class",)) == []
    with pytest.raises(ValueError, match="kinds must be among"):
        corrupt_batch(mask_batch, tmp_path / "d", kinds=("blur",))


def _truth_from_mask(array: np.ndarray, ds: float, profile_path: Path) -> np.ndarray:
    """The validity run's annotated label map of a mask, through the reader and the rasteriser."""
    from dqm.coords import Frame
    from dqm.profile import load_profile
    from dqm.raster import label_layers, rasterise
    from dqm.readers import mask, resolve_classes

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    prof = load_profile(profile_path)
    (ann,) = resolve_classes(mask.read(buf.getvalue(), "m.png", []), prof)
    layers = label_layers(ann, {c: k + 1 for k, c in enumerate(prof.class_ids)})
    h, w = array.shape
    return rasterise(layers, Frame(downsample=ds), (int(h / ds), int(w / ds)))


def _sampled(array: np.ndarray, ds: float, shape: tuple[int, int]) -> np.ndarray:
    """The mask itself at the working pixels' centres."""
    rows = np.floor((np.arange(shape[0]) + 0.5) * ds).astype(int)
    cols = np.floor((np.arange(shape[1]) + 0.5) * ds).astype(int)
    return (array[np.ix_(rows, cols)] > 0).astype(np.uint8)


GLAS_PROFILE = Path(__file__).resolve().parents[2] / "examples" / "glas" / "glas.yaml"


@pytest.mark.parametrize("ds", [1.0, 3.2258, 4.0])
def test_validity_reads_a_label_mask_exactly(ds: float) -> None:
    """No lossy round trip: the regions the reader outlines at pixel edges, rasterised by centre,
    are the mask sampled at the working pixels' centres, holes and corner-touching regions included."""
    rng = np.random.default_rng(5)
    array = np.where(rng.random((90, 130)) < 0.45, 255, 0).astype(np.uint8)  # ragged regions, holes
    array[30:60, 40:90] = 255
    array[40:50, 55:70] = 0  # a hole
    truth = _truth_from_mask(array, ds, GLAS_PROFILE)
    assert np.array_equal(truth, _sampled(array, ds, truth.shape))


def test_validity_reads_a_real_glas_mask_exactly(real_data: Path) -> None:
    glas = real_data / "segmentation" / "glas"
    first = glas / "masks" / "testA_1.png"
    if not first.is_file():
        pytest.skip(f"no GlaS mask at {first}")
    array = np.where(np.asarray(Image.open(first)) > 0, 255, 0).astype(np.uint8)
    ds = 2.0 / 0.62  # the smoke profile's 2 µm/px on GlaS's 0.62 µm/px
    truth = _truth_from_mask(array, ds, GLAS_PROFILE)
    assert truth.any() and np.array_equal(truth, _sampled(array, ds, truth.shape))


@pytest.mark.parametrize("dy, dx", [(0, 0), (3, -5), (-7, 2), (48, 0), (0, -64), (-100, 100)])
def test_a_shifted_mask_moves_and_loses_what_leaves_it(dy: int, dx: int) -> None:
    """The one ``shifted`` (dqm.pixels.artefacts) the fold rule and the corruption share: a shift
    of the mask's side or more leaves it empty (the corruption's own copy raised on it)."""
    mask = np.random.default_rng(1).integers(0, 3, (48, 64)).astype(np.uint8)
    expected = np.zeros_like(mask)
    for y, x in np.ndindex(*mask.shape):
        if 0 <= y + dy < 48 and 0 <= x + dx < 64:
            expected[y, x] = mask[y + dy, x + dx]
    assert np.array_equal(shifted(mask, dy, dx), expected)
