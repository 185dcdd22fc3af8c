"""Benchmark: what naming a DICOM slide's series costs (:func:`dqm.slide_refs.slide_parts`).

OpenSlide opens every file of a DICOM slide's folder and keeps those of its series; dqm reads each
file's header up to its ``SeriesInstanceUID`` (:func:`dqm.slide_refs.series_of`) to name the same
files, which ``--certify`` hashes and ``--results`` fingerprints. Three measures, CPU time of this
process (``resource.getrusage``) beside wall time:

1. a folder of ``--files`` small DICOM files, ``--series`` series of equal size: the first slide's
   parts (every header read), then one slide of each other series (headers kept by stat: a stat
   each), then a folder of as many files that are no DICOM;
2. ``dqm audit BATCH --stages syntactic --no-cache -j 1 --certify`` of one DICOM slide whose series
   has another file of ``--member-mib`` MiB, process CPU (children's rusage) and wall: with this
   code and, given ``--base DIR`` (a checkout of an earlier dqm, e.g. ``git archive 7893eff dqm |
   tar -x -C DIR``), with that one; the difference over the member's size is what certifying the
   series costs per GiB;
3. what the result cache keys a DICOM slide's folder by, read again every run
   (:func:`dqm.slide_refs.folder_series`: every header, whatever its stat), on ``--files`` copies
   of the real ``--real`` file (5.5 KB ``boxes_0.dcm``) and on as many small synthetic files.

Measured (2026-12-05, 2 cores shared with other engineers, load 6-10): see docs/scale.md
("DICOM series").

Usage: python benchmarks/bench_dicom_parts.py [--files 10000] [--series 100] [--member-mib 256]
       [--base DIR] [--data /tmp/bench-dicom-parts] [--real ../shared/data/real/slides/boxes_0.dcm]
       [--key-only]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dqm.slide_refs import _SERIES_MEMO, folder_series, slide_parts  # noqa: E402
from tests.test_dicom_parts import dicom  # noqa: E402


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(what: str, run: object) -> object:
    cpu, wall = _cpu(), time.perf_counter()
    out = run()  # type: ignore[operator]
    print(f"{what}: {_cpu() - cpu:.3f} s CPU, {time.perf_counter() - wall:.3f} s wall")
    return out


def folder(data: Path, files: int, series: int) -> None:
    shared = data / "shared"
    shutil.rmtree(shared, ignore_errors=True)
    shared.mkdir(parents=True)
    for k in range(files):
        (shared / f"f{k:05d}.dcm").write_bytes(dicom(f"1.2.826.0.1.{k % series}"))
    root = data
    _SERIES_MEMO.clear()
    first = _timed(
        f"first slide of {files:,} files, {series} series (every header read)",
        lambda: slide_parts(str(shared / "f00000.dcm"), 1, root),
    )
    print(f"  {len(first[0])} parts, more: {first[1]}")  # type: ignore[index]
    _timed(
        f"one slide of each of the other {series - 1} series (headers kept)",
        lambda: [slide_parts(str(shared / f"f{k:05d}.dcm"), 1, root) for k in range(1, series)],
    )
    plain = data / "plain"
    shutil.rmtree(plain, ignore_errors=True)
    plain.mkdir()
    for k in range(files):
        (plain / f"p{k:05d}.dcm").write_bytes(b"x" * 200)
    (plain / "s.dcm").write_bytes(dicom("1.2.3"))
    _SERIES_MEMO.clear()
    _timed(
        f"a slide beside {files:,} files that are no DICOM",
        lambda: slide_parts(str(plain / "s.dcm"), 1, root),
    )


def keyed(data: Path, files: int, real: Path) -> None:
    """Measure 3: :func:`folder_series` of ``files`` copies of ``real``, then of as many synthetic files."""
    for label, content in (
        ("real " + real.name, real.read_bytes() if real.is_file() else None),
        ("synthetic", dicom("1.2.3")),
    ):
        if content is None:
            print(f"{real} not found: real copies not measured")
            continue
        key = data / "key"
        shutil.rmtree(key, ignore_errors=True)
        key.mkdir(parents=True)
        for k in range(files):
            (key / f"f{k:05d}.dcm").write_bytes(content)
        for _ in range(3):
            cpu = _cpu()
            listed = _timed(
                f"cache key of a folder of {files:,} {label} ({len(content):,} B) files",
                functools.partial(folder_series, str(key), data),
            )
            print(f"  {(_cpu() - cpu) / max(1, len(listed)) * 1e6:.0f} µs CPU a file")  # type: ignore[arg-type]


def audit(data: Path, member_mib: int, base: Path | None) -> None:
    from tests.helpers import native_doc

    batch = data / "batch"
    shutil.rmtree(batch, ignore_errors=True)
    batch.mkdir(parents=True)
    (batch / "s.json").write_text(json.dumps(native_doc(file="s.dcm", width=16, height=16)))
    (batch / "s.dcm").write_bytes(dicom("1.2.826.0.1.7"))
    (batch / "frames").write_bytes(dicom("1.2.826.0.1.7", private=member_mib << 20))
    for who, path in (("this dqm", ROOT), ("base", base)):
        if path is None:
            continue
        for options in ([], ["--certify"]):
            out = data / "out"
            shutil.rmtree(out, ignore_errors=True)
            env = {**os.environ, "PYTHONPATH": str(path)}
            args = ["audit", batch, "--out", out, "--stages", "syntactic", "--no-cache", "-j", "1", *options]
            cpu, wall = _children(), time.perf_counter()
            proc = subprocess.run(  # in its folder: ``-m`` puts the working folder first on the path
                [sys.executable, "-m", "dqm", *map(str, args)], env=env, capture_output=True, cwd=path
            )
            assert proc.returncode in (0, 1), proc.stderr
            parts = [f["path"] for f in json.loads((out / "results.json").read_text())["batch"]["files"]]
            print(
                f"{who} audit {' '.join(options) or '(plain)'} of one DICOM slide + {member_mib} MiB of its "
                f"series: {_children() - cpu:.2f} s CPU, {time.perf_counter() - wall:.2f} s wall; files {parts}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--series", type=int, default=100)
    parser.add_argument("--member-mib", type=int, default=256)
    parser.add_argument("--base", type=Path, default=None)
    parser.add_argument("--data", type=Path, default=Path("/tmp/bench-dicom-parts"))
    parser.add_argument("--real", type=Path, default=Path("../shared/data/real/slides/boxes_0.dcm"))
    parser.add_argument("--key-only", action="store_true", help="measure 3 alone")
    args = parser.parse_args()
    if not args.key_only:
        folder(args.data, args.files, args.series)
    keyed(args.data, args.files, args.real)
    if not args.key_only:
        audit(args.data, args.member_mib, args.base)


if __name__ == "__main__":
    main()
