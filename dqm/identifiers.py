"""De-identification: patterns for personal identifiers, where to look, and how to mask them.

The profile's ``deid`` section (:class:`DeidSettings`) says what identifies a person:

* value **patterns** searched in every text value -- slide properties, file names, annotation
  properties, the clinical table. Built-in: Korean resident registration numbers (``YYMMDD-G``
  followed by 6 digits, the birth date part checked), US social security numbers, dates of birth
  and hospital record numbers after a keyword, person names after a keyword (``Patient name:``,
  ``성명``), phone numbers and e-mail addresses; file names are also searched for dates.
  A profile adds patterns or turns built-in ones off by name (``enabled: false``).
* **identifier keys**: property keys / undeclared table columns whose non-blank value names a
  person (``PatientName``, ``BirthDate``, ``주민등록번호``...).
* **quasi-identifier keys**: slide properties that describe the scan and may lead back to a
  person (Aperio ``Filename``, ``Date``, ``User``; DICOM dates, institution, operator...).

Every match is reported masked (:func:`mask`): at most the first two characters of the matched
text are shown, never the identifier itself.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import hmac
import html.entities
import math
import os
import re
import re._compiler as _sre_compiler  # its character classes, kept (:func:`_compiling`)
import re._constants as _sre  # a pattern's parts: the runs a cut reaches back over
import re._parser as _sre_parse
import secrets
import string
import sys
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from itertools import accumulate, pairwise
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dqm.i18n import N_
from dqm.user_regex import LinearPattern, linear

Place = Literal["slide", "filename", "annotation", "clinical"]
PLACES: tuple[Place, ...] = ("slide", "filename", "annotation", "clinical")
Level = Literal["identifier", "quasi"]


class DeidPattern(BaseModel):
    """One identifier pattern."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    regex: str = ""
    """A regular expression; a group named ``id`` marks the identifier (the rest is context). One a
    profile writes runs on RE2 (:mod:`dqm.user_regex`): no look-around or back-references."""
    what: str = ""
    """What a match is, for the message (e.g. ``Korean resident registration number``)."""
    level: Level = "identifier"
    """``identifier`` (an error) or ``quasi`` (a warning: may identify with other data)."""
    places: tuple[Place, ...] = PLACES
    validate_as: Literal["none", "rrn"] = "none"
    """Extra test of a match: ``rrn`` checks the birth-date part and the gender digit."""
    enabled: bool = True

    @field_validator("regex")
    @classmethod
    def _compiles(cls, v: str) -> str:
        return _runnable(v)


_BUILT_IN: set[str] = set()
"""dqm's own patterns (:func:`_built_in_regex`): written not to backtrack, run on ``re``, which has
the look-around they need. Every other pattern is the profile's and runs on RE2."""


_STARTS: dict[str, str] = {}
"""Per built-in pattern that has them, the characters every match starts with (a character class's
body, case variants written out): :func:`_scan` skips every other place in C."""
_NEEDS: dict[str, str] = {}
"""Per built-in pattern that has one, a text every match holds: a text without it is not searched."""


def _built_in_regex(source: str, starts: str = "", needs: str = "") -> str:
    _BUILT_IN.add(source)
    if starts:
        _STARTS[source] = starts
    if needs:
        _NEEDS[source] = needs
    return source


def _runnable(source: str) -> str:
    """``source`` when it is dqm's own or RE2 runs it; a ``ValueError`` saying why not otherwise."""
    return source if source in _BUILT_IN else linear(source)


_OPTIMIZE_CHARSET = getattr(_sre_compiler, "_optimize_charset", None)
_EXTRA_CASES = getattr(_sre_compiler, "_EXTRA_CASES", None)
_CHARSETS: dict[tuple[Any, ...], Any] = {}
"""Per character class ``re`` compiled while :func:`_compiling` held, what ``re`` made of it."""


def _kept_charset(charset: Any, *args: Any) -> Any:
    """``re``'s ``_optimize_charset`` of ``charset``, kept: the built-in patterns repeat about a hundred
    Hangul classes (``[가-힣]``, the surnames) over a thousand times, and ``re`` builds each one's
    64k-entry map in Python (two thirds of compiling ``person_name``). The arguments but the class
    are ``re``'s own functions and its case-fix table (a module constant, keyed by identity); with any
    other argument the class is compiled as ``re`` compiles it, not kept."""
    assert _OPTIMIZE_CHARSET is not None
    if not all(a is None or callable(a) or a is _EXTRA_CASES for a in args):
        return _OPTIMIZE_CHARSET(charset, *args)
    try:
        key = (tuple(charset), *(a if a is None or callable(a) else id(a) for a in args))
        kept = _CHARSETS.get(key)
    except TypeError:  # a class ``re`` writes otherwise than as pairs of hashables
        return _OPTIMIZE_CHARSET(charset, *args)
    if kept is None:
        kept = _CHARSETS[key] = _OPTIMIZE_CHARSET(charset, *args)
    return kept


def _compiling(source: str) -> re.Pattern[str]:
    """``re.compile(source)`` for a built-in pattern, a gate or a pattern's skipping form, its
    character classes kept across such compiles (:func:`_kept_charset`): the same pattern, a fresh
    process's first :func:`find` about a third faster. Other compiles meanwhile (another thread's)
    may use the kept classes too: the same code ``re`` would make. ``re``'s own function is put back
    only where the kept one is still in place: one someone else put there meanwhile is left as is."""
    if _OPTIMIZE_CHARSET is None:  # not this Python's ``re``: compiled as is
        return re.compile(source)
    try:
        _sre_compiler._optimize_charset = _kept_charset
        return re.compile(source)
    finally:
        if _sre_compiler._optimize_charset is _kept_charset:
            _sre_compiler._optimize_charset = _OPTIMIZE_CHARSET


