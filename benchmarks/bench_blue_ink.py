"""Benchmark: the dark-blue-ink clause (``PEN_BLUE_DARK_RATIO``, ``PEN_BLUE_DARK_DOMINANCE``)
against the blue rule without it, per source, on clean slides and on the bench's pen injection.

    PYTHONPATH=. python benchmarks/bench_blue_ink.py SOURCE [OUT.json]

``SOURCE``: ``tuning`` (the tuning slides of ``bench_artefacts.py --tuning-only``) or an external
set's folder (``bench_artefacts.external_slides``). Each slide is probed as the bench probes it,
clean and with its pen injection (same seed, ink and µm per pixel); inside the one probe
:func:`dqm.pixels.artefacts.measure` runs twice on the same inputs, with the clause and with
``PEN_BLUE_DARK_DOMINANCE`` at infinity (the rule before it, exactly). Printed: per ink the strokes
over 0.005 before and after, the clean slides over it, and each slide whose pen share changed.
"""

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import bench_artefacts as ba

import dqm.slide_io as slide_io
from dqm.pixels import artefacts as art

LIMIT = 0.005


def main(src: str, out: Path | None) -> None:
    measure = art.measure
    seen: dict = {}

    def twice(*args, **kwargs):  # type: ignore[no-untyped-def]
        after = measure(*args, **kwargs)
        keep = art.PEN_BLUE_DARK_DOMINANCE
        art.PEN_BLUE_DARK_DOMINANCE = float("inf")
        try:
            seen["before"] = measure(*args, **kwargs)
        finally:
            art.PEN_BLUE_DARK_DOMINANCE = keep
        seen["after"] = after
        return after

    slide_io.measure = twice  # type: ignore[assignment]
    if src == "tuning":
        slides, mpps = [s for s in ba.numbered(32, True, False) if s[1] == "tune"], {}
    else:
        ext, manifest = ba.external_slides(Path(src))
        slides = ba.numbered(0, False, False, ext)
        mpps = {n: float(r["mpp"]) if r["mpp"] else None for n, r in manifest.items()}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, _side, name, img in slides:
            rng = np.random.default_rng(ba.SEED + n)
            ink = tuple(ba.INKS)[n % len(ba.INKS)]
            default = next((v for k, v in ba.MPP.items() if name.startswith(k)), ba.GLAS_MPP)
            row: dict = {"name": name, "ink": ink}
            for variant in ("clean", "pen"):
                dirty = img if variant == "clean" else ba.inject(img, "pen", rng, ink)[0]
                ba._probe(dirty, Path(tmp), variant, mpps.get(name, default))
                for when in ("before", "after"):
                    row[f"{variant}_{when}"] = {"pen": seen[when].shares["pen"], **seen[when].pens}
            rows.append(row)
    if out is not None:
        out.write_text(json.dumps(rows))
    for when in ("before", "after"):
        inks: dict[str, list[bool]] = {}
        for r in rows:
            inks.setdefault(r["ink"], []).append(r[f"pen_{when}"]["pen"] > LIMIT)
        clean = sum(r[f"clean_{when}"]["pen"] > LIMIT for r in rows)
        found = ", ".join(f"{k} {sum(v)}/{len(v)}" for k, v in inks.items())
        print(f"{when}: pen recall by ink {found}; clean slides flagged for pen {clean}/{len(rows)}")
    for r in rows:
        for variant in ("clean", "pen"):
            a, b = r[f"{variant}_before"], r[f"{variant}_after"]
            if a["pen"] != b["pen"]:
                print(f"  {variant} {r['ink']} {r['name']}: {a['pen']:.4f} -> {b['pen']:.4f}")


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]) if len(sys.argv) > 2 else None)
