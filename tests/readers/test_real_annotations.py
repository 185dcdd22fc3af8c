"""Every real annotation export in ../shared/data/real reads with the right counts, or yields a
finding that names why. Expected numbers were counted independently with the standard library
(xml.etree / json), and the stdlib count is recomputed here for the XML and JSON exports."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from dqm.readers import read_annotation, resolve_classes
from dqm.readers.common.shapes import ELLIPSE_VERTICES, SPLINE_SAMPLES

# file: (lesions, vertices, splines, classes) -- splines are 8 vertices per control point
ASAP = {
    "8_HE.xml": (2, 296, 2, {"background", "tissue"}),
    "BEST2 CAM 0007 HE - 2020-11-11 16.28.24.xml": (29, 2619, 4, {"negative", "tissue", "trash"}),
    "OC-AH-019_RES.xml": (14, 965, 4, {"artifact", "background", "tissue"}),
    "TCGA-YL-A8SI-01Z-00-DX1.35E5FB1A-9AAC-4942-892B-E9D80F6BDA23.xml": (
        24,
        2256,
        0,
        {"negative", "tissue", "trash"},
    ),
    "tumor_001.xml": (12, 789, 2, {"artifact", "background", "tissue"}),
    "tumor_076.xml": (39, 9682, 1, {"metastasis"}),
    "tumor_085.xml": (50, 7220, 0, {"metastasis"}),
}
# file: (lesions, holes, vertices, not-an-area regions, classes)
HALO = {
    "qupath_test.annotations": (
        12,
        7,
        10142,
        0,
        {
            "Caudate",
            "Cingulum",
            "Corpus Callosum",
            "Cortical White Matter",
            "Hypothalamus",
            "Internal Capsule",
            "Putamen",
        },
    ),
    "test_findholes.annotations": (4, 6, 515, 0, {"Layer 1"}),
    "test_layers.annotations": (4, 0, 456, 0, {"myfirstlayer", "secondlayer", "thishasafour"}),
    "test_types.annotations": (5, 0, 203, 5, {"Layer 1"}),
}
# file: (lesions, vertices, holes, classes)
QUPATH = {
    "TCGA-EJ-5519-01Z-00-DX1.legacy-qupath.json": (3, 2914, 0, {"Negative", "Other", "Tumor"}),
    "dsa-nuclei-noclass.geojson": (10, 492, 0, {None}),
    "multiple_holes_new.geojson": (1, 1931, 3, {"Layer 1"}),
    "qupath_test.geojson": (
        7,
        10142,
        7,
        {
            "Caudate",
            "Cingulum",
            "Corpus Callosum",
            "Cortical White Matter",
            "Hypothalamus",
            "Internal Capsule",
            "Putamen",
        },
    ),
}


def _read(path: Path, profile):
    return resolve_classes(read_annotation(path, path.name), profile)


def _codes(anns) -> Counter:
    return Counter(i.code for a in anns for i in a.issues)


@pytest.mark.parametrize("name", sorted(ASAP))
def test_asap_real_files(real_data: Path, profile, name: str) -> None:
    path = real_data / "annotations" / "asap" / name
    (ann,) = _read(path, profile)
    n, vertices, splines, classes = ASAP[name]
    assert ann.format == "asap" and ann.readable and not ann.issues
    assert len(ann.lesions) == n
    assert sum(les.n_vertices for les in ann.lesions) == vertices
    assert {les.raw_class for les in ann.lesions} == classes
    assert sum("spline_control_points" in les.properties for les in ann.lesions) == splines
    # independent count: one lesion per <Annotation>, vertices as written (x8 for splines)
    root = ET.parse(path).getroot()
    expect = [
        len(el.findall("Coordinates/Coordinate")) * (SPLINE_SAMPLES if el.get("Type") == "Spline" else 1)
        for el in root.iter("Annotation")
    ]
    assert [les.n_vertices for les in ann.lesions] == expect
    assert all(les.geometry is not None and les.geometry.area > 0 for les in ann.lesions)


def test_asap_spline_passes_through_its_control_points(real_data: Path, profile) -> None:
    path = real_data / "annotations" / "asap" / "8_HE.xml"
    (ann,) = _read(path, profile)
    root = ET.parse(path).getroot()
    for el, lesion in zip(root.iter("Annotation"), ann.lesions, strict=True):
        control = [(float(c.get("X")), float(c.get("Y"))) for c in el.findall("Coordinates/Coordinate")]
        ring = lesion.polygons[0][0]
        assert len(ring) == SPLINE_SAMPLES * len(control)
        np.testing.assert_array_equal(ring[::SPLINE_SAMPLES], np.asarray(control))


@pytest.mark.parametrize("name", sorted(HALO))
def test_halo_real_files(real_data: Path, profile, name: str) -> None:
    (ann,) = _read(real_data / "annotations" / "halo" / name, profile)
    n, holes, vertices, not_areas, classes = HALO[name]
    assert ann.format == "halo" and ann.readable
    assert len(ann.lesions) == n
    assert sum(les.n_holes for les in ann.lesions) == holes
    assert sum(les.n_vertices for les in ann.lesions) == vertices
    assert {les.raw_class for les in ann.lesions} == classes
    assert _codes([ann]) == (Counter({"NOT_AN_AREA": not_areas}) if not_areas else Counter())


def test_halo_findholes_matches_negative_regions_to_their_shell(real_data: Path, profile) -> None:
    """pyhaloxml's own test: 10 regions, 4 after matching; a rectangle holds a rectangle, an
    ellipse an ellipse, one polygon an ellipse and the other three polygons."""
    (ann,) = _read(real_data / "annotations" / "halo" / "test_findholes.annotations", profile)
    by_type = sorted((les.properties["Type"], les.n_holes) for les in ann.lesions)
    assert by_type == [("Ellipse", 1), ("Polygon", 1), ("Polygon", 3), ("Rectangle", 1)]
    ellipse = next(les for les in ann.lesions if les.properties["Type"] == "Ellipse")
    assert len(ellipse.polygons[0][0]) == ELLIPSE_VERTICES
    assert all(les.geometry.is_valid for les in ann.lesions)


def test_halo_types_reports_rulers_pins_and_open_polylines(real_data: Path, profile) -> None:
    (ann,) = _read(real_data / "annotations" / "halo" / "test_types.annotations", profile)
    messages = [i.message for i in ann.issues if i.code == "NOT_AN_AREA"]
    assert sum("Ruler" in m for m in messages) == 2
    assert sum("Pin" in m for m in messages) == 1
    assert sum("polyline" in m for m in messages) == 2  # one with end caps, one not closed
    assert Counter(les.properties["Type"] for les in ann.lesions) == {
        "Rectangle": 2,
        "Ellipse": 2,
        "Polygon": 1,
    }


def test_halo_and_qupath_exports_of_one_annotation_agree(real_data: Path, profile) -> None:
    """qupath_test.annotations is the HALO export of qupath_test.geojson: same vertex count,
    same holes, and the same area per class up to HALO's integer rounding."""
    (q,) = _read(real_data / "annotations" / "qupath" / "qupath_test.geojson", profile)
    (h,) = _read(real_data / "annotations" / "halo" / "qupath_test.annotations", profile)
    area_q, area_h = Counter(), Counter()
    for les in q.lesions:
        area_q[les.raw_class] += les.geometry.area
    for les in h.lesions:
        area_h[les.raw_class] += les.geometry.area
    assert area_q.keys() == area_h.keys()
    for name in area_q:
        assert area_h[name] == pytest.approx(area_q[name], rel=1e-4)


