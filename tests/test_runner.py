"""The runner: an exception outside the checks is a crash of that item, never of the run."""

from __future__ import annotations

import json
import os

import pytest

import dqm.runner
from dqm.runner import RunOptions, run_batch
from tests.helpers import native_doc, tinted_slide, within
from validators.engine import CRASH_CODE


def _batch(root):
    root.mkdir()
    for sid in ("A", "B"):
        (root / f"{sid}.json").write_text(json.dumps(native_doc()))
    return root


def test_a_raising_reader_is_a_crash_of_that_file_and_the_run_goes_on(tmp_path, profile, monkeypatch):
    real = dqm.runner.parse_annotation

    def parse(data, rel, *limits):
        if rel == "A.json":
            raise OverflowError("bug in a reader")
        return real(data, rel, *limits)

    monkeypatch.setattr(dqm.runner, "parse_annotation", parse)
    run = run_batch(_batch(tmp_path / "b"), profile, RunOptions(workers=1, slides=False, clinical=False))
    a, b = run.outcomes
    crashed = [f for f in a.findings if f.code == CRASH_CODE]
    assert len(crashed) == 1 and crashed[0].location.file == "A.json"
    assert "bug in a reader" in crashed[0].message
    assert not a.unreadable  # not evaluated: the reader's bug does not make the file unreadable
    assert not [f for f in b.findings if f.code == CRASH_CODE]


def test_a_raising_item_step_outside_the_checks_is_a_crash_of_that_item(tmp_path, profile, monkeypatch):
    real = dqm.runner.resolve_classes

    def resolve(ann, prof, institution, diagnosis):
        if ann.path == "B.json":
            raise RuntimeError("bug outside the checks")
        return real(ann, prof, institution, diagnosis)

    monkeypatch.setattr(dqm.runner, "resolve_classes", resolve)
    run = run_batch(_batch(tmp_path / "b"), profile, RunOptions(workers=1, slides=False, clinical=False))
    a, b = run.outcomes
    assert [f.code for f in b.findings] == [CRASH_CODE] and b.summary.slide_id == "B"
    assert b.summary.errors == 1
    assert not [f for f in a.findings if f.code == CRASH_CODE]


def test_a_batch_finding_counts_against_the_file_as_the_item_names_it(tmp_path, profile):
    """'./s/a.png' in the manifest is the file 's/a.png': a duplicate-content finding on it must
    not add a sixth file to the syntactic file count."""
    from PIL import Image

    from dqm.syntactic.accuracy import file_universe

    root = tmp_path / "b"
    (root / "s").mkdir(parents=True)
    Image.new("RGB", (40, 30), (230, 170, 200)).save(root / "s" / "a.png")
    for sid in ("A", "B"):
        (root / f"{sid}.json").write_text(json.dumps(native_doc()))
    (root / "manifest.csv").write_text(
        "slide_id,image_path,annotation_path\nA,s/a.png,A.json\nB,./s/a.png,B.json\n"
    )
    run = run_batch(root, profile, RunOptions(workers=1, clinical=False))
    (dup,) = [f for f in run.batch_findings if f.code == "DUPLICATE_SLIDE_CONTENT"]
    assert dup.location.file == "s/a.png"
    assert file_universe(run) == {"manifest.csv", "s/a.png", "A.json", "B.json"}


def test_a_slide_file_every_item_names_is_hashed_whole_once(tmp_path, profile, monkeypatch):
    """Items naming one slide file share its quick print, which full hashes confirm: the file was
    hashed whole once for every item naming it (34,376 reads of one slide for one delivery)."""
    from PIL import Image

    root = tmp_path / "b"
    (root / "s").mkdir(parents=True)
    Image.new("RGB", (40, 30), (230, 170, 200)).save(root / "s" / "a.png")
    Image.new("RGB", (40, 30), (230, 170, 200)).save(root / "s" / "b.png")  # byte-identical
    rows = ["slide_id,image_path,annotation_path"]
    for k in range(12):
        (root / f"S{k}.json").write_text(json.dumps(native_doc()))
        rows.append(f"S{k},{'./' if k % 2 else ''}s/a.png,S{k}.json")
    (root / "B.json").write_text(json.dumps(native_doc()))
    rows.append("B,s/b.png,B.json")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    hashed: list[str] = []
    real = dqm.runner.full_hash

    def counted(path):
        hashed.append(path.name)
        return real(path)

    monkeypatch.setattr(dqm.runner, "full_hash", counted)
    run = run_batch(root, profile, RunOptions(workers=1, clinical=False))
    assert sorted(hashed) == ["a.png", "b.png"]
    dup = [f for f in run.batch_findings if f.code == "DUPLICATE_SLIDE_CONTENT"]
    assert sorted(f.item_id for f in dup) == sorted(["B", *(f"S{k}" for k in range(1, 12))])


