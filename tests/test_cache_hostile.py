"""A result cache that is not what dqm wrote (a FIFO under its name, a planted trigger or view, a
damaged schema) and a clock that moves during or between runs (session 27, writescache)."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest

import dqm.cache
from dqm.cache import DB_NAME, KEEP_DAYS, SERIES_BATCHES, SERIES_CONTEXTS, RecordCache

KEY = "ab" * 32


def _opened(folder: Path, root: Path) -> tuple[RecordCache, list[str]]:
    said: list[str] = []
    return RecordCache(folder, root, "plain", warn=said.append), said


def _made(tmp_path: Path) -> tuple[Path, Path]:
    """A batch folder and a cache folder with one record stored."""
    root, folder = tmp_path / "b", tmp_path / "cache"
    root.mkdir()
    with RecordCache(folder, root, "plain") as cache:
        cache.store_entry(KEY, b"{}")
    return root, folder


def _records(folder: Path) -> int:
    with closing(sqlite3.connect(folder / DB_NAME)) as db:
        return int(db.execute("SELECT count(*) FROM records").fetchone()[0])


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_a_fifo_under_the_database_name_is_said_to_be_one(tmp_path: Path) -> None:
    """SQLite said "disk I/O error" of a FIFO named records.sqlite: no cause the user could act on."""
    folder = tmp_path / "cache"
    folder.mkdir()
    os.mkfifo(folder / DB_NAME)
    cache, said = _opened(folder, tmp_path)
    assert not cache.usable
    assert len(said) == 1 and "records.sqlite is not a regular file" in said[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_a_fifo_or_folder_under_the_journal_name_is_refused(tmp_path: Path, kind: str) -> None:
    """SQLite looks for a hot rollback journal at each open, WAL or not: a FIFO named
    records.sqlite-journal hung the open for ever, a folder there gave "disk I/O error"."""
    root, folder = _made(tmp_path)
    journal = folder / f"{DB_NAME}-journal"
    if kind == "fifo":
        os.mkfifo(journal)
    else:
        journal.mkdir()
    opened: list[tuple[RecordCache, list[str]]] = []
    worker = threading.Thread(target=lambda: opened.append(_opened(folder, root)), daemon=True)
    worker.start()
    worker.join(30)
    if worker.is_alive():  # the guard: a writer end releases the blocked open, so the test ends
        os.close(os.open(journal, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(30)
        pytest.fail("opening the cache hung on a FIFO named records.sqlite-journal")
    cache, said = opened[0]
    assert not cache.usable
    assert len(said) == 1 and "records.sqlite-journal is not a regular file" in said[0]
    os.remove(journal) if kind == "fifo" else journal.rmdir()  # sqlite3 itself would hang on the FIFO
    assert _records(folder) == 1


@pytest.mark.parametrize(
    "planted",
    [
        "CREATE TRIGGER wipe AFTER INSERT ON records BEGIN DELETE FROM records; END",
        "CREATE VIEW shown AS SELECT key FROM records",
    ],
    ids=["trigger", "view"],
)
def test_a_planted_trigger_or_view_leaves_the_run_uncached(tmp_path: Path, planted: str) -> None:
    """A trigger planted in a shared cache ran at each of dqm's writes (here: every record deleted as
    it was stored); dqm makes no trigger nor view, so a cache holding one is not used (nor written)."""
    root, folder = _made(tmp_path)
    with closing(sqlite3.connect(folder / DB_NAME)) as db:
        db.execute(planted)
    cache, said = _opened(folder, root)
    with cache:
        assert not cache.usable
        cache.store_entry("cd" * 32, b"{}")
    kind = planted.split()[1].lower()
    assert len(said) == 1 and f"it holds 1 {kind}, which dqm never makes" in said[0]
    assert _records(folder) == 1


def test_a_view_under_the_series_tables_name_is_refused(tmp_path: Path) -> None:
    """A view named ``series`` passed ``CREATE TABLE IF NOT EXISTS series``: its planted rows were
    read as the remembered series of this batch's folders."""
    root, folder = _made(tmp_path)
    with closing(sqlite3.connect(folder / DB_NAME)) as db:
        db.execute("DROP TABLE series")
        db.execute(
            "CREATE VIEW series AS SELECT 'b' AS batch, 'f' AS folder, 'c' AS context, 's' AS state, "
            "'x' AS series, 0 AS used"
        )
    cache, said = _opened(folder, root)
    assert not cache.usable and "1 view" in said[0]


