"""``dqm audit`` runs the diversity dimension by default, and ``--baseline`` adds drift."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.cli import app
from dqm.results import QualityResult

runner = CliRunner()


@pytest.fixture(scope="module")
def audited(clean_batch: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("audit") / "first"
    res = runner.invoke(app, ["audit", str(clean_batch), "--out", str(out), "-j", "1"])
    assert res.exit_code in (0, 1, 3), res.output
    assert "diversity:" in res.output
    return out


def test_audit_stores_the_diversity_object(audited: Path) -> None:
    data = json.loads((audited / "results.json").read_text("utf-8"))
    div = data["diversity"]
    assert div["verdict"] in ("pass", "warn", "fail") and div["passed"] == (div["verdict"] != "fail")
    assert div["n_items"] == 14
    for t in div["tests"]:
        assert {
            "name",
            "variables",
            "statistic",
            "p_value",
            "p_adjusted",
            "effect_size",
            "decision",
            "rule",
            "sentence",
        } <= set(t)
    assert {c["name"] for c in div["categorical"]} >= {"class", "institution", "sex", "site", "age_band"}
    age = next(c for c in div["continuous"] if c["name"] == "age")
    assert sum(age["support_counts"]) == age["n"] == 14 and age["quantiles"] and age["histogram"]
    result = QualityResult.load(audited / "results.json")
    assert result.diversity is not None
    assert "diversity" not in result.verdict.missing


def test_audit_numbers_patients_and_stores_no_patient_id(audited: Path, clean_batch: Path) -> None:
    text = (audited / "results.json").read_text("utf-8")
    items = json.loads(text)["items"]
    assert all(isinstance(i["patient"], int) for i in items)
    assert sorted({i["patient"] for i in items}) == list(range(1, len({i["patient"] for i in items}) + 1))
    manifest = (clean_batch / "manifest.csv").read_text("utf-8")
    ids = set(re.findall(r"P\d{6}", manifest))
    assert ids and not any(pid in text for pid in ids)


def test_report_has_the_section_and_respects_the_csp(audited: Path) -> None:
    html = (audited / "report.html").read_text("utf-8")
    assert '<section id="diversity">' in html
    assert html.count('<svg class="chart"') >= 10
    assert not re.search(r"<[^>]+\sstyle=", html), "inline style attributes are forbidden by the CSP"
    assert "Holm" in html and "Tests in words" in html


def test_baseline_results_json_adds_drift(audited: Path, clean_batch: Path, tmp_path: Path) -> None:
    out = tmp_path / "second"
    res = runner.invoke(
        app,
        [
            "audit",
            str(clean_batch),
            "--out",
            str(out),
            "-j",
            "1",
            "--baseline",
            str(audited / "results.json"),
        ],
    )
    assert res.exit_code in (0, 1, 3), res.output
    assert "drift: no drift in" in res.output
    result = QualityResult.load(out / "results.json")
    assert result.diversity is not None and result.diversity.drift is not None
    drift = result.diversity.drift
    assert drift.baseline.source == "results" and drift.baseline.from_summaries
    assert drift.verdict == "pass"
    html = (out / "report.html").read_text("utf-8")
    assert "Drift against the baseline" in html and "baseline</text>" in html


def test_baseline_batch_folder_is_read_not_written(clean_batch: Path, tmp_path: Path) -> None:
    before = sorted((p.relative_to(clean_batch), p.stat().st_mtime_ns) for p in clean_batch.rglob("*"))
    out = tmp_path / "third"
    res = runner.invoke(
        app, ["audit", str(clean_batch), "--out", str(out), "-j", "1", "--baseline", str(clean_batch)]
    )
    assert res.exit_code in (0, 1, 3), res.output
    drift = QualityResult.load(out / "results.json").diversity.drift  # type: ignore[union-attr]
    assert drift is not None and drift.baseline.source == "batch" and not drift.baseline.from_summaries
    assert drift.verdict == "pass"
    assert (
        sorted((p.relative_to(clean_batch), p.stat().st_mtime_ns) for p in clean_batch.rglob("*")) == before
    )


def test_missing_baseline_is_a_usage_error(clean_batch: Path, tmp_path: Path) -> None:
    res = runner.invoke(
        app,
        ["audit", str(clean_batch), "--out", str(tmp_path / "o"), "--baseline", str(tmp_path / "nope.json")],
    )
    assert res.exit_code == 2
    assert "no such baseline" in res.output


def test_report_rerenders_the_section_from_results_json(audited: Path, tmp_path: Path) -> None:
    html = tmp_path / "again.html"
    res = runner.invoke(app, ["report", str(audited / "results.json"), "--output", str(html)])
    assert res.exit_code == 0, res.output
    assert '<section id="diversity">' in html.read_text("utf-8")


def test_importing_results_stays_light() -> None:
    code = "import sys, dqm.results, dqm.diversity; print(sorted(m for m in ('numpy', 'scipy', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_diversity_and_drift_lines_in_korean(audited: Path, clean_batch: Path, tmp_path: Path) -> None:
    res = runner.invoke(
        app,
        [
            "audit",
            str(clean_batch),
            "--out",
            str(tmp_path / "ko"),
            "-j",
            "1",
            "--stages",
            "syntactic,diversity",
            "--baseline",
            str(audited / "results.json"),
            "--lang",
            "ko",
        ],
    )
    assert res.exit_code in (0, 1, 3), res.output
    assert "통계적 다양성: " in res.output and "드리프트: 기준 배치와 비교한 변수" in res.output
    assert "diversity:" not in res.output and "no drift in" not in res.output
