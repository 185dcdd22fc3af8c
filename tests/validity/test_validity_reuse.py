"""``dqm validity --results``: the slides come from an audit's records, not from checking again."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.cli import app
from dqm.validity.models import ValidityResult

TINY = str(Path(__file__).with_name("tiny.yaml"))
runner = CliRunner()


@pytest.fixture(scope="module")
def audit(clean_batch: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("audit")
    got = runner.invoke(
        app, ["audit", str(clean_batch), "--out", str(out), "-j", "1", "--stages", "syntactic"]
    )
    assert got.exit_code in (0, 1), got.output
    return out / "results.json"


def _validity(batch: Path, out: Path, *extra: str) -> tuple[str, int]:
    got = runner.invoke(
        app, ["validity", str(batch), "--out", str(out), "--profile", TINY, "-j", "1", *extra]
    )
    return " ".join(got.output.split()), got.exit_code


def _figures(path: Path) -> dict:
    data = ValidityResult.model_validate_json(path.read_bytes()).model_dump(mode="json")
    data.pop("timing")  # wall times: the rest is bit-reproducible on a CPU
    for point in data["curve"]:
        point.pop("seconds")
    return data


def test_validity_from_an_audit_scores_what_a_fresh_run_scores(clean_batch, audit, tmp_path):
    text, code = _validity(clean_batch, tmp_path / "fresh")
    assert code == 1, text
    text, code = _validity(clean_batch, tmp_path / "reused", "--results", str(audit))
    assert code == 1, text
    assert "14 of 14 items taken from the audit" in text and "checked again" not in text
    assert _figures(tmp_path / "reused" / "validity.json") == _figures(tmp_path / "fresh" / "validity.json")


def test_validity_from_an_audit_without_its_cache_says_every_item_is_checked_again(
    clean_batch, audit, tmp_path
):
    text, code = _validity(
        clean_batch, tmp_path / "v", "--results", str(audit), "--cache", str(tmp_path / "none")
    )
    assert code == 1, text
    assert "14 of 14 items checked again" in text and "does not exist" in text


def test_validity_refuses_an_audit_of_another_batch_or_profile(clean_batch, audit, tmp_path):
    changed = tmp_path / "batch"
    shutil.copytree(clean_batch, changed)
    ann = next((changed / "annotations").glob("*.json"))
    ann.write_bytes(ann.read_bytes() + b" ")
    text, code = _validity(changed, tmp_path / "a", "--results", str(audit))
    assert code == 2 and "does not match the batch" in text
    assert not (tmp_path / "a" / "validity.json").exists()
    profile = tmp_path / "other.yaml"
    source = Path(__file__).parents[2] / "dqm/profiles/dermatopathology.yaml"
    profile.write_text(source.read_text().replace('version: "1.0"', 'version: "1.1"', 1))
    text, code = _validity(
        clean_batch, tmp_path / "b", "--results", str(audit), "--dataset-profile", str(profile)
    )
    assert code == 2 and "was audited with profile dermatopathology" in text
    text, code = _validity(clean_batch, tmp_path / "c", "--cache", str(tmp_path))
    assert code == 2 and "it needs --results" in text
