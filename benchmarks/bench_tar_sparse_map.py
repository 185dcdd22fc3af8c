"""Peak memory of listing a tar whose old GNU sparse member has a 30 MB map (61,000 extension
blocks, 1.3 million entries), then an identifier named (session 31: tarfile listed every entry).

Run: ``/usr/bin/time -v python benchmarks/bench_tar_sparse_map.py`` (peak RSS: "Maximum resident
set size"); with ``PYTHONPATH`` at an older checkout to compare."""

from __future__ import annotations

import io
import resource
import tarfile
import time

from dqm.doc_text import document_text


def _with_checksum(h: bytearray) -> bytes:
    h[148:156] = b"        "
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def _archive(extensions: int = 61_000) -> bytes:
    h = bytearray(tarfile.TarInfo("map.img").tobuf(format=tarfile.GNU_FORMAT))
    h[156:157] = tarfile.GNUTYPE_SPARSE
    h[124:136] = b"%011o\0" % 0
    h[482] = 1
    h[483:495] = b"%011o\0" % (extensions * 21 * 1024)
    blocks = []
    for i in range(extensions):
        block = bytearray(
            b"".join(b"%011o\0%011o\0" % ((i * 21 + k) * 1024, 1) for k in range(21)).ljust(512, b"\0")
        )
        block[504] = 1 if i < extensions - 1 else 0
        blocks.append(bytes(block))
    last = tarfile.TarInfo("900101-1234567.svs").tobuf(format=tarfile.GNU_FORMAT)
    return _with_checksum(h) + b"".join(blocks) + last + bytes(1024)


def main() -> None:
    data = _archive()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu = time.process_time()
    text, why = document_text(io.BytesIO(data), ".tar", 1000)
    cpu = time.process_time() - cpu
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"{len(data):,} bytes; names {text.splitlines()} ({why}); {cpu:.2f} s CPU; peak RSS {before / 1024:.0f} → {after / 1024:.0f} MB"
    )


if __name__ == "__main__":
    main()
