"""Deep Zoom tiles made on the fly from the sample's slides, inside the batch jail.

A :class:`TileSource` knows only the slides of the sample, by their position in the plan: a
request names a number, never a path. Each path is resolved with :func:`dqm.batch.jailed` (no
``..``, no link that leaves the batch, no special file) when it is first opened. Whole-slide
images open through OpenSlide, plain PNG / JPEG / TIFF images through ``openslide.ImageSlide``
(bounded in pixels before anything is decoded). Only the main pyramid is tiled: associated
images (label, macro, thumbnail) are never read, and no route names them.

Open slides sit in a least-recently-used cache shared by the server's worker threads; a slide
pushed out of it is closed when the last request using it is done. Encoded tiles sit in a second
cache bounded in bytes, so a reviewer going back and forth does not re-encode.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from dqm.batch import jailed
from dqm.coords import MAX_MPP, MIN_MPP
from dqm.findings import clip
from dqm.i18n import N_, msg

if TYPE_CHECKING:
    from dqm.semantic.models import RecordedFile, SlideFiles
    from dqm.slide_io import CheckedSlide, Opened, Recorded

TILE_SIZE = 254
OVERLAP = 1
JPEG_QUALITY = 80
MAX_OPEN = 8
TILE_CACHE_BYTES = 128 * 1024 * 1024
PLAIN_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})
MAX_TILE_READ = 1 << 22
"""Pixels of the slide one tile may read (4 Mpx, 16 MB decoded): a Deep Zoom tile is read from
the slide level nearest below its scale and shrunk, so a slide of one level (or with a level
missing) read the whole image for each tile of its small levels: a single-level 20,000 x 20,000
TIFF ran over 120 s and 1.6 GB for one 1 x 1 tile, and any view of it asks for those. 4 Mpx is a
tile over a gap of 8 between two levels of the slide (4 at most in a scanner's pyramid); a tile at
the cap took about 60 MB while read. A tile over it is made from the slide's downsample
(:data:`DOWNSAMPLE`) where one can be made, else refused."""
DOWNSAMPLE = 8
"""The slide's one cached downsample is its smallest level shrunk this many times: a Deep Zoom
level over :data:`MAX_TILE_READ` from the slide's own levels (a slide of one level: every level
more than 8 times below it) is made from that image, so a viewer's home view of a one-level
slide is not blank."""
MAX_DOWNSAMPLE_SOURCE = 1 << 29
"""Pixels of the smallest level a downsample is made from (536 Mpx, e.g. 23,170 x 23,170), read
in strips of at most :data:`MAX_TILE_READ` (the downsample: at most 8.4 Mpx, 25 MB). A larger
slide's small levels are refused (the page says "zoom in")."""
MAX_DOWNSAMPLES = 2
"""Downsamples kept (least recently used dropped); one is built at a time, of any slide, in one of
the :data:`DECODES` places, and a tile that needs one while another is built is answered 503 at once
(:class:`TilesBusy`) rather than holding a place while it waits."""
DECODES = 4
"""Tiles decoded at once, in all; a request waits for its turn up to :data:`DECODE_WAIT` s."""
DECODE_QUEUE = 16
"""Tile requests waiting for a decode, in all: one more is answered 503 (:class:`TilesBusy`) at once."""
DECODE_WAIT = 10.0
"""Seconds a tile request waits for a decode before it is answered 503 (:class:`TilesBusy`)."""
BUSY = N_("the server is busy reading other tiles: try again")


NOT_CHECKED = N_("the slide could not be checked against the audit's record just now ({reason}): try again")
"""Why a verdict is not taken now (:class:`SlideNotChecked`): nothing recorded, the slide not refused."""


class SlideUnavailable(LookupError):
    """The slide cannot be served; the message says why in words fit for the reviewer."""


class SlideNotAudited(SlideUnavailable):
    """The slide's files are not those the audit recorded (:class:`~dqm.slide_io.NotAudited`):
    swapped or changed since, never reviewed as the audited slide."""


class SlideNotChecked(SlideUnavailable):
    """The slide could not be checked against the audit's record now (a transient error: EIO,
    EMFILE...; :class:`~dqm.slide_io.AuditUnchecked`): neither taken as the audit's nor refused."""


class TilesBusy(SlideNotChecked):
    """Too many tiles are being decoded or waiting (:data:`DECODES`, :data:`DECODE_QUEUE`): the
    tile is not read now, to be asked again (503 with ``Retry-After``)."""


