"""Allocation, the seeded draw, oversampling weights, and the unbiasedness of the weighted estimate."""

from __future__ import annotations

import hashlib
import statistics

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dqm.semantic.allocation import allocate
from dqm.semantic.estimate import weighted_estimate
from dqm.semantic.sampling import Unit, draw_sample, flag_units, simple_random_sample

# --------------------------------------------------------------------------- allocation


def test_largest_remainder_by_hand() -> None:
    # quotas 2.5, 1.5, 1.0 → floors 2, 1, 1; one slide left: a and b tie on .5, the larger (a) wins
    assert allocate({"a": 5, "b": 3, "c": 2}, 5, minimum=0) == {"a": 3, "b": 1, "c": 1}


def test_floors_bind_then_the_rest_is_proportional() -> None:
    # c and e would get 0.13 and 0.39: fixed at 1; the other 18 split 100:50 → 12, 6
    got = allocate({"a": 100, "b": 50, "c": 1, "d": 0, "e": 3}, 20, minimum=1)
    assert got == {"a": 12, "b": 6, "c": 1, "d": 0, "e": 1}


def test_floors_raise_the_total_and_the_lot_caps_it() -> None:
    assert allocate({k: 1 for k in "abcde"}, 2, minimum=1) == {k: 1 for k in "abcde"}
    assert allocate({"a": 3, "b": 2}, 50, minimum=1) == {"a": 3, "b": 2}
    assert allocate({"a": 0}, 5) == {"a": 0}
    assert allocate({}, 5) == {}


def test_weights_and_ceilings() -> None:
    # flagged cell weighted ×3: quota 10·15/110 = 1.36 → 1; a cell cannot get more than it holds
    assert allocate({"F": 5, "U": 95}, 10, 1, {"F": 15, "U": 95}) == {"F": 1, "U": 9}
    assert allocate({"F": 2, "U": 95}, 10, 1, {"F": 60, "U": 95}) == {"F": 2, "U": 8}


def test_bad_allocation_input() -> None:
    with pytest.raises(ValueError):
        allocate({"a": -1}, 3)
    with pytest.raises(ValueError):
        allocate({"a": 3}, -1)
    with pytest.raises(ValueError):
        allocate({"a": 3}, 2, weights={"a": 0.0})


@settings(max_examples=150, deadline=None)
@given(
    sizes=st.dictionaries(st.sampled_from("abcdefghij"), st.integers(0, 40), max_size=8),
    n=st.integers(0, 200),
    minimum=st.integers(0, 4),
)
def test_allocation_properties(sizes: dict[str, int], n: int, minimum: int) -> None:
    got = allocate(sizes, n, minimum)
    lot = sum(sizes.values())
    total = min(lot, max(n, sum(min(minimum, v) for v in sizes.values())))
    assert sum(got.values()) == total
    assert all(min(minimum, sizes[k]) <= got[k] <= sizes[k] for k in sizes)
    if minimum == 0 and lot:
        # pure proportional allocation: every stratum within one slide of its exact quota
        assert all(abs(got[k] - total * sizes[k] / lot) < 1 for k in sizes)


# --------------------------------------------------------------------------- the draw


