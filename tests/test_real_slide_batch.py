"""Real whole-slide files from ../shared/data/real give the findings they should."""

from __future__ import annotations

import shutil
from collections import defaultdict

import pytest

from dqm.runner import RunOptions, run_batch

pytestmark = pytest.mark.wsi


@pytest.fixture(scope="module")
def real_run(real_data, tmp_path_factory, profile):
    batch = tmp_path_factory.mktemp("real") / "batch"
    shutil.copytree(real_data / "slides", batch / "slides")
    run = run_batch(batch, profile, RunOptions(workers=1))
    by = defaultdict(dict)
    for f in run.findings:
        by[f.item_id][f.code] = f
    return run, by


def test_every_real_slide_is_an_item(real_run, real_data):
    run, _ = real_run
    names = {p.name.split(".")[0] for p in (real_data / "slides").iterdir()}
    assert {i.slide_id.split(".")[0] for i in run.discovery.items} == names


def test_label_and_macro_images_are_reported(real_run):
    _, by = real_run
    assert {"LABEL_IMAGE_PRESENT", "MACRO_IMAGE_PRESENT"} <= set(by["CMU-1-Small-Region"])
    assert "MPP_MISSING" not in by["CMU-1-Small-Region"]


def test_missing_mpp_is_reported(real_run):
    _, by = real_run
    assert "MPP_MISSING" in by["tcga-cr-7395-01a-01-ts1"]


def test_unreadable_slide_names_the_failing_region(real_run):
    _, by = real_run
    f = by["unreadable"]["SLIDE_UNREADABLE"]
    assert "Bogus marker length" in f.message and "level 0" in f.message


def test_unopenable_and_corrupt_slides_name_the_reason(real_run):
    _, by = real_run
    assert "Unsupported TIFF compression: 52479" in by["unopenable"]["SLIDE_UNOPENABLE"].message
    assert "recognises" in by["broken"]["SLIDE_UNOPENABLE"].message
    assert {"SLIDE_UNOPENABLE", "SLIDE_UNREADABLE"} & set(by["OS-1-detail"])


def test_healthy_slides_open_without_slide_errors(real_run):
    _, by = real_run
    for sid in ("small", "boxes", "small_HE_levels", "CMU-1-Small-Region"):
        assert not {"SLIDE_UNOPENABLE", "SLIDE_UNREADABLE"} & set(by[sid]), sid
