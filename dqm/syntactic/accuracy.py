"""Syntactic accuracy from a run's findings, at three grains (QUALITY-MEASURES.md).

Definitions, stated once:

files
    Every file the batch delivers or its manifest names: annotation files, slide files (when
    slides are checked), the manifest, orphans, and files named but missing. A file is accurate
    iff no *error* finding of a syntactic aspect (structure, format, file) points at it. An error with no file (an item that names no slide at all) counts as one
    missing file of that item. An item of the buyer's order list (``--expect``) that was not
    delivered (``ITEM_NOT_DELIVERED``) counts as two missing files, its slide and its annotation
    file: deleting an item's files and row then never raises the ratio.
values
    The value slots of every annotation file (each key the format expects, present or missing,
    plus extra keys; a lesion's whole outline is one value; an unreadable file is one value),
    the manifest's path cells and, when the manifest holds the clinical table, its clinical cells
    (a missing required column counts one missing value per row). A slot is accurate iff no
    error finding of aspect structure or format names it. A finding that counts the issues past a
    reader's cap (the first 1,000 of a code in a file are reported one by one) names their slots
    too (``counted_values``), so a cap changes what is listed, never the ratio. An item ordered
    and not delivered counts as one missing value (as an unreadable file does): a file deleted may
    have held any number of failing values, so with an order list the value figures are given
    over the items ordered too (:func:`figures_over_order`, each line's item's share, an item not
    delivered 0), which deletion never raises, and, unless the delivery is the order list
    exactly, the value gates are judged on both (:func:`_judged_on`).
structure / format
    Structure ratios count structure errors over all files / values. Format ratios count format
    errors over the files / values that are structurally accurate (and the two files of each item
    ordered and not delivered, inaccurate in both grains): a value that is not even of
    the right type has no format to check.
not evaluated
    A crashed check (``CHECK_CRASHED``) counts against nothing: its item is *not evaluated*,
    listed in ``not_evaluated``, and its files keep the decision of the checks that did run. The
    ratios are then upper bounds: a target they miss is missed (failed), one they meet is not
    decided until the items are evaluated (the dimension is unfinished, the verdict INCOMPLETE).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dqm.batch import Discovery, as_read, discover, jailed, normalise
from dqm.facts import Ratio
from dqm.findings import (
    CHECK_CRASHED,
    NOT_EVALUATED,
    SYNTACTIC_ASPECTS,
    Aspect,
    Finding,
    Severity,
    not_evaluated,
)
from dqm.i18n import N_, Message, msg
from dqm.model import Item
from dqm.order import AGAIN, NOT_DELIVERED, NOT_DELIVERED_LOT, NOT_ORDERED, lot_key, nfc
from dqm.profile import Profile
from dqm.readers import read_bytes
from dqm.runner import Run, file_stat
from dqm.slide_io import fingerprint as slide_print
from dqm.slide_refs import part_name, parts_of
from dqm.syntactic.models import Breakdown, Grains, OrderedValues, SyntacticResult
from dqm.syntactic.subset import ItemRows, part_run
from dqm.tolerance import count_reaches

METHOD = (
    "Syntactic accuracy is a census: every file and value of the batch is checked, so the "
    "ratios carry no sampling interval. A file is accurate when no error finding points at it; "
    "a value slot when no structure or format error names it. Format ratios are taken over the "
    "files and values that are structurally accurate. An item a check crashed on is not evaluated: "
    "the crash counts against nothing, and the dimension is not finished while it passes without it."
)


def _counts_against(f: Finding) -> bool:
    return f.severity == Severity.ERROR and f.aspect in SYNTACTIC_ASPECTS


def _file_key(f: Finding) -> str:
    return f.location.file or f"{f.item_id}::{f.check}"


UNDELIVERED_FILES = ("slide", "annotation")
"""The files an item ordered and not delivered counts as missing."""


def _file_keys(f: Finding) -> tuple[str, ...]:
    """The files ``f`` points at: its file, or an undelivered item's two (at its order list's line)."""
    if f.code == NOT_DELIVERED:
        return tuple(f"{f.location.file}:{f.location.line}:{part}" for part in UNDELIVERED_FILES)
    return (_file_key(f),)


def _keys_of(findings: Iterable[Finding], counted: Callable[[Finding], bool]) -> set[str]:
    """The files the ``counted`` findings point at (:func:`_file_keys`)."""
    return {key for f in findings if counted(f) for key in _file_keys(f)}


def _is_undelivered(f: Finding) -> bool:
    """Whether ``f`` is an item ordered and not delivered that counts against the batch (an error)."""
    return f.code == NOT_DELIVERED and f.severity == Severity.ERROR


def _undelivered(findings: Iterable[Finding]) -> int:
    """The items ordered and not delivered that count against the batch."""
    return sum(map(_is_undelivered, findings))


def _bad_in(f: Finding, aspects: set[Aspect]) -> bool:
    """Whether ``f`` makes the files it points at inaccurate in the grain of ``aspects``: an error
    of one of them, or an item not delivered, whose two files are missing in every grain (the
    structure grain counts them as inaccurate; the format grain, which counts the structurally
    accurate files, counts them too, as inaccurate: deleting an item never raises a grain)."""
    return (f.severity == Severity.ERROR and f.aspect in aspects) or _is_undelivered(f)


def file_universe(run: Run) -> set[str]:
    """Every file the syntactic ratios count."""
    files: set[str] = set()
    for item_files in run.outcomes.files():
        files.update(item_files)
    # a file of no format dqm reads is reported (FILE_NOT_READ) but is not in the ratios
    files.update(i.file for i in run.discovery.issues if i.file and i.code != "FILE_NOT_READ")
    if run.discovery.manifest:
        files.add(run.discovery.manifest)
    files.update(_keys_of(run.findings, _counts_against))
    return files


def _value_slots(run: Run) -> tuple[int, int]:
    """Total value slots, and the rows of the clinical table.

    A manifest-held table adds ``rows x (its columns + absent required fields)``. A table built
    from annotation clinical blocks adds only the required fields each block lacks: the present
    values are already counted as the annotation file's slots.
    """
    total = sum(run.outcomes.n_values()) + run.discovery.manifest_cells + _undelivered(run.batch_findings)
    if run.table is None:
        return total, 0
    required = {n for n, f in run.profile.clinical.items() if f.required}
    rows = run.table.frame.shape[0]
    if run.discovery.manifest is not None:
        total += rows * len(set(run.table.frame.columns) | required)
    else:
        total += sum(
            len(required - record.keys())
            for record, source in zip(
                run.outcomes.clinical_records(), run.outcomes.record_sources(), strict=True
            )
            if source not in (None, "manifest")
        )
    return total, rows


def _bad_values(findings: Iterable[Finding], aspects: set[Aspect], table_rows: int) -> int:
    keys = set()
    extra = 0
    for f in findings:
        if f.code == NOT_DELIVERED:  # aspect file: the whole item, its one value slot missing
            extra += f.severity == Severity.ERROR and Aspect.STRUCTURE in aspects
            continue
        if f.severity != Severity.ERROR or f.aspect not in aspects:
            continue
        if f.code == "CLINICAL_MISSING_COLUMN" and f.location.row is None:
            extra += table_rows  # one missing value per row of the table
            continue
        keys.add(f.value_key())
        extra += f.counted_values  # the slots of the issues past a reader's cap it counts
    return len(keys) + extra


def _grains(
    files: set[str],
    values: int,
    findings: list[Finding],
    table_rows: int,
    unreadable: int,
    profile: Profile,
) -> tuple[Grains, Grains, set[str]]:
    structure_bad_files = _keys_of(findings, lambda f: _bad_in(f, {Aspect.STRUCTURE}))
    format_bad_files = _keys_of(findings, lambda f: _bad_in(f, {Aspect.FORMAT}))
    missing = len(_keys_of(findings, _is_undelivered))
    s_bad_values = _bad_values(findings, {Aspect.STRUCTURE}, table_rows) + unreadable
    f_bad_values = _bad_values(findings, {Aspect.FORMAT}, table_rows)
    s_files_ok = len(files - structure_bad_files)
    f_files_ok = len(files - structure_bad_files - format_bad_files)
    t = profile.thresholds
    structure = Grains(
        files=Ratio.of("structure_file_accuracy", "files", s_files_ok, len(files)),
        values=Ratio.of(
            "structure_accuracy",
            "values",
            max(values - s_bad_values, 0),
            values,
            t.structure_accuracy,
        ),
    )
    s_ok_values = max(values - s_bad_values, 0)
    fmt = Grains(
        files=Ratio.of("format_file_accuracy", "files", f_files_ok, s_files_ok + missing),
        values=Ratio.of(
            "format_accuracy",
            "values",
            max(s_ok_values - f_bad_values, 0),
            s_ok_values,
            t.format_accuracy,
        ),
    )
    return structure, fmt, structure_bad_files


def _breakdowns(
    run: Run, files: set[str], bad_files: set[str], findings: list[Finding], key_of: str
) -> list[Breakdown]:
    group_of_item: dict[str, str] = {}
    group_files: dict[str, set[str]] = defaultdict(set)
    group_values: Counter[str] = Counter()
    summaries = run.outcomes.summaries()
    for slide_id, key, files_of_item, n_values in zip(
        summaries.column("slide_id"),
        summaries.column("institution" if key_of == "institution" else "diagnosis"),
        run.outcomes.files(),
        run.outcomes.n_values(),
        strict=True,
    ):
        g = key or "(unknown)"
        group_of_item[slide_id] = g
        group_files[g].update(files_of_item)
        group_values[g] += n_values
    bad_by_group: dict[str, set[str]] = defaultdict(set)
    bad_values: dict[str, set[tuple]] = defaultdict(set)
    counted: Counter[str] = Counter()
    for f in findings:
        if not _counts_against(f):
            continue
        group = group_of_item.get(f.item_id)
        if group is None:
            continue
        keys = _file_keys(f)
        group_files[group].update(keys)
        bad_by_group[group].update(keys)
        if f.aspect in (Aspect.STRUCTURE, Aspect.FORMAT) and f.location.row is None:
            bad_values[group].add(f.value_key())
            counted[group] += f.counted_values
    out = []
    for g in sorted(group_files):
        n_files = len(group_files[g])
        n_values = group_values[g]
        out.append(
            Breakdown(
                key=g,
                files=Ratio.of("file_accuracy", "files", n_files - len(bad_by_group[g]), n_files),
                values=Ratio.of(
                    "value_accuracy",
                    "values",
                    max(n_values - len(bad_values[g]) - counted[g], 0),
                    n_values,
                    note="annotation-file values only",
                ),
            )
        )
    return out


def _item_bad(findings: Iterable[Finding], aspect: Aspect) -> Counter[str]:
    """Each item's annotation-file value slots made inaccurate by an error of ``aspect``."""
    keys: dict[str, set[tuple]] = defaultdict(set)
    counted: Counter[str] = Counter()
    for f in findings:
        if f.severity == Severity.ERROR and f.aspect == aspect and f.location.row is None and f.item_id:
            keys[f.item_id].add(f.value_key())
            counted[f.item_id] += f.counted_values
    return Counter({item: len(k) for item, k in keys.items()}) + counted


