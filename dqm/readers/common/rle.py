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

from typing import Any

import numpy as np
import shapely

MAX_RUNS = 500_000
"""Runs of 1s above which a mask is refused (its outline would be unreasonably large)."""


class RLEError(ValueError):
    """The RLE is not decodable; the message says why."""


def decode_counts(counts: str) -> list[int]:
    """The run lengths of a compressed COCO RLE string."""
    out: list[int] = []
    p, n = 0, len(counts)
    while p < n:
        x, k, more = 0, 0, True
        while more:
            if p >= n:
                raise RLEError("the compressed counts end in the middle of a number")
            c = ord(counts[p]) - 48
            if not 0 <= c < 64:
                raise RLEError(f"character {counts[p]!r} at {p} is outside the RLE alphabet")
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
            if k > 13:
                raise RLEError("a run length is too long to be real")
        if len(out) > 2:
            x += out[-2]
        out.append(x)
    return out


def runs(rle: Any) -> tuple[int, int, list[int]]:
    """``(height, width, counts)`` of an RLE object; raises :class:`RLEError` with the reason."""
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
    if isinstance(counts, str):
        values = decode_counts(counts)
    elif isinstance(counts, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in counts):
        values = list(counts)
    else:
        raise RLEError("'counts' must be a string (compressed) or a list of integers")
    if any(v < 0 for v in values):
        raise RLEError("a run length is negative")
    if sum(values) != h * w:
        raise RLEError(f"the runs cover {sum(values)} pixels, the {h}x{w} mask has {h * w}")
    return h, w, values


def rle_polygons(rle: Any) -> list[list[np.ndarray]]:
    """The mask of an RLE as polygons with holes (level-0 x/y, pixel edges); [] for an empty mask."""
    h, _w, values = runs(rle)
    if h == 0:
        return []
    starts = np.cumsum([0, *values[:-1]])
    ones = [(s, v) for i, (s, v) in enumerate(zip(starts, values, strict=True)) if i % 2 == 1 and v > 0]
    if len(ones) > MAX_RUNS:
        raise RLEError(f"{len(ones)} runs of foreground: too many to outline")
    boxes = []
    for start, length in ones:
        # a run may continue into the next column(s): split it at column ends
        pos, left = int(start), int(length)
        while left > 0:
            x, y = divmod(pos, h)
            take = min(left, h - y)
            boxes.append((x, y, x + 1, y + take))
            pos += take
            left -= take
    return box_polygons(np.asarray(boxes, dtype=np.float64).reshape(-1, 4))


def box_polygons(boxes: np.ndarray) -> list[list[np.ndarray]]:
    """The union of pixel rectangles (rows ``x0, y0, x1, y1``) as polygons with holes, each a
    shell then its holes (closed rings, normalised orientation); [] for no rectangle."""
    if not len(boxes):
        return []
    region = shapely.union_all(shapely.box(boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]))
    region = shapely.normalize(region)
    parts = getattr(region, "geoms", [region])
    return [
        [np.asarray(p.exterior.coords), *(np.asarray(i.coords) for i in p.interiors)]
        for p in parts
        if p.geom_type == "Polygon" and not p.is_empty
    ]


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
