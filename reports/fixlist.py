"""The fix list: what a hospital (one lot, or the whole batch) must fix, as HTML and CSV.

Rendered from a ``results.json`` alone: the findings of the lot's items grouped by file, each with
its place in the file (pointer, lesion, table row, line), whether the earlier delivery had it
(``redelivery``) and the waiver that covers it (``waivers``). Names are as the results name them:
masked where the audit masked them (the hospital holds the ``--identifier-map``). The HTML is
escaped by Jinja2, shown as it is (:func:`dqm.output.visible`: a right-to-left override in a name
shows as ``\\u202e``) and carries no script; every CSV cell goes through
:func:`dqm.output.spreadsheet_safe`, which shows it the same way.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from itertools import groupby

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from dqm.facts import ItemSummary
from dqm.findings import Finding
from dqm.i18n import N_, Param, gettext, render
from dqm.order import NOT_DELIVERED
from dqm.output import spreadsheet_safe, visible
from dqm.results import QualityResult

TEXT = {
    "title": N_("Fix list"),
    "title_lot": N_("Fix list: {field} {lot}"),
    "intro": N_(
        "What must be fixed before the delivery is accepted: {n} findings in {files} files of {items} "
        "slides. Errors must be fixed; warnings should be looked at. Names are as the results name them "
        "(masked identifiers: look them up in your identifier map)."
    ),
    "batch": N_("Batch fingerprint {fingerprint}, checked {created} with profile {profile}."),
    "none": N_("Nothing to fix: no finding on these slides."),
    "no_file": N_("(no file) slide {item}"),
    "fixed": N_("Fixed since the earlier delivery ({n})"),
    "unlisted_fixed": N_("{n} more, listed only in the earlier delivery's results ({baseline})."),
    "redelivery": N_(
        "Compared with the earlier delivery {baseline}: {fixed} fixed, {still} still there, {new} new."
    ),
    "waived": N_("waived: {what} ({reason}; approved by {who}, until {until})"),
    "col_file": N_("file"),
    "col_item": N_("slide"),
    "col_severity": N_("severity"),
    "col_code": N_("code"),
    "col_check": N_("check"),
    "col_where": N_("where in the file"),
    "col_message": N_("message"),
    "col_status": N_("status"),
    "col_waiver": N_("waiver"),
}
"""Every string the fix list shows, as msgids: the list is written in the report's language."""
VALUES = (N_("error"), N_("warning"), N_("info"), N_("new"), N_("still there"), N_("fixed"))
"""Severities and statuses, kept raw in the rows (counted, styled) and shown translated."""

CSV_COLUMNS = ("file", "item", "severity", "code", "check", "where", "message", "status", "waiver")
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
BUILT_IN_LOT_FIELDS = ("institution", "diagnosis")
"""Fields an item carries outside its clinical record."""


class LotError(ValueError):
    """A lot that the results cannot select (no such field, or no item of that value)."""


@dataclass(frozen=True, slots=True)
class FixRow:
    """One finding to fix."""

    file: str
    item: str
    severity: str
    code: str
    check: str
    where: str
    message: str
    status: str
    """``new`` or ``still there`` against the earlier delivery; empty without one."""
    waiver: str
    """The waiver that covers the finding; empty when none does."""


def lot_of(item: ItemSummary, field: str) -> str | None:
    """The lot of ``item``: the value of ``field`` in its clinical record (``institution`` and
    ``diagnosis`` also from the item itself)."""
    if item.clinical.get(field) not in (None, ""):
        return item.clinical[field]
    return getattr(item, field) if field in BUILT_IN_LOT_FIELDS else None


