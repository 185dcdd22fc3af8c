"""The text of a document or archive a batch delivers beside the slides, for the identifier checks.

A Word or OpenDocument file is a ZIP of XML; a ZIP archive has a comment, member names and members;
a PDF has an Info dictionary (author, title) and, where not compressed or compressed with Flate, the
strings its pages show. :func:`document_text` reads these with the standard library only, never
inflating more than the bound it is given (a zip bomb costs no more than that): what it cannot read
whole (a member past the bound, an encrypted file, a filter other than Flate, a PDF's text drawn in
a font's own codes, a member that is neither text nor an image of an office file) it says so, and
the check reports the file as not searched. Other documents and archives (:data:`UNREAD_SUFFIXES`:
a ``.doc``, a ``.7z``, a ``.tar.gz``, a Hangul ``.hwp``) are not read at all: the check names them.
"""

from __future__ import annotations

import html
import re
import zipfile
import zlib
from typing import BinaryIO

from dqm.i18n import N_

MAX_DOCUMENT_BYTES = 4_000_000
"""Bytes read or inflated from one document at most (a zip bomb's member stops here, not searched
past it: its file is named as not searched)."""
OFFICE_SUFFIXES = frozenset({".docx", ".docm", ".dotx", ".xlsx", ".xlsm", ".pptx", ".odt", ".ods", ".odp"})
"""Office files that are a ZIP of XML: their XML members' text is read."""
ZIP_SUFFIXES = frozenset({".zip"})
"""Archives read by :mod:`zipfile`: comment, member names and text members."""
PDF_SUFFIXES = frozenset({".pdf"})
DOCUMENT_SUFFIXES = OFFICE_SUFFIXES | ZIP_SUFFIXES | PDF_SUFFIXES
"""Files :func:`document_text` reads."""
UNREAD_SUFFIXES = frozenset(
    {
        ".doc", ".dot", ".xls", ".ppt", ".hwp", ".hwpx", ".pages", ".numbers", ".key", ".7z", ".rar",
        ".tar", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".lz4", ".cab", ".eml", ".msg", ".sqlite", ".db",
        ".mdb", ".accdb", ".sav", ".dta", ".sas7bdat", ".parquet", ".feather", ".pkl", ".pickle", ".npy",
        ".npz", ".h5", ".hdf5", ".mat",
    }
)  # fmt: skip
"""Documents, archives and data files that may hold identifiers and that dqm does not read: each
is named as not searched (a new dependency to read a ``.doc`` or a ``.7z`` is not worth its risk)."""
TEXT_MEMBER_SUFFIXES = frozenset(
    {
        ".xml",
        ".rels",
        ".txt",
        ".md",
        ".csv",
        ".tsv",
        ".json",
        ".yaml",
        ".yml",
        ".log",
        ".html",
        ".htm",
        ".rst",
        ".rtf",
    }
)
"""Members of an archive or office file whose text is read."""
IMAGE_MEMBER_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".emf", ".wmf", ".tif", ".tiff", ".svg", ".jfif"}
)
"""Members of an office file that are its pictures: not read (pixels), the rest of the file is."""

_TAG = re.compile(r"<(/?)([A-Za-z0-9_:.-]*)[^>]*>")
_BREAKS = frozenset(
    {"w:p", "w:br", "w:tab", "w:tr", "w:tc", "text:p", "text:h", "text:tab", "a:p", "a:br", "row", "c"}
)
"""XML elements that end a line or a cell: a space or newline stands for them, every other tag for
nothing (a Word run splits ``900101-1234567`` into ``<w:t>9001</w:t><w:t>01-1234567</w:t>``)."""


def _xml_text(data: bytes) -> str:
    """The character data of an XML member: tags dropped (a paragraph, break or cell a newline),
    entities read."""
    text = data.decode("utf-8", errors="replace")

    def repl(m: re.Match[str]) -> str:
        return "\n" if m.group(2) in _BREAKS else ""

    return html.unescape(_TAG.sub(repl, text))


def _member_suffix(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    dot = base.rfind(".")
    return base[dot:].lower() if dot > 0 else ""


def zip_text(fh: BinaryIO, limit: int, office: bool) -> tuple[str, str | None]:
    """A ZIP's comment, member names and text members (an office file's XML), inflating at most
    ``limit`` bytes in all; and why some of it was not read (None: all of it was)."""
    parts: list[str] = []
    unread: str | None = None
    try:
        with zipfile.ZipFile(fh) as zf:
            if zf.comment:
                parts.append(zf.comment.decode("utf-8", errors="replace"))
            infos = zf.infolist()
            if not office:
                parts.append("\n".join(i.filename for i in infos))
            left = limit
            for info in infos:
                ext = _member_suffix(info.filename)
                if info.is_dir():
                    continue
                if ext not in TEXT_MEMBER_SUFFIXES:
                    if not (office and ext in IMAGE_MEMBER_SUFFIXES):
                        unread = unread or N_("a member that is not text")
                    continue
                if info.flag_bits & 0x1:
                    unread = unread or N_("an encrypted member")
                    continue
                if left <= 0:
                    unread = unread or N_("past the bound read")
                    break
                with zf.open(info) as member:  # inflates as it is read: no more than asked for
                    data = member.read(left + 1)
                if len(data) > left:
                    unread = unread or N_("a member past the bound read")
                    data = data[:left]
                left -= len(data)
                parts.append(
                    _xml_text(data)
                    if ext in (".xml", ".rels", ".html", ".htm")
                    else data.decode("utf-8", "replace")
                )
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError, OSError, ValueError):
        return "\n".join(parts), N_("not a readable ZIP file")
    return "\n".join(parts), unread


