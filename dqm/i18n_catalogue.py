"""The catalogues against the source: which msgids dqm shows and which have no translation.

Extraction is Babel's (``babel.cfg`` at the repository root names the methods: Python and the
Jinja2 templates; the keywords are ``msg``, ``N_`` and ``_``, and ``pmsg`` and ``NP_`` whose first
argument is the msgid's context, ``msgctxt``), over the source packages of a
checkout, plus the one-line meaning of every code the checks register (``@check(codes={code:
meaning})`` in ``validators/``: the report's "Meaning" column translates them, and some are built
from a table, so they are read from the registry rather than from the source text), plus the
built-in profiles' names of what their identifier patterns find (``deid.patterns.*.what``: a
finding's ``{_what}``). ``python -m dqm.i18n_catalogue [LANG]`` prints the msgids of ``LANG`` (default ``ko``)
that are missing, untranslated, fuzzy or whose placeholders differ, as ``.po`` entries to paste
into ``dqm/locale/<lang>/LC_MESSAGES/dqm.po``, and exits 1 when there is any. A development tool:
it reads the source tree, so it runs from a checkout, not from an installed wheel.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from dqm.i18n import DOMAIN, catalogue, check_language, key, placeholders

ROOT = Path(__file__).resolve().parents[1]
"""The checkout: ``babel.cfg`` and the source packages."""
PACKAGES = ("dqm", "validators", "reports")
KEYWORDS: dict[str, tuple[int | tuple[int, str], ...] | None] = {
    "msg": None,
    "N_": None,
    "_": None,
    "pmsg": ((1, "c"), 2),
    "NP_": ((1, "c"), 2),
}
"""The marking functions and their arguments (Babel's keyword specs: ``(1, "c")`` the context)."""


@dataclass(frozen=True, slots=True)
class Source:
    """One msgid (in its context, ``msgctxt``, when it has one) and where it is written
    (``path:line``, the first of them)."""

    msgid: str
    where: str
    context: str | None = None


def extract(root: Path = ROOT) -> list[Source]:
    """Every msgid in the source packages, once each in each context, in the order first met."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    with (root / "babel.cfg").open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found: dict[tuple[str | None, str], str] = {}
    for package in PACKAGES:
        for filename, lineno, message, _comments, context in extract_from_dir(
            root / package, method_map, options_map, keywords=KEYWORDS
        ):
            if isinstance(message, str) and message:
                found.setdefault((context or None, message), f"{package}/{filename}:{lineno}")
    for meaning, where in code_meanings().items():
        found.setdefault((None, meaning), where)
    for text, where in profile_texts(root).items():
        found.setdefault((None, text), where)
    return [Source(m, w, c) for (c, m), w in found.items()]


def profile_texts(root: Path = ROOT) -> dict[str, str]:
    """Each built-in profile's own name for what an identifier pattern finds (``deid.patterns.*.what``,
    a message's ``{_what}``, translated like a msgid when the catalogue has it) and where:
    ``dqm/profiles/<name>.yaml:deid.patterns.<pattern>.what``."""
    import yaml

    out: dict[str, str] = {}
    for path in sorted((root / "dqm" / "profiles").glob("*.yaml")):
        patterns = ((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("deid") or {}).get(
            "patterns"
        )
        for name, pattern in (patterns or {}).items():
            if isinstance(pattern, dict) and isinstance(pattern.get("what"), str) and pattern["what"]:
                out.setdefault(pattern["what"], f"dqm/profiles/{path.name}:deid.patterns.{name}.what")
    return out


def code_meanings() -> dict[str, str]:
    """Each registered code's meaning (a msgid) and where: ``validators/<module>.py:<CODE>``."""
    from validators import REGISTRY

    out: dict[str, str] = {}
    for spec in REGISTRY.values():
        module = spec.func.__module__.replace(".", "/")
        for code, meaning in spec.codes.items():
            out.setdefault(meaning, f"{module}.py:{code}")
    return out


def problems(lang: str, sources: list[Source] | None = None) -> list[tuple[Source, str]]:
    """Each msgid of the source without a usable translation in ``lang``, with the reason."""
    check_language(lang)
    sources = extract() if sources is None else sources
    if lang == "en":
        return []
    translated = catalogue(lang)
    out = []
    for s in sources:
        text = translated.get(key(s.msgid, s.context))
        if text is None:
            out.append((s, "no translation"))
        elif placeholders(text) != placeholders(s.msgid):
            out.append((s, f"placeholders {sorted(placeholders(text))} ≠ {sorted(placeholders(s.msgid))}"))
    return out


def _po_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def main(argv: list[str] | None = None) -> int:
    """Print the untranslated msgids of a language as ``.po`` entries; 1 when there is any."""
    args = sys.argv[1:] if argv is None else argv
    lang = check_language(args[0] if args else "ko")
    found = problems(lang)
    for source, why in found:
        context = "" if source.context is None else f"msgctxt {_po_string(source.context)}\n"
        print(f'#: {source.where}\n# {why}\n{context}msgid {_po_string(source.msgid)}\nmsgstr ""\n')
    path = f"dqm/locale/{lang}/LC_MESSAGES/{DOMAIN}.po"
    print(f"{len(found)} msgids without a translation in {path}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
