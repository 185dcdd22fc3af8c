"""Artefact detection on real H&E: recall per injected artefact, false positives on clean slides,
and what the measure costs per slide.

    .venv/bin/python benchmarks/bench_artefacts.py [--slides 60] [--out DIR]

Clean slides: every third GlaS image (colon H&E at 20x, 0.62 µm/px) and 1024-pixel regions cut
from the real whole-slide images (CMU-1-Small-Region, the TCGA region, the skin photograph), each
laid on a margin of glass (16 % of its side, light grey with noise) as a slide has. Into a copy
of each clean slide one artefact is injected with a known mask (:func:`inject`); every slide is
written as PNG and goes through the real path: ``probe_slide`` (Pillow backend: tissue mask,
artefacts, blur tiles at level 0) and the ``artefacts.slide`` check with the built-in profile's
thresholds. A slide is flagged for a kind when the check reports its code; a clean slide with any
artefact finding is a false positive. Mask recall: the share of the injected mask's working
pixels the detector marked with the kind (pen, fold, bubble, debris; the others are global).
Then the cost: ``probe_slide`` on the real slides with and without the artefact measure.

The thresholds were calibrated on the first 30 to 40 of these same clean slides and their
injections (there is no held-out set): the figures are optimistic for another collection.

How injected artefacts differ from real ones: pens are one stroke of a translucent ink colour
multiplied into the image (real ink pools, fades and changes hue over tissue); folds are a band
whose optical density is doubled (real folds also crease and blur); bubbles are a grey rim with a
lightened inside (real rims refract, and coverslip edges are straight lines: not injected);
staining is a global change of optical density (real mis-staining is often one stain only or
uneven); debris is dark specks (real debris also includes fibres and hair); blur is a Gaussian
blur of the whole slide (real focus loss is often local, and the probe samples only 8 tiles).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from dqm.pixels.artefacts import KINDS, LESION_KINDS, WORK_SIDE
from dqm.profile import load_profile
from dqm.slide_io import ProbeOptions, SlideProbe, probe_slide, tissue_from_rgba
from validators.artefacts import CODES
from validators.engine import configure

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"
GLASS = (242, 241, 238)
FOLD_FACTOR = 3.0
"""A fold's optical density: three layers of the section."""
OVER_FACTOR = 3.0
UNDER_FACTOR = 0.25
"""Global stain strength of the over- and under-stained slides (optical density times this)."""
INKS = {"blue": (40, 90, 210), "green": (60, 170, 80), "red": (225, 35, 45), "black": (25, 25, 30)}


MPP = {"CMU": 0.499, "tcga": 0.5, "skin": 1.0}
"""µm per pixel given to the probe (a PNG states none): CMU-1's header; the TCGA region states
none, 20x assumed; the skin photograph is named 10x; GlaS is 20x (0.62)."""
GLAS_MPP = 0.62


