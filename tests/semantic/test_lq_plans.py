"""Limiting-quality plans for an isolated lot (computed as ISO 2859-2 Procedure A defines them): each
plan meets its defining property, no smaller sample does, and ``dqm sample --lq`` / ``dqm review
plan --lq`` carry it through the review to the semantic result."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
from scipy.stats import binom, hypergeom
from typer.testing import CliRunner

from dqm.cli import app
from dqm.semantic.lq_plans import CONSUMER_RISK, plan_lq
from dqm.semantic.planfile import read_plan

runner = CliRunner()


@pytest.mark.parametrize("lq", [0.5, 2.0, 5.0, 12.5, 31.5])
@pytest.mark.parametrize("ac", [0, 1, 3])
def test_each_plan_meets_the_consumers_risk_at_the_lq_and_no_smaller_sample_does(lq: float, ac: int) -> None:
    for lot_size in (10, 37, 120, 999, 5000, 60_000):
        defective = math.ceil(lq * lot_size / 100)
        if ac >= defective:
            with pytest.raises(ValueError, match="acceptance number below"):
                plan_lq(lot_size, lq, ac)
            continue
        p = plan_lq(lot_size, lq, ac)
        assert (p.nonconforming_at_lq, p.acceptance_number, p.rejection_number) == (defective, ac, ac + 1)
        accept = hypergeom(lot_size, defective, p.sample_size).cdf(ac)
        assert accept <= CONSUMER_RISK + 1e-12 and accept == pytest.approx(p.consumer_risk)
        if p.sample_size > ac + 1:
            assert hypergeom(lot_size, defective, p.sample_size - 1).cdf(ac) > CONSUMER_RISK
        for worse in (defective + 1, defective + 7):  # a lot worse than the LQ is accepted less often
            if worse <= lot_size:
                assert hypergeom(lot_size, worse, p.sample_size).cdf(ac) <= accept
        assert p.full_inspection == (p.sample_size >= lot_size) and p.sample_size <= lot_size


def test_a_large_lot_needs_the_binomial_sample() -> None:
    """For a lot far larger than its sample the hypergeometric plan is the binomial one: with Ac 0,
    the smallest n with (1 - LQ)^n <= 10 %."""
    for lq in (1.0, 5.0, 10.0):
        n = math.ceil(math.log(0.1) / math.log(1 - lq / 100))
        assert plan_lq(10_000_000, lq).sample_size == n
        p1 = plan_lq(10_000_000, lq, 1)
        assert binom(p1.sample_size, lq / 100).cdf(1) <= 0.1 < binom(p1.sample_size - 1, lq / 100).cdf(1)


def test_a_small_lot_at_the_lq_and_its_edges() -> None:
    p = plan_lq(10, 5.0)  # one nonconforming slide in ten: missed by 9 of 10 slides with chance 1/10
    assert (p.nonconforming_at_lq, p.sample_size, p.full_inspection) == (1, 9, False)
    assert p.consumer_risk == pytest.approx(0.1)
    assert plan_lq(1, 50.0).sample_size == 1
    assert "not its printed Table A" in p.note
    for bad in (dict(lot_size=0, lq=5.0), dict(lot_size=10, lq=0.0), dict(lot_size=10, lq=100.0)):
        with pytest.raises(ValueError):
            plan_lq(**bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="consumer's risk"):
        plan_lq(10, 5.0, consumer_risk=1.0)


def test_review_plan_prints_the_lq_plan() -> None:
    res = runner.invoke(app, ["review", "plan", "--lot-size", "1000", "--lq", "5", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert (data["plan"], data["lq"], data["sample_size"], data["acceptance_number"]) == (
        "iso2859",
        5.0,
        44,
        0,
    )
    res = runner.invoke(app, ["review", "plan", "--lot-size", "10", "--lq", "5", "--lq-ac", "1"])
    assert res.exit_code == 2 and "acceptance number below 1" in res.output


def test_sample_with_lq_draws_the_plan_and_ingest_decides_by_it(defect_batch: Path, tmp_path: Path) -> None:
    res = runner.invoke(
        app,
        ["sample", str(defect_batch), "--out", str(tmp_path / "lq"), "--lq", "10", "--lot-by", "institution"],
    )
    assert res.exit_code == 2 and "isolated lot" in res.output
    res = runner.invoke(app, ["sample", str(defect_batch), "--out", str(tmp_path / "lq"), "--lq", "10"])
    assert res.exit_code == 0, res.output
    assert "limiting-quality plan for an isolated lot, LQ 10 %: lot 39 → n = 17, Ac = 0" in res.output
    plan = read_plan(tmp_path / "lq")  # its plan_id checks out
    expected = plan_lq(39, 10.0)
    assert (plan.lq, plan.level, plan.aql, plan.code_letter) == (10.0, None, None, None)
    assert (plan.plan_sample_size, plan.acceptance_number) == (expected.sample_size, 0)
    core = [s.slide_id for s in plan.sample if s.core]
    verdicts = tmp_path / "verdicts.csv"
    with verdicts.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["slide_id", "reviewer", "verdict", "reason", "comment"])
        for s in plan.sample:
            w.writerow([s.slide_id, "kim", "fail" if s.slide_id == core[0] else "pass", "", ""])
    res = runner.invoke(
        app, ["review", "ingest", str(verdicts), "--plan", str(tmp_path / "lq"), "--out", str(tmp_path / "s")]
    )
    assert res.exit_code == 1, res.output  # a rejected lot
    semantic = json.loads((tmp_path / "s" / "semantic.json").read_text())
    assert (semantic["lq"], semantic["decision"]) == (10.0, "reject")  # one FAIL in the core, Ac 0
    assert "Limiting-quality plan for an isolated lot, LQ 10 %" in semantic["method"]


@pytest.mark.parametrize(
    ("lang", "section", "table"),
    [
        (
            "en",
            "limiting-quality plan for an isolated lot, LQ 20 %",
            "limiting-quality single sampling of an isolated lot, LQ 20 %",
        ),
        ("ko", "고립 로트의 한계품질 샘플링 계획, LQ 20 %", "고립 로트 한계품질 LQ 20 % 1회 샘플링"),
    ],
)
def test_the_report_names_the_lq_plan_not_an_iso_2859_1_one(lang: str, section: str, table: str) -> None:
    from dqm.results import QualityResult
    from reports.html import render_html

    fixture = Path(__file__).parents[1] / "fixtures" / "results" / "results-1.11.json"  # drawn with --lq 20
    result = QualityResult.load(fixture)
    assert result.semantic is not None and result.semantic.lq == 20.0
    page = render_html(result, lang=lang)
    assert section in page and table in page
    assert "level None" not in page and "AQL None" not in page
