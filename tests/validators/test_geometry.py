"""Geometry checks, one handcrafted lesion per reason code, and the degenerate cases."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import circle, native_doc, square, view_of
from validators.engine import configure, run_checks


@pytest.fixture(scope="module")
def checks(profile):
    return configure(profile)


def lesion(coords, cls="BCC", kind="Polygon"):
    return {"class": cls, "geometry": {"type": kind, "coordinates": coords}}


def findings(profile, checks, lesions, **kw):
    doc = native_doc([lesion([circle(3000, 2500, 120)]), *lesions])
    return [(f.code, f.location.lesion) for f in run_checks("item", view_of(doc, profile, **kw), checks)]


BOWTIE = [[0, 0], [100, 100], [100, 0], [0, 100]]


@pytest.mark.parametrize(
    ("coords", "code"),
    [
        ([[[10, 10], [60, 10]]], "TOO_FEW_VERTICES"),
        ([[[10, 10], [60, 10], [10, 10], [60, 10]]], "TOO_FEW_VERTICES"),
        ([], "TOO_FEW_VERTICES"),
        ([[[x + 200, y + 200] for x, y in BOWTIE]], "SELF_INTERSECTION"),
        (
            [[[200, 200], [400, 200], [300, 300], [400, 400], [200, 400], [300, 300]]],
            "RING_SELF_INTERSECTION",
        ),
        ([[[0, 0], [10, 10], [20, 20], [30, 30]]], "ZERO_AREA"),
        ([square(200, 200, 100), square(600, 600, 20)], "HOLE_OUTSIDE_SHELL"),
        ([square(200, 200, 300), square(250, 250, 200), square(300, 300, 50)], "NESTED_HOLES"),
        ([square(4000, 100, 200)], "LESION_OUT_OF_BOUNDS"),
        ([square(-5, 100, 200)], "LESION_OUT_OF_BOUNDS"),
        ([square(1000, 1000, 8)], "LESION_TOO_SMALL"),
    ],
)
def test_each_geometry_defect_has_its_code(profile, checks, coords, code):
    assert findings(profile, checks, [lesion(coords)]) == [(code, 1)]


def test_non_finite_vertex_is_located(profile, checks):
    import json

    doc = native_doc([lesion([circle(500, 500, 80)])])
    doc["lesions"][0]["geometry"]["coordinates"][0][10][1] = float("inf")
    view = view_of(doc, profile, raw=json.dumps(doc).encode())
    (f,) = run_checks("item", view, checks)
    assert (f.code, f.location.lesion, f.location.vertex, f.location.pointer) == (
        "NON_FINITE_COORDINATE",
        0,
        10,
        "/lesions/0/geometry",
    )


def test_nested_shells_in_a_multipolygon(profile, checks):
    coords = [[square(200, 200, 300)], [square(250, 250, 50)]]
    assert findings(profile, checks, [lesion(coords, kind="MultiPolygon")]) == [("NESTED_SHELLS", 1)]


def test_duplicate_lesion_of_any_class(profile, checks):
    ring = circle(800, 800, 90)
    shifted = [[x + 1, y] for x, y in ring]
    assert findings(profile, checks, [lesion([ring]), lesion([ring])]) == [("DUPLICATE_LESION", 2)]
    # IoU of a 1-px shift of a 90-px circle is ~0.99: still the same outline
    assert sorted(findings(profile, checks, [lesion([ring]), lesion([shifted], "SK")])) == [
        ("DUPLICATE_LESION", 2),
        ("LESION_CLASS_MISMATCH", 2),
    ]


def test_overlap_of_different_classes_is_a_warning_same_class_is_not(profile, checks):
    a, b = circle(800, 800, 90), circle(880, 800, 90)
    assert findings(profile, checks, [lesion([a]), lesion([b])]) == []
    view = view_of(native_doc([lesion([a]), lesion([b], "MN")]), profile)
    got = {(f.code, f.severity.value) for f in run_checks("item", view, checks)}
    assert ("OVERLAPPING_CLASSES", "warning") in got


def test_a_lesion_inside_another_lesions_hole_does_not_overlap(profile, checks):
    donut = [circle(800, 800, 200), circle(800, 800, 100)[::-1]]
    inside = circle(800, 800, 50)
    assert findings(profile, checks, [lesion(donut), lesion([inside], "NS")]) == []


def test_bounds_use_the_slide_header_over_the_declaration(profile, checks):
    doc = native_doc([lesion([square(4000, 100, 200)])], width=8000)  # declared wider than the slide
    got = [f.code for f in run_checks("item", view_of(doc, profile), checks)]
    assert "LESION_OUT_OF_BOUNDS" in got and "SLIDE_SIZE_MISMATCH" in got


def test_bounds_fall_back_to_the_declared_size_without_a_slide(profile, checks):
    doc = native_doc([lesion([square(4000, 100, 200)])])
    got = [f.code for f in run_checks("item", view_of(doc, profile, slide=False), checks)]
    assert sorted(got) == ["LESION_OUT_OF_BOUNDS", "SLIDE_MISSING"]


def test_min_area_is_skipped_when_resolution_is_unknown(profile, checks):
    doc = native_doc([lesion([square(1000, 1000, 8)])])
    del doc["slide"]["mpp"]
    view = view_of(doc, profile)
    view.slide.mpp_x = None
    got = [f.code for f in run_checks("item", view, checks)]
    assert got == ["MPP_MISSING"]


def test_geometry_checks_report_nothing_for_an_empty_lesion_list(profile, checks):
    doc = native_doc([])
    doc["clinical"]["diagnosis"] = "NS"
    view = view_of(doc, profile)
    view.item.record["diagnosis"] = "NS"
    assert run_checks("item", view, checks) == []


def test_diagnosis_needs_a_lesion_of_its_class(profile, checks):
    doc = native_doc([lesion([square(1000, 1000, 300)], "MN")])
    got = {f.code: f.location for f in run_checks("item", view_of(doc, profile), checks)}
    assert set(got) == {"DIAGNOSIS_WITHOUT_LESION", "LESION_CLASS_MISMATCH"}
    assert (got["DIAGNOSIS_WITHOUT_LESION"].row, got["DIAGNOSIS_WITHOUT_LESION"].column) == (1, "diagnosis")


def test_an_outline_of_many_overlapping_parts_is_not_validated(profile, checks):
    """100,000 copies of one square in a MultiPolygon (a 6 MB file) held GEOS's validity test for
    60 s, three times a lesion, growing with the square of the parts. Past ten million pairs of
    parts whose bounding boxes overlap, the outline gets no geometry and says why."""
    crowded = [[square(200, 200, 100)]] * 4_500  # 10,122,750 pairs
    spread = [[square(10 + 4 * (k % 40), 10 + 4 * (k // 40), 2)] for k in range(1_500)]  # ~0 pairs
    broken = [*crowded[:-1], [[[200, 200], [300, 300]]]]  # as crowded, but one ring of two vertices
    found = findings(
        profile,
        checks,
        [
            lesion(crowded, kind="MultiPolygon"),
            lesion(spread, kind="MultiPolygon"),
            lesion(broken, kind="MultiPolygon"),
        ],
    )
    assert ("PARTS_CROWDED", 1) in found and not [
        f for f in found if f[1] == 2 and f[0] != "LESION_TOO_SMALL"
    ]
    assert ("PARTS_CROWDED", 3) not in found  # its fault is the ring, reported as such


def star(n: int, x: float = 2000, y: float = 2000, r: float = 1000) -> list[list[float]]:
    """A star polygon of ``n`` (odd) vertices whose every edge crosses most of the others."""
    angles = np.arange(n) * (np.pi * (n - 1) / n)
    return np.column_stack([x + r * np.cos(angles), y + r * np.sin(angles)]).tolist()


def test_an_outline_whose_edges_cross_in_too_many_pairs_is_not_validated(profile, checks):
    """A star of 200,000 vertices (8 MB), every edge crossing most others, held GEOS's validity
    test for 67 s and its reason for 54 s more, growing with the square of the vertices (a
    million, the vertices_per_lesion limit: about half an hour). Past a thousand million pairs of
    edges whose bounding boxes overlap, the outline gets no geometry and says why; a bow-tie of
    as many vertices that crosses itself once is still validated and reported as such."""
    t = np.linspace(0, 2 * np.pi, 60_000, endpoint=False)
    wavy = np.column_stack([2000 + 1000 * np.cos(t), 2000 + 1000 * np.sin(t) * (1 + 0.01 * np.sin(300 * t))])
    twisted = wavy.copy()
    twisted[[10, 11]] = twisted[[11, 10]]  # two vertices swapped: the outline crosses itself once
    bowtie_big = twisted.tolist()
    wavy = wavy.tolist()
    found = findings(profile, checks, [lesion([star(50_001)]), lesion([bowtie_big]), lesion([wavy])])
    assert ("EDGES_CROWDED", 1) in found and not [f for f in found if f[1] == 1 and f[0] != "EDGES_CROWDED"]
    assert ("SELF_INTERSECTION", 2) in found
    assert not [f for f in found if f[1] == 3]


def test_an_outline_of_many_small_parts_is_not_counted_as_crowded() -> None:
    """Counted along the axes alone, each edge of a lesion of 490,000 separate squares in rows and
    columns met its whole row: 2·10⁹ pairs, and the lesion lost its geometry (a review found it).
    The grid's count keeps it low; a star whose every edge crosses most others still passes."""
    from dqm.model import MAX_EDGE_PAIRS, crowded_edges

    k = 700
    corners = np.stack(np.meshgrid(np.arange(k) * 3.0, np.arange(k) * 3.0), -1).reshape(-1, 1, 2)
    square = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], dtype=float)
    assert crowded_edges(list(corners + square)) is None
    pairs = crowded_edges([np.asarray(star(200_001))])
    assert pairs is not None and pairs > MAX_EDGE_PAIRS
