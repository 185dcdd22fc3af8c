"""The profile's hard limits: each exceeded one is a LIMIT_EXCEEDED finding naming it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dqm.profile import Limits
from dqm.readers import parse_annotation, read_bytes, within_limits
from dqm.runner import RunOptions, run_batch
from tests.helpers import native_doc, square


def _lesions(n: int, vertices: int = 5) -> list[dict]:
    ring = (
        square(10, 10, 50) if vertices == 5 else [[10 + i % 50, 10 + (i * 7) % 50] for i in range(vertices)]
    )
    return [{"class": "BCC", "geometry": {"type": "Polygon", "coordinates": [ring]}} for _ in range(n)]


def _read(doc: dict):
    (ann,) = parse_annotation(json.dumps(doc).encode(), "annotations/S1.json")
    return ann


def test_lesions_past_the_limit_are_dropped_and_named():
    ann = _read(native_doc(_lesions(5)))
    cut = within_limits(ann, Limits(lesions_per_file=3))
    assert len(cut.lesions) == 3 and len(ann.lesions) == 5  # the parsed (maybe cached) one is untouched
    ((code, pointer, message),) = [(i.code, i.pointer, i.message) for i in cut.issues]
    assert (code, pointer) == ("LIMIT_EXCEEDED", "/lesions/3")
    assert "limits.lesions_per_file = 3" in message


def test_what_the_reader_met_in_lesions_past_the_limit_is_dropped_with_them():
    """Those lesions are not checked, and neither is what the reader met in them reported: 35
    bytes a lesion made two findings a lesion past any limit."""
    bad = [{"id": k, "class": 1, "geometry": None} for k in range(6)]
    ann = _read(native_doc(bad))
    assert {i.lesion for i in ann.issues} == set(range(6))
    cut = within_limits(ann, Limits(lesions_per_file=2))
    assert {i.lesion for i in cut.issues if i.code != "LIMIT_EXCEEDED"} == {0, 1}
    assert [i.code for i in cut.issues].count("LIMIT_EXCEEDED") == 1


def test_read_issues_of_one_code_past_the_limit_are_counted_in_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """An ASAP annotation of an unknown type is an issue of 84 bytes: 8.4 MB of them made 100,000
    findings (96 s, 1.3 GB, a results.json of 98 MB)."""
    import dqm.readers.common.base

    monkeypatch.setattr(dqm.readers.common.base, "MAX_ISSUES_PER_CODE", 3)
    weird = "".join(
        f'<Annotation Name="a{k}" Type="Weird" PartOfGroup="BCC"><Coordinates/></Annotation>'
        for k in range(8)
    )
    xml = f"<ASAP_Annotations><Annotations>{weird}</Annotations></ASAP_Annotations>"
    (ann,) = parse_annotation(xml.encode(), "annotations/S1.xml")
    (code,) = {i.code for i in ann.issues}
    cut = within_limits(ann, Limits())
    assert [i.code for i in cut.issues] == [code] * 4
    assert cut.issues[-1].message.startswith(f"5 more {code} in this file from here on")
    assert cut.issues[-1].pointer == ann.issues[3].pointer


def test_an_outline_over_the_vertex_limit_keeps_no_rings():
    ann = _read(native_doc([*_lesions(1), *_lesions(1, vertices=40)]))
    cut = within_limits(ann, Limits(vertices_per_lesion=20))
    small, big = cut.lesions
    assert small.geometry is not None and small.polygons
    assert big.geometry is None and big.polygons == [] and not big.outline_read
    assert [(i.code, i.pointer, i.lesion) for i in cut.issues] == [
        ("LIMIT_EXCEEDED", "/lesions/1/geometry", 1)
    ]
    assert "limits.vertices_per_lesion = 20" in cut.issues[0].message


def test_within_the_limits_the_annotation_is_the_same_object():
    ann = _read(native_doc())
    assert within_limits(ann, Limits()) is ann


def test_a_file_over_the_byte_limit_is_not_read(tmp_path):
    path = tmp_path / "a.json"
    path.write_bytes(b"{}" * 100)
    data, issue, _ = read_bytes(path, max_bytes=199)
    assert data is None and issue is not None
    assert issue.code == "LIMIT_EXCEEDED" and "limits.annotation_bytes = 199" in issue.message
    assert read_bytes(path, max_bytes=200)[0] == b"{}" * 100


def test_limits_are_validated_when_the_profile_loads():
    with pytest.raises(ValueError):
        Limits(lesions_per_file=0)


def test_a_run_reports_each_exceeded_limit_of_the_profile(tmp_path, profile):
    root = tmp_path / "b"
    root.mkdir()
    (root / "A.json").write_text(json.dumps(native_doc(_lesions(4))))
    (root / "B.json").write_text(json.dumps(native_doc(_lesions(1, vertices=40))))
    (root / "C.json").write_text(json.dumps(native_doc()) + " " * 5000)
    limited = profile.model_copy(
        update={"limits": Limits(lesions_per_file=2, vertices_per_lesion=30, annotation_bytes=4000)}
    )
    run = run_batch(root, limited, RunOptions(workers=1, slides=False, clinical=False))
    found = {
        (f.location.file, f.message.split(" is over ")[1].split(" ")[0])
        for o in run.outcomes
        for f in o.findings
        if f.code == "LIMIT_EXCEEDED"
    }
    assert found == {
        ("A.json", "limits.lesions_per_file"),
        ("B.json", "limits.vertices_per_lesion"),
        ("C.json", "limits.annotation_bytes"),
    }


def test_an_rle_over_the_decoded_area_limit_is_named_and_not_outlined():
    from dqm.readers.common.rle import encode_counts

    doc = {
        "images": [{"id": 1, "file_name": "S1.tiff", "width": 100, "height": 100}],
        "categories": [{"id": 1, "name": "BCC"}],
        "annotations": [
            {"id": k, "image_id": 1, "category_id": 1, "iscrowd": 1, "bbox": [0, 0, 10, 10],
             "segmentation": {"size": [100, 100], "counts": encode_counts([0, n, 10_000 - n])}}
            for k, n in ((1, 50), (2, 5_000))
        ],
    }  # fmt: skip
    data = json.dumps(doc).encode()
    (ann,) = parse_annotation(data, "annotations/coco.json", Limits(rle_pixels=1_000))
    small, big = ann.lesions
    assert small.polygons and not big.polygons
    ((pointer, message),) = [(i.pointer, i.message) for i in ann.issues if i.code == "LIMIT_EXCEEDED"]
    assert pointer == "/annotations/1/segmentation"
    assert (
        message == "the RLE decodes to 5000 foreground pixels, over limits.rle_pixels = 1000 (not outlined)"
    )
    (within,) = parse_annotation(data, "annotations/coco.json")  # the default limit: both outlined
    assert all(les.polygons for les in within.lesions)
    assert not [i for i in within.issues if i.code == "LIMIT_EXCEEDED"]


def test_a_label_mask_over_the_pixel_limit_is_a_finding_of_the_run(tmp_path, profile):
    import io

    from PIL import Image

    batch = tmp_path / "b"
    (batch / "masks").mkdir(parents=True)
    buf = io.BytesIO()
    Image.new("L", (40, 30), 0).save(buf, format="PNG")
    (batch / "masks" / "S1.png").write_bytes(buf.getvalue())
    held = profile.model_copy(update={"limits": Limits(mask_pixels=1_000)})
    run = run_batch(batch, held, RunOptions(workers=1, slides=False, clinical=False))
    (finding,) = [f for f in run.findings if f.code == "LIMIT_EXCEEDED"]
    assert "a 40x30 mask is over limits.mask_pixels = 1000" in finding.message


def _tiny_features(n: int) -> bytes:
    feature = {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [3, 0], [3, 3], [0, 0]]]},
        "properties": {"classification": {"name": "BCC"}},
    }
    return json.dumps({"type": "FeatureCollection", "features": [feature] * n}).encode()


def _asap_regions(n: int) -> bytes:
    one = (
        '<Annotation Name="A" Type="Polygon" PartOfGroup="BCC"><Coordinates>'
        + "".join(
            f'<Coordinate Order="{k}" X="{x}" Y="{y}"/>' for k, (x, y) in enumerate([(0, 0), (3, 0), (3, 3)])
        )
        + "</Coordinates></Annotation>"
    )
    return f"<ASAP_Annotations><Annotations>{one * n}</Annotations></ASAP_Annotations>".encode()


@pytest.mark.parametrize("make", [_tiny_features, _asap_regions])
def test_a_file_whose_read_would_not_fit_in_memory_is_not_read(make) -> None:
    """A FeatureCollection of a million tiny features (or an ASAP file of as many regions) takes
    20-35 times its size once parsed: a 512 MB one, within ``annotation_bytes``, took 10-18 GB
    in each worker, and the machine killed the audit. Its values are counted before it is parsed."""
    data = make(2000)
    (ann,) = parse_annotation(data, "annotations/S1.json", Limits(annotation_memory=len(data) * 20))
    assert not ann.readable and not ann.lesions
    ((code, message),) = [(i.code, i.message) for i in ann.issues]
    assert code == "LIMIT_EXCEEDED" and f"limits.annotation_memory = {len(data) * 20}" in message
    (ann,) = parse_annotation(data, "annotations/S1.json", Limits(annotation_memory=len(data) * 200))
    assert ann.readable and len(ann.lesions) == 2000


def test_a_big_outline_is_counted_after_it_is_lifted_out_of_the_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """One polygon of many vertices is read into numpy, not into a value per number: its
    vertices are not counted against ``annotation_memory``."""
    from dqm.readers.common import bigjson

    monkeypatch.setattr(bigjson, "BIG_FILE_BYTES", 1000)
    monkeypatch.setattr(bigjson, "BIG_SPAN_BYTES", 100)
    ring = [[10 + i % 50, 10 + (i * 7) % 50] for i in range(20_000)] + [[10, 10]]
    data = json.dumps(
        native_doc([{"class": "BCC", "geometry": {"type": "Polygon", "coordinates": [ring]}}])
    ).encode()
    (ann,) = parse_annotation(data, "annotations/S1.json", Limits(annotation_memory=len(data) * 3))
    assert ann.readable and ann.lesions[0].n_vertices == 20_001


def test_a_file_read_in_pieces_is_held_to_the_cost_of_its_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """A big FeatureCollection is read a feature at a time (no whole object tree): it is held to
    :func:`pieces_needed` (not its values at :data:`VALUE_BYTES`, which are fewer bytes here: its
    keys and strings are charged too), so a file that fits that way is read, and one that does not
    is refused."""
    from dqm.readers import pieces_needed
    from dqm.readers.common import pieces

    monkeypatch.setattr(pieces, "MIN_BYTES", 1000)
    data = _tiny_features(2000)
    need = pieces_needed(data)
    (ann,) = parse_annotation(data, "annotations/S1.json", Limits(annotation_memory=need))
    assert ann.readable and len(ann.lesions) == 2000
    (ann,) = parse_annotation(data, "annotations/S1.json", Limits(annotation_memory=need - 1))
    assert [i.code for i in ann.issues] == ["LIMIT_EXCEEDED"] and not ann.lesions


def _coco(n: int, first_id: int) -> bytes:
    images = [
        {"id": first_id + k, "file_name": f"s{first_id + k}.svs", "width": 100, "height": 100}
        for k in range(n)
    ]
    annotations = [
        {"id": k, "image_id": first_id + k, "category_id": 1, "segmentation": [[10, 10, 60, 10, 60, 60]]}
        for k in range(n)
    ]
    doc = {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "BCC"}]}
    return json.dumps(doc).encode()


def test_the_parse_cache_holds_no_more_memory_than_annotation_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache of parsed big files (a COCO file serves many items) kept four of them whatever
    their size, so a worker could hold four times ``annotation_memory``. Its entries are counted
    at what they may hold (:func:`memory_needed` at :data:`COCO_VALUE_BYTES`, a COCO file's
    lesions held in arrays, and :data:`COCO_IMAGE_BYTES` an image): the least recently used go
    first, so that they and the file being read fit in the limit."""
    from collections import OrderedDict

    from dqm import readers
    from dqm.readers import COCO_IMAGE_BYTES, COCO_VALUE_BYTES, coco, memory_needed
    from dqm.readers.common import pieces

    monkeypatch.setattr(readers, "CACHE_MIN_BYTES", 0)
    monkeypatch.setattr(pieces, "MIN_BYTES", 1000)  # read in pieces: checked at COCO_VALUE_BYTES
    monkeypatch.setattr(readers, "_CACHE", OrderedDict())
    reads: list[int] = []
    real = coco._read
    monkeypatch.setattr(coco, "_read", lambda *a, **k: reads.append(1) or real(*a, **k))
    files = {f"ann/{name}.json": _coco(40, 100 * k) for k, name in enumerate("abc")}
    need = {rel: memory_needed(data, COCO_VALUE_BYTES) + COCO_IMAGE_BYTES * 40 for rel, data in files.items()}
    held_to = Limits(annotation_memory=need["ann/a.json"] + need["ann/b.json"])

    def read(rel: str) -> list[str]:
        (first, *_) = parse_annotation(files[rel], rel, held_to)
        assert first.readable and len(first.lesions) == 1
        cached = [key[0] for key in readers._CACHE]
        assert sum(need[r] for r in cached) <= held_to.annotation_memory
        return cached

    assert read("ann/a.json") == ["ann/a.json"]
    assert read("ann/b.json") == ["ann/a.json", "ann/b.json"]
    assert read("ann/a.json") == ["ann/b.json", "ann/a.json"] and len(reads) == 2  # a hit
    assert read("ann/c.json") == ["ann/a.json", "ann/c.json"]  # b, the least recently used, goes
    assert len(reads) == 3
    # under a smaller limit the entries made under the larger one go; a file refused for memory
    # holds only the issue saying why, and is kept
    small = Limits(annotation_memory=need["ann/a.json"] - 1)
    (first,) = parse_annotation(files["ann/b.json"], "ann/b.json", small)
    assert [i.code for i in first.issues] == ["LIMIT_EXCEEDED"]
    assert [key[0] for key in readers._CACHE] == ["ann/b.json"]


