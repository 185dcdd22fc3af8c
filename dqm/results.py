"""The quality result: plain, frozen data that every report renders and ``dqm gate`` reads.

Every ratio says what it counts (``unit``), carries its numerator and denominator, its target
and whether it passed. ``results.json`` is ``QualityResult.model_dump_json()``; it round-trips
through :meth:`QualityResult.load`. ``docs/results.schema.json`` is generated from these models.
"""

from __future__ import annotations

import contextlib
import gc
import posixpath
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError

from dqm.columns import Columns, ItemSummaries, Sha256s, StatRows, constructed
from dqm.delivery import Redelivery, WaiverSection
from dqm.digest import DigestError, content_matches, seal_results, stated_digest
from dqm.diversity.models import DiversityResult
from dqm.facts import Count, Frozen, ItemSummary, Ratio, SlideSummary
from dqm.findings import Finding, clip
from dqm.i18n import N_, msg
from dqm.lots.models import LotsResult
from dqm.output import read_named, visible
from dqm.profile import problem_lines
from dqm.semantic.models import SemanticResult
from dqm.slide_refs import macro_name
from dqm.strictjson import StrictJSONError
from dqm.strictjson import loads as strict_loads
from dqm.syntactic.models import Breakdown, Grains, SyntacticResult
from dqm.validity.models import ValidityResult

__all__ = [
    "DIMENSIONS",
    "SCHEMA_VERSION",
    "BatchInfo",
    "Breakdown",
    "CheckInfo",
    "CodeInfo",
    "ContentDigest",
    "FileDigest",
    "Grains",
    "ItemSummary",
    "OrderInfo",
    "ProfileInfo",
    "QualityResult",
    "Ratio",
    "ResultsError",
    "SlideSummary",
    "SyntacticResult",
    "Thumbnail",
    "Verdict",
    "collector_paused",
    "load_result",
    "with_parts_of_1_16",
    "with_slide_parts",
]

DIMENSIONS = ("syntactic", "semantic", "diversity", "validity")
"""The quality dimensions, in report order: each is a field of :class:`QualityResult`."""

SCHEMA_VERSION = "1.19"
"""``major.minor``: a minor bump adds optional fields (older files still load); a major bump
breaks readers. 1.1 added ``checks``, ``thumbnails`` and ``verdict.pending``; 1.2 added
``diversity.gates`` (the figures its gate reads, like the other dimensions' ``gates``; an older
result gets them from ``diversity.passed`` when it loads), ``semantic.core``, ``semantic.note`` and
``semantic.strata[].core_sampled`` (the equal-probability core an ISO 2859-1 lot is decided on); 1.3 added
``waivers`` and ``redelivery`` (the delivery loop, ``docs/delivery.md``); 1.4 added
``lots`` (``dqm audit --lot-by``: each lot's figures, ISO 2859-1 plan, decision and gate); 1.5 added
``items[].slide.perceptual_hash`` (near duplicates, slides delivered again); 1.6 added
``items[].patient`` (the patient's number within the batch, for the minimum patients per class; never
the identifier); 1.7 added ``run_id``, ``verdict.not_evaluated``, ``verdict.crashed_stages`` and
``syntactic.not_evaluated`` (a crashed check or stage is not evaluated, never failed); 1.8 added
``thumbnails[].artefacts`` (the artefact masks shaded over a slide); 1.9 added ``items[].slide.stain``,
``jpeg_quality`` and ``scanner`` (stain and acquisition descriptors) and ``diversity.batch_effects``
(site predictability); 1.10 added ``digest`` (the content digest, :mod:`dqm.digest`) and
``batch.files`` (each file's hash, what ``dqm verify --batch`` compares); 1.11 added
``semantic.lq`` (the limiting quality of a computed plan for an isolated lot, ``dqm sample --lq``);
1.12 added ``batch.files[].stat`` (what ``--results`` compares before it reads a file again); 1.13 added
``findings[].counted_values`` (the value slots a finding counting the issues past a reader's cap
stands for, which value-grain accuracy counts); 1.14 added ``disabled_checks`` (the checks the profile
turned off, which the report, the summary and the console name beside the verdict) and
``redelivery.fixed_total`` and ``redelivery.fixed_by_code`` (``redelivery.fixed`` lists the first
1,000 fixed findings; older files list them all); 1.15 added the role ``slide_part`` to
``batch.files`` (a file OpenSlide opens besides a slide: a MIRAX slide's ``Slidedat.ini`` and
data files, a VMS key file's images), which ``batch.fingerprint`` covers too (an older result's
fingerprint is compared without them, :func:`with_slide_parts`); 1.16 counts among them the other
files of a DICOM slide's series in its folder and a Trestle slide's macro image (an older result's
fingerprint is compared without those, :func:`with_parts_of_1_16`); 1.17 added ``order`` (the
buyer's order list, ``--expect``: its SHA-256 and how many of its items were delivered) and the
codes of the ``order.list`` check; 1.18 added ``items[].slide.overstain_share`` and
``items[].slide.understain_share`` (the shares ``artefacts.stain`` compares across the batch) and
``items[].slide.artefact_scale_unknown`` and ``artefact_scale_coarse`` (artefacts measured with no
known resolution, or one coarser than a scanner's;
:data:`ADDED_1_18`), the codes ``OVERSTAINED_GROUP`` and ``UNDERSTAINED_GROUP`` (an institution or
batch stained darker or paler as a whole), ``ARTEFACT_NOT_MEASURED`` and ``LESION_KIND_UNMEASURED``
(folds not measured: an implausible resolution or too few pixels), ``ARTEFACT_SCALE_UNKNOWN`` and
``ARTEFACT_SCALE_COARSE``; 1.19 added ``diversity.tests[].thresholds`` and
``diversity.drift.variables[].thresholds`` (the thresholds an effect size was labelled and decided
on, so that every output prints it on its own side of them), ``semantic.refused`` (drawn slides the
review server refused as no longer the audited file, left without a counted verdict) and
``items[].slide.mpp_source`` (where the resolution the probe used came from) and
``items[].slide.colour_pen_share`` (the share of the tissue under blue, green or red pen ink, which
``artefacts.stain`` reads) and ``items[].slide.all_ink`` (the slide's image is ink alone, no
section: :mod:`dqm.pixels.ink`, which ``slide.lesion_tissue``'s ``SLIDE_ALL_INK`` and every pixel
check read) and ``items[].slide.one_colour`` (the slide's image is one flat colour, no section:
``SLIDE_ONE_COLOUR``) and ``syntactic.ordered`` (with ``--expect``, the value figures over
the items ordered, an item not delivered counting 0, which the value gates are then judged on;
:data:`ADDED_1_19`),
and the codes ``STAIN_NOT_COMPARED`` (a batch too small to judge under-staining against),
``ANNOTATION_MPP_UNUSED`` (an annotation's resolution that does not fit its image, not used) and
``ITEM_DELIVERED_AGAIN`` (an item not ordered that an order list's line names as well as the item
it matched: both judged), ``SLIDE_ALL_INK`` and ``SLIDE_ONE_COLOUR``."""

