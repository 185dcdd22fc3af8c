"""Opening slides: header facts and a bounded readability probe, never a full level-0 read.

:func:`probe_slide` does all the I/O a slide check needs and returns a :class:`SlideProbe`,
plain data the checks judge without touching the file. OpenSlide opens whole-slide formats;
plain images (PNG, JPEG, single-page TIFF) go through Pillow. Tests build probes in memory
(:func:`virtual_probe`) so most of them need no slide file.

What one probe reads, in order, within a per-slide budget of work (:class:`ProbeOptions`,
:mod:`dqm.budget`: the pixels each step reads or processes, counted before it starts, so that
neither the machine nor its load changes what a probe does; CPU and wall-clock time only as a
backstop against decoders that crawl and reads that wait): the
header (vendor, size, levels, mpp, objective power, associated images, properties), the level-0
codec (from the TIFF or DICOM header), a bounded sample of tiles at up to three levels, a tissue
mask from the smallest level that has at most :data:`MAX_MASK_PIXELS` pixels (or the slide's
thumbnail image), and, only when asked, a small thumbnail of the label image. A step whose work
would go past the budget is skipped and recorded. Never a full read of a big level 0.
:func:`probe_slide_cached` keeps the last probes per process so each slide is opened once per run.
"""

from __future__ import annotations

import base64
import ctypes
import dataclasses
import errno
import functools
import hashlib
import io
import math
import os
import re
import stat
import struct
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from dqm import file_digests, slide_refs
from dqm.budget import Budget, Meter, progress
from dqm.coords import PLAUSIBLE_MPP, PLAUSIBLE_OBJECTIVE_POWER, usable_mpp
from dqm.facts import StainSummary
from dqm.findings import clip
from dqm.i18n import N_, Message, msg
from dqm.image_text import UNREAD, pillow_texts, tiff_texts
from dqm.model import UNSETTLED, Annotation, SlideFacts, unread_digest
from dqm.pixels.artefacts import Artefacts, TileSource, decoded_pixels, measure
from dqm.pixels.ink import (
    all_ink,
    colour_readings,
    one_colour,
    section_region,
    section_share,
    stained_section,
)
from dqm.pixels.masks import dilate, fill_holes
from dqm.pixels.stain import dqt_tables, jpeg_quality, scanner, stain_descriptors
from dqm.slide_refs import (
    GONE_ERRNOS,
    SPECIAL,
    EachStrict,
    NotRegular,
    PartsUnread,
    TilesPastEnd,
    Watched,
    named_as,
    openslide_name,
    refused_again,
    refused_reference,
    slide_parts,
    tiff_orientation,
    tiff_refusal,
    tiles_looked_at,
    transient,
    watched_besides,
)
from dqm.slide_tiles import READ_FLAGS, JpegTiles, openslide_rgba
from dqm.sparse_files import SparseFileError, sparse_of

HASH_CHUNK = 1 << 20
TILE = 256
MAX_PLAIN_PIXELS = 40_000 * 40_000
MAX_PLAIN_SIDE = 1 << 20
"""Pixels of a plain image's longer side: Pillow's decoders refuse a row past 2^31 bits with a
MemoryError (100,000,000 x 1 RGB), and a thumbnail of a one-pixel-thick image is no picture."""


def plain_too_large(width: int, height: int) -> bool:
    """A plain image Pillow is not asked to decode: more than :data:`MAX_PLAIN_PIXELS` pixels, or
    a side longer than :data:`MAX_PLAIN_SIDE`."""
    return width * height > MAX_PLAIN_PIXELS or max(width, height) > MAX_PLAIN_SIDE


MAX_MASK_PIXELS = 2048 * 2048
"""Largest level (or image) read whole for the tissue mask."""
MIN_THUMBNAIL_SIDE = 512
"""A slide's own thumbnail image is used for the tissue mask when at least this long."""
MASK_SIDE = 1024
"""The tissue mask is computed on an image at most this many pixels on a side."""
MIN_SATURATION = 0.05
"""Saturation at or under which a pixel is glass whatever Otsu says (blank slides, pale tissue)."""
MIN_OBJECT_FRACTION = 0.001
"""Specks smaller than this share of the mask (after dilation) are noise, not tissue."""
PROBE_CACHE_SIZE = 32
MAX_GRID = 1 << 14
"""A stored tile wider or taller than this (level pixels) is taken as no grid: reads are not snapped."""
JPEG_HEAD_BYTES = 1 << 16
"""Bytes of a TIFF's first JPEG tile read for its quantisation tables."""

# TIFF Compression tag (259) values -> codec names (TIFF 6, Adobe, Aperio, libtiff registry).
TIFF_CODECS = {
    1: "none",
    5: "lzw",
    6: "jpeg",  # old-style JPEG
    7: "jpeg",
    8: "deflate",
    32946: "deflate",
    32773: "packbits",
    33003: "jpeg2000",  # Aperio JPEG 2000 YCbCr
    33005: "jpeg2000",  # Aperio JPEG 2000 RGB
    34712: "jpeg2000",
    34892: "jpeg",  # lossy JPEG (DNG)
    34887: "lerc",
    34925: "lzma",
    34926: "zstd",
    34927: "webp",
    34933: "png",
    34934: "jpegxr",
    50000: "zstd",
    50001: "webp",
    50002: "jpegxl",
    52546: "jpegxl",
    22610: "jpegxr",  # NDPI JPEG XR
}
# DICOM transfer syntaxes -> codec names.
DICOM_CODECS = {
    "1.2.840.10008.1.2": "none",
    "1.2.840.10008.1.2.1": "none",
    "1.2.840.10008.1.2.2": "none",
    "1.2.840.10008.1.2.5": "rle",
    "1.2.840.10008.1.2.4.50": "jpeg",
    "1.2.840.10008.1.2.4.51": "jpeg",
    "1.2.840.10008.1.2.4.57": "jpeg",
    "1.2.840.10008.1.2.4.70": "jpeg",
    "1.2.840.10008.1.2.4.80": "jpegls",
    "1.2.840.10008.1.2.4.81": "jpegls",
    "1.2.840.10008.1.2.4.90": "jpeg2000",
    "1.2.840.10008.1.2.4.91": "jpeg2000",
    "1.2.840.10008.1.2.4.110": "jpegxl",
    "1.2.840.10008.1.2.4.111": "jpegxl",
    "1.2.840.10008.1.2.4.112": "jpegxl",
}
PILLOW_CODECS = {
    "JPEG": "jpeg",
    "PNG": "png",
    "WEBP": "webp",
    "BMP": "none",
    "GIF": "lzw",
    "JPEG2000": "jpeg2000",
}
MAGIC = (
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "BigTIFF"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG", "PNG"),
)


FIT_TOLERANCE_PX = 1.0
"""Pixels a lesion may reach past the image's edge and the annotation still fit it (the default
``tolerance_px`` of ``geometry.bounds``)."""


@dataclass(frozen=True, slots=True)
class AnnotationFit:
    """An annotation's plausible declared resolution (:func:`dqm.probe_mpp.candidates`) with what
    judges whether the annotation describes an image: its declared size and its lesions' bounding
    box (``None`` without lesion geometry), ``tolerance_px`` the profile's ``geometry.bounds`` one.
    A field of :class:`ProbeOptions`: the probe judges the fit on the size it reads (the probe's
    half of :mod:`dqm.probe_mpp`'s rule, here so that the probe needs no import of it)."""

    mpp: float
    size: tuple[int, int] | None
    box: tuple[float, float, float, float] | None
    tolerance_px: float = FIT_TOLERANCE_PX

    @classmethod
    def of(cls, ann: Annotation, mpp: float, tolerance_px: float = FIT_TOLERANCE_PX) -> AnnotationFit:
        """``ann``'s fit data with ``mpp`` its declared resolution."""
        boxes = [lesion.geometry.bounds for lesion in ann.lesions if lesion.geometry is not None]
        boxes = [b for b in boxes if len(b) == 4 and all(math.isfinite(v) for v in b)]
        box = (
            (
                float(min(b[0] for b in boxes)),
                float(min(b[1] for b in boxes)),
                float(max(b[2] for b in boxes)),
                float(max(b[3] for b in boxes)),
            )
            if boxes
            else None
        )
        size = (ann.width, ann.height) if ann.width is not None and ann.height is not None else None
        return cls(mpp, size, box, tolerance_px)

    def misfit(self, size: tuple[int, int]) -> Message | None:
        """Why the annotation does not describe an image of ``size`` (its declared size differs, or
        its lesions reach more than ``tolerance_px`` outside it: ``LESION_OUT_OF_BOUNDS``'s rule),
        ``None`` when it fits."""
        w, h = size
        if self.size is not None and self.size != (w, h):
            return msg(
                "the annotation declares a {aw}x{ah} slide, the image is {w}x{h}",
                aw=self.size[0],
                ah=self.size[1],
                w=w,
                h=h,
            )
        tol = self.tolerance_px
        if self.box is not None:
            minx, miny, maxx, maxy = self.box
            if minx < -tol or miny < -tol or maxx > w + tol or maxy > h + tol:
                return msg(
                    "its lesions reach outside the {w}x{h} image (their box: {x0:g}, {y0:g} to {x1:g}, {y1:g})",
                    x0=minx,
                    y0=miny,
                    x1=maxx,
                    y1=maxy,
                    w=w,
                    h=h,
                )
        return None


def resolved(options: ProbeOptions, probe: SlideProbe) -> ProbeOptions:
    """``options`` with the resolution the probe takes once it has opened the image and read its
    size and header (:func:`dqm.slide_io.probe_slide`, before it measures anything in µm): the
    annotation's (``options.fit``) where the annotation fits that size or no size was read, else
    the one ``options`` give (:func:`dqm.probe_mpp.for_probe`'s rule); ``fit`` cleared."""
    fit = options.fit
    if fit is None:
        return options
    size = (probe.width, probe.height) if probe.width and probe.height else None
    if size is None or fit.misfit(size) is None:
        return dataclasses.replace(options, mpp=fit.mpp, mpp_source="annotation", fit=None)
    return dataclasses.replace(options, fit=None)


@dataclass(frozen=True, slots=True)
class ProbeOptions:
    """How much a probe may do."""

    budget_s: float = 30.0
    """The whole probe's budget in seconds (the profile's ``limits.slide_seconds``): header, tile
    sample, tissue mask, hash, stain and artefacts may take :func:`dqm.budget.work_units` of it; a
    step whose work would go past that is skipped (and reported). The backstop: no step starts
    after this many seconds of CPU time, or :data:`dqm.budget.WALL_FACTOR` times as many on the
    wall clock (decoders that crawl, reads that wait on a slow filesystem)."""
    tissue: bool = True
    """Compute a tissue mask (for the lesion-over-background check)."""
    label_thumbnail: bool = False
    """Keep a small PNG of the label image (it may show identifiers: only on request)."""
    thumbnail_px: int = 256
    artefacts: bool = True
    """Measure artefacts on the tissue mask's image, and blur on a few tissue tiles
    (:mod:`dqm.pixels.artefacts`)."""
    artefacts_budget_s: float = 1.0
    """The blur sample's budget in seconds, within what is left of ``budget_s``: its tiles stop when
    the next would take its work past :func:`dqm.budget.work_units` of it (or a clock's backstop
    passes)."""
    mpp: float | None = None
    """Level-0 µm per pixel to assume when the slide states none (the annotation's declared mpp,
    else the item's stated mpp or the profile's ``image_mpp``): blur is measured only where the
    tiles are known to be at 10x or more."""
    mpp_source: str = "stated"
    """Where ``mpp`` came from (:data:`dqm.pixels.artefacts.MPP_SOURCES`): ``annotation`` (the
    annotation file's declared mpp), ``stated`` (the manifest's) or ``profile`` (its
    ``image_mpp``). A field of the options, so :func:`probe_slide_cached` keys on it with ``mpp``
    (unless the header states a resolution: then neither matters)."""
    fit: AnnotationFit | None = None
    """The annotation's plausible declared resolution with what judges whether it describes this
    image (:func:`dqm.probe_mpp.candidates`): taken instead of ``mpp`` where the annotation fits the
    size this probe reads, decided once the image is open and before anything is measured in µm
    (:func:`resolved`): one open, one probe, within ``budget_s``, whichever is taken."""
    mpp_range: tuple[float, float] = PLAUSIBLE_MPP
    """The plausible level-0 resolutions, µm per pixel (the profile's ``slide.header`` ``mpp_min`` /
    ``mpp_max``): the artefact measure judges no folds at a header's, annotation's or stated one outside."""
    objective_range: tuple[float, float] = PLAUSIBLE_OBJECTIVE_POWER
    """The plausible objective powers (``slide.header``'s ``objective_min`` / ``objective_max``):
    a resolution taken from the objective (10 µm over its power) is held to what they give."""


@dataclass(frozen=True, slots=True)
class TissueMask:
    """A boolean tissue mask over the whole slide at low resolution.

    Mask pixel ``(r, c)`` covers level-0 ``x in [c * downsample[0], (c + 1) * downsample[0])``
    and ``y in [r * downsample[1], (r + 1) * downsample[1])``.
    """

    mask: np.ndarray
    downsample: tuple[float, float]
    source: str
    """Where it came from: ``level 3``, ``thumbnail image``, ``plain image``."""
    threshold: float
    """Saturation threshold used (Otsu on saturation, floored at :data:`MIN_SATURATION`)."""
    perceptual_hash: str | None = None
    """Hash of the image under the mask's tissue box (:mod:`dqm.pixels.hashes`), for near duplicates."""
    stain: StainSummary | None = None
    """Colour descriptors of the tissue in the image the mask was made from (:mod:`dqm.pixels.stain`)."""

    @property
    def tissue_fraction(self) -> float:
        return float(self.mask.mean()) if self.mask.size else 0.0


@dataclass(frozen=True, slots=True)
class ReadFailure:
    """The first region that failed to read."""

    level: int
    xy: tuple[int, int]
    message: str


