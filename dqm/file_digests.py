"""The SHA-256 of files this process has read whole, by their stat: a file many items share (one
COCO file for every image of a delivery, one slide for many manifest rows) is hashed once a
process, not once an item.

A digest is kept under the file's path, size, modification and change times (ns), inode and
device, as the stat taken *before* the file was read, and given again only for a file whose stat
is the same. A stat is trusted only as git trusts one: a file whose times are not older than the
moment it was read (:func:`racy`) could be written again within the same tick of the clock its
times are stamped from, keeping its stat; its digest is not kept, and every reading hashes it
again until it is older (the cost is bounded: at most :data:`RACY_NS` of readings). The result
cache (:mod:`dqm.cache`) keeps to the same rule for whole-second times.

At most :data:`MEMO_SIZE` digests are kept (least recently used out first).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

RACY_NS = 3 * 10**9
"""How long a file whose times are whole seconds (a filesystem that keeps no finer ones; FAT
keeps two seconds) may still change without changing them."""
TICK_NS = 50 * 10**6
"""The same for finer times: the kernel stamps a file's times from a clock that moves a tick at a
time (1-10 ms) and may lag this process's clock by one; 50 ms leaves room for both."""
MEMO_SIZE = 1024
"""Digests kept (about 200 bytes each)."""

_MEMO: OrderedDict[tuple[str, int, int, int, int, int], str] = OrderedDict()
_LOCK = threading.Lock()
"""A Dask worker may run items in several threads."""


def racy(times: Sequence[int], now: int, tick: int = TICK_NS) -> bool:
    """Whether a file whose modification and change times (ns) are ``times``, stat'ed or read at
    ``now`` (:func:`time.time_ns`, taken before), may change without changing them (git's
    "racily clean"): times not older than :data:`RACY_NS` when they are whole seconds, than
    ``tick`` when finer, or ahead of this clock. The result cache passes ``tick=0``: its key
    holds a print of the file's ends besides the stat, and is made once a run."""
    window = RACY_NS if all(t % 10**9 == 0 for t in times) else tick
    return now - max(times) < window


def _key(path: Path | str, st: os.stat_result) -> tuple[str, int, int, int, int, int]:
    return (os.fspath(path), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def known(path: Path | str, st: os.stat_result) -> str | None:
    """The SHA-256 this process took of ``path`` when its stat was ``st``; None when it took none
    (or kept none: :func:`remember`)."""
    key = _key(path, st)
    with _LOCK:
        digest = _MEMO.get(key)
        if digest is not None:
            _MEMO.move_to_end(key)
    return digest


def remember(path: Path | str, st: os.stat_result, digest: str, since: int) -> None:
    """Keep ``digest``, the SHA-256 of ``path`` read whole after its stat ``st`` was taken, at
    ``since`` or later (:func:`time.time_ns`), unless the stat cannot be trusted (:func:`racy`)."""
    if racy((st.st_mtime_ns, st.st_ctime_ns), since):
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
