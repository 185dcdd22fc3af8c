"""Rendering a :class:`~dqm.results.QualityResult`: HTML now; it computes nothing and reads no slide."""

from reports.html import render_html

__all__ = ["render_html"]
