"""Which level-0 resolution a slide probe is given when its header may state none, and which one
it used: the annotation's declared mpp when it is plausible and the annotation fits the image,
else the manifest's ``mpp``, else the profile's ``image_mpp``.

An annotation's ``MicronsPerPixel`` describes the slide it was drawn on: put beside another image
(a 2048 px JPEG export of a 97,000 px slide) it is ~48 times too fine, and blur and folds judged at
it would be judged at the wrong scale. So the annotation's value is used only where its declared
size (if any) is the image's and its lesions lie within the image (the bounds rule of
``LESION_OUT_OF_BOUNDS``). The image's size is the probe's (a MIRAX slide's too, whose size no
header reader but OpenSlide gives): the probe is given both candidates (:func:`candidates`:
the annotation's value with what judges its fit, :class:`~dqm.slide_io.AnnotationFit`, and the
one to take where it does not fit) and decides inside its one open, once it has read the image's
size and header and before it measures anything in µm (:func:`dqm.slide_io.resolved`): a misfit
costs no second probe. One rule (:func:`for_probe`, ``AnnotationFit.misfit``) decides for the
probe, for the areas in µm² (:attr:`validators.context.ItemView.mpp`) and for the runner's record
of it; where no image's size is known (``dqm validate --annotations-only``, a size not read) no fit is judged and a
plausible declared value is taken.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ValidationError

from dqm.check_params import BoundsParams, HeaderParams
from dqm.i18n import Message, msg
from dqm.model import Annotation, Item
from dqm.profile import Profile
from dqm.slide_io import FIT_TOLERANCE_PX, AnnotationFit, ProbeOptions, SlideProbe, resolved


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


def _param(profile: Profile, name: str, model: type[BaseModel], key: str) -> float:
    """The profile's ``checks.<name>.params.<key>`` as the check's params ``model`` validates it (an
    enabled check's were validated so when the profile was configured and are read as they were),
    else the model's default: where it is not set, and where a disabled check's (not validated)
    would not validate, which must not stop a run."""
    default: float = model.model_fields[key].default
    setting = profile.checks.get(name)
    params = setting.params if setting is not None else {}
    if not isinstance(params, dict) or key not in params:
        return default
    try:
        return float(getattr(model.model_validate({key: params[key]}), key))
    except ValidationError:
        return default


def header_ranges(profile: Profile) -> tuple[tuple[float, float], tuple[float, float]]:
    """The plausible level-0 resolutions and objective powers of the profile's ``slide.header``
    check (``mpp_min``–``mpp_max``, ``objective_min``–``objective_max``; the defaults of
    :class:`~dqm.check_params.HeaderParams` where unset), the one reader for the runner, the probe, the
    item's view, the slide checks and the diversity table (:func:`_param`: as the check validates
    them; a disabled check's that would not validate is its default here)."""

    def read(key: str) -> float:
        return _param(profile, "slide.header", HeaderParams, key)

    return (read("mpp_min"), read("mpp_max")), (read("objective_min"), read("objective_max"))


def fit_tolerance(profile: Profile) -> float:
    """The ``tolerance_px`` of the profile's ``geometry.bounds`` check (:data:`FIT_TOLERANCE_PX` by
    default, :class:`~dqm.check_params.BoundsParams`, and where a disabled check's would not validate: :func:`_param`)."""
    return _param(profile, "geometry.bounds", BoundsParams, "tolerance_px")


def mpp_range(profile: Profile) -> tuple[float, float]:
    """The plausible level-0 resolutions of the profile's ``slide.header`` check
    (:func:`header_ranges`)."""
    return header_ranges(profile)[0]


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
    ``size`` ``None``: not known (``dqm validate --annotations-only``, an image not opened, a size not read): no fit is
    judged. An implausible declared one is unused (``MPP_IMPLAUSIBLE``, ``slide.header``), one that
    does not fit too (``ANNOTATION_MPP_UNUSED``, ``slide.annotation_agrees``), the reason in
    ``unused``; ``tolerance_px``: how far a lesion may reach past the image's edge
    (:meth:`dqm.slide_io.AnnotationFit.misfit`)."""
    otherwise, fit = candidates(ann, item, profile, mpp_range, tolerance_px)
    if fit is None:
        return otherwise
    unused = fit.misfit(size) if size is not None else None
    if unused is None:
        return ProbeResolution(fit.mpp, "annotation")
    return ProbeResolution(otherwise.mpp, otherwise.source, unused, True)


def candidates(
    ann: Annotation | None,
    item: Item,
    profile: Profile,
    mpp_range: tuple[float, float],
    tolerance_px: float = FIT_TOLERANCE_PX,
) -> tuple[ProbeResolution, AnnotationFit | None]:
    """What the probe is given to decide with (:func:`for_probe`'s rule, judged on the size it
    reads): the annotation's plausible declared resolution with its fit data (``None`` where it
    declares none or an implausible one), and the resolution taken where that one does not fit or
    is not there (the manifest's, else the profile's, else none; its ``unused`` says why an
    implausible declared one was not taken)."""
    declared = ann.declared_mpp if ann is not None and ann.readable else None
    fit, unused = None, None
    if declared is not None and ann is not None:
        if plausible(declared, mpp_range):
            fit = AnnotationFit.of(ann, declared, tolerance_px)
        else:
            unused = msg(
                "{mpp:g} µm per pixel is outside the plausible {low:g}–{high:g}",
                mpp=declared,
                low=mpp_range[0],
                high=mpp_range[1],
            )
    if item.stated_mpp:
        return ProbeResolution(item.stated_mpp, "stated", unused), fit
    if profile.image_mpp:
        return ProbeResolution(profile.image_mpp, "profile", unused), fit
    return ProbeResolution(None, "none", unused), fit


def used(probe: SlideProbe, options: ProbeOptions) -> tuple[float | None, str]:
    """The level-0 resolution the probe used and where it came from, as the blur tiles take it:
    the header's, else the one its options gave, else 10 µm over the objective power when that is
    a plausible one (within ``options.objective_range``, the profile's ``slide.header`` range: an
    objective of 200 or 0.5 is no resolution, and would read as 40x or under 10x)."""
    if probe.mpp_x:
        return probe.mpp_x, "header"
    options = resolved(options, probe)
    if options.mpp:
        return options.mpp, options.mpp_source
    power = probe.objective_power
    low, high = options.objective_range
    if power and low <= power <= high:  # NaN compares false
        return 10.0 / power, "objective"
    return None, "none"
