"""How near each image of the tuning sources comes to :func:`validators.slide.all_ink`: the share of
its tissue under pen ink or near-black (over-stained) pixels, the tissue's share of the image, and
how many images read as all ink (none may: each is a section).

    nice -n 10 .venv/bin/python benchmarks/all_ink_sources.py DIR [DIR...]

Each image is read as the probe reads a plain image (at most 1,024 px a side, the saturation tissue
mask); output: per folder, the count all ink and the three images nearest to it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dqm.pixels.artefacts import measure  # noqa: E402
from dqm.slide_io import tissue_from_rgba  # noqa: E402
from validators.slide import all_ink  # noqa: E402

SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def nearness(path: Path) -> tuple[float, float, bool] | None:
    """The ink and near-black share of the tissue, the tissue's share of the image, all ink."""
    try:
        with Image.open(path) as img:
            small = img.convert("RGBA")
    except (OSError, ValueError):
        return None
    small.thumbnail((1024, 1024))
    rgba = np.asarray(small)
    mask, _ = tissue_from_rgba(rgba)
    found = measure(rgba, mask, (1.0, 1.0))
    dark = np.count_nonzero(found.mask("pen", "overstain")) / max(found.tissue_px, 1)
    return dark, found.tissue_px / max(found.flags.size, 1), all_ink(found)


def main(folders: list[str]) -> None:
    for folder in folders:
        rows = []
        for path in sorted(Path(folder).rglob("*")):
            if path.suffix.lower() in SUFFIXES and "mask" not in str(path).lower():
                got = nearness(path)
                if got is not None:
                    rows.append((*got, path.name))
        rows.sort(reverse=True)
        print(f"{folder}: {len(rows)} images, all ink {sum(r[2] for r in rows)}")
        for dark, tissue, _, name in rows[:3]:
            print(f"  ink or near-black {dark:.3f} of the tissue, tissue {tissue:.3f}: {name}")


if __name__ == "__main__":
    main(sys.argv[1:])
