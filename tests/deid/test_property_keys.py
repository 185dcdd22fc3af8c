"""A person's name in a key of an annotation file reaches no output: a key no format defines (a
QuPath feature's ``"properties": {"Kim Minsoo 김민수": …}``, a DSA element's ``user`` key, a COCO
annotation's or image's own key, an XML attribute's name) is named by its position among its
object's keys no format defines (``/features/0/properties/#1``), in the pointer and the message.
The masker replaces what its patterns find, and a bare name is none: the finding of an RRN under
such a key showed the key whole in its pointer and its message (``in property 'Kim Minsoo 김민수'``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dqm.findings import Finding, Location
from dqm.profile import Profile, load_profile
from dqm.readers import parse_annotation
from tests.deid.test_column_names import every_output
from tests.deid.test_deid import _SQUARE, deid_findings, view_of

NAME = "Kim Minsoo 김민수"
OTHER = "Hong Gildong"
SECRETS = ("Minsoo", "김민수", "Gildong", "900101-1234567")
RRN = "RRN 900101-1234567"


@pytest.fixture(scope="module")
def profile() -> Profile:
    return load_profile()


def _nested(depth: int) -> dict[str, Any]:
    """``depth`` objects, each under a bare name (the first one after a plain key), the RRN innermost."""
    value: Any = RRN
    for k in range(depth):
        value = {"plain": 1, (NAME if k % 2 else OTHER): value}
    return value


def _doc(fmt: str, payload: dict[str, Any]) -> tuple[Any, str, str]:
    """A file of ``fmt`` with ``payload`` among a lesion's own keys (or the file's), its name, and
    the pointer its findings start with."""
    polygon = {"type": "Polygon", "coordinates": [_SQUARE]}
    if fmt == "native":
        lesion = {"class": "BCC", "geometry": polygon, "properties": {"area": 1, **payload}}
        return {"lesions": [lesion], "clinical": {}}, "s1.json", "/lesions/0/properties/"
    if fmt in ("qupath", "qupath_detection"):
        kind = "annotation" if fmt == "qupath" else "detection"
        props = {"objectType": kind, "classification": {"name": "BCC"}, "measurements": payload}
        features = [{"type": "Feature", "geometry": polygon, "properties": props}]
        if kind == "detection":
            first = {"objectType": "annotation", "classification": {"name": "BCC"}}
            features.insert(0, {"type": "Feature", "geometry": polygon, "properties": first})
        n = len(features) - 1
        return {"type": "FeatureCollection", "features": features}, "s1.geojson", f"/features/{n}/properties/"
    if fmt in ("coco", "coco_image"):
        image = {"id": 1, "file_name": "s1.svs", "width": 100, "height": 80}
        annotation = {"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[10, 10, 60, 10, 60, 60]]}
        (image if fmt == "coco_image" else annotation).update(payload)
        doc = {"images": [image], "categories": [{"id": 1, "name": "BCC"}], "annotations": [annotation]}
        return doc, "s1.json", "/images/0/" if fmt == "coco_image" else "/annotations/0/"
    element = {"type": "polyline", "closed": True, "group": "BCC", "points": [[*p, 0] for p in _SQUARE]}
    if fmt == "dsa":
        element["user"] = payload
        return [{"_id": "5f0c", "annotation": {"name": "BCC", "elements": [element]}}], "s1.json", "/"
    assert fmt == "dsa_point"
    point = {"type": "point", "center": [5, 5, 0], "user": payload}
    body = {"name": "BCC", "elements": [element, point]}
    return [{"_id": "5f0c", "annotation": body}], "s1.json", "/0/annotation/elements/1/user/"


FORMATS = ("native", "qupath", "qupath_detection", "coco", "coco_image", "dsa", "dsa_point")


def _found(profile: Profile, data: bytes, name: str) -> list[Finding]:
    (ann,) = parse_annotation(data, f"ann/{name}")
    return [
        f
        for f in [*deid_findings(view_of(profile, annotation=ann)), *_issues(ann)]
        if not f.code.startswith("DEID_ANNOTATION_UNSEARCHED")
    ]


def _issues(ann: Any) -> list[Finding]:
    return [
        Finding(
            item_id="s1", check="file.read", code=i.code, severity="error", aspect="format",
            message=str(i.message), location=Location(pointer=i.pointer),
        )
        for i in ann.issues
    ]  # fmt: skip


def _shown(found: list[Finding]) -> str:
    return json.dumps([f.model_dump(mode="json") for f in found], ensure_ascii=False)


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_name_in_a_key_at_any_depth_is_named_by_its_position(
    profile: Profile, fmt: str, depth: int
) -> None:
    doc, name, where = _doc(fmt, {"note": "fine", NAME: _nested(depth - 1) if depth > 1 else RRN})
    found = [f for f in _found(profile, json.dumps(doc).encode(), name) if f.code.startswith("DEID_ANN")]
    assert [f.code for f in found] == ["DEID_ANNOTATION_IDENTIFIER"], _shown(found)
    (hit,) = found
    assert hit.location.pointer is not None and hit.location.pointer.startswith(where)
    assert "#2" in hit.location.pointer  # the bare name: the second key no format defines
    assert hit.params["masked"] == "90************"
    shown = _shown(found)
    assert not [s for s in SECRETS if s in shown], shown


def test_the_position_counts_only_keys_no_format_defines_in_the_files_order(profile: Profile) -> None:
    doc, name, _ = _doc("qupath", {"Area µm^2": 3.1, NAME: RRN, "name": "x", OTHER: {"zz": 1, "a": RRN}})
    found = _found(profile, json.dumps(doc).encode(), name)
    assert sorted((f.location.pointer, f.message[:52]) for f in found) == [
        ("/features/0/properties/measurements/#2", "Korean resident registration number in property #2: "),
        ("/features/0/properties/measurements/#3/#2", "Korean resident registration number in property #2: "),
    ]


def test_a_format_key_keeps_its_name(profile: Profile) -> None:
    """What the formats define is named as before: the finding at ``classification/name``."""
    polygon = {"type": "Polygon", "coordinates": [_SQUARE]}
    props = {"objectType": "annotation", "classification": {"name": "BCC"}, "name": RRN}
    doc = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "geometry": polygon, "properties": props}],
    }
    found = _found(profile, json.dumps(doc).encode(), "s1.geojson")
    assert [(f.location.pointer, f.message[:54]) for f in found] == [
        ("/features/0/properties/name", "Korean resident registration number in property 'name'")
    ]


def test_a_key_holding_an_identifier_is_still_searched(profile: Profile) -> None:
    """The name of a key kept by its pointer was searched as that pointer: it is kept beside it."""
    doc, name, _ = _doc("qupath_detection", {f"{NAME} 900101-1234567": 1})
    found = _found(profile, json.dumps(doc).encode(), name)
    assert [(f.code, f.location.pointer) for f in found if f.code.startswith("DEID")] == [
        ("DEID_ANNOTATION_IDENTIFIER", "/features/1/properties/measurements/#1")
    ]
    assert "in a property name" in found[0].message
    assert not [s for s in SECRETS if s in _shown(found)]


def test_reader_issues_name_such_a_key_by_its_position(profile: Profile) -> None:
    """The native schema's unknown key and a repeated key quoted the key and named it in the pointer."""
    doc = {
        "slide": {"file": "s1.svs", "width": 100, "height": 80},
        "lesions": [{"class": "BCC", "geometry": {"type": "Polygon", "coordinates": [_SQUARE]}, NAME: 1}],
        "clinical": {},
        OTHER: 2,
    }
    text = json.dumps(doc, ensure_ascii=False).replace('"plain": 0', "")
    text = text.replace('"clinical": {}', f'"clinical": {{}}, "x": {{"{OTHER}": 1, "{OTHER}": 2}}')
    found = _found(profile, text.encode(), "s1.json")
    assert sorted(
        (f.code, f.location.pointer, f.message) for f in found if f.code != "DEID_ANNOTATION_IDENTIFIER"
    ) == [
        ("DUPLICATE_KEY", "/#1/#1", "key #1 appears more than once in one object (the last value is read)"),
        ("UNKNOWN_KEY", "/#1", "unknown key #1"),
        ("UNKNOWN_KEY", "/#2", "unknown key #2"),
        ("UNKNOWN_KEY", "/lesions/0/#1", "unknown key #1"),
    ]
    assert not [s for s in SECRETS if s in _shown(found)]


