"""How well an image's own nuclei tell its resolution (issue 15 §1: blur is measured at 10x or more
only, and no external set but the first states a resolution): :func:`estimate_mpp` (below) on
images whose µm per pixel is known, as they are and reduced by 2 and 4 (the estimate should follow
the scale).

    PYTHONPATH=. nice -n 10 .venv/bin/python benchmarks/bench_effective_mpp.py [--every N] [--out FILE]
    PYTHONPATH=. .venv/bin/python benchmarks/bench_effective_mpp.py --rows FILE   (re-tabulate)

The estimator: nuclei are the one structure of a roughly known size on every H&E image (most 5 to
15 µm across, lymphocytes 6 to 8 µm). The haematoxylin optical density (Ruifrok's fixed vectors) of
up to two 512 px crops is searched over a pyramid of scale-normalised Laplacians of Gaussians (4
scales an octave, 5 octaves); each pixel whose best response is at least half the crop's 95th
percentile takes its best scale's diameter (``2 * sqrt(2) * sigma``), and the median diameter
against :data:`NUCLEUS_UM` gives µm per pixel.

Known: GlaS (0.62 µm/px at 20x, every N-th image), the first external set's sources that state
mpp (``/tmp/exthe-he/external_he.tsv``: Institut Curie 0.2, Lizard 0.5, PanNuke 0.125, MoNuSAC and
MoNuSeg 0.25, both "TCGA"), CMU-1-Small-Region (0.499) and OS-1-detail (0.227) crops of 1024 px.
BreakHis in set 3 states only the magnification (40x, 100x, 400x in the names): its estimates are
shown, not scored. The nucleus size is set leave-one-dataset-out: for each dataset, the median over
the other datasets of their median ``diameter_px * mpp`` (unreduced images); the held-out dataset's
ratios estimate / truth are what the table gives (5-95 %: the nearest ranks). Session 24, library
at 1706a01 (``--every 4``):

===========  =====  ===  ============  ============  ===========  ================
dataset      scale  n    median ratio  5-95 % ratio  within x1.4  10x call right
===========  =====  ===  ============  ============  ===========  ================
CMU-1        x1     1    0.79          --            0/1 (0.79)   1/1
GlaS         x1     42   0.45          0.32-0.64     0/42         42/42
GlaS         x2     42   0.32          0.19-0.53     0/42         0/42
GlaS         x4     42   0.19          0.16-0.32     0/42         0/42
Inst. Curie  x1     6    1.26          0.68-3.87     3/6          6/6
Lizard       x1     15   1.30          0.92-1.84     8/15         15/15
Lizard       x2     15   0.65          0.46-0.92     7/15         15/15
Lizard       x4     15   0.33          0.23-0.46     0/15         0/15
OS-1         x1     1    1.43          --            0/1          1/1
PanNuke      x1     10   1.03          0.87-2.06     8/10         10/10
PanNuke      x4     10   0.87          0.73-1.23     10/10        10/10
TCGA         x1     43   0.79          0.56-1.12     31/43        43/43
TCGA         x4     43   0.66          0.39-0.94     15/43        43/43
all          x1     118  0.79          0.38-1.55     51/118       118/118
all          x2     118  0.56          0.27-1.12     44/118       76/118
all          x4     118  0.39          0.16-0.94     29/118       60/118
===========  =====  ===  ============  ============  ===========  ================

("10x call right": the estimate and the truth on the same side of 1 µm/px, the one decision the
blur measure needs.) Far from the bar (within x1.4 on 90 % of images): 43 % of unreduced images.
Two causes. (1) The apparent nucleus differs by dataset far more than x1.4: in-sample medians
3.05 µm (OS-1), 3.36 (Lizard), 3.50 (Curie), 4.00 (PanNuke), 4.75 (CMU-1), 4.76 (TCGA), 8.34 (GlaS:
crowded columnar nuclei of colon glands, whose clusters read as one blob); tissue, stain strength
and resizing (PanNuke, Curie and EBHI were resized up) move it. (2) It stops following the scale
below about 5 px a nucleus: GlaS and Lizard reduced keep about the same diameter in pixels (the
ratio halves with each halving), so at 1 to 2.5 µm/px, where the 10x call matters, the estimate
says "finer" whatever the truth: 76/118 and 60/118 right at x2 and x4, and a wrong "finer" would
let the blur rule (its threshold set on GlaS at 0.62 µm/px) judge a 1.24-2.5 µm/px image. BreakHis
(magnification only): 40x 4.8 px, 100x 9.5 px (46 images), 400x 22.6 px a nucleus, ratios 2.0 and
2.4 where the optics give 2.5 and 4. Variants tried (``--every 8``, 97 images, unreduced / x2 / x4
within x1.4): as shipped 51/97, 44, 29 (the 118 above less GlaS's odd fourths); scales from 0.71 px
49/97, 40, 27; strong pixels at 0.3 of the 95th percentile 47, 29, 20; at 0.7 53, 54, 39; one
diameter per blob (local maxima only) 40, 31, 35; nuclei segmented instead (haematoxylin smoothed 1 px over Otsu's threshold,
each component of 5 px or more its equivalent diameter) 24, 11, 5 by the median, 37, 16, 6 by the
75th percentile, 23, 29, 27 area-weighted. None is near the bar, so the estimate is **not** wired
into the blur measure (a plain image with no stated resolution stays "not measured"). Cost: median 0.48 s, at
most 1.6 s an unreduced image (0.68 and 1.96 s in a rerun on the loaded 2-core machine; 1000
px MoNuSeg the slowest): a large share of the 2 s per-slide budget.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

NUCLEUS_UM = 7.0
"""The typical nucleus's diameter the estimate assumes, µm (a textbook figure; the table below sets
it leave-one-dataset-out instead and passes it as ``nucleus_um``)."""
SIGMAS_PER_OCTAVE = (1.0, 2**0.25, 2**0.5, 2**0.75)
"""Blob scales searched in each octave of the pyramid, pixels of that octave."""
OCTAVES = 5
"""Octaves of the pyramid (the image, then halved, ...): blob diameters of about 3 to 120 px."""
WORK_SIDE = 512
"""Side of the crops the search reads, pixels (the image's own pixels, never resampled)."""
WORK_CROPS = 2
"""Crops searched at most, spread over the image."""
STRONG = 0.5
"""A pixel is counted when its best response is at least this times the image's 95th percentile
response: the nuclei, not the stroma's faint haematoxylin."""
MIN_PIXELS = 200
"""Fewer counted pixels than this: no estimate (too few nuclei to say)."""
H_VECTOR = np.array([0.650, 0.704, 0.286])
E_VECTOR = np.array([0.072, 0.990, 0.105])
"""Ruifrok and Johnston's haematoxylin and eosin optical density vectors (fixed, not fitted)."""


@dataclass(frozen=True, slots=True)
class MppEstimate:
    mpp: float
    """µm per pixel, the estimate."""
    low: float
    high: float
    """The interval: the counted pixels' 25th and 75th percentile diameters against :data:`NUCLEUS_UM`."""
    pixels: int
    diameter_px: float
    """The median blob diameter, pixels."""


def haematoxylin(rgb: np.ndarray) -> np.ndarray:
    """The haematoxylin optical density of an ``(H, W, 3)`` 8-bit image (Ruifrok's vectors)."""
    od = -np.log((rgb[..., :3].astype(np.float32) + 1.0) / 256.0)
    residual = np.cross(H_VECTOR, E_VECTOR)
    m = np.stack([H_VECTOR, E_VECTOR, residual / np.linalg.norm(residual)])
    h = od @ np.linalg.inv(m)[:, 0].astype(np.float32)
    return np.clip(h, 0.0, None)


def _crops(shape: tuple[int, ...]) -> list[tuple[slice, slice]]:
    h, w = shape[:2]
    side_r, side_c = min(h, WORK_SIDE), min(w, WORK_SIDE)
    if h * w <= 2 * WORK_SIDE * WORK_SIDE:
        return [(slice(0, h), slice(0, w))]
    corners = [
        (round((h - side_r) * t), round((w - side_c) * t)) for t in np.linspace(0.25, 0.75, WORK_CROPS)
    ]
    return [(slice(r, r + side_r), slice(c, c + side_c)) for r, c in corners]


def blob_diameters(h: np.ndarray) -> np.ndarray:
    """Each strong pixel's best blob diameter (pixels) in haematoxylin density ``h``: the scale of
    its largest scale-normalised negative Laplacian of Gaussian over a pyramid (``2 * sqrt(2) *
    sigma``); pixels whose best scale is the first or last searched are left out (no maximum)."""
    rows, cols = h.shape
    responses, sigmas = [], []
    img = h
    for octave in range(OCTAVES):
        if min(img.shape) < 16:
            break
        f = 2**octave
        for s in SIGMAS_PER_OCTAVE:
            r = -(s**2) * ndimage.gaussian_laplace(img, s)
            responses.append(np.repeat(np.repeat(r, f, 0), f, 1)[:rows, :cols])
            sigmas.append(s * f)
        img = ndimage.gaussian_filter(img, 0.8)[::2, ::2]
    stack = np.stack(responses)
    best, k = stack.max(0), stack.argmax(0)
    strong = (best > STRONG * np.percentile(best, 95)) & (k > 0) & (k < len(sigmas) - 1)
    return 2 * np.sqrt(2) * np.asarray(sigmas)[k[strong]]


def estimate_mpp(rgb: np.ndarray, nucleus_um: float = NUCLEUS_UM) -> MppEstimate | None:
    """µm per pixel of ``rgb`` from its nuclei's apparent size, or None when too few are seen."""
    h = haematoxylin(rgb)
    d = np.concatenate([blob_diameters(h[r, c]) for r, c in _crops(h.shape)])
    if d.size < MIN_PIXELS:
        return None
    q25, q50, q75 = np.percentile(d, [25, 50, 75])
    return MppEstimate(nucleus_um / q50, nucleus_um / q75, nucleus_um / q25, int(d.size), float(q50))


REAL = Path("/work/shared/data/real")
SET1 = Path("/tmp/exthe-he")
SET3 = Path("/tmp/heldout3-he")
SCALES = (1, 2, 4)
WITHIN = 1.4
"""The brief's bar: the estimate within this factor of the truth on 90 % of images."""


def _known(every: int) -> list[tuple[str, str, float, np.ndarray]]:
    out = []
    glas = sorted((REAL / "segmentation/glas/images").glob("*.png"))[::every]
    out += [("GlaS", p.name, 0.62, np.asarray(Image.open(p).convert("RGB"))) for p in glas]
    with open(SET1 / "external_he.tsv", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if row["mpp"]:
                img = np.asarray(Image.open(SET1 / row["file"]).convert("RGB"))
                out.append((row["site"].split(" (")[0], row["file"], float(row["mpp"]), img))
    import openslide
    import tifffile

    with openslide.OpenSlide(str(REAL / "slides/CMU-1-Small-Region.svs")) as s:
        region = np.asarray(s.read_region((600, 1000), 0, (1024, 1024)).convert("RGB"))
    out.append(("CMU-1", "CMU-1-Small-Region.svs", 0.499, region))
    level0 = tifffile.imread(REAL / "slides/OS-1-detail.ome.tif", level=0)
    if level0.ndim == 3 and level0.shape[0] in (3, 4):
        level0 = np.moveaxis(level0, 0, -1)
    h, w = level0.shape[:2]
    crop = level0[h // 2 - 512 : h // 2 + 512, w // 2 - 512 : w // 2 + 512, :3]
    out.append(("OS-1", "OS-1-detail.ome.tif", 0.227, np.ascontiguousarray(crop)))
    return out


def _reduce(img: np.ndarray, f: int) -> np.ndarray:
    return img if f == 1 else np.asarray(Image.fromarray(img).reduce(f))


def measure(every: int) -> list[dict]:
    rows = []
    for dataset, name, mpp, img in _known(every):
        for f in SCALES:
            t = time.perf_counter()
            e = estimate_mpp(_reduce(img, f), nucleus_um=1.0)  # diameter in px: 1 / mpp
            dt = time.perf_counter() - t
            d = None if e is None else e.diameter_px
            rows.append({"dataset": dataset, "name": name, "mpp": mpp * f, "scale": f, "d_px": d, "s": dt})
    if SET3.is_dir():
        for p in sorted(SET3.glob("*SOB_*")):
            mag = next((m for m in ("-40-", "-100-", "-200-", "-400-") if m in p.name), None)
            if mag is None:
                continue
            e = estimate_mpp(np.asarray(Image.open(p).convert("RGB")), nucleus_um=1.0)
            d = None if e is None else e.diameter_px
            rows.append(
                {"dataset": f"BreakHis{mag.strip('-')}x", "name": p.name, "mpp": None, "scale": 1, "d_px": d}
            )
    return rows


def table(rows: list[dict]) -> str:
    known = [r for r in rows if r["mpp"] is not None]
    sets = sorted({r["dataset"] for r in known})
    um = {  # each dataset's median nucleus size in µm, unreduced images
        ds: statistics.median(
            r["d_px"] * r["mpp"] for r in known if r["dataset"] == ds and r["scale"] == 1 and r["d_px"]
        )
        for ds in sets
    }
    lines = [
        "dataset     scale  n   NUCLEUS_UM(lodo)  median ratio  5-95 % ratio    within x1.4  10x call right"
    ]
    alls: dict[int, list[float]] = {f: [] for f in SCALES}
    calls: dict[int, list[bool]] = {f: [] for f in SCALES}
    for ds in sets:
        c = statistics.median(v for k, v in um.items() if k != ds)
        for f in SCALES:
            sel = [r for r in known if r["dataset"] == ds and r["scale"] == f]
            ratios = [c / r["d_px"] / r["mpp"] if r["d_px"] else float("inf") for r in sel]  # none: outside
            right = [(c / r["d_px"] <= 1.0 if r["d_px"] else False) == (r["mpp"] <= 1.0) for r in sel]
            alls[f] += ratios
            calls[f] += right
            lo, hi = (
                np.percentile(ratios, [5, 95], method="nearest")
                if len(ratios) > 1
                else (ratios[0], ratios[0])
            )
            within = sum(1 / WITHIN <= x <= WITHIN for x in ratios)
            lines.append(
                f"{ds[:11]:11s} x{f:<5d}{len(sel):<4d}{c:<18.2f}{statistics.median(ratios):<14.2f}"
                f"{lo:5.2f} - {hi:<8.2f}{within:3d}/{len(sel):<8d}{sum(right)}/{len(right)}"
            )
    for f in SCALES:
        r = alls[f]
        within = sum(1 / WITHIN <= x <= WITHIN for x in r)
        lo, hi = np.percentile(r, [5, 95], method="nearest")
        lines.append(
            f"{'all':11s} x{f:<5d}{len(r):<4d}{'':18s}{statistics.median(r):<14.2f}{lo:5.2f} - {hi:<8.2f}"
            f"{within:3d}/{len(r):<8d}{sum(calls[f])}/{len(calls[f])}"
        )
    lines.append(
        "nucleus µm per dataset (unreduced, in-sample): " + ", ".join(f"{k} {v:.2f}" for k, v in um.items())
    )
    for mag in ("40", "100", "200", "400"):
        d = [r["d_px"] for r in rows if r["dataset"] == f"BreakHis{mag}x" and r["d_px"]]
        if d:
            lines.append(f"BreakHis {mag}x: {len(d)} images, median nucleus {statistics.median(d):.1f} px")
    cost = [r["s"] for r in known if r["scale"] == 1]
    lines.append(f"cost per unreduced image: median {statistics.median(cost):.2f} s, max {max(cost):.2f} s")
    return "\n".join(lines)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--every", type=int, default=4, help="every N-th GlaS image")
    ap.add_argument("--out", type=Path, help="store the rows (JSON) here")
    ap.add_argument("--rows", type=Path, help="tabulate stored rows instead of measuring")
    args = ap.parse_args()
    rows = json.loads(args.rows.read_text()) if args.rows else measure(args.every)
    if args.out:
        args.out.write_text(json.dumps(rows))
    print(table(rows))
