"""Slide checks: the slide opens, reads, has a plausible header, and agrees with its annotation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from pydantic import BaseModel, ConfigDict, Field
from shapely.geometry.base import BaseGeometry

from dqm.budget import WALL_FACTOR, WORK_RATE, work_units
from dqm.check_params import HeaderParams
from dqm.coords import usable_mpp
from dqm.findings import Aspect, Finding, Severity, clip
from dqm.i18n import N_, Message, msg
from dqm.model import Annotation
from dqm.pixels.artefacts import Artefacts
from dqm.pixels.ink import FLAT_SPREAD, ink_share
from dqm.probe_mpp import mpp_range
from dqm.raster import edge_ys
from dqm.slide_io import SlideProbe
from dqm.slide_refs import TilesPastEnd
from validators.context import ItemView
from validators.registry import CheckContext, NoParams, check


@check(
    "slide.opens",
    aspect=Aspect.FILE,
    codes={
        "SLIDE_UNOPENABLE": "neither OpenSlide nor Pillow can open the slide file",
        "SLIDE_UNREADABLE": "the slide opens but a sampled region fails to decode",
        "SLIDE_REFERENCE_REFUSED": "a multi-file slide (VMS/VMU, MIRAX, DICOM) names or sits beside a file "
        "outside the batch or a special file: not opened",
        "SLIDE_TILES_PAST_END": "a TIFF slide's tiles whose offset and byte count run past the file's end: "
        "OpenSlide reads them blank with no error",
    },
)
def opens(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """The slide opens and a bounded sample of regions at several levels decodes."""
    probe = view.slide
    if probe is None:
        return []
    out = [found for page in probe.tiles_past_end for found in _tiles_past_end(probe, page, ctx)]
    if not probe.opened:
        code = "SLIDE_REFERENCE_REFUSED" if probe.reference_refused else "SLIDE_UNOPENABLE"
        return [*out, ctx.finding(code, probe.open_error or msg("cannot open"), file=probe.path)]
    if probe.read_failure is not None:
        f = probe.read_failure
        return [
            *out,
            ctx.finding(
                "SLIDE_UNREADABLE",
                msg(
                    "reading level {level} at ({x}, {y}) failed: {reason}",
                    level=f.level,
                    x=f.xy[0],
                    y=f.xy[1],
                    reason=f.message,
                ),
                file=probe.path,
                xy=(float(f.xy[0]), float(f.xy[1])),
            ),
        ]
    return out


def _tiles_past_end(probe: SlideProbe, page: TilesPastEnd, ctx: CheckContext) -> list[Finding]:
    """``SLIDE_TILES_PAST_END`` of one TIFF page: its level (the one of its size, where OpenSlide
    has one), how many of its tiles run past the file's end, and the first; and, apart, how many
    of its tiles' offsets or byte counts lie past the end themselves."""
    (w, h), levels = page.size, probe.level_dimensions
    if page.strips:
        return _strips_past_end(probe, page, ctx)
    out = []
    if page.unindexed:
        index = dict(page=page.page, w=w, h=h, unindexed=page.unindexed, tiles=page.total)
        if (w, h) in levels:
            text = msg(
                "level {level} ({w}x{h}, TIFF page {page}): the offsets or byte counts of {unindexed:,} of "
                "its {tiles:,} tiles lie past the file's end themselves (its tile index cut short or "
                "pointing beyond the end): the level cannot be read (OpenSlide refuses the slide, or "
                "fails when it reads that level)",
                level=levels.index((w, h)),
                **index,
            )
        else:
            text = msg(
                "TIFF page {page} ({w}x{h}): the offsets or byte counts of {unindexed:,} of its {tiles:,} "
                "tiles lie past the file's end themselves (its tile index cut short or pointing beyond "
                "the end): the page cannot be read",
                **index,
            )
        out.append(ctx.finding("SLIDE_TILES_PAST_END", text, file=probe.path))
    if not page.past:
        return out
    said = dict(page=page.page, w=w, h=h, past=page.past, tiles=page.tiles, first=page.first)
    if (w, h) in levels:
        text = msg(
            "level {level} ({w}x{h}, TIFF page {page}): {past:,} of its {tiles:,} tiles run past the "
            "file's end (offset plus byte count; the first is tile {first:,}): OpenSlide reads them "
            "blank with no error, so the slide is blank there (a corrupt tile index, or a file cut short "
            "whose directories come before its tiles)",
            level=levels.index((w, h)),
            **said,
        )
    else:
        text = msg(
            "TIFF page {page} ({w}x{h}): {past:,} of its {tiles:,} tiles run past the file's end "
            "(offset plus byte count; the first is tile {first:,}): they are read blank with no error "
            "(a corrupt tile index, or a file cut short whose directories come before its tiles)",
            **said,
        )
    return [*out, ctx.finding("SLIDE_TILES_PAST_END", text, file=probe.path)]


