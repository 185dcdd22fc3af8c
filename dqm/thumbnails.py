"""Small JPEGs of the worst slides with their lesion outlines, made during ``dqm audit``.

The report reads no slide, so the audit draws these and stores them in the result. Outlines come
from the run's item records (the annotation as the worker parsed it: no file is parsed again
here); pixels from the few selected slides through :func:`dqm.slide_io.slide_thumbnail`. Bounded on
every axis: at most ``count`` slides (the ones with the most error findings, then warnings), at
most ``max_side`` pixels a side, at most :data:`~dqm.results.MAX_THUMBNAIL_CHARS` of base64
each. Pixels come from a low-resolution level (OpenSlide ``get_thumbnail``, or Pillow's JPEG
draft mode); a slide with no level small enough to decode (under :data:`MAX_DECODE_PIXELS`) or
that cannot be read is drawn as its outlines on a blank canvas, and the note says why.

Outlines are drawn in the profile's class colours; finding locations (``xy``) are ringed in
:data:`MARKER_COLOUR`. The artefacts reported on a slide (pen marks, folds... and, under a
``LESION_ON_ARTEFACT``, what the lesion lies on) are shaded in :data:`ARTEFACT_COLOURS` from the
small flag map the item record keeps (:class:`dqm.model.ArtefactFacts`).
"""

from __future__ import annotations

import base64
import io
import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dqm.batch import jailed, normalise
from dqm.coords import Frame
from dqm.findings import Finding, Severity
from dqm.model import ArtefactFacts, ItemRecord, ParsedAnnotation
from dqm.pixels.artefacts import LESION_KINDS, flag_map
from dqm.profile import Profile
from dqm.results import (
    MAX_THUMBNAIL_CHARS,
    MAX_THUMBNAIL_SIDE,
    MAX_THUMBNAILS,
    ItemSummary,
    QualityResult,
    Thumbnail,
)
from dqm.slide_io import MAX_THUMBNAIL_DECODE_PIXELS, Recorded, recorded_of, slide_thumbnail
from validators.artefacts import CODES

DEFAULT_COUNT = 12
DEFAULT_SIDE = 256
MAX_DECODE_PIXELS = MAX_THUMBNAIL_DECODE_PIXELS
"""The largest level (or plain image after draft) decoded for a thumbnail."""
MARKER_COLOUR = "#ff00ff"
UNKNOWN_COLOUR = "#888888"
MAX_MARKERS = 50
CANVAS = (238, 238, 238)
ARTEFACT_COLOURS = {
    "pen": "#00a0ff",
    "fold": "#ff3000",
    "bubble": "#00e0c0",
    "overstain": "#7000a0",
    "understain": "#ffd000",
    "debris": "#40ff00",
    "blur": "#a0a0a0",
}
ARTEFACT_ALPHA = 0.45
ARTEFACT_CODES = {code: kind for kind, code in CODES.items()}
"""The artefact codes (``artefacts.slide``'s, and ``artefacts.stain``'s for staining) and the kind each shades."""


def worst_items(result: QualityResult, count: int) -> list[ItemSummary]:
    """The slides with the most error findings, then warnings (ties by slide id), counting batch
    findings about a slide too (a duplicate, a manifest row); only slides with a finding."""
    return [result.items[i] for i in _worst(result, count)]


def _worst(result: QualityResult, count: int) -> list[int]:
    """The positions in ``result.items`` of :func:`worst_items`."""
    errors: Counter[str] = Counter()
    warns: Counter[str] = Counter()
    for f in result.findings:
        if f.severity == Severity.ERROR:
            errors[f.item_id] += 1
        elif f.severity == Severity.WARNING:
            warns[f.item_id] += 1
    ids = [i.slide_id for i in result.items]
    flagged = [k for k, sid in enumerate(ids) if errors[sid] or warns[sid]]
    return sorted(flagged, key=lambda k: (-errors[ids[k]], -warns[ids[k]], ids[k]))[:count]


def _inside(root: Path, rel: str | None) -> Path | None:
    """The slide file at ``rel`` when the batch's jail lets it be read (:func:`dqm.batch.jailed`:
    a link out of the batch is not followed, a special file not opened), else None."""
    return jailed(root, rel)[0] if rel else None


