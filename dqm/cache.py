"""A per-item result cache: an audit run again checks only the items that changed or are left.

Each entry is one :class:`~dqm.model.ItemRecord` in its plain-data form (what the outputs are built
from, nothing more), stored under a key made of:

* the item as discovered (slide id, manifest row and clinical record, its file paths);
* each of its files: path, size, modification and change time (ns), inode, and the quick print
  (size, first and last MiB). A label image blanked in place changes none of the quick print's
  bytes, but it changes the times; a file replaced by a copy changes the inode;
* the same of each file OpenSlide opens by name besides a slide (a MIRAX slide's folder, a VMS
  key file's images: :func:`dqm.slide_refs.opened_besides`; each once, and past
  :data:`MAX_PRINTED_BESIDES` by its stat alone), or why it is not opened; for a
  DICOM slide (``.dcm``, or its magic at byte 128), the SHA-256 of the name and stat of each
  entry of its folder, and of each entry's series as OpenSlide reads it (which files the slide is
  made of, :func:`dqm.slide_refs.folder_series`);
* the profile's SHA-256, the options that change an item's checks, the dqm version, the digest
  of its code, the versions of the libraries an item's check uses and the record version.

Each entry keeps the day it was last stored or served; entries no run has used for
:data:`KEEP_DAYS` are deleted when a run closes the cache, so a cache re-audits of changing
batches share does not grow for ever (SQLite reuses the freed pages; the file is not shrunk).
The remembered series of crowded DICOM folders (:data:`SERIES_REMEMBERED_PAST`) are bounded
alike: one row a batch, folder and context, a few contexts a folder, deleted with their folder.

A file whose times are whole seconds (a filesystem that keeps no finer ones) and as recent as
:data:`~dqm.file_digests.RACY_NS` could still be written again within the same second, keeping
its size, times and printed ends: its item is checked but not stored (:data:`UNSTORED`), as git
treats a "racily clean" file (a worker's digests of shared files keep to a stricter rule,
:func:`dqm.file_digests.racy`).

With the run's masker (:class:`dqm.identifiers.Masker`, the same key as the outputs), the cache holds
only what the outputs hold: every string of a record is masked before it is stored, and keys
are an HMAC under the masking key (a plain hash of an item's names could be reversed by trying
them). A record read back gets the item's real names again (slide id, file paths, from this run's
discovery) wherever the masked ones stand, so thumbnails and the review sheet find the files;
other identifiers stay masked, as in every output.

Beside the records, the cache keeps what the clinical table's expectations found, keyed by the
table's cells, where its rows came from, the user's GX suite and the versions of GX and pandas: a
run whose table did not change takes it from there and never imports great_expectations (seconds
of a run that takes every item from the cache). It is kept only when it holds nothing the masker
would change and only plain values; the values of identifying fields are not kept (no output
shows them).

The cache is a SQLite database in WAL mode, opened and written only by the main process: workers
never touch it, so it never sits behind their network filesystem. A worker serialises (and masks)
the entry of the record it made (:func:`entry`), and the main process inserts those bytes. Records are written as items
finish, a few at a time in one short transaction (at least every :data:`COMMIT_EVERY_S` seconds),
so an audit killed halfway loses at most the last moments of work, and two runs sharing a cache
folder (two CI jobs) each wait only while the other's few inserts are written. An entry that cannot be read back is ignored with a warning (the item
is checked again and its entry replaced); a database that cannot be opened, or is a symbolic link
or no regular file (a FIFO), or holds a trigger or a view (dqm makes neither), leaves the run
uncached, with a warning.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import json
import os
import sqlite3
import stat
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from dqm import __version__
from dqm.batch import jailed, normalise
from dqm.clinical_table import IDENTIFYING, MAX_SUITE_BYTES, RowSource, TableFailure
from dqm.file_digests import RACY_NS
from dqm.findings import clip
from dqm.i18n import Message, msg
from dqm.model import RECORD_VERSION, UNSETTLED, Item, ItemRecord, unread_digest
from dqm.output import read_bounded
from dqm.readers.items import readers_key
from dqm.slide_io import stat_and_print
from dqm.slide_refs import (
    MAX_PARTS,
    OUTSIDE,
    SERIES_UNREAD,
    UNKNOWN_SERIES,
    _maybe_link,
    folder_series,
    may_be_dicom,
    opened_besides,
    parts_of,
    refused_beside,
    refused_file,
)
from dqm.strictjson import loads as strict_loads

if TYPE_CHECKING:
    import pandas as pd

    from dqm.identifiers import Masker

DB_NAME = "records.sqlite"
COMMIT_EVERY_S = 0.5
"""Longest time between two commits while records come in."""
PENDING_BYTES = 64 << 20
"""Entries kept in memory past which they are written at once."""
BUSY_TIMEOUT_S = 30.0
"""How long a write waits while another run sharing the cache folder writes its own."""
UNSTORED = "0" * 64
"""The key of an item whose record is not stored nor looked up (:func:`_racy`)."""
KEEP_DAYS = 30
"""Days an entry is kept unused (not served nor stored) before a run deletes it."""
PRUNE_AT_LEAST = 10_000
"""Unused entries a run may delete (plus two for each it stores): deleting is about 150 µs an
entry, so a cache left a month and then closed does not take minutes at once."""
PRUNE_STEP = 1_000
"""Entries one pruning statement deletes: a short transaction, so a run sharing the cache waits for one."""
LOOKUP_CHUNK = 500
"""Keys read in one query (SQLite allows at least 999 parameters)."""
ITEM_OPTIONS = ("slides", "hash_files", "full_hashes", "slide_budget_s", "label_thumbnails")
"""The run options that change what an item's check finds (not workers, executors or the batch checks)."""


class CacheWarning(UserWarning):
    """A cache entry or database that could not be used; the run goes on without it."""


def _warn(message: str) -> None:
    warnings.warn(message, CacheWarning, stacklevel=3)


def file_key(root: Path, rel: str | None, listed: frozenset[str] | set[str] = frozenset()) -> list[Any]:
    """What identifies one of an item's files: path, size, times, inode and quick print.
    ``listed``: batch paths discovery's walk found as regular files inside the batch (not jailed
    again)."""
    if rel is None:
        return [None]
    norm, outside = normalise(rel)
    if outside or not norm:
        return [rel, "outside"]
    if norm in listed:
        path: Path | str = os.path.join(root, norm)
    else:
        jail, why = jailed(root, norm)
        if jail is None:
            return [norm, why]
        path = jail
    try:
        return [norm, *stat_and_print(path)]
    except OSError as exc:  # unreadable: key on the reason, the check reports it
        return [norm, type(exc).__name__, str(exc)]


MAX_PRINTED_BESIDES = MAX_PARTS
"""Files besides a slide (:func:`_besides`) whose ends are read into its key; the others are keyed
by their stat alone (:data:`dqm.slide_refs.MAX_PARTS`: the record prints, and hashes whole, as
many)."""
UNPRINTED = "stat only"
"""The print of a file besides a slide past :data:`MAX_PRINTED_BESIDES` (its stat is keyed)."""


def _besides(root: Path, slide: list[Any]) -> list[list[Any]]:
    """:func:`file_key` of each file OpenSlide opens besides the slide ``slide`` describes (a
    MIRAX slide's folder, a VMS key file's images: :func:`dqm.slide_refs.opened_besides`), or the
    reason it is not opened. A data file of a MIRAX slide rewritten kept the record of the slide's
    old pixels, its ``.mrxs`` being the same. Past :data:`MAX_PRINTED_BESIDES` files read, the
    others are keyed by their stat (size, times, inode) with :data:`UNPRINTED` for their print,
    and the key says how many there were; the item stays cacheable (:func:`_racy` holds for them
    as for any file)."""
    if len(slide) != 6 or not isinstance(slide[1], int):
        return []  # not a file read
    out: list[list[Any]] = []
    real_root, printed, unprinted = os.path.realpath(root), 0, 0
    for target, why in opened_besides(os.path.join(root, slide[0]), slide[1], root):
        rel = os.path.relpath(target, real_root)
        if why is not None:
            out.append([rel, str(why)])
            continue
        try:
            if printed < MAX_PRINTED_BESIDES:
                out.append([rel, *stat_and_print(target)])
                printed += 1
            else:
                st = os.stat(target)
                out.append([rel, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, UNPRINTED])
                unprinted += 1
        except (OSError, ValueError) as exc:  # nothing there, not readable: OpenSlide's error says so
            out.append([rel, type(exc).__name__])
    if unprinted:
        out.append([CROWDED, unprinted])
    return out


