"""Pathological waiver globs: the index of :mod:`dqm.waivers` against trying each glob in turn.

Waiver globs of wildcards and classes only (``?*[0-9]**[!a]``, ``*[A-Z]?*``: no literal text to
index them by) go to the alternation tree of ``dqm.waivers._Alternation``. Most such globs match
most slide ids, so every node of the tree matches and a value paid the tree's depth in
alternations on top of each glob's own regex. For each shape (random globs of ``--tokens``
wildcards and classes drawn from ``*``, ``**``, ``?``, ``[0-9]``, ``[!a]``, ``[A-Z]``, ``[H-P]``,
``[-0-9]``), ``--globs`` distinct globs are indexed and ``--values`` slide ids looked up once each;
one JSON row a shape gives the CPU seconds of building the index, of the lookups, and of trying
each glob's compiled regex in turn (the floor: what the tree must not exceed by much), the mean
number of globs a value meets, and whether both give the same answers (they must)::

    .venv/bin/python benchmarks/bench_waiver_globs.py [--globs 1000] [--values 10000] \
        [--tokens 2-4,4-8,8-16] [--code OTHER_CHECKOUT]

``--code`` imports ``dqm`` from another checkout (the base commit's, for a before/after).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import sys
from fnmatch import translate
from pathlib import Path

TOKENS = ["*", "**", "?", "[0-9]", "[!a]", "[A-Z]", "[H-P]", "[-0-9]"]


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--globs", type=int, default=1000)
    ap.add_argument("--values", type=int, default=10_000)
    ap.add_argument("--tokens", default="2-4,4-8,8-16")
    ap.add_argument("--code", type=Path, default=Path(__file__).resolve().parents[1])
    args = ap.parse_args()
    sys.path.insert(0, str(args.code))
    from dqm import waivers

    values = [f"HOSP-{i % 7}-{i:07d}" for i in range(args.values)]
    for span in args.tokens.split(","):
        lo, hi = (int(x) for x in span.split("-"))
        rng = random.Random(lo)
        globs: list[str] = []
        while len(globs) < args.globs:  # distinct: a glob repeated is indexed once
            glob = "".join(rng.choice(TOKENS) for _ in range(rng.randint(lo, hi)))
            if glob not in globs:
                globs.append(glob)
        t = cpu()
        index = waivers._Index([(g,) for g in globs])
        built = cpu() - t
        t = cpu()
        hits = [index.naming(v) for v in values]
        looked = cpu() - t
        matchers = [(w, re.compile(translate(g)).match) for w, g in enumerate(globs)]
        t = cpu()
        each = [frozenset(w for w, m in matchers if m(v) is not None) for v in values]
        in_turn = cpu() - t
        row = {
            "tokens": span,
            "globs": len(globs),
            "values": len(values),
            "build_cpu_s": round(built, 3),
            "lookup_cpu_s": round(looked, 3),
            "in_turn_cpu_s": round(in_turn, 3),
            "mean_hits": round(sum(map(len, hits)) / len(hits), 1),
            "same": hits == each,
            "code": str(args.code),
        }
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
