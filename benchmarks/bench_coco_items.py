"""Many slides on one COCO file: the cost per item with and without the per-process parse cache.

    flock /tmp/dqm-heavy.lock .venv/bin/python benchmarks/bench_coco_items.py [--uncached N]

Builds a temporary batch whose manifest names every image of the real MIDOG++ COCO file
(553 rows, one annotation file; the real file is copied, never modified), then times
``run_batch`` (one worker, annotation checks only) with the cache (all rows) and without it
(the first N rows; the cache is turned off by raising its size threshold).
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import tempfile
import time
from pathlib import Path

from dqm import readers
from dqm.profile import load_profile
from dqm.runner import RunOptions, run_batch

ROOT = Path(__file__).resolve().parents[1]
MIDOG = ROOT.parent / "shared" / "data" / "real" / "annotations" / "coco" / "MIDOG++.json"


def build(folder: Path, rows: int | None) -> int:
    shutil.copy(MIDOG, folder / "midog.json")
    images = json.loads(MIDOG.read_text())["images"][:rows]
    with (folder / "manifest.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["slide_id", "image_path", "annotation_path", "institution", "diagnosis", "age", "sex", "site"]
        )
        for img in images:
            w.writerow([Path(img["file_name"]).stem, "", "midog.json", "Seoul-A", "MM", "60", "F", "trunk"])
    return len(images)


def timed(folder: Path, cached: bool) -> tuple[float, int]:
    readers._CACHE.clear()
    saved = readers.CACHE_MIN_BYTES
    readers.CACHE_MIN_BYTES = readers.CACHE_MIN_BYTES if cached else 1 << 62
    try:
        t0 = time.perf_counter()
        run = run_batch(folder, load_profile(), RunOptions(workers=1, slides=False, clinical=False))
        return time.perf_counter() - t0, len(run.outcomes)
    finally:
        readers.CACHE_MIN_BYTES = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uncached", type=int, default=30, help="rows timed without the cache")
    args = parser.parse_args()
    load_profile()
    with tempfile.TemporaryDirectory() as tmp:
        everything, few = Path(tmp, "all"), Path(tmp, "few")
        everything.mkdir()
        few.mkdir()
        build(everything, None)
        build(few, args.uncached)
        t_cached, n_cached = timed(everything, cached=True)
        t_plain, n_plain = timed(few, cached=False)
    print(f"cached:   {n_cached} items in {t_cached:.2f} s = {1000 * t_cached / n_cached:.1f} ms per item")
    print(f"uncached: {n_plain} items in {t_plain:.2f} s = {1000 * t_plain / n_plain:.1f} ms per item")
    print(f"speed-up per item: {(t_plain / n_plain) / (t_cached / n_cached):.0f}x")


if __name__ == "__main__":
    main()
