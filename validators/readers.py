"""Checks for what the foreign-format readers met (QuPath, ASAP, ImageScope, HALO, COCO, DSA).

Readers never emit findings: they record :class:`~dqm.model.ReadIssue` codes and these checks,
which declare the codes, report them (``read_issue_findings``). Generic structure codes shared
with the native format (``MISSING_KEY``, ``WRONG_TYPE``, ``BAD_VERTEX``,
``UNSUPPORTED_GEOMETRY``) stay with ``schema.annotation``; ``UNKNOWN_FORMAT`` with
``file.annotation_readable``.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from dqm.findings import Aspect, Finding, Severity
from validators.context import BatchView, ItemView
from validators.registry import CheckContext, NoParams, check, read_issue_findings


def _read_issues(view: ItemView, ctx: CheckContext) -> list[Finding]:
    if view.annotation is None:
        return []
    return read_issue_findings(view.annotation.issues, ctx, view.annotation.path)


@check(
    "file.annotation_xml",
    aspect=Aspect.FILE,
    codes={
        "INVALID_XML": "the XML annotation file is not well-formed",
        "XML_FORBIDDEN": "the XML declares entities or external references (refused: expansion / XXE attacks)",
    },
)
def annotation_xml(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """An XML annotation file is well-formed and declares no entities or external references."""
    return _read_issues(view, ctx)


@check(
    "schema.foreign_annotation",
    aspect=Aspect.STRUCTURE,
    codes={
        "IMAGE_NOT_IN_FILE": "the multi-image annotation file (COCO) has no entry for this slide",
        "COCO_UNKNOWN_IMAGE": "a COCO annotation refers to an image_id that 'images' does not list",
        "COCO_UNKNOWN_CATEGORY": "a COCO annotation refers to a category_id that 'categories' does not list",
        "COCO_BAD_RLE": "a COCO RLE segmentation cannot be decoded (bad counts or size)",
    },
)
def foreign_structure(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """A foreign annotation file's references hold: images, categories, RLE masks."""
    return _read_issues(view, ctx)


@check(
    "format.foreign_shapes",
    aspect=Aspect.FORMAT,
    codes={
        "NOT_AN_AREA": "a point, line, ruler or open polyline: not a lesion outline (skipped)",
        "DETECTION_OBJECT": "QuPath detections, cells or tiles: not lesion outlines (skipped)",
        "NEGATIVE_REGION_UNMATCHED": "a negative region (hole) lies inside no positive region of its layer",
        "EMPTY_LAYER": "an annotation layer holds no regions",
    },
    code_severity={
        "NOT_AN_AREA": Severity.WARNING,
        "DETECTION_OBJECT": Severity.WARNING,
        "EMPTY_LAYER": Severity.WARNING,
    },
)
def foreign_shapes(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """Every shape of a foreign file is an area outline; holes belong to an outline."""
    return _read_issues(view, ctx)


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
    return _read_issues(view, ctx)


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
    return _read_issues(view, ctx)


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
    files: dict[str, list[str]] = defaultdict(list)
    for facts in batch.items:
        for name, n in facts.unmapped_classes.items():
            lesions[name] += n
            if facts.annotation_path and facts.annotation_path not in files[name]:
                files[name].append(facts.annotation_path)
    out = []
    for name, n in lesions.most_common():
        where = files[name]
        shown = ", ".join(where[:3]) + (f" and {len(where) - 3} more" if len(where) > 3 else "")
        out.append(
            ctx.finding(
                "CLASS_UNMAPPED",
                f"class name {name[:80]!r} is not in the taxonomy nor in class_map: {n} lesion(s) in "
                f"{len(where)} file(s) ({shown}); map it in the profile's class_map or fix the files",
                item_id="batch",
                file=where[0] if len(where) == 1 else None,
            )
        )
    return out
