"""Reader for ASAP XML (``<ASAP_Annotations>``, as written by ASAP and the CAMELYON datasets).

Each ``Annotations/Annotation`` is one lesion; its class is ``PartOfGroup`` (a group name, mapped
through the profile's ``class_map`` like any foreign class name). Coordinates are read in
document order, as ASAP draws them; an ``Order`` attribute that contradicts it (not a whole
number, repeated, out of sequence) is a ``VERTEX_ORDER`` warning at that coordinate.

* ``Polygon`` and ``Rectangle``: the coordinates are the ring;
* ``Spline``: the coordinates are control points of a closed centripetal Catmull-Rom curve,
  interpolated as :func:`dqm.readers.common.shapes.closed_spline` says (vertex ``j * 8`` is control
  point ``j``); the lesion's properties record the number of control points;
* ``Dot``, ``PointSet`` and ``Measurement``: not an area (``NOT_AN_AREA``, skipped);
* a group ``None`` or no group: ``CLASS_MISSING``.
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

import numpy as np

from dqm.findings import clip
from dqm.i18n import msg
from dqm.model import Annotation, ReadIssue
from dqm.readers.common import shapes
from dqm.readers.common.base import lesion_as_read
from dqm.readers.common.reader import Role, Syntax
from dqm.readers.common.xmltree import children, first, local, not_a_number, number

NAME = "asap"
TITLE = "ASAP"
ROLE: Role = "annotation"
SYNTAX: Syntax = "xml"
ROOT = "ASAP_Annotations"

AREA_TYPES = frozenset({"polygon", "rectangle", "spline"})
POINT_TYPES = frozenset({"dot", "pointset", "measurement"})
NO_GROUP = frozenset({"", "none"})


def looks(root: Element, rel: str) -> bool:
    """The root element is ``<ASAP_Annotations>``."""
    return local(root.tag) == ROOT


def coordinates(
    element: Element, path: str, lesion: int, issues: list[ReadIssue]
) -> tuple[np.ndarray | None, int]:
    """``(ring, n_coordinate_elements)``; None (and an issue) when a coordinate is not a number."""
    coords = first(element, "Coordinates")
    if coords is None:
        issues.append(ReadIssue("MISSING_KEY", msg("the annotation has no <Coordinates>"), path, lesion))
        return None, 0
    pts: list[tuple[float, float]] = []
    orders = _Orders(lesion, issues)
    for k, (coord, cpath) in enumerate(children(coords, "Coordinate", f"{path}/Coordinates")):
        orders.see(k, coord.get("Order"), cpath)
        x, y = number(coord.get("X")), number(coord.get("Y"))
        if x is None or y is None:
            attr = "X" if x is None else "Y"
            issues.append(
                ReadIssue("BAD_VERTEX", not_a_number(coord.get(attr), attr), cpath, lesion, vertex=k)
            )
            return None, k + 1
        pts.append((x, y))
    return np.asarray(pts, dtype=np.float64).reshape(-1, 2), len(pts)


ORDER_SHOWN = 40
"""Characters of a malformed ``Order`` value the finding quotes."""


class _Orders:
    """The ``Order`` attributes of one annotation's coordinates, against their places in the file.
    ASAP draws the coordinates in the file's order and writes ``Order`` 0, 1, 2... beside them;
    dqm reads them as ASAP draws them. An ``Order`` that says otherwise (not a whole number, one
    that repeats, one out of sequence: a tool that sorts by it draws another outline) is one
    ``VERTEX_ORDER`` warning an annotation, at the first coordinate that breaks the sequence.
    The sequence is the first judged coordinate's ``Order`` less its place, where that is 0 or 1 (a
    writer counting from one is consistent), else 0. A coordinate without ``Order`` is not judged.
    Nothing is kept per coordinate: every judged one before k is in sequence, so an ``Order`` below
    ``start + k`` repeats coordinate ``Order - start``'s when no coordinate before that one went
    without (else it is said as out of sequence)."""

    def __init__(self, lesion: int, issues: list[ReadIssue]) -> None:
        self.lesion, self.issues = lesion, issues
        self.start: int | None = None
        self.said = False
        self.first_gap: int | None = None  # the first coordinate without an Order

    def see(self, k: int, raw: str | None, where: str) -> None:
        if self.said:
            return
        if raw is None:
            if self.first_gap is None:
                self.first_gap = k
            return
        text = raw.strip()
        whole = text.isascii() and text.isdecimal()
        value = (int(text) if len(text) <= 18 else 10**18) if whole else None  # no coordinate's place
        if self.start is None:
            self.start = value - k if value is not None and value - k in (0, 1) else 0
        first = value - self.start if value is not None else -1
        if value is None:
            why = msg(
                "coordinate {k}'s Order {order!r} is not a whole number: the outline is read in the "
                "file's order, as ASAP draws it",
                k=k,
                order=clip(raw, ORDER_SHOWN),
            )
        elif 0 <= first < k and (self.first_gap is None or first < self.first_gap):
            why = msg(
                "coordinate {k}'s Order {order} repeats coordinate {first}'s: the outline is read in "
                "the file's order, as ASAP draws it",
                k=k,
                order=value,
                first=first,
            )
        elif value != self.start + k:
            why = msg(
                "coordinate {k}'s Order is {order}, not {expected}: the coordinates are out of their "
                "Order's sequence; the outline is read in the file's order, as ASAP draws it (a tool "
                "that sorts by Order draws another)",
                k=k,
                order=clip(text, ORDER_SHOWN),
                expected=self.start + k,
            )
        else:
            return
        self.said = True
        self.issues.append(ReadIssue("VERTEX_ORDER", why, where + "/@Order", self.lesion, vertex=k))


def read(root: Element, path: str, issues: list[ReadIssue]) -> list[Annotation]:
    """The internal model of a parsed ASAP document (one slide)."""
    issues = list(issues)
    ann = Annotation(path=path, format=NAME, issues=issues)
    base = f"/{ROOT}"
    container = first(root, "Annotations")
    n_values = 1
    if container is None:
        issues.append(ReadIssue("MISSING_KEY", msg("no <Annotations> element"), base))
        ann.n_values = n_values
        return [ann]
    for index, (element, epath) in enumerate(children(container, "Annotation", f"{base}/Annotations")):
        n_values += 2
        kind = (element.get("Type") or "").strip()
        group = (element.get("PartOfGroup") or "").strip()
        props: dict[str, Any] = {k: v for k, v in element.attrib.items() if k not in ("PartOfGroup",)}
        if kind.lower() in POINT_TYPES:
            issues.append(
                ReadIssue(
                    "NOT_AN_AREA",
                    msg(
                        "a {kind} annotation marks points, not an area: it is not a lesion outline (skipped)",
                        kind=kind,
                    ),
                    epath,
                    index,
                )
            )
            continue
        raw_class = None if group.lower() in NO_GROUP else group
        if raw_class is None:
            issues.append(
                ReadIssue(
                    "CLASS_MISSING",
                    msg(
                        "annotation {name!r} belongs to no group: its class is unknown",
                        name=clip(element.get("Name", ""), 60),
                    ),
                    epath + "/@PartOfGroup",
                    index,
                )
            )
        if kind.lower() not in AREA_TYPES:
            issues.append(
                ReadIssue(
                    "UNSUPPORTED_GEOMETRY",
                    msg("annotation type {kind!r} is not Polygon, Rectangle or Spline", kind=clip(kind, 40)),
                    epath + "/@Type",
                    index,
                )
            )
            ann.lesions.append(lesion_as_read(index, epath, raw_class, [], props, outline_read=False))
            continue
        ring, _ = coordinates(element, epath, index, issues)
        if ring is None:
            ann.lesions.append(lesion_as_read(index, epath, raw_class, [], props, outline_read=False))
            continue
        if kind.lower() == "spline":
            props["spline_control_points"] = len(ring)
            ring = shapes.closed_spline(ring)
        ann.lesions.append(lesion_as_read(index, epath, raw_class, [[ring]], props))
    ann.n_values = n_values
    return [ann]