def _strips_past_end(probe: SlideProbe, page: TilesPastEnd, ctx: CheckContext) -> list[Finding]:
    """``SLIDE_TILES_PAST_END`` of one stripped TIFF page (a label or macro image, no level of
    OpenSlide's being stripped; page 0: a plain stripped TIFF's image, which Pillow reads): how many of its strips run past the file's end, or whose offsets or
    byte counts lie past it themselves. OpenSlide fails when it reads that image."""
    (w, h), out = page.size, []
    if page.unindexed:
        text = msg(
            "TIFF page {page} ({w}x{h}, stored in strips): the offsets or byte counts of {unindexed:,} of "
            "its {strips:,} strips lie past the file's end themselves (its strip index cut short or "
            "pointing beyond the end): the image cannot be read",
            page=page.page,
            w=w,
            h=h,
            unindexed=page.unindexed,
            strips=page.total,
        )
        out.append(ctx.finding("SLIDE_TILES_PAST_END", text, file=probe.path))
    if page.past:
        said = (
            N_(
                "TIFF page {page} ({w}x{h}, stored in strips): {past:,} of its {strips:,} strips run past "
                "the file's end (offset plus byte count; the first is strip {first:,}): the image itself "
                "cannot be read whole (its reader fails on that strip)"
            )
            if page.page == 0  # a plain stripped TIFF's image, read by Pillow (no slide is stripped)
            else N_(
                "TIFF page {page} ({w}x{h}, stored in strips): {past:,} of its {strips:,} strips run past "
                "the file's end (offset plus byte count; the first is strip {first:,}): the image cannot be "
                "read whole (a label or macro image: OpenSlide fails when it reads it)"
            )
        )
        text = msg(
            said,
            page=page.page,
            w=w,
            h=h,
            past=page.past,
            strips=page.tiles,
            first=page.first,
        )
        out.append(ctx.finding("SLIDE_TILES_PAST_END", text, file=probe.path))
    return out


def _declared_unusable(ann: Annotation) -> bool:
    """The annotation declares a resolution that is no usable number: kept and not in range (zero,
    negative, infinite), or dropped by its reader with an issue at its pointer (of the wrong type,
    beyond any real slide)."""
    pointer = ann.slide_pointer("mpp")
    return ann.declared_mpp is None and (
        ann.mpp is not None or any(issue.pointer == pointer for issue in ann.issues)
    )


