"""The review database: append-only log, current verdicts, resuming, blinding data, export/ingest."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from dqm.i18n import translated
from dqm.semantic.server.db import ReviewDB, ReviewDBError, is_sqlite, read_verdict_db, read_verdict_source
from dqm.semantic.verdicts import read_verdict_files
from tests.helpers import within


@pytest.fixture
def db(tmp_path: Path) -> ReviewDB:
    return ReviewDB(tmp_path / "review.sqlite", "plan-1")


FOREIGN_LOG = """
CREATE TABLE meta (key TEXT, value TEXT);
INSERT INTO meta VALUES ('format', 'dqm.review_db/1'), ('schema', '1');
CREATE TABLE reviewers (id, name, token_sha256, adjudicator, created_at);
INSERT INTO reviewers VALUES (1, 'r1', 'h', 0, 'now');
CREATE TABLE verdict_log (id, reviewer_id, slide_id, verdict, reasons, comment, created_at);
"""
"""Another program's tables under dqm's names and ``meta`` rows: columns without types (SQLite
keeps any type in them), reviewer 1 ``r1``, an empty log."""

SqliteFile = Callable[..., Path]


@pytest.fixture
def sqlite_file(tmp_path: Path) -> SqliteFile:
    """``make(ddl, *rows, name=)``: the file ``review.sqlite`` (or ``name``) dqm did not write, made by the SQL
    script ``ddl`` and then each ``(statement, parameters)`` of ``rows`` (values a script cannot
    hold: blobs, reals, NULL)."""

    def make(ddl: str, *rows: tuple[str, tuple[object, ...]], name: str = "review.sqlite") -> Path:
        path = tmp_path / name
        con = sqlite3.connect(path)
        try:
            con.executescript(ddl)
            for statement, params in rows:
                con.execute(statement, params)
            con.commit()
        finally:
            con.close()
        return path

    return make


def test_only_the_token_hash_is_stored(db: ReviewDB) -> None:
    token = db.add_reviewer("Dr. Kim")
    assert db.reviewer_by_token(token).name == "Dr. Kim"
    assert db.reviewer_by_token(token + "x") is None and db.reviewer_by_token("") is None
    db.close()
    assert token.encode() not in db.path.read_bytes()
    with pytest.raises(ReviewDBError, match="exists already"):
        db.add_reviewer("Dr. Kim")
    new = db.add_reviewer("Dr. Kim", rotate=True)
    assert db.reviewer_by_token(token) is None and db.reviewer_by_token(new).name == "Dr. Kim"
    with pytest.raises(ReviewDBError, match="printable"):
        db.add_reviewer("a\nb")


def test_the_log_is_append_only_and_the_latest_row_counts(db: ReviewDB) -> None:
    kim = db.reviewer_by_token(db.add_reviewer("Dr. Kim"))
    db.record(kim, "S1", "pass")
    db.record(kim, "S1", "fail", ["wrong_class", "wrong_class"], "is SCC")
    db.record(kim, "S2", "fail", ["other"])
    db.record(kim, "S2", "")  # withdrawn
    log = db.log()
    assert [(r.slide_id, r.verdict) for r in log] == [
        ("S1", "pass"),
        ("S1", "fail"),
        ("S2", "fail"),
        ("S2", ""),
    ]
    current = {r.slide_id: r for r in db.current(kim)}
    assert current["S1"].verdict == "fail" and current["S1"].reasons == ("wrong_class",)
    assert current["S2"].verdict == ""
    assert [v["slide_id"] for v in db.export()["verdicts"]] == ["S1"]  # a withdrawn verdict is not exported
    con = sqlite3.connect(db.path)
    for sql in ("UPDATE verdict_log SET verdict = 'pass'", "DELETE FROM verdict_log"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            con.execute(sql)
    con.close()
    with pytest.raises(ReviewDBError, match="unknown reason"):
        db.record(kim, "S1", "fail", ["because"])
    with pytest.raises(ReviewDBError, match="pass, fail or empty"):
        db.record(kim, "S1", "maybe")


def test_a_new_process_resumes_every_committed_verdict(tmp_path: Path) -> None:
    first = ReviewDB(tmp_path / "review.sqlite", "plan-1")
    kim = first.reviewer_by_token(first.add_reviewer("Dr. Kim"))
    for i in range(5):
        first.record(kim, f"S{i}", "pass")
    # no close: a killed server does not close its connections either
    again = ReviewDB(tmp_path / "review.sqlite", "plan-1")
    assert len(again.current()) == 5 and again.secret == first.secret
    with pytest.raises(ReviewDBError, match="another review plan"):
        ReviewDB(tmp_path / "review.sqlite", "plan-2")


def test_disagreements_need_two_judges_and_ignore_the_adjudicator(db: ReviewDB) -> None:
    kim = db.reviewer_by_token(db.add_reviewer("Kim"))
    lee = db.reviewer_by_token(db.add_reviewer("Lee"))
    boss = db.reviewer_by_token(db.add_reviewer("Park", adjudicator=True))
    db.record(kim, "S1", "pass")
    assert db.disagreements(["S1"]) == []  # one verdict: nothing to adjudicate yet
    db.record(lee, "S1", "fail", ["missed_lesion"])
    db.record(kim, "S2", "pass")
    db.record(lee, "S2", "pass")
    db.record(boss, "S2", "fail", ["other"])
    rows = db.disagreements(["S1", "S2"])
    assert [r["slide_id"] for r in rows] == ["S1"]
    assert [(v["reviewer"], v["verdict"]) for v in rows[0]["verdicts"]] == [("Kim", "pass"), ("Lee", "fail")]


def test_ingest_reads_the_database_like_a_verdict_file(
    db: ReviewDB, tmp_path: Path, sqlite_file: SqliteFile
) -> None:
    kim = db.reviewer_by_token(db.add_reviewer("Kim"))
    db.record(kim, "S1", "pass")
    db.record(kim, "S2", "fail", ["boundary_too_loose"], "too wide")
    assert is_sqlite(db.path) and not is_sqlite(tmp_path)
    got = read_verdict_db(db.path)
    assert got.plan_id == "plan-1" and not got.findings
    assert [(r.slide_id, r.verdict, r.reasons, r.comment) for r in got.records] == [
        ("S1", "pass", (), ""),
        ("S2", "fail", ("boundary_too_loose",), "too wide"),
    ]
    csv_file = tmp_path / "lee.csv"
    csv_file.write_text("slide_id,reviewer,verdict\nS1,Lee,pass\n")
    files = read_verdict_files([db.path, csv_file], read=read_verdict_source)
    assert [r.order for f in files for r in f.records] == [0, 1, 2]
    bad = read_verdict_db(sqlite_file("CREATE TABLE t (x)", name="junk.sqlite"))
    assert not bad.records and bad.findings[0].code == "VERDICT_FILE_UNREADABLE"


def _set_meta(path: Path, key: str, value: object) -> None:
    con = sqlite3.connect(path)
    con.execute("UPDATE meta SET value = ? WHERE key = ?", (value, key))
    con.commit()
    con.close()


@pytest.mark.parametrize("schema", ["2", "99", "", "1.5", "٢", 2])
def test_a_database_of_an_unknown_schema_is_refused_for_writing_and_ingest(
    tmp_path: Path, schema: object
) -> None:
    """A newer dqm's database was opened and written to as this dqm's schema, and ingested as if
    its tables meant what this dqm's mean."""
    path = tmp_path / "review.sqlite"
    ReviewDB(path, "plan-1").close()
    _set_meta(path, "schema", schema)
    with pytest.raises(ReviewDBError, match="this dqm reads schema 1"):
        ReviewDB(path, "plan-1")
    (finding,) = read_verdict_db(path).findings
    assert finding.code == "VERDICT_FILE_UNREADABLE" and "schema" in finding.message


