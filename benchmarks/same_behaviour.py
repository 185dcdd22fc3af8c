"""Same behaviour before and after a change: a fixed set of dqm runs, their outputs normalised.

    .venv/bin/python benchmarks/same_behaviour.py snapshot DIR      # run everything, keep the outputs
    .venv/bin/python benchmarks/same_behaviour.py compare OLD NEW   # exit 1 and a diff if they differ

The runs, each through the installed ``dqm`` command in a subprocess:

* a synthetic batch with every defect kind (40 slides, seed 3, as the test fixture): ``validate``,
  ``audit``, ``audit --baseline`` (drift), ``sample`` → verdicts → ``review ingest`` →
  ``audit --review``, then ``gate``, ``diff`` and ``report`` on those results;
* every real third-party file of ``../shared/data/real`` (slides, annotations, images) as one batch:
  ``audit``.

For each run it keeps the exit code, stdout, and the files it wrote (``results.json``, ``junit.xml``,
``summary.md``, ``report.html``, the review plan and semantic result). Run metadata is normalised
away: the work folder's path, timestamps, run ids, the dqm version, and elapsed seconds. ``results.json`` may
grow new fields in a restructure (schema minor bump): ``compare --additive`` ignores keys that only
the new snapshot has, and the schema version (in ``results.json`` and where the report prints it);
``--unordered`` ignores the order of the checks and findings lists.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real"
DQM = [sys.executable, "-m", "dqm"]
WORK = Path(os.environ.get("DQM_SAME_WORK", "/tmp/dqm-same-behaviour"))
"""Where the runs happen (``DQM_SAME_WORK``); its path is normalised away in what is kept."""

_TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:\+00:00|Z)?")
_SECONDS = re.compile(r"\b\d+(?:\.\d+)? ?(?:s|ms|min)\b")
_RUN_ID = re.compile(r"\b\d{8}T\d{6}Z-[0-9a-f]{8}\b")
"""A run's id (``dqm.output.new_run_id``): new in every run."""
_PLAN_ID = re.compile(r"(plan_id\W+)[0-9a-f]{64}")
"""A review plan's id hashes the batch's path, which differs between work folders."""


def _normalise(text: str) -> str:
    text = text.replace(str(WORK), "<WORK>")
    text = _RUN_ID.sub("<RUN_ID>", text)
    text = _TIME.sub("<TIME>", text)
    text = _PLAN_ID.sub(r"\1<PLAN_ID>", text)
    return _SECONDS.sub("<SECONDS>", text)


def _run(name: str, args: list[str], keep: Path, files: dict[str, Path] | None = None) -> None:
    proc = subprocess.run(
        [*DQM, *args], capture_output=True, text=True, env={**os.environ, "COLUMNS": "120", "NO_COLOR": "1"}
    )
    folder = keep / name
    folder.mkdir(parents=True)
    (folder / "exit_code").write_text(f"{proc.returncode}\n")
    (folder / "stdout").write_text(_normalise(proc.stdout))
    for label, path in (files or {}).items():
        if path.is_file():
            (folder / label).write_text(_normalise(path.read_text(encoding="utf-8")))
        else:
            (folder / label).write_text("<absent>\n")


