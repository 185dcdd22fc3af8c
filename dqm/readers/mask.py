"""Reader for raster label masks (PNG, TIFF, BMP; JPEG read but reported as lossy).

A mask is an image whose pixel values are labels: 0 is background, every other value is a class
as written (``raw_class`` is the value in decimal, ``"255"`` in a binary 0/255 mask), which
:func:`dqm.readers.resolve_classes` maps through the profile's ``mask_values``. Each region of
one value becomes one lesion with its holes, outlined exactly at the pixel edges as COCO RLE
masks are (:func:`~dqm.readers.common.rle.box_polygons`: the union of the value's runs, runs
repeated on consecutive rows merged into one rectangle), so its area is its pixel count; two
regions touching only at a pixel corner are two lesions. Coordinates are level-0 pixels of the mask; a region mask whose name carries its offset
(BCSS / DSA: ``…_left-59206_top-33505_…``) is moved there.

Bounded: the image's size is read from its header and a mask of more pixels than the profile's
``limits.mask_pixels`` is not decoded at all (``LIMIT_EXCEEDED``). Within it, a mask over
:data:`MAX_PIXELS` pixels is not decoded whole: a tiled TIFF (a pyramidal mask as large as its
slide) is read tile by tile instead, level 0: only one decoded tile (at most
:data:`MAX_TILE_BYTES`, else ``LIMIT_EXCEEDED``) and the rectangles of the runs found so far are held, and each value's rectangles are joined across tiles at the end. At
most :data:`MAX_LESIONS` regions are outlined, a tiled TIFF of more than :data:`MAX_TILES` tiles
is not read (``LIMIT_EXCEEDED``), and a mask of more than :data:`MAX_RUNS` runs of labels other
than background along its rows (noise, a checkerboard) is not outlined at all (``LIMIT_EXCEEDED``); a
tiled TIFF whose tile table misses a tile is unreadable. A mask decoded whole is copied out of
Pillow and its values counted a band of :data:`TALLY_PIXELS` at a time: its decoded image, its
labels and where their runs start are what it holds (its runs of background never listed) (8-bit: 2.6 bytes a pixel at the peak, where
counting them at once took 10; ``benchmarks/bench_mask_memory.py``). Read issues:

* ``MASK_EMPTY``: no pixel other than background;
* ``MASK_LOSSY``: a JPEG mask (compression invents values between labels);
* ``MASK_GREY_LEVELS``: a binary mask (0 and 255 hold nearly every pixel) with other values too:
  the share of pixels between the labels is reported;
* ``MASK_NOT_LABELS``: a colour image whose channels differ, or whose alpha channel varies (an
  overlay drawn by transparency), not a label image; not read;
* ``MASK_FRAMES``: more frames of the mask's size than the first (an animation, a multi-page
  TIFF): only the first is read, and that is said;
* ``MASK_PAGES_LOOP``: a TIFF whose chain of pages links back to an earlier page (within the
  first :data:`FRAMES_LOOKED_AT` + 1): each page is counted once, and the loop is said.
"""

from __future__ import annotations

import dataclasses
import io
import math
import re
import struct
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from dqm.findings import clip
from dqm.i18n import msg
from dqm.model import Annotation, Lesion, ReadIssue
from dqm.readers.common.base import lesion_as_read
from dqm.readers.common.reader import Role, Syntax, limits
from dqm.readers.common.rle import box_polygons

NAME = "mask"
TITLE = "label mask (PNG/TIFF/BMP)"
ROLE: Role = "mask"
SYNTAX: Syntax = "image"
ROOT = None

MAX_PIXELS = 64_000_000
"""Masks with more pixels are not decoded whole (a region of 8,000 x 8,000 pixels is within)."""
MAX_LESIONS = 50_000
"""At most this many regions are outlined; a mask with more is reported and cut there."""
PIXELS = "value_pixels"
"""Lesion property: how many pixels of the mask hold the lesion's value (all its regions)."""
MAX_TILE_BYTES = 64 << 20
"""The most bytes one decoded tile of a tiled TIFF mask may take: a tile's size is the file's to
choose, and one tile as large as the image (a 1 MB file of 9,008 x 9,008 uint64 zeros) was
decoded at once (823 MiB of peak RSS). 64 MiB is a tile of 8,192 x 8,192 8-bit labels; a
pyramidal TIFF's tiles are 256 to 1,024 pixels a side."""
WHOLE_BYTES_PER_PIXEL = 8
"""A mask decoded whole by tifffile (a big-endian BigTIFF, which Pillow does not open) may take
this many bytes a pixel of :data:`MAX_PIXELS` (512 MB: one 64-bit label a pixel, or 16-bit RGBA),
checked before decoding: a 115 KB file of 256 x 256 pixels of 200 uint64 samples took 101 MiB."""
MAX_RUNS = 1_000_000
"""Runs of labels other than background along the rows (all labels together) above which a mask
is not outlined (``LIMIT_EXCEEDED``): a checkerboard or noise of a few kilobytes would make
millions of one-pixel regions."""
MAX_TILES = 1 << 16
"""The most tiles a tiled TIFF mask is read in (``LIMIT_EXCEEDED`` over it, counted from its size
and tile table before any is decoded): each tile costs about 0.1 ms however small, and a 7 MB
blank 10,240 x 10,240 TIFF in 16 x 16 tiles (409,600) took 50 s of CPU where tiles of 1,024 take
1 s. A 4 G pixel mask (``limits.mask_pixels``) in tiles of 256 is 61,036 tiles; 50,000 x 50,000 in
tiles of 1,024, 2,401."""
FRAMES_LOOKED_AT = 8
"""Frames after the first a mask is searched for another of the first's size (an animated PNG
decodes each it passes; a pyramid's smaller levels are no second label plane)."""
BINARY_VALUE = 255
"""The foreground of a binary 0/255 mask (its class: ``mask_values``, else the item's diagnosis)."""
BINARY_SHARE = 0.99
"""A mask whose pixels are at least this share 0 or 255 is binary: other values are grey levels."""

SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"),  # BigTIFF (a whole-slide label mask past 4 GiB): Pillow and tifffile read it
    (b"MM\x00+", "TIFF"),
    (b"BM", "BMP"),
    (b"\xff\xd8\xff", "JPEG"),
)
OFFSET = re.compile(r"(?:^|[_\-.])left-(\d+)_top-(\d+)(?=[_\-.]|$)")


BMP_INFO_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})
"""The sizes a BMP's info header has: ``BM`` alone also starts text files."""


def kind(data: bytes) -> str | None:
    """``PNG``, ``TIFF``, ``BMP`` or ``JPEG`` by the file's signature, else None."""
    name = next((name for magic, name in SIGNATURES if data.startswith(magic)), None)
    if name == "BMP" and int.from_bytes(data[14:18], "little") not in BMP_INFO_SIZES:
        return None
    return name


def looks(content: bytes, rel: str) -> bool:
    """Bytes with the signature of an image this reader decodes."""
    return kind(content) is not None


def offset(rel: str) -> tuple[int, int]:
    """The region's offset in the slide from a BCSS-style name (``left-X_top-Y``), else (0, 0)."""
    match = OFFSET.search(rel.rsplit("/", 1)[-1])
    return (int(match[1]), int(match[2])) if match else (0, 0)


def _unreadable(rel: str, why: str, code: str = "ANNOTATION_UNREADABLE") -> Annotation:
    return Annotation(path=rel, format=NAME, readable=False, n_values=1, issues=[ReadIssue(code, why)])


def _over_limit(w: int, h: int, rel: str) -> Annotation | None:
    """The unreadable annotation of a mask over the profile's ``limits.mask_pixels``, else None."""
    most = limits().mask_pixels
    if w * h <= most:
        return None
    return _unreadable(
        rel,
        msg("a {w}x{h} mask is over limits.mask_pixels = {limit} (not decoded)", w=w, h=h, limit=most),
        "LIMIT_EXCEEDED",
    )


def _over_whole(w: int, h: int, rel: str) -> Annotation:
    """The unreadable annotation of a mask over :data:`MAX_PIXELS` not read tile by tile."""
    return _unreadable(
        rel,
        msg(
            "a {w}x{h} mask is over the {limit} pixel limit (only a tiled TIFF is read tile by tile)",
            w=w,
            h=h,
            limit=MAX_PIXELS,
        ),
        "LIMIT_EXCEEDED",
    )


def _decode(content: bytes, rel: str) -> tuple[np.ndarray | None, Annotation | None, int]:
    """The mask's 2-D label array (of its first frame), or the unreadable annotation saying why;
    and how many later frames have the first's size (:func:`_frames_alike`). Every mask is read
    as its file stores it, whatever its format (:func:`~dqm.slide_refs.unturned`)."""
    from dqm.slide_refs import unturned

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's own decompression-bomb warning: bounded below
            image = unturned(Image.open(io.BytesIO(content)))  # as stored, as tifffile reads it
            w, h = image.size
            over = _over_limit(w, h, rel)
            if over is not None:
                return None, over, 0
            if w * h > MAX_PIXELS:
                return None, _over_whole(w, h, rel), 0
            frames = _frames_alike(image)
            see_through = _see_through(image, rel)
            if see_through is not None:
                return None, see_through, 0
            array = _pixels(image)
            if array is None:
                return None, _not_labels(rel), 0
    except UnidentifiedImageError:  # its message names a memory address: not reproducible
        return (
            None,
            _unreadable(rel, msg("the image cannot be decoded: Pillow does not recognise its content")),
            0,
        )
    except Image.DecompressionBombError:  # Pillow refuses to open it: its size is not told apart
        # Pillow's own words were the reason (English, untranslated) and the code ANNOTATION_UNREADABLE
        said = msg(
            "more pixels than Pillow opens ({limit:,}; a decompression bomb?): not decoded (only a tiled "
            "TIFF is read tile by tile)",
            limit=2 * (Image.MAX_IMAGE_PIXELS or 0),
        )
        return None, _unreadable(rel, said, "LIMIT_EXCEEDED"), 0
    except (OSError, ValueError, SyntaxError) as exc:
        return (
            None,
            _unreadable(rel, msg("the image cannot be decoded: {reason}", reason=clip(str(exc), 200))),
            0,
        )
    return _labels(array, rel, frames)


