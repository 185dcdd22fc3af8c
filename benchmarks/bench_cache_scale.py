"""Benchmark: the result cache holding a million entries (issue 13 §2, red team round 5).

Builds a cache database as a dqm made before entries kept the day they were last used (the
``records`` table of key and record, ``--entries`` rows of ``--size`` random bytes), then times
through :class:`dqm.cache.RecordCache`: the first opening (which adds the day column and its
index), a later opening, looking up 10,000 random keys on a new day (each found entry marked as
used) and on the same day, closing with nothing to prune, and closing a month later (every entry
unused: at most ``PRUNE_AT_LEAST`` and two for each stored are deleted).

Measured (2026-12-05, 2 cores shared with other engineers' runs; ``--entries 1000000 --size
2000``, a 4.0 GB database; one run, about 80 s with building it): first opening 2.1 s, opening
0.4 ms, lookups 105 µs an item on a new day and 17 µs on the same day, closing 18 ms, closing a
month on (10,000 entries pruned) 0.74 s; the file keeps its size (SQLite reuses the freed pages).
Before pruning was bounded, closing a month on deleted 990,000 entries in 146 s. A real entry is about 12.6 KB (a
synthetic 200-slide batch): a million of them are about 12 GB.

Usage: python benchmarks/bench_cache_scale.py [--entries 1000000] [--size 2000] [--data DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

import dqm.cache
from dqm.cache import DB_NAME, RecordCache


def build(folder: Path, entries: int, size: int) -> list[str]:
    """An old-format cache of ``entries`` rows; their keys."""
    keys = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(entries)]
    blob = os.urandom(size)
    db = sqlite3.connect(folder / DB_NAME)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE records (key TEXT PRIMARY KEY, record BLOB NOT NULL)")
    db.execute("CREATE TABLE tables (key TEXT PRIMARY KEY, outcome BLOB NOT NULL)")
    for start in range(0, entries, 50_000):
        db.executemany("INSERT INTO records VALUES (?, ?)", ((k, blob) for k in keys[start : start + 50_000]))
        db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return keys


def timed(label: str, fn, per: int = 1) -> None:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    shown = f"{seconds * 1e6 / per:.0f} µs an item" if per > 1 else f"{seconds * 1000:.1f} ms"
    print(f"{label}: {shown}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument(
        "--data", type=Path, default=None, help="a folder for the database (default: a temporary one)"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(dir=args.data))
    try:
        start = time.perf_counter()
        keys = build(folder, args.entries, args.size)
        mib = (folder / DB_NAME).stat().st_size / 2**20
        print(
            f"built {args.entries:,} entries of {args.size:,} B: {time.perf_counter() - start:.1f} s, {mib:,.0f} MiB"
        )
        root = folder  # no item is keyed: the batch folder is not read
        timed("first opening", lambda: RecordCache(folder, root, "context").close())
        cache = RecordCache(folder, root, "context")
        cache.close()
        timed("opening", lambda: RecordCache(folder, root, "context").close())
        sample = random.Random(1).sample(keys, min(10_000, len(keys)))
        cache = RecordCache(folder, root, "context")
        assert cache._db is not None

        def lookup(day: int) -> None:
            assert cache._db is not None
            for at in range(0, len(sample), dqm.cache.LOOKUP_CHUNK):
                chunk = sample[at : at + dqm.cache.LOOKUP_CHUNK]
                marks = ",".join("?" * len(chunk))
                query = f"SELECT key, record, used FROM records WHERE key IN ({marks})"
                rows = cache._db.execute(query, chunk).fetchall()
                if stale := [key for key, _, used in rows if (used or 0) < day]:
                    cache._used(stale, day)

        today = dqm.cache._today()
        timed("lookups on a new day", lambda: lookup(today + 1), per=len(sample))
        timed("lookups on the same day", lambda: lookup(today + 1), per=len(sample))
        timed("closing", cache.close)
        later = today + dqm.cache.KEEP_DAYS + 2
        dqm.cache._today = lambda: later  # type: ignore[assignment]
        cache = RecordCache(folder, root, "context")
        timed("closing a month on", cache.close)
        left = sqlite3.connect(folder / DB_NAME).execute("SELECT count(*) FROM records").fetchone()[0]
        mib = (folder / DB_NAME).stat().st_size / 2**20
        print(f"pruned {args.entries - left:,} entries; file {mib:,.0f} MiB")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
