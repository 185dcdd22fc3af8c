"""Which annotation of a file belongs to an item: the one matching rule of the whole project.

A file may describe several images (COCO); the runner reads it once per item and keeps the
annotation this rule picks in the item's record, so nothing downstream (thumbnails, the review
sheet, validity) matches files to slides again.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import heapq
import itertools
import json
import unicodedata
from pathlib import PurePosixPath
from typing import Any, NamedTuple

from dqm.batch import as_read, normalise
from dqm.i18n import msg
from dqm.identifiers import reading_keys
from dqm.model import Annotation, Item, ReadIssue
from dqm.readers.common.base import object_texts
from dqm.readers.common.held import built, lesion_texts

Readers = frozenset[tuple[str, str | None]]
"""The items that read one annotation file: each one's slide id and slide file (the path as the
batch names it), the same set for each of them (:attr:`dqm.model.Item.file_readers`)."""

TRAILING_INDEXED = 8
"""The longest trailing runs of an image's path the index keeps (its last 2 to 8 parts)."""

MAX_TRAILING = 64
"""The most trailing parts of two paths compared past :data:`TRAILING_INDEXED` (a COCO
``file_name`` of 40,000 folders is compared by its last 64)."""


def annotation_for_item(annotations: list[Annotation], item: Item, image: str | None) -> Annotation:
    """The annotation of ``item`` among those one file holds.

    The item's image is the one :func:`image_of` picks by the item's slide file (``image``, the
    path as the batch names it), slide_id and the other items that read the file
    (:attr:`Item.file_readers`). A file validated on its own (no manifest row, no slide) is
    judged whole (:func:`merged`); an item whose image the file does not list gets an
    ``IMAGE_NOT_IN_FILE`` issue, one whose names two or more images go by (and no path tells
    apart) an ``IMAGE_AMBIGUOUS_IN_FILE`` issue. A file with one annotation is that annotation.
    The annotation comes with its lesions built (a file of many images holds them compactly
    until then: :mod:`dqm.readers.common.held`).
    """
    if len(annotations) == 1:
        return built(annotations[0])
    found = image_of(annotations, item.slide_id, image, item.file_readers)
    if isinstance(found, int):
        return built(annotations[found])
    if image is None and item.row is None:
        return merged(annotations)
    if any(ann.image_key is not None for ann in annotations):
        first = annotations[0]
        return Annotation(
            path=first.path,
            format=first.format,
            n_values=1,
            issues=[found],
            file_text=first.file_text,  # the file's own text is searched all the same
        )
    return built(annotations[0])


def image_of(
    annotations: list[Annotation], slide_id: str, image: str | None, readers: Readers = frozenset()
) -> int | ReadIssue:
    """The position of the slide's image among the images of a file of many (COCO), or the issue
    that says why none is: the one rule of the audit and the review sheet's outline loader.

    The slide's file (``image``, its path as the batch names it, cleaned as the audit reads it:
    :func:`dqm.batch.as_read`) picks first, by the most it says: the image named by the same
    path, then by the longest same run (two or more) of trailing folders and name; then the
    same two with both sides case-folded (:func:`folded`; a path of two or more parts:
    ``C/C/S1.TIFF`` for ``c/c/s1.tiff``), so a path as written beats the same folded at any
    number of parts and nothing it picks changes. Below these, one rule: an image whose name,
    file name or stem is the slide file's name or stem or the ``slide_id``, as written. The
    first of these that some image meets decides: one image is the slide's; two or more are
    ``IMAGE_AMBIGUOUS_IN_FILE`` (``a/slide1.svs`` and ``b/slide1.svs`` listed by bare name:
    never the first one's lesions for both slides; ``A/b/S.svs`` and ``a/B/s.svs`` for
    ``a/b/s.svs``); none at all is ``IMAGE_NOT_IN_FILE``. An image that another of the file's
    ``readers`` (slide id, slide file) names by more of its path (its exact path, or a longer
    run of trailing parts; as written beating folded) is that item's, never this slide's:
    ``A.png`` and ``b/slide1.svs`` for the slides ``A`` at ``a/slide1.svs`` and ``B`` at
    ``b/slide1.svs`` are ``A``'s and ``B``'s, never both ``B``'s. An image that the same exact
    path, the same longest trailing run (of :data:`TRAILING_INDEXED` parts or more too) or the
    name rule picks alone for two slide ids of the ``readers`` is ``IMAGE_AMBIGUOUS_IN_FILE`` for
    both:
    ``h/a/S1.svs`` for ``a/S1.svs`` and ``a/c/a/S1.svs``; ``s1`` for the slide ``s1`` at
    ``s2.svs`` and the slide ``id0`` at ``c/c/s1.tiff`` (its own image listed as ``S1.TIFF``).
    """
    index = annotations.names if isinstance(annotations, FileAnnotations) else ImageIndex(annotations)
    found, count, name, shared, _ = index.find(slide_id, as_read(image), readers)
    if count == 1 and not shared:
        return found[0]
    if shared:
        return ReadIssue(
            "IMAGE_AMBIGUOUS_IN_FILE",
            msg(
                "the file's one image named {name} ({image}) goes by a name of another slide of the "
                "batch too: which slide's it is is not known, so none is read; name each image by its "
                "slide's path in the batch",
                name=name,
                image=annotations[found[0]].image_key or "?",
            ),
            "/images",
        )
    if found:
        keys = [annotations[k].image_key or "?" for k in found[:LISTED_AT_MOST]]
        return ReadIssue(
            "IMAGE_AMBIGUOUS_IN_FILE",
            msg(
                "{n} of the file's images go by the name {name} ({images}): which one is this "
                "slide's is not known, so none is read; name each image by its slide's path in the batch",
                n=count,
                name=name,
                images=", ".join(keys) + (", …" if len(found) > len(keys) else ""),
            ),
            "/images",
        )
    return ReadIssue(
        "IMAGE_NOT_IN_FILE",
        msg(
            "none of the file's {n} images is named {names}",
            n=len(annotations),
            names=" or ".join(sorted(item_names(slide_id, as_read(image)))),
        ),
        "/images",
    )