_STREAM = re.compile(rb"stream\r?\n")
_LITERAL = re.compile(rb"\([^()]*+(?:\)|(?=\()|\Z)")
"""A literal string, ended by its ``)`` or, unbalanced, by the next ``(`` or the end: a match never
fails once started, so a run of 4 MB of ``(`` costs one pass, not one a start (an escaped ``\\)``
ends it early: its text is searched all the same)."""
_HEX_SHOWN = re.compile(rb"<[0-9A-Fa-f\s]{1,4096}+>\s*+(?:Tj|'|\"|\]\s*+TJ|-?[\d.]++\s*+[<(])")
"""A hex string a page shows (``<0012> Tj``, the last of a ``TJ`` array or one kerned before the
next): text in a font's own codes, which cannot be read without its map."""
_HEX_UTF16 = re.compile(rb"<\s*FE\s*FF([0-9A-Fa-f\s]*)>")
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _literal(raw: bytes) -> str:
    """A PDF literal string's text (escapes read; UTF-16 where it has the byte-order mark)."""
    body = raw[1:-1] if raw.endswith(b")") else raw[1:]
    body = re.sub(
        rb"\\([0-7]{1,3}|.)",
        lambda m: (
            bytes([int(m.group(1), 8) & 0xFF])
            if m.group(1)[:1].isdigit()
            else _ESCAPES.get(m.group(1), m.group(1))
        ),
        body,
        flags=re.S,
    )
    if body.startswith(b"\xfe\xff"):
        return body[2:].decode("utf-16-be", errors="replace")
    return body.decode("latin-1")


MAX_STRINGS = 200_000
"""Strings of a PDF read at most (4 MB of ``(`` is 4 million empty strings): past them, the file is
named as not all searched."""


def _strings(data: bytes, room: int) -> list[str]:
    """The literal and UTF-16 hex strings of ``data``, ``room`` at most."""
    out: list[str] = []
    for m in _LITERAL.finditer(data):
        if len(out) > room:
            return out
        out.append(_literal(m.group()))
    for m in _HEX_UTF16.finditer(data):
        if len(out) > room:
            return out
        digits = re.sub(rb"\s", b"", m.group(1))
        try:
            out.append(bytes.fromhex(digits.decode("ascii")).decode("utf-16-be", errors="replace"))
        except ValueError:
            continue
    return out


def pdf_text(fh: BinaryIO, limit: int) -> tuple[str, str | None]:
    """A PDF's strings (its Info dictionary, the text its pages show) from its first ``limit``
    bytes and its Flate streams inflated within ``limit`` bytes in all; and why some of it was not
    read (None: all of it was)."""
    data = fh.read(limit + 1)
    unread: str | None = N_("past the bound read") if len(data) > limit else None
    data = data[:limit]
    if b"/Encrypt" in data:
        return "", N_("encrypted")
    parts: list[str] = []
    left = limit
    pos = 0
    plain: list[bytes] = []
    while (m := _STREAM.search(data, pos)) is not None:
        head = data[max(0, m.start() - 512) : m.start()]
        end = data.find(b"endstream", m.end())
        if end < 0:
            end = len(data)
        plain.append(data[pos : m.start()])
        body = data[m.end() : end]
        pos = end + len(b"endstream")
        filters = re.findall(
            rb"/([A-Za-z0-9]+Decode)\b", head[head.rfind(b"<<") :] if b"<<" in head else head
        )
        if not filters:
            plain.append(body)
            continue
        if filters != [b"FlateDecode"]:
            if b"/Subtype/Image" not in head.replace(b" ", b"") and b"DCTDecode" not in filters:
                unread = unread or N_("a stream compressed other than with Flate")
            continue
        if b"/Subtype/Image" in head.replace(b" ", b""):
            continue  # pixels
        inflater = zlib.decompressobj()
        try:
            out = inflater.decompress(body, max(left, 0))
        except zlib.error:
            unread = unread or N_("a stream that does not inflate")
            continue
        if inflater.unconsumed_tail:
            unread = unread or N_("a stream past the bound read")
        left -= len(out)
        plain.append(out)
    plain.append(data[pos:])
    for chunk in plain:
        if _HEX_SHOWN.search(chunk):
            unread = unread or N_("text shown in a font's own codes")
        parts.extend(_strings(chunk, MAX_STRINGS - len(parts)))
        if len(parts) > MAX_STRINGS:
            unread = unread or N_("past the bound read")
            break
    return "\n".join(p for p in parts if p.strip()), unread


def document_text(fh: BinaryIO, ext: str, limit: int) -> tuple[str, str | None]:
    """The text of a document or archive (:data:`DOCUMENT_SUFFIXES`), reading or inflating at most
    ``limit`` bytes; and why some of it was not read (None: all of it was)."""
    if ext in PDF_SUFFIXES:
        return pdf_text(fh, limit)
    return zip_text(fh, limit, office=ext in OFFICE_SUFFIXES)
