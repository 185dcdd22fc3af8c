"""From verdict files to the semantic result: estimates against independent computations, decisions, findings."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from statsmodels.stats.inter_rater import cohens_kappa
from statsmodels.stats.proportion import proportion_confint

from dqm.profile import Profile
from dqm.results import ItemSummary
from dqm.semantic.estimate import cell_counts, unfinished_cells, weighted_estimate
from dqm.semantic.ingest import IngestOptions, ingest, validate
from dqm.semantic.models import PlanBatch, ReviewPlan, SemanticResult
from dqm.semantic.planfile import PlanError, PlanOptions, build_plan, plan_csv, read_plan, write_plan
from dqm.semantic.verdicts import read_verdict_files

CLASSES = ["NS", "EC", "SK", "BD_SCC", "BCC", "MN", "MM"]
SITES = ["Seoul-A", "Busan-B", "Daegu-C", "Gwangju-D"]
BATCH = PlanBatch(
    path="/nowhere", fingerprint="f" * 64, n_items=0, profile="dermatopathology", profile_sha256="0"
)


def lot(n: int, flagged_every: int = 0) -> list[ItemSummary]:
    """A lot spread unevenly over 7 classes × 4 institutions (strata of different sizes)."""
    out = []
    for i in range(n):
        h = int(hashlib.sha256(str(i).encode()).hexdigest(), 16)
        out.append(
            ItemSummary(
                slide_id=f"S{i:05d}",
                diagnosis=CLASSES[(0, 0, 0, 1, 1, 2, 3, 4, 5, 6)[h % 10]],
                institution=SITES[(h // 10) % 4],
                warnings=1 if flagged_every and i % flagged_every == 0 else 0,
                annotation_path=f"annotations/S{i:05d}.json",
            )
        )
    return out


def plan_for(n: int, **kw: object) -> ReviewPlan:
    return build_plan(lot(n, kw.pop("flagged_every", 0)), BATCH, PlanOptions(**kw))  # type: ignore[arg-type]


def verdict_file(tmp_path: Path, rows: list[dict[str, object]], name: str = "v.json", **top: object) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({**top, "verdicts": rows}), encoding="utf-8")
    return path


def run(plan: ReviewPlan, paths: list[Path], profile: Profile, **kw: object) -> SemanticResult:
    return ingest(plan, read_verdict_files(paths), profile, IngestOptions(**kw))  # type: ignore[arg-type]


def verdicts(plan: ReviewPlan, fails: set[str] = frozenset(), reviewer: str = "kim", only: int | None = None):  # type: ignore[no-untyped-def, assignment]
    rows = []
    for s in plan.sample[:only]:
        fail = s.slide_id in fails
        rows.append({"slide_id": s.slide_id, "reviewer": reviewer, "verdict": "fail" if fail else "pass",
                     "reason": "wrong_class" if fail else ""})  # fmt: skip
    return rows


# --------------------------------------------------------------------------- the plan


def test_plan_for_a_lot_of_3500_at_level_ii() -> None:
    plan = plan_for(3500)
    assert (plan.code_letter, plan.plan_sample_size, plan.acceptance_number, plan.rejection_number) == (
        "L",
        200,
        5,
        6,
    )
    assert plan.sample_size == 200 and len(plan.sample) == 200
    assert sum(s.sampled for s in plan.strata) == 200 and sum(s.lot for s in plan.strata) == 3500
    assert all(s.sampled >= 1 for s in plan.strata)
    assert len({s.slide_id for s in plan.sample}) == 200


def test_plan_files_round_trip_and_refuse_edits(tmp_path: Path) -> None:
    plan = plan_for(300, seed=4)
    paths = write_plan(plan, tmp_path)
    assert read_plan(tmp_path) == plan
    assert paths["csv"].read_text(encoding="utf-8") == plan_csv(plan)
    rows = list(csv.DictReader(io.StringIO(plan_csv(plan))))
    assert list(rows[0]) == [
        "slide_id",
        "stratum",
        "weight",
        "flagged",
        "inclusion_probability",
        "sample",
        "run_id",
    ]
    assert len(rows) == plan.sample_size
    assert [r["sample"] for r in rows] == ["core" if s.core else "supplementary" for s in plan.sample]
    assert sum(r["sample"] == "core" for r in rows) == plan.plan_sample_size
    doc = json.loads(paths["json"].read_text())
    doc["acceptance_number"] = 99
    paths["json"].write_text(json.dumps(doc))
    with pytest.raises(PlanError, match="edited"):
        read_plan(tmp_path)
    # moving a slide from the supplementary sample into the core is an edit too
    doc = json.loads(plan.model_dump_json())
    supplementary = next(s for s in doc["sample"] if s["core"] is False)
    supplementary["core"] = True
    paths["json"].write_text(json.dumps(doc))
    with pytest.raises(PlanError, match="edited"):
        read_plan(tmp_path)
    paths["json"].write_text("{}")
    with pytest.raises(PlanError, match="not a dqm review plan"):
        read_plan(tmp_path)
    with pytest.raises(PlanError, match="cannot read"):
        read_plan(tmp_path / "missing")


def test_plan_refuses_an_empty_lot_and_bad_options() -> None:
    with pytest.raises(PlanError, match="no slide"):
        build_plan([], BATCH, PlanOptions())
    with pytest.raises(PlanError, match="AQL"):
        build_plan(lot(10), BATCH, PlanOptions(aql=0.7))
    with pytest.raises(PlanError, match="unknown plan"):
        build_plan(lot(10), BATCH, PlanOptions(plan="guess"))


def test_duplicate_slide_ids_are_kept_once_and_listed() -> None:
    items = lot(20)
    plan = build_plan([*items, items[3]], BATCH, PlanOptions())
    assert plan.lot_size == 20 and plan.duplicate_ids == [items[3].slide_id]


# --------------------------------------------------------------------------- estimates and decisions


@pytest.mark.parametrize("method", ["wilson", "clopper-pearson"])
@pytest.mark.parametrize("n_fail", [0, 5, 6, 200])
def test_complete_review_estimates_and_decision(
    tmp_path: Path, profile: Profile, method: str, n_fail: int
) -> None:
    plan = plan_for(3500)
    fails = {s.slide_id for s in plan.sample[:n_fail]}
    r = run(plan, [verdict_file(tmp_path, verdicts(plan, fails))], profile, ci_method=method)
    n = plan.sample_size
    assert (r.n_reviewed, r.n_pass, r.n_fail, r.remaining, r.provisional) == (n, n - n_fail, n_fail, 0, False)
    assert r.accuracy == pytest.approx((n - n_fail) / n)
    low, high = proportion_confint(
        n - n_fail, n, alpha=0.05, method="wilson" if method == "wilson" else "beta"
    )
    assert (r.ci_low, r.ci_high) == (pytest.approx(low, abs=1e-12), pytest.approx(high, abs=1e-12))
    assert r.decision == ("accept" if n_fail <= 5 else "reject") and r.decision_basis == "count"
    assert r.passed is (n_fail <= 5)
    assert r.fail_reasons["wrong_class"] == n_fail
    # the stratified estimate equals Σ N_c/N · p̂_c computed here from the plan
    by_cell: dict[str, list[int]] = {}
    for s in plan.sample:
        by_cell.setdefault(s.cell, []).append(s.slide_id not in fails)
    sizes = {c.label: c.lot for st in plan.strata for c in st.cells}
    expected = sum(sizes[c] / plan.lot_size * (sum(v) / len(v)) for c, v in by_cell.items())
    assert r.weighted is not None and r.weighted.accuracy == pytest.approx(expected)
    assert sum(st.reviewed for st in r.strata) == n and sum(st.n_pass for st in r.strata) == n - n_fail


def test_partial_review_is_provisional_until_re_is_reached(tmp_path: Path, profile: Profile) -> None:
    plan = plan_for(3500)
    half = verdicts(plan, only=100)
    r = run(plan, [verdict_file(tmp_path, half)], profile)
    assert (r.decision, r.remaining, r.provisional, r.n_reviewed) == ("incomplete", 100, True, 100)
    assert r.weighted is not None and r.weighted.lot_covered <= plan.lot_size
    assert sum(f.code == "VERDICT_MISSING" for f in r.findings) == 100
    six = {s.slide_id for s in plan.sample[:6]}
    r = run(plan, [verdict_file(tmp_path, verdicts(plan, six, only=20))], profile)
    assert (r.decision, r.n_fail, r.remaining) == (
        "reject",
        6,
        180,
    )  # Re = 6 reached: no later verdict can undo it


def test_no_verdict_at_all(tmp_path: Path, profile: Profile) -> None:
    plan = plan_for(50)
    r = run(plan, [verdict_file(tmp_path, [])], profile)
    assert (r.accuracy, r.ci_low, r.n_reviewed, r.decision, r.passed) == (None, None, 0, "incomplete", False)
    assert r.weighted is not None and r.weighted.accuracy is None
    assert r.remaining == plan.sample_size


def test_strata_of_one_slide(tmp_path: Path, profile: Profile) -> None:
    items = [ItemSummary(slide_id="solo", diagnosis="MM", institution="X"), *lot(30)]
    plan = build_plan(items, BATCH, PlanOptions())
    solo = next(st for st in plan.strata if st.label == "MM / X")
    assert (solo.lot, solo.sampled, solo.cells[0].weight) == (1, 1, 1.0)
    r = run(plan, [verdict_file(tmp_path, verdicts(plan, {"solo"}))], profile)
    got = next(st for st in r.strata if st.label == "MM / X")
    assert (got.reviewed, got.n_pass, got.accuracy) == (1, 0, 0.0)
    low, high = proportion_confint(0, 1, alpha=0.05, method="wilson")
    assert (got.ci_low, got.ci_high) == (pytest.approx(low), pytest.approx(high))


def test_weighted_estimate_closed_form() -> None:
    # cells: A 10 slides, 4 reviewed, 3 PASS; B 30 slides, 5 reviewed, all PASS; C 1 slide, reviewed, FAIL
    w = weighted_estimate({"A": (10, 4, 3), "B": (30, 5, 5), "C": (1, 1, 0)}, 41)
    assert w.accuracy == pytest.approx((10 * 0.75 + 30 * 1.0 + 0) / 41)
    s2_a = 4 * 0.75 * 0.25 / 3
    assert w.variance == pytest.approx((10 / 41) ** 2 * (1 - 4 / 10) * s2_a / 4)
    one = weighted_estimate({"A": (10, 1, 1)}, 10)  # one reviewed of ten: conservative s² = 1/4
    assert one.variance == pytest.approx((1 - 1 / 10) * 0.25) and "s² = 1/4" in one.note


def test_cells_of_one_reviewed_slide_are_collapsed_in_pairs_of_neighbours() -> None:
    """Cochran's collapsed strata (§5A.12): cells of one reviewed slide each were given s² = 1/4
    apiece; they are now paired in the plan's order (the last three together when odd) and each
    group's variance is L/(L−1) Σ (t_c − t̄)², t_c = (N_c/N) p̂_c. A cell of two reviewed keeps its s²."""
    cells = {
        "a": (100, 1, 1), "b": (100, 1, 0), "c": (50, 2, 1), "d": (100, 1, 1), "e": (100, 1, 1),
        "f": (150, 1, 0),
    }  # fmt: skip
    w = weighted_estimate(cells, 600)
    t = {k: n / 600 * p / r for k, (n, r, p) in cells.items()}
    pair = 2 * ((t["a"] - t["b"]) / 2) ** 2 * 2  # L/(L-1) = 2, two equal deviations
    mean = (t["d"] + t["e"] + t["f"]) / 3
    triple = 3 / 2 * sum((t[k] - mean) ** 2 for k in "def")
    own = (50 / 600) ** 2 * (1 - 2 / 50) * (2 * 0.5 * 0.5 / 1) / 2
    assert w.variance == pytest.approx(pair + triple + own)
    assert "5 cells with a single reviewed slide" in w.note and "2 collapsed groups" in w.note
    both = weighted_estimate({"a": (10, 1, 1), "b": (30, 1, 1)}, 40)  # a pair alike: no spread of p̂
    assert both.variance == pytest.approx(2 * ((10 - 30) / 40 / 2) ** 2 * 2)
    whole = weighted_estimate({"a": (1, 1, 0), "b": (30, 1, 1), "c": (9, 3, 3)}, 40)  # a: its whole cell
    s2_b = (1.0 - (1 * 0.0 + 9 * 1.0) / 10) ** 2  # b alone: collapsed with the rest (a and c)
    assert whole.variance == pytest.approx((30 / 40) ** 2 * (1 - 1 / 30) * s2_b)
    assert "the other cells' estimate" in whole.note


