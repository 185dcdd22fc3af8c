"""``--workers 1`` in dqm's own process against a pool of one worker process (what it is when
the profile sets ``limits.item_seconds``): wall and CPU time (this process and its children).

    PYTHONPATH=. python benchmarks/bench_one_worker.py BATCH [--slides] [--repeat 3]

Prints one line per mode and repeat. BATCH: e.g. ``dqm synth /tmp/x --slides 60 --seed 7`` or a
folder of real slides with a manifest.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

from dqm.profile import load_profile
from dqm.runner import RunOptions, run_batch


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("batch", type=Path)
    parser.add_argument("--slides", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    profile = load_profile(None)
    limited = profile.model_copy(update={"limits": profile.limits.model_copy(update={"item_seconds": 600.0})})
    options = RunOptions(workers=1, slides=args.slides, clinical=False)
    run_batch(args.batch, profile, options)  # imports and caches warm
    for r in range(args.repeat):
        for name, prof in (("in-process", profile), ("one child", limited)):
            wall, cpu = time.perf_counter(), _cpu()
            run = run_batch(args.batch, prof, options)
            print(
                f"{name:10s} repeat {r}: {len(run.outcomes)} items, "
                f"wall {time.perf_counter() - wall:6.2f} s, cpu {_cpu() - cpu:6.2f} s"
            )


if __name__ == "__main__":
    main()
