"""The result cache and the reuse of an audit on the command line: audit, sample --results."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.cli import app
from dqm.synth import build_batch

runner = CliRunner()


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A small batch and the output folder of its audit (with the default cache)."""
    base = tmp_path_factory.mktemp("cached")
    batch, out = base / "batch", base / "out"
    build_batch(batch, 8, seed=7, defect_rate=0.5, max_size=256)
    got = runner.invoke(app, ["audit", str(batch), "--out", str(out), "-j", "1", "--stages", "syntactic"])
    assert got.exit_code in (0, 1), got.output
    return batch, out


def _result(path: Path) -> dict:
    data = json.loads(path.read_text())
    for key in ("created", "command", "run_id", "digest"):  # the digest covers the others
        data.pop(key)
    return data


def test_a_second_audit_takes_every_item_from_the_cache(audited, tmp_path):
    batch, out = audited
    assert (out / ".dqm-cache" / "records.sqlite").is_file()
    again = tmp_path / "again"
    shutil.copytree(out / ".dqm-cache", again / ".dqm-cache")
    got = runner.invoke(app, ["audit", str(batch), "--out", str(again), "-j", "1", "--stages", "syntactic"])
    assert got.exit_code in (0, 1), got.output
    assert "8 of 8 items unchanged since an earlier run" in got.output
    assert _result(again / "results.json") == _result(out / "results.json")


def test_the_cache_is_never_inside_the_batch(audited, tmp_path):
    batch, _ = audited
    got = runner.invoke(app, ["validate", str(batch), "--cache", str(batch / "cache")])
    assert got.exit_code == 2
    assert "--cache must be outside the batch folder" in " ".join(got.output.split())
    assert not (batch / "cache").exists()


def _sample(batch: Path, out: Path, *extra: str) -> str:
    got = runner.invoke(app, ["sample", str(batch), "--out", str(out), "-j", "1", "--seed", "4", *extra])
    assert got.exit_code == 0, got.output
    return got.output


def test_sample_from_an_audit_draws_what_a_fresh_pass_draws(audited, tmp_path):
    batch, out = audited
    _sample(batch, tmp_path / "fresh")
    _sample(batch, tmp_path / "reused", "--results", str(out / "results.json"))
    no_cache = tmp_path / "no-cache"
    no_cache.mkdir()  # without cached records, the drawn slides are checked alone
    alone = _sample(
        batch, tmp_path / "alone", "--results", str(out / "results.json"), "--cache", str(no_cache)
    )
    assert "drawn slides checked again for the review sheet" in " ".join(alone.split())  # never silently
    for name in ("review_plan.json", "review_plan.csv", "review.html"):
        fresh = _but_the_run(tmp_path / "fresh", name)
        assert _but_the_run(tmp_path / "reused", name) == fresh
        assert _but_the_run(tmp_path / "alone", name) == fresh


def _but_the_run(folder: Path, name: str) -> str:
    """A file of a sample with its run id (new in every run) taken out."""
    run_id = json.loads((folder / "review_plan.json").read_text())["run_id"]
    return (folder / name).read_text().replace(run_id, "RUN")


def test_sample_refuses_an_audit_of_a_batch_that_changed_since(audited, tmp_path):
    batch, out = audited
    changed = tmp_path / "batch"
    shutil.copytree(batch, changed)
    ann = next((changed / "annotations").glob("*.json"))
    ann.write_bytes(ann.read_bytes() + b" ")
    got = runner.invoke(
        app, ["sample", str(changed), "--out", str(tmp_path / "s"), "--results", str(out / "results.json")]
    )
    assert got.exit_code == 2
    assert "does not match the batch: its files changed since that audit" in " ".join(got.output.split())
    assert not (tmp_path / "s" / "review_plan.json").exists()


@pytest.mark.parametrize("edit", ["renamed", "added", "dropped", "swapped", "outside"])
def test_sample_refuses_an_audit_whose_items_are_not_the_batchs(audited, tmp_path, edit):
    """The fingerprint covers the batch's files, not the items results.json lists: a results.json
    that names a slide the batch has not (hand-edited, or sent with a batch of the same files)
    made `dqm sample --results` stop with an internal error (exit 4, KeyError) after writing the
    review plan; one that left an item out planned a sample that could never draw it, and one
    that swapped two slides' image paths wrote a plan under which the review server shows each
    slide's image under the other's name (both exit 0). It is refused now like an audit of
    another batch (exit 2), before anything is written."""
    from dqm.digest import seal_results

    batch, out = audited
    data = json.loads((out / "results.json").read_text())
    data.pop("digest")
    if edit == "renamed":
        data["items"][0]["slide_id"] = "<script>alert(1)</script>"
    elif edit == "added":
        data["items"].append(dict(data["items"][0], slide_id="S999"))
    elif edit == "swapped":  # the review would show one slide's image under the other's name
        first, second = data["items"][0], data["items"][1]
        first["image_path"], second["image_path"] = second["image_path"], first["image_path"]
    elif edit == "outside":
        data["items"][0]["annotation_path"] = "../../etc/passwd"
    else:
        data["items"].pop()
    forged = tmp_path / "audit" / "results.json"
    forged.parent.mkdir()
    forged.write_text(seal_results(json.dumps(data))[0])
    shutil.copytree(out / ".dqm-cache", forged.parent / ".dqm-cache")
    for oversample in ([], ["--oversample-flagged"]):
        got = runner.invoke(
            app, ["sample", str(batch), "--out", str(tmp_path / "s"), "--results", str(forged), *oversample]
        )
        assert got.exit_code == 2, got.output
        assert "its items are not the batch's" in " ".join(got.output.split())
        assert not (tmp_path / "s" / "review_plan.json").exists()
