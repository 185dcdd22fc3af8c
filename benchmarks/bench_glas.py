"""Benchmark: validity on real H&E (GlaS), its published split, and labels corrupted on purpose.

GlaS (Warwick-QU, MICCAI 2015; non-commercial research only) is read from ``--glas`` (default
``../shared/data/real/segmentation/glas``) and copied into a batch under ``--out`` (outside the
repository; nothing of it is kept here). Four runs of the ``smoke`` network on CPU:

1. ``patients``: dqm's own split, 30 % of the 16 patients held out; the interval resamples patients.
2. ``glas-split``: GlaS's split (train -> test A, test B), the figure that stands beside published ones.
3. ``kfold-clean``: ``--folds``-fold (default 5) cross-fitting by patient, every image scored by a model that never saw it.
4. ``kfold-corrupt``: the same on a copy whose masks were corrupted on ``--corrupt`` of the images
   (shifted, eroded, swapped between images, dealt in turn); the Dice drop and precision at k of
   the suspicion ranking (k = the number of corrupted images scored: the share of the k most
   suspicious images that are corrupted).

Run it alone on the machine (heavy jobs take turns through the lock)::

    flock /tmp/dqm-heavy.lock .venv/bin/python benchmarks/bench_glas.py [--runs patients,glas-split]

Output: a table on stdout and ``OUT/bench-glas.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dqm.profile import load_profile  # noqa: E402
from dqm.runner import RunOptions, run_batch  # noqa: E402
from dqm.validity import load_validity_profile  # noqa: E402
from dqm.validity.corrupt import corrupt_batch  # noqa: E402
from dqm.validity.models import ValidityResult  # noqa: E402
from dqm.validity.run import ValidityOptions, validity_stage  # noqa: E402

GLAS = ROOT.parent / "shared" / "data" / "real" / "segmentation" / "glas"
EXAMPLE = ROOT / "examples" / "glas"
RUNS = ("patients", "glas-split", "kfold-clean", "kfold-corrupt")


def _profile(run: str, folds: int) -> Any:
    prof = load_validity_profile("smoke")
    if run == "glas-split":
        return load_validity_profile(EXAMPLE / "validity-split.yaml")
    if run.startswith("kfold"):
        return prof.model_copy(
            update={"split": prof.split.model_copy(update={"mode": "kfold", "folds": folds})}
        )
    return prof


def _validity(batch: Path, run: str, out: Path, workers: int, folds: int) -> tuple[ValidityResult, float]:
    dataset = load_profile(EXAMPLE / "glas.yaml")
    t0 = time.perf_counter()
    checked = run_batch(batch, dataset, RunOptions(workers=workers))
    folder = out / f"run-{run}"
    shutil.rmtree(folder, ignore_errors=True)
    v = validity_stage(checked, None, ValidityOptions(_profile(run, folds), folder))
    return v, time.perf_counter() - t0


def _ci(lo: float | None, hi: float | None) -> str:
    return "-" if lo is None or hi is None else f"{lo:.3f}-{hi:.3f}"


def _figures(d: Any) -> tuple[str, dict[str, Any]]:
    """A class's pooled and mean slide Dice with intervals: a line to print, and the JSON record."""
    p = d.pooled
    assert p is not None
    line = f"pooled {p.dice or 0:.3f} ({_ci(p.ci_low, p.ci_high)})  slide {d.dice or 0:.3f} ({_ci(d.ci_low, d.ci_high)})"
    return line, {"pooled": [p.dice, p.ci_low, p.ci_high], "slide": [d.dice, d.ci_low, d.ci_high]}