@check(
    "slide.resolution",
    aspect=Aspect.IMAGE,
    severity=Severity.WARNING,
    codes={
        "MPP_MISSING": "no usable resolution (µm per pixel) in the slide header, the annotation, the manifest "
        "or the profile"
    },
)
def resolution(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """The level-0 resolution is known (header, fitting annotation, manifest or profile).

    The annotation's value counts where it is plausible and fits the image. One that is declared
    and not used is said so, with why (``ANNOTATION_MPP_UNUSED`` or ``MPP_IMPLAUSIBLE`` say it at
    its pointer; this finding says what follows: no areas in µm²)."""
    probe = view.slide
    if probe is None or not probe.opened or view.mpp is not None:
        return []
    ann = view.annotation
    declared = ann.declared_mpp if ann is not None and ann.readable else None
    why = view.decided.unused
    if declared is not None and why is not None:
        text = msg(
            "{vendor} header has no mpp, the annotation's {mpp:g} µm/px is not used ({why}), the manifest "
            "has no mpp column value and the profile no image_mpp: areas in µm² and resolution-based "
            "tiling are not possible",
            vendor=probe.vendor or "slide",
            mpp=declared,
            why=why,
        )
    elif ann is not None and ann.readable and _declared_unusable(ann):
        text = msg(
            "{vendor} header has no mpp, the annotation's mpp is not a usable number (its reader's finding "
            "says why), the manifest has no mpp column value and the profile no image_mpp: areas in µm² and "
            "resolution-based tiling are not possible",
            vendor=probe.vendor or "slide",
        )
    else:
        text = msg(
            "{vendor} header has no mpp, the annotation declares none, the manifest has no mpp column "
            "value and the profile no image_mpp: areas in µm² and resolution-based tiling are not possible",
            vendor=probe.vendor or "slide",
        )
    return [ctx.finding("MPP_MISSING", text, file=probe.path)]


def _mask_size(w: int, h: int, sw: int, sh: int, pointer: str, ctx: CheckContext) -> Finding:
    """``MASK_SIZE_MISMATCH``, saying whether the mask has the image's aspect ratio (a downsample
    that is not an exact integer factor, or a wrongly stated one) or another one (the mask of
    another image, or a crop); its outlines are then not where the image's tissue is. An exact
    integer downsample is not a mismatch: the mask is scaled up (``mask.at_slide_scale``)."""
    if abs(w / h - sw / sh) <= 0.01 * (sw / sh):
        text = msg(
            "the mask is {w}x{h}, its image {sw}x{sh}: the same aspect ratio at {scale:.4g} of the size, "
            "not an exact integer downsample",
            w=w,
            h=h,
            sw=sw,
            sh=sh,
            scale=w / sw,
        )
    else:
        text = msg(
            "the mask is {w}x{h}, its image {sw}x{sh}: another aspect ratio ({ratio:.4g} against {image_ratio:.4g})",
            w=w,
            h=h,
            sw=sw,
            sh=sh,
            ratio=w / h,
            image_ratio=sw / sh,
        )
    return ctx.finding("MASK_SIZE_MISMATCH", text, pointer=pointer)


class AgreementParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    mpp_rel_tolerance: float = Field(0.05, ge=0, description="Relative mpp difference allowed.")


@check(
    "slide.annotation_agrees",
    aspect=Aspect.FORMAT,
    params=AgreementParams,
    codes={
        "SLIDE_SIZE_MISMATCH": "the annotation's declared slide size differs from the slide header",
        "MASK_SIZE_MISMATCH": "a label mask's size differs from its image's",
        "MASK_ORIENTATION_MISMATCH": "a label mask's Orientation tag differs from its image's",
        "MPP_MISMATCH": "the annotation's declared mpp differs from the slide header or the manifest's mpp",
        "ANNOTATION_MPP_UNUSED": "the annotation's declared mpp was not used for the slide: it does not fit the image "
        "(or is implausible where slide.header does not say so)",
    },
    code_severity={"ANNOTATION_MPP_UNUSED": Severity.INFO, "MASK_ORIENTATION_MISMATCH": Severity.WARNING},
)
def annotation_agrees(view: ItemView, params: AgreementParams, ctx: CheckContext) -> list[Finding]:
    """The annotation's declared slide size and mpp agree with the slide header and manifest."""
    ann, probe = view.annotation, view.slide
    if ann is None or not ann.readable:
        return []
    # an annotation that does not fit the image describes another one (an export of the slide it
    # was drawn on): its mpp is no claim about this image's, so the manifest's is not held to it
    resolution = view.resolution
    another = resolution is not None and resolution.another_image
    out = [] if another else _manifest_mpp(ann.declared_mpp, view, params, ctx)
    unused = resolution.unused if resolution is not None else None
    if unused is not None and ann.declared_mpp is not None and (another or not _says_implausible(view)):
        out.append(
            ctx.finding(
                "ANNOTATION_MPP_UNUSED",
                msg(
                    "the annotation declares {mpp:g} µm/px, not used for this image ({why}): its "
                    "resolution is taken as unknown unless the manifest or profile states one",
                    mpp=ann.declared_mpp,
                    why=unused,
                ),
                pointer=ann.slide_pointer("mpp"),
            )
        )
    if probe is None or not probe.opened:
        return out
    if ann.format == "mask" and _turn(ann.orientation) != _turn(probe.orientation):
        out.append(
            ctx.finding(
                "MASK_ORIENTATION_MISMATCH",
                msg(
                    "the mask's Orientation tag is {mask}, its image's {image} (1: as stored): dqm "
                    "reads the mask as stored, but whatever applies the tags (a viewer, "
                    "ImageOps.exif_transpose, Pillow 13 loading a TIFF) turns them apart, and every "
                    "lesion lands in the wrong place",
                    mask=_turn(ann.orientation),
                    image=_turn(probe.orientation),
                ),
                pointer="/mask/orientation",
            )
        )
    if (
        ann.width is not None
        and ann.height is not None
        and (ann.width, ann.height) != (probe.width, probe.height)
    ):
        if ann.format == "mask" and probe.width is not None and probe.height is not None:
            out.append(
                _mask_size(ann.width, ann.height, probe.width, probe.height, ann.slide_pointer("width"), ctx)
            )
        else:
            out.append(
                ctx.finding(
                    "SLIDE_SIZE_MISMATCH",
                    msg(
                        "annotation declares {width}x{height}, slide header says {slide_width}x{slide_height}",
                        width=ann.width,
                        height=ann.height,
                        slide_width=probe.width,
                        slide_height=probe.height,
                    ),
                    pointer=ann.slide_pointer("width"),
                )
            )
    if ann.mpp is not None and probe.mpp_x and usable_mpp(ann.mpp):
        rel = abs(ann.mpp - probe.mpp_x) / probe.mpp_x
        if rel > params.mpp_rel_tolerance:
            out.append(
                ctx.finding(
                    "MPP_MISMATCH",
                    msg(
                        "annotation declares {mpp:g} µm/px, slide header says {slide_mpp:g}",
                        mpp=ann.mpp,
                        slide_mpp=probe.mpp_x,
                    ),
                    pointer=ann.slide_pointer("mpp"),
                )
            )
    return out


def _turn(orientation: int | None) -> int:
    """An Orientation tag's value, 1 (the stored frame, the tag's default) where it states none
    or one outside 1 to 8 (which readers ignore)."""
    return orientation if orientation is not None and 1 <= orientation <= 8 else 1


def _says_implausible(view: ItemView) -> bool:
    """Whether ``slide.header`` reports the annotation's implausible resolution (``MPP_IMPLAUSIBLE``:
    enabled, the slide opened and its header stating none); where it does not (disabled,
    ``dqm validate --annotations-only``, an image not opened) ``ANNOTATION_MPP_UNUSED`` says why the value was not used."""
    setting = view.profile.checks.get("slide.header")
    probe = view.slide
    enabled = setting is None or setting.enabled
    return enabled and probe is not None and probe.opened and not probe.mpp_x


def _manifest_mpp(
    declared: float | None, view: ItemView, params: AgreementParams, ctx: CheckContext
) -> list[Finding]:
    """``MPP_MISMATCH`` where the annotation's declared mpp and the manifest's ``mpp`` column are
    both plausible (``slide.header``'s range) and differ (the annotation's is the probe's when it
    fits the image: the manifest's is then not used)."""
    stated, ann = view.item.stated_mpp, view.annotation
    if declared is None or stated is None or ann is None:
        return []
    low, high = mpp_range(view.profile)
    if not (low <= declared <= high and low <= stated <= high):
        return []
    if abs(declared - stated) / stated <= params.mpp_rel_tolerance:
        return []
    # without slides the image is not opened: whether the annotation describes it (and so whether
    # its mpp is a claim about it) is not known, and the finding says so
    text = (
        N_("annotation declares {mpp:g} µm/px, the manifest's mpp says {stated:g}")
        if view.slides_checked
        else N_(
            "annotation declares {mpp:g} µm/px, the manifest's mpp says {stated:g} (slides not opened: "
            "whether the annotation describes this image was not judged)"
        )
    )
    return [
        ctx.finding("MPP_MISMATCH", msg(text, mpp=declared, stated=stated), pointer=ann.slide_pointer("mpp"))
    ]


NO_POWER_FIELD = frozenset({"generic-tiff", None})
"""Vendors whose format has no field for the objective power (a plain TIFF): not reported."""


def _sides(dims: tuple[tuple[int, int], ...]) -> str:
    return ", ".join(f"{w}x{h}" for w, h in dims)


@check(
    "slide.header",
    aspect=Aspect.IMAGE,
    params=HeaderParams,
    codes={
        "MPP_IMPLAUSIBLE": "the slide header's (or, where it states none, the annotation's) µm per pixel lies "
        "outside the plausible range",
        "MPP_ANISOTROPIC": "the header's mpp-x and mpp-y differ (non-square pixels)",
        "OBJECTIVE_POWER_MISSING": "the header of a format that records it states no objective power",
        "OBJECTIVE_POWER_IMPLAUSIBLE": "the header's objective power lies outside the plausible range",
        "OBJECTIVE_MPP_INCONSISTENT": "objective power and mpp disagree (mpp × power far from 10)",
        "LEVELS_INCONSISTENT": "pyramid levels do not shrink with growing downsamples",
        "NO_PYRAMID": "a large slide has a single level (every view decodes level 0)",
    },
    code_severity={
        "MPP_IMPLAUSIBLE": Severity.ERROR,
        "OBJECTIVE_POWER_MISSING": Severity.INFO,
    },
    severity=Severity.WARNING,
)
def header(view: ItemView, params: HeaderParams, ctx: CheckContext) -> list[Finding]:
    """The slide header is plausible: mpp in range and square, objective power present and agreeing, pyramid sound."""
    probe = view.slide
    if probe is None or not probe.opened:
        return []
    out = []
    ann = view.annotation
    declared = ann.declared_mpp if ann is not None and ann.readable else None
    if declared is not None and not probe.mpp_x and not params.mpp_min <= declared <= params.mpp_max:
        assert ann is not None
        # reported here, not by slide.annotation_agrees: the range is this check's (a code has one
        # owner); disabled, the range still keeps the value from the probe (docs/formats.md)
        out.append(  # the header states none (else MPP_MISMATCH): the probe did not take it
            ctx.finding(
                "MPP_IMPLAUSIBLE",
                msg(
                    "the annotation declares {mpp:g} µm per pixel, outside {low:g}–{high:g}: a resolution "
                    "unit or value is wrong (not used for the slide)",
                    mpp=declared,
                    low=params.mpp_min,
                    high=params.mpp_max,
                ),
                file=ann.path,
                pointer=ann.slide_pointer("mpp"),
            )
        )
    where = {"file": probe.path}
    vendor = probe.vendor or "slide"
    mpp = probe.mpp_x
    if mpp is not None and not params.mpp_min <= mpp <= params.mpp_max:
        out.append(
            ctx.finding(
                "MPP_IMPLAUSIBLE",
                msg(
                    "{vendor} header says {mpp:g} µm per pixel, outside {low:g}–{high:g}: "
                    "a resolution unit or value is wrong (areas in µm² would be off)",
                    vendor=vendor,
                    mpp=mpp,
                    low=params.mpp_min,
                    high=params.mpp_max,
                ),
                **where,
            )
        )
    if mpp and probe.mpp_y and abs(mpp - probe.mpp_y) / mpp > params.anisotropy_tolerance:
        out.append(
            ctx.finding(
                "MPP_ANISOTROPIC",
                msg(
                    "mpp-x {x:g} and mpp-y {y:g} differ by more than {tolerance:.0%}",
                    x=mpp,
                    y=probe.mpp_y,
                    tolerance=params.anisotropy_tolerance,
                ),
                **where,
            )
        )
    power = probe.objective_power
    if probe.backend == "openslide":
        if power is None:
            if probe.vendor not in NO_POWER_FIELD:
                out.append(
                    ctx.finding(
                        "OBJECTIVE_POWER_MISSING",
                        msg("{vendor} header states no objective power", vendor=vendor),
                        **where,
                    )
                )
        elif not params.objective_min <= power <= params.objective_max:
            out.append(
                ctx.finding(
                    "OBJECTIVE_POWER_IMPLAUSIBLE",
                    msg(
                        "objective power {power:g} is outside {low:g}–{high:g}",
                        power=power,
                        low=params.objective_min,
                        high=params.objective_max,
                    ),
                    **where,
                )
            )
        elif mpp is not None and params.mpp_min <= mpp <= params.mpp_max:
            lo, hi = params.mpp_objective_range
            if not lo <= mpp * power <= hi:
                out.append(
                    ctx.finding(
                        "OBJECTIVE_MPP_INCONSISTENT",
                        msg(
                            "{power:g}× with {mpp:g} µm/px (product {product:.3g}, expected {low:g}–{high:g}): "
                            "one of the two is wrong",
                            power=power,
                            mpp=mpp,
                            product=mpp * power,
                            low=lo,
                            high=hi,
                        ),
                        **where,
                    )
                )
    dims, ds = probe.level_dimensions, probe.level_downsamples
    if len(dims) > 1:
        shrinking = all(
            dims[i + 1][0] < dims[i][0] and dims[i + 1][1] < dims[i][1] for i in range(len(dims) - 1)
        )
        growing = all(ds[i + 1] > ds[i] for i in range(len(ds) - 1))
        if not (shrinking and growing):
            out.append(
                ctx.finding(
                    "LEVELS_INCONSISTENT",
                    msg(
                        "levels {levels} with downsamples {downsamples} do not shrink steadily",
                        levels=_sides(dims),
                        downsamples=", ".join(f"{d:g}" for d in ds),
                    ),
                    **where,
                )
            )
    elif probe.width and probe.height and max(probe.width, probe.height) >= params.pyramid_min_side:
        out.append(
            ctx.finding(
                "NO_PYRAMID",
                msg(
                    "{width}x{height} pixels in a single level: viewers and tilers must decode level 0",
                    width=probe.width,
                    height=probe.height,
                ),
                **where,
            )
        )
    return out


class CodecParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    allowed: tuple[str, ...] = Field(
        ("jpeg", "jpeg2000", "jpegxl", "jpegxr", "webp", "deflate", "lzw", "zstd", "png", "none", "packbits"),
        description="Level-0 codecs accepted in a delivery (names as in docs/formats.md).",
    )


@check(
    "slide.codec",
    aspect=Aspect.IMAGE,
    severity=Severity.WARNING,
    params=CodecParams,
    codes={"CODEC_NOT_ALLOWED": "the slide's level-0 codec is not one the profile accepts"},
)
def codec(view: ItemView, params: CodecParams, ctx: CheckContext) -> list[Finding]:
    """The level-0 codec (JPEG, JPEG 2000, ...) is one the profile accepts."""
    probe = view.slide
    if probe is None or probe.compression is None or probe.compression in params.allowed:
        return []
    return [
        ctx.finding(
            "CODEC_NOT_ALLOWED",
            msg(
                "level-0 codec {codec!r} is not accepted ({allowed})",
                codec=probe.compression,
                allowed=", ".join(params.allowed),
            ),
            file=probe.path,
        )
    ]


PLAIN_IMAGE_FORMATS = frozenset({"image/jpeg", "image/png", "image/webp", "image/bmp"})


@check(
    "slide.format",
    aspect=Aspect.IMAGE,
    severity=Severity.WARNING,
    codes={
        "SLIDE_NOT_WSI": "a TIFF OpenSlide does not read: opened as a flat image (no pyramid, no mpp) or not at all",
        "SLIDE_NOT_RGB": "the image is not RGB (greyscale, 16-bit, ...): not a brightfield H&E slide",
        "SLIDE_METADATA_CORRUPT": "the image decoder warned about corrupt metadata (EXIF, TIFF tags, JPEG parameters)",
        "SLIDE_PART_UNREADABLE": "a file beside a DICOM slide cannot be read: OpenSlide leaves it out "
        "without a word, so the slide may lack part of its series",
    },
)
def slide_format(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """A slide is a whole-slide format OpenSlide reads (or a plain RGB image), in colour."""
    probe = view.slide
    if probe is None:
        return []
    out = []
    if probe.openslide_error and probe.container in ("TIFF", "BigTIFF", "OME-TIFF"):
        template = (
            N_(
                "{container} that OpenSlide does not recognise ({reason}); opened as a flat image through "
                "Pillow: pyramid and resolution are lost"
            )
            if probe.opened
            else N_(
                "{container} that OpenSlide does not recognise ({reason}); Pillow cannot open it either: "
                "pyramid and resolution are lost"
            )
        )
        out.append(
            ctx.finding(
                "SLIDE_NOT_WSI",
                msg(template, container=probe.container, reason=probe.openslide_error),
                file=probe.path,
            )
        )
    if probe.opened and probe.pillow_mode and probe.pillow_mode not in ("RGB", "RGBA", "YCbCr", "P", "CMYK"):
        out.append(
            ctx.finding(
                "SLIDE_NOT_RGB",
                msg("image mode {mode} (not RGB): not a brightfield colour slide", mode=probe.pillow_mode),
                file=probe.path,
            )
        )
    if probe.decoder_warnings:
        out.append(
            ctx.finding(
                "SLIDE_METADATA_CORRUPT",
                msg("the decoder warned: {warnings}", warnings="; ".join(probe.decoder_warnings[:3])),
                file=probe.path,
            )
        )
    if probe.parts_unread:
        out.append(ctx.finding("SLIDE_PART_UNREADABLE", _parts_unread(probe.parts_unread), file=probe.path))
    return out


def _parts_unread(unread: Sequence[tuple[str, str]]) -> Message:
    """``SLIDE_PART_UNREADABLE``'s message: the first file beside a DICOM slide that could not be read
    (its batch path clipped, masked at output as every batch path), why, and how many others."""
    part, reason = unread[0]
    return msg(
        "{part}, a file beside this DICOM slide, cannot be read ({reason}); OpenSlide leaves out such a "
        "file without a word and reads the slide without it: if it is one of the slide's series, part of "
        "the slide is missing ({others:,} other such file(s))",
        part=clip(part, 200),
        reason=reason,
        others=len(unread) - 1,
    )


@check(
    "slide.time_budget",
    aspect=Aspect.IMAGE,
    severity=Severity.WARNING,
    codes={"SLIDE_TIME_BUDGET": "the slide probe ran out of its time budget and skipped steps"},
)
def time_budget(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """The slide was probed within its time budget (no step skipped)."""
    probe = view.slide
    if probe is None or not probe.skipped:
        return []
    steps, budget = ", ".join(probe.skipped), probe.budget_s or 0
    # the budget, not the seconds or work measured: a finding says the same on every run
    if probe.budget_clock == "wall":
        said = msg(
            "probing waited on its reads for over {wall:g} s on the wall clock ({factor:g} times its "
            "{budget:g} s budget; a backstop that depends on the machine): skipped {steps} (those "
            "checks did not run)",
            wall=WALL_FACTOR * budget,
            factor=WALL_FACTOR,
            budget=budget,
            steps=steps,
        )
    elif probe.budget_clock == "cpu":
        said = msg(
            "probing spent its {budget:g} s of CPU time before its work budget (a decoder that "
            "crawls; a backstop that depends on the machine): skipped {steps} (those checks did not run)",
            budget=budget,
            steps=steps,
        )
    else:
        said = msg(
            "probing reached its work budget of {work:,} units ({budget:g} s at {rate:,} units a "
            "second, the same on every machine): skipped {steps} (those checks did not run)",
            work=work_units(budget),
            budget=budget,
            rate=WORK_RATE,
            steps=steps,
        )
    return [ctx.finding("SLIDE_TIME_BUDGET", said, file=probe.path)]


ITEM_TESTS: Any = Field(
    50_000_000,
    ge=100,
    description="Point-in-polygon tests for all the lesions of one slide at most (a few seconds): one a "
    "sampled mask pixel, and one for each edge of an outline that crosses the pixel's row; the lesions "
    "past it are not measured, and a finding counts them.",
)
"""The per-slide budget of the checks that sample lesions over a mask (:class:`SampleBudget`)."""


class TissueParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    min_tissue_fraction: float = Field(
        0.5, ge=0, le=1, description="Share of a lesion's area that must lie over tissue."
    )
    max_samples: int = Field(200_000, ge=100, description="Mask pixels sampled per lesion at most.")
    max_item_tests: int = ITEM_TESTS


@dataclass(frozen=True, slots=True)
class SampleGrid:
    """The low-resolution mask pixels sampled for one lesion: every ``step``-th pixel of its
    bounding box on the mask, rows ``r0:r1`` and columns ``c0:c1``."""

    r0: int
    r1: int
    c0: int
    c1: int
    step: int

    @property
    def size(self) -> int:
        """The pixels sampled: the centres one point-in-polygon test each."""
        return len(range(self.r0, self.r1, self.step)) * len(range(self.c0, self.c1, self.step))

    def cost(self, geometry: BaseGeometry, dsy: float) -> int:
        """The point-in-polygon work of testing the sampled centres against ``geometry``: one a
        centre, and one for each edge that crosses the centre's row (GEOS finds those edges by an
        interval index, then counts them: an outline that zigzags across every row costs all its
        vertices at every centre, 219 s for 100,000 vertices on a 397 x 348 mask)."""
        ys = (np.arange(self.r0, self.r1, self.step) + 0.5) * dsy
        y0, y1 = edge_ys(geometry)
        rows = np.searchsorted(ys, np.maximum(y0, y1), "right") - np.searchsorted(
            ys, np.minimum(y0, y1), "left"
        )
        return self.size + len(range(self.c0, self.c1, self.step)) * int(rows.sum())


def sample_grid(
    shape: tuple[int, ...], downsample: tuple[float, float], geometry: BaseGeometry, max_samples: int
) -> SampleGrid | None:
    """The pixels of a ``shape`` mask sampled for ``geometry``, about ``max_samples`` at most;
    None when its bounding box lies off the mask."""
    h, w = shape[:2]
    dsx, dsy = downsample
    minx, miny, maxx, maxy = geometry.bounds
    c0, c1 = max(int(np.floor(minx / dsx)), 0), min(int(np.ceil(maxx / dsx)), w)
    r0, r1 = max(int(np.floor(miny / dsy)), 0), min(int(np.ceil(maxy / dsy)), h)
    if c0 >= c1 or r0 >= r1:
        return None
    step = max(1, int(np.ceil(np.sqrt((c1 - c0) * (r1 - r0) / max_samples))))
    return SampleGrid(r0, r1, c0, c1, step)


def sampled_shares(
    masks: Sequence[np.ndarray], downsample: tuple[float, float], geometry: BaseGeometry, grid: SampleGrid
) -> list[float | None]:
    """Share of the sampled pixels whose centre lies inside ``geometry`` that are set, in each of
    ``masks`` (one shape): one point-in-polygon test per sampled centre whatever their number. A
    lesion no sampled centre falls in is judged by the pixel under its representative point."""
    dsx, dsy = downsample
    # the sampled centres as a row of x and a column of y, broadcast by the predicate: no grid of
    # indices is built, and the sampled mask pixels are one strided view of the mask
    xs = (np.arange(grid.c0, grid.c1, grid.step) + 0.5) * dsx
    ys = (np.arange(grid.r0, grid.r1, grid.step) + 0.5) * dsy
    inside = shapely.contains_xy(geometry, xs[np.newaxis, :], ys[:, np.newaxis])
    if not inside.any():
        h, w = masks[0].shape[:2]
        pt = geometry.representative_point()
        c, r = int(pt.x / dsx), int(pt.y / dsy)
        if not (0 <= c < w and 0 <= r < h):
            return [None for _ in masks]
        return [float(mask[r, c]) for mask in masks]
    view = np.s_[grid.r0 : grid.r1 : grid.step, grid.c0 : grid.c1 : grid.step]
    return [float(mask[view][inside].mean()) for mask in masks]


@dataclass(slots=True)
class SampleBudget:
    """The point-in-polygon tests the lesions of one slide may still take (a check's
    ``max_item_tests``, counted by :meth:`SampleGrid.cost`): a lesion whose sample would pass it
    is not measured but counted, so thousands of lesions as large as the slide, or one outline of
    a million vertices zigzagging across it, cost seconds, not hours."""

    limit: int
    left: int = -1
    unmeasured: int = 0

    def __post_init__(self) -> None:
        self.left = self.limit

    def take(self, grid: SampleGrid, geometry: BaseGeometry, dsy: float) -> bool:
        """Whether ``geometry`` sampled on ``grid`` may be measured; spends its tests if so."""
        cost = grid.cost(geometry, dsy)
        if cost > self.left:
            self.unmeasured += 1
            return False
        self.left -= cost
        return True


ALL_INK_CODE = {
    "SLIDE_ALL_INK": "the image is ink alone (pen ink, or a colour with a channel near 0, over nearly all of "
    "what is not glass): no section a lesion could lie on",
    "SLIDE_ONE_COLOUR": "the image is flat colour, one field or a few (a blank scan, under a step of light or "
    "not, a placeholder image, a colour card): no section a lesion could lie on",
}
"""Said by ``slide.lesion_tissue``, else (disabled) ``artefacts.slide``, else ``artefacts.lesion``: once
per slide whichever is enabled (:data:`validators.engine.ONCE_CODES`), both errors."""
NO_SECTION_SEVERITY = dict.fromkeys(ALL_INK_CODE, Severity.ERROR)
""":data:`ALL_INK_CODE`'s severity in each check that says them."""


def said_all_ink(probe: SlideProbe, ctx: CheckContext) -> list[Finding] | None:
    """``SLIDE_ALL_INK`` when the probe judged the slide's image ink alone (``Artefacts.all_ink``),
    ``SLIDE_ONE_COLOUR`` when flat colour, one field or a few (``Artefacts.one_colour``), else None."""
    found = probe.artefacts
    if found is None:
        return None
    if found.all_ink:
        return [ctx.finding("SLIDE_ALL_INK", all_ink_message(found), file=probe.path)]
    if found.one_colour:
        said = msg(
            "the image is flat colour, one field or a few: what is not glass spreads {spread:.1f} of 255 at most "
            "in a channel in each (under {limit:g}), a blank scan or a placeholder, not a scanned section; its "
            "artefacts, staining "
            "and lesions' place are not judged (rescan or replace it)",
            spread=found.spread or 0.0,
            limit=FLAT_SPREAD,
        )
        return [ctx.finding("SLIDE_ONE_COLOUR", said, file=probe.path)]
    return None


@check(
    "slide.lesion_tissue",
    aspect=Aspect.FORMAT,
    severity=Severity.WARNING,
    params=TissueParams,
    codes={
        "LESION_ON_BACKGROUND": "most of a lesion lies over glass (background), not tissue",
        "NO_TISSUE": "the slide's tissue mask finds no tissue at all",
        "TISSUE_UNMEASURED": "lesions past the slide's sampling budget were not measured for tissue",
        **ALL_INK_CODE,
    },
    code_severity=NO_SECTION_SEVERITY,
)
def lesion_tissue(view: ItemView, params: TissueParams, ctx: CheckContext) -> list[Finding]:
    """Lesions lie over tissue, not glass, and a slide has some tissue (not blank, not ink alone).

    Tissue is a low-resolution saturation mask of the slide."""
    probe, ann = view.slide, view.annotation
    if probe is None:
        return []
    ink = said_all_ink(probe, ctx)
    if ink is not None:
        return ink  # no other check judges this slide's pixels
    if probe.tissue is None:
        return []
    if not probe.tissue.mask.any():
        return [
            ctx.finding(
                "NO_TISSUE",
                msg(
                    "no tissue found on the slide ({source}, saturation threshold {threshold:.2f}): "
                    "blank or out-of-focus scan?",
                    source=probe.tissue.source,
                    threshold=float(probe.tissue.threshold),
                ),
                file=probe.path,
            )
        ]
    out = []
    tissue, budget = probe.tissue, SampleBudget(params.max_item_tests)
    for lesion in ann.lesions if ann is not None else ():
        geom = lesion.geometry
        if geom is None or lesion.area == 0 or not lesion.is_valid:
            continue
        grid = sample_grid(tissue.mask.shape, tissue.downsample, geom, params.max_samples)
        if grid is None or not budget.take(grid, geom, tissue.downsample[1]):
            continue
        (frac,) = sampled_shares([tissue.mask], tissue.downsample, geom, grid)
        if frac is not None and frac < params.min_tissue_fraction:
            pt = geom.representative_point()
            out.append(
                ctx.finding(
                    "LESION_ON_BACKGROUND",
                    msg(
                        "lesion {lesion} ({name}): {share:.0%} of its area lies over tissue, "
                        "under the {expected:.0%} expected (mask from {source})",
                        lesion=lesion.index,
                        name=lesion.raw_class,
                        share=float(frac),
                        expected=params.min_tissue_fraction,
                        source=probe.tissue.source,
                    ),
                    pointer=lesion.pointer + "/geometry",
                    lesion=lesion.index,
                    xy=(float(pt.x), float(pt.y)),
                )
            )
    if budget.unmeasured:
        said = msg(
            "{n:,} lesions not measured for tissue: they would take more than {limit:,} "
            "point-in-polygon tests on this slide in all (checks.slide.lesion_tissue.params.max_item_tests)",
            n=budget.unmeasured,
            limit=budget.limit,
        )
        out.append(ctx.finding("TISSUE_UNMEASURED", said, file=ann.path if ann is not None else probe.path))
    return out


def all_ink_message(found: Artefacts | None) -> Message:
    """``SLIDE_ALL_INK``'s text: the ink's share of what is not glass, by pen colour and near-black."""
    pens = found.pens if found is not None else {}
    dark = found.shares.get("overstain", 0.0) if found is not None else 0.0
    colours = ", ".join(f"{c} {s:.1%}" for c, s in pens.items() if s)
    parts = (
        N_("pen {colours}; near 0 in a channel {dark:.1%}")
        if colours and dark
        else N_("near 0 in a channel {dark:.1%}")
        if dark
        else N_("pen {colours}")
    )
    return msg(
        "the image is ink alone: {share:.1%} of what is not glass is pen ink or a colour with a channel near 0 "
        "({_parts}), not a scanned section; its artefacts, staining and lesions' place are not judged "
        "(rescan or replace it)",
        share=ink_share(found) or 0.0,
        _parts=parts,
        colours=colours,
        dark=dark,
    )
