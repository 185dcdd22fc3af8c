"""CPU time of listing a tar's member names: dqm's own header walker (session 30) against
:mod:`tarfile` (what :func:`dqm.doc_text.tar_text` used before), a plain ``.tar`` of 100,000 empty
members (the member bound) and the same as a ``.tar.gz``, in one process, alternated, the best of
``rounds``.

    PYTHONPATH=<checkout> python benchmarks/bench_tar_walker.py [rounds]
"""

from __future__ import annotations

import gzip
import io
import sys
import tarfile
import time


def archive(count: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for i in range(count):
            tf.addfile(tarfile.TarInfo(f"scans/site-{i % 7}/slide-{i:06d}.svs"))
    return buf.getvalue()


def listed(data: bytes, own: bool) -> int:
    from dqm.doc_text import MAX_TAR_READ, _Counted, _tar_read

    fh = io.BytesIO(data)
    head = fh.read(6)
    names: list[str] = []
    _tar_read(fh, head, _Counted(fh, MAX_TAR_READ), names, 10**9, own)
    return len(names)


def main(rounds: int) -> None:
    plain = archive(100_000)
    for label, data in (("tar", plain), ("tar.gz", gzip.compress(plain, 6))):
        best = {True: 1e9, False: 1e9}
        for _ in range(rounds):
            for own in (False, True):
                start = time.process_time()
                count = listed(data, own)
                best[own] = min(best[own], time.process_time() - start)
                assert count == 100_000, count
        print(
            f"{label}: {len(data):,} bytes, 100,000 members: tarfile {best[False]:.2f} s CPU, "
            f"dqm's walker {best[True]:.2f} s CPU ({best[False] / best[True]:.1f}x)"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
