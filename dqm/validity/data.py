"""The data of a validity run: usable slides, pixels at the working resolution, masks, tile centres.

Everything here is numpy, Pillow and OpenSlide: no torch. Coordinates follow :mod:`dqm.coords`:
annotations are level-0 ``(x, y)``; rasters are ``(row, col)`` at the working resolution, whose
downsample from level 0 is ``ds = resolution_um / mpp``. A working pixel ``(r, c)`` covers level-0
``x`` in ``[c * ds, (c + 1) * ds)``; masks label a pixel by the lesion that contains its centre
(exact scanline fill, no drawing library's boundary rounding).

Overlap rule: lesions are painted largest first, so where outlines of different classes overlap
the smaller lesion's class wins (a lesion drawn inside another stays visible). Holes are not part
of their lesion: a hole shows whatever lies beneath it (background, or a larger lesion).
"""

from __future__ import annotations

import contextlib
import resource
import threading
import weakref
from collections import OrderedDict, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from shapely.geometry.base import BaseGeometry

from dqm.batch import normalise
from dqm.coords import Frame
from dqm.i18n import N_, msg
from dqm.profile import Profile
from dqm.raster import label_layers, most_crossed, painting_order, rasterise
from dqm.runner import Run
from dqm.slide_io import (
    NotAudited,
    NotChecked,
    NotOpened,
    Opened,
    Recorded,
    open_checked,
    plain_file,
    recorded_of,
)
from dqm.slide_refs import refused_file, unturned

WHITE = (255, 255, 255)
LEVEL_TOLERANCE = 1.01
"""A pyramid level whose downsample is within 1 % above the wanted one still counts as at or below it
(generic TIFF levels have downsamples such as 4.007 for a nominal 4)."""
TISSUE_MIN_CHROMA = 15
TISSUE_MAX_MEAN = 235
MAX_CENTRES = 20_000
MAX_DECODED_PIXELS = 64_000_000
"""The most pixels a plain image (PNG, JPEG, a TIFF without a pyramid: what Pillow reads) is decoded
with in a validity run: Pillow decodes one whole, JPEG at 1/2, 1/4 or 1/8 where the working
resolution allows (``draft``), PNG always at full size. 64 M pixels (8,000 x 8,000) is 183 MiB as
RGB, within a reader's 512 MiB cache with a conversion's copy beside it, 158 times a GlaS image
(775 x 522) and below Pillow's own warning (89.5 M): a segmentation dataset of plain images (crops,
regions of interest) stays well under it. A larger one is left out before any pixel is decoded
(``PLAIN_IMAGE_TOO_LARGE``): a pyramidal TIFF of it is read by region instead. Stricter than the
probe's :func:`dqm.slide_io.plain_too_large`, which bounds one decode of the audit: a run's
DataLoader workers each keep their slides' decoded images. Pillow's own limit (178 M pixels, where
it refuses) let a 13,000 x 13,000 PNG be decoded whole: 975 MiB of peak RSS."""


@dataclass(frozen=True, slots=True)
class Excluded:
    """A slide the validity run left out, and why."""

    slide_id: str
    reason: str
    codes: tuple[str, ...] = ()


@dataclass(slots=True)
class SlideRecord:
    """One usable slide: its image, its lesions (class index + geometry) and its grouping keys."""

    slide_id: str
    path: Path
    mpp: float
    width: int
    height: int
    lesions: list[tuple[int, BaseGeometry]]
    """``(label, geometry)`` in painting order (largest first); label k is class ``classes[k - 1]``."""
    diagnosis: str | None
    institution: str | None
    patient: str
    """``patient_id`` from the clinical record, else the slide id (its own group)."""
    split_value: str | None = None
    """The slide's value of the split column (``split: {mode: column}``), else None."""
    root: Path | None = None
    """The batch folder: the files OpenSlide opens besides the slide must be inside it
    (:class:`SlideReader`); None: the slide's own folder."""
    first: Opened | None = None
    """What the run's first open of the slide took (its index pass, :attr:`SlideReader.first`):
    every reader made of the record after, the training loader's workers' included, checks its
    opens against it; None: the reader's own first open takes it."""
    recorded: Recorded | None = None
    """What the audit recorded of the slide's files (its item record: the probe's stat and quick
    print of the slide and of each file OpenSlide opens besides it), which the index pass's open is
    checked against (:func:`~dqm.slide_io.open_checked`): a slide swapped since the audit
    (``--results``) is left out, never trained on; None: not checked (no record)."""

    @property
    def group(self) -> str:
        return self.patient

    def downsample(self, resolution_um: float) -> float:
        return resolution_um / self.mpp

    def size_at(self, resolution_um: float) -> tuple[int, int]:
        """``(rows, cols)`` of the whole slide at ``resolution_um``."""
        ds = self.downsample(resolution_um)
        return max(1, int(self.height / ds)), max(1, int(self.width / ds))


