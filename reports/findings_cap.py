"""Very large results: above a cap on the number of findings, ``report.html`` shows them aggregated
(per code, per institution, the worst slides) and its explorer holds only the worst slides'
findings; every finding goes to a sidecar for machines, ``findings.csv.gz`` (gzip of a UTF-8 CSV,
one row per finding, cells spreadsheet-safe), written beside the report.

A browser holds the whole explorer in memory: 100,000 findings open in about 1.4 s
(``benchmarks/bench_report.py``), so the cap sits there and a result of that size renders as before.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from dqm.findings import Finding
from dqm.output import spreadsheet_safe
from dqm.results import ItemSummary, QualityResult

FINDINGS_CAP = 100_000
"""Above this many findings, report.html aggregates them and findings.csv.gz holds them all."""

SLIDES_CAP = 100_000
"""Above this many slides, the report's Slides explorer lists the slides with findings only (worst
first when they are more than the cap); results.json lists them all."""

FINDINGS_SIDECAR = "findings.csv.gz"
"""The sidecar's name, beside report.html."""

SIDECAR_COLUMNS = (
    "item",
    "institution",
    "severity",
    "code",
    "check",
    "aspect",
    "message",
    "file",
    "pointer",
    "row",
    "column",
    "line",
    "char",
    "lesion",
    "vertex",
    "x",
    "y",
)
EXAMPLES = 3
"""Example slides shown per code."""
WORST_ROWS = 50
"""Slides in the worst-slides table."""
SEVERITIES = ("error", "warning", "info")


def over_cap(result: QualityResult, cap: int | None) -> bool:
    """Whether ``result`` has more findings than ``cap`` (None: no cap)."""
    return cap is not None and len(result.findings) > cap


def _cell(value: Any) -> str:
    return "" if value is None else spreadsheet_safe(str(value))


def findings_csv(result: QualityResult) -> str:
    """Every finding of ``result`` as CSV text with a header row (:data:`SIDECAR_COLUMNS`); the
    location's fields each in a column of their own, ``x``/``y`` the level-0 coordinates."""
    institution = {i.slide_id: i.institution for i in result.items}
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(SIDECAR_COLUMNS)
    texts: dict[str, str] = {}  # a text's cell, made once: the same few codes and files on every row
    for f in result.findings:
        loc = f.location
        x, y = loc.xy if loc.xy is not None else (None, None)
        row = (
            f.item_id,
            institution.get(f.item_id),
            f.severity.value,
            f.code,
            f.check,
            f.aspect.value,
            f.message,
            loc.file,
            loc.pointer,
            loc.row,
            loc.column,
            loc.line,
            loc.char,
            loc.lesion,
            loc.vertex,
            x,
            y,
        )
        writer.writerow(
            [(texts.get(v) or texts.setdefault(v, _cell(v))) if type(v) is str else _cell(v) for v in row]
        )
    return buf.getvalue()


@dataclass(frozen=True)
class Aggregated:
    """What the report shows of a result over the cap."""

    examples: dict[str, list[str]]
    """Up to :data:`EXAMPLES` slides per code, in the order their findings came."""
    institutions: list[dict[str, Any]]
    worst: list[dict[str, Any]]
    explorer: list[Finding]
    """The findings of the worst slides, as many whole slides as fit under the cap."""
    explorer_slides: int


def _severity_counts(findings: list[Finding]) -> dict[str, Counter[str]]:
    per_item: dict[str, Counter[str]] = defaultdict(Counter)
    for f in findings:
        per_item[f.item_id][f.severity.value] += 1
    return per_item


def _worst_first(per_item: dict[str, Counter[str]]) -> list[str]:
    """Slides by most errors, then warnings, then notes; ties by id."""
    return sorted(per_item, key=lambda k: (*(-per_item[k][s] for s in SEVERITIES), k))


def explorer_slides(result: QualityResult, cap: int) -> list[ItemSummary] | None:
    """The slides the Slides explorer lists when ``result`` has more than ``cap`` of them: those
    with findings, the ``cap`` worst when there are more, in the result's order (None: every slide)."""
    if len(result.items) <= cap:
        return None
    keep = set(_worst_first(_severity_counts(result.findings))[:cap])
    return [i for i in result.items if i.slide_id in keep]


def aggregate(result: QualityResult, cap: int) -> Aggregated:
    """The per-code examples, per-institution counts, worst slides (most errors, then warnings,
    then notes) and the explorer's findings of ``result`` (at most ``cap`` of them)."""
    findings = result.findings
    examples: dict[str, list[str]] = {}
    by_item: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        seen = examples.setdefault(f.code, [])
        if len(seen) < EXAMPLES and f.item_id not in seen:
            seen.append(f.item_id)
        by_item[f.item_id].append(f)
    per_item = _severity_counts(findings)
    institution = {i.slide_id: i.institution or "" for i in result.items}
    slides_per_inst = Counter(institution.values())
    inst_counts: dict[str, Counter[str]] = defaultdict(Counter)
    for item, counts in per_item.items():
        inst = institution.get(item, "")
        inst_counts[inst].update(counts)
        inst_counts[inst]["flagged"] += 1
    institutions: list[dict[str, Any]] = [
        {
            "institution": inst,
            "slides": slides_per_inst.get(inst, 0),
            "flagged": inst_counts[inst]["flagged"],
            **{sev: inst_counts[inst][sev] for sev in SEVERITIES},
        }
        for inst in sorted(set(slides_per_inst) | set(inst_counts))
    ]
    institutions.sort(key=lambda r: (-r["error"], -r["warning"], r["institution"]))
    order = _worst_first(per_item)
    worst = []
    for item in order[:WORST_ROWS]:
        codes = Counter(f.code for f in by_item[item])
        worst.append(
            {
                "item": item,
                "institution": institution.get(item, ""),
                **{sev: per_item[item][sev] for sev in SEVERITIES},
                "codes": ", ".join(f"{c} ×{n}" for c, n in codes.most_common()),
            }
        )
    explorer: list[Finding] = []
    slides = 0
    for item in order:
        if len(explorer) + len(by_item[item]) > cap:
            break
        explorer.extend(by_item[item])
        slides += 1
    return Aggregated(examples, institutions, worst, explorer, slides)