def test_a_lone_cell_of_one_reviewed_slide_is_collapsed_with_the_rest_of_the_lot() -> None:
    """One cell of one reviewed slide, none to pair it with, had s² = 1/4, the most a slide can
    have, whatever its verdict and the lot's. It is now collapsed with the rest of the lot (the
    lonely-PSU rule that centres it at the others' estimate): s² = (p̂_c − p̂_o)², p̂_o the other
    cells' stratified estimate; its expectation is the cell's variance plus V(p̂_o) and the squared
    difference of the means. 1/4 stays where no other cell has a verdict."""
    cells = {"a": (500, 20, 19), "b": (300, 12, 12), "lone": (200, 1, 1)}
    w = weighted_estimate(cells, 1000)
    p_o = (500 * 19 / 20 + 300 * 1.0) / 800
    own_a = (500 / 1000) ** 2 * (1 - 20 / 500) * (20 * 0.95 * 0.05 / 19) / 20
    lone = (200 / 1000) ** 2 * (1 - 1 / 200) * (1.0 - p_o) ** 2
    assert w.variance == pytest.approx(own_a + lone)
    assert lone < (200 / 1000) ** 2 * (1 - 1 / 200) * 0.25 / 200  # a PASS like the rest: far below 1/4
    failed = weighted_estimate(cells | {"lone": (200, 1, 0)}, 1000)  # a FAIL where the rest pass: more
    assert failed.variance == pytest.approx(own_a + (200 / 1000) ** 2 * (1 - 1 / 200) * p_o**2)
    assert "none to collapse it with" in w.note and "other cells' estimate" in w.note
    alone = weighted_estimate({"lone": (200, 1, 1), "empty": (100, 0, 0)}, 300)  # no other verdict yet
    assert alone.variance == pytest.approx((1 - 1 / 200) * 0.25) and "s² = 1/4" in alone.note


def test_a_cell_lone_only_because_its_review_is_unfinished_keeps_the_bound() -> None:
    """A large cell with one verdict in of the several slides drawn from it is lone only while its
    review is unfinished: centring it at the others' estimate gave s² ≈ (1 − 0.97)² and covered
    0.38 of trials when it held half the lot (review of the lone-cell change). It keeps 1/4 until
    its drawn slides are reviewed, and the note says why."""
    cells = {"a": (500, 20, 19), "lone": (500, 1, 1)}
    known = weighted_estimate(cells, 1000)
    waiting = weighted_estimate(cells, 1000, unfinished={"lone"})
    own_a = (500 / 1000) ** 2 * (1 - 20 / 500) * (20 * 0.95 * 0.05 / 19) / 20
    assert waiting.variance == pytest.approx(own_a + (500 / 1000) ** 2 * (1 - 1 / 500) * 0.25)
    assert known.variance < waiting.variance / 10
    assert "not yet reviewed" in waiting.note and "not yet reviewed" not in known.note


def test_unfinished_cells_are_those_with_drawn_slides_still_unreviewed() -> None:
    plan = plan_for(600)
    final = {s.slide_id: "pass" for s in plan.sample}
    assert unfinished_cells(plan, cell_counts(plan, final)) == frozenset()
    first = plan.sample[0]
    partial = {k: v for k, v in final.items() if k != first.slide_id}
    assert unfinished_cells(plan, cell_counts(plan, partial)) == {first.cell}


def test_an_all_pass_review_has_an_interval_not_a_point() -> None:
    # 40 of 500 reviewed in two cells, every one PASS: s² = 0 in every cell, but 460 slides are
    # unseen. The interval is Wilson's at n = 40 (finite-population corrected), not [1, 1].
    from dqm.semantic.intervals import effective_n, wilson_half_width

    w = weighted_estimate({"A": (300, 24, 24), "B": (200, 16, 16)}, 500)
    assert (w.accuracy, w.variance) == (1.0, 0.0)
    n = effective_n(40, 500)
    assert w.ci_high == 1.0 and w.ci_low == pytest.approx(1.0 - 2 * wilson_half_width(1.0, n))
    assert 0.9 < w.ci_low < 0.95 and w.ci_method.startswith("Wilson")
    # all FAIL in one cell, all PASS in the other: again no variance estimate, an interval around p̂_w
    mixed = weighted_estimate({"A": (300, 24, 24), "B": (200, 16, 0)}, 500)
    assert mixed.accuracy == pytest.approx(0.6) and mixed.ci_low < 0.5 and 0.7 < mixed.ci_high < 1.0
    # the whole lot reviewed: the estimate is exact and the interval a point
    whole = weighted_estimate({"A": (3, 3, 3)}, 3)
    assert (whole.ci_low, whole.ci_high, whole.ci_method) == (1.0, 1.0, "normal")


def test_an_all_pass_review_with_single_cells_of_unequal_sizes_gets_wilson() -> None:
    """Collapsed pairs of all-PASS cells of unequal sizes add (N_a/N − N_b/N)² to the variance,
    which is then not 0: the fallback to Wilson did not fire and 261 PASS out of 261 gave a normal
    interval [0.99968, 1] for a lot of 32,070 slides. Purity of the cells decides, not var == 0."""
    from dqm.semantic.intervals import effective_n, wilson_bounds

    cells = {f"s{i:02d}": (200 + i, 1, 1) for i in range(60)} | {"big": (20000, 200, 200)}
    n = sum(v[0] for v in cells.values())
    w = weighted_estimate(cells, n)
    assert w.accuracy == 1.0 and w.variance is not None and w.variance > 0.0
    assert (w.ci_low, w.ci_high) == pytest.approx(wilson_bounds(1.0, effective_n(260, n)))
    assert w.ci_high == 1.0 and 0.98 < w.ci_low < 0.99 and w.ci_method.startswith("Wilson")
    # a trailing triple of equal all-PASS cells: a variance of rounding (2e-34) gave exactly [1, 1]
    triple = {f"s{i}": (137, 1, 1) for i in range(3)} | {"m": (1000, 10, 10)}
    t = weighted_estimate(triple, 1411)
    assert t.ci_high == 1.0 and t.ci_low < 0.8 and t.ci_method.startswith("Wilson")


def test_at_high_accuracy_the_interval_is_bounded_by_wilson_at_the_reviewed_count() -> None:
    """200 cells of 10 slides, one reviewed in each, one FAIL among the 200: the collapsed pairs give
    the failing pair alone a variance, 2·2·(0.005/2)², and the normal interval 0.995 ± 0.0098 left
    out a lot of accuracy 0.98 (40 failing slides), though a sample of 200 from it shows at most
    one failure with probability 0.08. The interval now holds Wilson's at 200 reviewed."""
    from scipy.stats import hypergeom

    from dqm.semantic.intervals import effective_n, wilson_bounds, z_value

    cells = {f"c{i:03d}": (10, 1, 0 if i == 0 else 1) for i in range(200)}
    w = weighted_estimate(cells, 2000)
    assert w.accuracy == pytest.approx(0.995) and w.variance == pytest.approx(2 * 2 * 0.0025**2)
    old_low = 0.995 - z_value(0.95) * math.sqrt(2.5e-5)
    assert old_low > 0.98 and hypergeom.cdf(1, 2000, 40, 200) > 0.05  # the former rule missed it
    low, _ = wilson_bounds(0.995, effective_n(200, 2000))
    assert (w.ci_low, w.ci_high) == (pytest.approx(low), 1.0)  # the normal high, clipped
    assert w.ci_low < 0.98 and w.ci_method.startswith("normal, widened")
    # where the cells' own variances are larger than Wilson's, the normal interval stands
    wide = weighted_estimate({"A": (300, 24, 12), "B": (200, 16, 8)}, 500)
    assert wide.ci_method == "normal" and wide.ci_low == pytest.approx(
        0.5 - z_value(0.95) * wide.standard_error
    )


def test_single_stratum_is_simple_random_sampling() -> None:
    # p̂ and the textbook unbiased variance (1 - n/N) p̂ (1 - p̂) / (n - 1)
    w = weighted_estimate({"all": (500, 40, 34)}, 500)
    p = 34 / 40
    assert w.accuracy == pytest.approx(p) and w.variance == pytest.approx((1 - 40 / 500) * p * (1 - p) / 39)


