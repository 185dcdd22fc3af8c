"""The one place dqm writes files: every output of every command goes through here.

* :func:`write_file` writes one file atomically (a temporary file beside it, flushed to the disk,
  then a rename, then the folder flushed): a reader never sees half a JSON, and an interrupted run
  or a power cut leaves the previous file or the new one, never an empty one.
* :class:`OutputSet` writes the files of one run as a set: each into a staging folder inside the
  destination, then all moved into place together, so a folder is never read with a new
  ``results.json`` beside an old report, whenever the run stops: a commit record, flushed to the
  disk before the first move, names the set; a run killed outright (SIGKILL, the OOM killer, a
  power cut) between two moves leaves it, and the next run *into* the folder (:func:`settle`,
  holding the folder's run lock) finishes the moves before anything else. A command that only
  reads a folder (``dqm report``, ``gate``, ``verify``, ``diff``, ``--results``, ``--baseline``)
  never follows a record: the folder may be anyone's (a results folder received in a tarball is
  the unpacking user's), its record forged to remove or plant files. A ``results.json`` read alone
  is always whole (it takes its name by one rename); a command that reads files of a set together
  (``dqm verify``: results.json and the report) reads them with the commit lock held shared
  (:func:`whole_set`: a set being moved in is waited for) and refuses a folder where a record is
  left (the set may be half moved), never reading a mix. A command that reads its own ``--out``
  finishes the set there first, under the run lock. Files are flushed (``fsync``)
  before they are named and folders after their files move. Leaving the ``with`` block by an
  exception (Ctrl-C, SIGTERM, an error) discards the staging folder and keeps the previous set.
* Text passes through ``mask`` (a :class:`dqm.identifiers.Masker`, or none) before it is written.
* Cells of CSV files go through :func:`spreadsheet_safe`: a spreadsheet must not run a value from
  the batch as a formula.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import glob
import gzip
import hmac
import os
import re
import secrets
import shutil
import signal
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from dqm.i18n import N_, Message, escaped, msg

Mask = Callable[[str], str]

CSV_CELL_LIMIT = 1024 * 1024
"""Characters of one CSV cell every csv reader of dqm reads (a manifest, a verdict file, a delivery's
list, a risk file): the csv module's default, 131,072, refused a cell of 200,000 characters, and
only in a process that had not imported the module that raised it (a verdicts file read where
:mod:`dqm.batch` was never imported failed where it passed beside it). A manifest's line is as
long at most (:data:`dqm.batch.MAX_MANIFEST_LINE`)."""


def csv_cell_limit() -> None:
    """The csv module's cell limit raised to :data:`CSV_CELL_LIMIT`: at this module's import (every
    module of dqm that reads CSV imports it) and before a read, where something lowered it since.
    The limit is the whole process's: never lowered nor restored (a read that saved and restored it
    raced with another thread's: a manifest read under the limit the other restored was refused)."""
    if csv.field_size_limit() < CSV_CELL_LIMIT:
        csv.field_size_limit(CSV_CELL_LIMIT)


csv_cell_limit()

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def spreadsheet_safe(cell: str) -> str:
    """A CSV cell a spreadsheet shows as text, and as it is: the characters that do not show
    (controls, bidirectional overrides, zero-width characters) written as escapes
    (:func:`visible`), and a cell that would start a formula (``=``, ``+``, ``-``, ``@``, tab,
    carriage return; OWASP's CSV-injection list) with a leading ``'``. Plain numbers (``-0.5``)
    are left as they are. :func:`from_spreadsheet` undoes the ``'``."""
    cell = visible(cell)
    if cell.startswith(_FORMULA_START) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def from_spreadsheet(cell: str) -> str:
    """The value :func:`spreadsheet_safe` protected from a formula (a cell read back from a CSV
    dqm wrote); escapes of characters that do not show stay escapes (a verdict file's slide id is
    matched in either form: :func:`dqm.semantic.ingest.ingest`)."""
    if cell.startswith("'") and cell[1:].startswith(_FORMULA_START) and not _NUMBER.fullmatch(cell[1:]):
        return cell[1:]
    return cell


_FORMAT = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
"""Unicode's format characters (category Cf, as of Unicode 15.1): bidirectional controls
(U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C), zero-width characters (U+200B–U+200D,
U+2060, U+FEFF), the soft hyphen and the rest: none shows a glyph, each changes how a name
displays or makes two different names look alike. Written out rather than read from
``unicodedata`` when dqm starts (a scan of every code point); a test checks the list against it."""
_UNSAFE = f"\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff{_FORMAT}"
"""C0 and C1 controls but tab and line feed, format characters, line and paragraph separators,
lone surrogates (the bytes of a name that is not UTF-8)."""
_INVISIBLE = re.compile(f"[{_UNSAFE}]")
_LINE_INVISIBLE = re.compile(f"[\n{_UNSAFE}]")


def visible(text: str, newlines: bool = True) -> str:
    """``text`` from a batch as every output a person reads shows it (the console, a log, an HTML
    page, Markdown, a CSV cell): control characters (an escape sequence that clears the screen or
    retitles the window, a carriage return that overwrites the line), C1 controls, format
    characters (a right-to-left override that displays ``evil\\u202egpj.svs`` as ``evilsvs.jpg``, a
    zero-width space that makes two names look equal), line and paragraph separators, and the
    bytes of a name that is not UTF-8 are written as ``\\xNN`` / ``\\uNNNN`` / ``\\UNNNNNNNN``.
    Everything else, Hangul and tabs among it, is left as it is. ``newlines=False`` escapes line
    breaks too: a name holding one must not forge a line of its own."""
    return (_INVISIBLE if newlines else _LINE_INVISIBLE).sub(escaped, text)


_JSON_UNSAFE = re.compile(f"[\x7f-\x9f\u2028\u2029{_FORMAT}]")
"""What JSON leaves raw in a string that :func:`visible` escapes: C1 controls, DEL, format
characters, line and paragraph separators (C0 controls JSON escapes itself)."""


def _json_escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def json_visible(text: str) -> str:
    """JSON ``text`` whose strings hold the characters :func:`visible` escapes (a right-to-left
    override, a zero-width space, a C1 control) as JSON escapes (``\\u202e``; a surrogate pair
    past U+FFFF): the same values once parsed, so a tool reading results.json gets the true names,
    while the file read as text (an editor, ``cat``, ``grep``) shows them as every other output
    does. Only strings hold such characters: JSON's own syntax is ASCII. Cost: an ASCII text with
    no DEL (most results.json) is only scanned twice, about 1 ms for 30 MB; other text is read
    by a regex, about 30 MB/s."""
    if text.isascii() and "\x7f" not in text:  # every other character escaped is not ASCII
        return text
    return _JSON_UNSAFE.sub(_json_escape, text)


terminal_safe = visible
"""What a command prints passes :func:`visible`: the console shows a name as every output does."""


def not_utf8(name: str) -> str | None:
    """A name from the operating system (a path, an argument) that is not valid UTF-8, its bad
    bytes (held by Python as lone surrogates) shown as ``\\xNN``; None when it is valid UTF-8. No
    output can hold it as it is: JSON, HTML and XML are UTF-8."""
    try:
        name.encode("utf-8")
        return None
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


NOT_REGULAR = N_("not a regular file (a FIFO, a device or a folder is never read)")


