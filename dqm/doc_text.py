"""The text of a document or archive a batch delivers beside the slides, for the identifier checks.

A Word or OpenDocument file is a ZIP of XML; a ZIP archive has a comment, member names and members;
a tar archive (plain or compressed), a 7-Zip or a RAR archive has member names; a PDF has an Info dictionary (author, title) and, where not compressed or compressed with Flate, the
strings its pages show. :func:`document_text` reads these with the standard library only, never
inflating more than the bound it is given (a zip bomb costs no more than that): what it cannot read
whole (a member past the bound, an encrypted file, a filter other than Flate, a PDF's text drawn in
a font's own codes, a member that is neither text nor an image of an office file) it says so, and
the check reports the file as not searched. Other documents and archives (:data:`UNREAD_SUFFIXES`:
a ``.doc``, an ``.alz``, a Hangul ``.hwp``) are not read at all: the check names them.
"""

from __future__ import annotations

import bz2
import gzip
import html
import lzma
import re
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple, cast

from dqm.archive_names import archive_names
from dqm.i18n import N_

MAX_DOCUMENT_BYTES = 4_000_000
"""Bytes read or inflated from one document at most (a zip bomb's member stops here, not searched
past it: its file is named as not searched)."""
OFFICE_SUFFIXES = frozenset({".docx", ".docm", ".dotx", ".xlsx", ".xlsm", ".pptx", ".odt", ".ods", ".odp"})
"""Office files that are a ZIP of XML: their XML members' text is read."""
ZIP_SUFFIXES = frozenset({".zip"})
"""Archives read by :mod:`zipfile`: comment, member names and text members."""
PDF_SUFFIXES = frozenset({".pdf"})
TAR_SUFFIXES = frozenset({".tar", ".tgz", ".tar.gz", ".tbz2", ".tar.bz2", ".txz", ".tar.xz"})
"""Tar archives (:func:`document_suffix`): their member names are read."""
NAMED_SUFFIXES = frozenset({".7z", ".rar"})
"""7-Zip and RAR archives: their member names are read (:mod:`dqm.archive_names`), never a member."""
DOCUMENT_SUFFIXES = OFFICE_SUFFIXES | ZIP_SUFFIXES | PDF_SUFFIXES | TAR_SUFFIXES | NAMED_SUFFIXES
"""Files :func:`document_text` reads."""
UNREAD_SUFFIXES = frozenset(
    {
        ".doc", ".dot", ".xls", ".ppt", ".hwp", ".hwpx", ".pages", ".numbers", ".key",
        ".gz", ".bz2", ".xz", ".zst", ".lz4", ".cab", ".eml", ".msg", ".sqlite", ".db",
        ".mdb", ".accdb", ".sav", ".dta", ".sas7bdat", ".parquet", ".feather", ".pkl", ".pickle", ".npy",
        ".npz", ".h5", ".hdf5", ".mat", ".alz", ".egg", ".zipx", ".iso", ".lzh", ".lha", ".arj",
        ".dicom",
    }
)  # fmt: skip
"""Documents, archives and data files that may hold identifiers and that dqm does not read: each
is named as not searched (a new dependency to read a ``.doc`` is not worth its risk).
ALZip's own ``.alz`` and ``.egg`` among them, and a split archive's parts (:func:`unread_kind`)."""
_SPLIT_PART = re.compile(r"\.(?:z|r|a)\d{2}|\.\d{3}")
"""A split archive's part: ``.z01`` (ZIP), ``.r00`` (RAR), ``.a00`` (ALZip), ``.7z.001`` and
``.zip.001`` (7-Zip)."""
DICOM_MAGIC_AT = 128
"""Where a DICOM file's ``DICM`` is (after its 128-byte preamble), whatever its name."""


def unread_kind(ext: str) -> bool:
    """Whether a file of extension ``ext`` (:func:`document_suffix`) is one dqm does not read
    (:data:`UNREAD_SUFFIXES`, or a split archive's part)."""
    return ext in UNREAD_SUFFIXES or _SPLIT_PART.fullmatch(ext) is not None


def is_dicom(fh: BinaryIO) -> bool:
    """Whether ``fh`` is a DICOM file (``DICM`` at byte 128: a scanner's ``IM0001``, no extension)."""
    fh.seek(DICOM_MAGIC_AT)
    return fh.read(4) == b"DICM"


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
        ".rdf",
    }
)
"""Members of an archive or office file whose text is read."""
IMAGE_MEMBER_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".emf", ".wmf", ".tif", ".tiff", ".svg", ".jfif"}
)
"""Members of an office file that are its pictures: not read (pixels), the rest of the file is."""

_TAG = re.compile(r"<(/?)([A-Za-z0-9_:.-]*+)[^<>]*+>")
"""A tag; ``[^<>]`` so a run of ``<`` costs one pass, not one a start (``[^>]`` scanned to the end
of the member from each ``<``: hours on 4 MB)."""
_RUN_PREFIXES = frozenset({"w", "a", "text"})
"""Word, DrawingML and OpenDocument text: their tags stand for nothing (a Word run splits
``900101-1234567`` into ``<w:t>9001</w:t><w:t>01-1234567</w:t>``) except :data:`_BREAKS`."""
_BREAKS = frozenset(
    {
        "w:p", "w:br", "w:cr", "w:tab", "w:tr", "w:tc", "text:p", "text:h", "text:tab", "text:s",
        "text:line-break", "text:list-item", "a:p", "a:br", "a:tab", "a:tc", "a:tr",
    }
)  # fmt: skip
"""Elements of :data:`_RUN_PREFIXES` that end a line, a word or a cell."""
_SHEET_RUN = frozenset(
    {
        "r",
        "t",
        "rPr",
        "b",
        "i",
        "u",
        "sz",
        "color",
        "rFont",
        "family",
        "scheme",
        "strike",
        "vertAlign",
        "charset",
    }
)
"""A spreadsheet's rich-text run (``<si><r><t>9001</t></r><r><t>01-…</t></r></si>``): joined; every
other tag of a spreadsheet, a property file or another XML (a cell, a shared string, an author)
is a boundary, so ``12`` in one cell and an identifier in the next stay apart."""


def _joins(name: str) -> bool:
    """Whether a tag named ``name`` stands for nothing in the text (else: a newline)."""
    prefix, colon, _ = name.partition(":")
    if colon:
        return prefix in _RUN_PREFIXES and name not in _BREAKS
    return name in _SHEET_RUN


_HTML_INLINE = frozenset(
    {
        "span", "a", "b", "i", "u", "em", "strong", "font", "sub", "sup", "small", "big", "s", "strike",
        "mark", "abbr", "code", "tt", "ins", "del", "cite", "q", "bdi", "bdo", "o:p",
    }
)  # fmt: skip
"""Inline HTML elements: joined (Word's HTML writes ``RRN <span>900101</span>-<span>1234567</span>``);
every other tag (a paragraph, a break, a cell, a list item) a newline."""


MARKUP_SUFFIXES = frozenset({".rtf", ".html", ".htm", ".xml", ".rels", ".rdf"})
"""Files and members whose text is markup: :func:`markup_text` reads it."""


