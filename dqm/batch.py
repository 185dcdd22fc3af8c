"""Discovering a batch: which slides and annotation files it holds and how they pair.

A batch is a folder (``docs/batch-format.md``). With a ``manifest.csv`` the manifest is the
contract: one row per slide, paths relative to the batch folder. Without one, slides and
annotation files are paired by file stem and clinical data comes from the annotation files.
Discovery only lists and reads the manifest; it never opens slides and never writes.
"""

from __future__ import annotations

import codecs
import csv
import functools
import hashlib
import io
import os
import re
import stat
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path, PurePosixPath
from typing import Any

from dqm.checksums import (
    MANIFEST_COLUMNS,
    MAX_SUMS_BYTES,
    SLIDE_COLUMN,
    SUMS_FILE,
    Listed,
    is_sha256,
    parse_sums,
)
from dqm.coords import MAX_MPP, MIN_MPP
from dqm.doc_text import (
    DOCUMENT_SUFFIXES,
    MARKUP_SUFFIXES,
    MAX_DOCUMENT_BYTES,
    both_readings,
    document_suffix,
    document_text,
    is_dicom,
    markup_text,
    unread_kind,
)
from dqm.han_characters import JA_RANKED, TW_RANKED, ZH_RANKED
from dqm.hangul_syllables import PAIRS, RANKED, SUPPLEMENT
from dqm.i18n import N_, msg
from dqm.image_text import image_texts_why
from dqm.model import DiscoveryIssue, Item
from dqm.output import CSV_CELL_LIMIT, not_utf8
from dqm.sparse_files import SparseFileError, sparse_of

MANIFEST = "manifest.csv"
PATH_COLUMNS = ("slide_id", "image_path", "annotation_path")
SLIDE_SUFFIXES = frozenset(
    {
        ".svs",
        ".tif",
        ".tiff",
        ".ndpi",
        ".vms",
        ".vmu",
        ".scn",
        ".mrxs",
        ".svslide",
        ".bif",
        ".dcm",
        ".png",
        ".jpg",
        ".jpeg",
        ".bmp",
    }
)
ANNOTATION_SUFFIXES = frozenset({".json", ".geojson", ".xml", ".annotations"})
MASK_SUFFIXES = frozenset({".png", ".tif", ".tiff", ".bmp", ".jpg", ".jpeg"})
"""Image files that are label masks when their name or folder says so (:func:`is_mask`)."""
MASK_NAME_ENDINGS = ("_mask", "_masks", "_anno", "_label", "_labels", "_gt", "-mask", "-label")
"""``X_mask.png`` is the mask of ``X.png`` (any case)."""
MASK_FOLDERS = frozenset(
    {"mask", "masks", "label", "labels", "annotation", "annotations", "gt", "groundtruth", "ground_truth"}
)
"""A folder of this name (or ``masks_…``) holds masks: ``masks/X.png`` is the mask of ``X``."""
# dqm's own bookkeeping beside a batch: truth.csv (dqm synth), corruption.csv (dqm.validity.corrupt)
# and the checksum list the batch came with (SHA256SUMS: checked by checksum.list, not read as data),
# each at the root only: in a folder below it, such a file is a note (Discovery.notes), searched
IGNORED_NAMES = frozenset({MANIFEST, SUMS_FILE, "truth.csv", "corruption.csv", "README.md", "README.txt"})


OWN_NAMES = frozenset({MANIFEST, SUMS_FILE})
"""The names of :data:`IGNORED_NAMES` that are bookkeeping at the root, read by their own checks
(the manifest, the checksum list). A root ``truth.csv`` or ``corruption.csv`` is a note, searched:
a vendor's holds a patient's identifiers, even under dqm's own header row, and dqm's own (synth's,
corrupt's) holds slide ids and finding codes only (searched for nothing more than the names are)."""


def suffix(path: str) -> str:
    """The file's extension in lower case (string operations: this runs once per file)."""
    name = path.rsplit("/", 1)[-1]
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def stem(path: str) -> str:
    """File name without its extension (and without ``.ome`` before ``.tif``)."""
    name = path.rsplit("/", 1)[-1]
    dot = name.rfind(".")
    name = name[:dot] if dot > 0 else name
    return name[:-4] if name.lower().endswith(".ome") else name


def _mask_ending(name_stem: str) -> str | None:
    low = name_stem.lower()
    return next((e for e in MASK_NAME_ENDINGS if low.endswith(e) and len(low) > len(e)), None)


def is_mask(path: str) -> bool:
    """Whether an image file is a label mask by the common conventions: its name ends with
    ``_mask``, ``_anno``, ``_label``, ``_gt``… (``X_mask.png``), or a folder on its path is named
    ``masks``, ``labels``, ``annotations``, ``gt``… (``masks/X.png``)."""
    if suffix(path) not in MASK_SUFFIXES:
        return False
    if _mask_ending(stem(path)) is not None:
        return True
    folders = path.lower().split("/")[:-1]
    return any(f in MASK_FOLDERS or f.split("_", 1)[0] in MASK_FOLDERS for f in folders)


def pair_key(path: str) -> str:
    """The name a file pairs by: its stem, without a mask's ending (``X_mask.png`` -> ``X``)."""
    name = stem(path)
    ending = _mask_ending(name) if suffix(path) in MASK_SUFFIXES else None
    return name[: -len(ending)] if ending else name


@dataclass(slots=True)
class Discovery:
    """What is in a batch folder and how it pairs up."""

    root: Path
    items: list[Item]
    manifest: str | None = None
    manifest_sha256: str | None = None
    """SHA-256 of the manifest's bytes as read (None when it could not be read): the fingerprint
    uses it, so the manifest is read once."""
    manifest_cells: int = 0
    """Cells of the manifest's path columns (value-grain denominator for the manifest)."""
    manifest_header: tuple[str, ...] = ()
    """The manifest's column names as read (its header row), for the checks of what they say."""
    issues: list[DiscoveryIssue] = field(default_factory=list)
    slide_files: list[str] = field(default_factory=list)
    annotation_files: list[str] = field(default_factory=list)
    other_files: list[str] = field(default_factory=list)
    """Files that are neither (reported ``FILE_NOT_READ``)."""
    notes: list[str] = field(default_factory=list)
    """The ``README.md`` and ``README.txt`` files of any folder and, below the root, each other name of
    :data:`IGNORED_NAMES` (a ``manifest.csv``, ``truth.csv``, ``corruption.csv`` or ``SHA256SUMS`` in a
    folder is no bookkeeping of dqm's; at the root, a ``truth.csv`` or ``corruption.csv``, whoever
    wrote it: :data:`OWN_NAMES`), left out of the other lists, by batch path: their text
    and their folders' names are searched for identifiers."""
    checksums: dict[str, Listed] = field(default_factory=dict)
    """The files the batch's checksum list names (``SHA256SUMS`` or the manifest's ``sha256``
    columns) and that are there, by batch path: their expected SHA-256 (:mod:`dqm.checksums`)."""
    checksum_others: list[str] = field(default_factory=list)
    """Listed files that belong to no item (the manifest, a README...): hashed by the run itself."""
    manifest_listed: list[Listed] = field(default_factory=list)
    """Checksums the manifest's rows give (read with the manifest, merged by discovery)."""
    manifest_unlisted: list[str] = field(default_factory=list)
    """Paths of manifest rows whose checksum cell is blank."""
    manifest_unread: list[tuple[int | None, str]] = field(default_factory=list)
    """The manifest's text no item holds, for ``deid.manifest_text`` to search for identifiers:
    ``(row, text)`` for the cells of a row read that no column takes (past the header's width, under
    a blank or repeated column name), ``(first row, text)`` for the rows left unread, ``(None,
    text)`` for a manifest not used (refused or undecodable: its bytes as UTF-8 and CP949, bad bytes
    replaced). At most :data:`MANIFEST_UNREAD_CHARS` characters in all."""
    manifest_unread_cut: bool = False
    """Whether manifest text no item holds was left out of :attr:`manifest_unread` (past its
    bound, or a manifest that could not be read at all)."""
    manifest_unread_chars: int = 0
    """Characters :attr:`manifest_unread` holds."""
    sums_unread: KeptText = field(default_factory=lambda: KeptText())
    """The text of ``SHA256SUMS`` that names no file of the batch, for ``deid.checksum_text`` to search
    for identifiers: its comments, the lines that are no entry, the paths listed that are not there
    or leave the batch, a list not decodable or too large (its head, read as a refused manifest is)."""


MAX_MANIFEST_BYTES = 256 * 1024 * 1024
"""A manifest larger than this is not read (a million rows take about 100 MB)."""
MAX_MANIFEST_LINE = CSV_CELL_LIMIT
"""Characters of one manifest line read: a longer line is left out, reported (the CSV reader would
hold each of its cells: a line of 50 million commas took 750 MB). A cell may be as long
(:func:`dqm.output.csv_cell_limit`)."""
MANIFEST_ROWS_PAST_FILES = 10_000
"""Manifest rows read beyond one a file of the batch: each row is an item, checked and reported
(about 8 KB of results when its files are missing), so a manifest of two-byte rows for files that
are not there (100 KB: 5 minutes, 2.7 GB, a results.json of 405 MB) must not scale to the 256 MB
a manifest may hold. A manifest is read whole unless it has 10,000 rows more than the batch has
files."""
MANIFEST_UNREAD_CHARS = 8_000_000
"""Characters of the manifest's text no item holds kept for the search for identifiers (the budget
of one annotation file's text, :data:`dqm.identifiers.MAX_SEARCHED_CHARS`)."""


@dataclass(slots=True)
class KeptText:
    """Text a batch delivers that no other check searches, kept by line for the search for
    identifiers: at most :data:`MANIFEST_UNREAD_CHARS` characters, the rest left out (``cut``)."""

    texts: list[tuple[int | None, str]] = field(default_factory=list)
    chars: int = 0
    cut: bool = False

    def keep(self, line: int | None, text: str) -> None:
        """Keep ``text`` (at ``line``, None: the whole file) within the bound."""
        left = MANIFEST_UNREAD_CHARS - self.chars
        if len(text) > left:
            self.cut = True
            text = text[: max(left, 0)]
        if text.strip():
            self.texts.append((line, text))
            self.chars += len(text)


MAX_MANIFEST_COLUMNS = 1024
"""Columns of the manifest read: the ones past it are left out, reported (each item kept a value
of every column, and every column was checked for every item: a header of a million repeated
names made a million findings and a results.json of 494 MB from a manifest of 10 MB)."""

_KINDS = (
    (stat.S_ISFIFO, N_("a FIFO (named pipe), not a file: never opened")),
    (stat.S_ISSOCK, N_("a socket, not a file: never opened")),
    (stat.S_ISCHR, N_("a character device, not a file: never opened")),
    (stat.S_ISBLK, N_("a block device, not a file: never opened")),
    (stat.S_ISDIR, N_("a folder, not a file: never opened")),
)
"""Why a special file is never opened, by its kind (msgids: a finding's ``{_why}``)."""
LEAVES_BATCH = N_("the path leaves the batch folder")
NO_SUCH_FILE = N_("no such file")
NUL_IN_PATH = N_("a NUL character in the path: no such file")
LINK_OUTSIDE = N_("a symbolic link that resolves outside the batch folder: not followed")
LINK_DANGLING = N_("a symbolic link to nothing (dangling)")
NAME_NOT_UTF8 = N_("the name is not valid UTF-8 (bad bytes shown as \\xNN): not read; rename it in UTF-8")
NAME_NOT_UTF8_FOLDER = N_(
    "the folder's name is not valid UTF-8 (bad bytes shown as \\xNN): its files are not read; rename it in UTF-8"
)


def _kind(mode: int) -> str:
    return next(
        (what for test, what in _KINDS if test(mode)), N_("not a regular file, not a file: never opened")
    )


def jailed(root: Path, rel: str) -> tuple[Path | None, str | None]:
    """The regular file at ``rel`` inside the batch, or why it must not be read.

    The batch is a jail: a path that leaves it, a symbolic link (of the file or of a folder on its
    way) that resolves outside it, a dangling link and a special file (FIFO, socket, device: opening
    one can block or read forever) are refused before anything is opened. The reason is one of a
    fixed set of msgids (this module's constants), which a finding passes as its ``{_why}``.
    """
    norm, outside = normalise(rel)
    if outside or not norm:
        return None, LEAVES_BATCH
    if "\0" in norm:  # no file name holds one; the OS calls below would raise ValueError
        return None, NUL_IN_PATH
    path = root / norm
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    if real != real_root and not real.startswith(real_root.rstrip(os.sep) + os.sep):
        return None, LINK_OUTSIDE
    try:
        mode = os.stat(real).st_mode
    except OSError:
        if os.path.islink(path):
            return None, LINK_DANGLING
        return None, NO_SUCH_FILE
    if not stat.S_ISREG(mode):
        return None, _kind(mode)
    return path, None


def _not_utf8(rel: str, is_dir: bool) -> DiscoveryIssue | None:
    """A name that is not valid UTF-8 (the bytes Python keeps as lone surrogates): no output can
    hold it (JSON, HTML and XML are UTF-8), so the entry is reported, its bad bytes shown as
    ``\\xNN``, and never taken into the batch."""
    shown = not_utf8(rel)
    if shown is None:
        return None
    why = msg(NAME_NOT_UTF8_FOLDER if is_dir else NAME_NOT_UTF8)
    # a name written on a Korean Windows (an old zip, a Samba share): say what it reads. The entry's
    # own name is judged (its folders, entered, are UTF-8: a Korean or German one would outvote it)
    folder, _, name = rel.rpartition("/")
    legacy = korean_name(name.encode("utf-8", "surrogateescape"))
    if legacy is not None:  # not a hint naming a file that does not exist
        legacy = f"{folder}/{legacy}" if folder else legacy
        why = msg("{_why} (as CP949, Korean Windows, it reads {name!r})", _why=why, name=legacy)
    return DiscoveryIssue("NAME_NOT_UTF8", why, file=shown + ("/" if is_dir else ""), item_id=shown)


def korean_name(raw: bytes) -> str | None:
    """The CP949 reading (Korean Windows: :data:`KOREAN_LEGACY`) of ``raw``, a file or folder name
    that is not UTF-8, where :func:`_reads_as_korean` takes it for Korean; else None."""
    try:
        legacy = raw.decode(KOREAN_LEGACY)
    except UnicodeDecodeError:
        return None
    return legacy if _reads_as_korean(raw, legacy, name=True) else None


_SHOWN_BYTE = re.compile(rb"\\x([89a-f][0-9a-f])")


