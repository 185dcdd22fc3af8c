"""Label rasters from lesion outlines: exact centre-rule scanline fill, no drawing library.

A pixel takes a lesion's label when its centre lies inside the lesion and outside its holes; where
lesions overlap, they are painted largest first, so the smaller one wins (a lesion drawn inside
another stays visible). Coordinates follow :mod:`dqm.coords`: outlines are level-0 ``(x, y)``,
rasters ``(row, col)`` in a :class:`~dqm.coords.Frame`. The validity run rasterises its masks
here and ``dqm convert --to mask`` writes label images with it; outlines read from a label mask
(at its pixel edges) give that mask back exactly.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from dqm.coords import Frame
from dqm.model import Annotation, Lesion


def painting_order(annotation: Annotation, class_index: dict[str, int]) -> list[Lesion]:
    """The lesions a label mask paints (a geometry, a class in ``class_index``), in painting
    order: larger area first, file order on ties."""
    painted = [
        les
        for les in annotation.lesions
        if les.geometry is not None and les.label in class_index and not les.geometry.is_empty
    ]
    return sorted(painted, key=lambda les: -les.geometry.area)  # type: ignore[union-attr]  # stable


def label_layers(annotation: Annotation, class_index: dict[str, int]) -> list[tuple[int, BaseGeometry]]:
    """Lesions as ``(label, geometry)`` in painting order (:func:`painting_order`)."""
    return [(class_index[les.label], les.geometry) for les in painting_order(annotation, class_index)]  # type: ignore[index,misc]


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


CROSSINGS_A_PASS = 1_000_000
"""Edge-row crossings one pass of :func:`fill_rings` holds (about 30 bytes each): an outline of a
million vertices zigzagging across a raster of 350 rows crosses its rows 350 million times."""
CELLS_A_PASS = 4_000_000
"""Raster cells one pass of :func:`fill_rings` counts crossings in (9 bytes each); a pass holds
at least one row, whatever its width."""


def _edge_rows(rings: Sequence[np.ndarray], rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The edges of ``rings`` (``x0, y0, x1, y1`` a row) that cross a row centre of a raster of
    ``rows`` rows, and the rows each crosses: ``lo`` to ``hi``, half-open (a vertex on a centre
    line is counted once, by the edge that leaves it upwards or downwards)."""
    edges = [np.empty((0, 4))]
    for ring in rings:
        closed = ring if np.array_equal(ring[0], ring[-1]) else np.vstack([ring, ring[:1]])
        edges.append(np.column_stack([closed[:-1], closed[1:]]))
    e = np.concatenate(edges)
    e = e[e[:, 1] != e[:, 3]]
    y0, y1 = e[:, 1], e[:, 3]
    lo = np.clip(np.ceil(np.minimum(y0, y1) - 0.5), 0, rows).astype(np.int64)
    hi = np.clip(np.ceil(np.maximum(y0, y1) - 0.5), 0, rows).astype(np.int64)
    keep = hi > lo
    return e[keep], lo[keep], hi[keep]


def ring_crossings(rings: Sequence[np.ndarray], rows: int) -> int:
    """How many edge-row crossings :func:`fill_rings` makes to fill ``rings`` in a raster of
    ``rows`` rows: its work, counted in one pass over the vertices before any is made."""
    _, lo, hi = _edge_rows(rings, rows)
    return int((hi - lo).sum())


