"""The fast outlines of masks and RLEs are exactly the straightforward ones.

The mask reader finds every label's runs in one pass and joins rectangles group by group; the
RLE outline joins its column pieces the same way; :func:`dqm.model.geometry_of` builds a
lesion's rings in one call. Each is compared, coordinate for coordinate, with the plain way:
each label's runs on its own, one union of all of a value's rectangles, one shapely polygon per
ring list.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import shapely
from PIL import Image

from dqm.model import geometry_of, has_three_distinct, in_range
from dqm.readers import mask, parse_annotation
from dqm.readers.common import rle


def _plain_polygons(boxes: np.ndarray) -> list[list[np.ndarray]]:
    """One union of all the rectangles, normalised: what the outlines were before the grouping."""
    if not len(boxes):
        return []
    region = shapely.normalize(shapely.union_all(shapely.box(*boxes.T)))
    return [
        [np.asarray(p.exterior.coords), *(np.asarray(i.coords) for i in p.interiors)]
        for p in getattr(region, "geoms", [region])
        if p.geom_type == "Polygon" and not p.is_empty
    ]


def _plain_runs(hit: np.ndarray) -> np.ndarray:
    """The rectangles of one value's pixels: runs along the rows, repeated runs merged downward."""
    h, w = hit.shape
    if not hit.any():
        return np.empty((0, 4))
    padded = np.zeros((h, w + 2), np.int8)
    padded[:, 1:-1] = hit
    step = np.diff(padded, axis=1)
    rows, x0 = np.nonzero(step == 1)
    _, x1 = np.nonzero(step == -1)
    order = np.lexsort((rows, x1, x0))
    rows, x0, x1 = rows[order], x0[order], x1[order]
    new = np.ones(len(rows), bool)
    new[1:] = (x0[1:] != x0[:-1]) | (x1[1:] != x1[:-1]) | (rows[1:] != rows[:-1] + 1)
    first = np.flatnonzero(new)
    last = np.r_[first[1:], len(rows)] - 1
    return np.column_stack([x0[first], rows[first], x1[first], rows[last] + 1]).astype(np.float64)


def _same(got: list[list[np.ndarray]], want: list[list[np.ndarray]]) -> None:
    assert len(got) == len(want)
    for got_rings, want_rings in zip(got, want, strict=True):
        assert len(got_rings) == len(want_rings)
        for a, b in zip(got_rings, want_rings, strict=True):
            assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)


def _random_labels(seed: int) -> np.ndarray:
    """Blobs, specks and holes of a few labels (one in four masks of 8-bit noise, one in eight 16-bit)."""
    rng = np.random.default_rng(seed)
    h, w = (int(v) for v in rng.integers(1, 40, 2))
    dtype = np.uint16 if seed % 8 == 0 else np.uint8
    n_labels = int(rng.integers(1, 6)) if seed % 4 else 255
    labels = np.zeros((h, w), dtype)
    for _ in range(int(rng.integers(0, 12))):
        y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
        dy, dx = (int(v) for v in rng.integers(1, 12, 2))
        labels[y : y + dy, x : x + dx] = rng.integers(0, n_labels + 1)
    specks = rng.random((h, w)) < rng.random() * 0.3
    labels[specks] = rng.integers(0, n_labels + 1, int(specks.sum()))
    return labels


@pytest.mark.parametrize("seed", range(60))
def test_a_masks_lesions_are_each_values_union_of_its_runs(seed: int) -> None:
    labels = _random_labels(seed)
    buf = io.BytesIO()
    Image.fromarray(labels).save(buf, "PNG")
    (ann,) = parse_annotation(buf.getvalue(), "masks/S1.png")
    want = [
        (str(value), rings)
        for value in np.unique(labels).tolist()
        if value
        for rings in _plain_polygons(_plain_runs(labels == value))
    ]
    assert [les.raw_class for les in ann.lesions] == [value for value, _ in want]
    for lesion, (_, rings) in zip(ann.lesions, want, strict=True):
        _same(lesion.polygons, [rings])
        assert lesion.properties[mask.PIXELS] == int((labels == int(lesion.raw_class)).sum())
    assert ann.n_values == len(np.unique(labels))


def _coco_counts(hit: np.ndarray) -> list[int]:
    """COCO's run lengths of a boolean mask: down each column, 0s first."""
    counts, current, n = [], False, 0
    for value in hit.T.ravel().tolist():
        if value != current:
            counts.append(n)
            current, n = value, 0
        n += 1
    counts.append(n)
    return counts


