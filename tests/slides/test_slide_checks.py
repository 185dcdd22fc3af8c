"""Slide checks on in-memory probes, the probe's budget and cache, and a clean synthetic batch."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import shapely

from dqm import slide_io
from dqm.findings import Severity
from dqm.model import Annotation, Item, Lesion
from dqm.profile import Profile
from dqm.runner import RunOptions, run_batch, run_item_checks
from dqm.slide_io import (
    ProbeOptions,
    SlideProbe,
    TissueMask,
    probe_slide,
    probe_slide_cached,
    tissue_from_rgba,
    virtual_probe,
)
from validators.context import FileStatus, ItemView
from validators.engine import configure
from validators.slide import sample_grid


def run(profile: Profile, probe, annotation: Annotation | None = None, prefix: str = "slide."):
    item = Item("s", probe.path, None, {}, None)
    view = ItemView(item, profile, annotation, probe, FileStatus(probe.path, True), FileStatus(None, False))
    return [f for f in run_item_checks(view, configure(profile)) if f.check.startswith(prefix)]


def codes(findings) -> list[str]:
    return sorted(f.code for f in findings)


def test_healthy_virtual_slide_passes(profile: Profile) -> None:
    assert run(profile, virtual_probe(compression="jpeg")) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"mpp_x": 352.8, "mpp_y": 352.8}, ["MPP_IMPLAUSIBLE"]),
        ({"mpp_x": 0.05, "mpp_y": 0.05}, ["MPP_IMPLAUSIBLE"]),
        ({"mpp_x": 0.5, "mpp_y": 0.6}, ["MPP_ANISOTROPIC"]),
        ({"objective_power": None, "vendor": "aperio"}, ["OBJECTIVE_POWER_MISSING"]),
        ({"objective_power": None}, []),  # a generic TIFF has no field for it
        ({"objective_power": 400.0}, ["OBJECTIVE_POWER_IMPLAUSIBLE"]),
        ({"objective_power": 40.0, "mpp_x": 1.0, "mpp_y": 1.0}, ["OBJECTIVE_MPP_INCONSISTENT"]),
        (
            {
                "level_count": 3,
                "level_dimensions": ((4096, 3072), (1024, 768), (2048, 1536)),
                "level_downsamples": (1, 4, 2),
            },
            ["LEVELS_INCONSISTENT"],
        ),
        ({"width": 40000, "height": 30000, "level_dimensions": ((40000, 30000),)}, ["NO_PYRAMID"]),
        ({"compression": "other:52479"}, ["CODEC_NOT_ALLOWED"]),
    ],
)
def test_header_findings(profile: Profile, changes: dict, expected: list[str]) -> None:
    found = run(profile, virtual_probe(**{"compression": "jpeg", **changes}))
    assert codes(found) == expected
    assert all(f.location.file == "virtual.tiff" for f in found)


def test_header_severities(profile: Profile) -> None:
    (implausible,) = run(profile, virtual_probe(mpp_x=352.8, mpp_y=352.8))
    (missing,) = run(profile, virtual_probe(objective_power=None, vendor="aperio"))
    assert (implausible.severity, missing.severity) == (Severity.ERROR, Severity.INFO)


def test_mpp_range_and_codecs_come_from_the_profile(profile: Profile) -> None:
    custom = Profile.model_validate(
        {
            **profile.model_dump(exclude={"checks"}),
            "checks": {
                "slide.header": {"params": {"mpp_min": 0.2, "mpp_max": 0.3}},
                "slide.codec": {"params": {"allowed": ["jpeg2000"]}},
            },
        }
    )
    assert codes(run(custom, virtual_probe(compression="jpeg"))) == ["CODEC_NOT_ALLOWED", "MPP_IMPLAUSIBLE"]


def square(x0: float, y0: float, side: float) -> np.ndarray:
    return np.array([[x0, y0], [x0 + side, y0], [x0 + side, y0 + side], [x0, y0 + side]], float)


def annotation(*rings: np.ndarray) -> Annotation:
    lesions = [Lesion.build(i, f"/lesions/{i}", "BCC", "BCC", [[r]]) for i, r in enumerate(rings)]
    return Annotation(path="a.json", format="native", lesions=lesions)


def test_lesion_over_background_is_a_warning_with_its_index(profile: Profile) -> None:
    mask = np.zeros((64, 64), bool)
    mask[:, :32] = True  # tissue on the left half of a 4096 x 4096 slide (64 px per mask pixel)
    probe = virtual_probe(width=4096, height=4096, tissue=TissueMask(mask, (64.0, 64.0), "level 2", 0.1))
    ann = annotation(
        square(100, 100, 500), square(3000, 2000, 600), square(1800, 100, 400), square(3000, 10, 20)
    )
    found = run(profile, probe, ann)
    assert [(f.code, f.location.lesion) for f in found] == [
        ("LESION_ON_BACKGROUND", 1),
        ("LESION_ON_BACKGROUND", 3),
    ]
    assert found[0].severity == Severity.WARNING and "0% of its area" in found[0].message
    assert found[0].location.pointer == "/lesions/1/geometry"


def test_blank_slide_has_no_tissue(profile: Profile) -> None:
    probe = virtual_probe(tissue=TissueMask(np.zeros((8, 8), bool), (512.0, 384.0), "level 0", 0.05))
    assert codes(run(profile, probe, annotation(square(10, 10, 100)))) == ["NO_TISSUE"]


def test_tissue_mask_of_glass_is_empty_and_of_stain_is_full() -> None:
    rng = np.random.default_rng(1)
    glass = np.clip(rng.normal(235, 3, (64, 64, 3)), 0, 255).astype(np.uint8)
    mask, threshold = tissue_from_rgba(glass)
    assert not mask.any() and threshold >= 0.05
    pink = glass.copy()
    pink[16:48, 16:48] = (200, 120, 180)
    mask, _ = tissue_from_rgba(pink)
    assert mask[20:44, 20:44].all() and not mask[:8, :8].any()


def test_saturation_look_up_histogram_equals_numpy() -> None:
    """The tissue mask's look-up saturation histogram is what ``np.histogram`` gives."""
    sat, bins = slide_io._saturation_table()
    pairs = np.arange(1 << 16)
    possible = pairs % 256 <= pairs // 256  # min <= max
    expected, _ = np.histogram(sat[possible], bins=slide_io.OTSU_BINS, range=(0.0, 1.0))
    assert np.array_equal(np.bincount(bins[possible], minlength=slide_io.OTSU_BINS), expected)


