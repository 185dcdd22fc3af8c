"""Stain and acquisition descriptors of one slide: what a site's staining and scanner leave in the pixels.

:func:`stain_descriptors` reads the low-resolution RGB(A) image and tissue mask the slide probe already
made (:mod:`dqm.slide_io`) and returns :class:`~dqm.facts.StainSummary`: the haematoxylin and eosin
stain vectors by Macenko's method (optical density, the plane of its two main directions, the 1st and
99th percentiles of the angle in that plane), the optical density, the H and E concentration
percentiles and the brightness of the background. :func:`jpeg_quality` estimates the JPEG quality from
the quantisation tables, :func:`scanner` names the scanner from the header's properties. Pure
functions over arrays, bytes and dictionaries: none opens a file.

Macenko M, et al. A method for normalizing histology slides for quantitative analysis. ISBI 2009.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np

from dqm.facts import StainSummary
from dqm.findings import cut_head
from dqm.pixels.order import order_statistics

IO = 255.0
"""Incident light: optical density is ``-ln((I + 1) / IO)`` per channel (natural log, as in Macenko's
implementations, so that :data:`OD_MIN` keeps its usual meaning)."""
OD_MIN = 0.15
"""Tissue pixels with an optical density under this in any channel are too pale to carry a stain
direction (Macenko's β) and are left out of the stain vectors (not of the concentrations)."""
ANGLE_PERCENTILE = 1.0
"""The stain vectors are the directions at the 1st and 99th percentile of the angle (Macenko's α)."""
MIN_STAIN_PIXELS = 200
"""Fewer tissue pixels than this above :data:`OD_MIN`: no stain descriptor (too little tissue)."""
MAX_PIXELS = 100_000
"""Tissue pixels used at most (an even stride over the mask): enough for percentiles to 0.1 %."""
MIN_BACKGROUND_SHARE = 0.01
"""Background brightness needs at least this share of the image outside the tissue."""

# IJG's standard luminance quantisation table (ITU-T T.81 Annex K), at quality 50.
_IJG_LUMINANCE = np.array(
    [
        16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
        14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
        18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
        49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
    ],
    dtype=np.float64,
)  # fmt: skip
_APERIO_Q = re.compile(r"\bQ=(\d{1,3})\b")

SCANNER_KEYS: tuple[tuple[str, ...], ...] = (
    ("dicom.Manufacturer", "dicom.ManufacturerModelName"),
    ("tiff.Make", "tiff.Model"),
    ("leica.device-vendor", "leica.device-model"),
    ("philips.DICOM_MANUFACTURER", "philips.DICOM_MANUFACTURERS_MODEL_NAME"),
    ("hamamatsu.Product",),
    ("ventana.ScannerModel",),
    ("aperio.ScanScope ID",),
)
"""Header properties that name the scanner, in order of preference; the first group with a value wins
(its values joined). Aperio names only its instrument (``ScanScope ID``)."""
MAX_SCANNER_CHARS = 80


def _od(values: np.ndarray) -> np.ndarray:
    return np.clip(-np.log((values.astype(np.float64) + 1.0) / IO), 0.0, None)


_OD_TABLE = _od(np.arange(256))
"""The optical density of each 8-bit value: a look-up gives the same numbers as the logarithm, and
is several times faster."""
_STAINED_BELOW = int(np.count_nonzero(_OD_TABLE > OD_MIN))
"""8-bit values under this have an optical density over :data:`OD_MIN` (it falls as the value rises)."""


def optical_density(rgb: np.ndarray) -> np.ndarray:
    """``-ln((I + 1) / IO)`` of ``(N, 3)`` 8-bit RGB values: 0 for white, larger for more stain."""
    if rgb.dtype == np.uint8:
        return _OD_TABLE[rgb]
    return _od(rgb)


def percentiles(values: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    """``np.percentile(values, qs)`` of a 1-D float array, to the bit: the two order statistics each
    percentile lies between (:func:`order_statistics`: a sort of the values near them, not of all,
    nor numpy's partition at every point, each several times slower on a slide's values) and
    numpy's linear interpolation (``a + (b - a) * t``, or ``b - (b - a) * (1 - t)`` where
    ``t >= 0.5``). An empty array or one holding NaN goes to ``np.percentile`` itself."""
    if values.size == 0 or np.isnan(values.max()):  # the maximum of an array holding NaN is NaN
        return np.asarray(np.percentile(values, qs))
    n = values.size
    virtual = (n - 1) * np.true_divide(qs, 100)
    below = np.floor(virtual).astype(np.intp)
    above = below + 1
    last = virtual >= n - 1  # numpy takes the last value for both
    below[last] = above[last] = n - 1
    pairs = np.array(
        [order_statistics(values, pair) for pair in zip(below.tolist(), above.tolist(), strict=True)]
    )
    a, b = pairs[:, 0], pairs[:, 1]
    t = virtual - np.where(last, -1, below)  # numpy's weight there: its index -1 stands for n - 1
    diff = b - a
    out = a + diff * t
    np.subtract(b, diff * (1 - t), out=out, where=t >= 0.5)
    return out


def macenko_vectors(od: np.ndarray) -> tuple[np.ndarray, np.ndarray, float] | None:
    """Haematoxylin and eosin unit vectors (in OD space) of ``(N, 3)`` stained pixels, and the angle
    between the two extreme directions in degrees; None when the pixels span no plane.

    The pixels' optical densities are projected on the plane of the two largest eigenvectors of their
    covariance; the stain vectors are the directions at the 1st and 99th percentile of the angle in
    that plane. Haematoxylin is the one that absorbs more red (Ruifrok and Johnston's H is
    (0.65, 0.70, 0.29), E (0.07, 0.99, 0.11)). The result does not depend on the eigenvectors' signs.
    """
    if len(od) < MIN_STAIN_PIXELS:
        return None
    cov = _covariance(od)
    if not np.all(np.isfinite(cov)):
        return None
    values, vectors = np.linalg.eigh(cov)  # ascending
    if values[1] <= 1e-12:
        return None  # one colour only: no plane to find two stains in
    plane = vectors[:, [2, 1]]
    if plane[:, 0].sum() < 0:
        plane[:, 0] = -plane[:, 0]  # the main direction points into positive OD
    projected = od @ plane
    phi = np.arctan2(projected[:, 1], projected[:, 0])
    low, high = percentiles(phi, [ANGLE_PERCENTILE, 100 - ANGLE_PERCENTILE])
    v1 = plane @ np.array([np.cos(low), np.sin(low)])
    v2 = plane @ np.array([np.cos(high), np.sin(high)])
    v1, v2 = (_positive_unit(v) for v in (v1, v2))
    h, e = (v1, v2) if v1[0] >= v2[0] else (v2, v1)
    return h, e, float(np.degrees(high - low))


def _covariance(od: np.ndarray) -> np.ndarray:
    """``np.cov(od, rowvar=False)`` of ``(N, 3)`` float64 values, ``N >= 2``, to the bit: numpy's
    steps (the values less their channel means, the product of that with its transpose, over
    ``N - 1``) with the channel sums taken by ``np.cumsum`` down the rows. numpy sums the rows of a
    C-ordered array one after another, so the running sum's last row is the same additions in the
    same order, where ``np.cov``'s mean runs a 3-element inner loop per row (half its time). Any
    other input (not C-ordered float64, fewer than two rows) goes to ``np.cov`` itself: numpy sums
    a Fortran-ordered array pairwise, so the bits would differ."""
    if len(od) < 2 or od.dtype != np.float64 or not od.flags.c_contiguous:
        return np.asarray(np.cov(od, rowvar=False))
    x = np.array(od, dtype=np.float64)
    x -= np.cumsum(x, axis=0)[-1] / len(x)
    xt = x.T
    c = np.dot(xt, xt.T)
    c *= np.true_divide(1, len(x) - 1)
    return c


def _positive_unit(v: np.ndarray) -> np.ndarray:
    if v.sum() < 0:
        v = -v
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


def concentrations(od: np.ndarray, h: np.ndarray, e: np.ndarray) -> np.ndarray:
    """``(N, 2)`` H and E concentrations of ``(N, 3)`` optical densities: least squares on the two
    stain vectors (the residual is what neither stain explains)."""
    stains = np.stack([h, e], axis=1)  # (3, 2)
    return np.asarray(od @ np.linalg.pinv(stains).T)


def background_brightness(rgb: np.ndarray, background: np.ndarray) -> float | None:
    """Mean luminance (0 black, 1 white; Rec. 601 weights) of the background pixels of an RGB(A)
    image, or None when under :data:`MIN_BACKGROUND_SHARE` of the image is background."""
    if background.size == 0 or background.mean() < MIN_BACKGROUND_SHARE:
        return None
    px = _rows(rgb, np.flatnonzero(background)).astype(np.float64)
    return float((px @ np.array([0.299, 0.587, 0.114])).mean() / 255.0)


def _rows(rgb: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``(N, 3)`` colours of the pixels at flat indices ``idx`` of an RGB(A) image (``take``: several
    times faster than a boolean index of its rows)."""
    return np.take(rgb.reshape(-1, rgb.shape[-1]), idx, axis=0)[:, :3]


def _sample(rgb: np.ndarray, where: np.ndarray, limit: int) -> np.ndarray:
    """``(N, 3)`` pixels of ``rgb`` (RGB or RGBA) where ``where`` holds, at most ``limit``, at an even
    stride (deterministic)."""
    idx = np.flatnonzero(where)
    if len(idx) > limit:
        idx = idx[:: int(np.ceil(len(idx) / limit))]
    return _rows(rgb, idx)


def stain_descriptors(rgba: np.ndarray, tissue: np.ndarray) -> StainSummary | None:
    """The colour descriptors of one slide's low-resolution image.

    Parameters
    ----------
    rgba
        ``(H, W, 3)`` or ``(H, W, 4)`` 8-bit image of the whole slide; transparent pixels (outside the
        scanned area) are neither tissue nor background.
    tissue
        ``(H, W)`` boolean tissue mask of that image.

    Returns
    -------
    StainSummary or None
        None when the image has fewer than :data:`MIN_STAIN_PIXELS` stained tissue pixels, or they
        are all one colour (no second stain to separate). The background brightness is None when
        there is too little background (an image cut inside the tissue).
    """
    if rgba.ndim != 3 or rgba.shape[-1] < 3 or tissue.shape != rgba.shape[:2]:
        return None
    valid = rgba[..., 3] > 0 if rgba.shape[-1] == 4 else np.ones(tissue.shape, dtype=bool)
    px = _sample(rgba, tissue & valid, MAX_PIXELS)
    od = optical_density(px)
    if px.dtype == np.uint8:  # over OD_MIN in every channel: under a value in the brightest
        brightest = np.maximum(np.maximum(px[:, 0], px[:, 1]), px[:, 2])
        keep = brightest < _STAINED_BELOW
    else:
        keep = (od > OD_MIN).all(axis=1)
    stained = od.take(np.flatnonzero(keep), axis=0)
    found = macenko_vectors(stained)
    if found is None:
        return None
    h, e, spread = found
    conc = concentrations(stained, h, e)
    hp, ep = (percentiles(conc[:, k], [50, 99]) for k in (0, 1))
    return StainSummary(
        h_od_r=float(h[0]),
        h_od_g=float(h[1]),
        h_od_b=float(h[2]),
        e_od_r=float(e[0]),
        e_od_g=float(e[1]),
        e_od_b=float(e[2]),
        angle_spread=spread,
        od_mean=float(od.mean()),
        h_p50=float(hp[0]),
        h_p99=float(hp[1]),
        e_p50=float(ep[0]),
        e_p99=float(ep[1]),
        background=background_brightness(rgba, ~tissue & valid),
        pixels=len(od),
    )


def _ijg_sums() -> np.ndarray:
    """The sum of the scaled IJG luminance table of each quality in :data:`_IJG_QUALITIES`."""
    q = _IJG_QUALITIES
    scale = np.where(q < 50, 5000.0 / q, 200.0 - 2.0 * q)
    return np.clip(np.floor((_IJG_LUMINANCE[None, :] * scale[:, None] + 50.0) / 100.0), 1, 255).sum(axis=1)


_IJG_QUALITIES = np.arange(1, 101, dtype=np.float64)
_IJG_SUMS = _ijg_sums()
"""Computed once: what :func:`quality_of_table` compares a table's sum with (100 tables of 64 entries
scaled and summed on every call had cost 20 µs a slide)."""


def quality_of_table(table: Sequence[int]) -> float | None:
    """The IJG quality (1–100) whose scaled standard luminance table is closest to ``table``.

    Compared by their sums, which do not depend on the order the 64 entries are listed in (zig-zag
    or natural); None for a table that is not 64 positive entries. Tables that are not scaled IJG
    tables (a vendor's own) still get the quality of the nearest IJG table of the same coarseness.
    """
    values = np.asarray(table, dtype=np.float64)
    if values.shape != (64,) or not np.all(values > 0):
        return None
    return float(_IJG_QUALITIES[int(np.argmin(np.abs(_IJG_SUMS - values.sum())))])


def dqt_tables(data: bytes) -> dict[int, list[int]]:
    """The quantisation tables of JPEG bytes (a whole file or a TIFF ``JPEGTables`` field): table id
    -> 64 values, from every DQT segment before the first scan. Malformed segments end the search."""
    out: dict[int, list[int]] = {}
    i = 2 if data[:2] == b"\xff\xd8" else 0
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            break
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if length < 2 or i + 2 + length > len(data) or marker in (0xDA, 0xD9):
            break
        if marker == 0xDB:
            out.update(_dqt_segment(data[i + 4 : i + 2 + length]))
        i += 2 + length
    return out


def _dqt_segment(seg: bytes) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    j = 0
    while j < len(seg):
        precision, table_id = seg[j] >> 4, seg[j] & 0x0F
        size = 128 if precision else 64
        body = seg[j + 1 : j + 1 + size]
        if len(body) < size:
            break
        out[table_id] = (
            [int.from_bytes(body[k : k + 2], "big") for k in range(0, 128, 2)] if precision else list(body)
        )
        j += 1 + size
    return out


def jpeg_quality(
    tables: Mapping[int, Sequence[int]] | None, description: str | None = None
) -> tuple[float | None, str | None]:
    """``(quality, how)``: estimated from the luminance table (id 0, else the lowest id), else the
    quality an Aperio header states (``Q=70`` in its image description); ``(None, None)`` otherwise."""
    if tables:
        quality = quality_of_table(tables[min(tables)] if 0 not in tables else tables[0])
        if quality is not None:
            return quality, "quantisation table"
    match = _APERIO_Q.search(description or "")
    if match and 1 <= int(match.group(1)) <= 100:
        return float(match.group(1)), "header"
    return None, None


def scanner(properties: Mapping[str, str]) -> str | None:
    """The scanner the header names (:data:`SCANNER_KEYS`), cut to :data:`MAX_SCANNER_CHARS` where
    no identifier or word is kept in part (:func:`~dqm.findings.cut_head`); None when it names none,
    or nothing of it is left."""
    for keys in SCANNER_KEYS:
        parts = [properties.get(k, "").strip() for k in keys]
        parts = [p for p in parts if p]
        if parts:
            name = " ".join(dict.fromkeys(parts))
            return cut_head(name, MAX_SCANNER_CHARS) or None
    return None
