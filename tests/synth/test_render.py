"""Synthetic slides look like distinct slides: no two of them are near duplicates by accident."""

from __future__ import annotations

import numpy as np

from dqm.pixels.hashes import parse_hash, slide_hash
from dqm.pixels.pairs import quadratic
from dqm.slide_io import tissue_from_rgba
from dqm.synth.build import layout
from dqm.synth.render import render_slide
from validators.duplicates import NearParams


def _hash(seed: int, side: int = 384) -> str | None:
    rng = np.random.default_rng(seed)
    lay = layout(rng, "BCC" if seed % 2 else "NS", side)
    rgb = render_slide(rng, lay.width, lay.height, lay.tissue, lay.epidermis, lay.lesions)
    tissue, _ = tissue_from_rgba(rgb)
    return slide_hash(rgb, tissue)


def test_distinct_synthetic_slides_are_not_near_duplicates():
    # every section one centred ellipse of one stroma made a demo batch report two clean slides
    # of different patients as a likely mix-up (hash distance 32, the threshold)
    hashes = [_hash(seed) for seed in range(60)]
    assert all(hashes)
    words = np.stack([parse_hash(h) for h in hashes])
    assert quadratic(words, None, NearParams().max_distance + 6) == []