def ordered_values(run: Run, entries: int) -> OrderedValues:
    """The value figures over the ``entries`` items of the order list (:class:`OrderedValues`) of
    ``run``'s items and findings (:func:`figures_over_order`)."""
    ids = list(run.outcomes.summaries().column("slide_id"))
    return figures_over_order(
        ids, list(run.outcomes.n_values()), list(run.outcomes.unreadable()), run.findings, entries
    )


def _by_form(counts: Counter[str], joined: bool = True) -> Counter[str]:
    """``counts`` by id in Unicode NFC (:func:`dqm.order.nfc`), the forms of one id summed
    (``joined``; else as they are)."""
    if not joined:
        return counts
    out: Counter[str] = Counter()
    for key, n in counts.items():
        out[nfc(key)] += n
    return out


def two_forms(ids: Iterable[str]) -> bool:
    """Whether one id is among ``ids`` in two Unicode forms (NFC and NFD)."""
    seen = set(ids)
    return len({nfc(i) for i in seen}) < len(seen)


def figures_over_order(
    ids: Sequence[str],
    n_values: Sequence[int],
    unreadable: Sequence[int],
    findings: Iterable[Finding],
    entries: int,
    joined: bool = True,
) -> OrderedValues:
    """The value figures over the ``entries`` lines of the order list: each line's delivered
    item's share of accurate annotation-file value slots (its unreadable file one failing slot;
    an item with no slot 0), a line not delivered 0, summed and divided by ``entries``. Items not
    ordered (``ITEM_NOT_ORDERED``) are not in it; an id delivered several times counts as the
    lines it matched, each with the worst share of its items. Deleting an item takes away its
    share (at most 1) and leaves a 0 in its place; adding one never adds a share: the figures never
    rise. Manifest and clinical-table cells are not an item's (as in the per-group breakdowns).
    ``joined``: the Unicode forms of an id are one id (False: apart, as results of 1.19 written
    before they were joined computed them: :func:`ordered_edits`)."""
    findings = list(findings)
    s_bad, f_bad = _item_bad(findings, Aspect.STRUCTURE), _item_bad(findings, Aspect.FORMAT)
    # an id in two Unicode forms is one id, as the order list matches it (dqm.order.delivered)
    s_bad, f_bad = _by_form(s_bad, joined), _by_form(f_bad, joined)
    unordered = Counter(f.item_id for f in findings if f.code == NOT_ORDERED and f.item_id)
    not_ordered = _by_form(unordered, joined)
    crashed = {f.item_id for f in findings if f.code in NOT_EVALUATED}
    worst: dict[str, list[float]] = {}
    rows: Counter[str] = Counter()
    for slide_id, n, bad in zip(map(nfc, ids) if joined else ids, n_values, unreadable, strict=True):
        s_ok = max(n - s_bad[slide_id] - bad, 0)
        f_ok = max(s_ok - f_bad[slide_id], 0)
        share = [f_ok / n if n else 0.0, s_ok / n if n else 0.0, f_ok / s_ok if s_ok else 0.0]
        rows[slide_id] += 1
        was = worst.setdefault(slide_id, share)
        worst[slide_id] = [min(a, b) for a, b in zip(was, share, strict=True)]
    sums = [0.0, 0.0, 0.0]
    matched = 0
    for slide_id, share in worst.items():
        lines = max(rows[slide_id] - not_ordered[slide_id], 0)  # the lines its items matched
        lines = min(lines, entries - matched)
        matched += lines
        sums = [x + lines * y for x, y in zip(sums, share, strict=True)]
    value, structure, fmt = (x / entries if entries else None for x in sums)
    return OrderedValues(
        items=entries,
        not_delivered=_undelivered(findings),
        not_ordered=sum(not_ordered.values()),
        item_values=list(n_values),
        unreadable_items=[
            k
            for k, (slide_id, n, bad) in enumerate(zip(ids, n_values, unreadable, strict=True))
            if bad or (n == 0 and slide_id not in crashed)  # its file missing: no slot; a crash: none
        ],
        value_accuracy=value,
        structure_accuracy=structure,
        format_accuracy=fmt,
    )


