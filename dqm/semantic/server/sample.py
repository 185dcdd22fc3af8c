"""What the review server shows of the sample: slides by number, clinical records, outlines.

Everything read from the batch passes through here, read only: the plan names the slides, the
batch's discovery gives their clinical records, and annotation files are read (inside the batch
jail, :func:`dqm.batch.jailed`) when a slide is first opened. Every string that came from the batch
is masked with the profile's de-identification patterns (:class:`dqm.identifiers.Masker`) and its
characters that do not show written as escapes (:func:`dqm.output.visible`: a right-to-left override
in a name shows as ``\\u202e``) before it leaves this module; the page escapes it again when it
shows it. Reviewers see no design
information (weights, flags): the review stays blind to why a slide was drawn.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dqm.clinical_table import IDENTIFYING
from dqm.i18n import gettext
from dqm.identifiers import Masker
from dqm.model import Annotation, Item
from dqm.output import visible
from dqm.profile import Profile
from dqm.semantic.models import REASONS, ReviewPlan
from dqm.semantic.sheet import REASON_LABELS, UNKNOWN_COLOUR, class_name, simplified

MAX_VERTICES = 200_000
"""Vertices of one slide's outlines sent to the browser at most (simplified further beyond)."""
OUTLINE_CACHE = 32


@dataclass(frozen=True, slots=True)
class SampleSlide:
    n: int
    slide_id: str
    stratum: str
    image_path: str | None
    annotation_path: str | None
    record: dict[str, Any]
    item: Item | None = None
    """The batch's item of the slide, when the batch has it: its annotation's image is picked by
    its slide id and the file's other readers, as the audit picks it."""
    readers: frozenset[tuple[str, str | None]] = frozenset()
    """For a slide the batch does not list: itself and the batch's slides that read its file (an
    image one of them names by its path is never this slide's)."""


