"""What the duplicate checks need of the near pairs among slide hashes (:mod:`dqm.pixels.pairs`):
each slide's number of matches and its worst match, in memory O(n) whatever the number of pairs.

Alike slides (a control slide scanned many times, near-empty slides, one slide under many names)
make the pairs themselves quadratic: ``n`` of them are ``n^2 / 2`` pairs, 590 million for 34,000,
where a finding a slide is all the checks report. So the pairs are tallied as they are found, never
listed:

- **Identical hashes searched once.** The rows are grouped by hash (``np.unique``); the search
  runs on the distinct hashes, and each pair of them, or a group with itself, stands for every
  pair of their rows.
- **Tallied a block at a time.** The search's blocks of pairs (:func:`dqm.pixels.pairs.search`)
  and a big group's pairs, as matrices of at most :data:`DENSE_TILE`, update per row a count and
  the least key ``(rank, distance, other row)`` packed in one int64; the index search gives way to
  comparing every pair when nearly every candidate is a pair (:data:`dqm.pixels.pairs.PAIR_BUDGET`),
  whose tiles of distances are tallied as they are.

The counts and worst matches are those of listing every pair and aggregating it
(tests/pixels/test_matches.py compares them). The work stays quadratic where the pairs are: a
group of ``g`` identical hashes is ``g^2 / 2`` pairs tallied (as matrices, no distance computed),
``n`` distinct hashes all near one another ``n^2 / 2`` pairs compared and tallied;
``python benchmarks/bench_duplicates.py --alike 34376`` times both (docs/batch-format.md).
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np

from dqm.pixels.hashes import NBITS, WORDS
from dqm.pixels.pairs import PairBlock, Tile, search

DENSE = 1 << 14
"""Two groups of identical hashes with at least this many pairs of members between them (or one
group with this many within it) are tallied as a matrix, tile by tile, rather than pair by pair."""
DENSE_TILE = 1 << 21
"""Member pairs tallied at once (as a matrix of this many, or as arrays of this many pairs):
some 20 bytes each in the few temporary arrays."""
NO_MATCH = np.iinfo(np.int64).max


class Matches(NamedTuple):
    """For each row of the hashes searched: the number of its matches, and its worst match's rank,
    distance and row (-1 where it has none)."""

    number: np.ndarray
    rank: np.ndarray
    distance: np.ndarray
    other: np.ndarray


class _Groups:
    """Rows of one hash array grouped by identical hash: the distinct hashes (``unique``), and for
    distinct hash ``u`` its rows ``members[starts[u]:starts[u + 1]]``, in row order."""

    def __init__(self, words: np.ndarray) -> None:
        self.unique, inverse = np.unique(words, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        self.members = np.argsort(inverse, kind="stable")
        self.starts = np.zeros(len(self.unique) + 1, dtype=np.int64)
        np.cumsum(np.bincount(inverse, minlength=len(self.unique)), out=self.starts[1:])
        self.size = np.diff(self.starts)

    def rows(self, u: int) -> np.ndarray:
        return self.members[self.starts[u] : self.starts[u + 1]]


class _Tally:
    """Per row: the number of its matches and the least key among them."""

    def __init__(self, n: int, others: int) -> None:
        self.count = np.zeros(n, dtype=np.int64)
        self.best = np.full(n, NO_MATCH, dtype=np.int64)
        self.others = max(1, others)

    def key(self, rank: np.ndarray | int, d: np.ndarray | int, other: np.ndarray) -> np.ndarray:
        """The worst match first: rank, then distance, then the other row."""
        return (np.asarray(rank, dtype=np.int64) * (NBITS + 1) + d) * self.others + other

    def scatter(self, target: np.ndarray, key: np.ndarray) -> None:
        self.count += np.bincount(target, minlength=len(self.count))
        np.minimum.at(self.best, target, key)

    def reduce(self, target: np.ndarray, key: np.ndarray, valid: np.ndarray, axis: int) -> None:
        """Matches in a matrix whose ``axis`` runs over the other rows, ``target`` along the other axis."""
        if valid.size:
            self.count[target] += valid.sum(axis=axis)
            least = np.where(valid, key, NO_MATCH).min(axis=axis)
            self.best[target] = np.minimum(self.best[target], least)

    def matches(self) -> Matches:
        found = self.count > 0
        rest, other = np.divmod(self.best, self.others)
        rank, d = np.divmod(rest, NBITS + 1)
        return Matches(self.count, *(np.where(found, v, -1) for v in (rank, d, other)))


class _NearTally(_Tally):
    """Slides of one batch: each row's matches are the earlier rows near it, less those of the same
    file (equal in some column of ``files``); the rank of a match is 0 for two known, different
    patients, 1 where either is unknown (negative code), 2 for one patient."""

    def __init__(self, patients: np.ndarray, files: np.ndarray) -> None:
        super().__init__(len(patients), len(patients))
        self.patients = patients
        self.files = [np.ascontiguousarray(files[:, c]) for c in range(files.shape[1])]

    def _judged(self, a: np.ndarray, b: np.ndarray, d: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
        """Keys (on the earlier row) and which pairs count, for rows ``a`` and ``b`` (broadcast)."""
        pa, pb = self.patients[a], self.patients[b]
        rank = np.where((pa < 0) | (pb < 0), 1, np.where(pa == pb, 2, 0))
        same = np.zeros(np.broadcast_shapes(a.shape, b.shape), dtype=bool)
        for column in self.files:
            same |= column[a] == column[b]
        return self.key(rank, d, np.minimum(a, b)), ~same

    def group(self, rows: np.ndarray) -> bool:
        """The pairs within a group of identical hashes (``rows``, in row order, at distance 0)
        when no two of them are one file, in O(g log g): each row's matches are all the rows
        before it, its worst the first of the worst rank. False, nothing tallied, when two are."""
        if any(len(np.unique(column[rows])) < len(rows) for column in self.files):
            return False
        pos = np.arange(len(rows))
        patient = self.patients[rows]
        known = patient >= 0

        def first(where: np.ndarray) -> int:
            return int(np.argmax(where)) if where.any() else len(rows)

        lead = first(known)  # the first row of a known patient
        other = first(known & (patient != patient[min(lead, len(rows) - 1)]))  # of another
        # the first row of another patient than each row's, and of no known patient (for a row
        # of none: any); with neither before it, every row before it is of its patient
        candidates = (
            np.where(patient == patient[min(lead, len(rows) - 1)], other, lead),
            np.where(known, first(~known), 0),
        )
        rank = np.where(known & (candidates[0] < pos), 0, np.where(candidates[1] < pos, 1, 2))
        worst = np.where(rank == 0, candidates[0], np.where(rank == 1, candidates[1], 0))
        later = rows[1:]
        self.count[later] += pos[1:]
        self.best[later] = np.minimum(self.best[later], self.key(rank[1:], 0, rows[worst[1:]]))
        return True

    def pairs(self, a: np.ndarray, b: np.ndarray, d: np.ndarray, keep: np.ndarray | None) -> None:
        key, valid = self._judged(a, b, d)
        if keep is not None:
            valid &= keep
        self.scatter(np.maximum(a, b)[valid], key[valid])

    def matrix(
        self, rows: np.ndarray, cols: np.ndarray, d: np.ndarray | int, keep: np.ndarray | None, within: bool
    ) -> None:
        a, b = rows[:, None], cols[None, :]
        key, valid = self._judged(a, b, d)
        if keep is not None:
            valid &= keep
        self.reduce(cols, key, valid & (a < b), 0)
        if not within:  # within one group only a < b is listed
            self.reduce(rows, key, valid & (a > b), 1)


class _CrossTally(_Tally):
    """Slides of a batch against an earlier release's: each row's matches are the earlier slides
    near it whose name code is none of the row's ``own`` codes."""

    def __init__(self, own: np.ndarray, names: np.ndarray) -> None:
        super().__init__(len(own), len(names))
        self.own = [np.ascontiguousarray(own[:, c]) for c in range(own.shape[1])]
        self.names = names

    def _valid(self, a: np.ndarray, k: np.ndarray) -> np.ndarray:
        mine = np.zeros(np.broadcast_shapes(a.shape, k.shape), dtype=bool)
        for column in self.own:
            mine |= column[a] == self.names[k]
        return ~mine

    def pairs(self, a: np.ndarray, k: np.ndarray, d: np.ndarray, keep: np.ndarray | None) -> None:
        valid = self._valid(a, k)
        if keep is not None:
            valid &= keep
        self.scatter(a[valid], self.key(0, d[valid], k[valid]))

    def matrix(
        self, rows: np.ndarray, cols: np.ndarray, d: np.ndarray | int, keep: np.ndarray | None, within: bool
    ) -> None:
        a, k = rows[:, None], cols[None, :]
        valid = self._valid(a, k)
        if keep is not None:
            valid &= keep
        self.reduce(rows, self.key(0, d, k), valid, 1)