def test_a_session_key_that_is_not_hex_is_refused_when_the_database_opens(tmp_path: Path) -> None:
    """``secret`` stopped the server at its first request with a ValueError."""
    path = tmp_path / "review.sqlite"
    ReviewDB(path, "plan-1").close()
    _set_meta(path, "secret", "zz")
    with pytest.raises(ReviewDBError, match="session key"):
        ReviewDB(path, "plan-1")


@pytest.mark.parametrize("bad_id", ["abc", 1.5, b"\x07"])
def test_a_verdict_row_whose_id_is_no_integer_is_an_unreadable_file_not_a_crash(
    sqlite_file: SqliteFile, bad_id: object
) -> None:
    """Another program's table (SQLite keeps any type in a column declared without one) stopped
    ``dqm review ingest`` with ``int()``'s ValueError."""
    path = sqlite_file(
        FOREIGN_LOG, ("INSERT INTO verdict_log VALUES (?, 1, 'S1', 'pass', '', '', 'now')", (bad_id,))
    )
    (finding,) = read_verdict_db(path).findings
    assert finding.code == "VERDICT_FILE_UNREADABLE" and "not an integer" in finding.message


@pytest.mark.parametrize("bad_id", ["x", 99.5, b"\x07"])
def test_a_row_whose_id_is_no_integer_does_not_hide_the_valid_verdict_before_it(
    sqlite_file: SqliteFile, bad_id: object
) -> None:
    """SQLite orders text (and blobs) after every integer: a row ``'x'`` was the reviewer's latest
    on its slide, refused, and the valid verdict before it was lost without a word."""
    path = sqlite_file(
        FOREIGN_LOG
        + "INSERT INTO verdict_log VALUES (1, 1, 'S0', 'pass', '', '', 'a');"
        + "INSERT INTO verdict_log VALUES (2, 1, 'S1', 'pass', '', '', 'b');"
        + "CREATE TABLE not_reviewable (slide_id, reason, created_at);",
        ("INSERT INTO verdict_log VALUES (?, 1, 'S1', 'fail', 'other', '', 'c')", (bad_id,)),
    )
    got = read_verdict_db(path)
    assert sorted((r.slide_id, r.verdict) for r in got.records) == [("S0", "pass"), ("S1", "pass")]
    (finding,) = got.findings
    assert "not an integer" in finding.message and "'S1'" in finding.message
    assert "not read" in finding.message


def _bytes_of(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.parent.iterdir())}


@pytest.mark.parametrize("journal", ["WAL", "DELETE"])
def test_a_refused_database_is_left_as_it_was(tmp_path: Path, journal: str) -> None:
    """A newer dqm's database was refused only after this dqm had created its tables, index and
    triggers in it (and switched it to WAL): refused, it was still written to. In WAL mode (the
    one dqm writes) the read-only check itself made ``-wal`` and ``-shm`` files beside it."""
    path = tmp_path / "review.sqlite"
    ReviewDB(path, "plan-1").close()
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA journal_mode={journal}")
    con.execute("UPDATE meta SET value = '2' WHERE key = 'schema'")
    con.executescript("DROP TABLE sessions; DROP TRIGGER verdict_log_no_delete; DROP INDEX verdict_log_pair;")
    con.commit()
    con.close()
    before = _bytes_of(path)
    with pytest.raises(ReviewDBError, match="this dqm reads schema 1"):
        ReviewDB(path, "plan-1")
    assert _bytes_of(path) == before


@pytest.mark.parametrize("state", ["closed", "served", "wal without shm"])
def test_ingest_writes_nothing_beside_a_review_database(tmp_path: Path, state: str) -> None:
    """``dqm review ingest`` (a read-only open) of a review folder made ``-wal`` and ``-shm`` files
    in it (a closed WAL database), made the ``-shm`` of a ``-wal`` left by a crash, and wrote its
    read marks in the ``-shm`` of a server still running. The verdicts still in the ``-wal`` are
    read."""
    path = tmp_path / "review.sqlite"
    db = ReviewDB(path, "plan-1")
    kim = db.reviewer_by_token(db.add_reviewer("Kim"))
    db.record(kim, "S1", "pass")
    db.record(kim, "S2", "fail", ["other"])
    if state == "closed":
        db.close()
    elif state == "wal without shm":  # a crash's -wal, copied without the -shm (or the -shm removed)
        folder = tmp_path / "copy"
        folder.mkdir()
        for name in ("review.sqlite", "review.sqlite-wal"):
            (folder / name).write_bytes((tmp_path / name).read_bytes())
        db.close()
        path = folder / "review.sqlite"
        assert (folder / "review.sqlite-wal").stat().st_size > 0
    before = _bytes_of(path)
    got = read_verdict_db(path)
    assert not got.findings
    assert [(r.slide_id, r.verdict) for r in got.records] == [("S1", "pass"), ("S2", "fail")]
    assert _bytes_of(path) == before
    if state == "served":  # the server goes on
        db.record(kim, "S3", "pass")
        assert [r.slide_id for r in read_verdict_db(path).records] == ["S1", "S2", "S3"]
        db.close()