def markup_text(data: bytes, ext: str, attributes: bool = True) -> bytes:
    """The text of a markup file or member (extension ``ext``) as bytes, whether it is delivered
    loose or inside a ZIP: an RTF's escapes read (:func:`rtf_text`), an HTML's tags dropped (the
    inline ones join, the rest break) and an XML's as an office member's (an ``.xml`` may be
    XHTML: its inline HTML tags join too), entities read, and (``attributes``: but in an office
    file, whose attributes are its machinery) the tags' attributes after the text, a line each
    (``<img alt="…">``, ``<patient name="…"/>``: searched raw before); any other, ``data`` as it
    is. Bytes that are not UTF-8 are kept as they were (a CP949 page is read as one by the caller)."""
    if ext == ".rtf":
        return rtf_text(data)
    if ext not in MARKUP_SUFFIXES:
        return data
    page = ext in (".html", ".htm")
    kept: list[str] = []

    def repl(m: re.Match[str]) -> str:
        name = m.group(2)
        if attributes and not m.group(1):
            attrs = m.group()[len(name) + 1 : -1].strip(" \t\r\n/?")
            if attrs:
                kept.append(attrs)
        if page:
            return "" if name.lower() in _HTML_INLINE else "\n"
        return "" if _joins(name) or (ext == ".xml" and name in _HTML_INLINE) else "\n"

    pieces: list[str] = []
    for markup, cdata in _cdata_split(data.decode("utf-8", errors="surrogateescape")):
        pieces.append(html.unescape(_TAG.sub(repl, markup)))
        pieces.append(cdata)  # a CDATA section's text, as it is (no tags, no entities in it)
    text = "".join(pieces)
    if kept:
        text = "\n".join([text, *(html.unescape(a) for a in kept)])
    return text.encode("utf-8", errors="surrogateescape")


def _cdata_split(text: str) -> list[tuple[str, str]]:
    """``text`` as (markup, the CDATA section after it) pairs: ``<![CDATA[…]]>`` holds text the
    tag pattern took for one tag (its ``900101-1234567`` dropped). Found with :meth:`str.find`, a
    pass in all (an unended section runs to the end, as a parser reads it)."""
    out: list[tuple[str, str]] = []
    pos = 0
    while (start := text.find("<![CDATA[", pos)) >= 0:
        end = text.find("]]>", start + 9)
        stop = len(text) if end < 0 else end
        out.append((text[pos:start], text[start + 9 : stop]))
        pos = len(text) if end < 0 else end + 3
    out.append((text[pos:], ""))
    return out


def _member_suffix(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    dot = base.rfind(".")
    return base[dot:].lower() if dot > 0 else ""


_OFFICE_BINARY_SUFFIXES = frozenset({".bin", ".odttf", ".ttf", ".otf", ".fntdata", ".sigs"})
"""Members of an office file that are its machinery, not its text: printer settings, embedded
fonts (``ObjectReplacements/``, an embedded object's picture, and ``Thumbnails/`` are pictures) (an ``embeddings/`` or ``oleObject`` ``.bin`` holds a document: named as not searched)."""


def _office_binary(name: str, ext: str) -> bool:
    """Whether an office file's member ``name`` is known machinery holding no text of the document
    (``mimetype``, a layout cache, a printer setting, a font, LibreOffice's settings, its
    thumbnail and an embedded object's picture in ``ObjectReplacements/``)."""
    lower = name.lower()
    if lower in ("mimetype", "layout-cache") or lower.startswith(
        ("configurations2/", "thumbnails/", "objectreplacements/")
    ):
        return True
    if ext not in _OFFICE_BINARY_SUFFIXES:
        return False
    return ext != ".bin" or "printersettings" in lower


MAX_ARCHIVE_MEMBERS = 100_000
"""Members of a ZIP or a tar archive read at most. :mod:`zipfile` reads a ZIP's whole central
directory at once, an object a member (a ZIP of a million empty members, 100 MB, took about 1 GB):
a ZIP whose directory, found as :mod:`zipfile` finds it (before or after CPython's CVE-2025-8291 fix),
is larger than :data:`MAX_ZIP_DIRECTORY` bytes or may hold more member headers than this is not
opened, and named as not searched."""
MAX_ZIP_DIRECTORY = 32 * 1024 * 1024
"""Bytes of a ZIP's central directory read at most (100,000 members of names 300 characters long)."""
_ZIP_CENTRAL = b"PK\x01\x02"
_ZIP_END = struct.Struct("<4s4H2LH")
"""The end of central directory record (22 bytes, then its comment)."""
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
"""The ZIP64 end record's locator (20 bytes, just before the end record)."""
_ZIP64_END = struct.Struct("<4sQ2H2L4Q")
"""The ZIP64 end record (56 bytes without its extensible data)."""
_ZIP_MAX_COMMENT = 1 << 16


class ZipEnd(NamedTuple):
    """A ZIP's end records as :mod:`zipfile` reads them: the directory's ``size`` and ``offset``
    (a ZIP64 record's where one is read: ``zip64``), the ``comment`` and the ``location`` the
    directory ends at (zipfile reads it from ``location - size``; the offset field is not used)."""

    size: int
    offset: int
    comment: bytes
    location: int
    zip64: bool


def _read_at(fh: BinaryIO, at: int, n: int) -> bytes:
    fh.seek(at)
    return fh.read(n)


def zip_end(fh: BinaryIO, fixed: bool) -> ZipEnd | None:
    """A ZIP's end records read as :mod:`zipfile` reads them (its ``_EndRecData``, private and not
    in every Python), before CPython's fix for CVE-2025-8291 (gh-139700, in 3.10 to 3.14's security
    releases) or after it (``fixed``); None where that zipfile finds none or refuses them (it says
    the file is no ZIP, spans disks or has a corrupt ZIP64 record). The end record is the last 22
    bytes where they are one without a comment, else the last ``PK\\x05\\x06`` in the last 64 KiB +
    22 bytes (a comment holding a fake one is read as zipfile reads it). A ZIP64 locator just before
    it leads to a ZIP64 record: before the fix, the 56 bytes before the locator, whatever the
    locator says, and the directory ends 76 bytes before the end record; after it, the record where
    the locator says (else just before the locator), refused unless the directory ends at it, and
    the directory ends at the record. A record that would start before the file is none (zipfile
    reads from byte 0 in memory, fails on a disk file: either reads no more than this)."""
    fh.seek(0, 2)
    filesize = fh.tell()
    if filesize < _ZIP_END.size:
        return None
    data = _read_at(fh, filesize - _ZIP_END.size, _ZIP_END.size)
    if data[:4] == b"PK\x05\x06" and data[-2:] == b"\0\0":
        location, comment = filesize - _ZIP_END.size, b""
    else:
        window = max(filesize - _ZIP_MAX_COMMENT - _ZIP_END.size, 0)
        data = _read_at(fh, window, filesize - window)
        found = data.rfind(b"PK\x05\x06")
        if found < 0 or len(data) - found < _ZIP_END.size:
            return None
        comment_size = _ZIP_END.unpack_from(data, found)[-1]
        comment = data[found + _ZIP_END.size : found + _ZIP_END.size + comment_size]
        location, data = window + found, data[found : found + _ZIP_END.size]
    size, offset = _ZIP_END.unpack(data)[5:7]
    end = ZipEnd(size, offset, comment, location, False)
    at = location - _ZIP64_LOCATOR.size
    if at < 0:
        return end
    sig, disk, reloff, disks = _ZIP64_LOCATOR.unpack(_read_at(fh, at, _ZIP64_LOCATOR.size))
    if sig != b"PK\x06\x07":
        return end
    if disk != 0 or disks > 1:
        return None  # "zipfiles that span multiple disks are not supported"
    at -= _ZIP64_END.size
    if not fixed:
        if at < 0:
            return end
        record = _ZIP64_END.unpack(_read_at(fh, at, _ZIP64_END.size))
        if record[0] != b"PK\x06\x06":
            return end
        return ZipEnd(record[-2], record[-1], comment, at, True)
    if reloff > at:
        return None  # "Corrupt zip64 end of central directory locator"
    place, data = reloff, _read_at(fh, reloff, _ZIP64_END.size)
    if data[:4] != b"PK\x06\x06" and reloff != at:
        place, data = at, _read_at(fh, at, _ZIP64_END.size)
    if data[:4] != b"PK\x06\x06":
        return None  # "Zip64 end of central directory record not found"
    record = _ZIP64_END.unpack(data)
    if record[-1] + record[-2] != reloff or record[1] + 12 != _ZIP64_END.size + at - place:
        return None  # "Corrupt zip64 end of central directory record"
    return ZipEnd(record[-2], record[-1], comment, place, True)


def _zip_members_bound(fh: BinaryIO) -> int | None:
    """How many members :mod:`zipfile` can read from a ZIP at most, before it reads them: its end
    records read as zipfile reads them, before and after CPython's CVE-2025-8291 fix
    (:func:`zip_end`), and the ``PK\\x01\\x02`` counted in the directory each reading reads (each
    member's header starts so; the counts the end records give, which zipfile never reads, are not
    trusted): the larger count, an upper bound under both. :data:`MAX_ARCHIVE_MEMBERS` + 1 for a
    directory larger than :data:`MAX_ZIP_DIRECTORY`; None where neither reading finds a directory
    (zipfile says it is no ZIP) or finds one starting before the file (it refuses it)."""
    windows = set()
    for fixed in (False, True):
        end = zip_end(fh, fixed)
        if end is not None and end.location - end.size >= 0:
            windows.add((end.location - end.size, end.size))
    if not windows:
        return None
    if max(size for _, size in windows) > MAX_ZIP_DIRECTORY:
        return MAX_ARCHIVE_MEMBERS + 1
    return max(_read_at(fh, start, size).count(_ZIP_CENTRAL) for start, size in windows)


def zip_text(
    fh: BinaryIO, limit: int, office: bool, inflated: list[int] | None = None
) -> tuple[str, str | None]:
    """A ZIP's comment, member names and text members (an office file's XML), inflating at most
    ``limit`` bytes in all; and why some of it was not read (None: all of it was). A ZIP that may
    hold more than :data:`MAX_ARCHIVE_MEMBERS` members (:func:`_zip_members_bound`) is not opened
    (its directory would be read whole). ``inflated``: what the batch's ZIP and PDF documents may
    still inflate (``inflated[0]``, less what this one inflated: :func:`document_text`)."""
    parts: list[str] = []
    room = _room(limit, inflated)  # members' bytes read or inflated
    unread: str | None = None
    try:
        bound = _zip_members_bound(fh)
        if bound is not None and bound > MAX_ARCHIVE_MEMBERS:
            return "", N_("more members than dqm reads in one archive")
        fh.seek(0)
        with zipfile.ZipFile(fh) as zf:
            if zf.comment:
                parts.append(loose_reading(zf.comment))
            infos = zf.infolist()
            left = limit
            if not office:
                names = "\n".join(_zip_name(i) for i in infos)
                if len(names) > left:  # 300,000 tile names would use the whole batch's budget
                    unread = unread or N_("past the bound read")
                    names = names[:left]
                left -= len(names)
                parts.append(names)
            for info in infos:
                ext = _member_suffix(info.filename)
                if info.is_dir() or (office and _office_binary(info.filename, ext)):
                    continue
                if ext not in TEXT_MEMBER_SUFFIXES:
                    if not (office and ext in IMAGE_MEMBER_SUFFIXES):
                        unread = unread or N_("a member that is not text")
                    continue
                if info.flag_bits & 0x1:
                    unread = unread or N_("an encrypted member")
                    continue
                if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                    # zipfile inflates a bzip2 or LZMA member a whole compressed block at a time,
                    # whatever is asked for (400 MB from 414 bytes): not opened
                    unread = unread or N_("a member compressed other than with Deflate")
                    continue
                want = min(left, room)
                if want <= 0:
                    with zf.open(info) as member:  # its directory size may lie: one byte read
                        if not member.read(1):
                            continue  # empty: nothing of it is past the bound
                    unread = unread or N_("past the bound read")
                    break
                with zf.open(info) as member:  # inflates as it is read: no more than asked for
                    data = member.read(want + 1)
                if len(data) > want:
                    unread = unread or N_("a member past the bound read")
                    data = data[:want]
                left -= len(data)
                room -= len(data)
                if inflated is not None:
                    inflated[0] -= len(data)
                # read as the same file delivered loose is: an RTF's escapes, an HTML's tags
                # and decoded as a loose file is: CP949 where bytes are not UTF-8 (ALZip, Notepad's ANSI)
                parts.append(loose_reading(markup_text(data, ext, attributes=not office)))
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError, OSError, ValueError):
        return "\n".join(parts), N_("not a readable ZIP file")
    return "\n".join(parts), unread