def plan_recorded(files: SlideFiles | None, named: Callable[[str], str] | None) -> Recorded | None:
    """What the audit recorded of a drawn slide's files, from the review plan's ``files``
    (:class:`~dqm.semantic.models.SlideFiles`: None in a plan of an older dqm, or a slide the
    sample had no record of), its parts' masked paths matched through ``named`` (the plan's
    masker)."""
    from dqm.slide_io import Recorded

    if files is None:
        return None

    def values(f: RecordedFile) -> tuple[int | None, int | None, str | None]:
        return (f.size, f.mtime_ns, f.quick_print)

    return Recorded(values(files.slide), {p: values(f) for p, f in files.parts.items()}, named)


@dataclass(slots=True)
class _Open:
    """One open slide and its Deep Zoom generator; ``users`` requests are reading it."""

    slide: Any
    dz: Any
    lock: threading.Lock | None
    """Serialises reads of a plain image (Pillow decodes it lazily, not thread-safe)."""
    checked: CheckedSlide | None = None
    """The whole-slide image as OpenSlide opened it, checked after each read (None: a plain one)."""
    users: int = 0
    evicted: bool = False
    closed: bool = field(default=False)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            (self.checked or self.slide).close()


def open_slide(
    path: Path, root: Path, first: Opened | None = None, recorded: Recorded | None = None
) -> tuple[Any, CheckedSlide | None]:
    """The slide at ``path`` (in the batch folder ``root``) as an OpenSlide object (or ImageSlide
    for a plain image) and, for a whole-slide image, the :class:`~dqm.slide_io.CheckedSlide` it is
    read through (opened as the probe opens it; None: a plain image). A tile read from it is served
    only where :meth:`~dqm.slide_io.CheckedSlide.changed` finds its files as they were at the open.
    ``first``: what the slide's first open took, for one opened again (checked against it, not
    taken afresh: :func:`~dqm.slide_io.open_checked`); ``recorded``: what the audit recorded of
    the slide's files, which a first open is checked against (a slide swapped since the audit is
    not reviewed as the audited one). A plain image is opened through a descriptor of it
    (:func:`~dqm.slide_io.plain_file`), never by its batch path, and decoded whole while it is held.

    Raises
    ------
    SlideUnavailable
        When neither OpenSlide nor Pillow can read it, a plain image is too large to decode, or the
        slide names a file OpenSlide would open outside the batch (:mod:`dqm.slide_refs`).
    """
    import openslide

    from dqm.slide_io import (
        NotAudited,
        NotChecked,
        NotOpened,
        batch_named,
        batch_place,
        open_checked,
        plain_file,
    )
    from dqm.slide_refs import not_to_open

    if path.suffix.lower() in PLAIN_SUFFIXES:
        refused = not_to_open(path, root)
        if refused is not None:
            raise SlideUnavailable(refused)
    else:
        try:  # refused as the probe refuses it (not_to_open)
            checked = open_checked(path, root, first=first, recorded=recorded)
            return checked.slide, checked
        except NotAudited as exc:
            raise SlideNotAudited(exc.why) from None
        except NotChecked as exc:  # EIO, EMFILE... on a part: nothing refused, nothing known
            raise SlideNotChecked(msg(NOT_CHECKED, reason=exc.why)) from None
        except NotOpened as exc:
            raise SlideUnavailable(exc.why) from None
        except openslide.OpenSlideUnsupportedFormatError as exc:
            # a TIFF OpenSlide does not read may still be a plain image: the file checked then
            first = first or getattr(exc, "opened", None)
        except openslide.OpenSlideError as exc:  # it names the slide by its host path: by its place
            error = batch_named(str(exc), path, batch_place(path, root))
            raise SlideUnavailable(msg("OpenSlide cannot read it: {error}", error=error)) from None
    try:
        with plain_file(path, root, first, recorded) as fh:  # the file checked, not its batch path
            return _plain_slide(fh), None
    except NotAudited as exc:
        raise SlideNotAudited(exc.why) from None
    except NotChecked as exc:
        raise SlideNotChecked(msg(NOT_CHECKED, reason=exc.why)) from None
    except NotOpened as exc:
        raise SlideUnavailable(exc.why) from None


