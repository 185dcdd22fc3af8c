"""A simulated audit of N annotation files through the real ``dqm audit --executor dask``.

Issue 13 §5: an audit of a delivery far larger than one machine is comfortable with. For each N
(10k, 100k, 1M) this writes a batch of N small native annotation files (no slides), 5 % of them
defective with three findings each (a lesion outside the slide, a lesion of an unknown class, a
lesion of zero area), in sharded sub-folders of 1,000 files with a ``manifest.csv``, then runs

    python -m dqm audit BATCH --out OUT --profile PROFILE --executor dask --workers 2

in a process of its own, sampling every half second the main process's peak RSS (``VmHWM``) and
the RSS of its children (the Dask nannies and workers), separately. The profile is the built-in
one with ``file.pairing`` turned off: the batch has no slides, so every item would otherwise
report its slide missing and the findings would grow with N.

    python benchmarks/bench_scale.py --items 10000 --items 100000 [--work DIR] [--timeout S] [--warm]

``--warm`` runs the audit a second time with the same ``--out``: every item from the result cache
(its figures under ``warm``).

The batches and outputs go to ``--work`` (default ``$DQM_BENCH_WORK`` or ``/tmp``), outside the
repository; a batch already written there for the same N is reused. Prints one JSON record per N
and writes them to ``benchmarks/_data/bench_scale-N.json``.

Measured on this project's machine (2 cores shared with other work, load average 2.6-15; 23 GiB):

=================================  =========  ========  =========  =======  ==========  ============  ===========
code                               items      findings  wall       items/s  main peak   results.json  report.html
=================================  =========  ========  =========  =======  ==========  ============  ===========
before: one task per item          10,000     1,502     172.9 s    57.8     461 MiB     6.6 MiB       0.30 MiB
chunked tasks, records kept whole  100,000    15,002    1,032.9 s  96.8     2,157 MiB   65.1 MiB      1.71 MiB
after                              10,000     1,502     87.4 s     114.4    428 MiB     6.6 MiB       0.30 MiB
after                              100,000    15,002    583.1 s    171.5    1,822 MiB   65.1 MiB      1.71 MiB
after                              1,000,000  150,002   3,087.5 s  323.9    14,140 MiB  652.4 MiB     1.52 MiB
streamed results, compact records  10,000     1,502     16.6 s     602.4    315 MiB     7.2 MiB       0.30 MiB
streamed results, compact records  100,000    15,002    200.5 s    498.8    711 MiB     71.0 MiB      1.71 MiB
streamed results, compact records  1,000,000  150,002   1,630.6 s  613.3    3,944 MiB   710.6 MiB     1.52 MiB
columns (main's 711 MiB beside)    100,000    15,002    213.7 s    467.9    577 MiB     71.0 MiB      1.71 MiB
columns                            1,000,000  150,002   1,825.8 s  547.7    3,159 MiB   710.6 MiB     1.52 MiB
=================================  =========  ========  =========  =======  ==========  ============  ===========

The workers' RSS stayed at 200-320 MiB in all (two workers and their nannies). The main process
kept about 14 KiB per item (18.6 before the chunked tasks): 13.8 GiB at a million items. With
results.json written as a stream, the kept records compacted and their cache entries serialised
by the workers, a million items peak at 3,944 MiB (3,955 MiB in a run before the workers serialised
the entries), under the 4 GiB aimed at: 4.5 KiB per item from 10k to 100k, 3.6 KiB from 100k to 1M.
With the records, summaries and file digests kept as columns (``dqm/records.py``,
``dqm/columns.py``): 577 MiB at 100k (711 on main's code, run beside it) and 3,159 MiB at 1M
(2.9 KiB per item from 100k to 1M) (``docs/scale.md``, "A simulated audit"; ``bench_memory.py``
for the steps, ``bench_item_bytes.py`` for what each item holds).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import orjson
import psutil

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFECTIVE_EVERY = 20  # 5 %
SHARD = 1000
CLASSES = ("NS", "EC", "SK", "BD_SCC", "BCC", "MN", "MM")
INSTITUTIONS = ("Seoul-A", "Busan-B", "Daegu-C", "Gwangju-D")
SITES = ("head_neck", "trunk", "upper_extremity", "lower_extremity")
WIDTH, HEIGHT = 4000, 3000


def _square(x: float, y: float, side: float) -> list[list[list[float]]]:
    return [[[x, y], [x + side, y], [x + side, y + side], [x, y + side], [x, y]]]


def _lesion(k: int, cls: str, ring: list[list[list[float]]]) -> dict:
    return {"id": k, "class": cls, "geometry": {"type": "Polygon", "coordinates": ring}}


def annotation(i: int) -> bytes:
    """Item ``i``'s annotation file: two valid lesions; every 20th item three defective ones too."""
    cls = CLASSES[i % len(CLASSES)]
    x, y = 100 + (i * 37) % 3000, 100 + (i * 53) % 2000
    lesions = [_lesion(1, cls, _square(x, y, 200)), _lesion(2, cls, _square(x + 300, y + 300, 150))]
    if i % DEFECTIVE_EVERY == 0:
        lesions += [
            _lesion(3, cls, _square(WIDTH + 500, y, 200)),  # outside the slide
            _lesion(4, "NOT_A_CLASS", _square(x, y + 400, 200)),  # unknown class
            _lesion(5, cls, [[[x, y], [x + 100, y], [x + 200, y], [x, y]]]),  # zero area
        ]
    doc = {
        "format": "dqm.annotation/1",
        "slide": {"file": f"S{i:07d}.svs", "width": WIDTH, "height": HEIGHT, "mpp": 0.5},
        "lesions": lesions,
        "clinical": {},  # the clinical record is in the manifest
    }
    return orjson.dumps(doc)


