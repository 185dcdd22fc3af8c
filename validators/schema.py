"""Structure checks: does each annotation file match its format's schema (aspect ``structure``)."""

from __future__ import annotations

from dqm.findings import Aspect, Finding
from validators.context import ItemView
from validators.registry import CheckContext, NoParams, check, read_issue_findings


@check(
    "schema.annotation",
    aspect=Aspect.STRUCTURE,
    codes={
        "MISSING_KEY": "a required key is absent",
        "UNKNOWN_KEY": "a key the format does not define",
        "WRONG_TYPE": "a value of the wrong JSON type (string for number, object for list, ...)",
        "WRONG_VALUE": "a fixed value (format tag) is not the one the format defines",
        "UNSUPPORTED_GEOMETRY": "a geometry type other than Polygon or MultiPolygon",
        "BAD_VERTEX": "a vertex that is not a pair [x, y]",
    },
)
def annotation_schema(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """The annotation file has the keys, nesting and types its format's schema requires."""
    if view.annotation is None:
        return []
    return read_issue_findings(view.annotation.issues, ctx, view.annotation.path)