def _forty(root):
    root.mkdir()
    ids = [f"S{i:02d}" for i in range(40)]
    for sid in ids:
        (root / f"{sid}.json").write_text(json.dumps(native_doc()))
    return root, ids


def _kill_workers_on(killers, monkeypatch):
    """Items whose check kills the worker process, as a crashing slide decoder does."""
    import faulthandler
    import os
    import signal

    parent = os.getpid()
    real = dqm.runner.check_item

    def check(item, *args):
        if item.slide_id in killers and os.getpid() != parent:
            faulthandler.disable()  # pytest's handler would print the dying worker's stack
            os.kill(os.getpid(), signal.SIGSEGV)
        return real(item, *args)

    monkeypatch.setattr(dqm.runner, "check_item", check)


@pytest.mark.parametrize("killers", [{"S17"}, {"S00", "S05", "S31", "S39"}])
def test_an_item_that_kills_its_worker_process_is_a_crash_of_that_item(
    tmp_path, profile, monkeypatch, killers
):
    """A native library that segfaults on one file ends that item, not the run: the items the
    dead pool owed are checked again, and the one that kills its process is named."""
    root, ids = _forty(tmp_path / "b")
    _kill_workers_on(killers, monkeypatch)
    run = run_batch(root, profile, RunOptions(workers=2, slides=False, clinical=False))
    assert [o.summary.slide_id for o in run.outcomes] == ids  # every item, in order
    by_id = {o.summary.slide_id: o for o in run.outcomes}
    for sid in killers:
        (crash,) = by_id[sid].findings
        assert crash.code == CRASH_CODE and "process checking this item died" in crash.message
        assert crash.location.file == f"{sid}.json"
    others = [f for sid, o in by_id.items() if sid not in killers for f in o.findings]
    assert not [f for f in others if f.code == CRASH_CODE]


def test_a_worker_that_dies_while_items_are_still_being_handed_out_costs_only_its_item(
    tmp_path, profile, monkeypatch
):
    """A pool broken before every batch is submitted makes ``submit`` raise: the batches not
    handed out are owed like the others, not an exception of the run. Forced here by holding
    each later submission until the first batch (whose item kills its process) has ended."""
    import concurrent.futures

    root, ids = _forty(tmp_path / "b")
    _kill_workers_on({"S00"}, monkeypatch)
    real_pool = dqm.runner._pool

    def pool(*args):
        executor = real_pool(*args)
        handed, submit = [], executor.submit

        def held(fn, *args):
            concurrent.futures.wait(handed[:1])  # the first batch has ended (or broken the pool)
            handed.append(submit(fn, *args))
            return handed[-1]

        executor.submit = held
        return executor

    monkeypatch.setattr(dqm.runner, "_pool", pool)
    run = run_batch(root, profile, RunOptions(workers=2, slides=False, clinical=False))
    assert [o.summary.slide_id for o in run.outcomes] == ids
    crashed = [o.summary.slide_id for o in run.outcomes if any(f.code == CRASH_CODE for f in o.findings)]
    assert crashed == ["S00"]