def _zip_name(info: zipfile.ZipInfo) -> str:
    """A member's name: without the UTF-8 flag (bit 11) :mod:`zipfile` reads it as CP437, but
    Windows Explorer and ALZip on a Korean Windows write CP949 there: its bytes read as UTF-8, else
    as CP949 (:data:`LEGACY_NAMES`, as a tar's), else as zipfile read them, so a Korean name is
    searched as Korean. From ``orig_filename``: ``filename`` is cut at a NUL (``scan.txt\\0`` and an
    RRN after it), and its NULs are shown as ``\\x00`` (the rest of the name searched as a word)."""
    name = info.orig_filename
    if not info.flag_bits & 0x800:
        raw = name.encode("cp437")  # zipfile's reading undone: CP437 maps each byte
        for codec in ("utf-8", LEGACY_NAMES):
            try:
                name = raw.decode(codec)
                break
            except UnicodeDecodeError:
                pass
    return name.replace("\x00", "\\x00 ")


def both_readings(data: bytes) -> str:
    """``data`` read as UTF-8 and, after it, as CP949 (:data:`LEGACY_NAMES`), bad bytes replaced
    and NULs dropped (UTF-16 without its mark)."""
    return "\n".join(data.decode(c, "replace").replace("\x00", "") for c in ("utf-8", LEGACY_NAMES))


def loose_reading(data: bytes) -> str:
    """``data`` read as a loose text file's bytes are (:func:`dqm.batch._refused_reading`): UTF-8,
    and where bytes were bad its CP949 reading after it (:func:`both_readings`): a ZIP's comment or
    text member written by ALZip or Notepad on a Korean Windows is searched as Korean."""
    text = data.decode("utf-8", "replace").replace("\x00", "")
    return both_readings(data) if "\ufffd" in text else text


_STREAM = re.compile(rb"stream\r?\n")
_LITERAL = re.compile(rb"\([^()]*+(?:\)|(?=\()|\Z)")
"""A literal string, ended by its ``)`` or, unbalanced, by the next ``(`` or the end: a match never
fails once started, so a run of 4 MB of ``(`` costs one pass, not one a start (an escaped ``\\)``
ends it early: its text is searched all the same)."""
_HEX_SHOWN = re.compile(
    rb"<(?!\s*+FE\s*+FF)[0-9A-Fa-f\s]{1,4096}+>\s*+(?:Tj|'|\"|\]\s*+TJ|-?[\d.]++\s*+[<(])"
)
"""A hex string a page shows (``<0012> Tj``, the last of a ``TJ`` array or one kerned before the
next) that is not UTF-16 (``<FEFF…>``, read): text in a font's own codes, which cannot be read
without its map."""
_HEX_UTF16 = re.compile(rb"<\s*+FE\s*+FF([0-9A-Fa-f\s]*+)>")
_STRING = re.compile(_LITERAL.pattern + rb"|" + _HEX_UTF16.pattern)
"""A literal or a UTF-16 hex string, in the order a page shows them: ``(900101-) Tj <FEFF0031…> Tj``
is one run of text (the hex strings were read in a second pass, never joined to a literal)."""
_ESCAPES = {
    b"n": b"\n",
    b"r": b"\r",
    b"t": b"\t",
    b"b": b"\b",
    b"f": b"\f",
    b"\n": b"",
    b"\r": b"",
    b"\r\n": b"",
}
"""A literal's escapes; a backslash before a line end continues the string (the line end dropped)."""
_JOINED_GAP = re.compile(rb"\s*+(?:Tj\s*+|(-?[\d.]{1,12}+)\s*+)?")
"""What lies between two strings of one run of text: nothing or a kerning number (``[(9001)-20(01…)]
TJ``), or a ``Tj`` that the next string's ``Tj`` follows with no move between."""
MAX_KERN = 250
"""A kerning number (thousandths of a text space unit) past which two strings of a ``TJ`` array are
two words (a space), not one kerned run."""