@pytest.mark.parametrize("where", ["root", "lesion"])
def test_an_xml_attributes_name_is_named_by_its_position(profile: Profile, where: str) -> None:
    coords = "".join(f'<Coordinate Order="{k}" X="{x}" Y="{y}"/>' for k, (x, y) in enumerate(_SQUARE[:4]))
    own = f'김민수="{RRN}"' if where == "lesion" else ""
    root = f'김민수="{RRN}"' if where == "root" else ""
    xml = (
        f"<ASAP_Annotations {root}><Annotations>"
        f'<Annotation Name="a" Type="Polygon" PartOfGroup="BCC" {own}><Coordinates>{coords}</Coordinates></Annotation>'
        '</Annotations><AnnotationGroups><Group Name="BCC" PartOfGroup="None"/></AnnotationGroups></ASAP_Annotations>'
    )
    found = _found(profile, xml.encode(), "s1.xml")
    assert [f.location.pointer for f in found if f.code.startswith("DEID")] == [
        "/ASAP_Annotations/@#1" if where == "root" else "/ASAP_Annotations/Annotations/Annotation[1]/@#1"
    ]
    assert not [s for s in SECRETS if s in _shown(found)]


def test_a_name_in_a_property_key_reaches_no_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """validate, audit (results.json, the report, junit.xml, records.sqlite), the fix list and
    the review sample: none holds the name."""
    from dqm.synth import build_batch

    monkeypatch.setenv("DQM_MASK_KEY", "a test key of at least 16 characters")
    batch = tmp_path / "batch"
    build_batch(batch, 4, seed=5, defect_rate=0.0, max_size=256)
    path = batch / "annotations" / "S00002.json"
    doc = json.loads(path.read_text())
    doc["lesions"][0].setdefault("properties", {})[NAME] = {OTHER: RRN}
    doc[OTHER] = 1  # an unknown top-level key
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "out"
    texts = every_output(batch, out)
    written = {where for where, _ in texts}
    assert {"a/results.json", "a/junit.xml", "fix/fixlist.csv"} <= written
    assert any(where.endswith(".sqlite") for where in written), written
    assert [(where, s) for where, text in texts for s in SECRETS if s in text] == []
    found = json.loads((out / "a" / "results.json").read_text())["findings"]
    assert {(f["code"], f["location"]["pointer"]) for f in found if f["item_id"] == "S00002"} >= {
        ("DEID_ANNOTATION_IDENTIFIER", "/lesions/0/properties/#1/#1"),
        ("UNKNOWN_KEY", "/#1"),
    }


