"""CPU time of a hostile RAR's header walk: about 16 MB of minimal headers (RAR 5 service headers
of 7 bytes with valid CRCs; RAR 4 old-style sub blocks of 7 bytes), no names (the tar5 review's
probe p4; session 31's fix round capped the headers read).

    PYTHONPATH=. python benchmarks/bench_rar_headers.py
"""

from __future__ import annotations

import io
import struct
import time
import zlib

from dqm.doc_text import document_text


def _vint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _rar5_block(kind: int, body: bytes) -> bytes:
    head = _vint(kind) + _vint(0) + body
    sized = _vint(len(head)) + head
    return struct.pack("<I", zlib.crc32(sized)) + sized


def main() -> None:
    """Print each walk's CPU seconds and what it says."""
    svc = _rar5_block(3, b"")
    n = 15_900_000 // len(svc)
    rar5 = b"Rar!\x1a\x07\x01\x00" + _rar5_block(1, b"\x00") + svc * n + _rar5_block(5, b"\x00")
    n4 = 15_900_000 // 7
    rar4 = (
        b"Rar!\x1a\x07\x00"
        + struct.pack("<HBHH", 0, 0x73, 0, 13)
        + bytes(6)
        + struct.pack("<HBHH", 0, 0x7A, 0, 7) * n4
        + struct.pack("<HBHH", 0, 0x7B, 0, 7)
    )
    for label, count, data in (("RAR5", n, rar5), ("RAR4", n4, rar4)):
        t0 = time.process_time()
        out = document_text(io.BytesIO(data), ".rar", 10**6, inflated=[256 * 10**6])
        print(f"{label} {count:,} headers: {time.process_time() - t0:.2f} s CPU, {out[1]!r}")


if __name__ == "__main__":
    main()
