"""Which tuning groups ``artefacts.stain`` reports as stained darker or paler as a whole
(``OVERSTAINED_GROUP``, ``UNDERSTAINED_GROUP``), from the rows ``stain_shares.py`` wrote (no probing):

    .venv/bin/python benchmarks/stain_shares.py --external /tmp/exthe-he --out stain.json
    .venv/bin/python benchmarks/stain_groups.py stain.json

Each source is a batch (:func:`bench_artefacts.stain_group`), judged as the check judges a batch
with no institution column: its clean slides as they are, then every slide replaced by its
over-stained copy, then by its under-stained one (a whole site mis-stained alike). A group of
``MIN_PEERS`` slides or fewer is judged slide by slide (over-staining by the absolute rule,
under-staining by the safety net and ``stain_batch.verdict``'s faint-and-pale rule): no group finding.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench_artefacts import stain_group, stain_od

from dqm.pixels.stain_batch import MIN_PEERS, group_verdicts, reference_groups
from dqm.profile import load_profile
from validators.artefacts import _slide_params


def fires(rows: list[dict], variant: str, kind: str, limit: float) -> str:
    """``kind``'s group finding on ``rows`` with each slide's ``variant``: how many of the
    slides pass the absolute rule when it fires, ``-`` when not, ``n/a`` for too small a group."""
    if len(rows) <= MIN_PEERS:
        return "n/a"
    unknown = [None] * len(rows)
    ref = reference_groups([stain_od(r, variant) for r in rows], unknown)
    hit = group_verdicts(kind, [r[variant][kind] for r in rows], ref, unknown, limit)
    return f"fires ({hit[0].over}/{hit[0].n} over)" if hit else "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("shares", type=Path, help="rows written by stain_shares.py --out")
    args = ap.parse_args()
    limits = _slide_params(load_profile())
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in json.loads(args.shares.read_text(encoding="utf-8")):
        groups.setdefault(stain_group(row), []).append(row)
    print(f"absolute rule: over-stain {limits.overstain:.2%}, under-stain {limits.understain:.2%}")
    print("| group | slides | clean: over | clean: under | all over-stained | all under-stained |")
    print("|---|---|---|---|---|---|")
    for (side, source), rows in sorted(groups.items(), key=lambda g: -len(g[1])):
        cells = [
            fires(rows, "clean", "overstain", limits.overstain),
            fires(rows, "clean", "understain", limits.understain),
            fires(rows, "overstain", "overstain", limits.overstain),
            fires(rows, "understain", "understain", limits.understain),
        ]
        print(f"| {side}/{source[:40]} | {len(rows)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
