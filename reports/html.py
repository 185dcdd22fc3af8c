"""The self-contained HTML report: inline CSS/JS/SVG, data as a compressed island, strict CSP.

Every string that came from the batch is escaped: Jinja2 autoescaping for the markup (and
``markupsafe.escape`` in the SVG charts), and the findings and slides travel as gzip-compressed
JSON, base64-encoded inside ``<script type="application/octet-stream">``, that the page's script
decompresses (``DecompressionStream``) and inserts with ``textContent``, never as HTML. Every
string is also shown as it is (:func:`dqm.output.visible`): the page as rendered, and each string of
the data islands before it is packed, so a right-to-left override or a zero-width space in a name
shows as ``\\u202e`` / ``\\u200b`` in the page and in the explorers alike.

What is printed (cover, gated figures, sections, findings per code, worst slides) is rendered
here as HTML, so it shows without JavaScript and prints; only the explorers (findings, slides)
need the script.
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import shlex
from collections import Counter
from collections.abc import Callable, Mapping
from importlib import resources
from types import SimpleNamespace
from typing import Any

import orjson
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from dqm.diversity.drift import fmt_effect
from dqm.diversity.stats import ETA2_THRESHOLDS
from dqm.figures import (
    dimension_gates,
    dimension_state,
    dimensions,
    disabled_line,
    figures,
    order_line,
    title,
)
from dqm.i18n import N_, NP_, check_language, gettext, markup_translator, translated
from dqm.output import visible
from dqm.quality_layout import QualityTableLayout
from dqm.results import QualityResult
from dqm.strictjson import loads
from dqm.tolerance import fmt_among, fmt_decimals, fmt_dice, fmt_target, fmt_value, fmt_value_target
from reports import charts
from reports.findings_cap import (
    FINDINGS_CAP,
    FINDINGS_SIDECAR,
    SLIDES_CAP,
    aggregate,
    explorer_slides,
    over_cap,
)
from reports.quality_table import quality_rows
from reports.svg import hbar, swatch

EXPLORER_WORDS = {
    "shown": N_("{first}–{last} of {total} findings"),
    "filtered": N_(" (filtered from {n})"),
    "page": N_(", page {page} of {pages}"),
    "slides_page": N_("{n} slides, page {page} of {pages}"),
}
"""What the explorers' script writes, sent translated in the data island (it fills the placeholders)."""
VALUE_LABELS = {
    "error": N_("error"),
    "warning": N_("warning"),
    "info": N_("info"),
    "structure": N_("structure"),
    "format": N_("format"),
    "file": N_("file"),
    "image": N_("image"),
    "deid": N_("de-identification"),
    "internal": N_("internal"),
}
"""The findings' severity and aspect values as the explorer shows them (its filters keep the values)."""
FINDING_COLUMNS = ("item", "severity", "code", "check", "aspect", "message", "where", "file")
ITEM_COLUMNS = (
    "slide_id",
    "institution",
    "diagnosis",
    "n_lesions",
    "errors",
    "warnings",
    "clinical",
    "lesions",
    "image_path",
    "annotation_path",
)
STATE_WORDS = {"passed": N_("PASS"), "failed": N_("FAIL"), "pending": N_("PENDING"), "missing": N_("NOT RUN")}
LOT_DECISION_WORDS = (N_("ACCEPT"), N_("REJECT"), N_("INCOMPLETE"))
"""The semantic lot decision as the report shows it (upper case)."""
SECTION_WORDS = (
    *(N_("accept"), N_("reject"), N_("pending")),  # a lot's decision
    *(
        NP_("inspection severity", "normal"),
        NP_("inspection severity", "tightened"),
        NP_("inspection severity", "reduced"),
    ),  # its inspection severity
    NP_("inspection severity", "discontinued"),
    *(N_("active"), N_("expired"), N_("unused")),  # a waiver's status
    *(N_("best"), N_("worst")),  # validity's overlays
    *(N_("holdout"), N_("kfold"), N_("loio"), N_("column"), N_("patient")),  # validity's split
    *(N_("strict"), N_("majority")),  # semantic adjudication
)
"""Values of the results the sections show through ``tr()`` (the data keeps the value)."""
VERDICT_WORDS = {
    "certified": N_("CERTIFIED"),
    "not_certified": N_("NOT CERTIFIED"),
    "incomplete": N_("INCOMPLETE"),
}


