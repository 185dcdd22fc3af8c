"""Korean and English: what a person reads is a gettext msgid with named placeholders, rendered in
the reader's language when an output is written.

A text is written in English as its msgid, its variable parts as named placeholders in
:meth:`str.format` syntax (``"class {name} is not in the taxonomy ({classes})"``).
:func:`msg` returns a :class:`Message`: the English rendering (a ``str``, so a caller that wants a
string has one) that also carries the template and its parameters. A finding stores both
(``Finding.message`` in English for every reader of results.json; ``template`` and ``params``), and
each output renders it in its language (:func:`render`), where the run's mask also applies.
:func:`N_` marks a msgid that is translated later (a table of labels). A parameter whose name
starts with ``_`` holds such a msgid (a part chosen from a fixed set: ``{_why}``, ``{_where}``):
it is translated with the message and filled from the message's other parameters; every other
parameter is a value, shown as it is.

Catalogues are gettext ``.po`` files, ``dqm/locale/<lang>/LC_MESSAGES/dqm.po``, read with Babel's
``read_po`` when first needed (no compiled ``.mo`` is kept); ``pybabel extract -F babel.cfg`` finds
the msgids (docs/i18n.md), and ``python -m dqm.i18n_catalogue`` lists those without a translation.
English needs no catalogue: the msgid is the English text.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from string import Formatter
from typing import Any

LANGUAGES = ("en", "ko")
"""The languages dqm writes; English is the source language."""
DOMAIN = "dqm"

Param = str | int | float | None


class Message(str):
    """A text in English that remembers its msgid (``template``) and ``params``."""

    template: str
    params: dict[str, Param]

    def __new__(cls, template: str, params: Mapping[str, object]) -> Message:
        plain = {k: _plain(v) for k, v in params.items()}
        self = super().__new__(cls, _format(template, _parts(plain, "en")))
        self.template = template
        self.params = plain
        return self

    def __reduce__(self) -> tuple[Any, ...]:  # a worker process sends findings back pickled
        return (Message, (self.template, self.params))

    def rendered(self, lang: str) -> str:
        """This message in ``lang``."""
        return render(self.template, self.params, lang)


def _plain(value: object) -> Param:
    """A parameter as JSON keeps it: text, a number (not a bool), or None; anything else as text."""
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        return value  # type: ignore[return-value]
    return value if type(value) is str else str(value)


def msg(template: str, /, **params: object) -> Message:
    """The message ``template`` with its named placeholders filled from ``params``."""
    return Message(template, params)


def N_(template: str) -> str:
    """Marks ``template`` as a msgid for the catalogue; it is translated where it is shown."""
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
        str(m.id): str(m.string)
        for m in cat
        if m.id and isinstance(m.id, str) and isinstance(m.string, str) and m.string and not m.fuzzy
    }


def gettext(text: str, lang: str) -> str:
    """``text`` (a msgid) in ``lang``; the msgid itself where the catalogue has no translation."""
    return catalogue(lang).get(text, text) if lang != "en" else text


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


def render(template: str, params: Mapping[str, Param], lang: str) -> str:
    """``template`` translated into ``lang`` and filled from ``params`` (those named ``_…``, msgids
    themselves, translated too). A translation that does not fit the parameters (a catalogue
    edited by hand) falls back to English, never raises."""
    translated = gettext(template, lang)
    filled = _parts(params, lang)
    try:
        return _format(translated, filled)
    except (KeyError, IndexError, ValueError):
        return _format(template, _parts(params, "en"))


def markup_translator(lang: str) -> Any:
    """``_(msgid, **params)`` for an HTML template: the msgid in ``lang``, escaped, with its
    parameters escaped (a :class:`~markupsafe.Markup` parameter stays markup). A translation that
    does not fit its parameters falls back to English."""
    from markupsafe import Markup, escape

    check_language(lang)

    def _(text: str, **params: Any) -> Any:
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

    def _(text: str, **params: Param) -> str:
        return render(text, params, lang)

    return _
