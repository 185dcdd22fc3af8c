"""Regular expressions a profile supplies, run in time linear in the text.

Python's ``re`` backtracks: ``(a+)+$`` takes exponential time on ``aaaa…b``, and a search cannot be
interrupted, so one batch value could hold an audit forever under a profile shared between
teams. dqm's own patterns are written and tested not to (``dqm.identifiers``); a pattern a
profile adds (``deid.patterns.*.regex``, the ``deid`` key and value patterns, a clinical field's
``pattern``) runs on RE2, whose matching time is linear in the text whatever the pattern. RE2 has
no look-around and no back-references; a pattern that needs them is refused when the profile is
read, with the reason, instead of being run without a bound. Linear is not cheap: RE2's cost a
character grows with the pattern's program, so a program past :data:`MAX_PROGRAM` is refused too.
Its ``\\d``, ``\\w``, ``\\s`` and ``\\b`` are ASCII; Korean text is matched by writing its
characters (``[가-힣]``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import re2

_SURROGATE = re.compile(r"[\ud800-\udfff]")
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a refused pattern is reported once, by the profile's loader

MAX_PROGRAM = 1_500
"""The largest RE2 program (``programsize``, its instructions) a profile's pattern may compile to:
RE2 runs in time linear in the text, but a pattern its fast automaton gives up on costs in
proportion to its program a character: ``(.*){1000}z`` (10,005) 29 s of CPU a million
characters, as an identifier key pattern met on every key of a file (a 3.9 MB QuPath file parsed
in 15.2 s, 0.54 s without); ``(.*){150}z`` (1,505) about 4 s. dqm's largest own pattern, the
quasi-identifier keys, is 516, its identifier keys 257, a value pattern at most 169: about three
times the largest leaves room to extend them."""


def _encodable(text: str) -> str:
    """``text`` with each lone surrogate (a file name's undecodable byte) as U+FFFD: RE2 matches
    UTF-8, and the positions of every other character stay the same."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


class LinearPattern:
    """A user's regular expression compiled by RE2, with the part of ``re.Pattern``'s interface
    dqm uses (``search``, ``match``, ``finditer``, ``pattern``, ``groupindex``); a match's groups are read by
    index (RE2's match takes no group name in ``start``/``end``)."""

    __slots__ = ("_groups", "_rx")

    def __init__(self, source: str) -> None:
        try:
            self._rx = re2.compile(source, _OPTIONS)
        except re2.error as exc:
            said = exc.args[0] if exc.args else b""
            reason = (said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said)) or "not RE2"
            raise ValueError(
                f"pattern {source[:200]!r} cannot run in linear time ({reason}): dqm runs a profile's "
                "patterns with RE2, which has no look-around (?=, ?!, ?<=, ?<!), no back-references "
                "and no possessive or atomic groups"
            ) from None
        if (size := self._rx.programsize) > MAX_PROGRAM:
            raise ValueError(
                f"pattern {source[:200]!r} is too large to run on every text ({size:,} RE2 instructions, "
                f"at most {MAX_PROGRAM:,}): its cost grows with its size in each character searched "
                "(a counted repeat of a group, (.*){1000}, multiplies it); write it smaller"
            )
        self._groups = dict(self._rx.groupindex)  # RE2 rebuilds the mapping at each reading

    @property
    def pattern(self) -> str:
        return str(self._rx.pattern)

    @property
    def groupindex(self) -> dict[str, int]:
        return self._groups

    def search(self, text: str) -> Any:
        return self._rx.search(_encodable(text))

    def match(self, text: str) -> Any:
        return self._rx.match(_encodable(text))

    def finditer(self, text: str) -> Iterator[Any]:
        return iter(self._rx.finditer(_encodable(text)))


def linear(source: str) -> str:
    """``source`` unchanged when RE2 can run it, within :data:`MAX_PROGRAM`; a ``ValueError``
    saying why not otherwise (a profile field's validator)."""
    LinearPattern(source)
    return source
