"""Benchmark: decodes of plain images larger than a process's share of ``training.decoded_cache_mib``.

    .venv/bin/python benchmarks/bench_plain_decodes.py [--side 6000] [--images 2] [--block 1024]
        [--tiles 20] [--batch 16] [--code OTHER_CHECKOUT]

Writes ``--images`` seeded PNGs of ``--side`` px a side (6,000: 36 M pixels, 103 MiB decoded), then,
in a child process running the checkout ``--code`` (default: this one), with a share of 1 MiB
(``decoded_cache_mib`` 2 among 2 loader workers, the run's cache, :func:`dqm.validity.run.run_cache`):
predicts each image whole with a model that answers zeros in blocks of ``--block`` px (what a
validity run does to each held-out slide), then reads ``--tiles`` training tiles drawn over the
images with a :class:`~dqm.validity.data.TileReader` in batches of ``--batch`` (what a training
process's DataLoader does: :class:`~dqm.validity.train.TileSamples` where the checkout has it). Prints one
JSON row per phase: the images decoded (Pillow loads), the child's CPU seconds and wall seconds,
and the child's peak RSS at the end.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
import numpy as np, torch
from PIL import ImageFile
from dqm.validity import run
from dqm.validity.data import SlideReader, SlideRecord, TileReader
from dqm.validity.infer import predict_slide
from dqm.validity.settings import load_validity_profile

paths, side, block, tiles, batch = [Path(p) for p in sys.argv[1].split(",")], *map(int, sys.argv[2:6])
loads = []
load = ImageFile.ImageFile.load
ImageFile.ImageFile.load = lambda self: loads.append(1) or load(self)
base = load_validity_profile("smoke")
prof = base.model_copy(update={"training": base.training.model_copy(
    update={"decoded_cache_mib": 2, "loader_workers": 2})})
records = [SlideRecord(f"S{k}", p, 1.0, side, side, [], None, None, f"P{k}", root=p.parent)
           for k, p in enumerate(paths)]

def model(x):
    return torch.zeros((x.shape[0], 2, *x.shape[2:]))

def row(phase, t0, c0, reads):
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"phase": phase, "reads": reads, "decodes": len(loads),
                      "cpu_s": round(ru.ru_utime + ru.ru_stime - c0, 2),
                      "wall_s": round(time.perf_counter() - t0, 2), "peak_rss_mib": ru.ru_maxrss // 1024}))

def cpu():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime

cache = run.run_cache(prof)
t0, c0, reads = time.perf_counter(), cpu(), 0
for rec in records:
    reader = SlideReader(rec.path, root=rec.root, cache=cache)
    reader.check(1.0, (side, side))
    predict_slide(model, reader, rec, resolution_um=1.0, tile=256, overlap=0.0, sw_batch_size=8,
                  block=block, device="cpu", amp=False)
    reads += (-(-side // block)) ** 2
    reader.close()
row("predict", t0, c0, reads)
loads.clear()
rng = np.random.default_rng(0)
reader = TileReader(records, 1.0, 96, cache_bytes=cache.budget)
samples = [{"slide": int(rng.integers(len(records))), "row0": int(rng.integers(side - 96)),
            "col0": int(rng.integers(side - 96)), "label": 0} for _ in range(tiles)]
t0, c0 = time.perf_counter(), cpu()
try:
    from dqm.validity.train import TileSamples
except ImportError:  # before: a DataLoader fetched a batch tile by tile
    for s in samples:
        reader(s)
else:
    dataset = TileSamples(samples, reader, reader)
    for start in range(0, tiles, batch):
        dataset.__getitems__(list(range(start, min(start + batch, tiles))))
row("train_tiles", t0, c0, tiles)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side", type=int, default=6000)
    ap.add_argument("--images", type=int, default=2)
    ap.add_argument("--block", type=int, default=1024)
    ap.add_argument("--tiles", type=int, default=20)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--code", type=Path, default=ROOT)
    args = ap.parse_args()
    import numpy as np
    from PIL import Image

    with tempfile.TemporaryDirectory(prefix="dqm-bench-plain-") as tmp:
        paths = []
        rng = np.random.default_rng(0)
        ramp = np.linspace(0, 200, args.side, dtype=np.float32)
        for k in range(args.images):
            noise = rng.integers(0, 40, (args.side, args.side, 3), dtype=np.uint8)
            arr = (ramp[None, :, None] + noise).astype(np.uint8)
            paths.append(Path(tmp) / f"s{k}.png")
            Image.fromarray(arr).save(paths[-1], compress_level=1)
            del arr, noise
        cmd = [sys.executable, "-c", CHILD, ",".join(map(str, paths)), str(args.side), str(args.block)]
        cmd += [str(args.tiles), str(args.batch)]
        env = {"PYTHONPATH": str(args.code.resolve()), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, cwd=tmp)
        sys.stdout.write(out.stdout)
        if out.returncode:
            sys.stderr.write(out.stderr[-3000:])
            raise SystemExit(out.returncode)


if __name__ == "__main__":
    main()
