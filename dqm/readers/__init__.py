"""Annotation readers: each format is one module producing the same internal model.

:func:`read_annotation` does the file-level part once (bytes, encoding, syntax), detects the
format by content (file extensions lie), and hands the parsed document to the format's reader.
A file no reader recognises is an ``UNKNOWN_FORMAT`` issue, never an exception.

Detection, in order (``docs/formats.md``):

* XML (first non-blank byte ``<``), parsed through defusedxml: root ``ASAP_Annotations`` -> ASAP;
  root ``Annotations`` -> Aperio ImageScope or HALO (:func:`imagescope.looks_imagescope`);
  any other root -> ``UNKNOWN_FORMAT``.
* JSON: a GeoJSON ``FeatureCollection`` / ``Feature`` / list of Features -> QuPath; an object
  with ``images`` and ``annotations`` -> COCO; DSA annotation documents -> DSA; anything else
  -> the native reader, which reports what is missing (a broken native file still gets its
  structure findings).

Readers know no profile: a lesion comes out with its class name as written (``raw_class``) and
no class id. :func:`resolve_classes` is the one step afterwards that resolves the names against
the profile, for the item's institution.

Big multi-image files (COCO) are parsed once per process: :func:`parse_annotation` keeps the
last few results keyed by the bytes' digest and the path.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections import OrderedDict
from pathlib import Path
from typing import overload

from dqm.model import Annotation, ReadIssue
from dqm.profile import Profile
from dqm.readers import asap, coco, dsa, halo, imagescope, native, qupath
from dqm.readers.common.base import decode, failed, parse_json
from dqm.readers.common.xmltree import looks_like_xml, parse_xml

MAX_BYTES = 512 * 1024 * 1024
CACHE_MIN_BYTES = 256 * 1024
"""Files at least this big are cached after parsing (a COCO file serves many items)."""
CACHE_SIZE = 4
FORMATS = ("native", "qupath", "asap", "imagescope", "halo", "coco", "dsa")

BINARY_KINDS = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image (a raster mask is not read as outlines)"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"II*\x00", "a TIFF image (a raster mask is not read as outlines)"),
    (b"MM\x00*", "a TIFF image (a raster mask is not read as outlines)"),
    (b"II+\x00", "a BigTIFF image"),
    (b"PK\x03\x04", "a ZIP archive (unpack it first)"),
    (b"\x1f\x8b", "a gzip archive (unpack it first)"),
    (b"%PDF", "a PDF document"),
    (b"SQLite format 3\x00", "an SQLite database (e.g. a TIAToolbox annotation store; export GeoJSON)"),
)

_CACHE: OrderedDict[tuple[str, int, str], list[Annotation]] = OrderedDict()


def read_bytes(path: Path) -> tuple[bytes | None, ReadIssue | None]:
    """The file's bytes, or the issue that prevented reading them."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > MAX_BYTES:
                return None, ReadIssue(
                    "ANNOTATION_UNREADABLE", f"{size} bytes is over the {MAX_BYTES} byte limit"
                )
            return fh.read(), None
    except OSError as exc:
        return None, ReadIssue("ANNOTATION_UNREADABLE", f"cannot read: {exc.strerror or exc}")


def _parse_xml(data: bytes, rel: str) -> list[Annotation]:
    root, issues = parse_xml(data)
    if root is None:
        return [Annotation(path=rel, format="xml", readable=False, n_values=1, issues=issues)]
    if asap.looks_asap(root):
        return [asap.read_root(root, rel, issues)]
    if imagescope.looks_imagescope(root, rel):
        return [imagescope.read_root(root, rel, issues)]
    if halo.looks_halo(root, rel):
        return [halo.read_root(root, rel, issues)]
    tag = str(root.tag)[:60]
    return [
        failed(
            rel,
            "xml",
            ReadIssue(
                "UNKNOWN_FORMAT",
                f"XML with root <{tag}> is not ASAP (<ASAP_Annotations>), ImageScope or HALO (<Annotations>)",
            ),
        )
    ]


def _binary_kind(data: bytes) -> str | None:
    for magic, what in BINARY_KINDS:
        if data.startswith(magic):
            return what
    return None


