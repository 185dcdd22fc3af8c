"""One rule for "a figure reaches its target" (:func:`dqm.tolerance.reaches`), at every site that
compares a figure with its target: syntactic ratios, diversity minimums, validity Dice (per slide
and pooled), the semantic precision plan's decision, the quality table, the contradiction check and
the display. At each computed figure (a mean, a bound, a weighted estimate), a value one ulp under
its target passes (a plain ``>=`` failed it, while another gate of the same figures passed) and
prints as the target; one clearly under still fails. Figures of whole counts are decided exactly
(:func:`dqm.tolerance.count_reaches`).
"""

from __future__ import annotations

import math
import re
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from dqm.diversity.minimums import _figure
from dqm.facts import Ratio
from dqm.figures import fmt_value, fmt_value_target
from dqm.semantic.estimate import decide
from dqm.tolerance import TOLERANCE, reaches
from dqm.validity.metrics import summarise_classes, summarise_pooled
from dqm.validity.models import PixelCounts, SlideScore

ULP_UNDER = math.nextafter(0.85, 0)  # the mean of 15 Dice of 0.85: float(np.mean([0.85] * 15))


def _above(value: float) -> float:
    """The target one ulp above ``value``: ``value`` is one ulp under it."""
    return math.nextafter(value, math.inf)


def test_reaches_is_at_or_above_or_within_the_relative_tolerance() -> None:
    assert float(np.mean([0.85] * 15)) == ULP_UNDER < 0.85
    assert reaches(0.85, 0.85) and reaches(0.86, 0.85) and reaches(ULP_UNDER, 0.85)
    assert reaches(0.85 * (1 - TOLERANCE / 2), 0.85) and not reaches(0.85 * (1 - 2 * TOLERANCE), 0.85)
    assert not reaches(0.849, 0.85) and not reaches(math.nan, 0.85) and not reaches(0.0, 1e-300)
    assert reaches(5, 5.0) and not reaches(4, 5.0)  # counts: exact


def test_the_display_shows_a_reaching_value_as_its_target() -> None:
    """It printed ``< 85.00 %`` (and, before that, ``84.99999999999999 %``) beside a pass."""
    assert (
        fmt_value(ULP_UNDER, True, 0.85, True) == "85.00 %"
        and fmt_value(ULP_UNDER, False, 0.85, True) == "0.85"
    )
    assert fmt_value(0.8499, True, 0.85) == "84.99 %" and fmt_value(0.8499, False, 0.85) == "0.8499"
    assert fmt_value(0.85 * (1 - 2 * TOLERANCE), True, 0.85, True) == "84.9999999998 %"


def test_a_value_reaching_its_target_by_rounding_reads_as_it_only_beside_a_pass() -> None:
    """A results.json written before the tolerance holds ``dice=0.8499999999999999, passed=false``
    (a plain ``>=``). Every output printed it ``0.85 ✗ … ≥ 0.85 FAIL``: the value shown as the target
    beside a failing decision. It reads below the target unless its own decision passed."""
    from dqm.gate import gate
    from reports.html import render_html
    from reports.markdown import render_summary
    from tests.reports.conftest import make_result, validity

    assert fmt_value(ULP_UNDER, False, 0.85, False) == "0.8499999999999999"
    assert (
        fmt_value(ULP_UNDER, True, 0.85) == fmt_value(ULP_UNDER, True, 0.85, False) == "84.99999999999999 %"
    )
    v = validity()
    update = {"dice": ULP_UNDER, "ci_low": 0.80, "target": 0.85, "passed": False}
    per = {c: d.model_copy(update=update) for c, d in v.dice_per_class.items()}
    result = make_result(
        validity=v.model_copy(update={"dice_per_class": per, "target": 0.85, "passed": False})
    )
    summary = [line for line in render_summary(result).splitlines() if "≥ 0.85" in line]
    assert summary and all("0.8499999999999999 ✗" in line and "0.85 ✗" not in line for line in summary)
    lines = [line for line in gate(result, ["validity"]).lines if "target ≥ 0.85" in line]
    assert lines and all("0.8499999999999999 (" in line for line in lines), lines
    html = " ".join(re.sub(r"<[^>]+>", " ", render_html(result)).split())
    assert re.search(r"≥ 0\.85 30 held-out slides .{0,200}? 0\.8499999999999999 fail", html), html[:0]
    assert not re.search(r"\b0\.85 0\.8 – 0\.8\d ≥ 0\.85 fail", html)


