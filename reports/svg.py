"""Inline SVG charts for the report: plain markup, no script, no external resource.

Every label is escaped here (it may come from the batch: institution names, class names). The
charts are readable without colour: each bar carries its value as text, and a target is a
dashed line with its own label. Colours come from CSS classes (``report.css``), never from
inline ``style`` attributes, so the report's Content-Security-Policy stays strict.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

from dqm.figures import fmt_value, fmt_value_target
from dqm.findings import cut_label

BAR_H = 18
GAP = 6
LABEL_W = 190
VALUE_W = 150
MAX_LABEL = 28


def _axis_min(values: list[float], target: float | None, percent: bool) -> float:
    """Where a percentage axis starts: 0, or a round value under the smallest bar when every
    bar is high (accuracies near 100 % would otherwise all look full)."""
    if not percent or not values:
        return 0.0
    low = min([*values, *([target] if target is not None else [])])
    if low < 0.5:
        return 0.0
    return max(0.0, math.floor((low - 0.02) * 20) / 20)


def hbar(
    rows: Sequence[tuple[str, float | None, str]],
    *,
    title: str,
    target: float | None = None,
    percent: bool = True,
    vmax: float | None = None,
    css: str = "",
) -> Markup:
    """A horizontal bar chart.

    Parameters
    ----------
    rows
        ``(label, value, note)`` per bar; a None value draws no bar and says ``n/a``.
    title
        The chart's accessible name (``<title>``) and caption.
    target
        Draws a dashed target line and labels it.
    percent
        Values are ratios in [0, 1] shown as percentages; otherwise plain numbers from 0 to
        ``vmax`` (default: the largest value).
    """
    values = [v for _, v, _ in rows if v is not None]
    if percent:
        lo, hi = _axis_min(values, target, percent), 1.0
    else:
        lo, hi = 0.0, float(vmax if vmax is not None else max(values, default=1.0)) or 1.0
    plot_w = 300
    width = LABEL_W + plot_w + VALUE_W
    top = 22
    height = top + len(rows) * (BAR_H + GAP) + 18

    def x_of(v: float) -> float:
        return LABEL_W + plot_w * (min(max(v, lo), hi) - lo) / (hi - lo)

    def fmt(v: float) -> str:
        return f"{100 * v:.2f} %" if percent else f"{v:,.0f}" if float(v).is_integer() else f"{v:.4g}"

    parts = [
        f'<svg class="chart {escape(css)}" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<text class="axis" x="{LABEL_W}" y="14">{escape(fmt(lo))}</text>',
        f'<text class="axis" x="{LABEL_W + plot_w}" y="14" text-anchor="end">{escape(fmt(hi))}</text>',
        f'<line class="axis-line" x1="{LABEL_W}" y1="18" x2="{LABEL_W}" y2="{height - 16}"/>',
    ]
    for i, (label, value, note) in enumerate(rows):
        y = top + i * (BAR_H + GAP)
        parts.append(
            f'<text class="label" x="{LABEL_W - 6}" y="{y + BAR_H - 5}" text-anchor="end">'
            f"<title>{escape(label)}</title>{escape(cut_label(label, MAX_LABEL))}</text>"
        )
        if value is not None:
            w = max(x_of(value) - LABEL_W, 1.0)
            parts.append(f'<rect class="bar" x="{LABEL_W}" y="{y}" width="{w:.1f}" height="{BAR_H}"/>')
        # beside the target line, a bar below it never reads as reaching it
        shown = "n/a" if value is None else fmt_value(value, True, target) if percent else fmt(value)
        text = f"{shown}  {note}" if note else shown
        parts.append(
            f'<text class="value" x="{LABEL_W + plot_w + 6}" y="{y + BAR_H - 5}">{escape(text)}</text>'
        )
    if target is not None:
        tx = x_of(target)
        parts.append(
            f'<line class="target" x1="{tx:.1f}" y1="18" x2="{tx:.1f}" y2="{height - 16}" '
            f'stroke-dasharray="4 3"/>'
        )
        # as written: a 99.993 % bar failing 0.99994 is not beside a ``target 99.99 %``
        parts.append(
            f'<text class="axis" x="{tx:.1f}" y="{height - 4}" text-anchor="middle">'
            f"target {escape(fmt_value_target(target, True) if percent else fmt(target))}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def swatch(colour: str) -> Markup:
    """A small square of ``colour`` (``#rrggbb``) for a legend, as SVG (no inline style)."""
    return Markup(
        '<svg class="swatch" width="12" height="12" viewBox="0 0 12 12" aria-hidden="true">'
        f'<rect x="1" y="1" width="10" height="10" fill="none" stroke="{escape(colour)}" stroke-width="2.5"/>'
        "</svg>"
    )
