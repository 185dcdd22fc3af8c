"""What reading every page's text tags costs a slide (the identifier checks' label and macro pages).

Times :func:`dqm.image_text.tiff_texts` (open the file, walk its IFD chain, read the text values, no
pixel) over the TIFF slides given, a few rounds; the slide probe it adds to costs about 13-15 ms a
slide (issue 13's notes), so this is the share the label-page search adds.

    python benchmarks/bench_image_text.py "/tmp/w6/lot/slides-1000-1024/slides/*.tiff" [--rounds 3]
"""

from __future__ import annotations

import argparse
import glob
import time

from dqm.image_text import tiff_texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pattern", help="a glob of TIFF slides")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    paths = sorted(glob.glob(args.pattern))
    if not paths:
        raise SystemExit(f"no file matches {args.pattern}")
    for k in range(args.rounds):
        started, values = time.perf_counter(), 0
        for path in paths:
            with open(path, "rb") as fh:
                values += sum(len(v) for v in tiff_texts(fh).values())
        per_ms = (time.perf_counter() - started) / len(paths) * 1e3
        print(f"round {k + 1}: {len(paths)} slides, {values} text values, {per_ms:.3f} ms a slide")


if __name__ == "__main__":
    main()
