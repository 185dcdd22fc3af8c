"""The self-contained HTML report: inline CSS/JS, data as a JSON island, strict CSP.

Every string that came from the batch is escaped: Jinja2 autoescaping for the markup, and the
findings travel as JSON inside ``<script type="application/json">`` (with ``<`` escaped) that
the page's script reads and inserts with ``textContent``, never as HTML.
"""

from __future__ import annotations

import base64
import hashlib
from importlib import resources
from typing import Any

import orjson
from jinja2 import Environment, PackageLoader, select_autoescape

from dqm.audit import DIMENSIONS
from dqm.results import QualityResult
from reports import charts

FINDING_COLUMNS = (
    "item_id",
    "severity",
    "code",
    "check",
    "aspect",
    "message",
    "where",
    "file",
    "institution",
    "class",
)


def _asset(name: str) -> str:
    return resources.files("reports").joinpath("templates", name).read_text("utf-8")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def json_island(data: Any) -> str:
    """JSON safe to place inside a ``<script type="application/json">`` element."""
    text = orjson.dumps(data).decode("utf-8")
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def findings_table(result: QualityResult) -> dict[str, Any]:
    """Findings as compact rows (column names once), joined with each item's institution and class."""
    items = {i.slide_id: i for i in result.items}
    rows = []
    for f in result.findings:
        item = items.get(f.item_id)
        rows.append(
            [
                f.item_id,
                f.severity.value,
                f.code,
                f.check,
                f.aspect.value,
                f.message,
                f.location.describe(),
                f.location.file or "",
                (item.institution if item else None) or "",
                (item.diagnosis if item else None) or "",
            ]
        )
    return {"columns": FINDING_COLUMNS, "rows": rows}


def items_table(result: QualityResult) -> dict[str, Any]:
    cols = (
        "slide_id",
        "institution",
        "diagnosis",
        "n_lesions",
        "errors",
        "warnings",
        "image_path",
        "annotation_path",
    )
    rows = [[getattr(i, c) if getattr(i, c) is not None else "" for c in cols] for i in result.items]
    return {"columns": cols, "rows": rows}


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f} %"


def _num(value: float | None) -> str:
    """Three significant digits (thousands separated); ``–`` for None."""
    if value is None:
        return "–"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def _pvalue(value: float | None) -> str:
    if value is None:
        return "–"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def render_html(result: QualityResult) -> str:
    """The report as one HTML string."""
    env = Environment(
        loader=PackageLoader("reports", "templates"), autoescape=select_autoescape(["html", "j2"])
    )
    env.filters["pct"] = _pct
    env.filters["num"] = _num
    env.filters["pvalue"] = _pvalue
    env.globals["charts"] = charts
    script, style = _asset("report.js"), _asset("report.css")
    data = {"findings": findings_table(result), "items": items_table(result)}
    csp = (
        "default-src 'none'; img-src data:; "
        f"style-src {_csp_hash(style)}; script-src {_csp_hash(script)}; "
        "base-uri 'none'; form-action 'none'"
    )
    return env.get_template("report.html.j2").render(
        r=result,
        csp=csp,
        script=script,
        style=style,
        data=json_island(data),
        n_findings=len(result.findings),
        dimensions=DIMENSIONS,
    )