SLIDE_PARTS_FROM = (1, 15)
"""The first schema version whose fingerprint covers the files besides each slide."""
PARTS_1_16_FROM = (1, 16)
"""The first schema version whose fingerprint covers the other files of a DICOM slide's series
and a Trestle slide's macro image."""


FileRole = Literal["slide", "annotation", "manifest", "slide_part"]


class FileDigest(Frozen):
    """One file of the batch as the audit read it."""

    path: str
    """Its path in the batch (``a/b.svs``)."""
    role: FileRole
    """``slide_part`` (1.15): a file OpenSlide opens besides a slide (a MIRAX data file...; from
    1.16, another file of a DICOM slide's series, a Trestle slide's macro image)."""
    sha256: str | None = None
    """SHA-256 of the whole file (slides: only when hashed whole, ``--full-hashes`` or a checksum list)."""
    quick_print: str | None = None
    """Slides: the quick print (size, first and last MiB) the fingerprint uses."""
    stat: list[int] | None = None
    """Size, modification and change time (ns) and inode when the audit read the file (1.12):
    ``--results`` reads again only the files where one differs."""


FILE_ROLES: tuple[FileRole, ...] = ("slide", "annotation", "manifest", "slide_part")
_EVERY_FIELD = set(FileDigest.model_fields)  # a row's fields, each given (shared, never changed)


class FileDigests(Columns[FileDigest]):
    """The :class:`FileDigest` of every file of a batch, kept as columns (a million files at a
    million items: about 0.1 KiB each, not 0.6 as objects) and given back one object at a time;
    validated from a list, and in results.json a list of them, as any list field."""

    element = FileDigest

    def __init__(self, files: Iterable[FileDigest]) -> None:
        self._path: list[str] = []
        self._role = bytearray()
        self._sha256 = Sha256s()
        self._quick_print: list[str | None] = []
        self._stat = StatRows()
        for f in files:  # one at a time: a generator's million objects never all at once
            self.append(f.path, f.role, f.sha256, f.quick_print, f.stat)

    def append(
        self,
        path: str,
        role: FileRole,
        sha256: str | None = None,
        quick_print: str | None = None,
        stat: list[int] | None = None,
    ) -> None:
        """One more file, from its values (no :class:`FileDigest` built: the audit's million files
        go straight into the columns)."""
        self._path.append(path)
        self._role.append(FILE_ROLES.index(role))
        self._sha256.append(sha256)
        self._quick_print.append(quick_print)
        self._stat.append(stat, None if stat is None else [stat])

    def __len__(self) -> int:
        return len(self._path)

    def set_sha256(self, k: int, hexdigest: str) -> None:
        """The full SHA-256 of the file of row ``k``, listed without one."""
        self._sha256[k] = hexdigest

    @classmethod
    def of(cls, models: Iterable[FileDigest]) -> FileDigests:
        return cls(models)

    def row(self, k: int) -> FileDigest:
        stats = self._stat.stats(k)
        values = {
            "path": self._path[k],
            "role": FILE_ROLES[self._role[k]],
            "sha256": self._sha256[k],
            "quick_print": self._quick_print[k],
            "stat": stats[0] if stats else self._stat.value(k),
        }
        return constructed(FileDigest, values, _EVERY_FIELD)


