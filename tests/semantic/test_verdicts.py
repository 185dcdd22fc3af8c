"""Verdict files: every malformed file or row is a finding with a reason and a place, never a crash."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dqm.semantic.verdicts import read_verdict_file, read_verdict_files
from tests.slides.test_slide_refs import no_hang  # noqa: F401 (a fixture)


def _write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def _codes(vf) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(f.code, f.severity) for f in vf.findings]


def test_a_good_csv(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "v.csv",
        "\ufeffslide_id,reviewer,verdict,reason,comment\n"
        "S1,kim,pass,,\n"
        'S2,kim,FAIL,"wrong_class; boundary too loose","says ""BCC"", is SCC"\n'
        "S3,kim,,,\n",
    )
    vf = read_verdict_file(path)
    assert [(r.slide_id, r.verdict, r.reasons) for r in vf.records] == [
        ("S1", "pass", ()),
        ("S2", "fail", ("wrong_class", "boundary_too_loose")),
    ]
    assert vf.records[1].comment == 'says "BCC", is SCC' and vf.records[1].row == 2
    assert _codes(vf) == [("VERDICT_EMPTY", "info")]  # S3: not reviewed yet


def test_a_good_json_as_the_sheet_exports_it(tmp_path: Path) -> None:
    doc = {
        "format": "dqm.verdicts/1",
        "plan_id": "abc",
        "reviewer": "lee",
        "verdicts": [
            {"slide_id": "S1", "verdict": "pass"},
            {"slide_id": 7, "verdict": "fail", "reason": ["other"]},
        ],
    }
    vf = read_verdict_file(_write(tmp_path, "v.json", json.dumps(doc)))
    assert vf.plan_id == "abc"
    assert [(r.slide_id, r.reviewer, r.verdict, r.pointer) for r in vf.records] == [
        ("S1", "lee", "pass", "/verdicts/0"),
        ("7", "lee", "fail", "/verdicts/1"),
    ]
    assert vf.findings == []


BAD_FILES = [
    ("empty.csv", "", "VERDICT_FILE_FORMAT", None),
    ("latin1.csv", b"slide_id,reviewer,verdict\nS\xe9,kim,pass\n", "VERDICT_FILE_UNREADABLE", None),
    ("broken.json", '{"verdicts": [', "VERDICT_FILE_UNREADABLE", None),
    ("scalar.json", "42", "VERDICT_FILE_FORMAT", None),
    ("noverdicts.json", '{"reviewer": "x"}', "VERDICT_FILE_FORMAT", "/verdicts"),
    ("header.csv", "id,who,what\nS1,kim,pass\n", "VERDICT_FILE_FORMAT", None),
    ("nul.csv", "slide_id,reviewer,verdict\nS1,kim,pa\x00ss\n", None, None),
]


@pytest.mark.parametrize(("name", "data", "code", "pointer"), BAD_FILES)
def test_bad_files_become_findings(
    tmp_path: Path, name: str, data: str | bytes, code: str | None, pointer: str | None
) -> None:
    vf = read_verdict_file(_write(tmp_path, name, data))
    assert vf.records == [] or code is None
    assert vf.findings, "a bad file must say why"
    if code is not None:
        assert vf.findings[0].code == code
        assert vf.findings[0].file == str(tmp_path / name)
    if pointer is not None:
        assert vf.findings[0].pointer == pointer


def test_missing_file_is_a_finding(tmp_path: Path) -> None:
    vf = read_verdict_file(tmp_path / "nope.csv")
    assert _codes(vf) == [("VERDICT_FILE_UNREADABLE", "error")]


@pytest.mark.usefixtures("no_hang")
@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_a_verdict_file_that_is_no_regular_file_is_a_finding_not_a_wait(tmp_path: Path, special: str) -> None:
    """Its size (0) passed the limit and read_bytes() waited for a FIFO's writer for ever, or
    read /dev/zero until memory ran out (the command's is_file test is no guard for the API, nor
    for a file swapped in after it)."""
    path = Path(special)
    if special == "fifo":
        path = tmp_path / "verdicts.csv"
        os.mkfifo(path)
    vf = read_verdict_file(path)
    assert _codes(vf) == [("VERDICT_FILE_UNREADABLE", "error")]
    assert "not a regular file" in vf.findings[0].message


BAD_ROWS = [
    ({"reviewer": "kim", "verdict": "pass"}, "VERDICT_MISSING_FIELD"),
    ({"slide_id": "S1", "verdict": "pass"}, "VERDICT_MISSING_FIELD"),
    ({"slide_id": "S1", "reviewer": "kim", "verdict": "maybe"}, "VERDICT_BAD_VALUE"),
    ({"slide_id": ["S1"], "reviewer": "kim", "verdict": "pass"}, "VERDICT_BAD_VALUE"),
    ({"slide_id": "S1", "reviewer": True, "verdict": "pass"}, "VERDICT_BAD_VALUE"),
    ({"slide_id": "S1", "reviewer": "kim", "verdict": 1}, "VERDICT_BAD_VALUE"),
    ({"slide_id": "S1", "reviewer": "kim", "verdict": "fail", "reason": "tired"}, "VERDICT_BAD_REASON"),
    ({"slide_id": "S1", "reviewer": "kim", "verdict": "fail", "reason": 3}, "VERDICT_BAD_REASON"),
    ({"slide_id": "S1", "reviewer": "kim", "verdict": "fail"}, "VERDICT_FAIL_WITHOUT_REASON"),
    ({"slide_id": "S1", "reviewer": "kim", "verdict": "pass", "reason": "other"}, "VERDICT_PASS_WITH_REASON"),
    (
        {"slide_id": "S1", "reviewer": "kim", "verdict": "fail", "reason": "other", "corrected": 5},
        "CORRECTION_UNREADABLE",
    ),
    (
        {
            "slide_id": "S1",
            "reviewer": "kim",
            "verdict": "fail",
            "reason": "other",
            "corrected": "gone.geojson",
        },
        "CORRECTION_UNREADABLE",
    ),
    ("not an object", "VERDICT_FILE_FORMAT"),
]


@pytest.mark.parametrize(("row", "code"), BAD_ROWS)
def test_bad_rows_become_located_findings(tmp_path: Path, row: object, code: str) -> None:
    vf = read_verdict_file(
        _write(tmp_path, "v.json", json.dumps([{"slide_id": "S0", "reviewer": "a", "verdict": "pass"}, row]))
    )
    assert vf.records[0].slide_id == "S0"  # the good row survives its neighbour
    found = [f for f in vf.findings if f.code == code]
    assert found, [f.code for f in vf.findings]
    assert found[0].pointer == "/1"


def test_csv_row_numbers_and_ragged_rows(tmp_path: Path) -> None:
    path = _write(tmp_path, "v.csv", "slide_id,reviewer,verdict\nS1,kim,pass,extra\n\nS2,kim\n")
    vf = read_verdict_file(path)
    assert [r.slide_id for r in vf.records] == ["S1"]
    assert ("VERDICT_FILE_FORMAT", 1) in [(f.code, f.row) for f in vf.findings]
    assert ("VERDICT_EMPTY", 3) in [
        (f.code, f.row) for f in vf.findings
    ]  # blank line 2 skipped, S2 has no verdict


def test_corrected_outline_from_a_file_beside_the_verdicts(tmp_path: Path) -> None:
    geo = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
    (tmp_path / "fix").mkdir()
    (tmp_path / "fix" / "S1.geojson").write_text(json.dumps(geo))
    path = _write(
        tmp_path,
        "v.csv",
        "slide_id,reviewer,verdict,reason,corrected\nS1,kim,fail,boundary_too_tight,fix/S1.geojson\n",
    )
    vf = read_verdict_file(path)
    assert vf.records[0].corrected == geo


def test_a_corrected_outline_outside_the_verdict_files_folder_is_never_read(tmp_path: Path) -> None:
    """``corrected`` was joined to the verdict file's folder as it stood: an absolute path or
    ``../`` made ``dqm review ingest`` read any file (``/etc/passwd``, ``/proc/self/environ``, a
    JSON file elsewhere parsed as an outline). Now a path that leads outside the folder, also
    through a symbolic link, is a finding and the file is not opened."""
    geo = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
    outside = tmp_path / "elsewhere.geojson"
    outside.write_text(json.dumps(geo))
    folder = tmp_path / "verdicts"
    folder.mkdir()
    (folder / "link.geojson").symlink_to(outside)
    (folder / "linked").symlink_to(tmp_path)
    paths = [str(outside), "../elsewhere.geojson", "link.geojson", "linked/elsewhere.geojson", "/etc/passwd"]
    rows = "".join(f"S{i},kim,fail,other,{p}\n" for i, p in enumerate(paths))
    path = _write(folder, "v.csv", "slide_id,reviewer,verdict,reason,corrected\n" + rows)
    vf = read_verdict_file(path)
    assert [r.corrected for r in vf.records] == [None] * len(paths)
    unreadable = [f for f in vf.findings if f.code == "CORRECTION_UNREADABLE"]
    assert len(unreadable) == len(paths)
    assert all("not a path inside the folder of the verdict file" in f.message for f in unreadable)


def test_json_nested_past_the_parsers_recursion_is_a_finding(tmp_path: Path) -> None:
    """A verdict file, or a corrected outline, of 100,000 nested arrays raised RecursionError out
    of the reader: dqm review ingest exited 4 (internal error)."""
    (tmp_path / "deep.geojson").write_text("[" * 100_000)
    vf = read_verdict_file(_write(tmp_path, "v.json", "[" * 100_000))
    assert _codes(vf) == [("VERDICT_FILE_UNREADABLE", "error")]
    assert "nested too deeply" in vf.findings[0].message
    csv_file = _write(
        tmp_path, "v.csv", "slide_id,reviewer,verdict,reason,corrected\nS1,kim,fail,other,deep.geojson\n"
    )
    vf = read_verdict_file(csv_file)
    assert vf.records[0].corrected is None
    assert ("CORRECTION_UNREADABLE", "error") in _codes(vf)


def test_records_are_numbered_across_files(tmp_path: Path) -> None:
    a = _write(tmp_path, "a.csv", "slide_id,reviewer,verdict\nS1,a,pass\nS2,a,pass\n")
    b = _write(tmp_path, "b.csv", "slide_id,reviewer,verdict\nS1,b,fail\n")
    files = read_verdict_files([a, b])
    assert [r.order for f in files for r in f.records] == [0, 1, 2]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400), suffix=st.sampled_from([".csv", ".json", ".txt"]))
def test_random_bytes_never_crash(tmp_path: Path, data: bytes, suffix: str) -> None:
    vf = read_verdict_file(_write(tmp_path, "fuzz" + suffix, data))
    assert isinstance(vf.records, list)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    doc=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda c: (
            st.lists(c, max_size=4)
            | st.dictionaries(
                st.sampled_from(
                    ["slide_id", "reviewer", "verdict", "reason", "comment", "corrected", "verdicts", "x"]
                ),
                c,
                max_size=5,
            )
        ),
        max_leaves=20,
    )
)
def test_random_json_never_crashes(tmp_path: Path, doc: object) -> None:
    vf = read_verdict_file(_write(tmp_path, "fuzz.json", json.dumps(doc)))
    for r in vf.records:
        assert r.verdict in ("pass", "fail") and r.slide_id and r.reviewer


def test_a_verdict_file_that_grows_past_the_limit_while_read_is_refused_not_cut(tmp_path, monkeypatch):
    import dqm.semantic.verdicts as verdicts

    path = tmp_path / "v.csv"
    path.write_text("slide_id,reviewer,verdict\nS1,kim,pass\n")
    monkeypatch.setattr(verdicts, "MAX_BYTES", 60)
    real = verdicts.read_named

    def grows(p, limit=None):  # another writer appends between the size test and the read
        with open(p, "a") as fh:
            fh.write("S2,kim,pass\nS3,kim,pass\nS4,kim,pass\n")
        return real(p, limit)

    monkeypatch.setattr(verdicts, "read_named", grows)
    vf = read_verdict_file(path)
    assert [f.code for f in vf.findings] == ["VERDICT_FILE_UNREADABLE"]
    assert "over the 60 byte limit" in vf.findings[0].message
    assert not vf.records
