"""An image of one ink colour throughout (all black, all blue, all green) is no section: before
``SLIDE_ALL_INK`` an all-black slide's lesion was said to lie 100 % on pen marks and the slide to be
100 % pen (its "tissue" was the ink), a claim about drawing that no reviewer could act on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from dqm.pixels.artefacts import measure
from dqm.pixels.ink import all_ink, ink_share
from dqm.profile import CheckSetting, Profile
from dqm.runner import RunOptions, run_batch
from tests.helpers import write_tiny_batch

PIXEL_CLAIMS = {
    "LESION_ON_ARTEFACT",
    "PEN_MARKS",
    "NO_TISSUE",
    "LESION_ON_BACKGROUND",
    "OVERSTAINED",
    "UNDERSTAINED",
    "BLURRED",
    "BACKGROUND_DEBRIS",
    "TISSUE_FOLD",
    "AIR_BUBBLE",
}
"""Every claim about a slide's pixels or its lesions' place: none is said of a slide of ink alone."""


def _codes(root: Path, profile: Profile) -> dict[str, set[str]]:
    run = run_batch(root, profile, RunOptions(workers=1))
    out: dict[str, set[str]] = {}
    for f in run.findings:
        out.setdefault(f.item_id, set()).add(f.code)
    return out


@pytest.mark.parametrize("colour", [(0, 0, 0), (30, 40, 160), (20, 150, 40)])
def test_an_image_of_ink_alone_is_said_unusable_not_drawn_on_pen(
    tmp_path: Path, profile: Profile, colour: tuple[int, int, int]
) -> None:
    root = write_tiny_batch(tmp_path / "b")
    Image.new("RGB", (400, 300), colour).save(root / "slides" / "S1.png")
    codes = _codes(root, profile)["S1"]
    assert "SLIDE_ALL_INK" in codes
    assert not codes & PIXEL_CLAIMS, codes


@pytest.mark.parametrize("top", [4, 9, 21, 30, 40])
def test_a_dark_frame_with_noise_is_all_ink(tmp_path: Path, profile: Profile, top: int) -> None:
    """Each channel 0 to ``top - 1`` (black to the eye) read partly as black ink, partly as near-black
    tissue: before, only an image of exactly one colour was all ink, and this one was said 86 % black
    pen with its lesion 87 % on pen marks. Up to 0-29 it was all ink and still OVERSTAINED (that check
    could not see the judgement); 0-39 and darker noise read as pen (ink 0.985 of it, under 0.99)."""
    root = write_tiny_batch(tmp_path / "b")
    pixels = np.random.default_rng(0).integers(0, top, (300, 400, 3)).astype(np.uint8)
    Image.fromarray(pixels).save(root / "slides" / "S1.png")
    codes = _codes(root, profile)["S1"]
    assert codes & {"SLIDE_ALL_INK"} and not codes & PIXEL_CLAIMS, codes


@pytest.mark.parametrize("colour", [(0, 0, 0), (30, 40, 160), (20, 150, 40)])
def test_ink_with_white_strips_is_all_ink(
    tmp_path: Path, profile: Profile, colour: tuple[int, int, int]
) -> None:
    """White strips at two borders (16 % of the image glass): the ink is still all of what is not
    glass. Before, the tissue had to cover 99 % of the image: it was said 100 % pen, its lesion on
    pen marks (black: also NO_TISSUE and BACKGROUND_DEBRIS)."""
    root = write_tiny_batch(tmp_path / "b")
    pixels = np.full((300, 400, 3), colour, np.uint8)
    pixels[:, :60] = 250
    pixels[:25] = 250
    Image.fromarray(pixels).save(root / "slides" / "S1.png")
    codes = _codes(root, profile)["S1"]
    assert codes & {"SLIDE_ALL_INK"} and not codes & PIXEL_CLAIMS, codes


@pytest.mark.parametrize("colour", [(255, 255, 0), (0, 200, 200), (200, 0, 0)])
def test_an_image_of_one_saturated_colour_is_all_ink_not_overstained(
    tmp_path: Path, profile: Profile, colour: tuple[int, int, int]
) -> None:
    """A colour with a channel near 0 reads as near-black tissue (its darkest channel): before, all
    ink and OVERSTAINED together."""
    root = write_tiny_batch(tmp_path / "b")
    Image.new("RGB", (400, 300), colour).save(root / "slides" / "S1.png")
    codes = _codes(root, profile)["S1"]
    assert codes & {"SLIDE_ALL_INK"} and not codes & PIXEL_CLAIMS, codes


def test_an_all_black_slide_is_said_with_artefacts_slide_disabled(tmp_path: Path, profile: Profile) -> None:
    """The check that says a slide has no tissue says it: before, with ``artefacts.slide`` off, an
    all-black slide got no finding at all."""
    off = profile.model_copy(
        update={"checks": {**profile.checks, "artefacts.slide": CheckSetting(enabled=False)}}
    )
    root = write_tiny_batch(tmp_path / "b")
    Image.new("RGB", (400, 300), (0, 0, 0)).save(root / "slides" / "S1.png")
    assert _codes(root, off)["S1"] == {"SLIDE_ALL_INK"}


def test_a_slide_whose_only_tissue_is_a_black_stroke_is_all_ink(tmp_path: Path, profile: Profile) -> None:
    """Glass and one black pen stroke, no section: one finding. Before, NO_TISSUE, PEN_MARKS and
    BACKGROUND_DEBRIS together (the stroke was the "tissue" of the artefact measure, not of the mask)."""
    root = write_tiny_batch(tmp_path / "b")
    image = Image.new("RGB", (400, 300), (245, 245, 245))
    image.paste((10, 10, 10), (50, 100, 350, 120))
    image.save(root / "slides" / "S1.png")
    assert _codes(root, profile)["S1"] == {"SLIDE_ALL_INK"}


@pytest.mark.parametrize("colour", [(255, 255, 255), (128, 128, 128)])
def test_a_blank_image_is_no_tissue_alone(
    tmp_path: Path, profile: Profile, colour: tuple[int, int, int]
) -> None:
    root = write_tiny_batch(tmp_path / "b")
    Image.new("RGB", (400, 300), colour).save(root / "slides" / "S1.png")
    codes = _codes(root, profile)["S1"]
    assert codes == {"NO_TISSUE"}


def test_the_judgement_is_an_item_fact(tmp_path: Path, profile: Profile) -> None:
    """``items[].slide.all_ink``: the one judgement every check reads (None: nothing measured)."""
    root = write_tiny_batch(tmp_path / "b")
    Image.new("RGB", (400, 300), (0, 0, 0)).save(root / "slides" / "S1.png")
    Image.new("RGB", (400, 300), (255, 255, 255)).save(root / "slides" / "S2.png")
    run = run_batch(root, profile, RunOptions(workers=1))
    facts = {r.summary.slide_id: r.summary.slide for r in run.outcomes}
    assert facts["S1"] is not None and facts["S1"].all_ink is True
    assert facts["S2"] is not None and facts["S2"].all_ink is None
    assert facts["S3"] is not None and facts["S3"].all_ink is False


def test_ink_share_is_of_what_is_not_glass() -> None:
    rgba = np.full((40, 40, 4), 255, np.uint8)
    rgba[:, :20, :3] = 0  # half black ink, half glass
    found = measure(rgba, rgba[..., 0] < 128, (1.0, 1.0))
    assert ink_share(found) == 1.0 and all_ink(found) is True
    assert ink_share(None) is None and all_ink(None) is None


def test_a_slide_with_tissue_and_a_pen_stroke_is_not_all_ink(tmp_path: Path, profile: Profile) -> None:
    root = write_tiny_batch(tmp_path / "b")
    image = Image.new("RGB", (400, 300), (245, 245, 245))
    image.paste((200, 120, 180), (60, 60, 300, 240))  # tissue
    image.paste((20, 30, 150), (90, 90, 200, 200))  # a blue pen mark under the lesion
    image.save(root / "slides" / "S1.png")
    codes = _codes(root, profile)["S1"]
    assert "SLIDE_ALL_INK" not in codes
    assert "PEN_MARKS" in codes and "LESION_ON_ARTEFACT" in codes


def _section_patch(width: int) -> np.ndarray:
    """A stained section's pixels: :func:`tests.pixels.test_stain.synthetic_he`'s tissue."""
    from tests.pixels.test_stain import synthetic_he

    rgba, _ = synthetic_he(side=width * 4 // 3)
    return rgba[: width * 3 // 4, :width, :3]


@pytest.mark.parametrize("black", [0.7, 0.8, 0.9])
def test_a_section_beside_a_black_area_is_not_all_ink(tmp_path: Path, profile: Profile, black: float) -> None:
    """A small biopsy on glass and an unscanned area exported black (60 % or 80 % of the image):
    the black is 0.965 and 0.974 of what is not glass, but a stained section is there. Before, the
    share alone made it SLIDE_ALL_INK and every lesion and artefact check went quiet."""
    root = write_tiny_batch(tmp_path / "b")
    pixels = np.full((300, 400, 3), 240, np.uint8)
    pixels[:, 400 - int(400 * black) :] = 0
    pixels[80:125, 20:80] = _section_patch(60)
    Image.fromarray(pixels).save(root / "slides" / "S1.png")
    codes = _codes(root, profile)["S1"]
    assert "SLIDE_ALL_INK" not in codes and "PEN_MARKS" in codes, codes


@pytest.mark.parametrize("black", [0.8, 0.9, 0.95])
def test_a_small_biopsy_beside_a_black_area_is_not_all_ink(
    tmp_path: Path, profile: Profile, black: float
) -> None:
    """A 40 px biopsy (40 x 30 px) beside 80 %, 90 % or 95 % black: 0.011, 0.009 and 0.008 of what is
    not glass is stained section (the last two under SECTION_MIN), but one connected region of 850 to
    1,040 px with an interior, past SECTION_REGION. Before the region rule, 90 % and 95 % were
    SLIDE_ALL_INK and their pen marks went unsaid; 80 % (over SECTION_MIN) guards the share."""
    root = write_tiny_batch(tmp_path / "b")
    pixels = np.full((300, 400, 3), 240, np.uint8)
    pixels[:, 400 - int(400 * black) :] = 0
    pixels[80:110, 20:60] = _section_patch(40)[:30]
    Image.fromarray(pixels).save(root / "slides" / "S1.png")
    codes = _codes(root, profile)["S1"]
    assert "SLIDE_ALL_INK" not in codes and "PEN_MARKS" in codes, codes


def _small_biopsy(patch: np.ndarray, black: float) -> np.ndarray:
    """A 400 x 300 image: ``patch`` on glass at (20, 80), beside ``black`` of the width black."""
    pixels = np.full((300, 400, 3), 240, np.uint8)
    pixels[:, 400 - int(400 * black) :] = 0
    pixels[80 : 80 + patch.shape[0], 20 : 20 + patch.shape[1]] = patch
    return pixels


@pytest.mark.parametrize("black", [0.9, 0.95])
@pytest.mark.parametrize("side", [24, 28])
def test_a_small_textured_biopsy_beside_a_black_area_is_not_all_ink(
    tmp_path: Path, profile: Profile, side: int, black: float
) -> None:
    """A 24 or 28 px biopsy whose stain a glass-coloured line parts every third pixel (lumens and
    gaps 1 px wide, as a gland section's texture reads at working scale) beside 90 or 95 % black:
    0.0012 to 0.0021 of what is not glass is stained, and no stained pixel lies inside a wholly
    stained 3 x 3 square. With the opening alone the region was 0 and the slide SLIDE_ALL_INK (its
    pen marks unsaid); closed first, its region reads 293 to 496 px."""
    root = write_tiny_batch(tmp_path / "b")
    patch = _section_patch(side)[: side * 3 // 4].copy()
    patch[::3] = 240
    patch[:, ::3] = 240
    Image.fromarray(_small_biopsy(patch, black)).save(root / "slides" / "S1.png")
    codes = _codes(root, profile)["S1"]
    assert "SLIDE_ALL_INK" not in codes and "PEN_MARKS" in codes, codes


@pytest.mark.parametrize("side", [24, 28])
def test_a_small_glas_biopsy_beside_a_black_area_is_not_all_ink(
    tmp_path: Path, profile: Profile, real_data: Path, side: int
) -> None:
    """GlaS ``testA_1`` resized to a 24 or 28 px biopsy beside 95 % black (the second review's
    case): its region read 52 and 63 px with the opening alone (SLIDE_ALL_INK), 275 and 367 closed
    first (about 200 and 270 before any interior was required)."""
    root = write_tiny_batch(tmp_path / "b")
    gland = Image.open(real_data / "segmentation" / "glas" / "images" / "testA_1.png").convert("RGB")
    patch = np.asarray(gland.resize((side, side * 3 // 4)))
    Image.fromarray(_small_biopsy(patch, 0.95)).save(root / "slides" / "S1.png")
    codes = _codes(root, profile)["S1"]
    assert "SLIDE_ALL_INK" not in codes and "PEN_MARKS" in codes, codes


def test_the_section_region_is_the_largest_connected_one() -> None:
    """Two stained patches of 25 and 100 px: the region is the larger, not their sum; scattered
    single stained pixels 4 px apart (gaps of 3 px, which the closing does not fill) and a line
    2 px wide have no interior and are no region."""
    from dqm.pixels.ink import section_region, stained_section

    rgba = np.full((60, 60, 4), 245, np.uint8)  # glass
    rgba[5:10, 5:10, :3] = (200, 120, 180)
    rgba[30:40, 30:40, :3] = (200, 120, 180)
    rgba[48:60:4, 0:60:4, :3] = (200, 120, 180)
    rgba[20:22, 0:60, :3] = (200, 120, 180)
    tissue = rgba[..., 1] < 200
    found = measure(rgba, tissue, (1.0, 1.0))
    assert section_region(stained_section(rgba, tissue, found)) == 100
    assert stained_section(rgba, tissue, None) is None and section_region(None) is None


def _line(im: Image.Image) -> None:
    ImageDraw.Draw(im).line((20, 150, 380, 150), fill=(200, 120, 180), width=1)


def _box(im: Image.Image) -> None:
    ImageDraw.Draw(im).rectangle((100, 80, 300, 220), outline=(220, 150, 200), width=1)


def _frame(im: Image.Image) -> None:
    ImageDraw.Draw(im).rectangle((5, 5, 394, 294), outline=(220, 150, 200), width=1)


def _two_boxes(im: Image.Image) -> None:
    _frame(im)
    _box(im)


@pytest.mark.parametrize(
    ("draw", "noise"),
    [(draw, noise) for draw in (_line, _box, _frame) for noise in (False, True)] + [(_two_boxes, False)],
    ids=[f"{name}-{noise}" for name in ("line", "box", "frame") for noise in (False, True)]
    + ["two-boxes-False"],
)
def test_a_line_in_a_section_colour_across_ink_alone_is_no_section(
    tmp_path: Path, profile: Profile, draw: Callable[[Image.Image], None], noise: bool
) -> None:
    """A 1 px pink line (360 px) or a 1 px light-pink region-of-interest box outline on an all-black
    image or a dark frame with noise (0 to 39): a drawing, not a section. Before, the line was one
    connected stained region of 360 px, past SECTION_REGION, and the slide was said PEN_MARKS and
    LESION_ON_ARTEFACT (OVERSTAINED too on the noise) instead of SLIDE_ALL_INK. A box framing the
    image 5 px in (1,560 px) and two boxes on black had no region after the opening, but their stained
    share (over 0.01, SECTION_MIN) still kept them: the share is now read from the same filtered
    mask. (Two boxes on the noise are 0.954 ink, under ALL_INK: pen marks by the ink share alone.)"""
    root = write_tiny_batch(tmp_path / "b")
    pixels = np.random.default_rng(0).integers(0, 40, (300, 400, 3)) if noise else np.zeros((300, 400, 3))
    im = Image.fromarray(pixels.astype(np.uint8))
    draw(im)
    im.save(root / "slides" / "S1.png")
    codes = _codes(root, profile)["S1"]
    assert "SLIDE_ALL_INK" in codes
    assert not codes & PIXEL_CLAIMS, codes


@pytest.mark.parametrize(("top", "all_of_it"), [(50, True), (60, False), (80, False)])
def test_a_brighter_dark_frame_is_all_ink_up_to_the_documented_limit(
    tmp_path: Path, profile: Profile, top: int, all_of_it: bool
) -> None:
    """Each channel 0 to 49 (black to the eye): 0.966 ink, no pixel as bright as a stained section,
    SLIDE_ALL_INK. 0 to 59 and 0 to 79 read 0.943 and 0.911, under ALL_INK (0.96, kept so that a
    darkened real section, 0.904, stays OVERSTAINED): pen marks, the documented limit."""
    root = write_tiny_batch(tmp_path / "b")
    pixels = np.random.default_rng(0).integers(0, top, (300, 400, 3)).astype(np.uint8)
    Image.fromarray(pixels).save(root / "slides" / "S1.png")
    codes = _codes(root, profile)["S1"]
    assert (
        (codes == {"SLIDE_ALL_INK"}) if all_of_it else ("SLIDE_ALL_INK" not in codes and "PEN_MARKS" in codes)
    ), codes


@pytest.mark.parametrize(
    "disabled",
    [
        (),
        ("slide.lesion_tissue",),
        ("slide.lesion_tissue", "artefacts.slide"),
        ("slide.lesion_tissue", "artefacts.lesion"),
        ("artefacts.slide", "artefacts.lesion"),
    ],
)
def test_an_all_black_slide_is_said_once_whichever_check_is_enabled(
    tmp_path: Path, profile: Profile, disabled: tuple[str, ...]
) -> None:
    """``slide.lesion_tissue`` says it; disabled, ``artefacts.slide``; that too, ``artefacts.lesion``.
    Before, with ``slide.lesion_tissue`` off an all-black slide got no finding."""
    off = profile.model_copy(
        update={"checks": {**profile.checks, **{c: CheckSetting(enabled=False) for c in disabled}}}
    )
    root = write_tiny_batch(tmp_path / "b")
    Image.new("RGB", (400, 300), (0, 0, 0)).save(root / "slides" / "S1.png")
    run = run_batch(root, off, RunOptions(workers=1))
    said = [f for f in run.findings if f.item_id == "S1"]
    assert [f.code for f in said] == ["SLIDE_ALL_INK"], said
    assert said[0].check not in disabled


def test_an_all_black_slide_with_no_annotation_is_said_by_artefacts_lesion_alone(
    tmp_path: Path, profile: Profile
) -> None:
    """With ``slide.lesion_tissue`` and ``artefacts.slide`` off, ``artefacts.lesion`` is the one
    enabled check that reads the slide's pixels: a slide of ink alone is unusable whether or not it
    has an annotation (a negative slide, none drawn), so it says so. Before, it said nothing
    without an annotation, and the slide passed."""
    off = profile.model_copy(
        update={
            "checks": {
                **profile.checks,
                **{c: CheckSetting(enabled=False) for c in ("slide.lesion_tissue", "artefacts.slide")},
            }
        }
    )
    root = write_tiny_batch(tmp_path / "b")
    Image.new("RGB", (400, 300), (0, 0, 0)).save(root / "slides" / "S1.png")
    manifest = root / "manifest.csv"
    manifest.write_text(manifest.read_text().replace("annotations/S1.json", ""))
    (root / "annotations" / "S1.json").unlink()
    run = run_batch(root, off, RunOptions(workers=1))
    said = [f for f in run.findings if f.item_id == "S1" and f.code == "SLIDE_ALL_INK"]
    assert [f.check for f in said] == ["artefacts.lesion"], run.findings


@pytest.mark.parametrize("top", [4, 30])
def test_the_message_reads_whole_in_korean(tmp_path: Path, profile: Profile, top: int) -> None:
    """Each part of the ink's make-up is a msgid (a dark frame reads partly black pen, partly near
    0 in a channel): before, "near 0 in a channel" stayed English."""
    root = write_tiny_batch(tmp_path / "b")
    pixels = np.random.default_rng(0).integers(0, top, (300, 400, 3)).astype(np.uint8)
    Image.fromarray(pixels).save(root / "slides" / "S1.png")
    run = run_batch(root, profile, RunOptions(workers=1))
    (finding,) = [f for f in run.findings if f.code == "SLIDE_ALL_INK"]
    assert "near 0 in a channel" in finding.message.split("(")[1]
    text = finding.text("ko")
    assert "near 0" not in text and "pen " not in text and "0에 가까운 색 " in text, text


def test_an_all_ink_slide_is_not_counted_for_its_fold_scale(tmp_path: Path, profile: Profile) -> None:
    """``artefacts.scale`` counts the slides whose folds were judged at the working image's scale: a
    slide of ink alone had none judged. Before, it was counted (2 of 3)."""
    root = write_tiny_batch(tmp_path / "b")
    Image.new("RGB", (400, 300), (0, 0, 0)).save(root / "slides" / "S1.png")
    run = run_batch(root, profile, RunOptions(workers=1))
    (finding,) = [f for f in run.findings if f.code == "ARTEFACT_SCALE_UNKNOWN"]
    assert finding.message.startswith("1 of 2 "), finding.message


@pytest.mark.parametrize("judged", [True, False])
def test_the_checks_read_the_probes_one_judgement(judged: bool) -> None:
    """The probe judges all ink once (``Artefacts.all_ink``, beside its section region) and every check
    reads that field: before, each of three checks recomputed it from the shares, so a judgement made
    otherwise (a stored probe, a later rule) could disagree with the item record's."""
    import dataclasses

    from dqm.slide_io import SlideProbe
    from validators import REGISTRY
    from validators.registry import CheckContext
    from validators.slide import said_all_ink

    rgba = np.zeros((60, 80, 4), np.uint8)
    rgba[..., 3] = 255
    tissue = np.ones((60, 80), bool)
    found = measure(rgba, tissue, (1.0, 1.0))
    assert all_ink(found) is True  # by the shares: all black
    probe = SlideProbe("S1.png", artefacts=dataclasses.replace(found, all_ink=judged))
    spec = REGISTRY["slide.lesion_tissue"]
    ctx = CheckContext(spec, "S1", {c: spec.severity_of(c) for c in spec.codes}, "default.json")
    said = said_all_ink(probe, ctx)
    assert (said is not None) is judged
    assert said is None or [f.code for f in said] == ["SLIDE_ALL_INK"]


