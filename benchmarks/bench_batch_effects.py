"""Is a colour-shifted institution flagged, and an unshifted batch not? Site predictability on real H&E.

    .venv/bin/python benchmarks/bench_batch_effects.py [--seeds 3] [--split image|patient] [--real PATH]
    .venv/bin/python benchmarks/bench_batch_effects.py --scale 1000,5000,34400
    .venv/bin/python benchmarks/bench_batch_effects.py --scale 2000,5000 --serial-scanners [--per-serial 2]

The 165 GlaS images (real H&E of colon glands, ``segmentation/glas`` under the real-data folder) are
split into four fake institutions: ``--split image`` (default) deals the images out after a seeded
shuffle, so the institutions are exchangeable; ``--split patient`` deals out the patients, so one
patient's images (cut from one slide, stained together) stay in one institution and each fake
institution carries its few patients' staining. The GlaS grade (benign / malignant) is the class.
Each image is written as a PNG and probed like any slide (:func:`dqm.slide_io.probe_slide`: tissue
mask and stain descriptors). Two batches per seed: *shifted*, where the third institution's images
were re-stained in optical-density space (OD × (1.12, 0.97, 0.88) per channel: a redder, less blue
H&E, as from another eosin lot or scanner colour profile), and *unshifted*. The site predictability
of :mod:`dqm.diversity.batch_effects` runs on each with the default profile (19 permutations, 5 folds,
200 bootstrap resamples). Reports the macro AUC, its interval, each institution's AUC, the
permutation baseline, the decision and the descriptors that carry it, and the cost of the stain
descriptors per image. Bounded: about a minute on two cores.

``--scale`` times the whole analysis (both predictions and the comparisons) on synthetic descriptors
instead: four institutions, each descriptor drawn around the GlaS medians (SD 5 % of the value), the
third institution's red eosin OD moved by one SD, every institution with its own scanner;
``--serial-scanners`` names each slide's scanner with a serial number of its own (free text: a
category a slide), which costs the acquisition prediction one one-hot column for all of them
(:data:`~dqm.diversity.batch_effects.MIN_ONE_HOT`): it is not evaluated, no descriptor telling the
slides apart; ``--per-serial 2`` gives each serial number two slides of one institution, a column
each up to :data:`~dqm.diversity.batch_effects.MAX_ONE_HOT` (the acquisition metadata then predict
the institution). Times are CPU seconds of this process.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from dqm.diversity.batch_effects import batch_effects, site_prediction
from dqm.diversity.table import build_table
from dqm.facts import ItemSummary, SlideSummary, StainSummary
from dqm.pixels.stain import stain_descriptors
from dqm.profile import load_profile
from dqm.slide_io import probe_slide, tissue_from_rgba

SHIFT = np.array([1.12, 0.97, 0.88])
SITES = ("site-A", "site-B", "site-C", "site-D")
SHIFTED_SITE = "site-C"


def shifted(rgb: np.ndarray) -> np.ndarray:
    """The image re-stained: each channel's optical density scaled by :data:`SHIFT`."""
    od = -np.log((rgb.astype(np.float64) + 1.0) / 256.0)
    return np.clip(256.0 * np.exp(-od * SHIFT) - 1.0, 0, 255).round().astype(np.uint8)


def descriptors(rgb: np.ndarray, tmp: Path, name: str) -> StainSummary | None:
    """The stain descriptors the probe finds in the image written as a PNG."""
    path = tmp / f"{name}.png"
    Image.fromarray(rgb).save(path)
    probe = probe_slide(path, path.name)
    return probe.tissue.stain if probe.tissue is not None else None


def assign(keys: list[str], seed: int) -> dict[str, str]:
    """Each distinct key (an image or a patient) to an institution: seeded shuffle, round-robin."""
    rng = np.random.default_rng(seed)
    order = sorted(set(keys))
    rng.shuffle(order)
    return {p: SITES[i % len(SITES)] for i, p in enumerate(order)}


