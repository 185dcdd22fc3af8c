"""Waiver benchmark: ``dqm gate RESULTS --waivers FILE`` on a results.json of many findings of one code.

A small synthetic batch is audited once; its results.json is then given ``--findings`` findings of
one code, spread over as many items and files, and a waiver file of each size in ``--waivers`` is
written, in the shapes a data team writes: a slide id as is, a glob over a slide id's prefix, a glob
over a folder's files, a glob over a file suffix; with ``--shape headless`` every waiver is a glob
with neither a literal head nor a literal tail (``*-0001234*``, ``*_3/0001234.sv[s]``,
``[HX]OSP-*-0001234*``), which no prefix or suffix narrows down. The gate runs in a process of its own, first
without waivers, then with each file, and one JSON row is printed per run: the exit code, wall time, CPU time,
peak memory (the largest child's maximum resident set so far), the waivers that matched
nothing and a digest of what the gate printed (the same before and after)::

    .venv/bin/python benchmarks/bench_waivers.py --findings 100000 --waivers 100,1000 \
        [--shape mixed|headless] [--code OTHER_CHECKOUT]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_baseline import first_audit

ROOT = Path(__file__).resolve().parents[1]
CODE = "MPP_MISSING"


def many_findings(results: Path, out: Path, findings: int) -> None:
    """``results`` with ``findings`` findings of :data:`CODE`, one per item id and file."""
    doc = json.loads(results.read_text(encoding="utf-8"))
    doc["findings"] = [
        {
            "item_id": f"HOSP-{i % 7}-{i:07d}",
            "check": "slide.resolution",
            "code": CODE,
            "severity": "error",
            "aspect": "image",
            "message": "the slide has no resolution",
            "location": {"file": f"hospital_{i % 7}/{i:07d}.svs"},
        }
        for i in range(findings)
    ]
    doc.pop("digest", None)
    out.write_text(json.dumps(doc), encoding="utf-8")


def waiver_file(path: Path, n: int, findings: int, shape: str = "mixed") -> None:
    """``n`` waivers of :data:`CODE`, a quarter of each shape (a third of each ``headless`` one),
    naming items and files the findings have."""

    def item(j: int) -> str:
        return f"HOSP-{j % 7}-{j % findings:07d}"

    def file(j: int) -> str:
        return f"hospital_{j % 7}/{j % findings:07d}.svs"

    shapes = [
        lambda k: {"item": item(k * 97)},
        lambda k: {"item": item(k * 31)[:-2] + "*"},
        lambda k: {"file": file(k * 13)[:-7] + "*.svs"},
        lambda k: {"file": "*" + file(k * 7)[-11:]},
    ]
    if shape == "headless":
        shapes = [
            lambda k: {"item": "*" + item(k * 97)[6:] + "*"},
            lambda k: {"file": "*" + file(k * 31)[8:-1] + "[s]"},
            lambda k: {"item": "[HX]OSP-*-" + item(k * 13)[7:] + "*"},
        ]
    waivers = [
        {
            "code": CODE,
            **shapes[k % len(shapes)](k),
            "reason": "scanner writes no resolution",
            "approved_by": "QA lead",
            "expires": "2099-12-31",
        }
        for k in range(n)
    ]
    path.write_text(yaml.safe_dump({"waivers": waivers}), encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--findings", type=int, default=100_000)
    ap.add_argument("--waivers", default="100,1000", help="comma-separated waiver counts")
    ap.add_argument("--items", type=int, default=4, help="slides of the synthetic batch")
    ap.add_argument("--shape", choices=("mixed", "headless"), default="mixed", help="the waivers' globs")
    ap.add_argument(
        "--code", type=Path, default=ROOT, help="the dqm checkout the command runs (before/after)"
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env, _ = first_audit(folder, args.items, args.code)
        results = folder / "results.json"
        many_findings(folder / "first" / "results.json", results, args.findings)
        key = folder / "mask.key"
        key.write_bytes(os.urandom(32))
        for n in [0, *(int(x) for x in args.waivers.split(",") if x)]:
            cmd = [sys.executable, "-m", "dqm", "gate", str(results), "--mask-key", str(key)]
            if n:
                waiver_file(folder / f"w{n}.yaml", n, args.findings, args.shape)
                cmd += ["--waivers", str(folder / f"w{n}.yaml")]
            t0, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
            done = subprocess.run(cmd, env=env, cwd=tmp, capture_output=True, text=True, check=False)
            wall, after = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            peak = after.ru_maxrss / 1024
            row: dict[str, object] = {
                "findings": args.findings,
                "waivers": n,
                "exit_code": done.returncode,
                "wall_s": round(wall, 1),
                "cpu_s": round(cpu, 1),
                "peak_rss_mib": round(peak, 1),
                "unused_waivers": done.stderr.count("matched no"),
                "output_sha256": hashlib.sha256((done.stdout + done.stderr).encode()).hexdigest()[:16],
            }
            if done.returncode not in (0, 1, 3):
                row["stderr"] = done.stderr[-2000:]
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
