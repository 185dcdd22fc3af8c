"""Korean and English: what a person reads is a gettext msgid with named placeholders, rendered in
the reader's language when an output is written.

A text is written in English as its msgid, its variable parts as named placeholders in
:meth:`str.format` syntax (``"class {name} is not in the taxonomy ({classes})"``).
:func:`msg` returns a :class:`Message`: the English rendering (a ``str``, so a caller that wants a
string has one) that also carries the template and its parameters. A finding stores both
(``Finding.message`` in English for every reader of results.json; ``template`` and ``params``), and
each output renders it in its language (:func:`render`), where the run's mask also applies.
:func:`N_` marks a msgid that is translated later (a table of labels).
A short word with two meanings (``normal``: an interval's normal approximation, ISO 2859-1's
normal inspection) is given a **context**, gettext's ``msgctxt``: :func:`pmsg`, :func:`NP_` and
:func:`pgettext` take it first, the ``.po`` entry carries it (``msgctxt "inspection severity"``)
and each meaning has its own translation; the same msgid without a context is another entry. The
context is a string literal where the msgid is marked (Babel's extractor reads no other).
A parameter whose name starts with ``_`` holds such a msgid (a part chosen from a fixed set: ``{_why}``, ``{_where}``):
it is translated with the message and filled from the message's other parameters; every other
parameter is a value, shown as it is.

Catalogues are gettext ``.po`` files, ``dqm/locale/<lang>/LC_MESSAGES/dqm.po``, read with Babel's
``read_po`` when first needed (no compiled ``.mo`` is kept); ``pybabel extract -F babel.cfg`` finds
the msgids (docs/i18n.md), and ``python -m dqm.i18n_catalogue`` lists those without a translation.
English needs no catalogue: the msgid is the English text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache, lru_cache
from importlib import resources
from pathlib import PurePath
from string import Formatter
from typing import Any

LANGUAGES = ("en", "ko")
"""The languages dqm writes; English is the source language."""
DOMAIN = "dqm"

Param = str | int | float | None

CONTEXT = "\x04"
"""Between a context and its msgid in a catalogue's key (gettext's own convention, as in a ``.mo``):
``"inspection severity\x04normal"``. No text dqm translates holds it."""


class Message(str):
    """A text in English that remembers its msgid (``template``) and ``params``."""

    template: str
    params: dict[str, Param]
    context: str | None
    """The msgid's context (:func:`pmsg`); None for most."""

    def __new__(cls, template: str, params: Mapping[str, object], context: str | None = None) -> Message:
        plain = {k: _plain(v) for k, v in params.items()}
        self = super().__new__(cls, _format(template, _parts(plain, "en")))
        self.template = template
        self.params = plain
        self.context = context
        return self

    def __reduce__(self) -> tuple[Any, ...]:  # a worker process sends findings back pickled
        return (Message, (self.template, self.params, self.context))

    def rendered(self, lang: str) -> str:
        """This message in ``lang``."""
        return render(self.template, self.params, lang, self.context)


def _plain(value: object) -> Param:
    """A parameter as JSON keeps it: text, a number (not a bool), or None; anything else as text.
    A path (a user's ``--out``, a file of the batch) is shown as every output shows a name
    (:func:`dqm.output.visible`), line breaks escaped too: a newline in a name a user typed must not
    forge a line of dqm's output."""
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        return value  # type: ignore[return-value]
    if isinstance(value, PurePath):
        return _PATH_UNSAFE.sub(escaped, str(value))
    return value if type(value) is str else str(value)


_PATH_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\udc80-\udcff]")
"""What a path parameter may not hold as it is: controls (line breaks among them), line and
paragraph separators, the bytes of a name not in UTF-8. Escaped by :func:`escaped`, as
:func:`dqm.output.visible` escapes them;
format characters are left to the printing (every line printed passes ``visible``)."""


def escaped(m: re.Match[str]) -> str:
    """The one character ``m`` matched, as every output escapes it: a byte of a name that is not
    UTF-8 as ``\\xNN``, a control as ``\\xNN``, others as ``\\uNNNN`` / ``\\UNNNNNNNN``. Here, the
    lowest module that shows text, so that :func:`dqm.output.visible` and the path parameters of
    :func:`_plain` share it (dqm.output imports this module, never the reverse)."""
    code = ord(m.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte of a name that is not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def msg(template: str, /, **params: object) -> Message:
    """The message ``template`` with its named placeholders filled from ``params``."""
    return Message(template, params)


def pmsg(context: str, template: str, /, **params: object) -> Message:
    """:func:`msg` of the msgid ``template`` in ``context`` (its ``.po`` entry's ``msgctxt``)."""
    return Message(template, params, context)


def N_(template: str) -> str:
    """Marks ``template`` as a msgid for the catalogue; it is translated where it is shown."""
    return template


def NP_(context: str, template: str) -> str:
    """Marks ``template`` as a msgid in ``context`` for the catalogue (:func:`N_` with a context);
    it is translated where it is shown, with :func:`pgettext` or ``translated(…, context=…)``."""
    return template


def check_language(lang: str) -> str:
    """``lang`` when dqm writes it, else a ``ValueError`` naming the choices."""
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r}: choose from {', '.join(LANGUAGES)}")
    return lang


