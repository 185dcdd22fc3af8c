"""Fixtures of the validity tests: a seconds-long profile and the checked clean batch."""

from __future__ import annotations

from pathlib import Path

import pytest

from dqm.profile import Profile
from dqm.runner import Run, RunOptions, run_batch
from dqm.validity.data import SlideRecord, select_slides
from dqm.validity.settings import ValidityProfile, load_validity_profile

TINY = Path(__file__).with_name("tiny.yaml")


@pytest.fixture(scope="session")
def tiny() -> ValidityProfile:
    return load_validity_profile(TINY)


@pytest.fixture(scope="session")
def clean_run(clean_batch: Path, profile: Profile) -> Run:
    return run_batch(clean_batch, profile, RunOptions(workers=1))


@pytest.fixture(scope="session")
def clean_records(clean_run: Run, profile: Profile) -> list[SlideRecord]:
    records, excluded = select_slides(clean_run, profile)
    assert not excluded
    return records
