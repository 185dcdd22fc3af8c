"""Writes per second and CPU time of dqm's atomic writer (``dqm.output.write_file``) for 2,000
small files in one folder while a batch is registered (every write checks its folder against
the batches read: the check a run of lots, sheets and checkpoints pays once a file).

    PYTHONPATH=. python benchmarks/bench_output_writes.py [--files 2000] [--depth 12]

``--depth``: how deep the output folder is (the identity check walks up by ``..``). Each file
is written with ``durable=False`` (no ``fsync``: the disk's flush time would hide the CPU)."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from dqm.output import forget_batches, forget_written, never_into, write_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--depth", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        batch = Path(root) / "batch"
        batch.mkdir()
        never_into(batch)
        out = Path(root).joinpath(*(f"d{k}" for k in range(args.depth)))
        out.mkdir(parents=True)
        wall, cpu = time.perf_counter(), time.process_time()
        for k in range(args.files):
            write_file(out / f"f{k}.txt", f"{k}\n", durable=False)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        forget_batches()
        forget_written()
    print(
        f"{args.files} files at depth {args.depth}: {args.files / wall:,.0f} writes/s wall, "
        f"{cpu:.3f} s CPU ({cpu / args.files * 1e3:.3f} ms CPU a write)"
    )


if __name__ == "__main__":
    main()
