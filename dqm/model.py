"""The internal model every reader produces: a batch of items, each a slide with its annotation.

An :class:`Annotation` is format-neutral: lesions with a class and level-0 polygons. Readers
(``dqm.readers``) turn native JSON, QuPath, ASAP, ... into it; checks never see a file format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

Ring = np.ndarray
"""``(N, 2)`` float64 x/y vertices in level-0 pixels, as written (closing vertex optional)."""


@dataclass(slots=True)
class Lesion:
    """One annotated lesion: a class and one or more polygons with holes.

    ``polygons`` keeps the rings exactly as read, so checks can point at a vertex even when the
    rings cannot form a geometry; ``geometry`` is None in that case.
    """

    index: int
    pointer: str
    raw_class: str | None
    label: str | None
    polygons: list[list[Ring]]
    properties: dict[str, Any] = field(default_factory=dict)
    geometry: BaseGeometry | None = None
    outline_read: bool = True
    """False when the outline was structurally broken (a structure finding says why)."""
    _valid: bool | None = None
    _area: float | None = None

    @property
    def area(self) -> float:
        """The geometry's area in level-0 square pixels (0 without a geometry; computed once)."""
        if self._area is None:
            self._area = float(self.geometry.area) if self.geometry is not None else 0.0
        return self._area

    @property
    def is_valid(self) -> bool:
        """Whether the geometry exists and is OGC-valid (computed once)."""
        if self._valid is None:
            self._valid = self.geometry is not None and bool(shapely.is_valid(self.geometry))
        return self._valid

    @classmethod
    def build(
        cls,
        index: int,
        pointer: str,
        raw_class: str | None,
        label: str | None,
        polygons: list[list[Ring]],
        properties: dict[str, Any] | None = None,
        outline_read: bool = True,
    ) -> Lesion:
        geometry, valid = geometry_of(polygons)
        lesion = cls(index, pointer, raw_class, label, polygons, properties or {}, geometry, outline_read)
        lesion._valid = valid
        return lesion

    def vertices(self) -> np.ndarray:
        """All vertices, rings in order (shell then holes, polygon by polygon), as ``(N, 2)``."""
        rings = [r for poly in self.polygons for r in poly]
        return np.concatenate(rings) if rings else np.empty((0, 2))

    @property
    def n_vertices(self) -> int:
        return sum(len(r) for poly in self.polygons for r in poly)

    @property
    def n_holes(self) -> int:
        return sum(max(len(poly) - 1, 0) for poly in self.polygons)


def has_three_distinct(ring: Ring) -> bool:
    """True when an ``(N, 2)`` ring has at least three distinct vertices (O(N), no sort)."""
    if len(ring) < 3:
        return False
    differs = (ring != ring[0]).any(axis=1)
    if not differs.any():
        return False
    second = ring[int(np.argmax(differs))]
    return bool((differs & (ring != second).any(axis=1)).any())


def geometry_of(polygons: list[list[Ring]]) -> tuple[BaseGeometry | None, bool | None]:
    """A shapely Polygon / MultiPolygon from rings, and whether it is valid (None: not computed).

    The geometry is None when a ring cannot be a ring: not finite, or fewer than three distinct
    vertices. Validity (self-intersection, holes) is *not* repaired: the geometry checks report
    it. A valid polygon of positive area certainly has three distinct vertices per ring, so the
    exact vertex count runs only for the rare degenerate outline.
    """
    if not polygons or any(not poly for poly in polygons):
        return None, None
    for poly in polygons:
        for ring in poly:
            if ring.ndim != 2 or ring.shape[1] != 2 or len(ring) < 3 or not np.isfinite(ring).all():
                return None, None
    try:
        parts = [shapely.Polygon(poly[0], poly[1:]) for poly in polygons]
    except (ValueError, shapely.errors.GEOSException):
        return None, None  # e.g. a closed ring of three coordinates
    geom = parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)
    if geom.area > 0 and shapely.is_valid(geom):
        return geom, True
    if all(has_three_distinct(ring) for poly in polygons for ring in poly):
        return geom, None
    return None, None


def build_geometry(polygons: list[list[Ring]]) -> BaseGeometry | None:
    """The geometry of :func:`geometry_of`, without the validity."""
    return geometry_of(polygons)[0]


@dataclass(slots=True)
class Annotation:
    """What one annotation file says about one slide."""

    path: str
    """File path relative to the batch folder."""
    format: str
    slide_file: str | None = None
    width: int | None = None
    height: int | None = None
    mpp: float | None = None
    lesions: list[Lesion] = field(default_factory=list)
    clinical: dict[str, Any] = field(default_factory=dict)
    n_values: int = 0
    """Value slots in the file (keys expected by the format plus extras); value-grain denominator."""
    document: Any = None
    """The parsed document, for structure checks; dropped once the item is checked."""
    image_key: str | None = None
    """For files that describe many images (COCO): which image this annotation is."""
    readable: bool = True
    """False when the file could not be read or parsed at all: content checks skip it."""
    issues: list[ReadIssue] = field(default_factory=list)
    """Problems the reader met; the registered check that owns each code reports it."""
    properties: dict[str, Any] = field(default_factory=dict)
    """File-level free text of foreign formats (document names, descriptions), keyed by pointer."""
    slide_pointers: dict[str, str] = field(default_factory=dict)
    """Where ``width``, ``height`` and ``mpp`` were read, when not the native ``/slide/<key>``."""

    def slide_pointer(self, key: str) -> str:
        """The pointer of the declared slide fact ``key`` (``width``, ``height`` or ``mpp``)."""
        return self.slide_pointers.get(key, f"/slide/{key}")


@dataclass(frozen=True, slots=True)
class ReadIssue:
    """A problem met while reading a file, reported by the check that declares its ``code``."""

    code: str
    message: str
    pointer: str | None = None
    lesion: int | None = None
    vertex: int | None = None
    xy: tuple[float, float] | None = None
    line: int | None = None
    char: int | None = None

    def where(self) -> dict[str, Any]:
        """Its location inside the file (the file is the reader's to say)."""
        return {
            "pointer": self.pointer,
            "lesion": self.lesion,
            "vertex": self.vertex,
            "xy": self.xy,
            "line": self.line,
            "char": self.char,
        }


@dataclass(frozen=True, slots=True)
class DiscoveryIssue:
    """A problem with the batch layout or the manifest, found while discovering items; reported,
    like a :class:`ReadIssue`, by the check that declares its ``code``."""

    code: str
    message: str
    file: str | None = None
    row: int | None = None
    column: str | None = None
    item_id: str | None = None
    line: int | None = None
    """1-based physical line of the file, for syntax errors."""

    def where(self) -> dict[str, Any]:
        """The item it is about (else its file, else the batch) and its location."""
        return {
            "item_id": self.item_id or self.file or "batch",
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "line": self.line,
        }


@dataclass(slots=True)
class Item:
    """One slide of the batch: its files and its clinical record."""

    slide_id: str
    image_path: str | None
    annotation_path: str | None
    record: dict[str, Any] = field(default_factory=dict)
    """Clinical record: the manifest row (raw strings) or the annotation's clinical block."""
    row: int | None = None
    """1-based manifest data row, None when the item was paired by file stem."""

    @property
    def institution(self) -> str | None:
        value = self.record.get("institution")
        return value if isinstance(value, str) and value.strip() else None

    @property
    def diagnosis(self) -> str | None:
        value = self.record.get("diagnosis")
        return value if isinstance(value, str) and value.strip() else None
