"""Benchmark: the de-identification checks on a slide of very many properties.

    .venv/bin/python benchmarks/bench_deid_properties.py [--properties 500000] [--code OTHER_CHECKOUT]

An Aperio description of ``key = value`` pairs becomes one slide property a pair, and the checks
search every property's name and value (up to ``MAX_SLIDE_PROPERTIES``; the rest is a
``DEID_SLIDE_UNSEARCHED`` warning). A child process builds a virtual probe of ``--properties``
properties (``aperio.Key<N> = value <N>``), runs the item checks of the default profile on it once
to warm up on a small probe, then once on the big one, and prints one JSON row: the seconds of the
``deid.*`` checks and the codes they found. ``--code`` runs another checkout's dqm (before/after).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys, time
from dqm.model import Item
from dqm.profile import load_profile
from dqm.runner import run_item_checks
from dqm.slide_io import virtual_probe
from validators.context import FileStatus, ItemView
from validators.engine import configure

profile = load_profile()
checks = [c for c in configure(profile) if c.id.startswith("deid.")]
item = Item("s1", "slides/s1.svs", "ann/s1.json", {}, None)

def view(properties):
    probe = virtual_probe("slides/s1.svs", properties={"openslide.vendor": "aperio", **properties})
    return ItemView(item, profile, None, probe, FileStatus(item.image_path, True), FileStatus(item.annotation_path, True))

run_item_checks(view({"a": "b"}), checks)
big = view({f"aperio.Key{k}": f"value {k}" for k in range(int(sys.argv[1]))})
t0 = time.perf_counter()
found = run_item_checks(big, checks)
print(json.dumps({"seconds": round(time.perf_counter() - t0, 2), "codes": sorted({f.code for f in found})}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--properties", type=int, default=500_000, help="properties of the slide")
    ap.add_argument(
        "--code", type=Path, default=ROOT, help="the dqm checkout the command runs (before/after)"
    )
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": str(args.code)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(args.properties)],
        env=env, capture_output=True, text=True, check=True, cwd=args.code,
    )  # fmt: skip
    row = {"properties": args.properties, **json.loads(done.stdout)}
    print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