def select_slides(
    run: Run, profile: Profile, split_column: str | None = None
) -> tuple[list[SlideRecord], list[Excluded]]:
    """The slides a model may learn from: no syntactic error, readable, resolution known.

    Every other slide is returned as :class:`Excluded` with its reason (the error codes found).
    With ``split_column``, each record carries its value of that clinical field.
    """
    class_index = {cid: k + 1 for k, cid in enumerate(profile.class_ids)}
    errors: dict[str, set[str]] = defaultdict(set)
    for f in run.findings:
        if f.severity.value == "error":
            errors[f.item_id].add(f.code)
    usable: list[SlideRecord] = []
    excluded: list[Excluded] = []
    seen: set[str] = set()
    clinical = run.outcomes.clinical_records()
    for k, s in enumerate(run.outcomes.summaries()):
        sid = s.slide_id
        if sid in errors:
            codes = tuple(sorted(errors[sid]))
            excluded.append(Excluded(sid, msg("syntactic errors: {codes}", codes=", ".join(codes)), codes))
            continue
        if sid in seen:
            excluded.append(Excluded(sid, N_("slide id seen twice"), ("DUPLICATE_SLIDE_ID",)))
            continue
        if s.image_path is None or s.annotation_path is None or s.slide is None:
            excluded.append(Excluded(sid, N_("no readable slide and annotation pair"), ("NOT_PAIRED",)))
            continue
        mpp = s.slide.mpp
        record = run.record(k)
        parsed = record.annotation  # as the run parsed and checked it: the file is not read again
        ann = parsed.annotation() if parsed is not None else None
        if ann is None or not ann.readable:
            excluded.append(
                Excluded(sid, N_("annotation unreadable at validity time"), ("ANNOTATION_UNREADABLE",))
            )
            continue
        # the run's decision (dqm.probe_mpp's rule, judged on the size the probe read): the header's,
        # else the annotation's where plausible and it fits the image, else the manifest's or the
        # profile's; an annotation's value the run did not take is not taken here either
        if not mpp or not s.slide.width or not s.slide.height:
            excluded.append(Excluded(sid, N_("resolution (mpp) unknown"), ("MPP_MISSING",)))
            continue
        lesions = label_layers(ann, class_index)
        crossed = most_crossed([geom for _, geom in lesions])
        if crossed > profile.limits.row_crossings:
            painted = painting_order(ann, class_index)
            alone = [most_crossed([les.geometry]) for les in painted]  # type: ignore[list-item]
            worst = int(np.argmax(alone))
            said = msg(
                "its outlines cross one row {n:,} times, over limits.row_crossings ({limit:,}); "
                "lesion {lesion} alone crosses one row {most:,} times: each training tile's label mask "
                "would take seconds",
                n=crossed,
                limit=profile.limits.row_crossings,
                lesion=painted[worst].pointer,
                most=alone[worst],
            )
            excluded.append(Excluded(sid, said, ("ROW_CROSSINGS",)))
            continue
        seen.add(sid)
        patient = clinical[k].get("patient_id")
        patient = patient.strip() if isinstance(patient, str) and patient.strip() else sid
        split_value = clinical[k].get(split_column) if split_column else None
        usable.append(
            SlideRecord(
                slide_id=sid,
                path=run.root / s.image_path,
                mpp=float(mpp),
                width=int(s.slide.width),
                height=int(s.slide.height),
                lesions=lesions,
                diagnosis=s.diagnosis if s.diagnosis in class_index else None,
                institution=s.institution,
                patient=patient,
                split_value=str(split_value).strip() if split_value is not None else None,
                root=run.root,
                recorded=recorded_of(
                    normalise(s.image_path)[0], record.fingerprint, record.stats, record.parts
                ),
            )
        )
    return usable, excluded


