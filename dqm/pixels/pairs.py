"""The near pairs among many slide hashes (:mod:`dqm.pixels.hashes`), found without comparing every pair.

Two slides are near when the Hamming distance between one's hash and one of the other's eight
orientations (90-degree rotations and flips) is at most a threshold ``d``. Comparing every pair is
quadratic: 34,000 slides took 107 s as tiled matrix products. This module finds the same pairs by
multi-index hashing (Norouzi, Punjani and Fleet, "Fast search in Hamming space with multi-index
hashing", CVPR 2012):

- **Pigeonhole.** The 192 bits are cut into ``m`` blocks. Two hashes at most ``d`` bits apart
  differ in at most ``d`` bits over all blocks together, so, writing ``d = m * r + a`` with
  ``0 <= a < m``, one of the first ``a + 1`` blocks differs in at most ``r`` bits or one of the
  others in at most ``r - 1`` (otherwise the total would be at least
  ``(a + 1) * (r + 1) + (m - a - 1) * r = d + 1``). A block whose radius comes out negative is not
  looked at: with more blocks than ``d``, some one of the first ``d + 1`` agrees exactly.
- **Index.** For each block an array holds the block's value in each orientation of every hash,
  sorted, with the hash's number. Each hash looks up every value within its block's radius of its
  own (its value with at most that many bits flipped): binary searches, no Python loop per hash.
- **Check.** Each candidate's full distance in that orientation is counted (XOR and popcount); those
  within ``d`` are the pairs, and their distance is the least over the eight orientations, as
  :func:`dqm.pixels.hashes.distance` gives it.

No pair within ``d`` can be missed and none farther is kept, so the result is exactly the quadratic
search's (tests/pixels/test_pairs.py compares them, pairs at the threshold included). The number of
blocks is chosen from the threshold and the numbers of hashes by the expected cost on hashes of
random bits (:func:`plan`); where the quadratic search is cheaper (a few hundred hashes, or a
threshold so wide that every block would be probed far around), it is used instead.
``python benchmarks/bench_duplicates.py --pairs-only`` times both. What the checks need of the
pairs, without listing them: :mod:`dqm.pixels.matches`.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Iterable, Iterator
from typing import NamedTuple

import numpy as np

from dqm.pixels.hashes import NBITS, WORDS, orientations, signs, tile_distances

ORIENTATIONS = 8
ROW_TILE = 512
COL_TILE = 2048
"""A tile of the quadratic search compares this many hashes with this many (under eight
orientations): a 512 x 16384 float32 product, 32 MiB."""
MAX_WIDTH = 22
"""A block is at most this many bits: its bucket table has ``2**width + 1`` entries (32 MiB)."""
MAX_MASKS = 1 << 16
"""A block is probed with at most this many flip patterns (its radius's Hamming ball)."""
PROBE_CHUNK = 1 << 17
"""Lookups made at once (memory: a few arrays of this many 64-bit values)."""
CANDIDATE_CHUNK = 1 << 17
"""Candidates checked at once."""
PAIR_BUDGET = 1 << 22
"""Pairs the indexed search holds before it gives way to comparing every pair (:func:`search`):
32 MiB of codes. Past it the hashes are so alike that nearly every candidate is a pair, and
comparing every pair, tile by tile, holds none of them."""
COST_PAIR = 25.0
COST_PROBE = 80.0
COST_CANDIDATE = 50.0
COST_ENTRY = 150.0
"""Rough nanoseconds, fitted on the loaded 2-core development machine (20,000 random hashes, 9 to
14 blocks): one orientation of one pair in the quadratic search, one lookup, one candidate looked
up, one index entry built (block value, sort)."""

Block = tuple[int, int, int]
"""``(first bit, width, radius)`` of a block; bit 0 is the most significant of the first word."""
Pair = tuple[int, int, int]
PairBlock = tuple[np.ndarray, np.ndarray, np.ndarray]
"""Pairs as three int64 arrays: first index, second index, distance."""


def blocks(m: int, max_distance: int) -> list[Block]:
    """The ``m`` blocks of :data:`NBITS` bits (widths differing by at most one) and the radius each
    is probed at for the threshold ``max_distance`` (the refined pigeonhole of the module docstring;
    -1: not probed)."""
    r, a = divmod(max_distance, m)
    out, start = [], 0
    for k in range(m):
        width = NBITS // m + (1 if k < NBITS % m else 0)
        out.append((start, width, r if k <= a else r - 1))
        start += width
    return out


def _ball(width: int, radius: int) -> int:
    """Values within ``radius`` bits of one ``width``-bit value."""
    return sum(math.comb(width, k) for k in range(radius + 1))


def plan(max_distance: int, rows: int, cols: int, same: bool) -> list[Block] | None:
    """The blocks that make the indexed search of ``rows`` hashes against ``cols`` (``same``: one
    set against itself) cheapest, or None when the quadratic search is expected to be cheaper.

    Expected on hashes of random bits: a block of ``b`` bits at radius ``r`` costs ``rows * V``
    lookups, ``V`` the values within ``r`` bits, and ``rows * 8 * cols * V / 2**b`` candidates
    (for one set, half of them are dropped unchecked: a pair is kept from its first hash only),
    against ``rows * cols * 8`` orientations of pairs (half of it for one set) compared by the
    quadratic search. Real hashes are not
    random (similar tissue shares bits), which makes the index slower, never wrong.
    """
    if max_distance < 0 or not rows or not cols:
        return None
    share = 0.5 if same else 1.0
    best, best_cost = None, rows * cols * ORIENTATIONS * share * COST_PAIR
    for m in range(math.ceil(NBITS / MAX_WIDTH), NBITS + 1):
        chosen = [b for b in blocks(m, max_distance) if b[2] >= 0]
        if any(w > MAX_WIDTH or _ball(w, r) > MAX_MASKS for _, w, r in chosen):
            continue
        probes = sum(_ball(w, r) for _, w, r in chosen)
        candidates = sum(_ball(w, r) / 2.0**w for _, w, r in chosen) * ORIENTATIONS * cols
        cost = rows * (probes * COST_PROBE + candidates * COST_CANDIDATE)
        cost += len(chosen) * cols * ORIENTATIONS * COST_ENTRY
        if cost < best_cost:
            best, best_cost = chosen, cost
    return best


def near_pairs(words: np.ndarray, max_distance: int) -> list[Pair]:
    """Every pair ``(i, j, d)``, ``i < j``, of rows of ``words`` (``(n, WORDS)`` uint64) whose
    :func:`dqm.pixels.hashes.distance` ``d`` is at most ``max_distance``, sorted."""
    return _listed(near_blocks(words, None, max_distance))


def cross_pairs(words: np.ndarray, others: np.ndarray, max_distance: int) -> list[Pair]:
    """Every ``(i, k, d)`` with row ``i`` of ``words`` and row ``k`` of ``others`` at most
    ``max_distance`` apart (two releases, each ``(n, WORDS)`` uint64), sorted."""
    return _listed(near_blocks(words, others, max_distance))


def quadratic(words: np.ndarray, others: np.ndarray | None, max_distance: int) -> list[Pair]:
    """Pairs ``(i, k, d)`` of rows of ``words`` and of ``others`` (``others`` None: of ``words``
    with itself, ``i < k``) at most ``max_distance`` apart, sorted: every pair compared, tile by
    tile (:func:`quadratic_blocks`)."""
    return _listed(quadratic_blocks(words, others, max_distance))


def quadratic_blocks(words: np.ndarray, others: np.ndarray | None, max_distance: int) -> Iterator[PairBlock]:
    """:func:`quadratic`'s pairs as they are found, one block of arrays ``(i, k, d)`` (int64) a
    tile (:func:`_quadratic_tiles`)."""
    for tile in _quadratic_tiles(words, others, max_distance):
        yield tile.pairs(max_distance, others is None)


class Tile(NamedTuple):
    """The distances of hashes ``r0, r0 + 1, ...`` to hashes ``c0, c0 + 1, ...`` (all of them)."""

    r0: int
    c0: int
    dist: np.ndarray

    def keep(self, max_distance: int, same: bool) -> np.ndarray:
        """Which distances are pairs (``same``: of one set, the first hash numbered lower)."""
        near = self.dist <= max_distance
        if same:
            near &= np.arange(self.r0, self.r0 + len(self.dist))[:, None] < np.arange(
                self.c0, self.c0 + self.dist.shape[1]
            )
        return near

    def pairs(self, max_distance: int, same: bool) -> PairBlock:
        i, k = np.nonzero(self.keep(max_distance, same))
        return self.r0 + i.astype(np.int64), self.c0 + k.astype(np.int64), self.dist[i, k].astype(np.int64)


def _quadratic_tiles(words: np.ndarray, others: np.ndarray | None, max_distance: int) -> Iterator[Tile]:
    """Every pair compared, tile by tile, as float32 matrix products of the bits as +-1 under all
    eight orientations at once (``8 * NBITS`` multiply-adds a pair, memory
    ``O(ROW_TILE * COL_TILE * 8)`` beyond the hashes, whatever the number of pairs); tiles with
    no pair left out, and for one set only those over the diagonal."""
    words, cols, same = _operands(words, others)
    if not len(words) or not len(cols):
        return
    row_signs = signs(words)
    variants = orientations(cols).swapaxes(0, 1)  # (8, m, WORDS): to signs one column tile at a time
    for c0 in range(0, len(cols), COL_TILE):
        c1 = min(len(cols), c0 + COL_TILE)
        tile = signs(variants[:, c0:c1])
        for r0 in range(0, c1 - 1 if same else len(words), ROW_TILE):  # same: rows under the columns
            r1 = min(len(words), r0 + ROW_TILE)
            dist = tile_distances(row_signs[r0:r1], tile)
            if int(dist.min()) <= max_distance:
                yield Tile(r0, c0, dist)


def search(words: np.ndarray, others: np.ndarray | None, max_distance: int) -> Iterator[PairBlock | Tile]:
    """The near pairs of rows of ``words`` and of ``others`` (None: of ``words`` with itself,
    ``i < k``) as they are found, in memory bounded whatever their number: blocks of pairs from
    the indexed search while it holds at most :data:`PAIR_BUDGET`, else (hashes so alike that
    nearly every candidate is a pair) the :class:`Tile` s of distances of every pair compared
    (:mod:`dqm.pixels.matches` tallies a tile as it is, with no list of its pairs)."""
    words, cols, same = _operands(words, others)
    chosen = plan(max_distance, len(words), len(cols), same)
    codes = None
    if chosen is not None:
        with contextlib.suppress(_Crowded):
            variants = orientations(cols)
            codes = _indexed_codes(words, variants, same, max_distance, chosen, PAIR_BUDGET)
    if codes is None:
        yield from _quadratic_tiles(words, None if same else cols, max_distance)
    else:
        yield from _decoded(words, variants, codes)


def _listed(found: Iterable[PairBlock]) -> list[Pair]:
    """Blocks of pairs as one sorted list of ``(i, k, d)``."""
    out: list[Pair] = []
    for i, k, d in found:
        out.extend(zip(i.tolist(), k.tolist(), d.tolist(), strict=True))
    return sorted(out)


def _block_values(words: np.ndarray, start: int, width: int) -> np.ndarray:
    """Bits ``start`` to ``start + width`` of each row of ``words`` (``(n, WORDS)`` uint64) as one
    unsigned integer, the first bit most significant."""
    value = np.zeros(len(words), dtype=np.uint64)
    end = start + width
    for w in range(start // 64, (end - 1) // 64 + 1):
        lo, hi = max(start, 64 * w) - 64 * w, min(end, 64 * (w + 1)) - 64 * w  # bits [lo, hi) of word w
        part = (words[:, w] >> np.uint64(64 - hi)) & np.uint64((1 << (hi - lo)) - 1)
        value = (value << np.uint64(hi - lo)) | part
    return value


def _flips(width: int, radius: int) -> np.ndarray:
    """Every ``width``-bit pattern of at most ``radius`` set bits (the XOR masks of a lookup)."""
    out = [0]
    for k in range(1, radius + 1):
        out.extend(sum(1 << b for b in bits) for bits in itertools.combinations(range(width), k))
    return np.array(out, dtype=np.uint64)


def indexed(
    words: np.ndarray, others: np.ndarray | None, max_distance: int, chosen: list[Block]
) -> list[Pair]:
    """:func:`quadratic`'s pairs, found by multi-index hashing over the blocks ``chosen`` (which
    must cover the pigeonhole for ``max_distance``: :func:`blocks` gives them; each at most
    :data:`MAX_WIDTH` bits)."""
    words, cols, same = _operands(words, others)
    variants = orientations(cols)
    return _listed(
        _decoded(words, variants, _indexed_codes(words, variants, same, max_distance, chosen, None))
    )


class _Crowded(Exception):
    """The indexed search found more than its budget of pairs."""


def _indexed_codes(
    words: np.ndarray,
    variants: np.ndarray,
    same: bool,
    max_distance: int,
    chosen: list[Block],
    budget: int | None,
) -> np.ndarray:
    """:func:`indexed`'s pairs as sorted codes ``i * len(cols) + k`` (``variants``: the
    :func:`orientations` of ``cols``); :class:`_Crowded` once more
    than ``budget`` are held (a pair found through several blocks or orientations counts each
    time; None: no limit)."""
    if any(width > MAX_WIDTH for _, width, _ in chosen):
        raise ValueError(f"a block is wider than {MAX_WIDTH} bits")
    if not len(words) or not len(variants):
        return np.zeros(0, dtype=np.int64)
    flat = variants.reshape(-1, WORDS)
    rows = [np.ascontiguousarray(words[:, w]) for w in range(WORDS)]
    owner = np.repeat(np.arange(len(variants), dtype=np.int64), ORIENTATIONS)
    found: list[np.ndarray] = []
    held = 0
    for start, width, radius in chosen:
        # the entries sorted by the block's value; bucket v is entries offsets[v]:offsets[v + 1]
        value = _block_values(flat, start, width)
        order = np.argsort(value, kind="stable")
        offsets = np.zeros((1 << width) + 1, dtype=np.int64)
        np.cumsum(np.bincount(value.astype(np.int64), minlength=1 << width), out=offsets[1:])
        index = _Index(
            owner[order], [np.ascontiguousarray(flat[order, w]) for w in range(WORDS)], offsets, len(variants)
        )
        flips = _flips(width, radius)
        values = _block_values(words, start, width)
        step = max(1, PROBE_CHUNK // len(flips))
        for r0 in range(0, len(words), step):
            r1 = min(len(words), r0 + step)
            probe = (values[r0:r1, None] ^ flips[None, :]).ravel().astype(np.int64)
            who = np.repeat(np.arange(r0, r1, dtype=np.int64), len(flips))
            found.append(
                index.check(rows, who, probe, max_distance, same, None if budget is None else budget - held)
            )
            held += len(found[-1])
    return np.unique(np.concatenate(found))


def _decoded(words: np.ndarray, variants: np.ndarray, codes: np.ndarray) -> Iterator[PairBlock]:
    """The pairs of the codes ``i * len(cols) + k`` with their distances, a block at a time
    (``variants``: the :func:`orientations` of ``cols``)."""
    for c0 in range(0, len(codes), CANDIDATE_CHUNK):
        first, second = np.divmod(codes[c0 : c0 + CANDIDATE_CHUNK], np.int64(len(variants)))
        diff = variants[second] ^ words[first][:, None, :]
        yield first, second, np.bitwise_count(diff).sum(axis=2, dtype=np.int64).min(axis=1)


def near_blocks(words: np.ndarray, others: np.ndarray | None, max_distance: int) -> Iterator[PairBlock]:
    """:func:`search`'s pairs as blocks of arrays ``(i, k, d)``, in no order."""
    for found in search(words, others, max_distance):
        yield found.pairs(max_distance, others is None) if isinstance(found, Tile) else found


def _operands(words: np.ndarray, others: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, bool]:
    """``words``, the hashes it is compared with (itself when ``others`` is None), and whether they are one set."""
    words = np.asarray(words, dtype=np.uint64).reshape(-1, WORDS)
    if others is None:
        return words, words, True
    return words, np.asarray(others, dtype=np.uint64).reshape(-1, WORDS), False


class _Index:
    """One block's entries (every orientation of every hash) sorted by the block's value: each
    entry's hash number and words (one array a word: gathers from 1-D arrays are the fastest),
    and where each value's bucket starts (bucket ``v`` is entries ``offsets[v]:offsets[v + 1]``)."""

    def __init__(self, owner: np.ndarray, words: list[np.ndarray], offsets: np.ndarray, hashes: int) -> None:
        self.owner, self.words, self.offsets, self.hashes = owner, words, offsets, hashes

    def check(
        self,
        rows: list[np.ndarray],
        who: np.ndarray,
        probe: np.ndarray,
        max_distance: int,
        same: bool,
        room: int | None,
    ) -> np.ndarray:
        """The pairs, as ``row * hashes + hash`` (int64), among the entries in bucket ``probe[k]``
        of row ``who[k]`` of ``rows`` (the query hashes, one array a word), at most ``max_distance`` apart in the
        entry's orientation; ``same``: only hashes numbered after the row. :class:`_Crowded` when
        more than ``room`` (None: no limit)."""
        lo, hi = self.offsets[probe], self.offsets[probe + 1]
        hit = hi > lo
        who, lo, counts = who[hit], lo[hit], (hi - lo)[hit]
        ends = np.cumsum(counts)
        total = int(ends[-1]) if len(ends) else 0
        out = [np.zeros(0, dtype=np.int64)]
        cuts = [
            0,
            *np.searchsorted(ends, np.arange(CANDIDATE_CHUNK, total, CANDIDATE_CHUNK)).tolist(),
            len(who),
        ]
        for a, b in itertools.pairwise(cuts):
            if a >= b:
                continue
            n = counts[a:b]
            base = int(ends[a - 1]) if a else 0
            pos = np.repeat(lo[a:b] - (ends[a:b] - n - base), n) + np.arange(int(ends[b - 1]) - base)
            row = np.repeat(who[a:b], n)
            col = self.owner[pos]
            if same:
                later = col > row
                pos, row, col = pos[later], row[later], col[later]
            dist = np.zeros(len(pos), dtype=np.uint8)
            for mine, theirs in zip(rows, self.words, strict=True):
                dist += np.bitwise_count(mine[row] ^ theirs[pos])
            near = dist <= max_distance
            out.append(row[near] * self.hashes + col[near])
            if room is not None:
                room -= len(out[-1])
                if room < 0:
                    raise _Crowded
        return np.concatenate(out)
