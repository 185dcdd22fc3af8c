"""Leave one site out for DEBRIS_MIN_DARK from debris_study.py's records: per clean slide flagged
for debris the least mean contrast that unflags it, per injected slide the most that keeps it
flagged; each site held out, the midpoint of the others'.

    python benchmarks/debris_table.py fp.json s3.json s12g.json
"""

import csv
import json
import sys
from pathlib import Path

LIM = 0.0051
sites = {}
for f in ("/tmp/heldout3-he", "/tmp/heldout-he", "/tmp/exthe-he"):
    for r in csv.DictReader(Path(f, "external_he.tsv").read_text().splitlines(), delimiter="\t"):
        sites[r["file"]] = r["site"].split(" ")[0].split("(")[0][:20]
rows = [o for f in sys.argv[1:] for o in json.loads(Path(f).read_text())]


def crit(o):
    comps = sorted(o["comps"], key=lambda c: c["meanc"])
    tot = sum(c["area"] for c in comps)
    if not tot:
        return None
    denom = tot / o["share"]
    shares = [sum(c["area"] for c in comps[i:]) / denom for i in range(len(comps))]
    if o["kind"] == "clean":  # least M that brings it under
        for i in range(len(comps)):
            if shares[i] <= LIM:
                return comps[i - 1]["meanc"] if i else 0.0
        return comps[-1]["meanc"]
    for i in range(len(comps) - 1, -1, -1):  # most M that keeps it over
        if shares[i] > LIM:
            return comps[i]["meanc"]
    return -1.0


pts = []
for o in rows:
    site = sites.get(o["name"], "GlaS" if o["src"] == "glas" else o["name"][:12])
    c = crit(o)
    if c is None:
        continue
    pts.append((o["src"], site, o["kind"], c, o["name"]))
fp = [p for p in pts if p[2] == "clean"]
inj = [p for p in pts if p[2] == "debris"]
print("FP slides least M:", [(p[1], p[4][-22:], round(p[3], 3)) for p in fp])
print("injected most M: min", min(p[3] for p in inj), sorted(inj, key=lambda p: p[3])[:3])
for s in sorted({p[1] for p in pts}):
    lo = max([p[3] for p in fp if p[1] != s] or [0])
    hi = min(p[3] for p in inj if p[1] != s)
    M = (lo + hi) / 2
    print(
        f"{s:22s} M={M:.3f} (lo {lo:.3f} hi {hi:.3f}) held-out FP left {sum(p[3] > M for p in fp if p[1] == s)} injected lost {sum(p[3] < M for p in inj if p[1] == s)}/{sum(p[1] == s for p in inj)}"
    )
flagged = {}
for o in rows:
    if o["kind"] != "debris":
        continue
    tot = sum(c["area"] for c in o["comps"])
    denom = tot / o["share"] if tot else 1.0
    kept = sum(c["area"] for c in o["comps"] if c["meanc"] >= 0.32)
    before, after, n = flagged.get(o["src"], (0, 0, 0))
    flagged[o["src"]] = (before + (o["share"] > LIM), after + (kept / denom > LIM), n + 1)
print("debris-injected slides flagged, before -> after (DEBRIS_MIN_DARK 0.32), of:", flagged)