def _slide_pixels(
    path: Path, max_side: int, rel: str, recorded: Recorded | None = None
) -> tuple[Any, tuple[int, int] | None, str]:
    """``(image or None, level-0 size or None, note)`` from a slide file, never at full resolution
    (``rel``: its place in the batch, the name a note gives it); ``recorded``: what the audit
    recorded of its files (a slide that is not those: no pixels, the note says why)."""
    got = slide_thumbnail(path, max_side, MAX_DECODE_PIXELS, rel, recorded)
    if got.failure is None:
        return got.image, got.size, ""
    if got.failure == "too_large":
        if got.backend == "openslide":
            return None, got.size, f"no pyramid level under {MAX_DECODE_PIXELS:,} pixels: outlines only"
        w, h = got.size or (0, 0)
        return None, got.size, f"{w}x{h} image too large to decode for a thumbnail: outlines only"
    what = got.detail if got.backend == "openslide" else got.error_type
    return None, None, f"slide unreadable ({what}): outlines only"


def _extent(ann: ParsedAnnotation | None) -> tuple[int, int] | None:
    """The level-0 size the annotation declares, else the extent of its vertices."""
    if ann is None:
        return None
    if ann.width and ann.height and ann.width > 0 and ann.height > 0:
        return int(ann.width), int(ann.height)
    pts = [r[np.isfinite(r).all(axis=1)] for lesion in ann.lesions for poly in lesion.polygons for r in poly]
    pts = [p for p in pts if p.ndim == 2 and len(p)]
    if not pts:
        return None
    hi = np.concatenate(pts).max(axis=0)
    return (int(hi[0]) + 1, int(hi[1]) + 1) if (hi > 0).all() else None


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


_VERTICES_AT_ONCE = 1 << 18
"""Vertices whose outlines :func:`_outlines` draws at once (a few MB of arrays a time)."""
_INT = 2**31
"""Pillow draws a line between the vertices cast to C ints (truncated): a ring with a vertex
beyond them is handed over as it is."""


def _outlines(rings: list[np.ndarray], frame: Frame, width: int) -> Iterator[tuple[int, list[float]]]:
    """Polylines that draw the closed ``rings`` (level-0 x/y, finite, two vertices or more) as
    ``ImageDraw.line`` draws each ring closed, pixel for pixel: ``(ring, flat x/y)``, ring by ring
    (a ring's polylines in any order). Lines of ``width`` 2-4 (what a thumbnail of at most 512
    pixels a side draws) are drawn by Pillow as one wide line per edge between the edge's ends
    cast to C ints (truncated), in one colour: a ring's pixels are the union of its distinct
    edges in whole thumbnail pixels. So each distinct edge is drawn once (the many vertices that
    fall in one thumbnail pixel make edges of no length, repeated; a zigzag of a million vertices
    across a small slide repeats a few thousand edges), the edges that remain chained into as
    few polylines as they form. All rings are transformed and their edges compared at once, with
    numpy. Wider lines (joints drawn between edges from the vertices as given) are handed over
    whole, and so is a ring with a vertex beyond a C int."""
    if not rings:
        return
    sizes = np.array([len(r) + 1 for r in rings])
    ends = np.cumsum(sizes)
    starts = ends - sizes
    level0 = np.empty((int(ends[-1]), 2))
    for r, start in zip(rings, starts.tolist(), strict=True):
        level0[start : start + len(r)] = r
        level0[start + len(r)] = r[0]  # closed
    pts = frame.from_level0_xy(level0)
    del level0
    whole = np.maximum.reduceat(np.abs(pts).max(axis=1), starts) >= _INT
    if width > 4:
        whole[:] = True
    for w in np.flatnonzero(whole).tolist():
        yield w, pts[starts[w] : ends[w]].ravel().tolist()
    ring = np.repeat(np.arange(len(rings), dtype=np.int32), sizes)
    q = np.trunc(np.clip(pts, -_INT, _INT - 1)).astype(np.int32)
    del pts
    # edge k joins vertex k to k + 1: those of no ring (from one ring to the next), or of a ring
    # handed over whole, are keyed to ring -1 and never drawn
    of = np.where((ring[1:] == ring[:-1]) & ~whole[ring[:-1]], ring[:-1], -1)
    keys = (q[1:, 1], q[1:, 0], q[:-1, 1], q[:-1, 0], of)
    order = np.lexsort(keys)  # stable: the first of equal edges comes first
    same = np.ones(len(order) - 1, dtype=bool)
    for key in keys:
        ranked = key[order]
        same &= ranked[1:] == ranked[:-1]
    drop = np.zeros(len(of), dtype=bool)
    drop[order[1:]] = same
    keep = np.flatnonzero(~drop & (of >= 0))
    if not len(keep):
        return
    x0, y0, x1, y1, of = q[keep, 0], q[keep, 1], q[keep + 1, 0], q[keep + 1, 1], of[keep]
    # a polyline starts where an edge does not go on from the previous kept edge
    new = np.ones(len(keep), dtype=bool)
    new[1:] = (of[1:] != of[:-1]) | (x0[1:] != x1[:-1]) | (y0[1:] != y1[:-1])
    first = np.flatnonzero(new)
    # each polyline: its first edge's start, then every edge's end
    at = np.arange(len(keep)) + np.cumsum(new)  # where each edge's end goes
    # as floats: Pillow draws an edge of ~6e8 pixels given as Python ints a pixel off its floats
    xy = np.empty((len(keep) + len(first), 2))
    xy[at] = np.column_stack([x1, y1])
    xy[at[first] - 1] = np.column_stack([x0[first], y0[first]])
    flat = xy.ravel().tolist()
    bounds = [*(at[first] - 1).tolist(), len(xy)]
    for k, r in enumerate(of[first].tolist()):
        yield r, flat[2 * bounds[k] : 2 * bounds[k + 1]]


