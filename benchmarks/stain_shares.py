"""The stain part of ``bench_artefacts.py`` alone: each clean slide, and its over- and under-stained
copies (the same injections), probed, their artefact shares and stain descriptors kept.

    .venv/bin/python benchmarks/stain_shares.py --external /tmp/exthe-he --out stain.json
    .venv/bin/python benchmarks/bench_artefacts.py --shares stain.json --stain-only

Writes rows of the same form as ``bench_artefacts.py --out`` (with ``overstain`` and
``understain`` the only injections), so its stain judgement and tables read them; a third of the
probes of the full measure. ``--sides`` picks the sets (default: the tuning set and the external set).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from bench_artefacts import (
    GLAS_MPP,
    MPP,
    SEED,
    _probe,
    external_slides,
    inject,
    numbered,
)

from dqm.pixels.stain_batch import STAIN_KINDS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--external", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sides", default="tune,external")
    args = parser.parse_args()
    sides = set(args.sides.split(","))
    external, manifest = external_slides(args.external)
    slides = [s for s in numbered(32, True, "fresh" in sides, external) if s[1] in sides]
    mpps = {name: float(r["mpp"]) if r["mpp"] else None for name, r in manifest.items()}  # unstated: unknown
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n, side, name, img in slides:
            rng = np.random.default_rng(SEED + n)
            default = next((v for k, v in MPP.items() if name.startswith(k)), GLAS_MPP)
            mpp = mpps.get(name, default)
            row = {"side": side, "name": name}
            if name in manifest:
                row.update({k: manifest[name][k] for k in ("organ", "site", "source")})
            for kind in ("clean", *STAIN_KINDS):
                dirty = img if kind == "clean" else inject(img, kind, rng)[0]
                probe = _probe(dirty, folder, kind, mpp)
                assert probe.artefacts is not None
                row[kind] = probe.artefacts.shares
                stain = probe.tissue.stain if probe.tissue is not None else None
                row[f"{kind}_stain"] = stain.model_dump() if stain is not None else None
            rows.append(row)
            print(len(rows), side, name, flush=True)
    args.out.write_text(json.dumps(rows))


if __name__ == "__main__":
    main()
