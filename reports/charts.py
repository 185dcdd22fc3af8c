"""Inline SVG charts for the report, drawn from numbers already in the result.

Charts are readable without colour: every bar carries its value as text, and a comparison
draws the baseline as a hatched outline beside the solid current bar, with a legend. Only SVG
presentation attributes are used (the report's Content-Security-Policy forbids ``style=``), and
every text from the batch (category names) is escaped. The words a chart writes itself come
through ``say`` (the report passes its language's; English by default).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

from dqm.findings import cut_label
from dqm.i18n import N_

MAX_LABEL = 30
"""Characters of a bar's label (a longer one is cut: :func:`dqm.findings.cut_label`)."""
INK = "#1d2330"
BAR = "#4e5d78"
MUTED = "#5b6270"
LABEL_W = 200
VALUE_W = 120
WIDTH = 620
ROW = 18
NO_VALUE, NOTHING_TO_COMPARE, CURRENT, BASELINE = (
    N_("no value"),
    N_("nothing to compare"),
    N_("current"),
    N_("baseline"),
)
"""What a chart writes itself, as msgids."""


def _english(text: str) -> str:
    return text


def _id(text: str) -> str:
    """An SVG id from free text: letters, digits and dashes."""
    return re.sub(r"[^A-Za-z0-9-]+", "-", text).strip("-") or "chart"


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".") if abs(x) < 1e6 else f"{x:.3g}"


def _svg(chart_id: str, width: int, height: int, title: str, body: list[str]) -> Markup:
    head = (
        f'<svg class="chart" id="{chart_id}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-labelledby="{chart_id}-t">'
        f'<title id="{chart_id}-t">{escape(title)}</title>'
    )
    return Markup(head + "".join(body) + "</svg>")


def bars(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    counts: Sequence[int],
    shares: Sequence[float],
    say: Callable[[str], str] = _english,
) -> Markup:
    """Horizontal bars, one per category, each labelled with its count and share.

    With no category the chart says so in words.
    """
    cid = _id(chart_id)
    if not labels:
        return _svg(
            cid,
            WIDTH,
            ROW + 8,
            title,
            [f'<text x="0" y="{ROW}" fill="{MUTED}">{escape(say(NO_VALUE))}</text>'],
        )
    span = WIDTH - LABEL_W - VALUE_W
    top = max(shares) or 1.0
    body = []
    for i, (label, count, share) in enumerate(zip(labels, counts, shares, strict=True)):
        y = 4 + i * ROW
        w = span * share / top
        body.append(
            f'<text x="{LABEL_W - 6}" y="{y + 12}" text-anchor="end" fill="{INK}">{escape(cut_label(label, MAX_LABEL))}</text>'
            f'<rect x="{LABEL_W}" y="{y + 2}" width="{w:.1f}" height="{ROW - 5}" fill="{BAR}"/>'
            f'<text x="{LABEL_W + w + 4:.1f}" y="{y + 12}" fill="{INK}">{count} ({_num(100 * share)} %)</text>'
        )
    return _svg(cid, WIDTH, 8 + len(labels) * ROW, title, body)


