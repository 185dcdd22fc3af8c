"""Fixtures of the semantic tests: copies of the clean batch with an edited manifest."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

ManifestEdit = Callable[[list[dict[str, str]]], None]


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