def _flat(colour: tuple[int, int, int], noise: bool, jpeg: bool) -> Image.Image:
    """A 400 x 300 image of ``colour``, with sensor noise (sigma 2) and saved as JPEG (quality 75)."""
    import io

    pixels = np.full((300, 400, 3), colour, float)
    if noise:
        pixels += np.random.default_rng(0).normal(0.0, 2.0, pixels.shape)
    im = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    if not jpeg:
        return im
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=75)
    return Image.open(buf).convert("RGB")


@pytest.mark.parametrize(
    "colour", [(230, 170, 200), (120, 60, 160), (180, 160, 210)], ids=["pink", "violet", "lav"]
)
@pytest.mark.parametrize(("noise", "jpeg"), [(False, False), (True, False), (False, True), (True, True)])
def test_an_image_of_one_flat_colour_is_said_so_and_nothing_else(
    tmp_path: Path, profile: Profile, colour: tuple[int, int, int], noise: bool, jpeg: bool
) -> None:
    """A blank scan of a tinted field, a placeholder image: no section. Before, a uniform pink read
    as pale tissue (UNDERSTAINED), a violet one as a clean section (nothing said), a noisy lavender
    or pink saved as JPEG as tissue its lesion lay off (LESION_ON_BACKGROUND)."""
    root = write_tiny_batch(tmp_path / "b")
    _flat(colour, noise, jpeg).save(root / "slides" / "S1.png")
    assert _codes(root, profile)["S1"] == {"SLIDE_ONE_COLOUR"}


