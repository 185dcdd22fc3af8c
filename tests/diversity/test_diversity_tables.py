"""Variables read from item summaries, and their summaries (compositions, quantiles, joint tables)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from dqm.diversity.settings import DiversitySettings
from dqm.diversity.summaries import (
    categorical_summary,
    continuous_summary,
    joint_table,
    nice_edges,
    round_significant,
)
from dqm.diversity.table import age_bands, build_table
from dqm.diversity.variables import (
    NEW_VANISHED,
    TARGETABLE,
    TEST_NAMES,
    VARIABLES,
    Variable,
    band_labels,
    magnification,
)
from dqm.profile import Profile
from dqm.results import ItemSummary, SlideSummary


def item(slide_id: str, **kw: object) -> ItemSummary:
    clinical = {"age": "55", "sex": "F", "site": "trunk"}
    clinical.update(kw.pop("clinical", {}))  # type: ignore[arg-type]
    return ItemSummary(slide_id=slide_id, clinical=clinical, **kw)  # type: ignore[arg-type]


def test_build_table_reads_every_variable(profile: Profile) -> None:
    items = [
        item(
            "a",
            institution="Seoul-A",
            diagnosis="BCC",
            n_lesions=2,
            lesion_classes={"BCC": 2},
            lesion_area_px={"BCC": 2500.0},
            slide=SlideSummary(width=100, height=100, mpp=0.25, vendor="aperio", objective_power=40),
        ),
        item(
            "b",
            institution="Busan-B",
            diagnosis="MM",
            clinical={"age": "abc", "sex": None, "site": "moon"},
            n_lesions=1,
            lesion_classes={"MM": 1},
            lesion_area_px={"MM": 1000.0},
            width=200,
            height=100,
        ),
        item("c", institution=None, diagnosis=None, clinical={"age": None}),
    ]
    t = build_table(items, profile)
    assert t.columns["class"].tolist() == ["BCC", "MM", None]
    assert t.columns["sex"].tolist() == ["F", None, "F"]
    assert t.columns["site"].tolist() == ["trunk", "moon", "trunk"]
    assert t.columns["age"][0] == 55 and math.isnan(t.columns["age"][1]) and math.isnan(t.columns["age"][2])
    assert t.invalid["age"] == 1
    assert t.columns["age_band"].tolist() == ["40–59", None, None]
    assert t.columns["magnification"].tolist() == ["40×", None, None]
    # slide size from the header, else the annotation's declared size, else unknown
    assert t.columns["slide_megapixels"][:2].tolist() == [0.01, 0.02]
    assert math.isnan(t.columns["slide_megapixels"][2])
    assert t.columns["lesion_area_fraction"][:2].tolist() == [0.25, 0.05]
    assert math.isnan(t.columns["lesion_area_fraction"][2])
    assert t.columns["lesion_area_fraction.BCC"].tolist() == [0.25]
    assert t.columns["lesion_area_fraction.MM"].tolist() == [0.05]


def test_age_bands_and_labels() -> None:
    assert band_labels([0, 20, 40, 60, 80]) == ("0–19", "20–39", "40–59", "60–79", "80+")
    assert band_labels([0, 17.5]) == ("[0, 17.5)", "17.5+")
    ages = np.array([0.0, 19.0, 20.0, 95.0, -1.0, np.nan])
    assert age_bands(ages, [0, 20, 40, 60, 80]).tolist() == ["0–19", "0–19", "20–39", "80+", None, None]


def test_magnification_from_objective_power_or_mpp() -> None:
    assert magnification(20, 0.25) == "20×"
    assert magnification(None, 0.25) == "40×"
    assert magnification(None, 0.5) == "20×"
    assert magnification(None, 1.0) == "10×"
    assert magnification(None, 4.0) == "<10×"
    assert magnification(None, None) is None
    assert magnification(0, -1.0) is None


def test_magnification_takes_the_objective_range_the_profile_gives_its_check(profile: Profile) -> None:
    """The variable took a header's power within the check's default 1-100 whatever the profile set:
    a profile allowing 200x (a 150x header passes its ``slide.header`` check) had the slide's
    magnification from mpp instead, and one allowing 5-100 counted a 2x header as 2x, a power its
    check reports as implausible. The profile's ``objective_min`` / ``objective_max`` decide both."""
    from dqm.diversity.table import objective_range
    from dqm.profile import CheckSetting

    def slide(power: float) -> ItemSummary:
        return item(f"s{power}", slide=SlideSummary(width=10, height=10, mpp=0.25, objective_power=power))

    items = [slide(150), slide(2), slide(40)]
    assert build_table(items, profile).columns["magnification"].tolist() == ["40×", "2×", "40×"]
    own = profile.model_copy(
        update={"checks": {"slide.header": CheckSetting(params={"objective_min": 5, "objective_max": 200})}}
    )
    assert objective_range(own) == (5.0, 200.0)
    assert build_table(items, own).columns["magnification"].tolist() == ["150×", "40×", "40×"]
    odd = profile.model_copy(update={"checks": {"slide.header": CheckSetting(params={"objective_max": "x"})}})
    assert objective_range(odd) == (1.0, 100.0)  # not a number: the check refuses it, the default here


