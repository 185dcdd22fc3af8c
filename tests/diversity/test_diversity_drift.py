"""Drift against a baseline: not flagged when nothing changed, flagged when something did, and the
same figures whether the baseline is its items, its full results.json or a stripped one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.stats as st

from dqm.baseline import BaselineError, load_baseline
from dqm.diversity import diversity_result
from dqm.diversity.analyse import summaries_of
from dqm.diversity.drift import MAX_LISTED, Summaries, absence_p, drift
from dqm.diversity.models import BaselineInfo, DiversityResult, DriftVariable
from dqm.diversity.stats import MIN_MONTE_CARLO_DRAWS, monte_carlo_draws
from dqm.diversity.summaries import round_significant
from dqm.diversity.table import build_table
from dqm.profile import Profile
from dqm.results import BatchInfo, ItemSummary, ProfileInfo, QualityResult, Verdict
from dqm.synth.summaries import synthetic_items

N = 400


@pytest.fixture(scope="module")
def base_items() -> list[ItemSummary]:
    return synthetic_items(N, seed=101)


@pytest.fixture(scope="module")
def same_items() -> list[ItemSummary]:
    return synthetic_items(N, seed=202, prefix="T")


def info(n: int) -> BaselineInfo:
    return BaselineInfo(source="results", path="baseline", n_items=n, from_summaries=False)


def compare(current: list[ItemSummary], baseline: list[ItemSummary], profile: Profile) -> DiversityResult:
    return diversity_result(current, profile, (summaries_of(baseline, profile), info(len(baseline))))


def drift_of(d: DiversityResult) -> dict[str, DriftVariable]:
    assert d.drift is not None
    return {v.name: v for v in d.drift.variables}


def test_same_distribution_is_not_flagged(
    base_items: list[ItemSummary], same_items: list[ItemSummary], profile: Profile
) -> None:
    d = compare(same_items, base_items, profile)
    assert d.drift is not None and d.drift.verdict == "pass", d.drift.summary
    v = drift_of(d)
    assert set(v) >= {
        "class",
        "institution",
        "sex",
        "site",
        "age",
        "slide_megapixels",
        "lesion_area_fraction",
    }
    assert d.drift.summary.startswith("no drift in")
    assert v["age"].baseline_figures["median"] == pytest.approx(
        np.median(build_table(base_items, profile).columns["age"])
    )


def test_older_patients_are_flagged(
    base_items: list[ItemSummary], same_items: list[ItemSummary], profile: Profile
) -> None:
    older = [
        i.model_copy(update={"clinical": {**i.clinical, "age": str(int(i.clinical["age"]) + 12)}})
        for i in same_items
    ]
    v = drift_of(compare(older, base_items, profile))
    assert v["age"].decision == "fail" and v["age"].effect_size >= 0.2
    assert v["age"].sentence.startswith("age drifted strongly from the baseline (KS D")
    assert v["age_band"].decision in ("warn", "fail")
    assert v["class"].decision == "pass"


def test_new_institution_and_vanished_class_are_flagged(
    base_items: list[ItemSummary], same_items: list[ItemSummary], profile: Profile
) -> None:
    current = [
        i.model_copy(update={"institution": "Jeju-E"}) if k % 3 == 0 else i
        for k, i in enumerate(same_items)
        if i.diagnosis != "MM"
    ]
    d = compare(current, base_items, profile)
    v = drift_of(d)
    assert v["institution"].new == ["Jeju-E"] and v["institution"].decision in ("warn", "fail")
    assert v["institution"].psi is not None and v["institution"].psi > 0.25
    assert "new: Jeju-E" in v["institution"].sentence
    assert v["class"].vanished == ["MM"] and v["class"].decision in ("warn", "fail")
    assert d.drift is not None and d.drift.verdict in ("warn", "fail")
    assert "drift" in d.summary


def test_a_rare_category_missing_by_chance_is_listed_not_flagged(
    base_items: list[ItemSummary], same_items: list[ItemSummary], profile: Profile
) -> None:
    # a site seen twice in the baseline and never now: listed, but 2 slides prove nothing
    def no_genital(items: list[ItemSummary]) -> list[ItemSummary]:
        return [
            i.model_copy(update={"clinical": {**i.clinical, "site": "trunk"}})
            if i.clinical["site"] == "genital"
            else i
            for i in items
        ]

    base, current = no_genital(base_items), no_genital(same_items)
    for k in (0, 1):
        base[k] = base[k].model_copy(update={"clinical": {**base[k].clinical, "site": "genital"}})
    v = drift_of(compare(current, base, profile))["site"]
    assert v.vanished == ["genital"]
    assert v.decision == "pass"
    assert absence_p(2, 0, N, N) == pytest.approx(0.25)


def test_drift_statistics_equal_scipy(
    base_items: list[ItemSummary], same_items: list[ItemSummary], profile: Profile
) -> None:
    v = drift_of(compare(same_items, base_items, profile))
    a = build_table(base_items, profile).columns["slide_megapixels"]
    b = build_table(same_items, profile).columns["slide_megapixels"]
    ref = st.ks_2samp(round_significant(a), round_significant(b), method="exact")
    assert v["slide_megapixels"].statistic == pytest.approx(ref.statistic, abs=1e-12)
    assert v["slide_megapixels"].p_value == pytest.approx(ref.pvalue, rel=1e-9)
    cats = ["Seoul-A", "Busan-B", "Daegu-C", "Gwangju-D"]
    table = np.array(
        [[sum(i.institution == c for i in items) for c in cats] for items in (base_items, same_items)]
    )
    chi = st.chi2_contingency(table, correction=False)
    inst = v["institution"]
    assert inst.statistic == pytest.approx(chi.statistic) and inst.p_value == pytest.approx(chi.pvalue)
    pb, pc = (table[0] + 0.5) / (N + 2), (table[1] + 0.5) / (N + 2)
    assert inst.psi == pytest.approx(st.entropy(pc, pb) + st.entropy(pb, pc))


def test_other_age_bands_are_not_compared(
    base_items: list[ItemSummary], same_items: list[ItemSummary], profile: Profile
) -> None:
    other = profile.model_copy(
        update={"diversity": profile.diversity.model_copy(update={"age_bands": (0, 50)})}
    )
    baseline = summaries_of(base_items, other)
    d = diversity_result(same_items, profile, (baseline, info(N)))
    assert d.drift is not None
    assert "age_band" not in {v.name for v in d.drift.variables}
    assert any("other band edges" in n for n in d.drift.notes)


def _result(items: list[ItemSummary], diversity: DiversityResult | None) -> QualityResult:
    return QualityResult(
        dqm_version="test",
        created=dt.datetime(2025, 1, 1, tzinfo=dt.UTC).isoformat(),
        batch=BatchInfo(
            path="old", fingerprint="f" * 64, n_items=len(items), n_slide_files=0, n_annotation_files=0
        ),
        profile=ProfileInfo(name="dermatopathology", version="1.0", sha256="0" * 64),
        items=items,
        findings=[],
        diversity=diversity,
        verdict=Verdict(status="incomplete"),
    )


def test_results_json_baseline_needs_no_items(
    tmp_path: Path, base_items: list[ItemSummary], same_items: list[ItemSummary], profile: Profile
) -> None:
    stored = diversity_result(base_items, profile)
    full, stripped, old = tmp_path / "full.json", tmp_path / "stripped.json", tmp_path / "old.json"
    _result(base_items, stored).dump(full)
    _result([], stored).dump(stripped)  # the summaries alone, no item
    _result(base_items, None).dump(old)  # an audit from before this dimension
    outcomes = {}
    for path in (full, stripped, old):
        summaries, meta = load_baseline(path, profile)
        d = diversity_result(same_items, profile, (summaries, meta))
        assert d.drift is not None and d.drift.baseline.n_items == N
        outcomes[path.name] = [v.model_dump() for v in d.drift.variables]
        assert meta.from_summaries == (path != old)
    assert outcomes["full.json"] == outcomes["stripped.json"] == outcomes["old.json"]
    direct = compare(same_items, base_items, profile)
    assert direct.drift is not None
    assert outcomes["full.json"] == [v.model_dump() for v in direct.drift.variables]


def test_output_folder_is_a_baseline_and_bad_paths_are_errors(
    tmp_path: Path, base_items: list[ItemSummary], profile: Profile
) -> None:
    out = tmp_path / "dqm-out"
    out.mkdir()
    _result(base_items, diversity_result(base_items, profile)).dump(out / "results.json")
    _, meta = load_baseline(out, profile)
    assert meta.path.endswith("results.json") and meta.from_summaries
    with pytest.raises(BaselineError, match="no such baseline"):
        load_baseline(tmp_path / "nowhere", profile)
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json", encoding="utf-8")
    with pytest.raises(BaselineError, match="cannot read baseline"):
        load_baseline(garbage, profile)


@pytest.mark.parametrize(
    ("support", "counts", "why"),
    [
        ([82.0, 29.0, 1e308, -1e308], [1, 1, 1, 1], "beyond"),  # drift's bin edges overflowed
        ([29.0, 40.0, 49.0], [1], "3 values and 1 counts"),  # numpy refused the weights
        ([29.0, 40.0, 40.0], [1, 1, 1], "increasing order"),
        ([29.0, 40.0], [1, -4], "negative count"),
        ([29.0, 40.0], [2**63, 1], "more than"),  # past int64: the KS test raised OverflowError
        ([29.0, 40.0], [2**62, 2**62], "more than"),  # a sum past int64: a negative size
    ],
)
def test_a_baseline_whose_stored_distribution_dqm_never_writes_is_refused(
    tmp_path: Path,
    base_items: list[ItemSummary],
    profile: Profile,
    support: list[float],
    counts: list[int],
    why: str,
) -> None:
    """A hand-edited baseline results.json is read, and its stored distributions went to drift as
    they were: values of ±1e308 made the span of the bin edges infinite, a count list shorter than
    its values made numpy raise; the diversity stage crashed (and the audit exited 0: see
    test_crash_verdict). Such a baseline is refused like an unreadable one (exit 2)."""
    stored = diversity_result(base_items, profile)
    age = next(c for c in stored.continuous if c.name == "age")
    edited = age.model_copy(update={"support": support, "support_counts": counts})
    others = [c for c in stored.continuous if c.name != "age"]
    path = tmp_path / "edited.json"
    _result(base_items, stored.model_copy(update={"continuous": [edited, *others]})).dump(path)
    with pytest.raises(BaselineError, match=f"cannot read baseline .*'age'.*{why}"):
        load_baseline(path, profile)


@pytest.mark.parametrize(("support", "counts", "n"), [([29.0], [1], 10**6), ([29.0, 40.0], [0, 0], 400)])
def test_a_baseline_whose_stored_values_count_other_than_it_states_is_refused(
    tmp_path: Path,
    base_items: list[ItemSummary],
    profile: Profile,
    support: list[float],
    counts: list[int],
    n: int,
) -> None:
    """A stored numeric distribution stating 10^6 slides with one value stored was read: drift ran
    the KS test on one value and reported a baseline of a million slides. dqm stores every value, so
    counts that sum to other than the slides it states are refused (as the categorical ones are)."""
    stored = diversity_result(base_items, profile)
    age = next(c for c in stored.continuous if c.name == "age")
    edited = age.model_copy(update={"support": support, "support_counts": counts, "n": n})
    others = [c for c in stored.continuous if c.name != "age"]
    path = tmp_path / "edited.json"
    _result(base_items, stored.model_copy(update={"continuous": [edited, *others]})).dump(path)
    with pytest.raises(BaselineError, match=r"cannot read baseline .*'age'.*slides where it states"):
        load_baseline(path, profile)
    # a result written before values were stored (none stored) is read: age is not compared
    legacy = age.model_copy(update={"support": [], "support_counts": []})
    _result(base_items, stored.model_copy(update={"continuous": [legacy, *others]})).dump(path)
    load_baseline(path, profile)


@pytest.mark.parametrize(
    ("counts", "why"),
    [
        ({"Seoul-A": 2**62, "Busan-B": 2**62}, "more than"),  # a sum past int64: wrapped, no test
        ({"Seoul-A": -5}, "negative count"),  # PSI took the log of a negative share: NaN
        ("none", "counts 0 slides"),  # PSI raised ValueError: the diversity stage crashed (exit 3)
        ("zeros", "counts 0 slides"),  # the same with each category kept at 0
        ({"Seoul-A": 10**6}, "slides with a value"),  # shares and tests of a sample it does not hold
    ],
)
def test_a_baseline_whose_stored_categories_dqm_never_counts_is_refused(
    tmp_path: Path, base_items: list[ItemSummary], profile: Profile, counts: Any, why: str
) -> None:
    """The categorical twin of the refusal above (a count past 64 bits is refused as JSON): two
    counts of 2^62 summed to a negative number of slides and the test was skipped, a negative
    count made PSI NaN (numpy's RuntimeWarning on the console) and drift passed; exit 0 both. Counts
    that sum to other than the slides it states (none at all: PSI raised, the stage crashed) are
    none dqm writes either."""
    stored = diversity_result(base_items, profile)
    inst = next(c for c in stored.categorical if c.name == "institution")
    if counts == "none":
        counts = {}
    elif counts == "zeros":
        counts = dict.fromkeys(inst.counts, 0)
    else:
        counts = {**inst.counts, **counts}
    edited = inst.model_copy(update={"counts": counts})
    others = [c for c in stored.categorical if c.name != "institution"]
    path = tmp_path / "edited.json"
    _result(base_items, stored.model_copy(update={"categorical": [edited, *others]})).dump(path)
    with pytest.raises(BaselineError, match=f"cannot read baseline .*'institution'.*{why}"):
        load_baseline(path, profile)


def test_drift_of_large_samples_needs_no_sample_spelled_out() -> None:
    """Past 10,000 values a side the p-value is Smirnov's formula on D and the sizes, as ks_2samp
    computes it, without the samples the counts describe (a baseline stating 3 million values of
    a billion slides each asked numpy for 21 PiB)."""
    from dqm.diversity.stats import ks_from_counts

    rng = np.random.default_rng(4)
    a, b = np.round(rng.normal(0, 1, 12_000), 2), np.round(rng.normal(0.05, 1, 20_000), 2)
    (sa, ca), (sb, cb) = (np.unique(x, return_counts=True) for x in (a, b))
    ours, theirs = ks_from_counts(sa, ca, sb, cb), st.ks_2samp(a, b, method="asymp")
    assert (ours.statistic, ours.p_value) == (float(theirs.statistic), float(theirs.pvalue))
    huge = ks_from_counts([1.0, 2.0], [10**9, 10**9], [1.0, 2.0, 3.0], [10**9, 10**9, 10**9])
    assert huge.p_value == 0.0 and huge.statistic == pytest.approx(1 / 3)


def false_alarms(draws: int, n: int, profile: Profile) -> tuple[float, float]:
    """(share of same-distribution pairs whose drift is flagged, share whose gated tests warn or fail)."""
    drift_flags = family_flags = 0
    # the site predictions (hundreds of fits per batch) are not part of either family: off here
    quiet = profile.diversity.model_copy(update={"batch_effects": None})
    profile = profile.model_copy(update={"diversity": quiet})
    for s in range(draws):
        base = synthetic_items(n, seed=10_000 + s)
        cur = synthetic_items(n, seed=20_000 + s, prefix="T")
        d = compare(cur, base, profile)
        assert d.drift is not None
        drift_flags += d.drift.verdict != "pass"
        family_flags += any(t.in_family and t.gated and t.decision != "pass" for t in d.tests)
    return drift_flags / draws, family_flags / draws


@pytest.mark.slow
def test_false_alarm_rate_over_200_seeded_draws(profile: Profile) -> None:
    """Same-distribution batches (200 pairs of 200 slides): drift stays near its α of 0.01 and the
    gated tests under their α of 0.05 (Holm bounds each family's false-alarm rate by its α)."""
    drift_rate, family_rate = false_alarms(200, 200, profile)
    print(f"false-alarm rate over 200 draws of 200 slides: drift {drift_rate:.3f}, tests {family_rate:.3f}")
    assert drift_rate <= 0.03
    assert family_rate <= 0.05


def test_a_baseline_of_many_categories_lists_the_largest_and_counts_every_one(
    base_items: list[ItemSummary], same_items: list[ItemSummary], profile: Profile
) -> None:
    """A hand-edited baseline of 300,000 institutions listed each of them in bins, shares, vanished
    and the sentence (70 MB of outputs to mask, minutes): the comparison lists the largest
    MAX_LISTED and says how many there are; the test and the decisions still count every one."""
    stored = summaries_of(base_items, profile)
    inst = stored.categorical["institution"]
    extra = {f"closed-{k:05d}": 1 for k in range(1_000)}
    counts = {**inst.counts, **extra}
    edited = inst.model_copy(update={"counts": counts, "n": sum(counts.values())})
    baseline = Summaries({**stored.categorical, "institution": edited}, stored.continuous, stored.age_bands)
    current = summaries_of(same_items, profile)
    settings = profile.diversity
    result = drift(current, baseline, info(N + 1_000), settings)
    v = {x.name: x for x in result.variables}["institution"]
    assert len(v.bins) == len(v.baseline_shares) == len(v.current_shares) == MAX_LISTED
    assert set(inst.counts) <= set(v.bins)  # the largest: the institutions of both releases
    assert len(v.vanished) == MAX_LISTED and set(v.vanished) <= set(extra)
    assert v.vanished == sorted(v.vanished)  # in the baseline's order
    assert "; vanished: closed-00000, closed-00001, " in v.sentence
    assert v.sentence.endswith(f"closed-{MAX_LISTED - 1:05d} and {1_000 - MAX_LISTED:,} more")
    assert any(f"{len(counts):,} categories: the {MAX_LISTED} largest are listed" in w for w in v.warnings)
    whole = drift(current, Summaries({**stored.categorical}, {}, stored.age_bands), info(N), settings)
    usual = {x.name: x for x in whole.variables}["institution"]
    assert usual.bins == list(inst.counts) and not usual.vanished  # every category, as before


def test_a_monte_carlo_test_of_a_huge_table_makes_fewer_draws() -> None:
    """10,000 random tables of a 2 x 300,000 table (a baseline of 300,000 categories) took 80 s:
    past MAX_MONTE_CARLO_CELLS the draws are fewer, at least MIN_MONTE_CARLO_DRAWS, and the
    warning says how many; a table they all fit keeps them all."""
    assert monte_carlo_draws(10_000, 7 * 200) == 10_000
    assert monte_carlo_draws(10_000, 600_000) == 223
    assert monte_carlo_draws(10_000, 10**8) == MIN_MONTE_CARLO_DRAWS
    assert monte_carlo_draws(150, 600_000) == 150
    table = np.ones((2, 70_000), dtype=int)
    table[0, :5] = 9
    from dqm.diversity.stats import independence

    outcome = independence(table)
    assert outcome.method == "Monte Carlo chi-square"
    assert "(958 tables with the observed margins" in str(outcome.warnings[0])
    assert outcome.p_value is not None and outcome.p_value * 959 == pytest.approx(
        round(outcome.p_value * 959)
    )


def test_an_effect_beside_its_thresholds_reads_on_its_own_side_of_them() -> None:
    """A PSI of 0.2496 (warn, under the fail threshold 0.25) read ``PSI 0.250`` beside ``fail when
    … PSI ≥ 0.25``; a threshold was printed with ``{:g}`` (0.2500004: ``0.25``). Both read as
    they are decided now."""
    from dqm.diversity.drift import _decide, _Pending
    from dqm.diversity.settings import DriftSettings
    from dqm.diversity.stats import TestOutcome

    def decided(effect: float, settings: DriftSettings) -> DriftVariable:
        draft = DriftVariable(
            name="scanner", label="scanner", kind="categorical", method="chi2", effect_size=effect,
            baseline_n=1000, current_n=1000, decision="pass", rule="", sentence="",
        )  # fmt: skip
        outcome = TestOutcome(statistic=1.0, df=1, p_value=1e-9, method="chi2")
        return _decide(_Pending(draft, outcome), 1e-9, {}, settings, 0.01)

    warned = decided(0.2496, DriftSettings())
    assert warned.decision == "warn" and "(PSI 0.2496, p_adj" in warned.sentence, warned.sentence
    assert "PSI ≥ 0.25;" in warned.rule
    failed = decided(0.25, DriftSettings())
    assert failed.decision == "fail" and "(PSI 0.250, p_adj" in failed.sentence  # at it: as ever
    odd = decided(0.2500002, DriftSettings(psi_fail=0.2500004))
    assert odd.decision == "warn" and "PSI ≥ 0.2500004;" in odd.rule, odd.rule
    assert "(PSI 0.2500002, p_adj" in odd.sentence, odd.sentence