def _judged_on(gates: list[Ratio], ordered: OrderedValues | None) -> list[Ratio]:
    """``gates`` with the structure and format value gates judged on the figures over the items
    ordered too (``ordered``) when the delivery is not the order list exactly (an item not
    delivered, one not ordered, or one whose annotation file could not be read: ``judged``): the
    value-weighted figures can rise when an item is deleted, those over the items ordered cannot.
    A gate then passes when both reach its target (its value stays the value-weighted figure,
    which a pass never reads below). A delivery of every item ordered, each annotation file read,
    and nothing else is judged as without an order list."""
    if ordered is None or not ordered.judged:
        return gates

    def judged(g: Ratio) -> Ratio:
        if g.target is None or g.passed is False:
            return g
        value = ordered.bound(g.name)
        if value is None or count_reaches(value, g.target):
            return g
        item_weighted = getattr(ordered, g.name)
        note = (
            ORDERED_NOTE
            if item_weighted is None or not count_reaches(item_weighted, g.target)
            else PADDED_NOTE
        )
        return g.model_copy(update={"passed": False, "note": note})

    return [judged(g) for g in gates]


ORDERED_NOTE = "failed on the figure over the items ordered (syntactic.ordered)"
"""The note of a value gate the figure over the items ordered (:class:`OrderedValues`, ``--expect``) fails."""
PADDED_NOTE = "failed on the value-weighted figure without the items not ordered (syntactic.ordered)"
"""The note of a value gate the figure over the items ordered reaches but the value-weighted one
without the items not ordered (:attr:`OrderedValues.structure_without_unordered`) misses."""


def syntactic_result(run: Run) -> SyntacticResult:
    """Syntactic accuracy of a run."""
    findings = run.findings
    files = file_universe(run)
    bad_files = _keys_of(findings, _counts_against)
    values, table_rows = _value_slots(run)
    unreadable = sum(run.outcomes.unreadable())
    bad_values = _bad_values(findings, {Aspect.STRUCTURE, Aspect.FORMAT}, table_rows) + unreadable
    values_valid = max(values - bad_values, 0)
    files_valid = len(files - bad_files)
    structure, fmt, _ = _grains(files, values, findings, table_rows, unreadable, run.profile)
    t = run.profile.thresholds
    file_ratio = Ratio.of("file_accuracy", "files", files_valid, len(files), t.file_accuracy)
    ordered = ordered_values(run, run.ordered) if run.ordered is not None else None
    if ordered is not None and ordered.not_ordered:
        ordered = _without_unordered(run, ordered)
    gates = _judged_on([file_ratio, structure.values, fmt.values], ordered)
    crashed = sum(f.code == CHECK_CRASHED for f in findings)
    items, _ = not_evaluated(findings)
    return SyntacticResult(
        file_accuracy=file_ratio.value,
        files_total=len(files),
        files_valid=files_valid,
        value_accuracy=values_valid / values if values else None,
        values_total=values,
        values_valid=values_valid,
        structure=structure,
        format=fmt,
        gates=gates,
        by_institution=_breakdowns(run, files, bad_files, findings, "institution"),
        by_class=_breakdowns(run, files, bad_files, findings, "class"),
        by_code=dict(sorted(Counter(f.code for f in findings).items())),
        errors=sum(f.severity == Severity.ERROR for f in findings),
        warnings=sum(f.severity == Severity.WARNING for f in findings),
        crashed=crashed,
        not_evaluated=items,
        passed=all(g.passed is not False for g in gates),
        method=METHOD,
        ordered=ordered,
    )


def unordered_rows(
    findings: Iterable[Finding],
    ids: Sequence[str],
    images: Sequence[str | None],
    rows: Sequence[int | None],
    code: str = NOT_ORDERED,
    told: dict[int, tuple[str, str | None]] | None = None,
) -> set[int]:
    """The positions of the items (their ids ``ids``, slide files ``images``, batch paths, and
    manifest rows ``rows``) no line of the order list matched: one a ``ITEM_NOT_ORDERED`` finding,
    the item of its id whose slide file the finding names or, for an item without one (the finding
    names the manifest), the one at the finding's row. Of copies alike (one id, one slide file)
    the last: a line matches the first copy of an id or a path not matched yet
    (:func:`dqm.order.delivered`). A finding that names no copy (one of a result written before
    its row was kept: the copies without a slide file) never keeps out a copy with another slide.
    ``code``: :data:`~dqm.order.AGAIN` for the copies alike of an item a line matched
    (:func:`repeated_groups`), located as their ``ITEM_NOT_ORDERED``; ``told`` (when given) then
    gets each copy's twin, the id of the item its line matched that its own finding names, and
    that item's slide file where the finding names it (``twin_file``: results from 1.19 on)."""
    # built once (linear however many items share an id): the items of an id by slide file (None:
    # none) and, without one, by manifest row, each in order; the last not kept out is the one named
    findings = [f for f in findings if f.code == code and f.item_id]
    asked = {f.item_id for f in findings}
    by_slide: dict[tuple[str, str | None], list[int]] = defaultdict(list)
    by_row: dict[tuple[str, int], list[int]] = defaultdict(list)
    for k, slide_id in enumerate(ids):
        if slide_id not in asked:  # no finding names its id
            continue
        slide = as_read(images[k]) if k < len(images) else None
        by_slide[(slide_id, slide)].append(k)
        if slide is None and k < len(rows) and (row := rows[k]) is not None:
            by_row[(slide_id, row)].append(k)

    out: set[int] = set()

    def last(left: list[int] | None) -> int | None:
        while left and left[-1] in out:  # kept out by another finding (or the other table)
            left.pop()
        return left[-1] if left else None

    for f in findings:
        at = f.location.row
        if at is not None:
            named = last(by_row.get((f.item_id, at)))
        else:
            named = last(by_slide.get((f.item_id, f.location.file)))
            if named is None:
                named = last(by_slide.get((f.item_id, None)))
        if named is not None:
            out.add(named)
            if told is not None and f.params.get("twin") is not None:
                twin_file = f.params.get("twin_file")
                told[named] = (str(f.params["twin"]), None if twin_file is None else str(twin_file))
    return out


