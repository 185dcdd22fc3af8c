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
