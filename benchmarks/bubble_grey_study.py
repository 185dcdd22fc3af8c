"""Bubble and coverslip recall and clean bubble flags per tuning source and site, the rule as on a
base commit and as now, from one probe per slide: the bench's injections and seeds
(``bench_artefacts.py``: clean, bubble and coverslip, no blur sample), each probe's working image
and tissue mask measured again by the base's ``artefacts.py`` (a copy, e.g. ``git show
BASE:dqm/pixels/artefacts.py > base.py``). Sources: ``tune`` (the GlaS tuning slides and the real
slides and images), and the external sets' folders, each with ``@N`` for every N-th slide only.
Writes the rows as JSON after each slide and prints a table; rows already in the output are kept
(a stopped run goes on where it stopped). ``--direct``: no probe, each image measured whole with its
tissue mask (``tissue_from_rgba``) as the unit tests measure it, the injections' shared tissue
mask computed once (cheap; the shares differ a little from the probe's thumbnail).

    git show 30c4c24:dqm/pixels/artefacts.py > /tmp/base_artefacts.py

(The session-23 figures were measured on the median rule's own branch against 87b2212; on main the
commit just before the rule is 30c4c24, whose ``artefacts.py`` also holds the debris and pen changes
merged before it: use it, or a base made of main's file with only the mean put back.)
    PYTHONPATH=. nice -n 10 .venv/bin/python benchmarks/bubble_grey_study.py /tmp/base_artefacts.py \
        OUT.json --direct set4=/tmp/heldout4-he tune set3=/tmp/heldout3-he set2=/tmp/heldout-he set1=/tmp/exthe-he
    .venv/bin/python benchmarks/bubble_grey_study.py /tmp/base_artefacts.py OUT.json   # the table alone
"""

import importlib.util
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_artefacts as B

import dqm.slide_io as S

spec = importlib.util.spec_from_file_location("base_artefacts", sys.argv[1])
assert spec is not None and spec.loader is not None
base = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = base  # its dataclasses look their module up
spec.loader.exec_module(base)
out = Path(sys.argv[2])
limit = float(next(c.params for c in B.configure(B.load_profile(None)) if c.id == "artefacts.slide").bubble)
KINDS = ("clean", "bubble", "coverslip")
seen: dict[str, float] = {}
_measure = S.measure


def both(rgba, mask, ds, tiles, *a):  # no blur sample; the base's share kept aside
    seen["base"] = base.measure(rgba, mask, ds, None, *a).shares["bubble"]
    return _measure(rgba, mask, ds, None, *a)


S.measure = both
direct = "--direct" in sys.argv
if direct:
    sys.argv.remove("--direct")
    _tissue = B.tissue_from_rgba
    _cache: dict = {}

    def cached(img):  # the clean image's mask, computed once for its injections
        if _cache.get("id") != id(img):
            _cache.update(id=id(img), mask=_tissue(img))
        return _cache["mask"]

    B.tissue_from_rgba = cached
rows = json.loads(out.read_text()) if out.exists() else []
done = {(r["src"], r["name"]) for r in rows}
with tempfile.TemporaryDirectory() as tmp:
    t = Path(tmp)
    for arg in sys.argv[3:]:
        arg, _, every = arg.partition("@")
        src, _, folder = arg.partition("=")
        if folder:
            slides, manifest = B.external_slides(Path(folder))
            nums = B.numbered(0, False, False, slides)
            mpps = {k: float(r["mpp"]) if r.get("mpp") else None for k, r in manifest.items()}
            sites = {k: r["site"][:24] for k, r in manifest.items()}
        else:
            nums = [x for x in B.numbered(32, True, False) if x[1] == "tune"]
            mpps = {x[2]: next((v for k, v in B.MPP.items() if x[2].startswith(k)), B.GLAS_MPP) for x in nums}
            sites = {x[2]: "GlaS" if x[0] < 1000 else x[2].split("#")[0][:24] for x in nums}
        for n, _side, name, img in nums[:: int(every or 1)]:
            if (src, name) in done:
                continue
            rng = np.random.default_rng(B.SEED + n)
            ink = tuple(B.INKS)[n % len(B.INKS)]
            todo = {"clean": img}
            for kind in B.INJECTED:
                if kind in ("overstain", "understain", "blur"):
                    continue  # they draw nothing from rng: the others' draws stay the bench's
                dirty, _mask = B.inject(img, kind, rng, ink, "pleat")
                if kind in KINDS:
                    todo[kind] = dirty
            row = {"src": src, "site": sites[name], "name": name, "direct": direct}
            for kind in KINDS:
                if direct:
                    mask, _ = _tissue(todo[kind])
                    now = both(todo[kind], mask, (1.0, 1.0), None).shares["bubble"]
                else:
                    a = B._probe(todo[kind], t, kind, mpps.get(name)).artefacts
                    assert a is not None
                    now = a.shares["bubble"]
                row[kind] = {"base": seen["base"], "now": now}
            rows.append(row)
            out.write_text(json.dumps(rows))
            print(src, len(rows), flush=True)


def count(of, kind, rule):
    return sum(r[kind][rule] > limit for r in of)


print("| source | site | slides | bubble base / now | coverslip base / now | clean flagged base / now |")
print("|---|---|---|---|---|---|")
for src in dict.fromkeys(r["src"] for r in rows):
    mine = [r for r in rows if r["src"] == src]
    for site in [*sorted({r["site"] for r in mine}), "all"]:
        of = mine if site == "all" else [r for r in mine if r["site"] == site]
        cells = " | ".join(
            f"{count(of, k, 'base')} / {count(of, k, 'now')}" for k in ("bubble", "coverslip", "clean")
        )
        print(f"| {src} | {site} | {len(of)} | {cells} |")
for r in rows:
    for k in KINDS:
        if (r[k]["base"] > limit) != (r[k]["now"] > limit):
            print(f"changed: {r['src']} {r['name']} {k} {r[k]['base']:.4f} -> {r[k]['now']:.4f}")
