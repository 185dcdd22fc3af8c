"""Multi-file slides: the files OpenSlide would open besides the slide, checked before it does.

Three formats OpenSlide reads are more than one file, and it opens the others by name:

- a Hamamatsu VMS/VMU slide is a key file (any name: OpenSlide tries every file that is no TIFF)
  whose ``ImageFile``, ``ImageFile(x,y)``, ``MapFile``, ``OptimisationFile`` and ``MacroImage``
  name its JPEG and map files;
- a MIRAX ``X.mrxs`` has a folder ``X/`` whose ``Slidedat.ini`` names its ``INDEXFILE`` and its
  data files ``FILE_0``, ``FILE_1``...;
- a DICOM slide (its magic at byte 128, whatever its name) makes OpenSlide open every file of its folder,
  hidden ones included, to find the rest of its series (those whose ``SeriesInstanceUID`` is its
  own: :func:`series_of` reads it as OpenSlide does, and :func:`slide_parts` names them).

OpenSlide joins a name to the slide's folder (``g_build_filename``: ``../`` climbs, a leading
``/`` is dropped) and opens what is there, following links. So ``ImageFile=../../other.jpg`` put
another file's pixels into the slide's thumbnails and its tiles into the probe, a link beside a
DICOM slide added an outside file's images to it, and a FIFO there (or as ``Slidedat.ini``, or
named by a VMS) blocked the run for ever: the probe's budget cannot stop an ``open`` that waits.

:func:`refused_reference` resolves each name as the operating system would (links first, then
``..``) and refuses the slide at the first that leaves the batch or is a special file; a name of
nothing is left to OpenSlide, whose error then says so. Nothing it reads is more than the small
key files OpenSlide itself reads first.

A TIFF is one file, but OpenSlide holds all of its directory chain and copies its texts as it
opens it, in one call no budget can stop: :func:`tiff_refusal` walks the chain first and refuses
a TIFF of too many directories or tags, or too long a text. :func:`not_to_open` is both checks,
for every place that gives a batch's slide to OpenSlide.

Each check reads the slide through a descriptor where one is given, and a TIFF is then handed to
OpenSlide as that descriptor's ``/proc/self/fd/N`` (:func:`openslide_name`): a batch rewritten
between the checks and the open (a slide swapped for one the checks refuse, or for a FIFO) cannot
put another file before OpenSlide. Its messages, which name the file by the name it was given,
are read back as the batch path (:func:`named_as`).
"""

from __future__ import annotations

import errno
import itertools
import os
import re
import stat
import struct
import sys
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from dqm.file_digests import current_run, racy, stat_key
from dqm.findings import clip
from dqm.i18n import N_, Message, msg
from dqm.output import not_utf8

if TYPE_CHECKING:  # numpy is imported where the tile arrays are read: dqm.results stays light
    import numpy as np

VMS_MAX_BYTES = 64 << 10
"""OpenSlide reads a VMS/VMU key file of at most this size (a larger file is not one)."""
SLIDEDAT_MAX_BYTES = 1 << 20
"""OpenSlide reads a MIRAX ``Slidedat.ini`` of at most this size."""
VMS_GROUPS = (b"[Virtual Microscope Specimen]", b"[Uncompressed Virtual Microscope Specimen]")
VMS_KEYS = re.compile(r"(imagefile|mapfile|optimisationfile|macroimage)", re.IGNORECASE)
"""Keys of a VMS/VMU file that name a file (matched at the start, in any case and any group: a
key OpenSlide does not read is checked all the same)."""
MIRAX_KEYS = re.compile(r"(indexfile|file_\d+)\s*$", re.IGNORECASE)
"""Keys of a MIRAX ``Slidedat.ini`` that name a file."""
DICOM_MAGIC = b"DICM"
DICOM_MAGIC_AT = 128
_ESCAPES = {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}


def refused_reference(path: Path, root: Path, fd: int | None = None, strict: bool = False) -> Message | None:
    """Why OpenSlide must not open the slide at ``path`` (inside the batch folder ``root``): the
    first file it would open besides it that is outside the batch or a special file; None when
    there is none (or the slide is a single file). ``fd``: a descriptor of the slide, read
    instead of ``path`` (the file OpenSlide will be given, :func:`openslide_name`). ``strict``:
    a DICOM slide's folder that cannot be listed for an error that says nothing of it
    (:func:`transient`: EIO, EMFILE...) raises that error, not a refusal (:func:`_dicom_folder`)."""
    name = str(path)
    real_root = os.path.realpath(root)
    try:
        with _reader(path, fd) as fh:  # the slide itself was jailed: a regular file in the batch
            head = fh.read(VMS_MAX_BYTES + 1)
            tiff = head[:4] in TIFF_MAGIC
    except NotRegular:  # swapped for one since: OpenSlide would wait on it for ever
        return msg(SPECIAL)
    except OSError:
        return None
    return (
        _sqlite_sidecar(name, real_root)
        or _mirax(name, real_root)
        or (_vms(name, head, real_root) if len(head) <= VMS_MAX_BYTES else None)
        or (_dicom_folder(path, real_root, strict) if _dicom(name, head) else None)
        or (_refused_macro(macro_name(name), real_root) if tiff else None)
    )


TRESTLE_SOFTWARE = b"MedScan"
"""The start of a Trestle TIFF's ``Software`` tag (its first directory's): OpenSlide's test."""
TRESTLE_MACRO = ".Full"
"""What OpenSlide puts in place of a Trestle slide's extension to open its macro image (a JPEG)."""
SOFTWARE = 305
SOFTWARE_KINDS = frozenset({1, 2, 7})
"""The TIFF types of a ``Software`` tag OpenSlide's Trestle test reads as text: ASCII, BYTE and
UNDEFINED (``_openslide_tifflike_get_buffer``, openslide-decode-tifflike.c). Not libtiff's reading
(which takes SBYTE, SHORT, LONG... too, values of 0 to 255): OpenSlide tells a Trestle slide by its
own TIFF reader, so a ``Software`` tag of SBYTE, SHORT or LONG ``MedScan`` is a generic TIFF to it
(``detect_format``), its ``X.Full`` never opened."""


def trestle_macro(name: str, fh: Any) -> str | None:
    """The name of the macro image OpenSlide opens (``fopen``) beside the slide ``name`` when the
    TIFF ``fh`` is a Trestle slide (:data:`TRESTLE_SOFTWARE`): the name up to its last dot
    (``get_associated_path``: the last dot of the whole name, a folder's too) followed by
    :data:`TRESTLE_MACRO`; None for any other file. OpenSlide opens it only when given the slide
    by its name, which the probe does for a Trestle slide (its macro is among the slide's
    associated images) and validity's reader for every slide."""
    return macro_name(name) if _tiff_software(fh).startswith(TRESTLE_SOFTWARE) else None


def macro_name(name: str) -> str:
    """The name OpenSlide opens a Trestle slide ``name``'s macro image by (:func:`trestle_macro`)."""
    dot = name.rfind(".")
    return (name[:dot] if dot >= 0 else name) + TRESTLE_MACRO


def _refused_macro(macro: str, real_root: str) -> Message | None:
    """The macro image OpenSlide opens beside a TIFF slide it reads as Trestle (:func:`macro_name`)
    that is a special file (a FIFO there waited for ever) or leads outside the batch. Looked at
    for every TIFF slide whatever its ``Software`` tag (a stat): what libtiff reads as that text
    (:data:`SOFTWARE_KINDS`, a tag given twice...) need not be what dqm reads, and a FIFO named so
    beside a TIFF slide is refused at no loss. Nothing there is nothing to refuse: the name is cut
    at the last dot of the whole path, so a slide without an extension in a folder named
    ``run.2024`` names ``run.Full`` above the batch, which OpenSlide would only fail to open."""
    if not os.path.lexists(_cut(macro)):
        return None
    why = _refused(macro, real_root)
    if why is None:
        return None
    return msg(
        "a file beside the slide, {ref}: {_why}; OpenSlide opens it as the macro image of a "
        "Trestle slide, so the slide is not opened",
        ref=clip(os.path.basename(_cut(macro)), 200),
        _why=why,
    )


def _tiff_software(fh: Any) -> bytes:
    """The first bytes (at most 64) of the ``Software`` tag of the first directory of the TIFF
    ``fh`` (classic or BigTIFF) as OpenSlide's Trestle test reads it: the *last* entry of that tag
    (OpenSlide keeps a directory's entries in a table by tag, each replacing the one before: a
    ``Software`` of ``Aperio`` followed by one of ``MedScan`` is a Trestle slide, which dqm read as
    Aperio), of a type in :data:`SOFTWARE_KINDS`; b"" when it has none or cannot be read. Up to
    :data:`MAX_TIFF_TAGS` entries are looked at (a TIFF of more is never opened: :func:`tiff_refusal`)."""
    fh.seek(0)
    head = fh.read(16)
    order = {b"II": "<", b"MM": ">"}.get(head[:2])
    if order is None or len(head) < 16:
        return b""
    (version,) = struct.unpack(order + "H", head[2:4])
    if version == 42:
        offset, count_fmt, field, inline = struct.unpack(order + "I", head[4:8])[0], "H", "HHI", 4
    elif version == 43:
        offset, count_fmt, field, inline = struct.unpack(order + "Q", head[8:16])[0], "Q", "HHQ", 8
    else:
        return b""
    entry = 4 + struct.calcsize(field[2]) + inline
    if not _seek(fh, offset):
        return b""
    raw = fh.read(struct.calcsize(count_fmt))
    if len(raw) < struct.calcsize(count_fmt):
        return b""
    (entries,) = struct.unpack(order + count_fmt, raw)
    raw = fh.read(min(entries, MAX_TIFF_TAGS) * entry)
    last = None
    for k in range(0, len(raw) - entry + 1, entry):
        if struct.unpack_from(order + "H", raw, k)[0] == SOFTWARE:
            last = k
    if last is None:
        return b""
    _, kind, n = struct.unpack_from(order + field, raw, last)
    if kind not in SOFTWARE_KINDS:
        return b""
    value = raw[last + 4 + struct.calcsize(field[2]) : last + entry]
    if n <= inline:
        return value[:n]
    (at,) = struct.unpack(order + ("I" if inline == 4 else "Q"), value)
    return fh.read(min(n, 64)) if _seek(fh, at) else b""


def _mirax(name: str, real_root: str) -> Message | None:
    """A MIRAX ``X.mrxs``'s ``X/Slidedat.ini`` and the files it names. OpenSlide reads the slide
    as MIRAX only when that file is there, else tries the other formats: the callers check those
    too, whatever the name."""
    if not name.endswith(".mrxs"):  # OpenSlide's test, case and all
        return None
    folder = name[: -len(".mrxs")]
    why = _refused(os.path.join(folder, "Slidedat.ini"), real_root)
    if why is not None:
        return _named("Slidedat.ini", why)
    data = _head(os.path.join(folder, "Slidedat.ini"), SLIDEDAT_MAX_BYTES)
    return _first_refused(folder, _key_values(data, MIRAX_KEYS), real_root)


