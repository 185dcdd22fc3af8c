"""The SHA-256 of files this process has read whole, by their stat: a file many items share (one
COCO file for every image of a delivery, one slide for many manifest rows) is hashed once a
run in each process, not once an item.

A digest is kept under the file's path, size, modification and change times (ns), inode and
device, as the stat taken *before* the file was read, and given again only for a file whose stat
is the same. A stat is trusted only as git trusts one: a file whose times are not older than the
moment it was read (:func:`racy`) could be written again within the same tick of the clock its
times are stamped from, keeping its stat; its digest is not kept, and every reading hashes it
again until it is older (the cost is bounded: at most :data:`RACY_NS` of readings). The result
cache (:mod:`dqm.cache`) keeps to the same rule for whole-second times.

A digest is kept only when the descriptor it was read from has that stat too (``os.fstat``): the
path could name another file between the stat and the read (a folder swapped and swapped back),
whose digest must not stand for the first file.

A digest is given back only within the run that took it (:func:`in_run`): a worker that outlives
a run (an external Dask cluster, one process for ``--workers 1``) reads a shared file whole again
in the next run, so a ``--certify`` run hashes every file it certifies itself.

At most :data:`MEMO_SIZE` digests are kept (least recently used out first).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

RACY_NS = 3 * 10**9
"""How long a file whose times are whole seconds (a filesystem that keeps no finer ones; FAT
keeps two seconds) may still change without changing them."""
TICK_NS = 50 * 10**6
"""The same for finer times: the kernel stamps a file's times from a clock that moves a tick at a
time (1-10 ms) and may lag this process's clock by one; 50 ms leaves room for both."""
MEMO_SIZE = 1024
"""Digests kept (about 200 bytes each)."""

_Key = tuple[str, str, int, int, int, int, int]
_MEMO: OrderedDict[_Key, str] = OrderedDict()
_LOCK = threading.Lock()
"""A Dask worker may run items in several threads."""
_RUN: ContextVar[str] = ContextVar("dqm_file_digests_run", default="")
"""The run whose items this thread checks (:func:`in_run`); "" outside a run's item work."""


@contextmanager
def in_run(run: str) -> Iterator[None]:
    """Digests taken and given within this block are those of ``run`` (a nonce a run's item work
    carries): another run's, on a worker that outlives it, are not given. Per thread (a Dask
    worker may check two runs' items at once)."""
    token = _RUN.set(run)
    try:
        yield
    finally:
        _RUN.reset(token)


def racy(times: Sequence[int], now: int) -> bool:
    """Whether a file whose modification and change times (ns) are ``times``, stat'ed or read at
    ``now`` (:func:`time.time_ns`, taken before), may change without changing them (git's
    "racily clean"): times not older than :data:`RACY_NS` when they are whole seconds, than
    :data:`TICK_NS` when finer, or ahead of this clock. The result cache keeps to a looser rule
    (finer times are trusted, ahead of the clock too: ``dqm.cache._racy``): its key holds a print
    of the file's ends besides the stat, and is made once a run."""
    window = RACY_NS if all(t % 10**9 == 0 for t in times) else TICK_NS
    return now - max(times) < window


def current_run() -> str:
    """The run whose items this thread checks (:func:`in_run`); "" outside a run's item work."""
    return _RUN.get()


def stat_key(st: os.stat_result) -> tuple[int, int, int, int, int]:
    """A file's size, modification and change times, inode and device: another file, or this one
    rewritten (a rewrite that sets the modification time back still moves the change time)."""
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def _key(path: Path | str, st: os.stat_result) -> _Key:
    return (_RUN.get(), os.fspath(path), *stat_key(st))


def known(path: Path | str, st: os.stat_result) -> str | None:
    """The SHA-256 this process took of ``path`` in this run when its stat was ``st``; None when
    it took none (or kept none: :func:`remember`)."""
    key = _key(path, st)
    with _LOCK:
        digest = _MEMO.get(key)
        if digest is not None:
            _MEMO.move_to_end(key)
    return digest


def remember(path: Path | str, st: os.stat_result, digest: str, since: int, read: os.stat_result) -> None:
    """Keep ``digest``, the SHA-256 of ``path`` read whole after its stat ``st`` was taken, at
    ``since`` or later (:func:`time.time_ns`), from a descriptor whose ``os.fstat`` is ``read``;
    unless the stat cannot be trusted (:func:`racy`) or ``read`` is another file's, or the same
    file changed (its size, times, inode or device differ from ``st``)."""
    if stat_key(read) != stat_key(st) or racy((st.st_mtime_ns, st.st_ctime_ns), since):
        return
    key = _key(path, st)
    with _LOCK:
        _MEMO[key] = digest
        _MEMO.move_to_end(key)
        while len(_MEMO) > MEMO_SIZE:
            _MEMO.popitem(last=False)


def forget() -> None:
    """No digest kept (tests)."""
    with _LOCK:
        _MEMO.clear()