def test_a_refused_database_with_a_wal_is_left_as_it_was(tmp_path: Path) -> None:
    """The check that refuses a newer dqm's database read one with a ``-wal`` file (a crash's, or a
    newer server's still running) with SQLite's read-only open: it made the ``-shm`` beside it."""
    path = tmp_path / "review.sqlite"
    ReviewDB(path, "plan-1").close()
    _set_meta(path, "schema", "2")
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("INSERT INTO meta VALUES ('newer', 'x')")
    con.commit()
    keep = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    con.close()
    for name, data in keep.items():  # what a crash leaves: -wal, and no -shm
        if not name.endswith("-shm"):
            (tmp_path / name).write_bytes(data)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["review.sqlite", "review.sqlite-wal"]
    before = _bytes_of(path)
    with pytest.raises(ReviewDBError, match="this dqm reads schema 1"):
        ReviewDB(path, "plan-1")
    assert _bytes_of(path) == before


@pytest.mark.parametrize("meta", [False, True])
def test_another_programs_sqlite_file_is_refused_and_left_as_it_was(
    sqlite_file: SqliteFile, meta: bool
) -> None:
    """A foreign SQLite file (a table of its own, no dqm ``meta``) was opened without complaint
    and turned into a review database."""
    path = sqlite_file(
        "CREATE TABLE t (x);"
        + (
            "CREATE TABLE meta (key TEXT, value TEXT); INSERT INTO meta VALUES ('format', 'other/1');"
            if meta
            else ""
        )
    )
    before = _bytes_of(path)
    with pytest.raises(ReviewDBError, match="not a dqm review database"):
        ReviewDB(path, "plan-1")
    assert _bytes_of(path) == before


@pytest.mark.parametrize(
    "ddl",
    [
        "CREATE TABLE meta (key TEXT, value TEXT)",
        "CREATE TABLE reviewers (a, b); INSERT INTO reviewers VALUES ('x', 'y')",
        "CREATE VIEW v AS SELECT 1",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); CREATE VIEW v AS SELECT 1",
    ],
)
def test_a_file_with_nothing_but_our_table_names_is_refused_unless_it_is_ours(
    sqlite_file: SqliteFile, ddl: str
) -> None:
    """Only an empty ``meta`` table, only a ``reviewers`` table with another program's rows, or
    only a view: another program's files, opened and written as review databases."""
    path = sqlite_file(ddl)
    before = _bytes_of(path)
    with pytest.raises(ReviewDBError, match="not a dqm review database"):
        ReviewDB(path, "plan-1")
    assert _bytes_of(path) == before


def test_a_first_open_stopped_before_its_meta_rows_is_a_new_database(tmp_path: Path) -> None:
    path = tmp_path / "review.sqlite"
    ReviewDB(path, "plan-1").close()
    con = sqlite3.connect(path)
    con.execute("DROP TRIGGER verdict_log_no_delete")
    con.execute("DELETE FROM meta")
    con.commit()
    con.close()
    db = ReviewDB(path, "plan-2")
    assert db.meta("plan_id") == "plan-2"
    db.close()


@pytest.mark.parametrize("meta", [True, False])
def test_a_review_database_analyzed_by_sqlite_is_still_ours(tmp_path: Path, meta: bool) -> None:
    """``ANALYZE`` (or ``PRAGMA optimize``, as the ``sqlite3`` shell or DB Browser may run) adds
    SQLite's own ``sqlite_stat1``: the review database was refused as not a dqm review database,
    and its reviewers were locked out."""
    path = tmp_path / "review.sqlite"
    db = ReviewDB(path, "plan-1")
    if meta:
        db.record(db.reviewer_by_token(db.add_reviewer("Dr. Kim")), "S1", "pass")
    db.close()
    con = sqlite3.connect(path)
    if not meta:  # a first open stopped before its meta rows, then analyzed
        con.execute("DELETE FROM meta")
    con.execute("INSERT INTO meta VALUES ('x', 'y')")  # ANALYZE keeps stats of a table with rows
    con.execute("ANALYZE")
    con.execute("PRAGMA optimize")
    con.execute("DELETE FROM meta WHERE key = 'x'")
    con.commit()
    assert con.execute("SELECT count(*) FROM sqlite_stat1").fetchone()[0] > 0
    con.close()
    db = ReviewDB(path, "plan-1")
    assert db.meta("plan_id") == "plan-1"
    assert [r.slide_id for r in db.current()] == (["S1"] if meta else [])
    db.close()


def test_an_empty_file_becomes_a_review_database(tmp_path: Path) -> None:
    path = tmp_path / "review.sqlite"
    path.touch()
    db = ReviewDB(path, "plan-1")
    assert db.meta("format") == "dqm.review_db/1" and len(db.secret) == 32
    db.close()


@pytest.mark.parametrize("secret", ["", "00", "ab cd", "0" * 63, "0" * 65, "0" * 64 + "\n", None])
def test_a_session_key_not_of_64_hex_digits_is_refused(tmp_path: Path, secret: str | None) -> None:
    """``bytes.fromhex`` took an empty, missing or 1-byte key: cookies signed with it."""
    path = tmp_path / "review.sqlite"
    ReviewDB(path, "plan-1").close()
    if secret is None:
        con = sqlite3.connect(path)
        con.execute("DELETE FROM meta WHERE key = 'secret'")
        con.commit()
        con.close()
    else:
        _set_meta(path, "secret", secret)
    with pytest.raises(ReviewDBError, match="session key"):
        ReviewDB(path, "plan-1")


