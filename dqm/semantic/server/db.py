"""The review database (``REVIEW_DIR/review.sqlite``): reviewers and an append-only verdict log.

SQLite in WAL mode with ``synchronous=FULL``: a verdict the server has answered for is on disk,
so killing the server loses nothing committed, and a restarted server resumes where each reviewer
stopped. The log is append-only, enforced by the database itself (triggers abort any UPDATE or
DELETE of a verdict row): every change a reviewer makes is a new row with who and when, and the
current verdict of a reviewer on a slide is the latest row (highest ``id``) for that pair.

Read only (``dqm review ingest`` and ``export``, and serve's check before its first write), a
database is read without writing a byte beside it (:func:`_read_uri`): with no ``-wal`` or
``-journal`` it is opened ``immutable``, which takes no lock, so a writer starting during the read
could change pages under it (dqm holds SQLite's shared lock meanwhile, :class:`_SharedLock`, so
that a WAL writer's ``-wal`` stays); :meth:`ReviewDB.export` compares the files after the read with
what they were before and reads again where they changed. Serve's check reads the same way without
that comparison (a wrong answer there is only a refusal, or a database its write open reads again).

Reviewers are stored with the SHA-256 of their token, never the token: tokens are 256-bit random
strings, so a plain hash cannot be reversed by trying candidates, and a stolen database file does
not let anyone sign in.
"""

from __future__ import annotations

import datetime as dt
import errno
import functools
import hashlib
import os
import re
import secrets
import shutil
import sqlite3
import stat
import struct
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: no shared lock (_SharedLock)
    fcntl = None  # type: ignore[assignment]

from dqm.findings import clip
from dqm.i18n import msg
from dqm.semantic.models import REASONS, VERDICTS_FORMAT, ReviewFinding
from dqm.semantic.verdicts import VerdictFile, read_verdict_document, read_verdict_file

DB_NAME = "review.sqlite"
SCHEMA_VERSION = 1
VERDICTS = ("pass", "fail", "")
"""A verdict row's value; the empty string withdraws the reviewer's verdict on that slide."""
MAX_COMMENT = 4000
MAX_NAME = 120
ENDED = "ended:"
"""What an ended token's hash starts with (:meth:`ReviewDB.end_token`): no SHA-256 in hex does."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reviewers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    token_sha256 TEXT NOT NULL UNIQUE,
    adjudicator INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS verdict_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reviewer_id INTEGER NOT NULL REFERENCES reviewers(id),
    slide_id TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('pass', 'fail', '')),
    reasons TEXT NOT NULL DEFAULT '',
    comment TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS verdict_log_pair ON verdict_log (reviewer_id, slide_id, id);
CREATE TRIGGER IF NOT EXISTS verdict_log_no_update BEFORE UPDATE ON verdict_log
BEGIN SELECT RAISE(ABORT, 'the verdict log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS verdict_log_no_delete BEFORE DELETE ON verdict_log
BEGIN SELECT RAISE(ABORT, 'the verdict log is append-only'); END;
CREATE TABLE IF NOT EXISTS not_reviewable (
    slide_id TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    nonce TEXT PRIMARY KEY,
    reviewer_id INTEGER NOT NULL REFERENCES reviewers(id),
    issued INTEGER NOT NULL,
    seen INTEGER NOT NULL
);
"""


@functools.cache
def _our_schema() -> dict[tuple[str, str], str | None]:
    """(type, name) → SQL of each entry :data:`_SCHEMA` makes, as SQLite keeps it."""
    con = sqlite3.connect(":memory:")
    try:
        con.executescript(_SCHEMA)
        return {
            (str(k), str(n)): sql for k, n, sql in con.execute("SELECT type, name, sql FROM sqlite_master")
        }
    finally:
        con.close()


_SECRET = re.compile(r"[0-9a-fA-F]{64}")
"""The session key as dqm writes it (``secrets.token_hex(32)``): an empty or short key signs
cookies anyone can forge."""


class ReviewDBError(ValueError):
    """The database cannot be used (not a dqm review database, another plan, bad input)."""


@dataclass(frozen=True, slots=True)
class Reviewer:
    id: int
    name: str
    adjudicator: bool
    token_sha256: str


