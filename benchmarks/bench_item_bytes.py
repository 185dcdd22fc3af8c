"""What each item costs the main process after the run, by what holds it (issue 13 §5).

Runs the batch of :mod:`bench_scale` (N native annotation files, 5 % with three defects each) through
``run_batch`` and ``build_result`` in this process (local pool, records kept lean as above 10,000
items), then walks what the run and the result keep: each object is counted once, under the first
holder that reaches it (the profile first, then the discovery's items, the run's records, the
result's file list), by ``sys.getsizeof`` (a numpy array by its bytes).

    python benchmarks/bench_item_bytes.py [--items 12000] [--work DIR]

Prints bytes per item for each holder and writes ``benchmarks/_data/bench_item_bytes-N.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


class Sizes:
    """Deep sizes, each object counted once over every call."""

    def __init__(self) -> None:
        self.seen: set[int] = set()

    def of(self, root: Any) -> int:
        import numpy as np
        from pydantic import BaseModel

        total, stack = 0, [root]
        while stack:
            x = stack.pop()
            if x is None or isinstance(x, bool | type) or id(x) in self.seen:
                continue
            self.seen.add(id(x))
            total += x.nbytes + 112 if isinstance(x, np.ndarray) else sys.getsizeof(x)
            if isinstance(x, dict):
                stack += [*x.keys(), *x.values()]
            elif isinstance(x, list | tuple | set | frozenset):
                stack += list(x)
            elif not isinstance(x, str | int | float | bytes | bytearray | np.ndarray):
                stack += [getattr(x, s) for s in getattr(type(x), "__slots__", ()) if hasattr(x, s)]
                if hasattr(x, "__dict__"):
                    stack.append(x.__dict__)
                if isinstance(x, BaseModel):
                    stack.append(x.__pydantic_fields_set__)
        return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=12_000)
    parser.add_argument("--work", type=Path, default=Path(os.environ.get("DQM_BENCH_WORK", "/tmp")))
    args = parser.parse_args()
    sys.path[:0] = [str(REPO), str(HERE)]
    from bench_scale import profile_file, write_batch

    from dqm.audit import build_result
    from dqm.profile import load_profile
    from dqm.runner import RunOptions, run_batch

    work = args.work / "dqm-bench-scale"
    batch = work / f"batch-{args.items}"
    batch.mkdir(parents=True, exist_ok=True)
    write_batch(batch, args.items)
    profile = load_profile(profile_file(work))
    run = run_batch(batch, profile, RunOptions(workers=2, whole_records=False))
    result = build_result(run, ["dqm", "audit"])
    sizes, held = Sizes(), Counter[str]()
    sizes.of(profile)
    held["discovery items"] = sum(sizes.of(item) for item in run.discovery.items)
    records = run.outcomes
    held["findings"] = sizes.of(getattr(records, "_findings", None)) or sum(
        sizes.of(o.findings) for o in records
    )
    if hasattr(records, "summaries"):  # columns: every column of the store
        held["summaries"] = sizes.of(vars(records.summaries()))
        held["records (without summaries)"] = sizes.of(vars(records))
    else:  # a list of record objects
        held["summaries"] = sum(sizes.of(o.summary) for o in records)
        held["records (without summaries)"] = sizes.of(records)
    files = result.batch.files
    held["batch.files"] = sizes.of(vars(files) if hasattr(files, "row") else files)
    n = len(records)
    rows = {name: round(total / n, 1) for name, total in held.items()}
    rows["total"] = round(sum(held.values()) / n, 1)
    for name, value in rows.items():
        print(f"{name:30s} {value:8.1f} B/item")
    data = HERE / "_data"
    data.mkdir(exist_ok=True)
    (data / f"bench_item_bytes-{args.items}.json").write_text(
        json.dumps({"items": n, "bytes": rows}, indent=1)
    )


if __name__ == "__main__":
    main()
