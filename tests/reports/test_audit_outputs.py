"""`dqm audit` writes the four outputs and ends with the gate's decision."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from dqm.cli import app
from dqm.results import QualityResult


def test_audit_writes_every_output_and_exits_by_the_gate(clean_batch: Path, tmp_path: Path):
    runner = CliRunner()
    out = tmp_path / "out"
    res = runner.invoke(
        app, ["audit", str(clean_batch), "--out", str(out), "--require", "syntactic,semantic", "-j", "1"]
    )
    assert res.exit_code == 3, res.output  # semantic required but not evaluated
    assert "MISSING  semantic: not evaluated" in res.output and "PASS     syntactic" in res.output
    for name in ("results.json", "report.html", "junit.xml", "summary.md"):
        assert (out / name).stat().st_size > 0, name
    result = QualityResult.load(out / "results.json")
    assert result.syntactic is not None and result.syntactic.passed
    assert result.thumbnails == []  # a clean batch has no worst slide
    assert len(result.checks) > 5
    res = runner.invoke(app, ["gate", str(out / "results.json")])  # every dimension, as the verdict
    assert res.exit_code == 3 and "MISSING  semantic: not evaluated" in res.output, res.output
    assert runner.invoke(app, ["gate", str(out / "results.json"), "--require", "syntactic"]).exit_code == 0
    assert (
        runner.invoke(
            app,
            ["gate", str(out / "results.json"), "--warn-only", "semantic", "--require", "syntactic,semantic"],
        ).exit_code
        == 0
    )
    re_out = tmp_path / "again.html"
    res = runner.invoke(
        app,
        [
            "report",
            str(out / "results.json"),
            "-o",
            str(re_out),
            "--junit",
            str(tmp_path / "j.xml"),
            "--summary",
            str(tmp_path / "s.md"),
        ],
    )
    assert res.exit_code == 0
    assert re_out.read_text() == (out / "report.html").read_text()  # re-rendered, not re-run
    assert (tmp_path / "j.xml").read_bytes() == (out / "junit.xml").read_bytes()
    assert (tmp_path / "s.md").read_text() == (out / "summary.md").read_text()


def test_audit_rejects_bad_gate_options_before_running(clean_batch: Path, tmp_path: Path):
    res = CliRunner().invoke(
        app, ["audit", str(clean_batch), "--out", str(tmp_path / "o"), "--require", "sintactic"]
    )
    assert res.exit_code == 2 and "unknown dimension" in res.output
    assert not (tmp_path / "o").exists()


def test_pdf_without_chromium_says_how_to_get_one(tmp_path: Path, monkeypatch):
    from reports import pdf
    from tests.reports.conftest import as_core, make_result

    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("DQM_CHROMIUM", raising=False)
    monkeypatch.setattr(pdf, "DEFAULT_PATHS", ())
    results = tmp_path / "results.json"
    as_core(make_result()).dump(results)
    res = CliRunner().invoke(app, ["report", str(results), "-o", str(tmp_path / "r.html"), "--pdf"])
    assert res.exit_code == 2
    text = " ".join(res.output.split())
    assert "no headless Chromium found" in text and "apt-get install chromium" in text
    # docs/report.md: the HTML is still written first, so it can be printed from a browser
    assert "<html" in (tmp_path / "r.html").read_text()
    assert not (tmp_path / "r.pdf").exists()
    res = CliRunner().invoke(
        app, ["report", str(results), "-o", str(tmp_path / "r.html"), "--pdf", "--chromium", "/nope/chrome"]
    )
    assert res.exit_code == 2 and "no executable Chromium at /nope/chrome" in " ".join(res.output.split())


def test_a_typed_chromium_path_cannot_forge_an_output_line(tmp_path: Path) -> None:
    """``--chromium`` is printed in ``--pdf``'s usage error with its line breaks escaped: raw, a
    newline in it printed a line of its own (``PASS  everything verified``; redteam7f3's review)."""
    from tests.reports.conftest import as_core, make_result

    results = tmp_path / "results.json"
    as_core(make_result()).dump(results)
    forged = "/nope\nPASS  everything verified"
    res = CliRunner().invoke(
        app, ["report", str(results), "-o", str(tmp_path / "r.html"), "--pdf", "--chromium", forged]
    )
    assert res.exit_code == 2
    assert not any(line.strip().startswith("PASS") for line in res.output.splitlines()), res.output
    assert "\\x0aPASS" in "".join(res.output.split())
