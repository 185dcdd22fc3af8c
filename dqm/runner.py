"""Running the checks over a batch: read each item, judge it, then judge the batch as a whole.

Items are independent, so they run in worker processes (``workers``; one per core by default).
Each item's I/O (annotation file, slide probe) happens in its worker, then the item checks run
on the in-memory view; what the worker learned is one :class:`~dqm.model.ItemRecord` (parsed
annotation, slide facts, findings, summary, file facts), which every later step reads instead of
reading the item's files again. The worker sends it back as the run keeps it (a large run: without
the parsed annotation and slide facts) with the result cache's entry already serialised
(:class:`Checked`), so the main process never builds a large run's whole records. An exception inside a check (or a reader, or anywhere in an item's
work) becomes a ``CHECK_CRASHED`` finding for that item, and one whose work stops making progress
for the item limit an ``ITEM_TIMED_OUT`` one (its process killed); the run goes on. Nothing is ever
written into the batch folder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import multiprocessing
import os
import secrets
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from dqm import file_digests, probe_mpp
from dqm.batch import DeliveredTexts, Discovery, delivered_texts, discover, jailed, normalise
from dqm.budget import item_limit_s, on_progress, progress
from dqm.cache import RecordCache, entry
from dqm.clinical_table import (
    IDENTIFYING,
    RowSource,
    TableValidation,
    build_table,
    import_gx,
    nfc,
    text,
    validate_table,
)
from dqm.executors import (
    DaskOptions,
    ItemKilledWorkers,
    ItemTimedOut,
    chunk_size,
    dask_client,
    dask_map,
)
from dqm.facts import ItemSummary, SlideSummary, compact, interned
from dqm.findings import ITEM_TIMED_OUT, MAX_NAME_CHARS, Aspect, Finding, Location, Severity, clip
from dqm.i18n import Message, msg
from dqm.identifiers import compile_all, read_keys, use_profile_patterns
from dqm.model import Annotation, Item, ItemRecord, ParsedAnnotation, ReadIssue
from dqm.pixels.stain_batch import colour_pen_share, stain_share
from dqm.profile import Profile
from dqm.readers import (
    CACHE_MIN_BYTES,
    annotation_for_item,
    parse_annotation,
    parsed_before,
    read_bytes,
    resolve_classes,
    within_limits,
)
from dqm.readers.common.base import failed
from dqm.readers.common.held import lesion_classes, lesion_texts
from dqm.readers.items import unpicked_text
from dqm.readers.mask import at_offset, at_slide_scale
from dqm.records import ItemRecords
from dqm.slide_io import (
    ProbeOptions,
    SlideProbe,
    Taken,
    capture_native_stderr,
    full_hash,
    import_decoders,
    keep_freed_memory,
    probe_slide_cached,
    stat_values,
    taken_of,
)
from dqm.slide_refs import MAX_PARTS, slide_parts
from dqm.sparse_files import SparseFileError, sparse_at
from validators.context import BatchView, EarlierRelease, FileStatus, ItemFacts, ItemView
from validators.engine import ConfiguredCheck, configure, crash_finding, run_checks

if TYPE_CHECKING:
    from dqm.identifiers import Masker

Progress = Callable[[int, int], None]
READ_CHECK = "file.annotation_readable"
"""The check that owns reading annotation files; a reader that raises is reported as its crash."""
SEARCH_CHECK = "deid.annotation_properties"
"""The check that searches a shared annotation file's own text, whose crash a failed search of
its other images is."""
RUNNER_CHECK = "runner"
"""The check of an item whose work raised outside the checks or whose process died
(:func:`_crashed`): the item was not checked, and its record is never cached."""


@dataclass(frozen=True, slots=True)
class RunOptions:
    """How to run: where (executor, workers), whether to open slides, a user's GX suite."""

    workers: int | None = None
    """Worker processes on this machine (local pool, or the ``LocalCluster`` dask starts)."""
    executor: Literal["local", "dask"] = "local"
    """``local``: a process pool here; ``dask``: a Dask cluster (:mod:`dqm.executors`)."""
    scheduler: str | None = None
    """With ``dask``: a running scheduler's address (else ``$DQM_SCHEDULER``, else a LocalCluster)."""
    slides: bool = True
    """False validates annotation files alone: no slide probe, no pairing or slide checks."""
    gx_suite: Path | None = None
    clinical: bool = True
    """False skips the clinical-table expectations (single-file validation)."""
    hash_files: bool = True
    """False skips hashing annotation files (the batch fingerprint is not needed: validate)."""
    full_hashes: bool = False
    """Hash every slide in full too (``--full-hashes``: what ``dqm verify --batch`` compares);
    without it only the files a checksum list names are."""
    certify: bool = False
    """Reuse a cached record only when the full SHA-256 of each of the item's files, computed in
    the item's work, equals the one the record holds (``--certify``); implies ``full_hashes``."""
    slide_budget_s: float | None = None
    """One slide probe's budget in seconds (None: the profile's ``limits.slide_seconds``; :mod:`dqm.budget`)."""
    label_thumbnails: bool = False
    """Keep a small thumbnail of each slide's label image in the results (may show identifiers)."""
    whole_records: bool | None = None
    """Keep every item's parsed annotation and slide facts in the run (the validity stage trains
    on them all). None: only in a batch of at most :data:`WHOLE_RECORDS_UP_TO` items; a larger
    run keeps them for none (:meth:`Run.record` checks an item again for them)."""

    def __post_init__(self) -> None:
        if self.certify and not self.full_hashes:  # the hashes a certified record is confirmed by
            object.__setattr__(self, "full_hashes", True)


LOOKUP_ITEMS = 1_000
"""Items whose cached records are read and compacted at a time (a warm run of a million items
never holds a million whole records)."""
WHOLE_RECORDS_UP_TO = 10_000
"""Items of a batch whose records the run keeps whole by default. Above it the run keeps each
record without its parsed annotation and slide facts (the outlines, the artefact flag maps: most of
a record's memory on real slides); the results are the same."""


@dataclass(slots=True)
class Run:
    """The outcome of checking a batch."""

    root: Path
    profile: Profile
    discovery: Discovery
    outcomes: ItemRecords
    """One record per discovered item, in discovery order, kept as columns (a list of records
    given here is stored so)."""
    batch_findings: list[Finding] = field(default_factory=list)
    table: TableValidation | None = None
    options: RunOptions = RunOptions()
    earlier: EarlierRelease | None = None
    """An earlier release (``--baseline``) the batch checks compare slides with."""
    crowded: list[str] = field(default_factory=list)
    """Slide ids of the items whose slide names more than :data:`~dqm.slide_refs.MAX_PARTS` files
    OpenSlide opens besides it (:func:`crowded_slides`; the command warns: :func:`crowded_message`)."""
    ordered: int | None = None
    """The lines of the buyer's order list the batch was compared with (``--expect``,
    :func:`dqm.audit.with_order`; None without one): syntactic accuracy then gives the value
    figures over the items ordered (:class:`~dqm.syntactic.models.OrderedValues`)."""

    def __post_init__(self) -> None:
        if not isinstance(self.outcomes, ItemRecords):  # a part of a run, a test's records
            self.outcomes = ItemRecords.of(self.outcomes)

    @property
    def whole(self) -> bool:
        """Every record in ``outcomes`` is whole (:attr:`ItemRecords.whole`); False: they were
        kept without their parsed annotation and slide facts (:func:`lean`), which
        :meth:`record` gets back."""
        return self.outcomes.whole

    @property
    def findings(self) -> list[Finding]:
        return self.outcomes.findings() + self.batch_findings

    def record(self, k: int) -> ItemRecord:
        """Item ``k``'s whole record: as the run kept it or, when it kept records lean, from
        checking the item again (the same files give the same record)."""
        if self.whole:
            return self.outcomes[k]
        item = self.discovery.items[k]
        if item.slide_id != self.outcomes.summaries()[k].slide_id:
            raise ValueError(f"record {k} of a run whose records are not its discovery's items")
        record = check_item_safely(item, self.root, self.profile, configure(self.profile), self.options)
        assert record is not None  # only a certified item can come back without a record
        return record

    def records(self) -> Sequence[ItemRecord]:
        """Every item's whole record, in item order, each got when it is read (:meth:`record`)."""
        return _Records(self)


class _Records(Sequence[ItemRecord]):
    def __init__(self, run: Run) -> None:
        self._run = run

    def __len__(self) -> int:
        return len(self._run.outcomes)

    def __getitem__(self, k: Any) -> Any:
        if isinstance(k, slice):
            return [self._run.record(i) for i in range(len(self))[k]]
        return self._run.record(k)


