"""The delivery loop per lot: sample each lot, ingest its review into the supplier history, audit
with each lot's decision; the next sample follows the switching rules."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from dqm.cli import app
from dqm.semantic.history import LotHistory
from tests.lots.common import audit_args, two_lot_batch

runner = CliRunner()


def verdicts(plan_dir: Path, path: Path, fail: int) -> Path:
    """Every drawn slide judged by one reviewer; the first ``fail`` core slides FAIL."""
    rows = list(csv.DictReader((plan_dir / "review_plan.csv").read_text(encoding="utf-8").splitlines()))
    failing = {r["slide_id"] for r in rows if r["sample"] == "core"}
    failing = set(sorted(failing)[:fail])
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["slide_id", "reviewer", "verdict", "reason"])
        for r in rows:
            bad = r["slide_id"] in failing
            w.writerow([r["slide_id"], "kim", "fail" if bad else "pass", "wrong_class" if bad else ""])
    return path


def sample(batch: Path, out: Path, history: Path, seed: int) -> dict[str, Path]:
    args = ["sample", str(batch), "--out", str(out), "--lot-by", "institution", "--history", str(history)]
    res = runner.invoke(app, [*args, "--seed", str(seed), "--workers", "1"])
    assert res.exit_code == 0, res.output
    plans = {}
    for folder in sorted((out / "lots").iterdir()):
        plan = json.loads((folder / "review_plan.json").read_text())
        plans[plan["lot"]["name"]] = folder
    return plans


def ingest(plan_dir: Path, out: Path, fail: int, *extra: str) -> object:
    v = verdicts(plan_dir, out.parent / f"{out.name}.csv", fail)
    return runner.invoke(
        app, ["review", "ingest", str(v), "--plan", str(plan_dir), "--out", str(out), *extra]
    )


def test_lots_through_sample_review_history_and_audit(tmp_path: Path) -> None:
    batch = two_lot_batch(tmp_path / "batch")
    history = tmp_path / "runs" / "history.sqlite"
    plans = sample(batch, tmp_path / "runs" / "d1" / "sample", history, seed=0)
    assert set(plans) == {"Busan-B", "Seoul-A"}
    seoul = json.loads((plans["Seoul-A"] / "review_plan.json").read_text())
    assert seoul["lot"]["severity"] == "normal" and seoul["lot_size"] == 2 and seoul["acceptance_number"] == 0
    reviews = tmp_path / "runs" / "d1"
    res = ingest(plans["Seoul-A"], reviews / "seoul", 1, "--record")
    assert res.exit_code == 1 and "Seoul-A lot NOT accepted" in res.output, res.output
    res = ingest(plans["Busan-B"], reviews / "busan", 0, "--record")
    assert res.exit_code == 0 and "+2: accepted with Ac 0" in res.output, res.output
    res = ingest(plans["Seoul-A"], reviews / "seoul-again", 1, "--record")
    assert res.exit_code == 2 and "already recorded" in res.output
    res = ingest(plans["Busan-B"], reviews / "no-record", 0)
    assert res.exit_code == 0 and "recorded" not in res.output

    out = tmp_path / "runs" / "d1" / "audit"
    args = audit_args(batch, out, "--history", str(history))
    res = runner.invoke(
        app, [*args, "--lot-review", str(reviews / "seoul"), "--lot-review", str(reviews / "busan")]
    )
    assert res.exit_code == 1, res.output
    lots = {lot["name"]: lot for lot in json.loads((out / "results.json").read_text())["lots"]["lots"]}
    assert lots["Seoul-A"]["decision"] == "reject" and lots["Seoul-A"]["failed"] == ["syntactic", "semantic"]
    assert lots["Seoul-A"]["plan"]["severity"] == "normal" and lots["Seoul-A"]["nonconforming"] == 1
    assert lots["Busan-B"]["decision"] == "accept" and lots["Busan-B"]["passed"]
    res = runner.invoke(
        app, [*args, "--lot-review", str(reviews / "seoul" / "semantic.json"), "--lot-review", str(batch)]
    )
    assert res.exit_code == 2  # the batch folder holds no review

    # the next delivery of Seoul-A is rejected again: 2 of its last lots → tightened
    plans = sample(batch, tmp_path / "runs" / "d2" / "sample", history, seed=1)
    res = ingest(plans["Seoul-A"], tmp_path / "runs" / "d2" / "seoul", 1, "--record")
    assert "normal → tightened" in res.output, res.output
    plans = sample(batch, tmp_path / "runs" / "d3" / "sample", history, seed=2)
    third = json.loads((plans["Seoul-A"] / "review_plan.json").read_text())
    assert third["lot"]["severity"] == "tightened" and third["lot"]["switching_score"] is None
    with LotHistory(history) as h:
        assert h.state("Seoul-A").state == "tightened" and h.state("Busan-B").score == 2


def test_ingest_record_never_writes_the_history_into_the_batch(tmp_path: Path) -> None:
    """``review ingest --record`` opened --history, or the plan's history, with no check: one inside
    the batch, or the plan's path made a link to a file of the batch, had SQLite write its tables
    into the delivery (as audit and sample did before e0d3c3f5). Both are refused (exit 2)."""
    import sqlite3

    batch = two_lot_batch(tmp_path / "batch")
    history = tmp_path / "runs" / "history.sqlite"
    plans = sample(batch, tmp_path / "runs" / "d1" / "sample", history, seed=0)
    res = ingest(plans["Busan-B"], tmp_path / "a", 0, "--record", "--history", str(batch / "h.sqlite"))
    assert res.exit_code == 2 and "--history must be outside the batch" in " ".join(res.output.split())
    assert not (batch / "h.sqlite").exists()
    inside = batch / "notes.sqlite"
    sqlite3.connect(inside).close()
    before = inside.read_bytes()
    history.unlink(missing_ok=True)
    history.symlink_to(inside)  # the plan names this path
    res = ingest(plans["Busan-B"], tmp_path / "b", 0, "--record")
    assert res.exit_code == 2 and "--history must be outside the batch" in " ".join(res.output.split())
    assert inside.read_bytes() == before
