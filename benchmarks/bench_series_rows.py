"""Benchmark: the result cache's remembered series of crowded DICOM folders (session 26, cache3).

Each "run" is what an audit does with the cache before it checks anything: open it, key the
batch's every item (:meth:`dqm.cache.RecordCache.keys`, with ``batch=True`` where the code has
it, as :func:`dqm.runner.run_batch` calls it), close it. A crowded folder is the real
``boxes_0.dcm`` beside ``MAX_PARTS + extra`` synthetic files of its series. Three scenes:

* ``changing``: 50 runs over a batch whose crowded folder is renamed every run (a new delivery
  folder, the old one gone) and every fifth run one more file joins it: the remembered rows
  left in the cache and the database's size after each tenth run;
* ``deliveries`` (cache3f): 50 runs, each over a new batch folder (a delivery in a new folder,
  the last one deleted) holding one crowded folder: the rows left and the database's size after
  each tenth run, and the headers a second run of the last delivery reads;
* ``contexts``: two contexts (two profiles) alternating on one cache, six runs: headers read each;
* ``stray``: a folder with one stray file of another series (no item's slide): headers read and
  CPU time of a cold and two warm runs (since cache3f a warm run reads the stray's header again).

Headers read are :func:`dqm.slide_refs._series` calls, counted. Runs on any dqm of session 25 or
later (``PYTHONPATH=/path/to/checkout``) to compare.

Usage: nice python benchmarks/bench_series_rows.py [--scene changing|deliveries|contexts|stray] [--extra 50]
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import shutil
import sqlite3
import sys
import time
from contextlib import closing
from pathlib import Path

ROOT = Path(os.environ.get("PYTHONPATH", "").split(os.pathsep)[0] or Path(__file__).resolve().parents[1])
sys.path.insert(0, str(ROOT))

from dqm import slide_refs  # noqa: E402
from dqm.batch import discover  # noqa: E402
from dqm.cache import DB_NAME, SERIES_ROW, RecordCache  # noqa: E402
from dqm.file_digests import RACY_NS  # noqa: E402
from tests.helpers import native_doc  # noqa: E402
from tests.test_dicom_parts import dicom  # noqa: E402

REAL = Path(__file__).resolve().parents[1].parent / "shared/data/real/slides/boxes_0.dcm"
BATCH_ARG = "batch" in inspect.signature(RecordCache.keys).parameters
READS = [0]


def _counting() -> None:
    real = slide_refs._series

    def counted(fh, strict):  # type: ignore[no-untyped-def]
        READS[0] += 1
        return real(fh, strict)

    slide_refs._series = counted  # type: ignore[assignment]


def crowded(batch: Path, name: str, members: int, stray: bool = False) -> None:
    """A folder ``name`` in ``batch``: the real slide, ``members`` files of its series, its annotation."""
    folder = batch / name
    folder.mkdir(parents=True)
    shutil.copy(REAL, folder / "boxes_0.dcm")
    series = slide_refs.series_of(str(folder / "boxes_0.dcm"), kept=False)
    for i in range(members):
        (folder / f"m{i:05d}").write_bytes(dicom(series))
    if stray:
        (folder / "zz_stray").write_bytes(dicom("1.2.3.55"))
    doc = native_doc(file=f"{name}/boxes_0.dcm", width=16, height=16)
    (folder / "boxes_0.json").write_text(json.dumps(doc))


def run(batch: Path, cache: Path, context: str = "plain") -> tuple[int, float]:
    """Headers read and CPU seconds of one run's keying of ``batch``."""
    READS[0] = 0
    cpu = time.process_time()
    with RecordCache(cache, batch, context) as rc:
        items = discover(batch).items
        rc.keys(items, batch=True) if BATCH_ARG else rc.keys(items)
    return READS[0], time.process_time() - cpu


def rows(cache: Path) -> int:
    """Remembered series rows, in either format."""
    with closing(sqlite3.connect(cache / DB_NAME)) as db:
        bounds = (SERIES_ROW, SERIES_ROW[:-1] + chr(ord(SERIES_ROW[-1]) + 1))
        n = db.execute("SELECT count(*) FROM tables WHERE key >= ? AND key < ?", bounds).fetchone()[0]
        if db.execute("SELECT name FROM sqlite_master WHERE name = 'series'").fetchone():
            n += db.execute("SELECT count(*) FROM series").fetchone()[0]
    return int(n)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scene", choices=("changing", "deliveries", "contexts", "stray"), action="append")
    parser.add_argument("--extra", type=int, default=50)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--data", type=Path, default=Path("/tmp/bench-series-rows"))
    args = parser.parse_args()
    _counting()
    members = slide_refs.MAX_PARTS + args.extra
    print(f"dqm at {ROOT}; keys(batch=) {'yes' if BATCH_ARG else 'no'}; {members} members a folder")
    for scene in args.scene or ["changing", "deliveries", "contexts", "stray"]:
        shutil.rmtree(args.data, ignore_errors=True)
        batch, cache = args.data / "batch", args.data / "cache"
        batch.mkdir(parents=True)
        if scene in ("changing", "deliveries"):
            fresh = scene == "deliveries"  # a new batch folder each run, not a new folder of one batch
            for k in range(args.runs):
                root, name = (args.data / f"delivery{k:03d}", "s") if fresh else (batch, f"d{k:03d}")
                if k:
                    shutil.rmtree(args.data / f"delivery{k - 1:03d}" if fresh else batch / f"d{k - 1:03d}")
                crowded(root, name, members + (0 if fresh else k // 5))
                # times of a past second, with nanoseconds: not racy (RACY_NS) on any file system
                for entry in os.scandir(root / name):
                    os.utime(entry.path, ns=(10**18 + 1, 10**18 + 1))
                run(root, cache)
                if (k + 1) % 10 == 0:
                    size = (cache / DB_NAME).stat().st_size
                    print(f"{scene}: after run {k + 1:3d}: {rows(cache):3d} series rows, database {size:,} B")
            if fresh:
                print(f"deliveries: the last one again: {run(root, cache)[0]} headers read")
        elif scene == "contexts":
            crowded(batch, "s", members)
            time.sleep(RACY_NS / 1e9 + 0.1)
            said = [f"{c}: {run(batch, cache, c)[0]}" for c in ("A", "B") * 3]
            print("contexts: headers read a run, alternating: " + ", ".join(said))
        else:
            crowded(batch, "s", members, stray=True)
            time.sleep(RACY_NS / 1e9 + 0.1)
            for label in ("cold", "warm", "warm again"):
                reads, cpu = run(batch, cache)
                print(f"stray: {label:>10}: {reads:5d} headers read, CPU {cpu:.3f} s")


if __name__ == "__main__":
    main()
