"""``dqm diff`` output: a :class:`~dqm.diff.ResultDiff` as plain text or Markdown, in English or
Korean (``lang``). Finding codes, dimension ids, figure paths and slide ids stay as they are, but
for the characters that do not show (:func:`dqm.output.visible`): the Markdown is posted as a
pull-request comment, where a right-to-left override would display a slide's name reversed."""

from __future__ import annotations

from typing import Any

from dqm.diff import GateChange, ResultDiff
from dqm.figures import fmt_value, title
from dqm.i18n import N_, gettext, translator
from dqm.output import visible
from reports.markdown import VERDICT_WORDS, md_code, md_text

MAX_FIGURES = 40
MAX_SLIDES = 20
STATES = {"passed": N_("passed"), "failed": N_("failed"), "pending": N_("pending"), "missing": N_("missing")}
"""A dimension's state as the diff names it."""


def _gate_value(g: Any, lang: str) -> str:
    if g is None:
        return gettext(N_("absent"), lang)
    return f"{g.shown_value} ({gettext(g.decision, lang)})"


def _delta(c: GateChange) -> str:
    d = c.delta
    if d is None:
        return ""
    pct = c.new is not None and c.new.percent
    sign = "+" if d >= 0 else "−"
    return f"{sign}{fmt_value(abs(d), pct).replace(' %', ' pp') if pct else fmt_value(abs(d), False)}"


