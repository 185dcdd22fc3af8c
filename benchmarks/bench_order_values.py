"""Cost of the value figures over the items ordered (``--expect``: ``syntactic.ordered``).

Checks a batch once (``run_batch``, one worker), compares it with an order list naming all its
items but the last and one item it does not hold, and times :func:`syntactic_result` without and
with the figures over the items ordered (best of 20), and :func:`ordered_values` alone::

    python -m dqm synth /tmp/demo --slides 60 --seed 7 --defect-rate 0.15 --force   # make demo's batch
    nice python benchmarks/bench_order_values.py /tmp/demo

Measured (2-core shared machine, 60 slides, 13 findings): run_batch 38.0 s; syntactic_result 0.39 ms
plain, 0.48 ms with the figures over the items ordered; ordered_values alone 0.08 ms.
Session 25 (the list's one item not ordered now also gives the value-weighted figures without it,
a part of the run judged again): run_batch 19.1 s; syntactic_result 0.38 ms plain, 1.40 ms with the
order list; ordered_values alone 0.29 ms; the figures without the items not ordered alone 0.56 ms.
"""

from __future__ import annotations

import csv
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from dqm.audit import with_order
from dqm.order import read_order
from dqm.profile import load_profile
from dqm.runner import RunOptions, run_batch
from dqm.syntactic.accuracy import _without_unordered, ordered_values, syntactic_result


def _best(f: Callable[[], object], n: int = 20) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def main(root: Path) -> None:
    with (root / "manifest.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with tempfile.TemporaryDirectory() as tmp:
        order = Path(tmp) / "order.csv"
        order.write_text("slide_id\n" + "".join(r["slide_id"] + "\n" for r in rows[:-1]) + "NOT_THERE\n")
        t = time.perf_counter()
        run = run_batch(root, load_profile(None), RunOptions(workers=1))
        checked = time.perf_counter() - t
        with_order(run, read_order(order))
    entries = run.ordered
    assert entries is not None
    run.ordered = None
    plain = _best(lambda: syntactic_result(run))
    run.ordered = entries
    both = _best(lambda: syntactic_result(run))
    alone = _best(lambda: ordered_values(run, entries))
    ordered = ordered_values(run, entries)
    unpadded = _best(lambda: _without_unordered(run, ordered))
    print(
        f"items {len(rows)}, findings {len(run.findings)}; run_batch {checked:.1f} s; syntactic_result "
        f"plain {plain * 1e3:.2f} ms, with ordered {both * 1e3:.2f} ms; ordered_values alone {alone * 1e3:.2f} ms; "
        f"the figures without the items not ordered alone {unpadded * 1e3:.2f} ms"
    )
    print(syntactic_result(run).ordered)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