def repeated_groups(
    findings: Iterable[Finding],
    ids: Sequence[str],
    images: Sequence[str | None],
    rows: Sequence[int | None],
    out: set[int],
) -> list[list[int]]:
    """One ordered line's deliveries a group, of which the list cannot tell the ordered one: the
    item kept (not in ``out``, :func:`unordered_rows`) a line matched, first, and its copies alike
    (``ITEM_DELIVERED_AGAIN``: :func:`dqm.order.delivered_again`). A copy's twin is the kept item
    its own finding names (its row's: ``twin``, the id of the item its line matched; of several
    kept items of that id, a list by file, the one whose slide is its ``twin_file``, else those
    whose slide's path or bare name is the copy's, but for case, Unicode form and spacing); without one (an edited result), the kept items of its
    id, else of its slide's path, else of its bare name. A copy that could stand for several kept
    items is in each one's group: judged as the worst against each line it could stand for
    (:func:`_worst_copy` never takes one copy for two lines), so no copy, bad or good, raises the
    figures. Only a copy no kept item could be the twin of (an edited result's) is in no group."""
    findings = list(findings)
    told: dict[int, tuple[str, str | None]] = {}
    copies = unordered_rows(findings, ids, images, rows, AGAIN, told)
    if not copies:
        return []

    slides = [as_read(images[k]) if k < len(images) else None for k in range(len(ids))]
    paths = [lot_key(s or "") for s in slides]
    names = [p.rsplit("/", 1)[-1] for p in paths]

    # built once (linear however many items share an id): the kept items by id, and of an id by
    # slide file and by bare name (a path alike is a name alike), by folded id and path, by path, by name
    exact: dict[str, list[int]] = defaultdict(list)
    exact_slide: dict[tuple[str, str], list[int]] = defaultdict(list)
    exact_name: dict[tuple[str, str], list[int]] = defaultdict(list)
    by_id: dict[str, list[int]] = defaultdict(list)
    by_id_path: dict[tuple[str, str], list[int]] = defaultdict(list)
    by_path: dict[str, list[int]] = defaultdict(list)
    by_name: dict[str, list[int]] = defaultdict(list)
    for k in range(len(ids)):
        if k in out:
            continue
        exact[ids[k]].append(k)
        if (slide := slides[k]) is not None:
            exact_slide[(ids[k], slide)].append(k)
        exact_name[(ids[k], names[k])].append(k)
        folded = lot_key(ids[k])
        by_id[folded].append(k)
        by_id_path[(folded, paths[k])].append(k)
        if paths[k]:
            by_path[paths[k]].append(k)
            by_name[names[k]].append(k)

    def twins(k: int) -> list[int]:
        twin, twin_file = told.get(k, ("", None))
        named = exact.get(twin, [])  # the item its line matched, by its own finding
        if len(named) > 1:  # several kept items of that id (a list by file)
            of_file = exact_slide.get((twin, twin_file), []) if twin_file is not None else []
            if not of_file and paths[k]:  # none the slide file it names: those of its path or name
                of_file = exact_name.get((twin, names[k]), [])
            named = of_file or named
        if named:
            return named
        mine = by_id.get(lot_key(ids[k]), [])
        if len(mine) > 1 and paths[k]:
            mine = by_id_path.get((lot_key(ids[k]), paths[k])) or mine
        if not mine and paths[k]:
            mine = by_path.get(paths[k], []) or by_name.get(names[k], [])
        return mine

    groups: dict[int, list[int]] = {}
    for k in sorted(copies):
        for t in twins(k):
            groups.setdefault(t, [t]).append(k)
    return list(groups.values())


def rowless_unordered(
    findings: Iterable[Finding], ids: Sequence[str], images: Sequence[str | None], manifest: str | None
) -> bool:
    """Whether an ``ITEM_NOT_ORDERED`` finding names the ``manifest`` without a row while its id
    has several items without a slide file (``ids``, ``images``): a result written before such
    a finding kept its item's row, in which the copy kept out cannot be told. Its figures without
    the items not ordered are not moved by a waiver file (``dqm gate`` says so: :func:`dqm.gate.gate`)."""
    if manifest is None:
        return False
    slideless = Counter(i for i, image in zip(ids, images, strict=False) if not image)
    return any(
        f.code == NOT_ORDERED
        and f.location.file == manifest
        and f.location.row is None
        and slideless[f.item_id] > 1
        for f in findings
    )


def _without_unordered(run: Run, ordered: OrderedValues) -> OrderedValues:
    """``ordered`` with the value-weighted figures of ``run`` without its items not ordered
    (:attr:`OrderedValues.structure_without_unordered`): those of the part of the run holding the
    other items (:func:`dqm.syntactic.subset.part_run`: their files, manifest cells and table
    rows, the findings on them, the order list's items not delivered, the batch's own findings);
    of an id delivered more than once, the copies the order list matched (:func:`unordered_rows`).
    Of one ordered line delivered several times (copies alike, :func:`repeated_groups`) the worst
    copy: :func:`_worst_copy`; a copy that could stand for several lines, the worst against each.
    Delivering one more copy, bad or good, adds choices and never raises the figures."""
    summaries = run.outcomes.summaries()
    ids = list(summaries.column("slide_id"))
    images, at = summaries.column("image_path"), summaries.column("row")
    out = unordered_rows(run.batch_findings, ids, images, at)
    again = unordered_rows(run.batch_findings, ids, images, at, AGAIN)  # every copy alike
    groups = repeated_groups(run.batch_findings, ids, images, at, out)
    where = ItemRows.of(run, {})
    rows = sum(row is not None for row in at)
    delivered = set(ids)
    batch_wide = [
        run.batch_findings[i] for key, at in where.batch_findings.items() if key not in delivered for i in at
    ]

    def grains(keep: list[int]) -> tuple[Ratio, Ratio]:
        part = part_run(run, NOT_DELIVERED_LOT, keep, rows, where)
        part = dataclasses.replace(part, batch_findings=[*part.batch_findings, *batch_wide])
        values, table_rows = _value_slots(part)
        unreadable = sum(part.outcomes.unreadable())
        structure, fmt, _ = _grains(set(), values, part.findings, table_rows, unreadable, run.profile)
        return structure.values, fmt.values

    alike = {k for group in groups for k in group}
    skip = out | alike | again
    base = [k for k in range(len(ids)) if k not in skip]
    s, f = _worst_copy(grains, base, groups)
    return ordered.model_copy(update={"structure_without_unordered": s, "format_without_unordered": f})


def _worst_copy(
    grains: Callable[[list[int]], tuple[Ratio, Ratio]], base: list[int], groups: list[list[int]]
) -> tuple[Ratio, Ratio]:
    """The structure and format figures (``grains``: those of the items at the positions given)
    of the items ``base`` and, of each group of copies alike (``groups``: one ordered line's
    deliveries, which the list cannot tell apart), the worst copy: for each figure, the lowest of
    those with one copy of each group delivered alone.

    One group: each copy is tried, and each figure is the lowest of those (exact). Several: a
    figure is ``(A + sum_g a_gc) / (B + sum_g b_gc)`` for a choice ``c`` of one copy a group
    (``A/B`` the figure of ``base``, ``a_gc/b_gc`` what copy ``c`` of group ``g`` adds: each item's
    value slots and the findings on them are its own), which has as many choices as the product of
    the groups' sizes. Up to :data:`CHOICES` of them, each is tried from those terms (no more part
    runs; a copy in several groups, one that could stand for several lines, is taken for one line
    a choice) and each figure is the lowest (exact). Past that, the bound
    ``(A + min_c sum_g a_gc) / (B + max_c sum_g b_gc)`` is taken instead, each sum over the choices
    taking a copy for one line at most (:func:`_fewest`: a copy that could stand for 13 lines is
    counted once, not for each). Its numerator is the least, and its denominator the most, of any
    choice (the terms are not negative), so it is never above any choice's figure, but can be
    below all of them (a good copy under one line's id
    and a byte-identical copy of another's: 253/259, the choices 256/259 and 253/256); when every
    group's copies are alike in what they add (byte-identical copies: ``a_gc`` and ``b_gc`` the
    same for every ``c``), it is exact. Each copy costs one part run."""
    if not groups:
        return grains(base)
    if len(groups) == 1:
        tried = [grains([*base, k]) for k in groups[0]]
        return tuple(min((t[n] for t in tried), key=_order_key) for n in (0, 1))  # type: ignore[return-value]
    first = grains(base)
    alone: dict[int, tuple[Ratio, Ratio]] = {}  # a copy in several groups: one part run
    for k in dict.fromkeys(k for group in groups for k in group):
        alone[k] = grains([*base, k])
    # what each copy of each group adds to each figure: (numerator, denominator)
    adds = [
        [
            [
                (alone[k][n].numerator - first[n].numerator, alone[k][n].denominator - first[n].denominator)
                for n in (0, 1)
            ]
            for k in group
        ]
        for group in groups
    ]
    # a choice taking one copy for two lines (one that could stand for either) is none
    choices = (
        [
            choice
            for choice in itertools.product(*(range(len(group)) for group in groups))
            if len({group[c] for group, c in zip(groups, choice, strict=True)}) == len(groups)
        ]
        if math.prod(len(group) for group in groups) <= CHOICES
        else []
    )

    def figure(n: int, num: int, den: int) -> Ratio:
        r = first[n]
        return Ratio.of(r.name, r.unit, max(min(num, den), 0), den, r.target, r.note)

    if choices:
        return tuple(  # type: ignore[return-value]
            min(
                (
                    figure(
                        n,
                        first[n].numerator + sum(adds[g][c][n][0] for g, c in enumerate(choice)),
                        first[n].denominator + sum(adds[g][c][n][1] for g, c in enumerate(choice)),
                    )
                    for choice in choices
                ),
                key=_order_key,
            )
            for n in (0, 1)
        )
    return tuple(  # type: ignore[return-value]
        figure(
            n,
            first[n].numerator + _fewest(groups, adds, n, 0),
            first[n].denominator + _fewest(groups, adds, n, 1, -1),
        )
        for n in (0, 1)
    )