def _labels(array: np.ndarray, rel: str, frames: int) -> tuple[np.ndarray | None, Annotation | None, int]:
    """:func:`_decode`'s result of decoded pixels: a 2-D array of integers (booleans as 0 and
    255, in the machine's byte order), else the unreadable annotation saying why."""
    if array.ndim != 2:
        return (
            None,
            _unreadable(
                rel, msg("an image of shape {shape}: not a single-channel label mask", shape=str(array.shape))
            ),
            0,
        )
    if array.dtype.kind not in "uib":  # NaN is no label: it is not even equal to itself
        return (
            None,
            _unreadable(rel, msg("an image of {dtype} values: not a label mask", dtype=str(array.dtype))),
            0,
        )
    if array.dtype == bool:
        array = array.astype(np.uint8)  # 0 and 1: not a view (Pillow's bytes for True are 255)
        array *= 255
    if not array.dtype.isnative:  # a big-endian TIFF's, as tifffile leaves it
        array = array.astype(array.dtype.newbyteorder("="))
    return array, None, frames


def _form_refused(page: Any, rel: str, samples: int, limit: int) -> Annotation | None:
    """The unreadable annotation of a TIFF page (read by tifffile) whose samples are no label's
    (not 1, 3 or 4 a pixel, or not integers), or whose ``samples`` to decode at once (a tile's when
    it is tiled, else the page's) take more than ``limit`` bytes; else None. Checked before any
    decoding, by the tiled path and the big-endian BigTIFF's whole one alike."""
    if page.samplesperpixel not in (1, 3, 4) or page.dtype.kind not in "uib":
        return _unreadable(
            rel,
            msg(
                "a TIFF of {samples} samples of {dtype}: not a label mask",
                samples=page.samplesperpixel,
                dtype=str(page.dtype),
            ),
        )
    size = samples * page.dtype.itemsize
    if size <= limit:
        return None
    mib = math.ceil(size * 10 / (1 << 20)) / 10  # rounded up: 64.01 MiB is over 64
    if page.is_tiled:
        said = msg(
            "its tiles are {w}x{h} pixels of {dtype}, {mib:,.1f} MiB each decoded, over the {limit} MiB "
            "one tile may take (not decoded)",
            w=page.tilewidth,
            h=page.tilelength,
            dtype=str(page.dtype),
            mib=mib,
            limit=limit >> 20,
        )
    else:
        said = msg(
            "its {samples} samples of {dtype} a pixel take {mib:,.1f} MiB decoded, over the {limit} MiB "
            "a whole mask may take (not decoded)",
            samples=page.samplesperpixel,
            dtype=str(page.dtype),
            mib=mib,
            limit=limit >> 20,
        )
    return _unreadable(rel, said, "LIMIT_EXCEEDED")


def _decode_big_endian_bigtiff(content: bytes, rel: str) -> tuple[np.ndarray | None, Annotation | None, int]:
    """As :func:`_decode`, of a big-endian BigTIFF (``MM\\0+``), which Pillow does not open
    ("does not recognise its content"): decoded whole by tifffile, within the same limits."""
    try:
        import tifffile

        with tifffile.TiffFile(io.BytesIO(content)) as tf:
            page: Any = tf.pages[0]
            w, h = int(page.imagewidth), int(page.imagelength)
            over = _over_limit(w, h, rel)
            if over is not None:
                return None, over, 0
            if w * h > MAX_PIXELS:
                return None, _over_whole(w, h, rel), 0
            refused = _form_refused(
                page, rel, w * h * int(page.samplesperpixel), WHOLE_BYTES_PER_PIXEL * MAX_PIXELS
            )
            if refused is not None:  # before decoding: 200 samples of 8 bytes a pixel were decoded first
                return None, refused, 0
            array = np.asarray(page.asarray())
            if page.planarconfig == 2 and array.ndim == 3 and int(page.samplesperpixel) > 1:
                array = np.moveaxis(
                    array, 0, -1
                )  # samples stored apart: (planes, h, w), not h rows of w pixels
            if int(page.photometric) == 0 and array.dtype in (np.bool_, np.uint8):  # MINISWHITE
                array = ~array  # as Pillow reads it (its "1;I" and "L;I"): tifffile leaves it as stored
            frames = 0
            pages, _ = _page_chain(content)  # tifffile follows a looping chain round: each page once
            try:  # as _frames_alike: a damaged later page leaves the first read
                for k in range(1, min(len(pages), 1 + FRAMES_LOOKED_AT)):
                    later: Any = tf.pages[k]
                    frames += (int(later.imagewidth), int(later.imagelength)) == (w, h)
            except Exception:  # IndexError past the last; tifffile's errors on a damaged page
                pass
    except Exception as exc:  # tifffile and its codecs raise many kinds on a damaged file
        return (
            None,
            _unreadable(rel, msg("the image cannot be decoded: {reason}", reason=clip(str(exc), 200))),
            0,
        )
    if array.ndim == 3 and array.shape[-1] in (3, 4):  # RGB(A) samples: one pixel's, as Pillow's
        if array.shape[-1] == 4 and int(array[..., 3].min()) != int(array[..., 3].max()):
            return None, _alpha_varies(rel, int(array[..., 3].min()), int(array[..., 3].max())), 0
        grey = _grey(array)
        if grey is None:
            return None, _not_labels(rel), 0
        array = grey
    return _labels(array, rel, frames)


