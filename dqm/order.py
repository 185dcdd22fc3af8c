"""The buyer's order list (``--expect FILE``): the items a delivery should hold, so that an item
left out counts against the batch.

Without it nothing knows what was ordered: a supplier who deletes the rows and files of its worst
slides (or renames them) raises every figure dqm certifies. The order list is the buyer's own
file (the purchase order, the study's case list): CSV or TSV with a header, or plain text with one
id a line. A header names the column to match by: the item's id (``slide_id``, ``item_id`` or
``id``: the manifest's ``slide_id``, or a slide file's stem where the batch has no manifest) or
its slide file (``image_path``, ``file``, ``file_name``, ``filename`` or ``slide_file``: a batch
path, or a bare file name matched against the slides' names), and optionally ``sha256``, the
slide file's expected SHA-256 (the slides the column gives a hash for are hashed whole). Header
names are matched after :func:`column_name` (case, spaces, ``-`` and ``_`` aside); another column
named like ``--lot-by``'s field gives the lot of an item not delivered (:meth:`OrderList.lots`).
Names are compared in Unicode NFC (a list naming one in both forms repeats it), and an item matches
one line at most (:func:`delivered`).

The list is read as untrusted input: size and entry caps, UTF-8 (a byte-order mark tolerated) or
UTF-16/32 by their marks, blank lines skipped, quotes as CSV's. A list that cannot be read, or
one with a malformed line (a repeated id, a row of the wrong width, a bad hash), is an
:class:`OrderError` naming the line: the command's usage error (exit 2), never a crash.

The ``order.list`` check (:mod:`validators.order`, run by :func:`dqm.audit.with_order`) turns the list into findings: an item ordered
and not delivered (``ITEM_NOT_DELIVERED``, an error at the order list's line, counted by syntactic
accuracy as the item's missing slide and annotation files and one missing value:
:mod:`dqm.syntactic.accuracy`), one delivered and not ordered (``ITEM_NOT_ORDERED``, a warning;
``ITEM_DELIVERED_AGAIN`` too when a line names it as well as the item it matched:
:func:`delivered_again`), and a slide whose SHA-256 is not the one ordered (``ORDER_CHECKSUM_MISMATCH``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import posixpath
import re
import unicodedata
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from dqm.batch import WIDE_BOMS, normalise
from dqm.checksums import is_sha256
from dqm.i18n import Message, msg
from dqm.output import csv_cell_limit, read_named

ORDER_CHECK = "order.list"
NOT_DELIVERED = "ITEM_NOT_DELIVERED"
NOT_ORDERED = "ITEM_NOT_ORDERED"
AGAIN = "ITEM_DELIVERED_AGAIN"
MISMATCH = "ORDER_CHECKSUM_MISMATCH"
ID_COLUMNS = ("slide_id", "item_id", "id")
"""Header names of the column that names each item by its id, the first present taken."""
FILE_COLUMNS = ("image_path", "file", "file_name", "filename", "slide_file")
"""Header names of the column that names each item by its slide file (when no id column is there)."""
SHA_COLUMN = "sha256"
MAX_ORDER_BYTES = 64 * 1024 * 1024
"""An order list larger than this is refused."""
MAX_ORDERED = 1_000_000
"""Items an order list may name: more is refused (each is held and compared with the batch)."""
MAX_KEY_CHARS = 1_000
"""An id or file name longer than this is no id: the line is refused."""


class OrderError(ValueError):
    """An order list that cannot be used: its message (a :func:`~dqm.i18n.msg`) names the line."""


@dataclass(frozen=True, slots=True)
class Ordered:
    """One item of the order list."""

    key: str
    """The id, or the slide file (cleaned: :func:`dqm.batch.normalise`), as the list writes it."""
    line: int
    """1-based line of the order list."""
    sha256: str | None = None
    """The slide file's SHA-256, lower case, when the list gives one."""
    cells: tuple[str, ...] = ()
    """Its line's cells, as :attr:`OrderList.columns` names them (none in a list without a header)."""