def test_one_flat_colour_is_an_item_fact_said_once_whichever_check_is_enabled(
    tmp_path: Path, profile: Profile
) -> None:
    """``items[].slide.one_colour`` beside ``all_ink``; with ``slide.lesion_tissue`` off, the next
    enabled check that reads the slide's pixels says it, once."""
    root = write_tiny_batch(tmp_path / "b")
    _flat((230, 170, 200), True, True).save(root / "slides" / "S1.png")
    Image.new("RGB", (400, 300), (0, 0, 0)).save(root / "slides" / "S2.png")
    run = run_batch(root, profile, RunOptions(workers=1))
    facts = {r.summary.slide_id: r.summary.slide for r in run.outcomes}
    assert facts["S1"] is not None and facts["S1"].one_colour is True and facts["S1"].all_ink is False
    assert facts["S2"] is not None and facts["S2"].one_colour is False and facts["S2"].all_ink is True
    assert facts["S3"] is not None and facts["S3"].one_colour is False
    off = profile.model_copy(
        update={"checks": {**profile.checks, "slide.lesion_tissue": CheckSetting(enabled=False)}}
    )
    said = [f for f in run_batch(root, off, RunOptions(workers=1)).findings if f.item_id == "S1"]
    assert [f.code for f in said] == ["SLIDE_ONE_COLOUR"], said
    assert said[0].check in {"artefacts.slide", "artefacts.lesion"}