@dataclass(slots=True)
class SlideProbe:
    """What dqm learned about one slide file."""

    path: str
    size_bytes: int = 0
    fingerprint: str = ""
    """SHA-256 of the file's size, first MiB and last MiB: equal files give equal prints."""
    opened: bool = False
    open_error: str | None = None
    reference_refused: bool = False
    """Not opened: it names a file (or sits beside one, for DICOM) that OpenSlide would open and
    that leaves the batch or is a special file (:mod:`dqm.slide_refs`); ``open_error`` says which."""
    backend: str | None = None
    """``openslide`` or ``pillow``."""
    vendor: str | None = None
    width: int | None = None
    height: int | None = None
    level_count: int = 0
    level_dimensions: tuple[tuple[int, int], ...] = ()
    level_downsamples: tuple[float, ...] = ()
    mpp_x: float | None = None
    mpp_y: float | None = None
    objective_power: float | None = None
    associated_images: tuple[str, ...] = ()
    properties: dict[str, str] = field(default_factory=dict)
    text_unread: str | None = None
    """Where the first text tag dqm read only in part is (:data:`dqm.image_text.UNREAD`), e.g.
    ``page 1 ImageDescription: 262,144 of 300,000 bytes``; kept apart from ``properties``, which
    hold only the file's own text (a tag the file itself names ``dqm.unread`` is one of them)."""
    read_failure: ReadFailure | None = None
    regions_read: int = 0
    compression: str | None = None
    """Level-0 codec (``jpeg``, ``jpeg2000``, ``deflate``...; ``other:<code>`` when unnamed)."""
    container: str | None = None
    """What the bytes are when OpenSlide refused them (``TIFF``, ``OME-TIFF``, ``JPEG``...)."""
    openslide_error: str | None = None
    """Why OpenSlide did not take the file, when Pillow opened it instead."""
    pillow_mode: str | None = None
    tissue: TissueMask | None = None
    tissue_note: str | None = None
    """Why there is no tissue mask, when there is none."""
    elapsed_s: float = 0.0
    """CPU seconds the probe spent."""
    work: int = 0
    """Work units the probe took (:mod:`dqm.budget`): the same for a file on every machine."""
    budget_s: float | None = None
    skipped: tuple[str, ...] = ()
    """Probe steps skipped because the budget was spent."""
    budget_clock: Meter | None = None
    """What refused the steps skipped: ``work`` (the work budget: the same on every machine), or a
    clock's backstop where one refused any of them: ``cpu`` (a decoder that crawled) or ``wall``
    (the probe waited on its reads); these depend on the machine."""
    label_thumbnail: str | None = None
    """``data:image/jpeg;base64,...`` of the label image, only when asked for."""
    label_note: str | None = None
    """Why the label thumbnail asked for is missing."""
    decoder_warnings: tuple[str, ...] = ()
    """Warnings the image decoder raised (corrupt metadata), reported by ``slide.format``."""
    artefacts: Artefacts | None = None
    """Pen marks, folds, bubbles, staining, debris and blur over the tissue mask (None: not measured)."""
    jpeg_quality: float | None = None
    """JPEG quality from the quantisation tables (or the header's statement), when the codec is JPEG."""
    scanner: str | None = None
    """The scanner the header names (:func:`dqm.pixels.stain.scanner`)."""
    parts_unread: tuple[tuple[str, str], ...] | None = None
    """The files beside a DICOM slide that could not be read (batch path, the system's words):
    OpenSlide leaves them out without a word, so the slide may lack some of its series
    (:attr:`Taken.unread`; ``slide.format``'s ``SLIDE_PART_UNREADABLE``). A probe with any is not
    kept (:func:`probe_slide_cached`): the error may pass. None where no file beside the slide
    counts: its folder was not walked for its series (:attr:`Taken.unread`), or the slide was
    refused before OpenSlide opened anything (a FIFO or a link out of the batch beside it), or the
    OpenSlide loaded reads no DICOM (:func:`openslide_reads_dicom`)."""
    tiles_past_end: tuple[TilesPastEnd, ...] = ()
    """The tiled pages of a TIFF slide some of whose tiles run past the file's end
    (:func:`~dqm.slide_refs.tiles_past_end`): OpenSlide reads them blank with no error
    (``slide.opens``'s ``SLIDE_TILES_PAST_END``)."""
    orientation: int | None = None
    """The image's Orientation tag (TIFF tag 274 of its first page, else a plain image's EXIF one;
    1 to 8, None where it states none): not applied (:mod:`dqm.readers.mask` reads a mask's), but
    compared with its mask's (``slide.annotation_agrees``'s ``MASK_ORIENTATION_MISMATCH``)."""
    unsettled: bool = False
    """Whether the facts are of a passing state: the slide's DICOM folder could not be listed at the
    take (:attr:`Taken.unread_failed`), or its files changed while it was checked (its
    ``open_error`` says so). Its record says :data:`~dqm.model.UNSETTLED` and is never stored in
    the result cache, nor the probe kept (:func:`probe_slide_cached`): one failure was every later
    run's answer."""

    def facts(self) -> SlideFacts:
        """What an item record keeps of this probe (no mask, pixels or properties)."""
        failure = self.read_failure
        return SlideFacts(
            **{
                f.name: getattr(self, f.name)
                for f in dataclasses.fields(SlideFacts)
                if f.name not in _DERIVED
            },
            read_failure=(
                f"level {failure.level} at {failure.xy}: {failure.message}" if failure is not None else None
            ),
            tissue_fraction=self.tissue.tissue_fraction if self.tissue is not None else None,
            artefacts=self.artefacts.facts() if self.artefacts is not None else None,
            parts_unread_digest=(
                UNSETTLED
                if self.unsettled
                else unread_digest(self.parts_unread)
                if self.parts_unread is not None
                else None
            ),
        )


_DERIVED = ("read_failure", "tissue_fraction", "artefacts", "parts_unread_digest")
"""Facts a record holds in another form than the probe's."""


def fingerprint(path: Path | str, size: int) -> str:
    """A cheap content print: size + first and last MiB. Full hashes confirm matches."""
    fd = os.open(path, READ_FLAGS)
    try:
        return _print(fd, size)
    finally:
        os.close(fd)


def stat_and_print(path: Path | str) -> list[int | str]:
    """A file's size, modification and change time (ns), inode and :func:`fingerprint`, from one
    opening (the print is of the file the stat describes). Raises OSError for a file that cannot
    be read or is not a regular file."""
    fd = os.open(path, READ_FLAGS)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegular(errno.EINVAL, "not a regular file")
        return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, _print(fd, st.st_size)]
    finally:
        os.close(fd)


def _print(fd: int, size: int) -> str:
    h = hashlib.sha256(str(size).encode())
    h.update(_read_at(fd, 0, HASH_CHUNK))
    if size > 2 * HASH_CHUNK:
        h.update(_read_at(fd, size - HASH_CHUNK, HASH_CHUNK))
    return h.hexdigest()


def _read_at(fd: int, offset: int, n: int) -> bytes:
    """Up to ``n`` bytes from ``offset`` (fewer at the end of the file)."""
    os.lseek(fd, offset, os.SEEK_SET)
    parts = []
    while n > 0 and (got := os.read(fd, n)):
        parts.append(got)
        n -= len(got)
    return b"".join(parts)


def full_hash(path: Path) -> str:
    """SHA-256 of the whole file; a file this process hashed before with the same stat is not
    read again (:mod:`dqm.file_digests`).

    Raises
    ------
    SparseFileError
        When the file is sparse (:mod:`dqm.sparse_files`): its holes are never read (a
        terabyte of them would take hours). An ``OSError``, as a file that cannot be read.
    """
    since = time.time_ns()
    h = hashlib.sha256()
    with path.open("rb") as fh:
        st = os.fstat(fh.fileno())
        if (known := file_digests.known(path, st)) is not None:
            return known  # read whole before with the same stat (a slide of many items)
        found = sparse_of(fh.fileno(), st)
        if found is not None:
            raise SparseFileError(found, path)
        fh.seek(0)
        while chunk := fh.read(8 * HASH_CHUNK):
            h.update(chunk)
            progress()  # a slow filesystem that keeps reading is not a stuck item
    file_digests.remember(path, st, h.hexdigest(), since, st)  # st: the descriptor read
    return h.hexdigest()


