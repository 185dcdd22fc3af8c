"""Synthetic item summaries without rendering a slide: for the diversity tests and benchmarks.

The clinical records come from the same cohort as ``dqm synth`` (:func:`dqm.synth.cohort.cohort`);
slide size, lesion count and lesion area follow the same laws as :func:`dqm.synth.build.layout`
(a lesion's area is that of a disc of the drawn radius), and every third slide is a JPEG without
a resolution, as in a synthetic batch. Thousands of summaries take a fraction of a second.
"""

from __future__ import annotations

import math

import numpy as np

from dqm.facts import ItemSummary, SlideSummary, number_patients
from dqm.synth.build import MPP
from dqm.synth.cohort import cohort

IDENTIFYING = ("patient_id",)


def synthetic_items(n: int, seed: int, max_size: int = 1536, prefix: str = "S") -> list[ItemSummary]:
    """``n`` item summaries of a clean synthetic batch drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    records = cohort(rng, n, prefix)
    items = []
    for k, rec in enumerate(records):
        width = int(max_size * rng.uniform(0.75, 1.0))
        height = int(max_size * rng.uniform(0.6, 0.85))
        short = min(width, height)
        count = int(rng.integers(1, 4))
        area = float(sum(math.pi * (short * rng.uniform(0.08, 0.15)) ** 2 for _ in range(count)))
        tiff = k % 3 != 2
        clinical: dict[str, str | None] = {
            f: str(v) for f, v in rec.clinical().items() if f not in IDENTIFYING
        }
        items.append(
            ItemSummary(
                slide_id=rec.slide_id,
                row=k + 1,
                institution=rec.institution,
                diagnosis=rec.diagnosis,
                clinical=clinical,
                n_lesions=count,
                lesion_classes={rec.diagnosis: count},
                lesion_area_px={rec.diagnosis: area},
                width=width,
                height=height,
                slide=SlideSummary(
                    width=width,
                    height=height,
                    mpp=MPP if tiff else None,
                    vendor="generic-tiff" if tiff else "image/jpeg",
                    levels=1,
                ),
            )
        )
    return number_patients(items, [r.patient_id for r in records])