class ReviewSample:
    """The sample of one plan over one batch folder, as the server shows it."""

    def __init__(
        self, plan: ReviewPlan, root: Path, profile: Profile, masker: Masker, lang: str = "en"
    ) -> None:
        from dqm.batch import as_read, discover, normalise

        self.lang = lang
        """The language of the reasons and class names the reviewers read."""
        self.plan = plan
        self.root = root
        self.profile = profile
        self.mask = masker
        items: dict[str, Item] = {}
        sharing: dict[str, set[tuple[str, str | None]]] = {}  # each file's readers in the batch
        for item in discover(root).items:
            items.setdefault(item.slide_id, item)
            if item.annotation_path:
                reader = (item.slide_id, as_read(item.image_path))
                sharing.setdefault(normalise(item.annotation_path)[0], set()).add(reader)
        masked: dict[str, Item] = {}  # a plan written by `dqm sample` names slides and paths masked
        for item in items.values():
            masked.setdefault(masker(item.slide_id), item)
        self.slides: list[SampleSlide] = []
        for n, s in enumerate(plan.sample):
            found = masked.get(s.slide_id)
            image, annotation = (
                (
                    self._path(s.image_path, found.image_path),
                    self._path(s.annotation_path, found.annotation_path),
                )
                if found
                else (s.image_path, s.annotation_path)
            )
            found = found or items.get(s.slide_id)
            readers: frozenset[tuple[str, str | None]] = frozenset()
            if found is None and annotation:
                readers = frozenset(
                    {(s.slide_id, as_read(image))} | sharing.get(normalise(annotation)[0], set())
                )
            record = dict(found.record) if found else {}
            self.slides.append(
                SampleSlide(n, s.slide_id, s.stratum, image, annotation, record, found, readers)
            )
        items.update(masked)
        self.missing_from_batch = [s.slide_id for s in plan.sample if s.slide_id not in items]
        self._outlines: OrderedDict[int, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def _path(self, planned: str | None, delivered: str | None) -> str | None:
        """The batch's own path for that slide when the plan names it, as it is or masked (a
        masked path cannot be opened), else the path the plan names; either way the tile and
        annotation routes open it only inside the batch jail. (The plan's path is compared with
        the batch's masked: masking a path the plan already holds masked leaves it as it is.)"""
        if delivered is not None and planned in (delivered, self.mask(delivered)):
            return delivered
        return planned

    def text(self, value: Any) -> str:
        """A value from the batch as masked text, shown as it is (:func:`~dqm.output.visible`)."""
        return visible(self.mask(value if isinstance(value, str) else str(value)))

    def summary(self) -> list[dict[str, Any]]:
        """One line per slide for the slide list (number, masked id, stratum)."""
        return [{"n": s.n, "id": self.text(s.slide_id), "stratum": self.text(s.stratum)} for s in self.slides]

    def classes(self) -> list[dict[str, str]]:
        return [
            {"cls": c.id, "name": class_name(self.profile, c.id, self.lang), "colour": c.colour}
            for c in self.profile.classes
        ]

    def reasons(self) -> list[dict[str, str]]:
        return [{"id": r, "label": gettext(REASON_LABELS[r], self.lang)} for r in REASONS]

    def record(self, slide: SampleSlide, annotation: Annotation | None) -> list[list[str]]:
        """The clinical record as (field, value) pairs: the manifest row's fields the profile
        declares, else the annotation's clinical block's, the identifying ones left out
        (:data:`~dqm.clinical_table.IDENTIFYING`), as the review sheet and ``results.json`` show
        them (:class:`~dqm.model.ItemSummary`'s ``clinical``). Every column was shown, by name:
        a column the profile does not declare is named by its position elsewhere (its name may
        be a person's, which no pattern masks), and ``patient_id`` is left out everywhere else."""
        shown = self.profile.clinical.keys() - IDENTIFYING
        source = {k: v for k, v in slide.record.items() if k in shown}
        if not source and annotation is not None:
            source = {k: v for k, v in annotation.clinical.items() if k in shown}
        return [
            [self.text(k), self.text(v)]
            for k, v in source.items()
            if v not in (None, "") and not isinstance(v, dict | list)
        ]

    def detail(self, n: int) -> dict[str, Any]:
        """Record, outlines (level-0 pixels) and class counts of slide ``n`` (cached)."""
        with self._lock:
            hit = self._outlines.get(n)
            if hit is not None:
                self._outlines.move_to_end(n)
                return hit
        slide = self.slides[n]
        annotation, problem = self._annotation(slide)
        shapes, counts = self._shapes(annotation)
        ids = set(self.profile.class_ids)
        out = {
            "n": n,
            "id": self.text(slide.slide_id),
            "stratum": self.text(slide.stratum),
            "record": self.record(slide, annotation),
            "annotation_problem": None if problem is None else self.text(problem),
            "shapes": shapes,
            "classes": [
                {
                    "cls": self.text(k),
                    "name": class_name(self.profile, k if k in ids else self.text(k), self.lang),
                    "colour": self.profile.class_def(k).colour if k in ids else UNKNOWN_COLOUR,
                    "count": c,
                }
                for k, c in sorted(counts.items())
            ],
        }
        with self._lock:
            self._outlines[n] = out
            while len(self._outlines) > OUTLINE_CACHE:
                self._outlines.popitem(last=False)
        return out

    def _annotation(self, slide: SampleSlide) -> tuple[Annotation | None, str | None]:
        from dqm.batch import jailed
        from dqm.model import Item
        from dqm.readers import annotation_for_item, read_annotation, resolve_classes

        if not slide.annotation_path:
            return None, "the slide has no annotation file"
        path, why = jailed(self.root, slide.annotation_path)
        if path is None:
            return None, f"the annotation file is not read: {why}"
        rel = path.relative_to(self.root).as_posix()
        annotations = read_annotation(path, rel)
        if not annotations:
            return None, "the annotation file holds no annotation"
        item = Item(slide.slide_id, slide.image_path, slide.annotation_path, {}, row=0)
        if slide.item is not None:  # the audit's item: its own slide id, the file's other readers
            item.slide_id, item.file_readers = slide.item.slide_id, slide.item.file_readers
        else:  # a slide the batch does not list: the batch's readers of the file too
            item.file_readers = slide.readers
        ann = resolve_classes(annotation_for_item(annotations, item, slide.image_path), self.profile)
        if not ann.readable:
            return ann, "the annotation file cannot be read (see the audit's findings)"
        return ann, None

    def _shapes(self, annotation: Annotation | None) -> tuple[list[dict[str, Any]], dict[str, int]]:
        if annotation is None:
            return [], {}
        ids = set(self.profile.class_ids)
        total = sum(
            len(r)
            for lesion in annotation.lesions
            for poly in lesion.polygons
            for r in poly
            if hasattr(r, "__len__")
        )
        tolerance = 0.5 if total <= MAX_VERTICES else 0.5 * total / MAX_VERTICES
        shapes: list[dict[str, Any]] = []
        counts: dict[str, int] = {}
        for lesion in annotation.lesions:
            key = lesion.label or lesion.raw_class or "?"
            counts[key] = counts.get(key, 0) + 1
            rings = []
            for poly in lesion.polygons:
                for ring in poly:
                    pts = np.asarray(ring, dtype=float)
                    if pts.ndim != 2 or pts.shape[1] < 2:
                        continue
                    pts = pts[:, :2][np.isfinite(pts[:, :2]).all(axis=1)]
                    if len(pts) < 2:
                        continue
                    if len(pts) > 8:
                        pts = simplified(pts, tolerance)
                    rings.append(np.round(pts, 1).tolist())
            if not rings:
                continue
            known = lesion.label in ids
            shapes.append(
                {
                    "cls": self.text(key),
                    "colour": self.profile.class_def(key).colour if known else UNKNOWN_COLOUR,
                    "rings": rings,
                }
            )
        return shapes, counts