def _vms(name: str, head: bytes, real_root: str) -> Message | None:
    """The files a VMS/VMU key file names (any file OpenSlide cannot parse as a TIFF may be one:
    TIFF magic is not enough to skip it)."""
    if not any(g in head for g in VMS_GROUPS):
        return None
    return _first_refused(os.path.dirname(name), _key_values(head, VMS_KEYS), real_root)


def _dicom(name: str, head: bytes) -> bool:
    """Whether OpenSlide may read the slide as DICOM: its magic at byte 128 (a file that is a TIFF
    too is skipped only when its TIFF parses, which is not known here) or a ``.dcm`` name."""
    return head[DICOM_MAGIC_AT : DICOM_MAGIC_AT + 4] == DICOM_MAGIC or name.lower().endswith(".dcm")


SQLITE_SIDECARS = ("-journal", "-wal", "-shm")
"""Files SQLite opens beside a database: OpenSlide's Sakura driver opens every slide that is no
TIFF as SQLite, which looks for a hot journal (and a WAL) by name."""


def _sqlite_sidecar(name: str, real_root: str) -> Message | None:
    """``<slide>-journal``, ``-wal`` or ``-shm`` that is a special file or leads outside the batch
    (a FIFO there blocked SQLite's open for ever). Checked for every slide: a file with TIFF magic
    whose TIFF does not parse goes to SQLite too."""
    for suffix in SQLITE_SIDECARS:
        why = _refused(name + suffix, real_root)
        if why is not None:
            return msg(
                "a file beside the slide, {ref}: {_why}; OpenSlide opens the slide as an SQLite "
                "database, which opens that file, so the slide is not opened",
                ref=clip(os.path.basename(name) + suffix, 200),
                _why=why,
            )
    return None


MAX_TIFF_IFDS = 10_000
"""Image directories (pages) a TIFF slide may have. OpenSlide keeps every directory of a TIFF in
memory as it opens it (about 480 bytes each, tags aside): a file of a million tiny directories (18
MB) took 485 MB to open, and ten million would take 5 GB. Slides have tens (a pyramid, its label
and macro); a fluorescence stack, hundreds."""
MAX_TIFF_TAGS = 200_000
"""Tags a TIFF slide may have in all its directories (entries: each one is read here, and OpenSlide
holds them). Directories may overlap, so a file of 786 KB can declare 65,535 tags in each of
thousands of them: without this bound, reading them would take minutes. Slides have hundreds."""
MAX_TIFF_TEXT_BYTES = 32 << 20
"""Bytes a text tag (ImageDescription, Software...) of a TIFF slide may declare. OpenSlide copies
each text into its properties, some twice (``tiff.ImageDescription``, ``openslide.comment``), and
dqm reads them: a 100 MB description took the audit to 925 MB. Slides' texts are kilobytes; a
Philips TIFF's XML with its label and macro in base64, a few megabytes."""
MAX_TIFF_VALUE_BYTES = 64 << 20
"""Bytes the tags of a TIFF slide may declare in all (each its count times its type's size; bytes
that several tags point at counted once for each), the strip and tile offsets and byte counts
aside (libtiff reads no more of them than the image has strips or tiles), unless the file holds
them (:func:`_held`: each tag's within its end and no hole of a sparse file, and the sum within
its size and, where ``SEEK_HOLE`` raises, the blocks it has on disk). libtiff reads a tag's
value whole, an unknown tag's too, as does OpenSlide's TIFF reader, once for each tag whatever bytes it points at: a 16 KB
sparse slide of 512 MiB whose tag 65000 declares 2^28 SHORTs took the probe 4.4 s of CPU and
1.6 GB (one whose Software tag, text, declares 2^28 SHORTs: 3.7 s and 596 MB); 15 tags of 70 MiB
each pointing at the same 70 MiB of a 74 MB file, 1.3 GB; 10 tags of 60 MiB each (under the
bound one by one) in holes of a 196 KB file, 798 MB and 7.4 s. Slides' largest others are NDPI's
restart-marker offsets, megabytes; a plain TIFF saved by Photoshop keeps its layers in tag
37724, tens of megabytes that the file holds: read, as the file's own bytes (an NDPI's value
offsets are not followed: over the bound, it is refused)."""
ASCII = 2
"""The TIFF field type of text."""
TEXT_TAGS = frozenset({269, 270, 271, 272, 285, 305, 306, 315, 316, 337, 33432})
"""The tags libtiff reads as text, whatever type the file gives them (DocumentName,
ImageDescription, Make, Model, PageName, Software, DateTime, Artist, HostComputer, TargetPrinter,
Copyright): stored as SHORTs or LONGs they are read as bytes, each value cut to one, so a
``Software`` of 2^28 SHORTs is 512 MiB read and 256 MiB of text."""
TYPE_BYTES = {
    **dict.fromkeys((1, 2, 6, 7), 1),
    **dict.fromkeys((3, 8), 2),
    **dict.fromkeys((4, 9, 11, 13), 4),
    **dict.fromkeys((5, 10, 12, 16, 17, 18), 8),
}
"""Bytes a value of each TIFF field type takes (a type not here: libtiff skips the tag)."""
STRILE_TAGS = frozenset({273, 279, 324, 325})
"""StripOffsets, StripByteCounts, TileOffsets, TileByteCounts."""


class NotRegular(OSError):
    """The slide at a path is a special file (a FIFO, a socket, a device)."""


GONE_ERRNOS = frozenset(
    {
        errno.ENOENT,  # nothing there
        errno.ENOTDIR,  # a folder above made a file
        errno.ELOOP,  # a loop of links
        errno.ENAMETOOLONG,  # the name now too long (links lengthening it)
        errno.EACCES,  # made unreadable
        errno.EPERM,
        errno.ENXIO,  # a socket, or a device with nothing behind it
        errno.ENODEV,  # a device
        errno.EISDIR,  # a folder
    }
)
"""The errors opening or reading a file by its path that say the path no longer leads to a regular
file that can be read (gone, replaced by something else, made unreadable): answered the same however
often asked. Any other (EIO, EMFILE, ENFILE, ENOMEM, EAGAIN, EINTR, ETIMEDOUT, ESTALE: an NFS
handle gone stale, which a new lookup of the name may find again...) may pass: nothing is known of
the file. A special file found by its type (:class:`NotRegular`) is gone too."""


def transient(exc: OSError) -> bool:
    """Whether ``exc`` says nothing of the file it was raised for (not :data:`GONE_ERRNOS`, not
    :class:`NotRegular`): to be asked again, never taken for the file being gone."""
    return not isinstance(exc, NotRegular) and exc.errno not in GONE_ERRNOS


def _reader(path: Path, fd: int | None) -> BinaryIO:
    """The slide read from its start: through a duplicate of ``fd`` where one is given (its own
    offset: ``fd`` is left as it was), else opened at ``path`` without waiting (a FIFO's open
    waits for a writer for ever) and refused (:class:`NotRegular`) unless a regular file."""
    if fd is None:
        own = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        try:
            mode = os.fstat(own).st_mode
            if stat.S_ISDIR(mode):  # no slide: OpenSlide's own error says so, as before
                raise IsADirectoryError(errno.EISDIR, "a folder")
            if not stat.S_ISREG(mode):
                raise NotRegular(errno.EINVAL, "not a regular file")
        except OSError:
            os.close(own)
            raise
        return os.fdopen(own, "rb")
    fh = os.fdopen(os.dup(fd), "rb")
    fh.seek(0)
    return fh


