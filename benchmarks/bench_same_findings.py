"""CPU time of the waiver path's copies-alike test as ``_unpadded_again`` asks it: N items, G pairs
of copies alike, one finding an item.

    [N=20000] [G=300] [SHARED=1] [FIND_GROUPS=1] python benchmarks/bench_same_findings.py [TREE]

Without ``SHARED`` each id is one item's (a copy's id is its twin's in another case); with
``SHARED=1`` every item has the id ``X`` (a list by file: findings told apart by their files).
TREE (default: this checkout) is put first on sys.path, so an older tree (``git archive``) can be
timed in the same minute. Each tree is asked as its ``_unpadded_again`` asks: ``_opened`` once a
group with both waiver sets; ``_same_findings`` with its tables twice a group (the sets before and
after; a tree whose tables do not take the findings, once); without ``_item_tables``, once per
group member, the item tables built each call. With ``FIND_GROUPS=1`` it times instead how
``_unpadded_again`` finds the groups: ``unordered_rows`` for the copies alike (``AGAIN``) and
``repeated_groups``, each copy's finding naming its twin and ``twin_file``."""

import inspect
import os
import sys
import time

sys.path.insert(0, sys.argv[1] if len(sys.argv) > 1 else ".")
from dqm.order import AGAIN
from dqm.syntactic import accuracy
from tests.reports.conftest import finding

N, G = int(os.environ.get("N", 20000)), int(os.environ.get("G", 300))
SHARED = bool(os.environ.get("SHARED"))
items = [("X" if SHARED else f"S{k:05d}", f"s/{k}.tiff", f"a/{k}.json", k) for k in range(N)]
for g in range(G):  # a copy of item g at the end: its id in another case, or the one id shared
    items.append(("X" if SHARED else f"s{g:05d}", f"c/{g}.tiff", f"ac/{g}.json", N + g))
findings = [finding(i[0], "CLASS_UNKNOWN", file=i[2]) for i in items]
groups = [[g, N + g] for g in range(G)]
sets = (set(), set())
t = time.process_time()
if os.environ.get("FIND_GROUPS"):
    for g in range(G):  # each copy's own finding: its twin's id and slide file
        again = finding(items[N + g][0], AGAIN, severity="info", aspect="format", file=items[N + g][1])
        findings.append(again.model_copy(update={"params": {"twin": items[g][0], "twin_file": items[g][1]}}))
    ids, images, at = [i[0] for i in items], [i[1] for i in items], [i[3] for i in items]
    t = time.process_time()
    found = accuracy.repeated_groups(
        findings, ids, images, at, accuracy.unordered_rows(findings, ids, images, at)
    )
    r = [sorted(map(sorted, found)) == groups]
elif hasattr(accuracy, "_opened"):
    tables = accuracy._item_tables(items, "m.csv", findings)
    r = [accuracy._opened(findings, grp, sets, tables) == (set(), set()) for grp in groups]
elif hasattr(accuracy, "_item_tables"):
    indexed = "findings" in inspect.signature(accuracy._item_tables).parameters
    tables = accuracy._item_tables(items, "m.csv", *([findings] if indexed else []))
    asked = 2 if indexed else 1
    r = [
        accuracy._same_findings(findings, items, grp, sets, "m.csv", tables)
        for grp in groups
        for _ in range(asked)
    ]
else:
    extra = (
        {"manifest": "m.csv"} if "manifest" in inspect.signature(accuracy._same_findings).parameters else {}
    )
    r = [accuracy._same_findings(findings, items, grp, sets, **extra) for grp in groups for _ in grp]
print(
    sys.argv[1] if len(sys.argv) > 1 else ".",
    f"N={N} G={G}{' shared id' if SHARED else ''}{' groups' if os.environ.get('FIND_GROUPS') else ''}",
    "cpu %.2f s" % (time.process_time() - t),
    "all alike:",
    all(r),
)
