"""The item records a run keeps, as columns: one row per item, filled as the items come back.

A run of a million items keeps a million records. As objects, each lean record cost about
0.85 KiB beside its summary (a slotted dataclass, a list of files, a dictionary of file stats
with a list of four integers, a 64-character hex string...). :class:`ItemRecords` keeps the same
values in columns keyed by the item's index (numbers in arrays of 64-bit integers, a SHA-256 as
32 bytes, the few per-item objects in lists, findings, full hashes and sparse files only for the
items that have some) and gives each record back as an :class:`~dqm.model.ItemRecord` when it is
read, equal to the one stored. A pass that needs a field or two reads its column instead
(:meth:`ItemRecords.n_values`, :meth:`~ItemRecords.clinical_records`, ...: the stored column or a
read-only view of it, no object a row): building each record costs microseconds, and an audit goes
over a million items a dozen times.
"""

from __future__ import annotations

import array
import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from dqm.columns import Columns, ItemSummaries, Sha256s, StatRows, taken
from dqm.findings import Finding
from dqm.model import ItemRecord, ParsedAnnotation, SlideFacts

STAT_FILES = 2
"""Files whose stats a row holds in the array (an item's annotation file and slide); an item with
other stats keeps them as a dictionary."""


class ItemRecords(Columns[ItemRecord]):
    """``n`` item records, in item order, stored as columns (:mod:`dqm.records`).

    ``whole``: the records keep their parsed annotation and slide facts (a large run keeps them
    lean: :func:`dqm.runner.lean`). A row is empty until a record is stored in it
    (``records[k] = record``); reading an empty row raises ``LookupError``.
    """

    def __init__(self, n: int, whole: bool = True) -> None:
        self.whole = whole
        self._summaries = ItemSummaries(n)
        self._n_values = array.array("q", bytes(8 * n))
        self._unreadable = bytearray(n)
        self._files: list[tuple[str, ...]] = [()] * n
        self._clinical: list[dict[str, Any]] = [{}] * n  # never changed in place: the records' own
        self._source: list[str | None] = [None] * n
        self._fingerprint: list[str | None] = [None] * n
        self._annotation_sha256 = Sha256s(n)
        self._stats = StatRows(n, STAT_FILES)
        self._parsed: list[tuple[ParsedAnnotation | None, SlideFacts | None]] | None = (
            [(None, None)] * n if whole else None
        )
        # only the few rows that have them (or whose values do not fit a column)
        self._findings: dict[int, list[Finding]] = {}
        self._sha256: dict[int, dict[str, str]] = {}
        self._sparse: dict[int, dict[str, tuple[int, int]]] = {}
        self._parts: dict[int, dict[str, str]] = {}

    @classmethod
    def of(cls, records: Iterable[ItemRecord], whole: bool = True) -> ItemRecords:
        """The records of a list, as columns."""
        records = list(records)
        out = cls(len(records), whole)
        for k, record in enumerate(records):
            out[k] = record
        return out

    def __len__(self) -> int:
        return len(self._summaries)

    def __setitem__(self, k: int, record: ItemRecord) -> None:
        """Store ``record`` in row ``k`` (lean unless :attr:`whole`: its parsed annotation and
        slide facts are dropped)."""
        self._summaries[k] = record.summary
        self._n_values[k] = record.n_values
        self._unreadable[k] = record.unreadable
        self._files[k] = tuple(record.files)
        self._clinical[k] = record.clinical_record
        self._source[k] = record.record_source
        self._fingerprint[k] = record.fingerprint
        if self._parsed is not None:
            self._parsed[k] = (record.annotation, record.slide)
        _put(self._findings, k, record.findings)
        _put(self._sha256, k, record.sha256)
        _put(self._sparse, k, record.sparse)
        _put(self._parts, k, record.parts)
        self._annotation_sha256[k] = record.annotation_sha256
        # in the array when they are those of the item's files, in their order
        stats = record.stats
        self._stats.put(k, stats or None, list(stats.values()) if tuple(stats) == self._files[k] else None)

    def take(self, rows: Sequence[int]) -> ItemRecords:
        """Rows ``rows`` (in that order) as a store of their own, column by column: no record
        built (a lot's part of a run of a million items). Equal to the store of those records;
        the values are shared, as the rows' own."""
        out = ItemRecords(0, self.whole)
        out._summaries = self._summaries.take(rows)
        out._n_values = array.array("q", [self._n_values[k] for k in rows])
        out._unreadable = bytearray([self._unreadable[k] for k in rows])
        out._files = [self._files[k] for k in rows]
        out._clinical = [self._clinical[k] for k in rows]
        out._source = [self._source[k] for k in rows]
        out._fingerprint = [self._fingerprint[k] for k in rows]
        out._annotation_sha256 = self._annotation_sha256.take(rows)
        out._stats = self._stats.take(rows)
        out._parsed = None if self._parsed is None else [self._parsed[k] for k in rows]
        out._findings = taken(self._findings, rows)
        out._sha256 = taken(self._sha256, rows)
        out._sparse = taken(self._sparse, rows)
        out._parts = taken(self._parts, rows)
        return out

    def with_findings(self, keep: Callable[[list[Finding]], list[Finding]]) -> ItemRecords:
        """These records with each item's findings as ``keep`` leaves them (only the items that
        have findings are looked at); every other column is this store's own, shared (read, never
        changed)."""
        out = copy.copy(self)
        out._findings = {k: kept for k, found in self._findings.items() if (kept := keep(found))}
        return out

    def holds(self, k: int) -> bool:
        """Whether row ``k`` holds a record."""
        return self._summaries.holds(k)

    def findings(self) -> list[Finding]:
        """Every item's findings, in item order (without building the records)."""
        return [f for k in sorted(self._findings) for f in self._findings[k]]

    def sparse(self) -> dict[str, tuple[int, int]]:
        """Every item's sparse files (batch path -> apparent and allocated bytes), in item order
        (without building the records)."""
        return _in_item_order(self._sparse)

    def summaries(self) -> ItemSummaries:
        """Every item's summary, in item order: the column store the result's ``items`` is (one
        field of every summary: :meth:`ItemSummaries.column`)."""
        return self._summaries

    def n_values(self) -> Sequence[int]:
        """Every item's value slots (:attr:`ItemRecord.n_values`), in item order."""
        return memoryview(self._n_values).toreadonly()

    def unreadable(self) -> Sequence[int]:
        """Whether each item's annotation could not be read (1) or could (0), in item order."""
        return memoryview(self._unreadable).toreadonly()

    def files(self) -> Sequence[tuple[str, ...]]:
        """Every item's files (batch paths), in item order."""
        return self._files

    def clinical_records(self) -> Sequence[dict[str, Any]]:
        """Every item's clinical record, in item order (each shared: read, never changed)."""
        return self._clinical

    def record_sources(self) -> Sequence[str | None]:
        """Where each item's clinical record came from (``manifest``, a file, or None)."""
        return self._source

    def fingerprints(self) -> Sequence[str | None]:
        """Every item's slide quick print, in item order."""
        return self._fingerprint

    def annotation_sha256s(self) -> Sequence[str | None]:
        """Every item's annotation file SHA-256, in item order."""
        return self._annotation_sha256

    def full_hashes(self) -> dict[str, str]:
        """Every item's files hashed whole (batch path -> SHA-256), in item order (a path of two
        items: the later one's)."""
        return _in_item_order(self._sha256)

    def full_hashes_of(self, k: int) -> Mapping[str, str]:
        """Item ``k``'s files hashed whole (read, never changed)."""
        return self._sha256.get(k, {})

    def parts_of(self, k: int) -> Mapping[str, str]:
        """The quick print of each file OpenSlide opens besides item ``k``'s slide (read, never changed)."""
        return self._parts.get(k, {})

    def stat_of(self, k: int, path: str) -> list[int] | None:
        """The stat item ``k`` took of its file ``path``, or None (the one stat asked for: no
        dictionary of the row's stats built)."""
        files = self._files[k]
        if path in files:
            stat = self._stats.stat(k, files.index(path))  # kept in the array only when its names are unique
            if stat is not None:
                return stat
        kept = (self._stats.value(k) or {}).get(path)  # stats kept as given (not the files')
        return None if kept is None else list(kept)

    def row(self, k: int) -> ItemRecord:
        summary = self._summaries[k]
        annotation, slide = self._parsed[k] if self._parsed is not None else (None, None)
        return ItemRecord(
            summary=summary,
            findings=list(self._findings.get(k, ())),
            n_values=self._n_values[k],
            files=list(self._files[k]),
            clinical_record=self._clinical[k],
            record_source=self._source[k],
            fingerprint=self._fingerprint[k],
            annotation_sha256=self._annotation_sha256[k],
            unreadable=bool(self._unreadable[k]),
            annotation=annotation,
            slide=slide,
            sha256=dict(self._sha256.get(k, {})),
            stats=self._stats_of(k),
            sparse=dict(self._sparse.get(k, {})),
            parts=dict(self._parts.get(k, {})),
        )

    def _stats_of(self, k: int) -> dict[str, list[int]]:
        stats = self._stats.stats(k)
        if stats is not None:
            return dict(zip(self._files[k], stats, strict=True))
        return {f: list(v) for f, v in (self._stats.value(k) or {}).items()}


def _in_item_order(column: Mapping[int, Mapping[str, Any]]) -> dict[str, Any]:
    """A sparse column of per-file mappings flattened in item order (a path of two items: the
    later one's)."""
    return {path: v for k in sorted(column) for path, v in column[k].items()}


def _put(column: dict[int, Any], k: int, value: Any) -> None:
    """Row ``k`` of a sparse column: kept when not empty."""
    if value:
        column[k] = value
    else:
        column.pop(k, None)
