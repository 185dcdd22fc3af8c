"""``summary.md``: a short Markdown verdict for a pull-request comment or a CI job summary.

Everything from the batch (paths, the command, codes) is escaped for GitHub / GitLab flavoured
Markdown: inline HTML is neutralised, table pipes and emphasis characters are escaped, and code
spans use a fence longer than any backtick run inside them. The summary as a whole is shown as it
is (:func:`dqm.output.visible`): a right-to-left override or a zero-width space in a name shows as
its escape.
"""

from __future__ import annotations

import re
import shlex
from collections import Counter

from dqm.figures import (
    dimension_gates,
    dimension_state,
    dimensions,
    disabled_line,
    fmt_value,
    order_line,
    title,
)
from dqm.i18n import N_, Param, check_language, gettext, render, translated
from dqm.output import visible
from dqm.results import QualityResult

VERDICT_WORDS = {
    "certified": N_("CERTIFIED"),
    "not_certified": N_("NOT CERTIFIED"),
    "incomplete": N_("INCOMPLETE"),
}
STATE_WORDS = {"passed": N_("pass"), "failed": N_("FAIL"), "pending": N_("pending"), "missing": N_("not run")}
TOP_CODES = 10
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def md_text(text: str) -> str:
    """Plain text safe in Markdown (and in a table cell): no HTML, no formatting, one line."""
    text = " ".join(str(text).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_code(text: str, table: bool = False) -> str:
    """An inline code span holding ``text`` verbatim (pipes escaped when it sits in a table cell)."""
    text = " ".join(str(text).split())
    if table:
        text = text.replace("|", "\\|")
    run = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (run + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def render_summary(result: QualityResult, lang: str = "en") -> str:
    """The Markdown summary in ``lang``."""
    check_language(lang)

    def _(text: str, **params: Param) -> str:
        return render(text, params, lang)

    def state(st: str) -> str:
        word = gettext(STATE_WORDS[st], lang)
        return f"**{word}**" if st == "failed" else word

    def titles(dims: list[str]) -> str:
        return ", ".join(md_text(title(d, lang)) for d in dims)

    v = result.verdict
    verdict = gettext(VERDICT_WORDS[v.status], lang)
    lines = [_("## dqm quality certificate: {verdict}", verdict=verdict), ""]
    why = []
    if v.failed:
        why.append(_("failed: {dimensions}", dimensions=titles(v.failed)))
    if v.pending:
        why.append(_("pending: {dimensions}", dimensions=titles(v.pending)))
    if v.missing:
        why.append(_("not evaluated: {dimensions}", dimensions=titles(v.missing)))
    if v.not_evaluated:
        named = ", ".join(md_code(i) for i in v.not_evaluated[:TOP_CODES])
        more = f" and {len(v.not_evaluated) - TOP_CODES} more" if len(v.not_evaluated) > TOP_CODES else ""
        why.append(f"items not evaluated (a check crashed): {named}{more}")
    if v.crashed_stages:
        why.append("stages crashed (not evaluated): " + ", ".join(md_text(s) for s in v.crashed_stages))
    if why:
        lines += ["**" + verdict + "** — " + "; ".join(why) + ".", ""]
    disabled = disabled_line(result, lang)
    if disabled is not None:
        lines += ["**" + md_text(disabled) + ".**", ""]
    ordered = order_line(result.order, lang, result.syntactic)
    if ordered is not None:
        lines += [md_text(ordered) + ".", ""]
    b = result.batch
    lines += [
        _(
            "Batch {path} · {n} slides · fingerprint {fingerprint}… · profile {profile} {version} "
            "(sha256 {sha}) · dqm {dqm} · {created}",
            path=md_code(b.path),
            n=b.n_items,
            fingerprint=md_code(b.fingerprint[:16]),
            profile=md_text(result.profile.name),
            version=md_text(result.profile.version),
            sha=md_code(result.profile.sha256[:12]),
            dqm=md_text(result.dqm_version),
            created=md_text(result.created),
        )
        + (f" · run {md_code(result.run_id)}" if result.run_id else ""),
        "",
        "| "
        + " | ".join(
            (_("Dimension"), _("Result"), _("Measure"), _("Value"), _("Interval"), _("Target"), _("Counts"))
        )
        + " |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for dim in dimensions():
        st = dimension_state(result, dim)
        gates = dimension_gates(result, dim)
        if not gates:
            lines.append(f"| {title(dim, lang)} | {state(st)} | | | | | |")
            continue
        for i, g in enumerate(gates):
            head = f"{title(dim, lang)} | {state(st)}" if i == 0 else " | "
            decision = " ✗" if g.passed is False else ""
            lines.append(
                f"| {head} | {md_text(g.label_in(lang))} | {g.shown_value}{decision} | {g.shown_ci or '–'} | "
                f"{g.shown_target} | {md_text(g.counts_in(lang)) or '–'} |"
            )
    lines += _lot_rows(result)
    effects = result.diversity.batch_effects if result.diversity is not None else None
    if effects is not None:
        said = [
            ("**WARN** " if p.decision == "warn" and p.features == "pixel" else "")
            + md_text(translated(p.sentence, lang))
            for p in (effects.pixel, effects.acquisition)
        ]
        lines += ["", _("Stain and scanner batch effects:") + " " + "; ".join(said) + "."]
    if result.findings:
        sev = Counter(f.severity.value for f in result.findings)
        codes = Counter(f.code for f in result.findings).most_common(TOP_CODES)
        lines += [
            "",
            _(
                "Findings: {n} ({errors} errors, {warnings} warnings, {notes} notes). Top codes: {codes}.",
                n=len(result.findings),
                errors=sev["error"],
                warnings=sev["warning"],
                notes=sev["info"],
                codes=", ".join(f"{md_code(c)} {n}" for c, n in codes),
            ),
        ]
    else:
        lines += ["", _("Findings: none.")]
    if result.waivers is not None:
        w = result.waivers
        active = sum(u.status == "active" for u in w.uses)
        lines += [
            "",
            _(
                "Waivers ({source}): {n} findings waived by {active} of {total} waivers",
                source=md_text(w.source),
                n=len(w.waived),
                active=active,
                total=len(w.uses),
            )
            + (_("; {n} warnings (expired or unused)", n=len(w.warnings)) if w.warnings else "")
            + ".",
        ]
    if result.redelivery is not None:
        d = result.redelivery
        lines += [
            "",
            _(
                "Redelivery: {fixed} findings fixed, {still} still there, {new} new.",
                fixed=d.n_fixed,
                still=len(d.still_there),
                new=len(d.new),
            ),
        ]
    if result.command:
        lines += ["", _("Reproduce: {command}", command=md_code(shlex.join(result.command)))]
    lines += [
        "",
        _(
            "The full report is {report} beside this file; {gate} gives the exit code.",
            report="`report.html`",
            gate="`dqm gate results.json`",
        ),
    ]
    return visible("\n".join(lines) + "\n")


def _lot_rows(result: QualityResult) -> list[str]:
    """A row per lot of a result split with ``--lot-by`` (none otherwise)."""
    if result.lots is None:
        return []
    lines = [
        "",
        f"Lots by {md_text(result.lots.field)}:",
        "",
        "| Lot | Result | Slides | File accuracy | Inspection | ISO 2859-1 plan | Review |",
        "|---|---|---:|---:|---|---|---|",
    ]
    for lot in result.lots.lots:
        f = lot.files
        files = (
            "–"
            if f.value is None
            else f"{fmt_value(f.value, True, f.target, f.passed)} ({f.numerator} / {f.denominator})"
        )
        p = lot.plan
        plan = (
            "discontinued"
            if p is None
            else f"{p.code_letter}: n = {p.sample_size}, Ac {p.acceptance_number}, Re {p.rejection_number}"
        )
        state = "pass" if lot.passed else "**FAIL** (" + ", ".join(lot.failed) + ")"
        lines.append(
            f"| {md_text(lot.name)} | {state} | {lot.items} | {files} | {lot.scheme} | {plan} | {lot.decision} |"
        )
    return lines