@pytest.mark.parametrize("in_pieces", [False, True])
def test_a_file_naming_cocos_lists_makes_room_in_the_cache_at_its_own_read(
    monkeypatch: pytest.MonkeyPatch, in_pieces: bool
) -> None:
    """The cache made room for a file whose text holds ``"images"`` and ``"annotations"`` at the
    lesser of its COCO estimate and :func:`pieces_needed`, though it was read as what it is: a
    7.8 MiB QuPath file naming both (as a property) kept a 290.8 MiB entry beside a read estimated
    at 355.5 MiB, 646 MiB against 365.5 MiB. Only a file read as COCO makes room at its COCO
    estimate; any other at :func:`pieces_needed`."""
    from collections import OrderedDict

    from dqm import readers
    from dqm.readers import _coco_need, _MemoryCheck, pieces_needed, qupath
    from dqm.readers.common import pieces
    from dqm.readers.items import FileAnnotations

    monkeypatch.setattr(readers, "CACHE_MIN_BYTES", 0)
    monkeypatch.setattr(pieces, "MIN_BYTES", 1000 if in_pieces else pieces.MIN_BYTES)
    monkeypatch.setattr(readers, "_CACHE", OrderedDict())
    rings = [[*square(4 * k, 0, 3), [4 * k, 0]] for k in range(300)]
    polygons = [{"type": "Polygon", "coordinates": [ring]} for ring in rings]
    features = [
        {"type": "Feature", "geometry": p, "properties": {"name": f"n{k}"}} for k, p in enumerate(polygons)
    ]
    doc = {"type": "FeatureCollection", "images": [], "annotations": [], "features": features}
    data = json.dumps(doc).encode()
    memory = _MemoryCheck(data)  # admitted at its estimate, just: in pieces, or read whole
    need = pieces_needed(data) if in_pieces else memory.need(readers.VALUE_BYTES)
    coco_need = _coco_need(memory)
    assert coco_need < need
    held_to = Limits(annotation_memory=need + 1000)
    readers._CACHE[("other.json", 1, "x", held_to, None)] = (
        FileAnnotations([]),
        held_to.annotation_memory - coco_need - 1,
    )
    held: list[int] = []  # what the cache holds as the text is parsed (whole or in pieces)
    for module, name in ((readers, "parse_json"), (qupath, "read_pieces")):
        real = getattr(module, name)

        def spy(*a: Any, real: Any = real) -> Any:
            held.append(sum(size for _, size in readers._CACHE.values()))
            return real(*a)

        monkeypatch.setattr(module, name, spy)
    (ann,) = parse_annotation(data, "a.geojson", held_to)
    assert ann.format == "qupath" and len(ann.lesions) == 300
    assert held == [0]