class SlideRefused(OSError):
    """A slide :class:`SlideReader` does not open: OpenSlide would open a file outside the batch or
    a special file besides it (:func:`dqm.slide_refs.not_to_open`), or it is no regular file itself
    (``SLIDE_REFERENCE_REFUSED``); or a whole-slide image whose files changed while it was read
    (``SLIDE_UNREADABLE``); or a plain image with more than :data:`MAX_DECODED_PIXELS` to
    decode, or of another size than the audit recorded (``PLAIN_IMAGE_TOO_LARGE``,
    ``PLAIN_IMAGE_CHANGED``). ``why``: the reason, a message to translate; ``code``: its code."""

    def __init__(self, why: str, code: str = "SLIDE_REFERENCE_REFUSED") -> None:
        super().__init__(why)
        self.why = why
        self.code = code


DECODED_CACHE_BYTES = 512 << 20
"""What a :class:`SlideReader` made alone (not given a :class:`DecodedCache`) keeps decoded."""


class DecodedCache:
    """The decoded plain images one process keeps for every slide it reads, least recently used
    out first, up to ``budget`` bytes in all (an image larger than that is not kept: its reader
    decodes it again for each read, unless ``hold_larger``).

    One per process, shared by its slides' readers: each reader kept its own 512 MiB, so a process
    reading 100 plain images could hold 100 of them, and each DataLoader worker as many again. A
    :class:`TileReader` is given its process's share of the run's budget
    (:func:`decoded_cache_share`). Pickled (to a worker) as its budget alone, empty.

    ``hold_larger``: the cache of a process whose readers read one slide at a time, each closed
    before the next is opened (the run's own, :func:`~dqm.validity.run.run_cache`: index, predict,
    draw; a :class:`TileReader`'s while it reads a batch slide by slide, :meth:`TileReader.read_ahead`).
    It holds the last image larger than the budget beside the images kept, until its reader is
    closed (:meth:`discard`), another image is decoded or :meth:`let_go`: predicting a slide reads
    it block by block, and an image over the share was decoded again for each block (an 8,000 x
    8,000 PNG on a 128 MiB share, in blocks of 1,024: 64 decodes of 183 MiB for one slide). What
    the process holds is what a read of that image held already (the budget, and the one image
    being read, at most :data:`MAX_DECODED_PIXELS`), now for the slide's reads instead of for
    each. :attr:`decodes` counts the images decoded (put)."""

    def __init__(self, budget: int, hold_larger: bool = False) -> None:
        self.budget = budget
        self.hold_larger = hold_larger
        self._images: OrderedDict[tuple[Path, float], np.ndarray] = OrderedDict()
        self._held: tuple[tuple[Path, float], np.ndarray] | None = None
        self.nbytes = 0
        self.decodes = 0
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"budget": self.budget, "hold_larger": self.hold_larger}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["budget"], state.get("hold_larger", False))  # type: ignore[misc]

    def get(self, path: Path, ds: float) -> np.ndarray | None:
        """The image kept for ``path`` at ``ds``, else None: its reader decodes it, and the image
        held (``hold_larger``) is let go first (never two such images at once)."""
        with self._lock:
            if self._held is not None and self._held[0] == (path, ds):
                return self._held[1]
            image = self._images.get((path, ds))
            if image is not None:
                self._images.move_to_end((path, ds))
            else:
                self._held = None
            return image

    def put(self, path: Path, ds: float, image: np.ndarray) -> None:
        """Keep ``image``, the least recently used ones forgotten to stay within the budget; one
        larger than the budget is not kept (its reader decodes it again for its next read), but
        held, alone, where the cache ``hold_larger``."""
        with self._lock:
            self.decodes += 1
            old = self._images.pop((path, ds), None)
            self.nbytes -= 0 if old is None else old.nbytes
            if image.nbytes > self.budget:
                if self.hold_larger:
                    self._held = ((path, ds), image)
                return
            self.nbytes += image.nbytes
            self._images[(path, ds)] = image
            while self.nbytes > self.budget:
                self.nbytes -= self._images.popitem(last=False)[1].nbytes

    def let_go(self) -> None:
        """Let the image held (``hold_larger``) go."""
        with self._lock:
            self._held = None

    def discard(self, path: Path) -> None:
        """Forget every image of ``path``."""
        with self._lock:
            for key in [k for k in self._images if k[0] == path]:
                self.nbytes -= self._images.pop(key).nbytes
            if self._held is not None and self._held[0][0] == path:
                self._held = None


