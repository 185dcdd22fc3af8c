"""Every command that takes an audit's results.json decides from it: one edited after dqm wrote it
(its content no longer hashes to the digest it states) is refused by each of them, one only
reformatted is not, and one without a digest (written before results schema 1.10) is read with a
warning."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.cli import app

# `audited` is the fixture of test_cache_cli (a small batch and its audit), taken by the tests below
# ruff: noqa: F811
from tests.test_cache_cli import audited  # noqa: F401

runner = CliRunner()
REFUSED = "content digest does not match: edited after it was written?"


def _copy(out: Path, where: Path, edit: bool = False, drop_digest: bool = False) -> Path:
    """The audit's results.json (and its result cache) copied to ``where``, written again with
    other whitespace; ``edit``: a finding's severity lowered there without its digest made again;
    ``drop_digest``: without its digest member."""
    where.mkdir(parents=True)
    shutil.copytree(out / ".dqm-cache", where / ".dqm-cache")
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    if edit:
        error = next(f for f in data["findings"] if f["severity"] == "error")
        error["severity"] = "info"
    if drop_digest:
        del data["digest"]
    path = where / "results.json"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def _commands(batch: Path, results: Path, out: Path) -> dict[str, list[str]]:
    """Each command line that reads ``results`` to decide something."""
    b, r = str(batch), str(results)
    return {
        "sample": ["sample", b, "--out", str(out / "s"), "--results", r],
        "validity": ["validity", b, "--out", str(out / "v"), "--results", r],
        "audit --results": ["audit", b, "--out", str(out / "a"), "--results", r, "--stages", "diversity"],
        "audit --baseline": ["audit", b, "--out", str(out / "b"), "--baseline", r, "-j", "1"],
        "report": ["report", r, "-o", str(out / "r.html")],
        "fixlist": ["fixlist", r, "--out", str(out / "f")],
        "gate": ["gate", r],
        "gate --new-only": ["gate", str(results.parent.parent / "good" / "results.json"), "--new-only", r],
        "diff": ["diff", r, r],
    }


@pytest.fixture(scope="module")
def copies(audited: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("digests")
    out = audited[1]
    return {
        "good": _copy(out, base / "good"),
        "edited": _copy(out, base / "edited", edit=True),
        "unsealed": _copy(out, base / "unsealed", drop_digest=True),
    }


@pytest.mark.parametrize("command", list(_commands(Path("b"), Path("r/x"), Path("o"))))
def test_a_result_edited_after_it_was_written_is_refused_by_every_command(audited, copies, tmp_path, command):
    batch = audited[0]
    results = copies["edited"]
    line = _commands(batch, results, tmp_path)[command]
    got = runner.invoke(app, line)
    said = " ".join(got.output.split())
    assert got.exit_code == 2, said
    assert REFUSED in said and str(results) in said
    assert not list(tmp_path.iterdir())  # nothing written


@pytest.mark.parametrize("command", ["gate", "report", "sample"])
def test_a_result_only_rewritten_is_accepted_and_one_without_a_digest_with_a_warning(
    audited, copies, tmp_path, command
):
    batch = audited[0]
    good = runner.invoke(app, _commands(batch, copies["good"], tmp_path / "g")[command])
    assert good.exit_code in (0, 1), good.output
    assert REFUSED not in good.output and "carries no content digest" not in good.output
    unsealed = runner.invoke(app, _commands(batch, copies["unsealed"], tmp_path / "u")[command])
    assert unsealed.exit_code == good.exit_code, unsealed.output
    assert "carries no content digest" in " ".join(unsealed.output.split())
