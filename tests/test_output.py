"""The one output writer: atomic files, a staged set, spreadsheet-safe CSV cells; text shown as
it is (:func:`dqm.output.visible`)."""

from __future__ import annotations

import csv
import io
import os
import stat
import sys
import unicodedata
from pathlib import Path
from types import SimpleNamespace

import pytest

from dqm.output import STAGING_MARK, OutputSet, from_spreadsheet, spreadsheet_safe, visible, write_file


@pytest.mark.parametrize("cell", ["=1+1", "+33 1 23", "-cmd|' /C calc'!A0", "@SUM(A1)", "\t=x"])
def test_a_cell_that_would_run_as_a_formula_is_stored_as_text(cell: str) -> None:
    safe = spreadsheet_safe(cell)
    assert safe == "'" + cell
    assert from_spreadsheet(safe) == cell


@pytest.mark.parametrize("cell", ["S00001", "-0.5", "+3", "1e-3", "", "it's fine", "'quoted"])
def test_plain_values_and_numbers_are_left_alone(cell: str) -> None:
    assert spreadsheet_safe(cell) == cell
    assert from_spreadsheet(cell) == cell


def test_a_review_plan_csv_never_starts_a_cell_with_a_formula(tmp_path: Path) -> None:
    from dqm.semantic.planfile import plan_csv

    drawn = SimpleNamespace(
        slide_id='=HYPERLINK("http://x","y")',
        stratum="@evil",
        weight=2.0,
        flagged=False,
        inclusion_probability=0.5,
        core=True,
    )
    plan = SimpleNamespace(sample=[drawn], run_id="20261204T000000Z-0badc0de")
    rows = list(csv.reader(io.StringIO(plan_csv(plan))))  # type: ignore[arg-type]
    assert rows[1][0].startswith("'=") and rows[1][1] == "'@evil" and rows[1][2] == "2.0"


