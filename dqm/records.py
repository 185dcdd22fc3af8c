"""The item records a run keeps, as columns: one row per item, filled as the items come back.

A run of a million items keeps a million records. As objects, each lean record cost about
0.85 KiB beside its summary (a slotted dataclass, a list of files, a dictionary of file stats
with a list of four integers, a 64-character hex string...). :class:`ItemRecords` keeps the same
values in columns keyed by the item's index (numbers in arrays of 64-bit integers, a SHA-256 as 32 bytes,
the few per-item objects in lists, findings and full hashes only for the items that have some)
and gives each record back as an :class:`~dqm.model.ItemRecord` when it is read, equal to the one
stored: every stage reads ``run.outcomes[k]`` as before.
"""

from __future__ import annotations

import array
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar, TypeVar, overload

from pydantic import BaseModel, GetCoreSchemaHandler
from pydantic_core import CoreSchema, core_schema

from dqm.facts import ItemSummary
from dqm.findings import Finding
from dqm.model import ItemRecord, ParsedAnnotation, SlideFacts

STAT_FILES = 2
"""Files whose stats a row holds in the array (an item's annotation file and slide); an item with
other stats keeps them as a dictionary."""
STAT_FIELDS = 4
"""Size, modification time, change time (ns), inode: :func:`dqm.runner.file_stat`."""
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
M = TypeVar("M")


