"""A key only the profile's own ``identifier_keys`` name, over a value that is no text
(``{"chart_no": 12345678}``), was dropped when the file was read: the readers know no profile
and kept such a value only under a built-in identifying key (``patient_id``), so the deid check
never saw it. The profile's pattern is carried into the parse, and into the parse cache's key."""

from __future__ import annotations

import collections
import csv
import json
from pathlib import Path
from typing import Any

import pytest

from dqm.identifiers import read_keys
from dqm.profile import Profile
from tests.deid.test_deid import assert_masked, deid_findings, view_of

_SQUARE = [[10, 10], [60, 10], [60, 60], [10, 60], [10, 10]]
_POLYGON = {"type": "Polygon", "coordinates": [_SQUARE]}
CHART = 12345678

_DOCS: dict[str, tuple[Any, list[str]]] = {
    "qupath_detection": (
        {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "geometry": _POLYGON, "properties": {"objectType": "annotation"}},
                {
                    "type": "Feature",
                    "geometry": _POLYGON,
                    "properties": {"objectType": "detection", "chart_no": CHART},
                },
                {
                    "type": "Feature",
                    "geometry": _POLYGON,
                    "properties": {"objectType": "detection", "chart_no": 87654321},
                },
            ],
        },
        ["/features/1/properties/chart_no", "/features/2/properties/chart_no"],
    ),
    "dsa_point": (
        [
            {
                "_id": "5f0c",
                "chart_no": CHART,
                "annotation": {
                    "name": "BCC",
                    "elements": [
                        {
                            "type": "polyline",
                            "closed": True,
                            "group": "BCC",
                            "points": [[*p, 0] for p in _SQUARE],
                        },
                        {"type": "point", "center": [5, 5, 0], "user": {"chart_no": CHART}},
                    ],
                },
            }
        ],
        ["/0/annotation/elements/1/user/chart_no", "/0/chart_no"],
    ),
    "coco": (
        {
            "chart_no": CHART,
            "images": [{"id": 1, "file_name": "s1.svs", "width": 100, "height": 80, "chart_no": CHART}],
            "categories": [{"id": 7, "name": "BCC"}],
            "annotations": [
                {"id": 1, "image_id": 1, "category_id": 7, "segmentation": [[10, 10, 60, 10, 60, 60]]},
                {"id": 2, "image_id": 1, "category_id": 7, "bbox": [1, 1, 5, 5], "chart_no": CHART},
            ],
        },
        ["/annotations/1/chart_no", "/chart_no", "/images/0/chart_no"],
    ),
    "native": (
        {
            "chart_no": CHART,
            "slide": {"file": "s1.svs", "width": 100, "height": 80, "chart_no": CHART},
            "lesions": [{"class": "BCC", "geometry": _POLYGON, "chart_no": CHART}],
            "clinical": {},
        },
        ["/chart_no", "/lesions/0/chart_no", "/slide/chart_no"],
    ),
}


@pytest.fixture
def charted(profile: Profile) -> Profile:
    deid = {**profile.deid.model_dump(), "identifier_keys": r"(?i)chart.?no|patient.?name"}
    return Profile.model_validate({**profile.model_dump(), "deid": deid})


def _parsed(doc: Any, profile: Profile) -> Any:
    from dqm.readers import parse_annotation

    (ann,) = parse_annotation(json.dumps(doc).encode(), "ann/s1.json", None, None, read_keys(profile.deid))
    return ann


@pytest.mark.parametrize("fmt", sorted(_DOCS))
@pytest.mark.parametrize("in_pieces", [False, True])
def test_a_value_under_a_key_only_the_profile_names_is_kept_and_found(
    charted: Profile, monkeypatch: pytest.MonkeyPatch, fmt: str, in_pieces: bool
) -> None:
    from dqm import readers
    from dqm.readers.common import pieces

    monkeypatch.setattr(readers, "CACHE_MIN_BYTES", 1 << 62)
    if in_pieces:
        monkeypatch.setattr(pieces, "MIN_BYTES", 0)
    doc, expected = _DOCS[fmt]
    ann = _parsed(doc, charted)
    found = deid_findings(view_of(charted, annotation=ann))
    assert sorted((f.code, f.location.pointer) for f in found) == [
        ("DEID_ANNOTATION_IDENTIFIER", where) for where in expected
    ]
    assert all("names a person: " in f.message and "****** (masked)" in f.message for f in found)
    assert_masked(found)


