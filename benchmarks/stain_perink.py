"""Per-ink pen shares (``python benchmarks/stain_perink.py POOL OUT``) of the pooled rows whose clean or over-stained copy has pen > 0.5 %: the
on-glass images remade as external_slides makes them (same seed, manifest order), probed clean and
over-stained (bench_artefacts.inject, no rng drawn); other rows keep their total (<= 0.5 %: the
gate's answer cannot change)."""

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_artefacts import _probe, external_slides, inject

pool = json.loads(Path(sys.argv[1]).read_text())
folders = {
    "set1": "/tmp/exthe-he",
    "set2": "/tmp/heldout-he",
    "set3": "/tmp/heldout3-he",
    "set4": "/tmp/heldout4-he",
}
want = {(r["side"], r["name"]) for r in pool if max(r["clean"]["pen"], r["overstain"]["pen"]) > 0.005}
out = {}
with tempfile.TemporaryDirectory() as tmp:
    for side, folder in folders.items():
        slides, manifest = external_slides(Path(folder))
        for _, name, img in slides:
            if (side, name) not in want:
                continue
            mpp = float(manifest[name]["mpp"]) if manifest[name]["mpp"] else None
            got = {}
            for v in ("clean", "overstain"):
                im = img if v == "clean" else inject(img, "overstain", np.random.default_rng(0))[0]
                pr = _probe(im, Path(tmp), v, mpp)
                got[v] = {"pen": pr.artefacts.shares["pen"], **pr.artefacts.pens}
            out[f"{side}|{name}"] = got
            print(
                side,
                name[-40:],
                {v: {k: round(x, 3) for k, x in g.items()} for v, g in got.items()},
                flush=True,
            )
Path(sys.argv[2]).write_text(json.dumps(out))
print(len(want), "wanted", len(out), "measured")
