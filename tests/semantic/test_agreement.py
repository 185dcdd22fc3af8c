"""Cohen's and Fleiss' kappa against statsmodels; adjudication rules."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from statsmodels.stats.inter_rater import cohens_kappa, fleiss_kappa

from dqm.semantic.agreement import adjudicate, agreement, cohen_kappa
from dqm.semantic.agreement import fleiss_kappa as dqm_fleiss


def _pairs(pp: int, pf: int, fp: int, ff: int) -> tuple[list[str], list[str]]:
    a = ["pass"] * (pp + pf) + ["fail"] * (fp + ff)
    b = ["pass"] * pp + ["fail"] * pf + ["pass"] * fp + ["fail"] * ff
    return a, b


@pytest.mark.parametrize(
    "cells", [(40, 3, 5, 12), (10, 0, 0, 10), (1, 1, 1, 1), (290, 4, 6, 15), (5, 2, 7, 0)]
)
def test_cohen_equals_statsmodels(cells: tuple[int, int, int, int]) -> None:
    a, b = _pairs(*cells)
    ref = cohens_kappa(np.array(cells, dtype=float).reshape(2, 2))
    got = cohen_kappa(a, b, ("x", "y"))
    assert got.kappa == pytest.approx(ref.kappa, abs=1e-12)
    assert got.ci_low == pytest.approx(max(-1.0, ref.kappa_low), abs=1e-9)
    assert got.ci_high == pytest.approx(min(1.0, ref.kappa_upp), abs=1e-9)
    assert got.n_items == sum(cells)


def test_cohen_degenerate() -> None:
    assert cohen_kappa([], [], ("x", "y")).kappa is None
    same = cohen_kappa(["pass"] * 5, ["pass"] * 5, ("x", "y"))
    assert same.kappa is None and "undefined" in same.note and same.observed_agreement == 1.0


def _ratings(rows: list[tuple[str, ...]], names: tuple[str, ...]) -> dict[str, dict[str, str]]:
    return {f"s{i}": dict(zip(names, row, strict=True)) for i, row in enumerate(rows)}


def test_fleiss_equals_statsmodels_and_its_interval_is_reproducible() -> None:
    rng = np.random.default_rng(5)
    names = ("a", "b", "c", "d")
    truth = rng.random(60) < 0.85
    rows = [tuple("pass" if (t if rng.random() < 0.9 else not t) else "fail" for _ in names) for t in truth]
    ratings = _ratings(rows, names)
    counts = np.array([[r.count("pass"), r.count("fail")] for r in rows])
    got = dqm_fleiss(ratings, names)
    assert got.kappa == pytest.approx(fleiss_kappa(counts, method="fleiss"), abs=1e-12)
    assert got.ci_low is not None and got.ci_high is not None
    assert got.ci_low < got.kappa < got.ci_high
    assert dqm_fleiss(ratings, names) == got  # seeded bootstrap: same numbers every run


def test_fleiss_leaves_out_incomplete_slides_and_says_so() -> None:
    ratings = _ratings(
        [("pass", "pass", "fail"), ("fail", "fail", "fail"), ("pass", "pass", "pass")], ("a", "b", "c")
    )
    ratings["s9"] = {"a": "pass", "b": "fail"}
    got = dqm_fleiss(ratings, ("a", "b", "c"))
    assert got.n_items == 3 and "1 slide(s) not judged by every reviewer" in got.note
    counts = np.array([[2, 1], [0, 3], [3, 0]])
    assert got.kappa == pytest.approx(fleiss_kappa(counts, method="fleiss"))


def test_fleiss_degenerate() -> None:
    assert dqm_fleiss({}, ("a", "b", "c")).kappa is None
    same = dqm_fleiss(_ratings([("pass",) * 3] * 4, ("a", "b", "c")), ("a", "b", "c"))
    assert same.kappa is None and "undefined" in same.note


def test_agreement_picks_the_method_by_reviewer_count() -> None:
    two = {
        "s1": {"a": "pass", "b": "fail"},
        "s2": {"a": "pass", "b": "pass"},
        "s3": {"a": "fail", "b": "fail"},
    }
    assert agreement(two).method == "cohen"  # type: ignore[union-attr]
    three = {k: {**v, "c": "pass"} for k, v in two.items()}
    assert agreement(three).method == "fleiss"  # type: ignore[union-attr]
    assert agreement({"s1": {"a": "pass"}}) is None


def test_adjudication_rules() -> None:
    split = {"a": "pass", "b": "fail"}
    assert adjudicate(split, "strict") == "fail"
    assert adjudicate(split, "majority") == "fail"  # a tie fails: the conservative side
    assert adjudicate({"a": "pass", "b": "pass", "c": "fail"}, "majority") == "pass"
    assert adjudicate(split, "reviewer=a") == "pass"
    assert adjudicate({"b": "pass", "c": "fail"}, "reviewer=a") == "fail"  # a absent: strict over the others
    for rule in ("strict", "majority", "reviewer=a"):
        for v in ("pass", "fail"):
            assert adjudicate({"z": v}, rule) == v
    for bad in ("vote", "reviewer=", ""):
        with pytest.raises(ValueError):
            adjudicate(split, bad)
    with pytest.raises(ValueError):
        adjudicate({}, "strict")


def test_majority_over_every_three_reviewer_pattern() -> None:
    for votes in itertools.product(("pass", "fail"), repeat=3):
        expected = "fail" if votes.count("fail") >= 2 else "pass"
        assert adjudicate(dict(zip("abc", votes, strict=True)), "majority") == expected
