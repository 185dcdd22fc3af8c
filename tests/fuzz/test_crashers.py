"""Every input the fuzz harness ever crashed dqm with, replayed: each must now be findings only.

A new crasher goes in ``tests/fuzz/crashers/`` as the file that crashed, named for what it holds
(its extension is the name dqm saw: ``.json``, ``.xml``, ``.geojson``, ``.annotations``); a
manifest that crashed a run is named ``*.manifest.csv`` and replayed as the manifest of a tiny batch.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz.harness import judge_batch, judge_bytes
from tests.helpers import write_tiny_batch

CRASHERS = sorted((Path(__file__).parent / "crashers").iterdir())


def test_the_crasher_folder_is_not_empty() -> None:
    assert CRASHERS, "tests/fuzz/crashers/ lost its files"


@pytest.mark.parametrize("path", CRASHERS, ids=[p.name for p in CRASHERS])
def test_a_crasher_is_findings_now(path: Path, tmp_path: Path) -> None:
    if path.name.endswith(".manifest.csv"):
        batch = write_tiny_batch(tmp_path / "batch")
        (batch / "manifest.csv").write_bytes(path.read_bytes())
        (tmp_path / "outside").mkdir()
        judge_batch(batch, tmp_path / "outside")
    else:
        judge_bytes(path.read_bytes(), path.name)
