"""Rendering a :class:`~dqm.results.QualityResult`: HTML, JUnit XML, Markdown summary and diff.

It computes no quality figure and reads no slide: everything comes from the result, so
``dqm report results.json`` re-renders without re-running.
"""

from reports.diff import render_diff_markdown, render_diff_text
from reports.html import render_html
from reports.junit import render_junit
from reports.markdown import render_summary
from reports.outputs import OUTPUTS, write_outputs

__all__ = [
    "OUTPUTS",
    "render_diff_markdown",
    "render_diff_text",
    "render_html",
    "render_junit",
    "render_summary",
    "write_outputs",
]
