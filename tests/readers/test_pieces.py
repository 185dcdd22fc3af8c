"""A big JSON file read in pieces (:mod:`dqm.readers.common.pieces`) gives exactly what the
whole-document read gives: the same annotations, lesions (rings, geometries, properties, order)
and issues, on seeded random files with the usual faults in them; a file the pieces cannot read
exactly so is read whole."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely

from dqm import readers
from dqm.model import Annotation
from dqm.readers import coco, native, parse_annotation, qupath
from dqm.readers.common import pieces

SEEDS = range(40)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every file read in pieces to the end, by reader (a file over the lowered threshold)."""
    monkeypatch.setattr(pieces, "MIN_BYTES", 0)
    monkeypatch.setattr(readers, "CACHE_MIN_BYTES", 1 << 62)  # each read is read again
    seen: list[str] = []
    for module in (qupath, coco):
        real = module.read_pieces

        def read_pieces(found: Any, path: str, real: Any = real, name: str = module.NAME) -> Any:
            out = real(found, path)
            if out is not None:
                seen.append(name)
            return out

        monkeypatch.setattr(module, "read_pieces", read_pieces)
    return seen


def _whole(data: bytes, monkeypatch: pytest.MonkeyPatch) -> list[Annotation]:
    with monkeypatch.context() as m:
        m.setattr(pieces, "MIN_BYTES", 1 << 62)
        return parse_annotation(data, "a.json")


def _same(got: list[Annotation], want: list[Annotation]) -> None:
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        for field in ("path", "format", "slide_file", "width", "height", "mpp", "clinical", "n_values"):
            assert getattr(a, field) == getattr(b, field), field
        for field in ("image_key", "readable", "issues", "properties", "slide_pointers"):
            assert getattr(a, field) == getattr(b, field), field
        assert len(a.lesions) == len(b.lesions)
        for x, y in zip(a.lesions, b.lesions, strict=True):
            assert (x.index, x.pointer, x.raw_class, x.label, x.properties, x.outline_read, x._valid) == (
                y.index,
                y.pointer,
                y.raw_class,
                y.label,
                y.properties,
                y.outline_read,
                y._valid,
            )
            assert [len(p) for p in x.polygons] == [len(p) for p in y.polygons]
            for r, s in zip(
                (r for p in x.polygons for r in p), (s for p in y.polygons for s in p), strict=True
            ):
                np.testing.assert_array_equal(r, s)
            assert (x.geometry is None) == (y.geometry is None)
            if x.geometry is not None:
                assert shapely.to_wkb(x.geometry) == shapely.to_wkb(y.geometry)


def _ring(rnd: random.Random) -> list[list[float]]:
    x, y = rnd.randrange(0, 5000), rnd.randrange(0, 5000)
    pts = [
        [x + rnd.randrange(0, 40) + rnd.choice((0, 0.5, 0.125)), y + rnd.randrange(0, 40)] for _ in range(5)
    ]
    return [*pts, pts[0]]


def _geometry(rnd: random.Random) -> Any:
    kind = rnd.randrange(12)
    if kind == 0:
        return {"type": "MultiPolygon", "coordinates": [[_ring(rnd)], [_ring(rnd), _ring(rnd)]]}
    if kind == 1:
        return {"type": "Point", "coordinates": [1, 2]}
    if kind == 2:
        return {"type": "Polygon", "coordinates": [[[1, 2], [3, "4"], [5, 6]]]}
    if kind == 3:
        return {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [2, 2], [0, 0]]]}  # no area
    if kind == 4:
        return {
            "type": "GeometryCollection",
            "geometries": [{"type": "Polygon", "coordinates": [_ring(rnd)]}],
        }
    if kind == 5:
        return None
    return {"type": "Polygon", "coordinates": [_ring(rnd)]}


def _feature(rnd: random.Random, k: int) -> Any:
    kind = rnd.randrange(30)
    if kind == 0:
        return [1, 2]  # not an object: read whole
    props: dict[str, Any] = {"objectType": rnd.choice(("annotation",) * 8 + ("detection", "cell"))}
    if kind != 1:
        props["classification"] = rnd.choice(({"name": "Tumor", "color": [200, 0, 0]}, "Stroma", {"name": 3}))
    if kind == 2:
        props["measurements"] = {"Area": rnd.random(), "nested": [{"a": 1}]}
    feature: dict[str, Any] = {"type": "Feature" if kind != 3 else "Feat", "geometry": _geometry(rnd)}
    if kind != 4:
        feature["properties"] = props if kind != 5 else "none"
    if kind == 6:
        feature["id"] = f"id-{k}"
    return feature