def _draw(
    img: Any, frame: Frame, ann: ParsedAnnotation | None, findings: Iterable[Finding], profile: Profile
) -> tuple[dict[str, str], int]:
    from PIL import ImageDraw

    draw = ImageDraw.Draw(img)
    legend: dict[str, str] = {}
    width = max(2, round(max(img.size) / 128))
    rings: list[np.ndarray] = []
    colours: list[tuple[int, int, int]] = []
    for lesion in ann.lesions if ann is not None else []:
        label = lesion.label or "?"
        colour = profile.class_def(label).colour if label in profile.class_ids else UNKNOWN_COLOUR
        legend.setdefault(label, colour)
        for poly in lesion.polygons:
            for ring in poly:
                ring = np.asarray(ring, dtype=float)
                if ring.ndim != 2 or ring.shape[1] != 2:
                    continue
                ring = ring[np.isfinite(ring).all(axis=1)]
                if len(ring) >= 2:
                    rings.append(ring)
                    colours.append(_rgb(colour))
    # rings in file order (a later ring's colour over an earlier one's), each ring's lines together;
    # about _VERTICES_AT_ONCE vertices at a time (a longer ring alone), so memory stays bounded
    sizes = np.cumsum([len(r) + 1 for r in rings])
    cuts = [0, *np.flatnonzero(np.diff(sizes // _VERTICES_AT_ONCE, prepend=0)).tolist(), len(rings)]
    for lo, hi in itertools.pairwise(cuts):
        for r, xy in sorted(_outlines(rings[lo:hi], frame, width), key=lambda line: line[0]):
            draw.line(xy, fill=colours[lo + r], width=width, joint="curve")
    markers = 0
    w, h = img.size
    for f in findings:
        if f.location.xy is None or markers >= MAX_MARKERS:
            continue
        x, y = frame.from_level0_xy(np.array([f.location.xy]))[0]
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        x, y = min(max(x, 0), w - 1), min(max(y, 0), h - 1)
        r = 6
        draw.ellipse((x - r, y - r, x + r, y + r), outline=_rgb(MARKER_COLOUR), width=2)
        markers += 1
    return legend, markers


def reported_artefacts(findings: Iterable[Finding]) -> list[str]:
    """The artefact kinds to shade: those reported on the slide, and the kinds a lesion lies on."""
    codes = {f.code for f in findings}
    kinds = {ARTEFACT_CODES[c] for c in codes & ARTEFACT_CODES.keys()}
    if "LESION_ON_ARTEFACT" in codes:
        kinds |= set(LESION_KINDS)
    return [k for k in ARTEFACT_COLOURS if k in kinds]


def _shade(img: Any, facts: ArtefactFacts, kinds: list[str]) -> dict[str, str]:
    """Shade ``kinds`` of the record's flag map over ``img`` (same field of view); the legend."""
    from PIL import Image

    flags = flag_map(facts)
    scaled = np.asarray(Image.fromarray(flags).resize(img.size, Image.Resampling.NEAREST))
    pixels = np.asarray(img, dtype=np.float32).copy()
    legend = {}
    for kind in kinds:
        if kind not in facts.kinds:
            continue
        where = (scaled & (1 << facts.kinds.index(kind))) != 0
        if where.any():
            colour = np.array(_rgb(ARTEFACT_COLOURS[kind]), np.float32)
            pixels[where] = (1 - ARTEFACT_ALPHA) * pixels[where] + ARTEFACT_ALPHA * colour
            legend[kind] = ARTEFACT_COLOURS[kind]
    img.paste(Image.fromarray(pixels.astype(np.uint8)))
    return legend


def _jpeg(img: Any) -> str:
    """Base64 JPEG under the size bound: lower the quality, then the size, until it fits."""
    for quality in (75, 60, 45, 30):
        buf = io.BytesIO()
        # 4:4:4 chroma: subsampling would grey out outlines one or two pixels wide
        img.save(buf, "JPEG", quality=quality, optimize=True, subsampling=0)
        data = base64.b64encode(buf.getvalue()).decode("ascii")
        if len(data) <= MAX_THUMBNAIL_CHARS:
            return data
    small = img.copy()
    small.thumbnail((max(1, img.size[0] // 2), max(1, img.size[1] // 2)))
    return _jpeg(small)


def thumbnail(
    root: Path, record: ItemRecord, findings: list[Finding], profile: Profile, max_side: int = DEFAULT_SIDE
) -> Thumbnail | None:
    """One slide's thumbnail with its outlines and finding markers; None when there is nothing to
    draw (no readable slide and no readable annotation).

    The outlines are the record's parsed lesions (no annotation file is read again); the pixels
    come from the slide file under ``root`` through :func:`dqm.slide_io.slide_thumbnail`, only
    where its files are those the record's probe read (size, modification time and quick print of
    the slide and of each file OpenSlide opens besides it): a slide swapped between the probe and
    its thumbnail is drawn as outlines only, the note saying which file changed.
    """
    from PIL import Image

    max_side = max(16, min(max_side, MAX_THUMBNAIL_SIDE))
    item = record.summary
    ann = record.annotation if record.annotation is not None and record.annotation.readable else None
    slide_path = _inside(root, item.image_path)
    img, size, note = (None, None, "no slide file: outlines only")
    if slide_path is not None:
        rel = normalise(item.image_path or "")[0]
        recorded = recorded_of(rel, record.fingerprint, record.stats, record.parts)
        img, size, note = _slide_pixels(slide_path, max_side, rel, recorded)
    size = size or _extent(ann)
    if size is None:
        return None
    w0, h0 = size
    if img is None:
        if ann is None or not ann.lesions:
            return None
        scale = max_side / max(w0, h0)
        img = Image.new("RGB", (max(1, round(w0 * scale)), max(1, round(h0 * scale))), CANVAS)
    downsample = w0 / img.size[0]
    facts = record.slide.artefacts if record.slide is not None and not note else None
    shaded = _shade(img, facts, reported_artefacts(findings)) if facts is not None else {}
    legend, markers = _draw(img, Frame(downsample=downsample), ann, findings, profile)
    codes = [c for c, _ in Counter(f.code for f in findings).most_common()]
    return Thumbnail(
        slide_id=item.slide_id,
        data=_jpeg(img),
        width=img.size[0],
        height=img.size[1],
        downsample=downsample,
        source="outline" if note else "slide",
        note=note,
        legend=legend,
        artefacts=shaded,
        markers=markers,
        errors=sum(f.severity == Severity.ERROR for f in findings),
        warnings=sum(f.severity == Severity.WARNING for f in findings),
        codes=codes,
    )


def make_thumbnails(
    result: QualityResult,
    records: Sequence[ItemRecord],
    root: Path,
    profile: Profile,
    count: int = DEFAULT_COUNT,
    max_side: int = DEFAULT_SIDE,
) -> list[Thumbnail]:
    """Thumbnails of the ``count`` worst slides (at most :data:`~dqm.results.MAX_THUMBNAILS`).

    ``records`` are the run's item records, one per entry of ``result.items`` and in its order.
    """
    if len(records) != len(result.items):
        raise ValueError(f"{len(records)} item records for a result of {len(result.items)} items")
    by_item: dict[str, list[Finding]] = defaultdict(list)
    for f in result.findings:
        by_item[f.item_id].append(f)
    out = []
    for k in _worst(result, min(count, MAX_THUMBNAILS)):
        t = thumbnail(root, records[k], by_item[result.items[k].slide_id], profile, max_side)
        if t is not None:
            out.append(t)
    return out


def with_thumbnails(
    result: QualityResult,
    records: Sequence[ItemRecord],
    root: Path,
    profile: Profile,
    count: int = DEFAULT_COUNT,
    max_side: int = DEFAULT_SIDE,
) -> QualityResult:
    """The result with thumbnails of its worst slides (none when ``count`` is 0)."""
    thumbs = make_thumbnails(result, records, root, profile, count, max_side) if count > 0 else []
    return result.model_copy(update={"thumbnails": thumbs})
