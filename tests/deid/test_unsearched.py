"""No text of an annotation file goes unsearched for identifiers without saying so.

The walk of nested properties stopped, silently, 8 levels deep and after a list's 1,000th item: a
name there was shipped and the file certified clean. Every text is now searched, however deep or
far into a list, or counted in a ``DEID_ANNOTATION_UNSEARCHED`` warning that names the first one.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from dqm import identifiers
from dqm.identifiers import nodes, parts, strings
from dqm.model import Annotation
from dqm.profile import Profile, load_profile
from dqm.readers import parse_annotation
from dqm.readers.common.base import DistinctTexts
from tests.deid.test_deid import _SQUARE, assert_masked, deid_findings, view_of

NAME = "Patient name: Hong Gildong"


@pytest.fixture(scope="module")
def profile() -> Profile:
    return load_profile()


def deep(depth: int, leaf: Any) -> Any:
    """``leaf`` ``depth`` levels down, dicts and lists in turn (``{"k": [{"k": [... leaf]}]}``)."""
    value = leaf
    for level in range(depth):
        value = {"k": value} if level % 2 else [value]
    return value


def far(n: int, leaf: Any) -> list[Any]:
    """A list whose ``n``-th item (1-based) is ``leaf``, after ``n - 1`` numbers."""
    return [*([0] * (n - 1)), leaf]


PLACES = [("depth 9", deep(9, NAME)), ("depth 20", deep(20, NAME)), ("item 1,001", far(1_001, NAME))]


def _reference(value: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any, bool]]:
    """The walk as it was written, recursive and uncapped: the order :func:`nodes` must keep."""
    if isinstance(value, str):
        return [(path, value, False)]
    out: list[tuple[tuple[str, ...], Any, bool]] = []
    if isinstance(value, dict):
        for k, v in value.items():
            out += [((*path, str(k)), v, True), *_reference(v, (*path, str(k)))]
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _reference(v, (*path, str(i)))
    return out


def test_the_walk_keeps_the_order_and_paths_of_the_recursive_one() -> None:
    value = {"a": "x", "b": [1, "y", {"c": ["z", {"d": None}]}, []], "e": {"f": {}}, "g": "w"}
    assert [(parts(link), held, keyed) for link, held, keyed in nodes(value)] == _reference(value)
    assert [(parts(link), held, keyed) for link, held, keyed in nodes("s")] == [((), "s", False)]


@pytest.mark.parametrize("depth", [9, 20, 5_000, 3 * sys.getrecursionlimit()])
def test_a_string_however_deep_is_walked_to_without_recursion(depth: int) -> None:
    """Nested 9 deep, a string was never met (8 levels were walked); nested past the recursion
    limit, a recursive walk raises RecursionError."""
    ((link, text),) = strings({"top": deep(depth, NAME)})
    assert text == NAME
    assert len(parts(link)) == depth + 1


@pytest.mark.parametrize("n", [1_001, 1_000_000])
def test_a_string_however_far_into_a_list_is_walked_to(n: int) -> None:
    ((link, text),) = strings({"top": far(n, NAME)})
    assert (text, parts(link)) == (NAME, ("top", str(n - 1)))


@pytest.mark.parametrize("value", [deep(9, NAME), deep(5_000, NAME), far(1_001, NAME), far(10**6, NAME)])
def test_distinct_texts_keep_a_text_however_deep_or_far(value: Any) -> None:
    """The text of a skipped object (a QuPath detection, a DSA point) was kept as far as 8 levels
    and 1,000 items: past them it never reached the checks, whatever ``_news`` said."""
    into: dict[str, Any] = {}
    unread = DistinctTexts(into)
    unread.add({"note": "x"}, "features", 0, "properties")
    unread.add({"note": "x", "more": value}, "features", 1, "properties")
    assert NAME in into.values()


def _annotation(fmt: str, value: Any) -> Annotation:
    """An annotation file of ``fmt`` holding ``value`` in one of its free-text places."""
    polygon = {"type": "Polygon", "coordinates": [_SQUARE]}
    if fmt == "native":
        doc: Any = {"lesions": [{"class": "BCC", "geometry": polygon, "properties": {"note": value}}]}
    elif fmt == "native-file":  # a top-level key no reader reads
        doc = {"lesions": [{"class": "BCC", "geometry": polygon}], "patient": value}
    elif fmt == "coco":
        doc = {
            "info": {"note": value},
            "images": [{"id": 1, "file_name": "s1.svs", "width": 100, "height": 80}],
            "categories": [{"id": 7, "name": "BCC"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 7, "bbox": [1, 2, 3, 4], "extra": value}],
        }
    elif fmt in ("qupath", "qupath-detection"):
        kind = "detection" if fmt == "qupath-detection" else "annotation"
        props = {"objectType": kind, "classification": {"name": "BCC"}, "measurements": {"m": value}}
        doc = {
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "geometry": polygon, "properties": props}],
        }
    elif fmt == "dsa":
        points = [[*p, 0] for p in _SQUARE]
        elements = [
            {"type": "polyline", "closed": True, "group": "BCC", "points": points, "user": {"note": value}},
            {"type": "point", "center": [5, 5, 0], "user": {"note": value}},
        ]
        doc = [{"annotation": {"name": "BCC", "attributes": {"extra": value}, "elements": elements}}]
    else:
        raise AssertionError(fmt)
    (ann,) = parse_annotation(
        json.dumps(doc).encode(), "ann/s1.geojson" if "qupath" in fmt else "ann/s1.json"
    )
    assert ann.readable, ann.issues
    return ann


JSON_FORMATS = ["native", "native-file", "coco", "qupath", "qupath-detection", "dsa"]


@pytest.mark.parametrize("fmt", JSON_FORMATS)
@pytest.mark.parametrize(("where", "value"), PLACES, ids=[p for p, _ in PLACES])
def test_an_identifier_deep_or_far_in_a_json_file_is_found(
    profile: Profile, fmt: str, where: str, value: Any
) -> None:
    found = deid_findings(view_of(profile, annotation=_annotation(fmt, value)))
    assert "DEID_ANNOTATION_IDENTIFIER" in [f.code for f in found], where
    assert "DEID_ANNOTATION_UNSEARCHED" not in [f.code for f in found]
    assert_masked(found)


def test_a_dsa_elements_property_is_named_at_its_own_pointer(profile: Profile) -> None:
    """A DSA element's keys other than its outline and class are its lesion's properties, as a COCO
    annotation's: their pointer named a ``properties`` key the element does not have."""
    found = deid_findings(view_of(profile, annotation=_annotation("dsa", far(1_001, NAME))))
    assert "/0/annotation/elements/0/user/note/1000" in [f.location.pointer for f in found]


