"""De-identification checks (aspect ``deid``): identifiers in slide properties, file names,
annotation properties and the clinical table; photographs of the glass label.

What identifies a person is the profile's ``deid`` section (:mod:`dqm.identifiers`). Every finding
names where the identifier is (file, property key, pointer, table row and column) and shows it
masked -- at most its first two characters -- never in full. ``identifier`` patterns and keys
are errors; ``quasi`` ones (scan dates, operators, phone numbers, dates in file names) warnings.
The slide's label and macro photographs are ``deid.associated_images``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import PurePosixPath
from typing import Any

from dqm.batch import MANIFEST_UNREAD_CHARS, MAX_TEXT_FILES, PATH_COLUMNS, STATED_COLUMNS, shown_korean_name
from dqm.checksums import MANIFEST_COLUMNS, SUMS_FILE
from dqm.clinical_table import IDENTIFYING
from dqm.findings import Aspect, Finding, Severity
from dqm.i18n import N_, msg
from dqm.identifiers import (
    KEY_TEXT,
    DeidSettings,
    Hit,
    KeyNames,
    Link,
    Place,
    Regex,
    TextBudget,
    file_name_hits,
    find,
    flat_text,
    glues_a_name,
    identifier_key,
    is_blank,
    key_says,
    key_word,
    link_parts,
    looks_identifying,
    mask,
    names_fields,
    plain_key,
    quasi_key,
    walk,
    whole_key,
)
from dqm.profile import Profile
from dqm.readers import XML_FORMATS
from dqm.readers.common.base import pointer
from validators.context import BatchView, ItemView
from validators.registry import CheckContext, NoParams, check, read_issues


def _code(prefix: str, level: str) -> str:
    return f"{prefix}_IDENTIFIER" if level == "identifier" else f"{prefix}_QUASI"


DQM_COLUMNS = frozenset((*PATH_COLUMNS, *MANIFEST_COLUMNS, *STATED_COLUMNS))
"""The manifest columns dqm itself reads (files, checksums, stated resolution and mask placement)."""


def shown_column(column: str, order: Sequence[str], profile: Profile) -> str:
    """How a finding names the clinical column ``column``: by its name where the profile declares
    it or dqm reads it (:data:`DQM_COLUMNS`), else by its 1-based position in ``order`` (the
    manifest's header, or the keys of an annotation's clinical block), ``#13``. A column's name is
    the batch's text, and a person's name in it (``Kim Minsoo 김민수 notes``) is no pattern's hit:
    shown, it reached every output (results, report, junit, fix list) unmasked."""
    if column in profile.clinical or column in DQM_COLUMNS:
        return column
    return f"#{order.index(column) + 1}" if column in order else "#?"


def _column_where(shown: str) -> tuple[str, str]:
    """A message's ``{_where}`` for a clinical column as :func:`shown_column` shows it."""
    return (N_("column {name}") if shown.startswith("#") else N_("column {name!r}")), shown


def _value_findings(
    text: str,
    place: Place,
    prefix: str,
    where: tuple[str, str | None],
    ctx: CheckContext,
    settings: DeidSettings,
    **loc: Any,
) -> list[Finding]:
    """A finding per identifier in ``text`` (all of it: :func:`find`); ``where`` is a msgid
    naming the value and the name it fills in (a key, a column), the identifier's kind a msgid of
    the profile's patterns."""
    return _hit_findings(find(text, settings, place), where, ctx, prefix, **loc)


def _hit_findings(
    hits: list[Hit],
    where: tuple[str, str | None],
    ctx: CheckContext,
    prefix: str = "DEID_ANNOTATION",
    **loc: Any,
) -> list[Finding]:
    where_id, name = where
    return [
        ctx.finding(
            _code(prefix, hit.level),
            msg(
                _HELD[min(len(hit.also), len(_HELD) - 1)],
                _what=hit.what,
                _where=where_id,
                name=name,
                masked=hit.masked,
                length=hit.length,
                **dict(zip(("_also", "_also2", "_also3"), hit.also, strict=False)),
                more=len(hit.also) - 3,
            ),
            **loc,
        )
        for hit in hits
    ]


_HELD = (
    N_("{_what} in {_where}: {masked} ({length} characters, masked)"),
    N_("{_what} in {_where}: {masked} ({length} characters, masked as one with the {_also})"),
    N_(
        "{_what} in {_where}: {masked} ({length} characters, masked as one with the {_also} and the {_also2})"
    ),
    N_(
        "{_what} in {_where}: {masked} ({length} characters, masked as one with the {_also}, the {_also2} and the "
        "{_also3})"
    ),
    N_(
        "{_what} in {_where}: {masked} ({length} characters, masked as one with the {_also}, the {_also2}, the "
        "{_also3} and {more} more kinds)"
    ),
)
"""A finding's message by how many other kinds of identifier its run holds (:attr:`Hit.also`): a
run joining identifiers of several kinds (a phone number glued to an e-mail address) is masked as
one and reported once, every kind named."""


MAX_SLIDE_PROPERTIES = 10_000
"""Properties of one slide searched (names and values), in the file's order: an Aperio description
of 500,000 ``key = value`` pairs cost 2.6 s more; the rest is ``DEID_SLIDE_UNSEARCHED``."""
MAX_SLIDE_CHARS = 4_000_000
"""Characters of one slide's property names and values searched, each searched whole (0.7 s of
CPU for the slowest text measured, as :data:`dqm.identifiers.MAX_SEARCHED_CHARS` says; 1.1 s of
wall time on a loaded machine); the properties past them are ``DEID_SLIDE_UNSEARCHED``."""


