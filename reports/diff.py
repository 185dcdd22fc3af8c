"""``dqm diff`` output: a :class:`~dqm.diff.ResultDiff` as plain text or Markdown."""

from __future__ import annotations

from typing import Any

from dqm.diff import GateChange, ResultDiff
from dqm.figures import fmt_value, title
from reports.markdown import VERDICT_WORDS, md_code, md_text

MAX_FIGURES = 40
MAX_SLIDES = 20


def _gate_value(g: Any) -> str:
    return "absent" if g is None else f"{g.shown_value} ({g.decision})"


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


def _rows(d: ResultDiff) -> dict[str, Any]:
    """The pieces both formats print, in order."""
    o, n = d.old, d.new
    return {
        "header": [
            ("old", o.batch.path, o.created, o.batch.fingerprint, o.batch.n_items),
            ("new", n.batch.path, n.created, n.batch.fingerprint, n.batch.n_items),
        ],
        "verdict": (VERDICT_WORDS[d.verdict[0]], VERDICT_WORDS[d.verdict[1]]),
        "states": [(title(k), a, b) for k, (a, b) in d.states.items()],
    }


def render_diff_text(d: ResultDiff) -> str:
    """The diff as plain text."""
    r = _rows(d)
    out = []
    for side, path, created, fp, n_items in r["header"]:
        out.append(f"{side}: {path}  ({created}, {n_items} slides, fingerprint {fp[:16]}…)")
    if d.same_batch:
        out.append("same batch (equal fingerprints)")
    if not d.same_profile:
        out.append(f"profile changed: sha256 {d.old.profile.sha256[:12]} -> {d.new.profile.sha256[:12]}")
    a, b = r["verdict"]
    out.append(f"verdict: {a} -> {b}" if a != b else f"verdict: {b} (unchanged)")
    out.append("")
    out.append("dimensions:")
    for name, sa, sb in r["states"]:
        out.append(f"  {name}: {sa} -> {sb}" if sa != sb else f"  {name}: {sb}")
    if d.gates:
        out += ["", "gated figures that changed:"]
        for c in d.gates:
            g = c.new or c.old
            label = g.label if g is not None else c.key
            delta = _delta(c)
            out.append(
                f"  {c.key.split('.')[0]} {label}: {_gate_value(c.old)} -> {_gate_value(c.new)}"
                + (f"  [{delta}]" if delta else "")
            )
    if d.figures:
        out += ["", f"other figures that changed ({len(d.figures)}):"]
        for path, va, vb in d.figures[:MAX_FIGURES]:
            out.append(f"  {path}: {_scalar(va)} -> {_scalar(vb)}")
        if len(d.figures) > MAX_FIGURES:
            out.append(f"  … and {len(d.figures) - MAX_FIGURES} more")
    out += ["", "finding codes:"]
    if not (d.codes_new or d.codes_resolved or d.codes_changed):
        out.append("  no change")
    for code, k in d.codes_new.items():
        out.append(f"  new       {code}: {k}")
    for code, k in d.codes_resolved.items():
        out.append(f"  resolved  {code}: was {k}")
    for code, (ka, kb) in d.codes_changed.items():
        out.append(f"  changed   {code}: {ka} -> {kb}")
    if d.slides_added or d.slides_removed:
        out += ["", f"slides: {len(d.slides_added)} added, {len(d.slides_removed)} removed"]
        for label, ids in (("added", d.slides_added), ("removed", d.slides_removed)):
            if ids:
                shown = ", ".join(ids[:MAX_SLIDES]) + (" …" if len(ids) > MAX_SLIDES else "")
                out.append(f"  {label}: {shown}")
    return "\n".join(out) + "\n"


def render_diff_markdown(d: ResultDiff) -> str:
    """The diff as Markdown (for a pull-request comment)."""
    r = _rows(d)
    a, b = r["verdict"]
    out = [
        "## dqm: what changed",
        "",
        f"**Verdict:** {a} → **{b}**" if a != b else f"**Verdict:** {b} (unchanged)",
        "",
        "| | batch | created | slides | fingerprint |",
        "|---|---|---|---:|---|",
    ]
    for side, path, created, fp, n_items in r["header"]:
        out.append(
            f"| {side} | {md_code(path, table=True)} | {md_text(created)} | {n_items} | {md_code(fp[:16])}… |"
        )
    if not d.same_profile:
        out += [
            "",
            f"Profile changed: {md_code(d.old.profile.sha256[:12])} → {md_code(d.new.profile.sha256[:12])}",
        ]
    out += ["", "| Dimension | old | new |", "|---|---|---|"]
    for name, sa, sb in r["states"]:
        out.append(f"| {name} | {sa} | {'**' + sb + '**' if sa != sb else sb} |")
    if d.gates:
        out += ["", "### Gated figures", "", "| Measure | old | new | change |", "|---|---:|---:|---:|"]
        for c in d.gates:
            g = c.new or c.old
            label = f"{title(c.key.split('.')[0])}: {g.label}" if g else c.key
            out.append(
                f"| {md_text(label)} | {_gate_value(c.old)} | {_gate_value(c.new)} | {_delta(c) or '–'} |"
            )
    if d.figures:
        out += ["", f"<details><summary>{len(d.figures)} other figures changed</summary>", ""]
        out += ["| Figure | old | new |", "|---|---:|---:|"]
        for path, va, vb in d.figures[:MAX_FIGURES]:
            out.append(f"| {md_code(path, table=True)} | {md_text(_scalar(va))} | {md_text(_scalar(vb))} |")
        if len(d.figures) > MAX_FIGURES:
            out.append(f"| … and {len(d.figures) - MAX_FIGURES} more | | |")
        out += ["", "</details>"]
    out += ["", "### Finding codes", ""]
    if not (d.codes_new or d.codes_resolved or d.codes_changed):
        out.append("No change.")
    else:
        out += ["| Code | old | new | |", "|---|---:|---:|---|"]
        for code, k in d.codes_new.items():
            out.append(f"| {md_code(code)} | 0 | {k} | new |")
        for code, k in d.codes_resolved.items():
            out.append(f"| {md_code(code)} | {k} | 0 | resolved |")
        for code, (ka, kb) in d.codes_changed.items():
            out.append(f"| {md_code(code)} | {ka} | {kb} | {'more' if kb > ka else 'fewer'} |")
    if d.slides_added or d.slides_removed:
        out += ["", f"Slides: {len(d.slides_added)} added, {len(d.slides_removed)} removed."]
        for label, ids in (("Added", d.slides_added), ("Removed", d.slides_removed)):
            if ids:
                shown = ", ".join(md_code(i) for i in ids[:MAX_SLIDES]) + (
                    " …" if len(ids) > MAX_SLIDES else ""
                )
                out.append(f"{label}: {shown}")
    return "\n".join(out) + "\n"
