"""The label mask fill (dqm.raster): the same pixels as the sorted scanline fill, its work counted
before it is done, and ``dqm convert --to mask`` refusing a mask whose fill is over the limit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely
from PIL import Image

from dqm import raster
from dqm.convert import convert_file
from dqm.coords import Frame
from dqm.profile import Limits, Profile
from dqm.raster import label_layers, raster_crossings, rasterise
from dqm.readers import read_annotation, resolve_classes
from dqm.synth import build_batch
from dqm.synth.shapes import blob


def _sorted_fill(rings: list[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """The reference: per row, each edge's crossing of the row's centre line (half-open in y),
    sorted, paired, the centres from one crossing (included) to the next (excluded) filled."""
    rows, cols = shape
    out = np.zeros(shape, bool)
    edges = [(a, b) for ring in rings for a, b in zip(ring, np.roll(ring, -1, axis=0), strict=True)]
    for r in range(rows):
        y = r + 0.5
        xs = sorted(
            a[0] + (r + 0.5 - a[1]) * ((b[0] - a[0]) / (b[1] - a[1]))
            for a, b in edges
            if a[1] != b[1] and min(a[1], b[1]) <= y < max(a[1], b[1])
        )
        for xa, xb in zip(xs[0::2], xs[1::2], strict=True):
            c0 = int(np.clip(np.ceil(xa - 0.5), 0, cols))
            out[r, c0 : int(np.clip(np.ceil(xb - 0.5), 0, cols))] = True
    return out


@pytest.mark.parametrize("seed", range(4))
def test_the_fill_is_the_sorted_scanline_fill(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for k in range(40):
        h, w = (int(v) for v in rng.integers(1, 90, 2))
        rings = [rng.uniform(-10, max(h, w) + 10, (int(rng.integers(3, 40)), 2))]
        if k % 2:
            rings.append(rng.uniform(0, max(h, w), (int(rng.integers(3, 9)), 2)))
        if k % 3 == 0:
            rings = [np.round(ring * 2) / 2 for ring in rings]  # vertices on centre lines and edges
        np.testing.assert_array_equal(raster.fill_rings(rings, (h, w)), _sorted_fill(rings, (h, w)))


def test_narrow_bands_of_cells_fill_what_one_band_fills(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    rings = [blob(rng, 300, 200, 100, 120), blob(rng, 290, 190, 30, 40)[::-1]]
    whole = raster.fill_rings(rings, (400, 600))
    monkeypatch.setattr(raster, "CELLS_A_PASS", 1)  # a row a band
    assert np.array_equal(whole, raster.fill_rings(rings, (400, 600))) and whole.any()


def test_real_glas_outlines_fill_their_masks_back(real_data: Path) -> None:
    root = real_data / "segmentation" / "glas" / "masks"
    if not root.is_dir():
        pytest.skip(f"GlaS not found at {root}")
    profile = Profile(
        name="glas", classes=({"id": "gland", "name": "gland"},), clinical={}, mask_values={255: "gland"}
    )
    for path in sorted(root.glob("*.png"))[::8]:  # 21 of the 165
        (ann,) = resolve_classes(read_annotation(path, path.name), profile)
        with Image.open(path) as image:
            labels = np.asarray(image)
        filled = rasterise(label_layers(ann, {"gland": 1}), Frame(), labels.shape)
        np.testing.assert_array_equal(filled == 1, labels == 255)


def test_synth_outlines_fill_as_the_sorted_fill(tmp_path: Path, profile: Profile) -> None:
    build_batch(tmp_path / "b", 4, seed=2, defect_rate=0.0, max_size=512)
    index = {cid: k + 1 for k, cid in enumerate(profile.class_ids)}
    painted = 0
    for path in sorted((tmp_path / "b" / "annotations").glob("*.json")):
        (ann,) = resolve_classes(read_annotation(path, path.name), profile)
        frame, shape = Frame(downsample=2), (int(ann.height or 0) // 2, int(ann.width or 0) // 2)
        expected = np.zeros(shape, np.uint8)
        for label, geom in label_layers(ann, index):
            for poly in getattr(geom, "geoms", [geom]):
                rings = [poly.exterior.coords, *(i.coords for i in poly.interiors)]
                local = [frame.from_level0_xy(np.asarray(r, float)) for r in rings]
                expected[_sorted_fill(local, shape)] = label
        np.testing.assert_array_equal(rasterise(label_layers(ann, index), frame, shape), expected)
        painted += int(expected.astype(bool).sum())
    assert painted > 0


def _zigzag(n: int, width: float, height: float) -> np.ndarray:
    """``n`` (even) vertices whose every edge but two crosses every row from 1 to ``height - 1``."""
    xs = np.linspace(1, width - 1, n)
    ys = np.where(np.arange(n) % 2, height - 1, 1.0)
    return np.vstack([np.column_stack([xs, ys]), [[width - 1, height - 0.5], [1, height - 0.5]]])


def test_the_work_is_counted_before_and_is_what_the_fill_does(monkeypatch: pytest.MonkeyPatch) -> None:
    zigzag = shapely.Polygon(_zigzag(1000, 300, 200))
    rng = np.random.default_rng(3)
    donut = shapely.Polygon(blob(rng, 150, 100, 60, 80), [blob(rng, 150, 100, 10, 20)])
    lesions = [(1, zigzag), (2, donut), (1, shapely.box(5000, 5000, 5010, 5010))]  # the last is outside
    made: list[int] = []
    fill, band = raster.fill_rings, raster._fill_band

    def counting(*args: np.ndarray | int) -> None:
        lo, hi = args[-2:]
        made.append(int((hi - lo).sum()))  # type: ignore[operator]
        band(*args)  # type: ignore[arg-type]

    def cells(rings: list[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
        made.append(shape[0] * (shape[1] + 1))  # each cell of the box counted, summed, painted
        return fill(rings, shape)

    monkeypatch.setattr(raster, "_fill_band", counting)
    monkeypatch.setattr(raster, "fill_rings", cells)
    work = raster_crossings(lesions, Frame(), (200, 300))
    # rows 1 to 198 (centres 1.5..198.5) crossed by each edge; the box: rows 1 to 199, columns 1 to 299
    assert work[0] == 1000 * 198 + 199 * (299 + 1) and work[1] > 0 and work[2] == 0
    rasterise(lesions, Frame(), (200, 300))
    assert sum(made) == sum(work)
    assert raster_crossings(lesions, Frame(downsample=4), (50, 75))[0] == 1000 * 50 + 50 * (75 + 1)


def test_each_polygon_of_a_multipolygon_is_filled_in_its_own_box(monkeypatch: pytest.MonkeyPatch) -> None:
    # each part was filled across the whole lesion's box: 2,000 squares of 2 pixels scattered over
    # an 8000² mask took 17 s of CPU, counted as 8,000 crossings
    squares = [shapely.box(1, 1, 3, 3), shapely.box(290, 190, 292, 192), shapely.box(150, 2, 152, 4)]
    parts = shapely.MultiPolygon(squares)
    shapes: list[tuple[int, int]] = []
    fill = raster.fill_rings

    def boxes(rings: list[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
        shapes.append(shape)
        return fill(rings, shape)

    monkeypatch.setattr(raster, "fill_rings", boxes)
    painted = rasterise([(1, parts)], Frame(), (200, 300))
    assert shapes == [(3, 3)] * 3  # rows and columns 1 to 3 of the first square's box, and so on
    assert np.array_equal(painted, rasterise([(1, sq) for sq in squares], Frame(), (200, 300)))
    assert int(painted.sum()) == 3 * 4
    # each square: two edges crossing two rows, and its box of 3 rows of 3 + 1 cells
    assert raster_crossings([(1, parts)], Frame(), (200, 300)) == [3 * (2 * 2 + 3 * 4)]


def _zigzag_file(tmp_path: Path, n: int) -> Path:
    """A 300x200 slide's annotation: a square as large as the slide (painted first, little work),
    a small square, then a zigzag outline of ``n`` vertices (the most work: it is painted second)."""
    ring = _zigzag(n, 300, 200).tolist()
    big = [[0, 0], [300, 0], [300, 200], [0, 200], [0, 0]]
    square = [[10, 10], [20, 10], [20, 20], [10, 20], [10, 10]]
    lesions = [
        {"id": k, "class": "bcc", "geometry": {"type": "Polygon", "coordinates": [outline]}}
        for k, outline in enumerate((big, square, [*ring, ring[0]]), start=1)
    ]
    doc = {
        "format": "dqm.annotation/1",
        "slide": {"file": "S.tiff", "width": 300, "height": 200},
        "lesions": lesions,
    }
    path = tmp_path / "S.json"
    path.write_text(json.dumps(doc))
    return path


def test_convert_refuses_a_mask_whose_fill_is_over_the_limit(tmp_path: Path, profile: Profile) -> None:
    # a zigzag outline of 999,000 vertices across 348 rows took 35 s of CPU (345 million
    # crossings), and nothing bounded it: the crossings and cells are now counted first and checked
    src = _zigzag_file(tmp_path, 1000)
    zigzag = 1000 * 198 + 199 * 300  # its edges cross rows 1 to 198; its box: rows 1-199, columns 1-299
    big = 2 * 200 + 200 * 301  # two sides across 200 rows; its box is the mask, a column more
    square = 2 * 10 + 11 * 12  # two sides across 10 rows; its box: rows and columns 10 to 20
    work = big + square + zigzag
    tight = profile.model_copy(update={"limits": Limits(raster_crossings=work - 1)})
    res = convert_file(src, "mask", tmp_path / "out", tight)
    assert not res.written and len(res.problems) == 1
    said = res.problems[0]
    assert f"takes {work:,} steps" in said and f"limits.raster_crossings ({work - 1:,})" in said
    assert f"; lesion /lesions/2 alone takes {zigzag:,} (a larger" in said
    (written,) = convert_file(src, "mask", tmp_path / "ok", tight, downsample=2).written  # 100 rows
    assert np.asarray(Image.open(written)).any()
    enough = profile.model_copy(update={"limits": Limits(raster_crossings=work)})
    (written,) = convert_file(src, "mask", tmp_path / "at", enough).written
    assert np.asarray(Image.open(written)).any()


def test_convert_counts_the_cells_a_thin_outline_spans(tmp_path: Path, profile: Profile) -> None:
    # a thin diagonal sliver crosses few rows but is filled across its whole box: 100 of them on
    # an 8000² mask made 1.6 million crossings and took 21 s of CPU, well under the limit
    sliver = [[0, 0], [1, 0], [300, 200], [299, 200], [0, 0]]
    doc = {
        "format": "dqm.annotation/1",
        "slide": {"file": "S.tiff", "width": 300, "height": 200},
        "lesions": [{"id": 1, "class": "bcc", "geometry": {"type": "Polygon", "coordinates": [sliver]}}],
    }
    src = tmp_path / "S.json"
    src.write_text(json.dumps(doc))
    work = 2 * 200 + 200 * 301  # two edges across 200 rows; the box is the mask, a column more
    tight = profile.model_copy(update={"limits": Limits(raster_crossings=work - 1)})
    res = convert_file(src, "mask", tmp_path / "out", tight)
    assert not res.written and f"takes {work:,} steps" in res.problems[0]
    enough = profile.model_copy(update={"limits": Limits(raster_crossings=work)})
    (written,) = convert_file(src, "mask", tmp_path / "at", enough).written
    assert np.asarray(Image.open(written)).any()


def test_validity_names_the_lesion_that_crosses_a_row_most(tmp_path: Path, profile: Profile) -> None:
    # the first lesion painted (the largest) is not the one named: the zigzag, painted second
    # and third in the file, crosses one row 40 times; the run's slide is left out for it
    from dqm.runner import RunOptions, run_batch
    from dqm.validity.data import select_slides

    build_batch(tmp_path, 2, seed=11, defect_rate=0.0, max_size=512)
    path = tmp_path / "annotations" / "S00001.json"
    doc = json.loads(path.read_text())
    label = doc["lesions"][0]["class"]
    ring = _zigzag(40, 300, 200).tolist()
    outlines = (
        [[0, 0], [460, 0], [460, 300], [0, 300], [0, 0]],
        [[380, 10], [440, 10], [440, 70], [380, 70], [380, 10]],
        [*ring, ring[0]],
    )
    doc["lesions"] = [
        {"id": k, "class": label, "geometry": {"type": "Polygon", "coordinates": [outline]}}
        for k, outline in enumerate(outlines, start=1)
    ]
    path.write_text(json.dumps(doc))
    tight = profile.model_copy(update={"limits": profile.limits.model_copy(update={"row_crossings": 3})})
    _, excluded = select_slides(run_batch(tmp_path, profile, RunOptions(workers=1)), tight)
    (left,) = [e for e in excluded if e.slide_id == "S00001"]
    assert left.codes == ("ROW_CROSSINGS",)
    # rows 10 to 70: the big square's two sides, the small square's two, the zigzag's 40 edges
    assert left.reason.startswith("its outlines cross one row 44 times, over limits.row_crossings (3);")
    assert "; lesion /lesions/2 alone crosses one row 40 times:" in left.reason