def _fewest(
    groups: list[list[int]], adds: list[list[list[tuple[int, int]]]], n: int, part: int, sign: int = 1
) -> int:
    """The least (``sign`` 1) or most (-1) sum over the groups of what one copy a group adds to
    figure ``n``'s numerator (``part`` 0) or denominator (1), each copy taken for one group at most
    (``adds``: :func:`_worst_copy`'s terms). A group whose copies are in no other group adds its
    own least; groups sharing copies (one that could stand for several lines) are assigned theirs
    together, the cheapest assignment (:func:`scipy.optimize.linear_sum_assignment`). Exact: each
    group holds its own twin (:func:`repeated_groups` keys the groups by their distinct twins), so
    an assignment of every group exists."""
    owner: dict[int, int] = {}  # groups sharing a copy, joined: union-find on group indices
    parent = list(range(len(groups)))

    def root(g: int) -> int:
        while parent[g] != g:
            parent[g] = parent[parent[g]]
            g = parent[g]
        return g

    for g, group in enumerate(groups):
        for k in group:
            if k in owner:
                parent[root(g)] = root(owner[k])
            else:
                owner[k] = g
    parts: dict[int, list[int]] = defaultdict(list)
    for g in range(len(groups)):
        parts[root(g)].append(g)
    total = 0
    for members in parts.values():
        if len(members) == 1:
            total += sign * min(sign * c[n][part] for c in adds[members[0]])
            continue
        import numpy as np
        from scipy.optimize import linear_sum_assignment

        copies = list(dict.fromkeys(k for g in members for k in groups[g]))
        column = {k: j for j, k in enumerate(copies)}
        cost = np.full((len(members), len(copies)), np.inf)
        for i, g in enumerate(members):
            for k, c in zip(groups[g], adds[g], strict=True):
                cost[i, column[k]] = min(cost[i, column[k]], sign * c[n][part])
        # each group holds its own twin (repeated_groups keys them by it): a full assignment exists;
        # with more groups than copies the assignment would cover some groups only, a short sum
        if len(members) > len(copies):  # a check `python -O` keeps, unlike an assert
            raise RuntimeError("groups sharing copies outnumber their copies")
        rows, cols = linear_sum_assignment(cost)
        total += sign * sum(int(cost[i, j]) for i, j in zip(rows, cols, strict=True))
    return total


CHOICES = 4096
"""The most choices of one copy a group of copies alike :func:`_worst_copy` tries each of (a
figure's sums over them: 4,096 of two groups of 64 copies, or of twelve pairs, take milliseconds)."""


def _order_key(ratio: Ratio) -> tuple[bool, float]:
    """A figure's place from lowest: one without a value (no slot) last."""
    return (ratio.value is None, ratio.value or 0.0)


def fingerprint(run: Run) -> str:
    """SHA-256 over sorted ``path:hash`` lines: annotation files by full SHA-256, slides and the
    files OpenSlide opens besides them (:attr:`~dqm.model.ItemRecord.parts`) by their quick print
    (size, first and last MiB), the manifest by full SHA-256."""
    lines = []
    summaries = run.outcomes.summaries()
    for k, (annotation, annotation_sha256, image, quick) in enumerate(
        zip(
            summaries.column("annotation_path"),
            run.outcomes.annotation_sha256s(),
            summaries.column("image_path"),
            run.outcomes.fingerprints(),
            strict=True,
        )
    ):
        if annotation_sha256 and annotation:
            lines.append(f"{annotation}:{annotation_sha256}")
        if quick and image:
            lines.append(f"{image}:{quick}")
            lines += [f"{part}:{printed}" for part, printed in run.outcomes.parts_of(k).items()]
    return _digest(lines, run.discovery)


def batch_fingerprint(
    root: Path,
    discovery: Discovery | None = None,
    recorded: Mapping[tuple[str, bool], Recorded] | None = None,
    parts: bool = True,
    slide_parts: Mapping[str, list[str]] | None = None,
    since_1_16: bool = True,
) -> str:
    """:func:`fingerprint` of the batch folder as it is now, from its files alone (no check runs):
    what an existing result is compared with before a command reuses it. An item whose check
    crashed has no prints in its result, so a result with such an item never matches.
    ``discovery``: the batch as just discovered, when the caller has it.

    ``recorded``: what the result recorded of its files (``batch.files``), by batch path as
    results.json writes it (:func:`~dqm.slide_refs.part_name`) and whether the print is an
    annotation's SHA-256 (True) or a quick print (a slide's, a file's besides it): the file's
    :func:`~dqm.runner.file_stat` and that print. A file OpenSlide opens besides a slide that is an
    annotation too (a ``Slidedat.ini`` naming ``../m.json``) is known by both, each compared with
    its own. A file whose size, modification and change time and inode are those recorded is not
    read: its recorded print stands for it. Any other file is read (an annotation hashed whole, a slide's quick print).
    The files are looked at by a few threads (a network file system answers ``stat`` slowly).

    ``parts``: each slide's line is joined by those of the files OpenSlide opens besides it
    (:func:`dqm.slide_refs.parts_of`, the record's :attr:`~dqm.model.ItemRecord.parts`), as
    results from 1.15 on fingerprint them; False for an older result's fingerprint. ``since_1_16``:
    a DICOM slide's series and a Trestle slide's macro among them, as from 1.16 on; False for a
    result of 1.15.
    ``slide_parts``: those files by slide (batch path), when the caller has found them already
    (``dqm verify --batch`` lists them too: a ``Slidedat.ini`` naming 55,000 files is read once)."""
    discovery = discover(root) if discovery is None else discovery
    # the files the walk listed are regular files inside the batch already; a manifest's other paths
    # go through the jail
    listed = {*discovery.slide_files, *discovery.annotation_files}
    known = recorded or {}

    def lines_of(items: list[Item]) -> list[str]:
        lines = []
        for item in items:
            for rel, annotation in ((item.annotation_path, True), (item.image_path, False)):
                path = _file(root, rel, listed)
                if path is not None and rel is not None:
                    norm = normalise(rel)[0]
                    digest = _digest_of(path, known.get((norm, annotation)), annotation)
                    if digest is not None:
                        lines.append(f"{rel}:{digest}")
                        if parts and not annotation:
                            found = slide_parts.get(norm) if slide_parts is not None else None
                            lines += _part_lines(
                                root, parts_of(root, norm, since_1_16) if found is None else found, known
                            )
        return lines

    items = discovery.items
    chunks = [items[i : i + FINGERPRINT_CHUNK] for i in range(0, len(items), FINGERPRINT_CHUNK)]
    with ThreadPoolExecutor(max_workers=FINGERPRINT_THREADS) as pool:
        lines = [line for chunk in pool.map(lines_of, chunks) for line in chunk]
    return _digest(lines, discovery)


