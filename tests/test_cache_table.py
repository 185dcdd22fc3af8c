"""The clinical table's expectations in the result cache: a run whose table did not change does not
import great_expectations again, and finds what a fresh run finds (issue 13 §2)."""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import dqm.runner
from dqm.cache import DB_NAME, RecordCache, context_key
from dqm.clinical_table import TableFailure
from dqm.identifiers import Masker
from dqm.profile import Profile
from dqm.runner import RunOptions, run_batch
from dqm.synth import build_batch

OPTIONS = RunOptions(workers=1)
RRN = "900101-1234567"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    """Six slides whose manifest breaks two expectations: an age that is no number, one out of range."""
    out = tmp_path / "batch"
    build_batch(out, 6, seed=5, defect_rate=0.0, max_size=256)
    manifest = out / "manifest.csv"
    lines = manifest.read_text().splitlines()
    header = lines[0].split(",")
    age = header.index("age")
    for row, value in ((1, "forty"), (2, "999")):
        cells = lines[row].split(",")
        cells[age] = value
        lines[row] = ",".join(cells)
    manifest.write_text("\n".join(lines) + "\n")
    return out


@pytest.fixture
def validated(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times the runner ran the expectations."""
    calls: list[int] = []
    real = dqm.runner.validate_table

    def spy(*args, **kw):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(dqm.runner, "validate_table", spy)
    return calls


def audit(root: Path, profile: Profile, folder: Path, mask: Masker | None = None) -> dqm.runner.Run:
    with RecordCache(folder, root, context_key(profile.sha256, OPTIONS), mask=mask) as cache:
        return run_batch(root, profile, OPTIONS, cache=cache)


def test_an_unchanged_table_is_not_validated_again(batch, profile, tmp_path, validated):
    first = audit(batch, profile, tmp_path / "cache")
    assert {f.code for f in first.table.failures} >= {"CLINICAL_WRONG_TYPE", "CLINICAL_OUT_OF_RANGE"}
    second = audit(batch, profile, tmp_path / "cache")
    assert len(validated) == 1
    assert second.table.failures == first.table.failures and second.table.error == first.table.error
    assert second.batch_findings == first.batch_findings  # each with its msgid and parameters
    for lang in ("en", "ko"):
        assert [f.text(lang) for f in second.batch_findings] == [f.text(lang) for f in first.batch_findings]


def test_a_changed_table_is_validated_again(batch, profile, tmp_path, validated):
    audit(batch, profile, tmp_path / "cache")
    manifest = batch / "manifest.csv"
    manifest.write_text(manifest.read_text().replace(",forty,", ",41,"))
    again = audit(batch, profile, tmp_path / "cache")
    assert len(validated) == 2
    assert "CLINICAL_WRONG_TYPE" not in {f.code for f in again.table.failures}
    fresh = run_batch(batch, profile, OPTIONS)
    assert again.table.failures == fresh.table.failures


def test_a_table_whose_findings_show_an_identifier_is_not_cached(batch, profile, tmp_path, validated):
    manifest = batch / "manifest.csv"
    manifest.write_text(manifest.read_text().replace(",forty,", f",{RRN},"))
    mask = Masker(profile.deid, b"a test key of at least 16 characters")
    first = audit(batch, profile, tmp_path / "cache", mask)
    assert RRN in [v for f in first.table.failures for v in f.values]
    second = audit(batch, profile, tmp_path / "cache", mask)
    assert len(validated) == 2  # the finding quotes the value: it is not kept in the cache
    assert second.table.failures == first.table.failures
    stored = b"".join(p.read_bytes() for p in (tmp_path / "cache").iterdir())
    assert RRN.encode() not in stored


def test_identifying_values_are_not_stored(profile, tmp_path):
    failure = TableFailure("GX_EXPECTATION_FAILED", "patient_id", "a pattern", (0, 2), ("P1", "P3"), "x")
    age = TableFailure("CLINICAL_WRONG_TYPE", "age", "an integer", (1,), ("forty",), "y")
    with RecordCache(tmp_path / "cache", tmp_path, "context") as cache:
        cache.store_table("k", [failure, age], None)
        got = cache.table_outcome("k")
    assert got is not None
    failures, error = got
    assert failures == [dataclasses.replace(failure, values=(None, None)), age] and error is None


def test_a_table_outcome_nested_past_the_parsers_recursion_is_not_served(tmp_path):
    """A stored table outcome of 100,000 nested arrays raised RecursionError out of the lookup."""
    with RecordCache(tmp_path / "cache", tmp_path, "context") as cache:
        cache.store_table("k", [], None)
    with sqlite3.connect(tmp_path / "cache" / DB_NAME) as db:
        db.execute("UPDATE tables SET outcome = ?", ("[" * 100_000,))
    with RecordCache(tmp_path / "cache", tmp_path, "context", warn=lambda _: None) as cache:
        assert cache.table_outcome("k") is None


def test_a_cached_audit_does_not_import_great_expectations(batch, profile, tmp_path):
    audit(batch, profile, tmp_path / "cache")
    script = (
        "import sys, json\n"
        "from pathlib import Path\n"
        "from dqm.cache import RecordCache, context_key\n"
        "from dqm.profile import load_profile\n"
        "from dqm.runner import RunOptions, run_batch\n"
        "p, o = load_profile(), RunOptions(workers=1)\n"
        "with RecordCache(Path(sys.argv[2]), Path(sys.argv[1]), context_key(p.sha256, o)) as c:\n"
        "    run = run_batch(Path(sys.argv[1]), p, o, cache=c)\n"
        "print(json.dumps([c.hits, len(run.table.failures), 'great_expectations' in sys.modules]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script, str(batch), str(tmp_path / "cache")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    hits, failures, imported = json.loads(done.stdout.splitlines()[-1])
    assert hits == 6 and failures >= 2 and imported is False