def _foreign_log(
    sqlite_file: SqliteFile,
    row: tuple[object, ...],
    refused: tuple[object, ...] | None = None,
    *more: tuple[str, tuple[object, ...]],
) -> Path:
    """:data:`FOREIGN_LOG` with a good row (slide S0), ``row``, a ``not_reviewable`` table holding
    ``refused`` where given, then ``more``."""
    return sqlite_file(
        FOREIGN_LOG
        + "INSERT INTO verdict_log VALUES (1, 1, 'S0', 'pass', '', '', 'now');"
        + "CREATE TABLE not_reviewable (slide_id, reason, created_at);",
        ("INSERT INTO verdict_log VALUES (?, ?, ?, ?, ?, ?, ?)", row),
        *([("INSERT INTO not_reviewable VALUES (?, ?, ?)", refused)] if refused else []),
        *more,
    )


@pytest.mark.parametrize(
    ("row", "refused", "why"),
    [
        ((2, 1, "S1", "pass", "", "", 5), ("S1", "x", "2026"), "row 2: created_at is INTEGER"),
        ((2, "1", "S1", "pass", "", "", "t"), None, "row 2: reviewer_id '1' names no reviewer"),
        ((2, 7, "S1", "pass", "", "", "t"), None, "row 2: reviewer_id '7' names no reviewer"),
        ((2, 1, "S1", "fail", None, "", "t"), None, "row 2: reasons is NULL"),
        ((2, 1, b"\xff", "pass", "", "", "t"), None, "row 2: slide_id is BLOB"),
        ((2, 1, "S1", 3, "", "", "t"), None, "row 2: verdict is INTEGER"),
        ((2, 1, "S1", "pass", "", 5.5, "t"), None, "row 2: comment is REAL"),
        ((2, 1, "S1", "pass", "", "", "t"), (7, "x", "t"), "not-reviewable row 1: slide_id is INTEGER"),
    ],
)
def test_a_verdict_row_of_another_type_is_an_unreadable_row_not_a_crash_nor_a_silent_loss(
    sqlite_file: SqliteFile, row: tuple[object, ...], refused: tuple[object, ...] | None, why: str
) -> None:
    """An integer ``created_at`` of a refused slide stopped ``dqm review ingest`` with a TypeError;
    a text ``reviewer_id`` dropped the verdict without a word; NULL reasons read as the reason
    'None'. Each such row is named, the other rows are read."""
    path = _foreign_log(sqlite_file, row, refused)
    got = read_verdict_db(path)
    assert [(f.code, why in f.message) for f in got.findings] == [("VERDICT_FILE_UNREADABLE", True)]
    assert "S0" in [r.slide_id for r in got.records]


@pytest.mark.parametrize(("name", "kind"), [(None, "NULL"), (7, "INTEGER")])
def test_a_reviewer_whose_name_is_not_text_is_said_so_not_missing(
    sqlite_file: SqliteFile, name: object, kind: str
) -> None:
    """A verdict of a reviewer whose name is NULL (another program's table) was said to name no
    reviewer, though reviewer 2 is there."""
    path = _foreign_log(
        sqlite_file,
        (2, 2, "S1", "pass", "", "", "t"),
        None,
        ("INSERT INTO reviewers VALUES (2, ?, 'h2', 0, 'now')", (name,)),
    )
    got = read_verdict_db(path)
    (finding,) = got.findings
    assert "names no reviewer" not in finding.message
    assert f"verdict log row 2: the name of reviewer '2' is {kind}, not text" in finding.message
    assert [r.slide_id for r in got.records] == ["S0"]


def _folder_state(folder: Path) -> dict[str, object]:
    """Every entry under ``folder`` as it is on disk, read without following a symlink or reading
    a sparse file's holes: a link's target; a file's size, blocks, modification time and bytes."""
    got: dict[str, object] = {}
    for p in sorted(folder.rglob("*")):
        st = p.lstat()
        if p.is_symlink():
            got[str(p)] = ("link", os.readlink(p))
        elif p.is_file():
            data = p.read_bytes() if st.st_size < 1 << 24 else b""
            got[str(p)] = (st.st_size, st.st_blocks, st.st_mtime_ns, data)
        else:
            got[str(p)] = (stat.S_IFMT(st.st_mode), st.st_mtime_ns)
    return got


def _served(path: Path) -> ReviewDB:
    """A server's database at ``path`` with reviewer Kim's verdicts S1 pass, S2 fail (kept open)."""
    db = ReviewDB(path, "plan-1")
    kim = db.reviewer_by_token(db.add_reviewer("Kim"))
    db.record(kim, "S1", "pass")
    db.record(kim, "S2", "fail", ["other"])
    return db


@pytest.mark.parametrize("kind", ["/dev/zero", "fifo", "sparse 1 TB"])
def test_a_wal_that_is_no_plain_file_or_is_huge_is_refused_not_copied(tmp_path: Path, kind: str) -> None:
    """A hostile ``-wal`` filled the temporary folder: a symlink to ``/dev/zero`` was copied without
    end, a sparse file of 1 TB (nothing on disk) was copied in full. The message named the database,
    not the ``-wal``; a FIFO was refused as "review.sqlite cannot be read". Bounded: a FIFO opened
    for reading blocks until a writer opens it, so a regressed open would hang the suite."""
    folder = tmp_path / "review"
    folder.mkdir()
    path = folder / "review.sqlite"
    ReviewDB(path, "plan-1").close()
    wal = folder / "review.sqlite-wal"
    if kind == "/dev/zero":
        wal.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(wal)
    else:
        with wal.open("wb") as fh:
            fh.truncate(1 << 40)
    before = _folder_state(folder)
    with within(20):
        got = read_verdict_db(path)
    assert [f.code for f in got.findings] == ["VERDICT_FILE_UNREADABLE"]
    why = "not a regular file" if kind != "sparse 1 TB" else f"{1 << 40} bytes, more than"
    assert f"{wal} " in got.findings[0].message and why in got.findings[0].message
    with within(20), pytest.raises(ReviewDBError, match=r"review\.sqlite-wal"):  # what serve does first
        ReviewDB(path, "plan-1")
    assert _folder_state(folder) == before


