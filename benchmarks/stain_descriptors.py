"""Which stain descriptor separates the injected over- and under-staining from a site's clean
slides best (issue 15 §1), from the rows ``bench_artefacts.py --out`` or ``stain_shares.py`` wrote
(no probing)::

    .venv/bin/python benchmarks/stain_descriptors.py /tmp/artfix-t/tune.json /tmp/s21/set2.json /tmp/s21/set3.json

Each slide (clean, over-stained copy, under-stained copy) is compared with the clean slides of its
group (:func:`bench_artefacts.stain_group`), itself left out, as ``dqm.pixels.stain_batch`` compares
the mean optical density: per descriptor (``log10`` of the stain descriptor), spreads from the
peers' median (1.4826 × their median absolute deviation, at least a floor); the score of a set of
descriptors is the mean of those spreads (signed: positive is more of the kind). Only groups of
``MIN_PEERS`` + 1 slides or more (those the library compares slide by slide); the near-black share
rule, the safety net and the absolute rule of smaller groups take no part, so the figures compare
descriptors, not the shipped detector (which takes ``od_mean`` + ``h_p99`` since session 22:
``bench_artefacts.py --stain-only`` tabulates it).

Constants by leaving one group out: on the other groups, the floor (:data:`FLOORS`) and the
threshold (the highest clean score there, so no clean slide of theirs is flagged) that find the
most copies of the kind; the held-out group is judged with them.

``--small``: what a batch of four (three peers) could support (NuInsSeg's in set 2): every slide of
every group against three of its group's other clean slides drawn at random (five draws where there
are more), its mean optical density over the peers' lowest (under-staining) and highest
(over-staining); a rule "under :data:`SMALL_RATIOS` times the peers' lowest" is tabulated with the
clean draws it flags and the copies it finds. In-sample: nothing is chosen from it.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from bench_artefacts import stain_group

from dqm.pixels.stain_batch import MIN_PEERS, STAIN_KINDS

SETS = {
    "od_mean": ("od_mean",),
    "h_p99": ("h_p99",),
    "od_mean+h_p99": ("od_mean", "h_p99"),
    "od_mean+h_p99+e_p99": ("od_mean", "h_p99", "e_p99"),
    "all five": ("od_mean", "h_p50", "h_p99", "e_p50", "e_p99"),
}
"""The descriptor sets compared."""
FLOORS = (0.05, 0.1, 0.15, 0.2, 0.3)
"""The least spread (log10) searched."""
SMALL_RATIOS = (0.3, 0.35, 0.4, 0.45, 0.5)
"""``--small``: the factors under the peers' lowest optical density tabulated."""


def _log(row: dict, variant: str, key: str) -> float:
    stain = row.get(f"{variant}_stain")
    value = stain.get(key) if stain else None
    return float(np.log10(value)) if value is not None and value > 0 else np.nan


def scores(
    rows: list[dict], kind: str, keys: tuple[str, ...], floor: float
) -> list[tuple[float, float | None]]:
    """(clean score, copy score) of each slide of one group; NaN: not measured (a copy without
    descriptors is too pale to describe: under-staining counts it found, over-staining not); None:
    no copy of the kind in the rows (written with ``--injections`` leaving it out)."""
    clean = np.array([[_log(r, "clean", k) for k in keys] for r in rows])
    sign = 1.0 if kind == "overstain" else -1.0
    out = []
    for i, r in enumerate(rows):
        peers = np.delete(clean, i, axis=0)
        peers = peers[np.isfinite(peers).all(axis=1)]
        centre = np.median(peers, axis=0)
        spread = np.maximum(1.4826 * np.median(np.abs(peers - centre), axis=0), floor)
        pair: list[float | None] = []
        for variant in ("clean", kind):
            x = np.array([_log(r, variant, k) for k in keys])
            pair.append(float(np.mean(sign * (x - centre) / spread)) if np.isfinite(x).all() else np.nan)
        out.append((float(pair[0]), pair[1] if f"{kind}_stain" in r else None))
    return out