def _float(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if out == out and out not in (float("inf"), float("-inf")) else None


def sample_regions(
    level_dimensions: tuple[tuple[int, int], ...],
    level_downsamples: tuple[float, ...],
    per_level: int = 3,
    max_levels: int = 3,
    grids: Sequence[tuple[int, int] | None] = (),
) -> list[tuple[int, tuple[int, int], tuple[int, int]]]:
    """A bounded set of ``(level, level-0 xy, size)`` regions spread over the slide.

    The lowest-resolution level, the highest and one between (at most ``max_levels``), each
    with ``per_level`` tiles along the diagonal: corners and centre catch truncated files and
    corrupt tiles without reading a whole level. Where ``grids`` gives a level's stored tile size,
    each region starts at the corner of the stored tile that holds its point of the diagonal (the
    last one holds the level's last pixel), so a read decodes one tile, not up to four; along a
    side the region spans whole, it starts at 0. A region met twice (a small level) is read once.
    """
    n = len(level_dimensions)
    if n == 0:
        return []
    levels = sorted({n - 1, 0, n // 2})[:max_levels]
    regions: list[tuple[int, tuple[int, int], tuple[int, int]]] = []
    for level in levels:
        w, h = level_dimensions[level]
        ds = level_downsamples[level]
        tw, th = min(TILE, w), min(TILE, h)
        if tw <= 0 or th <= 0:
            continue
        grid = grids[level] if level < len(grids) else None
        for k in range(per_level):
            frac = k / max(per_level - 1, 1)
            if grid is None:
                x, y = int((w - tw) * frac), int((h - th) * frac)
            else:
                x = 0 if tw == w else int((w - 1) * frac) // grid[0] * grid[0]
                y = 0 if th == h else int((h - 1) * frac) // grid[1] * grid[1]
            region = (level, (int(x * ds), int(y * ds)), (tw, th))
            if region not in regions:
                regions.append(region)
    return regions


OTSU_BINS = 256


def otsu_threshold(hist: np.ndarray) -> float:
    """Otsu's threshold (the between-class variance maximum) of a histogram of values in ``[0, 1]``
    over equal bins; 0 when flat or empty."""
    edges = np.linspace(0.0, 1.0, len(hist) + 1)
    hist = hist.astype(np.float64)
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centres)
    mean0 = np.divide(m0, w0, out=np.zeros_like(m0), where=w0 > 0)
    mean1 = np.divide(m0[-1] - m0, w1, out=np.zeros_like(m0), where=w1 > 0)
    between = w0 * w1 * (mean0 - mean1) ** 2
    if not between.any():
        return 0.0
    return float(edges[int(np.argmax(between)) + 1])


@functools.cache
def _saturation_table() -> tuple[np.ndarray, np.ndarray]:
    """``(saturation, bin)`` of every 8-bit ``(max, min)`` pair, indexed by ``max * 256 + min``:
    ``(max - min) / max`` in float32 (0 where black), and its bin among :data:`OTSU_BINS` equal bins
    of ``[0, 1]`` as ``np.histogram`` counts it (1 in the last). An image's saturation and histogram
    are then look-ups, not a division and a histogram of floats per pixel."""
    mx, mn = (a.astype(np.float32) for a in np.divmod(np.arange(256 * 256), 256))
    sat = np.divide(mx - mn, mx, out=np.zeros_like(mx), where=mx > 0)
    edges = np.linspace(0.0, 1.0, OTSU_BINS + 1)
    bins = np.searchsorted(edges, sat.astype(np.float64), side="right") - 1
    return sat, np.clip(bins, 0, OTSU_BINS - 1).astype(np.intp)


def tissue_from_rgba(rgba: np.ndarray) -> tuple[np.ndarray, float]:
    """Tissue mask of an 8-bit RGB(A) image: saturation above Otsu's threshold (floored at
    :data:`MIN_SATURATION`), dilated by 0.5 % of the image's long side, specks under
    :data:`MIN_OBJECT_FRACTION` of the image removed and holes filled; transparent pixels
    (outside the scanned area) are background.

    H&E tissue is pink to purple, glass is white to grey: saturation separates them where
    brightness alone confuses pale tissue with glass. The dilation and hole filling take in the
    pale rims and lumina Otsu leaves out (the mask is for "is this lesion on tissue at all").
    """
    from scipy import ndimage

    rgba = rgba.astype(np.uint8, copy=False)
    r, g, b = rgba[..., 0], rgba[..., 1], rgba[..., 2]
    valid = rgba[..., 3] > 0 if rgba.shape[-1] == 4 else np.ones(rgba.shape[:2], bool)
    pair = np.maximum(np.maximum(r, g), b).astype(np.uint16)  # channel-wise: faster than max(axis=-1)
    pair <<= 8
    pair |= np.minimum(np.minimum(r, g), b)
    sat_table, bin_table = _saturation_table()
    counted = (pair if valid.all() else pair[valid]).ravel()
    if counted.size < 1 << 16:  # fewer pixels than pairs: each pixel's bin is cheaper to count
        hist = np.bincount(bin_table[counted], minlength=OTSU_BINS)
    else:  # each pair's pixels, then the pairs into bins
        hist = np.bincount(bin_table, weights=np.bincount(counted, minlength=1 << 16), minlength=OTSU_BINS)
    threshold = max(otsu_threshold(hist), MIN_SATURATION)
    mask = (sat_table[pair] > threshold) & valid
    if mask.any():
        radius = max(1, round(max(mask.shape) / 200))
        mask = dilate(mask, radius)
        labels, _ = ndimage.label(mask)
        sizes = np.bincount(labels.ravel())
        # a speck of noise grows to about (2r+1)^2 pixels: twice that, or 0.1 % of the image
        small = sizes < max(MIN_OBJECT_FRACTION * mask.size, 2 * (2 * radius + 1) ** 2)
        small[0] = False
        if small.any():  # most masks have no speck: no pass over the labels
            mask[small[labels]] = False
        mask = fill_holes(mask) & valid
    return mask, threshold


def _mask_from_image(
    img: Any, level0: tuple[int, int], source: str, probe: SlideProbe, pixels: _Pixels
) -> None:
    """The probe's :class:`TissueMask` from a PIL image covering the whole slide, or an RGBA array
    of one (a level read whole: :func:`_read_rgba`), its work taken by the caller; and what
    :mod:`dqm.pixels` measures on the same image, each stage started only when the probe's budget
    takes its work (else skipped and recorded)."""
    from PIL import Image

    from dqm.pixels.hashes import slide_hash

    if isinstance(img, np.ndarray) and _fitted(img.shape[1], img.shape[0], MASK_SIDE) is None:
        rgba = img  # what _shrunk_rgba makes of it: the same pixels, RGBA
    else:
        img = _shrunk_rgba(Image.fromarray(img) if isinstance(img, np.ndarray) else img, MASK_SIDE)
        rgba = np.asarray(img)
    mask, threshold = tissue_from_rgba(rgba)
    h, w = rgba.shape[:2]
    downsample = (level0[0] / w, level0[1] / h)
    found: dict[str, Any] = {}
    for stage, compute in (
        ("perceptual hash", lambda: slide_hash(rgba, mask)),
        ("stain descriptors", lambda: stain_descriptors(rgba, mask)),
    ):
        if _step(probe, pixels.clock, stage, w * h):
            found[stage] = compute()
    probe.tissue = TissueMask(
        mask,
        downsample,
        source,
        threshold,
        perceptual_hash=found.get("perceptual hash"),
        stain=found.get("stain descriptors"),
    )
    if not pixels.options.artefacts or not _step(probe, pixels.clock, "artefacts", w * h):
        return
    budget = pixels.clock.part(pixels.options.artefacts_budget_s)
    mpp0, source = _level0_mpp(probe, pixels)
    bounds = plausible_mpp(source, pixels.options)
    measured = measure(rgba, mask, downsample, pixels.tiles, budget, mpp0, source, bounds)
    stained = stained_section(rgba, mask, measured)
    # the region off the shade is read only where the spread alone would call the slide flat (session 30,
    # /tmp/allink6f/cost2.py, OMP 1: about 20 ms more on an 800 x 600 flat pink field, 7 ms under a step of light)
    colours = colour_readings(rgba, mask, measured)
    read = dataclasses.replace(
        measured,
        section=section_share(stained, measured),
        section_region=section_region(stained),
        spread=None if colours is None else colours[0],
        off_region=None if colours is None else colours[1],
    )
    probe.artefacts = dataclasses.replace(read, all_ink=all_ink(read), one_colour=one_colour(read))


def plausible_mpp(source: str, options: ProbeOptions) -> tuple[float, float]:
    """The level-0 resolutions (µm per pixel) plausible for one taken from ``source``
    (:func:`_level0_mpp`) as ``slide.header`` judges them: the profile's mpp range, or for the
    objective's, 10 µm over its plausible powers (1x-100x by default: 0.1-10 µm)."""
    if source == "objective":
        low, high = options.objective_range
        return 10.0 / high, 10.0 / low
    return options.mpp_range


def _level0_mpp(probe: SlideProbe, pixels: _Pixels) -> tuple[tuple[float, float] | None, str]:
    """The level-0 resolution (x, y) the artefact measure takes, as the blur tiles take it, and
    where it came from (:data:`dqm.pixels.artefacts.MPP_SOURCES`): the header's (its mpp-y where it
    states one), else the one the options give (the annotation's, else the manifest's, else the
    profile's: their ``mpp_source``), else the objective's."""
    if probe.mpp_x:
        y = probe.mpp_y if probe.mpp_y is not None and usable_mpp(probe.mpp_y) else probe.mpp_x
        return (probe.mpp_x, y), "header"
    if pixels.options.mpp:
        return (pixels.options.mpp,) * 2, pixels.options.mpp_source
    tiles = pixels.tiles
    if tiles is not None and tiles.mpp:
        return (tiles.mpp / tiles.downsample,) * 2, "objective"
    return None, ""


def _fitted(w: int, h: int, side: int) -> tuple[int, int] | None:
    """The size ``thumbnail((side, side))`` gives an image of ``w`` x ``h``; None when it fits."""
    if w <= side and h <= side:
        return None
    aspect = w / h

    def rounded(number: float, key: Any) -> int:
        return max(min(math.floor(number), math.ceil(number), key=key), 1)

    if aspect <= 1:
        return (rounded(side * aspect, key=lambda n: abs(aspect - n / side)), side)
    return (side, rounded(side / aspect, key=lambda n: abs(aspect - side / n) if n else 0))


def _shrunk(img: Any, side: int) -> Any:
    """What ``img.thumbnail((side, side), BOX)`` makes of a decoded image, as a new image: the
    image itself is left whole (a plain image's blur tiles are cropped from it)."""
    from PIL import Image

    w, h = img.size
    size = _fitted(w, h, side)
    if size is None:
        return img
    return img.resize(size, Image.Resampling.BOX, reducing_gap=2.0)


STRIP_PIXELS = 1 << 22
"""Pixels of a decoded image converted at a time when it is shrunk for the tissue mask."""


def _shrunk_rgba(img: Any, side: int) -> Any:
    """``_shrunk(img.convert("RGBA") if not RGB, side).convert("RGBA")``, bit for bit, without a
    copy of the whole image: Pillow resizes RGBA through a premultiplied copy (``RGBa``) of all of
    it, and a palette or CMYK image was converted whole first (a 13,300² PNG: two 700 MB images at
    once). Its first step, a box average over blocks of ``factor`` pixels (``reduce``), is done
    here a strip of rows at a time, strips starting on block edges; the small result is then
    resized as Pillow resizes it."""
    from PIL import Image

    w, h = img.size
    size = _fitted(w, h, side)
    fx, fy = (1, 1) if size is None else (int(w / size[0] / 2.0) or 1, int(h / size[1] / 2.0) or 1)
    if size is None or img.mode == "RGB" or (fx, fy) == (1, 1):  # no copy of the whole, or a small one
        whole = img if img.mode in ("RGB", "RGBA") else img.convert("RGBA")
        return _shrunk(whole, side).convert("RGBA")
    reduced = Image.new("RGBa", (-(-w // fx), -(-h // fy)))
    rows = max(STRIP_PIXELS // w // fy, 1) * fy
    for top in range(0, h, rows):
        strip = img.crop((0, top, w, min(h, top + rows)))
        strip = strip if strip.mode == "RGBA" else strip.convert("RGBA")
        reduced.paste(strip.convert("RGBa").reduce((fx, fy)), (0, top // fy))
    return reduced.resize(size, Image.Resampling.BOX, box=(0, 0, w / fx, h / fy)).convert("RGBA")


WORK_PER_PIXEL = {
    "tile sample": 1,
    "tissue mask": 1,
    "perceptual hash": 1,
    "stain descriptors": 2,
    "artefacts": 4,
    "label thumbnail": 1,
}
"""Work units (:mod:`dqm.budget`) a probe step takes for each pixel it reads or processes: a
region's or an image's pixels decoded (the tile sample, the label thumbnail), the image the tissue
mask is shrunk from, or the mask's image the pixel measures run on (the stain descriptors cost
about twice a decoded pixel, the artefact measure four times: ``benchmarks/bench_slides.py
--stages-only``). A blur tile takes the pixels it decodes (:func:`dqm.pixels.artefacts.decoded_pixels`)
from the artefact measure's part of the budget."""


WORK_PER_TILE = 2
"""Work units :func:`~dqm.slide_refs.tiles_looked_at` takes for each tile whose offset and byte
count it reads from a TIFF (10^6 tiles: about 30 ms, as 2 · 10^6 decoded pixels)."""


def _tile_index(probe: SlideProbe, clock: Budget, fd: int) -> None:
    """``probe.tiles_past_end``: the TIFF's tile offsets and byte counts read within what
    ``clock``'s work budget leaves, their reading taken from it; where the budget left some
    unread, the step ``tile index`` is recorded as skipped (the tiles' check did not finish)."""
    looked = tiles_looked_at(fd, max(0, clock.work - clock.done) // WORK_PER_TILE)
    clock.count(looked.read * WORK_PER_TILE)
    probe.tiles_past_end = tuple(looked.found)
    if looked.cut:
        probe.skipped += ("tile index",)
        if probe.budget_clock is None:
            probe.budget_clock = "work"


def _step(probe: SlideProbe, budget: Budget, step: str, pixels: int) -> bool:
    """Whether ``step``, on ``pixels`` pixels, may run: its work is then taken from ``budget``;
    else it is recorded as skipped, with what refused it (a clock's refusal outranks the work
    budget's in ``probe.budget_clock``: the result then depends on the machine)."""
    meter = budget.take(pixels * WORK_PER_PIXEL[step])
    if meter is None:
        return True
    probe.skipped += (step,)
    if probe.budget_clock in (None, "work"):
        probe.budget_clock = meter
    return False


@dataclass(frozen=True, slots=True)
class _Pixels:
    """What the pixel measures may use: their options, the probe's budget and tiles at 10x or more."""

    options: ProbeOptions
    clock: Budget
    tiles: TileSource | None


BLUR_MPP = 1.0
"""Blur tiles are read at this many µm per pixel or finer (10x or more)."""


Region = tuple[int, tuple[int, int], tuple[int, int]]
"""``(level, level-0 xy, size)`` of a read."""


def _read_rgba(
    slide: Any, xy: tuple[int, int], level: int, size: tuple[int, int], tiles: JpegTiles | None = None
) -> np.ndarray:
    """``np.asarray(slide.read_region(xy, level, size))``, the same bytes (read-only), without
    Pillow's copy of them (0.23 ms for a 256-pixel tile, a quarter of OpenSlide's own read):
    OpenSlide's buffer made RGBA as openslide-python makes it (``argb2rgba``), then viewed as an
    array. A slide without openslide-python's handle, or a version without its low-level read, is
    read through ``read_region``; an empty region too (openslide-python makes a blank image).
    A region over ``tiles``' JPEG tiles is decoded from their bytes, OpenSlide (a handle of the
    tiles' own) reading one pixel of each (:class:`dqm.slide_tiles.JpegTiles`: the same pixels,
    0.4 ms where OpenSlide paints a 256-pixel region in 1.1); where that read fails, ``slide``
    reads the region and fails as it would have."""
    if tiles is not None:
        direct = tiles.region(level, xy, size)
        if direct is not None:
            return direct
    return openslide_rgba(slide, xy, level, size)


def _openslide_tiles(
    slide: Any,
    probe: SlideProbe,
    error: type[Exception],
    mpp: float | None,
    done: dict[Region, np.ndarray],
    jpeg: JpegTiles | None = None,
) -> TileSource:
    """Tiles from the coarsest level at 10x or finer (level 0 when the resolution is unknown); a tile
    the readability sample has read already (``done``) is not read again."""
    mpp0 = probe.mpp_x or mpp or (10.0 / probe.objective_power if probe.objective_power else None)
    level = 0
    if mpp0:
        fine = [k for k, d in enumerate(probe.level_downsamples) if mpp0 * d <= BLUR_MPP * 1.01]
        level = fine[-1] if fine else 0
    ds = probe.level_downsamples[level] if probe.level_downsamples else 1.0

    def read(x: int, y: int, side: int) -> np.ndarray | None:
        try:
            rgba = done.get((level, (x, y), (side, side)))
            if rgba is None:
                rgba = _read_rgba(slide, (x, y), level, (side, side), jpeg)
            return rgba[..., :3]  # RGBA: the colour as it is, as convert("RGB") gives it
        except (error, OSError, ValueError, MemoryError):
            return None

    stored = _stored_tile(probe.properties, level)
    return TileSource(read, ds, mpp0 * ds if mpp0 else None, _tile_grid(stored), stored)


def _stored_tile(props: dict[str, str], level: int) -> tuple[int, int] | None:
    """The stored tiles' size at ``level`` as OpenSlide reports it, however large (None: not
    reported): what a read decodes."""
    w = _float(props.get(f"openslide.level[{level}].tile-width"))
    h = _float(props.get(f"openslide.level[{level}].tile-height"))
    if not w or not h or w < 1 or h < 1:
        return None
    return int(w), int(h)


def _tile_grid(stored: tuple[int, int] | None) -> tuple[int, int] | None:
    """The stored tiles' size for placing reads on their corners (None: unknown, or over
    :data:`MAX_GRID`: not sane)."""
    return stored if stored is not None and max(stored) <= MAX_GRID else None


def _pillow_tiles(img: Any, mpp: float | None) -> TileSource:
    """Tiles cropped from a decoded plain image (``mpp``: its resolution, when known)."""

    def read(x: int, y: int, side: int) -> np.ndarray | None:
        return np.asarray(img.crop((x, y, x + side, y + side)).convert("RGB"))

    return TileSource(read, 1.0, mpp)


def _label_thumbnail(img: Any, px: int) -> str:
    img = img.convert("RGB")
    img.thumbnail((px, px))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


TIFF_HEADER_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    struct.error,
)
"""What tifffile may raise on a corrupt header, besides its own ``TiffFileError``."""


def _tiff_errors() -> tuple[type[Exception], ...]:
    """Everything tifffile may raise on a corrupt header, its own ``TiffFileError`` included."""
    import tifffile

    return (tifffile.TiffFileError, *TIFF_HEADER_ERRORS)


def tiff_facts(fh: BinaryIO) -> tuple[str | None, str | None, bytes]:
    """``(container, level-0 codec, JPEG bytes with its quantisation tables)`` from one read of the
    TIFF header of the open file ``fh`` (no pixel is decoded; ``fh`` is left open); the bytes are
    empty unless the codec is JPEG (:func:`_jpeg_head`)."""
    import tifffile

    try:
        with tifffile.TiffFile(fh) as tf:
            container = "OME-TIFF" if tf.is_ome else ("BigTIFF" if tf.is_bigtiff else "TIFF")
            page = tf.pages.first
            tag = page.tags.get(259)
            value = tag.value if tag is not None else 1
            if isinstance(value, tuple | list) and value:
                value = value[0]  # a corrupt header may repeat the tag
            if not isinstance(value, int):
                return container, None, b""
            codec = TIFF_CODECS.get(value, f"other:{value}")
            return container, codec, _jpeg_head(tf, page) if codec == "jpeg" else b""
    except _tiff_errors():
        return None, None, b""


def _text_properties(fh: BinaryIO, probe: SlideProbe) -> None:
    """Every page's text tags (:func:`dqm.image_text.tiff_texts`) of the open file ``fh`` as
    properties, searched for identifiers like the others: ``tiff.<Tag>`` for the first page where
    OpenSlide did not show it (its XMP, a ``PageName``, every tag of a TIFF Pillow opened),
    ``tiff.page<N>.<Tag>`` for the others (the label and macro pages)."""
    try:
        texts = tiff_texts(fh)
    except OSError:
        return
    _add_texts(
        probe,
        (
            (name if name == UNREAD else f"tiff.{name}" if page == 0 else f"tiff.page{page}.{name}", text)
            for name, pages in texts.items()
            for page, text in pages
        ),
    )


def _refused_texts(fd: int, probe: SlideProbe) -> None:
    """The text tags of a TIFF that OpenSlide is not given (:func:`~dqm.slide_refs.tiff_refusal`:
    a 100 MB ``ImageDescription``, a million directories), read through ``fd`` within
    :func:`dqm.image_text.tiff_texts`'s bounds, as properties for the identifier checks: the refusal
    left them unread, so an RRN at the start of the description was never searched and no
    ``DEID_SLIDE_UNSEARCHED`` said so. What the bounds leave is ``probe.text_unread``."""
    try:
        fh = os.fdopen(os.dup(fd), "rb")
    except OSError:
        return
    with fh:
        _text_properties(fh, probe)


def _add_texts(probe: SlideProbe, pairs: Iterable[tuple[str, str]]) -> None:
    """``(key, text)`` pairs as properties; a key already there, or a text some property already
    holds (a page repeating the main description), is not added again. dqm's own note (the key
    :data:`dqm.image_text.UNREAD` itself) goes to ``probe.text_unread``, never among the properties:
    a file's own ``dqm.unread`` chunk is searched like any text, and no text can hide the note."""
    held = set(probe.properties.values())
    for key, text in pairs:
        if key == UNREAD:
            probe.text_unread = probe.text_unread or text
        elif text not in held and key not in probe.properties:
            probe.properties[key] = text
            held.add(text)


def _jpeg_head(tf: Any, page: Any) -> bytes:
    """The level-0 ``JPEGTables`` field (tag 347) of an open TIFF, else the start of its first tile
    or strip (where each tile carries its own tables), or no bytes."""

    try:
        tag = page.tags.get(347)
        value = tag.value if tag is not None else b""
        if not value and page.dataoffsets and page.databytecounts:
            tf.filehandle.seek(int(page.dataoffsets[0]))
            value = tf.filehandle.read(min(int(page.databytecounts[0]), JPEG_HEAD_BYTES))
    except _tiff_errors():
        return b""
    return value if isinstance(value, bytes) else b""


def sniff(path: Path) -> str | None:
    """The file's container from its first bytes (TIFF, JPEG, PNG), or None."""
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError:
        return None
    return next((name for magic, name in MAGIC if head.startswith(magic)), None)


def _codec(path: Path, probe: SlideProbe, tiles: JpegTiles | None = None) -> None:
    """The probe's codec, container (another library's TIFF), JPEG quality and every page's text
    properties, from the file's header. ``tiles``: the slide's JPEG levels as :mod:`dqm.slide_tiles`
    walked them, whose first page and open handle serve here, so that the header is neither
    opened nor parsed by tifffile again (the facts are the same: that page is JPEG, and its
    tables are the bytes tifffile would read). One answer differs, and is truer: a level 0 whose
    Compression tag is stored as a BYTE (7) is JPEG to libtiff, which OpenSlide decodes it with,
    and to the walk here, where tifffile read no compression (``compression None``, no JPEG
    quality): it is ``jpeg`` and its quality is read."""
    if probe.vendor == "dicom":
        syntax = probe.properties.get("dicom.TransferSyntaxUID", "").strip()
        probe.compression = DICOM_CODECS.get(syntax, f"other:{syntax}" if syntax else None)
        return
    if probe.backend == "pillow" and probe.properties.get("pillow.format") not in ("TIFF", "MPO"):
        fmt = probe.properties.get("pillow.format", "")
        probe.compression = PILLOW_CODECS.get(fmt, fmt.lower() or None)
        return
    head = tiles.first_page_head(JPEG_HEAD_BYTES) if tiles is not None else None
    if tiles is not None and head is not None and probe.backend == "openslide":
        probe.compression = "jpeg"
        probe.jpeg_quality, _ = jpeg_quality(dqt_tables(head), probe.properties.get("tiff.ImageDescription"))
        _text_properties(tiles.file, probe)
        return
    try:
        fh = path.open("rb")  # one open for the header's facts and every page's text
    except OSError:
        return
    with fh:
        container, codec, head = tiff_facts(fh)
        probe.compression = codec
        if probe.backend != "openslide" and container is not None:
            probe.container = container
        if codec == "jpeg":
            probe.jpeg_quality, _ = jpeg_quality(
                dqt_tables(head), probe.properties.get("tiff.ImageDescription")
            )
        _text_properties(fh, probe)


def _probe_openslide(
    path: Path,
    probe: SlideProbe,
    options: ProbeOptions,
    clock: Budget,
    name: str | None = None,
    fd: int | None = None,
) -> bool:
    """OpenSlide's facts and reads of the slide at ``path``, opened by ``name`` (the batch path,
    or :func:`~dqm.slide_refs.openslide_name`'s descriptor path; by the batch path only while it
    is the file ``fd`` holds, :func:`_openslide_by`); False where OpenSlide does not recognise
    it."""
    import openslide

    name = name or str(path)
    header = _fd_name(path, fd) if fd is not None else name  # _codec's: never a FIFO swapped in
    try:
        opened: os.stat_result | None = os.stat(name)  # the file OpenSlide opens, for JpegTiles
    except OSError:
        opened = None
    try:
        slide = _openslide_by(name, path, fd)
        if name != str(path) and slide.properties.get("openslide.vendor") == "trestle":
            slide.close()  # Trestle's associated images are files named after the slide's
            name, opened = str(path), None
            slide = _openslide_by(name, path, fd)  # (JpegTiles reads no Trestle slide: no stat)
    except _Replaced:
        probe.open_error, probe.unsettled = msg(REPLACED), True
        return True
    except openslide.OpenSlideUnsupportedFormatError as exc:
        probe.openslide_error = str(exc) or "unsupported format"
        return False
    except openslide.OpenSlideError as exc:
        probe.open_error = msg("OpenSlide cannot open it: {reason}", reason=exc)
        _codec(Path(header), probe)
        return True
    source = Path(name)
    with slide, ExitStack() as stack:
        props = _properties(slide)
        probe.opened, probe.backend = True, "openslide"
        probe.vendor = props.get("openslide.vendor")
        probe.width, probe.height = slide.dimensions
        probe.level_count = slide.level_count
        probe.level_dimensions = tuple((int(w), int(h)) for w, h in slide.level_dimensions)
        probe.level_downsamples = tuple(float(d) for d in slide.level_downsamples)
        probe.mpp_x = _float(props.get("openslide.mpp-x"))
        probe.mpp_y = _float(props.get("openslide.mpp-y"))
        probe.objective_power = _float(props.get("openslide.objective-power"))
        probe.associated_images = tuple(sorted(slide.associated_images.keys()))
        probe.properties = props
        probe.scanner = scanner(props)
        jpeg = None
        if opened is not None:
            jpeg = JpegTiles.open(
                source, probe.vendor, probe.level_dimensions, probe.level_downsamples, opened
            )
        if jpeg is not None:
            stack.enter_context(jpeg)
        _codec(Path(header), probe, jpeg)
        stored = [_stored_tile(props, level) for level in range(probe.level_count)]
        grids = [_tile_grid(tile) for tile in stored]
        # what the sample read (RGBA), for the measures that read it again
        done: dict[Region, np.ndarray] = {}
        for level, xy, size in sample_regions(probe.level_dimensions, probe.level_downsamples, grids=grids):
            ds = probe.level_downsamples[level]
            if not _step(
                probe, clock, "tile sample", decoded_pixels(xy[0] / ds, xy[1] / ds, *size, stored[level])
            ):
                break
            try:
                done[level, xy, size] = _read_rgba(slide, xy, level, size, jpeg)
            except openslide.OpenSlideError as exc:
                probe.read_failure = ReadFailure(level, xy, str(exc))
                break
            probe.regions_read += 1
        if options.tissue and probe.read_failure is None:
            _tissue_openslide(slide, probe, openslide.OpenSlideError, options, clock, done, jpeg)
        if (
            options.label_thumbnail
            and "label" in probe.associated_images
            and _step(probe, clock, "label thumbnail", _associated_pixels(props, "label"))
        ):
            try:
                probe.label_thumbnail = _label_thumbnail(
                    slide.associated_images["label"], options.thumbnail_px
                )
            except (openslide.OpenSlideError, OSError, ValueError) as exc:
                probe.label_note = f"the label image cannot be read: {exc}"
    return True


def _properties(slide: Any) -> dict[str, str]:
    """The slide's properties; a key whose value cannot be read (corrupt header) is left out."""
    out: dict[str, str] = {}
    mapping = slide.properties
    try:
        keys = list(mapping)
    except (KeyError, ValueError, OSError):
        return out
    for key in keys:
        try:
            value = mapping[key]
        except (KeyError, ValueError, OSError):
            continue
        if isinstance(value, str):
            out[key] = value
    return out


def _tissue_openslide(
    slide: Any,
    probe: SlideProbe,
    error: type[Exception],
    options: ProbeOptions,
    clock: Budget,
    done: dict[Region, np.ndarray],
    jpeg: JpegTiles | None = None,
) -> None:
    """Tissue mask from the slide's thumbnail image when it shows the whole level 0 (same aspect
    ratio, at least :data:`MIN_THUMBNAIL_SIDE` on its long side: decoding it is much cheaper than
    a level), else from the smallest level of at most :data:`MAX_MASK_PIXELS` pixels; either
    image's pixels are the step's work, known from the header before it is read."""
    level = probe.level_count - 1
    w, h = probe.level_dimensions[level]
    level0 = (probe.width or w, probe.height or h)
    try:
        thumb_px = _whole_slide_thumbnail(probe, level0)
        taking = resolved(options, probe)
        pixels = _Pixels(taking, clock, _openslide_tiles(slide, probe, error, taking.mpp, done, jpeg))
        if thumb_px is not None:
            if _step(probe, clock, "tissue mask", thumb_px):
                img = slide.associated_images["thumbnail"]
                _mask_from_image(img, level0, "thumbnail image", probe, pixels)
        elif w * h <= MAX_MASK_PIXELS:
            if _step(probe, clock, "tissue mask", w * h):
                rgba = done.get((level, (0, 0), (w, h)))
                if rgba is None:
                    rgba = _read_rgba(slide, (0, 0), level, (w, h), jpeg)
                _mask_from_image(rgba, level0, f"level {level}", probe, pixels)
        else:
            probe.tissue_note = (
                f"smallest level is {w}x{h} pixels (over {MAX_MASK_PIXELS} px) and no thumbnail image "
                "of the whole slide: no tissue mask"
            )
    except (error, OSError, ValueError, MemoryError) as exc:
        probe.tissue_note = f"reading the image for the tissue mask failed: {exc}"


def _associated_size(props: dict[str, str], name: str) -> tuple[float, float] | None:
    """The associated image ``name``'s width and height as the header states them (None: not
    stated; OpenSlide states them for every associated image)."""
    w = _float(props.get(f"openslide.associated.{name}.width"))
    h = _float(props.get(f"openslide.associated.{name}.height"))
    return (w, h) if w and h and w > 0 and h > 0 else None


def _associated_pixels(props: dict[str, str], name: str) -> int:
    """The pixels of the associated image ``name`` as the header states them (0: not stated)."""
    size = _associated_size(props, name)
    return int(size[0] * size[1]) if size else 0


def _whole_slide_thumbnail(probe: SlideProbe, level0: tuple[int, int]) -> int | None:
    """The pixels of the slide's thumbnail image when it shows the whole level 0 (None: it does
    not, or there is none)."""
    if "thumbnail" not in probe.associated_images:
        return None
    size = _associated_size(probe.properties, "thumbnail")
    if size is None or max(size) < MIN_THUMBNAIL_SIDE or not level0[0] or not level0[1]:
        return None
    tw, th = size
    if tw > level0[0] or th > level0[1]:
        return None  # a "thumbnail" larger than the slide: its decode would spend the budget for nothing
    if abs((tw / th) / (level0[0] / level0[1]) - 1) > 0.02:
        return None  # not the same field of view as level 0
    return int(tw * th)


MALLOC_MMAP_THRESHOLD = 4 << 20
"""Bytes from which a worker's C allocator maps fresh pages for a block (glibc's default: 128 KiB,
raised as blocks are freed)."""
MALLOC_TRIM_THRESHOLD = 32 << 20
"""Freed bytes a worker's C allocator keeps for reuse before it returns them to the system."""
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)


def keep_freed_memory() -> None:
    """Let this process's C allocator (glibc) reuse freed memory for the probe's arrays instead of
    asking the system for fresh pages each time. A probe makes and frees many arrays of a few
    hundred KiB (a tile, an image, their float copies); with glibc's defaults many of them come
    from newly mapped or regrown memory, and touching those pages cost about a tenth of a probe's
    CPU (``benchmarks/bench_slides.py``). For dqm's worker processes, which probe one slide
    after another; the memory kept is at most :data:`MALLOC_TRIM_THRESHOLD` more. Does nothing
    where the C library has no ``mallopt`` (macOS, musl)."""

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt(_M_MMAP_THRESHOLD, MALLOC_MMAP_THRESHOLD)
    mallopt(_M_TRIM_THRESHOLD, MALLOC_TRIM_THRESHOLD)


OPENSLIDE_DICOM_SINCE = (4, 0)
"""The OpenSlide C library that first reads DICOM (4.0.0, ``openslide-vendor-dicom.c``): one older
never opens a DICOM slide's folder, so no file there that cannot be read is left out of a slide."""


def openslide_reads_dicom() -> bool:
    """Whether the OpenSlide C library ``openslide`` loads reads DICOM slides (their series' other
    files: ``SLIDE_PART_UNREADABLE`` says one of them could not be read): its
    ``openslide.__library_version__`` at least :data:`OPENSLIDE_DICOM_SINCE`. A version that does
    not read as numbers is taken as one that does (a part missed unsaid is the costlier error);
    no library at all reads nothing. Asked at each probe (an attribute read once imported)."""
    try:
        import openslide
    except Exception:  # not installed, no library found (ModuleNotFoundError, OSError)
        return False
    found = re.match(r"(\d+)\.(\d+)", str(getattr(openslide, "__library_version__", "")))
    return found is None or (int(found[1]), int(found[2])) >= OPENSLIDE_DICOM_SINCE


def import_decoders() -> None:
    """Import the libraries a probe decodes and measures with (OpenSlide, tifffile, Pillow, scipy's
    ``ndimage``, the perceptual hash; about 0.17 s of CPU), for a process about to fork the workers
    that probe: imported once here, each worker has them from the start instead of importing them
    on its first slide. Each probe also calls it before its budget starts (a no-op once imported),
    so a process's first slide, in a Dask worker or in this process, does not pay the imports from
    its budget (on a loaded machine, seconds on the wall clock)."""
    import openslide  # noqa: F401
    import tifffile  # noqa: F401
    from PIL import Image  # noqa: F401
    from scipy import ndimage  # noqa: F401

    from dqm.pixels import hashes  # noqa: F401


_NATIVE_STDERR = {"capture": False}


def capture_native_stderr() -> None:
    """From now on, what C libraries print on this process's stderr while a plain image decodes
    (libtiff prints its JPEG warnings itself) becomes ``probe.decoder_warnings``. Only for a
    process whose stderr nothing else writes to while it probes: dqm's worker processes (a
    progress bar in the main process writes to the same file descriptor)."""
    _NATIVE_STDERR["capture"] = True


@contextmanager
def _native_stderr(sink: list[str]) -> Iterator[None]:
    """File descriptor 2 into ``sink`` (one entry, its lines joined) for the block's duration."""
    if not _NATIVE_STDERR["capture"]:
        yield
        return
    import sys
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            text = tmp.read(4096).decode("utf-8", "replace")
            if text.strip():
                sink.append(" ".join(line.strip() for line in text.splitlines() if line.strip()))


def _probe_pillow(path: Path, probe: SlideProbe, options: ProbeOptions, clock: Budget) -> None:
    """Open a plain image; the decoder's warnings (corrupt EXIF, tags past the end of the file,
    and in worker processes what libtiff prints) are kept in ``probe.decoder_warnings`` for the
    slide checks to report, not printed."""
    native: list[str] = []
    with warnings.catch_warnings(record=True) as caught, _native_stderr(native):
        warnings.simplefilter("always")
        _pillow(path, probe, options, clock)
    said = [str(w.message) for w in caught] + native
    probe.decoder_warnings = tuple(dict.fromkeys(clip(m, 200) for m in said))


def _pillow(path: Path, probe: SlideProbe, options: ProbeOptions, clock: Budget) -> None:
    from PIL import Image

    try:
        with Image.open(path) as img:
            slide_refs.unturned(img)  # a TIFF as stored, as its mask is read
            w, h = img.size
            probe.vendor = f"image/{(img.format or 'unknown').lower()}"
            probe.pillow_mode = img.mode
            if probe.orientation is None:  # a TIFF's was read from its first page's tags
                probe.orientation = slide_refs.exif_orientation(img.info)
            if plain_too_large(w, h):
                probe.open_error = msg(
                    "plain image of {w}x{h} pixels is too large to decode safely", w=w, h=h
                )
                _add_texts(probe, pillow_texts(img, header_only=True, path=path))  # its text, no pixel
                return
            probe.opened, probe.backend = True, "pillow"
            probe.width, probe.height = w, h
            probe.level_count = 1
            probe.level_dimensions = ((w, h),)
            probe.level_downsamples = (1.0,)
            dpi = img.info.get("dpi")
            probe.properties = {"pillow.format": img.format or "", "pillow.mode": img.mode}
            dpi_x = _float(dpi[0]) if isinstance(dpi, tuple) and dpi else None
            if dpi_x and dpi_x > 1:
                probe.properties["pillow.dpi"] = f"{dpi_x:g}"
            _codec(path, probe)
            tables = getattr(img, "quantization", None)  # JPEG only
            if probe.compression == "jpeg" and isinstance(tables, dict):
                probe.jpeg_quality, _ = jpeg_quality(tables)
            try:
                clock.count(w * h)  # decoded whatever the budget: its readability is the slide's
                img.load()
                probe.regions_read = 1
            except (OSError, ValueError, SyntaxError) as exc:
                probe.read_failure = ReadFailure(0, (0, 0), f"decoding failed: {exc}")
                return
            finally:  # a PNG's text chunks after its pixels are read with them
                if img.format != "TIFF":  # a TIFF's tags: _codec
                    _add_texts(probe, pillow_texts(img, path=path))
            if options.tissue:
                if img.mode not in ("RGB", "RGBA", "P", "CMYK", "YCbCr"):
                    probe.tissue_note = f"{img.mode} image: no colour to separate tissue from glass"
                elif _step(probe, clock, "tissue mask", w * h):
                    taking = resolved(options, probe)  # its size and header read
                    _mask_from_image(
                        img,
                        (w, h),
                        "plain image",
                        probe,
                        _Pixels(taking, clock, _pillow_tiles(img, taking.mpp)),
                    )
    except Image.DecompressionBombError as exc:  # over Pillow's limit: refused before decoding
        probe.open_error = msg("plain image too large to decode safely ({reason})", reason=str(exc))
        _add_texts(probe, _header_texts(path))
    except (OSError, ValueError, SyntaxError) as exc:
        reason = str(exc)
        probe.open_error = _unrecognised(path, type(exc).__name__, reason, probe.container is None)


def _header_texts(path: Path) -> list[tuple[str, str]]:
    """The text of a plain image Pillow refused to open as a decompression bomb (a PNG declaring
    100,000 x 100,000 pixels): its format's reader is asked for the header alone, as ``Image.open``
    asks it before its size check, so that a name or an RRN in the header's text chunks is searched
    (it was not: the refused image showed no property). No pixel is decoded."""
    from PIL import Image

    Image.init()
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
            for fmt in Image.ID:
                factory, accept = Image.OPEN[fmt]
                if accept is not None and not accept(head):
                    continue
                fh.seek(0)
                try:
                    img = factory(fh, str(path))
                except (OSError, ValueError, SyntaxError, IndexError, TypeError, struct.error):
                    continue
                try:
                    return pillow_texts(img, header_only=True, path=path)
                finally:
                    img.close()
    except OSError:
        pass
    return []


def _unrecognised(path: Path, error: str, reason: str, sniff_bytes: bool) -> str:
    """Why neither library opens the file; with ``sniff_bytes``, what its first bytes look like."""
    if not sniff_bytes:
        return msg(
            "neither OpenSlide nor Pillow recognises it ({error}: {reason})", error=error, reason=reason
        )
    kind = sniff(path)
    if kind:
        return msg(
            "neither OpenSlide nor Pillow recognises it ({error}: {reason}); it starts like a {kind} file "
            "but cannot be decoded (truncated or corrupt)",
            error=error,
            reason=reason,
            kind=kind,
        )
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
    except OSError:
        return msg(
            "neither OpenSlide nor Pillow recognises it ({error}: {reason}); its first bytes cannot be read",
            error=error,
            reason=reason,
        )
    return msg(
        "neither OpenSlide nor Pillow recognises it ({error}: {reason}); its first bytes {head} are the "
        "signature of no image format",
        error=error,
        reason=reason,
        head=repr(head),
    )


def probe_slide(
    path: Path,
    rel: str,
    options: ProbeOptions | None = None,
    taken: Taken | None = None,
) -> SlideProbe:
    """Open a slide, read its header and a bounded sample of regions; never raises for content.
    ``taken``: what the caller took of the slide and the files OpenSlide opens by name besides it
    (:class:`Taken`: the record's); taken here when not given. A slide whose parts (or itself,
    opened by name) are not those files once OpenSlide is done with them is not described
    (:func:`_changed_while_read`). Raises :class:`NotChecked` where a transient error (EIO,
    EMFILE...) listing a DICOM slide's folder, at the look before the open or the check after,
    leaves that unknown: no fact of the file, so nothing to describe or to keep (the run records
    the item as not checked, and the result cache does not keep it)."""
    options = options or ProbeOptions()
    import_decoders()  # a process's first probe: the imports are not the slide's to pay
    clock = Budget(options.budget_s)
    probe = SlideProbe(path=rel, budget_s=options.budget_s)
    try:
        st = path.stat()
        probe.size_bytes = st.st_size
        probe.fingerprint = fingerprint(path, probe.size_bytes)
    except OSError as exc:
        probe.open_error = msg("cannot read the file: {reason}", reason=exc.strerror or exc)
        return probe
    if probe.size_bytes == 0:
        probe.open_error = msg("the file is empty")
        return probe
    with _held(path) as fd:
        if isinstance(fd, str):  # never read by its path: a FIFO swapped in would block the run
            probe.open_error = msg(CANNOT_READ, _reason=fd)
            return probe
        root = batch_root(path, rel)
        taken, probe.open_error, probe.reference_refused = _taken_and_looked(path, root, fd, st, taken)
        probe.unsettled = taken.unread_failed
        if probe.open_error is not None:  # before OpenSlide opens what it names: none left out
            if not probe.reference_refused:  # a TIFF too large to parse: its text is still searched
                _refused_texts(fd, probe)
            return probe
        probe.parts_unread = taken.unread if openslide_reads_dicom() else None
        _tile_index(probe, clock, fd)
        with os.fdopen(os.dup(fd), "rb") as fh:  # its offset is fd's: wherever a read left it
            probe.orientation = tiff_orientation(fh)
        name, own = openslide_name(path, fd), _fd_name(path, fd)
        if not _probe_openslide(path, probe, options, clock, name, fd):
            _probe_pillow(Path(own), probe, options, clock)  # the file the checks read
        elif probe.backend == "openslide":
            check = _after_reads(rel, path, fd, root, taken, probe.fingerprint, name, probe.vendor)
            changed = check() if check is not None else None
            if changed is not None:  # facts of files the record does not describe: none kept
                return SlideProbe(
                    path=rel,
                    budget_s=options.budget_s,
                    size_bytes=probe.size_bytes,
                    fingerprint=probe.fingerprint,
                    open_error=changed,
                    unsettled=True,
                )
    probe.elapsed_s, probe.work = clock.cpu_s, clock.done
    _name_by_rel(probe, path, name, own)
    return probe


def _taken_and_looked(
    path: Path, root: Path, fd: int, st: os.stat_result, taken: Taken | None
) -> tuple[Taken, Message | None, bool]:
    """What :func:`probe_slide` and :func:`open_checked` do before OpenSlide opens the slide at
    ``path`` (in the batch folder ``root``, read through ``fd``, its stat ``st``): its files taken
    (:func:`taken_of`; ``taken``, given: not taken again), then the refusal's look
    (:func:`~dqm.slide_refs.not_to_open`: a file it would open outside the batch or special, then
    a TIFF too large to parse). Taken first: a part swapped for a link out of the batch after the
    look and before the take would be the baseline the check after OpenSlide's reads keeps.
    Returns ``(taken, why refused or None, whether a file it names was refused)``. A DICOM slide's
    folder that cannot be listed just now (EIO, EMFILE...) raises :class:`NotChecked`, never a
    refusal (:func:`~dqm.slide_refs.refused_reference`, strict): the server answers "try again";
    the probe raises it, so the item is not checked, and not kept in the result cache (a refusal
    kept there under a key whose listing succeeded was the answer of every run after)."""
    taken = taken if taken is not None else taken_of(path, st, root)
    try:
        refused = refused_reference(path, root, fd, True)
    except OSError as exc:  # a transient error
        raise NotChecked(msg(CANNOT_READ, _reason=exc.strerror or str(exc))) from None
    if refused is not None:
        return taken, refused, True
    return taken, tiff_refusal(path, fd), False


def _after_reads(
    ref: str,
    path: Path,
    fd: int,
    root: Path,
    taken: Taken,
    own_print: str | None,
    name: str,
    vendor: str | None,
) -> Callable[[], Message | None] | None:
    """The check after OpenSlide's reads of the slide ``ref`` opened by ``name`` (the batch path
    ``path``, or ``fd``'s descriptor path: :func:`~dqm.slide_refs.openslide_name`), for
    :func:`probe_slide` and :class:`CheckedSlide` alike: a function giving
    :func:`_changed_while_read`'s reason; None where OpenSlide reads the descriptor alone (one TIFF
    with no part: nothing else to check). A Trestle slide is opened again by its name."""
    by_name = name == str(path) or vendor == "trestle"
    if not by_name and not taken.listed:
        return None
    watched: list[Watched | None] = []

    def check() -> Message | None:
        # the first check covers OpenSlide's open too: the whole jail rule (refused_reference);
        # after it, what OpenSlide opens again at a read (watched_besides, taken at the second
        # check: a probe checks once), not the head and every name again; a file named that
        # joined since the open (not in taken.listed) is watched as no file then: seen joined
        if watched and watched[0] is None:
            watched[0] = watched_besides(
                str(path), taken.own[0], root, taken.parts, vendor, taken.listed, taken.cut, taken.names
            )
        why = _changed_while_read(
            ref, path, fd if by_name else None, root, taken, own_print, fd, watched[0] if watched else None
        )
        if not watched:
            watched.append(None)
        return why

    return check


def stat_values(st: os.stat_result) -> list[int]:
    """What a file's stat says of its content, as a record keeps it: size, modification and change
    time (ns), inode."""
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


@dataclass(frozen=True)
class Taken:
    """What was taken of a slide's files before it is probed, as its record keeps them: ``own``,
    the slide's :func:`stat_values`; ``listed``, the batch paths of the files OpenSlide opens by
    name besides it (:func:`~dqm.slide_refs.slide_parts`, the first
    :data:`~dqm.slide_refs.MAX_PARTS`); ``parts``, the quick print (:func:`fingerprint`) and
    :func:`stat_values` of each of those that could be read (one that cannot is left out: OpenSlide's
    error says so); ``cut``, whether the listing was cut at :data:`~dqm.slide_refs.MAX_PARTS`;
    ``names``, the names the slide gave that led to a file listed (None: not taken); ``strict``,
    whether taken strict (:func:`taken_of`): the check after a read lists the files as strictly
    (:func:`_changed_while_read`), so that a file read as none at the take for an error that says
    nothing of it (EIO...) is not one joined since. ``each``: how strictly each file found was
    taken (:data:`~dqm.slide_refs.EachStrict`; None: as ``strict``), which the check after a read
    takes them as too. ``unread``: the files beside a DICOM slide that could not be read (batch
    path, the system's words), left out as OpenSlide leaves them out, silently: the run says so
    (``SLIDE_PART_UNREADABLE``); None where the slide's folder was not walked for its series (no
    series of its own, its folder not listed or refused: :class:`~dqm.slide_refs.PartsUnread`), where no
    file's error counts."""

    own: list[int]
    listed: list[str]
    parts: dict[str, tuple[str, list[int]]]
    cut: bool = False
    names: frozenset[str] | None = None
    strict: bool = False
    each: EachStrict = field(default=None, compare=False)
    unread: tuple[tuple[str, str], ...] | None = None
    unread_failed: bool = field(default=False, compare=False)
    """Whether listing the DICOM slide's folder failed (:attr:`~dqm.slide_refs.PartsUnread.failed`):
    ``unread`` None says nothing then (:attr:`SlideProbe.unsettled`)."""


def taken_of(
    path: Path | str, st: os.stat_result, root: Path, strict: bool = False, recorded: Recorded | None = None
) -> Taken:
    """:class:`Taken` of the slide at ``path`` (its stat ``st``) in the batch folder ``root``, now:
    its parts' prints and stats from one opening each (:func:`stat_and_print`). ``strict`` (the
    check against the audit's record): an error that says nothing of a file
    (:func:`~dqm.slide_refs.transient`: EIO, EMFILE...) listing the parts or reading one raises
    :class:`AuditUnchecked`; left out, such a part would read as gone since the audit, and the
    slide refused for good. Given the audit's record (``recorded``), a file found that it does not
    record is taken as the audit took it (:func:`audited_strictly`): such an error on it leaves it
    out, as the audit's take left it out (a file beside a DICOM slide that always fails with EIO:
    no evidence of change, where "try again" was the answer for ever)."""
    names: set[str] = set()
    each = audited_strictly(root, recorded) if strict and recorded is not None else None
    unread = PartsUnread()
    try:
        listed, cut = slide_parts(
            str(path), st.st_size, root, names=names, strict=strict, each_strict=each, unread=unread
        )
    except OSError as exc:  # strict only: a transient error
        raise AuditUnchecked(exc.strerror or str(exc)) from None
    parts: dict[str, tuple[str, list[int]]] = {}
    for part in listed:
        try:
            *values, quick = stat_and_print(os.path.join(root, part))
        except OSError as exc:
            if (
                strict
                and transient(exc)
                and (each is None or each(os.path.join(os.path.realpath(root), part)))
            ):
                raise AuditUnchecked(exc.strerror or str(exc)) from None
            continue
        except ValueError:
            continue
        parts[part] = (str(quick), [int(n) for n in values])
    return Taken(
        stat_values(st),
        listed,
        parts,
        cut,
        frozenset(names),
        strict,
        each,
        tuple(sorted(unread.items())) if unread.walked else None,
        unread.failed,
    )


def audited_strictly(root: Path, recorded: Recorded) -> AuditedStrictly:
    """How strictly a reader after the audit takes each file found beside a slide
    (:data:`~dqm.slide_refs.EachStrict`, of its resolved path in the batch folder ``root``): strictly
    (a transient error: :class:`AuditUnchecked`, "try again") where the audit's record
    (``recorded``) holds it, read by the audit; else as the audit took it, left out on an error
    (one the audit could not read either, the run's ``SLIDE_PART_UNREADABLE``). One rule for the
    review server and validity's reader (:func:`open_checked`, :func:`unlike_audit`,
    :func:`crowded_since_audit`) and the check after each read (:attr:`Taken.each`). A file the
    audit read that fails for good now (EACCES) is left out by the listing: gone since the audit,
    refused; one it could not read that reads now joined since: refused too."""
    return AuditedStrictly(os.path.realpath(root), frozenset(recorded.parts), recorded.named)


@dataclass(frozen=True)
class AuditedStrictly:
    """:func:`audited_strictly`'s rule, a value (called with a file's resolved path): the resolved
    batch folder, the batch paths the audit's record holds and how it names a path
    (:attr:`Recorded.named`). Not a closure: it rides on :attr:`Taken.each` in what a first open
    took, which validity's reader pickles to the training's processes."""

    real_root: str
    parts: frozenset[str]
    named: Callable[[str], str] | None = None

    def __call__(self, target: str) -> bool:
        part = os.path.relpath(target, self.real_root)
        return part in self.parts or (self.named is not None and self.named(part) in self.parts)


REPLACED_WHILE_READ = N_(
    "{_ref}, a file OpenSlide reads by its name for this slide, was replaced or removed while the slide "
    "was being checked: what was read of it is not kept"
)
WRITTEN_WHILE_READ = N_(
    "{_ref}, a file OpenSlide reads by its name for this slide, was written to while the slide was being "
    "checked (its size or modification time changed): what was read of it is not kept"
)
CONTENT_CHANGED_WHILE_READ = N_(
    "{_ref}, a file OpenSlide reads by its name for this slide, changed content while the slide was being "
    "checked (its size and modification time kept, its first or last bytes not): what was read of it is "
    "not kept"
)
LISTED_WHILE_READ = N_(
    "{_ref} joined or left the files OpenSlide reads by name for this slide while the slide was being "
    "checked (the files of its folder or the names its key file gives changed): what was read of them "
    "is not kept"
)
CUT_WHILE_READ = N_(
    "a file joined the files OpenSlide reads by name for this slide while the slide was being checked "
    "(they are now more than the {limit:,} listed when it was opened, which were all of them then): "
    "what was read of them is not kept"
)
"""Why a slide whose parts were listed whole at its open is not read further once they are listed
cut at :data:`~dqm.slide_refs.MAX_PARTS` (:func:`_changed_while_read`): a file of a DICOM series of
exactly that many that joined sorted past the others is on neither listing."""


CHANGED_SINCE_AUDIT = N_(
    "{_ref} is not the file the audit checked (its size or modification time is not the audit's "
    "record of it): changed since the audit, not read"
)
CONTENT_CHANGED_SINCE_AUDIT = N_(
    "{_ref} is not the file the audit checked (its size and modification time kept, its first or last "
    "bytes not those the audit recorded): changed since the audit, not read"
)
GONE_SINCE_AUDIT = N_(
    "{_ref} is not the file the audit checked (no regular file of the batch that can be read is there now: "
    "{_why}): not read"
)
"""Why a slide the audit recorded is not its file: its path leads to nothing, to a folder or
special file, out of the batch, or to a file whose bytes cannot be read (``_why``: the jail's or
the system's words)."""
LISTED_SINCE_AUDIT = N_(
    "{_ref} joined or left the files OpenSlide reads by name for this slide since the audit: not read"
)

FileRecord = tuple[int | None, int | None, str | None]
"""What the audit recorded of one file: its size, modification time (ns) and quick print
(:func:`fingerprint`); None where it recorded none (not compared)."""


@dataclass(frozen=True)
class Recorded:
    """What the audit recorded of a slide's files, for a reader after it (the report's
    thumbnails, validity's reader, the review's tiles), whose first open is checked against it
    (:func:`open_checked`): ``own``, the slide's :data:`FileRecord`; ``parts``, that of each file
    OpenSlide opens besides it (batch path; :class:`Taken`'s ``parts``), all of them: a file
    OpenSlide opens now that the audit did not record is not the audit's slide either."""

    own: FileRecord
    parts: dict[str, FileRecord]
    named: Callable[[str], str] | None = None
    """How the record names a batch path where it does not name it as it is: the review plan's
    masker (:class:`~dqm.semantic.models.SlideFiles`, its parts' paths masked); None: as it is."""


def recorded_of(
    rel: str | None,
    quick_print: str | None,
    stats: Mapping[str, Sequence[int]],
    parts: Mapping[str, str],
) -> Recorded | None:
    """:class:`Recorded` from an item record (:class:`~dqm.model.ItemRecord`: its slide's quick
    print ``fingerprint``, the ``stats`` of its files by batch path, the quick prints of its
    slide's ``parts``); ``rel``: the slide's batch path. None when it recorded nothing of the slide
    (no reader check: as a folder given without results)."""

    def values(path: str, quick: str | None) -> FileRecord:
        stat = stats.get(path)
        return (
            int(stat[0]) if stat and len(stat) >= 2 else None,
            int(stat[1]) if stat and len(stat) >= 2 else None,
            quick,
        )

    own = values(rel, quick_print) if rel is not None else (None, None, None)
    if own == (None, None, None):
        return None
    return Recorded(own, {part: values(part, quick) for part, quick in parts.items()})


def _unlike_record(ref: str, taken: Taken, own_print: str, recorded: Recorded) -> Message | None:
    """Why the slide ``ref`` as a reader's first open took it (``taken``, its own quick print
    ``own_print``) is not what the audit recorded (``recorded``): the slide or a part of another
    size or modification time, or another quick print; a part the audit recorded that OpenSlide
    no longer finds, or one it finds that the audit did not record. None when it is the audit's."""
    if (why := _unlike(taken.own, own_print, recorded.own)) is not None:
        return msg(why, _ref=clip(ref, 200))
    named = recorded.named
    parts = {
        (part if named is None or part in recorded.parts else named(part)): values
        for part, values in taken.parts.items()
    }
    for part, record in recorded.parts.items():
        if part not in parts:
            return msg(LISTED_SINCE_AUDIT, _ref=clip(part, 200))
        quick, values = parts[part]
        if (why := _unlike(values, quick, record)) is not None:
            return msg(why, _ref=clip(part, 200))
    joined = sorted(set(parts) - set(recorded.parts))
    return msg(LISTED_SINCE_AUDIT, _ref=clip(joined[0], 200)) if joined else None


def _unlike(values: Sequence[int], quick: str, record: FileRecord) -> str | None:
    """Which of :data:`CHANGED_SINCE_AUDIT` and :data:`CONTENT_CHANGED_SINCE_AUDIT` tells a file
    of :func:`stat_values` ``values`` and quick print ``quick`` from the audit's ``record`` of it;
    None where they agree (a value not recorded is not compared)."""
    size, mtime, recorded_print = record
    if (size is not None and size != values[0]) or (mtime is not None and mtime != values[1]):
        return CHANGED_SINCE_AUDIT
    if recorded_print is not None and recorded_print != quick:
        return CONTENT_CHANGED_SINCE_AUDIT
    return None


def _changed_while_read(
    rel: str,
    path: Path,
    fd: int | None,
    root: Path,
    taken: Taken,
    own_print: str | None,
    held: int | None = None,
    watched: Watched | None = None,
) -> Message | None:
    """Why what OpenSlide read of the slide ``rel`` at ``path`` is not that of the files checked
    (``taken`` before): once it is done with them, the slide itself, opened by its name (``fd``:
    the descriptor the checks read, whose print is ``own_print``; None when OpenSlide read that
    descriptor), no longer the file ``fd`` holds or not as taken; a part (batch path in ``root``)
    not as taken (:func:`_differs`); or the parts, listed again
    (:func:`~dqm.slide_refs.slide_parts`), not the names listed before (a DICOM file of the
    series copied into the folder, a key file naming other images); or a file it would open now
    refused by the jail rule (:func:`~dqm.slide_refs.refused_reference`, the slide read through
    ``held``, the checks' descriptor): the listing leaves such a file out, so a part missing at the
    open (a VMS's ``OptimisationFile``, a MIRAX data file) and made a link out of the batch after
    it went unseen, at every read after. Given ``watched`` (after the check following the open:
    :func:`~dqm.slide_refs.watched_besides`), that rule is applied to what OpenSlide opens again
    at a read (:func:`~dqm.slide_refs.refused_again`), not by reading the slide's head and
    resolving every name again (a MIRAX slide of 400 data files: 8.7 ms a read); and the parts the
    slide names (a MIRAX slide's ``Slidedat.ini`` and data files, a VMS's) are stat'ed by the names
    OpenSlide opens (:attr:`~dqm.slide_refs.Watched.named`), not listed again: the listing can
    change only where a named file changes (``Slidedat.ini``, the key file: its stat or print), a
    name leads to another file (a link in place of a folder above a part: another stat), or a name
    that led to nothing leads to a file (stat'ed: joined). Only a slide with parts it does not name
    (a DICOM series' other files, in its folder) is listed again after each read.

    OpenSlide 4 holds no file open between its calls (strace, OpenSlide 4.0.1: a VMS's JPEG and a
    Trestle TIFF opened by name again for every read and closed; a DICOM folder's files opened and
    closed within the open), so no descriptor of it tells which file it read. What is confirmed is
    that the names lead to the files checked after its last read; a file swapped and put back
    between two of its reads is not seen. Cost: a stat a part and the listing again (a DICOM
    folder's headers are kept by stat, :func:`~dqm.slide_refs.series_of`: a stat a file)."""
    if fd is not None:
        if not _same_file(path, fd):
            return msg(REPLACED_WHILE_READ, _ref=clip(rel, 200))
        if (why := _differs(str(path), taken.own, own_print)) is not None:
            return msg(why, _ref=clip(rel, 200))
    by_name = watched.named if watched is not None else ()
    for name, part in by_name:  # by the name OpenSlide opens: a folder above made a link is seen
        if part in taken.parts:
            quick, before = taken.parts[part]
            if (why := _differs(name, before, quick)) is not None:
                return msg(why, _ref=clip(part, 200))
    named = {part for _, part in by_name}
    for part, (quick, before) in taken.parts.items():
        if part not in named and (why := _differs(os.path.join(root, part), before, quick)) is not None:
            return msg(why, _ref=clip(part, 200))
    if watched is not None and not watched.relist:
        if (why := refused_again(watched, root)) is not None:
            return why
        # a name that led to no file at the open now a file of the batch: the listing changed
        there = next((ref for name, ref in watched.resolved if os.path.isfile(name)), None)
        return None if there is None else msg(LISTED_WHILE_READ, _ref=clip(there, 200))
    try:  # a transient error (EIO, EMFILE...) says nothing of the files: asked again, nothing refused
        # the listing strict; each file as strictly as the take (a file beside a DICOM slide that
        # always fails with EIO, left out at a probe's take as OpenSlide leaves it out, not joined)
        each = taken.each if taken.each is not None else taken.strict
        now, cut = slide_parts(str(path), taken.own[0], root, strict=True, each_strict=each)
        if set(now) != set(taken.listed):
            # a file that joined first: past MAX_PARTS one joining pushes another off the listing's end
            joined, left = sorted(set(now) - set(taken.listed)), sorted(set(taken.listed) - set(now))
            return msg(LISTED_WHILE_READ, _ref=clip((joined or left)[0], 200))
        if cut and not taken.cut:  # one joined past the others (sorted last): off both listings
            return msg(CUT_WHILE_READ, limit=slide_refs.MAX_PARTS)
        return (
            refused_again(watched, root) if watched is not None else refused_reference(path, root, held, True)
        )
    except OSError as exc:
        raise NotChecked(msg(CANNOT_READ, _reason=exc.strerror or str(exc))) from None


def _differs(path: str, before: Sequence[int], quick: str | None) -> str | None:
    """Why the file at ``path`` is not the one whose :func:`stat_values` were ``before`` and quick
    print ``quick`` (a message of :func:`_changed_while_read`), None when it is. A file whose size,
    modification time and inode are kept and only its change time moved had its metadata changed
    (``chmod``, a hard link made elsewhere, its access time put back by a backup or virus scanner)
    or was written with its times put back: its print tells which."""
    try:
        now = stat_values(os.stat(path))
    except OSError:
        return REPLACED_WHILE_READ
    if now == list(before):
        return None
    if now[3] != before[3]:
        return REPLACED_WHILE_READ
    if now[:2] != list(before[:2]):
        return WRITTEN_WHILE_READ
    try:
        again = fingerprint(path, now[0])
    except OSError:
        return REPLACED_WHILE_READ
    return None if again == quick else CONTENT_CHANGED_WHILE_READ


class _Unopened(str):
    """Why :func:`_held` has no descriptor (the system's words), with the error's ``errno``."""

    errno: int | None = None


REFUSED_ERRNOS = GONE_ERRNOS
"""The open errors that say the slide's path no longer leads to a regular file that can be read
(gone, replaced by a folder or special file, made unreadable: :data:`~dqm.slide_refs.GONE_ERRNOS`,
ENXIO a socket's): not the audit's file. Any other (EIO, EMFILE, ENFILE, ENOMEM, EAGAIN, EINTR,
ETIMEDOUT, ESTALE...) may pass: :class:`AuditUnchecked`."""


class AuditUnchecked(Exception):
    """The slide could not be checked against the audit's record now (a transient error: EIO,
    EMFILE...): nothing is known of it either way; ``args[0]``, the system's words."""


CROWDED_SINCE_AUDIT = N_(
    "{_ref} is a DICOM slide whose folder holds more than {limit:,} files of its series: the audit "
    "recorded {limit:,} at most, so a file that joined since cannot be told from one past the bound at "
    "the audit; not reviewed as the audited slide"
)
"""Why a reader after the audit refuses a DICOM slide whose series is listed cut now
(:func:`crowded_since_audit`)."""


def crowded_since_audit(
    path: Path, root: Path, cut: bool | None = None, recorded: Recorded | None = None
) -> Message | None:
    """Why a reader after the audit (the review server, validity's reader: :func:`open_checked`
    given the record, and the server's check at a verdict) refuses the slide at ``path`` (in the
    batch folder ``root``): a DICOM slide whose series is listed cut at
    :data:`~dqm.slide_refs.MAX_PARTS` now (``cut``: that of a listing just taken, else listed
    here). The audit's record holds the first :data:`~dqm.slide_refs.MAX_PARTS` and no word of
    whether there were more: a slide of exactly that many at the audit that gained one since
    (sorted past the others) read as the audit's, and OpenSlide opened the file joined. Refused
    whether or not the audit's listing was cut (the run warned of it as crowded); a MIRAX or VMS
    slide gains a part only by its key file changing (a recorded part): not refused here. None for
    any other slide, or one gone or unreadable (the check against the record refuses it). Raises
    :class:`AuditUnchecked` where a transient error (EIO, EMFILE...) listing the series or reading
    the slide's head leaves it unknown: a DICOM slide not named ``.dcm`` is not passed over. Given
    the audit's record (``recorded``), a file of the folder it does not record is listed as the
    audit listed it (:func:`audited_strictly`): one it could not read failing again is left out."""
    try:
        if not slide_refs.may_be_dicom(str(path), strict=True):
            return None
        if cut is None:
            each = audited_strictly(root, recorded) if recorded is not None else None
            cut = slide_parts(str(path), os.stat(path).st_size, root, strict=True, each_strict=each)[1]
    except OSError as exc:
        if slide_refs.transient(exc):
            raise AuditUnchecked(exc.strerror or str(exc)) from None
        return None
    if not cut:
        return None
    return msg(CROWDED_SINCE_AUDIT, _ref=clip(batch_place(path, root), 200), limit=slide_refs.MAX_PARTS)


@contextmanager
def _held(path: Path) -> Iterator[int | str]:
    """A descriptor of the regular file at ``path`` for the checks before OpenSlide opens it, for
    OpenSlide itself (:func:`~dqm.slide_refs.openslide_name`) and for Pillow (:func:`_fd_name`),
    closed afterwards; else why there is none: ``path`` cannot be opened, or is no regular file
    (opened without waiting: a FIFO there is refused, never read by its path, which would wait
    for a writer for ever)."""
    try:
        fd = os.open(path, READ_FLAGS)
    except OSError as exc:
        why = _Unopened(exc.strerror or str(exc))
        why.errno = exc.errno
        yield why
        return
    try:
        yield fd if stat.S_ISREG(os.fstat(fd).st_mode) else SPECIAL
    finally:
        os.close(fd)


def _fd_name(path: Path, fd: int) -> str:
    """A name that opens the file ``fd`` holds, whatever ``path`` names by then: its
    ``/proc/self/fd/N`` (Pillow detects a format by its content, not its name), else ``path``."""
    own = f"/proc/self/fd/{fd}"
    return own if os.path.exists(own) else str(path)


class _Replaced(Exception):
    """The batch path of a slide no longer names the file the checks read (:func:`_same_file`)."""


REPLACED = N_("the file was replaced while it was being checked: not opened")
CANNOT_READ = N_("cannot read the file: {_reason}")
"""Why a slide is not opened: its path cannot be opened or is no regular file (``_reason``: the
system's words, or :data:`~dqm.slide_refs.SPECIAL`)."""


def _same_file(path: Path, fd: int) -> bool:
    """Whether ``path`` (links followed, as OpenSlide follows them) is the file ``fd`` holds;
    ``stat``, which neither opens nor waits on a FIFO swapped in."""
    try:
        now, held = os.stat(path), os.fstat(fd)
    except OSError:
        return False
    return (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino)


def _openslide_by(name: str, path: Path, fd: int | None) -> Any:
    """``openslide.OpenSlide(name)``. Where ``name`` is the batch path ``path`` (a slide OpenSlide
    finds by its name: its folder, its extension, files named after it), only while that path is
    the file the checks read through ``fd``, checked before (a FIFO swapped in would block the
    open for ever) and after (a file swapped in before the open): else :class:`_Replaced`. A swap
    between the check and OpenSlide's own open is not seen: OpenSlide takes no descriptor."""
    import openslide

    if fd is None or name != str(path):
        return openslide.OpenSlide(name)
    if not _same_file(path, fd):
        raise _Replaced
    slide = openslide.OpenSlide(name)
    if not _same_file(path, fd):
        slide.close()
        raise _Replaced
    return slide


class NotOpened(Exception):
    """The slide is not given to OpenSlide (:func:`open_checked`); ``why``: the reason, a message."""

    def __init__(self, why: Message) -> None:
        super().__init__(why)
        self.why = why


class NotAudited(NotOpened):
    """The slide's files are not those the audit recorded (:func:`_unlike_record`): changed since."""


class NotChecked(NotOpened):
    """The slide's first open could not be checked against the audit's record just now (a
    transient error listing or reading a file of it: :class:`AuditUnchecked`): not opened, and not
    refused as changed since the audit either (to be tried again)."""


@dataclass(frozen=True)
class Opened:
    """What :func:`open_checked` took of a slide's files at its first open, for a reader that opens
    it again (after closing it to spare descriptors, or after a failed read): ``taken``, the
    :class:`Taken`; ``own_print``, the slide's own quick print (:func:`fingerprint`)."""

    taken: Taken
    own_print: str


class CheckedSlide:
    """An OpenSlide slide opened as the probe opens it, for a reader that comes after the probe (the
    report's thumbnails, validity's :class:`~dqm.validity.data.SlideReader`, the review server's
    viewer): ``slide``, given the descriptor the checks read where the slide is one TIFF
    (:func:`~dqm.slide_refs.openslide_name`), else its batch path; and :meth:`changed`, the probe's
    check after OpenSlide's reads (:func:`_changed_while_read`, its four reasons), against what was
    taken of the slide's files as it was opened. A reader asks it after each read and shows or
    trains on nothing of a slide it names. :meth:`close` closes the slide, then the descriptor.
    ``opened``: what was taken (:class:`Opened`), to give :func:`open_checked` when the reader opens
    the slide again."""

    def __init__(self, slide: Any, fd: int, owned: bool, check: Any, opened: Opened) -> None:
        self.slide, self._fd, self._owned, self._check = slide, fd, owned, check
        self.opened = opened

    def changed(self) -> Message | None:
        """Why what OpenSlide read is not of the files checked when the slide was opened (a part
        replaced, written or changed, the slide itself by its name, the parts listed again not the
        same), None when it is: a stat a part and the listing again; nothing where OpenSlide reads
        the descriptor alone (one TIFF)."""
        return self._check() if self._check is not None else None

    def close(self) -> None:
        try:
            self.slide.close()
        finally:
            if self._owned:
                os.close(self._fd)
                self._owned = False


def open_checked(
    path: Path,
    root: Path,
    fd: int | None = None,
    first: Opened | None = None,
    recorded: Recorded | None = None,
) -> CheckedSlide:
    """The slide at ``path`` in the batch folder ``root`` opened by OpenSlide as
    :func:`probe_slide` opens it: through a descriptor of the
    regular file (``fd``, held by the caller, else opened here without waiting and closed with the
    slide), refused when OpenSlide would open a file outside the batch or a special file
    (:func:`~dqm.slide_refs.not_to_open`), its parts taken (:func:`taken_of`) before that
    look, so that a part swapped after it is seen by :meth:`CheckedSlide.changed`. ``first``: what
    the reader's first open took (:attr:`CheckedSlide.opened`), for a slide opened again: the
    files are checked against it, not taken afresh, before and after OpenSlide's open and after
    each read (a scan swapped in while the slide was closed is refused, never a new baseline).
    ``recorded``: what the audit recorded of the slide's files (:class:`Recorded`), for a reader
    after it: a first open that takes them otherwise (:func:`_unlike_record`: another size,
    modification time or quick print, a part joined or gone) is refused, before OpenSlide opens
    anything, so a slide swapped since the audit is not shown, trained on or reviewed as the
    audited one (:class:`NotAudited`). Raises :class:`NotOpened` (why, a message) for a slide
    refused, and OpenSlide's own errors, naming ``path`` (``OpenSlideUnsupportedFormatError``: a
    file for Pillow; its ``opened``, the :class:`Opened` taken, for the reader that opens it
    through Pillow: :func:`plain_file`)."""
    import openslide

    owned = fd is None
    if fd is None:
        try:
            fd = os.open(path, READ_FLAGS)
        except OSError as exc:
            raise NotOpened(msg(CANNOT_READ, _reason=exc.strerror or str(exc))) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotOpened(msg(CANNOT_READ, _reason=SPECIAL))
        given = first.taken if first is not None else None
        if given is None and recorded is not None:  # a transient error: not taken for a part gone
            try:
                given = taken_of(path, st, root, strict=True, recorded=recorded)
            except AuditUnchecked as exc:
                raise NotChecked(msg(CANNOT_READ, _reason=str(exc))) from None
        taken, refused, _ = _taken_and_looked(path, root, fd, st, given)
        if refused is not None:
            raise NotOpened(refused)
        ref = batch_place(path, root)
        if first is not None:
            own_print = first.own_print
            if (why := _differs(_fd_name(path, fd), taken.own, own_print)) is not None:
                raise NotOpened(msg(why, _ref=clip(ref, 200)))
        else:
            own_print = _readable(_print, fd, st.st_size)
            if recorded is not None and (why := _unlike_record(ref, taken, own_print, recorded)) is not None:
                raise NotAudited(why)
            if recorded is not None:  # the listing just taken cut: a file may have joined since
                try:
                    why = crowded_since_audit(path, root, taken.cut)
                except AuditUnchecked as exc:
                    raise NotChecked(msg(CANNOT_READ, _reason=str(exc))) from None
                if why is not None:
                    raise NotAudited(why)
        name = openslide_name(path, fd)
        try:
            slide = _openslide_by(name, path, fd)
        except _Replaced:
            raise NotOpened(msg(REPLACED)) from None
        except openslide.OpenSlideError as exc:  # it names the slide by the name it was given
            named = type(exc)(named_as(str(exc), name, path))
            named.opened = Opened(taken, own_print)  # type: ignore[attr-defined]
            raise named from None
        try:
            vendor = slide.properties.get("openslide.vendor")
            check = _after_reads(ref, path, fd, root, taken, own_print, name, vendor)
            if check is not None and first is not None and (why := check()) is not None:  # what the open read
                raise NotOpened(why)
        except BaseException:
            slide.close()
            raise
        return CheckedSlide(slide, fd, owned, check, Opened(taken, own_print))
    except BaseException:
        if owned:
            os.close(fd)
        raise


def _readable(read: Any, *args: Any) -> Any:
    """``read(*args)``; its OSError (the slide's bytes cannot be read) as :class:`NotOpened`."""
    try:
        return read(*args)
    except OSError as exc:
        raise NotOpened(msg(CANNOT_READ, _reason=exc.strerror or str(exc))) from None


@contextmanager
def plain_file(
    path: Path, root: Path, first: Opened | None, recorded: Recorded | None = None
) -> Iterator[BinaryIO]:
    """The file a reader gives Pillow for the plain image at ``path`` (in the batch folder
    ``root``): a descriptor of it, opened without waiting and held for the block, as a file object,
    never the batch path, which may name a FIFO or another image by the time Pillow opens it, nor
    a name (``/proc/self/fd/N``): Pillow's ``ImageFile.load`` memory-maps ``self.filename`` (an
    uncompressed image of one strip), opening it again, and once the block had closed ``N`` another
    file given that number was decoded as this image. Pillow given a file has no name to map: it
    reads the file's bytes, and they must be decoded within the block (the file is closed after
    it). Given ``first`` (what the reader's first open took: :func:`open_checked`'s
    ``OpenSlideUnsupportedFormatError`` carries it), the file held is checked to be the one taken
    then (:func:`_differs`), so an image swapped since is refused, never decoded; else, given
    ``recorded`` (the audit's record of it), it is checked against that (:func:`_unlike_record`,
    :class:`NotAudited`). Raises :class:`NotOpened` (why, a message)."""
    with _held(path) as fd:
        if isinstance(fd, str):  # a FIFO swapped in: never opened by its name
            raise NotOpened(msg(CANNOT_READ, _reason=fd))
        name, ref = _fd_name(path, fd), clip(batch_place(path, root), 200)
        if first is not None:
            if (why := _differs(name, first.taken.own, first.own_print)) is not None:
                raise NotOpened(msg(why, _ref=ref))
        elif recorded is not None:
            try:
                audited = _held_unlike(path, root, fd, ref, recorded)
            except AuditUnchecked as exc:
                raise NotChecked(msg(CANNOT_READ, _reason=str(exc))) from None
            if audited is not None:
                raise NotAudited(audited)
        os.lseek(fd, 0, os.SEEK_SET)
        with os.fdopen(fd, "rb", closefd=False) as fh:  # _held closes the descriptor
            yield fh


def _held_unlike(path: Path, root: Path, fd: int, ref: str, recorded: Recorded) -> Message | None:
    """:func:`_unlike_record` of the slide ``ref`` at ``path`` (in the batch folder ``root``),
    held by ``fd``: its files taken now, its own quick print read through ``fd``. Raises
    :class:`NotOpened` where its bytes cannot be read."""
    st = os.fstat(fd)
    own_print = _readable(_print, fd, st.st_size)
    return _unlike_record(ref, taken_of(path, st, root, strict=True, recorded=recorded), own_print, recorded)


def unlike_audit(path: Path, root: Path, recorded: Recorded) -> Message | None:
    """Why the slide at ``path`` (in the batch folder ``root``) is not now what the audit recorded
    (``recorded``): the check a reader's first open makes before anything is opened
    (:func:`open_checked`, :func:`plain_file`: :class:`NotAudited`), without opening it (the
    review server's check of a slide before it takes a verdict on it, shown or not: its files
    taken, the slide's quick print read through a descriptor, a stat and a print a part). None
    where it is the audit's; :data:`GONE_SINCE_AUDIT` where no regular file that can be opened is
    there (:data:`REFUSED_ERRNOS`, a FIFO, a socket, a device, a folder: its type found by a stat
    before it is opened, a socket's open failing with ENXIO): anything but the recorded regular
    file at that path is not the audit's file.

    Raises
    ------
    AuditUnchecked
        Where the check could not be made (another open error, a read error: EIO, EMFILE...):
        the slide is neither the audit's nor refused, the question is to be asked again."""
    ref = clip(batch_place(path, root), 200)
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        mode = None
        if exc.errno not in REFUSED_ERRNOS:
            raise AuditUnchecked(exc.strerror or str(exc)) from None
    if mode is not None and not stat.S_ISREG(mode):
        return msg(GONE_SINCE_AUDIT, _ref=ref, _why=SPECIAL)  # as _held says of it
    with _held(path) as fd:
        if isinstance(fd, str):
            if getattr(fd, "errno", None) not in (None, *REFUSED_ERRNOS):
                raise AuditUnchecked(str(fd))
            return msg(GONE_SINCE_AUDIT, _ref=ref, _why=fd)
        try:
            return _held_unlike(path, root, fd, ref, recorded)
        except NotOpened as exc:
            raise AuditUnchecked(str(exc.why)) from None


def batch_place(path: Path, root: Path) -> str:
    """The slide's place in the batch folder ``root`` (its name when it is not under it)."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


def batch_root(path: Path, rel: str | None) -> Path:
    """The batch folder of the slide at ``path`` whose place in the batch is ``rel``; the slide's
    own folder when ``rel`` is not the end of ``path`` (the narrowest jail)."""
    where = str(path)
    if rel and where.endswith(os.sep + rel):
        return Path(where[: -len(rel) - 1] or os.sep)
    return path.parent


def batch_named(text: str, path: Path, rel: str) -> str:
    """``text`` with the slide's host path ``path`` named ``rel``, its place in the batch, and any
    other file of the batch (a VMS's JPEG, a MIRAX data file, as OpenSlide's errors name them) by
    its place too: the host's folders are no part of the batch."""
    text = _path_start(str(path)).sub(lambda _: rel, text)
    return _path_start(str(batch_root(path, rel)).rstrip(os.sep) + os.sep).sub("", text)


def _path_start(prefix: str) -> re.Pattern[str]:
    """``prefix`` where it starts a path in a message: at the start or after a blank, a quote, a
    bracket, ``=``, ``:`` or ``,`` (not inside another path: the root ``/data/`` of a slide
    ``/data/cases/data/S1.tif`` is no part of ``cases/data/``)."""
    return re.compile(r"(?:^|(?<=[\s'\"`(\[<{=:,]))" + re.escape(prefix))


def _name_by_rel(probe: SlideProbe, path: Path, *names: str) -> None:
    """The decoders' messages name the file by the path they were given (OpenSlide's ``Invalid
    TIFF: /home/.../slides/S1.tiff``, libtiff's warnings; ``names`` where that was not ``path``):
    there it is named by its place in the batch, as every finding names it (:func:`batch_named`)."""

    def named(text: str) -> str:
        for name in names:
            text = named_as(text, name, path)
        return batch_named(text, path, probe.path)

    def rel(text: str | None) -> str | None:
        if isinstance(text, Message):  # the finding keeps its template: its parameters are renamed
            params = {k: named(v) if isinstance(v, str) else v for k, v in text.params.items()}
            return Message(text.template, params)
        return named(text) if text else text

    probe.open_error = rel(probe.open_error)
    probe.openslide_error = rel(probe.openslide_error)
    probe.tissue_note = rel(probe.tissue_note)
    probe.label_note = rel(probe.label_note)
    probe.decoder_warnings = tuple(named(w) for w in probe.decoder_warnings)
    if probe.read_failure is not None:
        failure = probe.read_failure
        probe.read_failure = ReadFailure(failure.level, failure.xy, named(failure.message))


MAX_THUMBNAIL_DECODE_PIXELS = 25_000_000
"""The largest pyramid level (or plain image after JPEG draft) decoded for a thumbnail."""


@dataclass(frozen=True, slots=True)
class SlideThumbnail:
    """A small RGB picture of a whole slide, or why there is none.

    ``failure`` is None (``image`` is set), ``too_large`` (no level, or plain image after JPEG
    draft, small enough to decode: ``size`` is known) or ``unreadable`` (``size`` is None).
    """

    image: Any = None
    """A Pillow RGB image of at most ``max_side`` pixels a side."""
    size: tuple[int, int] | None = None
    """The slide's level-0 width and height, when its header could be read."""
    backend: str | None = None
    """``openslide`` or ``pillow``: which library answered (or failed)."""
    failure: str | None = None
    error_type: str = ""
    """The exception's type name when ``unreadable``."""
    detail: str = ""
    """The exception's message when ``unreadable``."""

    reason: str = ""
    """Why there is no image, in words for people ('' when there is one)."""


def _no_thumbnail(
    backend: str, size: tuple[int, int] | None, exc: BaseException | None, limit: int = 0
) -> SlideThumbnail:
    """A thumbnail that could not be made: too large (``exc`` None, ``size`` known) or unreadable."""
    if exc is None:
        w, h = size or (0, 0)
        reason = (
            f"no pyramid level under {limit:,} pixels to draw it from"
            if backend == "openslide"
            else f"plain image of {w}x{h} pixels is too large to decode safely"
        )
        return SlideThumbnail(size=size, backend=backend, failure="too_large", reason=reason)
    kind = type(exc).__name__
    if backend == "openslide":
        reason = f"OpenSlide cannot read it: {exc}"
    elif isinstance(exc, OSError):
        reason = str(exc)
    else:
        reason = f"Pillow cannot read it ({kind}: {exc})"
    return SlideThumbnail(
        backend=backend, failure="unreadable", error_type=kind, detail=str(exc), reason=reason
    )


def _refused_thumbnail(why: Message) -> SlideThumbnail:
    """No thumbnail: the slide is not given to OpenSlide (``why``)."""
    return SlideThumbnail(
        backend="openslide", failure="unreadable", error_type="refused", detail=why, reason=why
    )


def slide_thumbnail(
    path: Path,
    max_side: int,
    max_decode_pixels: int = MAX_THUMBNAIL_DECODE_PIXELS,
    rel: str | None = None,
    recorded: Recorded | None = None,
) -> SlideThumbnail:
    """A thumbnail of at most ``max_side`` pixels a side, never from a level-0 read of a big slide
    (:func:`_thumbnail`); a failure's message names the file ``rel``, its place in the batch, where
    the decoder named ``path`` (OpenSlide's ``Invalid TIFF: /home/.../S1.tiff``). ``recorded``:
    what the audit recorded of the slide's files: a slide that is not those (:func:`open_checked`)
    gets no thumbnail (``unreadable``, ``refused``, the reason naming the file)."""
    with _held(path) as fd:
        if isinstance(fd, str):  # never read by its path: a FIFO swapped in would block the run
            return _refused_thumbnail(msg(CANNOT_READ, _reason=fd))
        name, own = openslide_name(path, fd), _fd_name(path, fd)  # the names its messages give
        got = _thumbnail(own, max_side, max_decode_pixels, path, rel, fd, recorded)  # the file checked
    if got.failure is not None:
        for was in (name, own):
            got = dataclasses.replace(
                got, detail=named_as(got.detail, was, path), reason=named_as(got.reason, was, path)
            )
    if rel is None or got.failure is None:
        return got
    return dataclasses.replace(
        got, detail=batch_named(got.detail, path, rel), reason=batch_named(got.reason, path, rel)
    )


def _thumbnail(
    own: str,
    max_side: int,
    max_decode_pixels: int,
    path: Path,
    rel: str | None,
    fd: int,
    recorded: Recorded | None = None,
) -> SlideThumbnail:
    """A thumbnail of at most ``max_side`` pixels a side, never from a level-0 read of a big slide,
    of the slide at ``path`` (``rel`` in the batch) that ``fd`` holds: OpenSlide opens it as the
    probe does (:func:`open_checked`: its descriptor where it is one TIFF), and a thumbnail read
    from files that are not those checked as it was opened (:meth:`CheckedSlide.changed`: a VMS's
    JPEG or a MIRAX data file replaced meanwhile) is none; Pillow reads ``own`` (:func:`_fd_name`).

    OpenSlide first (its ``get_thumbnail`` from the best level, refused when that level has more
    than ``max_decode_pixels`` pixels); a file OpenSlide does not recognise goes to Pillow (JPEG
    draft mode decodes at 1/2 to 1/8 scale; refused by :func:`plain_too_large` before decoding
    or over ``max_decode_pixels`` after the draft). Never raises for the file's content: a file
    neither library can read is a ``unreadable`` result that says why.
    """
    import openslide
    from PIL import Image

    try:
        opened = open_checked(path, batch_root(path, rel), fd, recorded=recorded)
        try:
            slide = opened.slide
            w, h = (int(v) for v in slide.dimensions)
            level = slide.get_best_level_for_downsample(max(w, h) / max_side)
            lw, lh = slide.level_dimensions[level]
            if lw * lh > max_decode_pixels:
                return _no_thumbnail("openslide", (w, h), None, max_decode_pixels)
            image = slide.get_thumbnail((max_side, max_side)).convert("RGB")
            changed = opened.changed()
            if changed is not None:  # another file's pixels: not shown
                return _refused_thumbnail(changed)
            return SlideThumbnail(image, (w, h), "openslide")
        finally:
            opened.close()
    except NotOpened as exc:
        return _refused_thumbnail(exc.why)
    except openslide.OpenSlideUnsupportedFormatError:
        pass
    except openslide.OpenSlideError as exc:
        return _no_thumbnail("openslide", None, exc)
    try:
        # the decoder's warnings are the probe's to report (SLIDE_METADATA_CORRUPT): here they would
        # reach the terminal unmasked, past the console (the size is bounded below: no bomb)
        with warnings.catch_warnings(), _native_stderr([]):
            warnings.simplefilter("ignore")
            with Image.open(own) as img:
                slide_refs.unturned(img)  # a TIFF as stored, as its mask is read
                w, h = img.size
                if plain_too_large(w, h):
                    return _no_thumbnail("pillow", (w, h), None, max_decode_pixels)
                img.draft("RGB", (max_side, max_side))
                if img.size[0] * img.size[1] > max_decode_pixels:
                    return _no_thumbnail("pillow", (w, h), None, max_decode_pixels)
                image = img.convert("RGB")
                image.thumbnail((max_side, max_side))
                return SlideThumbnail(image, (w, h), "pillow")
    except Exception as exc:  # a corrupt image may raise anything from inside a decoder
        return _no_thumbnail("pillow", None, exc)


_PROBES: OrderedDict[tuple[Any, ...], SlideProbe] = OrderedDict()
_PROBES_LOCK = threading.Lock()
"""Held while :data:`_PROBES` is read or changed, never while a slide is probed: a Dask worker's
threads share it (a probe evicted by one between another's look-up and move raised KeyError)."""


def probe_slide_cached(
    path: Path,
    rel: str,
    options: ProbeOptions | None = None,
    taken: Taken | None = None,
) -> SlideProbe:
    """:func:`probe_slide`, remembered per process and run (:func:`dqm.file_digests.in_run`) by
    path, stat (:func:`~dqm.file_digests.stat_key`) and options, with the resolution the probe
    took (:func:`resolved`) in place of the candidates it was given.

    Two items of a run that name the same slide file open it once. A process that outlives its
    run (``--workers 1``, a Dask worker) probes again in the next: a slide replaced by one of the
    same size with its modification time set back, or a MIRAX slide whose data files changed,
    kept the old probe. The returned probe is shared: callers must not modify it.
    """
    options = options or ProbeOptions()
    try:
        st = path.stat()
        run = file_digests.current_run()
        base: tuple[Any, ...] = (run, str(path.resolve()), rel, *file_digests.stat_key(st))
    except OSError:
        return probe_slide(path, rel, options, taken)
    # a probe that took the header's resolution is the same whatever resolution it was given
    # (blur tiles and fold scale: the header's first): kept once for all of them; one that did
    # not is kept under the resolution it took (resolved(): the annotation's or the fallback),
    # which items declaring the same one with other lesions take too where they fit the same
    # size (resolved() on the kept probe's size, the file's)
    header_key = (*base, dataclasses.replace(options, mpp=None, mpp_source="header", fit=None))
    taking = [options]
    if options.fit is not None:
        fitted = dataclasses.replace(options, mpp=options.fit.mpp, mpp_source="annotation", fit=None)
        taking = [fitted, dataclasses.replace(options, fit=None)]
    with _PROBES_LOCK:
        for k in (header_key, *((*base, o) for o in taking)):
            hit = _PROBES.get(k)
            if hit is not None and (k is header_key or resolved(options, hit) == k[-1]):
                _PROBES.move_to_end(k)
                return hit
    probe = probe_slide(path, rel, options, taken)
    if probe.parts_unread or probe.unsettled:  # an error or a change just now: not kept, asked again
        return probe
    with _PROBES_LOCK:
        _PROBES[header_key if probe.mpp_x else (*base, resolved(options, probe))] = probe
        while len(_PROBES) > PROBE_CACHE_SIZE:
            _PROBES.popitem(last=False)
    return probe


def virtual_probe(rel: str = "virtual.tiff", width: int = 4096, height: int = 3072, **kw: Any) -> SlideProbe:
    """An in-memory probe of a healthy slide, for tests; keyword arguments override fields."""
    defaults: dict[str, Any] = dict(
        size_bytes=1,
        fingerprint=hashlib.sha256(rel.encode()).hexdigest(),
        opened=True,
        backend="openslide",
        vendor="generic-tiff",
        width=width,
        height=height,
        level_count=1,
        level_dimensions=((width, height),),
        level_downsamples=(1.0,),
        mpp_x=0.5,
        mpp_y=0.5,
        objective_power=20.0,
        regions_read=3,
    )
    defaults.update(kw)
    return SlideProbe(path=rel, **defaults)
