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
from pathlib import PurePosixPath
from typing import Any

from dqm.clinical_table import IDENTIFYING
from dqm.findings import Aspect, Finding, Severity
from dqm.i18n import N_, msg
from dqm.identifiers import (
    DeidSettings,
    Place,
    find,
    identifier_key,
    is_blank,
    key_paths,
    mask,
    quasi_key,
    strings,
)
from dqm.profile import Profile
from dqm.readers import XML_FORMATS
from dqm.readers.common.base import pointer
from validators.context import BatchView, ItemView
from validators.registry import CheckContext, NoParams, check, read_issues


def _code(prefix: str, level: str) -> str:
    return f"{prefix}_IDENTIFIER" if level == "identifier" else f"{prefix}_QUASI"


def _value_findings(
    text: str,
    place: Place,
    prefix: str,
    where: tuple[str, str | None],
    ctx: CheckContext,
    settings: DeidSettings,
    **loc: Any,
) -> list[Finding]:
    """A finding per identifier in ``text``; ``where`` is a msgid naming the value and the name it
    fills in (a key, a column), the identifier's kind a msgid of the profile's patterns."""
    where_id, name = where
    return [
        ctx.finding(
            _code(prefix, hit.level),
            msg(
                "{_what} in {_where}: {masked} ({length} characters, masked)",
                _what=hit.what,
                _where=where_id,
                name=name,
                masked=hit.masked,
                length=hit.length,
            ),
            **loc,
        )
        for hit in find(text, settings, place)
    ]


