"""The supplier history file: lots recorded, the state replayed, bad files refused with a reason."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dqm.semantic.history import HistoryError, LotHistory, default_history_path
from dqm.semantic.iso2859 import plan_iso2859
from dqm.semantic.switching import DiscontinuedError, LotOutcome


def outcome(severity: str, nonconforming: int) -> LotOutcome:
    plan = plan_iso2859(20_000, "II", 1.0, severity)  # type: ignore[arg-type]
    return LotOutcome(nonconforming <= plan.acceptance_number, nonconforming, plan)


def test_lots_are_kept_per_supplier_and_replayed(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    with LotHistory(path) as h:
        h.record("hospital-a", outcome("normal", 9), "2026-01")
        step = h.record("hospital-a", outcome("normal", 9), "2026-02")
        assert step.transition.startswith("normal → tightened")
        h.record("hospital-b", outcome("normal", 0), "2026-01")
    with LotHistory(path) as h:  # a second run reads the same file
        assert h.suppliers() == ["hospital-a", "hospital-b"]
        assert h.state("hospital-a").state == "tightened"
        assert h.state("hospital-b").score == 3
        assert h.state("nobody").state == "normal"
        _, recorded = h.replayed("hospital-a")
        assert [r.lot for r in recorded] == ["2026-01", "2026-02"]
        assert recorded[1].step.outcome.plan.acceptance_number == 7


def test_a_lot_of_the_wrong_severity_is_refused_and_not_recorded(tmp_path: Path) -> None:
    with LotHistory(tmp_path / "h.sqlite") as h:
        with pytest.raises(ValueError, match="tightened plan"):
            h.record("a", outcome("tightened", 0))
        assert h.suppliers() == []


def test_discontinued_then_resumed(tmp_path: Path) -> None:
    with LotHistory(tmp_path / "h.sqlite") as h:
        h.record("a", outcome("normal", 9))
        h.record("a", outcome("normal", 9))
        for _ in range(5):
            h.record("a", outcome("tightened", 9))
        assert h.state("a").state == "discontinued"
        with pytest.raises(DiscontinuedError):
            h.record("a", outcome("tightened", 0))
        assert h.resume("a", "new annotation team").state == "tightened"
        h.record("a", outcome("tightened", 0))
        assert h.state("a").tightened_accepted == 1
        with pytest.raises(ValueError, match="not discontinued"):
            h.resume("a")


def test_a_file_that_is_not_a_history_is_an_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(HistoryError, match="cannot be used"):
        LotHistory(junk)
    other = tmp_path / "other.sqlite"
    db = sqlite3.connect(other)
    db.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT); INSERT INTO meta VALUES ('format', 'x/1');"
    )
    db.commit()
    db.close()
    with pytest.raises(HistoryError, match="not a dqm lot history"):
        LotHistory(other)


def test_a_huge_format_is_not_quoted_whole(tmp_path: Path) -> None:
    """The error quoted the file's own format value whole: a history handed over with 5 MB there
    made dqm lots show print 5 MB."""
    other = tmp_path / "other.sqlite"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    db.execute("INSERT INTO meta VALUES ('format', ?)", ("x" * 5_000_000,))
    db.commit()
    db.close()
    with pytest.raises(HistoryError, match="not a dqm lot history") as caught:
        LotHistory(other)
    assert len(str(caught.value)) < 400


def test_a_damaged_row_is_named(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    with LotHistory(path) as h:
        h.record("a", outcome("normal", 0))
    db = sqlite3.connect(path)
    db.execute("UPDATE lots SET plan = '{\"lot_size\": 1}'")
    db.commit()
    db.close()
    with LotHistory(path) as h, pytest.raises(HistoryError, match="row 1 of supplier 'a' is damaged"):
        h.state("a")


@pytest.mark.parametrize(
    ("column", "value"),
    [("plan", "[" * 100_000), ("nonconforming", "9" * 5_000), ("nonconforming", 1e308 * 10)],
)
def test_a_hostile_row_is_named_as_damaged(tmp_path: Path, column: str, value: object) -> None:
    """A history handed over with a plan nested 100,000 deep (RecursionError) or a count SQLite
    stores as infinity (OverflowError) made dqm lots show exit 4 with an internal error."""
    path = tmp_path / "h.sqlite"
    with LotHistory(path) as h:
        h.record("a", outcome("normal", 0))
    db = sqlite3.connect(path)
    db.execute(f"UPDATE lots SET {column} = ?", (value,))
    db.commit()
    db.close()
    with LotHistory(path) as h, pytest.raises(HistoryError, match="row 1 of supplier 'a' is damaged"):
        h.state("a")


def test_default_path_is_beside_the_output_folder(tmp_path: Path) -> None:
    assert (
        default_history_path(tmp_path / "runs" / "2026-03")
        == (tmp_path / "runs" / "dqm-lot-history.sqlite").resolve()
    )


def test_a_plan_with_a_repeated_key_is_named_as_damaged(tmp_path: Path) -> None:
    """A plan whose acceptance number appears twice was read as the last one (which one a reader
    keeps is not defined): the row is damaged now, as dqm verify refuses such a file."""
    path = tmp_path / "h.sqlite"
    with LotHistory(path) as h:
        h.record("a", outcome("normal", 0))
    db = sqlite3.connect(path)
    db.execute("""UPDATE lots SET plan = '{"acceptance_number": 99, ' || substr(plan, 2)""")
    db.commit()
    db.close()
    with LotHistory(path) as h, pytest.raises(HistoryError, match="row 1 of supplier 'a' is damaged"):
        h.state("a")


def test_two_resumes_at_once_write_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second ``dqm lots resume`` that runs while the first is between reading the state and
    writing its row waits for the file's lock and then finds nothing to resume: the history is
    never left with two resumes in a row, which replay refuses (the supplier's lots unreadable)."""
    import dqm.semantic.history as history

    path = tmp_path / "h.sqlite"
    with LotHistory(path) as h:
        h.record("a", outcome("normal", 9))
        h.record("a", outcome("normal", 9))
        for _ in range(5):
            h.record("a", outcome("tightened", 9))
        assert h.state("a").state == "discontinued"
    first, second = LotHistory(path), LotHistory(path)
    second._db.execute("PRAGMA busy_timeout = 0")  # the lock held: refused at once, not after 30 s
    real = history.resume
    raced: list[BaseException] = []

    def resume_while_the_other_runs(state):  # type: ignore[no-untyped-def]
        monkeypatch.setattr(history, "resume", real)
        try:
            second.resume("a", "the other run")
        except (HistoryError, ValueError) as exc:
            raced.append(exc)
        return real(state)

    monkeypatch.setattr(history, "resume", resume_while_the_other_runs)
    with first, second:
        assert first.resume("a", "new annotation team").state == "tightened"
        assert len(raced) == 1 and "locked" in str(raced[0])
        with pytest.raises(ValueError, match="not discontinued"):
            second.resume("a")
    with LotHistory(path) as h:
        assert h.state("a").state == "tightened"  # replays: one resume recorded
        rows = h._query("SELECT lot FROM lots WHERE kind = 'resume'", ())
        assert rows == [("new annotation team",)]
