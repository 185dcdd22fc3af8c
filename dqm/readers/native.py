"""Reader for the native format (:mod:`dqm.readers.native_schema`).

One pass: the document is validated against the strict schema, every schema error becomes a
read issue at its JSON pointer, and the parts that are structurally sound become the internal
model. A lesion whose outline is structurally broken keeps no geometry, so the geometry checks
do not report the same value twice.

Speed: for a clean file, validating every coordinate through pydantic costs twice what parsing
the file does. :func:`read_clean` first decodes the bytes with msgspec into typed structs that
state the same schema (``_M*`` below; a test proves msgspec never accepts what the pydantic
schema rejects), which parses and validates in one pass faster than orjson parses alone. A file
msgspec refuses, for whatever reason, is read again by :func:`read`, which locates
every error.

Memory: a file of at least :data:`~dqm.readers.common.pieces.MIN_BYTES` keeps its lesions as raw
text in that first decode, each decoded into its struct when its lesion is made, so the structs of
the whole document (a tuple and two floats a vertex) and its lesions are never all alive at once.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from itertools import chain
from typing import Any, Literal

import msgspec
import numpy as np
from pydantic import TypeAdapter, ValidationError

from dqm.coords import MAX_OBJECTIVE_POWER
from dqm.i18n import N_, msg
from dqm.identifiers import reader_keys
from dqm.model import Annotation, ReadIssue
from dqm.readers.common import base, pieces, tally
from dqm.readers.common.base import (
    count_keys,
    count_slots,
    key_ends,
    lesion_as_read,
    pointer,
    texts,
    to_float,
)
from dqm.readers.common.reader import Role, Syntax
from dqm.readers.native_schema import LesionRecord, NativeAnnotation, SlideInfo

NAME = "native"
TITLE = "native"
ROLE: Role = "annotation"
SYNTAX: Syntax = "json"
ROOT = None

_ADAPTER: TypeAdapter[NativeAnnotation] = TypeAdapter(NativeAnnotation)
_UNION_TAGS = frozenset({"Polygon", "MultiPolygon"})


class _MSlide(msgspec.Struct, forbid_unknown_fields=True):
    file: str
    width: int
    height: int
    mpp: float | msgspec.UnsetType | None = msgspec.UNSET
    objective_power: float | msgspec.UnsetType | None = msgspec.UNSET


class _MPolygon(msgspec.Struct, tag="Polygon", tag_field="type", forbid_unknown_fields=True):
    coordinates: list[list[tuple[float, float]]]


class _MMultiPolygon(msgspec.Struct, tag="MultiPolygon", tag_field="type", forbid_unknown_fields=True):
    coordinates: list[list[list[tuple[float, float]]]]


class _MLesion(msgspec.Struct, forbid_unknown_fields=True, rename={"class_": "class"}):
    class_: str
    geometry: _MPolygon | _MMultiPolygon
    id: int | str | msgspec.UnsetType | None = msgspec.UNSET
    properties: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET


class _MDocument(msgspec.Struct, forbid_unknown_fields=True):
    slide: _MSlide
    lesions: list[_MLesion]
    clinical: dict[str, Any]
    format: Literal["dqm.annotation/1"] | msgspec.UnsetType | None = msgspec.UNSET


class _MDocumentPieces(msgspec.Struct, forbid_unknown_fields=True):
    """:class:`_MDocument` with its lesions left as raw text, each decoded when its turn comes."""

    slide: _MSlide
    lesions: list[msgspec.Raw]
    clinical: dict[str, Any]
    format: Literal["dqm.annotation/1"] | msgspec.UnsetType | None = msgspec.UNSET


_DECODER = msgspec.json.Decoder(_MDocument)
_PIECES_DECODER = msgspec.json.Decoder(_MDocumentPieces)
_LESION_DECODER = msgspec.json.Decoder(_MLesion)
_READ = msgspec.Raw(b"")


def _present(*values: Any) -> int:
    return sum(v is not msgspec.UNSET for v in values)


SLIDE_KEYS = ("file", "width", "height")
LESION_KEYS = ("class", "geometry")


def looks(doc: Any, rel: str) -> bool:
    """True for a JSON object shaped like a native file (a ``lesions`` list or ``slide`` object)."""
    return isinstance(doc, dict) and ("lesions" in doc or "slide" in doc)


def _resolve_loc(doc: Any, loc: tuple[int | str, ...]) -> tuple[list[int | str], bool]:
    """Walk a pydantic error location through the document, dropping union tags.

    Returns the path that exists in the document and whether the last part is a missing key.
    """
    node, path = doc, []
    for i, part in enumerate(loc):
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            node = node[part]  # type: ignore[index]  # narrowed by the condition above
            path.append(part)
        elif part in _UNION_TAGS and isinstance(node, dict):
            continue
        else:
            path.append(part)
            return path, i == len(loc) - 1
    return path, False


def _value_pointer(path: list[int | str]) -> tuple[str, int | None, int | None]:
    """The value slot a path falls in, with the lesion and vertex when inside a geometry."""
    lesion = path[1] if len(path) > 1 and path[0] == "lesions" and isinstance(path[1], int) else None
    if lesion is not None and len(path) > 2 and path[2] == "geometry":
        vertex = path[-1] if len(path) >= 6 and isinstance(path[-1], int) else None
        if len(path) >= 6 and isinstance(path[-1], int) and isinstance(path[-2], int):
            vertex = path[-2]  # an item of a vertex: point at the vertex
        return pointer(*path[:3]), lesion, vertex
    if lesion is not None and len(path) > 3 and path[2] == "properties":
        return pointer(*path[:3]), lesion, None
    if path and path[0] == "clinical":
        return pointer(*path[:2]), None, None
    return pointer(*path), lesion, None


_WRONG_TYPE = {
    "int_type": N_("{where}: input should be a valid integer"),
    "float_type": N_("{where}: input should be a valid number"),
    "string_type": N_("{where}: input should be a valid string"),
    "list_type": N_("{where}: input should be a valid list"),
    "dict_type": N_("{where}: input should be a valid dictionary"),
    "model_type": N_("{where}: input should be a valid dictionary"),
    "finite_number": N_("{where}: input should be a finite number"),
}
"""The schema's usual type errors as msgids (pydantic's wording); any other keeps pydantic's text."""
_WRONG_TYPE_AT_ROOT = {
    "list_type": N_("the document: input should be a valid list"),
    "dict_type": N_("the document: input should be a valid dictionary"),
    "model_type": N_("the document: input should be a valid dictionary"),
}