def catalogue_path(lang: str) -> Any:
    """The ``.po`` file of ``lang`` inside the installed package (a Traversable)."""
    return resources.files("dqm").joinpath("locale", lang, "LC_MESSAGES", f"{DOMAIN}.po")


@cache
def catalogue(lang: str) -> dict[str, str]:
    """msgid → translation of every translated, non-fuzzy entry of ``lang`` (English: empty)."""
    if check_language(lang) == "en":
        return {}
    from babel.messages.pofile import read_po

    with catalogue_path(lang).open("rb") as fh:
        cat = read_po(fh, locale=lang, domain=DOMAIN)
    return {
        key(str(m.id), m.context): str(m.string)
        for m in cat
        if m.id and isinstance(m.id, str) and isinstance(m.string, str) and m.string and not m.fuzzy
    }


def key(msgid: str, context: str | None = None) -> str:
    """The catalogue's key of ``msgid`` in ``context``: the msgid itself without one."""
    return msgid if context is None else f"{context}{CONTEXT}{msgid}"


def gettext(text: str, lang: str) -> str:
    """``text`` (a msgid) in ``lang``; the msgid itself where the catalogue has no translation."""
    return catalogue(lang).get(text, text) if lang != "en" else text


def pgettext(context: str, text: str, lang: str) -> str:
    """``text`` (a msgid) in ``context`` in ``lang``; the msgid itself where the catalogue has no
    translation in that context (never the translation of another context, nor of none)."""
    return catalogue(lang).get(key(text, context), text) if lang != "en" else text


def placeholders(template: str) -> set[str]:
    """The named placeholders of a ``str.format`` template."""
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in Formatter().parse(template) if name}


def _format(template: str, params: Mapping[str, Param]) -> str:
    return template.format_map(params) if params else template


def _parts(params: Mapping[str, Param], lang: str) -> Mapping[str, Param]:
    """``params`` with each ``_…`` part (a msgid) translated into ``lang`` and filled from the
    other parameters; a part that does not fit them (a profile's own text) is shown as written."""
    if not any(k.startswith("_") for k in params):
        return params
    values = {k: v for k, v in params.items() if not k.startswith("_")}
    out = dict(values)
    for k, v in params.items():
        if k.startswith("_"):
            if not isinstance(v, str):
                out[k] = v
                continue
            try:
                out[k] = _format(gettext(v, lang), values)
            except (KeyError, IndexError, ValueError, AttributeError):
                out[k] = v
    return out


def render(template: str, params: Mapping[str, Param], lang: str, context: str | None = None) -> str:
    """``template`` (in ``context``, when given) translated into ``lang`` and filled from ``params``
    (those named ``_…``, msgids themselves, translated too). A translation that does not fit the
    parameters (a catalogue edited by hand) falls back to English, never raises."""
    translated = gettext(template, lang) if context is None else pgettext(context, template, lang)
    filled = _parts(params, lang)
    try:
        return _format(translated, filled)
    except (KeyError, IndexError, ValueError):
        return _format(template, _parts(params, "en"))


MIN_LITERAL = 3
"""Letters a msgid with placeholders must have outside them to be read back from its English
(``"{head}: {detail}"`` would match nearly any text)."""


@cache
def _readers(lang: str) -> tuple[tuple[tuple[re.Pattern[str], re.Pattern[str]], str, str], ...]:
    """``((lazy, greedy) patterns, longest literal, translation)`` for every translated msgid with
    placeholders, the most literal text first (the most specific reading wins)."""
    out = []
    for msgid, text in catalogue(lang).items():
        if CONTEXT in msgid:
            continue  # a word in a context is looked up in it, never read back from a sentence
        parts = list(Formatter().parse(msgid))
        names = [name for _, name, _, _ in parts if name is not None]
        literal = "".join(lit for lit, _, _, _ in parts)
        if not names or any(not n.isidentifier() for n in names):
            continue
        if sum(c.isalpha() for c in literal) < MIN_LITERAL:
            continue
        patterns = []
        for group in (".+?", ".+"):
            seen: set[str] = set()
            regex = []
            for lit, name, _, _ in parts:
                regex.append(re.escape(lit))
                if name is not None:
                    regex.append(f"(?P={name})" if name in seen else f"(?P<{name}>{group})")
                    seen.add(name)
            patterns.append(re.compile("".join(regex), re.DOTALL))
        longest = max((lit for lit, _, _, _ in parts), key=len)
        out.append(((patterns[0], patterns[1]), longest, text, len(literal)))
    out.sort(key=lambda r: -r[3])
    return tuple((pair, longest, text) for pair, longest, text, _ in out)


def _balanced(value: str) -> bool:
    """No bracket of ``value`` is left open or closed: a value read back whole."""
    depth = 0
    for c in value:
        depth += (c in "([{") - (c in ")]}")
        if depth < 0:
            return False
    return depth == 0


