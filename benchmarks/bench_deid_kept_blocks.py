"""CPU time of naming the kept texts past the first 1,000 that hold an identifier
(:func:`validators.deid._in_blocks`): one search of all of them joined, against the blocks of 16
searched joined and one by one where a block holds a hit (each text searched at most twice).

Three layouts over 200,000 lines: an RRN on every line, on every 200th line (1,000 hits spread: the
second review's case, where halving cost 10x the joined search) and on 3 lines. Run:
``PYTHONPATH=$PWD nice -n 10 python benchmarks/bench_deid_kept_blocks.py``.
"""

import time

from dqm.identifiers import find
from tests.conftest import load_profile
from validators.deid import MAX_KEPT_ONE_BY_ONE, _in_blocks

s = load_profile().deid
for label, every in (("every line", 1), ("every 200th line", 200), ("3 lines", None)):
    texts = [
        (
            k,
            f"# entry {k} "
            + "x" * 28
            + (" 900101-1234567" if (k % every == 0 if every else k in (5, 120_000, 199_999)) else ""),
        )
        for k in range(200_000)
    ]
    t = time.process_time()
    find("\n".join(x for _, x in texts), s, "clinical")
    joined = time.process_time() - t
    t = time.process_time()
    out = _in_blocks(texts, s, [MAX_KEPT_ONE_BY_ONE])
    blocks = time.process_time() - t
    print(
        f"{label}: {sum(len(x) for _, x in texts):,} chars; joined {joined:.2f} s, blocks {blocks:.2f} s CPU "
        f"({blocks / joined:.1f}x); {sum(1 for a, _ in out if a is not None)} named, "
        f"{sum(len(h) for a, h in out if a is None)} hits at none"
    )
