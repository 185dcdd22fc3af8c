"""The lesions of a file of many images held compactly, each image's built when it is asked for.

A COCO file is one file for every image of a delivery (34,376 in the reference dataset), parsed
once per worker and kept in the parse cache while its items are checked, each item needing only
its own image's lesions. Built, a lesion of a few vertices held about 800 bytes of Python objects
and as much again of GEOS memory (a ``Lesion``, its pointer, its lists of rings, a numpy array a
ring, a shapely geometry, a properties dict): a parsed COCO file peaked at 16 times its size.

:class:`LesionStore` holds what the reader read of every lesion of a file in a few flat arrays:
its annotation index, class (a number into the file's class names), whether its outline was
read, its vertices (float64, one array for the file) with the offsets of its polygons and rings,
and its properties as JSON text (one buffer for the file; a value JSON cannot write back exactly,
a NaN, an integer past 64 bits, is kept as it is). :class:`ImageLesions` is one image's lesions
as a read-only sequence: each access builds them (:func:`~dqm.readers.common.base.lesion_as_read`,
exactly what the reader made of them before), nothing built is kept. The item's annotation is a
copy with its lesions built once (:func:`built`).
"""

from __future__ import annotations

import copy
import dataclasses
from array import array
from collections.abc import Iterator, Sequence
from typing import Any, cast, overload

import numpy as np
import orjson

from dqm.model import Annotation, Lesion, Ring
from dqm.readers.common.base import lesion_as_read, pointer


class LesionStore:
    """Every lesion a reader read of one file, in arrays, in the order :meth:`add` was given them.

    The counts are gathered in growing ``array.array``\\ s (no Python object a number) and made
    offsets at :meth:`done`; lesions are built only after it."""

    __slots__ = (
        "_class_of",
        "_classes",
        "_codes",
        "_coords",
        "_index",
        "_kept",
        "_points",
        "_polygons",
        "_read",
        "_rings",
        "_text",
        "_text_end",
        "_vertices",
        "key",
    )

    def __init__(self, key: str) -> None:
        self.key = key
        """The key of the list the lesions are the entries of (their pointer: ``/key/index``)."""
        self._index = array("q")
        self._classes: list[str | None] = []
        self._class_of: dict[str | None, int] = {}
        self._codes = array("i")  # per lesion: its class's number in _classes
        self._read = array("b")
        self._polygons = array("q")  # per lesion: its polygons; at done(), the offset of its first
        self._rings = array("q")  # per polygon: its rings; then offsets
        self._vertices = array("q")  # per ring: its vertices; then offsets
        self._coords = array("d")
        self._points: np.ndarray = np.empty((0, 2))
        self._text = bytearray()
        self._text_end = array("q")
        self._kept: dict[int, dict[str, Any]] = {}  # properties JSON cannot write back exactly

    def add(
        self,
        index: int,
        raw_class: str | None,
        polygons: list[list[Ring]],
        properties: dict[str, Any],
        read: bool,
    ) -> int:
        """Hold one lesion (as :func:`~dqm.readers.common.base.lesion_as_read` takes it); its number."""
        n = len(self._index)
        self._index.append(index)
        code = self._class_of.get(raw_class)
        if code is None:
            code = self._class_of[raw_class] = len(self._classes)
            self._classes.append(raw_class)
        self._codes.append(code)
        self._read.append(read)
        self._polygons.append(len(polygons))
        for poly in polygons:
            self._rings.append(len(poly))
            for ring in poly:
                self._vertices.append(len(ring))
                self._coords.frombytes(np.ascontiguousarray(ring, dtype=np.float64).tobytes())
        self._hold_text(n, properties)
        return n

    def _hold_text(self, n: int, properties: dict[str, Any]) -> None:
        try:
            text = orjson.dumps(properties)
            exact = orjson.loads(text) == properties  # NaN is written null, -0 and 1.0 kept
        except (TypeError, orjson.JSONEncodeError):  # an integer past 64 bits
            exact = False
        if exact:
            self._text += text
        else:
            self._kept[n] = properties
        self._text_end.append(len(self._text))

    def done(self) -> None:
        """The counts made offsets: lesions can be built from here on."""
        for name in ("_polygons", "_rings", "_vertices"):
            counts = np.frombuffer(getattr(self, name), dtype=np.int64)
            offsets = array("q", [0])
            offsets.frombytes(np.cumsum(counts, dtype=np.int64).tobytes())
            setattr(self, name, offsets)
        self._points = np.frombuffer(self._coords, dtype=np.float64).reshape(-1, 2)

    @property
    def classes(self) -> list[str | None]:
        """The class names of the lesions held, each once."""
        return list(self._classes)

    def raw_class(self, n: int) -> str | None:
        return self._classes[self._codes[n]]

    def pointer(self, n: int) -> str:
        return pointer(self.key, self._index[n])

    def properties(self, n: int) -> dict[str, Any]:
        """Lesion ``n``'s properties: a new dict each time, as the reader made it (one JSON
        cannot write back exactly is copied whole, nothing of it shared with the store)."""
        kept = self._kept.get(n)
        if kept is not None:
            return copy.deepcopy(kept)
        start, end = self._text_end[n - 1] if n else 0, self._text_end[n]
        if end - start == 2:  # b"{}": most lesions have no properties
            return {}
        return cast(dict[str, Any], orjson.loads(memoryview(self._text)[start:end]))

    def held_as(self, n: int) -> tuple[Any, ...]:
        """What lesion ``n`` is held as, nothing built: its pointer, class, whether its outline
        was read, its rings' lengths by polygon, its vertices' bytes and its properties."""
        rings, vertices = self._rings, self._vertices
        first, last = self._polygons[n], self._polygons[n + 1]
        shape = [
            [vertices[r + 1] - vertices[r] for r in range(rings[p], rings[p + 1])] for p in range(first, last)
        ]
        points = self._points[vertices[rings[first]] : vertices[rings[last]]].tobytes()
        start = self._text_end[n - 1] if n else 0
        text = bytes(self._text[start : self._text_end[n]])
        return (self.pointer(n), self.raw_class(n), self._read[n], shape, points, text, self._kept.get(n))

    def lesion(self, n: int) -> Lesion:
        """Lesion ``n`` built: its rings copied out of the file's array, its geometry made."""
        points, rings, vertices = self._points, self._rings, self._vertices
        polygons = [
            [points[vertices[r] : vertices[r + 1]].copy() for r in range(rings[p], rings[p + 1])]
            for p in range(self._polygons[n], self._polygons[n + 1])
        ]
        index = self._index[n]
        return lesion_as_read(
            index,
            pointer(self.key, index),
            self.raw_class(n),
            polygons,
            self.properties(n),
            bool(self._read[n]),
        )


