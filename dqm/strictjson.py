"""dqm's own JSON files read back strictly: one reading for every reader of what dqm wrote.

A ``results.json``, ``semantic.json``, ``review_plan.json``, a verdict file, a signature or a cache
entry with a key repeated in one object has two contents: most JSON parsers (orjson, pydantic,
Python's ``json``) keep the last value, others the first, and ``dqm verify`` refuses the file.
Every reader of those files goes through :func:`loads`, so that ``dqm gate`` never passes a
verdict that ``dqm verify`` reads differently. ``NaN`` and ``Infinity`` (not JSON) and a
byte-order mark (dqm writes none) are refused too.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

_ESCAPED_COLON = b"\\u003"
"""The start of ``\\u003a`` / ``\\u003A``: a colon inside a string that the raw text does not show
(dqm writes none; the fast check leaves such a file to the strict reading)."""


class StrictJSONError(ValueError):
    """Not JSON as dqm writes it: invalid, ``NaN``, a byte-order mark or a repeated key. The
    message is the reason (the caller names the file), then the ``line`` and ``column`` (1-based)
    where the parser stopped, when it says; ``nested`` when the text nests past the parser's depth."""

    def __init__(
        self, reason: str, line: int | None = None, column: int | None = None, nested: bool = False
    ) -> None:
        super().__init__(reason if line is None else f"{reason} (line {line}, column {column})")
        self.reason, self.line, self.column, self.nested = reason, line, column, nested


_NESTED = "the JSON is nested too deeply"


def _parse_error(exc: json.JSONDecodeError | RecursionError) -> StrictJSONError:
    if isinstance(exc, RecursionError) or exc.msg == "depth limit exceeded":  # orjson's words
        return StrictJSONError(_NESTED, nested=True)
    return StrictJSONError(exc.msg[:200], exc.lineno, exc.colno)


def repeated_key(key: str) -> StrictJSONError:
    return StrictJSONError(f"the key {key[:80]!r} appears twice in one object: its content is ambiguous")


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An ``object_pairs_hook`` that refuses a repeated key."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise repeated_key(key)
        out[key] = value
    return out


def not_a_number(name: str) -> Any:
    """A ``parse_constant`` hook that refuses ``NaN``, ``Infinity`` and ``-Infinity``."""
    raise StrictJSONError(f"{name} is not a JSON number")


def int_in_64_bits(text: str) -> int:
    """A ``parse_int`` hook that refuses an integer orjson cannot hold (it reads one as a float)."""
    value = int(text)
    if not -(2**63) <= value < 2**64:
        raise StrictJSONError(
            f"the integer {text[:40]}{'…' if len(text) > 40 else ''} is past 64 bits; dqm writes none"
        )
    return value


def finite_float(text: str) -> float:
    """A ``parse_float`` hook that refuses a number past a double's range (``1e400``), as orjson does."""
    value = float(text)
    if not math.isfinite(value):
        raise StrictJSONError(f"the number {text[:40]} is past a double's range")
    return value


DECODER = json.JSONDecoder(
    object_pairs_hook=unique_keys,
    parse_constant=not_a_number,
    parse_int=int_in_64_bits,
    parse_float=finite_float,
)
"""Python's decoder with :func:`unique_keys`, :func:`not_a_number` and the 64-bit bounds orjson
reads numbers within: the strict reading, which accepts what :func:`loads` accepts."""
_NAN_DECODER = json.JSONDecoder(object_pairs_hook=unique_keys, parse_int=int_in_64_bits)
_LONG_NUMBER = re.compile(rb"[:,\[]\s*(?:[0-9]{20}|-[0-9]{19})")
"""A number of 20 digits or more (19 below zero) where a value starts: perhaps an integer past 64
bits, which orjson reads as a float. A file time in nanoseconds has 19 digits; a digest's digits
are inside a string and do not match."""


def strict_decode(data: str | bytes, nan: bool = False) -> Any:
    """``data`` read by :data:`DECODER` (every object through :func:`unique_keys`: slow, and
    exact); with ``nan``, ``NaN`` and ``Infinity`` are read as floats (what dqm's cache stores).
    Raises :class:`StrictJSONError`."""
    if data[:3] == b"\xef\xbb\xbf" or data[:1] == "\ufeff":
        raise StrictJSONError("it starts with a byte-order mark; dqm writes none")
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return (_NAN_DECODER if nan else DECODER).decode(text)
    except StrictJSONError:
        raise
    except (json.JSONDecodeError, RecursionError) as exc:
        raise _parse_error(exc) from None
    except ValueError as exc:  # UnicodeDecodeError
        raise StrictJSONError(str(exc)[:200]) from None


def loads(data: bytes | str, nan: bool = False) -> Any:
    """``data`` parsed as :func:`strict_decode` parses it, at orjson's speed.

    orjson keeps the last of repeated keys, so its tree is checked: every member of an object in
    the file has one ``:`` before its value, and a ``:`` elsewhere is inside a string; orjson
    writes the tree back with one ``:`` per key it kept and every string's colons as they are.
    The two counts are equal exactly when no key was dropped, unless the file spells a colon as
    ``\\u003a`` (then, and when they differ, :func:`strict_decode` reads the file and names the
    repeated key). This is not the readers' check (``count_keys`` against ``key_ends``, in
    :mod:`dqm.readers.common.base`), which walks the tree in Python: on a results.json of 53 MiB
    it took 0.78 s where writing the tree back takes 0.09 s. A file with a number of 20 digits or more (19 below zero) is read strictly
    too: that refuses an integer past 64 bits, which orjson reads as a float. With ``nan``,
    ``NaN`` and ``Infinity`` are read as floats (orjson refuses them: such a text is read
    strictly). Raises :class:`StrictJSONError`."""
    try:
        if isinstance(data, str):
            data = data.encode("utf-8")
        tree = orjson.loads(data)
    except orjson.JSONDecodeError as exc:  # a json.JSONDecodeError
        if nan:
            return strict_decode(data, nan=True)
        raise _parse_error(exc) from None
    except UnicodeEncodeError as exc:
        raise StrictJSONError(str(exc)[:200]) from None
    if _ESCAPED_COLON not in data and not _LONG_NUMBER.search(data):
        try:
            if data.count(b":") == orjson.dumps(tree).count(b":"):
                return tree
        except orjson.JSONEncodeError:  # nested deeper than orjson writes (254 levels)
            pass
    del tree
    return strict_decode(data, nan)