def lean(record: ItemRecord) -> ItemRecord:
    """The record without its parsed annotation and slide facts: what a large run keeps of each
    item (the summary, findings, clinical record and file facts every stage reads)."""
    if record.annotation is None and record.slide is None:
        return record
    return dataclasses.replace(record, annotation=None, slide=None)


class Compactor:
    """Makes each record the main process keeps small (:meth:`__call__`): a run of a million
    items keeps a million of them (in :class:`~dqm.records.ItemRecords`, which keeps a large
    run's records lean)."""

    def __init__(self) -> None:
        self.shared: dict[Any, Any] = {}
        self._parts: dict[str, tuple[str, str, list[int] | None]] = {}
        """The path, print and stat of each file besides a slide, as the first record naming
        it holds them: a later record's equal ones are those (slides of a batch may name the same
        files: 1,000 shared by 100 slides cost 464 kB a slide, now 100 kB)."""

    def __call__(self, record: ItemRecord, item: Item) -> ItemRecord:
        """``record`` (of ``item``) as the run keeps it: its summary compacted
        (:func:`dqm.facts.compact`); its clinical record the discovery's own when they are
        equal; its strings the item's, or interned; the prints and stats of the files OpenSlide
        opens besides its slide (:attr:`~dqm.model.ItemRecord.parts`) those of an earlier record
        when equal (never changed in place)."""
        texts = {t: t for t in (item.slide_id, item.image_path, item.annotation_path) if t is not None}

        def same(value: Any) -> Any:
            return texts[value] if type(value) is str and value in texts else interned(value)

        parts, stats = {}, dict(record.stats)
        for path, quick in record.parts.items():
            stat = stats.pop(path, None)
            first = self._parts.setdefault(path, (same(path), quick, stat))
            # the first record's path, print and stat when equal (else changed during the run)
            parts[first[0]] = first[1] if first[1] == quick else quick
            if stat is not None:
                stats[first[0]] = first[2] if first[2] == stat else stat
        clinical = record.clinical_record
        clinical = (
            item.record
            if clinical == item.record
            else {interned(k): interned(v) for k, v in clinical.items()}
        )
        return dataclasses.replace(
            record,
            summary=compact(record.summary, self.shared, same),
            clinical_record=clinical,
            files=[same(f) for f in record.files],
            sha256={same(k): v for k, v in record.sha256.items()},
            stats={same(k): v for k, v in stats.items()},
            sparse={same(k): v for k, v in record.sparse.items()},
            parts=parts,
        )


@dataclass(frozen=True, slots=True)
class Returns:
    """What an item's work sends back to the main process (:func:`checked`)."""

    whole: bool = True
    """The whole record; False: the record :func:`lean`, as a large run keeps it."""
    cache: bool = False
    """The record serialised for the result cache too (:func:`dqm.cache.entry`)."""
    mask: Masker | None = None
    """The cache's masker (the run's): the entry is masked as the cache stores it."""


@dataclass(frozen=True, slots=True)
class Checked:
    """One item's outcome as its work sends it back: the record the run keeps and, when the run
    caches, the cache entry already serialised. The main process never builds (nor receives) a
    large run's whole record: the memory of a million of them passing through stays with the
    workers."""

    record: ItemRecord
    entry: bytes | None = None
    """The record as the cache stores it; None when there is no cache or it cannot be stored."""
    unstored: str | None = None
    """Why the record could not be serialised for the cache (the main process warns)."""
    unread: str | None = None
    """The digest of the files beside the DICOM slide its probe could not read
    (:attr:`SlideFacts.parts_unread_digest`; None: not probed, or none counts), which the cache
    compares with its key (:meth:`RecordCache.as_keyed`): a large run's record comes back lean,
    without its slide facts."""


def checked(record: ItemRecord, returns: Returns) -> Checked:
    """``record`` as an item's work sends it back (:class:`Checked`)."""
    data, why = None, None
    # an item not checked (its work raised, its process died) is not stored: what made it (memory,
    # a killed worker, a failed read) is not in the key, and the next run would serve it for ever
    if returns.cache and not any(f.check == RUNNER_CHECK for f in record.findings):
        try:
            data = entry(record, returns.mask)
        except (TypeError, ValueError) as exc:
            why = str(exc)
    unread = record.slide.parts_unread_digest if record.slide is not None else None
    return Checked(record if returns.whole else lean(record), data, why, unread)


def _status(root: Path, rel: str | None) -> tuple[FileStatus, Path | None]:
    if rel is None:
        return FileStatus(None, False), None
    norm, outside = normalise(rel)
    if outside or not norm:
        return FileStatus(rel, False, outside_batch=outside), None
    path, why = jailed(root, norm)
    if path is None and why is not None and "outside" in why:
        return FileStatus(norm, False, outside_batch=True), None
    refused = why if why is not None and why != "no such file" else None
    return FileStatus(norm, path is not None, refused=refused), path


def _with_unpicked(
    parsed: list[Annotation], annotation: Annotation, item: Item, image: str | None, keys: str | None
) -> tuple[Annotation, Finding | None]:
    """``annotation`` with the text of the images of its file that no item of the audit has (the
    item searches the file's own text), and None; a bug in that search is its crash
    (``CHECK_CRASHED`` of :data:`SEARCH_CHECK`), never a lost annotation."""
    try:
        unpicked = unpicked_text(parsed, item.file_readers or frozenset({(item.slide_id, image)}), keys)
        classes = _others_classes(parsed, annotation)
    except Exception as exc:  # the item's own annotation is read: its checks still run
        return annotation, crash_finding(SEARCH_CHECK, item.slide_id, exc, annotation.path)
    return dataclasses.replace(annotation, file_text={**annotation.file_text, **classes, **unpicked}), None


def _others_classes(parsed: list[Annotation], annotation: Annotation) -> dict[str, str]:
    """The class names of the lesions of the file's other images that ``annotation``'s lesions
    lack, each at its first lesion's ``category_id``: the item that searches a shared file's own
    text searches them, the other items none (``deid.annotation_properties``). Each item searched
    its own lesions' names: a 4 MB category name 20 times for 20 items (16.4 s of CPU)."""
    seen = lesion_classes(annotation)
    out: dict[str, str] = {}
    for ann in parsed:
        for where, raw_class, _ in lesion_texts(ann):
            if isinstance(raw_class, str) and raw_class not in seen:
                seen.add(raw_class)
                out[where + "/category_id"] = raw_class
    return out


def run_item_checks(view: ItemView, checks: list[ConfiguredCheck]) -> list[Finding]:
    """Every configured item check on one view; a raising check becomes a crash finding."""
    return run_checks("item", view, checks)