def _plain_slide(fh: BinaryIO) -> Any:
    """An ImageSlide of the plain image Pillow reads from ``fh``, refused when too large; decoded
    here, while ``fh`` is open (:func:`~dqm.slide_io.plain_file`): the ImageSlide's reads after
    have the pixels, not a file to read them from."""
    import openslide
    from PIL import Image

    from dqm.slide_io import plain_too_large

    try:
        img = Image.open(fh)
        width, height = img.size
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise SlideUnavailable(
            msg("neither OpenSlide nor Pillow can read it ({error})", error=type(exc).__name__)
        ) from None
    try:
        if plain_too_large(width, height):
            raise SlideUnavailable(
                msg(
                    "a plain image of {width}x{height} pixels is too large to decode safely",
                    width=width,
                    height=height,
                )
            )
        try:
            img.load()
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            raise SlideUnavailable(msg("Pillow cannot read it ({error})", error=type(exc).__name__)) from None
    except BaseException:
        img.close()
        raise
    return openslide.ImageSlide(img)  # its pixels: nothing read from the file, closed, after


class TileSource:
    """Deep Zoom descriptors and tiles of the slides of one sample.

    Parameters
    ----------
    root
        The batch folder (the jail).
    slides
        Slide number (its position in the plan's sample) → the slide file's path as the plan gives
        it (relative to the batch), or None when the slide has no image.
    recorded
        Slide number → what the audit recorded of the slide's files
        (:func:`plan_recorded`), where known: the slide's first open is checked against it
        (:func:`open_slide`); a slide without one (a plan of an older dqm) is opened as it is, and
        checked against its first open in the server only.
    not_audited
        Called once with a slide's number and the reason when it is refused as not the file the
        audit recorded (:class:`SlideNotAudited`): the server logs it and marks the slide as not
        reviewable. The refusal stands for the server's life: every request for the slide after
        it is refused with the same reason, nothing opened again.
    """

    def __init__(
        self,
        root: Path,
        slides: Mapping[int, str | None],
        max_open: int = MAX_OPEN,
        tile_size: int = TILE_SIZE,
        overlap: int = OVERLAP,
        quality: int = JPEG_QUALITY,
        cache_bytes: int = TILE_CACHE_BYTES,
        recorded: Mapping[int, Recorded] | None = None,
        not_audited: Callable[[int, SlideNotAudited], None] | None = None,
    ) -> None:
        self.root = root
        self.recorded = dict(recorded or {})
        self.not_audited = not_audited
        self._not_audited: dict[int, SlideNotAudited] = {}
        self.slides = dict(slides)
        self.max_open = max(1, max_open)
        self.tile_size = tile_size
        self.overlap = overlap
        self.quality = quality
        self.cache_bytes = cache_bytes
        self._lock = threading.Lock()
        self._open: OrderedDict[int, _Open] = OrderedDict()
        self._tiles: OrderedDict[tuple[int, int, int, int], bytes] = OrderedDict()
        self._tile_bytes = 0
        self._first: dict[int, Opened] = {}
        """What each slide's first open took: a slide opened again (pushed out of the open ones,
        or refused for a file swapped) is checked against it, so a scan swapped in is never
        served, whichever request comes after the swap."""
        self._downsamples: OrderedDict[int, tuple[Any, Any]] = OrderedDict()
        """Slide number → (its open entry, its downsample image): see :data:`DOWNSAMPLE`."""
        self._decodes = threading.BoundedSemaphore(DECODES)
        self._waiting = 0
        self._building = threading.Lock()
        """Held while a downsample is built (:meth:`_downsample`): one at a time, of any slide."""
        self._opening: dict[int, threading.Lock] = {}
        """Each slide's lock for its opens, one at a time: two first requests at once both opened
        it unchecked, and the one that finished first, whichever scan it found (one swapped in
        after the other's open began), became the baseline. Now the second waits and is checked
        against the first's (or takes the slide the first opened)."""

    def path(self, index: int) -> Path:
        """The jailed path of slide ``index``.

        Raises
        ------
        SlideUnavailable
            For an unknown number, a slide without image, or a path that leaves the batch.
        """
        if index not in self.slides:
            raise SlideUnavailable(N_("no such slide in the sample"))
        rel = self.slides[index]
        if not rel:
            raise SlideUnavailable(N_("the slide has no image file"))
        path, why = jailed(self.root, rel)
        if path is None:
            raise SlideUnavailable(msg("the slide file is not served: {_why}", _why=why))
        return path

    def _get(self, index: int) -> _Open:
        with self._lock:
            entry = self._in_use(index)
            if entry is not None:
                return entry
        try:
            path = self.path(index)  # an unknown slide takes no lock (nor a place among them)
        except SlideUnavailable:
            self.check_audited(index)  # a recorded slide gone from its place: not the audit's
            raise
        with self._lock:
            opening = self._opening.setdefault(index, threading.Lock())
        with opening:  # outside the lock (opening a slide can take a while), one open at a time
            with self._lock:
                entry = self._in_use(index)
            if entry is not None:  # another request opened it meanwhile
                return entry
            refused = self._not_audited.get(index)
            if refused is not None:
                raise SlideNotAudited(*refused.args)
            first = self._first.get(index)
            recorded = self.recorded.get(index) if first is None else None
            try:  # a DICOM series listed cut now refused there (crowded_since_audit), as validity's
                slide, checked = open_slide(path, self.root, first, recorded)
            except SlideNotAudited as exc:
                self._refuse(index, exc)
                raise
            except SlideNotChecked:  # EIO, EMFILE...: nothing known now, nothing refused
                raise
            except SlideUnavailable:
                if recorded is not None:  # not opened: refused where it is not the recorded file
                    self._check_held(index, recorded)
                raise
            return self._opened(index, slide, checked)

    def _refuse(self, index: int, exc: SlideNotAudited) -> None:
        """Slide ``index`` refused as not the audit's (``exc``) for the server's life, and said
        (:attr:`not_audited`); called with its opening lock held."""
        self._not_audited[index] = exc
        if self.not_audited is not None:
            self.not_audited(index, exc)

    def check_audited(self, index: int) -> None:
        """Check slide ``index`` against the audit's record now, without opening it
        (:func:`~dqm.slide_io.unlike_audit`): before the server takes a verdict on it, which a
        reviewer may give on a slide never shown (its first open, the only check against the
        record, never made). A slide swapped since is refused as at its open (:attr:`not_audited`
        told once), and so is anything but the recorded regular file at its path (nothing, a
        folder, a FIFO, a link out of the batch, a file that cannot be read). Nothing is checked
        for a slide without image or record, or one not served.

        Raises
        ------
        SlideNotAudited
            When the slide is refused, now or before.
        """
        recorded = self.recorded.get(index)
        if recorded is None or not self.slides.get(index):
            return
        with self._lock:
            opening = self._opening.setdefault(index, threading.Lock())
        with opening:  # not while it is opened: one refusal, told once
            self._check_held(index, recorded)

    def _check_held(self, index: int, recorded: Recorded) -> None:
        """:meth:`check_audited` of slide ``index`` (its record ``recorded``), its opening lock held."""
        from dqm.slide_io import GONE_SINCE_AUDIT, AuditUnchecked, unlike_audit

        refused = self._not_audited.get(index)
        if refused is not None:
            raise SlideNotAudited(*refused.args)
        rel = str(self.slides[index])
        path, jail = jailed(self.root, rel)
        try:
            why = (  # out of the batch, a link to nothing, no regular file: not the audit's
                msg(GONE_SINCE_AUDIT, _ref=clip(rel, 200), _why=jail)
                if path is None
                else unlike_audit(path, self.root, recorded)
            )
        except AuditUnchecked as unchecked:  # EIO, EMFILE...: nothing refused, nothing known
            raise SlideNotChecked(msg(NOT_CHECKED, reason=str(unchecked))) from None
        if why is not None:
            exc = SlideNotAudited(why)
            self._refuse(index, exc)
            raise exc
        if path is not None:
            self._crowded(index, path, recorded)

    def _crowded(self, index: int, path: Path, recorded: Recorded) -> None:
        """Refuse slide ``index`` (at ``path``, its opening lock held) at a verdict where it is a
        DICOM slide whose series now holds more files than :data:`~dqm.slide_refs.MAX_PARTS`
        (:func:`~dqm.slide_io.crowded_since_audit`, the rule :func:`~dqm.slide_io.open_checked`
        given the record applies at the first open, the server's and validity's reader's alike). A
        transient error listing it (or reading its head) answers "not checked". A file that joins
        after the open took the slide's files is seen by the check after each read
        (:func:`~dqm.slide_io._changed_while_read`: listed cut, not so at the open), at a reopen too.
        A file the audit's record (``recorded``) does not hold is listed as the audit listed it
        (:func:`~dqm.slide_io.audited_strictly`): one it could not read failing again is no change."""
        from dqm.slide_io import AuditUnchecked, crowded_since_audit

        try:
            why = crowded_since_audit(path, self.root, recorded=recorded)
        except AuditUnchecked as exc:
            raise SlideNotChecked(msg(NOT_CHECKED, reason=str(exc))) from None
        if why is not None:
            self._refuse(index, crowded := SlideNotAudited(why))
            raise crowded

    def _in_use(self, index: int) -> _Open | None:
        """Slide ``index`` if it is open, counted as in use once more (called with the lock held)."""
        entry = self._open.get(index)
        if entry is not None:
            self._open.move_to_end(index)
            entry.users += 1
        return entry

    def _opened(self, index: int, slide: Any, checked: CheckedSlide | None) -> _Open:
        """Slide ``index`` as just opened (``slide``, read through ``checked``; its first open's
        baseline kept), among the open ones (the least recently used past :attr:`max_open` closed
        once unused) and in use; called with its opening lock held (no other open of it meanwhile)."""
        from openslide.deepzoom import DeepZoomGenerator

        dz = DeepZoomGenerator(slide, tile_size=self.tile_size, overlap=self.overlap, limit_bounds=True)
        entry = _Open(slide, dz, threading.Lock() if checked is None else None, checked)
        with self._lock:
            if checked is not None:
                self._first.setdefault(index, checked.opened)
            self._open[index] = entry
            entry.users += 1
            while len(self._open) > self.max_open:
                _, old = self._open.popitem(last=False)
                old.evicted = True
                if old.users == 0:
                    old.close()
        return entry

    @contextmanager
    def _using(self, index: int) -> Iterator[_Open]:
        entry = self._get(index)
        try:
            yield entry
        finally:
            with self._lock:
                entry.users -= 1
                if entry.evicted and entry.users == 0:
                    entry.close()

    def info(self, index: int) -> dict[str, Any]:
        """Level-0 size, Deep Zoom levels and the slide's microns per pixel (None when unknown),
        given only where its files are as they were at its open (:meth:`_unchanged`, as a tile and
        the ``.dzi``): one held open since, a part replaced, gave the slide page the replaced file's
        size and levels, the viewer then refused each of its tiles."""
        import openslide

        with self._using(index) as entry:
            self._unchanged(index, entry)
            props = entry.slide.properties
            mpp = props.get(openslide.PROPERTY_NAME_MPP_X) if hasattr(props, "get") else None
            try:
                mpp_value = float(mpp) if mpp is not None else None
            except ValueError:
                mpp_value = None
            if mpp_value is not None and not MIN_MPP <= mpp_value <= MAX_MPP:
                # the readers' plausible bounds: an Aperio 'MPP = inf' made the slide page's JSON
                # fail (a 500), 1e-300 or 1e300 drew a scale bar of no meaning
                mpp_value = None
            width, height = entry.dz.level_dimensions[-1]
            return {
                "width": int(width),
                "height": int(height),
                "levels": int(entry.dz.level_count),
                "tile_size": self.tile_size,
                "overlap": self.overlap,
                "mpp": mpp_value,
                "bounds_offset": _offset(entry.slide),
            }

    def dzi(self, index: int) -> str:
        """The Deep Zoom descriptor of slide ``index``, served only where its files are as they were
        at its open (:meth:`_unchanged`, as a tile): one held open since, a part replaced, described
        the replaced file's pyramid to a viewer whose tiles were then refused."""
        with self._using(index) as entry:
            self._unchanged(index, entry)
            return str(entry.dz.get_dzi("jpeg"))

    def _unchanged(self, index: int, entry: _Open) -> None:
        """Whether slide ``index``, open as ``entry``, is still read from the files taken at its open
        (:meth:`~dqm.slide_io.CheckedSlide.changed`); if not, it is closed once unused and its tiles
        dropped (:meth:`_forget`), and the request refused.

        Raises
        ------
        SlideNotChecked
            A transient error (EIO, EMFILE...) listing its folder: not served now, kept open.
        SlideUnavailable
            Its files changed since its open: not served, reopened (and checked) at the next request.
        """
        from dqm.slide_io import NotChecked

        try:
            changed = entry.checked.changed() if entry.checked is not None else None
        except NotChecked as exc:  # EIO, EMFILE... listing its folder: not served now, kept open
            raise SlideNotChecked(msg(NOT_CHECKED, reason=exc.why)) from None
        if changed is not None:  # another file's pixels: not shown, and the slide not kept open
            self._forget(index, entry)
            raise SlideUnavailable(changed)

    def tile(self, index: int, level: int, col: int, row: int) -> bytes:
        """One JPEG tile.

        Raises
        ------
        SlideUnavailable
            When the slide cannot be served or the tile address is outside its pyramid.
        """
        key = (index, level, col, row)
        with self._lock:
            hit = self._tiles.get(key)
            if hit is not None:
                self._tiles.move_to_end(key)
                return hit
        with self._using(index) as entry:
            dz = entry.dz
            if not 0 <= level < dz.level_count:
                raise SlideUnavailable("no such Deep Zoom level")
            cols, rows = dz.level_tiles[level]
            if not (0 <= col < cols and 0 <= row < rows):
                raise SlideUnavailable("no such tile")
            with self._decoding():
                image = self._read_tile(index, entry, level, col, row)
            self._unchanged(index, entry)
        buf = io.BytesIO()
        image.convert("RGB").save(buf, format="JPEG", quality=self.quality)
        data = buf.getvalue()
        with self._lock:
            if key not in self._tiles and len(data) <= self.cache_bytes:
                self._tiles[key] = data
                self._tile_bytes += len(data)
                while self._tile_bytes > self.cache_bytes:
                    _, old = self._tiles.popitem(last=False)
                    self._tile_bytes -= len(old)
        return data

    @contextmanager
    def _decoding(self) -> Iterator[None]:
        """One of the :data:`DECODES` places to decode in, waited for in a queue of at most
        :data:`DECODE_QUEUE` for up to :data:`DECODE_WAIT` s: a client asking for hundreds of
        tiles held every thread of the server, each decoding (about 20 MB a tile at the cap).

        Raises
        ------
        TilesBusy
            When the queue is full or the wait is over.
        """
        with self._lock:
            if self._waiting >= DECODE_QUEUE:
                raise TilesBusy(BUSY)
            self._waiting += 1
        try:
            got = self._decodes.acquire(timeout=DECODE_WAIT)
        finally:
            with self._lock:
                self._waiting -= 1
        if not got:
            raise TilesBusy(BUSY)
        try:
            yield
        finally:
            self._decodes.release()

    def _read_tile(self, index: int, entry: _Open, level: int, col: int, row: int) -> Any:
        """The tile's image, read from the slide or, where that would read more than
        :data:`MAX_TILE_READ` pixels, made from the slide's downsample (:meth:`_downsample`)."""
        dz = entry.dz
        (l0_location, _, (width, height)), z_size = dz._get_tile_info(level, (col, row))
        if width * height > MAX_TILE_READ:  # before any pixel is read
            scale = 2 ** (dz.level_count - 1 - level)  # level-0 pixels per pixel of this level
            small = self._downsample(index, entry, scale)
            if small is None:
                raise SlideUnavailable(
                    msg(
                        "the tile would read {n:,} pixels of the slide, more than {cap:,}: the slide has "
                        "no level near this scale (zoom in)",
                        n=width * height,
                        cap=MAX_TILE_READ,
                    )
                )
            from PIL import Image

            w0, h0 = entry.slide.level_dimensions[0]
            fx, fy = w0 / small.width, h0 / small.height
            x, y = l0_location
            box = (  # the Deep Zoom level's size is rounded up: its last tile may pass the edge
                x / fx,
                y / fy,
                min(small.width, (x + z_size[0] * scale) / fx),
                min(small.height, (y + z_size[1] * scale) / fy),
            )
            return small.resize(z_size, Image.Resampling.LANCZOS, box=box)
        try:
            if entry.lock is None:
                return dz.get_tile(level, (col, row))
            with entry.lock:
                return dz.get_tile(level, (col, row))
        except Exception as exc:  # a corrupt region of a real slide: a missing tile, not a dead server
            raise SlideUnavailable(f"the tile cannot be read ({type(exc).__name__})") from None

    def _downsample(self, index: int, entry: _Open, scale: float) -> Any:
        """Slide ``index``'s downsample (its smallest level shrunk :data:`DOWNSAMPLE` times), built
        once (one build at a time, of any slide: a tile asking while one is built is refused at once,
        :class:`TilesBusy`, so that no decode place waits on it) and kept among the
        :data:`MAX_DOWNSAMPLES` last used; None where the smallest level is over
        :data:`MAX_DOWNSAMPLE_SOURCE` pixels, or the downsample is coarser than ``scale`` (level-0
        pixels per pixel wanted: a gap inside a slide's pyramid)."""
        slide = entry.slide
        smallest = slide.level_count - 1
        width, height = slide.level_dimensions[smallest]
        level_scale = float(slide.level_downsamples[smallest])
        if width * height > MAX_DOWNSAMPLE_SOURCE or width * DOWNSAMPLE > MAX_TILE_READ:
            return None
        if level_scale * DOWNSAMPLE > scale:
            return None
        with self._lock:
            kept = self._downsamples.get(index)
            if kept is not None and kept[0] is entry:
                self._downsamples.move_to_end(index)
                return kept[1]
        # One build at a time, of any slide; a tile wanting another answered "busy" at once: waiting
        # for it held a decode place each, so while a 530 Mpx slide's took 78 s every other slide's
        # tiles were refused too (and its opening lock, held, kept its verdicts waiting).
        if not self._building.acquire(blocking=False):
            raise TilesBusy(BUSY)
        try:
            with self._lock:
                kept = self._downsamples.get(index)
                if kept is not None and kept[0] is entry:  # built while this one came
                    self._downsamples.move_to_end(index)
                    return kept[1]
            small = self._shrink(entry, smallest, width, height, level_scale)
            with self._lock:
                self._downsamples[index] = (entry, small)
                self._downsamples.move_to_end(index)
                while len(self._downsamples) > MAX_DOWNSAMPLES:
                    self._downsamples.popitem(last=False)
            return small
        finally:
            self._building.release()

    def _shrink(self, entry: _Open, level: int, width: int, height: int, level_scale: float) -> Any:
        """Level ``level`` of ``entry``'s slide (``width`` x ``height``) shrunk :data:`DOWNSAMPLE`
        times, read in strips of at most :data:`MAX_TILE_READ` pixels, on the Deep Zoom background."""
        from PIL import Image

        background = getattr(entry.dz, "_bg_color", "#ffffff")
        rows = max(DOWNSAMPLE, MAX_TILE_READ // width // DOWNSAMPLE * DOWNSAMPLE)
        small = Image.new("RGB", (-(-width // DOWNSAMPLE), -(-height // DOWNSAMPLE)), background)
        for top in range(0, height, rows):
            size = (width, min(rows, height - top))
            try:
                if entry.lock is None:
                    strip = entry.slide.read_region((0, round(top * level_scale)), level, size)
                else:
                    with entry.lock:
                        strip = entry.slide.read_region((0, round(top * level_scale)), level, size)
            except Exception as exc:  # a corrupt region: no downsample, as a tile not read
                raise SlideUnavailable(f"the tile cannot be read ({type(exc).__name__})") from None
            flat = Image.new("RGB", size, background)
            flat.paste(strip, mask=strip.getchannel("A") if strip.mode == "RGBA" else None)
            small.paste(flat.reduce(DOWNSAMPLE), (0, top // DOWNSAMPLE))
        return small

    def _forget(self, index: int, entry: _Open) -> None:
        """Close ``entry`` (slide ``index``) once its last request is done, and drop its cached tiles
        (its files changed since: what it served is no longer what the files hold); opened again on
        the next request, checked against its first open."""
        with self._lock:
            if self._open.get(index) is entry:
                del self._open[index]
            entry.evicted = True
            for key in [key for key in self._tiles if key[0] == index]:
                self._tile_bytes -= len(self._tiles.pop(key))
            self._downsamples.pop(index, None)

    def close(self) -> None:
        with self._lock:
            for entry in self._open.values():
                entry.evicted = True
                if entry.users == 0:
                    entry.close()
            self._open.clear()
            self._downsamples.clear()
            self._tiles.clear()
            self._tile_bytes = 0


def _offset(slide: Any) -> tuple[int, int]:
    """Where the Deep Zoom image (bounds limited) starts in level-0 pixels: outlines are drawn in
    level-0 coordinates and shifted by this."""
    import openslide

    props = slide.properties
    try:
        return (
            int(props.get(openslide.PROPERTY_NAME_BOUNDS_X, 0) or 0),
            int(props.get(openslide.PROPERTY_NAME_BOUNDS_Y, 0) or 0),
        )
    except (ValueError, AttributeError):
        return (0, 0)