def _schema_code(kind: str, missing: bool, lesion: int | None, vertex: int | None) -> str:
    """The issue code of a pydantic error of type ``kind``."""
    if kind == "missing" or missing:
        return "MISSING_KEY"
    if kind == "extra_forbidden":
        return "UNKNOWN_KEY"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return "UNSUPPORTED_GEOMETRY"
    if kind in ("too_short", "too_long") and lesion is not None and vertex is not None:
        return "BAD_VERTEX"
    if kind == "literal_error":
        return "WRONG_VALUE"
    return "WRONG_TYPE"


_KNOWN_KEYS = {
    "document": frozenset(NativeAnnotation.model_fields),
    "slide": frozenset(SlideInfo.model_fields),
    "lesion": frozenset(field.alias or name for name, field in LesionRecord.model_fields.items()),
    "geometry": frozenset({"type", "coordinates"}),
}
"""The keys each object of the schema defines; any other is an ``UNKNOWN_KEY``."""


def _trimmed(doc: Any, keep: int) -> tuple[Any, dict[int | None, int]]:
    """``doc`` as the schema validates it: in each of its objects that forbid unknown keys (the
    document, its slide, each lesion and a Polygon or MultiPolygon geometry), the first ``keep``
    unknown keys (in the file's order) and every known one; with how many were left out, by lesion
    (None: the document's and the slide's). The errors of the keys left out would all be counted,
    never reported one by one (``keep`` is one past the cap of :func:`_schema_issues`), so only
    their number is kept: pydantic made an error of about 1.5 KB for each (1,000,000 unknown keys,
    a 14 MB file well within the memory estimate, took 1.7 GB and 34 s of CPU). An object within
    ``keep`` is not copied."""
    dropped: dict[int | None, int] = {}

    def cut(obj: Any, known: frozenset[str], lesion: int | None) -> Any:
        if not isinstance(obj, dict) or len(obj) <= keep + len(known):
            return obj
        out, left = {}, keep
        for key, value in obj.items():
            if key in known:
                out[key] = value
            elif left > 0:
                out[key], left = value, left - 1
        if len(out) < len(obj):
            dropped[lesion] = dropped.get(lesion, 0) + len(obj) - len(out)
            return out
        return obj

    if not isinstance(doc, dict):
        return doc, dropped
    top = cut(doc, _KNOWN_KEYS["document"], None)
    lesions = top.get("lesions")
    slide = top.get("slide")
    new_slide = cut(slide, _KNOWN_KEYS["slide"], None)
    new_lesions = lesions
    if isinstance(lesions, list):
        new_lesions = []
        for index, lesion in enumerate(lesions):
            record = cut(lesion, _KNOWN_KEYS["lesion"], index)
            geometry = record.get("geometry") if isinstance(record, dict) else None
            if isinstance(geometry, dict) and geometry.get("type") in ("Polygon", "MultiPolygon"):
                trimmed = cut(geometry, _KNOWN_KEYS["geometry"], index)
                if trimmed is not geometry:
                    record = {**record, "geometry": trimmed}
            new_lesions.append(record)
        if all(new is old for new, old in zip(new_lesions, lesions, strict=True)):
            new_lesions = lesions
    if not dropped:
        return doc, dropped
    top = dict(top) if top is doc else top
    if new_slide is not slide:
        top["slide"] = new_slide
    if new_lesions is not lesions:
        top["lesions"] = new_lesions
    return top, dropped