def test_a_parse_for_another_profile_is_not_reused(
    profile: Profile, charted: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parse cache holds a big file's annotations by file and limits: a parse made without the
    profile's keys must not serve a run with them (nor the other way round)."""
    from dqm import readers

    monkeypatch.setattr(readers, "CACHE_MIN_BYTES", 0)
    monkeypatch.setattr(readers, "_CACHE", collections.OrderedDict())
    doc, expected = _DOCS["native"]
    plain = _parsed(doc, profile)
    assert "/chart_no" not in plain.properties
    assert sorted(
        f.location.pointer for f in deid_findings(view_of(charted, annotation=_parsed(doc, charted)))
    ) == (expected)
    assert _parsed(doc, profile) is plain  # each profile's parse cached on its own
    assert len(readers._CACHE) == 2


def test_an_audit_finds_a_value_under_the_profiles_own_key(tmp_path: Path, charted: Profile) -> None:
    """The runner reads with the run's profile's keys (a native file, its own ``chart_no``)."""
    from dqm.runner import RunOptions, run_batch

    batch = tmp_path / "b"
    (batch / "ann").mkdir(parents=True)
    (batch / "ann" / "s1.json").write_text(json.dumps(_DOCS["native"][0]))
    with (batch / "manifest.csv").open("w", newline="") as fh:
        csv.writer(fh).writerows([["slide_id", "image_path", "annotation_path"], ["s1", "", "ann/s1.json"]])
    run = run_batch(batch, charted, RunOptions(workers=1))
    found = [f for f in run.findings if f.code == "DEID_ANNOTATION_IDENTIFIER"]
    assert sorted(f.location.pointer for f in found) == _DOCS["native"][1]
    assert_masked(found)


def test_a_coco_files_top_level_number_under_an_identifying_key_is_kept(profile: Profile) -> None:
    """A top-level value that is no object was kept only when it held text: its key was not looked
    at, so ``"patient_id": 12345678`` at the top of a COCO file reached no check."""
    doc = {**_DOCS["coco"][0], "patient_id": CHART}
    found = deid_findings(view_of(profile, annotation=_parsed(doc, profile)))
    assert [f.location.pointer for f in found] == ["/patient_id"]
    assert_masked(found)


def test_a_coco_lesion_of_an_image_no_item_has_keeps_the_profiles_key(charted: Profile) -> None:
    """The text of a shared COCO file's images that no item of the audit has is gathered after the
    parse (:func:`dqm.readers.items.unpicked_text`), with the same keys."""
    from dqm.readers import parse_annotation
    from dqm.readers.items import unpicked_text

    seg = {"category_id": 7, "segmentation": [[10, 10, 60, 10, 60, 60]]}
    doc = {
        "images": [{"id": k, "file_name": f"s{k}.svs", "width": 100, "height": 80} for k in (1, 2)],
        "categories": [{"id": 7, "name": "BCC"}],
        "annotations": [{"id": 1, "image_id": 1, **seg}, {"id": 2, "image_id": 2, "chart_no": CHART, **seg}],
    }
    keys = read_keys(charted.deid)
    parsed = parse_annotation(json.dumps(doc).encode(), "ann/all.json", None, None, keys)
    other = {"/images/1/file_name": "s2.svs"}
    assert unpicked_text(parsed, frozenset({("s1", "s1.svs")}), keys) == {
        **other,
        "/annotations/1/chart_no": CHART,
    }
    assert unpicked_text(parsed, frozenset({("s1", "s1.svs")})) == other


def test_an_audit_finds_the_profiles_key_in_an_image_no_item_has(tmp_path: Path, charted: Profile) -> None:
    """The runner passes the run's profile's keys to the search of a shared file's images that no
    item has (nothing tested it: dropping them lost ``chart_no`` of the unlisted image s2)."""
    from dqm.runner import RunOptions, run_batch

    seg = {"category_id": 7, "segmentation": [[10, 10, 60, 10, 60, 60]]}
    doc = {
        "images": [{"id": k, "file_name": f"s{k}.svs", "width": 100, "height": 80} for k in (1, 2, 3)],
        "categories": [{"id": 7, "name": "BCC"}],
        "annotations": [{"id": k, "image_id": k, **seg} for k in (1, 2, 3)],
    }
    doc["annotations"][1]["chart_no"] = CHART
    batch = tmp_path / "b"
    (batch / "ann").mkdir(parents=True)
    (batch / "ann" / "all.json").write_text(json.dumps(doc))
    with (batch / "manifest.csv").open("w", newline="") as fh:
        rows = [[f"s{k}", f"slides/s{k}.svs", "ann/all.json"] for k in (1, 3)]
        csv.writer(fh).writerows([["slide_id", "image_path", "annotation_path"], *rows])
    run = run_batch(batch, charted, RunOptions(workers=1))
    found = [f for f in run.findings if f.check.startswith("deid.")]
    assert [(f.item_id, f.code, f.location.pointer) for f in found] == [
        ("s1", "DEID_ANNOTATION_IDENTIFIER", "/annotations/1/chart_no")
    ]
    assert_masked(found)


@pytest.mark.parametrize(
    ("section", "where"),
    [
        ({"deid": {"identifier_keys": "(.*){1000}z"}}, "deid.identifier_keys"),
        ({"deid": {"patterns": {"ref": {"regex": "(a|.){300}x"}}}}, "deid.patterns.ref.regex"),
        ({"clinical": {"ref": {"type": "string", "pattern": "(.*){200}z"}}}, "clinical.ref"),
    ],
)
def test_a_pattern_too_large_to_run_on_every_text_is_refused(
    profile: Profile, section: dict[str, Any], where: str
) -> None:
    """RE2 accepted ``(.*){1000}z`` (a program of 10,005 instructions): linear in the text, but 29 s
    of CPU a million characters, run on every key of a file as identifier keys (a 3.9 MB QuPath
    file parsed in 15.2 s, 0.54 s without). A program past ``MAX_PROGRAM`` is refused when the
    profile is read, saying why; every pattern dqm ships fits it three times over."""
    import pydantic
    import re2

    from dqm import identifiers
    from dqm.user_regex import MAX_PROGRAM, LinearPattern

    ((part, value),) = section.items()
    with pytest.raises(pydantic.ValidationError) as refused:
        Profile.model_validate({**profile.model_dump(), part: {**profile.model_dump()[part], **value}})
    assert where in str(refused.value) and "too large to run" in str(refused.value)
    for source in identifiers._BUILT_IN:  # dqm's own, were a profile to copy them (on RE2 if it can)
        try:
            size = re2.compile(source).programsize
        except re2.error:
            continue  # look-around: stays dqm's own, on ``re``
        assert size * 2 < MAX_PROGRAM, source
    assert LinearPattern(r"(?i)chart.?no").search("Chart_No") is not None


@pytest.mark.parametrize(
    ("xml", "where", "keys"),
    [
        (
            '<ASAP_Annotations PatientID="87654321"><Annotations>'
            '<Annotation Name="a" Type="Polygon" PartOfGroup="BCC"><Coordinates>'
            '<Coordinate Order="0" X="10" Y="10"/><Coordinate Order="1" X="60" Y="10"/>'
            '<Coordinate Order="2" X="60" Y="60"/></Coordinates></Annotation>'
            "</Annotations></ASAP_Annotations>",
            "/ASAP_Annotations/@PatientID",
            "profile",
        ),
        (
            '<Annotations MicronsPerPixel="0.25" chart_no="12345678"><Annotation Id="1" Name="BCC">'
            '<Regions><Region Id="1" Type="0"><Vertices><Vertex X="10" Y="10"/><Vertex X="60" Y="10"/>'
            '<Vertex X="60" Y="60"/></Vertices></Region></Regions></Annotation></Annotations>',
            "/Annotations/@chart_no",
            "charted",
        ),
    ],
)
def test_an_xml_number_under_an_identifying_attribute_is_kept_and_found(
    request: pytest.FixtureRequest, xml: str, where: str, keys: str
) -> None:
    """The XML readers dropped every number a file's own attributes held, so ``PatientID="87654321"``
    (a built-in identifying key) and ``chart_no="12345678"`` (the profile's) reached no check,
    though the docs said a reader keeps a value under such a key whatever it is, as JSON's do."""
    from dqm.readers import parse_annotation

    profile = request.getfixturevalue(keys)  # the built-in keys, or the profile's (chart.?no)
    (ann,) = parse_annotation(xml.encode(), "ann/s1.xml", None, None, read_keys(profile.deid))
    found = deid_findings(view_of(profile, annotation=ann))
    assert [(f.code, f.location.pointer) for f in found] == [("DEID_ANNOTATION_IDENTIFIER", where)]
    assert "names a person" in found[0].message
    assert_masked(found)
