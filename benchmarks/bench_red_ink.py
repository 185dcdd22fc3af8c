"""Benchmark: the red-ink rule's stand-apart test (``artefacts._redder_than_stain``) against no test
(every red candidate ink, the rule before it), per source, on clean slides and on red strokes.

    PYTHONPATH=. python benchmarks/bench_red_ink.py SOURCE

``SOURCE``: ``tuning`` (GlaS tuning slides and the real regions of ``bench_artefacts.numbered``) or
an external set's folder (``bench_artefacts.external_slides``). Each slide is measured clean and
with the bench's pen injection (its seed + 77777) of four red inks: the bench's (225, 35, 45) at
0.75 and 0.9 opacity, (235, 80, 90) at 0.9 and (220, 70, 80) at 0.75. The test runs first; where it
changed a candidate, the slide is measured again without it. Printed: per variant, the slides whose
pen share is over 0.005 without the test (``old``) and with it (``new``); the largest share of red
candidates among the stained pixels under ``PEN_RED_STAIN_SHARE``; each slide the test changed.
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import bench_artefacts as ba

from dqm.pixels import artefacts as art
from dqm.slide_io import tissue_from_rgba

VARIANTS = {
    "clean": None,
    "bench@0.75": ((225, 35, 45), 0.75),
    "bench@0.9": ((225, 35, 45), 0.9),
    "(235,80,90)@0.9": ((235, 80, 90), 0.9),
    "(220,70,80)@0.75": ((220, 70, 80), 0.75),
}
LIMIT = 0.005


def main(src: str) -> None:
    rule = art._redder_than_stain
    seen: dict[str, float | bool] = {}

    def watched(red, r, g, b, sat):  # type: ignore[no-untyped-def]
        out = rule(red, r, g, b, sat)
        stained = sat >= art.STAINED_MIN_SATURATION
        seen["share"] = np.count_nonzero(red) / max(1, np.count_nonzero(stained | red))
        seen["changed"] = bool((out != red).any())
        return out

    if src == "tuning":
        slides = [s for s in ba.numbered(32, True, False) if s[1] != "test"]
    else:
        ext, _ = ba.external_slides(Path(src))
        slides = ba.numbered(0, False, False, ext)
    found: dict[tuple[str, str], int] = {}
    under = 0.0
    changed = []
    for n, _side, name, img in slides:
        tissue, _ = tissue_from_rgba(img)
        for variant, spec in VARIANTS.items():
            dirty = img
            if spec is not None:
                colour, opacity = spec
                ba.INKS["redx"] = tuple(255 * (1 - (1 - c / 255) * opacity / 0.9) for c in colour)
                dirty, _ = ba.inject(img, "pen", np.random.default_rng(ba.SEED + n + 77777), "redx")
            seen.clear()
            art._redder_than_stain = watched
            new = art.measure(dirty, tissue, (1.0, 1.0)).shares["pen"]
            old = new
            if seen.get("changed"):
                art._redder_than_stain = lambda red, *_a: red
                old = art.measure(dirty, tissue, (1.0, 1.0)).shares["pen"]
                changed.append((variant, name, round(float(seen["share"]), 3), round(old, 4), round(new, 4)))
            share = float(seen.get("share", 0.0))
            if share < art.PEN_RED_STAIN_SHARE:
                under = max(under, share)
            for tag, value in (("old", old), ("new", new)):
                found[(variant, tag)] = found.get((variant, tag), 0) + (value > LIMIT)
    art._redder_than_stain = rule
    print(src, len(slides), "slides")
    for variant in VARIANTS:
        print(f"  {variant:18} old {found[(variant, 'old')]:3}  new {found[(variant, 'new')]:3}")
    print("  largest candidate share under the gate", round(under, 3))
    for row in changed:
        print("  changed", *row)


if __name__ == "__main__":
    main(sys.argv[1])
