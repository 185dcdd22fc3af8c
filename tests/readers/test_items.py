"""The one rule that says which annotation of a (multi-image) file belongs to an item."""

from __future__ import annotations

import functools
from typing import Any

from dqm.model import Annotation, Item, Lesion
from dqm.readers import annotation_for_item, merged
from tests.helpers import benchmark


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
    picked is the one a walk of the file picks (``b.svs`` by its file name and ``dir/b.tiff`` by
    its stem, two images of stem ``a``: ambiguous; the one image of stem ``c``: picked)."""
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
        ("x", "slides/b.svs", "IMAGE_AMBIGUOUS_IN_FILE"),
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


@functools.cache
def _bench() -> Any:
    """``benchmarks/bench_image_of.py``, whose random files the random layout tests check."""
    return benchmark("bench_image_of")


def _layout(keys: list[str], slides: list[tuple[str, str]]) -> dict[str, int | str]:
    """Each slide's pick (its image's position, or the issue's code) in a file listing ``keys``,
    every slide of ``slides`` (slide id, path) reading the file."""
    from dqm.readers.items import image_of

    anns = [_image(key, 1) for key in keys]
    readers = frozenset(slides)
    got = {sid: image_of(anns, sid, path, readers) for sid, path in slides}
    return {sid: k if isinstance(k, int) else k.code for sid, k in got.items()}


def test_a_name_never_beats_a_slides_own_image_that_goes_by_its_id_or_stem() -> None:
    """The image of the same file name was picked before the slide's own image named by its
    stem or slide id (a name rule picking before the next): ``A.png`` (slide ``A``'s) and
    ``b/slide1.svs`` both went to slide ``B``'s image. The file name, the name or stem and the
    slide id are one rule (two images: ambiguous), and an image another slide of the file names
    by its path is that slide's."""
    assert _layout(["A.png", "b/slide1.svs"], [("A", "a/slide1.svs"), ("B", "b/slide1.svs")]) == {
        "A": 0,
        "B": 1,
    }
    assert _layout(["a/slide1.png", "b/slide1.svs"], [("A", "a/slide1.svs"), ("B", "b/slide1.svs")]) == {
        "A": 0,
        "B": 1,
    }
    # slide "2" at scans/1.svs: 2.png by its id, 1.png by its stem (slide "1"'s): not known which
    assert _layout(["2.png", "1.png"], [("2", "scans/1.svs"), ("1", "scans/0.svs")]) == {
        "2": "IMAGE_AMBIGUOUS_IN_FILE",
        "1": 1,
    }
    # an image another slide names by more of its path is that slide's
    assert _layout(["s.svs", "a/A/c/a/s.svs"], [("x", "c/c/a/s.svs"), ("y", "A/c/a/s.svs")]) == {
        "x": 0,
        "y": 1,
    }
    # with nobody else's path to tell, the same two names are still ambiguous
    assert _layout(["A.png", "b/slide1.svs"], [("A", "a/slide1.svs")]) == {"A": "IMAGE_AMBIGUOUS_IN_FILE"}


def test_the_image_is_found_alike_by_the_batchs_path_as_written_and_as_read() -> None:
    """The audit asked with the cleaned path (``a/slide1.svs``), the review loader and server
    with the plan's as written (``./a\\slide1.svs``), and a COCO ``file_name`` written with
    ``\\`` was one name: the same image now, whichever way either is written."""
    from dqm.readers.items import image_of

    anns = [_image("a\\slide1.svs", 1), _image("b/slide1.svs", 2), _image("z/../c/slide1.svs", 3)]
    for written in ("a/slide1.svs", "./a\\slide1.svs", "a//slide1.svs", "x/../a/slide1.svs"):
        assert image_of(anns, "id", written) == 0, written
    assert image_of(anns, "id", "c/slide1.svs") == 2


def test_a_file_name_of_many_folders_is_indexed_in_linear_memory() -> None:
    """Every trailing run of an image's folders was a key of the index: a ``file_name`` of 40,000
    folders (80 KB) took 6.4 GB and raised MemoryError. Under a 1 GB address space a child
    process indexes it and picks both images."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        """
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        from dqm.model import Annotation
        from dqm.readers.items import image_of
        deep = "a/" * 40000 + "slide1.svs"
        anns = [Annotation(path="c.json", format="coco", image_key=k) for k in (deep, "b/s2.svs")]
        print(image_of(anns, "x", "b/s2.svs"), image_of(anns, "y", "a/a/slide1.svs"))
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["1", "0"]


def test_a_random_layouts_picks_are_the_slides_own_images_or_said_to_be_ambiguous() -> None:
    """Random files of 2–5 slides' images, each listed by a path, a trailing part, a name, a stem,
    another extension or the slide id (known truth: no image a path names is another slide's).
    Where the old rule (the first image any of the slide's names fits) had one candidate, the
    same one is picked; wherever the slide's own image is a candidate, it is the one picked or
    the slide is IMAGE_AMBIGUOUS_IN_FILE: never another slide's image (1,167 of 20,000 layouts
    before)."""
    import random

    from dqm.batch import normalise
    from dqm.readers.items import EXACT, _parts, _trailing, image_names, image_of, item_names

    def score(path: str, key: str) -> int:
        a, b = _parts(path), _parts(key)
        return EXACT if a == b else (n if (n := _trailing(a, b)) >= 2 else 0)

    checked = 0
    for seed in range(3000):
        layout = _bench().random_files(random.Random(seed), cased=False)
        if layout is None:
            continue
        slides, keys, truth = layout
        owner = [max(score(p, key) for p in slides.values()) for key in keys]
        mine = {k: sid for sid, k in truth.items()}
        if any(n and [score(p, keys[k]) for p in slides.values()].count(n) > 1 for k, n in enumerate(owner)):
            continue  # two slides' paths name one image alike: no truth to know
        if any(n and score(slides[mine[k]], keys[k]) != n for k, n in enumerate(owner)):
            continue  # another slide's path names the image more: the layout contradicts itself
        anns = [_image(key, 1) for key in keys]
        readers = frozenset((sid, normalise(path)[0]) for sid, path in slides.items())
        for sid, path in slides.items():
            got = image_of(anns, sid, path, readers)
            old = [k for k, a in enumerate(anns) if not image_names(a).isdisjoint(item_names(sid, path))]
            if len(old) == 1:
                assert got == old[0] or (owner[old[0]] and mine[old[0]] != sid), (seed, sid, path, keys)
            if truth[sid] in old or owner[truth[sid]]:
                assert got == truth[sid] or not isinstance(got, int), (seed, sid, path, keys)
            checked += 1
    assert checked > 3000


def test_paths_alike_in_more_folders_than_the_index_keeps_are_told_apart_by_the_rest() -> None:
    """The index keeps an image's last 2 to 8 parts (not every run: a ``file_name`` of 40,000
    folders took 6.4 GB); two images alike in their last 9 parts are told apart part by part,
    and one another slide names by more of its path is that slide's."""
    from dqm.readers.items import TRAILING_INDEXED, image_of

    tail = "/".join(f"f{i}" for i in range(TRAILING_INDEXED)) + "/scan.svs"  # 9 parts
    anns = [_image(f"p/q/{tail}", 1), _image(f"p/r/{tail}", 1), _image(f"s/{tail}", 1)]
    assert image_of(anns, "x", f"z/p/q/{tail}") == 0  # 11 parts alike, the others 9
    assert image_of(anns, "x", f"z/p/r/{tail}") == 1
    assert image_of(anns, "x", f"z/s/{tail}") == 2
    assert image_of(anns, "x", f"q/{tail}") == 0  # 10 parts alike
    assert not isinstance(image_of(anns, "x", tail), int)  # all three alike in 9
    readers = frozenset({("x", f"q/{tail}"), ("y", f"p/q/{tail}")})  # y's exact path: 0 is y's
    assert image_of(anns, "x", f"q/{tail}", readers).code == "IMAGE_AMBIGUOUS_IN_FILE"  # 1 or 2


class _CountedList(list[int]):
    """A list that counts how often it is walked."""

    walks = 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        _CountedList.walks += 1
        return super().__iter__()


def test_images_that_all_end_like_every_slide_are_walked_once_not_once_a_slide() -> None:
    """N images ``y<i>/a/scan.svs`` and N slides ``z<i>/a/scan.svs``: every image ends like every
    slide in two parts and none in three. Each slide and each reader walked the N images of that
    run (5.2 s CPU for 3,000 slides, O(N²)); the run's unclaimed images are now listed once for
    the file's readers, and each slide's finding names the first few and counts them all."""
    from dqm.readers.items import FileAnnotations, image_of

    n = 40
    anns = FileAnnotations([_image(f"y{i}/a/scan.svs", 0) for i in range(n)])
    readers = frozenset((f"id{i}", f"z{i}/a/scan.svs") for i in range(n))
    trailing = anns.names._built()[1]
    for key, found in trailing.items():
        trailing[key] = _CountedList(found)
    _CountedList.walks = 0
    picks = [image_of(anns, f"id{i}", f"z{i}/a/scan.svs", readers) for i in range(n)]
    assert _CountedList.walks <= 2
    for issue in picks:
        assert not isinstance(issue, int) and issue.code == "IMAGE_AMBIGUOUS_IN_FILE"
        assert issue.message.params["n"] == n
        assert issue.message.params["images"] == "y0/a/scan.svs, y1/a/scan.svs, y2/a/scan.svs, …"
    # a slide whose own image is there still picks it, the others left to their readers
    own = FileAnnotations([_image(f"y{i}/a/scan.svs", 0) for i in range(n)] + [_image("w/z0/a/scan.svs", 0)])
    assert image_of(own, "id0", "z0/a/scan.svs", readers) == n


def test_images_of_two_of_a_slides_names_are_listed_first_few_and_counted() -> None:
    """A slide's name rule unites the images of its name, stem and id: the finding lists the
    first images in the file's order and counts each image once; past
    :data:`~dqm.readers.items.COUNTED_AT_MOST` it says at least the most one name picks."""
    from dqm.readers.items import COUNTED_AT_MOST, FileAnnotations, image_of

    keys = ["q/scan", "p/scan.svs", "o/scan.svs", "r/scan"]
    anns = FileAnnotations([_image(k, 0) for k in keys])
    issue = image_of(anns, "id", "z/scan.svs", frozenset({("id", "z/scan.svs")}))
    assert not isinstance(issue, int)
    assert issue.message.params["n"] == 4
    assert issue.message.params["images"] == "q/scan, p/scan.svs, o/scan.svs, …"
    many = COUNTED_AT_MOST
    anns = FileAnnotations([_image(f"y{i}/scan.svs", 0) for i in range(many)] + [_image("x/scan", 0)])
    issue = image_of(anns, "scan", "z/scan.svs", frozenset({("scan", "z/scan.svs")}))
    assert not isinstance(issue, int)
    assert issue.message.params["n"] == f"{many + 1}+"


def test_an_image_two_slides_names_fit_is_neither_slides() -> None:
    """The slide ``s1`` at ``s2.svs`` and the slide ``id0`` at ``c/c/s1.tiff`` both fit the image
    ``s1`` (one by its id, the other by its stem); ``id0``'s own image is listed as ``S1.TIFF``,
    which only a name compared case-folded fits (weaker than a name as written). Both picked the
    image ``s1``, so ``id0`` was given the other slide's lesions; now neither is, and a slide whose
    path names its image still picks it."""
    from dqm.readers.items import FileAnnotations, image_of

    slides = {"s1": "s2.svs", "id0": "c/c/s1.tiff", "S1": "a/s1.svs"}
    readers = frozenset(slides.items())
    anns = FileAnnotations([_image(k, 0) for k in ("a/s1.svs", "S1.TIFF", "s1")])
    for slide in ("s1", "id0"):
        issue = image_of(anns, slide, slides[slide], readers)
        assert not isinstance(issue, int) and issue.code == "IMAGE_AMBIGUOUS_IN_FILE", (slide, issue)
        assert issue.message.params["image"] == "s1"
    assert image_of(anns, "S1", "a/s1.svs", readers) == 0
    # without the second slide, the image is the first one's
    alone = frozenset((s, p) for s, p in slides.items() if s != "id0")
    assert image_of(anns, "s1", "s2.svs", alone) == 2


def test_an_image_two_slides_paths_end_like_alike_is_neither_slides() -> None:
    """``a/S1.svs`` and ``a/c/a/S1.svs`` both end like the image ``http://h/a/S1.svs`` in two
    parts, and no image ends like either in more: both slides picked it (one slide's lesions for
    both). Now it is neither's; a third slide whose path ends like it in three parts takes it."""
    from dqm.readers.items import FileAnnotations, image_of

    slides = {"S1": "a/S1.svs", "S3": "a/c/a/S1.svs", "S2": "c/S1.svs"}
    anns = FileAnnotations([_image(k, 0) for k in ("http://h/a/S1.svs", "S3.png")])
    for slide in ("S1", "S3"):
        issue = image_of(anns, slide, slides[slide], frozenset(slides.items()))
        assert not isinstance(issue, int) and issue.code == "IMAGE_AMBIGUOUS_IN_FILE", (slide, issue)
    slides["S4"] = "h/a/S1.svs"
    assert image_of(anns, "S4", "h/a/S1.svs", frozenset(slides.items())) == 0
    assert image_of(anns, "S1", "a/S1.svs", frozenset(slides.items())) != 0


def _compared(monkeypatch) -> list[int]:
    """A list that grows by one at each comparison of two paths part by part
    (:func:`dqm.readers.items._trailing`)."""
    import dqm.readers.items as items

    compared: list[int] = []
    trailing = items._trailing
    monkeypatch.setattr(items, "_trailing", lambda a, b: compared.append(1) or trailing(a, b))
    return compared


def test_images_that_all_end_like_every_slide_past_the_indexed_parts_are_not_compared_a_slide_each(
    monkeypatch,
) -> None:
    """As above, past the 8 trailing parts the index keeps (``y<i>/a/b/c/d/e/f/g/scan.svs`` for
    the slides ``z<i>/a/b/c/d/e/f/g/scan.svs``): every slide compared its path with every image
    (5.7 s CPU for 1,000 slides); the images' paths are now bisected, last part first."""
    from dqm.readers.items import FileAnnotations, image_of

    compared = _compared(monkeypatch)
    n, tail = 40, "/a/b/c/d/e/f/g/scan.svs"
    anns = FileAnnotations([_image(f"y{i}{tail}", 0) for i in range(n)] + [_image(f"x/w/z0{tail}", 0)])
    readers = frozenset((f"id{i}", f"z{i}{tail}") for i in range(n))
    picks = [image_of(anns, f"id{i}", f"z{i}{tail}", readers) for i in range(n)]
    assert len(compared) <= 8 * n  # a few bisections a slide, not n comparisons each
    assert picks[0] == n
    for issue in picks[1:]:
        assert not isinstance(issue, int) and issue.code == "IMAGE_AMBIGUOUS_IN_FILE"
        assert issue.message.params["n"] == n


def test_a_slides_image_listed_in_another_case_is_found_by_its_folded_path() -> None:
    """``C/C/S1.TIFF`` (a Windows-made export) for the slide file ``c/c/s1.tiff``: paths were
    compared as written only, so the slide picked an unrelated image of its name (``s1``, another
    slide's). A path compared case-folded is a weaker match than the same as written at any number
    of parts, and a stronger one than a name: the slide finds its own image, the other slide its."""
    from dqm.readers.items import FileAnnotations, image_of

    anns = FileAnnotations([_image(k, 0) for k in ("C/C/S1.TIFF", "s1")])
    assert image_of(anns, "id0", "c/c/s1.tiff") == 0
    slides = {"s1": "s2.svs", "id0": "c/c/s1.tiff"}
    assert _layout(["C/C/S1.TIFF", "s1"], list(slides.items())) == {"id0": 0, "s1": 1}
    # as written, two parts beat three folded: nothing a path picked as written changes
    assert image_of([_image("x/b/s.svs", 0), _image("A/B/S.svs", 0)], "id", "a/b/s.svs") == 0
    assert image_of([_image("x/B/S.svs", 0), _image("Q/A/B/S.svs", 0)], "id", "q/a/b/s.svs") == 1
    # a name alone compared folded is no path: the name as written decides
    assert image_of([_image("S1.SVS", 0), _image("s1", 0)], "id", "s1.svs") == 1


def test_images_equal_only_case_folded_are_ambiguous() -> None:
    """Two images whose paths differ only in case (or in how their accents are composed) are one
    path to a case-insensitive file system: a slide that names neither as written is
    ``IMAGE_AMBIGUOUS_IN_FILE``, never the first one's; a slide naming one as written picks it."""
    from dqm.readers.items import image_of

    cased = [_image("A/b/S.svs", 0), _image("a/B/s.svs", 0)]
    accented = [_image("caf\u00e9/s.svs", 0), _image("CAFE\u0301/s.svs", 0)]
    for anns, path in [(cased, "a/b/s.svs"), (cased, "x/A/B/S.SVS"), (accented, "Caf\u00e9/s.svs")]:
        issue = image_of(anns, "id", path)
        assert not isinstance(issue, int) and issue.code == "IMAGE_AMBIGUOUS_IN_FILE", path
        assert issue.message.params["n"] == 2
    assert image_of(cased, "id", "A/b/S.svs") == 0
    assert image_of(cased, "id", "y/a/B/s.svs") == 1
    assert image_of(accented, "id", "caf\u00e9/s.svs") == 0


def test_case_folding_is_unicodes_full_folding_composed_alike() -> None:
    """``ß`` folds to ``ss``, a decomposed accent is the composed one, and Turkish ``İ`` folds to
    ``i`` with a combining dot (not ``i``), ``ı`` to itself (not ``i``)."""
    from dqm.readers.items import folded, image_of

    assert folded("STRASSE") == folded("Stra\u00dfe") == "strasse"
    assert folded("Cafe\u0301") == folded("CAF\u00c9") == "caf\u00e9"
    assert folded("\u0130") == "i\u0307" != folded("I")
    assert image_of([_image("STRASSE/S1.SVS", 0), _image("s1", 0)], "id", "stra\u00dfe/s1.svs") == 0
    assert image_of([_image("i\u0307/S1.svs", 0), _image("s1", 0)], "id", "\u0130/s1.svs") == 0
    for path in ("I/s1.svs", "\u0131/s1.svs"):  # Turkish dotless i and Latin I are not İ
        assert image_of([_image("\u0130/S1.svs", 0), _image("s1", 0)], "id", path) == 1, path


def test_an_image_a_slide_names_as_written_is_no_other_slides_by_its_folded_path() -> None:
    """The slide ``B`` names ``A/B/S.svs`` as written; the slide ``A`` at ``a/b/s.svs`` names it
    only case-folded: it is ``B``'s. Two slides naming one image alike case-folded: neither's."""
    slides = [("A", "a/b/s.svs"), ("B", "A/B/S.svs")]
    assert _layout(["A/B/S.svs", "A.png"], slides) == {"A": 1, "B": 0}
    got = _layout(["X/B/S.svs", "s.png"], [("A", "a/b/s.svs"), ("C", "c/b/s.svs")])
    assert got == {"A": "IMAGE_AMBIGUOUS_IN_FILE", "C": "IMAGE_AMBIGUOUS_IN_FILE"}


def test_an_image_two_slides_name_by_its_whole_path_or_past_the_indexed_parts_is_neither_slides() -> None:
    """Two slides of one slide file (two manifest rows), or two slides whose paths end like one
    image in more parts than the index keeps (10 of them): both picked the image, one slide's
    lesions given to both. Now neither is; a slide naming the image by more of its path takes it."""
    from dqm.readers.items import TRAILING_INDEXED

    assert _layout(["a/s.svs", "b/s.svs"], [("x", "a/s.svs"), ("y", "./a/s.svs"), ("z", "b/s.svs")]) == {
        "x": "IMAGE_AMBIGUOUS_IN_FILE",
        "y": "IMAGE_AMBIGUOUS_IN_FILE",
        "z": 1,
    }
    tail = "/".join(f"f{i}" for i in range(TRAILING_INDEXED)) + "/scan.svs"  # 9 parts
    slides = [("x", f"z/q/{tail}"), ("y", f"w/q/{tail}")]
    assert _layout([f"p/q/{tail}", "other.svs"], slides) == {
        "x": "IMAGE_AMBIGUOUS_IN_FILE",
        "y": "IMAGE_AMBIGUOUS_IN_FILE",
    }
    assert _layout([f"p/q/{tail}", "other.svs"], [*slides, ("v", f"p/q/{tail}")])["v"] == 0


def test_a_slide_whose_path_runs_are_all_claimed_claims_its_folded_pick() -> None:
    """``id2`` at ``b/b/A/s1.tiff`` ends like ``A\\s1.tiff`` in two parts as written (but that
    image is ``s1``'s, by its exact path) and names ``B/B/A/S1.TIFF`` case-folded: that is its
    pick, so ``S3`` at ``a/A/S1.tiff``, ending like it folded in two parts only, does not take it
    too (it took it: one slide's lesions for two) and finds its own image by its stem."""
    keys = ["x/b/b/a/s1.x.ndpi", "B/B/A/S1.TIFF", "S1", "A\\s1.tiff"]
    slides = [
        ("S3", "a/A/S1.tiff"),
        ("id1", "b/b/a/s1.x.ndpi"),
        ("id2", "b/b/A/s1.tiff"),
        ("s1", "A/s1.tiff"),
    ]
    assert _layout(keys, slides) == {"S3": 2, "id1": 0, "id2": 1, "s1": 3}


def test_random_layouts_listing_images_in_another_case_give_no_slide_of_a_path_another_image() -> None:
    """The random layouts of ``benchmarks/bench_image_of.py --layouts``: files of 2–5 slides'
    images, an image listed by its path, part of it, its name, stem, slide id, or its path upper-
    cased or case-swapped (``X/A/S1.TIFF`` for ``a/s1.tiff``), kept where the truth is known (as
    written and case-folded alike). A slide whose path has folders never gets another slide's
    image (30 of 4,239 such slides did in 2,000 layouts); a bare name still picks an image that
    goes by it as written first (1 slide: by design)."""
    from dqm.batch import normalise
    from dqm.readers.items import image_of

    wrong, checked = [], 0
    for seed in range(2000):
        layout = _bench().random_layout(seed)
        if layout is None:
            continue
        slides, keys, truth = layout
        anns = [_image(key, 1) for key in keys]
        readers = frozenset((sid, normalise(path)[0]) for sid, path in slides.items())
        for sid, path in slides.items():
            if "/" in path:
                got = image_of(anns, sid, path, readers)
                if isinstance(got, int) and got != truth[sid]:
                    wrong.append((seed, sid, path, keys))
                checked += 1
    assert checked > 3000 and not wrong, wrong[:3]


def test_an_image_two_slide_ids_name_alike_is_neither_whatever_rows_repeat_an_id() -> None:
    """Two manifest rows of the slide ``s1`` and one of ``S2`` name ``a/d/s1.svs`` by the same
    three trailing parts: the claims kept two readers a run, so where both of ``s1``'s rows came
    first (by the process's hash seed) ``S2`` was not seen and ``s1`` took the image. The claims
    now keep slide ids, and the image is neither's in any order of the rows."""
    from dqm.readers.items import Claims, ImageIndex

    rows = [("s1", "b/a/d/s1.svs"), ("s1", "c/a/d/s1.svs"), ("S2", "e/a/d/s1.svs")]
    claims = Claims(ImageIndex([_image("a/d/s1.svs", 0)]), frozenset(rows))
    for row in rows:  # the order that lost S2
        claims.named(("a", "d", "s1.svs"), row, claims.run_readers)
    assert sorted(claims.run_readers[("a", "d", "s1.svs")]) == ["S2", "s1"]
    got = [
        _layout(["a/d/s1.svs", "other.svs"], rows[:2])["s1"],
        *_layout(["a/d/s1.svs", "other.svs"], rows).values(),
    ]
    assert got == [0, "IMAGE_AMBIGUOUS_IN_FILE", "IMAGE_AMBIGUOUS_IN_FILE"]


def test_slides_whose_longest_run_is_claimed_away_claim_the_run_they_fall_back_to() -> None:
    """A reader claimed only its longest run (or its folded exact path), and when the images
    there were all claimed by more (another slide's exact path; folded: a slide naming them as
    written) it picked by a shorter run that no claim recorded: two slides took one image.
    ``P/X/S`` is ``C``'s by its exact path; ``A`` and ``B`` both fell back to ``X/S``: neither's
    now. ``a/b/s2.png``'s folded exact image is ``id3``'s as written: ``S0`` claims its run's
    image, so ``s3`` does not take it by its name as well."""
    assert _layout(["P/X/S", "X/S"], [("C", "P/X/S"), ("A", "Y/P/X/S"), ("B", "Z/P/X/S")]) == {
        "C": 0,
        "A": "IMAGE_AMBIGUOUS_IN_FILE",
        "B": "IMAGE_AMBIGUOUS_IN_FILE",
    }
    slides = [("C", "Q/P/X/S.SVS"), ("A", "p/x/s.svs"), ("B", "P/x/S.svs")]
    assert _layout(["P/X/S.SVS", "X/S.SVS"], slides) == {
        "C": 0,
        "A": "IMAGE_AMBIGUOUS_IN_FILE",
        "B": "IMAGE_AMBIGUOUS_IN_FILE",
    }
    slides = [("id3", "A/B/S2.PNG"), ("S0", "a/b/s2.png"), ("s3", "q/S2.PNG")]
    assert _layout(["A/B/S2.PNG", "X/A/B/S2.PNG"], slides) == {"id3": 0, "S0": 1, "s3": "IMAGE_NOT_IN_FILE"}
    # alone, the one slide falling back takes the image
    assert _layout(["P/X/S", "X/S"], [("C", "P/X/S"), ("A", "Y/P/X/S")]) == {"C": 0, "A": 1}


def test_random_layouts_of_repeated_and_recased_paths_give_no_image_to_two_slides() -> None:
    """400 random files read by 2–6 manifest rows, some repeating a row's path (as written, in
    another case, under another folder) by the same slide id or another, the images listed by a
    row's path, part of it, ``x/`` and it, or its slide id, in any case: no image is the pick of
    two slide ids (6 layouts gave one image to two before)."""
    import random

    from dqm.readers.items import FileAnnotations, image_of

    def vary(r: random.Random, text: str) -> str:
        return r.choice([text, text, text.upper(), text.swapcase()])

    twice = []
    for seed in range(400):
        r = random.Random(seed)
        rows: list[tuple[str, str]] = []
        for i in range(r.randint(2, 6)):
            if rows and r.random() < 0.5:
                sid, path = r.choice(rows)
                again = [path, vary(r, path), "q/" + path, "q/" + vary(r, path)]
                rows.append((r.choice([sid, f"S{i}"]), r.choice(again)))
                continue
            folders = r.choices("abc", k=r.choice([1, 2, 3, 8, 9]))
            rows.append(
                (r.choice([f"S{i}", "s1", "s2"]), "/".join([*folders, r.choice(["s1", "s2"]) + ".svs"]))
            )
        keys = []
        for _ in range(r.randint(2, 6)):
            sid, path = r.choice(rows)
            split = path.split("/")
            ways = [path, "x/" + path, "/".join(split[r.randint(0, len(split) - 1) :]), sid]
            keys.append(vary(r, r.choice(ways)))
        anns = FileAnnotations([_image(key, 0) for key in keys])
        picked: dict[int, set[str]] = {}
        for sid, path in rows:
            got = image_of(anns, sid, path, frozenset(rows))
            if isinstance(got, int):
                picked.setdefault(got, set()).add(sid)
        twice += [(seed, keys[k], sorted(sids)) for k, sids in picked.items() if len(sids) > 1]
    assert not twice, twice[:3]


def test_slides_whose_deep_runs_are_all_claimed_by_exact_paths_are_not_compared_with_every_image(
    monkeypatch,
) -> None:
    """``p<i>/a/b/c/d/e/f/g/scan.svs`` each named by its slide's exact path, and as many slides
    at ``z/p<j>/a/b/c/d/e/f/g/scan.svs`` whose 9-part run is all claimed: each of these compared
    its path with every image ending in the same 8 parts (9.98 s CPU for 1,000 slides, 40.13 s
    for 2,000; O(N²)). The runs below its longest are each a bisection now; its longest run's
    image is still no other slide's (none of the 8 parts' either: all claimed by more)."""
    from dqm.readers.items import FileAnnotations, image_of

    compared = _compared(monkeypatch)
    n, tail = 100, "a/b/c/d/e/f/g/scan.svs"
    anns = FileAnnotations([_image(f"p{i}/{tail}", 0) for i in range(n)])
    own = [(f"r{i}", f"p{i}/{tail}") for i in range(n)]
    others = [(f"x{j}", f"z/p{j}/{tail}") for j in range(n)]
    readers = frozenset(own + others)
    assert [image_of(anns, sid, path, readers) for sid, path in own] == list(range(n))
    for sid, path in others:
        issue = image_of(anns, sid, path, readers)
        assert not isinstance(issue, int) and issue.code == "IMAGE_NOT_IN_FILE", (sid, issue)
    assert len(compared) <= 16 * n  # a few bisections a slide and tier (n * n before)


def _settled_every_round(index: Any, claims: Any, runs: dict[Any, Any]) -> int:
    """``ImageIndex._settle`` as it was: every reader checked again each round (the reference);
    how many rounds it took."""
    rounds = 0
    while True:
        rounds += 1
        moved = {}
        for reader, (parts, n) in runs.items():
            m, _ = index._longest(parts, claims)
            if 0 < m < n:
                moved[reader] = (parts, m)
        if not moved:
            return rounds
        for reader, (parts, m) in moved.items():
            claims.claim_run(parts, m, reader)
        runs.update(moved)
        claims.forget()


def _random_rows(r: Any) -> tuple[list[tuple[str, str | None]], list[tuple[str, str]]]:
    """A random file's images (key, and slide file for one in ten: an image of two paths) and its
    readers (slide id, path) whose claims fall back in chains: the trailing runs of one random
    path of 4–24 parts (``a``, ``b`` in either case), from the longest down, mostly alternating
    an image under a folder ``k`` and a reader under ``d`` (shared or each its own), a run now and
    then in another case, readers of an image's exact path (its first one's, a chain's start)."""
    base = r.choices("abAB", k=r.randint(4, 24))

    def tail(n: int) -> str:
        text = "/".join(base[-n:])
        return text.swapcase() if r.random() < 0.15 else text

    keys = [tail(len(base))]
    rows = [("E", keys[0])]
    image = False
    for n in range(len(base), 1, -1):
        image = image != (r.random() < 0.85)
        if image or r.random() < 0.1:
            keys.append(r.choice(["k", "j", f"k{n}", f"k{n}"]) + "/" + tail(n))
        if not image or r.random() < 0.1:
            rows.append((r.choice([f"S{n}", "s1"]), r.choice(["d", "e", f"d{n}", f"d{n}"]) + "/" + tail(n)))
        if r.random() < 0.1:
            rows.append((f"X{n}", r.choice(keys)))
    return [(key, tail(r.randint(2, len(base))) if r.random() < 0.1 else None) for key in keys], rows


def test_claims_settle_by_a_work_list_with_the_picks_of_every_reader_checked_each_round(monkeypatch) -> None:
    """Each round of ``ImageIndex._settle`` checked every reader again; now a round checks only the
    readers the last round's claims reach. 600 random files (:func:`_random_rows`: chains of
    fallbacks, past the 8 indexed parts too, as written and case-folded) settle to the same claims
    and every reader's pick as with every reader checked each round (the former code, kept here);
    over a third of them take three rounds or more."""
    import random
    from dataclasses import replace

    from dqm.readers import items

    settle = items.ImageIndex._settle
    rounds: list[int] = []

    def reference(index: Any, claims: Any, runs: dict[Any, Any]) -> None:
        rounds.append(_settled_every_round(index, claims, runs))

    def picked(keys: list[tuple[str, str | None]], rows: list[tuple[str, str]]) -> tuple[Any, ...]:
        anns = items.FileAnnotations([replace(_image(key, 0), slide_file=file) for key, file in keys])
        readers = frozenset(rows)
        picks = [items.image_of(anns, sid, path, readers) for sid, path in rows]
        claims = [anns.names.claims(readers)]
        if anns.names._folded is not None:
            claims += anns.names._folded._claimed.values()
        state = [(c.exact, c.suffix, c.deep, c.run_readers, c.exact_readers, c.naming) for c in claims]
        return [p if isinstance(p, int) else (p.code, str(p.message)) for p in picks], state

    differ = []
    for seed in range(600):
        keys, rows = _random_rows(random.Random(seed))
        monkeypatch.setattr(items.ImageIndex, "_settle", reference)
        before = picked(keys, rows)
        monkeypatch.setattr(items.ImageIndex, "_settle", settle)
        if picked(keys, rows) != before:
            differ.append((seed, keys, rows))
    assert not differ, differ[:2]
    assert sum(n >= 3 for n in rounds) >= 200  # the files do settle over several rounds


def test_a_chain_of_fallbacks_settles_checking_the_readers_it_reaches_not_every_reader_each_round(
    monkeypatch,
) -> None:
    """A crafted chain of 32 slides of 64-part paths (``benchmarks/bench_image_of.py``'s
    :func:`chain`) settles in 31 rounds, one slide falling back a round; each round checked every
    reader of the file again (200 slides beside it: 7,200 checks; 4,000 slides: 1.6 s CPU instead
    of 0.1). Now a round checks the readers its claims reach: every slide once, then one a round;
    every slide still gets its own image, the chain's each by the run it fell back to."""
    from dqm.readers import items

    keys, paths = _bench().chain()
    n = 200
    keys += [f"x/case{i}/scan.svs" for i in range(n)]
    paths += [f"case{i}/scan.svs" for i in range(n)]
    anns = items.FileAnnotations([_image(key, 0) for key in keys])
    readers = frozenset((f"id{i}", path) for i, path in enumerate(paths))
    checks = []
    longest = items.ImageIndex._longest

    def counted(self: Any, parts: Any, claims: Any) -> Any:
        checks.append(claims is not None)
        return longest(self, parts, claims)

    monkeypatch.setattr(items.ImageIndex, "_longest", counted)
    anns.names.claims(readers)
    assert sum(checks) <= len(paths) + 2 * 32  # before: 32 rounds of every reader (7,424)
    assert [items.image_of(anns, f"id{i}", path, readers) for i, path in enumerate(paths)] == list(
        range(len(paths))
    )
