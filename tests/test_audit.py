"""Assembling a quality result: attaching a dimension recomputes the verdict."""

from __future__ import annotations

import pytest

from dqm.audit import with_dimension
from tests.reports.conftest import diversity, make_result, semantic, validity


def test_with_dimension_sets_the_dimension_and_recomputes_the_verdict():
    base = make_result(6)
    assert base.verdict.status == "incomplete" and "validity" in base.verdict.missing
    failed = with_dimension(base, "validity", validity(passed=False))
    assert failed.validity is not None and not failed.validity.passed
    assert failed.verdict.status == "not_certified" and failed.verdict.failed == ["validity"]
    assert base.validity is None, "the result it was given is left as it was"

    full = base
    for name, dimension in (("semantic", semantic()), ("diversity", diversity()), ("validity", validity())):
        full = with_dimension(full, name, dimension)
    assert full.verdict.status == "certified", full.verdict.summary
    pending = with_dimension(full, "semantic", semantic(passed=False, decision="incomplete"))
    assert pending.verdict.status == "incomplete" and pending.verdict.pending == ["semantic"]


def test_with_dimension_refuses_a_name_that_is_no_dimension():
    with pytest.raises(ValueError, match="unknown dimension 'beauty'"):
        with_dimension(make_result(2), "beauty", semantic())