def _row(name: str, v: ValidityResult, seconds: float) -> dict[str, Any]:
    line, figures = _figures(v.dice_per_class["gland"])
    print(f"{name:14} {line}  {v.n_scored:3} images scored, {len(v.excluded)} left out, {seconds:.0f} s")
    by_test_set = {}
    for sub in v.by_test_set:
        sub_line, sub_figures = _figures(sub.dice_per_class["gland"])
        print(f"  {sub.name:12} {sub_line}  {sub.n_slides} images, {sub.n_groups} patients")
        by_test_set[sub.name] = {**sub_figures, "images": sub.n_slides}
    return {
        **figures,
        "scored": v.n_scored,
        "excluded": len(v.excluded),
        "seconds": seconds,
        "split": v.split.model_dump(include={"mode", "unit"}),
        "shared_patients": [f.shared_groups for f in v.split.folds],
        "by_test_set": by_test_set,
    }


def precision_at_k(v: ValidityResult, corrupted: set[str]) -> tuple[float, int]:
    """Share of corrupted images among the k most suspicious scored images, k = corrupted scored."""
    scored = {s.slide_id for s in v.per_slide}
    k = len(corrupted & scored)
    ranked = sorted(v.per_slide, key=lambda s: (-s.suspicion, s.slide_id))[:k]
    return (sum(s.slide_id in corrupted for s in ranked) / k if k else float("nan")), k


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--glas", type=Path, default=GLAS)
    ap.add_argument("--out", type=Path, default=Path("/tmp/dqm-bench-glas"))
    ap.add_argument("--runs", default=",".join(RUNS), help=f"comma-separated, among {', '.join(RUNS)}")
    ap.add_argument("--corrupt", type=float, default=0.3, help="share of images whose masks are corrupted")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--folds", type=int, default=5, help="folds of the kfold runs")
    args = ap.parse_args()
    if not (args.glas / "metadata.csv").is_file():
        print(f"GlaS not found at {args.glas}", file=sys.stderr)
        return 2
    runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    if set(runs) - set(RUNS):
        print(f"unknown runs: {sorted(set(runs) - set(RUNS))}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    batch = args.out / "batch"
    if not (batch / "manifest.csv").is_file():
        shutil.rmtree(batch, ignore_errors=True)
        subprocess.run(
            [sys.executable, str(EXAMPLE / "build_batch.py"), "--glas", str(args.glas), "--out", str(batch)],
            check=True,
        )
    out: dict[str, Any] = {
        "corrupt_fraction": args.corrupt,
        "folds": args.folds,
        "cores": os.cpu_count(),
        "runs": {},
    }
    results: dict[str, ValidityResult] = {}
    for run in runs:
        source = batch
        corrupted: set[str] = set()
        if run == "kfold-corrupt":
            source = args.out / f"batch-corrupt-{args.corrupt:g}"
            done = corrupt_batch(
                batch,
                source,
                args.corrupt,
                seed=0,
                kinds=("shift", "erode", "swap"),
                profile=load_profile(EXAMPLE / "glas.yaml"),
                force=True,
            )
            corrupted = {c.slide_id for c in done}
            kinds = {k: sum(c.kind == k for c in done) for k in ("shift", "erode", "swap")}
            print(f"corrupted {len(done)} images: {kinds}")
            out["corrupted"] = {"n": len(done), "kinds": kinds}
        v, seconds = _validity(source, run, args.out, args.workers, args.folds)
        results[run] = v
        out["runs"][run] = _row(run, v, seconds)
        if corrupted:
            precision, k = precision_at_k(v, corrupted)
            out["runs"][run]["precision_at_k"] = precision
            out["runs"][run]["k"] = k
            print(f"  precision at k={k}: {precision:.3f}")
    if "kfold-clean" in results and "kfold-corrupt" in results:
        clean = results["kfold-clean"].dice_per_class["gland"].pooled
        bad = results["kfold-corrupt"].dice_per_class["gland"].pooled
        assert clean is not None and bad is not None and clean.dice is not None and bad.dice is not None
        out["pooled_dice_drop"] = clean.dice - bad.dice
        print(f"pooled Dice drop with {args.corrupt:.0%} corrupted masks: {clean.dice - bad.dice:.3f}")
    (args.out / "bench-glas.json").write_text(json.dumps(out, indent=1), encoding="utf-8")
    print(f"written: {args.out / 'bench-glas.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