def _lot(n: int = 200, flagged_every: int = 4) -> list[Unit]:
    strata = ["BCC / A"] * 80 + ["MM / B"] * 60 + ["NS / A"] * 40 + ["SK / C"] * 20
    return [Unit(f"S{i:04d}", strata[i * len(strata) // n], i % flagged_every == 0) for i in range(n)]


def test_the_draw_is_an_sha256_ranking_an_auditor_can_redo() -> None:
    ids = [f"slide-{i}" for i in range(30)]
    ranked = sorted(ids, key=lambda s: hashlib.sha256(f"dqm-review:7:{s}".encode()).hexdigest())
    assert simple_random_sample(ids, 5, seed=7) == sorted(ranked[:5])
    assert simple_random_sample(ids, 99, seed=7) == sorted(ids)
    assert simple_random_sample(ids, 0, seed=7) == []


def test_same_seed_same_sample_other_seed_other_sample() -> None:
    lot = _lot()
    a, b, c = draw_sample(lot, 40, 1), draw_sample(list(reversed(lot)), 40, 1), draw_sample(lot, 40, 2)
    assert a == b
    assert [d.slide_id for d in a.draws] != [d.slide_id for d in c.draws]
    # no floor binds (every stratum has core slides): the sample is the core, 40 slides
    assert len(a.draws) == 40 and all(d.core for d in a.draws) and a.core_size == 40
    assert a.allocation == {k: sum(d.stratum == k for d in a.draws) for k in a.sizes}


def test_weights_are_inverse_inclusion_probabilities() -> None:
    lot = _lot()
    sample = draw_sample(lot, 40, seed=3, oversample=4.0)
    for cell in sample.cells:
        drawn = [d for d in sample.draws if d.cell == cell.label]
        assert len(drawn) == cell.sampled
        assert all(d.weight == pytest.approx(cell.lot / cell.sampled) for d in drawn)
        assert all(d.inclusion_probability * d.weight == pytest.approx(1.0) for d in drawn)
        assert sum(d.weight for d in drawn) == pytest.approx(cell.lot)  # each cell's weights add up to it
    assert sum(d.weight for d in sample.draws) == pytest.approx(len(lot))
    flagged_pi = {d.inclusion_probability for d in sample.draws if d.flagged}
    other_pi = {d.inclusion_probability for d in sample.draws if not d.flagged}
    assert min(flagged_pi) > max(other_pi)  # flagged slides are drawn more often


def test_small_strata() -> None:
    lot = [Unit("only", "tiny", True), *[Unit(f"x{i}", "big", i < 3) for i in range(20)]]
    sample = draw_sample(lot, 2, seed=0, oversample=3.0)
    one = [d for d in sample.draws if d.stratum == "tiny"]
    assert len(one) == 1 and one[0].weight == 1.0 and one[0].inclusion_probability == 1.0
    # "big" is allocated one slide: too few to split flagged / other, so it stays one cell (every
    # slide can be drawn); the core may put more than that in it
    big = [c for c in sample.cells if c.stratum == "big"]
    in_core = sum(d.core for d in sample.draws if d.stratum == "big")
    assert len(big) == 1 and big[0].part is None and big[0].sampled == max(1, in_core)
    assert big[0].weight == 20.0 / big[0].sampled
    assert sum(d.core for d in sample.draws) == 2


def test_bad_draw_input() -> None:
    with pytest.raises(ValueError, match="unique"):
        draw_sample([Unit("a", "s"), Unit("a", "t")], 1, 0)
    with pytest.raises(ValueError, match="at least 1"):
        draw_sample([Unit("a", "s")], 1, 0, oversample=0.5)
    with pytest.raises(ValueError, match="negative"):
        draw_sample([Unit("a", "s")], -1, 0)
    with pytest.raises(ValueError, match="negative"):
        draw_sample([Unit("a", "s")], 1, 0, minimum=-1)
    assert draw_sample([], 5, 0).draws == []


def test_flags_come_from_syntactic_findings_or_a_risk_score() -> None:
    flags = flag_units(["a", "b", "c", "d"], {"a": True}, {"b": 0.9, "c": 0.2}, threshold=0.5)
    assert flags == {"a": True, "b": True, "c": False, "d": False}


# --------------------------------------------------------------------------- unbiasedness


def test_weighted_estimate_is_unbiased_under_oversampling() -> None:
    """Simulation over 1,000 seeds: flagged slides fail far more often and are drawn 4× as often.

    The inverse-probability weighted estimate averages to the lot's true accuracy; the raw share
    of PASS does not (it over-counts the flagged slides). A slide's π is ``n_c / N_c`` given how
    many core slides fell in its cell, so its frequency over the seeds matches its mean π; the
    variance formula matches the spread of the estimates.
    """
    lot = _lot()
    # A fixed lot: flagged slides pass 3 times in 5, the others 49 times in 50.
    passes = {u.slide_id: (i % 5 < 3) if u.flagged else (i % 50 != 7) for i, u in enumerate(lot)}
    truth = sum(passes.values()) / len(lot)
    seeds = range(1000)
    s = len(seeds)
    weighted, raw, variances = [], [], []
    drawn = dict.fromkeys(passes, 0)
    pi = dict.fromkeys(passes, 0.0)
    members: dict[tuple[str, str], list[str]] = {}
    for u in lot:
        members.setdefault((u.stratum, "flagged" if u.flagged else "other"), []).append(u.slide_id)
    for seed in seeds:
        sample = draw_sample(lot, 40, seed, minimum=1, oversample=4.0)
        cells = {c.label: [c.lot, 0, 0] for c in sample.cells}
        for d in sample.draws:
            cells[d.cell][1] += 1
            cells[d.cell][2] += passes[d.slide_id]
            drawn[d.slide_id] += 1
        for c in sample.cells:  # every slide of a cell has the cell's π, drawn or not
            for part in ("flagged", "other") if c.part is None else (c.part,):
                for slide_id in members[c.stratum, part]:
                    pi[slide_id] += c.sampled / c.lot / s
        w = weighted_estimate({k: (v[0], v[1], v[2]) for k, v in cells.items()}, len(lot))
        assert w.accuracy is not None and w.variance is not None
        weighted.append(w.accuracy)
        variances.append(w.variance)
        raw.append(sum(passes[d.slide_id] for d in sample.draws) / len(sample.draws))
    sd = statistics.pstdev(weighted)
    assert abs(statistics.fmean(weighted) - truth) < 4 * sd / s**0.5
    assert truth - statistics.fmean(raw) > 10 * statistics.pstdev(raw) / s**0.5  # the raw share is biased
    freq = np.array([drawn[k] / s for k in pi])
    expected = np.array([pi[k] for k in pi])
    assert np.all(np.abs(freq - expected) < 5 * np.sqrt(expected * (1 - expected) / s) + 1e-9)
    assert 0.8 < statistics.fmean(variances) / statistics.pvariance(weighted) < 1.25


# --------------------------------------------------------------------------- the equal-probability core

units_st = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.booleans()), min_size=1, max_size=30
).map(lambda rows: [Unit(f"u{i:02d}", stratum, flagged) for i, (stratum, flagged) in enumerate(rows)])


@settings(max_examples=200, deadline=None)
@given(
    lot=units_st,
    n=st.integers(0, 35),
    seed=st.integers(0, 10**6),
    minimum=st.integers(0, 3),
    oversample=st.sampled_from([1.0, 2.0, 4.0]),
)
def test_the_core_is_a_simple_random_sample_of_the_lot_by_construction(
    lot: list[Unit], n: int, seed: int, minimum: int, oversample: float
) -> None:
    """The core is the same SHA-256 draw of n from the lot's ids whatever the strata, flags,
    floor or oversampling; the supplement only adds slides, never replaces a core one."""
    sample = draw_sample(lot, n, seed, minimum, oversample)
    ids = [u.slide_id for u in lot]
    core = {d.slide_id for d in sample.draws if d.core}
    assert core == set(simple_random_sample(ids, n, seed)) and sample.core_size == len(core) == min(
        n, len(lot)
    )
    unstratified = draw_sample([Unit(s, "one") for s in ids], n, seed, minimum=0)
    assert {d.slide_id for d in unstratified.draws} == core
    by_cell: dict[str, list[str]] = {}
    for d in sample.draws:
        by_cell.setdefault(d.cell, []).append(d.slide_id)
    for cell in sample.cells:
        members = [
            u.slide_id
            for u in lot
            if u.stratum == cell.stratum and cell.part in (None, "flagged" if u.flagged else "other")
        ]
        drawn = sorted(by_cell.get(cell.label, []))
        # a cell's drawn slides are its smallest hashes: core ones, then supplementary ones
        assert drawn == simple_random_sample(members, cell.sampled, seed)
        assert core & set(members) <= set(drawn)
        if oversample == 1.0:  # cells are strata, topped up to their floor only
            assert cell.sampled == max(len(core & set(members)), min(minimum, cell.lot))
    for stratum, size in sample.sizes.items():
        assert sample.allocation[stratum] >= min(minimum, size)


@settings(max_examples=12, deadline=None)
@given(
    strata=st.lists(st.sampled_from(["a", "b", "c"]), min_size=6, max_size=6),
    flags=st.lists(st.booleans(), min_size=6, max_size=6),
    n=st.integers(1, 5),
    oversample=st.sampled_from([1.0, 3.0]),
)
def test_every_slide_has_the_same_core_inclusion_probability(
    strata: list[str], flags: list[bool], n: int, oversample: float
) -> None:
    """Over 1,500 seeds on a lot of six, each slide is in the core with frequency n/N, however
    unequal its stratum and its overall inclusion probability (floors of 2, oversampling)."""
    lot = [Unit(f"u{i}", s, f) for i, (s, f) in enumerate(zip(strata, flags, strict=True))]
    seeds = 1500
    in_core = dict.fromkeys((u.slide_id for u in lot), 0)
    for seed in range(seeds):
        for d in draw_sample(lot, n, seed, minimum=2, oversample=oversample).draws:
            in_core[d.slide_id] += d.core
    p = n / len(lot)
    tolerance = 5 * (p * (1 - p) / seeds) ** 0.5
    assert all(abs(count / seeds - p) < tolerance for count in in_core.values())


# --------------------------------------------------------------------------- every slide its own stratum


class CountedLabel(str):
    """A stratum label that counts how often it is compared for equality."""

    compared = 0

    def __eq__(self, other: object) -> bool:
        CountedLabel.compared += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def test_every_slide_its_own_stratum_costs_no_pass_over_the_cells_per_stratum(monkeypatch) -> None:
    """Every item its own institution (a stratum of the default plan): each stratum's allocation
    and cells were found by a pass over every cell (n^2 comparisons: 5.6 s at 8,000 slides,
    minutes at a delivery's 34,376)."""
    from dqm.facts import ItemSummary
    from dqm.semantic import planfile
    from dqm.semantic.models import PlanBatch
    from dqm.semantic.planfile import PlanOptions, build_plan

    n = 1_500
    units = [Unit(f"S{k}", CountedLabel(f"H{k}")) for k in range(n)]
    CountedLabel.compared = 0
    sample = draw_sample(units, 10, seed=1)
    assert CountedLabel.compared < 10 * n
    assert sample.allocation == {f"H{k}": 1 for k in range(n)} and len(sample.draws) == n

    real = planfile.stratum_label
    monkeypatch.setattr(planfile, "stratum_label", lambda key: CountedLabel(real(key)))
    monkeypatch.setattr(
        planfile, "strata_cap", lambda sample_size: n
    )  # every slide its own stratum, unmerged
    items = [ItemSummary(slide_id=f"S{k}", diagnosis="BCC", institution=f"H{k}") for k in range(n)]
    batch = PlanBatch(path="/b", fingerprint="f" * 64, n_items=n, profile="p", profile_sha256="0")
    CountedLabel.compared = 0
    plan = build_plan(items, batch, PlanOptions())
    assert CountedLabel.compared < 20 * n
    assert len(plan.strata) == n and all(len(s.cells) == 1 and s.sampled == 1 for s in plan.strata)


class CountedVerdicts(dict):
    """Verdicts by slide that count the passes over them."""

    passes = 0

    def items(self):  # type: ignore[override]
        CountedVerdicts.passes += 1
        return super().items()


def test_the_verdicts_of_a_plan_of_one_slide_a_stratum_are_read_once() -> None:
    """Each stratum's figures went over every verdict of the review (31 s at 8,000 strata, ten
    minutes at a delivery's 34,376)."""
    from dqm.facts import ItemSummary
    from dqm.semantic.estimate import stratum_results
    from dqm.semantic.models import PlanBatch
    from dqm.semantic.planfile import PlanOptions, build_plan

    n = 300
    items = [ItemSummary(slide_id=f"S{k}", diagnosis="BCC", institution=f"H{k % 150}") for k in range(n)]
    batch = PlanBatch(path="/b", fingerprint="f" * 64, n_items=n, profile="p", profile_sha256="0")
    plan = build_plan(items, batch, PlanOptions())
    final = CountedVerdicts({s.slide_id: "fail" if k % 7 == 0 else "pass" for k, s in enumerate(plan.sample)})
    CountedVerdicts.passes = 0
    got = stratum_results(plan, final, "wilson", 0.95)
    assert CountedVerdicts.passes == 1
    by_stratum: dict[str, list[str]] = {}
    for s in plan.sample:
        by_stratum.setdefault(s.stratum, []).append(final[s.slide_id])
    assert [(r.label, r.reviewed, r.n_pass) for r in got] == [
        (st.label, len(by_stratum[st.label]), by_stratum[st.label].count("pass")) for st in plan.strata
    ]
