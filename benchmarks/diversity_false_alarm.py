"""False-alarm rate and power of the diversity dimension, over seeded synthetic releases.

For each draw, a baseline and a current batch are drawn from the same synthetic cohort
(:func:`dqm.synth.summaries.synthetic_items`, different seeds). A *false alarm* is a drift
verdict other than pass, or a gated family test (class × institution, age by institution, class
fit) that warns or fails, although nothing changed. Then the same draws are shifted (patients
12 years older; 4 years older; a fifth of the slides moved to a new institution) and the detection rate is
counted; a small shift (4 years older) shows the power is not trivially 1. Run::

    flock /tmp/dqm-heavy.lock .venv/bin/python benchmarks/diversity_false_alarm.py --draws 200 --slides 200
"""

from __future__ import annotations

import argparse
import collections
import time

from dqm.diversity import diversity_result
from dqm.diversity.analyse import summaries_of
from dqm.diversity.models import BaselineInfo
from dqm.profile import load_profile
from dqm.results import ItemSummary
from dqm.synth.summaries import synthetic_items


def older(items: list[ItemSummary], years: int = 12) -> list[ItemSummary]:
    return [
        i.model_copy(update={"clinical": {**i.clinical, "age": str(int(i.clinical["age"] or 0) + years)}})
        for i in items
    ]


def new_institution(items: list[ItemSummary]) -> list[ItemSummary]:
    return [i.model_copy(update={"institution": "Jeju-E"}) if k % 5 == 0 else i for k, i in enumerate(items)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=200)
    ap.add_argument("--slides", type=int, default=200, help="slides in each release")
    args = ap.parse_args()
    profile = load_profile()
    flagged = collections.Counter()
    why = collections.Counter()
    started = time.perf_counter()
    for s in range(args.draws):
        base = synthetic_items(args.slides, seed=10_000 + s)
        cur = synthetic_items(args.slides, seed=20_000 + s, prefix="T")
        baseline = (
            summaries_of(base, profile),
            BaselineInfo(source="results", path="-", n_items=args.slides, from_summaries=True),
        )
        same = diversity_result(cur, profile, baseline)
        assert same.drift is not None
        drift_flag = same.drift.verdict != "pass"
        family_flag = any(t.in_family and t.gated and t.decision != "pass" for t in same.tests)
        flagged["drift"] += drift_flag
        flagged["tests"] += family_flag
        flagged["either"] += drift_flag or family_flag
        why.update(
            f"drift:{v.name}:{v.decision}" for v in same.drift.variables if v.decision in ("warn", "fail")
        )
        why.update(
            f"test:{t.name}:{t.decision}"
            for t in same.tests
            if t.in_family and t.decision in ("warn", "fail")
        )
        shifts = (
            ("12 years older", older(cur, 12)),
            ("4 years older", older(cur, 4)),
            ("new institution", new_institution(cur)),
        )
        for label, shifted in shifts:
            d = diversity_result(shifted, profile, baseline)
            assert d.drift is not None
            flagged[f"detected: {label}"] += d.drift.verdict != "pass"
    seconds = time.perf_counter() - started
    n = args.draws
    print(f"{n} draws of {args.slides} + {args.slides} slides, {seconds:.1f} s")
    print(f"false alarms, drift verdict not pass: {flagged['drift']}/{n} = {flagged['drift'] / n:.3f}")
    print(
        f"false alarms, a gated family test warns or fails: {flagged['tests']}/{n} = {flagged['tests'] / n:.3f}"
    )
    print(f"false alarms, either: {flagged['either']}/{n} = {flagged['either'] / n:.3f}")
    for label in ("12 years older", "4 years older", "new institution"):
        k = flagged[f"detected: {label}"]
        print(f"detected shift ({label}): {k}/{n} = {k / n:.3f}")
    for reason, count in why.most_common():
        print(f"  {count:4d}  {reason}")


if __name__ == "__main__":
    main()