TIFF_MAGIC = (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")
"""A classic TIFF's and a BigTIFF's first four bytes, in either byte order."""


def openslide_name(path: Path, fd: int) -> str:
    """The name to give OpenSlide for the slide at ``path`` that ``fd`` holds open: the descriptor's
    own ``/proc/self/fd/N`` where the slide is one TIFF file (OpenSlide then reads no other file for
    it and looks at no name: DICOM's magic at byte 128, or a ``.dcm`` name, makes it read the
    slide's folder), so that OpenSlide opens the file the checks before it read, whatever ``path``
    names by then (a file swapped in mid-run, a FIFO); else ``path``. Its messages name the slide
    by this name: :func:`named_as` gives ``path`` back."""
    own = f"/proc/self/fd/{fd}"
    try:
        head = os.pread(fd, DICOM_MAGIC_AT + 4, 0)
    except OSError:
        return str(path)
    single = head[:4] in TIFF_MAGIC and not _dicom(str(path), head)
    return own if single and os.path.exists(own) else str(path)


def named_as(text: str, name: str, path: Path) -> str:
    """``text`` with the name OpenSlide was given (:func:`openslide_name`) read as ``path``."""
    if name == str(path):
        return text
    return re.sub(re.escape(name) + r"(?!\d)", lambda _: str(path), text)


def tiff_refusal(path: Path, fd: int | None = None) -> Message | None:
    """Why OpenSlide must not open the TIFF at ``path``: more than :data:`MAX_TIFF_IFDS` image
    directories or :data:`MAX_TIFF_TAGS` tags in all, a text tag (of any type) of more than
    :data:`MAX_TIFF_TEXT_BYTES`, or tags declaring more than :data:`MAX_TIFF_VALUE_BYTES` in all
    that the file does not hold (the chain is walked up to those limits, each directory's entries
    read, no value); None for a TIFF within them, a chain that loops or breaks (OpenSlide says
    why) or no TIFF at all."""
    try:
        with _reader(path, fd) as fh:
            walked = _walk(fh, MAX_TIFF_IFDS, MAX_TIFF_TAGS)
            values = walked[1] if walked else []
            total = sum(size for _, size, _ in values)
            unheld = total > MAX_TIFF_VALUE_BYTES and not _held(fh.fileno(), values, total)
    except OSError:
        return None
    if walked is None:
        return msg(
            "the TIFF has more than {ifds:,} image directories (pages) or {tags:,} tags in all: not "
            "opened (OpenSlide holds every one in memory)",
            ifds=MAX_TIFF_IFDS,
            tags=MAX_TIFF_TAGS,
        )
    (tag, size), _ = walked
    if size > MAX_TIFF_TEXT_BYTES:
        return msg(
            "the TIFF's tag {tag} declares {size:,} bytes of text, over {limit:,}: not opened (OpenSlide "
            "copies its texts into memory several times)",
            tag=tag,
            size=size,
            limit=MAX_TIFF_TEXT_BYTES,
        )
    if unheld:
        largest = max(values, key=lambda value: value[1])
        return msg(
            "the TIFF's tags declare {size:,} bytes of values in all (tag {tag}: {largest:,}), over "
            "{limit:,}, that the file does not hold (past its end, in a hole of a sparse file, or more "
            "than its bytes on disk): not opened (libtiff reads each tag's values whole into memory, "
            "bytes that several tags point at once for each)",
            size=total,
            tag=largest[0],
            largest=largest[1],
            limit=MAX_TIFF_VALUE_BYTES,
        )
    return None


TILE_TAGS = frozenset({256, 257, 273, 277, 278, 279, 284, 322, 323, 324, 325})
"""ImageWidth, ImageLength, StripOffsets, SamplesPerPixel, RowsPerStrip, StripByteCounts,
PlanarConfiguration, TileWidth, TileLength, TileOffsets, TileByteCounts: what
:func:`tiles_past_end` reads of each directory (a stripped one's strips are its tiles)."""
MAX_TILES_LOOKED = 1 << 26
"""Tiles whose offset and byte count :func:`tiles_past_end` compares with the file's size, in all
directories together (8 bytes each read, 16 in a BigTIFF: 1 GiB at most, in chunks of
:data:`TILES_CHUNK`); a slide of more (2^26 tiles of 256 pixels a side: 4.4 · 10^12 pixels) has
the rest unlooked at. Slides have up to a few million."""
TILES_CHUNK = 1 << 20
"""Tiles read at once (16 MiB of a BigTIFF's offsets and byte counts)."""
_TILE_ITEMS = {3: "u2", 4: "u4", 16: "u8"}
"""The types of tile offsets and byte counts libtiff reads (SHORT, LONG, LONG8), as numpy items."""


@dataclass(frozen=True, slots=True)
class TilesPastEnd:
    """The tiles of one tiled directory (page) of a TIFF whose bytes run past the file's end."""

    page: int
    """The directory's place in the chain (0: the first)."""
    size: tuple[int, int]
    """Its image's width and height: the OpenSlide level of that size is the one read blank."""
    past: int
    """How many of its tiles' offset plus byte count run past the file's end."""
    tiles: int
    """How many tiles it has (its tile offsets and byte counts looked at)."""
    first: int
    """The first such tile's index (row by row, as the TIFF numbers them)."""
    unindexed: int = 0
    """How many of its tiles' offsets or byte counts lie past the file's end themselves (its
    TileOffsets or TileByteCounts array cut short, or pointing beyond it): libtiff fails on the
    page when it loads them: OpenSlide refuses the slide ("Invalid TIFF"), or, where libtiff
    loads the page's arrays only when it reads the page, opens it and fails on that level when it
    reads it. They are the last ones (the first is tile ``tiles``), and not among :attr:`tiles`."""
    total: int = 0
    """How many tiles its offsets and byte counts are for: its image's, by its size and tile size
    (fewer where the arrays hold fewer entries). :attr:`tiles` plus :attr:`unindexed` where every
    tile was looked at; more where the probe's budget stopped the look first."""
    strips: bool = False
    """Whether the directory is stored in strips, not tiles (an Aperio or Leica slide's label and
    macro images): its "tiles" are its strips, and OpenSlide fails on one past the end when it
    reads that associated image (libtiff: "Read error on strip"), where a tile is read blank."""


def tiles_past_end(fd: int, limit: int = MAX_TILES_LOOKED) -> list[TilesPastEnd]:
    """The tiled directories of the TIFF ``fd`` (classic or BigTIFF; none for an NDPI or no TIFF),
    and the stripped ones (a label or macro image: its strips taken as tiles, :attr:`TilesPastEnd.strips`),
    some of whose tiles' bytes run past the file's end: a byte count of 2^63, an offset beyond it.
    OpenSlide reads such a tile as a missing one, painted transparent with no error, so a slide
    whose tile index is corrupt opens and reads blank in places. A tile of byte count 0 is not
    one: OpenSlide paints it transparent by design (an Aperio scanner leaves out empty tiles so).
    A directory whose tile arrays themselves run past the end is one too (``unindexed``). See
    :func:`tiles_looked_at`."""
    return tiles_looked_at(fd, limit).found


@dataclass(frozen=True, slots=True)
class TilesLooked:
    """What :func:`tiles_looked_at` found and did."""

    found: list[TilesPastEnd]
    """The directories some of whose tiles run past the file's end."""
    looked: int
    """Tiles whose offset and byte count were compared with the file's size, in all."""
    read: int
    """Tiles whose offset and byte count were read from the file (not from the entries)."""
    cut: bool
    """Whether ``limit`` (the probe's budget) left tiles of some directory unlooked at."""


def tiles_looked_at(fd: int, limit: int = MAX_TILES_LOOKED) -> TilesLooked:
    """:func:`tiles_past_end`'s directories, and how many tiles were looked at in all. The chain
    is walked as :func:`tiff_refusal` walks it; a directory's offsets and counts are read in bulk
    (:data:`TILES_CHUNK` at once, as many as its image has tiles: libtiff reads no more), each
    directory on its own: one whose arrays cannot be read (a pointer of 2^64 - 1) is passed over,
    the others still looked at. Directories that point at the same arrays (a hostile file's
    thousand pages) share one look; the tiles read from the file are at most ``limit`` (what the
    probe's budget leaves), :data:`MAX_TILES_LOOKED` and a quarter of its size (a tile's offset
    and byte count take 4 bytes at least, so a slide's own arrays never reach it). Cost: 10^6
    tiles, about 30 ms. The tiles whose entries lie past the end are counted, not read."""
    try:
        with os.fdopen(os.dup(fd), "rb") as fh:  # its offset is fd's: wherever a read left it
            fh.seek(0)
            order = {b"II": "<", b"MM": ">"}.get(fh.read(2))
            fh.seek(0)
            pages: list[dict[int, tuple[int, int, bytes]]] = []
            if order is None or _walk(fh, MAX_TIFF_IFDS, MAX_TIFF_TAGS, pages) is None:
                return TilesLooked([], 0, 0, False)
        end = os.fstat(fd).st_size
    except (OSError, ValueError, OverflowError, struct.error):
        return TilesLooked([], 0, 0, False)
    out: list[TilesPastEnd] = []
    own = min(MAX_TILES_LOOKED, end // 4)
    budget, looked, cut = min(own, max(limit, 0)), 0, False
    seen: dict[tuple[Any, ...], _Page | None] = {}
    for k, page in enumerate(pages):
        arrays = tuple(page.get(tag) for tag in sorted(TILE_TAGS))
        if arrays in seen:
            found = seen[arrays]
        else:
            try:
                found, read = _page_past_end(fd, order, page, end, budget)
            except (OSError, ValueError, OverflowError, struct.error):
                found, read = None, 0
            seen[arrays] = found
            budget -= read
            cut = cut or (found is not None and found.short and limit < own)
        if found is None:
            continue
        looked += found.tiles
        if found.past or found.unindexed:
            out.append(
                TilesPastEnd(
                    k,
                    found.size,
                    found.past,
                    found.tiles,
                    found.first,
                    found.unindexed,
                    found.total,
                    found.strips,
                )
            )
    return TilesLooked(out, looked, min(own, max(limit, 0)) - budget, cut)


@dataclass(frozen=True, slots=True)
class _Page:
    """What :func:`_page_past_end` found of one directory (:class:`TilesPastEnd`'s fields)."""

    past: int
    tiles: int
    first: int
    size: tuple[int, int]
    unindexed: int
    short: bool
    """Whether the budget left some of its tiles unlooked at."""
    total: int
    strips: bool


def _page_past_end(
    fd: int, order: str, page: dict[int, tuple[int, int, bytes]], end: int, budget: int
) -> tuple[_Page | None, int]:
    """What one directory's entries (:func:`_walk`'s) hold past the end, or None where it is no
    tiled image libtiff would read (a tag missing or of another type or count, a tile of no
    size); and how many tiles were read from the file (not from the entries' own fields),
    ``budget`` at most."""
    strips = 322 not in page and 323 not in page and 324 not in page
    if strips:  # a strip is a tile as wide as the image, RowsPerStrip tall (all of it by default)
        number: dict[int, int] = {tag: _one(order, *page[tag]) for tag in (256, 257) if tag in page}
        if len(number) == 2 and number[257] > 0:
            number[322] = number[256]
            number[323] = min(_one(order, *page[278]), number[257]) if 278 in page else number[257]
        arrays = (273, 279)
    else:
        number = {tag: _one(order, *page[tag]) for tag in (256, 257, 322, 323) if tag in page}
        arrays = (324, 325)
    if len(number) < 4 or any(tag not in page for tag in arrays) or min(number.values()) <= 0:
        return None, 0
    samples = _one(order, *page[277]) if 277 in page else 1
    planes = samples if 284 in page and _one(order, *page[284]) == 2 else 1
    w, h, tw, th = number[256], number[257], number[322], number[323]
    tiles = -(-w // tw) * -(-h // th) * max(planes or 1, 1)
    (okind, ocount, ofield), (ckind, ccount, cfield) = page[arrays[0]], page[arrays[1]]
    if okind not in _TILE_ITEMS or ckind not in _TILE_ITEMS:
        return None, 0
    import numpy as np

    odt, cdt = np.dtype(order + _TILE_ITEMS[okind]), np.dtype(order + _TILE_ITEMS[ckind])
    inline = ocount * odt.itemsize <= len(ofield) and ccount * cdt.itemsize <= len(cfield)
    total = min(tiles, ocount, ccount)  # fewer entries than tiles: libtiff refuses the page
    held = min(total, _within(order, ofield, odt, ocount, end), _within(order, cfield, cdt, ccount, end))
    tiles = held if inline else min(held, max(budget, 0))
    past, first, done = 0, -1, 0
    while done < tiles:
        n = min(TILES_CHUNK, tiles - done)
        offsets = _items(fd, order, ofield, odt, ocount, done, n, end)
        counts = _items(fd, order, cfield, cdt, ccount, done, n, end)
        n = min(len(offsets), len(counts))
        if n == 0:  # the arrays themselves past the end: libtiff fails on them (OpenSlide says so)
            break
        offsets, counts = offsets[:n].astype(np.uint64), counts[:n].astype(np.uint64)
        bad = (counts > 0) & ((counts > end) | (offsets > np.uint64(end) - np.minimum(counts, end)))
        if first < 0 and bad.any():
            first = done + int(np.argmax(bad))
        past += int(np.count_nonzero(bad))
        done += n
    return _Page(past, done, first, (w, h), total - held, done < held, total, strips), 0 if inline else tiles


def _within(order: str, field: bytes, dt: np.dtype[Any], count: int, end: int) -> int:
    """How many of an entry's ``count`` values of type ``dt`` lie within a file of ``end`` bytes:
    all where they are in its value ``field``, else those before the end from the offset it holds."""
    if count * dt.itemsize <= len(field):
        return count
    (at,) = struct.unpack(order + ("Q" if len(field) == 8 else "I"), field)
    return min(count, max(0, end - at) // dt.itemsize)


def _one(order: str, kind: int, count: int, field: bytes) -> int:
    """The first number of an entry held in its value field (SHORT, LONG or LONG8; 0 otherwise)."""
    fmt = {3: "H", 4: "I", 16: "Q"}.get(kind)
    if fmt is None or count < 1 or struct.calcsize(fmt) > len(field):
        return 0
    return int(struct.unpack_from(order + fmt, field)[0])


def _items(
    fd: int, order: str, field: bytes, dt: np.dtype[Any], count: int, start: int, n: int, end: int
) -> np.ndarray[Any, Any]:
    """Items ``start`` to ``start + n`` of an entry's ``count`` values of type ``dt``: in its value
    ``field`` where they fit, else at the offset it holds (fewer where the file of ``end`` bytes
    ends first; none where they start past it, a pointer of 2^64 - 1 too)."""
    import numpy as np

    size = count * dt.itemsize
    if size <= len(field):
        data = field[start * dt.itemsize : (start + n) * dt.itemsize]
    else:
        (at,) = struct.unpack(order + ("Q" if len(field) == 8 else "I"), field)
        if at + start * dt.itemsize >= end:
            return np.empty(0, dt)
        data = os.pread(fd, n * dt.itemsize, at + start * dt.itemsize)
    return np.frombuffer(data[: len(data) // dt.itemsize * dt.itemsize], dt)


def _held(fd: int, values: list[tuple[int, int, int | None]], total: int) -> bool:
    """Whether the file ``fd`` holds the ``total`` bytes that ``values`` (``(tag, bytes, offset)``,
    offset None: not known) declare: each tag's end within it and no hole of a sparse file among
    its bytes (``SEEK_HOLE``), and ``total`` (bytes several tags point at, once for each) within
    its size; the blocks it has on disk are looked at only where ``SEEK_HOLE`` raises (compressed
    file systems, btrfs or ZFS, count compressed blocks, and some FUSE ones none, so a dense file's
    blocks may be fewer than its bytes). Cost: a stat, and a seek a tag (``fd``'s offset moves)."""
    st = os.fstat(fd)
    if total > st.st_size:
        return False
    holes = True  # whether SEEK_HOLE tells holes here
    for _, size, offset in values:
        if offset is None or offset + size > st.st_size:
            return False
        try:
            if holes and os.lseek(fd, offset, os.SEEK_HOLE) < offset + size:
                return False
        except (OSError, AttributeError):  # no SEEK_HOLE here: the blocks on disk cover the sum
            holes = False
    return holes or total <= st.st_blocks * 512


NDPI_TAG = 65420
"""Hamamatsu's tag: a classic TIFF is read as NDPI when the 8 bytes at offset 4, taken as the first
directory's offset, lead to a directory of NDPI's layout that has it (OpenSlide's test)."""


def _walk(
    fh: Any, max_ifds: int, max_tags: int, tiles: list[dict[int, tuple[int, int, bytes]]] | None = None
) -> tuple[tuple[int, int], list[tuple[int, int, int | None]]] | None:
    """``(tag, bytes)`` of the text tag (:data:`TEXT_TAGS`, or any of the ASCII type) that declares
    the most bytes in the TIFF chain of ``fh`` (classic, NDPI or BigTIFF; ``(0, 0)``: none or no
    TIFF), and ``(tag, bytes, offset)`` of each tag whose values are not in its entry, text or
    not, :data:`STRILE_TAGS` aside (``offset``: where its values are, None in an NDPI, whose
    offsets' high bits lie elsewhere); or None when the chain has more than
    ``max_ifds`` directories or ``max_tags`` tags in all (the walk stops there). The walk goes on as
    OpenSlide's (openslide-decode-tifflike.c): through directories of no entry, to a loop, an
    offset of 0 or a directory that cannot be read whole. ``tiles``, given: each directory's
    :data:`TILE_TAGS` entries are appended to it, ``{tag: (type, count, value field)}`` (none
    for an NDPI, whose offsets' high bits lie elsewhere)."""
    head = fh.read(16)
    order = {b"II": "<", b"MM": ">"}.get(head[:2])
    if order is None or len(head) < 8:
        return (0, 0), []
    (version,) = struct.unpack(order + "H", head[2:4])
    ndpi = False
    if version == 42:
        (offset,) = struct.unpack(order + "Q", head[4:12]) if len(head) >= 12 else (0,)
        ndpi = _ndpi_directory(fh, order, offset)
        count_fmt, field, next_fmt = "H", "HHII", "Q" if ndpi else "I"
        offset = offset if ndpi else struct.unpack(order + "I", head[4:8])[0]
    elif version == 43 and len(head) == 16:
        offset, count_fmt, field, next_fmt = struct.unpack(order + "Q", head[8:16])[0], "Q", "HHQQ", "Q"
    else:
        return (0, 0), []
    count_size, next_size = struct.calcsize(count_fmt), struct.calcsize(next_fmt)
    entry = 20 if version == 43 else 12  # tag, type, count, then the value or its offset
    inline = 8 if version == 43 else 4  # values of up to these bytes are in the entry
    seen: set[int] = set()
    text, values, tags = (0, 0), [], 0
    while offset and offset not in seen:
        if len(seen) == max_ifds:
            return None
        if not _seek(fh, offset):  # OpenSlide's fails too
            break
        raw = fh.read(count_size)
        if len(raw) < count_size:
            break
        (entries,) = struct.unpack(order + count_fmt, raw)
        tags += entries
        if tags > max_tags:
            return None
        raw = fh.read(entries * entry)
        if len(raw) < entries * entry:
            break
        page: dict[int, tuple[int, int, bytes]] = {}
        for k in range(0, len(raw), entry):
            tag, kind, n, at = struct.unpack_from(order + field, raw, k)
            if tag in TILE_TAGS and tag not in page:  # libtiff keeps a repeated tag's first entry
                page[tag] = (kind, n, raw[k + entry - inline : k + entry])
            size = n * TYPE_BYTES.get(kind, 0)
            if (kind == ASCII or tag in TEXT_TAGS) and size > text[1]:
                text = (tag, size)
            if size > inline and tag not in STRILE_TAGS:
                values.append((tag, size, None if ndpi else at))
        if tiles is not None and not ndpi:
            tiles.append(page)
        seen.add(offset)
        raw = fh.read(next_size)  # right after the entries (NDPI's 4-byte extensions follow it)
        if len(raw) < next_size:
            break
        (offset,) = struct.unpack(order + next_fmt, raw)
    return text, values


ORIENTATION = 274
"""The TIFF (and EXIF) Orientation tag: 1 the stored frame, 2-8 turned or mirrored for display."""
MAX_FIRST_PAGE_ENTRIES = 4096
"""Entries of a TIFF's first directory :func:`tiff_orientation` reads at most (a slide's has a few dozen)."""


def unturned(image: Any) -> Any:
    """``image`` (a Pillow image just opened, or just moved to another frame), kept as its file
    stores it: Pillow 13 turns a TIFF by its Orientation tag when it loads its pixels (as
    ``ImageOps.exif_transpose``; older ones, and every other format, do not). The tag is dropped
    from the image's EXIF (which that turn reads) and the stored size
    restored, so that a mask and its image, both TIFF or not, are read in the frame they are
    stored in and compared as stored. A Pillow that does not turn is left untouched."""
    stored = getattr(image, "_tile_size", None)  # Pillow 13's TIFF: its size before the turn
    if getattr(image, "format", None) != "TIFF" or stored is None:
        return image
    try:
        exif = image.getexif()
        if 0x0112 in exif:
            del exif[0x0112]
            image._size = stored
    except Exception:  # a damaged directory: its read says why
        pass
    return image


def tiff_orientation(fh: BinaryIO) -> int | None:
    """The Orientation tag (:data:`ORIENTATION`, a SHORT) of the first page of the TIFF ``fh``
    (classic, NDPI or BigTIFF, either byte order), read from its directory's entries alone; None
    where it has none, or is no TIFF, or its first directory cannot be read."""
    try:
        fh.seek(0)
        head = fh.read(16)
        order = {b"II": "<", b"MM": ">"}.get(head[:2])
        if order is None or len(head) < 8:
            return None
        (version,) = struct.unpack(order + "H", head[2:4])
        if version == 43 and len(head) == 16:
            (at,), count_fmt, entry = struct.unpack(order + "Q", head[8:16]), "Q", 20
        elif version == 42:
            (at,), count_fmt, entry = struct.unpack(order + "I", head[4:8]), "H", 12
        else:
            return None
        if not at or not _seek(fh, at):
            return None
        raw = fh.read(struct.calcsize(count_fmt))
        if len(raw) < struct.calcsize(count_fmt):
            return None
        (entries,) = struct.unpack(order + count_fmt, raw)
        raw = fh.read(min(entries, MAX_FIRST_PAGE_ENTRIES) * entry)
    except (OSError, ValueError, OverflowError, struct.error):
        return None
    for k in range(0, len(raw) - entry + 1, entry):
        tag, kind = struct.unpack_from(order + "HH", raw, k)
        if tag == ORIENTATION:  # libtiff keeps a repeated tag's first entry
            (count,) = struct.unpack_from(order + ("Q" if entry == 20 else "I"), raw, k + 4)
            field = raw[k + (12 if entry == 20 else 8) : k + entry]
            fmt = _INTEGER_KINDS.get(kind)
            if fmt is None or count < 1 or struct.calcsize(fmt) > len(field):
                return None  # a RATIONAL, ASCII, empty one, or a LONG8 in a classic TIFF's entry
            return int(struct.unpack_from(order + fmt, field)[0])
    return None


_INTEGER_KINDS = {1: "B", 6: "b", 3: "H", 8: "h", 4: "I", 9: "i", 16: "Q", 17: "q"}
"""The struct format of each TIFF integer type (BYTE, SBYTE, SHORT, SSHORT, LONG, SLONG, LONG8,
SLONG8): libtiff, Pillow and tifffile read an Orientation stored as any of them."""


def exif_orientation(info: Any) -> int | None:
    """The EXIF Orientation of a plain image Pillow opened, from its header's EXIF alone
    (``info["exif"]``: a JPEG's APP1, a PNG's eXIf before its pixels, a WebP's); None where it
    states none or its EXIF cannot be read. ``Image.getexif`` is not asked: on a PNG with no eXIf
    before its pixels it decodes them, and a decoding error it raises there would be lost."""
    from PIL import Image

    data = info.get("exif")
    if not isinstance(data, bytes):
        return None
    try:
        exif = Image.Exif()
        exif.load(data)
        value = exif.get(ORIENTATION)
    except Exception:  # Pillow raises many kinds on damaged EXIF: slide.format reports its warnings
        return None
    return value if isinstance(value, int) else None


def _seek(fh: Any, offset: int) -> bool:
    """Whether ``fh`` could seek to ``offset`` (the file system refuses one past its largest file)."""
    try:
        fh.seek(offset)
    except (OSError, OverflowError, ValueError):
        return False
    return True


def _ndpi_directory(fh: Any, order: str, offset: int) -> bool:
    """Whether the directory at ``offset``, read in NDPI's layout (count, 12-byte entries, an 8-byte
    next offset, 4 bytes an entry), is there whole and has :data:`NDPI_TAG` with a value."""
    if not offset or not _seek(fh, offset):
        return False
    raw = fh.read(2)
    if len(raw) < 2:
        return False
    (entries,) = struct.unpack(order + "H", raw)
    raw = fh.read(entries * 12)
    if len(raw) < entries * 12 or len(fh.read(8 + 4 * entries)) < 8 + 4 * entries:
        return False
    fields = (struct.unpack_from(order + "HHI", raw, k) for k in range(0, len(raw), 12))
    return any(tag == NDPI_TAG and n for tag, _, n in fields)


def not_to_open(path: Path, root: Path, fd: int | None = None) -> Message | None:
    """Why OpenSlide must not open the slide at ``path`` in the batch folder ``root``: a file it
    would open besides it (:func:`refused_reference`), or a TIFF of too many directories or tags,
    or too long a text (:func:`tiff_refusal`); None when it may. ``fd``: the slide's descriptor,
    read instead of ``path``."""
    return refused_reference(path, root, fd) or tiff_refusal(path, fd)


def _first_refused(folder: str, refs: Iterator[str], real_root: str) -> Message | None:
    for ref in refs:
        why = _refused(os.path.join(folder, ref.lstrip("/")), real_root)
        if why is not None:
            return _named(ref, why)
    return None


def _named(ref: str, why: str) -> Message:
    return msg(
        "the slide names another file, {ref}: {_why}; OpenSlide would open it, so the slide is not opened",
        ref=clip(ref, 200),
        _why=why,
    )


OUTSIDE = N_("it resolves outside the batch folder")
SPECIAL = N_("it is not a regular file (a FIFO, socket or device): opening it can wait for ever")


def refused_file(path: Path, root: Path) -> str | None:
    """Why the file at ``path`` itself must not be opened as a slide of the batch folder ``root``:
    it resolves outside it or is a special file (:func:`_refused`); None otherwise."""
    return _refused(str(path), os.path.realpath(root))


def _refused(target: str, real_root: str) -> str | None:
    """Why the file OpenSlide would open at ``target`` must not be opened: it resolves outside
    ``real_root`` or is a special file; None for a regular file or folder inside, or nothing."""
    real = os.path.realpath(_cut(target))  # links resolved before ``..``, as the kernel does
    if real != real_root and not real.startswith(real_root.rstrip(os.sep) + os.sep):
        return OUTSIDE
    try:
        mode = os.stat(real).st_mode
    except OSError:  # nothing there: OpenSlide's own error says so
        return None
    return None if stat.S_ISREG(mode) or stat.S_ISDIR(mode) else SPECIAL


def refused_beside(target: str, real_root: str) -> str | None:
    """Why the entry ``target`` beside a DICOM slide makes the slide refused (:func:`_dicom_folder`):
    :func:`_refused`'s reason, but for a link out of the batch to a folder (OpenSlide's read of it
    fails at once, nothing is read). The result cache keys such a link by this alone
    (:func:`dqm.cache._listing`): a target made a file, or a folder, since flips it."""
    why = _refused(target, real_root)
    return None if why == OUTSIDE and os.path.isdir(target) else why


def _cut(name: str) -> str:
    """``name`` as OpenSlide's C string holds it: up to its first NUL byte (Python's calls refuse it)."""
    return name.partition("\0")[0]


def may_be_dicom(path: str, strict: bool = False) -> bool:
    """Whether OpenSlide may read the slide at ``path`` (a regular file) as DICOM and so open every
    file of its folder (:func:`_dicom`: its magic at byte 128, read here, or a ``.dcm`` name);
    ``strict``: an error that says nothing of the file (:func:`transient`: EIO, EMFILE...) raised,
    not read as no magic (a DICOM slide not named ``.dcm`` taken for another)."""
    return _dicom(path, _head(path, DICOM_MAGIC_AT + 4, strict, whole=False))


DICOM_FOLDER_UNLISTED = N_(
    "the folder of this DICOM slide cannot be listed ({error}); OpenSlide opens every file of a DICOM "
    "slide's folder, so the slide is not opened"
)


def _dicom_folder(path: Path, real_root: str, strict: bool = False) -> Message | None:
    """The first entry beside a DICOM slide that OpenSlide must not open (it opens all of them):
    a link out of the batch (to a file: a folder cannot be read as one) or a special file. Regular
    files and folders are not looked at further. A folder that cannot be listed is refused
    (:data:`DICOM_FOLDER_UNLISTED`: what OpenSlide would open in it is not known; it was read as
    nothing to refuse, so a listing failing at the look and not at OpenSlide's opened whatever
    the folder held); ``strict``: an error that says nothing of the folder (:func:`transient`:
    EIO, EMFILE...) raised instead, for the caller to answer "try again"."""
    try:
        with os.scandir(os.path.dirname(str(path)) or ".") as entries:
            for entry in entries:
                try:
                    plain = entry.is_file(follow_symlinks=False) or entry.is_dir(follow_symlinks=False)
                except OSError:
                    plain = False
                if plain:
                    continue
                if (why := refused_beside(entry.path, real_root)) is not None:
                    return msg(
                        "a file beside this DICOM slide, {ref}: {_why}; OpenSlide opens every file of "
                        "a DICOM slide's folder, so the slide is not opened",
                        ref=clip(os.fsdecode(entry.name), 200),
                        _why=why,
                    )
    except OSError as exc:
        if strict and transient(exc):
            raise
        return msg(DICOM_FOLDER_UNLISTED, error=exc.strerror or type(exc).__name__)
    return None


def _head(target: str, limit: int, strict: bool = False, whole: bool = True) -> bytes:
    """The first ``limit`` bytes of ``target`` (already found a regular file inside the batch), or
    nothing when it is larger (``whole``: OpenSlide does not read it; else its first ``limit``) or
    cannot be read; ``strict``: an error that says nothing of the file (:func:`transient`: EIO,
    EMFILE...) raised, not read as none."""
    try:  # not blocking: a file swapped for a FIFO since it was found regular would wait for ever
        with open(os.open(target, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb") as fh:
            data = fh.read(limit + 1) or b""  # None: a FIFO with nothing written
    except OSError as exc:
        if strict and transient(exc):
            raise
        return b""
    return data if len(data) <= limit else b"" if whole else data[:limit]


GLIB_BLANKS = b" \t\n\f\r"
"""``g_ascii_isspace``: GLib strips these before a key file's line and its value (not ``\\v``)."""


def _key_values(data: bytes, keys: re.Pattern[str]) -> Iterator[str]:
    """The values of a key file's keys ``keys`` matches, in every group, as GLib's key-file parser
    reads them (leading blanks and comments): each both raw (``g_key_file_get_value``: MIRAX)
    and with the escapes ``\\s \\n \\t \\r \\\\`` read (``g_key_file_get_string``: VMS), and
    each also without its trailing blanks. Bytes not UTF-8 are kept as the file name's bytes
    (``os.fsdecode``)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for raw in data.split(b"\n"):
        line = raw.lstrip(GLIB_BLANKS)
        if not line or line.startswith((b"#", b"[")) or b"=" not in line:
            continue
        key, _, value = line.partition(b"=")
        if not keys.match(os.fsdecode(key.rstrip(GLIB_BLANKS))):
            continue
        text = os.fsdecode(value.lstrip(GLIB_BLANKS))
        for read in dict.fromkeys((text, _unescaped(text))):
            yield read
            if read != read.rstrip():
                yield read.rstrip()


def _unescaped(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value) and value[i + 1] in _ESCAPES:
            out.append(_ESCAPES[value[i + 1]])
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def opened_besides(path: str, size: int, root: Path) -> list[tuple[str, str | None]]:
    """The files OpenSlide opens by name besides the slide at ``path`` (``size`` bytes, in the
    batch folder ``root``), each with why it must not be opened (:func:`_refused`; None: a regular
    file inside, or nothing): a MIRAX slide's ``Slidedat.ini`` and the files it names, a VMS/VMU
    key file's, a Trestle slide's macro image (:func:`trestle_macro`). What the slide shows
    depends on them as on the slide itself (the result cache keys them too). A DICOM slide's
    folder is not listed (:meth:`dqm.cache.RecordCache.key` keys it by each entry's stat;
    :func:`slide_parts` names its series).

    Each file is given once, by the path it resolves to (links, then ``..``), in the order first
    named: a name is cut at a NUL byte, as OpenSlide's C string is, and the many names of one file
    (``d1/../Data.dat``, ``./Data.dat``...: a ``Slidedat.ini`` of 1 MiB names one file 20,000
    times) are one."""
    return list(_besides_lazily(path, size, root))


def _besides_lazily(
    path: str,
    size: int,
    root: Path,
    macro: bool = True,
    names: dict[str, str] | None = None,
    strict: bool = False,
) -> Iterator[tuple[str, str | None]]:
    """:func:`opened_besides`, each file resolved only when the one before it has been taken (a
    caller that needs the first few does not resolve the 20,000 names of a hostile ``Slidedat.ini``);
    ``macro`` False: no Trestle macro image (results before 1.16). ``names``, given: each name
    resolved (cut at a NUL byte) → what it resolved to, those of one file too. ``strict``:
    :func:`_named_besides`'s."""
    real_root = os.path.realpath(root)
    seen: set[str] = set()
    for name in _named_besides(path, size, root, macro, strict):
        target = os.path.realpath(_cut(name))
        if names is not None:
            names[_cut(name)] = target
        if target not in seen:
            seen.add(target)
            yield target, _refused(target, real_root)


def _named_besides(
    path: str, size: int, root: Path, macro: bool = True, strict: bool = False
) -> Iterator[str]:
    """The names the slide at ``path`` gives OpenSlide to open besides it (:func:`opened_besides`),
    as named, not resolved: a MIRAX slide's ``Slidedat.ini`` and the files it names, a VMS/VMU key
    file's, a Trestle slide's macro image (``macro``). ``strict``: a transient error reading the
    key file or ``Slidedat.ini`` raised (:func:`_head`), or reopening a Trestle slide for its macro
    image (:func:`_macro_of`), not read as a slide naming nothing."""
    if path.endswith(".mrxs"):
        folder = path[: -len(".mrxs")]
        data = b""
        if _refused(os.path.join(folder, "Slidedat.ini"), os.path.realpath(root)) is None:
            data = _head(os.path.join(folder, "Slidedat.ini"), SLIDEDAT_MAX_BYTES, strict)
        refs: Iterable[str] = itertools.chain(["Slidedat.ini"], _key_values(data, MIRAX_KEYS))
    else:
        head = _head(path, VMS_MAX_BYTES, strict) if size <= VMS_MAX_BYTES else b""
        if not any(g in head for g in VMS_GROUPS):
            if macro and (name := _macro_of(path, strict)) is not None:
                yield name
            return
        folder, refs = os.path.dirname(path), _key_values(head, VMS_KEYS)
    for ref in refs:
        yield os.path.join(folder, ref.lstrip("/"))


@dataclass(frozen=True)
class Watched:
    """What a slide opened by OpenSlide may open by name at its later reads that no other check
    after a read covers (:func:`watched_besides`): ``resolved``, the names besides it that were no
    regular file of the batch at the open (nothing there, a link to nothing), resolved again at
    each read (:func:`_refused`); ``looked``, those that were regular files but not among the
    parts stat'ed after each read (past :data:`MAX_PARTS`), each with the identity (device,
    inode) of the file it led to, a ``stat`` each, following every link on the way (resolved only
    when it leads to another file: a link put in place of a folder above it, or of the file
    itself); ``sidecars``, the slide's name where SQLite opens it at each read (a Sakura slide:
    its ``-journal``, ``-wal``, ``-shm``), else None. Each name with its reference as a message
    gives it (relative to the slide's folder). ``named``: each name that led to one of the parts
    stat'ed after each read, with that part's batch path: the part is stat'ed by the name
    OpenSlide opens, so a link put in place of a folder above it (the name leading to another
    file) is seen without resolving the name again. ``relist``: whether some part is not named
    by the slide (a DICOM series' other files), so that the listing must be taken again."""

    resolved: tuple[tuple[str, str], ...]
    looked: tuple[tuple[str, str, tuple[int, int]], ...]
    sidecars: str | None
    named: tuple[tuple[str, str], ...] = ()
    relist: bool = True


def watched_besides(
    path: str,
    size: int,
    root: Path,
    parts: Iterable[str],
    vendor: str | None,
    listed: Collection[str] | None = None,
    cut: bool = False,
    names: Collection[str] | None = None,
) -> Watched:
    """:class:`Watched` of the slide at ``path`` (``size`` bytes, in the batch folder ``root``)
    that OpenSlide opened as ``vendor`` (``openslide.vendor``), whose files ``parts`` (batch
    paths, as resolved below ``root``) are stat'ed after each read. What OpenSlide opens is fixed
    at its open (the format, the files a key file names, a DICOM slide's series, a Trestle
    slide's macro image): the slide's head is not read again, nor its folder listed, nor a name
    resolved again that led to a file whose stat is checked (replaced by a link, it is another
    file).

    ``listed``: the listing taken at the open (:func:`slide_parts`), where this is built after it
    (at a later read). A name leading now to a regular file of the batch that the listing had
    not (nothing there at the open: a VMS's ``OptimisationFile`` written since) is kept with the
    names that were no file at the open (``resolved``), so that the check it is built for sees it
    joined; a listing cut at :data:`MAX_PARTS` (``cut``) cannot tell such a file from one past
    the cut. ``names``: the names that led to a file listed at the open (:func:`slide_parts`),
    where the listing was not cut: a name that leads to a part now but was none of them (a link
    to a part made since, where nothing was: one file, listed once) is watched as no file at the
    open too, so seen joined."""
    real_root, kept = os.path.realpath(root), set(parts)
    at_open = None if listed is None or cut else set(listed)
    names_at_open = None if at_open is None or names is None else set(names)
    base = os.path.dirname(path)
    resolved: dict[str, str] = {}
    looked: dict[str, tuple[str, tuple[int, int]]] = {}
    named: dict[str, str] = {}
    # the macro image where OpenSlide read the slide as Trestle (whatever dqm reads of its tag)
    trestle = [macro_name(path)] if vendor == "trestle" else []
    for given in itertools.chain(_named_besides(path, size, root, macro=False), trestle):
        name = _cut(given)
        if name in resolved or name in looked or name in named:
            continue
        target = os.path.realpath(name)
        if (part := os.path.relpath(target, real_root)) in kept:
            if names_at_open is not None and name not in names_at_open and name not in trestle:
                resolved[name] = os.path.relpath(name, base)  # no name of a part at the open
                continue
            # stat'ed by this name only where the kernel's walk of it (OpenSlide's) reaches the
            # part (``d/../Data.dat`` with no ``d``: resolved to it, not opened by it)
            if (ident := _identity(name)) is not None and ident == _identity(target):
                named[name] = part
            else:
                resolved[name] = os.path.relpath(name, base)
            continue
        ident = _identity(target) if _refused(target, real_root) is None else None
        if ident is None or (at_open is not None and part not in at_open):  # no file at the open
            resolved[name] = os.path.relpath(name, base)
        else:
            looked[name] = (os.path.relpath(name, base), ident)
    sidecars = path if vendor == "sakura" else None
    return Watched(
        tuple(resolved.items()),
        tuple((name, ref, ident) for name, (ref, ident) in looked.items()),
        sidecars,
        tuple(named.items()),
        bool(kept - set(named.values())),
    )


def _identity(path: str) -> tuple[int, int] | None:
    """The device and inode of the regular file ``path`` leads to (links followed); None for
    nothing there or no regular file."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISREG(st.st_mode) else None


def refused_again(watched: Watched, root: Path) -> Message | None:
    """Why a slide opened must not be read further (:func:`refused_reference`'s rule for what it
    opens by name after its open, :class:`Watched`): a name that was no file at the open now a
    special file or a link out of the batch, one past the parts that leads to another file than at
    the open (a link in place of it or of a folder above it) refused so, a Sakura slide's SQLite
    file beside it refused; None otherwise."""
    real_root = os.path.realpath(root)
    for name, ref in watched.resolved:
        if (why := _refused(name, real_root)) is not None:
            return _named(ref, why)
    for name, ref, ident in watched.looked:
        try:
            st = os.stat(name)
        except OSError:  # nothing there: OpenSlide's error says so
            continue
        if (st.st_dev, st.st_ino) != ident and (why := _refused(name, real_root)) is not None:
            return _named(ref, why)
    return _sqlite_sidecar(watched.sidecars, real_root) if watched.sidecars is not None else None


def _macro_of(path: str, strict: bool = False) -> str | None:
    """:func:`trestle_macro` of the slide at ``path`` (a TIFF's first directory read, no more;
    None for any other file or one that cannot be read); ``strict``: a :func:`transient` error
    raised, not read as a slide without a macro image."""
    try:
        with _reader(Path(path), None) as fh:
            return trestle_macro(path, fh) if fh.read(4) in TIFF_MAGIC else None
    except OSError as exc:
        if strict and transient(exc):
            raise
        return None


WSI_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.77.1.6"
"""VL Whole Slide Microscopy Image Storage: the only ``MediaStorageSOPClassUID`` OpenSlide's DICOM
reader takes (``dicom_file_new``: a file of another class is skipped)."""
IMPLICIT_VR = "1.2.840.10008.1.2"
"""The transfer syntax libdicom reads with implicit VRs (every other one, explicit little endian)."""
SERIES_UID = 0x0020000E
DICOM_STOP_TAGS = frozenset({0x00480200, 0x52009230, 0x7FE00001, 0x7FE00008, 0x7FE00009, 0x7FE00010})
"""Where libdicom's ``dcm_filehandle_get_metadata_subset`` stops reading a file's metadata (the
image navigation and per-frame sequences, the offset table, the pixel data): a series UID past
them is not read."""
MAX_DICOM_ELEMENTS = 10_000
"""Elements (items and their elements included) read of one file for its series UID. A WSI file's
metadata has a few hundred before it; the values are skipped by a seek, never read. Past it the
series is not known (:data:`UNKNOWN_SERIES`)."""
UNKNOWN_SERIES = "\0unknown"
"""The series of a file that starts as DICOM but whose header cannot be read as surely as
libdicom reads it (over :data:`MAX_DICOM_ELEMENTS`, nested too deep, a value, item or sequence
whose length does not hold, a VR that is none, a meta group without its length or with its class or
transfer syntax twice, a UID longer than :data:`MAX_UID_BYTES`, the file ending inside an element): taken for one
of the slide's (a file more is hashed, none is missed)."""
MAX_UID_BYTES = 1024
"""Bytes of a UID value read (a UID has at most 64; a value longer than this whose first value
does not end within it is :data:`UNKNOWN_SERIES`)."""
_VRS = frozenset(
    b"AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV".split()
)
_LONG_VRS = frozenset(b"OB OD OF OL OV OW SQ SV UC UN UR UT UV".split())
"""Explicit VRs whose length is 4 bytes after 2 reserved ones."""
_UNDEFINED = 0xFFFFFFFF
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_ITEM_TAG = struct.pack("<HH", 0xFFFE, 0xE000)
_META_LENGTH, _SOP_CLASS, _SYNTAX, _PIXEL_DATA = 0x00020000, 0x00020002, 0x00020010, 0x7FE00010
_SERIES_MEMO: dict[tuple[str, str, int, int, int, int, int], str | None] = {}
""":func:`series_of` by run (:func:`dqm.file_digests.current_run`: a worker that outlives its run
reads the headers again in the next), path and stat (not racy: :func:`dqm.file_digests.racy`)."""
SERIES_MEMO_SIZE = 100_000
"""Files whose series :func:`series_of` keeps (about 250 bytes each): a folder listed again for
each of its slides reads no header twice."""


_NOT_KEPT = object()


class _Unread(Exception):
    """A header not read as surely as libdicom reads it (:data:`UNKNOWN_SERIES`)."""


class _End(EOFError):
    """The file ends where an element would start."""


def series_of(
    path: str,
    st: os.stat_result | None = None,
    kept: bool = True,
    strict: bool = False,
    unread: list[OSError] | None = None,
) -> str | None:
    """The ``SeriesInstanceUID`` of the DICOM file at ``path`` as OpenSlide's reader reads it
    (libdicom: ``DICM`` at byte 128, the file meta group to its group length, a
    ``MediaStorageSOPClassUID`` of :data:`WSI_SOP_CLASS`, the dataset up to
    :data:`DICOM_STOP_TAGS` with implicit VRs under :data:`IMPLICIT_VR`, each sequence and item
    parsed to its end); each UID as a C string's first value (:func:`_uid`). None where
    OpenSlide skips the file (no DICOM, another class, no series UID, not a regular file);
    :data:`UNKNOWN_SERIES` wherever the header is in doubt. Each element's header is read and
    its value skipped (the UIDs' aside): a few hundred reads of 8 to 12 bytes through one 8 KiB
    buffer, a few kilobytes a file. Kept by the run, path and file's stat: given ``st`` (its
    ``os.stat``), a file kept is not opened again; ``kept`` False: read, neither taken from nor
    kept in the memo (a file system whose change time does not move keeps a rewritten file's stat).
    A :func:`transient` error opening or reading the file is never kept; ``strict``: it is raised,
    not read as a file of no series (or in doubt). ``unread``, given: an error opening or reading
    the file that is not raised is appended to it (the file left out, or taken in doubt, for it)."""
    run = current_run()
    if (
        kept
        and st is not None
        and (known := _SERIES_MEMO.get((run, path, *stat_key(st)), _NOT_KEPT)) is not _NOT_KEPT
    ):
        return known  # type: ignore[return-value]
    try:
        fd = os.open(_cut(path), os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        if strict and transient(exc):
            raise
        if unread is not None:
            unread.append(exc)
        return None
    except ValueError:
        return None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):  # a folder (Python cannot read one as a file), a FIFO...
        os.close(fd)
        return None
    with os.fdopen(fd, "rb") as fh:
        key = (run, path, *stat_key(st))
        if kept and (known := _SERIES_MEMO.get(key, _NOT_KEPT)) is not _NOT_KEPT:
            return known  # type: ignore[return-value]
        now = time.time_ns()
        try:
            series, error = _series(fh, strict)
        except OSError as exc:
            if strict and transient(exc):
                raise
            series, error = None, exc
        failed = error is not None and transient(error)
        if error is not None and unread is not None:
            unread.append(error)
    if kept and not failed and not racy((st.st_mtime_ns, st.st_ctime_ns), now):
        if len(_SERIES_MEMO) >= SERIES_MEMO_SIZE:
            _SERIES_MEMO.clear()
        _SERIES_MEMO[key] = series
    return series


def _series(fh: BinaryIO, strict: bool = False) -> tuple[str | None, OSError | None]:
    """:func:`series_of` of the open file ``fh``, and the read error taken for it, if any (a
    :func:`transient` one not to be kept; ``strict``: raised)."""
    if not _seek(fh, DICOM_MAGIC_AT) or fh.read(4) != DICOM_MAGIC:
        return None, None
    try:
        return _dataset_series(fh, [MAX_DICOM_ELEMENTS]), None
    except OSError as exc:
        if strict and transient(exc):
            raise
        return UNKNOWN_SERIES, exc
    except (_Unread, EOFError, struct.error, ValueError, OverflowError):
        return UNKNOWN_SERIES, None  # a DICOM file libdicom may read otherwise: one of the slide's


def _dataset_series(fh: BinaryIO, budget: list[int]) -> str | None:
    """:func:`_series` past the magic: the meta group, then the dataset up to the series UID."""
    tag, _, length = _dicom_element(fh, False, budget)
    if tag != _META_LENGTH or length != 4:  # libdicom reads the meta group to its length
        raise _Unread
    (group_length,) = struct.unpack("<I", _read(fh, 4))
    end = fh.tell() + group_length
    meta: dict[int, str] = {}
    while fh.tell() < end:  # explicit VRs
        tag, vr, length = _dicom_element(fh, False, budget)
        if tag >> 16 != 0x0002 or tag in meta or length == _UNDEFINED or fh.tell() + length > end:
            raise _Unread
        if tag in (_SOP_CLASS, _SYNTAX):
            meta[tag] = _uid(fh, length)
        else:
            fh.seek(length, os.SEEK_CUR)
    if fh.tell() != end or _SOP_CLASS not in meta:
        raise _Unread
    if meta[_SOP_CLASS] != WSI_SOP_CLASS:
        return None
    implicit = meta.get(_SYNTAX) == IMPLICIT_VR
    while True:
        try:
            tag, vr, length = _dicom_element(fh, implicit, budget)
        except _End:
            return None  # the dataset ends without one: OpenSlide skips the file
        if tag in DICOM_STOP_TAGS:
            return None
        if tag == SERIES_UID:
            if length == _UNDEFINED:
                raise _Unread
            return _uid(fh, length)
        if tag >> 16 == 0xFFFE:  # an item or a delimiter outside any sequence
            raise _Unread
        _skip(fh, tag, vr, length, implicit, budget, 0)


def _read(fh: BinaryIO, n: int) -> bytes:
    raw = fh.read(n)
    if len(raw) < n:
        raise EOFError
    return raw


def _uid(fh: BinaryIO, length: int) -> str:
    """The UID of ``length`` bytes at ``fh`` as libdicom gives it: a C string (cut at its first
    NUL) and its first value (up to a backslash), spaces about it stripped (a coarser match than
    libdicom's, never a finer one); one string for every file of a series (interned: the memo
    holds a series' UID once). :class:`_Unread` when the first value does not end within
    :data:`MAX_UID_BYTES`."""
    raw = _read(fh, min(length, MAX_UID_BYTES))
    cut = min((at for at in (raw.find(b"\0"), raw.find(b"\\")) if at >= 0), default=len(raw))
    if cut == len(raw) < length:
        raise _Unread
    fh.seek(length - len(raw), os.SEEK_CUR)
    return sys.intern(raw[:cut].decode("latin-1").strip(" "))


def _dicom_element(fh: BinaryIO, implicit: bool, budget: list[int]) -> tuple[int, bytes, int]:
    """The next element's tag, VR (b"" when implicit, or an item's) and value length
    (:data:`_UNDEFINED` for an undefined one); raises :class:`_End` at the end of the file,
    :class:`EOFError` within an element and :class:`_Unread` past the bound or for a VR that is
    none."""
    budget[0] -= 1
    if budget[0] < 0:
        raise _Unread
    raw = fh.read(8)
    if not raw:
        raise _End
    if len(raw) < 8:
        raise EOFError
    group, element = struct.unpack("<HH", raw[:4])
    tag = group << 16 | element
    if implicit or group == 0xFFFE:  # items and their delimiters have no VR
        return tag, b"", struct.unpack("<I", raw[4:])[0]
    vr = raw[4:6]
    if vr not in _VRS:
        raise _Unread
    if vr in _LONG_VRS:
        return tag, vr, struct.unpack("<I", _read(fh, 4))[0]
    return tag, vr, struct.unpack("<H", raw[6:])[0]


def _skip(
    fh: BinaryIO, tag: int, vr: bytes, length: int, implicit: bool, budget: list[int], depth: int
) -> None:
    """Past the value of the element ``tag`` (``vr``, ``length`` bytes): a sequence (its VR
    ``SQ``, or implicit and its value starting with an item) parsed item by item to its
    delimiter or its length, as libdicom parses it, and :class:`_Unread` where the two
    disagree; encapsulated pixel data fragment by fragment; any other value skipped."""
    if depth > 32:
        raise _Unread
    if length == _UNDEFINED:
        if tag == _PIXEL_DATA:  # fragments: items of defined lengths
            while (fragment := _dicom_element(fh, True, budget))[0] == _ITEM and fragment[2] != _UNDEFINED:
                fh.seek(fragment[2], os.SEEK_CUR)
            if fragment[0] != _SEQUENCE_END:
                raise _Unread
            return
        _sequence(fh, None, implicit or vr == b"UN", budget, depth)
        return
    if vr == b"SQ" or (not vr and length >= 4 and _peek(fh, 4) == _ITEM_TAG):
        _sequence(fh, fh.tell() + length, implicit, budget, depth)
    else:
        fh.seek(length, os.SEEK_CUR)


def _peek(fh: BinaryIO, n: int) -> bytes:
    at = fh.tell()
    raw = fh.read(n)
    fh.seek(at)
    return raw


def _sequence(fh: BinaryIO, end: int | None, implicit: bool, budget: list[int], depth: int) -> None:
    """A sequence's items up to its delimiter (``end`` None) or to ``end``, each a dataset up to
    its own delimiter or length."""
    while end is None or fh.tell() < end:
        tag, _, length = _dicom_element(fh, implicit, budget)
        if tag == _SEQUENCE_END and end is None:
            return
        if tag != _ITEM:
            raise _Unread
        item_end = None if length == _UNDEFINED else fh.tell() + length
        while item_end is None or fh.tell() < item_end:
            tag, vr, length = _dicom_element(fh, implicit, budget)
            if tag == _ITEM_END and item_end is None:
                break
            if tag >> 16 == 0xFFFE:
                raise _Unread
            _skip(fh, tag, vr, length, implicit, budget, depth + 1)
        if item_end is not None and fh.tell() != item_end:
            raise _Unread
    if fh.tell() != end:
        raise _Unread


EachStrict = bool | Callable[[str], bool] | None
"""How strictly :func:`slide_parts` takes each file it finds: a :func:`transient` error on it raised
(True) or the file left out (False), the same for every file (None: as the listing); or a function
of the file's resolved path saying which (the check against the audit's record: strict for a file
the audit recorded, not for one it could not read and so left out, :func:`dqm.slide_io.taken_of`)."""


def _strict_for(each: EachStrict, target: str, strict: bool) -> bool:
    """Whether a :func:`transient` error on the file ``target`` is raised (:data:`EachStrict`)."""
    if each is None:
        return strict
    return each(target) if callable(each) else each


UNREAD_SAID = frozenset({errno.ENOENT, errno.ENOTDIR})
"""Errors on a file found beside a DICOM slide that say it left (removed since the folder was
listed): not a file that cannot be read (:func:`slide_parts`' ``unread``)."""


class PartsUnread(dict[str, str]):
    """The files beside a DICOM slide that could not be read (batch path: the system's words), as
    :func:`slide_parts` notes them, and whether the slide's folder was walked for its series at
    all (``walked``): where it was not (the slide has no series, its folder cannot be listed or is
    refused), OpenSlide finds no file beside it as one of its series, and no file's error counts;
    and whether listing it failed (``failed``: EIO, EMFILE...), which says nothing of the folder:
    OpenSlide's own listing may see the files this one did not (the result cache stores no record
    of such a take: :meth:`dqm.cache.RecordCache.as_keyed`)."""

    walked: bool = False
    failed: bool = False


def _note_unread(unread: dict[str, str] | None, target: str, exc: OSError, real_root: str) -> None:
    """``target`` (a file beside a DICOM slide) in ``unread`` by batch path, with the system's words
    for ``exc``, where that says the file is there but cannot be read (not :data:`UNREAD_SAID`)."""
    if unread is not None and exc.errno not in UNREAD_SAID:
        unread.setdefault(os.path.relpath(target, real_root), exc.strerror or type(exc).__name__)


def _dicom_series(
    path: str,
    root: Path,
    strict: bool = False,
    each_strict: EachStrict = None,
    unread: dict[str, str] | None = None,
) -> Iterator[str]:
    """The other files of the DICOM slide at ``path``'s series, each by the path it resolves to
    (links, then ``..``), once, as OpenSlide's ``dicom_open`` finds them: every entry of the slide's
    folder (hidden ones too) but the slide's own name, inside the batch and no special file
    (:func:`_refused`; else the slide is not opened at all: :func:`_dicom_folder`), whose
    :func:`series_of` is the slide's (either :data:`UNKNOWN_SERIES`: taken). None when the slide
    has no series (OpenSlide fails). In name order, so that :data:`MAX_PARTS` cuts the same files
    each time. A DICOM-TIFF named ``.tif``, which OpenSlide reads as a TIFF alone, is given its
    series all the same (files more hashed, none missed). Cost: a stat of each entry (a link resolved too), and its header read once a
    run while that stat stands (:func:`series_of`). ``strict``: a :func:`transient` error listing
    the folder, stat'ing an entry or reading a header raised, not read as no series or no file;
    ``each_strict`` (:data:`EachStrict`) for an entry's stat and header alone. ``unread``, given:
    each entry whose stat or header could not be read (and was not raised) by batch path, with the
    system's words: OpenSlide leaves such a file out too, silently (one of the series missing)."""
    series = series_of(path, strict=strict)
    if series is None:
        return
    folder, name = os.path.split(path)
    real_root, real_folder = os.path.realpath(root), os.path.realpath(folder or ".")
    seen = {os.path.realpath(_cut(path))}
    try:
        with os.scandir(folder or ".") as entries:
            listed = sorted((entry.name, _maybe_link(entry)) for entry in entries if entry.name != name)
    except OSError as exc:
        if strict and transient(exc):
            raise
        if isinstance(unread, PartsUnread):
            unread.failed = True
        return
    if _refused(real_folder, real_root) is not None:
        return
    if isinstance(unread, PartsUnread):
        unread.walked = True
    for entry, link in listed:
        target = os.path.realpath(os.path.join(folder, entry)) if link else os.path.join(real_folder, entry)
        if target in seen or (link and _refused(target, real_root) is not None):
            continue
        seen.add(target)
        each = _strict_for(each_strict, target, strict)
        try:
            st = os.stat(target)
        except OSError as exc:
            if each and transient(exc):
                raise
            _note_unread(unread, target, exc, real_root)
            continue
        errors: list[OSError] = []
        theirs = series_of(target, st, strict=each, unread=errors) if stat.S_ISREG(st.st_mode) else None
        if errors:
            _note_unread(unread, target, errors[0], real_root)
        if theirs is not None and (theirs == series or UNKNOWN_SERIES in (theirs, series)):
            yield target


SERIES_UNREAD = "\0unread"
""":func:`folder_series`' series of a file that could not be read."""


def folder_series(
    folder: str, root: Path, unread: dict[str, str] | None = None, names: Collection[str] | None = None
) -> list[tuple[str, str | None]]:
    """Each entry of ``folder`` (a DICOM slide's, in the batch folder ``root``) by name, in name
    order, with what makes OpenSlide's DICOM reader take it or leave it: its
    :func:`series_of` (its ``SeriesInstanceUID`` where its class is a whole-slide image's, None
    where OpenSlide skips it, :data:`UNKNOWN_SERIES` in doubt), read from its header again
    whatever its stat (``kept`` False), or ``OUTSIDE`` for a link out of the batch (not read), or
    :data:`SERIES_UNREAD` for a file whose stat or header could not be read (EIO, EACCES: left out by
    OpenSlide, named by the run's ``SLIDE_PART_UNREADABLE``; a record taken while it could not be
    read is not the answer once it can, though its stat is the same).
    The identity of the files that a DICOM slide of the folder is made of: a file of another
    series rewritten to join the slide's (or one of it leaving) with its size, times and inode
    kept changes it where the folder's stats do not. Cost: the folder's files' headers, a few
    kilobytes each (:func:`series_of`; 115 µs a file of the real 5.5 KB ``boxes_0.dcm``:
    ``benchmarks/bench_dicom_parts.py --key-only``). ``unread``, given: each such file by the batch
    path it resolves to, with the system's words, as the take notes it (:func:`_dicom_series`): what
    the run's ``SLIDE_PART_UNREADABLE`` would say of the folder now (:meth:`dqm.cache.RecordCache.as_keyed`).
    ``names``, given: those entries alone (a remembered folder's small series: :func:`dqm.cache._strays`)."""
    real_root = os.path.realpath(root)
    out: list[tuple[str, str | None]] = []
    try:
        with os.scandir(folder or ".") as entries:
            listed = sorted(
                (entry.name, _maybe_link(entry)) for entry in entries if names is None or entry.name in names
            )
    except OSError:
        return out
    for name, link in listed:
        target = os.path.join(folder, name)
        if link and _refused(target, real_root) == OUTSIDE:
            out.append((name, OUTSIDE))
            continue
        errors: list[OSError] = []
        try:
            regular = stat.S_ISREG(os.stat(target).st_mode)
        except OSError as exc:
            regular = False
            errors.append(exc)
        series = series_of(target, kept=False, unread=errors) if regular else None
        failed = any(exc.errno not in UNREAD_SAID for exc in errors)
        if errors:  # one at most: a failed stat is not followed by a read
            _note_unread(unread, os.path.realpath(target), errors[0], real_root)
        out.append((name, SERIES_UNREAD if failed else series))
    return out


def _maybe_link(entry: os.DirEntry[str]) -> bool:
    """Whether a folder's entry is a link, or may be one (its type could not be read): resolved."""
    try:
        return entry.is_symlink()
    except OSError:
        return True


MAX_PARTS = 1_000
"""Files besides one slide (:func:`slide_parts`) that its record prints and, with full hashes,
hashes whole, that ``--results`` fingerprints and the result cache reads the ends of. A MIRAX
slide has its index and tens of data files, a few hundred for the largest scans; a
``Slidedat.ini`` of 1 MiB may name 20,000 (2 MiB read of each: 40 GB a run). Past it, a file is
keyed by its stat alone (:data:`dqm.cache.UNPRINTED`) and is neither hashed nor fingerprinted."""


def slide_parts(
    path: str,
    size: int,
    root: Path,
    since_1_16: bool = True,
    names: set[str] | None = None,
    strict: bool = False,
    each_strict: EachStrict = None,
    unread: dict[str, str] | None = None,
) -> tuple[list[str], bool]:
    """The batch paths (below ``root`` as it resolves) of the regular files OpenSlide opens by name
    besides the slide at ``path`` (``size`` bytes) and may open (:func:`opened_besides`: none
    refused), in the order first named (a Trestle slide's macro image too), then the other files
    of a DICOM slide's series (:func:`_dicom_series`); ``since_1_16`` False: neither of those two,
    as results before 1.16 fingerprint. The first :data:`MAX_PARTS`, and whether there are more. The names past the first
    :data:`MAX_PARTS` files found are not resolved (a ``Slidedat.ini`` of 1 MiB naming 55,000
    files cost ``--results`` 14 s more), nor the headers past them read. ``names``, given: the
    names the slide gives (cut at a NUL byte) that led to one of the files listed, by which
    :func:`watched_besides` tells a name made since (a link to a part: one file, listed once).
    ``strict`` (the check against the audit's record): an error that says nothing of a file
    (:func:`transient`: EIO, EMFILE...) reading the key file or ``Slidedat.ini``, reopening a
    Trestle slide for its macro image, listing a DICOM slide's folder or reading its files'
    headers, or stat'ing a file named, is raised (OSError), never read as a listing without it.
    ``each_strict`` (:data:`EachStrict`; None: ``strict``): the same for the stat or header of each
    file found, apart from the listing itself: False, such a file is left out, as OpenSlide leaves
    out a file of a DICOM folder it cannot open (the check after a read takes the files as strictly
    as the open took them: a file beside the slide that always fails with EIO is on neither
    listing). ``unread``, given: the files beside a DICOM slide left out (or taken in doubt) for an
    error reading them (:func:`_dicom_series`), which OpenSlide leaves out without a word: those of
    the whole folder, past :data:`MAX_PARTS` too (their headers read, not their files hashed), as
    OpenSlide opens them all and the result cache's key names them all
    (:func:`folder_series`); a :class:`PartsUnread` says whether the folder was walked. Not past
    the cut where taken strictly (the check against the audit's record, which reads no such list):
    an error on a file there would be raised, where it was never read."""
    real_root = os.path.realpath(root)
    given: dict[str, str] | None = {} if names is not None else None
    besides = _besides_lazily(path, size, root, since_1_16, given, strict)
    named = (target for target, why in besides if why is None)
    series = _dicom_series(path, root, strict, each_strict, unread) if since_1_16 else iter(())
    found: dict[str, None] = {}
    cut = False
    for target in itertools.chain(named, series):
        if target not in found and _is_file(target, _strict_for(each_strict, target, strict)):
            if len(found) == MAX_PARTS:
                cut = True
                break
            found[target] = None
    if cut and unread is not None and not strict and each_strict is None:
        for _ in series:  # OpenSlide opens every file of the folder, cut or not
            pass
    if names is not None and given is not None:
        names.update(name for name, target in given.items() if target in found)
    return [os.path.relpath(t, real_root) for t in found], cut


def _is_file(target: str, strict: bool) -> bool:
    """``os.path.isfile(target)``; ``strict``: a :func:`transient` error raised, not read as none."""
    try:
        return stat.S_ISREG(os.stat(target).st_mode)
    except OSError as exc:
        if strict and transient(exc):
            raise
        return False
    except ValueError:
        return False


def part_name(part: str) -> str:
    """The batch path ``part`` as results.json writes it: a name that is not UTF-8 (a
    ``Slidedat.ini`` names bytes, the batch walk refuses such a file but OpenSlide opens it) with
    its bad bytes as ``\\xNN`` (:func:`dqm.output.not_utf8`; JSON holds UTF-8 alone), and a
    backslash of the name as ``\\x5c``, so that no two files share a written name (a byte 0xff and
    the four characters ``\\xff``)."""
    escaped = part.replace("\\", "\\x5c")
    return not_utf8(escaped) or escaped


def parts_of(root: Path, rel: str, since_1_16: bool = True) -> list[str]:
    """:func:`slide_parts` of the slide at the batch path ``rel`` (none when it cannot be stat'ed)."""
    path = os.path.join(root, rel)
    try:
        size = os.stat(path).st_size
    except OSError:
        return []
    return slide_parts(path, size, root, since_1_16)[0]
