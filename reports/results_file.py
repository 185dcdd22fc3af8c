"""``results.json`` written as a stream: a result of a million items is never one text in memory.

The file is the one ``QualityResult.model_dump_json()`` gives, masked and sealed with its content
digest (:mod:`dqm.digest`), but made one member, and one element of ``items`` and ``findings``, at
a time: each piece is serialised, masked and written, and its canonical form (what the digest
hashes) goes to a file of its own beside it; the digest is then computed over those files in key
order, and ``results.json`` is its ``digest`` member followed by the body already written. The
masker works on each piece alone: an identifier never spans two elements of an array (it would
have to cross the ``},{`` between them), so the file is the one masking the whole text gives.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from dqm.digest import DIGEST_KEY, canonical_value, digest_member
from dqm.output import Mask
from dqm.results import QualityResult

STREAMED = ("items", "findings")
"""The members written element by element (they grow with the batch); the others are small."""
_BUFFER = 1 << 20


def member_texts(result: QualityResult) -> Iterator[tuple[str, bool, Iterable[str]]]:
    """``(name, streamed, pieces)`` for each member of ``results.json`` but its digest, in the
    file's order: a streamed member's pieces are its elements' JSON, another's the one JSON value,
    as ``result.model_dump_json()`` writes them."""
    for name in QualityResult.model_fields:
        if name == DIGEST_KEY:
            continue
        if name in STREAMED:
            yield name, True, (element.model_dump_json() for element in getattr(result, name))
            continue
        text = result.model_dump_json(include={name})
        head = "{" + json.dumps(name) + ":"
        if not (text.startswith(head) and text.endswith("}")):
            raise ValueError(f"the member {name!r} did not serialise alone")
        yield name, False, (text[len(head) : -1],)


def write_results(
    result: QualityResult, path: Path, mask: Mask | None = None, keep_canonical: bool = False
) -> tuple[str, bytes]:
    """Write ``result`` (masked by ``mask``, with its content digest first) to ``path``, a file
    in a staging folder; the files it writes beside ``path`` while it works are removed. Returns
    the digest and, with ``keep_canonical`` (a signature signs them), the canonical bytes.

    Raises :class:`dqm.digest.DigestError` when a masked piece is not valid JSON."""
    body = path.with_name(f".{path.name}.body")
    canonical: dict[str, bytes | Path] = {}
    try:
        with open(body, "wb", buffering=_BUFFER) as fh:
            sep = b"{"
            for name, streamed, pieces in member_texts(result):
                fh.write(sep + json.dumps(name).encode("utf-8") + b":")
                sep = b","
                if streamed:
                    canonical[name] = path.with_name(f".{path.name}.{name}")
                    _write_array(fh, canonical[name], pieces, mask)
                else:
                    (text,) = pieces
                    text = mask(text) if mask is not None else text
                    fh.write(text.encode("utf-8"))
                    canonical[name] = canonical_value(text).encode("utf-8")
            fh.write(b"}" if sep == b"," else b"{}")
        value, kept = _digest(canonical, keep_canonical)
        member = json.dumps({DIGEST_KEY: digest_member(value)}, separators=(",", ":"))
        with open(path, "wb", buffering=_BUFFER) as out, open(body, "rb") as src:
            out.write(member[:-1].encode("utf-8") + (b"," if canonical else b""))
            src.seek(1)  # the body's opening brace: the digest member took its place
            shutil.copyfileobj(src, out, _BUFFER)
        return value, kept
    finally:
        for leftover in (body, *(p for p in canonical.values() if isinstance(p, Path))):
            with contextlib.suppress(OSError):
                leftover.unlink()


def _write_array(fh: BinaryIO, canonical: Path, pieces: Iterable[str], mask: Mask | None) -> None:
    """One streamed member: each element masked and written, its canonical form written to
    ``canonical`` (the elements joined by commas, without the brackets)."""
    with open(canonical, "wb", buffering=_BUFFER) as canon:
        fh.write(b"[")
        sep = b""
        for piece in pieces:
            text = mask(piece) if mask is not None else piece
            fh.write(sep + text.encode("utf-8"))
            canon.write(sep + canonical_value(text).encode("utf-8"))
            sep = b","
        fh.write(b"]")


def _digest(canonical: dict[str, bytes | Path], keep: bool) -> tuple[str, bytes]:
    """The SHA-256 of the canonical form: the members in key order, each ``"name":value``; and
    those bytes when ``keep``."""
    digest = hashlib.sha256()
    kept: list[bytes] = []

    def add(data: bytes) -> None:
        digest.update(data)
        if keep:
            kept.append(data)

    sep = b"{"
    for name in sorted(canonical):
        add(sep + json.dumps(name, ensure_ascii=False).encode("utf-8") + b":")
        sep = b","
        value = canonical[name]
        if isinstance(value, bytes):
            add(value)
            continue
        add(b"[")
        with open(value, "rb") as fh:
            while chunk := fh.read(_BUFFER):
                add(chunk)
        add(b"]")
    add(b"}" if sep == b"," else b"{}")
    return digest.hexdigest(), b"".join(kept)
