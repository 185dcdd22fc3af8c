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

Big multi-image files (COCO) are parsed once per process: :func:`parse_annotation` keeps the
last few results keyed by the bytes' digest, the path and the profile.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections import OrderedDict
from pathlib import Path

from dqm.model import Annotation, ReadIssue
from dqm.profile import Profile
from dqm.readers import asap, coco, dsa, halo, imagescope, native, qupath
from dqm.readers.base import decode, failed, parse_json
from dqm.readers.items import annotation_for_item, merged  # noqa: F401  (public: the item's annotation)
from dqm.readers.xmltree import looks_like_xml, parse_xml

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

_CACHE: OrderedDict[tuple[str, str, int, str], list[Annotation]] = OrderedDict()


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


def _parse_xml(data: bytes, rel: str, profile: Profile) -> list[Annotation]:
    root, issues = parse_xml(data)
    if root is None:
        return [Annotation(path=rel, format="xml", readable=False, n_values=1, issues=issues)]
    if asap.looks_asap(root):
        return [asap.read_root(root, rel, profile, issues)]
    if imagescope.looks_imagescope(root, rel):
        return [imagescope.read_root(root, rel, profile, issues)]
    if halo.looks_halo(root, rel):
        return [halo.read_root(root, rel, profile, issues)]
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


def _parse(data: bytes, rel: str, profile: Profile) -> list[Annotation]:
    kind = _binary_kind(data)
    if kind is not None:
        return [
            failed(rel, "unknown", ReadIssue("UNKNOWN_FORMAT", f"the file is {kind}, not an annotation file"))
        ]
    if looks_like_xml(data):
        return _parse_xml(data, rel, profile)
    clean = native.read_clean(data, rel, profile)
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
            return [native.read_document(doc, rel, profile, issues)]
        if qupath.looks_qupath(doc):
            return [qupath.read_document(doc, rel, profile, issues)]
        if coco.looks_coco(doc):
            return coco.read_document(doc, rel, profile, issues)
        if dsa.looks_dsa(doc):
            return [dsa.read_document(doc, rel, profile, issues)]
        return [native.read_document(doc, rel, profile, issues)]
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


def parse_annotation(data: bytes, rel: str, profile: Profile) -> list[Annotation]:
    """Every annotation a file's bytes hold (one per slide; COCO files hold many).

    The returned annotations may be shared with later calls for the same big file (the cache);
    callers must not modify them -- :func:`with_institution` returns a relabelled copy.
    """
    if len(data) < CACHE_MIN_BYTES:
        return _parse(data, rel, profile)
    key = (rel, profile.sha256 or profile.name, len(data), hashlib.blake2b(data, digest_size=16).hexdigest())
    hit = _CACHE.get(key)
    if hit is not None:
        _CACHE.move_to_end(key)
        return list(hit)
    result = _parse(data, rel, profile)
    for ann in result:
        ann.document = None  # the parsed text is not kept alive by the cache
    _CACHE[key] = result
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return list(result)


def read_annotation(path: Path, rel: str, profile: Profile) -> list[Annotation]:
    """Read one annotation file into the internal model; never raises for bad content."""
    data, issue = read_bytes(path)
    if issue is not None:
        return [failed(rel, "unknown", issue)]
    assert data is not None
    return parse_annotation(data, rel, profile)


def with_institution(ann: Annotation, profile: Profile, institution: str | None) -> Annotation:
    """The annotation with lesion classes resolved for the item's institution.

    Readers resolve class names without knowing the institution (it comes from the manifest);
    ``institution_class_map`` entries apply here. The input is not modified: a copy is returned
    when any label changes.
    """
    if not institution or not profile.institution_class_map:
        return ann
    lesions = []
    changed = False
    for lesion in ann.lesions:
        label = profile.resolve_class(lesion.raw_class, institution)
        if label != lesion.label:
            changed = True
            lesion = dataclasses.replace(lesion, label=label)
        lesions.append(lesion)
    return dataclasses.replace(ann, lesions=lesions) if changed else ann
