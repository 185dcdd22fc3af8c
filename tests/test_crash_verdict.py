"""A contained crash is *not evaluated*, never *failed*: an item a check crashed on (or a stage
that crashed) makes the run INCOMPLETE (exit 3) and is named, unless the batch fails on other
grounds (exit 1). Read the same way by the syntactic figures, the verdict, the gate, JUnit, the
report and the summary."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.cli import app
from validators import REGISTRY

runner = CliRunner()
CRASHED_ON = "S00003"


def _crash_on(monkeypatch: pytest.MonkeyPatch, check_id: str, item_id: str) -> None:
    """Make ``check_id`` raise on ``item_id`` only (its other items are checked as usual)."""
    spec = REGISTRY[check_id]
    real = spec.func

    def func(view, params, ctx):  # type: ignore[no-untyped-def]
        """Raises on one item."""
        if view.item_id == item_id:
            raise RuntimeError("a bug in a check")
        return real(view, params, ctx)

    fields = {f: getattr(spec, f) for f in spec.__slots__}
    monkeypatch.setitem(REGISTRY, check_id, spec.__class__(**{**fields, "func": func}))


def _audit(batch: Path, out: Path) -> tuple[int, str, dict]:
    res = runner.invoke(
        app,
        ["audit", str(batch), "--out", str(out), "--stages", "syntactic", "--require", "syntactic", "--no-cache",
         "--thumbnails", "1", "-j", "1"],
    )  # fmt: skip
    return res.exit_code, res.output, json.loads((out / "results.json").read_text())


def test_an_item_whose_only_problem_is_a_crashed_check_is_incomplete_and_named(
    clean_batch: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _crash_on(monkeypatch, "geometry.zero_area", CRASHED_ON)
    out = tmp_path / "out"
    code, output, result = _audit(clean_batch, out)
    assert code == 3, output
    verdict, syn = result["verdict"], result["syntactic"]
    assert verdict["status"] == "incomplete" and verdict["failed"] == []
    assert verdict["not_evaluated"] == [CRASHED_ON] and CRASHED_ON in verdict["summary"]
    # the crash counts against nothing: every file stays accurate, the dimension is unfinished
    assert syn["passed"] and syn["crashed"] == 1 and syn["not_evaluated"] == [CRASHED_ON]
    assert syn["files_valid"] == syn["files_total"]
    assert f"NOT EVALUATED: 1 item(s) a check crashed on: {CRASHED_ON}" in output
    junit = ET.parse(out / "junit.xml").getroot()
    assert junit.get("failures") == "0"
    skipped = [c for c in junit.iter("testcase") if c.find("skipped") is not None]
    assert any("not evaluated (a check crashed)" in (c.find("skipped").get("message") or "") for c in skipped)
    summary = (out / "summary.md").read_text()
    assert "INCOMPLETE" in summary and CRASHED_ON in summary and "a check crashed" in summary
    report = (out / "report.html").read_text()
    assert "Items not evaluated (a check crashed)" in report and CRASHED_ON in report
    gate = runner.invoke(app, ["gate", str(out / "results.json"), "--require", "syntactic"])
    said = " ".join(gate.output.split())  # the console wraps long lines
    assert gate.exit_code == 3 and "pending (not finished): 1 item not evaluated (a check crashed)" in said


def test_validate_exits_3_naming_an_item_a_check_crashed_on(
    clean_batch: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _crash_on(monkeypatch, "geometry.zero_area", CRASHED_ON)
    res = runner.invoke(app, ["validate", str(clean_batch), "-j", "1"])
    assert res.exit_code == 3, res.output
    assert f"not evaluated (a check crashed): {CRASHED_ON}" in res.output


def test_a_crashed_check_beside_a_real_error_fails(
    clean_batch: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = tmp_path / "batch"
    shutil.copytree(clean_batch, batch)
    path = batch / "annotations" / f"{CRASHED_ON}.json"
    doc = json.loads(path.read_text())
    doc["lesions"][0]["class"] = "no such class"  # CLASS_UNKNOWN: an error of its own
    path.write_text(json.dumps(doc))
    _crash_on(monkeypatch, "geometry.zero_area", CRASHED_ON)
    code, output, result = _audit(batch, tmp_path / "out")
    assert code == 1, output
    verdict = result["verdict"]
    assert verdict["status"] == "not_certified" and verdict["failed"] == ["syntactic"]
    assert verdict["not_evaluated"] == [CRASHED_ON]  # still named beside the failure
    assert result["syntactic"]["files_valid"] == result["syntactic"]["files_total"] - 1
    junit = ET.parse(tmp_path / "out" / "junit.xml").getroot()
    failing = [c.get("name") for c in junit.iter("testcase") if c.find("failure") is not None]
    assert any(name.startswith("CLASS_UNKNOWN") for name in failing)
    assert not any(name.startswith("CHECK_CRASHED") for name in failing)


def test_a_crashed_stage_that_is_no_dimension_makes_the_run_incomplete(
    clean_batch: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("a bug in the thumbnails")

    monkeypatch.setattr("dqm.thumbnails.with_thumbnails", broken)
    out = tmp_path / "out"
    code, output, result = _audit(clean_batch, out)
    assert code == 3, output
    assert result["verdict"]["crashed_stages"] == ["thumbnails"] and result["syntactic"]["passed"]
    assert "the thumbnails stage crashed (not evaluated)" in result["verdict"]["summary"]
    junit = ET.parse(out / "junit.xml").getroot()
    (stages,) = [s for s in junit.iter("testsuite") if s.get("name") == "dqm.stages"]
    assert stages.get("skipped") == "1" and junit.get("failures") == "0"


def test_a_crashed_dimension_stage_makes_the_run_incomplete_without_require(
    clean_batch: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gate required, by default, the dimensions the result holds; a dimension whose stage
    crashed holds none, and a crash counted only for stages that are no dimension: a diversity
    stage that raised (a hostile --baseline made it overflow) left the audit at exit 0 while its
    verdict said INCOMPLETE."""

    def broken(*args: object, **kwargs: object) -> None:
        raise OverflowError("cannot convert float infinity to integer")

    monkeypatch.setattr("dqm.diversity.diversity_result", broken)
    out = tmp_path / "out"
    res = runner.invoke(
        app,
        [
            "audit",
            str(clean_batch),
            "--out",
            str(out),
            "--stages",
            "syntactic,diversity",
            "--no-cache",
            "-j",
            "1",
        ],
    )
    result = json.loads((out / "results.json").read_text())
    assert result["verdict"]["status"] == "incomplete" and result["verdict"]["crashed_stages"] == [
        "diversity"
    ]
    assert res.exit_code == 3, res.output
    gate = runner.invoke(app, ["gate", str(out / "results.json")])
    assert gate.exit_code == 3 and "diversity: the stage crashed" in " ".join(gate.output.split())
    # a gate that requires only another dimension is not failed by it
    alone = runner.invoke(app, ["gate", str(out / "results.json"), "--require", "syntactic"])
    assert alone.exit_code == 0, alone.output