MAX_SLIDE_PROPERTIES = 10_000
"""Properties of one slide searched (names and values), in the file's order: an Aperio description
of 500,000 ``key = value`` pairs cost 2.6 s more; the rest is ``DEID_SLIDE_UNSEARCHED``."""


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
    if probe is None or not probe.properties or not settings.enabled:
        return []
    out: list[Finding] = []
    quasi: list[str] = []
    own = [(key, value) for key, value in probe.properties.items() if not key.startswith("openslide.")]
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
    for key, value in sorted(own):
        loc = {"file": probe.path, "pointer": pointer("properties", key)}
        named = _value_findings(
            key, "slide", "DEID_SLIDE", (N_("a property name"), None), ctx, settings, **loc
        )
        out.extend(named)  # a name comes from the file too (a vendor's key, a PNG chunk's keyword)
        if is_blank(value, settings):
            continue  # its name searched all the same
        if identifier_key(key, settings):
            out.append(
                ctx.finding(
                    "DEID_SLIDE_IDENTIFIER",
                    msg(
                        "slide property {key!r} names a person: {value} (masked)", key=key, value=mask(value)
                    ),
                    **loc,
                )
            )
            continue
        found = _value_findings(
            value, "slide", "DEID_SLIDE", (N_("slide property {name!r}"), key), ctx, settings, **loc
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
            found = _value_findings(
                part, "filename", "DEID_FILENAME", (N_("the file name"), None), ctx, settings, file=path
            )
            if found:
                out.extend(found)
                break
    return out


def _class_findings(lesions: list[Any], ctx: CheckContext, settings: DeidSettings) -> list[Finding]:
    """Identifiers in lesion class names: one finding per distinct name, at its first lesion."""
    out: list[Finding] = []
    seen: set[str] = set()
    for lesion in lesions:
        name = lesion.raw_class
        if not isinstance(name, str) or name in seen or is_blank(name, settings):
            continue
        seen.add(name)
        out.extend(
            _value_findings(
                name, "annotation", "DEID_ANNOTATION", (N_("the class name"), None), ctx, settings,
                pointer=lesion.pointer, lesion=lesion.index,
            )
        )  # fmt: skip
    return out


def _target_pointer(fmt: str, base: str, path: tuple[str, ...]) -> str:
    if fmt == "file":
        return path[0]  # file-level properties are keyed by their pointer
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
    targets: list[tuple[str, int | None, Any, str]] = [
        (lesion.pointer, lesion.index, lesion.properties, ann.format) for lesion in ann.lesions
    ]
    targets.append(("", None, ann.properties, "file"))
    if view.item.searches_file_text:  # a file shared by many items: one of them searches its own text
        targets.append(("", None, ann.file_text, "file"))
    out.extend(_class_findings(ann.lesions, ctx, settings))
    out.extend(read_issues(view, ctx))  # the text past a reader's cap, not searched
    if view.item.row is not None and ann.clinical:
        targets.append(("", None, {"clinical": ann.clinical}, "clinical"))
    keys_seen: set[str] = set()
    for base, lesion, props, fmt in targets:
        for path in key_paths(props):  # a property's name may hold an identifier too
            if path[-1] not in keys_seen:
                keys_seen.add(path[-1])
                out.extend(
                    _value_findings(
                        path[-1], "annotation", "DEID_ANNOTATION", (N_("a property name"), None), ctx, settings,
                        pointer=_target_pointer(fmt, base, path), lesion=lesion,
                    )
                )  # fmt: skip
        for path, text in strings(props):
            if is_blank(text, settings):
                continue
            ptr = _target_pointer(fmt, base, path)
            key = path[-1] if path else ""
            loc = {"pointer": ptr, "lesion": lesion}
            declared = fmt == "clinical" and len(path) == 2 and path[1] in view.profile.clinical
            if key and not declared and identifier_key(key, settings):
                out.append(
                    ctx.finding(
                        "DEID_ANNOTATION_IDENTIFIER",
                        msg("property {key!r} names a person: {value} (masked)", key=key, value=mask(text)),
                        **loc,
                    )
                )
                continue
            out.extend(
                _value_findings(
                    text,
                    "annotation",
                    "DEID_ANNOTATION",
                    (N_("property {name!r}"), key),
                    ctx,
                    settings,
                    **loc,
                )
            )
    return out


_INTEGER = re.compile(r"^\s*[+-]?\d{1,3}\s*$")
_DATE = re.compile(r"^\s*\d{4}-\d{2}-\d{2}\s*$")


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
    for name in dict.fromkeys(batch.manifest_header):  # a repeated name once
        out += _value_findings(
            name, "clinical", "DEID_COLUMN", (N_("a column name"), None), ctx, settings,
            file="manifest.csv", column=name,
        )  # fmt: skip
    return out


@check(
    "deid.clinical_record",
    aspect=Aspect.DEID,
    codes={
        "DEID_CLINICAL_IDENTIFIER": "a clinical-table value or column holds a personal identifier",
        "DEID_CLINICAL_QUASI": "a clinical-table value may identify (a raw record number as patient_id)",
    },
    code_severity={"DEID_CLINICAL_QUASI": Severity.WARNING},
)
def clinical_record(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """The item's clinical record holds no identifier; identifying fields hold pseudonyms."""
    settings = view.profile.deid
    record = view.item.record
    if not record or not settings.enabled:
        return []
    from_manifest = view.item.row is not None
    out: list[Finding] = []
    for column, value in record.items():
        if not isinstance(column, str) or is_blank(value, settings) or isinstance(value, dict | list):
            continue
        text = str(value)
        if from_manifest:
            loc: dict[str, Any] = {"file": "manifest.csv", "row": view.item.row, "column": column}
        else:
            loc = {"pointer": pointer("clinical", column)}
        declared = column in view.profile.clinical
        if declared and _in_domain(view.profile, column, text):
            continue  # an enumerated value, a number or a date cannot carry a name or an id
        if not declared and identifier_key(column, settings):
            out.append(
                ctx.finding(
                    "DEID_CLINICAL_IDENTIFIER",
                    msg(
                        "column {column!r} names a person: {value} (masked)", column=column, value=mask(text)
                    ),
                    **loc,
                )
            )
            continue
        found = _value_findings(
            text, "clinical", "DEID_CLINICAL", (N_("column {name!r}"), column), ctx, settings, **loc
        )
        out.extend(found)
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
