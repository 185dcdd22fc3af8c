"""Benchmark: peak memory of a label mask decoded whole, in bytes a pixel, 8-bit, 16-bit and RGB.

    .venv/bin/python benchmarks/bench_mask_memory.py [--side 8000]

Writes a ``--side`` x ``--side`` PNG label mask (default 8,000: 64 M pixels, ``mask.MAX_PIXELS``,
the largest decoded whole) of discs, as 8-bit grey, 16-bit grey and RGB (equal channels), then
parses each in a fresh process and reports CPU and wall seconds and the peak RSS the parse added
over the process's RSS before it (the file's bytes already read), over the mask's pixels.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import os, resource, sys, time
sys.path.insert(0, {root!r})
from dqm.readers import mask
data = open({path!r}, "rb").read()
rss = int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
cpu, wall = time.process_time(), time.perf_counter()
(ann,) = mask.read(data, "masks/S.png", [])
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss
px = ann.width * ann.height
print(f"{{len(ann.lesions):>6}} lesions  {{cpu:6.2f}} s CPU {{wall:6.2f}} s wall  "
      f"peak +{{peak / 1024:6.0f}} MiB = {{peak * 1024 / px:5.2f}} B/px")
"""


def labels(side: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    a = np.zeros((side, side), np.uint8)
    yy, xx = np.ogrid[:side, :side]
    for cy, cx in rng.integers(100, side - 100, size=(side // 40, 2)):
        y0, x0 = cy - 60, cx - 60
        disc = (yy[y0 : cy + 60] - cy) ** 2 + (xx[:, x0 : cx + 60] - cx) ** 2 <= 3600
        a[y0 : cy + 60, x0 : cx + 60][disc] = 255
    return a


def make(side: int, folder: Path) -> None:
    """The three masks, written into ``folder``."""
    a = labels(side)
    Image.fromarray(a).save(folder / "8-bit.png")
    Image.fromarray(a.astype(np.uint16) * 200).save(folder / "16-bit.png")
    Image.fromarray(np.dstack([a, a, a])).save(folder / "RGB.png")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--side", type=int, default=8000)
    ap.add_argument("--make", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.make:
        make(args.side, args.make)
        return
    with tempfile.TemporaryDirectory() as tmp:
        # made in a child: a process's peak RSS passes to the children it starts after
        subprocess.run([sys.executable, __file__, "--side", str(args.side), "--make", tmp], check=True)
        for name in ("8-bit", "16-bit", "RGB"):
            path = Path(tmp) / f"{name}.png"
            out = subprocess.run(
                [sys.executable, "-c", CHILD.format(root=str(ROOT), path=str(path))],
                capture_output=True,
                text=True,
                check=True,
            )
            print(f"{args.side}x{args.side} {name:<7} {out.stdout.strip()}")


if __name__ == "__main__":
    main()