def test_the_item_record_round_trips_through_plain_json_and_pickles_small(tmp_path, profile):
    """The record is the item's one account: parsed lesions (rings exact, NaN included), slide
    facts, findings, summary, file facts; JSON-able with its version, and no parsed document."""
    import dataclasses
    import pickle

    import numpy as np

    from dqm.model import RECORD_VERSION, ItemRecord
    from tests.helpers import square

    root = tmp_path / "b"
    root.mkdir()
    tinted_slide(0, (64, 48)).save(root / "A.png")  # not one flat colour: no SLIDE_ONE_COLOUR in the record
    lesions = [
        {"id": 1, "class": "BCC", "geometry": {"type": "Polygon", "coordinates": [square(4, 4, 20)]}},
        {"id": 2, "class": "lymphoma", "geometry": {"type": "Polygon", "coordinates": [square(30, 9, 9)]}},
    ]
    (root / "A.json").write_text(json.dumps(native_doc(lesions, file="A.png", width=64, height=48)))
    (record,) = run_batch(root, profile, RunOptions(workers=1, clinical=False)).outcomes
    assert isinstance(record, ItemRecord) and record.version == RECORD_VERSION
    ann = record.annotation
    assert ann is not None and ann.readable and ann.format == "native" and (ann.width, ann.height) == (64, 48)
    assert [(o.index, o.pointer, o.raw_class, o.label) for o in ann.lesions] == [
        (0, "/lesions/0", "BCC", "BCC"),
        (1, "/lesions/1", "lymphoma", None),
    ]
    assert (
        record.slide is not None
        and record.slide.opened
        and (record.slide.width, record.slide.height) == (64, 48)
    )
    assert record.summary.unmapped_classes == {"lymphoma": 1} and record.findings
    assert record.annotation_sha256 and record.fingerprint and record.record_source == "A.json"
    assert not hasattr(ann, "document")  # the raw document never travels

    # plain JSON (strict: no NaN literals) and back, exactly; a non-finite vertex survives
    odd = record.annotation.lesions[1].polygons[0][0].copy()
    odd[1] = [np.nan, np.inf]
    bumped = dataclasses.replace(ann.lesions[1], polygons=((odd,),))
    record = dataclasses.replace(
        record, annotation=dataclasses.replace(ann, lesions=(ann.lesions[0], bumped))
    )
    text = json.dumps(record.to_dict(), allow_nan=False)
    back = ItemRecord.from_dict(json.loads(text))
    assert back.to_dict() == record.to_dict() and back.summary == record.summary
    assert back.findings == record.findings and back.slide == record.slide
    ring = back.annotation.lesions[1].polygons[0][0]
    assert np.array_equal(ring, odd, equal_nan=True) and ring.dtype == np.float64
    lesion = back.annotation.lesions[0].lesion()  # re-checkable: the geometry is rebuilt
    assert lesion.is_valid and lesion.area == 400.0

    # it crosses process boundaries as plain data: far smaller than the item's files
    assert len(pickle.dumps(back)) < 4000
    with pytest.raises(ValueError, match="version"):
        ItemRecord.from_dict({**record.to_dict(), "version": RECORD_VERSION + 1})


