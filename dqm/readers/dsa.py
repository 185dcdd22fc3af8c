"""Reader for Digital Slide Archive / Girder ``large_image`` annotation JSON.

Accepted: a list of annotation documents (``[{"annotation": {"elements": [...]}, ...}]``, as the
Girder API returns them for one slide), one document, or a bare ``{"elements": [...]}``. All
documents of a file describe one slide. Each element is one lesion:

* ``polyline`` with ``closed: true``: the ``points`` ring, ``holes`` as holes; an open
  polyline is ``NOT_AN_AREA``;
* ``rectangle``: ``center``, ``width``, ``height``, ``rotation`` (radians) -> 4-vertex ring;
* ``ellipse`` / ``circle``: ``center`` with ``width``/``height`` or ``radius`` -> 64-vertex ring;
* ``point`` and ``arrow``: ``NOT_AN_AREA``; other types (heatmaps, grids, images):
  ``UNSUPPORTED_GEOMETRY``.

The class is the element's ``group``, else its ``label.value``; neither is ``CLASS_MISSING``.
Positions ``[x, y, z]`` keep x and y.
"""

from __future__ import annotations

import math
from typing import Any

from dqm.findings import clip
from dqm.i18n import msg
from dqm.model import Annotation, Lesion, ReadIssue
from dqm.readers.common import geojson, shapes
from dqm.readers.common.base import DistinctTexts, lesion_as_read, pointer, texts, to_float
from dqm.readers.common.reader import Role, Syntax

NAME = "dsa"
TITLE = "DSA"
ROLE: Role = "annotation"
SYNTAX: Syntax = "json"
ROOT = None
NOT_AREAS = frozenset({"point", "arrow"})


def _is_doc(d: Any) -> bool:
    return isinstance(d, dict) and isinstance(d.get("annotation"), dict)


def looks(doc: Any, rel: str) -> bool:
    """A DSA annotation document, a list of them, or an object with an ``elements`` list."""
    if isinstance(doc, list):
        return bool(doc) and _is_doc(doc[0])
    return _is_doc(doc) or (isinstance(doc, dict) and isinstance(doc.get("elements"), list))


def _documents(doc: Any) -> list[tuple[Any, list[Any]]]:
    """``(annotation body, path to it)`` for every document of the file."""
    if isinstance(doc, list):
        return [
            (d.get("annotation") if isinstance(d, dict) else d, [i, "annotation"]) for i, d in enumerate(doc)
        ]
    if _is_doc(doc):
        return [(doc["annotation"], ["annotation"])]
    return [(doc, [])]


def _wrappers(doc: Any) -> dict[str, Any]:
    """The text of each document's keys beside its ``annotation`` (a Girder record's), by pointer."""
    if isinstance(doc, list):
        return {
            k: v for i, d in enumerate(doc) if isinstance(d, dict) for k, v in texts(d, i, skip=_BODY).items()
        }
    return texts(doc, skip=_BODY) if _is_doc(doc) else {}


_BODY = frozenset({"annotation"})
_READ_BODY = frozenset({"elements"})
"""A document body's keys the model holds; its ``name``, ``description`` and any other key's text
(``attributes``, a vendor's own) are searched as the file's."""
_READ_ELEMENT = frozenset({"points", "holes", "group", "center", "type", "closed"})
"""An element's keys its lesion holds as its outline and class; the others are its properties."""


def _num(v: Any) -> float | None:
    """A finite JSON number as a float, else None."""
    if not isinstance(v, int | float) or isinstance(v, bool):
        return None
    out = to_float(v)
    return out if math.isfinite(out) else None


def _class(element: dict[str, Any]) -> str | None:
    group = element.get("group")
    if isinstance(group, str) and group.strip():
        return group.strip()
    label = element.get("label")
    if isinstance(label, dict) and isinstance(label.get("value"), str) and label["value"].strip():
        return label["value"].strip()
    return None


