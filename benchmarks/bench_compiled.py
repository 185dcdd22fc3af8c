"""Benchmark: would a compiled pass bring the slide probe to 1.3x its floor? (issue 13 §4, sixth round)

    PYTHONPATH=/tmp/numba-target python benchmarks/bench_compiled.py [--items 1000] [--side 1024]
        [--slides 200] [--rounds 7] [--data DIR]

Runs only where numba is importable (it is no dependency of dqm: install it outside the project's
environment, ``pip install --target /tmp/numba-target numba`` with the environment's numpy, and put
that folder on ``PYTHONPATH``); elsewhere it says so and exits 0. No test imports it.

On ``--slides`` slides of the lot of ``bench_slides.py`` (built or reused under ``--data``), the
probe's inputs to its four largest pixel steps are captured (the tissue mask's image, the stain
step's image and mask, the artefact measure's image, mask and downsample, the blur sample's tiles),
and each step is run as dqm runs it (numpy and scipy) and as numba versions written here: fused
loops, ``cache=True``. Printed:

* **same**: how far the numba versions' outputs are from dqm's on every captured input (the tissue
  masks and Otsu thresholds, each stain descriptor, the artefact flag maps and shares without
  blur, each tile's sharpness and its 4-decimal rounding);
* **time**: CPU ms a slide of each step, dqm's code then numba's, alternating, ``--rounds`` times,
  the workers' allocator (``slide_io.keep_freed_memory``): minimum and median;
* **start-up**: in fresh processes, the CPU time of ``import numba``, and of the kernels' first
  calls with an empty cache (compiling) and again with the cache the first wrote (loading it).

The numba versions: the tissue mask (the (max, min) pairs and Otsu histogram in one pass, the
dilation, the speck labelling and the hole filling as loops), the stain step (gather, optical
densities, covariance and background in one pass; the angle and concentration percentiles by
partition), sharpness (exact integer sums of the grey image and its Laplacian in one pass), and
the artefact measure without blur: the Gaussian smoothing (scipy's reflected symmetric sums, to
the bit), every per-pixel quantity of the colour rules and the raw image's thin valleys in one
pass, the four medians by a value histogram, the local fold's block sums, and the over/under,
glass and debris rules; the optical densities stay numpy's (its SIMD ``log10`` is ten times
numba's scalar one) and so do the branches a lot slide seldom takes (inks, rims and edges, the
fold's block smoothing and band). Where the kernels' cache goes: ``NUMBA_CACHE_DIR`` if set (this
script sets one of its own, removed at its end), else ``__pycache__`` beside the module when
writable, else ``~/.cache/numba``.
"""

from __future__ import annotations

import argparse
import atexit
import math
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
if "NUMBA_CACHE_DIR" not in os.environ:  # the kernels' cache: a folder of this run's, removed at its end
    os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="dqm-bench-compiled-")
    atexit.register(shutil.rmtree, os.environ["NUMBA_CACHE_DIR"], True)

try:
    import numba
except ImportError:  # no dependency of dqm: the benchmark is skipped
    numba = None

from dqm import slide_io  # noqa: E402
from dqm.facts import StainSummary  # noqa: E402
from dqm.pixels import artefacts as art  # noqa: E402
from dqm.pixels import stain  # noqa: E402


def _jit(func: Callable[..., Any]) -> Callable[..., Any]:
    """``numba.njit(cache=True)`` where numba is importable (the script exits otherwise)."""
    return numba.njit(cache=True, nogil=True, boundscheck=False)(func) if numba is not None else func


# ---------------------------------------------------------------- sharpness
@_jit
def _sharp_sums(rgb):
    h, w = rgb.shape[0], rgb.shape[1]
    s = 0
    ss = 0
    ls = 0
    lss = 0
    for y in range(h):
        ym = y - 1 if y > 0 else 0
        yp = y + 1 if y < h - 1 else h - 1
        for x in range(w):
            xm = x - 1 if x > 0 else 0
            xp = x + 1 if x < w - 1 else w - 1
            t = np.int64(rgb[y, x, 0]) + rgb[y, x, 1] + rgb[y, x, 2]
            s += t
            ss += t * t
            lap = -4 * t
            for yy, xx in ((ym, x), (yp, x), (y, xm), (y, xp)):
                lap += np.int64(rgb[yy, xx, 0]) + rgb[yy, xx, 1] + rgb[yy, xx, 2]
            ls += lap
            lss += lap * lap
    return s, ss, ls, lss


def sharpness(rgb: np.ndarray) -> float:
    """art.sharpness with exact integer sums (uint8 tiles)."""
    n = rgb.shape[0] * rgb.shape[1]
    s, ss, ls, lss = _sharp_sums(rgb)
    var = (n * ss - s * s) / (n * n)  # Python ints: exact until the division
    if var < 9.0:
        return 0.0
    return ((n * lss - ls * ls) / (n * n)) / var


# ---------------------------------------------------------------- tissue mask
@_jit
def _tissue_hist(rgba, bin_table, nbins):
    h, w = rgba.shape[0], rgba.shape[1]
    hist = np.zeros(nbins, np.int64)
    pair = np.empty((h, w), np.int32)
    four = rgba.shape[2] == 4
    for y in range(h):
        for x in range(w):
            r, g, b = rgba[y, x, 0], rgba[y, x, 1], rgba[y, x, 2]
            mx = max(max(r, g), b)
            mn = min(min(r, g), b)
            p = np.int32(mx) * 256 + mn
            pair[y, x] = p
            if (not four) or rgba[y, x, 3] > 0:
                hist[bin_table[p]] += 1
    return pair, hist


