"""CPU time and peak memory of :func:`dqm.doc_text.document_text` on hostile archives.

Each case runs in a child process (its peak allocation traced on a second read): a ZIP of 300,000 empty members
(zipfile read its whole central directory, an object a member, before any bound applied), a
``.tar.gz`` of one 1 GB member of zeros (1 MB: decompressed only to :data:`MAX_TAR_READ` bytes),
a plain ``.tar`` of 100,000 empty members (its headers read, its names kept, no object kept a
member). Run (``--base FILE`` to time another copy of ``doc_text.py``, the base's)::

    PYTHONPATH=$PWD nice -n 10 python benchmarks/bench_hostile_archives.py /tmp/NAME-archives [--base FILE]
"""

from __future__ import annotations

import gzip
import importlib.util
import io
import subprocess
import sys
import tarfile
import time
import tracemalloc
import zipfile
from pathlib import Path


def build(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    if not (root / "many.zip").exists():
        with zipfile.ZipFile(root / "many.zip", "w") as zf:
            for i in range(300_000):
                zf.writestr(f"{i}", b"")
    if not (root / "bomb.tar.gz").exists():
        head = tarfile.TarInfo("zeros")
        head.size = 1_000_000_000
        with gzip.open(root / "bomb.tar.gz", "wb", compresslevel=9) as gz:
            gz.write(head.tobuf())
            block = bytes(10_000_000)
            for _ in range(100):
                gz.write(block)
            gz.write(bytes(1024))
    if not (root / "many.tar").exists():
        with tarfile.open(root / "many.tar", "w") as tf:
            for i in range(100_000):
                tf.addfile(tarfile.TarInfo(f"tiles/{i:07d}.png"), io.BytesIO(b""))


def child(path: Path, ext: str, module: str) -> None:
    if module:
        spec = importlib.util.spec_from_file_location("doc_text_other", module)
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        document_text = mod.document_text
    else:
        from dqm.doc_text import document_text
    start = time.process_time()
    with path.open("rb") as fh:
        text, why = document_text(fh, ext, 4_000_000)
    cpu = time.process_time() - start
    tracemalloc.start()  # a second read, traced (ru_maxrss keeps the parent's across exec)
    with path.open("rb") as fh:
        document_text(fh, ext, 4_000_000)
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    print(
        f"{path.name:>12}: {len(text):>9,} chars, why={why!r}, {cpu:.2f} s CPU, peak {peak:.0f} MB allocated"
    )


def main(root: Path, base: str) -> None:
    build(root)
    for name, ext in (("many.zip", ".zip"), ("bomb.tar.gz", ".tar.gz"), ("many.tar", ".tar")):
        for label, module in (("now", ""), *((("base", base),) if base else ())):
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(root / name), ext, module],
                capture_output=True,
                text=True,
                check=False,
            )
            print(f"{label:>4} {out.stdout.strip() or out.stderr.strip().splitlines()[-1]}")


if __name__ == "__main__":
    if sys.argv[1] == "--child":
        child(Path(sys.argv[2]), sys.argv[3], sys.argv[4])
    else:
        main(Path(sys.argv[1]), sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--base" else "")
