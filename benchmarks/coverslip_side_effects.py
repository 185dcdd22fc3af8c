"""Side effects of COVERSLIP_MIN_UNBROKEN on the clean slides whose straight lines it removes:
their stain and debris shares with the rule off (0, the rule before) and on (the constant), set 3's
batch stain verdict over all 66 clean slides (its stored rows, ``bench_artefacts.py --shares``,
with the changed slides re-probed both ways: a slide's peers change too), and the rule's cost
per slide (``_straight_edges`` alone, and the whole probe).

    PYTHONPATH=. nice -n 10 .venv/bin/python benchmarks/coverslip_side_effects.py set3.json KEYS
    (KEYS: coverslip_table.py --changed FILE; set 3 rows: /tmp/s21/set3.json)
"""

import copy
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_artefacts as B

import dqm.pixels.artefacts as A
from dqm.profile import load_profile
from validators.engine import configure

FOLDERS = {"set3": "/tmp/heldout3-he", "set1": "/tmp/exthe-he", "set2": "/tmp/heldout-he"}
stored = json.loads(Path(sys.argv[1]).read_text())
keys = [k.split("|") for k in Path(sys.argv[2]).read_text().splitlines()]
want = {(src, name) for src, name, kind in keys if kind == "clean"}
params = next(c.params for c in configure(load_profile(None)) if c.id == "artefacts.slide")
limits = {k: float(getattr(params, k)) for k in B.KINDS}
spent = [0.0, 0]
inner = A._straight_edges


def timed(valleys, tissue):
    t = time.perf_counter()
    out = inner(valleys, tissue)
    spent[0] += time.perf_counter() - t
    spent[1] += 1
    return out


A._straight_edges = timed
ON = A.COVERSLIP_MIN_UNBROKEN
got = {}
probe_s = []
with tempfile.TemporaryDirectory() as tmp:
    for src in sorted({s for s, _ in want}):
        slides, manifest = B.external_slides(Path(FOLDERS[src]))
        for _n, _s, name, img in B.numbered(0, False, False, slides):
            if (src, name) not in want:
                continue
            mpp = float(manifest[name]["mpp"]) if manifest[name].get("mpp") else None
            for th in (0.0, ON):
                A.COVERSLIP_MIN_UNBROKEN = th
                t = time.perf_counter()
                p = B._probe(img, Path(tmp), "clean", mpp)
                probe_s.append(time.perf_counter() - t)
                got[src, name, th] = (p.artefacts.shares, B._stain(p))
            off, on = got[src, name, 0.0][0], got[src, name, ON][0]
            print(
                f"{src} {name[-36:]}: "
                + ", ".join(f"{k} {off[k]:.4f} -> {on[k]:.4f}" for k in off if k != "blur")
            )
print(
    f"_straight_edges: {1000 * spent[0] / spent[1]:.1f} ms a call ({spent[1]} calls); "
    f"whole probe {1000 * sum(probe_s) / len(probe_s):.0f} ms a slide"
)
for th in (0.0, ON):
    rows = copy.deepcopy(stored)
    for r in rows:
        if ("set3", r["name"]) in want:
            r["clean"], r["clean_stain"] = got["set3", r["name"], th]
    parts = B.stain_parts(rows)
    flags = {r["name"]: B.stain_flagged(parts, r["name"], "clean", limits, B.LIBRARY) for r in rows}
    print(
        f"set 3 batch stain verdict, threshold {th:g}: {sum(map(bool, flags.values()))} clean slides flagged "
        + str(sorted((n[-30:], sorted(f)) for n, f in flags.items() if f))
    )
    hits = {
        k: sum(k in B.stain_flagged(parts, r["name"], k, limits, B.LIBRARY) for r in rows)
        for k in B.STAIN_KINDS
    }
    print(f"   injected found: {hits} of {len(rows)}")
