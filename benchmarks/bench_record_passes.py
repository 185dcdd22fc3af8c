"""What each pass over a run's item records costs an audit, at N items.

Runs a small batch of :mod:`bench_scale` (``--seed-items`` native annotation files, 5 % with three
defects each) through ``run_batch`` (records kept lean, as above 10,000 items), then repeats its
records, each copy under new slide ids, paths and patients, up to ``--items`` rows of one run, and
times every step of an audit that goes over the run's records: the clinical table's rows (the table
itself is neither built nor validated here), the batch checks' item facts and full hashes, the
patients' numbers, the batch fingerprint, the file digests, and the syntactic result (its file
universe, value slots, unreadable count and two breakdowns); then the lots (``--lot-by
institution``: each lot's part of the run and its syntactic result), alone and with ten of the
run's findings waived (each lot's part without them). ``bare pass`` is one loop over the records
given back whole, what each of these cost before they read columns.

    python benchmarks/bench_record_passes.py [--items 100000] [--seed-items 1000] [--work DIR]
        [--steps lots,digests] [--code OTHER_CHECKOUT]

``--steps`` runs only the steps whose names hold one of the words; ``--code`` imports dqm from
another checkout (the same steps before and after a change).

Prints seconds per step and writes ``benchmarks/_data/bench_record_passes-N.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def repeated(records: list[Any], n: int) -> list[Any]:
    """``n`` records: ``records`` over and over, copy ``c`` under its own slide ids, file paths
    (``c<c>/...``) and patients."""
    out: list[Any] = []
    for c in range(-(-n // len(records))):
        for r in records[: n - len(out)]:
            if c == 0:
                out.append(r)
                continue
            s = r.summary

            def moved(rel: str | None, c: int = c) -> str | None:
                return None if rel is None else f"c{c}/{rel}"

            sid = f"{s.slide_id}-c{c}"
            summary = s.model_copy(
                update={
                    "slide_id": sid,
                    "annotation_path": moved(s.annotation_path),
                    "image_path": moved(s.image_path),
                }
            )
            clinical = dict(r.clinical_record)
            if "patient_id" in clinical:
                clinical["patient_id"] = f"{clinical['patient_id']}-c{c}"
            out.append(
                dataclasses.replace(
                    r,
                    summary=summary,
                    findings=[f.model_copy(update={"item_id": sid}) for f in r.findings],
                    files=[moved(f) for f in r.files],
                    clinical_record=clinical,
                    sha256={moved(k): v for k, v in r.sha256.items()},
                    stats={moved(k): v for k, v in r.stats.items()},
                )
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--seed-items", type=int, default=1_000)
    parser.add_argument("--work", type=Path, default=Path(os.environ.get("DQM_BENCH_WORK", "/tmp")))
    parser.add_argument("--steps", default="", help="comma-separated words: only the steps naming one")
    parser.add_argument("--code", type=Path, default=REPO, help="the dqm checkout to import")
    args = parser.parse_args()
    sys.path[:0] = [str(args.code), str(HERE)]
    from bench_scale import profile_file, write_batch

    import dqm.runner as runner
    from dqm.audit import file_digests
    from dqm.lots.compute import lots_result
    from dqm.profile import load_profile
    from dqm.records import ItemRecords
    from dqm.runner import Run, RunOptions, run_batch
    from dqm.syntactic import accuracy

    work = args.work / "dqm-bench-scale"
    batch = work / f"batch-{args.seed_items}"
    batch.mkdir(parents=True, exist_ok=True)
    write_batch(batch, args.seed_items)
    profile = load_profile(profile_file(work))
    seed = run_batch(batch, profile, RunOptions(workers=2, whole_records=False))
    records = repeated(list(seed.outcomes), args.items)
    run = Run(seed.root, profile, seed.discovery, ItemRecords.of(records, whole=False), table=seed.table)
    run.batch_findings = seed.batch_findings
    n = len(run.outcomes)

    def table_rows(run: Run) -> Any:  # the rows' pass alone: no table built or validated
        built, validated = runner.build_table, runner.validate_table
        runner.build_table = lambda *a: None  # type: ignore[assignment]
        runner.validate_table = lambda *a: None  # type: ignore[assignment]
        try:
            return runner.clinical_table(run.outcomes, run.discovery.manifest, run.profile, None)
        finally:
            runner.build_table, runner.validate_table = built, validated

    def bare(run: Run) -> int:
        return sum(1 for _ in run.outcomes)

    def patients(run: Run) -> list[Any]:
        column = getattr(run.outcomes, "clinical_records", None)
        rows = column() if column is not None else [o.clinical_record for o in run.outcomes]
        return [r.get("patient_id") for r in rows]

    steps: dict[str, Callable[[Run], Any]] = {
        "bare pass (one whole record a row)": bare,
        "clinical table rows": table_rows,
        "batch checks: item facts": runner._facts,
        "batch checks: full hashes": runner._hashed,
        "result: patients": patients,
        "result: batch fingerprint": accuracy.fingerprint,
        "result: file digests": file_digests,
        "syntactic result (5 passes)": accuracy.syntactic_result,
        "lots by institution": lambda run: lots_result(run, "institution"),
        "lots by institution, 10 findings waived": lambda run: lots_result(
            run, "institution", waived=run.findings[:10]
        ),
    }
    words = [w for w in args.steps.split(",") if w]
    steps = {name: step for name, step in steps.items() if not words or any(w in name for w in words)}
    times: dict[str, float] = {}
    for name, step in steps.items():
        t0 = time.perf_counter()
        step(run)
        times[name] = round(time.perf_counter() - t0, 3)
        print(f"{name:40s} {times[name]:8.3f} s", flush=True)
    total = round(sum(t for name, t in times.items() if not name.startswith("bare")), 3)
    print(f"{'every pass (without the bare one)':40s} {total:8.3f} s")
    data = HERE / "_data"
    data.mkdir(exist_ok=True)
    (data / f"bench_record_passes-{n}.json").write_text(
        json.dumps({"items": n, "seconds": times, "total": total}, indent=1)
    )


if __name__ == "__main__":
    main()
