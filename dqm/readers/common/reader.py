"""The face every format module of :mod:`dqm.readers` shows, so that one table can drive them.

A format module names itself, says what its files are for, how it recognises its content and
how it reads it; the ``READERS`` table of :mod:`dqm.readers` lists the modules in detection
order, and detection, the list of formats, the ``UNKNOWN_FORMAT`` messages and the XML formats
of the de-identification checks are all derived from it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Literal, Protocol

from dqm.model import Annotation, ReadIssue
from dqm.profile import Limits

Role = Literal["annotation", "slide", "mask"]
"""What a format's files are to an item: its lesion outlines, its slide, its raster mask."""
Syntax = Literal["json", "xml", "image"]
"""What ``looks`` and ``read`` are given: a parsed JSON document, the root element of an XML one,
or an image file's bytes."""


class FormatReader(Protocol):
    """A format module (a module, not a class: its constants and two functions)."""

    @property
    def NAME(self) -> str:
        """The format's name: ``Annotation.format`` of what it reads, and in ``FORMATS``."""

    @property
    def TITLE(self) -> str:
        """How messages name it (``QuPath GeoJSON``)."""

    @property
    def ROLE(self) -> Role: ...

    @property
    def SYNTAX(self) -> Syntax: ...

    @property
    def ROOT(self) -> str | None:
        """XML formats: the root element they read, named in ``UNKNOWN_FORMAT``; None for JSON."""

    def looks(self, content: Any, rel: str) -> bool:
        """Whether the parsed content (JSON document or XML root) is this format; ``rel`` is the
        file's path in the batch, for the rare format told apart by its file name."""

    def read(self, content: Any, rel: str, issues: list[ReadIssue]) -> list[Annotation]:
        """The annotations of the content (one per slide it describes), classes as written;
        ``issues`` are those the file-level read already met. Never raises for bad content."""


_DEFAULT = Limits()
_LIMITS: ContextVar[Limits | None] = ContextVar("dqm_reader_limits", default=None)


def limits() -> Limits:
    """The profile's ``limits`` the file being read is held to (the defaults outside
    :func:`reading_within`): the mask decoders read ``mask_pixels`` and ``rle_pixels`` here, before
    they decode anything. A context variable, because the format protocol's ``read`` is the same
    for every format and only the decoders need it."""
    return _LIMITS.get() or _DEFAULT


@contextmanager
def reading_within(profile_limits: Limits) -> Iterator[None]:
    """Read files held to ``profile_limits`` inside the block (:func:`limits`)."""
    token = _LIMITS.set(profile_limits)
    try:
        yield
    finally:
        _LIMITS.reset(token)