def near_matches(words: np.ndarray, max_distance: int, patients: np.ndarray, files: np.ndarray) -> Matches:
    """For each row ``j`` of ``words`` (``(n, WORDS)`` uint64): its matches, the rows ``i < j``
    near it (:func:`near_pairs`) that are not the same file as ``j`` (``files``: ``(n, c)`` codes,
    two rows are one file when equal in some column; a row without a value must hold one no other
    row has), and the worst of them by rank (of the patient codes, ``patients``, negative:
    unknown; see :class:`_NearTally`), distance, row.

    Memory O(n) whatever the number of pairs: identical hashes are searched once (one distinct
    hash a group) and their pairs tallied as they are found, in bounded blocks, never listed. A
    group of ``g`` identical hashes of as many files is tallied in O(g log g) (:meth:`_NearTally.group`),
    one where some are one file as ``g^2 / 2`` pairs; ``n`` distinct hashes all near one another
    are ``n^2 / 2`` pairs compared."""
    words = np.asarray(words, dtype=np.uint64).reshape(-1, WORDS)
    tally = _NearTally(np.asarray(patients, dtype=np.int64), np.asarray(files, dtype=np.int64))
    if len(words):
        groups = _Groups(words)
        crowded = [u for u in np.nonzero(groups.size > 1)[0].tolist() if not tally.group(groups.rows(u))]
        within = (
            np.array(crowded, dtype=np.int64),
            np.array(crowded, dtype=np.int64),
            np.zeros(len(crowded), dtype=np.int64),
        )
        for found in itertools.chain([within], search(groups.unique, None, max_distance)):
            _tally_found(tally, found, groups, groups, max_distance)
    return tally.matches()