def read_named(path: Path, limit: int | None = None) -> bytes:
    """The bytes of a file a user named (a results.json, a profile, a waiver file, a plan, a key):
    opened without waiting and read only when it is a regular file, so that a FIFO never blocks
    the command and a device (``/dev/zero``) never fills memory. With ``limit``, at most
    ``limit + 1`` bytes (the caller refuses a longer file). Raises OSError (``strerror`` says why)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    with open(fd, "rb", closefd=True) as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, NOT_REGULAR, str(path))
        return fh.read() if limit is None else fh.read(limit + 1)


TOO_LARGE = N_("{path} is larger than {limit:,} bytes: more than a {_what} ever holds; is it the right file?")


class TooLarge(OSError):
    """A file a user named is larger than dqm reads for it (:func:`read_bounded`)."""

    def __init__(self, path: Path, limit: int) -> None:
        super().__init__(errno.EFBIG, os.strerror(errno.EFBIG), str(path))
        self.limit = limit

    def message(self, what: str) -> Message:
        """The usage error, in the command's language: ``what`` (a msgid: ``N_("waiver file")``) is
        the kind of file, the path escaped as every output shows a name."""
        return msg(TOO_LARGE, path=Path(os.fsdecode(self.filename)), limit=self.limit, _what=what)


def read_bounded(path: Path, limit: int) -> bytes:
    """:func:`read_named` of a file that must hold at most ``limit`` bytes, counted as read (a file's
    size as the system gives it may be 0, for ``/proc``, or grow while it is read): a longer one
    raises :class:`TooLarge` having read ``limit + 1`` bytes, never more."""
    data = read_named(path, limit)
    if len(data) > limit:
        raise TooLarge(path, limit)
    return data


def new_run_id() -> str:
    """A fresh run id, e.g. ``20261204T145030Z-9f3a1c2b``: the UTC time the run started and 32
    random bits. Every output of one run carries it (results.json, the report, JUnit, the
    summary, a review plan and sheet, the log of an internal error), so files of two runs are
    never mistaken for one set."""
    import datetime as dt

    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


def _payload(data: str | bytes, mask: Mask | None, binary: bool) -> bytes:
    """The bytes a file of ``data`` holds: ``binary`` bytes as they are, text (or UTF-8 bytes of
    text) masked."""
    return data if binary and isinstance(data, bytes) else _masked(data, mask)


def _masked(data: str | bytes, mask: Mask | None) -> bytes:
    if isinstance(data, str):
        return (mask(data) if mask else data).encode("utf-8")
    if mask is None:
        return data
    return mask(data.decode("utf-8")).encode("utf-8")


NOT_REPLACEABLE = N_(
    "it is not a regular file: dqm never replaces a device, a FIFO, a socket or a folder, nor a link to one"
)


class WriteRefused(OSError):
    """An output could not be written: ``filename`` is the output as the user named it (never the
    temporary file beside it nor its place in a staging folder), ``strerror`` the system's reason,
    ``where`` the folder on its way that the system named (a plain file where a folder must be, a
    folder that cannot be made) or None, ``why`` dqm's own reason (a msgid) or None. Whatever the
    errno (a full disk, a read-only or unwritable folder, a name too long), the command ends with
    one line naming the output and the reason, exit 4 (:mod:`dqm.cli`), never as an internal
    error."""

    where: str | None = None
    why: str | None = None
    params: dict[str, object] = {}  # noqa: RUF012  # never mutated: replaced whole


class HalfMoved(WriteRefused):
    """An output set could not all be moved into place (a rename or a flush of the folder failed
    after its commit record was written): some of its files may be in place, the record stays,
    and the next run into the folder finishes the moves (:func:`settle`); a reader refuses the
    folder until then."""


class NotReplaceable(WriteRefused):
    """The name an output would take is held by something that is not a regular file: a device
    (``-o /dev/full``, run as root, once replaced the device by a file), a FIFO, a socket, a
    folder, or a link to one of these (``-o /dev/stdout``). Refused as a write the system refused
    is (exit 4, the path named)."""

    why = NOT_REPLACEABLE


class NotFlushed(WriteRefused):
    """An output is in place, whole and flushed, but the flush of the folder holding it failed
    after the rename (``EIO`` from ``fsync`` of the folder): the file is written, but its name may
    not survive a power cut. Said as such (:func:`refused_write_line`), never as an output that
    "could not be written": it is there, and a rerun that refuses existing outputs finds it.
    ``filename`` is the output (the last one put in that folder where several were)."""


INTO_BATCH = N_("it is inside the batch folder {batch}: dqm never writes into a batch")

_BATCHES: dict[tuple[int, int], str] = {}
"""The batch folders this command reads, by identity (device, inode) with the path they were given
as: no output is written into one (:func:`never_into`), whatever link on the way leads there."""


def never_into(folder: Path) -> None:
    """Refuse every later write of this process into ``folder`` (a batch the command reads) or a
    folder inside it: each writer of this module checks the folder it writes in, by its identity
    and those of the folders above it (``..``, never a path a link can redirect), so a link inside
    ``--out`` (``out/validity``, ``out/lots/lot-01``) that leads into the batch is refused
    (:class:`WriteRefused`, exit 4) as ``--out`` itself is (a usage error)."""
    info = os.stat(folder)
    _BATCHES[(info.st_dev, info.st_ino)] = str(folder)
    _OUTSIDE.clear()


def batches_read() -> dict[tuple[int, int], str]:
    """The batch folders registered (:func:`never_into`), to hand to a process started by spawn
    (a training rank), which knows none of them until :func:`never_into_these`."""
    return dict(_BATCHES)


def never_into_these(batches: dict[tuple[int, int], str]) -> None:
    """In a process started by spawn: refuse the writes its parent refused (:func:`batches_read`)."""
    _BATCHES.update(batches)
    _OUTSIDE.clear()


def forget_batches() -> None:
    """A new command starts: no batch is read yet."""
    _BATCHES.clear()
    _OUTSIDE.clear()


def _live_batches() -> dict[tuple[int, int], str]:
    """The batch folders still there as they were (a folder removed since, its inode perhaps
    reused by another, is no batch of this command)."""
    live = {}
    for key, path in _BATCHES.items():
        with contextlib.suppress(OSError):
            info = os.stat(path)
            if (info.st_dev, info.st_ino) == key:
                live[key] = path
    return live


_OUTSIDE: set[tuple[int, int, int, int, str]] = set()
"""The folders found in no batch (:func:`_batch_holding`), by their identity, their parent's and
their current path (``/proc/self/fd/N``, Linux): a run writes thousands of files into a few folders,
and the walk up by ``..`` cost ~0.7–0.9 ms CPU a write. A folder is walked again when it is another
(a link swapped in), its parent is another (the batch itself moved to the parent's name, the folder
moved under it: its own path unchanged) or its path changed (it, its parent or any folder above it
renamed or moved, into the batch or elsewhere); where the system does not say a descriptor's path,
every write walks. Emptied when the batches registered change."""


def _where(fd: int) -> str | None:
    """The current path of the folder open as ``fd`` (Linux's ``/proc/self/fd``), or None where the
    system does not say it."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None


_UP = os.O_DIRECTORY | os.O_CLOEXEC | getattr(os, "O_PATH", os.O_RDONLY)
"""How a folder above is opened on the walk: ``O_PATH`` (Linux) needs no read permission on it, so a
folder in the batch that this user may search but not list (mode 0o311) does not end the walk
(``O_RDONLY`` did: the check gave up and the write went into the batch)."""


def _batch_holding(fd: int) -> str | None:
    """The batch folder (:func:`never_into`) that the folder open as ``fd`` is, or is inside; None
    when it is in none. Walks up by ``..`` from the descriptor: the folder checked is the one the
    caller then writes in (by ``dir_fd``), never a path a link made meanwhile redirects. A folder
    found in none is remembered with its path (:data:`_OUTSIDE`): walked once, not once a write."""
    if not _BATCHES:
        return None
    info = os.fstat(fd)
    where = _where(fd)
    seen = None
    if where is not None:
        with contextlib.suppress(OSError):
            parent = os.stat("..", dir_fd=fd)
            seen = (info.st_dev, info.st_ino, parent.st_dev, parent.st_ino, where)
    if seen is not None and seen in _OUTSIDE:
        return None
    live = _live_batches()
    if not live:
        return None
    with contextlib.ExitStack() as fds:
        here = fd
        for _ in range(4096):  # deeper than any path the system opens
            key = (info.st_dev, info.st_ino)
            if key in live:
                return live[key]
            try:
                up = os.open("..", _UP, dir_fd=here)
            except OSError:
                return None  # a folder above that cannot be searched: not one dqm read as the batch
            fds.callback(os.close, up)
            above = os.fstat(up)
            if (above.st_dev, above.st_ino) == key:
                break  # the root
            here, info = up, above
    if seen is not None:
        _OUTSIDE.add(seen)
    return None


def _refuse_if_batch(fd: int, path: Path) -> None:
    """Raise :class:`WriteRefused` naming ``path`` when the folder open as ``fd`` is in a batch."""
    batch = _batch_holding(fd)
    if batch is not None:
        refused = WriteRefused(errno.EPERM, os.strerror(errno.EPERM), str(path))
        refused.why, refused.params = INTO_BATCH, {"batch": visible(batch, newlines=False)}
        raise refused


def _open_folder(folder: Path) -> int:
    """A descriptor of ``folder`` (which must exist), refused (:class:`WriteRefused`) when it is
    in a batch this command reads."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        _refuse_if_batch(fd, folder)
    except BaseException:
        os.close(fd)
        raise
    return fd


def refuse_into_batch(path: Path) -> None:
    """Raise :class:`WriteRefused` naming ``path`` when the nearest folder of it that exists (its
    folder, or the one its folders would be made in) is in a batch this command reads: for a writer
    outside this module (a checkpoint ``torch.save`` writes, a SQLite database), before it writes."""
    if not _BATCHES:
        return
    existing = next((p for p in path.parents if os.path.isdir(p)), None)
    if existing is None:
        return
    fd = os.open(existing, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        _refuse_if_batch(fd, path)
    finally:
        os.close(fd)


def _flush_folder_of(path: Path) -> None:
    """Flush the folder holding ``path``, an output already in place: a failure is a
    :class:`NotFlushed` naming ``path``."""
    try:
        _fsync_folder(path.parent)
    except OSError as exc:
        raise NotFlushed(exc.errno, exc.strerror, str(path)) from exc


_WRITTEN: list[str] = []
"""The outputs this process has put in place, in order (:func:`write_file`, :func:`write_together`,
:class:`FileBatch`, a committed :class:`OutputSet`): when a later write fails, the CLI's line says
which were written before it (:func:`written_so_far`), never "nothing else"."""


def written_so_far() -> list[str]:
    """The outputs put in place so far by this process (see :data:`_WRITTEN`)."""
    return list(_WRITTEN)


def written(path: Path) -> None:
    """Record ``path`` as put in place by this process though not by this module's writers (a
    checkpoint ``torch.save`` wrote, a batch ``dqm synth`` made, the copy ``dqm validity corrupt``
    made): a later write failing names it among those written before
    (:func:`written_so_far`), never "only outputs already reported as written"."""
    _WRITTEN.append(str(path))


def forget_written() -> None:
    """A new command starts: no output of it is written yet."""
    _WRITTEN.clear()


def refused_write_line(exc: OSError, lang: str = "en") -> str:
    """The one line, in ``lang``, that says which write the system refused and why (``dqm``'s
    commands print it, masked, with exit code 4: :func:`dqm.cli._refused_write`, and so does
    ``python -m dqm.validity.corrupt``): dqm's own reason (``why`` and its ``params``) where the
    :class:`WriteRefused` carries one, an output in place whose folder was not flushed said as
    such (:class:`NotFlushed`), an output set part moved (:class:`HalfMoved`); then which outputs
    were written before it. Unmasked: the caller masks it."""

    def tr(message: str) -> str:
        return message.rendered(lang) if isinstance(message, Message) else message

    why, where, params = (
        (exc.why, exc.where, exc.params) if isinstance(exc, WriteRefused) else (None, None, {})
    )
    reason: dict[str, object] = {"_why": why, **params} if why else {"error": exc.strerror}
    if isinstance(exc, HalfMoved):
        return tr(
            msg(
                "dqm: the outputs could not all be moved into {path} ({_why}); the next dqm run into that "
                "folder finishes the move, and until then no command reads it as one set",
                path=visible(os.fsdecode(exc.filename), newlines=False),
                **reason,
            )
        )
    if isinstance(exc, NotFlushed):
        path = os.fsdecode(exc.filename)
        head = msg(
            "dqm: {path} is written, but its folder could not be flushed to the disk ({error}): "
            "its name may not survive a power cut",
            path=visible(path, newlines=False),
            error=exc.strerror,
        )
        return tr(msg("{head}; {tail}", head=tr(head), tail=tr(_written_tail(path))))
    # the two halves joined as the language joins two sentences
    return tr(
        msg("{head}; {tail}", head=tr(_refused_head(exc, why, where, reason)), tail=tr(_written_tail()))
    )


def _refused_head(exc: OSError, why: str | None, where: str | None, reason: dict[str, object]) -> Message:
    """What could not be written, and why."""
    if exc.filename is None:
        return msg("dqm: a file could not be written ({error})", error=exc.strerror)
    path = visible(os.fsdecode(exc.filename), newlines=False)
    if where is not None:
        return msg(
            "dqm: {path} could not be written ({error}: {where})",
            path=path,
            where=visible(where, newlines=False),
            error=exc.strerror,
        )
    if why:
        return msg("dqm: {path} could not be written ({_why})", path=path, **reason)
    return msg("dqm: {path} could not be written ({error})", path=path, error=exc.strerror)


_NAMED_WRITTEN = 3
"""The outputs written before a refused one that its line names (the rest counted)."""


def _written_tail(but: str | None = None) -> Message:
    """Which outputs were written before the refused one: those dqm's writer put in place in this
    command (:func:`written_so_far`; an audit's set, a key before its public half), never a claim
    that only those already reported were, when others were. ``but``: an output the line has
    named already (one in place whose folder was not flushed)."""
    done = [p for p in written_so_far() if p != but]
    if not done:
        return msg("only outputs already reported as written were written")
    shown = ", ".join(visible(p, newlines=False) for p in done[:_NAMED_WRITTEN])
    if len(done) > _NAMED_WRITTEN:
        return msg("written before it: {outputs} and {n} more", outputs=shown, n=len(done) - _NAMED_WRITTEN)
    return msg("written before it: {outputs}", outputs=shown)


def _refused(path: Path, exc: OSError) -> WriteRefused:
    """``exc``, raised while ``path`` was written, as the :class:`WriteRefused` naming ``path``: the
    name the system gave is kept as ``where`` only when it is a folder on the way to ``path``."""
    refused = (NotReplaceable if isinstance(exc, NotReplaceable) else WriteRefused)(
        exc.errno, exc.strerror, str(path)
    )
    where = exc.where if isinstance(exc, WriteRefused) else exc.filename
    if where is not None and Path(os.fsdecode(where)) in path.parents:
        refused.where = os.fsdecode(where)
    if isinstance(exc, WriteRefused) and exc.why and not refused.why:
        refused.why, refused.params = exc.why, exc.params  # dqm's own reason (into a batch) kept
    return refused


def refuse_unless_replaceable(path: Path) -> None:
    """Raise :class:`NotReplaceable` unless ``path`` is a regular file, nothing, or a link to a
    regular file or to nothing. A link is replaced by the new file, never written through (as
    dqm always did: ``dqm validity corrupt`` replaces the copy's linked manifest.csv so), but a
    link to a device, a FIFO, a socket or a folder names something a file cannot stand for."""
    try:
        mode = os.lstat(path).st_mode
        if stat.S_ISLNK(mode):
            mode = os.stat(path).st_mode
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            return  # nothing there, or a link that leads nowhere
        raise
    if not stat.S_ISREG(mode):
        raise NotReplaceable(errno.EEXIST, NOT_REPLACEABLE, str(path))


@contextlib.contextmanager
def _naming(path: Path) -> Iterator[None]:
    """Any OSError raised while writing ``path`` is a :class:`WriteRefused` naming ``path``: a
    full disk (``ENOSPC`` from ``write`` or ``fsync``) carries no file name, a folder on the way
    that is a plain file or cannot be made names the folder, a temporary or staged file names
    itself; the CLI's one line must say which output was refused, and why."""
    try:
        yield
    except OSError as exc:
        if isinstance(exc, WriteRefused) and exc.filename == str(path):
            raise
        raise _refused(path, exc) from exc


@contextlib.contextmanager
def writing(path: Path) -> Iterator[None]:
    """For a writer outside this module (a checkpoint ``torch.save`` writes): refused when
    ``path`` would be in a batch this command reads (:func:`refuse_into_batch`), and its failures
    are a :class:`WriteRefused` naming the file it writes."""
    with _naming(path):
        refuse_into_batch(path)
        yield


def _make_folder(folder: Path) -> None:
    """``folder`` and the folders above it made where missing. A plain file on the way (``--junit
    FILE/j.xml``) is said as such (``ENOTDIR``, naming that file), never as ``FileExistsError``."""
    try:
        if _BATCHES:
            _make_folder_checked(folder)
        else:
            folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        ways = [*reversed(folder.parents), folder]
        blocking = next((p for p in ways if os.path.lexists(p) and not p.is_dir()), folder)
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(blocking)) from None


def _make_folder_checked(folder: Path) -> None:
    """``folder`` made one folder at a time, each in its parent's descriptor (checked against the
    batches), then opened there and checked itself: a link swapped in at a name while the folders
    are made is opened and refused, never followed by a ``mkdir`` by path (which left an empty
    folder in the batch). A link made before the run to a folder outside the batch is followed."""
    missing: list[str] = []
    existing = folder
    while not os.path.isdir(existing) and existing.parent != existing:
        missing.append(existing.name)
        existing = existing.parent
    here = _open_folder(existing)
    try:
        names = list(reversed(missing))
        for i, name in enumerate(names):
            with contextlib.suppress(FileExistsError):  # made meanwhile, or a file: the open says
                os.mkdir(name, dir_fd=here)
            try:
                inside = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=here)
            except OSError as exc:  # a dangling link or a link loop at that name: named, as a file is
                if exc.errno not in (errno.ENOENT, errno.ELOOP, errno.ENOTDIR):
                    raise
                part = existing.joinpath(*names[: i + 1])
                raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(part)) from None
            os.close(here)
            here = inside
            _refuse_if_batch(here, folder)
    finally:
        os.close(here)