def test_a_run_that_keeps_lean_records_gives_the_same_result_and_whole_records_on_demand(
    defect_batch, profile
):
    """A large run keeps each record without its parsed annotation and slide facts: the result,
    the thumbnails and every whole record read back (``Run.records``) are those of a run that
    kept them all."""
    from dqm.audit import build_result
    from dqm.thumbnails import with_thumbnails

    runs = {
        whole: run_batch(defect_batch, profile, RunOptions(workers=1, whole_records=whole, clinical=False))
        for whole in (True, False)
    }
    assert runs[True].whole and not runs[False].whole
    assert all(o.annotation is None and o.slide is None for o in runs[False].outcomes)
    assert any(o.annotation is not None for o in runs[True].outcomes)
    again = runs[False].records()
    assert len(again) == len(runs[True].outcomes)
    for k in (0, len(again) // 2, len(again) - 1):
        assert again[k].to_dict() == runs[True].outcomes[k].to_dict()
    results = {}
    for whole, run in runs.items():
        result = build_result(run, ["dqm", "audit"], run_id="r")
        result = with_thumbnails(result, run.records(), defect_batch, profile, count=4)
        results[whole] = result.model_dump(mode="json", exclude={"created"})
    assert results[False] == results[True] and results[True]["thumbnails"]


def test_a_batch_larger_than_the_whole_records_bound_is_kept_lean(tmp_path, profile, monkeypatch):
    monkeypatch.setattr(dqm.runner, "WHOLE_RECORDS_UP_TO", 1)
    for name in ("A", "B"):
        (tmp_path / f"{name}.json").write_text(json.dumps(native_doc([], file=f"{name}.png")))
    assert not run_batch(tmp_path, profile, RunOptions(workers=1, slides=False)).whole
    assert run_batch(tmp_path, profile, RunOptions(workers=1, slides=False, whole_records=True)).whole


def test_the_records_a_run_keeps_are_compact_and_equal_to_the_checked_ones(
    defect_batch, profile, monkeypatch
):
    """The main process keeps each record compacted (its summary's dictionaries and set of fields
    shared between items, its strings the discovery's): equal, field for field, to the record the
    item's check made, and a copy of a summary never changes what the others share."""
    import functools

    import dqm.runner
    from dqm.runner import check_item_safely, configure
    from dqm.slide_io import ProbeOptions

    # the blur sample stops when the artefact measure's 1 s is spent: under a heavy load the two
    # checks of one slide sampled different numbers of tiles (this test is about compaction)
    monkeypatch.setattr(dqm.runner, "ProbeOptions", functools.partial(ProbeOptions, artefacts_budget_s=60.0))

    options = RunOptions(workers=1, clinical=False)
    run = run_batch(defect_batch, profile, options)
    checks = configure(profile)
    fresh = [check_item_safely(item, defect_batch, profile, checks, options) for item in run.discovery.items]
    for kept, made in zip(run.outcomes, fresh, strict=True):
        assert kept.to_dict() == made.to_dict()
        assert (
            kept.summary == made.summary and kept.summary.model_dump_json() == made.summary.model_dump_json()
        )
    summaries = [o.summary for o in run.outcomes]
    fields = {id(s.__pydantic_fields_set__) for s in summaries}
    assert len(fields) < len(summaries) / 4  # shared, not one set per item
    by_classes: dict[str, set[int]] = {}
    for s in summaries:
        by_classes.setdefault(json.dumps(s.lesion_classes, sort_keys=True), set()).add(id(s.lesion_classes))
    assert all(len(ids) == 1 for ids in by_classes.values())
    first = summaries[0]
    before = set(first.model_fields_set)
    numbered = first.model_copy(update={"patient": 7})
    assert (
        numbered.patient == 7 and first.model_fields_set == before and summaries[1].model_fields_set == before
    )


def test_an_audit_above_the_lean_threshold_writes_the_same_outputs(tmp_path, monkeypatch):
    """Above :data:`~dqm.runner.WHOLE_RECORDS_UP_TO` items the run keeps lean, compacted records and
    results.json is written as a stream: results.json, the report and JUnit are those of a run
    below it (the run's id, time and digests aside)."""
    import re

    from typer.testing import CliRunner

    from dqm.cli import app
    from tests.helpers import write_tiny_batch

    batch = tmp_path / "batch"
    write_tiny_batch(batch)
    volatile = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{8}|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[^\"<\s]*|[0-9a-f]{64}")
    outputs = {}
    for bound in (10_000, 1):
        monkeypatch.setattr(dqm.runner, "WHOLE_RECORDS_UP_TO", bound)
        out = tmp_path / f"out-{bound}"
        args = ["audit", str(batch), "--out", str(out), "--no-cache", "--workers", "1", "--thumbnails", "2"]
        res = CliRunner().invoke(app, args)
        assert res.exit_code in (0, 1), res.output
        outputs[bound] = {
            name: volatile.sub("X", (out / name).read_text("utf-8"))
            for name in ("results.json", "report.html", "junit.xml", "summary.md")
        }
    assert outputs[1] == outputs[10_000]
    assert '"findings":[{' in outputs[1]["results.json"]


def test_compacting_never_swaps_a_value_for_an_equal_one_written_otherwise():
    """Dictionaries are shared by their items' types and text too: 2 and 2.0 (or 0.0 and -0.0)
    are equal in Python but not in results.json."""
    from dqm.facts import ItemSummary, compact

    shared: dict = {}
    made = [
        ItemSummary(slide_id="A", lesion_classes={"EC": 2}, lesion_area_px={"EC": 2.0}),
        ItemSummary(slide_id="B", lesion_classes={"EC": 0}, lesion_area_px={"EC": -0.0}),
        ItemSummary(slide_id="C", lesion_classes={"EC": 2}, lesion_area_px={"EC": 0.0}),
    ]
    kept = [compact(s, shared) for s in made]
    assert [k.model_dump_json() for k in kept] == [m.model_dump_json() for m in made]
    assert kept[0].lesion_classes is kept[2].lesion_classes  # equal and written alike: shared


_STUCK_RUN = """
import os, sys, time
from pathlib import Path
import dqm.runner
from dqm.profile import load_profile
from dqm.runner import RunOptions, run_batch

def stuck(item, *args):  # the workers' check: say who runs it, then work on
    with open(sys.argv[2], "a") as fh:
        fh.write(f"{os.getpid()}\\n")
    time.sleep(60)

dqm.runner.check_item_safely = stuck
run_batch(Path(sys.argv[1]), load_profile(), RunOptions(workers=2, slides=False, clinical=False))
"""


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:  # a zombie has ended
        return fh.read().rsplit(")", 1)[1].split()[0] != "Z"


def _two_workers(run, listed) -> set[int]:
    """The process ids the child ``run`` lists in the file ``listed``, once two distinct ones are
    there (at most a minute, or until the child ends)."""
    import time

    workers: set[int] = set()
    deadline = time.monotonic() + 60
    while len(workers) < 2 and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.1)
        workers = {int(p) for p in listed.read_text().split()}
    return workers


