"""Every text of a JSON annotation file is searched for identifiers, however deep, however long a
list or a string, keys included -- or a ``DEID_ANNOTATION_UNSEARCHED`` warning says where searching
stopped. Each gap below shipped an identifier while the file was certified clean."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dqm import identifiers
from dqm.identifiers import DeidSettings, Masker, TextBudget, link_parts, walk
from dqm.model import Item
from dqm.profile import Profile, load_profile
from dqm.readers import parse_annotation
from dqm.slide_io import virtual_probe
from tests.deid.test_deid import _SQUARE, deid_findings, view_of

RRN = "RRN 900101-1234567"
SECRETS = ("Gildong", "900101-1234567")


@pytest.fixture(scope="module")
def profile() -> Profile:
    return load_profile()


def _deep(depth: int, leaf: Any) -> Any:
    for k in range(depth):
        leaf = {f"level{k}": leaf} if k % 2 else [leaf]
    return leaf


PAYLOADS: dict[str, Any] = {
    "nested_20_deep": _deep(20, RRN),  # the walk stopped at 8 levels
    "list_item_1500": ["plain"] * 1500 + [RRN],  # and after 1,000 items of a list
    "string_past_10000": "x " * 8000 + RRN,  # only the first 10,000 characters were searched
    "key_over_a_number": {RRN: 1},  # a key whose value holds no string was dropped
    "list_under_identifying_key": {"patient_name": ["Hong", "Gildong"]},  # items keyed "0", "1"
}


def _place(fmt: str, payload: Any) -> tuple[dict[str, Any] | list[Any], str]:
    """A document of ``fmt`` with ``payload`` at one of its free-text places, and the pointer every
    finding of the payload must start with."""
    polygon = {"type": "Polygon", "coordinates": [_SQUARE]}
    if fmt == "native":
        lesion = {"class": "BCC", "geometry": polygon, "properties": {"extra": payload}}
        return {
            "lesions": [lesion],
            "clinical": {},
        }, "/lesions/0/properties/#1"  # a key no format defines: its position
    if fmt == "native_top":
        return {"lesions": [{"class": "BCC", "geometry": polygon}], "notes": payload}, "/#1"
    if fmt == "coco":
        return _coco("s1.svs", extra=payload), "/annotations/0/#1"
    if fmt == "qupath":
        props = {"objectType": "annotation", "classification": {"name": "BCC"}, "extra": payload}
        feature = {"type": "Feature", "geometry": polygon, "properties": props}
        return {"type": "FeatureCollection", "features": [feature]}, "/features/0/properties/#1"
    if fmt == "qupath_detection":  # a skipped object's text: kept distinct by the reader
        props = {"objectType": "detection", "classification": {"name": "BCC"}, "extra": payload}
        annotation = {"objectType": "annotation", "classification": {"name": "BCC"}}
        features = [
            {"type": "Feature", "geometry": polygon, "properties": annotation},
            {"type": "Feature", "geometry": polygon, "properties": props},
        ]
        return {"type": "FeatureCollection", "features": features}, "/features/1/properties/#1"
    element = {"type": "polyline", "closed": True, "group": "BCC", "points": [[*p, 0] for p in _SQUARE]}
    if fmt == "dsa_point":  # a skipped element's text: kept distinct by the reader
        point = {"type": "point", "center": [5, 5, 0], "user": {"extra": payload}}
        body = {"name": "BCC", "elements": [element, point]}
        return [{"_id": "5f0c", "annotation": body}], "/0/annotation/elements/1/user/#1"
    assert fmt == "dsa"
    body = {"name": "BCC", "attributes": {"extra": payload}, "elements": [element]}
    return [{"_id": "5f0c", "annotation": body}], "/0/annotation/attributes"


def _coco(file_name: str, **annotation: Any) -> dict[str, Any]:
    """A COCO file of one image and one annotation with ``annotation``'s own keys."""
    return {
        "images": [{"id": 1, "file_name": file_name, "width": 100, "height": 80}],
        "categories": [{"id": 1, "name": "BCC"}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "segmentation": [[10, 10, 60, 10, 60, 60]],
                **annotation,
            }
        ],
    }


