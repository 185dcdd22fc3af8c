"""junit.xml: a testsuite per dimension, a testcase per gate and per check code."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from reports.junit import gate_case_name, render_junit
from tests.reports.conftest import diversity, finding, make_result, semantic, validity

DIMS = ["syntactic", "semantic", "diversity", "validity"]


def parse(result) -> ET.Element:
    data = render_junit(result)
    assert data.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    return ET.fromstring(data)


def suites(root: ET.Element) -> dict[str, ET.Element]:
    return {s.get("name"): s for s in root.findall("testsuite")}


def failures(el: ET.Element) -> list[ET.Element]:
    return [c for c in el.iter("testcase") if c.find("failure") is not None]


def test_one_suite_per_dimension_with_consistent_totals():
    root = parse(make_result(semantic=semantic(), validity=validity(passed=False)))
    assert list(suites(root)) == [f"dqm.{d}" for d in DIMS]
    for s in root.findall("testsuite"):
        cases = s.findall("testcase")
        assert int(s.get("tests")) == len(cases)
        assert int(s.get("failures")) == len(failures(s))
        assert int(s.get("skipped")) == sum(c.find("skipped") is not None for c in cases)
        assert {p.get("name") for p in s.iter("property")} >= {"dqm.state", "dqm.fingerprint", "dqm.profile"}
    assert int(root.get("tests")) == sum(int(s.get("tests")) for s in root.findall("testsuite"))
    assert int(root.get("failures")) == len(failures(root))


def test_a_testcase_per_gate_and_per_declared_code():
    r = make_result(findings=[finding("S00001", "SELF_INTERSECTION")])
    syn = suites(parse(r))["dqm.syntactic"]
    gates = [c for c in syn.findall("testcase") if c.get("classname") == "dqm.syntactic.gates"]
    codes = [c for c in syn.findall("testcase") if c.get("classname") == "dqm.syntactic.checks"]
    assert [c.get("name") for c in gates] == [
        "file accuracy ≥ 99.00 %",
        "structure accuracy ≥ 99.50 %",
        "format accuracy ≥ 99.50 %",
    ]
    assert sorted(c.get("name") for c in codes) == [
        "HOLE_OUTSIDE_SHELL (geometry.validity)",
        "MPP_MISSING (slide.resolution)",
        "SELF_INTERSECTION (geometry.validity)",
    ]


def test_failures_carry_the_figure_and_the_first_locations():
    fs = [
        finding(
            f"S{i:05d}", "SELF_INTERSECTION", file=f"annotations/S{i:05d}.json", pointer="/lesions/0/geometry"
        )
        for i in range(60)
    ] + [finding("S00001", "MPP_MISSING", severity="warning", aspect="image")]
    r = make_result(n_items=60, findings=fs, files_ok=60)
    syn = suites(parse(r))["dqm.syntactic"]
    by_name = {c.get("name"): c for c in syn.findall("testcase")}
    fail = by_name["file accuracy ≥ 99.00 %"].find("failure")
    assert fail.get("type") == "threshold"
    assert fail.get("message") == "file accuracy 50.00 % (60 / 120 files), target ≥ 99.00 %: fail"
    code = by_name["SELF_INTERSECTION (geometry.validity)"].find("failure")
    assert code.get("message").startswith(
        "60 error(s) in 60 file(s); first: S00000: annotations/S00000.json /lesions/0/geometry:"
    )
    assert code.text.count("\n") == 50  # 50 listed + "… and 10 more"
    assert code.text.endswith("… and 10 more")
    mpp = by_name["MPP_MISSING (slide.resolution)"]
    assert mpp.find("failure") is None and "1 warning" in mpp.find("system-out").text


def test_failures_exactly_when_a_dimension_failed():
    # one error, tolerated under the 99 % file-accuracy target: the dimension passes
    ok = make_result(n_items=100, findings=[finding("S00001", "SELF_INTERSECTION")], files_ok=199)
    assert ok.syntactic.passed
    root = parse(ok)
    assert failures(root) == [] and root.get("failures") == "0"
    case = next(c for c in root.iter("testcase") if c.get("name").startswith("SELF_INTERSECTION"))
    assert "tolerated" in case.find("system-out").text
    bad = make_result(validity=validity(passed=False), semantic=semantic(), diversity=diversity())
    assert [(c.get("classname"), c.get("name")) for c in failures(parse(bad))] == [
        ("dqm.validity.gates", "MM ≥ 0.8")
    ]
    div = make_result(diversity=diversity(passed=False))
    (case,) = failures(parse(div))
    assert case.get("name") == "diversity" and "Statistical diversity" in case.find("failure").text


def test_missing_and_pending_dimensions_are_skipped_not_failed():
    r = make_result(semantic=semantic(decision="incomplete", passed=False))
    s = suites(parse(r))
    for dim, why in (("semantic", "pending"), ("validity", "not evaluated")):
        (case,) = s[f"dqm.{dim}"].findall("testcase")
        assert why in case.find("skipped").get("message")
    assert "provisional figures" in s["dqm.semantic"].find("testcase/system-out").text
    assert failures(parse(r)) == []


def test_control_characters_from_a_broken_file_stay_valid_xml():
    r = make_result(
        files_ok=10,
        findings=[finding("S00001", "SELF_INTERSECTION", message="bad \x00\x07 byte \ufffe <&>\"'")],
    )
    root = parse(r)
    text = "".join(
        c.find("failure").get("message") for c in failures(root) if c.get("name").startswith("SELF")
    )
    assert "bad \\x00\\x07 byte \ufffd <&>\"'" in text


def test_gate_case_names_without_target():
    r = make_result(diversity=diversity())
    from dqm.figures import dimension_gates

    assert gate_case_name(dimension_gates(r, "diversity")[0]) == "diversity"
