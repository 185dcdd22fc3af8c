"""Benchmark: the validity run on a ``dqm synth`` batch, timed; the smoke target is Dice >= 0.80
per class on average over the 7 classes within 10 minutes on a 2-core CPU.

Run it alone on the machine (heavy jobs take turns through the lock)::

    flock /tmp/dqm-heavy.lock .venv/bin/python benchmarks/bench_validity.py
    flock /tmp/dqm-heavy.lock .venv/bin/python benchmarks/bench_validity.py --corrupt 0.5

The synthetic batch is built first and timed on its own; the validity time covers everything
``dqm validity`` does after that: the syntactic checks that choose the usable slides, reading,
training, whole-slide prediction, Dice and the bootstrap. ``--corrupt F`` scores a copy of the
same batch whose labels were corrupted on a share F of the slides (shuffled classes, shifted
polygons). Output: a summary on stdout and ``OUT/bench.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dqm.profile import load_profile  # noqa: E402
from dqm.runner import RunOptions, run_batch  # noqa: E402
from dqm.synth import build_batch  # noqa: E402
from dqm.validity import load_validity_profile  # noqa: E402
from dqm.validity.corrupt import corrupt_batch  # noqa: E402
from dqm.validity.run import ValidityOptions, validity_stage  # noqa: E402
from dqm.validity.train import Reporter  # noqa: E402

LIMIT_S = 600
TARGET = 0.80


class Log(Reporter):
    def stage(self, text: str) -> None:
        print(f"  [{time.strftime('%H:%M:%S')}] {text}", flush=True)

    def epoch_end(self, point) -> None:  # type: ignore[no-untyped-def]
        td = "n/a" if point.tile_dice is None else f"{point.tile_dice:.3f}"
        print(
            f"    epoch {point.epoch}: loss {point.loss:.4f}, tile Dice {td}, {point.seconds:.1f} s, "
            f"{point.tiles / point.seconds:.1f} tiles/s",
            flush=True,
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slides", type=int, default=120)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-size", type=int, default=1536)
    ap.add_argument("--profile", default="smoke", help="validity profile: smoke, standard or a YAML file")
    ap.add_argument("--device", default=None)
    ap.add_argument(
        "--corrupt", type=float, default=0.0, help="score a copy with this share of slides corrupted"
    )
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "_data" / "validity")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="synth and check workers")
    ap.add_argument(
        "--no-clinical",
        action="store_true",
        help="skip the clinical-table expectations (great-expectations; a GPU image may lack it): "
        "on a defect-free synth batch they find nothing",
    )
    args = ap.parse_args()

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    batch = out / f"batch-{args.slides}-{args.seed}-{args.max_size}"
    t0 = time.perf_counter()
    if not (batch / "manifest.csv").is_file():
        build_batch(batch, args.slides, args.seed, 0.0, args.max_size, args.workers, force=True)
        synth_s = time.perf_counter() - t0
    else:
        synth_s = None
    label = "clean"
    if args.corrupt > 0:
        bad = out / f"{batch.name}-corrupt-{args.corrupt:g}"
        done = corrupt_batch(batch, bad, fraction=args.corrupt, seed=args.seed, force=True)
        print(
            f"corrupted {len(done)} of {args.slides} slides: {sum(c.kind == 'class' for c in done)} class, "
            f"{sum(c.kind == 'shift' for c in done)} shift"
        )
        batch, label = bad, f"corrupt {args.corrupt:g}"
    run_dir = out / f"run-{batch.name}-{Path(args.profile).stem}"
    shutil.rmtree(run_dir, ignore_errors=True)
    prof = load_validity_profile(args.profile)
    dataset_profile = load_profile()
    print(
        f"batch {batch} ({label}), profile {prof.name}; synth {'cached' if synth_s is None else f'{synth_s:.1f} s'}"
    )

    t1 = time.perf_counter()
    run = run_batch(batch, dataset_profile, RunOptions(workers=args.workers, clinical=not args.no_clinical))
    checks_s = time.perf_counter() - t1
    v = validity_stage(run, None, ValidityOptions(prof, run_dir, device=args.device, reporter=Log()))
    total_s = time.perf_counter() - t1

    print(f"\n{'class':8} {'Dice':>6} {'95 % CI':>13} {'slides':>6}")
    for cls, d in v.dice_per_class.items():
        ci = "-" if d.ci_low is None else f"{d.ci_low:.3f}-{d.ci_high:.3f}"
        dice = "-" if d.dice is None else f"{d.dice:.3f}"
        print(f"{cls:8} {dice:>6} {ci:>13} {d.n_slides:>6}")
    t = v.timing
    assert t is not None
    mean = v.mean_dice or 0.0
    ci = "no interval" if v.mean_ci_low is None else f"95 % CI {v.mean_ci_low:.3f}-{v.mean_ci_high:.3f}"
    print(
        f"\nmean Dice {mean:.3f} ({ci}), "
        f"{v.n_scored} held-out slides, {len(v.excluded)} left out; passed={v.passed}"
    )
    print(
        f"time: validity {total_s:.1f} s (checks {checks_s:.1f} s, prepare {t.prepare_s:.1f} s, "
        f"train {t.train_s:.1f} s, predict {t.infer_s:.1f} s); "
        f"{t.tiles_per_s or 0:.1f} tiles/s, {t.epoch_s or 0:.1f} s/epoch; device {v.device}, "
        f"{v.cpu_threads} CPU threads, {os.cpu_count()} cores"
    )
    if v.device == "cuda":
        import torch

        peak = torch.cuda.max_memory_allocated() / 2**30
        print(f"GPU: {torch.cuda.get_device_name(0)}, peak memory allocated {peak:.2f} GiB")
    ok = mean >= TARGET and total_s <= LIMIT_S
    if label == "clean" and prof.name == "smoke":
        print(f"smoke target (mean Dice >= {TARGET} within {LIMIT_S} s): {'MET' if ok else 'NOT MET'}")
    summary = {
        "batch": str(batch),
        "label": label,
        "slides": args.slides,
        "seed": args.seed,
        "max_size": args.max_size,
        "profile": prof.name,
        "synth_s": synth_s,
        "checks_s": checks_s,
        "validity_s": total_s,
        "timing": t.model_dump(),
        "mean_dice": v.mean_dice,
        "mean_ci": [v.mean_ci_low, v.mean_ci_high],
        "dice_per_class": {c: d.model_dump() for c, d in v.dice_per_class.items()},
        "passed": v.passed,
        "n_scored": v.n_scored,
        "excluded": len(v.excluded),
        "suspicious": [s.model_dump() for s in v.suspicious],
        "device": v.device,
        "cpu_threads": v.cpu_threads,
        "machine": {
            "cores": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "versions": v.versions,
    }
    (out / f"bench-{run_dir.name}.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
