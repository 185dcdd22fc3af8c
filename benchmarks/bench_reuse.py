"""Benchmark: one pass reused — ``dqm sample --results`` on a lot of tiny slides (issue 13 §3).

One ``dqm audit LOT --out OUT --stages syntactic`` (all cores, the default cache), then, timed end
to end (process start to exit) as a user runs them:

* ``dqm sample LOT --results OUT/results.json``: the plan drawn from the audit's items and findings,
  the drawn slides' records from its cache; target from a 34,376-slide result: <= 10 s;
* ``dqm audit LOT --results OUT/results.json --stages syntactic,diversity``: every item's record
  from the cache, the batch checks and the diversity stage run again.

Then the parts of ``sample --results`` that grow with the lot, timed in this process: reading
results.json, discovery, and the check that decides whether the result still stands for the batch
(``dqm.reuse.refusal``: each file's size, times and inode against those the audit recorded, a file
read again only where one differs), with the fingerprint as it was computed before results 1.11
(every annotation file hashed whole, every slide's quick print) for comparison. ``--fresh`` also
times a plain ``dqm sample LOT`` (the full pass).

Measured (2026-12-04, 2 cores shared with other engineers, load average 1-3), 5,000 slides: audit
55.5 s; sample --results 1.7 s (2.4 s before the garbage collector was kept off the loaded result:
``dqm.results.collector_paused`` and the CLI's ``gc.freeze()``); audit --results with diversity 13.9 s
(25.0 % of the pass). Of sample --results, results.json 0.15 s (0.031 ms per slide), discovery 0.16 s,
the refusal check 0.20 s (0.039 ms per slide; reading every file as before: 0.92 s). Projected to
34,376 slides (the parts that grow × 6.88, the rest as measured): 4.7 s.

Measured at 34,376 slides (``--items 34376``, the same day and load; 287 s to build the lot): audit
369.6 s; sample --results 7.4 s before, 5.0 s after (same lot, runs alternated): the 10 s target is
met. Where the time goes (cProfile, which inflates the total to 7.4 s): discovery 2.2 s (the walk,
a stat of each of 68,752 files, 1.2 s; the manifest 0.8 s), the refusal check 1.1 s (each file's stat
again, 8 threads), results.json 0.9 s (69 MB: parsing 0.3 s, validating 0.5 s), masking the written
files 0.6 s (the 319 drawn slides' thumbnails, data URIs, are most of the sheet's bytes and the masker
scans them with the rest), the sheet's thumbnails 0.4 s, the plan 0.35 s, imports 0.4 s.

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


def parts(batch: Path, results: Path) -> tuple[dict[str, float], float]:
    """Seconds of the parts of ``sample --results`` that grow with the lot, in this process, and
    of the fingerprint as it was before results 1.11 (every file read), for comparison."""
    from dqm.batch import discover
    from dqm.profile import load_profile
    from dqm.results import load_result
    from dqm.reuse import refusal
    from dqm.syntactic.accuracy import batch_fingerprint

    times = {}
    start = time.perf_counter()
    result = load_result(results)
    times["read results.json"] = time.perf_counter() - start
    start = time.perf_counter()
    discovery = discover(batch)
    times["discovery"] = time.perf_counter() - start
    start = time.perf_counter()
    assert refusal(result, results, batch, load_profile(None), discovery) is None
    times["refusal check (stats)"] = time.perf_counter() - start
    start = time.perf_counter()
    batch_fingerprint(batch, discovery)
    return times, time.perf_counter() - start


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
    grows, every_file = parts(batch, results)
    for name, seconds in grows.items():
        print(f"  of which {name:<24} {seconds:7.2f} s  ({seconds / args.items * 1e3:.3f} ms per item)")
    print(f"  (the fingerprint reading every file, as before results 1.11: {every_file:.2f} s)")
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
