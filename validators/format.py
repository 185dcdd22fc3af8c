"""Format checks on annotation values (aspect ``format``): classes, slide facts, diagnosis, and
what the foreign-format readers met (QuPath, ASAP, ImageScope, HALO, COCO, DSA).

Readers never emit findings: they record :class:`~dqm.model.ReadIssue` codes and the checks that
declare the codes report them (``read_issues``). Generic structure codes shared with the native
format (``MISSING_KEY``, ``WRONG_TYPE``, ``BAD_VERTEX``, ``UNSUPPORTED_GEOMETRY``) belong to
``schema.annotation``, a foreign file's broken references to ``schema.foreign_annotation``,
malformed XML to ``file.annotation_xml`` and ``UNKNOWN_FORMAT`` to ``file.annotation_readable``.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any

from dqm.findings import Aspect, Finding, Severity, clip
from dqm.i18n import msg
from validators.context import BatchView, ItemView
from validators.registry import CheckContext, NoParams, check, read_issues


@check(
    "format.class_known",
    aspect=Aspect.FORMAT,
    codes={"CLASS_UNKNOWN": "a lesion class is not in the profile's taxonomy"},
)
def class_known(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """Every lesion's class is a class id, name or alias of the profile (any case)."""
    out: list[Finding] = []
    if view.annotation is not None and view.annotation.format == "mask":
        return out  # a mask's unmapped values: MASK_VALUE_UNMAPPED, once per value (format.mask)
    for lesion in view.annotation.lesions if view.annotation else ():
        if lesion.label is None and lesion.raw_class is not None:
            out.append(
                ctx.finding(
                    "CLASS_UNKNOWN",
                    msg(
                        "class {name!r} is not in the taxonomy ({classes})",
                        name=lesion.raw_class,
                        classes=", ".join(view.profile.class_ids),
                    ),
                    pointer=lesion.pointer + "/class",
                    lesion=lesion.index,
                )
            )
    return out


