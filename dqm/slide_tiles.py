"""A slide's JPEG tiles decoded from their bytes: OpenSlide's pixels of a region, without its painting.

OpenSlide's ``read_region`` costs about 14 ns a pixel even when its cache holds the decoded tile
(0.9 ms for a 256-pixel region, of which the JPEG decode is a quarter): it paints the tile
through cairo into a premultiplied buffer that is then made RGBA again. Where a slide's levels
are plain JPEG tiles (a generic TIFF or an Aperio SVS: 8-bit, three samples, YCbCr or RGB, one
tiled page a level), a region at a whole pixel of a level is decoded here from its stored tiles'
bytes by libjpeg-turbo (imagecodecs), which gives OpenSlide's pixels to the bit
(``benchmarks/same_probes.py``, ``tests/slides/test_slide_tiles.py``): 0.5 ms instead of 1.1 for
a 256-pixel region. The IFD chain is walked here for the levels' entries; a tile's offset and
byte count are read when the tile is (tifffile would read every tile's, 8 bytes each).

OpenSlide still judges each tile: it makes libjpeg's warnings (a truncated tile, a bad Huffman
code) errors where imagecodecs decodes through them, so an OpenSlide handle of this module's own
first reads the region's first pixel in each tile, which decodes that tile. Where one fails, the
region is left to the caller's handle, which reads it as before and fails with OpenSlide's own
message (it paints the tiles from the last backwards, and its error is sticky: the first failure
decides every later read's message). Anything this module does not know to be the same (another
vendor, codec or layout, an IFD entry repeated or of another type or count, a fractional
position, more than :data:`MAX_REGION_TILES` tiles or :data:`MAX_COVERED` pixels of them, a tile
that imagecodecs refuses) is read by OpenSlide as before.
"""

from __future__ import annotations

import ctypes
import os
import stat
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

import numpy as np

from dqm.file_digests import stat_key
from dqm.image_text import MAX_ENTRIES, _entries, _layout

VENDORS = frozenset({"generic-tiff", "aperio"})
"""OpenSlide formats whose levels are the TIFF's tiled pages, each tile painted as it is stored."""

MAX_PAGES = 64
"""Pages looked at for the levels; a file with more is read by OpenSlide alone."""

MAX_REGION_TILES = 64
"""Stored tiles one region read here may cover; a region over more is read by OpenSlide."""

MAX_TILE_PIXELS = 4096 * 4096
"""Stored tiles of more pixels are read by OpenSlide alone (as before: the budget counts them)."""

MAX_COVERED = 1 << 22
"""Pixels of the stored tiles one region read here may cover (16 MiB decoded, one tile of 2048
a side); more are read by OpenSlide, whose cache may hold them already."""

MAX_KEPT_BYTES = 2 << 20
"""Stored bytes of the tiles decoded here kept to compare with a later read of the same tile; a
tile read again past them is OpenSlide's."""

MIN_COVERED = 1 << 16
"""Covered pixels always read here; above, a region read here covers at most 4 times its own."""

_COLOURS = {2: "RGB", 6: "YCBCR"}
"""TIFF photometric interpretation -> the JPEG colour space OpenSlide decodes the tiles from."""

_ITEM = {3: "H", 4: "I", 16: "Q"}
"""TIFF SHORT, LONG and LONG8: the tile offsets' and byte counts' item formats."""


@dataclass(frozen=True, slots=True)
class _Level:
    """One level's tiles: where the tile offsets and byte counts lie in the file, and how to decode."""

    width: int
    height: int
    tile_w: int
    tile_h: int
    across: int
    offsets: tuple[int, str]
    """``(file offset, struct item format)`` of the TileOffsets array."""
    counts: tuple[int, str]
    tables: bytes | None
    colorspace: str
    page: int
    """The page's place in the IFD chain (0: the first page)."""


READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
"""A file swapped for a FIFO after it was listed is not waited on (a regular file reads the same)."""


def openslide_rgba(slide: Any, xy: tuple[int, int], level: int, size: tuple[int, int]) -> np.ndarray:
    """A region of ``slide`` read by OpenSlide into an RGBA array (its read buffer viewed, not
    copied out of Pillow; ``read_region`` where openslide-python's low-level read is not there)."""
    from openslide import lowlevel

    handle = getattr(slide, "_osr", None)
    read = getattr(lowlevel, "_read_region", None)
    convert = getattr(getattr(lowlevel, "_convert", None), "argb2rgba", None)
    w, h = size
    if handle is None or read is None or convert is None or w <= 0 or h <= 0:
        return np.asarray(slide.read_region(xy, level, size))
    buf = (w * h * ctypes.c_uint32)()
    read(handle, buf, xy[0], xy[1], level, w, h)  # raises OpenSlideError as read_region does
    convert(buf)
    out = np.frombuffer(memoryview(buf).cast("B"), np.uint8).reshape(h, w, 4)
    out.flags.writeable = False
    return out