def item_names(item: Item | str, image: str | None) -> set[str]:
    """The names an item's image goes by in a file of many images: its slide id (``item``'s, or
    ``item``), and its slide file's name and stem (``image``, the path as the batch names it)."""
    names = {item if isinstance(item, str) else item.slide_id}
    parts = _parts(image) if image else ()
    if parts:
        names |= {parts[-1], PurePosixPath(parts[-1]).stem}
    return names


def image_names(ann: Annotation) -> set[str]:
    """The names the image ``ann`` is of goes by: its key and slide file, whole, as a file name
    and as a stem (a name's folders end at ``/`` or ``\\``)."""
    keys = {k for k in (ann.image_key, ann.slide_file) if k}
    names = {parts[-1] for parts in map(_parts, keys) if parts}
    return keys | names | {PurePosixPath(name).stem for name in names}


def _parts(path: str) -> tuple[str, ...]:
    """A path's folders and name, split at ``/`` and ``\\`` and cleaned as the batch's paths are
    (:func:`dqm.batch.normalise`: ``./a//b.svs``, ``z/../a/b.svs`` and ``a\\b.svs`` are ``a/b.svs``)."""
    return tuple(p for p in normalise(path)[0].split("/") if p not in ("", "."))


def folded(text: str) -> str:
    """``text`` as the folded index compares it: case-folded (:meth:`str.casefold`: ``ß`` is
    ``ss``, Turkish ``İ`` is ``i`` with a combining dot, not ``i``) and canonically composed (NFC),
    whichever way it was composed: ``Café``, ``CAFE\u0301`` and ``café`` are one."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", text).casefold())


def _trailing(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    """How many trailing parts ``a`` and ``b`` have the same (at most :data:`MAX_TRAILING`)."""
    n = 0
    for x, y in zip(reversed(a[-MAX_TRAILING:]), reversed(b[-MAX_TRAILING:]), strict=False):
        if x != y:
            break
        n += 1
    return n


class ImageIndex:
    """The images of a file of many images by each name they go by, for :func:`image_of`: built
    once a file, at the first item looked up, where walking the images for each item cost
    0.37 s an item near the end of a COCO file of 34,376 images. Each image is kept by its path,
    by its last 2 to :data:`TRAILING_INDEXED` parts, and by :func:`image_names`: a ``file_name``
    of 40,000 folders is kept in 80 KB, not the 6.4 GB of all its trailing runs, and a slide
    finds the images that end like its path in a few look-ups, however many share its name."""

    __slots__ = ("_by", "_claimed", "_deep", "_deep_found", "_folded", "annotations", "fold")

    def __init__(self, annotations: list[Annotation], fold: bool = False) -> None:
        self.annotations = annotations
        self.fold = fold
        self._folded: ImageIndex | None = None
        self._by: tuple[dict[Any, list[int]], ...] | None = None
        self._claimed: dict[Readers, Claims] = {}
        self._deep: dict[tuple[str, ...], tuple[list[tuple[str, ...]], list[int]]] = {}
        self._deep_found: dict[tuple[str, ...], list[int]] = {}

    def _built(self) -> tuple[dict[Any, list[int]], ...]:
        """The positions of the images by path, by trailing run of 2 to :data:`TRAILING_INDEXED`
        parts, and by any of :func:`image_names`, each in the file's order."""
        if self._by is None:
            by: tuple[dict[Any, list[int]], ...] = ({}, {}, {})
            for k in range(len(self.annotations)):
                parts = self.paths_of(k)
                names: tuple[set[Any], ...] = (
                    {"/".join(p) for p in parts},
                    {p[-n:] for p in parts for n in range(2, min(len(p), TRAILING_INDEXED) + 1)},
                    set() if self.fold else image_names(self.annotations[k]),  # names: as written only
                )
                for table, keys in zip(by, names, strict=True):
                    for key in keys:
                        table.setdefault(key, []).append(k)
            self._by = by
        return self._by

    def _longest(self, parts: tuple[str, ...], claims: Claims | None) -> tuple[int, list[int]]:
        """The most trailing parts (two or more) some image's path and ``parts`` have the same,
        and those images, an image ``claims`` gives to another reader by more parts left out; 0
        and none when none does. Below :data:`TRAILING_INDEXED` parts a run's images are one
        look-up (kept per set of readers, :meth:`Claims.unclaimed`); past it, a bisection of the
        images' paths (:meth:`_deepest`) and a look-up a run, from the longest down, where the
        longest run's images are all claimed by more (each image was compared with ``parts``:
        O(N²) for N slides whose N images all end alike and are claimed by others' exact paths)."""
        trailing = self._built()[1]
        for n in range(min(len(parts), TRAILING_INDEXED), 1, -1):
            key = parts[-n:]
            if n < TRAILING_INDEXED:
                found = claims.unclaimed(trailing, key, n) if claims is not None else trailing.get(key, [])
                if found:
                    return n, found
                continue
            if key not in trailing:
                continue
            longest, ends = self._deepest(key, parts)
            if claims is None:
                return longest, self._deep_images(key, ends[:longest])
            # the longest run (of TRAILING_INDEXED parts or more) with an image claimed by no
            # more: one whose run is longer and claimed by no more was found at its own run
            for run in range(longest, TRAILING_INDEXED - 1, -1):
                self._deep_images(key, ends[:run])
                if found := claims.unclaimed(self._deep_found, ends[:run], run):
                    return run, found
        return 0, []

    def _deepest(self, key: tuple[str, ...], parts: tuple[str, ...]) -> tuple[int, tuple[str, ...]]:
        """The longest run of trailing parts (at most :data:`MAX_TRAILING`) ``parts`` and an image
        ending in the :data:`TRAILING_INDEXED` parts ``key`` have the same, and ``parts`` last
        first (its first that many parts are the run): a bisection of the images' paths sorted
        last part first. Comparing ``parts`` with every image of ``key`` cost 5.7 s CPU for 1,000
        slides whose 1,000 images all end in the same 8 parts."""
        ends = self._deep_ends(key)[0]
        q = tuple(reversed(parts[-MAX_TRAILING:]))
        i = bisect.bisect_left(ends, q)
        longest = max(_trailing(q[::-1], ends[j][::-1]) for j in (i - 1, i) if 0 <= j < len(ends))
        return longest, q

    def _deep_ends(self, key: tuple[str, ...]) -> tuple[list[tuple[str, ...]], list[int]]:
        """The paths (at most :data:`MAX_TRAILING` parts, last part first) of the images ending in
        the :data:`TRAILING_INDEXED` parts ``key``, sorted, and each one's image."""
        got = self._deep.get(key)
        if got is None:
            entries = sorted(
                (tuple(reversed(p[-MAX_TRAILING:])), k)
                for k in self._built()[1][key]
                for p in self.paths_of(k)
                if p[-TRAILING_INDEXED:] == key
            )
            got = self._deep[key] = ([end for end, _ in entries], [k for _, k in entries])
        return got

    def _deep_images(self, key: tuple[str, ...], prefix: tuple[str, ...]) -> list[int]:
        """The images ending in ``key`` whose path ends in ``prefix`` (last part first; kept in
        :attr:`_deep_found` by it), each once, in the file's order."""
        found = self._deep_found.get(prefix)
        if found is None:
            ends, ks = self._deep_ends(key)
            lo = bisect.bisect_left(ends, prefix)
            hi = bisect.bisect_left(ends, True, lo, key=lambda end: end[: len(prefix)] > prefix)
            found = self._deep_found[prefix] = sorted(set(ks[lo:hi]))
        return found

    def claims(self, readers: Readers, stronger: Claims | None = None) -> Claims:
        """What ``readers`` name by their paths (:class:`Claims`): each one's exact path, else
        its longest run of two or more trailing parts that some image ends in, and the shorter
        run it picks by where that run's images are all claimed by more (:meth:`_settle`), and
        which slide ids name each such path or run (two at most). In a folded index
        (:meth:`folded`), a reader that names an image as written (``stronger``, the claims of
        the index as written) claims nothing more, an image it names is no other reader's folded
        pick, and a folded exact path whose images are all such is no claim (the reader's run
        is). A few sets of readers are kept: each item of a shared file asks with the same set."""
        got = self._claimed.get(readers)
        if got is None:
            got = Claims(self, readers, stronger)
            runs: dict[tuple[str, str | None], tuple[tuple[str, ...], int]] = {}
            for reader in readers:
                if stronger is not None and reader in stronger.naming and stronger.picks(reader):
                    continue
                read = as_read(reader[1]) or ""
                if self.fold and "/" not in read and "\\" not in read:  # a name alone: none (the
                    continue  # folded index is built at the first reader it may serve)
                parts = self.split(read)
                if self.fold and len(parts) < 2:
                    continue
                joined = "/".join(parts)
                exact = self._built()[0].get(joined, []) if parts else []
                if stronger is not None and all(stronger.of(k) for k in exact):
                    exact = []  # each taken as written: the reader's pick is a run (or none)
                if exact:
                    got.exact.add(joined)
                    got.whole.add(reader)
                    got.named(parts, reader, got.exact_readers)
                    continue
                n, _ = self._longest(parts, None)
                if n:
                    got.claim_run(parts, n, reader)
                    runs[reader] = (parts, n)
            self._settle(got, runs)
            if len(self._claimed) >= CLAIMED_KEPT:
                self._claimed.clear()
            self._claimed[readers] = got
        return got

    def _settle(
        self, claims: Claims, runs: dict[tuple[str, str | None], tuple[tuple[str, ...], int]]
    ) -> None:
        """Claim each reader's real pick among ``runs`` (its parts and longest run, claimed):
        a reader whose longest run's images are all claimed by more (another reader's exact path
        or longer run, or, folded, a path as written) picks by a shorter run, which it claims
        too, round by round until no reader's pick moves (each round's moves only shorten runs).
        Claiming only the longest run let two readers falling back to one image both take it
        (``P/X/S`` taken by its exact path; ``Y/P/X/S`` and ``Z/P/X/S`` both took ``X/S``).

        Rounds: a reader moves in a round only to a run shorter than the one that moved before it,
        so a file needs at most about :data:`MAX_TRAILING` / 2 rounds, whatever its size. The first
        round checks every reader; a later one only the readers the last round's claims reach
        (:meth:`_reached`): claims only grow, so a reader none of whose run's unclaimed images was
        claimed by more picks as before. Checking every reader each round, a crafted chain of 32
        rows of 64-part paths (one reader's fallback claiming the next one's last image: 31 rounds)
        cost 4,000 slides beside it 32 checks each, 1.59 s CPU for their picks instead of 0.10
        (``benchmarks/bench_image_of.py --items 4000 --cases same_name,chain``); one check each
        and 0.19 s now, the same picks."""
        order = {reader: i for i, reader in enumerate(runs)}  # claims are noted in the readers' order
        by_run: dict[tuple[str, ...], dict[tuple[str, str | None], None]] = {}  # the readers of a run
        for reader, (parts, n) in runs.items():
            by_run.setdefault(parts[-n:], {})[reader] = None
        checked = list(runs)
        while checked:
            moved, found = {}, set()
            for reader in checked:
                parts, n = runs[reader]
                m, images = self._longest(parts, claims)
                if 0 < m < n:
                    moved[reader] = (parts, m)
                    found.update(images)
            if not moved:
                return
            before = {k: claims.of(k) for k in found}
            for reader, (parts, m) in moved.items():
                claims.claim_run(parts, m, reader)
                del by_run[parts[-runs[reader][1] :]][reader]
                by_run.setdefault(parts[-m:], {})[reader] = None
            runs.update(moved)
            claims.forget()
            checked = sorted(self._reached(claims, before, by_run), key=order.__getitem__)

    def _reached(
        self,
        claims: Claims,
        before: dict[int, int],
        by_run: dict[tuple[str, ...], dict[tuple[str, str | None], None]],
    ) -> set[tuple[str, str | None]]:
        """The readers whose pick a round's claims may move: those whose run (``by_run``: the
        readers by the run they pick by) an image ends in whose claim rose past it from no more
        than it (``before``: the claims before the round of each image the round's new runs
        hold; only those can rise)."""
        reached: set[tuple[str, str | None]] = set()
        for k, was in before.items():
            now = claims.of(k)
            if now <= was:
                continue
            for parts in self.paths_of(k):
                for n in range(max(2, was), min(now, len(parts) + 1)):
                    reached.update(by_run.get(parts[-n:], ()))
        return reached

    def find(self, slide_id: str, image: str | None, readers: Readers = frozenset()) -> Found:
        """The positions of the images the first rule of :func:`image_of` that any image meets
        picks (in the file's order, at least the first :data:`LISTED_AT_MOST`), how many, and the
        name they go by; none and the slide id when no image goes by any. An image another of
        ``readers`` names by more of its path (:meth:`claims`) is left out; a lone image that
        another reader's longest trailing run (the same run) or name rule picks alone as well is
        :attr:`Found.shared`: ``a/S1.svs`` and ``a/c/a/S1.svs`` both picked ``h/a/S1.svs``.
        Each rule is a few look-ups however many images it picks: a file of N images that all
        end like every slide in two parts cost every slide N steps (5.2 s CPU for 3,000 slides,
        O(N²))."""
        claims = self.claims(readers) if readers else None
        by_path = self._path_rules(image, claims, slide_id)
        if by_path is not None:
            return by_path
        claims = claims.folded() if claims is not None else None  # images named by any path left out
        found = self._by_name(slide_id, image, claims)
        if found.n == 1 and claims is not None and claims.picked_by_another(found.images[0], slide_id):
            return found._replace(shared=True)
        return found

    def _path_rules(self, image: str | None, claims: Claims | None, slide_id: str | None) -> Found | None:
        """What the path rules of :func:`image_of` pick for the slide file ``image`` (as read):
        as written (:meth:`_by_path`), else the same compared case-folded (:meth:`folded`); a lone
        image another reader names alike (its same exact path or longest run, in the same index)
        is :attr:`Found.shared` (none when ``slide_id`` is None); None for none."""
        parts = _parts(image) if image else ()
        for index in (self, self.folded()):
            if index is not self:
                if len(parts) < 2:  # a name alone, folded, is weaker than the name rule as written
                    return None
                claims = claims.folded() if claims is not None else None
            split = index.split(image) if index is not self and image else parts
            found = index._by_path(split, claims)
            if found is not None:
                run = split[-found.name.count("/") - 1 :]
                shared = found.n == 1 and claims is not None and slide_id is not None
                if shared and claims is not None:
                    alike = (claims.exact_readers if found.exact else claims.run_readers).get(run, ())
                    shared = any(sid != slide_id for sid in alike)
                return found._replace(name="/".join(parts[-len(run) :]), shared=shared)
        return None

    def _by_name(self, slide_id: str, image: str | None, claims: Claims | None) -> Found:
        """What the name rule of :func:`image_of` picks: the images any of the slide's names
        (:func:`item_names`) fits, those ``claims`` gives to a path left out."""
        named = self._built()[2]
        names = sorted(item_names(slide_id, image))
        lists = [
            images
            for name in names
            if (images := claims.unclaimed(named, name, 0) if claims is not None else named.get(name))
        ]
        if len(lists) <= 1:
            found = lists[0] if lists else []
            return Found(found, len(found), " or ".join(names))
        first = list(
            itertools.islice((k for k, _ in itertools.groupby(heapq.merge(*lists))), LISTED_AT_MOST + 1)
        )
        if len(first) <= LISTED_AT_MOST or sum(map(len, lists)) <= COUNTED_AT_MOST:
            count: int | str = len(first) if len(first) <= LISTED_AT_MOST else len(set().union(*lists))
        else:  # the images of two or more names, not counted one by one: at least the most of one
            count = f"{max(map(len, lists))}+"
        return Found(first, count, " or ".join(names))

    def _by_path(self, parts: tuple[str, ...], claims: Claims | None) -> Found | None:
        """What the path rules of :func:`image_of` pick for a slide file of ``parts``: the image
        of the same path, else of the longest trailing run (:meth:`_longest`); None for none."""
        path = self._built()[0]
        exact = path.get("/".join(parts)) if parts else None
        if exact and self.fold and claims is not None:  # an image a reader names as written is its
            exact = claims.unclaimed(path, "/".join(parts), EXACT)
        if exact:
            return Found(exact, len(exact), "/".join(parts), exact=True)
        longest, found = self._longest(parts, claims)
        return Found(found, len(found), "/".join(parts[-longest:])) if found else None

    def paths_of(self, k: int) -> set[tuple[str, ...]]:
        """Image ``k``'s paths (its key's and slide file's parts, case-folded in a folded index)."""
        ann = self.annotations[k]
        return {self.split(key) for key in (ann.image_key, ann.slide_file) if key}

    def split(self, path: str) -> tuple[str, ...]:
        """``path``'s parts as this index compares them: as written, or :func:`folded`."""
        return _parts(folded(path) if self.fold else path)

    def folded(self) -> ImageIndex:
        """The index of the same images by their case-folded paths (:func:`folded`), built at the
        first slide whose path names no image as written."""
        if self._folded is None:
            self._folded = ImageIndex(self.annotations, fold=True)
        return self._folded


