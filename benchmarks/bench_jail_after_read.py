"""Benchmark: the jail rule a reader after the audit applies after each region read.

:meth:`dqm.slide_io.CheckedSlide.changed` (validity's reader, the review's tiles, thumbnails) ends
with the jail rule: a file the slide names made a link out of the batch or a FIFO since the open
is refused. Applied whole (:func:`dqm.slide_refs.refused_reference`: the slide's head read, every
name it gives resolved) after every read, it cost a MIRAX slide of ``--data-files`` data files
milliseconds a read; applied to what OpenSlide opens again at a read
(:func:`dqm.slide_refs.refused_again` of :func:`~dqm.slide_refs.watched_besides`) it is a few
stats. Timed in µs of this process's CPU per call (``resource.getrusage``): both rules on a MIRAX
layout of ``--data-files`` data files (two missing) and a VMS, and ``changed()`` of a VMS and of the
real DICOM pair (``--real``) opened by OpenSlide; and the whole check after a later read
(:func:`dqm.slide_io._changed_while_read` given what is watched: the parts' stats, the listing
where it is still taken, the jail rule) of the MIRAX layout and the VMS.

Usage: PYTHONPATH=. python benchmarks/bench_jail_after_read.py [--repeat 200] [--data-files 400]
       [--real ../shared/data/real/slides] [--data /tmp/bench-jail-after-read]
"""

from __future__ import annotations

import argparse
import resource
import shutil
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image

from dqm.slide_io import _changed_while_read, open_checked, taken_of
from dqm.slide_refs import refused_again, refused_reference, slide_parts, watched_besides


def _cpu_us(work: Callable[[], object], repeat: int) -> float:
    """µs of CPU per call of ``work``, the best of five rounds."""
    best = float("inf")
    for _ in range(5):
        usage = resource.getrusage(resource.RUSAGE_SELF)
        start = usage.ru_utime + usage.ru_stime
        for _ in range(repeat):
            work()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        best = min(best, (usage.ru_utime + usage.ru_stime - start) / repeat)
    return best * 1e6


def _layout(root: Path, data_files: int, real: Path) -> dict[str, Path]:
    shutil.rmtree(root, ignore_errors=True)
    (root / "M1").mkdir(parents=True)
    names = "".join(f"FILE_{i}=Data{i:04d}.dat\n" for i in range(data_files))
    (root / "M1" / "Slidedat.ini").write_text(f"[GENERAL]\n[DATAFILE]\nFILE_COUNT={data_files}\n{names}")
    for i in range(data_files - 2):  # two named and missing: watched by name
        (root / "M1" / f"Data{i:04d}.dat").write_bytes(b"x" * 10)
    (root / "M1.mrxs").write_bytes(b"MIRAX")
    img = Image.fromarray(np.full((64, 128, 3), (30, 30, 200), np.uint8))
    img.save(root / "S1.jpg", "JPEG", quality=90, restart_marker_blocks=8, subsampling=0)
    (root / "S1.vms").write_text(
        "[Virtual Microscope Specimen]\nNoLayers=1\nNoJpegColumns=1\nNoJpegRows=1\nImageFile=S1.jpg\n"
        "MapFile=S1.jpg\nOptimisationFile=opt.bin\nPhysicalWidth=1000\nPhysicalHeight=1000\n"
    )
    for name in ("boxes_0.dcm", "boxes_1.dcm"):
        shutil.copy(real / name, root / name)
    return {"mirax": root / "M1.mrxs", "vms": root / "S1.vms", "dicom": root / "boxes_0.dcm"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--data-files", type=int, default=400)
    parser.add_argument("--real", type=Path, default=Path("../shared/data/real/slides"))
    parser.add_argument("--data", type=Path, default=Path("/tmp/bench-jail-after-read"))
    args = parser.parse_args()
    root = args.data / "batch"
    slides = _layout(root, args.data_files, args.real)
    for kind in ("mirax", "vms"):
        path = slides[kind]
        size = path.stat().st_size
        parts = slide_parts(str(path), size, root)[0]
        watched = watched_besides(str(path), size, root, parts, None)
        whole = _cpu_us(partial(refused_reference, path, root), args.repeat)
        again = _cpu_us(partial(refused_again, watched, root), args.repeat)
        print(f"{kind}: jail rule whole {whole:8.1f} µs CPU, after the open {again:6.1f} µs CPU")
        taken = taken_of(path, path.stat(), root)
        watched = watched_besides(str(path), size, root, taken.parts, None)
        later = partial(_changed_while_read, path.name, path, None, root, taken, None, None, watched)
        assert later() is None
        print(f"{kind}: the whole check after a later read {_cpu_us(later, args.repeat):8.1f} µs CPU")
    for kind in ("vms", "dicom"):
        checked = open_checked(slides[kind], root)
        try:
            checked.slide.read_region((0, 0), 0, (32, 32))
            checked.changed()  # the first check: the whole rule
            print(f"{kind}: changed() after a read {_cpu_us(checked.changed, args.repeat):6.1f} µs CPU")
        finally:
            checked.close()


if __name__ == "__main__":
    main()