def _schema_issues(
    doc: Any, exc: ValidationError, dropped: dict[int | None, int] | None = None
) -> tuple[list[ReadIssue], set[int], bool]:
    """Read issues for schema errors, the lesions whose outline is broken, and whether ``slide``
    is broken.

    Past :data:`~dqm.readers.common.base.MAX_ISSUES_PER_CODE` issues of a code, the rest of that code are
    counted without working out their messages or masked names (2,000,000 unknown keys, 25 MB,
    took 100 s and made as many issues before :func:`dqm.readers.within_limits` cut them to one):
    one counting issue a code, its tally split by lesion (:attr:`~dqm.model.ReadIssue.by_lesion`),
    so that ``within_limits`` drops the counts of the lesions past ``lesions_per_file`` with them."""
    cap = base.MAX_ISSUES_PER_CODE
    issues: list[ReadIssue] = []
    broken_lesions: set[int] = set()
    slide_broken = False
    seen: set[tuple[str, str]] = set()
    names = reader_keys()  # a key the format does not define by its position (#1): it may be a name
    per_code: dict[str, int] = {}
    # (code, lesion or None) -> [first path, count, value slots]
    more: dict[tuple[str, int | None], list[Any]] = {}
    for err in exc.errors():
        raw, missing = _resolve_loc(doc, tuple(err["loc"]))
        value_ptr, lesion, vertex = _value_pointer(raw)
        kind = err["type"]
        code = _schema_code(kind, missing, lesion, vertex)
        if lesion is not None and len(raw) > 2 and raw[2] == "geometry":
            broken_lesions.add(lesion)
        if lesion is not None and len(raw) == 2:
            broken_lesions.add(lesion)
        if raw and raw[0] == "slide" and len(raw) <= 1:
            slide_broken = True
        # Many errors inside one geometry are one broken value: report the first of each kind.
        key = (value_ptr if code in ("WRONG_TYPE", "BAD_VERTEX") else pointer(*raw), code)
        if key in seen:
            continue
        seen.add(key)
        if per_code.get(code, 0) >= cap:
            counting = more.setdefault((code, lesion), [raw, 0, set()])
            counting[1] += 1
            counting[2].add(key[0])
            continue
        per_code[code] = per_code.get(code, 0) + 1
        shown = names.path(doc, [str(part) for part in raw])
        path = [part if isinstance(part, int) else name for part, name in zip(raw, shown, strict=True)]
        value_ptr, lesion, vertex = _value_pointer(path)
        issues.append(
            ReadIssue(
                code,
                _schema_text(code, kind, path, err),
                pointer=value_ptr if lesion is not None else pointer(*path),
                lesion=lesion,
                vertex=vertex,
            )
        )
    # one counting issue a code, split by lesion (a tally, not an issue a lesion: 100,000 lesions
    # past the cap made 100,000 messages and masked names); the pointer is worked out for the
    # code's first part and for the root's part only
    for lesion, n in (dropped or {}).items():  # unknown keys past the first of their object, not
        counting = more.setdefault(("UNKNOWN_KEY", lesion), [(), 0, set()])  # validated: counted
        counting[1] += n
        counting.append(n)  # value slots of their own
    tallies: dict[str, list[tuple[int | None, int, int, str | None]]] = {}
    firsts: dict[str, list[int | str]] = {}
    for (code, lesion), (raw, n, slots, *own) in more.items():
        where: str | None = None
        if code not in firsts or lesion is None:
            shown = names.path(doc, [str(part) for part in raw])
            path = [part if isinstance(part, int) else name for part, name in zip(raw, shown, strict=True)]
            value_ptr, _, _ = _value_pointer(path)
            where = value_ptr if lesion is not None else pointer(*path)
            firsts.setdefault(code, path)
        tallies.setdefault(code, []).append((lesion, n, len(slots) + sum(own), where))
    for code, parts in tallies.items():
        n = sum(part[1] for part in parts)
        text = msg(
            "{n:,} more {code} in this file from here on (the first {shown:,} are reported one by one)",
            n=n,
            code=code,
            shown=cap,
        )
        first = parts[0]
        issues.append(
            ReadIssue(
                code,
                text,
                pointer=first[3],
                lesion=first[0],
                counted=n,
                counted_values=sum(part[2] for part in parts) - 1,
                by_lesion=tuple(parts),
            )
        )
    return issues, broken_lesions, slide_broken


