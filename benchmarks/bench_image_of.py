"""Which image of a shared COCO file is each slide's (:func:`dqm.readers.items.image_of`), at scale.

Cases, each ``--items`` slides on one file, every slide picking its own image:

* ``same_name``: every slide ``case<i>/scan.svs`` (one file name for all, a folder each), the
  file listing ``x/case<i>/scan.svs``: the images are told apart by their folders;
* ``bare_names``: slide ``case<i>.svs``, the file listing ``case<i>.tiff`` (the name rule);
* ``deep``: one image's ``file_name`` of 40,000 folders beside the others (80 KB);
* ``shared_tail`` (hostile): slide ``z<i>/a/scan.svs``, the file listing ``y<i>/a/scan.svs``:
  every image ends like every slide in two parts and none in three, so every slide is
  ``IMAGE_AMBIGUOUS_IN_FILE`` (all ``--items`` images fit it);
* ``deep_tail`` (hostile): slide ``z<i>/a/b/c/d/e/f/g/scan.svs``, the file listing
  ``y<i>/a/b/c/d/e/f/g/scan.svs``: as ``shared_tail``, past the 8 parts the index keeps;
* ``shared_name`` (hostile): slide ``z<i>/scan.svs``, the file listing ``y<i>/scan.svs``: no
  path runs, every image goes by every slide's name (every slide ambiguous).

    python benchmarks/bench_image_of.py [--items 34376] [--code OTHER_CHECKOUT] [--cases shared_tail,...]

``--code`` imports dqm from another checkout (a checkout whose ``image_of`` takes no readers is
asked without them). Prints per case the CPU seconds of every slide's pick (the index built
once) and this process's peak memory.
"""

from __future__ import annotations

import argparse
import inspect
import resource
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=34376)
    parser.add_argument("--code", default=None)
    parser.add_argument("--cases", default=None, help="comma-separated case names (default: all)")
    args = parser.parse_args()
    if args.code:
        sys.path.insert(0, args.code)
    from dqm.model import Annotation
    from dqm.readers.items import FileAnnotations, image_of

    with_readers = "readers" in inspect.signature(image_of).parameters
    n = args.items
    cases = {
        "same_name": ([f"x/case{i}/scan.svs" for i in range(n)], [f"case{i}/scan.svs" for i in range(n)]),
        "bare_names": ([f"case{i}.tiff" for i in range(n)], [f"case{i}.svs" for i in range(n)]),
        "deep": (
            ["a/" * 40000 + "case0.svs"] + [f"case{i}.svs" for i in range(1, n)],
            [f"case{i}.svs" for i in range(n)],
        ),
        "shared_tail": ([f"y{i}/a/scan.svs" for i in range(n)], [f"z{i}/a/scan.svs" for i in range(n)]),
        "deep_tail": (
            [f"y{i}/a/b/c/d/e/f/g/scan.svs" for i in range(n)],
            [f"z{i}/a/b/c/d/e/f/g/scan.svs" for i in range(n)],
        ),
        "shared_name": ([f"y{i}/scan.svs" for i in range(n)], [f"z{i}/scan.svs" for i in range(n)]),
    }
    chosen = args.cases.split(",") if args.cases else list(cases)
    for case in chosen:
        keys, paths = cases[case]
        anns = FileAnnotations([Annotation(path="c.json", format="coco", image_key=key) for key in keys])
        readers = frozenset((f"id{i}", path) for i, path in enumerate(paths))
        extra = (readers,) if with_readers else ()
        start = time.process_time()
        picks = [image_of(anns, f"id{i}", path, *extra) for i, path in enumerate(paths)]
        cpu = time.process_time() - start
        right = sum(k == i for i, k in enumerate(picks))
        ambiguous = sum(getattr(k, "code", None) == "IMAGE_AMBIGUOUS_IN_FILE" for k in picks)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(
            f"{case}: {n} slides, {right} their own image, {ambiguous} ambiguous, cpu {cpu:.2f} s, peak {peak} MB",
            flush=True,
        )


if __name__ == "__main__":
    main()
