"""`dqm validate` on synthetic slides with each executor: this machine's process pool against a
Dask LocalCluster of the same number of worker processes.

    python benchmarks/bench_executors.py [--slides 300] [--workers 2]

Builds ``dqm synth -n SLIDES --max-size 512`` in a temporary folder, then runs ``dqm validate``
once with ``--executor local`` and once with ``--executor dask`` (each in its own process, so
start-up counts as it does for a user: the Dask run includes starting its cluster). Prints both
wall times and whether the two printed the same findings.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DQM = [sys.executable, "-m", "dqm"]
TIMEOUT_S = 600  # bounded: one run never takes longer than this


def validate(batch: Path, executor: str, workers: int) -> tuple[float, str]:
    args = [*DQM, "validate", str(batch), "-j", str(workers), "--executor", executor, "--limit", "100000"]
    t0 = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    elapsed = time.perf_counter() - t0
    if done.returncode not in (0, 1):
        raise SystemExit(
            f"dqm validate --executor {executor} failed ({done.returncode}): {done.stderr[-2000:]}"
        )
    return elapsed, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slides", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        batch = Path(tmp, "batch")
        t0 = time.perf_counter()
        synth = [*DQM, "synth", str(batch), "-n", str(args.slides), "--max-size", "512"]
        subprocess.run(synth, check=True, capture_output=True, timeout=TIMEOUT_S)
        print(f"synth: {args.slides} slides in {time.perf_counter() - t0:.1f} s")
        local_s, local_out = validate(batch, "local", args.workers)
        dask_s, dask_out = validate(batch, "dask", args.workers)
    print(f"dqm validate, {args.workers} workers, {args.slides} slides")
    print(f"  local pool:          {local_s:6.1f} s")
    print(f"  Dask LocalCluster:   {dask_s:6.1f} s  ({dask_s / local_s:.2f}x)")
    print(f"  same findings: {local_out == dask_out}")


if __name__ == "__main__":
    main()
