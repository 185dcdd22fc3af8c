"""Order statistics of the probe's pixel measures without sorting or partitioning a whole array.

numpy's partition, which ``np.median`` and a one-point median use, is slow on what the probe
measures: the values of a slide's image repeat and crowd into narrow ranges (the glass's grey: 27,554
values, 7,864 distinct, nearly all within 0.83-0.95), where one partition at the middle took 1.2 ms
against 0.2-0.3 ms for a sort of the same array (0.04 ms here), and a sort of a slide's 14,000 tissue values costs
several times a few passes over them. :func:`order_statistics` finds a few neighbouring ranks from
a sorted stride sample that brackets them, a count of the values below the bracket and a sort of
the values inside it (a few percent of the array): the same values, since the values below the
bracket are the sorted array's first ones and those inside it the next ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SAMPLE = 1024
"""Values of the stride sample that brackets the ranks sought; arrays under four times as many are
sorted whole (the bracket would save little)."""
MARGIN = 24
"""Sample positions the bracket reaches beyond the sample ranks of the ranks sought (each about
``n / SAMPLE`` values of the array): wide enough that a stride sample of a slide's values brackets
them; where it does not, the whole array is sorted (same values, the former cost)."""


def order_statistics(values: np.ndarray, ranks: Sequence[int]) -> np.ndarray:
    """``np.sort(values)[ranks]`` of a 1-D array, exactly, for ranks near each other (a median's
    two middle ones, a percentile's two neighbours): the values below a bracket of them are counted
    and only the values inside it are sorted. A value that compares unordered (NaN) is in neither,
    as ``np.sort`` puts it after every other."""
    n = values.size
    sought = np.asarray(ranks, np.intp)
    if n < 4 * SAMPLE:
        return np.sort(values)[sought]
    sample = np.sort(values[:: n // SAMPLE])
    first = int(sought.min()) * sample.size // n - MARGIN
    last = int(sought.max()) * sample.size // n + MARGIN
    inside = np.ones(n, bool) if first < 0 else values >= sample[first]
    if last < sample.size:
        inside &= values <= sample[last]
    below = 0 if first < 0 else int(np.count_nonzero(values < sample[first]))
    window = values[inside]
    if below <= sought.min() and sought.max() < below + window.size:
        return np.sort(window)[sought - below]
    return np.sort(values)[sought]  # the sample did not bracket them
