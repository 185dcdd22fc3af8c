"""Annotation readers: each format is one module producing the same internal model.

:func:`read_annotation` does the file-level part once (bytes, encoding, syntax), detects the
format by content (file extensions lie), and hands the parsed content to the format's module.
A file no reader recognises is an ``UNKNOWN_FORMAT`` issue, never an exception.

:data:`READERS` lists the format modules in detection order; each shows the same face
(:class:`~dqm.readers.common.reader.FormatReader`: ``NAME``, ``TITLE``, ``ROLE``, ``SYNTAX``,
``ROOT``, ``looks``, ``read``). Detection, :data:`FORMATS`, :data:`XML_FORMATS` and the
``UNKNOWN_FORMAT`` messages all follow from that table (``docs/formats.md``):

* a PNG, TIFF, BMP or JPEG image is a label mask (:mod:`dqm.readers.mask`); bytes with the
  signature of another image, an archive, a PDF or a database -> ``UNKNOWN_FORMAT`` naming
  what the file is;
* XML (first non-blank byte ``<``), parsed through defusedxml: the first XML format whose
  ``looks`` accepts the root element reads it; none -> ``UNKNOWN_FORMAT``;
* UTF-16 or UTF-32 text that is not XML: read as JSON, with an ``INVALID_ENCODING`` issue;
* JSON: a clean native file is read in one pass (:func:`dqm.readers.native.read_clean`);
  otherwise the first JSON format whose ``looks`` accepts the document reads it, and the native
  reader reads any other JSON, reporting what is missing (a broken native file still gets its
  structure findings).

Readers know no profile: a lesion comes out with its class name as written (``raw_class``) and
no class id. :func:`resolve_classes` is the one step afterwards that resolves the names against
the profile, for the item's institution.

Big multi-image files (COCO) are parsed once per process: :func:`parse_annotation` keeps the
last few results keyed by the bytes' SHA-256 and the path, and :func:`parsed_before` gives one
back from the digest alone (the runner knows the digest of a file it read before by its stat:
:mod:`dqm.file_digests`).
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import hashlib
import math
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, overload

from dqm.budget import progress
from dqm.coords import MAX_MPP, MIN_MPP
from dqm.findings import clip
from dqm.i18n import N_, Message, msg
from dqm.identifiers import reading_keys, strings
from dqm.model import Annotation, Lesion, ReadIssue
from dqm.profile import Limits, Profile
from dqm.readers import asap, coco, dsa, halo, imagescope, mask, native, qupath
from dqm.readers.common import base, bigjson, pieces, tally
from dqm.readers.common.base import decode, failed, parse_json, wide_text
from dqm.readers.common.reader import FormatReader, limits, reading_within
from dqm.readers.common.xmltree import (
    MAX_TEXT_CHARS,
    MAX_TEXTS,
    looks_like_xml,
    parse_xml,
    xml_notes,
    xml_texts,
)
from dqm.readers.items import FileAnnotations, annotation_for_item, merged  # noqa: F401  (public: the item's annotation)
from dqm.sparse_files import sparse_of

READERS: tuple[FormatReader, ...] = (native, qupath, asap, imagescope, halo, coco, dsa, mask)
"""Every format, in detection order: the first of a syntax whose ``looks`` accepts the content
reads it. Adding a format is one module with the same face and one entry here."""

FORMATS = tuple(r.NAME for r in READERS)
XML_FORMATS = frozenset(r.NAME for r in READERS if r.SYNTAX == "xml")
"""Formats whose locations are XML paths (a property is an attribute ``/@Name``)."""

MAX_BYTES = 512 * 1024 * 1024
MAX_SLIDE_SIDE = 2**31 - 1
"""The largest declared slide width or height taken as a number (TIFF's 32-bit dimensions)."""
CACHE_MIN_BYTES = 256 * 1024
"""Files at least this big are cached after parsing (a COCO file serves many items), at most
:data:`CACHE_SIZE` of them and ``limits.annotation_memory`` of the memory they hold in all
(:func:`_parse_cached`)."""
CACHE_SHARED_MIN_BYTES = 4 * 1024
"""A smaller file is cached too when it holds the annotations of several slides (a COCO file of
a few hundred images): each item that shares it parsed it whole again (five COCO files of 120 KB
shared by 3,000 manifest rows: 3,000 parses, 164 s of CPU against 7 s for 300 rows). Below this
size a parse costs an item less than a millisecond."""
CACHE_SIZE = 4
VALUE_BYTES = 240
"""Memory one value of a JSON or XML text takes once parsed and read (a container, a number, an
element or attribute, with the lesion the reader makes of it): 129-196 bytes measured on 50 MB
files of small objects in each text format, and at 20 MB, with the interpreter's own memory, the
estimate is 0.95-1.29 times the peak at 200 (``python benchmarks/bench_memory_estimate.py``);
240 keeps it above."""
PIECE_VALUE_BYTES = 140
"""The same for what a file's annotations hold once read, the parsed text gone (what the parse
cache counts of a file but a COCO file's): 70-105 bytes measured at 40 MB (``python
benchmarks/bench_memory_estimate.py``). A read in pieces is admitted at :func:`pieces_needed`."""
PIECE_MARK_BYTES = {
    b"{": 200,
    b"[": 48,
    b"[[": 264,
    b",": 40,
    b'"Feature"': 360,
    b'"': 12,
    b":": 20,
}
"""What reading a QuPath or clean native file in pieces is admitted at, up front (:mod:`~dqm.readers.common.pieces`:
its object tree is never whole; :func:`pieces_needed`): its bytes, and again at the bytes a
character of its strings may take (:meth:`_MemoryCheck.char_bytes`: 1, 2 or 4), and for each of
these marks in the text, its bytes: an object, a list, a list opening a list (counted apart, once a
pair), an item, a GeoJSON ``"Feature"`` (a lesion or up to three issues), a quote, a colon. What the
read keeps (its lesions, issues, the strings and keys :class:`~dqm.readers.common.base.DistinctTexts`
keeps of what it skips) is bounded as it reads, by its tally (:mod:`~dqm.readers.common.tally`, each
item's parse charged before it is made), so the charges need only cover it where a file is to be
read whole: fitted (a linear programme, ``python benchmarks/fit_piece_marks.py``, on the figures of
``python benchmarks/bench_annotation_memory.py --shapes --raw FILE``) to keep the estimate at least
1.15 times the peak of each shape it covered before (of 47: the shapes at 3 MiB, usual exports and
small named annotations at 17 MiB) and at least the tally's need (:data:`~dqm.readers.common.tally.KEPT_FACTOR`)
of each shape read whole at its estimate before, and of small named annotations (with an id and
measurements the tally came to 1.09-1.11 times the former estimate, stopped), at the least estimate
for usual exports. The benchmark's usual QuPath and native files come to 12.8 and 13.4 times their
size (peaks 5.6 and 7.5: a 4 GiB limit admits 320 and 306 MiB; before: 16.6 and 19.5, 246 and 210
MiB; with every quote and colon charged, before the tally: 31.4 and 30.3, 131 and 135 MiB). A shape
that keeps more a byte (unique keys, strings kept with their pointers) is stopped by the tally, as
before; each of the shapes, read under a limit at this estimate, ends or is stopped under it
(``tests/readers/test_piece_memory.py``, at 3 MiB)."""
SHELL_MARK_BYTES = {
    b"{": 240,
    b"[": 80,
    b"[[": 160,
    b",": 80,
    b'"Feature"': 420,
    b'"geometry"': 400,
    b"\\u": 420,
    b'"': 112,
    b":": 168,
    b"],[": 60,
    b"], [": 60,
}
"""What a mark of the top-level values a read in pieces parses whole (all but the list it splits)
takes, kept with the annotation: also a quote (a string kept) and a colon (a key), the charges the
whole text paid before the read in pieces tallied what it keeps (:mod:`~dqm.readers.common.tally`);
and what an item's parse is charged before it is made (:meth:`_MemoryCheck.parse`), with 60 bytes
more a vertex (``],[``): a vertex, charged 254 bytes by the other marks, takes about 300 parsed
and made a lesion (a second review: one outline as big as the file, admitted at its estimate, was
read at 1.16 times it). Set apart from :data:`PIECE_MARK_BYTES` (these are the charges it held
before its re-fitting): a top-level value is parsed before the tally begins, and an item's parse is
charged at these rates whatever the up-front charges are."""
COCO_VALUE_BYTES = 64
"""The same for a COCO file read in pieces, whose lesions are held in flat arrays and built only
for the item that asks (:mod:`~dqm.readers.common.held`): 20-34 bytes measured at 50 MB for
polygons of 3, 4, 20 and 1,000 vertices, 47 at 20 MB for uncompressed RLE masks of short runs
(the interpreter's own memory included; ``python benchmarks/bench_memory_estimate.py --mb 20``
and ``--mb 50``); 64 keeps it above the RLE masks by a third, twice above the polygons.
A compressed RLE is one value of the text however many pixels it decodes to (its outline is
held to ``limits.rle_pixels``, not to this estimate). Each image costs :data:`COCO_IMAGE_BYTES`
more (:func:`_coco_need`)."""
COCO_IMAGE_BYTES = 4096
"""What one image of a COCO file holds besides its lesions (its parsed entry, its
:class:`~dqm.model.Annotation`, pointers, texts, names indexed): 2.4 KB measured on a 31 MB file
of 330,000 images and 165,000 bbox-only annotations, where the values alone came to 281 bytes
each; counted as the entries of its ``images`` list once that is parsed, by ``"file_name"``
before (:func:`_coco_need`)."""
LIFTED_VERTEX_BYTES = 300
"""What a vertex of an outline lifted out of a big file's text (:mod:`~dqm.readers.common.bigjson`)
takes once its lesion is made (its rings, its GEOS geometry and the transients of making them):
charged with the lifted text before the rest is read (:meth:`_MemoryCheck.aside`), as the rest's
estimate never sees it. A second review measured 171 MiB for a 17 MiB file of one 940,000-vertex
outline (about 160 bytes a vertex past the text), 119 MiB for three of 420,000, and about 300 a
vertex of an outline parsed as text; 300 keeps above both."""
_FOUR_BYTES = re.compile(rb"[\xf0-\xf4]")
"""The lead byte of a 4-byte UTF-8 sequence: a character past U+FFFF."""
_TWO_BYTES = re.compile(rb"[\xc4-\xef]")
"""The lead byte of a UTF-8 sequence of a character from U+0100 to U+FFFF."""
_SURROGATE = re.compile(rb"\\u[dD][89abAB]")
"""A ``\\u`` escape that opens a surrogate pair (a character past U+FFFF)."""
_VALUE_MARKS = (b"{", b"[", b",", b"<", b"=")
"""Bytes of which a text holds one per value or more: JSON's openers and separators, XML's tags
and attributes."""

BINARY_KINDS = (
    (b"PK\x03\x04", N_("the file is a ZIP archive (unpack it first), not an annotation file")),
    (b"\x1f\x8b", N_("the file is a gzip archive (unpack it first), not an annotation file")),
    (b"%PDF", N_("the file is a PDF document, not an annotation file")),
    (
        b"SQLite format 3\x00",
        N_(
            "the file is an SQLite database (e.g. a TIAToolbox annotation store; export GeoJSON), "
            "not an annotation file"
        ),
    ),
)
"""Binary files that are not annotations, by their first bytes: the ``UNKNOWN_FORMAT`` message."""

_ANNOTATION_READERS = tuple(r for r in READERS if r.ROLE == "annotation")
_JSON_READERS = tuple(r for r in _ANNOTATION_READERS if r.SYNTAX == "json")
_XML_READERS = tuple(r for r in _ANNOTATION_READERS if r.SYNTAX == "xml")
_IMAGE_READERS = tuple(r for r in READERS if r.SYNTAX == "image")

_CACHE: OrderedDict[tuple[str, int, str, Limits, str | None], tuple[FileAnnotations, int]] = OrderedDict()
"""The parse cache: by file, limits and the profile's own identifier keys (what a reader keeps),
the annotations parsed and the memory they may hold."""
_LOCK = threading.Lock()
"""Held while :data:`_CACHE` is read or changed, never while a file is parsed: threads share the
cache (the review server's threadpool, a Dask worker's threads); unlocked, an eviction beside a
look-up raised ``OrderedDict mutated during iteration`` or ``KeyError`` (3 in 12,000 calls on
4 threads)."""


def _either(names: list[str]) -> str:
    """``A``, ``A or B``, ``A, B or C``."""
    return " or ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else "".join(names)


def _xml_roots() -> str:
    """The XML formats by root element, as the ``UNKNOWN_FORMAT`` message names them."""
    by_root: dict[str | None, list[str]] = {}
    for r in _XML_READERS:
        by_root.setdefault(r.ROOT, []).append(r.TITLE)
    return ", ".join(f"{_either(titles)} (<{root}>)" for root, titles in by_root.items())


_XML_ROOTS = _xml_roots()
_NOT_RECOGNISED = msg(
    "not a recognised annotation format (expected JSON: {json}; or XML: {xml}; or an image: {image})",
    json=", ".join(r.TITLE for r in _JSON_READERS),
    xml=", ".join(r.TITLE for r in _XML_READERS),
    image=", ".join(r.TITLE for r in _IMAGE_READERS),
)


def read_bytes(
    path: Path, max_bytes: int = MAX_BYTES
) -> tuple[bytes | None, ReadIssue | None, os.stat_result | None]:
    """The file's bytes, or the issue that prevented reading them (``LIMIT_EXCEEDED`` for a
    file over ``max_bytes``, the profile's ``limits.annotation_bytes``; ``ANNOTATION_UNREADABLE``
    for a sparse file, :mod:`dqm.sparse_files`: not read at all); and the ``os.fstat`` of the
    descriptor read (None when it could not be opened): the file the bytes are of, whatever the
    path names by then (:func:`dqm.file_digests.remember`)."""
    try:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            return (*_read_open(fh, st, max_bytes), st)
    except OSError as exc:
        return (
            None,
            ReadIssue("ANNOTATION_UNREADABLE", msg("cannot read: {reason}", reason=exc.strerror or exc)),
            None,
        )


def _read_open(fh: BinaryIO, st: os.stat_result, max_bytes: int) -> tuple[bytes | None, ReadIssue | None]:
    """:func:`read_bytes` of the open file ``fh`` whose ``os.fstat`` is ``st``."""
    size = st.st_size
    if size > max_bytes:
        return None, ReadIssue(
            "LIMIT_EXCEEDED",
            msg(
                "{size} bytes is over limits.annotation_bytes = {limit} (not read)",
                size=size,
                limit=max_bytes,
            ),
        )
    found = sparse_of(fh.fileno(), st)
    if found is not None:  # its holes are not read: FILE_SPARSE says why
        return None, ReadIssue(
            "ANNOTATION_UNREADABLE",
            msg(
                "a sparse file: {apparent:,} bytes long, {allocated:,} of them on disk (not read)",
                apparent=found.apparent,
                allocated=found.allocated,
            ),
        )
    fh.seek(0)
    return _read_beating(fh, max_bytes + 1, size), None


READ_STEP = 8 * 1024 * 1024
"""How many bytes of an annotation file are read between two signs of progress."""


def _read_beating(fh: BinaryIO, n: int, size: int) -> bytes:
    """At most ``n`` bytes of ``fh`` (``size`` long by its stat), saying progress
    (:func:`dqm.budget.progress`) each :data:`READ_STEP` read: a GB-sized file on a slow filesystem
    that keeps reading is not an item stuck past the item limit. A small file is one read; a larger
    one is read into one buffer of its size and a byte (a ``bytearray``, held once: the pieces
    joined held it twice), grown should the file have grown since its stat."""
    first = fh.read(min(n, READ_STEP))  # whole unless the file ends (a buffered read)
    if len(first) < READ_STEP:
        return first
    progress()
    buf = bytearray(max(min(n, size + 1), READ_STEP))
    view = memoryview(buf)
    view[:READ_STEP] = first
    del first
    got = READ_STEP
    while got < n:
        if got == len(buf):  # the file grew since its stat
            view.release()
            buf.extend(bytes(min(n - got, READ_STEP)))
            view = memoryview(buf)
        want = min(n - got, READ_STEP, len(buf) - got)
        step = _read_into(fh, view[got : got + want])
        got += step
        if step < READ_STEP:
            if step < want:  # the file ended
                break
            continue  # a step cut by the buffer's end: the rest is read next
        progress()
    view.release()
    del buf[got:]
    return buf  # type: ignore[return-value]  # bytes' reading methods; hashlib, json and the readers take it


def _read_into(fh: BinaryIO, view: memoryview) -> int:
    """How many bytes ``fh`` put in ``view``: all of it unless the file ends."""
    got = 0
    while got < len(view):
        step = fh.readinto(view[got:])  # type: ignore[attr-defined]
        if not step:
            break
        got += step
    return got


def _read_first(
    readers: tuple[FormatReader, ...], content: Any, rel: str, issues: list[ReadIssue]
) -> list[Annotation] | None:
    """What the first reader that recognises the content reads; None when none does."""
    for reader in readers:
        if reader.looks(content, rel):
            return reader.read(content, rel, issues)
    return None


def _parse_xml(data: bytes, rel: str) -> list[Annotation]:
    marks = base.utf8_boms(data)
    extra: list[ReadIssue] = []
    if marks > len(base.UTF8_BOM):  # one is XML's own; the others are characters before the root
        data = data[marks - len(base.UTF8_BOM) :]
        extra.append(ReadIssue("UTF8_BOM", msg("the file starts with a UTF-8 byte-order mark")))
    root, issues = parse_xml(data)
    issues[:0] = extra
    if root is None:
        return [failed(rel, "xml", *issues)]
    found = _read_first(_XML_READERS, root, rel, issues)
    if found is not None:
        notes = xml_notes(data)
        for ann in found:
            ann.properties.update(notes)
            kept = xml_texts(root, _held_text(ann))
            ann.properties.update(kept.texts)
            if kept.stopped_at is not None:
                ann.issues.append(_unsearched(kept.stopped_at))
        return found
    unknown = msg("XML with root <{tag}> is not {formats}", tag=clip(str(root.tag), 60), formats=_XML_ROOTS)
    return [failed(rel, "xml", ReadIssue("UNKNOWN_FORMAT", unknown))]


def _unsearched(where: str) -> ReadIssue:
    text = msg(
        "the file holds more text than is searched for identifiers ({n:,} texts, {chars:,} characters): "
        "the texts from here on are not searched (check them before release)",
        n=MAX_TEXTS,
        chars=MAX_TEXT_CHARS,
    )
    return ReadIssue("DEID_ANNOTATION_UNSEARCHED", text, pointer=where)


def _held_text(ann: Annotation) -> set[str]:
    """The text the lesions of ``ann`` hold (classes, property names and values), searched there."""
    held: set[str] = set()
    for lesion in ann.lesions:
        if isinstance(lesion.raw_class, str):
            held.add(lesion.raw_class.strip())
        # a property's name as kept and as the file writes it (ImageScope's layer.<Name>)
        held.update(k.strip() for key in lesion.properties for k in (str(key), str(key).rpartition(".")[2]))
        held.update(text.strip() for _, text in strings(lesion.properties))
    return held


def _binary_kind(data: bytes) -> str | None:
    for magic, what in BINARY_KINDS:
        if data.startswith(magic):
            return what
    return None


def _parse(data: bytes, rel: str, memory: _MemoryCheck) -> tuple[list[Annotation], Callable[[], int]]:
    """The annotations ``data`` holds (``memory``: the check of ``data``), and how to tell an
    upper estimate of the memory they hold once the parsed text is gone (what the parse cache
    counts): the text's values at :data:`PIECE_VALUE_BYTES` (the lesions made of them), a COCO
    file's at :data:`COCO_VALUE_BYTES` (its lesions held in arrays), an outline lifted out into numpy at
    twice its arrays' bytes (the rings and a geometry's copy), nothing for a file not read."""
    most = limits().vertices_per_lesion
    room, each = limits().annotation_memory, LIFTED_VERTEX_BYTES
    lifted = bigjson.lift(data, most, room, each)  # a big file's big outlines: into numpy, not Python lists
    arrays = 0
    if lifted is None:
        annotations = _parse_any(data, rel, memory)
    else:
        memory = _MemoryCheck(lifted[0], _lifted_need(data, lifted))
        annotations = bigjson.put_back(_parse_any(lifted[0], rel, memory), lifted[1], most)
        arrays = bigjson.lifted_bytes(lifted[1])
    for ann in annotations:
        _bound_slide_facts(ann)
    read = any(ann.readable for ann in annotations)
    is_coco = all(ann.format == coco.NAME for ann in annotations)
    need = (
        (lambda: _coco_need(memory, len(annotations)))  # one annotation an image
        if is_coco
        else (lambda: memory.need(PIECE_VALUE_BYTES))
    )
    return annotations, lambda: need() + 2 * arrays if read else 0


def _lifted_need(data: bytes, lifted: tuple[bytes, dict[int, bigjson.Lifted]]) -> int:
    """What the outlines :func:`~dqm.readers.common.bigjson.lift` took out of ``data`` take once
    read: their text (``data`` is held beside the text left) and :data:`LIFTED_VERTEX_BYTES` a
    vertex converted (one over the vertex limit is only counted, never made a lesion)."""
    vertices = sum(value.n_vertices for value in lifted[1].values() if value.polygons is not None)
    return len(data) - len(lifted[0]) + LIFTED_VERTEX_BYTES * vertices


def _bound_slide_facts(ann: Annotation) -> None:
    """A declared slide size or resolution beyond any real slide enters no arithmetic: it is
    dropped, with a ``VALUE_OUT_OF_RANGE`` issue (a small negative or zero size stays for
    ``SLIDE_SIZE_INVALID``, a non-finite, zero or negative resolution for ``MPP_INVALID``; a
    positive one under :data:`MIN_MPP` is dropped too)."""
    bounds = (("width", 0, MAX_SLIDE_SIDE), ("height", 0, MAX_SLIDE_SIDE), ("mpp", MIN_MPP, MAX_MPP))
    for key, low, high in bounds:
        value = getattr(ann, key)
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            continue
        if abs(value) > high:
            digits = len(str(int(abs(value))))
            text = (
                msg(
                    "slide {key} is {value:.3g}, beyond {limit:g} (not used)",
                    key=key,
                    value=value,
                    limit=high,
                )
                if digits <= 20
                else msg(
                    "slide {key} is a number of {digits} digits, beyond {limit:g} (not used)",
                    key=key,
                    digits=digits,
                    limit=high,
                )
            )
        elif 0 < value < low:
            text = msg("slide mpp is {value:.3g}, under {limit:g} (not used)", value=value, limit=low)
        else:
            continue
        ann.issues.append(ReadIssue("VALUE_OUT_OF_RANGE", text, pointer=ann.slide_pointer(key)))
        setattr(ann, key, None)


def memory_needed(text: bytes, value_bytes: int = VALUE_BYTES) -> int:
    """An upper estimate of the memory reading a JSON or XML ``text`` takes: its bytes, and
    ``value_bytes`` for each value it may hold (one count of each of :data:`_VALUE_MARKS`)."""
    return _MemoryCheck(text).need(value_bytes)


def pieces_needed(text: bytes) -> int:
    """An upper estimate of the memory reading a QuPath or clean native JSON ``text`` in pieces
    takes, its lesions and the text of what it skips kept (:data:`PIECE_MARK_BYTES`)."""
    return _MemoryCheck(text).pieces_need()


_SHELL_JOINED_BYTES = 1 << 16
"""A top-level value under this many bytes is counted joined with the others (:meth:`_MemoryCheck._shell_need`)."""


class _MemoryCheck:
    """``LIMIT_EXCEEDED`` when reading a text could take more than ``limits.annotation_memory``:
    a file of a million tiny features took 20-35 times its size once parsed whole, and a worker
    killed for memory takes the audit with it. The values are counted once, and only for a text
    big enough to matter (at the default, one over about 17 MB read whole; every file read in
    pieces)."""

    def __init__(self, text: bytes, aside: int = 0) -> None:
        self.text = text
        self.aside = aside  # the outlines lifted out of the file's text (_lifted_need): in every check
        self.counts: dict[bytes, int] = {}
        self.width: int | None = None  # char_bytes, once found
        self.pieces: int | None = None  # pieces_need, once found

    def count(self, mark: bytes) -> int:
        """How many times ``mark`` is in the text (counted once)."""
        n = self.counts.get(mark)
        if n is None:
            n = self.counts[mark] = self.text.count(mark)
        return n

    def need(self, value_bytes: int) -> int:
        """:func:`memory_needed` at ``value_bytes`` a value (the values counted once)."""
        return len(self.text) + value_bytes * sum(self.count(mark) for mark in _VALUE_MARKS)

    def pieces_need(self) -> int:
        """:func:`pieces_needed` (the marks counted once)."""
        if self.pieces is None:
            marks = sum(cost * self.count(mark) for mark, cost in PIECE_MARK_BYTES.items())
            text = (1 + self.char_bytes()) * len(self.text)
            self.pieces = text + marks + self._shell_need() + self.aside
        return self.pieces

    def _shell_need(self) -> int:
        """What the top-level values but the list read in pieces take, parsed whole before the
        read's tally begins (a ``metadata`` or ``clinical`` object as big as the file): their
        text at :meth:`text_need`. Every value is charged but the one list the read splits: the
        first of :data:`_PIECES_BY_KEY`'s keys the object holds (a FeatureCollection's
        ``annotations`` beside its ``features`` is parsed whole), else ``lesions`` (a clean native
        file holds no other key)."""
        top = pieces.top_values(self.text) or {}
        split = next((key for key in _PIECES_BY_KEY if key is not None and key in top), "lesions")
        # the small values counted joined, not one by one (a million top-level keys: 11 counts
        # each): no mark holds a NUL, so none spans two values and the counts add up. A large
        # value is counted alone, copied one at a time: joined, four 100 MB values took 381 MB
        # more in this check that guards memory (95 MB one by one)
        values = [value for key, value in top.items() if key != split]
        small = [value for value in values if len(value) < _SHELL_JOINED_BYTES]
        need = sum(self.text_need(bytes(v)) for v in values if len(v) >= _SHELL_JOINED_BYTES)
        if small:
            need += self.text_need(b"\x00".join(small)) - self.char_bytes() * (len(small) - 1)
        return need

    def text_need(self, text: bytes) -> int:
        """What parsing ``text`` (a value of the text) whole takes and the read keeps of it: its
        bytes at :meth:`char_bytes`, and :data:`SHELL_MARK_BYTES` for each mark (each quote a
        string kept, each colon a key)."""
        need = self.char_bytes() * len(text)
        return need + sum(cost * text.count(mark) for mark, cost in SHELL_MARK_BYTES.items())

    def parse(self) -> tally.Parse:
        """:meth:`text_need` for a read in pieces' tally (:meth:`~dqm.readers.common.tally.Tally.check`
        charges an item's parse before it is made)."""
        return tally.Parse(self.text_need, self.char_bytes() + max(SHELL_MARK_BYTES.values()))

    def char_bytes(self) -> int:
        """The most bytes a character of a string of the text may take once decoded: Python holds
        a string at 1, 2 or 4 bytes a character, the widest of its characters (one emoji makes a
        2,000-character name 8 KB): 4 where the text holds a 4-byte UTF-8 sequence or a ``\\uD8xx``
        escape (a surrogate pair), 2 where it holds one past U+00FF otherwise, else 1 (found once:
        two regex scans of a non-ASCII text, 3.7 s of CPU for 512 MiB of Latin-1)."""
        if self.width is None:
            self.width = self._char_bytes()
        return self.width

    def _char_bytes(self) -> int:
        """:meth:`char_bytes`, found."""
        text = self.text
        escapes = self.count(b"\\u") > 0 and self.count(b"\\u") > self.count(b"\\u00")  # past U+00FF
        if text.isascii() and not escapes:
            return 1
        if _FOUR_BYTES.search(text) or (escapes and _SURROGATE.search(text)):
            return 4
        return 2 if escapes or _TWO_BYTES.search(text) else 1

    def over(self, value_bytes: int) -> ReadIssue | None:
        """The finding when the read, at ``value_bytes`` a value, would not fit; else None."""
        limit = limits().annotation_memory
        if len(self.text) * (value_bytes + 1) + self.aside <= limit:
            return None
        return self.refused(self.need(value_bytes) + self.aside)

    def refused(self, need: int) -> ReadIssue | None:
        """The finding when a read estimated at ``need`` bytes would not fit; else None."""
        limit = limits().annotation_memory
        if need <= limit:
            return None
        return ReadIssue(
            "LIMIT_EXCEEDED",
            msg(
                "reading it would take about {need:,} bytes of memory (its JSON or XML values), over "
                "limits.annotation_memory = {limit} (not read)",
                need=need,
                limit=limit,
            ),
        )


def _parse_any(data: bytes, rel: str, memory: _MemoryCheck) -> list[Annotation]:
    """The annotations of ``data``, its read held to ``memory`` (the check of ``data`` itself);
    the parse cache's room made before it is read (:data:`_ROOM`)."""
    in_pieces = len(data) >= pieces.MIN_BYTES  # a big clean native file is read so too
    coco_first = in_pieces and _COCO_OBJECT.match(data) is not None and _names_coco(data)
    if not coco_first:
        _make_room()
    image = _read_first(_IMAGE_READERS, data, rel, [])
    if image is not None:
        return image
    kind = _binary_kind(data)
    if kind is not None:
        return [failed(rel, "unknown", ReadIssue("UNKNOWN_FORMAT", msg(kind)))]
    wide = wide_text(data)
    if wide is not None and wide.text is None:
        return [failed(rel, "unknown", *wide.issues)]
    if wide is not None and wide.text is not None and wide.text.lstrip()[:1] != "<":
        decoded = wide  # UTF-16 / UTF-32 JSON: read, and reported as not UTF-8
    elif looks_like_xml(data):
        too_big = memory.over(VALUE_BYTES)
        if too_big is not None:
            return [failed(rel, "unknown", too_big)]
        return _parse_xml(data, rel)  # XML declares its own encoding
    else:
        too_big = memory.refused(memory.pieces_need()) if in_pieces else None
        if too_big is not None:
            # a COCO file in pieces holds its lesions compactly: it is held to its own estimate
            coco_pieces = _read_pieces(data, rel, memory, coco) if _may_be_coco(data, memory) else None
            return coco_pieces if coco_pieces is not None else [failed(rel, "unknown", too_big)]
        if coco_first:  # read as COCO (no clean native file names "images"), else room is made
            coco_pieces = _read_pieces(data, rel, memory, coco)
            if coco_pieces is not None:
                return coco_pieces
            _make_room()
        clean = _tallied(data, rel, lambda: _one(native.read_clean(data, rel)), memory if in_pieces else None)
        if clean is not None:
            return clean
        split = _tallied(data, rel, lambda: _read_pieces(data, rel, memory), memory) if in_pieces else None
        if split is not None:
            return split
        decoded = decode(data)
    too_big = memory.over(VALUE_BYTES)  # read whole
    if too_big is not None:
        return [failed(rel, "unknown", too_big)]
    if decoded.text is None:
        return [failed(rel, "unknown", *decoded.issues)]
    if decoded.text.lstrip()[:1] not in ("{", "["):
        return [failed(rel, "unknown", ReadIssue("UNKNOWN_FORMAT", _NOT_RECOGNISED))]
    doc, issues = parse_json(decoded)
    if doc is None:
        return [failed(rel, "json", *issues)]
    found = _read_first(_JSON_READERS, doc, rel, issues)
    return found if found is not None else native.read(doc, rel, issues)


def _one(ann: Annotation | None) -> list[Annotation] | None:
    return None if ann is None else [ann]


def _tallied(
    data: bytes, rel: str, read: Callable[[], list[Annotation] | None], memory: _MemoryCheck | None
) -> list[Annotation] | None:
    """What ``read`` makes of ``data``; for a read in pieces (``memory``: the check of ``data``),
    what it keeps tallied as it goes, each item's parse charged before it is made
    (:mod:`~dqm.readers.common.tally`: the bound of such a read, past its up-front estimate
    :func:`pieces_needed`), and once that passes ``limits.annotation_memory`` the read stopped
    with a ``LIMIT_EXCEEDED`` finding."""
    if memory is None:
        return read()
    try:
        with tally.tallied(len(data) + memory.aside, _room_for, memory.parse()):
            return read()
    except tally.OverLimit as over:
        limit = limits().annotation_memory
        text = msg(
            "reading it took more than {need:,} bytes of memory (what it had kept when it was stopped), "
            "over limits.annotation_memory = {limit} (not read)",
            need=over.need,
            limit=limit,
        )
        return [failed(rel, "unknown", ReadIssue("LIMIT_EXCEEDED", text))]


def _room_for(need: int) -> int:
    """The bytes ``limits.annotation_memory`` leaves a read taking ``need``, the parse cache's least
    recently used entries out until it fits beside them (or the cache is empty)."""
    limit = limits().annotation_memory
    with _LOCK:
        _evict_locked(max(limit - need, 0), CACHE_SIZE)
        return limit - sum(size for _, size in _CACHE.values())


_PIECES_BY_KEY: dict[str | None, Any] = {"features": qupath, "annotations": coco, None: qupath}
"""The readers that read a big file in pieces, by the key of the list they split it around (None:
the document is the list)."""


def _coco_need(memory: _MemoryCheck, images: int | None = None) -> int:
    """An upper estimate of the memory reading a COCO text in pieces takes (``memory``: its
    check): its values at :data:`COCO_VALUE_BYTES`, its ``images`` at :data:`COCO_IMAGE_BYTES`.
    Before its ``images`` list is parsed they are counted by ``"file_name"``, which an image may
    lack (its name is then its id): a first check only, the count of the list decides
    (:func:`_read_pieces`)."""
    if images is None:
        images = memory.text.count(b'"file_name"')
    return memory.need(COCO_VALUE_BYTES) + COCO_IMAGE_BYTES * images


def _names_coco(data: bytes) -> bool:
    """Whether ``data`` names COCO's two lists (a first look: it is split to be known for COCO)."""
    return b'"images"' in data and b'"annotations"' in data


def _may_be_coco(data: bytes, memory: _MemoryCheck) -> bool:
    """Whether ``data`` names COCO's two lists and fits in ``limits.annotation_memory`` at
    :func:`_coco_need` (it is split to be known for COCO)."""
    return _names_coco(data) and _coco_need(memory) <= limits().annotation_memory


_COCO_OBJECT = re.compile(rb"\s*\{")
"""The start of a JSON object (a COCO file's text; no image or XML starts so)."""


def _read_pieces(
    data: bytes, rel: str, memory: _MemoryCheck, only: FormatReader | None = None
) -> list[Annotation] | None:
    """What the reader of a big JSON file makes of it in pieces (:mod:`~dqm.readers.common.pieces`:
    the whole object tree is never built), None when it is not one such a reader takes (or not
    ``only``), or cannot be read so. The reader is the one the whole read would pick: the first
    whose ``looks`` accepts the document with its list emptied (no ``looks`` reads into the list of
    the formats split), or a list's first item alone (``looks`` reads no further into a list). A
    COCO file is held to :func:`_coco_need` (``memory``: the check of ``data``), and the parse
    cache makes room for it at that estimate: only here is a file known to be COCO (one that
    merely names COCO's lists may be any format, read at :func:`pieces_needed`)."""
    found = pieces.split(data, tuple(k for k in _PIECES_BY_KEY if k is not None))
    if found is None:
        return None
    reader = next((r for r in _JSON_READERS if r.looks(found.shell, rel)), None)
    if reader is not _PIECES_BY_KEY[found.key] or (only is not None and reader is not only):
        return None
    images = found.shell.get("images") if isinstance(found.shell, dict) else None
    count = len(images) if isinstance(images, list) else 0  # with or without a "file_name"
    if reader is coco:
        need = _coco_need(memory, count)
        too_big = memory.refused(need)
        if too_big is not None:  # its images cost more than its values tell (COCO_IMAGE_BYTES)
            return [failed(rel, "unknown", too_big)]
        _make_room(need)
    return reader.read_pieces(found, rel)


def parse_annotation(
    data: bytes,
    rel: str,
    held_to: Limits | None = None,
    sha256: str | None = None,
    identifier_keys: str | None = None,
) -> list[Annotation]:
    """Every annotation a file's bytes hold (one per slide; COCO files hold many), classes as
    written (:func:`resolve_classes` resolves them). ``held_to``: the profile's limits the mask
    decoders keep to (a mask over them is ``LIMIT_EXCEEDED``, not decoded); default
    :class:`~dqm.profile.Limits`. ``sha256``: the bytes' SHA-256 when the caller took it (the
    cache's key; else it is taken here). ``identifier_keys``: the profile's own identifier-key
    pattern (:func:`dqm.identifiers.read_keys`): the values under the keys it names are kept
    whatever they are, as under the built-in ones (a ``chart_no`` of 12345678 was dropped).

    The returned annotations may be shared with later calls for the same big file (the cache);
    callers must not modify them -- :func:`resolve_classes` returns a resolved copy.
    """
    with reading_within(held_to or Limits()), reading_keys(identifier_keys):
        return _parse_cached(data, rel, held_to or Limits(), sha256, identifier_keys)


def parsed_before(
    rel: str, size: int, sha256: str, held_to: Limits | None = None, identifier_keys: str | None = None
) -> list[Annotation] | None:
    """What :func:`parse_annotation` gave for the file ``rel`` of ``size`` bytes whose SHA-256 is
    ``sha256``, from the cache, without the bytes (a file many items share is not read again);
    None when the cache does not hold it (a parse for other ``identifier_keys`` is another)."""
    key = (rel, size, sha256, held_to or Limits(), identifier_keys)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is None:
            return None
        with contextlib.suppress(KeyError):  # gone meanwhile: only were _CACHE changed unlocked
            _CACHE.move_to_end(key)
    return hit[0]


def _parse_cached(
    data: bytes, rel: str, held_to: Limits, sha256: str | None, identifier_keys: str | None
) -> list[Annotation]:
    """The annotations of a file, from the cache when it is there (:func:`parsed_before`). A
    worker holds at most ``limits.annotation_memory`` in the cache (four big files held four
    times the limit): before a file is read, the least recently used entries go until the read,
    estimated, fits beside what is left; after, the annotations are kept when they fit, and
    entries go until they do. A file under :data:`CACHE_MIN_BYTES` is kept only when it holds
    several slides' annotations (from :data:`CACHE_SHARED_MIN_BYTES` on)."""
    memory = _MemoryCheck(data)
    if len(data) < min(CACHE_MIN_BYTES, CACHE_SHARED_MIN_BYTES):
        return FileAnnotations(_parse(data, rel, memory)[0])
    key = (rel, len(data), sha256 or hashlib.sha256(data).hexdigest(), held_to, identifier_keys)
    hit = parsed_before(*key)
    if hit is not None:
        return hit
    if len(data) < CACHE_MIN_BYTES:  # kept only when several slides' items share it
        parsed, holds = _parse(data, rel, memory)
        result = FileAnnotations(parsed)
        return _kept(key, result, holds(), held_to.annotation_memory) if len(result) > 1 else result
    limit = held_to.annotation_memory
    need = memory.pieces_need()  # what a read in pieces is checked at (outlines lifted aside)
    room = _ROOM.set(need if need <= limit else None)  # made once the reader is known (_make_room)
    try:
        parsed, holds = _parse(data, rel, memory)
    finally:
        _ROOM.reset(room)
    return _kept(key, FileAnnotations(parsed), holds(), limit)  # its index of image names kept with it


_ROOM: contextvars.ContextVar[int | None] = contextvars.ContextVar("dqm_readers_room", default=None)
"""The estimate the parse cache is to make room for before the file under way is read (its
:func:`pieces_needed`), None once made or when there is none: made as the read begins, but for a
big JSON object naming COCO's two lists only once its reader is known, as a COCO file read in
pieces makes room at its own, often lesser, estimate (:func:`_read_pieces`). A file merely naming
them may be any format, and was let keep entries at the COCO estimate, past the limit."""


def _make_room(need: int | None = None) -> None:
    """The parse cache's least recently used entries out until a read estimated at ``need`` (by
    default the one :data:`_ROOM` holds, then made) fits beside them in ``limits.annotation_memory``."""
    if need is None:
        need = _ROOM.get()
        if need is None:
            return
    _ROOM.set(None)
    room = limits().annotation_memory - need
    if room >= 0:
        _evict(room)


def _kept(
    key: tuple[str, int, str, Limits, str | None], result: FileAnnotations, held: int, limit: int
) -> FileAnnotations:
    """``result`` (holding ``held`` bytes) put in the cache under ``key`` when it fits within
    ``limit``, the least recently used entries out until it does."""
    for ann in result:
        ann.document = None  # the parsed text is not kept alive by the cache
    if held <= limit:
        with _LOCK:
            _evict_locked(limit - held, CACHE_SIZE - 1)
            _CACHE[key] = (result, held)
    return result


def _evict(room: int, entries: int = CACHE_SIZE) -> None:
    """Least recently used entries out of the cache until it holds at most ``room`` bytes in at
    most ``entries`` entries."""
    with _LOCK:
        _evict_locked(room, entries)


def _evict_locked(room: int, entries: int) -> None:
    """:func:`_evict`, :data:`_LOCK` held by the caller."""
    held = sum(size for _, size in _CACHE.values())
    while _CACHE and (held > room or len(_CACHE) > entries):
        held -= _CACHE.popitem(last=False)[1][1]


def read_annotation(path: Path, rel: str) -> list[Annotation]:
    """Read one annotation file into the internal model, classes as written; never raises for
    bad content."""
    data, issue, _ = read_bytes(path)
    if issue is not None:
        return [failed(rel, "unknown", issue)]
    assert data is not None
    return parse_annotation(data, rel)


def within_limits(ann: Annotation, limits: Limits) -> Annotation:
    """The annotation cut to the profile's limits, each exceeded limit a ``LIMIT_EXCEEDED``
    issue naming it: lesions past ``lesions_per_file`` are dropped with what the reader met in
    them, an outline of more than ``vertices_per_lesion`` vertices keeps no rings (nothing is
    computed on it). What the reader met is reported for the first :data:`~dqm.readers.common.base.MAX_ISSUES_PER_CODE`
    issues of each code, the rest counted (:func:`_capped`).

    The input is not modified (parsed annotations may be shared by the parse cache).
    """
    issues: list[ReadIssue] = []
    lesions = ann.lesions
    read = ann.issues
    if len(lesions) > limits.lesions_per_file:
        # what the reader met in the lesions not checked is not reported either: 35 bytes a lesion
        # made two findings a lesion, whatever the limit (a million lesions, two million findings)
        dropped = {lesion.index for lesion in lesions[limits.lesions_per_file :]}
        trimmed = [
            _tally_without(i, dropped) if i.by_lesion else i
            for i in read
            if i.by_lesion or i.lesion is None or i.lesion not in dropped
        ]
        read = [i for i in trimmed if i is not None]
        issues.append(
            ReadIssue(
                "LIMIT_EXCEEDED",
                msg(
                    "{n} lesions is over limits.lesions_per_file = {limit}: "
                    "the ones after lesion {last} are not checked",
                    n=len(lesions),
                    limit=limits.lesions_per_file,
                    last=limits.lesions_per_file - 1,
                ),
                pointer=lesions[limits.lesions_per_file].pointer,
            )
        )
        lesions = lesions[: limits.lesions_per_file]
    kept = []
    for lesion in lesions:
        n = lesion.n_vertices
        if n > limits.vertices_per_lesion:
            issues.append(
                ReadIssue(
                    "LIMIT_EXCEEDED",
                    msg(
                        "{n} vertices is over limits.vertices_per_lesion = {limit}: the outline is not checked",
                        n=n,
                        limit=limits.vertices_per_lesion,
                    ),
                    pointer=lesion.pointer + "/geometry",
                    lesion=lesion.index,
                )
            )
            lesion = Lesion(
                lesion.index, lesion.pointer, lesion.raw_class, lesion.label, [], lesion.properties
            )
            lesion.outline_read = False
        kept.append(lesion)
    read = _capped(read, ann.n_values)
    if not issues and len(read) == len(ann.issues):
        return ann
    return dataclasses.replace(ann, lesions=kept, issues=[*read, *issues])


def _tally_without(issue: ReadIssue, dropped: set[int]) -> ReadIssue | None:
    """A reader's count split by lesion (:attr:`~dqm.model.ReadIssue.by_lesion`) without the parts
    of the ``dropped`` lesions: ``None`` when nothing is left, its figures, message and first
    pointer made again when some part went."""
    parts = tuple(part for part in issue.by_lesion if part[0] is None or part[0] not in dropped)
    if len(parts) == len(issue.by_lesion):
        return issue
    if not parts:
        return None
    lesion, _, _, where = parts[0]
    n = sum(part[1] for part in parts)
    return dataclasses.replace(
        issue,
        message=msg(
            "{n:,} more {code} in this file from here on (the first {shown:,} are reported one by one)",
            n=n,
            code=issue.code,
            shown=base.MAX_ISSUES_PER_CODE,
        ),
        pointer=where if where is not None else f"/lesions/{lesion}",
        lesion=lesion,
        counted=n,
        counted_values=sum(part[2] for part in parts) - 1,
        by_lesion=parts,
    )


def _shown(message: str, shown: int) -> str:
    """A count's ``message`` naming ``shown`` issues listed one by one (its ``shown``): the reader
    wrote the cap there, and ``lesions_per_file`` may have dropped some of those with their lesions."""
    if isinstance(message, Message) and "shown" in message.params and message.params["shown"] != shown:
        return Message(message.template, {**message.params, "shown": shown}, message.context)
    return message


def _capped(issues: list[ReadIssue], values: int) -> list[ReadIssue]:
    """``issues`` with at most :data:`~dqm.readers.common.base.MAX_ISSUES_PER_CODE` of each code, then one issue a code
    counting the rest, at the first of them. An issue that already counts others (a reader's own
    cap: the native reader counts the root's and each lesion's apart, so that the lesions past
    ``lesions_per_file`` take their counts with them) goes into that one issue too, its count
    kept whole.

    A counting issue names how many value slots the rest name that no issue kept names
    (``counted_values``): value-grain accuracy counts them as if they had been reported one by
    one, so a file of 1,500 bad values is not 1,001. Together they never pass the file's
    ``values`` slots, whatever its issues claim."""
    counts: dict[str, int] = {}
    kept: list[ReadIssue] = []
    rest: dict[str, list[ReadIssue]] = {}
    for issue in issues:
        seen = counts.get(issue.code, 0)
        if not issue.counted and seen < base.MAX_ISSUES_PER_CODE:
            counts[issue.code] = seen + 1
            kept.append(issue)
        else:
            rest.setdefault(issue.code, []).append(issue)
    if not rest:
        return kept
    named = {issue.pointer for issue in kept} | {more[0].pointer for more in rest.values()}
    budget = max(values - len(named), 0)
    out = kept
    for code, more in list(rest.items()):
        first = more[0]
        if len(more) == 1 and first.counted:  # a reader's one count, first served: its own words
            counted_values = min(first.counted_values, budget)
            budget -= counted_values
            out.append(
                dataclasses.replace(
                    first, message=_shown(first.message, counts.get(code, 0)), counted_values=counted_values
                )
            )
            del rest[code]
    for code, more in rest.items():
        first = more[0]
        slots = {issue.pointer for issue in more} - named
        named |= slots
        n = sum(issue.counted or 1 for issue in more)
        message = msg(
            "{n:,} more {code} in this file from here on (the first {shown:,} are reported one by one)",
            n=n,
            code=code,
            shown=counts.get(code, 0),
        )
        counted_values = min(len(slots) + sum(issue.counted_values for issue in more), budget)
        budget -= counted_values
        out.append(
            ReadIssue(
                code,
                message,
                pointer=first.pointer,
                lesion=first.lesion,
                counted=n,
                counted_values=counted_values,
            )
        )
    return out


@overload
def resolve_classes(
    annotations: Annotation, profile: Profile, institution: str | None = None, diagnosis: str | None = None
) -> Annotation: ...


@overload
def resolve_classes(
    annotations: list[Annotation],
    profile: Profile,
    institution: str | None = None,
    diagnosis: str | None = None,
) -> list[Annotation]: ...


def resolve_classes(
    annotations: Annotation | list[Annotation],
    profile: Profile,
    institution: str | None = None,
    diagnosis: str | None = None,
) -> Annotation | list[Annotation]:
    """The annotation(s) with every lesion's class name resolved to a class id of the profile.

    ``label`` becomes ``profile.resolve_class(raw_class, institution)``: a class id, name, alias
    or name in another language (``기저세포암``), else ``class_map``, where ``institution_class_map[institution]`` wins. The institution
    is the item's (its manifest row); without one, the file's own clinical block names it (a
    native file's ``clinical.institution``). A name that does not resolve gets ``None``.

    A label mask's values resolve through ``mask_values`` instead (:meth:`Profile.mask_class`);
    the 255 of a binary mask the profile does not map takes the class of the item's ``diagnosis``
    (its manifest row), when that names one.

    The input is not modified (parsed annotations may be shared by the parse cache): a copy is
    returned when any label changes.
    """
    if isinstance(annotations, list):
        return [_resolved(ann, profile, institution, diagnosis) for ann in annotations]
    return _resolved(annotations, profile, institution, diagnosis)


def _resolved(
    ann: Annotation, profile: Profile, institution: str | None, diagnosis: str | None
) -> Annotation:
    where = institution if institution and institution.strip() else ann.clinical.get("institution")

    def mask_class(raw: str | None, where: str | None) -> str | None:
        label = profile.mask_class(raw, where)
        if label is None and raw == str(mask.BINARY_VALUE) and diagnosis:
            return profile.resolve_class(diagnosis, where)
        return label

    resolve = mask_class if ann.format == mask.NAME else profile.resolve_class
    labels: dict[str | None, str | None] = {}  # a file repeats a few class names many times
    lesions = []
    changed = False
    for lesion in ann.lesions:
        raw = lesion.raw_class
        label = labels[raw] if raw in labels else labels.setdefault(raw, resolve(raw, where))
        if label != lesion.label:
            changed = True
            lesion = _relabelled(lesion, label)
        lesions.append(lesion)
    unmapped = _unmapped_values(ann, lesions) if ann.format == mask.NAME else []
    if unmapped:
        return dataclasses.replace(ann, lesions=lesions, issues=[*ann.issues, *unmapped])
    # lesions a store held (a file of many images) are built once here, not at each later walk
    return dataclasses.replace(ann, lesions=lesions) if changed or type(ann.lesions) is not list else ann


def _unmapped_values(ann: Annotation, lesions: list[Lesion]) -> list[ReadIssue]:
    """One ``MASK_VALUE_UNMAPPED`` issue per mask value the profile maps to no class, with its
    pixel and region counts."""
    regions: dict[str, int] = {}
    pixels: dict[str, int] = {}
    for lesion in lesions:
        if lesion.label is None and lesion.raw_class is not None:
            regions[lesion.raw_class] = regions.get(lesion.raw_class, 0) + 1
            pixels[lesion.raw_class] = lesion.properties.get(mask.PIXELS, 0)
    return [
        ReadIssue(
            "MASK_VALUE_UNMAPPED",
            msg(
                "pixel value {value} is not in the profile's mask_values: {pixels} pixels "
                "in {regions} region(s) have no class",
                value=value,
                pixels=pixels[value],
                regions=regions[value],
            ),
            f"/mask/{value}",
        )
        for value in sorted(regions, key=int)
    ]


_LESION_FIELDS = tuple(f.name for f in dataclasses.fields(Lesion))


def _relabelled(lesion: Lesion, label: str | None) -> Lesion:
    """A copy of the lesion with another label, field by field: ``dataclasses.replace`` costs
    2.5 times as much, three quarters of resolving a file of 5,000 lesions."""
    out = Lesion.__new__(Lesion)
    for name in _LESION_FIELDS:
        setattr(out, name, getattr(lesion, name))
    out.label = label
    return out
