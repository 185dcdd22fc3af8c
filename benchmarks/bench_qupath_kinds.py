"""Benchmark: the time QuPath's reader takes over a file of many skipped objects (detections) whose
kinds are long and unique, against one whose kinds are short; and how often it clips a kind.

    PYTHONPATH=CHECKOUT python benchmarks/bench_qupath_kinds.py [--features 100000] [--kinds 1000]
        [--chars 10000]

Each file is ``--features`` features of ``--kinds`` distinct ``objectType`` values, in turn: long
ones (``--chars`` characters of words, each kind its own) and short ones (``detection 17``). The
document is built in memory (a kind's string shared by its features: a parse would give each
feature a copy, 1 GB for the defaults; the reader's ``strip().lower()`` makes a fresh string a
feature all the same) and read by :func:`dqm.readers.qupath.read`; per file, the best of
``--repeat`` wall times in seconds, and the calls of :func:`dqm.findings.clip` a read made. The dqm
measured is the one on PYTHONPATH (another checkout's, to compare).

Measured (task mend, session 25; a loaded 2-core shared machine, ``nice -n 10``, one run each), 1,000
kinds of 10,000 characters, 2f8f11f / mend: 10,000 features 32.0 s (10,000 clips) / 1.12 s (100
clips: the first :data:`dqm.readers.qupath.KINDS_KEPT` kinds; the others are counted together
unclipped); 100,000 features 667 s (100,000 clips; run beside a test run) / 7.4 s (100 clips).
Short kinds: 10,000 features 0.44 / 0.37 s, 100,000 features 4.1 (beside the test run) / 3.4 s. What is left of the long kinds' cost is the reader's ``strip().lower()``
of each feature's kind and its hash (some 40 µs a 10,000-character kind).
"""

from __future__ import annotations

import argparse
import json
import random
import time

from dqm.readers import qupath


def _kinds(n: int, chars: int) -> list[str]:
    rng = random.Random(0)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(9)) for _ in range(2000)]
    kinds = []
    for k in range(n):
        text = f"kind {k} " + " ".join(rng.choice(words) for _ in range(chars // 10))
        kinds.append(text[:chars])
    return kinds


def _time(doc: list[dict[str, object]], repeat: int) -> tuple[float, int]:
    calls = 0
    clip = qupath.clip

    def counted(text: str, limit: int) -> str:
        nonlocal calls
        calls += 1
        return clip(text, limit)

    best = float("inf")
    qupath.clip = counted  # type: ignore[assignment]
    try:
        for _ in range(repeat):
            calls = 0
            start = time.perf_counter()
            qupath.read(doc, "kinds.geojson", [])
            best = min(best, time.perf_counter() - start)
    finally:
        qupath.clip = clip  # type: ignore[assignment]
    return best, calls


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--features", type=int, default=100_000)
    ap.add_argument("--kinds", type=int, default=1_000)
    ap.add_argument("--chars", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    for label, kinds in (
        ("long", _kinds(args.kinds, args.chars)),
        ("short", [f"detection {k}" for k in range(args.kinds)]),
    ):
        doc = [
            {"type": "Feature", "properties": {"objectType": kinds[i % len(kinds)]}}
            for i in range(args.features)
        ]
        seconds, calls = _time(doc, args.repeat)
        print(
            json.dumps(
                {"kinds": label, "features": args.features, "s": round(seconds, 3), "clip_calls": calls}
            )
        )


if __name__ == "__main__":
    main()
