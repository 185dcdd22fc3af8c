"""Label rasters from lesion outlines: exact centre-rule scanline fill, no drawing library.

A pixel takes a lesion's label when its centre lies inside the lesion and outside its holes; where
lesions overlap, they are painted largest first, so the smaller one wins (a lesion drawn inside
another stays visible). Coordinates follow :mod:`dqm.coords`: outlines are level-0 ``(x, y)``,
rasters ``(row, col)`` in a :class:`~dqm.coords.Frame`. The validity run rasterises its masks
here and ``dqm convert --to mask`` writes label images with it; outlines read from a label mask
(at its pixel edges) give that mask back exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from dqm.coords import Frame
from dqm.model import Annotation


def label_layers(annotation: Annotation, class_index: dict[str, int]) -> list[tuple[int, BaseGeometry]]:
    """Lesions as ``(label, geometry)`` in painting order: larger area first, file order on ties."""
    layers = [
        (class_index[les.label], les.geometry, i)
        for i, les in enumerate(annotation.lesions)
        if les.geometry is not None and les.label in class_index and not les.geometry.is_empty
    ]
    layers.sort(key=lambda t: (-t[1].area, t[2]))
    return [(label, geom) for label, geom, _ in layers]


def _polygons(geom: BaseGeometry) -> list[list[np.ndarray]]:
    """Each polygon of a (multi)polygon as its rings: shell first, then holes."""
    polys = list(geom.geoms) if hasattr(geom, "geoms") else [geom]
    return [
        [
            np.asarray(p.exterior.coords, dtype=float),
            *(np.asarray(i.coords, dtype=float) for i in p.interiors),
        ]
        for p in polys
        if p.geom_type == "Polygon" and not p.is_empty
    ]


ROW_CHUNK = 1024
CROSSINGS_A_PASS = 1_000_000
"""Edge-row crossings one pass of :func:`fill_rings` holds (about 60 bytes each): an outline of a
million vertices zigzagging across a raster of 350 rows crosses its rows 350 million times."""


def fill_rings(rings: Sequence[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """Pixels whose centre ``(c + 0.5, r + 0.5)`` is inside ``rings`` (raster x/y), even-odd rule.

    Exact scanline fill: each edge crosses the centre lines of the rows in ``[y_min, y_max)``
    (half-open, so a vertex is counted once); per row the crossings are sorted and the centres
    from one crossing (included) to the next (excluded) are filled. The even-odd rule over shell
    and holes leaves the holes empty. Cost grows with the crossings, not the raster; they are
    made a band of rows at a time, about :data:`CROSSINGS_A_PASS` a band, so memory does not.
    """
    rows = shape[0]
    out = np.zeros(shape, dtype=bool)
    edges = []
    for ring in rings:
        closed = ring if np.array_equal(ring[0], ring[-1]) else np.vstack([ring, ring[:1]])
        edges.append(np.column_stack([closed[:-1], closed[1:]]))
    if not edges:
        return out
    e = np.concatenate(edges)
    e = e[e[:, 1] != e[:, 3]]
    if len(e) == 0:
        return out
    y0, y1 = e[:, 1], e[:, 3]
    lo = np.clip(np.ceil(np.minimum(y0, y1) - 0.5), 0, rows).astype(np.int64)
    hi = np.clip(np.ceil(np.maximum(y0, y1) - 0.5), 0, rows).astype(np.int64)
    keep = hi > lo
    e, lo, hi = e[keep], lo[keep], hi[keep]
    if len(e) == 0:
        return out
    # crossings of each row (edges that start there, less those that ended), then bands of rows
    # holding about CROSSINGS_A_PASS each (a row with more is a band of its own)
    per_row = np.cumsum(np.bincount(lo, minlength=rows + 1) - np.bincount(hi, minlength=rows + 1))[:rows]
    before = np.concatenate([[0], np.cumsum(per_row)])
    a = int(lo.min())
    end = int(hi.max())
    while a < end:
        b = max(a + 1, int(np.searchsorted(before, before[a] + CROSSINGS_A_PASS, "right")) - 1)
        b = min(b, end)
        active = (lo < b) & (hi > a)
        _fill_band(out, e[active], np.maximum(lo[active], a), np.minimum(hi[active], b))
        a = b
    return out


def _fill_band(out: np.ndarray, e: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
    """:func:`fill_rings` for the edges ``e`` crossing the rows ``lo`` to ``hi`` (half-open)."""
    rows, cols = out.shape
    x0, y0, x1, y1 = e[:, 0], e[:, 1], e[:, 2], e[:, 3]
    counts = hi - lo
    total = int(counts.sum())
    if total == 0:
        return
    edge = np.repeat(np.arange(len(e)), counts)
    first = np.cumsum(counts) - counts
    row = lo[edge] + (np.arange(total) - first[edge])
    x = x0[edge] + (row + 0.5 - y0[edge]) * ((x1 - x0) / (y1 - y0))[edge]
    order = np.lexsort((x, row))
    row, x = row[order], x[order]
    # every row is crossed an even number of times: consecutive crossings pair up
    r, xa, xb = row[0::2], x[0::2], x[1::2]
    c0 = np.clip(np.ceil(xa - 0.5), 0, cols).astype(np.int64)
    c1 = np.clip(np.ceil(xb - 0.5), 0, cols).astype(np.int64)
    for a in range(int(r[0]), int(r[-1]) + 1, ROW_CHUNK):  # bounded memory on large rasters
        i, j = np.searchsorted(r, [a, a + ROW_CHUNK])
        b = min(a + ROW_CHUNK, rows)
        diff = np.zeros((b - a, cols + 1), dtype=np.int32)
        np.add.at(diff, (r[i:j] - a, c0[i:j]), 1)
        np.add.at(diff, (r[i:j] - a, c1[i:j]), -1)
        out[a:b] = np.cumsum(diff, axis=1)[:, :cols] > 0


def edge_ys(geometries: Any) -> tuple[np.ndarray, np.ndarray]:
    """The y of each edge's two ends, for every ring of ``geometries`` (one geometry or an array
    of them), in ring order."""
    coords, ring = shapely.get_coordinates(
        shapely.get_rings(shapely.get_parts(geometries)), return_index=True
    )
    same = ring[:-1] == ring[1:]
    return coords[:-1, 1][same], coords[1:, 1][same]


def most_crossed(geometries: Sequence[BaseGeometry]) -> int:
    """The most edges of ``geometries`` one horizontal line crosses (an edge spans ``[y_min,
    y_max)`` as :func:`fill_rings` counts it): what one raster row of their label mask costs,
    whatever the resolution. Linear in the vertices but for one sort."""
    if not geometries:
        return 0
    y0, y1 = edge_ys(np.asarray(geometries, dtype=object))
    lo, hi = np.minimum(y0, y1), np.maximum(y0, y1)
    keep = hi > lo
    if not keep.any():
        return 0
    events = np.concatenate([lo[keep], hi[keep]])
    step = np.concatenate([np.ones(int(keep.sum()), np.int64), -np.ones(int(keep.sum()), np.int64)])
    order = np.lexsort((step, events))  # at one height, the edges that end there go first
    return int(np.cumsum(step[order]).max())


def rasterise(
    lesions: Sequence[tuple[int, BaseGeometry]], frame: Frame, shape: tuple[int, int]
) -> np.ndarray:
    """A ``(rows, cols)`` uint8 label mask of ``lesions`` (painting order) in the raster ``frame``.

    A pixel takes a lesion's label when its centre lies inside the lesion and outside its holes
    (exactly: :func:`fill_rings`); later lesions paint over earlier ones; 0 is background.
    Lesions outside the raster are skipped.
    """
    rows, cols = shape
    out = np.zeros((rows, cols), dtype=np.uint8)
    for label, geom in lesions:
        minx, miny, maxx, maxy = geom.bounds
        (c0, r0), (c1, r1) = frame.from_level0_xy(np.array([[minx, miny], [maxx, maxy]]))
        c0, r0 = max(int(np.floor(c0)), 0), max(int(np.floor(r0)), 0)
        c1, r1 = min(int(np.ceil(c1)) + 1, cols), min(int(np.ceil(r1)) + 1, rows)
        if c1 <= c0 or r1 <= r0:
            continue
        for rings in _polygons(geom):
            local = [frame.from_level0_xy(ring) - (c0, r0) for ring in rings]
            inside = fill_rings(local, (r1 - r0, c1 - c0))
            out[r0:r1, c0:c1][inside] = label
    return out
