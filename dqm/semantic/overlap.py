"""Dice and IoU between the delivered annotation and a reviewer's corrected outline.

Conventions (stated because they change the numbers):

* Areas are level-0 square pixels; classes compare the union of all lesions of that class.
* ``Dice = 2 |A ∩ B| / (|A| + |B|)``, ``IoU = |A ∩ B| / |A ∪ B|``.
* A class present on one side only scores 0. When both sides are empty (a slide with no lesion
  whose correction adds none) Dice and IoU are undefined: None, with a note, and such pairs are
  left out of the means — unlike the libraries that score them 1.
* Invalid polygons (self-intersections) are repaired with ``shapely.make_valid`` for the
  computation only, and the note says so; the syntactic checks report them in the batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from dqm.findings import clip
from dqm.i18n import msg
from dqm.profile import Profile

ALL = "all"


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Only the areal part of a geometry (make_valid may return lines or points beside polygons)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def clean(geom: BaseGeometry) -> tuple[BaseGeometry, bool]:
    """A valid areal geometry and whether it had to be repaired."""
    if geom.is_valid:
        return _polygonal(geom), False
    return _polygonal(shapely.make_valid(geom)), True


def feature_class(props: Mapping[str, Any] | None, profile: Profile) -> str | None:
    """The class id of a GeoJSON feature: ``class``, ``classification.name`` (QuPath) or ``label``."""
    if not isinstance(props, Mapping):
        return None
    for value in (
        props.get("class"),
        (props.get("classification") or {}).get("name")
        if isinstance(props.get("classification"), Mapping)
        else None,
        props.get("label"),
    ):
        if isinstance(value, str) and value.strip():
            return profile.resolve_class(value) or value.strip()
    return None


def parse_geojson(
    doc: Mapping[str, Any] | list[Any], profile: Profile
) -> tuple[list[tuple[str | None, BaseGeometry]], list[str]]:
    """Polygons of a GeoJSON FeatureCollection, Feature or bare geometry, with their classes.

    A bare list of features (QuPath's older export) is read as a FeatureCollection. Returns
    ``(shapes, problems)``; a feature that is not a polygon or cannot be read is a problem (a
    sentence) and is left out. Never raises for content.
    """
    problems: list[str] = []
    if isinstance(doc, list):
        doc = {"type": "FeatureCollection", "features": doc}
    kind = doc.get("type")
    if kind == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            return [], [msg("FeatureCollection without a features list")]
    elif kind == "Feature":
        features = [doc]
    elif isinstance(kind, str) and "coordinates" in doc:
        features = [{"type": "Feature", "geometry": doc, "properties": {}}]
    else:
        return [], [msg("not GeoJSON (type {kind})", kind=repr(kind))]
    out: list[tuple[str | None, BaseGeometry]] = []
    for i, feat in enumerate(features):
        if not isinstance(feat, Mapping) or not isinstance(feat.get("geometry"), Mapping):
            problems.append(msg("feature {i} has no geometry", i=i))
            continue
        try:
            geom = shape(feat["geometry"])
        except Exception as exc:  # shapely raises several types for malformed coordinates
            reason = f"{type(exc).__name__}: {clip(str(exc), 80)}"
            problems.append(msg("feature {i}: unreadable geometry ({reason})", i=i, reason=reason))
            continue
        if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
            problems.append(msg("feature {i} is a {kind}, not a polygon: ignored", i=i, kind=geom.geom_type))
            continue
        out.append((feature_class(feat.get("properties"), profile), geom))
    return out, problems


def _union(shapes: Iterable[BaseGeometry]) -> tuple[BaseGeometry, bool]:
    repaired = False
    parts = []
    for g in shapes:
        c, r = clean(g)
        repaired |= r
        parts.append(c)
    return (shapely.union_all(parts) if parts else shapely.Polygon()), repaired


def dice_iou(a: BaseGeometry, b: BaseGeometry) -> tuple[float | None, float | None]:
    """Dice and IoU of two valid areal geometries; (None, None) when both are empty."""
    area_a, area_b = a.area, b.area
    if area_a == 0 and area_b == 0:
        return None, None
    inter = a.intersection(b).area
    union = area_a + area_b - inter
    # rounding in the overlay can push identical shapes a hair past 1
    dice = min(1.0, 2.0 * inter / (area_a + area_b))
    return dice, (min(1.0, inter / union) if union > 0 else None)


def compare(
    delivered: list[tuple[str | None, BaseGeometry]],
    corrected: list[tuple[str | None, BaseGeometry]],
) -> list[tuple[str, float | None, float | None, float, float, str]]:
    """Per class and for all lesions together: ``(label, dice, iou, area delivered, area corrected, note)``.

    Lesions without a class count in ``all`` only. Classes are listed in sorted order, ``all`` last.
    """
    rows = []
    classes = sorted({c for c, _ in delivered if c} | {c for c, _ in corrected if c})
    for label in [*classes, ALL]:
        a, ra = _union(g for c, g in delivered if label == ALL or c == label)
        b, rb = _union(g for c, g in corrected if label == ALL or c == label)
        dice, iou = dice_iou(a, b)
        notes = []
        if dice is None:
            notes.append("both empty: undefined")
        if ra:
            notes.append("delivered outline repaired (make_valid) for the computation")
        if rb:
            notes.append("corrected outline repaired (make_valid) for the computation")
        rows.append((label, dice, iou, float(a.area), float(b.area), "; ".join(notes)))
    return rows