@pytest.mark.parametrize("name", sorted(QUPATH))
def test_qupath_real_files(real_data: Path, profile, name: str) -> None:
    path = real_data / "annotations" / "qupath" / name
    (ann,) = _read(path, profile)
    n, vertices, holes, classes = QUPATH[name]
    assert ann.format == "qupath" and ann.readable
    assert len(ann.lesions) == n
    assert sum(les.n_vertices for les in ann.lesions) == vertices
    assert sum(les.n_holes for les in ann.lesions) == holes
    assert {les.raw_class for les in ann.lesions} == classes
    doc = json.loads(path.read_text())
    feats = doc["features"] if isinstance(doc, dict) else doc
    assert sum(len(r) for f in feats for p in _polys(f["geometry"]) for r in p) == vertices


def _polys(geometry: dict) -> list:
    return [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]


def test_qupath_feature_without_class_is_a_finding(real_data: Path, profile) -> None:
    (ann,) = _read(real_data / "annotations" / "qupath" / "dsa-nuclei-noclass.geojson", profile)
    missing = [i for i in ann.issues if i.code == "CLASS_MISSING"]
    assert [i.pointer for i in missing] == [f"/features/{k}/properties/classification" for k in range(10)]


def test_qupath_legacy_list_keeps_measurements_and_colour(real_data: Path, profile) -> None:
    (ann,) = _read(
        real_data / "annotations" / "qupath" / "TCGA-EJ-5519-01Z-00-DX1.legacy-qupath.json", profile
    )
    assert [les.pointer for les in ann.lesions] == ["/0", "/1", "/2"]
    assert ann.lesions[1].geometry.geom_type == "MultiPolygon"
    assert all("measurements" in les.properties for les in ann.lesions)