def test_a_damaged_schema_is_said_not_taken_for_read_only(tmp_path: Path) -> None:
    """Any error making the series table was taken for a read-only cache of session 25 and the
    cache used without it, silently: only read-only, locked and permission errors are; another
    (here an index under the table's name, SQLITE_ERROR) leaves the run uncached, with its reason."""
    root, folder = _made(tmp_path)
    with closing(sqlite3.connect(folder / DB_NAME)) as db:
        db.execute("DROP TABLE series")
        db.execute("CREATE INDEX series ON records (used)")
    cache, said = _opened(folder, root)
    assert not cache.usable
    assert len(said) == 1 and "cannot be used (there is already an index named series)" in said[0]


def test_only_read_only_locked_and_permission_errors_are_read_only() -> None:
    def error(code: int) -> sqlite3.OperationalError:
        exc = sqlite3.OperationalError("x")
        exc.sqlite_errorcode = code  # type: ignore[attr-defined]
        return exc

    readonly_directory = sqlite3.SQLITE_READONLY | (6 << 8)  # an extended code: SQLITE_READONLY_DIRECTORY
    assert all(
        dqm.cache._read_only(error(c))
        for c in (sqlite3.SQLITE_READONLY, readonly_directory, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    )
    assert not any(
        dqm.cache._read_only(error(c))
        for c in (sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_ERROR)
    )
    assert not dqm.cache._read_only(sqlite3.OperationalError("no code"))


def _series_rows(folder: Path) -> list[tuple[str, str, str]]:
    with closing(sqlite3.connect(folder / DB_NAME)) as db:
        return [tuple(r) for r in db.execute("SELECT batch, folder, context FROM series ORDER BY batch")]


def test_a_clock_set_back_keeps_this_runs_series_rows(tmp_path: Path) -> None:
    """Rows written while the clock was a day ahead ranked above this run's: past
    SERIES_BATCHES other batches (or SERIES_CONTEXTS other contexts of the folder), the row this run
    had just written was the one deleted, and its folder read whole again at every run."""
    root, folder = _made(tmp_path)
    later = time.time_ns() + 86_400 * 10**9
    with RecordCache(folder, root, "plain") as cache:
        batch, context = cache._batch, cache._context_id
    with closing(sqlite3.connect(folder / DB_NAME)) as db, db:
        db.executemany(
            "INSERT INTO series VALUES (?, 'f', 'c', 's', 'x', ?)",
            [(f"other{i:02d}", later) for i in range(SERIES_BATCHES)],
        )
        db.executemany(
            "INSERT INTO series VALUES (?, 'mine', ?, 's', 'x', ?)",
            [(batch, f"ctx{i}", later) for i in range(SERIES_CONTEXTS)],
        )
    with RecordCache(folder, root, "plain") as cache:
        cache._series_new["mine"] = ("state", "series")
    rows = _series_rows(folder)
    assert (batch, "mine", context) in rows
    assert len({b for b, _, _ in rows}) == SERIES_BATCHES
    assert len([r for r in rows if r[1] == "mine"]) == SERIES_CONTEXTS


def test_a_clock_set_forward_during_a_run_keeps_its_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The day of a record stored and the day it was pruned against were read apart: a clock set
    forward past KEEP_DAYS between a commit and the close deleted the records the run had stored."""
    root = tmp_path / "b"
    root.mkdir()
    today = dqm.cache._today()
    monkeypatch.setattr(dqm.cache, "_today", lambda: today)
    with RecordCache(tmp_path / "cache", root, "plain") as cache:
        cache.store_entry(KEY, b"{}")
        cache._commit()
        monkeypatch.setattr(dqm.cache, "_today", lambda: today + KEEP_DAYS + 1)
    assert _records(tmp_path / "cache") == 1