class Claims:
    """The images a set of readers names by their paths, as look-ups rather than a list of
    images each: a reader's exact path (:data:`EXACT`), its longest run of trailing parts below
    :data:`TRAILING_INDEXED` (every image ending in it), and, of that many or more, the run last
    part first (:attr:`deep`). Listing each reader's images cost N steps a reader where N images
    end like every reader (O(N²)); now a reader is at most :data:`TRAILING_INDEXED` look-ups, an
    image's claim as many, and the unclaimed images of a look-up are kept once a set of readers."""

    __slots__ = (
        "_by_name",
        "_folded",
        "_index",
        "_of",
        "_readers",
        "_unclaimed",
        "deep",
        "deep_lengths",
        "exact",
        "exact_readers",
        "naming",
        "run_readers",
        "stronger",
        "suffix",
        "whole",
    )

    def __init__(self, index: ImageIndex, readers: Readers, stronger: Claims | None = None) -> None:
        self._index = index
        self._readers = readers
        self.stronger = stronger
        self._folded: Claims | None = None
        self._by_name: dict[int, list[str]] | None = None
        self.exact: set[str] = set()
        self.suffix: dict[tuple[str, ...], int] = {}
        self.naming: set[tuple[str, str | None]] = set()  # the readers that name an image by a path
        self.whole: set[tuple[str, str | None]] = set()  # those that name one by their exact path
        # the slide ids of the readers of an exact path, of a longest run, two at most: one image
        # two slides name alike is neither's (ids, not rows: two rows of one slide are one)
        self.exact_readers: dict[tuple[str, ...], list[str]] = {}
        self.run_readers: dict[tuple[str, ...], list[str]] = {}
        self.deep: dict[tuple[str, ...], int] = {}  # a run of TRAILING_INDEXED parts or more, last first
        self.deep_lengths: set[int] = set()
        self._of: dict[int, int] = {}
        self._unclaimed: dict[tuple[int, Any], list[int]] = {}

    def named(self, run: tuple[str, ...], reader: tuple[str, str | None], table: dict[Any, Any]) -> None:
        """Note that ``reader`` names an image by the path or trailing ``run`` (``table``:
        :attr:`exact_readers` or :attr:`run_readers`)."""
        self.naming.add(reader)
        named_by = table.setdefault(run, [])
        if len(named_by) < 2 and reader[0] not in named_by:  # whichever rows come first
            named_by.append(reader[0])

    def claim_run(self, parts: tuple[str, ...], n: int, reader: tuple[str, str | None]) -> None:
        """Note that ``reader`` (its path's ``parts``) names the images ending in its last ``n``
        parts (two or more)."""
        if n < TRAILING_INDEXED:
            self.suffix[parts[-n:]] = n
        else:
            ends = tuple(reversed(parts[-MAX_TRAILING:]))[:n]
            self.deep[ends] = n
            self.deep_lengths.add(n)
        self.named(parts[-n:], reader, self.run_readers)

    def forget(self) -> None:
        """Drop what was worked out from the claims so far (more were noted)."""
        self._of.clear()
        self._unclaimed.clear()

    def picks(self, reader: tuple[str, str | None]) -> bool:
        """Whether ``reader``'s path picks an image of this index, none claimed away from it by
        another reader (a reader whose longest run is all other readers' picks folded next)."""
        if reader in self.whole:  # its exact path: nothing takes it away
            return True
        read = as_read(reader[1])
        return self._index._by_path(self._index.split(read) if read else (), self) is not None

    def folded(self) -> Claims:
        """The claims of the same readers in the folded index (:meth:`ImageIndex.folded`)."""
        if self._folded is None:
            self._folded = self._index.folded().claims(self._readers, self)
        return self._folded

    def of(self, k: int) -> int:
        """The most parts of image ``k``'s path some reader names it by (0 for none; past
        :data:`EXACT` where a reader names it as written and this is the folded index's)."""
        got = self._of.get(k)
        if got is None:
            if self.stronger is not None and self.stronger.of(k):
                self._of[k] = STRONGER
                return STRONGER
            got = 0
            if not self.naming:  # no reader names any image (by this index's paths)
                return got
            lengths = self.deep_lengths
            for parts in self._index.paths_of(k):
                ends = tuple(reversed(parts[-MAX_TRAILING:]))
                got = max([got, *(self.deep.get(ends[:n], 0) for n in lengths)])
                if "/".join(parts) in self.exact:
                    got = EXACT
                for n in range(2, min(len(parts), TRAILING_INDEXED - 1) + 1):
                    got = max(got, self.suffix.get(parts[-n:], 0))
            self._of[k] = got
        return got

    def picked_by_another(self, k: int, slide_id: str) -> bool:
        """Whether a reader other than ``slide_id`` picks image ``k`` alone by the name rule (no
        path rule giving it an image): the slide ``s1`` at ``s2.svs`` and the slide ``id0`` at
        ``c/c/s1.tiff`` (listed as ``C/C/S1.TIFF``) both picked the image ``s1``, the first one's
        lesions given to the second. The readers' name-rule picks are found once a set of
        readers, each a few look-ups."""
        if self._by_name is None:
            self._by_name = {}
            written = self.stronger or self  # the name rule's claims are the folded index's
            for sid, image in self._readers:
                read = as_read(image)
                if written._index._path_rules(read, written, None) is not None:
                    continue
                found = written._index._by_name(sid, read, self)
                if found.n == 1:
                    self._by_name.setdefault(found.images[0], []).append(sid)
        return any(sid != slide_id for sid in self._by_name.get(k, ()))

    def unclaimed(self, table: dict[Any, list[int]], key: Any, n: int) -> list[int]:
        """The images ``table`` keeps under ``key`` that no reader names by more than ``n``
        parts, in the file's order (computed once a key)."""
        got = self._unclaimed.get((n, key))
        if got is None:
            got = [k for k in table.get(key, []) if self.of(k) <= n]
            self._unclaimed[(n, key)] = got
        return got


