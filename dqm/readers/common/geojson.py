"""GeoJSON coordinate parsing shared by the QuPath, DSA and native-to-QuPath paths.

Positions may carry a third (z) value, as QuPath and DSA write them; it is dropped. A position
that is not a list of at least two numbers, or a ring that is not a list, is a ``BAD_VERTEX`` or
``WRONG_TYPE`` issue at its JSON pointer and the outline is not read (the lesion keeps no rings,
so the geometry checks do not report the same value twice).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dqm.findings import clip
from dqm.i18n import msg
from dqm.model import ReadIssue
from dqm.readers.common.base import pointer, to_float

AREA_TYPES = frozenset({"Polygon", "MultiPolygon"})
NON_AREA_TYPES = frozenset({"Point", "MultiPoint", "LineString", "MultiLineString"})


# made once, not for each lesion (a Message is some 560 bytes)
_NOT_A_RING = msg("a ring must be a list of positions")
_NOT_RINGS = msg("Polygon coordinates must be a list of rings")
_NOT_POLYGONS = msg("MultiPolygon coordinates must be a list of polygons")


class BadCoordinates(ValueError):
    """The coordinates of a geometry are not shaped as GeoJSON says; carries the read issue."""

    def __init__(self, issue: ReadIssue) -> None:
        super().__init__(issue.message)
        self.issue = issue


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def ring(value: Any, where: list[Any], lesion: int | None, vertex0: int) -> np.ndarray:
    """One linear ring as ``(N, 2)`` float64, z dropped; raises :class:`BadCoordinates`."""
    if not isinstance(value, list):
        raise BadCoordinates(ReadIssue("WRONG_TYPE", _NOT_A_RING, pointer(*where), lesion))
    out = np.empty((len(value), 2), dtype=np.float64)
    for k, pos in enumerate(value):
        if not isinstance(pos, list) or len(pos) < 2 or not all(_is_number(c) for c in pos[:3]):
            raise BadCoordinates(
                ReadIssue(
                    "BAD_VERTEX",
                    msg(
                        "position {k} is not [x, y] or [x, y, z] numbers: {value}",
                        k=k,
                        value=clip(str(pos), 60),
                    ),
                    pointer(*where),
                    lesion,
                    vertex0 + k,
                )
            )
        out[k, 0], out[k, 1] = to_float(pos[0]), to_float(pos[1])
    return out


def polygon(value: Any, where: list[Any], lesion: int | None, vertex0: int) -> list[np.ndarray]:
    """A GeoJSON Polygon's coordinates (shell, holes...) as rings."""
    if not isinstance(value, list):
        raise BadCoordinates(ReadIssue("WRONG_TYPE", _NOT_RINGS, pointer(*where), lesion))
    rings, v = [], vertex0
    for raw in value:
        rings.append(ring(raw, where, lesion, v))
        v += len(rings[-1])
    return rings


def polygons(geometry: dict[str, Any], where: list[Any], lesion: int | None) -> list[list[np.ndarray]]:
    """The polygons of a Polygon or MultiPolygon geometry object."""
    coords = geometry.get("coordinates")
    where = [*where, "coordinates"]
    if geometry.get("type") == "Polygon":
        return [polygon(coords, where, lesion, 0)]
    if not isinstance(coords, list):
        raise BadCoordinates(
            ReadIssue(
                "WRONG_TYPE",
                _NOT_POLYGONS,
                pointer(*where),
                lesion,
            )
        )
    out, v = [], 0
    for poly in coords:
        out.append(polygon(poly, where, lesion, v))
        v += sum(len(r) for r in out[-1])
    return out


def to_coordinates(polys: list[list[np.ndarray]]) -> tuple[str, list[Any]]:
    """A GeoJSON ``(type, coordinates)`` pair for rings, each ring closed as GeoJSON requires."""

    def closed(r: np.ndarray) -> list[list[float]]:
        pts = r.tolist()
        if pts and pts[0] != pts[-1]:
            pts.append(list(pts[0]))
        return pts

    coords = [[closed(r) for r in poly] for poly in polys]
    if len(coords) == 1:
        return "Polygon", coords[0]
    return "MultiPolygon", coords
