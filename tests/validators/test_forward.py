"""Issues met before the checks ran (reader, discovery, clinical table) become findings of the
check that declares their code, each where the issue says, through one forwarder."""

from __future__ import annotations

import pandas as pd

from dqm.clinical_table import RowSource, TableFailure, TableValidation
from dqm.model import Annotation, DiscoveryIssue, Item, ReadIssue
from validators import REGISTRY
from validators.context import BatchView, ItemView
from validators.engine import configure, run_checks
from validators.registry import CheckContext, forward


def _ctx(check_id: str, profile) -> CheckContext:
    spec = REGISTRY[check_id]
    return CheckContext(spec, "S1", {c: spec.severity_of(c) for c in spec.codes}, "default.json")


def test_only_the_codes_a_check_declares_are_forwarded_each_where_its_issue_says(profile):
    issues = [
        ReadIssue("MISSING_KEY", "no 'lesions'", "/lesions", line=3, char=7),
        ReadIssue("INVALID_JSON", "not JSON", line=1),  # file.annotation_readable's
        ReadIssue("BAD_VERTEX", "a vertex of three numbers", "/lesions/0/geometry", 0, 4, (1.0, 2.0)),
    ]
    found = forward(issues, _ctx("schema.annotation", profile), file="a.json")
    assert [(f.code, f.message, f.item_id) for f in found] == [
        ("MISSING_KEY", "no 'lesions'", "S1"),
        ("BAD_VERTEX", "a vertex of three numbers", "S1"),
    ]
    missing, vertex = (f.location for f in found)
    assert (missing.file, missing.pointer, missing.line, missing.char) == ("a.json", "/lesions", 3, 7)
    assert (vertex.lesion, vertex.vertex, vertex.xy) == (0, 4, (1.0, 2.0))
    assert all(f.check == "schema.annotation" and f.severity == "error" for f in found)


def test_a_read_issue_is_reported_by_its_check_in_a_run(profile):
    ann = Annotation(
        path="x.xml", format="asap", readable=False, issues=[ReadIssue("INVALID_XML", "bad", line=2)]
    )
    view = ItemView(Item("S1", None, "x.xml"), profile, ann)
    (found,) = [f for f in run_checks("item", view, configure(profile)) if f.code == "INVALID_XML"]
    assert (found.check, found.location.file, found.location.line) == ("file.annotation_xml", "x.xml", 2)


def test_a_discovery_issue_is_about_its_item_else_its_file_else_the_batch(profile):
    issues = [
        DiscoveryIssue("ORPHAN_SLIDE", "not referenced", file="s/a.svs", item_id="s/a.svs"),
        DiscoveryIssue("MANIFEST_UNREADABLE", "bad CSV", file="manifest.csv", line=4),
        DiscoveryIssue("EMPTY_BATCH", "nothing here"),
        DiscoveryIssue("MANIFEST_BAD_ROW", "3 cells", file="manifest.csv", row=2),  # schema.manifest's
    ]
    found = forward(issues, _ctx("file.layout", profile))
    assert [(f.code, f.item_id, f.location.file, f.location.line) for f in found] == [
        ("ORPHAN_SLIDE", "s/a.svs", "s/a.svs", None),
        ("MANIFEST_UNREADABLE", "manifest.csv", "manifest.csv", 4),
        ("EMPTY_BATCH", "batch", None, None),
    ]
    (row,) = forward(issues, _ctx("schema.manifest", profile))
    assert (row.code, row.location.row) == ("MANIFEST_BAD_ROW", 2)


def test_a_failed_expectation_is_one_finding_per_row_at_its_cell_or_its_clinical_block(profile):
    sources = [RowSource("S1", "manifest.csv", 1), RowSource("S2", "S2.json", None)]
    table = TableValidation(
        pd.DataFrame({"age": [230, -1]}),
        sources,
        [
            TableFailure("CLINICAL_OUT_OF_RANGE", "age", "a value in [0, 120]", (0, 1), (230, -1), "between"),
            TableFailure("CLINICAL_MISSING_COLUMN", "sex", "a column 'sex'", (), (), "exists"),
            TableFailure("CLINICAL_NOT_UNIQUE", "patient_id", "unique values", (0,), ("P1",), "unique"),
        ],
    )
    batch = BatchView(profile, [], "manifest.csv", table=table)
    domain = run_checks("batch", batch, [c for c in configure(profile) if c.id == "clinical.domain"])
    assert [
        (f.item_id, f.message, f.location.row, f.location.column, f.location.pointer) for f in domain
    ] == [
        ("S1", "age ('230'): expected a value in [0, 120]", 1, "age", None),
        ("S2", "age ('-1'): expected a value in [0, 120]", None, None, "/clinical/age"),
        ("S1", "patient_id: expected unique values", 1, "patient_id", None),  # identifying: not shown
    ]
    (structure,) = run_checks("batch", batch, [c for c in configure(profile) if c.id == "clinical.structure"])
    assert structure.message == "sex: expected a column 'sex', failed for the table in manifest.csv"
    assert (structure.item_id, structure.location.file, structure.location.column) == (
        "manifest.csv",
        "manifest.csv",
        "sex",
    )