def _end(run, workers) -> None:
    """The child and any of its workers still alive, killed (a test's clean-up)."""
    import os
    import signal

    run.kill()
    for pid in workers:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(not __import__("os").path.isdir("/proc"), reason="reads /proc")
def test_workers_end_when_the_audit_is_killed(tmp_path):
    """An audit killed with SIGKILL (the OOM killer, a CI job cancelled) left its pool's worker
    processes asleep for ever, each holding its memory and files."""
    import os
    import signal
    import subprocess
    import sys
    import time

    root, _ = _forty(tmp_path / "b")
    pids = tmp_path / "pids"
    pids.touch()
    run = subprocess.Popen([sys.executable, "-c", _STUCK_RUN, str(root), str(pids)])
    workers: set[int] = set()
    try:
        workers = _two_workers(run, pids)
        assert len(workers) == 2
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in workers if _alive(p)]
    finally:
        _end(run, workers)


_SLOW_RUN = """
import os, sys, time
from pathlib import Path
import dqm.runner
from dqm.profile import load_profile
from dqm.runner import RunOptions, run_batch

real = dqm.runner.check_item_safely

def slow(item, *args):  # the workers' check: say who starts an item, then take a second over it
    with open(sys.argv[2], "a") as fh:
        fh.write(f"{os.getpid()}\\n")
    time.sleep(1)
    return real(item, *args)

dqm.runner.check_item_safely = slow
try:
    run_batch(Path(sys.argv[1]), load_profile(), RunOptions(workers=2, slides=False, clinical=False))
except KeyboardInterrupt:
    sys.exit(130)
"""