def _folder_to_write_in(folder: Path) -> None:
    """``folder`` made where missing, for a file the caller then makes in it by
    :func:`_temporary_beside`, which opens the folder and checks it against the batches: a folder
    already there is not opened and checked here too (one path open and one check less a write)."""
    if _BATCHES and os.path.isdir(folder):
        return
    _make_folder(folder)


def make_folder(folder: Path) -> None:
    """``folder``, an output folder a command writes into, made (with the folders above it) where
    missing; a failure (a plain file on the way, a folder not writable, a name too long) is a
    :class:`WriteRefused` naming ``folder`` (the CLI's one line, exit 4; never an internal error)."""
    with _naming(folder):
        _make_folder(folder)


_NAME_MAX = 255
"""Bytes in one name on the file systems dqm writes to (ext4, XFS, btrfs, APFS, NTFS)."""


def _temporary_beside(path: Path, private: bool = False) -> tuple[int, Path]:
    """A new, empty hidden file next to ``path``, open for writing. Created with mode 0o666 less
    the umask, as a plain ``open(path, "w")`` would (``mkstemp``'s 0o600 would leave every output
    readable by its owner alone); ``private``: 0o600 whatever the umask."""
    # the name cut so that ".NAME.XXXXXXXX.part" fits where NAME itself fits (a 250-byte name)
    stem = os.fsencode(path.name)[: _NAME_MAX - 15].decode("utf-8", "ignore") or "x"
    folder = _open_folder(path.parent) if _BATCHES else None
    while True:
        tmp = path.parent / f".{stem}.{secrets.token_hex(4)}.part"
        try:
            # in the folder checked (its descriptor): a link made meanwhile is not followed
            fd = os.open(
                tmp.name if folder is not None else tmp,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                0o600 if private else 0o666,
                dir_fd=folder,
            )
        except FileExistsError:
            continue
        except BaseException:
            if folder is not None:
                os.close(folder)
            raise
        if folder is not None:
            os.close(folder)
        if private:
            os.fchmod(fd, 0o600)
        return fd, tmp