def read(doc: Any, path: str, issues: list[ReadIssue]) -> list[Annotation]:
    """The internal model of a parsed DSA annotation file (one slide)."""
    issues = list(issues)
    ann = Annotation(path=path, format=NAME, issues=issues, document=doc, properties=_wrappers(doc))
    unread = DistinctTexts(ann.properties)  # points may be thousands: their text once a string
    n_values = 1
    index = 0
    for body, where in _documents(doc):
        if not isinstance(body, dict):
            issues.append(
                ReadIssue("WRONG_TYPE", msg("an annotation document must be an object"), pointer(*where))
            )
            n_values += 1
            ann.properties.update(texts(body, *where))
            continue
        ann.properties.update(texts(body, *where, skip=_READ_BODY))
        elements = body.get("elements")
        if not isinstance(elements, list):
            code = "MISSING_KEY" if elements is None else "WRONG_TYPE"
            issues.append(ReadIssue(code, msg("'elements' must be a list"), pointer(*where, "elements")))
            n_values += 1
            ann.properties.update(texts(elements, *where, "elements"))
            continue
        for k, element in enumerate(elements):
            n_values += 2
            lesion = _element(element, [*where, "elements", k], index, issues)
            if lesion is not None:
                ann.lesions.append(lesion)
            else:  # not an outline (a point, an arrow, not an object): its text all the same
                unread.add(element, *where, "elements", k, skip=_READ_ELEMENT - {"group"})
            index += 1
    ann.n_values = n_values
    return [ann]


def _element(element: Any, where: list[Any], index: int, issues: list[ReadIssue]) -> Lesion | None:
    ptr = pointer(*where)
    if not isinstance(element, dict):
        issues.append(ReadIssue("WRONG_TYPE", msg("an element must be an object"), ptr, index))
        return None
    kind = element.get("type")
    if not isinstance(kind, str):
        kind = clip(repr(kind), 40)
    if kind in NOT_AREAS or (kind == "polyline" and element.get("closed") is not True):
        text = (
            msg("an open polyline encloses no area: not a lesion outline (skipped)")
            if kind == "polyline"
            else msg("a {kind} encloses no area: not a lesion outline (skipped)", kind=kind)
        )
        issues.append(ReadIssue("NOT_AN_AREA", text, ptr, index))
        return None
    raw_class = _class(element)
    if raw_class is None:
        issues.append(
            ReadIssue(
                "CLASS_MISSING",
                msg("the element has no group and no label: its class is unknown"),
                ptr + "/group",
                index,
            )
        )
    props = {k: v for k, v in element.items() if k not in _READ_ELEMENT}
    polygons, read = _outline(element, kind, where, index, issues)
    return lesion_as_read(index, ptr, raw_class, polygons, props, read)


def _outline(
    element: dict[str, Any], kind: Any, where: list[Any], index: int, issues: list[ReadIssue]
) -> tuple[list[Any], bool]:
    ptr = pointer(*where)
    try:
        if kind == "polyline":
            rings = [geojson.ring(element.get("points"), [*where, "points"], index, 0)]
            holes = element.get("holes") or []
            if not isinstance(holes, list):
                raise geojson.BadCoordinates(
                    ReadIssue("WRONG_TYPE", msg("'holes' must be a list"), ptr + "/holes", index)
                )
            vertex = len(rings[0])
            for h, hole in enumerate(holes):
                rings.append(geojson.ring(hole, [*where, "holes", h], index, vertex))
                vertex += len(rings[-1])
            return [rings], True
        if kind in ("rectangle", "ellipse", "circle"):
            center = element.get("center")
            if not (
                isinstance(center, list) and len(center) >= 2 and all(_num(c) is not None for c in center[:2])
            ):
                raise geojson.BadCoordinates(
                    ReadIssue(
                        "BAD_VERTEX",
                        msg("'center' must be [x, y] or [x, y, z] finite numbers"),
                        ptr + "/center",
                        index,
                    )
                )
            cx, cy = float(center[0]), float(center[1])
            rotation = _num(element.get("rotation")) or 0.0
            if kind == "circle":
                radius = _num(element.get("radius"))
                if radius is None:
                    raise geojson.BadCoordinates(
                        ReadIssue(
                            "MISSING_KEY",
                            msg("a circle needs a finite numeric 'radius'"),
                            ptr + "/radius",
                            index,
                        )
                    )
                return [[shapes.ellipse(cx, cy, radius, radius)]], True
            width, height = _num(element.get("width")), _num(element.get("height"))
            if width is None or height is None:
                raise geojson.BadCoordinates(
                    ReadIssue(
                        "MISSING_KEY",
                        msg("a {kind} needs finite numeric 'width' and 'height'", kind=kind),
                        ptr,
                        index,
                    )
                )
            if kind == "rectangle":
                return [[shapes.rotated_rectangle(cx, cy, width, height, rotation)]], True
            return [[shapes.ellipse(cx, cy, width / 2, height / 2, rotation)]], True
    except geojson.BadCoordinates as exc:
        issues.append(exc.issue)
        return [], False
    issues.append(
        ReadIssue(
            "UNSUPPORTED_GEOMETRY",
            msg("element type {kind!r} is not an outline dqm reads", kind=clip(str(kind), 40)),
            ptr + "/type",
            index,
        )
    )
    return [], False
