"""Before/after per source from before.json (+ after.json re-probes of the keys a threshold changes),
and the threshold for COVERSLIP_MIN_UNBROKEN chosen with one site left out at a time.

    python benchmarks/coverslip_table.py before.json [after.json] [--th 0.08] [--changed FILE]

Every line a clean slide's rule accepts counts (EBHI's long clean lines too). A threshold is chosen
on the sites kept in: the gap between two neighbouring line lengths with the fewest errors (injected
coverslips whose best line falls below it + clean slides with a line at or above it), ties to the
gap losing fewer injected edges, then its midpoint. ``--changed FILE`` writes the keys whose lines
the threshold removes (the ones ``coverslip_study.py`` re-probes); slides not re-probed are counted
apart, never guessed."""

import argparse
import itertools
import json
from collections import defaultdict
from pathlib import Path

LIMIT = 0.005
ap = argparse.ArgumentParser()
ap.add_argument("before")
ap.add_argument("after", nargs="?")
ap.add_argument("--th", type=float, default=0.08)
ap.add_argument("--changed", type=Path)
args = ap.parse_args()
rows = json.loads(Path(args.before).read_text())
after = {r["key"]: r for r in json.loads(Path(args.after).read_text())} if args.after else {}


def site(r):
    return r["src"] + ":" + r["site"].split(" (")[0].split(":")[0][:14]


inj = defaultdict(list)  # per site: each injected coverslip's best line
cln = defaultdict(list)  # per site: each clean slide's lines
for r in rows:
    if r["kind"] == "coverslip" and r["lines"]:
        inj[site(r)].append(max(r["lines"]))
    if r["kind"] == "clean" and r["lines"]:
        cln[site(r)].append(r["lines"])


def errors(t, keep):
    lost = sum(x < t for s in keep for x in inj[s])
    kept = sum(max(ls) >= t for s in keep for ls in cln[s])
    return lost + kept, lost


def choose(keep):
    cuts = sorted(
        {0.0, 1.0} | {x for s in keep for x in inj[s]} | {x for s in keep for ls in cln[s] for x in ls}
    )
    score = [errors((a + b) / 2, keep) for a, b in itertools.pairwise(cuts)]
    best = min(score)
    # neighbouring gaps as good as the best make one range: the widest such range, its midpoint
    ranges, lo = [], None
    for i, e in enumerate(score):
        if e == best and lo is None:
            lo = i
        if e != best and lo is not None:
            ranges.append((cuts[lo], cuts[i]))
            lo = None
    if lo is not None:
        ranges.append((cuts[lo], cuts[-1]))
    a, b = max(ranges, key=lambda g: g[1] - g[0])
    return (a + b) / 2


sites = sorted(set(inj) | set(cln))
print("site: clean lines' longest (max) | injected coverslips' best line (min)")
for s in sites:
    lines = [x for ls in cln[s] for x in ls]
    print(
        f"  {s}: {max(lines, default=0):.3f} ({len(lines)} lines, {len(cln[s])} slides) | "
        f"{min(inj[s], default=float('nan')):.3f} ({len(inj[s])})"
    )
tot_lost = 0
for s in sites:
    t = choose([o for o in sites if o != s])
    lost = sum(x < t for x in inj[s])
    tot_lost += lost
    kept = sum(x >= t for ls in cln[s] for x in ls)
    print(
        f"  LOSO {s}: threshold {t:.3f}, its coverslips lost {lost}/{len(inj[s])}, "
        f"its clean lines kept {kept}/{sum(map(len, cln[s]))}"
    )
print(f"LOSO: {tot_lost} of {sum(map(len, inj.values()))} injected edges lost")
t = choose(sites)
print(f"all sites: threshold {t:.3f} (errors, lost: {errors(t, sites)})")
for src in sorted({r["src"] for r in rows}):
    lines = [x for r in rows if r["src"] == src and r["kind"] == "clean" for x in r["lines"]]
    edges = [max(r["lines"]) for r in rows if r["src"] == src and r["kind"] == "coverslip" and r["lines"]]
    print(
        f"  margin {src}: clean lines' longest {max(lines, default=0):.3f}, injected edges' shortest "
        f"{min(edges, default=float('nan')):.3f}"
    )
print("after threshold", args.th)
changed = [r["key"] for r in rows if any(x < args.th for x in r["lines"])]
tab = defaultdict(lambda: defaultdict(lambda: [0, 0, 0, 0]))
for r in rows:
    t = tab[r["src"]][r["kind"]]
    t[0] += 1
    t[1] += r["bubble"] > LIMIT
    if r["key"] in changed and r["key"] not in after:
        t[3] += 1  # changed but not re-probed: unknown
    else:
        t[2] += after.get(r["key"], r)["bubble"] > LIMIT
for src, d in tab.items():
    print(
        src,
        {
            k: f"{v[1]} -> {v[2]} of {v[0]}" + (f" ({v[3]} not re-probed, not counted)" if v[3] else "")
            for k, v in d.items()
        },
    )
if args.changed:
    args.changed.write_text("\n".join(changed))
print("keys to re-probe:", len(changed))