@check(
    "deid.slide_properties",
    aspect=Aspect.DEID,
    codes={
        "DEID_SLIDE_IDENTIFIER": "a slide property holds a personal identifier (name, ID number, birth date)",
        "DEID_SLIDE_QUASI": "slide properties that may identify (scan date, operator, original file name)",
        "DEID_SLIDE_UNSEARCHED": "a slide has more properties than are searched for identifiers",
    },
    code_severity={"DEID_SLIDE_QUASI": Severity.WARNING, "DEID_SLIDE_UNSEARCHED": Severity.WARNING},
)
def slide_properties(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """Slide properties hold no personal identifier; properties that may identify are listed."""
    probe = view.slide
    settings = view.profile.deid
    if probe is None or not (probe.properties or probe.text_unread) or not settings.enabled:
        return []
    out: list[Finding] = []
    quasi: list[str] = []
    own = [(key, value) for key, value in probe.properties.items() if not key.startswith("openslide.")]
    if probe.text_unread is not None:  # dqm's own note, apart from the file's properties
        out.append(
            ctx.finding(
                "DEID_SLIDE_UNSEARCHED",
                msg(
                    "the file's text tags hold more than is read for identifiers, from {where}: "
                    "the rest is not searched (check it before release)",
                    where=probe.text_unread,
                ),
                file=probe.path,
                pointer="/properties",
            )
        )
    if len(own) > MAX_SLIDE_PROPERTIES:
        out.append(
            ctx.finding(
                "DEID_SLIDE_UNSEARCHED",
                msg(
                    "{n} slide properties: the first {limit} are searched for identifiers, the other "
                    "{rest} are not (check them before release)",
                    n=len(own),
                    limit=MAX_SLIDE_PROPERTIES,
                    rest=len(own) - MAX_SLIDE_PROPERTIES,
                ),
                file=probe.path,
                pointer="/properties",
            )
        )
        own = own[:MAX_SLIDE_PROPERTIES]
    chars = MAX_SLIDE_CHARS
    own = sorted(own)
    names = shown_properties([key for key, _ in own], settings)
    for key, value in own:
        shown = names[key]
        loc = {"file": probe.path, "pointer": pointer("properties", shown)}
        chars -= len(key) + len(value)
        if chars < 0:
            out.append(
                ctx.finding(
                    "DEID_SLIDE_UNSEARCHED",
                    msg(
                        "the slide's properties hold more than {chars:,} characters: this one and those "
                        "after it are not searched for identifiers (check them before release)",
                        chars=MAX_SLIDE_CHARS,
                    ),
                    **loc,
                )
            )
            break
        named = _value_findings(
            key, "slide", "DEID_SLIDE", (N_("a property name"), None), ctx, settings, **loc
        )
        out.extend(named)  # a name comes from the file too (a vendor's key, a PNG chunk's keyword)
        if is_blank(value, settings):
            continue  # its name searched all the same
        if names_a_person(key, value, settings):
            out.append(
                ctx.finding(
                    "DEID_SLIDE_IDENTIFIER",
                    msg(
                        "slide property {key!r} names a person: {value} (masked)",
                        key=shown,
                        value=mask(value),
                    ),
                    **loc,
                )
            )
            continue
        found = _value_findings(
            value,
            "slide",
            "DEID_SLIDE",
            (N_("slide property {name!r}"), shown),
            ctx,
            settings,
            **loc,
        )
        out.extend(found)
        if not found and not named and quasi_key(key, settings):
            quasi.append(key)
    if quasi:
        shown = ", ".join(quasi[:8]) + (f" and {len(quasi) - 8} more" if len(quasi) > 8 else "")
        out.append(
            ctx.finding(
                "DEID_SLIDE_QUASI",
                msg(
                    "{n} slide properties may identify the patient or the scan ({shown}): "
                    "remove them before release or confirm they are harmless",
                    n=len(quasi),
                    shown=shown,
                ),
                file=probe.path,
                pointer="/properties",
            )
        )
    return out


def shown_property(key: str, settings: DeidSettings) -> str:
    """A slide property's name as a message or a pointer shows it: whole, unless it holds an
    identifier -- one a pattern finds (``aperio.dob19900101``) or more than an identifier key's
    word and the words of a standard name (:func:`dqm.identifiers.names_fields`:
    ``dicom.IssuerOfPatientID``, ``dicom.PatientBirthTime`` are shown whole;
    ``aperio.patient_id_HongGildong`` is not) -- then the vendor's name and that word where the
    name starts with it (``aperio.dob…``), else the rest masked (``aperio.no******``). A property's
    name is the file's text: shown whole, it would carry the identifier into every message, report
    line and results field."""
    vendor, dot, rest = key.partition(".") if "." in key else ("", "", key)
    said = key_says(rest, settings)
    if not find(key, settings, "slide") and (
        (said is None and not glues_a_name(rest))
        or whole_key(rest, settings.compiled.identifier_keys.search)
        or names_fields(rest)
    ):
        return key
    word = key_word(rest, settings.compiled.identifier_keys.search) if said is not None else None
    if word is not None and rest.startswith(word):
        return f"{vendor}{dot}{word}…"
    return f"{vendor}{dot}{mask(rest)}"


def shown_properties(keys: Sequence[str], settings: DeidSettings) -> dict[str, str]:
    """Each key's :func:`shown_property`, told apart where two would be shown the same
    (``aperio.dob19900101`` and ``aperio.dob19850101`` as ``aperio.dob…`` and ``aperio.dob…#2``,
    in the keys' order): a pointer pairs a finding with its property."""
    shown: dict[str, str] = {}
    taken: dict[str, int] = {}
    for key in keys:
        name = shown_property(key, settings)
        taken[name] = taken.get(name, 0) + 1
        shown[key] = name if taken[name] == 1 else f"{name}#{taken[name]}"
    return shown


@check(
    "deid.file_names",
    aspect=Aspect.DEID,
    codes={
        "DEID_FILENAME_IDENTIFIER": "a file name holds a personal identifier (name, ID number, birth date)",
        "DEID_FILENAME_QUASI": "a file name holds a date, phone number or address that may identify",
    },
    code_severity={"DEID_FILENAME_QUASI": Severity.WARNING},
)
def file_names(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """The slide id the manifest gives and the file and folder names of the item's slide and annotation hold no identifier."""
    settings = view.profile.deid
    if not settings.enabled:
        return []
    out: list[Finding] = []
    if view.item.row is not None:  # without a manifest the id is the file's stem, searched below
        out += _value_findings(
            view.item.slide_id, "clinical", "DEID_FILENAME", (N_("the slide id"), None), ctx, settings,
            file="manifest.csv", row=view.item.row, column="slide_id",
        )  # fmt: skip
    seen: set[str] = set()
    for status in (view.image, view.annotation_file):
        path = status.path
        if not path or path in seen:
            continue
        seen.add(path)
        for part in PurePosixPath(path).parts:
            hits = [hit for hit in _part_hits(part, settings) if not counted_once(hit, settings)]
            found = _hit_findings(hits, (N_("the file name"), None), ctx, "DEID_FILENAME", file=path)
            if found:
                out.extend(found)
                break
    return out


def _class_findings(
    lesions: list[Any], ctx: CheckContext, settings: DeidSettings, budget: TextBudget
) -> list[Finding]:
    """Identifiers in lesion class names: one finding per distinct name, at its first lesion.
    Each distinct name is charged to the file's ``budget`` (a warning at the first name not
    searched in full): a COCO category named with 4 MB of text was searched whole, with no
    budget, by each item of the file (16.4 s of CPU for 20 items; 2.4 s before)."""
    out: list[Finding] = []
    seen: set[str] = set()
    for lesion in lesions:
        name = lesion.raw_class
        if not isinstance(name, str) or name in seen or is_blank(name, settings):
            continue
        seen.add(name)
        loc: dict[str, Any] = {"pointer": lesion.pointer, "lesion": lesion.index}
        if len(searched := budget.take(name, None, None)) < len(name):
            out.append(_unsearched(ctx, budget, **loc))
        out.extend(_value_findings(
            searched, "annotation", "DEID_ANNOTATION", (N_("the class name"), None), ctx, settings, **loc
        ))  # fmt: skip
        if budget.stopped is not None:
            break
    return out


def _unsearched(ctx: CheckContext, budget: TextBudget, **loc: Any) -> Finding:
    """The warning at the first text of an annotation file not searched in full."""
    return ctx.finding(
        "DEID_ANNOTATION_UNSEARCHED",
        msg(
            "the file holds more text than is searched for identifiers ({n:,} texts, {chars:,} "
            "characters): the texts from here on are not searched (check them before release)",
            n=budget.limits[0],
            chars=budget.limits[1],
        ),
        **loc,
    )


def _located(
    target: Target, path: tuple[str, ...], profile: Profile, names: KeyNames
) -> tuple[str, str | None]:
    """Where ``path`` of ``target`` is: its pointer, a key no format defines named by its position
    (:func:`_shown_path`), and for a value of an annotation's clinical block under a key the
    profile does not declare, that key as :func:`shown_column` shows it (``#3``), the pointer cut
    above it (``/clinical``): the key is a column's name."""
    base, _, props, fmt = target
    if fmt == "clinical" and len(path) > 1:
        column = shown_column(path[1], tuple(props["clinical"]), profile)
        if column != path[1]:
            return "/clinical", column
    return _target_pointer(fmt, base, _shown_path(target, path, names)), None


def _shown_path(target: Target, path: tuple[str, ...], names: KeyNames) -> tuple[str, ...]:
    """``path`` of ``target`` as pointers and messages show it: a key no format defines (nor the
    profile: a clinical field) by its position, ``#2`` (:class:`dqm.identifiers.KeyNames`); a
    file-level text's pointer was so built by its reader."""
    _, _, props, fmt = target
    if fmt == "file" and path:
        return (path[0], *names.path(props.get(path[0]), path[1:]))
    if fmt == "clinical" and len(path) > 1:
        return (*path[:2], *names.path(props["clinical"].get(path[1]), path[2:]))
    return tuple(names.path(props, path))


def _naming_keys(props: dict[str, Any], fmt: str, settings: DeidSettings) -> dict[str, tuple[str, bool]]:
    """The names kept beside a file-level text's pointer (:data:`~dqm.identifiers.KEY_TEXT`: the
    key, or an XML element's tag, the pointer names by its position) that name a person or a kind
    of identifier (``PatientIDType``: :func:`dqm.identifiers.key_says`), by that pointer, with
    whether it names a person; worked out once a target (a file's texts hold few)."""
    if fmt != "file":
        return {}
    naming = {}
    for at, name in props.items():
        if at.endswith(KEY_TEXT) and isinstance(name, str) and (says := key_says(name, settings)) is not None:
            naming[at.removesuffix(KEY_TEXT)] = (name, says == "person")
    return naming


_AFTER = "/following-sibling::"
"""The step of an XML text after an element (``…/#1[1]/following-sibling::text()[1]``): the text
is the parent's, not below the element."""


def _name_above(
    at: str, props: dict[str, Any], naming: dict[str, tuple[str, bool]], lengths: list[int]
) -> Any:
    """The name kept beside a kept text's pointer ``at`` where it names a person, else the nearest
    such above it, else the nearest name of a kind of identifier there or above
    (``<PatientIDType><v>…``: a person above a nearer kind is the person's) (``naming``,
    :func:`_naming_keys`: the pointer said so when it named the key by its name; ``lengths``: its
    pointers' lengths, longest first; not the element an XML text comes after, :data:`_AFTER`),
    else the one beside ``at`` (None where there is none). A pointer of that many keys costs one
    lookup for each length, however many such names the file holds."""
    kind = None
    for n in lengths:  # the nearest first
        if (
            n <= len(at)
            and (n == len(at) or (at[n] == "/" and not at.startswith(_AFTER, n)))
            and (named := naming.get(at[:n])) is not None
        ):
            if named[1]:
                return named[0]
            kind = kind or named[0]
    return kind if kind is not None else props.get(at + KEY_TEXT)


def _shown_name(key: str, path: tuple[str, ...], shown: tuple[str, ...]) -> str:
    """The key nearest above a text (``key``, the last of ``path`` that is it) as ``shown`` names it."""
    return next((s for p, s in zip(reversed(path), reversed(shown), strict=True) if p == key), key)


def _target_pointer(fmt: str, base: str, path: tuple[str, ...]) -> str:
    if fmt == "file":  # file-level properties are keyed by their pointer (a key's name: KEY_TEXT)
        return path[0].removesuffix(KEY_TEXT)
    if fmt == "clinical":
        return pointer(*path)
    return _prop_pointer(fmt, base, path)


def _prop_pointer(fmt: str, base: str, path: tuple[str, ...]) -> str:
    if fmt in XML_FORMATS and len(path) == 1:
        return f"{base}/@{path[0]}"
    if fmt == "coco":  # a COCO lesion's properties are its annotation's own keys
        return base + pointer(*path)
    return base + pointer("properties", *path)


@check(
    "deid.annotation_properties",
    aspect=Aspect.DEID,
    codes={
        "DEID_ANNOTATION_IDENTIFIER": "an annotation property or name holds a personal identifier",
        "DEID_ANNOTATION_QUASI": "an annotation property holds a phone number or address that may identify",
        "DEID_ANNOTATION_UNSEARCHED": "an annotation file holds more text than is searched for identifiers",
    },
    code_severity={"DEID_ANNOTATION_QUASI": Severity.WARNING, "DEID_ANNOTATION_UNSEARCHED": Severity.WARNING},
)
def annotation_properties(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """Lesion classes and properties and the annotation's file properties (names, comments, free text) hold no identifier."""
    ann = view.annotation
    settings = view.profile.deid
    if ann is None or not ann.readable or not settings.enabled:
        return []
    out: list[Finding] = []
    targets: list[Target] = [
        (lesion.pointer, lesion.index, lesion.properties, ann.format) for lesion in ann.lesions
    ]
    targets.append(("", None, ann.properties, "file"))
    budget = TextBudget()  # the file's: its class names, then its other texts
    if view.item.searches_file_text:  # a file shared by many items: one of them searches its own text
        targets.append(("", None, ann.file_text, "file"))
        out.extend(_class_findings(ann.lesions, ctx, settings, budget))  # and all its class names (runner)
    out.extend(read_issues(view, ctx))  # the text past a reader's cap, not searched
    if view.item.row is None:  # the block is the item's record: its values are deid.clinical_record's
        block = {
            key: value if isinstance(value, dict | list) else None for key, value in ann.clinical.items()
        }
    else:  # the block beside the manifest's row: searched whole
        block = ann.clinical
    if block:  # without a manifest its keys and nested values were searched by neither check
        targets.append(("", None, {"clinical": block}, "clinical"))
    return out + _searched_texts(targets, view.profile, ctx, budget)


def _unescaped(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


_STEP = re.compile(r"(?:descendant::)?@?(.*?)(?:\[\d+\])?", re.DOTALL)
"""An XML path's step (``patient[1]``, ``@patient``, ``descendant::patient[2]``) and the key it
names (``patient``): :data:`DEFAULT_IDENTIFIER_KEYS`' ``^patient$`` matched none of those."""


def _step_keys(at: str) -> list[str | None]:
    """The key each step of a pointer ``at`` names (a JSON pointer's key unescaped, an XML path's
    step without its axis, ``@`` and position: :data:`_STEP`), None for an element a text comes
    after (``…/patient[1]/following-sibling::text()[1]``, :data:`_AFTER`: the parent's text)."""
    parts = at.split("/")
    return [
        None if parts[k + 1 : k + 2] and parts[k + 1].startswith(_AFTER[1:]) else _step(part)
        for k, part in enumerate(parts)
    ]


def _step(part: str) -> str:
    found = _STEP.fullmatch(_unescaped(part))
    return found[1] if found is not None and found[1] else _unescaped(part)


def names_a_person(key: str, value: Any, settings: DeidSettings) -> bool:
    """Whether ``key`` says its non-blank ``value`` is a person's: an identifier key
    (:func:`dqm.identifiers.identifier_key`), or one naming a kind of identifier
    (``patient_id_type``, :func:`dqm.identifiers.key_says`) where the value is more than a kind's
    description (``"Patient ID Type": "Hong Gildong"``, :func:`dqm.identifiers.looks_identifying`;
    ``"MRN"`` not)."""
    said = key_says(key, settings)
    return said == "person" or (said == "kind" and looks_identifying(value, settings))


def _shown_key(key: str, settings: DeidSettings) -> str:
    """A key that names a person as a message shows it: whole when a plain word the pattern
    matches all of (``patient_name``), else only what the identifying-key pattern matched
    (``patient_name Hong Gildong``, ``patient_name_HongGildong`` as ``patient_name…``): the rest of
    such a key is the identifier, and the masker knows no bare name."""
    search = settings.compiled.identifier_keys.search
    word = key_word(key, search)
    if plain_key(key) and (word is None or whole_key(key, search)):
        return key
    return f"{word}…" if word is not None else mask(key)


def identifier_word(key: str, settings: DeidSettings) -> bool:
    """Whether the profile's identifier keys name all of ``key`` (:func:`dqm.identifiers.whole_key`)."""
    return settings.enabled and whole_key(key, settings.compiled.identifier_keys.search)


def _safe_pointer(at: str, settings: DeidSettings, key_hit: bool = False) -> tuple[str, str | None]:
    """``at`` cut where the keys it names would show an identifier, and the identifying key met (as
    :func:`_shown_key` shows it; None: none). Cut after the first key that names a person and is a
    plain word the pattern matches all of (what a reader kept below it,
    ``/features/0/properties/patient_name/Hong Gildong``, is the identifier, not its place); before
    one that is more (``patient_name Hong Gildong``, ``patient_name_HongGildong``: the key is the
    identifier); with ``key_hit`` (a key in ``at`` holds a pattern's hit), before the
    first key holding one."""
    parts = at.split("/")
    for k, (part, step) in enumerate(zip(parts, _step_keys(at), strict=True)):
        key = _unescaped(part)
        if not key:
            continue
        if key_hit and find(key, settings, "annotation"):
            return "/".join(parts[:k]), None
        if step is not None and identifier_key(step, settings):
            # an XML attribute's (``@PatientName``) whole; an element's (``patient[1]``) before it
            cut = k + 1 if identifier_word(key.removeprefix("@"), settings) else k
            return "/".join(parts[:cut]), _shown_key(step, settings)
    return at, None


def _key_says(key: str, own: Any, kept: bool, settings: DeidSettings) -> str | None:
    """What a key met by :func:`_searched_texts` says of its value (:func:`dqm.identifiers.key_says`:
    ``person``, ``kind`` or None). A kept text's pointer (``kept``) by any step of it
    (``/features/0/properties/patient/0``, ``…/patient[1]/text()[1]``, ``…/@patient``:
    :func:`_step_keys`, not the pointer across them) or the name kept beside it (``own``), a person
    before a kind."""
    if not kept:
        return key_says(key, settings)
    keys = [step for step in _step_keys(key) if step is not None]
    if isinstance(own, str):
        keys.append(own)
    says = {key_says(k, settings) for k in keys}
    return "person" if "person" in says else "kind" if "kind" in says else None


MAX_PLACES = 20
"""Places of one annotation file a text holding an identifier is reported at (or a person's value
under a key that names one): each place past the first is charged to the file's
:class:`TextBudget` as a text searched again, and the places past these are counted in one finding
at the first of them. A file repeating one RRN 200,000 times gave 200,000 findings (21 s, 534 MB);
now 21."""

Target = tuple[str, int | None, Any, str]
"""What an annotation's texts are searched as: the base pointer, the lesion, the value, its format."""


def _searched_texts(
    targets: list[Target], profile: Profile, ctx: CheckContext, budget: TextBudget
) -> list[Finding]:
    """Every key and string of ``targets`` searched (:func:`dqm.identifiers.walk`: however deep,
    however long a list), within the file's ``budget`` (its class names charged first); a warning
    at the first text not searched in full. A key is searched as a text (once a file); a key that
    names a person (``patient_name``) flags its value, whatever it is (a string, a number, a list of names), at the
    key, and what the value holds is not searched again. A text is searched once (its hits kept by
    text: what a pattern finds does not depend on the key above it) and reported at its first
    :data:`MAX_PLACES` places, each charged to the budget, the rest counted in one finding; a
    pointer is built only for a finding."""
    settings = profile.deid
    if budget.stopped is not None:  # spent on the class names, and said so there
        return []
    out: list[Finding] = []
    keys_seen: set[str] = set()
    hits_of: dict[str, list[Hit]] = {}
    named: dict[str, str | None] = {}  # by key: what it says of its value (_key_says)
    listed: dict[tuple[str, str], int] = {}  # (the key that names a person or "", the text): places reported
    more: dict[tuple[str, str], list[Any]] = {}  # the same: [places past those, target, link, hits]
    skip = [False]  # whether the key just met flags its value: the walk does not go into it
    keys_as = KeyNames(lambda key: identifier_word(key, settings))  # a key no format defines: #2

    def hits_in(text: str, index: int, link: Link) -> list[Hit] | None:
        """The hits in ``text`` (None: the budget is spent, nothing of it searched)."""
        if (hits := hits_of.get(text)) is None:
            searched = budget.take(text, index, link)
            if not searched and budget.stopped is not None:
                return None
            hits = find(searched, settings, "annotation")
            if len(searched) == len(text):
                hits_of[text] = hits
        return hits

    for index, (_, lesion, props, fmt) in enumerate(targets):
        naming = _naming_keys(props, fmt, settings)  # a key named by its position that names a person
        lengths = sorted({len(p) for p in naming}, reverse=True)
        for link, key, held, keyed in walk(props, index, lambda *_: skip[0]):
            if keyed:
                kept = fmt == "file" and link is not None and link[0] is None  # a kept text's pointer
                own = _name_above(key, props, naming, lengths) if kept else None  # the key its pointer names
                if (says := named.get(key, "")) == "":
                    says = named[key] = _key_says(key, own if kept else None, kept, settings)
                names, kinds = says == "person", says == "kind"
                declared = (
                    (names or kinds)
                    and fmt == "clinical"
                    and len(link_parts(link)) == 2
                    and key in profile.clinical
                )
                flat = flat_text(held) if (names or kinds) and not declared else ""
                # "Patient ID Type": "Hong Gildong"; a form's fields are judged where they are
                names = names or (kinds and looks_identifying(held, settings))
                skip[0] = names and not declared and not is_blank(flat, settings)
            before = budget.texts
            if keyed and key in keys_seen:
                hits = []
            elif not keyed and is_blank(held, settings):
                continue
            elif (found := hits_in(key if keyed else held, index, link)) is None:
                break
            else:
                hits = found
            if keyed:
                keys_seen.add(key)
            if not hits and not (keyed and skip[0]):
                continue
            if not keyed or skip[0]:  # a value's place (a key's own hits are reported once a file)
                place = (key, flat) if keyed else ("", held)
                if (n := listed.get(place, 0)) >= MAX_PLACES:
                    more.setdefault(place, [0, index, link, hits])[0] += 1
                    continue
                listed[place] = n + 1
                if budget.texts == before and len(budget.take(place[1], index, link)) < len(place[1]):
                    break  # a text met before, charged again: the budget is spent
            parts = link_parts(link)
            at, column = _located(targets[index], parts, profile, keys_as)
            at, shown = _safe_pointer(at, settings, key_hit=keyed and bool(hits))
            loc: dict[str, Any] = {"pointer": at, "lesion": lesion}
            if column is not None:
                loc["column"] = column
            if keyed:
                out += _hit_findings(hits, (N_("a property name"), None), ctx, **loc)
                if skip[0]:
                    if kept:
                        key = shown or _shown_key(own if isinstance(own, str) else key, settings)
                    else:
                        key = _shown_key(key, settings)
                    value = mask(flat)
                    out.append(
                        ctx.finding(
                            "DEID_ANNOTATION_IDENTIFIER",
                            msg("property {key!r} names a person: {value} (masked)", key=key, value=value),
                            **loc,
                        )
                    )
            elif targets[index][3] == "file" and parts[0].endswith(KEY_TEXT):  # a key its pointer numbers
                out += _hit_findings(hits, (N_("a property name"), None), ctx, **loc)
            elif column is not None and key == parts[1]:  # a string under the block's key, or in its list
                out += _hit_findings(hits, _column_where(column), ctx, **loc)
            else:
                name = _shown_name(key, parts, _shown_path(targets[index], parts, keys_as))
                where = N_("property {name}") if name.startswith("#") else N_("property {name!r}")
                out += _hit_findings(hits, (where, name), ctx, **loc)
        if budget.stopped is not None:
            break
    for (named_by, text), (n, index, link, hits) in more.items():
        lesion = targets[index][1]
        at, column = _located(targets[index], link_parts(link), profile, keys_as)
        at, _ = _safe_pointer(at, settings)
        named_kinds: list[str] = []
        if named_by:
            named_kinds, masked, level = (
                [N_("a value under a key that names a person")],
                mask(text),
                "identifier",
            )
        else:
            for kind in (k for h in hits for k in (h.what, *h.also)):  # every kind the text holds
                named_kinds += [] if kind in named_kinds else [kind]
            masked = hits[0].masked
            level = "identifier" if any(h.level == "identifier" for h in hits) else hits[0].level
        out.append(
            ctx.finding(
                _code("DEID_ANNOTATION", level),
                msg(
                    _REPEATED[min(len(named_kinds), len(_REPEATED)) - 1],
                    **dict(zip(("_what", "_also", "_also2"), named_kinds, strict=False)),
                    more=len(named_kinds) - 3,
                    n=n,
                    masked=masked,
                ),
                pointer=at,
                lesion=lesion,
                column=column,
            )
        )
    if budget.stopped is not None:
        index, link = budget.stopped
        base, lesion, _, _ = targets[index]
        parts = link_parts(link)
        at, column = _located(targets[index], parts, profile, keys_as) if parts else (base, None)
        out.append(_unsearched(ctx, budget, pointer=at, lesion=lesion, column=column))
    return out


_INTEGER = re.compile(r"^\s*[+-]?\d{1,3}\s*$")
_DATE = re.compile(r"^\s*\d{4}-\d{2}-\d{2}\s*$")


_REPEATED = (
    N_(
        "{_what}: the same text at {n:,} more places of the file, from here on, not listed ({masked}, masked)"
    ),
    N_(
        "{_what} and {_also}: the same text at {n:,} more places of the file, from here on, not listed "
        "({masked}, masked)"
    ),
    N_(
        "{_what}, {_also} and {_also2}: the same text at {n:,} more places of the file, from here on, "
        "not listed ({masked}, masked)"
    ),
    N_(
        "{_what}, {_also}, {_also2} and {more} more kinds: the same text at {n:,} more places of the "
        "file, from here on, not listed ({masked}, masked)"
    ),
)
"""The finding for a text repeated in a file, by how many kinds of identifier it holds (each named)."""


def _in_domain(profile: Profile, column: str, text: str) -> bool:
    """True for a value its field's closed domain accepts: a listed category, a class of the
    taxonomy, a short integer or an ISO date. Free-text fields are never in a closed domain."""
    field = profile.clinical[column]
    if field.type == "category":
        return text in (field.values or ())
    if field.type == "class":
        return profile.resolve_class(text) is not None
    if field.type == "integer":
        return bool(_INTEGER.match(text))
    if field.type == "date":
        return bool(_DATE.match(text))
    return False


@check(
    "deid.manifest_columns",
    aspect=Aspect.DEID,
    scope="batch",
    codes={
        "DEID_COLUMN_IDENTIFIER": "a manifest column's name holds a personal identifier",
        "DEID_COLUMN_QUASI": "a manifest column's name holds a phone number or address that may identify",
    },
    code_severity={"DEID_COLUMN_QUASI": Severity.WARNING},
)
def manifest_columns(batch: BatchView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """The manifest's column names hold no identifier (a header copied from a patient list)."""
    settings = batch.profile.deid
    if not settings.enabled:
        return []
    out: list[Finding] = []
    header = batch.manifest_header
    for name in dict.fromkeys(header):  # a repeated name once
        out += _value_findings(
            name, "clinical", "DEID_COLUMN", (N_("a column name"), None), ctx, settings,
            file="manifest.csv", column=shown_column(name, header, batch.profile),
        )  # fmt: skip
    return out


@check(
    "deid.manifest_text",
    aspect=Aspect.DEID,
    scope="batch",
    codes={
        "DEID_MANIFEST_IDENTIFIER": "manifest text no item holds (a manifest not used, cells past the header or "
        "under no column name, rows not read) holds a personal identifier",
        "DEID_MANIFEST_QUASI": "manifest text no item holds may identify (a date, phone number or address)",
        "DEID_MANIFEST_UNSEARCHED": "manifest text no item holds was not all searched for identifiers",
    },
    code_severity={"DEID_MANIFEST_QUASI": Severity.WARNING, "DEID_MANIFEST_UNSEARCHED": Severity.WARNING},
)
def manifest_text(batch: BatchView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """The manifest's text that no item's record holds has no identifier.

    That is a manifest refused (not decodable, too large, not CSV, no ``slide_id`` column), read as
    UTF-8 and CP949; the cells of a row past the header's width or under a blank or repeated column
    name; the rows past those read; a line too long to read (its head); the header's names past the
    columns read; a checksum cell that is not a SHA-256. No other check searches them, and the batch delivers them. All
    of it is searched at once, then, where it holds any, row by row to say where
    (:data:`dqm.batch.MANIFEST_UNREAD_CHARS` in all); one text alone (a manifest refused) is searched
    once."""
    settings = batch.profile.deid
    if not settings.enabled:
        return []
    where = (N_("manifest text no item reads"), None)
    out = _kept_findings(batch.manifest_unread, "DEID_MANIFEST", where, ctx, settings, "manifest.csv", "row")
    if batch.manifest_unread_cut:
        out.append(
            ctx.finding(
                "DEID_MANIFEST_UNSEARCHED",
                msg(
                    "the manifest holds text no item reads that was not searched for identifiers (a manifest not "
                    "read, or past the {chars:,} characters searched): check it before release",
                    chars=MANIFEST_UNREAD_CHARS,
                ),
                file="manifest.csv",
            )
        )
    return out


MAX_KEPT_ONE_BY_ONE = 1000
"""Texts of a file searched one by one to name their line (``SHA256SUMS``' lines): the rest are
searched in blocks (:func:`_in_blocks`) to name the texts that hold one, at most this many more
named (a list of a million lines each holding an RRN made a million findings): past them, said at
no line."""


def _kept_findings(
    texts: Sequence[tuple[int | str | None, str]],
    prefix: str,
    where: tuple[str, str | None],
    ctx: CheckContext,
    settings: DeidSettings,
    file: str | None,
    key: str,
) -> list[Finding]:
    """Findings of the kept texts of ``file`` no other check reads, each at its ``key`` (``row`` or
    ``line``). Several texts are searched joined first, to search them one by one only where they
    hold one; one text alone (a file refused) is searched once; past :data:`MAX_KEPT_ONE_BY_ONE`
    texts, the rest in blocks, and one by one in a block that holds one (:func:`_in_blocks`)."""
    texts, rest = texts[:MAX_KEPT_ONE_BY_ONE], texts[MAX_KEPT_ONE_BY_ONE:]
    out: list[Finding] = []
    whole = {"file": file} if file is not None else {}
    hits = find("\n".join(text for _, text in texts), settings, "clinical") if len(texts) > 1 else None
    if hits is None or hits:
        for at, text in texts:
            out += _value_findings(text, "clinical", prefix, where, ctx, settings, **{**whole, key: at})
    if hits and not out:  # a run only the texts joined make: said without a row
        out += _hit_findings(hits, where, ctx, prefix, **whole)
    for at, held in _in_blocks(rest, settings, [MAX_KEPT_ONE_BY_ONE]):  # blocks, then texts where one holds
        out += _hit_findings(held, where, ctx, prefix, **whole, **({key: at} if at is not None else {}))
    return out


KEPT_BLOCK = 16
"""Kept texts past :data:`MAX_KEPT_ONE_BY_ONE` are searched joined in blocks of this many, and one by
one only in a block that holds a hit: each text is searched at most twice, so the cost is at most
twice one search of them all, however the hits lie (halving, the second round's rule, searched the
whole join again at every level: 10x with 1,000 hits spread over 200,000 lines, a second review)."""


def _in_blocks(
    texts: Sequence[tuple[int | str | None, str]], settings: DeidSettings, left: list[int]
) -> list[tuple[int | str | None, list[Hit]]]:
    """Each text of ``texts`` that holds a hit, with its hits: blocks of :data:`KEPT_BLOCK` texts
    searched joined, a block's texts one by one where it holds one, while ``left`` texts may still
    be named. A run only a block's join makes (across two texts, whether or not another text of the
    block holds one: a last review), and the hits of blocks past the ``left`` texts named (a list
    of a million lines each holding an RRN), are said at no text, each value once."""
    out: list[tuple[int | str | None, list[Hit]]] = []
    unnamed: list[Hit] = []
    for start in range(0, len(texts), KEPT_BLOCK):
        block = texts[start : start + KEPT_BLOCK]
        held = find("\n".join(text for _, text in block), settings, "clinical")
        if not held:
            continue
        named = (
            [(at, one) for at, text in block if (one := find(text, settings, "clinical"))]
            if left[0] > 0
            else []
        )
        named = named[: max(left[0], 0)]
        left[0] -= len(named)
        out += named
        said = {(hit.name, hit.masked) for _, hits in named for hit in hits}
        unnamed += [hit for hit in held if (hit.name, hit.masked) not in said]  # past the named, or a join's
    once = list({(hit.name, hit.masked): hit for hit in unnamed}.values())
    return out + ([(None, once)] if once else [])


@check(
    "deid.checksum_text",
    aspect=Aspect.DEID,
    scope="batch",
    codes={
        "DEID_CHECKSUM_TEXT_IDENTIFIER": "the text of SHA256SUMS that names no file of the batch (a comment, a line "
        "that is no entry, a path not there or leaving the batch) holds a personal identifier",
        "DEID_CHECKSUM_TEXT_QUASI": "the text of SHA256SUMS that names no file of the batch may identify (a date, "
        "phone number or address)",
        "DEID_CHECKSUM_TEXT_UNSEARCHED": "the text of SHA256SUMS that names no file of the batch was not all "
        "searched for identifiers",
    },
    code_severity={
        "DEID_CHECKSUM_TEXT_QUASI": Severity.WARNING,
        "DEID_CHECKSUM_TEXT_UNSEARCHED": Severity.WARNING,
    },
)
def checksum_text(batch: BatchView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """The text of ``SHA256SUMS`` that names no file of the batch has no identifier.

    That is its comments, the lines that are no entry, the paths it lists that are not there,
    leave the batch or are hidden (a hidden file or folder is not walked), and a list not decodable or too large (its head read as UTF-8 and CP949, as a
    refused manifest is). The names of the files that are there are :func:`file_names`' and
    :func:`other_names`'; no other check reads the rest, and the batch delivers it. Searched as
    :func:`manifest_text` searches, line by line for the first :data:`MAX_KEPT_ONE_BY_ONE` lines,
    :data:`dqm.batch.MANIFEST_UNREAD_CHARS` in all."""
    settings = batch.profile.deid
    if not settings.enabled:
        return []
    out = _kept_findings(
        batch.sums_unread, "DEID_CHECKSUM_TEXT", (N_("checksum list text naming no file of the batch"), None),
        ctx, settings, SUMS_FILE, "line",
    )  # fmt: skip
    if batch.sums_unread_cut:
        unsearched = msg(
            "{file} holds text naming no file of the batch that was not searched for identifiers (a list "
            "too large to read, or past the {chars:,} characters searched): check it before release",
            file=SUMS_FILE,
            chars=MANIFEST_UNREAD_CHARS,
        )
        out.append(ctx.finding("DEID_CHECKSUM_TEXT_UNSEARCHED", unsearched, file=SUMS_FILE))
    return out


@check(
    "deid.other_texts",
    aspect=Aspect.DEID,
    scope="batch",
    codes={
        "DEID_OTHER_TEXT_IDENTIFIER": "the text of a file the batch delivers and no item reads (a README, a note, "
        "sidecar, document or archive not read, an orphan annotation, an orphan slide's text tags) holds a personal "
        "identifier",
        "DEID_OTHER_TEXT_QUASI": "the text of a file the batch delivers and no item reads may identify (a date, phone "
        "number or address)",
        "DEID_OTHER_TEXT_UNSEARCHED": "the text of files the batch delivers and no item reads was not all searched "
        "for identifiers",
    },
    code_severity={"DEID_OTHER_TEXT_QUASI": Severity.WARNING, "DEID_OTHER_TEXT_UNSEARCHED": Severity.WARNING},
)
def other_texts(batch: BatchView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """The text of the files the batch delivers and no item reads has no identifier.

    That is each folder's ``README``, ``README.md`` and ``README.txt`` (and any name starting
    ``readme``, in any case), each file not read (``FILE_NOT_READ``) with a text extension
    (:data:`dqm.batch.TEXT_SUFFIXES`: a ``.txt`` note, a ``.xml`` sidecar) or a document's (a PDF's
    strings, a Word or OpenDocument file's XML, a ZIP's comment, member names and text members, a
    tar archive's member names: :mod:`dqm.doc_text`), below the root a ``manifest.csv``,
    ``truth.csv``, ``corruption.csv`` or ``SHA256SUMS`` (dqm's own only at the root, but for a root
    ``truth.csv`` or ``corruption.csv``: searched whoever wrote it), each annotation file no item names (``ORPHAN_ANNOTATION``) and the text
    tags and chunks of each slide no item names (``ORPHAN_SLIDE``), read as a refused manifest is,
    :data:`dqm.batch.MANIFEST_UNREAD_CHARS` characters in all (each file past them named as not
    searched). Searched as :func:`manifest_text`
    searches, file by file for the first :data:`MAX_KEPT_ONE_BY_ONE` files. A document dqm does not
    read (a ``.doc``, an ``.alz``, a ``.hwp``) or reads in part (an encrypted member, a member that
    inflates past the bound, a PDF's text in a font's own codes) is a ``DEID_OTHER_TEXT_UNSEARCHED``
    warning at its path."""
    settings = batch.profile.deid
    if not settings.enabled:
        return []
    where = (N_("a file no item reads"), None)
    out = _kept_findings(batch.other_texts, "DEID_OTHER_TEXT", where, ctx, settings, None, "file")
    for path, why in batch.other_texts_unread:
        # the position its reason names (a tar's damaged block), only where there is one
        where_at = {"at": batch.other_texts_unread_at[path]} if path in batch.other_texts_unread_at else {}
        unread = msg(
            "this file may hold identifiers and was not all searched ({_why}): check it before release",
            _why=why,
            **where_at,
        )
        out.append(ctx.finding("DEID_OTHER_TEXT_UNSEARCHED", unread, file=path))
    if batch.other_texts_unread_cut:
        more = msg(
            "more files that may hold identifiers were not searched than the {named:,} named: check them "
            "before release",
            named=len(batch.other_texts_unread),
        )
        out.append(ctx.finding("DEID_OTHER_TEXT_UNSEARCHED", more))
    if not batch.other_texts_cut:
        return out
    unsearched = msg(
        "files no item reads hold text that was not searched for identifiers (past the {chars:,} "
        "characters or {files:,} files searched): check them before release",
        chars=MANIFEST_UNREAD_CHARS,
        files=MAX_TEXT_FILES,
    )
    return [*out, ctx.finding("DEID_OTHER_TEXT_UNSEARCHED", unsearched)]


@check(
    "deid.other_names",
    aspect=Aspect.DEID,
    scope="batch",
    codes={
        "DEID_OTHER_NAME_IDENTIFIER": "the name of a file or folder no item reads (an orphan, a file not read, a "
        "link, a name not UTF-8) holds a personal identifier",
        "DEID_OTHER_NAME_QUASI": "the name of a file or folder no item reads holds a date, phone number or address "
        "that may identify",
    },
    code_severity={"DEID_OTHER_NAME_QUASI": Severity.WARNING},
)
def other_names(batch: BatchView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """The names of files and folders no item reads hold no identifier.

    These are the entries the batch layout reports (an orphan slide, a ``.txt`` beside the slides,
    a folder's ``README.md``, whose folder may hold nothing else, a link, a name that is not UTF-8, searched as its CP949 reading where it is Korean, else as its
    ``\\xNN`` form) and the files it lists that no
    item names (a DICOM series' other files): delivered as the items' own files are. Each file or folder name once, at the first path holding it; the names of the
    items' own files are :func:`file_names`', searched by the same patterns. As there, the
    finding's ``file`` is the path the batch holds: a date in it (a quasi-identifier, which no
    output's masker masks) is left there, how the file is found; an identifier the masker masks."""
    settings = batch.profile.deid
    if not settings.enabled:
        return []
    seen = {
        part
        for item in batch.items
        for path in (item.image_path, item.annotation_path)
        if path
        for part in PurePosixPath(path).parts
    }
    out: list[Finding] = []
    for path, part in _name_parts((), batch, seen):
        hits = [hit for hit in _part_hits(part, settings) if not counted_once(hit, settings)]
        out += _hit_findings(hits, (N_("the file name"), None), ctx, "DEID_OTHER_NAME", file=path)
    return out


def _name_parts(own: Iterable[str | None], batch: BatchView, seen: set[str]) -> Iterator[tuple[str, str]]:
    """Each file or folder name of ``own`` paths, then of those the batch's layout reports and of
    the files it lists, once (at the first path holding it, ``seen`` left out and filled), with
    its path; its checks search it as it reads (:func:`_read_name`: a name written on a Korean
    Windows as it reads there, ``NAME_NOT_UTF8`` says so, since its ``\\xNN`` form hides a name or
    a birth date from every pattern), and ``other_names`` as written too (:func:`_part_hits`).
    The manifest's own name is no delivered name."""
    named = (issue.file for issue in batch.discovery_issues)
    for path in dict.fromkeys((*own, *named, *batch.files)):
        if not path or path == batch.manifest:
            continue
        for part in PurePosixPath(path).parts:
            if part in seen:
                continue
            seen.add(part)
            yield path, part


def _part_hits(part: str, settings: DeidSettings) -> list[Hit]:
    """What :func:`find` flags in a path part: as it reads (:func:`_read_name`) and, where
    that reading differs, as written too, a hit of the written form kept where the reading has no
    hit of the same kind (a second review: ``Patient name Hong\\xa0Gildong_<CP949 김철수…>.svs`` read
    as CP949 takes ``\\xa0G`` for one syllable and showed no name, where the written form has one;
    the same in a name no item reads, a last review)."""
    read = _read_name(part)
    hits = list(file_name_hits(read, settings))
    if read != part:
        kinds = {hit.name for hit in hits}
        hits += [hit for hit in file_name_hits(part, settings) if hit.name not in kinds]
    return hits


def _read_name(part: str) -> str:
    """How a file or folder name reads, the one text every name check searches it as (and
    :func:`dqm.identifiers.file_name_hits` keeps it by): a name shown with its bad bytes as
    ``\\xNN`` as it reads on a Korean Windows where it does, else as it is."""
    return shown_korean_name(part) or part


def counted_once(hit: Hit, settings: DeidSettings) -> bool:
    """A hit of a quasi-identifier that only file names are searched for (a date: ``date_in_filename``)
    and that its run holds alone: :func:`file_name_dates` counts these once for the delivery, where
    a delivery that dates every file had one warning a file (34,000 for 34,000 slides)."""
    pattern = settings.patterns.get(hit.name)
    return (
        pattern is not None
        and pattern.level == "quasi"
        and set(pattern.places) == {"filename"}
        and not hit.also
    )


MAX_DATED_SHOWN = 5
"""File names a delivery's :func:`file_name_dates` finding shows of those it counts (their dates
masked), the first in the batch's order."""


@check(
    "deid.file_name_dates",
    aspect=Aspect.DEID,
    scope="batch",
    codes={
        "DEID_FILENAME_DATES": "file and folder names hold a date that may identify (one finding for the delivery: "
        "how many names, and the first few)",
    },
    code_severity={"DEID_FILENAME_DATES": Severity.WARNING},
)
def file_name_dates(batch: BatchView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """The names of the batch's files and folders hold no date: one warning a delivery per kind.

    A profile's own file-name-only quasi-identifier is counted apart from the dates, however many.

    Each file or folder name is counted once, at the first path holding it, as :func:`other_names`
    counts them: the items' own files, then the files the batch layout names and lists. A name
    that holds an identifier too (``홍길동_2024-03-01.svs``, ``DOB 1990-01-01``) is also
    :func:`file_names`' or :func:`other_names`' finding; a date glued into an identifier's run
    (``900101-1234567_20240301``, masked as one) is theirs only. The finding's ``file`` is the first
    path counted (so a waiver's ``file: "*"`` or ``code: DEID_FILENAME_DATES`` with ``file``
    matching that path waives it, and ``--baseline`` pairs it while that path stays first); the
    message says how many and shows the first :data:`MAX_DATED_SHOWN`, each date masked."""
    settings = batch.profile.deid
    if not settings.enabled:
        return []
    kinds = {
        name: rx
        for name, rx, pat in settings.compiled.patterns
        if pat.level == "quasi" and set(pat.places) == {"filename"}
    }
    if not kinds:
        return []
    counted: dict[str, list[str]] = {name: [] for name in kinds}  # the first paths, dates masked
    first: dict[str, str] = {}  # the first path, as it is: the finding's file
    names: dict[str, int] = {name: 0 for name in kinds}
    own = (path for item in batch.items for path in (item.image_path, item.annotation_path))
    for path, part in _name_parts(own, batch, set()):
        read = _read_name(part)
        if _as_written(read) and not any(rx.search(read) for rx in kinds.values()):
            continue  # no reading of it holds one: not searched again
        hits = file_name_hits(read, settings)
        for hit in hits:
            if hit.name in kinds and counted_once(hit, settings):
                names[hit.name] += 1
                shown = counted[hit.name]
                if len(shown) < MAX_DATED_SHOWN:
                    rx = kinds[hit.name]
                    plain = all(_plain_part(p, hit.name, rx, settings) for p in PurePosixPath(path).parts)
                    example = _dates_masked(path, rx, plain)
                    if example not in shown:  # a path of two dated parts: shown once
                        shown.append(example)
                first.setdefault(hit.name, path)
    out: list[Finding] = []
    for name, examples in counted.items():
        if not names[name]:
            continue
        out.append(
            ctx.finding(
                "DEID_FILENAME_DATES",
                msg(
                    N_(
                        "{_what} in {count} file and folder names, each counted once; the first {shown}: {examples}"
                    ),
                    _what=settings.patterns[name].what or name,
                    count=names[name],
                    shown=len(examples),
                    examples=", ".join(examples),
                ),
                file=first[name],
            )
        )
    return out


def _as_written(read: str) -> bool:
    """Whether ``find`` reads the name part ``read`` only as written: no escape, reference or
    control character (``find`` reads past one: ``2024\x01-03-01``) gives it another reading."""
    return read.isascii() and read.isprintable() and "&" not in read and "\\" not in read


def _plain_part(part: str, name: str, rx: Regex, settings: DeidSettings) -> bool:
    """Whether the path part ``part`` may be shown with only ``rx``'s matches masked: read as
    written, and whatever :func:`find` flags of ``name`` in it is one of those matches (a second
    review: a plain part decided for the whole path, whose other part held a date read across a
    control character, shown in clear)."""
    read = _read_name(part)
    if read != part or not _as_written(read):
        return False
    flagged = Counter(hit.masked for hit in file_name_hits(read, settings) if hit.name == name)
    return flagged <= Counter(mask(m.group()) for m in rx.finditer(read))


def _dates_masked(path: str, rx: Regex, plain: bool) -> str:
    """``path`` with each match of ``rx`` masked as a finding masks it (``2024-03-01`` as
    ``20********``) where :func:`find` read the part it flagged as written and flagged nothing
    there that ``rx`` does not match (``plain``); every digit masked otherwise: ``find`` read a date across a control character (``2024\x01-03-01``) that
    the pattern alone misses, beside one it matches (``2024-03-01_2024\x01-03-02``) or a UUID's
    date-shaped digits that ``find`` passes over (``…-2024-0101-…_2024\x01-03-05``)."""
    out, at = [], 0
    for m in rx.finditer(path):  # a profile's pattern runs on RE2, which has no ``sub``
        out += [path[at : m.start()], mask(m.group())]
        at = m.end()
    if not plain:
        return "".join("*" if c.isdigit() else c for c in path)
    return "".join(out) + path[at:]


@check(
    "deid.clinical_record",
    aspect=Aspect.DEID,
    codes={
        "DEID_CLINICAL_IDENTIFIER": "a clinical-table value or column holds a personal identifier",
        "DEID_CLINICAL_QUASI": "a clinical-table value may identify (a raw record number as patient_id)",
        "DEID_CLINICAL_UNSEARCHED": "an annotation's clinical block holds more text than is searched for identifiers",
    },
    code_severity={"DEID_CLINICAL_QUASI": Severity.WARNING, "DEID_CLINICAL_UNSEARCHED": Severity.WARNING},
)
def clinical_record(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """The item's clinical record holds no identifier; identifying fields hold pseudonyms.

    Every value is searched whole. A manifest row has no budget: the manifest's size cap
    (:data:`dqm.batch.MAX_MANIFEST_BYTES`) bounds it, as it bounds the whole table (a quoted cell
    holds line breaks, so one row may hold 1,024 cells of 131,072 characters: a budget of
    8,000,000 characters a row left an RRN in the 80th of 80 cells of 120,000 unsearched). An
    annotation's clinical block (no manifest) is searched within one
    :class:`~dqm.identifiers.TextBudget` (an annotation file's: 200,000 values, 8,000,000
    characters), and a ``DEID_CLINICAL_UNSEARCHED`` warning names the first value not searched in
    full. Values were cut at 10,000 characters, silently."""
    settings = view.profile.deid
    record = view.item.record
    if not record or not settings.enabled:
        return []
    from_manifest = view.item.row is not None
    out: list[Finding] = []
    budget = None if from_manifest else TextBudget()
    order = view.item.columns or tuple(record)
    for column, value in record.items():
        if not isinstance(column, str) or is_blank(value, settings) or isinstance(value, dict | list):
            continue
        text = str(value)
        shown = shown_column(column, order, view.profile)
        if from_manifest:
            loc: dict[str, Any] = {"file": "manifest.csv", "row": view.item.row, "column": shown}
        elif shown == column:
            loc = {"pointer": pointer("clinical", column)}
        else:  # the block's key is the column's name: its position instead
            loc = {"pointer": "/clinical", "column": shown}
        declared = column in view.profile.clinical
        if declared and _in_domain(view.profile, column, text):
            continue  # an enumerated value, a number or a date cannot carry a name or an id
        if not declared and names_a_person(column, text, settings):
            out.append(
                ctx.finding(
                    "DEID_CLINICAL_IDENTIFIER",
                    msg(
                        "column {column!r} names a person: {value} (masked)",
                        column=_shown_key(column, settings),
                        value=mask(text),
                    ),
                    **loc,
                )
            )
            continue
        searched = text  # a manifest row's: whole
        if budget is not None and len(searched := budget.take(text, None, None)) < len(text):
            out.append(
                ctx.finding(
                    "DEID_CLINICAL_UNSEARCHED",
                    msg(
                        "the clinical record holds more text than is searched for identifiers ({n:,} "
                        "values, {chars:,} characters): this value is searched in part, those after it "
                        "not at all (check them before release)",
                        n=budget.limits[0],
                        chars=budget.limits[1],
                    ),
                    **loc,
                )
            )
        found = _value_findings(
            searched, "clinical", "DEID_CLINICAL", _column_where(shown), ctx, settings, **loc
        )
        out.extend(found)
        if budget is not None and budget.stopped is not None:
            break
        if not found and column in IDENTIFYING and settings.compiled.record_number.match(text):
            out.append(
                ctx.finding(
                    "DEID_CLINICAL_QUASI",
                    msg(
                        "{column} {value} (masked) is a bare {digits}-digit number: a hospital "
                        "record number rather than a study pseudonym?",
                        column=column,
                        value=mask(text),
                        digits=len(text.strip()),
                    ),
                    **loc,
                )
            )
    return out


@check(
    "deid.associated_images",
    aspect=Aspect.DEID,
    severity=Severity.WARNING,
    codes={
        "LABEL_IMAGE_PRESENT": "the slide carries a photo of the glass label (may show identifiers)",
        "MACRO_IMAGE_PRESENT": "the slide carries a macro photo of the whole glass (may show the label)",
    },
)
def associated_images(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """The slide file carries no label or macro photograph of the glass slide."""
    probe = view.slide
    if probe is None or not probe.opened:
        return []
    out = []
    for name, code in (("label", "LABEL_IMAGE_PRESENT"), ("macro", "MACRO_IMAGE_PRESENT")):
        if name in probe.associated_images:
            out.append(
                ctx.finding(
                    code,
                    msg(
                        "associated image {name!r} present: remove it before release or confirm it is blank",
                        name=name,
                    ),
                    file=probe.path,
                )
            )
    return out
