"""Benchmark: searching an annotation file's nested text for identifiers, on hostile shapes.

    .venv/bin/python benchmarks/bench_deid_walk.py [--only NAME,...] [--mb 100] [--code OTHER_CHECKOUT]

The de-identification checks walk every key and string of an annotation's properties, however
deep or long (:func:`dqm.identifiers.nodes`), within one budget of texts and characters an item
(:class:`dqm.identifiers.SearchBudget`). Each case writes one file under ``/tmp/dqm-bench-deid-walk``
and, in a fresh process, reads it (``parse_annotation``) and runs ``deid.annotation_properties``
on it; one JSON row a case: the file's MB, CPU seconds (read and check; the check alone too) and
peak RSS of the process, the finding codes and the reader's issue codes. ``--code`` runs another checkout's dqm
(before/after). Cases:

* ``brackets``: ``--mb`` of ``[[[[…`` as a property (past every parser's nesting limit);
* ``deep``: chains 900 deep (dicts and lists in turn) with a string at the bottom, ``--mb`` in all;
* ``million``: a lesion property that is a list of a million distinct strings;
* ``million_numbers``: a list of a million numbers, a name at its end;
* ``detections``: 200,000 QuPath detections whose measurements nest 12 deep (``DistinctTexts``);
* ``lesions``: 50,000 lesions of a usual shape, a few flat and nested properties each.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = Path(os.environ.get("DQM_BENCH_WORK", "/tmp/dqm-bench-deid-walk"))
NAME = "Patient name: Hong Gildong"
SQUARE = [[10, 10], [60, 10], [60, 60], [10, 60], [10, 10]]
POLYGON = {"type": "Polygon", "coordinates": [SQUARE]}

CHILD = """
import json, resource, sys, time
from dqm.model import Item
from dqm.profile import load_profile
from dqm.readers import parse_annotation
from dqm.runner import run_item_checks
from validators.context import FileStatus, ItemView
from validators.engine import configure

def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

def peak_mb():  # this process's own: ru_maxrss keeps the parent's from before the exec
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024

path = sys.argv[1]
profile = load_profile()
checks = [c for c in configure(profile) if c.id == "deid.annotation_properties"]
t0 = cpu()
anns = parse_annotation(open(path, "rb").read(), "ann/" + path.rsplit("/", 1)[1])
t1 = cpu()
item = Item("s1", "slides/s1.svs", "ann/s1.json", {}, None)
found = []
for ann in anns:
    view = ItemView(item, profile, ann, None, FileStatus(item.image_path, True), FileStatus(item.annotation_path, True))
    found += run_item_checks(view, checks)
t2 = cpu()
issues = sorted({i.code for ann in anns for i in ann.issues})
print(json.dumps({
    "cpu_s": round(t2 - t0, 2), "check_cpu_s": round(t2 - t1, 2),
    "peak_rss_mb": peak_mb(),
    "codes": sorted({f.code for f in found}), "issues": issues,
}))
"""


def _native(props: object) -> dict:
    return {"lesions": [{"class": "BCC", "geometry": POLYGON, "properties": {"note": props}}]}


def _chain(depth: int) -> str:
    opened = "".join('{"k":' if level % 2 == 0 else "[" for level in range(depth))
    closed = "".join("}" if level % 2 == 0 else "]" for level in reversed(range(depth)))
    return opened + json.dumps(NAME) + closed


def write(name: str, mb: int) -> Path:
    WORK.mkdir(parents=True, exist_ok=True)
    if name == "brackets":
        path = WORK / "brackets.json"
        n = mb * 2**20 // 2
        path.write_text('{"lesions": [], "patient": ' + "[" * n + "]" * n + "}")
    elif name == "deep":
        path = WORK / "deep.json"
        chain = _chain(900)
        n = max(1, mb * 2**20 // len(chain))
        path.write_text('{"lesions": [], "patient": [' + ",".join([chain] * n) + "]}")
    elif name == "million":
        path = WORK / "million.json"
        path.write_text(json.dumps(_native([f"value {k}" for k in range(10**6)] + [NAME])))
    elif name == "million_numbers":
        path = WORK / "million_numbers.json"
        path.write_text(json.dumps(_native([*range(10**6), NAME])))
    elif name == "detections":
        path = WORK / "detections.geojson"
        measures = {"m": 1.0}
        for level in range(12):
            measures = {f"level {level}": measures}
        measures["deepest"] = {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": NAME}}}}}}}}}
        feature = {
            "type": "Feature",
            "geometry": POLYGON,
            "properties": {"objectType": "detection", "measurements": measures},
        }
        path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature] * 200_000}))
    elif name == "lesions":
        path = WORK / "lesions.json"
        lesions = [
            {
                "class": "BCC",
                "geometry": POLYGON,
                "properties": {
                    "id": f"L{k}",
                    "grade": "2",
                    "reviewer": "ab",
                    "scores": {"a": 0.5, "tags": ["x", "y"]},
                },
            }
            for k in range(50_000)
        ]
        path.write_text(json.dumps({"lesions": lesions}))
    else:
        raise SystemExit(f"unknown case {name}")
    return path


CASES = ("brackets", "deep", "million", "million_numbers", "detections", "lesions")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(CASES), help="cases to run, comma-separated")
    ap.add_argument("--mb", type=int, default=100, help="size of the brackets and deep cases")
    ap.add_argument("--code", type=Path, default=ROOT, help="the dqm checkout the command runs")
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": str(args.code)}
    for name in args.only.split(","):
        path = write(name, args.mb)
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(path)],
            env=env, capture_output=True, text=True, cwd=args.code,
        )  # fmt: skip
        row = json.loads(done.stdout) if done.returncode == 0 else {"error": done.stderr[-300:]}
        print(json.dumps({"case": name, "mb": round(path.stat().st_size / 2**20, 1), **row}), flush=True)
        path.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
