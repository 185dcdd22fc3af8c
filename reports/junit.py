"""``junit.xml``: the certificate as a test run, so any CI shows the gate like its tests.

One ``<testsuite>`` per dimension (``dqm.syntactic``, ``dqm.semantic``, ...):

* a ``<testcase>`` per gated threshold (``classname`` ``dqm.<dim>.gates``), failing with the
  figure, its counts and its target when the dimension says it failed;
* for syntactic, a ``<testcase>`` per reason code of the checks that ran (``dqm.syntactic.checks``),
  failing when the dimension failed and the code has findings that count against it (errors of
  the structure, format or file aspects, or a crashed check) that no waiver covers; the message
  gives the count and the first locations, the body lists up to ``MAX_LISTED`` findings. Codes that did not fail list
  their findings (warnings, errors tolerated under the target, image and de-identification
  notes) in ``<system-out>``;
* a dimension not evaluated (or pending) is one ``<skipped>`` testcase saying so.

So a JUnit file has failures exactly when some dimension failed, and the failing testcases say
which threshold and which codes. Test case and suite names stay English whatever the language
(CI tracks them by name, like the codes); messages and bodies are in the language asked for. The layout follows the common Ant/Jenkins JUnit schema
(``testsuites/testsuite/testcase`` with ``failure``, ``skipped``, ``system-out``).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict

from dqm.figures import Gate, dimension_gates, dimension_state, dimensions, title, unfinished
from dqm.findings import SYNTACTIC_ASPECTS, Finding, Severity, clip, not_evaluated
from dqm.i18n import N_, check_language, gettext, render
from dqm.output import visible
from dqm.results import QualityResult

MAX_LISTED = 50
_XML_BAD = re.compile("[\ufffe\uffff]")


def _clean(text: str) -> str:
    """``text`` as every output shows it (:func:`~dqm.output.visible`: control bytes from a broken
    file, a right-to-left override or a zero-width space in a name as escapes; a CI shows this file
    on its web pages), and the noncharacters XML 1.0 cannot carry as U+FFFD."""
    return _XML_BAD.sub("\ufffd", visible(text))


def _counts_against(f: Finding) -> bool:
    """As syntactic accuracy counts it: a crashed check is not evaluated, never a failure."""
    return f.severity == Severity.ERROR and f.aspect in SYNTACTIC_ASPECTS


def _where(f: Finding, lang: str) -> str:
    where = f.location.describe(lang)
    return f"{f.item_id}: {where}: {f.text(lang)}" if where else f"{f.item_id}: {f.text(lang)}"


def gate_case_name(g: Gate) -> str:
    """The testcase name of a gate, e.g. ``file accuracy ≥ 99.00 %``."""
    return f"{g.label} {g.shown_target}" if g.target is not None else g.label


def _gate_case(suite: ET.Element, dim: str, g: Gate, lang: str) -> None:
    name = _clean(gate_case_name(g))
    case = ET.SubElement(suite, "testcase", classname=f"dqm.{dim}.gates", name=name, time="0")
    if g.passed is False:
        fail = ET.SubElement(case, "failure", type="threshold", message=_clean(g.describe(lang)))
        fail.text = _clean(f"{title(dim, lang)}: {g.describe(lang)}")
    out = ET.SubElement(case, "system-out")
    out.text = _clean(f"{g.key} = {g.value!r}\n{g.describe(lang)}")


def _code_cases(suite: ET.Element, result: QualityResult, dim_failed: bool, lang: str) -> int:
    waived = set(result.waivers.waived) if result.waivers is not None else set()
    by_code: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(result.findings):
        by_code[f.code].append(i)
    declared: dict[str, str] = {}
    for chk in result.checks:
        for c in chk.codes:
            declared.setdefault(c.code, chk.id)
    for code, indexes in by_code.items():
        declared.setdefault(code, result.findings[indexes[0]].check)
    failures = 0
    for code in sorted(declared):
        fs = [result.findings[i] for i in by_code.get(code, [])]
        case = ET.SubElement(
            suite, "testcase", classname="dqm.syntactic.checks", name=f"{code} ({declared[code]})", time="0"
        )
        against = [result.findings[i] for i in by_code.get(code, []) if i not in waived]
        against = [f for f in against if _counts_against(f)]
        if dim_failed and against:
            failures += 1
            first = against[0]
            files = len({f.location.file or f.item_id for f in against})
            msg = render(
                N_("{n} error(s) in {files} file(s); first: {first}"),
                {"n": len(against), "files": files, "first": _where(first, lang)},
                lang,
            )
            fail = ET.SubElement(case, "failure", type=code, message=_clean(clip(msg, 1000)))
            listed = "\n".join(_where(f, lang) for f in against[:MAX_LISTED])
            more = _more(len(against), lang)
            fail.text = _clean(listed + more)
        elif fs:
            sev = Counter(f.severity.value for f in fs)
            head = ", ".join(f"{n} {gettext(s, lang)}" for s, n in sorted(sev.items()))
            why = ""
            if against:
                why = gettext(N_(" (tolerated: the dimension met its targets)"), lang)
            elif any(_counts_against(f) for f in fs):
                why = gettext(N_(" (waived)"), lang)
            out = ET.SubElement(case, "system-out")
            listed = "\n".join(_where(f, lang) for f in fs[:MAX_LISTED])
            more = _more(len(fs), lang)
            out.text = _clean(f"{head}{why}\n{listed}{more}")
    return failures


def _more(n: int, lang: str) -> str:
    if n <= MAX_LISTED:
        return ""
    return "\n" + render(N_("… and {n} more"), {"n": n - MAX_LISTED}, lang)


SEVERITY_WORDS = (N_("error"), N_("warning"), N_("info"))
"""The severities as the JUnit bodies count them, translated where shown."""


def _totals(suite: ET.Element) -> tuple[int, int, int]:
    cases = suite.findall("testcase")
    failures = sum(1 for c in cases if c.find("failure") is not None)
    skipped = sum(1 for c in cases if c.find("skipped") is not None)
    return len(cases), failures, skipped


def junit_tree(result: QualityResult, lang: str = "en") -> ET.ElementTree:
    """The JUnit document as an element tree, its messages in ``lang``."""
    check_language(lang)
    root = ET.Element("testsuites", name=f"dqm quality certificate: {result.verdict.status}")
    for dim in dimensions():
        state = dimension_state(result, dim)
        suite = ET.SubElement(root, "testsuite", name=f"dqm.{dim}", timestamp=result.created[:19])
        props = ET.SubElement(suite, "properties")
        for name, value in (
            ("dqm.state", state),
            ("dqm.verdict", result.verdict.status),
            ("dqm.run_id", result.run_id),
            ("dqm.fingerprint", result.batch.fingerprint),
            ("dqm.profile", f"{result.profile.name} {result.profile.version} sha256:{result.profile.sha256}"),
            ("dqm.version", result.dqm_version),
        ):
            ET.SubElement(props, "property", name=name, value=_clean(value))
        if state in ("missing", "pending"):
            # Not a failure: the gate reports it with its own exit code (3), and a pending
            # dimension's figures are provisional.
            case = ET.SubElement(suite, "testcase", classname=f"dqm.{dim}", name=f"{dim} evaluated", time="0")
            why = (
                N_("{dimension} pending: evaluated but not finished")
                if state == "pending"
                else N_("{dimension} not evaluated in this run")
            )
            said = render(why, {"dimension": title(dim, lang)}, lang)
            reason = unfinished(getattr(result, dim)) if state == "pending" else None
            if reason and reason != "not finished":  # items a check crashed on
                said = f"{said}: {reason}"
            ET.SubElement(case, "skipped", message=_clean(said))
            provisional = [g.describe(lang) for g in dimension_gates(result, dim)]
            if provisional:
                out = ET.SubElement(case, "system-out")
                head = gettext(N_("provisional figures:"), lang)
                out.text = _clean(head + "\n" + "\n".join(provisional))
        else:
            for g in dimension_gates(result, dim):
                _gate_case(suite, dim, g, lang)
            if dim == "syntactic":
                _code_cases(suite, result, state == "failed", lang)
            if state == "failed" and all(c.find("failure") is None for c in suite.iter("testcase")):
                # The dimension failed on something no gate names: still a failure in CI.
                case = ET.SubElement(
                    suite, "testcase", classname=f"dqm.{dim}", name=f"{dim} passed", time="0"
                )
                said = render(N_("{dimension} reports that it failed"), {"dimension": title(dim, lang)}, lang)
                ET.SubElement(case, "failure", type="dimension", message=said)
        _finish(suite)
    _crashed_stages(root, result)
    tests = failures = skipped = 0
    for suite in root.findall("testsuite"):
        tests += int(suite.get("tests", "0"))
        failures += int(suite.get("failures", "0"))
        skipped += int(suite.get("skipped", "0"))
    root.set("tests", str(tests))
    root.set("failures", str(failures))
    root.set("errors", "0")
    root.set("skipped", str(skipped))
    root.set("time", "0")
    return ET.ElementTree(root)


def _crashed_stages(root: ET.Element, result: QualityResult) -> None:
    """One skipped testcase per stage that crashed (not evaluated: exit 3, not a failure)."""
    _, stages = not_evaluated(result.findings)
    if not stages:
        return
    suite = ET.SubElement(root, "testsuite", name="dqm.stages", timestamp=result.created[:19])
    for stage in stages:
        case = ET.SubElement(suite, "testcase", classname="dqm.stages", name=_clean(stage), time="0")
        ET.SubElement(
            case, "skipped", message=_clean(f"the {stage} stage crashed: not evaluated (STAGE_CRASHED)")
        )
    _finish(suite)


def _finish(suite: ET.Element) -> None:
    tests, failures, skipped = _totals(suite)
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", str(skipped))
    suite.set("time", "0")


def render_junit(result: QualityResult, lang: str = "en") -> bytes:
    """``junit.xml`` as UTF-8 bytes (with the XML declaration), its messages in ``lang``."""
    root = junit_tree(result, lang).getroot()
    assert root is not None
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