FORMATS = ("native", "native_top", "coco", "qupath", "qupath_detection", "dsa", "dsa_point")


def _masked_output(findings: list[Any]) -> str:
    """The findings as an output writes them: JSON through the masker."""
    text = json.dumps([f.model_dump(mode="json") for f in findings], ensure_ascii=False)
    return Masker(DeidSettings(), b"k" * 32)(text)


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_text_of_each_json_formats_free_text_places_is_searched(
    profile: Profile, fmt: str, payload: str
) -> None:
    doc, where = _place(fmt, PAYLOADS[payload])
    name = "ann/s1.geojson" if fmt.startswith("qupath") else "ann/s1.json"
    (ann,) = parse_annotation(json.dumps(doc).encode(), name)
    found = [
        f for f in deid_findings(view_of(profile, annotation=ann)) if f.code.startswith("DEID_ANNOTATION")
    ]
    assert found, f"{payload} in {fmt}: not found"
    assert {f.code for f in found} == {"DEID_ANNOTATION_IDENTIFIER"}
    assert all((f.location.pointer or "").startswith(where) for f in found), [
        f.location.pointer for f in found
    ]
    output = _masked_output(found)
    assert not any(secret in output for secret in SECRETS)


def test_a_list_under_an_identifying_key_is_flagged_at_the_key(profile: Profile) -> None:
    """``patient_name: ["Hong", "Gildong"]``: each name was searched under the key ``0`` or ``1``."""
    doc, _ = _place(
        "native",
        {"patient_name": ["Hong", "Gildong"], "ok": {"patient_id": 12345678}, "no": {"accession": [1234567]}},
    )
    (ann,) = parse_annotation(json.dumps(doc).encode(), "ann/s1.json")
    found = deid_findings(view_of(profile, annotation=ann))
    assert sorted((f.code, f.location.pointer) for f in found) == [
        ("DEID_ANNOTATION_IDENTIFIER", "/lesions/0/properties/#1/#2/patient_id"),  # ok: no format's key
        ("DEID_ANNOTATION_IDENTIFIER", "/lesions/0/properties/#1/#3/accession"),  # no
        ("DEID_ANNOTATION_IDENTIFIER", "/lesions/0/properties/#1/patient_name"),  # the first: by name
    ]
    assert "Ho**********" in json.dumps([f.model_dump(mode="json") for f in found])


def test_a_name_met_first_under_a_harmless_key_is_still_flagged_under_an_identifying_one(
    profile: Profile,
) -> None:
    """Deduplicating texts by text alone hid the second patient's name: it had been a note first."""
    detections = [
        {"note": "Kim Minsu", "patient_name": "Lee Jina"},
        {"patient_name": "Kim Minsu"},
    ]
    polygon = {"type": "Polygon", "coordinates": [_SQUARE]}
    features = [
        {"type": "Feature", "geometry": polygon, "properties": {"objectType": "detection", **d}}
        for d in detections
    ]
    (ann,) = parse_annotation(
        json.dumps({"type": "FeatureCollection", "features": features}).encode(), "a.geojson"
    )
    pointers = sorted(
        f.location.pointer
        for f in deid_findings(view_of(profile, annotation=ann))
        if f.code == "DEID_ANNOTATION_IDENTIFIER"
    )
    assert pointers == ["/features/0/properties/patient_name", "/features/1/properties/patient_name"]


def test_a_key_below_an_identifying_key_is_not_shown(profile: Profile) -> None:
    """A reader keeps a skipped object's text by pointer: a name that is a key below ``patient_name``
    was shown whole in the finding's pointer (the masker knows no bare name)."""
    polygon = {"type": "Polygon", "coordinates": [_SQUARE]}
    props = {"objectType": "detection", "patient_name": {"Hong Gildong": 1}}
    doc = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "geometry": polygon, "properties": props}],
    }
    (ann,) = parse_annotation(json.dumps(doc).encode(), "a.geojson")
    found = deid_findings(view_of(profile, annotation=ann))
    assert [f.location.pointer for f in found] == ["/features/0/properties/patient_name"]
    assert "Gildong" not in json.dumps([f.model_dump(mode="json") for f in found])


