"""Near duplicates, leakage and re-delivery end to end: slides on disk, ``dqm audit``, results.json."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from dqm.cli import app
from dqm.results import QualityResult
from tests.helpers import circle
from tests.pixels.test_hashes import tissue_image

runner = CliRunner()
FIELDS = ["slide_id", "image_path", "annotation_path", "institution", "diagnosis", "age", "sex", "site"]


def _batch(root: Path, slides: dict[str, tuple[Image.Image, str, str, str]]) -> Path:
    """``slides``: id -> (image, file extension, patient, split); a manifest with both columns."""
    (root / "slides").mkdir(parents=True)
    (root / "annotations").mkdir()
    rows = []
    for sid, (img, ext, patient, split) in slides.items():
        img.save(root / "slides" / f"{sid}.{ext}", quality=70)
        w, h = img.size
        doc = {
            "format": "dqm.annotation/1",
            "slide": {"file": f"{sid}.{ext}", "width": w, "height": h, "mpp": 0.5},
            "lesions": [
                {
                    "id": 1,
                    "class": "BCC",
                    "geometry": {"type": "Polygon", "coordinates": [circle(w / 2, h / 2, 30)]},
                }
            ],
            "clinical": {},
        }
        (root / "annotations" / f"{sid}.json").write_text(json.dumps(doc))
        rows.append(
            [
                sid,
                f"slides/{sid}.{ext}",
                f"annotations/{sid}.json",
                "Seoul-A",
                "BCC",
                "50",
                "F",
                "trunk",
                patient,
                split,
            ]
        )
    with (root / "manifest.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*FIELDS, "patient_id", "split"])
        writer.writerows(rows)
    return root


def _audit(batch: Path, out: Path, *extra: str) -> QualityResult:
    res = runner.invoke(app, ["audit", str(batch), "--out", str(out), "--no-cache", *extra])
    assert res.exit_code in (0, 1), res.output
    return QualityResult.load(out / "results.json")


def _codes(result: QualityResult, prefix: str) -> list[tuple[str, str]]:
    return sorted((f.code, f.item_id) for f in result.findings if f.check.startswith(prefix))


def test_a_rotated_resaved_slide_of_another_patient_and_a_leaking_patient(tmp_path):
    one, other = tissue_image(1), tissue_image(2)
    batch = _batch(
        tmp_path / "batch",
        {
            "S1": (one, "png", "PT-first", "train"),
            "S2": (one.transpose(Image.Transpose.ROTATE_90), "jpg", "PT-second", "test"),
            "S3": (other, "png", "PT-first", "test"),
        },
    )
    result = _audit(batch, tmp_path / "out")
    assert _codes(result, "duplicates.") == [
        ("NEAR_DUPLICATE_OTHER_PATIENT", "S2"),
        ("PATIENT_IN_TWO_SPLITS", "S1"),  # PT-first: one slide in each split; 'test' ranks first by name
    ]
    hashes = {i.slide_id: i.slide.perceptual_hash for i in result.items}
    assert all(h and len(h) == 48 for h in hashes.values()), "every slide's hash is kept in results.json"
    text = (tmp_path / "out" / "results.json").read_text("utf-8")
    assert "PT-first" not in text and "PT-second" not in text, "no output names a patient"


def test_baseline_finds_a_slide_delivered_again(tmp_path):
    old_slide, new_slide = tissue_image(3), tissue_image(4)
    first = _batch(tmp_path / "r1", {"A1": (old_slide, "png", "P1", "train")})
    _audit(first, tmp_path / "out1")
    w, h = old_slide.size
    again = old_slide.crop((0, 0, w - w // 40, h)).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    second = _batch(
        tmp_path / "r2", {"B1": (new_slide, "png", "P2", "train"), "B2": (again, "jpg", "P3", "train")}
    )
    baseline = tmp_path / "out1" / "results.json"
    result = _audit(second, tmp_path / "out2", "--baseline", str(baseline))
    (f,) = [f for f in result.findings if f.code == "SLIDE_DELIVERED_AGAIN"]
    assert f.item_id == "B2" and "'A1'" in f.message and str(baseline) in f.message
    assert _codes(result, "duplicates.") == [("SLIDE_DELIVERED_AGAIN", "B2")], (
        "B1 is new, B2 not a pair in r2"
    )
    alone = _audit(second, tmp_path / "out3", "--baseline", str(baseline), "--stages", "syntactic")
    assert _codes(alone, "duplicates.") == [("SLIDE_DELIVERED_AGAIN", "B2")], "without the drift stage too"