class BuiltInPattern:
    """A built-in pattern (:func:`_built_in_regex`) on ``re``, compiled as written when first used
    (``search``, ``match``, ``finditer``, ``groupindex``): :func:`find` runs one with known first
    characters as :func:`_skipping` and behind its place's gate, never as written, and compiling
    ``person_name`` and ``possible_name`` as written cost a fresh process about 0.7 s of CPU (their
    Hangul classes) before its first find. Pickled as its source."""

    __slots__ = ("_rx", "pattern")

    def __init__(self, source: str) -> None:
        self.pattern = source
        self._rx: re.Pattern[str] | None = None

    def __reduce__(self) -> tuple[type[BuiltInPattern], tuple[str]]:
        return BuiltInPattern, (self.pattern,)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BuiltInPattern) and other.pattern == self.pattern

    def __hash__(self) -> int:
        return hash(self.pattern)

    @property
    def compiled(self) -> re.Pattern[str]:
        """The pattern as written, compiled (once)."""
        if self._rx is None:
            self._rx = _compiling(self.pattern)
        return self._rx

    @property
    def groupindex(self) -> Mapping[str, int]:
        return self.compiled.groupindex

    def search(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        return self.compiled.search(text, pos, endpos)

    def match(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        return self.compiled.match(text, pos, endpos)

    def finditer(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> Iterator[re.Match[str]]:
        return self.compiled.finditer(text, pos, endpos)


Regex = re.Pattern[str] | BuiltInPattern | LinearPattern


def _compiled(source: str) -> Regex:
    """A built-in pattern on ``re`` (compiled when first used), a profile's on RE2 (linear in the
    text, whatever the pattern)."""
    return BuiltInPattern(source) if source in _BUILT_IN else LinearPattern(source)


def _kw_tail(colons: str = ":=#", most: str = "") -> str:
    """What follows a keyword: an optional ``no``/``number``/``#`` and one of ``colons``, each run
    of spaces at most ``most`` long (unbounded where it is empty)."""
    spaces = rf"\s{{0,{most}}}+" if most else r"\s*"
    return rf"{spaces}(?:(?:no\.?|number|#){spaces})?(?:[{colons}]{spaces})?"


def _kw(words: str) -> str:
    """A case-insensitive keyword group followed by an optional ``no``/``#`` and ``:``/``=``.

    Each run of whitespace follows a character it cannot hold, so a keyword followed by thousands
    of spaces is one pass: three optional runs side by side (``\\s*(?:no)?\\s*[:=#]?\\s*``)
    backtrack over every way to split the spaces, cubic in their length (3,000 spaces after
    ``dob`` in a class name held an audit for over five minutes). A CSV row's comma, semicolon or pipe is its ``:``
    and a quote may close the keyword's cell and open the value's (``MRN,12345678``, ``"DOB";"1990-01-01"``,
    ``MRN: "12345678"``: none before session 28). The comma takes spaces or tabs after it (``MRN, 12345678``,
    ``DOB, 1990-01-01``, ``환자번호, 12345678``, ``MRN,<TAB>"12345678"``: a CSV written with ``", "``) but after
    the words prose puts before a number that is no record's (:data:`_PROSE_KEYWORD_END`: ``medical record, 12345
    slides were reviewed``, ``patients born, 19901231 was the cutoff``), where only a value glued to it is one, as a
    CSV row writes it. One rule for Latin and Korean keywords: session 29's deid13 took the glued value only after
    every keyword, and left ``MRN, 12345678``, ``DOB, 1990-01-01`` and ``환자번호, 12345678`` in clear (deidko5f
    found the Korean ones again, then its fix round the Latin ones). At most 8 spaces or tabs after the comma, and
    no line break before or after it (``환자번호\\n, 12345678`` and ``환자번호,`` 500 spaces ``12345678`` were
    MRNs in deidko5f); a full-width comma ``，`` reads as one (``환자번호， 12345678``: none before deidko5f2)."""
    comma = r'"?[ \t\u00a0\u3000]*+[,\uff0c\u3001]"?[ \t\u00a0\u3000]{0,8}+"?'
    return (
        rf"(?i:{words})(?:(?:{_PROSE_KEYWORD_END}|(?={comma}{_ID_SHAPED})){comma}"
        rf'|"?(?:[ \t\u00a0\u3000]*+[,\uff0c\u3001]"?(?![\s"])|{_kw_tail(":=#;|")}"?))'
    )


_PROSE_KEYWORD_END = "(?<![Rr][Ee][Cc][Oo][Rr][Dd])(?<![Bb][Oo][Rr][Nn])(?<![\\s_][Oo][Nn])"
"""Where a date's or a record's keyword ends in no word that prose puts before a comma and another number
(``medical record``, ``born``, ``born on``): what :func:`_kw` asks before it reads a comma and spaces as the
keyword's ``:``; or where a value of an identifier's shape follows the comma (:data:`_ID_SHAPED`)."""
_ID_SHAPED = (
    r"(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}"
    r"|[A-Za-z]{0,4}\d{6,12}+(?![ \u00a0]++[a-z]))(?![\w/-])"
)
"""A value the comma after ``medical record``, ``born`` or ``born on`` is a record's ``:`` before: a date written
with its separators (``Born, 1990-01-01``, ``born on, 01/02/1990``), or 6 to 12 digits, a few letters before them or
none (``Medical Record, 12345678``, ``medical record, MRN1234567``), no lowercase word a space after them (a
tab ends a cell: ``Medical Record, 1234567<TAB>slide_07.svs`` is one; in clear since
session 29's deid13, which read that comma as prose's after these words whatever followed). Prose reads the same
with a shorter number or one a sentence goes on after: ``medical record, 12345 slides were reviewed``, ``patients
born, 19901231 was the cutoff`` are none; a date with its separators is one wherever it stands
(``born, 1990-01-01 was`` is masked: a false positive, never a leak)."""


_IN_WORD = "\u00ad\u034f\u180b-\u180e\u200c-\u200f\u2060-\u2065\u206a-\u206f\ufe00-\ufe0f\ufeff"
"""The characters nobody sees that are written inside a word, never between two: a soft hyphen
(a place a word may break at: ``DIAG<U+00AD>NOSIS``), the joiners (U+200C, U+200D, the word joiner
U+2060, the combining grapheme joiner U+034F, the zero-width no-break space U+FEFF), the variation
selectors, the left-to-right and right-to-left marks (U+200E, U+200F) and the invisible operators
and deprecated formats (U+2061 to U+2065, U+206A to U+206F), which mark a direction or a meaning and
never stand for a space (``DIAG<U+200E>NOSIS``). Not the bidirectional isolates (U+2066 to U+2069),
which open or close a run of text as the embeddings and overrides (U+202A to U+202E) do: between two
words they part them (:data:`_UNSEEN_GAPS`: ``HONG<U+2066>GILDONG`` is a name, as
``HONG<U+202E>GILDONG`` was). No name's words are parted by one alone
(:data:`_NAME_GAPS`)."""
_UNSEEN_GAPS = (
    "\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f"  # controls, less the gaps and line ends a pattern reads
    "\u061c\u115f\u1160\u17b4\u17b5\u180f\u200b\u202a-\u202e\u2066-\u2069"
    "\u2800\u3164\uffa0\ufff0-\ufffb"
    "\u0600-\u0605\u06dd\u070f\u0890\u0891\u08e2\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff"
)
"""The other characters nobody sees (the zero-width space, the bidirectional embeddings, overrides and
isolates, the controls, the fillers, the tag characters): one may stand where a space would
(``HONG<U+200B>GILDONG``)."""
_INVISIBLE_CHARS = _UNSEEN_GAPS + _IN_WORD
"""The characters a reader does not see, which :func:`unescaped` drops after the escapes: Unicode's
Default_Ignorable_Code_Point (a soft hyphen, the zero-width ones, the bidirectional marks, the
variation selectors, the Hangul fillers, the tag characters), every other format character (Cf:
U+FFF9 to U+FFFB, U+0600 to U+0605), the braille blank U+2800, and the controls but the ones a
pattern reads as a gap or a line's end (``\t``, ``\n``, ``\r``, ``\x0b``, ``\x0c``, U+001C to
U+001F, U+0085). ``RRN 900101&#8203;-1234567``, ``M\u200bRN 12345678``, ``RRN 900101<U+0001>-1234567``
read as a person reads them."""

_KEYWORD_SPACE = rf"[\s{_INVISIBLE_CHARS}]*"
"""What parts a name's keyword, its ``:`` and its name: spaces and characters nobody sees
(``Patient name:<U+200B>HONG<U+200B>GILDONG``, where the reading that keeps them sees the name)."""
_NAME_WORDS = r"(?i:patient(?:'s)?[\s_]*name|\bpt\.?[\s_]*name|성명|성함|환자\s{0,64}명|이름)"
"""The ``person_name`` pattern's own keywords; ``환자`` and ``명`` parted by at most 64 of any space
(a line break too: :data:`_KO_GAP`), as every Korean keyword rule parts them (:data:`_KO_NAME_SUFFIX`)."""
_MARKS = "\u0300-\u036f"
"""Combining accents, as a decomposed (NFD) text writes an accented letter (``Jose\u0301``, ``E\u0301MILE``)."""
_UPPER = "A-Z\u00c0-\u00d6\u00d8-\u00de\u0100-\u021b\u1ea0-\u1ef9"
"""A Latin capital, accented too (``É``, ``Ł``, ``Ü``): Latin-1's capitals, Latin Extended-A and -B up to Romanian
``Ș``/``Ț`` (U+0100–U+021B) whole (their capitals and small letters alternate; a small one there starts no word a
text writes) and Vietnamese (U+1EA0–U+1EF9); the rest of Extended-B and Additional are left out (each class past U+00FF costs
compile time, :data:`_UPPER_RX`)."""
_LOWER = "a-z\u00df-\u00f6\u00f8-\u00ff\u0100-\u021b\u1ea0-\u1ef9" + _MARKS
"""A Latin small letter, accented too, or a combining accent after one (``José``, ``García``, ``Jose\u0301``:
``José García`` was no name and ``Smith, Renée`` showed ``ée`` before session 29)."""
_LATIN_LETTER = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u021b\u1ea0-\u1ef9" + _MARKS
"""Either of :data:`_UPPER` and :data:`_LOWER`."""
_UPPER_RX = r"(?:[A-Z\u00c0-\u00d6\u00d8-\u00de]|[\u0100-\u021b]{1}|[\u1ea0-\u1ef9]{1})"
"""A Latin capital (:data:`_UPPER`) as a pattern of classes of one or two runs each, which ``re`` compiles as
ranges (each ``{1}`` keeps ``re``'s parser from joining them into one class again): one class of them all is
a 64K map each time :data:`_NAME` writes it (hundreds of times; the first ``find`` took 0.4 s longer)."""
_LOWER_RX = r"(?:[a-z\u00df-\u00f6\u00f8-\u00ff]|[\u0100-\u021b\u0300-\u036f]{1}|[\u1ea0-\u1ef9]{1})"
""":data:`_LOWER` as :data:`_UPPER_RX` is :data:`_UPPER`."""
_CAPITAL_OR_MARK_RX = (
    r"(?:[A-Z\u00c0-\u00d6\u00d8-\u00de]|[\u0100-\u021b\u0300-\u036f]{1}|[\u1ea0-\u1ef9]{1})"
)
"""A Latin capital or a combining accent (a word in capitals after its first letter)."""
_LATIN1_LETTER = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff"
"""A Latin-1 letter: where a lookahead only asks whether a word goes on (:data:`_NO_MORE_WORDS`), a class within
U+00FF, which ``re`` compiles as a 256-bit map (a class past it costs a 64K map each time it is written, and
:data:`_NAME` writes its letter classes hundreds of times: the first compile took 0.4 s longer with them)."""
_NAME_HYPHEN = "[-\u2010-\u2015]"
"""What joins a surname's two parts: ``-``, the hyphen, the non-breaking hyphen, the figure, en and em dash and the
horizontal bar (``Smith\u2013Jones`` was masked ``Smith`` and showed ``\u2013Jones`` before session 29)."""
_LATIN_COMMA = (
    r"""[,;|](?:(?<=[A-Za-z][,;|])|(?<=[A-Za-z]\s[,;|])|(?<=[A-Za-z]\s\s[,;|])|(?<=[A-Za-z]"[,;|]))"""
)
"""A comma, a semicolon or a pipe right after a Latin keyword (two spaces between at most: ``Patient Name  ,
John Smith``; a semicolon-separated export's ``Patient Name;John Smith``, a pipe-separated one's or a Markdown
table's ``| Patient Name | John Smith |``; a quoted cell's ``"Patient Name","John Smith"``): what
:data:`_NAME_KEYWORD` reads as its ``:``."""
_QUOTE = '"?'
"""A CSV cell's double quote after a keyword (``"Patient Name","John Smith"``: none before session 28)."""
_NAME_QUOTE = f"(?:[\"'\u2018\u201c](?=[{_UPPER}]))?"
"""A CSV cell's or a value's double quote before a Latin name (``"Patient Name","John Smith"``, ``Patient Name:
"John Smith"``, ``Patient Name,"Smith, John"``: none before session 28); not before a Korean word, which the
Korean rules read as they did (``성명:"환자 명``)."""
_ANY_KEYWORD_COMMA = r",(?:(?<=[A-Za-z명함름],)|(?<=[A-Za-z명함름]\s,)|(?<=[A-Za-z]\s\s,))"
"""A comma after a Latin or a Korean keyword: what :data:`_NAME_KEYWORD` reads as its ``:`` where it looks for
a name that may go on past a window's end (:data:`_PENDING_NAME`); the ``person_name`` pattern reads a Korean
keyword's comma only before a name's strict shape (:data:`_KO_KEYWORD_COMMA`)."""
_NAME_KEYWORD = (
    _NAME_WORDS
    + _QUOTE
    + _KEYWORD_SPACE
    + f"(?:(?:[:=\uff1a]|{_ANY_KEYWORD_COMMA}|{_LATIN_COMMA}){_KEYWORD_SPACE})?{_NAME_QUOTE}"
)
"""The ``person_name`` pattern's keyword, its ``:`` (a full-width ``：`` too), ``=`` or ``,`` (a CSV row:
``Patient Name,John Smith``, ``성명,홍길동``), and the spaces around them: what may start a name
(:data:`_PENDING_NAME`), as :data:`_NAME_KEYWORD_BEFORE_NAME` reads it, a Korean keyword's comma looser."""
_IN_CELL_GAP_CHARS = " ,^\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000" + _UNSEEN_GAPS
"""What parts a name's words in one cell (:data:`_IN_CELL_GAP`): a space of any width, a comma,
DICOM's ``^``, a character nobody sees that may stand for a space (:data:`_UNSEEN_GAPS`)."""
_CELL_ENDS = "\t\x0b\x0c\x1c-\x1f\x85\u2028\u2029"
"""What ends a table's cell, or a line a line feed does not end: a tab, a vertical tab, a form feed,
ASCII's file, group, record and unit separators, U+0085, U+2028, U+2029. A name's words cross one
only as :data:`_IN_CELL_GAPS` says (``Patient name: John Smith<U+2029>Age`` masked ``Age`` before
session 27; ``Patient name: Hong<U+000C>Gildong`` is a name, as session 22 made it)."""
_NAME_GAP = "[" + _IN_CELL_GAP_CHARS + ';|"' + _CELL_ENDS + "]"
"""What a name's words are parted by: a space or a tab (a no-break space too, ``&nbsp;`` and
``&Tab;`` as read, or any other of Unicode's spaces and separators: a vertical tab, a form feed,
U+001C to U+001F, U+0085, U+2028, U+2029), a comma, DICOM's ``^``, a semicolon after a first word
alone in its cell (a semicolon-separated export's ``Patient Name;Smith;John``), or a character nobody sees
(:data:`_INVISIBLE_CHARS`: ``HONG<U+200B>GILDONG``, which the reading that drops it takes for one
word, is two where it is kept, :func:`_unseen_runs`); a line feed or carriage return ends a name."""
_NAME_GAPS = rf"[{_IN_WORD}]*+(?:{_NAME_GAP}[{_IN_WORD}]*+)++"
"""A run of :data:`_NAME_GAP` and :data:`_IN_WORD` characters that holds one of the first: what
parts a name's words (``HONG<U+200B><U+00AD>GILDONG``, where a soft hyphen alone parts none)."""
_IN_CELL_GAP = "[" + _IN_CELL_GAP_CHARS + "]"
_IN_CELL_GAPS = rf"[{_IN_WORD}]*+(?:{_IN_CELL_GAP}[{_IN_WORD}]*+)++"
""":data:`_NAME_GAPS` with no cell's end (:data:`_CELL_ENDS`): what parts a name's words in one cell.
A name's words cross a cell's end only from a cell its first word stands alone in (a table that
holds the surname and the given name in two columns, ``Patient name:<TAB>Hong<TAB>Gildong``), to
a word no header's (:data:`_LATIN_HEADER`), and go on in that cell only: a name of two words or
more in its cell ends there (``Patient Name<TAB>John Smith<TAB>Age`` masked ``Age`` too, session 27),
and a header row's word that characters written inside a word join, read as one
(``Patient Name<TAB>SAMPLE<U+00AD>JOE<TAB>AGE``), takes no next header's cell for a surname."""
_CELL_GAPS = rf"[{_IN_CELL_GAP_CHARS}{_IN_WORD}]*+[{_CELL_ENDS}][{_NAME_GAP[1:-1]}{_IN_WORD}]*+"
"""A run of :data:`_NAME_GAP` and :data:`_IN_WORD` characters that holds a cell's end (:data:`_CELL_ENDS`)."""
_NO_MORE_WORDS = rf"(?![{_LATIN1_LETTER}]|[{_IN_CELL_GAP_CHARS}{_IN_WORD}]*+[{_LATIN1_LETTER}])"
"""Where a cell's word is its only one: no letter follows it in its cell."""
_NAME_GAPS_AT_END = f"[{_NAME_GAP[1:-1]}{_IN_WORD}]*+"
"""What may follow a name's last word at a text's end, where more of its gap may come after."""
HEADER_WORDS = (
    "age", "sex", "gender", "dob", "birth", "birthday", "date", "id", "mrn", "rrn", "hospital",
    "diagnosis", "specimen", "sample", "slide", "site", "stage", "grade", "type", "status", "result",
    "report", "dept", "department", "phone", "address", "email", "organ", "tissue", "histology",
    "number", "comment", "comments", "note", "notes",
    "accession", "referring", "attending", "ordering", "requesting", "submitting", "physician", "columns",
    "clinic", "stain", "tumor", "tumour", "margin", "consent", "laterality",
    "redacted", "anonymous", "anonymised", "anonymized", "unknown", "withheld", "deidentified",
    "female", "male",
    "나이", "연령", "성별", "생년월일", "주소", "진단", "진단명", "병원", "병록번호", "등록번호",
    "환자번호", "전화번호", "연락처", "검체", "비고",
)  # fmt: skip
"""Words a table's header names a column by (any case): the first word after a name's keyword
that is one of them starts no name where the keyword is a header's cell among others
(``patient name<TAB>Age<TAB>Sex``, ``PATIENT NAME AGE SEX``, ``이름<TAB>나이<TAB>성별``,
:data:`_NOT_HEADER`); a Latin one that is a surname too is a name before a given name
(``Sample^Joe``), and one that is mostly a surname (``Ward``, ``Case``) is not listed."""
_NO_NAME_FIRST = (
    "(?i:then|and|also|please|must|should|shall|check|enter|select|are|was|were|if|when)"
    "(?=[ \u00a0\u2000-\u200a\u202f\u205f\u3000]+[A-Za-z])"
)
"""Words of a sentence that start no name where a space and another word follow them (``Check Patient
Name, Then Export``, a header row's title and an instruction, read as a name before session 28). Before a
``^``, a comma, a tab or a cell's end they are a surname (``WHEN^JOHN``, ``When, John``: left in clear in
session 28's first round); ``See`` (施), ``Or`` and ``Is``, surnames as often, are not listed."""
_WORD_END = rf"(?![{_LATIN1_LETTER}]|[\u0100-\u021b\u0300-\u036f]{{1}}|[\u1ea0-\u1ef9]{{1}})"
"""Where a Latin word ends: before no letter, accented ones too (the classes past U+00FF as :data:`_UPPER_RX` writes
them)."""
_LATIN_HEADER = "(?i:" + "|".join(word for word in HEADER_WORDS if word.isascii()) + rf"){_WORD_END}"
"""A Latin header's word (:data:`HEADER_WORDS`), ending where its word does: before no letter, accented ones too
(``Idália`` read as ``id`` and ``Agénor`` as ``age`` before, so ``Patient Name<TAB>Idália Souza<TAB>45`` was no name
until the fix round of session 29's deid13). The classes past U+00FF as :data:`_UPPER_RX` writes them (cheap)."""
_PHRASE_TAIL = (
    "name|names|label|group|of|card|code|no|source|class|collected|received|signed|reported"
    "|taken|barcode|flag|details|detail|model|years|yrs|months|days|time|value|values|list"
    "|location|size|count|level|description|info"
)
"""The words that end a header's phrase and may follow its given-name-like word (``Sample Collection
Date``, ``Slide Label Value``): what :data:`_GIVEN_NAMES_END` refuses after given names. The longer
:data:`_HEADER_TAIL` is for the given-name-like word itself only: after a real given name its common
words (``final``, ``side``, ``day``, ``primary``) are the text going on (``Patient Name<TAB>Sample
Joe final``: read as no name with them, a leak the third review found)."""
_HEADER_TAIL = (
    "(?i:" + _PHRASE_TAIL +
    # a header's second word the second review found read as a given name (``Date Scanned``,
    # ``Slide Stain``, ``Specimen Pathologist``): events, roles, units, parts of a record
    "|drawn|accessioned|scanned|updated|created|entered|verified|approved|printed|ordered"
    "|performed|completed|registered|admitted|discharged|category|unit|units|range|text|summary"
    "|remarks|results|path|url|uri|format|version|owner|author|reader|reviewer|pathologist"
    "|physician|doctor|staff|technician|operator|identifier|key|index|seq|sequence|ref|reference"
    "|mm|cm|kg|year|month|day|hour|dx|stain|block|part|zone|area|region|side|laterality|origin"
    "|primary|secondary|final|initial|preliminary|addendum|quality|score|percent|ratio|weight"
    "|height|width|length|depth|margin|margins|diameter)" + _WORD_END
)
"""Words that end a column header's phrase after one of :data:`HEADER_WORDS` (``Slide Label``,
``Hospital Name``, ``Date Of Birth``, ``ID Card``, ``Date Collected``, ``Slide Barcode``, ``Age
Years``, ``Date Scanned``, ``Slide Stain``) and name no one. A list, not a rule: what follows a
name in an output (a tab and the next column, a quote) differs from what follows it in its value,
so a rule that read the rest of the row (a third tab-separated field of capitalised words) would
let an output show a name its value is flagged for; a header phrase whose second word is in
neither list is masked (a false positive, never a leak)."""
_SPACES = "[ \u00a0\u2000-\u200a\u202f\u205f\u3000]"
"""A space in a line: the gap between a surname and its given names (``Sample&nbsp;Joe``)."""
_AFTER_GIVEN = "[,^" + _INVISIBLE_CHARS + _SPACES[1:]
"""What parts a given name from a header's word after it: a space of any width (``Sample
Collection&nbsp;Date``), a comma, a ``^`` or a character nobody sees (``Sample
Collection<U+200B>Date`` where the character is kept, :func:`_unseen_runs`)."""
_GIVEN_GAP = "[" + _SPACES[1:-1] + _UNSEEN_GAPS + "]"
"""What parts a surname that is a header's word from its given names: a space of any width or a
character nobody sees that may stand for one (``Patient Name<TAB>SAMPLE<U+200B>JOE<TAB>45``, a name
:data:`_NAME_GAPS` reads as two words); not one written inside a word (:data:`_IN_WORD`)."""
_GIVEN_GAPS = rf"(?:[{_IN_WORD}]*+{_GIVEN_GAP}[{_IN_WORD}]*+)++"
"""A run of :data:`_GIVEN_GAP` and :data:`_IN_WORD` characters that holds one of the first, as
:data:`_NAME_GAPS` reads a name's gap (``SAMPLE<U+200B><U+00AD>JOE``, ``SAMPLE<U+2066><U+200D>JOE``:
a name's two words, where a header's word and a given name read as a header); each run of either
kind is read once, so the run is one pass however long."""
_GIVEN_NAME = rf"(?!{_LATIN_HEADER}|{_HEADER_TAIL})(?:[A-Z][a-z]++|[A-Z]{{2,}}+)"
_GIVEN_NAMES_END = (
    rf"(?:,{_GIVEN_GAP}*+|{_GIVEN_GAPS}){_GIVEN_NAME}(?:[ ,^]++{_GIVEN_NAME}){{0,2}}+"
    rf"(?!{_AFTER_GIVEN}*+(?:{_LATIN_HEADER}|(?i:{_PHRASE_TAIL}){_WORD_END})|[ ,{_INVISIBLE_CHARS}]*+\t[ \t{_INVISIBLE_CHARS}]*+{_LATIN_HEADER})"
)
"""After a surname that is a header's word, right after a tab or two spaces: its given names,
each no header's word, then no header's word (``Patient Name<TAB>Sample Joe``, followed by
anything else: a line's end, the ``"`` or ``'`` of an output that quotes it, a ``<``, a ``…``,
a tab and a number). A header row's phrase (``Patient Name<TAB>Sample Collection Date``, ``Date
Collected``) or one a tab and another header's column follow (``Patient Name<TAB>Sample
Descriptor<TAB>Age``) is none. Whatever follows the given names is looked at only so far as a
header's word, so a value reads the same alone (:func:`find`) as written in any output."""
_NOT_HEADER = (
    f'(?!(?:(?<=\t)|(?<=\\s\\s)|(?<=[,;|])|(?<=[,;|]\\s)|(?<=[,;|\t]")){_LATIN_HEADER}(?!\\^|{_GIVEN_NAMES_END})'
    f"|{_LATIN_HEADER}(?:[ \t,{_INVISIBLE_CHARS}]*\t|{_NAME_GAPS}{_LATIN_HEADER})|(?:"
    + "|".join(word for word in HEADER_WORDS if not word.isascii())
    + ")(?![가-힣]))"
)
"""Where a name's first word is no column header's (:data:`HEADER_WORDS`): a Latin one that is
starts no name where the keyword is a cell of a header row, its columns parted by a tab or two
spaces and the next a header's phrase (``PATIENT NAME<TAB>DATE OF BIRTH<TAB>SEX``, ``Patient
Name  Hospital Name  Age``), or where a tab or another header's word follows it (``patient name
Age Sex``, ``Patient Name,Diagnosis,Stage``). After a single space, a ``:`` and a space, a comma
or a ``^``, followed by a given name, it is a surname (``Sample^Joe``, ``DATE^ANIL``, ``Organ,
Bryan``, ``STAGE JOHN``, ``Age Kim``); right after a tab, two spaces or a keyword's comma (a CSV
row, ``PATIENT NAME,DATE OF BIRTH,SEX``, session 27f), where a ``^`` follows it
or given names, each no header's word and no header's word after them, follow it
(:data:`_GIVEN_NAMES_END`: ``Patient Name<TAB>Sample Joe``, ``Patient name:  Age Kim``,
``Patient Name<TAB>Sample^Joe<TAB>45``, ``Patient Name<TAB>Sample Joe<TAB>45``; not ``Patient
Name<TAB>Date Collected`` nor ``Patient Name<TAB>Sample Collection Date``). A header's phrase
whose second word is in neither list (``Patient Name<TAB>Date Drawn``) reads as a name and is
masked: a false positive masked, where a rule that told them apart by what follows them left the
name in clear in the outputs that quote it. A name whose first word is not a header's (``Patient
Name<TAB>Hong Gildong``) is a name wherever it stands. A Korean one starts none: a Korean name is one word."""
_HEADER_CELL_AHEAD = (
    rf"(?!(?![{_INVISIBLE_CHARS}]*+(?:[^\S\t][{_INVISIBLE_CHARS}]*+)?+(?![\s{_INVISIBLE_CHARS}]))"
    rf"[\s{_INVISIBLE_CHARS}]*+{_LATIN_HEADER}(?!\^|{_GIVEN_NAMES_END}))"
)
"""Where a name's keyword (or its ``:``) ends: not a tab, or two spaces, and a header's word, where
characters nobody sees stand among the spaces or after them (``PATIENT NAME<TAB><U+200E>DATE OF
BIRTH``, ``Patient Name  <U+200B>Date Collected``): :data:`_NOT_HEADER`'s first rule, which looks
at the one or two characters before a name's first word only, as the reading that drops those
characters reads it. A header's word followed by given names (:data:`_GIVEN_NAMES_END`) or a
``^`` is a surname as there (``Patient Name<TAB><U+200B>Sample Joe``)."""
_KO_SURNAMES = (
    "김이박최정강조윤장임한오서신권황안송전홍유고문양손배백허남심노하곽성차주우구민류나진지엄채원천방공현함변"
    "염여추도소석선설마길연위표명기반라왕금옥육인맹제모탁국어은편용예경봉사부가복태목형피두감호빈동온시독"
)
"""The first syllables of about 110 common Korean surnames (``benchmarks/hangul_supplement.py``'s
list: the single-syllable ones, and ``독`` of 독고; 남궁, 황보, 제갈, 선우, 사공, 서문, 동방 start
with one of the others)."""
_KO_TAIL = "(?:님|씨|환자)?(?:에게서|에게|께서|께|한테서|한테|에서|에|은|는|이|가|을|를|의|와|과|도|만|으로|로)?(?:는|은|의|도|만|부터)?"
"""An honorific (``님``, ``씨``, ``환자``: ``홍길동환자``) and a particle that may follow a Korean
name glued (``홍길동에게서``, ``남궁민수님``, ``김철수님은``), and a second particle after the first (``김철수에게는``,
``김철수와의``, ``김철수님께서는``, ``김철수로부터``: a second review found the name masked and
``의`` or ``게는`` left, or the word not read as a name): the word is judged without them, and the
name ends before them (:data:`_KO_NAME`)."""
_KO_NAME_COPULA = (
    "(?:님|씨)?(?:입니다|입니까|이다|이고|이며|이에요|예요|이었(?:다|음|고|는데|어요|습니다)?|이라(?:고|는|서|며)?|이요"
    "|임|이세요)"
)
"""The copula after a name, an honorific before it (``홍길동입니다``, ``홍길동이고``, ``김철수님이에요``): the
name is the word before it, masked as one token with the name alone (``환자명은 홍길동입니다`` was none, the
name in clear; ``성명: 홍길동입니다`` masked ``홍길동입`` and showed ``니다``); ``이었다``, ``이라고``, ``이요``, ``임``,
``님이세요`` too (``환자명은 홍길동이었다`` was none; ``성명: 홍길동이었다`` masked ``홍길동이``, another token)."""
_KO_NAME_END = rf"(?:{_KO_TAIL}|{_KO_NAME_COPULA})(?![가-힣])"
"""What ends a name's word (:data:`_KO_NAME`): a particle or an honorific (:data:`_KO_TAIL`) or the copula
(:data:`_KO_NAME_COPULA`), then no more Hangul."""
_KO_PARTICLE = (
    "(?:님|씨|환자)?(?:(?:에게서|에게|께서|께|한테서|한테|에서|에|와|과|으로|로|만)(?:는|은|의|도|만|부터)?"
    "|[은는이가을를의도])?"
)
"""A particle as Korean writes one after a word (an honorific before it): :data:`_KO_TAIL`'s, but no ``은`` or ``는`` after
``이``, ``가`` or ``도`` (``명가은``, ``명이은``, ``명도은`` are names, not ``명`` and two particles)."""
_KO_DOUBLE_SURNAMES = "남궁|황보|제갈|선우|독고|사공|서문|동방|어금|망절|소봉"
"""The two-syllable Korean surnames: one of them and two syllables is a name of four (``남궁지은``),
not a surname of one, a given name and a particle (``남궁지`` and ``은``)."""
_KO_NO_FINAL = "".join(map(chr, range(0xAC00, 0xD7A4, 28)))
"""The Hangul syllables with no final consonant (``지``, ``하``): after one, the particle is ``는``,
not ``은``, so ``지은`` is a given name, not ``지`` and a particle."""
_KO_L_FINAL = "".join(map(chr, range(0xAC08, 0xD7A4, 28)))
"""The Hangul syllables whose final consonant is ``ㄹ`` (``철``): after one, as after no final, the particle is ``로``."""
_KO_FIT = (
    rf"(?<![의에])(?<![{_KO_NO_FINAL}][는가를와])(?<!(?<![{_KO_NO_FINAL}])[이을과])"
    rf"(?<![{_KO_NO_FINAL}{_KO_L_FINAL}]로)(?!(?<=으)로)"
)
"""After a three-syllable reading of a name (:data:`_KO_NAME`, :data:`_KO_GLUED_WORD`): its third syllable is no
case particle that fits the second (``김철을``, ``김철이``, ``김민과``, ``김수가``, ``김철로``, ``김수로``, ``김철의``,
``김민으로``: ``김철`` and the particle), so a two-syllable name is one token with its particle and without. ``은``,
``도`` and ``만`` end a given name as often (``김정은``, ``김영도``, ``박정만``): those words stay whole."""
_KO_NOT_PARTICLE = "[은는이가을를의와과도만에로서]"
"""The syllables a particle ends in (``은``, ``를``, ``에서``): a name glued to what follows it ends in
none of them but for :data:`_KO_GIVEN_END`'s."""
_KO_GIVEN_END = rf"(?:[가-힣](?<!{_KO_NOT_PARTICLE})|(?<=[{_KO_NO_FINAL}])은|(?<![{_KO_NO_FINAL}면])서)"
"""A given name's last syllable: no particle's (:data:`_KO_NOT_PARTICLE`), but ``은`` after a
syllable with no final consonant (``지은``, ``하은``: the particle there is ``는``) and ``서`` after
one with a final consonant but ``면`` (``민서``, ``윤서``; not ``에서``, ``해서``, ``하면서``)."""
_KO_ENDING = "[고며면다야요어게된될됨할함히적]"
"""The syllables a verb's or an adverb's ending is (``이고``, ``시되어``, ``백히``, ``시적``), no
given name's last: a word glued to a keyword ending in one is no name (:data:`_KO_GLUED`); nor
are the copula's endings (:data:`_KO_COPULA`: ``이름이나``, ``이름이잖아``)."""
_KO_NOT_GIVEN = "[되됐적습었겠않없있했]"
"""Syllables of a verb's or an adjective's inflection that no Korean given name holds (``명시되지``, ``시적인``,
``이었습니다``): one of them inside a word of the strict name shape (:data:`_KO_GIVEN_BODY`) makes it no name."""
_KO_GIVEN_BODY = rf"(?:(?!{_KO_NOT_GIVEN})[가-힣]){{1,2}}"
"""A given name's syllables before its last (:data:`_KO_GIVEN_END`) in the strict name shape (:data:`_KO_GLUED`):
one or two, none of :data:`_KO_NOT_GIVEN` (``pt 명시되지``, ``환자 명시적인`` were identifiers: ``시되지``, ``시적인``
read as a surname and a given name)."""
_KO_GLUED_RUN = "(?=[가-힣]{2,12}+(?![가-힣]))"
"""A Hangul word of at most 12 syllables ahead, read possessively: the longest a glued name and its
particle are (a two-syllable surname, three syllables, ``환자``, ``에게서``, ``부터``). :data:`_KO_GLUED`
and :data:`_KO_GLUED_WORD` look at it first, so a keyword glued to a long run of Hangul (``이름`` a
hundred thousand times) costs one look of 12 syllables, not every reading of a name and its particles."""
_KO_COPULA = (
    "이(?:[나자라지고며면다야요어죠네니든던]|라고|라는|라서|라면|라도|라며|에요|예요|었다|었고|었음|었는데|세요|지요|네요"
    "|고요|구요|잖아|잖아요|든지|면서|니까)|인(?:[데지가]|가요|데요|지요|지는|데도)|입니[다까]|은요|은데|은데요"
    "|(?:이었|이겠|이거든|이구나|이라니|이지만|이어서|이랍|이므로|이기에|인걸|인듯)[가-힣]*"
    "|(?:이군|이래|이던|인가)|(?:이군(?:요|나)|이래(?:요|서|도)|이던(?:데|가|지)|인가(?:요|봐|보))[가-힣]*"
    "|이시(?:[다고며면죠네니지던었겠어여라군]|(?![가-힣]))[가-힣]*|이신(?:[가데지]|(?![가-힣]))[가-힣]*"
)
"""The copula's endings and a particle and ``요`` glued to a name's keyword (``이름이나``, ``이름이라고``,
``이름인데요``, ``이름입니다``, ``성함은요``, ``성함이요``), each a whole word after the keyword, and the
copula's stems with whatever Hangul follows them (``이름이었어요``, ``이름이던데``, ``이름이지만``, ``이름인가봐``,
``이름이시다``, ``성함이신가요``): grammar, no name; ``이군``, ``이래``, ``이던``, ``인가`` alone or before
their own endings only (``이군요``, ``이래서``, ``이던데``, ``인가봐``): given names follow them (``이름이군자``,
``이름인가영``). So ``이름이지은``, ``이름이나영``, ``이름이시우``
(a surname ``이`` and a given name) stay names; ``이름이랑`` (``이랑`` is a name too) stays a warning."""
_KO_SEO_WORDS = (
    "인증서", "설명서", "사전순서", "시퀀서", "우행서", "진단서", "소견서", "신청서", "진술서", "소명서", "사직서",
    "시방서", "이력서", "서약서", "공문서", "기안서", "반납서", "감정서", "연명서", "전문서", "주문서", "설문서",
    "국문서", "한문서",
)  # fmt: skip
"""Surname-led words ending in ``서`` that :data:`_KO_GLUED`'s strict shape takes for a name (``서`` after a final
consonant ends ``민서``, ``윤서``, ``준서``): the five of ``benchmarks/korean_name_words.py``'s words that were
identifiers glued to ``이름`` (``인증서``, ``설명서``, ``사전순서``, ``시퀀서``, ``우행서``) and a record's documents
(``진단서``, ``소견서``, ``신청서``, ``이력서``…): glued to a keyword a ``possible_name``, not an identifier
(``이름인증서``, ``환자명진단서``); ``김민서`` stays one."""
_KO_GLUED = (
    rf"{_KO_GLUED_RUN}(?!(?:성명|성함|이름|{_KO_COPULA})(?![가-힣])|(?:{'|'.join(_KO_SEO_WORDS)}){_KO_TAIL}(?![가-힣]))(?:{_KO_DOUBLE_SURNAMES}|[{_KO_SURNAMES}]){_KO_GIVEN_BODY}{_KO_GIVEN_END}"
    rf"(?<!{_KO_ENDING})(?<![님씨으])(?<!부터){_KO_TAIL}(?![가-힣])"
)
"""A name glued to a Korean keyword (``이름홍길동``, ``환자명홍길동``, ``성명홍길동에게``): a surname
and two or three more syllables, the last a given name's (:data:`_KO_GIVEN_END`: ``이름김지은``,
``환자명김민서``), then maybe an honorific and a particle. Any other surname-led word glued there
(``이름김철``, ``이름김정은``, ``이름변경``) is a ``possible_name`` (:data:`_KO_GLUED_WORD`): a
warning, masked whole; no syllable rule tells a glued name from a glued word (841 two-syllable
words took the rule that took ``이름김철``)
The keyword glued to a word is more often a word of its own (``이름으로``, ``이름표를``,
``성명서를``, ``이름바꾸기``, ``이름변경을``, ``환자 명희님``: ``희님``): those were identifiers. A
name's keyword is none (``환자 명성명:``)."""
_KO_GLUED_COPULA = (
    rf"(?=[가-힣]{{2,12}}+(?![가-힣]))(?!(?:{'|'.join(_KO_SEO_WORDS)}){_KO_NAME_COPULA}?(?![가-힣]))(?:{_KO_DOUBLE_SURNAMES}|[{_KO_SURNAMES}])"
    rf"{_KO_GIVEN_BODY}(?:{_KO_GIVEN_END}|은|(?<![에해면])서)(?<!{_KO_ENDING})(?<![님씨으])(?<!부터){_KO_NAME_COPULA}(?![가-힣])"
)
"""A name of :data:`_KO_GLUED`'s strict shape and the copula after it (``홍길동입니다``, ``김지은이고``): after
``환자명은`` (:data:`_KO_PARTICLE_KEYWORD`) an identifier, as the name alone is. Its last syllable may be ``은``
after a final consonant or ``서`` after none (``김정은입니다``, ``김예서이고``): no particle stands before the copula,
so the word is the name (600 of 28,920 names were none before session 28: ten surnames and each first syllable of
``benchmarks/hangul_supplement.py``'s given names before each second, ``환자명은 김정은입니다``)."""
_KO_GLUED_COPULA_AFTER_KEYWORD = (
    rf"(?=[가-힣]{{4,12}}+(?![가-힣]))(?!(?:성명|성함|이름|{_KO_COPULA})(?![가-힣])){_KO_GLUED_COPULA}"
)
""":data:`_KO_GLUED_COPULA` glued to a name's keyword (``이름홍길동입니다``, ``성명김지은이고``: none before session 28),
no keyword and no copula's ending read as a name (``이름이었습니다``, ``성함이세요``), as :data:`_KO_GLUED` reads; a
word of 4 to 12 syllables looked at first (a name and the copula are 4 at least), so a keyword glued to a long run
of Hangul costs one look (``이름`` 100,000 times: 0.69 s, 0.44 s before, with the copula's rule looked at first)."""
_KO_KEYWORD_COMMA = (
    rf",(?:(?<=[명함름],)|(?<=[명함름]\s,))(?={_KEYWORD_SPACE}(?:(?:{_KO_DOUBLE_SURNAMES}|[{_KO_SURNAMES}])"
    rf"{_KO_GIVEN_BODY}{_KO_GIVEN_END}(?<!{_KO_ENDING})(?<![님씨])(?![가-힣])|[A-Z][a-z]))"
)
"""A comma after a Korean keyword read as its ``:``: only before one word of :data:`_KO_GLUED`'s strict name shape
(``성명,홍길동``, ``이름,홍길동,45``, ``성함, 김철수``) or a capitalised Latin word (``이름,John Smith``). A
comma there lists as often (``개인 식별자(이름, 주민등록번호 등)``, ``같은 이름, 포트 없이``, ``이름, 나이``): none
(session 27's last review: e9fef0d1 dropped every Korean keyword's comma, and ``성명,홍길동`` was no finding)."""
_BARE_KEYWORD_ONE_WORD = (
    rf"[\s\"'\u2018\u201c:=\uff1a,;|{_INVISIBLE_CHARS}]*+[{_UPPER}][{_LATIN_LETTER}'\u2019.-]*+"
    rf"(?![{_IN_CELL_GAP_CHARS}\t_]*+[\"'\u2018\u201c]?[{_UPPER}])"
)
"""A Latin word alone after the bare ``이름`` (no second capitalised word after it): ``이름`` names a file, a class,
a scanner as often as a person (``클래스 이름: Stroma``, ``파일 이름: Mask``, ``{"이름": "Stroma", …}``), so one word
there is no name; two are (``이름: John Smith``), and one is after a keyword that names a person (:data:`_PERSON_NAME_WORDS`)."""
_PERSON_NAME_WORDS = r"(?i:patient(?:'s)?[\s_]*name|\bpt\.?[\s_]*name|성명|성함|환자\s{0,64}(?:명|이름))"
"""The keywords of :data:`_NAME_WORDS` that name a person (``환자 이름`` too), after which one word is a name."""
_NAME_KEYWORD_BEFORE_NAME = (
    f"(?:{_PERSON_NAME_WORDS}|이름(?!{_BARE_KEYWORD_ONE_WORD}))"
    + _QUOTE
    + _HEADER_CELL_AHEAD
    + _KEYWORD_SPACE
    + f"(?:(?:[:=\uff1a]|{_LATIN_COMMA}|{_KO_KEYWORD_COMMA}){_HEADER_CELL_AHEAD}{_KEYWORD_SPACE})?{_NAME_QUOTE}"
)
""":data:`_NAME_KEYWORD` as the ``person_name`` pattern reads it before a name: no header's cell
after it (:data:`_HEADER_CELL_AHEAD`). A comma after a Latin keyword is read as its ``:`` (a CSV row:
``Patient Name,John Smith`` was no finding before session 27f; ``Patient Name,Diagnosis,Stage``, a
header row, is none: :data:`_NOT_HEADER`); after a Korean one only before a name (:data:`_KO_KEYWORD_COMMA`)."""
_KO_RECORD_WORDS_SHORT = (
    "나이", "연령", "성별", "주소", "진단", "병원", "검체", "비고", "정보", "목록", "기록", "조회", "선택", "정렬",
    "구분", "유형", "명단", "명부", "사진", "서명", "신원", "신상", "표본", "조직", "시료", "전화", "주민", "경로",
    "형식", "번호", "등록", "지역", "직업", "직위", "부서", "소속", "학번", "사번", "국적", "생일", "이름", "성명",
    "성함", "나라", "도시", "우편", "포트", "유니", "기타", "설명", "제목", "내용", "파일", "크기", "종류", "상태",
)  # fmt: skip
"""Two-syllable surname-led words a table's or a list's next column is (``이름, 나이``, ``성명,주민번호``,
``이름, 경로``, ``이름, 형식``): after a Korean keyword's comma none (:data:`_KO_SHORT_AFTER_COMMA`)."""
_HANJA = "[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]"
"""A CJK ideograph, as a name is written in Hanja (``洪吉童``): the unified ideographs, their extensions A
(``㐂``) and B to F and the compatibility ones."""
_HANJA_SURNAMES = (
    "金李朴崔鄭姜趙尹張林韓吳徐申權黃安宋全洪柳劉高文梁孫裵白許南沈盧河郭成車朱禹具閔羅陳池嚴蔡元千方孔玄咸卞廉呂"
    "秋都蘇石宣薛馬吉延魏表明奇潘王琴玉陸印孟諸牟卓國魚殷片龍芮慶奉史夫賈卜太睦邢皮杜甘扈賓董溫施獨皇鮮司西東"
    "楊周胡何謝唐馮鄧曹彭曾蕭田袁蔣余于葉程丁任姚鍾譚汪范廖夏韋鄒熊秦邱江閻段雷侯陶黎賀顧毛郝龔邵萬錢覃武戴莫向湯"
)
"""The first ideographs of common Korean and Chinese surnames in Hanja (``洪``, ``金``, ``諸`` of 諸葛, ``皇`` of
皇甫): after ``환자`` or ``pt`` a Hanja word is a ``possible_name`` only when one starts it (``환자: 洪吉童``; not
``환자: 病理``, ``환자: 乳癌``, :data:`_KO_WORD_KEYWORD`)."""
_KO_DOT = "[ \u00b7\u2027\u30fb\u318d\uff65]"
"""A space or a middle dot between a Korean surname and its given name (``홍 길동``, ``홍·길동``)."""
_KO_SPACED = (
    rf"(?:{_KO_DOUBLE_SURNAMES}|[{_KO_SURNAMES}]){_KO_DOT}"
    rf"(?!(?:{'|'.join(word for word in HEADER_WORDS if not word.isascii())}|외|등|및|미상|모름|불명|누락|다름|기재)(?![가-힣])|[없있])"
    rf"(?:[가-힣]{_KO_DOT}(?!(?:외|등|및)(?![가-힣]))[가-힣]|[가-힣]{{1,2}})(?<![님씨])(?={_KO_TAIL}(?![가-힣]))"
)
"""A Korean name whose surname a space or a middle dot parts from its given name (``홍 길동``,
``홍·길동``, ``남궁 민수``, ``홍 길 동``: one syllable at a time), after a name's keyword only (``성명: 홍 길동``): after ``환자`` a
surname's syllable alone is a word as often (``환자 안 좋음``). Its given name no header's word
(``성명: 김 나이 45``)."""
_KO_NAME = (
    rf"(?:(?<![가-힣])|{_KO_GLUED_RUN}(?={_KO_GLUED}|{_KO_GLUED_COPULA_AFTER_KEYWORD}))"
    rf"(?:(?:{_KO_DOUBLE_SURNAMES})[가-힣](?:{_KO_GIVEN_END}|은)(?<![님씨])(?!(?<=으)로)(?={_KO_NAME_END})"
    rf"|{_KO_SPACED}|(?:[가-힣]{{3}}{_KO_FIT}|[가-힣]{{2}}|[가-힣]{{4}})(?<![님씨])(?={_KO_NAME_END})|[가-힣]{{2,4}})"
    rf"|{_HANJA}{{1,2}}(?:{_KO_DOT}{_HANJA}{{1,4}}+){{1,2}}|{_HANJA}{{2,12}}+(?!{_HANJA})|{_HANJA}{{4}}(?={_HANJA}{{9}})"
)
"""A Korean name, its honorific and particle left out (:data:`_KO_TAIL`), so that one name is
masked as one token wherever it stands (``김철수``, ``김철수님``, ``김철수에게서``) and no part of
its word is left in clear (``김철수에`` masked and ``게서`` shown before). A two-syllable surname
and two syllables first (``남궁지은``, ``남궁민수님``: four, not ``남궁지`` and ``은``), a name a
space or a middle dot parts (:data:`_KO_SPACED`), then three syllables (most Korean names:
``김지은`` is a name, not ``김지`` and ``은``), then two (``김철에게``), then four; never ending
in ``님`` or ``씨``. A word that two syllables' reading with a particle fits too (``김철은``) is read
the first way that fits: ``김철은`` whole; after a two-syllable surname the given name's last
syllable is a given name's (:data:`_KO_GIVEN_END`), so ``황보라가`` is ``황보라`` and ``가``, one
token with ``황보라``, and ``남궁민은`` is ``남궁민`` and ``은``. A word longer
than a name and a particle (``성명: 홍길동입니다``): its first four syllables, as before. Glued
to a Korean keyword, only a name of :data:`_KO_GLUED`'s shape. In Hanja, two to twelve ideographs
(``성명: 洪吉童``, ``洪吉童先生``: a title after the name masked with it), or one, a space or a middle
dot and one to three (``성명: 洪 吉童``); :data:`_PENDING_NAME` reads as far, so the masker masks
what :func:`find` flags. Spaced Hanja (:data:`_KO_DOT`): one or two ideographs, then one or two parts of one to
four (``諸葛 孔明``, ``洪 吉童先生``, ``洪 吉 童``: none of it left in clear); a run longer than twelve (a name glued to
Chinese text, ``洪吉童患者左乳腺``): its first four ideographs, the rest shown."""
_CAPITALISED = (
    rf"(?:[A-Z]['\u2019]|(?:Ma?c|D[aeiu]|L[ae]|Van|Von)(?=[A-Z]))?{_UPPER_RX}{_LOWER_RX}+"
    rf"(?:{_NAME_HYPHEN}{_UPPER_RX}{_LOWER_RX}+)*"
)
"""A capitalised word of a Latin name: a surname of two parts one word with its hyphen (``Smith-Jones``,
masked ``Smith`` and shown ``-Jones`` before session 28), with an ``O'``, ``D'``, ``Mc`` or ``Mac`` before its
capital (``O'Brien``, ``D'Angelo``, ``McDonald``, ``MacLeod``: none before)."""
_CAPITALS = rf"(?:[A-Z]['\u2019])?{_UPPER_RX}{_CAPITAL_OR_MARK_RX}+(?:{_NAME_HYPHEN}{_UPPER_RX}{_CAPITAL_OR_MARK_RX}+)*"
""":data:`_CAPITALISED` in capitals (``SMITH-JONES``, ``O'BRIEN``)."""
_MORE_IN_CELL_GAPS = rf"(?!,[{_LATIN1_LETTER}]){_IN_CELL_GAPS}(?!{_LATIN_HEADER})"
"""What parts a name's third or fourth word from the one before: :data:`_IN_CELL_GAPS`, but a comma glued
to the next word, which ends the cell of a CSV row after a name of two words (``Patient Name,John
Smith,Female`` masked ``Female`` with the name before session 28); ``Smith,John``'s comma parts a name's
first two words, ``Smith, John Paul``'s, followed by a space, any but a header's word (``Patient Name,John Smith,
Female`` keeps ``Female``, masked with the name before session 29)."""
_NEXT_CELL_SURNAME = (
    rf"(?:{_CELL_GAPS}(?!{_LATIN_HEADER}){_CAPITALISED}{_NO_MORE_WORDS})?",
    rf"(?:{_CELL_GAPS}(?!{_LATIN_HEADER}){_CAPITALS}{_NO_MORE_WORDS})?",
)
"""After a name of two words or more in its cell, the next cell where it holds exactly one
capitalised word, no header's (``Patient Name<TAB>Mary Ann<TAB>Smith<TAB>45``: ``Smith`` was in
clear in session 27's first round; ``Patient Name<TAB>John Smith<TAB>Age`` keeps ``Age``,
``...<TAB>John Smith<TAB>Sample Joe`` keeps ``Sample Joe``). What follows that word is looked at
only so far as its own cell's next letter, so a value reads the same alone (:func:`find`) as quoted
in an output (``"...<TAB>Smith"``)."""
_AFTER_CELL_SEPARATOR = '(?<=[,;|])|(?<=[,;|]\\s)|(?<=[,;|]")|(?<=[,;|]\\s")'
"""Where a name starts right after a CSV row's separator (a comma, a semicolon or a pipe, a space and a
quote after it or not: ``Patient Name,John Smith``, ``"Patient Name","John Smith"``): its cell ends at a
comma glued to a word (:data:`_MORE_IN_CELL_GAPS`). After a ``:``, a ``=`` or a tab the text is no CSV row
and a comma parts a name's words (``Patient Name: Smith,John,Paul``: ``Paul`` in clear in session 28's
first round). The other Latin forms are looked at only where this is not so, so a name that is none after a
separator is looked for once."""

_PLACE_WORD = "(?i:ward|bed|room|rm|bay|unit|floor|level|wing|block|bldg|building|suite|cubicle|station|theatre|theater)"
"""A place in a hospital, before its letter or number (``Ward B``, ``Bed 3``): no name after a semicolon
(:data:`_IN_VALUE_GAPS`)."""

_IN_VALUE_GAPS = (
    rf"(?:{_IN_CELL_GAPS}|[{_IN_WORD}]*+(?:[{_IN_CELL_GAP_CHARS};][{_IN_WORD}]*+)++"
    rf"(?={_UPPER_RX})(?!{_PLACE_WORD}[ \u00a0]++(?:[A-Za-z](?!\w)|\w*?\d)))"
    rf"(?!{_LATIN_HEADER})"
)
"""What parts a name's third or fourth word from the one before after a ``:``, a ``=`` or a tab:
:data:`_IN_CELL_GAPS` or a semicolon, before no header's word (``Patient Name: Smith;John;Paul``, whose
``Paul`` was in clear in session 28's first round; ``Patient Name: John Smith;Age 45`` keeps ``Age``). A semicolon
parts them before a capitalised word but a place's (:data:`_PLACE_WORD`) a space and a letter alone or a number follow:
``Patient Name: John Smith; Ward B`` keeps ``Ward B`` (masked ``Ward`` and showed ``B`` before session 29), ``Ward 3``,
``Bed B2`` too, while a list of names is masked whole, ``John Smith; Mary Jones``, ``Smith, John; Jones, Mary``,
``Smith;John;Paul Jones`` (session 29's deid13 took a semicolon only before a cell's last word and showed ``; Mary
Jones``), and a given name before an age or an initial, ``John Smith; Mary 45``, ``; Mary J. Jones`` (in clear in
session 29's deid13f, which kept any word before a letter alone or a number)."""


_VALUE_NAME_GAPS = rf"[{_IN_WORD}]*+(?:{_NAME_GAP.replace(chr(34), '')}[{_IN_WORD}]*+)++"
""":data:`_NAME_GAPS` with no double quote: what parts a name's first two words after a ``:``, a ``=`` or a tab,
where a quote is a JSON string's end, never a CSV cell's (``{"Patient Name": "Redacted", "Ward": "East"}`` was
masked to ``{"Patient Name": "[PERSON_NAME-…]": "East"}``, no JSON, in session 28's second round; a quoted CSV
row's ``"Patient Name","Smith","John"`` parts its words by quotes after its separator, :data:`_AFTER_CELL_SEPARATOR`)."""


_SEX_WORD = rf"(?i:female|male)(?![{_LATIN1_LETTER}])"
"""A sex column's value after a name (``Female``, ``MALE``): a header's word, never a name's second word."""
_SEX_WORD_IN_CELL = rf"(?i:female|(?<![{_LATIN1_LETTER}][ \u00a0])male)(?![{_LATIN1_LETTER}])"
""":data:`_SEX_WORD` where it would be a name's second word in its cell: ``Female`` anywhere, ``Male`` only after a
comma, a ``^`` or more than one space (``Patient Name,Smith,Male,45``, ``Smith, Male``); one space after a word it is
a surname, ``Patient Name: John Male`` (``Male`` shown from session 29's deid13 to session 30's deid14)."""
_INITIAL = rf"(?:[A-Z\u00c0-\u00d6\u00d8-\u00de]\.?+{_IN_CELL_GAPS})?+"
"""A middle initial between a name's first two words in a cell, with its dot or not (``Patient Name: Mary J. Jones``,
``Mary K Jones``, ``MARY J. JONES``: no name before session 30's deid14)."""


_EPONYM_TERM = (
    "(?:DiGeorge|LaPlace|Laplace|Hodgkin|Crohn|Cushing|Addison|Graves|Paget|Bowen|Barrett|Hirschsprung|Wilms|Ewing"
    "|Kaposi|Merkel|Langerhans|Lynch|Sjogren|Sj\u00f6gren|Hashimoto|Alzheimer|Parkinson|Huntington|Gleason|Breslow"
    "|Clark|Fuhrman|Nottingham|Bloom|Richardson|Gaussian|Gauss|Fourier|Poisson|Kaplan|Meier|Cox|Fisher|Pearson)"
    "(?:['\u2019]s[ \u00a0]++(?i:law)|(?:['\u2019]s)?[ \u00a0]++(?i:syndrome|disease|sarcoma|tumou?rs?|lymphoma|carcinoma|cells?|transform|anomaly"
    "|sequence|esophagus|oesophagus|thyroiditis|grade|grading|score|level|thickness|system|filter|kernel|noise"
    "|distribution|series|estimate|estimator|test|curve|correlation|regression|model|operator|equation|deletion))"
    "(?![A-Za-z])(?![ \u00a0]*+,[ \u00a0]*+[A-Z])"
)
"""An eponym and the term it names (``DiGeorge syndrome``, ``LaPlace's law``, ``Laplace Transform``, ``Gleason
Score``): after a name's keyword no name starts there (``Patient Name: DiGeorge Syndrome`` was masked as a name
before session 31); the same surname alone or after a given name is still one (``Patient Name: Mary DiGeorge``)."""
_NOT_ONE_NAME = (
    "(?i:n/?a|nil|none|null|nobody|unknown|unk|tbd|tba|pending|blank|empty|missing|hidden|removed|deleted|masked"
    "|private|confidential|restricted|illegible|refused|declined|anon|anonymous|anonymi[sz]ed|pseudonymi[sz]ed"
    "|coded|encrypted|same|see|not|no|yes|true|false|other|others|various|multiple|several|all|any|both|nan"
    "|optional|required|varchar|boolean|bool|str|string|integer|int|float|unavailable|scrubbed|confidentiel"
    "|stroma|necrosis|mask|annotation|annotations|background|hematoxylin|eosin"
    "|test|tests|testing|dummy|demo|example|sample|samples|patient|patients|name|names|case|cases|control|controls"
    "|subject|subjects|donor|donors|specimen|specimens|slide|slides|image|images|file|files|field|value|text"
    "|self|pt|mrn|mr|mrs|ms|miss|dr|prof|sir|madam|baby|infant|newborn|mother|father|male|female|man|woman|child"
    "|adult|xxx+|x+|tissue|block|biopsy|resection|excision|tumou?r|normal|benign|malignant|positive|negative"
    "|left|right|upper|lower|refer|above|below|attached|enclosed|withheld|redacted|deidentified|de-identified)"
)
"""Single words after a name's keyword that name no one (``Patient Name: Unknown``, ``: N/A``, ``: Tissue``, ``:
Slide``, ``: Pending``, a schema's ``: Optional``, a class's ``: Stroma``; ``: Doe``, a placeholder's surname
alone, is masked, a surname as often): a one-word name (:data:`_ONE_NAME`) is none of them,
nor a header's word (:data:`HEADER_WORDS`), a header phrase's (:data:`_HEADER_TAIL`) or a place's."""
_ONE_NAME_NEXT_CELL = rf"[ \u00a0]*+\"?[ \u00a0]*+[,;|\t{_CELL_ENDS}][ \u00a0]*+\"?[ \u00a0]*+"
"""What parts a one-word name's cell from the next (a CSV's, a pipe table's, a tab-separated row's)."""
_ONE_NAME = (
    rf"(?<![가-힣])(?!(?:{_NOT_ONE_NAME}|{_PLACE_WORD}){_WORD_END}|{_LATIN_HEADER}|{_HEADER_TAIL})(?:{_CAPITALISED}|{_CAPITALS})"
    rf"{_WORD_END}(?![0-9_@#/\\-]|\.\w|['\u2019](?!s{_WORD_END})\w|[ \u00a0]++(?i:of|number|no|id|code|label|names?){_WORD_END})"
    rf"(?!{_ONE_NAME_NEXT_CELL}(?:{_LATIN_HEADER}|{_HEADER_TAIL}|{_PLACE_WORD}{_WORD_END}|{_NOT_ONE_NAME}{_WORD_END})"
    rf"(?![ \u00a0]*+[\"']?[ \u00a0]*+[:=\uff1a]|[ \u00a0#]*+\d))"
)
"""A name of one capitalised word (or one in capitals) after a name's keyword, where no second word makes it one of
:func:`_latin_names`' other forms (``Patient Name: Nakamura``, ``Patient Name,O'Brien,45``, ``PATIENT NAME: OKAFOR``:
no finding before session 31): not a placeholder or a record's word (:data:`_NOT_ONE_NAME`), no header's word, a
place's or a header phrase's, not glued to a Korean keyword (``환자 명Kdate``), a digit, ``_``, ``#``, a path's or an
address's character or a dot before more of the word (``Slide01``, ``Case_3``, ``Scan.svs``; ``Nakamura.`` and
``Nakamura's`` are names), not before a header phrase's ``of``, ``number``, ``no``, ``id``, ``code``, ``label`` or
``name`` (``Patient Name: Chart Number``, ``Place of Birth``), and not a header row's cell, another header's cell after it (``Patient
Name|Pathologist|Date``)."""


def _latin_names(more_gaps: str, name_gaps: str = _NAME_GAPS) -> str:
    """The Latin forms of :data:`_NAME`, a name's first two words parted by ``name_gaps`` across cells, its third and
    fourth from the one before by ``more_gaps``; or one word before a sex column's value (:data:`_SEX_WORD`), a
    surname's column (``Patient Name<TAB>Smith<TAB>Female<TAB>45``, ``Patient Name|Smith|Female``: in clear in
    session 29's deid13, ``Patient Name,Smith,Male,45`` masked ``Smith,Male``; now ``Smith`` alone in all three)."""
    return (
        rf"{_CAPITALISED}{_IN_CELL_GAPS}{_INITIAL}(?!{_SEX_WORD_IN_CELL}){_CAPITALISED}"
        rf"(?:{more_gaps}{_INITIAL}{_CAPITALISED}){{0,2}}{_NEXT_CELL_SURNAME[0]}"
        rf"|{_CAPITALISED}{name_gaps}(?!{_LATIN_HEADER}){_CAPITALISED}(?:{more_gaps}{_CAPITALISED}){{0,2}}"
        rf"|{_CAPITALS}{_IN_CELL_GAPS}{_INITIAL}(?!{_SEX_WORD_IN_CELL}){_CAPITALS}(?:{more_gaps}{_INITIAL}{_CAPITALS}){{0,2}}{_NEXT_CELL_SURNAME[1]}"
        rf"|{_CAPITALS}{name_gaps}(?!{_LATIN_HEADER}){_CAPITALS}(?:{more_gaps}{_CAPITALS}){{0,2}}"
        rf"|(?:{_CAPITALISED}|{_CAPITALS})(?={name_gaps}{_SEX_WORD})"
        rf"|{_ONE_NAME}"
    )


_PLACE_COLUMNS = rf"{_PLACE_WORD}{_WORD_END}\"?[ \u00a0]*+(?:[|;\t\"{_CELL_ENDS}]|,(?! ))[^\S\n]*+\"?{_PLACE_WORD}{_WORD_END}"
"""Two places' words in a row, a column's separator between them, a header row's columns (``Patient Name|Ward|Bed``,
``Patient Name<TAB>Ward<TAB>Bed``, ``"Patient Name","Ward","Bed"``: masked as a name before session 30's deid14): no
name starts there; ``Ward`` alone before a given name is a surname, ``Patient Name: Ward, Mary``, and so are two
places' words a space or a comma and a space parts, ``Patient Name: Ward Bay``, ``Ward Block, Mary`` (in clear in
deid14's first round)."""
_KO_LIST_GAP = "[ \t\u00a0\u3000]"
"""A space inside a Korean name list (:data:`_KO_LISTED_NAMES`): a space, a tab, a no-break or an ideographic space."""
_KO_LISTED_AGE = rf"(?:만{_KO_LIST_GAP}?)?\d{{1,3}}{_KO_LIST_GAP}?(?:세|살)(?![가-힣])"
"""An age after a listed name (``45세``, ``45 세``, ``만45세``, ``45살``): it ends the name's item."""
_KO_LISTED_SEX = r"(?:[남여](?![가-힣])|[MFmf](?=/\d))"
"""A sex after a listed name and a space (``김지은 남 45세``, ``김지은 여/45``, ``김지은 M/45``): it ends the name's item."""
_KO_LISTED_AFTER = rf"{_KO_LIST_GAP}++(?:{_KO_LISTED_AGE}|[남여MFmf]{_KO_LIST_GAP}?/?{_KO_LIST_GAP}?(?:{_KO_LISTED_AGE}|\d{{1,3}}(?![\d가-힣])))"
"""An age or a sex and an age between a listed name and the next item's separator (``홍길동, 김지은 45세, 이철수``):
the list goes on after it (``이철수`` was in clear in session 31's deidko7)."""
_KO_LISTED_TITLE = "(?:님|씨)(?:은|는|이|가|을|를|의|와|과|도|께서|에게)?"
"""An honorific after a listed name, a particle after it (``김지은/이철수님``, ``김지은, 이철수님은``): a particle with no
honorific is no list's (``성명: 홍길동, 시그널을``: 691 of ``benchmarks/korean_name_words.py``'s words would be masked)."""
_KO_LISTED_NAMES = (
    rf"(?:(?:{_KO_LISTED_AFTER}(?={_KO_LIST_GAP}{{0,2}}+[,\uff0c\u3001/\uff0f]))?(?<=[가-힣\d])"
    rf"(?:[,\uff0c\u3001]|{_KO_LIST_GAP}{{0,2}}+[/\uff0f]){_KO_LIST_GAP}{{0,2}}+(?=(?:{_KO_DOUBLE_SURNAMES}|[{_KO_SURNAMES}])"
    rf"{_KO_GIVEN_BODY}{_KO_GIVEN_END}(?<!{_KO_ENDING})(?<![님씨])(?:{_KO_LISTED_TITLE}|{_KO_LIST_GAP}씨)?(?![가-힣])"
    rf"(?={_KO_LIST_GAP}*+(?:[,\uff0c\u3001;()[\]\r\n.|/\uff0f]|$|(?<=\t)|(?<=[ \u00a0\u3000])(?:[등외](?![가-힣])|{_KO_LISTED_AGE}|{_KO_LISTED_SEX}))))"
    rf"[가-힣]++(?:{_KO_LIST_GAP}씨(?![가-힣]))?)*+"
)
"""More names a Korean name's comma lists after it (``성명: 홍길동, 김지은``, ``홍길동，김지은``, ``홍길동、김지은``,
``파일명: 홍길동, 김지은``: the names after the first were in clear before session 30): each of :data:`_KO_GLUED`'s
strict shape, a list's item of its own (the text, its line, a comma, ``;``, a bracket, ``.``, ``|``, ``/``, a tab
or a spaced ``등`` or ``외`` ends it: ``홍길동, 김지은 외 2명``; a number after a space does not, ``홍길동, 나이 45``), at most two
spaces after the comma; the list is one run, masked as one token, as a Latin list is (``Patient Name: John Smith,
Jane Doe``). A word of another shape ends the list (``성명: 홍길동, 나이 45``), and so does prose (``성명: 홍길동,
가능한 경우``: 1,271 of ``benchmarks/korean_name_words.py``'s 14,173 words take the strict shape, none is masked
so; alone after the comma, ``성명: 홍길동, 가능한``, those 1,271 are masked with the name, no finding more)."""
_NAME = (
    rf"{_NOT_HEADER}(?!{_NO_NAME_FIRST}|{_PLACE_COLUMNS}|{_EPONYM_TERM})(?:(?:{_AFTER_CELL_SEPARATOR})(?:{_latin_names(_MORE_IN_CELL_GAPS)})"
    rf"|(?<![,;|])(?<![,;|]\s)(?<![,;|]\")(?<![,;|]\s\")(?:{_latin_names(_IN_VALUE_GAPS, _VALUE_NAME_GAPS)})"
    rf"|(?:{_KO_NAME}){_KO_LISTED_NAMES})"
)
"""A person's name as the ``person_name`` pattern takes one after its keyword (``Hong Gildong``,
``HONG^GILDONG``, ``홍길동``), each word however long (``Wolfeschlegelsteinhausenbergerdorff``, 35
letters). A name longer than a window's overlap (a word of 10,000 letters, or thousands of spaces
between its words) is masked whole too: a window that ends where the name may still go on
(:data:`_PENDING_NAME`) is scanned again twice as long, so what :func:`find` flags the masker
masks. A column header's word right after the keyword (:data:`HEADER_WORDS`) starts none."""
_KO_RECORD_WORDS = (
    "정보", "목록", "기록", "조회", "선택", "정렬", "안전", "이동", "이름", "구분", "유형", "명단", "명부",
    "전원", "경과", "동의", "동의서", "고유번호", "사진", "서명", "신원", "신상", "표본", "조직", "시료",
    "기본정보", "임상정보", "유래", "지원", "현황", "전체", "선별", "수술", "치료", "방문", "정정", "변경",
    "나이", "연령", "성별", "여성", "남성", "신장", "성명", "성함",
)  # fmt: skip
"""Words that start with a surname's syllable and follow ``환자`` in a record or in dqm's own Korean
messages (``환자 정보 없음``, which the masker would have masked in a Korean report), and a record's
header words (``환자 나이``, ``환자 성별``, ``환자 여성``, ``환자 신장 170``), and a name's keywords
(``환자 성명: 홍길동``, ``pt 성함 홍길동``: ``person_name`` takes the name): no name."""
_KO_SPACE = "[ \t\u00a0\u3000]"
"""What parts a Korean keyword from its name (a space, a tab, a no-break or an ideographic space)."""
_KO_GAP = 64
"""The most of :data:`_KO_SPACE` a Korean keyword and its name are parted by (a fixed-width export
pads a column with a few dozen): the whole match stays shorter than a masker's window overlap, so
the masker masks each name :func:`find` flags (``환자`` and 5,000 spaces before a name: neither)."""
_KO_NAME_AHEAD = (
    rf"(?=(?:[{_KO_SURNAMES}]|망절)[가-힣]{{1,3}}{_KO_TAIL}(?![가-힣]))"
    rf"(?!(?:{'|'.join(_KO_RECORD_WORDS)}){_KO_TAIL}(?![가-힣]))"
)
"""What a Korean keyword must be followed by: a surname's syllable (:data:`_KO_SURNAMES`) and 1 to
3 more, then maybe a particle (:data:`_KO_TAIL`), one word; no record word (:data:`_KO_RECORD_WORDS`)."""
_KO_OPEN = rf"[(（\[]{_KO_SPACE}{{0,4}}"
"""A bracket that opens before a name (``성명(홍길동)``, ``환자 (홍길동)``, ``성명: [홍길동]``)."""
_KO_KEYWORD = (
    rf"(?:(?:환자|피검자)\s{{0,{_KO_GAP}}}명|성명|성함|이름)"
    rf"(?:(?:{_KO_SPACE}{{0,{_KO_GAP}}}[:=\uff1a]{_KO_SPACE}{{0,{_KO_GAP}}}|[_-]|{_KO_SPACE}{{1,{_KO_GAP}}})(?:{_KO_OPEN})?"
    rf"|{_KO_OPEN})(?:{_KO_NAME_AHEAD}|(?={_KO_SPACED}|{_HANJA}))"
)
"""A Korean keyword the ``person_name`` pattern's own (:data:`_NAME_KEYWORD`) lacks before a Korean
name, one that labels a name: ``환자명``, ``피검자명``, ``성명``, ``성함`` or ``이름`` joined to the
name by a space, a ``:``, a ``=``, a ``_`` or a ``-``, a bracket after them or alone
(``환자명_김철수``, ``피검자명 김철수``, ``성함(홍길동)``, ``성명: (洪吉童)``, ``성함 홍 길동``): an
identifier. ``환자``, ``피검자`` or ``pt`` before a word, with a ``:`` or not (``환자 김철수``,
``환자:김철수``, ``pt_김철수``), labels a word as often as a name (``환자: 정상``, ``PT=연장``,
prothrombin time): :data:`_KO_WORD_KEYWORD`, a quasi-identifier.
The name must start with a surname (:data:`_KO_SURNAMES`) and be one word of 2 to 4 syllables,
a particle or an honorific aside (:data:`_KO_TAIL`). ``benchmarks/korean_name_words.py``
measured it on every Korean word this machine holds: after a keyword it takes 36 % of the
ordinary words of 2 to 4 syllables (5,075 of 14,154), all 54 real names of its list; given-name
syllables alone (87 of a list of common names) took 4 % of the words and missed 22 of 54 names
(``손흥민``, ``이몽룡``). A list of ordinary words to leave out does not carry over: of the
surname-led words of one source (the software catalogues, the manifest's body sites, diagnoses,
places, hospital words) 0 to 6 % are in the others' (``--by-source``). A word with no keyword is
no name, even as a file name's first word (``김철수_H&E.svs``): 49 % of a manifest's 3-syllable
words (``전립선``, ``손바닥``) start with a surname."""
_KO_NO_NAME_STEM = (
    "(?:미상|모름|불명|누락|다름|기재|없음|확인|변경|정정|정확|표시|동일|공란|가명|익명|일치|오류"
    "|이번|삭제|비공개|전산|아래|위와|동명|다른|바뀜|바뀌|틀림|틀린|잘못|수정|추후|해당|생략|별첨|상동|미기재)"
)
"""The stems of :data:`_KO_NO_NAME`'s words: one of them and more Hangul than its endings (``가명화``, ``가명코드``,
``동명이인``, ``변경전``, ``전산오류``, ``위와같음``, ``변경한``, ``정정희``) is a ``possible_name`` after
``환자명은``, never an identifier: a compound noun or a verb's ending there, as often as a name (session 27's last
review: a de-identified batch's ``환자명은 가명화 처리하였습니다.`` failed the gate)."""
_KO_NO_NAME = (
    "(?:외|등|및)(?![가-힣])|"
    + _KO_NO_NAME_STEM
    + "(?:기재|확인)?(?:[됨되된돼함할합했입않못없를에]|[하해히을의와](?=[가-힣]|\\s+[가-힣])|이[다고며었]|이에요|였"
    + "|한(?<!정정한)(?=[가-힣]|\\s+[가-힣])|으로|로|처리|필요|예정|임(?![가-힣])|(?<=이번)[주달](?![가-힣])|(?![가-힣]))"
)
"""Words that say a name is missing, wrong or more than one (``모름``, ``미상``, ``누락``, ``기재``
안됨, ``변경됨``, ``정확하지``, ``공란``, ``가명``, ``이번``), each a stem before an ending no given name
starts with (``됨``, ``하``, ``이다``, ``처리``, ``필요``…) or the word's end (any Hangul after them took
``정정희``, ``변경희``, ``기재훈`` for prose: 24 of 17,136 names; ``한`` not after ``정정``, ``정한``; ``하``, ``한``,
``해``, ``히``, ``을``, ``의``, ``와`` only before more Hangul or a word, as real names start with them: ``변경한``,
``기재하`` alone are each a ``possible_name``, masked; ``임`` at the word's end, ``이번주``, ``이번달``: ``환자명은
공란임``, ``정정임``, ``이번주`` were ``possible_name`` before session 28, a name of that shape, ``정`` and ``정임``, is
missed), ``외``,
``등``, ``및`` whole words; ``기재`` or ``확인`` glued after a stem and ``예정`` among the endings (``추후기재``,
``추후확인``, ``확인예정``): what follows a keyword and a particle (:data:`_KO_PARTICLE_KEYWORD`) then is none, and no
``person_name`` after any keyword either (``성명: 미기재``, ``성명,추후기재``, ``성명, 정정임``: errors before session 28's
deidko4f2; a name of the strict shape stays one, ``성명: 정정희``)."""
_KO_PARTICLE_KEYWORD = (
    rf"(?:환자|피검자)\s{{0,{_KO_GAP}}}명[은이]"
    rf"(?:{_KO_SPACE}{{0,{_KO_GAP}}}[:=\uff1a]{_KO_SPACE}{{0,{_KO_GAP}}}|{_KO_SPACE}{{1,{_KO_GAP}}})(?:{_KO_OPEN})?"
    rf"(?!{_KO_NO_NAME})(?:{_KO_NAME_AHEAD}|(?={_KO_SPACED}|[{_HANJA_SURNAMES}]|{_KO_GLUED_COPULA}))"
)
"""``환자명`` or ``피검자명`` and a particle, then the name as a word of its own (``환자 명은
홍길동``, ``환자명이 김철수``): an identifier where the word has :data:`_KO_GLUED`'s strict name shape
(a surname, two or three more syllables, a given name's last: ``홍길동``, ``김지은``; in Hanja
:data:`_KO_HANJA_NAME`'s), a ``possible_name``
otherwise (``환자명은 김철``, ``환자명은 이번에``: this is the sentence QA notes about a name field write, and a
surname-led word after it was an identifier for 35 % of the ordinary words, ``benchmarks/korean_name_words.py``);
a word that says the name is missing or wrong none (``환자 명은 모름``, ``환자명은 변경됨``, :data:`_KO_NO_NAME`).
A Hanja word only where a surname's ideograph starts it (:data:`_HANJA_SURNAMES`): ``환자명은 病理``, ``乳癌`` (a common
noun: pathology, breast cancer; no Korean name starts with ``病``) were ``possible_name`` before session 28, as
``환자: 病理`` is none (:data:`_KO_WORD_KEYWORD`)."""
_KO_IM_GIVEN = (
    "순정영옥복분말춘금귀덕선숙연경명은화희점길봉상소수애양월인재종진채태향현혜갑판또남삼오칠을예미"
)
"""The syllables a given name puts before ``임`` (``김순임``, ``이정임``, ``박옥임``, ``최말임``): a name's strict shape
ending in ``임`` after ``환자명은`` whose middle syllable is none of them is :data:`_KO_IM_WORD`'s."""
_KO_IM_WORD = (
    rf"(?!(?:{_KO_DOUBLE_SURNAMES})[가-힣]{{1,2}}임(?![가-힣]))"
    rf"(?!(?=[가-힣]{{3}}임(?![가-힣])|(?:{_KO_DOUBLE_SURNAMES})[가-힣]{{2}}임(?![가-힣])){_KO_GLUED_COPULA})[{_KO_SURNAMES}](?:(?![{_KO_IM_GIVEN}])[가-힣]|[가-힣]{{2,3}})임(?![가-힣])"
)
"""A surname-led word ending in ``임`` after ``환자명은`` that reads as a word and the terse copula as often as a name
(``환자명은 가능임``, ``정상임``, ``가능성임``, ``가로방향임``): a ``possible_name`` (masked, a warning), not an identifier.
In session 28 3,703 of ``benchmarks/korean_name_words.py``'s 14,173 words were errors so (26 %). Three syllables
with a middle syllable given names put before ``임`` (:data:`_KO_IM_GIVEN`: ``김순임``) and a double surname's
(``남궁옥임``) stay identifiers; a name of :data:`_KO_GLUED_COPULA`'s strict shape before ``임``, three syllables or
a double surname's four, stays one too (``홍길동임``, ``김지은임``, ``남궁민수임``, as ``환자명은 홍길동입니다`` is;
``가능성임`` too, a false error: session 29's deidko5 made them all warnings, and every generated name with them;
the lead chose the leak over 806 false errors), any other word a warning (``가로방향임``, ``가능임``). After a keyword and ``:``
(``환자명: 가능임``, ``성명:가능임``) the same word is the same warning (:data:`_KO_KEYWORD`)."""
_KO_IM_NAME = rf"(?:{_KO_DOUBLE_SURNAMES}|[{_KO_SURNAMES}])[{_KO_IM_GIVEN}]임(?![가-힣])"
"""A name ending in ``임`` whose middle syllable given names put before it (``김순임``, ``남궁옥임``,
:data:`_KO_IM_GIVEN`): the whole word is the name, no copula (``파일 이름은 김순임`` was none: ``김순`` and ``임``)."""
_KO_NAME_SPACED_COPULA = (
    rf"(?:{_KO_DOUBLE_SURNAMES}|[{_KO_SURNAMES}]){_KO_GIVEN_BODY}(?:{_KO_GIVEN_END}|은|(?<![에해면])서)(?<!{_KO_ENDING})"
    rf"(?<![님씨으])(?<!부터){_KO_SPACE}{{1,4}}{_KO_NAME_COPULA}(?![가-힣])"
)
"""A name of :data:`_KO_GLUED_COPULA`'s strict shape, a space or up to four, then the copula (``홍길동 입니다``: none
before session 29's deidko5f, the space read as the name's end and the copula alone no name)."""
_KO_NAME_BEFORE_COPULA = (
    rf"[은이]{_KO_SPACE}{{1,{_KO_GAP}}}(?!{_KO_NO_NAME}|{_KO_NO_NAME_STEM})"
    rf"(?={_KO_GLUED_COPULA}|{_KO_IM_NAME}|{_KO_NAME_SPACED_COPULA})"
)
_KO_WORD_PARTICLE_KEYWORD = (
    rf"(?:성명|성함|(?:환자|피검자)의?[\s_]{{0,{_KO_GAP}}}이름){_KO_NAME_BEFORE_COPULA}"
)
"""``성명``, ``성함`` or ``환자 이름`` (``피검자`` too, ``의`` and up to 64 spaces or ``_`` between: ``환자의 이름은``,
``피검자 이름은``, ``환자_이름은``, warnings in session 28's deidko4f) and a particle, then a word of :data:`_KO_GLUED`'s strict name shape and the
copula (``성함은 김지은이고``, ``환자 이름은 홍길동입니다``: none before session 28): an identifier. Without the
copula the word is none (``이름이 유효하지``, ``이름은 고유값``; ``환자명은`` names a patient's only,
:data:`_KO_PARTICLE_KEYWORD`); nor is a word that says the name is missing (``이름이 공란임``, :data:`_KO_NO_NAME`).
A bare ``이름`` is :data:`_KO_BARE_NAME_PARTICLE_KEYWORD`'s."""
_KO_BARE_NAME_PARTICLE_KEYWORD = rf"(?<!환자)(?<!환자\s)이름{_KO_NAME_BEFORE_COPULA}"
"""A bare ``이름`` and a particle, then a word of :data:`_KO_GLUED`'s strict name shape and the copula (``이름이
홍길동입니다``): a ``possible_name`` (a warning, masked), since ``이름`` names a file, a column or a folder in prose
as often as a person (``이름은 문자열입니다``, ``이름이 고유번호입니다``: 1,357 of ``benchmarks/korean_name_words.py``'s
14,173 words were identifiers there in session 28's deidko4, 49 of a manifest's 387 words). After a noun that is
no person too (``파일 이름은 홍길동입니다``, ``슬라이드 이름은 …``): a slide or a file named after its patient is a real
leak, and no rule tells ``홍길동`` from ``전립선`` there (both a surname, a syllable, a given name's last); session
28's deidko4f made them none glued or one space after ``파일``/``폴더``/``열``… and a warning after ``파일의`` or two
spaces, so one sentence gave two answers. ``환자 이름`` is :data:`_KO_WORD_PARTICLE_KEYWORD`'s."""
_KO_FILE_WORDS = (
    "(?:파일|슬라이드|이미지|(?<![가-힣])(?:폴더|디렉터리|디렉토리|컬럼|칼럼|필드|시트|태그|변수|항목))"
)
"""The nouns a ``명`` names no person after (``파일명``, ``슬라이드명``, ``폴더명``, ``컬럼명``). ``파일``, ``슬라이드``
and ``이미지`` glued after another word too, as Korean writes a compound (``원본파일명은 홍길동입니다``,
``첨부파일명: 홍길동``, ``이미지파일명은 …``: none in session 29's deidko5f, ``원본 파일명은`` a warning); the others
as words of their own. Not ``열`` (a column, and the number ten): ``환자 중 열 명이 한국인입니다`` ("ten people")
was a warning in deidko5f, 1,359 of ``benchmarks/korean_name_words.py``'s words after ``열 명이``; ``열 이름은``
is :data:`_KO_BARE_NAME_PARTICLE_KEYWORD`'s."""
_KO_FILE_NAME_KEYWORD = (
    rf"{_KO_FILE_WORDS}의?{_KO_SPACE}{{0,{_KO_GAP}}}명(?:{_KO_NAME_BEFORE_COPULA}"
    rf"|{_KO_SPACE}{{0,{_KO_GAP}}}[:=\uff1a]{_KO_SPACE}{{0,{_KO_GAP}}}(?={_KO_GLUED}|{_KO_IM_NAME}))"
)
"""A file's, a slide's or a column's ``명`` (:data:`_KO_FILE_WORDS`), a particle and a name of the strict shape
before the copula (``파일명은 홍길동입니다``, ``슬라이드명은 김지은입니다``, ``파일 명은 …``), or a ``:`` and a
name of the strict shape (``파일명: 홍길동``, ``파일명: 김철수_HE.svs``): a ``possible_name`` (a warning, masked),
as :data:`_KO_BARE_NAME_PARTICLE_KEYWORD` reads ``파일 이름은 …``; all none before session 29's deidko5f."""
_KO_HANJA_NAME = rf"[{_HANJA_SURNAMES}]{_HANJA}{{1,3}}(?!{_HANJA})"
"""A Hanja name's strict shape: a surname's ideograph and one to three more (``洪吉童``, ``諸葛孔明``), as
:data:`_KO_PARTICLE_KEYWORD` takes for an identifier."""
_KO_FONT_WORDS = "(?:윤명조|윤고딕|윤바탕|명조|고딕|굴림|돋움|바탕|궁서|맑은|나눔|함초롬|한컴|휴먼|신명|견명|헤드라인|본고딕|본명조|중고딕|견고딕)"
"""Korean font names' first words (``명조``, ``고딕``, ``굴림``, ``돋움``, ``바탕``; the Yoon fonts ``윤명조``, ``윤고딕``,
``윤바탕``, whose ``윤`` is a surname): after ``12pt`` (a ``:`` or ``=`` between too: ``12pt: 명조``) a font size."""
_KO_PT = rf"(?<![A-Za-z])(?:(?<!\d)(?i:pt)|(?i:pt)(?![_\s-]{{0,{_KO_GAP}}}(?:[:=][_\s-]{{0,{_KO_GAP}}})?{_KO_FONT_WORDS}))"
"""``pt`` as a name's keyword: not inside a Latin word, and after a digit (a font size, points: ``12pt 명조체``,
``10pt 고딕``) not before a font's name; ``12PT: 홍길동``, ``01pt_김철수``, ``slide3pt_홍길동.svs``, ``3pt 홍길동``
stay keywords (session 28's deidko4 took none after a digit, and left those names in clear)."""
_KO_NAME_SUFFIX = rf"(?:이름|성명|성함|(?:환자|피검자|{_KO_PT})(?:[_-]|\s{{0,{_KO_GAP}}})명)"
"""A Korean name's keyword a name may be glued to (``이름홍길동``, ``환자명홍길동``, ``환자_명홍길동``,
``pt 명김지은``, ``피검자명김철``): ``명`` after ``환자``, ``피검자`` or ``pt`` however joined: a ``_``,
a ``-`` or up to 64 of any space, a line break too (``환자\n명김정은``), as :data:`_NAME_WORDS` and
:data:`_KO_KEYWORD` join ``환자`` and ``명``."""
_KO_HONORIFIC_PARTICLE = (
    "(?:님|씨|환자)(?:에게서|에게|께서|께|한테서|한테|에서|에|은|는|이|가|을|를|의|와|과|도|만|으로|로)?"
)
_KO_SYLLABLE_PARTICLE = (
    rf"[가-힣](?:(?:{_KO_HONORIFIC_PARTICLE}|(?<=[{_KO_NO_FINAL}])[는가를와]|(?<![{_KO_NO_FINAL}])[은이을과]"
    "|으로|로|에게서|에게|께서|께|한테서|한테|에서|에|의)(?:는|은|의|도|만|부터)?)?(?![가-힣])"
)
"""One syllable and a case particle that fits it (``표를``, ``서를``, ``김에게``: ``는``, ``가``,
``를``, ``와`` after no final consonant, ``은``, ``이``, ``을``, ``과`` after one), a word and its
particle, no name: not ``이은`` (``은`` after no final consonant is a given name's) nor ``김도``
(``도``, ``만`` end a given name as often)."""
_KO_GLUED_WORD = (
    rf"{_KO_GLUED_RUN}(?=(?:{_KO_DOUBLE_SURNAMES}|[{_KO_SURNAMES}])[가-힣]{{1,3}}{_KO_TAIL}(?![가-힣]))"
    rf"(?!{_KO_GLUED}|(?:성명|성함|이름){_KO_TAIL}(?![가-힣])|{_KO_SYLLABLE_PARTICLE}|(?:{_KO_COPULA})(?![가-힣]))"
    rf"(?:(?:[가-힣]{{3}}{_KO_FIT}|[가-힣]{{2}}|[가-힣]{{4}})"
    rf"(?<![님씨])(?={_KO_TAIL}(?![가-힣]))|[가-힣]{{2,12}}(?![가-힣]))"
)
"""A surname-led word of 2 to 4 syllables, a particle aside, glued to a name's keyword
(:data:`_KO_NAME_SUFFIX`) that :data:`_KO_GLUED`'s strict shape does not take: a name as often as a
word (``이름김정은``, ``이름김철에게``, ``이름변경``, ``성명기재``), so the ``possible_name`` pattern
takes it (a warning; no name is shown in clear), as :data:`_KO_NAME` reads a name: three syllables
unless the third is a particle that fits the second (``이름김철을``: ``김철`` and ``을``), two, four,
so a name is one token with its particle and without (``이름김철``, ``이름김철에게``: ``김철``, the
particle shown after it); a longer word whole. A syllable and a case particle that fits it is none
(``이름표를``, ``성명서를``: ``표`` and ``를``, :data:`_KO_SYLLABLE_PARTICLE`; ``이름이은``,
``이름김도`` are names), nor the copula's endings (:data:`_KO_COPULA`:
``이름이나``, ``이름이라고``, ``성함은요``)."""
_KO_SHORT_AFTER_COMMA = (
    rf"(?:성명|성함|(?:환자|피검자)\s{{0,{_KO_GAP}}}명){_KO_SPACE}?,{_KO_SPACE}{{0,{_KO_GAP}}}"
    rf"(?=[{_KO_SURNAMES}][가-힣](?![가-힣]))(?!(?:{'|'.join(_KO_RECORD_WORDS_SHORT)})(?![가-힣])|{_KO_NO_NAME})"
)
"""A person's keyword, its comma and a surname and one syllable, one word (``성명,김철``, ``환자명, 이준``: none before
session 28): the ``possible_name`` pattern, as a two-syllable word glued to a keyword is (``이름김철``,
:data:`_KO_GLUED_WORD`); a record's or a header's word none (``성명,나이``, ``성명, 성별``), nor a word that says
the name is missing (``성명,모름``, ``성명,공란``, ``성명,추후``: :data:`_KO_NO_NAME`). Not after a bare ``이름``
(``이름,모델``, ``이름,고객``: 994 of the bench's 3,141 two-syllable words were warnings after ``이름,`` or
``성명,`` in session 28's deidko4; ``이름`` names a file or a column as often)."""
_KO_WORD_KEYWORD = (
    rf"(?:환자|피검자|{_KO_PT})"
    rf"(?:{_KO_SPACE}{{0,{_KO_GAP}}}[:=\uff1a]{_KO_SPACE}{{0,{_KO_GAP}}}(?:{_KO_OPEN})?"
    rf"|(?:(?:[_-]|{_KO_SPACE}{{1,{_KO_GAP}}})(?:{_KO_OPEN})?|{_KO_OPEN})(?!명(?:{_KO_PARTICLE}(?![가-힣])|{_KO_GLUED}|{_KO_GLUED_WORD})))"
    + f"(?:{_KO_NAME_AHEAD}|(?=[{_HANJA_SURNAMES}]{_HANJA}))"
)
"""``환자``, ``피검자`` or ``pt`` joined to a surname-led word by a space, a ``_``, a ``-``, a
``:`` or a ``=`` (``환자 김철수``, ``pt_김철수``, ``환자: 김철수``, and as often ``환자 여성``,
``환자 조직검사``, ``pt_전립선.svs``, ``환자: 정상``, ``피검자: 성인``, ``PT: 정상``, ``PT=연장``):
the ``possible_name`` pattern, a quasi-identifier (a warning; masked wherever dqm shows it); a
bracket after them too (``환자 (홍길동)``). A word starting ``명`` after a space, ``_`` or ``-`` is
one (``환자 명희``, which a rule that took every ``명`` there for ``환자명``'s missed), but ``명``
alone or with a particle (``환자 명은 홍길동``, ``환자 명의 검체``: ``환자명``'s) and ``명`` before a
name ``person_name`` reads after ``환자 명`` (``환자 명홍길동``, :data:`_KO_GLUED`). A Hanja word
led by a surname's ideograph too (``환자: 洪吉童``, :data:`_HANJA_SURNAMES`, :data:`_KO_NAME`; ``환자: 病理`` none;
``환자: 高血壓`` one, as ``환자 고혈압``). A counter
(``환자 3명``) is none: a digit is no keyword's gap. ``pt`` after a digit is a unit, points (``12pt 명조체``, a font's
size and name, was a ``possible_name`` before session 28; ``pt 명조체`` still is one), as the Latin ``\bpt`` reads."""
_PENDING_NAME = re.compile(
    "[pP성환이](?<=(?="  # run after a keyword's first character, as :func:`_skipping` runs a pattern
    + _NAME_KEYWORD
    + rf"(?:[{_UPPER}][{_LATIN_LETTER}'\u2019\u2010-\u2015-]*+(?:{_NAME_GAPS}[{_UPPER}][{_LATIN_LETTER}'\u2019\u2010-\u2015-]*+){{0,4}}{_NAME_GAPS_AT_END}|[{_UPPER}][{_UPPER}{_MARKS}'\u2019\u2010-\u2015-]*+(?:{_NAME_GAPS}[{_UPPER}][{_UPPER}{_MARKS}'\u2019\u2010-\u2015-]*+){{0,4}}"
    rf"{_NAME_GAPS_AT_END}|[가-힣]{{1,8}}+(?:(?:[ \t\u00a0\u3000]{{1,8}}+(?:[가-힣\dMFmf]{{1,4}}+(?:/(?=\d))?[ \t\u00a0\u3000]{{0,8}}+){{0,4}}+)?[,\uff0c\u3001/\uff0f][ \t\u00a0\u3000]{{0,8}}+[가-힣]{{0,8}}+)*+(?:[ \t\u00a0\u3000]{{1,8}}+(?:[가-힣\dMFmf]{{1,4}}+(?:/(?=\d))?[ \t\u00a0\u3000]{{0,8}}+){{0,4}}+)?|(?:{_KO_DOUBLE_SURNAMES}|[{_KO_SURNAMES}]){_KO_DOT}(?:[가-힣]|{_KO_DOT}){{0,3}}"
    rf"|{_HANJA}(?:{_HANJA}|{_KO_DOT}){{0,16}})?\Z)[\s\S])"
)
"""The ``person_name`` pattern's start up to the end of a text: its keyword and what may be the
first letters of a name, a name that may go on past the text's end (a masker's window, a cut's
head): Latin words, Hangul syllables, a surname and the space or dot after it (``홍 길``,
:data:`_KO_SPACED`) or Hanja (``洪吉``); possessive, so one try is linear in what it reads."""


_DOB = (
    r"(?:\d{4}[-/. ]\d{1,2}[-/. ]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|\d{6}(?:\s?[-–]\s?\d{7})?)"
    r"\d*(?:[-–]\d+)*"
)
"""A date of birth after its keyword: a date (``1990-01-01``, ``1990 01 01``, ``1/2/90``), or six
digits or more (``19900101``, ``900101``) with a resident number's back part after six
(``900101-1234567``, valid or not), and every digit glued after it, dashes between them too: masked,
none of the number is shown (``dob9001011234567``, ``DOB:1990010219900102``,
``dob 900101-1234567900101-1234567``)."""


_NOT_BIRTH = "발재회학평위야파갱양섭환희"
"""The syllables before ``생`` in the Korean words ``생일`` ends and that name no birth (a
dictionary's nouns in ``-생``: 발생 onset, 재생, 회생, 학생, 평생, 위생, 야생, 파생, 갱생, 양생,
섭생, 환생, 희생), wherever the word starts (``증상발생일``, ``대학생일``, ``일평생일``)."""
_NOT_BIRTH_WORD = "인상공기중후민소전선미장영고자"
"""Those that make such a word (인생, 상생, 공생, 기생, 중생, 후생, 민생, 소생, 전생, 선생,
미생, 장생, 영생, 고생, 자생) only as its first syllable: after another they end a word
whose birthday it is (``본인생일``, ``아기생일``, ``환자생일``, ``대상자생일``)."""
_SURNAME_FIRST = "장민고전양"
"""Those that are also a surname (장 Jang, 민 Min, 고 Ko, 전 Jeon, 양 Yang): at a word's start,
one is the person whose birthday it is (``장생일: 1990-01-01``), never the word it would begin
(양생 after another syllable only: ``요양생일``)."""
_BIRTHDAY = (
    rf"(?<![{_NOT_BIRTH.translate({ord(c): None for c in _SURNAME_FIRST})}])"
    rf"(?<!(?<=[가-힣])[{''.join(c for c in _NOT_BIRTH if c in _SURNAME_FIRST)}])"
    rf"(?<!(?<![가-힣])[{_NOT_BIRTH_WORD.translate({ord(c): None for c in _SURNAME_FIRST})}])생일(?:자)?"
)
"""``생일`` (a birthday), ``출생일``, ``탄생일``, ``출생일자``, glued to any word before it but one
of those above: Korean writes whose birthday it is glued (``환자생일``, ``본인생일``,
``환자의생일``, ``피검자생일``, ``아기출생일``)."""

_DASHES = "\\-\u2010-\u2015\u2212\ufe63\uff0d"
"""The body of a character class of what parts an RRN's or a phone number's digit groups: ``-`` and
the dashes that look like it, as a word processor, a spreadsheet or a hospital system's export
writes them (Unicode's hyphen, non-breaking hyphen, figure dash, en dash, em dash, horizontal bar,
the minus sign U+2212, the small and the full-width hyphen-minus of a Korean IME)."""
_DASH = re.compile(f"[{_DASHES}]")
_PERCENT_DASH = "%(?:25)?2[dD]"
"""A URL's percent escape of ``-``, escaped once or twice (``%2D``, ``%252D``, whose ``%`` is escaped again)."""
_PERCENT_SPACE = "%(?:25)?20"
"""A URL's percent escape of a space, escaped once or twice (``%20``, ``%2520``)."""
_DASH_OR_ESCAPE = rf"(?:[{_DASHES}]|{_PERCENT_DASH})"
"""What parts a social security or a phone number's digit groups: a dash or a look-alike, or a URL's
escape of ``-`` (``123%2D45%2D6789``: left in clear before session 28)."""
_SPACED_DASH_OR_ESCAPE = (
    rf"(?:{_DASH_OR_ESCAPE}| [{_DASHES}] |{_PERCENT_SPACE}{_DASH_OR_ESCAPE}{_PERCENT_SPACE})"
)
"""What parts a social security or a phone number's digit groups: :data:`_DASH_OR_ESCAPE`, or a dash with one
space on each side, written or escaped (``123 - 45 - 6789``, ``010%20-%201234%20-%205678``: left in clear before
session 29)."""
_RRN_GAP = rf"(?:\s?[{_DASHES}]\s?|(?:{_PERCENT_SPACE})?{_DASH_OR_ESCAPE}(?:{_PERCENT_SPACE})?)"
"""Between an RRN's two groups: a dash with a space or a tab around it or none, or a URL's percent
escape of one (``900101%2D1234567``, ``%20`` spaces around it or none: left in clear before session
27f; masked whole, and :func:`valid_rrn` reads the escapes as what they stand for), a dash between
escaped spaces (``900101%20-%201234567``) and the escapes escaped again (``900101%252D1234567``: both
left in clear before session 28)."""
_RRN_SPACED = r"(?:\t{1,2}| {2,4}|(?=\d{7}(?!\d)))"
"""Between an RRN's two groups after its keyword (:data:`_RRN_KEYWORD`) only, as well as
:data:`_RRN_GAP`: a tab or two (a spreadsheet that holds the groups in two columns, copied out), or
two to four spaces (a text laid out in columns), or nothing where the back part's seven digits end the number
(``주민번호: 9001011234567``, ``RRN 9001011234567``: in clear before session 31's deidko7). Without the keyword a date column and a 7-digit
accession column read so (``slide<TAB>210315<TAB>2345678``, ``scan date 210315  1234567``: the
birth date :func:`valid_rrn` checks lets any YYMMDD date through); a single space is none anywhere
(two numbers in prose or a table's row)."""
_RRN_KEYWORD = (
    r"(?i:(?<![A-Za-z])rrn(?![A-Za-z])|주민(?:등록)?(?:번호)?)"
    r"(?:\s{0,8}+[(（][^()（）\n]{0,24}+[)）])?(?:[은는이가의])?" + f"(?i:{_kw_tail(':=#：,，、', '8')})"
)
"""What names a resident number: ``RRN`` (any case, as a word), ``주민``, ``주민번호``, ``주민등록번호``,
a word in brackets after it (``RRN(주민번호)``), a particle (``주민번호는``), then :func:`_kw`'s
``no``/``number``/``#`` and ``:`` (a full-width ``：`` too): ``RRN No. 900101<TAB>1234567``,
``주민등록번호：900101<TAB>1234567``. Each run of spaces at most 8 long, so the whole stays far
shorter than a masker's window overlap."""

DIGIT_ZEROS = tuple(
    sorted({c - unicodedata.decimal(chr(c)) for c in range(0, sys.maxunicode + 1, 8) if chr(c).isdecimal()})
)
"""The zero of each run of ten decimal digits in Unicode (its Nd, what ``re``'s ``\\d`` matches:
mathematical bold ``𝟎``, Adlam, Osmanya... outside the Basic Multilingual Plane too, left in clear
in an RRN or phone number before session 27f). Each run is ten code points in a row, so one in
eight of them holds one of its digits: 11 ms at import, where every code point took 90
(tests/deid/test_deid11_session27.py holds them to ``unicodedata`` over all of Unicode)."""
_DIGITS_VALUED = {value: "".join(chr(zero + value) for zero in DIGIT_ZEROS) for value in range(10)}
"""Per value, every decimal digit of Unicode that has it (what ``\\d`` matches:
ASCII's, full-width ``１``, Arabic-Indic ``١``, Persian ``۱``, Devanagari ``१``...): a number typed in
another script's digits is the same number (``RRN ٩٠٠١٠١-١٢٣٤٥٦٧``, ``Tel ٠١٠-١٢٣٤-٥٦٧٨`` were
left in clear where ``\\d`` took their other digits, session 27)."""
_ZERO_DIGITS = _DIGITS_VALUED[0]
_ASCII_DIGITS = {zero + value: ord("0") + value for zero in DIGIT_ZEROS for value in range(10)}
"""Each decimal digit to ASCII's of its value: a number is one token in whatever script's digits it
is written (``RRN ٩٠٠١٠١-١٢٣٤٥٦٧`` and ``RRN 900101-1234567``, :meth:`Masker.token`)."""
_GENDER_DIGITS = "".join(_DIGITS_VALUED[v] for v in range(1, 9))


def _digits(*values: int) -> str:
    """Every decimal digit of Unicode whose value is one of ``values``, for a character class."""
    return "".join(_DIGITS_VALUED[value] for value in values)


_PHONE_PREFIX = (
    f"[{_digits(0)}](?:[{_digits(2)}]|[{_digits(1)}][{_digits(0, 1, 6, 7, 8, 9)}]"
    f"|[{_digits(3, 4, 5, 6)}][{_digits(1, 2, 3, 4, 5)}]|[{_digits(7, 8)}][{_digits(0)}])(?!\\d)"
)
"""A Korean phone number's first group where a spaced dash follows it (:data:`_SPACED_DASH_OR_ESCAPE`): Seoul's
``02``, a mobile's ``010``–``019``, a region's ``031``–``064``, ``070``, ``080``. Any other zero-led group before
`` - `` is a range or a table's numbers (``range 020 - 100 - 2000 mm`` was a phone number in session 29's deid13);
glued to its dash any zero-led group of two or three digits is read, as before. In any script's digits
(:data:`_DIGITS_VALUED`: ``Tel ٠١٠ - ١٢٣٤ - ٥٦٧٨`` was in clear in session 29's deid13f)."""
_US_AREA = rf"(?![{_digits(0, 1)}])\d\d\d"
_US_PHONE = (
    rf"(?:(?<![\w+])\+[1１][ \u00a0.{_DASHES}]?+)?\({_US_AREA}\)[ \u00a0]?+\d{{3}}(?:{_SPACED_DASH_OR_ESCAPE}|[ .\u00a0])"
    rf"|(?<![\w+])\+[1１][ \u00a0.{_DASHES}]?+{_US_AREA}"
    rf"(?:[ \u00a0]\d{{3}}[ \u00a0]|\.\d{{3}}\.|{_DASH_OR_ESCAPE}\d{{3}}{_DASH_OR_ESCAPE})"
    rf"|(?=\d\d\d[{_DASHES}%])(?<!(?i:isbn)[ :])(?<!(?i:isbn))(?<!(?i:isbn): )(?<!(?i:isbn)-1[03][ :])(?<!(?i:isbn)-1[03]: ){_US_AREA}{_DASH_OR_ESCAPE}\d{{3}}{_DASH_OR_ESCAPE}"
)
"""A US (NANP) phone number's first groups, before its last four digits: an area code in brackets, ``(555) 234-5678``,
``(555) 123 - 4567``, ``+1 (555) 123 4567``; ``+1`` and the area code, the groups parted alike by a space, a dot or a
dash, ``+1 555 123 4567``, ``+1-555-123-4567``; or, bare, an area code a real one's (2–9 first) and any exchange glued
to their dashes, ``555-234-5678``, ``555-123-4567``: the exchange as the bracketed form reads it (no real exchange
starts with 0 or 1, but a delivery's made-up and mistyped numbers do, and each is a phone number's shape; none before
session 31), but not after ``ISBN`` (``ISBN 978-555-2341``, ``ISBN-10: 978-555-2341``, a book's number: masked before session 31);
the look-behinds for ``ISBN`` run only where three digits and a dash or an escape's ``%`` follow (run at every digit,
they cost the mixed bench's ``phone_number`` twice its time: ``benchmarks/bench_deid_mixed.py``, session 31's deid15f).
``(200) 300-4000`` is one (an area code may start with 2; an unassigned one is a phone number's shape as well);
``123-456-7890`` (an area code starting with 1), ``range 200 - 300 - 4000`` (a spaced dash) and ``555 234 5678``
(spaces: a table's numbers) are none. In any script's digits, as the Korean forms (none before session 30)."""


_NO_DIGIT_BEFORE = r"(?!(?<=\d)(?<!%[0-9A-Fa-f]\d))"
"""No digit before, but a percent escape's (``%20``, a URL's space: ``Kim%20900101-1234567.svs``,
``ssn%3D123-45-6789``, left in clear before session 27, its ``20`` and the number read as one
longer number): where a number may stand in a URL or a percent-encoded name. One assertion, no
branch of assertions: the tests work a pattern's first characters out of its parse."""


DEFAULT_PATTERNS: dict[str, DeidPattern] = {
    "korean_rrn": DeidPattern(
        # Not inside a longer number or a decimal, but found next to letters, ``_``, ``-`` and an
        # extension: ``S900101-1234567``, ``900101-1234567.svs``, ``id_900101-1234567_HE``; its
        # groups parted as :data:`_RRN_GAP` says, its digits full-width too (``９００１０１－１２３４５６７``);
        # only an ASCII ``-`` or ``.`` glues a longer number to it (``2021_12_31–900101-1234567`` is one).
        regex=_built_in_regex(
            rf"(?:{_RRN_KEYWORD}(?=\d{{6}}{_RRN_SPACED})|{_NO_DIGIT_BEFORE}(?<!\d[.-])(?=\d{{6}}{_RRN_GAP}))"
            rf"(?P<id>\d{{6}}(?:{_RRN_GAP}|{_RRN_SPACED})[{_GENDER_DIGITS}]\d{{6}})(?!\d)(?![.-]\d)",
            starts=r"\drR주",
        ),
        what=N_("Korean resident registration number"),
        validate_as="rrn",
    ),
    "us_ssn": DeidPattern(
        # Not inside a longer number, but found after a letter and ``-`` (``item-123-45-6789``).
        regex=_built_in_regex(
            rf"{_NO_DIGIT_BEFORE}(?<!\d-)(?!000|666|9\d\d)\d{{3}}{_SPACED_DASH_OR_ESCAPE}(?!00)\d{{2}}{_SPACED_DASH_OR_ESCAPE}(?!0000)\d{{4}}"
            r"(?!\d)(?!-\d)",
            starts=r"\d",
        ),
        what=N_("US social security number"),
    ),
    "date_of_birth": DeidPattern(
        # A keyword glued to its date is one too (``dob19900101``, ``birth1990.01.01``,
        # ``생년월일19900101``, ``DOB_1990-01-01``, ``dob/19900101``): ``dob`` beside no other Latin
        # letter (``adobe``) but ``patient`` (``patientdob``) or a word it starts in camel case
        # (``patientDob19900101``). ``birth`` alone is a keyword only as a word or a camel-case
        # one (``rebirth2019``, ``firstbirth`` are none) glued to its date or before ``:``, ``=``,
        # ``_``...: in prose a birth is a scanner's or a company's as often as a person's (``birth
        # 2019-01-01 of a new scanner``). ``생일`` after any syllable but :data:`_NOT_BIRTH`'s.
        regex=_built_in_regex(
            _kw(
                r"(?<![A-Za-z])(?:patient|pt)?dob(?![A-Za-z])|(?<=[a-z])(?-i:D[oO][bB])(?![a-z])|\bd\.o\.b\.?"
                r"|birth\s*date|date\s*of\s*birth|birthday|born(?:\s+on)?|생년월일"
                rf"|{_BIRTHDAY}"
                r"|(?:(?<![A-Za-z])b|(?<=[a-z])(?-i:B))irth(?=[\d_./:=#-]|\s*[:=#])"
            )
            + rf"(?:[_./–-]{{1,3}}\s*)?(?P<id>{_DOB})",
            starts="dDbBpP생",
        ),
        what=N_("date of birth"),
    ),
    "hospital_record_number": DeidPattern(
        regex=_built_in_regex(
            _kw(
                r"(?<![A-Za-z0-9])[MH]RN(?![A-Za-z])_?|medical\s*record|hospital\s*(?:no|number|id)|chart\s*(?:no|number)"
                r"|record\s*(?:no|number)|병록\s*번호|(?<!주민)등록\s*번호|환자\s*번호"
            )
            + r"(?P<id>[A-Za-z]{0,3}\d{5,12})(?!(?!_)\w)",
            starts="mMhHcCrR병등환",
        ),
        what=N_("hospital record number"),
    ),
    "person_name": DeidPattern(
        regex=_built_in_regex(
            rf"(?:(?:{_NAME_KEYWORD_BEFORE_NAME}|{_KO_KEYWORD}|{_KO_PARTICLE_KEYWORD}(?!{_KO_NO_NAME_STEM})(?={_KO_GLUED}|{_KO_GLUED_COPULA}|{_KO_HANJA_NAME}))(?!{_KO_IM_WORD})"
            rf"|{_KO_WORD_PARTICLE_KEYWORD}|{_KO_NAME_SUFFIX}{_KO_GLUED_RUN}(?={_KO_GLUED}|{_KO_GLUED_COPULA_AFTER_KEYWORD}))"
            rf"(?!{_KO_NO_NAME})(?P<id>{_NAME})",
            starts="pP성환이피",
        ),
        what=N_("person name"),
    ),
    "possible_name": DeidPattern(
        regex=_built_in_regex(
            rf"(?:{_KO_WORD_KEYWORD}|{_KO_SHORT_AFTER_COMMA}|{_KO_BARE_NAME_PARTICLE_KEYWORD}|{_KO_FILE_NAME_KEYWORD}|(?:{_NAME_KEYWORD_BEFORE_NAME}|{_KO_KEYWORD})(?!{_KO_NO_NAME})(?={_KO_IM_WORD})|{_KO_PARTICLE_KEYWORD}(?:(?!{_KO_GLUED}|{_KO_GLUED_COPULA}|{_KO_HANJA_NAME})|(?={_KO_NO_NAME_STEM}|{_KO_IM_WORD}))|{_KO_NAME_SUFFIX}(?={_KO_GLUED_WORD}))"
            rf"(?P<id>(?<=[명름함]){_KO_GLUED_WORD}|{_NAME})",
            starts="환피pP성이파슬폴디컬칼필시태변항",
        ),
        what=N_("possible person name (a Korean word after 환자 or pt)"),
        level="quasi",
    ),
    "phone_number": DeidPattern(
        # As for the RRN: next to letters, ``_``, ``-`` and an extension, not inside a longer number.
        # Its groups parted by a dash or a look-alike (``010−1234−5678``), its digits full-width too;
        # not by spaces or tabs: a table's zero-padded columns (``07<TAB>512<TAB>2048``) would read
        # as one.
        regex=_built_in_regex(
            rf"{_NO_DIGIT_BEFORE}(?<!\d-)(?:(?:[{_ZERO_DIGITS}]\d{{1,2}}{_DASH_OR_ESCAPE}|{_PHONE_PREFIX}{_SPACED_DASH_OR_ESCAPE})"
            rf"\d{{3,4}}{_SPACED_DASH_OR_ESCAPE}|{_US_PHONE})\d{{4}}(?!\d)(?!-\d)",
            # ``\d``, not the digits a number starts with: a class that lists characters past U+FFFF is
            # read one by one at each character of the text (``_ZERO_DIGITS``, 66 zeros, cost as
            # much as the whole pattern on the mixed bench: benchmarks/bench_deid_mixed.py).
            starts=r"\d(+",
        ),
        what=N_("phone number"),
        level="quasi",
    ),
    "email": DeidPattern(
        # Starts only where a run of address characters starts, and every part is bounded (RFC
        # 5321 lengths): linear in the text, where ``[\w.+-]+@`` is quadratic on a long word.
        regex=_built_in_regex(r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}\.[\w.-]{0,190}[A-Za-z]", needs="@"),
        what=N_("e-mail address"),
        level="quasi",
    ),
    "date_in_filename": DeidPattern(
        regex=_built_in_regex(
            r"(?<!\d)(?:19|20)\d{2}[-_.]?(?:0[1-9]|1[0-2])[-_.]?(?:0[1-9]|[12]\d|3[01])(?!\d)", starts="12"
        ),
        what=N_("date (a birth, procedure or scan date)"),
        level="quasi",
        places=("filename",),
    ),
}

DEFAULT_IDENTIFIER_KEYS = _built_in_regex(
    r"(?i)(patient.?name|patient.?birth|birth.?date|date.?of.?birth"
    r"|(?:(?:^|[^A-Za-z])(?:dob|rrn|ssn)|(?-i:Dob|Rrn|Ssn|[a-z](?:DOB|RRN|SSN))|patient.?id)(?:$|[^A-Za-z]|(?-i:[A-Z]))"
    r"|accession|resident.?(registration|number)|social.?security|주민|성명|성함"
    r"|환자.?명|생년월일|(?:^|[./])patient$)"
)
"""``patient`` alone too: an Aperio description's ``Patient`` field (``aperio.Patient``), a vendor's
or an export's ``patient`` holding the name. A short word (``patient_id``, ``dob``) starts at the
key's start, after a character not a Latin letter or capitalised (``patientDob``), and ends at the
key's end, before such a character (``_``, a digit, Hangul) or a capital: a key that starts with it
and holds more (``patient_id_HongGildong``, ``patient_id2``, ``patientIdHongGildong``, ``dobKim``,
``patient_id김민수``) names a person as ``patient_id-Hong`` does, and ``patient_identity`` or
``adobe`` none (``PATIENT_IDENTITY``, all capitals, does). No ``\b``: Python's takes Hangul for a
letter, RE2's does not, and ``_`` for a letter in both. RE2 runs it too (no look-around): a profile
may copy it and add its own words. A key naming a kind of identifier (``patient_id_type``,
``dob_format``) is not one (:func:`names_a_kind`) where its value describes a kind
(:func:`key_says`, :func:`looks_identifying`). Keys are matched NFKC-folded (:func:`fold_key`), an
XML path's step as the key it names (``patient[1]``, ``@patient``: :mod:`validators.deid`)."""
DEFAULT_QUASI_KEYS = _built_in_regex(
    r"(?i)^(aperio\.(filename|date|time|user|scanscope id)"
    r"|tiff\.(page\d+\.)?(datetime|artist|hostcomputer)|exif\.(datetime\w*|artist|hostcomputer|\w*serialnumber)"
    r"|dicom\.(\w*date|\w*datetime|\w*time|institution\w*|\w*physician\w*|operator\w*|"
    r"deviceserialnumber|studyid)"
    r"|hamamatsu\.(created|updated|reference)|leica\.(creationdate|user\w*|barcode)"
    r"|philips\.(dicom_(\w*date\w*|\w*time\w*)|pim_dp_ufs_barcode)|aperio\.barcode|ventana\.barcode\w*)$"
)
"""The scan's date, time, operator and machine, and the glass slide's barcode (Aperio ``Barcode``,
Leica ``barcode``, Philips ``PIM_DP_UFS_BARCODE``, Ventana ``Barcode1D``/``Barcode2D``, Hamamatsu's
``Reference``): a barcode often encodes the case's accession number."""
DEFAULT_BLANK = (
    "",
    "^^^^",
    "anonymous",
    "anon",
    "n/a",
    "na",
    "none",
    "null",
    "unknown",
    "removed",
    "redacted",
)


class DeidSettings(BaseModel):
    """The profile's ``deid`` section."""

    model_config = ConfigDict(frozen=True, extra="forbid", ignored_types=(cached_property,))

    enabled: bool = True
    patterns: dict[str, DeidPattern] = Field(default_factory=lambda: dict(DEFAULT_PATTERNS))
    """Merged with the built-in patterns by name: a profile adds or overrides, never loses one silently."""
    identifier_keys: str = DEFAULT_IDENTIFIER_KEYS
    """Property keys / undeclared table columns whose non-blank value names a person."""
    quasi_identifier_keys: str = DEFAULT_QUASI_KEYS
    """Slide property keys (``vendor.Key``; DICOM sequence indices ignored) that may identify."""
    record_number_values: str = _built_in_regex(r"^\s*\d{6,12}\s*$")
    """A value of an identifying clinical field (patient_id) that looks like a hospital record number."""
    blank_values: tuple[str, ...] = DEFAULT_BLANK
    """Values that mean "removed" (case-insensitive; DICOM's empty person name ``^^^^`` included)."""

    @model_validator(mode="before")
    @classmethod
    def _merge_defaults(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("patterns"), dict):
            merged: dict[str, Any] = {k: v.model_dump() for k, v in DEFAULT_PATTERNS.items()}
            for name, given in data["patterns"].items():
                if isinstance(given, dict) and name in merged:
                    merged[name] = {**merged[name], **given}
                else:
                    merged[name] = given
            data = {**data, "patterns": merged}
        return data

    @field_validator("identifier_keys", "quasi_identifier_keys", "record_number_values")
    @classmethod
    def _compiles(cls, v: str) -> str:
        return _runnable(v)

    @cached_property
    def compiled(self) -> CompiledDeid:
        return CompiledDeid(
            patterns=tuple(
                (name, _compiled(p.regex), p) for name, p in self.patterns.items() if p.enabled and p.regex
            ),
            identifier_keys=_compiled(self.identifier_keys),
            quasi_keys=_compiled(self.quasi_identifier_keys),
            record_number=_compiled(self.record_number_values),
            blank=frozenset(b.casefold() for b in self.blank_values),
            any_of=_Gates(
                {
                    place: [
                        p.regex
                        for p in self.patterns.values()
                        if p.enabled and p.regex in _STARTS and place in p.places
                    ]
                    for place in PLACES
                }
            ),
        )


_GLOBAL_FLAGS = re.compile(r"^\(\?([aiLmsux]+)\)")


def _alternation(sources: list[str]) -> str:
    """One regex source that matches where any of ``sources`` matches (none: nothing): a pre-filter, so a
    value with no identifier costs one search instead of one per pattern. Only dqm's own patterns
    are combined (on ``re``; none has a back-reference): a profile's, there, would backtrack as it
    would alone. Not compiled here: :func:`_gate` compiles what it joins once (compiling each part
    too cost a fresh process about a third of its first :func:`find`)."""
    parts = []
    for src in sources:
        m = _GLOBAL_FLAGS.match(src)
        body = src[m.end() :] if m else src
        body = re.sub(r"\(\?P<[A-Za-z_][A-Za-z0-9_]*>", "(?:", body)
        parts.append(f"(?{m.group(1)}:{body})" if m else f"(?:{body})")
    return "|".join(parts) if parts else "(?!)"


class _Gates(dict[str, "re.Pattern[str] | None"]):
    """Per place, :func:`_gate` of its patterns, compiled when :func:`find` first reads that place:
    each gate joins every built-in pattern (tens of thousands of characters, hundreds of Hangul
    classes ``re`` builds a 64k-entry map for), so a process that reads one place compiles one."""

    __slots__ = ("_sources",)

    def __init__(self, sources: dict[str, list[str]]) -> None:
        super().__init__()
        self._sources = sources

    @property
    def places(self) -> list[str]:
        """The places a gate can be asked for."""
        return list(self._sources)

    def __missing__(self, place: str) -> re.Pattern[str] | None:
        gate = self[place] = _gate(self._sources[place])
        return gate


@dataclass(frozen=True, slots=True)
class CompiledDeid:
    patterns: tuple[tuple[str, Regex, DeidPattern], ...]
    identifier_keys: Regex
    quasi_keys: Regex
    record_number: Regex
    blank: frozenset[str]
    any_of: _Gates
    """Per place, every built-in pattern with known first characters in one regex (:func:`_gate`: a
    pre-filter for :func:`find`; the others are always searched), compiled on first use."""


@dataclass(frozen=True, slots=True)
class Hit:
    """One identifier found in a text value."""

    name: str
    what: str
    level: Level
    masked: str
    length: int
    also: tuple[str, ...] = ()
    """What the other identifiers the same run holds are (``phone number`` beside an ``e-mail
    address`` both take in), each once, in the patterns' order: the run is masked as one."""


def mask(text: str) -> str:
    """The text with all but its first two characters starred (all starred when 4 or shorter)."""
    text = text.strip()
    if len(text) <= 4:
        return "*" * len(text)
    return text[:2] + "*" * (len(text) - 2)


BUILT_IN_EXAMPLES: dict[str, tuple[str, ...]] = {
    "korean_rrn": ("RRN 900101-1234567", "900101-2234567"),
    "us_ssn": ("SSN 123-45-6789",),
    "date_of_birth": ("DOB: 1990-01-01", "생년월일 1990.01.01"),
    "hospital_record_number": ("MRN: 12345678",),
    "person_name": ("Patient Name: John Smith",),
    "possible_name": ("환자 김철수", "환자 남궁민수님"),
    "phone_number": ("Tel 010-1234-5678",),
    "email": ("john.smith@example.com",),
    "date_in_filename": ("slide_2021-03-15.svs",),
}
"""Per built-in pattern, texts its own settings find (tests/deid hold the test that they do): a
profile's settings of it that find none (:func:`built_in_patterns_finding_nothing`) look for nothing
it was written for."""


def built_in_patterns_finding_nothing(settings: DeidSettings) -> list[str]:
    """The built-in patterns on in ``settings`` whose settings there (a profile's ``regex``,
    ``validate_as``) find none of their :data:`BUILT_IN_EXAMPLES`: ``possible_name: {validate_as:
    rrn}`` rejects every name, a ``regex`` written for another thing finds none of the built-in's."""
    missed = []
    for name, examples in BUILT_IN_EXAMPLES.items():
        pattern = settings.patterns.get(name)
        if pattern is None or not (pattern.enabled and pattern.regex and pattern.places):
            continue  # off: :func:`dqm.cli.common._warn_patterns_off` says so
        one: Patterns = [(name, _compiled(pattern.regex), pattern)]
        if not any(next(_matches(text, one), None) for text in examples):
            missed.append(name)
    return missed


_PERCENT_GAP = re.compile("%(?:25)?2[0dD]")


def valid_rrn(match: str) -> bool:
    """A plausible resident registration number: a real YYMMDD date and gender digit 1-8."""
    digits = re.sub(r"\D", "", _PERCENT_GAP.sub("", match))  # the 2 of a ``%2D`` is no digit
    if len(digits) != 13:
        return False
    yy, mm, dd, g = int(digits[0:2]), int(digits[2:4]), int(digits[4:6]), int(digits[6])
    century = {1: 1900, 2: 1900, 5: 1900, 6: 1900, 3: 2000, 4: 2000, 7: 2000, 8: 2000}.get(g)
    if century is None:
        return False
    try:
        dt.date(century + yy, mm, dd)
    except ValueError:
        return False
    return True


def find(text: str, settings: DeidSettings, place: Place) -> list[Hit]:
    """The identifiers in one text value, masked, for the patterns that apply to ``place``: one
    finding a kind, for the first run the masker masks as that kind (:func:`_runs`: a resident
    number after a birth keyword, ``DOB: 900101-1234567``, is one resident number, not a date of
    birth too).

    A text is searched whole wherever it comes from (file names, manifest cells and clinical
    values were cut at 10,000 characters, silently): what bounds the cost is where it was read
    from -- a file's name, a manifest cell (a slide id, a path, a clinical value: at most
    :data:`dqm.batch.MAX_MANIFEST_LINE` characters, as a line, the CSV reader's cell limit while a
    manifest is read; a longer one leaves the manifest unread), or a budget a file or record (:class:`TextBudget`:
    an annotation file's text, an annotation's clinical block) that says what it left
    (``*_UNSEARCHED``). About 0.3 s of CPU a million characters of ``"dob 010-"`` repeated; a text
    of identifiers alone is searched to its end, every match, to tell its runs apart: 0.4 s a
    million characters of resident numbers (66,000; 0.1 s when each pattern stopped at its first
    match), half what masking it costs."""
    if not settings.enabled or not text:
        return []
    # ``Hong&#32;Gildong``, ``Hong\u0020Gildong``, ``Hong&amp;nbsp;Gildong``: searched as the
    # masker reads it (:func:`_readings`), so what is flagged is what is masked
    comp = settings.compiled
    order = {name: i for i, (name, _, _) in enumerate(comp.patterns)}  # the patterns' order
    hits: list[Hit] = []
    named: set[str] = set()  # every kind a hit names (its run's and those it holds)
    runs_named: set[str] = set()  # every name a hit's run has
    plain, unseen = _plain_read(text)
    readings = _readings(text, plain)
    read: list[tuple[int, int]] = []  # the runs of the text read, as places in ``text``
    for as_written, reading in enumerate(readings):
        if not reading.isascii():  # Hangul as macOS writes names (NFD jamo) is searched as composed
            reading = unicodedata.normalize("NFC", reading)
        gate = comp.any_of[place]
        gated_out = gate is not None and gate.search(reading) is None
        searched = [
            (name, rx, pat)
            for name, rx, pat in comp.patterns
            if place in pat.places and not (gated_out and pat.regex in _STARTS)
        ]
        what = {name: pat for name, _, pat in searched}
        held: list[set[str]] = []
        runs = _runs(reading, searched, held)
        found_runs = [
            (reading[run[0] : run[1]], run[2], kinds) for run, kinds in zip(runs, held, strict=True)
        ]
        if as_written:  # only what the text read misses (:func:`_written_runs`), as the masker
            spread = _Spread(read)
            found_runs = [
                (run[4], run[2], held[i])
                for i, run in _written_runs(reading, runs, read)
                if not spread.touching(run[0], run[1])
            ]
        elif len(readings) > 1 and reading == plain:  # a run as written inside one read is masked as it
            where = unescaped(text)[1] or []
            read = [(where[run[0]], where[run[1]]) for run in runs]
        if not as_written and unseen:  # the invisible characters kept too
            where = unescaped(text)[1] or []
            kept_kinds: list[set[str]] = []
            placed = [entry for entry in comp.patterns if place in entry[2].places]  # ungated
            what.update({name: pat for name, _, pat in placed})
            mapped = [(where[run[0]], where[run[1]]) for run in runs]
            found_runs += [
                (run[4], run[2], kept_kinds[i])
                for i, run in enumerate(_unseen_runs(text, placed, mapped, kept_kinds))
            ]
        for found, name, kinds in found_runs:
            # one finding a masked run, as its token names it, with every kind it holds: the first
            # run of each name, and each later one that holds a kind no run before named (``hong@…``
            # then ``010-1234-5678@…``: the phone number too)
            if name not in runs_named or not kinds <= named:
                also = tuple(what[k].what or k for k in sorted(kinds - {name}, key=order.__getitem__))
                pat = what[name]
                hits.append(Hit(name, pat.what or name, pat.level, mask(found), len(found.strip()), also))
                named |= kinds
                runs_named.add(name)
    return sorted(hits, key=lambda hit: order[hit.name])


class _NameHits:
    """The hits of file and folder names as :func:`find` gives them, kept for one set of patterns
    (a profile's :class:`CompiledDeid`, held so no other takes its place): a name that a delivery's
    dated-names count (:func:`validators.deid.file_name_dates`) searches after the name checks
    searched it in the same process is searched once. All forgotten past :data:`MAX_KEPT_NAMES`
    names or :data:`MAX_KEPT_NAME_CHARS` characters of them, or when the patterns change."""

    __slots__ = ("_chars", "_state")

    def __init__(self) -> None:
        self._state: tuple[CompiledDeid | None, dict[str, tuple[Hit, ...]]] = (None, {})
        self._chars = 0

    def get(self, name: str, settings: DeidSettings) -> tuple[Hit, ...]:
        """``find(name, settings, "filename")``, worked out once a name."""
        compiled = settings.compiled if settings.enabled else None
        kept_for, held = self._state  # one look: the patterns and their names replaced together
        if compiled is not kept_for:
            held = {}
            self._state, self._chars = (compiled, held), 0
        done = held.get(name)
        if done is not None:
            return done
        if len(held) >= MAX_KEPT_NAMES or self._chars + len(name) > MAX_KEPT_NAME_CHARS:
            held.clear()
            self._chars = 0
        done = held[name] = tuple(find(name, settings, "filename"))
        self._chars += len(name)
        return done


MAX_KEPT_NAMES = 200_000
"""The most file and folder names whose hits :func:`file_name_hits` keeps."""
MAX_KEPT_NAME_CHARS = 8_000_000
"""The most characters of such names kept (a name part is at most 255 bytes where it is a file's)."""
_NAME_HITS = _NameHits()


def file_name_hits(name: str, settings: DeidSettings) -> tuple[Hit, ...]:
    """What :func:`find` flags in a file or folder name (``place`` ``filename``), searched once in a
    process however many checks read it (:class:`_NameHits`: 34,000 dated names were searched by
    the name checks and again by the dated-names count)."""
    return _NAME_HITS.get(name, settings)


def is_blank(value: Any, settings: DeidSettings) -> bool:
    """A value that holds nothing (or says it was removed)."""
    if value is None:
        return True
    text = str(value).strip()
    return text.casefold() in settings.compiled.blank or not text.strip("^ ")


_FULL_WIDTH = {**{c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}, 0x3000: 0x20}
"""Full-width ASCII (``ｐａｔｉｅｎｔ＿ｉｄ``, as a Korean IME types it) and the ideographic space as
the ASCII they stand for: one character for one."""
FOLDED_WHOLE = 64
"""The longest key NFKC-folded whole (:func:`fold_key`); a longer one is folded by
:data:`_FULL_WIDTH` alone."""


_MISS = object()


class _Kept:
    """What is worked out from a key, kept by it: all forgotten past 4,096 keys or 4M characters
    of them, so a file of long keys holds a few of them at most."""

    __slots__ = ("_chars", "_held")

    def __init__(self) -> None:
        self._held: dict[Any, Any] = {}
        self._chars = 0

    def get(self, held_by: Any, chars: int, work: Callable[[], Any]) -> Any:
        """What ``work`` gives for ``held_by`` (``chars`` characters long), worked out once."""
        done = self._held.get(held_by, _MISS)  # one look: another thread may clear it between two
        if done is not _MISS:
            return done
        if len(self._held) >= 4_096 or self._chars + chars > 4_000_000:
            self._held.clear()
            self._chars = 0
        done = self._held[held_by] = work()
        self._chars += chars
        return done


_FOLDED = _Kept()
"""Keys not ASCII as :func:`fold_key` folded them: each key folded once, however many times it is
matched."""


def fold_key(key: str) -> str:
    """``key`` as the identifier keys are matched against it: NFKC-folded where it is not ASCII, so
    a full-width ``ｐａｔｉｅｎｔ＿ｉｄ`` or ``ＤＯＢ`` (as a Korean IME types them) and other
    compatibility forms are the keys they stand for. NFKC grows some characters 18 times (U+FDFA),
    and a key is matched several times, outside the budget of text searched (one key of 20M U+FDFA:
    179 s, 2.3 GB), so only a key of at most :data:`FOLDED_WHOLE` characters is NFKC-folded whole
    (at most 1,152 characters then: ``ℙatient_name㎏`` is ``Patient_namekg``); a longer one is
    folded character for character (:data:`_FULL_WIDTH`), never longer than it is. Keys only: a
    value is searched and masked as it is. Its escapes and character references are read first,
    as the masker reads a value (:func:`_plain`: ``patient&#95;name``, ``patient&lowbar;name``,
    ``patient\\u005fname``, ``d&#111;b`` are the keys a person reads)."""
    if key.isascii() and not _decodes(key):
        return key
    folded: str = _FOLDED.get(key, len(key), lambda: _folded(key))
    return folded


def key_readings(key: str) -> tuple[str, ...]:
    """``key`` as :func:`fold_key` folds it, and as written (folded but no escape read) where a
    backslash in it reads otherwise: a path's separator is no escape (``patient\\name``,
    ``study\\patient\\name``, ``patient\\rrn``: read, a line feed or a carriage return parts the
    word). The identifier keys name a key that either reading is."""
    folded = fold_key(key)
    if "\\" not in key:
        return (folded,)
    written: str = _WRITTEN.get(key, len(key), lambda: _compatible(key))
    return (folded,) if written == folded else (folded, written)


_WRITTEN = _Kept()
"""Keys with a backslash as :func:`key_readings` folds them as written."""


def _folded(key: str) -> str:
    return _compatible(_plain(key))  # never longer: one character an escape


def _compatible(key: str) -> str:
    """``key`` NFKC-folded (:func:`fold_key`)."""
    if key.isascii():
        return key
    if len(key) <= FOLDED_WHOLE:
        return unicodedata.normalize("NFKC", key)  # at most 18 times as long: 1,152 characters
    return key.translate(_FULL_WIDTH)


def identifier_key(key: str, settings: DeidSettings) -> bool:
    """Whether the profile's identifier keys name ``key`` (:func:`fold_key`), not as a kind of
    identifier (:func:`names_a_kind`): its non-blank value names a person."""
    return key_says(key, settings) == "person"


def key_says(key: str, settings: DeidSettings) -> Literal["person", "kind"] | None:
    """What the profile's identifier keys make of ``key`` (:func:`fold_key`): ``person``, its
    non-blank value names one; ``kind``, it names a kind of identifier (``patient_id_type``,
    ``Patient ID Type``: :func:`names_a_kind`), its value a person's unless it describes a kind
    (:func:`looks_identifying`); None, neither. One search of the pattern a key (kept by key)."""
    if not settings.enabled:
        return None
    keys = settings.compiled.identifier_keys
    said: Literal["person", "kind"] | None = _SAID.get((key, keys), len(key), lambda: _says(key, keys))
    return said


_SAID = _Kept()
"""What :func:`key_says` made of each key, for the pattern it used: a manifest column is asked once
an item, a key of a document once a text below it."""


def _says(key: str, keys: Regex) -> Literal["person", "kind"] | None:
    said: Literal["person", "kind"] | None = None
    for read in key_readings(key):  # a person's key as either reading: a person's
        if keys.search(read):
            said = "kind" if names_a_kind(read, keys.search) else "person"
            if said == "person":
                break
    return said


_KIND_WORDS = frozenset(
    re.split(
        r"\s+",
        """number numbers no record records hospital medical chart registration resident security social
    insurance national passport local internal external format type kind code codes id ids identifier
    identifiers system systems source scheme length issuer assigning authority facility site prefix
    suffix check digit digits numeric alphanumeric string text integer day days month months year years
    date time yy yyyy mm dd one two three four five six seven eight nine ten eleven twelve of and or
    with without the uid uuid oid guid dicom hl7 fhir mrn hrn rrn ssn nhs pid mpi empi emr ehr his lis
    pacs ris utc gmt iso rfc epoch unix timestamp epic cerner millennium meditech allscripts athena
    athenahealth patient case accession specimen barcode""",
    )
)
"""The words a kind of identifier or a date is described by (``Medical Record Number``, ``Eight
Digits``, ``Day Month Year``, ``DICOM UID``, ``Epic Systems``, ``Cerner Millennium``), its
acronyms (``MRN``, ``NHS``) only as listed: a value of these only names nobody (``KIM``,
``MINSU``, one word in capitals, is a name)."""
_KIND_HANGUL = frozenset(
    re.split(
        r"\s+",
        """환자번호 병록번호 의무기록번호 기록번호 등록번호 주민등록번호 외국인등록번호 여권번호 차트번호
    보험번호 건강보험번호 번호 번호형식 번호유형 번호종류 자리 숫자 날짜 날짜형식 생년월일 년월일
    연월일""",
    )
)
"""Hangul words of the same (``병록번호``, ``주민등록번호``, ``8자리 숫자``), each whole: not a run
of their syllables (``주민``, ``유형``, ``형식`` are given names too)."""
_KIND_TOKEN = re.compile(r"(?i:[NXYMD9#*]+(?:[-/. :][NXYMD9#*]+)*)")
"""One word a kind is written as besides :data:`_KIND_WORDS`: a placeholder format (``NNNN-NNNN``,
``YYYY-MM-DD``, ``dd/mm/yyyy``, ``###``)."""
STANDARD_BODIES = (
    "ISO", "IEC", "RFC", "IEEE", "ANSI", "ASTM", "CLSI", "HL7", "DICOM", "FHIR", "IHE", "CDA", "ICD",
    "ICD-O", "LOINC", "SNOMED", "HGVS", "ISCN", "UCUM", "NCPDP", "CPT", "HCPCS", "NDC", "ATC", "UMLS",
    "OMOP", "CDISC", "SDTM", "NAACCR", "AJCC", "UICC", "TNM", "NCIT", "RxNorm", "MeSH",
)  # fmt: skip
"""Standard bodies and code systems a kind of identifier or a date is written to, as they write
themselves (``RxNorm``; ``ISO``, ``IEC`` and ``RFC`` in any case): with a version or part number
after one (:data:`_STANDARD`) each is one word of a kind, never a person's."""
_MARK = r"[ -]?(?:[vV](?:er\.?|ersion)?|[rR](?:ev\.?)?|PS|[Pp]art)\s?"
_DAY_MONTH = r"(?:(?:[12]\d|3[01])\.(?:0[1-9]|1[0-2])|1[0-2]\.(?:0[1-9]|[12]\d|3[01]))(?!\d)"
"""Two groups of two digits that are a day and a month in either order (``31.12``, ``12.31``)."""
_VERSION_NUMBER = (
    rf"(?!0\d)(?!{_DAY_MONTH})(?!(?:19|20)\.\d\d(?!\d))(?:\d\.\d\.\d|\d{{1,2}}(?:\.\d{{1,2}})?|\d{{3}})"
)
"""A version's number: a first group of at most two digits (no leading zero: ``01.02`` is a day
and a month), then at most a group of at most two digits (``2.74``, ``3.15``); three groups only of
one digit each (``2.5.1``, ``4.0.1``: every HL7 and FHIR version); or three digits alone
(``123.45`` and ``880.10.1`` are ids in groups), its first two groups no day and month
(:data:`_DAY_MONTH`: ``12.31``) nor a year split by a dot (``19.90``, ``20.01``: ``HL7 v19.90``,
``FHIR R19.85``): ``01.02.90``, ``1.2.90``, ``90.01.01``, ``1.12.9`` (dates) and
``1.234.567`` (an id in groups) are none."""
_NOT_A_YEAR = r"(?!(?:19|20)\d\d(?!\d))"
"""Not four digits that are a plausible year (1900-2099): ``HL7 v1990``, ``Leica Aperio 1990`` (a
year of birth, perhaps) are no version and no model number."""
_NUMBER = rf"(?:{_VERSION_NUMBER}|(?!0){_NOT_A_YEAR}\d{{1,4}})"
_VERSION = rf"(?:{_MARK}|[ -]?){_NUMBER}"
"""A version, release or part number after a standard's name (``v2``, `` 2.5.1``, ``PS3.15``, ``R4``,
``-10``): a version's number (:data:`_VERSION_NUMBER`), else one of at most four digits, no leading
zero. ``HL7 12345``, ``CPT 90010`` and ``ICD-12345-12`` hold an id, no version; ``HL7 15-03:1985``
and ``HL7 0315-85`` a date: a part and an edition's year are ISO's and IEC's (:data:`_ISO_NUMBER`)."""
_YEAR = rf":(?:{'|'.join(str(year) for year in range(1947, dt.date.today().year + 1))})"
"""An edition's year: from ISO's founding (1947) to this year (``ISO 82304-9:2099`` is none)."""
ISO_FIVE_DIGITS = (
    "10993", "11073", "12052", "13485", "13606", "14155", "14971", "15189", "15223", "17025", "20166",
    "20184", "20186", "20387", "20916", "22367", "27001", "27002", "27701", "27799", "60601", "62304",
    "62366", "80001", "82304",
)  # fmt: skip
"""The ISO and IEC standards of five digits a pathology delivery names (laboratories ``15189``,
``17025``; DICOM ``12052``; devices ``13485``, ``14971``, ``62304``; security ``27001``;
pre-analytics of tissue ``20166``, ``20387``...): five digits are an MRN's shape as much as a
standard's, so only these are a standard's (``ISO 12345`` is an id)."""
ISO_FIVE_DIGITS_PARTED = ("10993", "11073", "13606", "60601", "62366", "80001")
"""Those of :data:`ISO_FIVE_DIGITS` published in parts (``ISO 10993-5``, ``IEC 60601-1``, ``IEC
60601-1-2``): a part or two after them is the standard's, after the others an id's."""
FIRST_EDITIONS = {
    "10993": 1992, "11073": 2004, "12052": 2006, "13485": 1996, "13606": 2008, "14155": 2003,
    "14971": 2000, "15189": 2003, "15223": 2000, "17025": 1999, "20166": 2018, "20184": 2018,
    "20186": 2019, "20387": 2018, "20916": 2019, "22367": 2008, "27001": 2005, "27002": 2005,
    "27701": 2019, "27799": 2008, "60601": 1977, "60825": 1984, "60950": 1986, "61000": 1990,
    "61010": 1990, "61326": 1997, "62304": 2006, "62366": 2007, "62368": 2010, "62443": 2009,
    "80001": 2010, "81001": 2021, "82304": 2016,
}  # fmt: skip
"""The year of each listed standard's first edition (as the standard or its first part): an
edition's year before it is none of the standard's (``ISO 15189:1990``, ``IEC 60601-1:1947``).
Checked (task deid, session 22): ISO 15189 edition 1 2003-02 (iso.org/standard/26301); ISO 14971's
third edition is 2019's (BSI's white paper on ISO 14971:2019), the first 2000's; the others as
first written."""
FOUR_DIGIT_FIRST_EDITIONS = {"2022": 1973, "8601": 1988, "9001": 1987}
"""The year of the first edition of the ISO standards of four digits a delivery names with a year
(:data:`FIRST_EDITIONS` holds those of five): ISO 8601's first edition is 1988-06-15 (its cover,
as FIPS PUB 4-1 reprints it, dokumen.tips; the 1997 working draft cancels ``ISO 8601:1988``), ISO
9001's 1987 (``ISO 9001 : 1987 (E)``, standards.iteh.ai), ISO 2022's 1973 (its fourth edition,
1994, replaces the third, 1986; ECMA-35, 1971, came before it). ``ISO 8601:1950`` is an id's.
These three because a histopathology delivery names them (dates and times, the quality system,
DICOM's Korean character set: ``ISO 2022 IR 149``, the one number of four digits that is a year);
a year before a standard's own number was issued needs a list (the rule for every other number
is :data:`ISO_FIRST_YEAR`)."""
FOUR_DIGIT_PARTS = {"8601": ("12", 2019), "9001": ("", 0), "2022": ("", 0)}
"""The parts of :data:`FOUR_DIGIT_FIRST_EDITIONS`' standards and the year the first was issued:
ISO 8601 in two parts from 2019 (``ISO 8601-1:2019``, ``ISO 8601-2:2019``; ``ISO 8601-1:2000`` and
``ISO 8601-3`` are ids), ISO 9001 and ISO 2022 in none (``ISO 9001-1`` is an id)."""
ISO_FIRST_YEAR = 1951
"""The year ISO issued its first standard (ISO/R 1, a reference temperature): an ISO edition's
year before it is none (``ISO 3166:1950``, ``ISO 9000:1950`` are ids); IEC, older, keeps every
year from 1947 (:data:`_YEAR`)."""
JTC1_FIRST_YEAR = 1987
"""The year ISO and IEC founded their joint technical committee (ISO/IEC JTC 1), whose standards are
the first either issued together: an ``ISO/IEC`` edition's year before it is none (``ISO/IEC
8859-1:1985`` is an id's; ISO 8859-1's first edition is ``ISO 8859-1:1987``, ISO's alone, its
second ``ISO/IEC 8859-1:1998``; iso.org/committee/45020, JTC 1 "created in 1987")."""
_DATED_ISO = re.compile(r"(?i:(iso)(/iec)?|iec)[ -]?(\d+)(?:-(\d+)(?:-\d+)?)?(?::(\d{4}))?")
"""A standard :data:`_STANDARD` takes read as its body (``ISO``, ``ISO/IEC``), number of any count
of digits (``ISO 639:1950``, ``ISO 3166:1950``, ``ISO 15189:1950`` are ids alike), part and year."""


def _no_edition(standard: str) -> bool:
    """Whether ``standard`` (a :data:`_STANDARD` match) names an ISO edition that was never issued:
    its year before :data:`ISO_FIRST_YEAR` (a joint ``ISO/IEC`` one's before :data:`JTC1_FIRST_YEAR`), or a part of a four-digit standard it does not have
    or before its parts were issued (:data:`FOUR_DIGIT_PARTS`)."""
    found = _DATED_ISO.fullmatch(standard)
    if found is None:
        return False
    iso, joint, number, part, year = found.groups()
    if iso and year and int(year) < (JTC1_FIRST_YEAR if joint else ISO_FIRST_YEAR):
        return True
    parts, since = FOUR_DIGIT_PARTS.get(number, (None, 0))
    return (
        bool(part)
        and parts is not None
        and (part not in tuple(parts) or (year is not None and int(year) < since))
    )


ISO_FIVE_PARTS = {
    "14155": "12",
    "15223": "12",
    "20166": "1234",
    "20184": "123",
    "20186": "123",
    "82304": "12",
}
"""The parts (one digit each) of those of :data:`ISO_FIVE_DIGITS` outside
:data:`ISO_FIVE_DIGITS_PARTED` that have some; the others have none (``ISO 15189-1:2022``,
``ISO 82304-9:2020`` are ids)."""


def _edition_year(number: str) -> str:
    """An edition's year of the standard ``number`` (:data:`_YEAR` from its first edition on)."""
    first = FIRST_EDITIONS.get(number) or FOUR_DIGIT_FIRST_EDITIONS.get(number, 1947)
    return rf":(?:{'|'.join(str(year) for year in range(first, dt.date.today().year + 1))})"


def _parted(number: str) -> str:
    """A standard in parts: ``number``, one or two parts, perhaps its edition's year."""
    return rf"{number}(?:-[1-9]\d?){{1,2}}(?:{_edition_year(number)})?"


def _with_year(number: str) -> str:
    """A standard of :data:`ISO_FIVE_DIGITS`: ``number``, one of its parts, its edition's year."""
    parts = ISO_FIVE_PARTS.get(number)
    return number + (f"(?:-[{parts}])?" if parts else "") + _edition_year(number)


def _iec_parted(number: str) -> str:
    """An IEC standard in parts: ``number``, one or two parts of a digit, perhaps its year."""
    return rf"{number}(?:-[1-9]){{1,2}}(?:{_edition_year(number)})?"


_ISO_FIVE = rf"(?:{'|'.join(ISO_FIVE_DIGITS)})"
_LISTED_FOUR = rf"(?:{'|'.join(FOUR_DIGIT_FIRST_EDITIONS)})(?!\d)"
_ISO_NUMBER = (
    rf"[ -]?(?!0)(?:{_NOT_A_YEAR}(?!{_LISTED_FOUR})\d{{3,4}}(?:-[1-9](?:\d?{_YEAR})?|{_YEAR})?"
    + "".join(
        rf"|{n}(?:-[1-9](?:\d?{_edition_year(n)})?|{_edition_year(n)})?" for n in FOUR_DIGIT_FIRST_EDITIONS
    )
    + rf"|{'|'.join(map(_parted, ISO_FIVE_DIGITS_PARTED))}"
    rf"|{'|'.join(_with_year(n) for n in ISO_FIVE_DIGITS if n not in ISO_FIVE_DIGITS_PARTED)}"
    rf"|{_ISO_FIVE})"
)
"""The number of an ISO or IEC standard (``8601``, ``15189``), with its part (``8601-1``) and its
edition's year (``8601-1:2019``, ``15189:2022``): three or four digits, no leading zero and no
year (``ISO 1990``; ``ISO 2022``, :data:`FOUR_DIGIT_FIRST_EDITIONS`, excepted), or five of :data:`ISO_FIVE_DIGITS`, a
part of one digit (two only before a year), no part after five but those of
:data:`ISO_FIVE_DIGITS_PARTED` unless the edition's year follows it, and then only one it has
(:data:`ISO_FIVE_PARTS`: ``IEC 82304-1:2016``; ``ISO 15189-1`` and ``ISO 15189-1:2022`` are ids, ``ISO
0101-12:1990`` and ``ISO 1503-85`` dates); a five's year is none before its first edition
(:data:`FIRST_EDITIONS`: ``ISO 15189:1990`` is an id's)."""
IEC_PARTED_NUMBERS = (
    "60601", "60825", "60950", "61000", "61010", "61326", "62304", "62366", "62368", "62443", "80001",
    "81001",
)  # fmt: skip
"""The IEC standards in parts a pathology delivery names (medical electrical equipment ``60601``,
laboratory equipment ``61010``, its EMC ``61326``, lasers ``60825``, IT equipment ``60950`` and
``62368``, EMC ``61000``, software ``62304``, usability ``62366``, security ``62443``, ``80001``,
``81001``): five digits are an MRN's shape too, so only these (``82304`` is ISO's list's, a part
only before its year: ``IEC 82304-1`` is an id)."""
_IEC_PARTED = rf"(?i:iec)[ -]?(?:{'|'.join(map(_iec_parted, IEC_PARTED_NUMBERS))})"
"""An IEC standard's number in parts (``IEC 61010-1``, ``IEC 60601-1-2:2014``): one of
:data:`IEC_PARTED_NUMBERS` with a part of one digit after ``IEC``; any other (``IEC 65432-1-2``),
bare (``IEC 61234``) or with a longer part stays an id's."""
_CHARACTER_SET = r"ISO(?:[ _-]?2022)?[ _-]?IR[ _-]?[1-9]\d{0,2}"
"""A character set's number in ISO's register (ISO-IR), as DICOM's Specific Character Set writes it
(``ISO_IR 100``, ``ISO_IR 192``, ``ISO 2022 IR 149``, ``ISO-IR 144``): at most three digits."""
_STANDARD = re.compile(
    r"(?<![A-Za-z0-9])(?:"
    rf"{_CHARACTER_SET}|{_IEC_PARTED}|"
    rf"(?:{'|'.join(sorted(STANDARD_BODIES, key=len, reverse=True))})(?!(?<=(?i:iso))/(?i:iec){_ISO_NUMBER})"
    rf"(?:{_VERSION})?(?:[ -](?:CM|PCS|CT|AM))?"
    rf"|(?i:iso|iec)(?:/(?i:iec))?{_ISO_NUMBER}"
    rf"|(?i:iso|iec|rfc)(?:{_VERSION}|[ -]?{_ISO_FIVE})"
    rf"|[A-Z]{{1,5}}\d{{1,2}}{_MARK}{_NUMBER}"
    rf"|[vV]{_VERSION_NUMBER}"
    r")(?![A-Za-z0-9])(?![\s_/,.():;\-]*\d)"
)
"""A standard or code system, with its version or part where it has one. The rule: a standard
body's or code system's acronym (:data:`STANDARD_BODIES`), then a version or part number
(:data:`_VERSION`) and an edition's suffix where written (``ISO 8601:2004``, ``HL7v2``, ``HL7
2.5.1``, ``DICOM PS3.15``, ``ICD-10-CM``, ``ICD-O-3``, ``LOINC 2.74``, ``FHIR R4``, ``SNOMED CT``,
``HGVS``; ``iso 8601`` with its number); any other acronym of capitals holding a digit (``X12``)
then a marked version (``v5010``, ``R2``); or a bare version (``v2.5.1``). No number of a person's,
unless more digits are joined to it (``ISO 8601 01/02/90``). A word in capitals that is no listed
body stays a name with a number after it (``KIM 2.1``), and a number is a version only in a
version's form: ``LOINC 1990.01.01`` is a date, ``AB1 2345`` an id. A joint ``ISO/IEC`` standard is
one match, not ``ISO`` then ``IEC 8859-1:1985`` (:func:`_no_edition` reads its year as a joint one's)."""
_NINES = re.compile(r"(?<!\d)9+(?:[-/. :]9+)*(?!\d)")
"""A placeholder of nines (``9999-9999``, ``99/99/9999``, as :data:`_KIND_TOKEN` takes ``NNNN``):
no number of a person's."""
_JOINED_DIGITS = re.compile(r"\d[\s_/,.():;\-]+\d")
"""Two numbers joined by a separator: a date (``01/02/90``, ``1.2.90``) or an id in groups
(``123-456-789``, ``1.234.567``), however short each group."""
WSI_VENDORS = (
    "Leica", "Aperio", "Hamamatsu", "3DHistech", "3DHISTECH", "Philips", "Roche", "Ventana", "Zeiss",
    "Olympus", "Evident", "Motic", "KFBIO", "Huron", "Grundium", "Sakura", "OptraSCAN",
)  # fmt: skip
"""Makers of slide scanners, as they write their names: the first word of a product
(:func:`_a_product`)."""
PRODUCT_LINES = ("Aperio", "Ventana")
"""Makers whose name is also a product line of another's (``Leica Aperio``, ``Roche Ventana``): the
only makers a product names after its first word. ``Roche Sakura`` is a maker and a name."""
_MODEL_PART = re.compile(r"[A-Z]{0,4}\d{0,4}[A-Z]{0,2}")
"""One part of a model code (between ``-`` or ``.``): capitals, then digits, then capitals (``GT450``,
``S360``, ``KF``, ``005``): one run of digits, no lower-case letter (``Hong12``, ``a1b2c3`` are no
model)."""
_INITIALS_AND_NUMBER = re.compile(r"[A-Z]{3,4}\d{1,2}|[A-Z]*(?:19|20)\d\d[A-Z]*")
"""A part of three or four capitals and one or two digits (``KIM1``, ``LEE23``): a name in capitals
or a person's initials with a number, where a model's capitals are one or two before a digit
(``AT2``, ``CS2``, ``LV1``) or stand before three digits or more (``SCN400``); or a year from 1900
to 2099 with a letter (``D1990``, ``GT2001``): no scanner's model number is one."""
_CAMEL_STEMS = (
    "Nano", "Easy", "Scan", "Tissue", "Vision", "Intelli", "Image", "Ultra", "Slide", "Digi", "Virtual",
    "Micro", "Pano", "Smart", "Auto", "Opti",
)  # fmt: skip
"""The first words of a product's word in camel case (``NanoZoomer``, ``EasyScan``, ``ScanScope``):
words of a product's kind, no name's."""
_CAMEL = re.compile(
    rf"(?:{'|'.join(_CAMEL_STEMS)}|[a-z])(?:Scan|Scope|Scanner|Zoomer|Site|Tek|Slide|Path|View|Vision|Imager|Flash)"
)
"""A product's word in camel case: a stem of :data:`_CAMEL_STEMS` or one lower-case letter (``iScan``),
then a word of scanning (``NanoZoomer``, ``EasyScan``, ``VisionTek``, ``TissueScope``,
``IntelliSite``, ``Ventana iScan HT``): a name in camel
case (``HongGildong``, ``McDonald``) ends in none, and a name before one (``GildongView``,
``KimScan``, ``HongGildongPath``) is no stem."""
_MAKERS_LINES = {
    "Zeiss": ("Axio", "Axioscan"),
    "3DHistech": ("Pannoramic",),
    "3DHISTECH": ("Pannoramic",),
    "Grundium": ("Ocus",),
    "Philips": ("UFS",),
}
"""A maker's product lines written as a word a name may be (``Axio``, ``Pannoramic``, ``Ocus``) or
as capitals (``UFS``): a product's word only right after its maker (``Zeiss Axio``, ``Grundium
Ocus40``: a line and the digits of its model, at most three), never after another
(``Philips Axio``) nor in another place."""
_MAKERS_MODELS = {"Leica": re.compile(r"DM[1-9][05]00?")}
"""A maker's own model series whose number a year may look like, right after the maker: Leica's
DM microscopes (``Leica DM2000``, ``DM2500``, ``DM750``), in hundreds and fifties, so ``Leica
DM1990`` (a year of birth) is none."""
_SCAN_WORD = re.compile(r"(?:Scan|Flash|Scope)(?:\.(?P<model>[A-Z0-9.-]+))?")
"""A word of scanning after a maker's own line (:data:`_MAKERS_LINES`: ``Axio Scan.Z1``,
``Pannoramic 250 Flash III``) or right after that maker's model code (``3DHistech P250 Flash
III``); after another maker's product, ``Hamamatsu NanoZoomer 1 Flash``, a word a name may be,
with a model code joined by ``.`` (``Z1``: :func:`_a_model`)."""
_MODEL_SUFFIXES = ("DX", "HT", "RS", "XR")
"""What follows a model code or a product's word in camel case as a word of its own (``Aperio GT450
DX``: the diagnostic edition; ``NanoZoomer XR``, ``iScan HT``): two capitals a name's initials may
be, so only these, and only right after such a word."""
_EDITIONS = ("Pro", "Plus", "Lite")
"""An edition's word after a product's word (``Motic EasyScan Pro 6``): no given name or surname."""
_ROMAN = re.compile(r"[IVX]{1,4}")
"""A Roman numeral after a product (``Flash III``)."""
_PRODUCT_WORDS = 5
"""The most words of a product's name: a maker and four."""
_PRODUCT_DIGITS = 6
"""The most digits in a product's name (``Roche Ventana DP 200``: 3; ``Huron TissueScope LE120``:
3): an id or a date has more."""
_POINT_VERSION = re.compile(r"(?<![\w.])\d\.\d(?![\d.])")
"""A product's version of one digit and one (``2.0`` in ``NanoZoomer 2.0-HT``): no two numbers
joined as a date's or an id's groups are, each of at least one digit more."""
_MODEL_CHARS = 10
"""The most characters of a model code (``KF-PRO-005``)."""
_MODEL_DIGITS = 4
"""The most digits of a model code (``P1000``)."""


def _a_model(word: str) -> bool:
    """Whether ``word`` is a scanner's model code: at most :data:`_MODEL_CHARS` characters, a
    letter and at most :data:`_MODEL_DIGITS` digits, one to three parts joined by ``-`` or ``.``
    each a :data:`_MODEL_PART`, and no run of its letters a kind's word (``MRN-1234``,
    ``MRN1234``). A digit on both sides of a joint (``H1234-5678``, ``D1990-01-01``: ids and dates)
    is the product's :data:`_JOINED_DIGITS`."""
    parts = re.split(r"[-.]", word)
    return (
        len(word) <= _MODEL_CHARS
        and any(c.isalpha() for c in word)
        and 0 < sum(c.isdigit() for c in word) <= _MODEL_DIGITS
        and len(parts) <= 3
        and all(p and _MODEL_PART.fullmatch(p) and not _INITIALS_AND_NUMBER.fullmatch(p) for p in parts)
        and not any(w.casefold() in _KIND_WORDS for w in re.findall(r"[A-Z]+", word))
    )


def _a_product(text: str) -> bool:
    """Whether ``text`` is a slide scanner's product name, as a kind key may say where an identifier
    comes from (``patient_id_source: "Hamamatsu NanoZoomer S360"``, ``"Motic EasyScan"``). The rule,
    not a list of products: a maker (:data:`WSI_VENDORS`), then a model code (:func:`_a_model`, or
    two capitals and a number of at most three digits: ``DP 200``), a product's word in camel case
    (:data:`_CAMEL`) or a product line (:data:`PRODUCT_LINES`: ``Leica Aperio GT450``), then such
    words, one number of at most four ASCII digits (no leading zero: ``Leica Aperio 0101`` is a day
    and a month) and one Roman numeral, :data:`_PRODUCT_WORDS` words in all, one model code of them
    (``Leica S23 B1234``, ``Leica Y90 M01 D01``, ``Leica AB 123 CD 456``: an id in a model's
    groups). It is held to an identifier's number rules: no two numbers joined by a separator or a
    space (``Leica Aperio 010 1234 5678``, ``Leica GT450 1990 01 01``; a version of one digit and
    one, :data:`_POINT_VERSION`, is one number: ``NanoZoomer 2.0-HT``), at most
    :data:`_PRODUCT_DIGITS` digits in all. A word a name may be written as (a capitalised word, one in
    capitals, a capitalised word and a digit: ``Sakura Tanaka``, ``Leica KIM``, ``Zeiss Axio
    Scan.Z1``, ``Philips JohnSmith7``), a maker alone (``Sakura``, ``Roche``: names too) or after
    another that is no product line (``Roche Sakura``) leaves the value judged as any other: a
    reviewer's look, where a name passed over would be a leak."""
    words = text.split(" ")
    if (
        not 2 <= len(words) <= _PRODUCT_WORDS
        or words[0] not in WSI_VENDORS
        or _JOINED_DIGITS.search(_POINT_VERSION.sub("V", text))
        or sum(c.isdigit() for c in text) > _PRODUCT_DIGITS
    ):
        return False
    numbers = romans = models = 0
    at, after_model, after_camel, own_line, after_edition = 1, False, False, False, False
    lines = _MAKERS_LINES.get(words[0], ())
    series = _MAKERS_MODELS.get(words[0])
    while at < len(words):
        word = words[at]
        line = re.fullmatch(r"([A-Za-z]+)([1-9][0-9]{0,2})?", word) if at == 1 and lines else None
        was_model, after_model = after_model, False
        was_camel, after_camel = after_camel, False
        was_edition, after_edition = after_edition, False
        scan = _SCAN_WORD.fullmatch(word) if own_line or (lines and was_model) else None
        if line is not None and line[1] in lines:  # a maker's own line, with its model's digits
            numbers += line[2] is not None
            at, own_line = at + 1, True
        elif at == 1 and series is not None and series.fullmatch(word):
            models += 1
            at, after_model = at + 1, True
        elif scan is not None and (scan["model"] is None or _a_model(scan["model"])):
            models += scan["model"] is not None
            at += 1
        elif (was_model or was_camel) and not was_edition and word in _MODEL_SUFFIXES:
            at += 1  # not after an edition's word: ``Leica GT450 Pro HT``, ``HT`` initials perhaps
        elif (was_model or was_camel) and word in _EDITIONS:
            at, after_model, after_edition = at + 1, was_model, True
        elif (
            at + 1 < len(words)
            and re.fullmatch(r"[A-Z]{2}", word)
            and re.fullmatch(r"\d{1,3}", words[at + 1])
        ):
            models += 1
            at += 2
        elif at > 1 and re.fullmatch(rf"{_NOT_A_YEAR}[1-9][0-9]{{0,3}}", word):  # one number, not a year
            numbers += 1
            at += 1
        elif at > 1 and _ROMAN.fullmatch(word):  # one Roman numeral, likewise
            romans += 1
            at += 1
        elif word in PRODUCT_LINES:
            at += 1
        elif _CAMEL.fullmatch(word):
            at, after_camel = at + 1, True
        elif _a_model(word):
            models += 1
            at, after_model = at + 1, True
        else:
            return False
        if models > 1 or numbers > 1 or romans > 1:
            return False
    return True


_KIND_SPLIT = re.compile(r"[\s_/,.():;\-]+|(?<=\d)(?=\D)")
KIND_VALUE_CHARS = 1_024
"""The most characters a value under a kind key holds and still names only a kind: a longer one is
a person's, as any other."""


def looks_identifying(value: Any, settings: DeidSettings | None = None) -> bool:
    """Whether a value under a kind key (:func:`key_says`) may be a person's identifier: every
    value but one that describes a kind -- each string in it (in a list, an object's keys and
    values) a placeholder format (``NNNN-NNNN``, ``YYYY-MM-DD``), a standard (``ISO 8601``) or
    words of a kind's name (``MRN``, ``Medical Record Number``, ``Day Month Year``, ``병록번호``:
    :data:`_KIND_WORDS`, :data:`_KIND_HANGUL`, :data:`_KIND_TOKEN`) with at most one number, of at
    most three digits (a length: ``8 digits``) and joined to no other, each number of the value
    shorter than four digits, all of it at most :data:`KIND_VALUE_CHARS` (items counted). A name in
    any case or form (``hong gildong``, ``KIM``, ``O'Brien Sean``, ``홍 길동``, ``주민``, ``No
    Minsu``), an id (``MRN-1234-56``, ``123-456-789``, ``87654321``) or a date (``01/02/90``) is
    one.

    An object's key that is a field the identifier keys (``settings``': else the built-in ones)
    name whole (``dob``, ``patient_name``) or as a kind (``dob_format``) is neither judged as text
    nor its value here: a form under a kind key (``{"dob": "", "format": "YYYY-MM-DD"}``) names
    nobody for its field names, and the walk of the document judges the field's value as that key
    says (:func:`key_says`: ``"dob": "1990-01-01"`` is flagged at ``dob``, a blank one names
    nobody). ``patient_id_HongGildong`` is more than a field's name, and judged."""
    keys = _IDENTIFYING_KEY if settings is None else settings.compiled.identifier_keys
    stack, seen = [value], 0
    while stack:
        held = stack.pop()
        if isinstance(held, dict):
            seen += len(held)
            if seen > KIND_VALUE_CHARS:  # before its keys are asked of: a long object is a person's
                return True
            for k, v in held.items():
                if not (type(k) is str and _a_field(k, keys)):
                    stack += (k, v)
        elif isinstance(held, list):
            seen += len(held)
            stack.extend(held)
        else:
            seen += len(held) if isinstance(held, str) else 1
            if seen > KIND_VALUE_CHARS or _names_more_than_a_kind(held):
                return True
        if seen > KIND_VALUE_CHARS:
            return True
    return False


def _a_field(key: str, keys: Regex) -> bool:
    """Whether ``key`` is the name of a field holding an identifier or a kind of one: a key the
    identifier-key pattern ``keys`` names whole (``dob``, ``patient_name``) or a kind key
    (``dob_format``, :func:`names_a_kind`); kept by key as :func:`key_says` keeps it."""
    said = _SAID.get((key, keys), len(key), lambda: _says(key, keys))
    return said == "kind" or (said == "person" and whole_key(key, keys.search))


def _names_more_than_a_kind(held: Any) -> bool:
    """:func:`looks_identifying` for a value that is no list or object."""
    if held is None or isinstance(held, bool):
        return False
    if isinstance(held, int | float):
        return math.isfinite(held) and abs(held) >= 1_000
    if _a_product(text := str(held).strip()):
        return False
    standards = _STANDARD.findall(text)
    if sum(any(c.isdigit() for c in s.removeprefix("HL7")) for s in standards) > 1:
        return True  # one numbered standard a value: an id split across several is none
    if any(map(_no_edition, standards)):
        return True
    text = _NINES.sub("N", _STANDARD.sub(" ", text))
    if _JOINED_DIGITS.search(text):
        return True
    numbers = 0
    for word in _KIND_SPLIT.split(text):
        if word.isdecimal():
            numbers += 1
            if numbers > 1 or len(word) > 3:
                return True
        elif word and not (
            word.casefold() in _KIND_WORDS or word in _KIND_HANGUL or _KIND_TOKEN.fullmatch(word)
        ):
            return True
    return False


_KIND = re.compile(
    r"(?:[-_. ]|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z]))(?i:format|type|kind|source|system|scheme|length)\Z"
)
"""The end of a key that is an identifier key's word and a word for what kind of identifier it is:
only words that cannot hold the identifier itself (``dob_estimated: "1990-01-01"``,
``patient_id_verified: 87654321`` hold one: a review of the first list found them passed over).
The kind word is searched for at the key's end, the word before it is what precedes the match: a
pass over the key however it is called (a lazy ``(.+?)`` before the kind word, searched rather than
matched whole, tried every place: 15.5 s a key of 20,000 backslashes; keys are as long as the
file's text allows: a JSON key, a CSV header cell of up to 1,048,576 characters)."""
_NAME_WORD = re.compile(r"(?i)name|성명|성함|환자.?명|^patient$")
"""The words of :data:`DEFAULT_IDENTIFIER_KEYS` that name a person: no kind word makes their value
nobody's (``patient_name_type: "Hong Gildong"``)."""


def names_a_kind(key: str, search: Callable[[str], Any]) -> bool:
    """Whether ``key`` is an identifier key's whole word (``search``: the pattern's) followed by a
    word saying what kind of identifier it is (``patient_id_type``, ``dob_format``,
    ``PatientIDType``; :data:`_KIND`), the word not one naming a person (:data:`_NAME_WORD`): its
    value (``MRN``, ``YYYY-MM-DD``) names nobody, unless it is more than a kind's description
    (:func:`looks_identifying`, ``"Patient ID Type": "Hong Gildong"``). Not ``_hash``: an unkeyed hash of a record number is reversed by
    trying every number. ``patient_id_Hong_type`` is still an identifier key (``patient_id_Hong`` is
    more than the word)."""
    kind = _KIND.search(key)
    word = key[: kind.start()] if kind else ""
    return bool(word) and "\n" not in word and not _NAME_WORD.search(word) and whole_key(word, search)


def quasi_key(key: str, settings: DeidSettings) -> bool:
    """A slide property key that may identify; DICOM sequence paths are judged by their last name."""
    if not settings.enabled:
        return False
    vendor, _, rest = key.partition(".")
    last = re.sub(r"\[\d+\]", "", rest.rsplit(".", 1)[-1])
    return bool(settings.compiled.quasi_keys.match(f"{vendor}.{last}"))


MAX_SEARCHED_TEXTS = 200_000
"""Distinct keys and strings of one annotation file searched for identifiers (:class:`TextBudget`)."""
MAX_SEARCHED_CHARS = 8_000_000
"""Characters of those searched in all (a text past what is left is searched in part). The
slowest texts measured are those searched twice, read and as written, each line's number behind a
character reference (``benchmarks/bench_deid_find.py --sizes 8000000``, session 23, ``nice`` on a
loaded 2-core machine): 10.3 s of CPU for ``"RRN &#900101-1234567 010-1234-5678 "`` repeated to
8,000,000 characters, 11.9 s for ``"&#010-1234-5678 010-1234-5678 "``, and 12.8 s in the second
review for ``"900101-1234567&amp;#48; x "``; the same numbers without references take 3.5 s.
Linear in the text, so a file's texts cost at most about 13 s of CPU (the 1.4 s written here
before was a text searched once). Past either cap the file's other texts are not searched, and
a ``DEID_ANNOTATION_UNSEARCHED`` warning says where searching stopped, as for an XML file."""

Link = tuple[Any, str] | None
"""Where a value sits in a document: None for the top, else ``(the link of its container, its key
or index)``. One tuple a container or text met; a pointer is built from it only for a finding
(:func:`link_parts`), so a deep document costs no path per node."""


def link_parts(link: Link) -> tuple[str, ...]:
    """The keys and indices from the top of the document down to ``link``."""
    parts: list[str] = []
    while link is not None:
        link, part = link
        parts.append(part)
    return tuple(reversed(parts))


SCHEMA_KEYS = frozenset(
    {
        # GeoJSON and the native format (dqm.readers.native_schema)
        "type", "features", "geometry", "geometries", "coordinates", "properties", "bbox", "id", "crs",
        "format", "slide", "file", "width", "height", "mpp", "objective_power", "lesions", "class",
        "clinical",
        # QuPath's GeoJSON export
        "objectType", "classification", "name", "names", "color", "colorRGB", "isLocked",
        "measurements", "metadata", "nucleusGeometry", "plane", "c", "z", "t",
        # COCO
        "info", "licenses", "images", "annotations", "categories", "image_id", "category_id",
        "segmentation", "area", "iscrowd", "file_name", "license", "flickr_url", "coco_url",
        "date_captured", "supercategory", "year", "version", "description", "contributor", "url",
        "date_created", "counts", "size", "keypoints", "num_keypoints", "score", "attributes",
        # DSA (Girder annotation documents and their elements)
        "_id", "_modelType", "_version", "_accessLevel", "annotation", "elements", "display",
        "points", "holes", "group", "center", "closed", "user", "label", "value", "fillColor",
        "lineColor", "lineWidth", "rotation", "normal", "annotationId", "itemId", "created",
        "updated", "creatorId", "updatedId", "public", "access", "groups", "visible",
        # XML attributes: ASAP, ImageScope, HALO
        "Name", "Type", "PartOfGroup", "Color", "Order", "X", "Y", "Z", "Id", "Text", "Value",
        "NegativeROA", "InputRegionId", "Analyze", "DisplayId", "Zoom", "Selected", "ImageLocation",
        "ImageFocus", "Length", "Area", "LengthMicrons", "AreaMicrons", "GeoShape", "MicronsPerPixel",
        "ReadOnly", "NameReadOnly", "LineColorReadOnly", "Incremental", "LineColor", "Visible",
        "MarkupImagePath", "MacroName", "HasEndcaps", "Comments", "Description",
    }
)  # fmt: skip
"""The keys the annotation formats dqm reads define (their schemas' keys, every format's together):
a finding names these by their name. Any other key of an annotation file is the file's own text (a
QuPath feature's ``"properties": {"Kim Minsoo": 1}``, a DSA element's ``user`` key, an XML
attribute's name) and may be a person's name no pattern knows: a pointer or a message names it by
its position, ``#2``, the second key of its object that is not one of these, in the object's order
(:class:`KeyNames`). Counting only such keys gives one number wherever dqm holds the object (a
reader keeps a lesion's object without the keys it reads), and a format's key added or moved renumbers
none."""


XML_ELEMENTS = frozenset(
    {
        "ASAP_Annotations", "Annotations", "Annotation", "Coordinates", "Coordinate", "AnnotationGroups",
        "Group", "Attributes", "Attribute", "Regions", "Region", "Vertices", "Vertex", "V", "Comments",
        "Comment", "RegionAttributeHeaders", "AttributeHeader", "Plots", "Plot",
    }
)  # fmt: skip
"""The elements the XML formats dqm reads define (ASAP, ImageScope, HALO): a path names these by
their tag. Any other element's tag is the file's text (``<Hong_Gildong>``, ``<김민수>``) and is
named by its position, ``#2``: the second tag no format defines among its parent's children, in
the file's order (``/ASAP_Annotations/#1[1]/text()[1]``), as an attribute's name is
(:func:`dqm.readers.common.xmltree._attribute_at`)."""


class KeyNames:
    """How pointers and messages name the keys of a document's objects: a key of
    :data:`SCHEMA_KEYS` or a plain word ``named`` says is, all of it, a key naming a person
    (``patient_name``: cut and shown by :mod:`validators.deid`'s rules; :func:`whole_key`) by its
    name, any other by its position (``#2``, see :data:`SCHEMA_KEYS`: ``patient_name_HongGildong``
    is a plain word, but the rest of it may be a name). Each object's names are worked out once, when a pointer into it is
    built (an object of many keys costs one pass, not one a key)."""

    __slots__ = ("_named", "_seen")

    def __init__(self, named: Callable[[str], bool]) -> None:
        self._named = named
        self._seen: dict[int, tuple[Any, dict[str, str]]] = {}

    def of(self, obj: dict[Any, Any], unnamed: Container[str] = ()) -> dict[str, str]:
        """The name each key of ``obj`` is shown by; ``unnamed``: keys the caller knows are not
        shown by their name (no identifier key names any of them, :func:`key_holds_text` asked
        already: a file of a million unknown keys searched once a key, not twice)."""
        held = self._seen.get(id(obj))
        if held is not None and held[0] is obj:
            return held[1]
        names: dict[str, str] = {}
        n = 0
        for k in obj:
            key = k if type(k) is str else str(k)
            if key in SCHEMA_KEYS:
                names[key] = key
                continue
            n += 1
            names[key] = key if key not in unnamed and self.by_name(key) else f"#{n}"
        self._seen[id(obj)] = (obj, names)
        return names

    def key(self, obj: dict[Any, Any], key: str) -> str:
        """``key`` of ``obj`` as shown."""
        return self.of(obj).get(key, key if key in SCHEMA_KEYS or self.by_name(key) else "#?")

    def by_name(self, key: str) -> bool:
        """Whether a key not in :data:`SCHEMA_KEYS` is shown by its name: a plain word that is all
        of it a key naming a person (``patient_name``; ``patient_name Hong Gildong`` and
        ``patient_name_HongGildong`` are more than the key)."""
        return plain_key(key) and self._named(key)

    def path(self, value: Any, parts: Iterable[str]) -> list[str]:
        """``parts`` (keys and indices from ``value`` down) as shown: an object's key by
        :meth:`key`, a list's index as it is."""
        shown: list[str] = []
        for part in parts:
            if isinstance(value, dict):
                shown.append(self.key(value, part))
                value = value.get(part)
            elif part.isdigit():
                shown.append(part)
                value = (
                    value[int(part)] if isinstance(value, list | tuple) and int(part) < len(value) else None
                )
            else:  # below what the document holds: a format's key or a position unknown
                shown.append(part if part in SCHEMA_KEYS else "#?")
                value = None
        return shown


KEY_TEXT = "\x00"
"""The end of a kept text's pointer (:func:`dqm.readers.common.base.texts`) whose value is the name
of the key the pointer names by its position (``/features/1/properties/#2`` + ``KEY_TEXT``: the
key ``Patient name: Hong Gildong``): the key is searched as it was when the pointer named it,
and a finding says where by the pointer without it. No pointer dqm builds holds this character
(a key holding it is named by its position)."""


def reader_keys() -> KeyNames:
    """The :class:`KeyNames` a reader builds a pointer with: a key the identifier keys name
    whole (:func:`identifying_word`) by its name."""
    return KeyNames(identifying_word)


def whole_key(key: str, search: Callable[[str], Any]) -> bool:
    """Whether an identifier-key pattern (``search``) matches all of ``key`` (``patient_name``, not
    ``patient_name_HongGildong``: what is past the match may be a name), and not as a shorter key
    and the character that ends or starts its word (``patientIdH``, ``patient_id2``, ``xDOB``);
    as :func:`fold_key` folds it (``ＤＯＢ``), or as written (:func:`key_readings`)."""
    return any(
        _whole(read, search) and not _whole(read[:-1], search) and not _whole(read[1:], search)
        for read in key_readings(key)
    )


def _whole(key: str, search: Callable[[str], Any]) -> bool:
    found = search(key) if key else None
    return found is not None and found.group(0) == key


FIELD_WORDS = frozenset((
    "issuer", "of", "other", "ids", "id", "sequence", "birth", "date", "time", "datetime", "name", "names",
    "sex", "age", "size", "weight", "address", "comments", "comment", "mother", "mothers", "maiden",
    "telephone", "numbers", "number", "qualifiers", "type", "responsible", "person", "organization", "role",
    "insurance", "plan", "code", "species", "breed", "description", "accession", "identity", "removed",
    "method", "trial", "referenced", "request", "requested", "attributes", "admission", "admitting",
    "primary", "language", "ethnic", "group", "state", "pregnancy", "status", "last", "menstrual",
    "clinical", "medical", "alerts", "allergies", "occupation", "military", "rank", "branch", "religious",
    "preference", "additional", "history", "special", "needs", "body", "mass", "index", "universal",
    "entity", "local", "namespace", "assigning", "facility", "jurisdiction", "agency", "identifier",
    "identifiers", "effective", "expiration", "confidentiality", "constraint", "on", "patient", "patients",
    "data", "item", "value", "label", "text", "format", "kind", "source", "system", "scheme", "length",
    "family", "given", "middle", "prefix", "suffix", "phonetic", "ideographic", "alphabetic", "component",
    "representation", "alternative", "registration", "resident", "social", "security", "record", "hospital",
    "chart", "encounter", "visit", "case", "specimen", "slide", "container", "barcode", "physician",
    "physicians", "referring", "performing", "reading", "operator", "operators", "institution",
    "department", "station", "device", "serial", "manufacturer", "model", "software", "versions", "version",
    "study", "series", "instance", "uid", "content", "acquisition", "frame", "and", "for", "in", "the",
    "to", "by", "at", "no", "vr", "calendar", "consulting", "requesting", "dob", "rrn", "ssn", "mrn", "hrn",
))  # fmt: skip
"""The words of a standard property's name (DICOM's ``IssuerOfPatientID``,
``OtherPatientIDsSequence``, ``PatientBirthTime``; ``patient_birth_date``): a name made of these
alone names a kind of identifier and holds none (:func:`names_fields`). No surname is one."""
_FIELD_TOKEN = re.compile(r"(\[[0-9]{1,3}\])|[._\- ]+|([A-Z]+s?(?![a-z])|[A-Z]?[a-z]+)")
"""A standard name's index (``[0]`` to ``[999]``: a longer number is a value), separator or word
(split at case changes)."""
_VALUE_WORDS = frozenset(("name", "names", "id", "ids", "dob", "rrn", "ssn", "mrn", "hrn"))
"""Words a person's name or id follows as its value (``patient_name_Case_Rank``: ``Case``, ``Rank``
are a surname's words here, not a field's)."""
_BEFORE_VALUE_WORDS = frozenset((
    "patient", "patients", "other", "issuer", "of", "type", "referring", "performing", "physician",
    "physicians", "operator", "operators", "institution", "station", "mother", "mothers", "birth",
    "maiden", "responsible", "person", "organization", "study", "admission", "admitting", "device",
    "accession", "specimen", "container", "slide", "universal", "entity", "local", "namespace",
    "assigning", "facility", "jurisdiction", "agency", "request", "requested", "requesting",
    "consulting", "family", "given",
    "middle", "series", "instance", "content", "manufacturer", "model", "software", "hospital",
    "medical", "record", "chart", "encounter", "visit", "registration", "resident", "social",
    "security", "insurance", "plan", "alternative", "primary", "department", "serial", "the",
    *_VALUE_WORDS,
))  # fmt: skip
"""What a standard name has before such a word (``IssuerOfPatientID``, ``PatientMotherBirthName``,
``ReferringPhysicianName``): no word a surname often is (``Case_Rank_patient_name``)."""
_AFTER_VALUE_WORDS = frozenset((
    "sequence", "qualifiers", "type", "of", "and", "alphabetic", "ideographic", "phonetic", "component",
    "family", "given", "middle", "prefix", "suffix", "number", "no", "issuer", "value", "text", "label",
    "format", "source", "system", "scheme", "length", "version", "code", "vr", *_VALUE_WORDS,
))  # fmt: skip
"""What a standard name has after such a word (``OtherPatientIDsSequence``,
``IssuerOfPatientIDQualifiersSequence``, DICOM JSON's ``PatientName.Alphabetic``, ``patient_id_number``)."""
_AFTER_VALUE_PAIRS = frozenset((("of", "physicians"), ("physicians", "reading"), ("reading", "study")))
"""Other words a standard name has there, each after the word it follows
(``NameOfPhysiciansReadingStudy``)."""
MAX_FIELD_INDICES = 3
"""At most so many indices in a standard name (``A[0].BSequence[1].C[2]``), never two in a row:
``PatientID[123][456][78]`` splits an id into short indices."""


def names_fields(key: str) -> bool:
    """Whether ``key`` (a property's name: ``dicom.OtherPatientIDsSequence[0].PatientID``) is a
    standard name: every token of it (split at ``.``, ``_``, ``-``, spaces, case changes and
    brackets) a word of :data:`FIELD_WORDS` or an index (at most :data:`MAX_FIELD_INDICES`, no two
    in a row), and of a field that names a person or an id (one with a :data:`_VALUE_WORDS` word)
    the words before that word :data:`_BEFORE_VALUE_WORDS` and those after it
    :data:`_AFTER_VALUE_WORDS` or :data:`_AFTER_VALUE_PAIRS`, to the end of the name: only a
    sequence's index (``Sequence[0].``) starts a new field. Anything else is no standard name
    (``aperio.patient_name[0].Case_Rank``, ``Case_Rank_patient_name``,
    ``PatientBirthDate[19][90][01][01]``): a name that is one shown whole may carry an identifier
    into every message, so a readable name is masked sooner than an identifier shown."""
    pos, indices, last = 0, 0, ""
    field: list[str] = []
    fields = [field]
    for token in _FIELD_TOKEN.finditer(key):
        if token.start() != pos:
            return False
        pos = token.end()
        if token.group(1):
            indices += 1
            if last == "[]" or indices > MAX_FIELD_INDICES:
                return False
            if last == "sequence":
                field = []
                fields.append(field)
            last = "[]"
        elif token.group(2):
            last = token.group(2).casefold()
            if last not in FIELD_WORDS:
                return False
            field.append(last)
    return pos == len(key) and all(map(_names_a_field, fields))


_AFTER_NAME_NOT = frozenset(("no", "number"))
"""Words of :data:`_AFTER_VALUE_WORDS` that follow an id's word only (``patient_id_no``), never a
name's: ``No`` (노) and ``On`` are Korean surnames, ``patient_name_No`` a name glued to its key."""


def _name_glued(words: list[str], after: int) -> bool:
    """Whether a name's word at ``after`` or later is followed by ``no`` or ``number`` (a name
    glued to its key: ``patient_name_No``, ``patient_id_name_No``, ``PatientIDNameNo``)."""
    return any(
        word in ("name", "names") and not _AFTER_NAME_NOT.isdisjoint(words[i + 1 :])
        for i, word in enumerate(words[after:], after)
    )


_PATIENT_WORDS = frozenset((
    "patient", "patients", "pt", "mrn", "hrn", "pid", "subject", "subjects", "rrn", "ssn", "dob",
))  # fmt: skip
"""Words that name a patient or a patient's id: a name's word after one of them, glued to ``no``,
is a surname glued (``mrn_name_No``); after an id's word of anything else it is the id's name
(``scanner_id_name_no``, ``case_id_name_no``)."""


def glues_a_name(key: str) -> bool:
    """Whether ``key`` has a patient's word (:data:`_PATIENT_WORDS`, ``환자``) before a name's word
    followed by ``no`` or ``number`` (``mrn_name_No``, ``patient_ids_name_No``): a surname (노 No)
    glued to a key no identifier-key pattern matches; so is a key that starts with an id's or a
    name's word, owned by no word before it (``id_name_No``, ``name_No``: the patient's, as nothing
    says whose). ``slide_name_no`` and ``scanner_id_name_no`` are none."""
    words = [token.group(2).casefold() for token in _FIELD_TOKEN.finditer(key) if token.group(2)]
    first = next((i for i, word in enumerate(words) if word in _PATIENT_WORDS), None)
    if first is None and ("환자" in key or words[:1] in (["id"], ["ids"], ["name"], ["names"])):
        first = -1  # an id or a name of nobody named (``id_name_No``): whose but the patient's
    return first is not None and _name_glued(words, first + 1)


def _names_a_field(words: list[str]) -> bool:
    at = next((i for i, word in enumerate(words) if word in _VALUE_WORDS), None)
    if at is None:
        return True
    if _name_glued(words, at):
        return False
    return all(word in _BEFORE_VALUE_WORDS for word in words[:at]) and all(
        word in _AFTER_VALUE_WORDS or (before, word) in _AFTER_VALUE_PAIRS
        for before, word in pairwise(words[at:])
    )


def key_word(key: str, search: Callable[[str], Any]) -> str | None:
    """What of ``key`` an identifier-key pattern (``search``) matches, less a letter or digit that
    only ends or starts its word (``patientIdHong``: ``patientId``, not ``patientIdH``;
    ``patient_id김민수``: not ``patient_id김``; ``HongDOB``: ``DOB``, not ``gDOB``; ``dob19900101``:
    ``dob``, not ``dob1``, the first digit of the date the key holds); None where it matches none.
    A separator stays (``patient_id_…``): it names nobody. Of the key as :func:`fold_key` folds it
    (``ｐａｔｉｅｎｔ＿ｉｄ２`` shows ``patient_id…``)."""
    found = next((f for read in key_readings(key) if (f := search(read)) is not None), None)
    if found is None:
        return None
    word: str = found.group(0)
    if word[-1:].isalnum() and _whole(word[:-1], search):
        word = word[:-1]
    return word[1:] if word[:1].isalnum() and _whole(word[1:], search) else word


class TextBudget:
    """What is left to search of one file's text (:data:`MAX_SEARCHED_TEXTS`,
    :data:`MAX_SEARCHED_CHARS`), shared by every :func:`walk` of that file, and where the first
    text not searched in full sits (``stopped``: the walked value's tag and the text's link)."""

    __slots__ = ("chars", "limits", "stopped", "texts")

    def __init__(self, texts: int | None = None, chars: int | None = None) -> None:
        self.texts = MAX_SEARCHED_TEXTS if texts is None else texts
        self.chars = MAX_SEARCHED_CHARS if chars is None else chars
        self.limits = (self.texts, self.chars)
        self.stopped: tuple[Any, Link] | None = None

    def take(self, text: str, tag: Any, link: Link) -> str:
        """``text`` as far as it is searched (all of it, a part or nothing), counted; ``stopped``
        set when it is not all."""
        if self.stopped is not None:
            return ""
        if self.texts <= 0 or len(text) > self.chars:
            self.stopped = (tag, link)
            text = "" if self.texts <= 0 else text[: self.chars]
        self.texts -= 1
        self.chars -= len(text)
        return text


def _never(key: str, link: Link, held: Any) -> bool:
    return False


def walk(
    value: Any, tag: Any = None, stop: Callable[[str, Link, Any], bool] = _never
) -> Iterator[tuple[Link, str, Any, bool]]:
    """Every key and string inside nested dicts and lists, in the document's order, however deep
    and long (one loop, no recursion): each key as ``(its link, the key, its value, True)``, before
    what its value holds (nothing when ``stop(key, link, value)``), and each string as ``(its link,
    the key nearest above it, the string, False)`` -- the key of a list's items is the list's, so
    ``"patient": ["Hong", "Gildong"]`` gives each name under ``patient``. ``tag`` names the walked
    value in a :class:`TextBudget`. Numbers and other values are stepped over."""
    frames: list[Iterator[tuple[Link, str, Any, bool]]] = [iter(((None, "", value, False),))]
    while frames:
        for link, key, held, keyed in frames[-1]:
            if keyed:
                yield link, key, held, True
                if stop(key, link, held):
                    continue
            kind = type(held)
            if kind is str:
                yield link, key, held, False
            elif kind is dict or isinstance(held, dict):
                frames.append(_entries(held, link))
                break
            elif kind is list or isinstance(held, list | tuple):
                frames.append(_items(held, link, key))
                break
        else:
            frames.pop()


def _entries(value: dict[Any, Any], link: Link) -> Iterator[tuple[Link, str, Any, bool]]:
    for k, v in value.items():
        key = k if type(k) is str else str(k)
        yield (link, key), key, v, True


def _items(value: list[Any] | tuple[Any, ...], link: Link, key: str) -> Iterator[tuple[Link, str, Any, bool]]:
    for i, v in enumerate(value):
        yield (link, str(i)), key, v, False


def strings(value: Any) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every string inside nested dicts and lists, with its key path (:func:`walk`)."""
    return ((link_parts(link), v) for link, _, v, keyed in walk(value) if not keyed)


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_IDENTIFYING_KEY = re.compile(DEFAULT_IDENTIFIER_KEYS)


MASKED_VALUE_CHARS = 256
"""Characters of a value under an identifying key gathered for its masked form (a list or an
object under ``patient``: its texts joined)."""


def flat_text(held: Any) -> str:
    """The text a value under an identifying key holds: a string, a number, or the strings and
    numbers inside a list or an object joined by spaces (about :data:`MASKED_VALUE_CHARS` of them)."""
    if isinstance(held, str):
        return held
    if not isinstance(held, dict | list):
        return "" if held is None or isinstance(held, bool) else str(held)
    parts = (
        [str(v) for v in held[:16] if type(v) is int or type(v) is float] if isinstance(held, list) else []
    )
    size = sum(len(p) + 1 for p in parts)
    for _, _, value, keyed in walk(held):
        text = (
            flat_text(value) if keyed and not isinstance(value, str | dict | list) else "" if keyed else value
        )
        if text.strip():
            parts.append(text)
            size += len(text) + 1
            if size > MASKED_VALUE_CHARS:
                break
    return " ".join(parts)[:MASKED_VALUE_CHARS]


def holds_text(value: Any) -> bool:
    """Whether a JSON value is or holds text to search: a string, or a key that may be one
    (:func:`key_holds_text`). A number or a list of numbers holds none."""
    return any(not keyed or key_holds_text(key) for _, key, _, keyed in walk(value))


def plain_key(key: str) -> bool:
    """Whether a key is a plain word (``patient_name``), not text that may hold more (``Patient
    name: Hong Gildong``)."""
    return _PLAIN_KEY.fullmatch(key) is not None


class _OwnKeys:
    """A profile's identifier-key pattern as a reader asks it, key by key: a file names the same
    few keys again and again (each lesion's), and the pattern runs on RE2 (6 µs a key, where
    the answer remembered costs a lookup); at most :data:`OWN_KEYS_KEPT` answers are kept."""

    __slots__ = ("pattern", "seen")

    def __init__(self, source: str) -> None:
        self.pattern = _keys_pattern(source)
        self.seen: dict[str, bool] = {}

    def names(self, key: str) -> bool:
        if (named := self.seen.get(key)) is None:
            if len(self.seen) >= OWN_KEYS_KEPT:
                self.seen.clear()
            named = self.seen[key] = self.pattern.search(key) is not None
        return named


OWN_KEYS_KEPT = 4096
_READ_KEYS: ContextVar[_OwnKeys | None] = ContextVar("dqm_read_identifier_keys", default=None)
"""The profile's own identifier keys while a file is read (:func:`reading_keys`)."""


def read_keys(settings: DeidSettings) -> str | None:
    """The identifier-key pattern a reader keeps values under besides the built-in one: the
    profile's ``identifier_keys`` when de-identification is on and they are not the built-in
    ones; None otherwise. A parse is cached under it (:func:`dqm.readers.parse_annotation`): a
    file read for another profile kept other values."""
    if not settings.enabled or settings.identifier_keys == DEFAULT_IDENTIFIER_KEYS:
        return None
    return settings.identifier_keys


@contextmanager
def reading_keys(source: str | None) -> Iterator[None]:
    """Readers keep the values under the keys ``source`` names too (:func:`identifying_key`)
    inside the block; None: the built-in identifier keys alone."""
    token = _READ_KEYS.set(None if source is None else _OwnKeys(source))
    try:
        yield
    finally:
        _READ_KEYS.reset(token)


@cache
def _keys_pattern(source: str) -> Regex:
    return _compiled(_runnable(source))


def identifying_key(key: str) -> bool:
    """Whether the identifier keys name ``key`` (``patient_id``, ``patient``): what a reader keeps
    whole under it. The built-in ones, and the profile's own while it reads for a profile
    (:func:`reading_keys`): ``{"chart_no": 12345678}`` with ``identifier_keys: chart_no``. A key
    naming a kind of identifier too (``patient_id_type``, :func:`key_says`): what its value is
    says whether it names a person (:func:`looks_identifying`), ``"87654321"`` a number. Matched
    as :func:`fold_key` folds it."""
    own = _READ_KEYS.get()
    return any(
        _IDENTIFYING_KEY.search(read) is not None or (own is not None and own.names(read))
        for read in key_readings(key)
    )


def identifying_word(key: str) -> bool:
    """Whether the identifier keys name all of ``key`` (:func:`identifying_key`, :func:`whole_key`)."""
    if whole_key(key, _IDENTIFYING_KEY.search):
        return True
    own = _READ_KEYS.get()
    return own is not None and whole_key(key, own.pattern.search)


def key_holds_text(key: str) -> bool:
    """Whether a key is searched whatever its value: more than a plain word (``{"Patient name:
    Hong Gildong": 1}``), or one the identifier keys name (``{"patient_id": 12345678}``; the
    profile's own too, :func:`identifying_key`). A reader keeps what holds text for the
    de-identification checks, and the values under these keys whatever they are."""
    return not plain_key(key) or identifying_key(key)


MASK_KEY_ENV = "DQM_MASK_KEY"
"""Environment variable holding the masking key (any text; at least 16 characters)."""
MASK_KEY_BYTES = 32


def default_key_path() -> Path:
    """Where the masking key lives unless told otherwise: the user's configuration folder, never an
    output folder (``$XDG_CONFIG_HOME/dqm/mask.key``, else ``~/.config/dqm/mask.key``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "dqm" / "mask.key"


_NO_HARD_LINKS = frozenset(
    getattr(errno, name)
    for name in ("EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS", "EXDEV")
    if hasattr(errno, name)
)
"""What ``link(2)`` says on a folder whose file system has no hard links (vfat/exFAT, some SMB or
FUSE mounts: EPERM, ENOTSUP, ENOSYS, EXDEV): :func:`_create_key` then writes the key under its
own name."""


def _create_key_in_place(path: Path, key: bytes) -> bool:
    """Write ``key`` under ``path`` itself, created exclusively and owner-only, for a file system
    without hard links; False when another run created it first (its key is kept). A write cut
    short removes the file: a short key stopped every later run until a person deleted it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    return True


def _create_key(path: Path, key: bytes) -> None:
    """Write ``key`` to ``path``, owner-only, whole or not at all: flushed under a temporary name,
    then linked to ``path`` (``link`` never replaces: a key another run created meanwhile is
    kept), or, where the file system has no hard links, written under ``path`` created exclusively
    (:func:`_create_key_in_place`). A key written straight under its name and cut short by a full disk stopped every later
    run ("holds fewer than 16 bytes") until a person deleted it. Written here, not by
    :mod:`dqm.output`, which imports this module; a failure is an OSError naming ``path``."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS:
                raise
            if not _create_key_in_place(path, key):
                return
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    except OSError as exc:
        if exc.filename is None or os.fsdecode(exc.filename) == str(tmp):
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


MASK_KEY_LIMIT = 4096
"""The most bytes a masking key file holds (one is 32): a larger file is the wrong one, refused
having read no more than this."""


def load_mask_key(path: Path | None = None) -> bytes:
    """The secret that keys :class:`Masker`: ``$DQM_MASK_KEY``, else the file at ``path`` (or
    :func:`default_key_path`), created with 32 random bytes and owner-only permissions when absent.

    Keyed, because a plain hash of a 13-digit resident registration number is reversed by hashing
    every number; the same key gives the same masked text in every run, so outputs of two runs
    (a baseline and its redelivery) still match.
    """
    env = os.environ.get(MASK_KEY_ENV)
    if env:
        if len(env) < 16:
            raise ValueError(f"{MASK_KEY_ENV} must hold at least 16 characters")
        return env.encode("utf-8")
    path = path or default_key_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _create_key(path, secrets.token_bytes(MASK_KEY_BYTES))
    with open(path, "rb") as fh:
        key = fh.read(MASK_KEY_LIMIT + 1)  # a key is bytes, never a file read whole
    if len(key) > MASK_KEY_LIMIT:
        raise ValueError(f"the masking key {path} holds more than {MASK_KEY_LIMIT} bytes")
    if len(key) < 16:
        raise ValueError(f"the masking key {path} holds fewer than 16 bytes")
    return key


MASK_SCAN_CHARS = 4096
"""Characters of one string a :class:`Masker` searches at a time: patterns are local, so a long
string is scanned in overlapping windows and the cost stays linear in its length."""
_WINDOW_OVERLAP = 256


_UNSEEN_OR_PARTING = {"Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Zs", "Zl", "Zp", "Cf"}
"""The categories of a named reference's character :data:`_ENTITY` reads: a punctuation mark, a
space or a separator, or a format character nobody sees (``&shy;``, ``&ZeroWidthSpace;``,
``&NoBreak;``, ``&zwj;``, ``&lrm;``: :data:`_INVISIBLE`)."""


def _separator_entities() -> list[str]:
    """The names of HTML's named character references that stand for a space or a separator (no
    letter, no digit, no symbol a name holds: ``&nbsp;``, ``&ensp;``, ``&Tab;``, ``&comma;``,
    ``&hyphen;``, ``&lowbar;``, and ``&minus;``, a symbol the patterns take for a dash: :data:`_DASHES`)
    or a character nobody sees (``&shy;``, ``&zwj;``), longest first, as HTML 5 lists them (legacy ones without their
    ``;`` too: ``&nbsp``, as a browser reads them)."""
    names = [
        name
        for name, char in html.entities.html5.items()
        if len(char) == 1
        and (char.isspace() or unicodedata.category(char) in _UNSEEN_OR_PARTING or _DASH.fullmatch(char))
    ]
    return sorted(names, key=lambda name: (-len(name), name))


_ENTITY = (
    r"&#(?:[0-9]+|[xX][0-9a-fA-F]+);?|&(?:"
    + "|".join(re.escape(name) for name in _separator_entities())
    + ")"
)
"""An HTML or XML character reference as a browser reads it: numeric (``&#32;``, ``&#x20;``, its
``;`` left out, ``&#32Gildong``, or its digits led by zeros, ``&#00000032;``) or a named one that
stands for a space or a separator (``&nbsp;``, ``&ensp;``, ``&comma;``: every other named one is a
letter or a symbol, which no pattern passes over). A batch's text as a JSON or a CSV file holds
it is read by no reader (an XML parser decodes it), where a person reads the character
(``Patient name:&#32;Hong&nbsp;Gildong``)."""
_ESCAPE = re.compile(
    r"""\\(?:u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U(?:000[0-9a-fA-F]|0010)[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|[tnrfbv"'/\\])"""
    rf"|{_ENTITY}"
)
"""An escape the outputs hold: JSON's, Python's, and :func:`dqm.output.visible`'s ``\\UXXXXXXXX`` of a
character past U+FFFF (a tag character before an RRN must not hide it), or JSON's surrogate pair
of one (``\\udb40\\udc41``, as ``json.dumps`` writes U+E0041: one character, read as a whole); a
``\\U`` past U+10FFFF is no character, and left as it is; and a numeric character reference (:data:`_ENTITY`)."""
_ENTITIES = re.compile(_ENTITY)
_MAY_REFERENCE = re.compile(
    r"&(?:#|[A-Za-z][A-Za-z0-9]*;|"
    + "|".join(name for name in _separator_entities() if not name.endswith(";"))
    + ")"
)
"""Where a character reference may be: ``&`` then ``#``, or a run of letters (and digits:
``&emsp13;``) that ends in ``;`` or is a legacy name read without it (``&nbsp``, ``&amp``). A
URL's ``&page=2`` is none, and a text whose ``&`` are all so is not decoded (:func:`_decodes`)."""
_ESCAPE_CHARS = "tnrfbvuxU0-9a-fA-F\"'/"
"""The characters after the backslash of an escape :data:`_ESCAPE` decodes (a character class's body)."""
_ESCAPED = {"t": "\t", "n": "\n", "r": "\r", "f": "\f", "b": "\b", "v": "\v"}


def unescaped(text: str) -> tuple[str, list[int] | None]:
    """``text`` with its escape sequences (JSON's ``\\t`` and ``\\uXXXX``, Python's ``\\xa0`` in a
    quoted value, and both: a quoted value in JSON; ``\\UXXXXXXXX`` as :func:`dqm.output.visible` writes;
    HTML's ``&#32;``) as the characters they stand for, and where
    each character of that starts in ``text`` (one more entry: the end); ``text`` itself and None
    when it holds no backslash and no ``&``.

    Outputs are masked as they are written, after escaping: ``900101\\t-\\t1234567`` or
    ``Patient name:\\tJohn Smith`` in results.json did not match a pattern that allows whitespace
    there, and ensure-ASCII JSON hides every Korean name."""
    text, where = _decoded(text)
    if _INVISIBLE.search(text) is not None:
        text, inner = _shown(text)
        where = inner if where is None else [where[i] for i in inner]
    return text, where


def _decoded(text: str) -> tuple[str, list[int] | None]:
    """:func:`unescaped` but for its last step: the escapes and references read, a character nobody
    sees kept (:func:`_unseen_runs`)."""
    where: list[int] | None = None
    for _ in range(3):  # a value quoted with repr() inside JSON is escaped twice
        if not _escaped(text):
            break
        text, inner = _unescaped_once(text)
        where = inner if where is None else [where[i] for i in inner]
    return text, where


def _unseen_runs(
    text: str,
    patterns: Patterns,
    read: list[tuple[int, int]],
    held: list[set[str]] | None = None,
    decoded: tuple[str, list[int] | None] | None = None,
) -> list[tuple[int, int, str, int, str]]:
    """The runs of ``text`` read with its invisible characters kept (:func:`_decoded`), each a
    place in ``text`` with what it masks, that no run of ``text`` read (``read``, places in
    ``text``) overlaps; none where it holds none. An invisible character read as nothing glues
    what it parted (``010-1234-5678<U+E0041>123-45-6789``: a phone number then a social security
    number, read as digits no pattern's bounds take), so both readings are searched, as the
    masker masked them before it read past them. ``decoded``: :func:`_decoded` of ``text`` where
    the caller has it."""
    kept, where = _decoded(text) if decoded is None else decoded
    if _INVISIBLE.search(kept) is None:
        return []
    spread = _Spread(read)
    kinds: list[set[str]] = []
    found = []
    for i, (start, end, name, begin) in enumerate(_runs(kept, patterns, kinds)):
        low, high, first = (start, end, begin) if where is None else (where[start], where[end], where[begin])
        if not spread.touching(low, high):
            found.append((low, high, name, first, kept[start:end]))
            if held is not None:
                held.append(kinds[i])
    return found


def _plain(text: str) -> str:
    """:func:`unescaped`'s text alone (``text`` itself when it holds no escape and no reference,
    :func:`_decodes`), without the list of where each character starts: most windows hold no
    identifier, and need none. A pass that decodes nothing is the last."""
    return _plain_read(text)[0]


def _plain_read(text: str) -> tuple[str, bool]:
    """:func:`_plain`'s text, and whether it left out a character nobody sees (so
    :func:`_unseen_runs` has a reading to search)."""
    for _ in range(3):
        if not _escaped(text):
            break
        text, decoded = _ESCAPE.subn(_escaped_char, text)
        if not decoded:
            break
    if _INVISIBLE.search(text) is not None:
        return _INVISIBLE.sub(_gap_or_none, text), True
    return text, False


_AMPERSAND = r"&(?:(?i:amp);?|#0*38(?![0-9]);?|#[xX]0*26(?![0-9a-fA-F]);?)*"
"""An ``&`` as written through any layers of escaping a reader decodes: ``&amp;``, ``&AMP;``,
``&amp`` without its ``;``, ``&#38;``, ``&#x26;``, each any times (``&amp;amp;``, ``&amp;#38;``)."""
_LAYERED_HASH = _AMPERSAND + r"(?:#|" + _AMPERSAND + r"(?:#0*35(?![0-9]);?|#[xX]0*23(?![0-9a-fA-F]);?|num;))"
"""The ``&#`` that starts a numeric character reference as a reader that decodes the text's
layers one by one reads it: an ``&`` (:data:`_AMPERSAND`) and a ``#``, written as is or as
``&#35;``, ``&#x23;`` or ``&num;`` behind an ``&`` of any layers (``&amp;&#35;900101``). Each
layer is taken in by what it decodes to, ``&`` or ``#``, not listed by its spelling."""


_DIGITS_ESCAPED = re.compile(
    _LAYERED_HASH + r"[xX0-9]|\\(?<=[0-9]\\)\\*(?:u003|x3|U0000003)[0-9]"
    r"|(?<!\\)\\+(?:u[0-9a-fA-F]{3}|x[0-9a-fA-F]|U[0-9a-fA-F]{7})[0-9](?=[^\w\\]{0,3}[0-9])"
)
"""Where an identifier as written may take in an escape's digits, which the text read does not
show as digits: a numeric character reference (``&#900101-1234567``: a browser reads
``&#900101`` as one character, and only ``-1234567`` is left; its ``&`` or ``#`` escaped again in
any way, ``&amp;#900101``, ``&AMP;#``, ``&amp#``, ``&#38;#``, ``&amp;&#35;``, as a reader that
decodes it twice reads it: :data:`_LAYERED_HASH`), an escape whose last character is
a decimal digit with digits after it (``\\u900101-1234567``; from a run of backslashes' first only: each later one tried again
was quadratic, 40,000 backslashes held a cut 4.9 s), and a digit before an escape of one
(``900101-1234567\\u0030`` reads as fourteen digits, no resident number). A person reading the
text as written (results.json; the report, which shows a reference as written) sees those
digits: such a text is searched as written too (:func:`_readings`)."""


def _readings(text: str, plain: str) -> tuple[str, ...]:
    """The readings of ``text`` that :func:`find`, the masker and the cut search, ``plain`` (its
    escapes and references read, :func:`_plain`) first: ``text`` as written too where it reads
    otherwise and holds digits an escape takes in (:data:`_DIGITS_ESCAPED`)."""
    if plain is text or plain == text or _DIGITS_ESCAPED.search(text) is None:
        return (plain,)
    return plain, text


_WRITTEN_ESCAPE = re.compile(
    r"""(?<!\\)\\+(?:u[0-9a-fA-F]{4}|U(?:000[0-9a-fA-F]|0010)[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|[tnrfbv"'/\\])"""
    + "|"
    + _LAYERED_HASH
    + "(?:[0-9]+|[xX][0-9a-fA-F]+);?|&(?:amp;){0,2}(?:"
    + _ENTITY.replace("|&", "|")[1:]
    + ")"
)
"""An escape or a character reference as written, escaped again up to the levels :func:`unescaped`
reads (``\\\\u9001``, ``&amp;#32;``), a numeric one behind an ``&`` or a ``#`` escaped any times
(:data:`_LAYERED_HASH`: ``&#38;#900101``): the characters of a text as written that a reading of it
decodes. A backslash escape from a run's first backslash only (linear in a run of them)."""


def _written_runs(
    text: str, runs: list[tuple[int, int, str, int]], read: list[tuple[int, int]]
) -> Iterator[tuple[int, tuple[int, int, str, int, str]]]:
    """Those of ``runs`` (of ``text`` as written, :func:`_runs`) that only the reading as written
    finds, each with its index, widened to the whole escape each of its ends falls inside
    (``\\u900101-1234567`` masked whole: a lone ``\\u`` before a token is no JSON), and what it
    finds: a run that takes in a digit of an escape or a reference (``&#900101-1234567``) and
    holds a character neither an escape nor a run of the text read (``read``, places in ``text``,
    in order) holds. The others are the text read's, which finds them as their characters (the
    ``n`` of a ``\\n`` as a letter of an e-mail address; ``\\xa0kim@…``, its ``xa0`` too)."""
    escapes = [m.span() for m in _WRITTEN_ESCAPE.finditer(text)]
    starts = [start for start, _ in escapes]
    spread = _Spread(read)

    def around(at: int) -> tuple[int, int]:  # the escape ``at`` falls inside, else (at, at)
        k = bisect_right(starts, at) - 1
        return escapes[k] if k >= 0 and escapes[k][0] < at < escapes[k][1] else (at, at)

    for i, (start, end, name, begin) in enumerate(runs):
        k = first = max(0, bisect_right(starts, start) - 1)
        while k < len(escapes) and escapes[k][0] < end:
            low, high = escapes[k]
            if high > start and any(c.isdigit() for c in text[max(low, start) : min(high, end)]):
                break
            k += 1
        else:
            k = bisect_left(starts, end)  # or ends where an escape of a digit starts
            if not (k < len(escapes) and escapes[k][0] == end and _plain(text[end : end + 32])[:1].isdigit()):
                continue
        covered = start  # how far from ``start`` escapes and runs read cover the run
        near = escapes[first : bisect_left(starts, end)]
        for low, high in sorted([*near, *spread.touching(start, end)]):
            if low > covered:
                break
            covered = max(covered, high)
        if covered < end:
            low, high = min(start, around(start)[0]), max(end, around(end)[1])
            yield i, (low, high, name, min(begin, low), text[start:end])


class _Spread:
    """What a list of spans covers, as the spans apart in order (those that overlap or touch are
    one): the spans that overlap a run are found by bisection, so a text of thousands of runs costs
    a few steps a run, not a pass over all (``"RRN &#900101-1234567 010-1234-5678 "`` repeated
    to 280 KB: 20 s when each run passed over every span read)."""

    __slots__ = ("_ends", "_spans", "_starts")

    def __init__(self, spans: Iterable[tuple[int, int]]) -> None:
        merged: list[tuple[int, int]] = []
        for low, high in sorted(spans):
            if merged and low <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], high))
            else:
                merged.append((low, high))
        self._spans = merged
        self._starts = [low for low, _ in merged]
        self._ends = [high for _, high in merged]

    def touching(self, start: int, end: int) -> list[tuple[int, int]]:
        """The spans that overlap ``start`` to ``end``."""
        return self._spans[bisect_right(self._ends, start) : bisect_left(self._starts, end)]


def _decodes(text: str) -> bool:
    """Whether ``text`` may read otherwise than as written: it may hold an escape or a character
    reference (:func:`_escaped`), or it holds a character nobody sees (:data:`_INVISIBLE`)."""
    return _escaped(text) or _INVISIBLE.search(text) is not None


def _escaped(text: str) -> bool:
    """Whether ``text`` may hold an escape (a backslash) or a character reference
    (:data:`_MAY_REFERENCE`): else it is read as it is, however many ``&`` a URL's query holds."""
    return "\\" in text or ("&" in text and _MAY_REFERENCE.search(text) is not None)


_DIGIT_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
"""Unicode's combining marks (diacritics, their extensions and supplements, the marks for symbols and
the half marks): one after a digit marks nothing a reader reads as part of the number
(``9<U+0301>00101-1234567`` was left in clear before session 28), any script's digit (``\\d``: after an
Arabic-Indic one, ``SSN ١<U+0301>٢٣-45-6789``, the number was left in clear before session 29). A mark after a name's letter is
that letter's accent, read as part of the name (:data:`_LOWER`)."""
_INVISIBLE = re.compile(f"[{_INVISIBLE_CHARS}]+|(?<=\\d)[{_DIGIT_MARKS}]+")


def _gap_or_none(m: re.Match[str]) -> str:
    """What a run of invisible characters reads as: nothing, or a gap between a lowercase letter
    and a capital (``Hong<U+200B>Gildong`` is two words, as a reader sees them)."""
    text, start, end = m.string, m.start(), m.end()
    if start > 0 and end < len(text) and text[start - 1].islower() and text[end].isupper():
        return " "
    return ""


def _shown(text: str) -> tuple[str, list[int]]:
    """``text`` without its invisible characters (:data:`_INVISIBLE`, :func:`_gap_or_none`), and
    where each character of that starts in ``text`` (one more entry: the end): a span read maps
    back to one that covers the invisible characters inside it."""
    return _substituted(text, _INVISIBLE, _gap_or_none)


def _substituted(
    text: str, pattern: re.Pattern[str], replace: Callable[[re.Match[str]], str]
) -> tuple[str, list[int]]:
    """``text`` with each match of ``pattern`` as ``replace(match)``, and where each character of
    that starts in ``text`` (one more entry: the end): a character a match became starts where the
    match does, so a span read in the new text maps back to one that covers what it stood for."""
    pieces: list[str] = []
    where: list[int] = []
    pos = 0
    for m in pattern.finditer(text):
        start, end = m.span()
        pieces.append(text[pos:start])
        where.extend(range(pos, start))
        new = replace(m)
        pieces.append(new)
        if len(new) == 1:  # the usual: one character, and no list made for it
            where.append(start)
        else:
            where.extend([start] * len(new))
        pos = end
    pieces.append(text[pos:])
    where.extend(range(pos, len(text) + 1))
    return "".join(pieces), where


def _escaped_char(m: re.Match[str]) -> str:
    code = m.group()[1:]
    if m.group()[0] == "&":
        return _entity_char(code)
    if len(code) == 11:  # a surrogate pair: ``udb40\\udc41``
        high, low = int(code[1:5], 16), int(code[7:], 16)
        return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
    return chr(int(code[1:], 16)) if code[0] in "uxU" else _ESCAPED.get(code, code)


def _entity_char(code: str) -> str:
    """The character of a character reference less its ``&`` (``#32;``, ``#x20``, ``nbsp;``), as
    the HTML standard reads it (a browser, and ``html.unescape`` but for the controls): past
    U+10FFFF (however many digits: no ``int`` of thousands of them), zero or a surrogate, U+FFFD;
    U+0080 to U+009F as Windows-1252's character of that byte (``&#150;`` an en dash, ``&#133;``
    an ellipsis, :data:`_WINDOWS_1252`); any other control as itself (``&#01;`` is U+0001, as
    ``\\u0001`` and the raw character are, where ``html.unescape`` reads nothing: one reading of a
    character however it is written)."""
    if code[0] != "#":
        return html.entities.html5[code]
    hexa = code[1] in "xX"
    digits = code[2 if hexa else 1 :].rstrip(";").lstrip("0")
    point = int(digits, 16 if hexa else 10) if 0 < len(digits) <= 8 else 0
    if 0x80 <= point <= 0x9F:
        return _WINDOWS_1252.get(point, chr(point))
    return chr(point) if 0 < point <= 0x10FFFF and not 0xD800 <= point <= 0xDFFF else "\ufffd"


def _cp1252(byte: int) -> str | None:
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:  # 0x81, 0x8D, 0x8F, 0x90, 0x9D: no character
        return None


_WINDOWS_1252 = {byte: char for byte in range(0x80, 0xA0) if (char := _cp1252(byte)) is not None}
"""The characters the HTML standard reads a numeric reference of U+0080 to U+009F as: Windows-1252's
of that byte (``&#150;`` an en dash, ``&#128;`` the euro sign); the five bytes it leaves undefined
read as the control itself."""


def _unescaped_once(text: str) -> tuple[str, list[int]]:
    """``text`` with each escape and reference (:data:`_ESCAPE`) as its character, and where each
    character of that starts in ``text`` (:func:`_substituted`)."""
    return _substituted(text, _ESCAPE, _escaped_char)


Patterns = list[tuple[str, Regex, DeidPattern]]


def _masked_patterns(settings: DeidSettings) -> Patterns:
    """The patterns a :class:`Masker` searches: all but those that apply only to file names (dates:
    they would also mask dqm's own timestamps)."""
    return [(name, rx, pat) for name, rx, pat in settings.compiled.patterns if set(pat.places) - {"filename"}]


_HEX_RUN = re.compile(
    r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{8,}+-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12,}+"
    r"|(?=[0-9]*+[A-Fa-f])[0-9A-Fa-f]{32,}+)(?![0-9A-Fa-f])"
)
"""A UUID (``3f2a1b9c-2024-0101-8abc-0123456789ab``, any case) or a run of 32 hex digits or more
holding a hex letter (a UUID without its dashes, an MD5 or SHA digest), bounded by characters that
are no hex digit: a random identifier, whose digits read as a date or a phone number about once
in 1,400 UUIDs (24 of 34,000 file names; ``2024-0101`` across two groups, ``010-1234-5678``
across three, a first group of eight digits). A UUID glued to more hex digits before or after it
(``ff3f2a1b9c-2024-0101-…``, ``…-0123456789abff``: a prefix or a checksum written on) is one run
with them. Each run is tried only where hex digits start (the look-behind), and each of its
repeats is possessive: a text of hex digits and dashes is scanned once, not once a place."""
_NOT_IN_HEX_RUNS = frozenset(DEFAULT_PATTERNS[name].regex for name in ("date_in_filename", "phone_number"))
"""The built-in patterns a match of which wholly inside a :data:`_HEX_RUN` is none: a date or a
phone number beside one (``2024-03-01_<uuid>``, ``20240301-<uuid>``) is still found."""