class Found(NamedTuple):
    """What :meth:`ImageIndex.find` picks: the images (at least the first
    :data:`LISTED_AT_MOST`), how many (``"N+"``: at least N), the name they go by, and whether a
    lone image is another reader's lone pick too, by the same trailing run
    (:attr:`Claims.run_readers`) or by the name rule (:meth:`Claims.picked_by_another`)."""

    images: list[int]
    n: int | str
    name: str
    shared: bool = False
    exact: bool = False  # picked by the exact path


LISTED_AT_MOST = 3
"""The most images an ``IMAGE_AMBIGUOUS_IN_FILE`` finding names (and the most the name rule
lists before counting the rest)."""

COUNTED_AT_MOST = 100
"""The most images of two or more of a slide's names (name, stem, slide id) counted one by one
for an ``IMAGE_AMBIGUOUS_IN_FILE`` finding; past it the finding says at least the most one of
the names picks (``34376+``): every slide of a file whose N images all go by two of its names
counted N, O(N²)."""


@functools.lru_cache(maxsize=8)
def readers_key(readers: Readers) -> str:
    """The digest of ``readers``, in no order of the process's (the result cache's key): computed
    once a set, which every item of a shared file holds (a set's hash is kept with it)."""
    ordered = sorted(readers, key=lambda r: (r[0], r[1] is not None, r[1] or ""))
    return hashlib.sha256(json.dumps(ordered).encode()).hexdigest()