def test_a_symlinked_database_is_read_with_the_wal_beside_its_target(tmp_path: Path) -> None:
    """SQLite keeps the ``-wal`` beside a symlink's target; it was looked for beside the link, so a
    served database read through its link gave the verdicts of the last checkpoint, with no finding."""
    real = tmp_path / "store" / "real.sqlite"
    real.parent.mkdir()
    link = tmp_path / "review" / "review.sqlite"
    link.parent.mkdir()
    link.symlink_to(real)
    db = ReviewDB(real, "plan-1")  # the server writes the target (never through a link: below)
    kim = db.reviewer_by_token(db.add_reviewer("Kim"))
    db.record(kim, "S1", "fail", ["other"])
    db._con().execute("PRAGMA wal_checkpoint(PASSIVE)")
    db.record(kim, "S1", "pass")
    db.record(kim, "S2", "fail", ["other"])
    try:
        before = _folder_state(tmp_path)
        got = read_verdict_db(link)
        assert not got.findings
        assert [(r.slide_id, r.verdict) for r in got.records] == [("S1", "pass"), ("S2", "fail")]
        assert _folder_state(tmp_path) == before
    finally:
        db.close()


def _crashed(tmp_path: Path) -> Path:
    """The folder a writer that died mid-transaction leaves: ``review.sqlite`` in rollback-journal
    mode with uncommitted pages in it (2,000 ``uncommitted-…`` verdicts) and its hot ``-journal``."""
    path = tmp_path / "live" / "review.sqlite"
    path.parent.mkdir()
    db = _served(path)
    db.close()
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=DELETE")
    con.execute("PRAGMA cache_size=1")  # the uncommitted pages spill into the file
    con.execute("BEGIN")
    for i in range(2000):
        con.execute(
            "INSERT INTO verdict_log (reviewer_id, slide_id, verdict, reasons, comment, created_at) "
            "VALUES (1, ?, 'pass', '', ?, '2026-01-01T00:00:00Z')",
            (f"uncommitted-{i}", "x" * 200),
        )
    crashed = tmp_path / "crashed"  # what the writer's death leaves: both files as they are now
    crashed.mkdir()
    for name in ("review.sqlite", "review.sqlite-journal"):
        (crashed / name).write_bytes((path.parent / name).read_bytes())
    con.execute("ROLLBACK")
    con.close()
    return crashed


def test_a_hot_journal_is_rolled_back_not_read_as_verdicts(tmp_path: Path) -> None:
    """A database in rollback-journal mode whose writer died mid-transaction (a hot ``-journal``
    beside it, uncommitted pages already in the file) was opened ``immutable``, which ignores the
    journal: the uncommitted rows were read as verdicts."""
    crashed = _crashed(tmp_path)
    before = _folder_state(crashed)
    got = read_verdict_db(crashed / "review.sqlite")
    assert not got.findings
    assert [(r.slide_id, r.verdict) for r in got.records] == [("S1", "pass"), ("S2", "fail")]
    assert _folder_state(crashed) == before


