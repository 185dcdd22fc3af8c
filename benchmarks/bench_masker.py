"""Benchmark: the identifier masker (:class:`dqm.identifiers.Masker`) on three kinds of text.

    .venv/bin/python benchmarks/bench_masker.py [--findings 20000] [--repeat 3] [--code OTHER_CHECKOUT]

* ``findings``: the JSON of ``--findings`` synthetic findings as results.json writes them (lesion
  duplicates, slide ids and paths, one in 25 messages holding a resident registration number, a
  phone number, an e-mail address or a name after a keyword), masked as one text
  (``findings_whole``), each finding's JSON alone (``findings_each``), and each key and string
  value alone, as the result cache masks a record (``findings_fields``);
* ``prose``: English sentences without identifiers;
* ``dense``: text where every line holds identifiers;
* ``urls`` and ``queries``: text whose every line holds ``&`` that starts no character reference
  (a URL's query ``?id=7&page=2``, ``a=1&b=2``), which is decoded not at all.

Prints one JSON row a kind: characters, the best of ``--repeat`` runs in seconds, characters a
second (CPU time of the process: the machine is shared), and a digest of the output (the same digest before and after a change: the same bytes).
``--code`` runs another checkout's dqm (before/after on the same machine).

Task deidf (session 22: a window a name may go on past, or whose end cuts a character reference,
scanned again longer), ``--findings 5000 --repeat 3``, before (848046f) / after, back to back:
findings whole 0.254 / 0.293 s, each 0.224 / 0.229, fields 0.166 / 0.162, prose 0.202 / 0.206,
dense 0.321 / 0.342; every digest the same.

Task deidf2 (session 22: text is decoded only where a character reference may start, once a
window), ``--findings 5000 --repeat 3``, before (89611d0) / after, twice back to back: urls
0.626, 0.574 / 0.247, 0.246 s; queries 1.863, 1.622 / 0.416, 0.444 s; the other rows within
noise (findings whole 0.307, 0.293 / 0.296, 0.289); every digest the same.
Task deid (session 23: a window that reads otherwise than written and holds an escape taking
digits is scanned as written too; a header's word after a name keyword starts no name),
``--findings 5000 --repeat 5``, before (87b2212) / after, twice alternating, best of the two, on
a loaded 2-core machine (load 9): findings whole 0.285 / 0.292 s, each 0.221 / 0.228, fields
0.165 / 0.175, prose 0.207 / 0.214, dense 0.325 / 0.341, urls 0.234 / 0.237, queries 0.412 /
0.395; every digest the same (the rows hold no escape that takes digits).
Task deidf (session 23: a window with no run builds no generator of runs): ``findings_fields``
alone (5,000 findings, 140,000 strings masked three times by fresh maskers; callgrind's
instructions less those of the same process not masking): 87b2212 668 M, e236755 696 M (+4 %),
deidf 677 M (+1.3 %); timed rows on the loaded machine (load 10) within noise (fields 0.173,
0.191 / 0.209, 0.177 s); every digest the same.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def findings_json(n: int) -> list[str]:
    """``n`` findings as JSON objects, one a string, deterministic."""
    rng = random.Random(11)
    out = []
    for i in range(n):
        slide = f"S{rng.randrange(10**5):05d}"
        kind = i % 100
        if kind == 0:
            message = f"slide property aperio.Patient = Patient name: Hong Gildong ({slide})"
        elif kind == 1:
            message = f"file name {slide}_900101-1234567.svs holds an identifier"
        elif kind == 2:
            message = f"clinical note: call 010-1234-{i % 10000:04d} for the report"
        elif kind == 3:
            message = f"annotation property 'author' = \\u00a0dr.{i}@hospital.example.org"
        else:
            message = f"lesion {i + 1} (BCC) repeats lesion {i % 7 + 1} (BCC): IoU 1.000"
        finding = {
            "item_id": slide,
            "check": "geometry.duplicate",
            "code": "DUPLICATE_LESION",
            "severity": "warning",
            "aspect": "annotation",
            "message": message,
            "location": {
                "path": f"batch/lot-{i % 13}/{slide}.geojson",
                "feature": i,
                "x": 1024.5,
                "y": 88.25,
            },
            "template": "lesion {lesion} ({label}) repeats lesion {other} ({label}): IoU {iou}",
            "params": {"lesion": i + 1, "other": i % 7 + 1, "label": "BCC", "iou": "1.000"},
            "counted_values": 0,
        }
        out.append(json.dumps(finding, ensure_ascii=True))
    return out


def _strings(value: object) -> list[str]:
    """Every key and string inside ``value``, as the result cache masks a record."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


PROSE = (
    "The audit read every slide of the batch and checked its annotations against the profile. "
    "A lesion outline that crosses itself is repaired where the repair keeps its area; otherwise the "
    "finding says where it crosses. Stain and focus were sampled on tissue, away from the pen marks.\n"
)
DENSE = (
    "Patient name: Kim Minsu, RRN 850315-2345678, MRN: AB1234567, phone 02-555-1234, "
    "born on 1985-03-15, mail kim.minsu@example.com, SSN 123-45-6789, 성명: 홍길동\n"
)
URLS = "see https://x.org/q?id=7&page=2&sort=asc now. "
QUERIES = "a=1&b=2&c "

CHILD = """
import hashlib, json, sys, time
from dqm.identifiers import DeidSettings, Masker
texts, repeat = json.loads(sys.stdin.read())
settings = DeidSettings()
for kind, parts in texts:
    best, out = float("inf"), []
    for _ in range(repeat):
        masker = Masker(settings, b"k" * 32)  # a fresh one: nothing masked before
        t0 = time.process_time()
        out = [masker(p) for p in parts]
        best = min(best, time.process_time() - t0)
    chars = sum(map(len, parts))
    digest = hashlib.sha256("\\x00".join(out).encode("utf-8", "surrogatepass")).hexdigest()[:16]
    print(json.dumps({"kind": kind, "strings": len(parts), "chars": chars, "seconds": round(best, 4),
                      "chars_per_s": round(chars / best), "digest": digest}), flush=True)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--findings", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--code", type=Path, default=ROOT, help="the checkout whose dqm runs")
    args = ap.parse_args()
    each = findings_json(args.findings)
    whole = '{"findings": [' + ", ".join(each) + "]}"
    size = len(whole)
    texts = [
        ["findings_whole", [whole]],
        ["findings_each", each],
        ["findings_fields", [s for f in each for s in _strings(json.loads(f))]],
        ["prose", [PROSE * (size // len(PROSE))]],
        ["dense", [DENSE * (size // len(DENSE) // 4)]],
        ["urls", [URLS * (size // len(URLS))]],
        ["queries", [QUERIES * (size // len(QUERIES))]],
    ]
    subprocess.run(
        [sys.executable, "-c", CHILD],
        input=json.dumps([texts, args.repeat]),
        text=True,
        check=True,
        cwd=args.code,
        env={"PYTHONPATH": str(args.code.resolve())},
    )


if __name__ == "__main__":
    main()
