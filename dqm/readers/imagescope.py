"""Reader for Aperio ImageScope XML (``<Annotations MicronsPerPixel="…">``).

Each ``Annotation`` is a layer whose ``Name`` is the class (:mod:`dqm.readers.common.layers`); each
``Regions/Region`` with ``Vertices/Vertex`` is a region, ``NegativeROA="1"`` a hole. The file's
``MicronsPerPixel`` becomes the annotation's declared mpp (compared with the slide header).
Regions are read from their vertices whatever their ``Type``; a region of fewer than 3
vertices (a ruler or an arrow) is ``NOT_AN_AREA`` and skipped. Region ``Text`` and the layer's
``Attributes`` are kept as lesion properties.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any
from xml.etree.ElementTree import Element

import numpy as np

from dqm.i18n import msg
from dqm.model import Annotation, ReadIssue
from dqm.readers.common.layers import Region, layer_lesions
from dqm.readers.common.reader import Role, Syntax
from dqm.readers.common.xmltree import children, first, local, not_a_number, number

NAME = "imagescope"
TITLE = "ImageScope"
ROLE: Role = "annotation"
SYNTAX: Syntax = "xml"
ROOT = "Annotations"

REGION_KEYS = ("Id", "Type", "Text", "NegativeROA")


def looks(root: Element, rel: str) -> bool:
    """``<Annotations>`` with ``MicronsPerPixel``, ``<Vertex>`` vertices or ``Id`` layers.

    An empty ``<Annotations/>`` is ImageScope unless the file is named ``*.annotations`` (HALO).
    """
    if local(root.tag) != ROOT:
        return False
    if "MicronsPerPixel" in root.attrib:
        return True
    for el in root.iter():
        tag = local(el.tag)
        if tag == "Vertex":
            return True
        if tag == "V" or (tag == "Region" and "HasEndcaps" in el.attrib):
            return False
    layers = [el for el in root if local(el.tag) == "Annotation"]
    if any("Id" in el.attrib for el in layers):
        return True
    return PurePosixPath(rel).suffix.lower() != ".annotations"


def _region(element: Element, path: str, issues: list[ReadIssue]) -> Region | None:
    negative = element.get("NegativeROA", "0").strip() == "1"
    props: dict[str, Any] = {k: element.get(k) for k in ("Id", "Type", "Text") if element.get(k)}
    verts = first(element, "Vertices")
    if verts is None:
        issues.append(ReadIssue("MISSING_KEY", msg("the region has no <Vertices>"), path))
        return Region(path, None, negative, props)
    pts = []
    for k, (vertex, vpath) in enumerate(children(verts, "Vertex", f"{path}/Vertices")):
        x, y = number(vertex.get("X")), number(vertex.get("Y"))
        if x is None or y is None:
            attr = "X" if x is None else "Y"
            issues.append(ReadIssue("BAD_VERTEX", not_a_number(vertex.get(attr), attr), vpath, vertex=k))
            return Region(path, None, negative, props)
        pts.append((x, y))
    if len(pts) < 3:
        issues.append(
            ReadIssue(
                "NOT_AN_AREA",
                msg(
                    "a region of {n} vertex(es) (type {kind}) encloses no area: "
                    "a ruler, an arrow or a point, not a lesion outline (skipped)",
                    n=len(pts),
                    kind=element.get("Type", "?"),
                ),
                path,
            )
        )
        return None
    return Region(path, np.asarray(pts, dtype=np.float64), negative, props)


def read(root: Element, path: str, issues: list[ReadIssue]) -> list[Annotation]:
    """The internal model of a parsed ImageScope document (one slide)."""
    issues = list(issues)
    ann = Annotation(path=path, format=NAME, issues=issues)
    n_values = 1
    mpp_text = root.get("MicronsPerPixel")
    if mpp_text is not None:
        n_values += 1
        ann.mpp = number(mpp_text)
        ann.slide_pointers["mpp"] = "/Annotations/@MicronsPerPixel"
        if ann.mpp is None:
            issues.append(
                ReadIssue(
                    "WRONG_TYPE", not_a_number(mpp_text, "MicronsPerPixel"), "/Annotations/@MicronsPerPixel"
                )
            )
    for layer, lpath in children(root, "Annotation", "/Annotations"):
        n_values += 1  # the layer (its name is the class of its regions)
        n_elements = 0
        regions: list[Region] = []
        container = first(layer, "Regions")
        for element, rpath in (
            children(container, "Region", f"{lpath}/Regions") if container is not None else ()
        ):
            n_elements += 1
            n_values += 2  # a region's class and outline are two values
            region = _region(element, rpath, issues)
            if region is not None:
                regions.append(region)
        attributes = first(layer, "Attributes")
        layer_props = {
            a.get("Name"): a.get("Value")
            for a in (attributes if attributes is not None else ())
            if local(a.tag) == "Attribute" and a.get("Name") and a.get("Value")
        }
        lesions = layer_lesions(regions, lpath, layer.get("Name", ""), len(ann.lesions), issues, n_elements)
        for lesion in lesions:
            lesion.properties.update({f"layer.{k}": v for k, v in layer_props.items()})
        ann.lesions.extend(lesions)
    ann.n_values = n_values
    return [ann]
