"""Shared fixtures: synthetic batches (built once per session) and the real third-party files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dqm.profile import Profile, load_profile

ROOT = Path(__file__).resolve().parents[1]
REAL = Path(os.environ.get("DQM_REAL_DATA", ROOT.parent / "shared" / "data" / "real"))


@pytest.fixture(scope="session")
def profile() -> Profile:
    return load_profile()


@pytest.fixture(scope="session")
def real_data() -> Path:
    """``../shared/data/real``: real slides and annotation exports made outside this project."""
    if not (REAL / "SOURCES.md").is_file():
        pytest.skip(f"real test data not found at {REAL} (set DQM_REAL_DATA)")
    return REAL


@pytest.fixture(scope="session")
def defect_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 small slides, most with one injected defect each (every kind at least once)."""
    from dqm.synth import build_batch

    out = tmp_path_factory.mktemp("synth") / "defects"
    build_batch(out, 40, seed=3, defect_rate=0.8, max_size=512)
    return out


@pytest.fixture(scope="session")
def clean_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """14 small clean slides (two of every class)."""
    from dqm.synth import build_batch

    out = tmp_path_factory.mktemp("synth") / "clean"
    build_batch(out, 14, seed=11, defect_rate=0.0, max_size=512)
    return out