def test_no_real_section_is_one_colour(real_data: Path) -> None:
    """GlaS glands and the skin photograph (the least spread of the real sources' sections reads
    over 20, :data:`dqm.pixels.ink.FLAT_SPREAD` is 6), and darkened x3 (gamma), are sections."""
    from dqm.pixels.ink import FLAT_SPREAD, colour_spread
    from dqm.slide_io import tissue_from_rgba

    for path in (
        real_data / "segmentation" / "glas" / "images" / "testA_1.png",
        real_data / "images" / "Normal_Epidermis_and_Dermis_with_Intradermal_Nevus_10x.jpg",
    ):
        small = Image.open(path).convert("RGBA")
        small.thumbnail((1024, 1024))
        for gamma in (1.0, 3.0):
            rgba = (255 * (np.asarray(small) / 255.0) ** gamma).astype(np.uint8)
            rgba[..., 3] = 255
            mask, _ = tissue_from_rgba(rgba)
            spread = colour_spread(rgba, mask, measure(rgba, mask, (1.0, 1.0)))
            assert spread is not None and spread > 2 * FLAT_SPREAD, (path.name, gamma, spread)


def _hatch(im: Image.Image, gap: int) -> None:
    """Lines 1 px wide, ``gap`` px apart, over a 100 x 60 px square, in a tissue colour (at most 2.5 %
    of the image: the rest is still 96 % ink)."""
    draw = ImageDraw.Draw(im)
    for y in range(80, 140, gap + 1):
        draw.line((100, y, 200, y), fill=(200, 120, 180), width=1)


