"""H&E-like rendering of synthetic slides: stroma, epidermis and class-specific lesion textures.

Each lesion class has its own colour and texture (nuclear density and size, pigment, clefts,
keratin), close enough to its histology to read as H&E and distinct enough for a small
segmentation network to learn. Everything is drawn at level 0 with Pillow and numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from scipy import ndimage

BACKGROUND = (243, 241, 243)
STROMA = (228, 162, 196)
EPIDERMIS = (156, 96, 168)


@dataclass(frozen=True, slots=True)
class Texture:
    """How one class looks: base colour, variation, nuclei and a special feature."""

    base: tuple[int, int, int]
    variation: float
    nuclei_density: float  # nuclei per 1,000 px²
    nuclei_radius: tuple[float, float]
    nuclei_colour: tuple[int, int, int]
    feature: str = ""


TEXTURES: dict[str, Texture] = {
    "NS": Texture((238, 196, 216), 10, 0.6, (1.5, 2.5), (120, 70, 140), "glands"),
    "EC": Texture((247, 222, 232), 6, 0.1, (1.5, 2.0), (130, 80, 150), "keratin"),
    "SK": Texture((172, 116, 184), 12, 4.0, (2.0, 3.0), (90, 50, 120), "horn_cysts"),
    "BD_SCC": Texture((214, 128, 170), 14, 2.0, (3.0, 5.0), (80, 30, 95), "pearls"),
    "BCC": Texture((98, 64, 150), 10, 6.0, (2.0, 3.2), (50, 25, 90), "cleft"),
    "MN": Texture((184, 142, 118), 10, 3.5, (2.0, 2.8), (110, 70, 90), "nests"),
    "MM": Texture((88, 58, 50), 16, 2.5, (3.0, 5.5), (40, 20, 30), "pigment"),
}
STROMA_TEXTURE = Texture(STROMA, 12, 0.4, (1.5, 2.5), (110, 60, 130), "collagen")
EPIDERMIS_TEXTURE = Texture(EPIDERMIS, 10, 6.0, (2.0, 3.0), (80, 40, 110))


def smooth_noise(rng: np.random.Generator, h: int, w: int, cell: int) -> np.ndarray:
    """Values in about [-1, 1], smooth over ``cell`` pixels (bicubic upsampling of white noise)."""
    small = rng.uniform(0, 255, (max(h // cell, 2), max(w // cell, 2))).astype(np.uint8)
    big = Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC)
    return np.asarray(big, dtype=np.float32) / 127.5 - 1.0


def _mask(size: tuple[int, int], rings: list[np.ndarray]) -> np.ndarray:
    """Boolean mask of a polygon (shell first, then holes) at the canvas size ``(w, h)``."""
    img = Image.new("L", size, 0)
    draw = ImageDraw.Draw(img)
    draw.polygon([tuple(p) for p in rings[0]], fill=255)
    for hole in rings[1:]:
        draw.polygon([tuple(p) for p in hole], fill=0)
    return np.asarray(img) > 0


def paint(canvas: np.ndarray, mask: np.ndarray, tex: Texture, rng: np.random.Generator) -> None:
    """Fill ``mask`` of the ``(h, w, 3)`` float canvas with texture ``tex``, in place."""
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return
    r0, r1, c0, c1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    h, w = r1 - r0, c1 - c0
    sub = mask[r0:r1, c0:c1]
    colour = np.array(tex.base, dtype=np.float32)
    n1 = smooth_noise(rng, h, w, 24)[..., None]
    n2 = smooth_noise(rng, h, w, 5)[..., None]
    patch = colour + tex.variation * (0.7 * n1 + 0.5 * n2)
    patch = _feature(patch, tex, rng, h, w)
    layer = Image.fromarray(np.clip(patch, 0, 255).astype(np.uint8))
    _nuclei(layer, tex, rng, h, w)
    region = canvas[r0:r1, c0:c1]
    region[sub] = np.asarray(layer, dtype=np.float32)[sub]


def _feature(patch: np.ndarray, tex: Texture, rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if tex.feature == "collagen":
        angle = rng.uniform(0, np.pi)
        waves = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) / 6.0 + 3 * smooth_noise(rng, h, w, 40))
        patch = patch + 8 * waves[..., None]
    elif tex.feature == "keratin":
        cy, cx = h / 2, w / 2
        rad = np.hypot(yy - cy, xx - cx)
        patch = patch - 14 * (np.sin(rad / 3.0) > 0.6)[..., None]
    elif tex.feature == "pigment":
        blotch = smooth_noise(rng, h, w, 10) > 0.35
        patch = np.where(blotch[..., None], patch * 0.55, patch)
    elif tex.feature == "nests":
        nests = smooth_noise(rng, h, w, 14) > 0.1
        patch = np.where(nests[..., None], patch - 18, patch + 12)
    return patch


def _nuclei(layer: Image.Image, tex: Texture, rng: np.random.Generator, h: int, w: int) -> None:
    draw = ImageDraw.Draw(layer)
    n = int(tex.nuclei_density * h * w / 1000)
    xs, ys = rng.uniform(0, w, n), rng.uniform(0, h, n)
    radii = rng.uniform(*tex.nuclei_radius, n)
    jitter = rng.integers(-15, 15, (n, 3))
    base = np.array(tex.nuclei_colour)
    for x, y, r, j in zip(xs, ys, radii, jitter, strict=True):
        c = tuple(int(v) for v in np.clip(base + j, 0, 255))
        draw.ellipse((x - r, y - r * 0.8, x + r, y + r * 0.8), fill=c)
    if tex.feature == "horn_cysts":
        for _ in range(max(1, h * w // 6000)):
            x, y, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(3, 8)
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(250, 236, 242))
    elif tex.feature == "glands":
        for _ in range(max(1, h * w // 5000)):
            x, y, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(5, 9)
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(250, 240, 246), outline=(140, 90, 160), width=2)
    elif tex.feature == "pearls":
        for _ in range(max(1, h * w // 12000)):
            x, y, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(6, 12)
            draw.ellipse((x - r, y - r, x + r, y + r), outline=(240, 150, 190), width=3)


FAT = (245, 241, 243)
FAT_CELL = (0.08, 0.2)
"""Lobules of fat are smooth over this share of the image's long side."""
FAT_SHARE = (0.2, 0.7)
"""Threshold of the lobules' smooth noise (in [-1, 1]), drawn per slide: fat fills about 38 % of
the dermis at 0.2, 9 % at 0.7."""
FAT_MARGIN = 0.02
"""Lesions lie in dermal stroma: no fat within this share of the image's long side of one (a pale
lesion beside clear fat would read as glass to the tissue mask)."""


