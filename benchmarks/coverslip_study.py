"""Per tuning source (set 3 whole; sets 1, 2 and the GlaS tuning slides sampled one in three): bubble and
debris shares of the clean, coverslip- and bubble-injected slides (the bench's injections and
seeds, no blur sample), and the straight-edge lines the rule as on BASE accepts with their longest
unbroken stretch (``coverslip_trace.py``). ``--before``: COVERSLIP_MIN_UNBROKEN off.

    PYTHONPATH=. nice -n 10 .venv/bin/python benchmarks/coverslip_study.py before.json --before
    python benchmarks/coverslip_table.py before.json --th 0.08 --changed changed.txt   # LOSO threshold
    PYTHONPATH=. nice -n 10 .venv/bin/python benchmarks/coverslip_study.py after.json changed.txt
    python benchmarks/coverslip_table.py before.json after.json --th 0.08
"""

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_artefacts as B
import coverslip_trace  # noqa: F401  (prints LINE records; we capture via a list)

import dqm.pixels.artefacts as A

LINES = []
inner = A._straight_edges


def rec(valleys, tissue):
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        out = inner(valleys, tissue)
    for row in buf.getvalue().splitlines():
        if "LINE" in row:
            LINES.append(float(row.split("longest ")[1].split()[0]))
    return out


A._straight_edges = rec
import dqm.slide_io as S  # noqa: E402  (after the trace is in place)

_m = S.measure
S.measure = lambda rgba, mask, ds, tiles, *a: _m(
    rgba, mask, ds, None, *a
)  # no blur sample: bubble/debris unchanged
if "--before" in sys.argv:
    sys.argv.remove("--before")
    A.COVERSLIP_MIN_UNBROKEN = 0.0  # the rule as on BASE
only = set(Path(sys.argv[2]).read_text().splitlines()) if len(sys.argv) > 2 else None
srcs = [("set3", "/tmp/heldout3-he"), ("set2", "/tmp/heldout-he"), ("set1", "/tmp/exthe-he"), ("glas", None)]
EVERY = {"set3": 1, "set2": 3, "set1": 3, "glas": 3}
_t = B.tissue_from_rgba
_cache = {}


def _tissue(img):
    k = (id(img), img.shape)
    if k not in _cache:
        _cache.clear()
        _cache[k] = _t(img)
    return _cache[k]


B.tissue_from_rgba = _tissue
rows = []
with tempfile.TemporaryDirectory() as tmp:
    t = Path(tmp)
    for src, folder in srcs:
        if only is not None and not any(k.startswith(src + "|") for k in only):
            continue
        if folder is None:
            nums = [x for x in B.numbered(32, True, False) if x[1] == "tune"]
            manifest = {
                x[2]: {"site": "GlaS" if x[2].startswith("train") else x[2].split("#")[0]} for x in nums
            }
        else:
            slides, manifest = B.external_slides(Path(folder))
            nums = B.numbered(0, False, False, slides)
        for n, _side, name, img in nums[:: EVERY[src]]:
            if only is not None and not any(
                f"{src}|{name}|{k}" in only for k in ("clean", "coverslip", "bubble")
            ):
                continue
            rng = np.random.default_rng(B.SEED + n)
            ink = tuple(B.INKS)[n % len(B.INKS)]
            mpp = float(manifest[name]["mpp"]) if manifest[name].get("mpp") else None
            todo = {"clean": img}
            for kind in B.INJECTED:
                if kind in ("overstain", "understain", "blur"):
                    continue  # no draw from rng (checked: only pen, fold, bubble, debris, coverslip draw)
                dirty, _m2 = B.inject(img, kind, rng, ink, "pleat")
                todo[kind] = dirty
            for kind in ("clean", "coverslip", "bubble"):
                key = f"{src}|{name}|{kind}"
                if only is not None and key not in only:
                    continue
                LINES.clear()
                a = B._probe(todo[kind], t, kind, mpp).artefacts
                rows.append(
                    {
                        "key": key,
                        "src": src,
                        "site": manifest[name]["site"][:30],
                        "kind": kind,
                        "bubble": a.shares["bubble"],
                        "debris": a.shares["debris"],
                        "lines": list(LINES),
                        "ms": 1000 * a.elapsed_s,
                    }
                )
            print(src, len(rows), flush=True)
Path(sys.argv[1]).write_text(json.dumps(rows))
