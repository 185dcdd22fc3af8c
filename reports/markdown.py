"""``summary.md``: a short Markdown verdict for a pull-request comment or a CI job summary.

Everything from the batch (paths, the command, codes) is escaped for GitHub / GitLab flavoured
Markdown: inline HTML is neutralised, table pipes and emphasis characters are escaped, and code
spans use a fence longer than any backtick run inside them.
"""

from __future__ import annotations

import re
import shlex
from collections import Counter

from dqm.figures import dimension_gates, dimension_state, dimensions, title
from dqm.results import QualityResult

VERDICT_WORDS = {"certified": "CERTIFIED", "not_certified": "NOT CERTIFIED", "incomplete": "INCOMPLETE"}
STATE_WORDS = {"passed": "pass", "failed": "**FAIL**", "pending": "pending", "missing": "not run"}
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


def render_summary(result: QualityResult) -> str:
    """The Markdown summary."""
    v = result.verdict
    lines = [f"## dqm quality certificate: {VERDICT_WORDS[v.status]}", ""]
    why = []
    if v.failed:
        why.append("failed: " + ", ".join(title(d) for d in v.failed))
    if v.pending:
        why.append("pending: " + ", ".join(title(d) for d in v.pending))
    if v.missing:
        why.append("not evaluated: " + ", ".join(title(d) for d in v.missing))
    if why:
        lines += ["**" + VERDICT_WORDS[v.status] + "** — " + "; ".join(why) + ".", ""]
    b = result.batch
    lines += [
        f"Batch {md_code(b.path)} · {b.n_items} slides · fingerprint {md_code(b.fingerprint[:16])}… · "
        f"profile {md_text(result.profile.name)} {md_text(result.profile.version)} "
        f"(sha256 {md_code(result.profile.sha256[:12])}) · dqm {md_text(result.dqm_version)} · "
        f"{md_text(result.created)}",
        "",
        "| Dimension | Result | Measure | Value | Interval | Target | Counts |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for dim in dimensions():
        state = dimension_state(result, dim)
        gates = dimension_gates(result, dim)
        if not gates:
            lines.append(f"| {title(dim)} | {STATE_WORDS[state]} | | | | | |")
            continue
        for i, g in enumerate(gates):
            head = f"{title(dim)} | {STATE_WORDS[state]}" if i == 0 else " | "
            decision = " ✗" if g.passed is False else ""
            lines.append(
                f"| {head} | {md_text(g.label)} | {g.shown_value}{decision} | {g.shown_ci or '–'} | "
                f"{g.shown_target} | {md_text(g.shown_counts) or '–'} |"
            )
    lines += _lot_rows(result)
    if result.findings:
        sev = Counter(f.severity.value for f in result.findings)
        codes = Counter(f.code for f in result.findings).most_common(TOP_CODES)
        lines += [
            "",
            f"Findings: {len(result.findings)} ({sev['error']} errors, {sev['warning']} warnings, "
            f"{sev['info']} notes). Top codes: " + ", ".join(f"{md_code(c)} {n}" for c, n in codes) + ".",
        ]
    else:
        lines += ["", "Findings: none."]
    if result.waivers is not None:
        w = result.waivers
        active = sum(u.status == "active" for u in w.uses)
        lines += [
            "",
            f"Waivers ({md_text(w.source)}): {len(w.waived)} findings waived by {active} of {len(w.uses)} waivers"
            + (f"; {len(w.warnings)} warnings (expired or unused)" if w.warnings else "")
            + ".",
        ]
    if result.redelivery is not None:
        d = result.redelivery
        lines += [
            "",
            f"Redelivery: {len(d.fixed)} findings fixed, {len(d.still_there)} still there, {len(d.new)} new.",
        ]
    if result.command:
        lines += ["", f"Reproduce: {md_code(shlex.join(result.command))}"]
    lines += [
        "",
        "The full report is `report.html` beside this file; `dqm gate results.json` gives the exit code.",
    ]
    return "\n".join(lines) + "\n"


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
        files = "–" if f.value is None else f"{100 * f.value:.2f} % ({f.numerator} / {f.denominator})"
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