def test_oversampled_plan_decides_on_the_core_count(tmp_path: Path, profile: Profile) -> None:
    plan = plan_for(3500, flagged_every=7, oversample=True, factor=4.0)
    assert plan.oversampling.enabled and plan.oversampling.flagged_in_sample > plan.sample_size / 7
    fails = {s.slide_id for s in plan.sample if s.flagged}
    r = run(plan, [verdict_file(tmp_path, verdicts(plan, fails))], profile)
    core_fails = sum(s.core is True for s in plan.sample if s.flagged)
    # the extra flagged slides oversampling added are supplementary: the decision never sees them
    assert r.core is not None and r.core.size == plan.plan_sample_size == 200
    assert r.n_fail > core_fails == r.core.n_fail
    assert (r.decision_basis, r.failures_counted, r.decision) == ("count", core_fails, "reject")
    assert r.core.accuracy == pytest.approx(1 - core_fails / 200)
    # the raw share over-counts the flagged slides; the weighted one puts them back in proportion
    assert r.weighted is not None and r.weighted.accuracy is not None
    truth = 1 - sum(1 for i in lot(3500, 7) if i.warnings) / 3500
    assert r.accuracy is not None and r.accuracy < truth
    assert abs(r.weighted.accuracy - truth) < abs(r.accuracy - truth)


def test_precision_plan_decides_by_target(tmp_path: Path, profile: Profile) -> None:
    plan = plan_for(2000, plan="precision", margin=0.05)
    assert plan.acceptance_number is None and plan.plan_sample_size == sum(bool(s.core) for s in plan.sample)
    fails = {s.slide_id for s in plan.sample[:3]}
    r = run(plan, [verdict_file(tmp_path, verdicts(plan, fails))], profile, target=0.95)
    assert r.decision_basis == "target" and r.target == 0.95
    assert r.decision == ("accept" if r.weighted.accuracy >= 0.95 else "reject")  # type: ignore[union-attr]


