"""The near-pair search: multi-index hashing finds exactly the pairs, and distances, that comparing
every pair finds, under every rotation and flip, pairs at exactly the threshold included."""

from __future__ import annotations

import numpy as np
import pytest

from dqm.pixels import pairs
from dqm.pixels.hashes import NBITS, WORDS, distance, orientations
from dqm.pixels.pairs import blocks, cross_pairs, indexed, near_pairs, plan, quadratic


def random_words(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, np.iinfo(np.uint64).max, (n, WORDS), dtype=np.uint64, endpoint=True)


def flipped(words: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """``words`` with ``count`` distinct bits flipped."""
    out = words.copy()
    for bit in rng.choice(NBITS, count, replace=False):
        out[bit // 64] ^= np.uint64(1) << np.uint64(63 - bit % 64)
    return out


def planted(rng: np.random.Generator, n: int, max_distance: int) -> np.ndarray:
    """``n`` random hashes, then for a third of them a copy in a random orientation with
    ``max_distance - 1``, ``max_distance`` or ``max_distance + 1`` bits flipped, and a few
    hashes all near one centre (crowded buckets)."""
    words = random_words(rng, n)
    copies = []
    for k in range(n // 3):
        turned = orientations(words[k : k + 1])[0, rng.integers(8)]
        copies.append(flipped(turned, max(0, max_distance + (k % 3) - 1), rng))
    centre = random_words(rng, 1)[0]
    crowd = [flipped(centre, int(rng.integers(0, max_distance + 2)), rng) for _ in range(12)]
    return np.concatenate([words, np.array(copies), np.array(crowd)])


@pytest.mark.parametrize(
    ("max_distance", "m"), [(0, 9), (3, 9), (32, 10), (32, 12), (32, 16), (32, 40), (40, 11)]
)
def test_indexed_search_finds_exactly_what_comparing_every_pair_finds(
    max_distance: int, m: int, monkeypatch
) -> None:
    rng = np.random.default_rng(max_distance * 100 + m)
    words = planted(rng, 240, max_distance)
    monkeypatch.setattr(pairs, "PROBE_CHUNK", 1000)  # many lookup and candidate chunks
    monkeypatch.setattr(pairs, "CANDIDATE_CHUNK", 64)
    chosen = [b for b in blocks(m, max_distance) if b[2] >= 0]
    expected = quadratic(words, None, max_distance)
    assert indexed(words, None, max_distance, chosen) == expected
    at_threshold = {(i, j) for i, j, d in expected if d == max_distance}
    assert {(k, 240 + k) for k in range(1, 80, 3)} <= at_threshold, "copies at exactly the threshold"
    beyond = {(k, 240 + k) for k in range(2, 80, 3)}
    assert not beyond & {(i, j) for i, j, _ in expected}, "copies one bit past it are not pairs"
    # the other release: the copies against their originals, each under its own orientation
    cross = quadratic(words[240:], words[:240], max_distance)
    assert indexed(words[240:], words[:240], max_distance, chosen) == cross
    assert [(i, k) for i, k, _ in cross if i < 80 and i % 3 != 2] == [(k, k) for k in range(80) if k % 3 != 2]


def test_the_distances_are_the_least_over_orientations() -> None:
    rng = np.random.default_rng(3)
    words = planted(rng, 90, 32)
    for i, j, d in near_pairs(words, 32):
        assert d == distance(words[i], words[j])


def test_the_plan_covers_the_pigeonhole_and_falls_back_to_every_pair() -> None:
    for d in (0, 1, 7, 32, 47):
        for m in (6, 9, 12, 33):
            radii = [r for _, _, r in blocks(m, d)]
            # a distribution of d differing bits over the blocks that every block's radius misses
            # would need d >= sum(r + 1) over the blocks
            assert sum(r + 1 for r in radii) > d
            assert sum(w for _, w, _ in blocks(m, d)) == NBITS
    assert plan(32, 50, 50, True) is None, "a few hashes: comparing every pair is cheaper"
    chosen = plan(32, 34_000, 34_000, True)
    assert chosen is not None and all(w <= pairs.MAX_WIDTH for _, w, _ in chosen)
    assert plan(120, 34_000, 34_000, True) is None, "a threshold so wide that no block helps"


@pytest.mark.parametrize("cost_pair", [1e6, 0.0])
def test_public_search_gives_the_same_pairs_by_either_search(cost_pair: float, monkeypatch) -> None:
    rng = np.random.default_rng(8)
    words = planted(rng, 300, 32)
    expected = quadratic(words, None, 32)
    monkeypatch.setattr(pairs, "COST_PAIR", cost_pair)  # 1e6: the index, always; 0: every pair
    assert (plan(32, len(words), len(words), True) is None) == (cost_pair == 0.0)
    assert near_pairs(words, 32) == expected
    assert cross_pairs(words[300:], words[:300], 32) == quadratic(words[300:], words[:300], 32)


def test_quadratic_tiles_agree_with_one_tile(monkeypatch) -> None:
    rng = np.random.default_rng(5)
    words = planted(rng, 60, 70)
    whole = quadratic(words, None, 70)
    monkeypatch.setattr(pairs, "ROW_TILE", 7)  # many small tiles
    monkeypatch.setattr(pairs, "COL_TILE", 11)
    assert quadratic(words, None, 70) == whole
    assert quadratic(words[60:], words[:60], 70) == quadratic(words[60:], words[:60], 70)


def test_empty_and_single_inputs() -> None:
    empty = np.zeros((0, WORDS), np.uint64)
    assert near_pairs(empty, 10) == []
    assert near_pairs(np.zeros((1, WORDS), np.uint64), 10) == []
    assert cross_pairs(empty, np.zeros((3, WORDS), np.uint64), 5) == []
    assert indexed(np.zeros((1, WORDS), np.uint64), None, 4, blocks(9, 4)) == []
    assert indexed(np.zeros((2, WORDS), np.uint64), None, 4, blocks(9, 4)) == [(0, 1, 0)]