def _count(pairs: list[tuple[float, float | None]], kind: str, threshold: float) -> tuple[int, int, int]:
    """Copies found, copies, and clean slides flagged at ``threshold``."""
    pale = kind == "understain"
    copies = [c for _, c in pairs if c is not None]
    found = sum((c != c and pale) or c > threshold for c in copies)
    return found, len(copies), sum(s > threshold for s, _ in pairs)


def choose(groups: dict, kind: str, keys: tuple[str, ...]) -> tuple[float, float]:
    """The floor and threshold finding the most copies on ``groups`` with no clean slide flagged."""
    best = (-1, 0.0, 0.0)
    for floor in FLOORS:
        pairs = [p for rows in groups.values() for p in scores(rows, kind, keys, floor)]
        threshold = max(s for s, _ in pairs if s == s)
        found, _, _ = _count(pairs, kind, threshold)
        if found > best[0]:
            best = (found, floor, threshold)
    return best[1], best[2]


def small(groups: dict[tuple[str, ...], list[dict]], peers: int = 3, draws: int = 5) -> str:
    """``--small``'s table (see the module's docstring)."""
    rng = np.random.default_rng(0)
    clean, copies = [], []
    for rows in groups.values():
        ods = [(r.get("clean_stain") or {}).get("od_mean") for r in rows]
        measured = [i for i, od in enumerate(ods) if od]
        for i in measured:
            others = [j for j in measured if j != i]
            if len(others) < peers:
                continue
            for _ in range(draws if len(others) > peers else 1):
                low = min(ods[j] for j in rng.choice(others, size=peers, replace=False))
                clean.append(ods[i] / low)
                if "understain" in rows[i]:  # too pale to describe: under any ratio
                    copies.append(((rows[i].get("understain_stain") or {}).get("od_mean") or 0.0) / low)
    lines = [
        f"\na slide against {peers} clean peers of its group ({len(clean)} draws, {len(copies)} with a copy)"
    ]
    for k in SMALL_RATIOS:
        flagged = sum(c < k for c in clean)
        found = sum(c < k for c in copies)
        lines.append(
            f"  under-stained below {k:g} x the peers' lowest: clean flagged {flagged}/{len(clean)}, "
            f"under-stained copies found {found}/{len(copies)} = {found / max(len(copies), 1):.2f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shares", type=Path, nargs="+", help="rows written by bench_artefacts.py --out")
    parser.add_argument("--small", action="store_true", help="what a batch of four could support")
    args = parser.parse_args()
    groups: dict[tuple[str, ...], list[dict]] = defaultdict(list)
    for path in args.shares:
        for r in json.loads(path.read_text()):
            groups[(path.stem, *stain_group(r))].append(r)
    if args.small:
        print(small(groups))
        return
    groups = {g: rows for g, rows in groups.items() if len(rows) > MIN_PEERS}
    for kind in STAIN_KINDS:
        print(f"\n{kind}, leaving one group out (found / copies, clean flagged)")
        print("| group | slides | " + " | ".join(SETS) + " |")
        print("|---|---|" + "---|" * len(SETS))
        totals = {name: [0, 0, 0] for name in SETS}
        lines = []
        for g, rows in sorted(groups.items()):
            cells = []
            for name, keys in SETS.items():
                floor, threshold = choose({h: r for h, r in groups.items() if h != g}, kind, keys)
                found, copies, flagged = _count(scores(rows, kind, keys, floor), kind, threshold)
                totals[name] = [a + b for a, b in zip(totals[name], (found, copies, flagged), strict=True)]
                cells.append(f"{found} / {copies}, {flagged}")
            lines.append(f"| {g[0]} {g[2][:30]} | {len(rows)} | " + " | ".join(cells) + " |")
        n = sum(len(r) for r in groups.values())
        print("\n".join(lines))
        print(
            f"| all | {n} | "
            + " | ".join(f"{f} / {m} = {f / max(m, 1):.2f}, {c}" for f, m, c in totals.values())
            + " |"
        )


if __name__ == "__main__":
    main()