def test_the_gated_figure_is_the_one_the_decision_compared(tmp_path: Path, profile: Profile) -> None:
    # Oversampled precision plan: the raw PASS share (0.925) is under the target, the stratified
    # estimate the decision uses (0.97) is over it; the gated figure must be the latter.
    from dqm.figures import dimension_gates
    from tests.reports.conftest import make_result

    plan = plan_for(2000, plan="precision", margin=0.05, oversample=True, flagged_every=5)
    flagged = [s.slide_id for s in plan.sample if s.flagged]
    r = run(plan, [verdict_file(tmp_path, verdicts(plan, set(flagged[: len(flagged) // 6])))], profile)
    assert r.weighted is not None and r.weighted.accuracy is not None and r.accuracy is not None
    assert r.accuracy < 0.95 <= r.weighted.accuracy and r.decision == "accept"
    (g,) = dimension_gates(make_result(semantic=r), "semantic")
    assert (g.name, g.value, g.target, g.passed) == ("weighted_accuracy", r.weighted.accuracy, 0.95, True)
    assert (g.ci_low, g.ci_high) == (r.weighted.ci_low, r.weighted.ci_high)
    assert (g.pointer, g.value_field) == ("/semantic/weighted", "accuracy")
    # an ISO plan decides on the FAIL count: the raw accuracy is shown with the decision
    iso = run(plan_for(300), [verdict_file(tmp_path, verdicts(plan_for(300)), "iso.json")], profile)
    (g,) = dimension_gates(make_result(semantic=iso), "semantic")
    assert (g.key, g.value, g.target, g.passed) == ("semantic.accuracy", 1.0, None, True)


# --------------------------------------------------------------------------- validation findings


def test_validation_findings(tmp_path: Path, profile: Profile) -> None:
    plan = plan_for(300)
    sampled = [s.slide_id for s in plan.sample]
    outside = next(i for i in plan.lot_ids if i not in set(sampled))
    rows = [
        {"slide_id": sampled[0], "reviewer": "kim", "verdict": "pass"},
        {"slide_id": sampled[0], "reviewer": "kim", "verdict": "pass"},
        {"slide_id": sampled[1], "reviewer": "kim", "verdict": "pass"},
        {"slide_id": sampled[1], "reviewer": "kim", "verdict": "fail", "reason": "other"},
        {"slide_id": "NOPE", "reviewer": "kim", "verdict": "pass"},
        {"slide_id": outside, "reviewer": "kim", "verdict": "fail", "reason": "other"},
    ]
    r = run(plan, [verdict_file(tmp_path, rows, plan_id="0" * 64)], profile)
    codes = [(f.code, f.severity) for f in r.findings if f.code != "VERDICT_MISSING"]
    assert codes == [
        ("VERDICT_PLAN_MISMATCH", "warning"),
        ("VERDICT_DUPLICATE", "warning"),
        ("VERDICT_DUPLICATE", "error"),
        ("VERDICT_UNKNOWN_SLIDE", "error"),
        ("VERDICT_OUTSIDE_PLAN", "warning"),
    ]
    dup = next(f for f in r.findings if f.severity == "error" and f.code == "VERDICT_DUPLICATE")
    assert dup.pointer == "/verdicts/3" and dup.slide_id == sampled[1] and "count as FAIL" in dup.message
    # the same verdict again: the first kept; a PASS then a FAIL: the FAIL; the outside one not counted
    assert r.n_reviewed == 2 and r.n_fail == 1
    assert sum(f.code == "VERDICT_MISSING" for f in r.findings) == plan.sample_size - 2


def test_usage_errors_are_raised_before_reading(profile: Profile) -> None:
    plan = plan_for(20)
    with pytest.raises(ValueError):
        ingest(plan, [], profile, IngestOptions(adjudication="coin"))
    with pytest.raises(ValueError):
        ingest(plan, [], profile, IngestOptions(ci_method="wald"))


# --------------------------------------------------------------------------- several reviewers


def test_two_reviewers_agreement_and_adjudication(tmp_path: Path, profile: Profile) -> None:
    plan = plan_for(3500)
    ids = [s.slide_id for s in plan.sample]
    kim_fails, lee_fails = set(ids[:8]), set(ids[4:10])
    a = verdict_file(tmp_path, verdicts(plan, kim_fails, "kim"), "kim.json")
    b = verdict_file(tmp_path, verdicts(plan, lee_fails, "lee"), "lee.json")
    strict = run(plan, [a, b], profile)
    table = np.array(
        [
            [len(set(ids) - kim_fails - lee_fails), len(lee_fails - kim_fails)],
            [len(kim_fails - lee_fails), len(kim_fails & lee_fails)],
        ],
        dtype=float,
    )
    ref = cohens_kappa(table)
    assert strict.agreement is not None and strict.agreement.method == "cohen"
    assert strict.agreement.kappa == pytest.approx(ref.kappa)
    assert strict.agreement.ci_low == pytest.approx(ref.kappa_low)
    assert [d.slide_id for d in strict.disagreements] == sorted(kim_fails ^ lee_fails)
    assert strict.n_fail == len(kim_fails | lee_fails) and strict.reviewers == ["kim", "lee"]
    assert run(plan, [a, b], profile, adjudication="reviewer=lee").n_fail == len(lee_fails)
    assert run(plan, [a, b], profile, adjudication="majority").n_fail == len(
        kim_fails | lee_fails
    )  # ties fail


# --------------------------------------------------------------------------- corrected outlines


def test_corrected_outlines_give_dice_per_slide_and_class(tmp_path: Path, profile: Profile) -> None:
    plan = plan_for(40)
    target = plan.sample[0].slide_id
    corrected = {
        "type": "Feature",
        "properties": {"class": "BCC"},
        "geometry": {"type": "Polygon", "coordinates": [[[5, 0], [15, 0], [15, 10], [5, 10], [5, 0]]]},
    }
    rows = [
        {
            "slide_id": target,
            "reviewer": "kim",
            "verdict": "fail",
            "reason": "boundary_too_loose",
            "corrected": corrected,
        }
    ]
    delivered = {target: [("BCC", shapely.box(0, 0, 10, 10))]}

    def loader(slide_id: str):  # type: ignore[no-untyped-def]
        return delivered.get(slide_id, "no annotation")

    r = ingest(plan, read_verdict_files([verdict_file(tmp_path, rows)]), profile, IngestOptions(), loader)
    by_label = {o.label: o for o in r.overlaps}
    assert by_label["BCC"].dice == pytest.approx(0.5) and by_label["BCC"].iou == pytest.approx(1 / 3)
    assert by_label["all"].dice == pytest.approx(0.5)
    summary = {s.label: s for s in r.overlap_by_class}
    assert summary["BCC"].n == 1 and summary["BCC"].mean_dice == pytest.approx(0.5)
    r2 = ingest(plan, read_verdict_files([verdict_file(tmp_path, rows)]), profile, IngestOptions(), None)
    assert [f.code for f in r2.findings if f.code.startswith("CORRECTION")] == ["CORRECTION_NO_DELIVERED"]


def test_semantic_result_round_trips_as_json(tmp_path: Path, profile: Profile) -> None:
    plan = plan_for(300)
    r = run(plan, [verdict_file(tmp_path, verdicts(plan, {plan.sample[0].slide_id}))], profile)
    assert SemanticResult.model_validate_json(r.model_dump_json()) == r


def test_plan_for_the_reference_study_lot() -> None:
    """34,376 slides over 7 classes × 4 institutions, level II, AQL 1.0: M, n = 315, Ac 7, Re 8."""
    plan = plan_for(34_376)
    assert (plan.code_letter, plan.plan_sample_size, plan.acceptance_number, plan.rejection_number) == (
        "M",
        315,
        7,
        8,
    )
    core = [s for s in plan.sample if s.core]
    assert len(core) == 315 and len(plan.strata) == 28
    assert all(st.sampled >= 1 for st in plan.strata)
    # the core is a simple random sample: each stratum holds about its share of 315 (hypergeometric)
    for st in plan.strata:
        share = st.lot / 34_376
        sd = (315 * share * (1 - share) * (34_376 - 315) / (34_376 - 1)) ** 0.5
        assert abs(sum(s.stratum == st.label for s in core) - 315 * share) < 4 * sd
    # supplementary slides only where a stratum's floor of one needed them
    assert plan.sample_size - 315 == sum(
        1 for st in plan.strata if not any(s.stratum == st.label for s in core)
    )


def test_strata_left_unsampled_are_said_not_covered(tmp_path: Path, profile: Profile) -> None:
    items = [*lot(400), ItemSummary(slide_id="rare", diagnosis="MM", institution="Nowhere")]
    # with no floor the sample is the core alone; the first seed that leaves "rare" out of it
    plans = (build_plan(items, BATCH, PlanOptions(minimum=0, seed=seed)) for seed in range(20))
    plan = next(p for p in plans if all(s.slide_id != "rare" for s in p.sample))
    assert plan.sample_size == plan.plan_sample_size
    rare = next(st for st in plan.strata if st.label == "MM / Nowhere")
    assert rare.sampled == 0
    r = run(plan, [verdict_file(tmp_path, verdicts(plan))], profile)
    assert r.decision == "accept" and r.weighted is not None
    left = sum(st.lot for st in plan.strata if st.sampled == 0)
    assert left >= 1 and r.weighted.lot_covered == 401 - left
    assert f"{left} slide(s) in strata with no sampled slide" in r.weighted.note
    assert "provisional" not in r.weighted.note


# --------------------------------------------------------------------------- the equal-probability core


def lot_150_and_25_pairs() -> list[ItemSummary]:
    """Issue 14's lot of 200: one stratum of 150 slides and 25 strata of 2."""
    big = [ItemSummary(slide_id=f"B{i:03d}", diagnosis="BCC") for i in range(150)]
    pairs = [
        ItemSummary(slide_id=f"R{k:02d}-{j}", diagnosis=f"R{k:02d}") for k in range(25) for j in range(2)
    ]
    return big + pairs


def test_floors_that_keep_the_total_at_n_no_longer_decide_the_lot(tmp_path: Path, profile: Profile) -> None:
    """Lot 200 = 150 + 25 × 2: the floors alone already fill n = 50 with π 0.167 and 0.5.

    The decision must rest on the equal-probability core (π = 50/200 for every slide); the
    supplementary slides the floors add count for the strata and the weighted estimate only.
    """
    from dqm.semantic.allocation import allocate

    sizes = {"BCC": 150, **{f"R{k:02d}": 2 for k in range(25)}}
    floors_fill_n = allocate(sizes, 50, minimum=1)  # what a stratified draw of n would give
    assert sum(floors_fill_n.values()) == 50 and floors_fill_n["BCC"] == 25
    assert {floors_fill_n[k] / sizes[k] for k in sizes} == {25 / 150, 0.5}

    plan = build_plan(lot_150_and_25_pairs(), BATCH, PlanOptions(strata=("diagnosis",), seed=3))
    assert (plan.lot_size, plan.code_letter, plan.plan_sample_size) == (200, "H", 50)
    assert (plan.acceptance_number, plan.rejection_number) == (1, 2)
    core = [s for s in plan.sample if s.core]
    extra = [s for s in plan.sample if s.core is False]
    assert len(core) == 50 and len(extra) == plan.sample_size - 50 > 0
    # supplementary slides only in pairs the core missed, one each: the floor
    assert all(s.stratum != "BCC" for s in extra)
    assert {s.stratum for s in extra}.isdisjoint({s.stratum for s in core})
    assert len({s.stratum for s in extra}) == len(extra)
    assert all(st.sampled >= 1 for st in plan.strata)

    def judged(fail: set[str], skip: frozenset[str] | set[str] = frozenset()) -> SemanticResult:
        rows = [r for r in verdicts(plan, fail) if r["slide_id"] not in skip]
        return run(plan, [verdict_file(tmp_path, rows)], profile)

    # every supplementary slide FAILs, every core slide PASSes: accepted, the core has no FAIL
    r = judged({s.slide_id for s in extra})
    assert r.n_fail == len(extra) >= plan.rejection_number  # the raw count would have rejected
    assert r.core is not None and (r.core.size, r.core.reviewed, r.core.n_fail) == (50, 50, 0)
    assert r.core.inclusion_probability == 0.25
    assert (r.decision, r.decision_basis, r.failures_counted) == ("accept", "count", 0.0)
    # ... while the per-stratum figures and the weighted estimate see those FAILs
    assert r.weighted is not None and r.weighted.accuracy is not None and r.weighted.accuracy < 1.0
    failed = {s.stratum for s in extra}
    for st in r.strata:
        assert st.core_sampled == sum(s.stratum == st.label for s in core)
        assert (st.n_pass < st.reviewed) == (st.label in failed)
    (gate,) = r.gates
    assert (gate.value, gate.denominator, gate.unit, gate.source) == (1.0, 50, "core slides", "core")

    # Re = 2 FAILs in the core reject, whatever the supplementary slides say
    r = judged({s.slide_id for s in core[:2]})
    assert (r.decision, r.failures_counted, r.core.n_fail) == ("reject", 2.0, 2)  # type: ignore[union-attr]
    # one core FAIL with the core complete decides; the supplementary review may still be open
    r = judged({core[0].slide_id}, skip={s.slide_id for s in extra})
    assert (r.decision, r.provisional, r.remaining) == ("accept", True, len(extra))
    assert r.core is not None and r.core.remaining == 0
    # a core slide without a verdict leaves the lot undecided, as before
    r = judged({core[0].slide_id}, skip={core[1].slide_id})
    assert r.decision == "incomplete" and r.core is not None and r.core.remaining == 1
    assert "among the 50 core slides" in r.gates[0].note and "core slides" in r.method


def test_a_plan_written_before_the_core_still_ingests_as_before(tmp_path: Path, profile: Profile) -> None:
    """``data/review_plan_without_core.json`` was written by dqm 0.1.0 before slides were marked
    core or supplementary: lot 30, n = 13, 20 slides drawn because the floors raised the sample."""
    plan = read_plan(Path(__file__).parent / "data" / "review_plan_without_core.json")
    assert not plan.has_core and (plan.plan_sample_size, plan.sample_size) == (13, 20)
    assert all(row.endswith(",") for row in plan_csv(plan).splitlines()[1:])  # empty sample column
    fails = {plan.sample[0].slide_id}
    r = run(plan, [verdict_file(tmp_path, verdicts(plan, fails))], profile)
    assert r.core is None and all(st.core_sampled is None for st in r.strata)
    # decided as then: unequal probabilities, so the weighted count against Ac = 0
    assert r.decision_basis == "weighted" and r.weighted is not None and r.weighted.accuracy is not None
    assert r.failures_counted == pytest.approx(13 * (1 - r.weighted.accuracy))
    assert r.decision == "reject"
    assert "before the sample had an equal-probability core" in r.note
    assert plan.seed_source is None and "written before dqm recorded it" in r.method  # seed 0 then
    assert "ISO 2859-1 does not have" in r.note
    (gate,) = r.gates
    assert (gate.denominator, gate.source) == (20, "")


def test_the_method_says_how_the_seed_was_chosen(tmp_path: Path, profile: Profile) -> None:
    """A seed given to ``dqm sample`` could be known before delivery: the report says so. A drawn
    one is stated as what dqm recorded (anyone can set the field), not as "nobody could know the
    sample before"."""
    for source, words in (
        ("drawn", "dqm sample recorded that it drew the seed itself"),
        ("given", "given to dqm sample (--seed)"),
    ):
        options = PlanOptions(strata=("diagnosis",), seed=3, seed_source=source)
        plan = build_plan(lot_150_and_25_pairs(), BATCH, options)
        assert plan.seed_source == source
        r = run(plan, [verdict_file(tmp_path, verdicts(plan))], profile)
        assert words in r.method and "nobody could know" not in r.method


def test_how_the_seed_was_chosen_is_no_part_of_the_plan_id(tmp_path: Path) -> None:
    """``--seed N`` with the seed dqm drew gave the same sample but another ``plan_id``: the id
    hashed ``seed_source``, provenance rather than the draw. The same batch and seed are the same
    plan now; a plan written while the field was hashed still reads, and an edited sample does not."""
    drawn, given = (
        build_plan(lot_150_and_25_pairs(), BATCH, PlanOptions(strata=("diagnosis",), seed=3, seed_source=s))
        for s in ("drawn", "given")
    )
    assert drawn.sample == given.sample and drawn.plan_id == given.plan_id
    hashed = drawn.model_dump(mode="json")
    body = drawn.model_dump_json(
        exclude={
            **dict.fromkeys(("plan_id", "run_id", "lq", "lot", "strata_merge"), True),
            "sample": {"__all__": {"files"}},  # no slide's files: hashed as before the field
        }
    )
    hashed["plan_id"] = hashlib.sha256(body.encode("utf-8")).hexdigest()  # the id as it was hashed
    assert hashed["plan_id"] != drawn.plan_id
    (tmp_path / "review_plan.json").write_text(json.dumps(hashed), encoding="utf-8")
    assert read_plan(tmp_path / "review_plan.json").seed_source == "drawn"
    hashed["sample"] = hashed["sample"][1:]
    (tmp_path / "review_plan.json").write_text(json.dumps(hashed), encoding="utf-8")
    with pytest.raises(PlanError, match="edited after dqm wrote it"):
        read_plan(tmp_path / "review_plan.json")


def test_the_report_shows_the_core_and_the_supplement(tmp_path: Path, profile: Profile) -> None:
    from reports.html import render_html
    from tests.reports.conftest import make_result, parse_html

    plan = build_plan(lot_150_and_25_pairs(), BATCH, PlanOptions(strata=("diagnosis",), seed=3))
    extra = {s.slide_id for s in plan.sample if s.core is False}
    r = run(plan, [verdict_file(tmp_path, verdicts(plan, extra))], profile)
    doc = parse_html(render_html(make_result(semantic=r)))
    section = doc.by_id("semantic")
    head = " ".join(section.text.split())
    assert f"0 FAIL among the 50 core slides, {len(extra)} among all {plan.sample_size} sampled" in head
    sample = " ".join(doc.by_id("semantic-sample").text.split())
    assert sample.startswith(
        "Sample: 50 core slides, a simple random sample of the 200 (every slide's chance 0.25)"
    )
    assert f"and {len(extra)} supplementary slides" in sample
    rows = [
        cells for tr in section.find_all("tr") if (cells := [td.text.strip() for td in tr.find_all("td")])
    ]
    assert rows[0][:2] == ["core (equal-probability sample): decides the lot", "50 / 50 core slides PASS"]
    by_stratum = {row[0]: row for row in rows if row[0].startswith(("BCC", "R"))}
    assert all(
        by_stratum[st.label][2:4] == [str(st.sampled), str(st.core_sampled)] for st in r.strata
    )  # sampled, of which core

    old = read_plan(Path(__file__).parent / "data" / "review_plan_without_core.json")
    r = run(old, [verdict_file(tmp_path, verdicts(old))], profile)
    doc = parse_html(render_html(make_result(semantic=r)))
    assert "dqm 0.1.0" in doc.by_id("semantic-note").text
    assert not [n for n in doc.iter() if n.attrs.get("id") == "semantic-sample"]


def test_a_full_export_handed_in_lists_a_bounded_number_of_findings(tmp_path: Path, profile: Profile) -> None:
    """A verdict file judging every slide of the lot, three times over, with bad rows among them:
    each row outside the plan, each repeat and each bad row was a finding of its own (a million
    rows: a million findings, 32 s and 724 MB, a semantic.json of hundreds of MB). The first
    FINDINGS_PER_CODE of each code and severity are listed in full, one more counts the rest; the
    sampled slides' verdicts count as before."""
    from dqm.semantic.verdicts import FINDINGS_PER_CODE

    plan = plan_for(600)
    rows = verdicts(plan) + [
        {"slide_id": f"S{i % 600:05d}", "reviewer": "kim", "verdict": "pass" if i % 9 else "maybe"}
        for i in range(1800)
    ]
    path = tmp_path / "v.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, ["slide_id", "reviewer", "verdict", "reason"])
        writer.writeheader()
        writer.writerows(rows)
    result = run(plan, [path], profile)
    assert result.n_reviewed == plan.sample_size and result.n_fail == 0
    by_kind: dict[tuple[str, str], list[str]] = {}
    for f in result.findings:
        by_kind.setdefault((f.code, f.severity), []).append(f.message)
    bad = sum(1 for i in range(1800) if i % 9 == 0)
    outside = sum(
        1 for i in range(1800) if i % 9 and f"S{i % 600:05d}" not in {s.slide_id for s in plan.sample}
    )
    for kind, total in [
        (("VERDICT_BAD_VALUE", "error"), bad),
        (("VERDICT_OUTSIDE_PLAN", "warning"), outside),
    ]:
        messages = by_kind[kind]
        assert len(messages) == FINDINGS_PER_CODE + 1, kind
        assert f"{total - FINDINGS_PER_CODE} more findings of this code are not listed" in messages[-1]
    assert all(len(m) <= FINDINGS_PER_CODE + 1 for m in by_kind.values())


def test_the_delivered_outline_is_not_read_through_a_link_out_of_the_batch(
    tmp_path: Path, clean_batch: Path, profile: Profile
) -> None:
    """Dice and IoU of a correction read the delivered annotation at the plan's path with no jail:
    a link there to a file outside the batch was followed, and that file's lesions scored."""
    from dqm.semantic.ingest import delivered_loader

    plan = plan_for(200)
    rel = plan.sample[0].annotation_path
    assert rel is not None
    outside = tmp_path / "outside.json"
    outside.write_bytes(next((clean_batch / "annotations").glob("*.json")).read_bytes())
    root = tmp_path / "batch"
    (root / rel).parent.mkdir(parents=True)
    (root / rel).symlink_to(outside)
    said = delivered_loader(root, plan, profile)(plan.sample[0].slide_id)
    assert isinstance(said, str) and "outside the batch" in said and rel in said
    (root / rel).unlink()
    (root / rel).write_bytes(outside.read_bytes())  # the same file inside: read
    assert not isinstance(delivered_loader(root, plan, profile)(plan.sample[0].slide_id), str)
    (root / rel).unlink()
    said = delivered_loader(root, plan, profile)(plan.sample[0].slide_id)
    assert isinstance(said, str) and "not found in the batch" in said


def test_the_delivered_outline_of_a_shared_coco_file_builds_only_its_own_image(
    tmp_path: Path, profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loader resolved the classes of every image of a COCO file, building every lesion of
    the file for each slide scored (1.1 s a load on a file of 10,000 images, not 0.19 s): now the
    slide's image is picked first and only its lesions are built."""
    from dqm.readers.common import base, held
    from dqm.semantic.ingest import delivered_loader

    made: list[int] = []

    def counted(index: int, *args: object, **kwargs: object) -> object:
        made.append(index)
        return base.lesion_as_read(index, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(held, "lesion_as_read", counted)
    plan = plan_for(200)
    slide = plan.sample[0].slide_id
    _shared_coco(tmp_path, plan, ["a", slide, "b"], 3)
    said = delivered_loader(tmp_path, plan, profile)(slide)
    assert not isinstance(said, str) and len(said) == 3
    assert made == [3, 4, 5]  # the slide's image's three lesions, each built once


def test_a_slide_a_shared_file_does_not_list_is_not_scored_against_another_images_outline(
    tmp_path: Path, profile: Profile
) -> None:
    """The loader fell back to the file's first image when none was the slide's: a reviewer's
    outline was scored against another slide's lesions. As the audit (``IMAGE_NOT_IN_FILE``),
    the slide has no delivered outline, and the reason says so."""
    from dqm.semantic.ingest import delivered_loader

    plan = plan_for(200)
    slide = plan.sample[0].slide_id
    _shared_coco(tmp_path, plan, ["a", "b"], 2)
    said = delivered_loader(tmp_path, plan, profile)(slide)
    assert isinstance(said, str) and "none of the file's 2 images is named" in str(said)


def _two_slides_on_one_file(
    root: Path, profile: Profile, second_image: str, names: list[str], small: int
) -> tuple[ReviewPlan, Any, Any]:
    """The outlines the loader gives a plan's first two slides, at ``a/slide1.svs`` and
    ``second_image``, on one COCO file of images ``names`` (one square each, image ``small``'s
    the small one), and the plan."""
    from dqm.semantic.ingest import delivered_loader

    plan = plan_for(200)
    first, second = plan.sample[:2]
    rel = first.annotation_path
    sample = [
        first.model_copy(update={"image_path": "a/slide1.svs"}),
        second.model_copy(update={"image_path": second_image, "annotation_path": rel}),
    ]
    plan = plan.model_copy(update={"sample": sample})
    _shared_coco(root, plan, names, 1)
    doc = json.loads((root / str(rel)).read_text(encoding="utf-8"))
    doc["annotations"][small]["segmentation"] = [[0, 0, 5, 0, 5, 5, 0, 5]]
    (root / str(rel)).write_text(json.dumps(doc), encoding="utf-8")
    load = delivered_loader(root, plan, profile)
    return plan, load(first.slide_id), load(second.slide_id)


def test_the_delivered_outline_of_a_shared_file_is_the_image_of_the_slides_path(
    tmp_path: Path, profile: Profile
) -> None:
    """Two sampled slides ``a/slide1.svs`` and ``b/slide1.svs`` on one COCO file listing both by
    path: the loader gave both the first image's lesions (matched by file name). It now picks by
    the audit's rule (:func:`dqm.readers.items.image_of`): each slide its own image, and a name
    two images go by with no path to tell them apart is said, not guessed."""
    from dqm.semantic.ingest import delivered_loader

    names = ["b/slide1.svs", "a/slide1.svs"]  # b's square, then a's (the small one)
    plan, a, b = _two_slides_on_one_file(tmp_path, profile, "b/slide1.svs", names, 1)
    assert not isinstance(a, str) and not isinstance(b, str)
    assert a[0][1].bounds == (0, 0, 5, 5) and b[0][1].bounds == (10, 10, 60, 60)
    rel = plan.sample[0].annotation_path
    (tmp_path / str(rel)).unlink()
    (tmp_path / str(rel)).parent.rmdir()
    _shared_coco(tmp_path, plan, ["x/slide1.svs", "y/slide1.svs"], 1)
    said = delivered_loader(tmp_path, plan, profile)(plan.sample[0].slide_id)
    assert (
        isinstance(said, str)
        and "2 of the file's images go by the name" in said
        and "(x/slide1.svs, y/slide1.svs)" in said
    )


def test_the_delivered_outline_is_never_the_image_another_sampled_slide_names(
    tmp_path: Path, profile: Profile
) -> None:
    """Slide ``a/slide1.svs``'s image listed by its slide id (``<id>.png``) beside
    ``b/slide1.svs``: the loader gave the first slide ``b/slide1.svs``'s lesions too, by its
    file name. An image another slide of the plan names by its path (written ``./b\\slide1.svs``
    in the plan) is that slide's."""
    first = plan_for(200).sample[0].slide_id
    names = [f"{first}.png", "b/slide1.svs"]  # the first slide's (small) square, then b's
    _, a, b = _two_slides_on_one_file(tmp_path, profile, "./b\\slide1.svs", names, 0)
    assert not isinstance(a, str) and not isinstance(b, str)
    assert a[0][1].bounds == (0, 0, 5, 5) and b[0][1].bounds == (10, 10, 60, 60)


def _shared_coco(root: Path, plan: ReviewPlan, names: list[str], per_image: int) -> None:
    """A COCO file of images ``names``, ``per_image`` squares each, at the plan's first slide's
    annotation path under ``root``."""
    rel = plan.sample[0].annotation_path
    assert rel is not None
    square = [[10, 10, 60, 10, 60, 60, 10, 60]]
    n = len(names) * per_image
    doc = {
        "images": [{"id": i, "file_name": name} for i, name in enumerate(names, 1)],
        "annotations": [
            {"id": k + 1, "image_id": 1 + k // per_image, "category_id": 1, "segmentation": square}
            for k in range(n)
        ],
        "categories": [{"id": 1, "name": "BCC"}],
    }
    (root / rel).parent.mkdir(parents=True)
    (root / rel).write_text(json.dumps(doc), encoding="utf-8")


def test_the_review_servers_outline_is_the_image_the_audit_gives_the_slide(
    tmp_path: Path, profile: Profile
) -> None:
    """The review server asked for a slide's image by its plan path and slide id alone: with
    slide ``A`` at ``a/slide1.svs`` listed as ``A.png`` beside ``b/slide1.svs``, the file name
    picked ``b/slide1.svs`` for ``A`` too. It asks as the audit does, knowing the batch's other
    readers of the file (:attr:`dqm.model.Item.file_readers`)."""
    from dqm.semantic.server.sample import ReviewSample

    _coco_batch(
        tmp_path, ["A.png", "b/slide1.svs"], [1, 2, 2], [("A", "a/slide1.svs"), ("B", "b/slide1.svs")]
    )
    plan = plan_for(200)
    first, second = plan.sample[:2]
    sample = [
        first.model_copy(
            update={"slide_id": "A", "image_path": "a/slide1.svs", "annotation_path": "coco.json"}
        ),
        second.model_copy(
            update={"slide_id": "B", "image_path": "b/slide1.svs", "annotation_path": "coco.json"}
        ),
    ]
    review = ReviewSample(plan.model_copy(update={"sample": sample}), tmp_path, profile, lambda value: value)  # type: ignore[arg-type]
    a, b = (review._annotation(slide)[0] for slide in review.slides)
    assert a is not None and b is not None
    assert (len(a.lesions), len(b.lesions)) == (1, 2)


def test_a_slide_the_batch_does_not_list_is_never_given_an_image_a_batch_slide_names(
    tmp_path: Path, profile: Profile
) -> None:
    """A sampled slide the batch no longer lists (its row removed since the plan) was matched
    knowing only the plan's slides on its file: the batch's slide ``B`` at ``p/q/b/slide1.svs``
    names its image by its whole path, but the plan's slide at ``q/b/slide1.svs`` (its own image
    listed by its slide id) ends like it in three parts and was given ``B``'s lesions. It is
    matched knowing every slide of the batch that reads the file too."""
    from dqm.semantic.ingest import delivered_loader

    plan = plan_for(200)
    first = plan.sample[0]
    _coco_batch(
        tmp_path, ["p/q/b/slide1.svs", f"{first.slide_id}.png"], [1, 1, 2], [("B", "p/q/b/slide1.svs")]
    )
    sample = [first.model_copy(update={"image_path": "q/b/slide1.svs", "annotation_path": "coco.json"})]
    said = delivered_loader(tmp_path, plan.model_copy(update={"sample": sample}), profile)(first.slide_id)
    assert not isinstance(said, str) and len(said) == 1


def test_the_review_servers_slide_the_batch_does_not_list_is_never_given_an_image_a_batch_slide_names(
    tmp_path: Path, profile: Profile
) -> None:
    """As above, on the review server: a sampled slide the batch does not list asked for its image
    knowing no other slide, and took the batch's slide ``B``'s image (2 lesions, not its 1)."""
    from dqm.semantic.server.sample import ReviewSample

    plan = plan_for(200)
    first = plan.sample[0]
    _coco_batch(
        tmp_path, ["p/q/b/slide1.svs", f"{first.slide_id}.png"], [1, 1, 2], [("B", "p/q/b/slide1.svs")]
    )
    sample = [first.model_copy(update={"image_path": "q/b/slide1.svs", "annotation_path": "coco.json"})]
    review = ReviewSample(plan.model_copy(update={"sample": sample}), tmp_path, profile, lambda value: value)  # type: ignore[arg-type]
    ann, problem = review._annotation(review.slides[0])
    assert ann is not None and problem is None and len(ann.lesions) == 1


def _coco_batch(
    root: Path, names: list[str], image_of_lesions: list[int], rows: list[tuple[str, str]]
) -> None:
    """A batch of ``coco.json`` listing images ``names`` (of 100 px), a triangle a lesion, the
    n-th lesion on image ``image_of_lesions[n]`` (1-based), and a manifest of ``rows`` (slide
    id, slide file) all reading it."""
    square = [[0, 0, 10, 0, 10, 10]]
    doc = {
        "images": [{"id": i, "file_name": n, "width": 100, "height": 100} for i, n in enumerate(names, 1)],
        "annotations": [
            {"id": k, "image_id": i, "category_id": 1, "segmentation": square}
            for k, i in enumerate(image_of_lesions, 1)
        ],
        "categories": [{"id": 1, "name": "BCC"}],
    }
    (root / "coco.json").write_text(json.dumps(doc))
    with (root / "manifest.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["slide_id", "image_path", "annotation_path", "institution", "diagnosis", "age", "sex", "site"]
        )
        w.writerows([[sid, path, "coco.json", "Seoul-A", "BCC", "60", "M", "trunk"] for sid, path in rows])


def test_the_weighted_estimates_notes_read_in_korean() -> None:
    """The notes of a provisional estimate and of collapsed cells were English f-strings: a Korean
    report showed "provisional: cells holding ..." and "5 cell(s) ... collapsed group(s)" in
    English. Each is a catalogue message now, the count of groups in its own form."""
    from dqm.i18n import translated

    pair = weighted_estimate({"a": (10, 1, 1), "b": (30, 1, 0)}, 60)  # 20 slides in no reviewed cell
    assert pair.note == (
        "provisional: cells holding 20 of 60 slides have no verdict yet; 2 cells with a single "
        "reviewed slide out of several: variance from their differences in 1 collapsed group of "
        "neighbouring cells"
    )
    four = weighted_estimate({k: (10, 1, 1) for k in "abcd"}, 40)
    assert "4 cells with a single reviewed slide" in four.note and "in 2 collapsed groups" in four.note
    assert translated(pair.note, "ko") == (
        "잠정: 슬라이드 60장 중 20장이 든 칸에 아직 판정이 없습니다; 검토 슬라이드가 하나뿐인 칸 2개: "
        "분산은 이웃 칸을 묶은 1개 묶음 안의 차이로 계산"
    )
    assert translated(four.note, "ko").endswith(
        "; 검토 슬라이드가 하나뿐인 칸 4개: 분산은 이웃 칸을 묶은 2개 묶음 안의 차이로 계산"
    )


def test_a_slide_the_review_server_refused_is_an_error(tmp_path: Path, profile: Profile) -> None:
    """The export lists a slide the server refused as not the audit's (swapped since the audit)
    under ``not_reviewable``; ingest ignored the list (the slide came out as an info-level
    VERDICT_MISSING). A swapped slide is a sign of tampering: an error now, and the PASS given
    before the refusal is not counted (it certified a file the batch no longer holds); a malformed
    entry is a format error."""
    plan = plan_for(300)
    sampled = [s.slide_id for s in plan.sample]
    gone = [
        {"slide_id": sampled[0], "reason": "slides/a.tiff is not the file the audit checked"},
        {"reason": 1},
    ]
    rows = [{"slide_id": sampled[0], "reviewer": "kim", "verdict": "pass"}]
    r = run(plan, [verdict_file(tmp_path, rows, not_reviewable=gone)], profile)
    found = [(f.code, f.severity, f.slide_id, f.pointer) for f in r.findings if f.code != "VERDICT_MISSING"]
    assert found == [
        ("VERDICT_FILE_FORMAT", "error", None, "/not_reviewable/1"),
        ("SLIDE_NOT_AUDITED", "error", sampled[0], "/not_reviewable/0"),
    ]
    said = next(f.message for f in r.findings if f.code == "SLIDE_NOT_AUDITED")
    assert "tampering" in said and "slides/a.tiff" in said
    assert r.n_reviewed == 0  # the verdict given before the refusal judged another file (below)


def test_verdicts_on_a_refused_slide_are_not_counted(tmp_path: Path, profile: Profile) -> None:
    """The export keeps the verdicts given before the server refused a slide, and ingest counted
    them: a slide whose file the batch no longer holds as audited was certified by labels of the
    audited one. Now none is counted, whenever given (the refusal says the batch's file is not the
    audited one now: the labels judged a file the batch will not deliver); its finding says so."""
    from dqm.i18n import translated

    plan = plan_for(300)
    sampled = [s.slide_id for s in plan.sample]
    gone = [{"slide_id": sampled[0], "reason": "slides/a.tiff is not the file the audit checked"}]
    rows = [
        {"slide_id": sampled[0], "reviewer": "kim", "verdict": "pass"},
        {"slide_id": sampled[0], "reviewer": "lee", "verdict": "pass"},
        {"slide_id": sampled[1], "reviewer": "kim", "verdict": "pass"},
    ]
    r = run(plan, [verdict_file(tmp_path, rows, not_reviewable=gone)], profile)
    assert (r.n_reviewed, r.n_pass) == (1, 1)
    assert r.reviewers == ["kim"]  # lee judged only the refused slide
    said = next(str(f.message) for f in r.findings if f.code == "SLIDE_NOT_AUDITED")
    assert "2 verdict(s) given on it before the refusal are not counted" in said
    assert "판정 2건은 세지 않습니다" in translated(said, "ko")
    assert not any(f.code == "VERDICT_DUPLICATE" for f in r.findings)


def test_a_refused_slide_is_not_also_missing_and_the_result_counts_it(
    tmp_path: Path, profile: Profile
) -> None:
    """A drawn slide the server refused was reported twice (SLIDE_NOT_AUDITED and VERDICT_MISSING:
    one cause, two findings), and nothing in the result said how many drawn slides could not be
    reviewed. Now one finding; it still counts among the slides to review (the sample does not
    shrink, the decision waits), and the result's note says how many were refused and why."""
    from dqm.i18n import translated

    plan = plan_for(300)
    sampled = [s.slide_id for s in plan.sample]
    gone = [{"slide_id": sid, "reason": "not the file the audit checked"} for sid in sampled[:2]]
    rows = [{"slide_id": sid, "reviewer": "kim", "verdict": "pass"} for sid in sampled[2:]]
    r = run(plan, [verdict_file(tmp_path, rows, not_reviewable=gone)], profile)
    codes = {(f.code, f.slide_id) for f in r.findings}
    assert {("SLIDE_NOT_AUDITED", sid) for sid in sampled[:2]} <= codes
    assert not any(f.code == "VERDICT_MISSING" for f in r.findings)
    assert (r.n_reviewed, r.remaining, r.provisional, r.decision) == (len(sampled) - 2, 2, True, "incomplete")
    assert r.refused == 2  # structured, not only in the note's words
    assert "2 drawn slide(s) refused" in r.gates[0].note and "semantic.refused" in r.gates[0].note
    assert "2 drawn slide(s) could not be reviewed" in r.note and "SLIDE_NOT_AUDITED" in r.note
    assert "SLIDE_NOT_AUDITED" in translated(r.note, "ko") and "could not" not in translated(r.note, "ko")
    unrefused = run(plan, [verdict_file(tmp_path, rows[1:], name="w.json")], profile)
    assert [f.slide_id for f in unrefused.findings if f.code == "VERDICT_MISSING"] == sampled[:3]
    assert "could not be reviewed" not in unrefused.note
    assert unrefused.refused == 0 and "refused" not in unrefused.gates[0].note


def test_the_report_shows_how_many_drawn_slides_were_refused(tmp_path: Path, profile: Profile) -> None:
    """The report's semantic section said how many slides were still to review, not that some of
    them were refused by the review server (only the note's free text did)."""
    from reports.html import render_html
    from tests.reports.conftest import make_result, parse_html

    plan = plan_for(300)
    sampled = [s.slide_id for s in plan.sample]
    gone = [{"slide_id": sid, "reason": "not the file the audit checked"} for sid in sampled[:2]]
    rows = [{"slide_id": sid, "reviewer": "kim", "verdict": "pass"} for sid in sampled[2:]]
    r = run(plan, [verdict_file(tmp_path, rows, not_reviewable=gone)], profile)
    head = " ".join(parse_html(render_html(make_result(semantic=r))).by_id("semantic").text.split())
    assert "(2 of them refused by the review server as not the files the audit checked" in head
    r = run(plan, [verdict_file(tmp_path, rows[1:], name="w.json")], profile)
    head = " ".join(parse_html(render_html(make_result(semantic=r))).by_id("semantic").text.split())
    assert "Provisional" in head and "refused by the review server" not in head


def test_a_fail_on_a_slide_refused_later_still_rejects(tmp_path: Path, profile: Profile) -> None:
    """Every verdict on a refused slide was dropped, its FAILs too: with two core slides judged
    FAIL (Re 2) the lot was rejected, and a supplier who then swapped one failed slide turned the
    reject into an incomplete review (a redraw). A FAIL judged the audited file: it still counts;
    only a PASS (which certified that file) on a refused slide is dropped."""
    plan = plan_for(300)
    assert (plan.acceptance_number, plan.rejection_number) == (1, 2)
    sampled = [s.slide_id for s in plan.sample]
    rows = verdicts(plan, set(sampled[:2]), only=2)
    gone = [{"slide_id": sampled[0], "reason": "a.tiff is not the file the audit checked"}]
    r = run(plan, [verdict_file(tmp_path, rows, not_reviewable=gone)], profile)
    assert (r.decision, r.n_fail, r.refused) == ("reject", 2, 0)
    assert any(f.code == "SLIDE_NOT_AUDITED" for f in r.findings)  # the swap is still an error
    mixed = [*rows, {"slide_id": sampled[0], "reviewer": "lee", "verdict": "pass"}]
    r = run(plan, [verdict_file(tmp_path, mixed, name="m.json", not_reviewable=gone)], profile)
    assert r.decision == "reject"  # strict: kim's FAIL fails the slide; lee's PASS counts as given
    assert [(d.slide_id, d.final) for d in r.disagreements] == [(sampled[0], "fail")]
    said = next(f.message for f in r.findings if f.code == "SLIDE_NOT_AUDITED")
    assert "not counted" not in said


def test_a_refused_slide_is_adjudicated_by_the_rule_before_anything_is_dropped(
    tmp_path: Path, profile: Profile
) -> None:
    """The PASSes on a refused slide were dropped before adjudication, so a minority FAIL decided:
    majority rule, kim FAIL, lee PASS, park PASS (a PASS by the rule) and one other slide FAIL was
    an accept unrefused and a reject once the slide was refused. All its verdicts are adjudicated
    first: FAIL by the rule counts (all of them), else the slide is not reviewed. Same for a
    ``reviewer=`` rule: the named reviewer's PASS is not overruled by another's FAIL."""
    plan = plan_for(300)
    assert (plan.acceptance_number, plan.rejection_number) == (1, 2)
    sampled = [s.slide_id for s in plan.sample]

    def row(sid: str, who: str, verdict: str) -> dict[str, str]:
        return {
            "slide_id": sid,
            "reviewer": who,
            "verdict": verdict,
            "reason": "wrong_class" * (verdict == "fail"),
        }

    rows = [row(s, "kim", "pass") for s in sampled[2:]] + [row(sampled[1], "kim", "fail")]
    rows += [row(sampled[0], "kim", "fail"), row(sampled[0], "lee", "pass"), row(sampled[0], "park", "pass")]
    gone = [{"slide_id": sampled[0], "reason": "not the file the audit checked"}]
    for rule in ("majority", "reviewer=lee"):
        kept = run(plan, [verdict_file(tmp_path, rows, name="a.json")], profile, adjudication=rule)
        assert (kept.decision, kept.n_fail) == ("accept", 1)
        r = run(
            plan,
            [verdict_file(tmp_path, rows, name="b.json", not_reviewable=gone)],
            profile,
            adjudication=rule,
        )
        assert (r.decision, r.n_fail, r.refused, r.remaining) == ("incomplete", 1, 1, 1), rule
        said = next(f.message for f in r.findings if f.code == "SLIDE_NOT_AUDITED")
        assert "3 verdict(s) given on it before the refusal are not counted" in said
    r = run(
        plan,
        [verdict_file(tmp_path, rows, name="c.json", not_reviewable=gone)],
        profile,
        adjudication="strict",
    )
    assert (r.decision, r.n_fail, r.refused) == ("reject", 2, 0)  # strict: FAIL by the rule, all counted


def test_a_refusal_in_an_export_of_another_plan_drops_nothing(tmp_path: Path, profile: Profile) -> None:
    """An export quoting another plan only warns (VERDICT_PLAN_MISMATCH), yet its ``not_reviewable``
    list dropped this plan's verdicts: an old round's export turned a reject into incomplete. It
    refuses nothing now."""
    plan = plan_for(300)
    sampled = [s.slide_id for s in plan.sample]
    rows = verdicts(plan, set(sampled[:2]), only=2)
    rows.append({"slide_id": sampled[2], "reviewer": "kim", "verdict": "pass"})
    gone = [{"slide_id": sid, "reason": "old round"} for sid in sampled[:3]]
    files = [
        verdict_file(tmp_path, rows, plan_id=plan.plan_id),
        verdict_file(tmp_path, [], name="old.json", plan_id="0" * 64, not_reviewable=gone),
    ]
    r = run(plan, files, profile)
    assert (r.decision, r.n_fail, r.n_reviewed, r.refused) == ("reject", 2, 3, 0)
    codes = [f.code for f in r.findings]
    assert "VERDICT_PLAN_MISMATCH" in codes and "SLIDE_NOT_AUDITED" not in codes


def test_verdicts_not_counted_are_distinct_ones(tmp_path: Path, profile: Profile) -> None:
    """Two exports of one database hold the same verdicts: the refused slide's finding counted
    each copy ("2 verdict(s) ... not counted" for one PASS). Now the first of each reviewer only;
    a conflicting duplicate on the refused slide is still a VERDICT_DUPLICATE error."""
    plan = plan_for(300)
    sampled = [s.slide_id for s in plan.sample]
    gone = [{"slide_id": sampled[0], "reason": "not the file the audit checked"}]
    rows = [{"slide_id": sampled[0], "reviewer": "kim", "verdict": "pass"}]
    (tmp_path / "b").mkdir()
    files = [
        verdict_file(tmp_path, rows, not_reviewable=gone),
        verdict_file(tmp_path / "b", rows, not_reviewable=gone),
    ]
    said = next(f.message for f in run(plan, files, profile).findings if f.code == "SLIDE_NOT_AUDITED")
    assert "1 verdict(s)" in said
    other = [{"slide_id": sampled[0], "reviewer": "kim", "verdict": "fail", "reason": "wrong_class"}]
    files[1] = verdict_file(tmp_path / "b", other, name="c.json", not_reviewable=gone)
    r = run(plan, files, profile)
    assert [(f.code, f.severity) for f in r.findings if f.code == "VERDICT_DUPLICATE"] == [
        ("VERDICT_DUPLICATE", "error")
    ]


def test_slides_listed_not_reviewable_are_one_finding_each_checked_against_the_plan(
    tmp_path: Path, profile: Profile
) -> None:
    """A slide listed twice (in one export or two) gave two SLIDE_NOT_AUDITED; a slide the plan
    never drew was taken as a refused one (an error of tampering); an empty reason left a message
    ending in ": "; the reason was put in as written, a right-to-left override, a line break and
    an escape sequence among it. Now: one finding a slide, an unknown slide a format warning, no
    reason no colon, the reason escaped as every output shows batch text (visible)."""
    plan = plan_for(300)
    sampled = [s.slide_id for s in plan.sample]
    gone = [
        {"slide_id": sampled[0], "reason": "evil \u202etxt.exe\u202c\nline2\x1b[31m"},
        {"slide_id": sampled[0], "reason": "again"},
        {"slide_id": "NOT_IN_PLAN", "reason": "x"},
        {"slide_id": sampled[1]},
    ]
    rows = [{"slide_id": sampled[2], "reviewer": "kim", "verdict": "pass"}]
    (tmp_path / "b").mkdir()
    files = [
        verdict_file(tmp_path, rows, not_reviewable=gone),
        verdict_file(tmp_path / "b", [], not_reviewable=gone[1:2]),
    ]
    r = run(plan, files, profile)
    found = [(f.code, f.severity, f.slide_id, f.pointer) for f in r.findings if f.code != "VERDICT_MISSING"]
    assert sorted(found, key=str) == sorted(
        [
            ("SLIDE_NOT_AUDITED", "error", sampled[0], "/not_reviewable/0"),
            ("VERDICT_FILE_FORMAT", "warning", "NOT_IN_PLAN", "/not_reviewable/2"),
            ("SLIDE_NOT_AUDITED", "error", sampled[1], "/not_reviewable/3"),
        ],
        key=str,
    )
    said = {f.slide_id: str(f.message) for f in r.findings if f.code == "SLIDE_NOT_AUDITED"}
    assert "\\u202etxt.exe\\u202c\\x0aline2\\x1b[31m" in said[sampled[0]]
    assert not any(c in said[sampled[0]] for c in "\u202e\u202c\n\x1b")
    assert "tampering" in said[sampled[1]] and not said[sampled[1]].rstrip().endswith(":")


def test_a_verdict_file_of_megabyte_names_counts_the_rest_and_says_so_briefly(
    tmp_path: Path, profile: Profile
) -> None:
    """A merged or hostile verdict file naming its reviewer, or a slide not in the batch, in 2 MB
    of text: the name was kept whole as a reviewer (in every finding and in semantic.json) and the
    slide id printed whole in its VERDICT_UNKNOWN_SLIDE (2 MB on the console). Such a verdict is
    not read (the reviewer's name) or not counted (the slide), each a finding of bounded length,
    and the accuracy and its interval are those of the other verdicts."""
    plan = plan_for(50)
    huge = "Z" * 2_000_000
    good = verdicts(plan, fails={plan.sample[0].slide_id}, only=4)
    rows = [
        *good,
        {"slide_id": plan.sample[5].slide_id, "reviewer": huge, "verdict": "fail", "reason": "other"},
    ]
    rows.append({"slide_id": huge, "reviewer": "kim", "verdict": "pass"})
    r = run(plan, [verdict_file(tmp_path, rows)], profile)
    assert (r.n_reviewed, r.n_pass, r.reviewers) == (4, 3, ["kim"])
    low, high = proportion_confint(3, 4, alpha=0.05, method="wilson")
    assert (r.ci_low, r.ci_high) == (pytest.approx(low), pytest.approx(high))
    by_code = {f.code: f for f in r.findings}
    assert by_code["VERDICT_BAD_VALUE"].message == (
        "the reviewer's name is 2,000,000 characters long, more than 200: the verdict is not read"
    )
    assert by_code["VERDICT_UNKNOWN_SLIDE"].message.endswith(
        "… [cut: 2,000,000 characters]' is not in the batch"
    )
    assert max(len(f.model_dump_json()) for f in r.findings) < 2000


@pytest.mark.parametrize("adjudication", ["strict", "majority"])
def test_a_reviewers_pass_and_fail_on_one_slide_count_as_fail_in_any_order_of_the_files(
    tmp_path: Path, profile: Profile, adjudication: str
) -> None:
    """Two exports merged, or two servers' databases that both have a "lee": lee passed every
    slide in one file and failed them in the other. The first verdict was kept, so the order of
    the files decided the gate (PASS first: accept, exit 0, with only error findings saying so).
    A reviewer's conflicting verdicts count as the FAIL, in either order."""
    plan = plan_for(300)
    n = plan.sample_size
    (tmp_path / "b").mkdir()
    passed = verdict_file(tmp_path, verdicts(plan, reviewer="lee"))
    failed = verdict_file(tmp_path / "b", verdicts(plan, {s.slide_id for s in plan.sample}, reviewer="lee"))
    results = [
        run(plan, files, profile, adjudication=adjudication) for files in ([passed, failed], [failed, passed])
    ]
    got = [(r.decision, r.n_reviewed, r.n_pass, r.n_fail, r.ci_low, r.ci_high) for r in results]
    assert got[0] == got[1]
    assert got[0][:4] == ("reject", n, 0, n)
    for r in results:
        dups = [f for f in r.findings if f.code == "VERDICT_DUPLICATE"]
        assert {f.severity for f in dups} == {"error"} and "count as FAIL" in dups[0].message


def test_a_file_whose_reviewer_name_is_too_long_says_once_how_many_verdicts_are_not_counted(
    tmp_path: Path, profile: Profile
) -> None:
    """A JSON file naming its reviewer once, at the top, in more than 200 characters: each of its
    verdicts was refused with a finding of its own (50 listed, the rest a count) that never said
    the whole file was lost. One finding names the file, the name's length and the count; a verdict
    naming its own reviewer is still read."""
    plan = plan_for(3500)
    rows: list[dict[str, object]] = [{"slide_id": s.slide_id, "verdict": "pass"} for s in plan.sample[:60]]
    rows.append({"slide_id": plan.sample[60].slide_id, "reviewer": "kim", "verdict": "pass"})
    path = verdict_file(tmp_path, rows, reviewer="M" * 3000)
    r = run(plan, [path], profile)
    assert (r.n_reviewed, r.reviewers) == (1, ["kim"])
    bad = [f for f in r.findings if f.code == "VERDICT_BAD_VALUE"]
    assert [(f.file, f.pointer, f.severity) for f in bad] == [(str(path), "/reviewer", "error")]
    assert bad[0].message == (
        "the file's reviewer name is 3,000 characters long, more than 200: its 60 verdict(s) "
        "naming no reviewer of their own are not counted"
    )
    assert len(bad[0].model_dump_json()) < 500


def test_the_long_reviewer_finding_is_listed_past_the_cap_of_its_code_in_each_of_60_files(
    tmp_path: Path, profile: Profile
) -> None:
    """Each of 60 files holds 55 verdicts of "kim" saying "maybe" (55 ``VERDICT_BAD_VALUE``, 50
    listed) and 10 naming no reviewer under a 3,000-character top-level one. The file-level finding
    came last through the same cap: only counted in "6 more findings of this code are not listed",
    and the user never learnt that 10 verdicts of each file were not counted. It is listed in every
    file, outside the cap (the count of the 55 others is unchanged)."""
    plan = plan_for(3500)
    sids = [s.slide_id for s in plan.sample]
    paths = []
    for k in range(60):
        rows: list[dict[str, object]] = [
            {"slide_id": sid, "reviewer": "kim", "verdict": "maybe"} for sid in sids[:55]
        ]
        rows += [{"slide_id": sid, "verdict": "pass"} for sid in sids[55:65]]
        paths.append(verdict_file(tmp_path, rows, name=f"v{k:02}.json", reviewer="M" * 3000))
    r = run(plan, paths, profile)
    assert r.n_reviewed == 0
    for path in paths:
        bad = [f for f in r.findings if f.code == "VERDICT_BAD_VALUE" and f.file == str(path)]
        top = [f for f in bad if f.pointer == "/reviewer"]
        assert len(top) == 1 and "its 10 verdict(s) naming no reviewer" in top[0].message
        assert [f.message for f in bad if "not listed" in f.message] == [
            "5 more findings of this code are not listed (the first 50 are)"
        ]
        assert len(bad) == 50 + 1 + 1


def test_the_long_reviewer_finding_counts_only_verdicts_that_would_have_counted(
    tmp_path: Path, profile: Profile
) -> None:
    """Under a too-long top-level reviewer, rows with an empty verdict (not reviewed yet) and an
    unknown verdict word were counted among the verdicts "not counted", and their own findings were
    lost. They keep their own findings (the reviewer's name cut to 40 characters); the count is of
    the PASS and FAIL rows only."""
    plan = plan_for(3500)
    sids = [s.slide_id for s in plan.sample]
    rows: list[dict[str, object]] = [{"slide_id": sid, "verdict": ""} for sid in sids[:5]]
    rows += [
        {"slide_id": sids[5], "verdict": "pass"},
        {"slide_id": sids[6], "verdict": "fail", "reason": "other"},
    ]
    rows.append({"slide_id": sids[7], "verdict": "maybe"})
    path = verdict_file(tmp_path, rows, reviewer="M" * 3000)
    r = run(plan, [path], profile)
    top = [f for f in r.findings if f.pointer == "/reviewer"]
    assert [f.message for f in top] == [
        "the file's reviewer name is 3,000 characters long, more than 200: its 2 verdict(s) "
        "naming no reviewer of their own are not counted"
    ]
    empty = [f for f in r.findings if f.code == "VERDICT_EMPTY"]
    assert [f.pointer for f in empty] == [f"/verdicts/{i}" for i in range(5)]
    word = [f for f in r.findings if f.code == "VERDICT_BAD_VALUE" and f.pointer == "/verdicts/7"]
    assert len(word) == 1 and "'maybe' is neither pass nor fail" in word[0].message
    assert all(len(f.reviewer or "") <= 41 for f in r.findings)
    assert max(len(f.model_dump_json()) for f in r.findings) < 1000


@pytest.mark.parametrize("order", ["abc", "acb", "bac", "bca", "cab", "cba"])
def test_a_later_duplicate_names_the_verdict_counted_not_the_first_row(
    tmp_path: Path, profile: Profile, order: str
) -> None:
    """Lee's PASS in a.json and FAILs in b.json and c.json, in each order of the three files. With
    PASS, FAIL, FAIL the third said "the first, in a.json …, is kept" of a verdict the same as its
    own, but a's was a PASS and the FAIL of b counts. Each duplicate's message names a file whose
    verdict is the one it says, and a same-verdict duplicate names the file of the verdict counted."""
    plan = plan_for(50)
    sid = plan.sample[0].slide_id
    said = {"a": "pass", "b": "fail", "c": "fail"}
    paths = {
        k: verdict_file(
            tmp_path,
            [{"slide_id": sid, "reviewer": "lee", "verdict": v, "reason": "other"}],
            name=f"{k}.json",
        )
        for k, v in said.items()
    }
    kept, findings = validate(plan, read_verdict_files([paths[k] for k in order]))
    dups = [f for f in findings if f.code == "VERDICT_DUPLICATE"]
    assert len(dups) == 2 and [r.verdict for r in kept] == ["fail"]
    counted = kept[0].file
    for f in dups:
        named = [k for k, p in paths.items() if f"in {p} /verdicts/0" in f.message]
        assert len(named) == 1, f.message
        if f.severity == "warning":  # the same verdict again: the one counted is named
            assert str(paths[named[0]]) == counted, (order, f.message)
            # the wording says so (it said "the first" of b's FAIL after a's PASS)
            assert f"the one counted, in {counted} /verdicts/0, is kept" in f.message, (order, f.message)
        else:  # a conflict: "before" is a verdict of the other word
            assert f"; before: {said[named[0]]}, in" in f.message
            assert said[named[0]] != said[Path(f.file).stem], (order, f.message)


def test_megabyte_values_under_not_reviewable_and_corrected_are_cut_in_their_findings(
    tmp_path: Path, profile: Profile
) -> None:
    """A slide id of 2 MB under ``not_reviewable`` (a review database's export, hostile or broken)
    and a ``corrected`` value of 2 MB were printed whole: a 2 MB message and ``slide_id`` on the
    console and in semantic.json. They are cut as an unknown slide id is, saying how long they were."""
    plan = plan_for(50)
    huge = "Z" * 2_000_000
    rows = verdicts(plan, only=3)
    rows.append(
        {"slide_id": plan.sample[3].slide_id, "reviewer": "kim", "verdict": "fail", "reason": "other",
         "corrected": huge}
    )  # fmt: skip
    path = verdict_file(tmp_path, rows, not_reviewable=[{"slide_id": huge, "reason": "swapped"}])
    r = run(plan, [path], profile)
    assert (r.n_reviewed, r.n_fail) == (4, 1)
    gone = next(f for f in r.findings if f.code == "VERDICT_FILE_FORMAT")
    fixed = next(f for f in r.findings if f.code == "CORRECTION_UNREADABLE")
    assert "… [cut: 2,000,000 characters]" in gone.message and gone.slide_id is not None
    assert gone.slide_id.endswith("… [cut: 2,000,000 characters]")
    assert "… [cut: 2,000,000 characters]" in fixed.message
    assert max(len(f.model_dump_json()) for f in r.findings) < 2000


def test_a_too_long_reviewer_name_used_only_by_empty_or_unknown_verdicts_is_said_too_long(
    tmp_path: Path, profile: Profile
) -> None:
    """A file whose rows under a 3,000-character top-level reviewer are all empty or unknown
    words showed those rows' findings, the name cut to 40 characters, and never said the name
    was too long: the user fixing the verdicts learnt it only once one counted. Now the file's
    finding says it (nothing is counted: none is named)."""
    plan = plan_for(3500)
    sids = [s.slide_id for s in plan.sample]
    rows: list[dict[str, object]] = [
        {"slide_id": sids[0], "verdict": ""},
        {"slide_id": sids[1], "verdict": "maybe"},
    ]
    path = verdict_file(tmp_path, rows, reviewer="M" * 3000)
    r = run(plan, [path], profile)
    top = [f for f in r.findings if f.pointer == "/reviewer"]
    assert [f.message for f in top] == [  # before: none
        "the file's reviewer name is 3,000 characters long, more than 200: a verdict naming no "
        "reviewer of its own would not be counted"
    ]
    assert top[0].reviewer is not None and len(top[0].reviewer) <= 41
    assert {f.code for f in r.findings if f.pointer != "/reviewer"} >= {"VERDICT_EMPTY", "VERDICT_BAD_VALUE"}
