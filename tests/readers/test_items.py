"""The one rule that says which annotation of a (multi-image) file belongs to an item."""

from __future__ import annotations

from dqm.model import Annotation, Item, Lesion
from dqm.readers import annotation_for_item, merged


def _image(key: str, n_lesions: int) -> Annotation:
    lesions = [Lesion(i, f"/annotations/{i}", "BCC", "BCC", []) for i in range(n_lesions)]
    return Annotation(path="coco.json", format="coco", image_key=key, lesions=lesions, n_values=3)


def test_an_image_matches_by_name_stem_or_slide_id() -> None:
    anns = [_image("a.tiff", 1), _image("dir/b.tiff", 2)]
    assert annotation_for_item(anns, Item("x", "slides/b.svs", "coco.json"), "slides/b.svs") is anns[1]
    assert annotation_for_item(anns, Item("a", None, "coco.json", row=1), None) is anns[0]
    assert annotation_for_item(anns[:1], Item("zzz", None, "coco.json", row=1), None) is anns[0]


def test_an_unlisted_item_gets_an_issue_and_a_lone_file_is_judged_whole() -> None:
    anns = [_image("a.tiff", 1), _image("b.tiff", 2)]
    missing = annotation_for_item(anns, Item("c", "c.svs", "coco.json", row=3), "c.svs")
    assert [i.code for i in missing.issues] == ["IMAGE_NOT_IN_FILE"] and not missing.lesions
    whole = annotation_for_item(anns, Item("coco", None, "coco.json"), None)
    assert len(whole.lesions) == 3 and whole.n_values == 6
    assert merged(anns).lesions == whole.lesions


def test_a_cached_files_image_index_is_built_once_and_picks_as_the_walk_did(monkeypatch) -> None:
    """Each item walked every image of a shared COCO file (0.37 s an item near the end of 34,376
    images): the names are indexed once a file, kept with its parse cache entry, and the image
    picked is the one a walk of the file picks (the same file name before a stem: ``b.svs``,
    not the first image ``dir/b.tiff`` of stem ``b``; two images of stem ``a`` are ambiguous)."""
    import json

    from dqm import readers
    from dqm.readers import items, parse_annotation

    monkeypatch.setattr(readers, "CACHE_MIN_BYTES", 0)
    readers._CACHE.clear()
    names = ["a.tiff", "dir/b.tiff", "b.svs", "c.tiff", "a.svs"]
    doc = {
        "images": [{"id": k, "file_name": n, "width": 9, "height": 9} for k, n in enumerate(names, 1)],
        "annotations": [],
        "categories": [],
    }
    data = json.dumps(doc).encode()
    built = []
    real = items.image_names
    monkeypatch.setattr(items, "image_names", lambda ann: built.append(ann) or real(ann))
    for slide, image, want in [
        ("x", "slides/b.svs", "b.svs"),
        ("a", None, "IMAGE_AMBIGUOUS_IN_FILE"),
        ("c", "c.svs", "c.tiff"),
    ]:
        parsed = parse_annotation(data, "coco.json")
        got = annotation_for_item(parsed, Item(slide, image, "coco.json", row=1), image)
        assert (got.image_key or got.issues[0].code) == want
        walked = annotation_for_item(list(parsed), Item(slide, image, "coco.json", row=1), image)
        assert (got.slide_pointers, got.issues) == (walked.slide_pointers, walked.issues)  # the same image
    assert len(built) == len(names) + 3 * len(names)  # the index once; the plain lists walked
    readers._CACHE.clear()


def test_the_parse_cache_hands_every_item_the_same_read_only_list(monkeypatch) -> None:
    """Each item got a copy of a cached file's list of annotations: 34,376 images copied for each
    of 34,376 items. The list is shared, and a change to it raises instead of reaching the cache."""
    import copy
    import json

    import pytest

    from dqm import readers
    from dqm.readers import parse_annotation

    monkeypatch.setattr(readers, "CACHE_MIN_BYTES", 0)
    readers._CACHE.clear()
    doc = {"images": [{"id": k, "file_name": f"{k}.svs", "width": 9, "height": 9} for k in (1, 2)]}
    data = json.dumps({**doc, "annotations": [], "categories": []}).encode()
    first = parse_annotation(data, "coco.json")
    assert parse_annotation(data, "coco.json") is first
    for change in (
        lambda a: a.append(a[0]),
        lambda a: a.pop(),
        lambda a: a.__setitem__(0, a[1]),
        lambda a: a.sort(),
    ):
        with pytest.raises(TypeError):
            change(first)
    assert len(first) == 2 and copy.deepcopy(first) == first
    readers._CACHE.clear()


def test_a_shared_files_image_is_found_by_the_slides_path_before_its_name() -> None:
    """``a/slide1.svs`` and ``b/slide1.svs`` listed in one COCO file: both slides got the first
    image's lesions (matched by file name). The path picks first, then the longest run of
    trailing folders, then the unique name; a name two images go by, with no path to tell them
    apart, is ``IMAGE_AMBIGUOUS_IN_FILE`` for the item, never the first one's lesions."""
    from dqm.readers.items import image_of

    anns = [_image("b/slide1.svs", 2), _image("a/slide1.svs", 1), _image("./c/x/slide2.svs", 3)]
    for image, want in [
        ("a/slide1.svs", 1),
        ("b/slide1.svs", 0),
        ("data/a/slide1.svs", 1),  # the batch's path ends in the file's
        ("x/slide2.svs", 2),  # the file's path ends in the batch's
        ("slide2.tiff", 2),  # one image of that stem
    ]:
        assert image_of(anns, "id", image) == want, image
        assert annotation_for_item(anns, Item("id", image, "coco.json", row=1), image) is anns[want]
    for image in ("c/slide1.svs", "slide1.svs", None):
        got = annotation_for_item(anns, Item("slide1", image, "coco.json", row=1), image)
        assert [i.code for i in got.issues] == ["IMAGE_AMBIGUOUS_IN_FILE"] and not got.lesions, image
        assert "b/slide1.svs, a/slide1.svs" in got.issues[0].message
    lone = annotation_for_item(anns, Item("slide1", None, "coco.json"), None)  # the file on its own
    assert len(lone.lesions) == 6 and not lone.issues
