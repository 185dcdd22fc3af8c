"""COCO run-length encoded masks, decoded without pycocotools.

A COCO RLE is ``{"size": [height, width], "counts": ...}``: alternating runs of 0s and 1s
(starting with 0s) over the mask in column-major order (down each column, then the next
column). ``counts`` is a list of integers (uncompressed RLE, used with ``iscrowd``) or a string
(compressed RLE): each count is a little-endian sequence of 5-bit groups in characters offset by
48, bit 0x20 meaning "more groups follow" and bit 0x10 of the last group the sign; from the third
count on, the value is a difference to the count two places before.

:func:`rle_polygons` turns the mask into exact pixel-edge polygons: every run of 1s is the
rectangle ``[x, x+1] x [y0, y1]`` and their union is the region, holes included, so the area
equals the pixel count.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import shapely

MAX_RUNS = 500_000
"""Column pieces of foreground above which a mask is refused (its outline would be unreasonably
large): every run of 1s is cut at the column ends it crosses, and each piece is one rectangle."""
MAX_SIDE = 2**31 - 1
"""The largest mask height or width (TIFF's 32-bit sides)."""
MAX_MASK_PIXELS = 2**32
"""Decoded foreground pixels above which a mask is refused by default (the profile's
``limits.rle_pixels``): the decoded area is capped, so a few bytes of counts cannot stand for
gigapixels of outline work."""
FEW_POLYGONS = 16
"""Polygons whose rings are read one polygon at a time (more: all in one call)."""
_MAX_GROUPS = 12
"""5-bit groups of one compressed count: 60 bits, far beyond any mask, and safe in int64."""


class RLEError(ValueError):
    """The RLE is not decodable; the message says why."""


class RLEOverLimit(RLEError):
    """The RLE decodes to more foreground than the decoded-area limit allows."""

    def __init__(self, foreground: int, limit: int) -> None:
        super().__init__(f"{foreground} foreground pixels: over the decoded-area limit of {limit}")
        self.foreground = foreground
        self.limit = limit


def decode_counts(counts: str) -> list[int]:
    """The run lengths of a compressed COCO RLE string."""
    return _decode(counts).tolist()


def _decode(counts: str) -> np.ndarray:
    """The run lengths of a compressed COCO RLE string, vectorised (int64)."""
    raw = np.frombuffer(counts.encode("utf-8", "replace"), dtype=np.uint8)
    if raw.size != len(counts):
        bad = next(i for i, ch in enumerate(counts) if ord(ch) > 127)
        raise RLEError(f"character {counts[bad]!r} at {bad} is outside the RLE alphabet")
    c = raw.astype(np.int64) - 48
    outside = np.flatnonzero((c < 0) | (c >= 64))
    if outside.size:
        p = int(outside[0])
        raise RLEError(f"character {counts[p]!r} at {p} is outside the RLE alphabet")
    if not c.size:
        return np.empty(0, dtype=np.int64)
    last = (c & 0x20) == 0  # the last group of a number
    if not last[-1]:
        raise RLEError("the compressed counts end in the middle of a number")
    ends = np.flatnonzero(last)
    starts = np.concatenate(([0], ends[:-1] + 1))
    groups = ends - starts + 1
    if groups.max() > _MAX_GROUPS:
        raise RLEError("a run length is too long to be real")
    k = np.arange(c.size) - np.repeat(starts, groups)  # group position inside its number
    x = np.add.reduceat((c & 0x1F) << (5 * k), starts)
    negative = (c[ends] & 0x10) != 0
    x[negative] |= -1 << (5 * groups[negative])
    # from the third count on, a value is a difference to the count two places before
    if x.size > 3:
        x[3::2] = np.cumsum(x[1::2])[1:]
    if x.size > 4:
        x[4::2] = np.cumsum(x[2::2])[1:]
    return x


def runs(rle: Any, max_pixels: int = MAX_MASK_PIXELS) -> tuple[int, int, np.ndarray]:
    """``(height, width, counts)`` of an RLE object; raises :class:`RLEError` with the reason.

    A mask side beyond :data:`MAX_SIDE`, more runs than :data:`MAX_RUNS` allows, or more
    foreground than ``max_pixels`` is refused before anything is drawn.
    """
    if not isinstance(rle, dict):
        raise RLEError("an RLE segmentation must be an object {size, counts}")
    size, counts = rle.get("size"), rle.get("counts")
    if (
        not isinstance(size, list)
        or len(size) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in size)
    ):
        raise RLEError("'size' must be [height, width] of non-negative integers")
    h, w = size
    if h > MAX_SIDE or w > MAX_SIDE:
        raise RLEError(f"'size' {_short(h)} x {_short(w)} is beyond any slide (sides up to {MAX_SIDE})")
    if isinstance(counts, str):
        if len(counts) > 13 * (2 * MAX_RUNS + 1):
            raise RLEError(f"{len(counts)} characters of counts: more runs than the {MAX_RUNS} limit")
        values = _decode(counts)
    elif isinstance(counts, list) and set(map(type, counts)) <= {int}:  # JSON's integers (not bool)
        if len(counts) > 2 * MAX_RUNS + 1:
            raise RLEError(f"{len(counts)} counts: more runs than the {MAX_RUNS} limit")
        try:
            values = np.asarray(counts, dtype=np.int64)
        except OverflowError:
            raise RLEError("a run length is too long to be real") from None
    else:
        raise RLEError("'counts' must be a string (compressed) or a list of integers")
    if values.size and values.min() < 0:
        raise RLEError("a run length is negative")
    if values.size and values.max() > h * w:
        raise RLEError(f"a run of {int(values.max())} pixels is longer than the {h}x{w} mask")
    total = int(values.sum(dtype=object)) if values.size else 0
    if total != h * w:
        raise RLEError(f"the runs cover {total} pixels, the {h}x{w} mask has {h * w}")
    foreground = int(values[1::2].sum(dtype=object)) if values.size else 0
    if foreground > max_pixels:
        raise RLEOverLimit(foreground, max_pixels)
    return h, w, values


