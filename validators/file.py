"""File checks (aspect ``file``): unreadable, malformed, missing, orphan and duplicate files."""

from __future__ import annotations

import posixpath
from collections import defaultdict

from dqm.findings import MAX_MESSAGE_CHARS, Aspect, Finding, Severity, clip
from dqm.i18n import N_, msg
from validators.context import BatchView, ItemFacts, ItemView
from validators.registry import CheckContext, NoParams, check, forward, read_issues


@check(
    "file.annotation_readable",
    aspect=Aspect.FILE,
    codes={
        "ANNOTATION_UNREADABLE": "the annotation file cannot be read from disk",
        "EMPTY_FILE": "the annotation file is empty",
        "INVALID_ENCODING": "the annotation file is not UTF-8 text",
        "INVALID_JSON": "the annotation file is not valid JSON",
        "UNKNOWN_FORMAT": "no reader recognises the annotation file's content",
        "UTF8_BOM": "the annotation file starts with a byte-order mark",
    },
    code_severity={"UTF8_BOM": Severity.WARNING},
)
def annotation_readable(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """The annotation file can be read and parsed."""
    return read_issues(view, ctx)


@check(
    "file.limits",
    aspect=Aspect.FILE,
    codes={"LIMIT_EXCEEDED": "the annotation file exceeds a hard limit of the profile (limits:)"},
)
def limits(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """The annotation file is within the profile's limits (bytes, lesions, vertices per lesion, decoded mask pixels)."""
    return read_issues(view, ctx)


@check(
    "file.pairing",
    aspect=Aspect.FILE,
    codes={
        "SLIDE_MISSING": "the item names no slide file, or the named file is not there",
        "ANNOTATION_MISSING": "the item names no annotation file, or the named file is not there",
        "PATH_OUTSIDE_BATCH": "a path points outside the batch folder",
    },
)
def pairing(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """Every slide has its annotation file and every annotation its slide."""
    out: list[Finding] = []
    for status, code, what in (
        (view.image, "SLIDE_MISSING", "slide"),
        (view.annotation_file, "ANNOTATION_MISSING", "annotation"),
    ):
        if what == "slide" and not view.slides_checked:
            continue
        texts = _PAIRING[what]
        if status.outside_batch:
            out.append(
                ctx.finding(
                    "PATH_OUTSIDE_BATCH",
                    msg(texts["outside"], path=status.path),
                    file=status.path,
                    row=view.item.row,
                )
            )
        elif status.path is None:
            other = view.annotation_file.path if what == "slide" else view.image.path
            # no file to point at: name the item's other file, so the finding can be acted on
            text = msg(texts["none_paired"], other=other) if other else msg(texts["none"])
            out.append(ctx.finding(code, text, file=None, row=view.item.row))
        elif not status.exists:
            out.append(
                ctx.finding(
                    code,
                    msg(texts["refused"], path=status.path, _why=status.refused)
                    if status.refused
                    else msg(texts["absent"], path=status.path),
                    file=status.path,
                    row=view.item.row,
                )
            )
    return out


_PAIRING = {
    "slide": {
        "outside": N_("slide path {path!r} leaves the batch folder; it was not read"),
        "none": N_("no slide file for this slide"),
        "none_paired": N_("no slide file for this slide (its annotation file is {other!r})"),
        "refused": N_("slide file {path!r} is {_why}"),
        "absent": N_("slide file {path!r} is not in the batch"),
    },
    "annotation": {
        "outside": N_("annotation path {path!r} leaves the batch folder; it was not read"),
        "none": N_("no annotation file for this slide"),
        "none_paired": N_("no annotation file for this slide (its slide file is {other!r})"),
        "refused": N_("annotation file {path!r} is {_why}"),
        "absent": N_("annotation file {path!r} is not in the batch"),
    },
}
"""The pairing check's messages, by the file that is missing."""


NAMED_DUPLICATES = 10
"""Items a duplicate slide_id's message names (rows or files); the others are counted."""


@check(
    "file.duplicate_slide_id",
    aspect=Aspect.FILE,
    scope="batch",
    codes={"DUPLICATE_SLIDE_ID": "two items share one slide_id"},
)
def duplicate_slide_id(batch: BatchView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """Every slide_id appears once."""
    seen: dict[str, list[ItemFacts]] = defaultdict(list)
    for facts in batch.items:
        seen[facts.slide_id].append(facts)
    out = []
    for slide_id, items in seen.items():
        if len(items) < 2:
            continue
        # a manifest row locates the duplicate; without a manifest (pairing by file stem)
        # the files do. The first few are named and the rest counted: every finding of an id
        # on every row named all of them, a text as long as the manifest (n findings of n rows)
        named, more = items[:NAMED_DUPLICATES], len(items) - NAMED_DUPLICATES
        if all(f.row is not None for f in items):
            template = (
                N_("slide_id {slide_id!r} appears {n} times (manifest rows {rows} and {more:,} more)")
                if more > 0
                else N_("slide_id {slide_id!r} appears {n} times (manifest rows {rows})")
            )
            listed = {"rows": ", ".join(str(f.row) for f in named)}
        else:
            template = (
                N_("slide_id {slide_id!r} appears {n} times ({where} and {more:,} more)")
                if more > 0
                else N_("slide_id {slide_id!r} appears {n} times ({where})")
            )
            # cut once here, not in each finding (a path is up to MAX_NAME_CHARS long), to half a
            # message: the count after it ("and N more") is never cut off
            listed = {"where": clip(", ".join(_where(f) for f in named), MAX_MESSAGE_CHARS // 2)}
        text = msg(
            template, slide_id=slide_id, n=len(items), **listed, **({"more": more} if more > 0 else {})
        )
        for facts in items[1:]:
            out.append(
                ctx.finding(
                    "DUPLICATE_SLIDE_ID",
                    text,
                    item_id=slide_id,
                    file=batch.manifest if facts.row is not None else _file_of(facts),
                    row=facts.row,
                    column="slide_id" if facts.row is not None else None,
                )
            )
    return out


def _file_of(facts: ItemFacts) -> str | None:
    return facts.image_path or facts.annotation_path


def _same_path(a: str | None, b: str | None) -> bool:
    """Whether two manifest paths name the same file (``slides/a.svs`` and ``./slides/a.svs``)."""
    return posixpath.normpath((a or "").strip().replace("\\", "/")) == posixpath.normpath(
        (b or "").strip().replace("\\", "/")
    )


def _where(facts: ItemFacts) -> str:
    return f"row {facts.row}" if facts.row is not None else repr(_file_of(facts))


@check(
    "file.duplicate_slide_content",
    aspect=Aspect.FILE,
    scope="batch",
    codes={"DUPLICATE_SLIDE_CONTENT": "one slide file is delivered twice under two ids"},
)
def duplicate_slide_content(batch: BatchView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """No slide file is delivered twice under different ids (content hash)."""
    groups: dict[str, dict[str, ItemFacts]] = defaultdict(dict)
    for facts in batch.items:
        key = facts.full_hash or facts.fingerprint
        if key and facts.image_path:
            groups[key].setdefault(facts.slide_id, facts)
    out = []
    for by_id in groups.values():
        if len(by_id) < 2:
            continue
        first, *others = by_id.values()
        for other in others:
            same = _same_path(other.image_path, first.image_path)
            if first.row is None:
                template = (
                    N_("slide file is also the slide of {slide_id!r}")
                    if same
                    else N_("slide file is byte-identical to {path!r} (slide {slide_id!r})")
                )
            else:
                template = (
                    N_("slide file is also the slide of {slide_id!r}, row {row}")
                    if same
                    else N_("slide file is byte-identical to {path!r} (slide {slide_id!r}), row {row}")
                )
            out.append(
                ctx.finding(
                    "DUPLICATE_SLIDE_CONTENT",
                    msg(template, slide_id=first.slide_id, path=first.image_path, row=first.row),
                    item_id=other.slide_id,
                    file=other.image_path,
                )
            )
    return out


@check(
    "file.layout",
    aspect=Aspect.FILE,
    scope="batch",
    codes={
        "MANIFEST_UNREADABLE": "manifest.csv cannot be read or parsed as CSV",
        "ORPHAN_SLIDE": "a slide file no item refers to",
        "ORPHAN_ANNOTATION": "an annotation file no item refers to",
        "EMPTY_BATCH": "the batch holds no slides and no annotation files",
        "FILE_NOT_READ": "a file whose extension is neither a slide nor an annotation format",
        "SYMLINK_OUTSIDE_BATCH": "a symbolic link that resolves outside the batch folder (not followed)",
        "SYMLINK_DANGLING": "a symbolic link to nothing",
        "SPECIAL_FILE": "a FIFO, socket or device in the batch (never opened)",
        "NAME_NOT_UTF8": "a file or folder whose name is not valid UTF-8 (not read: no output could name it)",
        "FOLDER_UNREADABLE": "a folder that cannot be listed (no permission, an I/O error): its files are not checked",
        "PATH_UNICODE_FORM": "a manifest path names a file in other Unicode code points (NFC / NFD) than its name "
        "on disk (read when one file matches)",
        "NAME_FORM_COLLISION": "two files whose names differ only in Unicode code points (NFC / NFD): one name on "
        "macOS and Windows",
        "NAME_NOT_PORTABLE": 'a file or folder name Windows forbids (< > : " | ? *, a backslash, a final dot, CON...): '
        "read, but the batch cannot be copied to Windows whole",
    },
    code_severity={"FILE_NOT_READ": Severity.WARNING, "NAME_NOT_PORTABLE": Severity.WARNING},
)
def layout(batch: BatchView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """The manifest reads and every delivered file belongs to an item."""
    return forward(batch.discovery_issues, ctx)


@check(
    "file.sparse",
    aspect=Aspect.FILE,
    scope="batch",
    codes={
        "FILE_SPARSE": "a file that is mostly holes (a preallocated or interrupted copy): never read whole",
    },
)
def sparse(batch: BatchView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """No file of the batch is mostly holes (its size on disk far below its length)."""
    owner = {p: f.slide_id for f in batch.items for p in (f.image_path, f.annotation_path) if p}
    return [
        ctx.finding(
            "FILE_SPARSE",
            msg(
                "{path!r} is a sparse file: {apparent:,} bytes long, {allocated:,} of them on disk "
                "(a preallocated or interrupted copy?); it was not read whole",
                path=rel,
                apparent=apparent,
                allocated=allocated,
            ),
            item_id=owner.get(rel, rel),
            file=rel,
        )
        for rel, (apparent, allocated) in sorted(batch.sparse.items())
    ]


@check(
    "file.annotation_xml",
    aspect=Aspect.FILE,
    codes={
        "INVALID_XML": "the XML annotation file is not well-formed",
        "XML_FORBIDDEN": "the XML declares entities or external references (refused: expansion / XXE attacks)",
    },
)
def annotation_xml(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """An XML annotation file is well-formed and declares no entities or external references."""
    return read_issues(view, ctx)