def shown_korean_name(shown: str) -> str | None:
    """:func:`korean_name` of a name as :func:`dqm.output.not_utf8` shows it (each byte that is not
    UTF-8 as ``\\xNN``): what a batch's entry reads as on a Korean Windows, where it does."""
    if "\\x" not in shown:
        return None
    return korean_name(_SHOWN_BYTE.sub(lambda m: bytes.fromhex(m[1].decode()), shown.encode("utf-8")))


def _walk_issue(root: Path, rel: str, is_dir: bool) -> DiscoveryIssue | None:
    """Why a listed entry is not taken into the batch (a link out, a dangling link, a special file),
    or None for a regular file (a link to a file inside the batch included)."""
    path = root / rel
    try:
        mode: int | None = os.lstat(path).st_mode
    except OSError:
        mode = None
    link = mode is not None and stat.S_ISLNK(mode)
    if not is_dir and mode is not None and stat.S_ISREG(mode):
        # os.walk enters no linked folder (``list_files`` keeps none): a regular file that is no
        # link itself is inside the batch, without resolving its path (``jailed`` is the slow way)
        return None
    if is_dir:
        if not link:
            return None
        _, why = jailed(root, rel)
        if why is not None and "outside" in why:
            return DiscoveryIssue(
                "SYMLINK_OUTSIDE_BATCH", msg("folder: {_why}", _why=why), file=rel, item_id=rel
            )
        return DiscoveryIssue(
            "FILE_NOT_READ",
            msg("a symbolic link to a folder is not followed: its files are not checked"),
            file=rel,
        )
    _, why = jailed(root, rel)
    if why is None:
        return None
    if "outside" in why:
        return DiscoveryIssue("SYMLINK_OUTSIDE_BATCH", msg(why), file=rel, item_id=rel)
    if link and "dangling" in why:
        return DiscoveryIssue("SYMLINK_DANGLING", msg(why), file=rel, item_id=rel)
    return DiscoveryIssue("SPECIAL_FILE", msg(why), file=rel, item_id=rel)


def list_files(
    root: Path, issues: list[DiscoveryIssue] | None = None, notes: list[str] | None = None
) -> tuple[list[str], list[str], list[str]]:
    """Slide files, annotation files and the other files under ``root`` (relative POSIX paths,
    sorted; hidden files, :data:`IGNORED_NAMES` and MIRAX data folders left out of the last).

    Links that leave the batch, dangling links, special files and linked folders are left out of
    all three and reported in ``issues`` (:func:`jailed`): nothing outside the batch is listed. So
    are names that are not UTF-8 and folders that cannot be listed (each an issue, never skipped
    in silence).
    The walk is top-down, folders in name order, as :func:`os.walk`'s; a folder's entries come
    from :func:`os.scandir`, whose entry types need no ``stat`` of a regular file (a million
    files cost a million system calls less).
    """
    slides, annotations, others = [], [], []
    issues = [] if issues is None else issues
    folders: list[tuple[str, str]] = [("", os.fspath(root))]
    while folders:
        prefix, path = folders.pop()
        try:
            with os.scandir(path) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:  # a folder it cannot list (no permission, an I/O error) is reported
            where = prefix.rstrip("/") or "."
            why = msg(
                "the folder cannot be listed ({error}): its files are not checked",
                error=exc.strerror or type(exc).__name__,
            )
            issues.append(DiscoveryIssue("FOLDER_UNREADABLE", why, file=prefix or ".", item_id=where))
            continue
        subfolders, files = [], []
        for entry in entries:  # folders first, then files: the issues in os.walk's order
            try:
                is_dir = entry.is_dir()  # a link to a folder counts as one, as in os.walk
            except OSError:
                is_dir = False
            if not is_dir:
                files.append(entry)
            elif entry.name.startswith("."):
                _hidden_folder(entry, prefix, issues)
            else:
                rel = prefix + entry.name
                issue = _not_utf8(rel, is_dir=True)
                if issue is None and entry.is_symlink():
                    issue = _walk_issue(root, rel, is_dir=True)
                if issue is None:
                    subfolders.append((rel + "/", entry.path))
                    _not_portable(entry.name, rel + "/", issues)
                else:
                    issues.append(issue)
        for entry in files:
            name = entry.name
            if name.startswith("."):
                _hidden_file(entry, prefix, issues)
                continue
            if name in IGNORED_NAMES:
                if prefix or name not in OWN_NAMES:
                    # a README, a truth.csv or corruption.csv, and below the root a manifest.csv, a
                    # SHA256SUMS (bookkeeping only at the root): its text and its path are searched,
                    # a link out of the batch or a FIFO named as any other file is
                    if not _plain_file(entry) and (issue := _walk_issue(root, prefix + name, False)):
                        issues.append(issue)
                    elif notes is not None:
                        notes.append(prefix + name)
                continue
            rel = prefix + name
            if (issue := _not_utf8(rel, is_dir=False)) is not None or (
                not _plain_file(entry) and (issue := _walk_issue(root, rel, is_dir=False)) is not None
            ):
                issues.append(issue)
                continue
            _not_portable(name, rel, issues)
            ext = suffix(name)
            if ext in ANNOTATION_SUFFIXES or is_mask(rel):
                annotations.append(rel)
            elif ext in SLIDE_SUFFIXES:
                slides.append(rel)
            else:
                others.append(rel)
        folders.extend(reversed(subfolders))  # the first folder is walked next: top-down, in order
    # a MIRAX slide is X.mrxs plus a folder X/ of data files beside it
    mirax = tuple(s[: -len(".mrxs")] + "/" for s in slides if suffix(s) == ".mrxs")
    return slides, annotations, [o for o in others if not o.startswith(mirax)] if mirax else others


TOOL_FOLDERS = frozenset(
    {".git", ".hg", ".svn", ".dvc", ".datalad", ".github", ".gitlab", ".dqm-cache", ".vscode", ".idea"}
)
"""Hidden folders of version control, CI and editors that a dataset repository holds: not read, and
named only where they hold a slide's or an annotation's extension other than their settings' (JSON, XML)."""

ROOT_METADATA = frozenset({".zenodo.json"})
"""Hidden files at the batch's root that describe the repository (Zenodo's deposit metadata), not a
slide's annotation: not read, not named."""

HIDDEN_SCAN_LIMIT = 20_000
"""Entries of a hidden folder looked at for a slide's or an annotation's extension: a large ``.git``
or DVC cache (no such extensions in either) costs at most this many, not its whole tree."""

APPLE_DOUBLE = b"\x00\x05\x16\x07"
"""The first bytes of an AppleDouble file, the ``._a.svs`` twin macOS writes beside ``a.svs``."""

APPLE_DOUBLE_MAX = 4096
"""An AppleDouble twin holds a file's Finder attributes, a few hundred bytes to a few KB."""


TOOL_SETTINGS = frozenset({".json", ".xml"})
"""Annotation extensions a tool's folder keeps its settings in (``.vscode/settings.json``,
``.idea/workspace.xml``): not taken for an annotation there."""


def _readable_name(name: str, tool: bool = False) -> bool:
    """Whether a name has a slide's or an annotation's extension (in a tool's folder, its settings'
    :data:`TOOL_SETTINGS` aside)."""
    ext = suffix(name)
    return ext in SLIDE_SUFFIXES or (ext in ANNOTATION_SUFFIXES and not (tool and ext in TOOL_SETTINGS))


TOOL_STORES = {
    ".git": frozenset({"objects", "annex", "lfs/objects"}),
    ".datalad": frozenset({"metadata/objects"}),
    ".dvc": frozenset({"cache"}),
    ".hg": frozenset({"store"}),
    ".svn": frozenset({"pristine"}),
}
"""Each tool's content stores (paths in its folder), not looked through: files named by their
digest, a file per version of each tracked one, past :data:`HIDDEN_SCAN_LIMIT` in any repository of
size. Git's ``.git/objects``, Git LFS's ``.git/lfs/objects``, git-annex's and DataLad's
``.git/annex/objects/Xk/3Q/SHA256E-s5--ab.svs/SHA256E-s5--ab.svs`` (the key keeps the file's
extension; the batch's ``a.svs`` is a link to it), the same in a submodule's
``.git/modules/x/`` (:func:`_tool_store`), DataLad's ``.datalad/metadata/objects``, DVC's
``.dvc/cache/files/md5/12/3456…``, Mercurial's ``.hg/store/data/*.i`` and Subversion's
``.svn/pristine/12/1234….svn-base``. Only there: a ``cache`` folder of an editor's
(``.vscode/cache/a.svs``) is looked through as any other."""

SYSTEM_FOLDERS = frozenset({".Trashes", ".Spotlight-V100", ".fseventsd"})
"""Hidden folders the system writes and may not let a user list (macOS's trash, search index and
event log): one that cannot be listed is quiet."""


def _tool_store(tool: str, rel: str, folder: str) -> bool:
    """Whether the folder ``rel`` (its path in the tool's folder ``folder``, named ``tool``:
    ``.git``) is one of the tool's content stores (:data:`TOOL_STORES`); a submodule's git folder
    (``.git/modules/libs/x/``, ``.git/modules/x/modules/y/``, a folder holding ``HEAD``) is a git
    folder too."""
    parts, stores = rel.split(os.sep), TOOL_STORES.get(tool, frozenset())
    if tool == ".git" and parts[0] == "modules":
        # a submodule's git folder is named by its path (``modules/libs/foo/``, ``modules/logs/``),
        # however deep, and holds HEAD; a path through a git folder's own folders does not
        # (``modules/sub/refs/heads/objects``: a branch)
        return any(
            "/".join(parts[i:]) in stores and os.path.isfile(os.path.join(folder, *parts[:i], "HEAD"))
            for i in range(2, len(parts))
        )
    return "/".join(parts) in stores


def _holds_readable(path: str, tool: bool) -> bool | None:
    """Whether a hidden folder holds a file named as a slide or an annotation, looking at no more
    than :data:`HIDDEN_SCAN_LIMIT` entries. One it cannot list, or with a folder it cannot list
    (no permission, a name too long), may hold one: it is taken as holding one, except the
    system's (:data:`SYSTEM_FOLDERS`). A folder too large to look through is taken as holding one,
    except a tool's (a ``.git`` of many refs): None, none found among the entries looked at (what
    lies past them is unknown, and named: :func:`_hidden_folder`)."""
    pending, seen, name = [path], 0, os.path.basename(path)
    while pending:
        try:
            with os.scandir(pending.pop()) as it:
                for entry in it:
                    seen += 1
                    if seen > HIDDEN_SCAN_LIMIT:
                        return None if tool else True
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            if not (tool and _tool_store(name, os.path.relpath(entry.path, path), path)):
                                pending.append(entry.path)
                            continue
                    except OSError:
                        pass
                    if _readable_name(entry.name, tool):
                        return True
        except OSError:  # what it holds is unknown: named, as a hidden folder may hold slides
            if os.path.basename(path) not in SYSTEM_FOLDERS:
                return True
    return False


def _hidden_folder(entry: os.DirEntry[str], prefix: str, issues: list[DiscoveryIssue]) -> None:
    """A hidden folder is not walked; one that holds a slide or an annotation is a finding, never
    skipped in silence: a slide moved into ``.old/`` leaves the batch unseen. One holding none
    (``.ipynb_checkpoints``, ``.fseventsd``, ``.git``) stays quiet. A tool's folder too large to
    look through (:data:`HIDDEN_SCAN_LIMIT`) with none among the entries looked at is named too,
    saying how far it was looked through: a slide past them was never seen, without a word."""
    tool = entry.name in TOOL_FOLDERS
    # a link is not followed (it may lead out of the batch): what it holds is unknown
    holds = (not tool) if entry.is_symlink() else _holds_readable(entry.path, tool)
    if holds is None:
        why = msg(
            "a tool's hidden folder too large to look through: only the first {limit:,} of its entries "
            "were looked at for slides and annotations (none found); files past them are not checked",
            limit=HIDDEN_SCAN_LIMIT,
        )
    elif holds:
        why = msg(
            "a hidden folder is not read: its files are not checked; move them out of it, or it out of the batch"
        )
    else:
        return
    issues.append(DiscoveryIssue("FILE_NOT_READ", why, file=_shown(prefix + entry.name) + "/"))


def _hidden_file(entry: os.DirEntry[str], prefix: str, issues: list[DiscoveryIssue]) -> None:
    """A hidden file is not read; one with a slide's or an annotation's extension is a finding,
    except the AppleDouble twin macOS writes beside a file (small, with its magic bytes) and the
    repository's metadata at the root (:data:`ROOT_METADATA`)."""
    name = entry.name
    if not _readable_name(name) or (not prefix and name in ROOT_METADATA):
        return
    if name.startswith("._") and _apple_double(entry):
        return
    why = msg(
        "a hidden slide or annotation file is not read: not checked; rename it, or move it out of the batch"
    )
    issues.append(DiscoveryIssue("FILE_NOT_READ", why, file=_shown(prefix + name)))


