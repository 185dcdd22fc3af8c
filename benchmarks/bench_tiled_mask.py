"""Benchmark: a pyramidal (tiled TIFF) label mask as large as a slide, read tile by tile.

Builds a SIDE x SIDE uint8 mask (default 40,000 x 40,000 = 1.6 G pixels, 25x the whole-decode limit)
tile by tile with tifffile (never whole in memory): glands as discs of value 1 scattered over it and a
band of value 2, deflate-compressed in 512 px tiles. Then parses it as dqm does and reports time,
peak RSS of the parse (the process's maximum minus its maximum before), lesions and their area.

    .venv/bin/python benchmarks/bench_tiled_mask.py [--side 40000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dqm.readers import mask, parse_annotation  # noqa: E402

TILE = 512


def tiles(side: int, rng: np.random.Generator, discs: np.ndarray, radius: int):  # type: ignore[no-untyped-def]
    yy, xx = np.mgrid[:TILE, :TILE]
    for y in range(0, side, TILE):
        for x in range(0, side, TILE):
            t = np.zeros((TILE, TILE), np.uint8)
            near = discs[
                (np.abs(discs[:, 0] - (y + TILE / 2)) < TILE) & (np.abs(discs[:, 1] - (x + TILE / 2)) < TILE)
            ]
            for cy, cx in near:
                t[(yy + y - cy) ** 2 + (xx + x - cx) ** 2 <= radius * radius] = 1
            band = (yy + y > side // 2) & (yy + y < side // 2 + 300)
            t[band] = 2
            yield t


def main() -> int:
    import tifffile

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side", type=int, default=40_000)
    ap.add_argument("--discs", type=int, default=2000)
    args = ap.parse_args()
    side = args.side
    rng = np.random.default_rng(0)
    discs = rng.integers(200, side - 200, size=(args.discs, 2))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mask.tif"
        t0 = time.perf_counter()
        tifffile.imwrite(
            path,
            tiles(side, rng, discs, 80),
            shape=(side, side),
            dtype=np.uint8,
            tile=(TILE, TILE),
            compression="zlib",
        )
        built = time.perf_counter() - t0
        size = path.stat().st_size
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t1 = time.perf_counter()
        (ann,) = parse_annotation(path.read_bytes(), "masks/S.tif")
        seconds = time.perf_counter() - t1
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    pixels = side * side
    print(
        f"mask {side}x{side} = {pixels / 1e9:.2f} G px ({pixels / mask.MAX_PIXELS:.0f}x the whole-decode limit), "
        f"{size / 2**20:.1f} MiB on disk, built in {built:.0f} s"
    )
    print(
        f"parse: {seconds:.1f} s, peak RSS +{(peak - before) / 1024:.0f} MiB (whole decode would need "
        f"{pixels / 2**20:.0f} MiB for the pixels alone); readable={ann.readable}, {len(ann.lesions)} lesions, "
        f"area {sum(les.area for les in ann.lesions) / pixels:.3%} of the mask, issues {[i.code for i in ann.issues]}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
