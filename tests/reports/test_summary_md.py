"""summary.md: a short Markdown verdict, with everything from the batch escaped."""

from __future__ import annotations

import re

from reports.markdown import md_code, md_text, render_summary
from tests.reports.conftest import PLANT, finding, make_result, semantic, validity


def test_summary_states_verdict_and_each_gate():
    r = make_result(
        files_ok=30,
        findings=[finding("S00001", "SELF_INTERSECTION")],
        semantic=semantic(),
        validity=validity(),
    )
    md = render_summary(r)
    lines = md.splitlines()
    assert lines[0] == "## dqm quality certificate: NOT CERTIFIED"
    assert "**NOT CERTIFIED** — failed: Syntactic accuracy; not evaluated: Statistical diversity." in md
    table = [ln for ln in lines if ln.startswith("|")]
    assert len(table) == 2 + 3 + 1 + 1 + 2  # header, rule, 3 syntactic gates, semantic, diversity, 2 classes
    assert (
        "| Syntactic accuracy | **FAIL** | file accuracy | 75.00 % ✗ | – | ≥ 99.00 % | 30 / 40 files |"
        in table
    )
    assert (
        "| Semantic accuracy | pass | accuracy | 97.14 % | 94.68 % – 98.50 % | – | 306 / 315 slides |"
        in table
    )
    assert "| Statistical diversity | not run | | | | | |" in table
    assert "Top codes: `SELF_INTERSECTION` 1." in md
    assert "Reproduce: `dqm audit /data/batch --out out`" in md
    assert len(md) < 3000


def outside_code_spans(md: str) -> str:
    """The Markdown with its inline code spans removed (CommonMark: their content is literal)."""
    return re.sub(r"(`+)(?!`)(.+?)(?<!`)\1(?!`)", "", md)


def test_batch_strings_cannot_inject_markdown_or_html():
    r = make_result(
        path=f"/data/a|b`c` {PLANT} **x** [l](http://e)",
        findings=[finding("S00001", "SELF_INTERSECTION")],
    )
    md = render_summary(r)
    rest = outside_code_spans(md)
    assert "<" not in rest and "**x**" not in rest and "](" not in rest
    line = next(ln for ln in md.splitlines() if ln.startswith("Batch "))
    assert line.startswith("Batch ``/data/a|b`c` <script>")  # inside a code span: shown verbatim
    assert md_text("<b>*x*</b> | [a](b)") == "&lt;b&gt;\\*x\\*&lt;/b&gt; \\| \\[a\\](b)"
    assert md_code("a`b") == "``a`b``"
    assert md_code("`x") == "`` `x ``"
    assert md_code("a|b", table=True) == "`a\\|b`"


def test_a_pending_dimension_is_said_to_be_pending():
    md = render_summary(make_result(semantic=semantic(decision="incomplete", passed=False)))
    assert "## dqm quality certificate: INCOMPLETE" in md
    assert "pending: Semantic accuracy" in md
    assert "| Semantic accuracy | pending |" in md