class JpegTiles:
    """The JPEG tiles of an open slide's levels, read through a file handle of their own."""

    def __init__(
        self,
        path: Path,
        fh: BinaryIO,
        byteorder: str,
        levels: list[_Level],
        downsamples: tuple[float, ...],
        opened: os.stat_result,
    ) -> None:
        self._path, self._judge = path, cast("Any", None)  # the OpenSlide handle that checks tiles
        self._opened, self._refused = stat_key(opened), False  # refused: every region is OpenSlide's
        self._fh, self._fd = fh, fh.fileno()
        self._size = os.fstat(self._fd).st_size
        self._order, self._levels, self._downsamples = byteorder, levels, downsamples
        self._read: dict[tuple[int, int], bytes | None] = {}
        """Each tile decoded here: its bytes (None once :data:`MAX_KEPT_BYTES` are kept)."""
        self._kept = 0

    @classmethod
    def open(
        cls,
        path: Path,
        vendor: str | None,
        level_dimensions: tuple[tuple[int, int], ...],
        level_downsamples: tuple[float, ...],
        opened: os.stat_result | None = None,
    ) -> JpegTiles | None:
        """The tiles of the slide at ``path`` as OpenSlide shows it (``vendor``, levels of
        ``level_dimensions`` at ``level_downsamples``), or None when its levels are not plain JPEG
        tiles this module reads as OpenSlide does, or the header cannot be parsed, or the file is
        no longer the one ``opened`` describes (``os.stat`` of ``path`` when OpenSlide opened it)."""
        if vendor not in VENDORS or not level_dimensions or len(level_downsamples) != len(level_dimensions):
            return None
        try:
            fd = os.open(path, READ_FLAGS)
        except OSError:
            return None
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or (opened is not None and stat_key(st) != stat_key(opened)):
            os.close(fd)
            return None  # not a file, or replaced or rewritten since OpenSlide opened it
        fh = os.fdopen(fd, "rb", buffering=0)  # reads of the entries it needs, not 8 KiB each
        identity = opened or os.fstat(fh.fileno())
        found, levels = None, None
        try:
            found = _pages(fh)
            if found is not None:
                levels = _levels(fh, *found, level_dimensions)
        except (OSError, OverflowError, ValueError, MemoryError, struct.error):  # a corrupt header
            levels = None
        if found is None or levels is None:
            fh.close()
            return None
        return cls(path, fh, found[0], levels, level_downsamples, identity)

    @property
    def file(self) -> BinaryIO:
        """The handle the tiles are read through (unbuffered), for other reads of the header."""
        return self._fh

    def first_page_head(self, limit: int) -> bytes | None:
        """What :func:`dqm.slide_io._jpeg_head` reads of the file's first page (a JPEG level's,
        as every level here is): its ``JPEGTables``, else the first ``limit`` bytes of its first
        tile; None when the first page is no level (then tifffile reads it)."""
        lv = self._levels[0]
        if lv.page != 0:
            return None
        if lv.tables:
            return lv.tables
        try:
            offset, count = self._item(lv.offsets, 0), self._item(lv.counts, 0)
            return os.pread(self._fd, min(count, limit), offset)
        except (OSError, OverflowError, ValueError, struct.error):
            return None

    def close(self) -> None:
        self._fh.close()
        if self._judge is not None:
            self._judge.close()
            self._judge = None

    def __enter__(self) -> JpegTiles:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def region(
        self,
        level: int,
        xy: tuple[int, int],
        size: tuple[int, int],
        check: Callable[[int, tuple[int, int]], bool] | None = None,
    ) -> np.ndarray | None:
        """The RGBA pixels ``read_region(xy, level, size)`` gives (``xy``: level 0's pixels),
        read-only; None when this region is not one to read here (OpenSlide reads it, and fails
        as it would have). ``check(level, at)``: whether OpenSlide reads the pixel at level-0
        ``at`` (default: a read by this object's own OpenSlide handle, so that a failure leaves
        the caller's handle untouched), asked of the region's first pixel in each stored tile it
        covers before any is decoded here."""
        w, h = size
        if not 0 <= level < len(self._levels) or w <= 0 or h <= 0:
            return None
        ds = self._downsamples[level]
        lx, ly = xy[0] / ds, xy[1] / ds  # the level's pixels, as OpenSlide computes them
        if lx != int(lx) or ly != int(ly):
            return None  # between pixels: OpenSlide interpolates
        lv, x, y = self._levels[level], int(lx), int(ly)
        if not (0 <= x < lv.width and 0 <= y < lv.height):
            return None
        vw, vh = min(w, lv.width - x), min(h, lv.height - y)  # past the level's edge: transparent
        cols = range(x // lv.tile_w, (x + vw - 1) // lv.tile_w + 1)
        rows = range(y // lv.tile_h, (y + vh - 1) // lv.tile_h + 1)
        covered = len(cols) * len(rows) * lv.tile_w * lv.tile_h
        if len(cols) * len(rows) > MAX_REGION_TILES or covered > min(
            max(4 * w * h, MIN_COVERED), MAX_COVERED
        ):
            return None  # decoding mostly pixels the region does not show: OpenSlide's cache may hold them
        firsts = [(max(x, c * lv.tile_w), max(y, r * lv.tile_h)) for r in rows for c in cols]
        at = [(round(fx * ds), round(fy * ds)) for fx, fy in firsts]
        if any((ax / ds, ay / ds) != first for (ax, ay), first in zip(at, firsts, strict=True)):
            return None  # a tile's first pixel is no level-0 pixel: OpenSlide's check would differ
        judge = check or self._check
        if not all(judge(level, corner) for corner in at):
            return None
        if len(firsts) == 1 and (vw, vh) == (w, h):
            tile = self._decode(lv, rows[0] * lv.across + cols[0])
            if tile is None:
                return None
            tx, ty = x - cols[0] * lv.tile_w, y - rows[0] * lv.tile_h
            out = (
                tile
                if (w, h) == (lv.tile_w, lv.tile_h)
                else np.ascontiguousarray(tile[ty : ty + h, tx : tx + w])
            )
            out.flags.writeable = False
            return out
        out = np.zeros((h, w, 4), np.uint8) if (vw, vh) != (w, h) else np.empty((h, w, 4), np.uint8)
        for fx, fy in firsts:  # each tile pasted as it is decoded: one held at a time
            tile = self._decode(lv, (fy // lv.tile_h) * lv.across + fx // lv.tile_w)
            if tile is None:
                return None
            tx, ty = fx % lv.tile_w, fy % lv.tile_h
            pw = min(lv.tile_w - tx, x + vw - fx)
            ph = min(lv.tile_h - ty, y + vh - fy)
            out[fy - y : fy - y + ph, fx - x : fx - x + pw] = tile[ty : ty + ph, tx : tx + pw]
            del tile  # freed before the next is decoded
        out.flags.writeable = False
        return out

    def _check(self, level: int, at: tuple[int, int]) -> bool:
        """Whether OpenSlide reads the pixel at level-0 ``at`` of ``level`` (decoding its tile),
        through a handle of this object's own: OpenSlide's error is sticky, so a failed read
        here leaves this handle failing and the caller's handle as it was, for OpenSlide to read
        the region and fail with the message and at the place it would have."""
        import openslide

        if self._refused:
            return False
        try:
            if self._judge is None:
                self._refused = stat_key(os.fstat(self._fd)) != self._opened  # rewritten since
                if not self._refused:
                    self._judge = openslide.OpenSlide(self._same_file())
                    self._refused = stat_key(os.fstat(self._fd)) != self._opened
            if not self._refused:
                openslide_rgba(self._judge, at, level, (1, 1))
        except (openslide.OpenSlideError, OSError, ValueError, MemoryError):
            self._refused = True  # OpenSlide's error is sticky: every later read fails
        return not self._refused

    def _same_file(self) -> str:
        """A path to the file this object reads, for the checking handle: its descriptor's own
        (``/proc/self/fd/N`` names the open file, whatever the batch path now names — never a FIFO
        or a link swapped in since), else the batch path once it is seen to be that file."""
        own = f"/proc/self/fd/{self._fd}"
        if os.path.exists(own):
            return own
        st = os.stat(self._path)
        if not stat.S_ISREG(st.st_mode) or stat_key(st) != self._opened:
            raise OSError("the slide was replaced since it was opened")
        return str(self._path)

    def _decode(self, lv: _Level, index: int) -> np.ndarray | None:
        import imagecodecs

        try:
            offset = self._item(lv.offsets, index)
            count = self._item(lv.counts, index)
            if offset <= 0 or count <= 0 or offset + count > self._size:
                return None  # not stored, or past the file's end: OpenSlide's own rules
            data = os.pread(self._fd, count, offset)
            if len(data) != count or not self._same(lv, index, data):
                return None
            # RGBA straight from libjpeg-turbo (opaque): what OpenSlide's buffer becomes, no copy
            tile = imagecodecs.jpeg8_decode(
                data, tables=lv.tables, colorspace=lv.colorspace, outcolorspace="RGBA"
            )
        except (OSError, OverflowError, ValueError, RuntimeError, MemoryError, struct.error):
            # imagecodecs': RuntimeError; os.pread's at an offset of 2**63 or more: OverflowError
            return None
        if tile.shape != (lv.tile_h, lv.tile_w, 4) or tile.dtype != np.uint8:
            return None
        return tile

    def _same(self, lv: _Level, index: int, data: bytes) -> bool:
        """Whether ``data`` are the bytes of the tile when it was read here before (True the first
        time): the checking handle may hold the tile in its cache and not read it again, so bytes
        rewritten since would be decoded unchecked; they are OpenSlide's to read instead."""
        key = (lv.offsets[0], index)
        if key in self._read:
            return self._read[key] == data
        keep = self._kept + len(data) <= MAX_KEPT_BYTES
        self._read[key] = data if keep else None
        self._kept += len(data) if keep else 0
        return True

    def _item(self, where: tuple[int, str], index: int) -> int:
        at, item = where
        size = struct.calcsize(item)
        raw = os.pread(self._fd, size, at + index * size)
        (value,) = struct.unpack(self._order + item, raw)
        return int(value)


_WANTED = frozenset({256, 257, 258, 259, 262, 277, 284, 322, 323, 324, 325, 347, 32997, 32998})
"""The tags a level is judged and read by: size, bits, codec, colour, samples, planes, tiles,
their offsets and byte counts, JPEG tables, depth."""

_TYPES = {1: "B", 3: "H", 4: "I", 7: "B", 16: "Q"}
"""TIFF BYTE, SHORT, LONG, UNDEFINED and LONG8: the item formats of the values read."""

_NUMBERS = frozenset({1, 3, 4, 16})
"""BYTE, SHORT, LONG, LONG8: what a number is read in here."""

_KINDS = {tag: _NUMBERS for tag in _WANTED} | {
    324: frozenset({3, 4, 16}),
    325: frozenset({3, 4, 16}),
    347: frozenset({1, 7}),
}
"""The entry types each wanted tag is read in here; another type (which libtiff may coerce,
read as signed or reject) leaves the file to OpenSlide."""

_SINGLE = _WANTED - {258, 324, 325, 347}
"""Wanted tags of one value: an entry of another count leaves the file to OpenSlide."""

MAX_VALUE_BYTES = 1 << 16
"""A value (bits per sample, JPEG tables) longer than this makes its level OpenSlide's alone."""

_Entry = tuple[int, int, int]
"""``(type, count, file offset of the value)`` of one IFD entry."""


def _pages(fh: BinaryIO) -> tuple[str, list[dict[int, _Entry]]] | None:
    """``(byte order, each page's wanted entries)`` of the TIFF ``fh``, from its IFD chain walked
    here (:data:`MAX_PAGES` pages, :data:`~dqm.image_text.MAX_ENTRIES` entries each; more, or a
    loop in the chain, and None): only the entries are read, not the tile offsets and byte counts
    (tifffile reads those whole, 8 bytes a stored tile of every level). None when no TIFF."""
    fh.seek(0)
    layout = _layout(fh.read(16))
    if layout is None:
        return None
    order, big, offset = layout
    entry = _entries(order, big)
    count_fmt, offset_fmt = order + ("Q" if big else "H"), order + ("Q" if big else "I")
    field = entry["value"].itemsize
    pages: list[dict[int, _Entry]] = []
    seen: set[int] = set()
    while offset:
        if offset in seen or len(pages) == MAX_PAGES:
            return None
        seen.add(offset)
        fh.seek(offset)
        raw = fh.read(struct.calcsize(count_fmt))
        (n,) = struct.unpack(count_fmt, raw)
        if n > MAX_ENTRIES:
            return None
        table = fh.read(n * entry.itemsize + struct.calcsize(offset_fmt))
        if len(table) < n * entry.itemsize + struct.calcsize(offset_fmt):
            return None
        rows = np.frombuffer(table, entry, count=n)
        start = offset + len(raw)
        page: dict[int, _Entry] = {}
        for k, (tag, kind, count, value) in enumerate(rows.tolist()):
            if tag in _WANTED:
                if tag in page or kind not in _KINDS[tag] or (tag in _SINGLE and count != 1):
                    return None  # libtiff keeps a repeated entry's first copy, coerces or rejects others
                if kind == 16 and not big:
                    return None  # LONG8 in a classic TIFF
                size = count * struct.calcsize(_TYPES[kind])
                # a value that fits the entry's field is held there, else the field is its offset
                at = start + k * entry.itemsize + entry.itemsize - field if size <= field else value
                page[tag] = (kind, count, at)
        pages.append(page)
        (offset,) = struct.unpack(offset_fmt, table[n * entry.itemsize :])
    return order, pages


def _values(fh: BinaryIO, order: str, item: _Entry) -> tuple[int, ...] | None:
    """The numbers of one entry (None: too long to read)."""
    kind, count, at = item
    fmt = _TYPES[kind]
    size = count * struct.calcsize(fmt)
    if size > MAX_VALUE_BYTES:
        return None
    fh.seek(at)
    data = fh.read(size)
    if len(data) < size:
        return None
    return struct.unpack(f"{order}{count}{fmt}", data)


def _number(fh: BinaryIO, order: str, page: dict[int, _Entry], tag: int, default: int) -> int | None:
    """The first number of ``tag`` on ``page`` (``default`` where absent; None: unreadable)."""
    if tag not in page:
        return default
    values = _values(fh, order, page[tag])
    return values[0] if values else None


def _levels(
    fh: BinaryIO, order: str, pages: list[dict[int, _Entry]], level_dimensions: tuple[tuple[int, int], ...]
) -> list[_Level] | None:
    """Each level's tiles, when the file's tiled pages are the levels one to one (in order of
    decreasing width, as OpenSlide takes them) and every one is plain JPEG; else None."""
    tiled = [k for k, page in enumerate(pages) if 322 in page and 323 in page]
    sized = [
        (_number(fh, order, pages[k], 256, 0) or 0, _number(fh, order, pages[k], 257, 0) or 0) for k in tiled
    ]
    if len({w for w, _ in sized}) != len(sized):
        return None  # pages of one width: which OpenSlide takes for which level is not told here
    ranked = sorted(zip(sized, tiled, strict=True), key=lambda pair: -pair[0][0])
    if [dims for dims, _ in ranked] != list(level_dimensions):
        return None
    out = []
    for dims, k in ranked:
        level = _level(fh, order, pages[k], dims, k)
        if level is None:
            return None
        out.append(level)
    return out


def _level(
    fh: BinaryIO, order: str, page: dict[int, _Entry], dims: tuple[int, int], index: int
) -> _Level | None:
    """One tiled page's tiles, when plain JPEG (8-bit, 3 samples interleaved, YCbCr or RGB); else None."""
    bits = _values(fh, order, page[258]) if 258 in page else (1,)
    photometric = _number(fh, order, page, 262, -1)
    if (
        _number(fh, order, page, 259, 1) != 7
        or photometric not in _COLOURS
        or _number(fh, order, page, 277, 1) != 3
        or bits is None
        or set(bits) != {8}
        or _number(fh, order, page, 284, 1) != 1
        or _number(fh, order, page, 32997, 1) != 1
        or _number(fh, order, page, 32998, 1) != 1
    ):
        return None
    (w, h), tw, th = dims, _number(fh, order, page, 322, 0) or 0, _number(fh, order, page, 323, 0) or 0
    if 324 not in page or 325 not in page or tw <= 0 or th <= 0 or tw * th > MAX_TILE_PIXELS:
        return None
    across = -(-w // tw)
    n = across * -(-h // th)
    items = []
    end = os.fstat(fh.fileno()).st_size
    for kind, count, at in (page[324], page[325]):
        item = _ITEM.get(kind)
        if item is None or count != n or at + n * struct.calcsize(item) > end:
            return None  # not one item a tile, or past the file's end
        items.append((at, item))
    tables = None
    if 347 in page:
        kind, count, at = page[347]
        if kind not in (1, 7) or count > MAX_VALUE_BYTES:
            return None
        fh.seek(at)
        tables = fh.read(count)
        if len(tables) < count:
            return None
    return _Level(w, h, tw, th, across, items[0], items[1], tables or None, _COLOURS[photometric], index)