@_jit
def _tissue_rest(rgba, pair, sat_table, threshold, min_frac):
    h, w = pair.shape
    four = rgba.shape[2] == 4
    mask = np.zeros((h, w), np.bool_)
    anyset = False
    for y in range(h):
        for x in range(w):
            if sat_table[pair[y, x]] > threshold and ((not four) or rgba[y, x, 3] > 0):
                mask[y, x] = True
                anyset = True
    if not anyset:
        return mask
    radius = max(1, round(max(h, w) / 200))  # Python's round: half to even, as numba's
    for _ in range(radius):
        grown = mask.copy()
        for y in range(h):
            for x in range(w):
                if mask[y, x]:
                    continue
                if (
                    (y > 0 and mask[y - 1, x])
                    or (y < h - 1 and mask[y + 1, x])
                    or (x > 0 and mask[y, x - 1])
                    or (x < w - 1 and mask[y, x + 1])
                ):
                    grown[y, x] = True
        mask = grown
    # 4-connected components of the mask: drop the small ones
    labels = np.zeros((h, w), np.int32)
    stack = np.empty(h * w, np.int64)
    limit = max(min_frac * h * w, 2 * (2 * radius + 1) ** 2)
    n = 0
    sizes = np.zeros(h * w + 1, np.int64)
    for y0 in range(h):
        for x0 in range(w):
            if mask[y0, x0] and labels[y0, x0] == 0:
                n += 1
                labels[y0, x0] = n
                top = 0
                stack[0] = y0 * w + x0
                top = 1
                size = 0
                while top > 0:
                    top -= 1
                    q = stack[top]
                    size += 1
                    y, x = q // w, q % w
                    if y > 0 and mask[y - 1, x] and labels[y - 1, x] == 0:
                        labels[y - 1, x] = n
                        stack[top] = q - w
                        top += 1
                    if y < h - 1 and mask[y + 1, x] and labels[y + 1, x] == 0:
                        labels[y + 1, x] = n
                        stack[top] = q + w
                        top += 1
                    if x > 0 and mask[y, x - 1] and labels[y, x - 1] == 0:
                        labels[y, x - 1] = n
                        stack[top] = q - 1
                        top += 1
                    if x < w - 1 and mask[y, x + 1] and labels[y, x + 1] == 0:
                        labels[y, x + 1] = n
                        stack[top] = q + 1
                        top += 1
                sizes[n] = size
    small = False
    for k in range(1, n + 1):
        if sizes[k] < limit:
            small = True
    if small:
        for y in range(h):
            for x in range(w):
                if labels[y, x] and sizes[labels[y, x]] < limit:
                    mask[y, x] = False
    # fill holes: background (4-connected) not reaching the border
    outside = np.zeros((h, w), np.bool_)
    top = 0
    for y in range(h):
        for x in range(w):
            border = y == 0 or y == h - 1 or x == 0 or x == w - 1
            if border and not mask[y, x] and not outside[y, x]:
                outside[y, x] = True
                stack[top] = y * w + x
                top += 1
    while top > 0:
        top -= 1
        q = stack[top]
        y, x = q // w, q % w
        if y > 0 and not mask[y - 1, x] and not outside[y - 1, x]:
            outside[y - 1, x] = True
            stack[top] = q - w
            top += 1
        if y < h - 1 and not mask[y + 1, x] and not outside[y + 1, x]:
            outside[y + 1, x] = True
            stack[top] = q + w
            top += 1
        if x > 0 and not mask[y, x - 1] and not outside[y, x - 1]:
            outside[y, x - 1] = True
            stack[top] = q - 1
            top += 1
        if x < w - 1 and not mask[y, x + 1] and not outside[y, x + 1]:
            outside[y, x + 1] = True
            stack[top] = q + 1
            top += 1
    for y in range(h):
        for x in range(w):
            mask[y, x] = (not outside[y, x]) and ((not four) or rgba[y, x, 3] > 0)
    return mask


def tissue_from_rgba(rgba: np.ndarray) -> tuple[np.ndarray, float]:
    sat_table, bin_table = slide_io._saturation_table()
    pair, hist = _tissue_hist(rgba, bin_table, slide_io.OTSU_BINS)
    threshold = max(slide_io.otsu_threshold(hist), slide_io.MIN_SATURATION)
    return _tissue_rest(rgba, pair, sat_table, np.float32(threshold), slide_io.MIN_OBJECT_FRACTION), threshold


# ---------------------------------------------------------------- stain
@_jit
def _stain_gather(rgba, tissue, od_table, stained_below, limit):
    h, w = tissue.shape
    four = rgba.shape[2] == 4
    count = 0
    for y in range(h):
        for x in range(w):
            if tissue[y, x] and ((not four) or rgba[y, x, 3] > 0):
                count += 1
    stride = 1
    if count > limit:
        stride = (count + limit - 1) // limit
    rows = np.empty((count, 3), np.float64)
    m = 0
    k = 0
    od_sum = 0.0
    sampled = 0
    bg_sum = 0.0
    bg_n = 0
    for y in range(h):
        for x in range(w):
            valid = (not four) or rgba[y, x, 3] > 0
            if not valid:
                continue
            r, g, b = rgba[y, x, 0], rgba[y, x, 1], rgba[y, x, 2]
            if tissue[y, x]:
                if k % stride == 0:
                    sampled += 1
                    o0, o1, o2 = od_table[r], od_table[g], od_table[b]
                    od_sum += o0 + o1 + o2
                    if max(max(r, g), b) < stained_below:
                        rows[m, 0] = o0
                        rows[m, 1] = o1
                        rows[m, 2] = o2
                        m += 1
                k += 1
            else:
                bg_sum += (0.299 * r + 0.587 * g) + 0.114 * b
                bg_n += 1
    return rows[:m], od_sum, sampled, bg_sum, bg_n