def clean_slides(n: int) -> list[tuple[str, np.ndarray]]:
    """``n`` clean RGB slides: GlaS images and regions of the real slides, on a glass margin."""
    import openslide

    regions: list[tuple[str, np.ndarray]] = []
    for name in ("CMU-1-Small-Region.svs", "tcga-cr-7395-01a-01-ts1.svs"):
        with openslide.OpenSlide(str(REAL / "slides" / name)) as s:
            w, h = s.dimensions
            for k, (fx, fy) in enumerate(((0.1, 0.1), (0.5, 0.5), (0.2, 0.6))):
                x, y = int((w - 1024) * fx), int((h - 1024) * fy)
                img = s.read_region((x, y), 0, (1024, 1024)).convert("RGB")
                regions.append((f"{name}#{k}", np.asarray(img)))
    skin = Image.open(REAL / "images" / "Normal_Epidermis_and_Dermis_with_Intradermal_Nevus_10x.jpg")
    skin = skin.convert("RGB")
    for k, (x, y) in enumerate(((0, 0), (skin.width // 2, skin.height // 3))):
        regions.append((f"skin#{k}", np.asarray(skin.crop((x, y, x + 1024, y + 1024)))))
    glas = sorted((REAL / "segmentation" / "glas" / "images").glob("*.png"))[::3]
    out = regions + [(p.stem, np.asarray(Image.open(p).convert("RGB"))) for p in glas]
    rng = np.random.default_rng(0)
    return [(name, _on_glass(img, rng)) for name, img in out[:n]]


def _on_glass(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape[:2]
    m = int(0.16 * max(h, w))
    canvas = np.empty((h + 2 * m, w + 2 * m, 3), np.float32)
    canvas[:] = GLASS
    canvas += rng.normal(0, 2.0, canvas.shape)
    canvas[m : m + h, m : m + w] = img
    return np.clip(canvas, 0, 255).astype(np.uint8)


def _od_scale(img: np.ndarray, factor: float, where: np.ndarray | None = None) -> np.ndarray:
    """Optical density times ``factor`` (Beer-Lambert: a thicker or darker stain layer)."""
    out = img.astype(np.float32)
    scaled = 255.0 * ((out + 1.0) / 256.0) ** factor
    if where is None:
        return np.clip(scaled, 0, 255).astype(np.uint8)
    out[where] = scaled[where]
    return np.clip(out, 0, 255).astype(np.uint8)


def _tissue_point(tissue: np.ndarray, rng: np.random.Generator) -> tuple[int, int]:
    rows, cols = np.nonzero(tissue)
    k = int(rng.integers(rows.size))
    return int(cols[k]), int(rows[k])


def _stroke(shape: tuple[int, ...], pts: list[tuple[int, int]], width: int) -> np.ndarray:
    layer = Image.new("L", (shape[1], shape[0]), 0)
    ImageDraw.Draw(layer).line(pts, fill=255, width=width, joint="curve")
    return np.asarray(layer) > 0


def inject(
    img: np.ndarray, kind: str, rng: np.random.Generator, ink: str = "blue"
) -> tuple[np.ndarray, np.ndarray]:
    """A copy of ``img`` with one artefact of ``kind``, and the artefact's mask."""
    h, w = img.shape[:2]
    side = max(h, w)
    tissue, _ = tissue_from_rgba(img)
    out = img.astype(np.float32)
    if kind == "pen":
        pts = [_tissue_point(tissue, rng) for _ in range(3)]
        mask = _stroke(img.shape, pts, max(6, int(0.02 * side)))
        colour = np.array(INKS[ink], np.float32) / 255.0
        out[mask] = out[mask] * (0.1 + 0.9 * colour)
    elif kind == "fold":
        (x0, y0), angle = _tissue_point(tissue, rng), rng.uniform(0, np.pi)
        d = side * np.array([np.cos(angle), np.sin(angle)])
        band = _stroke(img.shape, [(x0 - d[0], y0 - d[1]), (x0 + d[0], y0 + d[1])], int(0.06 * side))
        mask = band & tissue
        return _od_scale(img, FOLD_FACTOR, mask), mask
    elif kind == "bubble":
        (cx, cy), r = _tissue_point(tissue, rng), 0.12 * side
        yy, xx = np.mgrid[:h, :w]
        dist = np.hypot(xx - cx, yy - cy)
        mask = dist <= r
        rim = np.abs(dist - r) <= max(2.0, 0.004 * side)
        inside = mask & ~rim
        out[inside] = out[inside] * 0.65 + 235.0 * 0.35
        out[rim] = out[rim] * 0.2 + 60.0 * 0.8
    elif kind == "overstain":
        return _od_scale(img, OVER_FACTOR), tissue
    elif kind == "understain":
        return _od_scale(img, UNDER_FACTOR), tissue
    elif kind == "debris":
        layer = Image.new("L", (w, h), 0)
        draw = ImageDraw.Draw(layer)
        glass = ~np.asarray(Image.fromarray(tissue).filter(ImageFilter.MaxFilter(15)))
        rows, cols = np.nonzero(glass)
        for _ in range(40):
            k = int(rng.integers(rows.size))
            rx, ry = rng.uniform(0.004, 0.012, 2) * side
            draw.ellipse((cols[k] - rx, rows[k] - ry, cols[k] + rx, rows[k] + ry), fill=255)
        mask = (np.asarray(layer) > 0) & glass
        out[mask] = (70, 55, 45)
    elif kind == "blur":
        blurred = Image.fromarray(img).filter(ImageFilter.GaussianBlur(3))
        return np.asarray(blurred), tissue
    else:
        raise ValueError(kind)
    return np.clip(out, 0, 255).astype(np.uint8), mask


def _probe(img: np.ndarray, folder: Path, name: str, source: str) -> SlideProbe:
    path = folder / f"{name}.png"
    Image.fromarray(img).save(path, compress_level=1)
    return probe_slide(path, path.name, ProbeOptions(mpp=MPP.get(source[:4].rstrip("-#"), GLAS_MPP)))


def _flags(probe: SlideProbe, params: object) -> set[str]:
    found = probe.artefacts
    if found is None or not found.tissue_px:
        return set()
    return {k for k in KINDS if found.shares[k] > getattr(params, k)}


def _mask_recall(probe: SlideProbe, kind: str, mask: np.ndarray) -> float | None:
    found = probe.artefacts
    if found is None or kind not in LESION_KINDS or not mask.any():
        return None
    fh, fw = found.flags.shape
    rows = (np.arange(fh)[:, None] * found.downsample[1] + found.downsample[1] / 2).astype(int)
    cols = (np.arange(fw)[None, :] * found.downsample[0] + found.downsample[0] / 2).astype(int)
    truth = mask[np.clip(rows, 0, mask.shape[0] - 1), np.clip(cols, 0, mask.shape[1] - 1)]
    if not truth.any():
        return None
    return float(found.mask(kind)[truth].mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slides", type=int, default=60)
    args = parser.parse_args()
    params = next(c.params for c in configure(load_profile(None)) if c.id == "artefacts.slide")
    slides = clean_slides(args.slides)
    hits: dict[str, list[bool]] = defaultdict(list)
    pen_hits: dict[str, list[bool]] = defaultdict(list)
    mask_recall: dict[str, list[float]] = defaultdict(list)
    others: dict[str, list[int]] = defaultdict(list)
    false_pos: list[str] = []
    per_kind_fp: dict[str, int] = defaultdict(int)
    times: list[float] = []
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n, (name, img) in enumerate(slides):
            rng = np.random.default_rng(n)
            probe = _probe(img, folder, f"clean{n}", name)
            assert probe.artefacts is not None, probe.tissue_note or probe.open_error
            times.append(probe.artefacts.elapsed_s)
            flagged = _flags(probe, params)
            if flagged:
                false_pos.append(f"{name}: {', '.join(sorted(flagged))}")
                for k in flagged:
                    per_kind_fp[k] += 1
            for kind in KINDS:
                ink = tuple(INKS)[n % len(INKS)]
                dirty, mask = inject(img, kind, rng, ink)
                probe = _probe(dirty, folder, f"{kind}{n}", name)
                flagged = _flags(probe, params)
                hits[kind].append(kind in flagged)
                others[kind].append(len(flagged - {kind}))
                if kind == "pen":
                    pen_hits[ink].append("pen" in flagged)
                got = _mask_recall(probe, kind, mask)
                if got is not None:
                    mask_recall[kind].append(got)
    elapsed = time.perf_counter() - t_start
    print(
        f"{len(slides)} clean slides ({sum(not s[0].startswith(('CMU', 'tcga', 'skin')) for s in slides)} GlaS), "
        f"working image <= {WORK_SIDE} px, thresholds of the built-in profile; {elapsed:.0f} s in all\n"
    )
    print(
        "| artefact | code | threshold | recall | mask recall (median) | slides also flagged for another kind |"
    )
    print("|---|---|---|---|---|---|")
    for kind in KINDS:
        got = hits[kind]
        mr = f"{statistics.median(mask_recall[kind]):.2f}" if mask_recall[kind] else "n/a (global)"
        print(
            f"| {kind} | `{CODES[kind]}` | {getattr(params, kind):g} | {sum(got)}/{len(got)} = "
            f"{sum(got) / len(got):.2f} | {mr} | {sum(1 for o in others[kind] if o)} |"
        )
    print("\npen recall by ink: " + ", ".join(f"{c} {sum(v)}/{len(v)}" for c, v in pen_hits.items()))
    print(
        f"\nfalse positives on clean slides: {len(false_pos)}/{len(slides)} = {len(false_pos) / len(slides):.3f}"
        + (f" (by kind: {dict(per_kind_fp)})" if false_pos else "")
    )
    for line in false_pos:
        print(f"  {line}")
    print(
        f"\nartefact measure on the clean slides: median {1000 * statistics.median(times):.0f} ms, "
        f"max {1000 * max(times):.0f} ms"
    )
    print("\ncost per real slide (probe_slide, median of 3, ms): with artefacts / without / difference")
    for path in sorted((REAL / "slides").glob("*.svs")) + sorted((REAL / "images").glob("*.jpg")):
        if path.name in ("broken.svs", "unreadable.svs", "small.svs"):
            continue
        mpp = MPP.get(path.name[:4].rstrip("-#"))
        t_with = statistics.median(_time(path, ProbeOptions(mpp=mpp)) for _ in range(3))
        t_without = statistics.median(_time(path, ProbeOptions(artefacts=False, mpp=mpp)) for _ in range(3))
        print(
            f"  {path.name}: {1000 * t_with:.0f} / {1000 * t_without:.0f} / {1000 * (t_with - t_without):+.0f}"
        )


def _time(path: Path, options: ProbeOptions) -> float:
    t0 = time.perf_counter()
    probe_slide(path, path.name, options)
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
