"""What the slide probe costs per slide, with and without the tissue mask.

    .venv/bin/python benchmarks/bench_probe.py [--slides 60] [--max-size 1536]

Builds a synthetic batch (``dqm synth``, seed 7, in a temporary folder), then probes every slide
once with the default options and once without the tissue mask (``ProbeOptions(tissue=False)``),
in one process, after a warm-up. Reports the median and the maximum per slide.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from dqm.slide_io import ProbeOptions, probe_slide
from dqm.synth import build_batch


def timings(slides: list[Path], options: ProbeOptions) -> list[float]:
    out = []
    for path in slides:
        t0 = time.perf_counter()
        probe_slide(path, path.name, options)
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slides", type=int, default=60)
    parser.add_argument("--max-size", type=int, default=1536)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        batch = Path(tmp) / "batch"
        build_batch(batch, args.slides, seed=7, defect_rate=0.0, max_size=args.max_size)
        slides = sorted((batch / "slides").iterdir())
        probe_slide(slides[0], slides[0].name)  # warm-up: imports
        for label, options in (("with tissue mask", ProbeOptions()), ("without", ProbeOptions(tissue=False))):
            t = timings(slides, options)
            print(
                f"{label:17s} {len(t)} slides: median {1000 * statistics.median(t):.1f} ms, "
                f"max {1000 * max(t):.1f} ms, total {sum(t):.2f} s"
            )


if __name__ == "__main__":
    main()
