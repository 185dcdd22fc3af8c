"""Benchmark: the pairs of one file's lesions whose outlines meet (``validators.geometry.LesionPairs``).

What ``geometry.duplicate`` and ``geometry.overlap`` walk for every item. Cases, each built from a
fixed seed:

* ``sparse``: 100,000 twelve-vertex lesions of radius 8-40 px scattered over 40,000 x 40,000 px
  (a few neighbours each), 1% of them exact copies of an earlier one;
* ``crowded``: 3,000 lesions all over one another (4.5 million pairs: past ``MAX_LESION_PAIRS``);
* ``slivers``: 8,448 squares apart, then 8,000 slivers along one diagonal (every bounding box
  meets every other, no outline another): the budget runs out on bounding boxes alone, and the
  index must not be asked about thousands of slivers at once (``--only slivers`` for its peak).

Each row gives the lesions, the pairs walked, whether the budget ran out, the CPU seconds of the
walk (not wall time: the machine may be shared), the process's peak RSS and a digest of the pairs
in the order they came (the same before and after a change that must not alter them). Run it from
the checkout to measure, or with ``PYTHONPATH=OTHER_CHECKOUT`` for another::

    .venv/bin/python benchmarks/bench_lesion_pairs.py [--only sparse,crowded,slivers] [--repeat 3]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import shapely

sys.path.append(str(Path(__file__).resolve().parents[1]))  # after PYTHONPATH: another checkout wins
from validators.geometry import MAX_LESION_PAIRS, LesionPairs


def lesions(case: str) -> list[SimpleNamespace]:
    if case == "slivers":
        k, e = np.arange(8_448), np.arange(8_000) * 1e-3
        apart = shapely.box(
            5_000 + k % 1_000 * 10, k // 1_000 * 10, 5_001 + k % 1_000 * 10, k // 1_000 * 10 + 1
        )
        corners = [
            (np.zeros_like(e), e),
            (np.full_like(e, 1_000), 1_000 + e),
            (np.full_like(e, 1_000), 1_000.0005 + e),
        ]
        slivers = shapely.polygons(np.stack([np.column_stack(c) for c in corners], axis=1))
        return [SimpleNamespace(index=i, geometry=g) for i, g in enumerate([*apart, *slivers])]
    rng = np.random.default_rng(0)
    n, side, radius = (100_000, 40_000.0, (8.0, 40.0)) if case == "sparse" else (3_000, 200.0, (60.0, 90.0))
    centres = rng.uniform(0, side, (n, 2))
    radii = rng.uniform(*radius, n)
    angles = np.sort(rng.uniform(0, 2 * np.pi, (n, 12)), axis=1)
    rings = centres[:, None, :] + radii[:, None, None] * np.stack([np.cos(angles), np.sin(angles)], axis=2)
    geoms = list(shapely.polygons(np.round(rings, 1)))
    if case == "sparse":
        for k in rng.choice(np.arange(1, n), n // 100, replace=False).tolist():
            geoms[k] = shapely.from_wkb(shapely.to_wkb(geoms[int(rng.integers(0, k))]))
    return [SimpleNamespace(index=i, geometry=g) for i, g in enumerate(geoms)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="sparse,crowded,slivers", help="comma-separated case names")
    parser.add_argument("--repeat", type=int, default=3, help="walks per case (the best CPU time is shown)")
    args = parser.parse_args()
    for case in args.only.split(","):
        les = lesions(case)
        times, digest = [], ""
        for _ in range(args.repeat):
            pairs = LesionPairs(les, MAX_LESION_PAIRS)
            start = time.process_time()
            got = [(a.index, b.index, copy) for a, b, copy in pairs]
            times.append(time.process_time() - start)
            digest = hashlib.sha256(json.dumps(got).encode()).hexdigest()[:16]
        row = {
            "case": case,
            "lesions": len(les),
            "pairs": len(got),
            "crowded": pairs.crowded,
            "cpu_s": round(min(times), 2),
            "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "pairs_sha256": digest,
        }
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
