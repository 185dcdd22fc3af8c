"""Discovery and the cache keys alone: what the main process does per item before any worker starts.

Issue 13 §5: the million-item simulated audit spent its first minutes in discovery (the walk, the
manifest, the items) and the cache keys (a stat and the quick print of every file), in the main
process. This times both on the batch ``bench_scale.py`` writes (N native annotation files in
folders of 1,000 with a manifest; written once and reused, about 7 minutes at a million items),
in this process, and reads the RSS (``VmRSS``, ``VmHWM``) around them:

* ``discover_s``: :func:`dqm.batch.discover`;
* ``keys_s``: :meth:`dqm.cache.RecordCache.keys` with the built-in profile's masker (HMAC keys, as
  ``dqm audit`` makes them), into a fresh cache; ``lookup_s``: looking them all up (all missing);
* ``*_kib_per_item``: the RSS above the start after discovery, at its peak, and after the keys.

    python benchmarks/bench_discovery.py --items 100000 [--work DIR]

One N a run: the peak is the process's own.

Measured on this project's machine (2 cores shared with other engineers; load average in brackets):

==========  =========  ===========  ========  =====================  ====================  ===========
items       code       discovery    keys      RSS after discovery    peak (discovery)      after keys
==========  =========  ===========  ========  =====================  ====================  ===========
100,000     before     6.7 s        8.3 s     1.17 KiB/item          1.44 KiB/item         1.27 [4.1]
100,000     after      1.2 s        2.3-3.3 s 0.66 KiB/item          1.04 KiB/item         0.76 [6.3]
1,000,000   before     44.7 s       126.6 s   1.09 KiB/item          1.41 KiB/item         1.22 [4.7]
1,000,000   after      9.3 s        41.2 s    0.63 KiB/item          1.01 KiB/item         0.70 [8.7]
==========  =========  ===========  ========  =====================  ====================  ===========

"Before" is the code of issue 13's last stop: os.walk with an lstat and a ``Path`` per file, every
manifest row held as a list of cells, a million copies of a few clinical values, and each key a
``Path.stat`` and a buffered open; "after": a scandir walk that stats no regular file, the manifest
read as it is parsed with repeated values kept once, the items' paths the walk's own strings, and
each key one ``open``/``fstat``/read in eight threads, kept as 32 bytes. The keys are the same. On
this page-cached local disk the threads neither gain nor lose (2.3-2.6 s either way at 100,000);
they are there for a network filesystem, where a key is mostly waiting (not measured here).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import bench_scale  # noqa: E402  (the batch writer, beside this file)

from dqm.batch import discover  # noqa: E402
from dqm.cache import RecordCache, context_key  # noqa: E402
from dqm.identifiers import Masker  # noqa: E402
from dqm.profile import load_profile  # noqa: E402
from dqm.runner import RunOptions  # noqa: E402


def _kib(field: str) -> int:
    m = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    return int(m.group(1)) if m else 0


def measure(batch: Path, n: int, work: Path) -> dict:
    """Discovery, then every item's key and its lookup, timed, with the RSS after each."""
    profile = load_profile(None)
    mask = Masker(profile.deid, b"bench-discovery-key-0123456789ab") if profile.deid.enabled else None
    gc.collect()
    start = _kib("VmRSS")
    t0 = time.perf_counter()
    disc = discover(batch)
    t1 = time.perf_counter()
    after_discovery, discovery_peak = _kib("VmRSS"), _kib("VmHWM")
    folder = Path(tempfile.mkdtemp(dir=work))
    try:
        with RecordCache(folder, batch, context_key(profile.sha256, RunOptions()), mask=mask) as cache:
            t2 = time.perf_counter()
            keys = cache.keys(disc.items, {*disc.slide_files, *disc.annotation_files})
            t3 = time.perf_counter()
            found = cache.lookup_all(keys, disc.items)
            t4 = time.perf_counter()
    finally:
        shutil.rmtree(folder)
    after_keys = _kib("VmRSS")
    return {
        "items": len(disc.items),
        "hits": sum(r is not None for r in found),
        "discover_s": round(t1 - t0, 2),
        "keys_s": round(t3 - t2, 2),
        "lookup_s": round(t4 - t3, 2),
        "rss_start_mib": start // 1024,
        "after_discovery_kib_per_item": round((after_discovery - start) / n, 2),
        "discovery_peak_kib_per_item": round((discovery_peak - start) / n, 2),
        "after_keys_kib_per_item": round((after_keys - start) / n, 2),
        "load_average": round(os.getloadavg()[0], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000, help="N")
    parser.add_argument("--work", type=Path, default=Path(os.environ.get("DQM_BENCH_WORK", "/tmp")))
    args = parser.parse_args()
    work = args.work / "dqm-bench-scale"
    work.mkdir(parents=True, exist_ok=True)
    n = args.items
    batch = work / f"batch-{n}"
    batch.mkdir(exist_ok=True)
    written_s = bench_scale.write_batch(batch, n)
    print(json.dumps({**measure(batch, n, work), "batch_written_s": round(written_s, 1)}), flush=True)


if __name__ == "__main__":
    main()