EXACT = 1 << 30
"""What a reader naming an image by its exact path counts as in :meth:`ImageIndex.claimed` (more
than any run of trailing parts)."""

STRONGER = EXACT + 1
"""What an image a reader names as written counts as in the folded index's :meth:`Claims.of`."""

CLAIMED_KEPT = 8
"""The sets of readers an :class:`ImageIndex` keeps the claimed images of."""


class FileAnnotations(list[Annotation]):
    """A file's annotations as :func:`dqm.readers.parse_annotation` returns them, with the
    :class:`ImageIndex` of their images' names (one index a cached file, not one a reading).

    Read-only: the parse cache hands the same list to every item of a shared file (a copy an
    item cost each item the file's length: 34,376 images times 34,376 items); a method that would
    change it raises ``TypeError`` (``list(annotations)`` is a list to change)."""

    def __init__(self, annotations: list[Annotation]) -> None:
        super().__init__(annotations)
        self.names = ImageIndex(self)

    def __reduce__(self) -> tuple[Any, ...]:  # copied or pickled whole, not item by item
        return FileAnnotations, (list(self),)


def _read_only(self: FileAnnotations, *args: Any, **kwargs: Any) -> Any:
    raise TypeError("a file's annotations are shared by the parse cache: change list(annotations) instead")


