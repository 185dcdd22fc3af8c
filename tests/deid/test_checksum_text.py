"""The text of ``SHA256SUMS`` that names no file of the batch is searched for identifiers
(``deid.checksum_text``): before it, an RRN in a comment, in a line that is no entry, in a listed
path that is not there or leaves the batch, or in a list not decodable gave no DEID finding (the
paths' messages masked it, the batch delivered it all the same)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import dqm.batch
import validators.deid
from dqm.profile import Profile
from dqm.runner import RunOptions, run_batch
from tests.helpers import write_tiny_batch

RRN = "900101-1234567"
HASH = "a" * 64


def _batch(tmp_path: Path, extra: list[str], *, encoding: str = "utf-8") -> Path:
    root = write_tiny_batch(tmp_path / "b")
    lines = [
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(root).as_posix()}"
        for p in sorted(root.rglob("*"))
        if p.is_file()
    ]
    (root / "SHA256SUMS").write_bytes("\n".join([*lines, *extra, ""]).encode(encoding))
    return root


def _deid(root: Path, profile: Profile) -> list:  # type: ignore[type-arg]
    run = run_batch(root, profile, RunOptions(workers=1))
    assert not [f for f in run.findings if f.code == "CHECK_CRASHED"]
    return [f for f in run.findings if f.code.startswith("DEID_CHECKSUM_TEXT")]


CASES = {
    "comment": f"# sent by Kim for {RRN}",
    "not an entry": f"deadbeef  notes {RRN}.txt",
    "listed, not there": f"{HASH}  slides/{RRN}.png",
    "listed, leaving the batch": f"{HASH}  ../{RRN}/x.png",
}


@pytest.mark.parametrize("case", list(CASES))
def test_checksum_list_text_naming_no_file_is_searched(tmp_path: Path, profile: Profile, case: str) -> None:
    root = _batch(tmp_path, ["# made by sha256sum", CASES[case]])
    found = _deid(root, profile)
    assert [f.code for f in found] == ["DEID_CHECKSUM_TEXT_IDENTIFIER"]
    line = len((root / "SHA256SUMS").read_text().splitlines())
    assert found[0].location.file == "SHA256SUMS" and found[0].location.line == line
    assert "90************" in found[0].message and RRN not in found[0].message


def test_a_listed_file_that_is_there_is_not_searched_twice(tmp_path: Path, profile: Profile) -> None:
    root = _batch(tmp_path, [])
    (root / f"notes {RRN}.txt").write_text("x")
    digest = hashlib.sha256(b"x").hexdigest()
    with (root / "SHA256SUMS").open("a") as fh:
        fh.write(f"{digest}  notes {RRN}.txt\n")
    run = run_batch(root, profile, RunOptions(workers=1))
    assert "DEID_OTHER_NAME_IDENTIFIER" in {f.code for f in run.findings}  # the name's own check
    assert not [f for f in run.findings if f.code.startswith("DEID_CHECKSUM_TEXT")]


def test_an_undecodable_list_is_searched_as_its_bytes_read(tmp_path: Path, profile: Profile) -> None:
    root = _batch(tmp_path, [f"# Café {RRN}"], encoding="latin-1")
    found = _deid(root, profile)
    assert [f.code for f in found] == ["DEID_CHECKSUM_TEXT_IDENTIFIER"]
    assert found[0].location.line is None


def test_a_list_too_large_is_searched_in_its_head_and_said_unsearched(
    tmp_path: Path, profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _batch(tmp_path, [])
    sums = root / "SHA256SUMS"
    sums.write_text(f"# {RRN}\n" + sums.read_text())  # in the head read
    monkeypatch.setattr(dqm.batch, "MAX_SUMS_BYTES", 100)
    codes = sorted(f.code for f in _deid(root, profile))
    assert codes == ["DEID_CHECKSUM_TEXT_IDENTIFIER", "DEID_CHECKSUM_TEXT_UNSEARCHED"]


def test_many_lines_are_reported_bounded(
    tmp_path: Path, profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(validators.deid, "MAX_KEPT_ONE_BY_ONE", 10)
    root = _batch(tmp_path, [f"# {RRN}"] * 40)
    lines = [f.location.line for f in _deid(root, profile)]
    named = [line for line in lines if line is not None]
    assert len(named) == len(set(named)) == 20  # 10 one by one, 10 more named in their blocks
    assert lines.count(None) == 1  # the rest at no line: one RRN, said once


def test_a_line_past_those_searched_one_by_one_is_named(
    tmp_path: Path, profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each hit past the first texts is at its own line: they were all said at the first of them."""
    monkeypatch.setattr(validators.deid, "MAX_KEPT_ONE_BY_ONE", 5)
    extra = [f"# note {k}" + (f" {RRN}" if k in (3, 24, 31) else "") for k in range(40)]
    root = _batch(tmp_path, extra)
    first = len((root / "SHA256SUMS").read_text().splitlines()) - 40 + 1  # the line of extra[0]
    found = _deid(root, profile)
    assert sorted(f.location.line for f in found) == [first + 3, first + 24, first + 31]


def test_a_large_cp949_list_s_tail_is_said_unsearched(
    tmp_path: Path, profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A list read as CP949 is read half way (each half of the bound read both ways): before, its
    tail was left out without a word."""
    monkeypatch.setattr(dqm.batch, "MANIFEST_UNREAD_CHARS", 2000)
    names = [f"{HASH}  slides/홍길동{k}.png" for k in range(100)]
    root = _batch(tmp_path, [*names, f"# {RRN}"], encoding="cp949")
    assert (root / "SHA256SUMS").stat().st_size > 2000
    assert [f.code for f in _deid(root, profile)] == ["DEID_CHECKSUM_TEXT_UNSEARCHED"]


def test_a_listed_hidden_file_s_name_is_searched(tmp_path: Path, profile: Profile) -> None:
    """A hidden file is not walked, so no name check saw the name the list gives it."""
    root = _batch(tmp_path, [])
    (root / ".x").mkdir()
    (root / ".x" / f"{RRN}.txt").write_text("x")
    with (root / "SHA256SUMS").open("a") as fh:
        fh.write(f"{hashlib.sha256(b'x').hexdigest()}  .x/{RRN}.txt\n")
    found = _deid(root, profile)
    assert [f.code for f in found] == ["DEID_CHECKSUM_TEXT_IDENTIFIER"]
    assert found[0].location.line == len((root / "SHA256SUMS").read_text().splitlines())


def test_a_run_only_a_blocks_join_makes_is_said_beside_a_named_line(
    tmp_path: Path, profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A last review: past the lines searched one by one, an RRN split over two lines of a block
    (``900101-`` / ``1234567``) was dropped when another line of the block held one; it is said at no
    line beside the named one."""
    monkeypatch.setattr(validators.deid, "MAX_KEPT_ONE_BY_ONE", 2)
    root = _batch(tmp_path, ["# a", "# b", "# 900101-", "1234567", "# x 850203-1234567"])
    found = _deid(root, profile)
    assert sorted((f.location.line is None) for f in found) == [False, True], found
