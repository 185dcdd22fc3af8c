"""What a read in pieces keeps, tallied in bytes as it goes, and the read stopped past its limit.

A QuPath or clean native file read in pieces (:mod:`dqm.readers.common.pieces`) is admitted at an
up-front estimate (:func:`dqm.readers.pieces_needed`) that cannot tell which strings the read will
keep: a file of detections of unique keys keeps each key with its pointer, one of the same
measurements keeps them once. Charging every quote and colon as kept made a usual export's
estimate about 31 times its size. Instead the read counts what it keeps: the annotation's lesions
(coordinates, geometry, properties, pointer) and issues (with their messages, a shared one
once), measured as each item is read
(:meth:`Tally.check`), the text of the top-level object the annotation holds (:meth:`Tally.watch`),
and what :class:`~dqm.readers.common.base.DistinctTexts` keeps of the objects it skips
(:meth:`Tally.charge`). When ``base`` (the file's bytes and what the split holds) and
:data:`KEPT_FACTOR` times the tally pass what the limit leaves the read, the read stops with
:class:`OverLimit`, which the caller reports as ``LIMIT_EXCEEDED``. The check comes before each item
is parsed, that item's parse charged too (:class:`Parse`, at the rates of a text parsed whole: one
item may be as big as the file), and after the last.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from dqm.model import Annotation

KEPT_FACTOR = 1.5
"""The RSS a byte the tally counts comes to (the allocator's arenas and the per-item transients
the tally does not see). The shapes of ``python benchmarks/bench_annotation_memory.py --shapes``
grow at most 1.19 times their tally (100 floats or lists of lists 10 deep a feature, 1.18-1.19 at
17 and 50 MiB; 1.01 and 1.06 usual QuPath and native exports at 17 MiB, 0.36-1.08 the others at
3 MiB, 0.86-0.89 an issue a feature with a message of its own, counted with its message since a
review found them at 1.53-1.61; a top-level value parsed whole, charged apart up front, and one item
as big as the file, its parse charged before it is made, more): 1.5 keeps a quarter above that.
It was 2, set by hand: a usual export's tally then came to 10 times its size where it peaks at 5.6,
and the up-front estimate had to cover it. Each item's parse is charged apart before it is made
(:class:`Parse`)."""
ENTRY_BYTES = 64
"""A dict's or set's slot for one kept entry (its hash, key and value pointers, the table's slack)."""
GEOMETRY_PART_BYTES = 340
"""A shapely (GEOS) polygon beside its vertices, and :data:`RING_BYTES` a hole: measured 330-340
bytes (a million of 6 vertices, 2,000 of 1,000; MultiPolygons of 5 parts 300 a part)."""
RING_BYTES = 120
COORD_BYTES = 24
"""GEOS's bytes a vertex (x and y, 17.5 measured, and its sequence's slack)."""
ISSUE_BYTES = 240
"""A :class:`~dqm.model.ReadIssue` beside its pointer and its message (:func:`message_bytes`)."""
SEEN_BYTES = 100
"""The slot and the id of a message in the set of the messages a read has counted."""


@dataclass(frozen=True, slots=True)
class Parse:
    """What parsing a raw text takes at most (its tree, and what the read keeps of it before the
    next check): ``need(text)``, at most ``most`` bytes a byte of it."""

    need: Callable[[bytes], int]
    most: int


class OverLimit(Exception):
    """What a read in pieces keeps passed the room its limit leaves: ``need`` bytes of ``limit``."""

    def __init__(self, need: int, limit: int) -> None:
        super().__init__(need, limit)
        self.need = need
        self.limit = limit


def deep_bytes(value: Any) -> int:
    """The bytes ``value`` holds (containers, their items and keys, strings, numbers; an array's
    buffer): one walk, no recursion."""
    total = 0
    stack = [value]
    while stack:
        v = stack.pop()
        total += sys.getsizeof(v)
        kind = type(v)
        if kind is dict:
            stack.extend(v.keys())
            stack.extend(v.values())
        elif kind is list or kind is tuple:
            stack.extend(v)
        elif kind is np.ndarray:
            total += v.nbytes if v.base is not None else 0
    return total


def lesion_bytes(lesion: Any) -> int:
    """What a :class:`~dqm.model.Lesion` holds: itself, its pointer and class, its rings, its
    geometry (GEOS) and its properties."""
    total = sys.getsizeof(lesion) + sys.getsizeof(lesion.pointer)
    total += sys.getsizeof(lesion.raw_class) + deep_bytes(lesion.properties)
    for polygon in lesion.polygons:
        total += sys.getsizeof(polygon) + sum(deep_bytes(ring) for ring in polygon)
    geometry = lesion.geometry
    if geometry is not None:
        parts = int(shapely.get_num_geometries(geometry))
        holes = sum(len(polygon) - 1 for polygon in lesion.polygons)  # as read: an upper count
        total += GEOMETRY_PART_BYTES * parts + RING_BYTES * holes
        total += COORD_BYTES * int(shapely.get_num_coordinates(geometry))
    return total


def message_bytes(message: str) -> int:
    """What an issue's message holds: its text, and for a :class:`~dqm.i18n.Message` its
    attributes' table and parameters (its msgid and context are the code's own). A message made
    for each item (a parameter naming it: some 500 to 750 bytes) costs the issue two to three
    times what the issue holds beside it."""
    total = sys.getsizeof(message)
    attributes = getattr(message, "__dict__", None)
    if attributes is not None:
        total += sys.getsizeof(attributes) + deep_bytes(attributes.get("params"))
    return total


class Tally:
    """The bytes a read in pieces keeps (see the module). ``room(need)``: the bytes the limit
    leaves a read of ``need`` bytes, the parse cache's entries made room for (its least recently
    used ones out) when it asks more than ``allowed``."""

    __slots__ = ("_messages", "_watched", "allowed", "base", "kept", "parse", "room")

    def __init__(self, base: int, room: Callable[[int], int], parse: Parse | None = None) -> None:
        self.base = base
        self.kept = 0
        self.room = room
        self.parse = parse
        self.allowed = room(base)
        self._watched: list[tuple[Annotation, list[int]]] = []
        self._messages: set[int] = set()  # the ids of the messages counted: a shared one counts once

    def need(self) -> int:
        """What the read takes now, by the tally."""
        return self.base + int(KEPT_FACTOR * self.kept)

    def charge(self, n: int) -> None:
        """``n`` bytes more kept (checked at the next :meth:`check`)."""
        self.kept += n

    def watch(self, ann: Annotation) -> None:
        """The annotation whose lesions and issues grow as the read goes; its text kept so far
        charged now."""
        self.kept += deep_bytes(ann.properties) + deep_bytes(ann.clinical)
        self._watched.append((ann, [len(ann.lesions), len(ann.issues)]))
        self.check()

    def check(self, raw: Any = None) -> None:
        """The lesions and issues made since the last check counted; :class:`OverLimit` when the
        read now takes more than the limit leaves it, or when parsing ``raw`` (an item's raw text,
        parsed next) would: one item may be as big as the file (a detection of a million unique
        keys), and what its parse makes is counted only once it is made."""
        for ann, counted in self._watched:
            lesions, issues = ann.lesions, ann.issues
            for lesion in lesions[counted[0] :]:
                self.kept += lesion_bytes(lesion)
            for issue in issues[counted[1] :]:
                self.kept += ISSUE_BYTES + sys.getsizeof(issue.pointer)
                message = issue.message
                if id(message) not in self._messages:  # the issue keeps it alive: its id is its own
                    self._messages.add(id(message))
                    self.kept += SEEN_BYTES + message_bytes(message)
            counted[0], counted[1] = len(lesions), len(issues)
        need = self.need()
        parse = self.parse
        if raw is not None and parse is not None and need + parse.most * len(raw) > self.allowed:
            need += parse.need(bytes(raw))  # counted only where it may not fit: a usual item never is
        if need > self.allowed:
            self.allowed = self.room(need)
            if need > self.allowed:
                raise OverLimit(need, self.allowed)


_TALLY: contextvars.ContextVar[Tally | None] = contextvars.ContextVar("dqm_readers_tally", default=None)


def current() -> Tally | None:
    """The tally of the read in pieces under way, None when none is."""
    return _TALLY.get()


@contextlib.contextmanager
def tallied(base: int, room: Callable[[int], int], parse: Parse | None = None) -> Iterator[Tally]:
    """A :class:`Tally` for the read in pieces within (see :class:`Tally` for ``base``, ``room``
    and ``parse``)."""
    tally = Tally(base, room, parse)
    token = _TALLY.set(tally)
    try:
        yield tally
    finally:
        _TALLY.reset(token)


def watch(ann: Annotation) -> None:
    """:meth:`Tally.watch` of the read under way, if any."""
    tally = _TALLY.get()
    if tally is not None:
        tally.watch(ann)


def check(raw: Any = None) -> None:
    """:meth:`Tally.check` of the read under way, if any."""
    tally = _TALLY.get()
    if tally is not None:
        tally.check(raw)


def charge(n: int) -> None:
    """:meth:`Tally.charge` of the read under way, if any."""
    tally = _TALLY.get()
    if tally is not None:
        tally.kept += n
