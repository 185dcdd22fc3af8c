"""Layers of regions with negative regions, as Aperio ImageScope and Indica HALO store them.

Both formats group regions in layers (``<Annotation>``): the layer is the class, each positive
region one lesion, and a negative region (``NegativeROA="1"``) a hole of the smallest positive
region *of the same layer* that contains it (:func:`dqm.readers.common.shapes.assign_holes`). A
negative region no positive region contains is ``NEGATIVE_REGION_UNMATCHED``. A layer without
regions is ``EMPTY_LAYER``; a layer with regions but no name is ``EMPTY_LAYER_NAME`` (its
lesions have no class).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dqm.findings import clip
from dqm.i18n import msg
from dqm.model import Lesion, ReadIssue
from dqm.readers.common.base import lesion_as_read
from dqm.readers.common.shapes import assign_holes


@dataclass(slots=True)
class Region:
    """One region of a layer as read: its ring (None when unreadable) and where it is."""

    path: str
    ring: np.ndarray | None
    negative: bool
    properties: dict[str, Any] = field(default_factory=dict)


def layer_lesions(
    regions: list[Region],
    layer_path: str,
    layer_name: str,
    first_index: int,
    issues: list[ReadIssue],
    n_elements: int | None = None,
) -> list[Lesion]:
    """The lesions of one layer: positive regions with their negative regions as holes.

    ``n_elements`` counts the layer's region elements, areas or not (default: ``len(regions)``):
    a layer whose regions are all rulers or points is not reported empty.
    """
    raw_class = layer_name.strip() or None
    if not regions and not n_elements:
        issues.append(
            ReadIssue(
                "EMPTY_LAYER",
                msg("layer {name!r} has no regions", name=clip(layer_name, 60))
                if raw_class
                else msg("an unnamed layer has no regions"),
                layer_path,
            )
        )
        return []
    if not regions:
        return []
    if raw_class is None:
        issues.append(
            ReadIssue(
                "EMPTY_LAYER_NAME",
                msg("the layer has {n} region(s) but no name: their lesion class is unknown", n=len(regions)),
                layer_path + "/@Name",
            )
        )
    positives = [r for r in regions if not r.negative]
    negatives = [(r, r.ring) for r in regions if r.negative and r.ring is not None]
    empty = np.empty((0, 2))
    owners, orphans = assign_holes(
        [p.ring if p.ring is not None else empty for p in positives], [ring for _, ring in negatives]
    )
    for h in orphans:
        issues.append(
            ReadIssue(
                "NEGATIVE_REGION_UNMATCHED",
                msg("a negative region (hole) lies inside no positive region of its layer"),
                negatives[h][0].path,
            )
        )
    holes: dict[int, list[np.ndarray]] = {}
    for h, owner in enumerate(owners):
        if owner is not None:
            holes.setdefault(owner, []).append(negatives[h][1])
    out = []
    for k, region in enumerate(positives):
        index = first_index + k
        if region.ring is None:
            out.append(lesion_as_read(index, region.path, raw_class, [], region.properties, False))
            continue
        props = dict(region.properties)
        if holes.get(k):
            props["negative_regions"] = len(holes[k])
        out.append(lesion_as_read(index, region.path, raw_class, [[region.ring, *holes.get(k, [])]], props))
    return out
