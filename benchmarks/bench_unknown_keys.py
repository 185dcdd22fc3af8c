"""What unknown keys cost the native reader: CPU, peak RSS and the issues made, in a fresh process.

    .venv/bin/python benchmarks/bench_unknown_keys.py N [root|slide|lesion]

A native annotation of one lesion with ``N`` unknown keys (``"k0": 1, ...``) in the document, its
slide or its lesion, read by :func:`dqm.readers.parse_annotation` after a warm-up read. Session 28
(2 cores shared with 7 other engineers; CPU time is what compares): 1,000,000 keys at the top, a
14 MB file, took 33.6 s of CPU and 1.75 GB before the keys past the issue cap were left out of
pydantic's validation (``dqm.readers.native._trimmed``). Session 31: 200,000 keys at the top
5.2-5.4 s -> 2.6-2.7 s of CPU, in the slide 4.1 -> 2.1 s, once each key asked whether an identifier
key names it (``dqm.readers.common.base.object_texts``), a number's text not walked for and the
top-level values counted for memory in one pass (``dqm.readers._MemoryCheck._shell_need``).
"""

from __future__ import annotations

import json
import resource
import sys
import time

from dqm.readers import parse_annotation


def main() -> None:
    n, where = int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "root"
    square = [[[0, 0], [10, 0], [10, 10], [0, 0]]]
    doc = {
        "format": "dqm.annotation/1",
        "slide": {"file": "S1.tiff", "width": 1000, "height": 1000, "mpp": 0.5},
        "lesions": [{"id": 1, "class": "BCC", "geometry": {"type": "Polygon", "coordinates": square}}],
        "clinical": {},
    }
    keys = {f"k{i}": 1 for i in range(n)}
    target = {"root": doc, "slide": doc["slide"], "lesion": doc["lesions"][0]}[where]
    target.update(keys)
    data = json.dumps(doc).encode()
    parse_annotation(b'{"format": "dqm.annotation/1"}', "warm.json")
    started, wall = time.process_time(), time.time()
    (ann,) = parse_annotation(data, "S1.json")
    cpu, wall = time.process_time() - started, time.time() - wall
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    counted = sum(i.counted for i in ann.issues if i.code == "UNKNOWN_KEY")
    print(
        f"{where} keys={n:,} bytes={len(data):,} cpu={cpu:.2f}s wall={wall:.2f}s peak_rss={rss} MB "
        f"issues={len(ann.issues)} unknown_counted={counted:,}"
    )


if __name__ == "__main__":
    main()
