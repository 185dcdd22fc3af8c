"""dqm convert's writes: N small files written one by one with write_file (two fsyncs a file: the
file, then its folder) against FileBatch (the files written, flushed together on a few threads in
groups of 256, renamed, the folder flushed once a group): the same durability.

    /work/main/.venv/bin/python benchmarks/bench_convert_write.py [N] [SIZE] [FOLDER]

FOLDER (default: a temporary folder under /tmp) must be on the disk measured (tmpfs has no fsync
cost). Prints wall and CPU milliseconds a file for each writer.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from dqm.output import FileBatch, write_file


def _timed(label: str, n: int, write: object) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    write()  # type: ignore[operator]
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label:12} {n} files: {1000 * wall / n:.2f} ms a file wall, {1000 * cpu / n:.2f} ms CPU")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    where = Path(sys.argv[3]) if len(sys.argv) > 3 else None
    data = b"x" * size
    with tempfile.TemporaryDirectory(dir=where) as tmp:
        one, batch = Path(tmp) / "one", Path(tmp) / "batch"

        def by_file() -> None:
            for k in range(n):
                write_file(one / f"{k}.json", data, binary=True)

        def by_batch() -> None:
            with FileBatch() as files:
                for k in range(n):
                    files.write(batch / f"{k}.json", data, binary=True)

        _timed("write_file", n, by_file)
        _timed("FileBatch", n, by_batch)
        assert sorted(p.name for p in one.iterdir()) == sorted(p.name for p in batch.iterdir())


if __name__ == "__main__":
    main()