def _apple_double(entry: os.DirEntry[str]) -> bool:
    """Whether a ``._`` file is an AppleDouble twin: a regular file (no link, no FIFO, which an
    open would wait on) of at most :data:`APPLE_DOUBLE_MAX` bytes that start with its magic. A
    50 KB ``._E.svs`` is a slide hidden under the twin's name."""
    try:
        if (
            not entry.is_file(follow_symlinks=False)
            or entry.stat(follow_symlinks=False).st_size > APPLE_DOUBLE_MAX
        ):
            return False
        fd = os.open(entry.path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as f:
            head = f.read(APPLE_DOUBLE_MAX + 1)
    except OSError:
        return False
    return len(head) <= APPLE_DOUBLE_MAX and head.startswith(APPLE_DOUBLE)


def _shown(rel: str) -> str:
    """A hidden entry's path as it is shown: a name that is not UTF-8 with its bad bytes as ``\\xNN``
    (a warning, as for a UTF-8 name: not an error counted in the accuracy ratios)."""
    return not_utf8(rel) or rel


_WINDOWS_CHARACTER = re.compile(r'[<>:"|?*\\\x00-\x1f]')
_WINDOWS_DEVICE = re.compile(r"(?i:con|prn|aux|nul|com[1-9¹²³]|lpt[1-9¹²³])(?:\.|$)")
NOT_PORTABLE = N_(
    "{_what}, which Windows forbids in a file name: it cannot be copied to Windows as it is; rename it"
)


def _not_portable(name: str, rel: str, issues: list[DiscoveryIssue]) -> None:
    """A ``NAME_NOT_PORTABLE`` issue (a warning) for a name Windows forbids: ``< > : " | ? *``, a
    backslash or a control character in it, a final dot or space, a device's name (``CON``,
    ``NUL.svs``, ``COM1``... with any extension). The file is read here, but the batch cannot be
    copied to a Windows machine whole (the copy fails, or renames or drops the file)."""
    if (bad := _WINDOWS_CHARACTER.search(name)) is not None:
        what = msg("the name holds {character!r}", character=bad[0])
    elif name[-1:] in (".", " "):
        what = msg("the name ends with a dot or a space")
    elif (device := _WINDOWS_DEVICE.match(name)) is not None:
        what = msg("the name is a device's on Windows ({device})", device=device[0].rstrip(".").upper())
    else:
        return
    issues.append(DiscoveryIssue("NAME_NOT_PORTABLE", msg(NOT_PORTABLE, _what=what), file=rel, item_id=rel))


def _plain_file(entry: os.DirEntry[str]) -> bool:
    """A regular file that is no link: inside the batch without resolving its path (the walk
    enters no linked folder)."""
    try:
        return entry.is_file(follow_symlinks=False)
    except OSError:
        return False


def normalise(rel: str) -> tuple[str, bool]:
    """A manifest path as a clean relative POSIX path, and whether it leaves the batch folder."""
    if _clean(rel):
        return rel, False
    cleaned = rel.strip().replace("\\", "/")
    norm = os.path.normpath(cleaned).replace(os.sep, "/") if cleaned else ""
    outside = cleaned.startswith("/") or norm == ".." or norm.startswith("../") or bool(_DRIVE.match(cleaned))
    return norm, outside


_DRIVE = re.compile(r"[A-Za-z]:/")
"""A Windows path from a drive's root (``C:\\data\\A.svs``): absolute, so outside the batch, as a
UNC path (``\\\\server\\share``) and ``/data`` are."""


def _clean(rel: str) -> bool:
    """Whether ``rel`` is already as :func:`normalise` makes it, inside the batch (the usual
    path: a million of them are not taken apart and put together again)."""
    return (
        rel[:1] not in ("", ".", "/")
        and rel[1:2] != ":"
        and rel[-1:] != "/"
        and "//" not in rel
        and "/." not in rel
        and "\\" not in rel
        and rel == rel.strip()
    )


def discover(root: Path) -> Discovery:
    """List the batch and pair its files into items."""
    walk_issues: list[DiscoveryIssue] = []
    notes: list[str] = []
    slides, annotations, others = list_files(root, walk_issues, notes)
    disc = Discovery(
        root=root,
        items=[],
        slide_files=slides,
        annotation_files=annotations,
        other_files=others,
        notes=notes,
        issues=walk_issues,
    )
    _form_collisions(disc)
    for rel in others:
        disc.issues.append(
            DiscoveryIssue(
                "FILE_NOT_READ",
                msg(
                    "not a slide or annotation file dqm reads (extension {extension!r}): not "
                    "checked; move it out of the batch, or give it its format's extension",
                    extension=suffix(rel) or "none",
                ),
                file=rel,
            )
        )
    if os.path.lexists(root / MANIFEST):
        manifest_path, why = jailed(root, MANIFEST)
        disc.manifest = MANIFEST
        if manifest_path is None:
            disc.issues.append(
                DiscoveryIssue(
                    "MANIFEST_UNREADABLE",
                    msg("manifest.csv is {_why}; files paired by name instead", _why=why),
                    file=MANIFEST,
                )
            )
        elif _read_manifest(manifest_path, disc, slides, annotations):
            _orphans(disc)
            _checksums(disc)
            _file_text_searchers(disc)
            return disc
        disc.manifest_listed, disc.manifest_unlisted = [], []  # a manifest not used lists nothing
    _pair_by_stem(disc, slides, annotations)
    if not disc.items:
        disc.issues.append(
            DiscoveryIssue("EMPTY_BATCH", msg("no slide or annotation files found"), item_id="batch")
        )
    _checksums(disc)
    _file_text_searchers(disc)
    return disc


def _form_collisions(disc: Discovery) -> None:
    """A ``NAME_FORM_COLLISION`` issue for each file whose name is another's in other Unicode code
    points (NFC / NFD): two files on Linux, one on macOS and Windows, and which one a manifest or a
    pairing means cannot be told. Only names that are not NFC are normalised (ASCII never is)."""
    files = (*disc.slide_files, *disc.annotation_files, *disc.other_files)
    groups: dict[str, list[str]] = {}
    for rel in files:
        if not rel.isascii() and not unicodedata.is_normalized("NFC", rel):
            groups.setdefault(unicodedata.normalize("NFC", rel), []).append(rel)
    if not groups:
        return
    present = set(files)
    for key, names in groups.items():
        same = sorted([key, *names] if key in present else names)
        for rel in same[1:]:
            text = msg(
                "{path!r} and {other!r} are one name written in other Unicode code points (NFC / NFD): "
                "one file on macOS and Windows, and which one is meant cannot be told; rename one",
                path=rel,
                other=same[0],
            )
            disc.issues.append(DiscoveryIssue("NAME_FORM_COLLISION", text, file=rel, item_id=rel))


def _file_text_searchers(disc: Discovery) -> None:
    """The first item that reads each annotation file searches the file's own text, the others do
    not (:attr:`Item.searches_file_text`): a COCO file shared by a split delivery's items is
    searched once, whichever of its images the manifest lists. Where two or more items read the
    file, each is told the slide ids and slide files of them all (:attr:`Item.file_readers`, one
    set for them all), as the runner names their slides: an image one of them names by its path
    is none other's, and the first searches the images none of them picks too."""
    readers: dict[str, list[Item]] = {}
    for item in disc.items:
        if item.annotation_path is not None:
            path = normalise(item.annotation_path)[0]
            shared = readers.setdefault(path, [])
            item.searches_file_text = not shared
            shared.append(item)
    for shared in readers.values():
        if len(shared) > 1:  # the usual file of one slide is named by nothing more
            named = frozenset((item.slide_id, as_read(item.image_path)) for item in shared)
            for item in shared:
                item.file_readers = named


def as_read(rel: str | None) -> str | None:
    """A manifest path as the runner names the file it reads (:func:`normalise`d, unless it leaves
    the batch or is empty: then as written)."""
    if rel is None:
        return None
    norm, outside = normalise(rel)
    return rel if outside or not norm else norm


def _checksums(disc: Discovery) -> None:
    """The batch's checksum list: ``SHA256SUMS`` (first) and the manifest's columns, every path
    cleaned and jailed like a manifest's (a path leaving the batch is a finding and never read),
    the files that are there given to their items (:attr:`Item.listed`), and the issues: a
    malformed line, a listed file that is not there, a file there that is not listed."""
    root = disc.root
    entries, sums = list(disc.manifest_listed), os.path.lexists(root / SUMS_FILE)
    if sums:
        entries = _read_sums(disc) + entries
    if not sums and not entries and not disc.manifest_unlisted:
        return
    for e in entries:
        norm, outside = normalise(e.path)
        first = disc.checksums.get(norm)
        if outside or not norm:
            _keep_listed(disc, e)
            _listing_issue(
                disc,
                e,
                "CHECKSUM_OUTSIDE_BATCH",
                msg(
                    "{_where} lists {path!r}, which leaves the batch folder: not read",
                    path=e.path,
                    **e.where_params(),
                ),
            )
        elif first is not None:
            if first.sha256 != e.sha256:
                again = msg(
                    "{path!r} is listed again with another hash (first at {_where})",
                    path=norm,
                    **first.where_params(),
                )
                _listing_issue(disc, e, "CHECKSUM_MALFORMED", again)
        else:
            path, why = jailed(root, norm)
            if path is None:
                _keep_listed(disc, e)
                text = (
                    msg(
                        "{path!r} is listed ({_where}) but is not in the batch", path=norm, **e.where_params()
                    )
                    if why == NO_SUCH_FILE
                    else msg(
                        "{path!r} is listed ({_where}) but is {_why}", path=norm, _why=why, **e.where_params()
                    )
                )
                _listing_issue(disc, e, "CHECKSUM_MISSING_FILE", text, norm)
            else:
                disc.checksums[norm] = e
                if any(part.startswith(".") for part in norm.split("/")):  # hidden: no name check sees it
                    _keep_listed(disc, e)
    _unlisted(disc, sums)
    of_items: set[str] = set()
    for item in disc.items:
        files = {normalise(p)[0] for p in (item.image_path, item.annotation_path) if p}
        item.listed = tuple(sorted(files & disc.checksums.keys()))
        of_items.update(item.listed)
    disc.checksum_others = sorted(disc.checksums.keys() - of_items)


TEXT_SUFFIXES = frozenset(
    {
        ".txt", ".text", ".md", ".markdown", ".rst", ".rtf", ".csv", ".tsv", ".log", ".xml", ".json",
        ".html", ".htm", ".yaml", ".yml", ".ini", ".cfg", ".nfo",
    }
)  # fmt: skip
"""Extensions of the files no item reads whose text :func:`delivered_texts` keeps (a note, a log, a
sidecar beside the slides); a PDF, a Word file or a ZIP is read by :func:`dqm.doc_text.document_text`,
and one dqm cannot read (:data:`dqm.doc_text.UNREAD_SUFFIXES`) is named as not searched."""
READMES = ("README", "README.md", "README.txt")
"""The batch's notes, read in any folder: the last two left out of the files it lists
(:data:`IGNORED_NAMES`, kept in :attr:`Discovery.notes`); a file whose name starts with ``readme``
in any case (``Readme``, ``README.rst``, ``readme.pdf``) is read as text where no reader of its
kind is."""
MAX_TEXT_FILES = 10_000
"""Files no item reads whose text is kept: the rest are left out (a delivery of a million notes)."""
MAX_UNREAD_NAMED = 1_000
"""Files not (all) searched that are named one by one (a delivery of a million ``.npy`` files): past
them, one ``DEID_OTHER_TEXT_UNSEARCHED`` of the batch says how many are named."""


MAX_TARS_READ = 256_000_000
"""Bytes all of a batch's tar archives read at most (headers, and a compressed one's data
decompressed to get past it: about a second of CPU): past them, a tar is named as not all searched."""
MAX_DOCUMENTS_INFLATED = 256_000_000
"""Bytes all of a batch's ZIP and PDF documents inflate at most (a ZIP's members read, a PDF's
streams inflated; each document :data:`dqm.doc_text.MAX_DOCUMENT_BYTES` at most): 10,000 documents
of 4 MB of markup each, little text, were 40 GB inflated and parsed. Past it, a document is named
as not all searched."""
PAST_BATCH_BOUND = N_("the batch's bound on the text searched was spent before it")
"""Why a file is not searched once :data:`MANIFEST_UNREAD_CHARS` characters or
:data:`MAX_TEXT_FILES` files were read (a msgid)."""


def _is_readme(rel: str) -> bool:
    return rel.rsplit("/", 1)[-1][:6].lower() == "readme"


@dataclass
class DeliveredTexts:
    """What :func:`delivered_texts` read."""

    texts: list[tuple[str, str]] = field(default_factory=list)
    """The text of each file, by batch path."""
    cut: bool = False
    """Whether some text was left out (past the bounds), or a file could not be read."""
    unread_cut: bool = False
    """Whether more files than :data:`MAX_UNREAD_NAMED` were not (all) searched: the rest not named."""
    unread: list[tuple[str, str]] = field(default_factory=list)
    """Files that may hold identifiers and were not (all) searched, by batch path, with why (a msgid):
    a document dqm does not read (a ``.doc``, an ``.alz``), or one read in part (an encrypted member,
    a member past the bound)."""
    unread_at: dict[str, int] = field(default_factory=dict)
    """Where a file of :attr:`unread` stopped being read whole, by batch path (a tar archive's
    damaged block: :data:`dqm.doc_text.TAR_DAMAGED`), the ``at`` its reason names."""


def delivered_texts(disc: Discovery) -> DeliveredTexts:
    """The text of the files the batch delivers and no item reads, for ``deid.other_texts`` to
    search for identifiers: each folder's README (:attr:`Discovery.notes`, a ``README`` or any name
    starting ``readme``), each file not read (``FILE_NOT_READ``) with a text extension
    (:data:`TEXT_SUFFIXES`) or a document's (:data:`dqm.doc_text.DOCUMENT_SUFFIXES`: a PDF's
    strings, a Word file's XML, a ZIP's comment, names and text members), each annotation file no
    item names (``ORPHAN_ANNOTATION``) and the text each slide no item names carries
    (``ORPHAN_SLIDE``: a TIFF's text tags, a PNG's text chunks, a JPEG's comment and EXIF text,
    :func:`dqm.image_text.image_texts`; an orphan DICOM file is in ``unread``), in that order, by batch path. Read as a refused manifest is (UTF-8, bad bytes replaced, NULs
    dropped, and as CP949 where bytes were bad), at most :data:`MANIFEST_UNREAD_CHARS` characters
    in all (a document's :data:`dqm.doc_text.MAX_DOCUMENT_BYTES` bytes read or inflated at most)
    and :data:`MAX_TEXT_FILES` files. A document dqm does not read
    (:data:`dqm.doc_text.UNREAD_SUFFIXES`) or reads in part is kept in ``unread``."""
    out = DeliveredTexts()
    orphans = (i.file for i in disc.issues if i.code in ("ORPHAN_ANNOTATION", "ORPHAN_SLIDE") and i.file)
    readable = TEXT_SUFFIXES | DOCUMENT_SUFFIXES
    notes: list[str] = []
    for f in disc.other_files:
        ext = document_suffix(f)
        if unread_kind(ext) or (not ext and _dicom_file(disc.root, f)):  # a readme.doc too: no text
            out.unread.append((f, N_("a kind of file dqm does not read")))
            out.unread_cut |= len(out.unread) > MAX_UNREAD_NAMED
        elif ext in readable or _is_readme(f):
            notes.append(f)
    slides = set(disc.slide_files)  # looked up once a file: a list scanned made it quadratic
    used = 0
    tar_reads = [MAX_TARS_READ]  # 10,000 tar.gz bombs are not 10,000 times MAX_TAR_READ
    inflated = [MAX_DOCUMENTS_INFLATED]  # nor 10,000 ZIPs of markup 10,000 times MAX_DOCUMENT_BYTES
    for rel in dict.fromkeys(chain(disc.notes, notes, orphans)):
        path, _ = jailed(disc.root, rel)
        if path is None:  # a link leaving the batch, a special file: its own finding says it is not read
            continue
        if used >= MANIFEST_UNREAD_CHARS or len(out.texts) >= MAX_TEXT_FILES:
            # the batch's bound spent (two archives' names can fill it): each file left is named
            out.cut = True
            out.unread.append((rel, PAST_BATCH_BOUND))
            if len(out.unread) > MAX_UNREAD_NAMED:
                out.unread_cut = True
                break
            continue
        ext = document_suffix(rel)
        try:
            with path.open("rb") as fh:
                if rel in slides and ext == ".dcm":  # its tags are not read without a DICOM reader
                    out.unread.append((rel, N_("a DICOM file's tags are not read")))
                    out.unread_cut |= len(out.unread) > MAX_UNREAD_NAMED
                    continue
                if rel in slides:  # an orphan slide: the text it carries, never its pixels
                    text, why = image_texts_why(fh)
                    if why is not None:
                        out.unread.append((rel, why))
                        out.unread_cut |= len(out.unread) > MAX_UNREAD_NAMED
                    data = text.encode("utf-8")
                elif ext in DOCUMENT_SUFFIXES:
                    limit = min(MAX_DOCUMENT_BYTES, MANIFEST_UNREAD_CHARS - used)
                    damaged: list[int] = []
                    text, why = document_text(fh, ext, limit, tar_reads, inflated, damaged)
                    if why is not None:
                        out.unread.append((rel, why))
                        if damaged:
                            out.unread_at[rel] = damaged[0]
                        out.unread_cut |= len(out.unread) > MAX_UNREAD_NAMED
                    data = text.encode("utf-8")
                else:
                    data = fh.read(MANIFEST_UNREAD_CHARS - used + 1)
                    if ext in MARKUP_SUFFIXES:  # Korean as \'b1\'e8 escapes, an HTML's tags
                        # cut as read: the text read is shorter than its bytes (8 bytes in, 2 out)
                        out.cut |= len(data) > MANIFEST_UNREAD_CHARS - used
                        data = markup_text(data, ext)
        except OSError:
            out.cut = True
            continue
        text, read = _refused_reading(data[: MANIFEST_UNREAD_CHARS - used])
        out.cut |= len(data) > read
        if text.strip():
            out.texts.append((rel, text))
            used += len(text)
    out.unread = out.unread[:MAX_UNREAD_NAMED]
    return out


def _dicom_file(root: Path, rel: str) -> bool:
    """Whether the batch's file ``rel`` is a DICOM file without an extension (a scanner's
    ``IM0001``): its tags, which may name the patient, are not read."""
    path, _ = jailed(root, rel)
    if path is None:
        return False
    try:
        with path.open("rb") as fh:
            return is_dicom(fh)
    except OSError:
        return False


def _keep_listed(disc: Discovery, e: Listed) -> None:
    """Keep a path ``SHA256SUMS`` lists that no file of the batch has (not there, or leaving the
    batch), or that is hidden (not walked), for the search for identifiers: no check of file names
    reads it."""
    if e.line is not None:
        disc.sums_unread.keep(e.line, e.path)


def _listing_issue(disc: Discovery, e: Listed, code: str, message: str, item_id: str | None = None) -> None:
    """An issue of one entry of the checksum list, at its line of ``SHA256SUMS`` or its manifest cell."""
    file = SUMS_FILE if e.line is not None else disc.manifest
    disc.issues.append(
        DiscoveryIssue(code, message, file=file, row=e.row, column=e.column, item_id=item_id, line=e.line)
    )


def _read_sums(disc: Discovery) -> list[Listed]:
    """The entries of ``SHA256SUMS``; an unreadable list or a malformed line is an issue."""
    path, why = jailed(disc.root, SUMS_FILE)
    try:
        if path is None:
            raise OSError(why)
        with path.open("rb") as fh:
            data = fh.read(MAX_SUMS_BYTES + 1)
        if len(data) > MAX_SUMS_BYTES:
            disc.issues.append(
                DiscoveryIssue(
                    "CHECKSUM_LIST_UNREADABLE",
                    msg(
                        "{file} cannot be read (larger than the {limit:,}-byte limit): no file is checked against it",
                        file=SUMS_FILE,
                        limit=MAX_SUMS_BYTES,
                    ),
                    file=SUMS_FILE,
                )
            )
            disc.sums_unread.keep(None, _refused_reading(data)[0])
            disc.sums_unread.cut = True
            return []
        text = data.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        if isinstance(exc, UnicodeDecodeError):
            text, read = _refused_reading(data)
            disc.sums_unread.keep(None, text)
            disc.sums_unread.cut |= len(data) > read  # a CP949 list read half way: its tail unsearched
        reason = (
            msg("{file} cannot be read ({_why}): no file is checked against it", file=SUMS_FILE, _why=why)
            if path is None and why is not None
            else msg(
                "{file} cannot be read ({reason}): no file is checked against it", file=SUMS_FILE, reason=exc
            )
        )
        disc.issues.append(DiscoveryIssue("CHECKSUM_LIST_UNREADABLE", reason, file=SUMS_FILE))
        return []
    entries, malformed = parse_sums(text, keep=disc.sums_unread.keep)
    for bad in malformed:
        disc.issues.append(DiscoveryIssue("CHECKSUM_MALFORMED", bad.why, file=SUMS_FILE, line=bad.line))
    return entries


def _unlisted(disc: Discovery, sums: bool) -> None:
    """``CHECKSUM_UNLISTED`` for each file that is there and not listed: with ``SHA256SUMS``
    every file of the batch (the manifest too), else the files of the manifest's rows whose
    checksum cell is blank."""
    if sums:
        there = [*disc.slide_files, *disc.annotation_files, *disc.other_files]
        if disc.manifest is not None and disc.manifest_sha256 is not None:
            there.append(MANIFEST)
    else:
        there = [n for n, _ in map(normalise, disc.manifest_unlisted) if jailed(disc.root, n)[0] is not None]
    for rel in sorted(set(there) - disc.checksums.keys()):
        text = (
            msg("{path!r} is not listed in {file}", path=rel, file=SUMS_FILE)
            if sums
            else msg("{path!r} is not listed in the checksum columns of {file}", path=rel, file=MANIFEST)
        )
        disc.issues.append(DiscoveryIssue("CHECKSUM_UNLISTED", text, file=rel, item_id=rel))


def _read_manifest(path: Path, disc: Discovery, slides: list[str], annotations: list[str]) -> bool:
    """Items from the manifest; False when it cannot be used (the caller pairs by stem): its text
    is then kept for the search for identifiers (:attr:`Discovery.manifest_unread`)."""
    data, text = b"", None
    try:
        with path.open("rb") as fh:
            if (found := sparse_of(fh.fileno())) is not None:  # holes: not read, as over the limit
                raise SparseFileError(found, path)
            fh.seek(0)
            data = fh.read(MAX_MANIFEST_BYTES + 1)
        if len(data) > MAX_MANIFEST_BYTES:
            _keep_refused(disc, data)
            disc.issues.append(
                DiscoveryIssue(
                    "MANIFEST_UNREADABLE",
                    msg(
                        "cannot read the manifest (larger than the {limit:,}-byte limit); files paired by name instead",
                        limit=MAX_MANIFEST_BYTES,
                    ),
                    file=MANIFEST,
                )
            )
            return False
        disc.manifest_sha256 = hashlib.sha256(data).hexdigest()
        text = _manifest_text(data, disc)
        data = b""  # freed: the text is what is read from here on
        if _manifest_items(text, disc, slides, annotations):
            return True
        _keep_unread(disc, None, text)  # no slide_id column, no header: no cell is an item's
        return False
    except LooksWide as wide:
        _keep_refused(disc, data, wide.order)
        disc.issues.append(
            DiscoveryIssue(
                "MANIFEST_UNREADABLE",
                msg(
                    "cannot read the manifest: it looks like UTF-16 {order} without a byte-order mark "
                    "(a NUL byte at every other byte); files paired by name instead, save it as UTF-8",
                    order=wide.order,
                ),
                file=MANIFEST,
            )
        )
        return False
    except NotKorean as refused:
        _keep_refused(disc, data)
        disc.issues.append(
            DiscoveryIssue(
                "MANIFEST_UNREADABLE",
                msg(
                    "cannot read the manifest: not UTF-8 (byte 0x{byte:02x} at offset {offset:,}), and not "
                    "taken for CP949 (Korean Windows): {_why}; files paired by name instead, save it as UTF-8",
                    byte=refused.byte,
                    offset=refused.offset,
                    _why=refused.why,
                ),
                file=MANIFEST,
            )
        )
        return False
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        if isinstance(exc, csv.Error) and text is not None:
            _keep_unread(disc, None, text)
        elif isinstance(exc, UnicodeDecodeError):
            _keep_refused(disc, data)
        else:  # not read (holes, an I/O error): not searched either
            disc.manifest_unread_cut = True
        disc.issues.append(
            DiscoveryIssue(
                "MANIFEST_UNREADABLE",
                msg(
                    "cannot read the manifest ({reason}); files paired by name instead",
                    reason=_csv_reason(exc) if isinstance(exc, csv.Error) else exc,
                ),
                file=MANIFEST,
            )
        )
        return False


def _keep_refused(disc: Discovery, data: bytes, wide: str | None = None) -> None:
    """Keep the bytes of a manifest no codec reads (or too large to read), as text to search for
    identifiers (:func:`_refused_reading`); one that looks like UTF-16 without a mark
    (:class:`LooksWide`), its byte order ``wide``, read as UTF-16 in that order (a Hangul name in it
    read as UTF-8 or CP949 with its NULs dropped was not a name), its first
    :data:`MANIFEST_UNREAD_CHARS` bytes only."""
    if wide is not None:
        head = data[: MANIFEST_UNREAD_CHARS & ~1]
        body = head[_utf8_marks(head) * len(codecs.BOM_UTF8) :]  # after UTF-8 marks, as LooksWide was found
        text, read = body.decode(f"utf-16-{wide.lower()}", "replace"), len(head)
    else:
        text, read = _refused_reading(data)
    _keep_unread(disc, None, text)
    disc.manifest_unread_cut |= len(data) > read


def _refused_reading(data: bytes) -> tuple[str, int]:
    """The bytes of a file no codec reads (or too large to read) as text to search for identifiers,
    and how many bytes it reads: UTF-8 with its bad bytes replaced (an identifier in ASCII survives
    any encoding), NULs dropped (UTF-16 without its mark), and where bytes were bad its CP949
    reading after it (a Korean name saved on a Korean Windows); its first
    :data:`MANIFEST_UNREAD_CHARS` bytes only, and of a text read both ways, half of them read each
    way (the CP949 reading was cut from the budget the UTF-8 reading had filled)."""
    head = data[:MANIFEST_UNREAD_CHARS]
    text = head.decode("utf-8", "replace").replace("\x00", "")
    if "\ufffd" in text:
        head = head[: MANIFEST_UNREAD_CHARS // 2]
        text = both_readings(head)
    return text, len(head)


def _keep_unread(disc: Discovery, row: int | None, text: str) -> None:
    """Keep ``text`` of the manifest, which no item holds, for the search for identifiers, within
    :data:`MANIFEST_UNREAD_CHARS` in all."""
    kept = KeptText(disc.manifest_unread, disc.manifest_unread_chars, disc.manifest_unread_cut)
    kept.keep(row, text)  # its list is the manifest's
    disc.manifest_unread_chars, disc.manifest_unread_cut = kept.chars, kept.cut


WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
"""Byte-order marks that say a manifest's encoding beyond doubt (Excel's "Unicode text" is
UTF-16 LE with one), the UTF-32 ones first (``FF FE 00 00`` starts with UTF-16 LE's)."""
KOREAN_LEGACY = "cp949"
"""The codec a manifest that is not UTF-8 is tried in: Excel's CSV on a Korean Windows (a superset
of EUC-KR, so an EUC-KR file reads the same)."""


_UTF8_MULTIBYTE = (
    rb"(?:[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2})"
)
"""One character of UTF-8 beyond ASCII, well formed (no overlong form, no surrogate)."""
_BEYOND_ASCII = re.compile(rb"[\x80-\xff]+")
_UTF8_RUN = re.compile(rb"(?<![\x80-\xff])" + _UTF8_MULTIBYTE + rb"+(?![\x80-\xff])")
"""A run of bytes beyond ASCII that is well-formed UTF-8 from end to end."""
_MARKS_BLOCK = codecs.BOM_UTF8 * (1 << 14)


def _utf8_marks(data: bytes) -> int:
    """How many UTF-8 byte-order marks ``data`` starts with: compared a block of them at a time
    (64 MB of marks: 0.008 s CPU; a loop over each took 6.9 s, one regex match 1.7 s)."""
    at = 0
    while data.startswith(_MARKS_BLOCK, at):
        at += len(_MARKS_BLOCK)
    while data.startswith(codecs.BOM_UTF8, at):
        at += len(codecs.BOM_UTF8)
    return at // len(codecs.BOM_UTF8)


KOREAN_SHARE = 0.9
"""How much of a CP949 reading's letters beyond ASCII (category ``Lo``: syllables, hanja, kana)
must be Hangul syllables of KS X 1001 (the 2,350 that EUC-KR holds, which Korean is written in)
for the reading to be taken as Korean."""
_HANJA = "\u4e00-\u9fff\uf900-\ufaff"
_HANJA_WORD = re.compile(
    rf"(?<![^\W\d_])[\uac00-\ud7a3]{{2,}}[ _-]?([{_HANJA}]{{2,}})(?![^\W\d_])"
    rf"|(?<![^\W\d_])([{_HANJA}]{{2,}})[ _-]?[\uac00-\ud7a3]{{2,}}(?![^\W\d_])"
)
"""Two Hangul syllables or more and two hanja or more, one after the other, joined or by a space,
``_`` or ``-`` (``서울大學校病院``, ``病理科에서``, ``서울대병원 病理科``, ``홍길동_病理``): how Korean
writes a Sino-Korean word in hanja. GBK's misread hanja fall among its syllables at random, one
at a time as often, and a Chinese cell of four characters reads as such a word of two and two
(``人民医院``: ``훙췽努牘``): :func:`_reads_as_korean` counts short ones only in a Korean file."""


def _reads_as_korean(data: bytes, text: str, *, name: bool = False) -> bool:
    """Whether ``data``, bytes that are not UTF-8, are Korean Windows' CP949 (Excel's CSV, a name
    from an old zip), ``text`` being their CP949 reading. CP949 decodes much else, wrongly: UTF-8 with
    a stray byte (``Café`` with a cp1252 dash pasted in reads ``Caf챕``), Latin-1 (``Tumorgröße`` reads
    ``Tumorgr秤e``, ``Åarhus`` ``휺rhus``), Chinese GBK (hanja and random syllables). Two signs, both
    needed. The runs of bytes beyond ASCII (a word, a cell) that are not well-formed UTF-8 outnumber
    those that are: one stray byte spoils one run, and a UTF-8 file holds its others well formed,
    while in CP949 a Korean word is well-formed UTF-8 end to end only by chance (``홍길동``'s bytes
    hold two well-formed UTF-8 characters for one bad byte: counted by characters, it was refused).
    And Hangul syllables of KS X 1001 make at least :data:`KOREAN_SHARE` of the reading's letters
    of category ``Lo`` beyond ASCII: a Latin-1 letter reads as hanja or, before an ASCII letter, as
    one of the rare syllables CP949 adds; GBK reads as Hangul and lone hanja mixed; Shift_JIS as the
    added syllables. Count for neither: symbols (``·``, ``㎝``, ``※``), Greek and full-width Latin
    (``μm``, ``ＨＥ``: Korean text writes them, and they are not ``Lo``), and the hanja of a word
    that writes them onto Hangul (:data:`_HANJA_WORD`) where the reading is Korean without such
    words (names, diagnoses in Hangul) or the word has four hanja or four syllables or more
    (``서울大學校病院``, ``서울대병원 病理科``). A Chinese cell of four characters often reads as
    two syllables and two hanja (``人民医院`` reads ``훙췽努牘``): such words alone are no sign.
    Hanja standing alone (``病理科``, ``男``) count against, as GBK's do. In a file ``name`` every
    such word's hanja count for neither (``홍길동_病理``), and so do the added syllables whose first
    byte is below 0xa1 (``똠``, ``김똘똘_똠``: no Latin-1 letter reads so), but where cp1252's
    punctuation between two letters reads so (:func:`_added_syllables`); for a name, the worst is
    a wrong hint on a finding made anyway. In a manifest these syllables count against: UTF-8
    ``é`` with a stray byte after it reads ``챕`` and one of them, and would be taken. And in a
    manifest the reading's syllables must be those Korean writes often (:func:`_common_syllables`):
    short GBK, Big5 and EUC-JP cells read as all syllables, rare ones; three distinct common ones
    or more let short hanja words count for neither (``홍길동_病理``, :func:`_korean_words`)."""
    return _not_korean(data, text, name=name) is None


NOT_KOREAN_UTF8 = N_("most of its runs of bytes beyond ASCII are well-formed UTF-8: UTF-8 with a stray byte")
NOT_KOREAN_LETTERS = N_(
    "as CP949 its letters are not Hangul but hanja or syllables Korean does not write, as Latin-1, "
    "Chinese or Japanese bytes read"
)
NOT_KOREAN_RARE = N_(
    "as CP949 its Hangul syllables are rare ones, as short Chinese, Japanese or Latin-1 text reads"
)
NOT_KOREAN_OTHER = N_(
    "as CP949 it is a word of two Hangul syllables, one of them rare, and it reads as well as "
    "Chinese GBK or Big5 or Japanese EUC-JP text of characters those languages write often"
)
NOT_KOREAN_PAIR = N_(
    "as CP949 it is a word of two Hangul syllables that the Korean message catalogues dqm counts never "
    "write side by side, as a short Chinese or Japanese word reads"
)


def _not_korean(data: bytes, text: str, *, name: bool = False) -> str | None:
    """Why ``data`` are not CP949 (a msgid, :func:`_reads_as_korean`'s signs), or None where they are."""
    runs = sum(1 for _ in _BEYOND_ASCII.finditer(data))  # finditer: no copy of the runs is built
    if sum(1 for _ in _UTF8_RUN.finditer(data)) * 2 >= runs:
        return NOT_KOREAN_UTF8
    counts = Counter(text)
    words, neither, long = _hanja_words(text)
    if name:
        neither.update(_added_syllables(text))
    elif long != neither and not _korean_share(counts - words) and not _korean_words(counts, text):
        neither = long
    if not _korean_share(counts - neither):
        return NOT_KOREAN_LETTERS
    # a name's hint is judged without the frequency rule: a wrong one is a hint on a finding made
    # anyway, and a name's syllables are a person's, rarer than a manifest's words ('김똘똘_똠')
    if name:
        return None
    if not _common_syllables(counts, text):
        if not _lead_word(counts, text) and not _doubled_syllable(counts, text):
            return NOT_KOREAN_RARE
        if _other_reading(data, LEAD_OTHER_RANK):
            return NOT_KOREAN_OTHER
    return NOT_KOREAN_PAIR if _unseen_pair(counts, text) else None


COMMON_RANK = 1037
"""How many of the most frequent Hangul syllables (:data:`dqm.hangul_syllables.RANKED`) count as
common (:func:`_common_syllables`): 1,037, every syllable the catalogues write. Cross-validation
with folds by word source (``benchmarks/cp949_guess_cv.py --by-source``) chose it on four folds of
five once the fold of two-syllable words (``pairs25``) was among them: pure Korean and loanwords'
syllables the catalogues write once (``헬스``, ``햇살``), at the cost of a few more short Chinese and
Japanese words taken (``盲肠``, ``中村``); 953 (those written twice or more) before."""
COMMON_SHARE = 0.66
"""How many of a CP949 reading's distinct Hangul syllables of KS X 1001 must be common for the
reading to be taken as Korean (0: the rule is off): two of three (``김말녀``, ``박샛별``: a name's
one rare syllable). Cross-validation with folds by word source (``benchmarks/cp949_guess_cv.py
--by-source``: its own lists, session 24's hand-written ones, a second review's, session 25's two
fixtures) chose 0.66 on four folds of five, 0.6 on one; session 24's five folds by position chose
0.75, which refused every name ending in ``녀``."""
COMMON_SUPPLEMENT = SUPPLEMENT
"""Syllables common whatever their rank (:data:`dqm.hangul_syllables.SUPPLEMENT`): those that a
hanja Korean writes reads (KS X 1001's, as Perl's Unicode::Collate lists their readings), and those
of a hand-written list of pure Korean body sites (``무릎``, ``뺨``: no text on the machine holds
them). Korean names, hospitals, diagnoses and places are Sino-Korean, and the catalogues ranked
lack many of their syllables (``최훈``, ``맹장``, ``강릉``, ``이흠``). The body sites' 31 syllables, still
the one list written from memory (no text on the machine, no installed package, holds such words),
were measured in session 26 (``benchmarks/cp949_guess_cv.py --lead``): with :data:`LEAD_RANK` they
read 2 one-word manifests of 1,584 that the readings alone refuse (``콧등``, ``젖샘``) and change no
foreign word's fate; kept, a marginal help."""


@functools.lru_cache(maxsize=4)
def _common(rank: int, supplement: str) -> frozenset[str]:
    return frozenset(RANKED[:rank]) | frozenset(supplement)


_BETWEEN_LATIN = re.compile(r"(?<=[A-Z])[\uac00-\ud7a3](?=[A-Z])")
"""A syllable alone between two ASCII capitals: how Latin-1's upper-case accented pairs read
(``AVALIAÇÃO`` reads ``AVALIA플O``), not how Korean writes beside Latin (``HE염색``, ``p53음성``)."""


def _common_syllables(counts: Counter[str], text: str) -> bool:
    """Whether :data:`COMMON_SHARE` of the distinct Hangul syllables of KS X 1001 that ``counts``
    holds are among the :data:`COMMON_RANK` most frequent or in :data:`COMMON_SUPPLEMENT`.
    Korean writes a few hundred syllables over and over; GBK, Big5 and EUC-JP's two-byte characters and Latin-1's upper-case accented
    pairs read as syllables drawn almost at random from the 2,350 (``北京`` reads ``굇쑴``, EUC-JP
    ``佐藤`` ``병튁``, Big5 ``腺癌`` ``륭쟬``), most of them rare. Distinct ones are counted: a
    manifest repeats its few cells. A syllable alone between two ASCII capitals
    (:data:`_BETWEEN_LATIN`) counts as rare, however common (``ÇÃ`` reads ``플``)."""
    if not COMMON_SHARE:
        return True
    common = _common(COMMON_RANK, COMMON_SUPPLEMENT) - {
        match.group() for match in _BETWEEN_LATIN.finditer(text)
    }
    syllables = [char for char in counts if _ks_x_1001(char)]
    return sum(char in common for char in syllables) >= COMMON_SHARE * len(syllables)


def _lead_word(counts: Counter[str], text: str) -> bool:
    """Whether ``text`` writes two distinct syllables of KS X 1001, one of them common and among
    the :data:`LEAD_RANK` most frequent (``김밥``'s ``김``, ``댄스``'s ``스``), side by side in one word
    of two syllables: a word with one rare one (:data:`LEAD_RANK`). Two cells of one syllable each
    are no such word: a GBK sex column ``男``/``女`` reads ``켕``/``큽``, EUC-JP ``肺``/``肝`` two
    syllables too, one of them frequent (the rule took them in session 26's first round)."""
    syllables = [char for char in counts if _ks_x_1001(char)]
    if not LEAD_RANK or len(syllables) != 2:
        return False
    if not any(_one_word_of_two(run, syllables) for run in _HANGUL_RUN.findall(text)):
        return False
    lead = _common(LEAD_RANK, "") - {match.group() for match in _BETWEEN_LATIN.finditer(text)}
    return bool(lead & set(syllables))


def _doubled_syllable(counts: Counter[str], text: str) -> bool:
    """Whether ``text``'s one syllable of KS X 1001 stands doubled as a word of its own (``쿵쿵``, ``쾅쾅``,
    ``펑펑``, twice doubled ``쿵쿵쿵쿵``): how Korean writes an onomatopoeia, whose syllable is often a rare one
    (session 30 found ``쿵쿵`` refused: one distinct syllable, rare, no common one for :func:`_lead_word`).
    Taken as :data:`LEAD_RANK`'s words are, where no other reading writes frequent characters
    (:data:`LEAD_OTHER_RANK`'s veto: Chinese doubles its frequent characters, ``妈妈``, ``谢谢``)."""
    syllables = [char for char in counts if _ks_x_1001(char)]
    if not LEAD_RANK or len(syllables) != 1 or (ord(syllables[0]) - 0xAC00) // 588 not in _SOUND_INITIALS:
        return False
    return any(run in (syllables[0] * 2, syllables[0] * 4) for run in _HANGUL_RUN.findall(text))


_SOUND_INITIALS = frozenset((1, 4, 8, 10, 13, 14, 15, 16, 17))
"""The initial consonants (their index in Unicode's syllable order) a doubled syllable :func:`_doubled_syllable` takes
starts with: the tense and aspirated ones, ㄲ ㄸ ㅃ ㅆ ㅉ ㅊ ㅋ ㅌ ㅍ, an onomatopoeia's (``쿵쿵``, ``펑펑``, ``뚝뚝``)."""


def _one_word_of_two(run: str, syllables: list[str]) -> bool:
    """Whether the Hangul run ``run`` is one word of the two ``syllables``, said once or doubled
    (``김밥``, ``꿀꺽꿀꺽``: a second review found Korean's doubled words refused, ``김밥김밥`` too)."""
    return len(run) % 2 == 0 and set(run[:2]) == set(syllables) and run == run[:2] * (len(run) // 2)


LEAD_RANK = 800
"""A reading of two distinct syllables of KS X 1001, one of them rare, side by side in one word, is
taken where the other is among the 800 most frequent (:func:`_lead_word`) and neither GBK, Big5
nor EUC-JP reads the bytes as characters among the :data:`LEAD_OTHER_RANK` their software writes
most (:func:`_other_reading`): pure Korean and loanwords of two syllables write one rare syllable
beside a frequent one (``김밥``, ``댄스``, ``뱃살``), and at :data:`COMMON_SHARE` one rare syllable
of two refused them. 0: off. Cross-validation with folds by word source
(``benchmarks/cp949_guess_cv.py --lead``, session 26's fix round: ranks 0 to 1,000, the other
readings' rank 0 to 2,000, every word of two or three letters also as a column of one-letter
cells, Big5 among the other readings) chose 800 on four folds (LEAD_OTHER_RANK 1,000 on two of
them, 300 and 600 on the others), 600 on one; held out, Korean refused 15 -> 14 of 512, 58 -> 58 of
865, 53 -> 38 of 700, 0 -> 0 of 191, 154 -> 131 of 586 (one-cell words and columns), at the cost of
more short Chinese and Japanese words taken (GBK 33 -> 38 of 266, 22 -> 32 of 234, 7 -> 12 of
120; Big5 6 -> 9, 8 -> 9, 0 -> 2; EUC-JP 17 -> 24, 35 -> 67, 3 -> 3): manifests of one such cell.
The first round counted the manifest's distinct syllables, and took columns of one-character
cells (GBK ``男``/``女`` read ``켕``/``큽``: over random pairs of level-1 characters as two cells,
GBK 331 -> 646 of 3,807 taken, EUC-JP 510 -> 1,034 of 3,736); now 331 and 510, as without the
rule. Random two-character GBK words of level 1, one cell: 362 -> 780 of 3,807 taken (291 noted),
EUC-JP 565 -> 1,291 of 3,740 (464 noted)."""
LEAD_OTHER_RANK = 1000
"""The :data:`OTHER_RANK` of the veto on :data:`LEAD_RANK`'s words (0: none), chosen with it."""
OTHER_RANK = 2000
"""How many of the Han characters Chinese and Japanese software writes most
(:mod:`dqm.han_characters`) make a GBK, Big5 or EUC-JP reading of a manifest taken for CP949
plausible (:func:`_other_reading`): its ``MANIFEST_ENCODING`` finding then says the manifest reads
as that too. 2,000 is every character the tables hold (1,940 GBK, 1,810 Big5, 1,104 EUC-JP: all
the installed catalogues and Japanese manual pages write). Cross-validation with folds by word
source (``benchmarks/cp949_guess_cv.py --lead``, 300 to 2,000; the cost: the share of Korean
words taken that are noted plus the share of foreign words taken that are not, so one foreign
word unnoted weighs about 30 Korean ones noted) chose 2,000 on every fold; session 26's first
round tried up to 1,500 and every fold chose that, its largest. Held out (at
:data:`OTHER_SYLLABLES` none; at 2 since session 27, there), the note comes with 18
of 38, 18 of 30, 6 of 12 GBK words taken, 3 of 9, 5 of 9, 2 of 2 Big5, 18 of 24, 23 of 48, 0 of 3
EUC-JP, and with 0 to 38 % of the Korean ones read (``memory24`` 310 of 807, counting its words
parted into columns). Of the one-cell words ``LEAD_RANK`` adds (GBK 18, Big5 6, EUC-JP 20), 7, 4
and 5 get it (session 26's first round: 5 of 15, 0 of 8, 1 of 11): medical characters (``肺``,
``肝``, ``癌``, ``男``) are in no installed text, so a diagnosis's reading goes unnoted. As a
refusal of every short reading (two syllables or fewer, or three, or any) where the other reading
is plausible it was a loss at every rank (first round: 300 refused 14 more Korean one-cell words of
1,584 to refuse 6 foreign ones of 910); as a veto on :data:`LEAD_RANK`'s words only it was chosen
(:data:`LEAD_OTHER_RANK`)."""
OTHER_SYLLABLES: int | None = 2
"""Up to how many distinct syllables of KS X 1001 a reading taken for CP949 may write for its
other readings to be tried (:data:`OTHER_RANK`; None: any number). Session 27 re-measured it alone
at the shipped ranks (``benchmarks/cp949_guess_cv.py --syllables``, the folds of ``--lead``: 2, 3
or none): 2 on three folds, 3 on one (``cv24``), none on one (``review24``), as in session 26's
fix round, where it was left at none. Held out, none -> 2, noted of taken: ``cv24`` Korean
139 -> 87 of 498, GBK 19 -> 14 of 38, Big5 3 -> 3 of 9, EUC-JP 18 -> 18 of 24; ``memory24`` Korean
327 -> 310 of 807; ``review24`` Korean 147 -> 85 of 661, GBK 18 -> 16 of 30, Big5 5 -> 5 of 9,
EUC-JP 23 -> 21 of 48; ``fresh25`` Korean 35 -> 0 of 191, GBK 6 -> 6 of 12, Big5 2 -> 2 of 2,
EUC-JP 3 -> 0 of 3; ``pairs25`` Korean 193 -> 185 of 461. Korean words of three syllables or more
(``대장암``) read as frequent kanji no longer get the note (174 fewer of 2,618); foreign ones of
three characters lose it too (12 of 97 noted of 175 taken). A reading of many cells rarely reads
as frequent characters only: the note comes with short manifests."""
OTHER_READINGS = (
    (("gbk", ZH_RANKED), "GBK"),
    (("big5", TW_RANKED), "Big5"),
    (("euc_jp", JA_RANKED), "EUC-JP"),
)
"""The encodings a short CP949 reading is tried in, with their languages' frequent characters
(Big5 since session 26's fix round: its ``zh_TW`` catalogues were never counted)."""
_HAN = re.compile("[\u4e00-\u9fff]")


def _other_reading(data: bytes, rank: int | None = None) -> str | None:
    """The encoding (:data:`OTHER_READINGS`) whose reading of ``data`` writes Han characters, all of
    them among the ``rank`` (:data:`OTHER_RANK` where None) its language's software writes most
    (:mod:`dqm.han_characters`), or None; of several, all of them, ``GBK / EUC-JP``: the note named
    the first tried, GBK, for EUC-JP ``中村``. Which reads better is no rank's to say: the mean rank of
    the characters read named EUC-JP for GBK ``南京`` (``掴奨``, 748 of 1,104, against ``南京``, 757
    of 1,940) and GBK for EUC-JP ``中村`` (``面录``, software's words). CP949's Hangul syllables are common hanzi in GBK and
    level-1 kanji in EUC-JP: every CP949 manifest decodes three ways, and only which characters
    are read tells them apart."""
    rank = OTHER_RANK if rank is None else rank
    if not rank:
        return None
    names = [
        name
        for (codec, ranked), name in OTHER_READINGS
        if _frequent_only(data, codec, _frequent(ranked, rank))
    ]
    return " / ".join(names) or None


def _where_beyond_ascii(body: bytes, delimiter: str) -> tuple[int, int, int]:
    """Where the first byte beyond ASCII in ``body`` is: its line (1-based, counted in bytes, its
    ends as the parser splits them, :data:`_LINE_END`), its column (1-based, cut at ``delimiter``,
    the manifest's separator, quotes as CSV reads them; where the CSV reader refuses the line, a
    cell over its size limit, the separators outside quotes are counted) and its byte offset in
    ``body``. The other-reading note names the place, never the text: the text is a cell, perhaps a
    patient's name (a GBK ``李明`` in ``patient_name`` read as GBK is the name), and the masker
    cannot tell a name by its value alone. ``body``'s bytes before it are ASCII."""
    run = _BEYOND_ASCII.search(body)
    at = run.start() if run else len(body)
    before = body[:at].decode("ascii")
    ends = [m.end() for m in _LINE_END.finditer(before)]
    line = before[ends[-1] if ends else 0 :]
    try:
        cells = len(next(csv.reader([line + "x"], delimiter=delimiter), []))
    except csv.Error:
        cells = _cells_outside_quotes(line, delimiter)
    return len(ends) + 1, max(cells, 1), at


def _cells_outside_quotes(line: str, delimiter: str) -> int:
    """How many cells ``line`` starts, counted by its separators outside double quotes (the column
    of its end where the CSV reader refuses it): the text between every other pair of quotes."""
    return 1 + sum(part.count(delimiter) for part in line.split('"')[::2])


_OTHER_CHUNK = 1 << 16
"""How many bytes :func:`_frequent_only` decodes at a time: a Korean manifest's GBK reading meets
a character that is not frequent in its first cells, and the rest is never decoded (a 25 MB
Korean manifest: 0.007 s CPU, 3.9 s and 114 MB decoded whole; a 28 MB GBK one of frequent
characters only, read to its end: 0.84 s)."""


def _frequent_only(data: bytes, codec: str, rare: re.Pattern[str]) -> bool:
    """Whether ``codec`` decodes ``data`` into Han characters, one at least, none of which ``rare``
    (:func:`_frequent`) matches: decoded a chunk at a time, stopped at the first chunk with one."""
    decoder = codecs.getincrementaldecoder(codec)()
    view, seen = memoryview(data), False
    try:
        for at in range(0, len(data), _OTHER_CHUNK):
            part = decoder.decode(view[at : at + _OTHER_CHUNK], final=at + _OTHER_CHUNK >= len(data))
            if rare.search(part):
                return False
            seen = seen or _HAN.search(part) is not None
    except UnicodeDecodeError:
        return False
    return seen


def _thin_other_reading(data: bytes, text: str) -> str | None:
    """:func:`_other_reading` of a manifest whose CP949 reading ``text`` writes
    :data:`OTHER_SYLLABLES` distinct syllables of KS X 1001 or fewer (any number where None), else
    None."""
    if OTHER_SYLLABLES is not None and sum(1 for char in set(text) if _ks_x_1001(char)) > OTHER_SYLLABLES:
        return None
    return _other_reading(data)


@functools.lru_cache(maxsize=8)
def _frequent(ranked: str, rank: int) -> re.Pattern[str]:
    """A pattern of one Han character that is not among the ``rank`` first of ``ranked``."""
    return re.compile(f"(?![{re.escape(ranked[:rank])}])[\u4e00-\u9fff]")


PAIR_SYLLABLES = 0
"""Up to how many distinct syllables of KS X 1001 a manifest's reading (one cell: a word) must
write each two of them side by side that are not in :data:`COMMON_SUPPLEMENT` as the catalogues
do (:func:`_unseen_pair`). 0: the rule is off, as shipped. Chinese two-character words read as two
syllables that software's Korean writes, but never one after the other (GBK ``冰冻`` reads ``깥떨``,
``陈静`` ``냈쓰``, EUC-JP ``土屋`` ``텔껐``), and so do Korean's two-syllable loanwords, pure words,
ordinals and onomatopoeia (``메스``, ``핀셋``, ``둘째``, ``멍멍``): at 2 the rule refused 29 of 298
such words to refuse 14 foreign ones of 910. Cross-validation with folds by word source
(``benchmarks/cp949_guess_cv.py --by-source``, a fold of such words among them) set it off on four
folds of five; the fifth, held out, refused 26 more of them."""
PAIR_RANK = 0
"""How far down the ranks (:data:`dqm.hangul_syllables.RANKED`) both syllables of a pair must
stand for :func:`_unseen_pair` to judge it (0: every pair), a restriction of the rule the
cross-validation tried (300 to 800) and never chose: Korean's words keep rare pairs too (``멍멍``,
``딱딱``, ``셔츠``, ``늘봄``), and at 800, where only three of them are refused, no foreign one is."""
_SEEN_PAIRS = frozenset(PAIRS[at : at + 2] for at in range(0, len(PAIRS), 2))
_HANGUL_RUN = re.compile("[\uac00-\ud7a3]{2,}")


def _unseen_pair(counts: Counter[str], text: str) -> bool:
    """Whether ``text``, whose distinct syllables of KS X 1001 (in ``counts``) are
    :data:`PAIR_SYLLABLES` at most, writes two of them side by side, neither in
    :data:`COMMON_SUPPLEMENT` (pure Korean or a loanword's), that the catalogues the syllables were
    ranked from never write so (:data:`dqm.hangul_syllables.PAIRS`), both ranked
    :data:`PAIR_RANK` or later. Off as shipped (:data:`PAIR_SYLLABLES`): Korean writes many such
    pairs (``메스``, ``둘째``)."""
    if sum(1 for char in counts if _ks_x_1001(char)) > PAIR_SYLLABLES:
        return False
    supplement = _common(0, COMMON_SUPPLEMENT)
    for run in {match.group() for match in _HANGUL_RUN.finditer(text)}:
        for pair in {run[at : at + 2] for at in range(len(run) - 1)}:
            if pair in _SEEN_PAIRS or pair[0] in supplement or pair[1] in supplement:
                continue
            if PAIR_RANK and (_common(PAIR_RANK, "") & set(pair)):
                continue
            if _ks_x_1001(pair[0]) and _ks_x_1001(pair[1]):
                return True
    return False


WORD_SYLLABLES = 3
"""How many distinct syllables of KS X 1001 a manifest's hanja words (``홍길동_病理``) must write,
their syllables common (:func:`_common_syllables`), for their short words' hanja to count for
neither: a Chinese cell of four characters reads as two syllables and two hanja."""


def _korean_words(counts: Counter[str], text: str) -> bool:
    """Whether the Hangul of a reading whose only Korean is short hanja words is Korean by its
    syllables' frequency: :data:`WORD_SYLLABLES` distinct ones or more, and common."""
    syllables = sum(1 for char in counts if _ks_x_1001(char))
    return bool(COMMON_SHARE) and syllables >= WORD_SYLLABLES and _common_syllables(counts, text)


_HANJA_RUN = re.compile(f"[{_HANJA}]+")
_DISTINCT_WORDS = 4096
"""How many distinct hanja words :func:`_hanja_words` holds before it folds them into letters."""


def _hanja_words(text: str) -> tuple[Counter[str], Counter[str], Counter[str]]:
    """The letters of ``text``'s hanja words (:data:`_HANJA_WORD`), their hanja, and the hanja of
    those with four hanja or four syllables or more (:func:`_reads_as_korean`). A manifest names
    its few institutions again and again: each distinct word is parted once, those met once are
    counted together, and at most :data:`_DISTINCT_WORDS` are held at a time (a file of distinct
    ones holds no more). Counters updated at every match took twice the guess's time."""
    words: Counter[str] = Counter()
    hanja: Counter[str] = Counter()
    long: Counter[str] = Counter()
    seen: Counter[str] = Counter()

    def fold() -> None:
        once: list[str] = []  # the words met once, counted together in one call
        for word, times in seen.items():
            if times == 1:
                once.append(word)
                continue
            part, short = _hanja_part(word)
            for char, count in Counter(word).items():
                words[char] += count * times
            for char, count in Counter(part).items():
                hanja[char] += count * times
                if not short:
                    long[char] += count * times
        words.update("".join(once))
        parts = [_hanja_part(word) for word in once]
        hanja.update("".join(part for part, _ in parts))
        long.update("".join(part for part, short in parts if not short))
        seen.clear()

    for match in _HANJA_WORD.finditer(text):
        seen[match.group()] += 1
        if len(seen) >= _DISTINCT_WORDS:
            fold()
    fold()
    return words, hanja, long


def _hanja_part(word: str) -> tuple[str, bool]:
    """A hanja word's hanja (:data:`_HANJA_WORD`), and whether it is short: fewer than four hanja
    and fewer than four syllables (the word but its hanja and the ' ', '_' or '-' between them)."""
    run = _HANJA_RUN.search(word)
    part = run.group() if run else ""
    return part, len(part) < 4 and len(word) - len(part) - (not word.isalpha()) < 4


_AFTER_LATIN = re.compile(r"([A-Za-z0-9])?([\uac00-\ud7a3])")


def _added_syllables(name: str) -> Iterator[str]:
    """The syllables CP949 adds to KS X 1001 whose first byte is below 0xa1 (``똠``: 0x8c 0x63) in
    a ``name``'s CP949 reading, but those whose second byte is an ASCII letter right after an ASCII
    letter or digit: cp1252's punctuation (0x80 to 0x9f) between two letters reads so (``don’t``
    reads ``don뭪``, ``a–b`` ``a뻖``). A mark before a word (``“S1”``) still reads as one that counts
    for neither: its bytes are those of a Korean name's (:func:`_reads_as_korean`)."""
    for match in _AFTER_LATIN.finditer(name):
        first, second = match.group(2).encode(KOREAN_LEGACY)
        if first < 0xA1 and (second >= 0x81 or not match.group(1)):
            yield match.group(2)


def _ks_x_1001(char: str) -> bool:
    """Whether ``char`` is a Hangul syllable of KS X 1001: CP949 writes its 2,350 in two bytes from
    0xa1 (0xb0 to 0xc8, then the second), those it adds with a byte below."""
    if not "\uac00" <= char <= "\ud7a3":
        return False
    first, second = char.encode(KOREAN_LEGACY)
    return min(first, second) >= 0xA1


def _korean_share(counts: Counter[str]) -> bool:
    """Whether Hangul syllables of KS X 1001 are at least :data:`KOREAN_SHARE` of the letters of
    category ``Lo`` beyond ASCII that ``counts`` holds, and one at least (:func:`_reads_as_korean`)."""
    letters = hangul = 0
    for char, count in counts.items():
        if char.isascii() or unicodedata.category(char) != "Lo":
            continue
        # CP949 writes KS X 1001's syllables in two bytes from 0xa1 (0xb0 to 0xc8, then the second)
        hangul += count if _ks_x_1001(char) else 0
        letters += count
    return hangul > 0 and hangul >= KOREAN_SHARE * letters


_WIDE_SAMPLE = 4096
"""How many bytes of a manifest without a byte-order mark :func:`_utf16_order` looks at."""


def _utf16_order(sample: bytes) -> str | None:
    """``LE`` or ``BE`` where ``sample`` looks like UTF-16 without a byte-order mark: a NUL byte
    in at least a third of its odd (LE) or even (BE) positions, for ASCII's characters, and in
    almost none of the others. UTF-8 and CP949 text holds no NUL; a UTF-16 file of Korean text
    alone holds few, and is not told by this."""
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    even, odd = sample[0 : 2 * pairs : 2].count(0), sample[1 : 2 * pairs : 2].count(0)
    if odd * 3 >= pairs and even * 20 <= pairs:
        return "LE"
    if even * 3 >= pairs and odd * 20 <= pairs:
        return "BE"
    return None


class LooksWide(ValueError):
    """A manifest without a byte-order mark whose NUL bytes say UTF-16 (its byte order)."""

    def __init__(self, order: str) -> None:
        super().__init__(order)
        self.order = order


class NotKorean(ValueError):
    """A manifest that is not UTF-8, which CP949 decodes but the guess refuses: its first bad
    byte, that byte's offset and why it is not taken for Korean (a msgid, :func:`_not_korean`)."""

    def __init__(self, byte: int, offset: int, why: str) -> None:
        super().__init__(why)
        self.byte, self.offset, self.why = byte, offset, why


def _manifest_text(data: bytes, disc: Discovery) -> str:
    """The manifest's text: UTF-8 (a byte-order mark tolerated); UTF-16 or UTF-32 by its byte-order
    mark; else, where UTF-8 fails, CP949 (Korean Excel's CSV), a guess taken only where the bytes
    look like it (:func:`_reads_as_korean`). Read otherwise than as
    UTF-8, it is a ``MANIFEST_ENCODING`` issue, so the data team knows and saves it as UTF-8.
    Raises :class:`UnicodeDecodeError` (UTF-8's) when none reads it, :class:`NotKorean` when CP949
    reads it but the guess refuses it."""
    codec = next((name for bom, name in WIDE_BOMS if data.startswith(bom)), None)
    if codec is not None:
        text = data.decode(codec)  # the codec reads and drops the mark
        why = msg("the manifest is {encoding} text, not UTF-8 (read as {encoding})", encoding=codec.upper())
    else:
        marks = _utf8_marks(data)
        # every leading UTF-8 mark is dropped: a second one read as UTF-8 text before the header
        # (or made CP949 read as "UTF-8 with a stray byte"); a mark before CP949 read as CP949
        # made the header's first letter part of a hanja ('癤퓋lide_id')
        mark = marks * len(codecs.BOM_UTF8)
        if marks > 1:
            disc.issues.append(
                DiscoveryIssue(
                    "MANIFEST_ENCODING",
                    msg(
                        "the manifest starts with {count:,} UTF-8 byte-order marks (a tool added one to a "
                        "file that had one); all are dropped, save it with one or none",
                        count=marks,
                    ),
                    file=MANIFEST,
                )
            )
        if (order := _utf16_order(data[mark : mark + _WIDE_SAMPLE])) is not None:
            raise LooksWide(order)
        body = data[mark:] if mark else data  # a copy only after a mark
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as exc:
            at = exc.start + mark  # the file's offset, past its marks
            if mark:
                exc = UnicodeDecodeError(exc.encoding, data, at, exc.end + mark, exc.reason)
            try:
                text = body.decode(KOREAN_LEGACY)
            except UnicodeDecodeError:
                raise exc from None
            if (why_not := _not_korean(body, text)) is not None:
                raise NotKorean(data[at], at, why_not) from None
            why = msg(
                "the manifest is not UTF-8 (byte 0x{byte:02x} at offset {offset:,}); read as CP949 "
                "(Korean Windows and Excel, which EUC-KR is part of), a guess: check its Korean text "
                "and save it as UTF-8",
                byte=data[at],
                offset=at,
            )
            if (other := _thin_other_reading(body, text)) is not None:
                line, column, first = _where_beyond_ascii(body, _separator(text))
                why = msg(
                    "the manifest is not UTF-8 (byte 0x{byte:02x} at offset {offset:,}); read as CP949 "
                    "(Korean Windows and Excel, which EUC-KR is part of), a guess: it reads as well as "
                    "{encoding} (Chinese or Japanese) of frequent characters (the first such text: line "
                    "{line:,}, column {column:,}, byte offset {first:,}); check which its text is and "
                    "save it as UTF-8",
                    byte=data[at],
                    offset=at,
                    encoding=other,
                    line=line,
                    column=column,
                    first=first + mark,
                )
    disc.issues.append(DiscoveryIssue("MANIFEST_ENCODING", why, file=MANIFEST))
    return text


def _manifest_items(text: str, disc: Discovery, slides: list[str], annotations: list[str]) -> bool:
    """The manifest's rows as items, read as they are parsed (a million rows are never all held
    as lists of cells). CSV that breaks the syntax (an unclosed quote swallows the rest of the
    file, text after a closing quote) is read again leniently, as before, from the first row, and
    reported with the line where it breaks: the lenient reading may have merged or cut cells.
    Raises :class:`csv.Error` when even the lenient reading fails (a field over the size limit),
    with what this read added undone."""
    _field_limit()
    return _manifest_read(text, disc, slides, annotations)


def _field_limit() -> None:
    """The CSV module's cell limit (131,072 characters by default) at least
    :data:`MAX_MANIFEST_LINE`, as :func:`dqm.output.csv_cell_limit` raises it at import (raised
    again only where something lowered it since, never lowered nor restored): a line of up to that
    many characters is read, so one of its cells may be as long (a cell of 200,000 characters on a
    line made the whole manifest unreadable); a longer cell is a quoted one over several lines."""
    if csv.field_size_limit() < MAX_MANIFEST_LINE:
        csv.field_size_limit(MAX_MANIFEST_LINE)


def _csv_reason(exc: csv.Error) -> object:
    """What a CSV error says, its cell limit in dqm's translated words (the module's own English,
    "field larger than field limit", names no line or cause)."""
    if str(exc).startswith("field larger than field limit"):
        return msg(
            "a cell of more than {limit:,} characters, the most a line may hold (a quote left open joins "
            "the lines after it into one cell)",
            limit=MAX_MANIFEST_LINE,
        )
    return exc


def _manifest_read(text: str, disc: Discovery, slides: list[str], annotations: list[str]) -> bool:
    """:func:`_manifest_items` within the cell limit."""
    delimiter = _delimiter(text, disc)
    mark = (len(disc.items), len(disc.issues), len(disc.manifest_listed), len(disc.manifest_unlisted))
    long: list[tuple[int, int, str]] = []
    try:
        rows = csv.reader(_lines(text, long), strict=True, delimiter=delimiter)
        read = _manifest_rows(rows, disc, slides, annotations)
        _long_lines(disc, long)
        return read
    except csv.Error as exc:
        _undo(disc, mark)
        line = _error_line(text, delimiter)
        disc.issues.append(
            DiscoveryIssue(
                "MANIFEST_UNREADABLE",
                msg(
                    "not valid CSV in the row starting at line {line} ({reason}); "
                    "the rows from there may be merged or cut",
                    line=line,
                    reason=_csv_reason(exc),
                ),
                file=MANIFEST,
                line=line,
            )
        )
        mark = (mark[0], len(disc.issues), mark[2], mark[3])
    long.clear()
    try:
        read = _manifest_rows(csv.reader(_lines(text, long), delimiter=delimiter), disc, slides, annotations)
        _long_lines(disc, long)
        return read
    except csv.Error:
        _undo(disc, mark)
        raise


OTHER_DELIMITERS = {";": N_("semicolons"), "\t": N_("tabs")}
"""Separators a manifest's header may use instead of commas: Excel's CSV where the decimal mark is
a comma (``;``), its "Text (Tab delimited)" (a tab); the msgid names them in the issue."""


def _delimiter(text: str, disc: Discovery) -> str:
    """The manifest's separator: a comma, unless the header row names ``slide_id`` only when cut at
    one of :data:`OTHER_DELIMITERS` (then read with it, a ``MANIFEST_DELIMITER`` issue). Looked at
    only when the header has no ``slide_id`` cell between commas."""
    delimiter = _separator(text)
    if delimiter != ",":
        why = msg(
            "the columns are separated by {_names}, not commas: read so; save it as comma-separated CSV",
            _names=OTHER_DELIMITERS[delimiter],
        )
        disc.issues.append(DiscoveryIssue("MANIFEST_DELIMITER", why, file=MANIFEST, line=1))
    return delimiter


def _separator(text: str) -> str:
    """:func:`_delimiter`'s separator, no issue added."""
    first = _LINE_END.split(text[:MAX_MANIFEST_LINE], maxsplit=1)[0]
    if _names_slide_id(first, ","):
        return ","
    return next((d for d in OTHER_DELIMITERS if _names_slide_id(first, d)), ",")


def _names_slide_id(line: str, delimiter: str) -> bool:
    try:
        return any(c.strip() == "slide_id" for c in next(csv.reader([line], delimiter=delimiter), []))
    except csv.Error:
        return False


def _lines(text: str, long: list[tuple[int, int, str]] | None = None) -> Iterator[str]:
    """The manifest's physical lines for the CSV reader, a line longer than
    :data:`MAX_MANIFEST_LINE` given as an empty one, its number, length and head (to search for
    identifiers) put in ``long``."""
    if len(text) <= MAX_MANIFEST_LINE:  # no line can be too long: the reader takes them as they are
        return io.StringIO(text, newline="")
    return _cut_long(text, [] if long is None else long)


_LINE_END = re.compile(r"\r\n|\r|\n")
"""Where a line ends, as ``io.StringIO(text, newline="")`` splits (the CSV module's reading)."""


def _cut_long(text: str, long: list[tuple[int, int, str]]) -> Iterator[str]:
    """The lines of a large manifest, sliced from ``text`` by their ends: a StringIO holds a copy
    of four bytes a character (a manifest of one 200 MB line peaked at 1.2 GB), and of a line too
    long to read only its head, within :data:`MANIFEST_UNREAD_CHARS` for all such lines, is copied."""
    start = kept = 0
    ends = chain((m.end() for m in _LINE_END.finditer(text)), [len(text)])
    for number, end in enumerate(ends, start=1):
        if end == start:  # the text ends with a line end: no last line after it
            break
        if end - start <= MAX_MANIFEST_LINE:
            yield text[start:end]
        else:
            head = text[start : min(end, start + max(MANIFEST_UNREAD_CHARS - kept, 0))]
            kept += len(head)
            long.append((number, end - start, head))
            yield "\n"
        start = end


def _long_lines(disc: Discovery, long: list[tuple[int, int, str]]) -> None:
    """One issue for each line :func:`_lines` left out, its head kept for the search for
    identifiers (no item holds its cells); the manifest's text is marked not all searched where
    the head is not the whole line."""
    for number, n, head in long:
        _keep_unread(disc, None, head)
        disc.manifest_unread_cut |= len(head) < n
        disc.issues.append(
            DiscoveryIssue(
                "MANIFEST_BAD_ROW",
                msg(
                    "line {line} holds {n:,} characters, more than the {limit:,} read: not read",
                    line=number,
                    n=n,
                    limit=MAX_MANIFEST_LINE,
                ),
                file=MANIFEST,
                line=number,
            )
        )


def _undo(disc: Discovery, mark: tuple[int, int, int, int]) -> None:
    """Forget the items, issues and checksums a manifest reading added after ``mark``."""
    del disc.items[mark[0] :], disc.issues[mark[1] :]
    del disc.manifest_listed[mark[2] :], disc.manifest_unlisted[mark[3] :]
    disc.manifest_unread.clear()
    disc.manifest_unread_cut, disc.manifest_unread_chars = False, 0
    disc.manifest_cells = 0
    disc.manifest_header = ()


MAX_SHARED_VALUES = 4096
"""Distinct values of one clinical column kept as one string each: a million rows of a few
institutions, diagnoses or ages then hold a few strings, not a million copies. A column with more
distinct values (an identifier) is not shared past these."""


def _manifest_rows(
    rows: Iterator[list[str]], disc: Discovery, slides: list[str], annotations: list[str]
) -> bool:
    """:func:`_manifest_items` with one reader of the rows."""
    cells = next(rows, None)
    if cells is None or not "".join(cells).strip():
        disc.issues.append(
            DiscoveryIssue(
                "MANIFEST_UNREADABLE",
                msg("the manifest has no header row; files paired by name instead"),
                file=MANIFEST,
            )
        )
        return False
    width = len(cells)
    if width > MAX_MANIFEST_COLUMNS:
        disc.issues.append(
            DiscoveryIssue(
                "MANIFEST_BAD_ROW",
                msg(
                    "the header has {n:,} columns, more than the {limit:,} read: the columns after "
                    "column {limit} are not read",
                    n=width,
                    limit=MAX_MANIFEST_COLUMNS,
                ),
                file=MANIFEST,
                row=0,
            )
        )
        _keep_unread(disc, 0, ",".join(cells[MAX_MANIFEST_COLUMNS:]))  # names no item holds: searched
    header = [c.strip() for c in cells[:MAX_MANIFEST_COLUMNS]]
    disc.manifest_header = tuple(header)
    first: dict[str, int] = {}
    for i, name in enumerate(header):
        if name and name in first:
            disc.issues.append(
                DiscoveryIssue(
                    "MANIFEST_DUPLICATE_COLUMN",
                    msg(
                        "column {name!r} appears twice (columns {first} and {second}); the first one is used",
                        name=name,
                        first=first[name] + 1,
                        second=i + 1,
                    ),
                    file=MANIFEST,
                    column=name,
                )
            )
            header[i] = ""  # ignored like an unnamed column: the first one holds the value
        first.setdefault(name, i)
    if "slide_id" not in header:
        disc.issues.append(
            DiscoveryIssue(
                "MANIFEST_MISSING_COLUMN",
                msg("no slide_id column; files paired by name instead"),
                file=MANIFEST,
                column="slide_id",
            )
        )
        return False
    for col in PATH_COLUMNS[1:]:
        if col not in header:
            disc.issues.append(
                DiscoveryIssue(
                    "MANIFEST_MISSING_COLUMN",
                    msg("no {column} column: files are looked up by slide_id", column=col),
                    file=MANIFEST,
                    column=col,
                )
            )
    # a file looked up by slide_id when its column is missing
    by_stem_slide = _by_stem(slides) if "image_path" not in header else {}
    by_stem_ann = _by_stem(annotations) if "annotation_path" not in header else {}
    walked = {p: p for files in (slides, annotations) for p in files}  # an item's path: the walk's string
    forms: dict[str, list[str]] = {}  # the walked files by their name in NFC, made at the first need
    path_cols = [c for c in PATH_COLUMNS if c in header]
    named = [(i, h) for i, h in enumerate(header) if h in PATH_COLUMNS or h in MANIFEST_COLUMNS]
    clinical_cols: list[tuple[int, str, dict[str, str]]] = [
        (i, h, {}) for i, h in enumerate(header) if h and (i, h) not in named
    ]
    most = len(slides) + len(annotations) + MANIFEST_ROWS_PAST_FILES
    id_at = header.index("slide_id")
    unnamed = [i for i, h in enumerate(header) if not h]  # blank or repeated: no item holds its cells
    read = 0
    for n, cells in enumerate(rows, start=1):
        if not "".join(cells).strip():
            continue  # blank line
        if read == most:
            _rows_not_read(disc, n, chain((cells,), rows), len(slides) + len(annotations))
            break
        read += 1
        have = len(cells)
        if have > len(header) or unnamed:
            left = [cells[i] for i in unnamed if i < have] + cells[len(header) :]
            _keep_unread(disc, n, ",".join(left))
        if id_at < have and cells[id_at].strip() == "slide_id" and _header_again(cells, disc.manifest_header):
            disc.issues.append(
                DiscoveryIssue(
                    "MANIFEST_BAD_ROW",
                    msg("the header row again (a manifest pasted after another?): not read as a slide"),
                    file=MANIFEST,
                    row=n,
                )
            )
            continue
        if have != width:
            disc.issues.append(
                DiscoveryIssue(
                    "MANIFEST_BAD_ROW",
                    msg("row has {n} cells, the header {header}", n=have, header=width),
                    file=MANIFEST,
                    row=n,
                )
            )
        record = {h: (cells[i] if i < have else None) for i, h in named}
        slide_id = (record.get("slide_id") or "").strip()
        if not slide_id:
            slide_id = f"{MANIFEST}:row{n}"
            disc.issues.append(
                DiscoveryIssue(
                    "MANIFEST_EMPTY_SLIDE_ID",
                    msg("row has no slide_id"),
                    file=MANIFEST,
                    row=n,
                    column="slide_id",
                    item_id=slide_id,
                )
            )
        image = _path_cell(record, "image_path", slide_id, by_stem_slide)
        annotation = _path_cell(record, "annotation_path", slide_id, by_stem_ann)
        image = walked.get(image, image) if image is not None else None
        annotation = walked.get(annotation, annotation) if annotation is not None else None
        if image is not None and image not in walked:
            image = _other_form(image, walked, forms, disc, (n, "image_path", slide_id))
        if annotation is not None and annotation not in walked:
            annotation = _other_form(annotation, walked, forms, disc, (n, "annotation_path", slide_id))
        clinical: dict[str, Any] = {}
        for i, h, shared in clinical_cols:
            value = cells[i] if i < have else None
            if value is not None:
                value = shared.get(value) or _share(shared, value)
            clinical[h] = value
        _row_checksums(disc, record, n, image, annotation)
        item = Item(slide_id, image, annotation, clinical, n, columns=disc.manifest_header)
        _unusable_cells(disc, item)
        disc.items.append(item)
        disc.manifest_cells += len(path_cols)
    return True


def _other_form(
    cell: str,
    walked: dict[str, str],
    forms: dict[str, list[str]],
    disc: Discovery,
    where: tuple[int, str, str],
) -> str:
    """The file a manifest path names in other Unicode code points (NFC / NFD: a manifest written on
    Windows names a file macOS stored decomposed, or the reverse), when it is the only one: read,
    and a ``PATH_UNICODE_FORM`` issue at the row and column. Two or more such files are not chosen
    between (``NAME_FORM_COLLISION`` names them): the path stays as written, missing."""
    norm, outside = normalise(cell)
    if outside or not norm or norm in walked:
        return cell
    key = unicodedata.normalize("NFC", norm)
    found = sorted(p for p in _by_form(walked, forms).get(key, ()) if p != norm)
    if not found:
        return cell
    row, column, slide_id = where
    text = (
        msg(
            "{column} names {named!r}, and the file there is {found!r}: {_differs}; read, but a "
            "program that opens the manifest's path on Linux does not find it: write the name as the file's",
            column=column,
            named=norm,
            found=found[0],
            _differs=OTHER_FORM,
        )
        if len(found) == 1
        else msg(
            "{column} names {named!r}, which is not there, and {n} files are that name in other Unicode "
            "code points (NFC / NFD): none is chosen ({found})",
            column=column,
            named=norm,
            n=len(found),
            found=", ".join(map(repr, found)),
        )
    )
    disc.issues.append(
        DiscoveryIssue("PATH_UNICODE_FORM", text, file=MANIFEST, row=row, column=column, item_id=slide_id)
    )
    return found[0] if len(found) == 1 else cell


def _by_form(walked: Collection[str], forms: dict[str, list[str]]) -> dict[str, list[str]]:
    """The walked files by their name in NFC, into ``forms`` at the first path missing (once a read)."""
    if not forms:
        for p in walked:
            forms.setdefault(_nfc(p), []).append(p)
    return forms


def _header_again(cells: list[str], header: tuple[str, ...]) -> bool:
    """Whether a row repeats the header (its columns as read: the same names, blanks and all)."""
    return len(cells) >= len(header) and all(c.strip() == h for c, h in zip(cells, header, strict=False))


STATED_COLUMNS: dict[str, tuple[str, Callable[[Item], object]]] = {
    "mpp": (N_("a number of µm per pixel from {low} to {high}"), lambda item: item.stated_mpp),
    "mask_downsample": (
        N_("a whole number from 1, in plain digits"),
        lambda item: item.stated_mask_downsample,
    ),
    "mask_left": (
        N_("a whole number of pixels, in plain digits"),
        lambda item: item.stated_mask_count("mask_left"),
    ),
    "mask_top": (
        N_("a whole number of pixels, in plain digits"),
        lambda item: item.stated_mask_count("mask_top"),
    ),
}
"""Manifest columns dqm itself reads for an item: what they hold (a msgid, filled from
:data:`_STATED_BOUNDS`), and the :class:`Item` value read from them (None: not usable)."""
_STATED_BOUNDS = {"low": format(MIN_MPP, ",g"), "high": format(MAX_MPP, ",g")}


def _unusable_cells(disc: Discovery, item: Item) -> None:
    """A ``MANIFEST_BAD_VALUE`` issue for each cell of :data:`STATED_COLUMNS` that holds text dqm
    cannot use: the item is checked without it, and that is said, never skipped in silence (a
    profile that declares the column as clinical reports it there too: the check leaves it out).
    A cell is parsed only when it holds something (most manifests have none of these columns)."""
    for column, (want, stated) in STATED_COLUMNS.items():
        cell = item.record.get(column)
        if cell is None or not str(cell).strip() or stated(item) is not None:
            continue
        disc.issues.append(
            DiscoveryIssue(
                "MANIFEST_BAD_VALUE",
                msg(
                    "{column} is not {_want}: not used",
                    column=column,
                    _want=want,
                    **_STATED_BOUNDS,
                ),
                file=MANIFEST,
                row=item.row,
                column=column,
                item_id=item.slide_id,
            )
        )


def _rows_not_read(disc: Discovery, first: int, rest: Iterator[list[str]], files: int) -> None:
    """One issue for the rows from ``first`` on, which :data:`MANIFEST_ROWS_PAST_FILES` leaves out."""
    texts: list[str] = []
    kept = left = 0
    for cells in rest:
        if "".join(cells).strip():
            left += 1
            if kept <= MANIFEST_UNREAD_CHARS:  # their text kept for the search for identifiers
                texts.append(",".join(cells))
                kept += len(texts[-1]) + 1
    _keep_unread(disc, first, "\n".join(texts))
    disc.issues.append(
        DiscoveryIssue(
            "MANIFEST_BAD_ROW",
            msg(
                "{n:,} rows from here on are not read: the manifest lists more slides than the batch "
                "holds files ({files:,}) by more than {slack:,}",
                n=left,
                files=files,
                slack=MANIFEST_ROWS_PAST_FILES,
            ),
            file=MANIFEST,
            row=first,
        )
    )


def _share(shared: dict[str, str], value: str) -> str:
    """``value`` in Unicode NFC (:func:`_nfc`), kept in ``shared`` by its text as read while it
    holds fewer than :data:`MAX_SHARED_VALUES`. Every clinical cell is composed here, once: a
    patient id or an institution saved on macOS (NFD) was another patient or site to each check
    that keys on it (the duplicates check's patients and splits, the validity split's patient
    groups), and a patient in train and test went unseen."""
    kept = _nfc(value)
    if len(shared) < MAX_SHARED_VALUES:
        shared[value] = kept
    return kept


def _row_checksums(
    disc: Discovery, record: dict[str, str | None], n: int, image: str | None, annotation: str | None
) -> None:
    """The checksums a manifest row gives its slide (``sha256``) and annotation file
    (``annotation_sha256``), into :attr:`Discovery.manifest_listed`; a blank cell leaves its file
    unlisted, a cell that is not a SHA-256 is ``CHECKSUM_MALFORMED``."""
    for column in MANIFEST_COLUMNS:
        path = image if column == SLIDE_COLUMN else annotation
        if column not in record:
            continue
        cell = (record[column] or "").strip()
        if cell and not is_sha256(cell):  # no other check reads it: searched for identifiers
            _keep_unread(disc, n, cell)
        if path is None:
            continue
        if not cell:
            disc.manifest_unlisted.append(path)
        elif is_sha256(cell):
            where = f"{MANIFEST} row {n}, column {column}"
            disc.manifest_listed.append(
                Listed(path, cell.lower(), where, row=n, column=column, source=MANIFEST)
            )
        else:
            disc.issues.append(
                DiscoveryIssue(
                    "CHECKSUM_MALFORMED",
                    msg("not a SHA-256 (64 hexadecimal digits)"),
                    file=MANIFEST,
                    row=n,
                    column=column,
                )
            )


def _error_line(text: str, delimiter: str = ",") -> int:
    """The physical line where the record that breaks strict parsing starts (an unclosed quote
    is only noticed at the end of the file)."""
    reader = csv.reader(_lines(text), strict=True, delimiter=delimiter)
    last_good = 0
    try:
        for _ in reader:
            last_good = reader.line_num
    except csv.Error:
        pass
    return last_good + 1


def _path_cell(
    record: dict[str, str | None], column: str, slide_id: str, by_stem: dict[str, list[str]]
) -> str | None:
    if column in record:
        value = (record[column] or "").strip()
        return value or None
    found = by_stem.get(_nfc(slide_id), [])
    return found[0] if len(found) == 1 else None


def _by_stem(paths: list[str]) -> dict[str, list[str]]:
    """The files by the name they pair by, in NFC: a slide named on macOS (decomposed Hangul) pairs
    with its annotation named on Windows (composed)."""
    out: dict[str, list[str]] = defaultdict(list)
    for p in paths:
        out[_nfc(pair_key(p))].append(p)
    return out


def _nfc(name: str) -> str:
    """``name`` in Unicode NFC (ASCII as it is, without a look)."""
    return name if name.isascii() else unicodedata.normalize("NFC", name)


ORPHAN_TEXTS = {
    "ORPHAN_SLIDE": (
        N_("slide file is not referenced by the manifest"),
        N_("slide file is not referenced by the manifest: row {row} names {listed!r}, not there, {_differs}"),
    ),
    "ORPHAN_ANNOTATION": (
        N_("annotation file is not referenced by the manifest"),
        N_(
            "annotation file is not referenced by the manifest: row {row} names {listed!r}, not there, {_differs}"
        ),
    ),
}
"""An orphan's message: alone, and when a missing path of the manifest is its name written otherwise."""
OTHER_FORM = N_(
    "the same name with its Hangul or accents written in other code points (Unicode NFC / NFD: macOS "
    "writes names decomposed), which look alike and are two names to the file system"
)
OTHER_CASE = N_("the same name in other letter case, which is another name to the file system")


def _name_key(path: str) -> str:
    """What a person reading two names sees as one: one Unicode form, one letter case."""
    return unicodedata.normalize("NFC", path).casefold()


def _orphans(disc: Discovery) -> None:
    referenced: dict[str, int | None] = {}
    for item in disc.items:
        for p in (item.image_path, item.annotation_path):
            if p:
                referenced.setdefault(normalise(p)[0], item.row)  # the first row that names it
    present = {*disc.slide_files, *disc.annotation_files, *disc.other_files}
    # a path the manifest names that is not there, by the name a person reads: a file written with
    # other code points or in other case is the orphan beside it, and the two findings name each other
    missing = {_name_key(p): p for p in referenced if p not in present}
    for files, code in ((disc.slide_files, "ORPHAN_SLIDE"), (disc.annotation_files, "ORPHAN_ANNOTATION")):
        alone, paired = ORPHAN_TEXTS[code]
        for f in files:
            if f in referenced or _is_companion(f, referenced):
                continue
            listed = missing.get(_name_key(f)) if missing else None
            if listed is None:
                text = msg(alone)
            else:
                same_form = unicodedata.normalize("NFC", listed) == unicodedata.normalize("NFC", f)
                differs = OTHER_FORM if same_form else OTHER_CASE
                text = msg(paired, row=referenced[listed], listed=listed, _differs=differs)
            disc.issues.append(DiscoveryIssue(code, text, file=f, item_id=f))


def _is_companion(path: str, referenced: Collection[str]) -> bool:
    """DICOM series: every ``.dcm`` beside a referenced ``.dcm`` belongs to the same slide."""
    if suffix(path) != ".dcm":
        return False
    parent = PurePosixPath(path).parent
    return any(suffix(r) == ".dcm" and PurePosixPath(r).parent == parent for r in referenced)


def _pair_by_stem(disc: Discovery, slides: list[str], annotations: list[str]) -> None:
    slide_by, ann_by = _by_stem(slides), _by_stem(annotations)
    for key in sorted(slide_by.keys() | ann_by.keys()):
        s_list, a_list = slide_by.get(key, []), ann_by.get(key, [])
        for i in range(max(len(s_list), len(a_list))):
            image = s_list[i] if i < len(s_list) else None
            annotation = a_list[i] if i < len(a_list) else None
            named = image or annotation  # the slide's id as its file writes it (NFD on macOS)
            disc.items.append(Item(pair_key(named) if named else key, image, annotation, {}, None))
