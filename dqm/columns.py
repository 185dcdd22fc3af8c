"""Sequences of models kept as columns: a million summaries or file digests in a few arrays and
lists, each row given back as the model when it is read (:class:`Columns`).

A pydantic object costs about 0.6 KiB (its dictionary of fields, its set of fields); a run of a
million items kept one summary per item, and results.json a file digest per file. Here the
integers are 64-bit arrays, a SHA-256 is 32 bytes, and strings, dictionaries and nested models
are references to the objects the run shares between items. Kept light (no numpy): the results
models import it.
"""

from __future__ import annotations

import array
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar, TypeVar, overload

from pydantic import BaseModel, GetCoreSchemaHandler
from pydantic_core import CoreSchema, core_schema

from dqm.facts import ItemSummary

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
        self._columns: list[tuple[str, Any, bytearray | None]] = [
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

    def take(self, rows: Sequence[int]) -> ItemSummaries:
        """Rows ``rows`` (in that order) as a store of their own, column by column (no summary
        built); the values are shared, as the rows' own."""
        out = ItemSummaries(len(rows))
        out._fields_set = [self._fields_set[k] for k in rows]
        out._sets = dict(self._sets)
        for name, column in self._objects.items():
            out._objects[name][:] = [column[k] for k in rows]
        for name, values in self._integers.items():
            out._integers[name][:] = array.array("q", [values[k] for k in rows])
            has = self._has[name]
            out._has[name][:] = bytes([has[k] for k in rows])
        if self._other:  # rarely: fields outside the columns
            names: dict[int, list[str]] = {}
            for name, k in self._other:
                names.setdefault(k, []).append(name)
            out._other = {
                (name, j): self._other[name, k] for j, k in enumerate(rows) for name in names.get(k, ())
            }
        return out

    def column(self, name: str) -> Sequence[Any]:
        """Every summary's value of field ``name``, in item order, without building a summary:
        a field kept as references is its stored list (read, never changed), an integer field a
        new list (None where a row holds none)."""
        if name in self._objects:
            return self._objects[name]
        values, has = self._integers[name], self._has[name]
        return [
            value if there else self._other.get((name, k))
            for k, (value, there) in enumerate(zip(values, has, strict=True))
        ]

    def row(self, k: int) -> ItemSummary:
        fields = self._fields_set[k]
        if fields is None:
            raise LookupError(f"no summary stored for item {k}")
        values = {
            name: column[k] if has is None or has[k] else self._other.get((name, k))
            for name, column, has in self._columns
        }
        return constructed(ItemSummary, values, fields)


def taken(column: dict[int, Any], rows: Sequence[int]) -> dict[int, Any]:
    """A sparse column (row -> value, for the few rows that have one) of the rows ``rows``,
    renumbered by their place there."""
    if not column:
        return {}
    return {j: column[k] for j, k in enumerate(rows) if k in column}


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


def fits_int64(values: Any, n: int) -> bool:
    """Whether ``values`` is a list of ``n`` integers of 64 bits (a row of an int64 column)."""
    return (
        type(values) is list
        and len(values) == n
        and all(type(x) is int and _INT64_MIN <= x <= _INT64_MAX for x in values)
    )


_NO_DIGEST = bytes(32)


def _digest_bytes(hexdigest: str | None) -> bytes | None:
    """The 32 bytes of a lowercase SHA-256 hex digest, or None for any other value."""
    if hexdigest is None:
        return None
    try:
        raw = bytes.fromhex(hexdigest)
    except (TypeError, ValueError):
        return None
    return raw if len(raw) == 32 and raw.hex() == hexdigest else None


class Sha256s(Sequence[str | None]):
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
        raw = _digest_bytes(hexdigest)
        self._raw += raw or _NO_DIGEST
        self._has.append(raw is not None)
        if raw is None and hexdigest is not None:
            self._other[len(self._has) - 1] = hexdigest

    def __setitem__(self, k: int, hexdigest: str | None) -> None:
        self._other.pop(k, None)
        self._has[k] = 0
        raw = _digest_bytes(hexdigest)
        if raw is not None:
            self._raw[32 * k : 32 * k + 32] = raw
            self._has[k] = 1
        elif hexdigest is not None:
            self._other[k] = hexdigest

    def take(self, rows: Sequence[int]) -> Sha256s:
        """Rows ``rows`` (in that order) as a column of their own."""
        out = Sha256s()
        raw = self._raw
        out._raw = bytearray(b"".join([raw[32 * k : 32 * k + 32] for k in rows]))
        out._has = bytearray([self._has[k] for k in rows])
        out._other = taken(self._other, rows)
        return out

    @overload
    def __getitem__(self, k: int) -> str | None: ...
    @overload
    def __getitem__(self, k: slice) -> list[str | None]: ...
    def __getitem__(self, k: int | slice) -> str | list[str | None] | None:
        if isinstance(k, slice):
            return [self[i] for i in range(len(self))[k]]
        k = range(len(self))[k]  # a negative index counts from the end, as a sequence's does
        return self._raw[32 * k : 32 * k + 32].hex() if self._has[k] else self._other.get(k)


class StatRows:
    """``n`` rows (and more appended) of up to ``width`` file stats each, a stat being
    :data:`STAT_FIELDS` integers of 64 bits (:func:`dqm.runner.file_stat`), all in one int64
    array (32 bytes a stat, where a list of four integers costs about 0.2 KiB); a row whose
    value is not such stats (never made by dqm, but read from a file) keeps its value as given.
    The item records' files' stats (:class:`~dqm.records.ItemRecords`, two a row) and the result's
    file digests' (:class:`~dqm.results.FileDigests`, one a row)."""

    __slots__ = ("_blank", "_count", "_other", "_values", "width")

    def __init__(self, n: int = 0, width: int = 1) -> None:
        self.width = width
        self._blank = array.array("q", bytes(8 * STAT_FIELDS * width))  # a row of no stat
        self._values = array.array("q", bytes(8 * STAT_FIELDS * width * n))
        self._count = bytearray(n)  # 1 + the stats the array holds for the row; 0: its value is kept
        self._other: dict[int, Any] = {}

    def __len__(self) -> int:
        return len(self._count)

    def append(self, value: Any, stats: Sequence[Any] | None) -> None:
        """One more row: see :meth:`put`."""
        if stats is not None and self._fit(stats):
            self._values.extend([x for stat in stats for x in stat])
            self._values.extend(self._blank[: STAT_FIELDS * (self.width - len(stats))])
            self._count.append(1 + len(stats))
            return
        self._values.extend(self._blank)
        self._count.append(0)
        if value is not None:
            self._other[len(self._count) - 1] = value

    def _fit(self, stats: Sequence[Any]) -> bool:
        """Whether ``stats`` go in the array: at most :attr:`width` stats of :data:`STAT_FIELDS`
        64-bit integers each."""
        return len(stats) <= self.width and all(fits_int64(s, STAT_FIELDS) for s in stats)

    def put(self, k: int, value: Any, stats: Sequence[Any] | None) -> None:
        """Row ``k``: ``stats`` in the array when they are at most :attr:`width` stats (each a
        list of :data:`STAT_FIELDS` 64-bit integers), else ``value`` kept as given (None: kept
        as nothing)."""
        self._other.pop(k, None)
        if stats is not None and self._fit(stats):
            self._count[k] = 1 + len(stats)
            at = STAT_FIELDS * self.width * k
            for j, stat in enumerate(stats):
                self._values[at + STAT_FIELDS * j : at + STAT_FIELDS * (j + 1)] = array.array("q", stat)
            return
        self._count[k] = 0
        if value is not None:
            self._other[k] = value

    def take(self, rows: Sequence[int]) -> StatRows:
        """Rows ``rows`` (in that order) as rows of their own."""
        out = StatRows(0, self.width)
        step = STAT_FIELDS * self.width
        values = self._values
        for k in rows:
            out._values.extend(values[step * k : step * (k + 1)])
        out._count = bytearray([self._count[k] for k in rows])
        out._other = taken(self._other, rows)
        return out

    def stats(self, k: int) -> list[list[int]] | None:
        """Row ``k``'s stats (new lists), or None when the row keeps its value as given."""
        n = self._count[k] - 1
        if n < 0:
            return None
        at = STAT_FIELDS * self.width * k
        return [self._values[at + STAT_FIELDS * j : at + STAT_FIELDS * (j + 1)].tolist() for j in range(n)]

    def stat(self, k: int, j: int) -> list[int] | None:
        """Stat ``j`` of row ``k`` (a new list), or None when the row has no such stat in the array."""
        if not 0 <= j < self._count[k] - 1:
            return None
        at = STAT_FIELDS * (self.width * k + j)
        return self._values[at : at + STAT_FIELDS].tolist()

    def value(self, k: int) -> Any:
        """Row ``k``'s value as given, when its stats are not in the array (else None)."""
        return self._other.get(k)