def test_an_elements_attributes_are_numbered_in_order_and_their_names_are_not_texts_of_the_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each attribute no format defines by its position among those, a format's by its name; the
    names kept beside their paths do not take the place of texts under the file's cap."""
    from xml.etree.ElementTree import fromstring

    from dqm.readers.common import xmltree

    monkeypatch.setattr(xmltree, "MAX_TEXTS", 3)
    root = fromstring('<Group 김민수="a" Name="b" Hong-Gildong="c" note="d"/>')
    kept = xmltree.xml_texts(root, set())
    assert kept.texts == {
        "/Group/@#1": "a",
        "/Group/@#1\x00": "김민수",
        "/Group/@Name": "b",
        "/Group/@#2": "c",
        "/Group/@#2\x00": "Hong-Gildong",
    }
    assert kept.stopped_at == "/Group/@#3"  # note, the fourth text: a plain word, its name not kept


def _asap(extra: str) -> str:
    """An ASAP file of one polygon and its group, ``extra`` last in its root."""
    coords = "".join(f'<Coordinate Order="{k}" X="{x}" Y="{y}"/>' for k, (x, y) in enumerate(_SQUARE[:4]))
    return (
        "<ASAP_Annotations><Annotations>"
        f'<Annotation Name="a" Type="Polygon" PartOfGroup="BCC"><Coordinates>{coords}</Coordinates></Annotation>'
        '</Annotations><AnnotationGroups><Group Name="BCC" PartOfGroup="None"/></AnnotationGroups>'
        f"{extra}</ASAP_Annotations>"
    )


@pytest.mark.parametrize("element", ["<RRN_900101-1234567/>", "<RRN_900101-1234567>x</RRN_900101-1234567>"])
def test_an_empty_xml_elements_tag_is_searched(profile: Profile, element: str) -> None:
    """An element holding nothing else to search (no text, no child, no attribute) was passed over,
    its tag with it: ``<RRN_900101-1234567/>`` was no finding where the element with a text was one."""
    xml = _asap(f"<Plain/><Plain/>{element}{element}")
    found = [f for f in _found(profile, xml.encode(), "s1.xml") if f.code.startswith("DEID")]
    # the tag starts with ``RRN_``, an identifier key: the text below it is a person's value too
    named = [("DEID_ANNOTATION_IDENTIFIER", "/ASAP_Annotations/#2[1]/text()[1]")] if ">x<" in element else []
    assert [(f.code, f.location.pointer) for f in found] == [
        ("DEID_ANNOTATION_IDENTIFIER", "/ASAP_Annotations/#2[1]"),
        *named,
    ]


@pytest.mark.parametrize("tag", ["a:Foo", "a:Annotations"])
@pytest.mark.parametrize("body", ["", "x"])
def test_an_xml_elements_namespace_is_searched(profile: Profile, tag: str, body: str) -> None:
    """An element's namespace URI is the file's text (an attribute's is searched): it was never
    searched, ``<a:Foo xmlns:a="urn:Hong Gildong 900101-1234567">`` no finding. The tag is kept
    whole, its URI searched, whatever its local name; the URI is not shown."""
    xml = _asap(f'<{tag} xmlns:a="urn:Hong Gildong 900101-1234567">{body}</{tag}>')
    found = [f for f in _found(profile, xml.encode(), "s1.xml") if f.code.startswith("DEID")]
    assert [(f.code, f.params.get("masked")) for f in found] == [
        ("DEID_ANNOTATION_IDENTIFIER", "90************")
    ]
    assert "Gildong" not in _shown(found)


def test_the_text_after_an_xml_element_whose_tag_names_a_person_is_its_parents(profile: Profile) -> None:
    """The text after an element (``…/#1[1]/following-sibling::text()[1]``) is its parent's: it was
    flagged as a person's where the element's tag names one (``<Patient_Name_Hong>``). The text in
    such an element, and after a child of one, still is."""
    xml = _asap("<Patient_Name_Hong>Kim<First>Lee</First>Park</Patient_Name_Hong>tumour margin clear")
    found = [f for f in _found(profile, xml.encode(), "s1.xml") if f.code.startswith("DEID")]
    assert sorted(f.location.pointer for f in found) == [
        "/ASAP_Annotations/#1[1]/#1[1]/following-sibling::text()[1]",
        "/ASAP_Annotations/#1[1]/#1[1]/text()[1]",
        "/ASAP_Annotations/#1[1]/text()[1]",
    ]


