"""Bad input is normal input: random and mutated files become findings, never exceptions.

Each example is parsed by :func:`dqm.readers.parse_annotation` and then judged by every
registered item check; the property is that nothing raises and no check crashes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dqm.model import Annotation, Item
from dqm.profile import Profile, load_profile
from dqm.readers import parse_annotation, resolve_classes
from dqm.runner import run_item_checks
from validators.context import FileStatus, ItemView
from validators.engine import CRASH_CODE, configure

PROFILE = load_profile()
CHECKS = configure(PROFILE)
FUZZ = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
REAL_FILES = [
    "asap/8_HE.xml",
    "asap/OC-AH-019_RES.xml",
    "halo/test_findholes.annotations",
    "halo/test_types.annotations",
    "imagescope/TCGA-EJ-5519-01Z-00-DX1.xml",
    "qupath/dsa-nuclei-noclass.geojson",
    "qupath/multiple_holes_new.geojson",
    "qupath/TCGA-EJ-5519-01Z-00-DX1.legacy-qupath.json",
    "dsa/TCGA-A2-A0YE-01Z-00-DX1_GET_MergePolygons.svs_annotations.json",
    "coco/MIDOG++.json",
]
HEAD = 48 * 1024
"""Big files are fuzzed through their first bytes (the readers must cope with truncation)."""


def judge(data: bytes, name: str, profile: Profile = PROFILE) -> list[Annotation]:
    anns = resolve_classes(parse_annotation(data, name), profile)
    assert anns and all(isinstance(a, Annotation) for a in anns)
    for ann in anns[:3]:
        item = Item("x", None, name, {}, None)
        view = ItemView(item, profile, ann, None, FileStatus(None, False), FileStatus(name, True), False)
        crashed = [f for f in run_item_checks(view, CHECKS) if f.code == CRASH_CODE]
        assert not crashed, crashed[0].message
    return anns


@FUZZ
@given(st.binary(max_size=512))
def test_random_bytes(data: bytes) -> None:
    judge(data, "random.bin")


@FUZZ
@given(st.binary(max_size=256))
def test_random_bytes_after_a_format_prefix(tail: bytes) -> None:
    for head in (
        b"<ASAP_Annotations>",
        b"<Annotations>",
        b'{"type": "FeatureCollection", "features": [',
        b"[{",
    ):
        judge(head + tail, "prefixed")


mutation = st.tuples(
    st.sampled_from(["flip", "delete", "insert", "truncate", "duplicate"]),
    st.floats(0, 1),
    st.integers(1, 64),
    st.binary(min_size=1, max_size=16),
)


def mutate(data: bytes, ops) -> bytes:
    buf = bytearray(data)
    for kind, where, size, junk in ops:
        if not buf:
            break
        pos = int(where * (len(buf) - 1))
        if kind == "flip":
            buf[pos] ^= 0xFF
        elif kind == "delete":
            del buf[pos : pos + size]
        elif kind == "insert":
            buf[pos:pos] = junk
        elif kind == "truncate":
            del buf[pos:]
        else:
            buf[pos:pos] = buf[pos : pos + size]
    return bytes(buf)


@pytest.mark.parametrize("rel", REAL_FILES)
def test_mutated_real_files(real_data: Path, rel: str) -> None:
    original = (real_data / "annotations" / rel).read_bytes()[:HEAD]

    @FUZZ
    @given(st.lists(mutation, min_size=1, max_size=4))
    def run(ops) -> None:
        judge(mutate(original, ops), Path(rel).name)

    run()


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=True)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)
coords = st.lists(
    st.lists(st.lists(st.floats(-1e6, 1e6) | st.integers(), max_size=3), max_size=6), max_size=3
)


@FUZZ
@given(
    geometry_type=st.sampled_from(
        ["Polygon", "MultiPolygon", "Point", "GeometryCollection", "LineString", 3]
    ),
    coordinates=coords | json_values,
    classification=json_values | st.sampled_from(["BCC", "Tumor"]),
    object_type=st.sampled_from(["annotation", "detection", "cell", None]) | json_values,
    extra=json_values,
)
def test_qupath_shaped_documents(geometry_type, coordinates, classification, object_type, extra) -> None:
    feat = {
        "type": "Feature",
        "geometry": {"type": geometry_type, "coordinates": coordinates, "geometries": extra},
        "properties": {"classification": classification, "objectType": object_type, "x": extra},
    }
    for doc in ({"type": "FeatureCollection", "features": [feat, extra]}, [feat], feat):
        judge(json.dumps(doc).encode(), "f.geojson")


@FUZZ
@given(
    segmentation=json_values
    | st.lists(st.lists(st.floats(-100, 100) | st.integers(-5, 200), max_size=12), max_size=3)
    | st.fixed_dictionaries(
        {"size": json_values | st.just([4, 5]), "counts": json_values | st.text(max_size=12)}
    ),
    bbox=json_values | st.lists(st.floats(-10, 1000), min_size=4, max_size=4),
    image=json_values
    | st.fixed_dictionaries({"id": st.integers(0, 2), "file_name": json_values, "width": json_values}),
    category=json_values,
)
def test_coco_shaped_documents(segmentation, bbox, image, category) -> None:
    doc = {
        "images": [image, {"id": 1, "file_name": "a.tiff", "width": 100, "height": 100}],
        "annotations": [{"image_id": 1, "category_id": category, "segmentation": segmentation, "bbox": bbox}],
        "categories": [{"id": 1, "name": "BCC"}, category],
    }
    judge(json.dumps(doc).encode(), "c.json")


@FUZZ
@given(
    element=st.dictionaries(
        st.sampled_from(
            [
                "type",
                "points",
                "closed",
                "holes",
                "center",
                "width",
                "height",
                "radius",
                "rotation",
                "group",
                "label",
            ]
        ),
        json_values | st.sampled_from(["polyline", "rectangle", "ellipse", "circle", "point"]),
        max_size=8,
    )
)
def test_dsa_shaped_documents(element) -> None:
    doc = [{"annotation": {"name": "n", "elements": [element]}}, {"annotation": element}]
    judge(json.dumps(doc).encode(), "d.json")


xml_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters='<>&"\x00'), max_size=8
)


@FUZZ
@given(
    kind=st.sampled_from(
        ["Polygon", "Spline", "Rectangle", "Dot", "PointSet", "Ellipse", "Pin", "Ruler", "0", "1"]
    )
    | xml_text,
    values=st.lists(
        st.tuples(xml_text | st.floats(-1e9, 1e9).map(str), xml_text | st.integers().map(str)), max_size=8
    ),
    negative=st.sampled_from(["0", "1", ""]) | xml_text,
    name=xml_text,
)
def test_xml_shaped_documents(kind, values, negative, name) -> None:
    asap_coords = "".join(f'<Coordinate Order="{k}" X="{x}" Y="{y}"/>' for k, (x, y) in enumerate(values))
    scope_verts = "".join(f'<Vertex X="{x}" Y="{y}"/>' for x, y in values)
    halo_verts = "".join(f'<V X="{x}" Y="{y}"/>' for x, y in values)
    docs = [
        f'<ASAP_Annotations><Annotations><Annotation Type="{kind}" PartOfGroup="{name}"><Coordinates>'
        f"{asap_coords}</Coordinates></Annotation></Annotations></ASAP_Annotations>",
        f'<Annotations MicronsPerPixel="{name}"><Annotation Id="1" Name="{name}"><Regions>'
        f'<Region Type="{kind}" NegativeROA="{negative}"><Vertices>{scope_verts}</Vertices></Region>'
        f'<Region NegativeROA="1"><Vertices>{scope_verts}</Vertices></Region></Regions></Annotation></Annotations>',
        f'<Annotations><Annotation Name="{name}"><Regions><Region Type="{kind}" HasEndcaps="{negative}" '
        f'NegativeROA="{negative}"><Vertices>{halo_verts}</Vertices></Region></Regions></Annotation></Annotations>',
    ]
    for doc in docs:
        judge(doc.encode(), "x.annotations")
