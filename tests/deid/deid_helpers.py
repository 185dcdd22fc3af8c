"""What the de-identification tests of sessions 22 and 23 share: the default settings, a fake
resident registration number, a masker under a fixed key, the kinds :func:`dqm.identifiers.find`
flags in an annotation's text, and the check that a table's header row holds no name."""

from __future__ import annotations

from dqm.identifiers import DeidSettings, Masker, find

SETTINGS = DeidSettings()
RRN = "900101-1234567"
CUT_CASES = [
    ("RRN 900101", "-1234567 end", "korean_rrn"),
    ("MRN 1234", "5678 end", "hospital_record_number"),
    ("010-1234", "-5678 end", "phone_number"),
    ("Patient name: Hong", " Gildong end", "person_name"),
    ("성명: 홍", "길동 end", "person_name"),
]
"""An identifier's head and tail, and its kind: a cut between them must keep neither half."""


def default_masker() -> Masker:
    """A masker of the default settings, its key fixed: the same token for the same identifier."""
    return Masker(SETTINGS, b"k" * 32)


def kinds_found(text: str) -> list[str]:
    """The kinds :func:`dqm.identifiers.find` flags in ``text`` as an annotation's, in order."""
    return [hit.name for hit in find(text, SETTINGS, "annotation")]


def assert_no_name(header: str) -> None:
    """``header`` (a table's header row) is neither flagged nor changed by the masker."""
    assert kinds_found(header) == []
    assert default_masker()(header) == header
