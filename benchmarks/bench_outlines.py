"""Benchmark: outlining masks and RLEs of many regions (the reader alone, no audit around it).

Each case is parsed by ``parse_annotation`` in a fresh process: CPU seconds of the parse (not wall
time: the machine may be shared) and the process's peak RSS.

* ``rle_checker``: a COCO RLE of 500,000 one-pixel regions down a 1001 x 999 mask (the run cap;
  bench_hostile.py's case of the same name);
* ``labels_50k``: a 16-bit PNG of 256 x 256 random labels (cut at MAX_LESIONS = 50,000 regions);
* ``glas``: every GlaS mask of ``../shared/data/real/segmentation/glas/masks`` (skipped when absent).

    .venv/bin/python benchmarks/bench_outlines.py [--only rle_checker,labels_50k,glas]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GLAS = ROOT.parent / "shared" / "data" / "real" / "segmentation" / "glas" / "masks"
CASES = ("rle_checker", "labels_50k", "glas")

CHILD = """
import io, json, resource, sys, time
from pathlib import Path
import numpy as np
from PIL import Image
from dqm.readers import parse_annotation

case = sys.argv[1]
if case == "rle_checker":
    h, w = 1001, 999
    seg = {"size": [h, w], "counts": [1] * (h * w)}
    doc = {"images": [{"id": 1, "file_name": "S1.tiff", "width": w, "height": h}],
           "categories": [{"id": 1, "name": "bcc"}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": seg}]}
    files = [(json.dumps(doc).encode(), "annotations/coco.json")]
elif case == "labels_50k":
    buf = io.BytesIO()
    labels = np.random.default_rng(0).integers(0, 65536, (256, 256), dtype=np.uint16)
    Image.fromarray(labels).save(buf, "PNG")
    files = [(buf.getvalue(), "masks/S1.png")]
else:
    files = [(p.read_bytes(), "masks/" + p.name) for p in sorted(Path(sys.argv[2]).glob("*.png"))]
start = time.process_time()
lesions = sum(len(a.lesions) for data, rel in files for a in parse_annotation(data, rel))
cpu = time.process_time() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"files": len(files), "lesions": lesions, "cpu_s": round(cpu, 2), "peak_mib": round(peak)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(CASES), help="comma-separated case names")
    args = parser.parse_args()
    print("| case | files | lesions | CPU s | peak MiB |")
    print("|---|---|---|---|---|")
    for case in args.only.split(","):
        if case == "glas" and not GLAS.is_dir():
            print(f"| glas | skipped: {GLAS} absent | | | |")
            continue
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, case, str(GLAS)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        )
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        print(
            f"| {case} | {row['files']} | {row['lesions']} | {row['cpu_s']} | {row['peak_mib']} |", flush=True
        )


if __name__ == "__main__":
    main()