@_jit
def _cov(od):
    n = od.shape[0]
    mean = np.zeros(3)
    for i in range(n):
        for c in range(3):
            mean[c] += od[i, c]
    mean /= n
    cov = np.zeros((3, 3))
    for i in range(n):
        d0, d1, d2 = od[i, 0] - mean[0], od[i, 1] - mean[1], od[i, 2] - mean[2]
        cov[0, 0] += d0 * d0
        cov[0, 1] += d0 * d1
        cov[0, 2] += d0 * d2
        cov[1, 1] += d1 * d1
        cov[1, 2] += d1 * d2
        cov[2, 2] += d2 * d2
    cov[1, 0] = cov[0, 1]
    cov[2, 0] = cov[0, 2]
    cov[2, 1] = cov[1, 2]
    return cov / (n - 1)


@_jit
def _percentile(values, q):
    """np.percentile(values, q) (linear), values reordered in place."""
    n = values.size
    virtual = (n - 1) * (q / 100.0)
    below = math.floor(virtual)
    last = virtual >= n - 1
    if last:
        below = n - 1
    part = np.partition(values, below)
    a = part[below]
    if last:
        return a
    b = part[below + 1]
    for i in range(below + 2, n):
        if part[i] < b:
            b = part[i]
    t = virtual - below
    diff = b - a
    if t >= 0.5:
        return b - diff * (1 - t)
    return a + diff * t


@_jit
def _phi(od, p):
    n = od.shape[0]
    phi = np.empty(n)
    for i in range(n):
        x = od[i, 0] * p[0, 0] + od[i, 1] * p[1, 0] + od[i, 2] * p[2, 0]
        y = od[i, 0] * p[0, 1] + od[i, 1] * p[1, 1] + od[i, 2] * p[2, 1]
        phi[i] = math.atan2(y, x)
    return _percentile(phi.copy(), 1.0), _percentile(phi, 99.0)


@_jit
def _conc(od, pinv):
    n = od.shape[0]
    ch = np.empty(n)
    ce = np.empty(n)
    for i in range(n):
        ch[i] = od[i, 0] * pinv[0, 0] + od[i, 1] * pinv[0, 1] + od[i, 2] * pinv[0, 2]
        ce[i] = od[i, 0] * pinv[1, 0] + od[i, 1] * pinv[1, 1] + od[i, 2] * pinv[1, 2]
    return (
        _percentile(ch.copy(), 50.0),
        _percentile(ch, 99.0),
        _percentile(ce.copy(), 50.0),
        _percentile(ce, 99.0),
    )


def stain_descriptors(rgba: np.ndarray, tissue: np.ndarray):
    if rgba.ndim != 3 or rgba.shape[-1] < 3 or tissue.shape != rgba.shape[:2]:
        return None
    stained, od_sum, sampled, bg_sum, bg_n = _stain_gather(
        rgba, tissue, stain._OD_TABLE, stain._STAINED_BELOW, stain.MAX_PIXELS
    )
    if len(stained) < stain.MIN_STAIN_PIXELS:
        return None
    cov = _cov(stained)
    if not np.all(np.isfinite(cov)):
        return None
    values, vectors = np.linalg.eigh(cov)
    if values[1] <= 1e-12:
        return None
    plane = np.ascontiguousarray(vectors[:, [2, 1]])
    if plane[:, 0].sum() < 0:
        plane[:, 0] = -plane[:, 0]
    low, high = _phi(stained, plane)
    v1 = plane @ np.array([np.cos(low), np.sin(low)])
    v2 = plane @ np.array([np.cos(high), np.sin(high)])
    v1, v2 = (stain._positive_unit(v) for v in (v1, v2))
    h, e = (v1, v2) if v1[0] >= v2[0] else (v2, v1)
    pinv = np.ascontiguousarray(np.linalg.pinv(np.stack([h, e], axis=1)))
    h50, h99, e50, e99 = _conc(stained, pinv)
    size = tissue.size
    background = bg_sum / bg_n / 255.0 if size and bg_n / size >= stain.MIN_BACKGROUND_SHARE else None
    vectors = (*h.tolist(), *e.tolist())
    names = ("h_od_r", "h_od_g", "h_od_b", "e_od_r", "e_od_g", "e_od_b")
    return StainSummary(
        **dict(zip(names, vectors, strict=True)),
        angle_spread=float(np.degrees(high - low)),
        od_mean=od_sum / (3 * sampled),
        h_p50=h50,
        h_p99=h99,
        e_p50=e50,
        e_p99=e99,
        background=background,
        pixels=sampled,
    )


# ---------------------------------------------------------------- artefact measure (without blur)
@_jit
def _reflect(i, n):
    while i < 0 or i >= n:
        if i < 0:
            i = -i - 1
        if i >= n:
            i = 2 * n - i - 1
    return i


