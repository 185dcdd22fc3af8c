"""The item records, summaries and file digests a run keeps as columns (``dqm/records.py``): what
is stored is what is read back, written alike, whatever the values."""

from __future__ import annotations

import json

import pytest

from dqm.columns import ItemSummaries, StatRows
from dqm.facts import ItemSummary, SlideSummary
from dqm.findings import Aspect, Finding, Severity
from dqm.model import ItemRecord
from dqm.records import ItemRecords
from dqm.results import FileDigest, FileDigests, QualityResult

SHA = "ab" * 32


def _summary(slide_id: str, **values: object) -> ItemSummary:
    return ItemSummary(slide_id=slide_id, **values)


SUMMARIES = [
    _summary("A"),
    _summary(
        "B",
        row=2**63 - 1,
        image_path="s/B.svs",
        annotation_path="a/B.json",
        institution="Seoul-A",
        clinical={"age": "61", "sex": None},
        patient=3,
        n_lesions=2,
        lesion_classes={"EC": 2},
        lesion_area_px={"EC": -0.0},
        unmapped_classes={"Ec ": 1},
        annotation_format="native",
        width=4000,
        height=3000,
        slide=SlideSummary(width=4000, height=3000, level_downsamples=[1.0, 4.0]),
        errors=1,
        warnings=2,
    ),
    _summary("C", row=-(2**63), width=2**64, height=-(2**70), errors=0),  # past 64 bits: kept as written
]


def _record(summary: ItemSummary, **values: object) -> ItemRecord:
    fields: dict = {"findings": [], "n_values": 1, "files": [], "clinical_record": {}, "record_source": None}
    return ItemRecord(summary=summary, **{**fields, **values})


RECORDS = [
    _record(SUMMARIES[0]),
    _record(
        SUMMARIES[1],
        findings=[
            Finding(
                item_id="B",
                check="geometry.zero_area",
                code="ZERO_AREA",
                severity=Severity.ERROR,
                aspect=Aspect.FORMAT,
                message="an outline encloses no area",
            )
        ],
        n_values=7,
        files=["a/B.json", "s/B.svs"],
        clinical_record={"age": "61"},
        record_source="manifest",
        fingerprint="q" * 64,
        annotation_sha256=SHA,
        unreadable=True,
        sha256={"s/B.svs": SHA},
        stats={"a/B.json": [10, 2**62, -1, 5], "s/B.svs": [0, 0, 0, 0]},
        sparse={"s/B.svs": (2**40, 4096)},
    ),
    # what no run makes but a cached record could hold: kept as it is, in the sparse columns
    _record(SUMMARIES[2], files=["a/C.json"], annotation_sha256="AB" * 32, stats={"other": [1, 2]}),
    _record(SUMMARIES[2], files=["a/C.json"], annotation_sha256="abc", stats={"a/C.json": [2**64, 0, 0, 0]}),
]


def test_item_records_give_back_what_was_stored_whatever_the_values():
    records = ItemRecords.of(RECORDS, whole=False)
    assert len(records) == len(RECORDS) and records.holds(3)
    for kept, stored in zip(records, RECORDS, strict=True):
        assert kept.to_dict() == stored.to_dict()
        assert kept.summary.model_dump_json() == stored.summary.model_dump_json()
        assert kept.summary.model_fields_set == stored.summary.model_fields_set
    assert records[-1].to_dict() == RECORDS[-1].to_dict()
    assert [r.summary.slide_id for r in records[1:3]] == ["B", "C"]
    assert records.findings() == RECORDS[1].findings
    assert records.sparse() == {"s/B.svs": (2**40, 4096)}
    assert ItemRecord.from_dict(json.loads(json.dumps(RECORDS[1].to_dict()))) == RECORDS[1]
    records[1] = RECORDS[0]  # a row stored again holds only the new record
    assert records[1].to_dict() == RECORDS[0].to_dict()


def test_each_column_read_is_what_the_records_hold():
    """The passes of an audit read columns (no record built a row): each gives what the rows do,
    the odd values kept as written included, and cannot be changed through."""
    records = ItemRecords.of(RECORDS, whole=False)
    summaries = records.summaries()
    for name in ItemSummary.model_fields:
        assert list(summaries.column(name)) == [getattr(r.summary, name) for r in RECORDS], name
    assert list(records.n_values()) == [r.n_values for r in RECORDS]
    assert list(records.unreadable()) == [int(r.unreadable) for r in RECORDS]
    assert list(records.files()) == [tuple(r.files) for r in RECORDS]
    assert list(records.clinical_records()) == [r.clinical_record for r in RECORDS]
    assert list(records.record_sources()) == [r.record_source for r in RECORDS]
    assert list(records.fingerprints()) == [r.fingerprint for r in RECORDS]
    assert list(records.annotation_sha256s()) == [r.annotation_sha256 for r in RECORDS]
    assert records.annotation_sha256s()[2:] == ["AB" * 32, "abc"]
    assert records.full_hashes() == {"s/B.svs": SHA}
    assert [dict(records.full_hashes_of(k)) for k in range(len(RECORDS))] == [r.sha256 for r in RECORDS]
    paths = ["a/B.json", "s/B.svs", "a/C.json", "other"]
    assert [[records.stat_of(k, p) for p in paths] for k in range(len(RECORDS))] == [
        [r.stats.get(p) for p in paths] for r in RECORDS
    ]
    with pytest.raises(TypeError):
        records.n_values()[1] = 0  # type: ignore[index]
    with pytest.raises(TypeError):
        records.unreadable()[1] = 0  # type: ignore[index]


