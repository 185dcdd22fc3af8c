"""Benchmark: the label mask fill (dqm.raster) on a hostile outline and on real ones.

    .venv/bin/python benchmarks/bench_raster.py [--vertices 999000] [--rows 348] [--cols 397]

One outline of ``--vertices`` vertices zigzagging across every row of a ``--cols`` x ``--rows``
mask (``vertices * rows / 2`` edge-row crossings: the red-team case of ``dqm convert --to mask``),
three thin diagonal slivers across an 8000² mask (few crossings, each filled across its box's 64
million cells), a MultiPolygon of 2,000 squares of 2 pixels scattered over it (each filled in
its own box), then the GlaS masks' outlines when ``../shared/data/real`` (``$DQM_REAL_DATA``) holds them: for each, the time to count
the work (:func:`dqm.raster.raster_crossings`: crossings plus box cells, what ``limits.raster_crossings`` is checked against
before any pixel is filled) and to fill (:func:`dqm.raster.rasterise`), in CPU and wall seconds,
with the work a CPU second. Peak RSS of the process at the end.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dqm.coords import Frame  # noqa: E402
from dqm.profile import Profile  # noqa: E402
from dqm.raster import label_layers, raster_crossings, rasterise  # noqa: E402
from dqm.readers import read_annotation, resolve_classes  # noqa: E402

REAL = Path(os.environ.get("DQM_REAL_DATA", ROOT.parent / "shared" / "data" / "real"))
GLAS = REAL / "segmentation" / "glas" / "masks"


def zigzag(n: int, width: float, height: float) -> np.ndarray:
    xs = np.linspace(1, width - 1, n)
    ys = np.where(np.arange(n) % 2, height - 1, 1.0)
    return np.vstack([np.column_stack([xs, ys]), [[width - 1, height - 0.5], [1, height - 0.5]]])


def timed(name: str, lesions: list, shape: tuple[int, int]) -> None:  # type: ignore[type-arg]
    cpu, wall = time.process_time(), time.perf_counter()
    work = sum(raster_crossings(lesions, Frame(), shape))
    count_cpu = time.process_time() - cpu
    cpu, wall = time.process_time(), time.perf_counter()
    rasterise(lesions, Frame(), shape)
    fill_cpu, fill_wall = time.process_time() - cpu, time.perf_counter() - wall
    print(
        f"{name:<28} work {work:>13,}  count {count_cpu:6.2f} s CPU  "
        f"fill {fill_cpu:7.2f} s CPU {fill_wall:7.2f} s wall  {work / max(fill_cpu, 1e-9) / 1e6:6.1f} M/s"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vertices", type=int, default=999_000)
    ap.add_argument("--rows", type=int, default=348)
    ap.add_argument("--cols", type=int, default=397)
    args = ap.parse_args()
    ring = zigzag(args.vertices, args.cols, args.rows)
    timed(f"zigzag {args.vertices:,} vertices", [(1, shapely.Polygon(ring))], (args.rows, args.cols))
    slivers = [
        (1, shapely.Polygon([(0, 0), (1 + k / 100, 0), (8000, 8000), (7999 - k / 100, 8000)]))
        for k in range(3)
    ]
    timed("3 slivers across 8000²", slivers, (8000, 8000))
    corners = np.random.default_rng(0).uniform(0, 7997, (2000, 2)).round(1)
    squares = shapely.MultiPolygon([shapely.box(x, y, x + 2, y + 2) for x, y in corners])
    timed("2,000 squares, one lesion", [(1, squares)], (8000, 8000))
    if GLAS.is_dir():
        profile = Profile(
            name="glas", classes=({"id": "gland", "name": "gland"},), clinical={}, mask_values={255: "gland"}
        )
        lesions, shapes = [], []
        for path in sorted(GLAS.glob("*.png")):
            (ann,) = resolve_classes(read_annotation(path, path.name), profile)
            lesions.append(label_layers(ann, {"gland": 1}))
            shapes.append((int(ann.height or 0), int(ann.width or 0)))
        cpu = time.process_time()
        work = sum(
            sum(raster_crossings(les, Frame(), shape)) for les, shape in zip(lesions, shapes, strict=True)
        )
        count_cpu = time.process_time() - cpu
        cpu = time.process_time()
        for les, shape in zip(lesions, shapes, strict=True):
            rasterise(les, Frame(), shape)
        fill_cpu = time.process_time() - cpu
        print(
            f"{'GlaS ' + str(len(shapes)) + ' masks':<28} work {work:>13,}  count {count_cpu:6.2f} s CPU  "
            f"fill {fill_cpu:7.2f} s CPU"
        )
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
