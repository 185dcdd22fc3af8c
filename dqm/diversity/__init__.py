"""Statistical diversity: distributions, hypothesis tests, balance rules and drift between releases.

Works from a result's items (``results.json`` is enough), never from the batch files.

* :mod:`dqm.diversity.variables` — the table of variables (:data:`~dqm.diversity.variables.VARIABLES`):
  what each is, how it is read from an item, and which targets, tests and rules it takes
* :mod:`dqm.diversity.table` — items → one column per variable
* :mod:`dqm.diversity.summaries` — compositions, quantiles, histograms, joint tables
* :mod:`dqm.diversity.stats` — the statistics (pure functions over counts and samples)
* :mod:`dqm.diversity.family` — the tests with their rules, decisions and sentences
* :mod:`dqm.diversity.drift` — comparison with a baseline's summaries
* :mod:`dqm.diversity.baseline` — a baseline from a ``results.json`` or a batch folder
* :mod:`dqm.diversity.analyse` — :func:`diversity_result`, the whole dimension

Only the result models are imported eagerly: :mod:`dqm.results` needs them, and importing
:mod:`dqm.results` must stay cheap (no numpy or scipy).
"""

from __future__ import annotations

from typing import Any

from dqm.diversity.models import DiversityResult, DriftResult, TestResult

__all__ = ["DiversityResult", "DriftResult", "TestResult", "diversity_result"]


def __getattr__(name: str) -> Any:
    if name == "diversity_result":
        from dqm.diversity.analyse import diversity_result

        return diversity_result
    raise AttributeError(f"module 'dqm.diversity' has no attribute {name!r}")
