"""The cost of walking a PNG refused as too large to its text past the pixels
(:func:`dqm.image_text.png_text_chunks`): a 100,000 x 100,000 PNG of ``--chunks`` IDAT chunks of
8 KiB (libpng's size) then a tEXt chunk, probed twice (cold, then warm in the page cache).

``PYTHONPATH=$PWD nice .venv/bin/python benchmarks/bench_png_tail.py --chunks 20000`` (164 MB):
1.61 s wall and 0.53 s CPU cold, 0.34 s wall and 0.11 s CPU warm; the text found, nothing unread
(at the cap, 100,000 such chunks, about five times as much).
"""

from __future__ import annotations

import argparse
import os
import struct
import tempfile
import time
import zlib
from pathlib import Path

from dqm.slide_io import ProbeOptions, probe_slide


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chunks", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.png"
        idat = _chunk(b"IDAT", os.urandom(8192))
        with path.open("wb") as fh:
            fh.write(
                b"\x89PNG\r\n\x1a\n"
                + _chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0))
            )
            for _ in range(args.chunks):
                fh.write(idat)
            fh.write(_chunk(b"tEXt", b"Comment\x00Patient 900101-1234567") + _chunk(b"IEND", b""))
        print(f"{path.stat().st_size / 1e6:.0f} MB")
        for run in ("first", "again"):
            wall, cpu = time.perf_counter(), time.process_time()
            probe = probe_slide(path, "slides/big.png", ProbeOptions(artefacts=False))
            print(
                f"{run}: {time.perf_counter() - wall:.2f} s wall, {time.process_time() - cpu:.2f} s CPU;"
                f" found {sorted(probe.properties)}, unread {probe.text_unread}"
            )


if __name__ == "__main__":
    main()