def _scalar(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _rows(d: ResultDiff, lang: str) -> dict[str, Any]:
    """The pieces both formats print, in order."""
    o, n = d.old, d.new
    return {
        "header": [
            (o.batch.path, o.created, o.batch.fingerprint, o.batch.n_items),
            (n.batch.path, n.created, n.batch.fingerprint, n.batch.n_items),
        ],
        "verdict": tuple(gettext(VERDICT_WORDS[v], lang) for v in d.verdict),
        "states": [
            (title(k, lang), gettext(STATES.get(a, a), lang), gettext(STATES.get(b, b), lang))
            for k, (a, b) in d.states.items()
        ],
    }


def render_diff_text(d: ResultDiff, lang: str = "en") -> str:
    """The diff as plain text."""
    _ = translator(lang)
    r = _rows(d, lang)
    out = []
    sides = (
        N_("old: {path}  ({created}, {n} slides, fingerprint {fingerprint}…)"),
        N_("new: {path}  ({created}, {n} slides, fingerprint {fingerprint}…)"),
    )
    for line, (path, created, fp, n_items) in zip(sides, r["header"], strict=True):
        out.append(_(line, path=path, created=created, n=n_items, fingerprint=fp[:16]))
    if d.same_batch:
        out.append(_("same batch (equal fingerprints)"))
    if not d.same_profile:
        out.append(
            _(
                "profile changed: sha256 {old} -> {new}",
                old=d.old.profile.sha256[:12],
                new=d.new.profile.sha256[:12],
            )
        )
    a, b = r["verdict"]
    out.append(
        _("verdict: {old} -> {new}", old=a, new=b) if a != b else _("verdict: {new} (unchanged)", new=b)
    )
    out.append("")
    out.append(_("dimensions:"))
    for name, sa, sb in r["states"]:
        out.append(f"  {name}: {sa} -> {sb}" if sa != sb else f"  {name}: {sb}")
    if d.gates:
        out += ["", _("gated figures that changed:")]
        for c in d.gates:
            g = c.new or c.old
            label = g.label_in(lang) if g is not None else c.key
            delta = _delta(c)
            out.append(
                f"  {c.key.split('.')[0]} {label}: {_gate_value(c.old, lang)} -> {_gate_value(c.new, lang)}"
                + (f"  [{delta}]" if delta else "")
            )
    if d.figures:
        out += ["", _("other figures that changed ({n}):", n=len(d.figures))]
        for path, va, vb in d.figures[:MAX_FIGURES]:
            out.append(f"  {path}: {_scalar(va)} -> {_scalar(vb)}")
        if len(d.figures) > MAX_FIGURES:
            out.append("  " + _("… and {n} more", n=len(d.figures) - MAX_FIGURES))
    out += ["", _("finding codes:")]
    if not (d.codes_new or d.codes_resolved or d.codes_changed):
        out.append("  " + _("no change"))
    # the words new / resolved / changed line up in a column in English; each line is one msgid
    for code, k in d.codes_new.items():
        out.append("  " + _("new       {code}: {n}", code=code, n=k))
    for code, k in d.codes_resolved.items():
        out.append("  " + _("resolved  {code}: was {n}", code=code, n=k))
    for code, (ka, kb) in d.codes_changed.items():
        out.append("  " + _("changed   {code}: {old} -> {new}", code=code, old=ka, new=kb))
    if d.slides_added or d.slides_removed:
        out += [
            "",
            _(
                "slides: {added} added, {removed} removed",
                added=len(d.slides_added),
                removed=len(d.slides_removed),
            ),
        ]
        for label, ids in ((N_("added: {ids}"), d.slides_added), (N_("removed: {ids}"), d.slides_removed)):
            if ids:
                shown = ", ".join(ids[:MAX_SLIDES]) + (" …" if len(ids) > MAX_SLIDES else "")
                out.append("  " + _(label, ids=shown))
    return visible("\n".join(out) + "\n")


def render_diff_markdown(d: ResultDiff, lang: str = "en") -> str:
    """The diff as Markdown (for a pull-request comment)."""
    _ = translator(lang)
    r = _rows(d, lang)
    a, b = r["verdict"]
    out = [
        _("## dqm: what changed"),
        "",
        _("**Verdict:** {old} → **{new}**", old=a, new=b)
        if a != b
        else _("**Verdict:** {new} (unchanged)", new=b),
        "",
        _("| | batch | created | slides | fingerprint |"),
        "|---|---|---|---:|---|",
    ]
    rows = (
        N_("| old | {path} | {created} | {n} | {fp}… |"),
        N_("| new | {path} | {created} | {n} | {fp}… |"),
    )
    for row, (path, created, fp, n_items) in zip(rows, r["header"], strict=True):
        out.append(
            _(
                row,
                path=md_code(path, table=True),
                created=md_text(created),
                n=n_items,
                fp=md_code(fp[:16]),
            )
        )
    if not d.same_profile:
        out += [
            "",
            _(
                "Profile changed: {old} → {new}",
                old=md_code(d.old.profile.sha256[:12]),
                new=md_code(d.new.profile.sha256[:12]),
            ),
        ]
    out += ["", _("| Dimension | old | new |"), "|---|---|---|"]
    for name, sa, sb in r["states"]:
        out.append(f"| {name} | {sa} | {'**' + sb + '**' if sa != sb else sb} |")
    if d.gates:
        out += ["", _("### Gated figures"), "", _("| Measure | old | new | change |"), "|---|---:|---:|---:|"]
        for c in d.gates:
            g = c.new or c.old
            label = f"{title(c.key.split('.')[0], lang)}: {g.label_in(lang)}" if g else c.key
            out.append(
                f"| {md_text(label)} | {_gate_value(c.old, lang)} | {_gate_value(c.new, lang)} | {_delta(c) or '–'} |"
            )
    if d.figures:
        out += [
            "",
            "<details><summary>" + _("{n} other figures changed", n=len(d.figures)) + "</summary>",
            "",
        ]
        out += [_("| Figure | old | new |"), "|---|---:|---:|"]
        for path, va, vb in d.figures[:MAX_FIGURES]:
            out.append(f"| {md_code(path, table=True)} | {md_text(_scalar(va))} | {md_text(_scalar(vb))} |")
        if len(d.figures) > MAX_FIGURES:
            out.append("| " + _("… and {n} more", n=len(d.figures) - MAX_FIGURES) + " | | |")
        out += ["", "</details>"]
    out += ["", _("### Finding codes"), ""]
    if not (d.codes_new or d.codes_resolved or d.codes_changed):
        out.append(_("No change."))
    else:
        out += [_("| Code | old | new | |"), "|---|---:|---:|---|"]
        new, resolved, more, fewer = _("new"), _("resolved"), _("more"), _("fewer")
        for code, k in d.codes_new.items():
            out.append(f"| {md_code(code)} | 0 | {k} | {new} |")
        for code, k in d.codes_resolved.items():
            out.append(f"| {md_code(code)} | {k} | 0 | {resolved} |")
        for code, (ka, kb) in d.codes_changed.items():
            out.append(f"| {md_code(code)} | {ka} | {kb} | {more if kb > ka else fewer} |")
    if d.slides_added or d.slides_removed:
        out += [
            "",
            _(
                "Slides: {added} added, {removed} removed.",
                added=len(d.slides_added),
                removed=len(d.slides_removed),
            ),
        ]
        for label, ids in ((N_("Added: {ids}"), d.slides_added), (N_("Removed: {ids}"), d.slides_removed)):
            if ids:
                shown = ", ".join(md_code(i) for i in ids[:MAX_SLIDES]) + (
                    " …" if len(ids) > MAX_SLIDES else ""
                )
                out.append(_(label, ids=shown))
    return visible("\n".join(out) + "\n")
