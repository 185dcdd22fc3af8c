"""Same findings and slide facts in two results.json, whatever the run's files and times.

    .venv/bin/python benchmarks/same_findings.py OLD/results.json NEW/results.json
    .venv/bin/python benchmarks/same_findings.py OLD/results.json NEW/results.json --tolerance 1e-4

For a change that must not alter what dqm finds (a speed-up), on two runs of the same batch made in
different folders or at different times: ``benchmarks/same_behaviour.py compare`` then reports the
digest and the files' stat facts (modification times, inodes), which differ between any two copies
of a batch. This compares what the checks concluded: the findings (check, code, severity, item,
location, message, in any order), each item's summary (counts, areas, the slide facts: header,
tissue share, stain descriptors, perceptual hash, artefact shares and map), and the diversity,
validity and verdict sections. Exit 1 with the differences when any differs.

``--tolerance REL`` is for a change that may move the slide facts' numbers but not what is found
(pixel measures in float32, on a sample): the findings must still be the same, every one, and so
must every value that is not a number (texts, the artefact map, the perceptual hash); a number
may differ by up to ``REL`` of the larger of the two in magnitude. It prints, for each field whose
numbers differ (``items[*].slide.stain.h_p99``: list positions folded), the largest relative
change seen and how many values changed, so that a round can state them.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

FINDING_KEYS = ("item_id", "check", "code", "severity", "location", "message")
SECTIONS = ("items", "diversity", "validity", "syntactic", "verdict", "thumbnails")


def _findings(result: dict) -> list[str]:
    return sorted(json.dumps({k: f.get(k) for k in FINDING_KEYS}, sort_keys=True) for f in result["findings"])


def _number(value: object) -> float | None:
    """``value`` as a float when it is a number (not a boolean), else None."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class Changes:
    """The numbers that differ within the tolerance: the largest relative change and the count per
    field (list positions folded to ``[*]``)."""

    def __init__(self, tolerance: float | None) -> None:
        self.tolerance = tolerance
        self.largest: dict[str, float] = {}
        self.count: dict[str, int] = {}

    def within(self, a: object, b: object, path: str) -> bool:
        """Whether ``a`` and ``b`` are numbers within the tolerance (counted if so)."""
        x, y = _number(a), _number(b)
        if self.tolerance is None or x is None or y is None:
            return False
        rel = abs(x - y) / max(abs(x), abs(y))  # a != b: not both zero
        if not rel <= self.tolerance:  # NaN is never within
            return False
        field = re.sub(r"\[\d+\]", "[*]", path)
        self.largest[field] = max(self.largest.get(field, 0.0), rel)
        self.count[field] = self.count.get(field, 0) + 1
        return True


def _differences(a: object, b: object, path: str, out: list[str], changes: Changes) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(a.keys() | b.keys()):
            _differences(a.get(key), b.get(key), f"{path}.{key}", out, changes)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _differences(x, y, f"{path}[{i}]", out, changes)
    elif a != b and not changes.within(a, b, path):
        out.append(f"{path}: {str(a)[:120]} -> {str(b)[:120]}")


def compare(old: dict, new: dict, tolerance: float | None = None) -> tuple[list[str], Changes]:
    """The differences between two results (findings always exactly; numbers within ``tolerance``
    of each other, relative, not counted as differences but in the :class:`Changes`)."""
    out: list[str] = []
    changes = Changes(tolerance)
    a, b = _findings(old), _findings(new)
    out += [f"finding only in old: {f}" for f in sorted(set(a) - set(b))]
    out += [f"finding only in new: {f}" for f in sorted(set(b) - set(a))]
    for section in SECTIONS:
        _differences(old.get(section), new.get(section), section, out, changes)
    return out, changes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path)
    ap.add_argument("--tolerance", type=float, help="relative change a number may show (findings: none)")
    args = ap.parse_args()
    old, new = (json.loads(p.read_text(encoding="utf-8")) for p in (args.old, args.new))
    out, changes = compare(old, new, args.tolerance)
    for line in out[:60]:
        print(line)
    for field in sorted(changes.largest, key=changes.largest.__getitem__, reverse=True):
        print(
            f"within tolerance: {field}: {changes.count[field]} values, largest change {changes.largest[field]:.3g}"
        )
    print(
        f"{len(old['findings'])} and {len(new['findings'])} findings, {len(old.get('items', []))} items: "
        f"{len(out)} differences"
    )
    sys.exit(1 if out else 0)


if __name__ == "__main__":
    main()