def check_item(
    item: Item,
    root: Path,
    profile: Profile,
    checks: list[ConfiguredCheck],
    options: RunOptions,
    hashed: dict[str, str] | None = None,
) -> ItemRecord:
    """Read one item's files and run the item checks on them. ``hashed``: full SHA-256 of some
    of its files (batch paths), already taken in this work."""
    image, image_path = _status(root, item.image_path)
    ann_status, ann_path = _status(root, item.annotation_path)
    since = time.time_ns()  # before the stats: a file's digest is kept only when they are older
    stats, sparse, seen = _stats(
        {ann_status.path: ann_path, image.path: image_path if options.slides else None}
    )
    taken = _taken(root, image.path, seen.get(image.path or "")) if options.slides else None
    parts = taken.parts if taken is not None else {}
    known = dict(hashed or {})
    if options.full_hashes and options.slides and image.path:
        # before the probe reads them, as their stats and quick prints are taken: a file rewritten
        # while it is read, its quick print and times kept, then hashes otherwise than the record
        # holds, and the next --certify run checks the item again
        known.update(_whole_hashes(root, sorted({image.path, *parts}), known, sparse))
    annotation, ann_hash = None, None
    read_crash: Finding | None = None
    search_crash: Finding | None = None
    if ann_status.exists and ann_path is not None:
        rel = ann_status.path or ""
        try:
            parse, issue, digest = _parsed(ann_path, rel, seen.get(rel), since, profile, options.hash_files)
            if parse is None:
                assert issue is not None
                annotation = failed(rel, "unknown", issue)
            else:
                ann_hash = digest if options.hash_files else None
                progress()  # read: the parse is the next step
                parsed = parse()
                annotation = annotation_for_item(parsed, item, image.path)
                if item.searches_file_text and len(parsed) > 1:  # images no item has
                    keys = read_keys(profile.deid)
                    annotation, search_crash = _with_unpicked(parsed, annotation, item, image.path, keys)
                annotation = within_limits(annotation, profile.limits)
        except Exception as exc:  # a reader's bug must not stop the run or hide the file
            annotation = Annotation(path=rel, format="unknown", readable=False, n_values=1)
            read_crash = crash_finding(READ_CHECK, item.slide_id, exc, rel)
    progress()
    probe: SlideProbe | None = None
    mpp_range, objective_range = probe_mpp.header_ranges(profile)
    tolerance = probe_mpp.fit_tolerance(profile)
    # one rule for the probe and the areas in µm² (ItemView.mpp): no size known yet
    resolution = probe_mpp.for_probe(annotation, item, profile, mpp_range, None, tolerance)
    mpp_used: tuple[float | None, str] = (None, "none")
    if options.slides and image.exists and image_path is not None:
        # after the annotation is read: a resolution stated only there is the probe's when the
        # header states none (blur is measured, folds judged at a physical scale). The probe is
        # given the annotation's with its fit data and the one to take otherwise, and decides on
        # the size it reads (a MIRAX slide's too): one open, one probe, one slide_seconds budget
        otherwise, fit = probe_mpp.candidates(annotation, item, profile, mpp_range, tolerance)
        probe_options = ProbeOptions(
            budget_s=options.slide_budget_s or profile.limits.slide_seconds,
            label_thumbnail=options.label_thumbnails,
            mpp=otherwise.mpp,
            mpp_source=otherwise.source,
            fit=fit,
            mpp_range=mpp_range,
            objective_range=objective_range,
        )
        probe = probe_slide_cached(image_path, image.path or "", probe_options, taken)
        if probe.opened and not probe.mpp_x and probe.width and probe.height:
            read = (probe.width, probe.height)  # the decision the probe took (probe_mpp.resolved)
            resolution = probe_mpp.for_probe(annotation, item, profile, mpp_range, read, tolerance)
        mpp_used = probe_mpp.used(probe, probe_options)
    if item.row is None and annotation is not None:
        # its text in NFC, as a manifest's cells are read (dqm.batch): the checks keying on a
        # patient or an institution compare it as written
        item.record = {k: nfc(v) if isinstance(v, str) else v for k, v in annotation.clinical.items()}
    if annotation is not None:
        size = (
            (probe.width, probe.height)
            if probe is not None and probe.opened and probe.width and probe.height
            else None
        )
        downsample = item.stated_mask_downsample or profile.mask_downsample
        annotation = at_slide_scale(at_offset(annotation, item.stated_mask_offset), size, downsample)
        annotation = resolve_classes(annotation, profile, item.institution, item.diagnosis)
    view = ItemView(item, profile, annotation, probe, image, ann_status, options.slides)
    if probe is None or not probe.mpp_x:  # the header's wins
        view.resolution = resolution
    progress()
    findings = run_item_checks(view, checks)
    findings[:0] = [crash for crash in (read_crash, search_crash) if crash is not None]
    files = [p for p in (ann_status.path, image.path if options.slides else None) if p]
    record_source = (
        "manifest"
        if item.row is not None
        else (annotation.path if annotation and annotation.readable else None)
    )
    if annotation is not None:
        annotation.document = None  # the parsed text is not needed past the checks
    whole = set(item.listed) | (set(files) | set(parts) if options.full_hashes else set())
    if ann_hash and ann_status.path:
        known[ann_status.path] = ann_hash
    return ItemRecord(
        summary=summarise(item, annotation, probe, profile, findings, mpp_used),
        findings=findings,
        n_values=annotation.n_values if annotation else 0,
        files=files,
        clinical_record=item.record,
        record_source=record_source,
        fingerprint=probe.fingerprint if probe and probe.fingerprint else None,
        annotation_sha256=ann_hash,
        # a reader that crashed did not find the file unreadable: it was not evaluated
        unreadable=annotation is not None and not annotation.readable and read_crash is None,
        annotation=ParsedAnnotation.of(annotation) if annotation is not None else None,
        slide=probe.facts() if probe is not None else None,
        sha256=_whole_hashes(root, sorted(whole), known, sparse),
        stats=stats | {part: stat for part, (_, stat) in parts.items()},
        sparse=sparse,
        parts={part: quick for part, (quick, _) in parts.items()},
    )


def _parsed(
    path: Path, rel: str, st: os.stat_result | None, since: int, profile: Profile, hash_files: bool
) -> tuple[Callable[[], list[Annotation]] | None, ReadIssue | None, str | None]:
    """How to get the annotations of the file ``path`` (``rel`` in the batch), the issue that
    kept it from being read instead, and its SHA-256 when it was taken (``hash_files``, or a big
    file: the parse cache's key). ``st``: its stat, taken at ``since`` or later, before it is read.

    A file this worker read before with the same stat (:mod:`dqm.file_digests`) whose annotations
    the parse cache still holds is not read again: a COCO file every item of a delivery shares
    costs each further item its own annotations, not the file. Otherwise the file is read and
    hashed, and its digest kept for the next item. The parse itself is left to the caller (a
    reader's crash is the item's ``CHECK_CRASHED``)."""
    keys = read_keys(profile.deid)  # a parse for another profile kept other values: not reused
    digest = file_digests.known(path, st) if st is not None else None
    if st is not None and digest is not None:
        parsed = parsed_before(rel, st.st_size, digest, profile.limits, keys)
        if parsed is not None:
            return lambda: parsed, None, digest
    data, issue, read = read_bytes(path, profile.limits.annotation_bytes)
    if data is None:
        return None, issue, None
    digest = hashlib.sha256(data).hexdigest() if hash_files or len(data) >= CACHE_MIN_BYTES else None
    if digest is not None and st is not None and read is not None and len(data) == st.st_size:
        file_digests.remember(path, st, digest, since, read)
    return lambda: parse_annotation(data, rel, profile.limits, digest, keys), None, digest


def _taken(root: Path, rel: str | None, st: os.stat_result | None) -> Taken | None:
    """What is taken of the slide ``rel`` (its stat ``st``) before the probe reads it
    (:func:`dqm.slide_io.taken_of`): its stat, and the quick print and stat of each file OpenSlide
    opens besides it (:func:`dqm.slide_refs.slide_parts`: a MIRAX slide's folder, a VMS key file's
    images, the other files of a DICOM slide's series, at most :data:`~dqm.slide_refs.MAX_PARTS`).
    What the slide shows depends on them: with full hashes they are hashed whole too
    (``--certify`` confirms a record by them), ``--results`` fingerprints them, and the probe
    confirms them once OpenSlide is done. A file that cannot be read is left out (OpenSlide's error
    says so)."""
    if rel is None or st is None:
        return None
    return taken_of(os.path.join(root, rel), st, root)


def file_stat(path: Path) -> list[int]:
    """What a file's metadata says of its content: size, modification and change time (ns), inode."""
    return stat_values(path.stat())


def _stats(
    files: dict[str | None, Path | None],
) -> tuple[dict[str, list[int]], dict[str, tuple[int, int]], dict[str, os.stat_result]]:
    """:func:`file_stat` of each file (batch path -> its jailed path), before the work reads it,
    the sizes of those that are sparse (:mod:`dqm.sparse_files`), from the same stat, and the
    stats themselves."""
    out, sparse, seen = {}, {}, {}
    for rel, path in files.items():
        if rel and path is not None:
            with contextlib.suppress(OSError):  # unreadable: the reading reports it
                st = seen[rel] = path.stat()
                out[rel] = stat_values(st)
                if (found := sparse_at(path, st)) is not None:
                    sparse[rel] = (found.apparent, found.allocated)
    return out, sparse, seen


def _whole_hashes(
    root: Path, files: list[str], known: dict[str, str], sparse: dict[str, tuple[int, int]]
) -> dict[str, str]:
    """SHA-256 of each file (batch paths, already jailed by the item's work) read whole; a file
    that cannot be read is left out (its checksum finding says so), and so is a sparse one, added
    to ``sparse`` (batch path -> apparent and allocated bytes)."""
    out = {}
    for rel in files:
        if rel in known:
            out[rel] = known[rel]
            continue
        path = jailed(root, rel)[0]
        if path is not None and rel not in sparse:
            hash_whole(path, rel, out, sparse)
    return out


