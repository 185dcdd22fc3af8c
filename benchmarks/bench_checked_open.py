"""Benchmark: what opening a slide as the probe opens it costs the readers after the probe.

The report's thumbnails (:func:`dqm.slide_io.slide_thumbnail`), validity's
:class:`~dqm.validity.data.SlideReader` and the review server's tiles
(:class:`~dqm.semantic.server.tiles.TileSource`) open each slide through
:func:`dqm.slide_io.open_checked` (the refusals, the parts' stats and quick prints taken, one TIFF
through its descriptor) and check after each read (:meth:`~dqm.slide_io.CheckedSlide.changed`).
Timed here per slide, in ms of this process's CPU (``resource.getrusage``) and wall time, on the
real slides (copied into a batch under ``--data``) and a VMS with its JPEG: a 256-pixel thumbnail;
a SlideReader opened, one 64x64 region read and closed; a TileSource opened, one tile read and
closed. Run it against the former code with the same command from a checkout of it (the script
uses only the readers' public calls) to compare.

Usage: PYTHONPATH=. python benchmarks/bench_checked_open.py [--repeat 20]
       [--real ../shared/data/real/slides] [--data /tmp/bench-checked-open]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image

from dqm.semantic.server.tiles import SlideUnavailable, TileSource
from dqm.slide_io import slide_thumbnail
from dqm.validity.data import SlideReader

SLIDES = ("CMU-1-Small-Region.svs", "tcga-cr-7395-01a-01-ts1.svs", "boxes.tiff", "boxes_0.dcm", "small.svs")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timed(work: Callable[[], object], repeat: int) -> tuple[float, float]:
    """ms of CPU and of wall time per call of ``work`` (one call first, not timed)."""
    work()
    cpu, wall = _cpu(), time.perf_counter()
    for _ in range(repeat):
        work()
    return (_cpu() - cpu) / repeat * 1e3, (time.perf_counter() - wall) / repeat * 1e3


def _batch(real: Path, data: Path) -> list[str]:
    """The slides copied into ``data`` (a DICOM slide with its pair) and a VMS with its JPEG."""
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    names = []
    for name in SLIDES:
        if (real / name).exists():
            shutil.copy(real / name, data / name)
            names.append(name)
    if (real / "boxes_1.dcm").exists():
        shutil.copy(real / "boxes_1.dcm", data / "boxes_1.dcm")
    jpeg = Image.fromarray(np.full((512, 1024, 3), (30, 30, 200), np.uint8))
    jpeg.save(data / "v.jpg", "JPEG", quality=90, restart_marker_blocks=8, subsampling=0)
    (data / "v.vms").write_text(
        "[Virtual Microscope Specimen]\nNoLayers=1\nNoJpegColumns=1\nNoJpegRows=1\n"
        "ImageFile=v.jpg\nMapFile=v.jpg\nPhysicalWidth=1000\nPhysicalHeight=1000\n"
    )
    return [*names, "v.vms"]


def _region(path: Path, root: Path) -> None:
    reader = SlideReader(path, root=root)
    try:
        reader.read(0, 0, 64, 64, 1.0)
    finally:
        reader.close()


def _tile(rel: str, root: Path) -> None:
    tiles = TileSource(root, {0: rel})
    try:
        tiles.tile(0, int(tiles.info(0)["levels"]) - 1, 0, 0)
    except SlideUnavailable:
        pass
    finally:
        tiles.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--real", type=Path, default=Path("../shared/data/real/slides"))
    parser.add_argument("--data", type=Path, default=Path("/tmp/bench-checked-open"))
    args = parser.parse_args()
    names = _batch(args.real, args.data)
    print(f"{'slide':32} {'thumbnail ms cpu/wall':>22} {'region ms cpu/wall':>20} {'tile ms cpu/wall':>18}")
    for name in names:
        path = args.data / name
        cells = [
            _timed(partial(slide_thumbnail, path, 256, rel=name), args.repeat),
            _timed(partial(_region, path, args.data), args.repeat),
            _timed(partial(_tile, name, args.data), args.repeat),
        ]
        print(f"{name:32} " + " ".join(f"{cpu:10.2f}/{wall:<8.2f}" for cpu, wall in cells))


if __name__ == "__main__":
    main()
