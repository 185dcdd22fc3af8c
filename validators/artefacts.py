"""Artefact checks: a slide's share of pen marks, folds, bubbles, mis-staining, debris and blur
(measured by the slide probe, :mod:`dqm.pixels.artefacts`), and lesions drawn over an artefact."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from dqm.findings import Aspect, Finding, Severity
from dqm.i18n import N_, msg
from dqm.pixels.artefacts import KINDS, LESION_KINDS, MIN_FIELD_UM
from validators.context import ItemView
from validators.registry import CheckContext, check
from validators.slide import ITEM_TESTS, SampleBudget, sample_grid, sampled_shares

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
    overstain: float = Field(0.03, ge=0, le=1, description="Share of the tissue over-stained.")
    understain: float = Field(0.9986, ge=0, le=1, description="Share of the tissue under-stained.")
    debris: float = Field(0.0051, ge=0, description="Debris area on the glass over the tissue area.")
    blur: float = Field(0.5, ge=0, le=1, description="Share of the sampled tissue tiles that are blurred.")


@check(
    "artefacts.slide",
    aspect=Aspect.IMAGE,
    severity=Severity.WARNING,
    params=ArtefactParams,
    codes={
        **{CODES[k]: f"{WHAT[k]} cover more of the tissue than the profile allows" for k in KINDS},
        "ARTEFACT_NOT_MEASURED": "the slide's field of view is too small for a kind of artefact to show",
    },
    code_severity={"ARTEFACT_NOT_MEASURED": Severity.INFO},
)
def slide_artefacts(view: ItemView, params: ArtefactParams, ctx: CheckContext) -> list[Finding]:
    """The slide's pen marks, folds, bubbles, mis-staining, debris and blur stay under the profile's shares."""
    probe = view.slide
    found = probe.artefacts if probe is not None else None
    if probe is None or found is None or not found.tissue_px:
        return []
    out = []
    for kind in KINDS:
        if kind in found.unmeasured and found.field_um is not None:
            text = msg(_NOT_MEASURED[kind], field=found.field_um, need=MIN_FIELD_UM[kind])
            out.append(ctx.finding("ARTEFACT_NOT_MEASURED", text, file=probe.path))
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
    "overstain": N_("over-stained tissue: {share:.1%} of the tissue, over the {limit:.1%} allowed"),
    "understain": N_("under-stained tissue: {share:.1%} of the tissue, over the {limit:.1%} allowed"),
    "debris": N_("debris on the glass: {share:.1%} of the tissue, over the {limit:.1%} allowed"),
    "blur": N_("blurred tissue: {share:.1%} of the tissue, over the {limit:.1%} allowed"),
}
"""The message of an artefact over its share, by kind (pen marks and measured blur say more)."""
_NOT_MEASURED = {
    "fold": N_("folds not measured: the image shows {field:.0f} µm, under the {need:.0f} µm a fold needs"),
    "bubble": N_(
        "air bubbles and coverslip edges not measured: the image shows {field:.0f} µm, under the "
        "{need:.0f} µm a bubble's rim needs"
    ),
}
"""The message of a kind not measured (the field of view too small for it)."""


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
    },
)
def lesion_on_artefact(view: ItemView, params: LesionArtefactParams, ctx: CheckContext) -> list[Finding]:
    """Lesions do not lie on pen marks, folds, air bubbles or debris (a labelling problem)."""
    probe, ann = view.slide, view.annotation
    found = probe.artefacts if probe is not None else None
    if probe is None or found is None or ann is None:
        return []
    on_artefact = found.mask(*LESION_KINDS)
    if not on_artefact.any():
        return []
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
        said = msg(
            "{n:,} lesions not measured for artefacts: they would take more than {limit:,} "
            "point-in-polygon tests on this slide in all (checks.artefacts.lesion.params.max_item_tests)",
            n=budget.unmeasured,
            limit=budget.limit,
        )
        out.append(ctx.finding("ARTEFACT_UNMEASURED", said, file=ann.path))
    return out