@_jit
def _smooth(rgb, wts):
    """Gaussian smoothing (scipy's reflect, its symmetric sums in float64, float32 between axes) and
    every per-pixel quantity of measure()'s colour rules, plus the raw image's thin valleys."""
    h, w = rgb.shape[0], rgb.shape[1]
    rad = (wts.size - 1) // 2
    img = np.empty((h, w, 3), np.float64)
    for y in range(h):
        for x in range(w):
            for ch in range(3):
                img[y, x, ch] = rgb[y, x, ch]
    flat = img.reshape(h, w * 3)
    planes = np.empty((3, h, w), np.float32)
    acc = np.empty(w * 3, np.float64)
    n3 = w * 3
    for y in range(h):
        row = flat[y]
        w0 = wts[rad]
        for i in range(n3):
            acc[i] = row[i] * w0
        for jj in range(-rad, 0):
            a = flat[_reflect(y + jj, h)]
            b = flat[_reflect(y - jj, h)]
            wj = wts[rad + jj]
            for i in range(n3):
                acc[i] += (a[i] + b[i]) * wj
        for x in range(w):
            planes[0, y, x] = np.float32(acc[3 * x])
            planes[1, y, x] = np.float32(acc[3 * x + 1])
            planes[2, y, x] = np.float32(acc[3 * x + 2])
    out = np.empty((h, w, 3), np.float32)
    pad = np.empty(w + 2 * rad, np.float64)
    acc1 = np.empty(w, np.float64)
    for ch in range(3):
        for y in range(h):
            line = planes[ch, y]
            for i in range(w + 2 * rad):
                pad[i] = line[_reflect(i - rad, w)]
            for x in range(w):
                acc1[x] = pad[x + rad] * wts[rad]
            for jj in range(-rad, 0):
                wj = wts[rad + jj]
                for x in range(w):
                    acc1[x] += (pad[x + rad + jj] + pad[x + rad - jj]) * wj
            for x in range(w):
                out[y, x, ch] = np.float32(acc1[x])
    return out


@_jit
def _front(rgb, sm, od, tmask, c):
    h, w = tmask.shape
    mx = np.empty((h, w), np.float32)
    sat = np.empty((h, w), np.float32)
    grey = np.empty((h, w), np.float32)
    r = np.empty((h, w), np.float32)
    g = np.empty((h, w), np.float32)
    b = np.empty((h, w), np.float32)
    od_mean = np.empty((h, w), np.float32)
    brown = np.empty((h, w), np.bool_)
    stained = np.empty((h, w), np.bool_)
    raw_grey = np.empty((h, w), np.float32)
    darkest = np.empty((h, w), np.float32)
    pens = np.zeros(4, np.bool_)
    od_max = np.float32(-np.inf)
    three, g765 = np.float32(3.0), np.float32(765.0)
    for y in range(h):
        for x in range(w):
            rr, gg, bb = sm[y, x, 0], sm[y, x, 1], sm[y, x, 2]
            r[y, x] = rr
            g[y, x] = gg
            b[y, x] = bb
            m = max(max(rr, gg), bb)
            n = min(min(rr, gg), bb)
            mx[y, x] = m
            s = (m - n) / m if m > 0 else np.float32(0.0)
            sat[y, x] = s
            grey[y, x] = (rr + gg + bb) / g765
            brown[y, x] = (rr > gg + c[0]) and (bb < gg + c[1])
            if bb - max(rr, gg) > c[2]:
                pens[0] = True
            if gg - max(rr, bb) > c[3]:
                pens[1] = True
            if rr - max(gg, bb) > c[4]:
                pens[2] = True
            if m < c[5]:
                pens[3] = True
            o0, o1, o2 = od[y, x, 0], od[y, x, 1], od[y, x, 2]
            om = (o0 + o1 + o2) / three
            od_mean[y, x] = om
            if om > od_max:
                od_max = om
            stained[y, x] = tmask[y, x] and s >= c[6]
            a0, a1, a2 = np.float32(rgb[y, x, 0]), np.float32(rgb[y, x, 1]), np.float32(rgb[y, x, 2])
            raw_grey[y, x] = (a0 + a1 + a2) / g765
            darkest[y, x] = min(min(a0, a1), a2)
    # thin valleys of the raw grey (edge padding), k = COVERSLIP_REACH
    k = 2
    valleys = np.empty((h, w), np.bool_)
    for y in range(h):
        for x in range(w):
            gv = raw_grey[y, x]
            depth = np.float32(0.0)
            for dy, dx in ((0, k), (k, 0), (k, k), (k, -k)):
                y1, x1 = min(max(y + dy, 0), h - 1), min(max(x + dx, 0), w - 1)
                y2, x2 = min(max(y - dy, 0), h - 1), min(max(x - dx, 0), w - 1)
                d = min(raw_grey[y1, x1], raw_grey[y2, x2]) - gv
                if d > depth:
                    depth = d
            valleys[y, x] = depth > c[7]
    return r, g, b, mx, sat, grey, brown, pens, od_mean, od_max, stained, darkest, valleys


@_jit
def _kth2(vals, k0, k1):
    """The k0-th and k1-th smallest of float32 ``vals`` (k0 <= k1 <= k0 + 1), exactly: a histogram
    of 1024 monotone bins over [min, max], the values of the bins holding them kept, again until
    few are left (values that repeat crowd into one bin), then a sort of those."""
    nbins = 1024
    hist = np.zeros(nbins, np.int64)
    while True:
        n = vals.size
        lo, hi = vals[0], vals[0]
        for i in range(n):
            v = vals[i]
            if v < lo:
                lo = v
            if v > hi:
                hi = v
        if lo == hi:
            return lo, lo
        if n <= 64:
            vals = np.sort(vals)
            return vals[k0], vals[k1]
        scale = (nbins - 1) / (np.float64(hi) - np.float64(lo))
        hist[:] = 0
        for i in range(n):
            hist[int((np.float64(vals[i]) - lo) * scale)] += 1
        acc = 0
        b0 = -1
        b1 = -1
        start = 0
        for bi in range(nbins):
            if b0 < 0 and acc + hist[bi] > k0:
                b0 = bi
                start = acc
            if acc + hist[bi] > k1:
                b1 = bi
                break
            acc += hist[bi]
        m = 0
        for bi in range(b0, b1 + 1):
            m += hist[bi]
        cand = np.empty(m, np.float32)
        j = 0
        for i in range(n):
            bi = int((np.float64(vals[i]) - lo) * scale)
            if b0 <= bi <= b1:
                cand[j] = vals[i]
                j += 1
        vals = cand
        k0 -= start
        k1 -= start


