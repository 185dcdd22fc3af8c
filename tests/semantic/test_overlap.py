"""Dice and IoU between delivered and corrected outlines: closed forms and the stated conventions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely

from dqm.profile import Profile
from dqm.semantic.overlap import compare, dice_iou, parse_geojson


def square(x0: float, y0: float, size: float) -> shapely.Polygon:
    return shapely.box(x0, y0, x0 + size, y0 + size)


def test_closed_form_on_squares() -> None:
    # two 10×10 squares overlapping on 5×10: |A∩B| = 50, |A|+|B| = 200, |A∪B| = 150
    dice, iou = dice_iou(square(0, 0, 10), square(5, 0, 10))
    assert dice == pytest.approx(2 * 50 / 200) and iou == pytest.approx(50 / 150)
    assert dice_iou(square(0, 0, 10), square(0, 0, 10)) == (1.0, 1.0)
    assert dice_iou(square(0, 0, 1), square(5, 5, 1)) == (0.0, 0.0)
    assert dice_iou(shapely.Polygon(), shapely.Polygon()) == (None, None)


def test_per_class_and_all() -> None:
    delivered = [("BCC", square(0, 0, 10)), ("SK", square(20, 0, 10))]
    corrected = [("BCC", square(5, 0, 10)), ("MM", square(20, 0, 10))]
    rows = {r[0]: r for r in compare(delivered, corrected)}
    assert list(rows) == ["BCC", "MM", "SK", "all"]
    assert rows["BCC"][1] == pytest.approx(0.5)
    assert rows["SK"][1:3] == (0.0, 0.0)  # a class on one side only scores 0
    assert rows["MM"][1:3] == (0.0, 0.0)
    # all lesions together: delivered 200, corrected 200, overlap 50 + 100
    assert rows["all"][1] == pytest.approx(2 * 150 / 400)
    assert rows["all"][3:5] == (200.0, 200.0)


def test_both_empty_is_undefined_not_one() -> None:
    rows = compare([], [])
    assert rows == [("all", None, None, 0.0, 0.0, "both empty: undefined")]


def test_invalid_outlines_are_repaired_for_the_computation_and_noted() -> None:
    bowtie = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10), (0, 0)])
    assert not bowtie.is_valid
    rows = compare([("BCC", bowtie)], [("BCC", square(0, 0, 10))])
    label, dice, _iou, area_delivered, _area_corrected, note = rows[0]
    assert label == "BCC" and "delivered outline repaired" in note
    assert area_delivered == pytest.approx(50.0) and dice == pytest.approx(2 * 50 / 150)


def test_geojson_parsing(profile: Profile) -> None:
    poly = {"type": "Polygon", "coordinates": [[[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]]]}
    shapes, problems = parse_geojson(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"classification": {"name": "basal cell carcinoma"}},
                    "geometry": poly,
                },
                {"type": "Feature", "properties": {"class": "melanoma"}, "geometry": poly},
                {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [1, 2]}},
                {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": "junk"}},
                "not a feature",
            ],
        },
        profile,
    )
    assert [c for c, _ in shapes] == ["BCC", "MM"]
    assert len(problems) == 3
    assert parse_geojson(poly, profile)[0][0][0] is None  # a bare geometry has no class
    assert parse_geojson({"type": "Nope"}, profile) == ([], ["not GeoJSON (type 'Nope')"])


def test_real_qupath_exports_compare_to_themselves_perfectly(real_data: Path, profile: Profile) -> None:
    """Real QuPath / DSA exports (classes outside the taxonomy, holes, 3-D coordinates, the old bare
    list) parse without problems, and each outline scores Dice = IoU = 1 against itself."""
    expected = {
        "qupath_test.geojson": 7,
        "multiple_holes_new.geojson": 1,
        "dsa-nuclei-noclass.geojson": 10,
        "TCGA-EJ-5519-01Z-00-DX1.legacy-qupath.json": 3,
    }
    for name, count in expected.items():
        doc = json.loads((real_data / "annotations" / "qupath" / name).read_text("utf-8"))
        shapes, problems = parse_geojson(doc, profile)
        assert (len(shapes), problems) == (count, []), name
        for label, dice, iou, area_a, area_b, _note in compare(shapes, shapes):
            assert dice == pytest.approx(1.0) and iou == pytest.approx(1.0), (name, label)
            assert area_a == area_b > 0