def test_stat_rows_keep_stats_in_the_array_and_any_other_value_as_given():
    rows = StatRows(2, width=2)
    rows.put(0, "ignored", [[1, 2, 3, 4], [-(2**63), 2**63 - 1, 0, 0]])
    rows.put(1, {"x": [2**64]}, [[2**64, 0, 0, 0]])  # past 64 bits: the value as given
    rows.append(None, [[1, 2, 3]])  # not a stat, no value: nothing
    rows.append([5, 6, 7, 8], [[5, 6, 7, 8], [5, 6, 7, 8], [5, 6, 7, 8]])  # more than width
    rows.append("empty", [])
    assert len(rows) == 5
    assert [rows.stats(k) for k in range(5)] == [
        [[1, 2, 3, 4], [-(2**63), 2**63 - 1, 0, 0]],
        None,
        None,
        None,
        [],
    ]
    assert [rows.value(k) for k in range(5)] == [None, {"x": [2**64]}, None, [5, 6, 7, 8], None]
    rows.put(1, None, [[9, 9, 9, 9]])  # stored again: only the new stats
    assert rows.stats(1) == [[9, 9, 9, 9]] and rows.value(1) is None
    assert rows.stats(0) == [[1, 2, 3, 4], [-(2**63), 2**63 - 1, 0, 0]]  # neighbours untouched


def test_an_empty_row_is_refused_not_read_as_a_blank_record():
    records = ItemRecords(2)
    records[1] = RECORDS[0]
    assert not records.holds(0)
    with pytest.raises(LookupError):
        records[0]


def test_summaries_in_a_result_are_validated_from_a_list_and_written_as_one(tmp_path):
    """``QualityResult.items`` (and ``batch.files``) are columns in memory and a list in
    results.json: a result read back, copied or compared is the same."""
    files = [
        FileDigest(path="a/B.json", role="annotation", sha256=SHA, stat=[1, 2, 3, 4]),
        FileDigest(path="s/B.svs", role="slide", quick_print="q" * 64, stat=[2**64, 0, 0, 0]),
        FileDigest(path="manifest.csv", role="manifest", sha256="not a digest"),
    ]
    data = {
        "dqm_version": "0",
        "created": "2026-01-01T00:00:00+00:00",
        "batch": {
            "path": "/b",
            "fingerprint": "f",
            "n_items": 3,
            "n_slide_files": 1,
            "n_annotation_files": 1,
            "files": [f.model_dump(mode="json") for f in files],
        },
        "profile": {"name": "p", "version": "1", "sha256": "s"},
        "items": [s.model_dump(mode="json") for s in SUMMARIES],
        "findings": [],
        "verdict": {"status": "incomplete"},
    }
    result = QualityResult.model_validate(data)
    assert isinstance(result.items, ItemSummaries) and isinstance(result.batch.files, FileDigests)
    assert result.items == SUMMARIES and list(result.batch.files) == files
    assert json.loads(result.model_dump_json()) == json.loads(
        QualityResult.model_validate_json(result.model_dump_json()).model_dump_json()
    )
    dumped = result.model_dump(mode="json")
    assert dumped["items"] == data["items"] and dumped["batch"]["files"] == data["batch"]["files"]
    built = result.model_copy(update={"items": ItemSummaries.of(SUMMARIES)})
    assert built == result and built.model_dump_json() == result.model_dump_json()


@pytest.mark.parametrize("whole", [False, True])
def test_rows_taken_are_the_store_of_those_records(whole: bool):
    """A lot's part of a run is its rows taken column by column (a store rebuilt from its records
    built a record a row): the same records, odd values and repeated rows included."""
    records = ItemRecords.of(RECORDS, whole=whole)
    for rows in ([3, 1], [0, 1, 2, 3], [2, 2, 1], [], [1]):
        part = records.take(rows)
        rebuilt = ItemRecords.of([RECORDS[k] for k in rows], whole=whole)
        assert part.whole == whole and len(part) == len(rows)
        assert [r.to_dict() for r in part] == [r.to_dict() for r in rebuilt]
        assert [r.summary.model_fields_set for r in part] == [
            RECORDS[k].summary.model_fields_set for k in rows
        ]
        assert part.findings() == rebuilt.findings() and part.sparse() == rebuilt.sparse()
        if rows:  # a store of its own: a row stored into it changes only it
            part[0] = RECORDS[0]
            assert records[rows[0]].to_dict() == RECORDS[rows[0]].to_dict()


def test_findings_left_out_leave_every_other_column_as_it_was():
    records = ItemRecords.of(RECORDS, whole=False)
    dropped = records.with_findings(lambda found: [f for f in found if f.code != "ZERO_AREA"])
    assert dropped.findings() == [] and records.findings() == RECORDS[1].findings
    for kept, stored in zip(dropped, RECORDS, strict=True):
        assert kept.to_dict() == {**stored.to_dict(), "findings": []}
