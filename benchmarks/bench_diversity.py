"""Cost of the diversity dimension at the reference study's size (34,376 slides) and at half of it.

Synthetic item summaries (:func:`dqm.synth.summaries.synthetic_items`) are written as a
``results.json`` first (not timed). Timed: the median of ``--repeat`` runs, each after a full
garbage collection (tens of thousands of live models make Python's collector a source of noise),
in CPU seconds of this process (the machine is shared, so wall time also measures the others) and,
for the total, in wall seconds:

* ``load``: reading the current ``results.json`` (pydantic validation of every item),
* ``analyse``: :func:`dqm.diversity.diversity_result` on the items (variables, summaries, the test
  family, balance rules),
* ``baseline``: :func:`dqm.baseline.load_baseline` on the previous release's ``results.json``
  (it validates the whole file, items included, then takes the stored summaries),
* ``+drift``: ``diversity_result`` with that baseline (analysis and drift),
* ``render``: the HTML report of the result.

Run::

    flock /tmp/dqm-heavy.lock .venv/bin/python benchmarks/bench_diversity.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dqm.baseline import load_baseline
from dqm.diversity import diversity_result
from dqm.profile import load_profile
from dqm.results import BatchInfo, ItemSummary, ProfileInfo, QualityResult, Verdict
from dqm.synth.summaries import synthetic_items
from reports import render_html

REFERENCE = 34_376


def as_result(items: list[ItemSummary], diversity: Any = None) -> QualityResult:
    return QualityResult(
        dqm_version="bench",
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        batch=BatchInfo(
            path="synthetic", fingerprint="0" * 64, n_items=len(items), n_slide_files=0, n_annotation_files=0
        ),
        profile=ProfileInfo(name="dermatopathology", version="1.0", sha256="0" * 64),
        items=items,
        findings=[],
        diversity=diversity,
        verdict=Verdict(status="incomplete"),
    )


WALL: list[float] = []


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median CPU seconds of ``repeat`` calls, each after ``gc.collect()``, and the last output;
    the median wall seconds go to ``WALL``."""
    cpu, wall, out = [], [], None
    for _ in range(repeat):
        gc.collect()
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    WALL.append(statistics.median(wall))
    return statistics.median(cpu), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slides", type=int, default=REFERENCE, help="the largest size; half of it is timed too")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    profile = load_profile()
    sizes = (args.slides // 2, args.slides)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            current, previous = Path(tmp) / f"cur{n}.json", Path(tmp) / f"prev{n}.json"
            base_items = synthetic_items(n, seed=1)
            as_result(base_items, diversity_result(base_items, profile)).dump(previous)
            as_result(synthetic_items(n, seed=2, prefix="T")).dump(current)
            WALL.clear()
            t_load, result = timed(lambda p=current: QualityResult.load(p), args.repeat)
            t_analyse, _ = timed(lambda r=result: diversity_result(r.items, profile), args.repeat)
            t_base, baseline = timed(lambda p=previous: load_baseline(p, profile), args.repeat)
            t_drift, div = timed(
                lambda r=result, b=baseline: diversity_result(r.items, profile, b), args.repeat
            )
            full = result.model_copy(update={"diversity": div})
            t_render, html = timed(lambda r=full: render_html(r), args.repeat)
            wall = WALL[0] + WALL[2] + WALL[3]  # load, baseline, analysis + drift
            rows.append((n, t_load, t_analyse, t_base, t_drift, t_render, wall, div.drift.verdict, len(html)))
    print(
        f"median of {args.repeat}; CPU seconds per phase, wall seconds for load + baseline + analysis + drift"
    )
    head = f"{'slides':>8} {'load':>6} {'analyse':>8} {'baseline':>9} {'+drift':>7} {'render':>7} {'total':>6} {'wall':>6}"
    print(head + "  drift  report")
    for n, a, b, c, d, e, w, dv, size in rows:
        total = a + c + d
        print(
            f"{n:>8} {a:6.2f} {b:8.2f} {c:9.2f} {d:7.2f} {e:7.2f} {total:6.2f} {w:6.2f}  {dv:5}  {size / 1e6:.1f} MB"
        )
    (n1, l1, a1, b1, d1, *_), (n2, l2, a2, b2, d2, *_) = rows
    print(
        f"{n2 / n1:.2f}x the slides: analyse {a2 / a1:.2f}x, analyse + drift {d2 / d1:.2f}x, "
        f"total (load + baseline + analyse + drift) {(l2 + b2 + d2) / (l1 + b1 + d1):.2f}x, "
        f"{1e6 * (l2 + b2 + d2) / n2:.0f} µs CPU per slide"
    )


if __name__ == "__main__":
    main()