def _in_hex_run(start: int, end: int, runs: tuple[list[int], list[int]]) -> bool:
    """Whether ``start:end`` lies wholly inside one of ``runs`` (their starts and their ends, each
    sorted: the runs part no character): the last run that starts at ``start`` or before it,
    found by bisection, so a text of thousands of runs and matches is linear, not their product."""
    starts, ends = runs
    k = bisect_right(starts, start) - 1
    return k >= 0 and end <= ends[k]


_HEX_OR_DASH = frozenset("0123456789abcdefABCDEF-")


def _hex_free(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` is surely in no :data:`_HEX_RUN` run: the hex digits and dashes around it, read
    at most 32 on each side, are fewer than the shortest run's 32 (32 hex digits, or a UUID's and its dashes)."""
    lo, hi, stop = start, end, min(len(text), end + 32)
    while hi < stop and text[hi] in _HEX_OR_DASH:
        hi += 1
    stop = max(0, start - 32)
    while lo > stop and text[lo - 1] in _HEX_OR_DASH:
        lo -= 1
    return hi - lo < 32


def _matches(text: str, patterns: Patterns) -> Iterator[tuple[int, int, int, int, str]]:
    """Each identifier in ``text``: where it starts and ends (its ``id`` group, else the whole
    match), where its match starts and ends (the context a pattern needs around it included), and
    the pattern's name. A date or a phone number wholly inside a UUID or a hex digest
    (:data:`_HEX_RUN`) is none; the runs are looked for only where such a pattern matches."""
    hex_runs: tuple[list[int], list[int]] | None = None
    for name, rx, pat in patterns:
        id_group = -1  # read at the first match: a built-in pattern is not compiled as written
        for m, base in _scan(rx, text):
            if id_group < 0:
                id_group = _id_group(rx, base)
            if pat.validate_as == "rrn" and not valid_rrn(m.group(base)):
                continue
            if pat.regex in _NOT_IN_HEX_RUNS and not _hex_free(text, m.start(base), m.end(base)):
                if hex_runs is None:  # the runs looked for once, only where one may be
                    spans = [run.span() for run in _HEX_RUN.finditer(text)]
                    hex_runs = ([lo for lo, _ in spans], [hi for _, hi in spans])
                if _in_hex_run(m.start(base), m.end(base), hex_runs):
                    continue
            group = base + (id_group if id_group and m.group(base + id_group) else 0)
            yield m.start(group), m.end(group), m.start(base), m.end(base), name


def _id_group(rx: Regex, base: int) -> int:
    """The number of ``rx``'s group ``id`` (0: none) in a match :func:`_scan` gives with group 0
    at ``base``, by index (an RE2 match takes no group name): a built-in pattern run as
    :func:`_skipping` (``base`` 1) reads it there, uncompiled as written."""
    if base and isinstance(rx, BuiltInPattern):
        return _skipping(rx.pattern).groupindex.get("id", base) - base
    return rx.groupindex.get("id", 0)


def _scan(rx: Regex, text: str) -> Iterator[tuple[Any, int]]:
    """The matches ``rx.finditer(text)`` gives, each with the number of its group 0 in the match
    object (its group ``g`` is ``base + g``).

    A built-in pattern with known first characters (:data:`_STARTS`) runs as :func:`_skipping`:
    the same matches, several times faster, as the engine skips in C every place no match starts."""
    source = rx.pattern if isinstance(rx, BuiltInPattern) else None
    if source is None or source not in _BUILT_IN:
        return ((m, 0) for m in rx.finditer(text))
    if (needs := _NEEDS.get(source)) is not None and needs not in text:
        return iter(())
    if source not in _STARTS:
        return ((m, 0) for m in rx.finditer(text))
    return _not_overlapping(_skipping(source).finditer(text))


@cache
def _skipping(source: str) -> re.Pattern[str]:
    """``source`` as group 1 of a lookahead, run after one of its first characters
    (:data:`_STARTS`) and a step back: a match at every place where ``source`` matches, its span
    group 1's. A character class first lets the engine skip to each place it could start; the
    lookbehinds and ``\\b`` inside still see the characters before it."""
    return _compiling(rf"[{_STARTS[source]}](?<=(?=({source}))[\s\S])")


def _gate(sources: list[str]) -> re.Pattern[str] | None:
    """One regex that matches where any of ``sources`` (built-in patterns with known first
    characters) matches: at each place that holds one of their first characters, each pattern
    that starts so is tried. None: no such pattern.

    A text none of them matches costs one search instead of one a pattern: 4 µs less on a slide
    id, a quarter less on a finding's JSON; about as much as the patterns on a window of a
    results.json, where most windows hold no identifier."""
    if not sources:
        return None
    tried = "|".join(f"(?=[{_STARTS[source]}]){_alternation([source])}" for source in sources)
    starts = "".join(_STARTS[source] for source in sources)
    return _compiling(rf"[{starts}](?<=(?=(?:{tried}))[\s\S])")


def _not_overlapping(found: Iterator[re.Match[str]]) -> Iterator[tuple[re.Match[str], int]]:
    """The matches ``finditer`` keeps of those :func:`_skipping` finds: each starts where the one
    before ended or later (a pattern's matches never overlap)."""
    end = 0
    for m in found:
        if m.start(1) >= end:
            end = m.end(1)
            yield m, 1


@cache
def _built_in() -> Patterns:
    """The built-in patterns a masker uses, compiled when a text is first cut."""
    return _masked_patterns(DeidSettings())


_CUT_WITH: dict[str, tuple[DeidSettings, Patterns]] = {}
"""The run's ``deid`` settings and the patterns :func:`cut_outside_identifiers` uses with them
(:func:`use_profile_patterns`); none: the built-in patterns only."""


def compile_all(settings: DeidSettings) -> None:
    """Compile now every regex a find or a cut with ``settings`` would compile on first use: each
    place's gate, each built-in pattern as :func:`_scan` runs it (:func:`_skipping`, or as written)
    in ``settings`` and in the cut's patterns (:func:`_cut_patterns`), the keys' patterns, the
    name a cut looks for (:func:`_name_found`) and the characters of its runs (:func:`_run_chars`): about 1.9 s of CPU, for a worker process before its
    items' clocks run (:func:`dqm.budget.item_limit_s`; since session 30 a built-in pattern compiles
    when a text first reaches it, and the first item to reach one paid up to 0.5 s), or a process
    about to fork such workers. A profile's own patterns run on RE2, compiled with the settings."""
    comp = settings.compiled
    gates = comp.any_of
    for place in list(gates.places):
        gates[place]  # compiled by __missing__
    entries = [*comp.patterns, *_cut_patterns()]
    for rx in [rx for _, rx, _ in entries] + [comp.identifier_keys, comp.quasi_keys, comp.record_number]:
        if isinstance(rx, BuiltInPattern):
            if rx.pattern in _STARTS:
                _skipping(rx.pattern)
            else:
                rx.compiled  # noqa: B018 -- compiled once, kept on the pattern
    _name_found()
    _run_chars()


def use_profile_patterns(settings: DeidSettings) -> None:
    """Make a cut in this process respect the identifiers ``settings`` (the run's profile's
    ``deid``) adds to the built-in ones, until the next call replaces them.

    Text is cut where no masker exists (a reader, a check, a finding's validator, in a worker), so
    the run's patterns are a setting of the process: called wherever a process receives its run's
    profile (:func:`dqm.runner.run_batch`, each item's work in a worker, a command's masking), and
    a call with the settings in use costs one comparison. The built-in patterns stay, whatever a
    profile turns off: a cut that keeps no part of an identifier is never wrong."""
    if (current := _CUT_WITH.get("run")) is not None and current[0] is settings:
        return
    built_in = _built_in()
    known = {(name, rx.pattern) for name, rx, _ in built_in}
    own = [(name, rx, pat) for name, rx, pat in _masked_patterns(settings) if (name, rx.pattern) not in known]
    _CUT_WITH["run"] = (settings, built_in + own)


def _cut_patterns() -> Patterns:
    """The patterns a cut respects: the run's (:func:`use_profile_patterns`), else the built-in ones."""
    current = _CUT_WITH.get("run")
    return _built_in() if current is None else current[1]


CUT_CONTEXT = 1024
"""Characters before a cut searched for an identifier it would split (more than a keyword and the
longest identifier together)."""


def cut_outside_identifiers(text: str, at: int) -> int:
    """Where to cut ``text`` so that no identifier is kept in part: ``at``, or the start of the
    identifier a cut at ``at`` falls inside (or of the one that start falls inside, and so on).

    The masker knows an identifier only whole (``Patient name: Hong`` is no name, ``1990/01/`` no
    date of birth) and sees only what the cut kept, so the identifiers are looked for in the whole
    text, around ``at``: the patterns the masker uses, the built-in ones and those the run's
    profile adds (:func:`use_profile_patterns`), escapes decoded as the masker decodes them. An
    identifier reaches to the end of its match (context a pattern needs after it included).

    The text searched is :data:`CUT_CONTEXT` characters before ``at``, and more where they start
    inside a run of what a pattern holds as many of as a text has (:class:`_RunChars`): from
    :data:`CUT_CONTEXT` characters before the run, and again before each long run that reaches
    there (``Patient name``, spaces, ``:``, spaces, ``Hong Gildong``; ``MRN``, spaces, ``#``,
    spaces, a number; ``Hong``, commas, ``Gildong``). A long run that repeats a few characters
    is searched by its ends, its middle left out whole periods at a time: what a pattern takes as
    many of as there are matches the same whatever the run's length (:func:`_search_pieces`)."""
    if not 0 < at < len(text):
        return at
    pieces = _search_pieces(_unseen_as_separators(_separators_read(text)), at)
    window = "".join(text[start:end] for start, end in pieces)
    offsets = list(accumulate((end - start for start, end in pieces), initial=0))
    plain, where = unescaped(window)

    def in_text(i: int) -> int:  # a place in the window as the place in ``text``
        k = max(0, bisect_right(offsets, i) - 1)
        k = min(k, len(pieces) - 1)
        return pieces[k][0] + i - offsets[k]

    read = []  # each match's span in the window
    for start, end, _, match_end, _ in _matches(plain, _cut_patterns()):
        last = max(end, match_end)
        read.append((start, last) if where is None else (where[start], where[last]))
    written = []
    if len(_readings(window, plain)) > 1:  # as written too, where an escape takes in digits
        found = [
            (start, max(end, match_end), "", start)
            for start, end, _, match_end, _ in _matches(window, _cut_patterns())
        ]
        written = [run[:2] for _, run in _written_runs(window, found, read)]
    kept, at_kept = _decoded(window) if where is not None else (window, None)
    if where is not None and _INVISIBLE.search(kept) is not None:
        # the invisible characters kept too, as :func:`find` reads them (``HONG<U+200B>GILDONG``)
        for start, end, _, match_end, _ in _matches(kept, _cut_patterns()):
            last = max(end, match_end)
            written.append((start, last) if at_kept is None else (at_kept[start], at_kept[last]))
    spans = [(in_text(start), in_text(last - 1) + 1 if last else 0) for start, last in [*read, *written]]
    cut, moved = at, True
    while moved:  # a cut moved to the start of one identifier may fall inside another
        moved = False
        for start, last in spans:
            if start < cut < last:
                cut, moved = start, True
    return _before_a_long_name(text, cut)


def _before_a_long_name(text: str, cut: int) -> int:
    """``cut``, or where the name it falls in starts where that name is longer than the text a cut
    searches (``Patient name:``, a word of 3,000 letters: the head kept showed its first letters,
    or the whole word and the spaces after it, which the masker, seeing one word, took for no
    name). The run of a name's letters and spaces the cut ends is walked back over in C
    (:func:`run_start`), and :data:`_PENDING_NAME` is searched from just before it. A cut inside a
    word goes back to the keyword's end; a cut after a whole word (in the spaces after it) where
    the ``person_name`` pattern, as :func:`find` runs it on the whole text, takes a name on past
    the cut (one rule: what :func:`find` flags across the cut is kept in no part). A reference
    that stands for what parts a name's words (``&nbsp;``, ``&#32;``, ``&Tab;``) is read as that
    many spaces (:func:`_gaps_read`), as :func:`find` reads it, a cut inside it a cut in a gap."""
    if not 0 < cut < len(text) or _NOT_NAME_NOR_REFERENCE.match(text, cut - 1):
        return cut  # the cut ends no run of a name's letters and spaces, nor a reference
    if "&" in text:  # the text before the cut read first, the whole text only for a long run
        lo = max(0, cut - CUT_CONTEXT)
        amp = text.rfind("&", lo, cut)
        found = _ENTITIES.match(text, amp) if amp >= 0 else None
        if found is None or found.end() <= cut:  # the cut is inside no reference
            near = _gaps_read(text[lo:cut])
            run = run_start(near, len(near), _NOT_NAME_RUN, _NAME_RUN_BYTES)
            if len(near) - run < CUT_CONTEXT // 2 and (
                lo == 0 or not _REFERENCE_TAIL.fullmatch(near, 0, run)
            ):
                return cut  # a short run (not one a reference cut by ``lo`` may end)
        text = _gaps_read(text)
    run = run_start(text, cut, _NOT_NAME_RUN, _NAME_RUN_BYTES)
    if cut - run < CUT_CONTEXT // 2:
        return cut  # no run, or the search around the cut held the name's start and its keyword
    head = max(0, run - _KEYWORD_SPAN)
    pending = _PENDING_NAME.search(text, head, cut)
    if pending is None:
        return cut
    keyword = _NAME_KEYWORD_RX.match(text, pending.start(), cut)
    if keyword is None:
        return cut
    if _LETTER.match(text, cut - 1) and _LETTER.match(text, cut):
        return keyword.end()  # inside a word: its first letters are kept as no name
    name = _name_found().match(text, pending.start())
    return keyword.end() if name is not None and name.end() > cut else cut


_NOT_NAME_RUN = re.compile(f"[^{_LATIN_LETTER}'\u2019{_NAME_GAP[1:-1]}{_IN_WORD}\u2010-\u2015-]")
"""A character no name's word nor what parts its words holds (:data:`_NAME`'s Latin forms)."""
_NOT_NAME_NOR_REFERENCE = re.compile(
    f"[^{_LATIN_LETTER}0-9&#;'\u2019{_NAME_GAP[1:-1]}{_IN_WORD}\u2010-\u2015-]"
)
"""A character neither :data:`_NOT_NAME_RUN` lets through nor one of a reference (``&#32;``)."""
_REFERENCE_TAIL = re.compile("[#0-9A-Za-z]*;?")
"""What is left of a reference whose ``&`` a slice cut off (``bsp;``, ``00032;``)."""
_NAME_RUN_BYTES = bytes(c for c in range(128) if _NOT_NAME_RUN.match(chr(c)) is None)
_LETTER = re.compile(f"[{_LATIN_LETTER}]")
_NAME_KEYWORD_RX = re.compile(_NAME_KEYWORD)
_NAME_GAP_RX = re.compile(_NAME_GAP)


@cache
def _name_found() -> re.Pattern[str]:
    """The ``person_name`` pattern as :func:`find` runs it (its keyword, then :data:`_NAME`),
    compiled when a cut first needs it (about 0.2 s of CPU, at import before session 30)."""
    return _compiling(_NAME_KEYWORD_BEFORE_NAME + rf"(?:{_NAME})")


_KEYWORD_SPAN = 64
"""Characters before a long name's run its keyword is looked for in (``patient's name =``)."""


def _gaps_read(text: str) -> str:
    """``text`` with each character reference that stands for what parts a name's words
    (:data:`_NAME_GAP`: ``&nbsp;``, ``&#32;``, ``&#x20;``, ``&Tab;``) as as many spaces as it is
    long: the same length, a name :func:`find` reads across it one to :func:`_name_found` too.
    ``text`` itself where it holds no ``&``."""
    return _references_as(text, lambda char, n: " " * n if _NAME_GAP_RX.fullmatch(char) else None)


def _separators_read(text: str) -> str:
    """``text`` with each character reference that stands for a space or a separator (``&#32;``,
    ``&#00000032;``, ``&nbsp;``) as ``&`` and as many ``#`` as it is long: the same length, a run of
    separators to :func:`_search_pieces` as the character it stands for is (its digits and
    letters made an id of ``&#32;`` a thousand times, reached back over only so far), and the same
    period where its references are as long. ``text`` itself where it holds no ``&``."""
    return _references_as(text, lambda char, n: None if char.isalnum() else "&" + "#" * (n - 1))


def _unseen_as_separators(text: str) -> str:
    """``text`` with each character nobody sees (:data:`_INVISIBLE`) as ``&``: the same length, a
    run of them to :func:`_search_pieces` a run of separators it reaches back over however long
    (``RRN 900101``, 3,000 U+200B, ``-1234567`` reads as one resident number, and a cut after the
    U+200B must see its start); a backslash escape of one (``\\u200b``, as JSON text holds it, or
    ``\\\\u200b``, a JSON string inside one: read as nothing as the masker reads it) as ``&`` and as
    many ``#`` as it is long, its period kept. ``text`` itself where it holds none."""
    if "\\" in text:
        text = _MAY_BE_UNSEEN.sub(_unseen_escape, text)
    if _INVISIBLE.search(text) is None:
        return text
    return _INVISIBLE.sub(lambda m: "&" * len(m.group()), text)


_MAY_BE_UNSEEN = re.compile(
    r"\\(?<!\\\\)\\*+(?:u[dD][89abAB][0-9a-fA-F]{2}\\++u[dD][c-fC-F][0-9a-fA-F]{2}|U(?:000[0-9a-fA-F]|0010)[0-9a-fA-F]{4}"
    r"|x[0-9a-fA-F]{2}|u(?:00|0[3678]|1[1578]|2[0-8]|3164|[fF][eEfF])[0-9a-fA-F]{2})|\\\\"
)
"""An escape :data:`_ESCAPE` decodes whose code may be of a character nobody sees
(:data:`_INVISIBLE_CHARS`): ``\\u00``, ``\\u200b``, ``\\ufeff``, a surrogate pair, ``\\U``,
``\\x``; not Hangul's or CJK's (``\\ud64d``), which JSON text holds many of; its backslash written
twice or more too (``\\\\u200b``: a JSON string inside a JSON string, which :func:`unescaped`
reads in two layers as the character), from the first backslash of a run only (one try a run, linear
in a run of backslashes); else an escaped backslash (passed over whole)."""
_BACKSLASHES = re.compile(r"\\+")


def _unseen_escape(m: re.Match[str]) -> str:
    """A backslash escape of a character nobody sees as ``&###…`` (as long), any other as it is."""
    found = m.group()
    if len(found) > _CACHED_ESCAPE:  # a long run of backslashes: read, not kept (the cache's memory bounded)
        return _unseen_written.__wrapped__(found)
    return _unseen_written(found)


_CACHED_ESCAPE = 64
"""The longest escape :func:`_unseen_written` keeps in its cache: a match may hold a run of
backslashes of any length, and 4,096 of them would hold that many long texts."""


@lru_cache(maxsize=4096)
def _unseen_written(found: str) -> str:
    """:func:`_unseen_escape` of the escape ``found`` (a text holds few distinct ones: read once
    each, not once a place; those up to :data:`_CACHED_ESCAPE` characters kept)."""
    if found == "\\\\":
        return found
    # written twice or more: read as the escape written once
    m = _ESCAPE.fullmatch(_BACKSLASHES.sub(r"\\", found) if found[1] == "\\" else found)
    if m is not None and _INVISIBLE.fullmatch(_escaped_char(m)):
        return "&" + "#" * (len(found) - 1)
    return found


def _references_as(text: str, written: Callable[[str, int], str | None]) -> str:
    """``text`` with each character reference replaced by ``written(the character it stands for,
    the reference's length)``, kept where that is None; ``text`` itself where it holds no ``&``."""
    if "&" not in text:
        return text

    def one(m: re.Match[str]) -> str:
        found = m.group()
        return written(_entity_char(found[1:]), len(found)) or found

    return _ENTITIES.sub(one, text)


def _search_pieces(text: str, at: int) -> list[tuple[int, int]]:
    """The stretches of ``text`` a cut at ``at`` searches, in order (:func:`cut_outside_identifiers`):
    from :data:`CUT_CONTEXT` before ``at`` to :data:`_WINDOW_OVERLAP` after it (after the run that
    end falls in, if any), reaching back over
    the run that start falls in, then over each run of at least :data:`_LONG_RUN` characters that
    the new start falls in; the middle of a run that repeats a period of at most
    :data:`_MAX_PERIOD` characters is left out, a whole number of periods (linear in the runs). A
    run that holds letters or digits and repeats no such period is reached over (back or on) only
    :data:`_ID_SPAN` characters past the separators next to the window (random hex, a list of
    numbers: no identifier is that long); separators are reached over however many."""
    hi = min(len(text), at + _WINDOW_OVERLAP)
    pieces: list[tuple[int, int]] = []
    runs = _run_chars()
    long_run = runs.long_run_in.search(text, at, hi)
    if hi < len(text) and (long_run is not None or runs.in_run.match(text, hi - 1)):
        # forward too: past the run the end falls in, or a long one, to the rest of the identifier
        # (``Hong``, commas, ``Gildong``) and what a pattern needs after it
        probe = hi - 1 if long_run is None else long_run.start()
        run, end = run_start(text, probe + 1), _run_end(text, probe)
        gap_lo, gap_hi = max(hi, run + CUT_CONTEXT), end - CUT_CONTEXT
        period = _period(text, gap_lo, end) if gap_hi - gap_lo > CUT_CONTEXT else 0
        if not period and end - probe > _ID_SPAN:  # letters or digits in no period: bounded
            end = min(end, _separators_end(text, probe) + _ID_SPAN)
        after = min(len(text), end + _WINDOW_OVERLAP)
        if period:
            pieces.append((gap_lo + (gap_hi - gap_lo) // period * period, after))
            hi = gap_lo
        else:
            hi = after
    lo = max(0, at - CUT_CONTEXT)
    first = True
    while lo > 0:
        run = run_start(text, lo)
        if run == lo or (not first and _run_end(text, lo) - run < _LONG_RUN):
            # not in a run: the keyword of an identifier a long run after ``lo`` is inside may be
            # before ``lo`` (``Patient name: Hong``, a thousand commas, ``Gildong``)
            if (later := runs.long_run_in.search(text, lo, lo + CUT_CONTEXT)) is None:
                break
            run = later.start()
        first = False
        gap_lo, gap_hi = run + CUT_CONTEXT, lo - CUT_CONTEXT
        period = _period(text, gap_lo, lo) if gap_hi - gap_lo > CUT_CONTEXT else 0
        if period:
            gap_hi = gap_lo + (gap_hi - gap_lo) // period * period
            pieces.append((gap_hi, hi))
            hi = gap_lo
        elif lo - run > _ID_SPAN and (bounded := _separators_start(text, run, lo) - _ID_SPAN) > run:
            lo = bounded  # letters or digits in no period: past its separators, bounded
            break
        lo = max(0, run - CUT_CONTEXT)
    pieces.append((lo, hi))
    return pieces[::-1]


def _separators_end(text: str, at: int) -> int:
    """Where the run of separators (:class:`_RunChars`) from ``at`` on ends."""
    found = _run_chars().separators.match(text, at)
    return at if found is None else found.end()


def _separators_start(text: str, start: int, end: int) -> int:
    """Where the run of separators (:class:`_RunChars`, read back) of ``text[start:end]`` that ends at
    ``end`` starts."""
    found = _run_chars().separators_back.match(text[start:end][::-1])
    return end if found is None else end - found.end()


def _period(text: str, start: int, end: int) -> int:
    """The shortest period (at most :data:`_MAX_PERIOD`) that ``text[start:end]`` repeats, 0: none.
    Checked from where the left-out middle starts to the window's end, so the text kept after
    the middle repeats it too: what a pattern sees is the same run, shorter."""
    for period in range(1, _MAX_PERIOD + 1):
        if text[start : end - period] == text[start + period : end]:
            return period
    return 0


def _run_classes(sources: Iterable[str]) -> str:
    """The body of a character class: every class (or character) that one of ``sources`` repeats
    as often as a text holds it, alone or in a group (``\\s*``, ``[ ,^]+``, ``(?:[-–]\\d+)*``),
    less those holding a letter (a name's or a keyword's, which no run passes)."""
    found: set[str] = set()

    def item(op: Any, av: Any) -> str:
        if op is _sre.LITERAL:
            return "" if chr(av).isalpha() else re.escape(chr(av))
        if op is _sre.CATEGORY:
            return {_sre.CATEGORY_SPACE: r"\s", _sre.CATEGORY_DIGIT: r"\d"}.get(av, "")
        if op is _sre.RANGE:
            low, high = av
            return (
                ""
                if any(chr(c).isalpha() for c in (low, high, (low + high) // 2))
                else (f"{re.escape(chr(low))}-{re.escape(chr(high))}")
            )
        if op is _sre.IN and all(o is not _sre.NEGATE for o, _ in av):
            parts = [item(o, a) for o, a in av]
            return "".join(parts) if all(parts) else ""
        return ""

    def walk(items: Any, repeated: bool) -> None:
        for op, av in items:
            if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
                walk(av[2], repeated or av[1] == _sre.MAXREPEAT)
            elif op is _sre.SUBPATTERN:
                walk(av[-1], repeated)
            elif op is _sre.BRANCH:
                for branch in av[1]:
                    walk(branch, repeated)
            elif op in (_sre.ASSERT, _sre.ASSERT_NOT, _sre.ATOMIC_GROUP):
                pass
            elif repeated and (body := item(op, av)):
                found.add(body)

    for source in sources:
        walk(_sre_parse.parse(source), False)
    return "".join(sorted(found))


@dataclass(frozen=True, slots=True)
class _RunChars:
    """The characters of the runs a cut reaches back or on over, derived from the built-in
    patterns (:func:`_run_classes`) when a cut first needs them (:func:`_run_chars`): parsing every
    built-in pattern cost each process about 0.3 s of CPU at ``import dqm.identifiers``."""

    in_run: re.Pattern[str]
    """A character of a run the window reaches back over: one a built-in pattern holds as many of as a
    text has, between a keyword and its identifier or inside one (the spaces after ``Patient name:``,
    the commas of ``Hong,,,Gildong``, the digits and dashes glued to a date of birth: derived from the
    patterns), or of such a character escaped as results.json writes it (``\\n``, ``\\u0020``), or any
    ASCII punctuation (a profile's pattern may take as many ``_`` as a text has: ``case\\s*ref[:_.]*``)."""
    separators_back: re.Pattern[str]
    """A run of separators read backwards (reversed): characters of ``in_run`` that are no letter
    or digit (spaces, punctuation; the backslash neither) and escapes (``\\n``, ``\\u0020``), which
    no identifier's span is bounded through."""
    separators: re.Pattern[str]
    """A run of separators as ``separators_back`` takes them, read forwards."""
    not_run: re.Pattern[str]
    """A character no such run holds."""
    run_bytes: bytes
    """The ASCII characters of such a run (those ``not_run`` takes none of)."""
    long_run_in: re.Pattern[str]
    """A run of at least :data:`_LONG_RUN` such characters."""


@cache
def _run_chars() -> _RunChars:
    """:class:`_RunChars` of the built-in patterns, derived once a process."""
    classes = _run_classes(p.regex for p in DEFAULT_PATTERNS.values())
    in_run = re.compile("[" + classes + re.escape(string.punctuation) + _ESCAPE_CHARS + "]")
    separator = "[" + classes.replace(r"\d", "") + re.escape(string.punctuation.replace("\\", "")) + "]"
    return _RunChars(
        in_run=in_run,
        separators_back=re.compile(
            r"(?:[uxU]?\\)?"  # an escape the run's end falls in: its backslash, ``\u``, or its hex digits
            rf"(?:{separator}+" + r"""|[tnrfbv"'/\\]\\|[0-9a-fA-F]{1,8}[uxU]\\)*"""
        ),
        separators=re.compile(
            r"""(?:[tnrfbv"'/\\]|[uxU]?[0-9a-fA-F]{1,8})?"""  # the rest of an escape the run starts in
            rf"(?:{separator}+"
            + r"""|\\[tnrfbv"'/\\]|\\u[0-9a-fA-F]{4}|\\x[0-9a-fA-F]{2}|\\U[0-9a-fA-F]{8})*"""
        ),
        not_run=re.compile("[^" + in_run.pattern[1:]),
        run_bytes=bytes(c for c in range(128) if in_run.match(chr(c))),
        long_run_in=re.compile(in_run.pattern + f"{{{_LONG_RUN},}}"),
    )


_ID_SPAN = 512
"""The most characters of letters and digits an identifier and what a pattern needs around it hold
(an e-mail address is at most 254): a cut reaches back (or on) over a run that holds letters or
digits and repeats no short period only this far past its separators (random hex, a list of
numbers: searched whole, a 10 MB field took seconds)."""
_RUN_STEP = 256
"""The first block :func:`run_start` looks at; each next one four times as long (at most 1 MB)."""
_LONG_RUN = CUT_CONTEXT // 8
"""A run this long or longer that the window's start falls in is reached back over too: shorter
ones, and the few characters a pattern takes once (``no``, ``#``, ``:``), fit in the context."""
_MAX_PERIOD = 8
"""The longest period a run's middle is left out by (``\\u0020`` is six characters)."""


def _run_end(text: str, at: int) -> int:
    """Where the run of :class:`_RunChars` characters that ``at`` is in or starts ends."""
    other = _run_chars().not_run.search(text, at)
    return len(text) if other is None else other.start()


def run_start(text: str, at: int, other: re.Pattern[str] | None = None, ascii_run: bytes = b"") -> int:
    """Where the run of characters ``other`` takes none of that ends at ``at`` starts (``at``
    itself when none does): a block at a time from ``at`` back, each stripped in C (ASCII as bytes,
    less ``ascii_run``: the ASCII characters ``other`` takes none of; else reversed and searched
    for ``other``), linear in the run's length. By default a run of :class:`_RunChars` characters;
    :func:`dqm.findings.cut_head` walks back over digits and spaces so."""
    if other is None:
        other, ascii_run = _run_chars().not_run, _run_chars().run_bytes
    start, step = at, _RUN_STEP
    while start > 0:
        block, step = text[max(0, start - step) : start], min(step * 4, 1 << 20)
        if block.isascii():
            kept = len(block.encode("ascii").rstrip(ascii_run))
        else:
            found = other.search(block[::-1])
            kept = 0 if found is None else len(block) - found.start()
        if kept:
            return start - len(block) + kept
        start -= len(block)
    return 0


CACHED_CHARS = 256
"""The longest text whose masked form a :class:`Masker` keeps: a key, a code, a slide id or a path
is masked again and again (every finding, every output, every cached record)."""
CACHED_TEXTS = 16_384
"""Texts a :class:`Masker` keeps the masked form of at most (all forgotten when full: about 10 MB)."""


def _runs(
    text: str, patterns: Patterns, held: list[set[str]] | None = None
) -> list[tuple[int, int, str, int]]:
    """Each run of ``text`` to mask: where it starts and ends, a pattern's name, where its first
    match starts. Identifiers that overlap are one run, masked whole by one token named for the
    longest of them that is not quasi-identifying where one is not (an e-mail address or a phone
    number that takes in a resident number is named for the number), where two are as long the
    one whose pattern comes first (a resident number before a date of birth): whichever pattern
    matches first or longest, no character any of them covers is shown (``dob9001011234567``: a
    date of birth and the digits after it). :func:`find` reports each run once, as its token
    names it, never as a quasi-identifier where it holds an identifier, with every other kind it
    holds (``held``, where given, gets the names of the patterns each run holds, a set a run)."""
    order = {name: (pat.level != "quasi", -i) for i, (name, _, pat) in enumerate(patterns)}
    kinds: list[set[str]] = [] if held is None else held
    spans = sorted((start, end, name, begin) for start, end, begin, _, name in _matches(text, patterns))
    kept: list[tuple[int, int, str, int]] = []
    best = (False, 0, 0)
    for start, end, name, begin in spans:
        direct, first = order[name]
        rank = (direct, end - start, first)
        if kept and start < kept[-1][1]:
            first, last, named, began = kept[-1]
            if rank > best:
                named, best = name, rank
            kept[-1] = (first, max(last, end), named, min(began, begin))
            kinds[-1].add(name)
            continue
        kept.append((start, end, name, begin))
        kinds.append({name})
        best = rank
    return kept


_TOKEN_GAP = re.compile(rf"\s+|{_PERCENT_SPACE}|[{_DIGIT_MARKS}]")
"""What a token's identifier is read without (:meth:`Masker.token`): spaces, their URL escapes, combining marks."""
_PERCENT_DASH_RX = re.compile(_PERCENT_DASH)


class Masker:
    """Replaces every identifier inside a text by a keyed token, the same token for the same
    identifier in every output and every run with the same key (``[KOREAN_RRN-3f9a1c2b7d]``).

    The token is an HMAC-SHA256 of the identifier (spaces and case removed) under the key: it lets a
    person see that two outputs name the same identifier, and nobody without the key can get the
    identifier back, even by trying every possible number. Patterns are the profile's, except those
    that apply only to file names (dates: they would also mask dqm's own timestamps).
    """

    def __init__(self, settings: DeidSettings, key: bytes) -> None:
        self._key = key
        self._enabled = settings.enabled
        self._patterns = _masked_patterns(settings)
        gated = [
            p.regex for _, rx, p in self._patterns if isinstance(rx, BuiltInPattern) and rx.pattern in _STARTS
        ]
        self._gate = _gate(gated)
        self._ungated = [entry for entry in self._patterns if entry[2].regex not in gated]
        self._seen: dict[str, str] = {}
        self._tokens: dict[tuple[str, str], str] = {}
        self._names = any(pat.regex == DEFAULT_PATTERNS["person_name"].regex for _, _, pat in self._patterns)

    def __getstate__(self) -> dict[str, Any]:
        """Sent to a worker process without the texts it has masked."""
        return {**self.__dict__, "_seen": {}, "_tokens": {}}

    def token(self, name: str, found: str) -> str:
        """The token of ``found``, a ``name`` identifier, worked out once per value (up to 4,096 kept, then
        forgotten together): a CSV's rows repeat their values, and the HMAC was a quarter of the masker's
        time on ``benchmarks/bench_deid_mixed.py``."""
        if (token := self._tokens.get((name, found))) is not None:
            return token
        read = _DASH.sub("-", _PERCENT_DASH_RX.sub("-", _TOKEN_GAP.sub("", found)))
        canon = read.translate(_ASCII_DIGITS).casefold().encode("utf-8")
        digest = hmac.new(self._key, canon, hashlib.sha256).hexdigest()[:10]
        if len(self._tokens) >= 4096:
            self._tokens.clear()
        token = self._tokens[(name, found)] = f"[{name.upper()}-{digest}]"
        return token

    def digest(self, text: str) -> str:
        """HMAC-SHA256 of all of ``text`` under the key, in hex: a lookup key that names nobody (the
        result cache keys its entries so)."""
        return hmac.new(self._key, text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()

    def _masked(
        self,
        window: str,
        limit: int,
        masked_spans: list[tuple[int, int]] | None = None,
        offset: int = 0,
        plain: tuple[str, bool] | None = None,
    ) -> tuple[list[str], int]:
        """The pieces of ``window[:consumed]`` masked, and ``consumed`` (>= ``limit``): matches that
        start before ``limit`` are masked whole, later ones are left for the next window, which
        starts at ``limit`` or later. A match starts where its context does: an identifier after
        ``limit`` whose keyword (``Patient name:``) starts before it is masked here, as the next
        window, starting inside the keyword, would not see it. Escape sequences are searched as the
        characters they stand for (:func:`unescaped`). Each match masked, its context included, is added
        to ``masked_spans`` where given, as a place in the text ``window`` starts at ``offset`` of;
        ``plain``: the window decoded (:func:`_plain_read`) where the caller has it."""
        out, last = [], 0
        text, unseen = _plain_read(window) if plain is None else plain
        # no pattern with known first characters matches: the others (e-mail, the profile's) may
        written_too = text is not window and len(_readings(window, text)) > 1
        decoded = _decoded(window) if unseen else None  # its invisible characters kept
        patterns = self._patterns
        if (
            self._gate is not None
            and self._gate.search(text) is None
            and not (written_too and self._gate.search(window))
            and not (decoded is not None and self._gate.search(decoded[0]))
        ):
            patterns = self._ungated
        spans = _runs(text, patterns)
        where = unescaped(window)[1] if spans and text is not window else None  # mapped back only when needed
        found_spans: Iterable[tuple[int, int, str, int, str]] = ()  # most windows: no run, no generator
        if spans:
            found_spans = (
                (start, end, name, begin, text[start:end])
                if where is None
                else (where[start], where[end], name, where[begin], text[start:end])
                for start, end, name, begin in spans
            )
        if written_too:  # as written too: the runs of both, merged
            read = list(found_spans)
            written = _written_runs(window, _runs(window, patterns), [run[:2] for run in read])
            found_spans = _merged(read, [run for _, run in written])
        if decoded is not None:  # the invisible characters kept too (:func:`_unseen_runs`)
            read_runs = list(found_spans)
            apart = _unseen_runs(window, patterns, [], None, decoded)  # each, merged with those read
            found_spans = _merged(read_runs, apart) if apart else read_runs
        for start, end, name, begin, found in found_spans:
            if begin >= limit:
                break
            if masked_spans is not None:
                masked_spans.append((offset + begin, offset + end))
            out += [window[last:start], self.token(name, found)]
            last = end
        if last < limit:
            out.append(window[last:limit])
            last = limit
        return out, last

    def __call__(self, text: str) -> str:
        """``text`` with every identifier replaced by its token. A long text is scanned in windows
        that overlap by more than an identifier is long, so the cost is linear in its length and no
        identifier is split unseen."""
        if not self._enabled or not text:
            return text
        if len(text) > CACHED_CHARS:
            return self._scanned(text)
        if (masked := self._seen.get(text)) is None:
            if len(self._seen) >= CACHED_TEXTS:
                self._seen.clear()
            masked = self._seen[text] = self._scanned(text)
        return masked

    def _scanned(self, text: str) -> str:
        """``text`` masked; where it holds bytes escaped as ``\\xNN`` (a name that is not UTF-8) whose
        CP949 reading names someone (a file name written on a Korean Windows), that reading masked:
        the escapes hide the name from every pattern, and decoding gives it back. Only a run whose
        reading an identifier overlaps is shown read; every other run (a Latin-1 name beside it)
        keeps its escapes, which CP949 would misread."""
        masked = self._composed(text)
        if "\\x" not in masked or not (runs := _legacy_runs(masked)):
            return masked
        found: list[tuple[int, int]] = []
        again = self._windows(_read(masked, runs), found)  # what the text names itself is masked already
        if not found:
            return masked
        kept: list[tuple[int, int]] = []
        named = self._windows(_read(masked, _overlapped(runs, found)), kept)
        # an escaped run beside a name that its reading bordered may keep a pattern from matching it
        return named if len(kept) >= len(found) else again

    def _composed(self, text: str) -> str:
        """``text`` masked. A text not in composed form (Hangul as macOS writes names: NFD jamo, which
        no pattern's syllables match) is searched composed, as :func:`find` searches it; it comes
        back as it was unless it held an identifier, so a path that names nobody keeps its bytes."""
        if text.isascii() or unicodedata.is_normalized("NFC", text):
            return self._windows(text)
        composed = unicodedata.normalize("NFC", text)
        masked = self._windows(composed)
        return text if masked == composed else masked

    def _windows(self, text: str, found: list[tuple[int, int]] | None = None) -> str:
        """``text`` masked a window at a time; the span of each identifier masked is added to
        ``found`` where given. A run masked up to a window's end may go on past it (a date of
        birth's glued digits, longer than the overlap; or to an escape the window's end cuts,
        :data:`_CUT_ESCAPE`): that window is scanned again twice as long,
        so no tail of a run is shown; a window grows so only while each ends in a run, and the
        windows scanned again are at most twice as long as that run, together."""
        out: list[str] = []
        pos, n, size = 0, len(text), MASK_SCAN_CHARS
        start_size = size  # a window's size to start at: grown where the overlap read as written takes more
        while pos < n:
            window = text[pos : pos + size]
            final = pos + len(window) >= n
            plain = _plain_read(window)  # decoded once: for the patterns and for a name that goes on
            limit = len(window) if final else _read_limit(window, plain[0])
            if limit <= len(window) // 2:  # an overlap read as written takes half the window or more
                # (characters nobody sees, escapes): a longer window, so each still moves on by half;
                # the next ones start as long (an escaped text is escaped throughout: no window decoded twice)
                size *= 2
                start_size = min(size, 8 * MASK_SCAN_CHARS)
                continue
            spans: list[tuple[int, int]] | None = None if found is None else []
            pieces, used = self._masked(window, limit, spans, pos, plain)
            if not final and (
                used >= len(window)
                or (used > limit and _CUT_ESCAPE.fullmatch(window, used))
                or (self._names and _name_goes_on(window, used, plain[0]))
            ):
                size *= 2
                continue
            out += pieces
            if found is not None and spans:
                found += spans
            pos, size = pos + used, start_size
        return "".join(out)


def _read_limit(window: str, plain: str) -> int:
    """Where a window's matches stop (:meth:`Masker._windows`): :data:`_WINDOW_OVERLAP` characters
    before its end as the window is read, not as it is written. A run of characters nobody sees or
    of escapes is read as fewer characters than it is written with (``RRN 900101``, 300 U+200B,
    ``-1234567``): the overlap written would hold less than an identifier, and an identifier that
    starts before the limit would end past the window, unseen by it and by the next. The tail is
    taken twice as long until it reads as long as the overlap (linear in the window); 0 where the
    whole window reads shorter (the caller scans a longer one)."""
    limit = len(window) - _WINDOW_OVERLAP
    if plain is window:  # nothing decoded, nothing left out: read as written
        return limit
    tail = _WINDOW_OVERLAP
    while tail < len(window) and len(_plain(window[-tail:])) < _WINDOW_OVERLAP:
        tail *= 2
    return max(0, len(window) - tail) if tail > _WINDOW_OVERLAP else limit


def _merged(
    read: list[tuple[int, int, str, int, str]], written: Iterable[tuple[int, int, str, int, str]]
) -> list[tuple[int, int, str, int, str]]:
    """The runs of a window read (``read``, each mapped back to the window, with the text it masks)
    and those of it as written (``written``, :func:`_written_runs`) as one list in order; runs that
    overlap are one, named and tokened as the run read is where one is (its token the one it has
    alone)."""
    both = sorted([*((*run, 0) for run in read), *((*run, 1) for run in written)])
    kept: list[tuple[int, int, str, int, str, int]] = []
    for start, end, name, begin, found, as_written in both:
        if kept and start < kept[-1][1]:
            first, last, named, began, text, was_written = kept[-1]
            if was_written and not as_written:
                named, text, was_written = name, found, 0
            kept[-1] = (first, max(last, end), named, min(began, begin), text, was_written)
        else:
            kept.append((start, end, name, begin, found, as_written))
    return [run[:5] for run in kept]


def _name_goes_on(window: str, used: int, decoded: str) -> bool:
    """Whether a person's name that starts before ``used`` (its keyword's first character) may go
    on past the end of ``window`` (:data:`_PENDING_NAME`, read as the masker reads it: an escape
    the end cuts left out), so that the window is scanned again longer. ``decoded``: the window
    read (:func:`_plain`), decoded again only where an escape its end cuts is left out."""
    tail = _cut_tail(window)
    head = window[:tail]
    plain = decoded if tail == len(window) else _plain(head)
    if (found := _PENDING_NAME.search(plain)) is None:
        return False
    where = None if plain is head else unescaped(head)[1]  # mapped back only when one is found
    return (found.start() if where is None else where[found.start()]) < used


def _cut_tail(window: str) -> int:
    """Where an escape or a character reference the end of ``window`` cuts starts (``\\u00``,
    ``&#3``, ``&#`` and thousands of zeros, ``&nbs``): the window's length where none does. Found
    from the last ``&`` and the last backslash, so not tried at every place."""
    cut = len(window)
    if (amp := window.rfind("&")) >= 0 and _CUT_REFERENCE.fullmatch(window, amp):
        cut = amp
    if (slash := window.rfind("\\")) >= 0 and _CUT_BACKSLASH.fullmatch(window, slash):
        cut = min(cut, len(window[:slash].rstrip("\\")))
    return cut


_CUT_REFERENCE = re.compile(r"&(?:#(?:[0-9]*|[xX][0-9a-fA-F]*)|[A-Za-z]*)")
_CUT_BACKSLASH = re.compile(r"\\(?:x[0-9a-fA-F]?|u[0-9a-fA-F]{0,3})?")


_CUT_ESCAPE = re.compile(
    r"\\+(?:x[0-9a-fA-F]?|u[0-9a-fA-F]{0,3})?|&(?:#(?:[0-9]*|[xX][0-9a-fA-F]*)|[A-Za-z]*)"
)
"""The start of an escape a window's end cuts (``\\u00``, ``&#4``, ``&nbs``; a numeric reference
whose ``;`` is left out may go on past the window's end too): a run masked up to it reaches the
window's end as the text it stands for is read (``dob \\u0031\\u0031…``, ``dob &#49;&#49;…``
past a window)."""


_ESCAPED_BYTES = re.compile(
    r"(?:(?<!\\)\\+x[89a-fA-F][0-9a-fA-F]|(?<!\\)\\+u(?!00[0-7])[0-9a-fA-F]{4}|[^\x00-\x7f])+"
)
"""A run of bytes beyond ASCII as :func:`dqm.output.not_utf8` shows a name that is not UTF-8: the
bytes that are not UTF-8 as ``\\xNN`` (the backslash itself escaped once or more: JSON, a quoted
value), those that are as their characters (or JSON's ``\\uXXXX``, beyond ASCII only: ``\\u001b``
read would be a raw control character); one with no ``\\x`` is text. Each a maximal run, without a
required part inside: linear, however long a Korean text is. An escape starts at the first
backslash of its run: tried at each backslash of a long run, each try reading to its end, the
search was quadratic (64k backslashes then an ``x``: 5.4 s)."""
_ESCAPED_PIECE = re.compile(r"\\+x([0-9a-fA-F]{2})|\\+u([0-9a-fA-F]{4})|(.)", re.DOTALL)


def _legacy_runs(text: str) -> list[tuple[int, int, str, int]]:
    """Each run of escaped bytes in ``text`` that is CP949 (Korean Windows, as
    :data:`dqm.batch.KOREAN_LEGACY`): where it is, what it reads, and where that reading is in
    the text with every run read (``start`` there is the end less the reading's length)."""
    runs: list[tuple[int, int, str, int]] = []
    shift = 0
    for m in _ESCAPED_BYTES.finditer(text):
        if "\\x" not in m.group():
            continue
        raw = b"".join(
            bytes.fromhex(byte)
            if byte
            else (chr(int(code, 16)) if code else char).encode("utf-8", "surrogatepass")
            for byte, code, char in _ESCAPED_PIECE.findall(m.group())
        )
        try:
            read = raw.decode("cp949")
        except UnicodeDecodeError:
            continue
        shift += len(read) - (m.end() - m.start())
        runs.append((m.start(), m.end(), read, m.end() + shift))
    return runs


def _overlapped(
    runs: list[tuple[int, int, str, int]], spans: list[tuple[int, int]]
) -> list[tuple[int, int, str, int]]:
    """Those of ``runs`` whose reading one of ``spans`` (in the text read, both in order) overlaps:
    one pass over both, however many each."""
    named, i = [], 0
    for run in runs:
        start, end = run[3] - len(run[2]), run[3]
        while i < len(spans) and spans[i][1] <= start:
            i += 1
        if i < len(spans) and spans[i][0] < end:
            named.append(run)
    return named


def _read(text: str, runs: list[tuple[int, int, str, int]]) -> str:
    """``text`` with each of ``runs`` (from :func:`_legacy_runs`) as what it reads."""
    out, pos = [], 0
    for start, end, read, _ in runs:
        out += [text[pos:start], read]
        pos = end
    return "".join([*out, text[pos:]])


def identifier_map(texts: Iterable[str], masker: Callable[[str], str]) -> dict[str, str]:
    """``{masked: real}`` for every text the masker changes (slide ids, paths): how a person with the
    map gets from an output back to the file. Kept only on request, never in an output."""
    found: dict[str, str] = {}
    for text in texts:
        masked = masker(text)
        if masked != text:
            found.setdefault(masked, text)
    return dict(sorted(found.items()))
