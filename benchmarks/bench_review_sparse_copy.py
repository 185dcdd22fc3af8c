"""Benchmark: what reading a sparse review database beside a ``-wal`` costs (time, disk written).

:func:`dqm.semantic.server.db._read_uri` copies a review database that has a ``-wal`` beside it
into a temporary folder and reads the copy. A ``review.sqlite`` grown sparse (a real review
database, then ``truncate`` to ``--size`` GiB: nothing more on disk) beside an empty ``-wal`` is
opened read only (what ``dqm review ingest`` and ``export`` do); reported: wall and CPU time of
the open, and the copy's apparent size and the bytes it takes on disk (``st_blocks``). Each size
is its own run; 8 GiB is over ``DB_CAP`` (refused, nothing copied).

Usage: PYTHONPATH=. python benchmarks/bench_review_sparse_copy.py [--size 3.9 --size 8]
       [--data /tmp/bench-review-sparse]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import time
from pathlib import Path

from dqm.semantic.server.db import ReviewDB, ReviewDBError


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def one(folder: Path, gib: float) -> str:
    """The open of a ``gib`` GiB sparse database beside an empty ``-wal``, measured."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    path = folder / "review.sqlite"
    db = ReviewDB(path, "plan-1")
    kim = db.reviewer_by_token(db.add_reviewer("Kim"))
    assert kim is not None
    db.record(kim, "S1", "pass")
    db._con().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    with path.open("r+b") as fh:
        fh.truncate(int(gib * (1 << 30)))
    (folder / "review.sqlite-wal").write_bytes(b"")
    wall, cpu = time.perf_counter(), _cpu()
    try:
        got = ReviewDB(path, "plan-1", readonly=True)
    except ReviewDBError as exc:
        return f"{gib} GiB: refused in {time.perf_counter() - wall:.2f} s wall ({str(exc)[:60]}…)"
    try:
        wall, cpu = time.perf_counter() - wall, _cpu() - cpu
        assert got._copy is not None
        st = (Path(got._copy.name) / "review.sqlite").stat()
        rows = len(got.current())
    finally:
        got.close()
    shutil.rmtree(folder, ignore_errors=True)
    return (
        f"{gib} GiB: {wall:.2f} s wall, {cpu:.2f} s CPU; copy {st.st_size} bytes, "
        f"{st.st_blocks * 512} on disk; {rows} verdict"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=float, action="append")
    parser.add_argument("--data", type=Path, default=Path("/tmp/bench-review-sparse"))
    args = parser.parse_args()
    for gib in args.size or [3.9, 8.0]:
        print(one(args.data, gib), flush=True)


if __name__ == "__main__":
    main()