SENTENCE_END = re.compile(r"\. [A-Z]")
"""Where one sentence ends and the next begins: no value read back spans it."""


def _depths(text: str) -> list[int]:
    """The bracket depth at each character of ``text``."""
    out, depth = [], 0
    for c in text:
        depth -= c in ")]}"
        out.append(depth)
        depth += c in "([{"
    return out


def _whole(m: re.Match[str], depths: list[int]) -> bool:
    """No value of ``m`` runs over a sentence's end or over a ``"; "`` outside brackets (that is a
    list of texts: each is read on its own)."""
    for name, value in m.groupdict().items():
        if SENTENCE_END.search(value):
            return False
        start = m.start(name)
        if any(depths[start + i.start()] == 0 for i in re.finditer("; ", value)):
            return False
    return True


def _read_back(patterns: tuple[re.Pattern[str], re.Pattern[str]], text: str) -> dict[str, str] | None:
    """The placeholders' values in ``text``: the shortest first values, else the longest, whichever
    leaves no bracket of a value unbalanced (``{claim} ({size})`` on ``class (diagnosis) … (w 0)``);
    never values that run over a sentence or a list (a paragraph is read sentence by sentence)."""
    depths = _depths(text)
    found = [m for m in (p.fullmatch(text) for p in patterns) if m is not None and _whole(m, depths)]
    for m in found:
        if all(_balanced(v) for v in m.groupdict().values()):
            return m.groupdict()
    return found[0].groupdict() if found else None


def _fill_text(template: str, values: Mapping[str, str]) -> str:
    """``template`` with each placeholder replaced by its value as text (format specs dropped:
    the values read back from an English text are already formatted)."""
    out = []
    for lit, name, _, _ in Formatter().parse(template):
        out.append(lit)
        if name is not None:
            out.append(values.get(name, "{" + name + "}"))
    return "".join(out)


@lru_cache(maxsize=8192)
def translated(text: str, lang: str, context: str | None = None) -> str:
    """An English ``text`` written by dqm, in ``lang``: a msgid → its translation; a sentence
    that one msgid with placeholders renders → that msgid's translation filled with the values
    read back from the English (each value itself translated when it is one); a paragraph, each
    sentence so; texts joined with ``"; "``, each run of them that one msgid renders so; anything
    else (a text of an older dqm, a value from the batch) as it is.

    This is how a text stored in results.json as its plain English (a dimension's summary, a
    test's sentence, a method) reads in the report's language without a second field for it.
    ``context`` (a value of a known kind: ``"interval method"``, ``"inspection severity"``) is looked
    up first, so a word with two meanings reads as the one its place in the report has."""
    if lang == "en" or not text:
        return text
    if context is not None and (own := catalogue(lang).get(key(text, context))) is not None:
        return own
    one = _translated_one(text, lang)
    if one is not None:
        return one
    if ". " in text:  # a paragraph: each sentence so
        return " ".join(translated(sentence, lang) for sentence in re.split(r"(?<=\.) ", text))
    if "; " in text:  # a list: a rule and its extra clause, a sentence and its notes
        parts, out, i = text.split("; "), [], 0
        while i < len(parts):
            for j in range(len(parts), i, -1):  # the longest run one msgid reads
                run = _translated_one("; ".join(parts[i:j]), lang)
                if run is not None:
                    out.append(run)
                    i = j
                    break
            else:
                out.append(parts[i])
                i += 1
        return "; ".join(out)
    return text


def _translated_one(text: str, lang: str) -> str | None:
    """``text`` in ``lang`` when it is one msgid or what one msgid renders, else None."""
    if CONTEXT in text:
        return None  # not a text dqm wrote: never a catalogue's key of a word in a context
    exact = catalogue(lang).get(text)
    if exact is not None:
        return exact
    for patterns, longest, template in _readers(lang):
        if longest not in text:
            continue
        values = _read_back(patterns, text)
        if values is not None:
            return _fill_text(template, {k: translated(v, lang) for k, v in values.items()})
    return None


def markup_translator(lang: str) -> Any:
    """``_(msgid, **params)`` for an HTML template: the msgid in ``lang``, escaped, with its
    parameters escaped (a :class:`~markupsafe.Markup` parameter stays markup). A translation that
    does not fit its parameters falls back to English."""
    from markupsafe import Markup, escape

    check_language(lang)

    def _(text: str, /, **params: Any) -> Any:
        for template in (gettext(text, lang), text):
            safe = Markup(escape(template))
            try:
                return safe.format_map(params) if params else safe
            except (KeyError, IndexError, ValueError):
                continue
        return Markup(escape(text))

    return _


def translator(lang: str) -> Any:
    """``_(text, **params)`` for ``lang``: what a template calls to show a msgid."""
    check_language(lang)

    def _(text: str, /, **params: object) -> str:
        return render(text, {k: _plain(v) for k, v in params.items()}, lang)

    return _
