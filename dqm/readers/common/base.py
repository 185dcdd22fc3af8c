"""What every reader shares: the file-level read (bytes, encoding, syntax), JSON pointers, a
lesion as read (class as written, resolved later) and an annotation that could not be read."""

from __future__ import annotations

import itertools
import json
import math
import re
import sys
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from dqm.findings import clip
from dqm.i18n import N_, msg
from dqm.identifiers import (
    KEY_TEXT,
    Link,
    flat_text,
    holds_text,
    identifying_key,
    key_holds_text,
    link_parts,
    plain_key,
    reader_keys,
    walk,
)
from dqm.model import Annotation, Lesion, ReadIssue, Ring
from dqm.readers.common import tally

JSON_REASONS = (
    N_("Expecting value"),
    N_("Expecting ':' delimiter"),
    N_("Expecting ',' delimiter"),
    N_("Expecting property name enclosed in double quotes"),
    N_("Unterminated string starting at"),
    N_("Invalid control character at"),
    N_("Invalid \\escape"),
    N_("Invalid \\uXXXX escape"),
    N_("Extra data"),
)
"""The reasons Python's JSON parser gives, as msgids: an ``INVALID_JSON`` message's ``{_reason}``
(another reason is shown as the parser words it)."""
UTF8_BOM = b"\xef\xbb\xbf"
_UTF8_BOMS = re.compile(b"(?:" + re.escape(UTF8_BOM) + b")+")


def utf8_boms(data: bytes) -> int:
    """How many bytes of UTF-8 byte-order marks ``data`` starts with (a file saved twice by a
    BOM-adding editor has two), found in one slice."""
    found = _UTF8_BOMS.match(data)
    return 0 if found is None else found.end()


WIDE_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le", "UTF-32"),
    (b"\x00\x00\xfe\xff", "utf-32-be", "UTF-32"),
    (b"\xff\xfe", "utf-16-le", "UTF-16"),
    (b"\xfe\xff", "utf-16-be", "UTF-16"),
)
"""Byte-order marks of the wide Unicode encodings (UTF-32 first: its LE mark starts like UTF-16's)."""
_SPACED_KEY_END = re.compile(rb'"[ \t\r\n]+:')
"""The end of an object key with blanks before its colon. With ``":`` every key is counted once:
a string value never ends in ``:``, and the rare ``\\":`` inside a string only makes the count
too high (see :func:`key_ends`)."""


def pointer(*parts: object) -> str:
    """An RFC 6901 JSON pointer from path components (``pointer("lesions", 3)`` -> ``/lesions/3``)."""
    out = []
    for p in parts:
        s = str(p)
        if "~" in s or "/" in s:
            s = s.replace("~", "~0").replace("/", "~1")
        out.append(s)
    return "/" + "/".join(out) if out else ""


def has_text(value: Any) -> bool:
    """Whether a JSON value is or holds text to search (:func:`dqm.identifiers.holds_text`: a
    string, or a key more than a plain word; a number or a list of numbers holds none)."""
    if value is None or type(value) in _SCALARS:  # a file of a million numbers: no walk each
        return False
    return holds_text(value)


_SCALARS = frozenset((int, float, bool))


def texts(
    value: Any, *where: str | int, skip: Collection[str] = (), above: str | None = None
) -> dict[str, Any]:
    """The text a reader does not read otherwise, by pointer, for the de-identification checks
    (an annotation's ``properties``): each value of the object ``value`` that holds text, or whose
    key may (:func:`dqm.identifiers.key_holds_text`: ``{"Patient name: Hong Gildong": 1}``), at its
    key's pointer (keys in ``skip`` left out), or ``value`` itself at ``where`` when it is not an
    object and holds text or the key nearest above it may (a COCO file's top-level
    ``"patient_id": 12345678`` was dropped: its key was not looked at). A key no format defines
    is named in the pointer by its position (:class:`dqm.identifiers.KeyNames`: ``/images/0/#1``);
    ``where`` names no such key but by its position, ``above`` then the key nearest above as the
    file writes it."""
    if not isinstance(value, dict):
        above = above or next((part for part in reversed(where) if isinstance(part, str)), None)
        kept = has_text(value) or (above is not None and key_holds_text(above))
        return {pointer(*where): value} if kept else {}
    return object_texts(value, pointer(*where), skip)


