"""Debris regions, per slide: area, colour, mean and greatest contrast against the local glass
(``_local_glass``), for the clean slides named (or every ``every``-th) and their debris-injected
copies (the bench's seeds and injection order; ``INJ=1``: injected only). Measured with the detector
as imported (BASE: a checkout of it on PYTHONPATH). Tabulate with ``debris_table.py``.

    INJ=1 PYTHONPATH=BASE nice -n 10 .venv/bin/python benchmarks/debris_study.py s3.json set3 2
    INJ=1 PYTHONPATH=BASE nice -n 10 .venv/bin/python benchmarks/debris_study.py s12g.json set2,set1,glas 3
    PYTHONPATH=BASE .venv/bin/python benchmarks/debris_study.py fp.json set3,set2 1 13412-100-001,21998CD-100-00,10147-100-002,lung_n,BCNB__10011
"""

import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_artefacts as B

import dqm.pixels.artefacts as A
import dqm.slide_io as S

FEATS = []
_m = S.measure


def wrap(rgba, mask, ds, tiles, *a):
    res = _m(rgba, mask, ds, None, *a)
    valid = rgba[..., 3] > 0 if rgba.shape[-1] == 4 else np.ones(mask.shape, bool)
    rgb, tmask, valid, _f = A._shrink(rgba[..., :3], mask, valid)
    w = A._Work.of(rgb)
    deb = (res.flags >> A.KINDS.index("debris")) & 1 > 0
    lab, _n = ndimage.label(deb, np.ones((3, 3), bool))
    glass = valid & ~tmask
    gg0 = float(np.median(w.grey[glass])) if glass.any() else 1.0
    loc = A._local_glass(w.grey, glass & ~A._clumps(deb), gg0) if deb.any() else None
    for k, sl in enumerate(ndimage.find_objects(lab), 1):
        pad = 6
        s0 = slice(max(0, sl[0].start - pad), sl[0].stop + pad)
        s1 = slice(max(0, sl[1].start - pad), sl[1].stop + pad)
        c = lab[s0, s1] == k
        ring = ndimage.binary_dilation(c, iterations=5) & ~ndimage.binary_dilation(c, iterations=2)
        g = w.grey[s0, s1]
        s = w.sat[s0, s1]
        gl = glass[s0, s1] & ~deb[s0, s1]
        rg = ring & gl
        FEATS.append(
            dict(
                area=int(c.sum()),
                grey=float(g[c].mean()),
                sat=float(s[c].mean()),
                ring_std=float(g[rg].std()) if rg.sum() > 3 else -1,
                ring_sat=float(s[rg].mean()) if rg.sum() > 3 else -1,
                ring_grey=float(g[rg].mean()) if rg.sum() > 3 else -1,
                ring_glass=float(rg.sum() / max(ring.sum(), 1)),
                r=float(w.r[s0, s1][c].mean()),
                gg=float(w.g[s0, s1][c].mean()),
                b=float(w.b[s0, s1][c].mean()),
                glass_grey=float(np.median(w.grey[glass])) if glass.any() else 1.0,
                n=int(deb.size),
                min_grey=float(g[c].min()),
                minc=float((loc[s0, s1][c] - g[c]).max()),
                meanc=float((loc[s0, s1][c] - g[c]).mean()),
            )
        )
    return res


SOURCES = {
    "set4": "/tmp/heldout4-he",
    "set3": "/tmp/heldout3-he",
    "set2": "/tmp/heldout-he",
    "set1": "/tmp/exthe-he",
    "glas": None,
}


def slides(which: list[str], every: int, names: set[str] | None, clean: bool = True, colours: tuple = ()):
    """``(source, name, kind, RGB, mpp)`` per slide of the ``which`` sources (every ``every``-th,
    or those whose names hold one of ``names``): the clean slide (``clean``) and its debris-injected
    copy, drawn with the bench's seeds and injection order (its specks recoloured to
    ``colours[n % len(colours)]`` for the slide numbered n when ``colours`` are given)."""
    for src in which:
        folder = SOURCES[src]
        if folder is None:
            nums = [x for x in B.numbered(32, True, False) if x[1] == "tune"]
            manifest = {x[2]: {} for x in nums}
        else:
            found, manifest = B.external_slides(Path(folder))
            nums = B.numbered(0, False, False, found)
        for n, _side, name, img in (
            nums[::every] if names is None else [x for x in nums if any(m in x[2] for m in names)]
        ):
            rng = np.random.default_rng(B.SEED + n)
            ink = tuple(B.INKS)[n % len(B.INKS)]
            mpp = float(manifest[name]["mpp"]) if manifest[name].get("mpp") else None
            if clean:
                yield src, name, "clean", img, mpp
            for kind in B.INJECTED:
                if kind in ("overstain", "understain", "blur"):
                    continue
                dirty, spots = B.inject(img, kind, rng, ink, "pleat")
                if kind == "debris":
                    if colours:
                        dirty[spots] = colours[n % len(colours)]
                    yield src, name, kind, dirty, mpp


if __name__ == "__main__":
    S.measure = wrap
    out = []
    names = set(sys.argv[4].split(",")) if len(sys.argv) > 4 else None
    with tempfile.TemporaryDirectory() as tmp:
        for src, name, kind, im, mpp in slides(
            sys.argv[2].split(","), int(sys.argv[3]), names, not os.environ.get("INJ")
        ):
            FEATS.clear()
            a = B._probe(im, Path(tmp), kind, mpp).artefacts
            out.append(dict(src=src, name=name, kind=kind, share=a.shares["debris"], comps=list(FEATS)))
            print(src, len(out), flush=True)
    Path(sys.argv[1]).write_text(json.dumps(out))