class BatchInfo(Frozen):
    """The batch checked."""

    path: str
    fingerprint: str
    """SHA-256 over the sorted ``path:hash`` lines of the batch's files (see docs)."""
    n_items: int
    n_slide_files: int
    n_annotation_files: int
    manifest: str | None = None
    files: FileDigests = Field(default_factory=lambda: FileDigests([]))
    """Each file the audit read, with its hash: what ``dqm verify --batch`` compares."""


class OrderInfo(Frozen):
    """The buyer's order list the audit compared the batch with (``--expect``, :mod:`dqm.order`;
    since 1.17): its items not delivered are ``ITEM_NOT_DELIVERED`` findings, which syntactic
    accuracy counts."""

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    """SHA-256 of the order list's bytes as read."""
    ordered: Count
    """Items the list names."""
    delivered: Count
    """Those the batch holds."""
    not_ordered: Count = 0
    """Items of the batch the list does not name."""
    by: Literal["id", "file"] = "id"
    """What the list names each item by: its id or its slide file."""
    hashes: Count = 0
    """Items the list gives a slide SHA-256 for (each such slide hashed whole and compared)."""


class ContentDigest(Frozen):
    """The SHA-256 of this ``results.json``'s canonical form (the file without this member; see
    :mod:`dqm.digest` and ``docs/certificates.md``)."""

    algorithm: Literal["sha256"] = "sha256"
    canonical: Literal["dqm-json-1"] = "dqm-json-1"
    value: str = Field(pattern=r"^[0-9a-f]{64}$")
    """64 lowercase hex digits: the outputs put it in where they name it, unescaped."""


class ProfileInfo(Frozen):
    name: str
    version: str
    sha256: str


class Verdict(Frozen):
    """The overall decision over the dimensions."""

    status: Literal["certified", "not_certified", "incomplete"]
    failed: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    summary: str = ""
    pending: list[str] = Field(default_factory=list)
    """Dimensions evaluated but not finished (e.g. an expert review still in progress)."""
    not_evaluated: list[str] = Field(default_factory=list)
    """Items dqm could not evaluate: a check crashed on them (``CHECK_CRASHED``), or their work made
    no progress for the item limit and its process was ended (``ITEM_TIMED_OUT``)."""
    crashed_stages: list[str] = Field(default_factory=list)
    """Stages of the audit that crashed (``STAGE_CRASHED``): what they would have added is missing."""


class CodeInfo(Frozen):
    """One reason code a check can raise, with its severity in this run's profile."""

    code: str
    severity: Literal["error", "warning", "info"]
    meaning: str = ""


class CheckInfo(Frozen):
    """A check that ran: what it checks and the codes it can raise (JUnit lists each code)."""

    id: str
    aspect: str
    doc: str = ""
    codes: list[CodeInfo] = Field(default_factory=list)


MAX_THUMBNAILS = 24
MAX_THUMBNAIL_SIDE = 512
MAX_THUMBNAIL_CHARS = 96_000
"""Base64 characters of one thumbnail (about 70 kB of JPEG): the report's size stays bounded."""


Colour = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")]
"""``#rrggbb``, as dqm writes every colour it draws: a thumbnail's colours go into the report's SVG
as attributes, so a results.json that holds anything else (``url(https://…)``) is malformed."""


class Thumbnail(Frozen):
    """A small JPEG of one slide with its lesion outlines drawn in the class colours.

    Made by ``dqm audit`` (the report reads no slide); never at full resolution: at most
    ``MAX_THUMBNAIL_SIDE`` pixels a side.
    """

    slide_id: str
    media_type: Literal["image/jpeg"] = "image/jpeg"
    data: str = Field(max_length=MAX_THUMBNAIL_CHARS, pattern=r"^[A-Za-z0-9+/]*={0,2}$")
    """Base64 of the JPEG bytes."""
    width: int = Field(ge=1, le=MAX_THUMBNAIL_SIDE)
    height: int = Field(ge=1, le=MAX_THUMBNAIL_SIDE)
    downsample: float = Field(gt=0)
    """Level-0 pixels per thumbnail pixel."""
    source: Literal["slide", "outline"]
    """``slide``: the slide's pixels; ``outline``: outlines on a blank canvas (slide unreadable)."""
    note: str = ""
    legend: dict[str, Colour] = Field(default_factory=dict)
    """Class id -> ``#rrggbb`` of the outlines drawn."""
    artefacts: dict[str, Colour] = Field(default_factory=dict)
    """Artefact kind -> ``#rrggbb`` of its mask drawn over the slide (the kinds reported on it)."""
    markers: int = 0
    """Finding locations marked on the image."""
    errors: int = 0
    warnings: int = 0
    codes: list[str] = Field(default_factory=list)
    """The slide's reason codes, most frequent first."""


