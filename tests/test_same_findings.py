"""``benchmarks/same_findings.py``: two results compared, exactly or with numbers within a tolerance."""

from __future__ import annotations

import copy
from typing import Any

from tests.helpers import benchmark


def _tool() -> Any:
    return benchmark("same_findings")


def _result() -> dict[str, Any]:
    finding = {"item_id": "S1", "check": "artefacts", "code": "PEN", "severity": "warning"}
    slide = {
        "stain": {"h_p99": 1.25, "e_p50": 0.5},
        "artefacts": {"map_data": "eJwr", "shares": {"pen": 0.2}},
    }
    return {
        "findings": [{**finding, "location": "slide", "message": "pen marks: 20.0 % of the tissue"}],
        "items": [{"item_id": "S0", "slide": None}, {"item_id": "S1", "slide": slide}],
        "verdict": {"certified": False},
    }


def test_numbers_within_the_tolerance_are_reported_by_field_not_as_differences() -> None:
    tool = _tool()
    old, new = _result(), _result()
    new["items"][1]["slide"]["stain"]["h_p99"] = 1.25 * (1 + 4e-5)
    new["items"][1]["slide"]["artefacts"]["shares"]["pen"] = 0.2 * (1 - 2e-5)
    out, changes = tool.compare(old, new, tolerance=1e-4)
    assert out == []
    assert set(changes.largest) == {"items[*].slide.stain.h_p99", "items[*].slide.artefacts.shares.pen"}
    assert abs(changes.largest["items[*].slide.stain.h_p99"] - 4e-5) < 1e-8  # of the larger value
    assert changes.count == {"items[*].slide.stain.h_p99": 1, "items[*].slide.artefacts.shares.pen": 1}
    exact, _ = tool.compare(old, new)  # without a tolerance every changed number is a difference
    assert len(exact) == 2


def test_beyond_the_tolerance_texts_and_findings_still_differ() -> None:
    tool = _tool()
    old = _result()
    cases = []
    for change in (
        lambda r: r["items"][1]["slide"]["stain"].update(e_p50=0.5 * 1.01),  # 1 % off, over 1e-4
        lambda r: r["items"][1]["slide"]["artefacts"].update(map_data="eJxL"),  # a flipped map pixel
        lambda r: r["findings"][0].update(message="pen marks: 20.1 % of the tissue"),
        lambda r: r["verdict"].update(certified=True),  # a boolean is not a number here
    ):
        new = copy.deepcopy(old)
        change(new)
        out, changes = tool.compare(old, new, tolerance=1e-4)
        cases.append((len(out), changes.largest))
    assert cases[0] == (1, {}) and cases[1] == (1, {}) and cases[3] == (1, {})
    assert cases[2][0] == 2  # the finding only in old and the one only in new
