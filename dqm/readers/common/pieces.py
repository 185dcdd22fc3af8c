"""A big JSON object read in pieces: the object tree of the whole document is never built.

Parsed whole, a file of many small polygons becomes an object tree of about 13 times its size
(a list and two floats for each vertex, a dict for each object), and the lesions made from it
come on top. :func:`split` has msgspec split the top-level object into its values as raw text
(zero-copy, checking the syntax of the whole text on the way) and one list of it into its items
(a document that is a list, into its items);
the other top-level values are parsed at once, and :meth:`Pieces.items` parses the list's items one
at a time with orjson, as the reader asks for them, so each item's tree is dropped once its lesion
is made. What the reader makes is what it makes of the whole document.

A file this cannot read exactly as the whole-document parse does raises :class:`NotPieces` (or
:func:`split` gives None), and the caller reads it whole: text msgspec or orjson refuses (not
UTF-8, a byte-order mark, NaN, an integer past 64 bits, nesting past msgspec's limit), an item
that is not an object, or a repeated key. A repeated key is seen only at the end (the keys parsed
against the ``":`` of the text, :func:`~dqm.readers.common.base.key_ends`, as
:func:`~dqm.readers.common.base.parse_json` counts them), so such a file is read twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
import orjson

from dqm.readers.common import tally
from dqm.readers.common.base import count_keys, key_ends

MIN_BYTES = 16 * 2**20
"""Files of at least this many bytes are read in pieces (a smaller one is read whole, as fast)."""

RAW_BYTES = 56
"""An item's raw text as the split holds it (a ``msgspec.Raw`` and its slot in the list)."""

_TOP = msgspec.json.Decoder(dict[str, msgspec.Raw])
_LIST = msgspec.json.Decoder(list[msgspec.Raw])
_READ = msgspec.Raw(b"")
_OPEN = re.compile(rb"[ \t\r\n]*([{\[])")
_REFUSED = (msgspec.MsgspecError, orjson.JSONDecodeError, UnicodeDecodeError, ValueError, RecursionError)


class NotPieces(Exception):
    """The file cannot be read in pieces exactly as it is read whole: read it whole."""


@dataclass(slots=True)
class Pieces:
    """A JSON object split around one list value, or a JSON list split into its items."""

    shell: Any
    """An object: the top-level object, every value parsed but the list's, which is an empty
    list here. A list: its first item alone (what the readers' ``looks`` read of a list)."""
    key: str | None
    """The key of the list split (None: the document is the list)."""
    raw: list[msgspec.Raw]
    """The list's items as raw text (each dropped as :meth:`items` parses it)."""
    data: bytes

    def items(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(index, item)`` for each item of the list, parsed when asked for; raises
        :class:`NotPieces` for an item that is not an object, or text orjson refuses, and at the end
        when a key repeats."""
        keys = 0 if self.key is None else count_keys(self.shell)
        raw = self.raw
        for k in range(len(raw)):
            # what the items before kept, and this one's parse (:mod:`~dqm.readers.common.tally`)
            tally.check(raw[k])
            try:
                item = orjson.loads(memoryview(raw[k]))
            except _REFUSED as exc:
                raise NotPieces from exc
            raw[k] = _READ  # the raw text is dropped as it is read
            if not isinstance(item, dict):
                raise NotPieces
            keys += count_keys(item)
            yield k, item
        tally.check()
        if keys != key_ends(self.data):
            raise NotPieces


def top_values(data: bytes) -> dict[str, msgspec.Raw] | None:
    """The values of the JSON object ``data`` as raw text (zero-copy); None when it is not one,
    or its text is refused."""
    start = _OPEN.match(data)
    if start is None or start[1] != b"{":
        return None
    try:
        return _TOP.decode(data)
    except _REFUSED:
        return None


def split(data: bytes, keys: tuple[str, ...]) -> Pieces | None:
    """``data`` split: a JSON object around its list value at the first of ``keys`` it holds, a
    JSON list of objects into its items; None when it is neither, or its text is refused."""
    start = _OPEN.match(data)
    if start is None:
        return None
    try:
        if start[1] == b"[":
            raw = _LIST.decode(data)
            tally.charge(RAW_BYTES * len(raw))
            if raw:
                tally.check(raw[0])  # the first item is parsed here, kept as the shell
            first = orjson.loads(memoryview(raw[0])) if raw else None
            tally.charge(tally.deep_bytes(first))
            return Pieces([first], None, raw, data) if isinstance(first, dict) else None
        top = _TOP.decode(data)
        key = next((k for k in keys if k in top), None)
        if key is None:
            return None
        raw = _LIST.decode(top.pop(key))
        shell = {k: orjson.loads(memoryview(v)) for k, v in top.items()}
    except _REFUSED:
        return None
    shell[key] = []
    tally.charge(RAW_BYTES * len(raw) + tally.deep_bytes(shell))
    return Pieces(shell, key, raw, data)
