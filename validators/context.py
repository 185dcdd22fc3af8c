"""What checks look at: read-only views of one item or of the whole batch.

All I/O happens before a view is built (reading annotation files, probing slides, running the
clinical-table expectations); checks only judge the data in the view.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dqm.checksums import Listed
from dqm.facts import SlideSummary
from dqm.model import Annotation, DiscoveryIssue, Item
from dqm.probe_mpp import ProbeResolution, fit_tolerance, for_probe, header_ranges
from dqm.profile import Profile
from dqm.slide_io import SlideProbe

if TYPE_CHECKING:
    from dqm.clinical_table import TableValidation
    from dqm.order import OrderList


@dataclass(frozen=True, slots=True)
class FileStatus:
    """Whether a file an item names is there."""

    path: str | None
    exists: bool
    outside_batch: bool = False
    refused: str | None = None
    """Why a file that is there was not opened (a special file, a dangling link; see
    :func:`dqm.batch.jailed`)."""


@dataclass(slots=True)
class ItemView:
    """One item, after its files were read."""

    item: Item
    profile: Profile
    annotation: Annotation | None = None
    slide: SlideProbe | None = None
    image: FileStatus = FileStatus(None, False)
    annotation_file: FileStatus = FileStatus(None, False)
    slides_checked: bool = True
    """False for annotation-only validation: slide and pairing checks then have nothing to say."""
    resolution: ProbeResolution | None = None
    """The resolution decided where the slide header states none (:func:`dqm.probe_mpp.for_probe`:
    the probe's, judged on the size it read; without slides, with no fit judged) and why the
    annotation's declared one was not taken; ``None`` where the header states one, or nobody
    decided (a view made by hand: :attr:`mpp` decides then, by the same rule)."""

    @property
    def item_id(self) -> str:
        """The item the findings of item checks are about."""
        return self.item.slide_id

    @property
    def findings_file(self) -> str | None:
        """The file a finding names when its check names none: the annotation file, else the slide."""
        if self.annotation is not None:
            return self.annotation.path
        return self.annotation_file.path or self.image.path

    @property
    def decided(self) -> ProbeResolution:
        """The resolution decided where the slide header states none: :attr:`resolution`, else
        (a view made by hand) by the same rule, no size known."""
        if self.resolution is not None:
            return self.resolution
        ranges = header_ranges(self.profile)[0]
        return for_probe(self.annotation, self.item, self.profile, ranges, None, fit_tolerance(self.profile))

    @property
    def mpp(self) -> float | None:
        """Level-0 resolution: the slide header's, else the one the probe was given
        (:attr:`decided`: the annotation's declared one where plausible and the annotation fits
        the image, else the manifest's ``mpp`` column, else the profile's ``image_mpp``)."""
        if self.slide is not None and self.slide.mpp_x:
            return self.slide.mpp_x
        return self.decided.mpp


@dataclass(frozen=True, slots=True)
class ItemFacts:
    """The few facts about an item that batch checks need."""

    slide_id: str
    row: int | None
    image_path: str | None
    annotation_path: str | None
    fingerprint: str | None = None
    full_hash: str | None = None
    unmapped_classes: dict[str, int] = field(default_factory=dict)
    """Lesion class names as written that the profile does not resolve, with their counts."""
    perceptual_hash: str | None = None
    """The slide's tissue-thumbnail hash (:mod:`dqm.pixels.hashes`), None without one."""
    clinical: dict[str, Any] = field(default_factory=dict)
    """The item's clinical record as delivered (identifying fields included: never echo them)."""
    slide: SlideSummary | None = None
    """The slide's summary (its stain descriptors and stain shares: ``artefacts.stain``), None
    without an opened slide."""


@dataclass(frozen=True, slots=True)
class EarlierSlide:
    """A slide of an earlier release, as that release's results name it."""

    slide_id: str
    image_path: str | None
    perceptual_hash: str


@dataclass(frozen=True, slots=True)
class EarlierRelease:
    """The slides of the release given as ``--baseline``, for the checks that look across releases."""

    name: str
    """How findings name the release (its results file or batch folder, and when it was made)."""
    slides: tuple[EarlierSlide, ...] = ()
    mask: Any = None
    """The run's masker (``str -> str``), when the earlier results name their slides masked: an
    item's id is compared with them masked too."""

    def names(self, slide_id: str) -> set[str]:
        """The forms ``slide_id`` may take in the earlier release's results."""
        return {slide_id, self.mask(slide_id)} if self.mask is not None else {slide_id}


@dataclass(slots=True)
class BatchView:
    """The whole batch, for checks across items."""

    profile: Profile
    items: list[ItemFacts]
    manifest: str | None
    discovery_issues: list[DiscoveryIssue] = field(default_factory=list)
    files: tuple[str, ...] = ()
    """Every file the batch layout listed (slides, annotations, files not read), by batch path: a
    DICOM series' other files among them, which no issue names."""
    manifest_header: tuple[str, ...] = ()
    """The manifest's column names (empty without a manifest)."""
    manifest_unread: list[tuple[int | None, str]] = field(default_factory=list)
    """The manifest's text no item holds, by row (None: a manifest not used), searched for
    identifiers (:attr:`dqm.batch.Discovery.manifest_unread`)."""
    manifest_unread_cut: bool = False
    """Whether some of that text was not kept, so not searched."""
    sums_unread: list[tuple[int | None, str]] = field(default_factory=list)
    """The text of ``SHA256SUMS`` that names no file of the batch, by line (None: a list not read),
    searched for identifiers (:attr:`dqm.batch.Discovery.sums_unread`)."""
    sums_unread_cut: bool = False
    """Whether some of that text was not kept, so not searched."""
    other_texts: list[tuple[str, str]] = field(default_factory=list)
    """The text of the files the batch delivers and no item reads (a README, a note, an orphan
    annotation), by batch path, searched for identifiers (:func:`dqm.batch.delivered_texts`)."""
    other_texts_cut: bool = False
    """Whether some of that text was not kept, so not searched."""
    other_texts_unread: list[tuple[str, str]] = field(default_factory=list)
    """Files the batch delivers that may hold identifiers and were not (all) searched (a ``.doc``,
    an ``.alz``, a ZIP member past the bound), by batch path, with why (a msgid)."""
    other_texts_unread_cut: bool = False
    """Whether more such files were not searched than are named there."""
    other_texts_unread_at: dict[str, int] = field(default_factory=dict)
    """Where a file of :attr:`other_texts_unread` stopped being read whole (the ``at`` its reason
    names: a tar archive's damaged block), by batch path."""
    table: TableValidation | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    earlier: EarlierRelease | None = None
    """The ``--baseline`` release, when the audit was given one."""
    checksums: dict[str, Listed] = field(default_factory=dict)
    """The listed files that are there, with their expected SHA-256 (:mod:`dqm.checksums`)."""
    hashed: dict[str, str] = field(default_factory=dict)
    """Full SHA-256 of the files that were hashed whole, by batch path."""
    sparse: dict[str, tuple[int, int]] = field(default_factory=dict)
    """The files found sparse and so never read whole, by batch path: apparent and allocated
    bytes (:mod:`dqm.sparse_files`)."""
    order: OrderList | None = None
    """The buyer's order list (``--expect``: :mod:`dqm.order`), None without one."""
    order_matches: list[int | None] = field(default_factory=list)
    """For each entry of :attr:`order`, the index in :attr:`items` of the item it names (None:
    not delivered: :func:`dqm.order.delivered`)."""

    @property
    def item_id(self) -> str:
        """What the findings of batch checks are about unless they name an item: the batch."""
        return "batch"

    @property
    def findings_file(self) -> str | None:
        """The file a finding names when its check names none: the manifest."""
        return self.manifest
