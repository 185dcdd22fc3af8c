"""The lots of each supplier in a small SQLite file: what the switching rules read.

Each row is one lot's inspection (its plan, the nonconforming count, the decision, whether reduced
inspection was allowed) or a ``resume`` after the supplier's corrective action. The supplier's state
is never stored: it is replayed from its rows (:func:`dqm.semantic.switching.replay`), so the file
stays an audit trail. Recording reads the state and adds the row in one transaction: two runs that
record lots of the same supplier at once are serialised.

Where: ``--history PATH``, by default :data:`HISTORY_NAME` in the parent of the output folder, so
that the output folders of successive deliveries (``runs/2026-03-hospital-a``,
``runs/2026-04-hospital-a``…) share one history. Never inside the batch (the CLI refuses it).
Supplier names are stored as the run writes them: masked when they hold an identifier.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from dqm.findings import clip
from dqm.i18n import msg
from dqm.semantic.iso2859 import Iso2859Plan
from dqm.semantic.switching import LotOutcome, SchemeState, Step, replay, resume, step
from dqm.strictjson import loads

HISTORY_NAME = "dqm-lot-history.sqlite"
FORMAT = "dqm.lot_history/1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS lots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    supplier TEXT NOT NULL,
    recorded TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('lot', 'resume')),
    lot TEXT NOT NULL DEFAULT '',
    plan TEXT,
    accepted INTEGER,
    nonconforming INTEGER,
    reduced_allowed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS lots_supplier ON lots (supplier, id);
"""


class HistoryError(ValueError):
    """The history file cannot be used: not SQLite, another format, a damaged row."""


def default_history_path(out_dir: Path) -> Path:
    """:data:`HISTORY_NAME` next to the output folder (in its parent)."""
    return out_dir.resolve().parent / HISTORY_NAME


@dataclasses.dataclass(frozen=True, slots=True)
class Recorded:
    """One recorded lot with the scheme's step."""

    id: int
    supplier: str
    recorded: str
    lot: str
    step: Step