def decode_whole(content: bytes, rel: str) -> tuple[np.ndarray | None, Annotation | None, int]:
    """A mask's 2-D label array decoded whole, in the machine's byte order (Pillow's; tifffile's
    for a big-endian BigTIFF, ``MM\\0+``, which Pillow does not open), or the unreadable annotation
    saying why (over :data:`MAX_PIXELS` among others); and how many later frames have the first's
    size. What the audit reads a mask not read tile by tile with, and what
    :mod:`dqm.validity.corrupt` reads one to corrupt with: the same labels for both."""
    whole = _decode_big_endian_bigtiff if content.startswith(b"MM\0+") else _decode
    return whole(content, rel)


def _see_through(image: Image.Image, rel: str) -> Annotation | None:
    """The unreadable annotation of a mask with an alpha channel that is not one value throughout,
    else None. Its labels are read from its colour samples, and a mask drawn as an overlay (white,
    or one colour, everywhere; the regions opaque, the rest transparent) was one region covering
    the whole image, read without a word. Pillow's extrema of each band: no copy of the pixels."""
    if image.mode not in ("RGBA", "LA", "PA"):
        return None
    low, high = image.getextrema()[-1]  # type: ignore[index,misc]
    if low == high:
        return None
    return _alpha_varies(rel, low, high)


def _alpha_varies(rel: str, low: int, high: int) -> Annotation:
    """The unreadable annotation of a mask whose alpha channel runs from ``low`` to ``high``."""
    return _unreadable(
        rel,
        msg(
            "a mask whose alpha channel varies ({low} to {high}): its regions may be drawn by "
            "transparency, which its colour does not show; not a label mask",
            low=low,
            high=high,
        ),
        "MASK_NOT_LABELS",
    )


def _frames_alike(image: Image.Image) -> int:
    """How many of the :data:`FRAMES_LOOKED_AT` frames after the first have its size, as stored;
    the image is left at its first frame, as stored (:func:`~dqm.slide_refs.unturned`)."""
    from dqm.slide_refs import unturned

    size, alike = image.size, 0
    try:
        for k in range(1, 1 + FRAMES_LOOKED_AT):
            image.seek(k)  # EOFError past the last (n_frames would walk every frame)
            alike += unturned(image).size == size  # stored sizes
    except (EOFError, OSError, ValueError, SyntaxError):  # a damaged later frame: the first is read
        pass
    finally:
        image.seek(0)
        unturned(image)
    return alike


def _page_chain(content: bytes) -> tuple[list[int], int | None]:
    """The offsets of a TIFF's first pages (image file directories), at most one more than
    :data:`FRAMES_LOOKED_AT` and each once, in the order their chain links them; and the page
    (counted from 1) the last of them links back to when the chain loops there, else None. Any
    byte order, classic or BigTIFF; the chain ends at an offset of 0 or one past the file's end."""
    order = {b"II": "<", b"MM": ">"}.get(content[:2])
    if order is None or len(content) < 16:
        return [], None
    big = struct.unpack_from(order + "H", content, 2)[0] == 43
    count, entry, link = ("Q", 20, "Q") if big else ("H", 12, "I")
    (at,) = struct.unpack_from(order + link, content, 8 if big else 4)
    pages: list[int] = []
    while at and len(pages) <= FRAMES_LOOKED_AT:
        if at in pages:
            return pages, pages.index(at) + 1
        end = at + struct.calcsize(count)
        if end > len(content):
            break
        pages.append(at)
        (entries,) = struct.unpack_from(order + count, content, at)
        at_next = end + entries * entry
        if at_next + struct.calcsize(link) > len(content):
            break
        (at,) = struct.unpack_from(order + link, content, at_next)
    return pages, None


def _loop_issue(pages: int, back: int) -> ReadIssue:
    return ReadIssue(
        "MASK_PAGES_LOOP",
        msg(
            "the TIFF's chain of pages loops: page {last} links back to page {back} (a damaged or "
            "hostile file; each page was counted once)",
            last=pages,
            back=back,
        ),
    )


def _frames_issue(alike: int) -> ReadIssue:
    return ReadIssue(
        "MASK_FRAMES",
        msg(
            "the mask holds more frames of its size than the first ({alike} of the next {looked} looked at): "
            "only the first was read",
            alike=alike,
            looked=FRAMES_LOOKED_AT,
        ),
    )