def hash_whole(path: Path, rel: str, hashes: dict[str, str], sparse: dict[str, tuple[int, int]]) -> None:
    """``hashes[rel]``, the full SHA-256 of ``path``; a sparse file's sizes in ``sparse`` instead
    (never read whole); nothing for a file that cannot be read (its checksum finding says so)."""
    try:
        hashes[rel] = full_hash(path)
    except SparseFileError as exc:
        sparse[rel] = (exc.sparse.apparent, exc.sparse.allocated)
    except OSError:
        pass


@dataclass(slots=True)
class Certified(Item):
    """An item whose cached record waits for its files' full hashes (``--certify``): its work
    hashes the files the record was made from and checks the item only when one differs."""

    files: tuple[str, ...] = ()
    """The files (batch paths) the record holds full hashes of when they could be read: the
    item's, and those OpenSlide opens besides its slide (a MIRAX data file rewritten in place
    with its times put back was certified by the slide's own hash)."""
    expected: dict[str, str] = field(default_factory=dict)
    """The record's full SHA-256 of those files."""

    @classmethod
    def of(cls, item: Item, record: ItemRecord) -> Certified:
        base = {f.name: getattr(item, f.name) for f in dataclasses.fields(Item)}
        files = tuple(sorted({*record.files, *item.listed, *record.parts}))
        return cls(**base, files=files, expected=dict(record.sha256))


def check_item_safely(
    item: Item, root: Path, profile: Profile, checks: list[ConfiguredCheck], options: RunOptions
) -> ItemRecord | None:
    """:func:`check_item`, with an unexpected exception outside the checks (a slide probe or a
    summary that raises) recorded as a crash of that item instead of ending the whole run.

    A :class:`Certified` item is hashed first: None when each of its files has the full SHA-256
    its cached record holds (the record stands), else the item is checked (its hashes reused)."""
    try:
        hashed = None
        if isinstance(item, Certified):
            hashed = _whole_hashes(root, list(item.files), {}, {})
            if hashed == item.expected:
                return None
        return check_item(item, root, profile, checks, options, hashed)
    except Exception as exc:
        return _crashed(item, profile, options, exc)


class WorkerDied(Exception):
    """The process checking an item ended without an outcome (a native library crashed on one of
    its files, or the system killed it)."""


DIED = (
    "the process checking this item died (a native library crashed on one of its files, or the "
    "system killed it); the item's files were not checked"
)
"""The crash of an item that ended its process, the same on either executor (results.json is)."""


def _crashed(item: Item, profile: Profile, options: RunOptions, exc: BaseException) -> ItemRecord:
    """The outcome of an item whose work raised or killed its process: one crash finding."""
    file = _batch_path(item.annotation_path or item.image_path)
    return _unchecked(item, profile, options, crash_finding(RUNNER_CHECK, item.slide_id, exc, file))


def timed_out_finding(item: Item, limit_s: float) -> Finding:
    """The error of an item whose work went past its wall-clock limit and whose process was killed."""
    return Finding(
        item_id=item.slide_id,
        check=RUNNER_CHECK,
        code=ITEM_TIMED_OUT,
        severity=Severity.ERROR,
        aspect=Aspect.INTERNAL,
        message=msg(
            "the item's work made no progress for longer than its limit of {limit:g} s on the wall clock "
            "(the profile's limits.item_seconds: a decoder that never returns, or a read blocked on a filesystem) "
            "and its process was ended; the item's files were not checked",
            limit=limit_s,
        ),
        location=Location(file=_batch_path(item.annotation_path or item.image_path)),
    )


def _unchecked(item: Item, profile: Profile, options: RunOptions, finding: Finding) -> ItemRecord:
    """The record of an item that was not checked, holding only ``finding``."""
    return ItemRecord(
        summary=summarise(item, None, None, profile, [finding]),
        findings=[finding],
        n_values=0,
        files=[
            p
            for p in (
                _batch_path(item.annotation_path),
                _batch_path(item.image_path) if options.slides else None,
            )
            if p
        ],
        clinical_record=item.record,
        record_source="manifest" if item.row is not None else None,
    )


def summarise(
    item: Item,
    annotation: Annotation | None,
    probe: SlideProbe | None,
    profile: Profile,
    findings: list[Finding],
    mpp_used: tuple[float | None, str] | None = None,
) -> ItemSummary:
    """The per-item facts the results keep (counts, areas, slide header). ``mpp_used``: the
    level-0 resolution the probe used and its source (:func:`dqm.probe_mpp.used`; not given: the
    header's)."""
    classes: dict[str, int] = {}
    areas: dict[str, float] = {}
    unmapped: dict[str, int] = {}
    n_lesions = 0
    if annotation is not None:
        n_lesions = len(annotation.lesions)
        names = annotation.format != "mask"  # a mask's unmapped values: MASK_VALUE_UNMAPPED, not names
        for lesion in annotation.lesions:
            key = lesion.label or "?"
            classes[key] = classes.get(key, 0) + 1
            if names and lesion.label is None and lesion.raw_class is not None:
                raw = clip(lesion.raw_class, MAX_NAME_CHARS)  # a class name of megabytes stays in its file
                unmapped[raw] = unmapped.get(raw, 0) + 1
            if lesion.geometry is not None:
                areas[key] = areas.get(key, 0.0) + lesion.area
    slide = None
    if probe is not None and probe.opened:
        if mpp_used is None:
            mpp_used = (probe.mpp_x, "header") if probe.mpp_x else (None, "none")
        slide = SlideSummary.model_construct(
            width=probe.width,
            height=probe.height,
            mpp=mpp_used[0],
            mpp_source=mpp_used[1],
            vendor=probe.vendor,
            levels=probe.level_count,
            objective_power=probe.objective_power,
            level_downsamples=list(probe.level_downsamples),
            compression=probe.compression,
            jpeg_quality=probe.jpeg_quality,
            scanner=probe.scanner,
            stain=probe.tissue.stain if probe.tissue is not None else None,
            label_thumbnail=probe.label_thumbnail,
            perceptual_hash=probe.tissue.perceptual_hash if probe.tissue is not None else None,
            overstain_share=stain_share(probe.artefacts, "overstain"),
            understain_share=stain_share(probe.artefacts, "understain"),
            colour_pen_share=colour_pen_share(probe.artefacts),
            all_ink=probe.artefacts.all_ink if probe.artefacts is not None else None,
            one_colour=probe.artefacts.one_colour if probe.artefacts is not None else None,
            artefact_scale_unknown=(
                probe.artefacts.mpp is None
                if probe.artefacts is not None and probe.artefacts.tissue_px
                else None
            ),
            artefact_scale_coarse=(
                probe.artefacts.mpp is not None and bool(probe.artefacts.scale_note)
                if probe.artefacts is not None and probe.artefacts.tissue_px
                else None
            ),
        )
    diagnosis = profile.resolve_class(item.diagnosis, item.institution) or item.diagnosis
    clinical = {k: text(v) for k, v in item.record.items() if k in profile.clinical and k not in IDENTIFYING}
    # model_construct: every value is built here with its declared type; no need to validate
    return ItemSummary.model_construct(
        slide_id=item.slide_id,
        row=item.row,
        image_path=item.image_path,
        annotation_path=item.annotation_path,
        institution=item.institution,
        diagnosis=diagnosis,
        clinical=clinical,
        n_lesions=n_lesions,
        lesion_classes=classes,
        lesion_area_px=areas,
        unmapped_classes=unmapped,
        annotation_format=annotation.format if annotation is not None else None,
        slide=slide,
        width=annotation.width if annotation else None,
        height=annotation.height if annotation else None,
        errors=sum(f.severity == Severity.ERROR for f in findings),
        warnings=sum(f.severity == Severity.WARNING for f in findings),
    )


