"""The one place dqm writes files: every output of every command goes through here.

* :func:`write_file` writes one file atomically (a temporary file beside it, then a rename): a
  reader never sees half a JSON, and an interrupted run leaves the previous file.
* :class:`OutputSet` writes the files of one run as a set: each into a staging folder beside the
  destination, then all moved into place together (signals held off while they move), so a
  folder never holds a new ``results.json`` beside an old report. Leaving the ``with`` block by an
  exception discards the staging folder and keeps the previous set.
* Text passes through ``mask`` (a :class:`dqm.identifiers.Masker`, or none) before it is written.
* Cells of CSV files go through :func:`spreadsheet_safe`: a spreadsheet must not run a value from
  the batch as a formula.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import gzip
import os
import re
import secrets
import shutil
import signal
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType

from dqm.i18n import N_

Mask = Callable[[str], str]

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


def _shown(m: re.Match[str]) -> str:
    code = ord(m.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte of a name that is not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def visible(text: str, newlines: bool = True) -> str:
    """``text`` from a batch as every output a person reads shows it (the console, a log, an HTML
    page, Markdown, a CSV cell): control characters (an escape sequence that clears the screen or
    retitles the window, a carriage return that overwrites the line), C1 controls, format
    characters (a right-to-left override that displays ``evil\\u202egpj.svs`` as ``evilsvs.jpg``, a
    zero-width space that makes two names look equal), line and paragraph separators, and the
    bytes of a name that is not UTF-8 are written as ``\\xNN`` / ``\\uNNNN`` / ``\\UNNNNNNNN``.
    Everything else, Hangul and tabs among it, is left as it is. ``newlines=False`` escapes line
    breaks too: a name holding one must not forge a line of its own."""
    return (_INVISIBLE if newlines else _LINE_INVISIBLE).sub(_shown, text)


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


def new_run_id() -> str:
    """A fresh run id, e.g. ``20261204T145030Z-9f3a1c2b``: the UTC time the run started and 32
    random bits. Every output of one run carries it (results.json, the report, JUnit, the
    summary, a review plan and sheet, the log of an internal error), so files of two runs are
    never mistaken for one set."""
    import datetime as dt

    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


def _masked(data: str | bytes, mask: Mask | None) -> bytes:
    if isinstance(data, str):
        return (mask(data) if mask else data).encode("utf-8")
    if mask is None:
        return data
    return mask(data.decode("utf-8")).encode("utf-8")


def _temporary_beside(path: Path, private: bool = False) -> tuple[int, Path]:
    """A new, empty hidden file next to ``path``, open for writing. Created with mode 0o666 less
    the umask, as a plain ``open(path, "w")`` would (``mkstemp``'s 0o600 would leave every output
    readable by its owner alone); ``private``: 0o600 whatever the umask."""
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.part"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o666)
        except FileExistsError:
            continue
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
) -> Path:
    """Write ``data`` (text, or UTF-8 bytes of text; ``binary`` bytes are never masked) to ``path``
    atomically, creating its folder; ``private``: readable by its owner alone (0o600); ``compress``:
    gzip (no timestamp, so the same data gives the same bytes) after masking, so a compressed
    file is masked like any other."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data if binary and isinstance(data, bytes) else _masked(data, mask)
    if compress:
        payload = gzip.compress(payload, compresslevel=6, mtime=0)
    fd, tmp = _temporary_beside(path, private)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


LOCK_FILE = ".dqm.lock"


class FolderInUse(Exception):
    """Another dqm run holds the output folder."""


@contextlib.contextmanager
def run_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on ``folder`` for one run (``flock`` on ``folder/.dqm.lock``). A second
    run raises :class:`FolderInUse` at once; a killed run cannot leave it stale (the kernel drops
    the lock with the process)."""
    import fcntl

    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
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


class OutputSet:
    """The files one run writes into ``folder``, staged and then moved into place together."""

    def __init__(self, folder: Path, mask: Mask | None = None) -> None:
        self.folder = folder
        self.mask = mask
        self._staging: Path | None = None
        self._held: int | None = None
        """A descriptor of the staging folder holding its lock (:func:`_hold`) while this run lives."""
        self._names: list[str] = []
        self._stale: list[str] = []

    def __enter__(self) -> OutputSet:
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        prefix = f".{self.folder.name}.staging."
        # only names as mkdtemp makes them (its 8 characters), holding dqm's mark
        made = re.compile(re.escape(prefix) + r"[a-z0-9_]{8}")
        for stale in self.folder.parent.glob(f"{glob.escape(prefix)}*"):
            if made.fullmatch(stale.name):
                _remove_if_abandoned(stale)
        self._staging = Path(tempfile.mkdtemp(dir=self.folder.parent, prefix=prefix))
        self._held = _hold(self._staging)
        (self._staging / STAGING_MARK).touch()
        return self

    def write(self, name: str, data: str | bytes, binary: bool = False, compress: bool = False) -> Path:
        """Stage one file (``name`` relative to the folder; ``compress``: gzip it after masking);
        returns where it will be."""
        if self._staging is None:
            raise RuntimeError("OutputSet.write outside its with-block")
        write_file(self._staging / name, data, self.mask, binary, compress=compress)
        self._names.append(name)
        return self.folder / name

    def stage(self, name: str) -> Path:
        """Where to write ``name`` in the staging folder, for a file too large to hand over whole
        (the caller writes and masks it); it moves into place with the set."""
        if self._staging is None:
            raise RuntimeError("OutputSet.stage outside its with-block")
        path = self._staging / name
        path.parent.mkdir(parents=True, exist_ok=True)
        self._names.append(name)
        return path

    def discard(self, name: str) -> None:
        """Remove ``name`` from the folder when the set moves into place: a file an earlier run
        wrote that this set has no part of (removed with the set, kept if the set is discarded)."""
        self._stale.append(name)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        staging, self._staging = self._staging, None
        if staging is None:
            return
        try:
            if kind is None:
                self.folder.mkdir(parents=True, exist_ok=True)
                with _signals_held():
                    for name in self._names:
                        target = self.folder / name
                        target.parent.mkdir(parents=True, exist_ok=True)
                        os.replace(staging / name, target)
                    for name in self._stale:
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(self.folder / name)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            if self._held is not None:
                os.close(self._held)
                self._held = None


def _hold(folder: Path) -> int | None:
    """A descriptor of ``folder`` holding a shared ``flock`` on it: the folder is in use for as long
    as the process lives (the kernel drops the lock with it). None where it cannot be held."""
    import fcntl

    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
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


def _remove_if_abandoned(folder: Path) -> None:
    """Remove ``folder``, an output set's staging folder, unless a live run holds it (:func:`_hold`):
    a run killed outright (SIGKILL) while it wrote its outputs cannot remove its own."""
    import fcntl

    try:  # a link or anything but a folder is refused here
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return
    try:
        # dqm's mark, a plain file: a user's folder that happens to be named like one (".out.staging.backup01") stays
        if not stat.S_ISREG(os.stat(STAGING_MARK, dir_fd=fd, follow_symlinks=False).st_mode):
            return
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # no mark, or held: a live run is writing its outputs there
        return
    else:
        shutil.rmtree(folder, ignore_errors=True)
    finally:
        os.close(fd)
