"""Peak memory of one item whose big annotation is held while its slide is probed (mpp fix).

    PYTHONPATH=CHECKOUT python benchmarks/bench_mpp_memory.py [--lesions 60000] [--side 2048] [--work DIR]

Since the annotation is read before the probe (its declared mpp is the probe's when it fits the
image), the parsed annotation is alive while the slide is decoded and measured: the item's peak
is about the parse's plus the probe's, where before it was the larger of the two. Writes a native
annotation of ``--lesions`` 8-vertex polygons within a ``--side`` px PNG of H&E-like noise (the
annotation states ``mpp`` 0.5 and the image's size, so it fits), then runs ``runner.check_item``
on it in a fresh child and prints the child's peak RSS (``VmHWM``), its RSS after importing dqm,
and the file's size. The dqm measured is the one on PYTHONPATH (run it with another checkout's to
compare: one from before the annotation was read first, e.g. ``git archive a804290^``).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import sys
from pathlib import Path
def status(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) / 1024
from dqm import runner
from dqm.model import Item
from dqm.profile import load_profile
from validators.engine import configure
profile = load_profile()
imported = status("VmRSS")
root = Path(sys.argv[1])
item = Item(slide_id="S1", image_path="S1.png", annotation_path="S1.json")
record = runner.check_item(item, root, profile, configure(profile), runner.RunOptions(workers=1))
slide = record.summary.slide
print(imported, status("VmHWM"), slide.mpp if slide else None, getattr(slide, "mpp_source", "-"), record.n_values)
"""


def write_item(work: Path, lesions: int, side: int) -> int:
    """The PNG and its annotation in ``work``; the annotation's size in bytes."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    pink = np.array([230, 160, 200], np.int16)
    pixels = np.clip(pink + rng.integers(-40, 40, (side, side, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(work / "S1.png")
    rand = random.Random(0)
    out = []
    for k in range(lesions):
        x, y = rand.uniform(10, side - 30), rand.uniform(10, side - 30)
        ring = [[round(x + dx, 2), round(y + dy, 2)] for dx, dy in ((0, 0), (8, 0), (16, 4), (16, 12))]
        ring += [[round(x + dx, 2), round(y + dy, 2)] for dx, dy in ((12, 16), (4, 16), (0, 12), (0, 4))]
        ring.append(ring[0])
        out.append({"id": k + 1, "class": "BCC", "geometry": {"type": "Polygon", "coordinates": [ring]}})
    doc = {
        "format": "dqm.annotation/1",
        "slide": {"file": "S1.png", "width": side, "height": side, "mpp": 0.5},
        "lesions": out,
    }
    data = json.dumps(doc).encode()
    (work / "S1.json").write_bytes(data)
    return len(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lesions", type=int, default=60_000)
    parser.add_argument("--side", type=int, default=2048)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        size = write_item(work, args.lesions, args.side)
        done = subprocess.run(  # not run in a checkout: the dqm on PYTHONPATH is the one measured
            [sys.executable, "-c", CHILD, str(work)], capture_output=True, text=True, cwd=work
        )
        if done.returncode:
            sys.exit(done.stderr[-2000:])
        imported, peak, mpp, source, values = done.stdout.split()
        print(
            f"annotation {size / 2**20:.1f} MiB, {args.lesions:,} lesions on a {args.side} px PNG: "
            f"RSS after imports {float(imported):.0f} MiB, peak {float(peak):.0f} MiB "
            f"(slide mpp {mpp}, source {source}, values {values})"
        )


if __name__ == "__main__":
    main()
