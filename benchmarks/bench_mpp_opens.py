"""How often an item's image is opened, and how long its check takes, when its annotation declares
a plausible resolution (issue: the fit check opened the image's header before the probe).

Each real slide and image of ``/work/shared/data/real`` (copied into a temporary batch) is
checked once per repetition as one item whose native annotation declares 0.5 µm/px and one lesion
within the image; the probe cache is cleared before each. Opens are counted by wrapping
``PIL.Image.open``, ``tifffile.TiffFile`` and ``openslide.OpenSlide`` for calls naming the image
before the runner's first probe (the probe itself opens the file by its descriptor), and probes
by wrapping ``runner.probe_slide_cached``.

    PYTHONPATH=<tree> python benchmarks/bench_mpp_opens.py [--reps 3] [--misfit]

Run it with the tree before and after the change as ``PYTHONPATH`` to compare.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

REAL = Path("/work/shared/data/real")
NAMES = [
    "slides/CMU-1-Small-Region.svs",
    "slides/tcga-cr-7395-01a-01-ts1.svs",
    "slides/OS-1-detail.ome.tif",
    "slides/smalltif.tif",
    "images/Normal_Epidermis_and_Dermis_with_Intradermal_Nevus_10x.jpg",
]


def _counting(opened: list[str], target: str) -> None:
    """Wraps the three openers so that a call naming ``target`` is appended to ``opened``."""
    import openslide
    import PIL.Image
    import tifffile

    real_open = PIL.Image.open

    def pil_open(fp: Any, *a: Any, **k: Any) -> Any:
        if str(fp).endswith(target):
            opened.append("PIL")
        return real_open(fp, *a, **k)

    PIL.Image.open = pil_open  # type: ignore[assignment]
    for name, cls in (("tifffile", tifffile.TiffFile), ("openslide", openslide.OpenSlide)):
        init = cls.__init__

        def wrapped(self: Any, arg: Any, *a: Any, _init: Any = init, _name: str = name, **k: Any) -> None:
            if str(arg).endswith(target):
                opened.append(_name)
            _init(self, arg, *a, **k)

        cls.__init__ = wrapped  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument(
        "--misfit", action="store_true", help="the lesion reaches x = 10^6: the annotation fits no image here"
    )
    args = parser.parse_args()
    from dqm import runner, slide_io
    from dqm.model import Item
    from dqm.profile import load_profile
    from validators.engine import configure

    profile = load_profile(None)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for rel in NAMES:
            src = REAL / rel
            name = src.name
            shutil.copyfile(src, root / name)  # a link out of the batch is refused
            x1 = 1_000_000 if args.misfit else 60
            ring = [[10, 10], [x1, 10], [x1, 60], [10, 60], [10, 10]]
            doc = {
                "format": "dqm.annotation/1",
                "slide": {"file": name, "mpp": 0.5},
                "lesions": [
                    {"id": 1, "class": "BCC", "geometry": {"type": "Polygon", "coordinates": [ring]}}
                ],
            }
            (root / f"{name}.json").write_text(json.dumps(doc))
            opened: list[str] = []
            _counting(opened, name)
            real_probe = runner.probe_slide_cached

            def probe(*a: Any, _real: Any = real_probe, _opened: list[str] = opened) -> Any:
                _opened.append("probe")
                return _real(*a)

            runner.probe_slide_cached = probe  # type: ignore[assignment]
            times, counts = [], []
            for _ in range(args.reps):
                slide_io._PROBES.clear()
                opened.clear()
                item = Item(slide_id=name, image_path=name, annotation_path=f"{name}.json")
                t0 = time.perf_counter()
                record = runner.check_item(
                    item, root, profile, configure(profile), runner.RunOptions(workers=1)
                )
                times.append(time.perf_counter() - t0)
                first = opened.index("probe") if "probe" in opened else len(opened)
                counts.append((first, opened.count("probe")))
            slide = record.summary.slide
            first = opened.index("probe") if "probe" in opened else len(opened)
            source = slide.mpp_source if slide else "-"
            rows.append((name, *counts[-1], ",".join(opened[:first]), statistics.median(times), source))
            runner.probe_slide_cached = real_probe  # type: ignore[assignment]
    print(f"{'image':<60} {'opens before probe':>18} {'probes':>6}  {'by':<14} {'median s':>8}  source")
    for name, n, probes, by, t, source in rows:
        print(f"{name:<60} {n:>18} {probes:>6}  {by:<14} {t:8.3f}  {source}")


if __name__ == "__main__":
    main()
