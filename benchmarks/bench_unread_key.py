"""Benchmark: the result cache's keys of a DICOM folder beside which files cannot be read.

The key of each DICOM slide holds which files beside it could not be read (batch path, the
system's words: :meth:`dqm.cache.RecordCache.key`, compared by :meth:`~dqm.cache.RecordCache.as_keyed`).
A folder of ``--slides`` copies of the real ``--real`` file (5.5 KB ``boxes_0.dcm``) beside
``--unread`` files whose every ``os.open`` fails with EIO (patched here: no file system fails on
demand): wall and CPU time of :meth:`~dqm.cache.RecordCache.keys` of every slide, and the peak of
the memory Python allocated meanwhile (``tracemalloc``, with ``--memory``: its times are not the
plain run's). ``--src DIR``: the dqm imported (a checkout
of an earlier one, e.g. ``git archive b24e08b dqm | tar -x -C DIR``); default this one.

Measured (2026-12-06, 2 cores shared with other engineers, load 11-12), 4,000 x 4,000: b24e08b
8.00 s CPU, 20.44 s wall, peak 978.8 MiB traced (``--memory``); this one 2.99 s CPU, 7.95 s wall,
peak 8.5 MiB; ``--unread 0``: 2.40 s CPU. See docs/scale.md ("DICOM series").

Usage: python benchmarks/bench_unread_key.py [--slides 4000] [--unread 4000] [--src DIR]
       [--memory] [--data /tmp/bench-unread-key] [--real ../shared/data/real/slides/boxes_0.dcm]
"""

from __future__ import annotations

import argparse
import errno
import os
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _folder(data: Path, slides: int, unread: int, real: Path) -> Path:
    """The batch: ``slides`` copies of ``real`` and ``unread`` small files in one folder, made once."""
    root = data / f"{slides}x{unread}"
    if not (root / "done").exists():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        raw = real.read_bytes()
        for i in range(slides):
            (root / f"s_{i:05d}.dcm").write_bytes(raw)
        for i in range(unread):
            (root / f"u_{i:05d}.bin").write_bytes(b"\0" * 300)
        (root / "done").write_text("")
        time.sleep(3.1)  # past the racy window of a file system of whole seconds
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slides", type=int, default=4_000)
    parser.add_argument("--unread", type=int, default=4_000)
    parser.add_argument("--src", type=Path, default=ROOT)
    parser.add_argument("--memory", action="store_true", help="trace the memory allocated (slower)")
    parser.add_argument("--data", type=Path, default=Path("/tmp/bench-unread-key"))
    parser.add_argument("--real", type=Path, default=Path("../shared/data/real/slides/boxes_0.dcm"))
    args = parser.parse_args()
    sys.path.insert(0, str(args.src.resolve()))
    from dqm.cache import RecordCache
    from dqm.model import Item

    root = _folder(args.data, args.slides, args.unread, args.real)
    items = [
        Item(slide_id=f"s_{i:05d}", image_path=f"s_{i:05d}.dcm", annotation_path=None)
        for i in range(args.slides)
    ]
    real_open = os.open

    def failing(path: Any, *a: Any, **k: Any) -> int:
        if os.path.basename(os.fsdecode(path)).startswith("u_"):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_open(path, *a, **k)

    os.open = failing  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as cache_dir, RecordCache(Path(cache_dir), root, "bench") as cache:
        if args.memory:
            tracemalloc.start()
        cpu, wall = time.process_time(), time.perf_counter()
        keys = cache.keys(items)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        _, peak = tracemalloc.get_traced_memory()
        held = sum(sys.getsizeof(v) for v in cache._saw_unread.values())
    os.open = real_open
    print(
        f"{args.src}: {len(keys)} keys, {args.unread} unreadable files beside them: "
        f"{wall:.2f} s wall, {cpu:.2f} s CPU, peak {peak / 2**20:.1f} MiB traced, "
        f"{held / 2**20:.1f} MiB held by the keys' unread notes (top level)"
    )


if __name__ == "__main__":
    main()