@pytest.mark.skipif(not __import__("os").path.isdir("/proc"), reason="reads /proc")
def test_an_interrupted_audit_stops_its_workers_at_once(tmp_path):
    """Ctrl-C or SIGTERM (which the command line turns into the same interrupt) left the pool
    to finish every item already submitted, that is the whole item pass, before the audit ended
    (an interrupted 200-item audit took 8 s to end, a large one hours)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    root, ids = _forty(tmp_path / "b")
    starts = tmp_path / "starts"
    starts.touch()
    run = subprocess.Popen([sys.executable, "-c", _SLOW_RUN, str(root), str(starts)])
    workers: set[int] = set()
    try:
        workers = _two_workers(run, starts)
        assert len(workers) == 2
        os.kill(run.pid, signal.SIGINT)
        assert run.wait(timeout=120) == 130
        time.sleep(1.5)  # an item a worker was still given would have started by now
        assert len(starts.read_text().split()) < len(ids) // 2
        assert not [p for p in workers if _alive(p)]
    finally:
        _end(run, workers)


def test_an_item_that_kills_its_process_is_the_same_crash_on_either_executor(tmp_path, profile, monkeypatch):
    """results.json is the same whichever executor ran the batch: a killing item's crash on Dask
    said ``ItemKilledWorkers: The item's task ended the worker process ... (KilledWorker)`` where
    the local pool says ``WorkerDied: the process checking this item died ...`` (checked above).
    Dask's side is played here by what dask_map gives back for such an item (in this process:
    tests/test_executors.py runs the cluster)."""
    import contextlib

    from dqm.executors import ItemKilledWorkers

    root, _ = _forty(tmp_path / "b")

    def dask_map(client, func, items, shared, **_):  # type: ignore[no-untyped-def]
        for k, item in enumerate(items):
            yield (
                k,
                ItemKilledWorkers("lost (KilledWorker)") if item.slide_id == "S17" else func(item, *shared),
            )

    monkeypatch.setattr(dqm.runner, "dask_client", lambda options: contextlib.nullcontext())
    monkeypatch.setattr(dqm.runner, "dask_map", dask_map)
    dask = run_batch(root, profile, RunOptions(executor="dask", workers=2, slides=False, clinical=False))
    (crash,) = dask.outcomes[17].findings
    assert crash.code == CRASH_CODE and crash.location.file == "S17.json"
    assert str(crash.message).startswith("check crashed: WorkerDied: the process checking this item died")
    local = run_batch(root, profile, RunOptions(workers=1, slides=False, clinical=False))
    assert [o.to_dict() for k, o in enumerate(dask.outcomes) if k != 17] == [
        o.to_dict() for k, o in enumerate(local.outcomes) if k != 17
    ]


HANG_LIMIT_S = 20.0
"""The test profile's item limit: a hanging item is ended within it (the clock counts from the
item's last progress, so a loaded machine's slow items are not ended)."""
HANG_S = 600
"""How long a hanging item sleeps: far past any test's patience."""


def _hang_on(stuck: str, monkeypatch, *, progressing: bool = False) -> None:
    """The item ``stuck``'s work never returns in a worker (a decoder looping on a hostile tile):
    it sleeps well past any test's patience, and its checks come after. ``progressing``: it takes
    12 s instead, saying its progress every half second (a big file hashed on a slow filesystem)."""
    import os
    import time

    from dqm.budget import progress

    parent = os.getpid()
    real = dqm.runner.check_item

    def check(item, *args):
        if item.slide_id == stuck and os.getpid() != parent:
            if not progressing:
                time.sleep(HANG_S)
            for _ in range(24):
                time.sleep(0.5)
                progress()
        return real(item, *args)

    monkeypatch.setattr(dqm.runner, "check_item", check)


def _limited(profile, seconds: float):
    return profile.model_copy(update={"limits": profile.limits.model_copy(update={"item_seconds": seconds})})


@pytest.mark.slow
@pytest.mark.parametrize("stuck", ["S17", "S00", "S39"])
def test_an_item_that_hangs_in_its_worker_is_timed_out_and_the_run_goes_on(
    tmp_path, profile, monkeypatch, stuck
):
    """A step that never returns hung the whole audit (the budget is checked between steps): its
    worker is killed past the item limit, the item is ITEM_TIMED_OUT (naming the limit), the
    other items its chunk held run again, and every other item's outcome is what it is without
    the hang."""
    import time

    root, ids = _forty(tmp_path / "b")
    options = RunOptions(workers=2, slides=False, clinical=False)
    plain = run_batch(root, profile, options)
    _hang_on(stuck, monkeypatch)
    began = time.monotonic()
    with within(300):
        run = run_batch(root, _limited(profile, HANG_LIMIT_S), options)
    assert time.monotonic() - began < 150  # not the 600 s the item sleeps
    assert [o.summary.slide_id for o in run.outcomes] == ids
    k = ids.index(stuck)
    (finding,) = run.outcomes[k].findings
    assert finding.code == "ITEM_TIMED_OUT" and finding.severity == "error"
    assert "limit of 20 s" in finding.message and finding.location.file == f"{stuck}.json"
    assert [o.to_dict() for j, o in enumerate(run.outcomes) if j != k] == [
        o.to_dict() for j, o in enumerate(plain.outcomes) if j != k
    ]