def test_an_output_set_replaces_the_old_set_only_when_complete(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with OutputSet(out) as outputs:
        outputs.write("results.json", "{}")
        outputs.write("report.html", "<p>1</p>")
    with pytest.raises(RuntimeError), OutputSet(out) as outputs:
        outputs.write("results.json", '{"new": true}')
        raise RuntimeError("rendering the report failed")
    assert (out / "results.json").read_text() == "{}"  # the previous complete set stays
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging folder left behind


def test_write_file_masks_text_but_never_binary(tmp_path: Path) -> None:
    def mask(text: str) -> str:
        return text.replace("secret", "[MASKED]")

    assert write_file(tmp_path / "a.txt", "a secret", mask).read_text() == "a [MASKED]"
    assert write_file(tmp_path / "b.bin", b"a secret", mask, binary=True).read_bytes() == b"a secret"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_write_file_writes_text_and_bytes_as_given_creating_folders(tmp_path: Path) -> None:
    text = write_file(tmp_path / "a" / "b" / "t.txt", "größe\n[x, y]")
    assert text.read_bytes() == "größe\n[x, y]".encode()
    raw = write_file(tmp_path / "c" / "r.bin", b"\xff\x00\xfe", binary=True)
    assert raw.read_bytes() == b"\xff\x00\xfe"
    assert write_file(text, b"again").read_bytes() == b"again"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["r.bin", "t.txt"]


def test_outputs_get_the_mode_of_a_plain_write(tmp_path: Path) -> None:
    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert mode(write_file(tmp_path / "w.txt", "x")) == mode(plain)
    old = os.umask(0o077)
    try:
        assert mode(write_file(tmp_path / "private.txt", "x")) == 0o600
    finally:
        os.umask(old)
    with OutputSet(tmp_path / "set") as outputs:
        outputs.write("report.html", "<p>")
    assert mode(tmp_path / "set" / "report.html") == mode(plain)


def test_a_private_file_is_readable_by_its_owner_alone(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        path = write_file(tmp_path / "map.json", "{}", private=True)
        public = write_file(tmp_path / "report.html", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(public.stat().st_mode) == 0o666


def _hidden(ch: str) -> bool:
    """Whether Unicode says ``ch`` shows no glyph of its own: a format character (Cf), a control
    but tab and line feed, a line or paragraph separator, a lone surrogate."""
    category = unicodedata.category(ch)
    return category in ("Cf", "Zl", "Zp", "Cs") or (category == "Cc" and ch not in "\t\n")


def test_visible_escapes_exactly_the_characters_that_do_not_show() -> None:
    """Against this Python's Unicode database, every code point: the list in dqm.output is the
    database's, and nothing that shows (Hangul, CJK, Arabic letters, emoji) is touched. (Format
    characters of a later Unicode than this Python's are unassigned here: Cn.)"""
    changed = [c for c in map(chr, range(sys.maxunicode + 1)) if visible(c) != c]
    assert [c for c in changed if not _hidden(c) and unicodedata.category(c) != "Cn"] == []
    assert [c for c in map(chr, range(sys.maxunicode + 1)) if _hidden(c) and c not in changed] == []


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("evil\u202egpj.svs", "evil\\u202egpj.svs"),
        ("a\u2066b\u2069c\u200ed\u200fe\u061cf", "a\\u2066b\\u2069c\\u200ed\\u200fe\\u061cf"),
        ("S\u200b1 S\u200c1 S\u200d1 S\u20601 \ufeffS1", "S\\u200b1 S\\u200c1 S\\u200d1 S\\u20601 \\ufeffS1"),
        ("tag\U000e0041", "tag\\U000e0041"),
        ("c1\x85 del\x7f nul\x00", "c1\\x85 del\\x7f nul\\x00"),
        ("병변 분류: 선암\t(서울)\n", "병변 분류: 선암\t(서울)\n"),
    ],
)
def test_visible(text: str, shown: str) -> None:
    assert visible(text) == shown
    assert visible(shown) == shown  # an escape is shown as it is: applying it twice changes nothing


def test_a_csv_cell_shows_what_does_not_show() -> None:
    assert spreadsheet_safe("evil\u202egpj.svs") == "evil\\u202egpj.svs"
    assert spreadsheet_safe("\r=x") == "\\x0d=x"  # a carriage return no longer starts a formula
    assert spreadsheet_safe("\u200b=cmd") == "\\u200b=cmd"
    assert spreadsheet_safe("-\u202e1") == "'-\\u202e1"


def test_the_staging_folder_of_a_killed_run_is_removed_by_the_next(tmp_path: Path) -> None:
    """A run killed outright (SIGKILL) while it wrote its outputs left its staging folder beside
    the output folder for ever; one still being written by a live run stays."""
    out = tmp_path / "out"
    dead = tmp_path / ".out.staging.k1ll3d_x"  # as a run killed after writing results.json leaves it
    dead.mkdir()
    (dead / "results.json").write_text("{")
    (dead / STAGING_MARK).touch()
    kept = tmp_path / ".out.staging.old"  # a user's folder, not named as mkdtemp names one
    kept.mkdir()
    backup = tmp_path / ".out.staging.backup01"  # named as mkdtemp could, but without dqm's mark
    backup.mkdir()
    inside = out / ".dqm-staging.deadbeef"  # as one is made now: inside the output folder
    inside.mkdir(parents=True)
    (inside / "report.html").write_text("<p>")
    (inside / STAGING_MARK).touch()
    with OutputSet(out) as live:
        live.write("results.json", "{}")
        with OutputSet(out) as outputs:
            outputs.write("results.json", "{}")
        assert not dead.exists() and not inside.exists() and kept.is_dir() and backup.is_dir()
        assert len([p for p in out.iterdir() if p.name.startswith(".dqm-staging.")]) == 1  # the live run's
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.staging.backup01", ".out.staging.old", "out"]
    assert sorted(p.name for p in out.iterdir()) == [".dqm-commit.lock", "results.json"]


def _flushes_and_renames(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """The ``fsync`` (the path flushed) and ``os.replace`` (the name taken) calls from now on, in order."""
    import os

    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src: object, dst: object, **kwargs: object) -> None:
        events.append(("rename", str(dst)))
        real_replace(src, dst, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return events


def test_write_file_flushes_the_file_before_its_name_and_the_folder_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """write_file renamed a file it had never flushed: after a power cut the rename could be on the
    disk and the data not, an empty file under the final name. Now the temporary file is flushed,
    then renamed, then its folder is flushed; the files of an output set are flushed once, at the
    commit (not twice)."""

    events = _flushes_and_renames(monkeypatch)
    target = write_file(tmp_path / "out" / "results.json", "{}")
    assert len(events) == 3, events
    (k1, flushed), (k2, renamed), (k3, folder) = events
    assert (k1, k2, k3) == ("fsync", "rename", "fsync")
    assert flushed.startswith(str(target.parent / ".results.json.")) and renamed == str(target)
    assert folder == str(target.parent)
    events.clear()
    with OutputSet(tmp_path / "set") as outputs:
        outputs.write("a.json", "{}")
        assert [e for e in events if e[0] == "fsync"] == []  # staged: flushed with the set
    flushed_files = [p for kind, p in events if kind == "fsync" and p.endswith("a.json")]
    assert len(flushed_files) == 1


def test_a_run_starts_by_removing_the_staging_folders_killed_runs_left(tmp_path: Path) -> None:
    """A run killed between making its staging folder and marking it left a folder no later run
    removed, and leftovers were removed only once a run had its outputs to write, silently. Now
    the run lock's holder removes, at the start, every staging folder of this user that no live
    run holds and no commit record names, marked or not, and says which."""
    import fcntl
    import os

    from dqm.output import settle

    out = tmp_path / "out"
    unmarked = out / ".dqm-staging.dead0000"  # killed before its mark: it holds nothing
    unmarked.mkdir(parents=True)
    marked = out / ".dqm-staging.dead0001"
    marked.mkdir()
    (marked / STAGING_MARK).touch()
    held = out / ".dqm-staging.c0ffee00"  # a live run's: flock held
    held.mkdir()
    fd = os.open(held, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(fd, fcntl.LOCK_SH)
    others = out / ".dqm-staging.0e0e0000"  # another user's
    others.mkdir()
    os.chown(others, os.geteuid() + 1, -1) if os.geteuid() == 0 else None
    mine = out / ".dqm-staging.notours"  # not a name OutputSet makes (7 characters)
    mine.mkdir()
    try:
        removed = settle(out)
    finally:
        os.close(fd)
    assert removed == [".dqm-staging.dead0000", ".dqm-staging.dead0001"]
    assert not unmarked.exists() and not marked.exists() and held.is_dir() and mine.is_dir()
    assert others.is_dir() or os.geteuid() != 0
    assert settle(tmp_path / "empty") == []


def test_the_cli_says_which_leftovers_it_removed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from dqm.cli.common import locked

    out = tmp_path / "out"
    (out / ".dqm-staging.dead0000").mkdir(parents=True)
    with locked(out, "--out"):
        pass
    err = capsys.readouterr().err
    assert "removed 1 staging folder(s)" in err and ".dqm-staging.dead0000" in err
    assert not (out / ".dqm-staging.dead0000").exists()


def test_a_users_folder_named_like_a_staging_folder_is_never_removed(tmp_path: Path) -> None:
    """Clean-up took any ``.dqm-staging.`` + 8 of ``[a-z0-9_]`` for a staging folder and removed it
    unmarked: a user's ``out/.dqm-staging.backup01/my-notes.txt`` was deleted. Only the names dqm
    makes (8 hex digits) are staging folders now, and one without dqm's mark is removed only when
    it is empty (dqm marks its own before it stages anything)."""
    from dqm.output import settle

    out = tmp_path / "out"
    kept = [out / ".dqm-staging.backup01", out / ".dqm-staging.0bac0001"]  # a word; hex, but holding notes
    for folder in kept:
        folder.mkdir(parents=True)
        (folder / "my-notes.txt").write_text("mine")
    empty = out / ".dqm-staging.dead0000"
    empty.mkdir()
    assert settle(out) == [empty.name]
    assert all((folder / "my-notes.txt").read_text() == "mine" for folder in kept)
    with OutputSet(out) as outputs:
        outputs.write("results.json", "{}")
    assert all((folder / "my-notes.txt").read_text() == "mine" for folder in kept)


def test_a_file_batch_flushes_each_group_once_and_keeps_what_was_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FileBatch writes many files as durably as write_file (each flushed before it takes its
    name, its folder after) with one fsync a file and one a folder per group, not two a file; at
    most ``group`` are pending; an exception in the block keeps the files written whole and leaves
    no temporary file."""

    from dqm.output import FileBatch

    events = _flushes_and_renames(monkeypatch)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError), FileBatch(group=2, threads=2) as batch:
        for k in range(5):
            batch.write(out / f"{k}.json", f'{{"k": {k}}}')
            assert len(batch._pending) < 2  # flushed every 2
        raise RuntimeError("the command fails after the fifth")
    assert sorted(p.name for p in out.iterdir()) == [f"{k}.json" for k in range(5)]
    assert (out / "4.json").read_text() == '{"k": 4}'
    renamed = [p for kind, p in events if kind == "rename"]
    flushed = [p for kind, p in events if kind == "fsync"]
    assert len(renamed) == 5 and len(flushed) == 5 + 3  # each file once, the folder once a group
    for k in range(5):  # a file's data on the disk before it takes its name
        name = str(out / f"{k}.json")
        first = next(i for i, (kind, p) in enumerate(events) if kind == "fsync" and f".{k}.json." in p)
        assert first < events.index(("rename", name))
    assert flushed.count(str(out)) == 3


def test_no_writer_replaces_a_fifo_and_an_output_set_keeps_its_previous_set(tmp_path: Path) -> None:
    """write_file, a FileBatch and an OutputSet each refuse a name held by a FIFO (a device, a
    socket, a folder or a link to one alike), raising NotReplaceable with the name and leaving it as it is."""
    from dqm.output import FileBatch, NotReplaceable

    fifo = tmp_path / "x.json"
    os.mkfifo(fifo)
    with pytest.raises(NotReplaceable) as refused:
        write_file(fifo, "{}")
    assert refused.value.filename == str(fifo)
    with pytest.raises(NotReplaceable), FileBatch() as batch:
        batch.write(fifo, "{}")
    out = tmp_path / "out"
    with OutputSet(out) as first:
        first.write("results.json", "1")
    os.mkfifo(out / "report.html")
    with pytest.raises(NotReplaceable), OutputSet(out) as second:
        second.write("results.json", "2")
        second.write("report.html", "<p>")
    assert (out / "results.json").read_text() == "1" and stat.S_ISFIFO(os.lstat(out / "report.html").st_mode)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "x.json"]


def test_json_visible_escapes_hidden_characters_and_round_trips() -> None:
    """results.json's strings hold a right-to-left override, a C1 control, a line separator and a
    tag character past U+FFFF as JSON escapes (a surrogate pair), parsed back to the same text."""
    import json

    from dqm.output import json_visible

    value = {"slide": "evil\u202egpj\u200b\x85\u2028\U000e0001 서울", "n": 1}
    text = json_visible(json.dumps(value, ensure_ascii=False))
    assert text.isprintable() and "서울" in text
    assert "\\u202e" in text and "\\udb40\\udc01" in text
    assert json.loads(text) == value


def test_json_visible_passes_ascii_json_through_at_once() -> None:
    """A results.json of ASCII alone (most are) holds nothing to escape but DEL: 16 MB pass in
    well under 0.1 s of CPU (a regex over every character took about 0.5 s); a DEL among them is
    still escaped."""
    import time

    from dqm.output import json_visible

    text = '{"slide": "slides/S1.svs", "n": 1}, ' * 450_000
    started = time.process_time()
    assert json_visible(text) is text
    assert time.process_time() - started < 0.1
    assert json_visible(text + '"a\x7fb"').endswith('"a\\u007fb"')