class ImageLesions(Sequence[Lesion]):
    """One image's lesions of a :class:`LesionStore`, built at each access (none is kept)."""

    __slots__ = ("numbers", "store")

    def __init__(self, store: LesionStore, numbers: array[int]) -> None:
        self.store = store
        self.numbers = numbers

    def __len__(self) -> int:
        return len(self.numbers)

    @overload
    def __getitem__(self, k: int) -> Lesion: ...

    @overload
    def __getitem__(self, k: slice) -> list[Lesion]: ...

    def __getitem__(self, k: int | slice) -> Lesion | list[Lesion]:
        if isinstance(k, slice):
            return [self.store.lesion(n) for n in self.numbers[k]]
        return self.store.lesion(self.numbers[k])

    def __iter__(self) -> Iterator[Lesion]:
        return (self.store.lesion(n) for n in self.numbers)

    def __eq__(self, other: object) -> bool:
        """The same lesions of one store, or lesions held alike in two (a copy's), compared as
        held (:meth:`LesionStore.held_as`): built lesions hold arrays, which ``==`` cannot
        compare. A list is not equal to them (its lesions would be built to be compared)."""
        if not isinstance(other, ImageLesions):
            return NotImplemented
        if self.store is other.store and self.numbers == other.numbers:
            return True
        return len(self) == len(other) and all(
            self.store.held_as(n) == other.store.held_as(m)
            for n, m in zip(self.numbers, other.numbers, strict=True)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ImageLesions({len(self)} lesions)"

    def classes(self) -> set[str | None]:
        """The class names of these lesions as written, each once, none built nor its
        properties read."""
        store = self.store
        return {store._classes[code] for code in {store._codes[n] for n in self.numbers}}

    def texts(self) -> Iterator[tuple[str, str | None, dict[str, Any]]]:
        """``(pointer, class as written, properties)`` of each lesion, none built."""
        store = self.store
        return ((store.pointer(n), store.raw_class(n), store.properties(n)) for n in self.numbers)


def held(lesions: list[Lesion] | ImageLesions) -> list[Lesion]:
    """How an annotation holds its lesions as its field's type says (a list)."""
    return cast(list[Lesion], lesions)


def built(ann: Annotation) -> Annotation:
    """``ann`` with its lesions built into a list of its own when they are held in a store (the
    annotation an item checks); ``ann`` itself otherwise."""
    lesions: Sequence[Lesion] = ann.lesions
    if isinstance(lesions, ImageLesions):
        return dataclasses.replace(ann, lesions=list(lesions))
    return ann


def lesion_classes(ann: Annotation) -> set[str | None]:
    """The class names of the lesions of ``ann`` as written, none built."""
    lesions: Sequence[Lesion] = ann.lesions
    if isinstance(lesions, ImageLesions):
        return lesions.classes()
    return {lesion.raw_class for lesion in lesions}


def lesion_texts(ann: Annotation) -> Iterator[tuple[str, str | None, dict[str, Any]]]:
    """``(pointer, class as written, properties)`` of each lesion of ``ann``, none built."""
    lesions: Sequence[Lesion] = ann.lesions
    if isinstance(lesions, ImageLesions):
        return lesions.texts()
    return ((lesion.pointer, lesion.raw_class, lesion.properties) for lesion in lesions)
