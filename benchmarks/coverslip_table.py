"""Before/after per source from before.json (+ after.json re-probes of the keys a threshold changes).
argv: before.json [after.json] [threshold]"""

import json
import sys
from collections import defaultdict

LIMIT = 0.005
rows = json.load(open(sys.argv[1]))  # noqa: SIM115
after = (
    {
        r["key"]: r
        for r in (json.loads(sys.argv[2]) if sys.argv[2].startswith("[") else json.load(open(sys.argv[2])))  # noqa: SIM115
    }
    if len(sys.argv) > 2
    else {}
)
th = float(sys.argv[3]) if len(sys.argv) > 3 else 0.15


def site(r):
    return r["src"] + ":" + r["site"].split(" (")[0].split(":")[0][:14]


# leave one site out: threshold = midpoint of (max longest among clean slides' lines, min of the injected coverslips' best line) on the other sites
inj = defaultdict(list)
cln = defaultdict(list)
for r in rows:
    if r["kind"] == "coverslip" and r["lines"]:
        inj[site(r)].append(max(r["lines"]))
    if r["kind"] == "clean":
        cln[site(r)] += r["lines"]
sites = sorted(set(inj) | set(cln))
print("site: clean lines' longest (max) | injected coverslip best line (min)")
for s in sites:
    print(
        f"  {s}: {max(cln[s], default=0):.3f} ({len(cln[s])} lines) | {min(inj[s], default=float('nan')):.3f} ({len(inj[s])})"
    )
for s in sites:
    lo = min((x for o in sites if o != s for x in inj[o]), default=1)
    hi = max((x for o in sites if o != s for x in cln[o] if x < lo), default=0)
    t = (hi + lo) / 2
    lost = sum(x < t for x in inj[s])
    kept = sum(x >= t for x in cln[s])
    print(
        f"  LOSO {s}: threshold {t:.3f}, its coverslips lost {lost}/{len(inj[s])}, its clean lines kept {kept}/{len(cln[s])}"
    )
lo = min(x for o in sites for x in inj[o])
hi = max(x for o in sites for x in cln[o] if x < lo)
print(f"all sites: threshold {(hi + lo) / 2:.3f} (clean {hi:.3f}, injected {lo:.3f})")
print("after threshold", th)
tab = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
for r in rows:
    a = after.get(r["key"], r)
    if r["key"] not in after and any(x < th for x in r["lines"]):
        a = None  # changed but not re-probed
    t = tab[r["src"]][r["kind"]]
    t[0] += 1
    t[1] += r["bubble"] > LIMIT
    t[2] += (a["bubble"] > LIMIT) if a else -1000
for src, d in tab.items():
    print(src, {k: f"{v[1]} -> {v[2]} of {v[0]}" for k, v in d.items()})
ch = [r["key"] for r in rows if any(x < th for x in r["lines"])]
open("/tmp/camfp/changed.txt", "w").write("\n".join(ch))  # noqa: SIM115
print("keys to re-probe:", len(ch))
