"""results.json: schema version, the published JSON Schema, and the round trip through the models."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from dqm.cli import app
from dqm.results import SCHEMA_VERSION, QualityResult, ResultsError, load_result
from dqm.schemas import results as results_schema
from dqm.schemas import schema_text
from tests.reports.conftest import as_core, finding, make_result

DOCS = Path(__file__).resolve().parents[2] / "docs" / "results.schema.json"


def test_published_schema_is_in_sync_with_the_models():
    """Regenerate with ``dqm schema results -o docs/results.schema.json`` after changing a model."""
    assert DOCS.read_text("utf-8") == schema_text("results"), "docs/results.schema.json is stale"


def test_schema_command_writes_the_published_file(tmp_path: Path):
    out = tmp_path / "s.json"
    res = CliRunner().invoke(app, ["schema", "results", "-o", str(out)])
    assert res.exit_code == 0
    assert out.read_text("utf-8") == DOCS.read_text("utf-8")


def test_real_audit_round_trips_and_matches_the_schema(audited: QualityResult, tmp_path: Path):
    p = tmp_path / "results.json"
    audited.dump(p)
    back = QualityResult.load(p)
    assert back.digest is not None  # written with its content digest
    assert back.model_copy(update={"digest": None}) == audited
    assert back.schema_version == SCHEMA_VERSION
    assert back.thumbnails and back.checks and back.findings
    jsonschema.Draft202012Validator(results_schema()).validate(json.loads(p.read_bytes()))


def test_schema_rejects_what_the_models_reject():
    validator = jsonschema.Draft202012Validator(results_schema())
    doc = json.loads(as_core(make_result()).model_dump_json())
    validator.validate(doc)
    doc["verdict"]["status"] = "maybe"
    assert not validator.is_valid(doc)


def test_an_older_minor_version_still_loads(tmp_path: Path):
    doc = json.loads(as_core(make_result()).model_dump_json())
    doc["schema_version"] = "1.0"
    for key in ("checks", "thumbnails"):
        doc.pop(key)
    doc["verdict"].pop("pending")
    p = tmp_path / "old.json"
    p.write_text(json.dumps(doc))
    r = load_result(p)
    assert r.checks == [] and r.thumbnails == [] and r.verdict.pending == []


def test_errors_are_short_and_located(tmp_path: Path):
    doc = json.loads(as_core(make_result()).model_dump_json())
    doc["items"] = [{"bad": i} for i in range(500)]
    p = tmp_path / "r.json"
    p.write_text(json.dumps(doc))
    with pytest.raises(ResultsError) as err:
        load_result(p)
    text = str(err.value)
    assert "items/0/slide_id: Field required" in text
    assert "more" in text and len(text.splitlines()) <= 8


text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(message=text, path=text, clinical=text, inst=text)
def test_any_text_round_trips(tmp_path: Path, message: str, path: str, clinical: str, inst: str):
    r = as_core(
        make_result(
            n_items=3,
            findings=[
                finding(
                    "S00001", "SELF_INTERSECTION", message=message or "m", file=path or None, xy=(1.5, -2.0)
                )
            ],
            path=path,
            institution=inst,
            clinical={"age": clinical, "site": None},
        )
    )
    p = tmp_path / "r.json"
    r.dump(p)
    assert QualityResult.load(p).model_copy(update={"digest": None}) == r


def test_dump_writes_the_content_digest_that_every_command_checks(tmp_path: Path):
    """``QualityResult.dump`` wrote no digest: every command read its file with a warning that it
    was used unchecked, and one of schema 1.10 without a digest is now refused. It writes one."""
    p = tmp_path / "results.json"
    as_core(make_result()).dump(p)
    told: list[str] = []
    back = load_result(p, unsealed=told.append)
    assert back.digest is not None and not told
    data = json.loads(p.read_text("utf-8"))
    data["verdict"]["status"] = "certified" if data["verdict"]["status"] != "certified" else "rejected"
    p.write_text(json.dumps(data), "utf-8")
    with pytest.raises(ResultsError, match="content digest does not match"):
        load_result(p, unsealed=told.append)
