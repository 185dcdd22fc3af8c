"""Structural mutations of real annotation exports and of a native file, through parse + item checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given

from tests.conftest import REAL
from tests.fuzz.harness import judge_bytes
from tests.fuzz.strategies import as_bytes, json_mutations, mutated_file
from tests.helpers import native_doc

EXPORTS = sorted(
    p.relative_to(REAL / "annotations").as_posix()
    for p in (REAL / "annotations").rglob("*")
    if p.suffix in {".xml", ".json", ".geojson", ".annotations"}
) or ["(no real data)"]
"""Every real annotation export (the ``real_data`` fixture skips when there are none)."""


@pytest.mark.parametrize("rel", EXPORTS)
def test_mutated_real_exports_are_findings(real_data: Path, rel: str) -> None:
    path = real_data / "annotations" / rel

    @given(mutated_file(path))
    def run(data: bytes) -> None:
        judge_bytes(data, path.name)

    run()


@given(json_mutations(native_doc()).flatmap(as_bytes))
def test_mutated_native_files_are_findings(data: bytes) -> None:
    judge_bytes(data, "S1.json")