def test_a_resolution_from_the_objective_is_no_magnification_or_resolution(profile: Profile) -> None:
    """A record may hold 10 µm over the header's objective power as the slide's mpp (``mpp_source``
    ``objective``): a 200x header (implausible, dropped) then read as 40x from its 0.05 µm/px, and
    a 0.5x one as under 10x; the resolution variable counted the derived values beside stated
    ones. Both take the header's, annotation's, manifest's or profile's mpp only."""

    def slide(power: float, mpp: float, source: str) -> ItemSummary:
        summary = SlideSummary(width=10, height=10, mpp=mpp, mpp_source=source, objective_power=power)
        return item(f"s{power}{source}", slide=summary)

    items = [slide(200, 0.05, "objective"), slide(0.5, 20.0, "objective"), slide(200, 0.25, "header")]
    columns = build_table(items, profile).columns
    assert columns["magnification"].tolist() == [None, None, "40×"]
    assert [None if math.isnan(v) else v for v in columns["mpp"].tolist()] == [None, None, 0.25]


def test_categorical_summary_keeps_declared_order_zeros_and_missing() -> None:
    var = Variable("site", "site", "categorical", declared=("head_neck", "trunk", "acral"))
    values = np.array(["trunk", "moon", None, "trunk", "moon", "mars"], dtype=object)
    s = categorical_summary(var, values)
    assert list(s.counts) == ["head_neck", "trunk", "acral", "moon", "mars"]
    assert s.counts == {"head_neck": 0, "trunk": 2, "acral": 0, "moon": 2, "mars": 1}
    assert s.n == 5 and s.missing == 1
    assert s.shares["trunk"] == pytest.approx(0.4)
    assert s.undeclared == ["moon", "mars"]


def test_categorical_summary_with_no_value() -> None:
    s = categorical_summary(
        Variable("sex", "sex", "categorical", declared=("M", "F")), np.array([None, None])
    )
    assert s.n == 0 and s.missing == 2 and s.shares == {"M": 0.0, "F": 0.0}


def test_continuous_summary_equals_numpy() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(60, 12, 500)
    values = np.concatenate([x, [np.nan, np.nan]])
    s = continuous_summary(Variable("age", "age", "continuous"), values, invalid=1)
    assert s.n == 500 and s.missing == 2 and s.invalid == 1
    assert s.mean == pytest.approx(x.mean()) and s.sd == pytest.approx(x.std(ddof=1))
    assert s.quantiles["p50"] == pytest.approx(np.median(x))
    assert s.quantiles["p05"] == pytest.approx(np.quantile(x, 0.05))
    assert s.histogram is not None and sum(s.histogram.counts) == 500
    assert s.histogram.edges[0] <= x.min() and s.histogram.edges[-1] >= x.max()
    assert sum(s.support_counts) == 500
    rebuilt = np.repeat(s.support, s.support_counts)
    assert np.max(np.abs(np.sort(rebuilt) - np.sort(round_significant(x)))) == 0


def test_continuous_summary_degenerate() -> None:
    var = Variable("age", "age", "continuous")
    empty = continuous_summary(var, np.array([np.nan, np.nan]))
    assert empty.n == 0 and empty.mean is None and empty.histogram is None and empty.support == []
    equal = continuous_summary(var, np.full(6, 42.0))
    assert equal.sd == 0.0 and equal.histogram is not None and equal.histogram.counts == [6]
    one = continuous_summary(var, np.array([42.0]))
    assert one.sd is None and one.quantiles["p50"] == 42.0