@_jit
def _median_where(values2, where2):
    values = values2.ravel()
    where = where2.ravel()
    n = 0
    for i in range(values.size):
        if where[i]:
            n += 1
    vals = np.empty(n, np.float32)
    j = 0
    for i in range(values.size):
        if where[i]:
            vals[j] = values[i]
            j += 1
    half = n // 2
    if n % 2:
        a, _ = _kth2(vals, half, half)
        return np.float64(a)
    a, b = _kth2(vals, half - 1, half)
    return np.float64((a + b) / np.float32(2.0))


@_jit
def _fold_blocks(od, stained, step):
    h, w = stained.shape
    h2, w2 = h // step, w // step
    tissue = np.zeros((h2, w2, 1), np.float32)
    sums = np.zeros((h2, w2, 3), np.float32)
    col_t = np.empty(w, np.float32)
    col_s = np.empty((w, 3), np.float32)
    for by in range(h2):
        for x in range(w):
            st = np.float32(1.0) if stained[by * step, x] else np.float32(0.0)
            col_t[x] = st
            for ch in range(3):
                col_s[x, ch] = od[by * step, x, ch] * st
        for i in range(1, step):
            y = by * step + i
            for x in range(w):
                st = np.float32(1.0) if stained[y, x] else np.float32(0.0)
                col_t[x] += st
                for ch in range(3):
                    col_s[x, ch] += od[y, x, ch] * st
        for bx in range(w2):
            x0 = bx * step
            t = col_t[x0] + col_t[x0 + 1]
            s0 = col_s[x0, 0] + col_s[x0 + 1, 0]
            s1 = col_s[x0, 1] + col_s[x0 + 1, 1]
            s2 = col_s[x0, 2] + col_s[x0 + 1, 2]
            for i in range(2, step):
                t += col_t[x0 + i]
                s0 += col_s[x0 + i, 0]
                s1 += col_s[x0 + i, 1]
                s2 += col_s[x0 + i, 2]
            tissue[by, bx, 0] = t
            sums[by, bx, 0] = s0
            sums[by, bx, 1] = s1
            sums[by, bx, 2] = s2
    return tissue, sums


def _local_fold(od, stained):
    step = art.FOLD_LOCAL_STEP
    h, w = stained.shape
    h2, w2 = h // step, w // step
    out = np.zeros_like(stained)
    if h2 < 2 or w2 < 2 or not stained.any():
        return out
    tissue, sums = _fold_blocks(od, stained, step)
    stains = sums @ art.UNMIX[:, :2]
    side = max(h2, w2)

    def blur(a, reach):
        return art._gaussian_2d(a, reach * side, truncate=2.0)

    def local(values, weight, reach):
        return blur(values, reach) / np.maximum(blur(weight, reach), 1e-3)

    smooth_tissue = blur(tissue, art.FOLD_LOCAL_SMOOTH)
    near = blur(stains, art.FOLD_LOCAL_SMOOTH) / np.maximum(smooth_tissue, 1e-3)
    both = stains[..., :1] + stains[..., 1:]
    usual = tissue * (both < art.FOLD_LOCAL_EXCLUDE * tissue * local(both, tissue, art.FOLD_LOCAL_REACH))
    ref = np.maximum(local(stains * (usual > 0), usual, art.FOLD_LOCAL_REACH), 0.02)
    dense = art._both(near > art.FOLD_LOCAL_RATIO * ref)
    enough = smooth_tissue[..., 0] > art.FOLD_LOCAL_MIN_TISSUE * step * step
    sides = local(stains, tissue, art.FOLD_BAND_SIDE_SMOOTH)
    side_tissue = smooth_tissue[..., 0] >= art.FOLD_BAND_MIN_SIDE * step * step
    dense = (dense | art._band(near, sides, side_tissue, enough, side)) & enough
    out[: h2 * step, : w2 * step] = np.repeat(np.repeat(dense, step, 0), step, 1)
    return out & stained


@_jit
def _back(tmask, valid, pen, bubble, brown, darkest, over_at, under_at):
    h, w = tmask.shape
    over = np.empty((h, w), np.bool_)
    under = np.empty((h, w), np.bool_)
    glass = np.empty((h, w), np.bool_)
    n_glass = 0
    for y in range(h):
        for x in range(w):
            plain = tmask[y, x] and not pen[y, x] and not bubble[y, x]
            d = darkest[y, x]
            over[y, x] = plain and not brown[y, x] and d < over_at
            under[y, x] = plain and d > under_at
            gl = valid[y, x] and not tmask[y, x] and not pen[y, x] and not bubble[y, x]
            glass[y, x] = gl
            n_glass += gl
    return over, under, glass, n_glass


