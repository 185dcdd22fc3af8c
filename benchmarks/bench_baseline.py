"""Hostile baseline benchmark: ``dqm audit --baseline`` against a hand-edited results.json.

A small synthetic batch is audited once; its results.json is then edited into a baseline whose
stored distributions are as large as a user may make them: each of ``--variables`` (categorical)
gets ``--categories`` categories of one slide each, and each continuous distribution
``--values`` distinct values, and it gets ``--findings`` findings that the redelivery no longer has
(every one is fixed). The batch is audited again with ``--baseline`` on it, in a process of its
own, and one JSON row is printed: the baseline's and the new results.json's sizes, the exit code,
wall time and peak memory (the child's maximum resident set)::

    .venv/bin/python benchmarks/bench_baseline.py --categories 300000 [--code OTHER_CHECKOUT]
        [--keep DIR] [--profile FILE]
    .venv/bin/python benchmarks/bench_baseline.py --variables '' --findings 100000

``--keep`` copies the run's results.json there (to compare two checkouts' outputs), ``--profile``
runs the audit under cProfile and writes its statistics to FILE.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def first_audit(folder: Path, items: int, code: Path) -> tuple[dict[str, str], list[str]]:
    """A synthetic batch of ``items`` slides in ``folder``, audited by the checkout ``code`` into
    ``folder/first``; the environment and the audit command to run it again. The commands run in
    ``folder``: ``python -m`` puts the working directory ahead of ``PYTHONPATH``, so a run from a
    checkout would test that checkout whatever ``code`` names."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    batch = folder / "batch"
    synth = [sys.executable, "-m", "dqm", "synth", str(batch), "-n", str(items), "--seed", "1"]
    subprocess.run([*synth, "--max-size", "512"], env=env, cwd=folder, check=True, capture_output=True)
    audit = [sys.executable, "-m", "dqm", "audit", str(batch), "--workers", "1"]
    subprocess.run(
        [*audit, "--out", str(folder / "first")], env=env, cwd=folder, check=False, capture_output=True
    )
    return env, audit


def hostile(
    results: Path, out: Path, variables: list[str], categories: int, values: int, findings: int = 0
) -> None:
    """``results`` with its stored distributions blown up to ``categories`` / ``values`` and
    ``findings`` findings more, on slides the batch does not have."""
    doc = json.loads(results.read_text(encoding="utf-8"))
    doc["findings"] += [
        {
            "item_id": f"GONE-{i:07d}",
            "check": "schema.annotation",
            "code": "UNKNOWN_KEY",
            "severity": "error",
            "aspect": "structure",
            "message": "unknown key 'colour'",
            "location": {"file": f"annotations/GONE-{i:07d}.json", "pointer": "/lesions/0/colour"},
        }
        for i in range(findings)
    ]
    div = doc["diversity"]
    for summary in div["categorical"]:
        if summary["name"] in variables:
            counts = {f"{summary['name']}-{i:07d}": 1 for i in range(categories)}
            summary.update(n=categories, counts=counts, shares=dict.fromkeys(counts, 1 / categories))
    for summary in div["continuous"]:
        if values:
            summary["support"] = [float(i) for i in range(values)]
            summary["support_counts"] = [1] * values
            summary["n"] = values
    doc.pop("digest", None)
    out.write_text(json.dumps(doc), encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--categories", type=int, default=300_000)
    ap.add_argument("--variables", default="institution", help="comma-separated categorical variables")
    ap.add_argument("--values", type=int, default=0, help="distinct values of each continuous variable")
    ap.add_argument("--findings", type=int, default=0, help="findings of the baseline that are fixed")
    ap.add_argument("--items", type=int, default=20, help="slides of the synthetic batch")
    ap.add_argument(
        "--code", type=Path, default=ROOT, help="the dqm checkout the command runs (before/after)"
    )
    ap.add_argument("--keep", type=Path, help="copy the run's results.json into this folder")
    ap.add_argument("--profile", type=Path, help="run the audit under cProfile, statistics to this file")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env, audit = first_audit(folder, args.items, args.code)
        baseline = folder / "baseline.json"
        variables = [v for v in args.variables.split(",") if v]
        hostile(
            folder / "first" / "results.json",
            baseline,
            variables,
            args.categories,
            args.values,
            args.findings,
        )
        cmd = [*audit, "--out", str(folder / "out"), "--baseline", str(baseline)]
        if args.profile:
            cmd[1:3] = ["-m", "cProfile", "-o", str(args.profile.resolve()), "-m", "dqm"]
        t0 = time.perf_counter()
        done = subprocess.run(cmd, env=env, cwd=tmp, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        row = {
            "categories": args.categories,
            "variables": variables,
            "values": args.values,
            "findings": args.findings,
            "baseline_mib": round(baseline.stat().st_size / 2**20, 1),
            "exit_code": done.returncode,
            "wall_s": round(wall, 1),
            "peak_rss_mib": round(peak, 1),
        }
        if done.returncode not in (0, 1, 3):
            row["stderr"] = done.stderr[-2000:]
        written = folder / "out" / "results.json"
        if written.exists():
            row["results_mib"] = round(written.stat().st_size / 2**20, 1)
        if args.keep and (folder / "out" / "results.json").exists():
            args.keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(folder / "out" / "results.json", args.keep / "results.json")
    print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