def _doubled_box(im: Image.Image, gap: int) -> None:
    """Two 1 px box outlines ``gap`` px apart (a region of interest drawn twice)."""
    draw = ImageDraw.Draw(im)
    draw.rectangle((100, 80, 300, 220), outline=(220, 150, 200), width=1)
    draw.rectangle((101 + gap, 81 + gap, 299 - gap, 219 - gap), outline=(220, 150, 200), width=1)


@pytest.mark.parametrize("gap", [1, 2])
@pytest.mark.parametrize("draw", [_hatch, _doubled_box], ids=["hatch", "doubled-box"])
def test_a_hatching_or_a_doubled_outline_on_ink_is_no_section(
    tmp_path: Path, profile: Profile, draw: Callable[[Image.Image, int], None], gap: int
) -> None:
    """Strokes 1 px wide 1 or 2 px apart on an all-black image: a drawing. Before, the 3 x 3 closing
    joined them into a band (the hatched square one region of thousands of px) and the slide was
    said PEN_MARKS, LESION_ON_ARTEFACT instead of SLIDE_ALL_INK; each stroke is now dropped first
    (a 2 x 2 opening), as a single line was."""
    root = write_tiny_batch(tmp_path / "b")
    im = Image.new("RGB", (400, 300), (0, 0, 0))
    draw(im, gap)
    im.save(root / "slides" / "S1.png")
    codes = _codes(root, profile)["S1"]
    assert "SLIDE_ALL_INK" in codes
    assert not codes & PIXEL_CLAIMS, codes


@pytest.mark.parametrize("gap", [1, 2])
@pytest.mark.parametrize("vertical", [False, True], ids=["rows", "columns"])
def test_a_hatching_of_strokes_2_px_wide_on_ink_is_no_section(
    tmp_path: Path, profile: Profile, vertical: bool, gap: int
) -> None:
    """Strokes 2 px wide 1 or 2 px apart on an all-black image: the 2 x 2 opening keeps them and the
    closing welded them into one region of about 5,800 px (PEN_MARKS, LESION_ON_ARTEFACT before);
    0.32 to 0.49 of it is ink, between the strokes (:data:`dqm.pixels.ink.HATCH_INK`)."""
    root = write_tiny_batch(tmp_path / "b")
    im = Image.new("RGB", (400, 300), (0, 0, 0))
    draw = ImageDraw.Draw(im)
    for at in range(80, 140, gap + 2):
        x = at + 40  # columns 120 to 180, rows 80 to 140
        draw.rectangle((x, 80, x + 1, 140) if vertical else (100, at, 200, at + 1), fill=(200, 120, 180))
    im.save(root / "slides" / "S1.png")
    codes = _codes(root, profile)["S1"]
    assert "SLIDE_ALL_INK" in codes
    assert not codes & PIXEL_CLAIMS, codes


@pytest.mark.parametrize(("side", "name"), [(40, "glas"), (60, "skin")])
def test_a_small_section_on_a_flat_tinted_field_is_not_one_colour(
    tmp_path: Path, profile: Profile, real_data: Path, side: int, name: str
) -> None:
    """A real section of 1.3 to 3 % of the image on a flat pink field barely moves the colours' spread
    (5.5 and 5.6, under :data:`dqm.pixels.ink.FLAT_SPREAD`): before, SLIDE_ONE_COLOUR hid its findings;
    its region off the field's colour (over 1,000 px) keeps it a section."""
    sources = {
        "glas": real_data / "segmentation/glas/images/testA_1.png",
        "skin": real_data / "images/Normal_Epidermis_and_Dermis_with_Intradermal_Nevus_10x.jpg",
    }
    with Image.open(sources[name]) as src:
        crop = src.convert("RGB").resize((side, side))
    field = Image.new("RGB", (400, 300), (230, 170, 200))
    field.paste(crop, (150, 100))
    root = write_tiny_batch(tmp_path / "b")
    field.save(root / "slides" / "S1.png")
    codes = _codes(root, profile).get("S1", set())
    assert "SLIDE_ONE_COLOUR" not in codes and "SLIDE_ALL_INK" not in codes, codes


@pytest.mark.parametrize("sigma", [6.0, 8.0])
@pytest.mark.parametrize("colour", [(230, 170, 200), (120, 60, 160)], ids=["pink", "violet"])
def test_a_flat_colour_with_sensor_noise_of_sigma_6_is_one_colour(
    tmp_path: Path, profile: Profile, colour: tuple[int, int, int], sigma: float
) -> None:
    """Sensor noise of sigma 6 or 8 on a flat tint reads a spread of 6 to 8 pixel by pixel: before, such
    a slide read as a clean section (nothing said) or pale tissue; its 3 x 3 means spread about 2 to 3."""
    root = write_tiny_batch(tmp_path / "b")
    pixels = np.full((300, 400, 3), colour, float) + np.random.default_rng(1).normal(
        0.0, sigma, (300, 400, 3)
    )
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(root / "slides" / "S1.png")
    assert _codes(root, profile)["S1"] == {"SLIDE_ONE_COLOUR"}