def object_texts(value: dict[Any, Any], at: str, skip: Collection[str] = ()) -> dict[str, Any]:
    """:func:`texts` of the object ``value`` at pointer ``at``: a key no format defines named by
    its position (``at/#2``), and where it is more than a plain word its name kept too, at that
    pointer and :data:`~dqm.identifiers.KEY_TEXT` (it is searched as the pointer holding it was)."""
    kept: list[Any] = []
    said: set[str] = set()  # keys more than a plain word: their name kept too
    unnamed: set[str] = set()  # keys no identifier key names: not shown by their name
    for key, v in value.items():
        if key in skip:
            continue
        name = str(key)
        if not plain_key(name):  # key_holds_text, and never shown by its name (KeyNames.by_name)
            said.add(name)
            unnamed.add(name)
            kept.append(key)
        elif identifying_key(name):  # key_holds_text; shown by its name where it is all a key
            said.add(name)
            kept.append(key)
        else:
            unnamed.add(name)
            if has_text(v):
                kept.append(key)
    if not kept:
        return {}
    names = reader_keys().of(value, unnamed)
    out: dict[str, Any] = {}
    for key in kept:
        where = at + pointer(names[str(key)])
        out[where] = value[key]
        if names[str(key)] != key and str(key) in said:
            out[where + KEY_TEXT] = key
    return out


_ENTRY = 56 + tally.ENTRY_BYTES
"""A kept ``(key, text)`` pair of :class:`DistinctTexts`: its tuple and its slot in a set."""


class DistinctTexts:
    """The text of the objects a reader skips (detections, points: a file may hold millions), for
    the de-identification checks: each distinct key once, each string once under the key nearest
    above it, and the whole value under a key that names a person (:func:`identifying_key`) once
    for each distinct text it holds (:func:`flat_text`), at the pointer it was first met at, into
    ``into`` (another key with its value, whatever it is: a container as None, its content kept on
    its own). A million cells that all name the same measurements add those names once; a name met
    under ``note`` is kept again under ``patient_name``; ``{"patient": ["Hong", "Gildong"]}`` and
    ``{"patient_id": 12345678}`` after ``{"patient_id": null}`` are kept whole at the key. However
    deep (:func:`dqm.identifiers.walk`); a pointer is built only for what is kept, a key no format
    defines named in it by its position (:class:`dqm.identifiers.KeyNames`)."""

    __slots__ = ("_into", "_keys", "_named", "_seen")

    def __init__(self, into: dict[str, Any]) -> None:
        self._into = into
        self._seen: set[tuple[str, str]] = set()
        self._keys: set[str] = set()
        self._named: dict[str, bool] = {}

    def _names(self, key: str) -> bool:
        if (named := self._named.get(key)) is None:
            named = self._named[key] = identifying_key(key)
        return named

    def add(self, value: Any, *where: str | int, skip: Collection[str] = ()) -> None:
        if not self._news(value, skip):
            return  # the common case, keys and texts met before: no pointer built
        own = {k: v for k, v in value.items() if k not in skip} if isinstance(value, dict) else value
        base, seen, keys, into = pointer(*where), self._seen, self._keys, self._into
        names = reader_keys()  # a key dqm does not know by its position in ``value`` (#2)

        def at(link: Link) -> str:
            return base + pointer(*names.path(value, link_parts(link)))

        def key_at(link: Link, key: str) -> str:
            """The pointer of a key met, its name kept too where the pointer names it by position and
            it is more than a plain word (:func:`dqm.identifiers.key_holds_text`)."""
            where = at(link)
            if key_holds_text(key) and not where.endswith("/" + key.replace("~", "~0").replace("/", "~1")):
                into[where + KEY_TEXT] = key
            return where

        kept = len(into)
        for link, key, held, keyed in walk(own, None, lambda key, *_: self._names(key)):
            if keyed and self._names(key):  # kept whole, once for each text it holds
                keys.add(key)
                if (key, text := flat_text(held)) not in seen:
                    seen.add((key, text))
                    into[key_at(link, key)] = held
                    tally.charge(_ENTRY + sys.getsizeof(key) + sys.getsizeof(text) + tally.deep_bytes(held))
            elif keyed:
                if key not in keys:
                    keys.add(key)
                    into[key_at(link, key)] = None if isinstance(held, dict | list) else held
                    tally.charge(2 * _ENTRY + sys.getsizeof(key) + sys.getsizeof(held))
                    if type(held) is str:
                        seen.add((key, held))
            elif (key, held) not in seen:
                seen.add((key, held))
                into[at(link)] = held
                tally.charge(_ENTRY + sys.getsizeof(key) + sys.getsizeof(held))
        for made in itertools.islice(reversed(into), len(into) - kept):  # the pointers made
            tally.charge(tally.ENTRY_BYTES + sys.getsizeof(made))

    def _news(self, value: Any, skip: Collection[str]) -> bool:
        """Whether ``value`` (but its keys in ``skip``) holds a key, a string under its key, or a
        text under a key that names a person, not met yet: one walk with no pointer built."""
        seen, keys = self._seen, self._keys
        if isinstance(value, dict):
            own = [k for k in value if k not in skip] if skip else value
            if not keys.issuperset(own):
                return True
            level = [(k, value[k]) for k in own]
        else:
            level = [("", value)]
        while level:  # one level of nesting a round, every level (no recursion)
            deeper: list[tuple[str, Any]] = []
            for key, v in level:
                kind = type(v)  # exact JSON types: a parsed document holds no subclass
                if key and self._names(key):
                    if (key, flat_text(v)) not in seen:
                        return True
                elif kind is str:
                    if (key, v) not in seen:
                        return True
                elif kind is dict:
                    if not keys.issuperset(v):
                        return True
                    deeper.extend(v.items())
                elif kind is list:
                    deeper.extend([(key, x) for x in v if type(x) is not float and type(x) is not int])
            level = deeper
        return False


