"""Annotation readers: each format is one module producing the same internal model.

:func:`read_annotation` does the file-level part once (bytes, encoding, syntax), detects the
format by content (file extensions lie), and hands the parsed document to the format's reader.
A file no reader recognises is an ``UNKNOWN_FORMAT`` issue, never an exception.
"""

from __future__ import annotations

from pathlib import Path

from dqm.model import Annotation, ReadIssue
from dqm.profile import Profile
from dqm.readers import native
from dqm.readers.base import decode, failed, parse_json

MAX_BYTES = 512 * 1024 * 1024


def read_bytes(path: Path) -> tuple[bytes | None, ReadIssue | None]:
    """The file's bytes, or the issue that prevented reading them."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            return None, ReadIssue(
                "ANNOTATION_UNREADABLE", f"{size} bytes is over the {MAX_BYTES} byte limit"
            )
        return path.read_bytes(), None
    except OSError as exc:
        return None, ReadIssue("ANNOTATION_UNREADABLE", f"cannot read: {exc.strerror or exc}")


def parse_annotation(data: bytes, rel: str, profile: Profile) -> list[Annotation]:
    """Every annotation a file's bytes hold (one per slide; COCO files hold many)."""
    decoded = decode(data)
    if decoded.text is None:
        return [
            Annotation(path=rel, format="unknown", readable=False, n_values=1, issues=list(decoded.issues))
        ]
    head = decoded.text.lstrip()[:1]
    if head in ("{", "["):
        doc, issues = parse_json(decoded)
        if doc is None:
            return [Annotation(path=rel, format="json", readable=False, n_values=1, issues=issues)]
        return [native.read_document(doc, rel, profile, issues)]
    return [
        failed(
            rel,
            "unknown",
            ReadIssue("UNKNOWN_FORMAT", "not a recognised annotation format (expected JSON)"),
        )
    ]


def read_annotation(path: Path, rel: str, profile: Profile) -> list[Annotation]:
    """Read one annotation file into the internal model; never raises for bad content."""
    data, issue = read_bytes(path)
    if issue is not None:
        return [failed(rel, "unknown", issue)]
    assert data is not None
    return parse_annotation(data, rel, profile)
