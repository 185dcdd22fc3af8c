"""What every reader shares: the file-level read (bytes, encoding, syntax), JSON pointers, a
lesion as read (class as written, resolved later) and an annotation that could not be read."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from dqm.model import Annotation, Lesion, ReadIssue, Ring

UTF8_BOM = b"\xef\xbb\xbf"


def pointer(*parts: object) -> str:
    """An RFC 6901 JSON pointer from path components (``pointer("lesions", 3)`` -> ``/lesions/3``)."""
    out = []
    for p in parts:
        s = str(p)
        if "~" in s or "/" in s:
            s = s.replace("~", "~0").replace("/", "~1")
        out.append(s)
    return "/" + "/".join(out) if out else ""


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
    """
    return Lesion.build(index, pointer, raw_class, None, polygons, properties, outline_read)


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
        return Decoded(None, data, (ReadIssue("EMPTY_FILE", "the file is empty"),))
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
        issues.append(ReadIssue("UTF8_BOM", "the file starts with a UTF-8 byte-order mark"))
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
                    f"not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}",
                    line=line,
                    char=char,
                ),
            ),
        )
    return Decoded(text, data, tuple(issues))


def parse_json(decoded: Decoded) -> tuple[Any, list[ReadIssue]]:
    """Parse JSON; NaN/Infinity literals are accepted (the format checks report them).

    Returns ``(document, issues)``; the document is None when the text is not JSON.
    """
    issues = list(decoded.issues)
    try:
        return orjson.loads(decoded.data), issues
    except orjson.JSONDecodeError:
        pass
    assert decoded.text is not None
    try:
        # The standard library accepts NaN / Infinity and overflowing numbers (as inf):
        # the document is still structurally read, the geometry checks flag the values.
        return json.loads(decoded.text, parse_int=_integer), issues
    except json.JSONDecodeError as exc:
        issues.append(
            ReadIssue(
                "INVALID_JSON",
                f"not valid JSON: {exc.msg}",
                line=exc.lineno,
                char=exc.colno,
            )
        )
        return None, issues
    except RecursionError:
        issues.append(ReadIssue("INVALID_JSON", "not valid JSON: nested too deeply"))
        return None, issues


def _integer(literal: str) -> int | float:
    """An integer literal; one too long for Python to convert (over 4,300 digits) becomes +/-
    infinity, as an overflowing float literal does, instead of raising ``ValueError``."""
    try:
        return int(literal)
    except ValueError:
        return -math.inf if literal.startswith("-") else math.inf


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