def profile_file(work: Path) -> Path:
    """The built-in profile with ``file.pairing`` off (the batch has no slides)."""
    from importlib import resources

    import yaml

    data = yaml.safe_load(
        resources.files("dqm.profiles").joinpath("dermatopathology.yaml").read_text("utf-8")
    )
    data["name"] = "dermatopathology-no-slides"
    data.setdefault("checks", {})["file.pairing"] = {"enabled": False}
    path = work / "profile-no-slides.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def write_batch(batch: Path, n: int) -> float:
    """N annotation files in sharded folders and their manifest; seconds taken (0 when reused)."""
    done = batch / ".written"
    if done.is_file() and done.read_text() == str(n):
        return 0.0
    t0 = time.perf_counter()
    with open(batch.parent / f"{batch.name}.manifest.tmp", "w", newline="", encoding="utf-8") as fh:
        rows = csv.writer(fh)
        rows.writerow(
            ["slide_id", "annotation_path", "institution", "diagnosis", "age", "sex", "site", "patient_id"]
        )
        for i in range(n):
            shard = f"annotations/{i // SHARD:04d}"
            if i % SHARD == 0:
                (batch / shard).mkdir(parents=True, exist_ok=True)
            rel = f"{shard}/S{i:07d}.json"
            (batch / rel).write_bytes(annotation(i))
            rows.writerow(
                [
                    f"S{i:07d}",
                    rel,
                    INSTITUTIONS[i % len(INSTITUTIONS)],
                    CLASSES[i % len(CLASSES)],
                    20 + i % 70,
                    "MF"[i % 2],
                    SITES[i % len(SITES)],
                    f"P{i // 2:07d}",
                ]
            )
    os.replace(batch.parent / f"{batch.name}.manifest.tmp", batch / "manifest.csv")
    done.write_text(str(n))
    return time.perf_counter() - t0


def _status_kib(pid: int, field: str) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    m = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
    return int(m.group(1)) if m else 0


def audit(batch: Path, out: Path, profile: Path, workers: int, timeout: float) -> dict:
    """Run ``dqm audit`` and sample its memory: the main process and its children apart."""
    args = [sys.executable, "-m", "dqm", "audit", str(batch), "--out", str(out), "--profile", str(profile)]
    args += ["--executor", "dask", "--workers", str(workers)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with open(out.parent / f"{out.name}.log", "wb") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        main = psutil.Process(proc.pid)
        main_peak = children_peak = worker_peak = 0
        timed_out = False
        while proc.poll() is None:
            main_peak = max(main_peak, _status_kib(proc.pid, "VmHWM"))
            rss = []
            try:
                for child in main.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        rss.append(child.memory_info().rss // 1024)
            except psutil.Error:
                pass
            children_peak = max(children_peak, sum(rss))
            worker_peak = max(worker_peak, max(rss, default=0))
            if time.perf_counter() - t0 > timeout:
                proc.kill()
                timed_out = True
            time.sleep(0.5)
        wall = time.perf_counter() - t0
    tail = (out.parent / f"{out.name}.log").read_text(errors="replace")[-3000:]
    if proc.returncode not in (0, 1) and not timed_out:
        raise SystemExit(f"dqm audit exited {proc.returncode}:\n{tail}")
    return {
        "exit_code": proc.returncode,
        "timed_out": timed_out,
        "wall_s": round(wall, 1),
        "main_peak_rss_mib": round(main_peak / 1024, 1),
        "children_peak_rss_mib": round(children_peak / 1024, 1),
        "largest_child_peak_rss_mib": round(worker_peak / 1024, 1),
        "log_tail": tail[-600:],
    }


def count_findings(results: Path) -> int:
    """The findings in a results.json, counted in its bytes (no need to load a file of 1M items):
    the top-level ``findings`` array follows ``items``, whose members hold no ``item_id`` key."""
    data = results.read_bytes()
    start = data.find(b'"findings":[', data.find(b'"items":['))
    end = data.find(b'"syntactic":', start)
    return data.count(b'"item_id":', start, end)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, action="append", help="N (repeat for several)")
    parser.add_argument("--work", type=Path, default=Path(os.environ.get("DQM_BENCH_WORK", "/tmp")))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=3 * 3600, help="seconds one audit may run")
    parser.add_argument("--warm", action="store_true", help="then again, every item from the result cache")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    work = args.work / "dqm-bench-scale"
    work.mkdir(parents=True, exist_ok=True)
    profile = profile_file(work)
    for n in args.items or [10_000]:
        batch, out = work / f"batch-{n}", work / f"out-{n}"
        batch.mkdir(exist_ok=True)
        written_s = write_batch(batch, n)
        if out.exists():
            subprocess.run(["rm", "-rf", str(out)], check=True)
        got = audit(batch, out, profile, args.workers, args.timeout)
        record = {
            "items": n,
            "batch_written_s": round(written_s, 1),
            **got,
            "machine": f"{platform.node()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}",
        }
        results, report = out / "results.json", out / "report.html"
        if results.is_file():
            record["findings"] = count_findings(results)
            record["items_per_s"] = round(n / got["wall_s"], 1)
            record["results_json_mib"] = round(results.stat().st_size / 2**20, 1)
        if report.is_file():
            record["report_html_mib"] = round(report.stat().st_size / 2**20, 2)
        if args.warm:
            warm = audit(batch, out, profile, args.workers, args.timeout)
            record["warm"] = {**warm, "findings": count_findings(results) if results.is_file() else None}
        data = HERE / "_data"
        data.mkdir(exist_ok=True)
        (data / f"bench_scale-{n}.json").write_text(json.dumps(record, indent=2))
        print(json.dumps(record, indent=2), flush=True)


if __name__ == "__main__":
    main()
