"""Opening slides: header facts and a bounded readability probe, never a full level-0 read.

:func:`probe_slide` does all the I/O a slide check needs and returns a :class:`SlideProbe`,
plain data the checks judge without touching the file. OpenSlide opens whole-slide formats;
plain images (PNG, JPEG, single-page TIFF) go through Pillow. Tests build probes in memory
(:func:`virtual_probe`) so most of them need no slide file.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HASH_CHUNK = 1 << 20
TILE = 256
MAX_PLAIN_PIXELS = 40_000 * 40_000


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
    read_failure: ReadFailure | None = None
    regions_read: int = 0


def fingerprint(path: Path, size: int) -> str:
    """A cheap content print: size + first and last MiB. Full hashes confirm matches."""
    h = hashlib.sha256(str(size).encode())
    with path.open("rb") as fh:
        h.update(fh.read(HASH_CHUNK))
        if size > 2 * HASH_CHUNK:
            fh.seek(-HASH_CHUNK, os.SEEK_END)
            h.update(fh.read(HASH_CHUNK))
    return h.hexdigest()


def full_hash(path: Path) -> str:
    """SHA-256 of the whole file."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(8 * HASH_CHUNK):
            h.update(chunk)
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
) -> list[tuple[int, tuple[int, int], tuple[int, int]]]:
    """A bounded set of ``(level, level-0 xy, size)`` regions spread over the slide.

    The lowest-resolution level, the highest and one between (at most ``max_levels``), each
    with ``per_level`` tiles along the diagonal: corners and centre catch truncated files and
    corrupt tiles without reading a whole level.
    """
    n = len(level_dimensions)
    if n == 0:
        return []
    levels = sorted({n - 1, 0, n // 2})[:max_levels]
    regions = []
    for level in levels:
        w, h = level_dimensions[level]
        ds = level_downsamples[level]
        tw, th = min(TILE, w), min(TILE, h)
        if tw <= 0 or th <= 0:
            continue
        for k in range(per_level):
            frac = k / max(per_level - 1, 1)
            x, y = int((w - tw) * frac), int((h - th) * frac)
            regions.append((level, (int(x * ds), int(y * ds)), (tw, th)))
    return regions


def _probe_openslide(path: Path, probe: SlideProbe) -> bool:
    import openslide

    try:
        slide = openslide.OpenSlide(str(path))
    except openslide.OpenSlideUnsupportedFormatError:
        return False
    except openslide.OpenSlideError as exc:
        probe.open_error = f"OpenSlide cannot open it: {exc}"
        return True
    with slide:
        props = dict(slide.properties)
        probe.opened, probe.backend = True, "openslide"
        probe.vendor = props.get("openslide.vendor")
        probe.width, probe.height = slide.dimensions
        probe.level_count = slide.level_count
        probe.level_dimensions = tuple(tuple(d) for d in slide.level_dimensions)
        probe.level_downsamples = tuple(float(d) for d in slide.level_downsamples)
        probe.mpp_x = _float(props.get("openslide.mpp-x"))
        probe.mpp_y = _float(props.get("openslide.mpp-y"))
        probe.objective_power = _float(props.get("openslide.objective-power"))
        probe.associated_images = tuple(sorted(slide.associated_images.keys()))
        probe.properties = props
        for level, xy, size in sample_regions(probe.level_dimensions, probe.level_downsamples):
            try:
                slide.read_region(xy, level, size)
            except openslide.OpenSlideError as exc:
                probe.read_failure = ReadFailure(level, xy, str(exc))
                break
            probe.regions_read += 1
    return True


def _probe_pillow(path: Path, probe: SlideProbe) -> None:
    from PIL import Image

    try:
        with Image.open(path) as img:
            w, h = img.size
            probe.vendor = f"image/{(img.format or 'unknown').lower()}"
            if w * h > MAX_PLAIN_PIXELS:
                probe.open_error = f"plain image of {w}x{h} pixels is too large to decode safely"
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
            try:
                img.load()
                probe.regions_read = 1
            except (OSError, ValueError, SyntaxError) as exc:
                probe.read_failure = ReadFailure(0, (0, 0), f"decoding failed: {exc}")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        reason = str(exc).replace(str(path), probe.path)
        probe.open_error = f"neither OpenSlide nor Pillow recognises it ({type(exc).__name__}: {reason})"


def probe_slide(path: Path, rel: str) -> SlideProbe:
    """Open a slide, read its header and a bounded sample of regions; never raises for content."""
    probe = SlideProbe(path=rel)
    try:
        probe.size_bytes = path.stat().st_size
        probe.fingerprint = fingerprint(path, probe.size_bytes)
    except OSError as exc:
        probe.open_error = f"cannot read the file: {exc.strerror or exc}"
        return probe
    if probe.size_bytes == 0:
        probe.open_error = "the file is empty"
        return probe
    if not _probe_openslide(path, probe):
        _probe_pillow(path, probe)
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
