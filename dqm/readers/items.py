"""Which annotation of a file belongs to an item: the one matching rule of the whole project.

A file may describe several images (COCO); the runner reads it once per item and keeps the
annotation this rule picks in the item's record, so nothing downstream (thumbnails, the review
sheet, validity) matches files to slides again.
"""

from __future__ import annotations

from pathlib import Path

from dqm.i18n import msg
from dqm.model import Annotation, Item, ReadIssue


def annotation_for_item(annotations: list[Annotation], item: Item, image: str | None) -> Annotation:
    """The annotation of ``item`` among those one file holds.

    An image matches by its file name or stem against the item's slide file (``image``, the
    path as the batch names it) and slide_id. A file validated on its own (no manifest row, no
    slide) is judged whole (:func:`merged`); an item whose image the file does not list gets an
    ``IMAGE_NOT_IN_FILE`` issue. A file with one annotation is that annotation.
    """
    if len(annotations) == 1:
        return annotations[0]
    names = {item.slide_id}
    if image:
        names |= {Path(image).name, Path(image).stem}
    for ann in annotations:
        keys = {k for k in (ann.image_key, ann.slide_file) if k}
        if keys & names or {Path(k).name for k in keys} & names or {Path(k).stem for k in keys} & names:
            return ann
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
    return annotations[0]


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
