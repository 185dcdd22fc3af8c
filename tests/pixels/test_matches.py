"""Each slide's matches and worst match, tallied as the pairs are found (identical hashes searched
once): the same as listing every pair and aggregating it, whichever way the pairs are tallied."""

from __future__ import annotations

import numpy as np
import pytest

from dqm.pixels import matches, pairs
from dqm.pixels.hashes import WORDS, orientations
from dqm.pixels.pairs import cross_pairs, near_pairs, quadratic
from tests.pixels.test_pairs import flipped, random_words


def clustered(rng: np.random.Generator, n: int, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``n`` hashes, most in clusters: copies of a centre identical to it, or in another
    orientation, or with 5 to 40 bits flipped; a fifth random. With each one's centre (-1: random)."""
    out, label = [], rng.integers(-1, len(centres), n)
    for c in label:
        if c < 0:
            out.append(random_words(rng, 1)[0])
            continue
        word = orientations(centres[c][None])[0, rng.choice(8, p=[0.65] + [0.05] * 7)]
        out.append(flipped(word, int(rng.choice([0, 0, 0, 5, 20, 40])), rng))
    return np.array(out), label


def tallied(found: list[tuple[int, int, int]], judged) -> tuple[list[int], list[tuple[int, int, int] | None]]:
    """The plain path: every pair listed, then each second row's count and worst ``(rank, d, first)``
    (``judged(i, j)``: the rank, None for a pair that does not count)."""
    count: dict[int, int] = {}
    worst: dict[int, tuple[int, int, int]] = {}
    for i, j, d in found:
        rank = judged(i, j)
        if rank is not None:
            count[j] = count.get(j, 0) + 1
            worst[j] = min(worst.get(j, (9, 0, 0)), (rank, d, i))
    return count, worst


def as_tallied(found: matches.Matches) -> tuple[dict, dict]:
    rows = np.nonzero(found.number)[0].tolist()
    assert (found.other[found.number == 0] == -1).all()
    return (
        {r: int(found.number[r]) for r in rows},
        {r: (int(found.rank[r]), int(found.distance[r]), int(found.other[r])) for r in rows},
    )


SETTINGS = [
    {},
    {"DENSE": 1, "DENSE_TILE": 50},  # every group's pairs as matrices, in small tiles
    {"DENSE": 10**9, "DENSE_TILE": 64},  # every pair one by one, in small blocks
    {"PAIR_BUDGET": 10, "ROW_TILE": 16, "COL_TILE": 32},  # the index gives way to every pair compared
    {"COST_PAIR": 0.0, "ROW_TILE": 64, "COL_TILE": 64},  # every pair compared from the start
]


@pytest.mark.parametrize(
    ("settings", "shared"),
    [(settings, True) for settings in SETTINGS] + [({}, False), ({"DENSE": 10**9, "DENSE_TILE": 64}, False)],
)
def test_matches_of_collapsed_identical_hashes_are_the_plain_path_s(settings, shared, monkeypatch) -> None:
    """Identical hashes searched once and their pairs tallied as found: the same counts and worst
    matches as listing every pair and aggregating it, patients included, and slides of one file
    (``shared``; a group of identical hashes of distinct files is tallied by its order alone)."""
    rng = np.random.default_rng(11)
    n = 400
    centres = random_words(rng, 5)
    words, label = clustered(rng, n, centres)
    patients = np.where(label == 0, 7, rng.integers(-1, 4, n))  # cluster 0: one patient
    files = np.stack(
        [np.where(rng.random(n) < p, rng.integers(0, 6, n), -1 - np.arange(n)) for p in (0.05, 0.1, 0.02)],
        axis=1,
    )
    if not shared:
        files = -1 - np.arange(3 * n).reshape(n, 3)
    old, _ = clustered(rng, 150, centres)
    own = np.where(rng.random((n, 2)) < 0.3, rng.integers(0, 40, (n, 2)), -1)
    names = rng.integers(0, 40, 150)
    expected = tallied(
        near_pairs(words, 32),
        lambda i, j: (
            None
            if (files[i] == files[j]).any()
            else (1 if min(patients[i], patients[j]) < 0 else (2 if patients[i] == patients[j] else 0))
        ),
    )
    expected_cross = tallied(
        [(k, i, d) for i, k, d in cross_pairs(words, old, 32)], lambda k, i: None if names[k] in own[i] else 0
    )
    assert len(expected[0]) > 100 and max(expected[0].values()) > 50, "clusters, not just pairs"
    assert {w for w, *_ in expected[1].values()} == {0, 1, 2} and len(expected_cross[0]) > 50
    for name, value in settings.items():
        monkeypatch.setattr(matches if name.startswith("DENSE") else pairs, name, value)
    assert as_tallied(matches.near_matches(words, 32, patients, files)) == expected
    assert as_tallied(matches.cross_matches(words, old, 32, own, names)) == expected_cross


def test_alike_distinct_hashes_compared_every_pair_tally_as_listed(monkeypatch) -> None:
    """Hashes all near one another, none identical: the index gives way to every pair compared,
    tallied tile by tile as matrices; the same counts and worst matches as listing them."""
    rng = np.random.default_rng(12)
    centre = random_words(rng, 1)[0]
    words = np.array([flipped(centre, 12, rng) for _ in range(300)])
    patients = rng.integers(-1, 3, 300)
    files = -1 - np.arange(900).reshape(300, 3)
    expected = tallied(
        near_pairs(words, 32),
        lambda i, j: 1 if min(patients[i], patients[j]) < 0 else (2 if patients[i] == patients[j] else 0),
    )
    assert sum(expected[0].values()) == 300 * 299 // 2
    monkeypatch.setattr(pairs, "COST_PAIR", 1e6)  # the index first, as for a large batch
    monkeypatch.setattr(pairs, "PAIR_BUDGET", 1000)
    monkeypatch.setattr(pairs, "ROW_TILE", 64)
    monkeypatch.setattr(pairs, "COL_TILE", 128)
    assert as_tallied(matches.near_matches(words, 32, patients, files)) == expected
    assert near_pairs(words, 32) == quadratic(words, None, 32), "the listed pairs too"


def test_matches_of_nothing() -> None:
    empty = np.zeros((0, WORDS), np.uint64)
    none = matches.near_matches(empty, 32, np.zeros(0, np.int64), np.zeros((0, 3), np.int64))
    assert len(none.number) == 0
    one = matches.cross_matches(np.zeros((1, WORDS), np.uint64), empty, 32, np.full((1, 2), -1), np.zeros(0))
    assert (one.number.tolist(), one.other.tolist()) == ([0], [-1])
