"""Strata merge benchmark: ``dqm sample --strata`` of a lot whose fields make a stratum per slide.

Builds ``--rows`` synthetic slides (a measurement with a value a slide, an age, 60 institutions),
then times :func:`dqm.semantic.strata.merge_strata` alone and :func:`build_plan` whole (the merge,
the draw, the plan), stratified by ``--strata``. Prints one JSON row: strata before and after,
the fields' values before and after, CPU and wall seconds of each step, and the peak memory of the
process (maximum resident set; the items themselves are most of it)::

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_strata.py --rows 1000000 --strata size_mm,institution

With ``--plan`` it also counts the merged cells by their reviewed slides (``cells_by_reviewed_slides``)
and lists the three largest strata (label, slides, drawn): the figures docs/semantic.md §2 quotes::

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_strata.py --rows 34376 --strata age,institution --plan

The first attempt at the merge (cadd892, reverted) had not finished at 1,000,000 rows after 15
minutes: it passed over every row per field and per halving.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import time
from collections import Counter


def _timed(step):  # type: ignore[no-untyped-def]
    cpu, wall = time.process_time(), time.perf_counter()
    out = step()
    return out, round(time.process_time() - cpu, 2), round(time.perf_counter() - wall, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--strata", default="size_mm,institution")
    parser.add_argument("--plan", action="store_true", help="also time build_plan (the whole plan)")
    parser.add_argument("--seed", type=int, default=0, help="the draw's seed (--plan)")
    args = parser.parse_args()

    from dqm.facts import ItemSummary
    from dqm.semantic.models import PlanBatch
    from dqm.semantic.planfile import PlanOptions, build_plan, stratum_value
    from dqm.semantic.strata import merge_strata, strata_cap

    rng = random.Random(1)
    fields = tuple(args.strata.split(","))
    items = [
        ItemSummary(
            slide_id=f"S{k:07d}",
            institution=f"H{k % 60:02d}",
            clinical={"age": str(rng.randint(0, 120)), "size_mm": f"{rng.random() * 40:.6f}"},
        )
        for k in range(args.rows)
    ]
    keys = {i.slide_id: tuple(stratum_value(i, f) for f in fields) for i in items}
    cap = strata_cap(315)
    (merged, record), cpu, wall = _timed(lambda: merge_strata(keys, fields, cap))
    row: dict[str, object] = {
        "rows": args.rows,
        "strata": args.strata,
        "cap": cap,
        "strata_before": record.strata_before if record else len(set(keys.values())),
        "strata_after": len(set(merged.values())),
        "fields": [f.model_dump() for f in record.fields] if record else [],
        "merge_cpu_s": cpu,
        "merge_wall_s": wall,
    }
    if args.plan:
        batch = PlanBatch(path="/b", fingerprint="f" * 64, n_items=args.rows, profile="p", profile_sha256="0")
        plan, cpu, wall = _timed(lambda: build_plan(items, batch, PlanOptions(strata=fields, seed=args.seed)))
        reviewed = Counter(min(c.sampled, 5) for st in plan.strata for c in st.cells)
        row |= {
            "plan_strata": len(plan.strata),
            "plan_sample": plan.sample_size,
            "cells_by_reviewed_slides": {
                ("5+" if k == 5 else str(k)): v for k, v in sorted(reviewed.items())
            },
            "largest_strata": [
                [st.label, st.lot, st.sampled] for st in sorted(plan.strata, key=lambda st: -st.lot)[:3]
            ],
            "plan_cpu_s": cpu,
            "plan_wall_s": wall,
        }
    row["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(row))


if __name__ == "__main__":
    main()
