"""Reader for QuPath GeoJSON exports (``Export objects as GeoJSON``, and the older JSON list).

Accepted shapes of the document: a ``FeatureCollection``, a bare list of features (QuPath
before 0.3) or a single ``Feature``. Each feature whose geometry is a Polygon or MultiPolygon
(holes included) is one lesion; 3-D positions ``[x, y, z]`` keep x and y.

* class: ``properties.classification`` as an object ``{name, color | colorRGB}`` (``names`` for
  derived classes are joined with ``": "`` as QuPath shows them) or a plain string; a feature
  without one is ``CLASS_MISSING``;
* ``properties.objectType`` (or the legacy ``id: Path…Object``) other than ``annotation`` --
  detections, cells, tiles, TMA cores -- are not lesion outlines: they are skipped and counted
  in one ``DETECTION_OBJECT`` issue;
* Point and LineString geometries are ``NOT_AN_AREA``; other types ``UNSUPPORTED_GEOMETRY``;
* every other property (``name``, ``measurements``, ``isLocked``, ``color``, the feature ``id``)
  is kept in the lesion's properties.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable
from typing import Any

from dqm.findings import clip
from dqm.i18n import msg
from dqm.model import Annotation, Lesion, ReadIssue
from dqm.readers.common import geojson, pieces, tally
from dqm.readers.common.base import DistinctTexts, lesion_as_read, pointer, texts
from dqm.readers.common.reader import Role, Syntax

NAME = "qupath"
TITLE = "QuPath GeoJSON"
ROLE: Role = "annotation"
SYNTAX: Syntax = "json"
ROOT = None
LESION_TYPES = frozenset({"annotation"})
LEGACY_TYPES = {
    "PathAnnotationObject": "annotation",
    "PathDetectionObject": "detection",
    "PathCellObject": "cell",
    "PathTileObject": "tile",
    "TMACoreObject": "tma_core",
}

KIND_CHARS = 40
"""An object kind is clipped to this before it is kept (a value of a message, as others are); a
longer one's shown text ends in its number among the long kinds of the file, in the order they are
met (:func:`_kind_shown`): two kinds that clip alike (one long word each: the cut leaves it out
whole) are counted and named apart, and nothing derived from the text the clip hides is shown (a
digest of it would let a six-digit number cut from its end be found by hashing every one)."""
KINDS_KEPT = 100
"""The distinct object kinds counted by name; the objects of any others are counted together
(``… ×N``): a file of a million unique kinds kept each, untallied, till its issue was made."""

# the messages a feature may be given, made once: a Message is some 560 bytes (its text, its
# msgid and parameters), and a file of features without a classification (or without a
# geometry) holds one issue a feature until the read ends
_NOT_A_FEATURE = msg("expected a GeoJSON Feature object")
_PROPERTIES_NOT_READ = msg("'properties' must be an object")
_CLASS_NOT_TEXT = msg("classification name must be a string")
_CLASS_NOT_READ = msg("classification must be an object {{name, color}} or a string")
_NO_CLASS = msg("the feature has no classification: its lesion class is unknown")
_NO_GEOMETRY = msg("a feature needs a geometry object")
_NOT_AN_AREA = {
    kind: msg("a {kind} encloses no area: it is not a lesion outline (skipped)", kind=kind)
    for kind in geojson.NON_AREA_TYPES
}


def looks(doc: Any, rel: str) -> bool:
    """A GeoJSON FeatureCollection, a single Feature, or a non-empty list of Features."""
    if isinstance(doc, dict):
        return doc.get("type") in ("FeatureCollection", "Feature")
    return (
        isinstance(doc, list) and bool(doc) and isinstance(doc[0], dict) and doc[0].get("type") == "Feature"
    )


def _features(doc: Any, issues: list[ReadIssue]) -> list[tuple[Any, list[Any]]]:
    if isinstance(doc, list):
        return [(f, [i]) for i, f in enumerate(doc)]
    if doc.get("type") == "Feature":
        return [(doc, [])]
    feats = doc.get("features")
    if feats is None:
        issues.append(
            ReadIssue(
                "MISSING_KEY", msg("required key {key!r} is missing", key="features"), pointer("features")
            )
        )
        return []
    if not isinstance(feats, list):
        issues.append(ReadIssue("WRONG_TYPE", msg("'features' must be a list"), pointer("features")))
        return []
    return [(f, ["features", i]) for i, f in enumerate(feats)]


def class_name(props: dict[str, Any]) -> tuple[str | None, str | None]:
    """``(class, problem)`` from a QuPath ``classification`` value."""
    value = props.get("classification")
    if value is None:
        return None, None
    if isinstance(value, str):
        return (value.strip() or None), None
    if isinstance(value, dict):
        name = value.get("name")
        names = value.get("names")
        if isinstance(name, str) and name.strip():
            return name.strip(), None
        if isinstance(names, list) and names and all(isinstance(n, str) for n in names):
            return ": ".join(names), None
        if name is None and names is None:
            return None, None
        return None, _CLASS_NOT_TEXT
    return None, _CLASS_NOT_READ


def object_type(feature: dict[str, Any], props: dict[str, Any]) -> str:
    """``annotation``, ``detection``, ``cell``, ``tile``, ``tma_core``... (annotation when unsaid)."""
    kind = props.get("objectType")
    if isinstance(kind, str) and kind.strip():
        return kind.strip().lower()
    legacy = feature.get("id")
    if isinstance(legacy, str) and legacy in LEGACY_TYPES:
        return LEGACY_TYPES[legacy]
    return "annotation"


_READ_TOP = frozenset({"type", "features"})
"""A FeatureCollection's keys the model holds; the others' text (a ``name``, a vendor's ``metadata``)
is searched as the file's."""
_READ_FEATURE = frozenset({"type", "geometry", "properties", "id"})
"""A feature's keys its lesion holds (``id`` among its properties)."""
_READ_OWN = _READ_FEATURE - {"properties"}
"""The same, for a feature whose properties are not an object (their text is then searched)."""
_READ_PROPS = frozenset({"classification", "objectType"})
"""A feature's properties its lesion holds as its class and kind (searched as the class)."""


def _file_text(doc: Any) -> dict[str, Any]:
    """The text of a FeatureCollection's own keys (none for a Feature or a list of them)."""
    return (
        texts(doc, skip=_READ_TOP) if isinstance(doc, dict) and doc.get("type") == "FeatureCollection" else {}
    )


def read(doc: Any, path: str, issues: list[ReadIssue]) -> list[Annotation]:
    """The internal model of a parsed QuPath GeoJSON document (one slide)."""
    issues = list(issues)
    ann = Annotation(path=path, format=NAME, issues=issues, document=doc, properties=_file_text(doc))
    return [_read_features(ann, _features(doc, issues))]


def read_pieces(found: pieces.Pieces, path: str) -> list[Annotation] | None:
    """What :func:`read` makes of a big FeatureCollection split around its ``features`` (or a
    big list of features, the export before QuPath 0.3), each parsed when its turn comes
    (:mod:`dqm.readers.common.pieces`); None when it cannot be read so (the caller reads it whole)."""
    if found.key is None:
        where: list[Any] = []
    elif found.key == "features" and found.shell.get("type") == "FeatureCollection":
        where = ["features"]
    else:
        return None
    features = ((f, [*where, k]) for k, f in found.items())
    ann = Annotation(path=path, format=NAME, issues=[], properties=_file_text(found.shell))
    tally.watch(ann)  # what the read keeps, tallied as it goes
    try:
        return [_read_features(ann, features)]
    except pieces.NotPieces:
        return None


def _read_features(ann: Annotation, features: Iterable[tuple[Any, list[Any]]]) -> Annotation:
    """``ann`` with the lesions of ``features``, ``(feature, path to it)``, and what was met."""
    issues = ann.issues
    n_values = 1
    skipped: Counter[_KindKey] = Counter()
    shown: dict[_KindKey, str] = {}
    first_skipped: str | None = None
    unread = DistinctTexts(ann.properties)  # detections may be millions: their text once a string
    for feature, where in features:
        ptr = pointer(*where)
        index = where[-1] if where else 0
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            issues.append(ReadIssue("WRONG_TYPE", _NOT_A_FEATURE, ptr or None))
            n_values += 1
            unread.add(feature, *where)
            continue
        raw_props = feature.get("properties")
        if raw_props is not None and not isinstance(raw_props, dict):
            issues.append(ReadIssue("WRONG_TYPE", _PROPERTIES_NOT_READ, ptr + "/properties"))
        props = raw_props if isinstance(raw_props, dict) else {}
        # a feature's own keys (and properties that are not an object) hold no lesion's text
        unread.add(feature, *where, skip=_READ_FEATURE if raw_props is props else _READ_OWN)
        kind = object_type(feature, props)
        if kind not in LESION_TYPES:
            _count_kind(skipped, shown, kind)
            first_skipped = first_skipped or ptr
            unread.add(props, *where, "properties", skip=_READ_PROPS)
            continue
        n_values += 2
        lesion = _lesion(feature, props, where, index, issues)
        if lesion is not None:
            ann.lesions.append(lesion)
        else:  # no outline (a point, no geometry): its text is searched all the same
            unread.add(props, *where, "properties")
            if "id" in feature:
                unread.add(feature, *where, skip=set(feature) - {"id"})
    if skipped:
        kinds = ", ".join(f"{shown[k]} ×{n}" for k, n in skipped.most_common() if k)  # "": the others
        if skipped[""]:
            kinds += f", … ×{skipped['']}"
        issues.append(
            ReadIssue(
                "DETECTION_OBJECT",
                msg(
                    "{n} QuPath objects are not annotations ({kinds}): detections are "
                    "not lesion outlines and were skipped",
                    n=sum(skipped.values()),
                    kinds=kinds,
                ),
                first_skipped or None,
            )
        )
        n_values += 1
        tally.check()  # the issue is made after the last item's check
    ann.n_values = n_values
    return ann


_KindKey = str | tuple[int, int]
"""What a kind is counted under: itself when it is no longer than :data:`KIND_CHARS`, else its
length and ``hash``: a dict's look-up a feature, not a clip (:func:`dqm.findings.clip` of a
10,000-character kind took milliseconds, paid again by each of its features), and no long kind
held whole (a file read in pieces keeps none of its features). Two long kinds of one length and
one 64-bit hash (salted anew each run) would be counted as one: a chance of 1 in 2**64 a pair."""


def _count_kind(skipped: Counter[_KindKey], shown: dict[_KindKey, str], kind: str) -> None:
    """One more object of ``kind`` in ``skipped``, its text (clipped) in ``shown`` the first time it
    is met: a kind past the first :data:`KINDS_KEPT` counted under ``""``; a new key charged to the
    read's tally."""
    key: _KindKey = kind if len(kind) <= KIND_CHARS else (len(kind), hash(kind))
    if key not in skipped:
        if len(skipped) >= KINDS_KEPT:
            key = ""
        if key not in skipped:
            long_kinds = sum(isinstance(k, tuple) for k in shown)
            shown[key] = text = _kind_shown(kind, long_kinds + 1) if key else ""
            tally.charge(2 * tally.ENTRY_BYTES + sys.getsizeof(key) + sys.getsizeof(text) + sys.getsizeof(1))
    skipped[key] += 1


def _kind_shown(kind: str, number: int) -> str:
    """``kind`` as a message names it: clipped to :data:`KIND_CHARS` (:func:`dqm.findings.clip`), and
    when it is longer, followed by ``number``, its place among the file's long kinds (``… [cut:
    10,000 characters] #2``): two kinds that clip alike are named apart, by nothing taken from the
    hidden text."""
    if len(kind) <= KIND_CHARS:
        return kind
    return f"{clip(kind, KIND_CHARS)} #{number}"


def _lesion(
    feature: dict[str, Any],
    props: dict[str, Any],
    where: list[Any],
    index: int,
    issues: list[ReadIssue],
) -> Lesion | None:
    ptr = pointer(*where)
    geometry = feature.get("geometry")
    raw_class, problem = class_name(props)
    if problem:
        issues.append(ReadIssue("WRONG_TYPE", problem, ptr + "/properties/classification", index))
    elif raw_class is None:
        issues.append(
            ReadIssue(
                "CLASS_MISSING",
                _NO_CLASS,
                ptr + "/properties/classification",
                index,
            )
        )
    if not isinstance(geometry, dict):
        code = "MISSING_KEY" if geometry is None else "WRONG_TYPE"
        issues.append(ReadIssue(code, _NO_GEOMETRY, ptr + "/geometry", index))
        return None
    kind = geometry.get("type")
    if not isinstance(kind, str):
        kind = clip(repr(kind), 40)
    if kind in geojson.NON_AREA_TYPES:
        issues.append(
            ReadIssue(
                "NOT_AN_AREA",
                _NOT_AN_AREA[kind],
                ptr + "/geometry",
                index,
            )
        )
        return None
    polygons: list[Any] = []
    outline_read = True
    if kind == "GeometryCollection":
        polygons, outline_read = _collection(geometry, [*where, "geometry"], index, issues)
    elif kind in geojson.AREA_TYPES:
        try:
            polygons = geojson.polygons(geometry, [*where, "geometry"], index)
        except geojson.BadCoordinates as exc:
            issues.append(exc.issue)
            outline_read = False
    else:
        issues.append(
            ReadIssue(
                "UNSUPPORTED_GEOMETRY",
                msg("geometry type {kind!r} is not Polygon or MultiPolygon", kind=clip(str(kind), 40)),
                ptr + "/geometry",
                index,
            )
        )
        outline_read = False
    extras = {k: v for k, v in props.items() if k not in ("classification", "objectType")}
    if "id" in feature:
        extras.setdefault("id", feature["id"])
    return lesion_as_read(index, ptr, raw_class, polygons, extras, outline_read)


def _collection(
    geometry: dict[str, Any], where: list[Any], index: int, issues: list[ReadIssue]
) -> tuple[list[Any], bool]:
    parts = geometry.get("geometries")
    if not isinstance(parts, list):
        issues.append(
            ReadIssue("WRONG_TYPE", msg("'geometries' must be a list"), pointer(*where, "geometries"), index)
        )
        return [], False
    out: list[Any] = []
    dropped = 0
    for k, part in enumerate(parts):
        if (
            isinstance(part, dict)
            and isinstance(part.get("type"), str)
            and part["type"] in geojson.AREA_TYPES
        ):
            try:
                out.extend(geojson.polygons(part, [*where, "geometries", k], index))
            except geojson.BadCoordinates as exc:
                issues.append(exc.issue)
                return [], False
        else:
            dropped += 1
    if dropped:
        issues.append(
            ReadIssue(
                "NOT_AN_AREA",
                msg("{n} part(s) of the GeometryCollection are points or lines: ignored", n=dropped),
                pointer(*where),
                index,
            )
        )
    return out, True