@dataclass(frozen=True, slots=True)
class ItemWork:
    """What every item of a run is checked with, sent once to each worker process: the batch
    root, the profile, the configured checks, the run's options, and what to send back."""

    root: Path
    profile: Profile
    checks: list[ConfiguredCheck]
    options: RunOptions
    returns: Returns
    run: str = field(default_factory=lambda: secrets.token_hex(8))
    """This run's nonce: a worker that outlives the run gives its digests of files read whole
    (:func:`dqm.file_digests.in_run`) to this run's items only."""

    def __call__(self, item: Item) -> Checked | None:
        """The item's work (:func:`check_item_safely`), its record as :attr:`returns` asks; None
        for a certified item whose cached record stands. The process cuts text with the profile's
        identifier patterns (:func:`~dqm.identifiers.use_profile_patterns`): a worker receives its
        run's profile here, whatever the executor."""
        use_profile_patterns(self.profile.deid)
        with file_digests.in_run(self.run):
            record = check_item_safely(item, self.root, self.profile, self.checks, self.options)
        return None if record is None else checked(record, self.returns)

    def warm(self) -> None:
        """Do now what a process's first item would otherwise do in its clock (the identifier
        patterns compiled, every one a find or a cut would compile: about 2 s of CPU, seconds on a
        loaded machine; the decoders imported): in a worker before its first item, or in the process that forks them."""
        use_profile_patterns(self.profile.deid)
        compile_all(self.profile.deid)
        if self.options.slides:
            import_decoders()

    def crashed(self, item: Item, exc: BaseException) -> Checked:
        """The outcome of an item whose work ended its process: a crash finding of that item."""
        return checked(_crashed(item, self.profile, self.options, exc), self.returns)

    @property
    def limit_s(self) -> float:
        """The wall-clock seconds one item's work may take (:func:`dqm.budget.item_limit_s`)."""
        limits = self.profile.limits
        return item_limit_s(self.options.slide_budget_s or limits.slide_seconds, limits.item_seconds)

    def timed_out(self, item: Item) -> Checked:
        """The outcome of an item whose process was killed past :attr:`limit_s`."""
        record = _unchecked(item, self.profile, self.options, timed_out_finding(item, self.limit_s))
        return checked(record, self.returns)


def item_work(item: Item, work: ItemWork) -> Checked | None:
    """``work(item)``, as Dask calls a task's function: the item, then the shared arguments."""
    return work(item)


def warm_work(work: ItemWork) -> None:
    """:meth:`ItemWork.warm`, as a Dask worker calls it once it has the run's work."""
    work.warm()


_STATE: dict[str, Any] = {}


WATCH_POLL_S = 0.5
"""How often the main process, waiting for the pool, looks for a worker past the item limit."""


CLAIM_WAIT_S = 10.0
"""How long a starting worker waits for the lock of its :class:`_Watch`'s slots."""


class _Watch:
    """Which item each worker of a pool is on and when it last made progress, in memory the pool's
    processes share: the main process finds a worker stuck in one step of one item (a chunk holds
    several; :func:`dqm.budget.progress` says each step) and kills it.

    Each slot has one writer, its worker, and 8-byte stores: the slots take no lock, so a worker
    killed while it writes cannot leave the main process waiting for ever. Only :meth:`claim`
    locks, with a bounded wait, before any item of the worker runs."""

    def __init__(self, workers: int, ctx: Any) -> None:
        # per worker: its pid, the index of the item it is on (-1: none) and when it last made
        # progress (time.monotonic: the system's clock, the same in every process)
        self.slots = ctx.Array("d", [0.0, -1.0, 0.0] * workers, lock=False)
        self.lock = ctx.Lock()
        self.timed_out: list[int] = []
        """The indices of the items whose worker this killed, in the order it did."""

    def claim(self) -> int:
        """In a worker: the slot it writes to (the first free one; a dead worker's is never reused:
        its pool is broken); -1 when none (the worker's items are then not watched)."""
        if not self.lock.acquire(timeout=CLAIM_WAIT_S):
            return -1
        try:
            for s in range(0, len(self.slots), 3):
                if self.slots[s] == 0:
                    self.slots[s] = os.getpid()
                    return s
        finally:
            self.lock.release()
        return -1

    def stuck(self, limit_s: float) -> None:
        """Kill each worker that made no progress on its item for more than ``limit_s``, noting
        the item."""
        now = time.monotonic()
        values = list(self.slots)  # the index before its time: a new item's time is written first
        for s in range(0, len(values), 3):
            pid, index, began = values[s : s + 3]
            if pid and index >= 0 and now - began > limit_s and int(index) not in self.timed_out:
                with contextlib.suppress(OSError):  # ended on its own meanwhile
                    os.kill(int(pid), signal.SIGKILL)
                self.timed_out.append(int(index))

    def result(self, future: Future[list[Checked | None]], limit_s: float) -> list[Checked | None]:
        """``future``'s result, killing the workers that are stuck meanwhile (its pool then breaks:
        ``BrokenProcessPool``)."""
        while True:
            try:
                return future.result(timeout=WATCH_POLL_S)
            except TimeoutError:
                self.stuck(limit_s)


PARENT_POLL_S = 0.5
"""How often a pool worker looks whether the process that started it still runs."""


def _init_worker(work: ItemWork, parent: int, watch: _Watch) -> None:
    work.warm()  # before any item's clock runs
    _STATE["work"] = work
    _STATE["watch"] = watch
    s = _STATE["slot"] = watch.claim()
    slots = watch.slots

    def beat() -> None:
        slots[s + 2] = time.monotonic()

    on_progress(beat if s >= 0 else None)
    capture_native_stderr()  # libtiff's warnings become findings of their slide, not stray lines
    keep_freed_memory()
    _end_with(parent)


def _end_with(parent: int) -> None:
    """End this worker once ``parent`` has: a run killed outright (SIGKILL: the OOM killer, a
    cancelled CI job) cannot shut its pool down, and its workers would wait for work for ever,
    holding their memory. The worker's parent becomes another process when it dies."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="dqm-parent-watch", daemon=True).start()


def _work(items: Sequence[Item], first: int) -> list[Checked | None]:
    """The outcomes of ``items``, the pool's items ``first`` onwards, saying in the pool's
    :class:`_Watch` which one this worker is on."""
    work, slots, s = _STATE["work"], _STATE["watch"].slots, _STATE["slot"]
    out = []
    for k, item in enumerate(items, first):
        if s >= 0:
            slots[s + 2] = time.monotonic()  # before the index: a reader never sees a stale start
            slots[s + 1] = k
        out.append(work(item))
    if s >= 0:
        slots[s + 1] = -1
    return out


def default_workers(n_items: int) -> int:
    """One worker per core, but one worker process for small batches (each start-up costs more)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, n_items // 100))


def _map_local(
    items: Sequence[Item], work: ItemWork, while_workers_run: Callable[[], object] | None = None
) -> Iterator[Checked | None]:
    """Outcomes in item order, from this machine's process pool. ``while_workers_run`` is called
    once the workers have their items, so slow set-up in this process (importing
    great_expectations) overlaps their work.

    Items run in worker processes, so a native library that crashes on a file (a segfault in a
    slide decoder) or a worker the system kills costs that item, not the run: the items the dead
    pool still owed are checked again (:func:`_recover`).

    A worker on one item past :attr:`ItemWork.limit_s` (a decoder that never returns) is killed,
    by this process (:class:`_Watch`): the item is ``ITEM_TIMED_OUT`` and the others its pool
    owed are checked again. ``--workers 1`` runs in this process (a debugger or profiler sees the
    items' work), where nothing can end a stuck item, unless the profile sets
    ``limits.item_seconds``: then it is a pool of one worker process, as a small batch's default is.
    """
    if not items:
        return
    if work.options.workers == 1 and work.profile.limits.item_seconds is None:
        for item in items:
            yield work(item)
        return
    workers = work.options.workers or default_workers(len(items))
    chunk = chunk_size(len(items), workers)
    chunks = [items[i : i + chunk] for i in range(0, len(items), chunk)]
    watch = _Watch(workers, _context())
    with _pool(workers, work, watch) as pool, _stopped_unless_done(pool):
        futures = _submit(pool, chunks, range(0, len(items), chunk))
        if while_workers_run is not None:
            while_workers_run()
        broken = len(futures)
        for k in range(len(futures)):
            try:
                got = watch.result(futures[k], work.limit_s)
            except BrokenProcessPool:
                broken = k
                break
            futures[k] = _DONE  # its records are the caller's: a future kept would hold them to the end
            yield from got
    if broken < len(chunks):  # the pool died: check again from the first item it owed
        first = broken * chunk
        decided = {k - first: work.timed_out(items[k]) for k in watch.timed_out if k >= first}
        yield from _recover(items[first:], workers, work, decided)


_DONE: Future[list[Checked | None]] = Future()
"""Stands for a future whose records were handed over (:func:`_map_local`)."""


def _dask_worker_setup() -> None:
    """Each Dask worker process (and each one a nanny restarts) captures what C libraries print
    while a slide decodes, as the local pool's initializer does. The worker's own log lines
    (Dask logs to stderr from another thread) go to a copy of the stderr descriptor, so a line
    logged while a slide decodes is not taken for the decoder's."""
    import logging

    stream = os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8", errors="replace")
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            if isinstance(handler, logging.StreamHandler) and _writes_to_fd2(handler.stream):
                handler.setStream(stream)
    capture_native_stderr()
    keep_freed_memory()


def _writes_to_fd2(stream: Any) -> bool:
    try:
        return bool(stream.fileno() == 2)
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError
        return False