CROWDED = "too many files besides the slide to read: keyed by their stat"
"""The last entry of :func:`_besides` past :data:`MAX_PRINTED_BESIDES` (with how many more)."""

SERIES_REMEMBERED_PAST = MAX_PARTS
"""A DICOM folder whose every series has more files than this (:func:`_smallest_series`; a
folder of fewer entries is not looked up), or, in a run of the whole batch, every series one of
the batch's items' slides there is of (a stray series no item is a slide of is no record's
parts; its files' headers alone are read again each run, at most this many: :func:`_strays`), has
its series (:func:`_series_digest`: every entry's header) remembered by the cache under the stats
of all its entries (:func:`_listing`) and those slides' names, and read again only when one of
them changes (:meth:`RecordCache._read_folder`): one row a batch, folder and context
(:data:`SERIES_TABLE`, at most :data:`SERIES_CONTEXTS` contexts a folder and
:data:`SERIES_BATCHES` batches), deleted by a run that keyed the whole batch where the folder is
gone or no longer crowded, or after :data:`KEEP_DAYS` unused. A run with full hashes (``--certify``) reads every header, takes none remembered and
stores none: a file rewritten to join the series with its stat kept is what it catches. Past
:data:`~dqm.slide_refs.MAX_PARTS` a file is known by its stat alone already (neither printed nor
hashed: :func:`dqm.runner.crowded_message`). A folder of 1,050 files read 1,050 headers at every
warm run (``benchmarks/bench_crowded_series.py``). Within it every header is read each run: a file
rewritten to join a series with its size, times and inode kept (a file system whose change time
does not move) is caught there, and so is a file that starts failing (EIO) with its stat unchanged,
which past it is not (a record without ``SLIDE_PART_UNREADABLE`` served until a stat moves). A folder
where a header could not be read is not remembered, nor one of an entry whose stat may not move
when it is rewritten (:func:`_racy`); nor one where a slide of a small series is keyed without its
batch (:meth:`RecordCache.key` alone: the batch's slides are not known)."""
SERIES_ROW = "dicom series:"
"""The start of the ``tables`` rows' keys that remembered a crowded DICOM folder's series before
session 26 (both of their key formats): never read now, deleted by a run that writes the cache
(:meth:`RecordCache.close`)."""
SERIES_CONTEXTS = 4
"""Run contexts (:func:`context_key`: profile, options, code) a crowded DICOM folder's series are
remembered under at once, the least recently used dropped past them: two profiles, or runs with
and without ``--hash-files``, alternating on one cache each kept their own row (one row a folder
had each delete the other's, every header read at every run)."""
SERIES_BATCHES = 16
"""Batches (by real path) whose crowded DICOM folders' series a cache remembers at once, the least
recently used batch's rows deleted past them: a delivery in a new folder each run added one batch
of rows a run, kept for :data:`KEEP_DAYS` (``benchmarks/bench_series_rows.py --scene deliveries``).
A batch's own rows are bounded by its crowded folders and :data:`SERIES_CONTEXTS`."""
EVERY_SERIES = "every series"
"""The state part of a remembered folder whose every series passes the bound (any slide of it may
be keyed from it, one of :meth:`RecordCache.key` alone too); else the names of the batch's slides
in it (:func:`_smallest_series`)."""
SERIES_TABLE = (
    "CREATE TABLE IF NOT EXISTS series (batch TEXT, folder TEXT, context TEXT, state TEXT NOT NULL, "
    "series TEXT NOT NULL, used INTEGER NOT NULL, PRIMARY KEY (batch, folder, context))"
)
"""The remembered series of crowded DICOM folders: one row a batch (its real path), folder (batch
path) and context (each an HMAC under the masking key, or a SHA-256), with the state it was read in
(:meth:`RecordCache._series_state`) and when a run last used it (ns since 1970)."""


def _listing(folder: str, root: Path) -> tuple[str, int, bool]:
    """SHA-256 of each entry of ``folder`` by name: its size, modification and change time and
    inode (links followed), or the error of its stat; or the error of the listing. A link out of
    the batch folder ``root`` by its name alone, never followed (the take refuses the slide for it:
    :data:`~dqm.slide_refs.OUTSIDE`): its stat was of a file outside the batch) and whether the
    take's rule refuses the slide for it (:func:`~dqm.slide_refs.refused_beside`: a link to a
    folder is not, to a file or to nothing is): keyed by its name alone, a target made a folder or a
    file between two runs served the first run's refusal, or its finding of none. With it, how many
    entries were listed and whether one of them may change without its stat changing (:func:`_racy`:
    its times whole seconds and recent)."""
    entries: list[Any] = []
    racy, now = False, time.time_ns()
    real_root = os.path.realpath(root)
    try:
        with os.scandir(folder) as found:
            for entry in sorted(found, key=lambda e: e.name):
                if _maybe_link(entry) and refused_file(Path(entry.path), root) == OUTSIDE:
                    entries.append([entry.name, "outside", refused_beside(entry.path, real_root) is not None])
                    continue
                try:
                    st = os.stat(entry.path)
                    entries.append([entry.name, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino])
                    racy = racy or _racy([*entries[-1], None], now)
                except OSError as exc:  # a link to nothing, a loop: OpenSlide fails on it alike
                    entries.append([entry.name, type(exc).__name__])
    except OSError as exc:
        entries.append(type(exc).__name__)
    return hashlib.sha256(json.dumps(entries).encode()).hexdigest(), len(entries), racy


