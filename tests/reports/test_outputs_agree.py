"""The four outputs of one audit (results.json, report.html, junit.xml, summary.md) agree on
every gated figure, every decision, the verdict and the finding counts per code."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from dqm.figures import all_gates, dimension_state, dimensions, title
from reports import write_outputs
from reports.html import unpack_island
from reports.junit import gate_case_name
from tests.reports.conftest import finding, make_result, parse_html, semantic, validity

VERDICT = {"certified": "CERTIFIED", "not_certified": "NOT CERTIFIED", "incomplete": "INCOMPLETE"}


def resolve(doc, pointer: str):
    for part in pointer.strip("/").split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


@pytest.fixture(
    params=["audit", "all-dimensions"],
)
def outputs(request, audited, tmp_path: Path):
    if request.param == "audit":
        result = audited
    else:
        fs = [
            finding("S00003", "SELF_INTERSECTION"),
            finding("S00004", "MPP_MISSING", severity="warning", aspect="image"),
        ]
        result = make_result(
            findings=fs,
            files_ok=38,
            semantic=semantic(decision="incomplete", passed=False),
            validity=validity(passed=False),
        )
    paths = write_outputs(result, tmp_path)
    return (
        result,
        json.loads(paths["results"].read_bytes()),
        parse_html(paths["report"].read_text("utf-8")),
        ET.fromstring(paths["junit"].read_bytes()),
        paths["summary"].read_text("utf-8"),
    )


def test_every_gated_figure_agrees(outputs):
    result, js, html, junit, md = outputs
    gates = all_gates(result)
    assert gates
    html_rows = {
        tr.attrs["data-gate"]: tr for tr in html.by_id("gates").find_all("tr") if "data-gate" in tr.attrs
    }
    junit_cases = {(c.get("classname"), c.get("name")): c for c in junit.iter("testcase")}
    md_rows = [ln for ln in md.splitlines() if ln.startswith("| ")]
    for g in gates:
        state = dimension_state(result, g.dimension)
        obj = resolve(js, g.pointer)
        # results.json
        if g.value_field:
            assert obj[g.value_field] == g.value
        # a figure stored without a decision of its own is decided by its dimension; a pending
        # dimension's figures are provisional, without a decision
        decision = obj.get("passed", resolve(js, f"/{g.dimension}")["passed"])
        assert g.passed == (None if state == "pending" else decision)
        # report.html: the raw value, the shown value and the decision
        row = html_rows[g.key]
        cells = [td.text.strip() for td in row.find_all("td")]
        if g.value is not None:
            assert float(row.attrs["data-value"]) == g.value
        assert cells[3] == g.shown_value and cells[5] == g.shown_target
        assert cells[6] == g.decision
        # junit.xml: a testcase per gate of a finished dimension, failing exactly when the gate failed
        if state in ("passed", "failed"):
            case = junit_cases[(f"dqm.{g.dimension}.gates", gate_case_name(g))]
            assert (case.find("failure") is not None) == (g.passed is False)
            assert f"{g.key} = {g.value!r}" in case.find("system-out").text
            if g.passed is False:
                assert case.find("failure").get("message") == g.describe()
        else:
            (case,) = [c for (cls, _), c in junit_cases.items() if cls == f"dqm.{g.dimension}"]
            assert case.find("skipped") is not None
            assert g.describe() in case.find("system-out").text
        # summary.md: the gate's row
        assert any(f"| {g.label} | {g.shown_value}" in ln and g.shown_target in ln for ln in md_rows), g.key


def test_verdict_and_states_agree(outputs):
    result, js, html, junit, md = outputs
    status = result.verdict.status
    assert js["verdict"]["status"] == status
    assert html.by_id("verdict").text == VERDICT[status]
    assert junit.get("name") == f"dqm quality certificate: {status}"
    assert md.splitlines()[0] == f"## dqm quality certificate: {VERDICT[status]}"
    for dim in dimensions():
        state = dimension_state(result, dim)
        (li,) = [n for n in html.find_all("li") if n.attrs.get("data-dimension") == dim]
        assert li.attrs["data-state"] == state
        suite = next(s for s in junit.findall("testsuite") if s.get("name") == f"dqm.{dim}")
        assert suite.find("properties/property[@name='dqm.state']").get("value") == state
        assert (int(suite.get("failures")) > 0) == (state == "failed")
        word = {"passed": "pass", "failed": "**FAIL**", "pending": "pending", "missing": "not run"}[state]
        assert f"| {title(dim)} | {word} |" in md
    assert (int(junit.get("failures")) > 0) == (status == "not_certified")


def test_finding_counts_per_code_agree(outputs):
    result, js, html, junit, md = outputs
    counts = Counter(f["code"] for f in js["findings"])
    assert counts == Counter(f.code for f in result.findings)
    if js["syntactic"]:
        assert js["syntactic"]["by_code"] == dict(counts)
    rows = {tr.attrs["data-code"]: tr for tr in html.by_id("codes").find_all("tr") if "data-code" in tr.attrs}
    assert {c: sum(int(td.text) for td in tr.find_all("td")[3:6]) for c, tr in rows.items()} == dict(counts)
    data = unpack_island(html.by_id("dqm-data").text)
    assert Counter(data["strings"][r[2]] for r in data["findings"]["rows"]) == counts
    assert len(data["items"]["rows"]) == len(js["items"])
    by_sev = Counter((f["code"], f["severity"]) for f in js["findings"])
    seen = set()
    for case in junit.iter("testcase"):
        if case.get("classname") != "dqm.syntactic.checks":
            continue
        code = case.get("name").split(" ")[0]
        fail = case.find("failure")
        if fail is not None:  # "N error(s) in M file(s); first: ..."
            m = re.match(r"(\d+) error\(s\) in (\d+) file\(s\)", fail.get("message"))
            assert m and int(m[1]) == by_sev[code, "error"], code
        elif counts[code]:  # "1 error, 2 warning (tolerated ...)"
            head = case.findtext("system-out").splitlines()[0]
            stated = {sev: int(n) for n, sev in re.findall(r"(\d+) (error|warning|info)", head)}
            assert stated == {
                sev: by_sev[code, sev] for sev in ("error", "warning", "info") if by_sev[code, sev]
            }
        else:
            assert case.find("system-out") is None
        seen.add(code)
    assert set(counts) <= seen
    top = md.split("Top codes: ")[1].split(".\n")[0] if counts else ""
    for part in filter(None, top.split(", ")):
        code, n = part.rsplit(" ", 1)
        assert counts[code.strip("`")] == int(n)