@_jit
def _debris(glass, grey, sat, tmask, below, sat_at):
    h, w = glass.shape
    out = np.zeros((h, w), np.bool_)
    for y in range(h):
        for x in range(w):
            if glass[y, x] and (grey[y, x] < below or sat[y, x] > sat_at):
                near = False  # dilate(tmask, 2): the L1 ball of radius 2
                for dy in range(-2, 3):
                    for dx in range(-2 + abs(dy), 3 - abs(dy)):
                        yy, xx = y + dy, x + dx
                        if 0 <= yy < h and 0 <= xx < w and tmask[yy, xx]:
                            near = True
                out[y, x] = not near
    return out


_C = np.array(
    [
        art.BROWN_MIN_RED_OVER_GREEN,
        art.BROWN_MAX_BLUE_OVER_GREEN,
        art.PEN_MIN_DOMINANCE["blue"],
        art.PEN_MIN_DOMINANCE["green"],
        art.PEN_MIN_DOMINANCE["red"],
        art.BLACK_MAX_VALUE,
        art.STAINED_MIN_SATURATION,
        art.EDGE_MIN_CONTRAST,
    ],
    np.float32,
)


def measure(rgba, tissue, downsample):
    """art.measure without blur (tiles=None), the per-pixel passes compiled, the rare branches numpy's."""
    from scipy import ndimage

    valid = rgba[..., 3] > 0 if rgba.shape[-1] == 4 else np.ones(tissue.shape, bool)
    h, w = tissue.shape
    f = max(1, int(np.ceil(max(h, w) / art.WORK_SIDE)))
    if f == 1:
        raw_in, tmask = rgba, tissue
    else:
        raw_in, tmask, valid, f = art._shrink(rgba[..., :3], tissue, valid)
    ds = (float(downsample[0]) * f, float(downsample[1]) * f)
    if tmask.size == 0:
        return art.Artefacts(
            np.zeros(tmask.shape, np.uint8), ds, 0, dict.fromkeys(art.KINDS, 0.0), {}, None, 0.0
        )
    wts = art._gaussian_weights(art.SMOOTH, int(4.0 * art.SMOOTH + 0.5))
    sm = _smooth(raw_in, wts)
    od = sm + 1.0  # numpy's SIMD log10: ten times numba's scalar one, and the same bits as measure()
    od /= 256.0
    np.log10(od, out=od)
    np.negative(od, out=od)
    r, g, b, mx, sat, grey, brown, pen_any, od_mean, od_max, stained, darkest, valleys = _front(
        raw_in, sm, od, tmask, _C
    )
    min_px = max(4, int(art.MIN_REGION * tmask.size))
    if pen_any.any():
        pens = {c: art._drop_small(m & valid, min_px) for c, m in art._pens(r, g, b, mx, sat, brown).items()}
        pen = pens["blue"] | pens["green"] | pens["red"] | pens["black"]
        stained &= ~pen
    else:
        pens = {c: np.zeros_like(tmask) for c in art.PEN_COLOURS}
        pen = np.zeros_like(tmask)
    has_stained = stained.any()
    ref = _median_where(od_mean, stained) if has_stained else 0.0
    dark_od = max(art.FOLD_MIN_OD, art.FOLD_RATIO * ref)
    if od_max > np.float32(dark_od):
        dark = stained & ~brown & (ndimage.gaussian_filter(od_mean, art.FOLD_SMOOTH) > dark_od)
    else:
        dark = np.zeros_like(stained)
    inked = art._touching(dark, art.dilate(pen, 2)) if pen_any.any() else np.zeros_like(dark)
    pen |= inked
    stained &= ~inked
    fold = dark & ~inked
    if fold.any():
        ref_eosin = max(art._median(od[stained] @ art.UNMIX[:, 1]), 0.02)
        fold[fold] = od[fold] @ art.UNMIX[:, 1] > art.FOLD_EOSIN_RATIO * ref_eosin
    fold = art._drop_small(fold | _local_fold(od, stained & ~brown), min_px)
    tissue_sat = _median_where(sat, stained) if stained.any() else 0.0
    tissue_grey = _median_where(grey, stained) if stained.any() else 1.0
    if valleys.any():
        raw = raw_in[..., :3].astype(np.float32) if f == 1 else raw_in
        valleys[valleys] = art._saturation(*raw[valleys].T) < max(
            art.EDGE_MAX_SATURATION, art.EDGE_TISSUE_SATURATION * tissue_sat
        )
    bubble = (
        (art._edges(grey, sat, tissue_sat, tissue_grey, min_px) | art._straight_edges(valleys & valid, tmask))
        & valid
        & ~pen
    )
    over, under, glass, n_glass = _back(
        tmask,
        valid,
        pen,
        bubble,
        brown,
        darkest,
        np.float32(256.0 * 10.0**-art.OVERSTAIN_MIN_OD - 1.0),
        np.float32(256.0 * 10.0**-art.UNDERSTAIN_MAX_OD - 1.0),
    )
    glass_grey = _median_where(grey, glass) if n_glass >= min_px else 1.0
    debris = _debris(
        glass,
        grey,
        sat,
        tmask,
        np.float32(glass_grey - art.DEBRIS_MIN_CONTRAST),
        np.float32(art.DEBRIS_MIN_SATURATION),
    )
    masks = dict(zip(art.KINDS[:6], (pen, fold, bubble, over, under, debris), strict=True))
    base = tmask | pen | fold | bubble
    tissue_px = int(np.count_nonzero(base))
    masks["blur"] = np.zeros_like(tmask)
    flags = np.zeros(tmask.shape, np.uint8)
    denom = max(tissue_px, 1)
    shares = dict.fromkeys(art.KINDS, 0.0)
    for k, kind in enumerate(art.KINDS):
        if masks[kind].any():
            flags |= masks[kind].view(np.uint8) << k
            shares[kind] = int(np.count_nonzero(masks[kind] & base)) / denom if tissue_px else 0.0
    shares["debris"] = int(np.count_nonzero(debris)) / denom if tissue_px else 0.0
    pen_shares = {c: int(np.count_nonzero(m)) / denom if tissue_px else 0.0 for c, m in pens.items()}
    return art.Artefacts(flags, ds, tissue_px, shares, pen_shares, None, 0.0)