def scale(sizes: list[int], serial: bool = False, per_serial: int = 1) -> None:
    """Time :func:`batch_effects` on synthetic descriptors of ``sizes`` slides (``serial``: each
    ``per_serial`` slides of an institution with a scanner named with a serial number of their own)."""
    profile = load_profile()
    centre = {
        "h_od_r": 0.55, "h_od_g": 0.80, "h_od_b": 0.25, "e_od_r": 0.30, "e_od_g": 0.85, "e_od_b": 0.40,
        "angle_spread": 20.0, "od_mean": 0.5, "h_p50": 0.6, "h_p99": 1.8, "e_p50": 0.45, "e_p99": 1.3,
        "background": 0.93,
    }  # fmt: skip
    rng = np.random.default_rng(0)
    for n in sizes:
        items = []
        for i in range(n):
            site = SITES[i % len(SITES)]
            values = {k: rng.normal(v, 0.05 * v) for k, v in centre.items()}
            if site == SHIFTED_SITE:
                values["e_od_r"] += 0.05 * centre["e_od_r"]
            number = i // (len(SITES) * per_serial)
            scanner = f"scanner of {site} SN{number:06d}" if serial else f"scanner of {site}"
            slide = SlideSummary(mpp=0.5, scanner=scanner, stain=StainSummary(**values))
            items.append(
                ItemSummary(
                    slide_id=f"S{i}", institution=site, diagnosis=("NS", "BCC")[i % 3 == 0], slide=slide
                )
            )
        table = build_table(items, profile)
        t0, c0 = time.perf_counter(), time.process_time()
        be = batch_effects(table, profile.diversity)
        took, cpu = time.perf_counter() - t0, time.process_time() - c0
        acq = be.acquisition
        said = f"AUC {acq.auc:.2f}, {acq.decision}" if acq.auc is not None else f"not evaluated: {acq.reason}"
        print(
            f"{n} slides: {took:.1f} s wall, {cpu:.1f} s CPU (pixel: {be.pixel.n} slides used, AUC {be.pixel.auc:.2f}, {be.pixel.decision}; "
            f"acquisition {said})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--split", choices=("image", "patient"), default="image")
    default = Path(os.environ.get("DQM_REAL_DATA", Path(__file__).resolve().parents[2] / "shared/data/real"))
    parser.add_argument("--real", type=Path, default=default)
    parser.add_argument(
        "--scale", help="comma-separated slide counts: time the analysis on synthetic descriptors"
    )
    parser.add_argument(
        "--serial-scanners", action="store_true", help="with --scale: a scanner name of its own per slide"
    )
    parser.add_argument(
        "--per-serial", type=int, default=1, help="with --serial-scanners: slides a serial number"
    )
    args = parser.parse_args()
    if args.scale:
        scale([int(n) for n in args.scale.split(",")], args.serial_scanners, args.per_serial)
        return
    glas = args.real / "segmentation" / "glas"
    with (glas / "metadata.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    profile = load_profile()
    settings = profile.diversity.batch_effects
    assert settings is not None
    images = {
        r["name"]: np.asarray(Image.open(glas / "images" / f"{r['name']}.png").convert("RGB")) for r in rows
    }
    cost = []
    for rgb in list(images.values())[:40]:
        rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
        mask, _ = tissue_from_rgba(rgba)
        t0 = time.perf_counter()
        stain_descriptors(rgba, mask)
        cost.append(time.perf_counter() - t0)
    print(
        f"stain descriptors: median {1000 * statistics.median(cost):.1f} ms, max {1000 * max(cost):.1f} ms "
        f"per image ({rgb.shape[1]}x{rgb.shape[0]} px class, {len(cost)} images)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        plain = {n: descriptors(rgb, Path(tmp), n) for n, rgb in images.items()}
        restained = {n: descriptors(shifted(rgb), Path(tmp), n + "-shifted") for n, rgb in images.items()}
        key = "name" if args.split == "image" else "patient_id"
        print(
            f"{len(rows)} images of {len({r['patient_id'] for r in rows})} patients, "
            f"{sum(v is None for v in plain.values())} without descriptors; institutions by {args.split}"
        )
        print(
            "seed  batch      AUC   95% CI      site AUCs (A B C D)       perm mean  p     site p  decision  carried by"
        )
        for seed in range(args.seeds):
            site_of = assign([r[key] for r in rows], seed)
            for batch in ("unshifted", "shifted"):
                items = []
                for r in rows:
                    site = site_of[r[key]]
                    stain = (
                        restained[r["name"]]
                        if batch == "shifted" and site == SHIFTED_SITE
                        else plain[r["name"]]
                    )
                    items.append(
                        ItemSummary(
                            slide_id=r["name"],
                            institution=site,
                            diagnosis=r["grade_glas"],
                            slide=SlideSummary(stain=stain),
                        )
                    )
                t0 = time.perf_counter()
                p = site_prediction(
                    build_table(items, profile), "pixel", settings, profile.diversity.alpha, seed
                )
                took = time.perf_counter() - t0
                sites = " ".join(f"{p.site_aucs.get(s, float('nan')):.2f}" for s in SITES)
                print(
                    f"{seed:>4}  {batch:<9}  {p.auc:.2f}  {p.ci_low:.2f}–{p.ci_high:.2f}  {sites:<24}  "
                    f"{p.permutation_auc:.2f}       {p.permutation_p:.2f}  {p.site_permutation_p:.2f}    "
                    f"{p.decision:<8}  {', '.join(p.carriers[:3]) or '–'}  ({p.n} slides, {took:.1f} s)"
                )


if __name__ == "__main__":
    main()
