"""The CI recipes and the pre-commit hook in examples/ and .pre-commit-hooks.yaml."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from dqm.cli import app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def dqm_commands(lines: list[str]) -> list[list[str]]:
    """The ``dqm ...`` invocations of shell lines, with variables replaced by placeholders."""
    out = []
    for line in lines:
        for part in re.split(r"\|\||&&|;|\n", line):
            words = part.strip().split()
            if words[:1] == ["dqm"]:
                out.append([re.sub(r"\"?\$\{?[A-Z_]+\}?[^\" ]*\"?", "X", w) for w in words[1:]])
    return out


def check_options(cmd: list[str]) -> None:
    """Every option a recipe passes exists on that dqm command (typer rejects unknown ones)."""
    name, args = cmd[0], cmd[1:]
    assert name in {"audit", "gate", "validate", "report", "diff"}, name
    opts = [a for a in args if a.startswith("--")]
    help_text = CliRunner().invoke(app, [name, "--help"], terminal_width=200).output
    for opt in opts:
        assert opt in help_text, f"dqm {name} has no option {opt}"


def test_github_actions_workflow():
    wf = yaml.safe_load((EXAMPLES / "github-actions" / "dqm-audit.yml").read_text())
    assert "pull_request" in wf[True]  # YAML 1.1 reads the key `on` as True
    steps = wf["jobs"]["audit"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert "actions/checkout@v4" in uses and "actions/upload-artifact@v4" in uses
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"].startswith("always()") and upload["with"]["path"] == "${{ runner.temp }}/dqm-out/"
    runs = [s["run"] for s in steps if "run" in s]
    cmds = dqm_commands(runs)
    assert [c[0] for c in cmds] == ["audit", "gate"]
    assert steps[-1]["run"].startswith("dqm gate")  # the gate decides the job, last
    assert any("GITHUB_STEP_SUMMARY" in r and "summary.md" in r for r in runs)
    for c in cmds:
        check_options(c)


def test_gitlab_ci_job():
    job = yaml.safe_load((EXAMPLES / "gitlab-ci" / "dqm-audit.gitlab-ci.yml").read_text())["dqm-audit"]
    assert job["rules"][0]["if"] == '$CI_PIPELINE_SOURCE == "merge_request_event"'
    art = job["artifacts"]
    assert art["when"] == "always" and art["reports"]["junit"] == "dqm-out/junit.xml"
    assert "dqm-out/" in art["paths"] and art["expose_as"]
    cmds = dqm_commands(job["script"])
    assert [c[0] for c in cmds] == ["audit", "gate"] and job["script"][-1].startswith("dqm gate")
    for c in cmds:
        check_options(c)


def test_pre_commit_hook_definitions():
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"dqm-validate", "dqm-validate-system"}
    for h in hooks.values():
        assert h["entry"] == "dqm validate" and h["pass_filenames"] is True
        files, exclude = re.compile(h["files"]), re.compile(h["exclude"])
        for name in ("annotations/S1.json", "qupath/a.geojson", "asap/x.xml"):
            assert files.search(name) and not exclude.search(name)
        for name in ("slides/S1.svs", "manifest.csv", "README.md"):
            assert not files.search(name)
        assert exclude.search("web/package.json")
    config = yaml.safe_load((EXAMPLES / "pre-commit" / ".pre-commit-config.yaml").read_text())
    (repo,) = config["repos"]
    assert [h["id"] for h in repo["hooks"]] == ["dqm-validate-system"]


@pytest.mark.slow
def test_pre_commit_runs_dqm_validate_on_the_changed_files_only(
    tmp_path: Path, clean_batch: Path, defect_batch: Path
):
    """End to end: pre-commit installs the hook from this repository and runs it on a commit."""
    pre_commit = Path(sys.executable).with_name("pre-commit")
    if not (ROOT / ".git").exists() or not pre_commit.exists() or shutil.which("git") is None:
        pytest.skip("needs git, pre-commit and this repository as a git checkout")
    repo = tmp_path / "annotations-repo"
    (repo / "annotations").mkdir(parents=True)
    good = next((clean_batch / "annotations").glob("*.json"))
    shutil.copy(good, repo / "annotations" / "good.json")
    bad_src = defect_batch / "annotations"
    bad = next(p for p in sorted(bad_src.glob("*.json")) if "SELF_INTERSECTION" in _validate(p))
    shutil.copy(bad, repo / "annotations" / "bad.json")
    (repo / "notes.txt").write_text("not an annotation")
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "PRE_COMMIT_HOME": str(tmp_path / "pc"),
    }
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "."], cwd=repo, check=True)

    def run(*files: str) -> subprocess.CompletedProcess:
        cmd = [str(pre_commit), "try-repo", str(ROOT), "dqm-validate-system", "--files", *files]
        return subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=300)

    ok = run("annotations/good.json", "notes.txt")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Passed" in ok.stdout
    failed = run("annotations/good.json", "annotations/bad.json")
    assert failed.returncode == 1
    assert "annotations/bad.json" in failed.stdout and "SELF_INTERSECTION" in failed.stdout
    assert "good.json" not in failed.stdout.split("- exit code: 1", 1)[1].replace("2 files", "")


def _validate(path: Path) -> str:
    res = CliRunner().invoke(app, ["validate", str(path)])
    return res.output