def lot_items(
    result: QualityResult, field: str, lot: str, mask: Callable[[str], str] | None = None
) -> set[str]:
    """The slide ids of the items whose ``field`` is ``lot`` (or ``lot`` as the masker writes it).

    Raises
    ------
    LotError
        No item carries ``field``, or none has the value ``lot`` (the message names the lots there are).
    """
    values = {i.slide_id: lot_of(i, field) for i in result.items}
    lots = sorted({v for v in values.values() if v is not None})
    if not lots:
        kept = sorted({k for i in result.items for k in i.clinical} | set(BUILT_IN_LOT_FIELDS))
        raise LotError(
            f"the results' items carry no field {field!r} (their fields: {', '.join(kept)}); "
            "choose another --lot-by, or audit with a profile that keeps the field in the clinical record"
        )
    wanted = {lot, mask(lot)} if mask is not None else {lot}
    chosen = {s for s, v in values.items() if v in wanted}
    if not chosen:
        shown = ", ".join(lots[:20]) + (f" … ({len(lots)} lots)" if len(lots) > 20 else "")
        raise LotError(f"no item has {field} {lot!r} (lots by {field}: {shown})")
    return chosen


def _where(f: Finding, lang: str) -> str:
    text = f.location.describe(lang)
    file = f.location.file
    return text[len(file) :].lstrip() if file and text.startswith(file) else text


def _in_lot(f: Finding, items: set[str] | None, files: set[str], lines: frozenset[int] = frozenset()) -> bool:
    """Whether ``f`` is of the lot of ``items`` (their files ``files``) or, an item ordered and not
    delivered, at one of the order list's ``lines`` in that lot."""
    if f.code == NOT_DELIVERED and items is not None:
        return f.location.line in lines
    return items is None or f.item_id in items or (f.location.file is not None and f.location.file in files)


def _lot_files(result: QualityResult, items: set[str] | None) -> set[str]:
    if items is None:
        return set()
    return {p for i in result.items if i.slide_id in items for p in (i.image_path, i.annotation_path) if p}


def _row(f: Finding, status: str, waiver: str, lang: str) -> FixRow:
    return FixRow(
        file=f.location.file or render(TEXT["no_file"], {"item": f.item_id}, lang),
        item=f.item_id,
        severity=f.severity.value,
        code=f.code,
        check=f.check,
        where=_where(f, lang),
        message=f.text(lang),
        status=status,
        waiver=waiver,
    )


def _sorted(rows: list[FixRow]) -> list[FixRow]:
    return sorted(rows, key=lambda r: (r.file, SEVERITY_ORDER.get(r.severity, 3), r.where, r.code))


def fix_rows(
    result: QualityResult,
    items: set[str] | None = None,
    lang: str = "en",
    lines: frozenset[int] = frozenset(),
) -> list[FixRow]:
    """The findings of ``items`` (slide ids; None: every finding, those of the batch included)
    and of the items ordered and not delivered at the order list's ``lines`` (those of the lot:
    :meth:`dqm.order.OrderList.lots`), sorted by file, then severity and place; their texts in
    ``lang``."""
    statuses = result.redelivery.statuses() if result.redelivery is not None else {}
    waivers: dict[int, str] = {}
    for use in result.waivers.uses if result.waivers is not None else []:
        w = use.waiver
        params = {
            "what": w.describe(),
            "reason": w.reason,
            "who": w.approved_by,
            "until": w.expires.isoformat(),
        }
        text = render(TEXT["waived"], params, lang)
        for i in use.covered:
            waivers.setdefault(i, text)
    files = _lot_files(result, items)
    rows = [
        _row(f, statuses.get(i, ""), waivers.get(i, ""), lang)
        for i, f in enumerate(result.findings)
        if _in_lot(f, items, files, lines)
    ]
    return _sorted(rows)


def fixed_rows(
    result: QualityResult,
    items: set[str] | None = None,
    lang: str = "en",
    lines: frozenset[int] = frozenset(),
) -> list[FixRow]:
    """The earlier delivery's findings of ``items`` (and of ``lines``: :func:`fix_rows`) that the
    redelivery fixed."""
    if result.redelivery is None:
        return []
    files = _lot_files(result, items)
    return _sorted(
        [_row(f, "fixed", "", lang) for f in result.redelivery.fixed if _in_lot(f, items, files, lines)]
    )


