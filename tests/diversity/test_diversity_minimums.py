"""다양성 요건: minimum counts and shares from the profile, each a gated figure of the dimension."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dqm.diversity import diversity_result
from dqm.diversity.settings import DiversitySettings
from dqm.figures import dimension_gates
from dqm.profile import Profile
from dqm.results import ItemSummary
from dqm.synth.summaries import synthetic_items


def with_minimums(profile: Profile, minimums: dict[str, dict[str, float]]) -> Profile:
    settings = DiversitySettings.model_validate({**profile.diversity.model_dump(), "minimums": minimums})
    return profile.model_copy(update={"diversity": settings})


@pytest.fixture(scope="module")
def cohort() -> list[ItemSummary]:
    return synthetic_items(200, seed=4)


def test_each_class_is_a_count_and_a_share_figure(cohort: list[ItemSummary], profile: Profile) -> None:
    d = diversity_result(cohort, with_minimums(profile, {"class": {"count": 10, "share": 0.05}}))
    figures = {g.key: g for g in d.gates if g.key.startswith("minimum.")}
    assert len(figures) == 2 * len(profile.class_ids)
    for cls in profile.class_ids:
        n = sum(i.diagnosis == cls for i in cohort)
        count, share = figures[f"minimum.class.{cls}.count"], figures[f"minimum.class.{cls}.share"]
        assert (count.value, count.target, count.numerator, count.denominator) == (n, 10, n, len(cohort))
        assert count.passed is (n >= 10)
        assert share.value == pytest.approx(n / len(cohort)) and share.percent and share.target == 0.05
    assert d.verdict == "pass"


def test_a_declared_class_without_a_slide_fails_with_count_zero(
    cohort: list[ItemSummary], profile: Profile
) -> None:
    missing = profile.class_ids[0]
    items = [i for i in cohort if i.diagnosis != missing]
    d = diversity_result(items, with_minimums(profile, {"class": {"count": 1}}))
    fig = next(g for g in d.gates if g.key == f"minimum.class.{missing}.count")
    assert (fig.value, fig.passed) == (0, False)
    assert d.verdict == "fail" and not d.passed and "minimum counts" in d.summary
    # every output reads it as a gate of the diversity dimension, stored in results.json
    gate = next(g for g in dimension_gates_of(d) if g.key == f"diversity.minimum.class.{missing}.count")
    assert gate.passed is False and gate.pointer.startswith("/diversity/gates/")


def dimension_gates_of(d):  # type: ignore[no-untyped-def]
    from tests.reports.conftest import make_result

    return dimension_gates(make_result(diversity=d), "diversity")


def test_pairs_cover_every_declared_combination(cohort: list[ItemSummary], profile: Profile) -> None:
    d = diversity_result(
        cohort, with_minimums(profile, {"class_institution": {"count": 1}, "sex_age_band": {"share": 0.01}})
    )
    pairs = [g for g in d.gates if g.key.startswith("minimum.class_institution.")]
    institutions = {s.name: s for s in d.categorical}["institution"].counts
    assert len(pairs) == len(profile.class_ids) * len(institutions)
    assert sum(g.numerator or 0 for g in pairs) == pairs[0].denominator
    shares = [g for g in d.gates if g.key.startswith("minimum.sex_age_band.")]
    assert shares and all(g.percent and g.target == 0.01 for g in shares)


def test_no_slides_never_crash(profile: Profile) -> None:
    d = diversity_result([], with_minimums(profile, {"site": {"share": 0.1}, "class": {"count": 2}}))
    share = [g for g in d.gates if g.key.startswith("minimum.site.")]
    assert all(g.value is None and g.passed is None for g in share)
    assert all(g.passed is False for g in d.gates if g.key.startswith("minimum.class."))


@pytest.mark.parametrize(
    ("minimums", "message"),
    [
        ({"ward": {"count": 1}}, "choose from"),
        ({"class": {}}, "neither a count nor a share"),
        ({"class": {"share": 1.5}}, "less than or equal"),
    ],
)
def test_bad_minimums_are_refused(minimums: dict[str, dict[str, float]], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        DiversitySettings.model_validate({"minimums": minimums})


def test_patients_per_class_count_distinct_patients(profile: Profile) -> None:
    base = synthetic_items(6, seed=1)
    cls, other = profile.class_ids[0], profile.class_ids[1]
    # patient 1: two slides of cls; patient 2: one of cls, one of other; one slide of cls without a patient
    plan = [(cls, 1), (cls, 1), (cls, 2), (other, 2), (cls, None), (other, 3)]
    items = [
        i.model_copy(update={"diagnosis": c, "patient": p}) for i, (c, p) in zip(base, plan, strict=True)
    ]
    d = diversity_result(items, with_minimums(profile, {"patients_class": {"count": 2, "share": 0.5}}))
    figures = {g.key: g for g in d.gates if g.key.startswith("minimum.patients_class.")}
    count = figures[f"minimum.patients_class.{cls}.count"]
    assert (count.value, count.numerator, count.denominator, count.unit) == (2, 2, 3, "patients")
    assert count.passed is True
    assert figures[f"minimum.patients_class.{other}.count"].numerator == 2
    share = figures[f"minimum.patients_class.{cls}.share"]
    assert share.value == pytest.approx(2 / 3) and share.passed is True
    absent = profile.class_ids[2]
    assert figures[f"minimum.patients_class.{absent}.count"].passed is False
    assert d.verdict == "fail"


def test_patients_are_numbered_never_named(cohort: list[ItemSummary], profile: Profile) -> None:
    items = cohort
    patients = [i.patient for i in items]
    assert patients[0] == 1 and all(isinstance(p, int) for p in patients)
    assert len(set(patients)) < len(items)  # some patients contribute two slides
    assert "P0000" not in "".join(i.model_dump_json() for i in items)
    d = diversity_result(items, with_minimums(profile, {"patients_class": {"count": 1}}))
    per_class = [g for g in d.gates if g.key.startswith("minimum.patients_class.")]
    assert sum(g.numerator or 0 for g in per_class) >= per_class[0].denominator == len(set(patients))
