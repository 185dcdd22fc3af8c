"""Benchmark: the review server's check of a slide before it takes a verdict on it.

:meth:`dqm.semantic.server.tiles.TileSource.check_audited` compares the slide's files with the
audit's record (:func:`dqm.slide_io.unlike_audit`: each file stat'ed and its quick print read, the
slide's named parts listed) without opening it. Timed in ms of wall time per check, on a slide of
a batch given (``--root``, ``--slide``: its batch path), against a record taken from it first.

Usage: PYTHONPATH=. python benchmarks/bench_verdict_check.py --root BATCH --slide M1.mrxs [--repeat 20]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from dqm.slide_io import Recorded, fingerprint, taken_of, unlike_audit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--slide", required=True)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    path = args.root / args.slide
    st = os.stat(path)
    taken = taken_of(path, st, args.root)
    own = (st.st_size, st.st_mtime_ns, fingerprint(path, st.st_size))
    recorded = Recorded(own, {p: (v[0], v[1], q) for p, (q, v) in taken.parts.items()})
    if (why := unlike_audit(path, args.root, recorded)) is not None:
        raise SystemExit(f"not as recorded: {why}")
    start = time.perf_counter()
    for _ in range(args.repeat):
        unlike_audit(path, args.root, recorded)
    per = (time.perf_counter() - start) / args.repeat * 1e3
    print(f"{args.slide}: {len(taken.parts)} parts, {per:.2f} ms per check")


if __name__ == "__main__":
    main()
