"""Which annotation of a file belongs to an item: the one matching rule of the whole project.

A file may describe several images (COCO); the runner reads it once per item and keeps the
annotation this rule picks in the item's record, so nothing downstream (thumbnails, the review
sheet, validity) matches files to slides again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dqm.i18n import msg
from dqm.identifiers import key_holds_text
from dqm.model import Annotation, Item, ReadIssue
from dqm.readers.common.base import has_text, pointer
from dqm.readers.common.held import built, lesion_classes, lesion_texts


def annotation_for_item(annotations: list[Annotation], item: Item, image: str | None) -> Annotation:
    """The annotation of ``item`` among those one file holds.

    An image matches by its file name or stem against the item's slide file (``image``, the
    path as the batch names it) and slide_id. A file validated on its own (no manifest row, no
    slide) is judged whole (:func:`merged`); an item whose image the file does not list gets an
    ``IMAGE_NOT_IN_FILE`` issue. A file with one annotation is that annotation. The annotation
    comes with its lesions built (a file of many images holds them compactly until then:
    :mod:`dqm.readers.common.held`).
    """
    if len(annotations) == 1:
        return built(annotations[0])
    names = item_names(item, image)
    index = annotations.names if isinstance(annotations, FileAnnotations) else ImageIndex(annotations)
    k = index.first(names)
    if k is not None:
        return built(annotations[k])
    if image is None and item.row is None:
        return merged(annotations)
    if any(ann.image_key is not None for ann in annotations):
        first = annotations[0]
        return Annotation(
            path=first.path,
            format=first.format,
            n_values=1,
            issues=[
                ReadIssue(
                    "IMAGE_NOT_IN_FILE",
                    msg(
                        "none of the file's {n} images is named {names}",
                        n=len(annotations),
                        names=" or ".join(sorted(names)),
                    ),
                    "/images",
                )
            ],
            file_text=first.file_text,  # the file's own text is searched all the same
        )
    return built(annotations[0])


def item_names(item: Item, image: str | None) -> set[str]:
    """The names an item's image goes by in a file of many images: its slide id, and its slide
    file's name and stem (``image``, the path as the batch names it)."""
    names = {item.slide_id}
    if image:
        names |= {Path(image).name, Path(image).stem}
    return names


def image_names(ann: Annotation) -> set[str]:
    """The names the image ``ann`` is of goes by: its key and slide file, whole, as a file name
    and as a stem."""
    keys = {k for k in (ann.image_key, ann.slide_file) if k}
    return keys | {Path(k).name for k in keys} | {Path(k).stem for k in keys}


def is_named(ann: Annotation, names: set[str]) -> bool:
    """Whether the image ``ann`` is of goes by one of ``names`` (:func:`image_names`)."""
    return not image_names(ann).isdisjoint(names)


class ImageIndex:
    """Which annotation of a file of many images goes first by each name (:func:`image_names`):
    built once a file, at the first item looked up, where walking the images for each item cost
    0.37 s an item near the end of a COCO file of 34,376 images."""

    __slots__ = ("_annotations", "_first")

    def __init__(self, annotations: list[Annotation]) -> None:
        self._annotations = annotations
        self._first: dict[str, int] | None = None

    def first(self, names: set[str]) -> int | None:
        """The position of the first annotation whose image goes by one of ``names``, None when none does."""
        if self._first is None:
            self._first = {}
            for k, ann in enumerate(self._annotations):
                for name in image_names(ann):
                    self._first.setdefault(name, k)
        found = [self._first[name] for name in names if name in self._first]
        return min(found) if found else None


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


def unpicked_text(annotations: list[Annotation], names: set[str]) -> dict[str, Any]:
    """The text of the images of a file of many images that none of ``names`` picks (the audit's
    manifest lists only some of a shared COCO file's images), by pointer: each image's own, its
    lesions' properties, and a lesion's class when no picked lesion has it (at the lesion's
    ``category_id``). No item of the audit has these images, so the one that searches the file's
    own text searches them (:attr:`~dqm.model.Item.searches_file_text`), from the lesions'
    own texts, none of their lesions built (:func:`~dqm.readers.common.held.lesion_texts`)."""
    picked = {id(ann) for ann in annotations if is_named(ann, names)}
    classes: set[str | None] = set().union(*(lesion_classes(ann) for ann in annotations if id(ann) in picked))
    out: dict[str, Any] = {}
    for ann in annotations:
        if ann.image_key is None or id(ann) in picked:
            continue
        out.update(ann.properties)
        for where, raw_class, properties in lesion_texts(ann):
            if isinstance(raw_class, str) and raw_class not in classes:
                classes.add(raw_class)
                out[where + "/category_id"] = raw_class
            out.update(
                (where + pointer(key), value)
                for key, value in properties.items()
                if key_holds_text(str(key)) or has_text(value)
            )
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
