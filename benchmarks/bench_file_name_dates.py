"""Findings and CPU time of the batch's file-name checks on a synthetic listing whose every name is
dated (``slides/2024-03-01_S00001.svs``…, a delivery that dates every file) or a random UUID:
``deid.other_names``, ``deid.file_name_dates`` where this dqm has it, and ``deid.file_names`` over
as many items.

    PYTHONPATH=. /work/main/.venv/bin/python benchmarks/bench_file_name_dates.py --files 34000
    PYTHONPATH=/path/to/base /work/main/.venv/bin/python benchmarks/bench_file_name_dates.py   # before

The checks of a listing share one profile, as a run's do: ``file_name_dates`` reads the hits the
name check found for the same names (``dqm.identifiers.file_name_hits``). Measured (session 26,
deid10, 34,000 dated names, ``nice``): ``file_name_dates`` 2.91 s of CPU at f902311 (every dated
name searched again), 0.36 s after; ``other_names`` 2.85 s and 3.25 s (a shared 2-core machine).
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from collections import Counter

from dqm.profile import Profile, load_profile
from validators import REGISTRY
from validators.context import BatchView
from validators.engine import configure
from validators.registry import CheckContext


def _run(check: str, files: tuple[str, ...], profile: Profile) -> tuple[list, float]:
    spec = REGISTRY[check]
    cfg = {c.id: c for c in configure(profile)}[check]
    ctx = CheckContext(spec, "batch", cfg.severities, "manifest.csv")
    view = BatchView(profile, [], "manifest.csv", files=files)
    start = time.process_time()
    found = spec.func(view, cfg.params, ctx)
    return found, time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=34_000)
    args = parser.parse_args()
    rng = random.Random(25)
    listings = {
        "dated": tuple(
            f"slides/{2000 + i % 25}-{1 + i % 12:02d}-{1 + i % 28:02d}_S{i:05d}.svs"
            for i in range(args.files)
        ),
        "uuid": tuple(
            f"slides/{uuid.UUID(int=rng.getrandbits(128), version=4)}.svs" for _ in range(args.files)
        ),
    }
    for label, files in listings.items():
        profile = load_profile()  # one a listing, shared by its checks as a run shares it
        for check in ("deid.other_names", "deid.file_name_dates"):
            if check not in REGISTRY:
                print(f"{label:6} {check:22} (not in this dqm)")
                continue
            found, cpu = _run(check, files, profile)
            codes = dict(Counter(f.code for f in found))
            print(f"{label:6} {check:22} {len(found):6} findings {codes} {cpu:.2f} s CPU")


if __name__ == "__main__":
    main()
