"""Cost of the diversity dimension at the reference study's size (34,376 slides) and at half of it.

Synthetic item summaries (:func:`dqm.synth.summaries.synthetic_items`) are written as a
``results.json`` first (not timed). Timed, best of ``--repeat``:

* ``load``: reading the ``results.json`` (pydantic validation of every item),
* ``analyse``: :func:`dqm.diversity.diversity_result` on the items (variables, summaries, the test
  family, balance rules),
* ``drift``: the same with a previous release's ``results.json`` as baseline (loading its summaries
  and comparing every variable),
* ``render``: the HTML report of the result.

Run::

    flock /tmp/dqm-heavy.lock .venv/bin/python benchmarks/bench_diversity.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dqm.diversity import diversity_result
from dqm.diversity.baseline import load_baseline
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


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slides", type=int, default=REFERENCE)
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
            t_load, result = best(lambda p=current: QualityResult.load(p), args.repeat)
            t_analyse, _ = best(lambda r=result: diversity_result(r.items, profile), args.repeat)
            t_drift, div = best(
                lambda r=result, p=previous: diversity_result(r.items, profile, load_baseline(p, profile)),
                args.repeat,
            )
            full = result.model_copy(update={"diversity": div})
            t_render, html = best(lambda r=full: render_html(r), args.repeat)
            rows.append((n, t_load, t_analyse, t_drift, t_render, div.verdict, div.drift.verdict, len(html)))
    print(f"best of {args.repeat}; seconds")
    print(f"{'slides':>8} {'load':>7} {'analyse':>8} {'+drift':>8} {'render':>7}  verdict / drift  report")
    for n, a, b, c, d, v, dv, size in rows:
        print(f"{n:>8} {a:7.2f} {b:8.2f} {c:8.2f} {d:7.2f}  {v} / {dv}  {size / 1e6:.1f} MB")
    (n1, _, a1, d1, *_), (n2, _, a2, d2, *_) = rows
    print(
        f"ratio {n2 / n1:.2f}x slides: analyse {a2 / a1:.2f}x, analyse+drift {d2 / d1:.2f}x "
        f"({1e6 * d2 / n2:.0f} µs per slide with drift)"
    )


if __name__ == "__main__":
    main()