for _name in (
    "__setitem__",
    "__delitem__",
    "__iadd__",
    "__imul__",
    "append",
    "extend",
    "insert",
    "pop",
    "remove",
    "clear",
    "sort",
    "reverse",
):
    setattr(FileAnnotations, _name, _read_only)


def unpicked_text(
    annotations: list[Annotation], readers: Readers, identifier_keys: str | None = None
) -> dict[str, Any]:
    """The text of the images of a file of many images that :func:`image_of` picks for none of
    its ``readers`` (the audit's manifest lists only some of a shared COCO file's images; an
    image two slides' names fit is picked by neither, and searched here), by pointer: each
    image's own and its lesions' properties (the class names of every image are the runner's
    ``_others_classes``). No item of the audit has these images, so the one that searches the file's
    own text searches them (:attr:`~dqm.model.Item.searches_file_text`), from the lesions'
    own texts, none of their lesions built (:func:`~dqm.readers.common.held.lesion_texts`); a
    value under a key the profile's ``identifier_keys`` name kept whatever it is, as in the parse
    (:func:`dqm.readers.parse_annotation`)."""
    with reading_keys(identifier_keys):
        return _unpicked(annotations, readers)


def _unpicked(annotations: list[Annotation], readers: Readers) -> dict[str, Any]:
    if not isinstance(annotations, FileAnnotations):  # one index for all the readers
        annotations = FileAnnotations(annotations)
    found = (image_of(annotations, slide_id, image, readers) for slide_id, image in readers)
    picked = {id(annotations[k]) for k in found if isinstance(k, int)}
    out: dict[str, Any] = {}
    for ann in annotations:
        if ann.image_key is None or id(ann) in picked:
            continue
        out.update(ann.properties)
        for where, _, properties in lesion_texts(ann):
            out.update(object_texts(properties, where))  # a key no format defines: by its position
    return out


def merged(annotations: list[Annotation]) -> Annotation:
    """All images of a multi-image file as one annotation, for validating the file on its own
    (their properties are keyed by pointer: an image's and the file's own text are all kept)."""
    first = annotations[0]
    issues = list(dict.fromkeys(i for ann in annotations for i in ann.issues))
    return Annotation(
        path=first.path,
        format=first.format,
        lesions=[lesion for ann in annotations for lesion in ann.lesions],
        n_values=sum(ann.n_values for ann in annotations),
        readable=all(ann.readable for ann in annotations),
        issues=issues,
        properties={key: value for ann in annotations for key, value in ann.properties.items()},
        file_text=first.file_text,
    )
