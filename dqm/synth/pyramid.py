"""Pyramidal JPEG-tiled TIFFs for benchmarks and tests: small ones painted fast, and large ones of any
size written from a few pre-encoded tiles (no large image is ever held in memory).

:func:`paint` draws an H&E-like image (eosin-to-haematoxylin texture with nuclei on glass) in a few
milliseconds, :func:`write_pyramid` stores it with levels at downsamples 1 and 4, and
:func:`write_large_pyramid` writes a slide of ``side`` x ``side`` pixels whose tiles are glass or one
of a dozen tissue textures, levels at downsamples 1, 4, 16... OpenSlide reads both as generic-tiff.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

TILE = 256
GLASS = (240, 238, 243)
EOSIN = (225, 150, 190)
HAEMATOXYLIN = (140, 85, 165)
NUCLEUS = (75, 45, 120)
NUCLEUS_SIDE = 4
"""A nucleus is a square of this many pixels a side (2 µm at the lot's 0.5 µm/px; a real one is
5-10 µm): single pixels blurred away in the JPEG tiles and the block means of the stain measure,
and every slide read as under-stained."""


def paint(
    rng: np.random.Generator,
    width: int,
    height: int,
    tissue: np.ndarray,
    lesions: Sequence[np.ndarray] = (),
) -> np.ndarray:
    """An RGB image: eosin-to-haematoxylin texture with nuclei and lobules of fat inside the
    ``tissue`` outline (``(n, 2)`` x, y), denser and more purple inside each lesion outline, glass
    outside, a little noise everywhere."""
    from PIL import Image, ImageDraw

    from dqm.synth.render import fat_lobules

    shapes = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(shapes)
    draw.polygon([tuple(p) for p in np.asarray(tissue).tolist()], fill=1)
    for ring in lesions:
        draw.polygon([tuple(p) for p in np.asarray(ring).tolist()], fill=2)
    region = np.asarray(shapes)
    coarse = rng.random((height // 32 + 2, width // 32 + 2)).astype(np.float32)
    field = np.asarray(Image.fromarray(coarse, "F").resize((width, height), Image.Resampling.BILINEAR))
    mix = np.clip(0.6 * field + 0.35 * (region == 2), 0, 1)[..., None]
    colour = np.asarray(EOSIN, np.float32) * (1 - mix) + np.asarray(HAEMATOXYLIN, np.float32) * mix
    cells = rng.random((-(-height // NUCLEUS_SIDE), -(-width // NUCLEUS_SIDE)))
    cells = cells.repeat(NUCLEUS_SIDE, axis=0).repeat(NUCLEUS_SIDE, axis=1)[:height, :width]
    nuclei = cells < np.where(region == 2, 0.05, 0.015)
    colour[nuclei] = NUCLEUS
    fat_lobules(colour, region == 1, rng)
    img = np.where(region[..., None] > 0, colour, np.asarray(GLASS, np.float32))
    img += rng.integers(-5, 6, img.shape, dtype=np.int16)
    return np.clip(img, 0, 255).astype(np.uint8)


def write_pyramid(path: Path, image: np.ndarray, mpp: float) -> None:
    """``image`` as a JPEG-tiled TIFF with levels at downsamples 1 and 4."""
    import tifffile
    from PIL import Image

    with tifffile.TiffWriter(path) as tw:
        for ds in (1, 4):
            level = image if ds == 1 else np.asarray(Image.fromarray(image).reduce(ds))
            write_level(tw, level, mpp, ds, quality=85)


def write_level(tw: Any, level: np.ndarray, mpp: float, ds: int, quality: int, **tags: Any) -> None:
    """One level of a JPEG-tiled pyramid (tiles of :data:`TILE`) at downsample ``ds`` of a slide of
    ``mpp`` µm per level-0 pixel, written to the ``tifffile.TiffWriter`` ``tw``; ``tags`` as
    ``TiffWriter.write`` takes them (``software=...``)."""
    res = 1e4 / (mpp * ds)
    tw.write(
        level,
        tile=(TILE, TILE),
        compression="jpeg",
        compressionargs={"level": quality},
        photometric="rgb",
        resolution=(res, res),
        resolutionunit="CENTIMETER",
        subfiletype=0 if ds == 1 else 1,
        **tags,
    )


def _tile_vocabulary(rng: np.random.Generator, kinds: int) -> tuple[bytes, list[bytes], dict[str, object]]:
    """The JPEG bytes of one glass tile and of ``kinds`` tissue tiles as tifffile encodes them, and
    what the pages holding them must state (photometric, subsampling, JPEG tables)."""
    import tifffile

    square = np.array([[0, 0], [TILE, 0], [TILE, TILE], [0, TILE]])
    glass = np.clip(np.asarray(GLASS, np.float32) + rng.integers(-3, 4, (TILE, TILE, 3)), 0, 255).astype(
        np.uint8
    )
    strip = np.concatenate([glass] + [paint(rng, TILE, TILE, square) for _ in range(kinds)], axis=1)
    buf = io.BytesIO()
    tifffile.imwrite(
        buf, strip, tile=(TILE, TILE), compression="jpeg", compressionargs={"level": 80}, photometric="rgb"
    )
    with tifffile.TiffFile(io.BytesIO(buf.getvalue())) as tf:
        page = tf.pages.first
        tiles = []
        for offset, count in zip(page.dataoffsets, page.databytecounts, strict=True):
            tf.filehandle.seek(offset)
            tiles.append(tf.filehandle.read(count))
        how: dict[str, object] = {
            "photometric": int(page.photometric),
            "subsampling": page.subsampling,
            "jpegtables": page.jpegtables or None,
        }
    return tiles[0], tiles[1:], how


def write_large_pyramid(
    path: Path, side: int, seed: int = 5, mpp: float = 0.25, downsamples: Sequence[int] = ()
) -> None:
    """A JPEG-tiled BigTIFF pyramid ``side`` px a side: an ellipse of tissue tiles (about a fifth of
    the slide) on glass tiles, levels at ``downsamples`` (default 1, 4, 16... while a level is at
    least 512 px a side). Tissue is decided per block of the smallest level's tiles, so every level
    shows it at the same place. Mostly glass, it compresses: a 50,000 px slide is about 200 MB."""
    import tifffile

    glass, tissue, how = _tile_vocabulary(np.random.default_rng(seed), 12)
    levels = list(downsamples) or [4**k for k in range(12) if side // 4**k >= 512]
    block = TILE * levels[-1]  # level-0 pixels under one tile of the smallest level

    def inside(x0: float, y0: float) -> bool:
        bx, by = (x0 // block + 0.5) * block / side - 0.5, (y0 // block + 0.5) * block / side - 0.5
        return (bx / 0.32) ** 2 + (by / 0.2) ** 2 <= 1

    def tiles(ds: int) -> Iterator[bytes]:
        n = -(-(side // ds) // TILE)
        for r in range(n):
            for c in range(n):
                centre = ((c + 0.5) * TILE * ds, (r + 0.5) * TILE * ds)
                yield tissue[(r * 7 + c * 3) % len(tissue)] if inside(*centre) else glass

    with tifffile.TiffWriter(path, bigtiff=True) as tw:
        for ds in levels:
            res = 1e4 / (mpp * ds)
            tw.write(
                tiles(ds),
                shape=(side // ds, side // ds, 3),
                dtype=np.uint8,
                tile=(TILE, TILE),
                compression="jpeg",
                resolution=(res, res),
                resolutionunit="CENTIMETER",
                subfiletype=0 if ds == 1 else 1,
                **how,  # type: ignore[arg-type]
            )
