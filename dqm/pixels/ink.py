"""Whether a slide's image is ink alone: no section a lesion could lie on.

An all-black, all-blue or all-green image, a dark frame with noise, or an image of ink with white
strips at its borders reads to the artefact measure (:mod:`dqm.pixels.artefacts`) as "tissue"
that is pen ink or near-black (over-stained) throughout. Every share judged on that tissue would
read 100 % (pen marks, over-staining, blur), and every lesion would lie "on pen marks". The
judgement is made here, once, from the measure: the item record keeps it
(``items[].slide.all_ink``), and ``slide.lesion_tissue``, ``artefacts.slide``, ``artefacts.lesion``
and ``artefacts.stain`` read it, so that such a slide gets one finding, ``SLIDE_ALL_INK``, and no
pixel claim.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from dqm.pixels.artefacts import Artefacts

ALL_INK = 0.96
"""Share of what is not background (the measure's tissue) that pen ink or near-black pixels must
reach for the slide to be :func:`all_ink`. Chosen by ``benchmarks/all_ink_sources.py``: the
midpoint between the most inked section of every tuning source, clean or with an injected
artefact (0.938, an osteosarcoma patch of set 3 over-stained by injection; clean slides at most
0.51, a DL4ETI endometrium patch) and the least inked image of ink alone (0.985, a dark frame, each
channel 0 to 39). Left-one-source-out, one held-out image of 4,202 reaches its fold's threshold:
that over-stained patch, against the 0.927 the other sources give. Before, tissue had to cover
99 % of the image and ink 99 % of it (hand-set): noise 0 to 39 and ink with white strips at its
borders were read as pen."""


def ink_share(found: Artefacts | None) -> float | None:
    """The share of the slide's non-background pixels under pen ink or near-black (over-stained)
    pixels; None where the measure did not run or found nothing but background."""
    if found is None or found.tissue_px <= 0:
        return None
    return min(1.0, float(np.count_nonzero(found.mask("pen", "overstain"))) / found.tissue_px)


def all_ink(found: Artefacts | None) -> bool | None:
    """Whether the slide's image is ink alone (:data:`ALL_INK` of what is not background); None
    where the measure did not run or found nothing but background (blank glass: ``NO_TISSUE``)."""
    share = ink_share(found)
    return None if share is None else bool(share >= ALL_INK)
