"""Benchmark: peak memory of the validity stage's reader decoding a large plain image (PNG).

    .venv/bin/python benchmarks/bench_validity_plain.py [--side 12000] [--ds 4.0]

Writes a ``--side`` x ``--side`` RGB PNG (default 12,000: 144 M pixels, under Pillow's refusal at
178 M) into a temporary folder, then in a fresh process reads it through
:class:`dqm.validity.data.SlideReader` at downsample ``--ds`` (the plain image is decoded whole
once per downsample, then resized) and reports CPU seconds and the peak RSS in MiB.
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
import resource, sys, time
from pathlib import Path
from dqm.validity.data import SlideReader
path, ds = Path(sys.argv[1]), float(sys.argv[2])
t = time.process_time()
reader = SlideReader(path)
rows = int(int(sys.argv[3]) / ds)
reader.read(0, 0, rows, rows, ds)
print(f"{time.process_time() - t:.2f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=12_000)
    parser.add_argument("--ds", type=float, default=4.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dqm-bench-plain-") as tmp:
        path = Path(tmp) / "plain.png"
        pixels = np.zeros((args.side, args.side, 3), np.uint8)
        pixels[::7, ::5] = 200
        Image.MAX_IMAGE_PIXELS = None
        Image.fromarray(pixels).save(path)
        del pixels
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(path), str(args.ds), str(args.side)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        print(
            f"{args.side} x {args.side} RGB PNG at downsample {args.ds}: {out[0]} s CPU, peak RSS {out[1]} MiB"
        )


if __name__ == "__main__":
    main()
