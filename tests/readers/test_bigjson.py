"""Big coordinate values read straight into numpy give exactly what the JSON parser gives; a value
over the vertex limit is only counted; anything else is left to the usual read."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dqm.profile import Limits
from dqm.readers import parse_annotation
from dqm.readers.common import bigjson

RING = [[i % 40 + 0.5, (i // 40) % 30 + 0.25] for i in range(300)] + [[0.5, 0.25]]
HOLE = [[10, 10], [12, 10], [12, 12], [10, 12], [10, 10]]
PAD = b" " * 2000  # over the (lowered) big-file size


@pytest.fixture(autouse=True)
def small_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bigjson, "BIG_FILE_BYTES", 1000)
    monkeypatch.setattr(bigjson, "BIG_SPAN_BYTES", 100)
    monkeypatch.setattr(bigjson, "CHUNK_BYTES", 64)  # many chunks per value


def _doc(*geometries: dict) -> dict:
    lesions = [{"class": "BCC", "geometry": g} for g in geometries]
    return {"slide": {"file": "S1.tiff", "width": 100, "height": 100}, "lesions": lesions, "clinical": {}}


GEOMETRIES = (
    {"type": "Polygon", "coordinates": [RING, HOLE]},
    {"type": "MultiPolygon", "coordinates": [[RING], [HOLE, RING, HOLE]]},
    {"type": "Polygon", "coordinates": [HOLE]},  # small: stays in the text
)


def _usual(data: bytes, monkeypatch: pytest.MonkeyPatch, limits: Limits | None = None):  # type: ignore[no-untyped-def]
    with monkeypatch.context() as m:
        m.setattr(bigjson, "BIG_FILE_BYTES", 10**12)
        (ann,) = parse_annotation(data, "usual.json", limits)
    return ann


@pytest.mark.parametrize("separators", [None, (",", ":")])
def test_lifted_values_read_as_the_json_parser_reads_them(separators, monkeypatch):
    data = json.dumps(_doc(*GEOMETRIES), separators=separators).encode() + PAD
    text, lifted = bigjson.lift(data, 10**6)
    assert len(lifted) == 2 and len(text) < len(data) // 2
    (ann,) = parse_annotation(data, "big.json")
    usual = _usual(data, monkeypatch)
    assert ann.issues == usual.issues == []
    for les, ref in zip(ann.lesions, usual.lesions, strict=True):
        assert [len(p) for p in les.polygons] == [len(p) for p in ref.polygons]
        for ring, want in zip(
            (r for p in les.polygons for r in p), (r for p in ref.polygons for r in p), strict=True
        ):
            np.testing.assert_array_equal(ring, want)
        assert les.area == ref.area and les.is_valid == ref.is_valid


def test_a_value_over_the_vertex_limit_is_counted_not_converted(monkeypatch):
    data = json.dumps(_doc(*GEOMETRIES)).encode() + PAD
    limits = Limits(vertices_per_lesion=100)
    (ann,) = parse_annotation(data, "big.json", limits)
    usual = _usual(data, monkeypatch, limits)
    from dqm.readers import within_limits

    assert [les.n_vertices for les in ann.lesions] == [0, 0, 5]
    assert ann.issues == within_limits(usual, limits).issues  # the same findings, word for word
    assert not ann.lesions[0].outline_read and ann.lesions[0].geometry is None


@pytest.mark.parametrize(
    "broken",
    [
        "[0.5, 0.25, 1]]",  # three numbers
        "[0.5 0.25]]",  # no comma
        "[, 0.25]]",  # a number missing
        "[0.5, 1e]]",  # not a number numpy reads
    ],
)
def test_a_value_of_another_shape_is_left_to_the_usual_read(broken, monkeypatch):
    text = json.dumps(_doc(GEOMETRIES[0])).replace("[0.5, 0.25]]", broken, 1)
    data = text.encode() + PAD
    assert bigjson.lift(data, 10**6) is None
    (ann,) = parse_annotation(data, "big.json")
    assert ann.issues == _usual(data, monkeypatch).issues != []


def test_a_file_under_the_big_file_size_is_never_lifted(monkeypatch):
    data = json.dumps(_doc(*GEOMETRIES)).encode()
    monkeypatch.setattr(bigjson, "BIG_FILE_BYTES", len(data))
    assert bigjson.lift(data, 10**6) is None
    assert bigjson.lift(data + b" ", 10**6) is not None


def test_nothing_is_lifted_past_the_room_it_is_given():
    """The outlines met are charged, text and vertices, before each is converted: past ``room``
    the lift stops (None: the file is read, or refused, as text), and its own memory stays within
    the limit (a second review: outlines lifted out were checked against nothing)."""
    data = json.dumps(_doc(*GEOMETRIES)).encode() + PAD
    spans = sum(len(json.dumps(g["coordinates"])) for g in GEOMETRIES[:2])
    assert bigjson.lift(data, 10**6, room=10**9, vertex_bytes=300) is not None
    assert bigjson.lift(data, 10**6, room=spans + 300 * 300, vertex_bytes=300) is None  # 600+ vertices
    assert bigjson.lift(data, 10**6, room=spans, vertex_bytes=0) is not None
    # one over the vertex limit is only counted, never converted: its text alone is charged
    assert bigjson.lift(data, 10, room=spans, vertex_bytes=300) is not None