class QualityResult(Frozen):
    """Everything one audit found."""

    digest: ContentDigest | None = None
    """The digest of the file's content, set as it is written (None in a result not yet written)."""
    schema_version: str = SCHEMA_VERSION
    dqm_version: str
    created: str
    run_id: str = ""
    """The run that wrote this result (:func:`dqm.output.new_run_id`); every output of the run
    carries the same id. Empty in results written before schema 1.3."""
    command: list[str] = Field(default_factory=list)
    batch: BatchInfo
    profile: ProfileInfo
    items: ItemSummaries
    """One summary per item, kept as columns (a list in results.json)."""
    findings: list[Finding]
    syntactic: SyntacticResult | None = None
    semantic: SemanticResult | None = None
    """Expert review of a designed sample (``dqm audit --review``); None when not reviewed."""
    diversity: DiversityResult | None = None
    """Statistical diversity: distributions, tests and drift; None when not analysed."""
    validity: ValidityResult | None = None
    """A segmentation model trained on the batch, Dice per class; None when not run (slow)."""
    verdict: Verdict
    checks: list[CheckInfo] = Field(default_factory=list)
    """The checks configured for this run."""
    disabled_checks: list[str] = Field(default_factory=list)
    """The registered checks the profile disabled (``checks.<id>.enabled: false``), by id: they did
    not run, so nothing they check was checked (since 1.14; empty in an older result)."""
    thumbnails: list[Thumbnail] = Field(default_factory=list, max_length=MAX_THUMBNAILS)
    """The worst slides, drawn small with their outlines."""
    waivers: WaiverSection | None = None
    """The waivers the verdict honours (``--waivers``); the findings they cover stay in ``findings``."""
    redelivery: Redelivery | None = None
    """Each finding against the earlier delivery (``dqm audit --baseline OLD/results.json``)."""
    lots: LotsResult | None = None
    """The batch split into lots (``--lot-by``), each judged on its own; None when not split."""
    order: OrderInfo | None = None
    """The buyer's order list the batch was compared with (``--expect``, since 1.17); None without one."""

    def dump(self, path: Path) -> None:
        """Write as JSON (UTF-8), unmasked, with its content digest (``reports.write_outputs``
        writes an audit's results.json, masked, as a stream). Every command that reads a result
        refuses one of schema 1.10 or later without a digest: none is written without one."""
        from dqm.output import write_file

        write_file(path, seal_results(self.model_dump_json(exclude={"digest"}), keep_canonical=False)[0])

    @classmethod
    def load(cls, path: Path) -> QualityResult:
        """Read a ``results.json``; a file that is not one raises :class:`ResultsError`."""
        return load_result(path)

    def to_frame(self):  # type: ignore[no-untyped-def]
        """The findings as a long pandas table, one row per finding."""
        from dqm.findings import to_frame

        return to_frame(self.findings)


class ResultsError(ValueError):
    """A file that cannot be read as a ``results.json`` of a supported schema version."""


def with_slide_parts(version: str) -> bool:
    """Whether a result of schema ``version`` fingerprints the files besides each slide
    (:data:`SLIDE_PARTS_FROM`)."""
    return _from(version, SLIDE_PARTS_FROM)


def with_parts_of_1_16(version: str) -> bool:
    """Whether a result of schema ``version`` fingerprints the other files of each DICOM slide's
    series and each Trestle slide's macro image among them (:data:`PARTS_1_16_FROM`)."""
    return _from(version, PARTS_1_16_FROM)


def _from(version: str, first: tuple[int, int]) -> bool:
    """Whether ``version`` (``major.minor``) is ``first`` or later (a version not so written: yes)."""
    try:
        return tuple(int(n) for n in version.split(".")[:2]) >= first
    except ValueError:
        return True


def _stated(value: object, limit: int) -> str:
    """A value a results file states (its schema version, a key of one of its objects), as an error
    line shows it: of any length and any characters, so clipped and escaped, line breaks too (a
    version ``"1.20\\n"`` broke the line)."""
    return clip(visible(str(value), newlines=False), limit)