@dataclass(frozen=True, slots=True)
class OrderList:
    """An order list as read."""

    name: str
    """Its file name: where the findings about its lines point."""
    sha256: str
    """SHA-256 of its bytes, as read."""
    by_file: bool
    """True: its items are named by slide file; False: by item id."""
    entries: tuple[Ordered, ...]
    columns: tuple[str, ...] = ()
    """Its header's column names (:func:`column_name`); none in a list of one id a line."""

    def lots(self, field: str, batch_lots: Collection[str] = ()) -> dict[int, str]:
        """The lot (``--lot-by field``) of each entry, by its line: the list's column of that
        name (:func:`column_name`), a blank cell ``(missing)`` as the batch's items, or the lot
        :data:`NOT_DELIVERED_LOT` for every entry when the list has no such column.

        ``batch_lots``: the lots of the batch's own items. A cell naming one of them but for case,
        Unicode form or spacing (``gwangju-d``, an NFD ``Ü``, for ``Gwangju-D``) is that lot (:func:`lot_key`):
        taken as written, a failing item deleted from the batch left its lot passing beside a lot of
        its own. The lot of entries the list does not place is :data:`NOT_DELIVERED_LOT`, or, when a
        batch lot is named so, the first of ``(not delivered) (2)``, ``(3)``… that none is."""
        unplaced, k = NOT_DELIVERED_LOT, 2
        while unplaced in batch_lots:
            unplaced, k = f"{NOT_DELIVERED_LOT} ({k})", k + 1
        name = column_name(field)
        if name not in self.columns:
            return {e.line: unplaced for e in self.entries}
        at = self.columns.index(name)
        keyed: dict[str, list[str]] = {}
        for lot in batch_lots:
            keyed.setdefault(lot_key(lot), []).append(lot)

        def placed(cell: str) -> str:
            value = cell.strip() or MISSING_LOT
            same = keyed.get(lot_key(value), [])
            return value if value in batch_lots or len(same) != 1 else same[0]

        return {e.line: placed(e.cells[at]) for e in self.entries}


def lot_key(value: str) -> str:
    """A lot name as compared with the order list's: NFC, case folded, runs of spaces as one."""
    return " ".join(unicodedata.normalize("NFC", value).casefold().split())


NOT_DELIVERED_LOT = "(not delivered)"
"""The lot of an item ordered and not delivered when the order list does not name its lot."""
MISSING_LOT = "(missing)"
"""The lot of an item with no value of the ``--lot-by`` field (:data:`dqm.semantic.strata.MISSING`)."""


def column_name(name: str) -> str:
    """A header's column name as matched: lower case, without spaces, ``-`` or ``_`` (``Slide
    ID``, ``SlideID`` and ``slide-id`` all name ``slide_id``)."""
    return re.sub(r"[\s_-]+", "", name).lower()


def read_order(path: Path) -> OrderList:
    """The order list at ``path``; :class:`OrderError` when it cannot be read or a line is malformed."""
    try:  # opened without waiting, read only when a regular file: a FIFO never blocks the command
        data = read_named(path, MAX_ORDER_BYTES)
    except OSError as exc:
        raise OrderError(
            msg("cannot read the order list {path}: {reason}", path=path, reason=exc.strerror or exc)
        ) from None
    if len(data) > MAX_ORDER_BYTES:
        raise OrderError(
            msg(
                "the order list {path} is larger than the {limit:,}-byte limit",
                path=path,
                limit=MAX_ORDER_BYTES,
            )
        )
    digest = hashlib.sha256(data).hexdigest()
    text = _decoded(data, path)
    del data
    by_file, entries, columns = parse_order(text, str(path))
    return OrderList(path.name, digest, by_file, tuple(entries), columns)


def _decoded(data: bytes, path: Path) -> str:
    """The list's text: UTF-8 (a byte-order mark tolerated), or UTF-16/32 by its byte-order mark."""
    codec = next((name for bom, name in WIDE_BOMS if data.startswith(bom)), None)
    try:
        return data.decode(codec) if codec is not None else data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise OrderError(
            msg(
                "{path} line {line}: not {encoding} text (byte 0x{byte:02x}); save the order list as UTF-8",
                path=path,
                line=data.count(b"\n", 0, exc.start) + 1,
                encoding=(codec or "utf-8").upper(),
                byte=data[exc.start],
            )
        ) from None