def test_imagescope_real_file(real_data: Path, profile) -> None:
    path = real_data / "annotations" / "imagescope" / "TCGA-EJ-5519-01Z-00-DX1.xml"
    (ann,) = _read(path, profile)
    assert ann.format == "imagescope" and ann.mpp == pytest.approx(0.252)
    assert [les.n_vertices for les in ann.lesions] == [2531, 648, 203]
    assert {les.raw_class for les in ann.lesions} == {None}
    codes = _codes([ann])
    assert codes == {"EMPTY_LAYER_NAME": 3, "EMPTY_LAYER": 1}
    assert next(i.pointer for i in ann.issues if i.code == "EMPTY_LAYER") == "/Annotations/Annotation[2]"
    # ImageScope stores each region's area: the outline read gives the same number
    root = ET.parse(path).getroot()
    areas = [float(r.get("Area")) for r in root.iter("Region")]
    assert [les.geometry.area for les in ann.lesions] == pytest.approx(areas, abs=0.1)


def test_dsa_real_file(real_data: Path, profile) -> None:
    path = (
        real_data / "annotations" / "dsa" / "TCGA-A2-A0YE-01Z-00-DX1_GET_MergePolygons.svs_annotations.json"
    )
    (ann,) = _read(path, profile)
    doc = json.loads(path.read_text())
    elements = [e for d in doc for e in d["annotation"]["elements"]]
    assert ann.format == "dsa" and len(doc) == 62
    assert len(ann.lesions) == len(elements) == 98
    assert sum(les.n_vertices for les in ann.lesions) == sum(len(e["points"]) for e in elements) == 21820
    assert Counter(les.raw_class for les in ann.lesions) == {
        "mostly_tumor": 38,
        "mostly_stroma": 35,
        "roi": 20,
        "mostly_lymphocytic_infiltrate": 5,
    }
    assert ann.lesions[0].pointer == "/0/annotation/elements/0"


def test_dsa_folder_table_is_named_as_not_annotations(real_data: Path, profile) -> None:
    """The folder's label mask is read as a mask (tests/readers/test_mask.py); its codes table is no annotation."""
    (csv,) = _read(real_data / "annotations" / "dsa" / "sample_GTcodes.csv", profile)
    assert not csv.readable and [i.code for i in csv.issues] == ["UNKNOWN_FORMAT"]


def test_midog_coco_file(real_data: Path, profile) -> None:
    path = real_data / "annotations" / "coco" / "MIDOG++.json"
    anns = _read(path, profile)
    doc = json.loads(path.read_text())
    per_image = Counter(a["image_id"] for a in doc["annotations"])
    assert len(anns) == len(doc["images"]) == 553
    assert sum(len(a.lesions) for a in anns) == 0  # bounding boxes only: no outline
    first = next(a for a in anns if a.image_key == "001.tiff")
    assert (first.width, first.height) == (7215, 5412)
    codes = _codes(anns)
    assert codes["COCO_BBOX_NOT_XYWH"] == 553
    assert codes["COCO_BBOX_ONLY"] == len(per_image) == 503
    only = next(i for i in first.issues if i.code == "COCO_BBOX_ONLY")
    assert only.message.startswith(f"{per_image[1]} annotation(s)")
    xyxy = next(i for i in first.issues if i.code == "COCO_BBOX_NOT_XYWH")
    assert "26286 boxes" in xyxy.message and "19448" in xyxy.message