def test_past_the_budget_the_first_unsearched_text_is_named(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(identifiers, "MAX_SEARCHED_TEXTS", 50)
    doc, _ = _place("native", {f"k{i}": f"text {i}" for i in range(100)} | {"z": RRN})
    (ann,) = parse_annotation(json.dumps(doc).encode(), "ann/s1.json")
    found = deid_findings(view_of(profile, annotation=ann))
    (unsearched,) = [f for f in found if f.code == "DEID_ANNOTATION_UNSEARCHED"]
    assert (
        unsearched.location.pointer == "/lesions/0/properties/#1/#25"
    )  # its 50th text: 1 + 24 keys, 24 values (k24, the 25th key)
    assert "50 texts" in unsearched.message
    assert not [f for f in found if f.code == "DEID_ANNOTATION_IDENTIFIER"]


def test_a_long_text_past_the_character_budget_is_searched_in_part_and_said_so(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(identifiers, "MAX_SEARCHED_CHARS", 20_000)
    doc, _ = _place("native", {"a": RRN + " x" * 20_000, "b": RRN + "!"})
    (ann,) = parse_annotation(json.dumps(doc).encode(), "ann/s1.json")
    found = sorted((f.code, f.location.pointer) for f in deid_findings(view_of(profile, annotation=ann)))
    assert found == [
        ("DEID_ANNOTATION_IDENTIFIER", "/lesions/0/properties/#1/#1"),  # a: its first 20,000 searched
        ("DEID_ANNOTATION_UNSEARCHED", "/lesions/0/properties/#1/#1"),
    ]


def test_the_walk_goes_as_deep_and_long_as_the_document_without_recursion() -> None:
    deep: Any = "leaf"
    for _ in range(50_000):  # far past the recursion limit
        deep = [deep]
    ((link, key, text, keyed),) = list(walk(deep))
    assert (key, text, keyed) == ("", "leaf", False)
    assert len(link_parts(link)) == 50_000
    assert sum(1 for _ in walk({"k": list(range(2_000_000))})) == 1  # numbers stepped over, not yielded


def test_a_budget_counts_texts_and_characters() -> None:
    budget = TextBudget(texts=3, chars=10)
    assert budget.take("abcd", "t", None) == "abcd"
    assert budget.take("abcdefgh", "t", ("x", "y")) == "abcdef"  # 6 characters were left
    assert budget.stopped == ("t", ("x", "y"))
    assert budget.take("more", "t", None) == ""


@pytest.mark.parametrize(
    ("key", "code"),
    [
        ("aperio.Patient", "DEID_SLIDE_IDENTIFIER"),
        ("aperio.Barcode", "DEID_SLIDE_QUASI"),
        ("leica.barcode", "DEID_SLIDE_QUASI"),
        ("philips.PIM_DP_UFS_BARCODE", "DEID_SLIDE_QUASI"),
        ("ventana.Barcode1D", "DEID_SLIDE_QUASI"),
        ("hamamatsu.Reference", "DEID_SLIDE_QUASI"),
    ],
)
def test_vendor_header_keys_that_name_the_patient_or_the_case(profile: Profile, key: str, code: str) -> None:
    probe = virtual_probe("slides/s1.svs", properties={"openslide.vendor": "aperio", key: "Hong Gildong"})
    found = deid_findings(view_of(profile, slide=probe, item=Item("s1", "slides/s1.svs", "", {}, None)))
    assert [f.code for f in found if f.code.startswith("DEID_SLIDE")] == [code]


def test_a_long_slide_property_is_searched_whole_within_the_slides_budget(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    from validators import deid

    props = {
        "openslide.vendor": "aperio",
        "aperio.A": "x " * 10_000 + RRN,
        "aperio.B": "y" * 50,
        "aperio.C": RRN,
    }
    probe = virtual_probe("slides/s1.svs", properties=props)
    view = view_of(profile, slide=probe, item=Item("s1", "slides/s1.svs", "", {}, None))
    assert [f.location.pointer for f in deid_findings(view) if f.code == "DEID_SLIDE_IDENTIFIER"] == [
        "/properties/aperio.A",
        "/properties/aperio.C",
    ]
    monkeypatch.setattr(deid, "MAX_SLIDE_CHARS", 20_050)
    found = [(f.code, f.location.pointer) for f in deid_findings(view) if f.code.startswith("DEID_SLIDE")]
    assert found == [
        ("DEID_SLIDE_IDENTIFIER", "/properties/aperio.A"),
        ("DEID_SLIDE_UNSEARCHED", "/properties/aperio.B"),
    ]


def test_a_label_text_read_in_part_is_said_unsearched(tmp_path, profile: Profile) -> None:
    """A label page's description past 256 KiB was cut where it was read, in silence: an RRN after
    the cut shipped. Now the cut is a DEID_SLIDE_UNSEARCHED warning naming the page and the tag."""
    from dqm.image_text import VALUE_BYTES
    from dqm.slide_io import ProbeOptions, probe_slide
    from tests.deid.test_deid import _label_tiff

    path = tmp_path / "s1.tiff"
    _label_tiff(path, "x" * VALUE_BYTES + " " + RRN)
    probe = probe_slide(path, "slides/s1.tiff", ProbeOptions(artefacts=False))
    found = [f for f in deid_findings(view_of(profile, slide=probe)) if f.code.startswith("DEID_SLIDE")]
    assert [(f.code, f.location.pointer) for f in found] == [("DEID_SLIDE_UNSEARCHED", "/properties")]
    assert "page 1 ImageDescription: 262,144 of 262,164 bytes" in found[0].message


@pytest.mark.parametrize("fmt", ["coco", "native"])
def test_the_slide_file_an_annotation_names_is_searched_as_its_text(profile: Profile, fmt: str) -> None:
    """A COCO image's ``file_name`` and a native ``slide.file`` were left out of the annotation's
    text (the batch's own file names are searched, but an annotation may name another file)."""
    name = "S_900101-1234567.svs"
    if fmt == "coco":
        doc = _coco(name)
        where = "/images/0/file_name"
    else:
        polygon = {"type": "Polygon", "coordinates": [_SQUARE]}
        doc = {"slide": {"file": name}, "lesions": [{"class": "BCC", "geometry": polygon}], "clinical": {}}
        where = "/slide/file"
    (ann,) = parse_annotation(json.dumps(doc).encode(), "ann/s1.json")
    found = [
        f for f in deid_findings(view_of(profile, annotation=ann)) if f.code.startswith("DEID_ANNOTATION")
    ]
    assert [(f.code, f.location.pointer) for f in found] == [("DEID_ANNOTATION_IDENTIFIER", where)]


@pytest.mark.parametrize("decoy", [False, True])
def test_a_files_own_dqm_unread_text_is_searched_and_cannot_hide_dqms_note(
    tmp_path, profile: Profile, decoy: bool
) -> None:
    """dqm kept its note on a text read in part as the property ``dqm.unread`` and searched no
    property whose key ended so: a PNG chunk ``dqm.unread`` holding an RRN was shown unmasked in
    the note and never searched; and a chunk holding the note's own text hid the note (a text a
    property held was not added again), so an RRN past 256 KiB gave no finding at all. The note now
    lives in ``SlideProbe.text_unread``."""
    from PIL import Image, PngImagePlugin

    from dqm.image_text import VALUE_BYTES
    from dqm.slide_io import ProbeOptions, probe_slide

    info = PngImagePlugin.PngInfo()
    info.add_text("dqm.unread", "Hong Gildong " + RRN)
    big = "x" * VALUE_BYTES + " " + RRN
    if decoy:
        info.add_text("a", f"png.b: {VALUE_BYTES:,} of {len(big):,} characters")
    info.add_text("b", big)
    path = tmp_path / "s1.png"
    Image.new("RGB", (64, 64), "white").save(path, pnginfo=info)
    probe = probe_slide(path, "slides/s1.png", ProbeOptions(artefacts=False))
    assert probe.text_unread == f"png.b: {VALUE_BYTES:,} of {len(big):,} characters"
    found = [f for f in deid_findings(view_of(profile, slide=probe)) if f.code.startswith("DEID_SLIDE")]
    assert sorted((f.code, f.location.pointer) for f in found) == [
        ("DEID_SLIDE_IDENTIFIER", "/properties/png.dqm.unread"),
        ("DEID_SLIDE_UNSEARCHED", "/properties"),
    ]
    assert not any(s in f.message for f in found for s in SECRETS)


@pytest.mark.parametrize(
    ("fmt", "props", "expected"),
    [
        ("native", {"notes": {"patient_name Hong Gildong": 1}}, ["/lesions/0/properties/#1/#1"]),
        ("qupath_detection", {"notes": {"patient_name Hong Gildong": 1}}, ["/features/1/properties/#1/#1"]),
        (
            "qupath_detection",
            {"patient_name": {"Hong Gildong 900101-1234567": 1}},
            ["/features/1/properties/patient_name"],  # kept whole: the key's value, the RRN in it
        ),
    ],
)
def test_a_name_inside_an_identifying_key_is_never_shown(
    profile: Profile, fmt: str, props: dict[str, Any], expected: list[str]
) -> None:
    """A key that names a person and holds the name (``patient_name Hong Gildong``) was shown whole
    in the message, the pointer and ``params.key`` (the masker knows no bare name); and a pattern's
    hit in a key kept below ``patient_name`` kept the full pointer. The pointer now stops at the
    identifying key's parent (or at a plain ``patient_name``), the message shows ``patient_name…``;
    such a key is no format's: the pointer names it by its position (``#1``)."""
    doc, _ = _place(fmt, {})
    target = doc["features"][1]["properties"] if fmt.startswith("qupath") else doc["lesions"][0]["properties"]
    del target["extra"]
    target.update(props)
    name = "ann/s1.geojson" if fmt.startswith("qupath") else "ann/s1.json"
    (ann,) = parse_annotation(json.dumps(doc).encode(), name)
    found = [f for f in deid_findings(view_of(profile, annotation=ann)) if f.code.startswith("DEID_ANN")]
    # one place: since session 31 `patient_name Hong` is also a one-word name after its keyword
    assert sorted({f.location.pointer for f in found}) == expected
    dumped = json.dumps([f.model_dump(mode="json") for f in found], ensure_ascii=False)
    assert "Gildong" not in dumped and "1234567" not in dumped


@pytest.mark.parametrize("fmt", ["native", "qupath_detection"])
def test_a_repeated_identifier_is_listed_at_its_first_places_and_the_rest_counted(
    profile: Profile, fmt: str
) -> None:
    """A text is searched once, but was reported at every place it sat, and a place cost no budget:
    200,000 copies of one RRN gave 200,000 findings (21 s, 534 MB). Now its first MAX_PLACES places
    are listed, the rest counted in one finding at the first of them; a person's value under
    ``patient_id`` the same."""
    from validators.deid import MAX_PLACES

    extra = MAX_PLACES + 30
    payload = {
        "notes": [RRN] * (MAX_PLACES + extra),
        "cases": [{"patient_id": 12345678}] * (MAX_PLACES + extra),
    }
    doc, where = _place(fmt, payload)
    name = "ann/s1.geojson" if fmt.startswith("qupath") else "ann/s1.json"
    (ann,) = parse_annotation(json.dumps(doc).encode(), name)
    found = [f for f in deid_findings(view_of(profile, annotation=ann)) if f.code.startswith("DEID_ANN")]
    counted = [f for f in found if "more places" in f.message]
    if fmt == "native":
        assert len(found) == 2 * MAX_PLACES + 2
        assert sorted(f.location.pointer for f in counted) == [
            f"{where}/#1/{MAX_PLACES}",  # notes
            f"{where}/#2/{MAX_PLACES}/patient_id",  # cases
        ]
        assert all(f"{extra} more places" in f.message for f in counted)
    else:  # a skipped object's text is kept once by the reader: nothing repeats
        assert not counted and found
    assert not any(s in _masked_output(found) for s in SECRETS)


def test_each_place_reported_is_charged_to_the_files_budget(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A place past a text's first is charged as a text searched again: a file of few distinct
    texts still meets its budget, and says where searching stopped."""
    monkeypatch.setattr(identifiers, "MAX_SEARCHED_TEXTS", 10)
    doc, where = _place("native", {"notes": [RRN] * 15})
    (ann,) = parse_annotation(json.dumps(doc).encode(), "ann/s1.json")
    found = [f for f in deid_findings(view_of(profile, annotation=ann)) if f.code.startswith("DEID_ANN")]
    assert [f.code for f in found][-1] == "DEID_ANNOTATION_UNSEARCHED"
    assert found[-1].location.pointer.startswith(f"{where}/#1/")  # notes
    assert len(found) < 12


@pytest.mark.parametrize(
    "detections",
    [
        [{"patient": ["Hong", "Gildong"]}],  # the kept pointer .../patient/0 named no person
        [{"patient": {"first": "Hong", "last": "Gildong"}}],  # a container was kept as None: blank
        [{"patient": {"Hong Gildong": 1}}],
        [{"patient_id": [12345678]}],  # numbers were never kept
        [{"patient_id": None}, {"patient_id": 12345678}],  # keys were kept once, by key alone
    ],
)
def test_a_skipped_objects_value_under_an_identifying_key_is_kept_whole(
    profile: Profile, detections: list[dict[str, Any]]
) -> None:
    """The text a reader keeps of a QuPath detection (or a DSA point) missed these identifiers, which
    a native lesion's properties flag: the value under a key that names a person is now kept whole,
    once for each distinct text it holds."""
    polygon = {"type": "Polygon", "coordinates": [_SQUARE]}
    annotation = {"objectType": "annotation", "classification": {"name": "BCC"}}
    features = [{"type": "Feature", "geometry": polygon, "properties": annotation}] + [
        {"type": "Feature", "geometry": polygon, "properties": {"objectType": "detection", **d}}
        for d in detections
    ]
    doc = {"type": "FeatureCollection", "features": features}
    (ann,) = parse_annotation(json.dumps(doc).encode(), "ann/s1.geojson")
    found = [f for f in deid_findings(view_of(profile, annotation=ann)) if f.code.startswith("DEID_ANN")]
    key = next(iter(detections[-1]))
    assert [(f.code, f.location.pointer) for f in found] == [
        ("DEID_ANNOTATION_IDENTIFIER", f"/features/{len(detections)}/properties/{key}")
    ]
    assert not any(s in _masked_output(found) for s in ("Gildong", "12345678"))


def test_a_shared_coco_files_unlisted_image_keeps_an_identifying_key_over_a_number() -> None:
    """The text of a COCO file's images that no item lists kept only values holding a string:
    ``"patient_id": 12345678`` and ``{"Patient name Hong Gildong": 1}`` were lost."""
    from dqm.readers.items import unpicked_text

    seg = {"category_id": 1, "segmentation": [[10, 10, 60, 10, 60, 60]]}
    doc = {
        "images": [{"id": k, "file_name": f"s{k}.svs", "width": 100, "height": 80} for k in (1, 2)],
        "categories": [{"id": 1, "name": "BCC"}],
        "annotations": [
            {"id": 1, "image_id": 1, **seg},
            {"id": 2, "image_id": 2, **seg, "patient_id": 12345678, "Patient name Hong Gildong": 1},
        ],
    }
    kept = unpicked_text(
        parse_annotation(json.dumps(doc).encode(), "ann/all.json"), frozenset({("s1", "s1.svs")})
    )
    assert kept["/annotations/1/patient_id"] == 12345678
    assert kept["/annotations/1/#2"] == 1  # no format's key: by its position, its name kept beside
    assert kept["/annotations/1/#2\x00"] == "Patient name Hong Gildong"
