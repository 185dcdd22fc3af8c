"""Same findings and slide facts in two results.json, whatever the run's files and times.

    .venv/bin/python benchmarks/same_findings.py OLD/results.json NEW/results.json

For a change that must not alter what dqm finds (a speed-up), on two runs of the same batch made in
different folders or at different times: ``benchmarks/same_behaviour.py compare`` then reports the
digest and the files' stat facts (modification times, inodes), which differ between any two copies
of a batch. This compares what the checks concluded: the findings (check, code, severity, item,
location, message, in any order), each item's summary (counts, areas, the slide facts: header,
tissue share, stain descriptors, perceptual hash, artefact shares and map), and the diversity,
validity and verdict sections. Exit 1 with the differences when any differs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

FINDING_KEYS = ("item_id", "check", "code", "severity", "location", "message")
SECTIONS = ("items", "diversity", "validity", "syntactic", "verdict", "thumbnails")


def _findings(result: dict) -> list[str]:
    return sorted(json.dumps({k: f.get(k) for k in FINDING_KEYS}, sort_keys=True) for f in result["findings"])


def _differences(a: object, b: object, path: str, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(a.keys() | b.keys()):
            _differences(a.get(key), b.get(key), f"{path}.{key}", out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _differences(x, y, f"{path}[{i}]", out)
    elif a != b:
        out.append(f"{path}: {str(a)[:120]} -> {str(b)[:120]}")


def main() -> None:
    old, new = (json.loads(Path(p).read_text(encoding="utf-8")) for p in sys.argv[1:3])
    out: list[str] = []
    a, b = _findings(old), _findings(new)
    out += [f"finding only in old: {f}" for f in sorted(set(a) - set(b))]
    out += [f"finding only in new: {f}" for f in sorted(set(b) - set(a))]
    for section in SECTIONS:
        _differences(old.get(section), new.get(section), section, out)
    for line in out[:60]:
        print(line)
    print(f"{len(a)} and {len(b)} findings, {len(old.get('items', []))} items: {len(out)} differences")
    sys.exit(1 if out else 0)


if __name__ == "__main__":
    main()
