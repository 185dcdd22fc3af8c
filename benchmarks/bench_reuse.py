"""Benchmark: one pass reused — ``dqm sample --results`` on a lot of tiny slides (issue 13 §3).

One ``dqm audit LOT --out OUT --stages syntactic`` (all cores, the default cache), then, timed end
to end (process start to exit) as a user runs them:

* ``dqm sample LOT --results OUT/results.json``: the plan drawn from the audit's items and findings,
  the drawn slides' records from its cache; target from a 34,376-slide result: <= 10 s;
* ``dqm audit LOT --results OUT/results.json --stages syntactic,diversity``: every item's record
  from the cache, the batch checks and the diversity stage run again.

Then the parts of ``sample --results`` that grow with the lot, timed in this process: reading
results.json and the batch fingerprint (discovery, a SHA-256 of every annotation file, the quick
print of every slide) that decides whether the result still stands for the batch. ``--fresh`` also
times a plain ``dqm sample LOT`` (the full pass) for comparison.

Measured (2026-12-04, this project's 2 shared cores, load average 7-10, 5,000 slides; not run at
34,376: building and auditing that lot takes longer than there was time for): audit 124.0 s;
sample --results 7.4 s (5.2 and 5.9 s in two more runs; 11.6 s before the batch was walked once
and its listed files no longer resolved again); audit --results with diversity 30.2 s (24.4 % of
the pass; the clinical table's great_expectations import and the cache keys dominate, as in
bench_cache.py). Of sample --results, the fingerprint grows with the lot: 1.44 s (0.29 ms per
slide), results.json 0.32 s; projected to 34,376 slides 17.7 s (the rest as measured), which
misses the 10 s target on this machine.

Usage: python benchmarks/bench_reuse.py [--items 5000] [--data benchmarks/_data/reuse] [--fresh]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_cache import lot  # noqa: E402 (the same lot of tiny slides)

TARGET_ITEMS = 34_376


def dqm(*args: str) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "dqm", *args], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(
            f"dqm {args[0]} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return elapsed


def parts(batch: Path, results: Path) -> dict[str, float]:
    """Seconds of the parts of ``sample --results`` that grow with the lot, in this process."""
    from dqm.results import load_result
    from dqm.syntactic.accuracy import batch_fingerprint

    times = {}
    start = time.perf_counter()
    load_result(results)
    times["read results.json"] = time.perf_counter() - start
    start = time.perf_counter()
    batch_fingerprint(batch)
    times["batch fingerprint"] = time.perf_counter() - start
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--data", type=Path, default=ROOT / "benchmarks" / "_data" / "reuse")
    parser.add_argument("--fresh", action="store_true", help="Also time a plain dqm sample (the full pass).")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    batch = lot(args.data / "lot", args.items)
    print(f"lot: {args.items} slides ({time.perf_counter() - t0:.1f} s to build or find)", flush=True)
    out = args.data / "out"
    shutil.rmtree(out, ignore_errors=True)
    results = out / "audit" / "results.json"
    first = dqm("audit", str(batch), "--out", str(results.parent), "--stages", "syntactic")
    print(f"audit (the one pass):               {first:7.1f} s", flush=True)
    sample = dqm("sample", str(batch), "--out", str(out / "sample"), "--results", str(results))
    scale = TARGET_ITEMS / args.items
    print(f"sample --results:                   {sample:7.1f} s", flush=True)
    reused = dqm(
        "audit",
        str(batch),
        "--out",
        str(out / "again"),
        "--results",
        str(results),
        "--stages",
        "syntactic,diversity",
    )
    print(
        f"audit --results (+ diversity):      {reused:7.1f} s  = {reused / first:6.1%} of the pass",
        flush=True,
    )
    if args.fresh:
        fresh = dqm("sample", str(batch), "--out", str(out / "fresh"))
        print(f"sample (full pass):                 {fresh:7.1f} s", flush=True)
    grows = parts(batch, results)
    for name, seconds in grows.items():
        print(f"  of which {name:<24} {seconds:7.2f} s  ({seconds / args.items * 1e3:.3f} ms per item)")
    rest = sample - sum(grows.values())
    projected = rest + sum(grows.values()) * scale
    print(
        f"sample --results projected to {TARGET_ITEMS:,} items (the parts above × {scale:.2f}, the rest as "
        f"measured): {projected:.1f} s; all of it × {scale:.2f} (an upper bound): {sample * scale:.1f} s "
        "(target <= 10 s)"
    )
    print(f"cores: {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()}")


if __name__ == "__main__":
    main()