def parse_order(text: str, where: str) -> tuple[bool, list[Ordered], tuple[str, ...]]:
    """Whether the list ``text`` names items by slide file, its entries in line order and its
    header's column names (:func:`column_name`; none without a header); ``where``: the list's
    path, for the messages of :class:`OrderError`."""
    delimiter = "\t" if "\t" in _first_line(text) else ","
    csv_cell_limit()  # raised again, where something lowered it since dqm.output's import
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    entries: list[Ordered] = []
    seen: dict[str, int] = {}
    header: list[str] = []  # none: one id a line
    at, sha_at, by_file, first = 0, None, False, True
    try:
        for cells in rows:
            line = rows.line_num
            if not any(c.strip() for c in cells):
                continue
            if first:
                first, names = False, [column_name(c) for c in cells]
                found = _header(names, cells, line, where)
                if found is not None:
                    header, (at, sha_at, by_file) = names, found
                    continue
            if len(cells) != max(len(header), 1):
                raise _bad(where, line, _width(cells, header))
            key = cells[at].strip()
            sha = cells[sha_at].strip().lower() if sha_at is not None else ""
            entry = _entry(key, sha, line, by_file, where, tuple(cells) if len(header) > 1 else ())
            if (before := seen.get(_nfc(entry.key))) is not None:
                raise _bad(
                    where,
                    line,
                    msg("{key!r} is ordered again (first on line {first})", key=key, first=before),
                )
            if len(entries) >= MAX_ORDERED:
                raise _bad(where, line, msg("more than {limit:,} items ordered", limit=MAX_ORDERED))
            seen[_nfc(entry.key)] = line
            entries.append(entry)
    except csv.Error as exc:
        raise _bad(where, rows.line_num, msg("not CSV: {reason}", reason=exc)) from None
    if not entries:
        raise OrderError(msg("the order list {path} names no item", path=where))
    return by_file, entries, tuple(header)


def _first_line(text: str) -> str:
    """The first line of ``text`` that is not blank ("" when none is), found without a copy of the rest."""
    start = 0
    while (end := text.find("\n", start)) >= 0:
        if text[start:end].strip():
            return text[start:end]
        start = end + 1
    return text[start:]


def _header(names: list[str], cells: list[str], line: int, where: str) -> tuple[int, int | None, bool] | None:
    """Where the header ``names`` (its ``cells``' :func:`column_name`) has the column to match
    by, its ``sha256`` column and whether it names slide files; None when the line names none of
    those columns (no header)."""
    known = {column_name(c) for c in (*ID_COLUMNS, *FILE_COLUMNS, SHA_COLUMN)}
    if not known & set(names):
        return None
    counts = Counter(names)  # not names.count per cell: a header of many cells named alike
    twice = next((k for k, n in enumerate(names) if n in known and counts[n] > 1), None)
    if twice is not None:
        raise _bad(where, line, msg("the column {column} is named twice", column=cells[twice].strip()))
    column = next((c for c in (*ID_COLUMNS, *FILE_COLUMNS) if column_name(c) in names), None)
    if column is None:
        raise _bad(
            where,
            line,
            msg(
                "no column naming the items: one of {columns}",
                columns=", ".join((*ID_COLUMNS, *FILE_COLUMNS)),
            ),
        )
    sha_at = names.index(SHA_COLUMN) if SHA_COLUMN in names else None
    return names.index(column_name(column)), sha_at, column in FILE_COLUMNS


def _width(cells: list[str], header: list[str]) -> Message:
    if not header:
        return msg(
            "{n} cells, but the list has no header naming its columns ({columns}): give one id a line, "
            "or a header",
            n=len(cells),
            columns=", ".join((*ID_COLUMNS, *FILE_COLUMNS, SHA_COLUMN)),
        )
    return msg("{n} cells, the header has {columns}", n=len(cells), columns=len(header))


def _entry(key: str, sha: str, line: int, by_file: bool, where: str, cells: tuple[str, ...]) -> Ordered:
    """One line's entry, or :class:`OrderError` for a blank or unusable name or a bad hash."""
    if not key:
        raise _bad(where, line, msg("no item named"))
    if len(key) > MAX_KEY_CHARS or "\0" in key:
        raise _bad(
            where,
            line,
            msg("not an id or a file name (a NUL character, or over {n:,} characters)", n=MAX_KEY_CHARS),
        )
    if sha and not is_sha256(sha):
        raise _bad(where, line, msg("the sha256 cell is not 64 hexadecimal digits"))
    if by_file:
        norm, outside = normalise(key)
        if outside or not norm:
            raise _bad(where, line, msg("{key!r} leaves the batch folder", key=key))
        key = norm
    return Ordered(key, line, sha or None, cells)


def _bad(where: str, line: int, why: Message) -> OrderError:
    """The error of line ``line`` of the list ``where``: ``why`` (its msgid and parameters, so
    the whole message is translated)."""
    text = msg("{path} line {line}: {_why}", path=where, line=line, _why=why.template, **why.params)
    return OrderError(text)


