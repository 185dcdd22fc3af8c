"""The native reader: structure errors at their JSON pointer, never an exception."""

from __future__ import annotations

import json

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dqm.readers import parse_annotation, resolve_classes
from dqm.readers.native_schema import json_schema
from dqm.runner import run_item_checks
from tests.helpers import circle, native_doc, view_of
from validators.engine import CRASH_CODE, configure


def codes(ann):
    return [(i.code, i.pointer) for i in ann.issues]


def read(doc, profile):
    return resolve_classes(parse_annotation(orjson.dumps(doc), "a.json")[0], profile)


def test_clean_document_reads_into_the_model(profile):
    ann = read(native_doc(), profile)
    assert ann.issues == [] and ann.readable
    assert (ann.width, ann.height, ann.mpp, ann.slide_file) == (4096, 3072, 0.5, "S1.tiff")
    assert [les.label for les in ann.lesions] == ["BCC", "BCC"]
    first = ann.lesions[0]
    assert first.n_holes == 1 and first.n_vertices == 128
    assert first.geometry.is_valid and first.geometry.area == pytest.approx(
        3.1416 * (200**2 - 50**2), rel=0.01
    )
    # value slots: format + slide(file, width, height, mpp) + clinical(6 present) + 2 lesions x (id, class, geometry)
    assert ann.n_values == 1 + 4 + 6 + 2 * 3


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["slide"].pop("width"), ("MISSING_KEY", "/slide/width")),
        (lambda d: d["slide"].__setitem__("width", "4096"), ("WRONG_TYPE", "/slide/width")),
        (lambda d: d["slide"].__setitem__("width", 4096.0), ("WRONG_TYPE", "/slide/width")),
        (lambda d: d["slide"].__setitem__("width", True), ("WRONG_TYPE", "/slide/width")),
        (lambda d: d.__setitem__("comment", "x"), ("UNKNOWN_KEY", "/#1")),  # no format's key: its position
        (lambda d: d["lesions"][1].pop("class"), ("MISSING_KEY", "/lesions/1/class")),
        (lambda d: d["lesions"][1].__setitem__("colour", "red"), ("UNKNOWN_KEY", "/lesions/1/#1")),
        (
            lambda d: d["lesions"][0]["geometry"].__setitem__("type", "Point"),
            ("UNSUPPORTED_GEOMETRY", "/lesions/0/geometry"),
        ),
        (
            lambda d: d["lesions"][0]["geometry"]["coordinates"][0].__setitem__(3, [1.0, "2"]),
            ("WRONG_TYPE", "/lesions/0/geometry"),
        ),
        (
            lambda d: d["lesions"][0]["geometry"]["coordinates"][0].__setitem__(3, [1.0, 2.0, 3.0]),
            ("BAD_VERTEX", "/lesions/0/geometry"),
        ),
        (lambda d: d.__setitem__("format", "other/2"), ("WRONG_VALUE", "/format")),
        (lambda d: d.__setitem__("lesions", {}), ("WRONG_TYPE", "/lesions")),
        (lambda d: d.pop("clinical"), ("MISSING_KEY", "/clinical")),
    ],
)
def test_structure_errors_point_at_the_value(profile, mutate, expected):
    doc = native_doc()
    mutate(doc)
    assert expected in codes(read(doc, profile))


def test_a_broken_outline_keeps_no_geometry_so_it_is_reported_once(profile):
    doc = native_doc()
    doc["lesions"][0]["geometry"]["coordinates"][0][5] = ["x", None]
    ann = read(doc, profile)
    assert [c for c, _ in codes(ann)] == ["WRONG_TYPE"]
    assert ann.issues[0].vertex == 5
    assert not ann.lesions[0].outline_read and ann.lesions[0].geometry is None
    assert ann.lesions[1].geometry is not None


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "EMPTY_FILE"),
        (b"  \n\t", "EMPTY_FILE"),
        (b'{"a": "\xff\xfe"}', "INVALID_ENCODING"),
        (b'{"slide": {', "INVALID_JSON"),
        (b"<xml/>", "UNKNOWN_FORMAT"),
        (b"GIF89a....", "UNKNOWN_FORMAT"),
    ],
)
def test_unreadable_files_are_issues(profile, data, code):
    ann = parse_annotation(data, "a.json")[0]
    assert not ann.readable
    assert [i.code for i in ann.issues][-1] == code


def test_syntax_error_location_is_line_and_column(profile):
    ann = parse_annotation(b'{\n  "slide": {,\n}', "a.json")[0]
    (issue,) = ann.issues
    assert (issue.code, issue.line, issue.char) == ("INVALID_JSON", 2, 13)