def _today() -> int:
    """Days since 1970 (UTC): when an entry was last used."""
    return int(time.time() // 86_400)


def _series_digest(
    folder: str, root: Path, slides: frozenset[str] | None = None
) -> tuple[str, dict[str, str], int, int, str | None]:
    """SHA-256 of each entry of the DICOM folder ``folder`` by name with its series as OpenSlide
    reads it (:func:`dqm.slide_refs.folder_series`): which files a slide of it is made of. The
    listing's stats (:func:`_listing`) missed a file of another series rewritten to join a
    slide's with its size, times and inode kept (a file system without change times of its own),
    and the record of the slide without it was served. With it, the entries that could not be
    read (:data:`~dqm.slide_refs.SERIES_UNREAD`) by batch path with the system's words, as the take
    names them (:attr:`dqm.slide_io.SlideProbe.parts_unread`), in the digest too: a record is stored
    only where its probe saw those (:meth:`RecordCache.as_keyed`), and served only where the key
    sees them again, the same files for the same reason. With it, how many files the smallest
    series has, and the smallest of those of ``slides`` (:func:`_smallest_series`; 0 without), and
    its small series' files (:func:`_strays`)."""
    unread: dict[str, str] = {}
    series = folder_series(folder, root, unread)
    seen = [series, sorted(unread.items())]
    digest = hashlib.sha256(json.dumps(seen).encode("utf-8", "surrogatepass")).hexdigest()
    mine = 0 if slides is None else _smallest_series(series, slides)
    return digest, unread, _smallest_series(series), mine, _strays(series)


def _strays(series: list[tuple[str, str | None]]) -> str | None:
    """The files of a DICOM folder that no large series holds (:func:`dqm.slide_refs.folder_series`):
    those of its small series (each of at most :data:`SERIES_REMEMBERED_PAST` files, with those in
    doubt, as :func:`_smallest_series` counts them), those OpenSlide skips (no DICOM, another class,
    no series UID: None) and those in doubt (:data:`~dqm.slide_refs.UNKNOWN_SERIES`), as remembered
    with a folder (:meth:`RecordCache._read_folder`): the SHA-256 of their names and series
    (:func:`_strays_digest`) and their places in the folder's name order (no name is kept: a
    batch's names may be identifiers), re-read at each run that takes the folder as remembered
    (:meth:`RecordCache._strays_kept`): a stray, a file of no series or one in doubt rewritten to
    join a slide's series (or one in doubt to leave it) with its stat kept is seen. Only the
    header's first bytes of a file that is no DICOM are read (its magic at byte 128). Links out of
    the batch are never read (their names are in the listing), unread files keep a folder from
    being remembered. None where they are more than the bound (the folder is not remembered:
    every header read each run, as before session 26)."""
    counts = Counter(s for _, s in series if s is not None and s not in (OUTSIDE, SERIES_UNREAD))
    doubt = counts.pop(UNKNOWN_SERIES, 0)
    small = [
        i
        for i, (_, s) in enumerate(series)
        if s is None or s == UNKNOWN_SERIES or (s in counts and counts[s] + doubt <= SERIES_REMEMBERED_PAST)
    ]
    if len(small) > SERIES_REMEMBERED_PAST:
        return None
    return _strays_digest([series[i] for i in small]) + " " + ",".join(map(str, small))


def _strays_digest(strays: list[tuple[str, str | None]]) -> str:
    """SHA-256 of the small series' files by name with their series (:func:`_strays`)."""
    return hashlib.sha256(json.dumps(strays).encode("utf-8", "surrogatepass")).hexdigest()


def _smallest_series(series: list[tuple[str, str | None]], slides: frozenset[str] | None = None) -> int:
    """How many of a folder's entries (:func:`dqm.slide_refs.folder_series`) the smallest slide
    there is made of: those of one series, with those whose series is in doubt
    (:data:`~dqm.slide_refs.UNKNOWN_SERIES`, taken into any slide's, as
    :func:`~dqm.slide_refs.parts_of` takes them). Files OpenSlide skips, links out of the batch
    and unread files are no slide's. The smallest, not the largest: a slide of a small series
    beside a large one is read whole each run, as a series within the bound is (a file of the
    large one rewritten to join it with its stat kept is seen). With ``slides`` (the names of the
    folder's entries that are the batch's items' slides), the smallest of their series alone: a
    stray series no item is a slide of is no record's parts (0 where one of them is no series',
    or in doubt)."""
    counts = Counter(s for _, s in series if s is not None and s not in (OUTSIDE, SERIES_UNREAD))
    doubt = counts.pop(UNKNOWN_SERIES, 0)
    if slides is None:
        return min(counts.values(), default=0) + doubt
    of = {name: s for name, s in series if s is not None}
    return min((counts[of[n]] + doubt if of.get(n, "") in counts else 0 for n in slides), default=0)


def _full_hashes(context: str) -> bool:
    """Whether the run of :func:`context_key` ``context`` hashes whole files (``--certify``,
    ``--full-hashes``); False for a context of another form."""
    try:
        return json.loads(context)["options"]["full_hashes"] is True
    except (ValueError, TypeError, KeyError):
        return False


def _racy(key: list[Any], now: int) -> bool:
    """Whether the file :func:`file_key` described may change without changing its key: its times
    (ns) are whole seconds and not older than :data:`~dqm.file_digests.RACY_NS` (or ahead of this
    clock). Finer times are trusted whatever they are, ahead of the clock too (a batch copied
    with its times kept from a machine whose clock runs fast): the key holds a print of the
    file's ends besides the stat, and is made once a run (:func:`dqm.file_digests.racy`, a
    worker's stricter rule for digests it keeps, is not this one)."""
    if len(key) != 6 or not isinstance(key[2], int) or not isinstance(key[3], int):
        return False  # not a file read: keyed on why
    times = key[2], key[3]
    return all(t % 10**9 == 0 for t in times) and now - max(times) < RACY_NS


CODE_PACKAGES = ("dqm", "validators")
"""The packages whose code makes an item's record: readers, probe, checks."""


@functools.cache
def code_digest() -> str:
    """SHA-256 of the Python source of :data:`CODE_PACKAGES` as installed: a cached record is
    reused only by the code that made it. dqm's version does not tell two builds of one version
    apart (a development checkout, a patched install), and a check changed between them would
    have its old findings taken from the cache (4 ms on this machine, once a process)."""
    roots = []
    for name in CODE_PACKAGES:
        spec = importlib.util.find_spec(name)
        roots += [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
    return source_digest(roots)


def source_digest(roots: Sequence[Path]) -> str:
    """SHA-256 of every ``.py`` file under ``roots``: each file's path below its root and bytes."""
    digest = hashlib.sha256()
    for root in roots:
        digest.update(root.name.encode() + b"\0")
        for path in sorted(root.rglob("*.py")):
            body = path.read_bytes()
            digest.update(f"{path.relative_to(root).as_posix()}\0{len(body)}\0".encode() + body)
    return digest.hexdigest()


ITEM_LIBRARIES = (
    "numpy",
    "pillow",
    "scipy",
    "shapely",
    "openslide-python",
    "openslide-bin",
    "tifffile",
    "imagecodecs",
    "pydantic",
    "pydantic-core",
    "orjson",
    "msgspec",
    "defusedxml",
    "google-re2",
)
"""The installed packages an item's check reads or measures with (slide decoders, parsers,
geometry, the identifier patterns' engine)."""


@functools.cache
def library_versions() -> dict[str, str | None]:
    """The version of each of :data:`ITEM_LIBRARIES` (None: not installed; :data:`UNREADABLE`:
    its metadata cannot be read), once a process (45 ms under load here). A record is reused
    only under the libraries that made it: an upgraded OpenSlide or Pillow that opens a slide the
    old one could not would otherwise have the old ``SLIDE_UNOPENABLE`` taken from the cache.
    OpenSlide's C library is keyed by the version it reports itself (:data:`OPENSLIDE_LIBRARY`):
    a system's library (Debian's ``libopenslide``, no ``openslide-bin`` wheel) has no package
    version here, and its upgrade kept every record."""
    return {name: _version(name) for name in ITEM_LIBRARIES} | {OPENSLIDE_LIBRARY: _openslide_library()}


OPENSLIDE_LIBRARY = "libopenslide"
"""The key of the OpenSlide C library's own version among :func:`library_versions`."""


def _openslide_library() -> str | None:
    """The version the OpenSlide C library that ``openslide`` loads reports
    (``openslide.__library_version__``: the wheel's or the system's); None when it cannot be
    loaded (slides then fail alike), :data:`UNREADABLE` when it reports none. Imports
    ``openslide`` in this process (27 ms once, here)."""
    try:
        import openslide
    except Exception:  # not installed, no library found (ModuleNotFoundError, OSError)
        return None
    version = getattr(openslide, "__library_version__", None)
    return version if isinstance(version, str) else UNREADABLE


def context_key(profile_sha256: str, options: Any) -> str:
    """The part of every key shared by the run: profile, item options, dqm and record versions,
    the digest of dqm's code (:func:`code_digest`) and the libraries' versions
    (:func:`library_versions`)."""
    return json.dumps(
        {
            "profile": profile_sha256,
            "options": {name: getattr(options, name) for name in ITEM_OPTIONS},
            "dqm": __version__,
            "code": code_digest(),
            "libraries": library_versions(),
            "record": RECORD_VERSION,
        },
        sort_keys=True,
    )


MAX_MASKED_CHARS = 1_000_000
"""A record holding a longer string (a class name of megabytes) is not cached: masking costs about
a microsecond a character, and the outputs hold such a string cut short anyway."""


class _TooLong(Exception):
    pass


_NOT_PLAIN = object()


def _plain(value: Any) -> Any:
    """``value`` when JSON gives it back as it is shown (None, a bool, int, float or str; a numpy
    float as the float it equals), else :data:`_NOT_PLAIN`."""
    if value is None or type(value) in (bool, int, str):
        return value
    if isinstance(value, float):
        return float(value)
    return _NOT_PLAIN


def _description(stored: Any) -> str:
    """A failure's description as :meth:`RecordCache.store_table` kept it: text, or a message."""
    if isinstance(stored, list):
        template, params = stored
        return Message(str(template), dict(params))
    return str(stored)


UNREADABLE = "unreadable"
"""The version of a package whose metadata cannot be read (not UTF-8, a broken folder)."""


def _version(package: str) -> str | None:
    """The installed version of ``package``; None: not installed; :data:`UNREADABLE`: its metadata
    cannot be read (importlib raised UnicodeDecodeError on a METADATA not UTF-8, which ended the
    run). Such a package keys records under that marker."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None
    except Exception:  # whatever a damaged installation makes importlib raise
        return UNREADABLE


_NUMBERS = frozenset({int, float, bool, type(None)})
"""The types of a record's values that hold no text."""


def _masked(value: Any, mask: Masker) -> Any:
    """``value`` (plain JSON data) with every string in it, keys included, masked, each distinct
    string once (a record of many lesions repeats its keys and classes thousands of times, more
    texts than the masker keeps). A ring's vertices (``{"shape": ..., "f8": base64}`` in a lesion's
    ``polygons``) are numbers, not text: they are kept as they are, not scanned (a match inside
    their base64 would have corrupted them), however long (an outline of 47,000 vertices or more made
    a record that was never cached, and was checked again on every run). Raises :class:`_TooLong`
    for a text over :data:`MAX_MASKED_CHARS`."""
    seen: dict[str, str] = {}

    def text(value: str) -> str:
        if (masked := seen.get(value)) is None:
            if len(value) > MAX_MASKED_CHARS:
                raise _TooLong
            masked = seen[value] = mask(value)
        return masked

    def walk(value: Any) -> Any:
        kind = type(value)  # the exact types first: millions of values in a record of many lesions
        if kind is str:
            return masked if (masked := seen.get(value)) is not None else text(value)
        if kind is dict:
            return {walk(k): walk(v) for k, v in value.items()}
        if kind in _NUMBERS:
            return value
        if isinstance(value, str):
            return text(value)
        if isinstance(value, list | tuple):  # a record's path pairs are tuples
            return [walk(v) for v in value]
        if isinstance(value, dict):
            return {walk(k): walk(v) for k, v in value.items()}
        return value

    def lesion(value: Any) -> Any:
        if not isinstance(value, dict):
            return walk(value)
        return {walk(k): rings(v) if k == "polygons" else walk(v) for k, v in value.items()}

    def rings(polygons: Any) -> Any:
        if not isinstance(polygons, list) or not all(isinstance(poly, list) for poly in polygons):
            return walk(polygons)
        return [[ring(r) for r in poly] for poly in polygons]

    def ring(value: Any) -> Any:
        if not (isinstance(value, dict) and value.keys() == {"shape", "f8"} and isinstance(value["f8"], str)):
            return walk(value)
        return {walk("shape"): walk(value["shape"]), walk("f8"): value["f8"]}

    if not isinstance(value, dict):
        return walk(value)
    out = {}
    for key, member in value.items():
        annotation = member if key == "annotation" and isinstance(member, dict) else None
        if annotation is None or not isinstance(annotation.get("lesions"), list):
            out[walk(key)] = walk(member)
            continue
        out[walk(key)] = {
            walk(k): [lesion(o) for o in v] if k == "lesions" else walk(v) for k, v in annotation.items()
        }
    return out


def _real_names(data: Any, item: Item, mask: Masker, root: Path) -> Any:
    """``data`` with every string that is the masked form of one of ``item``'s names (its slide id,
    its files' paths as written and as normalised, the files OpenSlide opens besides its slide:
    :func:`_parts_now`) replaced by the name itself."""
    names = [item.slide_id, item.image_path, item.annotation_path]
    names += [normalise(p)[0] for p in (item.image_path, item.annotation_path) if p]
    names += _parts_now(data, item, root)
    real = {masked: n for n in names if n and (masked := mask(n)) != n}
    if not real:
        return data

    def restore(value: Any) -> Any:
        if isinstance(value, str):
            return real.get(value, value)
        if isinstance(value, list):
            return [restore(v) for v in value]
        if isinstance(value, dict):
            return {k: restore(v) for k, v in value.items()}
        return value

    return restore(data)


def _parts_now(data: Any, item: Item, root: Path) -> list[str]:
    """The batch paths of the files OpenSlide opens besides ``item``'s slide, listed now
    (:func:`dqm.slide_refs.parts_of`), where the stored record ``data`` names such files (its
    ``parts``) and one of them is not in ``root`` by the name stored: masked, as :func:`entry`
    masks every string (a VMS image ``S1 900101-1234567.jpg`` stored as ``S1 [KOREAN_RRN-…].jpg``).
    The key holds these files (:func:`_besides`, a DICOM folder's listing), so the listing now is
    the one the record was made of. Their names restored, a reader after the audit finds the parts
    the record lists (:func:`dqm.slide_io.recorded_of`): left masked, every slide of a warm cache
    whose parts' names hold an identifier was refused as if a part had joined or left since the
    audit. None listed where every stored name is there (no identifier masked: a stat a part)."""
    stored = data.get("parts") if isinstance(data, dict) else None
    if not stored or not item.image_path or not isinstance(stored, list):
        return []
    names = [p[0] for p in stored if isinstance(p, list) and p and isinstance(p[0], str)]
    if all(os.path.lexists(os.path.join(root, name)) for name in names):
        return []
    norm, outside = normalise(item.image_path)
    return [] if outside or not norm else parts_of(root, norm)


def entry(record: ItemRecord, mask: Masker | None) -> bytes | None:
    """``record`` as the cache stores it: its plain data as JSON (UTF-8). A manifest row is left
    out (it holds identifiers such as the patient id, which no output holds): the key covers the
    row, and :meth:`RecordCache.lookup` puts the row read this run back. With a masker every string
    is masked, as an output would hold it (numbers untouched). None for a record holding a string
    over :data:`MAX_MASKED_CHARS` (checked again next time rather than masked at length).

    The item's work calls this (a worker, which then sends these bytes instead of the whole
    record); only the main process writes them (:meth:`RecordCache.store_entry`).

    Raises
    ------
    TypeError, ValueError
        When the record holds what JSON cannot write.
    """
    plain = record.to_dict()
    if record.record_source == "manifest":
        plain["clinical_record"] = {}
    if mask is not None:
        try:
            plain = _masked(plain, mask)
        except _TooLong:
            return None
    return json.dumps(plain, separators=(",", ":"), allow_nan=True).encode()  # ASCII: JSON escapes the rest


ROW_OVERHEAD = 1024
"""Bytes of a cache row besides its record (its key, its day, SQLite's header), with room to spare."""

KEY_THREADS = 8
"""Threads computing the keys of a run's items (:meth:`RecordCache.keys`)."""
KEY_CHUNK = 256
"""Items one thread keys at a time."""
DIGEST_BYTES = 32


class Keys(Sequence[str]):
    """Items' cache keys (hex SHA-256 or HMAC digests) held as :data:`DIGEST_BYTES` bytes each in
    one buffer; item ``k``'s key is ``keys[k]``."""

    def __init__(self, digests: bytes) -> None:
        self._digests = digests

    def __len__(self) -> int:
        return len(self._digests) // DIGEST_BYTES

    def __getitem__(self, k: Any) -> Any:
        if isinstance(k, slice):
            return [self[i] for i in range(len(self))[k]]
        i = range(len(self))[k]  # IndexError past the end, as a list's
        return self._digests[i * DIGEST_BYTES : (i + 1) * DIGEST_BYTES].hex()


@dataclass(frozen=True, slots=True)
class _Folder:
    """What :meth:`RecordCache._dicom_folder` keeps of a DICOM folder, once a run: its key parts,
    its unreadable entries (batch path: the system's words), those sorted and their
    :func:`~dqm.model.unread_digest`, computed once for all the folder's slides (each slide's key
    built and kept its own sorted copy: 4,000 slides beside 4,000 such files, 21.7 s and 1.1 GB)."""

    described: list[Any]
    unread: dict[str, str]
    ordered: tuple[tuple[str, str], ...]
    digest: str


_NO_FOLDER = _Folder([], {}, (), unread_digest(()))


_READ_ONLY_CODES = frozenset(
    {sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
)
"""SQLite's primary result codes that say a cache cannot be written now (opened read-only, a file
not writable, another run holding the lock past :data:`BUSY_TIMEOUT_S`): it may still be read."""


def _read_only(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` says the cache cannot be written (:data:`_READ_ONLY_CODES`), not that it is
    damaged (``SQLITE_CORRUPT``, ``SQLITE_NOTADB``), failing (``SQLITE_IOERR``) or holds a schema
    dqm never made (``SQLITE_ERROR``: an index or a view under a table's name)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in _READ_ONLY_CODES


_CACHE_FILES = (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", f"{DB_NAME}-journal")
"""The database and the files SQLite opens beside it: ``-journal`` too, though dqm's cache is in WAL
mode, because SQLite looks for a hot rollback journal at each open (a FIFO there hung the open for
ever)."""


def _refuse_unless_files(folder: Path) -> None:
    """Raise OSError unless each of the cache's files in ``folder`` is a regular file or missing:
    a symbolic link followed would have dqm write outside the folder it was given; a FIFO, a
    device or a folder under the name is no database (SQLite said "disk I/O error" of a FIFO,
    which named no cause, and hung for ever on one under ``-journal``)."""
    for name in _CACHE_FILES:
        try:
            mode = os.lstat(folder / name).st_mode
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(mode):
            raise OSError(f"{name} is a symbolic link")
        if not stat.S_ISREG(mode):
            raise OSError(f"{name} is not a regular file")


def _refuse_foreign_schema(db: sqlite3.Connection) -> None:
    """Raise :class:`sqlite3.DatabaseError` where the database holds a trigger or a view: dqm
    makes neither, and a trigger planted in a shared cache would run at each of dqm's writes
    (rewriting the records another run stores, or deleting them), a view under a table's name
    would serve rows dqm never stored."""
    with contextlib.closing(
        db.execute("SELECT type, count(*) FROM sqlite_master WHERE type IN ('trigger', 'view') GROUP BY type")
    ) as rows:
        found = {str(kind): int(n) for kind, n in rows.fetchall()}
    if found:
        said = ", ".join(f"{n} {kind}{'s' if n > 1 else ''}" for kind, n in sorted(found.items()))
        raise sqlite3.DatabaseError(f"it holds {said}, which dqm never makes")


class RecordCache:
    """The item records of earlier runs, keyed by item, files and run context.

    Parameters
    ----------
    folder
        The cache folder (created when missing); the database is ``folder / DB_NAME``.
    root
        The batch folder the items' paths are relative to.
    context
        :func:`context_key` of this run.
    warn
        Called with a message when an entry or the database cannot be used.
    mask
        The run's masker (None: identifiers are not masked, as in the outputs).
    """

    def __init__(
        self,
        folder: Path,
        root: Path,
        context: str,
        warn: Callable[[str], None] = _warn,
        mask: Masker | None = None,
    ) -> None:
        self.root = root
        self.context = context
        self.warn = warn
        self.mask = mask
        self.hits = 0
        self.stored = 0
        self._marked = False
        """Whether this run marked entries used (a write: the cache is writable)."""
        self.missed: list[str] = []
        """Slide ids of the items looked up and not found (or not readable)."""
        self.unconfirmed: list[str] = []
        """Slide ids of the items whose record the full hashes of their files refuted (--certify)."""
        self.crowded: list[str] = []
        """Slide ids of the items whose slide names more than :data:`MAX_PRINTED_BESIDES` files
        besides it (the run names them: :attr:`dqm.runner.Run.crowded`, and the command warns)."""
        self._db: sqlite3.Connection | None = None
        self._day = _today()
        """The day this run's entries are stored and marked used under, and pruned against: taken
        once, so a clock set forward during the run never prunes the entries it stored earlier."""
        self._last_commit = time.monotonic()
        self._pending: list[tuple[str, bytes]] = []
        """Entries not yet written (:meth:`_commit`)."""
        self._pending_bytes = 0
        self._too_big = 0
        """Records over SQLite's length limit, not stored (:meth:`store_entry`)."""
        self._folders: dict[str, _Folder] = {}
        """:meth:`_dicom_folder` of each folder this run keyed (a folder of many DICOM slides is listed once)."""
        self._saw_unread: dict[str, str] = {}
        """The keys taken while a file beside their DICOM slide could not be read, with those files'
        :func:`~dqm.model.unread_digest` (batch path, the system's words; :meth:`as_keyed`)."""
        self._series_known: dict[str, tuple[str, str]] = {}
        """The series of crowded DICOM folders remembered by earlier runs under this run's batch and
        context, by folder (:meth:`_series_folder`): the state they were read in
        (:meth:`_series_state`) and their digest (:data:`SERIES_REMEMBERED_PAST`), read when the
        cache is opened (the keys are taken in threads)."""
        self._series_new: dict[str, tuple[str, str]] = {}
        """Those this run read or took (as :attr:`_series_known`), written when it closes (each
        replacing its folder's earlier one of this context, and marked used)."""
        self._crowded_seen: set[str] = set()
        """The folders (:meth:`_series_folder`) this run listed with more entries than the bound."""
        self._slides: set[str] | None = None
        """The batch paths of the batch's items' slides, where the run keyed its whole batch
        (:meth:`keys` with ``batch``)."""
        self._keyed_batch = False
        """Whether :meth:`keys` with ``batch`` keyed the whole batch (not stopped by an error or an
        interrupt): a remembered folder of this batch not among :attr:`_crowded_seen` is then
        deleted when the run closes (one not reached is not gone)."""
        self._batch = self._digest("batch\n" + os.path.realpath(root))
        self._context_id = self._digest("context\n" + context)
        self._full_hashes = _full_hashes(context)
        """Whether the run hashes whole files (``--certify``): no series is taken as remembered."""
        self._folders_lock = threading.Lock()
        """Held while a folder is looked up and listed (:meth:`keys` keys in threads)."""
        self._refused = False
        """A write failed (a full disk, a lock held past :data:`BUSY_TIMEOUT_S`): no more are tried."""
        try:
            # Owner-only: without a masker the records hold the batch's identifiers as read.
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            _refuse_unless_files(folder)
            # autocommit: a write takes the lock in its own short transaction (:meth:`_commit`)
            db = sqlite3.connect(folder / DB_NAME, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            # a planted schema's triggers and views call no function with side effects
            db.execute("PRAGMA trusted_schema=OFF")
            _refuse_foreign_schema(db)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            # the day before the record: read without walking a long record's overflow pages
            db.execute(
                "CREATE TABLE IF NOT EXISTS records (key TEXT PRIMARY KEY, used INTEGER, record BLOB NOT NULL)"
            )
            if "used" not in [row[1] for row in db.execute("PRAGMA table_info(records)")]:  # an older cache
                try:
                    db.execute(f"ALTER TABLE records ADD COLUMN used INTEGER DEFAULT {_today():d}")
                except sqlite3.OperationalError as exc:  # another run opening it added it first
                    if "duplicate column" not in str(exc):
                        raise
            db.execute("CREATE INDEX IF NOT EXISTS records_used ON records (used)")
            db.execute("CREATE TABLE IF NOT EXISTS tables (key TEXT PRIMARY KEY, outcome BLOB NOT NULL)")
            try:
                db.execute(SERIES_TABLE)
            except sqlite3.OperationalError as exc:  # a cache of session 25 opened read-only: none remembered
                if not _read_only(exc):  # a damaged file, a disk error: said, never taken for read-only
                    raise
                rows = []
            else:
                rows = db.execute(
                    "SELECT folder, state, series FROM series WHERE batch = ? AND context = ?",
                    (self._batch, self._context_id),
                ).fetchall()
            self._db = db
            self._series_known = {folder: (str(state), str(series)) for folder, state, series in rows}
        except (OSError, sqlite3.Error) as exc:
            warn(f"the result cache in {folder} cannot be used ({self._reason(exc)}); every item is checked")

    @property
    def usable(self) -> bool:
        return self._db is not None

    def key(self, item: Item, listed: frozenset[str] | set[str] = frozenset()) -> str:
        """The item's key; computed before the item is checked (its check may change ``item``).
        ``listed``: as :func:`file_key`."""
        files = [file_key(self.root, rel, listed) for rel in (item.annotation_path, item.image_path)]
        besides = _besides(self.root, files[1])
        if besides and besides[-1][0] == CROWDED:
            self.crowded.append(item.slide_id)
        folder = self._dicom_folder(files[1])
        saw = folder.digest
        if folder.unread:  # beside the slide, not the slide: as the take leaves its own file out
            real_root = os.path.realpath(self.root)
            own = os.path.relpath(os.path.realpath(os.path.join(self.root, files[1][0])), real_root)
            if own in folder.unread:  # the slide's own file failing: rare, its own list
                saw = unread_digest([part for part in folder.ordered if part[0] != own])
        files += besides + folder.described
        if any(_racy(f, time.time_ns()) for f in files):
            return UNSTORED
        described = {
            "slide_id": item.slide_id,
            "row": item.row,
            "record": item.record,
            "columns": item.columns,  # the record's column order: its findings name some by position
            "files": files,
            "listed": list(item.listed),  # the files hashed in full (the expected hashes are not needed)
            # a shared file's text is one item's; its readers decide each one's image
            "file_text": [
                item.searches_file_text,
                readers_key(item.file_readers) if item.file_readers else "",
            ],
        }
        key = self._digest(json.dumps(described, sort_keys=True, default=repr) + "\n" + self.context)
        if saw != _NO_FOLDER.digest:
            with self._folders_lock:
                self._saw_unread[key] = saw
        return key

    def as_keyed(self, key: str, unread: str | None) -> bool:
        """Whether a record whose slide probe found the files beside its DICOM slide unreadable
        whose :func:`~dqm.model.unread_digest` is ``unread`` (:attr:`dqm.slide_io.SlideProbe.parts_unread`:
        batch path, the system's words; None: the slide was not probed, or its folder not walked
        for its series, or the slide refused before OpenSlide opened it: no file's error counts,
        the record says nothing of them, a function of the key's files alone) may be stored under
        ``key``: the key saw the same files failing for the same reason (:func:`_series_digest`,
        which keys them). The key is taken before the item is checked, and an EIO may come, pass or
        move to another file in between: a warning of an error passed by the key's time, stored
        under a key of the folder read whole, was every later run's answer (the reverse: a record
        without it served while the file kept failing), and one naming another file, or counting
        others, than the key saw was served while the key's file failed. The probe's facts, not
        ``slide.format``'s finding (``SLIDE_PART_UNREADABLE``, made of them): with that check
        disabled, every such record disagreed with its key and was never stored. Never where it is
        :data:`~dqm.model.UNSETTLED`: the probe's folder listing failed (its None said nothing) or
        its files changed while checked, states that pass."""
        with self._folders_lock:
            saw = self._saw_unread.get(key, _NO_FOLDER.digest)
        return unread != UNSETTLED and (unread is None or unread == saw)

    def _dicom_folder(self, slide: list[Any]) -> _Folder:
        """What OpenSlide reads of a DICOM slide's folder (:func:`dqm.slide_refs.may_be_dicom`: a
        ``.dcm`` name or DICOM's magic at byte 128, a DICOM-TIFF named ``.tif`` too; OpenSlide opens
        every file there to find the rest of the slide's series): the SHA-256 of each entry's name
        and stat (size, modification and change time, inode; following links, as OpenSlide does),
        or why it has none, and the series OpenSlide reads in each file's header
        (:func:`_series_digest`). A level file rewritten or added beside the slide left the record of
        the slide as it was served. The folder is listed and hashed once a run (the keying
        threads wait for the first): its listing in each slide's key made keying quadratic (4,000
        slides of one folder: 18.8 s). With it, the folder's entries that could not be read, by
        batch path with the system's words (:func:`_series_digest`)."""
        if len(slide) != 6:
            return _NO_FOLDER
        path = os.path.join(self.root, slide[0])
        if not may_be_dicom(path):
            return _NO_FOLDER
        folder = os.path.dirname(path)
        with self._folders_lock:
            if (known := self._folders.get(folder)) is None:
                self._folders[folder] = known = self._read_folder(folder)
        return known

    def _read_folder(self, folder: str) -> _Folder:
        """:meth:`_dicom_folder` of ``folder``, listed (and its headers read) now: taken from the
        series an earlier run remembered in the same state, or read, and remembered where that is
        safe (:data:`SERIES_REMEMBERED_PAST`)."""
        listing, entries, racy = _listing(folder, self.root)
        where = self._series_folder(folder) if entries > SERIES_REMEMBERED_PAST else None
        if where is not None:
            self._crowded_seen.add(where)
        # --certify reads every header: a file rewritten to join the series with its stat kept is
        # what it catches; a folder of fewer entries has fewer members
        where = None if self._full_hashes else where
        slides = None if self._slides is None or where is None else self._slides_in(folder)
        states = [] if where is None else [self._series_state(listing, None)]
        if where is not None and slides is not None:
            states.append(self._series_state(listing, slides))
        unread: dict[str, str] = {}
        was = None if where is None else self._series_known.get(where)
        if where is not None and was is not None and was[0] in states and self._strays_kept(folder, was[1]):
            series = was[1].split(" ")[0]
            self._series_new[where] = was  # marked used
        else:
            series, unread, members, mine, strays = _series_digest(folder, self.root, slides)
            # an error may pass, a racy stat may not move: asked again; a small series among many
            # other files is read whole each run, as one within MAX_PARTS is, where it is a slide's,
            # and its files' headers alone where it is none's (each run: :meth:`_strays_kept`)
            if where is not None and not unread and not racy and strays is not None:
                if members > SERIES_REMEMBERED_PAST:
                    self._series_new[where] = (states[0], f"{series} {strays}")
                elif mine > SERIES_REMEMBERED_PAST:
                    self._series_new[where] = (states[1], f"{series} {strays}")
        ordered = tuple(sorted(unread.items()))
        return _Folder(
            [["dicom folder", listing], ["dicom series", series]], unread, ordered, unread_digest(ordered)
        )

    def _strays_kept(self, folder: str, remembered: str) -> bool:
        """Whether the remembered series of ``folder`` (the series' digest, and for a folder with a
        small series no slide is of, :func:`_strays`) still hold: those small series' files are
        read again (their headers alone, at most :data:`SERIES_REMEMBERED_PAST`) and are of the
        same series. The folder's every entry has its name and stat of then (the state matched)."""
        parts = remembered.split(" ")
        if len(parts) == 3 and not parts[2]:  # none: the folder is not listed again
            return parts[1] == _strays_digest([])
        try:
            names = sorted(os.listdir(folder))
            strays = [names[int(i)] for i in parts[2].split(",") if i]
        except (OSError, IndexError, ValueError):
            return False
        return (
            len(parts) == 3
            and _strays_digest(folder_series(folder, self.root, names=frozenset(strays))) == parts[1]
        )

    def _slides_in(self, folder: str) -> frozenset[str]:
        """The names of the entries of the crowded ``folder`` that are the batch's items' slides
        (:attr:`_slides`), looked up by name only for such a folder (none where it cannot be listed)."""
        assert self._slides is not None
        rel = os.path.relpath(folder, self.root)
        head = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        try:
            return frozenset(name for name in os.listdir(folder) if head + name in self._slides)
        except OSError:
            return frozenset()

    def _series_state(self, listing: str, slides: frozenset[str] | None) -> str:
        """The state a crowded DICOM folder's series are remembered in: the stats of all its
        entries (:func:`_listing`), and :data:`EVERY_SERIES` or the names of the batch's slides in
        it (``slides``: :func:`_smallest_series`)."""
        # the states of session 26's rows (their files of no series or in doubt not re-read, nor
        # the strays of the first ones) are not these ones
        said = json.dumps(["others re-read", EVERY_SERIES if slides is None else sorted(slides)])
        return self._digest(f"dicom series\n{listing}\n{said}")

    def _series_folder(self, folder: str) -> str:
        """The id of ``folder`` (its batch path) among its batch's remembered series."""
        return self._digest("dicom folder\n" + os.path.relpath(folder, self.root))

    def keys(
        self, items: Sequence[Item], listed: frozenset[str] | set[str] = frozenset(), batch: bool = False
    ) -> Keys:
        """:meth:`key` of every item, in order. Threads compute them: a key is mostly a stat and
        a read of the file's ends, waiting on the filesystem (a network one above all), which
        threads overlap; the keys are kept as 32 bytes each, not as a million strings. ``batch``:
        ``items`` are the batch's every item (discovery's): a crowded DICOM folder may be
        remembered where every series its items' slides are of passes the bound
        (:func:`_smallest_series`), and the remembered series of a folder of this batch that is
        gone or no longer crowded are deleted when the cache is closed."""
        if batch:  # the items' own strings where already normal: a million slides in one folder each
            slides = set()
            for item in items:
                if (path := item.image_path) and (norm := normalise(path))[0] and not norm[1]:
                    slides.add(path if norm[0] == path else norm[0])
            self._slides = slides

        def chunk(start: int) -> bytes:
            return b"".join(
                bytes.fromhex(self.key(item, listed)) for item in items[start : start + KEY_CHUNK]
            )

        with ThreadPoolExecutor(KEY_THREADS, thread_name_prefix="dqm-cache-keys") as pool:
            keys = Keys(b"".join(pool.map(chunk, range(0, len(items), KEY_CHUNK))))
        self._keyed_batch = batch
        return keys

    def lookup(self, key: str, item: Item) -> ItemRecord | None:
        """The record of ``item`` stored under ``key``; None when there is none or it cannot be read."""
        return self.lookup_all([key], [item])[0]

    def lookup_all(self, keys: Sequence[str], items: Sequence[Item]) -> list[ItemRecord | None]:
        """:meth:`lookup` of each item under its key, read in a few queries (not one per item)."""
        stored: dict[str, bytes | str] = {}
        if self._db is not None:
            today = self._day
            try:
                for start in range(0, len(keys), LOOKUP_CHUNK):
                    chunk = keys[start : start + LOOKUP_CHUNK]
                    marks = ",".join("?" * len(chunk))
                    query = f"SELECT key, record, used FROM records WHERE key IN ({marks})"  # only "?" marks
                    rows = self._db.execute(query, chunk).fetchall()
                    stored.update((key, record) for key, record, _ in rows)
                    if not self._refused and (stale := [key for key, _, used in rows if (used or 0) < today]):
                        self._used(stale, today)
            except sqlite3.Error as exc:
                self.warn(
                    f"the result cache could not be read ({self._reason(exc)}); the items are checked again"
                )
                stored = {}
        out = [self._record(stored.get(key), item) for key, item in zip(keys, items, strict=True)]
        self.missed += [item.slide_id for item, record in zip(items, out, strict=True) if record is None]
        return out

    def _used(self, keys: list[str], today: int) -> None:
        """Mark the entries under ``keys`` as used ``today`` (kept :data:`KEEP_DAYS` more)."""
        assert self._db is not None
        marks = ",".join("?" * len(keys))
        try:
            self._db.execute(f"UPDATE records SET used = ? WHERE key IN ({marks})", [today, *keys])
            self._marked = True
        except sqlite3.Error as exc:  # the records read stand; the next run marks them
            self._refused = True
            self.warn(
                msg(
                    "the result cache could not be updated ({reason}); this run stores no more",
                    reason=self._reason(exc),
                )
            )

    def refuted(self, record: ItemRecord) -> None:
        """Note a record that was looked up but not used: its files' full hashes differ (--certify)."""
        self.hits -= 1
        self.unconfirmed.append(record.summary.slide_id)

    def _record(self, raw: bytes | str | None, item: Item) -> ItemRecord | None:
        if raw is None:
            return None
        try:
            data = strict_loads(raw, nan=True)  # stored with allow_nan (see _entry)
            if self.mask is not None:
                data = _real_names(data, item, self.mask, self.root)
            if data.get("record_source") == "manifest":
                data["clinical_record"] = item.record  # not stored: see store()
            record = ItemRecord.from_dict(data)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            self.warn(self._corrupt(exc))
            return None
        self.hits += 1
        return record

    def _reason(self, exc: Exception) -> str:
        """``exc`` as a warning quotes it, masked: a cache's text is not the batch's, but a planted
        or damaged entry (or a database's own error text: a trigger's RAISE) may hold any. A
        validation error names where and what, never the value it met (pydantic quotes it whole)."""
        if isinstance(exc, ValidationError):
            errors = exc.errors(include_url=False, include_input=False, include_context=False)
            said = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
        else:
            said = str(exc)
        return self.masked(said)

    def masked(self, text: str) -> str:
        """``text`` masked with this cache's masker, as its warnings quote what they met."""
        return self.mask(text) if self.mask is not None else text

    def _corrupt(self, exc: Exception) -> str:
        """The warning for an entry that could not be read back because of ``exc``."""
        return clip(
            f"a corrupt result cache entry was ignored ({type(exc).__name__}: {self._reason(exc)})", 500
        )

    def store(self, key: str, record: ItemRecord) -> None:
        """Keep ``record`` under ``key`` (:func:`entry`, with this cache's masker); committed at
        least every :data:`COMMIT_EVERY_S` seconds. A record that cannot be stored is not (with a
        warning), and one holding a string too long to mask is checked again next time."""
        if self._db is None:
            return
        try:
            data = entry(record, self.mask)
        except (TypeError, ValueError) as exc:
            self.warn(f"a record could not be stored in the result cache ({self._reason(exc)})")
            return
        if data is not None:
            self.store_entry(key, data)

    def store_entry(self, key: str, data: bytes) -> None:
        """Keep ``data``, a record as :func:`entry` serialised it (in the item's work), under ``key``."""
        if self._db is None or self._refused or key == UNSTORED:
            return
        # a row over SQLite's length limit would fail its whole commit, and the cache with it
        if len(data) + ROW_OVERHEAD > self._db.getlimit(sqlite3.SQLITE_LIMIT_LENGTH):
            if not self._too_big:
                self.warn(
                    msg(
                        "a record of {size:,} bytes is over SQLite's limit for one value and is not cached "
                        "(its item is checked again next time)",
                        size=len(data),
                    )
                )
            self._too_big += 1
            return
        self._pending.append((key, data))
        self._pending_bytes += len(data)
        self.stored += 1
        if self._pending_bytes >= PENDING_BYTES or time.monotonic() - self._last_commit >= COMMIT_EVERY_S:
            self._commit()

    def table_key(self, frame: pd.DataFrame, sources: list[RowSource], gx_suite: Path | None) -> str | None:
        """The key of what the expectations found in the clinical table ``frame`` (rows from
        ``sources``): its cells, where they came from, the user's GX suite, the versions of GX and
        pandas, and the run's context. None when the suite cannot be read (it is then reported)."""
        try:
            # bounded as the audit reads it: a suite over the bound (TooLarge) was read whole here
            # first (a 600 MB suite: 772 MB peak), only to be refused after
            suite = (
                None
                if gx_suite is None
                else hashlib.sha256(read_bounded(gx_suite, MAX_SUITE_BYTES)).hexdigest()
            )
        except OSError:  # unreadable, too large: reported by the audit
            return None
        described = {
            "columns": [str(c) for c in frame.columns],
            "rows": frame.to_numpy().tolist(),
            "sources": [[s.item_id, s.file, s.row] for s in sources],
            "suite": suite,
            "versions": [_version("great_expectations"), _version("pandas")],
        }
        return self._digest("table\n" + json.dumps(described, sort_keys=True, default=repr))

    def table_outcome(self, key: str) -> tuple[list[TableFailure], str | None] | None:
        """The failures and error stored under ``key`` (:meth:`store_table`); None when none is."""
        if self._db is None:
            return None
        try:
            row = self._db.execute("SELECT outcome FROM tables WHERE key = ?", (key,)).fetchone()
            if row is None:
                return None
            data = strict_loads(row[0], nan=True)
            failures = [
                TableFailure(code, column, _description(described), tuple(rows), tuple(values), expectation)
                for code, column, described, rows, values, expectation in data["failures"]
            ]
            return failures, data["error"]
        except (sqlite3.Error, ValueError, TypeError, KeyError, RecursionError) as exc:
            self.warn(self._corrupt(exc))
            return None

    def store_table(self, key: str, failures: list[TableFailure], error: str | None) -> None:
        """Keep what the expectations found, unless it holds what the outputs would not: a string
        the masker changes, or a value that is not plain JSON. The values of identifying fields
        are stored as None (no output shows them)."""
        if self._db is None:
            return
        rows = []
        texts: list[Any] = [error or ""]
        for f in failures:
            values = [None] * len(f.values) if f.column in IDENTIFYING else [_plain(v) for v in f.values]
            described: Any = f.description
            if isinstance(described, Message):  # the msgid the clinical checks word their finding from
                described = [described.template, described.params]
                texts += [described[0], *described[1].values()]
            rows.append([f.code, f.column, described, list(f.rows), values, f.expectation])
            texts += [f.code, f.column, f.description, f.expectation, *values]
        texts = [t for t in texts if isinstance(t, str)]
        if any(v is _NOT_PLAIN for r in rows for v in r[4]):
            return
        if self.mask is not None and any(self.mask(t) != t for t in texts):
            return
        try:
            data = json.dumps({"failures": rows, "error": error}, allow_nan=True)
            self._db.execute("INSERT OR REPLACE INTO tables (key, outcome) VALUES (?, ?)", (key, data))
        except (sqlite3.Error, TypeError, ValueError) as exc:
            self.warn(f"a record could not be stored in the result cache ({self._reason(exc)})")

    def _digest(self, text: str) -> str:
        if self.mask is not None:
            return self.mask.digest(text)
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()

    def _commit(self) -> None:
        """Write the entries kept since the last commit in one transaction: SQLite's write lock is
        held while they are inserted, not from one record to the next, so another run writing
        the same database waits milliseconds. Entries that cannot be written are dropped with a
        warning, and the run stores no more: a full disk would fail every commit (those items are
        checked again next time)."""
        assert self._db is not None
        pending, self._pending, self._pending_bytes = self._pending, [], 0
        self._last_commit = time.monotonic()
        if not pending:
            return
        try:
            with self._db:  # commits, or rolls back what an error left
                self._db.execute("BEGIN IMMEDIATE")
                today = self._day
                self._db.executemany(
                    "INSERT OR REPLACE INTO records (key, record, used) VALUES (?, ?, ?)",
                    [(key, data, today) for key, data in pending],
                )
        except sqlite3.Error as exc:
            self.stored -= len(pending)
            self._refused = True
            self.warn(
                msg(
                    "{n} records could not be stored in the result cache ({reason}); this run stores no more",
                    n=len(pending),
                    reason=self._reason(exc),
                )
            )

    def close(self) -> None:
        """Write what is kept, delete entries unused for :data:`KEEP_DAYS` (at most
        :data:`PRUNE_AT_LEAST` and two for each stored) and close the database."""
        if self._db is None:
            return
        try:
            self._commit()
            # a run that keyed its batch prunes its gone folders' rows, whatever else it wrote
            if not self._refused and (self.stored or self._marked or self._series_new or self._keyed_batch):
                with contextlib.suppress(sqlite3.Error):  # not remembered: read again next run
                    self._close_series()
            # only a run that wrote (stored or marked entries used) prunes: a read-only cache
            # cannot delete and would warn every run; in statements of PRUNE_STEP rows, each its
            # own short transaction, so a run sharing the cache waits for one, never for all
            wrote = (self.stored or self._marked) and not self._refused
            left = PRUNE_AT_LEAST + 2 * self.stored if wrote else 0
            while left > 0:
                deleted = self._db.execute(
                    "DELETE FROM records WHERE rowid IN "
                    "(SELECT rowid FROM records WHERE used IS NULL OR used < ? LIMIT ?)",
                    (self._day - KEEP_DAYS, min(left, PRUNE_STEP)),
                ).rowcount
                left = left - deleted if deleted == min(left, PRUNE_STEP) else 0
        except sqlite3.Error as exc:
            self.warn(msg("the result cache could not be pruned ({reason})", reason=self._reason(exc)))
        finally:
            self._db.close()
            self._db = None

    def _close_series(self) -> None:
        """Write the crowded folders' series this run read or took (:attr:`_series_new`), each
        replacing its folder's row of this context and keeping at most :data:`SERIES_CONTEXTS` a
        folder (the least recently used go), and delete: the rows of the format before session 26
        (:data:`SERIES_ROW`), rows no run used for :data:`KEEP_DAYS`, those of batches past the
        :data:`SERIES_BATCHES` most recently used (this run's batch and context kept first, never
        ranked by time: a clock set back since other rows were written left those later, and they
        pushed this run's out), and, where the run keyed its whole batch
        (:attr:`_keyed_batch`), those of its folders gone or no longer crowded (:attr:`_crowded_seen`). Each
        statement its own short transaction (a run sharing the cache waits for one)."""
        assert self._db is not None
        now, db, batch, context = time.time_ns(), self._db, self._batch, self._context_id
        db.executemany(
            "INSERT OR REPLACE INTO series (batch, folder, context, state, series, used) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (batch, where, context, state, series, now)
                for where, (state, series) in self._series_new.items()
            ],
        )
        db.executemany(
            "DELETE FROM series WHERE batch = ? AND folder = ? AND context NOT IN (SELECT context FROM series "
            "WHERE batch = ? AND folder = ? ORDER BY context = ? DESC, used DESC LIMIT ?)",
            [(batch, where, batch, where, context, SERIES_CONTEXTS) for where in self._series_new],
        )
        if self._keyed_batch:
            kept = db.execute("SELECT DISTINCT folder FROM series WHERE batch = ?", (batch,)).fetchall()
            gone = [(batch, where) for (where,) in kept if where not in self._crowded_seen]
            db.executemany("DELETE FROM series WHERE batch = ? AND folder = ?", gone)
        db.execute("DELETE FROM series WHERE used < ?", (now - KEEP_DAYS * 86_400 * 10**9,))
        db.execute(
            "DELETE FROM series WHERE batch NOT IN (SELECT batch FROM series GROUP BY batch "
            "ORDER BY batch = ? DESC, max(used) DESC LIMIT ?)",
            (batch, SERIES_BATCHES),
        )
        db.execute(
            "DELETE FROM tables WHERE key >= ? AND key < ?",
            (SERIES_ROW, SERIES_ROW[:-1] + chr(ord(SERIES_ROW[-1]) + 1)),
        )

    def __enter__(self) -> RecordCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