def _map_dask(
    items: Sequence[Item], work: ItemWork, while_workers_run: Callable[[], object] | None
) -> Iterator[tuple[int, Checked | None]]:
    """``(index, outcome)`` as the Dask workers finish them; ``work`` goes to each worker once. An
    item whose task ends its worker even alone is recorded as its crash; one past
    :attr:`ItemWork.limit_s` (its worker ended) as ``ITEM_TIMED_OUT``."""
    options = work.options
    dask = DaskOptions(scheduler=options.scheduler, workers=options.workers, worker_setup=_dask_worker_setup)
    with dask_client(dask) as client:
        mapped = dask_map(
            client, item_work, items, shared=(work,), item_limit_s=work.limit_s, prepare=warm_work
        )
        for k, result in mapped:
            if while_workers_run is not None:
                while_workers_run()  # the first item is back: the workers have the rest
                while_workers_run = None
            if isinstance(result, ItemKilledWorkers):  # said as the local pool says it
                result = work.crashed(items[k], WorkerDied(DIED))
            elif isinstance(result, ItemTimedOut):
                result = work.timed_out(items[k])
            yield k, result


def _submit(
    pool: ProcessPoolExecutor, batches: list[Sequence[Item]], firsts: Iterable[int]
) -> list[Future[list[Checked | None]]]:
    """The futures of the batches submitted before the pool died: a worker that dies while the
    rest are still being handed out breaks the pool, and ``submit`` then raises. The batches left
    over are owed, like those of futures that end broken. ``firsts``: the index of each batch's
    first item among the pool's items (what its :class:`_Watch` names)."""
    futures = []
    for batch, first in zip(batches, firsts, strict=False):
        try:
            futures.append(pool.submit(_work, batch, first))
        except BrokenProcessPool:
            break
    return futures


def _context() -> Any:
    fork = "fork" in multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if fork else "spawn")


def _pool(workers: int, work: ItemWork, watch: _Watch) -> ProcessPoolExecutor:
    ctx = _context()
    if ctx.get_start_method() == "fork":
        work.warm()  # once here, not once in each forked worker
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=ctx,
        initializer=_init_worker,
        initargs=(work, os.getpid(), watch),
    )


@contextlib.contextmanager
def _stopped_unless_done(pool: ProcessPoolExecutor) -> Iterator[None]:
    """Kill ``pool``'s workers and drop its queued work when the block is left by an exception
    (Ctrl-C, SIGTERM, the caller done early): shutting a pool down waits for every item
    submitted, the whole item pass of a large audit. The items' records are the main
    process's, so a killed worker loses only its running item's."""
    try:
        yield
    except BaseException:
        workers = list((pool._processes or {}).values())  # the pool has no public way to end its work
        pool.shutdown(wait=False, cancel_futures=True)
        for process in workers:
            process.kill()  # not terminate: forked from the command line, SIGTERM is an interrupt
        raise


def _recover(
    owed: Sequence[Item], workers: int, work: ItemWork, decided: Mapping[int, Checked | None]
) -> Iterator[Checked | None]:
    """The outcomes of the items a dead pool owed, in order, finding the ones that kill their process.
    ``decided``: the outcomes already known, by index in ``owed`` (items whose worker was killed
    past the item limit: never run again).

    A fresh pool takes them one item per task. When it dies too, the item that killed it is one
    of the first ``2 * workers + 1`` unfinished ones (at most ``workers`` running and ``workers
    + 1`` queued, taken in order): each of those runs alone in its own process, where a death
    names its item, and the items after them go to a fresh pool. A pool this process killed (an
    item past its limit) names its item itself: the rest go to a fresh pool.
    """
    suspects = 2 * workers + 1
    decided = dict(decided)
    pos = 0
    while pos < len(owed):
        todo = [m for m in range(pos, len(owed)) if m not in decided]
        watch = _Watch(workers, _context())
        with _pool(workers, work, watch) as pool, _stopped_unless_done(pool):
            futures = dict(zip(todo, _submit(pool, [[owed[m]] for m in todo], todo), strict=False))
            broken = len(owed)
            for m in range(pos, len(owed)):
                if m in decided:
                    yield decided.pop(m)
                    continue
                try:
                    if m not in futures:
                        raise BrokenProcessPool  # never handed out: the pool was broken by then
                    (outcome,) = watch.result(futures[m], work.limit_s)
                except BrokenProcessPool:
                    broken = m
                    break
                yield outcome
        if broken == len(owed):
            return
        killed = [m for m in watch.timed_out if m not in decided]
        decided.update((m, work.timed_out(owed[m])) for m in killed)
        if killed:  # this process killed the pool: the items it did not finish merely shared it
            for m in range(broken, len(owed)):
                if m in futures and not futures[m].cancelled() and futures[m].exception() is None:
                    decided[m] = futures[m].result()[0]  # finished before the kill
            pos = broken
            continue
        unfinished = 0
        m = broken
        while m < len(owed) and unfinished < suspects:
            if m in decided:
                yield decided.pop(m)
            elif m in futures and futures[m].exception() is None:
                (outcome,) = futures[m].result()
                yield outcome
            else:
                unfinished += 1
                yield _alone(owed[m], work)
            m += 1
        pos = m


def _alone(item: Item, work: ItemWork) -> Checked | None:
    """One item in a process of its own; its death becomes a crash finding of that item, its
    running past :attr:`ItemWork.limit_s` (its process killed) an ``ITEM_TIMED_OUT``."""
    watch = _Watch(1, _context())
    with _pool(1, work, watch) as pool, _stopped_unless_done(pool):
        try:
            (outcome,) = watch.result(pool.submit(_work, [item], 0), work.limit_s)
            return outcome
        except BrokenProcessPool:
            pass
    return work.timed_out(item) if watch.timed_out else work.crashed(item, WorkerDied(DIED))


def clinical_table(
    run_outcomes: ItemRecords,
    manifest: str | None,
    profile: Profile,
    gx_suite: Path | None,
    cache: RecordCache | None = None,
) -> TableValidation:
    """The clinical table of the batch and its expectation results; with a ``cache``, the results
    of a run whose table, sources and suite were the same are taken from there (great_expectations
    is then not even imported)."""
    records, sources = [], []
    summaries = run_outcomes.summaries()
    slide_ids = summaries.column("slide_id")
    clinical = run_outcomes.clinical_records()
    rows: Sequence[int | None] | None = None  # read once a record comes from the manifest
    for k, source in enumerate(run_outcomes.record_sources()):
        if source is None:
            continue
        records.append(clinical[k])
        if source == "manifest":
            rows = summaries.column("row") if rows is None else rows
            sources.append(RowSource(slide_ids[k], manifest, rows[k]))
        else:
            sources.append(RowSource(slide_ids[k], source, None))
    frame = build_table(records, sources, profile)
    key = cache.table_key(frame, sources, gx_suite) if cache is not None and cache.usable else None
    if key is not None and cache is not None:
        stored = cache.table_outcome(key)
        if stored is not None:
            return TableValidation(frame=frame, sources=sources, failures=stored[0], error=stored[1])
    table = validate_table(frame, sources, profile, gx_suite)
    if key is not None and cache is not None:
        cache.store_table(key, table.failures, table.error)
    return table