def _qupath(rnd: random.Random) -> bytes:
    features = [_feature(rnd, k) for k in range(rnd.randrange(0, 40))]
    doc: Any = {"type": "FeatureCollection", "features": features}
    if rnd.random() < 0.3:
        doc["crs"] = {"type": "name", "properties": {"name": "x"}}
    elif rnd.random() < 0.4:
        doc = features  # the export before QuPath 0.3: a list of features
    text = json.dumps(doc, separators=rnd.choice(((",", ":"), (", ", ": "))))
    fault = rnd.randrange(12)
    if fault == 0:
        text = text.replace('"type":', '"type": "x", "type":', 1)  # a repeated key
    elif fault == 1:
        text = text.replace("0.5", "NaN", 1)
    elif fault == 2:
        text = "\ufeff" + text
    elif fault == 3:
        text = text[: len(text) // 2]
    elif fault == 4 and isinstance(doc, dict):
        text = '{"slide": {}, ' + text[1:]  # a native file's key: not QuPath
    return text.encode()


def _native(rnd: random.Random) -> bytes:
    lesions: list[Any] = []
    for k in range(rnd.randrange(0, 40)):
        geometry = _geometry(rnd) if rnd.random() < 0.02 else {"type": "Polygon", "coordinates": [_ring(rnd)]}
        lesion: dict[str, Any] = {"class": rnd.choice(("MM", "BCC")), "geometry": geometry}
        if rnd.random() < 0.2:
            lesion["id"] = k
        if rnd.random() < 0.1:
            lesion["properties"] = {"note": "x", "n": [1, {"a": 2}]}
        lesions.append(lesion)
    doc = {
        "slide": {"file": "s.svs", "width": 9000, "height": 9000},
        "lesions": lesions,
        "clinical": {"age": 3},
    }
    text = json.dumps(doc)
    if rnd.random() < 0.1:
        text = text.replace('"class":', '"class": "x", "class":', 1)
    return text.encode()


def _coco_annotation(rnd: random.Random, k: int) -> Any:
    kind = rnd.randrange(40)
    if kind == 0:
        return "not an object"  # read whole
    x, y, w, h = rnd.randrange(900), rnd.randrange(900), rnd.randrange(1, 90), rnd.randrange(1, 90)
    a: dict[str, Any] = {
        "id": k,
        "image_id": rnd.choice((0, 1, 2, 2, 3, 7)),
        "category_id": rnd.choice((1, 2, 9)),
    }
    seg: Any = [[x, y, x + w, y, x + w, y + h, x, y + h]]
    if kind == 1:
        seg = {"size": [1000, 1000], "counts": [x * 1000 + y, 3, 997, 3]}
    elif kind == 2:
        seg = {"size": [10, 10], "counts": "bad!"}
    elif kind == 3:
        seg = [[1, 2, 3]]
    elif kind == 4:
        seg = []
    if kind != 5:
        a["segmentation"] = seg
    if kind in (6, 7):
        a["iscrowd"] = 1
    if rnd.random() < 0.7:
        a["bbox"] = [x, y, w, h] if kind != 8 else [x, y, x + w, y + h]
        a["area"] = w * h
    return a


def _coco(rnd: random.Random) -> bytes:
    images: list[Any] = [{"id": i, "file_name": f"s{i}.svs", "width": 1000, "height": 1000} for i in range(4)]
    if rnd.random() < 0.2:
        images.append({"id": 9, "file_name": "s1.svs"})  # the name of an earlier image
    if rnd.random() < 0.1:
        images.append({"file_name": "no id"})
    doc: dict[str, Any] = {
        "images": images,
        "annotations": [],
        "categories": [{"id": 1, "name": "MM"}, {"id": 2, "name": "BCC"}],
    }
    if rnd.random() < 0.1:
        del doc["categories"]
    doc["annotations"] = [_coco_annotation(rnd, k) for k in range(rnd.randrange(0, 60))]
    text = json.dumps(doc)
    if rnd.random() < 0.1:
        text = text.replace('"area":', '"area": 1, "area":', 1)
    return text.encode()


@pytest.mark.parametrize("seed", SEEDS)
def test_coco_in_pieces_reads_as_whole(seed: int, spy: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    data = _coco(random.Random(seed))
    _same(parse_annotation(data, "a.json"), _whole(data, monkeypatch))


def test_pieces_taken_for_clean_files(spy: list[str]) -> None:
    """The random files above do not all fall back to the whole read."""
    for seed in SEEDS:
        parse_annotation(_coco(random.Random(seed)), "a.json")
        parse_annotation(_qupath(random.Random(seed)), "a.json")
    assert spy.count("coco") >= 15 and spy.count("qupath") >= 10, spy


@pytest.mark.parametrize("seed", SEEDS)
def test_qupath_in_pieces_reads_as_whole(seed: int, spy: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    data = _qupath(random.Random(seed))
    _same(parse_annotation(data, "a.json"), _whole(data, monkeypatch))


@pytest.mark.parametrize("legacy", [False, True])
def test_qupath_pieces_taken_for_a_clean_file(
    legacy: bool, spy: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rnd = random.Random(1)
    features = [
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [_ring(rnd)]}, "properties": {}}
        for _ in range(30)
    ]
    doc = features if legacy else {"type": "FeatureCollection", "features": features}
    data = json.dumps(doc).encode()
    got = parse_annotation(data, "a.json")
    assert spy == ["qupath"]
    assert len(got[0].lesions) == 30
    assert got[0].lesions[3].pointer == ("/3" if legacy else "/features/3")
    _same(got, _whole(data, monkeypatch))


def test_a_list_another_reader_takes_is_read_whole(spy: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A DSA list of annotation documents: its reader does not read in pieces."""
    doc = [{"annotation": {"name": "x", "elements": []}}, {"annotation": {"elements": []}}]
    data = json.dumps(doc).encode()
    got = parse_annotation(data, "a.json")
    assert spy == [] and got[0].format == "dsa"
    _same(got, _whole(data, monkeypatch))


@pytest.mark.parametrize("seed", SEEDS)
def test_native_in_pieces_reads_as_whole(seed: int, spy: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    data = _native(random.Random(seed))
    _same(parse_annotation(data, "a.json"), _whole(data, monkeypatch))


def test_native_pieces_decode_each_lesion(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pieces, "MIN_BYTES", 0)
    rnd = random.Random(2)
    lesions = [
        {"class": "MM", "geometry": {"type": "Polygon", "coordinates": [_ring(rnd)]}} for _ in range(20)
    ]
    data = json.dumps({"slide": {"file": "s", "width": 9, "height": 9}, "lesions": lesions, "clinical": {}})
    decoded: list[int] = []
    real = native._LESION_DECODER
    monkeypatch.setattr(native, "_LESION_DECODER", _Counting(real, decoded))
    ann = native.read_clean(data.encode(), "a.json")
    assert ann is not None and len(ann.lesions) == 20 and len(decoded) == 20


class _Counting:
    def __init__(self, real: Any, seen: list[int]) -> None:
        self.real, self.seen = real, seen

    def decode(self, raw: Any) -> Any:
        self.seen.append(1)
        return self.real.decode(raw)


def test_real_files_in_pieces_read_as_whole(
    real_data: Path, spy: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    files = sorted(p for p in (real_data / "annotations").rglob("*") if p.suffix in (".json", ".geojson"))
    if not files:
        pytest.skip("no real JSON annotation files")
    for path in files:
        data = path.read_bytes()
        _same(parse_annotation(data, "a.json"), _whole(data, monkeypatch))
    assert "qupath" in spy


def test_lifted_big_outlines_read_in_pieces_as_whole(spy: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A big outline lifted into numpy (:mod:`dqm.readers.common.bigjson`) before the pieces
    split the rest: the same lesions as the whole read of the same lifted text."""
    from dqm.readers.common import bigjson

    monkeypatch.setattr(bigjson, "BIG_FILE_BYTES", 1000)
    monkeypatch.setattr(bigjson, "BIG_SPAN_BYTES", 100)
    rnd = random.Random(4)
    big = [[float(i % 40), float(i // 40)] for i in range(200)] + [[0.0, 0.0]]
    features = [
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]}, "properties": {}}
        for ring in (big, _ring(rnd), big)
    ]
    data = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    got = parse_annotation(data, "a.json")
    assert spy == ["qupath"] and [les.n_vertices for les in got[0].lesions] == [201, 6, 201]
    _same(got, _whole(data, monkeypatch))
