"""CPU time of naming the kept texts past the first 1,000 that hold an identifier (:func:`validators.deid._halved`).

The joined search, then the halving, over 200,000 lines: every line an RRN (5.7 M characters: 3.6 s joined,
10.1 s with the halving, 1,000 lines named, 11 hits at none) and 3 lines of them (2.7 M: 0.5 s, 3.2 s). Run:
``PYTHONPATH=$PWD nice -n 10 python benchmarks/bench_deid_halved.py``.
"""

import time

from dqm.identifiers import find
from tests.conftest import load_profile
from validators.deid import MAX_KEPT_ONE_BY_ONE, _halved

s = load_profile().deid
for label, texts in (
    ("every line", [(k, f"# 900101-1234567 entry {k}") for k in range(200_000)]),
    (
        "3 lines",
        [
            (k, f"# entry {k}" + (" 900101-1234567" if k in (5, 120_000, 199_999) else ""))
            for k in range(200_000)
        ],
    ),
):
    t = time.process_time()
    hits = find("\n".join(x for _, x in texts), s, "clinical")
    t1 = time.process_time() - t
    out = _halved(texts, hits, s, [MAX_KEPT_ONE_BY_ONE])
    print(
        label,
        sum(len(x) for _, x in texts),
        "chars: joined",
        round(t1, 2),
        "s; halved",
        round(time.process_time() - t, 2),
        "s CPU;",
        sum(1 for a, _ in out if a is not None),
        "named,",
        sum(1 for a, _ in out if a is None),
        "at none",
    )