def test_nice_edges() -> None:
    edges = nice_edges(17, 93, integer=True)
    assert edges[0] <= 17 and edges[-1] >= 93 and all(float(e).is_integer() for e in edges)
    assert nice_edges(1, 3, integer=True) == [0.5, 1.5, 2.5, 3.5]
    e = nice_edges(0.0123, 0.187)
    assert e[0] <= 0.0123 and e[-1] >= 0.187 and 10 <= len(e) - 1 <= 25
    assert nice_edges(0.5, 0.5) == [0.475, 0.525]
    with pytest.raises(ValueError):
        nice_edges(2, 1)


def test_round_significant() -> None:
    assert round_significant(np.array([0.0, 123456.0, 0.0012345, -98.76])).tolist() == [
        0.0,
        123000.0,
        0.00123,
        -98.8,
    ]


def test_joint_table_equals_pandas_crosstab() -> None:
    rng = np.random.default_rng(4)
    rows = rng.choice(["NS", "BCC", "MM"], 200).astype(object)
    cols = rng.choice(["A", "B", "C", "D"], 200).astype(object)
    rows[:5] = None
    cols[3:9] = None
    t = joint_table(
        Variable("class", "class", "categorical", declared=("NS", "BCC", "MM", "SK")),
        Variable("institution", "institution", "categorical"),
        rows,
        cols,
    )
    ok = np.array([r is not None and c is not None for r, c in zip(rows, cols, strict=True)])
    ref = pd.crosstab(rows[ok].astype(str), cols[ok].astype(str))
    assert t.n == int(ok.sum()) and t.excluded == 200 - t.n
    assert t.rows == ["NS", "BCC", "MM", "SK"]  # the declared, absent SK kept as a zero row
    for i, r in enumerate(t.rows):
        for j, c in enumerate(t.cols):
            expected = int(ref.loc[r, c]) if r in ref.index else 0
            assert t.counts[i][j] == expected


def test_the_table_of_variables_is_consistent() -> None:
    """Every row can be read, and what it declares is something the dimension can do with it."""
    names = [v.name for v in VARIABLES]
    assert len(names) == len(set(names))
    kinds = {v.name: v.kind for v in VARIABLES}
    for v in VARIABLES:
        assert (v.read is None) != (not v.bands_of), v.name  # read from an item, or cut from another variable
        if v.bands_of:
            assert kinds[v.bands_of] == "continuous"
        if v.kind == "continuous":
            assert not (v.targets or v.independence or v.age_by or v.balance or v.new_vanished), v.name
            assert v.categories is None and v.note_undeclared is None, v.name
    positions = [v.independence.position for v in VARIABLES if v.independence is not None]
    assert len(positions) == len(set(positions))
    assert tuple(DiversitySettings().rules) == TEST_NAMES  # every test has a default rule
    assert set(TARGETABLE) <= set(names) and set(NEW_VANISHED) <= set(names)


def test_targets_and_rules_are_checked_against_the_table() -> None:
    with pytest.raises(ValueError, match="targets for 'age'"):
        DiversitySettings(targets={"age": {"young": 1.0}})
    with pytest.raises(ValueError, match="unknown test names"):
        DiversitySettings(rules={"independence.class_scanner": {"warn_at": "small"}})
    s = DiversitySettings(rules={"independence.class_sex": {"warn_at": "small", "fail_at": None}})
    assert s.rule("independence.class_sex").warn_at == "small"
    assert s.rule("independence.class_institution").fail_at == "large"  # the table's default kept


@pytest.mark.parametrize("age", ["9" * 400, "-inf", "1e999", "NaN"])
def test_a_number_beyond_a_float_is_invalid_not_a_crash(profile: Profile, age: object) -> None:
    t = build_table([item("a", clinical={"age": age})], profile)
    assert math.isnan(t.columns["age"][0])
    assert t.invalid["age"] == 1


def test_the_magnification_range_is_read_as_the_runner_reads_it(profile: Profile) -> None:
    """BASE read ``slide.header``'s objective range a second way: a string "5" (its check takes it as
    5) was the default 1, and a disabled check's gave the diversity table and the probe two ranges."""
    from dqm.diversity.table import objective_range
    from dqm.probe_mpp import header_ranges
    from dqm.profile import CheckSetting

    for enabled in (True, False):
        setting = CheckSetting(enabled=enabled, params={"objective_min": "5", "objective_max": 200})
        own = profile.model_copy(update={"checks": {"slide.header": setting}})
        assert objective_range(own) == header_ranges(own)[1] == (5.0, 200.0)
