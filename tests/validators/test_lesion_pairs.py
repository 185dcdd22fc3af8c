"""The pair checks (geometry.duplicate, geometry.overlap) on crowded lesions: exact copies found by
their bytes, other pairs counted against the profile's ``max_pairs``, and the former order kept."""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import shapely
from typer.testing import CliRunner

from dqm.cli import app
from dqm.profile import Profile
from tests.helpers import native_doc, square, view_of, write_tiny_batch
from validators import geometry
from validators.engine import configure, run_checks
from validators.geometry import LesionPairs

PAIR_CHECKS = ("geometry.duplicate", "geometry.overlap")


def lesion(ring: list[list[float]], cls: str = "BCC") -> dict:
    return {"class": cls, "geometry": {"type": "Polygon", "coordinates": [ring]}}


def pair_findings(profile: Profile, lesions: list[dict]) -> list[tuple[str, int | None, str]]:
    checks = [c for c in configure(profile) if c.id in PAIR_CHECKS]
    found = run_checks("item", view_of(native_doc(lesions), profile), checks)
    return [(f.code, f.location.lesion, f.message) for f in found]


def with_max_pairs(profile: Profile, max_pairs: int) -> Profile:
    params = {"params": {"max_pairs": max_pairs}}
    return Profile.model_validate(
        {**profile.model_dump(exclude={"checks"}), "checks": dict.fromkeys(PAIR_CHECKS, params)}
    )


def _mixed(seed: int, n: int) -> list[dict]:
    """``n`` lesions of four classes: random polygons, exact copies and 1-3 px shifted copies."""
    rng = np.random.default_rng(seed)
    rings: list[list[list[float]]] = []
    for _ in range(n):
        r = rng.random()
        if rings and r < 0.3:
            ring = rings[int(rng.integers(len(rings)))]
        elif rings and r < 0.45:
            d = float(rng.uniform(1, 3))
            ring = [[x + d, y] for x, y in rings[int(rng.integers(len(rings)))]]
        else:
            cx, cy = rng.uniform(200, 1800, 2)
            t = np.sort(rng.uniform(0, 2 * np.pi, int(rng.integers(3, 10))))
            rad = rng.uniform(40, 300) * rng.uniform(0.5, 1, len(t))
            ring = np.column_stack([cx + rad * np.cos(t), cy + rad * np.sin(t)]).round(2).tolist()
        rings.append(ring)
    return [lesion(ring, ("BCC", "SCC", "MN", "SK")[k % 4]) for k, ring in enumerate(rings)]


@pytest.mark.parametrize(
    ("seed", "n", "hits_per_query"), [(1, 6, None), (2, 80, None), (3, 150, 1), (4, 600, 5000)]
)
def test_pairs_come_in_the_order_of_the_all_pairs_query_copies_once(
    profile: Profile, seed: int, n: int, hits_per_query: int | None, monkeypatch: pytest.MonkeyPatch
):
    """The pairs are those the former query of every outline against every other met, in its
    order (file order up to 8 lesions), less a later copy's pairs with its own copies; the same
    however many lesions one query of the spatial index takes (one at a time, a few, thousands),
    and no outline is left prepared."""
    if hits_per_query is not None:
        monkeypatch.setattr(geometry, "_HITS_PER_QUERY", hits_per_query)
    view = view_of(native_doc(_mixed(seed, n)), profile)
    lesions = [les for les in view.annotation.lesions if les.is_valid and les.area > 0]
    geoms = [les.geometry for les in lesions]
    if len(lesions) <= 8:
        every = [(i, j) for i, j in combinations(range(len(lesions)), 2) if geoms[i].intersects(geoms[j])]
    else:
        left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
        every = [(i, j) for i, j in zip(left.tolist(), right.tolist(), strict=True) if i < j]
    wkb = [shapely.to_wkb(g) for g in geoms]
    first = [wkb.index(w) for w in wkb]
    expected = [(i, j, first[i] == first[j]) for i, j in every if first[i] == i or first[i] != first[j]]
    pos = {les.index: k for k, les in enumerate(lesions)}
    pairs = LesionPairs(lesions, 10**6)
    assert [(pos[a.index], pos[b.index], copy) for a, b, copy in pairs] == expected
    assert not pairs.crowded
    assert any(copy for *_, copy in expected) or n < 10
    assert not shapely.is_prepared(geoms).any()