def test_a_ratio_of_counts_is_decided_exactly() -> None:
    """Counts need no tolerance: ``count / n`` is correctly rounded. With it, ``1 / 3`` passed a
    target of ``0.3333333333333334`` (above the float nearest 1 / 3) at every count gate:
    syntactic ratios, diversity minimums, the smallest class share and the quality table."""
    from dqm.diversity.family import balance_tests
    from dqm.diversity.models import Balance
    from dqm.diversity.settings import BalanceRules

    third = 0.3333333333333334  # a target of 16 significant digits, 2 ulps above 1 / 3
    assert third > 1 / 3 and reaches(1 / 3, third)  # what the tolerance decided
    assert Ratio.of("file_accuracy", "files", 1, 3, target=third).passed is False
    assert Ratio.of("file_accuracy", "files", 1, 3, target=1 / 3).passed is True
    assert Ratio.of("file_accuracy", "files", 99, 100, target=0.99).passed is True
    assert Ratio.of("file_accuracy", "files", 98, 100, target=0.99).passed is False
    ratio = Ratio.of("file_accuracy", "files", 99_999_999_999, 100_000_000_000, target=0.99999999999001)
    assert ratio.passed is False and ratio.value is not None
    assert fmt_value(ratio.value, True, ratio.target, ratio.passed) == "99.999999999000 %"
    indices = {"shannon": None, "evenness": None, "simpson": None, "inverse_simpson": None}
    classes = Balance(
        variable="class", n=3, declared=2, observed=2, imbalance_ratio=2.0, min_share=1 / 3,
        min_category="MN", max_share=2 / 3, max_category="BCC", **indices,
    )  # fmt: skip
    for target, decision in ((third, "fail"), (1 / 3, "pass")):
        rules = BalanceRules(min_class_share=target, max_institution_share=None, max_imbalance_ratio=None)
        (test,) = balance_tests(classes, classes, rules)
        assert test.name == "balance.min_class_share" and test.decision == decision, (target, test)


@pytest.mark.parametrize(
    "what, count, n, target, passed",
    [
        ("count", 5, 20, 5 * (1 + TOLERANCE / 10), False),  # counts: exact, no tolerance
        ("count", 5, 20, 5.0, True),
        ("share", 17, 20, _above(17 / 20), False),  # the tolerance passed both
        ("share", 17, 20, 17 / 20, True),
        ("share", 1, 3, _above(1 / 3), False),
        ("share", 1, 3, 1 / 3, True),
    ],
)
def test_a_diversity_minimum_is_decided_exactly(
    what: str, count: int, n: int, target: float, passed: bool
) -> None:
    fig = _figure("class", ("MN",), count, n, what, target)
    assert fig.value is not None and fig.passed is passed
    if what == "share":  # a share below its target never reads as it
        assert (fmt_value(fig.value, True, target, fig.passed) == fmt_value_target(target, True)) is passed


@pytest.mark.parametrize("gate_on", ["dice", "ci_low"])
def test_a_class_dice_one_ulp_under_its_target_passes(gate_on: str) -> None:
    """15 slides of Dice 0.85 against 0.85: the mean is one ulp under it. It failed with ``dice``."""
    scores = [SlideScore(slide_id=f"s{i}", fold="f", group=f"P{i}", dice={"MN": 0.85}) for i in range(15)]
    for target, passed in ((0.85, True), (0.86, False)):
        per, *_ = summarise_classes(scores, ["MN"], {"MN": target}, 200, 0.95, 0, gate_on=gate_on)
        d = per["MN"]
        assert d.dice == ULP_UNDER and d.passed is passed, (target, d)
        assert (fmt_value(d.dice, False, target, d.passed) == fmt_value(target, False)) is passed


def test_a_pooled_dice_one_ulp_under_its_target_passes() -> None:
    pixels = {"MN": PixelCounts(tp=17, fp=3, fn=3)}  # 34 / 40
    scores = [SlideScore(slide_id="s1", fold="f", dice={"MN": 0.85}, pixels=pixels)]
    for target, passed in ((_above(34 / 40), True), (0.86, False)):
        per, *_ = summarise_pooled(scores, ["MN"], {"MN": target}, 0, 0.95, 0)
        assert per["MN"].dice == 34 / 40 < target and per["MN"].passed is passed


def test_a_precision_plans_estimate_one_ulp_under_its_target_is_accepted() -> None:
    plan: Any = SimpleNamespace(plan="precision")
    assert decide(plan, 0, 0, ULP_UNDER, 0.85)[0] == "accept"  # it was rejected
    assert decide(plan, 0, 0, 0.849, 0.85)[0] == "reject"


def test_a_quality_table_row_of_counts_is_decided_exactly() -> None:
    """9 of 10 slides against one ulp above 0.9 passed with the tolerance: counts are exact now."""
    from dqm.quality_layout import QualityTableLayout
    from reports.quality_table import quality_rows
    from tests.reports.conftest import finding, make_result

    layout = QualityTableLayout()
    result = make_result(n_items=10, findings=[finding("S00001", "MPP_MISSING", severity="error")])
    for target, decision in ((0.9, "pass"), (_above(9 / 10), "fail"), (0.91, "fail")):
        technical = [
            spec.model_copy(update={"target": target}) if spec.key == "slide_resolution" else spec
            for spec in layout.technical
        ]
        rows = quality_rows(result, layout.model_copy(update={"technical": technical}), "en")
        row = next(r for r in rows if r.item == "Resolution")
        assert row.value == 9 / 10 <= target and row.decision == decision


