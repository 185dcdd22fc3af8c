"""The validity result's schema: pooled Dice and its gates, and results that predate them."""

from __future__ import annotations

import json

from dqm.audit import build_result
from dqm.figures import dimension_gates
from dqm.runner import Run
from dqm.validity.models import (
    ClassDice,
    FoldSummary,
    PixelCounts,
    PooledDice,
    SplitSummary,
    ValidityResult,
)
from dqm.validity.settings import load_validity_profile


def _result(gate_dice: str) -> ValidityResult:
    """BCC passes both figures; MM passes per slide (0.9) but not pooled (0.6)."""
    per = {}
    for cls, slide_mean, pooled in (("BCC", 0.88, 0.86), ("MM", 0.9, 0.6)):
        per[cls] = ClassDice(
            name=cls,
            dice=slide_mean,
            n_slides=3,
            target=0.8,
            passed=True,
            gated=gate_dice != "pooled",
            pooled=PooledDice(
                name=f"{cls} pooled",
                dice=pooled,
                pixels=PixelCounts(tp=60, fp=70, fn=10) if cls == "MM" else PixelCounts(tp=86, fp=14, fn=14),
                fp_unannotated=60 if cls == "MM" else 0,
                n_slides=6,
                n_annotated=3,
                target=0.8,
                passed=pooled >= 0.8,
                gated=gate_dice != "per_slide",
            ),
        )
    return ValidityResult(
        dice_per_class=per,
        mean_dice=0.89,
        pooled_mean_dice=0.73,
        target=0.8,
        gate_dice=gate_dice,  # type: ignore[arg-type]
        passed=gate_dice == "per_slide",
        classes=["BCC", "MM"],
        n_slides=6,
        n_used=6,
        n_scored=6,
        split=SplitSummary(
            mode="holdout",
            unit="slide",
            seed=0,
            folds=[FoldSummary(name="holdout", train=["a"], test=["b"], train_groups=1, test_groups=1)],
        ),
        profile=load_validity_profile("smoke"),
        seeds={"seed": 0},
        device="cpu",
        training_tiles=480,
        unreadable_tiles={"b": 2},
    )


def test_gates_follow_gate_dice(clean_run: Run) -> None:
    names = {g: [x.name for x in _result(g).gates] for g in ("per_slide", "pooled", "both")}
    assert names == {
        "per_slide": ["BCC", "MM"],
        "pooled": ["BCC pooled", "MM pooled"],
        "both": ["BCC", "BCC pooled", "MM", "MM pooled"],
    }
    quality = build_result(clean_run, ["dqm", "audit"]).model_copy(update={"validity": _result("both")})
    gates = {g.key: g for g in dimension_gates(quality, "validity")}
    mm = gates["validity.MM pooled"]
    assert (mm.value, mm.target, mm.passed) == (0.6, 0.8, False)
    assert mm.pointer == "/validity/dice_per_class/MM/pooled"  # where results.json holds it
    assert (
        gates["validity.MM"].passed is True and gates["validity.MM"].pointer == "/validity/dice_per_class/MM"
    )


def test_results_that_predate_pooled_dice_still_load_and_gate_as_then() -> None:
    data = json.loads(_result("both").model_dump_json())
    for key in (
        "gate_dice",
        "pooled_mean_dice",
        "pooled_mean_ci_low",
        "pooled_mean_ci_high",
        "training_tiles",
    ):
        del data[key]
    for d in data["dice_per_class"].values():
        del d["pooled"], d["gated"]
    old = ValidityResult.model_validate_json(json.dumps(data))
    assert old.gate_dice == "per_slide" and old.training_tiles is None
    assert all(d.pooled is None and d.gated for d in old.dice_per_class.values())
    assert [g.name for g in old.gates] == ["BCC", "MM"]
    again = ValidityResult.model_validate_json(_result("pooled").model_dump_json())
    assert again == _result("pooled")  # JSON round trip