def cross_matches(
    words: np.ndarray, others: np.ndarray, max_distance: int, own: np.ndarray, names: np.ndarray
) -> Matches:
    """For each row of ``words``: its matches, the rows ``k`` of ``others`` near it
    (:func:`cross_pairs`) whose name code ``names[k]`` is none of the row's ``own`` (``(n, c)``
    codes), and the nearest of them (distance, then row; rank 0). Memory O(n + m) as in
    :func:`near_matches`."""
    words = np.asarray(words, dtype=np.uint64).reshape(-1, WORDS)
    others = np.asarray(others, dtype=np.uint64).reshape(-1, WORDS)
    tally = _CrossTally(np.asarray(own, dtype=np.int64), np.asarray(names, dtype=np.int64))
    if len(words) and len(others):
        mine, theirs = _Groups(words), _Groups(others)
        for found in search(mine.unique, theirs.unique, max_distance):
            _tally_found(tally, found, mine, theirs, max_distance)
    return tally.matches()


def _tally_found(
    tally: _NearTally | _CrossTally, found: PairBlock | Tile, a: _Groups, b: _Groups, max_distance: int
) -> None:
    """Pairs or a tile of distances of distinct hashes (of ``a`` and ``b``) into ``tally``: a tile
    of hashes one row each as it is, the rest pair by pair."""
    if isinstance(found, Tile):
        r1, c1 = found.r0 + len(found.dist), found.c0 + found.dist.shape[1]
        if a.size[found.r0 : r1].max() > 1 or b.size[found.c0 : c1].max() > 1:
            _tally_groups(tally, found.pairs(max_distance, a is b), a, b)
        else:
            rows, cols = a.members[a.starts[found.r0 : r1]], b.members[b.starts[found.c0 : c1]]
            keep = found.keep(max_distance, a is b)
            tally.matrix(rows, cols, found.dist.astype(np.int64), keep, False)
    else:
        _tally_groups(tally, found, a, b)


def _tally_groups(tally: _NearTally | _CrossTally, block: PairBlock, a: _Groups, b: _Groups) -> None:
    """Every pair of rows of the near distinct hashes ``block`` (``u`` of ``a``, ``v`` of ``b``, at
    ``d``; ``u == v`` of one set: the group's own pairs) into ``tally``."""
    u, v, d = block
    size = a.size[u] * b.size[v]
    within = (u == v) & (a is b)
    for x in np.nonzero(size >= DENSE)[0]:
        rows, cols = a.rows(int(u[x])), b.rows(int(v[x]))
        step = max(1, DENSE_TILE // len(cols))
        for r0 in range(0, len(rows), step):
            if within[x]:  # rows r0.. against the rows after r0 only
                tally.matrix(rows[r0 : r0 + step], cols[r0 + 1 :], int(d[x]), None, True)
            else:
                tally.matrix(rows[r0 : r0 + step], cols, int(d[x]), None, False)
    small = np.nonzero(size < DENSE)[0]
    if not len(small):
        return
    u, v, d, size, within = u[small], v[small], d[small], size[small], within[small]
    if not within.any() and (size == 1).all():  # distinct hashes: one row each
        tally.pairs(a.members[a.starts[u]], b.members[b.starts[v]], d, None)
        return
    ends = np.cumsum(size)
    cuts = [0, *np.searchsorted(ends, np.arange(DENSE_TILE, int(ends[-1]), DENSE_TILE)).tolist(), len(u)]
    for p, q in itertools.pairwise(cuts):
        if p >= q:
            continue
        base = int(ends[p - 1]) if p else 0
        which = np.repeat(np.arange(p, q), size[p:q])
        t = np.arange(int(ends[q - 1]) - base) - np.repeat(ends[p:q] - size[p:q] - base, size[p:q])
        x, y = np.divmod(t, b.size[v[which]])
        keep = ~(within[which] & (x >= y))
        tally.pairs(a.members[a.starts[u[which]] + x], b.members[b.starts[v[which]] + y], d[which], keep)
