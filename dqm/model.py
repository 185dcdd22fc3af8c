"""The internal model every reader produces: a batch of items, each a slide with its annotation.

An :class:`Annotation` is format-neutral: lesions with a class and level-0 polygons. Readers
(``dqm.readers``) turn native JSON, QuPath, ASAP, ... into it; checks never see a file format.

An :class:`ItemRecord` is what a run learned about one item (its parsed annotation, its slide
probe's facts, its findings and summary, its file facts): one versioned, serialisable record
that every later step reads instead of reading files again.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from dqm.coords import MAX_MPP, MIN_MPP
from dqm.facts import ItemSummary
from dqm.findings import Finding

Ring = np.ndarray
"""``(N, 2)`` float64 x/y vertices in level-0 pixels, as written (closing vertex optional)."""


@dataclass(slots=True)
class Lesion:
    """One annotated lesion: a class and one or more polygons with holes.

    ``polygons`` keeps the rings exactly as read, so checks can point at a vertex even when the
    rings cannot form a geometry; ``geometry`` is None in that case.
    """

    index: int
    pointer: str
    raw_class: str | None
    label: str | None
    polygons: list[list[Ring]]
    properties: dict[str, Any] = field(default_factory=dict)
    geometry: BaseGeometry | None = None
    outline_read: bool = True
    """False when the outline was structurally broken (a structure finding says why)."""
    _valid: bool | None = None
    _area: float | None = None
    crowded: int | None = None
    """Pairs of its parts whose bounding boxes overlap, when over :data:`MAX_PART_PAIRS`: why it
    has no geometry (:func:`crowded_parts`); None otherwise."""
    crossed: int | None = None
    """Pairs of its edges whose bounding boxes overlap (an estimate), when over
    :data:`MAX_EDGE_PAIRS`: why it has no geometry (:func:`crowded_edges`); None otherwise."""

    @property
    def area(self) -> float:
        """The geometry's area in level-0 square pixels (0 without a geometry; computed once)."""
        if self._area is None:
            self._area = float(self.geometry.area) if self.geometry is not None else 0.0
        return self._area

    @property
    def is_valid(self) -> bool:
        """Whether the geometry exists and is OGC-valid (computed once)."""
        if self._valid is None:
            self._valid = self.geometry is not None and bool(shapely.is_valid(self.geometry))
        return self._valid

    @classmethod
    def build(
        cls,
        index: int,
        pointer: str,
        raw_class: str | None,
        label: str | None,
        polygons: list[list[Ring]],
        properties: dict[str, Any] | None = None,
        outline_read: bool = True,
    ) -> Lesion:
        geometry, valid, crowded, crossed = _geometry(polygons)
        lesion = cls(index, pointer, raw_class, label, polygons, properties or {}, geometry, outline_read)
        lesion._valid, lesion.crowded, lesion.crossed = valid, crowded, crossed
        return lesion

    def vertices(self) -> np.ndarray:
        """All vertices, rings in order (shell then holes, polygon by polygon), as ``(N, 2)``."""
        rings = [r for poly in self.polygons for r in poly]
        return np.concatenate(rings) if rings else np.empty((0, 2))

    @property
    def n_vertices(self) -> int:
        return sum(len(r) for poly in self.polygons for r in poly)

    @property
    def n_holes(self) -> int:
        return sum(max(len(poly) - 1, 0) for poly in self.polygons)


def has_three_distinct(ring: Ring) -> bool:
    """True when an ``(N, 2)`` ring has at least three distinct vertices (O(N), no sort)."""
    if len(ring) < 3:
        return False
    differs = (ring != ring[0]).any(axis=1)
    if not differs.any():
        return False
    second = ring[int(np.argmax(differs))]
    return bool((differs & (ring != second).any(axis=1)).any())


MAX_COORDINATE = 2.0**31
"""The largest coordinate magnitude a geometry is built from: beyond any slide (TIFF's 32-bit
sides), and small enough that areas and distances stay finite."""


def in_range(ring: Ring) -> bool:
    """True when every coordinate is finite and within :data:`MAX_COORDINATE`."""
    if not ring.size:
        return True
    return bool(ring.max() <= MAX_COORDINATE and ring.min() >= -MAX_COORDINATE)  # NaN propagates: False


CROWDED_PARTS = 1_000
"""Parts of a MultiPolygon above which :func:`crowded_parts` counts them before validity is checked."""
MAX_PART_PAIRS = 10_000_000
"""Pairs of one outline's parts whose bounding boxes overlap above which it gets no geometry:
GEOS's validity test compares each such pair (about 12 ns a pair), so 100,000 copies of one square
(a 6 MB file, 5·10⁹ pairs) took 60 s a test and three tests a lesion, growing with the square of
the parts."""
_PAIRS_A_QUERY = 4_000_000
"""Bounding-box pairs one query of :func:`crowded_parts` may return (its memory: 16 bytes each)."""