STEPS = ("artefacts without blur", "stain", "tissue mask", "sharpness (the blur tiles)")


def capture(folder: Path, n: int) -> dict[str, list[Any]]:
    """The inputs of the four steps on the first ``n`` slides of the lot, from wrappers around them
    during ``probe_slide`` (each probe as dqm runs it)."""
    rec: dict[str, list[Any]] = {"tissue": [], "stain": [], "measure": [], "sharp": []}
    orig_tissue, orig_stain, orig_measure = (
        slide_io.tissue_from_rgba,
        slide_io.stain_descriptors,
        slide_io.measure,
    )
    orig_sharp = art.sharpness

    def tissue(rgba: np.ndarray) -> Any:
        rec["tissue"].append(rgba.copy())
        return orig_tissue(rgba)

    def stain_step(rgba: np.ndarray, mask: np.ndarray) -> Any:
        rec["stain"].append((rgba.copy(), mask.copy()))
        return orig_stain(rgba, mask)

    def measure_step(
        rgba: np.ndarray, mask: np.ndarray, ds: Any, tiles: Any = None, budget: Any = None
    ) -> Any:
        rec["measure"].append((rgba.copy(), mask.copy(), tuple(ds)))
        return orig_measure(rgba, mask, ds, tiles, budget)

    def sharp(rgb: np.ndarray) -> float:
        rec["sharp"].append(np.array(rgb))
        return orig_sharp(rgb)

    slide_io.tissue_from_rgba, slide_io.stain_descriptors, slide_io.measure = tissue, stain_step, measure_step
    art.sharpness = sharp
    try:
        for path in sorted((folder / "slides").iterdir())[:n]:
            slide_io.probe_slide(path, path.name)
    finally:
        slide_io.tissue_from_rgba, slide_io.stain_descriptors = orig_tissue, orig_stain
        slide_io.measure, art.sharpness = orig_measure, orig_sharp
    return rec


def compare(rec: dict[str, list[Any]]) -> list[str]:
    """How far the numba versions are from dqm's, one line a step."""
    lines = []
    bad_px = bad_slides = 0
    worst_share = 0.0
    for rgba, mask, ds in rec["measure"]:
        a, b = art.measure(rgba, mask, ds, None), measure(rgba, mask, ds)
        differ = int(np.count_nonzero(a.flags != b.flags))
        bad_px, bad_slides = bad_px + differ, bad_slides + (differ > 0)
        for key in a.shares:
            worst_share = max(worst_share, abs(a.shares[key] - b.shares[key]))
        for key in a.pens:
            worst_share = max(worst_share, abs(a.pens[key] - b.pens[key]))
    kinds = {k: sum(art.measure(*m).shares[k] > 0 for m in rec["measure"]) for k in art.KINDS}
    lines.append(
        f"artefacts: {bad_px} flag pixels differ on {bad_slides} of {len(rec['measure'])} images, "
        f"largest share difference {worst_share:.1e} (images with each kind: {kinds})"
    )
    worst: dict[str, float] = {}
    nones = 0
    for rgba, mask in rec["stain"]:
        sa, sb = stain.stain_descriptors(rgba, mask), stain_descriptors(rgba, mask)
        if sa is None or sb is None:
            nones += (sa is None) != (sb is None)
            continue
        for name in type(sa).model_fields:
            x, y = getattr(sa, name), getattr(sb, name)
            d = (0.0 if x is y else math.inf) if x is None or y is None else abs(x - y) / max(abs(x), 1e-12)
            worst[name] = max(worst.get(name, 0.0), d)
    lines.append(
        f"stain: {nones} differ in having descriptors; largest relative difference "
        f"{max(worst.values(), default=0.0):.1e} ("
        + ", ".join(f"{k} {v:.0e}" for k, v in worst.items())
        + ")"
    )
    px = thresholds = 0
    for rgba in rec["tissue"]:
        (ma, ta), (mb, tb) = slide_io.tissue_from_rgba(rgba), tissue_from_rgba(rgba)
        px, thresholds = px + int(np.count_nonzero(ma != mb)), thresholds + (ta != tb)
    lines.append(
        f"tissue mask: {px} pixels and {thresholds} thresholds differ of {len(rec['tissue'])} images"
    )
    rel = 0.0
    flips = 0
    for tile in rec["sharp"]:
        x, y = art.sharpness(tile), sharpness(tile)
        rel, flips = max(rel, abs(x - y) / max(abs(x), 1e-300)), flips + (round(x, 4) != round(y, 4))
    lines.append(
        f"sharpness: largest relative difference {rel:.1e}, {flips} of {len(rec['sharp'])} rounded values differ"
    )
    return lines