def _schema_text(code: str, kind: str, path: list[int | str], err: Any) -> str:
    """The message of a schema error of ``code`` at ``path`` (names as shown)."""
    if code == "MISSING_KEY":
        return msg("required key {key!r} is missing", key=path[-1])
    if code == "UNKNOWN_KEY":
        unknown = N_("unknown key {key}") if str(path[-1]).startswith("#") else N_("unknown key {key!r}")
        return msg(unknown, key=path[-1])
    if code == "UNSUPPORTED_GEOMETRY":
        return msg("geometry type must be Polygon or MultiPolygon ({reason})", reason=err["msg"])
    if code == "BAD_VERTEX":
        return msg("a vertex must be [x, y]")
    if code == "WRONG_VALUE":
        expected = err.get("ctx", {}).get("expected")
        return msg("Input should be {expected}", expected=expected) if expected else str(err["msg"])
    return _wrong_type(kind, pointer(*path), err["msg"])


def _wrong_type(kind: str, where: str, reason: str) -> str:
    """The ``WRONG_TYPE`` message of a schema error of type ``kind`` at pointer ``where``."""
    if not where and kind in _WRONG_TYPE_AT_ROOT:
        return msg(_WRONG_TYPE_AT_ROOT[kind])
    if where and kind in _WRONG_TYPE:
        return msg(_WRONG_TYPE[kind], where=where)
    return msg("{where}: {reason}", where=where or "the document", reason=reason.lower())


def _ring(vertices: list[list[float]]) -> np.ndarray:
    """An ``(N, 2)`` array from schema-validated ``[[x, y], ...]`` (fromiter: 2x asarray's speed),
    shaped in place: a reshaped view would keep a second array object (112 bytes) per ring."""
    n = len(vertices)
    ring = np.fromiter(chain.from_iterable(vertices), dtype=np.float64, count=2 * n)
    ring.resize((n, 2), refcheck=False)  # no other reference to it exists
    return ring