def write_file(
    path: Path,
    data: str | bytes,
    mask: Mask | None = None,
    binary: bool = False,
    private: bool = False,
    compress: bool = False,
    durable: bool = True,
    named: Path | None = None,
) -> Path:
    """Write ``data`` (text, or UTF-8 bytes of text; ``binary`` bytes are never masked) to ``path``
    atomically, creating its folder; ``private``: readable by its owner alone (0o600); ``compress``:
    gzip (no timestamp, so the same data gives the same bytes) after masking, so a compressed
    file is masked like any other.

    The file is on the disk before it takes its name, and the name is on the disk when this
    returns (``durable``): the temporary file is flushed (``fsync``) before the rename and the
    folder after it. Without that, a power cut soon after could leave an empty file under the
    final name (the rename reached the disk before the data). :class:`OutputSet` stages its files
    with ``durable=False`` and flushes them all at once before its commit record names them.

    Any failure raises :class:`WriteRefused` naming ``named`` (the output as the user knows it; a
    staged file is named by its place in the output folder), or ``path``; the temporary file is
    removed."""
    payload = _payload(data, mask, binary)
    if compress:
        payload = gzip.compress(payload, compresslevel=6, mtime=0)
    tmp = _stage_beside(path, payload, private, durable, named or path)
    with _naming(named or path):
        try:
            _replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        if named is None:  # a staged file is not in place yet: its set says when it is
            _WRITTEN.append(str(path))
    if durable:
        if named is None:
            _flush_folder_of(path)
        else:  # staged: not in place, the set is not written
            with _naming(named):
                _fsync_folder(path.parent)
    return path


def _stage_beside(path: Path, payload: bytes, private: bool, durable: bool, named: Path) -> Path:
    """``payload`` in a new temporary file beside ``path`` (flushed to the disk when ``durable``),
    not yet under its name; a failure names ``named`` and leaves no temporary file."""
    with _naming(named):
        _folder_to_write_in(path.parent)
        refuse_unless_replaceable(path)
        fd, tmp = _temporary_beside(path, private)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
                if durable:
                    fh.flush()
                    _fsync(fh.fileno())
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    return tmp


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[BinaryIO]:
    """For a writer outside this module that writes into a file (a checkpoint ``torch.save``
    writes): a new temporary file beside ``path``, open for binary writing, made as
    :func:`write_file` makes one (a random name, created afresh, never through a link, in the
    folder checked against the batches this command reads); flushed to the disk and renamed over
    ``path`` when the block ends, removed when it raises. A fixed name (``model.pt.tmp``) would
    follow a link planted there, into the batch. Failures are a :class:`WriteRefused` naming
    ``path``."""
    with _naming(path):
        _folder_to_write_in(path.parent)
        refuse_unless_replaceable(path)
        fd, tmp = _temporary_beside(path)
        try:
            with os.fdopen(fd, "wb") as fh:
                yield fh
                fh.flush()
                _fsync(fh.fileno())
            _replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    _WRITTEN.append(str(path))
    _flush_folder_of(path)


def write_together(files: list[tuple[Path, bytes, bool]]) -> None:
    """Files that belong together (``(path, bytes, private)``: a private key and its public half, a
    review plan's JSON and CSV), each written as :func:`write_file` writes one, but every one
    written and flushed beside its name before any takes it: a full disk, a quota or a name too
    long leaves none of them (never a private key without its public half, which a rerun would then
    refuse as existing). Only a rename failing between two (a folder made read-only meanwhile) can
    leave the first ones in place: the CLI's line then names those (:func:`written_so_far`)."""
    staged: list[tuple[Path, Path]] = []
    try:
        for path, payload, private in files:
            staged.append((_stage_beside(path, payload, private, True, path), path))
        for n, (tmp, path) in enumerate(staged):
            with _naming(path):
                _replace(tmp, path)
            _WRITTEN.append(str(path))
            staged[n] = (path, path)  # in place: nothing to remove
    except BaseException:
        for tmp, path in staged:
            if tmp != path:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        raise
    for last in {path.parent: path for _, path in staged}.values():
        _flush_folder_of(last)


