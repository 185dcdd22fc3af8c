"""Verdict file benchmark: ``dqm review ingest`` of one verdict file of a million rows.

The plan is drawn from a lot of ``--lot`` synthetic slides (no batch on disk); the verdict file
(CSV or JSON) judges every slide of the lot again and again, ``--rows`` rows in all, by two
reviewers: the sampled slides' first verdicts count, every other row is a finding (a slide not
drawn for review, a slide judged again), the shape of a review tool's full export handed in by
mistake. Runs the command in a process of its own and prints one JSON row: the file's size, the
command's exit code, wall time and peak memory (the child's maximum resident set)::

    .venv/bin/python benchmarks/bench_verdicts.py --rows 1000000 --format csv [--code OTHER_CHECKOUT]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def write_inputs(folder: Path, lot_size: int, rows: int, fmt: str) -> tuple[Path, Path]:
    from dqm.facts import ItemSummary
    from dqm.semantic.models import PlanBatch
    from dqm.semantic.planfile import PlanOptions, build_plan, write_plan

    items = [
        ItemSummary(slide_id=f"S{i:06d}", diagnosis="NS", institution="Seoul-A") for i in range(lot_size)
    ]
    batch = PlanBatch(
        path="/nowhere",
        fingerprint="f" * 64,
        n_items=lot_size,
        profile="dermatopathology",
        profile_sha256="0",
    )
    plan = build_plan(items, batch, PlanOptions())
    write_plan(plan, folder / "plan")
    path = folder / f"verdicts.{fmt}"
    records = (
        {
            "slide_id": f"S{r % lot_size:06d}",
            "reviewer": ("kim", "lee")[(r // lot_size) % 2],
            "verdict": ("pass", "fail")[r % 7 == 0],
            "reason": "wrong_class" if r % 7 == 0 else "",
        }
        for r in range(rows)
    )
    with path.open("w", newline="", encoding="utf-8") as fh:
        if fmt == "csv":
            writer = csv.DictWriter(fh, ["slide_id", "reviewer", "verdict", "reason"])
            writer.writeheader()
            writer.writerows(records)
        else:
            fh.write(json.dumps({"verdicts": list(records)}))
    return folder / "plan", path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--lot", type=int, default=5_000, help="slides in the lot the plan is drawn from")
    ap.add_argument("--format", choices=("csv", "json"), default="csv")
    ap.add_argument(
        "--code", type=Path, default=ROOT, help="the dqm checkout the command runs (before/after)"
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        plan, verdicts = write_inputs(folder, args.lot, args.rows, args.format)
        cmd = [sys.executable, "-m", "dqm", "review", "ingest", str(verdicts), "--plan", str(plan)]
        cmd += ["--out", str(folder / "out"), "--limit", "0"]
        env = {**os.environ, "PYTHONPATH": str(args.code)}
        t0 = time.perf_counter()
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        semantic = folder / "out" / "semantic.json"
        row = {
            "rows": args.rows,
            "format": args.format,
            "file_mib": round(verdicts.stat().st_size / 2**20, 1),
            "exit_code": done.returncode,
            "wall_s": round(wall, 1),
            "peak_rss_mib": round(peak, 1),
            "semantic_json_mib": round(semantic.stat().st_size / 2**20, 1) if semantic.exists() else None,
        }
        if done.returncode not in (0, 1, 3):
            row["stderr"] = done.stderr[-2000:]
    print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