def lesion_as_read(
    index: int,
    pointer: str,
    raw_class: str | None,
    polygons: list[list[Ring]],
    properties: dict[str, Any] | None = None,
    outline_read: bool = True,
) -> Lesion:
    """A lesion as the file writes it: its class name as written and no class id yet.

    Readers know no profile; :func:`dqm.readers.resolve_classes` sets ``label`` afterwards.

    What a big file's many lesions hold is kept small (its lesions stay in memory, in the parse
    cache): the class name is interned (a JSON parser makes a new string of it for each lesion,
    52 bytes of a native lesion's 1,300), and the lists of polygons and of rings are copied to
    their exact length (a list built by appending keeps room for four: 88 bytes for one ring,
    64 exact).
    """
    if type(raw_class) is str:
        raw_class = sys.intern(raw_class)
    exact = [poly.copy() for poly in polygons].copy()  # a copy is allocated to its length
    return Lesion.build(index, pointer, raw_class, None, exact, properties, outline_read)


def failed(path: str, fmt: str, *issues: ReadIssue) -> Annotation:
    """An annotation that could not be read at all: no content, the issues saying why."""
    return Annotation(path=path, format=fmt, readable=False, n_values=1, issues=list(issues))


@dataclass(frozen=True, slots=True)
class Decoded:
    """A file's text after the byte-level checks, or the issue that stopped it."""

    text: str | None
    data: bytes
    issues: tuple[ReadIssue, ...]


def decode(data: bytes) -> Decoded:
    """Check the bytes are non-empty UTF-8 text; strip (and report) a byte-order mark."""
    issues: list[ReadIssue] = []
    if not data.strip():
        return Decoded(None, data, (ReadIssue("EMPTY_FILE", msg("the file is empty")),))
    wide = wide_text(data)
    if wide is not None:
        return wide
    if data.startswith(UTF8_BOM):
        # a file saved twice by a BOM-adding editor has two: all go, in one slice (not one a mark)
        data = data[_UTF8_BOMS.match(data).end() :]  # type: ignore[union-attr]
        issues.append(ReadIssue("UTF8_BOM", msg("the file starts with a UTF-8 byte-order mark")))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        char = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return Decoded(
            None,
            data,
            (
                *issues,
                ReadIssue(
                    "INVALID_ENCODING",
                    msg(
                        "not UTF-8: byte 0x{byte:02x} at offset {offset}",
                        byte=data[exc.start],
                        offset=exc.start,
                    ),
                    line=line,
                    char=char,
                ),
            ),
        )
    return Decoded(text, data, tuple(issues))


