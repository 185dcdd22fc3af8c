"""Manifest text that no item's record holds is searched for identifiers (``deid.manifest_text``):
before it, an RRN in a manifest refused as undecodable, too large or not CSV, in a cell past the
header's width, under a blank or repeated column name, or in the rows left unread appeared in no
finding: the batch delivered it and passed de-identification."""

from __future__ import annotations

from pathlib import Path

import pytest

import dqm.batch
import validators.deid
from dqm.batch import discover
from dqm.profile import Profile
from dqm.runner import RunOptions, run_batch
from tests.helpers import write_tiny_batch

RRN = "900101-1234567"


def _edit(root: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    manifest = root / "manifest.csv"
    lines = manifest.read_text().splitlines()
    edit(lines)
    manifest.write_text("\n".join(lines) + "\n")
    return root


def _extra_cell(lines: list[str]) -> None:
    lines[1] += f",{RRN}"  # one cell more than the header: MANIFEST_BAD_ROW, the cell read by no one


def _blank_column(lines: list[str]) -> None:
    lines[0] += ","  # a column with no name: its cells were never read
    for k in range(1, len(lines)):
        lines[k] += f",Kim {RRN}" if k == 2 else ","


def _repeated_column(lines: list[str]) -> None:
    lines[0] += ",site"  # the second 'site' is ignored, the first holds the value
    for k in range(1, len(lines)):
        lines[k] += f",{RRN}" if k == 1 else ",x"


def _no_slide_id(lines: list[str]) -> None:
    lines[0] = lines[0].replace("slide_id", "case")  # the manifest is not used: paired by name
    lines[1] += f" {RRN}"


def _not_csv(lines: list[str]) -> None:
    lines[1] += f" {RRN}"
    # a quoted cell over lines past the CSV reader's cell limit (as long as a line may be): refused
    lines.append('"' + "\n".join(["x" * 100_000] * 11))


CASES = {
    "extra cell": (_extra_cell, 1),
    "blank column": (_blank_column, 2),
    "repeated column": (_repeated_column, 1),
    "no slide_id": (_no_slide_id, None),
    "not CSV": (_not_csv, None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_manifest_text_no_item_holds_is_searched(tmp_path: Path, profile: Profile, case: str) -> None:
    edit, row = CASES[case]
    root = _edit(write_tiny_batch(tmp_path / "b"), edit)
    run = run_batch(root, profile, RunOptions(workers=1))
    found = [f for f in run.findings if f.code == "DEID_MANIFEST_IDENTIFIER"]
    assert found, sorted({f.code for f in run.findings})
    assert {f.location.row for f in found} == {row}
    assert all("90************" in f.message and RRN not in f.message for f in found)
    assert not [f for f in run.findings if f.code == "CHECK_CRASHED"]


@pytest.mark.parametrize("encoding", ["latin-1", "cp949", "utf-16-le"])
def test_an_undecodable_manifest_is_searched_as_its_bytes_read(
    tmp_path: Path, profile: Profile, encoding: str
) -> None:
    root = write_tiny_batch(tmp_path / "b")
    manifest = root / "manifest.csv"
    # a French note in Latin-1, a Korean one CP949 reads as no Korean file, UTF-16 without its mark
    note = {"latin-1": "été \xff", "cp949": "\uac00\ua000", "utf-16-le": "note"}[encoding]
    text = manifest.read_text().replace("trunk", f"{note} {RRN}", 1)
    manifest.write_bytes(text.encode(encoding, "replace") + b"\xff\xfe\xff")
    run = run_batch(root, profile, RunOptions(workers=1))
    assert "MANIFEST_UNREADABLE" in {f.code for f in run.findings}
    assert [f for f in run.findings if f.code == "DEID_MANIFEST_IDENTIFIER"]


def test_a_korean_name_in_a_refused_cp949_manifest_is_read_as_cp949(tmp_path: Path) -> None:
    root = write_tiny_batch(tmp_path / "b")
    manifest = root / "manifest.csv"
    manifest.write_bytes(manifest.read_bytes() + "환자명 홍길동\n".encode("cp949") + b"\x80\xff")
    disc = discover(root)
    assert any("홍길동" in text for _, text in disc.manifest_unread)


def test_a_refused_manifest_is_read_both_ways_within_the_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CP949 reading came after the UTF-8 one in the same budget: past it, cut away."""
    monkeypatch.setattr(dqm.batch, "MANIFEST_UNREAD_CHARS", 400)
    root = write_tiny_batch(tmp_path / "b")
    manifest = root / "manifest.csv"
    manifest.write_bytes("환자명 홍길동\n".encode("cp949") + b"\x80\xff" + manifest.read_bytes() * 4)
    disc = discover(root)
    assert any("홍길동" in text for _, text in disc.manifest_unread)
    assert disc.manifest_unread_cut and sum(len(t) for _, t in disc.manifest_unread) <= 400


def test_rows_not_read_and_text_past_the_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_tiny_batch(tmp_path / "b")
    manifest = root / "manifest.csv"
    rows = [f"X{k},slides/X{k}.png,,Seoul-A,BCC,40,F,trunk" for k in range(30)]
    rows[20] += f" {RRN}"
    manifest.write_text(manifest.read_text() + "\n".join(rows) + "\n")
    monkeypatch.setattr(dqm.batch, "MANIFEST_ROWS_PAST_FILES", 5)
    disc = discover(root)
    assert any(RRN in text for _, text in disc.manifest_unread)
    assert not disc.manifest_unread_cut
    monkeypatch.setattr(dqm.batch, "MANIFEST_UNREAD_CHARS", 100)
    disc = discover(root)
    assert disc.manifest_unread_cut and sum(len(t) for _, t in disc.manifest_unread) <= 100


def test_a_clean_manifest_keeps_no_text(tmp_path: Path, profile: Profile) -> None:
    root = write_tiny_batch(tmp_path / "b")
    disc = discover(root)
    assert disc.manifest_unread == [] and not disc.manifest_unread_cut
    run = run_batch(root, profile, RunOptions(workers=1))
    assert not [f for f in run.findings if f.check == "deid.manifest_text"]


def _long_line(lines: list[str]) -> None:
    lines.append(f"note {RRN} " + "y" * 400)  # past MAX_MANIFEST_LINE (set to 200): the line is not read


def _wide_header(lines: list[str]) -> None:
    lines[0] += ",c9,c10," + RRN  # past MAX_MANIFEST_COLUMNS (set to 8): the names are not read


def _checksum_cell(lines: list[str]) -> None:
    lines[0] += ",sha256"  # a cell that is not a SHA-256: CHECKSUM_MALFORMED, read by no one else
    for k in range(1, len(lines)):
        lines[k] += f",Hong Gildong {RRN}" if k == 1 else ","


TEXT_CASES = {
    "a line over the limit": (_long_line, {"MAX_MANIFEST_LINE": 200}, None),
    "header names past the limit": (_wide_header, {"MAX_MANIFEST_COLUMNS": 8}, 0),
    "a malformed checksum cell": (_checksum_cell, {}, 1),
}


@pytest.mark.parametrize("case", list(TEXT_CASES))
def test_text_no_check_reads_is_searched(
    tmp_path: Path, profile: Profile, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    """Before, a line over the limit, header names past the column limit and a checksum cell that is
    not a SHA-256 were reported (MANIFEST_BAD_ROW, CHECKSUM_MALFORMED) but searched by no check."""
    edit, limits, row = TEXT_CASES[case]
    for name, value in limits.items():
        monkeypatch.setattr(dqm.batch, name, value)
    root = _edit(write_tiny_batch(tmp_path / "b"), edit)
    run = run_batch(root, profile, RunOptions(workers=1))
    found = [f for f in run.findings if f.code == "DEID_MANIFEST_IDENTIFIER"]
    assert found, sorted({f.code for f in run.findings})
    assert {f.location.row for f in found} == {row}
    assert all(RRN not in f.message for f in run.findings)


def test_a_long_line_past_the_bound_is_said_unsearched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dqm.batch, "MAX_MANIFEST_LINE", 200)
    monkeypatch.setattr(dqm.batch, "MANIFEST_UNREAD_CHARS", 300)
    root = _edit(write_tiny_batch(tmp_path / "b"), _long_line)
    disc = discover(root)
    assert disc.manifest_unread_cut and any(RRN in text for _, text in disc.manifest_unread)
    assert sum(len(t) for _, t in disc.manifest_unread) <= 300


def test_a_long_line_keeps_only_its_own_head(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A long line before others: its head ends where it ends (a second review: the head ran on
    into the lines after it, whose cells were then reported twice and spent the bound)."""
    monkeypatch.setattr(dqm.batch, "MAX_MANIFEST_LINE", 200)
    monkeypatch.setattr(dqm.batch, "MANIFEST_UNREAD_CHARS", 100_000)

    def long_line_first(lines: list[str]) -> None:
        lines.insert(1, "note " + "y" * 400)

    root = _edit(write_tiny_batch(tmp_path / "b"), long_line_first)
    disc = discover(root)
    heads = [text for _, text in disc.manifest_unread if text.startswith("note")]
    assert heads and all(len(text) <= len("note ") + 400 + 2 for text in heads)
    assert not disc.manifest_unread_cut


def test_a_refused_manifest_is_searched_once(
    tmp_path: Path, profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its one text was searched joined, then again as its one row (10 MB of resident numbers: 12.7 s
    of CPU, 9.3 s searched once)."""
    import validators.deid

    searched: list[str] = []

    def spy(text: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        searched.append(text)
        return find(text, *args, **kwargs)

    find = validators.deid.find
    monkeypatch.setattr(validators.deid, "find", spy)
    root = _edit(write_tiny_batch(tmp_path / "b"), _no_slide_id)
    run = run_batch(root, profile, RunOptions(workers=1))
    assert [f for f in run.findings if f.code == "DEID_MANIFEST_IDENTIFIER"]
    assert sum(RRN in text and "trunk" in text for text in searched) == 1


def test_a_row_past_those_searched_one_by_one_is_named(tmp_path: Path, profile: Profile, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Each hit past the first rows is at its own row: they were all said at the first of them."""
    monkeypatch.setattr(validators.deid, "MAX_KEPT_ONE_BY_ONE", 5)

    def rows(lines: list[str]) -> None:
        lines += [lines[1] + f",extra {k}" + (f" {RRN}" if k in (2, 20, 27) else "") for k in range(30)]

    root = _edit(write_tiny_batch(tmp_path / "b"), rows)
    first = len((root / "manifest.csv").read_text().splitlines()) - 30  # the row of the first extra
    run = run_batch(root, profile, RunOptions(workers=1))
    found = [f.location.row for f in run.findings if f.code == "DEID_MANIFEST_IDENTIFIER"]
    assert sorted(found) == [first + 2, first + 20, first + 27]
