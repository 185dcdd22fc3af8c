"""The artefact checks: shares against the profile's thresholds, lesions on an artefact, and the
artefact masks shaded on the report's thumbnails."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely
from PIL import Image

from dqm.findings import Severity
from dqm.model import Annotation, Item, ItemRecord, Lesion, ParsedAnnotation
from dqm.profile import Profile
from dqm.runner import run_item_checks, summarise
from dqm.slide_io import ProbeOptions, probe_slide
from dqm.thumbnails import ARTEFACT_COLOURS, thumbnail
from tests.pixels.test_artefacts import fold_band_image, he_image, stroke
from validators.context import FileStatus, ItemView
from validators.engine import configure
from validators.slide import sample_grid


def blue_pen_slide(folder: Path) -> Path:
    img = he_image().astype(np.float32)
    img[stroke(24, [(100, 240), (380, 240)])] *= 0.1 + 0.9 * np.array((40, 90, 210), np.float32) / 255
    path = folder / "pen.png"
    Image.fromarray(img.astype(np.uint8)).save(path)
    return path


def square(x0: float, y0: float, side: float) -> np.ndarray:
    return np.array([[x0, y0], [x0 + side, y0], [x0 + side, y0 + side], [x0, y0 + side]], float)


def annotation(*rings: np.ndarray) -> Annotation:
    lesions = [Lesion.build(i, f"/lesions/{i}", "BCC", "BCC", [[r]]) for i, r in enumerate(rings)]
    return Annotation(path="a.json", format="native", lesions=lesions)


def checked(profile: Profile, probe, ann: Annotation | None = None):
    item = Item("s", probe.path, None, {}, None)
    view = ItemView(item, profile, ann, probe, FileStatus(probe.path, True), FileStatus(None, False))
    return [f for f in run_item_checks(view, configure(profile)) if f.check.startswith("artefacts.")]


def test_pen_marks_are_reported_over_the_profiles_threshold(profile: Profile, tmp_path: Path) -> None:
    probe = probe_slide(blue_pen_slide(tmp_path), "pen.png")
    (found,) = checked(profile, probe)
    assert (found.code, found.severity, found.location.file) == ("PEN_MARKS", Severity.WARNING, "pen.png")
    assert "blue" in found.message
    lenient = Profile.model_validate(
        {**profile.model_dump(exclude={"checks"}), "checks": {"artefacts.slide": {"params": {"pen": 0.5}}}}
    )
    assert checked(lenient, probe) == []


def test_clean_slide_has_no_artefact_finding(profile: Profile, tmp_path: Path) -> None:
    path = tmp_path / "clean.png"
    Image.fromarray(he_image()).save(path)
    probe = probe_slide(
        path, "clean.png", ProbeOptions(mpp=0.5, artefacts_budget_s=60.0)
    )  # unhurried under load
    assert probe.artefacts is not None and probe.artefacts.blur is not None and probe.artefacts.blur.tiles
    assert checked(profile, probe, annotation(square(200, 200, 60))) == []


def test_lesion_on_a_pen_mark(profile: Profile, tmp_path: Path) -> None:
    probe = probe_slide(blue_pen_slide(tmp_path), "pen.png")
    ann = annotation(square(200, 228, 30), square(200, 120, 60))  # the first on the stroke
    found = [f for f in checked(profile, probe, ann) if f.code == "LESION_ON_ARTEFACT"]
    assert [(f.location.lesion, f.location.pointer) for f in found] == [(0, "/lesions/0/geometry")]
    assert "pen marks" in found[0].message and found[0].location.xy is not None


def test_thumbnail_shades_the_reported_artefact(profile: Profile, tmp_path: Path) -> None:
    blue_pen_slide(tmp_path)
    probe = probe_slide(tmp_path / "pen.png", "pen.png")
    item = Item("s", "pen.png", None, {}, None)
    findings = checked(profile, probe)
    record = ItemRecord(
        summary=summarise(item, None, probe, profile, findings),
        findings=findings,
        n_values=0,
        files=["pen.png"],
        clinical_record={},
        record_source=None,
        annotation=ParsedAnnotation.of(annotation(square(200, 120, 60))),
        slide=probe.facts(),
    )
    again = ItemRecord.from_dict(record.to_dict())
    thumb = thumbnail(tmp_path, again, findings, profile)
    assert thumb is not None and thumb.artefacts == {"pen": ARTEFACT_COLOURS["pen"]}
    plain = thumbnail(tmp_path, again, [], profile)
    assert plain is not None and plain.artefacts == {}


def test_lesions_on_a_pen_mark_are_tested_once_each_within_the_slides_budget(
    profile: Profile, tmp_path: Path, monkeypatch
) -> None:
    # a lesion over the share was tested again for each kind (five point-in-polygon passes, each
    # kind's mask rebuilt per lesion); thousands of them the size of the slide held an audit for
    # hours: now one pass each, and past the slide's max_item_tests the rest are counted
    probe = probe_slide(blue_pen_slide(tmp_path), "pen.png")
    ann = annotation(*[square(200, 228, 30) for _ in range(30)])
    tested = []
    contains = shapely.contains_xy
    monkeypatch.setattr(
        shapely, "contains_xy", lambda g, x, y: tested.append(np.size(x) * np.size(y)) or contains(g, x, y)
    )
    found = [f for f in checked(profile, probe, ann) if f.check == "artefacts.lesion"]
    assert [f.location.lesion for f in found] == list(range(30))
    assert len(tested) == 2 * 30  # one pass for its tissue (slide.lesion_tissue), one for artefacts
    assert "pen marks" in found[0].message
    found_on = probe.artefacts
    assert found_on is not None
    geom = ann.lesions[0].geometry
    grid = sample_grid(found_on.flags.shape, found_on.downsample, geom, 50_000)
    assert grid is not None and geom is not None
    checks = {
        "artefacts.lesion": {"params": {"max_item_tests": 10 * grid.cost(geom, found_on.downsample[1])}}
    }
    tight = Profile.model_validate({**profile.model_dump(exclude={"checks"}), "checks": checks})
    found = [f for f in checked(tight, probe, ann) if f.check == "artefacts.lesion"]
    assert [f.code for f in found] == ["LESION_ON_ARTEFACT"] * 10 + ["ARTEFACT_UNMEASURED"]
    assert found[-1].message.startswith("20 lesions not measured for artefacts")
    assert "max_item_tests" in found[-1].message and found[-1].location.file == "a.json"


def test_an_implausible_stated_resolution_is_an_error_not_a_silent_pass(
    profile: Profile, tmp_path: Path
) -> None:
    # the manifest's mpp 0.002 made the patch a 1 µm field: folds and bubbles went unmeasured with
    # an info line only; now folds are not judged at it and that is an error naming the source
    path = tmp_path / "patch.png"
    Image.fromarray(fold_band_image()).save(path)
    unknown = [f.code for f in checked(profile, probe_slide(path, "patch.png"))]
    assert "TISSUE_FOLD" in unknown and "ARTEFACT_NOT_MEASURED" not in unknown
    probe = probe_slide(path, "patch.png", ProbeOptions(mpp=0.002))
    found = checked(profile, probe, annotation(square(200, 200, 60)))
    codes = [f.code for f in found]
    assert "TISSUE_FOLD" not in codes and codes.count("ARTEFACT_NOT_MEASURED") == 1
    said = next(f for f in found if f.code == "ARTEFACT_NOT_MEASURED")
    assert said.severity == Severity.ERROR and said.message.startswith(
        "folds not measured: the manifest's mpp"
    )
    assert "0.002 µm per pixel, outside the plausible 0.1–2" in said.message
    # a lesion check on folds not measured says so
    blind = next(f for f in found if f.code == "LESION_KIND_UNMEASURED")
    assert "folded or dark tissue" in blind.message and blind.location.file == "a.json"
    # a plausible resolution, however fine: judged, no such finding
    fine = [f.code for f in checked(profile, probe_slide(path, "patch.png", ProbeOptions(mpp=0.3)))]
    assert "ARTEFACT_NOT_MEASURED" not in fine and "TISSUE_FOLD" in fine


def _scale_check(profile: Profile, tmp_path: Path, options: list[ProbeOptions]):
    """``artefacts.scale`` on a batch of the fold patch probed with each of ``options``, a slide
    not read besides; the check run on all of them, and on the last only."""
    from validators import REGISTRY
    from validators.context import BatchView, ItemFacts
    from validators.registry import CheckContext

    path = tmp_path / "patch.png"
    Image.fromarray(fold_band_image()).save(path)
    items = []
    for k, opts in enumerate(options):
        probe = probe_slide(path, "patch.png", opts)
        summary = summarise(Item(f"s{k}", "patch.png", None, {}, None), None, probe, profile, [])
        items.append(ItemFacts(f"s{k}", 1, "patch.png", None, slide=summary.slide))
    items.append(ItemFacts("gone", 2, "gone.png", None))  # no slide: not counted
    spec = REGISTRY["artefacts.scale"]
    cfg = {c.id: c for c in configure(profile)}["artefacts.scale"]
    ctx = CheckContext(spec, "batch", cfg.severities, "manifest.csv")
    run = spec.func
    return run(BatchView(profile, items, "manifest.csv"), cfg.params, ctx), run(
        BatchView(profile, items[-2:], "manifest.csv"), cfg.params, ctx
    )


def test_slides_judged_without_a_resolution_are_counted_once_per_batch(
    profile: Profile, tmp_path: Path
) -> None:
    # the probe kept "resolution unknown" in the record alone: now the batch says how many
    ((found,), last) = _scale_check(
        profile, tmp_path, [ProbeOptions(), ProbeOptions(), ProbeOptions(mpp=0.5)]
    )
    assert (found.code, found.severity, found.item_id) == ("ARTEFACT_SCALE_UNKNOWN", Severity.INFO, "batch")
    assert found.message.startswith("2 of 3 slides measured for artefacts state no resolution")
    assert last == []


def test_slides_judged_at_a_coarse_resolution_are_counted_once_per_batch(
    profile: Profile, tmp_path: Path
) -> None:
    # 3 µm, plausible by the profile's range: the scale note was in the record alone
    options = [ProbeOptions(mpp=mpp, mpp_range=(0.1, 5.0)) for mpp in (3.0, 3.0, 0.5)]
    ((found,), last) = _scale_check(profile, tmp_path, options)
    assert (found.code, found.severity, found.item_id) == ("ARTEFACT_SCALE_COARSE", Severity.INFO, "batch")
    assert found.message.startswith(
        "2 of 3 slides measured for artefacts state a resolution coarser than 2 µm"
    )
    assert last == []


def test_the_resolution_taken_and_its_source_are_named() -> None:
    # the header's mpp-y is read for the rows; the message names where an implausible one came from
    from types import SimpleNamespace

    from dqm.budget import Budget
    from dqm.pixels.artefacts import measure
    from dqm.slide_io import _level0_mpp, _Pixels, tissue_from_rgba
    from validators.artefacts import _not_measured

    def taken(mpp_x, mpp_y, stated):
        probe = SimpleNamespace(mpp_x=mpp_x, mpp_y=mpp_y)
        return _level0_mpp(probe, _Pixels(ProbeOptions(mpp=stated), Budget(1.0), None))  # type: ignore[arg-type]

    assert taken(0.25, 0.5, 0.3) == ((0.25, 0.5), "header")
    assert taken(0.25, None, 0.3) == ((0.25, 0.25), "header")
    assert taken(None, None, 0.3) == ((0.3, 0.3), "stated")
    assert taken(None, None, None) == (None, "")
    img = fold_band_image()
    found = measure(img, tissue_from_rgba(img)[0], (1.0, 1.0), mpp=(0.25, 5.0), mpp_source="header")
    assert _not_measured(found).startswith("folds not measured: the slide header says 0.25 x 5 µm per pixel")


def test_a_slide_without_tissue_is_not_told_artefacts_slide_says_why(
    profile: Profile, tmp_path: Path
) -> None:
    # folds not measured (implausible mpp) on blank glass: artefacts.slide says nothing (no tissue),
    # so artefacts.lesion does not point to it
    path = tmp_path / "glass.png"
    Image.fromarray(np.full((300, 300, 3), 245, np.uint8)).save(path)
    probe = probe_slide(path, "glass.png", ProbeOptions(mpp=0.002))
    assert probe.artefacts is not None and probe.artefacts.tissue_px == 0 and probe.artefacts.unmeasured
    found = checked(profile, probe, annotation(square(100, 100, 60)))
    assert [f.code for f in found] == []


def test_the_profiles_header_range_holds_the_fold_measure(profile: Profile, tmp_path: Path) -> None:
    from dqm.probe_mpp import header_ranges

    path = tmp_path / "patch.png"
    Image.fromarray(fold_band_image()).save(path)
    checks = {"slide.header": {"params": {"mpp_max": 5.0}}}
    wide = Profile.model_validate({**profile.model_dump(exclude={"checks"}), "checks": checks})
    mpp_range, objective_range = header_ranges(wide)
    assert mpp_range == (0.1, 5.0) and objective_range == (1.0, 100.0)
    # 3 µm: plausible for this profile, judged (at that coarse scale, and the record says so)
    probe = probe_slide(path, "patch.png", ProbeOptions(mpp=3.0, mpp_range=mpp_range))
    assert probe.artefacts is not None and not probe.artefacts.unmeasured
    assert "coarser than 2: folds judged at 3 µm" in probe.artefacts.scale_note
    assert "ARTEFACT_NOT_MEASURED" not in [f.code for f in checked(wide, probe)]
    # 8 µm: outside it, and the error cites the profile's range, not the default one
    probe = probe_slide(path, "patch.png", ProbeOptions(mpp=8.0, mpp_range=mpp_range))
    (said,) = [f for f in checked(wide, probe) if f.code == "ARTEFACT_NOT_MEASURED"]
    assert "outside the plausible 0.1–5" in said.message


def test_a_4x_objectives_resolution_is_judged_not_called_implausible() -> None:
    from dqm.pixels.artefacts import measure
    from dqm.slide_io import plausible_mpp, tissue_from_rgba

    img = fold_band_image()
    bounds = plausible_mpp("objective", ProbeOptions())
    assert bounds == (0.1, 10.0)  # slide.header's 1x-100x
    found = measure(
        img, tissue_from_rgba(img)[0], (1.0, 1.0), mpp=(2.5, 2.5), mpp_source="objective", mpp_range=bounds
    )
    assert not found.unmeasured and found.scale_mpp == 2.5 and "folds judged at 2.5 µm" in found.scale_note
    # a header's 2.5 µm is still held to the header's range (0.1-2 by default)
    found = measure(img, tissue_from_rgba(img)[0], (1.0, 1.0), mpp=(2.5, 2.5), mpp_source="header")
    assert "fold" in found.unmeasured


def test_an_image_too_small_is_not_said_to_be_block_averaged() -> None:
    from dqm.pixels.artefacts import measure
    from dqm.slide_io import tissue_from_rgba
    from validators.artefacts import _not_measured

    img = fold_band_image()[:15, :15].copy()
    found = measure(img, tissue_from_rgba(img)[0], (1.0, 1.0), mpp=(1.5, 1.5), mpp_source="header")
    assert "block-averaged" not in found.unmeasured["fold"] and "15 x 15 pixels" in found.unmeasured["fold"]
    text = _not_measured(found)
    assert "block-averaged" not in text and "under 16 pixels a side" in text
    # at 0.5 µm the image is averaged: still said so
    found = measure(img, tissue_from_rgba(img)[0], (1.0, 1.0), mpp=(0.5, 0.5), mpp_source="header")
    assert "block-averaged to 1.2 µm" in found.unmeasured["fold"] and "block-averaged" in _not_measured(found)
    # at 4x downsample the working image is at 2 µm, past the fold rules' scale: that is the scale said
    found = measure(img, tissue_from_rgba(img)[0], (4.0, 4.0), mpp=(0.5, 0.5), mpp_source="header")
    text = _not_measured(found)
    assert "at 2 x 2 µm per pixel (the working image's scale)" in text and "0.5 x 0.5" not in text
