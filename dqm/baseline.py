"""The drift baseline: a previous release, as its ``results.json`` or its batch folder.

It reads earlier results, so it stands with them above the dimensions; what it hands the
diversity dimension is plain summaries (:class:`~dqm.diversity.drift.Summaries`).

A ``results.json`` written by an audit with this dimension carries the summaries drift needs,
so the old batch is not needed (its items may even be stripped). Its items' slide hashes
(``slide.perceptual_hash``) let the batch checks find a slide delivered again
(:class:`~validators.context.EarlierRelease`). An older ``results.json``
without a ``diversity`` object is summarised from its items. A batch folder is read (never
written) with the syntactic run, without the clinical-table expectations, and summarised.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
from pydantic import ValidationError

from dqm.diversity.analyse import summaries_of, summaries_of_result
from dqm.diversity.drift import Summaries
from dqm.diversity.models import BaselineInfo
from dqm.diversity.table import MAX_VALUE
from dqm.facts import ItemSummary
from dqm.i18n import msg
from dqm.profile import Profile
from dqm.results import QualityResult
from validators.context import EarlierRelease, EarlierSlide


class BaselineError(ValueError):
    """The baseline path is missing or is neither a results.json nor a batch folder."""


class Release(NamedTuple):
    """An earlier release: its distributions for drift, where it came from, and its slides."""

    summaries: Summaries
    info: BaselineInfo
    earlier: EarlierRelease


def earlier_release(name: str, items: Sequence[ItemSummary]) -> EarlierRelease:
    """The slides of ``items`` that carry a perceptual hash, for the cross-release checks."""
    slides = tuple(
        EarlierSlide(i.slide_id, i.image_path, i.slide.perceptual_hash)
        for i in items
        if i.slide is not None and i.slide.perceptual_hash
    )
    return EarlierRelease(name, slides)


def masked_items(items: Sequence[ItemSummary], mask: Callable[[str], str] | None) -> list[ItemSummary]:
    """The items as the run's outputs name them (``mask`` over each one's JSON): a baseline and a new
    batch are compared with the identifiers in both replaced by the same tokens."""
    if mask is None:
        return list(items)
    return [_masked(i, mask) for i in items]


def _masked(item: ItemSummary, mask: Callable[[str], str]) -> ItemSummary:
    """``item`` itself when the mask leaves it as it is (most items: no copy kept of them)."""
    text = item.model_dump_json()
    masked = mask(text)
    return item if masked == text else ItemSummary.model_validate_json(masked)


def earlier_of_result(path: Path, result: QualityResult) -> EarlierRelease:
    """The slides of an earlier release's ``results.json``, named as the file names them (they
    were masked when it was written)."""
    name = f"{path}" + (f" of {result.created}" if result.created else "")
    return earlier_release(name, result.items)


MAX_STORED_VALUE = MAX_VALUE
"""A stored value beyond this is none dqm writes (a batch's own value beyond it is *invalid*): the
span of two of them (1e308 and -1e308) is infinite, and drift's histogram edges raised on it (the
diversity stage crashed)."""


MAX_STORED_COUNT = 2**53
"""Slides a stored distribution counts at most: a count past int64 made drift's KS test raise
(``OverflowError``), two that summed past it a negative size (a categorical variable's test was
then skipped)."""


def _unwritten(support: Sequence[float], counts: Sequence[int]) -> str | None:
    """What a stored distribution (distinct values, slides per value) holds that dqm never
    writes, or None: a hand-edited baseline is read, and drift must not crash on it."""
    if len(support) != len(counts):
        return f"has {len(support)} values and {len(counts)} counts"
    values = np.asarray(support, dtype=float)  # a million values: checked in numpy, not one by one
    if not np.all(np.abs(values) <= MAX_STORED_VALUE):  # NaN compares false
        return f"holds a value beyond ±{MAX_STORED_VALUE:g}"
    if np.any(values[:-1] >= values[1:]):
        return "is not in increasing order"
    return _uncounted(counts)


def _uncounted(counts: Sequence[int]) -> str | None:
    """What a stored distribution's counts (slides per value or category) hold that dqm never
    writes, or None. They stay Python integers (one past 64 bits is refused, not wrapped): min
    and sum run in C."""
    if counts and min(counts) < 0:
        return "holds a negative count"
    if sum(counts) > MAX_STORED_COUNT:
        return f"counts more than {MAX_STORED_COUNT:,} slides"
    return None


def _miscounted(counts: dict[str, int], n: int) -> str | None:
    """What a stored categorical distribution (slides per category, ``n`` slides with a value)
    holds that dqm never writes, or None: its counts as :func:`_uncounted` checks them, and a sum
    other than ``n`` (dqm counts each slide with a value once). Counts of no slide while it states
    some made drift's PSI raise: the diversity stage crashed."""
    values = list(counts.values())
    problem = _uncounted(values)
    if problem is None and sum(values) != n:
        problem = f"counts {sum(values):,} slides where it states {n:,} slides with a value"
    return problem


