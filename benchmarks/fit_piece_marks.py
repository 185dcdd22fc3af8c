"""Fit the up-front charges of a read in pieces (``dqm.readers.PIECE_MARK_BYTES``) to measured shapes.

    python benchmarks/bench_annotation_memory.py --shapes --shape-mb 3 --in-pieces --work DIR --raw A
    python benchmarks/bench_annotation_memory.py --shapes --shape-mb 17 --work DIR --raw B [--only ...]
    python benchmarks/fit_piece_marks.py --work DIR A:3.0 B:17.0 [--kept-factor 1.5] [--margin 1.15]

Each line of a ``--raw`` file holds a shape's peak, its estimate and what the tally kept, read
with no limit (the dqm on PYTHONPATH when it was measured: measure the checkout before the change).
The estimate is its text's share (its bytes at its widest character, the top-level values parsed
whole) plus a charge for each mark; the charges are the least (a linear programme, scipy's HiGHS)
that keep, for every shape, the estimate at least ``--margin`` times its peak where the measured
estimate was at least its peak (where it was not, the tally alone bounds the read), and at least
the tally's need at ``--kept-factor`` (its size and the factor times what it kept) where the read
was not stopped at its measured estimate, and for ``--read`` shapes; the usual exports' estimates
(shapes named ``*-usual``) as small as that leaves them. Prints the charges (rounded up to 4
bytes) and each shape's estimate ÷ size before and after, peak ÷ estimate, tally's need ÷ estimate.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
from scipy.optimize import linprog

from dqm.readers import _MemoryCheck

MARKS = [b"{", b"[", b"[[", b",", b'"Feature"', b'"geometry"', b'"', b":"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "raw", nargs="+", help="FILE:MB, a --raw file of bench_annotation_memory and its --shape-mb"
    )
    ap.add_argument("--work", type=Path, required=True, help="the shapes' files (bench's --work)")
    ap.add_argument("--kept-factor", type=float, default=1.5)
    ap.add_argument("--margin", type=float, default=1.15)
    ap.add_argument(
        "--read", default="qupath-named-ids,qupath-named-measurements", help="shapes to read whole"
    )
    args = ap.parse_args()
    rows = {}
    for spec in args.raw:
        src, mb = spec.rsplit(":", 1)
        for line in Path(src).read_text().splitlines():
            row = json.loads(line)
            rows[f"{row['shape']}@{mb}"] = {**row, "mb": mb}  # a repeat: its last
    names = sorted(rows)
    fixed, counts, before = [], [], []
    for name in names:
        row = rows[name]
        text = (args.work / f"{row['shape']}-{row['mb']}.json").read_bytes()
        memory = _MemoryCheck(text)
        fixed.append((1 + memory.char_bytes()) * len(text) + memory._shell_need())
        counts.append([text.count(mark) for mark in MARKS])
        before.append(row["estimate"])
    a, text_share = np.array(counts, float), np.array(fixed, float)
    old = np.array(before, float)
    size, peak, kept, most = (
        np.array([rows[n][k] for n in names], float) for k in ("size", "peak", "kept", "most")
    )
    need = most - (2 - args.kept_factor) * kept  # measured at a factor of 2
    read = np.array(
        [most[i] <= old[i] or rows[n]["shape"] in args.read.split(",") for i, n in enumerate(names)]
    )
    covered = old >= peak
    lower = np.maximum(np.where(covered, args.margin * peak, 0), np.where(read, need, 0))
    usual = [i for i, n in enumerate(names) if "-usual" in n]
    res = linprog(a[usual].sum(axis=0), A_ub=-a, b_ub=-(lower - text_share), bounds=[(0, None)] * len(MARKS))
    if res.status != 0:
        raise SystemExit(res.message)
    charges = [4 * math.ceil(x / 4 - 1e-9) for x in res.x]
    print({m.decode(): c for m, c in zip(MARKS, charges, strict=True)})
    new = text_share + a @ np.array(charges, float)
    print(
        "| shape | MiB | estimate / size before | after | peak / size | peak / estimate before | after | tally's need / estimate after |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for i, n in enumerate(names):
        flag = ("" if covered[i] else " (tally-bound)") + ("" if read[i] else " (stopped)")
        print(
            f"| {n}{flag} | {size[i] / 2**20:.1f} | {old[i] / size[i]:.1f} | {new[i] / size[i]:.1f} | {peak[i] / size[i]:.1f} "
            f"| {peak[i] / old[i]:.2f} | {peak[i] / new[i]:.2f} | {need[i] / new[i]:.2f} |"
        )
    growth = sorted(
        ((peak[i] - size[i]) / kept[i], names[i]) for i in range(len(names)) if kept[i] > size[i] / 10
    )
    print("most growth (peak - size) / tally:", ", ".join(f"{n} {g:.2f}" for g, n in growth[-4:]))


if __name__ == "__main__":
    main()
