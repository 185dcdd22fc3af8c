"""What the Dask cluster dqm starts costs the main process's memory, with N trivial items.

Issue 13 §5 asks whether the ``LocalCluster`` dqm starts for ``--executor dask`` (its scheduler
and nannies run in the main process) costs memory there. This maps a trivial function over N
small items with :func:`dqm.executors.dask_map` (chunks, bounded waves, futures released) and reads
the main process's RSS: after the cluster started, and its growth while the items ran. ``--cluster
subprocess`` starts distributed's experimental ``SubprocessCluster`` instead (the scheduler and
the workers in processes of their own), for comparison.

    python benchmarks/bench_dask_memory.py --items 400000 [--cluster local|subprocess]

Measured (2 cores shared, 2 workers; load average in the last column):

=============================  =======  ===================  =================  ======  ====
cluster                        items    started (+ items)    growth over run    wall    load
=============================  =======  ===================  =================  ======  ====
dqm's LocalCluster             400,000  129 MiB              85 MiB             30 s    3.8
SubprocessCluster              400,000  128 MiB              15 MiB             35 s    5.4
dqm's LocalCluster             100,000  68 MiB               30 MiB             34 s    9
dqm's LocalCluster             20,000   51 MiB               7 MiB              1.5 s   2.7
=============================  =======  ===================  =================  ======  ====

"Started" includes the list of N items (about 80 MiB at 400,000). The in-process scheduler and
nannies cost about 50 MiB to start and grow by about 0.2-0.35 KiB an item, some 55 KiB a task of
256 items (the scheduler's containers stay small and its logs at their bounds: no setting caps
this growth): about 250 MiB projected at a million items. dqm keeps the LocalCluster: the SubprocessCluster's scheduler and workers outlive a
main process that is killed (``kill -9``, the out-of-memory killer), where the LocalCluster's
workers exit with it (checked by hand: three orphaned ``dask spec`` processes against none).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dqm.executors import DaskOptions, dask_client, dask_map


def _rss_mib() -> int:
    m = re.search(r"^VmRSS:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    return int(m.group(1)) // 1024 if m else 0


def _echo(item: tuple[str, str], _shared: int) -> tuple[str, str]:
    return item[0], "x" * 50


@contextmanager
def _client(kind: str, workers: int) -> Iterator[Any]:
    if kind == "local":
        with dask_client(DaskOptions(workers=workers)) as client:
            yield client
        return
    from distributed import Client
    from distributed.deploy.subprocess import SubprocessCluster

    with (
        SubprocessCluster(
            host="127.0.0.1", n_workers=workers, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--cluster", choices=("local", "subprocess"), default="local")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    start = _rss_mib()
    items = [(f"S{i:07d}", f"annotations/{i // 1000:04d}/S{i:07d}.json") for i in range(args.items)]
    t0 = time.perf_counter()
    with _client(args.cluster, args.workers) as client:
        started = _rss_mib()
        done = sum(1 for _ in dask_map(client, _echo, items, shared=(1,)))
        after = _rss_mib()
    record = {
        "cluster": args.cluster,
        "items": done,
        "wall_s": round(time.perf_counter() - t0, 1),
        "started_mib": started - start,
        "growth_mib": after - started,
        "load_average": round(os.getloadavg()[0], 1),
    }
    print(json.dumps(record))


if __name__ == "__main__":
    main()
