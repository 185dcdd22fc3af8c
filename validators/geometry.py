"""Geometry checks on lesion outlines (aspect ``format``): shapely's view of each polygon.

Each check states what it does with degenerate input. A lesion whose outline could not be read
(structure error) has no rings and is skipped by all of them; a lesion whose rings cannot form
a polygon (non-finite or too few vertices) has no geometry and is skipped by the checks that
need one, so one bad value is reported once.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import shapely
from pydantic import BaseModel, ConfigDict, Field

from dqm.check_params import BoundsParams
from dqm.coords import area_um2
from dqm.findings import Aspect, Finding, Severity
from dqm.i18n import N_, msg
from dqm.model import MAX_COORDINATE, MAX_EDGE_PAIRS, MAX_PART_PAIRS, has_three_distinct
from validators.context import ItemView
from validators.registry import CheckContext, NoParams, check


def _xy(point: np.ndarray) -> tuple[float, float]:
    return (float(point[0]), float(point[1]))


def encloses_nothing(geom) -> bool:
    """True when an outline covers no area at all (collinear vertices).

    A self-crossing bowtie also has zero *signed* area, but its repaired form covers area: it is
    a self-intersection, not a zero-area outline.
    """
    return geom.area == 0 and shapely.make_valid(geom).area == 0


@check(
    "geometry.finite",
    aspect=Aspect.FORMAT,
    codes={
        "NON_FINITE_COORDINATE": "a vertex coordinate is NaN or infinite",
        "COORDINATE_OUT_OF_RANGE": "a vertex coordinate is finite but beyond any slide (no area is computed)",
    },
)
def finite(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """Every vertex coordinate is a finite number within any slide's range (vertices in ring order)."""
    out = []
    for lesion in view.annotation.lesions if view.annotation else ():
        if lesion.geometry is not None:
            continue  # a geometry is only built from finite rings in range
        pts = lesion.vertices()
        finite_xy = np.isfinite(pts).all(axis=1)
        far = finite_xy & (np.abs(np.where(np.isfinite(pts), pts, 0)) > MAX_COORDINATE).any(axis=1)
        for code, bad, template in (
            (
                "NON_FINITE_COORDINATE",
                np.flatnonzero(~finite_xy),
                N_("{n} vertex(es) with NaN or infinite coordinates, first {first}"),
            ),
            (
                "COORDINATE_OUT_OF_RANGE",
                np.flatnonzero(far),
                N_("{n} vertex(es) with coordinates beyond +/-{limit:.0f}, first {first}"),
            ),
        ):
            if bad.size:
                out.append(
                    ctx.finding(
                        code,
                        msg(template, n=int(bad.size), limit=MAX_COORDINATE, first=str(pts[bad[0]].tolist())),
                        pointer=lesion.pointer + "/geometry",
                        lesion=lesion.index,
                        vertex=int(bad[0]),
                    )
                )
    return out


