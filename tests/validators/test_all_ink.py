"""An image of one ink colour throughout (all black, all blue, all green) is no section: before
``SLIDE_ALL_INK`` an all-black slide's lesion was said to lie 100 % on pen marks and the slide to be
100 % pen (its "tissue" was the ink), a claim about drawing that no reviewer could act on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dqm.profile import Profile
from dqm.runner import RunOptions, run_batch
from tests.helpers import write_tiny_batch


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
    assert not codes & {"LESION_ON_ARTEFACT", "PEN_MARKS", "NO_TISSUE", "LESION_ON_BACKGROUND"}, codes


@pytest.mark.parametrize("top", [4, 9, 21])
def test_a_dark_frame_with_noise_is_all_ink(tmp_path: Path, profile: Profile, top: int) -> None:
    """Each channel 0 to ``top - 1`` (black to the eye) read partly as black ink, partly as near-black
    tissue: before, only an image of exactly one colour was all ink, and this one was said 86 % black
    pen with its lesion 87 % on pen marks."""
    root = write_tiny_batch(tmp_path / "b")
    pixels = np.random.default_rng(0).integers(0, top, (300, 400, 3)).astype(np.uint8)
    Image.fromarray(pixels).save(root / "slides" / "S1.png")
    codes = _codes(root, profile)["S1"]
    assert "SLIDE_ALL_INK" in codes
    assert not codes & {"LESION_ON_ARTEFACT", "PEN_MARKS", "NO_TISSUE", "LESION_ON_BACKGROUND"}, codes


def test_a_slide_with_tissue_and_a_pen_stroke_is_not_all_ink(tmp_path: Path, profile: Profile) -> None:
    root = write_tiny_batch(tmp_path / "b")
    image = Image.new("RGB", (400, 300), (245, 245, 245))
    image.paste((200, 120, 180), (60, 60, 300, 240))  # tissue
    image.paste((20, 30, 150), (90, 90, 200, 200))  # a blue pen mark under the lesion
    image.save(root / "slides" / "S1.png")
    codes = _codes(root, profile)["S1"]
    assert "SLIDE_ALL_INK" not in codes
    assert "PEN_MARKS" in codes and "LESION_ON_ARTEFACT" in codes
