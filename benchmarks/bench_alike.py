"""Everything alike, everything at once: the batch-scope steps on a delivery where every item is the same.

Each case builds, in memory, what the step sees for ``--items`` items that are all alike in one
way, and times the step alone (no batch is checked, except a small seed batch of
:mod:`bench_scale` for the cases that need a run's records):

* ``same_slide_id``: one slide_id on every manifest row (``file.duplicate_slide_id``);
* ``unmapped_class``: one unmapped class name in every annotation file (``format.unmapped_classes``);
* ``one_slide_file``: every item names one slide file of 32 MiB (the batch checks' full hashes);
* ``one_slide_hashed``: the same file hashed whole by each item's work, as ``--full-hashes`` and
  ``--certify`` do (``runner._whole_hashes``); use a smaller ``--items`` for a checkout that
  hashes it once an item (32 MiB each);
* ``own_stratum``: every item its own institution, the default review plan (``dqm sample``'s
  ``build_plan``) and its review's figures per stratum (``stratum_results``);
* ``waived_lots``: 500 institutions, three findings an item, every finding waived, lots by
  institution (``lots_result``);
* ``one_item_waivers``: 1,000 waivers naming one slide each, one code on every slide
  (``with_waivers``' matching).

    python benchmarks/bench_alike.py [--items 34376] [--cases same_slide_id,...] [--code OTHER_CHECKOUT]

``--code`` imports dqm from another checkout (the same cases before and after a change). Prints
seconds per case (wall, and this process's CPU).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = Path(os.environ.get("DQM_BENCH_WORK", "/tmp")) / "dqm-bench-alike"


def _batch_check(check_id: str, items: list[Any], manifest: str | None) -> Callable[[], Any]:
    from dqm.profile import load_profile
    from validators import REGISTRY
    from validators.context import BatchView
    from validators.engine import configure
    from validators.registry import CheckContext

    profile = load_profile(None)
    spec = REGISTRY[check_id]
    cfg = {c.id: c for c in configure(profile)}[check_id]
    ctx = CheckContext(spec, "batch", cfg.severities, manifest)
    return lambda: spec.func(BatchView(profile, items, manifest), cfg.params, ctx)


def same_slide_id(n: int) -> Callable[[], Any]:
    from validators.context import ItemFacts

    items = [ItemFacts("S1", k, f"s/{k}.svs", f"a/{k}.json") for k in range(1, n + 1)]
    return _batch_check("file.duplicate_slide_id", items, "manifest.csv")


def unmapped_class(n: int) -> Callable[[], Any]:
    from validators.context import ItemFacts

    items = [ItemFacts(f"S{k}", k, None, f"a/{k}.json", unmapped_classes={"Tumour": 2}) for k in range(n)]
    return _batch_check("format.unmapped_classes", items, "manifest.csv")


def _seed_run(n: int) -> Any:
    """A run of ``n`` records: a seed batch's records over and over under new ids and paths."""
    from bench_scale import profile_file, write_batch

    from dqm.profile import load_profile
    from dqm.records import ItemRecords
    from dqm.runner import Run, RunOptions, run_batch

    batch = WORK / "batch-200"
    batch.mkdir(parents=True, exist_ok=True)
    write_batch(batch, 200)
    seed = run_batch(batch, load_profile(profile_file(WORK)), RunOptions(workers=1, whole_records=False))
    records = list(seed.outcomes)
    out = []
    for k in range(n):
        r = records[k % len(records)]
        sid = f"{r.summary.slide_id}-{k}"
        rel = f"c{k}/{r.summary.annotation_path}"
        findings = [f.model_copy(update={"item_id": sid}) for f in r.findings]
        summary = r.summary.model_copy(update={"slide_id": sid, "annotation_path": rel})
        out.append(
            dataclasses.replace(r, summary=summary, findings=findings, files=[rel], sha256={}, stats={})
        )
    return Run(seed.root, seed.profile, seed.discovery, ItemRecords.of(out, whole=False), table=None)


def one_slide_file(n: int) -> Callable[[], Any]:
    from dqm.records import ItemRecords
    from dqm.runner import _facts

    run = _seed_run(n)
    big = run.root / "one-slide.bin"
    if not big.is_file() or big.stat().st_size != 32 << 20:
        big.write_bytes(os.urandom(32 << 20))
    records = [
        dataclasses.replace(
            r, fingerprint="q" * 64, summary=r.summary.model_copy(update={"image_path": big.name})
        )
        for r in run.outcomes
    ]
    run = dataclasses.replace(run, outcomes=ItemRecords.of(records, whole=False))
    return lambda: _facts(run)


