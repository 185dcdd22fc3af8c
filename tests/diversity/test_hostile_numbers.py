"""Hostile numbers through the diversity dimension: a value the profile refuses, an infinity, a
value near a double's limit or an integer past it is *invalid* (counted, left out of the
statistics), never a crash, never an infinite mean shown as a figure."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from dqm.clinical_table import RowSource, field_number, validate_table
from dqm.diversity import DiversityResult, diversity_result
from dqm.diversity.models import ContinuousSummary
from dqm.diversity.summaries import continuous_summary, round_significant
from dqm.diversity.variables import VARIABLES, magnification
from dqm.facts import ItemSummary
from dqm.profile import FieldDef, Profile
from dqm.synth.summaries import synthetic_items


@pytest.fixture(scope="module")
def items() -> list[ItemSummary]:
    return synthetic_items(80, seed=3)


def summary(d: DiversityResult, name: str) -> ContinuousSummary:
    return next(c for c in d.continuous if c.name == name)


def aged(items: list[ItemSummary], ages: dict[int, str]) -> list[ItemSummary]:
    return [
        i.model_copy(update={"clinical": {**i.clinical, "age": ages[k]}}) if k in ages else i
        for k, i in enumerate(items)
    ]


def sliding(items: list[ItemSummary], k: int, **header: object) -> list[ItemSummary]:
    out = list(items)
    slide = out[k].slide
    assert slide is not None
    out[k] = out[k].model_copy(update={"slide": slide.model_copy(update=header)})
    return out


HOSTILE_AGES = ["250", "-1", "1e5", "1_000", "1e308", str(2**64), "9" * 400, "0x10", "1,5", "nan", "inf"]


def test_an_age_the_profile_refuses_is_invalid_not_a_figure(
    items: list[ItemSummary], profile: Profile
) -> None:
    # each of these is a CLINICAL_OUT_OF_RANGE or CLINICAL_WRONG_TYPE finding; the mean age was
    # 5e305 with one 1e308, 1,255 with one 1e5, and 250 fell in the 80+ band
    clean = summary(diversity_result(items, profile), "age")
    hostile = aged(items, dict(enumerate(HOSTILE_AGES)))
    d = diversity_result(hostile, profile)
    age = summary(d, "age")
    assert age.invalid == len(HOSTILE_AGES) and age.n == clean.n - len(HOSTILE_AGES)
    assert age.max is not None and age.max <= 120 and age.min is not None and age.min >= 0
    kept = [float(i.clinical["age"] or "nan") for i in items[len(HOSTILE_AGES) :]]
    assert age.mean == pytest.approx(np.mean(kept)) and age.sd == pytest.approx(np.std(kept, ddof=1))
    band = next(c for c in d.categorical if c.name == "age_band")
    assert band.n == age.n  # 250 is no 80+, -1 no band
    note = f"age: missing for {len(HOSTILE_AGES)} of 80 slides ({len(HOSTILE_AGES)} not a number or out of range)"
    assert any(n.startswith(note) for n in d.notes), d.notes


def test_an_age_in_other_digits_is_read_as_the_clinical_table_reads_it(
    items: list[ItemSummary], profile: Profile
) -> None:
    age = summary(diversity_result(aged(items, {0: "４２", 1: " 42 ", 2: "٤٢", 3: "-0"}), profile), "age")
    assert age.invalid == 0 and age.n == 80
    assert age.min == 0 and math.copysign(1.0, age.min) == 1.0  # -0 is 0: the report showed "min -0"


def test_ages_of_plus_and_minus_1e308_are_invalid_not_a_crash(
    items: list[ItemSummary], profile: Profile
) -> None:
    # the histogram's span overflowed: OverflowError, the stage crashed
    hostile = aged(items, {k: "-1e308" if k % 2 else "1e308" for k in range(len(items))})
    d = diversity_result(hostile, profile)
    age = summary(d, "age")
    assert age.n == 0 and age.invalid == 80 and age.mean is None


def test_a_profile_age_of_type_number_takes_decimals(items: list[ItemSummary], profile: Profile) -> None:
    fields = {**profile.clinical, "age": FieldDef(type="number", min=0, max=120)}
    p = profile.model_copy(update={"clinical": fields})
    age = summary(diversity_result(aged(items, {0: "42.5", 1: "1e1", 2: "120.5"}), p), "age")
    assert age.invalid == 1 and age.n == 79


@pytest.mark.parametrize(
    ("cell", "number"),
    [("42", 42.0), (" 42 ", 42.0), ("４２", 42.0), ("+7", 7.0), ("-0", 0.0), ("120", 120.0), ("0", 0.0)]
    + [(c, None) for c in ["121", "-1", "1e5", "1.5", "0x10", "1,5", "nan", "", "9" * 5000, "4 2"]]
    + [("42\x85", 42.0), ("\u300042\xa0", 42.0)]  # white space float() strips
    # U+001C-U+001F: re's \s matches them, float() does not strip them (it raised ValueError)
    + [(f"42{c}", None) for c in "\x1c\x1d\x1e\x1f"]
    + [(f"{c}42", None) for c in "\x1c\x1f"],
)
def test_field_number_reads_an_integer_field_as_the_table_does(cell: str, number: float | None) -> None:
    assert field_number(cell, FieldDef(type="integer", min=0, max=120)) == number


@pytest.mark.parametrize("kind", ["integer", "number"])
def test_an_age_ending_in_an_information_separator_is_a_wrong_type_not_a_crash(
    profile: Profile, kind: str
) -> None:
    # "72\x1c" matched the pattern (re's \s) and float() refused it: the clinical table's typed
    # column raised ValueError and the audit stopped with an internal error
    fields = {**profile.clinical, "age": FieldDef(type=kind, min=0, max=120)}
    p = profile.model_copy(update={"clinical": fields})
    ages = ["72\x1c", "\x1d42", "42\x1e", "42\x1f", "7" * 400 + "\x1c", "50"]
    frame = pd.DataFrame({"age": ages}, dtype=object)
    sources = [RowSource(f"S{k}", "manifest.csv", k + 1) for k in range(len(ages))]
    failures = [f for f in validate_table(frame, sources, p).failures if f.column == "age"]
    assert [(f.code, f.rows) for f in failures] == [("CLINICAL_WRONG_TYPE", (0, 1, 2, 3, 4))]


@pytest.mark.parametrize("quality", [math.inf, -math.inf, 1e308, 250.0, 0.0, -0.0])
def test_a_header_jpeg_quality_out_of_1_to_100_is_invalid(
    items: list[ItemSummary], profile: Profile, quality: float
) -> None:
    # an infinite quality raised in the histogram's edges: the stage crashed
    d = diversity_result(sliding(items, 0, jpeg_quality=quality, compression="jpeg"), profile)
    q = summary(d, "jpeg_quality")
    assert q.invalid == 1 and q.n == 0


@pytest.mark.parametrize("mpp", [math.inf, -1.0, 0.0, -0.0, 1e308, 1e-308])
def test_a_header_mpp_out_of_bounds_is_invalid_and_no_magnification(
    items: list[ItemSummary], profile: Profile, mpp: float
) -> None:
    # 1e308 µm/px made the mean resolution 2.5e306 and a `<10×` slide; 1e-308 a 40× one
    clean = diversity_result(items, profile)
    d = diversity_result(sliding(items, 0, mpp=mpp, objective_power=None), profile)
    m = summary(d, "mpp")
    assert m.invalid == 1 and m.n == summary(clean, "mpp").n - 1 and m.max == 0.5
    mags = next(c for c in d.categorical if c.name == "magnification")
    assert mags.missing == next(c for c in clean.categorical if c.name == "magnification").missing + 1
    assert magnification(None, mpp) is None


@pytest.mark.parametrize("area", [math.inf, 1e308])
def test_an_infinite_or_huge_lesion_area_is_invalid_not_a_crash(
    items: list[ItemSummary], profile: Profile, area: float
) -> None:
    hostile = list(items)
    cls = next(iter(items[0].lesion_classes))
    hostile[0] = items[0].model_copy(update={"lesion_area_px": {cls: area}})
    d = diversity_result(hostile, profile)
    assert summary(d, "lesion_area_fraction").invalid == 1
    assert summary(d, f"lesion_area_fraction.{cls}").invalid == 1


def test_integers_past_a_double_are_invalid_not_a_crash(items: list[ItemSummary], profile: Profile) -> None:
    # float(10**400) raised OverflowError in the variables' reading: the stage crashed
    hostile = list(items)
    hostile[0] = items[0].model_copy(update={"n_lesions": 10**400})
    hostile[1] = items[1].model_copy(update={"slide": None, "width": 10**400, "height": 3})
    d = diversity_result(hostile, profile)
    assert summary(d, "lesions_per_slide").invalid == 1
    size = summary(d, "slide_megapixels")
    assert size.invalid == 1 and size.max is not None and size.max < 10
    # a slide of unknown (infinite) area has no lesion-area fraction, not a fraction of 0
    assert (
        summary(d, "lesion_area_fraction").n
        == summary(diversity_result(items, profile), "lesion_area_fraction").n - 1
    )


def test_a_negative_slide_size_is_no_area(items: list[ItemSummary], profile: Profile) -> None:
    # a header's -5 x -5 made an area of 25 px² and a lesion-area fraction of 1,750; the
    # annotation's declared size is taken instead, as when the header states none
    d = diversity_result(sliding(items, 0, width=-5, height=-5), profile)
    clean = summary(diversity_result(items, profile), "lesion_area_fraction")
    assert summary(d, "lesion_area_fraction") == clean
    no_size = [
        i.model_copy(update={"width": -3}) if k == 0 else i for k, i in enumerate(sliding(items, 0, width=-5))
    ]
    assert summary(diversity_result(no_size, profile), "lesion_area_fraction").n == clean.n - 1


def test_the_sd_of_values_near_a_doubles_limit_is_finite() -> None:
    var = next(v for v in VARIABLES if v.name == "lesions_per_slide")
    s = continuous_summary(var, np.array([1e300, -1e300, 0.0, 5e299]))
    ref = np.std(np.array([1.0, -1.0, 0.0, 0.5]), ddof=1) * 1e300
    assert s.mean == pytest.approx(1.25e299) and s.sd == pytest.approx(ref)
    small = continuous_summary(var, np.array([1.0, 2.0, 4.0]))
    assert small.mean == np.mean([1.0, 2.0, 4.0]) and small.sd == np.std([1.0, 2.0, 4.0], ddof=1)


def test_a_tiny_value_is_rounded_not_nan_and_the_result_reads_back(
    items: list[ItemSummary], profile: Profile
) -> None:
    # a lesion-area fraction of 7e-307: its rounding scale was past a double and its support NaN,
    # written as null: a results.json dqm wrote that it could not read back
    hostile = list(items)
    cls = next(iter(items[0].lesion_classes))
    hostile[0] = items[0].model_copy(update={"lesion_area_px": {cls: 1e-300}})
    d = diversity_result(hostile, profile)
    fraction = summary(d, "lesion_area_fraction")
    assert all(math.isfinite(v) for v in fraction.support) and fraction.support == sorted(fraction.support)
    assert DiversityResult.model_validate_json(d.model_dump_json()) == d
    tiny = round_significant(np.array([5e-324, 1.2345e-310, -2.5678e-308, 1.23456e-281, 1.2345e-279]))
    assert tiny.tolist() == pytest.approx([5e-324, 1.23e-310, -2.57e-308, 1.23e-281, 1.23e-279], rel=1e-3)


@pytest.mark.parametrize(
    "power", [1e308, 1001.0, 500.0, 100.5, 0.99, 1e-308, 5e-324, math.inf, 0.0, -20.0, math.nan]
)
def test_a_header_objective_power_past_a_microscope_falls_back_on_the_mpp(power: float) -> None:
    # an AppMag of 1e308 made a magnification category "1e+308×"; 1e-308 one of "1e-308×" and 500
    # one of "500×": a power outside the slide.header check's plausible 1-100 is no magnification
    assert magnification(power, 0.5) == "20×" and magnification(power, None) is None
    assert magnification(40.0, 0.5) == "40×" and magnification(100.0, None) == "100×"
    assert magnification(1.0, None) == "1×"
