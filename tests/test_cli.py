"""The command line: exit codes, outputs, and the batch is never written to."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.cli import app
from dqm.results import QualityResult
from tests.helpers import without_scale_note, write_tiny_batch

runner = CliRunner()


def tree_hash(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        st = p.stat()
        h.update(f"{p.relative_to(root)}:{st.st_mtime_ns}:{st.st_size}".encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def test_audit_writes_results_and_report_and_exits_1_on_failure(tmp_path):
    batch = write_tiny_batch(tmp_path / "batch")
    before = tree_hash(batch)
    res = runner.invoke(app, ["audit", str(batch), "--out", str(tmp_path / "out")])
    assert res.exit_code == 1, res.output
    assert tree_hash(batch) == before, "the batch folder must never be written to"
    result = QualityResult.load(tmp_path / "out" / "results.json")
    assert result.syntactic.files_valid == 4 and result.verdict.status == "not_certified"
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Content-Security-Policy" in html and "CLINICAL_OUT_OF_RANGE" in html


def test_audit_of_a_clean_batch_exits_0(clean_batch, tmp_path):
    before = tree_hash(clean_batch)
    res = runner.invoke(app, ["audit", str(clean_batch), "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert tree_hash(clean_batch) == before
    result = QualityResult.load(tmp_path / "out" / "results.json")
    assert result.syntactic.passed and without_scale_note(result.findings) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["audit", "/no/such/folder"], "no such folder"),
        (["audit", "{batch}", "--profile", "{bad_profile}"], "invalid profile"),
        (["audit", "{batch}", "--out", "{batch}/out"], "outside the batch"),
        (["validate", "/no/such/file.json"], "not a file"),
        (["validate", "{batch}", "--json", "{batch}/findings.json"], "outside the batch"),
        (["report", "{bad_profile}"], "not JSON"),
        (["gate", "{bad_profile}"], "not JSON"),
        (["schema", "nope"], "unknown schema"),
    ],
)
def test_usage_errors_exit_2(tmp_path, args, message):
    batch = write_tiny_batch(tmp_path / "batch")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nclasses: []\nclinical: {}\n")
    args = [a.format(batch=batch, bad_profile=bad) for a in args]
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    assert message in " ".join(res.output.split())
    assert not (batch / "findings.json").exists()


def test_report_rerenders_without_rerunning(tmp_path):
    batch = write_tiny_batch(tmp_path / "batch")
    runner.invoke(app, ["audit", str(batch), "--out", str(tmp_path / "out")])
    res = runner.invoke(
        app, ["report", str(tmp_path / "out" / "results.json"), "-o", str(tmp_path / "again.html")]
    )
    assert res.exit_code == 0
    assert "UNKNOWN_KEY" in (tmp_path / "again.html").read_text()
    inside = runner.invoke(
        app, ["report", str(tmp_path / "out" / "results.json"), "-o", str(batch / "report.html")]
    )
    assert inside.exit_code == 2 and "outside the batch folder" in inside.output
    assert not (batch / "report.html").exists()


def test_validate_files_for_pre_commit(tmp_path):
    batch = write_tiny_batch(tmp_path / "batch")
    good, bad = batch / "annotations" / "S1.json", batch / "annotations" / "S3.json"
    assert runner.invoke(app, ["validate", str(good)]).exit_code == 0
    res = runner.invoke(app, ["validate", str(good), str(bad), "--json", str(tmp_path / "f.json")])
    assert res.exit_code == 1 and "UNKNOWN_KEY" in res.output
    (finding,) = json.loads((tmp_path / "f.json").read_text())
    assert (
        finding["location"]["file"] == str(bad) and finding["location"]["pointer"] == "/lesions/0/#1"
    )  # colour: no format's key


def test_validate_batch_annotations_only(tmp_path):
    batch = write_tiny_batch(tmp_path / "batch")
    res = runner.invoke(app, ["validate", str(batch), "--annotations-only"])
    assert res.exit_code == 1
    assert "INVALID_JSON" in res.output and "MPP_MISSING" not in res.output


def test_checks_lists_every_registered_check():
    from validators import REGISTRY

    res = runner.invoke(app, ["checks", "--plain"])
    assert res.exit_code == 0
    listed = {line.split("\t")[0]: line.split("\t") for line in res.output.splitlines()}
    assert set(listed) == set(REGISTRY)
    assert all(len(fields) == 6 and fields[5] for fields in listed.values())


@pytest.mark.parametrize(
    ("which", "doc"), [("native", "native-annotation"), ("results", "results"), ("profile", "profile")]
)
def test_published_schemas_match_the_models(which, doc):
    from dqm.schemas import SCHEMAS

    published = json.loads((Path(__file__).resolve().parents[1] / "docs" / f"{doc}.schema.json").read_text())
    assert published == SCHEMAS[which](), f"regenerate docs/{doc}.schema.json with `dqm schema {which}`"


def test_dqm_help_runs_as_a_script():
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    out = subprocess.run([sys.executable, "-m", "dqm", "--help"], capture_output=True, text=True, env=env)
    assert out.returncode == 0 and "audit" in out.stdout


def test_validate_prints_file_text_verbatim_not_as_markup(tmp_path):
    """Messages quote file content: a class named '[/bold]' or '[x, y]' must neither crash the
    printer (rich MarkupError) nor vanish from the message."""
    bad = tmp_path / "a.json"
    bad.write_text('{"lesions": [{"class": "[/bold]", "geometry": 5}]}')
    res = runner.invoke(app, ["validate", str(bad)])
    assert res.exit_code == 1, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert "[/bold]" in res.output
    qp = tmp_path / "b.geojson"
    qp.write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
        '"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,"x"],[1,1]]]}}]}'
    )
    res = runner.invoke(app, ["validate", str(qp)])
    assert "BAD_VERTEX" in res.output and "[x, y]" in res.output, res.output


def test_validate_prints_the_worst_findings_first_and_counts_the_rest(tmp_path):
    batch = write_tiny_batch(tmp_path / "batch")
    full = runner.invoke(app, ["validate", str(batch), "--annotations-only", "--limit", "1000"])
    shown = [line for line in full.output.splitlines() if ": error " in line or ": warning " in line]
    assert len(shown) >= 2 and ": error " in shown[0], full.output
    res = runner.invoke(app, ["validate", str(batch), "--annotations-only", "--limit", "1"])
    assert res.exit_code == 1
    lines = res.output.splitlines()
    assert lines[0] == shown[0]
    assert lines[1] == f"… {len(shown) - 1} more (see results.json or raise --limit)"


def test_an_output_option_may_name_a_folder_that_does_not_exist_yet(tmp_path):
    from dqm.schemas import SCHEMAS

    target = tmp_path / "new" / "deeper" / "native.schema.json"
    res = runner.invoke(app, ["schema", "native", "-o", str(target)])
    assert res.exit_code == 0, res.output
    assert json.loads(target.read_text()) == SCHEMAS["native"]()


def test_help_lists_the_commands_by_family_as_before():
    import typer.main

    group = typer.main.get_command(app)
    assert list(group.commands) == [  # type: ignore[attr-defined]
        "version",
        "synth",
        "validate",
        "audit",
        "validity",
        "report",
        "gate",
        "diff",
        "fixlist",
        "checks",
        "convert",
        "schema",
        "sample",
        "keygen",
        "sign",
        "verify",
        "review",
        "lots",
    ]


def forged_line(output: str) -> bool:
    """Whether a line of ``output`` starts with the forged ``error: forged`` by a raw line break: the
    console may wrap a long path right after its escaped ``\\x0a`` (CI's longer temporary paths did),
    which starts a line there too, and is no forged line."""
    lines = output.splitlines()
    return any(
        line.startswith("error: forged") and (i == 0 or not lines[i - 1].endswith("\\x0a"))
        for i, line in enumerate(lines)
    )


def test_a_newline_in_a_path_the_user_gives_is_printed_escaped(tmp_path: Path) -> None:
    """A path the user typed was printed with its line breaks raw: "no such folder: /x" then a line
    of its own ("error: forged") that dqm never wrote. Such a path is escaped as a batch's names are
    (dqm.output.visible, line breaks too), in usage errors, in lines naming outputs and in the line
    of a refused write."""
    from dqm.output import WriteRefused, refused_write_line

    forged = "\nerror: forged\r\x1b[2J"
    res = runner.invoke(app, ["audit", str(tmp_path / f"no{forged}"), "--out", str(tmp_path / "out")])
    assert res.exit_code == 2, res.output
    assert "no such folder" in res.output and "\\x0aerror:forged\\x0d\\x1b[2J" in "".join(res.output.split())
    assert not forged_line(res.output), res.output
    res = runner.invoke(app, ["convert", str(tmp_path / f"a{forged}.json"), "--out", str(tmp_path / "c")])
    assert res.exit_code == 2, res.output
    assert "not a file" in res.output and "\\x0aerror:forged" in "".join(res.output.split())
    assert not forged_line(res.output), res.output
    line = refused_write_line(WriteRefused(28, "No space left on device", str(tmp_path / f"r{forged}.json")))
    assert "\n" not in line and "\\x0aerror: forged" in line, line
