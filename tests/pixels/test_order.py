"""Order statistics from a bracket: numpy's sorted values to the bit, without a sort of the whole."""

from __future__ import annotations

import numpy as np
import pytest

from dqm.pixels import order
from dqm.pixels.artefacts import _median
from dqm.pixels.order import SAMPLE, order_statistics
from dqm.pixels.stain import percentiles


def _arrays(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 12 * SAMPLE))
    return [
        rng.normal(size=n),
        rng.random(n).astype(np.float32),
        np.round(rng.gamma(2.0, 0.4, size=n), 1),  # ties
        rng.integers(0, 3, n).astype(np.float32),  # a few values, repeated
        np.sort(rng.random(n))[::-1].copy(),  # descending: the stride sample is ordered
        np.full(n, 0.25, np.float32),
    ]


@pytest.mark.parametrize("seed", range(12))
def test_order_statistics_are_the_sorted_values(seed: int) -> None:
    rng = np.random.default_rng(seed + 100)
    for values in _arrays(seed):
        n = values.size
        for k in {0, n // 2, n - 1, int(rng.integers(n))}:
            ranks = sorted({k, min(k + 1, n - 1)})
            expected = np.sort(values)[ranks]
            found = order_statistics(values, ranks)
            assert found.dtype == expected.dtype
            assert found.tobytes() == expected.tobytes(), (n, ranks)


def test_a_sample_that_misses_the_ranks_falls_back_to_the_whole_sort() -> None:
    # the stride sample sees only the large values at every step: its bracket holds none of the middle
    n = 16 * SAMPLE
    values = np.zeros(n)
    values[:: n // SAMPLE] = 1000.0 + np.arange(SAMPLE + 1)[: values[:: n // SAMPLE].size]
    values[values == 0] = np.linspace(0.0, 1.0, np.count_nonzero(values == 0))
    for ranks in ((n // 2 - 1, n // 2), (n - 2, n - 1), (0, 1)):
        assert order_statistics(values, ranks).tobytes() == np.sort(values)[list(ranks)].tobytes()


def test_medians_and_percentiles_sort_a_bracket_not_the_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """What made them slow: np.median's and the former one-point median's partition of every value,
    and the percentiles' sort of every value (several times the bracket's cost on a slide's values)."""
    sorted_sizes: list[int] = []
    real_sort = np.sort

    def counting_sort(a: np.ndarray, *args: object, **kwargs: object) -> np.ndarray:
        sorted_sizes.append(np.asarray(a).size)
        return real_sort(a, *args, **kwargs)

    def no_partition(*args: object, **kwargs: object) -> np.ndarray:
        raise AssertionError("a partition of the whole array")

    rng = np.random.default_rng(7)
    grey = np.round(rng.normal(0.9, 0.01, 27_554), 3).astype(np.float32)  # a glass's grey: ties
    conc = rng.gamma(2.0, 0.3, 14_000)
    expected_median, expected_percentiles = float(np.median(grey)), np.percentile(conc, [1.0, 99.0])
    monkeypatch.setattr(order.np, "sort", counting_sort)
    monkeypatch.setattr(np, "partition", no_partition)
    assert _median(grey) == expected_median
    assert percentiles(conc, [1.0, 99.0]).tobytes() == expected_percentiles.tobytes()
    assert sorted_sizes and max(sorted_sizes) < 14_000 // 2, sorted_sizes