def test_byte_order_mark_is_a_warning_and_the_file_still_reads(profile):
    ann = parse_annotation(b"\xef\xbb\xbf" + orjson.dumps(native_doc()), "a.json")[0]
    assert [i.code for i in ann.issues] == ["UTF8_BOM"] and len(ann.lesions) == 2


def test_nan_coordinates_parse_and_are_a_format_finding(profile):
    doc = native_doc()
    doc["lesions"][1]["geometry"]["coordinates"][0][7] = [float("nan"), 5.0]
    view = view_of(doc, profile, raw=json.dumps(doc).encode())
    found = [
        (f.code, f.location.lesion, f.location.vertex) for f in run_item_checks(view, configure(profile))
    ]
    assert found == [("NON_FINITE_COORDINATE", 1, 7)]


def test_published_schema_is_in_sync():
    from pathlib import Path

    published = json.loads(
        (Path(__file__).resolve().parents[2] / "docs/native-annotation.schema.json").read_text()
    )
    assert published == json_schema(), (
        "regenerate with: dqm schema native > docs/native-annotation.schema.json"
    )


def test_published_schema_accepts_a_clean_document_and_rejects_a_broken_one():
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(json_schema())
    assert list(validator.iter_errors(native_doc())) == []
    doc = native_doc()
    doc["slide"]["width"] = "wide"
    assert list(validator.iter_errors(doc))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_arbitrary_bytes_give_findings_never_exceptions(profile, data):
    view = view_of(None, profile, raw=data)
    findings = run_item_checks(view, configure(profile))
    assert not [f for f in findings if f.code == CRASH_CODE]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["slide", "lesions", "clinical", "format"]),
    json_values,
    st.integers(min_value=0, max_value=3),
)
def test_arbitrary_values_in_a_native_document_never_crash_a_check(profile, key, value, where):
    doc = native_doc()
    if key == "lesions" and where < 2:
        doc["lesions"][where]["geometry"]["coordinates"] = value
    elif key == "lesions" and where == 2:
        doc["lesions"].append(value)
    else:
        doc[key] = value
    view = view_of(doc, profile)
    findings = run_item_checks(view, configure(profile))
    assert not [f for f in findings if f.code == CRASH_CODE], [
        f.message for f in findings if f.code == CRASH_CODE
    ]


def test_coordinates_with_three_vertices_build_a_triangle(profile):
    doc = native_doc(
        [{"class": "BCC", "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [0, 10]]]}}]
    )
    ann = read(doc, profile)
    assert ann.lesions[0].geometry.area == 50


def test_multipolygon_reads_every_part(profile):
    coords = [[circle(500, 500, 100)], [circle(1500, 500, 100), circle(1500, 500, 20)[::-1]]]
    ann = read(
        native_doc([{"class": "MM", "geometry": {"type": "MultiPolygon", "coordinates": coords}}]), profile
    )
    les = ann.lesions[0]
    assert les.geometry.geom_type == "MultiPolygon" and les.n_holes == 1 and les.n_vertices == 192


def _slow_read(doc):
    from dqm.readers.native import read

    (ann,) = read(doc, "a.json", [])
    return ann


def _same_annotation(a, b):
    assert (a.width, a.height, a.mpp, a.slide_file, a.clinical, a.n_values, a.issues) == (
        b.width,
        b.height,
        b.mpp,
        b.slide_file,
        b.clinical,
        b.n_values,
        b.issues,
    )
    assert [(x.label, x.raw_class, x.n_vertices, x.properties) for x in a.lesions] == [
        (x.label, x.raw_class, x.n_vertices, x.properties) for x in b.lesions
    ]
    for x, y in zip(a.lesions, b.lesions, strict=True):
        assert all(
            np.array_equal(r, s)
            for p, q in zip(x.polygons, y.polygons, strict=True)
            for r, s in zip(p, q, strict=True)
        )


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: None,
        lambda d: d.pop("format"),
        lambda d: d["slide"].pop("mpp"),
        lambda d: d["slide"].__setitem__("mpp", None),
        lambda d: d["slide"].__setitem__("objective_power", 20),
        lambda d: d["lesions"][0].__setitem__("properties", {"note": "x"}),
        lambda d: d["lesions"][0].pop("id"),
        lambda d: d.__setitem__("lesions", []),
    ],
)
def test_fast_and_full_reading_agree_on_clean_files(mutate):
    from dqm.readers.native import read_clean

    doc = native_doc()
    mutate(doc)
    fast = read_clean(json.dumps(doc).encode(), "a.json")
    assert fast is not None
    _same_annotation(fast, _slow_read(doc))


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(["slide", "lesions", "clinical", "format", "coordinates", "vertex", "class", "id"]),
    json_values,
)
def test_the_fast_reader_never_accepts_what_the_schema_rejects(key, value):
    from pydantic import ValidationError

    from dqm.readers.native import _ADAPTER, read_clean

    doc = native_doc()
    if key == "coordinates":
        doc["lesions"][0]["geometry"]["coordinates"] = value
    elif key == "vertex":
        doc["lesions"][1]["geometry"]["coordinates"][0][2] = value
    elif key in ("class", "id"):
        doc["lesions"][1][key] = value
    else:
        doc[key] = value
    data = json.dumps(doc).encode()
    if read_clean(data, "a.json") is not None:
        try:
            _ADAPTER.validate_python(json.loads(data))
        except ValidationError as exc:  # pragma: no cover - the assertion below explains
            raise AssertionError(f"fast path accepted an invalid document: {exc}") from exc