def _balance_rules(
    min_share: float,
    max_share: float,
    least: float,
    most: float,
    ratio: float = 2.0,
    limit: float | None = None,
) -> Any:
    """The smallest class share and largest institution share rules (minimum ``least``, maximum
    ``most``) decided on a batch of 10,000 slides whose smallest and largest shares are these; with
    ``limit``, the imbalance ratio rule too, on a batch whose ratio is ``ratio``."""
    from dqm.diversity.family import balance_tests
    from dqm.diversity.models import Balance
    from dqm.diversity.settings import BalanceRules

    indices = {"shannon": None, "evenness": None, "simpson": None, "inverse_simpson": None}
    shares = Balance(
        variable="class", n=10_000, declared=2, observed=2, imbalance_ratio=ratio, min_share=min_share,
        min_category="MN", max_share=max_share, max_category="Seoul", **indices,
    )  # fmt: skip
    rules = BalanceRules(min_class_share=least, max_institution_share=most, max_imbalance_ratio=limit)
    return balance_tests(shares, shares, rules)


def test_a_share_beside_its_rule_never_reads_as_the_limit_it_failed() -> None:
    """The balance rules printed shares with one decimal: a smallest class of 49 / 1000 against a
    minimum of 5 % read ``has 4.9 %``, but 499 / 10,000 read ``has 5.0 % of the slides, under 5.0 %``,
    and a largest institution of 5,004 / 10,000 against 50 % read ``has 50.0 % …, over 50.0 %``."""
    smallest, largest = _balance_rules(499 / 10_000, 5_004 / 10_000, 0.05, 0.5)
    assert smallest.decision == "fail" and "has 4.99 % of the slides, under 5.0 %" in smallest.sentence
    assert largest.decision == "fail" and "has 50.04 % of the slides, over 50.0 %" in largest.sentence
    smallest, largest = _balance_rules(0.05, 0.5, 0.05, 0.5)  # at the limits: both pass, read as them
    assert (smallest.decision, largest.decision) == ("pass", "pass")
    assert "has 5.0 % of the slides" in smallest.sentence and "has 50.0 % of the slides" in largest.sentence


def test_a_rule_prints_its_target_share_as_written() -> None:
    """The balance rules rounded their target to one decimal: a minimum of 0.0525 read ``under
    5.2 %`` (its rule too) beside a 5.24 % that fails it, and a maximum of 0.5055 read ``over
    50.6 %`` beside a 50.58 % that fails it."""
    smallest, largest = _balance_rules(524 / 10_000, 5_058 / 10_000, 0.0525, 0.5055)
    assert smallest.decision == "fail" and "has 5.24 % of the slides, under 5.25 %" in smallest.sentence
    assert smallest.rule.endswith("under 5.25 % of the slides")
    assert largest.decision == "fail" and "has 50.6 % of the slides, over 50.55 %" in largest.sentence
    assert largest.rule.endswith("over 50.55 % of the slides")
    smallest, largest = _balance_rules(524 / 10_000, 5_047 / 10_000, 0.0523, 0.5048)  # both pass
    assert (smallest.decision, largest.decision) == ("pass", "pass")
    assert "has 5.24 % of the slides" in smallest.sentence  # not 5.2 %, under 5.23 %
    assert "has 50.47 % of the slides" in largest.sentence  # not 50.5 %, over 50.48 %


def test_an_imbalance_ratio_over_its_maximum_never_reads_as_it() -> None:
    """The imbalance ratio was printed with ``%.2f``: 2.004 times against a maximum of 2 read
    ``has 2.00 times the slides`` beside its warning."""
    *_, over = _balance_rules(0.3, 0.5, 0.05, 0.6, 2.004, 2.0)
    assert over.decision == "warn" and "has 2.004 times the slides" in over.sentence
    *_, at = _balance_rules(0.3, 0.5, 0.05, 0.6, 1.996, 2.0)
    assert at.decision == "pass" and "has 2.00 times the slides" in at.sentence  # under it: as ever


def test_an_imbalance_ratios_maximum_reads_as_written() -> None:
    """The rule printed its maximum with ``{:g}``: 2.1234567 read ``over 2.12346 times`` beside a
    ratio of 2.1234570 that warns (above the ratio as printed)."""
    *_, over = _balance_rules(0.3, 0.5, 0.05, 0.6, 2.123457, 2.1234567)
    assert over.decision == "warn" and "has 2.1234570 times the slides" in over.sentence
    assert "over 2.1234567 times the slides" in over.rule, over.rule
    *_, plain = _balance_rules(0.3, 0.5, 0.05, 0.6, 2.0, 10.0)
    assert "over 10 times the slides" in plain.rule  # a round maximum as ever