def _schema_major(version: object) -> str | None:
    return version.split(".", 1)[0] if isinstance(version, str) and version else None


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a burst of long-lived objects (a result's items and
    findings: every collection would walk them again, most of the time of reading a large result),
    then as it was."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def load_result(
    path: Path,
    max_errors: int = 5,
    raw: bytes | None = None,
    unsealed: Callable[[str], None] | None = None,
) -> QualityResult:
    """Read a ``results.json`` (``raw``: its bytes, already read, so that what a caller checked,
    a digest or a signature, is what is used; ``path`` then only names it).

    With ``unsealed``, its content digest is checked too (what a command that reuses a result to
    decide something needs: an edited file is refused); a result without one (written before
    schema 1.10, or by :meth:`QualityResult.dump`) is read unchecked, and ``unsealed`` is told so.

    Raises
    ------
    ResultsError
        The file is missing or unreadable, not JSON, not a JSON object, of another major
        schema version, or does not match the models; the message names the first
        ``max_errors`` problems with their locations, never the whole file. With ``unsealed``:
        its content does not hash to the digest it states.
    """
    try:
        if raw is None:
            raw = read_named(path)
    except OSError as exc:
        raise ResultsError(
            msg("cannot read {path}: {reason}", path=path, reason=exc.strerror or exc)
        ) from None
    with collector_paused():  # the parsed tree and the models, walked by no collection in between
        return _validated(path, raw, max_errors, unsealed)


def _check_sealed(path: Path, data: dict[str, Any], unsealed: Callable[[str], None]) -> None:
    """Raise :class:`ResultsError` when the results object ``data`` (of ``path``) holds what a later
    schema version than the one it states added, or does not hash to the digest it states; tell
    ``unsealed`` when it states none."""
    newer = _newer_than_stated(path, data)
    if newer is not None:
        raise ResultsError(newer)
    try:
        stated = stated_digest(data)
        if stated is None:
            refused = _undigested_refusal(path, data)
            if refused is not None:
                raise ResultsError(refused)
            unsealed(
                msg(
                    "{path} carries no content digest (written before results schema 1.10): it is "
                    "used without checking that it was not edited",
                    path=path,
                )
            )
            return
        matches, actual = content_matches(data, stated)
    except DigestError as exc:
        raise ResultsError(msg("{path} cannot be verified: {reason}", path=path, reason=exc)) from None
    if not matches:
        raise ResultsError(
            msg(
                "{path}: content digest does not match: edited after it was written? (its content "
                "hashes to {actual}, it states {stated}); audit the batch again, or use the file as "
                "dqm wrote it",
                path=path,
                actual=actual,
                stated=clip(stated, 80),  # stated by the file: of any length
            )
        )


ADDED_1_18: tuple[tuple[str, ...], ...] = (
    ("items", "[]", "slide", "overstain_share"),
    ("items", "[]", "slide", "understain_share"),
    ("items", "[]", "slide", "artefact_scale_unknown"),
    ("items", "[]", "slide", "artefact_scale_coarse"),
)
"""The members schema 1.18 added (each in :data:`NEWER_MEMBERS`)."""
ADDED_1_19: tuple[tuple[str, ...], ...] = (
    ("diversity", "tests", "[]", "thresholds"),
    ("diversity", "drift", "variables", "[]", "thresholds"),
    ("semantic", "refused"),
    ("items", "[]", "slide", "mpp_source"),
    ("items", "[]", "slide", "colour_pen_share"),
    ("items", "[]", "slide", "all_ink"),
    ("items", "[]", "slide", "one_colour"),
    ("syntactic", "ordered"),
    ("syntactic", "ordered", "structure_without_unordered"),
    ("syntactic", "ordered", "format_without_unordered"),
)
"""The members schema 1.19 added (each in :data:`NEWER_MEMBERS`): a member of a model of
``results.json`` added while 1.19 is the newest version goes here."""
DIGEST_FROM = (1, 10)
"""The first schema version whose results.json always carries its content digest."""
NEWER_MEMBERS: tuple[tuple[tuple[int, int], tuple[str, ...]], ...] = (
    ((1, 1), ("checks",)),
    ((1, 1), ("thumbnails",)),
    ((1, 1), ("verdict", "pending")),
    ((1, 2), ("diversity", "gates")),
    ((1, 2), ("semantic", "core")),
    ((1, 2), ("semantic", "strata", "[]", "core_sampled")),
    ((1, 3), ("waivers",)),
    ((1, 3), ("redelivery",)),
    ((1, 4), ("lots",)),
    ((1, 5), ("items", "[]", "slide", "perceptual_hash")),
    ((1, 6), ("items", "[]", "patient")),
    ((1, 6), ("findings", "[]", "template")),
    ((1, 6), ("findings", "[]", "params")),
    ((1, 7), ("run_id",)),
    ((1, 7), ("verdict", "not_evaluated")),
    ((1, 7), ("verdict", "crashed_stages")),
    ((1, 7), ("syntactic", "not_evaluated")),
    ((1, 7), ("thumbnails", "[]", "artefacts")),
    ((1, 8), ("items", "[]", "slide", "stain")),
    ((1, 8), ("items", "[]", "slide", "jpeg_quality")),
    ((1, 8), ("items", "[]", "slide", "scanner")),
    ((1, 8), ("diversity", "batch_effects")),
    (DIGEST_FROM, ("digest",)),
    (DIGEST_FROM, ("batch", "files")),
    ((1, 11), ("semantic", "lq")),
    ((1, 12), ("batch", "files", "[]", "stat")),
    ((1, 13), ("findings", "[]", "counted_values")),
    ((1, 14), ("disabled_checks",)),
    ((1, 14), ("redelivery", "fixed_total")),
    ((1, 14), ("redelivery", "fixed_by_code")),
    ((1, 17), ("order",)),
    *(((1, 18), where) for where in ADDED_1_18),
    *(((1, 19), where) for where in ADDED_1_19),
)
"""Members a results.json of an older schema never held, with the version that added them (each
written by every audit since, ``null`` or empty when unused; ``[]``: in an element of a list): a
file that holds one was written since, whatever version it states. Each version is the first
whose model held the member (measured over the history: some came before the bump that names them,
as ``thumbnails[].artefacts`` in 1.7)."""

