"""The audit's output files, rendered from one result and written as one set."""

from __future__ import annotations

from pathlib import Path

from dqm.output import Mask, OutputSet
from dqm.results import QualityResult
from reports.html import render_html
from reports.junit import render_junit
from reports.markdown import render_summary

OUTPUTS = {"results": "results.json", "report": "report.html", "junit": "junit.xml", "summary": "summary.md"}
"""What :func:`write_outputs` writes into the output folder, by role."""


def write_outputs(result: QualityResult, out: Path, mask: Mask | None = None) -> dict[str, Path]:
    """``results.json``, ``report.html``, ``junit.xml`` and ``summary.md`` in ``out``; all four are
    rendered from the one ``result``, so they agree on every figure, and moved into place together."""
    rendered = {
        "results": result.model_dump_json(indent=None),
        "report": render_html(result),
        "junit": render_junit(result),
        "summary": render_summary(result),
    }
    with OutputSet(out, mask) as outputs:
        return {role: outputs.write(OUTPUTS[role], rendered[role]) for role in OUTPUTS}