def _literal(raw: bytes) -> str:
    """A PDF literal string's text (escapes read; UTF-16 where it has the byte-order mark)."""
    body = raw[1:-1] if raw.endswith(b")") else raw[1:]
    body = re.sub(
        rb"\\(\r\n|[0-7]{1,3}|.)",
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


def _strings(data: bytes, room: int) -> tuple[list[str], int]:
    """The literal and UTF-16 hex strings of ``data`` in their order, ``room`` read at most (the
    strings of one run of text joined, a literal and a hex string alike); and how many were read
    (past ``room``: not all)."""
    out: list[str] = []
    run: list[str] = []  # the strings of one run of text, joined when it ends
    end = -1
    read = 0
    for m in _STRING.finditer(data):
        read += 1
        if read > room:
            break
        if m.group().startswith(b"("):
            text = _literal(m.group())
        else:
            try:
                text = bytes.fromhex(re.sub(rb"\s", b"", m.group(1)).decode("ascii")).decode(
                    "utf-16-be", "replace"
                )
            except ValueError:  # an odd number of digits: no string
                continue
        gap = data[end : m.start()] if end >= 0 and m.start() - end <= 32 else None
        joined = _JOINED_GAP.fullmatch(gap) if gap is not None else None
        if joined is None and run:
            out.append("".join(run))
            run = []
        elif joined is not None and joined.group(1) is not None:
            try:  # a positive number moves the next string back (tighter): never a space
                wide = -float(joined.group(1)) > MAX_KERN
            except ValueError:
                wide = True
            if wide:
                run.append(" ")  # [(a) -400 (b)] TJ: two words
        run.append(text)  # [(9001)-20(01-1234567)] TJ: one
        end = m.end()
    if run:
        out.append("".join(run))
    return out, read


def pdf_text(fh: BinaryIO, limit: int, inflated: list[int] | None = None) -> tuple[str, str | None]:
    """A PDF's strings (its Info dictionary, the text its pages show) from its first ``limit``
    bytes and its Flate streams inflated within ``limit`` bytes in all (and ``inflated[0]``, what
    the batch's ZIP and PDF documents may still inflate, less what this one inflated); and why
    some of it was not read (None: all of it was)."""
    data = fh.read(limit + 1)
    unread: str | None = N_("past the bound read") if len(data) > limit else None
    data = data[:limit]
    if b"/Encrypt" in data:
        return "", N_("encrypted")
    parts: list[str] = []
    left = _room(limit, inflated)
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
        if left <= 0:  # zlib reads a max_length of 0 as no limit at all
            unread = unread or N_("a stream past the bound read")
            continue
        inflater = zlib.decompressobj()
        try:
            out = inflater.decompress(body, left)
        except zlib.error:
            unread = unread or N_("a stream that does not inflate")
            continue
        if inflater.unconsumed_tail:
            unread = unread or N_("a stream past the bound read")
        left -= len(out)
        if inflated is not None:
            inflated[0] -= len(out)
        plain.append(out)
    plain.append(data[pos:])
    count = 0
    for chunk in plain:
        if _HEX_SHOWN.search(chunk):
            unread = unread or N_("text shown in a font's own codes")
        strings, read = _strings(chunk, MAX_STRINGS - count)
        parts.extend(strings)
        count += read
        if count > MAX_STRINGS:
            unread = unread or N_("past the bound read")
            break
    return "\n".join(p for p in parts if p.strip()), unread


MAX_TAR_READ = 64_000_000
"""Bytes of a tar archive read at most (and of all a batch's tar archives,
:data:`dqm.batch.MAX_TARS_READ`) (its headers, and in a compressed one the members' data
decompressed to get past them; a plain one's data is skipped by seeking): past them, its names are
not all read."""


TAR_DAMAGED = N_(
    "a damaged block at byte {at:,} was skipped; the names after it were read from the next whole header"
)
"""The reason a tar archive with a damaged block after a member was not all searched (``at``: where
the block starts)."""
TAR_DAMAGED_STOPPED = N_("a damaged block at byte {at:,}; the names after it were not searched")
"""The reason where the names after a damaged block were not read: no whole header after it (the
scan for one stopped at a block of zeros, the archive's end, or at the end of the data), or the
archive was read again by :mod:`tarfile` (:class:`_Fallback`), which ends an archive there."""


class _PastBound(Exception):
    """More than :data:`MAX_TAR_READ` bytes read from a tar archive."""


_EMPTY_READS = 2
"""Reads that find nothing tarfile is let make at the end of the data (a truncated archive's
next header, a member's last byte), past which it is stopped."""


class _Counted:
    """A file's reads held to ``left`` bytes (no read asks for more: a header claiming 2 GB of
    extended names costs the bound, not 2 GB); seeks, a plain tar's way past a member, are free."""

    def __init__(self, raw: BinaryIO | gzip.GzipFile | bz2.BZ2File | lzma.LZMAFile, left: int) -> None:
        self.raw = raw
        self.left = left
        # tarfile's stream reader seeks by reading, a block at a time, nothing past the end of the
        # data: where ``ends``, reads that find nothing end it (EOFError)
        self.ends = False
        self.empty = 0
        self.damaged: int | None = None
        """Where the first damaged block dqm's walker skipped starts (None: none)."""
        self.stopped: int | None = None
        """Where the damaged block starts after which no whole header was found (None: none)."""

    def read(self, n: int | None = -1) -> bytes:
        """At most ``n`` bytes; :class:`_PastBound` past the bound; ``EOFError`` at the third read
        that finds nothing where :attr:`ends`."""
        if n is None or n < 0 or n > self.left:
            n = self.left + 1
        data = self.raw.read(n)
        self.left -= len(data)
        if self.left < 0:
            raise _PastBound
        if not data and n and self.ends:
            self.empty += 1
            if self.empty > _EMPTY_READS:
                raise EOFError
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        """As the file's (a plain tar only: a compressed one is read as a stream)."""
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        """As the file's."""
        return self.raw.tell()


def tar_text(
    fh: BinaryIO, limit: int, reads: list[int] | None = None, damaged: list[int] | None = None
) -> tuple[str, str | None]:
    """A tar archive's member names (and a link's target name), plain or compressed with gzip,
    bzip2 or xz (known by its first bytes, whatever its name says), ``limit`` characters at most and
    :data:`MAX_TAR_READ` bytes read (and ``reads[0]``, what the batch's tars may still read, less
    what it read); never a member's data, never extracted, no link followed; and why some of it
    was not read (None: all of it was). Its headers are walked by dqm (:func:`_walk_tar`, as
    :mod:`tarfile` reads them, several times faster); one dqm leaves to tarfile (:class:`_Fallback`)
    has the archive read again by tarfile, from the start, with the same bound (each reading is
    bounded; ``reads[0]`` is charged the larger of the two: what is left of the bound cut a normal
    sparse archive 32 MB long), stopped at the end of the data. A damaged block after a member (a bad
    checksum, a number field that is no number, garbage) is skipped to the next whole header, as
    GNU tar does (tarfile ends the archive there, the names after it unsearched): the reason is
    :data:`TAR_DAMAGED` and where the block starts is appended to ``damaged``; where no whole header
    follows (a block of zeros reached first: the scan stops there, as GNU tar's at a lone zero block)
    or the archive was read again by tarfile, :data:`TAR_DAMAGED_STOPPED`, the names after it unsearched."""
    head = fh.read(6)
    names: list[str] = []
    bound = MAX_TAR_READ if reads is None else min(MAX_TAR_READ, max(reads[0], 0))
    counted = _Counted(fh, bound)
    read = 0
    try:
        unread = _tar_read(fh, head, counted, names, limit, True)
    except _Fallback:
        read = bound - max(counted.left, 0)  # dqm's walker's reading
        seen = counted.damaged  # tarfile ends the archive at the block the walker skipped: said so
        names.clear()
        counted = _Counted(fh, bound)
        counted.ends = True
        unread = _tar_read(fh, head, counted, names, limit, False)
        counted.stopped = seen
    if reads is not None:
        reads[0] -= max(read, bound - max(counted.left, 0))
    at = counted.stopped if counted.stopped is not None else counted.damaged
    if at is not None and unread is None:
        unread = TAR_DAMAGED_STOPPED if counted.stopped is not None else TAR_DAMAGED
    if at is not None and damaged is not None and unread in (TAR_DAMAGED, TAR_DAMAGED_STOPPED):
        damaged.append(at)
    return "\n".join(names), unread


def _tar_read(
    fh: BinaryIO, head: bytes, counted: _Counted, names: list[str], limit: int, own: bool
) -> str | None:
    """The names of the tar ``fh`` appended to ``names`` (read by dqm's walker where ``own``, else
    by tarfile), a compressed one decompressed as read; why not all (None: all)."""
    fh.seek(0)
    try:
        if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ")):
            # decompressed as read, at most what is asked (tarfile's own decompression is not bounded)
            with (
                gzip.GzipFile(fileobj=fh)
                if head.startswith(b"\x1f\x8b")
                else bz2.BZ2File(fh)
                if head.startswith(b"BZh")
                else lzma.LZMAFile(fh)
            ) as raw:
                counted.raw = raw
                return _tar_names(counted, True, names, limit, own)
        counted.raw = fh
        return _tar_names(counted, False, names, limit, own)
    except _PastBound:
        return N_("past the bound read")
    except (
        tarfile.TarError,
        _NotReadable,
        OSError,
        EOFError,
        zlib.error,
        lzma.LZMAError,
        ValueError,
        OverflowError,
        RecursionError,
    ):
        # OverflowError: a base-256 size of 2**80 seeked past in a file in memory (a real file: OSError);
        # RecursionError: tarfile reads a chain of GNU long-name or pax headers by recursion (the
        # walker does not; its fallback does)
        return N_("not a readable tar archive")
    except Exception:
        if own:  # dqm's walker: a fallback to tarfile, or a bug to see
            raise
        # tarfile's own failures on a malformed header (a GNU sparse header whose extension block is
        # cut: IndexError in every CPython): no tar, never an exception that stops the audit
        return N_("not a readable tar archive")


def _tar_names(fh: _Counted, stream: bool, names: list[str], left: int, own: bool = True) -> str | None:
    """Append the member names of the tar ``fh`` (read as a ``stream``, else seeking past each
    member's data; by dqm's walker where ``own``, else by tarfile) to ``names``, ``left``
    characters at most; why not all (None: all)."""
    members = _walk_tar(_TarStream(fh) if stream else fh, fh) if own else _tarfile_names(fh, stream)
    for count, (raw_name, raw_link) in enumerate(members, 1):
        if count > MAX_ARCHIVE_MEMBERS:
            return N_("more members than dqm reads in one archive")
        name = _name_text(raw_name)
        if raw_link:
            name = f"{name}\n{_name_text(raw_link)}"
        if len(name) > left:
            names.append(name[:left])
            return N_("past the bound read")
        names.append(name)
        left -= len(name) + 1
    return None


def _tarfile_names(fh: _Counted, stream: bool) -> Iterator[tuple[bytes, bytes]]:
    """Each member's name and link name as :mod:`tarfile` reads them (the bytes it read), each pax
    header checked first (:class:`_CheckedTarInfo`)."""
    raw = cast(BinaryIO, fh)
    with (
        tarfile.open(
            fileobj=raw, mode="r|", encoding="utf-8", errors="surrogateescape", tarinfo=_CheckedTarInfo
        )
        if stream
        else tarfile.open(
            fileobj=raw, mode="r:", encoding="utf-8", errors="surrogateescape", tarinfo=_CheckedTarInfo
        )
    ) as tf:
        while (info := tf.next()) is not None:
            yield (
                info.name.encode("utf-8", "surrogateescape"),
                info.linkname.encode("utf-8", "surrogateescape"),
            )
            tf.members.clear()  # type: ignore[attr-defined]  # names kept, not an object a member (untyped)


class _NotReadable(Exception):
    """Where :mod:`tarfile` raises ``ReadError`` (or ``StreamError``): not a readable tar archive."""


class _Fallback(Exception):
    """A header dqm's walker leaves to :mod:`tarfile` (a sparse file, a global or Solaris pax
    header, a pax record it does not read the way tarfile does, a negative size): read again, by
    tarfile, from the start."""


class _HeaderError(Exception):
    """tarfile's ``HeaderError``."""


class _EmptyHeader(_HeaderError):
    """No byte where a header should start."""


class _TruncatedHeader(_HeaderError):
    """Fewer than 512 bytes where a header should start."""


class _EndHeader(_HeaderError):
    """A block of zeros: the end of the archive."""


class _InvalidHeader(_HeaderError):
    """A bad checksum or a number field that is no number."""


class _BadPax(_InvalidHeader):
    """A pax header whose records are not framed as tarfile reads them: no tar, wherever it is
    (tarfile ends the archive there, first header or not: the names after it were unsearched)."""


class _SubsequentHeader(_HeaderError):
    """A header after a GNU long name or a pax header that is not one."""


_BLOCK = 512
_ZEROS = bytes(_BLOCK)
_STREAM_CHUNK = tarfile.RECORDSIZE
"""What tarfile's stream reader asks of the file at a time (its buffer size): read the same way,
a stream reaches :data:`MAX_TAR_READ` where tarfile would."""
_REGULAR = frozenset({b"0", b"\0", b"7", b"S"})
"""tarfile's ``REGULAR_TYPES``: their data follows their header."""
_SUPPORTED = _REGULAR | frozenset({b"1", b"2", b"3", b"4", b"5", b"6", b"L", b"K", b"x", b"g", b"X"})
"""tarfile's ``SUPPORTED_TYPES`` (and the pax header types, which tarfile lists apart and never
reaches the data of as a member's): a type not among them is read as a regular file's."""
_LEFT_TO_TARFILE = frozenset({b"g", b"X"})
_SIGNED = struct.Struct("148b8x356b")
_PAX_LENGTH = re.compile(rb"([0-9]{1,20}) ")
"""A pax record's length, as tarfile matches it since CPython's fix for CVE-2024-6232."""
_PAX_PLAIN_SIZE = re.compile(rb"[0-9]{1,30}")
_PAX_READ = frozenset({b"path", b"linkpath", b"size"})
"""The pax keywords that change a member's name, link name or where the next header starts."""


def _nti(field: bytes) -> int:
    """A header's number field, as tarfile's ``nti`` reads it (octal, or base-256 where its first
    byte is 0x80 or 0xff); :class:`_InvalidHeader` where tarfile's raises."""
    if field[0] in (0o200, 0o377):
        n = int.from_bytes(field[1:], "big")
        return n - 256 ** (len(field) - 1) if field[0] == 0o377 else n
    end = field.find(0)
    try:
        return int((field if end < 0 else field[:end]).decode("ascii").strip() or "0", 8)
    except ValueError:
        raise _InvalidHeader from None


def _nts(field: bytes) -> bytes:
    """A header's string field: up to its first NUL."""
    end = field.find(0)
    return field if end < 0 else field[:end]


def _tar_block(size: int) -> int:
    """``size`` rounded up to whole blocks, as tarfile's ``_block``."""
    blocks, remainder = divmod(size, _BLOCK)
    return (blocks + 1 if remainder else blocks) * _BLOCK


_CHECKED: dict[bytes, bool] = {}
"""The mode, uid, gid, device fields seen valid (mostly the same in every header of an archive)."""


def _tar_header(buf: bytes) -> tuple[bytes, bytes, bytes, int]:
    """A 512-byte header's type, name (its prefix joined), link name and size, checked as
    tarfile's ``TarInfo.frombuf`` checks it (each of its number fields, the checksum unsigned or
    signed); a sparse file's header is left to tarfile (:class:`_Fallback`)."""
    if len(buf) != _BLOCK:
        raise _TruncatedHeader if buf else _EmptyHeader
    if buf == _ZEROS:
        raise _EndHeader
    stored = _nti(buf[148:156])
    unsigned = sum(buf) - sum(buf[148:156]) + 256
    if stored != unsigned and stored != 256 + sum(_SIGNED.unpack_from(buf)):
        raise _InvalidHeader
    fixed = buf[100:124] + buf[329:345]
    if fixed not in _CHECKED:
        for at in (0, 8, 16, 24, 32):
            _nti(fixed[at : at + 8])
        if len(_CHECKED) > 1024:
            _CHECKED.clear()
        _CHECKED[fixed] = True
    _nti(buf[136:148])
    size = _nti(buf[124:136])
    kind = buf[156:157]
    if kind in _LEFT_TO_TARFILE or size < 0:
        raise _Fallback
    name = _nts(buf[0:100])
    if kind == b"S":  # an old GNU sparse member: its map's numbers checked as tarfile's, never kept
        for at in range(386, 482, 12):
            _nti(buf[at : at + 12])
        _nti(buf[483:495])
        return kind, name, _nts(buf[157:257]), size
    if kind == b"\0" and name.endswith(b"/"):
        kind = b"5"
    if kind == b"5":
        name = name.rstrip(b"/")
    prefix = _nts(buf[345:500])
    if prefix and kind not in (b"L", b"K"):
        name = prefix + b"/" + name
    if kind == b"5":
        name = name.rstrip(b"/")
    return kind, name, _nts(buf[157:257]), size


class _TarStream:
    """tarfile's stream reader (``_Stream``) over a decompressed tar: the file read
    :data:`_STREAM_CHUNK` bytes at a time, a seek forward a read; at the end of the data a seek
    stops (tarfile's goes on reading nothing, a block at a time: a size of 2**70 never ended)."""

    def __init__(self, fh: _Counted) -> None:
        self.fh = fh
        self.buf = b""
        self.at = 0
        self.pos = 0

    def read(self, size: int) -> bytes:
        """``size`` bytes (fewer at the end)."""
        if len(self.buf) - self.at < size:
            parts = [self.buf[self.at :]]
            have = len(parts[0])
            while have < size:
                data = self.fh.read(_STREAM_CHUNK)
                if not data:
                    break
                parts.append(data)
                have += len(data)
            self.buf = b"".join(parts)
            self.at = 0
        out = self.buf[self.at : self.at + size]
        self.at += len(out)
        self.pos += len(out)
        return out

    def tell(self) -> int:
        """Bytes read."""
        return self.pos

    def seek(self, pos: int) -> None:
        """Read on to ``pos`` (:class:`_NotReadable` backwards, as tarfile's ``StreamError``)."""
        if pos < self.pos:
            raise _NotReadable
        blocks, remainder = divmod(pos - self.pos, _STREAM_CHUNK)
        for _ in range(blocks):
            if len(self.read(_STREAM_CHUNK)) < _STREAM_CHUNK:
                return
        self.read(remainder)


def _tar_member(fh: _Counted | _TarStream, first: bytes | None = None) -> tuple[bytes, bytes, int]:
    """The next member's name, link name and where the member after it starts, as tarfile's
    ``TarInfo.fromtarfile`` reads them: GNU long names (``L``, ``K``) and pax headers (``x``:
    ``path``, ``linkpath``, ``size``) before a header apply to it, the last read first. A chain of
    them is read in a loop, not by recursion (tarfile's recursion ended in a ``RecursionError``).
    ``first``: the member's first header, already read (found past a damaged block)."""
    pending: list[tuple[bytes, bytes | dict[bytes, bytes]]] = []
    while True:
        try:
            block = fh.read(_BLOCK) if first is None else first
            first = None
            kind, name, link, size = _tar_header(block)
            if kind == b"x":  # a badly framed record: as a bad header (tarfile's InvalidHeaderError)
                pending.append((kind, _pax_records(fh.read(_tar_block(size)))))
                continue
        except _HeaderError:
            if pending:
                raise _SubsequentHeader from None
            raise
        if kind in (b"L", b"K"):
            pending.append((kind, _nts(fh.read(_tar_block(size)))))
        else:
            break
    if kind == b"S" and block[482]:
        _sparse_extensions(fh)
    data_at = fh.tell()
    after = data_at + _tar_block(size) if kind in _REGULAR or kind not in _SUPPORTED else data_at
    for head, value in reversed(pending):
        if isinstance(value, dict):
            if b"path" in value:
                name = value[b"path"].rstrip(b"/")
            if b"linkpath" in value:
                link = value[b"linkpath"]
            if b"size" in value:
                size = int(value[b"size"])
                after = data_at + _tar_block(size) if kind in _REGULAR or kind not in _SUPPORTED else data_at
        else:
            if head == b"L":
                name = value
            else:
                link = value
            if kind == b"5" and name.endswith(b"/"):
                name = name[:-1]
    return name, link, after


def _sparse_extensions(fh: _Counted | _TarStream) -> None:
    """Walk an old GNU sparse member's extension blocks (21 map entries each, a flag at byte 504
    saying another follows), each number checked as tarfile's ``_proc_sparse`` checks it, none kept:
    tarfile lists every entry (a 30 MB map, 1.3 million entries, took hundreds of MB); a cut block
    is no tar (tarfile's ``IndexError``)."""
    while True:
        block = fh.read(_BLOCK)
        if len(block) < _BLOCK:
            raise _NotReadable
        for at in range(0, 504, 12):
            _nti(block[at : at + 12])
        if not block[504]:
            return


def _pax_framed(data: bytes) -> Iterator[tuple[bytes, bytes, int, int]]:
    """A pax header's records (keyword, value, where the record starts and ends), framed as
    tarfile reads them since CPython's fix for CVE-2024-6232 (3.11.10, 3.12.6, 3.13; an older tarfile reads a badly framed one otherwise,
    in time and memory that grow with the square of its length): a length of 1 to 20 digits, 5 at
    least, within the header, a keyword, ``=``, a value and a line feed, until the header or its
    padding (a NUL) ends; else :class:`_BadPax`. In linear time."""
    pos = 0
    end = len(data)
    while pos < end and data[pos]:
        m = _PAX_LENGTH.match(data, pos)
        if m is None:
            raise _BadPax
        length = int(m.group(1))
        if length < 5 or pos + length > end:
            raise _BadPax
        last = pos + length - 1
        keyword, equals, value = data[m.end() : last].partition(b"=")
        if not keyword or not equals or data[last] != 0x0A:
            raise _BadPax
        yield keyword, value, pos, pos + length
        pos += length


def _pax_records(data: bytes) -> dict[bytes, bytes]:
    """A pax header's ``path``, ``linkpath`` and ``size`` records (a later record of a keyword
    wins; :func:`_pax_framed`); a record that tarfile reads otherwise than plainly (a character
    set, a sparse file's, a size that is not plain digits) is left to tarfile
    (:class:`_Fallback`)."""
    records: dict[bytes, bytes] = {}
    for keyword, value, _, _ in _pax_framed(data):
        if keyword == b"hdrcharset" or keyword.startswith(b"GNU.sparse"):
            raise _Fallback
        if keyword in _PAX_READ:
            records[keyword] = value
    if b"size" in records and not _PAX_PLAIN_SIZE.fullmatch(records[b"size"]):
        raise _Fallback
    return records


_PAX_DIGITS = re.compile(rb"[0-9]{65}")
"""A run of more digits than a pax header that tarfile reads is let hold: a tarfile older than
CPython's fix for CVE-2024-6232 searches the whole header for ``\\d+ hdrcharset=`` (and a sparse
file's for ``\\d+ GNU.sparse.offset=``), in time that grows with the square of each run's length
(80,000 digits: 15 s)."""


def _global_kept(keyword: bytes, value: bytes) -> bool:
    """Whether a global pax record is handed on to tarfile: only what names a member (``path``,
    ``linkpath``, ``hdrcharset``) and a ``size`` of plain digits. tarfile applies each global record
    to every later member, converting a number again each time and reading ``GNU.sparse.*`` ones
    again at each member's header: 50,000 ``GNU.sparse.kN`` keywords over 400 members took 4.6 s,
    a global ``GNU.sparse.map`` or an ``mtime`` of a megabyte of digits hours at the bounds (the
    review of session 30's texts4f2). dqm reads no times, owners or sparse maps."""
    if keyword in (b"path", b"linkpath", b"hdrcharset"):
        return True
    return keyword == b"size" and _PAX_PLAIN_SIZE.fullmatch(value) is not None


class _CheckedTarInfo(tarfile.TarInfo):
    """tarfile's member header, a pax header's records checked before tarfile reads them (where
    dqm's walker leaves an archive to tarfile): framed as :func:`_pax_framed` reads them and no run
    of more than 64 digits, else a bad header (tarfile's ``InvalidHeaderError``), so that an older
    tarfile's reading of them ends in linear time too; of a global header, only the records that
    name a member (:func:`_global_kept`) are handed on: tarfile applies (and copies) every global
    record to every later member, 100,000 keywords × 200 members took 6 s, the bounds' a few hours."""

    def _proc_pax(self, tf: tarfile.TarFile) -> tarfile.TarInfo:
        inner = tf.fileobj
        data = inner.read(self._block(self.size))  # type: ignore[union-attr, attr-defined]  # (untyped)
        try:  # the records walked, not listed: 8 MB of 5-byte records listed took 220 MB more
            if self.type == tarfile.XGLTYPE:  # tarfile applies each global record to every member
                data = b"".join(
                    data[start:end]
                    for key, value, start, end in _pax_framed(data)
                    if _global_kept(key, value)
                )
            else:
                for _ in _pax_framed(data):
                    pass
        except _BadPax:
            raise _NotReadable from None  # not tarfile's bad header: it would end the archive there
        if _PAX_DIGITS.search(data):
            raise _NotReadable
        tf.fileobj = _Replay(tf, inner, data)  # type: ignore[assignment]  # read as tarfile's reader
        return super()._proc_pax(tf)  # type: ignore[misc, no-any-return]  # (untyped)


class _Replay:
    """tarfile's reader, its next read answered with ``data`` (already read and checked), after
    which tarfile reads from its own reader again."""

    def __init__(self, tf: tarfile.TarFile, inner: object, data: bytes) -> None:
        self.tf = tf
        self.inner = inner
        self.data = data

    def read(self, n: int = -1) -> bytes:
        """``data`` (the size tarfile asks is the one read)."""
        self.tf.fileobj = self.inner  # type: ignore[assignment]  # tarfile's reader again
        return self.data

    def tell(self) -> int:
        """As tarfile's reader (past ``data``)."""
        return cast(int, self.inner.tell())  # type: ignore[attr-defined]


def _walk_tar(fh: _Counted | _TarStream, mark: _Counted | None = None) -> Iterator[tuple[bytes, bytes]]:
    """Each member's name and link name, as tarfile's ``TarFile.next`` lists them: a bad first
    header is no tar (:class:`_NotReadable`); a bad later one (a bad checksum, a number field that is
    no number, garbage) is skipped to the next block that is a whole header (:func:`_next_header`,
    as GNU tar does; tarfile ends the archive there, silently), where it starts kept in
    ``mark.damaged``; a badly framed pax header (:class:`_BadPax`) is no tar wherever it is (its
    records may name the member after it); a member's data that runs past the file's end is no tar."""
    offset = 0
    first: bytes | None = None
    while True:
        if first is None and offset != fh.tell():
            if offset == 0:
                return
            fh.seek(offset - 1)
            if not fh.read(1):
                raise _NotReadable
        try:
            name, link, after = _tar_member(fh, first)
        except _EndHeader:
            return
        except (_BadPax, _SubsequentHeader):
            raise _NotReadable from None
        except (_InvalidHeader, _EmptyHeader, _TruncatedHeader) as e:
            if offset == 0:
                raise _NotReadable from None
            if not isinstance(e, _InvalidHeader):
                return
            if mark is not None and mark.damaged is None:
                mark.damaged = offset
            found = _next_header(fh)
            if found is None:
                if mark is not None:
                    mark.stopped = offset
                return
            offset, first = found
            continue
        first = None
        offset = after
        yield name, link


def _next_header(fh: _Counted | _TarStream) -> tuple[int, bytes] | None:
    """The next block of ``fh`` that is a whole header (its checksum holding, its numbers numbers)
    and where it starts, read a block at a time (within the archive's read bound: :class:`_Counted`);
    None at the end of the data or at a block of zeros (the archive's end)."""
    while True:
        at = fh.tell()
        block = fh.read(_BLOCK)
        if len(block) < _BLOCK or block == _ZEROS:
            return None
        try:
            _tar_header(block)
        except _InvalidHeader:
            continue
        except _Fallback:
            pass
        return at, block


LEGACY_NAMES = "cp949"
"""The codec a tar member name that is not UTF-8 is read in (a tar made on a Korean Windows), as
every other delivered text is (:func:`dqm.batch._refused_reading`)."""


def _name_text(raw: bytes) -> str:
    """A member name's bytes read as UTF-8, else as CP949, its bad bytes replaced: a Korean name
    from a Korean Windows is searched, not only survived (tarfile's surrogates, which no text may
    hold, stopped the audit)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode(LEGACY_NAMES, "replace")


def document_suffix(path: str) -> str:
    """The extension :func:`document_text` knows a file by: ``.tar.gz``, ``.tar.bz2`` and
    ``.tar.xz`` whole, else the last (lower case)."""
    name = path.rsplit("/", 1)[-1].lower()
    for ext in (".tar.gz", ".tar.bz2", ".tar.xz"):
        if name.endswith(ext) and len(name) > len(ext):
            return ext
    dot = name.rfind(".")
    return name[dot:] if dot > 0 else ""


def _room(limit: int, inflated: list[int] | None) -> int:
    """Bytes a document may inflate: ``limit``, and what the batch's documents may still inflate."""
    return limit if inflated is None else max(0, min(limit, inflated[0]))


def document_text(
    fh: BinaryIO,
    ext: str,
    limit: int,
    tar_reads: list[int] | None = None,
    inflated: list[int] | None = None,
    damaged: list[int] | None = None,
) -> tuple[str, str | None]:
    """The text of a document or archive (:data:`DOCUMENT_SUFFIXES`, ``ext`` as
    :func:`document_suffix` gives it), reading or inflating at most ``limit`` bytes; and why some
    of it was not read (None: all of it was). ``tar_reads``: what the batch's tar archives may
    still read (:func:`tar_text`); ``inflated``: what the batch's ZIP and PDF documents may still
    inflate (a ZIP's members read, a PDF's streams inflated), less what this one inflated: 10,000
    documents of 4 MB of markup each were 40 GB inflated and parsed, for little text. ``damaged``:
    where a tar archive's damaged block starts (:data:`TAR_DAMAGED`), appended."""
    if ext in PDF_SUFFIXES:
        return pdf_text(fh, limit, inflated)
    if ext in TAR_SUFFIXES:
        return tar_text(fh, limit, tar_reads, damaged)
    if ext in NAMED_SUFFIXES:
        names: list[str] = []
        why = archive_names(fh, ext, names, inflated)  # its headers charged to the batch's documents
        text = "\n".join(names)
        if len(text) > limit:
            return text[:limit], why or N_("past the bound read")
        return text, why
    return zip_text(fh, limit, office=ext in OFFICE_SUFFIXES, inflated=inflated)


_RTF_TOKEN = re.compile(
    rb"(\\[\\{}])|((?:\\'[0-9a-fA-F]{2})++)|\\uc(\d{1,3}) ?|\\u(-?\d{1,5}) ?|\\f(\d{1,5}) ?"
    rb"|(\\plain(?![a-zA-Z]) ?)|([{}]++)"
)
"""What :func:`rtf_text` reads: an escaped ``\\\\``, ``\\{`` or ``\\}`` (a character, kept: ``\\\\u1234`` is
no ``\\u``), a run of ``\\'xx`` escapes, ``\\ucN``, ``\\uN``, a font change ``\\fN`` or ``\\plain`` (back
to the default font, ``\\deffN``), a run of groups' starts and ends; the rest is kept as it is."""
_RTF_UNIT = re.compile(rb"\\'[0-9a-fA-F]{2}|\\[a-zA-Z]{1,32}(?:-?\d{1,10})? ?|\\[^a-zA-Z']|[^\\{}]")
"""One unit of a ``\\uN``'s fallback (``\\ucN`` of them dropped): a ``\\'xx``, a control word with its
number and space, a control symbol (an escaped ``\\{`` or ``\\}`` among them: a character), a
character; a group's ``{`` or ``}`` ends it."""
_RTF_CODEPAGE = re.compile(rb"\\ansicpg(\d{3,5})")
_RTF_DEFAULT_FONT = re.compile(rb"\\deff(\d{1,5})")
_RTF_FONT = re.compile(rb"\\f(\d{1,5})((?:\\[a-zA-Z]{1,32}-?\d{0,10} ?)*+)")
_RTF_FONT_CHARSET = re.compile(rb"\\fcharset(\d{1,3})")
_RTF_CHARSETS = {
    128: "cp932", 129: "cp949", 130: "johab", 134: "gbk", 136: "big5", 161: "cp1253", 162: "cp1254",
    163: "cp1258", 177: "cp1255", 178: "cp1256", 186: "cp1257", 204: "cp1251", 222: "cp874", 238: "cp1250",
}  # fmt: skip
"""A font's ``\\fcharsetN`` and the code page its ``\\'xx`` escapes are in (Word on an English
system writes Korean in a ``\\fcharset129`` font of an ``\\ansicpg1252`` file)."""


def _rtf_font_table(data: bytes) -> bytes:
    """An RTF's font table, ``{\\fonttbl …}`` to the brace that ends it, however long (one with a
    hundred embedded fonts runs past its first 64 KiB); the first 64 KiB where it has none."""
    start = data.find(b"\\fonttbl")
    if start < 0:
        return data[:65536]
    depth = 1
    for m in _RTF_BRACES.finditer(data, start):
        if m.group(1) is None:
            continue  # an escaped brace: no group
        for i, c in enumerate(m.group(1)):
            depth += 1 if c == 0x7B else -1
            if depth == 0:
                return data[start : m.start() + i]
    return data[start:]


_RTF_BRACES = re.compile(rb"\\[\\{}]|([{}]++)")
"""A run of groups' starts and ends, or an escaped brace (no group)."""


def rtf_text(data: bytes) -> bytes:
    """An RTF file's bytes with its character escapes read, as UTF-8: ``\\'b1\\'e8`` in its font's
    code page (``\\fcharset``) or else the file's (``\\ansicpg``, CP949 where it names none),
    ``\\uN`` as the character it numbers, its ``\\ucN`` fallback units (one unless told; a
    ``\\'xx`` is one) dropped; Korean that WordPad or Word writes is never raw bytes."""
    head = data[:65536]  # the header: \ansicpg, \deff
    m = _RTF_CODEPAGE.search(head)
    codepage = f"cp{int(m.group(1))}" if m else "cp949"
    try:
        "".encode(codepage)
    except LookupError:
        codepage = "cp949"
    fonts: dict[int, str] = {}
    for f in _RTF_FONT.finditer(_rtf_font_table(data)):
        charset = _RTF_FONT_CHARSET.search(f.group(2))
        if charset and int(charset.group(1)) in _RTF_CHARSETS:
            fonts.setdefault(int(f.group(1)), _RTF_CHARSETS[int(charset.group(1))])
    deff = _RTF_DEFAULT_FONT.search(head)
    default_font = int(deff.group(1)) if deff else -1
    font = default_font
    uc = 1
    stack: list[tuple[int, int]] = []
    deeper = 0
    out: list[bytes] = []
    pos = 0
    while (m := _RTF_TOKEN.search(data, pos)) is not None:
        out.append(data[pos : m.start()])
        pos = m.end()
        escaped, run, skip, number, fnum, plain, brace = m.groups()
        if escaped is not None:  # a literal backslash or brace: no control word, no group
            out.append(escaped)
        elif plain is not None:  # \plain: the character formatting, the font with it, reset
            font = default_font
            out.append(plain)
        elif run is not None:
            raw = bytes.fromhex(run.replace(b"\\'", b"").decode("ascii"))
            out.append(raw.decode(fonts.get(font, codepage), errors="replace").encode("utf-8"))
        elif skip is not None:
            uc = int(skip)
        elif number is not None:
            n = int(number)
            if -32768 <= n < 65536:
                out.append(chr(n + 65536 if n < 0 else n).encode("utf-8", errors="replace"))
            for _ in range(
                uc
            ):  # the fallback for readers without Unicode: a \'xx, a control word, a character
                if (unit := _RTF_UNIT.match(data, pos)) is None:
                    break  # a group's start or end, or the end: the fallback ends there
                pos = unit.end()
        elif fnum is not None:
            font = int(fnum)
            out.append(m.group())  # kept as the text around it was
        else:  # a run of braces, read at once
            for c in brace:
                if c == 0x7B:
                    if len(stack) < 1000:  # 4 MB of "{" costs no stack of 4 M
                        stack.append((uc, font))
                    else:
                        deeper += 1
                elif deeper:
                    deeper -= 1
                elif stack:
                    uc, font = stack.pop()
            out.append(brace)
    out.append(data[pos:])
    return b"".join(out)
