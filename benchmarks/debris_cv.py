"""Leave one site out for the debris rule (``_dark_specks``: DEBRIS_MIN_DARK, DEBRIS_TINT).

``capture`` probes each slide (clean and debris-injected, :func:`debris_study.slides`) with the
detector as imported and records the debris candidates ``_dark_specks`` is given (their darkness
against the local glass and their tint, the channels' spread) and the tissue's pixels; the rule's
share is then replayed for every (DEBRIS_MIN_DARK, DEBRIS_TINT) on a grid, exactly as the detector
computes it. ``table``: per site held out, the constants the other sites choose (DEBRIS_MIN_DARK
the least with a feasible DEBRIS_TINT, one step up; DEBRIS_TINT the middle of the feasible ones
there: no clean slide over the limit, every injected one over it) and what they do on the site
held out; and per source, clean flagged and injected found with the shares recorded (the detector
as imported: BASE before, this tree after) and those replayed at the chosen constants.

    PYTHONPATH=BASE nice -n 10 .venv/bin/python benchmarks/debris_cv.py capture s4.pkl set4 2
    PYTHONPATH=BASE nice -n 10 .venv/bin/python benchmarks/debris_cv.py capture s123g.pkl set3,set2,set1,glas 4
    .venv/bin/python benchmarks/debris_cv.py table s4.pkl s123g.pkl
"""

import pickle
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_artefacts as B
import debris_study

import dqm.pixels.artefacts as A
import dqm.slide_io as S

LIMIT = 0.0051
DARK = np.round(np.arange(0.20, 0.60, 0.01), 2)
TINT = np.round(np.arange(0.05, 0.61, 0.025), 3)


def capture(out_path: str, which: str, every: str, names: str | None = None) -> None:
    works: list = []
    seen: dict = {}
    of, dark_specks, measure = A._Work.of.__func__, A._dark_specks, S.measure

    def work_of(cls, raw):
        works.append(of(cls, raw))
        return works[-1]

    def specks(debris, darker, *rest):
        w = next(x for x in works if x.grey.shape == debris.shape)
        tint = (w.mx - np.minimum(np.minimum(w.r, w.g), w.b)) / 255.0
        seen.update(darker=darker[debris], tint=tint[debris])
        return dark_specks(debris, darker, *rest)

    def probe(*a, **k):
        works.clear()
        seen.clear()
        res = measure(*a, **k)
        seen["tissue_px"] = res.tissue_px
        return res

    A._Work.of, A._dark_specks, S.measure = classmethod(work_of), specks, probe
    out = []
    chosen = set(names.split(",")) if names else None
    with tempfile.TemporaryDirectory() as tmp:
        for src, name, kind, img, mpp in debris_study.slides(which.split(","), int(every), chosen):
            share = B._probe(img, Path(tmp), kind, mpp).artefacts.shares["debris"]
            out.append(dict(src=src, name=name, kind=kind, share=share, **seen))
            print(src, name, kind, f"{share:.4f}", flush=True)
    Path(out_path).write_bytes(pickle.dumps(out))


def replay(s: dict) -> np.ndarray:
    """The slide's debris share for each (DARK, TINT): the candidates at least DARK darker whose
    tint is at most TINT times their darkness."""
    grid = np.zeros((DARK.size, TINT.size))
    if "darker" not in s:
        return grid
    darker = s["darker"]
    ratio = np.where(darker > 0, s["tint"] / np.maximum(darker, 1e-6), np.inf)
    for j, t in enumerate(TINT):
        kept = np.sort(darker[ratio <= t])
        grid[:, j] = (kept.size - np.searchsorted(kept, DARK)) / max(s["tissue_px"], 1)
    return grid


def site(s: dict) -> str:
    return (
        s["src"]
        + ":"
        + (s["name"].split("#")[0].split("_")[0] if s["src"] == "glas" else s["name"].split("__")[0])
    )


def feasible(rows: list[dict]) -> np.ndarray:
    ok = np.ones((DARK.size, TINT.size), bool)
    for r in rows:
        ok &= (r["grid"] > LIMIT) == (r["kind"] == "debris")
    return ok


def choose(ok: np.ndarray) -> tuple[int, int]:
    i = min(int(np.nonzero(ok.any(1))[0][0]) + 1, DARK.size - 1)
    js = np.nonzero(ok[i])[0]
    return i, round((js[0] + js[-1]) / 2)


def table(paths: list[str]) -> None:
    rows = [r for p in paths for r in pickle.loads(Path(p).read_bytes())]
    for r in rows:
        r["grid"], r["site"] = replay(r), site(r)
    i, j = choose(feasible(rows))
    print(f"{len(rows)} slides; all sites: DEBRIS_MIN_DARK {DARK[i]:.2f}, DEBRIS_TINT {TINT[j]:.3f}")
    for held in sorted({r["site"] for r in rows}):
        fi, fj = choose(feasible([r for r in rows if r["site"] != held]))
        wrong = [
            f"{r['kind']} {r['name']}"
            for r in rows
            if r["site"] == held and (r["grid"][fi, fj] > LIMIT) != (r["kind"] == "debris")
        ]
        print(f"  {held}: {DARK[fi]:.2f}, {TINT[fj]:.3f}: {'; '.join(wrong) or 'right'}")
    print("source: clean flagged recorded -> replayed, injected found recorded -> replayed (of)")
    for src in sorted({r["src"] for r in rows}):
        got = {k: [r for r in rows if r["src"] == src and r["kind"] == k] for k in ("clean", "debris")}
        rec = {k: sum(r["share"] > LIMIT for r in v) for k, v in got.items()}
        now = {k: sum(r["grid"][i, j] > LIMIT for r in v) for k, v in got.items()}
        print(
            f"  {src}: {rec['clean']} -> {now['clean']} of {len(got['clean'])}, {rec['debris']} -> {now['debris']} of {len(got['debris'])}"
        )


if __name__ == "__main__":
    if sys.argv[1] == "capture":
        capture(*sys.argv[2:])
    else:
        table(sys.argv[2:])
