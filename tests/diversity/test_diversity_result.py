"""The whole dimension: a clean cohort passes, bad compositions fail, degenerate batches never crash."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.stats as st

from dqm.diversity import DiversityResult, diversity_result
from dqm.profile import Profile, ProfileError, load_profile
from dqm.results import ItemSummary
from dqm.synth.summaries import synthetic_items


@pytest.fixture(scope="module")
def cohort() -> list[ItemSummary]:
    return synthetic_items(600, seed=21)


def by_name(d: DiversityResult) -> dict[str, object]:
    return {t.name: t for t in d.tests}


def with_items(items: list[ItemSummary], **change: object) -> list[ItemSummary]:
    return [i.model_copy(update=change) for i in items]


def test_synthetic_cohort_passes(cohort: list[ItemSummary], profile: Profile) -> None:
    d = diversity_result(cohort, profile)
    assert d.verdict == "pass" and d.passed
    assert d.family_size == 7  # fit.class, four independence tests, two Kruskal–Wallis tests
    t = by_name(d)
    fit = t["fit.class"]
    counts = [sum(i.diagnosis == c for i in cohort) for c in profile.class_ids]
    ref = st.chisquare(counts, np.array(list(profile.diversity.targets["class"].values())) * len(cohort))
    assert fit.statistic == pytest.approx(ref.statistic) and fit.p_value == pytest.approx(ref.pvalue)
    # clinically expected associations are tested and reported, not gated
    age = t["kruskal.age_by_class"]
    assert age.p_adjusted < 0.001 and age.effect_label == "large" and not age.gated and age.decision == "pass"
    assert "age differs between classes" in age.sentence
    assert {x.name for x in d.tests if x.in_family} == {
        "fit.class",
        "independence.class_institution",
        "independence.class_sex",
        "independence.class_age_band",
        "independence.class_site",
        "kruskal.age_by_class",
        "kruskal.age_by_institution",
    }
    assert "Holm" in d.method and "7 hypothesis tests" in d.method


def test_holm_adjusted_p_values_match_statsmodels(cohort: list[ItemSummary], profile: Profile) -> None:
    from statsmodels.stats.multitest import multipletests

    d = diversity_result(cohort, profile)
    fam = [t for t in d.tests if t.in_family]
    ref = multipletests([t.p_value for t in fam], method="holm")[1]
    assert [t.p_adjusted for t in fam] == pytest.approx(list(ref))


def test_class_confounded_with_institution_fails(cohort: list[ItemSummary], profile: Profile) -> None:
    # every class from its own institution except a little mixing: a shortcut a model could learn
    homes = {c: f"H{k % 4}" for k, c in enumerate(profile.class_ids)}
    items = [
        i.model_copy(update={"institution": homes[i.diagnosis] if k % 10 else "H0"})
        for k, i in enumerate(cohort)
    ]
    d = diversity_result(items, profile)
    t = by_name(d)["independence.class_institution"]
    assert t.decision == "fail" and t.effect_label == "large"
    assert t.sentence.startswith("class mix differs between institutions: Cramér's V")
    assert d.verdict == "fail" and not d.passed
    assert "FAIL independence.class_institution" in d.summary


def test_class_shares_off_target_fail(cohort: list[ItemSummary], profile: Profile) -> None:
    # half of the slides relabelled BCC: far from the declared 20 %
    items = [i.model_copy(update={"diagnosis": "BCC"}) if k % 2 else i for k, i in enumerate(cohort)]
    d = diversity_result(items, profile)
    fit = by_name(d)["fit.class"]
    assert fit.decision == "fail" and fit.effect_label in ("moderate", "large")
    assert by_name(d)["balance.imbalance_ratio"].decision == "warn"


def test_one_class_only(cohort: list[ItemSummary], profile: Profile) -> None:
    items = with_items(cohort[:80], diagnosis="MM")
    d = diversity_result(items, profile)
    t = by_name(d)
    for name in ("independence.class_institution", "independence.class_sex", "kruskal.age_by_class"):
        assert t[name].decision == "not_applicable" and t[name].p_value is None
    assert "only one row category" in t["independence.class_institution"].sentence
    assert t["balance.min_class_share"].decision == "fail"
    assert t["balance.min_class_share"].sentence.startswith("smallest class NS is absent")
    assert t["balance.imbalance_ratio"].statistic is None and t["balance.imbalance_ratio"].decision == "warn"
    ref = st.chisquare(
        [0, 0, 0, 0, 0, 0, 80], np.array(list(profile.diversity.targets["class"].values())) * 80
    )
    assert t["fit.class"].statistic == pytest.approx(ref.statistic)
    assert d.verdict == "fail"


def test_one_institution(cohort: list[ItemSummary], profile: Profile) -> None:
    d = diversity_result(with_items(cohort[:100], institution="Seoul-A"), profile)
    t = by_name(d)
    assert t["independence.class_institution"].decision == "not_applicable"
    assert t["kruskal.age_by_institution"].decision == "not_applicable"
    share = t["balance.max_institution_share"]
    assert share.statistic == 1.0 and share.decision == "fail" and "(the only institution)" in share.sentence


def test_all_ages_equal(cohort: list[ItemSummary], profile: Profile) -> None:
    items = [i.model_copy(update={"clinical": {**i.clinical, "age": "50"}}) for i in cohort[:120]]
    d = diversity_result(items, profile)
    t = by_name(d)["kruskal.age_by_class"]
    assert t.decision == "not_applicable" and t.sentence == "not tested: all values are equal"
    age = next(c for c in d.continuous if c.name == "age")
    assert age.sd == 0.0 and age.min == age.max == 50.0


def test_missing_and_unknown_values_become_notes(cohort: list[ItemSummary], profile: Profile) -> None:
    items = list(cohort[:200])
    for k in range(0, 30):
        items[k] = items[k].model_copy(update={"clinical": {**items[k].clinical, "age": None}})
    for k in range(30, 35):
        items[k] = items[k].model_copy(update={"clinical": {**items[k].clinical, "age": "sixty"}})
    for k in range(35, 45):
        items[k] = items[k].model_copy(update={"clinical": {**items[k].clinical, "site": "scalp"}})
    d = diversity_result(items, profile)
    assert (
        "age: missing for 35 of 200 slides (5 not a number or out of range); left out of its tests" in d.notes
    )
    assert any(
        n.startswith("anatomical site: values the profile does not declare: scalp (10)") for n in d.notes
    )
    assert by_name(d)["kruskal.age_by_class"].n == 165
    assert by_name(d)["kruskal.age_by_class"].excluded == 35


@pytest.mark.parametrize("diagnosis", [None, "not-a-class"])
def test_a_batch_without_any_class_fails_its_class_distribution(
    cohort: list[ItemSummary], profile: Profile, diagnosis: str | None
) -> None:
    """No slide with a diagnosis (or only classes outside the taxonomy): every class test and rule
    was not applicable and the dimension passed on sex, site and age. The profile declares seven
    classes, so the class distribution cannot be shown: balance.classes_shown fails, with why."""
    d = diversity_result(with_items(cohort[:150], diagnosis=diagnosis), profile)
    t = by_name(d)
    shown = t["balance.classes_shown"]
    assert shown.decision == "fail" and shown.statistic == 0.0 and shown.n == 150
    n = len(profile.class_ids)
    assert shown.sentence == (
        f"no slide has a class of the {n} the profile declares: the class distribution cannot be shown"
    )
    assert t["balance.min_class_share"].decision == "not_applicable"
    assert t["fit.class"].decision == "not_applicable"
    assert d.verdict == "fail" and not d.passed and "FAIL balance.classes_shown" in d.summary
    assert "balance.classes_shown" not in by_name(diversity_result(cohort[:150], profile))


def test_classes_shown_needs_declared_classes_and_a_slide() -> None:
    from dqm.diversity.family import balance_of, classes_shown
    from dqm.diversity.summaries import categorical_summary
    from dqm.diversity.variables import Variable

    var = Variable("class", "class", "categorical")
    none = categorical_summary(var, np.array([None, None], dtype=object))
    assert classes_shown(balance_of(none, 0), 2) == []  # a profile that declares no class: N/A stays
    assert classes_shown(balance_of(none, 7), 0) == []  # no slide: the dimension fails for want of any
    assert [r.decision for r in classes_shown(balance_of(none, 7), 2)] == ["fail"]


def test_empty_batch_is_a_statement_not_a_crash(profile: Profile) -> None:
    d = diversity_result([], profile)
    assert all(t.decision == "not_applicable" for t in d.tests)
    assert d.verdict == "fail" and not d.passed and "no test or rule could be decided" in d.summary
    assert d.n_items == 0


def test_profile_without_diversity_section_uses_defaults(tmp_path: Path, cohort: list[ItemSummary]) -> None:
    text = (Path(__file__).parents[2] / "dqm/profiles/dermatopathology.yaml").read_text("utf-8")
    bare = tmp_path / "bare.yaml"
    bare.write_text(text.split("\ndiversity:")[0], encoding="utf-8")
    prof = load_profile(bare)
    assert prof.diversity.targets == {} and prof.diversity.correction == "holm"
    d = diversity_result(cohort, prof)
    assert "no targets declared in the profile: goodness of fit not tested" in d.notes
    assert d.family_size == 6


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("diversity:\n  targets:\n    class: {NS: 0.5, BCC: 0.6}\n", "sum to 1.1"),
        ("diversity:\n  targets:\n    class: {NS: 0.5, XX: 0.5}\n", "not in the taxonomy"),
        ("diversity:\n  targets:\n    class: {NS: 0.5, BCC: 0.5, MM: 0.0}\n", "positive shares"),
        ("diversity:\n  targets:\n    colour: {red: 1.0}\n", "choose from"),
        ("diversity:\n  rules:\n    independence.class_moon: {warn_at: small}\n", "unknown test names"),
        ("diversity:\n  rules:\n    fit: {warn_at: large, fail_at: small}\n", "fail_at"),
        ("diversity:\n  drift: {psi_warn: 0.3, psi_fail: 0.2}\n", "fail threshold"),
        ("diversity:\n  age_bands: [0, 40, 20]\n", "increasing"),
    ],
)
def test_bad_diversity_settings_are_profile_errors(tmp_path: Path, block: str, message: str) -> None:
    text = (Path(__file__).parents[2] / "dqm/profiles/dermatopathology.yaml").read_text("utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.split("\ndiversity:")[0] + "\n" + block, encoding="utf-8")
    with pytest.raises(ProfileError, match=message):
        load_profile(bad)


def test_result_round_trips_through_json(cohort: list[ItemSummary], profile: Profile) -> None:
    d = diversity_result(cohort[:150], profile)
    assert DiversityResult.model_validate_json(d.model_dump_json()) == d


def test_a_class_outside_the_taxonomy_is_not_the_smallest_class(
    cohort: list[ItemSummary], profile: Profile
) -> None:
    items = list(cohort[:120])
    items[0] = items[0].model_copy(update={"diagnosis": "lymphoma"})
    d = diversity_result(items, profile)
    rule = by_name(d)["balance.min_class_share"]
    assert "lymphoma" not in rule.sentence and rule.decision == "pass"
    balance = next(b for b in d.balance if b.variable == "class")
    assert balance.n == 119 and balance.declared == 7
    assert any("lymphoma (1)" in n for n in d.notes)
    assert next(c for c in d.categorical if c.name == "class").counts["lymphoma"] == 1
