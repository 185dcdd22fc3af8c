"""A COCO file's lesions held in arrays, each image's built only when its item asks for it."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import numpy as np
import pytest

from dqm.model import Item
from dqm.profile import Limits, Profile
from dqm.readers import annotation_for_item, parse_annotation, resolve_classes
from dqm.readers.common import base, held
from dqm.readers.items import unpicked_text


def _coco(images: int, per_image: int, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    anns = []
    for i in range(1, images + 1):
        for k in range(per_image):
            x = 10 + 100 * k
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": i,
                    "category_id": 1 + k % 2,
                    "segmentation": [[x, 10, x + 50, 10, x + 50, 60, x, 60]],
                    "note": f"cut {i}.{k}",
                    **(extra or {}),
                }
            )
    return {
        "images": [
            {"id": i, "file_name": f"s{i}.svs", "width": 900, "height": 900} for i in range(1, images + 1)
        ],
        "annotations": anns,
        "categories": [{"id": 1, "name": "BCC"}, {"id": 2, "name": "SCC"}],
    }


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The index of each lesion built (its geometry made), in order."""
    made: list[int] = []
    real = base.lesion_as_read

    def counted(index: int, *args: Any, **kwargs: Any) -> Any:
        made.append(index)
        return real(index, *args, **kwargs)

    monkeypatch.setattr(held, "lesion_as_read", counted)
    return made


def test_a_coco_file_builds_only_the_lesions_of_the_image_an_item_asks_for(built: list[int]) -> None:
    """Every lesion of every image was built at the parse (a shapely geometry each), and kept in
    the parse cache, though an item checks only its own image's: now none is built at the parse,
    and an item's annotation comes with its own image's lesions, built once."""
    data = json.dumps(_coco(images=30, per_image=4)).encode()
    parsed = parse_annotation(data, "coco.json")
    assert len(parsed) == 30 and built == []
    ann = annotation_for_item(parsed, Item("s7", None, "coco.json", row=1), None)
    assert built == [24, 25, 26, 27]  # image 7's four annotations, each built once
    assert type(ann.lesions) is list and [les.raw_class for les in ann.lesions] == ["BCC", "SCC"] * 2
    first = ann.lesions[0]
    assert first.pointer == "/annotations/24" and first.properties == {"id": 25, "note": "cut 7.0"}
    assert first.geometry is not None and first.area == 2500.0 and first.is_valid
    assert first.polygons[0][0].tolist() == [[10, 10], [60, 10], [60, 60], [10, 60]]
    assert first.polygons[0][0].dtype == np.float64 and first.polygons[0][0].flags.owndata
    # the images no item has are searched for text without a lesion built
    text = unpicked_text(parsed, frozenset({("s7", None)}))
    assert text["/annotations/0/#1"] == "cut 1.0" and "/annotations/24/#1" not in text  # note: #1
    assert built == [24, 25, 26, 27]


def test_held_properties_come_back_as_read_whatever_their_values() -> None:
    """The properties are held as JSON text; a value JSON cannot write back exactly (NaN, an
    integer past 64 bits) keeps its lesion's properties as read, and types are kept (-0.0, 1.0,
    true, nested lists)."""
    odd = [
        {"score": -0.0, "n": 1.0, "ok": True, "attributes": {"a": [1, "x", None]}},
        {"score": math.nan},
        {"big": 2**70},
        {"inf": math.inf},
    ]
    store = held.LesionStore("annotations")
    for k, props in enumerate(odd):
        store.add(k, "BCC", [], props, False)
    store.done()
    for k, props in enumerate(odd):
        back = store.lesion(k).properties
        assert list(back) == list(props) and repr(back) == repr(props)
        assert [type(v) for v in back.values()] == [type(v) for v in props.values()]


def test_rle_holes_and_many_parts_are_built_as_read() -> None:
    """Rings of every polygon and hole come back in order, and an outline that could not be read
    stays without rings."""
    doc = _coco(images=1, per_image=0)
    pixels = np.zeros((6, 6), dtype=np.uint8)
    pixels[1:5, 1:5], pixels[2:4, 2:4] = 1, 0  # a square with a hole
    flat = pixels.flatten(order="F")  # COCO's column-major runs, zeros first
    edges = np.flatnonzero(np.diff(flat)) + 1
    mask = {"size": [6, 6], "counts": np.diff(np.r_[0, edges, flat.size]).tolist()}
    doc["annotations"] = [
        {"id": 1, "image_id": 1, "category_id": 1, "segmentation": mask},
        {
            "id": 2,
            "image_id": 1,
            "category_id": 1,
            "segmentation": [[0, 0, 5, 0, 5, 5], [9, 9, 12, 9, 12, 12]],
        },
        {"id": 3, "image_id": 1, "category_id": 1, "segmentation": [[0, 0, 5]]},
    ]
    (ann,) = parse_annotation(json.dumps(doc).encode(), "coco.json")
    lesions = list(ann.lesions)
    from dqm.readers.common import rle

    want = rle.rle_polygons(mask, Limits().rle_pixels)
    assert [[r.tolist() for r in poly] for poly in lesions[0].polygons] == [
        [r.tolist() for r in poly] for poly in want
    ]
    assert lesions[0].n_holes == 1
    assert [len(poly) for poly in lesions[1].polygons] == [1, 1] and lesions[1].n_vertices == 6
    assert lesions[2].polygons == [] and not lesions[2].outline_read
    assert [i.code for i in ann.issues] == ["BAD_VERTEX"]


