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
    PixelCounts,
    PooledDice,
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


def _section(clean_run: Run, v: ValidityResult) -> str:
    html = render_html(
        with_verdict(build_result(clean_run, ["dqm", "audit"]).model_copy(update={"validity": v}))
    )
    start = html.index('<section id="validity"')
    return html[start : html.index("</section>", start)]


def _with_pooled(v: ValidityResult, gate_dice: str) -> ValidityResult:
    """EC passes per slide (0.85) but its pooled Dice (0.55) does not: 400 px predicted on NS slides."""
    pooled = {
        "NS": PooledDice(
            name="NS pooled",
            dice=0.9,
            ci_low=0.87,
            ci_high=0.92,
            pixels=PixelCounts(tp=900, fp=100, fn=100),
            n_slides=7,
            n_annotated=4,
            target=0.8,
            passed=True,
        ),
        "EC": PooledDice(
            name="EC pooled",
            dice=0.55,
            ci_low=0.41,
            ci_high=0.66,
            pixels=PixelCounts(tp=300, fp=450, fn=40),
            fp_unannotated=400,
            n_slides=7,
            n_annotated=3,
            target=0.8,
            passed=False,
        ),
    }
    per = {
        c: d.model_copy(
            update={
                "pooled": pooled[c].model_copy(update={"gated": gate_dice != "per_slide"}),
                "gated": gate_dice != "pooled",
                **({"dice": 0.85, "ci_low": 0.81, "ci_high": 0.9} if c == "EC" else {}),
                "passed": True,
            }
        )
        for c, d in v.dice_per_class.items()
    }
    return v.model_copy(
        update={
            "dice_per_class": per,
            "pooled_mean_dice": 0.725,
            "pooled_mean_ci_low": 0.66,
            "pooled_mean_ci_high": 0.79,
            "gate_dice": gate_dice,
            "passed": gate_dice == "per_slide",
            "training_tiles": 960,
            "unreadable_tiles": {"S7": 3, "S9": 1},
        }
    )


def test_section_shows_pooled_dice_beside_the_mean_slide_dice(clean_run: Run) -> None:
    section = _section(clean_run, _with_pooled(_validity(True), "both"))
    assert "Pooled Dice" in section and "Mean slide Dice" in section and "(not gated)" not in section
    assert "pooled Dice 0.725 (95 % CI 0.660–0.790)" in section and "mean slide Dice 0.765" in section
    ec = section[section.index("<td>EC</td>") :].split("</tr>")[0]
    cells = [c.split(">", 1)[1].split("</td")[0] for c in ec.split('<td class="num"')[1:]]
    assert cells[:5] == ["0.550", "0.410–0.660", "400", "0.850", "0.810–0.900"]
    assert "fail (pooled)" in ec  # passes per slide; the pooled Dice fails it
    assert "4 of 960 training tiles could not be read" in section and "S7, S9" in section
    per_slide_only = _section(clean_run, _with_pooled(_validity(True), "per_slide"))
    assert 'Pooled Dice <span class="muted">(not gated)</span>' in per_slide_only
    ec = per_slide_only[per_slide_only.index("<td>EC</td>") :].split("</tr>")[0]
    assert '<span class="pass">pass</span>' in ec
    old = _section(clean_run, _validity(True))  # a result that predates pooled Dice
    assert (
        "Pooled" not in old and "training tiles were read" not in old and '<th class="num">Dice</th>' in old
    )


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