CODES_SINCE: dict[str, tuple[int, int]] = {
    code: since
    for since, codes in (
        (
            (1, 1),
            (
                "FILE_NOT_READ",
                "MANIFEST_DUPLICATE_COLUMN",
                "SPECIAL_FILE",
                "STAGE_CRASHED",
                "SYMLINK_DANGLING",
                "SYMLINK_OUTSIDE_BATCH",
            ),
        ),
        (
            (1, 2),
            (
                "COORDINATE_OUT_OF_RANGE",
                "DUPLICATE_KEY",
                "LIMIT_EXCEEDED",
                "MASK_EMPTY",
                "MASK_GREY_LEVELS",
                "MASK_LOSSY",
                "MASK_NOT_LABELS",
                "MASK_SIZE_MISMATCH",
                "MASK_TOO_MANY_REGIONS",
                "MASK_VALUE_UNMAPPED",
                "VALUE_OUT_OF_RANGE",
            ),
        ),
        (
            (1, 5),
            (
                "NEAR_DUPLICATE_OTHER_PATIENT",
                "NEAR_DUPLICATE_SAME_PATIENT",
                "NEAR_DUPLICATE_SLIDE",
                "PATIENT_IN_TWO_SPLITS",
                "SLIDE_DELIVERED_AGAIN",
            ),
        ),
        (
            (1, 7),
            (
                "AIR_BUBBLE",
                "BACKGROUND_DEBRIS",
                "BLURRED",
                "LESION_ON_ARTEFACT",
                "OVERSTAINED",
                "PEN_MARKS",
                "TISSUE_FOLD",
                "UNDERSTAINED",
            ),
        ),
        (
            (1, 9),
            (
                "CHECKSUM_LIST_UNREADABLE",
                "CHECKSUM_MALFORMED",
                "CHECKSUM_MISMATCH",
                "CHECKSUM_MISSING_FILE",
                "CHECKSUM_OUTSIDE_BATCH",
                "CHECKSUM_UNLISTED",
            ),
        ),
        ((1, 12), ("FILE_SPARSE", "FOLDER_UNREADABLE", "MANIFEST_BAD_VALUE", "NAME_NOT_UTF8")),
        (
            (1, 13),
            (
                "COCO_DUPLICATE_IMAGE",
                "DEID_COLUMN_IDENTIFIER",
                "DEID_COLUMN_QUASI",
                "DEID_SLIDE_UNSEARCHED",
                "DUPLICATES_CROWDED",
                "MASK_FRAMES",
                "OVERLAPS_CROWDED",
                "PARTS_CROWDED",
            ),
        ),
        ((1, 17), ("ITEM_NOT_DELIVERED", "ITEM_NOT_ORDERED", "ORDER_CHECKSUM_MISMATCH")),
        (
            (1, 18),
            (
                "ARTEFACT_NOT_MEASURED",
                "ARTEFACT_SCALE_COARSE",
                "ARTEFACT_SCALE_UNKNOWN",
                "LESION_KIND_UNMEASURED",
                "OVERSTAINED_GROUP",
                "UNDERSTAINED_GROUP",
            ),
        ),
        (
            (1, 19),
            (
                "ANNOTATION_MPP_UNUSED",
                "BASELINE_HASH_MALFORMED",
                "DEID_CHECKSUM_TEXT_IDENTIFIER",
                "DEID_CHECKSUM_TEXT_QUASI",
                "DEID_CHECKSUM_TEXT_UNSEARCHED",
                "DEID_FILENAME_DATES",
                "DEID_MANIFEST_IDENTIFIER",
                "DEID_MANIFEST_QUASI",
                "DEID_MANIFEST_UNSEARCHED",
                "DEID_OTHER_NAME_IDENTIFIER",
                "DEID_OTHER_NAME_QUASI",
                "DEID_OTHER_TEXT_IDENTIFIER",
                "DEID_OTHER_TEXT_QUASI",
                "DEID_OTHER_TEXT_UNSEARCHED",
                "ITEM_DELIVERED_AGAIN",
                "ITEM_TIMED_OUT",
                "MASK_ORIENTATION_MISMATCH",
                "MASK_PAGES_LOOP",
                "SLIDE_ALL_INK",
                "SLIDE_ONE_COLOUR",
                "SLIDE_PART_UNREADABLE",
                "SLIDE_TILES_PAST_END",
                "STAIN_NOT_COMPARED",
                "VERTEX_ORDER",
            ),
        ),
        (
            (1, 14),
            (
                "ARTEFACT_UNMEASURED",
                "DEID_ANNOTATION_UNSEARCHED",
                "DEID_CLINICAL_UNSEARCHED",
                "EDGES_CROWDED",
                "IMAGE_AMBIGUOUS_IN_FILE",
                "SLIDE_REFERENCE_REFUSED",
                "TISSUE_UNMEASURED",
            ),
        ),
    )
    for code in codes
}
"""The reason codes no dqm wrote before the schema version given (a code not named here was
there from 1.0, or came after 1.19, the last version named here): the first version in whose
source the code was written, measured over the history. A check's codes are listed in every result's ``checks`` since 1.1."""
NEWER_VALUES: tuple[tuple[tuple[str, ...], dict[str, tuple[int, int]]], ...] = (
    (("findings", "[]", "code"), CODES_SINCE),
    (("checks", "[]", "codes", "[]", "code"), CODES_SINCE),
    (("syntactic", "by_code", "{}"), CODES_SINCE),
    (("thumbnails", "[]", "codes", "[]"), CODES_SINCE),
    (("batch", "files", "[]", "role"), {"slide_part": SLIDE_PARTS_FROM}),
)
"""Values a results.json of an older schema never held (``{}``: a key of an object), each with
the version that added it."""
_OWNERS_1_15 = (".mrxs", ".vms", ".vmu")
"""The slides whose files besides them a results.json of 1.15 listed (MIRAX, a VMS/VMU key file),
by the end of their names."""