def _around(masks: list[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    """The lesions and a margin of stroma around them (:data:`FAT_MARGIN` of the image's long side)."""
    out = np.zeros(shape[:2], dtype=bool)
    for mask in masks:
        out |= mask
    return ndimage.maximum_filter(out, size=int(FAT_MARGIN * max(shape[:2])) | 1)  # a square, separable


def fat_lobules(canvas: np.ndarray, section: np.ndarray, rng: np.random.Generator) -> None:
    """Lobules of fat in the dermis, in place: large, smooth and different on every slide, as the
    dermis and subcutis of real sections are (without them one stroma texture filled every section
    and distinct slides looked alike to the near-duplicate hash). Fat is all but clear on H&E: the
    lobules are nearly the glass's colour, so a tissue mask leaves them out as it does on real
    slides, and they do not pull its threshold up between glass and pale tissue."""
    h, w = section.shape
    cell = max(8, int(max(h, w) * rng.uniform(*FAT_CELL)))
    lobules = section & (smooth_noise(rng, h, w, cell) > rng.uniform(*FAT_SHARE))
    canvas[lobules] = 0.08 * canvas[lobules] + 0.92 * np.array(FAT, dtype=np.float32)


def render_slide(
    rng: np.random.Generator,
    width: int,
    height: int,
    tissue: np.ndarray,
    epidermis: list[np.ndarray] | None,
    lesions: list[tuple[str, list[np.ndarray]]],
) -> np.ndarray:
    """A ``(height, width, 3)`` uint8 H&E-like image; ``lesions`` are ``(class_id, rings)``."""
    size = (width, height)
    canvas = np.empty((height, width, 3), dtype=np.float32)
    canvas[:] = BACKGROUND
    canvas += 3 * smooth_noise(rng, height, width, 8)[..., None]
    section = _mask(size, [tissue])
    masks = [_mask(size, rings) for _, rings in lesions]
    paint(canvas, section, STROMA_TEXTURE, rng)
    fat_lobules(canvas, section & ~_around(masks, section.shape), rng)
    if epidermis is not None:
        paint(canvas, _mask(size, epidermis), EPIDERMIS_TEXTURE, rng)
    for (class_id, rings), mask in zip(lesions, masks, strict=True):
        if class_id == "BCC":
            # retraction cleft: a pale rim just outside the tumour nest
            rim = _mask(size, [rings[0]])
            grown = (
                np.asarray(Image.fromarray(rim.astype(np.uint8) * 255).filter(ImageFilter.MaxFilter(7))) > 0
            )
            canvas[grown & ~rim] = (248, 240, 245)
        paint(canvas, mask, TEXTURES[class_id], rng)
    img = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.7))
    return np.asarray(img)
