"""A plain image is shrunk for the tissue mask a strip at a time, bit for bit as Pillow shrinks it
whole (``dqm.slide_io._shrunk_rgba``): no premultiplied or converted copy of the whole image."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from dqm import slide_io


def _whole(img: Image.Image, side: int) -> np.ndarray:
    """What the probe computed before: the whole image converted, then Pillow's resize."""
    if img.mode not in ("RGB", "RGBA"):
        img = img.convert("RGBA")
    return np.asarray(slide_io._shrunk(img, side).convert("RGBA"))


def _image(mode: str, w: int, h: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    pixels[..., 3][rng.random((h, w)) < 0.3] = 255  # opaque, transparent and between
    pixels[..., 3][rng.random((h, w)) < 0.2] = 0
    rgba = Image.fromarray(pixels, "RGBA")
    if mode == "RGBA":
        return rgba
    if mode == "P":
        img = rgba.convert("RGB").quantize(64)
        img.info["transparency"] = 3
        return img
    return rgba.convert("RGB").convert(mode)


@pytest.mark.parametrize("mode", ["RGBA", "P", "CMYK", "YCbCr", "RGB"])
@pytest.mark.parametrize(
    ("w", "h", "side"),
    [(97, 61, 8), (61, 97, 8), (64, 64, 8), (130, 40, 16), (20, 300, 16), (33, 30, 16), (16, 16, 16)],
)
def test_a_plain_image_shrinks_strip_by_strip_as_pillow_shrinks_it_whole(
    monkeypatch: pytest.MonkeyPatch, mode: str, w: int, h: int, side: int
) -> None:
    monkeypatch.setattr(slide_io, "STRIP_PIXELS", 5 * w)  # a few rows a strip: many strips
    img = _image(mode, w, h, w * h)
    got = np.asarray(slide_io._shrunk_rgba(img, side))
    want = _whole(img, side)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(got, want)
