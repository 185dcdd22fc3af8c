"""The cost of a text of many UUIDs and phone numbers: each date or phone number is placed among
the text's hex runs (``dqm.identifiers._HEX_RUN``) by bisection (deidkof), where deidko compared it
with every run (quadratic).

    PYTHONPATH=. /work/main/.venv/bin/python benchmarks/bench_hex_runs.py [LINES]

Measured (session 25, 16,000 lines of ``<uuid> 010-1234-NNNN``, 816 KB): ``find`` 18.72 s of CPU at
5a453bd, 0.24 s at deidkof; the masker 0.45 s and 0.40 s (its windows bound the runs compared).
"""

from __future__ import annotations

import random
import sys
import time
import uuid

from dqm.identifiers import DeidSettings, Masker, find


def main() -> None:
    lines = int(sys.argv[1]) if len(sys.argv) > 1 else 16_000
    settings = DeidSettings()
    masker = Masker(settings, b"k" * 32)
    rng = random.Random(1)
    text = "\n".join(f"{uuid.UUID(int=rng.getrandbits(128))} 010-1234-{i % 10000:04d}" for i in range(lines))
    start = time.process_time()
    hits = find(text, settings, "clinical")
    found = time.process_time()
    masker(text)
    masked = time.process_time()
    print(f"{lines:,} lines, {len(text):,} characters, {len(hits)} kinds found")
    print(f"find {found - start:.2f} s of CPU, mask {masked - found:.2f} s")


if __name__ == "__main__":
    main()
