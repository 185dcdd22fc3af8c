"""Findings: what a check reports about one item (a slide and its files) or the batch.

A finding is plain, frozen data. It names the check that raised it, a stable UPPER_SNAKE reason
code, a severity and a location precise enough for a person to go and fix the file.

Location conventions
--------------------
``file``     path relative to the batch folder, POSIX separators.
``pointer``  the *value* the finding is about: a JSON pointer (``/lesions/3/geometry``) or an XML
             path. It names the value slot, not a character inside it; ``vertex`` and ``xy`` say
             where inside a geometry.
``row``      1-based data row of a table (the header is row 0); ``column`` the column name, or
             ``#13``, its 1-based position, for a clinical column the profile does not declare
             (its name is the batch's text: :func:`validators.deid.shown_column`).
``line``/``char``  1-based position in a text file, for syntax errors.
``lesion``   0-based index of the lesion in the file as it was read.
``xy``       level-0 pixel coordinates ``(x, y)`` of the problem (see :mod:`dqm.coords`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dqm.i18n import N_, Message, Param, msg, render
from dqm.identifiers import cut_outside_identifiers, run_start

MAX_MESSAGE_CHARS = 2_000
"""A finding's message is cut here: messages echo values from the batch (a class name of 50 MB
would otherwise be copied into every output)."""
MAX_NAME_CHARS = 500
"""Ids, file paths, pointers and column names from the batch are cut here."""


_WORD_CHAR = re.compile(r"[\w.+@\-–]")
"""A character of a word, a number or an identifier (an RRN, a phone number, an e-mail address)."""
_WORD_AT_END = re.compile(r"(?<![\w.+@\-–])[\w.+@\-–]{1,256}$")
MAX_CUT_MOVES = 8
"""Times :func:`cut_head` moves a cut back to the start of an identifier the word rule left it in."""


def clip(text: str, limit: int) -> str:
    """``text`` cut to about ``limit`` characters, saying how much was left out (:func:`cut_head`)."""
    if len(text) <= limit:
        return text
    return f"{cut_head(text, limit)}… [cut: {len(text):,} characters]"


def cut_head(text: str, limit: int) -> str:
    """The start of ``text`` that a cut at ``limit`` keeps (``text`` itself when it is no longer).

    The cut never keeps part of an identifier: outputs are masked when they are written, and the
    masker recognises an identifier only whole (``900101-12…`` would show a birth date,
    ``Patient name: Hong…`` a given name). A cut inside an identifier the whole text shows moves to
    its start (:func:`dqm.identifiers.cut_outside_identifiers`: the built-in patterns and the run's
    profile's, :func:`dqm.identifiers.use_profile_patterns`); then, for identifiers no pattern
    knows, a word the cut falls inside is left out whole (up to 256 characters back), and so are
    the digits, dashes and spaces the kept text ends with (a longer word is cut where it is: a
    number in it loses its digits before the cut)."""
    if len(text) <= limit:
        return text
    end = cut_outside_identifiers(text, limit)
    for _ in range(MAX_CUT_MOVES):
        kept = _word_kept(text, end)
        end = cut_outside_identifiers(text, kept)  # ``DOB: 1990/01/21`` less its trailing ``21``
        if end == kept:
            return text[:end]
    return ""  # identifiers that end where others start, again and again: keep none of them


def cut_label(text: str, limit: int) -> str:
    """``text`` as a chart's label of about ``limit`` characters: cut by :func:`cut_head` with an
    ellipsis, or whole when the cut would keep nothing (one long word: a label of "…" alone says
    nothing, and the page is masked whole as it is written)."""
    head = cut_head(text, limit - 1) if len(text) > limit else text
    return text if not head else head if head == text else head + "…"


def _word_kept(text: str, cut: int) -> int:
    """Where the kept text ends when ``text`` is cut at ``cut``: before the word the cut falls in,
    and before the digits, dashes and spaces it would end with."""
    end = cut
    if (
        _WORD_CHAR.match(text, cut)
        and (word := _WORD_AT_END.search(text, max(0, cut - 257), cut)) is not None
    ):
        end = word.start()
    # back over the run of digits, spaces and dashes it ends with, a block at a time in C (a loop
    # over a 10 MB run of digits took 3 s; a regex anchored at the end would be quadratic on digits)
    return run_start(text, end, _NOT_IN_RUN, _RUN_BYTES)


_DIGITS_NOT_DECIMAL = (
    "\u00b2-\u00b3\u00b9\u1369-\u1371\u19da\u2070\u2074-\u2079\u2080-\u2089\u2460-\u2468\u2474-\u247c"
    "\u2488-\u2490\u24ea\u24f5-\u24fd\u24ff\u2776-\u277e\u2780-\u2788\u278a-\u2792\U00010a40-\U00010a43"
    "\U00010e60-\U00010e68\U00011052-\U0001105a\U0001f100-\U0001f10a"
)
"""The characters ``str.isdigit`` takes and ``\\d`` does not (superscripts, circled digits: Unicode
15's, as Python 3.11 reads it; a test checks the set against ``str.isdigit``)."""
_NOT_IN_RUN = re.compile(f"[^\\d\\s.\\-\u2013{_DIGITS_NOT_DECIMAL}]")
"""A character of no run the kept text loses from its end: no digit (``str.isdigit``), space
(``str.isspace``, as ``\\s``), dot or dash."""
_RUN_BYTES = bytes(c for c in range(128) if _NOT_IN_RUN.match(chr(c)) is None)


class Severity(StrEnum):
    """How much a finding matters. Only ``error`` makes a file syntactically inaccurate."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Aspect(StrEnum):
    """Which part of quality a finding is about.

    ``structure``, ``format`` and ``file`` make up syntactic accuracy (QUALITY-MEASURES.md);
    the others are reported beside it.
    """

    STRUCTURE = "structure"  # keys, nesting, types: does the file match its schema
    FORMAT = "format"  # values in their domain: classes, ranges, geometry
    FILE = "file"  # unreadable or missing files, pairing, duplicates
    IMAGE = "image"  # whole-slide image quality and metadata
    DEID = "deid"  # identifiers that must not be released
    INTERNAL = "internal"  # a check or stage crashed: not evaluated (never counted as failed)


SYNTACTIC_ASPECTS = frozenset({Aspect.STRUCTURE, Aspect.FORMAT, Aspect.FILE})

CHECK_CRASHED = "CHECK_CRASHED"
"""A check (or the reading of an item's files, or an item's process) raised: the item was not
evaluated."""
ITEM_TIMED_OUT = "ITEM_TIMED_OUT"
"""An item's work went past its wall-clock limit (the profile's ``limits.item_seconds``) and its
process was killed: the item was not evaluated, as after a crash."""
NOT_EVALUATED = frozenset({CHECK_CRASHED, ITEM_TIMED_OUT})
"""The codes of an item dqm could not evaluate (never counted as failed)."""
STAGE_CRASHED = "STAGE_CRASHED"
"""A stage of the audit (diversity, thumbnails, a renderer, ...) raised: its part was not evaluated."""
_STAGE_MESSAGE = re.compile(r"the (.{1,80}?) stage crashed")


def stage_message(stage: str, exc: BaseException) -> str:
    """The message of a ``STAGE_CRASHED`` finding (:func:`not_evaluated` reads the stage back)."""
    return msg(
        "the {stage} stage crashed and was not evaluated: {error}: {reason}",
        stage=stage[:80],
        error=type(exc).__name__,
        reason=clip(str(exc), 300),
    )


def not_evaluated(findings: Iterable[Finding]) -> tuple[list[str], list[str]]:
    """What a run could not evaluate: the items a check crashed on (their ids, sorted) and the
    stages that crashed (in the order they did). A crash is *not evaluated*, never *failed*: a bug
    in dqm must not fail a delivery, nor certify what it did not check."""
    items: set[str] = set()
    stages: list[str] = []
    for f in findings:
        if f.code in NOT_EVALUATED:
            items.add(f.item_id)
        elif f.code == STAGE_CRASHED and (m := _STAGE_MESSAGE.match(f.message)):
            stages.append(m.group(1))
    return sorted(items), list(dict.fromkeys(stages))


class Location(BaseModel):
    """Where a finding is; every field is optional, set the ones that apply."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    file: str | None = None
    pointer: str | None = None
    row: int | None = None
    column: str | None = None
    line: int | None = None
    char: int | None = None
    lesion: int | None = None
    vertex: int | None = None
    xy: tuple[float, float] | None = None

    @field_validator("file", "pointer", "column")
    @classmethod
    def _clip(cls, v: str | None) -> str | None:
        return None if v is None else clip(v, MAX_NAME_CHARS)

    def describe(self, lang: str = "en") -> str:
        """One human-readable line in ``lang``, e.g. ``a/b.json /lesions/2/geometry vertex 5 at (10, 20)``
        (the file and the JSON pointer as they are: they name places, not words)."""
        parts: list[str] = []
        if self.file:
            parts.append(self.file)
        if self.line is not None:
            if self.char is not None:
                parts.append(render(N_("line {line}:{char}"), {"line": self.line, "char": self.char}, lang))
            else:
                parts.append(render(N_("line {line}"), {"line": self.line}, lang))
        if self.row is not None:
            parts.append(render(N_("row {row}"), {"row": self.row}, lang))
        if self.column:
            parts.append(render(N_("column {column}"), {"column": self.column}, lang))
        if self.pointer:
            parts.append(self.pointer)
        if self.lesion is not None and not (self.pointer and "/lesions/" in self.pointer):
            parts.append(render(N_("lesion {lesion}"), {"lesion": self.lesion}, lang))
        if self.vertex is not None:
            parts.append(render(N_("vertex {vertex}"), {"vertex": self.vertex}, lang))
        if self.xy is not None:
            parts.append(render(N_("at ({x}, {y})"), {"x": f"{self.xy[0]:g}", "y": f"{self.xy[1]:g}"}, lang))
        return " ".join(parts)


class Finding(BaseModel):
    """One failed expectation about one item.

    ``message`` is the English sentence. A message built with :func:`dqm.i18n.msg` also keeps its
    msgid (``template``) and ``params``, and :meth:`text` renders it in any language at output
    time; a plain string has no template and reads the same in every language.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    item_id: str
    check: str
    code: str
    severity: Severity
    aspect: Aspect
    message: str
    location: Location = Location()
    template: str | None = None
    """The message's msgid (named placeholders), when it was built with :func:`dqm.i18n.msg`."""
    params: dict[str, Param] = Field(default_factory=dict)
    """The values of the template's placeholders (text from the batch cut like the message)."""
    counted_values: int = Field(default=0, ge=0)
    """Value slots this finding stands for besides the one its location names: a reader reports
    the first issues of a code one by one and counts the rest in one finding, which names the
    slots of those that no other issue of the file names. Value-grain accuracy counts each as
    inaccurate, as if it had been reported on its own (never more than the file's value slots)."""

    @model_validator(mode="before")
    @classmethod
    def _template_of_message(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("message"), Message) and "template" not in data:
            m = data["message"]
            data = {**data, "message": str(m), "template": m.template, "params": m.params}
        return data

    @field_validator("message")
    @classmethod
    def _clip_message(cls, v: str) -> str:
        return clip(v, MAX_MESSAGE_CHARS)

    @field_validator("params")
    @classmethod
    def _clip_params(cls, v: dict[str, Param]) -> dict[str, Param]:
        return {k: clip(x, MAX_MESSAGE_CHARS) if isinstance(x, str) else x for k, x in v.items()}

    def text(self, lang: str = "en") -> str:
        """The message in ``lang`` (English: :attr:`message`)."""
        if self.template is None or lang == "en":
            return self.message
        return clip(render(self.template, self.params, lang), MAX_MESSAGE_CHARS)

    @field_validator("item_id")
    @classmethod
    def _clip_id(cls, v: str) -> str:
        return clip(v, MAX_NAME_CHARS)

    def value_key(self) -> tuple[Any, ...]:
        """The value slot this finding makes inaccurate, for value-grain accuracy (and
        :attr:`counted_values` more)."""
        loc = self.location
        return (self.item_id, loc.file, loc.pointer, loc.row, loc.column)


def to_frame(findings: Iterable[Finding]) -> Any:
    """A long pandas table of findings, one row each, location fields flattened."""
    import pandas as pd

    rows = []
    for f in findings:
        row = f.model_dump(exclude={"location"})
        row.update({f"location.{k}": v for k, v in f.location.model_dump().items()})
        rows.append(row)
    columns = [*Finding.model_fields.keys() - {"location"}]
    return pd.DataFrame(rows, columns=None if rows else columns)
