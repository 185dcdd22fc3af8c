"""Fixtures of the semantic tests: copies of the clean batch with an edited manifest, and a review
of one served by a real uvicorn server."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.helpers import free_port, uvicorn_running

ManifestEdit = Callable[[list[dict[str, str]]], None]
SERVE_KEY = b"a test masking key of 32 bytes!!"
Served = tuple[str, Path, dict[str, str]]
ServeReview = Callable[[ManifestEdit, dict[str, list[str]]], Served]


@pytest.fixture(scope="module")
def edited_batch(
    clean_batch: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[ManifestEdit], Path]:
    """A function: edit the rows of a fresh copy of the clean batch's manifest, return the copy."""

    def make(edit: ManifestEdit) -> Path:
        batch = tmp_path_factory.mktemp("edited") / "batch"
        shutil.copytree(clean_batch, batch)
        manifest = batch / "manifest.csv"
        with manifest.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
        edit(rows)
        with manifest.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        return batch

    return make


@pytest.fixture(scope="module")
def sampled_review(
    edited_batch: Callable[[ManifestEdit], Path],
) -> Callable[[ManifestEdit], tuple[Path, Path]]:
    """A function: sample every slide of the clean batch edited by ``edit`` (precision plan,
    margin 1 %) into ``review`` beside the batch copy; it returns the review folder and the batch."""
    from dqm.cli import app as cli_app

    def sample(edit: ManifestEdit) -> tuple[Path, Path]:
        batch = edited_batch(edit)
        review = batch.parent / "review"
        res = CliRunner().invoke(
            cli_app,
            ["sample", str(batch), "--out", str(review), "--plan", "precision", "--margin", "0.01"],
        )
        assert res.exit_code == 0, res.output
        return review, batch

    return sample


@pytest.fixture(scope="module")
def served_review(sampled_review: Callable[[ManifestEdit], tuple[Path, Path]]) -> Iterator[ServeReview]:
    """A function: sample the clean batch edited by ``edit`` (:func:`sampled_review`), add each reviewer of ``reviewers`` (name → extra ``add-reviewer`` options) and serve the
    review on a free port until the module ends. It returns the server's address, the review
    folder and each reviewer's sign-in link."""
    from dqm.cli import app as cli_app
    from dqm.profile import load_profile
    from dqm.semantic.server.commands import build

    runner = CliRunner()
    with ExitStack() as running:

        def serve(edit: ManifestEdit, reviewers: dict[str, list[str]]) -> Served:
            review, batch = sampled_review(edit)
            port = free_port()
            links = {}
            for name, extra in reviewers.items():
                res = runner.invoke(
                    cli_app, ["review", "add-reviewer", str(review), name, "--port", str(port), *extra]
                )
                assert res.exit_code == 0, res.output
                links[name] = res.output.strip()
            running.enter_context(uvicorn_running(build(review, batch, load_profile(), SERVE_KEY), port))
            return f"http://127.0.0.1:{port}", review, links

        yield serve