def _part_lines(root: Path, parts: list[str], known: Mapping[tuple[str, bool], Recorded]) -> list[str]:
    """The ``path:print`` lines of the files OpenSlide opens besides a slide (``parts``, batch
    paths), each read again only when its stat is not the recorded one."""
    lines = []
    for part in parts:
        digest = _digest_of(root / part, known.get((part_name(part), False)), False)
        if digest is not None:
            lines.append(f"{part}:{digest}")
    return lines


Recorded = tuple[list[int] | None, str | None]
"""A file as a result recorded it: its stat (None before results 1.11) and its print."""
FINGERPRINT_CHUNK = 256
FINGERPRINT_THREADS = 8


def _digest_of(path: Path, recorded: Recorded | None, annotation: bool) -> str | None:
    """An annotation's SHA-256 or a slide's quick print, as recorded when the file's stat is the
    recorded one; None when the file cannot be read (it has no print in the result either)."""
    try:
        stat = file_stat(path)
    except OSError:
        return None
    if recorded is not None and recorded[0] == stat and recorded[1] is not None:
        return recorded[1]
    if annotation:
        data, _, _ = read_bytes(path)
        return hashlib.sha256(data).hexdigest() if data is not None else None
    with contextlib.suppress(OSError):
        return slide_print(path, stat[0])
    return None


def _file(root: Path, rel: str | None, listed: frozenset[str] | set[str] = frozenset()) -> Path | None:
    if rel is None:
        return None
    norm, outside = normalise(rel)
    if outside or not norm:
        return None
    return root / norm if norm in listed else jailed(root, norm)[0]


def _digest(lines: list[str], discovery: Discovery) -> str:
    if discovery.manifest:
        lines.append(f"{discovery.manifest}:{discovery.manifest_sha256 or 'unreadable'}")
    # a file besides a slide may be named by bytes that are not UTF-8 (held as lone surrogates,
    # ``\xff\xfe.dat`` named by a Slidedat.ini): encoded as the result cache's keys are
    return hashlib.sha256("\n".join(sorted(lines)).encode("utf-8", "surrogatepass")).hexdigest()


counts_against = _counts_against
"""Whether a finding lowers syntactic accuracy (an error of a syntactic aspect, or a crash)."""


def _bad_counts(findings: list[Finding], table_rows: int) -> dict[str, int]:
    """What the findings make inaccurate: files (all, structure, structure or format) and values."""

    def files(aspects: set[Aspect] | None) -> int:
        return len(
            _keys_of(
                findings,
                lambda f: _counts_against(f) if aspects is None else _bad_in(f, aspects),
            )
        )

    return {
        "files": files(None),
        "s_files": files({Aspect.STRUCTURE}),
        "sf_files": files({Aspect.STRUCTURE, Aspect.FORMAT}),
        "missing": len(_keys_of(findings, _is_undelivered)),
        "values": _bad_values(findings, {Aspect.STRUCTURE, Aspect.FORMAT}, table_rows),
        "s_values": _bad_values(findings, {Aspect.STRUCTURE}, table_rows),
        "f_values": _bad_values(findings, {Aspect.FORMAT}, table_rows),
    }


def rewaived(
    syntactic: SyntacticResult,
    findings: list[Finding],
    before: set[int],
    after: set[int],
    table_rows: int,
    ids: Sequence[str] = (),
    places: Sequence[tuple[str | None, str | None, int | None]] = (),
    manifest: str | None = None,
) -> SyntacticResult:
    """``syntactic``, decided with the findings at indexes ``before`` waived, decided again with
    those at ``after`` waived: a waived finding makes no file or value inaccurate. The counts move
    by what the waived findings change (files and value slots named by no other finding); the
    per-group breakdowns and the finding counts stay as measured, and a crashed check is never
    waived. ``table_rows``: the clinical table's rows (a whole missing column counts one value per
    row). ``ids``: the items' ids, in the result's order: the figures over the items ordered
    (``syntactic.ordered``) are computed again from them and the findings not waived; ``places``:
    each item's slide and annotation files and table row (the items no line of the order list matched are told
    by them; without them, every item has a row when the table has any); ``manifest``: the batch's
    manifest, whose rows of the items not ordered hold findings of theirs."""
    was = _bad_counts([f for i, f in enumerate(findings) if i not in before], table_rows)
    now = _bad_counts([f for i, f in enumerate(findings) if i not in after], table_rows)

    def moved(num: int, key: str) -> int:
        return max(num + was[key] - now[key], 0)

    s, fmt = syntactic.structure, syntactic.format
    total = syntactic.files_total
    files_valid = moved(syntactic.files_valid, "files")
    s_files = moved(s.files.numerator, "s_files")
    s_values = moved(s.values.numerator, "s_values")
    values_valid = moved(syntactic.values_valid, "values")
    redone = {
        "file_accuracy": _again(syntactic.gates, "file_accuracy", files_valid, total),
        "structure_accuracy": _again([s.values], "structure_accuracy", s_values, s.values.denominator),
        "format_accuracy": _again(
            [fmt.values], "format_accuracy", max(s_values - now["f_values"], 0), s_values
        ),
    }
    structure = Grains(
        files=_again([s.files], s.files.name, s_files, total), values=redone["structure_accuracy"]
    )
    f_files = moved(fmt.files.numerator, "sf_files")
    # an item not ordered stays out of the figures over the items ordered, and one not delivered
    # counts 0 there, its finding waived or not: a waiver frees the item's files in the
    # value-weighted figures, and the gates stay judged on the figures over the items ordered too
    kept = [f for i, f in enumerate(findings) if i not in after or f.code in (NOT_ORDERED, NOT_DELIVERED)]
    ordered = _ordered_again(syntactic.ordered, kept, ids)
    if ordered is not None and syntactic.ordered is not None:
        row = 0 if table_rows else None
        placed = [(i, *at) for i, at in zip(ids, places or [(None, None, row)] * len(ids), strict=True)]
        ordered = _unpadded_again(syntactic.ordered, ordered, findings, (before, after), placed, manifest)
    gates = _judged_on([redone.get(g.name, g) for g in syntactic.gates], ordered)
    return syntactic.model_copy(
        update={
            "file_accuracy": files_valid / total if total else None,
            "files_valid": files_valid,
            "value_accuracy": values_valid / syntactic.values_total if syntactic.values_total else None,
            "values_valid": values_valid,
            "structure": structure,
            "format": Grains(
                files=_again([fmt.files], fmt.files.name, f_files, s_files + now["missing"]),
                values=redone["format_accuracy"],
            ),
            "gates": gates,
            "passed": all(g.passed is not False for g in gates) and syntactic.crashed == 0,
            "ordered": ordered,
        }
    )


