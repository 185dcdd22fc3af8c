"""Bubble recall and clean bubble flags per site on a subset (every ``EVERY``-th slide, the third
argument, default 1): the bench's bubble injection and seeds, each slide probed at its site's
resolution as ``bench_artefacts.py`` probes it (the manifest's ``mpp``; GlaS: unknown), with the
code on ``PYTHONPATH``; prints each slide, then per site the bubbles found (share over the
profile's threshold) and the clean slides flagged; misses saved as PNG with ``--save``.

    PYTHONPATH=. .venv/bin/python benchmarks/bubble_study.py /tmp/exthe-he OUT 3   # or glas
"""

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_artefacts as B

folder = Path(sys.argv[1])
out = Path(sys.argv[2])
out.mkdir(exist_ok=True, parents=True)
every = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3].isdigit() else 1
save = "--save" in sys.argv
limit = float(next(c.params for c in B.configure(B.load_profile(None)) if c.id == "artefacts.slide").bubble)
if str(folder) == "glas":
    nums = [x for x in B.numbered(8, False, False) if x[1] == "tune"]
    manifest = {x[2]: {"site": "GlaS" if x[2].startswith("train") else x[2].split("#")[0]} for x in nums}
else:
    slides, manifest = B.external_slides(folder)
    nums = B.numbered(0, False, False, slides)
rows = []
with tempfile.TemporaryDirectory() as tmp:
    t = Path(tmp)
    for n, _side, name, img in nums[::every]:
        rng = np.random.default_rng(B.SEED + n)
        ink = tuple(B.INKS)[n % len(B.INKS)]
        res = {"name": name, "site": manifest[name]["site"][:20]}
        mpp = float(manifest[name]["mpp"]) if manifest[name].get("mpp") else None
        for kind in B.INJECTED:
            dirty, mask = B.inject(img, kind, rng, ink, "pleat")
            if kind != "bubble":
                continue
            p = B._probe(dirty, t, kind, mpp)
            res["share"] = p.artefacts.shares["bubble"]
            res["mask"] = B._mask_recall(p, "bubble", mask)
            if save and res["share"] <= limit:
                fl = p.artefacts.mask("bubble")
                im = Image.fromarray(dirty).resize(fl.shape[::-1])
                a = np.asarray(im).copy()
                a[fl] = (0.5 * a[fl] + [0, 127, 0]).astype(np.uint8)
                both = np.concatenate([np.asarray(im), a], axis=1)
                Image.fromarray(both).save(out / f"{n}.png")
        pc = B._probe(img, t, "clean", mpp)
        res["clean"] = pc.artefacts.shares["bubble"]
        res["ms"] = 1000 * pc.artefacts.elapsed_s
        rows.append(res)
        print(n, res["site"], f"{res['share']:.4f} mask {res['mask']} clean {res['clean']:.4f}", flush=True)
(out / "rows.json").write_text(json.dumps(rows))
for site in sorted({r["site"] for r in rows}):
    of = [r for r in rows if r["site"] == site]
    found = sum(r["share"] > limit for r in of)
    flagged = sum(r["clean"] > limit for r in of)
    print(f"{site}: bubble found {found} of {len(of)}, clean flagged {flagged}")
print(f"all: bubble found {sum(r['share'] > limit for r in rows)} of {len(rows)},", end=" ")
print(f"clean flagged {sum(r['clean'] > limit for r in rows)}")