def parts_of_1_16(data: dict[str, Any]) -> Iterator[str]:
    """The ``slide_part`` files of the results object ``data`` that only 1.16 lists
    (:data:`PARTS_1_16_FROM`): the Trestle macro image of one of its slides (``x.Full`` beside
    ``x.tif``), or a file in the folder of a slide named ``.dcm`` (another file of its series).
    The slides are the ``batch.files[]`` rows of role ``slide``, spelt as the parts are (not the
    manifest's ``./d/x.dcm``). Nothing is found in a batch holding a MIRAX or VMS/VMU slide: 1.15
    listed the files such a slide names, in any folder (the root's included) and by the file a
    link resolves to, which names alone cannot tell from a 1.16 part (refusing a genuine result
    is worse than passing this narrow relabel). A DICOM slide is told by its ``.dcm`` name only
    (an audit tells one by its bytes): a DICOM slide named otherwise is not checked."""
    rows = [row for row in _at(data, ("batch", "files", "[]")) if isinstance(row, dict)]
    slides = [row["path"] for row in rows if row.get("role") == "slide" and isinstance(row.get("path"), str)]
    if any(slide.lower().endswith(_OWNERS_1_15) for slide in slides):
        return
    dicom = {posixpath.dirname(s) for s in slides if s.lower().endswith(".dcm")}
    macros = {macro_name(s) for s in slides}
    for row in rows:
        path = row.get("path")
        if row.get("role") != "slide_part" or not isinstance(path, str):
            continue
        if posixpath.dirname(path) in dicom or path in macros:
            yield path


NEWER_FOUND: tuple[tuple[tuple[int, int], str, Callable[[dict[str, Any]], Iterator[str]]], ...] = (
    (PARTS_1_16_FROM, "batch.files[] slide_part", parts_of_1_16),
)
"""What a results.json of an older schema never held that neither a member nor a value tells,
with the version that added it: its name and what finds it (each found thing named)."""
_CURRENT = (int(SCHEMA_VERSION.split(".")[0]), int(SCHEMA_VERSION.split(".")[1]))
"""This dqm's schema version: a result labelled older is checked for what each later one added
(the tables above name nothing past it), whether or not the tables name something of every version."""


_END = object()


def _at(node: Any, where: tuple[str, ...]) -> Iterator[Any]:
    """The values at the path ``where`` under ``node`` (``[]``: each element of a list; ``{}``:
    each key of an object), a member held with a ``null`` value included."""
    if not where:
        yield node
        return
    step, rest = where[0], where[1:]
    if step == "[]":
        if isinstance(node, list):
            for element in node:
                yield from _at(element, rest)
    elif step == "{}":
        if isinstance(node, dict):
            yield from node
    elif isinstance(node, dict) and step in node:
        yield from _at(node[step], rest)