def run_batch(
    root: Path,
    profile: Profile,
    options: RunOptions = RunOptions(),
    progress: Progress | None = None,
    cache: RecordCache | None = None,
    earlier: EarlierRelease | None = None,
    discovered: Callable[[Discovery], object] | None = None,
) -> Run:
    """Check a batch folder: discovery, every item, then the batch checks.

    ``discovered`` is called with the batch's discovery before any item is checked (or read from
    the cache): what needs only the items' ids and files may refuse the run there, by raising.

    With a ``cache``, an item whose files, profile and options are unchanged since a run that
    stored it is taken from there instead of being checked again. With ``earlier`` (the slides of
    a previous release), the batch checks also look for slides delivered again.
    """
    use_profile_patterns(profile.deid)  # this process cuts the batch's text from here on
    checks = configure(profile)
    discovery = discover(root)
    if discovered is not None:
        discovered(discovery)
    items = discovery.items
    total = len(items)
    whole = options.whole_records if options.whole_records is not None else total <= WHOLE_RECORDS_UP_TO
    keep = Compactor()
    # The cache is read before an item is sent out and written as its record comes back, here only.
    keys: Sequence[str] = []
    outcomes = ItemRecords(total, whole)
    hits = 0
    if cache is not None and cache.usable:
        listed = {*discovery.slide_files, *discovery.annotation_files}  # jailed by the walk already
        keys = cache.keys(items, listed, batch=True)
        del listed
        for start in range(0, total, LOOKUP_ITEMS):  # a few whole records at a time, kept compacted
            found = cache.lookup_all(keys[start : start + LOOKUP_ITEMS], items[start : start + LOOKUP_ITEMS])
            for k, record in enumerate(found, start):
                if record is not None:
                    outcomes[k] = keep(record, items[k])
                    hits += 1
            del found
    # --certify: a cached record stands only once the item's work has hashed its files whole
    waiting = {k: outcomes[k] for k in range(total) if outcomes.holds(k)} if options.certify and hits else {}
    todo: Sequence[int] = by_shared_files(  # a first run checks every item: no list of a million indices
        range(total)
        if hits == len(waiting)
        else [k for k in range(total) if not outcomes.holds(k) or k in waiting],
        items,
    )
    done = total - len(todo)
    if progress is not None and done:
        progress(done, total)
    # seconds of import, hidden behind the workers, when the clinical table will surely be
    # validated again (a first run, or most items changed); else imported only if the table changed
    cached = cache is not None and cache.usable
    warm_up = (
        import_gx if options.clinical and (not cached or 10 * (len(todo) - len(waiting)) > total) else None
    )
    to_check: Sequence[Item] = (
        items
        if isinstance(todo, range) and len(todo) == total and not waiting
        else [Certified.of(items[k], waiting[k]) if k in waiting else items[k] for k in todo]
    )
    # the item's work sends back the record as the run keeps it and the cache entry, serialised
    returns = Returns(whole, cache is not None and bool(keys), cache.mask if cache is not None else None)
    args = (to_check, ItemWork(root, profile, checks, options, returns), warm_up)
    finished = (  # (index in todo, outcome) as items finish: their order differs on Dask
        _map_dask(*args) if options.executor == "dask" and todo else enumerate(_map_local(*args))
    )
    for j, outcome in finished:
        k = todo[j]
        if outcome is not None:  # else certified: each file has the full hash its cached record holds
            if cache is not None and keys:
                if k in waiting:
                    cache.refuted(waiting[k])
                if outcome.entry is not None and cache.as_keyed(keys[k], outcome.unread):
                    cache.store_entry(keys[k], outcome.entry)
                elif outcome.unstored is not None:
                    cache.warn(
                        f"a record could not be stored in the result cache ({cache.masked(outcome.unstored)})"
                    )
            outcomes[k] = keep(outcome.record, items[k])
        done += 1
        if progress is not None:
            progress(done, total)
    run = Run(root, profile, discovery, outcomes, options=options, earlier=earlier)
    run.table = (
        clinical_table(run.outcomes, discovery.manifest, profile, options.gx_suite, cache)
        if options.clinical
        else None
    )
    run.batch_findings = run_batch_checks(run, checks)
    run.crowded = crowded_slides(root, items, outcomes, cache.crowded if cache is not None else [])
    return run


def by_shared_files(todo: Sequence[int], items: Sequence[Item]) -> Sequence[int]:
    """The items ``todo`` in the order they are checked: each group of items linked by sharing an
    annotation file or a slide file (the rows of one COCO file, the annotators' rows of one slide)
    one after another, where its first item is, its items in their order. A worker's caches hold
    a few files (:data:`dqm.readers.CACHE_SIZE` parsed annotation files, the last
    :data:`dqm.slide_io.PROBE_CACHE_SIZE` slide probes): rows of five COCO files interleaved had
    each item parse its whole file again, and grouping by annotation file alone split the two
    rows of each slide annotated in two COCO files (40 slides: 80 probes instead of 40). The
    records go back to their items' places; a batch whose groups are already together keeps its
    order (``todo``, no list made).

    A group naming more annotation files than the parse cache holds (each slide annotated in
    each of five COCO files, rows slide by slide: A1, B1, ..., E1, A2, ...) parsed a whole file
    for each of its items; it is checked in windows of as many slides as the probe cache holds,
    each window file by file (:func:`_file_by_file`): a file is parsed once a window, a slide
    probed once. A group whose own order parses no more (rows annotator by annotator: each file
    parsed once, each slide probed once a file) keeps it: windows would parse each file once a
    window (five 3 MB files of 128 slides: 20 parses instead of 5, 21.6 s of CPU against 15.3 s)."""
    parent: dict[tuple[str, str], tuple[str, str]] = {}
    first: dict[tuple[str, str], int] = {}  # at a group's root: its first item

    def root(key: tuple[str, str]) -> tuple[str, str]:
        while (up := parent[key]) != key:
            parent[key] = key = parent[up]  # path halving
        return key

    def files(k: int) -> list[tuple[str, str]]:
        item = items[k]
        return [(kind, p) for kind, p in (("a", item.annotation_path), ("s", item.image_path)) if p]

    for k in todo:
        roots = []
        for key in files(k):
            if key not in parent:
                parent[key], first[key] = key, k
            roots.append(root(key))
        if len(roots) == 2 and roots[0] != roots[1]:
            kept, joined = sorted(roots, key=first.__getitem__)
            parent[joined] = kept

    def group(k: int) -> int:
        keys = files(k)
        return first[root(keys[0])] if keys else k

    if (places := _file_by_file(todo, items, group, first, root)) is not None:
        return sorted(todo, key=lambda k: (group(k), *places.get(k, (0, 0))))
    previous = -1
    for k in todo:  # together when no item's group starts before the group of the item before it
        if (start := group(k)) < previous:
            return sorted(todo, key=group)
        previous = start
    return todo


def _file_by_file(
    todo: Sequence[int],
    items: Sequence[Item],
    group: Callable[[int], int],
    first: dict[tuple[str, str], int],
    root: Callable[[tuple[str, str]], tuple[str, str]],
) -> dict[int, tuple[int, int]] | None:
    """For :func:`by_shared_files`: the place of each item of a group that names more annotation
    files than :data:`dqm.readers.CACHE_SIZE` within it, ``(window, file)``; None when no group
    does (the caches hold what each group shares) or each that does costs no more in its own
    order (:func:`_costs`: as many parses or fewer, then probes), which it then keeps. Its own order
    must cost no more whether the parse cache holds one file or :data:`dqm.readers.CACHE_SIZE`:
    ``limits.annotation_memory`` decides, and what a file's annotations hold is known only once it
    is parsed (costed with four files, rows of four files slide by slide were kept, and where the
    limit held one file at a time each row parsed its file again: 65 parses against 20). A window is a
    run of the group's items whose slides number at most :data:`dqm.slide_io.PROBE_CACHE_SIZE` (an
    item goes to the window of its slide's first item: a slide's items stay together); ``file``:
    where the item's annotation file first appears (``first``), so that a window's items of one
    file run together, their slides still probed once (its probes fit the probe cache). Files are
    counted only where a group joined several (one file an item: no count kept)."""
    from dqm import readers, slide_io

    joined: dict[tuple[str, str], int] = {}  # a group's root -> its annotation files, but the root
    for key in first:
        if key[0] == "a" and (top := root(key)) != key:
            joined[top] = joined.get(top, 0) + 1
    wide = {first[top] for top, n in joined.items() if n + (top[0] == "a") > readers.CACHE_SIZE}
    if not wide:
        return None
    window_of: dict[str, int] = {}  # a slide of a wide group -> its window
    current: dict[int, tuple[int, set[str]]] = {}  # a wide group -> its last window and its slides
    places: dict[int, tuple[int, int]] = {}
    members: dict[int, list[int]] = {}  # a wide group -> its items in their order
    for k in todo:
        if (g := group(k)) not in wide:
            continue
        members.setdefault(g, []).append(k)
        window, slides = current.get(g, (0, set()))
        slide, ann = items[k].image_path, items[k].annotation_path
        if slide and slide in window_of:
            window = window_of[slide]
        elif slide:
            if len(slides) >= slide_io.PROBE_CACHE_SIZE:
                window, slides = window + 1, set()
            slides.add(slide)
            window_of[slide] = window
            current[g] = (window, slides)
        places[k] = (window, first[("a", ann)] if ann else k)
    for given in members.values():
        windowed = sorted(given, key=places.__getitem__)
        # the parse cache holds from one file to CACHE_SIZE (fewer where the files' annotations
        # would pass limits.annotation_memory, unknown until they are parsed): kept only where
        # its own order costs no more at each of them
        own, windows = _costs(given, items), _costs(windowed, items)
        if all(a <= b for a, b in zip(own, windows, strict=True)):
            for k in given:  # its own order costs no more: kept
                del places[k]
    return places or None


