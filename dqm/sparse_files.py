"""Sparse files: a file whose size is mostly holes, which reading whole would expand from a few
bytes on disk to its whole apparent size (``truncate -s 1T`` makes one of a terabyte at once).

A delivered slide, annotation file or mask is never mostly holes: a sparse one is a preallocated
or interrupted copy. Hashing such a file whole would read its holes as zeros (a terabyte: hours),
so every whole read of a batch file (:func:`dqm.slide_io.full_hash`, the annotation reader) asks
:func:`sparse_of` first, and the file becomes the finding ``FILE_SPARSE`` instead.

A file is sparse when all three hold:

* its apparent size (``st_size``) is over :data:`SPARSE_MIN_BYTES`: below it a whole read costs
  little, and filesystems round allocations;
* its allocated size (``st_blocks`` × 512) is under 1/:data:`SPARSE_RATIO` of it: a filesystem
  that compresses (ZFS; btrfs reports the uncompressed size) shows fewer blocks than bytes, and
  a slide (JPEG tiles) or a mask (deflate) does not compress further; a text annotation compresses
  more, hence the next rule;
* the file has a hole before its end (``lseek(SEEK_HOLE)`` from 0 lands before ``st_size``). A
  compressed file has none, and a filesystem that cannot report holes (a FUSE or network mount
  without ``SEEK_HOLE``, whose ``st_blocks`` may be 0 for every file) answers with the end of the
  file, as the kernel's default does: such a file is never called sparse.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

SPARSE_MIN_BYTES = 64 * 1024 * 1024
"""Files up to this size are never called sparse (a whole read of 64 MiB takes a fraction of a second)."""
SPARSE_RATIO = 8
"""A file is sparse when its allocated size is under 1/8 of its apparent size (and it has holes)."""


@dataclass(frozen=True, slots=True)
class Sparse:
    """A sparse file's sizes in bytes."""

    apparent: int
    """``st_size``: what reading the file whole would read."""
    allocated: int
    """``st_blocks`` × 512: what the file holds on disk."""


class SparseFileError(OSError):
    """A file was not read whole because it is sparse (:func:`sparse_of`)."""

    def __init__(self, found: Sparse, path: object = None) -> None:
        text = (
            f"a sparse file: {found.apparent} bytes long, {found.allocated} of them on disk (not read whole)"
        )
        super().__init__(text)
        self.strerror = text  # the reason callers show of any OSError
        self.sparse = found
        self.path = path


def sparse_of(fd: int, st: os.stat_result | None = None) -> Sparse | None:
    """The sizes of the open file ``fd`` when it is sparse (see the module), else None.

    ``st``: its ``os.fstat`` when already taken. Costs one ``lseek`` beyond the stat, and only
    for a file whose blocks are few enough: moves the file's position (seek back before reading).
    """
    st = os.fstat(fd) if st is None else st
    found = _by_blocks(st)
    if found is None or not hasattr(os, "SEEK_HOLE"):
        return None
    try:
        hole = os.lseek(fd, 0, os.SEEK_HOLE)
    except OSError:  # holes cannot be asked for: nothing says the file has any
        return None
    return found if hole < st.st_size else None


def sparse_at(path: str | os.PathLike[str], st: os.stat_result | None = None) -> Sparse | None:
    """:func:`sparse_of` for a path; ``st``: its ``os.stat`` when already taken. Opens the file
    only when its blocks are few enough. Raises OSError when it cannot be opened or stat'ed."""
    st = os.stat(path) if st is None else st
    if _by_blocks(st) is None:
        return None
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        return sparse_of(fd)
    finally:
        os.close(fd)


def _by_blocks(st: os.stat_result) -> Sparse | None:
    """The sizes when the blocks say the file may be sparse (the first two rules of the module)."""
    blocks = getattr(st, "st_blocks", None)  # not on Windows
    if blocks is None or st.st_size <= SPARSE_MIN_BYTES:
        return None
    allocated = blocks * 512
    return Sparse(st.st_size, allocated) if allocated * SPARSE_RATIO < st.st_size else None
