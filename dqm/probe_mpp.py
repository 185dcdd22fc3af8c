"""Which level-0 resolution a slide probe is given when its header may state none, and which one
it used: the annotation's declared mpp when it is plausible and the annotation fits the image,
else the manifest's ``mpp``, else the profile's ``image_mpp``.

An annotation's ``MicronsPerPixel`` describes the slide it was drawn on: put beside another image
(a 2048 px JPEG export of a 97,000 px slide) it is ~48 times too fine, and blur and folds judged at
it would be judged at the wrong scale. So the annotation's value is used only where its declared
size (if any) is the image's and its lesions lie within the image (the bounds rule of
``LESION_OUT_OF_BOUNDS``); the image's size is read from its header alone, before the probe.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dqm.i18n import N_, Message, msg
from dqm.model import Annotation, Item
from dqm.profile import Profile

if TYPE_CHECKING:
    from dqm.slide_io import ProbeOptions, SlideProbe

FIT_TOLERANCE_PX = 1.0
"""Pixels a lesion may reach past the image's edge and the annotation still fit it (the default
``tolerance_px`` of ``geometry.bounds``)."""


@dataclass(frozen=True, slots=True)
class ProbeResolution:
    """The resolution a probe is given (``mpp`` and its source, one of
    :data:`dqm.pixels.artefacts.MPP_SOURCES`; ``None`` / ``"none"`` when nothing states one), and
    why the annotation's declared one was not taken (``None`` when it was, or there is none)."""

    mpp: float | None
    source: str
    unused: Message | None = None


def image_size(path: Path) -> tuple[int, int] | None:
    """The image's level-0 size from its header alone (Pillow opens lazily: no pixel is decoded;
    a TIFF too large for Pillow's limit: its first page by tifffile), ``None`` when neither reads
    it. A path that is not a regular file is not opened (a FIFO would block)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
    except OSError:
        return None
    from PIL import Image

    try:
        with Image.open(path) as img:
            w, h = img.size
            return int(w), int(h)
    except Exception:  # a header Pillow cannot read, or over its decompression-bomb limit
        pass
    try:
        import tifffile

        with tifffile.TiffFile(path) as tf:
            page = tf.pages[0]
            return int(page.imagewidth), int(page.imagelength)  # type: ignore[union-attr]
    except Exception:  # not a TIFF either: the probe says what it is
        return None


SIZE_UNREAD = N_("the image's size could not be read before the probe")
"""Why an annotation's resolution was not used when no fit could be judged: not a misfit, so the
manifest's resolution is still held to it (:func:`describes_another_image`)."""


def describes_another_image(unused: Message | None) -> bool:
    """Whether ``unused`` (:func:`misfit`'s reason) says the annotation describes another image (a
    declared size or lesions that do not fit), not only that the image's size could not be read."""
    return unused is not None and unused.template != SIZE_UNREAD


def misfit(
    ann: Annotation, size: tuple[int, int] | None, tolerance_px: float = FIT_TOLERANCE_PX
) -> Message | None:
    """Why the annotation does not describe an image of ``size`` (its declared size differs, or a
    lesion reaches more than ``tolerance_px`` outside it: the profile's ``geometry.bounds``
    tolerance, as ``LESION_OUT_OF_BOUNDS``), ``None`` when it fits; an unknown size is a reason too."""
    if size is None:
        return msg(SIZE_UNREAD)
    w, h = size
    if ann.width is not None and ann.height is not None and (ann.width, ann.height) != (w, h):
        return msg(
            "the annotation declares a {aw}x{ah} slide, the image is {w}x{h}",
            aw=ann.width,
            ah=ann.height,
            w=w,
            h=h,
        )
    tol = tolerance_px
    for lesion in ann.lesions:
        if lesion.geometry is None:
            continue
        minx, miny, maxx, maxy = lesion.geometry.bounds
        if minx < -tol or miny < -tol or maxx > w + tol or maxy > h + tol:
            return msg(
                "its lesions reach outside the {w}x{h} image (their box: {x0:g}, {y0:g} to {x1:g}, {y1:g})",
                x0=float(minx),
                y0=float(miny),
                x1=float(maxx),
                y1=float(maxy),
                w=w,
                h=h,
            )
    return None


def plausible(mpp: float, mpp_range: tuple[float, float]) -> bool:
    """``mpp`` within the profile's plausible range (``slide.header``'s ``mpp_min``–``mpp_max``)."""
    return mpp_range[0] <= mpp <= mpp_range[1]


def for_probe(
    ann: Annotation | None,
    item: Item,
    profile: Profile,
    path: Path,
    mpp_range: tuple[float, float],
    tolerance_px: float = FIT_TOLERANCE_PX,
) -> ProbeResolution:
    """The resolution to give the probe of ``path`` when its header states none: the annotation's
    declared one when plausible and the annotation fits the image, else the manifest's, else the
    profile's. An implausible declared one is ``MPP_IMPLAUSIBLE`` (``slide.header``), one that
    does not fit ``ANNOTATION_MPP_UNUSED`` (``slide.annotation_agrees``, from ``unused``);
    ``tolerance_px``: how far a lesion may reach past the image's edge (:func:`misfit`)."""
    declared = ann.declared_mpp if ann is not None and ann.readable else None
    unused = None
    if declared is not None and ann is not None and plausible(declared, mpp_range):
        unused = misfit(ann, image_size(path), tolerance_px)
        if unused is None:
            return ProbeResolution(declared, "annotation")
    if item.stated_mpp:
        return ProbeResolution(item.stated_mpp, "stated", unused)
    if profile.image_mpp:
        return ProbeResolution(profile.image_mpp, "profile", unused)
    return ProbeResolution(None, "none", unused)


def used(probe: SlideProbe, options: ProbeOptions) -> tuple[float | None, str]:
    """The level-0 resolution the probe used and where it came from, as the blur tiles take it:
    the header's, else the one its options gave, else 10 µm over the objective power when that is
    a plausible one (within ``options.objective_range``, the profile's ``slide.header`` range: an
    objective of 200 or 0.5 is no resolution, and would read as 40x or under 10x)."""
    if probe.mpp_x:
        return probe.mpp_x, "header"
    if options.mpp:
        return options.mpp, options.mpp_source
    power = probe.objective_power
    low, high = options.objective_range
    if power and low <= power <= high:  # NaN compares false
        return 10.0 / power, "objective"
    return None, "none"