def decoded_cache_share(budget_mib: int, loader_workers: int, processes: int = 1) -> int:
    """The bytes of decoded images each process that reads training tiles keeps: the run's
    ``budget_mib`` split among them (each DataLoader worker of each training process, or each
    training process itself when it has no workers)."""
    return (budget_mib << 20) // (max(1, loader_workers) * max(1, processes))


MAX_OPEN_SLIDES = 256
"""The most slides a process's :class:`SlideReader` objects keep open at once, and at most a
quarter of its descriptors (``RLIMIT_NOFILE``, :func:`open_slides_cap`): each holds the
descriptor its checks read (OpenSlide reads a single TIFF through it). A training run's readers,
one a slide in each DataLoader worker, kept them all: at ``ulimit -n 256``, 300 slides gave 51
reads refused for want of a descriptor (white tiles flagged unreadable). The least recently read
slide is closed instead, and opened again, against its first open, when next read."""


def open_slides_cap() -> int:
    """:data:`MAX_OPEN_SLIDES`, or a quarter of the process's soft ``RLIMIT_NOFILE`` where lower
    (at least 8)."""
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return MAX_OPEN_SLIDES
    return max(8, min(MAX_OPEN_SLIDES, soft // 4))


_open_readers: OrderedDict[int, weakref.ref[SlideReader]] = OrderedDict()
"""The readers holding a slide open in this process, least recently read first (by ``id``)."""
_open_readers_lock = threading.Lock()


class SlideReader:
    """Pixels of one slide on a working-resolution grid (OpenSlide pyramids, else Pillow).

    ``read(row0, col0, rows, cols, ds)`` returns the ``(rows, cols, 3)`` uint8 region whose pixel
    ``(r, c)`` covers level-0 ``x`` from ``(col0 + c) * ds``. OpenSlide reads the level at or below
    ``ds`` and resizes; a plain image is decoded once per downsample and kept in ``cache`` (the
    process's :class:`DecodedCache`, shared with the other slides' readers), or, given none, in a
    cache of its own of ``cache_bytes``. Outside the slide is white. Picklable: handles open lazily
    in each process.

    Each open first asks :func:`~dqm.slide_refs.not_to_open` about the slide in the batch folder
    ``root`` (None: the slide's own folder), as the probe does, and raises :class:`SlideRefused`
    for a slide it refuses: the audit's probe saw the batch as it was, and a run that reuses its
    records (``--results``) reads the slides later, when a file a VMS names may have become a
    link out of the batch or a FIFO, which OpenSlide would follow or wait on for ever. OpenSlide
    opens it as the probe does (:func:`~dqm.slide_io.open_checked`: one TIFF through the
    descriptor the checks read), and a region read from files that are not those taken at the
    open (:meth:`~dqm.slide_io.CheckedSlide.changed`: a VMS's JPEG or a MIRAX data file replaced
    since) raises :class:`SlideRefused` (``SLIDE_UNREADABLE``) instead of being trained on. What
    the first open took (``first``, given: the run's index pass's, :attr:`SlideRecord.first`) is
    kept for the reader's life (pickled with it): a slide opened again, after a failed or refused
    read or after being closed to spare descriptors (:data:`MAX_OPEN_SLIDES`), is checked against
    it, never taken afresh, so a scan swapped in is refused on every read that follows, not
    trained on from the second. ``recorded``: what the audit recorded of the slide's files
    (:attr:`SlideRecord.recorded`), which a first open (``first`` None) is checked against: a
    slide swapped since the audit is refused (``SLIDE_UNREADABLE``, the reason naming the file).
    A plain image is opened through a descriptor checked against the first open too
    (:func:`~dqm.slide_io.plain_file`), never by its batch path.
    """

    def __init__(
        self,
        path: Path,
        cache_bytes: int = DECODED_CACHE_BYTES,
        root: Path | None = None,
        cache: DecodedCache | None = None,
        first: Opened | None = None,
        recorded: Recorded | None = None,
    ) -> None:
        self.path = Path(path)
        self.root = Path(root) if root is not None else self.path.parent
        self.cache = cache if cache is not None else DecodedCache(cache_bytes)
        self._slide: Any = None
        self._backend: str | None = None
        self._first = first
        self._recorded = recorded
        self._lock = threading.Lock()

    @property
    def first(self) -> Opened | None:
        """What the slide's first open took (given, or this reader's own first open; None: not
        opened yet): each open after is checked against it."""
        return self._first

    def __getstate__(self) -> dict[str, Any]:
        # the cache pickled with the readers that share it stays shared (pickle keeps one object)
        return {
            "path": self.path,
            "root": self.root,
            "cache": self.cache,
            "first": self._first,
            "recorded": self._recorded,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(  # type: ignore[misc]
            state["path"],
            root=state["root"],
            cache=state["cache"],
            first=state.get("first"),
            recorded=state.get("recorded"),
        )

    def _open(self) -> None:
        if self._backend is not None:
            return
        import openslide

        why = refused_file(self.path, self.root)
        if why is not None:
            raise SlideRefused(why)
        try:  # as the probe opens it (not_to_open first), each read checked after (_read_openslide)
            self._slide = open_checked(self.path, self.root, first=self._first, recorded=self._recorded)
            self._backend = "openslide"
        except NotOpened as exc:
            # a reopen refused for files not as first opened, or files not the audit's: a read's
            # refusal; not checked just now (EIO, EMFILE... listing its folder): a failed read, not
            # a file refused for what it names
            changed = self._first is not None or isinstance(exc, (NotAudited, NotChecked))
            raise SlideRefused(
                exc.why, "SLIDE_UNREADABLE" if changed else "SLIDE_REFERENCE_REFUSED"
            ) from None
        except openslide.OpenSlideUnsupportedFormatError as exc:
            self._backend = "pillow"
            # what the open took: Pillow's opens of the image are checked against it (plain_file)
            self._first = self._first or getattr(exc, "opened", None)
            return
        self._first = self._slide.opened
        self._keep_open()

    def _keep_open(self) -> None:
        """Count this reader's open slide among the process's, and close the least recently read
        others past :func:`open_slides_cap` (one being read is passed over: never waited on)."""
        with _open_readers_lock:
            _open_readers[id(self)] = weakref.ref(self)
            _open_readers.move_to_end(id(self))
            cap = open_slides_cap()
            for key in list(_open_readers):
                if len(_open_readers) <= cap or key == id(self):
                    break
                other = _open_readers[key]()
                if other is None:
                    del _open_readers[key]
                elif other._lock.acquire(blocking=False):
                    try:
                        other._release()
                    finally:
                        other._lock.release()

    def _release(self) -> None:
        """Close the OpenSlide slide (and its descriptor), keeping what its first open took; called
        with :data:`_open_readers_lock` held."""
        _open_readers.pop(id(self), None)
        if self._slide is not None:
            self._slide.close()
        self._slide, self._backend = None, None

    def close(self) -> None:
        with _open_readers_lock:
            self._release()
        self.cache.discard(self.path)

    def read(self, row0: int, col0: int, rows: int, cols: int, ds: float) -> np.ndarray:
        with self._lock:
            self._open()
            if self._backend == "openslide":
                with _open_readers_lock:
                    if id(self) in _open_readers:
                        _open_readers.move_to_end(id(self))
            try:
                if self._backend == "openslide":
                    return self._read_openslide(row0, col0, rows, cols, ds)
                return self._read_plain(row0, col0, rows, cols, ds)
            except Exception:
                # OpenSlide stays in an error state after a failed read: reopen on the next one,
                # so only the regions that touch the damage fail.
                self.close()
                raise

    def _read_openslide(self, row0: int, col0: int, rows: int, cols: int, ds: float) -> np.ndarray:
        checked, slide = self._slide, self._slide.slide
        downs = slide.level_downsamples
        level = max((i for i, d in enumerate(downs) if d <= ds * LEVEL_TOLERANCE), default=0)
        scale = ds / downs[level]
        size = (max(1, round(cols * scale)), max(1, round(rows * scale)))
        region = slide.read_region((round(col0 * ds), round(row0 * ds)), level, size)
        try:
            changed = checked.changed()
        except NotChecked as exc:  # EIO, EMFILE... listing its folder again: a read that failed now
            raise SlideRefused(exc.why, "SLIDE_UNREADABLE") from None
        if changed is not None:  # another file's pixels: not trained on (read() closes the slide)
            raise SlideRefused(changed, "SLIDE_UNREADABLE")
        rgb = Image.new("RGB", size, WHITE)
        rgb.paste(region, mask=region.getchannel("A"))
        if size != (cols, rows):
            rgb = rgb.resize((cols, rows), Image.Resampling.BILINEAR)
        return np.asarray(rgb)

    def check(self, ds: float, size: tuple[int, int]) -> int:
        """Raise :class:`SlideRefused` when this slide is a plain image that is not read at
        downsample ``ds``: more than :data:`MAX_DECODED_PIXELS` to decode there, or not of ``size``
        (``(width, height)``, what the audit recorded, which the masks are drawn on: an image of
        another size would be trained on under labels that do not fit it). Reads its header only;
        a slide OpenSlide reads is read by region, and passes. Returns the bytes a plain image
        decoded at ``ds`` takes in a :class:`DecodedCache` (0 for a slide OpenSlide reads)."""
        with self._lock:
            self._open()
            if self._backend != "pillow":
                return 0
            with self._plain_image() as img:
                if img.size != tuple(size):
                    why = msg(
                        "the image is {width}x{height} px, the audit recorded {recorded}: changed since "
                        "the audit? Its outlines would not fit it",
                        width=img.size[0],
                        height=img.size[1],
                        recorded="x".join(map(str, size)),
                    )
                    raise SlideRefused(why, "PLAIN_IMAGE_CHANGED")
                width, height = self._drafted(img, ds)
            return width * height * 3  # RGB, as _plain_at keeps it

    @contextlib.contextmanager
    def _plain_image(self) -> Iterator[Image.Image]:
        """The plain image, its header read (no pixel decoded yet), to be decoded within the block:
        Pillow reads it from the file first opened (:func:`~dqm.slide_io.plain_file`), held until
        the block ends. One past Pillow's own limit (which it refuses as a decompression bomb) is
        refused as too large."""
        with contextlib.ExitStack() as held:
            try:
                # the file first opened, held until the image is decoded
                fh = held.enter_context(plain_file(self.path, self.root, self._first))
                try:
                    img = unturned(held.enter_context(Image.open(fh)))  # as stored, as its mask
                except OSError as exc:  # named by the slide's path, not the file object
                    said = str(exc).replace(repr(fh), repr(str(self.path)))
                    raise type(exc)(said) from None
            except NotOpened as exc:
                raise SlideRefused(exc.why, "SLIDE_UNREADABLE") from None
            except Image.DecompressionBombError as exc:
                raise SlideRefused(_too_many_pixels(str(exc)), "PLAIN_IMAGE_TOO_LARGE") from None
            yield img

    @staticmethod
    def _drafted(img: Image.Image, ds: float) -> tuple[int, int]:
        """Set ``img`` to decode at the smallest scale JPEG offers that still covers downsample
        ``ds`` (other formats: full size), and return the size wanted at ``ds``; raise
        :class:`SlideRefused` when that decode has more than :data:`MAX_DECODED_PIXELS`."""
        w, h = img.size
        target = (max(1, int(w / ds)), max(1, int(h / ds)))
        img.draft("RGB", target)
        if img.size[0] * img.size[1] > MAX_DECODED_PIXELS:
            decoded = msg(
                "{width}x{height} px to decode, over {limit:,} pixels",
                width=img.size[0],
                height=img.size[1],
                limit=MAX_DECODED_PIXELS,
            )
            raise SlideRefused(_too_many_pixels(decoded), "PLAIN_IMAGE_TOO_LARGE")
        return target

    def _plain_at(self, ds: float) -> np.ndarray:
        kept = self.cache.get(self.path, ds)
        if kept is not None:
            return kept
        with self._plain_image() as img:
            target = self._drafted(img, ds)
            # convert() copies even an RGB image: a second full-size decode (4 bytes a pixel)
            rgb = img if img.mode == "RGB" else img.convert("RGB")
            if rgb.size != target:
                rgb = rgb.resize(target, Image.Resampling.BILINEAR)
            arr = np.asarray(rgb)
        self.cache.put(self.path, ds, arr)
        return arr

    def _read_plain(self, row0: int, col0: int, rows: int, cols: int, ds: float) -> np.ndarray:
        full = self._plain_at(ds)
        out = np.full((rows, cols, 3), 255, dtype=np.uint8)
        r0, c0 = max(row0, 0), max(col0, 0)
        r1, c1 = min(row0 + rows, full.shape[0]), min(col0 + cols, full.shape[1])
        if r1 > r0 and c1 > c0:
            out[r0 - row0 : r1 - row0, c0 - col0 : c1 - col0] = full[r0:r1, c0:c1]
        return out


def _too_many_pixels(reason: str) -> str:
    return msg(
        "plain image too large to decode ({reason}): Pillow decodes it whole; a tiled pyramidal TIFF "
        "of it is read by region",
        reason=reason,
    )


def tissue_mask(rgb: np.ndarray) -> np.ndarray:
    """Tissue pixels: coloured (RGB max - min >= 15) and not near-white (mean < 235).

    Glass is bright and grey on every scanner; stained tissue is not. Dark pen marks count as
    tissue here; that only widens where background tiles may be centred.
    """
    arr = rgb.astype(np.int16)
    chroma = arr.max(axis=-1) - arr.min(axis=-1)
    return (chroma >= TISSUE_MIN_CHROMA) & (arr.mean(axis=-1) < TISSUE_MAX_MEAN)


@dataclass(slots=True)
class SlideIndex:
    """Where tiles of each label may be centred on one slide, on a grid of ``cell`` working pixels."""

    rows: int
    cols: int
    cell: int
    centres: dict[int, np.ndarray] = field(default_factory=dict)
    """label -> ``(N, 2)`` int32 working-pixel ``(row, col)`` cell corners; 0 is lesion-free tissue."""


def index_slide(
    record: SlideRecord,
    reader: SlideReader,
    resolution_um: float,
    cell: int,
    rng: np.random.Generator,
) -> SlideIndex:
    """Tissue and class maps at ``cell`` times coarser than the working grid, as tile centres."""
    ds = record.downsample(resolution_um)
    rows, cols = record.size_at(resolution_um)
    crow, ccol = max(1, rows // cell), max(1, cols // cell)
    rgb = reader.read(0, 0, crow, ccol, ds * cell)
    labels = rasterise(record.lesions, Frame(downsample=ds * cell), (crow, ccol))
    tissue = tissue_mask(rgb) | (labels > 0)
    index = SlideIndex(rows, cols, cell)
    for label in np.unique(labels[tissue]):
        where = np.argwhere(tissue & (labels == label)).astype(np.int32)
        if len(where) > MAX_CENTRES:
            where = where[np.sort(rng.choice(len(where), MAX_CENTRES, replace=False))]
        index.centres[int(label)] = where * cell
    return index


def epoch_samples(
    indices: Sequence[SlideIndex],
    slides: Sequence[int],
    n: int,
    tile: int,
    background_share: float,
    rng: np.random.Generator,
) -> list[dict[str, int]]:
    """``n`` tile origins over ``slides``, balanced across labels (``label``: the one drawn).

    Each tile first draws a label (lesion-free tissue with probability ``background_share``, else
    one of the lesion labels present in ``slides``, uniformly), then a slide holding it, then a
    grid cell of that label on the slide, then a centre inside the cell.
    """
    holders: dict[int, list[int]] = defaultdict(list)
    for s in slides:
        for label, where in indices[s].centres.items():
            if len(where):
                holders[label].append(s)
    lesion_labels = sorted(k for k in holders if k > 0)
    if not holders:
        return []
    out = []
    for _ in range(n):
        if 0 in holders and (not lesion_labels or rng.random() < background_share):
            label = 0
        else:
            label = lesion_labels[int(rng.integers(len(lesion_labels)))]
        s = holders[label][int(rng.integers(len(holders[label])))]
        idx = indices[s]
        cells = idx.centres[label]
        r, c = cells[int(rng.integers(len(cells)))]
        cr, cc = r + int(rng.integers(idx.cell)), c + int(rng.integers(idx.cell))
        out.append(
            {"slide": int(s), "row0": int(cr - tile // 2), "col0": int(cc - tile // 2), "label": int(label)}
        )
    return out


class TileReader:
    """Reads a sampled tile: ``{"slide", "row0", "col0"}`` -> image ``(3, T, T)`` uint8, label
    ``(1, T, T)``, and ``slide`` and ``unreadable`` (1 when the tile could not be read, else 0).

    A region that cannot be read (a corrupt tile deep in a slide that passed the header probe)
    must not stop training: it is replaced by a white, all-background tile and flagged. The flag
    travels with the sample, so the training process counts failures whichever process read the
    tile (DataLoader workers included: a count kept here would stay in the worker). The same
    slide, if held out, fails its whole-slide prediction and is left out with that reason.

    :meth:`read_ahead` reads a batch's tiles slide by slide before the batch is made up, each
    plain image larger than the process's share decoded once for the batch (not once a tile).
    """

    def __init__(
        self,
        records: Sequence[SlideRecord],
        resolution_um: float,
        tile: int,
        cache_bytes: int = DECODED_CACHE_BYTES,
    ) -> None:
        self.records = list(records)
        self.cache = DecodedCache(cache_bytes)  # this process's share of the run's (a worker's: its own)
        # each checked against the index pass's open (SlideRecord.first): a DataLoader worker's copy,
        # made afresh each epoch, would otherwise take whatever scan it finds then as its baseline
        self.readers = [
            SlideReader(r.path, root=r.root, cache=self.cache, first=r.first) for r in self.records
        ]
        self.resolution_um = resolution_um
        self.tile = tile
        self._ahead: dict[tuple[int, int, int], list[dict[str, Any]]] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_ahead"] = {}
        return state

    def read_ahead(self, samples: Sequence[dict[str, int]]) -> None:
        """Read the tiles of ``samples`` (a batch) now, slide by slide, for the calls that follow
        (each tile once; :meth:`forget_ahead` drops what is left). Tiles are sampled over every
        slide in turn, so an image larger than the share, which the cache does not keep, was
        decoded whole again for each of its tiles: here the cache holds it while its tiles are
        read (``hold_larger``), at most one such image at a time (what one read held already),
        and lets it go after the batch. The tiles are the same, read in another order."""
        order = sorted(range(len(samples)), key=lambda i: samples[i]["slide"])
        self.cache.hold_larger = True
        try:
            for i in order:
                s = samples[i]
                self._ahead.setdefault((s["slide"], s["row0"], s["col0"]), []).append(self._read(s))
        finally:
            self.cache.hold_larger = False
            self.cache.let_go()

    def forget_ahead(self) -> None:
        self._ahead.clear()

    def __call__(self, sample: dict[str, int]) -> dict[str, Any]:
        ahead = self._ahead.get((sample["slide"], sample["row0"], sample["col0"]))
        if ahead:
            return ahead.pop()
        return self._read(sample)

    def _read(self, sample: dict[str, int]) -> dict[str, Any]:
        rec = self.records[sample["slide"]]
        ds = rec.downsample(self.resolution_um)
        r0, c0, t = sample["row0"], sample["col0"], self.tile
        unreadable = 0
        try:
            rgb = self.readers[sample["slide"]].read(r0, c0, t, t, ds)
            label = rasterise(rec.lesions, Frame(c0 * ds, r0 * ds, ds), (t, t))
        except Exception:  # flagged and substituted: see the class docstring
            unreadable = 1
            rgb = np.full((t, t, 3), 255, dtype=np.uint8)
            label = np.zeros((t, t), dtype=np.uint8)
        return {
            "image": np.ascontiguousarray(rgb.transpose(2, 0, 1)),
            "label": label[None],
            "slide": sample["slide"],
            "unreadable": unreadable,
        }
