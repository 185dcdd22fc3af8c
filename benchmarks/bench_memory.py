"""Where the main process's memory goes, step by step, in one simulated audit (issue 13 §5).

Runs ``dqm audit`` on the batch of :mod:`bench_scale` (N small native annotation files, 5 % with
three defects each) in this process, with the local pool (``--executor local --workers 2``), and
reads this process's resident memory (``VmRSS``) before and after each step: discovery, the run,
the clinical table, the batch checks, building the result, diversity, thumbnails, rendering and
writing the outputs, with the peak within each step (``VmHWM``, reset at every step where the
kernel allows it).

    python benchmarks/bench_memory.py --items 100000 [--work DIR] [--warm] [--executor dask]

Prints one line per step and writes ``benchmarks/_data/bench_memory-N.json`` (``-warm`` with
``--warm``: a first audit, in another process, fills the result cache, and the audit measured here
takes every item from it; ``-dask`` with ``--executor dask``: the audit of ``bench_scale.py``, its
client and ``LocalCluster`` scheduler in this process, step by step).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
STEPS = (
    ("dqm.runner", "discover", "discovery"),
    ("dqm.runner", "clinical_table", "clinical table"),
    ("dqm.runner", "run_batch_checks", "batch checks"),
    ("dqm.audit", "build_result", "build_result"),
    ("dqm.cli.audit", "_diversity", "diversity"),
    ("dqm.thumbnails", "with_thumbnails", "thumbnails"),
    ("reports.outputs", "render_outputs", "rendering"),
    ("reports.outputs", "write_rendered", "writing"),
)


def _mib(field: str) -> float:
    text = Path("/proc/self/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) / 1024 if match else 0.0


class Steps:
    """The memory after each step and the peak since the one before."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.t0 = time.perf_counter()

    def mark(self, name: str) -> None:
        row = {
            "at": name,
            "rss_mib": round(_mib("VmRSS")),
            "peak_since_last_mib": round(_mib("VmHWM")),
            "s": round(time.perf_counter() - self.t0, 1),
        }
        self.rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
        with contextlib.suppress(OSError):  # the peak starts again from here (Linux)
            Path("/proc/self/clear_refs").write_text("5")

    def wrap(self, module: Any, name: str, label: str) -> None:
        f: Callable[..., Any] = getattr(module, name)

        @functools.wraps(f)
        def step(*args: Any, **kwargs: Any) -> Any:
            self.mark(f"before {label}")
            out = f(*args, **kwargs)
            self.mark(f"after {label}")
            return out

        setattr(module, name, step)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--work", type=Path, default=Path(os.environ.get("DQM_BENCH_WORK", "/tmp")))
    parser.add_argument("--warm", action="store_true", help="measure an audit served by the result cache")
    parser.add_argument("--executor", choices=("local", "dask"), default="local")
    args = parser.parse_args()
    sys.path[:0] = [str(REPO), str(HERE)]
    import importlib

    from bench_scale import profile_file, write_batch

    import dqm.cli

    work = args.work / "dqm-bench-scale"
    batch, out = work / f"batch-{args.items}", work / f"memory-out-{args.items}"
    batch.mkdir(parents=True, exist_ok=True)
    write_batch(batch, args.items)
    shutil.rmtree(out, ignore_errors=True)
    command = ["audit", str(batch), "--out", str(out), "--profile", str(profile_file(work))]
    command += ["--executor", args.executor, "--workers", "2"]
    if args.warm:  # the cold audit in its own process: its memory is not this one's
        subprocess.run(
            [sys.executable, "-m", "dqm", *command], cwd=REPO, stdout=subprocess.DEVNULL, check=False
        )
    steps = Steps()
    for module, name, label in STEPS:
        steps.wrap(importlib.import_module(module), name, label)
    steps.mark("start")
    try:
        dqm.cli.app(command, standalone_mode=True)
    except SystemExit as exc:
        print(f"dqm audit exited {exc.code}", file=sys.stderr)
    steps.mark("end")
    data = HERE / "_data"
    data.mkdir(exist_ok=True)
    record = {
        "items": args.items,
        "warm": args.warm,
        "executor": args.executor,
        "steps": steps.rows,
        "load_average": os.getloadavg()[0],
    }
    name = f"bench_memory-{args.items}{'-warm' if args.warm else ''}{'-dask' if args.executor == 'dask' else ''}.json"
    (data / name).write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