@dataclass(frozen=True, slots=True)
class LogRow:
    """One row of the verdict log."""

    id: int
    reviewer: str
    slide_id: str
    verdict: str
    reasons: tuple[str, ...]
    comment: str
    created_at: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def now() -> str:
    """UTC time with microseconds, ISO 8601."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


class ReviewDB:
    """One review's database. Thread-safe: one connection per thread, writes serialised."""

    def __init__(self, path: Path, plan_id: str | None = None, readonly: bool = False) -> None:
        self.path = path
        self.readonly = readonly
        self._local = threading.local()
        self._write = threading.RLock()
        self._open: list[sqlite3.Connection] = []
        self.unreadable: dict[str, None] = {}
        """Why each row of another program's types was left out by the reads so far."""
        self._copy: tempfile.TemporaryDirectory[str] | None = None
        """Read only, of a database with a ``-wal`` file: the folder of its private copy (:func:`_read_uri`)."""
        self._plan = plan_id
        self._lock: _SharedLock | None = None
        """Read ``immutable``: SQLite's shared lock on the file, held until :meth:`close`."""
        self._stamps: list[Any] | None = None
        """Read ``immutable`` (no lock is taken): what the files were before the first read
        (:func:`_stamps`), compared after :meth:`export`."""
        if readonly:
            try:
                self._open_read()
            except BaseException:
                self.close()
                raise
            return
        if path.is_symlink():  # written through, a link to a missing file made it anywhere
            raise ReviewDBError(
                msg(
                    "{path} is a symbolic link: dqm writes a review database only as a file of its "
                    "review folder (it would write where the link points)",
                    path=path,
                )
            )
        self._refuse_foreign()  # before the first write: a refused file is left as it was
        with self._write:  # executescript commits on its own: the schema is idempotent DDL
            self._con().executescript(_SCHEMA)
        with self._tx() as con:
            got = self._meta_rows()
            if not got:
                con.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [
                        ("format", "dqm.review_db/1"),
                        ("schema", str(SCHEMA_VERSION)),
                        ("plan_id", plan_id or ""),
                        ("secret", secrets.token_hex(32)),
                    ],
                )
            elif got.get("format") != "dqm.review_db/1":
                raise ReviewDBError(msg("{path} is not a dqm review database", path=path))
            else:
                self._known_schema(got)
            self._same_plan(got, plan_id)
            if got and plan_id and not got.get("plan_id"):
                con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('plan_id', ?)", (plan_id,))

    def _open_read(self) -> None:
        """Open the database read only (:func:`_read_uri`) and check it is a review database of a
        schema this dqm knows, of this plan."""
        self._lock = _SharedLock(self.path)  # before the stamps: a writer after them is kept visible
        stamps = _stamps(self.path)
        self._uri = _read_uri(self.path, self._copy_folder)
        self._stamps = (stamps or []) if "immutable=1" in self._uri else None
        if self._stamps is None:  # a copy is read: no lock needed on the file
            self._lock.release()
        got = self._meta_rows()
        if got.get("format") != "dqm.review_db/1":
            raise ReviewDBError(msg("{path} is not a dqm review database", path=self.path))
        self._known_schema(got)
        self._same_plan(got, self._plan)

    def _refuse_foreign(self) -> None:
        """Refuse, reading it read-only, an existing file that is not a review database of a schema
        this dqm knows: a newer dqm's, or another program's SQLite file. Creating our tables in it,
        or only switching it to WAL, would write to a file that is not ours.

        With dqm ``meta`` rows, it holds nothing but what our schema makes (tables, index,
        triggers). Without them, it is a new database only when empty, or holding nothing but
        entries of our schema exactly as it makes them (same SQL), each table empty (a first
        open stopped before its ``meta`` rows): an empty ``meta (key, value)`` of another program,
        its ``reviewers`` rows or a view are refused. It is read as :func:`_read_uri` reads it:
        nothing is written beside the refused file.

        Read ``immutable`` (no ``-wal`` or ``-journal`` beside it), the check takes no lock, as
        :meth:`export`'s read: it is compared with the files as they were before it and, where
        they changed, made again, up to :data:`COPY_TRIES` times (then refused, to be tried
        again); where they cannot be compared (not a regular file, or unreadable) the first check
        is final, a failing one refused with its own reason. A check that a writer tore (refused: "malformed") or that passed before the writer
        added a table of its own is not the file's word. A writer after the last check is still
        not seen (until the write connection's lock), as with the super-journal (:meth:`_con`).

        SQLite's own tables (``sqlite_stat1`` and the like, made by ``ANALYZE`` or ``PRAGMA
        optimize``, as the ``sqlite3`` shell or DB Browser may run) are not another program's
        entries: no one else may name a table ``sqlite_…``."""
        try:
            if not self.path.exists() or self.path.stat().st_size == 0:
                return
        except OSError:
            return  # the write connection reports it
        for _ in range(COPY_TRIES):
            lock = _SharedLock(self.path)  # held through the check and the comparison after it
            try:
                stamps = _stamps(self.path)
                with tempfile.TemporaryDirectory(prefix="dqm-review-") as folder:
                    uri = _read_uri(self.path, lambda: Path(folder))
                    try:
                        self._check_foreign(uri)
                    except ReviewDBError:
                        # the file's own word: nothing changed under the check, or nothing can tell
                        # (not a regular file, unreadable: made again, it fails again; a directory
                        # named review.sqlite was retried 5 times, then "a server is writing to it")
                        if "immutable=1" not in uri or stamps is None or _stamps(self.path) == stamps:
                            raise
                        continue
                if "immutable=1" not in uri or stamps is None or _stamps(self.path) == stamps:
                    return
            finally:
                lock.release()
        raise ReviewDBError(
            msg(
                "{path} changed each time it was read ({n} times): a server is writing to it; try again",
                path=self.path,
                n=COPY_TRIES,
            )
        )

    def _check_foreign(self, uri: str) -> None:
        """:meth:`_refuse_foreign` on the database that ``uri`` opens read only."""
        try:
            con = sqlite3.connect(uri, uri=True, timeout=30)
        except sqlite3.DatabaseError as exc:
            raise ReviewDBError(
                msg("{path} cannot be opened as an SQLite database: {reason}", path=self.path, reason=exc)
            ) from None
        try:
            ours = _our_schema()
            entries = {
                (str(kind), str(name)): sql
                for kind, name, sql in con.execute("SELECT type, name, sql FROM sqlite_master")
                if (str(kind), str(name)) in ours or not str(name).startswith("sqlite_")
            }
            tables = {name for kind, name in entries if kind == "table"}
            got = dict(con.execute("SELECT key, value FROM meta").fetchall()) if "meta" in tables else {}
            foreign = set(entries) - set(ours)
            if not got and not foreign:
                foreign = {entry for entry, sql in entries.items() if ours[entry] != sql}
                foreign |= {
                    ("table", name)
                    for name in tables
                    if con.execute(f'SELECT 1 FROM "{name}" LIMIT 1').fetchone() is not None
                }
        except sqlite3.DatabaseError as exc:
            raise ReviewDBError(
                msg("{path} is not a dqm review database: {reason}", path=self.path, reason=exc)
            ) from None
        finally:
            con.close()
        if got:
            if got.get("format") != "dqm.review_db/1":
                raise ReviewDBError(msg("{path} is not a dqm review database", path=self.path))
            self._known_schema(got)
        if foreign:
            raise ReviewDBError(msg("{path} is not a dqm review database", path=self.path))

    def _same_plan(self, got: dict[str, str], plan_id: str | None) -> None:
        """Refuse a database bound to another plan than ``plan_id`` (when given)."""
        if got and plan_id and got.get("plan_id") and got["plan_id"] != plan_id:
            raise ReviewDBError(
                msg(
                    "{path} belongs to another review plan ({other}…, this plan {plan}…): "
                    "a new sample needs a new review folder",
                    path=self.path,
                    other=str(got["plan_id"])[:12],
                    plan=plan_id[:12],
                )
            )

    def _known_schema(self, got: dict[str, str]) -> None:
        """Refuse a database of a schema this dqm does not know (a newer dqm's: its tables may
        mean other things, and writing to it would mix two schemas) or whose cookie key is not
        the hex this dqm writes (the server would stop at its first request)."""
        schema = str(got.get("schema", ""))
        if not (schema.isascii() and schema.isdigit() and 1 <= int(schema) <= SCHEMA_VERSION):
            raise ReviewDBError(
                msg(
                    "{path} has review database schema {schema}: this dqm reads schema {known} "
                    "(a newer dqm wrote it?)",
                    path=self.path,
                    schema=repr(clip(schema, 20)),
                    known=SCHEMA_VERSION,
                )
            )
        if not self.readonly and not _SECRET.fullmatch(str(got.get("secret", ""))):
            raise ReviewDBError(
                msg(
                    "{path}: the review database's session key is not the 64 hexadecimal digits dqm writes",
                    path=self.path,
                )
            )

    # ------------------------------------------------------------------ connections
    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            try:
                if self.readonly:
                    con = sqlite3.connect(
                        self._uri,
                        uri=True,
                        timeout=30,
                        check_same_thread=False,
                    )
                else:
                    with self._write:  # no other open of ours between the check and SQLite's lock
                        self._no_super_beside()
                        con = sqlite3.connect(
                            self.path, timeout=30, isolation_level=None, check_same_thread=False
                        )
                        con.execute("PRAGMA journal_mode=WAL")
                    con.execute("PRAGMA synchronous=FULL")
                    con.execute("PRAGMA foreign_keys=ON")
            except sqlite3.DatabaseError as exc:
                raise ReviewDBError(
                    msg("{path} cannot be opened as an SQLite database: {reason}", path=self.path, reason=exc)
                ) from None
            self._local.con = con
            with self._write:
                self._open.append(con)
        return con

    def _no_super_beside(self) -> None:
        """Refuse, just before a write connection's first read, a ``-journal`` beside the database
        that names a super-journal (:func:`_no_super`): SQLite rolls a hot journal back at that
        read and then deletes the super-journal it names. :meth:`_refuse_foreign` checked a copy
        earlier, but a journal written into the folder since (while the database was copied to be
        checked: up to :data:`DB_CAP` bytes) reached SQLite unchecked. What remains is the time
        between this check and SQLite's lock (microseconds, and only at the first connection: a
        WAL connection keeps its shared lock, so no later one can roll a journal back)."""
        journal = Path(f"{self.path}-journal")
        try:
            _no_super(journal, journal)
        except FileNotFoundError:
            return
        except _Unread as exc:
            raise ReviewDBError(str(exc)) from None
        except OSError:
            return  # SQLite cannot read it either: its open reports it

    def _meta_rows(self) -> dict[str, str]:
        try:
            return dict(self._con().execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            raise ReviewDBError(
                msg("{path} is not a dqm review database: {reason}", path=self.path, reason=exc)
            ) from None

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        con = self._con()
        with self._write:
            try:
                con.execute("BEGIN IMMEDIATE")
                yield con
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def meta(self, key: str) -> str | None:
        row = self._con().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    @property
    def secret(self) -> bytes:
        """The key that signs session cookies (kept in the database, so sessions survive a restart)."""
        return bytes.fromhex(self.meta("secret") or "")

    @property
    def plan_id(self) -> str:
        return self.meta("plan_id") or ""

    # ------------------------------------------------------------------ reviewers
    def add_reviewer(self, name: str, adjudicator: bool = False, rotate: bool = False) -> str:
        """Register ``name`` and return a new token (shown once; only its hash is stored).

        ``rotate`` gives an existing reviewer a new token (the old one and its sessions stop working).

        Raises
        ------
        ReviewDBError
            For an empty or over-long name, or an existing name without ``rotate``.
        """
        name = name.strip()
        if not name or len(name) > MAX_NAME or not name.isprintable():
            raise ReviewDBError(msg("a reviewer's name is 1 to {n} printable characters", n=MAX_NAME))
        token = secrets.token_urlsafe(32)
        with self._tx() as con:
            row = con.execute("SELECT id FROM reviewers WHERE name = ?", (name,)).fetchone()
            if row is not None and not rotate:
                raise ReviewDBError(
                    msg("reviewer {name} exists already (give --rotate for a new token)", name=repr(name))
                )
            if row is None:
                con.execute(
                    "INSERT INTO reviewers (name, token_sha256, adjudicator, created_at) VALUES (?, ?, ?, ?)",
                    (name, token_hash(token), int(adjudicator), now()),
                )
            else:
                # the reviewers table is not the audit trail; a new token replaces the old one
                con.execute(
                    "UPDATE reviewers SET token_sha256 = ?, adjudicator = ? WHERE id = ?",
                    (token_hash(token), int(adjudicator), row[0]),
                )
                con.execute("DELETE FROM sessions WHERE reviewer_id = ?", (row[0],))
        return token

    def end_token(self, reviewer: Reviewer) -> bool:
        """End ``reviewer``'s token (a bearer request's sign-out): no token of theirs works any more
        (the hash stored in its place, ``ended:`` and random, is no SHA-256 of anything), and the
        sessions signed in with it end, until ``add_reviewer(..., rotate=True)`` gives them a new
        one. Only while the token is still the one ``reviewer`` was read with: a token rotated
        meanwhile is not ended. Whether it was ended."""
        with self._tx() as con:
            ended = con.execute(
                "UPDATE reviewers SET token_sha256 = ? WHERE id = ? AND token_sha256 = ?",
                (f"{ENDED}{secrets.token_hex(16)}", reviewer.id, reviewer.token_sha256),
            ).rowcount
            if ended:
                con.execute("DELETE FROM sessions WHERE reviewer_id = ?", (reviewer.id,))
        return bool(ended)

    def reviewer_by_token(self, token: str) -> Reviewer | None:
        if not token or len(token) > 200:
            return None
        row = (
            self._con()
            .execute(
                "SELECT id, name, adjudicator, token_sha256 FROM reviewers WHERE token_sha256 = ?",
                (token_hash(token),),
            )
            .fetchone()
        )
        return None if row is None else Reviewer(row[0], row[1], bool(row[2]), row[3])

    def reviewer_by_id(self, rid: int) -> Reviewer | None:
        """The reviewer of id ``rid``, or None (also for an id SQLite cannot hold: a session cookie
        naming 10^30 raised OverflowError, a 500 for anyone)."""
        if not 0 < rid < 2**63:
            return None
        row = (
            self._con()
            .execute("SELECT id, name, adjudicator, token_sha256 FROM reviewers WHERE id = ?", (rid,))
            .fetchone()
        )
        return None if row is None else Reviewer(row[0], row[1], bool(row[2]), row[3])

    def reviewers(self) -> list[Reviewer]:
        rows = self._con().execute("SELECT id, name, adjudicator, token_sha256 FROM reviewers ORDER BY id")
        return [Reviewer(r[0], r[1], bool(r[2]), r[3]) for r in rows]

    # ------------------------------------------------------------------ sessions
    def open_session(self, reviewer: Reviewer, nonce: str, issued: int, idle: int) -> None:
        """Record a signed-in session (its cookie's nonce), and forget the sessions nobody used
        for ``idle`` seconds (a table that only grows would hold every sign-in ever made)."""
        with self._tx() as con:
            con.execute("DELETE FROM sessions WHERE seen < ?", (issued - idle,))
            con.execute(
                "INSERT INTO sessions (nonce, reviewer_id, issued, seen) VALUES (?, ?, ?, ?)",
                (nonce, reviewer.id, issued, issued),
            )

    def session_seen(self, reviewer: Reviewer, nonce: str) -> int | None:
        """When the session ``nonce`` of ``reviewer`` was last used (a Unix time), or None when it
        was never opened or has ended (signed out, the token rotated)."""
        row = (
            self._con()
            .execute("SELECT seen FROM sessions WHERE nonce = ? AND reviewer_id = ?", (nonce, reviewer.id))
            .fetchone()
        )
        return None if row is None else int(row[0])

    def session_used(self, nonce: str, when: int) -> None:
        """Note that the session ``nonce`` was used at ``when``."""
        with self._tx() as con:
            con.execute("UPDATE sessions SET seen = MAX(seen, ?) WHERE nonce = ?", (when, nonce))

    def end_session(self, nonce: str) -> None:
        """End the session ``nonce`` (sign-out): its cookie is refused from now on."""
        with self._tx() as con:
            con.execute("DELETE FROM sessions WHERE nonce = ?", (nonce,))

    # ------------------------------------------------------------------ the log
    def record(
        self, reviewer: Reviewer, slide_id: str, verdict: str, reasons: Sequence[str] = (), comment: str = ""
    ) -> LogRow:
        """Append one verdict row and return it (committed when this returns).

        A PASS keeps no reason; reasons outside :data:`REASONS` are refused, as are over-long comments.
        """
        if verdict not in VERDICTS:
            raise ReviewDBError(
                msg("verdict must be pass, fail or empty, not {verdict}", verdict=repr(clip(verdict, 20)))
            )
        bad = [r for r in reasons if r not in REASONS]
        if bad:
            raise ReviewDBError(
                msg(
                    "unknown reason {reason}: use {choices}",
                    reason=repr(clip(bad[0], 40)),
                    choices=", ".join(REASONS),
                )
            )
        if len(comment) > MAX_COMMENT:
            raise ReviewDBError(msg("a comment holds at most {n} characters", n=MAX_COMMENT))
        if verdict and slide_id in self.not_reviewable():
            raise ReviewDBError(
                msg("the slide is not the file the audit checked: it takes no verdict (see its image)")
            )
        kept = tuple(dict.fromkeys(reasons)) if verdict == "fail" else ()
        stamp = now()
        with self._tx() as con:
            cur = con.execute(
                "INSERT INTO verdict_log (reviewer_id, slide_id, verdict, reasons, comment, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (reviewer.id, slide_id, verdict, ";".join(kept), comment, stamp),
            )
            rid = int(cur.lastrowid or 0)
        return LogRow(rid, reviewer.name, slide_id, verdict, kept, comment, stamp)

    def mark_not_reviewable(self, slide_id: str, reason: str) -> None:
        """Record that the server refused slide ``slide_id`` (masked, as the plan names it) as not
        the file the audit checked (``reason``, the refusal as shown), and when: its verdicts are
        refused from then on and left out of :meth:`export` (those given before kept), which lists
        it as not reviewable. The first reason is kept."""
        with self._tx() as con:
            con.execute(
                "INSERT OR IGNORE INTO not_reviewable (slide_id, reason, created_at) VALUES (?, ?, ?)",
                (slide_id, clip(reason, MAX_COMMENT), now()),
            )

    def not_reviewable(self) -> dict[str, tuple[str, str]]:
        """Slide id → (reason, when) of each slide :meth:`mark_not_reviewable` recorded; none in a
        database of an older dqm opened read only (no such table)."""
        try:
            rows = self._con().execute("SELECT slide_id, reason, created_at FROM not_reviewable").fetchall()
        except sqlite3.OperationalError:
            return {}
        out = {}
        for n, row in enumerate(rows, 1):
            bad = next(
                ((name, v) for name, v in zip(_REFUSED_COLUMNS, row, strict=True) if not isinstance(v, str)),
                None,
            )
            if bad is None:
                out[row[0]] = (row[1], row[2])
            else:
                why = msg(
                    "not-reviewable row {n}: {column} is {kind}, not text: the row is not read",
                    n=n,
                    column=bad[0],
                    kind=_kind(bad[1]),
                )
                self.unreadable[why] = None
        return out

    def log(self, reviewer: Reviewer | None = None, slide_id: str | None = None) -> list[LogRow]:
        """Every row (of one reviewer on one slide, when given), oldest first: the audit trail."""
        where, args = (
            ("WHERE v.reviewer_id = ? AND v.slide_id = ?", (reviewer.id, slide_id)) if reviewer else ("", ())
        )
        rows = self._con().execute(
            f"SELECT {_LOG_COLUMNS} "
            f"FROM verdict_log v LEFT JOIN reviewers r ON r.id = v.reviewer_id {where} ORDER BY v.id",
            args,
        )
        return self._rows(rows)

    def current(self, reviewer: Reviewer | None = None) -> list[LogRow]:
        """The latest row per reviewer and slide (of one reviewer, or all), withdrawn ones included.

        Only rows whose id is an integer count (another program's untyped table may hold others:
        SQLite orders text after every integer, so a row ``'x'`` was the latest and, refused, hid
        the valid verdict before it); each other row is named in :attr:`unreadable`."""
        where, args = ("WHERE v.reviewer_id = ?", (reviewer.id,)) if reviewer else ("", ())
        con = self._con()
        rows = con.execute(
            f"SELECT {_LOG_COLUMNS} "
            "FROM verdict_log v LEFT JOIN reviewers r ON r.id = v.reviewer_id "
            "JOIN (SELECT reviewer_id, slide_id, MAX(id) AS last FROM verdict_log "
            "WHERE typeof(id) = 'integer' GROUP BY reviewer_id, slide_id) m "
            f"ON m.last = v.id {where} ORDER BY v.id",
            args,
        )
        out = self._rows(rows)
        odd = con.execute(
            f"SELECT {_LOG_COLUMNS} FROM verdict_log v LEFT JOIN reviewers r ON r.id = v.reviewer_id "
            + (f"{where} AND " if where else "WHERE ")
            + "typeof(v.id) != 'integer'",
            args,
        )
        self._rows(odd)  # each named in unreadable: none is an integer id
        return out

    def _rows(self, rows: Iterable[Sequence[Any]]) -> list[LogRow]:
        """The log rows whose columns have the types this dqm writes; each other row is named in
        :attr:`unreadable` and left out (another program's table: SQLite keeps any type in any
        column, and a verdict compared or joined as the wrong type was a crash or a silent loss)."""
        out = []
        for r in rows:
            row = _row(r)
            if isinstance(row, str):
                self.unreadable[row] = None
            else:
                out.append(row)
        return out

    def disagreements(self, slide_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Slides on which at least two reviewers (adjudicators not counted) gave different verdicts."""
        judges = {r.name for r in self.reviewers() if not r.adjudicator}
        by_slide: dict[str, list[LogRow]] = {}
        for row in self.current():
            if row.verdict and row.reviewer in judges:
                by_slide.setdefault(row.slide_id, []).append(row)
        out = []
        for slide in slide_ids:
            rows = by_slide.get(slide, [])
            if len(rows) >= 2 and len({r.verdict for r in rows}) > 1:
                out.append(
                    {
                        "slide_id": slide,
                        "verdicts": [
                            {
                                "reviewer": r.reviewer,
                                "verdict": r.verdict,
                                "reasons": list(r.reasons),
                                "comment": r.comment,
                                "reviewed_at": r.created_at,
                            }
                            for r in sorted(rows, key=lambda r: r.reviewer)
                        ],
                    }
                )
        return out

    def export(self) -> dict[str, Any]:
        """The current verdicts as a ``dqm.verdicts/1`` document (the shape ``dqm review ingest`` reads);
        a slide the server refused as not the audited file (:meth:`mark_not_reviewable`) is listed
        under ``not_reviewable`` with its reason and when it was refused (``refused_at``), and a
        verdict on it is exported only where it was given before that. Each was: the server takes
        none after (:meth:`record`), and it takes one only after checking the slide against the
        audit's record (:meth:`~dqm.semantic.server.tiles.TileSource.check_audited`; what the
        reviewer was shown was checked at its open and after each read), so one given before the
        refusal labels the audited slide, whether in this server's run or an earlier one. (A
        verdict given at the same microsecond as the refusal is not kept.)

        Read ``immutable`` (:func:`_read_uri`: no ``-wal`` or ``-journal`` beside it), the database
        is read without a lock: a writer that started meanwhile (a server, the ``sqlite3`` shell)
        could have changed pages under the read. The files are compared with what they were
        before the first read (inode, size, modification time, header; a ``-wal`` or ``-journal``
        that appeared) and, where they changed, read again, up to :data:`COPY_TRIES` times (with
        a ``-wal`` now beside it, from a copy); then refused, to be tried again. A read that fails
        (``sqlite3.DatabaseError``: pages changed under it read as "database disk image is
        malformed") is read again the same way where the files changed, and raised where they did
        not (it failed a hard finding while the writer had only torn it). The reopen of a read
        again is inside the same watch: its ``meta`` read can be torn as well."""
        for attempt in range(COPY_TRIES):
            try:
                if attempt:  # read again, from the files as they are now
                    self.close()
                    self.unreadable.clear()
                    self._open_read()
                doc = self._export()
            except sqlite3.DatabaseError:  # a read torn by a writer ("malformed"): read again
                if self._stamps is None or _stamps(self.path) == self._stamps:
                    raise  # nothing changed: the file itself is bad
            else:
                if self._stamps is None or _stamps(self.path) == self._stamps:
                    return doc
        raise ReviewDBError(
            msg(
                "{path} changed each time it was read ({n} times): a server is writing to it; try again",
                path=self.path,
                n=COPY_TRIES,
            )
        )

    def _export(self) -> dict[str, Any]:
        refused = self.not_reviewable()
        return {
            "format": VERDICTS_FORMAT,
            "plan_id": self.plan_id,
            "not_reviewable": [
                {"slide_id": sid, "reason": why, "refused_at": at}
                for sid, (why, at) in sorted(refused.items())
            ],
            "verdicts": [
                {
                    "slide_id": r.slide_id,
                    "reviewer": r.reviewer,
                    "verdict": r.verdict,
                    "reason": ";".join(r.reasons),
                    "comment": r.comment,
                    "reviewed_at": r.created_at,
                }
                for r in self.current()
                if r.verdict and (r.slide_id not in refused or r.created_at < refused[r.slide_id][1])
            ],
        }

    def close(self) -> None:
        """Close every thread's connection (the server's worker threads each opened one)."""
        with self._write:
            for con in self._open:
                con.close()
            self._open.clear()
            if self._copy is not None:
                self._copy.cleanup()
                self._copy = None
            if self._lock is not None:
                self._lock.release()
        self._local = threading.local()

    def _copy_folder(self) -> Path:
        """A private folder for the copy :func:`_read_uri` reads, removed by :meth:`close`."""
        if self._copy is None:
            self._copy = tempfile.TemporaryDirectory(prefix="dqm-review-")
        return Path(self._copy.name)


COPY_TRIES = 5
"""Copies of a database with a ``-wal`` file :func:`_read_uri` makes at most while a server keeps writing."""

SIDE_CAP = 256 << 20
"""Bytes a ``-wal`` or ``-journal`` beside a review database is copied up to; a larger one is refused.
A server's ``-wal`` stays near SQLite's auto-checkpoint (1,000 pages of 4 KiB: about 4 MiB), a
server killed mid-run leaves it as it was, and a hot ``-journal`` holds at most the pages of the
database it undoes (a review of 20,000 verdicts is 5.6 MB): 256 MiB is over 40 times either. A
``-wal`` that is a symlink to ``/dev/zero`` or a sparse file of 1 TB (nothing on disk) filled the
temporary folder."""

DB_CAP = 4 << 30
"""Bytes a review database beside a ``-wal`` or ``-journal`` is copied up to; a larger one is refused.
A review of 20,000 verdicts is 5.6 MB: 4 GiB is over 700 times that, and still leaves a few runs
at once room in the temporary folder. A sparse ``review.sqlite`` of 8 GiB (nothing on disk) beside
an empty ``-wal`` was copied in full (only a file over half the free space was refused)."""

SUPER_MAGIC = bytes.fromhex("d9d505f920a163d7")
"""The 8 bytes that end a rollback journal naming a super-journal (SQLite's file format: the
journal ends with the super-journal's name, its length and checksum, 4 bytes each, then these)."""

_SIDES = ("-wal", "-journal")
"""What SQLite keeps beside a database: its write-ahead log, or the rollback journal of a writer
that died mid-transaction (``DELETE`` journal mode), which SQLite rolls back before reading."""


class _Unread(Exception):
    """Why a file beside a review database is not copied (:func:`_copy`)."""


def _open_regular(path: Path) -> tuple[int, os.stat_result]:
    """``path`` opened for reading (a symlink followed, as SQLite follows it) and its status.

    Raises
    ------
    _Unread
        When it is not a regular file (a device such as ``/dev/zero``, a FIFO, a folder).
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise _Unread(msg("{name} is not a regular file: it is not read", name=path))
    return fd, st


SHARED_RANGE = (0x40000000 + 2, 510)
"""SQLite's shared byte range of a database file (its unix VFS: ``PENDING_BYTE + 2``, 510 bytes):
a reader holds a read lock on it, a writer's ``EXCLUSIVE`` lock is a write lock on it."""


class _SharedLock:
    """SQLite's ``SHARED`` lock on a database file, held by a read that takes none of its own (an
    ``immutable`` one): an open file description lock (Linux's ``F_OFD_SETLK``), which conflicts
    with SQLite's own locks in this process as in others, and which closing another descriptor of
    the file does not drop. While it is held a rollback-mode writer cannot write the file (it
    waits or gets ``SQLITE_BUSY``, as under any reader), and a WAL-mode writer's last close cannot
    take the ``EXCLUSIVE`` lock it needs to remove its ``-wal``: a writer that opened, wrote,
    checkpointed and closed within one tick of the file clock changed no inode, size, modification
    time or header (WAL mode bumps no change counter), and the read it tore was taken as the
    file's; now its ``-wal`` stays, and the files compare changed. Where the system has no such
    lock, or it cannot be taken (a writer holds the file now), nothing is held: the comparison of
    the files is all there is, as before."""

    def __init__(self, path: Path) -> None:
        self._fd: int | None = None
        setlk = getattr(fcntl, "F_OFD_SETLK", None) if fcntl is not None else None
        if setlk is None:
            return
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(errno.EINVAL, "not a regular file")
            # struct flock: l_type, l_whence, l_start, l_len, l_pid (0 for an OFD lock)
            lock = struct.pack("hhqqi4x", fcntl.F_RDLCK, os.SEEK_SET, *SHARED_RANGE, 0)
            fcntl.fcntl(fd, setlk, lock)
        except OSError:
            os.close(fd)
            return
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _stamp(path: Path) -> tuple[int, int, int, bytes] | None:
    """What changes when ``path`` is written (its inode, size, modification time and first 100
    bytes: SQLite's database header with its change counter, a ``-wal``'s checkpoint sequence and
    salts, which a checkpoint restarting the log changes in the same clock tick), None when absent."""
    try:
        fd, st = _open_regular(path)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as fh:
        return (st.st_ino, st.st_size, st.st_mtime_ns, fh.read(100))


def _stamps(path: Path) -> list[Any] | None:
    """The :func:`_stamp` of the database ``path`` (resolved, as :func:`_read_uri` reads it) and of
    its ``-wal`` and ``-journal``; None where one cannot be taken (never equal: read again, and
    :func:`_read_uri` says why)."""
    try:
        path = path.resolve()
        return [_stamp(path), *(_stamp(Path(f"{path}{side}")) for side in _SIDES)]
    except (_Unread, OSError, RuntimeError):
        return None


def _copy(source: Path, into: Path, cap: int | None) -> None:
    """Copy the regular file ``source`` (at most its size when opened, and no more than ``cap``
    bytes, :data:`DB_CAP` when None: the database) to ``into``, refusing it when it would not
    leave the temporary folder half free. Only its data is copied (:func:`_data_runs`): a hole
    stays a hole, so a sparse file costs what it takes on disk, not its size. The free space is
    weighed against the data runs the copy will write, not the blocks the file takes: where the
    file system cannot tell its holes (generic ``lseek``: NFSv3, many FUSE file systems) it is all
    of it (a sparse file of 64 MiB taking 4 KiB, checked by its blocks, was let through and then
    written in full)."""
    fd, st = _open_regular(source)
    with os.fdopen(fd, "rb") as fh:
        if cap is None and st.st_size > DB_CAP:
            raise _Unread(
                msg(
                    "{name} is {size} bytes, more than the {cap} bytes dqm copies of a review "
                    "database to read it with its log or journal: it is not read",
                    name=source,
                    size=st.st_size,
                    cap=DB_CAP,
                )
            )
        if cap is not None and st.st_size > cap:
            raise _Unread(
                msg(
                    "{name} is {size} bytes, more than the {cap} bytes a review database's "
                    "log or journal holds: it is not read",
                    name=source,
                    size=st.st_size,
                    cap=cap,
                )
            )
        runs = list(_data_runs(fh.fileno(), st.st_size))
        free = shutil.disk_usage(into.parent).free
        if sum(end - start for start, end in runs) > free // 2:  # what the copy will write
            raise _Unread(
                msg(
                    "{name} is {size} bytes: copying it to read it would fill the temporary folder "
                    "({free} bytes free)",
                    name=source,
                    size=st.st_size,
                    free=free,
                )
            )
        os.lseek(fh.fileno(), 0, os.SEEK_SET)  # where the reader (nothing read yet) takes it to be
        with into.open("wb") as out:
            for start, end in runs:
                fh.seek(start)
                out.seek(start)
                left = end - start
                while left > 0:
                    chunk = fh.read(min(left, 1 << 20))
                    if not chunk:
                        break
                    out.write(chunk)
                    left -= len(chunk)
                if left:  # it shrank while copied: the stamps tell, and it is copied again
                    break
            out.truncate(st.st_size)  # the holes stay holes: a sparse file costs what it holds


def _data_runs(fd: int, size: int) -> Iterator[tuple[int, int]]:
    """The ``(start, end)`` byte ranges of the open file ``fd`` below ``size`` that hold data,
    its holes left out (``SEEK_DATA`` / ``SEEK_HOLE``); the whole of it where the system or the
    file system cannot tell. A sparse ``review.sqlite`` of 3.9 GiB (nothing on disk) beside a
    ``-wal`` was copied in full: 3.9 GiB written to the temporary folder to read it."""
    seek_data, seek_hole = getattr(os, "SEEK_DATA", None), getattr(os, "SEEK_HOLE", None)
    if seek_data is None or seek_hole is None:
        yield 0, size
        return
    pos = 0
    while pos < size:
        try:
            start = os.lseek(fd, pos, seek_data)
            end = os.lseek(fd, start, seek_hole)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # no data after pos: a hole to the end
                return
            yield pos, size  # not supported here: all of it
            return
        if start >= size:
            return
        end = min(end, size)
        if end <= start:  # a file system that cannot tell: all of it
            yield start, size
            return
        yield start, end
        pos = end


def _no_super(journal: Path, copy: Path) -> None:
    """Refuse the copy ``copy`` of the ``-journal`` ``journal`` when it names a super-journal
    (it ends with :data:`SUPER_MAGIC`): after rolling such a journal back SQLite deletes the file
    it names when that file does not list the journal, wherever it is, so reading a hostile
    review folder deleted a file of the user's. dqm never writes a transaction over several
    databases; the name is not cleared either, which would roll back one that committed.

    Raises
    ------
    _Unread
        When it names one.
    """
    fd, _ = _open_regular(copy)  # the input's own journal too (serve): a FIFO does not block
    with os.fdopen(fd, "rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size < 16:
            return
        fh.seek(size - 16)
        tail = fh.read(16)
        if tail[8:] != SUPER_MAGIC:
            return
        length = int.from_bytes(tail[:4], "big")
        fh.seek(max(0, size - 16 - min(length, 4096)))
        name = fh.read(min(length, 4096, max(0, size - 16))).split(b"\0", 1)[0]
    raise _Unread(
        msg(
            "{name} names a super-journal ({super}), which only a transaction over several "
            "databases writes and dqm never does: rolling it back would delete that file; it is not read",
            name=journal,
            super=repr(clip(name.decode("utf-8", "replace"), 200)),
        )
    )


def _read_uri(path: Path, folder: Callable[[], Path]) -> str:
    """The URI that reads the database ``path`` without writing a byte beside it.

    SQLite's read-only open (``mode=ro``) of a WAL database is not one: without ``-wal`` and
    ``-shm`` files it made them beside the database (``dqm review ingest`` of a review folder left
    them in it), with a ``-wal`` file and no ``-shm`` it made the ``-shm``, and with both (a server
    still running) it wrote its read marks in the ``-shm``. Without a ``-wal`` or ``-journal`` file
    it is opened ``immutable`` (nothing uncommitted to read, and no file is made or locked: a
    writer that starts meanwhile is not kept out; :meth:`ReviewDB.export` reads again then). With
    one, the database and each of them are copied into ``folder()`` and the copy is read: the
    WAL's committed transactions included, as SQLite recovers them after a crash, and a hot
    journal's transaction rolled back (the copy is opened for writing so that SQLite can; read
    ``immutable``, the rows a writer that died mid-transaction left were read as verdicts). Copied
    again, up to :data:`COPY_TRIES` times, while any file changed during the copy (a server
    writing). ``path`` is resolved first: SQLite keeps them beside a symlink's target, and looking
    beside the link read a served database without its ``-wal``.

    Raises
    ------
    ReviewDBError
        When a file is not a regular one, a ``-wal`` or ``-journal`` is over :data:`SIDE_CAP`, a
        file cannot be copied, or they kept changing.
    """
    try:
        path = path.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop: RuntimeError before Python 3.13
        raise ReviewDBError(msg("{name} cannot be read: {reason}", name=path, reason=exc)) from None
    sides = [Path(f"{path}{side}") for side in _SIDES]
    source = path
    try:
        if all(_stamp(side) is None for side in sides):
            return f"{path.as_uri()}?mode=ro&immutable=1"
        into = folder() / "review.sqlite"
        for _ in range(COPY_TRIES):
            source = path
            before = [_stamp(path), *(_stamp(side) for side in sides)]
            _copy(path, into, None)
            for side, suffix, was in zip(sides, _SIDES, before[1:], strict=True):
                source = side
                Path(f"{into}{suffix}").unlink(missing_ok=True)
                if was is not None:
                    _copy(side, Path(f"{into}{suffix}"), SIDE_CAP)
                    if suffix == "-journal":  # before SQLite opens the copy for writing
                        _no_super(side, Path(f"{into}{suffix}"))
            source = path
            if [_stamp(path), *(_stamp(side) for side in sides)] == before:
                return f"{into.as_uri()}?mode={'ro' if before[2] is None else 'rw'}"
    except _Unread as exc:
        raise ReviewDBError(str(exc)) from None
    except OSError as exc:
        raise ReviewDBError(
            msg("{name} cannot be read: {reason}", name=source, reason=exc.strerror or exc)
        ) from None
    raise ReviewDBError(
        msg(
            "{path} changed each time it was read ({n} times): a server is writing to it; try again",
            path=path,
            n=COPY_TRIES,
        )
    )


def read_verdict_db(path: Path) -> VerdictFile:
    """The current verdicts of a review database, read like a verdict file (never raises).

    Opened read-only: ingesting a review that is still being served changes nothing in it.
    """
    try:
        db = ReviewDB(path, readonly=True)
        try:
            doc = db.export()
        finally:
            db.close()
    except (ReviewDBError, sqlite3.DatabaseError) as exc:
        return VerdictFile(
            str(path),
            [],
            [
                ReviewFinding(
                    code="VERDICT_FILE_UNREADABLE", severity="error", message=str(exc), file=str(path)
                )
            ],
        )
    out = read_verdict_document(doc, str(path))
    out.findings[:0] = [
        ReviewFinding(code="VERDICT_FILE_UNREADABLE", severity="error", message=why, file=str(path))
        for why in dict.fromkeys(db.unreadable)
    ]
    return out


def read_verdict_source(path: Path) -> VerdictFile:
    """A verdict file (CSV / JSON) or a review database, told apart by content."""
    return read_verdict_db(path) if is_sqlite(path) else read_verdict_file(path)


_LOG_COLUMNS = "v.id, v.reviewer_id, r.name, v.slide_id, v.verdict, v.reasons, v.comment, v.created_at, r.id"
_REFUSED_COLUMNS = ("slide_id", "reason", "created_at")


def _kind(value: object) -> str:
    """The SQLite storage class of a value as read (``NULL``, ``INTEGER``, ``REAL``, ``TEXT``, ``BLOB``)."""
    if value is None:
        return "NULL"
    return {int: "INTEGER", float: "REAL", str: "TEXT", bytes: "BLOB"}.get(type(value), type(value).__name__)


def _row(r: Sequence[Any]) -> LogRow | str:
    """A log row (``_LOG_COLUMNS``), or why it cannot be read: a column not of the type this dqm
    writes (an integer ``created_at`` compared with a text one stopped ``dqm review ingest``), a
    ``reviewer_id`` that names no reviewer (the verdict was dropped in silence), or one whose
    reviewer's name is not text (said apart: it names one)."""
    if not isinstance(r[0], int):
        return msg(
            "verdict log row {id} of slide {slide}: the id is not an integer: the row is not read",
            id=repr(clip(str(r[0]), 40)),
            slide=repr(clip(str(r[3]), 40)),
        )
    if not isinstance(r[1], int) or r[8] is None:
        return msg(
            "verdict log row {id}: reviewer_id {value} names no reviewer: the row is not read",
            id=r[0],
            value=repr(clip(str(r[1]), 40)),
        )
    if not isinstance(r[2], str):  # a reviewer of another program's table, its name NULL or a number
        return msg(
            "verdict log row {id}: the name of reviewer {value} is {kind}, not text: the row is not read",
            id=r[0],
            value=repr(clip(str(r[1]), 40)),
            kind=_kind(r[2]),
        )
    for name, value in zip(("slide_id", "verdict", "reasons", "comment", "created_at"), r[3:8], strict=True):
        if not isinstance(value, str):
            return msg(
                "verdict log row {id}: {column} is {kind}, not text: the row is not read",
                id=r[0],
                column=name,
                kind=_kind(value),
            )
    return LogRow(r[0], r[2], r[3], r[4], tuple(x for x in r[5].split(";") if x), r[6], r[7])


def is_sqlite(path: Path) -> bool:
    """Whether the file starts with SQLite's magic (a folder or an unreadable file is not)."""
    try:
        with path.open("rb") as fh:
            return fh.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False