def test_a_big_coco_file_is_held_to_its_own_memory_estimate(monkeypatch: pytest.MonkeyPatch) -> None:
    """A COCO file read in pieces holds its lesions in arrays: it is read within
    ``annotation_memory`` at :data:`COCO_VALUE_BYTES` a value and :data:`COCO_IMAGE_BYTES` an
    image, where any other file read in pieces (and COCO before) was refused at
    :data:`PIECE_VALUE_BYTES`; over that it is refused."""
    from dqm.readers import COCO_IMAGE_BYTES, COCO_VALUE_BYTES, PIECE_VALUE_BYTES, memory_needed
    from dqm.readers.common import pieces

    monkeypatch.setattr(pieces, "MIN_BYTES", 1000)
    data = json.dumps(_coco(images=20, per_image=10)).encode()
    need = memory_needed(data, COCO_VALUE_BYTES) + COCO_IMAGE_BYTES * 20
    assert need < memory_needed(data, PIECE_VALUE_BYTES)
    parsed = parse_annotation(data, "coco.json", Limits(annotation_memory=need))
    assert len(parsed) == 20 and all(ann.readable and len(ann.lesions) == 10 for ann in parsed)
    (refused,) = parse_annotation(data, "coco.json", Limits(annotation_memory=need - 1))
    assert [i.code for i in refused.issues] == ["LIMIT_EXCEEDED"] and not refused.readable


def test_a_big_coco_file_of_many_images_is_held_to_what_its_images_cost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An image holds far more than its few values tell (its entry, its annotation, pointers and
    names: 2.4 KB where its values came to 5 x 140 bytes): a COCO file of images without lesions
    peaked at twice the estimate. Read in pieces it is held to :data:`COCO_IMAGE_BYTES` an image
    besides its values."""
    from dqm.readers import COCO_IMAGE_BYTES, COCO_VALUE_BYTES, PIECE_VALUE_BYTES, memory_needed
    from dqm.readers.common import pieces

    monkeypatch.setattr(pieces, "MIN_BYTES", 1000)
    data = json.dumps(_coco(images=400, per_image=0)).encode()
    need = memory_needed(data, COCO_VALUE_BYTES) + COCO_IMAGE_BYTES * 400
    assert memory_needed(data, PIECE_VALUE_BYTES) < need
    (refused,) = parse_annotation(data, "coco.json", Limits(annotation_memory=need - 1))
    assert [i.code for i in refused.issues] == ["LIMIT_EXCEEDED"] and not refused.readable
    parsed = parse_annotation(data, "coco.json", Limits(annotation_memory=need))
    assert len(parsed) == 400 and all(ann.readable for ann in parsed)


def test_coco_images_without_a_file_name_are_counted_in_its_memory_estimate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Images were counted by the text ``"file_name"``, which the reader does not need (an image
    is named by its id): 200,000 ``{"id": i}`` images, 19.6 MB, were estimated at 44 MB and held
    299 MB, and a file of 380 MB would have been read at 4 GiB to hold ~40 GB. The entries of the
    ``images`` list are counted once it is parsed, before any lesion is read; and the parse cache
    counts what the images it keeps hold the same way."""
    from dqm import readers
    from dqm.readers import COCO_IMAGE_BYTES, COCO_VALUE_BYTES, memory_needed
    from dqm.readers.common import pieces

    monkeypatch.setattr(pieces, "MIN_BYTES", 1000)
    monkeypatch.setattr(readers, "CACHE_MIN_BYTES", 1000)
    doc = _coco(images=400, per_image=1)
    for image in doc["images"]:
        del image["file_name"]
    data = json.dumps(doc).encode()
    need = memory_needed(data, COCO_VALUE_BYTES) + COCO_IMAGE_BYTES * 400
    (refused,) = parse_annotation(data, "coco.json", Limits(annotation_memory=need - 1))
    assert [i.code for i in refused.issues] == ["LIMIT_EXCEEDED"] and not refused.readable
    limits = Limits(annotation_memory=need)
    parsed = parse_annotation(data, "coco.json", limits, "sha")
    assert len(parsed) == 400 and all(ann.readable and len(ann.lesions) == 1 for ann in parsed)
    assert parsed[6].image_key == "7"
    assert readers._CACHE[("coco.json", len(data), "sha", limits, None)][1] == need


