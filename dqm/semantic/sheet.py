"""The data of the review sheet: for each drawn slide a bounded thumbnail and its outlines.

Outlines come from the run's item records (the annotation as the worker parsed it: no annotation
file is read again); the pictures of the drawn slides from :func:`dqm.slide_io.slide_thumbnail`,
read only. :mod:`reports.review` only renders the dictionary this module returns. Thumbnails are JPEG data URIs of at most
``thumb_size`` pixels a side; outlines are SVG path data in thumbnail pixels, simplified to half a
pixel, so the sheet's size grows with the number of slides, not with the slides' resolution.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dqm.i18n import N_, gettext, render
from dqm.model import ItemRecord, ParsedAnnotation
from dqm.profile import Profile
from dqm.semantic.models import REASONS, ReviewPlan
from dqm.slide_io import slide_thumbnail

UNKNOWN_COLOUR = "#888888"
REASON_LABELS = {
    "wrong_class": N_("wrong class"),
    "boundary_too_loose": N_("boundary too loose"),
    "boundary_too_tight": N_("boundary too tight"),
    "missed_lesion": N_("missed lesion"),
    "false_lesion": N_("false lesion"),
    "other": N_("other"),
}
SHEET_WORDS = {
    "no_lesion": N_("no lesion annotated"),
    "diagnosis": N_("diagnosis"),
    "institution": N_("institution"),
}
"""Words the sheet's script shows, in the sheet's language (``words`` in its data)."""


def class_name(profile: Profile, cls: str, lang: str) -> str:
    """A class's name for the reviewer: the profile's name in ``lang``, else its English name; a
    name outside the taxonomy says so."""
    if cls in set(profile.class_ids):
        c = profile.class_def(cls)
        return c.names.get(lang, c.name)
    return render(N_("{name} (not in the taxonomy)"), {"name": cls}, lang)


def data_uri(image: Any, quality: int) -> str:
    """A JPEG data URI of a Pillow image."""
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


SIMPLIFY_PIECE = 2_048
"""Vertices :func:`simplified` hands GEOS at once: its Douglas-Peucker recursion goes as deep as
the vertices it is given, and a zigzag of 100,000 overflowed the C stack (``dqm sample`` on a
13.7 MB annotation died of SIGSEGV)."""


def simplified(pts: np.ndarray, tolerance: float) -> np.ndarray:
    """``(N, 2)`` points as a line simplified within ``tolerance`` (Douglas-Peucker), at most
    :data:`SIMPLIFY_PIECE` + 1 vertices at a time: a longer line is cut into pieces that share
    their ends, each simplified alone (a line of no more is simplified whole, as it always was)."""
    import shapely

    if len(pts) <= SIMPLIFY_PIECE:
        return np.asarray(
            shapely.simplify(shapely.LineString(pts), tolerance, preserve_topology=False).coords
        )
    lines = [
        shapely.LineString(pts[i : i + SIMPLIFY_PIECE + 1]) for i in range(0, len(pts) - 1, SIMPLIFY_PIECE)
    ]
    parts = [
        shapely.get_coordinates(line) for line in shapely.simplify(lines, tolerance, preserve_topology=False)
    ]
    return np.concatenate([parts[0], *(part[1:] for part in parts[1:])])


def ring_path(ring: np.ndarray, scale: float) -> str:
    """SVG path data of one ring scaled to thumbnail pixels (non-finite vertices dropped)."""
    pts = np.asarray(ring, dtype=float)
    if pts.ndim != 2 or pts.shape[1] < 2:
        return ""
    pts = pts[:, :2][np.isfinite(pts[:, :2]).all(axis=1)] * scale
    if len(pts) < 2:
        return ""
    if len(pts) > 8:
        pts = simplified(pts, 0.5)
    coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
    return f"M{coords}Z"


def outlines(
    annotation: ParsedAnnotation | None, profile: Profile, scale: float, lang: str = "en"
) -> list[dict[str, str]]:
    """One entry per lesion: class id, class name, colour and SVG path data (holes included)."""
    if annotation is None:
        return []
    out = []
    ids = set(profile.class_ids)
    for lesion in annotation.lesions:
        label = lesion.label if lesion.label in ids else None
        path = " ".join(p for poly in lesion.polygons for p in (ring_path(r, scale) for r in poly) if p)
        if not path:
            continue
        out.append(
            {
                "cls": label or (lesion.raw_class or "?"),
                "name": class_name(profile, label or lesion.raw_class or "?", lang),
                "colour": profile.class_def(label).colour if label else UNKNOWN_COLOUR,
                "d": path,
            }
        )
    return out


def slide_entry(
    root: Path,
    record: ItemRecord,
    stratum: str,
    profile: Profile,
    thumb_size: int,
    quality: int,
    lang: str = "en",
) -> dict[str, Any]:
    """Everything the sheet shows about one slide; a slide that cannot be read keeps an error text.

    The outlines and class counts are the record's parsed annotation (no annotation file is read
    again); the picture comes from the slide file under ``root``.
    """
    from dqm.batch import NO_SUCH_FILE, jailed, normalise

    item = record.summary
    entry: dict[str, Any] = {
        "id": item.slide_id,
        "stratum": stratum,
        "diagnosis": item.diagnosis or "",
        "institution": item.institution or "",
        "clinical": {k: v for k, v in item.clinical.items() if v not in (None, "")},
        "classes": [],
        "image": None,
        "image_error": None,
        "width": None,
        "height": None,
        "shapes": [],
    }
    annotation = record.annotation
    dims: tuple[int, int] | None = None
    image = None
    if item.image_path:
        norm, outside = normalise(item.image_path)
        path, why = jailed(root, norm) if norm and not outside else (None, None)
        if path is None and why not in (None, NO_SUCH_FILE):  # a link out of the batch, a FIFO
            entry["image_error"] = render(
                N_("slide file {path} is not read: {_why}"), {"path": item.image_path, "_why": why}, lang
            )
        elif path is None:
            entry["image_error"] = render(
                N_("slide file {path} not found in the batch"), {"path": item.image_path}, lang
            )
        else:
            got = slide_thumbnail(root / norm, thumb_size, rel=norm)
            image, dims = got.image, got.size
            if got.failure is not None:  # the batch's absolute location is not the reviewer's business
                entry["image_error"] = render(
                    N_("slide {path} cannot be read: {reason}"),
                    {"path": item.image_path, "reason": got.reason.replace(str(root), "")},
                    lang,
                )
    else:
        entry["image_error"] = gettext(N_("no slide file"), lang)
    if dims is None and annotation is not None and annotation.width and annotation.height:
        dims = (annotation.width, annotation.height)
    if dims is not None and dims[0] > 0 and dims[1] > 0:
        scale = image.size[0] / dims[0] if image is not None else min(thumb_size / max(dims), 1.0)
        entry["width"] = image.size[0] if image is not None else max(1, round(dims[0] * scale))
        entry["height"] = image.size[1] if image is not None else max(1, round(dims[1] * scale))
        entry["shapes"] = outlines(annotation, profile, scale, lang)
    if image is not None:
        entry["image"] = data_uri(image, quality)
    counts: dict[str, int] = {}
    for lesion in annotation.lesions if annotation else []:
        key = lesion.label or lesion.raw_class or "?"
        counts[key] = counts.get(key, 0) + 1
    ids = set(profile.class_ids)
    entry["classes"] = [
        {
            "cls": k,
            "name": class_name(profile, k, lang),
            "colour": profile.class_def(k).colour if k in ids else UNKNOWN_COLOUR,
            "count": n,
        }
        for k, n in sorted(counts.items())
    ]
    return entry


def sheet_data(
    plan: ReviewPlan,
    records: Mapping[str, ItemRecord],
    root: Path,
    profile: Profile,
    thumb_size: int = 640,
    quality: int = 70,
    lang: str = "en",
) -> dict[str, Any]:
    """The review sheet's data for every drawn slide, in the plan's order; what the reviewer reads
    (reasons, class and field names, the script's words) in ``lang``.

    ``records`` maps slide id → the item record of the syntactic run. Slides the reviewer sees carry no
    design information (weights, flags): the review stays blind to why a slide was drawn. The
    batch's location on disk is left out too: the sheet travels to people outside.
    """
    slides: Sequence[dict[str, Any]] = [
        slide_entry(root, records[s.slide_id], s.stratum, profile, thumb_size, quality, lang)
        for s in plan.sample
    ]
    return {
        "format": "dqm.review_sheet/1",
        "plan_id": plan.plan_id,
        "run_id": plan.run_id,
        "verdicts_format": "dqm.verdicts/1",
        "plan": plan.plan,
        "lot_size": plan.lot_size,
        "sample_size": plan.sample_size,
        "code_letter": plan.code_letter,
        "acceptance_number": plan.acceptance_number,
        "rejection_number": plan.rejection_number,
        "reasons": [{"id": r, "label": gettext(REASON_LABELS[r], lang)} for r in REASONS],
        "classes": [
            {"cls": c.id, "name": class_name(profile, c.id, lang), "colour": c.colour}
            for c in profile.classes
        ],
        "words": {k: gettext(w, lang) for k, w in SHEET_WORDS.items()},
        "fields": {k: v for k, v in profile.display_names(lang).items() if k in profile.clinical},
        "slides": list(slides),
    }