def _asset(name: str) -> str:
    return resources.files("reports").joinpath("templates", name).read_text("utf-8")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def shown_data(data: Any) -> Any:
    """``data`` (JSON-like) with every string, keys too, as :func:`~dqm.output.visible` shows it:
    for the data a page's script puts into the page."""
    if isinstance(data, str):
        return visible(data)
    if isinstance(data, dict):
        return {visible(k) if isinstance(k, str) else k: shown_data(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [shown_data(v) for v in data]
    return data


def json_island(data: Any) -> str:
    """JSON safe to place inside a ``<script type="application/json">`` element, its strings as
    :func:`shown_data` shows them (the page's script puts them into the page)."""
    text = orjson.dumps(shown_data(data)).decode("utf-8")
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def packed_island(data: Any) -> str:
    """``data`` as base64 of gzip of JSON: about a tenth of the JSON's size, and its alphabet
    (``A-Z a-z 0-9 + / =``) cannot close the ``<script>`` element that holds it."""
    raw = orjson.dumps(data)
    return base64.b64encode(gzip.compress(raw, compresslevel=6, mtime=0)).decode("ascii")


def unpack_island(text: str) -> Any:
    """The inverse of :func:`packed_island` (for tests and tools reading a report)."""
    return loads(gzip.decompress(base64.b64decode(text)))


def _where(loc: Any, lang: str) -> str:
    """Where inside the file (the file itself has its own column), in ``lang``."""
    text = loc.describe(lang)
    if loc.file and text.startswith(loc.file):
        return text[len(loc.file) :].lstrip()
    return text


def _clinical_text(clinical: dict[str, str | None], names: Mapping[str, str]) -> str:
    return " · ".join(
        f"{names.get(k, k)} {v}"
        for k, v in clinical.items()
        if v not in (None, "") and k not in ("institution", "diagnosis")
    )


def _intern(columns: list[list[Any]]) -> tuple[list[str], list[list[int]]]:
    """One string table for all ``columns`` (index 0 is the empty string) and the columns as
    indexes into it. Done column-wise with C-level dict operations: 100,000 findings x 8 columns
    would otherwise be a million Python calls."""
    keys: dict[Any, None] = {"": None}
    for col in columns:
        keys.update(dict.fromkeys(col))
    keys.pop(None, None)
    index = {v: i for i, v in enumerate(keys)}
    values = [str(v) for v in index]  # str() of a StrEnum member is its value
    index[None] = 0
    return values, [[index[v] for v in col] for col in columns]


def explorer_data(
    result: QualityResult, lang: str = "en", names: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Findings and slides as compact rows over one string table (column names once); the
    findings' messages in ``lang``, clinical fields by their ``names`` (the profile's)."""
    names = names or {}
    items, findings = result.items, result.findings
    locs = [f.location for f in findings]
    text_columns: list[list[Any]] = [
        [i.slide_id for i in items],
        [i.institution for i in items],
        [i.diagnosis for i in items],
        [_clinical_text(i.clinical, names) for i in items],
        [", ".join(f"{k} {n}" for k, n in sorted(i.lesion_classes.items())) for i in items],
        [i.image_path for i in items],
        [i.annotation_path for i in items],
        [f.item_id for f in findings],
        [f.severity for f in findings],
        [f.code for f in findings],
        [f.check for f in findings],
        [f.aspect for f in findings],
        [f.text(lang) for f in findings],
        [_where(loc, lang) for loc in locs],
        [loc.file for loc in locs],
    ]
    strings, cols = _intern(text_columns)
    slide, inst, diag, clin, lesions, image, annotation = cols[:7]
    counts = [(i.n_lesions, i.errors, i.warnings) for i in items]
    item_rows = [
        [slide[k], inst[k], diag[k], *counts[k], clin[k], lesions[k], image[k], annotation[k]]
        for k in range(len(items))
    ]
    return {
        "strings": strings,
        "findings": {"columns": FINDING_COLUMNS, "rows": list(zip(*cols[7:], strict=True))},
        "items": {"columns": ITEM_COLUMNS, "rows": item_rows},
        "words": {k: gettext(w, lang) for k, w in EXPLORER_WORDS.items()},
        "labels": {k: gettext(w, lang) for k, w in VALUE_LABELS.items()},
    }


def masked_data(data: dict[str, Any], mask: Callable[[str], str] | None) -> dict[str, Any]:
    """The explorers' data with ``mask`` applied to every string of its table (None: none), each
    then as :func:`~dqm.output.visible` shows it."""
    return {**data, "strings": [visible(mask(s) if mask else s) for s in data["strings"]]}


def code_table(result: QualityResult) -> list[dict[str, Any]]:
    """One row per reason code found: counts by severity, slides touched, the check's meaning."""
    meaning = {c.code: (chk.id, c.meaning) for chk in result.checks for c in chk.codes}
    by_sev: Counter[tuple[str, str]] = Counter()
    slides: dict[str, set[str]] = {}
    checks: dict[str, str] = {}
    for f in result.findings:
        by_sev[f.code, f.severity] += 1
        slides.setdefault(f.code, set()).add(f.item_id)
        checks.setdefault(f.code, f.check)
    rows = []
    for code in slides:
        counts = {sev: by_sev[code, sev] for sev in ("error", "warning", "info")}
        rows.append(
            {
                "code": code,
                "check": checks[code],
                "meaning": meaning.get(code, ("", ""))[1],
                "total": sum(counts.values()),
                "slides": len(slides[code]),
                **counts,
            }
        )
    return sorted(rows, key=lambda r: (-r["error"], -r["total"], r["code"]))


def ratio_rows(breakdowns: list[Any], attr: str) -> list[tuple[str, float | None, str]]:
    """Chart rows ``(group, value, "num / den")`` from breakdowns holding a Ratio at ``attr``."""
    rows = []
    for b in breakdowns:
        ratio = getattr(b, attr)
        rows.append((str(b.key), ratio.value, f"{ratio.numerator} / {ratio.denominator}"))
    return rows


def code(text: str) -> Markup:
    """``text`` as an escaped ``<code>`` element, to place inside a translated sentence."""
    return Markup("<code>{}</code>").format(text)


def named(names: Mapping[str, str]) -> Any:
    """A filter: a class id or field key followed by its name in the report's language."""
    return lambda text: f"{text} ({names[text]})" if text in names and names[text] != text else text


def _environment(lang: str = "en", names: Mapping[str, str] | None = None) -> Environment:
    env = Environment(
        loader=PackageLoader("reports", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )
    # beside its target (``v | pct(target, passed)``) a value below it is never shown reaching it,
    # and one within rounding of it reads as the target only where its own decision passed
    env.filters["pct"] = lambda v, target=None, passed=None: (
        "–" if v is None else fmt_value(v, True, target, passed)
    )
    # a Dice and its interval beside the class's decision, by the same rule (``dice(d)``: d a ClassDice,
    # PooledDice or the means' figures)
    env.globals["dice"] = lambda d: fmt_dice(d.dice, d.ci_low, d.ci_high, d.target, d.passed)
    env.globals["dice_means"] = lambda v, pooled: fmt_dice(
        *(
            (v.pooled_mean_dice, v.pooled_mean_ci_low, v.pooled_mean_ci_high)
            if pooled
            else (v.mean_dice, v.mean_ci_low, v.mean_ci_high)
        ),
        v.target,
        v.passed,
    )
    env.filters["target"] = fmt_target
    # a weighted count of failures beside its acceptance number: one that rejects never reads as it
    # (7.004 over Ac 7: not "7.00"); one accepted is within the decision's 1e-9 of it, so its 2 decimals
    env.filters["over_ac"] = lambda d, ac, rejected: (
        fmt_decimals(d, 2, ac, False, at_most=True) if rejected else f"{d:.2f}"
    )
    # a percentage target as written (0.99994: ``99.994 %``, not ``99.99 %`` beside a 99.993 % that fails it)
    env.filters["pct_target"] = lambda t: fmt_value_target(t, True)
    env.filters["shjoin"] = lambda parts: shlex.join(str(p) for p in parts)
    env.filters["fmt"] = fmt_value
    env.filters["num"] = _num
    # an effect size beside the thresholds its label and decision were taken on, on its own side of each
    env.filters["effect"] = lambda e, thresholds: fmt_among(
        e, thresholds.values() if isinstance(thresholds, Mapping) else thresholds
    )
    env.globals["eta2_thresholds"] = ETA2_THRESHOLDS  # a batch-effect comparison's η²_H labels
    env.filters["drift_effect"] = fmt_effect
    env.filters["pvalue"] = _pvalue
    env.filters["named"] = named(names or {})
    env.filters["visible"] = visible  # where a name is percent-encoded: the explorers' anchors
    say = functools.partial(gettext, lang=lang)
    env.globals["charts"] = SimpleNamespace(
        **{f: functools.partial(getattr(charts, f), say=say) for f in ("bars", "histogram", "paired_bars")}
    )
    env.globals.update(
        hbar=hbar,
        swatch=swatch,
        ratio_rows=ratio_rows,
        title=lambda d: title(d, lang),
        _=markup_translator(lang),
        tr=lambda text, context=None: translated(str(text), lang, context),
        label=lambda value: gettext(VALUE_LABELS.get(str(value), str(value)), lang),
        code=code,
        marker_key=lambda text: Markup('<span class="marker-key">{}</span>').format(text),
        span=lambda id_, text: Markup('<span id="{}">{}</span>').format(id_, text),
        lang=lang,
        state_of=lambda r, d: dimension_state(r, d),
        disabled_of=lambda r: disabled_line(r, lang),
        order_of=lambda r: order_line(r.order, lang, r.syntactic),
        gates_of=lambda r, d: dimension_gates(r, d),
        figures_of=lambda r, d: figures(r, d),
        STATE_WORDS=STATE_WORDS,
    )
    return env


def _num(value: float | None) -> str:
    """Three significant digits (thousands separated); ``–`` for None."""
    if value is None:
        return "–"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def _pvalue(value: float | None) -> str:
    if value is None:
        return "–"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def render_html(
    result: QualityResult,
    layout: QualityTableLayout | None = None,
    lang: str = "en",
    names: Mapping[str, str] | None = None,
    mask: Callable[[str], str] | None = None,
    findings_cap: int | None = FINDINGS_CAP,
    slides_cap: int | None = SLIDES_CAP,
) -> str:
    """The report as one HTML string in ``lang`` (``en`` or ``ko``); ``layout`` is the quality
    table's (the profile's ``quality_table``; None: the built-in layout); ``names`` the profile's
    names of classes and clinical fields in ``lang`` (:meth:`dqm.profile.Profile.display_names`).

    ``mask`` (the run's :class:`~dqm.identifiers.Masker`) is applied to every text of the explorers'
    data before it is packed: the masking of the written file cannot see inside the compressed
    island.

    Above ``findings_cap`` findings (None: no cap) they are shown aggregated and the explorer
    holds the worst slides' findings only; the full table is the sidecar
    :data:`~reports.findings_cap.FINDINGS_SIDECAR` (written by the caller). Above ``slides_cap``
    slides the Slides explorer lists the slides with findings only."""
    layout = layout or QualityTableLayout()
    agg = (
        aggregate(result, findings_cap)
        if findings_cap is not None and over_cap(result, findings_cap)
        else None
    )
    slides = None if slides_cap is None else explorer_slides(result, slides_cap)
    explorer = result.model_copy(
        update={
            **({} if agg is None else {"findings": agg.explorer}),
            **({} if slides is None else {"items": slides}),
        }
    )
    env = _environment(check_language(lang), names)
    script, style = _asset("report.js"), _asset("report.css")
    csp = (
        "default-src 'none'; img-src data:; "
        f"style-src {_csp_hash(style)}; script-src {_csp_hash(script)}; "
        "base-uri 'none'; form-action 'none'"
    )
    dims = dimensions()
    states = {d: dimension_state(result, d) for d in dims}
    page = env.get_template("report.html.j2").render(
        r=result,
        csp=csp,
        script=Markup(script),
        style=Markup(style),
        data=packed_island(masked_data(explorer_data(explorer, lang, names), mask)),
        agg=agg,
        # a link to a slide's row in the Slides explorer names its row, never the slide: a URL-encoded
        # name is out of the masker's sight (an e-mail as %40, an RRN run into an escape's digits)
        item_no={item.slide_id: k for k, item in enumerate(explorer.items)},
        slides_shown=None if slides is None else len(slides),
        slides_cap=slides_cap,
        cap=findings_cap,
        sidecar=FINDINGS_SIDECAR,
        n_findings=len(result.findings),
        dimensions=dims,
        states=states,
        gates={d: dimension_gates(result, d) for d in dims},
        verdict_word=gettext(VERDICT_WORDS[result.verdict.status], lang),
        codes=code_table(result),
        severities=Counter(f.severity.value for f in result.findings),
        quality_table=[(lang, quality_rows(result, layout, lang)) for lang in layout.languages],
        quality_columns=layout.columns,
    )
    return visible(page)  # every name in it, wherever a template or a helper put it
