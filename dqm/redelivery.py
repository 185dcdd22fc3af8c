"""A redelivery against the earlier delivery: each finding fixed, still there or new.

The rule is :data:`dqm.delivery.MATCHING_RULE`. The earlier ``results.json`` was written masked,
so the redelivery's findings are compared as the outputs name them (``mask``), and the lists
index the findings of the result in the order it holds them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from dqm.delivery import MAX_FIXED_LISTED, Redelivery, column_free_key, finding_key, positioned
from dqm.findings import Finding
from dqm.results import QualityResult


def masked_findings(findings: Sequence[Finding], mask: Callable[[str], str] | None) -> list[Finding]:
    """The findings as the outputs name them (``mask`` over each one's JSON)."""
    if mask is None:
        return list(findings)
    return [Finding.model_validate_json(mask(f.model_dump_json())) for f in findings]


def compare_findings(
    old: Sequence[Finding], new: Sequence[Finding]
) -> tuple[list[int], list[int], list[int]]:
    """Indexes ``(still_there, new, fixed)``: the first two into ``new``, the last into ``old``;
    findings with equal :func:`~dqm.delivery.finding_key` are paired one to one, in order, then
    those left over naming a column by its position with those naming it by its name
    (:func:`~dqm.delivery.column_free_key`)."""
    waiting: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for i, f in enumerate(old):
        waiting[finding_key(f)].append(i)
    for queue in waiting.values():
        queue.reverse()  # pop() pairs the earliest first
    still, fresh = [], []
    for i, f in enumerate(new):
        paired = waiting.get(finding_key(f))
        if paired:
            paired.pop()
            still.append(i)
        else:
            fresh.append(i)
    left = sorted(i for queue in waiting.values() for i in queue)
    if not any(positioned(f) for f in (*(old[i] for i in left), *(new[i] for i in fresh))):
        return still, fresh, left
    # a finding naming its column by its position and one naming it by its name, the rest equal
    loose: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for i in reversed(left):
        loose[column_free_key(old[i])].append(i)
    paired_old, unpaired = set(), []
    for i in fresh:
        shown = positioned(new[i])
        queue = loose.get(column_free_key(new[i]), [])
        j = next(
            (k for k in reversed(range(len(queue))) if positioned(old[queue[k]]) != shown),
            None,
        )
        if j is None:
            unpaired.append(i)
        else:
            paired_old.add(queue.pop(j))
            still.append(i)
    return sorted(still), unpaired, [i for i in left if i not in paired_old]


def redelivery(
    result: QualityResult, baseline: QualityResult, path: str, mask: Callable[[str], str] | None = None
) -> Redelivery:
    """Each finding of ``result`` (the redelivery) against ``baseline`` (the earlier delivery's
    result, read from ``path``): the fixed ones counted whole, the first
    :data:`~dqm.delivery.MAX_FIXED_LISTED` listed."""
    still, fresh, fixed = compare_findings(baseline.findings, masked_findings(result.findings, mask))
    by_code = Counter(baseline.findings[i].code for i in fixed)
    return Redelivery(
        baseline=path,
        baseline_fingerprint=baseline.batch.fingerprint,
        baseline_created=baseline.created,
        still_there=still,
        new=fresh,
        fixed=[baseline.findings[i] for i in fixed[:MAX_FIXED_LISTED]],
        fixed_total=len(fixed),
        fixed_by_code=dict(sorted(by_code.items())),
    )


def with_redelivery(
    result: QualityResult, baseline: QualityResult, path: str, mask: Callable[[str], str] | None = None
) -> QualityResult:
    """The result with its :class:`~dqm.delivery.Redelivery` section."""
    return result.model_copy(update={"redelivery": redelivery(result, baseline, path, mask)})
