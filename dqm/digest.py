"""Content digests of dqm's outputs: what ``results.json`` and ``report.html`` say about their
own content, so that anyone can check that nothing in them changed (``dqm verify``,
``docs/certificates.md``).

* ``results.json``: its ``digest`` member holds the SHA-256 of the file's **canonical form** —
  the JSON value of the file without its top-level ``digest`` member, written with keys sorted,
  no whitespace, non-ASCII characters as UTF-8 and numbers as Python's ``json`` writes them
  (:func:`canonical_json`; named ``dqm-json-1``). A signature signs those same bytes.
* ``report.html``: ``<meta name="dqm-content-digest" content="sha256:HEX">`` holds the SHA-256 of
  the file's bytes with that attribute empty (``content=""``); the report also names the digest of
  the ``results.json`` it was rendered from (``dqm-results-digest``).

Digests are computed over what is written, after masking: the outputs are masked first and
sealed last, so a digest is never masked.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections import deque
from collections.abc import Iterator
from functools import partial
from typing import Any

import orjson

from dqm.strictjson import DECODER, StrictJSONError, repeated_key, strict_decode

CANONICAL = "dqm-json-1"
"""The name of the canonical form :func:`canonical_json` writes."""
DIGEST_KEY = "digest"
RESULTS_SLOT = "@@dqm-results-digest@@"
"""Stands for the digest of ``results.json`` in the other outputs until it is known (they are
rendered and masked before the digest is put in)."""
HTML_DIGEST_NAME = "dqm-content-digest"
HTML_SLOT = f'<meta name="{HTML_DIGEST_NAME}" content="">'
_HTML_META = re.compile(rf'<meta name="{HTML_DIGEST_NAME}" content="([^"<>]*)">')


class DigestError(ValueError):
    """A file whose digest cannot be computed (not a JSON object, a repeated key, NaN...)."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_json_object(data: str | bytes) -> dict[str, Any]:
    """A JSON object, read strictly (:func:`dqm.strictjson.strict_decode`): a repeated key, ``NaN``
    or ``Infinity``, a byte-order mark (which the commands reading a results.json refuse: verify
    must not pass a file they cannot read), or a value that is not an object raise
    :class:`DigestError` (two readers could see two contents)."""
    try:
        obj = strict_decode(data)
    except StrictJSONError as exc:
        raise DigestError(f"not valid JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise DigestError("not a JSON object")
    return obj


def canonical_json(obj: dict[str, Any]) -> bytes:
    """The canonical form of a results object: without its ``digest`` member, keys sorted, no
    whitespace, UTF-8."""
    body = {k: v for k, v in obj.items() if k != DIGEST_KEY}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8")


def digest_member(value: str) -> dict[str, str]:
    """The ``digest`` member of a ``results.json`` whose canonical form hashes to ``value``."""
    return {"algorithm": "sha256", "canonical": CANONICAL, "value": value}


def seal_results(text: str, keep_canonical: bool = True) -> tuple[str, str, bytes]:
    """A ``results.json`` text as it will be written (masked, without a ``digest`` member) with
    its digest put in as the first member; also the digest and the canonical bytes it hashes
    (empty unless ``keep_canonical``: only a signature needs them).

    The canonical form is made one top-level member, and one element of a top-level array, at a
    time (:func:`canonical_pieces`): a result of a million items is never held as Python objects
    whole. Raises :class:`DigestError` as :func:`parse_json_object` does."""
    digest = hashlib.sha256()
    kept: list[bytes] = []
    buffer: list[str] = []
    size = 0
    for piece in [*canonical_pieces(text), ""]:
        buffer.append(piece)
        size += len(piece)
        if size >= _FLUSH_CHARS or not piece:
            data = "".join(buffer).encode("utf-8")
            digest.update(data)
            if keep_canonical:
                kept.append(data)
            buffer, size = [], 0
    value = digest.hexdigest()
    start = _skip(text, _skip(text, 0) + 1)
    member = json.dumps(digest_member(value), separators=(",", ":"))
    sep = "" if text.startswith("}", start) else ","
    return '{"digest":' + member + sep + text[start:], value, b"".join(kept)


_FLUSH_CHARS = 1 << 20
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_END = object()
_dumps = partial(json.dumps, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _skip(text: str, pos: int) -> int:
    match = _WHITESPACE.match(text, pos)
    assert match is not None  # the pattern matches the empty string
    return match.end()


def _elements(text: str, pos: int) -> Iterator[tuple[Any, int]]:
    """``(element, position after it)`` for each element of the array opening at ``pos``, then
    ``(_END, position after the array)``."""
    pos = _skip(text, pos + 1)
    if text.startswith("]", pos):
        yield _END, pos + 1
        return
    while True:
        value, pos = DECODER.raw_decode(text, pos)
        yield value, pos
        pos = _skip(text, pos)
        if text.startswith(",", pos):
            pos = _skip(text, pos + 1)
        elif text.startswith("]", pos):
            yield _END, pos + 1
            return
        else:
            raise ValueError(f"an array element is not followed by ',' or ']' at {pos}")


def _members(text: str) -> dict[str, int]:
    """Each top-level member's key and the position of its value, read (and checked) one
    top-level array element at a time."""
    pos = _skip(text, 0)
    if not text.startswith("{", pos):
        raise DigestError("not a JSON object")
    starts: dict[str, int] = {}
    pos = _skip(text, pos + 1)
    while not text.startswith("}", pos):
        if not text.startswith('"', pos):
            raise ValueError(f"a member name was expected at {pos}")
        key, pos = DECODER.raw_decode(text, pos)
        pos = _skip(text, pos)
        if not text.startswith(":", pos):
            raise ValueError(f"':' was expected at {pos}")
        if key in starts:
            raise repeated_key(key)
        starts[key] = pos = _skip(text, pos + 1)
        if text.startswith("[", pos):
            pos = deque(_elements(text, pos), maxlen=1)[0][1]  # read, kept one at a time
        else:
            pos = DECODER.raw_decode(text, pos)[1]
        pos = _skip(text, pos)
        if text.startswith(",", pos):
            pos = _skip(text, pos + 1)
            if text.startswith("}", pos):
                raise ValueError(f"a member name was expected at {pos}")
        elif not text.startswith("}", pos):
            raise ValueError(f"',' or '}}' was expected at {pos}")
    if _skip(text, pos + 1) != len(text):
        raise ValueError(f"extra data at {pos + 1}")
    return starts


def canonical_pieces(text: str) -> Iterator[str]:
    """:func:`canonical_json` of the JSON object ``text``, in pieces that join to it exactly: the
    members sorted by key, a top-level array element by element. Raises :class:`DigestError`."""
    try:
        starts = _members(text)
        yield "{"
        sep = ""
        for key in sorted(k for k in starts if k != DIGEST_KEY):
            yield sep + _dumps(key) + ":"
            sep = ","
            pos = starts[key]
            if text.startswith("[", pos):
                inner = ""
                yield "["
                for value, _ in _elements(text, pos):
                    if value is not _END:
                        yield inner + _dumps(value)
                        inner = ","
                yield "]"
            else:
                yield _dumps(DECODER.raw_decode(text, pos)[0])
        yield "}"
    except DigestError:
        raise
    except (ValueError, RecursionError) as exc:  # StrictJSONError and JSONDecodeError are ValueErrors
        raise DigestError(f"not valid JSON ({str(exc)[:200]})") from None


def canonical_value(text: str) -> str:
    """The canonical form of one JSON value (keys sorted, no whitespace, UTF-8 characters as they
    are), read as strictly as :func:`parse_json_object` reads a file: what :func:`canonical_json`
    writes for it inside a results object. Raises :class:`DigestError`."""
    try:
        return _dumps(DECODER.decode(text))
    except (ValueError, RecursionError) as exc:  # StrictJSONError and JSONDecodeError are ValueErrors
        raise DigestError(f"not valid JSON ({str(exc)[:200]})") from None


def results_digest(data: bytes) -> tuple[str | None, str, bytes]:
    """The digest a ``results.json`` states (None when it has none), the digest of its content and
    the canonical bytes (what a signature signs). Raises :class:`DigestError`."""
    obj = parse_json_object(data)
    stated = stated_digest(obj)
    canonical = _canonical_or_raise(obj)
    return stated, sha256_hex(canonical), canonical


def stated_digest(obj: dict[str, Any]) -> str | None:
    """The digest a results object states in its ``digest`` member (None when it states none).
    Raises :class:`DigestError` for a digest of another canonical form."""
    member = obj.get(DIGEST_KEY)
    stated = member.get("value") if isinstance(member, dict) else None
    if isinstance(member, dict) and member.get("canonical", CANONICAL) != CANONICAL:
        raise DigestError(f"the digest's canonical form {member.get('canonical')!r} is not {CANONICAL!r}")
    return stated if isinstance(stated, str) else None


def _canonical_or_raise(obj: dict[str, Any]) -> bytes:
    try:
        return canonical_json(obj)
    except (ValueError, UnicodeEncodeError) as exc:
        raise DigestError(f"no canonical form ({str(exc)[:200]})") from None


def content_matches(obj: dict[str, Any], stated: str) -> tuple[bool, str]:
    """Whether the results object ``obj`` (parsed already) hashes to ``stated``, and the digest
    its content hashes to. orjson writes the canonical form of most results.json dqm wrote byte for
    byte, six times faster than :func:`canonical_json` (0.10 s against 0.57 s of CPU on a
    34,376-slide result of 37 MiB): what it writes is tried first, and a match there is a match
    (its bytes read back are ``obj``). Where it differs, what it writes with its numbers from 1e-5
    to 1e-9 written again as ``json`` writes them (:func:`as_json_writes`: 0.2 s more at one such
    number a slide) is tried next. Only where orjson cannot write ``obj`` (an integer past 64
    bits, a lone surrogate), or neither matches (an edited file), is the exact form computed and
    compared. Raises :class:`DigestError`."""
    body = {k: v for k, v in obj.items() if k != DIGEST_KEY}
    with contextlib.suppress(TypeError, ValueError):  # orjson.JSONEncodeError is a TypeError
        quick = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
        if sha256_hex(quick) == stated:
            return True, stated
        rewritten = as_json_writes(quick)
        if rewritten is not quick and sha256_hex(rewritten) == stated:
            return True, stated
    actual = sha256_hex(_canonical_or_raise(obj))
    return actual == stated, actual


_ORJSON_ONLY = re.compile(rb"-?[0-9]+(?:\.[0-9]+)?e-[1-9](?![0-9])|-?0\.0000[0-9]*")
"""The numbers orjson writes otherwise than Python's ``json``: those from 1e-5 to 1e-9 (orjson
``4e-7`` and ``0.00001``, ``json`` ``4e-07`` and ``1e-05``; the same digits, measured over every
exponent). Only these: both write the shortest digits that read back as the number."""
_MARKERS = (b"e-", b".0000")
"""What each of :data:`_ORJSON_ONLY`'s numbers holds: found by ``bytes.find`` (a regular
expression tried at each of 37 MiB's positions took 0.3-1.8 s; the finds 0.05 s)."""
_IN_NUMBER = frozenset(b"0123456789.-")


def _orjson_only(data: bytes) -> list[tuple[int, int]]:
    """The spans of orjson's output ``data`` that are a whole token of :data:`_ORJSON_ONLY`, in
    order (inside strings too: :func:`as_json_writes` tells them apart), each once (a number
    may hold both markers, ``1.00003e-7``). Linear in ``data``: a marker's number starts where
    the run of :data:`_IN_NUMBER` bytes before it starts, and the markers of one run (``.0000``
    a thousand times over in a string) share that start, stepped back to and matched once."""
    spans: set[tuple[int, int]] = set()
    for marker in _MARKERS:
        run_start = run_end = -1  # data[run_start:run_end] is a whole run's start, all _IN_NUMBER
        match, matched_from = None, -1
        at = data.find(marker)
        while at != -1:
            start = at
            while start > run_end and start and data[start - 1] in _IN_NUMBER:
                start -= 1
            if start == run_end:  # the run stepped back over goes on from the one before
                start = run_start
            if start != matched_from:
                match, matched_from = _ORJSON_ONLY.match(data, start), start
            run_start, run_end = start, at
            if (
                match is not None
                and match.end() > at
                and data[match.end() : match.end() + 1] not in _NUMBER_END
            ):
                spans.add(match.span())
            at = data.find(marker, at + 1)
    return sorted(spans)


_NUMBER_END = (b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b".", b"e", b"-")


def as_json_writes(data: bytes) -> bytes:
    """What orjson wrote (``data``: ``orjson.dumps`` of a results object, keys sorted) as
    :func:`canonical_json` writes it: its numbers that orjson writes otherwise (:data:`_ORJSON_ONLY`)
    written again as ``json`` does; ``data`` itself where there are none. A match inside a string
    is left as it is: whether one is inside is told from the quotes before it that no backslash
    escapes, counted from the match before (the bytes are scanned once, at C speed)."""
    pieces: list[bytes] = []
    kept = scanned = 0
    inside = False  # within a string at ``scanned``
    for start, end in _orjson_only(data):
        quotes = data.count(b'"', scanned, start)
        if data.find(b"\\", scanned, start) != -1:  # an escaped quote, or an escaped backslash before a quote
            between = data[scanned:start].replace(b"\\\\", b"")  # none of these escapes a quote
            quotes = between.count(b'"') - between.count(b'\\"')
        inside ^= bool(quotes & 1)
        scanned = end  # a match holds no quote and no backslash
        if not inside:
            pieces += [data[kept:start], repr(float(data[start:end])).encode("ascii")]  # as json writes it
            kept = end
    if not pieces:
        return data
    pieces.append(data[kept:])
    return b"".join(pieces)


def seal_html(text: str) -> str:
    """An HTML output as it will be written (masked) with its own digest in its
    ``dqm-content-digest`` meta (left as it is when the page has none)."""
    if HTML_SLOT not in text:
        return text
    value = sha256_hex(text.encode("utf-8"))
    return text.replace(HTML_SLOT, f'<meta name="{HTML_DIGEST_NAME}" content="sha256:{value}">', 1)


def html_digest(data: bytes) -> tuple[str | None, str | None]:
    """The digest an HTML output states in its meta and the digest of its content (both None when
    it has no such meta)."""
    text = data.decode("utf-8", errors="surrogateescape")
    match = _HTML_META.search(text)
    if match is None:
        return None, None
    emptied = text[: match.start()] + HTML_SLOT + text[match.end() :]
    return match[1].removeprefix("sha256:"), sha256_hex(emptied.encode("utf-8", errors="surrogateescape"))
