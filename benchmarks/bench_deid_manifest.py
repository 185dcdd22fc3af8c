"""Benchmark: the de-identification search of a manifest's cells (slide ids, paths, clinical values).

    .venv/bin/python benchmarks/bench_deid_manifest.py [--only NAME,...] [--code OTHER_CHECKOUT]

Each case writes a batch folder with a ``manifest.csv`` and, in a child process, discovers it
(:func:`dqm.batch.discover`: the manifest reader and its caps) and runs the item-level ``deid.*``
checks of the default profile on every item. One JSON row a case: the rows read, the CPU seconds
of the discovery and of the checks, the peak RSS (MB) of the child, and the finding codes counted.

* ``rows_34376``: the reference dataset's size (34,376 slides, an empty file each), short cells;
* ``cells_10k``: 10,000 rows (as many as a manifest reads beyond the batch's files) with a
  10,240-character ``notes`` cell of the slowest text measured (``"dob 010-"`` repeated) and an
  RRN at character 10,100: past what a cell was searched to (10,000), so found only when whole;
* ``cell_131k``: one row whose ``notes`` cell is as long as the CSV reader takes (131,072
  characters), an RRN at its end;
* ``cell_1m``: one row whose cell holds a million characters: over the CSV reader's field limit,
  the manifest is not read (``MANIFEST_UNREADABLE``), before and after;
* ``cell_100m``: one row whose cell holds 100 MB: the line is not read (``MANIFEST_BAD_ROW``).

A million rows of 10 kB cells (10 GB) are over what a manifest may hold (256 MB) and never read;
the cells of a manifest at that size are searched at the ``cells_10k`` rate a character.
``--code`` runs another checkout's dqm (before/after).
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from bench_deid_walk import child_row  # beside this file: a script's folder is on its path

ROOT = Path(__file__).resolve().parents[1]
RRN = "RRN 900101-1234567"

CHILD = """
import collections, json, resource, sys, time
from pathlib import Path
from dqm.batch import discover
from dqm.profile import load_profile
from dqm.runner import run_item_checks
from validators.context import FileStatus, ItemView
from validators.engine import configure

profile = load_profile()
checks = [c for c in configure(profile) if c.id.startswith("deid.") and c.spec.scope == "item"]
t0 = time.process_time()
disc = discover(Path(sys.argv[1]))
t1 = time.process_time()
codes = collections.Counter(i.code for i in disc.issues)
for item in disc.items:
    view = ItemView(
        item, profile, None, None, FileStatus(item.image_path, True), FileStatus(item.annotation_path, False)
    )
    codes.update(f.code for f in run_item_checks(view, checks))
t2 = time.process_time()
use = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({
    "rows": len(disc.items), "discover_cpu_s": round(t1 - t0, 2), "checks_cpu_s": round(t2 - t1, 2),
    "peak_rss_mb": use.ru_maxrss // 1024, "codes": dict(sorted(codes.items())),
}))
"""

HEADER = ["slide_id", "image_path", "institution", "diagnosis", "age", "notes"]


def _rows_34376(root: Path) -> Iterator[list[str]]:
    (root / "slides").mkdir()
    for k in range(34_376):
        (root / "slides" / f"S{k:05d}.svs").touch()
        yield [f"S{k:05d}", f"slides/S{k:05d}.svs", "Seoul-A", "BCC", str(40 + k % 50), f"case {k}, block A2"]


def _slowest(size: int, at: int) -> str:
    return ("dob 010-" * (size // 8 + 1))[:at] + RRN + "x" * (size - at - len(RRN))


def _cells_10k(root: Path) -> Iterator[list[str]]:
    cell = _slowest(10_240, 10_100)
    for k in range(10_000):
        yield [f"S{k:05d}", f"slides/S{k:05d}.svs", "Seoul-A", "BCC", "50", cell]


def _cell_131k(root: Path) -> Iterator[list[str]]:
    yield ["S00000", "slides/S00000.svs", "Seoul-A", "BCC", "50", _slowest(131_072, 131_000)]


def _cell_1m(root: Path) -> Iterator[list[str]]:
    yield ["S00000", "slides/S00000.svs", "Seoul-A", "BCC", "50", _slowest(1_000_000, 999_000)]


def _cell_100m(root: Path) -> Iterator[list[str]]:
    yield ["S00000", "slides/S00000.svs", "Seoul-A", "BCC", "50", "x" * 100_000_000 + RRN]


CASES: dict[str, Callable[[Path], Iterator[list[str]]]] = {
    "rows_34376": _rows_34376,
    "cells_10k": _cells_10k,
    "cell_131k": _cell_131k,
    "cell_1m": _cell_1m,
    "cell_100m": _cell_100m,
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="comma-separated case names")
    ap.add_argument(
        "--code", type=Path, default=ROOT, help="the dqm checkout the command runs (before/after)"
    )
    ap.add_argument("--write", nargs=2, metavar=("CASE", "FOLDER"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.write:  # in a process of its own: a child's peak RSS starts from its parent's
        name, folder = args.write
        with (Path(folder) / "manifest.csv").open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(HEADER)
            writer.writerows(CASES[name](Path(folder)))
        return 0
    names = [n for n in args.only.split(",") if n] or list(CASES)
    for name in names:
        with tempfile.TemporaryDirectory(prefix="bench-deid-manifest-") as tmp:
            root = Path(tmp)
            subprocess.run([sys.executable, __file__, "--write", name, tmp], check=True)
            row = child_row(CHILD, root, args.code)
            size = (root / "manifest.csv").stat().st_size
            print(json.dumps({"case": name, "megabytes": round(size / 2**20, 1), **row}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
