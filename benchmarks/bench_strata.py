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

With ``--simulate SEEDS`` it also draws the plan at seeds ``0 … SEEDS-1`` and reviews each over
``--truths`` known truths (20) at each of four accuracies (a slide fails with probability ``f``,
three times ``f`` at age 90 or more, 2.5 times at every seventh institution, 4.5 times at both;
``f`` = 0.5, 1, 2 and 4 %: accuracies about 0.99, 0.98, 0.97 and 0.93), and reports per accuracy
the stratified estimate's bias, the coverage of its 95 % intervals (and on which side they miss),
the coverage the normal interval alone would have had, and their mean width next to a simple random
sample's Wilson interval at the plan's ``n`` (finite-population corrected) — the figures of docs/semantic.md §6
(20 × 20 = 400 trials an accuracy)::

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_strata.py --rows 34376 --strata age,institution --simulate 20
    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_strata.py --rows 3000 --strata age,institution --simulate 20

``--first-seed K`` draws the plans at seeds ``K … K+SEEDS-1`` and the truths from ``100 + K`` (a
second set of trials). ``--classes K`` gives the slides a diagnosis of ``K`` Zipf-like classes
(weights ``1/(j+1)^1.5``) and ``--sites`` the number of institutions (60): a lot of few strata,
where a plan may hold a *lone* cell of one reviewed slide (``plans_with_a_lone_cell``; per
accuracy ``lone_cell_trials``, their coverage and mean width), the figures of docs/semantic.md §6::

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_strata.py --rows 3000 --strata diagnosis --sites 1 --classes 8 --simulate 20

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


def _simulate(items, fields, seeds, truths, max_strata, first=0):  # type: ignore[no-untyped-def]
    import statistics

    from dqm.semantic.estimate import cell_counts, weighted_estimate
    from dqm.semantic.intervals import effective_n, wilson_half_width, z_value
    from dqm.semantic.models import PlanBatch
    from dqm.semantic.planfile import PlanOptions, build_plan

    n = len(items)
    batch = PlanBatch(path="/b", fingerprint="f" * 64, n_items=n, profile="p", profile_sha256="0")
    cpu = time.process_time()
    plans = [
        build_plan(items, batch, PlanOptions(strata=fields, seed=seed, max_strata=max_strata))
        for seed in range(first, first + seeds)
    ]
    risk = [
        1 + 2 * (float(i.clinical["age"] or 0) >= 90) + 1.5 * (int(i.institution[1:]) % 7 == 0) for i in items
    ]
    rows = []
    for base in (0.005, 0.01, 0.02, 0.04):  # accuracies about 0.99, 0.98, 0.97, 0.93
        trials = []  # (truth, estimate, a lone cell of one reviewed slide)
        for t in range(truths):
            rng = random.Random(100 + first + t)
            truth = {
                i.slide_id: "fail" if rng.random() < base * r else "pass"
                for i, r in zip(items, risk, strict=True)
            }
            accuracy = sum(v == "pass" for v in truth.values()) / n
            for plan in plans:
                cells = cell_counts(plan, {s.slide_id: truth[s.slide_id] for s in plan.sample})
                lone = sum(r == 1 < n_c for n_c, r, _ in cells.values()) == 1
                trials.append((accuracy, weighted_estimate(cells, n), lone))
        truth_mean = statistics.mean(a for a, _, _ in trials)
        z = z_value(0.95)
        normal = [abs(e.accuracy - a) <= z * e.standard_error for a, e, _ in trials]  # [0, 1] holds a anyway
        srs = 2 * wilson_half_width(truth_mean, effective_n(plans[0].plan_sample_size, n))
        width = statistics.mean(e.ci_high - e.ci_low for _, e, _ in trials)
        rows.append(
            {
                "truth": round(truth_mean, 4),
                "trials": len(trials),
                "bias": round(statistics.mean(e.accuracy - a for a, e, _ in trials), 4),
                "coverage": round(statistics.mean(e.ci_low <= a <= e.ci_high for a, e, _ in trials), 3),
                "misses_below_truth": sum(e.ci_high < a for a, e, _ in trials),
                "misses_above_truth": sum(e.ci_low > a for a, e, _ in trials),
                "normal_alone_coverage": round(statistics.mean(normal), 3),
                "widened_to_wilson": round(statistics.mean(e.ci_method != "normal" for _, e, _ in trials), 3),
                "sd_of_estimates": round(statistics.stdev(e.accuracy for _, e, _ in trials), 4),
                "mean_standard_error": round(statistics.mean(e.standard_error for _, e, _ in trials), 4),
                "mean_width": round(width, 4),
                "srs_wilson_width": round(srs, 4),
                "width_over_srs": round(width / srs, 3),
                "lone_cell_trials": len(lone := [(a, e) for a, e, x in trials if x]),
                "lone_cell_coverage": round(statistics.mean(e.ci_low <= a <= e.ci_high for a, e in lone), 3)
                if lone
                else None,
                "lone_cell_mean_width": round(statistics.mean(e.ci_high - e.ci_low for _, e in lone), 4)
                if lone
                else None,
            }
        )
    singles = [sum(c.sampled == 1 for st in p.strata for c in st.cells) for p in plans]
    lone = sum(sum(c.sampled == 1 < c.lot for st in p.strata for c in st.cells) == 1 for p in plans)
    return {
        "seeds": seeds,
        "truths": truths,
        "accuracies": rows,
        "cells_of_one_drawn_slide": round(statistics.mean(singles), 1),
        "plans_with_a_lone_cell": lone,
        "strata": len(plans[0].strata),
        "mean_reviewed": round(statistics.mean(p.sample_size for p in plans), 1),
        "cpu_s": round(time.process_time() - cpu, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--strata", default="size_mm,institution")
    parser.add_argument("--plan", action="store_true", help="also time build_plan (the whole plan)")
    parser.add_argument("--seed", type=int, default=0, help="the draw's seed (--plan)")
    parser.add_argument("--simulate", type=int, default=0, help="plan seeds of the known-truth simulation")
    parser.add_argument("--truths", type=int, default=20, help="truths drawn per accuracy (--simulate)")
    parser.add_argument(
        "--first-seed", type=int, default=0, help="the first plan seed and truth (--simulate)"
    )
    parser.add_argument("--classes", type=int, default=0, help="Zipf-like diagnoses (0: none)")
    parser.add_argument("--sites", type=int, default=60, help="institutions")
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
            institution=f"H{k % args.sites:02d}",
            clinical={"age": str(rng.randint(0, 120)), "size_mm": f"{rng.random() * 40:.6f}"},
        )
        for k in range(args.rows)
    ]
    if args.classes:  # drawn after the rows' own values, so the lot without classes is unchanged
        names = [f"D{j:03d}" for j in range(args.classes)]
        weights = [1 / (j + 1) ** 1.5 for j in range(args.classes)]
        items = [i.model_copy(update={"diagnosis": rng.choices(names, weights=weights)[0]}) for i in items]
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
        row["simulation"] = _simulate(
            items, fields, args.simulate, args.truths, args.max_strata, args.first_seed
        )
    row["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(row))


if __name__ == "__main__":
    main()