def _newer_held(data: dict[str, Any], version: str) -> Iterator[tuple[str, tuple[int, int]]]:
    """Each member (:data:`NEWER_MEMBERS`), value (:data:`NEWER_VALUES`) and file
    (:data:`NEWER_FOUND`) the results object ``data`` holds that a version later than ``version``
    added, named, with that version."""
    for since, where in NEWER_MEMBERS:
        if not _from(version, since) and next(_at(data, where), _END) is not _END:
            yield ".".join(where).replace(".[]", "[]"), since
    for where, table in NEWER_VALUES:
        named = ".".join(where).replace(".[]", "[]").replace(".{}", "{}")
        for value in _at(data, where):
            added = table.get(value) if isinstance(value, str) else None
            if added is not None and not _from(version, added):
                yield f"{named} {value}", added
    for since, named, find in NEWER_FOUND:
        if not _from(version, since):
            for found in find(data):
                yield f"{named} {found}", since


def _newer_than_stated(path: Path, data: dict[str, Any]) -> str | None:
    """Why the results object ``data`` (of ``path``) is refused: it holds a member or a value
    (a reason code, a file's role) of a later schema version than the one it states, so it was
    written since and labelled older (a label that makes a command read it as an old result:
    without a digest, unchecked). None: nothing it holds contradicts its label. A result with the
    later members deleted too cannot be told from an old one: only a signature proves who wrote it."""
    version = data.get("schema_version")
    if not isinstance(version, str) or _from(version, _CURRENT):
        return None  # nothing is newer than the label (an unparseable label: refused where it matters)
    found = next(_newer_held(data, version), None)
    if found is None:
        return None
    return msg(
        "{path} states results schema {version} but holds {member}, which schema {since} added: "
        "written since and relabelled? Refused; audit the batch again, or use the file as dqm wrote it",
        path=path,
        version=_stated(version, 20),  # stated by the file: of any length
        member=_stated(found[0], 200),  # a file's path the result names: of any length
        since="{}.{}".format(*found[1]),
    )


def _newer_than_ours(version: object) -> bool:
    """Whether ``version`` is a results schema ``major.minor`` later than this dqm's (a label not so
    written: no)."""
    if not isinstance(version, str):
        return False
    try:
        major, minor = (int(n) for n in version.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) > _CURRENT


def _undigested_refusal(path: Path, data: dict[str, Any]) -> str | None:
    """Why the results object ``data`` (of ``path``), which states no content digest, is refused:
    it states a schema version that always carries one (an edit deleted it). None: it may be a
    result written before schema 1.10, read unchecked (:func:`_newer_than_stated` has refused one
    holding what a later version added). A pre-1.10 file edited by hand, or one with the later
    members deleted too, cannot be told apart: only a signature proves who wrote it."""
    version = data.get("schema_version")
    if not isinstance(version, str) or _from(version, DIGEST_FROM):
        return msg(
            "{path} states results schema {version} but carries no content digest (every results.json "
            "dqm writes since 1.10 does): edited after it was written? Refused; audit the batch "
            "again, or use the file as dqm wrote it",
            path=path,
            version=_stated(version, 20),  # stated by the file: of any length
        )
    return None


def _validated(
    path: Path, raw: bytes, max_errors: int, unsealed: Callable[[str], None] | None = None
) -> QualityResult:
    try:
        data = strict_loads(raw)
    except StrictJSONError as exc:
        raise ResultsError(msg("{path} is not JSON: {reason}", path=path, reason=exc)) from None
    if not isinstance(data, dict) or "schema_version" not in data:
        raise ResultsError(
            msg("{path} is not a dqm results.json (no schema_version at the top level)", path=path)
        )
    version = data["schema_version"]
    if _schema_major(version) != _schema_major(SCHEMA_VERSION):
        raise ResultsError(
            msg(
                "{path} has schema version {version}; this dqm reads {major}.x",
                path=path,
                version=clip(repr(version), 80),
                major=_schema_major(SCHEMA_VERSION),
            )
        )
    try:
        result = QualityResult.model_validate(data)
        if unsealed is not None:  # a file that is no results.json is said to be so, not to lack a digest
            _check_sealed(path, data, unsealed)
        return result
    except ValidationError as exc:
        errors = exc.errors()
        if _newer_than_ours(version) and all(e["type"] == "extra_forbidden" for e in errors):
            # what it holds that this dqm cannot read is what it added; a known member of another
            # type is an error a newer dqm would refuse too: named below
            raise ResultsError(
                msg(
                    "{path} was written by a newer dqm (results schema {version}; this dqm reads up "
                    "to {ours}) and holds what this one does not know: read it with that version or later",
                    path=path,
                    version=_stated(version, 20),  # stated by the file: of any length
                    ours=SCHEMA_VERSION,
                )
            ) from None
        # the tail a parameter of its own, translated with the message (inside {problems} it
        # stayed English in a Korean list)
        listed = problem_lines(
            [f"  {'/'.join(_stated(p, 80) for p in e['loc']) or '(top)'}: {e['msg']}" for e in errors],
            cap=max_errors,
        )
        head = (
            N_("{path} does not match the results schema {version}:\n{problems}\n  {_more}")
            if "_more" in listed
            else N_("{path} does not match the results schema {version}:\n{problems}")
        )
        raise ResultsError(msg(head, path=path, version=_stated(version, 80), **listed)) from None
