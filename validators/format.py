"""Format checks on annotation values (aspect ``format``): classes, slide facts, diagnosis."""

from __future__ import annotations

import math
from typing import Any

from dqm.clinical_table import IDENTIFYING
from dqm.findings import Aspect, Finding, Severity
from validators.context import ItemView
from validators.registry import CheckContext, NoParams, check


@check(
    "format.class_known",
    aspect=Aspect.FORMAT,
    codes={"CLASS_UNKNOWN": "a lesion class is not in the profile's taxonomy"},
)
def class_known(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """Every lesion's class is a class id, name or alias of the profile (any case)."""
    out = []
    for lesion in view.annotation.lesions if view.annotation else ():
        if lesion.label is None and lesion.raw_class is not None:
            out.append(
                ctx.finding(
                    "CLASS_UNKNOWN",
                    f"class {lesion.raw_class!r} is not in the taxonomy "
                    f"({', '.join(view.profile.class_ids)})",
                    pointer=lesion.pointer + "/class",
                    lesion=lesion.index,
                )
            )
    return out


@check(
    "format.slide_info",
    aspect=Aspect.FORMAT,
    codes={
        "SLIDE_SIZE_INVALID": "the declared slide width or height is not a positive number",
        "MPP_INVALID": "the declared resolution is not a positive finite number",
    },
)
def slide_info(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """The annotation's declared slide size and resolution are in their domains."""
    ann = view.annotation
    if ann is None or not ann.readable:
        return []
    out = []
    for key, value in (("width", ann.width), ("height", ann.height)):
        if value is not None and value <= 0:
            out.append(
                ctx.finding("SLIDE_SIZE_INVALID", f"slide {key} is {value}", pointer=ann.slide_pointer(key))
            )
    if ann.mpp is not None and (not math.isfinite(ann.mpp) or ann.mpp <= 0):
        out.append(ctx.finding("MPP_INVALID", f"slide mpp is {ann.mpp}", pointer=ann.slide_pointer("mpp")))
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
                f"diagnosis {diagnosis} but no {diagnosis} lesion (lesion classes: {seen})",
                **where,
            )
        )
    for lesion in ann.lesions:
        label = lesion.label
        if label is not None and label != diagnosis and profile.class_def(label).requires_lesion:
            out.append(
                ctx.finding(
                    "LESION_CLASS_MISMATCH",
                    f"lesion class {label} on a slide diagnosed {diagnosis}",
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


def _same(a: Any, b: Any, field: str, view: ItemView) -> bool:
    if field == "diagnosis":
        p = view.profile
        return p.resolve_class(a, view.item.institution) == p.resolve_class(b, view.item.institution)
    try:
        return float(a) == float(b)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an integer beyond a float
        return str(a).strip().casefold() == str(b).strip().casefold()


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip()) or (isinstance(v, float) and math.isnan(v))


@check(
    "clinical.consistency",
    aspect=Aspect.FORMAT,
    codes={"CLINICAL_MISMATCH": "the annotation's clinical block contradicts the manifest"},
)
def clinical_consistency(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """Clinical values in the annotation file agree with the manifest row."""
    ann = view.annotation
    if ann is None or view.item.row is None or not ann.clinical:
        return []
    out = []
    for field, theirs in ann.clinical.items():
        ours = view.item.record.get(field)
        if field not in view.profile.clinical or _blank(ours) or _blank(theirs):
            continue
        if not _same(ours, theirs, field, view):
            detail = "" if field in IDENTIFYING else f": manifest {ours!r}, annotation {theirs!r}"
            out.append(
                ctx.finding(
                    "CLINICAL_MISMATCH",
                    f"{field} differs between manifest row {view.item.row} and the annotation{detail}",
                    pointer=f"/clinical/{field}",
                )
            )
    return out
