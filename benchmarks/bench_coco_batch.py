"""Benchmark: `dqm validate` of a batch whose items all share one COCO file (the parse cache's case).

    .venv/bin/python benchmarks/bench_coco_batch.py [--images 3000] [--code OTHER_CHECKOUT]
        [--slide-files] [--annotators K] [--out FOLDER] [--timeout SECONDS]

A COCO file serves every image of a delivery, so each worker reads it once and keeps it in its
parse cache (held to ``limits.annotation_memory``). The bench writes a seeded COCO file of
``--images`` images of 20,000 px, three 20-vertex polygons each, and a manifest with a row an
image (no slide files), then times ``dqm validate BATCH -j 1`` in a child process: wall time, the
child's user and system CPU, its peak RSS and the exit code, as one JSON row. ``--code`` runs
another checkout's dqm (before/after).

Without slide files discovery reads at most 10,000 manifest rows past the batch's files
(``MANIFEST_ROWS_PAST_FILES``), so above 10,000 images only 10,001 items are checked.
``--slide-files`` writes an empty slide file an image, names it in its row, and validates with
``--annotations-only`` (no slide is opened): every image is an item, as in a real delivery of
34,376 images. ``--timeout``: the child is killed past it (``"timed_out": true``).

``--annotators K`` writes K COCO files (``coco.json``, ``coco1.json``, ...), each annotating every
image (its polygons shifted), and K manifest rows an image, image by image (A1, B1, ..., A2, B2,
...), with ``--slide-files``: every item links into one group over K files, more than the parse
cache's 4 from K = 5 on. ``--out FOLDER`` runs ``dqm audit BATCH --out FOLDER -j 1`` instead (the
empty slide files are probed and found unreadable), for ``benchmarks/same_findings.py``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def write_batch(batch: Path, images: int, slide_files: bool = False, annotators: int = 1) -> None:
    """The COCO file and its manifest (seeded); with ``slide_files``, an empty slide file an image
    named in its row."""
    rng = random.Random(0)
    imgs = [
        {"id": i, "file_name": f"s{i}.svs", "width": 20000, "height": 20000} for i in range(1, images + 1)
    ]
    anns = []
    for i in range(1, images + 1):
        for k in range(3):
            x, y = rng.randint(100, 19000), rng.randint(100, 19000)
            ring = []
            for v in range(20):
                a = 2 * math.pi * v / 20
                ring += [round(x + 200 * math.cos(a), 1), round(y + 200 * math.sin(a), 1)]
            anns.append(
                {"id": len(anns) + 1, "image_id": i, "category_id": 1 + k % 2, "segmentation": [ring]}
            )
    categories = [{"id": 1, "name": "BCC"}, {"id": 2, "name": "SCC"}]
    batch.mkdir(parents=True)
    files = ["coco.json"] + [f"coco{a}.json" for a in range(1, annotators)]
    for a, name in enumerate(files):
        shifted = [{**ann, "segmentation": [[v + 7 * a for v in ann["segmentation"][0]]]} for ann in anns]
        (batch / name).write_text(
            json.dumps({"images": imgs, "annotations": shifted, "categories": categories})
        )
    with (batch / "manifest.csv").open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(
            ["slide_id", "image_path", "annotation_path", "institution", "diagnosis", "age", "sex", "site"]
        )
        for img in imgs:
            slide = f"slides/{img['file_name']}" if slide_files else ""
            for a, name in enumerate(files):
                sid = f"s{img['id']}" + (f"-{a}" if annotators > 1 else "")
                out.writerow([sid, slide, name, "Seoul-A", "BCC", "60", "F", "trunk"])
    if slide_files:
        (batch / "slides").mkdir()
        for img in imgs:
            (batch / "slides" / img["file_name"]).touch()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=3000, help="images of the COCO file (items of the batch)")
    ap.add_argument(
        "--code", type=Path, default=ROOT, help="the dqm checkout the command runs (before/after)"
    )
    ap.add_argument(
        "--slide-files",
        action="store_true",
        help="an empty slide file an image, validated --annotations-only (every image an item)",
    )
    ap.add_argument("--annotators", type=int, default=1, help="COCO files, each annotating every image")
    ap.add_argument("--out", type=Path, default=None, help="run `dqm audit --out` here instead of validate")
    ap.add_argument("--timeout", type=float, default=None, help="seconds after which the child is killed")
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": str(args.code)}
    with tempfile.TemporaryDirectory() as tmp:
        batch = Path(tmp) / "batch"
        write_batch(batch, args.images, args.slide_files, args.annotators)
        if args.out is not None:
            cmd = [
                sys.executable,
                "-m",
                "dqm",
                "audit",
                str(batch),
                "--out",
                str(args.out.resolve()),
                "-j",
                "1",
            ]
        else:
            cmd = [sys.executable, "-m", "dqm", "validate", str(batch), "-j", "1"]
            cmd += ["--annotations-only"] if args.slide_files else []
        t0 = time.perf_counter()
        try:
            done = subprocess.run(
                cmd, env=env, capture_output=True, text=True, check=False, cwd=tmp, timeout=args.timeout
            )
            code: int | None = done.returncode
        except subprocess.TimeoutExpired:
            code = None
        wall = time.perf_counter() - t0
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        row = {
            "images": args.images,
            "slide_files": args.slide_files,
            "annotators": args.annotators,
            "coco_mib": round((batch / "coco.json").stat().st_size / 2**20, 1),
            "exit_code": code,
            "timed_out": code is None,
            "wall_s": round(wall, 1),
            "user_s": round(usage.ru_utime, 1),
            "sys_s": round(usage.ru_stime, 1),
            "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        }
        if code not in (0, 1, None):
            row["stderr"] = done.stderr[-2000:]
    print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