def _short(n: int) -> str:
    text = str(n)
    return text if len(text) <= 20 else f"a number of {len(text)} digits"


def rle_polygons(rle: Any, max_pixels: int = MAX_MASK_PIXELS) -> list[list[np.ndarray]]:
    """The mask of an RLE as polygons with holes (level-0 x/y, pixel edges); [] for an empty mask.

    Raises :class:`RLEError` for an undecodable RLE and for one over the caps of :func:`runs`
    or with more column pieces than :data:`MAX_RUNS` (checked before any shape is made).
    """
    h, _w, values = runs(rle, max_pixels)
    if h == 0 or values.size < 2:
        return []
    starts = np.concatenate(([0], np.cumsum(values[:-1])))[1::2]
    lengths = values[1::2]
    keep = lengths > 0
    starts, lengths = starts[keep], lengths[keep]
    if not starts.size:
        return []
    # a run may continue into the next column(s): cut it at column ends, one box per piece
    first, last = starts // h, (starts + lengths - 1) // h
    pieces = last - first + 1
    n = int(pieces.sum())
    if n > MAX_RUNS:
        raise RLEError(f"{n} column pieces of foreground: too many to outline (limit {MAX_RUNS})")
    run = np.repeat(np.arange(starts.size), pieces)
    x = first[run] + (np.arange(n) - np.repeat(np.cumsum(pieces) - pieces, pieces))
    y0 = np.where(x == first[run], starts[run] % h, 0)
    y1 = np.where(x == last[run], (starts[run] + lengths[run] - 1) % h + 1, h)
    return box_polygons(np.stack([x, y0, x + 1, y1], axis=1).astype(np.float64), _column_groups(x, y0, y1, h))


def box_polygons(boxes: np.ndarray, groups: np.ndarray | None = None) -> list[list[np.ndarray]]:
    """The union of pixel rectangles (rows ``x0, y0, x1, y1``, interiors disjoint) as polygons
    with holes, each a shell then its holes (closed rings, normalised orientation); [] for no
    rectangle.

    The rectangles are grouped first into those sharing an edge, one group for each region (two
    touching only at a corner are two regions), and each group is joined alone: one union of
    many separate rectangles costs far more than its parts (a checkerboard of 500,000 pixels took
    200 s and 3 GB), and a rectangle alone is its own polygon. ``groups``: those groups when the
    caller knows them (:func:`_column_groups`), else they are found here.
    """
    if not len(boxes):
        return []
    return _rings(_joined(boxes, groups))


