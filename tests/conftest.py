"""Shared fixtures: synthetic batches (built once per session) and the real third-party files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from dqm.profile import Profile, load_profile

ROOT = Path(__file__).resolve().parents[1]
REAL = Path(os.environ.get("DQM_REAL_DATA", ROOT.parent / "shared" / "data" / "real"))

# Hypothesis tests that name no max_examples (the fuzz harness in tests/fuzz) run a few examples
# each in CI; DQM_FUZZ_EXAMPLES=N runs N each, for a local soak run.
settings.register_profile(
    "ci",
    max_examples=20,
    deadline=None,  # one example's time is bounded by tests/fuzz/harness.py's time limit
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile(
    "soak", settings.get_profile("ci"), max_examples=int(os.environ.get("DQM_FUZZ_EXAMPLES") or 1)
)
settings.load_profile("soak" if os.environ.get("DQM_FUZZ_EXAMPLES") else "ci")


@pytest.fixture(autouse=True)
def _english_lines() -> None:
    """Each test starts with the command line's language at its default: a command run in the
    test process with ``--lang ko`` sets it for the process (a real run is one command), and a
    later test's printed lines would be Korean."""
    from dqm.cli.common import LANGUAGE

    LANGUAGE.value = "en"


@pytest.fixture(autouse=True)
def _no_batch_read() -> None:
    """Each test starts with no batch read: a command run in the test process refuses writes into
    its batch for the process (a real run is one command; dqm.output.never_into), and a later test
    may write where an earlier one read."""
    from dqm.output import forget_batches

    forget_batches()


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