def _costs(order: Sequence[int], items: Sequence[Item]) -> list[tuple[int, int]]:
    """For :func:`_file_by_file`: the annotation files parsed and the slides probed when the items
    ``order`` are checked in that order by one worker, its caches empty, with a parse cache of 1,
    2, ... :data:`dqm.readers.CACHE_SIZE` files (the list's places): a file or slide is read again
    once as many other files as the cache holds (:data:`dqm.slide_io.PROBE_CACHE_SIZE` other
    slides) were used since, the least recently used going first. Parses go first: a shared
    annotation file holds many slides' annotations, a probe reads one slide's header. One walk of
    ``order`` for all the sizes (it was one walk a size, and each recounted the probes: eight walks
    of a group kept in its own order, two now)."""
    from dqm import readers, slide_io

    probes = _misses((items[k].image_path for k in order), slide_io.PROBE_CACHE_SIZE)
    parses = _lru_misses((items[k].annotation_path for k in order), readers.CACHE_SIZE)
    return [(n, probes) for n in parses]


def _misses(paths: Iterable[str | None], size: int) -> int:
    """The misses of ``paths`` (None: nothing read) in one least-recently-used cache of ``size``
    paths (a dict in the order last used: no depth to count, as :func:`_lru_misses` counts)."""
    held: dict[str, None] = {}
    n = 0
    for path in paths:
        if path is None:
            continue
        if path in held:
            del held[path]  # to go back in as the last used
        else:
            n += 1
            if len(held) >= size:
                del held[next(iter(held))]
        held[path] = None
    return n


def _lru_misses(paths: Iterable[str | None], largest: int) -> list[int]:
    """The misses of ``paths`` (None: nothing read) in least-recently-used caches holding 1, 2, ...
    ``largest`` paths, from one walk: a cache of ``n`` paths holds the ``n`` last used (Mattson's
    stack), so a path misses in each cache no larger than the number of other paths used since
    its last use."""
    recent: list[str] = []  # the last used first, at most ``largest``
    at_depth = [0] * (largest + 1)  # paths found at each depth of ``recent``; ``largest``: not in it
    for path in paths:
        if path is None:
            continue
        try:
            depth = recent.index(path)
        except ValueError:
            depth = largest
        else:
            del recent[depth]
        at_depth[depth] += 1
        recent.insert(0, path)
        del recent[largest:]
    misses, below = [], 0
    for depth in range(largest, 0, -1):  # a cache of n paths misses those found at depth n or deeper
        below += at_depth[depth]
        misses.append(below)
    return misses[::-1]


def crowded_slides(root: Path, items: Sequence[Item], records: ItemRecords, keyed: list[str]) -> list[str]:
    """Slide ids of the items whose slide names more than :data:`~dqm.slide_refs.MAX_PARTS` files
    OpenSlide opens besides it: a record holds that many (:attr:`~dqm.model.ItemRecord.parts`;
    those past it are neither hashed by ``--certify`` nor fingerprinted by ``--results``), and
    those ``keyed`` so by the result cache (:attr:`dqm.cache.RecordCache.crowded`). Only a slide
    whose record is full is looked at again, up to one file past the bound. A run without a cache
    said nothing of them."""
    named = set(keyed)
    for k, item in enumerate(items):
        if item.slide_id in named or len(records.parts_of(k)) < MAX_PARTS or item.image_path is None:
            continue
        path = os.path.join(root, item.image_path)
        with contextlib.suppress(OSError):
            if slide_parts(path, os.stat(path).st_size, root)[1]:
                named.add(item.slide_id)
    return [item.slide_id for item in items if item.slide_id in named]


def crowded_message(n: int) -> Message:
    """The warning of a run with ``n`` slides :func:`crowded_slides` names."""
    return msg(
        "{n} slide(s) name more than {limit:,} files that OpenSlide opens besides them: past "
        "{limit:,}, a file is known by its size, times and inode alone (its ends are not read "
        "into the result cache's key, --certify does not hash it, the --results fingerprint "
        "leaves it out); a DICOM slide among them cannot be reviewed on the review server: its "
        "record cannot tell a file that joins its series since from one past the bound, so the "
        "server refuses it as not the audited slide",
        n=n,
        limit=MAX_PARTS,
    )


def _facts(run: Run) -> list[ItemFacts]:
    prints = run.outcomes.fingerprints()
    summaries = run.outcomes.summaries()
    images = summaries.column("image_path")
    by_print: dict[str, list[int]] = {}
    for i, quick in enumerate(prints):
        if quick:
            by_print.setdefault(quick, []).append(i)
    hashes: dict[int, str] = {}
    of_file: dict[str, str | None] = {}  # each file once, however many items name it
    for idx in by_print.values():
        if len(idx) > 1:  # equal quick prints: confirm with full hashes
            for i in idx:
                rel = normalise(images[i] or "")[0]
                if rel not in of_file:  # hashed whole by the item's work already (--full-hashes, listed)?
                    of_file[rel] = run.outcomes.full_hashes_of(i).get(rel)
                    if of_file[rel] is None:
                        with contextlib.suppress(OSError):  # the probe already reported unreadable files
                            of_file[rel] = full_hash(run.root / rel)
                if (full := of_file[rel]) is not None:
                    hashes[i] = full
    slides: Sequence[SlideSummary | None] = summaries.column("slide")
    return [
        ItemFacts(
            slide_id,
            row,
            _batch_path(image),
            _batch_path(annotation),
            quick,
            hashes.get(i),
            dict(unmapped),
            slide.perceptual_hash if slide is not None else None,
            clinical,
            slide,
        )
        for i, (slide_id, row, image, annotation, quick, unmapped, slide, clinical) in enumerate(
            zip(
                summaries.column("slide_id"),
                summaries.column("row"),
                images,
                summaries.column("annotation_path"),
                prints,
                summaries.column("unmapped_classes"),
                slides,
                run.outcomes.clinical_records(),
                strict=True,
            )
        )
    ]


def _batch_path(rel: str | None) -> str | None:
    """A manifest path as the item's findings name the file (``./a/b.svs`` -> ``a/b.svs``), so a
    batch check's finding counts against the same file; a path leaving the batch stays as written."""
    if rel is None:
        return None
    norm, outside = normalise(rel)
    return norm if norm and not outside else rel


def _hashed(run: Run) -> tuple[dict[str, str], dict[str, tuple[int, int]]]:
    """Full SHA-256 of every file hashed whole: the items' (hashed in their work) and the listed
    files that belong to no item, hashed here (the manifest was hashed as discovery read it); and
    the listed files of no item found sparse instead (batch path -> apparent and allocated bytes)."""
    out = run.outcomes.full_hashes()
    sparse: dict[str, tuple[int, int]] = {}
    disc = run.discovery
    for rel in disc.checksum_others:
        if rel == disc.manifest and disc.manifest_sha256 is not None:
            out[rel] = disc.manifest_sha256
            continue
        path = jailed(run.root, rel)[0]
        if path is not None:
            hash_whole(path, rel, out, sparse)
    return out, sparse


def run_batch_checks(run: Run, checks: list[ConfiguredCheck]) -> list[Finding]:
    """The batch-scope checks over the whole run."""
    hashed, sparse = _hashed(run) if run.discovery.checksums else ({}, {})
    # read only for the search for identifiers: not at all when it is off
    texts = delivered_texts(run.discovery) if run.profile.deid.enabled else DeliveredTexts()
    view = BatchView(
        profile=run.profile,
        items=_facts(run),
        manifest=run.discovery.manifest,
        discovery_issues=run.discovery.issues,
        files=(
            *run.discovery.slide_files,
            *run.discovery.annotation_files,
            *run.discovery.other_files,
            *run.discovery.notes,  # a README's folder is a name delivered too
        ),
        manifest_header=run.discovery.manifest_header,
        manifest_unread=run.discovery.manifest_unread,
        manifest_unread_cut=run.discovery.manifest_unread_cut,
        sums_unread=run.discovery.sums_unread.texts,
        sums_unread_cut=run.discovery.sums_unread.cut,
        other_texts=texts.texts,
        other_texts_cut=texts.cut,
        other_texts_unread=texts.unread,
        other_texts_unread_cut=texts.unread_cut,
        other_texts_unread_at=texts.unread_at,
        table=run.table,
        earlier=run.earlier,
        checksums=run.discovery.checksums,
        hashed=hashed,
        sparse=run.outcomes.sparse() | sparse,
    )
    return run_checks("batch", view, checks)