def _rings(coords: list[Any]) -> list[np.ndarray]:
    return [_ring(ring) for ring in coords]


def _polygons(geometry: dict[str, Any]) -> list[list[np.ndarray]]:
    if geometry["type"] == "Polygon":
        return [_rings(geometry["coordinates"])]
    return [_rings(poly) for poly in geometry["coordinates"]]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return to_float(value)  # an integer too large for a float is infinite, not an OverflowError


def _power_issue(power: float) -> Any:
    """Why a declared objective power is no magnification (zero, negative, infinite, over
    :data:`MAX_OBJECTIVE_POWER`), or None. dqm uses the slide header's power, not this one, but a
    value slot of the file is accurate only when it holds a value of its domain."""
    if math.isfinite(power) and 0 < power <= MAX_OBJECTIVE_POWER:
        return None
    return msg(
        "slide objective_power is {value:.3g}, not a magnification (0 to {limit:g})",
        value=power,
        limit=MAX_OBJECTIVE_POWER,
    )


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def read_clean(data: bytes, path: str) -> Annotation | None:
    """The annotation of a file that satisfies the schema, read in one pass; None otherwise.

    ``None`` means only "not proven clean": the caller reads the file again with
    :func:`read`, which reports what is wrong (or finds it is another format).
    """
    try:
        doc = (_PIECES_DECODER if len(data) >= pieces.MIN_BYTES else _DECODER).decode(data)
    except (msgspec.MsgspecError, UnicodeDecodeError, ValueError, RecursionError):  # deep: read reports it
        return None
    slide = doc.slide
    if isinstance(slide.objective_power, float) and _power_issue(slide.objective_power) is not None:
        return None  # the full read reports it
    ann = Annotation(
        path=path,
        format=NAME,
        slide_file=slide.file,
        width=slide.width,
        height=slide.height,
        mpp=slide.mpp if isinstance(slide.mpp, float) else None,
        clinical=dict(doc.clinical),
    )
    # value slots as read counts them: keys present, the required ones always
    n_values = _present(doc.format) + 3 + _present(slide.mpp, slide.objective_power) + len(doc.clinical)
    # keys of the document: slide, lesions, clinical, and each object's as decoded
    keys = 3 + n_values - len(doc.clinical) + count_keys(doc.clinical)
    tally.watch(ann)
    for i, rec in enumerate(_lesions(doc)):
        if rec is None:
            return None
        n_values += 2 + _present(rec.id, rec.properties)
        keys += 4 + _present(rec.id, rec.properties) + count_keys(rec.properties)
        if isinstance(rec.id, str):
            where = pointer("lesions", i, "id")
            ann.properties[where] = rec.id  # an id is text from the file too
            tally.charge(tally.ENTRY_BYTES + sys.getsizeof(where) + sys.getsizeof(rec.id))
        geometry = rec.geometry
        polygons = [geometry.coordinates] if isinstance(geometry, _MPolygon) else geometry.coordinates
        ann.lesions.append(
            lesion_as_read(
                i,
                pointer("lesions", i),
                rec.class_,
                [_rings(poly) for poly in polygons],
                rec.properties if isinstance(rec.properties, dict) else {},
            )
        )
    if keys != key_ends(data):
        return None  # a key repeats (msgspec keeps the last): the full read reports it
    ann.n_values = n_values
    return ann


def _lesions(doc: _MDocument | _MDocumentPieces) -> Iterator[_MLesion | None]:
    """The document's lesions; a big file's decoded one at a time, each raw text dropped once
    decoded (:mod:`dqm.readers.common.pieces`: the whole document's structs are never all made),
    None for one msgspec refuses (the whole document is then not proven clean)."""
    if isinstance(doc, _MDocument):
        yield from doc.lesions
        return
    raw = doc.lesions
    for k in range(len(raw)):
        # what the lesions before kept, and this one's decode (:mod:`~dqm.readers.common.tally`)
        tally.check(raw[k])
        try:
            yield _LESION_DECODER.decode(raw[k])
        except (msgspec.MsgspecError, UnicodeDecodeError, ValueError):
            yield None
            return
        raw[k] = _READ
    tally.check()  # the last lesion's too: a read never ends over its limit