def test_a_journal_naming_a_super_journal_is_refused_and_deletes_nothing(tmp_path: Path) -> None:
    """The copy of a hot ``-journal`` is opened for writing so that SQLite rolls it back; a journal
    that ends with a super-journal's name made SQLite delete that file after the rollback, anywhere
    the user can write: ``dqm review ingest`` and serve's read-only check deleted a file outside
    the review folder."""
    victim = tmp_path / "victim-outside-review-folder.txt"
    victim.write_text("precious data\n")
    crashed = _crashed(tmp_path)
    name = str(victim).encode()
    with (crashed / "review.sqlite-journal").open("ab") as fh:  # lock page, name, length, checksum, magic
        fh.write((0x40000000 // 4096 + 1).to_bytes(4, "big") + name + len(name).to_bytes(4, "big"))
        fh.write((sum(name) & 0xFFFFFFFF).to_bytes(4, "big") + bytes.fromhex("d9d505f920a163d7"))
    before = _folder_state(crashed)
    got = read_verdict_db(crashed / "review.sqlite")
    assert victim.exists()
    assert [f.code for f in got.findings] == ["VERDICT_FILE_UNREADABLE"]
    message = got.findings[0].message
    assert f"{crashed / 'review.sqlite-journal'} names a super-journal ({str(victim)!r})" in message
    assert f"{crashed / 'review.sqlite-journal'}에 슈퍼 저널({str(victim)!r})" in translated(message, "ko")
    with pytest.raises(ReviewDBError, match=r"review\.sqlite-journal names a super-journal"):
        ReviewDB(crashed / "review.sqlite", "plan-1")  # `dqm review serve`: refused before its write open
    assert victim.exists()
    assert _folder_state(crashed) == before


def _super_journal(journal: Path, victim: Path) -> None:
    """End the rollback journal ``journal`` with a super-journal pointer naming ``victim``."""
    name = str(victim).encode()
    with journal.open("ab") as fh:  # lock page, name, length, checksum, magic
        fh.write((0x40000000 // 4096 + 1).to_bytes(4, "big") + name + len(name).to_bytes(4, "big"))
        fh.write((sum(name) & 0xFFFFFFFF).to_bytes(4, "big") + bytes.fromhex("d9d505f920a163d7"))


def test_a_super_journal_written_after_serves_check_is_refused_at_its_write_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Serve checks a copy of the folder (read only), then opens the database to write: a
    ``-journal`` naming a super-journal written into the folder between the two (a writer racing
    it) was rolled back by SQLite at the write open, which deleted the file it names."""
    victim = tmp_path / "victim-outside-review-folder.txt"
    victim.write_text("precious data\n")
    crashed = _crashed(tmp_path)
    journal = crashed / "review.sqlite-journal"
    hot = journal.read_bytes()
    journal.unlink()  # the check sees a clean folder
    checked = ReviewDB._refuse_foreign

    def racing(self: ReviewDB) -> None:
        checked(self)
        journal.write_bytes(hot)  # the racing writer, right after the check
        _super_journal(journal, victim)

    monkeypatch.setattr(ReviewDB, "_refuse_foreign", racing)
    with pytest.raises(ReviewDBError, match=r"review\.sqlite-journal names a super-journal") as got:
        ReviewDB(crashed / "review.sqlite", "plan-1")
    assert victim.exists()
    assert "슈퍼 저널" in translated(str(got.value), "ko")
    assert journal.exists()  # left as it was for the user to look at


def test_a_database_beside_a_wal_is_copied_up_to_a_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sparse ``review.sqlite`` (nothing on disk) beside a ``-wal`` was copied in full, refused
    only past half the temporary folder's free space: 8 GiB were written. It is refused past
    ``DB_CAP`` (made small here), the database named."""
    from dqm.semantic.server import db as dbmod

    monkeypatch.setattr(dbmod, "DB_CAP", 1 << 20, raising=False)
    path = tmp_path / "review.sqlite"
    ReviewDB(path, "plan-1").close()
    with path.open("r+b") as fh:
        fh.truncate(64 << 20)
    (tmp_path / "review.sqlite-wal").write_bytes(b"")
    before = _folder_state(tmp_path)
    got = read_verdict_db(path)
    assert [f.message for f in got.findings] == [
        f"{path} is {64 << 20} bytes, more than the {1 << 20} bytes dqm copies of a review database "
        "to read it with its log or journal: it is not read"
    ]
    assert _folder_state(tmp_path) == before


def _sparse_beside_a_wal(folder: Path, tail: bytes = b"") -> Path:
    """A served database with two verdicts (S1 pass, S2 fail), checkpointed, made 64 MiB by a hole
    (``tail`` written at 48 MiB, past SQLite's pages, which it ignores) and an empty ``-wal``
    beside it; the test is skipped where the file system keeps no holes."""
    path = folder / "review.sqlite"
    db = _served(path)
    db._con().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    with path.open("r+b") as fh:
        fh.truncate(64 << 20)
        if tail:
            fh.seek(48 << 20)
            fh.write(tail)
    (folder / "review.sqlite-wal").write_bytes(b"")
    if path.stat().st_blocks * 512 >= 8 << 20:
        pytest.skip("this file system keeps no holes")
    return path


def test_a_sparse_database_beside_a_wal_is_copied_with_its_holes(tmp_path: Path) -> None:
    """A sparse ``review.sqlite`` under ``DB_CAP`` beside a ``-wal`` was copied in full: 3.9 GiB of
    holes (nothing on disk) were written to the temporary folder to read it. Only its data is
    copied now, the holes kept, and the copy reads the same (data past a hole included)."""
    path = _sparse_beside_a_wal(tmp_path, b"data after a hole")  # past SQLite's pages: the copy keeps it
    before = _folder_state(tmp_path)
    got = ReviewDB(path, "plan-1", readonly=True)
    try:
        assert got._copy is not None
        copy = Path(got._copy.name) / "review.sqlite"
        assert copy.stat().st_size == 64 << 20
        assert copy.stat().st_blocks * 512 < 8 << 20  # about what the input takes, not 64 MiB
        assert copy.read_bytes() == path.read_bytes()
        assert [(r.slide_id, r.verdict) for r in got.current()] == [("S1", "pass"), ("S2", "fail")]
    finally:
        got.close()
    assert _folder_state(tmp_path) == before


def test_the_free_space_check_weighs_what_the_copy_will_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check before the copy beside a ``-wal`` counted the blocks the database takes, while
    the copy wrote all of it where the file system cannot tell its holes (generic ``lseek``:
    NFSv3, many FUSE file systems): a sparse file of 64 MiB taking 4 KiB passed against 100 MiB
    free and was written in full (session 29, review of server6, 2). It weighs the data runs the
    copy will write now: all 64 MiB there, refused; where holes are told, only the data."""
    from collections import namedtuple

    import dqm.semantic.server.db as review_db

    path = _sparse_beside_a_wal(tmp_path)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(review_db.shutil, "disk_usage", lambda _: usage(1 << 40, 0, 100 << 20))
    got = ReviewDB(path, "plan-1", readonly=True)  # holes told: only the data is weighed and written
    got.close()
    monkeypatch.delattr(os, "SEEK_DATA")  # a file system that cannot tell its holes
    before = _folder_state(tmp_path)
    with pytest.raises(ReviewDBError, match="would fill the temporary folder"):
        ReviewDB(path, "plan-1", readonly=True)
    assert _folder_state(tmp_path) == before


@pytest.mark.parametrize("writer", ["adds a table of its own", "tears the check"])
def test_serves_check_of_an_immutable_database_is_made_again_where_a_writer_changed_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writer: str
) -> None:
    """Serve's check before its first write (:meth:`ReviewDB._refuse_foreign`) reads a database
    with no ``-wal`` or ``-journal`` ``immutable``, without a lock, and was not compared with the
    files after it, as ingest's and export's reads are (documented as left open, session 29,
    server6): another program that added a table of its own during the check had its file
    written to (its tables created, WAL switched on), and a check that a writer tore refused a
    good review database as "malformed". The check is made again where the files changed; with
    the files unchanged a failing check still refuses after one try."""
    path = tmp_path / "review.sqlite"
    _served(path).close()
    assert not (tmp_path / "review.sqlite-wal").exists()
    checking = ReviewDB._check_foreign
    checks: list[str] = []
    writers: list[ReviewDB] = []

    def during(self: ReviewDB, uri: str) -> None:
        checks.append(uri)
        if len(checks) > 1:
            return checking(self, uri)
        if writer == "adds a table of its own":  # passes: it read the file before the table came
            checking(self, uri)
            con = sqlite3.connect(path)
            con.execute("CREATE TABLE other_program (x)")
            con.commit()
            con.close()
            return None
        writers.append(ReviewDB(path, "plan-1"))  # a server starts and takes a verdict under it
        writers[0].record(writers[0].reviewers()[0], "S3", "fail", ["other"])
        raise ReviewDBError(f"{path} is not a dqm review database: database disk image is malformed")

    monkeypatch.setattr(ReviewDB, "_check_foreign", during)
    if writer == "adds a table of its own":
        with pytest.raises(ReviewDBError, match="is not a dqm review database"):
            ReviewDB(path, "plan-1")
        assert "other_program" in {
            r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")
        }
        # made again from a copy: under the check's shared lock the writer's -wal stays
        assert len(checks) == 2 and "immutable=1" in checks[0] and "immutable=1" not in checks[1], checks
    else:
        try:
            ReviewDB(path, "plan-1").close()  # checked again (from a copy: the -wal is there): good
        finally:
            writers[0].close()
        # the server's own check in the middle, then the check made again, from a copy
        assert len(checks) == 3 and "immutable=1" not in checks[2], checks

    def torn(self: ReviewDB, uri: str) -> None:  # the file itself is bad: no writer
        checks.append(uri)
        raise ReviewDBError(f"{path} is not a dqm review database: database disk image is malformed")

    checks.clear()
    monkeypatch.setattr(ReviewDB, "_check_foreign", torn)
    with pytest.raises(ReviewDBError, match="malformed"):
        ReviewDB(path, "plan-1")
    assert len(checks) == 1


def test_serves_check_of_a_database_it_cannot_compare_gives_its_own_reason_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ``review.sqlite`` that is a folder cannot be compared before and after the check (no
    stamp): the failing check was made 5 times, then refused as "changed each time it was read: a
    server is writing to it; try again", which never succeeds. It is refused after one check with
    the check's own reason."""
    path = tmp_path / "review.sqlite"
    path.mkdir()
    checking = ReviewDB._check_foreign
    checks: list[str] = []

    def counted(self: ReviewDB, uri: str) -> None:
        checks.append(uri)
        return checking(self, uri)

    monkeypatch.setattr(ReviewDB, "_check_foreign", counted)
    with pytest.raises(ReviewDBError) as got:
        ReviewDB(path, "plan-1")
    assert "changed each time" not in str(got.value)
    assert "cannot be opened as an SQLite database" in str(got.value)
    assert len(checks) == 1
    assert list(path.iterdir()) == []  # nothing written into it


def test_a_writer_starting_during_an_immutable_read_makes_it_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database with no ``-wal`` or ``-journal`` is read ``immutable``, without a lock: a server
    that started writing during the read was not seen (its verdict, in its new ``-wal``, was
    missed; a writer in rollback mode could change pages under the read). The files are compared
    after the read with what they were before it, and read again (from a copy) where they changed."""
    path = tmp_path / "review.sqlite"
    _served(path).close()
    assert not (tmp_path / "review.sqlite-wal").exists()
    writers: list[ReviewDB] = []
    reading = ReviewDB.not_reviewable

    def started(self: ReviewDB) -> dict[str, tuple[str, str]]:
        if not writers:  # during the first read: a server starts and takes a verdict
            writers.append(ReviewDB(path, "plan-1"))
            kim = writers[0].reviewers()[0]
            writers[0].record(kim, "S3", "fail", ["other"])
        return reading(self)

    monkeypatch.setattr(ReviewDB, "not_reviewable", started)
    try:
        got = read_verdict_db(path)
    finally:
        for writer in writers:
            writer.close()
    assert not got.findings
    assert [(r.slide_id, r.verdict) for r in got.records] == [("S1", "pass"), ("S2", "fail"), ("S3", "fail")]


def test_an_immutable_read_torn_into_an_error_while_the_files_changed_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rollback-mode writer changing pages under the lock-free read can make it fail ("database
    disk image is malformed") rather than end: only a read that ended was compared with the
    files, so the tear became a hard finding though the files had changed (session 29, review of
    server6, 3). It is read again as a changed read is; with the files unchanged it still fails."""
    path = tmp_path / "review.sqlite"
    _served(path).close()
    reading = ReviewDB.not_reviewable
    reads: list[int] = []

    def torn(self: ReviewDB) -> dict[str, tuple[str, str]]:
        if self.readonly:
            reads.append(1)
            if len(reads) == 1 or not writes:  # the first read torn; without writes, every one
                if writes:  # a writer took a verdict meanwhile
                    writer = ReviewDB(path, "plan-1")
                    writer.record(writer.reviewers()[0], "S3", "fail", ["other"])
                    writer.close()
                raise sqlite3.DatabaseError("database disk image is malformed")
        return reading(self)

    monkeypatch.setattr(ReviewDB, "not_reviewable", torn)
    writes = True
    got = read_verdict_db(path)
    assert not got.findings, [f.message for f in got.findings]
    assert len(reads) == 2
    assert [(r.slide_id, r.verdict) for r in got.records] == [("S1", "pass"), ("S2", "fail"), ("S3", "fail")]
    writes, reads[:] = False, []
    got = read_verdict_db(path)  # nothing changed: the error is the file's, a finding
    assert len(reads) == 1
    assert [f.message for f in got.findings] == ["database disk image is malformed"]


def test_a_torn_read_again_at_its_reopen_is_read_again_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The read again after a torn read reopened the database (its ``meta`` rows) outside the
    watch: torn there too, while a writer went on, it became a hard finding ("database disk image
    is malformed") though the files had changed (session 29, second review of server6f, 3)."""
    path = tmp_path / "review.sqlite"
    _served(path).close()
    reading, meta = ReviewDB.not_reviewable, ReviewDB._meta_rows
    calls = {"reads": 0, "meta": 0}

    def write(slide: str, verdict: str) -> None:
        writer = ReviewDB(path, "plan-1")
        writer.record(writer.reviewers()[0], slide, verdict, ["other"] if verdict == "fail" else [])
        writer.close()

    def torn_read(self: ReviewDB) -> dict[str, tuple[str, str]]:
        if self.readonly:
            calls["reads"] += 1
            if calls["reads"] == 1:  # the first read torn, a verdict taken meanwhile
                write("S3", "fail")
                raise sqlite3.DatabaseError("database disk image is malformed")
        return reading(self)

    def torn_meta(self: ReviewDB) -> dict[str, str]:
        if getattr(self, "readonly", False):
            calls["meta"] += 1
            if calls["meta"] == 2:  # the reopen torn, the writer still writing
                write("S2", "pass")
                raise sqlite3.DatabaseError("database disk image is malformed")
        return meta(self)

    import dqm.semantic.server.db as review_db

    # a system without SQLite's shared lock (no OFD locks): the writer removes its -wal, and the
    # reopen is immutable again (with the lock its -wal stays and the reopen reads a private copy)
    monkeypatch.setattr(review_db._SharedLock, "__init__", lambda self, path: setattr(self, "_fd", None))
    monkeypatch.setattr(ReviewDB, "not_reviewable", torn_read)
    monkeypatch.setattr(ReviewDB, "_meta_rows", torn_meta)
    got = read_verdict_db(path)
    assert not got.findings, [f.message for f in got.findings]
    assert calls == {"reads": 2, "meta": 3}
    assert sorted((r.slide_id, r.verdict) for r in got.records) == [
        ("S1", "pass"),
        ("S2", "pass"),
        ("S3", "fail"),
    ]


def test_a_database_that_is_a_symlink_loop_is_a_finding(tmp_path: Path) -> None:
    """``read_verdict_db`` never raises: a ``review.sqlite`` that is a symlink loop raised
    RuntimeError ("Symlink loop") from resolving it."""
    path = tmp_path / "review.sqlite"
    path.symlink_to(path)
    before = _folder_state(tmp_path)
    got = read_verdict_db(path)
    assert [f.code for f in got.findings] == ["VERDICT_FILE_UNREADABLE"]
    assert f"{path} cannot be read" in got.findings[0].message
    assert _folder_state(tmp_path) == before


@pytest.mark.parametrize("target", ["missing", "empty"])
def test_a_symlinked_database_is_never_written_through(tmp_path: Path, target: str) -> None:
    """Serving or adding a reviewer opens the database to write: through a ``review.sqlite`` that
    is a symlink it created the missing file it names (anywhere the user may write: an
    ``authorized_keys`` with a reviewer's comment as a line of its own) or wrote a database into
    an empty one outside the folder. Refused; reading it (ingest, export) still follows it."""
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim"
    if target == "empty":
        victim.write_bytes(b"")
    folder = tmp_path / "review"
    folder.mkdir()
    path = folder / "review.sqlite"
    path.symlink_to(victim)
    with pytest.raises(ReviewDBError) as err:
        ReviewDB(path, "plan-1")
    assert "is a symbolic link" in str(err.value.args[0])
    assert victim.exists() == (target == "empty")
    assert not victim.exists() or victim.read_bytes() == b""
    assert sorted(p.name for p in outside.iterdir()) == (["victim"] if target == "empty" else [])


def test_a_wal_restarted_during_the_copy_in_the_same_clock_tick_is_copied_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The copy was taken as consistent when the inode, size and modification time of the database
    and its ``-wal`` were the same before and after it: a checkpoint that restarts the log (new
    salts, same size) within one tick of a coarse clock gave a database copied before it with a
    ``-wal`` copied after, whose frames SQLite then drops. The ``-wal``'s header is compared too."""
    from dqm.semantic.server import db as dbmod

    path = tmp_path / "review.sqlite"
    served = _served(path)
    wal = tmp_path / "review.sqlite-wal"
    copy = dbmod._copy

    def restart_after_the_database(source: Path, into: Path, cap: int | None) -> None:
        copy(source, into, cap)
        if source == path:  # between the two copies: new salts, same size, inode and mtime
            st = wal.stat()
            with wal.open("r+b") as fh:
                fh.seek(16)
                salts = fh.read(8)
                fh.seek(16)
                fh.write(bytes(b ^ 0xFF for b in salts))
            os.utime(wal, ns=(st.st_atime_ns, st.st_mtime_ns))

    monkeypatch.setattr(dbmod, "_copy", restart_after_the_database)
    try:
        got = read_verdict_db(path)
    finally:
        served.close()
    assert [f.message for f in got.findings] == [
        f"{path} changed each time it was read ({dbmod.COPY_TRIES} times): a server is writing to it; try again"
    ]


_WAL_WRITER = """
import sys
from pathlib import Path
from dqm.semantic.server.db import ReviewDB
db = ReviewDB(Path(sys.argv[1]), "plan-1")
db.record(db.reviewers()[0], "S1", "fail", ["other"])
db._con().execute("PRAGMA wal_checkpoint(TRUNCATE)")
db.close()
"""


@pytest.mark.parametrize("read", ["export", "serve's check"])
def test_a_wal_writer_done_within_one_clock_tick_during_a_read_is_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, read: str
) -> None:
    """Another process opens the database in WAL mode, takes a verdict, checkpoints and closes
    (removing its ``-wal``) during an ``immutable`` read, within one tick of the file clock. Its
    inode, size, modification time and header are as before (WAL mode bumps no change counter;
    the tick is made here by setting the modification time back), so the read, which may have
    been torn, was taken as the file's: export gave Kim's PASS on S1, replaced in the file by a
    FAIL. The read holds SQLite's shared lock: the writer cannot remove its ``-wal``, and the read
    is made again (from a copy)."""
    import subprocess
    import sys

    import dqm

    path = tmp_path / "review.sqlite"
    _served(path).close()
    assert not (tmp_path / "review.sqlite-wal").exists()
    before = os.stat(path)
    env = {**os.environ, "PYTHONPATH": str(Path(dqm.__file__).parents[1])}
    writes: list[int] = []

    def write() -> None:
        if writes:
            return
        writes.append(1)
        subprocess.run([sys.executable, "-c", _WAL_WRITER, str(path)], env=env, check=True, timeout=60)
        st = os.stat(path)
        if not (tmp_path / "review.sqlite-wal").exists():  # the writer's -wal is gone: one tick
            assert (st.st_ino, st.st_size) == (before.st_ino, before.st_size)
            os.utime(path, ns=(st.st_atime_ns, before.st_mtime_ns))

    if read == "export":
        exporting = ReviewDB._export

        def during(self: ReviewDB) -> dict[str, object]:
            doc = exporting(self)
            write()
            return doc

        monkeypatch.setattr(ReviewDB, "_export", during)
        db = ReviewDB(path, "plan-1", readonly=True)
        try:
            doc = db.export()
        finally:
            db.close()
        assert writes
        got = {(v["slide_id"], v["verdict"]) for v in doc["verdicts"]}  # type: ignore[union-attr]
        assert got == {("S1", "fail"), ("S2", "fail")}
    else:
        checking = ReviewDB._check_foreign
        checks: list[str] = []

        def counted(self: ReviewDB, uri: str) -> None:
            checks.append(uri)
            checking(self, uri)
            write()

        monkeypatch.setattr(ReviewDB, "_check_foreign", counted)
        ReviewDB(path, "plan-1").close()
        assert writes
        assert len(checks) == 2 and "immutable=1" not in checks[1], checks
