"""Perceptual hashes of a slide's tissue thumbnail, and the near pairs among many of them.

A slide's hash is taken over the bounding box of its tissue in the low-resolution image the probe
already decoded for the tissue mask, squeezed to :data:`SIDE` x :data:`SIDE` pixels. It is the
signs of the lowest 8 x 8 two-dimensional DCT-II coefficients of three channels: the luminance and
two colour-opponent channels (red minus blue: eosin against haematoxylin; green against magenta),
64 bits each, 192 in all. Colour adds what the tissue's silhouette alone does not tell apart: on
GlaS crops and synthetic slides, luminance and red-minus-blue alone left distinct slides as close as
cropped copies (benchmarks/bench_duplicates.py).

Why signs, and not the median-thresholded pHash: a flip of the image multiplies coefficient
``(u, v)`` by ``(-1)^v`` (left-right) or ``(-1)^u`` (up-down) and a transposition swaps ``u`` and
``v``, so the hashes of all eight 90-degree rotations and flips follow from the one stored hash by
fixed XOR masks and a bit transposition (:func:`orientations`): one hash per slide is kept and
compared under every orientation. The signs of AC coefficients do not change with brightness or
contrast (an offset moves only the DC term, a positive scale no sign), the low frequencies barely
change when the image is re-compressed or resized, and the tissue bounding box absorbs crops of the
glass around it; a crop of a few percent into the tissue moves the low frequencies little.

The distance of two slides is the least Hamming distance between one's hash and the other's eight
orientations (symmetric: the orientations are isometries of the bit space). The near pairs among
many slides are found by :mod:`dqm.pixels.pairs`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

SIDE = 32
"""The tissue crop is resampled to this many pixels a side before the DCT."""
BITS = 8
"""The lowest ``BITS`` x ``BITS`` DCT coefficients give one 64-bit word."""
WORDS = 3
"""Luminance, red minus blue, green minus the mean of red and blue."""
HEX_CHARS = WORDS * 16
_HEX = re.compile(f"[0-9a-fA-F]{{{HEX_CHARS}}}")
"""What a stored hash is. ``int(word, 16)`` alone also takes a sign, spaces and ``_`` (and a
leading ``-`` then overflowed uint64: the check crashed and the batch lost its near-duplicate findings)."""
MIN_CROP = 16
"""A tissue bounding box shorter than this on a side (in thumbnail pixels) gives no hash."""
MIN_CONTRAST = 1.0
"""A channel whose crop varies by less than this (0-255 scale, standard deviation) is flat: no hash."""
NBITS = WORDS * BITS * BITS


def _dct_matrix(n: int, k: int) -> np.ndarray:
    """The first ``k`` rows of the orthonormal DCT-II matrix of size ``n``."""
    x = np.arange(n)
    rows = np.cos(np.pi * np.arange(k)[:, None] * (2 * x[None, :] + 1) / (2 * n)) * np.sqrt(2 / n)
    rows[0] /= np.sqrt(2)
    return rows


_DCT = _dct_matrix(SIDE, BITS)
_U, _V = np.indices((BITS, BITS))
_FLIP_LR = _V % 2 == 1
"""Coefficients whose sign a left-right flip changes."""
_FLIP_UD = _U % 2 == 1
_WEIGHTS = (1 << np.arange(63, -1, -1, dtype=np.uint64)).astype(np.uint64)


def _pack(bits: np.ndarray) -> np.ndarray:
    """``(..., 8, 8)`` booleans -> ``(...)`` uint64, row-major, first bit most significant."""
    flat = np.ascontiguousarray(bits.reshape(*bits.shape[:-2], 64))
    return np.packbits(flat, axis=-1).view(">u8")[..., 0].astype(np.uint64)


def _unpack(words: np.ndarray) -> np.ndarray:
    """``(...)`` uint64 -> ``(..., 8, 8)`` booleans (inverse of :func:`_pack`)."""
    octets = np.ascontiguousarray(words, dtype=">u8")[..., None].view(np.uint8)
    return np.unpackbits(octets, axis=-1).astype(bool).reshape(*words.shape, BITS, BITS)


def tissue_crop(rgb: np.ndarray, tissue: np.ndarray | None) -> np.ndarray | None:
    """The part of ``rgb`` inside the bounding box of ``tissue`` (the whole image without a mask);
    None when that box is under :data:`MIN_CROP` pixels on a side or the mask is empty."""
    if tissue is not None:
        if tissue.shape != rgb.shape[:2] or not tissue.any():
            return None
        rows = np.flatnonzero(tissue.any(axis=1))
        cols = np.flatnonzero(tissue.any(axis=0))
        rgb = rgb[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    if min(rgb.shape[:2]) < MIN_CROP:
        return None
    return rgb


def _resample(channel: np.ndarray) -> np.ndarray:
    """A float channel box-averaged to ``SIDE`` x ``SIDE`` (each output pixel the mean of its cell)."""
    from PIL import Image

    img = Image.fromarray(np.ascontiguousarray(channel, dtype=np.float32), mode="F")
    return np.asarray(img.resize((SIDE, SIDE), Image.Resampling.BOX), dtype=np.float64)


def hash_words(rgb: np.ndarray, tissue: np.ndarray | None = None) -> np.ndarray | None:
    """The :data:`WORDS` 64-bit words of an RGB(A) image's hash over its tissue box, or None (no
    tissue, a box too small, or a flat channel: nothing to tell slides apart by).

    Parameters
    ----------
    rgb
        ``(rows, cols, 3 or 4)`` uint8; an alpha channel is ignored.
    tissue
        Boolean mask of the same rows and columns, or None to hash the whole image.
    """
    if rgb.ndim != 3 or rgb.shape[2] < 3:
        return None
    crop = tissue_crop(rgb, tissue)
    if crop is None:
        return None
    r, g, b = (crop[..., i].astype(np.float32) for i in range(3))
    words = []
    for channel in (0.299 * r + 0.587 * g + 0.114 * b, r - b, g - (r + b) / 2):
        small = _resample(channel)
        if small.std() < MIN_CONTRAST:
            return None
        coeffs = _DCT @ small @ _DCT.T
        words.append(_pack(coeffs > 0))
    return np.array(words, dtype=np.uint64)


def slide_hash(rgb: np.ndarray, tissue: np.ndarray | None = None) -> str | None:
    """:func:`hash_words` as :data:`HEX_CHARS` hexadecimal digits (what results.json keeps)."""
    words = hash_words(rgb, tissue)
    return None if words is None else "".join(f"{int(w):016x}" for w in words)


def parse_hash(text: str | None) -> np.ndarray | None:
    """The words of a stored hash; None for anything that is not :data:`HEX_CHARS` hex digits."""
    if not isinstance(text, str) or _HEX.fullmatch(text) is None:
        return None
    return np.array([int(text[i : i + 16], 16) for i in range(0, HEX_CHARS, 16)], dtype=np.uint64)


def orientations(words: np.ndarray) -> np.ndarray:
    """The hashes of the eight rotations and flips of the images hashed to ``words``.

    ``words``: ``(n, WORDS)`` uint64 -> ``(n, 8, WORDS)``; orientation 0 is the image as hashed.
    Exact for the DCT signs (a coefficient of exactly zero aside).
    """
    bits = _unpack(words)  # (n, WORDS, 8, 8)
    out = []
    for base in (bits, np.swapaxes(bits, -1, -2)):
        for mask in (None, _FLIP_LR, _FLIP_UD, _FLIP_LR ^ _FLIP_UD):
            out.append(_pack(base if mask is None else base ^ mask))
    return np.stack(out, axis=1)


def signs(words: np.ndarray) -> np.ndarray:
    """``(..., WORDS)`` uint64 -> ``(..., NBITS)`` float32, +1 for a set bit and -1 for a clear one."""
    bits = (words[..., None] & _WEIGHTS) != 0
    plus_minus = np.where(bits, np.float32(1), np.float32(-1))
    return plus_minus.reshape(*words.shape[:-1], NBITS)


def distance(a: np.ndarray, b: np.ndarray) -> int:
    """The least Hamming distance between hash ``a`` and any orientation of hash ``b``."""
    a = np.asarray(a, dtype=np.uint64).reshape(1, WORDS)
    b = np.asarray(b, dtype=np.uint64).reshape(1, WORDS)
    return int(tile_distances(signs(a), signs(orientations(b).swapaxes(0, 1)))[0, 0])


def tile_distances(rows: np.ndarray, variants: np.ndarray) -> np.ndarray:
    """``(r, c)`` least distances of ``rows`` (``(r, NBITS)`` signs) to ``variants`` (``(8, c, NBITS)``
    signs, orientation first: the maximum over orientations is then over eight contiguous slabs).

    For +-1 vectors ``x . y = NBITS - 2 * hamming``: one float32 matrix product (BLAS) gives every
    distance, exactly (integers far below 2^24)."""
    dots = rows @ variants.reshape(-1, NBITS).T
    best = dots.reshape(len(rows), 8, -1).max(axis=1)
    return ((NBITS - best) / 2).astype(np.int32)


def stack(hashes: Sequence[str | None]) -> tuple[np.ndarray, list[int]]:
    """The parsed hashes as one ``(m, WORDS)`` array, and the index in ``hashes`` of each row
    (missing and malformed hashes left out)."""
    rows, index = [], []
    for i, text in enumerate(hashes):
        words = parse_hash(text)
        if words is not None:
            rows.append(words)
            index.append(i)
    array = np.array(rows, dtype=np.uint64).reshape(-1, WORDS)
    return array, index
