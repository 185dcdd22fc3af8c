"""Benchmark: what confirming a slide's files after OpenSlide has read them costs per probe.

:func:`dqm.slide_io.probe_slide` takes the stat and quick print of each file OpenSlide opens by
name besides the slide (:func:`dqm.slide_io.taken_of`: the runner's, for the record; a probe called
alone takes its own) and, once OpenSlide is done, stats them and the slide again and lists the
parts again (:func:`dqm.slide_io._changed_while_read`). Both are timed here, in µs of this process's CPU
(``resource.getrusage``) and wall time per call, on four slides OpenSlide opens by name: a VMS
with its JPEG, a Trestle TIFF with its macro, the real DICOM pair ``boxes_0.dcm``/``boxes_1.dcm``
(``--real``, copied), and a DICOM slide with ``--series-files`` other files of its series; and a
whole ``probe_slide`` of each for scale.

Usage: PYTHONPATH=. python benchmarks/bench_changed_while_read.py [--repeat 2000] [--series-files 200]
       [--real ../shared/data/real/slides] [--data /tmp/bench-changed-while-read]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from dqm.slide_io import _changed_while_read, fingerprint, probe_slide, taken_of


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timed(work: Callable[[], object], repeat: int) -> tuple[float, float]:
    """µs of CPU and of wall time per call of ``work``."""
    cpu, wall = _cpu(), time.perf_counter()
    for _ in range(repeat):
        work()
    return (_cpu() - cpu) / repeat * 1e6, (time.perf_counter() - wall) / repeat * 1e6


def _slides(data: Path, real: Path, series_files: int) -> dict[str, tuple[Path, str]]:
    from tests.slides.test_slide_refs import _jpeg, _vms
    from tests.test_dicom_parts import SERIES, dicom
    from tests.test_trestle_refs import _trestle

    shutil.rmtree(data, ignore_errors=True)
    (data / "vms").mkdir(parents=True)
    _jpeg(data / "vms" / "S1.jpg", (20, 200, 20))
    _vms(data / "vms" / "S1.vms", "S1.jpg")
    _trestle(data / "trestle" / "t.tif")
    slides = {"vms": (data / "vms" / "S1.vms", "S1.vms"), "trestle": (data / "trestle" / "t.tif", "t.tif")}
    if (real / "boxes_0.dcm").exists():
        (data / "real").mkdir()
        for name in ("boxes_0.dcm", "boxes_1.dcm"):
            shutil.copy(real / name, data / "real" / name)
        slides["real dicom"] = (data / "real" / "boxes_0.dcm", "boxes_0.dcm")
    (data / "series").mkdir()
    (data / "series" / "s.dcm").write_bytes(dicom(SERIES))
    for k in range(series_files):
        (data / "series" / f"f{k:05d}").write_bytes(dicom(SERIES))
    slides[f"dicom + {series_files}"] = (data / "series" / "s.dcm", "s.dcm")
    return slides


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=2000)
    parser.add_argument("--series-files", type=int, default=200)
    parser.add_argument("--real", type=Path, default=Path("../shared/data/real/slides"))
    parser.add_argument("--data", type=Path, default=Path("/tmp/bench-changed-while-read"))
    args = parser.parse_args()
    print(
        f"{'slide':<16} {'parts':>5} {'stats taken cpu/wall µs':>24} {'confirmed cpu/wall µs':>22} {'probe ms':>9}"
    )
    for label, (path, rel) in _slides(args.data, args.real, args.series_files).items():
        root, st = path.parent, path.stat()
        parts = taken_of(path, st, root)
        repeat = max(1, args.repeat // (1 + len(parts.listed) // 50))
        taken = _timed(partial(taken_of, path, st, root), repeat)
        quick = fingerprint(path, st.st_size)
        with path.open("rb") as fh:
            confirmed = _timed(
                partial(_changed_while_read, rel, path, fh.fileno(), root, parts, quick), repeat
            )
        cpu = _cpu()
        opened = probe_slide(path, rel).opened  # the crafted series' files have no image OpenSlide shows
        print(
            f"{label:<16} {len(parts.listed):>5} {taken[0]:>11.1f} / {taken[1]:>10.1f} "
            f"{confirmed[0]:>10.1f} / {confirmed[1]:>9.1f} {(_cpu() - cpu) * 1e3:>9.1f}"
            + ("" if opened else " (not opened)")
        )


if __name__ == "__main__":
    main()