def _joined(boxes: np.ndarray, groups: np.ndarray | None) -> np.ndarray:
    """The polygons of :func:`box_polygons`, normalised, in the order of their MultiPolygon
    (the rectangles and unions are let go on return, before their rings are read)."""
    shapes = shapely.box(boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3])
    if groups is None:
        groups = _edge_groups(boxes, shapes) if len(boxes) > 1 else np.zeros(1, np.int64)
    group = groups
    order = np.argsort(group, kind="stable")
    starts = np.flatnonzero(np.r_[True, group[order][1:] != group[order][:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    parts = [shapes[order[starts[sizes == 1]]]]
    for start, size in zip(starts[sizes > 1].tolist(), sizes[sizes > 1].tolist(), strict=True):
        parts.append(shapely.get_parts(shapely.union_all(shapes[order[start : start + size]])))
    joined = np.concatenate(parts)
    joined = joined[(shapely.get_type_id(joined) == shapely.GeometryType.POLYGON) & ~shapely.is_empty(joined)]
    if len(joined) < 2:  # normalising a MultiPolygon normalises each part, then sorts them
        return shapely.normalize(joined)
    return shapely.get_parts(shapely.normalize(shapely.multipolygons(joined)))


def _rings(polygons: np.ndarray) -> list[list[np.ndarray]]:
    """Each polygon's rings, shell then holes, as ``(N, 2)`` arrays of its coordinates (read in
    one call: one ``exterior.coords`` a polygon took most of the time of an RLE of 500,000
    regions); a few polygons are read one by one, which costs less than the calls' set-up)."""
    if len(polygons) < FEW_POLYGONS:
        return [
            [np.asarray(p.exterior.coords), *(np.asarray(i.coords) for i in p.interiors)] for p in polygons
        ]
    rings, owner = shapely.get_rings(polygons, return_index=True)
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    del rings
    ends = np.r_[0, np.flatnonzero(np.diff(ring)) + 1, len(ring)].tolist()
    arrays = [coords[a:b] for a, b in itertools.pairwise(ends)]
    if len(arrays) == len(polygons):  # no holes: a ring each
        return [[array] for array in arrays]
    bounds = np.r_[0, np.cumsum(np.bincount(owner, minlength=len(polygons)))].tolist()
    return [arrays[a:b] for a, b in itertools.pairwise(bounds)]


def _edge_groups(boxes: np.ndarray, shapes: np.ndarray) -> np.ndarray:
    """A group number for each rectangle (``boxes``, their polygons ``shapes``): rectangles sharing
    a stretch of edge, directly or through others, have the same one."""
    tree = shapely.STRtree(shapes)
    a, b = tree.query(tree.geometries, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    wide = np.minimum(boxes[a, 2], boxes[b, 2]) - np.maximum(boxes[a, 0], boxes[b, 0])
    tall = np.minimum(boxes[a, 3], boxes[b, 3]) - np.maximum(boxes[a, 1], boxes[b, 1])
    edge = (wide > 0) | (tall > 0)  # touching along a stretch, not at a corner alone
    return _components(len(boxes), a[edge], b[edge])


def _column_groups(x: np.ndarray, y0: np.ndarray, y1: np.ndarray, h: int) -> np.ndarray:
    """The groups of :func:`_edge_groups` for column pieces ``[x, x+1) x [y0, y1)`` in an RLE's
    order (by column, then row; disjoint), found without a spatial index: a piece shares an edge
    with the pieces of the column before whose rows overlap its own (one contiguous stretch of
    them, found by bisection), and with the piece just above it when they touch."""
    span = h + 1  # one key along the columns: x * span + y, increasing in the RLE's order
    start, end = x * span + y0, x * span + y1
    lo = np.searchsorted(end, (x - 1) * span + y0, "right")  # first piece of column x-1 ending below y0
    hi = np.searchsorted(start, (x - 1) * span + y1, "left")  # past the last one starting above y1
    count = np.maximum(hi - lo, 0)
    total = int(count.sum())
    a = np.repeat(lo, count) + (np.arange(total) - np.repeat(np.cumsum(count) - count, count))
    b = np.repeat(np.arange(len(x)), count)
    above = np.flatnonzero((x[1:] == x[:-1]) & (y1[:-1] == y0[1:]))  # a run of 0s of length 0 between
    return _components(len(x), np.r_[a, above], np.r_[b, above + 1])


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The connected component of each of ``n`` nodes joined by the edges ``a[k]``-``b[k]``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(a), np.int8), (a, b)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def encode_counts(counts: list[int]) -> str:
    """The compressed string of run lengths (the inverse of :func:`decode_counts`; for tests)."""
    out = []
    for i, value in enumerate(counts):
        x = value - counts[i - 2] if i > 2 else value
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = not ((x == 0 and not c & 0x10) or (x == -1 and c & 0x10))
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return "".join(out)