@pytest.mark.parametrize("fmt", ["native", "qupath-detection"])
def test_an_identifier_a_millionth_item_of_a_list_is_found(profile: Profile, fmt: str) -> None:
    found = deid_findings(view_of(profile, annotation=_annotation(fmt, far(10**6, NAME))))
    assert [f.code for f in found if f.code.startswith("DEID_ANNOTATION")] == ["DEID_ANNOTATION_IDENTIFIER"]


def test_a_json_file_nested_5000_deep_is_not_read_and_says_so() -> None:
    """JSON nested past the parsers' limits (orjson's 1,024, the recursion limit) is not read at all:
    the file is reported unreadable, not passed as clean."""
    text = '{"lesions": [], "patient": ' + '{"k": [' * 2_500 + json.dumps(NAME) + "]}" * 2_500 + "}"
    (ann,) = parse_annotation(text.encode(), "ann/s1.json")
    assert not ann.readable
    assert [i.code for i in ann.issues] == ["INVALID_JSON"]


def _xml(fmt: str, inner: str) -> str:
    """An XML file of ``fmt`` holding ``inner`` where no reader reads it."""
    if fmt == "asap":
        return (
            f"<ASAP_Annotations><Annotations/><AnnotationGroups>{inner}</AnnotationGroups></ASAP_Annotations>"
        )
    if fmt == "imagescope":
        return f'<Annotations MicronsPerPixel="0.25"><Annotation Id="1" Name="BCC"><Regions/>{inner}</Annotation></Annotations>'
    if fmt == "halo":
        return f'<Annotations><Annotation LineColor="65280" Name="BCC" Visible="True"><Regions/>{inner}</Annotation></Annotations>'
    raise AssertionError(fmt)


@pytest.mark.parametrize("fmt", ["asap", "imagescope", "halo"])
@pytest.mark.parametrize(("where", "n"), [("depth", 9), ("depth", 20), ("depth", 5_000), ("item", 1_001)])
def test_an_identifier_deep_or_far_in_an_xml_file_is_found(
    profile: Profile, fmt: str, where: str, n: int
) -> None:
    if where == "depth":
        inner = "<g>" * n + f'<g n="{NAME}"/>' + "</g>" * n
    else:
        inner = '<g n="x"/>' * (n - 1) + f"<g>{NAME}</g>"
    (ann,) = parse_annotation(
        _xml(fmt, inner).encode(), "ann/s1.annotations" if fmt == "halo" else "ann/s1.xml"
    )
    assert ann.format == fmt
    found = deid_findings(view_of(profile, annotation=ann))
    assert [f.code for f in found if f.code.startswith("DEID_ANNOTATION")] == ["DEID_ANNOTATION_IDENTIFIER"]
    assert_masked(found)


@pytest.mark.parametrize(
    ("texts", "chars", "pointer", "n"),
    [
        # the lesion's texts in order: "note", "seen", "a", "one", NAME, "two", "b", "MRN: ..."
        (3, 10**6, "/lesions/0/properties/a/0", 8),
        (10**6, 12, "/lesions/0/properties/a/1", 7),  # 12 characters: "note", "seen", "a", "one"
        # then the file's own: the key "/patient", the key "who" and NAME, named inside "/patient"
        (10, 10**6, "/patient/who/0", 1),
    ],
)
def test_texts_past_the_budget_are_counted_and_the_first_is_named(
    profile: Profile, monkeypatch: pytest.MonkeyPatch, texts: int, chars: int, pointer: str, n: int
) -> None:
    monkeypatch.setattr(identifiers, "MAX_SEARCHED_TEXTS", texts)
    monkeypatch.setattr(identifiers, "MAX_SEARCHED_CHARS", chars)
    props = {"note": "seen", "a": ["one", NAME, "two"], "b": "MRN: 12345678"}
    doc = {
        "lesions": [
            {"class": "BCC", "geometry": {"type": "Polygon", "coordinates": [_SQUARE]}, "properties": props}
        ],
        "patient": {"who": [NAME]},
    }
    (ann,) = parse_annotation(json.dumps(doc).encode(), "ann/s1.json")
    found = deid_findings(view_of(profile, annotation=ann))
    (unsearched,) = (f for f in found if f.code == "DEID_ANNOTATION_UNSEARCHED")
    assert unsearched.location.pointer == pointer
    assert unsearched.message.startswith(f"{n} texts (")
    assert_masked(found)
