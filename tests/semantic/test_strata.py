"""Strata merged under the cap: a field of many values (age, a measurement) no longer makes a stratum
of every slide, and the merged strata keep the weights, the estimate and the older plans' ids."""

from __future__ import annotations

import csv
import json
import random
import statistics
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from typer.testing import CliRunner

from dqm.cli import app
from dqm.facts import ItemSummary
from dqm.semantic import planfile
from dqm.semantic.estimate import cell_counts, weighted_estimate
from dqm.semantic.models import PlanBatch, ReviewPlan
from dqm.semantic.planfile import PlanOptions, build_plan, plan_id, read_plan
from dqm.semantic.strata import ALL, MAX_STRATA, MISSING, OTHER, merge_strata

DELIVERY = 34_376


def _items(n: int, seed: int = 3) -> list[ItemSummary]:
    """A lot like a delivery's: four classes, 60 institutions, ages 0–120 (every 50th missing) and
    a measurement with a value a slide or so."""
    rng = random.Random(seed)
    return [
        ItemSummary(
            slide_id=f"S{k:05d}",
            diagnosis=rng.choice(["BCC", "MM", "NS", "SK"]),
            institution=f"H{k % 60:02d}",
            clinical={
                "age": str(rng.randint(0, 120)) if k % 50 else None,
                "size_mm": f"{rng.random() * 40:.3f}",
            },
        )
        for k in range(n)
    ]


def _batch(n: int) -> PlanBatch:
    return PlanBatch(path="/b", fingerprint="f" * 64, n_items=n, profile="p", profile_sha256="0")


def _check_weights(plan: ReviewPlan) -> None:
    """Each stratum's cells partition it, and its drawn slides' weights sum to its size."""
    by_stratum: dict[str, float] = {}
    for s in plan.sample:
        by_stratum[s.stratum] = by_stratum.get(s.stratum, 0.0) + s.weight
    assert sum(st.lot for st in plan.strata) == plan.lot_size
    for st in plan.strata:
        assert sum(c.lot for c in st.cells) == st.lot
        assert by_stratum[st.label] == pytest.approx(st.lot)


@pytest.fixture(scope="module")
def delivery() -> tuple[list[ItemSummary], ReviewPlan]:
    items = _items(DELIVERY)
    return items, build_plan(items, _batch(DELIVERY), PlanOptions(strata=("age", "institution")))


def test_a_delivery_stratified_by_age_and_institution_is_merged_under_the_cap(
    delivery: tuple[list[ItemSummary], ReviewPlan],
) -> None:
    """34,376 slides by age × institution make 7,202 strata: the floors of one drew 7,210 slides for
    a plan of 315. Merged: at most 500 strata, the sample the plan and a floor per merged stratum."""
    items, plan = delivery
    unmerged = {(i.clinical["age"] or MISSING, i.institution) for i in items}
    merge = plan.strata_merge
    assert merge is not None and len(unmerged) == merge.strata_before == 7_202
    assert merge.cap == MAX_STRATA and merge.strata_after == len(plan.strata) <= MAX_STRATA
    assert plan.sample_size <= plan.plan_sample_size + len(plan.strata) < 2 * MAX_STRATA
    assert [f.field for f in merge.fields] == ["age", "institution"]
    age, institution = merge.fields
    assert (age.kind, age.values_before, institution.kind, institution.values_before) == (
        "bins",
        122,
        "top",
        60,
    )
    assert MISSING in age.labels and OTHER in institution.labels
    # every stratum's key is its merged values; each slide's age lies in its bin's range
    of = {i.slide_id: i for i in items}
    key_of = {st.label: st.key for st in plan.strata}
    for s in plan.sample:
        bin_label, inst = key_of[s.stratum]["age"], key_of[s.stratum]["institution"]
        age_value = of[s.slide_id].clinical["age"]
        if age_value is None:
            assert bin_label == MISSING
        else:
            low, _, high = bin_label.partition("–")
            assert float(low) <= float(age_value) <= float(high or low)
        assert inst in (of[s.slide_id].institution, OTHER)
    _check_weights(plan)