def _parse(data: bytes, rel: str) -> list[Annotation]:
    kind = _binary_kind(data)
    if kind is not None:
        return [
            failed(rel, "unknown", ReadIssue("UNKNOWN_FORMAT", f"the file is {kind}, not an annotation file"))
        ]
    if looks_like_xml(data):
        return _parse_xml(data, rel)
    clean = native.read_clean(data, rel)
    if clean is not None:
        return [clean]
    decoded = decode(data)
    if decoded.text is None:
        return [
            Annotation(path=rel, format="unknown", readable=False, n_values=1, issues=list(decoded.issues))
        ]
    head = decoded.text.lstrip()[:1]
    if head in ("{", "["):
        doc, issues = parse_json(decoded)
        if doc is None:
            return [Annotation(path=rel, format="json", readable=False, n_values=1, issues=issues)]
        if native.looks_native(doc):
            return [native.read_document(doc, rel, issues)]
        if qupath.looks_qupath(doc):
            return [qupath.read_document(doc, rel, issues)]
        if coco.looks_coco(doc):
            return coco.read_document(doc, rel, issues)
        if dsa.looks_dsa(doc):
            return [dsa.read_document(doc, rel, issues)]
        return [native.read_document(doc, rel, issues)]
    return [
        failed(
            rel,
            "unknown",
            ReadIssue(
                "UNKNOWN_FORMAT",
                "not a recognised annotation format (expected JSON: native, QuPath GeoJSON, COCO, DSA; "
                "or XML: ASAP, ImageScope, HALO)",
            ),
        )
    ]


def parse_annotation(data: bytes, rel: str) -> list[Annotation]:
    """Every annotation a file's bytes hold (one per slide; COCO files hold many), classes as
    written (:func:`resolve_classes` resolves them).

    The returned annotations may be shared with later calls for the same big file (the cache);
    callers must not modify them -- :func:`resolve_classes` returns a resolved copy.
    """
    if len(data) < CACHE_MIN_BYTES:
        return _parse(data, rel)
    key = (rel, len(data), hashlib.blake2b(data, digest_size=16).hexdigest())
    hit = _CACHE.get(key)
    if hit is not None:
        _CACHE.move_to_end(key)
        return list(hit)
    result = _parse(data, rel)
    for ann in result:
        ann.document = None  # the parsed text is not kept alive by the cache
    _CACHE[key] = result
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return list(result)


def read_annotation(path: Path, rel: str) -> list[Annotation]:
    """Read one annotation file into the internal model, classes as written; never raises for
    bad content."""
    data, issue = read_bytes(path)
    if issue is not None:
        return [failed(rel, "unknown", issue)]
    assert data is not None
    return parse_annotation(data, rel)


@overload
def resolve_classes(
    annotations: Annotation, profile: Profile, institution: str | None = None
) -> Annotation: ...


@overload
def resolve_classes(
    annotations: list[Annotation], profile: Profile, institution: str | None = None
) -> list[Annotation]: ...


def resolve_classes(
    annotations: Annotation | list[Annotation], profile: Profile, institution: str | None = None
) -> Annotation | list[Annotation]:
    """The annotation(s) with every lesion's class name resolved to a class id of the profile.

    ``label`` becomes ``profile.resolve_class(raw_class, institution)``: a class id, name or
    alias, else ``class_map``, where ``institution_class_map[institution]`` wins. The institution
    is the item's (its manifest row); without one, the file's own clinical block names it (a
    native file's ``clinical.institution``). A name that does not resolve gets ``None``.

    The input is not modified (parsed annotations may be shared by the parse cache): a copy is
    returned when any label changes.
    """
    if isinstance(annotations, list):
        return [_resolved(ann, profile, institution) for ann in annotations]
    return _resolved(annotations, profile, institution)


def _resolved(ann: Annotation, profile: Profile, institution: str | None) -> Annotation:
    where = institution if institution and institution.strip() else ann.clinical.get("institution")
    lesions = []
    changed = False
    for lesion in ann.lesions:
        label = profile.resolve_class(lesion.raw_class, where)
        if label != lesion.label:
            changed = True
            lesion = dataclasses.replace(lesion, label=label)
        lesions.append(lesion)
    return dataclasses.replace(ann, lesions=lesions) if changed else ann