class LotHistory:
    """A supplier history file; a context manager that closes the connection."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise HistoryError(
                msg("{path} cannot be used as a lot history: {reason}", path=path, reason=exc)
            ) from None
        try:
            self._db.executescript(_SCHEMA)
            row = self._db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
            if row is None:
                self._db.execute("INSERT INTO meta VALUES ('format', ?)", (FORMAT,))
            elif row[0] != FORMAT:
                raise HistoryError(
                    msg(
                        "{path} is a {kind} file, not a dqm lot history ({format})",
                        path=path,
                        kind=clip(repr(row[0]), 80),  # the file's own text: of any length
                        format=FORMAT,
                    )
                )
        except (sqlite3.Error, HistoryError) as exc:
            self._db.close()
            if isinstance(exc, HistoryError):
                raise
            raise HistoryError(
                msg("{path} cannot be used as a lot history: {reason}", path=path, reason=exc)
            ) from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> LotHistory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def suppliers(self) -> list[str]:
        """Every supplier with a row, sorted."""
        return [str(r[0]) for r in self._query("SELECT DISTINCT supplier FROM lots ORDER BY supplier", ())]

    def _query(self, sql: str, args: tuple[object, ...]) -> list[tuple[object, ...]]:
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise HistoryError(msg("{path}: {reason}", path=self.path, reason=exc)) from None

    def _events(self, supplier: str) -> list[tuple[int, str, str, LotOutcome | Literal["resume"]]]:
        rows = self._query(
            "SELECT id, recorded, kind, lot, plan, accepted, nonconforming, reduced_allowed "
            "FROM lots WHERE supplier = ? ORDER BY id",
            (supplier,),
        )
        events: list[tuple[int, str, str, LotOutcome | Literal["resume"]]] = []
        for id_, recorded, kind, lot, plan, accepted, nonconforming, allowed in rows:
            if kind == "resume":
                events.append((int(id_), str(recorded), str(lot), "resume"))  # type: ignore[call-overload]
                continue
            try:
                fields = loads(str(plan))
                outcome = LotOutcome(
                    accepted=bool(accepted),
                    nonconforming=int(nonconforming),  # type: ignore[call-overload]
                    plan=Iso2859Plan(**fields),
                    reduced_allowed=bool(allowed),
                )
            except (TypeError, ValueError, OverflowError, RecursionError) as exc:
                # OverflowError: a count SQLite stores as infinity; RecursionError: a plan nested deep
                raise HistoryError(
                    msg(
                        "{path}: row {row} of supplier {supplier} is damaged ({reason})",
                        path=self.path,
                        row=id_,
                        supplier=repr(supplier),
                        reason=exc,
                    )
                ) from None
            events.append((int(id_), str(recorded), str(lot), outcome))  # type: ignore[call-overload]
        return events

    def replayed(self, supplier: str) -> tuple[SchemeState, list[Recorded]]:
        """The supplier's state now, and each recorded lot with its step (oldest first).

        Raises
        ------
        HistoryError
            A damaged row, or rows the switching rules refuse (a plan of the wrong severity).
        """
        events = self._events(supplier)
        try:
            state, steps = replay(e[3] for e in events)
        except ValueError as exc:
            raise HistoryError(
                msg(
                    "{path}: the lots of supplier {supplier} do not replay: {reason}",
                    path=self.path,
                    supplier=repr(supplier),
                    reason=exc,
                )
            ) from None
        lots = [e for e in events if e[3] != "resume"]
        return state, [Recorded(e[0], supplier, e[1], e[2], s) for e, s in zip(lots, steps, strict=True)]

    def state(self, supplier: str) -> SchemeState:
        """Where the supplier stands before its next lot (normal for a supplier without rows)."""
        return self.replayed(supplier)[0]

    def record(self, supplier: str, outcome: LotOutcome, lot: str = "") -> Step:
        """Add one inspected lot and return its step through the scheme. ``lot`` names it (a review
        plan's id): a lot of the same name is recorded once only.

        Raises
        ------
        DiscontinuedError
            Inspection is discontinued for the supplier (nothing is recorded).
        ValueError
            The lot's plan is not of the severity the supplier is at (nothing is recorded).
        HistoryError
            The file cannot be written, holds damaged rows, or already holds the lot.
        """
        with self._locked():
            if lot and self._query("SELECT 1 FROM lots WHERE supplier = ? AND lot = ?", (supplier, lot)):
                raise HistoryError(
                    msg(
                        "{path}: lot {lot} of supplier {supplier} is already recorded",
                        path=self.path,
                        lot=lot,
                        supplier=repr(supplier),
                    )
                )
            done = step(self.state(supplier), outcome)
            self._db.execute(
                "INSERT INTO lots (supplier, recorded, kind, lot, plan, accepted, nonconforming, reduced_allowed) "
                "VALUES (?, ?, 'lot', ?, ?, ?, ?, ?)",
                (
                    supplier,
                    _now(),
                    lot,
                    json.dumps(dataclasses.asdict(outcome.plan)),
                    int(outcome.accepted),
                    outcome.nonconforming,
                    int(outcome.reduced_allowed),
                ),
            )
        return done

    def resume(self, supplier: str, note: str = "") -> SchemeState:
        """Record the supplier's corrective action: a discontinued scheme resumes at tightened.

        Raises
        ------
        ValueError
            The supplier's inspection is not discontinued.

        The state is read and the row written in one transaction that holds the file's write lock
        (as :meth:`record` does): two ``dqm lots resume`` at once each saw *discontinued* and each
        wrote a resume, and the second, a resume of a tightened scheme, made the supplier's lots
        replay no more (every later run refused the history).
        """
        with self._locked():
            after = resume(self.state(supplier))
            self._db.execute(
                "INSERT INTO lots (supplier, recorded, kind, lot) VALUES (?, ?, 'resume', ?)",
                (supplier, _now(), note),
            )
        return after

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One transaction holding the file's write lock from its first read (``BEGIN IMMEDIATE``):
        committed when the block ends, rolled back when it raises; SQLite's errors become
        :class:`HistoryError`."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise HistoryError(msg("{path}: {reason}", path=self.path, reason=exc)) from None
        try:
            yield
            self._db.execute("COMMIT")
        except BaseException as exc:
            self._db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise HistoryError(msg("{path}: {reason}", path=self.path, reason=exc)) from None
            raise


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