def delivered(order: OrderList, slide_ids: Sequence[str], images: Sequence[str | None]) -> list[int | None]:
    """For each entry of ``order``, the index of the delivered item it names (None: not delivered).

    Items are the batch's, in discovery order: their ids and slide files (batch paths). An id
    names the item of that id; a slide file names the item whose slide is that batch path or,
    written without a folder, an item whose slide file has that name (the first such item no
    other line names). Names are compared in Unicode NFC, as the batch's files are
    (:func:`dqm.batch.normalise`: a list written on Windows names a slide a Mac wrote in NFD),
    and an item matches one line at most: a line naming an item an earlier line (or, for a bare
    file name, a line of a full path) already matched is not delivered."""
    taken: set[int] = set()

    def take(k: int | None) -> int | None:
        if k is None or k in taken:
            return None
        taken.add(k)
        return k

    if not order.by_file:
        by_id: dict[str, int] = {}
        for k, slide_id in enumerate(slide_ids):
            by_id.setdefault(_nfc(slide_id), k)
        return [take(by_id.get(_nfc(e.key))) for e in order.entries]
    by_path: dict[str, int] = {}
    by_name: dict[str, list[int]] = {}
    for k, image in enumerate(images):
        if image:
            norm = _nfc(normalise(image)[0])
            by_path.setdefault(norm, k)
            by_name.setdefault(posixpath.basename(norm), []).append(k)
    out = [take(by_path.get(_nfc(e.key))) for e in order.entries]  # full paths first
    for j, e in enumerate(order.entries):
        if out[j] is None and "/" not in e.key:
            out[j] = take(next((k for k in by_name.get(_nfc(e.key), ()) if k not in taken), None))
    return out


def delivered_again(
    order: OrderList, slide_ids: Sequence[str], images: Sequence[str | None], matches: Sequence[int | None]
) -> dict[int, int]:
    """The items no line matched (``matches``: :func:`delivered`) that a line naming a delivered
    item names too, each with that item: copies alike, of which the line could have matched either
    (an id, or a slide file's path or bare name, the same but for case, Unicode form and spacing:
    :func:`lot_key`). Which copy a line matched is the batch's order, the supplier's choice: a
    good copy put first would leave a bad one out of the figures as not ordered, so both are
    judged (``ITEM_DELIVERED_AGAIN``, :func:`dqm.syntactic.accuracy.repeated_groups`; a copy whose
    line cannot be told, the worst against each line it could stand for)."""
    taken = {k for k in matches if k is not None}
    named: dict[str, int] = {}
    for entry, k in zip(order.entries, matches, strict=True):
        if k is not None:
            named.setdefault(lot_key(entry.key), k)
    out: dict[int, int] = {}
    for k, (slide_id, image) in enumerate(zip(slide_ids, images, strict=True)):
        if k in taken:
            continue
        if not order.by_file:
            keys = [lot_key(slide_id)]
        elif image:
            path = lot_key(normalise(image)[0])
            keys = [path, posixpath.basename(path)]
        else:
            keys = []
        twin = next((named[key] for key in keys if key in named), None)
        if twin is not None:
            out[k] = twin
    return out


HEADER_LIKE = re.compile(r"[^\W\d]+(?:[\s_-]+[^\W\d]+)*")
"""A first line that looks like a column name: words of letters (no digit), joined by spaces,
``_`` or ``-`` (``case_id``, ``Slide ID``, ``patient``)."""


def header_not_known(order: OrderList, matches: Sequence[int | None]) -> OrderError | None:
    """The error of a list without a header whose first line looks like a header (:data:`HEADER_LIKE`)
    and names no delivered item (``matches``: :func:`delivered`): a column name this module does
    not know (``case_id``), which would be read as one more item ordered and not delivered.
    None when the list has a header, or its first line is an id or names a delivered item."""
    first = order.entries[0]
    if order.columns or matches[0] is not None or not HEADER_LIKE.fullmatch(first.key):
        return None
    return _bad(
        order.name,
        first.line,
        msg(
            "{key!r} looks like a column name and no delivered item has this id: name the column "
            "one of {columns} (case, spaces, '-' and '_' aside), or start the list with an id",
            key=first.key,
            columns=", ".join((*ID_COLUMNS, *FILE_COLUMNS)),
        ),
    )


def header_refused(
    order: OrderList, slide_ids: Sequence[str], images: Sequence[str | None]
) -> OrderError | None:
    """:func:`header_not_known` decided from the batch's items as discovery finds them (their ids
    and slide files, in discovery order, as the run's items will have them): before any item is
    checked, so a list starting with a column name dqm does not know is refused in seconds, not
    after the run. Only a first line :data:`HEADER_LIKE` is matched against the items."""
    if order.columns or not HEADER_LIKE.fullmatch(order.entries[0].key):
        return None
    return header_not_known(order, delivered(order, slide_ids, images))


def nfc(name: str) -> str:
    """``name`` in Unicode NFC (ASCII as it is, without a copy)."""
    return name if name.isascii() else unicodedata.normalize("NFC", name)


_nfc = nfc
