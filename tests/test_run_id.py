"""One run id: every output of one run carries the same one, and two runs carry different ones
(an audit's results.json, report, JUnit and summary; a sample's plan, CSV and review sheet; the
quality table laid out from a result; the log of an internal error: tests/test_cli_safety.py)."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from typer.testing import CliRunner

from dqm.cli import app

runner = CliRunner()
RUN_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{8}")


def _ids_of_audit(out: Path) -> set[str]:
    result = json.loads((out / "results.json").read_text())
    junit = ET.parse(out / "junit.xml").getroot()
    props = {p.get("name"): p.get("value") for p in junit.iter("property")}
    report = re.search(r'<code id="run-id">([^<]+)</code>', (out / "report.html").read_text())
    summary = re.search(r"run `([^`]+)`", (out / "summary.md").read_text())
    assert report is not None and summary is not None
    return {result["run_id"], props["dqm.run_id"], report.group(1), summary.group(1)}


def test_every_output_of_one_run_carries_its_run_id_and_two_runs_differ(
    clean_batch: Path, tmp_path: Path
) -> None:
    ids = []
    for n in (1, 2):
        out = tmp_path / f"out{n}"
        res = runner.invoke(
            app, ["audit", str(clean_batch), "--out", str(out), "--stages", "syntactic", "-j", "1"]
        )
        assert res.exit_code == 0, res.output
        (one,) = _ids_of_audit(out)
        assert RUN_ID.fullmatch(one)
        ids.append(one)
    assert ids[0] != ids[1]

    # a sample drawn from the audit is a run of its own: its three files agree among themselves
    plan_dir = tmp_path / "plan"
    res = runner.invoke(
        app,
        [
            "sample",
            str(clean_batch),
            "--out",
            str(plan_dir),
            "--results",
            str(tmp_path / "out2" / "results.json"),
        ],
    )
    assert res.exit_code == 0, res.output
    plan = json.loads((plan_dir / "review_plan.json").read_text())
    rows = list(csv.DictReader(io.StringIO((plan_dir / "review_plan.csv").read_text())))
    sheet = re.search(r'<span id="run-id">run ([^<]+)</span>', (plan_dir / "review.html").read_text())
    assert sheet is not None
    assert {plan["run_id"], sheet.group(1)} | {r["run_id"] for r in rows} == {plan["run_id"]}
    assert RUN_ID.fullmatch(plan["run_id"]) and plan["run_id"] not in ids

    # re-rendering a result is not a new run: the report and the quality table carry its id
    from openpyxl import load_workbook

    table = tmp_path / "quality.xlsx"
    report = tmp_path / "again.html"
    res = runner.invoke(app, ["report", str(tmp_path / "out1" / "results.json"), "-o", str(report),
                              "--quality-table", str(table)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert f'<code id="run-id">{ids[0]}</code>' in report.read_text()
    assert load_workbook(table).properties.identifier == ids[0]