def test_a_large_annotation_file_says_its_progress_while_it_is_read(tmp_path, monkeypatch) -> None:
    """An annotation file was read in one call that said no progress: a GB-sized file on a slow
    filesystem that kept reading could be ended at the item limit. Each step read says it now, and
    the bytes are the file's (and the limit's one byte more) as before."""
    import dqm.readers
    from dqm.budget import on_progress

    monkeypatch.setattr(dqm.readers, "READ_STEP", 1024, raising=False)
    data = bytes(range(256)) * 10 + b"tail"  # 2,564 bytes: three steps of 1,024
    path = tmp_path / "big.json"
    path.write_bytes(data)
    beats: list[int] = []
    on_progress(lambda: beats.append(1))
    try:
        got, issue, _ = read_bytes(path)
        capped, _, _ = read_bytes(path, max_bytes=2047)  # one step and most of the next, and a byte
        small, _, _ = read_bytes(path, max_bytes=100)
    finally:
        on_progress(None)
    assert (got, issue, capped) == (data, None, None)  # over the limit: not read
    assert small is None
    (tmp_path / "cut.json").write_bytes(data[:2048])
    on_progress(lambda: beats.append(2))
    try:
        whole, _, _ = read_bytes(tmp_path / "cut.json", max_bytes=4096)
    finally:
        on_progress(None)
    assert whole == data[:2048]
    assert beats.count(1) == 2 and beats.count(2) == 2  # each whole step read


def test_a_large_annotation_file_is_held_once_while_it_is_read(tmp_path, monkeypatch) -> None:
    """The stepped read joined its pieces: a file over a step was held twice (a 512 MiB
    ``annotation_bytes`` file, 1 GiB). It is read into one buffer now, the bytes the file's, and a
    file longer than its stat said (it grew) is read whole all the same."""
    import io
    import tracemalloc

    import dqm.readers

    monkeypatch.setattr(dqm.readers, "READ_STEP", 64 * 1024, raising=False)
    data = bytes(range(256)) * (16 * 1024) + b"tail"  # 4 MiB and 4 bytes: 65 steps
    path = tmp_path / "big.json"
    path.write_bytes(data)
    tracemalloc.start()
    try:
        got, issue, _ = read_bytes(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert issue is None and got == data
    assert peak < 1.3 * len(data), peak  # joined: twice the file
    grown = dqm.readers._read_beating(io.BytesIO(data), len(data) + 1, 1000)
    assert grown == data
    assert dqm.readers._read_beating(io.BytesIO(data), 300_001, 1000) == data[:300_001]
