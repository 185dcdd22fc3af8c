"""Artefact checks: a slide's share of pen marks, folds, bubbles, debris and blur (measured by the
slide probe, :mod:`dqm.pixels.artefacts`), lesions drawn over an artefact, and over- and
under-staining judged against the other slides of the slide's institution or batch
(:mod:`dqm.pixels.stain_batch`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from dqm.coords import PLAUSIBLE_MPP
from dqm.findings import Aspect, Finding, Severity, clip
from dqm.i18n import N_, Message, Param, msg
from dqm.identifiers import cut_outside_identifiers
from dqm.order import lot_key
from dqm.pixels.artefacts import (
    FOLD_MIN_MPP,
    FOLD_MIN_SIDE,
    KINDS,
    LESION_KINDS,
    Artefacts,
    fold_blocks,
    plausible,
)
from dqm.pixels.stain import OD_MIN
from dqm.pixels.stain_batch import (
    EXTREME_OD,
    MIN_PEERS,
    STAIN_KINDS,
    GroupVerdict,
    Verdict,
    group_verdict,
    group_verdicts,
    judge,
    nuclei_of,
    od_of,
    reference_groups,
)
from dqm.profile import Profile
from validators.context import BatchView, ItemView
from validators.registry import CheckContext, NoParams, check
from validators.slide import (
    ALL_INK_CODE,
    ITEM_TESTS,
    NO_SECTION_SEVERITY,
    SampleBudget,
    said_all_ink,
    sample_grid,
    sampled_shares,
)

CODES = {
    "pen": "PEN_MARKS",
    "fold": "TISSUE_FOLD",
    "bubble": "AIR_BUBBLE",
    "overstain": "OVERSTAINED",
    "understain": "UNDERSTAINED",
    "debris": "BACKGROUND_DEBRIS",
    "blur": "BLURRED",
}
"""Reason code of each artefact kind."""
WHAT = {
    "pen": "pen marks",
    "fold": "folded or dark tissue",
    "bubble": "air bubbles or coverslip edges",
    "overstain": "over-stained tissue",
    "understain": "under-stained tissue",
    "debris": "debris on the glass",
    "blur": "blurred tissue",
}
SLIDE_KINDS = tuple(k for k in KINDS if k not in STAIN_KINDS)
"""The kinds judged on the slide alone (``artefacts.slide``); staining is judged against the
slide's batch (``artefacts.stain``)."""


