"""CPU time of the waiver path's copies-alike test (``_same_findings``) as ``_unpadded_again``
asks it: N items, G pairs of copies alike, one finding an item.

    [N=20000] [G=300] python benchmarks/bench_same_findings.py [TREE]

TREE (default: this checkout) is put first on sys.path, so an older tree (``git archive``) can be
timed in the same minute. A tree without ``_item_tables`` is asked as its caller asked: once per
group member, the item tables built each call; one whose tables take the findings gets them (its
findings indexed by item id)."""

import inspect
import os
import sys
import time

sys.path.insert(0, sys.argv[1] if len(sys.argv) > 1 else ".")
from dqm.syntactic import accuracy
from tests.reports.conftest import finding

N, G = int(os.environ.get("N", 20000)), int(os.environ.get("G", 300))
items = [(f"S{k:05d}", f"s/{k}.tiff", f"a/{k}.json", k) for k in range(N)]
for g in range(G):  # a copy of item g at the end: another id (case), so each id is one item's
    items.append((f"s{g:05d}", f"c/{g}.tiff", f"ac/{g}.json", N + g))
findings = [finding(i[0], "CLASS_UNKNOWN", file=i[2]) for i in items]
groups = [[g, N + g] for g in range(G)]
extra = {"manifest": "m.csv"} if "manifest" in inspect.signature(accuracy._same_findings).parameters else {}
t = time.process_time()
if hasattr(accuracy, "_item_tables"):
    indexed = "findings" in inspect.signature(accuracy._item_tables).parameters
    tables = accuracy._item_tables(items, "m.csv", *([findings] if indexed else []))
    r = [accuracy._same_findings(findings, items, grp, (set(), set()), "m.csv", tables) for grp in groups]
else:
    r = [
        accuracy._same_findings(findings, items, grp, (set(), set()), **extra) for grp in groups for _ in grp
    ]
print(
    sys.argv[1] if len(sys.argv) > 1 else ".",
    f"N={N} G={G}",
    "cpu %.2f s" % (time.process_time() - t),
    "all alike:",
    all(r),
)