def timings(rec: dict[str, list[Any]], rounds: int) -> list[tuple[str, list[float], list[float]]]:
    """``(step, dqm's CPU ms a slide per round, numba's)``, the two run in turn each round."""
    n = len(rec["measure"])
    pairs: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
        STEPS[0]: (
            lambda: [art.measure(im, m, ds, None) for im, m, ds in rec["measure"]],
            lambda: [measure(im, m, ds) for im, m, ds in rec["measure"]],
        ),
        STEPS[1]: (
            lambda: [stain.stain_descriptors(im, m) for im, m in rec["stain"]],
            lambda: [stain_descriptors(im, m) for im, m in rec["stain"]],
        ),
        STEPS[2]: (
            lambda: [slide_io.tissue_from_rgba(im) for im in rec["tissue"]],
            lambda: [tissue_from_rgba(im) for im in rec["tissue"]],
        ),
        STEPS[3]: (
            lambda: [art.sharpness(t) for t in rec["sharp"]],
            lambda: [sharpness(t) for t in rec["sharp"]],
        ),
    }
    for ours, theirs in pairs.values():  # compiled or loaded, and first pages, out of the way
        ours()
        theirs()
    out = {k: ([], []) for k in pairs}  # type: dict[str, tuple[list[float], list[float]]]
    for _ in range(rounds):
        for step, runs in pairs.items():
            for side, run in enumerate(runs):
                c = time.process_time()
                run()
                out[step][side].append(1000 * (time.process_time() - c) / n)
    return [(step, a, b) for step, (a, b) in out.items()]


def first_calls(rec: dict[str, list[Any]]) -> float:
    """CPU seconds of one call of each kernel (compiling it, or loading it from the cache)."""
    c = time.process_time()
    rgba, mask, ds = rec["measure"][0]
    tissue_from_rgba(rec["tissue"][0])
    stain_descriptors(*rec["stain"][0])
    measure(rgba, mask, ds)
    sharpness(rec["sharp"][0])
    return time.process_time() - c


def start_up(rec: dict[str, list[Any]]) -> list[str]:
    """Fresh processes: ``import numba``, then the kernels' first calls with an empty cache, and
    again with the cache that run wrote."""
    lines = []
    with tempfile.TemporaryDirectory(prefix="dqm-bench-compiled-") as tmp:
        one = Path(tmp) / "one.pkl"
        one.write_bytes(pickle.dumps({k: v[:1] for k, v in rec.items()}))
        env = {**os.environ, "NUMBA_CACHE_DIR": str(Path(tmp) / "cache")}
        for label in ("empty cache (compiling)", "the cache written (loading)"):
            proc = subprocess.run(
                [sys.executable, __file__, "--start-up", str(one)], capture_output=True, text=True, env=env
            )
            lines.append(f"{label}: {proc.stdout.strip() or proc.stderr[-300:]}")
    return lines


def _peak_rss_mib() -> int:
    """This process's peak resident memory (``VmHWM``: unlike ``ru_maxrss``, not the peak of the
    parent it was forked from before its ``exec``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return 0


def _start_up_child(path: Path) -> None:
    rec = pickle.loads(path.read_bytes())
    c = time.process_time()
    first = first_calls(rec)
    rss = _peak_rss_mib()
    print(
        f"first calls {1000 * first:.0f} ms CPU ({1000 * (time.process_time() - c):.0f} in all), peak RSS {rss:.0f} MiB"
    )


def import_cost() -> str:
    """CPU ms of ``import numba`` in a fresh process that has numpy and scipy already, and the
    peak RSS with and without it."""
    code = (
        "import re, time, numpy, scipy.ndimage; c = time.process_time(); {imp}; "
        "print(round(1000 * (time.process_time() - c)), "
        "int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1]) // 1024)"
    )
    out = []
    for imp in ("pass", "import numba"):
        proc = subprocess.run([sys.executable, "-c", code.format(imp=imp)], capture_output=True, text=True)
        out.append(proc.stdout.split())
    (_, rss0), (ms, rss1) = out
    return (
        f"import numba: {ms} ms CPU; peak RSS {rss1} MiB against {rss0} without it (numpy and scipy imported)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=1000, help="the lot of bench_slides.py to take slides from")
    ap.add_argument("--side", type=int, default=1024)
    ap.add_argument("--data", type=Path, default=ROOT / "benchmarks" / "_data")
    ap.add_argument("--slides", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--start-up", type=Path, help=argparse.SUPPRESS)  # the child of start_up()
    args = ap.parse_args()
    if numba is None:
        print("bench_compiled: numba is not importable here (no dependency of dqm); skipped")
        return
    if args.start_up:
        _start_up_child(args.start_up)
        return
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_slides import build_lot

    folder = args.data / f"slides-{args.items}-{args.side}"
    build_lot(folder, args.items, args.side)
    slide_io.keep_freed_memory()  # as in dqm's worker processes
    rec = capture(folder, args.slides)
    print(
        f"numba {numba.__version__}, numpy {np.__version__}; {len(rec['measure'])} lot slides, {len(rec['sharp'])} blur tiles"
    )
    print(import_cost())
    for line in start_up(rec):
        print(line)
    for line in compare(rec):
        print(line)
    print(f"CPU ms a slide, {args.rounds} rounds in turn (min / median):")
    total = [0.0, 0.0]
    for step, a, b in timings(rec, args.rounds):
        ma, mb = float(np.median(a)), float(np.median(b))
        total = [total[0] + ma, total[1] + mb]
        print(
            f"  {step:28s} dqm {min(a):6.2f} / {ma:6.2f}   numba {min(b):6.2f} / {mb:6.2f}   saved {ma - mb:5.2f}"
        )
    print(
        f"  {'the four':28s} dqm {total[0]:15.2f}   numba {total[1]:15.2f}   saved {total[0] - total[1]:5.2f}"
    )


if __name__ == "__main__":
    main()
