"""Benchmark: the de-identification search of hostile JSON annotation text (deep, long, wide).

    .venv/bin/python benchmarks/bench_deid_walk.py [--only NAME,...] [--code OTHER_CHECKOUT]

Each case writes a native annotation file whose one lesion's ``properties`` hold the hostile value,
and, in a child process, parses it and runs the ``deid.*`` item checks of the default profile on it.
One JSON row a case: the CPU seconds and the peak RSS (MB) of the child, the wall seconds of the
checks alone, and the codes they found. Every case must stay bounded (a budget of texts and
characters per file: past it a ``DEID_ANNOTATION_UNSEARCHED`` warning) and never crash on
recursion. ``--code`` runs another checkout's dqm (before/after).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RRN = "RRN 900101-1234567"

CHILD = """
import json, resource, sys, time
from dqm.model import Item
from dqm.profile import load_profile
from dqm.readers import parse_annotation
from dqm.runner import run_item_checks
from validators.context import FileStatus, ItemView
from validators.engine import configure

profile = load_profile()
checks = [c for c in configure(profile) if c.id.startswith("deid.")]
item = Item("s1", "slides/s1.svs", "ann/s1.json", {}, None)
data = open(sys.argv[1], "rb").read()
(ann,) = parse_annotation(data, "ann/s1.json")
view = ItemView(item, profile, ann, None, FileStatus(item.image_path, True), FileStatus(item.annotation_path, True))
t0 = time.perf_counter()
found = run_item_checks(view, checks)
wall = time.perf_counter() - t0
use = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({
    "checks_s": round(wall, 2), "cpu_s": round(use.ru_utime + use.ru_stime, 2),
    "peak_rss_mb": use.ru_maxrss // 1024, "read_issues": sorted({i.code for i in ann.issues}),
    "codes": sorted({f.code for f in found}),
}))
"""


def _deep(depth: int) -> str:
    return "[" * depth + json.dumps(RRN) + "]" * depth


CASES = {
    "deep_900": lambda: _deep(900),  # about as deep as the JSON reader goes (1,000: RecursionError)
    "deep_100mb": lambda: "[" * 100_000_000,  # not JSON a parser reads: an INVALID_JSON, bounded
    "list_1m": lambda: json.dumps([f"cell {k}" for k in range(1_000_000)] + [RRN]),
    "keys_1m": lambda: json.dumps({f"measure {k}": k for k in range(1_000_000)} | {RRN: 1}),
    "strings_10mb": lambda: json.dumps(["x " * 5_000_000 + RRN, "y " * 5_000_000 + RRN]),
}


def child_row(code: str, path: Path, checkout: Path) -> dict[str, Any]:
    """The JSON row ``code`` prints, run on ``path`` in a child process with ``checkout``'s dqm
    (or the end of what it wrote to stderr)."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], env=env, capture_output=True, text=True, cwd=checkout
    )
    return json.loads(done.stdout) if done.returncode == 0 else {"error": done.stderr[-300:]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="comma-separated case names")
    ap.add_argument(
        "--code", type=Path, default=ROOT, help="the dqm checkout the command runs (before/after)"
    )
    args = ap.parse_args()
    names = [n for n in args.only.split(",") if n] or list(CASES)
    with tempfile.TemporaryDirectory(prefix="bench-deid-walk-") as tmp:
        for name in names:
            value = CASES[name]()
            path = Path(tmp) / "s1.json"
            if name == "deep_100mb":
                path.write_text(value)
            else:
                square = [[10, 10], [60, 10], [60, 60], [10, 60], [10, 10]]
                lesion = {"class": "BCC", "geometry": {"type": "Polygon", "coordinates": [square]}}
                path.write_text(
                    json.dumps({"lesions": [lesion]})[:-3] + ', "properties": {"v": ' + value + "}}]}"
                )
            row = child_row(CHILD, path, args.code)
            print(
                json.dumps({"case": name, "megabytes": round(path.stat().st_size / 2**20, 1), **row}),
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