@check(
    "geometry.vertices",
    aspect=Aspect.FORMAT,
    codes={"TOO_FEW_VERTICES": "a ring has fewer than 3 distinct vertices"},
)
def vertices(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """Every polygon has a shell and every ring at least 3 distinct vertices."""
    out = []
    for lesion in view.annotation.lesions if view.annotation else ():
        if not lesion.outline_read or lesion.geometry is not None:
            continue  # a geometry is only built from rings of 3+ distinct vertices
        if not lesion.polygons:
            out.append(_too_few(ctx, lesion, msg("the outline has no polygons"), None))
        for p, poly in enumerate(lesion.polygons):
            if not poly:
                out.append(_too_few(ctx, lesion, msg("polygon {p} has no rings", p=p), None))
            for r, ring in enumerate(poly):
                if not np.isfinite(ring).all():
                    continue  # geometry.finite reports it
                if not has_three_distinct(ring):
                    n = len(np.unique(ring, axis=0)) if len(ring) else 0
                    xy = _xy(ring[0]) if len(ring) else None
                    text = (
                        msg("polygon {p} shell has {n} distinct vertices; a ring needs 3", p=p, n=n)
                        if r == 0
                        else msg(
                            "polygon {p} hole {r} has {n} distinct vertices; a ring needs 3", p=p, r=r, n=n
                        )
                    )
                    out.append(_too_few(ctx, lesion, text, xy))
    return out


def _too_few(ctx: CheckContext, lesion, message: str, xy) -> Finding:
    return ctx.finding(
        "TOO_FEW_VERTICES",
        message,
        pointer=lesion.pointer + "/geometry",
        lesion=lesion.index,
        xy=xy,
    )


_REASONS = (
    ("Ring Self-intersection", "RING_SELF_INTERSECTION", "a ring touches or crosses itself"),
    ("Self-intersection", "SELF_INTERSECTION", "the outline crosses itself"),
    ("Hole lies outside shell", "HOLE_OUTSIDE_SHELL", "a hole lies outside its shell"),
    ("Holes are nested", "NESTED_HOLES", "a hole lies inside another hole"),
    ("Interior is disconnected", "DISCONNECTED_INTERIOR", "holes cut the polygon in pieces"),
    ("Nested shells", "NESTED_SHELLS", "a polygon of a multipolygon lies inside another"),
    ("Duplicate Rings", "DUPLICATE_RINGS", "the same ring appears twice"),
)
_REASON_MESSAGES = {
    "RING_SELF_INTERSECTION": N_("a ring touches or crosses itself (shapely: {reason})"),
    "SELF_INTERSECTION": N_("the outline crosses itself (shapely: {reason})"),
    "HOLE_OUTSIDE_SHELL": N_("a hole lies outside its shell (shapely: {reason})"),
    "NESTED_HOLES": N_("a hole lies inside another hole (shapely: {reason})"),
    "DISCONNECTED_INTERIOR": N_("holes cut the polygon in pieces (shapely: {reason})"),
    "NESTED_SHELLS": N_("a polygon of a multipolygon lies inside another (shapely: {reason})"),
    "DUPLICATE_RINGS": N_("the same ring appears twice (shapely: {reason})"),
    "INVALID_GEOMETRY": N_("{reason} (shapely: {reason})"),
}
"""A validity finding's message by its code: the code's meaning and shapely's reason (in English)."""
_POINT = re.compile(r"\[([-\d.eE+]+) ([-\d.eE+]+)\]")


@check(
    "geometry.validity",
    aspect=Aspect.FORMAT,
    codes={
        **{code: text for _, code, text in _REASONS},
        "INVALID_GEOMETRY": "shapely reports another invalidity (its reason is quoted)",
        "PARTS_CROWDED": "a multi-part outline's parts overlap in too many pairs to be checked (no geometry)",
        "EDGES_CROWDED": "an outline's edges overlap in too many pairs to be checked (no geometry)",
    },
)
def validity(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """Every outline is a valid polygon (OGC rules, shapely's reason); zero-area ones excepted."""
    out = []
    for lesion in view.annotation.lesions if view.annotation else ():
        geom = lesion.geometry
        if geom is None and lesion.outline_read and (pairs := lesion.crowded) is not None:
            out.append(
                ctx.finding(
                    "PARTS_CROWDED",
                    msg(
                        "its {parts:,} parts overlap each other's bounding boxes in over {pairs:,} pairs "
                        "(more than {limit:,}): too many to check, so the outline has no geometry",
                        parts=len(lesion.polygons),
                        pairs=pairs,
                        limit=MAX_PART_PAIRS,
                    ),
                    pointer=lesion.pointer + "/geometry",
                    lesion=lesion.index,
                )
            )
        if geom is None and lesion.outline_read and (crossed := lesion.crossed) is not None:
            out.append(
                ctx.finding(
                    "EDGES_CROWDED",
                    msg(
                        "its edges ({vertices:,} vertices) overlap each other's bounding boxes in about "
                        "{pairs:,} pairs (more than {limit:,}): too many to check, so the outline has no geometry",
                        vertices=lesion.n_vertices,
                        pairs=crossed,
                        limit=MAX_EDGE_PAIRS,
                    ),
                    pointer=lesion.pointer + "/geometry",
                    lesion=lesion.index,
                )
            )
        if geom is None or lesion.is_valid or (lesion.area == 0 and encloses_nothing(geom)):
            continue
        with np.errstate(over="ignore", invalid="ignore"):  # GEOS overflows near 1e308; its reason holds
            reason = shapely.is_valid_reason(geom)
        code = next((c for prefix, c, _ in _REASONS if reason.startswith(prefix)), "INVALID_GEOMETRY")
        m = _POINT.search(reason)
        xy = (float(m.group(1)), float(m.group(2))) if m else None
        out.append(
            ctx.finding(
                code,
                msg(_REASON_MESSAGES[code], reason=reason),
                pointer=lesion.pointer + "/geometry",
                lesion=lesion.index,
                xy=xy,
            )
        )
    return out


@check(
    "geometry.zero_area",
    aspect=Aspect.FORMAT,
    codes={"ZERO_AREA": "an outline encloses no area (collinear vertices)"},
)
def zero_area(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """Every outline encloses a positive area."""
    out = []
    for lesion in view.annotation.lesions if view.annotation else ():
        geom = lesion.geometry
        if geom is not None and lesion.area == 0 and encloses_nothing(geom):
            out.append(
                ctx.finding(
                    "ZERO_AREA",
                    msg("the outline encloses no area: its vertices are collinear"),
                    pointer=lesion.pointer + "/geometry",
                    lesion=lesion.index,
                    xy=_xy(lesion.polygons[0][0][0]),
                )
            )
    return out


@check(
    "geometry.bounds",
    aspect=Aspect.FORMAT,
    params=BoundsParams,
    codes={"LESION_OUT_OF_BOUNDS": "a vertex lies outside the slide's level-0 area"},
)
def bounds(view: ItemView, params: BoundsParams, ctx: CheckContext) -> list[Finding]:
    """Every vertex lies inside the slide (the header's size, else the annotation's declaration)."""
    ann = view.annotation
    if ann is None:
        return []
    size, source = (ann.width, ann.height), "declared slide size"
    if view.slide is not None and view.slide.opened and view.slide.width:
        size, source = (view.slide.width, view.slide.height), "slide header"
    w, h = size
    if not w or not h or w <= 0 or h <= 0:
        return []
    tol = params.tolerance_px
    out = []
    for lesion in ann.lesions:
        if lesion.geometry is None:
            continue
        minx, miny, maxx, maxy = lesion.geometry.bounds
        if minx >= -tol and miny >= -tol and maxx <= w + tol and maxy <= h + tol:
            continue
        pts = lesion.vertices()
        outside = (pts[:, 0] < -tol) | (pts[:, 1] < -tol) | (pts[:, 0] > w + tol) | (pts[:, 1] > h + tol)
        k = int(np.flatnonzero(outside)[0])
        out.append(
            ctx.finding(
                "LESION_OUT_OF_BOUNDS",
                msg(
                    "{n} vertex(es) outside the {w}x{h} {source}; first at ({x:g}, {y:g})",
                    n=int(outside.sum()),
                    w=w,
                    h=h,
                    source=source,
                    x=float(pts[k, 0]),
                    y=float(pts[k, 1]),
                ),
                pointer=lesion.pointer + "/geometry",
                lesion=lesion.index,
                vertex=k,
                xy=_xy(pts[k]),
            )
        )
    return out


_FEW_LESIONS = 8
"""Lesions up to which every pair is looked at in file order, without a spatial index."""
MAX_LESION_PAIRS = 1_000_000
"""The default of ``max_pairs`` (:class:`DuplicateParams`, :class:`OverlapParams`): pairs of an
item's lesions whose bounding boxes meet that a pair check looks at. Each costs a GEOS overlay of
the two outlines (tens of microseconds for small ones): 20,000 overlapping lesions (a 2.7 MB file,
2·10⁸ pairs) took more than 14 GB and ten minutes before the pairs were counted as they came."""


def _max_pairs() -> Any:
    return Field(
        MAX_LESION_PAIRS,
        ge=0,
        description=(
            "Pairs of an item's lesions whose bounding boxes meet that are checked, in file order "
            "(exact copies of one outline are not counted: they are found by their bytes); past it "
            "the rest are not checked and the check says so."
        ),
    )


_HITS_PER_QUERY = 1 << 18
"""Bounding-box hits one spatial-index query of a run of lesions may find (a few MB): a run holds
as many lesions as :func:`_hits_at_most` allows (one, however many its hits, at the least)."""

_MAX_RUN = 4096
"""The most lesions one spatial-index query asks about."""


class LesionPairs:
    """The pairs of ``lesions`` (in file order) whose outlines meet, as ``(a, b, copy)`` with ``a``
    before ``b`` in the order the former all-pairs query met them, at most ``max_pairs`` of them.

    Exact copies (the very same outline bytes: vertices in the same order) are found by hashing,
    in O(n log n), and come as ``copy=True`` pairs of the first of them and each later one, never
    counted against ``max_pairs``; a later copy's pairs with other outlines are those of the first
    (same geometry, same spatial-index query). Other pairs are counted as they come, by bounding
    boxes (the work of finding them): past ``max_pairs`` no other pair comes and :attr:`crowded`
    is True, so memory and time grow with the lesions and the budget, never with the pairs.
    """

    def __init__(self, lesions: list, max_pairs: int) -> None:
        self.lesions = lesions
        self.max_pairs = max_pairs
        self.crowded = False

    def __iter__(self) -> Iterator[tuple[Any, Any, bool]]:
        lesions, n = self.lesions, len(self.lesions)
        if n < 2:
            return
        geoms = np.array([les.geometry for les in lesions], dtype=object)
        first = _first_copies(geoms)
        copies: dict[int, list[int]] = {}
        for k in np.flatnonzero(first != np.arange(n)).tolist():
            copies.setdefault(int(first[k]), []).append(k)
        queries = _queries(geoms, np.flatnonzero(first == np.arange(n)))
        # a first copy's later outlines (bounding boxes met, outlines met), for its later copies
        met: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        counted = 0
        for a in range(n):
            g = int(first[a])
            if self.crowded:
                if a == g:
                    yield from ((lesions[a], lesions[b], True) for b in copies.get(a, ()))
                continue
            if a == g:
                hits, meets = next(queries)
                same = first[hits] == a
                if a in copies:
                    met[a] = (hits[~same], meets[~same])
            else:
                hits, meets = met[g]
                later = hits > a
                hits, meets = hits[later], meets[later]
                same = np.zeros(len(hits), dtype=bool)
                if a == copies[g][-1]:
                    del met[g]
            others = ~same
            if counted + len(hits) <= self.max_pairs:  # within the budget, however many are copies
                counted += int(np.count_nonzero(others))
                keep = same | meets
            else:
                rank = counted + np.cumsum(others)
                over = others & (rank > self.max_pairs)
                if over.any():
                    self.crowded = True
                    met.clear()
                counted = int(rank[-1]) if len(rank) else counted
                keep = same | (meets & ~over)
            for b, copy in zip(hits[keep].tolist(), same[keep].tolist(), strict=True):
                yield lesions[a], lesions[b], copy


def _queries(geoms: np.ndarray, order: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """For each lesion ``a`` of ``order`` in turn, the later lesions (``b > a``) whose bounding boxes
    meet its own (in the spatial index's order, as ``STRtree.query`` gives them; in file order,
    without an index, up to :data:`_FEW_LESIONS`) and whether their outlines meet it.

    One bulk query of the index finds the bounding-box hits of a run of lesions, and whether the
    outlines meet is computed on those hits alone: by GEOS's prepared ``intersects``, the very
    predicate a query with ``predicate="intersects"`` evaluates (a second query of each lesion
    and its matching against the first cost more than half of the check). A run's hits are at
    most :data:`_HITS_PER_QUERY` (or one lesion's), counted before it is asked, and a run is asked
    only when its first lesion's hits are wanted: memory stays bounded however crowded the
    lesions are, and once the pair budget is spent (the caller stops asking) no query is made."""
    if len(geoms) <= _FEW_LESIONS:
        for a in order.tolist():
            yield np.arange(a + 1, len(geoms)), shapely.intersects(geoms[a], geoms[a + 1 :])
        return
    tree = shapely.STRtree(geoms)
    most = np.cumsum(_hits_at_most(geoms)[order])
    start = 0
    while start < len(order):
        spent = most[start - 1] if start else 0
        end = int(
            np.clip(np.searchsorted(most, spent + _HITS_PER_QUERY, "right"), start + 1, start + _MAX_RUN)
        )
        asked = order[start:end]
        ask = geoms[asked]
        were = shapely.is_prepared(ask)
        shapely.prepare(ask)
        try:
            which, hits = tree.query(ask)
            later = hits > asked[which]
            which, hits = which[later], hits[later]
            meets = shapely.intersects(ask[which], geoms[hits])
        finally:
            shapely.destroy_prepared(ask[~were])
        bounds = np.searchsorted(which, np.arange(len(ask) + 1))
        for k in range(len(ask)):
            yield hits[bounds[k] : bounds[k + 1]], meets[bounds[k] : bounds[k + 1]]
        start = end


def _hits_at_most(geoms: np.ndarray) -> np.ndarray:
    """For each outline, at most how many bounding boxes (its own included) meet its own: those
    whose x-range meets its x-range, or those whose y-range meets its y-range, whichever are
    fewer (counted in O(n log n) from the sorted bounds; an empty outline's bounds are NaN: no
    other outline counts it)."""
    xmin, ymin, xmax, ymax = shapely.bounds(geoms).T
    counts = [
        np.searchsorted(np.sort(lo), hi, "right") - np.searchsorted(np.sort(hi), lo, "left")
        for lo, hi in ((xmin, xmax), (ymin, ymax))
    ]
    return np.minimum(*counts)


def _first_copies(geoms: np.ndarray) -> np.ndarray:
    """For each outline, the position of the first with the very same bytes (its own when none):
    outlines that share their bounds and vertex count are compared by their WKB's digest, one
    outline at a time (no copy of every outline at once)."""
    n = len(geoms)
    first = np.arange(n)
    key = np.column_stack([shapely.bounds(geoms), shapely.get_num_coordinates(geoms)])
    _, inverse, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    by_bytes: dict[tuple[int, bytes], int] = {}
    for k in np.flatnonzero(counts[inverse] > 1).tolist():
        digest = hashlib.sha256(shapely.to_wkb(geoms[k])).digest()
        first[k] = by_bytes.setdefault((int(inverse[k]), digest), k)
    return first


_CROWDED_DUPLICATES = N_(
    "its {lesions:,} lesions overlap each other's bounding boxes in more than {limit:,} pairs: too many "
    "to check, so duplicates were looked for in the first {limit:,} pairs only (in file order; exact "
    "copies in full)"
)
_CROWDED_OVERLAPS = N_(
    "its {lesions:,} lesions overlap each other's bounding boxes in more than {limit:,} pairs: too many "
    "to check, so overlaps of classes were looked for in the first {limit:,} pairs only (in file order)"
)


class DuplicateParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    min_iou: float = Field(0.95, gt=0, le=1, description="IoU at or above which two outlines are one.")
    max_pairs: int = _max_pairs()


def _valid_lesions(view: ItemView) -> list:
    ann = view.annotation
    if ann is None:
        return []
    return [les for les in ann.lesions if les.is_valid and les.geometry is not None and les.area > 0]


def _iou(a, b) -> float:
    inter = a.intersection(b).area
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


@check(
    "geometry.duplicate",
    aspect=Aspect.FORMAT,
    params=DuplicateParams,
    codes={
        "DUPLICATE_LESION": "the same outline is annotated twice",
        "DUPLICATES_CROWDED": "the lesions overlap in too many pairs to look for duplicates in all of them",
    },
)
def duplicate(view: ItemView, params: DuplicateParams, ctx: CheckContext) -> list[Finding]:
    """No outline is annotated twice (IoU at or above ``min_iou``, any class)."""
    lesions = _valid_lesions(view)
    pairs = LesionPairs(lesions, params.max_pairs)
    out = []
    reported: set[int] = set()
    copied: dict[int, tuple[float, tuple[float, float]]] = {}  # a first copy's IoU with its copies, and point
    for a, b, copy in pairs:
        if b.index in reported:
            continue
        if copy:
            if a.index not in copied:
                copied[a.index] = (_iou(a.geometry, b.geometry), _point(b.geometry))
            iou, xy = copied[a.index]
        else:
            iou, xy = _iou(a.geometry, b.geometry), None
        if iou >= params.min_iou:
            reported.add(b.index)
            out.append(
                ctx.finding(
                    "DUPLICATE_LESION",
                    msg(
                        "lesion {b} ({b_class}) repeats lesion {a} ({a_class}): IoU {iou:.3f}",
                        b=b.index,
                        b_class=b.raw_class,
                        a=a.index,
                        a_class=a.raw_class,
                        iou=float(iou),
                    ),
                    pointer=b.pointer + "/geometry",
                    lesion=b.index,
                    xy=xy or _point(b.geometry),
                )
            )
    if pairs.crowded:
        out.append(_crowded(ctx, "DUPLICATES_CROWDED", pairs, _CROWDED_DUPLICATES))
    return out


def _point(geom) -> tuple[float, float]:
    return _xy(np.asarray(geom.representative_point().coords[0]))


def _crowded(ctx: CheckContext, code: str, pairs: LesionPairs, template: str) -> Finding:
    """The finding that ``pairs`` ran past its budget: the first ``max_pairs`` pairs were checked."""
    return ctx.finding(code, msg(template, lesions=len(pairs.lesions), limit=pairs.max_pairs))


class OverlapParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    min_fraction: float = Field(
        0.01,
        ge=0,
        le=1,
        description="Overlap, as a fraction of the smaller lesion, that is reported.",
    )
    max_pairs: int = _max_pairs()


@check(
    "geometry.overlap",
    aspect=Aspect.FORMAT,
    severity=Severity.WARNING,
    params=OverlapParams,
    codes={
        "OVERLAPPING_CLASSES": "lesions of different classes overlap",
        "OVERLAPS_CROWDED": "the lesions overlap in too many pairs to look for overlaps in all of them",
    },
)
def overlap(view: ItemView, params: OverlapParams, ctx: CheckContext) -> list[Finding]:
    """Lesions of different classes do not overlap (duplicates are reported by geometry.duplicate)."""
    out = []
    pairs = LesionPairs(_valid_lesions(view), params.max_pairs)
    for a, b, copy in pairs:
        if copy or a.label == b.label or a.label is None or b.label is None:
            continue  # a copy's IoU is 1: a duplicate, not an overlap
        inter = a.geometry.intersection(b.geometry)
        frac = inter.area / min(a.area, b.area)
        if frac >= params.min_fraction and _iou(a.geometry, b.geometry) < 0.95:
            out.append(
                ctx.finding(
                    "OVERLAPPING_CLASSES",
                    msg(
                        "lesion {b} ({b_class}) overlaps lesion {a} ({a_class}) by {share:.1%} of the smaller",
                        b=b.index,
                        b_class=b.label,
                        a=a.index,
                        a_class=a.label,
                        share=float(frac),
                    ),
                    pointer=b.pointer + "/geometry",
                    lesion=b.index,
                    xy=_xy(np.asarray(inter.representative_point().coords[0])),
                )
            )
    if pairs.crowded:
        out.append(_crowded(ctx, "OVERLAPS_CROWDED", pairs, _CROWDED_OVERLAPS))
    return out


class MinAreaParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    min_area_um2: float = Field(100.0, ge=0, description="Smallest lesion area in square micrometres.")


@check(
    "geometry.min_area",
    aspect=Aspect.FORMAT,
    params=MinAreaParams,
    codes={"LESION_TOO_SMALL": "a lesion is smaller than the profile's minimum area"},
)
def min_area(view: ItemView, params: MinAreaParams, ctx: CheckContext) -> list[Finding]:
    """Every lesion is at least ``min_area_um2``; skipped when the resolution (mpp) is unknown."""
    mpp = view.mpp
    out = []
    for lesion in view.annotation.lesions if view.annotation and mpp else ():
        geom = lesion.geometry
        if geom is None or lesion.area == 0:
            continue
        area = area_um2(lesion.area, mpp)
        if area is not None and area < params.min_area_um2 and math.isfinite(area):
            out.append(
                ctx.finding(
                    "LESION_TOO_SMALL",
                    msg(
                        "lesion area {area:.1f} µm² is under the {minimum:g} µm² minimum",
                        area=float(area),
                        minimum=params.min_area_um2,
                    ),
                    pointer=lesion.pointer + "/geometry",
                    lesion=lesion.index,
                    xy=_xy(np.asarray(geom.representative_point().coords[0])),
                )
            )
    return out
