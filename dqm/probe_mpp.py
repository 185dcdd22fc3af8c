"""Which level-0 resolution a slide probe is given when its header may state none, and which one
it used: the annotation's declared mpp when it is plausible and the annotation fits the image,
else the manifest's ``mpp``, else the profile's ``image_mpp``.

An annotation's ``MicronsPerPixel`` describes the slide it was drawn on: put beside another image
(a 2048 px JPEG export of a 97,000 px slide) it is ~48 times too fine, and blur and folds judged at
it would be judged at the wrong scale. So the annotation's value is used only where its declared
size (if any) is the image's and its lesions lie within the image (the bounds rule of
``LESION_OUT_OF_BOUNDS``). The image's size is the probe's (a MIRAX slide's too, whose size no
header reader but OpenSlide gives): the probe is given the annotation's value first, and the
slide probed again with the next one only where the annotation turns out not to fit (the runner:
:func:`dqm.runner.check_item`). One rule (:func:`for_probe`) decides for the probe and for the
areas in µm² (:attr:`validators.context.ItemView.mpp`); where no image's size is known
(``--no-slides``) no fit is judged and a plausible declared value is taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dqm.coords import PLAUSIBLE_MPP
from dqm.i18n import Message, msg
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
    another_image: bool = False
    """``unused`` says the annotation describes another image (its declared size or lesions do not
    fit the image): its value is then no claim about this image's, and the manifest's is not held
    to it. False when it was unused for being implausible."""


def misfit(ann: Annotation, size: tuple[int, int], tolerance_px: float = FIT_TOLERANCE_PX) -> Message | None:
    """Why the annotation does not describe an image of ``size`` (its declared size differs, or a
    lesion reaches more than ``tolerance_px`` outside it: the profile's ``geometry.bounds``
    tolerance, as ``LESION_OUT_OF_BOUNDS``), ``None`` when it fits."""
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


def mpp_range(profile: Profile) -> tuple[float, float]:
    """The plausible level-0 resolutions of the profile's ``slide.header`` check (its ``mpp_min``
    and ``mpp_max``, validated with the profile's checks; :data:`dqm.coords.PLAUSIBLE_MPP` by
    default), read here so the item's view decides without the check's module."""
    setting = profile.checks.get("slide.header")
    params = setting.params if setting is not None else {}
    return float(params.get("mpp_min", PLAUSIBLE_MPP[0])), float(params.get("mpp_max", PLAUSIBLE_MPP[1]))


def plausible(mpp: float, mpp_range: tuple[float, float]) -> bool:
    """``mpp`` within the profile's plausible range (``slide.header``'s ``mpp_min``–``mpp_max``)."""
    return mpp_range[0] <= mpp <= mpp_range[1]


def for_probe(
    ann: Annotation | None,
    item: Item,
    profile: Profile,
    mpp_range: tuple[float, float],
    size: tuple[int, int] | None = None,
    tolerance_px: float = FIT_TOLERANCE_PX,
) -> ProbeResolution:
    """The resolution of an image of ``size`` whose header states none: the annotation's declared
    one when plausible and the annotation fits the image, else the manifest's, else the profile's.
    ``size`` ``None``: not known yet (before the probe) or never (``--no-slides``, an image not
    opened): no fit is judged. An implausible declared one is unused (``MPP_IMPLAUSIBLE``,
    ``slide.header``), one that does not fit too (``ANNOTATION_MPP_UNUSED``,
    ``slide.annotation_agrees``), the reason in ``unused``; ``tolerance_px``: how far a lesion may
    reach past the image's edge (:func:`misfit`)."""
    declared = ann.declared_mpp if ann is not None and ann.readable else None
    unused, another = None, False
    if declared is not None and ann is not None:
        if not plausible(declared, mpp_range):
            unused = msg(
                "{mpp:g} µm per pixel is outside the plausible {low:g}–{high:g}",
                mpp=declared,
                low=mpp_range[0],
                high=mpp_range[1],
            )
        else:
            unused = misfit(ann, size, tolerance_px) if size is not None else None
            if unused is None:
                return ProbeResolution(declared, "annotation")
            another = True
    if item.stated_mpp:
        return ProbeResolution(item.stated_mpp, "stated", unused, another)
    if profile.image_mpp:
        return ProbeResolution(profile.image_mpp, "profile", unused, another)
    return ProbeResolution(None, "none", unused, another)


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
