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

With ``--simulate SEEDS`` it also draws the plan at seeds ``0 … SEEDS-1`` over a known truth (a
slide fails with probability 4 %, plus 10 % at age 90 or more, plus 6 % at every seventh
institution; the verdicts drawn once, seed 2) and reports the stratified estimate's bias, the
coverage of its 95 % intervals and their mean width, next to a simple random sample's Wilson
interval at the plan's ``n`` (finite-population corrected) — the figures of docs/semantic.md §6::

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_strata.py --rows 34376 --strata age,institution --simulate 100

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


def _simulate(items, fields, seeds, max_strata):  # type: ignore[no-untyped-def]
    import statistics

    from dqm.semantic.estimate import cell_counts, weighted_estimate
    from dqm.semantic.intervals import effective_n, wilson_half_width
    from dqm.semantic.models import PlanBatch
    from dqm.semantic.planfile import PlanOptions, build_plan

    rng = random.Random(2)
    truth = {}
    for i in items:
        age = float(i.clinical["age"] or 0)
        fail = 0.04 + 0.10 * (age >= 90) + 0.06 * (int(i.institution[1:]) % 7 == 0)
        truth[i.slide_id] = "fail" if rng.random() < fail else "pass"
    n = len(items)
    accuracy = sum(v == "pass" for v in truth.values()) / n
    batch = PlanBatch(path="/b", fingerprint="f" * 64, n_items=n, profile="p", profile_sha256="0")
    estimates, errors, widths, covered, singles, reviewed = [], [], [], 0, [], []
    cpu = time.process_time()
    for seed in range(seeds):
        plan = build_plan(items, batch, PlanOptions(strata=fields, seed=seed, max_strata=max_strata))
        cells = cell_counts(plan, {s.slide_id: truth[s.slide_id] for s in plan.sample})
        est = weighted_estimate(cells, n)
        estimates.append(est.accuracy)
        errors.append(est.standard_error)
        widths.append(est.ci_high - est.ci_low)
        covered += est.ci_low <= accuracy <= est.ci_high
        singles.append(sum(r == 1 for _, r, _ in cells.values()))
        reviewed.append(plan.sample_size)
    srs = 2 * wilson_half_width(accuracy, effective_n(plan.plan_sample_size, n))
    return {
        "seeds": seeds,
        "truth": round(accuracy, 4),
        "bias": round(statistics.mean(estimates) - accuracy, 4),
        "coverage": covered / seeds,
        "sd_of_estimates": round(statistics.stdev(estimates), 4),
        "mean_standard_error": round(statistics.mean(errors), 4),
        "mean_width": round(statistics.mean(widths), 4),
        "srs_wilson_width": round(srs, 4),
        "width_over_srs": round(statistics.mean(widths) / srs, 3),
        "cells_of_one_reviewed_slide": round(statistics.mean(singles), 1),
        "strata": len(plan.strata),
        "mean_reviewed": round(statistics.mean(reviewed), 1),
        "cpu_s": round(time.process_time() - cpu, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--strata", default="size_mm,institution")
    parser.add_argument("--plan", action="store_true", help="also time build_plan (the whole plan)")
    parser.add_argument("--seed", type=int, default=0, help="the draw's seed (--plan)")
    parser.add_argument("--simulate", type=int, default=0, help="seeds of the known-truth simulation")
    parser.add_argument("--max-strata", type=int, default=None, help="the cap (dqm sample --max-strata)")
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
    if args.simulate:
        row["simulation"] = _simulate(items, fields, args.simulate, args.max_strata)
    row["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(row))


if __name__ == "__main__":
    main()
