"""Which annotation of a file belongs to an item: the one matching rule of the whole project.

A file may describe several images (COCO); the runner reads it once per item and keeps the
annotation this rule picks in the item's record, so nothing downstream (thumbnails, the review
sheet, validity) matches files to slides again.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from dqm.i18n import msg
from dqm.identifiers import key_holds_text, reading_keys
from dqm.model import Annotation, Item, ReadIssue
from dqm.readers.common.base import has_text, pointer
from dqm.readers.common.held import built, lesion_classes, lesion_texts


def annotation_for_item(annotations: list[Annotation], item: Item, image: str | None) -> Annotation:
    """The annotation of ``item`` among those one file holds.

    The item's image is the one :func:`image_of` picks by the item's slide file (``image``, the
    path as the batch names it) and slide_id. A file validated on its own (no manifest row, no
    slide) is judged whole (:func:`merged`); an item whose image the file does not list gets an
    ``IMAGE_NOT_IN_FILE`` issue, one whose name two or more images go by (and no path tells
    apart) an ``IMAGE_AMBIGUOUS_IN_FILE`` issue. A file with one annotation is that annotation.
    The annotation comes with its lesions built (a file of many images holds them compactly
    until then: :mod:`dqm.readers.common.held`).
    """
    if len(annotations) == 1:
        return built(annotations[0])
    found = image_of(annotations, item.slide_id, image)
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


def image_of(annotations: list[Annotation], slide_id: str, image: str | None) -> int | ReadIssue:
    """The position of the slide's image among the images of a file of many (COCO), or the issue
    that says why none is: the one rule of the audit and the review sheet's outline loader.

    The slide's file (``image``, its path as the batch names it) picks first, by the most it
    says: the image named by the same path, then by the longest same run of trailing folders
    and name, then by the same file name, then by its name or stem as an image's name or stem;
    the ``slide_id`` last, as an image's name, file name or stem. The first of these that some
    image meets decides: one image is the slide's; two or more are ``IMAGE_AMBIGUOUS_IN_FILE``
    (``a/slide1.svs`` and ``b/slide1.svs`` listed by bare name: never the first one's lesions
    for both slides); none at all is ``IMAGE_NOT_IN_FILE``.
    """
    index = annotations.names if isinstance(annotations, FileAnnotations) else ImageIndex(annotations)
    found, name = index.find(slide_id, image)
    if len(found) == 1:
        return found[0]
    if found:
        keys = [annotations[k].image_key or "?" for k in found[:3]]
        return ReadIssue(
            "IMAGE_AMBIGUOUS_IN_FILE",
            msg(
                "{n} of the file's images go by the name {name} ({images}): which one is this "
                "slide's is not known, so none is read; name each image by its slide's path in the batch",
                n=len(found),
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
            names=" or ".join(sorted(item_names(slide_id, image))),
        ),
        "/images",
    )


def item_names(item: Item | str, image: str | None) -> set[str]:
    """The names an item's image goes by in a file of many images: its slide id (``item``'s, or
    ``item``), and its slide file's name and stem (``image``, the path as the batch names it)."""
    names = {item if isinstance(item, str) else item.slide_id}
    if image:
        names |= {PurePosixPath(image).name, PurePosixPath(image).stem}
    return names


def image_names(ann: Annotation) -> set[str]:
    """The names the image ``ann`` is of goes by: its key and slide file, whole, as a file name
    and as a stem."""
    keys = {k for k in (ann.image_key, ann.slide_file) if k}
    return keys | {PurePosixPath(k).name for k in keys} | {PurePosixPath(k).stem for k in keys}


def is_named(ann: Annotation, names: set[str]) -> bool:
    """Whether the image ``ann`` is of goes by one of ``names`` (:func:`image_names`)."""
    return not image_names(ann).isdisjoint(names)


def _parts(path: str) -> tuple[str, ...]:
    """A path's folders and name, ``.`` and empty ones left out (``./a//b.svs`` is ``a/b.svs``)."""
    return tuple(p for p in path.split("/") if p not in ("", "."))


class ImageIndex:
    """The images of a file of many images by each name they go by, for :func:`image_of`: built
    once a file, at the first item looked up, where walking the images for each item cost
    0.37 s an item near the end of a COCO file of 34,376 images."""

    __slots__ = ("_annotations", "_by")

    def __init__(self, annotations: list[Annotation]) -> None:
        self._annotations = annotations
        self._by: tuple[dict[Any, list[int]], ...] | None = None

    def _built(self) -> tuple[dict[Any, list[int]], ...]:
        """The positions of the images by path, by trailing run of two or more parts, by file
        name, and by any of :func:`image_names`, each in the file's order."""
        if self._by is None:
            by: tuple[dict[Any, list[int]], ...] = ({}, {}, {}, {})
            for k, ann in enumerate(self._annotations):
                parts = {_parts(key) for key in (ann.image_key, ann.slide_file) if key}
                names: list[set[Any]] = [
                    {"/".join(p) for p in parts},
                    {p[-n:] for p in parts for n in range(2, len(p) + 1)},
                    {p[-1] for p in parts if p},
                    image_names(ann),
                ]
                for table, keys in zip(by, names, strict=True):
                    for key in keys:
                        table.setdefault(key, []).append(k)
            self._by = by
        return self._by

    def find(self, slide_id: str, image: str | None) -> tuple[list[int], str]:
        """The positions of the images the first rule of :func:`image_of` that any image meets
        picks, with the name they go by; none and the slide id when no image goes by any."""
        path, trailing, file_name, named = self._built()
        asked: list[tuple[list[int], str]] = []
        if image:
            parts = _parts(image)
            if parts:
                asked.append((path.get("/".join(parts), []), "/".join(parts)))
                asked += [
                    (trailing.get(parts[-n:], []), "/".join(parts[-n:])) for n in range(len(parts), 1, -1)
                ]
                asked.append((file_name.get(parts[-1], []), parts[-1]))
                stem = PurePosixPath(parts[-1]).stem
                either = sorted({*named.get(parts[-1], []), *named.get(stem, [])})
                asked.append((either, stem))
        asked.append((named.get(slide_id, []), slide_id))
        return next(((found, name) for found, name in asked if found), ([], slide_id))


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
    annotations: list[Annotation], names: set[str], identifier_keys: str | None = None
) -> dict[str, Any]:
    """The text of the images of a file of many images that none of ``names`` picks (the audit's
    manifest lists only some of a shared COCO file's images), by pointer: each image's own, its
    lesions' properties, and a lesion's class when no picked lesion has it (at the lesion's
    ``category_id``). No item of the audit has these images, so the one that searches the file's
    own text searches them (:attr:`~dqm.model.Item.searches_file_text`), from the lesions'
    own texts, none of their lesions built (:func:`~dqm.readers.common.held.lesion_texts`); a
    value under a key the profile's ``identifier_keys`` name kept whatever it is, as in the parse
    (:func:`dqm.readers.parse_annotation`)."""
    with reading_keys(identifier_keys):
        return _unpicked(annotations, names)


def _unpicked(annotations: list[Annotation], names: set[str]) -> dict[str, Any]:
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