def crowded_parts(parts: np.ndarray) -> int | None:
    """How many pairs of an outline's ``parts`` (its polygons, as shapely geometries) have
    overlapping bounding boxes, when that is over :data:`MAX_PART_PAIRS` (counted a query at a
    time, so at most a little past it); None when it is not."""
    n = len(parts)
    tree = shapely.STRtree(parts)  # a query with no predicate compares bounding boxes
    step = max(1, _PAIRS_A_QUERY // n)
    directed = 0  # each pair is met from both of its parts; a part meets itself once
    for start in range(0, n, step):
        chunk = parts[start : start + step]
        directed += tree.query(chunk).shape[1] - len(chunk)
        if directed // 2 > MAX_PART_PAIRS:
            return directed // 2
    return None


MAX_EDGE_PAIRS = 1_000_000_000
"""Pairs of one outline's edges whose bounding boxes overlap above which it gets no geometry:
GEOS's validity test compares each such pair (about 1 ns a pair), so a star of 200,000 vertices
whose every edge crosses most others (an 8 MB file, 2·10¹⁰ pairs) took 67 s a test and two tests
a lesion, growing with the square of the vertices (a million: about half an hour). A real outline
of a million vertices has a few million."""
CROWDED_EDGES = 44_722
"""Edges of an outline from which their pairs can pass :data:`MAX_EDGE_PAIRS` (``n (n - 1) / 2``):
:func:`crowded_edges` bounds them before validity is checked."""


def crowded_edges(rings: list[Ring]) -> int | None:
    """A bound on the pairs of an outline's edges (``rings``, closed or not) whose bounding boxes
    overlap, when that is over :data:`MAX_EDGE_PAIRS`; None when it is not. Two bounds from above,
    the smaller kept, both exact counts (the same on every machine) in ``O(n log n)``:

    - along the axes: each edge counted with the edges its box meets along x and those it meets
      along y, the fewer of the two (a pair whose boxes overlap overlaps on both axes): a sliver
      closed by one long diagonal stays low;
    - on a grid of about ``n`` cells over the outline: the pairs of edges that share a cell, an edge
      over more than :data:`_GRID_SPAN` cells a side counted as meeting every edge: many small
      parts in rows and columns (a lesion of 490,000 separate squares, which the axes alone count
      as meeting their whole row) stay low.

    A star whose every edge crosses most others passes both."""
    lo, hi = [], []
    for ring in rings:
        closed = ring if np.array_equal(ring[0], ring[-1]) else np.vstack([ring, ring[:1]])
        lo.append(np.minimum(closed[:-1], closed[1:]))
        hi.append(np.maximum(closed[:-1], closed[1:]))
    low, high = np.concatenate(lo), np.concatenate(hi)
    n = len(low)

    def along(axis: int) -> np.ndarray:
        """Each edge's count of edges starting at or before it ends, less those ending before it starts."""
        starts, ends = np.sort(low[:, axis]), np.sort(high[:, axis])
        return np.searchsorted(starts, high[:, axis], "right") - np.searchsorted(ends, low[:, axis], "left")

    met = np.minimum(along(0), along(1))
    pairs = (int(met.sum(dtype=np.int64)) - n) // 2  # each pair from both of its edges, less itself
    if pairs > MAX_EDGE_PAIRS:  # the grid's count only where the axes' is not low enough
        pairs = min(pairs, _grid_pairs(low, high))
    return pairs if pairs > MAX_EDGE_PAIRS else None


_GRID_SPAN = 4
"""Cells a side an edge's box may cover in :func:`_grid_pairs` before it counts as meeting all."""


def _grid_pairs(low: np.ndarray, high: np.ndarray) -> int:
    """A bound from above on the pairs of boxes (``low``, ``high``: ``(n, 2)`` corners) that overlap:
    the pairs sharing a cell of a grid of about ``n`` cells (boxes that overlap share one), with a
    box over more than :data:`_GRID_SPAN` cells a side counted as meeting every box."""
    n = len(low)
    origin, size = low.min(axis=0), np.maximum(high.max(axis=0) - low.min(axis=0), 1e-300)
    side = max(1, int(np.sqrt(n)))
    first = np.clip(((low - origin) / size * side).astype(np.int64), 0, side - 1)
    last = np.clip(((high - origin) / size * side).astype(np.int64), 0, side - 1)
    span = last - first
    wide = (span > _GRID_SPAN - 1).any(axis=1)
    cells = []
    for dx in range(_GRID_SPAN):
        for dy in range(_GRID_SPAN):
            on = ~wide & (span[:, 0] >= dx) & (span[:, 1] >= dy)
            cells.append((first[on, 0] + dx) * side + first[on, 1] + dy)
    per_cell = np.bincount(np.concatenate(cells)).astype(np.int64)
    return int((per_cell * (per_cell - 1) // 2).sum()) + int(wide.sum()) * n


def geometry_of(polygons: list[list[Ring]]) -> tuple[BaseGeometry | None, bool | None]:
    """A shapely Polygon / MultiPolygon from rings, and whether it is valid (None: not computed, for
    an outline of no area; False is known, and not tested again by :attr:`Lesion.is_valid`).

    The geometry is None when a ring cannot be a ring: not finite or out of range
    (:data:`MAX_COORDINATE`), or fewer than three distinct
    vertices. Validity (self-intersection, holes) is *not* repaired: the geometry checks report
    it. A valid polygon of positive area certainly has three distinct vertices per ring, so the
    exact vertex count runs only for the rare degenerate outline. An outline of many parts whose
    bounding boxes overlap in more than :data:`MAX_PART_PAIRS` pairs (:func:`crowded_parts`) gets
    no geometry: its validity would take minutes (``geometry.validity`` reports it).
    """
    return _geometry(polygons)[:2]


def _geometry(
    polygons: list[list[Ring]],
) -> tuple[BaseGeometry | None, bool | None, int | None, int | None]:
    """:func:`geometry_of`, and the pairs :func:`crowded_parts` counted, or
    :func:`crowded_edges` estimated, when they took the geometry."""
    if not polygons or any(not poly for poly in polygons):
        return None, None, None, None
    rings = [ring for poly in polygons for ring in poly]
    if any(ring.ndim != 2 or ring.shape[1] != 2 or len(ring) < 3 for ring in rings):
        return None, None, None, None
    coords = rings[0] if len(rings) == 1 else np.concatenate(rings)
    if not in_range(coords):
        return None, None, None, None
    try:
        geom = (
            shapely.Polygon(polygons[0][0], polygons[0][1:])
            if len(polygons) == 1
            else _multipolygon(polygons, rings, coords)
        )
    except (ValueError, shapely.errors.GEOSException):
        return None, None, None, None  # e.g. a closed ring of three coordinates
    if len(polygons) > CROWDED_PARTS:
        crowded = crowded_parts(shapely.get_parts(geom))
        if crowded is not None:
            return None, None, crowded, None
    if len(coords) > CROWDED_EDGES:
        crossed = crowded_edges(rings)
        if crossed is not None:
            return None, None, None, crossed
    positive = geom.area > 0
    if positive and shapely.is_valid(geom):
        return geom, True, None, None
    if all(has_three_distinct(ring) for poly in polygons for ring in poly):
        return geom, (False if positive else None), None, None  # known invalid: not tested again
    return None, None, None, None


def _multipolygon(polygons: list[list[Ring]], rings: list[Ring], coords: np.ndarray) -> BaseGeometry:
    """The MultiPolygon of polygons' rings (``rings``: all of them in order, ``coords``: theirs
    end to end): every ring, then every polygon, made in one call each (``shapely.Polygon`` one
    at a time took seconds for an RLE of 500,000 regions)."""
    lines = shapely.linearrings(coords, indices=np.repeat(np.arange(len(rings)), [len(r) for r in rings]))
    parts = shapely.polygons(lines, indices=np.repeat(np.arange(len(polygons)), [len(p) for p in polygons]))
    del lines  # the polygons hold copies of their rings
    return shapely.multipolygons(parts)


def build_geometry(polygons: list[list[Ring]]) -> BaseGeometry | None:
    """The geometry of :func:`geometry_of`, without the validity."""
    return geometry_of(polygons)[0]


@dataclass(slots=True)
class Annotation:
    """What one annotation file says about one slide."""

    path: str
    """File path relative to the batch folder."""
    format: str
    slide_file: str | None = None
    width: int | None = None
    height: int | None = None
    mpp: float | None = None
    lesions: list[Lesion] = field(default_factory=list)
    clinical: dict[str, Any] = field(default_factory=dict)
    n_values: int = 0
    """Value slots in the file (keys expected by the format plus extras); value-grain denominator."""
    document: Any = None
    """The parsed document, for structure checks; dropped once the item is checked."""
    image_key: str | None = None
    """For files that describe many images (COCO): which image this annotation is."""
    readable: bool = True
    """False when the file could not be read or parsed at all: content checks skip it."""
    issues: list[ReadIssue] = field(default_factory=list)
    """Problems the reader met; the registered check that owns each code reports it."""
    properties: dict[str, Any] = field(default_factory=dict)
    """File-level free text of foreign formats (document names, descriptions), keyed by pointer."""
    slide_pointers: dict[str, str] = field(default_factory=dict)
    """Where ``width``, ``height`` and ``mpp`` were read, when not the native ``/slide/<key>``."""
    orientation: int | None = None
    """A label mask's Orientation tag (TIFF tag 274, or a PNG's or JPEG's EXIF one; None where it
    states none): not applied, compared with its image's (``MASK_ORIENTATION_MISMATCH``)."""
    file_text: dict[str, Any] = field(default_factory=dict)
    """A file of many images: its own text, the same for each of its images (a COCO file's
    ``info``, ``licenses``, categories, other top-level keys), keyed by pointer. Searched by one
    item of an audit (:attr:`Item.searches_file_text`), so once however many items share the file."""

    def slide_pointer(self, key: str) -> str:
        """The pointer of the declared slide fact ``key`` (``width``, ``height`` or ``mpp``)."""
        return self.slide_pointers.get(key, f"/slide/{key}")

    @property
    def declared_mpp(self) -> float | None:
        """The resolution the file declares (µm per level-0 pixel, both axes: no format read states
        one per axis), when a finite number from :data:`MIN_MPP` to :data:`MAX_MPP`; the readers
        report the others (``MPP_INVALID``, ``VALUE_OUT_OF_RANGE``, ``WRONG_TYPE``). Whether it is
        plausible is the slide probe's question (``ARTEFACT_NOT_MEASURED`` outside the profile's
        ``slide.header`` range)."""
        mpp = self.mpp
        if isinstance(mpp, bool) or not isinstance(mpp, int | float):
            return None
        return float(mpp) if MIN_MPP <= mpp <= MAX_MPP else None  # NaN compares false


@dataclass(frozen=True, slots=True)
class ReadIssue:
    """A problem met while reading a file, reported by the check that declares its ``code``."""

    code: str
    message: str
    pointer: str | None = None
    lesion: int | None = None
    vertex: int | None = None
    xy: tuple[float, float] | None = None
    line: int | None = None
    char: int | None = None
    counted: int = 0
    """The issues past a cap this one issue reports, itself the first of them (its message says how
    many); 0 for an issue that is only itself."""
    counted_values: int = 0
    """The value slots those issues name besides the one at :attr:`pointer` that no other issue of
    the file names (:attr:`dqm.findings.Finding.counted_values`)."""
    by_lesion: tuple[tuple[int | None, int, int, str | None], ...] = ()
    """A count's split by lesion (``None``: outside any lesion), each ``(lesion, n, slots,
    pointer)``: what :attr:`counted` and the value slots sum over, so that
    :func:`dqm.readers.within_limits` drops the lesions past ``lesions_per_file`` from it with
    them; ``pointer`` is the part's first pointer where worked out (else the lesion's own)."""

    def where(self) -> dict[str, Any]:
        """Its location inside the file (the file is the reader's to say)."""
        return {
            "pointer": self.pointer,
            "lesion": self.lesion,
            "vertex": self.vertex,
            "xy": self.xy,
            "line": self.line,
            "char": self.char,
        }


@dataclass(frozen=True, slots=True)
class DiscoveryIssue:
    """A problem with the batch layout or the manifest, found while discovering items; reported,
    like a :class:`ReadIssue`, by the check that declares its ``code``."""

    code: str
    message: str
    file: str | None = None
    row: int | None = None
    column: str | None = None
    item_id: str | None = None
    line: int | None = None
    """1-based physical line of the file, for syntax errors."""

    def where(self) -> dict[str, Any]:
        """The item it is about (else its file, else the batch) and its location."""
        return {
            "item_id": self.item_id or self.file or "batch",
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "line": self.line,
        }


def _count(value: Any) -> int | None:
    """A manifest cell that states a whole number of pixels (ASCII digits, at most 2^31 - 1), else
    None. ``str.isdigit`` alone takes ``²`` and a number of 5,000 digits, on which ``int`` raises."""
    text = str(value).strip() if value is not None else ""
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    number = int(text)
    return number if number < MAX_COORDINATE else None


@dataclass(slots=True)
class Item:
    """One slide of the batch: its files and its clinical record."""

    slide_id: str
    image_path: str | None
    annotation_path: str | None
    record: dict[str, Any] = field(default_factory=dict)
    """Clinical record: the manifest row (its strings as read, in Unicode NFC) or the annotation's clinical block."""
    row: int | None = None
    """1-based manifest data row, None when the item was paired by file stem."""
    listed: tuple[str, ...] = ()
    """The item's files (batch paths) that the batch's checksum list names: its work hashes them
    in full (:mod:`dqm.checksums`)."""
    searches_file_text: bool = True
    """The item's work searches its annotation file's own text (:attr:`Annotation.file_text`):
    discovery leaves this True on the first item of the batch that reads the file only, so a COCO
    file that thousands of items share is searched once, whichever of its images the manifest lists."""
    file_readers: frozenset[tuple[str, str | None]] = frozenset()
    """Where two or more items read the item's annotation file: the slide id and slide file (as
    read: :func:`dqm.batch.as_read`) of each of them, one set for them all. An image one of them
    names by its path is that item's only (:func:`dqm.readers.items.image_of`), and the item that
    searches the file's own text also searches the images none of them picks
    (:func:`dqm.readers.items.unpicked_text`)."""
    columns: tuple[str, ...] = ()
    """The manifest's header (one tuple all its items share), empty without a manifest: a finding
    names a column the profile does not declare by its position in it (``#13``), not by its name
    (:func:`validators.deid.shown_column`)."""

    @property
    def institution(self) -> str | None:
        value = self.record.get("institution")
        return value if isinstance(value, str) and value.strip() else None

    @property
    def diagnosis(self) -> str | None:
        value = self.record.get("diagnosis")
        return value if isinstance(value, str) and value.strip() else None

    @property
    def stated_mask_downsample(self) -> int | None:
        """The downsample of the item's label mask the manifest's ``mask_downsample`` states."""
        value = _count(self.record.get("mask_downsample"))
        return value if value is not None and value >= 1 else None

    def stated_mask_count(self, column: str) -> int | None:
        """The whole number of pixels the manifest's ``column`` states (``mask_left``, ``mask_top``)."""
        return _count(self.record.get(column))

    @property
    def stated_mask_offset(self) -> tuple[int, int] | None:
        """Where the item's region mask lies in its slide, as the manifest's ``mask_left`` and
        ``mask_top`` columns state (level-0 pixels)."""
        left, top = (self.stated_mask_count(k) for k in ("mask_left", "mask_top"))
        return (left, top) if left is not None and top is not None else None

    @property
    def stated_mpp(self) -> float | None:
        """The resolution the manifest's ``mpp`` column states, when a number from :data:`MIN_MPP`
        to :data:`MAX_MPP` (1e-300 would make every lesion's area 0.0 µm²)."""
        try:
            mpp = float(str(self.record.get("mpp", "")).strip())
        except ValueError:
            return None
        return mpp if MIN_MPP <= mpp <= MAX_MPP else None  # NaN compares false


# --- The item record: what the run learned about one item --------------------------------------
# Built once per item in the worker that read its files; thumbnails, the review sheet and (later)
# the cache and the executors read it instead of reading or parsing any file again.

RECORD_VERSION = 19
"""Bumped whenever :class:`ItemRecord`'s plain-data form changes; older forms are refused (2: the
slide summary carries its perceptual hash; 3: the slide facts carry the artefacts' shares and map;
4: the slide summary carries its stain descriptors, JPEG quality and scanner;
5: the full SHA-256 of the files it hashed whole; 6: every finding carries its msgid and
parameters, so a cached record renders in Korean too; 7: each file's size, times and inode; 8: the files found sparse, with their sizes;
9: a finding counting the issues past a reader's cap carries the value slots they name;
10: the quick prints of the files OpenSlide opens besides the slide; 11: a DICOM slide's series and a
Trestle slide's macro image among them: a record of 10 held none, and served by the cache, it left
them unhashed by ``--certify`` and out of the ``--results`` fingerprint; 12: the slide summary
carries its over- and under-stained shares, which ``artefacts.stain`` compares across the batch: a
record of 11, served by the cache, would leave its slide unjudged; 13: the slide summary says where
the resolution the probe used came from, ``mpp_source``: a record of 12 gave the manifest's or
profile's mpp where the probe used the annotation's; 14: the slide summary carries its coloured pen
ink's share, ``colour_pen_share``, which ``artefacts.stain`` reads to leave ink-raised nuclei
densities out: a record of 13, served by the cache, would judge its slide on them; 15: the slide
facts carry a digest of the files beside a DICOM slide that could not be read,
``parts_unread_digest``, which the cache compares with what its key saw: a record of 14 has none to
compare; 15 was never released with another form: its list became this digest the same day; 16: the
slide facts' artefacts carry the colour spread and the largest region off its median colour
(``spread``, ``off_region``), from which ``SLIDE_ONE_COLOUR`` is judged: a record of 15, served
by the cache, would leave a one-colour slide unjudged; 17: the same two fields read each pixel as
its 3 x 3 mean off the image's smooth shade (session 29): a record of 16, served by the cache, would
keep calling a noisy or shaded blank slide a section; 18: they read a blank slide under a sharp
step or a band of light as fields of light, each off its own shade (session 30): a record of 17
would keep calling it a section; 19: a slide spreading under the flat limit reads at least a multiple of its
texture at the tissue scale, a band-pass of its grey (session 31): a record of 18 would keep calling a
faded section one colour)."""


UNSETTLED = "unsettled"
""":attr:`SlideFacts.parts_unread_digest` of a probe whose facts were not settled: the listing of
its DICOM slide's folder failed (EIO, EMFILE...: which files OpenSlide left out is not known), or
its files changed while it was checked (``SLIDE_UNOPENABLE``'s "... while the slide was being
checked"), a state that passes by definition. No :func:`unread_digest` (64 hex digits), so no key
matches it: the result cache never stores such a record (:meth:`dqm.cache.RecordCache.as_keyed`)."""


def unread_digest(unread: Sequence[tuple[str, str]]) -> str:
    """SHA-256 of files beside a DICOM slide that could not be read, (batch path, the system's
    words) sorted: what a record's probe found (:attr:`SlideFacts.parts_unread_digest`) and what the
    result cache's key saw (:meth:`dqm.cache.RecordCache.as_keyed`), compared."""
    return hashlib.sha256(json.dumps(list(unread)).encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True, eq=False)
class LesionOutline:
    """One lesion as read: where it is in the file, its class as written and as resolved, its rings.

    No shapely geometry (it is rebuilt on demand by :meth:`lesion`), so a record pickles as a few
    arrays; no free-text properties.
    """

    index: int
    pointer: str
    raw_class: str | None
    label: str | None
    """The profile class id the raw class resolves to for the item's institution (None: unknown)."""
    polygons: tuple[tuple[Ring, ...], ...]
    """Rings exactly as read (shell then holes, polygon by polygon), level-0 x/y."""
    outline_read: bool = True

    def lesion(self) -> Lesion:
        """The :class:`Lesion` again, geometry rebuilt from the rings (for re-checking)."""
        polygons = [list(poly) for poly in self.polygons]
        return Lesion.build(
            self.index, self.pointer, self.raw_class, self.label, polygons, None, self.outline_read
        )


@dataclass(frozen=True, slots=True, eq=False)
class ParsedAnnotation:
    """The item's annotation as the run parsed it, without the parsed document or its free text."""

    path: str
    format: str
    readable: bool = True
    n_values: int = 0
    width: int | None = None
    height: int | None = None
    mpp: float | None = None
    slide_file: str | None = None
    image_key: str | None = None
    lesions: tuple[LesionOutline, ...] = ()

    @classmethod
    def of(cls, ann: Annotation) -> ParsedAnnotation:
        """What a record keeps of a parsed annotation (the rings are shared, not copied)."""
        return cls(
            path=ann.path,
            format=ann.format,
            readable=ann.readable,
            n_values=ann.n_values,
            width=ann.width,
            height=ann.height,
            mpp=ann.mpp,
            slide_file=ann.slide_file,
            image_key=ann.image_key,
            lesions=tuple(
                LesionOutline(
                    lesion.index,
                    lesion.pointer,
                    lesion.raw_class,
                    lesion.label,
                    tuple(tuple(poly) for poly in lesion.polygons),
                    lesion.outline_read,
                )
                for lesion in ann.lesions
            ),
        )

    def annotation(self) -> Annotation:
        """An :class:`Annotation` for re-checking its lesions (no document, issues or free text)."""
        return Annotation(
            path=self.path,
            format=self.format,
            slide_file=self.slide_file,
            width=self.width,
            height=self.height,
            mpp=self.mpp,
            lesions=[outline.lesion() for outline in self.lesions],
            n_values=self.n_values,
            image_key=self.image_key,
            readable=self.readable,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "readable": self.readable,
            "n_values": self.n_values,
            "width": self.width,
            "height": self.height,
            "mpp": _json_float(self.mpp),
            "slide_file": self.slide_file,
            "image_key": self.image_key,
            "lesions": [
                {
                    "index": o.index,
                    "pointer": o.pointer,
                    "raw_class": o.raw_class,
                    "label": o.label,
                    "polygons": [[_ring_to_json(r) for r in poly] for poly in o.polygons],
                    "outline_read": o.outline_read,
                }
                for o in self.lesions
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ParsedAnnotation:
        lesions = tuple(
            LesionOutline(
                index=int(o["index"]),
                pointer=str(o["pointer"]),
                raw_class=o["raw_class"],
                label=o["label"],
                polygons=tuple(tuple(_ring_from_json(r) for r in poly) for poly in o["polygons"]),
                outline_read=bool(o["outline_read"]),
            )
            for o in data["lesions"]
        )
        fields = {k: data[k] for k in ("path", "format", "readable", "n_values", "width", "height")}
        fields |= {"slide_file": data["slide_file"], "image_key": data["image_key"]}
        return cls(**_typed(cls, fields), mpp=_float_from_json(data["mpp"]), lesions=lesions)


_SCALARS: dict[str, tuple[type, ...]] = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,)}


_SCALAR_FIELDS: dict[str, dict[str, tuple[tuple[type, ...], bool]]] = {}


def _scalar_fields(cls: Any) -> dict[str, tuple[tuple[type, ...], bool]]:
    """The fields of the dataclass ``cls`` typed as a scalar (``int``, ``float | None``...): the
    types a value may have and whether None is one of them (worked out once a class)."""
    if (out := _SCALAR_FIELDS.get(cls.__qualname__)) is None:
        out = _SCALAR_FIELDS[cls.__qualname__] = {}
        for f in dataclasses.fields(cls):
            parts = str(f.type).split(" | ")
            if all(p in _SCALARS or p == "None" for p in parts):
                out[f.name] = (tuple(t for p in parts for t in _SCALARS.get(p, ())), "None" in parts)
    return out


def _typed(cls: Any, fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` of the dataclass ``cls`` as read back from a cache entry, each scalar one checked
    against its type, and every ``n_values`` at least 0. A crafted or corrupt entry holding a
    count of -5 or a width of ``"x"`` passed, to stop the audit with an internal error where the
    value was used (exit 4); it now raises TypeError or ValueError, and the cache ignores the
    entry with a warning (:meth:`dqm.cache.RecordCache.lookup`) and checks the item again."""
    for name, (kinds, optional) in _scalar_fields(cls).items():
        value = fields.get(name)
        if name not in fields or (value is None and optional):
            continue
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise TypeError(
                f"{cls.__name__}.{name} is {type(value).__name__}, not {' or '.join(k.__name__ for k in kinds)}"
            )
    if fields.get("n_values", 0) < 0:
        raise ValueError(f"{cls.__name__}.n_values is negative")
    return fields


def _ring_to_json(ring: Ring) -> dict[str, Any]:
    """A ring as exact plain data: its shape and its float64 bytes (base64, little-endian); NaN and
    infinite vertices survive, which JSON numbers cannot hold."""
    arr = np.ascontiguousarray(ring, dtype="<f8")
    return {"shape": list(arr.shape), "f8": base64.b64encode(arr.tobytes()).decode("ascii")}


def _ring_from_json(data: dict[str, Any]) -> Ring:
    arr = np.frombuffer(base64.b64decode(data["f8"]), dtype="<f8").astype(np.float64)
    return arr.reshape([int(n) for n in data["shape"]])


def _json_float(value: float | None) -> float | str | None:
    """A float JSON can hold: NaN and infinities as their names."""
    return value if value is None or math.isfinite(value) else repr(float(value))


def _float_from_json(value: float | str | None) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True, slots=True)
class ArtefactFacts:
    """What an item record keeps of a slide's artefacts (:mod:`dqm.pixels.artefacts`): each kind's
    share of the tissue and a small flag map for the report's thumbnails (bit ``k`` of a pixel set:
    ``kinds[k]`` there), zlib-compressed and base64-encoded, a few kB at most."""

    shares: dict[str, float]
    pens: dict[str, float]
    """Share of the tissue per pen colour (blue, green, red, black)."""
    kinds: tuple[str, ...]
    map_shape: tuple[int, int]
    map_downsample: tuple[float, float]
    """Level-0 pixels per flag-map pixel (x, y)."""
    map_data: str
    blur_tiles: int = 0
    """Tiles sampled for blur (0: not measured)."""
    blur_note: str = ""
    unmeasured: dict[str, str] = dataclasses.field(default_factory=dict)
    """Kinds not measured on this slide (their share says nothing), each with why: folds at an
    implausible resolution, or one that leaves too few pixels at the fold rules' scale (an older
    record may name a field of view too small, a limit dqm no longer applies)."""
    scale_note: str = ""
    """How the fold rules' scale was set, when the slide's resolution is unknown (or plausible by the
    profile's ``slide.header`` range but coarser than 2 µm per pixel)."""

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out |= {"kinds": list(self.kinds), "map_shape": list(self.map_shape)}
        return out | {"map_downsample": list(self.map_downsample), "unmeasured": dict(self.unmeasured)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArtefactFacts:
        # records written before a field existed keep its default
        fields = {f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data}
        fields["kinds"] = tuple(str(k) for k in data["kinds"])
        fields["map_shape"] = (int(data["map_shape"][0]), int(data["map_shape"][1]))
        fields["map_downsample"] = (float(data["map_downsample"][0]), float(data["map_downsample"][1]))
        return cls(**fields)


@dataclass(frozen=True, slots=True)
class SlideFacts:
    """What the slide probe learned about the item's slide, without its pixels or properties."""

    path: str
    size_bytes: int = 0
    opened: bool = False
    open_error: str | None = None
    backend: str | None = None
    """``openslide`` or ``pillow``."""
    vendor: str | None = None
    width: int | None = None
    height: int | None = None
    level_dimensions: tuple[tuple[int, int], ...] = ()
    level_downsamples: tuple[float, ...] = ()
    mpp_x: float | None = None
    mpp_y: float | None = None
    objective_power: float | None = None
    compression: str | None = None
    container: str | None = None
    associated_images: tuple[str, ...] = ()
    regions_read: int = 0
    read_failure: str | None = None
    """The first region that failed to read, in words."""
    tissue_fraction: float | None = None
    """The share of the slide the tissue mask covers (None: no mask)."""
    artefacts: ArtefactFacts | None = None
    """Artefact shares and their small map (None: not measured)."""
    parts_unread_digest: str | None = None
    """:func:`unread_digest` of the files beside a DICOM slide that could not be read (batch path,
    the system's words: :attr:`dqm.slide_io.SlideProbe.parts_unread`), whatever checks ran; None
    where none counts (the slide's folder not walked for its series, or the slide refused before
    OpenSlide opened it); :data:`UNSETTLED` where the probe's facts were not settled. The result cache stores the record only where its key saw the same
    (:meth:`dqm.cache.RecordCache.as_keyed`). A digest, not the list: 3,000 such files beside a
    slide made each of its folder's cache entries 122 KB (11.5 KB without); the warning made of
    them is a finding of the record already."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {f: getattr(self, f) for f in _SLIDE_FIELDS}
        out["level_dimensions"] = [list(d) for d in self.level_dimensions]
        out["level_downsamples"] = [_json_float(d) for d in self.level_downsamples]
        out["associated_images"] = list(self.associated_images)
        for key in ("mpp_x", "mpp_y", "objective_power", "tissue_fraction"):
            out[key] = _json_float(out[key])
        out["artefacts"] = self.artefacts.to_dict() if self.artefacts is not None else None
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SlideFacts:
        fields = {f: data[f] for f in _SLIDE_FIELDS}
        fields["level_dimensions"] = tuple((int(w), int(h)) for w, h in data["level_dimensions"])
        fields["level_downsamples"] = tuple(float(d) for d in data["level_downsamples"])
        fields["associated_images"] = tuple(data["associated_images"])
        for key in ("mpp_x", "mpp_y", "objective_power", "tissue_fraction"):
            fields[key] = _float_from_json(fields[key])
        if fields["artefacts"] is not None:
            fields["artefacts"] = ArtefactFacts.from_dict(fields["artefacts"])
        return cls(**_typed(cls, fields))


_SLIDE_FIELDS = tuple(f.name for f in dataclasses.fields(SlideFacts))


@dataclass(frozen=True, slots=True)
class ItemRecord:
    """Everything the run learned about one item, as one versioned, serialisable record.

    Built in the worker that read the item's files and sent to the main process (it pickles as
    plain data and arrays: never the parsed document). :meth:`to_dict` / :meth:`from_dict` give
    a JSON-able form carrying :data:`RECORD_VERSION`.
    """

    summary: ItemSummary
    findings: list[Finding]
    n_values: int
    """The item's value slots (the annotation file's), the value-grain denominator."""
    files: list[str]
    """The batch files the item's findings count against (annotation, slide)."""
    clinical_record: dict[str, Any]
    """The clinical record as read: the manifest row (its strings in Unicode NFC) or the annotation's clinical block."""
    record_source: str | None
    """``manifest``, the annotation file's path, or None when the item has no clinical record."""
    fingerprint: str | None = None
    """The slide's quick print (size, first and last MiB)."""
    annotation_sha256: str | None = None
    unreadable: bool = False
    """The annotation file could not be read or parsed: its one value slot is inaccurate."""
    annotation: ParsedAnnotation | None = None
    """The annotation the run picked for this item and checked (None: no annotation file read)."""
    slide: SlideFacts | None = None
    """The slide probe's facts (None: the slide was not opened)."""
    sha256: dict[str, str] = dataclasses.field(default_factory=dict)
    """Full SHA-256 of the item's files that were hashed whole (batch path -> hex): those a
    checksum list names, and every one with ``--full-hashes``."""
    stats: dict[str, list[int]] = dataclasses.field(default_factory=dict)
    """Each file the item's work read (batch path -> size, modification and change time in ns,
    inode), taken before reading it: a file that still has them need not be read to be known
    unchanged (``--results``, :func:`dqm.syntactic.accuracy.batch_fingerprint`)."""
    sparse: dict[str, tuple[int, int]] = dataclasses.field(default_factory=dict)
    """The item's files found sparse (batch path -> apparent and allocated bytes,
    :mod:`dqm.sparse_files`): not read whole, each reported ``FILE_SPARSE``."""
    parts: dict[str, str] = dataclasses.field(default_factory=dict)
    """The quick print of each file OpenSlide opens besides the slide (batch path -> print:
    :func:`dqm.slide_refs.slide_parts`, a MIRAX slide's folder, a VMS key file's images, the other
    files of a DICOM slide's series, a Trestle slide's macro image); their
    stats are in :attr:`stats`, their full SHA-256 in :attr:`sha256` when hashed whole."""
    version: int = RECORD_VERSION

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-able plain data."""
        return {
            "version": self.version,
            "summary": self.summary.model_dump(mode="json"),
            "findings": [f.model_dump(mode="json") for f in self.findings],
            "n_values": self.n_values,
            "files": list(self.files),
            "clinical_record": self.clinical_record,
            "record_source": self.record_source,
            "fingerprint": self.fingerprint,
            "annotation_sha256": self.annotation_sha256,
            "unreadable": self.unreadable,
            "annotation": self.annotation.to_dict() if self.annotation is not None else None,
            "slide": self.slide.to_dict() if self.slide is not None else None,
            "sha256": sorted(self.sha256.items()),  # pairs, not an object: a cache restores values, not keys
            "stats": sorted(self.stats.items()),
            "sparse": sorted([path, list(sizes)] for path, sizes in self.sparse.items()),
            "parts": sorted(self.parts.items()),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ItemRecord:
        """A record from :meth:`to_dict`'s output.

        Raises
        ------
        ValueError
            When the data is of another :data:`RECORD_VERSION` (a cache entry written by another
            dqm) or not a record.
        """
        version = data.get("version") if isinstance(data, dict) else None
        if version != RECORD_VERSION:
            raise ValueError(f"item record version {version!r}, this dqm reads version {RECORD_VERSION}")
        ann, slide = data["annotation"], data["slide"]
        scalars = _typed(cls, {k: data[k] for k in _scalar_fields(cls)})
        return cls(
            summary=ItemSummary.model_validate(data["summary"]),
            findings=[Finding.model_validate(f) for f in data["findings"]],
            files=[str(p) for p in data["files"]],
            clinical_record=dict(data["clinical_record"]),
            **scalars,
            annotation=ParsedAnnotation.from_dict(ann) if ann is not None else None,
            slide=SlideFacts.from_dict(slide) if slide is not None else None,
            sha256={str(path): str(digest) for path, digest in data["sha256"]},
            stats={str(path): [int(n) for n in stat] for path, stat in data["stats"]},
            sparse={str(path): (int(a), int(b)) for path, (a, b) in data["sparse"]},
            parts={str(path): str(quick) for path, quick in data["parts"]},
        )
