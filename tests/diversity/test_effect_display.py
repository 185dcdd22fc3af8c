"""An effect size is printed on its own side of the thresholds it was labelled and decided on,
in the test's sentence and rule, the report's table and the quality table (schema 1.19)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from dqm.diversity.family import Pending, decide_family
from dqm.diversity.models import DriftVariable, TestResult
from dqm.diversity.settings import DiversitySettings, EffectRule
from dqm.diversity.stats import TestOutcome, effect_thresholds
from dqm.quality_layout import QualityTableLayout
from dqm.tolerance import fmt_among, sig_digits

SMALL_V2 = 0.1 / math.sqrt(2)  # Cramér's V's "small" for df* = 2: 0.0707106...


@pytest.mark.parametrize(
    ("value", "bounds", "shown"),
    [
        (0.07069, [SMALL_V2], "0.07069"),  # below: at 3 digits both read 0.0707
        (0.070711, [SMALL_V2], "0.0707"),  # at or above it: reads as it, no more digits
        (0.2999, [0.1, 0.3, 0.5], "0.2999"),
        (0.3, [0.1, 0.3, 0.5], "0.3"),
        (0.29999999999999993, [0.3], "0.2999999999999999"),  # one ulp below
        (0.1234, [], "0.123"),
        (1234.5, [0.3], "1,234"),
        (None, [0.3], "–"),
        (float("nan"), [0.3], "nan"),
    ],
)
def test_fmt_among_reads_on_the_side_it_is_on(value: float | None, bounds: list[float], shown: str) -> None:
    assert fmt_among(value, bounds) == shown


def test_sig_digits_never_reads_a_short_value_as_reaching() -> None:
    rng = [i / 10_000 for i in range(1, 5_000)]
    for b in (SMALL_V2, 0.3 / math.sqrt(3), 0.14, 0.06):
        for v in rng:
            d = sig_digits(v, [b])
            assert (float(f"{v:.{d}g}") >= float(f"{b:.{d}g}")) == (v >= b), (v, b, d)


def _decided(effect: float, rule: EffectRule) -> TestResult:
    outcome = TestOutcome(
        statistic=9.0, df=2, p_value=1e-6, method="Pearson chi-square", effect=effect, n=900, df_star=2
    )
    settings = DiversitySettings(rules={"independence.class_institution": rule})
    (result,) = decide_family(
        [
            Pending(
                "independence.class_institution",
                "class × institution",
                ["class", "institution"],
                outcome,
                "V",
                "class mix differs",
            )
        ],
        settings,
    )
    return result


def test_a_test_just_under_its_threshold_reads_under_it_in_rule_and_sentence() -> None:
    """V = 0.07069 with df* = 2 passes ``fail when V ≥ 0.0707106…`` (small): it read
    ``V 0.0707`` beside ``fail when … V ≥ 0.0707 (small)`` and *pass*, labelled negligible."""
    under = _decided(0.07069, EffectRule(warn_at=None, fail_at="small"))
    assert under.decision == "pass" and under.effect_label == "negligible"
    assert "V ≥ 0.07071 (small)" in under.rule, under.rule
    assert "V 0.07069" in under.sentence, under.sentence
    assert under.thresholds == dict(
        zip(("small", "moderate", "large"), effect_thresholds("V", 2), strict=True)
    )
    assert fmt_among(under.effect_size, under.thresholds.values()) == "0.07069"
    at = _decided(SMALL_V2, EffectRule(warn_at=None, fail_at="small"))
    assert at.decision == "fail" and "V ≥ 0.0707 (small)" in at.rule and "V 0.0707" in at.sentence


def test_the_report_and_the_quality_table_print_the_effect_as_the_rule_reads() -> None:
    from reports.html import _environment
    from reports.quality_table import _test_rows

    under = _decided(0.07069, EffectRule(warn_at=None, fail_at="small"))
    env = _environment("en")
    assert env.filters["effect"](under.effect_size, under.thresholds) == "0.07069"
    assert env.filters["effect"](under.effect_size, {}) == "0.0707"  # an older result: as before
    result = SimpleNamespace(diversity=SimpleNamespace(tests=[under], alpha=0.05, correction="holm"))
    (row,) = _test_rows(result, QualityTableLayout(), "en")  # type: ignore[arg-type]
    assert "V 0.07069" in row.metric and "V ≥ 0.07071" in row.target_text, (row.metric, row.target_text)


def test_a_drift_effect_in_the_table_reads_as_in_its_sentence() -> None:
    from dqm.diversity.drift import fmt_effect

    assert fmt_effect(0.2496, {"warn": 0.1, "fail": 0.25}) == "0.2496"
    assert fmt_effect(0.25, {"warn": 0.1, "fail": 0.25}) == "0.250"
    assert fmt_effect(0.2496, {}) == "0.25"  # a result before 1.19: 3 significant digits
    v = DriftVariable(
        name="scanner", label="scanner", kind="categorical", method="chi2", effect_size=0.2496,
        baseline_n=10, current_n=10, decision="warn", rule="", sentence="", thresholds={"warn": 0.1, "fail": 0.25},
    )  # fmt: skip
    back = DriftVariable.model_validate_json(v.model_dump_json())
    assert back.thresholds == {"warn": 0.1, "fail": 0.25}
    from reports.html import _environment

    assert _environment("en").filters["drift_effect"](back.effect_size, back.thresholds) == "0.2496"


def test_the_rendered_report_prints_each_effect_on_its_own_side() -> None:
    """The report's tables, rendered: a test's V of 0.07069 (small 0.0707107), a drift PSI of
    0.10041 that warns at a profile's 0.1004, and a batch-effect η²_H of 0.0599 labelled small
    (moderate from 0.06) read as they are decided and labelled, not ``0.0707``, ``0.100``, ``0.06``."""
    from dqm.diversity import diversity_result
    from dqm.diversity.drift import fmt_effect
    from dqm.diversity.models import BaselineInfo, Comparison, DriftResult
    from dqm.profile import load_profile
    from dqm.synth.summaries import synthetic_items
    from reports import render_html
    from tests.reports.conftest import make_result

    d = diversity_result(synthetic_items(120, seed=4), load_profile())
    test = _decided(0.07069, EffectRule(warn_at=None, fail_at="small")).model_copy(update={"gated": True})
    drift = DriftResult(
        baseline=BaselineInfo(source="results", path="earlier/results.json", n_items=10, from_summaries=True),
        variables=[
            DriftVariable(
                name="scanner",
                label="scanner",
                kind="categorical",
                method="chi2",
                effect_size=0.10041,
                p_adjusted=1e-9,
                baseline_n=10,
                current_n=10,
                decision="warn",
                rule="warn when …",
                sentence="…",
                thresholds={"warn": 0.1004, "fail": 0.25},
            )
        ],
        correction="holm",
        alpha=0.01,
        verdict="warn",
        summary="one variable drifted",
    )
    assert fmt_effect(0.10041, {"warn": 0.1004, "fail": 0.25}) == "0.1004"
    assert fmt_effect(0.10039, {"warn": 0.1004, "fail": 0.25}) == "0.10039"  # below it, and not as it
    update = {"tests": [*d.tests, test], "drift": drift}
    if d.batch_effects is not None:
        c = Comparison(
            variable="od", label="optical density", by="institution", method="Kruskal-Wallis",
            effect_size=0.05999, effect_label="small", n=30, sentence="…",
        )  # fmt: skip
        update["batch_effects"] = d.batch_effects.model_copy(update={"comparisons": [c]})
    html = render_html(make_result(diversity=d.model_copy(update=update)), lang="en")
    assert "V 0.07069 (" in html, "the test's effect"
    assert "PSI 0.1004<" in html or "PSI 0.1004 " in html, "the drift table's effect"
    if "batch_effects" in update:
        assert ">0.05999 (" in html, "the batch-effect comparison's η²_H (the former filter: 0.06)"


def test_a_batch_effect_sentence_prints_eta2_on_its_own_side_and_positional(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The comparison's sentence printed η²_H with 3 decimals beside its label: 0.05999 read
    ``0.060 (small)`` though moderate starts at 0.06; and never in scientific notation."""
    from dqm.diversity import batch_effects, diversity_result
    from dqm.profile import load_profile
    from tests.diversity.test_batch_effects import cohort

    assert fmt_among(3.4e-05) == "0.000034" and fmt_among(-2.5e-07) == "-0.00000025"
    real = batch_effects.kruskal_wallis

    def pinned(parts):  # type: ignore[no-untyped-def]
        o = real(parts)
        return (
            TestOutcome(o.statistic, o.df, 1e-6, o.method, effect=0.05999, n=o.n)
            if o.p_value is not None
            else o
        )

    monkeypatch.setattr(batch_effects, "kruskal_wallis", pinned)
    d = diversity_result(cohort(shift={"background": -0.1}, seed=6), load_profile())
    assert d.batch_effects is not None
    said = [c.sentence for c in d.batch_effects.comparisons if c.p_adjusted is not None]
    assert said and all("η²_H 0.05999 (small)" in x for x in said), said[:2]