def _ordered_again(
    ordered: OrderedValues | None, kept: list[Finding], ids: Sequence[str], joined: bool = True
) -> OrderedValues | None:
    """The figures over the items ordered (``ordered``) with the findings ``kept`` (those not
    waived), of the items ``ids``; as measured when they do not record the items' value slots."""
    if ordered is None or len(ids) != len(ordered.item_values):
        return ordered
    bad = set(ordered.unreadable_items)
    unreadable = [int(k in bad) for k in range(len(ids))]
    return figures_over_order(ids, ordered.item_values, unreadable, kept, ordered.items, joined)


def _unpadded_again(
    was: OrderedValues,
    ordered: OrderedValues,
    findings: list[Finding],
    waived: tuple[set[int], set[int]],
    items: Sequence[tuple[str, str | None, str | None, int | None]],
    manifest: str | None = None,
) -> OrderedValues:
    """``ordered`` (computed again with the waivers ``waived[1]``) with the value-weighted figures
    without the items not ordered of ``was`` (:attr:`OrderedValues.structure_without_unordered`,
    decided with the waivers ``waived[0]``) moved as :func:`rewaived` moves the value-weighted ones,
    by the findings of the items they hold: ``items`` (each item's id, slide and annotation files
    and table row) but those no line of the order list matched (:func:`unordered_rows`), a whole missing column
    counting one value a row of theirs; never past their value slots. The findings at the rows of
    ``manifest`` of the items not matched are theirs, their id repeated or not. A line's copies
    alike and their twin (:func:`repeated_groups`) move as a waiver set moves them from the result
    as measured (:func:`_opened` under each set alone: the twin's findings waived as it says but
    those some copy's twin finding leaves open, the worst copy's): from where ``waived[0]`` left
    them to where ``waived[1]`` puts them; as measured under both (frozen) when the copies'
    findings differ."""
    before, after = waived
    s, fm = was.structure_without_unordered, was.format_without_unordered
    if s is None or fm is None:
        return ordered
    ids = [item[0] for item in items]
    if rowless_unordered(findings, ids, [item[1] for item in items], manifest):
        return ordered.model_copy(update={"structure_without_unordered": s, "format_without_unordered": fm})
    images, at = [item[1] for item in items], [item[3] for item in items]
    out = unordered_rows(findings, ids, images, at)
    # copies alike and their twins: their findings move nothing, but the twin's of a group whose
    # copies' findings are its own, waived alike (any copy is the worst)
    again = unordered_rows(findings, ids, images, at, AGAIN)
    groups = repeated_groups(findings, ids, images, at, out)
    tables = _item_tables(items, manifest, findings) if groups else None
    out |= again
    # a group moves from where ``before`` left it to where ``after`` puts it: under each set, a
    # finding of its twin is waived only where each copy's like finding is waived (the worst
    # copy's), the others taken as open; a group whose copies' findings differ is frozen
    was_open: set[int] = set()  # the twin's findings taken as open under ``before``
    now_open: set[int] = set()  # and under ``after``
    for group in groups:
        opened = _opened(findings, group, waived, tables) if tables is not None else None
        if opened is None:
            out |= set(group)  # its copies' findings differ: as measured under both (frozen)
        else:
            was_open |= opened[0]
            now_open |= opened[1]
    before, after = before - was_open, after - now_open
    kept = [item for k, item in enumerate(items) if k not in out]
    gone = set(ids) - {item[0] for item in kept}  # ids no line matched

    def files(of: Iterable[tuple[str, str | None, str | None, int | None]]) -> set[tuple[str, str | None]]:
        return {(i, as_read(path)) for i, *paths, _ in of for path in paths if path}

    dropped = files(item for k, item in enumerate(items) if k in out) - files(kept)
    rows_out = {item[3] for k, item in enumerate(items) if k in out} - {item[3] for item in kept} - {None}

    def held(skip: set[int]) -> list[Finding]:
        return [
            g
            for i, g in enumerate(findings)
            if i not in skip
            and g.item_id not in gone
            and (g.item_id, g.location.file) not in dropped
            and not (manifest is not None and g.location.file == manifest and g.location.row in rows_out)
        ]

    rows = sum(item[3] is not None for item in kept)
    then, now = _bad_counts(held(before), rows), _bad_counts(held(after), rows)
    # the others' structurally valid slots move by `freed`, their format-accurate ones by that
    # and the format errors waived; the copies alike's (their worst copy's) stay as measured
    freed = then["s_values"] - now["s_values"]
    ok = min(max(s.numerator + freed, 0), s.denominator)
    den = max(fm.denominator + freed, 0)
    good = min(max(fm.numerator + freed + then["f_values"] - now["f_values"], 0), den)
    return ordered.model_copy(
        update={
            "structure_without_unordered": Ratio.of(s.name, s.unit, ok, s.denominator, s.target),
            "format_without_unordered": Ratio.of(fm.name, fm.unit, good, den, fm.target),
        }
    )


_Tables = tuple[list[str], dict[int, list[int]], set[str]]


def _item_tables(
    items: Sequence[tuple[str, str | None, str | None, int | None]],
    manifest: str | None,
    findings: Sequence[Finding],
) -> _Tables:
    """What :func:`_opened` attributes findings by: each item's id, the indexes of the ``findings``
    of each item (by id; where several items have the id, a list by file, by its file, the item's
    slide or annotation file, or its row of ``manifest``), and the ids several items have that a
    structure or format error names with none of their files or rows (whose it is cannot be told).
    Each finding is attributed once, so the groups asking visit their own items' findings only:
    linear in the findings however many groups ask and however many items share an id."""
    ids = [item[0] for item in items]
    shared = {i for i, n in Counter(ids).items() if n > 1}
    of: dict[tuple[str, str], int] = {}  # (id, file or manifest row) -> item, for the ids shared
    only: dict[str, int] = {}  # id -> its item, for the others
    for k, (item_id, *paths, row) in enumerate(items):
        if item_id not in shared:
            only[item_id] = k
            continue
        for where in [as_read(path) for path in paths if path] + (
            [f"{manifest}#{row}"] if row is not None else []
        ):
            of.setdefault((item_id, where or ""), k)
    by_item: dict[int, list[int]] = defaultdict(list)
    untold: set[str] = set()
    for i, f in enumerate(findings):
        if not f.item_id:
            continue
        if f.item_id in shared:
            at = f.location
            where = f"{manifest}#{at.row}" if manifest is not None and at.file == manifest else at.file or ""
            owner = of.get((f.item_id, where))
            if owner is None and _compared(f):
                untold.add(f.item_id)
        else:
            owner = only.get(f.item_id)
        if owner is not None:
            by_item[owner].append(i)
    return ids, by_item, untold


def _compared(f: Finding) -> bool:
    """Whether :func:`_opened` compares ``f`` between copies: a structure or format error (those
    of the value figures) but the order list's."""
    return _bad_in(f, {Aspect.STRUCTURE, Aspect.FORMAT}) and f.code not in (AGAIN, NOT_ORDERED)


