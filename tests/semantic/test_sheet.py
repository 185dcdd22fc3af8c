"""The review sheet's data: bounded thumbnails of real slides, outlines in thumbnail pixels, errors as text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dqm.model import ItemRecord, LesionOutline, ParsedAnnotation
from dqm.profile import Profile
from dqm.results import ItemSummary
from dqm.semantic.sheet import data_uri, ring_path, slide_entry


def rec(summary: ItemSummary, annotation: ParsedAnnotation | None = None) -> ItemRecord:
    return ItemRecord(summary, [], 0, [], {}, None, annotation=annotation)


@pytest.mark.wsi
def test_a_real_slide_in_the_sheet_stays_small(real_data: Path, profile: Profile) -> None:
    item = ItemSummary(slide_id="CMU-1", image_path="slides/CMU-1-Small-Region.svs", diagnosis="BCC")
    entry = slide_entry(real_data, rec(item), "BCC / x", profile, thumb_size=640, quality=70)
    assert entry["image_error"] is None and entry["image"].startswith("data:image/jpeg;base64,")
    assert max(entry["width"], entry["height"]) == 640
    assert len(entry["image"]) < 120_000  # a bounded thumbnail, whatever the slide's size


def test_missing_or_broken_slides_become_text(tmp_path: Path, profile: Profile) -> None:
    (tmp_path / "bad.svs").write_bytes(b"not a slide at all")
    missing = slide_entry(
        tmp_path, rec(ItemSummary(slide_id="a", image_path="gone.svs")), "s", profile, 128, 70
    )
    assert "not found" in missing["image_error"] and missing["image"] is None
    broken = slide_entry(
        tmp_path, rec(ItemSummary(slide_id="b", image_path="bad.svs")), "s", profile, 128, 70
    )
    assert "cannot be read" in broken["image_error"] and str(tmp_path) not in broken["image_error"]
    outside = slide_entry(
        tmp_path, rec(ItemSummary(slide_id="c", image_path="../../etc/passwd")), "s", profile, 128, 70
    )
    assert "not found" in outside["image_error"]


def test_a_slide_linked_out_of_the_batch_is_not_read(tmp_path: Path, profile: Profile) -> None:
    """The former code followed the link: the outside image was the sheet's thumbnail."""
    from PIL import Image

    (tmp_path / "batch").mkdir()
    Image.new("RGB", (64, 48), (10, 200, 240)).save(tmp_path / "other.png")
    (tmp_path / "batch" / "s.png").symlink_to(tmp_path / "other.png")
    entry = slide_entry(
        tmp_path / "batch", rec(ItemSummary(slide_id="s", image_path="s.png")), "s", profile, 128, 70
    )
    assert entry["image"] is None and "outside the batch" in entry["image_error"]


def test_outlines_and_counts_come_from_the_records_annotation(tmp_path: Path, profile: Profile) -> None:
    """No annotation file is read: the sheet draws the lesions the run parsed, in the declared
    slide frame when there is no slide picture, resolved classes in their colour, others grey."""
    square = np.array([[100.0, 100.0], [300.0, 100.0], [300.0, 300.0], [100.0, 300.0]])
    ann = ParsedAnnotation(
        path="a.json",
        format="native",
        width=1000,
        height=500,
        lesions=(
            LesionOutline(0, "/lesions/0", "basal cell carcinoma", "BCC", ((square,),)),
            LesionOutline(1, "/lesions/1", "lymphoma", None, ((square + 500,),)),
        ),
    )
    item = ItemSummary(slide_id="a", image_path=None, annotation_path="a.json")  # no file exists
    entry = slide_entry(tmp_path, rec(item, ann), "s", profile, 100, 70)
    assert entry["image_error"] == "no slide file" and (entry["width"], entry["height"]) == (100, 50)
    bcc, other = entry["shapes"]
    assert bcc["cls"] == "BCC" and bcc["d"] == "M10.0,10.0 30.0,10.0 30.0,30.0 10.0,30.0Z"
    assert other["cls"] == "lymphoma" and other["colour"] == "#888888"
    assert [(c["cls"], c["count"]) for c in entry["classes"]] == [("BCC", 1), ("lymphoma", 1)]


def test_ring_path_scales_simplifies_and_drops_non_finite() -> None:
    ring = np.array([[0, 0], [100, 0], [100, 100], [np.nan, 5], [0, 100]], dtype=float)
    assert ring_path(ring, 0.5) == "M0.0,0.0 50.0,0.0 50.0,50.0 0.0,50.0Z"
    circle = np.array([[50 + 40 * np.cos(t), 50 + 40 * np.sin(t)] for t in np.linspace(0, 2 * np.pi, 2000)])
    d = ring_path(circle, 1.0)
    assert d.startswith("M") and d.endswith("Z") and d.count(",") < 200  # 2,000 vertices → a few dozen
    assert ring_path(np.array([[1.0, 2.0]]), 1.0) == ""


def test_data_uri_is_a_jpeg() -> None:
    from PIL import Image

    uri = data_uri(Image.new("RGB", (8, 8), "white"), 70)
    assert uri.startswith("data:image/jpeg;base64,/9j/")


def test_an_outline_of_a_hundred_thousand_zigzags_is_simplified_without_a_crash() -> None:
    # GEOS's Douglas-Peucker recursion went as deep as the outline's vertices: a zigzag of 100,000
    # overflowed the C stack, and `dqm sample` on a 13.7 MB annotation died of SIGSEGV (rc 139)
    import os
    import subprocess
    import sys

    code = (
        "import numpy as np\n"
        "from dqm.semantic.sheet import ring_path\n"
        "n = 100_000\n"
        "ring = np.column_stack([np.linspace(1, 80, n), np.where(np.arange(n) % 2, 347.0, 1.0)])\n"
        "d = ring_path(ring, 0.6)\n"
        "assert d.startswith('M') and d.endswith('Z')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