def _column_pieces(counts: list[int], h: int) -> np.ndarray:
    """The rectangles of an RLE's runs of 1s, each cut at the column ends it crosses, one by one."""
    boxes, at = [], 0
    for k, n in enumerate(counts):
        if k % 2:
            start, stop = at, at + n
            while start < stop:
                x, y0 = divmod(start, h)
                y1 = min(h, y0 + stop - start)
                boxes.append((x, y0, x + 1, y1))
                start += y1 - y0
        at += n
    return np.array(boxes, np.float64).reshape(-1, 4)


@pytest.mark.parametrize("seed", range(60))
def test_an_rles_outline_is_the_union_of_its_column_pieces(
    monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    monkeypatch.setattr(
        rle, "FEW_POLYGONS", 0 if seed % 2 else 10**9
    )  # rings read in one call, or one by one
    hit = _random_labels(1000 + seed) > 0
    h, w = hit.shape
    counts = _coco_counts(hit)
    if seed % 3 == 0:  # each run of 1s cut in two by a run of 0s of no length: two pieces touching
        counts = [part for k, n in enumerate(counts) for part in ((n // 2, 0, n - n // 2) if k % 2 else (n,))]
    want = _plain_polygons(_column_pieces(counts, h))
    for value in (counts, rle.encode_counts(counts)):
        _same(rle.rle_polygons({"size": [h, w], "counts": value}), want)


def _plain_geometry(polygons: list[list[np.ndarray]]) -> tuple[shapely.Geometry | None, bool | None]:
    """:func:`geometry_of` one ring and one polygon at a time, as it was written first."""
    if not polygons or any(not poly for poly in polygons):
        return None, None
    for poly in polygons:
        for ring in poly:
            if ring.ndim != 2 or ring.shape[1] != 2 or len(ring) < 3 or not in_range(ring):
                return None, None
    try:
        parts = [shapely.Polygon(poly[0], poly[1:]) for poly in polygons]
    except (ValueError, shapely.errors.GEOSException):
        return None, None
    geom = parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)
    if geom.area > 0 and shapely.is_valid(geom):
        return geom, True
    if all(has_three_distinct(ring) for poly in polygons for ring in poly):
        return geom, False if geom.area > 0 else None
    return None, None


def _same_geometry(polygons: list[list[np.ndarray]]) -> None:
    geometry, valid = geometry_of(polygons)
    want, want_valid = _plain_geometry(polygons)
    assert valid == want_valid
    assert (geometry is None) == (want is None)
    if want is not None:
        assert geometry is not None and geometry.geom_type == want.geom_type
        assert shapely.to_wkb(geometry) == shapely.to_wkb(want)


@pytest.mark.parametrize("seed", range(30))
def test_a_lesions_geometry_is_its_rings_polygon_by_polygon(seed: int) -> None:
    hit = _random_labels(2000 + seed) > 0
    polygons = rle.rle_polygons({"size": list(hit.shape), "counts": _coco_counts(hit)})
    _same_geometry(polygons)
    _same_geometry(polygons[:1])


@pytest.mark.parametrize(
    "polygons",
    [
        [[np.array([[0, 0], [4, 0], [4, 4]], np.float64)]],  # open: closed by shapely
        [[np.array([[0, 0], [4, 0], [0, 0]], np.float64)]],  # three closed coordinates: no ring
        [[np.array([[0, 0], [4, 0], [4, 4], [0, 0]])], [np.array([[5, 5], [6, 5], [6, 6]])]],  # integers
        [
            [np.array([[0, 0], [9, 0], [9, 9], [0, 9], [0, 0]], np.float64)],
            [np.array([[1, 1], [2, 1], [2, 2], [1, 2], [1, 1]], np.float64)],  # overlapping: invalid
        ],
        [[np.array([[0, 0], [1, 1], [2, 2], [0, 0]], np.float64)]],  # no area
        [[np.array([[0, 0], [0, 0], [0, 0], [0, 0]], np.float64)]],  # one point
        [[np.array([[0, 0], [np.nan, 0], [4, 4]], np.float64)]],  # not finite
        [[np.array([[0, 0], [3e9, 0], [4, 4]], np.float64)]],  # out of range
        [[np.array([[0, 0, 0], [4, 0, 0], [4, 4, 0]], np.float64)]],  # three columns
        [[np.array([[0, 0], [4, 0]], np.float64)]],  # two coordinates
        [[np.array([[0, 0], [4, 0], [4, 4], [0, 0]], np.float64)], []],  # a polygon of no ring
        [
            [
                np.array([[0, 0], [9, 0], [9, 9], [0, 9]], np.float64),
                np.array([[2, 2], [3, 2], [3, 3]], np.float64),
            ],
            [np.array([[20, 20], [21, 20], [21, 21], [20, 21], [20, 20]], np.float64)],
        ],
    ],
)
def test_a_geometry_of_odd_rings_is_what_polygon_by_polygon_makes(polygons: list[list[np.ndarray]]) -> None:
    _same_geometry(polygons)