@pytest.fixture()
def one_tiff(clean_batch: Path, tmp_path: Path) -> Path:
    src = next((clean_batch / "slides").glob("*.tiff"))
    dst = tmp_path / src.name
    shutil.copy(src, dst)
    return dst


def test_time_budget_skips_steps_and_says_so(profile: Profile, one_tiff: Path) -> None:
    probe = probe_slide(one_tiff, one_tiff.name, ProbeOptions(budget_s=0.0))
    assert probe.opened and "tile sample" in probe.skipped and probe.tissue is None
    (finding,) = run(profile, probe, prefix="slide.time_budget")
    assert finding.code == "SLIDE_TIME_BUDGET" and "tile sample" in finding.message


def test_every_pixel_stage_is_inside_the_budget(profile: Profile, one_tiff: Path, monkeypatch) -> None:
    """A tissue mask that crawls past the budget's CPU time backstop (0.3 s of 0.2 s, well within its
    work) leaves the hash, stain and artefacts unstarted: the slide is a finding naming them and
    the clock that stopped them, and the probe returns at once."""
    import time

    real = slide_io.tissue_from_rgba

    def slow(rgba: np.ndarray) -> tuple[np.ndarray, float]:
        end = time.thread_time() + 0.3
        while time.thread_time() < end:
            pass
        return real(rgba)

    monkeypatch.setattr(slide_io, "tissue_from_rgba", slow)
    probe = probe_slide(one_tiff, one_tiff.name, ProbeOptions(budget_s=0.2))
    assert (
        probe.skipped == ("perceptual hash", "stain descriptors", "artefacts") and probe.budget_clock == "cpu"
    )
    assert probe.tissue is not None and probe.tissue.perceptual_hash is None and probe.tissue.stain is None
    assert probe.artefacts is None and probe.elapsed_s < 0.2 + 0.3 + 0.5
    (finding,) = run(profile, probe, prefix="slide.time_budget")
    assert finding.code == "SLIDE_TIME_BUDGET" and "stain descriptors, artefacts" in finding.message