@pytest.mark.slow
def test_an_item_that_hangs_with_one_worker_is_timed_out_and_the_run_goes_on(tmp_path, profile, monkeypatch):
    """``--workers 1`` checked the items in the main process, which nothing can end: a hanging
    decoder hung the run even with limits.item_seconds set. With it set, one worker is a pool of
    one process now, watched as any pool is."""
    import time

    root, ids = _forty(tmp_path / "b")
    options = RunOptions(workers=1, slides=False, clinical=False)
    plain = run_batch(root, profile, options)
    _hang_on("S11", monkeypatch)  # hangs outside the main process only: a run in it never ends
    began = time.monotonic()
    with within(300):
        run = run_batch(root, _limited(profile, 10.0), options)
    assert time.monotonic() - began < 150
    k = ids.index("S11")
    assert [f.code for f in run.outcomes[k].findings] == ["ITEM_TIMED_OUT"]
    assert [o.to_dict() for j, o in enumerate(run.outcomes) if j != k] == [
        o.to_dict() for j, o in enumerate(plain.outcomes) if j != k
    ]


@pytest.mark.slow
def test_a_slow_item_that_makes_progress_and_a_fresh_workers_first_items_are_not_timed_out(
    tmp_path, profile, monkeypatch
):
    """The limit counted an item's age: a fresh worker's first item (its identifier patterns
    compiled, seconds on a loaded machine) and a slow item that keeps reading (a big file on a
    slow filesystem) were ended with no hang at all. It counts from the item's last progress
    now: a run with a short limit and no hanging item ends no item."""
    root, _ = _forty(tmp_path / "b")
    options = RunOptions(workers=2, slides=False, clinical=False)
    plain = run_batch(root, profile, options)
    _hang_on("S05", monkeypatch, progressing=True)  # 12 s, saying its progress every 0.5 s
    with within(300):
        run = run_batch(root, _limited(profile, 5.0), options)
    assert [f.code for o in run.outcomes for f in o.findings if f.code == "ITEM_TIMED_OUT"] == []
    assert [o.to_dict() for o in run.outcomes] == [o.to_dict() for o in plain.outcomes]


def test_a_worker_killed_holding_the_watchs_lock_cannot_stop_the_run(monkeypatch) -> None:
    """The pool's watch locked the shared slots to read them, and a worker killed while holding
    that lock (the watch's own kill, the OOM killer) left the run waiting for ever: the slots
    take no lock now, and a worker starting up waits for the claim's lock a bounded time."""
    import multiprocessing
    import threading

    ctx = multiprocessing.get_context("fork")
    watch = dqm.runner._Watch(2, ctx)
    lock = getattr(watch, "lock", None) or watch.slots.get_lock()

    def die_holding() -> None:
        lock.acquire()
        os._exit(9)

    holder = ctx.Process(target=die_holding)
    holder.start()
    holder.join(30)
    done = threading.Event()

    def poll() -> None:
        watch.stuck(1.0)
        done.set()

    threading.Thread(target=poll, daemon=True).start()
    assert done.wait(10), "the watch blocked on a dead worker's lock"
    monkeypatch.setattr(dqm.runner, "CLAIM_WAIT_S", 0.2, raising=False)
    claimed = threading.Event()
    threading.Thread(target=lambda: (watch.claim(), claimed.set()), daemon=True).start()
    assert claimed.wait(10), "a starting worker waited for ever on a dead worker's lock"