class Columns(Sequence[M]):
    """Base of a sequence of models kept as columns and given back one model at a time
    (:meth:`row`). As the field of a pydantic model it is validated from a list (and stored
    so) and serialised as a list: results.json and its schema are those of a list field."""

    element: ClassVar[type[BaseModel]]
    """The model of a row (the list's element in a pydantic model)."""

    def row(self, k: int) -> M:
        """The model of row ``k`` (``0 <= k < len(self)``)."""
        raise NotImplementedError

    @overload
    def __getitem__(self, k: int) -> M: ...
    @overload
    def __getitem__(self, k: slice) -> list[M]: ...
    def __getitem__(self, k: int | slice) -> M | list[M]:
        if isinstance(k, slice):
            return [self.row(i) for i in range(len(self))[k]]
        return self.row(range(len(self))[k])

    def __iter__(self) -> Iterator[M]:
        return (self.row(k) for k in range(len(self)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and len(self) == len(other) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        listed = handler.generate_schema(list[cls.element])  # type: ignore[name-defined]
        return core_schema.no_info_wrap_validator_function(
            lambda value, validate: value if isinstance(value, cls) else cls.of(validate(value)),
            listed,
            serialization=core_schema.plain_serializer_function_ser_schema(list, return_schema=listed),
        )

    @classmethod
    def of(cls, models: Iterable[Any]) -> Any:
        """The models of an iterable, as columns."""
        raise NotImplementedError


_INTEGER_FIELDS = tuple(n for n, f in ItemSummary.model_fields.items() if f.annotation in (int, int | None))


class ItemSummaries(Columns[ItemSummary]):
    """``n`` item summaries (:class:`~dqm.facts.ItemSummary`) as columns: the integers in int64
    arrays, the strings, dictionaries and slide summaries as references (to the objects the run
    shares between items: :class:`~dqm.runner.Compactor`), each set of fields pydantic keeps
    once. About 0.15 KiB an item where a summary object took 0.6. A row is empty until a summary
    is stored in it (``summaries[k] = summary``)."""

    element = ItemSummary
    INTEGERS: ClassVar[tuple[str, ...]] = _INTEGER_FIELDS
    """The fields kept in int64 arrays (row, patient, counts, size)."""
    OBJECTS: ClassVar[tuple[str, ...]] = tuple(
        n for n in ItemSummary.model_fields if n not in _INTEGER_FIELDS
    )
    """The fields kept as references."""

    def __init__(self, n: int) -> None:
        self._fields_set: list[set[str] | None] = [None] * n
        self._sets: dict[frozenset[str], set[str]] = {}
        self._objects = {name: [None] * n for name in self.OBJECTS}
        self._integers = {name: array.array("q", bytes(8 * n)) for name in self.INTEGERS}
        self._has = {name: bytearray(n) for name in self.INTEGERS}
        self._other: dict[tuple[str, int], Any] = {}  # an integer past 64 bits
        # each field's column (and mask of the integers'), in the model's order of fields
        self._columns = [
            (name, self._objects[name], None)
            if name in self._objects
            else (name, self._integers[name], self._has[name])
            for name in ItemSummary.model_fields
        ]

    @classmethod
    def of(cls, models: Iterable[ItemSummary]) -> ItemSummaries:
        models = list(models)
        out = cls(len(models))
        for k, model in enumerate(models):
            out[k] = model
        return out

    def __len__(self) -> int:
        return len(self._fields_set)

    def holds(self, k: int) -> bool:
        """Whether row ``k`` holds a summary."""
        return self._fields_set[k] is not None

    def __setitem__(self, k: int, summary: ItemSummary) -> None:
        values = summary.__dict__
        for name, column, has in self._columns:
            value = values[name]
            if has is None:
                column[k] = value
                continue
            self._other.pop((name, k), None)
            fits = type(value) is int and _INT64_MIN <= value <= _INT64_MAX
            column[k] = value if fits else 0
            has[k] = fits
            if value is not None and not fits:
                self._other[name, k] = value
        fields = frozenset(summary.model_fields_set)
        self._fields_set[k] = self._sets.setdefault(fields, set(fields))

    def row(self, k: int) -> ItemSummary:
        fields = self._fields_set[k]
        if fields is None:
            raise LookupError(f"no summary stored for item {k}")
        values = {
            name: column[k] if has is None or has[k] else self._other.get((name, k))
            for name, column, has in self._columns
        }
        return constructed(ItemSummary, values, fields)


def constructed(model: type[M], values: dict[str, Any], fields: set[str]) -> M:
    """``model.model_construct(fields, **values)`` when ``values`` has every field, in the
    model's order: the model's own values, stored and given back (7 times faster than pydantic's
    loop over defaults, for a million rows on every pass). ``fields`` is shared, never changed in
    place (a copy of the model gets its own)."""
    out = model.__new__(model)
    object.__setattr__(out, "__dict__", values)
    object.__setattr__(out, "__pydantic_fields_set__", fields)
    object.__setattr__(out, "__pydantic_extra__", None)
    object.__setattr__(out, "__pydantic_private__", None)
    return out


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
        self._stats = array.array("q", bytes(8 * STAT_FILES * STAT_FIELDS * n))
        self._has_stats = bytearray(n)
        self._parsed: list[tuple[ParsedAnnotation | None, SlideFacts | None]] | None = (
            [(None, None)] * n if whole else None
        )
        # only the few rows that have them (or whose values do not fit a column)
        self._findings: dict[int, list[Finding]] = {}
        self._sha256: dict[int, dict[str, str]] = {}
        self._other_stats: dict[int, dict[str, list[int]]] = {}

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
        self._annotation_sha256[k] = record.annotation_sha256
        self._store_stats(k, record.stats)

    def holds(self, k: int) -> bool:
        """Whether row ``k`` holds a record."""
        return self._summaries.holds(k)

    def findings(self) -> list[Finding]:
        """Every item's findings, in item order (without building the records)."""
        return [f for k in sorted(self._findings) for f in self._findings[k]]

    def summaries(self) -> ItemSummaries:
        """Every item's summary, in item order: the column store the result's ``items`` is."""
        return self._summaries

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
        )

    def _store_stats(self, k: int, stats: dict[str, list[int]]) -> None:
        """The stats of the item's files in the array when they are those of its files, in its
        files' order, each four integers of 64 bits (what :func:`dqm.runner.file_stat` gives)."""
        self._other_stats.pop(k, None)
        files = self._files[k]
        fits = (
            tuple(stats) == files
            and len(files) <= STAT_FILES
            and all(fits_int64(v, STAT_FIELDS) for v in stats.values())
        )
        self._has_stats[k] = fits and bool(stats)
        if fits:
            for j, values in enumerate(stats.values()):
                at = (STAT_FILES * k + j) * STAT_FIELDS
                self._stats[at : at + STAT_FIELDS] = array.array("q", values)
        elif stats:
            self._other_stats[k] = stats

    def _stats_of(self, k: int) -> dict[str, list[int]]:
        if self._has_stats[k]:
            at = STAT_FILES * STAT_FIELDS * k
            return {
                f: self._stats[at + STAT_FIELDS * j : at + STAT_FIELDS * (j + 1)].tolist()
                for j, f in enumerate(self._files[k])
            }
        return {f: list(v) for f, v in self._other_stats.get(k, {}).items()}


def _put(column: dict[int, Any], k: int, value: Any) -> None:
    """Row ``k`` of a sparse column: kept when not empty."""
    if value:
        column[k] = value
    else:
        column.pop(k, None)


def fits_int64(values: Any, n: int) -> bool:
    """Whether ``values`` is a list of ``n`` integers of 64 bits (a row of an int64 column)."""
    return (
        type(values) is list
        and len(values) == n
        and all(type(x) is int and _INT64_MIN <= x <= _INT64_MAX for x in values)
    )


class Sha256s:
    """A column of SHA-256 hex digests or None, 32 bytes a row (``n`` rows, and more appended);
    a value that is not a lowercase SHA-256 (never made by dqm, but read from a file) is kept as
    written."""

    def __init__(self, n: int = 0) -> None:
        self._raw = bytearray(32 * n)
        self._has = bytearray(n)
        self._other: dict[int, str | None] = {}

    def __len__(self) -> int:
        return len(self._has)

    def append(self, hexdigest: str | None) -> None:
        self._raw.extend(bytes(32))
        self._has.append(0)
        self[len(self._has) - 1] = hexdigest

    def __setitem__(self, k: int, hexdigest: str | None) -> None:
        self._other.pop(k, None)
        self._has[k] = 0
        try:
            raw = bytes.fromhex(hexdigest) if hexdigest is not None else b""
        except (TypeError, ValueError):
            raw = b""
        if len(raw) == 32 and raw.hex() == hexdigest:
            self._raw[32 * k : 32 * k + 32] = raw
            self._has[k] = 1
        elif hexdigest is not None:
            self._other[k] = hexdigest

    def __getitem__(self, k: int) -> str | None:
        return self._raw[32 * k : 32 * k + 32].hex() if self._has[k] else self._other.get(k)