_READ_TOP = frozenset({"slide", "lesions", "clinical"})
"""A document's keys the model holds (the clinical block is searched as the clinical record)."""
_READ_LESION = frozenset({"class", "geometry", "properties"})
"""A lesion's keys the model holds (its class is searched as the class, its properties as its own)."""


def read(doc: Any, path: str, issues: list[ReadIssue]) -> list[Annotation]:
    """The internal model of a parsed native document (one slide), with its schema errors.

    Also the reader of JSON no other format recognises: it reports what is missing.
    """
    return [_annotation(doc, path, issues)]


def _annotation(doc: Any, path: str, issues: list[ReadIssue]) -> Annotation:
    issues = list(issues)
    broken: set[int] = set()
    validated, dropped = _trimmed(doc, base.MAX_ISSUES_PER_CODE + 1)
    try:
        _ADAPTER.validate_python(validated)
    except ValidationError as exc:
        schema_issues, broken, _ = _schema_issues(validated, exc, dropped)
        issues.extend(schema_issues)
    if not isinstance(doc, dict):
        return Annotation(
            path=path, format=NAME, n_values=1, issues=issues, document=doc, properties=texts(doc)
        )

    n_values = count_slots({k: v for k, v in doc.items() if k not in ("slide", "lesions", "clinical")}, ())
    slide = doc.get("slide")
    # the text no other part of the model holds (a vendor's top-level "patient", a slide's "note",
    # a lesion's own keys), by pointer, for the de-identification checks
    ann = Annotation(
        path=path, format=NAME, issues=issues, document=doc, properties=texts(doc, skip=_READ_TOP)
    )
    ann.properties.update(texts(slide, "slide"))
    if not isinstance(doc.get("clinical", {}), dict):
        ann.properties.update(texts(doc["clinical"], "clinical"))
    if isinstance(slide, dict):
        n_values += count_slots(slide, SLIDE_KEYS)
        ann.slide_file = slide.get("file") if isinstance(slide.get("file"), str) else None
        ann.width = _integer(slide.get("width"))
        ann.height = _integer(slide.get("height"))
        ann.mpp = _number(slide.get("mpp"))
        power = _number(slide.get("objective_power"))
        why = None if power is None else _power_issue(power)
        if why is not None:
            ann.issues.append(
                ReadIssue("VALUE_OUT_OF_RANGE", why, pointer=ann.slide_pointer("objective_power"))
            )
    else:
        n_values += 1

    clinical = doc.get("clinical")
    if isinstance(clinical, dict):
        # Present keys only: whether required fields are missing is the clinical table's
        # question, and it counts those slots (dqm.syntactic).
        n_values += len(clinical)
        ann.clinical = dict(clinical)
    else:
        n_values += 1

    lesions = doc.get("lesions")
    if not isinstance(lesions, list):
        n_values += 1
        ann.n_values = n_values
        return ann
    for i, rec in enumerate(lesions):
        if not isinstance(rec, dict):
            n_values += 1
            ann.properties.update(texts(rec, "lesions", i))
            continue
        n_values += count_slots(rec, LESION_KEYS)
        raw = rec.get("class")
        raw_class = raw if isinstance(raw, str) else None
        polygons: list[list[np.ndarray]] = []
        outline_read = i not in broken and isinstance(rec.get("geometry"), dict)
        if outline_read:
            polygons = _polygons(rec["geometry"])
        props = rec.get("properties")
        skip = _READ_LESION if isinstance(props, dict) else _READ_LESION - {"properties"}
        ann.properties.update(texts(rec, "lesions", i, skip=skip))
        ann.lesions.append(
            lesion_as_read(
                i,
                pointer("lesions", i),
                raw_class,
                polygons,
                props if isinstance(props, dict) else {},
                outline_read,
            )
        )
    ann.n_values = n_values
    return ann


def is_finite_number(value: Any) -> bool:
    return _number(value) is not None and math.isfinite(value)