def wide_encoding(data: bytes) -> tuple[str, str] | None:
    """``(codec, name)`` when the bytes are UTF-16 or UTF-32 text (by byte-order mark, or by the
    zero bytes around an ASCII first character, as RFC 4627 detected them); None otherwise."""
    for bom, codec, name in WIDE_BOMS:
        if data.startswith(bom):
            return codec, name
    head = data[:4]
    if len(head) == 4 and head[0] and not head[1] and not head[2] and not head[3]:
        return "utf-32-le", "UTF-32"
    if len(head) == 4 and not head[0] and not head[1] and not head[2] and head[3]:
        return "utf-32-be", "UTF-32"
    if len(head) >= 2 and head[0] and not head[1]:
        return "utf-16-le", "UTF-16"
    if len(head) >= 2 and not head[0] and head[1]:
        return "utf-16-be", "UTF-16"
    return None


def wide_text(data: bytes) -> Decoded | None:
    """UTF-16 / UTF-32 bytes decoded, re-encoded as UTF-8 and reported (JSON must be UTF-8, RFC
    8259 section 8.1); None when the bytes are not in a wide encoding."""
    found = wide_encoding(data)
    if found is None:
        return None
    codec, name = found
    try:
        text = data.decode(codec).removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        return Decoded(
            None,
            data,
            (
                ReadIssue(
                    "INVALID_ENCODING",
                    msg(
                        "{encoding} text with an invalid sequence at byte offset {offset}",
                        encoding=name,
                        offset=exc.start,
                    ),
                ),
            ),
        )
    issue = ReadIssue(
        "INVALID_ENCODING", msg("the file is {encoding} text, not UTF-8 (read as {encoding})", encoding=name)
    )
    return Decoded(text, text.encode("utf-8"), (issue,))


def parse_json(decoded: Decoded) -> tuple[Any, list[ReadIssue]]:
    """Parse JSON; NaN/Infinity literals are accepted (the format checks report them).

    Returns ``(document, issues)``; the document is None when the text is not JSON.
    """
    issues = list(decoded.issues)
    try:
        doc = orjson.loads(decoded.data)
    except orjson.JSONDecodeError:
        pass
    else:
        if count_keys(doc) == key_ends(decoded.data):
            return doc, issues  # every key in the text is in the document: none repeats
    assert decoded.text is not None
    repeated: list[tuple[dict[str, Any], list[str]]] = []
    try:
        # The standard library accepts NaN / Infinity and overflowing numbers (as inf), and
        # integers past its digit limit become floats: the document is still structurally read,
        # the format and geometry checks flag the values.
        doc = json.loads(
            decoded.text, parse_int=_int, object_pairs_hook=lambda pairs: _object(pairs, repeated)
        )
    except json.JSONDecodeError as exc:
        issues.append(
            ReadIssue(
                "INVALID_JSON",
                msg("not valid JSON: {_reason}", _reason=exc.msg),
                line=exc.lineno,
                char=exc.colno,
            )
        )
        return None, issues
    except RecursionError:
        issues.append(ReadIssue("INVALID_JSON", msg("not valid JSON: nested too deeply")))
        return None, issues
    issues.extend(duplicate_keys(doc, repeated))
    return doc, issues


def _int(digits: str) -> int | float:
    """A JSON integer; one longer than Python converts is a float (infinite: out of range)."""
    return int(digits) if len(digits) < sys.get_int_max_str_digits() else float(digits)