@pytest.mark.parametrize(
    ("key", "value"),
    [("mpp", 10**400), ("mpp", -(10**400)), ("width", 10**400)],
    ids=["huge-mpp", "huge-negative-mpp", "huge-width"],
)
def test_integers_beyond_a_float_are_findings_not_overflow_errors(profile, key, value):
    """JSON integers have no limit; float() of one beyond ~1e308 raises OverflowError."""
    view = view_of(native_doc(**{key: value}), profile)
    findings = run_item_checks(view, configure(profile))
    assert not [f for f in findings if f.code == CRASH_CODE]
    if key == "mpp":
        assert "MPP_INVALID" in {f.code for f in findings}
        assert view.mpp == 0.5  # the slide header's, the declared one being unusable


def test_an_infinite_declared_mpp_is_not_used_as_the_resolution(profile):
    view = view_of(native_doc(mpp=10**400), profile, slide=False)
    assert view.annotation.mpp == float("inf") and view.mpp is None


def test_a_huge_clinical_integer_is_compared_without_crashing(profile):
    doc = native_doc()
    doc["clinical"]["age"] = 10**400
    findings = run_item_checks(view_of(doc, profile), configure(profile))
    assert not [f for f in findings if f.code == CRASH_CODE]
    assert "CLINICAL_MISMATCH" in {f.code for f in findings}


def test_lesions_of_a_class_share_its_name_and_hold_exact_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    """A big file's lesions stay in memory (the parse cache): the class name each lesion holds is
    one string, not one the parser made per lesion, and the lists of polygons and rings hold no
    spare room (a list built by appending keeps room for four items). Read in pieces, as a big
    file is (each lesion decoded alone)."""
    import sys

    from dqm.readers.common import pieces

    monkeypatch.setattr(pieces, "MIN_BYTES", 100)

    ring = [[0, 0], [10, 0], [10, 10], [0, 0]]
    lesions = [
        {"class": "B" + "CC", "geometry": {"type": "Polygon", "coordinates": [ring]}} for _ in range(3)
    ]
    (ann,) = parse_annotation(json.dumps(native_doc(lesions)).encode(), "annotations/S1.json")
    assert len({id(lesion.raw_class) for lesion in ann.lesions}) == 1
    exact = sys.getsizeof([None])
    assert {
        (sys.getsizeof(lesion.polygons), sys.getsizeof(lesion.polygons[0])) for lesion in ann.lesions
    } == {(exact, exact)}


def test_a_native_file_nested_past_the_decoders_depth_is_a_finding_not_a_crash() -> None:
    """msgspec raises RecursionError on a document nested about 1,000 levels deep; read_clean let it
    out, so ``dqm validate`` said CHECK_CRASHED (rc 3) and the file was never searched. Now the
    full read says why it is not read."""
    deep = '"x"'
    for _ in range(1100):
        deep = '{"a":' + deep + "}"
    square = [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]
    lesion = '{"class":"BCC","geometry":{"type":"Polygon","coordinates":' + json.dumps([square])
    slide = '{"slide":{"file":"s1.svs","width":100,"height":100},"lesions":['
    doc = slide + lesion + '},"properties":{"x":' + deep + '}}],"clinical":{}}'
    (ann,) = parse_annotation(doc.encode(), "ann/s1.json")
    assert not ann.readable
    assert [(i.code, str(i.message)) for i in ann.issues] == [
        ("INVALID_JSON", "not valid JSON: nested too deeply")
    ]