def test_at_most_so_many_bounding_boxes_meet_an_outline(profile: Profile):
    """The count that sizes a run of queries is never below the hits the spatial index finds
    (points, lines, empty outlines included), and is exact for boxes in a row."""
    geoms = [les.geometry for les in view_of(native_doc(_mixed(5, 300)), profile).annotation.lesions]
    geoms += [shapely.Point(500, 500), shapely.LineString([(0, 0), (2000, 2000)]), shapely.Polygon()]
    geoms += [shapely.box(5000 + k, 5000, 5001 + k, 5001) for k in range(10)]
    found = np.bincount(shapely.STRtree(geoms).query(geoms)[0], minlength=len(geoms))
    most = geometry._hits_at_most(np.array(geoms, dtype=object))
    assert (most >= found).all()
    assert most[-10:].tolist() == found[-10:].tolist() == [2] + [3] * 8 + [2]


@pytest.mark.parametrize(("sparse", "crowded"), [(0, 20_000), (4_096, 2_000)])
def test_crowded_lesions_are_asked_about_a_few_at_a_time_until_the_budget_is_spent(
    sparse: int, crowded: int, monkeypatch: pytest.MonkeyPatch
):
    """Slivers along one diagonal (every bounding box meets every other, no outline another),
    alone or after lesions apart: no query of the spatial index finds more than
    ``_HITS_PER_QUERY`` bounding boxes, and past the budget no lesion is asked about, so the hits
    found in all are the budget's worth and one run's. Formerly the first run was 256 lesions
    (5 million hits), and a run after lesions apart was thousands of crowded ones."""
    found: list[int] = []

    class CountingTree(shapely.STRtree):
        def query(self, geometry, *args, **kwargs):
            hits = super().query(geometry, *args, **kwargs)
            found.append(hits.shape[-1])
            return hits

    monkeypatch.setattr(shapely, "STRtree", CountingTree)
    apart = [
        shapely.box(5000 + k % 1000 * 10, k // 1000 * 10, 5001 + k % 1000 * 10, k // 1000 * 10 + 1)
        for k in range(sparse)
    ]
    e = np.arange(crowded) * 1e-3
    slivers = shapely.polygons(
        np.stack(
            [
                np.column_stack([np.zeros_like(e), e]),
                np.column_stack([np.full_like(e, 1000), 1000 + e]),
                np.column_stack([np.full_like(e, 1000), 1000 + e + 5e-4]),
            ],
            axis=1,
        )
    )
    lesions = [SimpleNamespace(geometry=g) for g in [*apart, *slivers]]
    pairs = LesionPairs(lesions, max_pairs=100_000)
    assert list(pairs) == []
    assert pairs.crowded
    assert max(found) <= geometry._HITS_PER_QUERY
    assert sum(found) <= 100_000 + geometry._HITS_PER_QUERY


def test_identical_outlines_are_n_minus_1_duplicates_of_the_first_and_no_overlap(profile: Profile):
    ring = square(500, 500, 90)
    found = pair_findings(profile, [lesion(ring, "BCC" if k % 2 else "SCC") for k in range(500)])
    assert sorted((code, les) for code, les, _ in found) == [("DUPLICATE_LESION", k) for k in range(1, 500)]
    assert all(m.endswith(" repeats lesion 0 (SCC): IoU 1.000") for *_, m in found)  # in the index's order


def test_past_the_budget_the_first_pairs_are_checked_and_the_check_says_so(profile: Profile):
    """Squares 10 px apart overlap their 9 neighbours on each side (alternating classes); three
    exact copies of a square away from them are still found after the budget ran out."""
    row = [lesion(square(100 + 10 * k, 100, 100), "BCC" if k % 2 else "SCC") for k in range(40)]
    copies = [lesion(square(2000, 2000, 50), "MN") for _ in range(3)]
    full = pair_findings(profile, row + copies)
    assert not [f for f in full if f[0].endswith("_CROWDED")]
    budget = 12
    cut = pair_findings(with_max_pairs(profile, budget), row + copies)
    overlaps = [f for f in cut if f[0] == "OVERLAPPING_CLASSES"]
    assert (
        0 < len(overlaps) <= budget
        and overlaps == [f for f in full if f[0] == "OVERLAPPING_CLASSES"][: len(overlaps)]
    )
    assert [(c, les) for c, les, _ in cut if c == "DUPLICATE_LESION"] == [
        ("DUPLICATE_LESION", 41),
        ("DUPLICATE_LESION", 42),
    ]
    crowded = {c: m for c, _, m in cut if c.endswith("_CROWDED")}
    assert set(crowded) == {"DUPLICATES_CROWDED", "OVERLAPS_CROWDED"}
    assert "its 43 lesions" in crowded["OVERLAPS_CROWDED"] and "first 12 pairs" in crowded["OVERLAPS_CROWDED"]
    assert cut[-1][0] == "OVERLAPS_CROWDED"  # after the findings it kept


def test_a_budget_of_pairs_does_not_depend_on_the_machine(profile: Profile):
    lesions = [lesion(square(100 + 10 * k, 100, 100), "BCC" if k % 2 else "SCC") for k in range(40)]
    tight = with_max_pairs(profile, 30)
    assert pair_findings(tight, lesions) == pair_findings(tight, lesions)


def test_three_thousand_copies_through_dqm_validate(tmp_path: Path):
    """The real path: a batch whose annotation holds 3,000 copies of one square (alternating
    classes), validated with the default profile, then with a budget of 100 pairs and a row of
    overlapping squares beside the copies."""
    batch = write_tiny_batch(tmp_path / "batch")
    path = batch / "annotations" / "S1.json"
    doc = json.loads(path.read_text())
    doc["lesions"] = [lesion(square(100, 100, 90), "BCC" if k % 2 else "SCC") for k in range(3000)]
    path.write_text(json.dumps(doc))
    out = tmp_path / "findings.json"
    runner = CliRunner()
    res = runner.invoke(app, ["validate", str(path), "--annotations-only", "--json", str(out)])
    assert res.exit_code == 1, res.output
    found = json.loads(out.read_text())
    duplicates = [f for f in found if f["code"] == "DUPLICATE_LESION"]
    assert sorted(f["location"]["lesion"] for f in duplicates) == list(range(1, 3000))
    assert not [f for f in found if f["check"] == "geometry.overlap"]

    doc["lesions"] += [lesion(square(200 + 5 * k, 200, 60), "MN" if k % 2 else "SK") for k in range(30)]
    path.write_text(json.dumps(doc))
    text = (Path(__file__).parents[2] / "dqm/profiles/dermatopathology.yaml").read_text("utf-8")
    budget = "".join(f"  {c}:\n    params: {{max_pairs: 100}}\n" for c in PAIR_CHECKS)
    custom = tmp_path / "profile.yaml"
    custom.write_text(text.replace("\nchecks:\n", "\nchecks:\n" + budget))
    args = ["validate", str(path), "--annotations-only", "--profile", str(custom), "--json", str(out)]
    res = runner.invoke(app, args)
    assert res.exit_code == 1, res.output
    found = json.loads(out.read_text())
    codes = [f["code"] for f in found]
    assert codes.count("DUPLICATE_LESION") == 2999 and "DUPLICATES_CROWDED" in codes
    assert "OVERLAPS_CROWDED" in codes and 0 < codes.count("OVERLAPPING_CLASSES") <= 100
    (crowded,) = [f for f in found if f["code"] == "OVERLAPS_CROWDED"]
    assert "its 3,030 lesions" in crowded["message"] and "first 100 pairs" in crowded["message"]