def _opened(
    findings: list[Finding],
    group: list[int],
    waived: tuple[set[int], ...],
    tables: _Tables,
) -> tuple[set[int], ...] | None:
    """The findings of the twin of ``group`` (positions of items in :func:`_item_tables`'s
    ``tables``, the twin first, then its copies) to take as open under each set of ``waived``
    (indexes of ``findings``), or None when the items do not each have the same structure and
    format errors but for where they are (files and rows) and the order list's: then a copy may
    add more than the twin to a figure. Under a set, a finding of the twin is waived only where
    each copy's like finding is waived too (of several alike, as many as the least waived copy
    has): at or below the worst copy's, never above what delivering any one copy would give
    (byte-identical copies, a waiver naming the first item only: its finding open, as the copy's;
    code A waived for the first item only and B for the copy only: both open, below either copy's). A finding of an
    id several items have that names none of their files or rows cannot be told: None."""
    ids, by_item, untold = tables
    if any(ids[k] in untold for k in group):
        return None  # whose it is cannot be told
    said: list[dict[tuple[object, ...], list[int]]] = []
    for k in group:
        mine: dict[tuple[object, ...], list[int]] = defaultdict(list)
        for i in by_item.get(k, ()):
            f = findings[i]
            if _compared(f):
                at = f.location
                params = str(sorted(f.params.items()))
                mine[
                    (f.code, f.severity, f.aspect, at.pointer, at.column, at.lesion, at.vertex, params)
                ].append(i)
        said.append(mine)
    twin = said[0]
    if any(
        other.keys() != twin.keys() or any(len(other[key]) != len(held) for key, held in twin.items())
        for other in said[1:]
    ):
        return None
    opened: list[set[int]] = []
    for w in waived:
        out: set[int] = set()
        for key, held in twin.items():
            least = min(sum(i in w for i in copy[key]) for copy in said)
            out.update([i for i in held if i in w][least:])
        opened.append(out)
    return tuple(opened)


def _again(ratios: list[Ratio], name: str, numerator: int, denominator: int) -> Ratio:
    """The ratio called ``name`` among ``ratios`` with new counts (its unit, target and note kept)."""
    old = next(r for r in ratios if r.name == name)
    return Ratio.of(old.name, old.unit, numerator, denominator, old.target, old.note)


ORDERED_UNCHECKED = (
    "waivers.waived (which findings a waiver covers: the waiver file is not in results.json)",
    "item_values (each item's value slots: only their sum is bounded, by values_total)",
    "unreadable_items (which items' annotation files were unreadable or missing: only their "
    "positions are checked)",
    "structure_without_unordered, format_without_unordered (the value-weighted figures without "
    "the items not ordered: their counts need the items' own value slots; only their presence, "
    "arithmetic and denominator are checked)",
    "findings deleted from the list with every count that names them (by_code, errors, "
    "order.delivered) edited alike",
    "items, the ITEM_NOT_DELIVERED and ITEM_NOT_ORDERED findings, order and ordered.items "
    "edited alike (an item deleted from the items with its findings and every count)",
    "disabled_checks (with order.list in it and none of its findings, nothing is checked against "
    "the order list's findings; the gate prints the checks disabled)",
)
"""What :func:`ordered_edits` cannot check from ``results.json`` alone."""

_TOLERANCE = 1e-9
"""A figure read back from JSON equals the one written (floats round-trip); the rest is rounding."""


def ordered_edits(
    syntactic: SyntacticResult,
    findings: list[Finding],
    ids: Sequence[str],
    waived: Iterable[int] = (),
    ordered_count: int | None = None,
    listed: bool = True,
    joined: bool = True,
) -> list[Message]:
    """The members of ``syntactic.ordered`` that disagree with the rest of a ``results.json``
    (empty: none found), each as ``member: why``. A result dqm wrote has none; one edited to pass
    (``not_delivered: 0`` with the findings still listing ``ITEM_NOT_DELIVERED``, a figure raised)
    has some. Computed again from what the file holds: the findings not waived (``waived``: their
    indexes; a waived ``ITEM_NOT_DELIVERED`` or ``ITEM_NOT_ORDERED`` counts as ever), the items'
    ids ``ids`` in the file's order, and the file's own ``item_values`` and ``unreadable_items``;
    ``ordered_count``: the items the order list names (``order.ordered``); ``listed``: whether
    the ``order.list`` check ran (disabled, no finding lists the items not delivered or not
    ordered, and nothing is checked against those findings). What cannot be checked so:
    :data:`ORDERED_UNCHECKED`. ``joined``: the figures computed again with an id's Unicode forms
    as one id (False: apart, as a result of 1.19 written before they were joined has them:
    :func:`dqm.figures.edited_order` accepts those for a result holding an id in two forms)."""
    ordered = syntactic.ordered
    if ordered is None:
        return []
    out: list[Message] = []
    if ordered_count is not None and ordered.items != ordered_count:
        out.append(
            msg("items: {n}, the order list names {m} (order.ordered)", n=ordered.items, m=ordered_count)
        )
    if len(ordered.item_values) != len(ids):
        out.append(msg("item_values: {n} counts for {m} items", n=len(ordered.item_values), m=len(ids)))
        return out
    if any(not 0 <= k < len(ids) for k in ordered.unreadable_items):
        out.append(msg("unreadable_items: a position past the items"))
        return out
    slots = sum(ordered.item_values) + ordered.not_delivered
    if slots > syntactic.values_total:
        out.append(
            msg("item_values: {n} value slots, more than values_total {m}", n=slots, m=syntactic.values_total)
        )
    skip = set(waived)
    kept = [f for i, f in enumerate(findings) if i not in skip or f.code in (NOT_ORDERED, NOT_DELIVERED)]
    again = _ordered_again(ordered, kept, ids, joined)
    assert again is not None  # the same number of items: computed again
    # each line of the list matched one item delivered, or none (ITEM_NOT_DELIVERED); each item
    # delivered was matched by one line, or not ordered (ITEM_NOT_ORDERED)
    lines = len(ids) - again.not_ordered + again.not_delivered
    if listed and ordered.items != lines:
        out.append(
            msg(
                "items: {n}, the items and findings give {m} ({delivered} delivered, {unordered} {code}, "
                "{missing} {code2})",
                n=ordered.items,
                m=lines,
                delivered=len(ids),
                unordered=again.not_ordered,
                code=NOT_ORDERED,
                missing=again.not_delivered,
                code2=NOT_DELIVERED,
            )
        )
    for name in ("not_delivered", "not_ordered") if listed else ():
        if getattr(ordered, name) != getattr(again, name):
            code = NOT_DELIVERED if name == "not_delivered" else NOT_ORDERED
            out.append(
                msg(
                    "{member}: {n}, the findings list {m} {code}",
                    member=name,
                    n=getattr(ordered, name),
                    m=getattr(again, name),
                    code=code,
                )
            )
    for name in ("structure_without_unordered", "format_without_unordered"):
        ratio = getattr(ordered, name)
        if (ratio is None) != (again.not_ordered == 0):
            out.append(
                msg(
                    N_("{member}: missing, the findings list {n} {code}")
                    if ratio is None
                    else N_("{member}: present, the findings list {n} {code}"),
                    member=name,
                    n=again.not_ordered,
                    code=NOT_ORDERED,
                )
            )
        elif ratio is not None and (
            ratio.numerator > ratio.denominator
            or ratio.denominator > syntactic.values_total
            or ratio.value != (ratio.numerator / ratio.denominator if ratio.denominator else None)
        ):
            out.append(
                msg(
                    "{member}: {n} of {m} value slots, values_total {total}",
                    member=name,
                    n=ratio.numerator,
                    m=ratio.denominator,
                    total=syntactic.values_total,
                )
            )
    if set(again.unreadable_items) != set(ordered.unreadable_items):
        # an item of no value slot (its annotation file missing, no check crashed) is one
        out.append(
            msg(
                "unreadable_items: {said}, the items give {real}",
                said=str(ordered.unreadable_items),
                real=str(again.unreadable_items),
            )
        )
    for name in ("value_accuracy", "structure_accuracy", "format_accuracy"):
        said, real = getattr(ordered, name), getattr(again, name)
        if (said is None) != (real is None) or (
            said is not None and real is not None and abs(said - real) > _TOLERANCE
        ):
            out.append(msg("{member}: {said}, the findings give {real}", member=name, said=said, real=real))
    return out