def one_slide_hashed(n: int) -> Callable[[], Any]:
    from dqm.runner import _whole_hashes

    WORK.mkdir(parents=True, exist_ok=True)
    big = WORK / "one-slide.bin"
    if not big.is_file() or big.stat().st_size != 32 << 20:
        big.write_bytes(os.urandom(32 << 20))
        time.sleep(0.1)  # older than a racy file's times: the first item's digest is kept

    def step() -> Any:
        hashes = [_whole_hashes(WORK, [big.name], {}, {}) for _ in range(n)]
        assert len({h[big.name] for h in hashes}) == 1
        return hashes

    return step


def own_stratum(n: int) -> Callable[[], Any]:
    from dqm.facts import ItemSummary
    from dqm.semantic.estimate import stratum_results
    from dqm.semantic.models import PlanBatch
    from dqm.semantic.planfile import PlanOptions, build_plan

    items = [ItemSummary(slide_id=f"S{k}", diagnosis="BCC", institution=f"H{k}") for k in range(n)]
    batch = PlanBatch(path="/b", fingerprint="f" * 64, n_items=n, profile="p", profile_sha256="0")

    def step() -> Any:
        plan = build_plan(items, batch, PlanOptions())
        final = {s.slide_id: "fail" if k % 7 == 0 else "pass" for k, s in enumerate(plan.sample)}
        return stratum_results(plan, final, "wilson", 0.95)

    return step


def waived_lots(n: int) -> Callable[[], Any]:
    from dqm.lots.compute import lots_result
    from dqm.records import ItemRecords

    run = _seed_run(n)
    flawed = next(r for r in run.outcomes if r.findings)
    records = []
    for k, r in enumerate(run.outcomes):
        sid, lot = r.summary.slide_id, f"H{k % 500}"
        records.append(
            dataclasses.replace(
                r,
                summary=r.summary.model_copy(update={"institution": lot}),
                clinical_record={**r.clinical_record, "institution": lot},
                findings=[f.model_copy(update={"item_id": sid}) for f in flawed.findings],
            )
        )
    run = dataclasses.replace(run, outcomes=ItemRecords.of(records, whole=False))
    return lambda: lots_result(run, "institution", waived=run.findings)


def one_item_waivers(n: int) -> Callable[[], Any]:
    from dqm.delivery import Waiver
    from dqm.findings import Aspect, Finding, Location, Severity
    from dqm.profile import load_profile
    from dqm.results import BatchInfo, ProfileInfo, QualityResult, Verdict
    from dqm.waivers import with_waivers

    findings = [
        Finding(
            item_id=f"S{k}",
            check="slide.resolution",
            code="MPP_MISSING",
            severity=Severity.ERROR,
            aspect=Aspect.FORMAT,
            message="no resolution",
            location=Location(file=f"s/{k}.svs"),
        )
        for k in range(n)
    ]
    profile = load_profile(None)
    result = QualityResult(
        dqm_version="0",
        created="2026-01-01T00:00:00+00:00",
        command=["dqm"],
        batch=BatchInfo(path="/b", fingerprint="f" * 64, n_items=n, n_slide_files=n, n_annotation_files=0),
        profile=ProfileInfo(name=profile.name, version=profile.version, sha256=profile.sha256),
        items=[],
        findings=findings,
        verdict=Verdict(status="incomplete"),
    )
    waivers = [
        Waiver(code="MPP_MISSING", item=f"S{k}", reason="r", approved_by="QA", expires=dt.date(2099, 1, 1))
        for k in range(min(n, 1_000))
    ]
    return lambda: with_waivers(result, waivers, "waivers.yaml")


CASES: dict[str, Callable[[int], Callable[[], Any]]] = {
    "same_slide_id": same_slide_id,
    "unmapped_class": unmapped_class,
    "one_slide_file": one_slide_file,
    "one_slide_hashed": one_slide_hashed,
    "own_stratum": own_stratum,
    "waived_lots": waived_lots,
    "one_item_waivers": one_item_waivers,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=34_376)
    parser.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    parser.add_argument("--code", type=Path, default=REPO, help="the dqm checkout to import")
    args = parser.parse_args()
    sys.path[:0] = [str(args.code), str(HERE)]
    names = [c for c in args.cases.split(",") if c] or list(CASES)
    for name in names:
        step = CASES[name](args.items)
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(f"{name:18s} {args.items:9,d} items {wall:9.2f} s ({cpu:.2f} s CPU)", flush=True)


if __name__ == "__main__":
    main()