def test_an_xml_elements_tags_are_not_texts_of_the_cap_and_are_kept_once(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tag no format defines was kept beside every element of it, as a text of the file's cap: 60
    ``<cell-row Color="red"/>`` (10,050 with the cap of 10,000) left the RRN after them unsearched.
    A tag is kept once, at its first place, and a tag naming a person again beside each element
    of it that holds a kept text, itself or below (so that text is flagged), under a cap of its own."""
    from xml.etree.ElementTree import fromstring

    from dqm.readers.common import xmltree

    monkeypatch.setattr(xmltree, "MAX_TEXTS", 50)
    rows = '<cell-row Color="red"/>' * 60
    people = (
        "<Patient_Name_Hong><First>Kim</First></Patient_Name_Hong><Patient_Name_Hong/>"
        "<Patient_Name_Hong><First>Kim</First></Patient_Name_Hong><Patient_Name_Hong>Lee</Patient_Name_Hong>"
    )
    xml = f"<ASAP_Annotations><Notes>{rows}</Notes>{people}<Note>{RRN}</Note></ASAP_Annotations>"
    kept = xmltree.xml_texts(fromstring(xml), set())
    assert kept.stopped_at is None
    assert {at: text for at, text in kept.texts.items() if at.endswith("\x00")} == {
        "/ASAP_Annotations/#1[1]/#1[1]\x00": "cell-row",
        "/ASAP_Annotations/#2[1]\x00": "Patient_Name_Hong",  # Kim at its first place below it
        "/ASAP_Annotations/#2[4]\x00": "Patient_Name_Hong",  # Lee; not the second Kim's, nor <…/>'s
    }
    monkeypatch.setattr(xmltree, "MAX_TAGS", 2)
    assert xmltree.xml_texts(fromstring(xml), set()).stopped_at == "/ASAP_Annotations/#2[4]"

    # past the tags' own cap the tags stop, not the texts: the note after them is still searched
    kept = xmltree.xml_texts(fromstring(xml), set())
    assert kept.texts["/ASAP_Annotations/#3[1]/text()[1]"] == RRN

    # distinct tags, each with a text: the tags kept beside them take no text's place of the cap
    monkeypatch.setattr(xmltree, "MAX_TAGS", 10_000)
    distinct = "".join(f"<김민수{i}>t{i} a</김민수{i}>" for i in range(40))
    kept = xmltree.xml_texts(
        fromstring(f"<ASAP_Annotations>{distinct}<Note>{RRN}</Note></ASAP_Annotations>"), set()
    )
    assert kept.stopped_at is None and kept.texts["/ASAP_Annotations/#41[1]/text()[1]"] == RRN

    monkeypatch.setattr(xmltree, "MAX_TAGS", 10_000)
    data = _asap(f"<Notes>{rows}</Notes>{people}<Note>{RRN}</Note>").encode()
    (ann,) = parse_annotation(data, "ann/s1.xml")
    found = deid_findings(view_of(profile, annotation=ann))
    assert sorted((f.code, f.location.pointer) for f in found) == [
        ("DEID_ANNOTATION_IDENTIFIER", "/ASAP_Annotations/#2[1]/#1[1]/text()[1]"),
        ("DEID_ANNOTATION_IDENTIFIER", "/ASAP_Annotations/#2[4]/text()[1]"),
        ("DEID_ANNOTATION_IDENTIFIER", "/ASAP_Annotations/#3[1]/text()[1]"),
    ]


@pytest.mark.parametrize("where", ["root", "lesion", "group"])
def test_namespaced_attributes_of_one_local_name_are_two_positions(profile: Profile, where: str) -> None:
    """``a:Kim`` and ``b:Kim`` are two attributes: numbered by their local name they were one path,
    the second's value taking the first's (one RRN of two reported); a namespaced attribute is
    named by its position even where its local name is a format's, its URI (``urn:Hong Gildong``)
    not printed."""
    coords = "".join(f'<Coordinate Order="{k}" X="{x}" Y="{y}"/>' for k, (x, y) in enumerate(_SQUARE[:4]))
    two = f'xmlns:a="urn:{OTHER}" xmlns:b="urn:b" a:Kim="{RRN}" b:Kim="RRN 850505-1234568" a:Name="RRN 850505-1234569"'
    own, root, group = (two if where == w else "" for w in ("lesion", "root", "group"))
    xml = (
        f"<ASAP_Annotations {root}><Annotations>"
        f'<Annotation Name="a" Type="Polygon" PartOfGroup="BCC" {own}><Coordinates>{coords}</Coordinates></Annotation>'
        f'</Annotations><AnnotationGroups><Group Name="BCC" PartOfGroup="None" {group}/></AnnotationGroups>'
        "</ASAP_Annotations>"
    )
    found = _found(profile, xml.encode(), "s1.xml")
    at = {
        "root": "/ASAP_Annotations",
        "lesion": "/ASAP_Annotations/Annotations/Annotation[1]",
        "group": "/ASAP_Annotations/AnnotationGroups[1]/Group[1]",
    }[where]
    assert sorted((f.location.pointer, f.params["masked"]) for f in found if f.code.startswith("DEID")) == [
        (f"{at}/@#1", "90************"),
        (f"{at}/@#2", "85************"),
        (f"{at}/@#3", "85************"),
    ]
    assert not [s for s in SECRETS if s in _shown(found)]


@pytest.mark.parametrize("value", [1, [{"a": 1}], {"a": 1}], ids=["scalar", "list", "object"])
@pytest.mark.parametrize("fmt", ["native", "qupath", "coco", "dsa"])
def test_a_top_level_keys_own_name_is_searched_whatever_it_holds(
    profile: Profile, fmt: str, value: Any
) -> None:
    """A file's top-level key no format defines, ``"Hong Gildong 900101-1234567": 1``: its name is
    searched as its pointer was (COCO kept the value at ``/#1`` without the key's name, the RRN
    unreported; a list or an object of no text under it was not searched at all)."""
    doc, name, _ = _doc(fmt, {})
    key = f"{OTHER} 900101-1234567"
    if isinstance(doc, list):
        doc[0][key] = value
        at = "/0/#1"
    else:
        doc[key] = value
        at = "/#1"
    found = _found(profile, json.dumps(doc).encode(), name)
    assert [(f.location.pointer, f.params["masked"]) for f in found if f.code.startswith("DEID")] == [
        (at, "90************")
    ]
    assert "in a property name" in next(f.message for f in found if f.code.startswith("DEID"))
    assert not [s for s in SECRETS if s in _shown(found)]


def _payload_file(fmt: str, payload: dict[str, Any]) -> tuple[bytes, str, str]:
    """A file of ``fmt`` (``xml``: ASAP, ``payload`` a group's attributes) with ``payload`` among a
    lesion's own keys, its name, and the pointer its keys' findings start with."""
    if fmt == "xml":
        coords = "".join(f'<Coordinate Order="{k}" X="{x}" Y="{y}"/>' for k, (x, y) in enumerate(_SQUARE[:4]))
        own = " ".join(f'{k}="{v}"' for k, v in payload.items())
        data = (
            "<ASAP_Annotations><Annotations>"
            f'<Annotation Name="a" Type="Polygon" PartOfGroup="BCC"><Coordinates>{coords}</Coordinates></Annotation>'
            f'</Annotations><AnnotationGroups><Group Name="BCC" PartOfGroup="None" {own}/></AnnotationGroups>'
            "</ASAP_Annotations>"
        ).encode()
        return data, "s1.xml", "/ASAP_Annotations/AnnotationGroups[1]/Group[1]/@"
    doc, name, where = _doc(fmt, payload)
    return (
        json.dumps(doc, ensure_ascii=False).encode(),
        name,
        where + ("measurements/" if fmt == "qupath" else ""),
    )


@pytest.mark.parametrize("fmt", ["native", "qupath", "coco", "dsa_point", "xml"])
def test_a_plain_word_key_longer_than_its_identifying_part_shows_that_part_only(
    profile: Profile, fmt: str
) -> None:
    """``patient_name_HongGildong`` is a plain word the identifier keys name, and was shown whole in
    the pointer and the message; now by its position and as ``patient_name…``. ``patient_name``
    itself keeps its name."""
    payload = {"patient_name_HongGildong": "x y", "HongGildong_patient_id": "1234", "patient_name": "Kim y"}
    data, name, where = _payload_file(fmt, payload)
    found = [f for f in _found(profile, data, name) if f.code.startswith("DEID")]
    assert sorted((f.location.pointer, f.message.split(" names")[0]) for f in found) == [
        (f"{where}#1", "property 'patient_name…'"),
        (f"{where}#2", "property 'patient_id…'"),
        (f"{where}patient_name", "property 'patient_name'"),
    ]
    assert "Gildong" not in _shown(found)


def test_an_xml_elements_tag_no_format_defines_is_named_by_its_position(profile: Profile) -> None:
    """``<Hong_Gildong>`` and ``<김민수>`` were printed in every path below them; a tag is the
    file's text, named by its position among its siblings' tags no format defines, searched
    where it is more than a plain word, and a tag naming a person still flags what is below it."""
    coords = "".join(f'<Coordinate Order="{k}" X="{x}" Y="{y}"/>' for k, (x, y) in enumerate(_SQUARE[:4]))
    extra = (
        f"<Hong_Gildong>{RRN}</Hong_Gildong><김민수 note='RRN 850505-1234568'/><Hong_Gildong>x y</Hong_Gildong>"
        "<a900101-1234567 x='y z'/><Patient_Name_Hong><First>Kim Minsoo</First></Patient_Name_Hong>"
    )
    xml = (
        "<ASAP_Annotations><Annotations>"
        f'<Annotation Name="a" Type="Polygon" PartOfGroup="BCC"><Coordinates>{coords}</Coordinates></Annotation>'
        '</Annotations><AnnotationGroups><Group Name="BCC" PartOfGroup="None"/></AnnotationGroups>'
        f"{extra}</ASAP_Annotations>"
    )
    found = _found(profile, xml.encode(), "s1.xml")
    assert sorted(
        (f.location.pointer, f.params.get("masked", f.params.get("value")))
        for f in found
        if f.code.startswith("DEID")
    ) == [
        ("/ASAP_Annotations/#1[1]/text()[1]", "90************"),
        ("/ASAP_Annotations/#2[1]/@#1", "85************"),
        ("/ASAP_Annotations/#3[1]", "90************"),
        ("/ASAP_Annotations/#4[1]/#1[1]/text()[1]", "Ki********"),
    ]
    assert not [s for s in (*SECRETS, "Hong_Gildong", "Patient_Name_Hong") if s in _shown(found)], _shown(
        found
    )


@pytest.mark.parametrize("fmt", ["native", "qupath", "coco", "dsa_point", "xml"])
def test_a_key_that_starts_with_an_identifier_word_and_holds_more_names_a_person(
    profile: Profile, fmt: str
) -> None:
    """``patient_id_HongGildong`` (``\\bdob``, ``patient.?id\\b``: ``\\b`` took ``_`` for a letter)
    was no identifier key: its value went unflagged and its name, a plain word, was shown whole in
    the pointer and the message. Now flagged and named by its position as ``patient_id-김민수`` and
    ``PATIENT_NAME_X`` were; ``patient_identity`` (no ``_`` or word's end after ``id``) is not one."""
    payload = {
        "patient_id_HongGildong": "x y",
        "patientId-김민수": "1",
        "PATIENT_NAME_X": "z",
        "dob_Gildong": "q",
        "patient_identity": "kept",
    }
    if fmt == "xml":
        del payload["patientId-김민수"]  # not an XML name
        expected = [("#1", "patient_id_…"), ("#2", "PATIENT_NAME…"), ("#3", "dob_…")]
    else:
        # the character that ends the word is shown with it (``_``, ``-``), a letter not (``patientIdH``)
        expected = [("#1", "patient_id_…"), ("#2", "patientId-…"), ("#3", "PATIENT_NAME…"), ("#4", "dob_…")]
    data, name, where = _payload_file(fmt, payload)
    found = [f for f in _found(profile, data, name) if f.code.startswith("DEID")]
    assert sorted((f.location.pointer, f.message.split(" names")[0]) for f in found) == [
        (f"{where}{at}", f"property '{shown}'") for at, shown in expected
    ]
    assert not [s for s in ("Gildong", "김민수", "identity") if s in _shown(found)], _shown(found)


@pytest.mark.parametrize(
    ("extra", "at"),
    [
        ("<Note>Kim Minsu</Note><PatientName>Kim Minsu</PatientName>", "/ASAP_Annotations"),
        ("<Note>Kim Minsu</Note><Patient_Name_Hong>Kim Minsu</Patient_Name_Hong>", "/ASAP_Annotations/#2[1]/text()[1]"),
        ("<Note a='Kim Minsu'/><X PatientName='Kim Minsu'/>", "/ASAP_Annotations/#2[1]/@PatientName"),
        ("<Note>Kim Minsu</Note><PatientName><X a='Kim Minsu'/></PatientName>", "/ASAP_Annotations"),
        ("<Note>Kim Minsu</Note><X><Patient_Name_Hong><Y/>Kim Minsu</Patient_Name_Hong></X>",
         "/ASAP_Annotations/#2[1]/#1[1]/#1[1]/following-sibling::text()[1]"),
    ],
)  # fmt: skip
def test_a_text_met_first_where_nothing_names_a_person_is_flagged_again_below_a_tag_naming_one(
    profile: Profile, extra: str, at: str
) -> None:
    """The XML texts were kept once each, at their first place: ``Kim Minsu`` in a ``<Note>`` was
    searched there (no pattern finds a bare name), and the same text under ``<PatientName>`` (a tag
    or an attribute naming a person, the element's or one above) was passed over, unflagged. Now a
    text is kept once where nothing names a person and once where something does."""
    found = [f for f in _found(profile, _asap(extra).encode(), "s1.xml") if f.code.startswith("DEID")]
    assert [(f.location.pointer, f.params.get("value")) for f in found] == [(at, "Ki*******")]
    assert "names a person" in found[0].message
    assert "Minsu" not in _shown(found)


def test_a_text_is_kept_once_where_nothing_names_a_person_and_once_where_something_does() -> None:
    """The texts' memory holds a text at most twice (the caps count each place kept)."""
    from xml.etree.ElementTree import fromstring

    from dqm.readers.common.xmltree import xml_texts

    one = (
        "<A><Note>Kim</Note><PatientName>Kim</PatientName><Note>Kim</Note><PatientName>Kim</PatientName></A>"
    )
    assert xml_texts(fromstring(one), {"Kim"}).texts == {"/#1/PatientName[1]/text()[1]": "Kim"}
    assert xml_texts(fromstring(one), set()).texts == {
        "/#1/#1[1]/text()[1]": "Kim",
        "/#1/PatientName[1]/text()[1]": "Kim",
    }


@pytest.mark.parametrize("tag", ["PatientName", "Patient_Name_Hong"])
@pytest.mark.parametrize("below", [1, 70])
def test_a_text_below_a_tag_naming_a_person_past_the_paths_depth_is_still_that_persons(
    profile: Profile, tag: str, below: int
) -> None:
    """An element past :data:`MAX_PATH_DEPTH` is named from its ancestor at that depth
    (``…/descendant::a[1]``): a tag naming a person between them was in no path, and the text below
    it went unflagged. What is below such a tag is now numbered from it (``…/descendant::#2[1]/
    descendant::a[1]``: the path shows the tag, by its name or kept beside it), once: a path names at
    most two such steps however deep the tags nest."""
    from dqm.readers.common.xmltree import MAX_PATH_DEPTH

    deep = "<b>" * (MAX_PATH_DEPTH + 5)
    inner = "<a>" * below + "Kim Minsu" + "</a>" * below
    nested = f"<PatientName>{inner}</PatientName><c>x y</c>"
    extra = f"{deep}<{tag}>{nested}</{tag}><c>tumour margin</c>{deep.replace('<', '</')}"
    found = [f for f in _found(profile, _asap(extra).encode(), "s1.xml") if f.code.startswith("DEID")]
    assert sorted(f.params.get("value") for f in found) == ["***", "Ki*******"], _shown(found)
    assert all(f.location.pointer.count("descendant::") <= 2 for f in found)
    assert "Minsu" not in _shown(found)


def test_a_repeated_key_of_a_native_files_clinical_block_is_named_by_its_position(profile: Profile) -> None:
    """A clinical block's keys kept their names in ``DUPLICATE_KEY``'s message and pointer, and in
    every pointer below them (``/clinical/Kim Minsoo 김민수``): now by their position among the
    block's keys, as the clinical findings name a column the profile does not declare (``#2``); a
    declared field (``age``) keeps its name."""
    from dqm.runner import run_item_checks
    from validators.engine import configure

    assert "age" in profile.clinical and NAME not in profile.clinical
    block = f'{{"age": 61, "{NAME}": 1, "{NAME}": 2, "age": 62, "{OTHER}": {{"x": 1, "x": 2}}}}'
    doc = {"slide": {"file": "s1.svs", "width": 100, "height": 80}, "lesions": [], "clinical": {}}
    text = json.dumps(doc, ensure_ascii=False).replace('"clinical": {}', f'"clinical": {block}')
    (ann,) = parse_annotation(text.encode(), "ann/s1.json")
    found = [
        f
        for f in run_item_checks(view_of(profile, annotation=ann), configure(profile))
        if f.code == "DUPLICATE_KEY"
    ]
    said = "appears more than once in one object (the last value is read)"
    assert sorted((f.location.pointer, f.message) for f in found) == [
        ("/clinical/#2", f"key #2 {said}"),
        ("/clinical/#3/#1", f"key #1 {said}"),
        ("/clinical/age", f"key 'age' {said}"),
    ]
    assert not [s for s in SECRETS if s in _shown(found)]
    assert not [s for s in SECRETS if s in json.dumps([(i.pointer, str(i.message)) for i in ann.issues])]


def test_an_element_past_the_paths_depth_counts_the_elements_below_a_person_before_it() -> None:
    """What is below a tag naming a person past :data:`MAX_PATH_DEPTH` is numbered from that tag,
    and was no longer counted from the ancestor at that depth: the ``<a>`` after ``<PatientName><a>``
    was ``…/descendant::#2[1]``, the path of the name's element. Now still counted there: ``[2]``."""
    from xml.etree.ElementTree import fromstring

    from dqm.readers.common.xmltree import MAX_PATH_DEPTH, xml_texts

    deep = "<b>" * (MAX_PATH_DEPTH + 2)
    xml = f"<A>{deep}<PatientName><a>Kim Minsu</a></PatientName><a>RRN 900101-1234567</a>{deep.replace('<', '</')}</A>"
    at = "/#1" + "/#1[1]" * (MAX_PATH_DEPTH - 1)
    assert xml_texts(fromstring(xml), set()).texts == {
        f"{at}/descendant::PatientName[1]/descendant::#1[1]/text()[1]": "Kim Minsu",
        f"{at}/descendant::#2[2]/text()[1]": "RRN 900101-1234567",
    }


def test_the_numbering_past_the_paths_depth_holds_two_anchors_at_most(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each element naming a person past :data:`MAX_PATH_DEPTH` left its tags and counts keyed by its
    path (~450 characters) for the rest of the walk, and a number below it is no text of the caps:
    200,000 ``<PatientName><a>1</a></PatientName>`` (6.4 MB) held 207 MB. Now an anchor is held by
    the elements below it still to walk, and gone when its subtree ends: two at most live at once."""
    from xml.etree.ElementTree import fromstring

    from dqm.readers.common import xmltree

    live = [0, 0]  # now, most

    class Counted(xmltree._Anchor):  # type: ignore[misc]
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            live[0] += 1
            live[1] = max(live)

        def __del__(self) -> None:
            live[0] -= 1

    monkeypatch.setattr(xmltree, "_Anchor", Counted)
    deep = "<b>" * (xmltree.MAX_PATH_DEPTH + 2)
    xml = f"<A>{deep}{'<PatientName><a>1</a><a>x y</a></PatientName>' * 500}{deep.replace('<', '</')}</A>"
    xmltree.xml_texts(fromstring(xml), set())
    assert live[1] == 2
    assert live[0] == 0


@pytest.mark.parametrize(
    ("extra", "at", "value"),
    [
        ("<PatientID>87654321</PatientID>", "/ASAP_Annotations", "87******"),
        ("<DOB> 19900101 </DOB>", "/ASAP_Annotations", "19******"),
        # ``<Patient>`` names a person itself (``patient[1]`` was no key: deid6), cut before it
        ("<Patient><PatientID>87654321</PatientID></Patient>", "/ASAP_Annotations", "87******"),
        ("<Note>12</Note><PatientName><a>12</a></PatientName>", "/ASAP_Annotations", "**"),
    ],
)
def test_a_number_below_an_xml_tag_naming_a_person_is_flagged(
    profile: Profile, extra: str, at: str, value: str
) -> None:
    """An XML element's text that is a number was never kept: ``<PatientID>87654321</PatientID>``
    was no finding where ``PatientID="87654321"`` (an attribute) and JSON's ``"PatientID": 87654321``
    were. Now a number below a tag naming a person is kept (and counts toward the caps) as one under
    such an attribute was; elsewhere a number is still passed over (``<Note>12</Note>``)."""
    found = [f for f in _found(profile, _asap(extra).encode(), "s1.xml") if f.code.startswith("DEID")]
    assert [(f.location.pointer, f.params.get("value")) for f in found] == [(at, value)]
    assert not [s for s in ("87654321", "19900101") if s in _shown(found)]


@pytest.mark.parametrize("fmt", ["native", "qupath", "coco", "dsa_point", "xml"])
def test_a_key_naming_an_identifier_word_with_more_after_it_names_a_person_but_not_a_kind_of_one(
    profile: Profile, fmt: str
) -> None:
    """``patient_id2``, ``PatientIDHongGildong``, ``patientIdHongGildong``, ``dobKim``,
    ``patient_dob_HongGildong``, ``patient_id김민수`` were no identifier keys (``\\b``/``_`` alone
    ended the word; Python's ``\\b`` takes Hangul for a letter, RE2's not), and ``dob_format:
    "YYYY-MM-DD"``, ``patient_id_type: "MRN"``, ``dob_estimated`` were flagged as identifiers (a key
    naming a kind of identifier: its value names nobody). Now the first flagged, shown to the word
    and never with a letter after it, and the second not; ``patient_id_hash`` stays one."""
    payload = {
        "patient_id2": "v1",
        "PatientIDHongGildong": "v2",
        "patientIdHongGildong": "v3",
        "dobKim": "v4",
        "patient_dob_HongGildong": "v5",
        "patient_id김민수": "v6",
        "dob_format": "YYYY-MM-DD",
        "patient_id_type": "MRN",
        "dobFormat": "YYYYMMDD",
        "patient_id_source": "EMR",
        "patient_id_hash": "9f86d081",
        "HongGildongDOB": "v7",
    }
    expected = [
        "patient_id…",  # not a digit after the word either (``patient_id87654321``: its first digit)
        "PatientID…",
        "patientId…",
        "dob…",
        "_dob_…",  # the character before the word too (a Latin letter's not)
        "patient_id…",
        "patient_id_…",
        "DOB…",  # not a letter before the word either
    ]
    at = [1, 2, 3, 4, 5, 6, 11, 12]  # the keys' positions
    if fmt == "xml":
        del payload["patient_id김민수"]  # not an attribute's name in the ASAP file's form
        del expected[5]
        at = [1, 2, 3, 4, 5, 10, 11]
    data, name, where = _payload_file(fmt, payload)
    found = [f for f in _found(profile, data, name) if f.code.startswith("DEID")]
    assert sorted((f.location.pointer, f.message.split(" names")[0]) for f in found) == sorted(
        (f"{where}#{k}", f"property '{shown}'") for k, shown in zip(at, expected, strict=True)
    )
    assert not [s for s in ("Gildong", "김", "Kim", "HongG", "IdH", "IDH") if s in _shown(found)], _shown(
        found
    )


@pytest.mark.parametrize("fmt", ["native", "xml"])
def test_a_word_that_may_hold_the_identifier_or_follows_a_name_leaves_the_key_an_identifier_key(
    profile: Profile, fmt: str
) -> None:
    """The first list of kind words passed over ``dob_estimated: "1990-01-01"``,
    ``patient_id_verified: 87654321`` and ``patient_name_source: "Hong Gildong"`` (review of
    deidfix: the base flagged each; a date, a number under an undeclared key and a bare name match
    no value pattern, so nothing was searched). Only words that cannot hold the identifier make a
    kind, and never after a word naming a person; ``PatientIDType`` splits between two capitals."""
    payload = {
        "dob_estimated": "1990-01-01",
        "patient_id_verified": "87654321",
        "patient_name_source": "Hong Gildong",
        "patient_name_type": "Kim Minsoo",
        "PatientIDType": "MRN",
        "dob_format": "YYYY-MM-DD",
    }
    data, name, where = _payload_file(fmt, payload)
    found = [f for f in _found(profile, data, name) if f.code.startswith("DEID")]
    assert sorted(f.location.pointer for f in found) == [f"{where}#{k}" for k in (1, 2, 3, 4)]
    assert not [s for s in ("1990-01-01", "87654321", "Gildong", "Minsoo") if s in _shown(found)], _shown(
        found
    )