def _replace(tmp: Path, path: Path) -> None:
    """Rename ``tmp`` over ``path``, once ``path`` is seen again to be a regular file, nothing, or a
    link (:func:`refuse_unless_replaceable`): a FIFO or a device may have taken the name while the
    data was written. The window left is the few microseconds between that ``lstat`` and the
    ``rename``: POSIX has no rename that refuses a special file only (Linux's ``RENAME_NOREPLACE``
    refuses the regular file dqm must replace too). A folder taking the name in that window is
    refused by ``rename`` itself (``EISDIR``)."""
    refuse_unless_replaceable(path)
    if not _BATCHES:
        os.replace(tmp, path)
        return
    folder = _open_folder(path.parent)  # renamed in the folder checked, by its descriptor
    try:
        os.replace(tmp.name, path.name, src_dir_fd=folder, dst_dir_fd=folder)
    finally:
        os.close(folder)


class FileBatch:
    """Many files written as :func:`write_file` writes one, as durably and far cheaper: each into a
    temporary file beside its name at once (:meth:`write`); every ``group`` files (and when the
    block ends), the temporary files are flushed to the disk together (``fsync`` on a few
    threads), then renamed, then each folder flushed once. ``write_file`` per file paid two
    ``fsync`` each (a reviewer measured ``dqm convert`` at 9.3 ms a file on ext4 against 0.35 ms
    so). At most ``group`` temporary files are open at once; their data is not kept in memory.
    A file written is in place once the block has ended (normally or by an exception: what was
    written whole is kept); a file being written when a run is killed is left as a hidden
    ``.NAME.XXXXXXXX.part`` beside it, never under its name."""

    def __init__(self, group: int = 256, threads: int = 4) -> None:
        self.group, self.threads = group, threads
        self._pending: list[tuple[int, Path, Path]] = []

    def __enter__(self) -> FileBatch:
        return self

    def write(self, path: Path, data: str | bytes, mask: Mask | None = None, binary: bool = False) -> Path:
        """Write ``data`` (masked and encoded as :func:`write_file` does) to take the name ``path``."""
        payload = _payload(data, mask, binary)
        with _naming(path):
            _folder_to_write_in(path.parent)
            refuse_unless_replaceable(path)
            fd, tmp = _temporary_beside(path)
        try:
            view = memoryview(payload)
            with _naming(path):
                while view:
                    view = view[os.write(fd, view) :]
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self._pending.append((fd, tmp, path))
        if len(self._pending) >= self.group:
            self.flush()
        return path

    def flush(self) -> None:
        """The files written so far flushed to the disk, renamed into place, their folders flushed."""
        from concurrent.futures import ThreadPoolExecutor

        pending, self._pending = self._pending, []
        if not pending:
            return
        moved = 0
        try:
            try:
                with ThreadPoolExecutor(max_workers=min(self.threads, len(pending))) as pool:
                    list(pool.map(_fsync_named, pending))
            finally:
                for fd, _, _ in pending:
                    os.close(fd)
            for _, tmp, path in pending:
                with _naming(path):
                    _replace(tmp, path)
                _WRITTEN.append(str(path))
                moved += 1
        except BaseException:
            for _, tmp, _ in pending[moved:]:  # not renamed (an error, Ctrl-C): no name half written
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            for folder in {path.parent for _, _, path in pending[:moved]}:
                with contextlib.suppress(OSError):  # never in place of the error that stopped it
                    _fsync_folder(folder)
            raise
        for last in {path.parent: path for _, _, path in pending}.values():
            _flush_folder_of(last)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.flush()


LOCK_FILE = ".dqm.lock"


LOCK_IS_LINK = N_("it is a link: dqm never takes its run lock through one")


class FolderInUse(Exception):
    """Another dqm run holds the output folder."""


@contextlib.contextmanager
def run_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on ``folder`` for one run (``flock`` on ``folder/.dqm.lock``). A second
    run raises :class:`FolderInUse` at once; a killed run cannot leave it stale (the kernel drops
    the lock with the process)."""
    import fcntl

    with _naming(folder):  # a folder that cannot be made or written in: said as a refused write
        _make_folder(folder)
        here = _open_folder(folder)
    lock = folder / LOCK_FILE
    try:
        # in the folder checked (its descriptor), never through a link at the lock's name (one
        # into the batch made a file there): a link is refused (ELOOP), as the commit lock's is,
        # the lock file named (the folder alone did not say which file was refused)
        with _naming(lock):
            try:
                flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
                fd = os.open(LOCK_FILE, flags, 0o644, dir_fd=here)
            except OSError as exc:
                if exc.errno != errno.ELOOP:
                    raise
                refused = WriteRefused(exc.errno, exc.strerror, str(lock))
                refused.why, refused.params = LOCK_IS_LINK, {}
                raise refused from None
    finally:
        os.close(here)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderInUse(str(folder)) from None
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block ends (only the main thread can hold them)."""
    held = {signal.SIGINT, signal.SIGTERM}
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    except (AttributeError, ValueError, OSError):
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class UnfinishedSet(Exception):
    """An output folder holds a set a killed run had started to move into place, and this process
    cannot finish it (the staging folder is another user's, its commit record names a file it must
    not touch, or the folder is not writable): nothing in the folder may be read as one set.
    Its one argument is the message (:func:`dqm.i18n.msg`)."""


UNFINISHED = N_(
    "{folder}: a dqm run was stopped while it moved its outputs into place, and they cannot be "
    "finished here ({_why}); the folder is not read as one set until they are (run dqm on it as "
    "the user who wrote them) or that staging folder is removed"
)


class _Refused(Exception):
    """Why a commit record cannot be followed: a msgid (``N_``) and its parameters."""

    def __init__(self, why: str, **params: object) -> None:
        super().__init__(why)
        self.why, self.params = why, params


STAGING_PREFIX = ".dqm-staging."
"""The staging folders of :class:`OutputSet`, inside the output folder (one file system with it)."""
COMMIT_RECORD = ".dqm-commit"
"""In a staging folder, the names its set moves into place and removes, written (and flushed to the
disk) before the first move: a set whose record exists is finished by whoever comes next."""
COMMIT_LOCK = ".dqm-commit.lock"
"""In the output folder: held while a set moves into place or is finished (a few milliseconds)."""
_RECORD_LIMIT = 1 << 20
_after_step: Callable[[int], None] | None = None
"""Tests only (set from code, never from the environment or an option): called with 0 once the
commit record is on disk, then with k after the k-th move or removal, then with k + 1 once the
record is removed; a test kills the process there (tests/test_output_kill.py)."""


