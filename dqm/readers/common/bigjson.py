"""Big GeoJSON-style coordinate arrays read straight into numpy, without a Python object per number.

A JSON parser makes a Python list and two float objects of every vertex: about 120 bytes for the
14 bytes a vertex takes in the file, so a 350 MB polygon of 25 million vertices costs gigabytes.
For a file over :data:`BIG_FILE_BYTES`, :func:`lift` finds each ``"coordinates"`` value of more
than :data:`BIG_SPAN_BYTES`, checks its structure chunk by chunk with numpy (a Polygon's or a
MultiPolygon's nesting, every vertex exactly two numbers), and takes it out of the text: the rest
is parsed as usual with a small marker ring in its place, and :func:`put_back` gives the lesions
their real rings. A value with more vertices than ``vertices_per_lesion`` allows is only counted,
never converted: its lesion keeps no rings, with the ``LIMIT_EXCEEDED`` issue
:func:`dqm.readers.within_limits` would give. A value this does not recognise exactly (``NaN``,
other nesting, a vertex of three numbers, a number numpy cannot read) stays in the text and is
read, and reported, the usual way.

Memory: the bytes of the file, the vertices as float64 (16 bytes each) when converted, and chunks
of :data:`CHUNK_BYTES` at a time.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import numpy as np
import orjson

from dqm.i18n import msg
from dqm.model import Annotation, ReadIssue
from dqm.readers.common.base import lesion_as_read

BIG_FILE_BYTES = 16 * 2**20
"""Files above this size have their big coordinate values lifted out before the JSON parse."""
BIG_SPAN_BYTES = 2**20
"""A ``"coordinates"`` value of more bytes than this is lifted out."""
CHUNK_BYTES = 4 * 2**20
"""Bytes of a value checked (and converted) at a time."""

_KEY = re.compile(rb'"coordinates"\s*:\s*')
_SPAN = re.compile(rb"[\[\],\s0-9.eE+\-]*")
_TO_SPACE = bytes.maketrans(b"[]", b"  ")
_OPEN, _CLOSE, _COMMA = ord("["), ord("]"), ord(",")


@dataclass(frozen=True, slots=True)
class Lifted:
    """One coordinates value taken out of the text."""

    polygons: list[list[np.ndarray]] | None
    """The rings, polygon by polygon (None: over the vertex limit, not converted)."""
    n_vertices: int


def lifted_bytes(lifted: dict[int, Lifted]) -> int:
    """The bytes of the rings :func:`lift` read into numpy."""
    return sum(
        ring.nbytes for value in lifted.values() for polygon in value.polygons or () for ring in polygon
    )


def _marker(k: int) -> tuple[float, float]:
    """The vertex of the marker ring standing for lifted value ``k`` (exact binary fractions)."""
    return (-(k + 0.5) * 2.0**-40, -(2.0**-41))


def _marker_text(k: int, depth: int) -> bytes:
    x, y = _marker(k)
    ring = "[" + ",".join([f"[{x!r},{y!r}]"] * 4) + "]"
    return ("[" * (depth - 2) + ring + "]" * (depth - 2)).encode()


def lift(
    data: bytes, max_vertices: int, room: int | None = None, vertex_bytes: int = 0
) -> tuple[bytes, dict[int, Lifted]] | None:
    """``data`` with each big coordinates value replaced by a marker, and what was lifted by
    marker number; None when the file is small or holds no value to lift, or when the values
    met, before each is converted, come to more than ``room`` bytes at their text and
    ``vertex_bytes`` a vertex they may hold (one ``[`` a vertex; one over ``max_vertices`` at its
    text alone): the lift's own memory held to the limit, the file then read, or refused, as text."""
    if len(data) <= BIG_FILE_BYTES:
        return None
    pieces: list[bytes] = []
    lifted: dict[int, Lifted] = {}
    last = 0
    charged = 0
    for m in _KEY.finditer(data):
        start = m.end()
        if start < last:
            continue
        span = _SPAN.match(data, start)
        end = span.end() if span else start
        while end > start and data[end - 1] in b", \t\r\n":
            end -= 1
        if end - start <= BIG_SPAN_BYTES:
            continue
        vertices = data.count(b"[", start, end)
        charged += end - start + (vertex_bytes * vertices if vertices <= max_vertices else 0)
        if room is not None and charged > room:
            return None
        found = _read_value(data, start, end, max_vertices)
        if found is None:
            continue
        depth, value = found
        k = len(lifted)
        pieces += [data[last:start], _marker_text(k, depth)]
        lifted[k] = value
        last = end
    if not lifted:
        return None
    pieces.append(data[last:])
    return b"".join(pieces), lifted


def _chunks(data: bytes, start: int, end: int) -> list[tuple[int, int]]:
    """``[start, end)`` cut into pieces of about :data:`CHUNK_BYTES`, each ending after a ``]``."""
    out = []
    while start < end:
        cut = end if end - start <= CHUNK_BYTES else data.rfind(b"]", start, start + CHUNK_BYTES) + 1
        if cut <= start:
            return []
        out.append((start, cut))
        start = cut
    return out


def _read_value(data: bytes, start: int, end: int, max_vertices: int) -> tuple[int, Lifted] | None:
    """The nesting depth (3: Polygon, 4: MultiPolygon) and the value of ``data[start:end]``;
    None when it is not exactly that shape with two numbers per vertex."""
    head = data[start : start + 16].replace(b" ", b"").replace(b"\n", b"")
    depth = len(head) - len(head.lstrip(b"["))
    if depth not in (3, 4):
        return None
    chunks = _chunks(data, start, end)
    level = 0
    vertices = 0
    ends: list[list[int]] = [[] for _ in range(depth - 1)]  # vertex counts where rings / polygons end
    for a, b in chunks:
        arr = np.frombuffer(data, np.uint8, b - a, a)
        is_open, is_close = arr == _OPEN, arr == _CLOSE
        step = is_open.view(np.int8) - is_close.view(np.int8)
        # int8 is enough: a depth past ``depth`` is refused, and a wrap-around passes through it first
        after = np.cumsum(step, dtype=np.int8)
        after += level
        if (level == 0 and a != start) or after.min(initial=1) < 0 or after.max(initial=0) > depth:
            return None
        innermost = after == depth
        closing = np.flatnonzero(is_close)
        close_from = after[closing] + 1  # the depth each ``]`` closes
        opens = np.flatnonzero(is_open & innermost)
        closes = closing[close_from == depth]
        is_comma = arr == _COMMA
        commas = np.flatnonzero(is_comma & innermost)
        # the span holds brackets, commas, whitespace (all below "!") and number characters only
        digit = (arr > 32) & ~(is_open | is_close | is_comma)
        if (
            len(opens) != len(closes)
            or len(commas) != len(opens)
            or (digit & ~innermost).any()
            or not _two_numbers_each(digit, opens, commas, closes)
        ):
            return None
        for d in range(depth - 1):  # a ring ends where depth-1 closes, a polygon where depth-2 closes
            closed = closing[close_from == depth - 1 - d]
            ends[d] += (vertices + np.searchsorted(closes, closed)).tolist()
        vertices += len(opens)
        level = int(after[-1])
    if level != 0 or not vertices or len(ends[depth - 2]) != 1:
        return None
    if vertices > max_vertices:
        return depth, Lifted(None, vertices)
    flat = np.empty(2 * vertices, np.float64)
    filled = 0
    for a, b in chunks:
        # the vertices' brackets dropped: a JSON list of the chunk's numbers, read by orjson
        text = data[a:b].translate(_TO_SPACE).strip(b" ,\t\r\n")
        try:
            numbers = np.array(orjson.loads(b"[" + text + b"]"), dtype=np.float64)
        except (orjson.JSONDecodeError, TypeError, ValueError, OverflowError):
            return None
        if numbers.ndim != 1 or filled + len(numbers) > len(flat):
            return None
        flat[filled : filled + len(numbers)] = numbers
        filled += len(numbers)
    if filled != len(flat):
        return None
    points = flat.reshape(vertices, 2)
    rings = np.split(points, ends[0][:-1])
    if depth == 3:
        return depth, Lifted([rings], vertices)
    per_ring = np.cumsum([len(r) for r in rings])
    polygons, first = [], 0
    for stop in ends[1]:
        last = int(np.searchsorted(per_ring, stop)) + 1
        polygons.append(rings[first:last])
        first = last
    return depth, Lifted(polygons, vertices)


def _two_numbers_each(digit: np.ndarray, opens: np.ndarray, commas: np.ndarray, closes: np.ndarray) -> bool:
    """Every vertex ``[`` … ``,`` … ``]`` holds one comma with one number on either side."""
    if not len(opens):
        return True
    starts = digit.copy()
    starts[1:] &= ~digit[:-1]  # where a run of number characters begins
    first = np.flatnonzero(starts)
    if len(first) != 2 * len(opens):
        return False
    x, y = first[0::2], first[1::2]
    return bool(
        (opens < x).all()
        and (x < commas).all()
        and (commas < y).all()
        and (y < closes).all()
        and (closes[:-1] < opens[1:]).all()
    )


def put_back(annotations: list[Annotation], lifted: dict[int, Lifted], max_vertices: int) -> list[Annotation]:
    """The annotations read from :func:`lift`'s text with each marked lesion given its rings
    (or, over ``max_vertices``, none and a ``LIMIT_EXCEEDED`` issue)."""
    markers = {_marker(k): k for k in lifted}
    out = []
    for ann in annotations:
        lesions, issues = [], list(ann.issues)
        for les in ann.lesions:
            first = (
                les.polygons[0][0] if les.polygons and les.polygons[0] and len(les.polygons[0][0]) else None
            )
            k = markers.get((float(first[0][0]), float(first[0][1]))) if first is not None else None
            if k is None:
                lesions.append(les)
                continue
            value = lifted[k]
            if value.polygons is None:
                issues.append(
                    ReadIssue(
                        "LIMIT_EXCEEDED",
                        msg(
                            "{n} vertices is over limits.vertices_per_lesion = {limit}: the outline is not checked",
                            n=value.n_vertices,
                            limit=max_vertices,
                        ),
                        pointer=les.pointer + "/geometry",
                        lesion=les.index,
                    )
                )
                lesions.append(
                    lesion_as_read(les.index, les.pointer, les.raw_class, [], les.properties, False)
                )
            else:
                lesions.append(
                    lesion_as_read(les.index, les.pointer, les.raw_class, value.polygons, les.properties)
                )
        out.append(dataclasses.replace(ann, lesions=lesions, issues=issues))
    return out