def test_the_merge_is_deterministic_and_the_seed_still_draws(
    delivery: tuple[list[ItemSummary], ReviewPlan],
) -> None:
    items, plan = delivery
    again = build_plan(list(reversed(items)), _batch(DELIVERY), PlanOptions(strata=("age", "institution")))
    assert again.strata_merge == plan.strata_merge and again.plan_id == plan.plan_id
    other_seed = build_plan(items, _batch(DELIVERY), PlanOptions(strata=("age", "institution"), seed=5))
    assert other_seed.strata_merge == plan.strata_merge
    assert {s.slide_id for s in other_seed.sample} != {s.slide_id for s in plan.sample}


def test_a_measurement_of_a_value_a_slide_becomes_quantile_bins() -> None:
    n = 6_000
    items = _items(n)
    plan = build_plan(items, _batch(n), PlanOptions(strata=("size_mm",)))
    merge = plan.strata_merge
    assert merge is not None and merge.fields[0].kind == "bins" and merge.fields[0].values_before > 5_000
    assert len(plan.strata) <= MAX_STRATA
    sizes = [st.lot for st in plan.strata]
    assert max(sizes) <= 2 * statistics.median(sizes)  # quantile bins: about equal numbers of slides
    _check_weights(plan)


def test_categorical_values_keep_the_most_frequent_and_other_does_not_take_a_literal_other() -> None:
    keys = {f"s{k}": ("other" if k < 30 else f"v{k % 700}",) for k in range(3_000)}
    merged, record = merge_strata(keys, ["site"], cap=10)
    assert record is not None and record.fields[0].kind == "top"
    values = {m[0] for m in merged.values()}
    assert len(values) <= 10 and "other" in values and OTHER in values  # the most frequent kept
    assert all(merged[s] == keys[s] or merged[s] == (OTHER,) for s in keys)


def test_a_numeric_field_with_a_typo_stays_numeric_its_typo_in_other() -> None:
    keys = {f"s{k}": (str(k % 97),) for k in range(1_000)} | {"typo": ("forty",), "none": (MISSING,)}
    merged, record = merge_strata(keys, ["age"], cap=12)
    assert record is not None and record.fields[0].kind == "bins" and len(set(merged.values())) <= 12
    assert merged["typo"] == (OTHER,) and merged["none"] == (MISSING,) and merged["s0"][0].startswith("0–")


def test_under_the_cap_nothing_is_merged() -> None:
    keys = {f"s{k}": (f"v{k % 7}", "x") for k in range(100)}
    assert merge_strata(keys, ["a", "b"], cap=7) == (keys, None)
    with pytest.raises(ValueError):
        merge_strata(keys, ["a", "b"], cap=0)


@settings(max_examples=120, deadline=None)
@given(
    rows=hs.lists(
        hs.tuples(hs.sampled_from(["1", "2", "2.5", "x", MISSING, "10"]), hs.integers(0, 40).map(str)),
        min_size=1,
        max_size=80,
    ),
    cap=hs.integers(1, 12),
)
def test_merge_properties(rows: list[tuple[str, str]], cap: int) -> None:
    """At most ``cap`` strata; a slide's merged key depends on its key only; slides of one merged
    stratum came from keys that merge together (the merge is a coarsening, never a split)."""
    keys = {f"s{k}": row for k, row in enumerate(rows)}
    merged, record = merge_strata(keys, ["mixed", "count"], cap)
    assert len(set(merged.values())) <= cap
    image: dict[tuple[str, ...], tuple[str, ...]] = {}
    for s, key in keys.items():
        assert image.setdefault(key, merged[s]) == merged[s]
    if record is not None:
        assert record.strata_after == len(set(merged.values())) and record.strata_before > cap
        for f in record.fields:
            column = [m[["mixed", "count"].index(f.field)] for m in merged.values()]
            assert set(column) <= set(f.labels) and f.values_after == len(f.labels)
            assert f.kind == "top" or ALL in f.labels or all(not v[0].isalpha() for v in f.labels)