def _object(pairs: list[tuple[str, Any]], repeated: list[tuple[dict[str, Any], list[str]]]) -> dict[str, Any]:
    """A JSON object, last key winning as everywhere; a repeated key is noted."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        keys = [k for k, _ in pairs if k in seen or seen.add(k)]  # type: ignore[func-returns-value]
        repeated.append((obj, list(dict.fromkeys(keys))))
    return obj


def key_ends(data: bytes) -> int:
    """How many object keys the JSON text holds, or more (never fewer); counted in C, the rare
    key followed by blanks before its colon by a regex."""
    return data.count(b'":') + len(_SPACED_KEY_END.findall(data))


def count_keys(doc: Any) -> int:
    """Keys of every object in a parsed JSON document.

    Lists of numbers and of vertices (lists whose first item is a list of scalars) are not
    walked: an object hidden there is not counted, which can only send :func:`parse_json` to
    its exact duplicate check.
    """
    n, stack = 0, [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            n += len(node)
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list) and node:
            first = node[0]
            if not isinstance(first, dict | list) or (
                isinstance(first, list) and first and not isinstance(first[0], dict | list)
            ):
                continue
            stack.extend(v for v in node if isinstance(v, dict | list))
    return n


MAX_ISSUES_PER_CODE = 1000
"""What a reader met in one file, reported one by one for the first issues of each code; the
others of that code are counted in one more issue (:func:`dqm.readers.within_limits`; the native
reader counts its schema errors past it itself). An element a few bytes long can make an issue
(an ASAP annotation of an unknown type: 8.4 MB of them made 100,000 findings, 96 s, 1.3 GB and a
results.json of 98 MB), and a file may hold 512 MB."""


MAX_DUPLICATE_KEYS = 1000
"""Repeated keys of one file reported one by one; the others are counted in one more issue (200,000
objects of 14 bytes, each repeating a key, made 200,000 findings: 87 s, 1.35 GB and a results.json
of 96 MB from a file of 2.8 MB)."""


CLINICAL = "/clinical"
"""The native format's clinical block: its keys are columns, named by the profile's fields."""


def clinical_keys(block: dict[Any, Any]) -> dict[str, str]:
    """The keys of a clinical block (:data:`CLINICAL`) as a reader names them: each by its 1-based
    position among the block's keys, ``#3``, as :func:`validators.deid.shown_column` numbers a
    column the profile does not declare (the profile's fields, which a reader does not know, are
    named again by the check that reports it: a key's name may be a person's)."""
    return {str(k): f"#{n}" for n, k in enumerate(block, 1)}


def duplicate_keys(doc: Any, repeated: list[tuple[dict[str, Any], list[str]]]) -> list[ReadIssue]:
    """A ``DUPLICATE_KEY`` issue at the pointer of each object that repeats a key, a key no format
    defines named by its position (:class:`dqm.identifiers.KeyNames`), a key of the clinical block
    too (:func:`clinical_keys`: it kept its name, in the message and every pointer below it)."""
    if not repeated:
        return []
    where: dict[int, str] = {}
    stack: list[tuple[Any, str]] = [(doc, "")]
    while stack:  # a key no format defines by its position (#2): it may be a name
        node, at = stack.pop()
        if isinstance(node, dict):
            where[id(node)] = at
            shown = (
                (clinical_keys(node) if at == CLINICAL else reader_keys().of(node))
                if any(isinstance(v, dict | list) for v in node.values())
                else {}
            )
            stack.extend(
                (v, at + pointer(shown.get(k, k))) for k, v in node.items() if isinstance(v, dict | list)
            )
        elif isinstance(node, list):
            stack.extend((v, at + pointer(i)) for i, v in enumerate(node) if isinstance(v, dict | list))
    names = reader_keys()  # one for all: an object's names worked out once, however many keys it repeats
    pairs = []
    for obj, keys in repeated:
        block = clinical_keys(obj) if where.get(id(obj)) == CLINICAL else None
        pairs += [(obj, block[key] if block is not None else names.key(obj, key)) for key in keys]
    issues = [
        ReadIssue(
            "DUPLICATE_KEY",
            msg(
                N_("key {key} appears more than once in one object (the last value is read)")
                if key.startswith("#")
                else N_("key {key!r} appears more than once in one object (the last value is read)"),
                key=clip(key, 80),
            ),
            pointer=where.get(id(obj), "") + pointer(key),
        )
        for obj, key in pairs[:MAX_DUPLICATE_KEYS]
    ]
    if len(pairs) > MAX_DUPLICATE_KEYS:
        obj, key = pairs[MAX_DUPLICATE_KEYS]
        n = len(pairs) - MAX_DUPLICATE_KEYS
        more = msg(
            "{n:,} more keys from here on appear more than once in their objects (the first {shown:,} are "
            "reported one by one)",
            n=n,
            shown=MAX_DUPLICATE_KEYS,
        )
        # every pair is another key or another object's: a value slot of its own, as those reported are
        at = where.get(id(obj), "") + pointer(key)
        issues.append(ReadIssue("DUPLICATE_KEY", more, pointer=at, counted=n, counted_values=n - 1))
    return issues


def to_float(value: int | float) -> float:
    """A JSON number as a float; integers too large for a float become +/- infinity (the
    geometry checks report non-finite coordinates) instead of raising ``OverflowError``."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def count_slots(mapping: dict[str, Any], expected: Iterable[str]) -> int:
    """Value slots of one object: every key present plus every expected key that is missing."""
    return len(mapping.keys() | set(expected))