def test_held_lesions_compare_by_store_and_numbers_and_kept_properties_are_copies() -> None:
    """``ann.lesions == ann.lesions`` raised ValueError (the built lesions' arrays compared), and
    properties JSON cannot write back exactly came back as the store's own dict: a caller that
    changed it changed every later build. Held lesions are equal when they are the same lesions
    of the same store; kept properties come back a copy each time."""
    data = json.dumps(_coco(images=2, per_image=2, extra={"nested": {"v": [1]}})).encode()
    data = data.replace(b'"nested"', b'"score": NaN, "nested"')
    first, second = parse_annotation(data, "coco.json")
    lesions = first.lesions
    assert isinstance(lesions, held.ImageLesions)
    assert lesions == lesions and lesions == held.ImageLesions(lesions.store, lesions.numbers)
    assert lesions != second.lesions and lesions != list(lesions) and lesions != []
    assert copy.deepcopy(lesions) == lesions and copy.deepcopy(lesions) != second.lesions
    plain = json.dumps(_coco(images=2, per_image=2)).encode()
    read, again = (parse_annotation(plain, "coco.json")[0] for _ in range(2))
    assert read.lesions is not again.lesions and read.lesions == again.lesions  # two reads alike
    (changed, _) = parse_annotation(plain.replace(b"cut 1.1", b"cut 9.9"), "coco.json")
    assert changed.lesions != read.lesions  # alike but for one property
    store, n = lesions.store, lesions.numbers[0]
    props = store.properties(n)
    assert math.isnan(props["score"]) and props["nested"] == {"v": [1]}
    props["nested"]["v"].append(2)
    props["score"] = 0
    again = store.properties(n)
    assert again is not props and math.isnan(again["score"]) and again["nested"] == {"v": [1]}


def test_resolving_a_coco_file_builds_each_lesion_once_though_no_label_changes(
    built: list[int], profile: Profile
) -> None:
    """``resolve_classes`` of a file's list builds each image's lesions into a list of its own,
    even when no class resolves to another label (classes the profile does not know): iterating
    the resolved annotation again builds nothing more."""
    doc = _coco(images=3, per_image=2)
    doc["categories"] = [{"id": 1, "name": "no such class"}, {"id": 2, "name": "nor this"}]
    parsed = parse_annotation(json.dumps(doc).encode(), "coco.json")
    resolved = resolve_classes(parsed, profile)
    assert built == [0, 1, 2, 3, 4, 5]
    for _ in range(2):
        assert [les.label for ann in resolved for les in ann.lesions] == [None] * 6
    assert built == [0, 1, 2, 3, 4, 5] and all(type(ann.lesions) is list for ann in resolved)


def test_no_properties_are_decoded_for_lesions_without_any_nor_for_picked_classes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each build decoded its lesion's properties, ``{}`` too; and the text of a file's unpicked
    images decoded every picked lesion's properties only to collect their class names. A lesion
    with no properties now skips the decode, and the picked classes are read from the class
    numbers held."""
    import orjson

    decoded: list[bytes] = []

    class Counting:
        dumps = staticmethod(orjson.dumps)
        JSONEncodeError = orjson.JSONEncodeError

        @staticmethod
        def loads(text: Any) -> Any:
            decoded.append(bytes(text))
            return orjson.loads(text)

    doc = _coco(images=3, per_image=2)
    for ann in doc["annotations"]:
        del ann["id"], ann["note"]
    doc["annotations"][1]["note"] = "picked"
    doc["annotations"][-1]["note"] = "kept"
    parsed = parse_annotation(json.dumps(doc).encode(), "coco.json")
    monkeypatch.setattr(held, "orjson", Counting)
    ann = annotation_for_item(parsed, Item("s1", None, "coco.json", row=1), None)
    assert [les.properties for les in ann.lesions] == [{}, {"note": "picked"}]
    assert decoded == [b'{"note":"picked"}']
    decoded.clear()
    text = unpicked_text(parsed, frozenset({("s1", None), ("s2", None)}))
    assert text == {"/images/2/file_name": "s3.svs", "/annotations/5/#1": "kept"}
    assert decoded == [b'{"note":"kept"}']