@check(
    "format.mask",
    aspect=Aspect.FORMAT,
    codes={
        "MASK_EMPTY": "a label mask holds only background",
        "MASK_LOSSY": "a label mask stored with lossy compression (JPEG)",
        "MASK_GREY_LEVELS": "a binary mask with values between its labels (resampled or lossy)",
        "MASK_NOT_LABELS": "a colour image given as a mask: not a label image",
        "MASK_FRAMES": "a label mask with more frames of its size than the first: only the first is read",
        "MASK_PAGES_LOOP": "a TIFF label mask whose chain of pages links back to an earlier page",
        "MASK_TOO_MANY_REGIONS": "a label mask with more regions than are traced",
        "MASK_VALUE_UNMAPPED": "a label mask's pixel value the profile maps to no class",
    },
    code_severity={
        "MASK_GREY_LEVELS": Severity.WARNING,
        "MASK_LOSSY": Severity.WARNING,
        "MASK_FRAMES": Severity.WARNING,
        "MASK_PAGES_LOOP": Severity.WARNING,
    },
)
def mask_values(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """A label mask is lossless, holds labels only, and every value maps to a class."""
    return read_issues(view, ctx)


@check(
    "format.slide_info",
    aspect=Aspect.FORMAT,
    codes={
        "SLIDE_SIZE_INVALID": "the declared slide width or height is not a positive number",
        "MPP_INVALID": "the declared resolution is not a positive finite number",
        "VALUE_OUT_OF_RANGE": "a declared slide size, resolution or objective power is beyond any real slide (not used)",
    },
)
def slide_info(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """The annotation's declared slide size and resolution are in their domains (and in range)."""
    ann = view.annotation
    if ann is None or not ann.readable:
        return []
    out = [f for f in read_issues(view, ctx) if f.code == "VALUE_OUT_OF_RANGE"]
    for key, value in (("width", ann.width), ("height", ann.height)):
        if value is not None and value <= 0:
            out.append(
                ctx.finding(
                    "SLIDE_SIZE_INVALID",
                    msg("slide {key} is {value}", key=key, value=value),
                    pointer=ann.slide_pointer(key),
                )
            )
    if ann.mpp is not None and (not math.isfinite(ann.mpp) or ann.mpp <= 0):
        out.append(
            ctx.finding(
                "MPP_INVALID", msg("slide mpp is {mpp}", mpp=ann.mpp), pointer=ann.slide_pointer("mpp")
            )
        )
    return out


@check(
    "format.diagnosis_lesions",
    aspect=Aspect.FORMAT,
    codes={
        "DIAGNOSIS_WITHOUT_LESION": "the slide's diagnosis needs a lesion of its class and has none",
        "LESION_CLASS_MISMATCH": "a lesion's class is another lesion class than the diagnosis",
    },
    code_severity={"LESION_CLASS_MISMATCH": Severity.WARNING},
)
def diagnosis_lesions(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """The lesions agree with the diagnosis: at least one of its class, none of another lesion class."""
    ann = view.annotation
    if ann is None or not ann.readable:
        return []
    profile = view.profile
    diagnosis = profile.resolve_class(view.item.diagnosis, view.item.institution)
    if diagnosis is None:
        return []  # an unknown or missing diagnosis is the clinical table's finding
    where = _record_location(view, "diagnosis")
    out = []
    labels = [les.label for les in ann.lesions if les.label is not None]
    if profile.class_def(diagnosis).requires_lesion and diagnosis not in labels:
        seen = ", ".join(sorted(set(labels))) or "none"
        out.append(
            ctx.finding(
                "DIAGNOSIS_WITHOUT_LESION",
                msg(
                    "diagnosis {diagnosis} but no {diagnosis} lesion (lesion classes: {seen})",
                    diagnosis=diagnosis,
                    seen=seen,
                ),
                **where,
            )
        )
    for lesion in ann.lesions:
        label = lesion.label
        if label is not None and label != diagnosis and profile.class_def(label).requires_lesion:
            out.append(
                ctx.finding(
                    "LESION_CLASS_MISMATCH",
                    msg(
                        "lesion class {label} on a slide diagnosed {diagnosis}",
                        label=label,
                        diagnosis=diagnosis,
                    ),
                    pointer=lesion.pointer + "/class",
                    lesion=lesion.index,
                )
            )
    return out


def _record_location(view: ItemView, field: str) -> dict[str, Any]:
    """Where an item's clinical field lives: its manifest cell, else the annotation's block."""
    if view.item.row is not None:
        return {"row": view.item.row, "column": field, "file": "manifest.csv"}
    return {"pointer": f"/clinical/{field}"}


@check(
    "format.foreign_shapes",
    aspect=Aspect.FORMAT,
    codes={
        "NOT_AN_AREA": "a point, line, ruler or open polyline: not a lesion outline (skipped)",
        "DETECTION_OBJECT": "QuPath detections, cells or tiles: not lesion outlines (skipped)",
        "NEGATIVE_REGION_UNMATCHED": "a negative region (hole) lies inside no positive region of its layer",
        "EMPTY_LAYER": "an annotation layer holds no regions",
        "VERTEX_ORDER": "an ASAP coordinate's Order is not its place in the file (not a whole number, "
        "repeated or out of sequence): the outline is read in the file's order",
    },
    code_severity={
        "NOT_AN_AREA": Severity.WARNING,
        "VERTEX_ORDER": Severity.WARNING,
        "DETECTION_OBJECT": Severity.WARNING,
        "EMPTY_LAYER": Severity.WARNING,
    },
)
def foreign_shapes(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """Every shape of a foreign file is an area outline; holes belong to an outline."""
    return read_issues(view, ctx)


@check(
    "format.lesion_class",
    aspect=Aspect.FORMAT,
    codes={
        "CLASS_MISSING": "a lesion of a foreign file carries no class (no classification, group or label)",
        "EMPTY_LAYER_NAME": "an annotation layer with regions has no name, so its lesions have no class",
    },
)
def lesion_class(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """Every lesion of a foreign file carries a class name."""
    return read_issues(view, ctx)


@check(
    "format.coco_boxes",
    aspect=Aspect.FORMAT,
    codes={
        "COCO_BBOX_ONLY": "COCO annotations with a bbox but no segmentation: boxes are not lesion outlines",
        "COCO_BBOX_NOT_XYWH": "COCO bboxes are corners [x1, y1, x2, y2], not COCO's [x, y, width, height]",
        "COCO_CROWD": "COCO iscrowd annotations: one outline around several objects",
    },
    code_severity={"COCO_CROWD": Severity.WARNING},
)
def coco_boxes(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """A COCO image has segmentations, not only boxes, and its boxes follow COCO's convention."""
    return read_issues(view, ctx)


@check(
    "format.unmapped_classes",
    aspect=Aspect.FORMAT,
    scope="batch",
    severity=Severity.WARNING,
    codes={"CLASS_UNMAPPED": "a foreign class name the profile does not map to the taxonomy"},
)
def unmapped_classes(batch: BatchView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """Every class name used in the batch maps to the taxonomy (one summary per unmapped name)."""
    lesions: Counter[str] = Counter()
    files: dict[str, dict[str, None]] = defaultdict(dict)  # the name's files in item order, once each
    for facts in batch.items:
        for name, n in facts.unmapped_classes.items():
            lesions[name] += n
            if facts.annotation_path:
                files[name].setdefault(facts.annotation_path)
    out = []
    for name, n in lesions.most_common():
        where = list(files[name])
        shown = ", ".join(where[:3]) + (f" and {len(where) - 3} more" if len(where) > 3 else "")
        out.append(
            ctx.finding(
                "CLASS_UNMAPPED",
                msg(
                    "class name {name!r} is not in the taxonomy nor in class_map: {n} lesion(s) in "
                    "{files} file(s) ({shown}); map it in the profile's class_map or fix the files",
                    name=clip(name, 80),
                    n=n,
                    files=len(where),
                    shown=shown,
                ),
                item_id="batch",
                file=where[0] if len(where) == 1 else None,
            )
        )
    return out