def test_the_profile_states_the_slide_budget(profile: Profile, one_tiff: Path, monkeypatch) -> None:
    from dqm import runner

    probes: list[SlideProbe] = []
    real = runner.probe_slide_cached
    monkeypatch.setattr(runner, "probe_slide_cached", lambda *a: probes.append(real(*a)) or probes[-1])
    tight = profile.model_copy(update={"limits": profile.limits.model_copy(update={"slide_seconds": 1e-6})})
    item = Item(slide_id="s", image_path=one_tiff.name, annotation_path=None)
    runner.check_item(item, one_tiff.parent, tight, [], runner.RunOptions(workers=1))
    runner.check_item(item, one_tiff.parent, tight, [], runner.RunOptions(workers=1, slide_budget_s=60.0))
    assert [p.budget_s for p in probes] == [1e-6, 60.0]
    assert "tile sample" in probes[0].skipped and not probes[1].skipped


def test_each_slide_is_opened_once(one_tiff: Path, monkeypatch) -> None:
    import openslide

    opened = []
    real = openslide.OpenSlide

    class Counting(real):  # type: ignore[misc, valid-type]
        def __init__(self, filename):
            opened.append(filename)
            super().__init__(filename)

    monkeypatch.setattr(openslide, "OpenSlide", Counting)
    first = probe_slide_cached(one_tiff, one_tiff.name)
    once = len(opened)  # the probe's handle, and dqm.slide_tiles' checking one for JPEG tiles
    second = probe_slide_cached(one_tiff, one_tiff.name)
    assert first is second and 1 <= once <= 2 and len(opened) == once


def test_clean_synthetic_batch_gets_no_slide_tissue_or_deid_warnings(
    clean_batch: Path, profile: Profile
) -> None:
    result = run_batch(clean_batch, profile, RunOptions(workers=1, clinical=False))
    mine = [
        f
        for f in result.findings
        if f.check.startswith(("slide.", "deid.", "format.foreign", "format.lesion_class", "format.coco"))
        or f.check in ("format.unmapped_classes", "file.annotation_xml", "schema.foreign_annotation")
    ]
    assert mine == []


def test_lesions_as_large_as_the_slide_are_measured_within_the_slides_budget(
    profile: Profile, monkeypatch
) -> None:
    # each lesion samples up to max_samples mask pixels: 100,000 lesions the size of the slide
    # held an audit for hours; past the slide's max_item_tests the rest are counted, not measured
    probe = virtual_probe(
        width=4096, height=4096, tissue=TissueMask(np.ones((64, 64), bool), (64.0, 64.0), "level 2", 0.1)
    )
    ann = annotation(*[square(0, 0, 4096) for _ in range(300)])
    grid = sample_grid((64, 64), (64.0, 64.0), ann.lesions[0].geometry, 200_000)
    assert grid is not None and grid.size == 64 * 64
    per_lesion = grid.cost(ann.lesions[0].geometry, 64.0)
    assert per_lesion == 64 * 64 + 64 * 2 * 64  # each centre, and the two sides crossing its row
    checks = {"slide.lesion_tissue": {"params": {"max_item_tests": 100 * per_lesion}}}
    tight = Profile.model_validate({**profile.model_dump(exclude={"checks"}), "checks": checks})
    tested = []
    contains = shapely.contains_xy
    monkeypatch.setattr(
        shapely, "contains_xy", lambda g, x, y: tested.append(np.size(x) * np.size(y)) or contains(g, x, y)
    )
    found = run(tight, probe, ann)
    assert codes(found) == ["TISSUE_UNMEASURED"]
    assert found[0].message.startswith("200 lesions not measured for tissue")
    assert "max_item_tests" in found[0].message and found[0].location.file == "a.json"
    assert len(tested) == 100 and sum(tested) == 100 * 64 * 64
    assert run(profile, probe, ann) == []  # the default budget measures them all


def test_an_outline_zigzagging_across_every_row_is_not_measured(profile: Profile) -> None:
    # GEOS counts, for each centre, every edge crossing its row: 100,000 vertices zigzagging
    # across a 397 x 348 mask took 219 s (1M: killed past 300 s); its cost now counts them first
    probe = virtual_probe(
        width=4096, height=4096, tissue=TissueMask(np.ones((64, 64), bool), (64.0, 64.0), "level 2", 0.1)
    )
    xs = np.linspace(10, 4086, 20_000)
    zigzag = np.column_stack([xs, np.where(np.arange(len(xs)) % 2, 4090.0, 5.0)])
    ring = np.vstack([zigzag, [[4086, 4095], [10, 4095]]])
    found = run(profile, probe, annotation(square(0, 0, 4096), ring))
    assert codes(found) == ["TISSUE_UNMEASURED"] and found[0].message.startswith("1 lesions not measured")