def _miscounted_values(support: Sequence[float], counts: Sequence[int], n: int) -> str | None:
    """What a stored numeric distribution (distinct values, slides per value, ``n`` slides with a
    value) holds that dqm never writes, or None: as :func:`_unwritten` checks it, and counts that
    sum to other than ``n`` (dqm stores every value: n 10^6 with one value made drift test one value
    and report a baseline of a million). An empty ``support`` is a result written before values were
    stored: drift does not compare it, whatever its ``n``."""
    problem = _unwritten(support, counts)
    if problem is None and support and sum(counts) != n:
        problem = f"counts {sum(counts):,} slides where it states {n:,} slides with a value"
    return problem


def baseline_from_results(path: Path, profile: Profile, mask: Callable[[str], str] | None = None) -> Release:
    """The baseline stored in a ``results.json``.

    Raises
    ------
    BaselineError
        When the file cannot be read or is not a dqm result.
    """
    try:
        result = QualityResult.load(path)
    except (OSError, ValidationError, ValueError) as exc:
        raise BaselineError(msg("cannot read baseline {path}: {reason}", path=path, reason=exc)) from None
    return release_of_result(path, result, profile, mask)


def release_of_result(
    path: Path, result: QualityResult, profile: Profile, mask: Callable[[str], str] | None = None
) -> Release:
    """The baseline a ``results.json`` already read holds (``dqm audit`` reads it once, for the
    slides delivered again and for drift).

    Raises
    ------
    BaselineError
        When a stored distribution holds what dqm never writes.
    """
    stored = getattr(result, "diversity", None)
    if stored is not None:
        summaries, n, used = summaries_of_result(stored), stored.n_items, True
        problems = [
            *((name, _miscounted(s.counts, s.n)) for name, s in summaries.categorical.items()),
            *(
                (name, _miscounted_values(s.support, s.support_counts, s.n))
                for name, s in summaries.continuous.items()
            ),
        ]
        for name, problem in problems:
            if problem is not None:
                reason = f"the stored distribution of {name!r} {problem}, which dqm never writes"
                raise BaselineError(msg("cannot read baseline {path}: {reason}", path=path, reason=reason))
    else:
        summaries, n, used = summaries_of(masked_items(result.items, mask), profile), len(result.items), False
    info = BaselineInfo(
        source="results",
        path=str(path),
        fingerprint=result.batch.fingerprint,
        created=result.created,
        n_items=n,
        from_summaries=used,
    )
    return Release(summaries, info, earlier_of_result(path, result))


def baseline_from_batch(
    root: Path, profile: Profile, workers: int | None = None, mask: Callable[[str], str] | None = None
) -> Release:
    """The baseline of a batch folder, read with the syntactic run (slides probed, nothing written)."""
    from dqm.runner import RunOptions, run_batch
    from dqm.syntactic.accuracy import fingerprint

    run = run_batch(root, profile, RunOptions(workers=workers, clinical=False))
    items = masked_items(list(run.outcomes.summaries()), mask)
    info = BaselineInfo(
        source="batch",
        path=str(root),
        fingerprint=fingerprint(run),
        n_items=len(items),
        from_summaries=False,
    )
    return Release(summaries_of(items, profile), info, earlier_release(str(root), items))


def load_baseline(
    path: Path, profile: Profile, workers: int | None = None, mask: Callable[[str], str] | None = None
) -> tuple[Summaries, BaselineInfo]:
    """The drift baseline of :func:`load_release` (its summaries and where they came from)."""
    release = load_release(path, profile, workers, mask)
    return release.summaries, release.info


def load_release(
    path: Path, profile: Profile, workers: int | None = None, mask: Callable[[str], str] | None = None
) -> Release:
    """An earlier release from a ``results.json``, an output folder holding one, or a batch folder.

    Raises
    ------
    BaselineError
        When the path does not exist or cannot be read as a baseline.
    """
    path = Path(path)
    if path.is_file():
        return baseline_from_results(path, profile, mask)
    if path.is_dir():
        if (path / "results.json").is_file():
            return baseline_from_results(path / "results.json", profile, mask)
        return baseline_from_batch(path.resolve(), profile, workers, mask)
    raise BaselineError(msg("no such baseline: {path} (give a results.json or a batch folder)", path=path))