def fill_rings(rings: Sequence[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """Pixels whose centre ``(c + 0.5, r + 0.5)`` is inside ``rings`` (raster x/y), even-odd rule.

    Exact scanline fill: each edge crosses the centre lines of the rows in ``[y_min, y_max)``
    (half-open, so a vertex is counted once); a pixel is inside when an odd number of its row's
    crossings lie at or left of its centre (the crossings sorted and paired, the centres from one
    (included) to the next (excluded) filled: the same pixels, without the sort). The even-odd
    rule over shell and holes leaves the holes empty. Cost grows with the crossings
    (:func:`ring_crossings`) and the raster's cells; they are made a band of rows at a time, about
    :data:`CROSSINGS_A_PASS` crossings and :data:`CELLS_A_PASS` cells a band, so memory does not.
    """
    rows, cols = shape
    out = np.zeros(shape, dtype=bool)
    e, lo, hi = _edge_rows(rings, rows)
    if len(e) == 0:
        return out
    # crossings of each row (edges that start there, less those that ended), then bands of rows
    # holding about CROSSINGS_A_PASS crossings and at most CELLS_A_PASS cells (or one row)
    per_row = np.cumsum(np.bincount(lo, minlength=rows + 1) - np.bincount(hi, minlength=rows + 1))[:rows]
    before = np.concatenate([[0], np.cumsum(per_row)])
    tall = max(1, CELLS_A_PASS // (cols + 1))
    x0, y0 = e[:, 0].copy(), e[:, 1].copy()
    slope = (e[:, 2] - e[:, 0]) / (e[:, 3] - e[:, 1])
    a = int(lo.min())
    end = int(hi.max())
    while a < end:
        b = max(a + 1, int(np.searchsorted(before, before[a] + CROSSINGS_A_PASS, "right")) - 1)
        b = min(b, end, a + tall)
        band = np.flatnonzero((lo < b) & (hi > a))
        if len(band) == len(lo):  # every edge crosses the band (a zigzag): no copies
            _fill_band(out, a, b, x0, y0, slope, np.maximum(lo, a), np.minimum(hi, b))
        else:
            _fill_band(
                out, a, b, x0[band], y0[band], slope[band], np.maximum(lo[band], a), np.minimum(hi[band], b)
            )
        a = b
    return out


def _fill_band(
    out: np.ndarray,
    a: int,
    b: int,
    x0: np.ndarray,
    y0: np.ndarray,
    slope: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
) -> None:
    """:func:`fill_rings` of the rows ``a`` to ``b`` for the edges from ``(x0, y0)`` of ``slope``
    (dx/dy) crossing the rows ``lo`` to ``hi`` (half-open): each crossing counted in the first
    cell whose centre is at or right of it, the counts summed along the row, odd sums inside."""
    cols = out.shape[1]
    counts = hi - lo
    total = int(counts.sum())
    if total == 0:
        return
    row = np.arange(total, dtype=np.int64)
    row += np.repeat(lo - (np.cumsum(counts) - counts), counts)  # each edge's rows lo to hi
    x = row + 0.5
    x -= np.repeat(y0, counts)
    x *= np.repeat(slope, counts)
    x += np.repeat(x0, counts)  # x0 + (row + 0.5 - y0) * slope, as the sorted fill computed it
    x -= 0.5
    np.ceil(x, out=x)
    np.clip(x, 0, cols, out=x)
    row -= a
    row *= cols + 1
    x += row  # the cell's index in the band: integers, exact in a float below 2**53
    del row
    hits = np.bincount(x.astype(np.int64), minlength=(b - a) * (cols + 1)).reshape(b - a, cols + 1)
    del x
    # a sum's parity is kept by its last bit: uint8 wraps at 256, an even number
    seen = np.cumsum(hits[:, :cols], axis=1, dtype=np.uint8)
    np.bitwise_and(seen, 1, out=seen)
    out[a:b] = seen.view(bool)


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


def _pieces(
    lesions: Sequence[tuple[int, BaseGeometry]], frame: Frame, shape: tuple[int, int]
) -> Iterator[tuple[int, int, tuple[int, int, int, int], list[np.ndarray]]]:
    """Each polygon of ``lesions`` that reaches the raster: the lesion's position in ``lesions``,
    its label, the rows and columns ``(r0, r1, c0, c1)`` of the polygon's own bounding box (its
    shell's) in the raster, and its rings in that box's raster x/y. Each polygon of a
    MultiPolygon is filled in its own box: 2,000 squares of 2 pixels scattered over an 8000²
    mask were each filled across the whole lesion's box (17 s of CPU; now 1 s)."""
    rows, cols = shape
    for k, (label, geom) in enumerate(lesions):
        for rings in _polygons(geom):
            raster = [frame.from_level0_xy(ring) for ring in rings]
            (c0, r0), (c1, r1) = raster[0].min(axis=0), raster[0].max(axis=0)
            c0, r0 = max(int(np.floor(c0)), 0), max(int(np.floor(r0)), 0)
            c1, r1 = min(int(np.ceil(c1)) + 1, cols), min(int(np.ceil(r1)) + 1, rows)
            if c1 <= c0 or r1 <= r0:
                continue
            yield k, label, (r0, r1, c0, c1), [ring - (c0, r0) for ring in raster]


def raster_crossings(
    lesions: Sequence[tuple[int, BaseGeometry]], frame: Frame, shape: tuple[int, int]
) -> list[int]:
    """The work :func:`rasterise` does for each of ``lesions`` (0 for one outside the raster),
    counted in one pass over the vertices, before any pixel is filled: for each of its polygons,
    the edge-row crossings of the fill (a zigzag of ``n`` vertices across ``h`` rows makes
    ``n * h``: each edge crosses every row it spans) plus the cells of the polygon's box in the
    raster, a column more than its width (each is counted, summed and painted, whether or not the
    polygon covers it: a thin diagonal sliver across an 8000² mask costs its 64 million)."""
    work = [0] * len(lesions)
    for k, _, (r0, r1, c0, c1), local in _pieces(lesions, frame, shape):
        work[k] += ring_crossings(local, r1 - r0) + (r1 - r0) * (c1 - c0 + 1)
    return work


def rasterise(
    lesions: Sequence[tuple[int, BaseGeometry]], frame: Frame, shape: tuple[int, int]
) -> np.ndarray:
    """A ``(rows, cols)`` uint8 label mask of ``lesions`` (painting order) in the raster ``frame``.

    A pixel takes a lesion's label when its centre lies inside the lesion and outside its holes
    (exactly: :func:`fill_rings`); later lesions paint over earlier ones; 0 is background.
    Lesions outside the raster are skipped. What it costs is :func:`raster_crossings`: a caller
    bounds it with that count before calling.
    """
    out = np.zeros(shape, dtype=np.uint8)
    for _, label, (r0, r1, c0, c1), local in _pieces(lesions, frame, shape):
        inside = fill_rings(local, (r1 - r0, c1 - c0))
        out[r0:r1, c0:c1][inside] = label
    return out
