"""Benchmark: lesion outlines drawn on a report thumbnail (``dqm.thumbnails._draw``), and the pixels.

Cases, each drawn on a blank canvas of the thumbnail's size (512 px on the long side, as
``dqm audit --thumbnail-side 512`` draws; ``--side`` for others):

* ``million``: 1,000 lesions of 1,000 vertices (a million; 1-3 px apart) on a 100,000 x 80,000 px
  slide, in the seven classes of the default profile and one unknown;
* ``zigzag``: bench_hostile.py's outline of 999,000 vertices zigzagging across every row of a
  1,000 x 346 px slide (every edge crosses the thumbnail from top to bottom);
* ``real``: every annotation file of ``../shared/data/real/annotations`` the readers parse (skipped
  when absent), each on its own canvas (the annotation's size, else its vertices' extent).

Each row gives the vertices drawn, the CPU seconds of the drawing alone (not wall time: the machine
may be shared), the peak RSS, and a digest of the canvases' pixels: a change that must draw the
same pixels keeps it. Run it from the checkout to measure, or with ``PYTHONPATH=OTHER_CHECKOUT``
for another::

    .venv/bin/python benchmarks/bench_thumbnail_outlines.py [--only million,zigzag,real] [--side 512]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.append(str(Path(__file__).resolve().parents[1]))  # after PYTHONPATH: another checkout wins
from dqm.coords import Frame
from dqm.model import LesionOutline, ParsedAnnotation
from dqm.profile import load_profile
from dqm.readers import parse_annotation
from dqm.thumbnails import CANVAS, _draw, _extent

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "annotations"


def million() -> list[ParsedAnnotation]:
    rng = np.random.default_rng(0)
    lesions = []
    for k in range(1000):
        cx, cy, r = rng.uniform(5_000, 95_000), rng.uniform(5_000, 75_000), rng.uniform(200, 3_000)
        t = np.linspace(0, 2 * np.pi, 1000, endpoint=False)
        wobble = 1 + 0.05 * np.sin(7 * t + k)
        ring = np.column_stack([cx + r * wobble * np.cos(t), cy + r * wobble * np.sin(t)])
        label = ("NS", "EC", "SK", "BD_SCC", "BCC", "MN", "MM", "nope")[k % 8]
        lesions.append(
            LesionOutline(index=k, pointer=f"/lesions/{k}", raw_class=label, label=label, polygons=((ring,),))
        )
    return [
        ParsedAnnotation(path="m.json", format="native", width=100_000, height=80_000, lesions=tuple(lesions))
    ]


def zigzag() -> list[ParsedAnnotation]:
    """bench_hostile.py's ``zigzag_outline``: 999,000 vertices whose every edge crosses every row."""
    n, w, h = 999_000, 1_000.0, 346.0
    k = np.arange(n)
    top = np.column_stack([1 + (w - 2) * k / (n - 1), np.where(k % 2 == 0, 1.0, h - 1.0)])
    ring = np.concatenate([top, [[w - 1.0, h - 0.5], [1.0, h - 0.5]]])
    lesion = LesionOutline(index=0, pointer="/lesions/0", raw_class="BCC", label="BCC", polygons=((ring,),))
    return [ParsedAnnotation(path="z.json", format="native", width=int(w), height=int(h), lesions=(lesion,))]


def real() -> list[ParsedAnnotation]:
    out = []
    for path in sorted(
        p
        for p in REAL.rglob("*")
        if p.is_file() and p.suffix in {".xml", ".json", ".geojson", ".annotations"}
    ):
        for ann in parse_annotation(path.read_bytes(), path.relative_to(REAL).as_posix()):
            if ann.readable and ann.lesions:
                out.append(ParsedAnnotation.of(ann))
    return out


def main() -> None:
    from PIL import Image

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="million,zigzag,real", help="comma-separated case names")
    parser.add_argument("--side", type=int, default=512, help="thumbnail pixels on the long side")
    args = parser.parse_args()
    profile = load_profile(None)
    for case in args.only.split(","):
        anns = {"million": million, "zigzag": zigzag, "real": real}[case]()
        digest, cpu, vertices = hashlib.sha256(), 0.0, 0
        for ann in anns:
            size = _extent(ann)
            if size is None:
                continue
            scale = args.side / max(size)
            img = Image.new("RGB", (max(1, round(size[0] * scale)), max(1, round(size[1] * scale))), CANVAS)
            vertices += sum(len(r) for les in ann.lesions for poly in les.polygons for r in poly)
            start = time.process_time()
            _draw(img, Frame(downsample=size[0] / img.size[0]), ann, [], profile)
            cpu += time.process_time() - start
            digest.update(np.asarray(img).tobytes())
        row = {
            "case": case,
            "annotations": len(anns),
            "vertices": vertices,
            "cpu_s": round(cpu, 2),
            "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "pixels_sha256": digest.hexdigest()[:16],
        }
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