def _verdicts(plan: Path, out: Path) -> Path:
    with (plan / "review_plan.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    with out.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["slide_id", "reviewer", "verdict", "reason", "comment"])
        for i, r in enumerate(rows):
            w.writerow(
                [r["slide_id"], "kim", "fail" if i < 1 else "pass", "wrong_class" if i < 1 else "", ""]
            )
    return out


def _outputs(out: Path) -> dict[str, Path]:
    return {n: out / n for n in ("results.json", "junit.xml", "summary.md", "report.html")}


def snapshot(keep: Path) -> None:
    if keep.exists():
        shutil.rmtree(keep)
    keep.mkdir(parents=True)
    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir()
    batch = WORK / "synth"
    _run(
        "synth",
        ["synth", str(batch), "-n", "40", "--seed", "3", "--defect-rate", "0.8", "--max-size", "512"],
        keep,
    )
    _run("validate", ["validate", str(batch)], keep)
    _run(
        "audit",
        ["audit", str(batch), "--out", str(WORK / "a1"), "--workers", "2"],
        keep,
        _outputs(WORK / "a1"),
    )
    base = ["--baseline", str(WORK / "a1" / "results.json")]
    _run(
        "audit_baseline", ["audit", str(batch), "--out", str(WORK / "a2"), *base], keep, _outputs(WORK / "a2")
    )
    review = WORK / "review"
    _run(
        "sample",
        ["sample", str(batch), "--out", str(review), "--seed", "11"],
        keep,
        {"review_plan.csv": review / "review_plan.csv", "review_plan.json": review / "review_plan.json"},
    )
    verdicts = _verdicts(review, WORK / "kim.csv")
    sem = WORK / "sem"
    _run(
        "ingest",
        ["review", "ingest", "--plan", str(review), str(verdicts), "--out", str(sem)],
        keep,
        {"semantic.json": sem / "semantic.json"},
    )
    _run(
        "audit_review",
        ["audit", str(batch), "--out", str(WORK / "a3"), "--review", str(sem)],
        keep,
        _outputs(WORK / "a3"),
    )
    req = ["--require", "syntactic,semantic,diversity"]
    _run("gate", ["gate", str(WORK / "a3" / "results.json"), *req], keep)
    _run(
        "diff",
        [
            "diff",
            str(WORK / "a1" / "results.json"),
            str(WORK / "a3" / "results.json"),
            "--format",
            "markdown",
        ],
        keep,
    )
    html = WORK / "rerendered.html"
    _run(
        "report", ["report", str(WORK / "a3" / "results.json"), "-o", str(html)], keep, {"report.html": html}
    )
    if REAL.is_dir():
        real = WORK / "real"
        for part in ("slides", "annotations", "images"):
            shutil.copytree(REAL / part, real / part)
        _run(
            "audit_real",
            ["audit", str(real), "--out", str(WORK / "r1"), "--workers", "2"],
            keep,
            _outputs(WORK / "r1"),
        )


def _drop_new_keys(old: object, new: object) -> object:
    """``new`` without the dict keys ``old`` does not have (recursively), for an additive schema change."""
    if isinstance(old, dict) and isinstance(new, dict):
        return {k: _drop_new_keys(old[k], v) for k, v in new.items() if k in old}
    if isinstance(old, list) and isinstance(new, list):
        return [_drop_new_keys(o, n) for o, n in zip(old, new, strict=False)] + new[len(old) :]
    return new


UNORDERED = ("checks", "findings")
"""Top-level lists of results.json whose order ``--unordered`` ignores (the order of the checks,
and so of one item's findings, follows where checks are declared)."""
_SCHEMA = re.compile(r"(results schema )\d+\.\d+")
_DATA = re.compile(r'(<script type="application/octet-stream" id="dqm-data">)[^<]*')


def _json_text(path: Path, other: Path | None, additive: bool, unordered: bool) -> str:
    data = json.loads(path.read_text())
    if additive and other is not None:
        data = _drop_new_keys(json.loads(other.read_text()), data)
    if isinstance(data, dict):
        for key in ("schema_version", "dqm_version"):
            data.pop(key, None)
        for key in UNORDERED if unordered else ():
            if isinstance(data.get(key), list):
                data[key] = sorted(data[key], key=lambda v: json.dumps(v, sort_keys=True))
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def _text(path: Path, unordered: bool, additive: bool = False) -> str:
    text = path.read_text()
    if additive:  # the report prints the schema version, which an additive change bumps
        text = _SCHEMA.sub(r"\1<VERSION>", text)
    # the report's embedded findings table (compressed) follows the findings' order: results.json
    # holds the same findings and is compared without order
    return _DATA.sub(r"\1<DATA>", text) if unordered and path.suffix == ".html" else text


def compare(old: Path, new: Path, additive: bool, unordered: bool = False) -> int:
    old_files = {p.relative_to(old) for p in old.rglob("*") if p.is_file()}
    new_files = {p.relative_to(new) for p in new.rglob("*") if p.is_file()}
    bad = 0
    for rel in sorted(old_files ^ new_files):
        print(f"only in {'old' if rel in old_files else 'new'}: {rel}")
        bad += 1
    for rel in sorted(old_files & new_files):
        if rel.suffix == ".json":
            a = _json_text(old / rel, None, additive, unordered)
            b = _json_text(new / rel, old / rel, additive, unordered)
        else:
            a, b = _text(old / rel, unordered, additive), _text(new / rel, unordered, additive)
        if a != b:
            bad += 1
            print(f"--- differs: {rel}")
            diff = difflib.unified_diff(a.splitlines(), b.splitlines(), "old", "new", lineterm="", n=1)
            for k, line in enumerate(diff):
                if k > 60:
                    print("  ...")
                    break
                print("  " + line[:300])
    print(f"{len(old_files & new_files)} files compared, {bad} differ")
    return 1 if bad else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("snapshot")
    s.add_argument("dir", type=Path)
    c = sub.add_parser("compare")
    c.add_argument("old", type=Path)
    c.add_argument("new", type=Path)
    c.add_argument("--additive", action="store_true", help="ignore keys only the new results have")
    c.add_argument("--unordered", action="store_true", help="ignore the order of checks and findings")
    args = parser.parse_args()
    if args.cmd == "snapshot":
        snapshot(args.dir)
    else:
        sys.exit(compare(args.old, args.new, args.additive, args.unordered))


if __name__ == "__main__":
    main()