def histogram(
    chart_id: str,
    title: str,
    edges: Sequence[float],
    counts: Sequence[int],
    unit: str = "",
    say: Callable[[str], str] = _english,
) -> Markup:
    """Vertical bars over the bins of ``edges``, each with its count above it; the first, middle
    and last edges are written under the axis."""
    cid = _id(chart_id)
    width, height, left, right, bottom, top_pad = WIDTH, 180, 40, 30, 40, 16
    if not counts:
        return _svg(
            cid, width, 30, title, [f'<text x="0" y="18" fill="{MUTED}">{escape(say(NO_VALUE))}</text>']
        )
    k = len(counts)
    plot_w = width - left - right
    plot_h = height - bottom - top_pad
    top = max(counts) or 1
    bw = plot_w / k
    body = [
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="{INK}"/>'
    ]
    for i, c in enumerate(counts):
        h = plot_h * c / top
        x = left + i * bw
        body.append(
            f'<rect x="{x + 1:.1f}" y="{height - bottom - h:.1f}" width="{max(bw - 2, 1):.1f}" height="{h:.1f}" fill="{BAR}"/>'
        )
        if c and bw >= 14:
            body.append(
                f'<text x="{x + bw / 2:.1f}" y="{height - bottom - h - 3:.1f}" text-anchor="middle" '
                f'font-size="9" fill="{INK}">{c}</text>'
            )
    for j in sorted({0, k // 2, k}):
        x = left + j * bw
        body.append(
            f'<line x1="{x:.1f}" y1="{height - bottom}" x2="{x:.1f}" y2="{height - bottom + 4}" stroke="{INK}"/>'
            f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle" fill="{INK}">{escape(f"{edges[j]:g}")}</text>'
        )
    body.append(
        f'<text x="{width - right}" y="{height - 4}" text-anchor="end" fill="{MUTED}">{escape(unit)}</text>'
        f'<text x="{left - 4}" y="{top_pad + 4}" text-anchor="end" fill="{MUTED}">{top}</text>'
    )
    return _svg(cid, width, height, title, body)


def paired_bars(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    baseline: Sequence[float],
    current: Sequence[float],
    say: Callable[[str], str] = _english,
) -> Markup:
    """Shares of the current batch (solid) beside the baseline's (hatched outline), per category
    or bin, each bar labelled with its percentage; a legend names the two."""
    cid = _id(chart_id)
    if not labels:
        return _svg(
            cid,
            WIDTH,
            ROW + 8,
            title,
            [f'<text x="0" y="{ROW}" fill="{MUTED}">{escape(say(NOTHING_TO_COMPARE))}</text>'],
        )
    span = WIDTH - LABEL_W - 70
    top = max([*baseline, *current, 1e-12])
    pair = 2 * (ROW - 6) + 6
    body = [
        f'<defs><pattern id="{cid}-hatch" patternUnits="userSpaceOnUse" width="5" height="5" '
        f'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="5" stroke="{INK}" stroke-width="1.5"/>'
        "</pattern></defs>",
        f'<rect x="{LABEL_W}" y="3" width="12" height="10" fill="{BAR}"/>'
        f'<text x="{LABEL_W + 16}" y="12" fill="{INK}">{escape(say(CURRENT))}</text>'
        f'<rect x="{LABEL_W + 80}" y="3" width="12" height="10" fill="url(#{cid}-hatch)" stroke="{INK}"/>'
        f'<text x="{LABEL_W + 96}" y="12" fill="{INK}">{escape(say(BASELINE))}</text>',
    ]
    for i, (label, b, c) in enumerate(zip(labels, baseline, current, strict=True)):
        y = 20 + i * pair
        wc, wb = span * c / top, span * b / top
        h = ROW - 6
        body.append(
            f'<text x="{LABEL_W - 6}" y="{y + h + 3}" text-anchor="end" fill="{INK}">{escape(cut_label(label, MAX_LABEL))}</text>'
            f'<rect x="{LABEL_W}" y="{y}" width="{wc:.1f}" height="{h}" fill="{BAR}"/>'
            f'<text x="{LABEL_W + wc + 4:.1f}" y="{y + h - 2}" font-size="10" fill="{INK}">{_num(100 * c)} %</text>'
            f'<rect x="{LABEL_W}" y="{y + h + 1}" width="{wb:.1f}" height="{h}" fill="url(#{cid}-hatch)" stroke="{INK}" stroke-width="0.8"/>'
            f'<text x="{LABEL_W + wb + 4:.1f}" y="{y + 2 * h - 1}" font-size="10" fill="{MUTED}">{_num(100 * b)} %</text>'
        )
    return _svg(cid, WIDTH, 24 + len(labels) * pair, title, body)