def _shaded(colour: tuple[int, int, int], depth: float, radial: bool) -> np.ndarray:
    """A 400 x 300 image of ``colour`` under uneven light: ``depth`` levels darker at the far side
    (a shade from one side) or at the corners (a vignette), with sensor noise of sigma 2."""
    yy, xx = np.mgrid[0:300, 0:400]
    fall = ((xx - 200) ** 2 + (yy - 150) ** 2) / 250**2 if radial else xx / 399
    pixels = np.array(colour, float) - depth * fall[..., None]
    pixels += np.random.default_rng(2).normal(0.0, 2.0, pixels.shape)
    return np.clip(pixels, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("radial", [False, True], ids=["side", "vignette"])
@pytest.mark.parametrize("depth", [40.0, 60.0])
def test_a_blank_tinted_slide_under_uneven_light_is_one_colour(
    tmp_path: Path, profile: Profile, depth: float, radial: bool
) -> None:
    """A blank pink slide shaded by 40 or 60 levels (vignetting, light from one side) is no section:
    the tissue mask takes part or all of it, and there the colours spread 8 to 13 about their mean;
    before, it read as pale tissue (UNDERSTAINED, or its lesion off tissue). Read off the image's
    smooth shade it spreads under 1."""
    root = write_tiny_batch(tmp_path / "b")
    Image.fromarray(_shaded((230, 170, 200), depth, radial)).save(root / "slides" / "S1.png")
    assert _codes(root, profile)["S1"] == {"SLIDE_ONE_COLOUR"}


def test_a_small_section_on_a_shaded_noisy_field_is_not_one_colour(real_data: Path) -> None:
    """The review's case under the new reading: GlaS ``testA_1`` as a 40 px section on a pink field
    shaded by 40 levels with sensor noise of sigma 6 still stands off the field's shade (a region of
    over 1,000 px), so it is no flat colour; the field alone is."""
    from dqm.pixels.ink import SECTION_REGION, colour_spread, off_colour_region
    from dqm.slide_io import tissue_from_rgba

    with Image.open(real_data / "segmentation/glas/images/testA_1.png") as src:
        crop = np.asarray(src.convert("RGB").resize((40, 40)))
    field = _shaded((230, 170, 200), 40.0, True).astype(float)
    field += np.random.default_rng(3).normal(0.0, 6.0, field.shape)
    field = np.clip(field, 0, 255).astype(np.uint8)
    with_section = field.copy()
    with_section[100:140, 150:190] = crop
    regions = []
    for pixels in (field, with_section):
        rgba = np.asarray(Image.fromarray(pixels).convert("RGBA"))
        mask, _ = tissue_from_rgba(rgba)
        found = measure(rgba, mask, (1.0, 1.0))
        spread = colour_spread(rgba, mask, found)
        assert spread is not None and spread < 6.0
        regions.append(off_colour_region(rgba, mask, found))
    assert regions[0] is not None and regions[0] < SECTION_REGION
    assert regions[1] is not None and regions[1] > 1000


def test_the_tiny_batch_slide_is_textured_at_any_size() -> None:
    """:func:`tests.helpers.tinted_slide` is not one flat colour at 64 px, at the working size and
    over it (a checkerboard of single pixels read as one colour over 512 px, and as noise on 3 x 3
    means at any size), and the tissue mask takes all of it at the tiny batch's size, as it took the
    flat pink (nearly all where a thumbnail blends the squares' edges)."""
    from dqm.pixels.ink import FLAT_SPREAD, colour_spread
    from dqm.slide_io import tissue_from_rgba
    from tests.helpers import tinted_slide

    for size in ((64, 48), (400, 300), (1024, 768), (2400, 1800)):
        small = tinted_slide(0, size).convert("RGBA")
        small.thumbnail((1024, 1024))
        rgba = np.asarray(small)
        mask, _ = tissue_from_rgba(rgba)
        assert mask.all() if size[0] <= 512 else mask.mean() > 0.9, size
        spread = colour_spread(rgba, mask, measure(rgba, mask, (1.0, 1.0)))
        assert spread is not None and spread > 2 * FLAT_SPREAD, (size, spread)


def _nuclei_black(frac: float, side: int, black: float) -> np.ndarray:
    """GlaS ``testA_1`` whose darkest ``frac`` of pixels (its nuclei first) are made near-black (x
    0.15: an over-stained section), resized to a ``side`` px biopsy beside ``black`` of the width black."""
    import os

    root = Path(os.environ.get("DQM_REAL_DATA", "/work/shared/data/real"))
    with Image.open(root / "segmentation/glas/images/testA_1.png") as src:
        tis = np.asarray(src.convert("RGB").resize((400, 300))).astype(float)
    lum = tis.mean(axis=2)
    tis[lum <= np.quantile(lum, frac)] *= 0.15
    patch = np.asarray(Image.fromarray(tis.astype(np.uint8)).resize((side, side * 3 // 4)))
    return _small_biopsy(patch, black)


@pytest.mark.parametrize("frac", [0.1, 0.2, 0.3])
def test_an_over_stained_biopsy_beside_black_keeps_its_section(real_data: Path, frac: float) -> None:
    """A 60 px GlaS biopsy whose darkest 10, 20 or 30 % is near-black, beside 90 % black (0.976 to
    0.979 of what is not glass is ink): its darkened nuclei break the stained pixels into pieces;
    counted as the section's own where stained pixels enclose them, its region stays over
    SECTION_REGION (at 30 %: 51 px before, all ink; 97 now)."""
    import dataclasses

    from dqm.pixels.ink import SECTION_REGION, section_region, section_share, stained_section
    from dqm.slide_io import tissue_from_rgba

    rgba = np.asarray(Image.fromarray(_nuclei_black(frac, 60, 0.9)).convert("RGBA"))
    mask, _ = tissue_from_rgba(rgba)
    found = measure(rgba, mask, (1.0, 1.0))
    stained = stained_section(rgba, mask, found)
    read = dataclasses.replace(
        found, section=section_share(stained, found), section_region=section_region(stained)
    )
    assert read.section_region is not None and read.section_region >= SECTION_REGION
    assert all_ink(read) is False


def _judged_one_colour(pixels: np.ndarray, mask: np.ndarray | None = None) -> bool | None:
    """The probe's one-colour judgement of ``pixels`` (the tissue mask read from them unless given)."""
    import dataclasses

    from dqm.pixels.ink import colour_spread, off_colour_region, one_colour
    from dqm.slide_io import tissue_from_rgba

    rgba = np.asarray(Image.fromarray(pixels).convert("RGBA"))
    tissue = tissue_from_rgba(rgba)[0] if mask is None else mask
    found = measure(rgba, tissue, (1.0, 1.0))
    return one_colour(
        dataclasses.replace(
            found,
            spread=colour_spread(rgba, tissue, found),
            off_region=off_colour_region(rgba, tissue, found),
        )
    )


@pytest.mark.parametrize(
    ("name", "fade", "blurred"),
    [
        ("testA_1", 0.7, False),
        ("testA_1", 0.8, False),
        ("testA_1", 0.85, False),
        ("testB_5", 0.85, True),
        ("testA_30", 0.85, True),
    ],
)
def test_a_faded_section_is_not_one_colour(real_data: Path, name: str, fade: float, blurred: bool) -> None:
    """A GlaS section blended 70 to 85 % toward white (a faded or under-stained section), or 85 % and
    out of focus (shrunk 4 times and enlarged back), is a section (review of allink5: 3 x 3 means
    soften a faded section's texture at 1 to 3 px, so ``testA_1`` at 85 % read 4.4 and the blurred
    ones 5.7 and 5.9, one colour, where the pixel-by-pixel reading before said 6.3 to 7.1). Read also
    pixel by pixel less what neighbours do not share (sensor noise), they read 5.0 to 6.8."""
    with Image.open(real_data / f"segmentation/glas/images/{name}.png") as src:
        section = np.asarray(src.convert("RGB"), float)
    pale = Image.fromarray(np.clip(section * (1 - fade) + 255 * fade, 0, 255).astype(np.uint8))
    if blurred:
        w, h = pale.size
        pale = pale.resize((w // 4, h // 4)).resize((w, h))
    assert _judged_one_colour(np.asarray(pale)) is False


@pytest.mark.parametrize(
    ("name", "fade", "blurred"),
    [("train_14", 0.85, False), ("testA_1", 0.85, True), ("train_1", 0.9, False)],
)
def test_a_faded_section_whose_nuclei_still_stand_out_is_not_one_colour(
    real_data: Path, name: str, fade: float, blurred: bool
) -> None:
    """A GlaS section blended 85 or 90 % toward white (``testA_1`` also out of focus) spreads 3.3 to
    4.2, under FLAT_SPREAD (one colour, every pixel finding hidden, before session 31), but its
    nuclei and glands stay blobs at the tissue scale: the band-pass texture reads 0.70 to 0.91, where
    noisy tinted blanks read at most 0.47 (:data:`dqm.pixels.ink.TEXTURE_SPREAD`)."""
    with Image.open(real_data / f"segmentation/glas/images/{name}.png") as src:
        section = np.asarray(src.convert("RGB"), float)
    pale = Image.fromarray(np.clip(section * (1 - fade) + 255 * fade, 0, 255).astype(np.uint8))
    if blurred:
        w, h = pale.size
        pale = pale.resize((w // 4, h // 4)).resize((w, h))
    assert _judged_one_colour(np.asarray(pale)) is False


@pytest.mark.parametrize("colour", [(230, 170, 200), (230, 190, 210)])
def test_six_stripes_of_light_on_pink_are_one_colour(colour: tuple[int, int, int]) -> None:
    """Six stripes 20 levels apart on pink (a scanner's line artefact on a blank slide): the tissue
    mask keeps the 3 darker ones and 2 px of the paler beside each, lines of 600 px standing 20 levels
    off the shade, read as a section before session 31; the region is read 2 px in from the mask's
    edge now (:data:`dqm.pixels.ink.RIM`), and the stripes spread 3.8: one colour."""
    xx = np.mgrid[0:300, 0:400][1]
    pixels = np.array(colour, float) - 20 * ((xx // 67) % 2)[..., None]
    assert _judged_one_colour(np.clip(pixels, 0, 255).astype(np.uint8)) is True


def _noisy_blank(kind: str) -> np.ndarray:
    """A blank pink slide (800 x 600) noised one way: white noise of sigma 10, noise of sigma 12
    blurred 1 px (mottled), 30 dark dust specks of 4 px on noise of sigma 2, or a vignette of 80
    levels with noise of sigma 6 saved as JPEG (quality 50)."""
    import io

    rng = np.random.default_rng(7)
    pixels = np.full((600, 800, 3), (230.0, 170.0, 200.0))
    if kind == "noise10":
        pixels += rng.normal(0.0, 10.0, pixels.shape)
    elif kind == "mottled":
        from scipy import ndimage

        pixels += ndimage.gaussian_filter(rng.normal(0.0, 12.0, (600, 800)), 1.0)[..., None]
    elif kind == "dust":
        pixels += rng.normal(0.0, 2.0, pixels.shape)
        for _ in range(30):
            cy, cx = rng.integers(10, 590), rng.integers(10, 790)
            pixels[cy : cy + 4, cx : cx + 4] = 60
    else:
        yy, xx = np.mgrid[0:600, 0:800]
        pixels -= 80 * (((xx - 400) ** 2 + (yy - 300) ** 2) / 500**2)[..., None]
        pixels += rng.normal(0.0, 6.0, pixels.shape)
    out = np.clip(pixels, 0, 255).astype(np.uint8)
    if kind == "vignette-jpeg":
        buf = io.BytesIO()
        Image.fromarray(out).save(buf, format="JPEG", quality=50)
        out = np.asarray(Image.open(buf).convert("RGB"))
    return out


@pytest.mark.parametrize("kind", ["noise10", "mottled", "dust", "vignette-jpeg"])
def test_a_noisy_tinted_blank_stays_one_colour(kind: str) -> None:
    """The blanks nearest a faded section, noised, mottled, dusty or compressed, stay one colour: the
    band-pass texture that keeps faded sections (above) reads them at most 0.47, under
    FLAT_SPREAD / TEXTURE_SPREAD (dust specks are few: the median leaves them out)."""
    assert _judged_one_colour(_noisy_blank(kind)) is True


@pytest.mark.parametrize(
    ("radius", "centres"),
    [
        (6, [(193, 381), (132, 83), (46, 236), (298, 188)]),
        (11, [(9, 398), (139, 51), (61, 260), (258, 301)]),
        (5, [(260, 134), (152, 123), (28, 133), (0, 367), (84, 35)]),
        (6, [(12, 310), (180, 75), (240, 223), (117, 12), (201, 60)]),
    ],
)
def test_a_flat_field_under_a_mask_of_few_small_blobs_is_one_colour(
    radius: int, centres: list[tuple[int, int]]
) -> None:
    """A flat grey with sensor noise of sigma 6 whose tissue mask is 4 or 5 small blobs (review of
    allink5: 8 to 17 samples at every 8th row and column fitted a shade swinging 20 to 40 levels, and
    the field read a spread of 6.7 to 8.6, a section); the shade is fitted on every pixel of so small
    a mask."""
    rng = np.random.default_rng(5)
    pixels = np.full((300, 400, 3), 150.0) + rng.normal(0.0, 6.0, (300, 400, 3))
    yy, xx = np.mgrid[0:300, 0:400]
    mask = np.zeros((300, 400), bool)
    for cy, cx in centres:
        mask |= (yy - cy) ** 2 + (xx - cx) ** 2 <= radius * radius
    assert _judged_one_colour(np.clip(pixels, 0, 255).astype(np.uint8), mask) is True


@pytest.mark.parametrize(("width", "period"), [(1, 3), (1, 4), (2, 4), (2, 6)])
def test_a_cross_hatching_on_ink_is_no_section(
    tmp_path: Path, profile: Profile, width: int, period: int
) -> None:
    """A grid of strokes 1 or 2 px wide in a tissue colour on black (40 x 30 px; review of allink5):
    its closed cells were filled as an over-stained section's darkened nuclei and left out of the
    HATCH_INK count, so the grid read as one section (704 to 1,200 px); the filled pieces count as ink
    there now, and a grid is a third to a half ink."""
    pixels = np.zeros((300, 400, 3), np.uint8)
    yy, xx = np.mgrid[0:30, 0:40]
    lines = ((xx % period) < width) | ((yy % period) < width)
    patch = np.zeros((30, 40, 3), np.uint8)
    patch[lines] = (220, 120, 180)
    pixels[90:120, 120:160] = patch
    root = write_tiny_batch(tmp_path / "b")
    Image.fromarray(pixels).save(root / "slides" / "S1.png")
    codes = _codes(root, profile)["S1"]
    assert "SLIDE_ALL_INK" in codes
    assert not codes & PIXEL_CLAIMS, codes


def _lit(kind: str, depth: float, sigma: float, seed: int = 3) -> np.ndarray:
    """A 400 x 300 blank lavender slide under a sharp change of light: ``depth`` levels darker right of
    a vertical or a diagonal step, or over a band of light 70 or 20 px wide, with sensor noise."""
    yy, xx = np.mgrid[0:300, 0:400]
    where = {
        "step": xx >= 165,
        "diagonal": xx + yy > 350,
        "wide band": (xx >= 150) & (xx < 220),
        "narrow band": (yy >= 100) & (yy < 120),
    }[kind]
    pixels = np.array((225, 215, 225), float) - depth * where[..., None]
    pixels += np.random.default_rng(seed).normal(0.0, sigma, pixels.shape)
    return np.clip(pixels, 0, 255).astype(np.uint8)


@pytest.mark.parametrize(
    ("kind", "depth", "sigma"),
    [("step", 20.0, 2.0), ("diagonal", 40.0, 6.0), ("wide band", 20.0, 6.0), ("narrow band", 40.0, 2.0)],
)
def test_a_blank_slide_under_a_step_or_a_band_of_light_is_one_colour(
    tmp_path: Path, profile: Profile, kind: str, depth: float, sigma: float
) -> None:
    """A blank slide whose light changes sharply (a step, a band) is no section: no surface of degree 2
    follows the change, so off one smooth shade it spread 5 to 12 (a section); read as fields of light,
    each flat off its own shade, it spreads about 1 to 2."""
    root = write_tiny_batch(tmp_path / "b")
    Image.fromarray(_lit(kind, depth, sigma)).save(root / "slides" / "S1.png")
    assert _codes(root, profile)["S1"] == {"SLIDE_ONE_COLOUR"}


@pytest.mark.parametrize("side", [24, 60, 120])
def test_a_section_on_a_field_with_a_step_of_light_is_not_one_colour(real_data: Path, side: int) -> None:
    """GlaS ``testA_1`` as a small section on a blank slide with a step of light stays no flat colour:
    its texture falls into many small pieces at any one level (not a field of light), and it stands
    off the shade of the fields around it."""
    with Image.open(real_data / "segmentation/glas/images/testA_1.png") as src:
        crop = np.asarray(src.convert("RGB").resize((side, side * 3 // 4)))
    pixels = _lit("step", 30.0, 4.0)
    pixels[150 : 150 + side * 3 // 4, 40 : 40 + side] = crop
    assert _judged_one_colour(pixels) is False


@pytest.mark.parametrize(
    ("kind", "depth", "sigma", "side", "x0", "y0"),
    [
        ("step", 20.0, 2.0, 20, 159, 143),
        ("step", 30.0, 4.0, 16, 161, 144),
        ("step", 30.0, 4.0, 40, 149, 135),
        ("step", 40.0, 6.0, 16, 161, 144),
        ("narrow band", 40.0, 2.0, 16, 188, 100),
        ("wide band", 20.0, 6.0, 24, 138, 141),
        ("vignette", 60.0, 4.0, 40, 55, 10),
    ],
)
def test_a_small_section_across_the_seam_of_two_fields_of_light_is_not_one_colour(
    real_data: Path, kind: str, depth: float, sigma: float, side: int, x0: int, y0: int
) -> None:
    """GlaS ``testA_1`` as a 16 to 40 px section lying across a step or the edge of a band of light (or
    a vignette's mid-level ring) stays a section: its pale pixels join the upper field and its dark ones
    the lower, so most of it lies in the seam between the fields; read off its own field's shade, the
    seam's section stands off it (session 30's review: the seams were not read, and the section's
    region fell under 64 px: one colour)."""
    with Image.open(real_data / "segmentation/glas/images/testA_1.png") as src:
        crop = np.asarray(src.convert("RGB").resize((side, side * 3 // 4)))
    if kind == "vignette":
        yy, xx = np.mgrid[0:300, 0:400]
        fall = depth * ((xx - 200) ** 2 + (yy - 150) ** 2) / 250**2
        field = np.array((225, 215, 225), float) - fall[..., None]
        field += np.random.default_rng(3).normal(0.0, sigma, field.shape)
        pixels = np.clip(field, 0, 255).astype(np.uint8)
    else:
        pixels = _lit(kind, depth, sigma)
    pixels[y0 : y0 + side * 3 // 4, x0 : x0 + side] = crop
    assert _judged_one_colour(pixels) is False


@pytest.mark.parametrize("kind", ["halves", "checkerboard"])
def test_an_image_of_a_few_flat_fields_of_colour_is_said_flat_colour(
    tmp_path: Path, profile: Profile, kind: str
) -> None:
    """An image of a few flat fields of colour (pink and lavender halves, a checkerboard of 100 px
    squares 24 levels apart) holds no section either: read as fields of light, each flat (or the
    tissue mask taking one of them), it is ``SLIDE_ONE_COLOUR``, whose message says flat colour, one
    field or a few (not "one flat colour": session 30's review)."""
    yy, xx = np.mgrid[0:300, 0:400]
    lavender, pink = np.array((225, 215, 225), float), np.array((230, 190, 210), float)
    pixels = {
        "halves": np.where((xx >= 200)[..., None], lavender, pink),
        "checkerboard": pink - 24 * ((yy // 100 + xx // 100) % 2)[..., None],
    }[kind]
    root = write_tiny_batch(tmp_path / "b")
    Image.fromarray(pixels.astype(np.uint8)).save(root / "slides" / "S1.png")
    run = run_batch(root, profile, RunOptions(workers=1))
    said = [f for f in run.findings if f.item_id == "S1"]
    assert {f.code for f in said} == {"SLIDE_ONE_COLOUR"}
    assert said[0].message.startswith("the image is flat colour, one field or a few: "), said[0].message


def test_the_shared_spread_reads_every_pair_of_neighbours_inside() -> None:
    """:func:`dqm.pixels.ink._shared_spread` (shifted views, session 30) equals the covariance of every
    pair of neighbours both inside, gathered pair by pair as it was before."""
    from dqm.pixels.ink import _shared_spread

    rng = np.random.default_rng(5)
    off = rng.normal(0.0, 5.0, (40, 50, 3)).astype(np.float32)
    off += np.cumsum(rng.normal(0.0, 1.0, (40, 50, 3)), axis=1).astype(np.float32)  # neighbours share
    inside = rng.random((40, 50)) < 0.7
    a = np.concatenate([off[:, :-1][inside[:, :-1] & inside[:, 1:]], off[:-1][inside[:-1] & inside[1:]]])
    b = np.concatenate([off[:, 1:][inside[:, :-1] & inside[:, 1:]], off[1:][inside[:-1] & inside[1:]]])
    a, b = a.astype(np.float64), b.astype(np.float64)
    expected = np.sqrt(np.maximum((a * b).mean(axis=0) - a.mean(axis=0) * b.mean(axis=0), 0.0)).max()
    assert _shared_spread(off, inside) == pytest.approx(expected, rel=1e-9)
    assert _shared_spread(off, np.eye(40, 50, dtype=bool)) == 0.0  # no two neighbours inside
