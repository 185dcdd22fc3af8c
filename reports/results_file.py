"""``results.json`` written as a stream: a result of a million items is never one text in memory.

The file is the one ``QualityResult.model_dump_json()`` gives, masked and sealed with its content
digest (:mod:`dqm.digest`), but made one member, and one element of ``items``, ``findings`` and
``batch.files``, at a time (:data:`STREAMED`): each piece is serialised, masked and written, and its canonical form (what the digest
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
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from pydantic import BaseModel

from dqm.columns import Columns
from dqm.digest import DIGEST_KEY, canonical_value, digest_member
from dqm.output import Mask, json_visible
from dqm.results import QualityResult

Streamed = dict[str, "Streamed | None"]
STREAMED: Streamed = {"items": None, "findings": None, "batch": {"files": None}}
"""What is written piece by piece: an array (None) element by element, an object (a dict: its own
streamed members) member by member. These grow with the batch; every other member is small."""
_BUFFER = 1 << 20
Canonical = bytes | Path | dict[str, "Canonical"]
"""The canonical form of a value: its bytes, a file holding an array's elements (without the
brackets), or an object's members by name."""


def write_results(
    result: QualityResult, path: Path, mask: Mask | None = None, keep_canonical: bool = False
) -> tuple[str, bytes]:
    """Write ``result`` (masked by ``mask``, with its content digest first) to ``path``, a file
    in a staging folder; the files it writes beside ``path`` while it works are removed. Returns
    the digest and, with ``keep_canonical`` (a signature signs them), the canonical bytes.

    Raises :class:`dqm.digest.DigestError` when a masked piece is not valid JSON."""
    body = path.with_name(f".{path.name}.body")
    work = _Work(path, mask)
    try:
        with open(body, "wb", buffering=_BUFFER) as fh:
            canonical = work.model(fh, result, STREAMED, skip=DIGEST_KEY)
        assert isinstance(canonical, dict)
        digest = hashlib.sha256()
        kept: list[bytes] = []
        for data in _canonical_bytes(canonical):
            digest.update(data)
            if keep_canonical:
                kept.append(data)
        value = digest.hexdigest()
        member = json.dumps({DIGEST_KEY: digest_member(value)}, separators=(",", ":"))
        with open(path, "wb", buffering=_BUFFER) as out, open(body, "rb") as src:
            out.write(member[:-1].encode("utf-8") + (b"," if canonical else b""))
            src.seek(1)  # the body's opening brace: the digest member took its place
            shutil.copyfileobj(src, out, _BUFFER)
        return value, b"".join(kept)
    finally:
        for leftover in (body, *work.files):
            with contextlib.suppress(OSError):
                leftover.unlink()


class _Work:
    """One writing: the mask and the files holding the canonical form of the streamed arrays."""

    def __init__(self, path: Path, mask: Mask | None) -> None:
        self.path = path
        self.mask = mask
        self.files: list[Path] = []

    def model(self, fh: BinaryIO, model: BaseModel, streamed: Streamed, skip: str | None = None) -> Canonical:
        """Write ``model`` member by member, as ``model.model_dump_json()`` writes it."""
        canonical: dict[str, Canonical] = {}
        sep = b"{"
        for name in type(model).model_fields:
            if name == skip:
                continue
            fh.write(sep + json.dumps(name).encode("utf-8") + b":")
            sep = b","
            value = getattr(model, name)
            if name in streamed and isinstance(value, list | Columns):  # a list, or kept as columns
                canonical[name] = self.array(fh, value)
            elif name in streamed and isinstance(value, BaseModel):
                canonical[name] = self.model(fh, value, streamed[name] or {})
            else:
                text = self.masked(_member_text(model, name))
                fh.write(text.encode("utf-8"))
                canonical[name] = canonical_value(text).encode("utf-8")
        fh.write(b"}" if sep == b"," else b"{}")
        return canonical

    def array(self, fh: BinaryIO, elements: Sequence[BaseModel]) -> Path:
        """Write an array of models element by element; its canonical form goes to a file."""
        path = self.path.with_name(f".{self.path.name}.{len(self.files)}")
        self.files.append(path)
        with open(path, "wb", buffering=_BUFFER) as canon:
            fh.write(b"[")
            sep = b""
            for element in elements:
                text = self.masked(element.model_dump_json())
                fh.write(sep + text.encode("utf-8"))
                canon.write(sep + canonical_value(text).encode("utf-8"))
                sep = b","
            fh.write(b"]")
        return path

    def masked(self, text: str) -> str:
        """``text`` masked, its hidden characters written as JSON escapes (:func:`json_visible`)."""
        return json_visible(self.mask(text) if self.mask is not None else text)


def _member_text(model: BaseModel, name: str) -> str:
    """One member's JSON value as ``model.model_dump_json()`` writes it."""
    text = model.model_dump_json(include={name})
    head = "{" + json.dumps(name) + ":"
    if not (text.startswith(head) and text.endswith("}")):
        raise ValueError(f"the member {name!r} did not serialise alone")
    return text[len(head) : -1]


def _canonical_bytes(canonical: Canonical) -> Iterator[bytes]:
    """The canonical form in pieces: an object's members in key order, an array read back from
    its file."""
    if isinstance(canonical, bytes):
        yield canonical
    elif isinstance(canonical, Path):
        yield b"["
        with open(canonical, "rb") as fh:
            while chunk := fh.read(_BUFFER):
                yield chunk
        yield b"]"
    else:
        sep = b"{"
        for name in sorted(canonical):
            yield sep + json.dumps(name, ensure_ascii=False).encode("utf-8") + b":"
            sep = b","
            yield from _canonical_bytes(canonical[name])
        yield b"}" if sep == b"," else b"{}"
