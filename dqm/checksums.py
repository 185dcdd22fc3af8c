"""Checksum lists delivered with a batch: a ``SHA256SUMS`` file at its root or ``sha256`` columns
of its manifest.

``SHA256SUMS`` is what GNU coreutils' ``sha256sum`` writes and ``sha256sum -c`` reads: one line
per file, ``HASH  path`` (text mode) or ``HASH *path`` (binary mode; the two are the same on every
system dqm runs on), a line starting with a backslash holding a name with ``\\\\``, ``\\n`` or
``\\r`` escaped, and the BSD form ``SHA256 (path) = HASH`` that ``sha256sum --tag`` writes. Lines
starting with ``#`` are comments; blank lines are skipped. A manifest may instead give the slide's
hash in a ``sha256`` column and the annotation file's in ``annotation_sha256``.

Parsing here reads nothing but the list: paths are cleaned and jailed by discovery
(:mod:`dqm.batch`), the files are hashed in each item's work (:mod:`dqm.runner`), and the
``checksum.list`` check compares.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from dqm.i18n import N_, msg

SUMS_FILE = "SHA256SUMS"
MAX_SUMS_BYTES = 64 * 1024 * 1024
"""A checksum list larger than this is not read (about 700,000 lines of 30-character names)."""
SLIDE_COLUMN = "sha256"
ANNOTATION_COLUMN = "annotation_sha256"
MANIFEST_COLUMNS = (SLIDE_COLUMN, ANNOTATION_COLUMN)
"""Manifest columns holding checksums: the row's slide file and its annotation file."""

_HEX = re.compile(r"[0-9a-fA-F]{64}")
_GNU = re.compile(r"(?P<hash>[0-9a-fA-F]{64}) (?P<mode>[ *])(?P<path>.+)", re.DOTALL)
_BSD = re.compile(r"SHA256 ?\((?P<path>.+)\) ?= ?(?P<hash>[0-9a-fA-F]{64})", re.DOTALL)
_SHORTEST = 67
"""Characters of the shortest entry (a hash, a space, the mode, a one-character path): a shorter
line is none, without a search (millions of them are a checksum list under the size limit)."""
_ESCAPES = {"\\\\": "\\", "\\n": "\n", "\\r": "\r"}


@dataclass(frozen=True, slots=True)
class Listed:
    """One file's expected SHA-256 and where the list says so."""

    path: str
    """The path as the list writes it (unescaped)."""
    sha256: str
    """Lower-case hex."""
    where: str
    """``SHA256SUMS line 3`` or ``manifest.csv row 2, column sha256``: for messages."""
    line: int | None = None
    row: int | None = None
    column: str | None = None
    source: str = SUMS_FILE
    """The file that lists it: ``SHA256SUMS`` (by ``line``) or the manifest (by ``row`` and ``column``)."""

    def where_params(self) -> dict[str, object]:
        """:attr:`where` as a message's ``{_where}`` part (a msgid, translated) and its values."""
        if self.line is not None:
            return {
                "_where": N_("{where_file} line {where_line}"),
                "where_file": self.source,
                "where_line": self.line,
            }
        return {
            "_where": N_("{where_file} row {where_row}, column {where_column}"),
            "where_file": self.source,
            "where_row": self.row,
            "where_column": self.column,
        }


MAX_MALFORMED = 1000
"""Malformed lines of a checksum list reported one by one; the others are counted in one more issue
(a list of 2 MB of one-character lines made a million findings: 6 minutes, 3.2 GB, a results.json
of 400 MB; the 64 MB the list may hold would have made 32 million)."""
NOT_AN_ENTRY = N_("not 'HASH  path', 'HASH *path' or 'SHA256 (path) = HASH'")
UNKNOWN_ESCAPE = N_("an unknown backslash escape in the file name")


@dataclass(frozen=True, slots=True)
class Malformed:
    """A line of the list that is not a checksum line."""

    line: int
    why: str


def is_sha256(text: str) -> bool:
    """Whether ``text`` is 64 hexadecimal digits (either case)."""
    return _HEX.fullmatch(text) is not None


def _unescape(path: str) -> str | None:
    """A name ``sha256sum`` escaped (the line started with a backslash); None when an escape is unknown."""
    out, i = [], 0
    while i < len(path):
        if path[i] == "\\":
            pair = path[i : i + 2]
            if pair not in _ESCAPES:
                return None
            out.append(_ESCAPES[pair])
            i += 2
        else:
            out.append(path[i])
            i += 1
    return "".join(out)


def _split_lines(text: str) -> Iterator[str]:
    """``text.split("\\n")`` one line at a time: the list held every line at once (a 63 MB list of
    three-byte lines peaked at 1.7 GB)."""
    start = 0
    while (end := text.find("\n", start)) >= 0:
        yield text[start:end]
        start = end + 1
    yield text[start:]


def parse_sums(
    text: str, source: str = SUMS_FILE, keep: Callable[[int, str], None] | None = None
) -> tuple[list[Listed], list[Malformed]]:
    """The entries of a ``SHA256SUMS`` text and the lines that are not entries, in file order.

    Paths come back as written (unescaped, not yet cleaned or jailed); hashes in lower case.
    ``keep`` is given each comment and each line that is no entry (its number and text): the text
    no file of the batch is named by, for the search for identifiers.
    """
    entries: list[Listed] = []
    malformed: list[Malformed] = []
    more, first_more = 0, 0
    for n, raw in enumerate(_split_lines(text), start=1):
        line = raw.removesuffix("\r")
        if not line.strip():
            continue
        if line.startswith("#"):
            if keep is not None:
                keep(n, line)
            continue
        escaped = line.startswith("\\")
        body = line[1:] if escaped else line
        match = (_GNU.fullmatch(body) or _BSD.fullmatch(body)) if len(body) >= _SHORTEST else None
        path = None
        if match is not None:
            path = _unescape(match["path"]) if escaped else match["path"]
        if match is not None and path is not None:
            entries.append(Listed(path, match["hash"].lower(), f"{source} line {n}", line=n, source=source))
            continue
        if keep is not None:
            keep(n, line)
        if len(malformed) < MAX_MALFORMED:
            why = NOT_AN_ENTRY if match is None else UNKNOWN_ESCAPE
            malformed.append(Malformed(n, msg(why)))
        else:
            more, first_more = more + 1, first_more or n
    if more:
        malformed.append(
            Malformed(
                first_more,
                msg(
                    "{n:,} more lines from here on are not checksum lines either (the first {shown:,} "
                    "are reported one by one)",
                    n=more,
                    shown=MAX_MALFORMED,
                ),
            )
        )
    return entries, malformed