def test_the_estimate_over_merged_strata_is_unbiased_and_its_interval_covers() -> None:
    """A lot whose accuracy falls with the measurement (PASS unless size_mm > 30, or one slide in
    ten at random): over 20 seeds, the weighted estimate over the merged strata centres on the
    lot's true accuracy, and its 95 % interval covers it nearly always."""
    n = 3_000
    items = _items(n, seed=11)
    rng = random.Random(2)
    truth = {
        i.slide_id: "fail" if float(i.clinical["size_mm"] or 0) > 30 or rng.random() < 0.1 else "pass"
        for i in items
    }
    accuracy = sum(v == "pass" for v in truth.values()) / n
    estimates, covered = [], 0
    for seed in range(20):
        plan = build_plan(items, _batch(n), PlanOptions(strata=("size_mm",), seed=seed, minimum=2))
        assert plan.strata_merge is not None and len(plan.strata) <= MAX_STRATA
        _check_weights(plan)
        est = weighted_estimate(cell_counts(plan, {s.slide_id: truth[s.slide_id] for s in plan.sample}), n)
        assert est.accuracy is not None and est.ci_low is not None and est.ci_high is not None
        estimates.append(est.accuracy)
        covered += est.ci_low <= accuracy <= est.ci_high
    assert abs(statistics.mean(estimates) - accuracy) < 0.01
    assert covered >= 17


def test_older_plans_keep_their_ids_and_a_merge_is_part_of_the_id(
    delivery: tuple[list[ItemSummary], ReviewPlan],
) -> None:
    """A plan with no merge hashes as before (no ``strata_merge`` key); a stored plan of dqm 0.1.0
    still reads; editing the recorded merge breaks the id."""
    old = read_plan(Path(__file__).parent / "data" / "review_plan_without_core.json")
    assert old.strata_merge is None and plan_id(old) == old.plan_id
    small = build_plan(_items(200), _batch(200), PlanOptions())
    assert small.strata_merge is None
    body = json.loads(small.model_dump_json(exclude={"plan_id", "run_id", "strata_merge", "lq", "lot"}))
    assert "strata_merge" not in body and plan_id(small) == small.plan_id
    _, plan = delivery
    assert plan.strata_merge is not None and plan_id(plan) == plan.plan_id
    edited = plan.model_copy(update={"strata_merge": plan.strata_merge.model_copy(update={"cap": 499})})
    assert plan_id(edited) != plan.plan_id


def test_sample_warns_of_the_merge_and_the_files_show_the_merged_strata(
    defect_batch: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the cap at 5, the 40-slide batch stratified by age is merged into age bins: the command
    warns (in Korean with --lang ko), and review_plan.csv and the review sheet name the bins."""
    monkeypatch.setattr(planfile, "MAX_STRATA", 5)
    runner = CliRunner()
    res = runner.invoke(app, ["sample", str(defect_batch), "--out", str(tmp_path / "a"), "--strata", "age"])
    said = " ".join(res.output.split())
    assert res.exit_code == 0, res.output
    plan = json.loads((tmp_path / "a" / "review_plan.json").read_text())
    merge = plan["strata_merge"]
    assert merge["cap"] == 5 and merge["strata_after"] == len(plan["strata"]) <= 5 < merge["strata_before"]
    assert (
        f"the lot makes {merge['strata_before']} strata, more than 5: merged into {merge['strata_after']}"
        in said
    )
    labels = {st["label"] for st in plan["strata"]}
    with (tmp_path / "a" / "review_plan.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["stratum"] for r in rows} <= labels and any("–" in r["stratum"] for r in rows)
    sheet = (tmp_path / "a" / "review.html").read_text()
    assert any(label in sheet for label in labels if "–" in label)
    ko = runner.invoke(
        app, ["sample", str(defect_batch), "--out", str(tmp_path / "b"), "--strata", "age", "--lang", "ko"]
    )
    assert ko.exit_code == 0 and "개 층으로 병합했습니다" in " ".join(ko.output.split())