class ArtefactParams(BaseModel):
    """Largest share of the tissue each artefact may cover before it is reported (blur: the share
    of the sampled tissue tiles found blurred). Set from the tuning half of
    ``benchmarks/bench_artefacts.py`` (clean GlaS train images and regions of real slides): a
    little over the largest share any clean tuning slide shows (under-staining, near 1 on every
    slide: a little under the smallest share still stained)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    pen: float = Field(0.005, ge=0, le=1, description="Share of the tissue covered by pen marks.")
    fold: float = Field(0.0084, ge=0, le=1, description="Share of the tissue folded or dark.")
    bubble: float = Field(0.005, ge=0, le=1, description="Share of the tissue under air bubbles or edges.")
    overstain: float = Field(
        0.03,
        ge=0,
        le=1,
        description="Share of the tissue over-stained: the absolute rule artefacts.stain applies to a "
        "slide with too few peers to compare with.",
    )
    understain: float = Field(
        0.9986,
        ge=0,
        le=1,
        description="Share of the tissue under-stained: the absolute rule artefacts.stain applies to a "
        "slide with too few peers to compare with.",
    )
    debris: float = Field(0.0051, ge=0, description="Debris area on the glass over the tissue area.")
    blur: float = Field(0.5, ge=0, le=1, description="Share of the sampled tissue tiles that are blurred.")


@check(
    "artefacts.slide",
    aspect=Aspect.IMAGE,
    severity=Severity.WARNING,
    params=ArtefactParams,
    codes={
        **{CODES[k]: f"{WHAT[k]} cover more of the tissue than the profile allows" for k in SLIDE_KINDS},
        "ARTEFACT_NOT_MEASURED": "folds were not measured: the resolution the probe took (the header's, the "
        "annotation's, the manifest's or the objective's) is implausible, or leaves too few pixels at the fold "
        "rules' scale",
        **ALL_INK_CODE,
    },
    code_severity={"ARTEFACT_NOT_MEASURED": Severity.ERROR, **NO_SECTION_SEVERITY},
)
def slide_artefacts(view: ItemView, params: ArtefactParams, ctx: CheckContext) -> list[Finding]:
    """The slide's pen marks, folds, bubbles, debris and blur stay under the profile's shares."""
    probe = view.slide
    found = probe.artefacts if probe is not None else None
    if probe is None or found is None or not found.tissue_px:
        return []
    ink = said_all_ink(probe, ctx)
    if ink is not None:
        return ink  # no artefact is judged on ink alone (said once: slide.lesion_tissue's when enabled)
    out = []
    for kind in SLIDE_KINDS:
        if kind in found.unmeasured:
            out.append(ctx.finding("ARTEFACT_NOT_MEASURED", _not_measured(found), **_where(view, found)))
            continue
        share, limit = found.shares[kind], getattr(params, kind)
        if share <= limit:
            continue
        if kind == "blur" and found.blur is not None:
            text = msg(
                "blurred tissue: {share:.1%} of the tissue ({blurred} of {tiles} tissue tiles at 10x or more), "
                "over the {limit:.1%} allowed",
                share=share,
                blurred=found.blur.blurred,
                tiles=found.blur.tiles,
                limit=limit,
            )
        elif kind == "pen":
            colours = ", ".join(f"{c} {s:.1%}" for c, s in found.pens.items() if s)
            text = msg(
                "pen marks: {share:.1%} of the tissue ({colours}), over the {limit:.1%} allowed",
                share=share,
                colours=colours,
                limit=limit,
            )
        else:
            text = msg(_SLIDE_MESSAGES[kind], share=share, limit=limit)
        out.append(ctx.finding(CODES[kind], text, file=probe.path))
    return out


_SLIDE_MESSAGES = {
    "fold": N_("folded or dark tissue: {share:.1%} of the tissue, over the {limit:.1%} allowed"),
    "bubble": N_("air bubbles or coverslip edges: {share:.1%} of the tissue, over the {limit:.1%} allowed"),
    "debris": N_("debris on the glass: {share:.1%} of the tissue, over the {limit:.1%} allowed"),
    "blur": N_("blurred tissue: {share:.1%} of the tissue, over the {limit:.1%} allowed"),
}
"""The message of an artefact over its share, by kind (pen marks and measured blur say more)."""
_IMPLAUSIBLE = {
    "header": N_(
        "folds not measured: the slide header says {x:g} x {y:g} µm per pixel, outside the plausible "
        "{low:g}–{high:g} (a resolution unit or value is wrong)"
    ),
    "annotation": N_(
        "folds not measured: the annotation declares {x:g} µm per pixel, outside the plausible "
        "{low:g}–{high:g} (a resolution unit or value is wrong)"
    ),
    "stated": N_(
        "folds not measured: the manifest's mpp says {x:g} µm per pixel, "
        "outside the plausible {low:g}–{high:g} (a resolution unit or value is wrong)"
    ),
    "profile": N_(
        "folds not measured: the profile's image_mpp says {x:g} µm per pixel, "
        "outside the plausible {low:g}–{high:g} (a resolution unit or value is wrong)"
    ),
    "objective": N_(
        "folds not measured: the header's objective power gives {x:g} µm per pixel, outside the "
        "plausible {low:g}–{high:g}"
    ),
}
"""The message of folds not measured at an implausible resolution, by where it came from
(:data:`dqm.pixels.artefacts.MPP_SOURCES`)."""


def _where(view: ItemView, found: Artefacts) -> dict[str, str | None]:
    """Where ``ARTEFACT_NOT_MEASURED`` points: the annotation's declared mpp when the probe took
    that implausible resolution from it (the value to correct), else the slide."""
    ann, mpp = view.annotation, found.mpp
    if (
        found.mpp_source == "annotation"
        and ann is not None
        and mpp is not None
        and not plausible(mpp, found.mpp_range)
    ):
        return {"file": ann.path, "pointer": ann.slide_pointer("mpp")}
    return {"file": view.slide.path if view.slide is not None else None}


def _not_measured(found: Artefacts) -> str:
    """Why folds were not measured: the resolution implausible (its source named, and the range it
    was held to: the profile's ``slide.header`` one), or the image too small at the fold rules'
    scale (block-averaged to it, or already coarser)."""
    x, y = found.mpp if found.mpp is not None else (0.0, 0.0)
    low, high = found.mpp_range
    if not plausible((x, y), found.mpp_range):
        source = found.mpp_source if found.mpp_source in _IMPLAUSIBLE else "stated"
        axes = {"x": x, "y": y} if source == "header" else {"x": x}
        return msg(_IMPLAUSIBLE[source], **axes, low=low, high=high)
    if fold_blocks((x, y), found.downsample) == (1, 1):  # judged at the working image's own scale
        dx, dy = found.downsample
        return msg(
            "folds not measured: at {x:.3g} x {y:.3g} µm per pixel (the working image's scale) the "
            "image is under {side} pixels a side",
            x=x * dx,
            y=y * dy,
            side=FOLD_MIN_SIDE,
        )
    return msg(
        "folds not measured: at {x:g} x {y:g} µm per pixel the image, block-averaged to the fold rules' "
        "{scale:g} µm, is under {side} pixels a side",
        x=x,
        y=y,
        scale=FOLD_MIN_MPP,
        side=FOLD_MIN_SIDE,
    )


@check(
    "artefacts.scale",
    aspect=Aspect.IMAGE,
    scope="batch",
    severity=Severity.INFO,
    codes={
        "ARTEFACT_SCALE_UNKNOWN": "slides measured for artefacts with no known resolution: their folds were "
        "judged at the working image's scale (counted once per batch)",
        "ARTEFACT_SCALE_COARSE": "slides measured for artefacts at a resolution coarser than a scanner's "
        "(plausible by the profile's range): their folds were judged at that coarse scale (counted once "
        "per batch)",
    },
)
def unknown_scale(batch: BatchView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """Counts once per batch the slides whose folds were judged without a known or at a coarse resolution.

    The record's ``scale_note`` says so slide by slide."""
    # a slide of ink alone or of one colour had no fold judged (its SLIDE_ALL_INK, SLIDE_ONE_COLOUR): not counted
    slides = [
        f.slide for f in batch.items if f.slide is not None and not f.slide.all_ink and not f.slide.one_colour
    ]
    measured = [s.artefact_scale_unknown for s in slides]
    total = sum(1 for u in measured if u is not None)
    out = []
    coarse = sum(1 for s in slides if s.artefact_scale_coarse)
    if coarse:
        text = msg(
            "{n:,} of {total:,} slides measured for artefacts state a resolution coarser than {high:g} µm "
            "per pixel (plausible by the profile's slide.header range): their folds were judged at that "
            "coarse scale, not at {scale:g} µm per pixel (each slide's artefacts.scale_note gives it)",
            n=coarse,
            total=total,
            high=PLAUSIBLE_MPP[1],
            scale=FOLD_MIN_MPP,
        )
        out.append(ctx.finding("ARTEFACT_SCALE_COARSE", text, item_id="batch", file=batch.manifest))
    unknown = sum(1 for u in measured if u)
    if not unknown:
        return out
    text = msg(
        "{n:,} of {total:,} slides measured for artefacts state no resolution (no header mpp, annotation "
        "mpp, manifest mpp, profile image_mpp or objective power): their folds were judged at the working image's "
        "scale, not at {scale:g} µm per pixel",
        n=unknown,
        total=total,
        scale=FOLD_MIN_MPP,
    )
    return [ctx.finding("ARTEFACT_SCALE_UNKNOWN", text, item_id="batch", file=batch.manifest), *out]


class StainParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    institution_column: str = Field(
        "institution", description="Clinical column naming the institution: a slide's first reference group."
    )
    min_peers: int = Field(
        MIN_PEERS,
        ge=2,
        description="Fewest other measured slides a reference group (the institution, else the batch) "
        "needs; fewer: the absolute shares of artefacts.slide judge the slide.",
    )


@check(
    "artefacts.stain",
    aspect=Aspect.IMAGE,
    scope="batch",
    severity=Severity.WARNING,
    params=StainParams,
    codes={
        "OVERSTAINED": "the slide's tissue is stained far darker than the other slides of its institution "
        "or batch (with too few of them: more near-black tissue than the profile allows)",
        "UNDERSTAINED": "the slide's tissue is stained far paler than the other slides of its institution "
        "or batch (with too few of them: more pale tissue than the profile allows)",
        "OVERSTAINED_GROUP": "an institution's (or the batch's) slides are stained darker as a whole: their "
        "median share of near-black tissue is over what the profile allows for one slide",
        "UNDERSTAINED_GROUP": "an institution's (or the batch's) slides are stained paler as a whole: their "
        "median share of pale tissue is over what the profile allows for one slide",
        "STAIN_NOT_COMPARED": "the batch has too few measured slides to judge under-staining against, and "
        "slides over the pale share one slide may have were not flagged for it (only a tissue far paler "
        "than any clean slide of any measured site is)",
    },
    code_severity={"STAIN_NOT_COMPARED": Severity.INFO},
)
def stain_outliers(batch: BatchView, params: StainParams, ctx: CheckContext) -> list[Finding]:
    """No slide is stained far darker or paler than its institution (or batch), nor a whole group."""
    limits = _slide_params(batch.profile)
    # a slide of ink alone or of one colour (dqm.pixels.ink) has no stain: its SLIDE_ALL_INK, SLIDE_ONE_COLOUR
    slides = [
        f.slide if f.slide is None or not (f.slide.all_ink or f.slide.one_colour) else None
        for f in batch.items
    ]
    institutions, names = group_keys(f.clinical.get(params.institution_column) for f in batch.items)
    ods = [
        od_of(s.stain.od_mean if s.stain is not None else None, s.understain_share) if s is not None else None
        for s in slides
    ]
    # the nuclei's density: the second descriptor a slide is compared on (stain_batch.verdict),
    # left out where coloured pen ink over the profile's pen share raised it (not on a slide past
    # the near-black share one slide may have: there the ink may be the over-staining itself)
    measured_nuclei = [
        getattr(s.stain, "h_p99", None) if s is not None and s.stain is not None else None for s in slides
    ]
    inks = [getattr(s, "colour_pen_share", None) if s is not None else None for s in slides]
    dark = [s.overstain_share if s is not None else None for s in slides]
    nuclei = [
        nuclei_of(h, ink, near_black, limits.pen, limits.overstain)
        for h, ink, near_black in zip(measured_nuclei, inks, dark, strict=True)
    ]
    shares = {
        kind: [getattr(s, f"{kind}_share", None) if s is not None else None for s in slides]
        for kind in STAIN_KINDS
    }
    ref = reference_groups(ods, institutions, params.min_peers)
    # each institution's measured slides: one too small to be its own reference is named with them
    measured = Counter(i for i, k in zip(institutions, ods, strict=True) if i is not None and k is not None)
    whole = [
        g
        for kind in STAIN_KINDS
        for g in group_verdicts(
            kind, shares[kind], ref, institutions, getattr(limits, kind), params.min_peers
        )
    ]
    ids = [f.slide_id for f in batch.items]
    out = [ctx.finding(f"{CODES[g.kind]}_GROUP", _group_message(g, names, ids)) for g in whole]
    # a slide judged against the batch was compared with all of its measured slides
    peers = [g for g in whole if g.group is not None] + [
        g
        for kind in STAIN_KINDS
        if (g := group_verdict(kind, shares[kind], ref[None], None, getattr(limits, kind), params.min_peers))
    ]
    for kind in STAIN_KINDS:
        limit = getattr(limits, kind)
        verdicts = judge(
            kind, shares[kind], ods, institutions, limit, min_peers=params.min_peers, nuclei=nuclei
        )
        # the batch too small, and slides past the pale share left unflagged: said once
        unjudged = sum(
            v.rule == "uncompared" and not v.flagged and (v.share or 0.0) > limit for v in verdicts
        )
        if unjudged:
            out.append(
                ctx.finding(
                    "STAIN_NOT_COMPARED", _uncompared(ref[None].size, params.min_peers, unjudged, limit)
                )
            )
        for k, (facts, verdict) in enumerate(zip(batch.items, verdicts, strict=True)):
            if verdict.flagged:
                inst = institutions[k]
                small = (inst, measured[inst]) if inst is not None and inst not in ref else None
                text = _stain_message(verdict, limit, params.min_peers, names, small)
                if measured_nuclei[k] is not None and nuclei[k] is None:
                    text = _then(text, _INKED_NUCLEI, ink=inks[k], ink_limit=limits.pen)
                odd = _odd_group(verdict, peers)
                if odd is not None:
                    text = _odd_peers(text, odd)
                out.append(ctx.finding(CODES[kind], text, item_id=facts.slide_id, file=facts.image_path))
    return out


def _slide_params(profile: Profile) -> ArtefactParams:
    """``artefacts.slide``'s parameters as the profile sets them (its stain shares: the absolute rule)."""
    setting = profile.checks.get("artefacts.slide")
    return ArtefactParams.model_validate(setting.params if setting is not None else {})


def group_keys(values: Iterable[object]) -> tuple[list[str | None], dict[str, str]]:
    """Each clinical cell as a group's key (:func:`dqm.order.lot_key`: ``SEOUL-A``, ``seoul-a``
    and an NFD spelling are one institution; empty: None), and each key's first spelling."""
    keys: list[str | None] = []
    names: dict[str, str] = {}
    for value in values:
        text = lot_key(str(value)) if value is not None else ""
        keys.append(text or None)
        if text:
            names.setdefault(text, " ".join(str(value).split()))
    return keys, names


INSTITUTION_CHARS = 40
"""An institution's name is echoed cut to this many characters."""

_STAIN_MESSAGES = {
    ("overstain", "institution"): N_(
        "over-stained for its institution {group!r}: mean optical density of its tissue {od:.2f}, where "
        "the median of its {n} other slides is {median:.2f} ({z:.1f} spreads over it)"
    ),
    ("understain", "institution"): N_(
        "under-stained for its institution {group!r}: mean optical density of its tissue {od:.2f}, where "
        "the median of its {n} other slides is {median:.2f} ({z:.1f} spreads under it)"
    ),
    ("overstain", "batch"): N_(
        "over-stained for its batch: mean optical density of its tissue {od:.2f}, where the median of "
        "the {n} other slides is {median:.2f} ({z:.1f} spreads over it)"
    ),
    ("understain", "batch"): N_(
        "under-stained for its batch: mean optical density of its tissue {od:.2f}, where the median of "
        "the {n} other slides is {median:.2f} ({z:.1f} spreads under it)"
    ),
    ("overstain", "institution+nuclei"): N_(
        "over-stained for its institution {group!r}: mean optical density of its tissue {od:.2f} and "
        "density of its nuclei (99th percentile of haematoxylin) {nuclei:.2f}, where the medians of its "
        "{n} other slides are {median:.2f} and {nuclei_median:.2f} (on average {z:.1f} spreads over them)"
    ),
    ("understain", "institution+nuclei"): N_(
        "under-stained for its institution {group!r}: mean optical density of its tissue {od:.2f} and "
        "density of its nuclei (99th percentile of haematoxylin) {nuclei:.2f}, where the medians of its "
        "{n} other slides are {median:.2f} and {nuclei_median:.2f} (on average {z:.1f} spreads under them)"
    ),
    ("overstain", "batch+nuclei"): N_(
        "over-stained for its batch: mean optical density of its tissue {od:.2f} and density of its "
        "nuclei (99th percentile of haematoxylin) {nuclei:.2f}, where the medians of the {n} other slides "
        "are {median:.2f} and {nuclei_median:.2f} (on average {z:.1f} spreads over them)"
    ),
    ("understain", "batch+nuclei"): N_(
        "under-stained for its batch: mean optical density of its tissue {od:.2f} and density of its "
        "nuclei (99th percentile of haematoxylin) {nuclei:.2f}, where the medians of the {n} other slides "
        "are {median:.2f} and {nuclei_median:.2f} (on average {z:.1f} spreads under them)"
    ),
    ("overstain", "batch-institution+nuclei"): N_(
        "over-stained for its batch (its institution {group!r} has {m} measured slide(s), {needed_group} "
        "needed to be compared with its own): mean optical density of its tissue {od:.2f} and density of "
        "its nuclei (99th percentile of haematoxylin) {nuclei:.2f}, where the medians of the {n} other "
        "slides are {median:.2f} and {nuclei_median:.2f} (on average {z:.1f} spreads over them)"
    ),
    ("understain", "batch-institution+nuclei"): N_(
        "under-stained for its batch (its institution {group!r} has {m} measured slide(s), {needed_group} "
        "needed to be compared with its own): mean optical density of its tissue {od:.2f} and density of "
        "its nuclei (99th percentile of haematoxylin) {nuclei:.2f}, where the medians of the {n} other "
        "slides are {median:.2f} and {nuclei_median:.2f} (on average {z:.1f} spreads under them)"
    ),
    ("overstain", "share-institution"): N_(
        "over-stained for its institution {group!r}: {share:.1%} of its tissue near-black, over the "
        "{limit:.1%} allowed, where the median of its {n} other slides is {median:.1%} ({z:.1f} spreads over it)"
    ),
    ("overstain", "share-batch"): N_(
        "over-stained for its batch: {share:.1%} of its tissue near-black, over the {limit:.1%} allowed, "
        "where the median of the {n} other slides is {median:.1%} ({z:.1f} spreads over it)"
    ),
    ("overstain", "batch-institution"): N_(
        "over-stained for its batch (its institution {group!r} has {m} measured slide(s), {needed_group} "
        "needed to be compared with its own): mean optical density of its tissue {od:.2f}, where the "
        "median of the {n} other slides is {median:.2f} ({z:.1f} spreads over it)"
    ),
    ("understain", "batch-institution"): N_(
        "under-stained for its batch (its institution {group!r} has {m} measured slide(s), {needed_group} "
        "needed to be compared with its own): mean optical density of its tissue {od:.2f}, where the "
        "median of the {n} other slides is {median:.2f} ({z:.1f} spreads under it)"
    ),
    ("overstain", "share-batch-institution"): N_(
        "over-stained for its batch (its institution {group!r} has {m} measured slide(s), {needed_group} "
        "needed to be compared with its own): {share:.1%} of its tissue near-black, over the {limit:.1%} "
        "allowed, where the median of the {n} other slides is {median:.1%} ({z:.1f} spreads over it)"
    ),
    ("overstain", "absolute"): N_(
        "over-stained tissue: {share:.1%} of the tissue near-black, over the {limit:.1%} allowed "
        "(the absolute rule: {n} other slides measured in its batch, {needed} needed to compare with)"
    ),
    ("understain", "absolute"): N_(
        "under-stained tissue: {share:.2%} of the tissue paler than any nucleus, over the {limit:.2%} "
        "allowed (the absolute rule: {n} other slides measured in its batch, {needed} needed to compare with)"
    ),
    ("overstain", "small-institution"): N_(
        "over-stained tissue: {share:.1%} of the tissue near-black, over the {limit:.1%} allowed (the "
        "absolute rule: its institution {group!r} is too small to compare as a whole, {m} of its slides "
        "with a share measured, {needed_group} needed)"
    ),
    ("understain", "small-institution"): N_(
        "under-stained tissue: {share:.2%} of the tissue paler than any nucleus, over the {limit:.2%} "
        "allowed (the absolute rule: its institution {group!r} is too small to compare as a whole, {m} of "
        "its slides with a share measured, {needed_group} needed)"
    ),
    ("overstain", "small-batch"): N_(
        "over-stained tissue: {share:.1%} of the tissue near-black, over the {limit:.1%} allowed (the "
        "absolute rule: the {n} other slides of its batch it was compared with are stained darker as a "
        "whole, so it is no outlier among them, and the {m} slides outside the institutions compared, with "
        "a share measured, are too few to judge as a group: {needed_group} needed)"
    ),
    ("understain", "small-batch"): N_(
        "under-stained tissue: {share:.2%} of the tissue paler than any nucleus, over the {limit:.2%} "
        "allowed (the absolute rule: the {n} other slides of its batch it was compared with are stained "
        "paler as a whole, so it is no outlier among them, and the {m} slides outside the institutions "
        "compared, with a share measured, are too few to judge as a group: {needed_group} needed)"
    ),
    ("overstain", "undescribed"): N_(
        "over-stained tissue: {share:.1%} of the tissue near-black, over the {limit:.1%} allowed (the "
        "absolute rule: the slide has no stain descriptors to compare with the {n} slides measured in its "
        "batch or institution)"
    ),
    ("understain", "undescribed"): N_(
        "under-stained tissue: {share:.2%} of the tissue paler than any nucleus, over the {limit:.2%} "
        "allowed (the absolute rule: the slide has no stain descriptors to compare with the {n} slides "
        "measured in its batch or institution)"
    ),
    ("understain", "uncompared"): N_(
        "under-stained tissue: mean optical density of its tissue {od:.2f}, no more than the {od_min:.2f} a "
        "pixel needs to count as stained, and {share:.2%} of it paler than any nucleus (the batch has "
        "{n} other measured slide(s), {needed} needed to compare it with them)"
    ),
    ("overstain", "extreme"): N_(
        "over-stained tissue: {share:.1%} of the tissue near-black, more than any clean slide of any "
        "measured site, whatever the other slides show (a whole institution stained alike also shows "
        "in the batch-effect report)"
    ),
    ("understain", "extreme"): N_(
        "under-stained tissue: mean optical density of its tissue {od:.2f}, paler than any clean slide "
        "of any measured site, whatever the other slides show (a whole institution stained alike also "
        "shows in the batch-effect report)"
    ),
}
"""A stain finding's message by kind and the rule that judged it (``+nuclei``: the slide compared
on its density and its nuclei's, ``stain_batch.MEASURES``; ``undescribed``: the absolute
rule, for a slide with shares but no stain descriptors; ``small-*``: the absolute rule, for a slide
whose institution or batch was too small to judge as a whole). A whole institution or batch stained
darker or paler is no outlier among its own slides: it is reported once (``*_GROUP``,
:func:`_group_message`), and a slide flagged against such peers says so (:func:`_odd_peers`)."""

_STAIN_PARAMS = {
    "institution": ("group", "od", "n", "median", "z"),
    "batch": ("od", "n", "median", "z"),
    "share-institution": ("group", "share", "limit", "n", "median", "z"),
    "share-batch": ("share", "limit", "n", "median", "z"),
    "batch-institution": ("group", "m", "needed_group", "od", "n", "median", "z"),
    "institution+nuclei": ("group", "od", "nuclei", "n", "median", "nuclei_median", "z"),
    "batch+nuclei": ("od", "nuclei", "n", "median", "nuclei_median", "z"),
    "batch-institution+nuclei": (
        "group",
        "m",
        "needed_group",
        "od",
        "nuclei",
        "n",
        "median",
        "nuclei_median",
        "z",
    ),
    "share-batch-institution": ("group", "m", "needed_group", "share", "limit", "n", "median", "z"),
    "absolute": ("share", "limit", "n", "needed"),
    "undescribed": ("share", "limit", "n"),
    "small-institution": ("share", "limit", "group", "m", "needed_group"),
    "small-batch": ("share", "limit", "n", "m", "needed_group"),
    "extreme": ("share", "od"),
    "uncompared": ("od", "od_min", "share", "n", "needed"),
}
"""The values each rule's message names."""


def _stain_message(
    v: Verdict, limit: float, needed: int, names: dict[str, str], small: tuple[str, int] | None = None
) -> Message:
    """The finding's text for verdict ``v``; ``small``: the slide's institution and its measured
    slides when it is too small to be its own reference (a slide judged against the batch then
    names the institution it came from)."""
    z = abs(v.z) if v.z is not None else None
    rule = "undescribed" if v.rule == "absolute" and v.od is None and v.peers >= needed else v.rule
    if v.rule == "share":  # the near-black share against its peers' (dqm.pixels.stain_batch.by_share)
        rule = "share-institution" if v.group is not None else "share-batch"
    if v.group_shares is not None:  # its group too small to judge as a whole (stain_batch.judge)
        rule = "small-institution" if v.group is not None else "small-batch"
    group, m = v.group, v.group_shares
    if small is not None and rule in ("batch", "share-batch"):
        rule, (group, m) = f"{rule}-institution", small
    if v.measure == "density+nuclei":  # compared on its nuclei's density too (stain_batch.verdict)
        rule = f"{rule}+nuclei"
    values = {
        "group": _name(group, names),
        "od": v.od,
        "share": v.share,
        "median": v.median,
        "n": v.peers,
        "z": z,
        "limit": limit,
        "needed": needed,
        "m": m,
        "needed_group": needed + 1,
        "od_min": OD_MIN,
        "nuclei": v.nuclei,
        "nuclei_median": v.nuclei_median,
    }
    text = msg(_STAIN_MESSAGES[(v.kind, rule)], **{k: values[k] for k in _STAIN_PARAMS[rule]})
    if v.measure == "density" and v.nuclei is not None and v.nuclei_median is not None:
        # the nuclei pointed the other way: the mean density judged alone (stain_batch.verdict)
        then = {"nuclei": v.nuclei, "nuclei_median": v.nuclei_median}
        return msg(_JOINED, _first=text.template, _then=_NUCLEI_OTHER_WAY[v.kind], **text.params, **then)
    return text


_UNCOMPARED = N_(
    "under-staining not judged against the other slides: the batch has {n} measured slide(s), {needed} "
    "needed to compare one with the others, and {over} of them have more than the {limit:.2%} of pale "
    "tissue one slide may have, not flagged for it; a slide is under-stained only when its tissue's mean optical "
    "density is under {od:.2f} (paler than any clean slide of any measured site), or at most {od_min:.2f} "
    "with nearly all of it paler than any nucleus. The share of pale tissue alone is near 1 on every "
    "slide of a pale site, so it does not judge a slide without peers"
)
"""Said once of a batch too small for under-staining to be judged against (``stain_batch.verdict``)."""


def _uncompared(n: int, min_peers: int, over: int, limit: float) -> str:
    return msg(_UNCOMPARED, n=n, needed=min_peers + 1, over=over, limit=limit, od=EXTREME_OD, od_min=OD_MIN)


def _name(group: str | None, names: dict[str, str]) -> str:
    """An institution's name as the batch first spells it, cut to :data:`INSTITUTION_CHARS`."""
    return clip(names.get(group, group) if group is not None else "", INSTITUTION_CHARS)


_GROUP_MESSAGES = {
    ("overstain", True): N_(
        "institution {group!r} is stained darker as a whole: the median of its {n} measured slides has "
        "{median:.1%} of the tissue near-black, over the {limit:.1%} one slide may have; {over} of them "
        "pass that absolute rule (a batch effect: its slides are not outliers among each other)"
    ),
    ("understain", True): N_(
        "institution {group!r} is stained paler as a whole: the median of its {n} measured slides has "
        "{median:.2%} of the tissue paler than any nucleus, over the {limit:.2%} one slide may have; "
        "{over} of them pass that absolute rule (a batch effect: its slides are not outliers among each other)"
    ),
    ("overstain", False): N_(
        "the batch is stained darker as a whole: the median of its {n} measured slides has {median:.1%} "
        "of the tissue near-black, over the {limit:.1%} one slide may have; {over} of them pass that "
        "absolute rule (a batch effect: its slides are not outliers among each other)"
    ),
    ("understain", False): N_(
        "the batch is stained paler as a whole: the median of its {n} measured slides has {median:.2%} "
        "of the tissue paler than any nucleus, over the {limit:.2%} one slide may have; {over} of them "
        "pass that absolute rule (a batch effect: its slides are not outliers among each other)"
    ),
}
"""A reference group's finding by kind and whether it is an institution (else the batch)."""

_ODD_PEERS = {
    "overstain": N_(
        "Its peers are themselves stained darker as a whole (their median {peer_median:.1%} near-black, "
        "over the {peer_limit:.1%} allowed): they may be the odd ones, not this slide."
    ),
    "understain": N_(
        "Its peers are themselves stained paler as a whole (their median {peer_median:.2%} of the tissue "
        "pale, over the {peer_limit:.2%} allowed): they may be the odd ones, not this slide."
    ),
}
"""Said of a slide flagged against peers whose own median passes the absolute rule."""


_PASSING = (
    N_("Past that rule: {slides}."),
    N_("Past that rule: {slides} and {more} more."),
)
"""The slides of a group finding past the absolute rule, so that a reviewer can act on them."""
_NUCLEI_OTHER_WAY = {
    "overstain": N_(
        "Its nuclei's density (99th percentile of haematoxylin) {nuclei:.2f} is under its peers' median "
        "{nuclei_median:.2f}: the two measures disagree, and the mean density judged it alone."
    ),
    "understain": N_(
        "Its nuclei's density (99th percentile of haematoxylin) {nuclei:.2f} is over its peers' median "
        "{nuclei_median:.2f}: the two measures disagree, and the mean density judged it alone."
    ),
}
"""What a slide's finding adds when its nuclei's density pointed the other way
(``stain_batch.OTHER_SIDE``: the mean density judged it alone)."""
_JOINED = N_("{_first} {_then}")
"""Two messages as one (``_first``, ``_then``: msgids, each translated whole and filled from the
parameters): a group finding and its slides past the rule (:data:`_PASSING`), a slide's finding
and what its peers are (:data:`_ODD_PEERS`). Text joined as ``str`` would read English in every
language."""
PASSING_NAMED = 10
"""How many of those slides a group finding names at most."""
ID_CHARS = 40
"""Each slide id a group finding names is cut to this many characters (and ``…``), so that the
count of those not named always fits the message."""


def _group_message(g: GroupVerdict, names: dict[str, str], ids: list[str]) -> Message:
    values: dict[str, object] = {"n": g.n, "median": g.median, "limit": g.limit, "over": g.over}
    if g.group is not None:
        values["group"] = _name(g.group, names)
    finding = _GROUP_MESSAGES[(g.kind, g.group is not None)]
    if not g.passing:
        return msg(finding, **values)
    named = ", ".join(repr(_short(ids[k])) for k in g.passing[:PASSING_NAMED])
    more = len(g.passing) - PASSING_NAMED
    passing = _PASSING[1] if more > 0 else _PASSING[0]
    return msg(_JOINED, _first=finding, _then=passing, **values, slides=named, more=more)


def _short(sid: str) -> str:
    """A slide id cut to :data:`ID_CHARS` and ``…``, never inside an identifier the run's mask knows
    (:func:`dqm.identifiers.cut_outside_identifiers`: the mask, applied to the text written, sees
    it whole or not at all); an id is one word, so a cut inside it is kept (``clip`` would drop it).
    The length counted is the id as the message quotes it (``repr``: an invisible or control
    character is six characters there), so ten listed ids always leave room for "and N more"."""
    kept = shown = 0
    for ch in sid:
        shown += len(repr(ch)) - 2
        if shown > ID_CHARS:
            break
        kept += 1
    return sid if kept == len(sid) else sid[: cut_outside_identifiers(sid, kept)] + "…"


def _odd_group(v: Verdict, groups: list[GroupVerdict]) -> GroupVerdict | None:
    """The group a slide flagged against its peers was compared with when that group is stained
    the other way as a whole (a clean slide among dark peers: they may be the odd ones), and not
    also this slide's way; None otherwise (a dark slide among dark peers is darker still)."""
    if v.rule not in ("institution", "batch"):
        return None
    mine = [g for g in groups if g.group == v.group]
    if any(g.kind == v.kind for g in mine):
        return None
    return next((g for g in mine if g.kind != v.kind), None)


def _odd_peers(text: Message, g: GroupVerdict) -> Message:
    """A slide's finding ``text`` and what :data:`_ODD_PEERS` says of its peers ``g``, one message."""
    return _then(text, _ODD_PEERS[g.kind], peer_median=g.median, peer_limit=g.limit)


_INKED_NUCLEI = N_(
    "Its nuclei's density was left out: coloured pen ink covers {ink:.1%} of its tissue, over the "
    "{ink_limit:.1%} pen share allowed, and ink is as dense as a nucleus."
)
"""Said of a slide judged on its mean density alone for its pen ink (:func:`stain_batch.nuclei_of`)."""
_JOINED3 = N_("{_first} {_then} {_last}")
"""Three messages as one, as :data:`_JOINED`: a finding already joined and one more part."""


def _then(text: Message, part: str, **values: Param) -> Message:
    """``text`` and the msgid ``part`` (filled from ``values``) as one message: :data:`_JOINED`,
    or :data:`_JOINED3` where ``text`` is itself two joined (a msgid holding ``{_first}`` would be
    shown as written)."""
    if text.template == _JOINED:
        rest = {k: v for k, v in text.params.items() if k not in ("_first", "_then")}
        first, then = text.params["_first"], text.params["_then"]
        return msg(_JOINED3, _first=first, _then=then, _last=part, **rest, **values)
    return msg(_JOINED, _first=text.template, _then=part, **text.params, **values)


class LesionArtefactParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    max_share: float = Field(
        0.25, ge=0, le=1, description="Share of a lesion's area that may lie on pen, fold, bubble or debris."
    )
    max_samples: int = Field(50_000, ge=100, description="Mask pixels sampled per lesion at most.")
    max_item_tests: int = ITEM_TESTS


@check(
    "artefacts.lesion",
    aspect=Aspect.FORMAT,
    severity=Severity.WARNING,
    params=LesionArtefactParams,
    codes={
        "LESION_ON_ARTEFACT": "a lesion is drawn over a pen mark, fold, air bubble or debris",
        "ARTEFACT_UNMEASURED": "lesions past the slide's sampling budget were not measured for artefacts",
        "LESION_KIND_UNMEASURED": "the slide's folds were not measured (artefacts.slide says why): its "
        "lesions were not checked against them",
        **ALL_INK_CODE,
    },
    code_severity=NO_SECTION_SEVERITY,
)
def lesion_on_artefact(view: ItemView, params: LesionArtefactParams, ctx: CheckContext) -> list[Finding]:
    """Lesions do not lie on pen marks, folds, air bubbles or debris (a labelling problem)."""
    probe, ann = view.slide, view.annotation
    found = probe.artefacts if probe is not None else None
    if probe is None or found is None:
        return []
    ink = said_all_ink(probe, ctx)
    if ink is not None:
        # no lesion lies on "pen" (said once: an earlier enabled check's when there is one); said of a
        # slide with no annotation too, so that a slide of ink alone is said whichever check is enabled
        return ink
    if ann is None:
        return []
    said = []  # only folds go unmeasured (dqm.pixels.artefacts._scale); no tissue: nothing to say
    if (
        found.tissue_px
        and "fold" in found.unmeasured
        and any(g.geometry is not None and g.area for g in ann.lesions)
    ):
        text = msg(
            "lesions not checked against folded or dark tissue: folds were not measured on this slide "
            "(artefacts.slide says why)"
        )
        said.append(ctx.finding("LESION_KIND_UNMEASURED", text, file=ann.path))
    on_artefact = found.mask(*LESION_KINDS)
    if not on_artefact.any():
        return said
    # each kind's mask once for the slide, and each lesion tested once against all of them
    by_kind = {k: found.mask(k) for k in LESION_KINDS}
    kinds = [k for k, m in by_kind.items() if m.any()]
    masks = [on_artefact, *(by_kind[k] for k in kinds)]
    out, budget = [], SampleBudget(params.max_item_tests)
    for lesion in ann.lesions:
        geom = lesion.geometry
        if geom is None or lesion.area == 0 or not lesion.is_valid:
            continue
        grid = sample_grid(on_artefact.shape, found.downsample, geom, params.max_samples)
        if grid is None or not budget.take(grid, geom, found.downsample[1]):
            continue
        total, *shares = sampled_shares(masks, found.downsample, geom, grid)
        if total is None or total <= params.max_share:
            continue
        parts = {k: share for k, share in zip(kinds, shares, strict=True) if share}
        pt = geom.representative_point()
        out.append(
            ctx.finding(
                "LESION_ON_ARTEFACT",
                msg(
                    "lesion {index} ({cls}): {total:.0%} of its area lies on {parts}, over the {limit:.0%} allowed",
                    index=lesion.index,
                    cls=lesion.raw_class,
                    total=total,
                    parts=", ".join(f"{WHAT[k]} {s:.0%}" for k, s in parts.items()),
                    limit=params.max_share,
                ),
                pointer=lesion.pointer + "/geometry",
                lesion=lesion.index,
                xy=(float(pt.x), float(pt.y)),
            )
        )
    if budget.unmeasured:
        over = msg(
            "{n:,} lesions not measured for artefacts: they would take more than {limit:,} "
            "point-in-polygon tests on this slide in all (checks.artefacts.lesion.params.max_item_tests)",
            n=budget.unmeasured,
            limit=budget.limit,
        )
        out.append(ctx.finding("ARTEFACT_UNMEASURED", over, file=ann.path))
    return out + said
