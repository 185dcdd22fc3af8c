"""Slide checks: the slide opens, reads, and agrees with its annotation."""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field

from dqm.findings import Aspect, Finding, Severity
from validators.context import ItemView
from validators.registry import CheckContext, NoParams, check


@check(
    "slide.opens",
    aspect=Aspect.FILE,
    codes={
        "SLIDE_UNOPENABLE": "neither OpenSlide nor Pillow can open the slide file",
        "SLIDE_UNREADABLE": "the slide opens but a sampled region fails to decode",
    },
)
def opens(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """The slide opens and a bounded sample of regions at several levels decodes."""
    probe = view.slide
    if probe is None:
        return []
    if not probe.opened:
        return [ctx.finding("SLIDE_UNOPENABLE", probe.open_error or "cannot open", file=probe.path)]
    if probe.read_failure is not None:
        f = probe.read_failure
        return [
            ctx.finding(
                "SLIDE_UNREADABLE",
                f"reading level {f.level} at ({f.xy[0]}, {f.xy[1]}) failed: {f.message}",
                file=probe.path,
                xy=(float(f.xy[0]), float(f.xy[1])),
            )
        ]
    return []


@check(
    "slide.resolution",
    aspect=Aspect.IMAGE,
    severity=Severity.WARNING,
    codes={"MPP_MISSING": "no resolution (µm per pixel) in the slide header or the annotation"},
)
def resolution(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """The level-0 resolution is known, from the slide header or the annotation."""
    probe = view.slide
    if probe is None or not probe.opened or view.mpp is not None:
        return []
    return [
        ctx.finding(
            "MPP_MISSING",
            f"{probe.vendor or 'slide'} header has no mpp and the annotation declares none: "
            "areas in µm² and resolution-based tiling are not possible",
            file=probe.path,
        )
    ]


class AgreementParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    mpp_rel_tolerance: float = Field(0.05, ge=0, description="Relative mpp difference allowed.")


@check(
    "slide.annotation_agrees",
    aspect=Aspect.FORMAT,
    params=AgreementParams,
    codes={
        "SLIDE_SIZE_MISMATCH": "the annotation's declared slide size differs from the slide header",
        "MPP_MISMATCH": "the annotation's declared mpp differs from the slide header",
    },
)
def annotation_agrees(view: ItemView, params: AgreementParams, ctx: CheckContext) -> list[Finding]:
    """The annotation's declared slide size and mpp agree with the slide header."""
    ann, probe = view.annotation, view.slide
    if ann is None or probe is None or not probe.opened or not ann.readable:
        return []
    out = []
    if (
        ann.width is not None
        and ann.height is not None
        and (ann.width, ann.height) != (probe.width, probe.height)
    ):
        out.append(
            ctx.finding(
                "SLIDE_SIZE_MISMATCH",
                f"annotation declares {ann.width}x{ann.height}, slide header says {probe.width}x{probe.height}",
                pointer="/slide/width",
            )
        )
    if ann.mpp and probe.mpp_x and math.isfinite(ann.mpp) and ann.mpp > 0:
        rel = abs(ann.mpp - probe.mpp_x) / probe.mpp_x
        if rel > params.mpp_rel_tolerance:
            out.append(
                ctx.finding(
                    "MPP_MISMATCH",
                    f"annotation declares {ann.mpp:g} µm/px, slide header says {probe.mpp_x:g}",
                    pointer="/slide/mpp",
                )
            )
    return out


@check(
    "deid.associated_images",
    aspect=Aspect.DEID,
    severity=Severity.WARNING,
    codes={
        "LABEL_IMAGE_PRESENT": "the slide carries a photo of the glass label (may show identifiers)",
        "MACRO_IMAGE_PRESENT": "the slide carries a macro photo of the whole glass (may show the label)",
    },
)
def associated_images(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """The slide file carries no label or macro photograph of the glass slide."""
    probe = view.slide
    if probe is None or not probe.opened:
        return []
    out = []
    for name, code in (("label", "LABEL_IMAGE_PRESENT"), ("macro", "MACRO_IMAGE_PRESENT")):
        if name in probe.associated_images:
            out.append(
                ctx.finding(
                    code,
                    f"associated image {name!r} present: remove it before release or confirm it is blank",
                    file=probe.path,
                )
            )
    return out
