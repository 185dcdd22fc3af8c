"""The published JSON Schemas (``docs/*.schema.json`` are generated from these)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def native() -> dict[str, Any]:
    from dqm.readers.native_schema import json_schema

    return json_schema()


def results() -> dict[str, Any]:
    from dqm.results import QualityResult

    schema = QualityResult.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "dqm results.json"
    return schema


def profile() -> dict[str, Any]:
    from dqm.profile import Profile

    schema = Profile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "dqm profile"
    return schema


SCHEMAS: dict[str, Callable[[], dict[str, Any]]] = {
    "native": native,
    "results": results,
    "profile": profile,
}


def schema_text(which: str) -> str:
    """The schema as the file in ``docs/`` holds it (indented, keys in model order, newline-ended)."""
    import json

    return json.dumps(SCHEMAS[which](), indent=2, ensure_ascii=False) + "\n"
