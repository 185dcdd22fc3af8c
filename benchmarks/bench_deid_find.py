"""Benchmark: :func:`dqm.identifiers.find` on texts whose identifiers only the text as written shows.

    .venv/bin/python benchmarks/bench_deid_find.py [--sizes 70000,140000,280000,8000000]
        [--limit 120] [--code OTHER_CHECKOUT]

Each text repeats one line whose resident number or phone number a character reference takes
digits of (``RRN &#900101-1234567 010-1234-5678 ``: a browser reads ``&#900101`` as one
character; ``&#010-1234-5678 010-1234-5678 ``), to each of ``--sizes`` characters (8,000,000 is
:data:`dqm.identifiers.MAX_SEARCHED_CHARS`, the most a file's text is searched). ``find`` is run
once on each in a child process under ``--code``'s dqm, killed after ``--limit`` seconds. Prints
one JSON row a text: characters, CPU seconds (the machine is shared) or ``over LIMIT``, the kinds
found.

Task deidf (session 23: the runs as written checked against the runs read by bisection, not each
against all), before (e236755) / after, ``nice -n 10`` on a loaded 2-core machine:
rrn_reference 70/140/280 KB: 0.521, 2.062, 6.908 s / 0.114, 0.220, 0.371 s; 8 MB: over 60 s /
10.3 s. phone_reference: 1.060, 2.963, 12.238 s / 0.151, 0.230, 0.402 s; 8 MB: over 60 s / 10.3 s
(commands: ``--code /tmp/deidf/base --limit 60`` and ``--limit 120``).

Task deidf (session 24: characters nobody sees read past; the reading that keeps them searched only
where one was left out), 9895fdd / deidf back to back, ``--sizes 70000,140000,280000``, ``nice -n
10``, loaded: rrn_reference 0.122, 0.209, 0.470 s / 0.158, 0.246, 0.445 s; phone_reference 0.148,
0.223, 0.570 s / 0.253, 0.289, 0.478 s (within the load's noise; a first version that decoded every
escaped text twice was 1.5x slower: 0.657 s at 280 KB).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UNITS = {
    "rrn_reference": "RRN &#900101-1234567 010-1234-5678 ",
    "phone_reference": "&#010-1234-5678 010-1234-5678 ",
}

CHILD = """
import json, sys, time
from dqm.identifiers import DeidSettings, find
unit, size = json.loads(sys.argv[1])
text = (unit * (size // len(unit) + 1))[:size]
settings = DeidSettings()
t0 = time.process_time()
hits = find(text, settings, "annotation")
print(json.dumps({"seconds": round(time.process_time() - t0, 3), "found": [h.name for h in hits]}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="70000,140000,280000,8000000")
    ap.add_argument("--limit", type=float, default=120.0, help="seconds a text may take")
    ap.add_argument("--code", type=Path, default=ROOT, help="the checkout whose dqm runs")
    args = ap.parse_args()
    for kind, unit in UNITS.items():
        for size in map(int, args.sizes.split(",")):
            row: dict[str, object] = {"kind": kind, "chars": size}
            try:
                done = subprocess.run(
                    [sys.executable, "-c", CHILD, json.dumps([unit, size])],
                    capture_output=True,
                    text=True,
                    check=True,
                    cwd=args.code,
                    env={"PYTHONPATH": str(args.code.resolve())},
                    timeout=args.limit,
                )
                row.update(json.loads(done.stdout))
            except subprocess.TimeoutExpired:
                row["seconds"] = f"over {args.limit:g}"
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
