"""The de-identification findings of the real annotation exports, to compare two checkouts.

    .venv/bin/python benchmarks/bench_deid_real_findings.py [--code OTHER_CHECKOUT] [--real DIR]

Each annotation file under ``--real`` (``/work/shared/data/real/annotations``: JSON, GeoJSON, XML,
HALO) is parsed and the ``deid.*`` item checks of the default profile run on it, in a child process
under ``--code``'s dqm; one JSON object a file, its findings' code, message and pointer sorted (or the
error that stopped it). Run it at two commits and compare the outputs (``cmp``): a change to the
detector must leave these findings as they were unless it says why.

Measured (task deid, session 21): 4fae85c and deid give the same output, byte for byte: 18 files,
17 read, 19 findings; ``MIDOG++.json`` (a COCO file of several images) stops the helper's one-image
unpacking at both. Task deid (session 22; name words bounded, ``&#32;`` read, ``id_name_No``
masked, "with the" kinds): 260a0db and deid give the same output, byte for byte; so do 848046f
and deidf (name words unbounded again, references read as a browser reads them, ISO editions
before 1951 ids). So do 89611d0 and deidf2 (decoding only at a reference, the cut after a long
name's first word, ISO numbers of any digits, tab and line separators in names). Task deidmend
(session 24): 1706a01 and deidmend the same, byte for byte (18 files, 17 read, 19 findings); so
do 9895fdd and deidf (session 24: header-word surnames in every output, characters nobody sees),
and 099ccc7 and deidf2 (session 24: window overlap and cut look-back measured as read, surrogate
pairs, header phrases' second words). Task deid9 (session 25: look-alike dashes, full-width digits,
a tab between an RRN's groups, invisible characters in a name's gap): 2f8f11f and deid9 the same,
byte for byte (18 files, 17 read, 19 findings); so do 4ba2dd1 and deid9f (session 25: the cut reads
invisible characters kept, joiners part no name, an RRN's tab gap after its keyword only), and
4cca123 and deidkof2 (session 25: ``환자:`` a quasi keyword, a Korean name masked without its
particle, dates in a file name's example).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench_deid_walk import child_row

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys
from pathlib import Path
sys.path.insert(0, ".")
from dqm.profile import load_profile
from tests.deid.test_property_keys import _found
profile = load_profile()
out = {}
for p in sorted(Path(sys.argv[1]).rglob("*")):
    if p.suffix.lower() not in {".json", ".geojson", ".xml", ".annotations"}:
        continue
    try:
        out[p.name] = sorted((f.code, f.message, f.location.pointer or "") for f in _found(profile, p.read_bytes(), p.name))
    except Exception as e:
        out[p.name] = f"error {type(e).__name__}: {e}"
print(json.dumps(out, ensure_ascii=False))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--code", type=Path, default=ROOT, help="the dqm checkout the command runs (before/after)"
    )
    ap.add_argument("--real", type=Path, default=Path("/work/shared/data/real/annotations"))
    args = ap.parse_args()
    print(json.dumps(child_row(CHILD, args.real, args.code), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