class OutputSet:
    """The files one run writes into ``folder``, staged and then moved into place as one set.

    The files are written into a staging folder inside ``folder`` (``.dqm-staging.XXXXXXXX``: one
    file system with it, so each move is a rename). Leaving the ``with`` block normally commits:

    1. every staged file and the staging folder are flushed to the disk (``fsync``);
    2. the commit record (:data:`COMMIT_RECORD`: the names to move, the names to remove) is written
       into the staging folder and flushed;
    3. the files are renamed into place one by one and the names to remove unlinked, then the
       folder is flushed and the record removed; then the staging folder.

    A run stopped at any instant (SIGKILL, the OOM killer, a power cut) leaves either no record (the
    previous set stands whole; the staged files are removed by the next run) or a record: then the
    next :class:`OutputSet` on the folder, and every dqm command that reads a ``results.json`` there
    (:func:`settle`), first finishes the moves the record names. A reader never sees a new
    ``results.json`` beside an old report. Leaving the ``with`` block by an exception discards the
    staging folder and keeps the previous set.

    Only names the run wrote are moved or removed: a user's own files in ``folder`` stay. A record
    is trusted only in a staging folder owned by this user and writable by no other, and only when
    each of its names is a plain relative name (no ``..``, no absolute path, none of dqm's own
    ``.dqm`` names) whose files are regular files; folders on the way are not followed when they
    are links. Two sets committing into one folder at once take turns (:data:`COMMIT_LOCK`; the
    commands hold :func:`run_lock` besides)."""

    def __init__(self, folder: Path, mask: Mask | None = None) -> None:
        self.folder = folder
        self.mask = mask
        self._staging: Path | None = None
        self._held: int | None = None
        """A descriptor of the staging folder holding its lock (:func:`_hold`) while this run lives."""
        self._names: list[str] = []
        self._stale: list[str] = []

    def __enter__(self) -> OutputSet:
        with _naming(self.folder):
            _make_folder(self.folder)
            # OUT opened once and checked: its lock and the staging folder are made in that
            # folder, never by a path a link swapped in at OUT meanwhile redirects (into the batch)
            out = _open_folder(self.folder)
        try:
            self._enter(out)
        finally:
            os.close(out)
        return self

    def _enter(self, out: int) -> None:
        _remove_legacy_staging(self.folder)
        with _naming(self.folder), _commit_lock(self.folder, out):
            _finish_recorded(self.folder)
            _remove_abandoned(self.folder)
            # made, held and marked under the commit lock: another run's clean-up (which takes it)
            # never sees this folder made but not yet held
            self._staging = _new_staging(self.folder, out)
            self._held = _hold(self._staging, out)
            try:
                if self._held is None:
                    (self._staging / STAGING_MARK).touch()
                else:
                    mark = os.open(
                        STAGING_MARK,
                        os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
                        0o644,
                        dir_fd=self._held,
                    )
                    os.close(mark)
            except BaseException:  # never a staging folder left behind
                shutil.rmtree(self._staging, ignore_errors=True)
                self._staging = None
                if self._held is not None:
                    os.close(self._held)
                    self._held = None
                raise
        _empty_trash(self.folder)

    def _staged(self, name: str) -> Path:
        if self._staging is None:
            raise RuntimeError("OutputSet used outside its with-block")
        if _name_parts(name) is None:
            raise ValueError(f"not a plain relative name for an output: {name!r}")
        return self._staging / name

    def write(self, name: str, data: str | bytes, binary: bool = False, compress: bool = False) -> Path:
        """Stage one file (``name`` relative to the folder; ``compress``: gzip it after masking);
        returns where it will be."""
        staged = self._staged(name)
        write_file(
            staged, data, self.mask, binary, compress=compress, durable=False, named=self.folder / name
        )
        self._names.append(name)
        return self.folder / name

    def stage(self, name: str) -> Path:
        """Where to write ``name`` in the staging folder, for a file too large to hand over whole
        (the caller writes and masks it); it moves into place with the set."""
        path = self._staged(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._names.append(name)
        return path

    @contextlib.contextmanager
    def naming(self, name: str) -> Iterator[None]:
        """An OSError raised inside the block (a caller writing what :meth:`stage` gave) names
        ``name`` in the output folder, the output the user knows, never its staging path."""
        with _naming(self.folder / name):
            yield

    def discard(self, name: str) -> None:
        """Remove ``name`` from the folder when the set moves into place: a file an earlier run
        wrote that this set has no part of (removed with the set, kept if the set is discarded)."""
        if _name_parts(name) is None:
            raise ValueError(f"not a plain relative name for an output: {name!r}")
        self._stale.append(name)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        staging, self._staging = self._staging, None
        if staging is None:
            return
        try:
            if kind is None:
                moves = list(dict.fromkeys(self._names))
                removes = [n for n in dict.fromkeys(self._stale) if n not in moves]
                for name in moves:  # before the work of flushing: refused early
                    refuse_unless_replaceable(self.folder / name)
                _flush_staged(staging, moves, self.folder)
                with _signals_held(), _commit_lock(self.folder):
                    # again, right before the record: a refused name leaves the previous set whole
                    for name in moves:
                        with _naming(self.folder / name):
                            refuse_unless_replaceable(self.folder / name)
                    with _naming(self.folder):  # a full disk here: the set, in its folder, named
                        _write_record(staging, moves, removes)
                    try:
                        _roll_forward(self.folder, staging.name)
                    except _Refused as refused:
                        half = HalfMoved(errno.EIO, None, str(self.folder))
                        half.why, half.params = refused.why, refused.params
                        raise half from None
                    _WRITTEN.extend(str(self.folder / name) for name in moves)
        finally:
            # a record left (a move failed) stays for the next run to finish: never a half-moved set
            if not os.path.lexists(staging / COMMIT_RECORD):
                shutil.rmtree(staging, ignore_errors=True)
            if self._held is not None:
                os.close(self._held)
                self._held = None


def _new_staging(folder: Path, dir_fd: int | None = None) -> Path:
    """A new staging folder in ``folder`` (made in ``dir_fd``, ``folder`` open, when given):
    readable as the outputs are (a reader of another user sees whether it holds a commit record),
    writable by this user alone (a record is trusted only then), whatever the umask."""
    while True:
        staging = folder / f"{STAGING_PREFIX}{secrets.token_hex(4)}"
        try:
            os.mkdir(staging.name if dir_fd is not None else staging, 0o755, dir_fd=dir_fd)
        except FileExistsError:
            continue
        return staging


def _name_parts(name: object) -> list[str] | None:
    """The parts of ``name``, an output's name relative to its folder, or None unless it is one:
    a non-empty string of parts separated by ``/``, none empty, ``.`` or ``..``, no NUL or
    backslash, the first not one of dqm's own names (``.dqm...``: the lock, the cache, staging)."""
    if not isinstance(name, str) or not name or "\x00" in name or "\\" in name:
        return None
    parts = name.split("/")
    if any(p in ("", ".", "..") for p in parts) or parts[0].startswith(".dqm"):
        return None
    return parts


def _staging_folders(folder: Path) -> list[Path]:
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return [folder / n for n in sorted(names) if _STAGING_NAME.fullmatch(n)]


_STAGING_NAME = re.compile(re.escape(STAGING_PREFIX) + r"[0-9a-f]{8}")
"""The names :func:`_new_staging` makes (``secrets.token_hex(4)``) and no other: a user's folder
named ``.dqm-staging.backup01`` is never taken for one (and never removed)."""


def _remove_legacy_staging(folder: Path) -> None:
    """Staging folders beside ``folder`` that dqm before its commit records made
    (``.NAME.staging.XXXXXXXX``, holding :data:`STAGING_MARK`); never one of another folder's name."""
    prefix = f".{folder.name}.staging."
    made = re.compile(re.escape(prefix) + r"[a-z0-9_]{8}")
    for stale in folder.parent.glob(f"{glob.escape(prefix)}*"):
        if made.fullmatch(stale.name):
            _remove_if_abandoned(stale)


@contextlib.contextmanager
def _commit_lock(folder: Path, dir_fd: int | None = None) -> Iterator[None]:
    """:data:`COMMIT_LOCK` held exclusively (waiting for a set being moved: milliseconds); opened in
    ``dir_fd`` (``folder`` open) when given. Where the file system has no ``flock`` the block runs
    unlocked (:func:`run_lock` still keeps two runs of dqm apart)."""
    import fcntl

    fd = os.open(
        COMMIT_LOCK if dir_fd is not None else folder / COMMIT_LOCK,
        os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
        0o644,
        dir_fd=dir_fd,
    )
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


FSYNC_UNSUPPORTED = frozenset({errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS})
"""The errnos of an ``fsync`` of a *folder* that says folders cannot be flushed there, not that a
name is lost: ``EINVAL`` (fsync(2): a file "which does not support synchronization"; some file
systems say so of a folder), ``ENOTSUP``/``EOPNOTSUPP`` and ``ENOSYS`` (FUSE and network file
systems that have no flush of a folder). Ignored for folders only: the names went as far as that
file system takes them. A regular file's data must reach the disk before it takes its name, so
any error flushing one (these included) fails the write, as every other error does (``ENOSPC``,
``EDQUOT`` and ``EIO``: the data did not reach the disk)."""


def _fsync(fd: int, folder: bool = False) -> None:
    try:
        os.fsync(fd)
    except OSError as exc:
        if (folder and exc.errno in FSYNC_UNSUPPORTED) or (
            os.name == "nt" and exc.errno in (errno.EBADF, errno.EACCES)
        ):
            return  # Windows flushes no folder and no file opened read-only
        raise


def _fsync_named(entry: tuple[int, Path, Path]) -> None:
    fd, _, path = entry
    with _naming(path):
        _fsync(fd)


def _fsync_folder(folder: Path) -> None:
    """Flush ``folder`` (the names it holds) to the disk; a folder that cannot be opened to be
    flushed (no read permission, Windows) is left as it is, a flush that fails raises."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_CLOEXEC | os.O_DIRECTORY)
    except OSError:
        return
    try:
        _fsync(fd, folder=True)
    finally:
        os.close(fd)


def _flush_staged(staging: Path, names: list[str], folder: Path) -> None:
    """Every staged file and the folders holding them on the disk before the record names them (a
    failure names the output in ``folder``)."""
    folders = {staging}
    for name in names:
        with _naming(folder / name):
            _fsync_path(staging / name)
        folders.update(p for p in (staging / name).parents if staging in p.parents)
    for held in folders:
        with _naming(folder):
            _fsync_path(held, folder=True)


def _record_mac(moves: object, removes: object) -> str | None:
    """The MAC of a commit record's names, keyed by this user's masking key
    (:func:`dqm.identifiers.load_mask_key`): only a record a run of this user wrote is followed
    (one made by whoever wrote the folder's files, in a tarball or a shared folder, is not). None
    when the key cannot be had (no record is then followed)."""
    import hashlib
    import json

    from dqm.identifiers import load_mask_key

    try:
        key = load_mask_key()
    except (OSError, ValueError):
        return None
    names = json.dumps([moves, removes], separators=(",", ":"), ensure_ascii=True).encode("ascii")
    return hmac.new(key, b"dqm output set commit record\0" + names, hashlib.sha256).hexdigest()


def _write_record(staging: Path, moves: list[str], removes: list[str]) -> None:
    import json

    mac = _record_mac(moves, removes)
    record = json.dumps({"dqm_output_set": 1, "move": moves, "remove": removes, "mac": mac}).encode("utf-8")
    fd = os.open(staging / COMMIT_RECORD, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        try:
            if os.write(fd, record) != len(record):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            _fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        # no record, no move started: the staging folder goes, the previous set stands (an empty
        # or partial record left would make readers refuse that intact set as half moved)
        with contextlib.suppress(OSError):
            os.unlink(staging / COMMIT_RECORD)
        raise
    _fsync_path(staging, folder=True)
    _step(0)


def _fsync_path(path: Path, folder: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | (os.O_DIRECTORY if folder else os.O_NOFOLLOW))
    try:
        _fsync(fd, folder)
    finally:
        os.close(fd)


def _read_record(staging_fd: int) -> tuple[list[str], list[str]] | None:
    """The names a commit record moves and removes; None when there is none, it is not whole
    (a power cut while it was written: no move had started) or no run of this user wrote it (its
    MAC, :func:`_record_mac`). Raises :class:`_Refused` for a
    record that names what it must not."""
    import json

    try:
        fd = os.open(COMMIT_RECORD, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=staging_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _Refused(N_("its commit record cannot be read: {error}"), error=exc.strerror or exc) from None
    with open(fd, "rb", closefd=True) as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _Refused(N_("its commit record is not a regular file"))
        raw = fh.read(_RECORD_LIMIT + 1)
    try:
        record = json.loads(raw) if len(raw) <= _RECORD_LIMIT else None
    except ValueError:
        return None
    if not isinstance(record, dict) or record.get("dqm_output_set") != 1:
        return None
    moves, removes = record.get("move"), record.get("remove")
    if not isinstance(moves, list) or not isinstance(removes, list):
        return None
    mac, ours = record.get("mac"), _record_mac(moves, removes)
    if ours is None or not isinstance(mac, str) or not hmac.compare_digest(mac, ours):
        return None  # not a record of this user's runs: never followed, whatever it names
    for name in [*moves, *removes]:
        if _name_parts(name) is None:
            raise _Refused(
                N_("its commit record names {name}, not an output's name"), name=visible(repr(name))
            )
    return moves, removes


def _walk(top: int, parts: list[str], create: bool, fds: contextlib.ExitStack) -> int | None:
    """A descriptor of the folder ``parts`` (all but a name's last part) under ``top``, no link
    followed, closed with ``fds``; None when a part is missing (and not ``create``d). Raises
    :class:`_Refused` for a part that is a link or not a folder."""
    fd = top
    for part in parts:
        if create:
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, 0o777, dir_fd=fd)
        try:
            fd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
        except FileNotFoundError:
            return None
        except OSError:
            raise _Refused(N_("{name} is a link or not a folder"), name=visible(repr(part))) from None
        fds.callback(os.close, fd)
    return fd


def _still_staged(staging: int, moves: list[str], fds: contextlib.ExitStack) -> list[tuple[list[str], int]]:
    """The names of ``moves`` still in the staging folder (the others moved already), each with
    its folder's descriptor; every one checked before the first moves: a regular file, reached
    through no link."""
    staged: list[tuple[list[str], int]] = []
    for name in moves:
        parts = _name_parts(name)
        assert parts is not None  # checked by _read_record
        source = _walk(staging, parts[:-1], False, fds)
        try:
            if source is None:
                continue  # moved already, its folder with it
            kind = os.stat(parts[-1], dir_fd=source, follow_symlinks=False).st_mode
        except FileNotFoundError:
            continue  # moved already
        if not stat.S_ISREG(kind):
            raise _Refused(N_("{name} in its staging folder is not a regular file"), name=visible(repr(name)))
        staged.append((parts, source))
    return staged


def _step(done: int) -> int:
    if _after_step is not None:
        _after_step(done)
    return done


def _roll_forward(folder: Path, staging_name: str) -> bool:
    """Finish the set whose record is in ``folder/staging_name`` (its commit lock held): each file
    still staged renamed into place, each name to remove unlinked, the folders flushed, the record
    removed. Every step may have been done already (a run killed between two of them). False when
    the staging folder holds no whole record (nothing to finish); raises :class:`_Refused` when it
    cannot be finished here (and leaves it as it is)."""
    with contextlib.ExitStack() as fds:
        try:
            top = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            fds.callback(os.close, top)
            _refuse_if_batch(top, folder)  # the moves go into this descriptor's folder
            try:
                staging = os.open(staging_name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=top)
            except OSError as exc:
                if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
                    return False  # gone, or a file or a link of that name: no staging folder of dqm's
                raise
            fds.callback(os.close, staging)
            info = os.fstat(staging)
            names = _read_record(staging)
            if names is None:
                return False
            if info.st_uid != os.geteuid() or info.st_mode & 0o022:
                raise _Refused(N_("its staging folder is another user's, or others may write in it"))
            moves, removes = names
            targets: dict[tuple[str, ...], int | None] = {}

            def target(parts: list[str], create: bool) -> int | None:
                key = tuple(parts[:-1])
                if targets.get(key) is None:
                    targets[key] = _walk(top, parts[:-1], create, fds)
                return targets[key]

            done = 0
            for parts, source in _still_staged(staging, moves, fds):
                os.replace(parts[-1], parts[-1], src_dir_fd=source, dst_dir_fd=target(parts, True))
                done = _step(done + 1)
            for name in removes:
                gone = _name_parts(name)
                assert gone is not None
                where = target(gone, False)
                with contextlib.suppress(FileNotFoundError):
                    if where is not None and not stat.S_ISDIR(
                        os.stat(gone[-1], dir_fd=where, follow_symlinks=False).st_mode
                    ):
                        os.unlink(gone[-1], dir_fd=where)
                done = _step(done + 1)
            for fd in [top, *targets.values()]:
                if fd is not None:
                    _fsync(fd, folder=True)
            os.unlink(COMMIT_RECORD, dir_fd=staging)
            _fsync(staging, folder=True)
            _step(done + 1)
            return True
        except OSError as exc:
            why = N_("a file could not be moved into place: {error}")
            raise _Refused(why, error=exc.strerror or exc) from None


def _finish_recorded(folder: Path) -> None:
    """Finish every set a killed run left recorded in ``folder`` (its commit lock held), then
    remove its staging folder."""
    for staging in _staging_folders(folder):
        try:
            finished = _roll_forward(folder, staging.name)
        except _Refused as exc:
            raise UnfinishedSet(
                msg(UNFINISHED, folder=visible(str(staging)), _why=exc.why, **exc.params)
            ) from None
        if finished:
            _to_trash(staging)


def settle(folder: Path) -> list[str]:
    """Before a run writes into ``folder`` (its run lock held: :func:`dqm.cli.common.locked`,
    :class:`OutputSet`): finish the set a killed run left half moved into place, then remove the
    staging folders killed runs left with no commit record (:func:`_remove_abandoned`); returns
    the names of those removed (the caller says so). Never called by a command that only reads a
    folder (a record there may be forged). Nothing is written when no staging folder is there (a
    read-only folder is read as it is) but the removal of what an earlier clean-up, killed, left
    renamed (:func:`_empty_trash`); leftovers in a folder this user cannot write stay. Raises
    :class:`UnfinishedSet` when a set is left half moved and cannot be finished here."""
    staged = _staging_folders(folder)
    if not staged:
        _empty_trash(folder)
        return []
    recorded = [s for s in staged if os.path.lexists(s / COMMIT_RECORD) or not os.access(s, os.X_OK)]
    try:
        with _commit_lock(folder):
            _finish_recorded(folder)
            removed = _remove_abandoned(folder)
        _empty_trash(folder)
        return removed
    except OSError as exc:  # the lock: a folder this user cannot write
        if not recorded:
            return []  # only leftovers: they mix nothing into the set
        why = N_("the output folder cannot be written: {error}")
        raise UnfinishedSet(
            msg(UNFINISHED, folder=visible(str(recorded[0])), _why=why, error=exc.strerror or exc)
        ) from None


def _remove_abandoned(folder: Path) -> list[str]:
    """Remove the staging folders in ``folder`` that no live run holds (its commit lock held, the
    sets recorded there finished first): those of runs killed before their commit record was
    written, marked (:data:`STAGING_MARK`) or not and empty (killed between the folder's creation
    and its mark). Only a folder named as :class:`OutputSet` names one, this user's, not a link and
    not held by a live run (:func:`_hold`). Returns the names removed."""
    return [s.name for s in _staging_folders(folder) if _remove_if_abandoned(s, marked=False, trash=True)]


TRASH_PREFIX = ".dqm-trash."
_TRASH_NAME = re.compile(re.escape(TRASH_PREFIX) + r"[0-9a-f]{8}")


def _to_trash(staging: Path) -> None:
    """Take ``staging`` out of the set's sight by one rename to a dead name beside it
    (``.dqm-trash.XXXXXXXX``), its commit lock held; :func:`_empty_trash` removes it once the lock
    is released. Removing it under the lock kept readers waiting, then refused (a leftover of 150k
    files took 6.5 s; readers wait :data:`MOVING_WAIT`). Where it cannot be renamed, it is removed
    in place."""
    for _ in range(100):
        dead = staging.parent / f"{TRASH_PREFIX}{secrets.token_hex(4)}"
        if os.path.lexists(dead):
            continue
        try:
            os.rename(staging, dead)
        except OSError:
            break
        return
    shutil.rmtree(staging, ignore_errors=True)


def _empty_trash(folder: Path) -> None:
    """Remove the folders :func:`_to_trash` renamed in ``folder`` (this user's, no link followed),
    with no lock held: no reader looks at them. One a killed run left half removed is removed by
    the next run into the folder."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if not _TRASH_NAME.fullmatch(name):
            continue
        try:
            info = os.lstat(folder / name)
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid():
            shutil.rmtree(folder / name, ignore_errors=True)


MOVING_WAIT = 2.0
"""Seconds a reader waits for a set that another run is moving into place (a few milliseconds)."""
MID_COMMIT = N_(
    "{folder}: a dqm run is moving its outputs into place and did not finish within {seconds} s: "
    "read the folder once it has"
)
HALF_MOVED = N_(
    "{folder}: a dqm run was stopped while it moved its outputs into place, so the files there may "
    "be of two runs; as the user who wrote them, 'dqm fixlist {out}/results.json --out {out}' (or the "
    "audit run again with --out {out}) finishes the move first; or remove that staging folder if it "
    "is not dqm's"
)


@contextlib.contextmanager
def whole_set(folder: Path, wait: float = MOVING_WAIT) -> Iterator[None]:
    """Read an output set in ``folder`` inside this block, never a mix of two runs' files: the
    commit lock (:data:`COMMIT_LOCK`) is held shared for the block (a set cannot start moving into
    place meanwhile), once no run is moving one in (waiting up to ``wait`` seconds for one that is)
    and no staging folder holds a commit record (a set a killed run left half moved: only a run
    that writes into the folder finishes it, :func:`settle`). Raises :class:`UnfinishedSet`
    (its message in :data:`MID_COMMIT` or :data:`HALF_MOVED`) otherwise. Opens the lock read-only
    and writes nothing: a folder of another user, or read-only, is read the same way (where the
    lock cannot be had, only the records are looked at)."""
    import fcntl
    import time

    deadline = time.monotonic() + wait
    while True:
        fd = _open_commit_lock(folder)
        try:
            moving = False
            if fd is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                except BlockingIOError:
                    moving = True
                except OSError:
                    pass  # a file system without flock
            left = [s for s in _staging_folders(folder) if os.path.lexists(s / COMMIT_RECORD)]
            if not moving and not left:
                yield
                return
            if not moving and fd is not None:
                raise UnfinishedSet(msg(HALF_MOVED, folder=visible(str(left[0])), out=visible(str(folder))))
        finally:
            if fd is not None:
                os.close(fd)
        if time.monotonic() >= deadline:
            if moving:
                raise UnfinishedSet(msg(MID_COMMIT, folder=visible(str(folder)), seconds=wait))
            raise UnfinishedSet(msg(HALF_MOVED, folder=visible(str(left[0])), out=visible(str(folder))))
        time.sleep(0.05)


def _open_commit_lock(folder: Path) -> int | None:
    """A read-only descriptor of ``folder``'s :data:`COMMIT_LOCK`, or None when there is none to
    take: never committed into, not ours to open, or not a regular file. Opened without waiting
    (``O_NONBLOCK``): a FIFO of that name (a received tarball may carry one) would block ``open``
    for ever; anything but a regular file is no lock."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(folder / COMMIT_LOCK, flags)
    except OSError:
        return None  # the records alone tell
    try:
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        regular = False
    if not regular:
        os.close(fd)
        return None
    return fd


def _hold(folder: Path, dir_fd: int | None = None) -> int | None:
    """A descriptor of ``folder`` (opened in ``dir_fd``, its parent open, when given) holding a
    shared ``flock`` on it: the folder is in use for as long as the process lives (the kernel drops
    the lock with it). None where it cannot be held."""
    import fcntl

    try:
        fd = os.open(
            folder.name if dir_fd is not None else folder,
            os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
            dir_fd=dir_fd,
        )
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


STAGING_MARK = ".dqm-staging"
"""A file in every staging folder dqm makes: only a folder holding it is removed as abandoned."""


def _remove_if_abandoned(folder: Path, marked: bool = True, trash: bool = False) -> bool:
    """Remove ``folder``, an output set's staging folder of this user, unless a live run holds it
    (:func:`_hold`): a run killed outright (SIGKILL) while it wrote its outputs cannot remove its
    own. ``marked``: only when it holds :data:`STAGING_MARK` (a folder beside the output folder,
    where a user's own folder may bear a like name); else a folder without the mark is removed
    only when empty (dqm marks its staging folder before it stages anything: one killed before its
    mark holds nothing, and a user's folder that holds something stays whatever its name). Its
    commit record, if any, is one :func:`_finish_recorded` did not follow (not whole, or not of
    this user's runs): no move of it began. ``trash``: a marked folder is renamed for
    :func:`_empty_trash` (the commit lock is held). Whether it was removed."""
    import fcntl

    try:  # a link or anything but a folder is refused here
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        if os.fstat(fd).st_uid != os.geteuid():
            return False  # another user's run (in a shared folder): not this user's to remove
        try:  # dqm's mark, a plain file
            has_mark = stat.S_ISREG(os.stat(STAGING_MARK, dir_fd=fd, follow_symlinks=False).st_mode)
        except FileNotFoundError:
            has_mark = False
        if not has_mark and (marked or os.listdir(fd)):
            return False  # a user's folder that happens to be named like one (".out.staging.backup01")
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # held: a live run is writing its outputs there
        return False
    else:
        if has_mark and trash:
            _to_trash(folder)
        elif has_mark:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.rmdir(folder)
        return not os.path.lexists(folder)
    finally:
        os.close(fd)
