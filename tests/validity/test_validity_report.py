"""The report's validity section renders the result only: table, curve, overlays, escaped text."""

from __future__ import annotations

import numpy as np

from dqm.audit import build_result, with_verdict
from dqm.runner import Run
from dqm.validity.models import (
    ClassDice,
    CurvePoint,
    FoldSummary,
    Overlay,
    SlideScore,
    SplitSummary,
    SuspiciousSlide,
    ValidityResult,
)
from dqm.validity.overlay import overlay_uri
from dqm.validity.settings import load_validity_profile
from reports import render_html

HOSTILE = '<script>alert("x")</script>'


def _validity(passed: bool) -> ValidityResult:
    rgb = np.full((20, 30, 3), 230, np.uint8)
    truth = np.zeros((20, 30), np.uint8)
    truth[5:15, 5:15] = 2
    uri = overlay_uri(rgb, truth, np.roll(truth, 3, axis=1), ["#ff0000", "#00ff00"])
    return ValidityResult(
        dice_per_class={
            "NS": ClassDice(dice=0.91, ci_low=0.88, ci_high=0.93, n_slides=4, target=0.8, passed=True),
            "EC": ClassDice(dice=0.62, ci_low=0.5, ci_high=0.7, n_slides=3, target=0.8, passed=passed),
        },
        mean_dice=0.765,
        mean_ci_low=0.7,
        mean_ci_high=0.8,
        target=0.8,
        passed=passed,
        classes=["NS", "EC"],
        n_slides=9,
        n_used=8,
        n_scored=7,
        split=SplitSummary(
            mode="holdout",
            unit="patient",
            seed=0,
            folds=[FoldSummary(name="holdout", train=["a"], test=[HOSTILE], train_groups=1, test_groups=1)],
        ),
        profile=load_validity_profile("smoke"),
        seeds={"seed": 0},
        device="cpu",
        curve=[
            CurvePoint(
                fold="holdout",
                epoch=e,
                loss=2.0 / e,
                tile_dice=0.2 * e,
                learning_rate=0.001,
                seconds=1,
                tiles=8,
            )
            for e in (1, 2, 3, 4)
        ],
        per_slide=[
            SlideScore(slide_id=HOSTILE, fold="holdout", dice={"EC": 0.62}, lesion_dice=0.62, suspicion=0.38)
        ],
        suspicious=[SuspiciousSlide(slide_id=HOSTILE, score=0.9, fold="holdout")],
        overlays=[Overlay(slide_id=HOSTILE, kind="worst", lesion_dice=0.1, image=uri)],
    )


def test_section_renders_table_curve_overlays_and_escapes(clean_run: Run) -> None:
    result = with_verdict(
        build_result(clean_run, ["dqm", "audit"]).model_copy(update={"validity": _validity(False)})
    )
    assert result.verdict.status == "not_certified"
    html = render_html(result)
    start = html.index('<section id="validity"')
    section = html[start : html.index("</section>", start)]
    assert "0.910" in section and "0.880–0.930" in section and "0.620" in section
    assert section.count("<polyline") == 2
    points = section.split('class="loss"')[1].split('points="')[1].split('"')[0].split()
    assert len(points) == 4
    ys = [float(p.split(",")[1]) for p in points]
    assert ys == sorted(ys)  # the loss falls: y grows downwards in SVG
    assert 'src="data:image/jpeg;base64,' in section
    assert HOSTILE not in html and "&lt;script&gt;" in section
    assert "style=" not in section


def test_overlay_is_a_small_jpeg() -> None:
    import base64
    import io

    from PIL import Image

    uri = _validity(True).overlays[0].image
    img = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert img.format == "JPEG" and img.size == (64, 20)


def test_overlay_images_must_be_jpeg_data_uris() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="data:image/jpeg"):
        Overlay(slide_id="s", kind="best", lesion_dice=1.0, image="javascript:alert(1)")
