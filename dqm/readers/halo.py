"""Reader for Indica Labs HALO ``.annotations`` XML.

``<Annotations>`` holds layers (``<Annotation Name LineColor Visible>``); the layer name is the
class (:mod:`dqm.readers.common.layers`). Each ``Regions/Region`` has a ``Type`` and ``Vertices/V``:

* ``Polygon``: a closed outline (HALO repeats the first vertex at the end). A polygon whose last
  vertex is not its first, or with ``HasEndcaps="1"``, is an open polyline: ``NOT_AN_AREA``;
* ``Rectangle``: two opposite corners -> a 4-vertex ring;
* ``Ellipse``: two corners of the bounding box -> a 64-vertex ring (:func:`~dqm.readers.common.shapes.ellipse`);
* ``Ruler`` and ``Pin``: ``NOT_AN_AREA``; any other type: ``UNSUPPORTED_GEOMETRY``.

``NegativeROA="1"`` regions become holes of the positive region of the same layer that contains
them. Region comments are kept as lesion properties.
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

import numpy as np

from dqm.findings import clip
from dqm.i18n import msg
from dqm.model import Annotation, ReadIssue
from dqm.readers import imagescope
from dqm.readers.common import shapes
from dqm.readers.common.layers import Region, layer_lesions
from dqm.readers.common.reader import Role, Syntax
from dqm.readers.common.xmltree import children, first, local, not_a_number, number

NAME = "halo"
TITLE = "HALO"
ROLE: Role = "annotation"
SYNTAX: Syntax = "xml"
ROOT = "Annotations"
NOT_AREAS = frozenset({"ruler", "pin"})


def looks(root: Element, rel: str) -> bool:
    """``<Annotations>`` that is not ImageScope (``<V>`` vertices, ``HasEndcaps`` regions)."""
    return local(root.tag) == ROOT and not imagescope.looks(root, rel)


def _vertices(element: Element, path: str, issues: list[ReadIssue]) -> np.ndarray | None:
    verts = first(element, "Vertices")
    if verts is None:
        issues.append(ReadIssue("MISSING_KEY", msg("the region has no <Vertices>"), path))
        return None
    pts = []
    for k, (vertex, vpath) in enumerate(children(verts, "V", f"{path}/Vertices")):
        x, y = number(vertex.get("X")), number(vertex.get("Y"))
        if x is None or y is None:
            attr = "X" if x is None else "Y"
            issues.append(ReadIssue("BAD_VERTEX", not_a_number(vertex.get(attr), attr), vpath, vertex=k))
            return None
        pts.append((x, y))
    return np.asarray(pts, dtype=np.float64).reshape(-1, 2)


def _comments(element: Element) -> list[str]:
    box = first(element, "Comments")
    if box is None:
        return []
    out = []
    for c in box:
        text = c.get("Value") or c.text or ""
        if text.strip():
            out.append(text.strip())
    return out


def _not_area(text: str, path: str, issues: list[ReadIssue]) -> None:
    issues.append(ReadIssue("NOT_AN_AREA", text, path))


def _region(element: Element, path: str, issues: list[ReadIssue]) -> Region | None:
    kind = (element.get("Type") or "").strip()
    negative = element.get("NegativeROA", "0").strip() == "1"
    props: dict[str, Any] = {"Type": kind}
    comments = _comments(element)
    if comments:
        props["comments"] = comments
    if kind.lower() in NOT_AREAS:
        _not_area(
            msg("a HALO {kind} marks a line or a point: it is not a lesion outline (skipped)", kind=kind),
            path,
            issues,
        )
        return None
    pts = _vertices(element, path, issues)
    if pts is None:
        return Region(path, None, negative, props)
    if kind == "Polygon":
        if element.get("HasEndcaps", "0").strip() == "1":
            _not_area(
                msg("a HALO polyline has end caps (an open line): it is not a lesion outline (skipped)"),
                path,
                issues,
            )
            return None
        if len(pts) > 1 and not np.array_equal(pts[0], pts[-1]):
            _not_area(
                msg(
                    "a HALO polyline does not end where it starts (an open line): "
                    "it is not a lesion outline (skipped)"
                ),
                path,
                issues,
            )
            return None
        return Region(path, pts, negative, props)
    if kind in ("Rectangle", "Ellipse"):
        if len(pts) != 2:
            issues.append(
                ReadIssue(
                    "BAD_VERTEX",
                    msg("a {kind} needs 2 corner vertices, it has {n}", kind=kind, n=len(pts)),
                    path,
                )
            )
            return Region(path, None, negative, props)
        (x0, y0), (x1, y1) = pts
        if not np.isfinite(pts).all():
            return Region(path, pts, negative, props)  # geometry.finite reports the corners
        if kind == "Rectangle":
            return Region(path, shapes.rectangle(x0, y0, x1, y1), negative, props)
        ring = shapes.ellipse((x0 + x1) / 2, (y0 + y1) / 2, abs(x1 - x0) / 2, abs(y1 - y0) / 2)
        return Region(path, ring, negative, props)
    issues.append(
        ReadIssue(
            "UNSUPPORTED_GEOMETRY",
            msg("region type {kind!r} is not Polygon, Rectangle or Ellipse", kind=clip(kind, 40)),
            path + "/@Type",
        )
    )
    return Region(path, None, negative, props)


def read(root: Element, path: str, issues: list[ReadIssue]) -> list[Annotation]:
    """The internal model of a parsed HALO document (one slide)."""
    issues = list(issues)
    ann = Annotation(path=path, format=NAME, issues=issues)
    n_values = 1
    for layer, lpath in children(root, "Annotation", "/Annotations"):
        n_values += 1
        container = first(layer, "Regions")
        elements = list(children(container, "Region", f"{lpath}/Regions")) if container is not None else []
        n_values += 2 * len(elements)  # a region's class and outline are two values
        regions = [r for r in (_region(el, rp, issues) for el, rp in elements) if r is not None]
        ann.lesions.extend(
            layer_lesions(regions, lpath, layer.get("Name", ""), len(ann.lesions), issues, len(elements))
        )
    ann.n_values = n_values
    return [ann]
