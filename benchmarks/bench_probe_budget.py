"""Benchmark: how much of its budgets a slide probe uses, and whether any budget fires (issue 13 §4).

    python benchmarks/bench_probe_budget.py [--lot DIR] [--lot-slides 300] [--big 50000]

Probes, one process (its allocator set as in dqm's workers), each slide once after a warm-up:

* **lot**       the first ``--lot-slides`` slides of ``DIR/slides`` (``benchmarks/bench_slides.py``
                builds them: ``--data /tmp/w6/lot`` gives ``/tmp/w6/lot/slides-1000-1024``);
* **real**      every file of ``../shared/data/real/slides`` and ``images``;
* **glas**      the GlaS images of ``../shared/data/real/segmentation/glas/images``;
* **hostile**   the slide files of ``benchmarks/bench_hostile.py`` (PNG slides of 13,300² and
                20,000², 1 x 100M and 100M x 1, a TIFF with a label page) and a JPEG pyramid of
                ``--big`` px a side (``write_large_pyramid``: large but legal).

For each set: the probe's CPU seconds (median, largest) against its budget (the default profile's
``limits.slide_seconds``), the blur sample's wall-clock seconds against its part
(``artefacts_budget_s``), the work the probe counted against its work budget (:mod:`dqm.budget`),
and every probe that skipped a step or whose blur sample stopped early, with the meter that
stopped it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from dqm import slide_io  # noqa: E402
from dqm.slide_io import ProbeOptions, SlideProbe, probe_slide  # noqa: E402


def _hostile(folder: Path, big: int) -> list[Path]:
    """The slide files of ``bench_hostile.py``'s slide cases, and a large pyramid."""
    import io

    import numpy as np
    import tifffile
    from bench_hostile import _png

    from dqm.synth.pyramid import write_large_pyramid

    files = {
        "png_13k.png": _png(13_300, 13_300, colour=6, samples=4),
        "png_20k.png": _png(20_000, 20_000),
        "png_1x100m.png": _png(100_000_000, 1),
        "png_100mx1.png": _png(1, 100_000_000),
    }
    buf = io.BytesIO()
    with tifffile.TiffWriter(buf) as tw:
        tw.write(np.full((512, 512, 3), 200, np.uint8), tile=(256, 256), metadata=None)
        tw.write(np.zeros((64, 96, 3), np.uint8), description="label 96x64", metadata=None)
    files["label_page.tiff"] = buf.getvalue()
    out = []
    for name, data in files.items():
        (folder / name).write_bytes(data)
        out.append(folder / name)
    if big:
        write_large_pyramid(folder / f"big-{big}.tiff", big)
        out.append(folder / f"big-{big}.tiff")
    return out


def _row(path: Path, options: ProbeOptions) -> dict[str, object]:
    c = time.thread_time()
    probe: SlideProbe = probe_slide(path, path.name, options)
    cpu = time.thread_time() - c
    blur = probe.artefacts.blur if probe.artefacts is not None else None
    return {
        "name": path.name,
        "cpu": cpu,
        "share": cpu / options.budget_s,
        "blur_s": probe.artefacts.elapsed_s if probe.artefacts is not None else 0.0,
        "work": probe.work,
        "skipped": probe.skipped,
        "clock": probe.budget_clock,
        "blur_note": blur.note if blur is not None else "",
        "tiles": blur.tiles if blur is not None else 0,
    }


def report(label: str, paths: list[Path], options: ProbeOptions) -> None:
    if not paths:
        print(f"{label}: none")
        return
    rows = [_row(p, options) for p in paths]
    cpus = [float(r["cpu"]) for r in rows]  # type: ignore[arg-type]
    blur = [float(r["blur_s"]) for r in rows]  # type: ignore[arg-type]
    print(
        f"{label}: {len(rows)} probes, CPU median {1000 * statistics.median(cpus):.1f} ms, largest "
        f"{1000 * max(cpus):.1f} ms ({100 * max(cpus) / options.budget_s:.2f} % of {options.budget_s:g} s); "
        f"artefacts part largest {1000 * max(blur):.1f} ms of {1000 * options.artefacts_budget_s:g} ms"
    )
    from dqm.budget import work_units
    from dqm.pixels.artefacts import BLUR_TILE

    works = [int(r["work"]) for r in rows]  # type: ignore[call-overload]
    limit = work_units(options.budget_s)
    blur_units = max(int(r["tiles"]) for r in rows) * BLUR_TILE * BLUR_TILE  # type: ignore[call-overload]
    print(
        f"  work: median {statistics.median(works):,.0f}, largest {max(works):,} of {limit:,} units; "
        f"{sum(works) / sum(cpus) / 1e6:.0f} million units a CPU second; blur sample largest "
        f"{blur_units:,} of {work_units(options.artefacts_budget_s):,} units (tiles on the stored grid)"
    )
    for r in rows:
        if r["skipped"] or "budget" in str(r["blur_note"]) or "backstop" in str(r["blur_note"]):
            print(f"  {r['name']}: skipped {r['skipped']} ({r['clock']}); blur: {r['blur_note']!r}")
        if label == "hostile":
            print(f"  {r['name']}: {1000 * float(r['cpu']):.1f} ms, {r['work']} units")  # type: ignore[arg-type]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lot", type=Path, default=Path("/tmp/w6/lot/slides-300-1024"))
    ap.add_argument("--lot-slides", type=int, default=300)
    ap.add_argument("--big", type=int, default=50_000, help="side of the large pyramid (0: none)")
    args = ap.parse_args()
    slide_io.keep_freed_memory()
    options = ProbeOptions()
    lot = sorted((args.lot / "slides").glob("*.tiff"))[: args.lot_slides]
    if lot:
        probe_slide(lot[0], lot[0].name)  # imports
    report("lot", lot, options)
    real = sorted(p for sub in ("slides", "images") for p in (REAL / sub).glob("*") if p.is_file())
    report("real", real, options)
    report("glas", sorted((REAL / "segmentation" / "glas" / "images").glob("*"))[:200], options)
    with tempfile.TemporaryDirectory(prefix="dqm-bench-budget-") as tmp:
        report("hostile", _hostile(Path(tmp), args.big), options)


if __name__ == "__main__":
    main()