def render_fixlist_csv(rows: list[FixRow], lang: str = "en") -> str:
    """One line per finding (``CSV_COLUMNS``, headed in :data:`TEXT`'s words in ``lang``; severity
    and status shown in ``lang`` too), spreadsheet-safe."""
    buffer = io.StringIO()
    w = csv.writer(buffer, lineterminator="\n")
    w.writerow([gettext(TEXT[f"col_{c}"], lang) for c in CSV_COLUMNS])
    shown = {"severity", "status"}
    for r in rows:
        cells = [str(getattr(r, c)) for c in CSV_COLUMNS]
        cells = [gettext(v, lang) if c in shown and v else v for c, v in zip(CSV_COLUMNS, cells, strict=True)]
        w.writerow([spreadsheet_safe(v) for v in cells])
    return buffer.getvalue()


STYLE = (
    "body{font:14px/1.45 system-ui,sans-serif;color:#1d2330;margin:2rem auto;max-width:1200px;padding:0 1rem}"
    "table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}"
    "th,td{border-bottom:1px solid #d8dce3;padding:4px 6px;text-align:left;vertical-align:top}"
    "code{word-break:break-all}.error{color:#b42318;font-weight:600}.warning{color:#a15c07}"
    ".info,.muted{color:#5b6270}h2{font-size:16px;margin-top:1.5rem;word-break:break-all}"
)


def render_fixlist_html(
    result: QualityResult,
    rows: list[FixRow],
    fixed: list[FixRow],
    lot: str | None = None,
    field: str = "",
    lang: str = "en",
) -> str:
    """The fix list as one HTML page in ``lang``: a table per file; no script, styles allowed by
    hash alone."""
    env = Environment(
        loader=PackageLoader("reports", "templates"), autoescape=select_autoescape(["html", "j2"])
    )
    digest = base64.b64encode(hashlib.sha256(STYLE.encode("utf-8")).digest()).decode()
    groups = [(file, list(rs)) for file, rs in groupby(rows, key=lambda r: r.file)]
    d = result.redelivery

    def t(key: str, **params: Param) -> str:
        return render(TEXT[key], params, lang)

    page = env.get_template("fixlist.html.j2").render(
        T={k: gettext(v, lang) for k, v in TEXT.items() if k.startswith("col_") or k == "none"},
        shown={v: gettext(v, lang) for v in VALUES},
        lang=lang,
        title=t("title_lot", field=field, lot=lot) if lot is not None else t("title"),
        intro=t("intro", n=len(rows), files=len(groups), items=len({r.item for r in rows} - {"batch"})),
        batch=t(
            "batch",
            fingerprint=result.batch.fingerprint[:16],
            created=result.created,
            profile=f"{result.profile.name} {result.profile.version}",
        ),
        redelivery=None
        if d is None
        else t(
            "redelivery",
            baseline=d.baseline,
            fixed=d.n_fixed if lot is None else len(fixed),  # a lot's count is of the listed ones
            still=sum(r.status == "still there" for r in rows),
            new=sum(r.status == "new" for r in rows),
        ),
        fixed_heading=t("fixed", n=d.n_fixed if d is not None and lot is None else len(fixed)),
        # results.json lists the first MAX_FIXED_LISTED fixed findings and counts them all: the rest
        # (of the batch, or of a lot, among them) are in the earlier delivery's results only
        unlisted_fixed=t("unlisted_fixed", n=d.n_fixed - len(d.fixed), baseline=d.baseline)
        if d is not None and lot is None and d.n_fixed > len(d.fixed)  # a lot's share of them is not known
        else None,
        groups=groups,
        fixed=fixed,
        style=Markup(STYLE),  # dqm's own constant, allowed by its hash
        csp=f"default-src 'none'; style-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'",
    )
    return visible(page)