def _pixels(image: Image.Image) -> np.ndarray | None:
    """The decoded pixels of ``image`` as an array, copied a band of rows at a time
    (:data:`TALLY_PIXELS` pixels) into one: the labels (the first sample of an ``LA`` image or,
    by :func:`_grey`, of an RGB(A) label image); None for a colour image whose channels differ;
    an array of more than two dimensions for any other image of several samples. The whole image
    as one array came through a bytes copy of it, and an RGB one through a conversion and its copy
    besides (14 bytes a pixel at the peak, where Pillow holds 4)."""
    w, h = image.size
    step = max(1, TALLY_PIXELS // max(1, w))
    array: np.ndarray | None = None
    for r in range(0, h, step):
        band = np.asarray(image.crop((0, r, w, min(h, r + step))))
        if band.ndim == 3 and image.mode in ("RGB", "RGBA", "LA"):
            grey = band[..., 0] if image.mode == "LA" else _grey(band)
            if grey is None:
                return None
            band = grey
        if array is None:
            array = np.empty((h, *band.shape[1:]), band.dtype)
        array[r : r + len(band)] = band
    return array


def _grey(pixels: np.ndarray) -> np.ndarray | None:
    """The labels of ``(rows, cols, samples)`` pixels: the first sample when the colour samples
    (up to three) are equal, as in an RGB(A) label image; None when they differ (a colour image)."""
    colours = range(1, min(3, pixels.shape[-1]))
    if any(not np.array_equal(pixels[..., 0], pixels[..., c]) for c in colours):
        return None
    return pixels[..., 0]


def _not_labels(rel: str) -> Annotation:
    return _unreadable(rel, msg("a colour image whose channels differ: not a label mask"), "MASK_NOT_LABELS")


def _value_issues(values: np.ndarray, counts: np.ndarray, fmt: str | None) -> list[ReadIssue]:
    issues = []
    total = int(counts.sum())
    if fmt == "JPEG":
        issues.append(
            ReadIssue("MASK_LOSSY", msg("a JPEG mask: lossy compression puts values between the labels"))
        )
    by_value = dict(zip(values.tolist(), counts.tolist(), strict=True))
    binary = by_value.get(0, 0) + by_value.get(BINARY_VALUE, 0)
    between = total - binary
    if by_value.get(BINARY_VALUE) and between and binary >= BINARY_SHARE * total:
        issues.append(
            ReadIssue(
                "MASK_GREY_LEVELS",
                msg(
                    "a 0/255 mask with {n} other values: {between} of {total} pixels ({share:.3%}) lie between the labels",
                    n=len(by_value) - 2 + (0 not in by_value),
                    between=between,
                    total=total,
                    share=between / total,
                ),
            )
        )
    if not any(v != 0 for v in by_value):
        issues.append(
            ReadIssue(
                "MASK_EMPTY", msg("every one of the mask's {total} pixels is background (0)", total=total)
            )
        )
    return issues


def _changes(array: np.ndarray) -> np.ndarray:
    """Where each run of one label starts along the rows of a 2-D label array (``True`` at every
    row's first pixel and wherever a pixel differs from its left neighbour)."""
    change = np.ones(array.shape, bool)
    np.not_equal(array[:, 1:], array[:, :-1], out=change[:, 1:])
    return change


def _row_runs(array: np.ndarray, change: np.ndarray) -> int:
    """How many runs of a label other than background the rows of ``array`` hold (``change``:
    :func:`_changes` of it), a band of :data:`TALLY_PIXELS` at a time. Background runs are not
    outlined: counting them, every row of every tile was one at least, and a blank tiled mask of
    50,000 x 50,000 in tiles of 1,024 (2.5 million row pieces) was refused as noise."""
    step = max(1, TALLY_PIXELS // max(1, array.shape[1]))
    return sum(
        int(np.count_nonzero(change[r : r + step] & (array[r : r + step] != 0)))
        for r in range(0, array.shape[0], step)
    )


def _foreground_runs(array: np.ndarray, change: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The row, first column and end column (exclusive) of each run of a label other than
    background in ``array`` (``change``: :func:`_changes` of it), in row order, a band of
    :data:`TALLY_PIXELS` at a time. Background is dropped before any run is listed: listing every
    run start first held four arrays as long as the runs, background included, and a blank 1 x
    63,000,000 PNG of 122 KB (a background run a row) peaked at 1,751 MiB. A run ends at the column
    before the next start in its row, or at the row's end: its last pixel is where the next pixel
    starts a run; a foreground run's start and its last pixel come in the same order."""
    h, w = array.shape
    step = max(1, TALLY_PIXELS // max(1, w))
    found_rows, found_x0, found_x1 = [], [], []
    for r in range(0, h, step):
        fore = array[r : r + step] != 0
        starts = change[r : r + step] & fore
        last = np.ones(fore.shape, bool)
        last[:, :-1] = change[r : r + step, 1:]
        last &= fore
        rows, x0 = np.nonzero(starts)
        found_rows.append(rows + r)
        found_x0.append(x0)
        found_x1.append(np.nonzero(last)[1] + 1)
    if not found_rows:
        empty = np.zeros(0, np.intp)
        return empty, empty, empty
    return np.concatenate(found_rows), np.concatenate(found_x0), np.concatenate(found_x1)


def _label_runs(array: np.ndarray, change: np.ndarray) -> dict[int, np.ndarray]:
    """Each non-zero value's rectangles (``x0, y0, x1, y1``) in a 2-D label array whose run starts
    are ``change`` (:func:`_changes`): its runs along each row, a run repeated on the next rows
    merged into one taller rectangle. One pass over the pixels for every value at once (a pass for
    each value took minutes on a mask of 65,535)."""
    rows, x0, x1 = _foreground_runs(array, change)
    values = array[rows, x0]
    if not len(rows):
        return {}
    order = np.lexsort((rows, x1, x0, values))
    rows, x0, x1, values = rows[order], x0[order], x1[order], values[order]
    new = np.ones(len(rows), bool)
    new[1:] = (
        (values[1:] != values[:-1]) | (x0[1:] != x0[:-1]) | (x1[1:] != x1[:-1]) | (rows[1:] != rows[:-1] + 1)
    )
    first = np.flatnonzero(new)
    last = np.r_[first[1:], len(rows)] - 1
    boxes = np.column_stack([x0[first], rows[first], x1[first], rows[last] + 1]).astype(np.float64)
    keys, starts = np.unique(values[first], return_index=True)
    return dict(zip(keys.tolist(), np.split(boxes, starts[1:]), strict=True))


def _too_fragmented(runs: int, rel: str) -> Annotation | None:
    """The unreadable annotation of a mask of more than :data:`MAX_RUNS` runs (noise, a
    checkerboard: far more regions than any outline can hold), else None."""
    if runs <= MAX_RUNS:
        return None
    return _unreadable(
        rel,
        msg(
            "the mask's rows hold {runs} runs of labels other than background, over the {limit} an outline is made of "
            "(noise or a pattern, not regions: not outlined)",
            runs=runs,
            limit=MAX_RUNS,
        ),
        "LIMIT_EXCEEDED",
    )


def _whole_boxes(
    array: np.ndarray, change: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict[int, np.ndarray]]:
    """Values, their pixel counts, and each non-zero value's run rectangles, of a decoded mask
    whose run starts are ``change`` (:func:`_changes`)."""
    values, counts = _tally(array)
    return values, counts, _label_runs(array, change)


def _tiled_page(content: bytes) -> Any:
    """Level 0 of a tiled TIFF too large to decode whole, or of a volumetric one (ImageDepth over
    1, refused by :func:`_tiled_boxes` whatever its size), else None."""
    if kind(content) != "TIFF":
        return None
    try:
        import tifffile

        page: Any = tifffile.TiffFile(io.BytesIO(content)).pages[0]
    except Exception:  # not a TIFF tifffile reads: Pillow reports why
        return None
    if int(getattr(page, "imagedepth", 1) or 1) > 1:
        return page
    if not getattr(page, "is_tiled", False) or len(tuple(getattr(page, "shape", ()))) < 2:
        return None
    # its size, not its shape's first two: a page of separate sample planes is shaped (planes, h, w)
    if int(page.imagelength) * int(page.imagewidth) <= MAX_PIXELS:
        return None
    return page


TALLY_PIXELS = 1 << 22
"""Pixels :func:`_tally` counts at a time: a histogram widens each to 8 bytes and a sort copies
them, so a whole mask at once took 8 bytes a pixel more (a 64-million-pixel mask: 10 bytes a
pixel in all, 611 MiB)."""


def _tally(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The values of a 2-D label array and their pixel counts, a band of rows at a time (a
    histogram for 8- and 16-bit labels, a sort of each band otherwise)."""
    step = max(1, TALLY_PIXELS // max(1, labels.shape[1]))
    bands = (labels[r : r + step].ravel() for r in range(0, max(1, labels.shape[0]), step))
    if labels.dtype in (np.uint8, np.uint16):
        counts = np.zeros(1 << (8 * labels.dtype.itemsize), np.int64)
        for band in bands:
            counts += np.bincount(band, minlength=len(counts))
        values = np.flatnonzero(counts)
        return values, counts[values]
    found = [np.unique(band, return_counts=True) for band in bands]
    values, where = np.unique(np.concatenate([v for v, _ in found]), return_inverse=True)
    counts = np.zeros(len(values), np.int64)
    np.add.at(counts, where, np.concatenate([n for _, n in found]))
    return values, counts


def _tile_count(page: Any) -> int:
    """How many tiles a tiled TIFF page is read in: by its size and tile size (each sample plane's
    apart when its samples are stored separately), or its tile table's length when that is longer."""
    w, h = int(page.imagewidth), int(page.imagelength)
    across = -(-w // max(1, int(page.tilewidth))) * -(-h // max(1, int(page.tilelength)))
    depth = -(-max(1, int(page.imagedepth)) // max(1, int(page.tiledepth)))
    planes = int(page.samplesperpixel) if page.planarconfig == 2 else 1
    return max(across * depth * planes, len(page.dataoffsets))


def _segments(page: Any, planes: int) -> Iterator[tuple[np.ndarray | None, tuple[int, int]]]:
    """A tiled page's tiles, each ``(height, width, samples)`` (None: missing), and where each
    starts ``(y, x)``. Samples stored apart (``planes`` > 1: PlanarConfiguration 2, each plane's
    tiles after the last plane's) are decoded a tile position at a time, its planes stacked: a
    tile is one pixel's samples, never one plane read as pixels of their own."""
    if planes == 1:
        for segment, index, _ in page.segments():
            yield (None if segment is None else np.asarray(segment)[0]), (int(index[-3]), int(index[-2]))
        return
    fh, offsets, counts = page.parent.filehandle, page.dataoffsets, page.databytecounts
    decode = page.decode  # before any seek: made on first use, it reads the file (a JPEG's header)
    per_plane = len(offsets) // planes
    across = -(-int(page.imagewidth) // max(1, int(page.tilewidth)))
    down = -(-int(page.imagelength) // max(1, int(page.tilelength)))
    for k in range(max(per_plane, min(per_plane + 1, across * down))):  # one past a short table
        parts: list[np.ndarray] = []
        where = (k // across * int(page.tilelength), k % across * int(page.tilewidth))
        if k >= per_plane:  # the tile table holds fewer positions than the size needs: missing
            yield None, where
            return
        for plane in range(planes):
            i = plane * per_plane + k
            if offsets[i] <= 0 or counts[i] <= 0:  # no bytes stored: missing, as tifffile's segments say
                yield None, where
                return
            fh.seek(offsets[i])
            segment, _, _ = decode(fh.read(counts[i]), i, jpegtables=page.jpegtables, _fullsize=True)
            if segment is None:
                yield None, where
                return
            parts.append(np.asarray(segment)[0, :, :, 0])
        yield np.stack(parts, axis=-1), where


def _tiled_boxes(page: Any, rel: str) -> tuple[np.ndarray, np.ndarray, dict[int, np.ndarray]] | Annotation:
    """As :func:`_whole_boxes`, decoding one tile at a time; or the unreadable annotation."""
    h, w = int(page.imagelength), int(page.imagewidth)
    if int(page.imagedepth) > 1:  # its slices' tiles at the same (y, x): read as one, they merged
        return _unreadable(
            rel,
            msg("a volumetric TIFF of {depth:,} slices: not a 2-D label mask", depth=int(page.imagedepth)),
        )
    over = _over_limit(w, h, rel)
    if over is not None:
        return over
    planes = int(page.samplesperpixel) if page.planarconfig == 2 else 1  # a tile holds one plane's
    area = int(page.tilelength) * int(page.tilewidth) * max(1, int(page.tiledepth))
    refused = _form_refused(page, rel, area * int(page.samplesperpixel) // planes, MAX_TILE_BYTES)
    if refused is not None:
        return refused
    tiles = _tile_count(page)
    if tiles > MAX_TILES:
        return _unreadable(
            rel,
            msg(
                "it is stored in {tiles:,} tiles of {w}x{h} pixels, over the {limit:,} a mask is read in "
                "(not decoded)",
                tiles=tiles,
                w=page.tilewidth,
                h=page.tilelength,
                limit=MAX_TILES,
            ),
            "LIMIT_EXCEEDED",
        )
    counts: dict[int, int] = {}
    parts: dict[int, list[np.ndarray]] = {}
    runs = 0
    alpha: tuple[int, int] | None = None
    try:
        for segment, (y, x) in _segments(page, planes):
            if segment is None:  # the tile table holds fewer tiles than the size needs
                return _unreadable(rel, msg("the tile at x={x}, y={y} is missing from the file", x=x, y=y))
            tile = segment[: max(0, h - y), : max(0, w - x)]  # edge tiles are padded: crop
            if not tile.size:  # a tile table longer than the size needs: its extra tiles lie outside
                continue
            if tile.ndim == 3 and tile.shape[-1] == 4:  # RGBA: its alpha must be one value throughout
                low, high = int(tile[..., 3].min()), int(tile[..., 3].max())
                alpha = (low, high) if alpha is None else (min(alpha[0], low), max(alpha[1], high))
                if alpha[0] != alpha[1]:
                    return _alpha_varies(rel, *alpha)
            grey = _grey(tile)
            if grey is None:
                return _not_labels(rel)
            tile = grey
            if tile.dtype == bool:
                tile = tile.astype(np.uint8) * 255
            change = _changes(tile)
            runs += _row_runs(tile, change)
            fragmented = _too_fragmented(runs, rel)
            if fragmented is not None:
                return fragmented
            values, n = _tally(tile)
            for value, count in zip(values.tolist(), n.tolist(), strict=True):
                counts[value] = counts.get(value, 0) + count
            for value, found in _label_runs(tile, change).items():
                parts.setdefault(value, []).append(found + np.array([x, y, x, y], np.float64))
    except (OSError, ValueError, RuntimeError) as exc:  # a corrupt tile: imagecodecs and tifffile raise these
        return _unreadable(rel, msg("a tile cannot be decoded: {reason}", reason=clip(str(exc), 200)))
    keys = np.array(sorted(counts))
    boxes = {value: np.concatenate(rects) for value, rects in parts.items()}
    return keys, np.array([counts[k] for k in keys.tolist()]), boxes


def read(content: bytes, rel: str, issues: list[ReadIssue]) -> list[Annotation]:
    """The mask's regions as lesions (one per connected region of a value, with holes)."""
    page = _tiled_page(content)
    if page is not None:
        got = _tiled_boxes(page, rel)
        if isinstance(got, Annotation):
            return [got]
        values, counts, value_boxes = got
        h, w = int(page.imagelength), int(page.imagewidth)  # a planar page is shaped (planes, h, w)
    else:
        array, failed, frames = decode_whole(content, rel)
        if failed is not None:
            return [failed]
        if frames:
            issues = [*issues, _frames_issue(frames)]
        assert array is not None
        change = _changes(array)
        fragmented = _too_fragmented(_row_runs(array, change), rel)
        if fragmented is not None:
            return [fragmented]
        values, counts, value_boxes = _whole_boxes(array, change)
        del change
        h, w = array.shape
    found = [*issues, *_value_issues(values, counts, kind(content))]
    if kind(content) == "TIFF":
        pages, back = _page_chain(content)
        if back is not None:
            found.append(_loop_issue(len(pages), back))
    left, top = offset(rel)
    lesions: list[Lesion] = []
    for value, count in zip(values.tolist(), counts.tolist(), strict=True):
        if value == 0:
            continue
        boxes = value_boxes[value] + np.array([left, top, left, top], np.float64)
        for k, rings in enumerate(box_polygons(boxes)):
            if len(lesions) >= MAX_LESIONS:
                found.append(
                    ReadIssue(
                        "MASK_TOO_MANY_REGIONS",
                        msg("over {limit} regions: the rest were not outlined", limit=MAX_LESIONS),
                    )
                )
                break
            lesions.append(
                lesion_as_read(len(lesions), f"/mask/{value}/{k}", str(value), [rings], {PIXELS: count})
            )
        else:
            continue
        break
    region = (left, top) != (0, 0)  # a region of a slide: the mask does not say the slide's size
    return [
        Annotation(
            path=rel,
            format=NAME,
            width=None if region else w,
            height=None if region else h,
            lesions=lesions,
            n_values=len(values),
            issues=list(dict.fromkeys(found)),
            slide_pointers={"width": "/mask/width", "height": "/mask/height"},
            orientation=_orientation(content),
        )
    ]


def _orientation(content: bytes) -> int | None:
    """The mask's Orientation tag: a TIFF's first page's (any byte order, BigTIFF too), a PNG's or
    JPEG's EXIF one (its header, no pixel decoded); None where it states none."""
    if kind(content) == "TIFF":
        from dqm.slide_refs import tiff_orientation

        return tiff_orientation(io.BytesIO(content))
    if kind(content) not in ("PNG", "JPEG"):
        return None
    from dqm.slide_refs import exif_orientation

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(content)) as image:
                return exif_orientation(image.info)
    except Exception:  # Pillow raises many kinds on a damaged header: the mask's read says why
        return None


def at_offset(ann: Annotation, offset: tuple[int, int] | None) -> Annotation:
    """A mask of one region of its slide moved to the offset the manifest states (columns
    ``mask_left``, ``mask_top``); a mask whose name states one (``left-…_top-…``), another format
    or no offset is returned as it is. A region declares no slide size."""
    if ann.format != NAME or not offset or ann.width is None or OFFSET.search(ann.path.rsplit("/", 1)[-1]):
        return ann
    shift = np.asarray(offset, np.float64)
    lesions = [
        lesion_as_read(
            les.index,
            les.pointer,
            les.raw_class,
            [[ring + shift for ring in poly] for poly in les.polygons],
            les.properties,
        )
        for les in ann.lesions
    ]
    return dataclasses.replace(ann, lesions=lesions, width=None, height=None)


def at_slide_scale(ann: Annotation, slide_size: tuple[int, int] | None, downsample: int | None) -> Annotation:
    """A whole-slide mask at a downsample of its slide, in the slide's level-0 pixels.

    The downsample is the one stated (manifest ``mask_downsample`` column or profile
    ``mask_downsample``), else inferred when the slide's size is an exact integer multiple ``k``
    of the mask's on both axes; outlines and size are multiplied by it. Anything else (a region
    mask, another format, a stated or inferred factor of 1) is returned as it is; a size that
    still differs is ``MASK_SIZE_MISMATCH``.
    """
    if ann.format != NAME or not ann.width or not ann.height:
        return ann
    k = downsample
    if k is None and slide_size is not None:
        (sw, sh), w, h = slide_size, ann.width, ann.height
        k = sw // w if sw % w == 0 and sh % h == 0 and sw // w == sh // h else None
    if not k or k == 1:
        return ann
    lesions = [
        lesion_as_read(
            les.index,
            les.pointer,
            les.raw_class,
            [[ring * k for ring in poly] for poly in les.polygons],
            les.properties,
        )
        for les in ann.lesions
    ]
    return dataclasses.replace(ann, lesions=lesions, width=ann.width * k, height=ann.height * k)
