"""CPU and peak RSS of reading a batch's delivered documents when many ZIPs each inflate a large,
text-poor member (a ``.docx`` whose ``notes.txt`` is 4 MB of NULs, compressed to about 4 KB: no
text once read, so the batch's 8,000,000-character text bound is never spent): each document may inflate
``MAX_DOCUMENT_BYTES``; since session 28's fix round all of a batch's share
``dqm.batch.MAX_DOCUMENTS_INFLATED``.

    python benchmarks/bench_docs_inflated.py build /tmp/textsf/batch 300
    PYTHONPATH=<checkout> python benchmarks/bench_docs_inflated.py run /tmp/textsf/batch

``run`` prints the CPU seconds and peak RSS of discovery and :func:`dqm.batch.delivered_texts` in
this process (run it once per checkout, in a fresh process each, on the same machine in the same
minute)."""

from __future__ import annotations

import io
import resource
import sys
import time
import zipfile
from pathlib import Path


def build(root: Path, count: int) -> None:
    from tests.helpers import write_tiny_batch

    write_tiny_batch(root)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("notes.txt", bytes(4_000_000))
    for i in range(count):
        (root / f"doc{i:05d}.docx").write_bytes(buf.getvalue())


def run(root: Path) -> None:
    from dqm.batch import delivered_texts, discover

    start = time.process_time()
    out = delivered_texts(discover(root))
    cpu = time.process_time() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"cpu={cpu:.2f}s peak_rss={peak:.0f}MB texts={len(out.texts)} unread={len(out.unread)}")


if __name__ == "__main__":
    if sys.argv[1] == "build":
        build(Path(sys.argv[2]), int(sys.argv[3]))
    else:
        run(Path(sys.argv[2]))
