"""Reader for COCO-style JSON: one file, many images (``images``, ``annotations``, ``categories``).

The file yields one :class:`~dqm.model.Annotation` per image (``image_key`` = its ``file_name``;
the runner picks the one of each slide). Each annotation with a segmentation is one lesion of
class ``categories[category_id].name``:

* polygon segmentation ``[[x1, y1, x2, y2, ...], ...]``: each list is one part (COCO polygons
  have no holes);
* RLE segmentation ``{size, counts}`` (compressed or not): decoded to exact pixel-edge polygons
  with holes (:mod:`dqm.readers.common.rle`); an undecodable RLE is ``COCO_BAD_RLE``;
* ``iscrowd: 1``: kept, with a ``COCO_CROWD`` warning (a crowd region groups several objects).

Checked once per file, reported on each image: annotations with only a ``bbox``
(``COCO_BBOX_ONLY``: a box is not a lesion outline, counted per image) and boxes that are not
COCO's ``[x, y, width, height]`` (``COCO_BBOX_NOT_XYWH``): every box with ``x2 > x1`` and
``y2 > y1`` in a file of at least :data:`XYXY_MIN_BOXES` boxes, or boxes that would leave their
image as ``[x, y, w, h]`` but fit as ``[x1, y1, x2, y2]``. References to unknown images or
categories are ``COCO_UNKNOWN_IMAGE`` / ``COCO_UNKNOWN_CATEGORY``.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dqm.i18n import msg
from dqm.identifiers import KEY_TEXT, key_holds_text, reader_keys
from dqm.model import Annotation, ReadIssue
from dqm.readers.common import pieces, rle
from dqm.readers.common.base import pointer, texts, to_float
from dqm.readers.common.held import ImageLesions, LesionStore, held
from dqm.readers.common.reader import Role, Syntax, limits

NAME = "coco"
TITLE = "COCO"
ROLE: Role = "annotation"
SYNTAX: Syntax = "json"
ROOT = None
XYXY_MIN_BOXES = 10


def looks(doc: Any, rel: str) -> bool:
    """A JSON object with ``images`` and ``annotations`` lists."""
    return isinstance(doc, dict) and isinstance(doc.get("images"), list) and "annotations" in doc


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _bbox(v: Any) -> tuple[float, float, float, float] | None:
    if isinstance(v, list) and len(v) == 4 and all(_num(c) for c in v):
        return to_float(v[0]), to_float(v[1]), to_float(v[2]), to_float(v[3])
    return None


def bbox_convention(
    boxes: list[tuple[float, float, float, float]], sizes: list[tuple[int | None, int | None]]
) -> str | None:
    """Why the boxes look like ``[x1, y1, x2, y2]``, or None when they look like COCO's xywh.

    Corners always have ``x2 > x1`` and ``y2 > y1``; real ``[x, y, w, h]`` boxes have that only
    near the top-left corner of the image. Every box increasing, in a file of at least
    :data:`XYXY_MIN_BOXES` boxes (or fewer when most boxes leave their image as xywh but fit as
    corners), is the xyxy convention.
    """
    if not boxes:
        return None
    arr = np.asarray(boxes)
    increasing = bool(((arr[:, 2] > arr[:, 0]) & (arr[:, 3] > arr[:, 1])).all())
    if not increasing:
        return None
    overflow = fits = 0
    for (x, y, c, d), (w, h) in zip(boxes, sizes, strict=True):
        if w is None or h is None:
            continue
        if x + c > w or y + d > h:
            overflow += 1
            if c <= w and d <= h:
                fits += 1
    if len(boxes) < XYXY_MIN_BOXES and not (overflow and 2 * fits >= overflow):
        return None
    if overflow:
        return msg(
            "bbox is not COCO's [x, y, width, height]: all {n} boxes have their third value above the "
            "first and the fourth above the second, as corners [x1, y1, x2, y2] do; read as "
            "[x, y, width, height] {overflow} of them would extend past their image, {fits} of those "
            "fit when read as corners",
            n=len(boxes),
            overflow=overflow,
            fits=fits,
        )
    return msg(
        "bbox is not COCO's [x, y, width, height]: all {n} boxes have their third value above the "
        "first and the fourth above the second, as corners [x1, y1, x2, y2] do",
        n=len(boxes),
    )


def _segmentation(seg: Any, where: list[Any], index: int, issues: list[ReadIssue]) -> tuple[list[Any], bool]:
    """``(polygons, read)`` of a COCO segmentation value."""
    ptr = pointer(*where)
    if isinstance(seg, dict):
        try:
            return rle.rle_polygons(seg, limits().rle_pixels), True
        except rle.RLEOverLimit as exc:
            why = msg(
                "the RLE decodes to {n} foreground pixels, over limits.rle_pixels = {limit} (not outlined)",
                n=exc.foreground,
                limit=exc.limit,
            )
            issues.append(ReadIssue("LIMIT_EXCEEDED", why, ptr, index))
            return [], False
        except rle.RLEError as exc:
            issues.append(
                ReadIssue(
                    "COCO_BAD_RLE",
                    msg("RLE segmentation cannot be decoded: {reason}", reason=exc),
                    ptr,
                    index,
                )
            )
            return [], False
    if not isinstance(seg, list):
        issues.append(
            ReadIssue("WRONG_TYPE", msg("segmentation must be a list of polygons or an RLE"), ptr, index)
        )
        return [], False
    polys = []
    vertex = 0
    for k, flat in enumerate(seg):
        if not isinstance(flat, list) or not all(_num(c) for c in flat):
            issues.append(
                ReadIssue(
                    "WRONG_TYPE", msg("polygon {k} must be a flat list of numbers", k=k), ptr, index, vertex
                )
            )
            return [], False
        if len(flat) % 2:
            issues.append(
                ReadIssue(
                    "BAD_VERTEX",
                    msg("polygon {k} has an odd number of values ({n}): x without y", k=k, n=len(flat)),
                    ptr,
                    index,
                    vertex + len(flat) // 2,
                )
            )
            return [], False
        ring = np.empty((len(flat) // 2, 2), dtype=np.float64)  # not a reshaped view: one array object
        ring.reshape(-1)[:] = [to_float(c) for c in flat]
        polys.append([ring])
        vertex += len(ring)
    return polys, True


def read(doc: Any, path: str, issues: list[ReadIssue]) -> list[Annotation]:
    """One annotation per image of a parsed COCO document."""
    file_issues = list(issues)
    anns = doc.get("annotations")
    if not isinstance(anns, list):
        file_issues.append(ReadIssue("WRONG_TYPE", msg("'annotations' must be a list"), "/annotations"))
        anns = []
    return _read(doc, enumerate(anns), path, file_issues)


def read_pieces(found: pieces.Pieces, path: str) -> list[Annotation] | None:
    """What :func:`read` makes of a big COCO file split around its ``annotations``, each parsed
    when its turn comes and made into its lesion at once (:mod:`dqm.readers.common.pieces`); None
    when it cannot be read so (the caller reads it whole)."""
    if found.key != "annotations":
        return None
    try:
        return _read(found.shell, found.items(), path, [])
    except pieces.NotPieces:
        return None


@dataclass(slots=True)
class _Found:
    """What the annotations of one image make: its lesions (their numbers in the file's
    :class:`~dqm.readers.common.held.LesionStore`), what was met in them (in file order), and the
    annotations with only a box and the crowd regions."""

    lesions: array[int] = field(default_factory=lambda: array("q"))
    issues: list[ReadIssue] = field(default_factory=list)
    bbox_only: list[int] = field(default_factory=list)
    crowd: list[int] = field(default_factory=list)
    n_values: int = 3
    text: dict[str, Any] = field(default_factory=dict)
    """The text of its annotations that make no lesion (a box only), by pointer."""


def _read(
    doc: Any, anns: Iterable[tuple[int, Any]], path: str, file_issues: list[ReadIssue]
) -> list[Annotation]:
    """One annotation per image of ``doc``, its annotations ``(index, annotation)`` read one by
    one (``doc``'s own ``annotations`` are not read)."""
    images = doc.get("images") or []
    categories: dict[int, str] = {}
    cats = doc.get("categories")
    if cats is None:
        file_issues.append(
            ReadIssue("MISSING_KEY", msg("required key {key!r} is missing", key="categories"), "/categories")
        )
    elif not isinstance(cats, list):
        file_issues.append(ReadIssue("WRONG_TYPE", msg("'categories' must be a list"), "/categories"))
    else:
        for k, cat in enumerate(cats):
            if isinstance(cat, dict) and _int(cat.get("id")) is not None and isinstance(cat.get("name"), str):
                categories[cat["id"]] = cat["name"]
            else:
                file_issues.append(
                    ReadIssue(
                        "WRONG_TYPE",
                        msg("a category needs an integer id and a string name"),
                        f"/categories/{k}",
                    )
                )

    by_id: dict[int, tuple[int, dict[str, Any]]] = {}
    by_name: dict[str, int] = {}
    again: list[int] = []  # images whose id or file name an earlier image has
    alias: dict[int, int] = {}  # the id of an image named as an earlier one -> the earlier one's
    for k, img in enumerate(images):
        if isinstance(img, dict) and _int(img.get("id")) is not None:
            name = img.get("file_name")
            if img["id"] in by_id or (isinstance(name, str) and name in by_name):
                again.append(k)
                if img["id"] not in by_id and isinstance(name, str):
                    alias[img["id"]] = images[by_name[name]]["id"]
                continue
            by_id[img["id"]] = (k, img)
            if isinstance(name, str):
                by_name[name] = k
        else:
            file_issues.append(ReadIssue("WRONG_TYPE", msg("an image needs an integer id"), f"/images/{k}"))
    if again:
        file_issues.append(_listed_again(images, again, by_id, by_name))

    found: dict[int, _Found] = {image_id: _Found() for image_id in by_id}
    store = LesionStore("annotations")  # every image's lesions, built when an item asks for them
    boxes: list[tuple[float, float, float, float]] = []
    box_sizes: list[tuple[int | None, int | None]] = []
    unknown_images: list[int] = []
    orphan_text: dict[str, Any] = {}  # the text of annotations no image has: the file's
    for k, a in anns:
        if not isinstance(a, dict):
            file_issues.append(
                ReadIssue("WRONG_TYPE", msg("an annotation must be an object"), f"/annotations/{k}")
            )
            orphan_text.update(texts(a, "annotations", k))
            continue
        image_id = _int(a.get("image_id"))
        image_id = alias.get(image_id, image_id)  # type: ignore[arg-type]
        if image_id not in by_id:
            unknown_images.append(k)
            orphan_text.update(_own_keys(a, "annotations", k))
            continue
        box = _bbox(a.get("bbox"))
        if box is not None:
            img = by_id[image_id][1]  # type: ignore[index]
            boxes.append(box)
            box_sizes.append((_int(img.get("width")), _int(img.get("height"))))
        _annotation(a, k, categories, found[image_id], store)  # type: ignore[index]
    store.done()
    if unknown_images:
        file_issues.append(
            ReadIssue(
                "COCO_UNKNOWN_IMAGE",
                msg(
                    "{n} annotation(s) refer to an image_id not in 'images' (first: index {first})",
                    n=len(unknown_images),
                    first=unknown_images[0],
                ),
                f"/annotations/{unknown_images[0]}/image_id",
            )
        )
    why = bbox_convention(boxes, box_sizes)
    if why:
        file_issues.append(ReadIssue("COCO_BBOX_NOT_XYWH", why, "/annotations"))

    out = [
        _image(img, k, image_id, found[image_id], store, path, file_issues)
        for image_id, (k, img) in by_id.items()
    ]
    text = {**_file_text(doc, set(store.classes)), **orphan_text}
    if not out:
        out.append(
            Annotation(
                path=path,
                format=NAME,
                n_values=1,
                issues=[
                    *file_issues,
                    ReadIssue("IMAGE_NOT_IN_FILE", msg("the COCO file lists no images"), "/images"),
                ],
            )
        )
    for ann in out:
        ann.file_text = text  # one dict for every image: one item of an audit searches it
    return out


_IMAGE_KEYS = frozenset({"images", "annotations"})
"""The top-level keys whose entries are the images' own (read into each image's annotation)."""


def _file_text(doc: dict[str, Any], classes: set[str | None]) -> dict[str, Any]:
    """The file's own text, by pointer, for the de-identification checks: every top-level value
    but ``images`` and ``annotations`` (``info``, ``licenses``, a vendor's ``hospital`` or
    ``patient``), an entry of a list or an object at its own pointer, ids left out and a
    category's name when a lesion is of it (searched as that lesion's class). Any value holding
    text: nested text is searched at its key's pointer. A key COCO does not define is named by its
    position (``/#1``), its name kept beside that pointer (:data:`dqm.identifiers.KEY_TEXT`) where it
    is more than a plain word: ``"Hong Gildong 900101-1234567": 1`` was searched as its pointer."""
    text: dict[str, Any] = {}
    shown = reader_keys().of(doc)  # a top-level key COCO does not define by its position (#1)
    for key, value in doc.items():
        if key in _IMAGE_KEYS:
            continue
        at = shown[key]
        if at != key and key_holds_text(key):  # its name searched as its pointer was, whatever it holds
            text[pointer(at) + KEY_TEXT] = key
        if not isinstance(value, list):
            text.update(texts(value, at, above=key))
            continue
        for k, entry in enumerate(value):
            name = entry.get("name") if isinstance(entry, dict) else None  # a list's is unhashable
            used = key == "categories" and isinstance(name, str) and name in classes
            text.update(texts(entry, at, k, skip=("id", "name") if used else ("id",)))
    return text


def _own_keys(a: dict[str, Any], *where: str | int) -> dict[str, Any]:
    """The keys of an annotation that makes no lesion (a box only, an unknown image) that hold
    text, by pointer: a tool's ``note`` or ``attributes`` there is searched all the same."""
    return texts(a, *where, skip=_READ_KEYS)


def _listed_again(
    images: list[Any], again: list[int], by_id: dict[int, tuple[int, dict[str, Any]]], by_name: dict[str, int]
) -> ReadIssue:
    """``COCO_DUPLICATE_IMAGE`` for the images whose id or file name an earlier one has (their
    annotations go to the earlier one: the slide is matched to one image of the file)."""
    k = again[0]
    img = images[k]
    name = img.get("file_name")
    first = by_name[name] if isinstance(name, str) and name in by_name else by_id[img["id"]][0]
    return ReadIssue(
        "COCO_DUPLICATE_IMAGE",
        msg(
            "{n} image(s) repeat the id or file name of an earlier one (first: index {k} repeats index "
            "{first}): one slide is one image, their annotations are read as the earlier one's",
            n=len(again),
            k=k,
            first=first,
        ),
        f"/images/{k}",
    )


_READ_KEYS = frozenset({"segmentation", "image_id", "category_id"})
"""An annotation's keys the reader turns into the lesion; the others are its properties."""


def _annotation(
    a: dict[str, Any], idx: int, categories: dict[int, str], found: _Found, store: LesionStore
) -> None:
    """What annotation ``idx`` of an image makes: its lesion (into ``store``) and what was met in
    it, into ``found``."""
    where = ["annotations", idx]
    seg = a.get("segmentation")
    if seg is None or seg == []:
        found.bbox_only.append(idx)
        found.n_values += 1
        found.text.update(_own_keys(a, "annotations", idx))
        return
    found.n_values += 2
    cat = _int(a.get("category_id"))
    raw_class = categories.get(cat) if cat is not None else None
    if raw_class is None:
        found.issues.append(
            ReadIssue(
                "COCO_UNKNOWN_CATEGORY",
                msg("category_id {id!r} is not in 'categories'", id=a.get("category_id")),
                pointer(*where, "category_id"),
                idx,
            )
        )
    polys, read = _segmentation(seg, [*where, "segmentation"], idx, found.issues)
    if a.get("iscrowd") in (1, True):
        found.crowd.append(idx)
    # every key but the outline and the references: a tool's own (CVAT's ``attributes``, a
    # ``note``) may hold free text, which the de-identification checks search
    props = {key: value for key, value in a.items() if key not in _READ_KEYS}
    found.lesions.append(store.add(idx, raw_class, polys, props, read))


def _image(
    img: dict[str, Any],
    k: int,
    image_id: int,
    found: _Found,
    store: LesionStore,
    path: str,
    file_issues: list[ReadIssue],
) -> Annotation:
    issues = [*file_issues, *found.issues]
    name = img.get("file_name")
    ann = Annotation(
        path=path,
        format=NAME,
        slide_file=name if isinstance(name, str) else None,
        image_key=name if isinstance(name, str) else str(image_id),
        width=_int(img.get("width")),
        height=_int(img.get("height")),
        lesions=held(ImageLesions(store, found.lesions)),
        issues=issues,
        slide_pointers={key: pointer("images", k, key) for key in ("width", "height")},
    )
    ann.properties = {**texts(img, "images", k), **found.text}
    bbox_only, crowd = found.bbox_only, found.crowd
    if bbox_only:
        issues.append(
            ReadIssue(
                "COCO_BBOX_ONLY",
                msg(
                    "{n} annotation(s) of image {image!r} have a bbox but no segmentation: "
                    "a box is not a lesion outline",
                    n=len(bbox_only),
                    image=ann.image_key,
                ),
                pointer("annotations", bbox_only[0]),
            )
        )
    if crowd:
        issues.append(
            ReadIssue(
                "COCO_CROWD",
                msg("{n} annotation(s) are iscrowd regions (several objects in one outline)", n=len(crowd)),
                pointer("annotations", crowd[0]),
                crowd[0],
            )
        )
    ann.n_values = found.n_values
    return ann
