"""Format behaviours of the foreign readers on small hand-made documents."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from dqm.profile import Profile
from dqm.readers import coco, parse_annotation, qupath, resolve_classes
from dqm.readers.common import rle


def parse(doc: object | str | bytes, profile: Profile, name: str = "a.json"):
    data = doc if isinstance(doc, bytes) else (doc if isinstance(doc, str) else json.dumps(doc)).encode()
    return resolve_classes(parse_annotation(data, name), profile)


def codes(ann) -> list[str]:
    return [i.code for i in ann.issues]


SQUARE = [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]
HOLE = [[2, 2], [4, 2], [4, 4], [2, 4], [2, 2]]


def feature(geometry: dict, **props) -> dict:
    return {"type": "Feature", "geometry": geometry, "properties": props}


# ---- QuPath -----------------------------------------------------------------------------


def test_qupath_single_feature_string_class_and_3d(profile: Profile) -> None:
    geom = {"type": "Polygon", "coordinates": [[[x, y, 0] for x, y in SQUARE], HOLE]}
    (ann,) = parse(feature(geom, classification="BCC", objectType="annotation"), profile)
    assert ann.format == "qupath" and not ann.issues
    (les,) = ann.lesions
    assert (les.raw_class, les.label, les.n_holes, les.pointer) == ("BCC", "BCC", 1, "")
    assert les.geometry.area == pytest.approx(100 - 4)


def test_qupath_detections_are_counted_not_read(profile: Profile) -> None:
    poly = {"type": "Polygon", "coordinates": [SQUARE]}
    doc = {
        "type": "FeatureCollection",
        "features": [
            feature(poly, objectType="annotation", classification={"name": "Tumor", "color": [1, 2, 3]}),
            feature(poly, objectType="detection"),
            feature(poly, objectType="cell"),
            feature(poly, objectType="cell"),
        ],
    }
    (ann,) = parse(doc, profile)
    assert len(ann.lesions) == 1
    (issue,) = [i for i in ann.issues if i.code == "DETECTION_OBJECT"]
    assert "3 QuPath objects" in issue.message and "cell ×2" in issue.message
    assert issue.pointer == "/features/1"


def test_qupath_detection_kinds_are_clipped_and_capped(profile: Profile) -> None:
    # a review's: every distinct kind was kept whole and named in the message, untallied
    kinds = [f"Kind {k:03d} " + "word " * 200 for k in range(150)]
    doc = [{"type": "Feature", "properties": {"objectType": kind}} for kind in [*kinds, kinds[0]]]
    (ann,) = parse(doc, profile)
    (issue,) = [i for i in ann.issues if i.code == "DETECTION_OBJECT"]
    text = str(issue.message)
    assert "151 QuPath objects" in text
    assert text.count("×") == qupath.KINDS_KEPT + 1 and "kind 000 word" in text and "kind 149" not in text
    assert f", … ×{150 - qupath.KINDS_KEPT}" in text  # the objects of the kinds not named
    assert (
        "word " * 10 not in text and "[cut: 1,008 characters]" in text and len(text) < 100 * qupath.KINDS_KEPT
    )
    assert "×2" in text  # the kind met twice, counted under its clipped name


def test_qupath_kind_is_clipped_once_not_per_feature(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    # session 24's: each feature of a long kind paid a clip (milliseconds for 10,000 characters)
    calls: list[str] = []

    def counted(text: str, limit: int) -> str:
        calls.append(text)
        return clip(text, limit)

    clip = qupath.clip
    monkeypatch.setattr(qupath, "clip", counted)
    kinds = [f"Kind {k} " + "word " * 200 for k in range(3)]
    doc = [{"type": "Feature", "properties": {"objectType": kinds[i % 3]}} for i in range(300)]
    (ann,) = parse(doc, profile)
    (issue,) = [i for i in ann.issues if i.code == "DETECTION_OBJECT"]
    assert "300 QuPath objects" in str(issue.message) and str(issue.message).count("×100") == 3
    assert len(calls) == 3  # one a kind, at its first sight


def test_qupath_long_one_word_kinds_stay_apart(profile: Profile) -> None:
    # a long one-word kind clips to "… [cut: N characters]": two of one length counted as one
    first, second = "x" * 60, "x" * 59 + "y"  # the same up to character 59
    doc = [{"type": "Feature", "properties": {"objectType": kind}} for kind in (first, second, second)]
    (ann,) = parse(doc, profile)
    (issue,) = [i for i in ann.issues if i.code == "DETECTION_OBJECT"]
    text = str(issue.message)
    assert "3 QuPath objects" in text and text.count("×") == 2 and "×2" in text and "×1" in text
    assert "x" * 41 not in text and text.count("[cut: 60 characters] #") == 2
    # named by their order, nothing derived from the hidden text (a digest of it would let a
    # number cut from its end be found by hashing every one)
    assert "[cut: 60 characters] #1 ×1" in text and "[cut: 60 characters] #2 ×2" in text


def test_qupath_long_kind_shows_nothing_of_its_hidden_tail(profile: Profile) -> None:
    kinds = [f"tumour detections reviewed for patient mrn {mrn}" for mrn in ("583920", "583921")]
    texts = []
    for kind in kinds:
        (ann,) = parse([{"type": "Feature", "properties": {"objectType": kind}}], profile)
        (issue,) = [i for i in ann.issues if i.code == "DETECTION_OBJECT"]
        texts.append(str(issue.message))
    assert texts[0] == texts[1] and "58392" not in texts[0]  # the same words shown for either number


def test_qupath_unique_kinds_are_bounded(profile: Profile, monkeypatch: pytest.MonkeyPatch) -> None:
    # 10,000 unique long kinds: the first KINDS_KEPT named (each clipped once), the others counted
    # together, and what the read keeps of them charged once a kind kept
    charged: list[int] = []
    monkeypatch.setattr(qupath.tally, "charge", charged.append)
    kinds = [f"kind{k:05d}" + "z" * 50 for k in range(10_000)]
    doc = [{"type": "Feature", "properties": {"objectType": kind}} for kind in [*kinds, kinds[0]]]
    (ann,) = parse(doc, profile)
    (issue,) = [i for i in ann.issues if i.code == "DETECTION_OBJECT"]
    text = str(issue.message)
    assert "10001 QuPath objects" in text and text.count("×") == qupath.KINDS_KEPT + 1
    assert f", … ×{10_000 - qupath.KINDS_KEPT}" in text and "×2" in text
    assert len(charged) == qupath.KINDS_KEPT + 1 and len(text) < 100 * qupath.KINDS_KEPT


def test_qupath_points_lines_and_bad_vertices(profile: Profile) -> None:
    doc = [
        feature({"type": "Point", "coordinates": [1, 2]}, classification="BCC"),
        feature({"type": "Polygon", "coordinates": [[[0, 0], [1, "x"], [1, 1]]]}, classification="BCC"),
        feature({"type": "Circle", "coordinates": []}, classification="BCC"),
        feature({"type": "MultiPolygon", "coordinates": [[SQUARE], [[[20, 20], [30, 20], [30, 30]]]]}),
    ]
    (ann,) = parse(doc, profile)
    assert codes(ann) == ["NOT_AN_AREA", "BAD_VERTEX", "UNSUPPORTED_GEOMETRY", "CLASS_MISSING"]
    bad = ann.issues[1]
    assert (bad.pointer, bad.lesion, bad.vertex) == ("/1/geometry/coordinates", 1, 1)
    assert [les.index for les in ann.lesions] == [1, 2, 3]
    assert ann.lesions[0].polygons == [] and not ann.lesions[0].outline_read
    assert ann.lesions[2].geometry.geom_type == "MultiPolygon"


def test_qupath_derived_class_names_are_joined(profile: Profile) -> None:
    poly = {"type": "Polygon", "coordinates": [SQUARE]}
    (ann,) = parse([feature(poly, classification={"names": ["Tumor", "Positive"]})], profile)
    assert ann.lesions[0].raw_class == "Tumor: Positive"


# ---- XML safety and detection --------------------------------------------------------


def test_entity_expansion_is_refused(profile: Profile) -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        "<ASAP_Annotations><Annotations>&lol2;</Annotations></ASAP_Annotations>"
    )
    (ann,) = parse(bomb, profile, "bomb.xml")
    assert not ann.readable and codes(ann) == ["XML_FORBIDDEN"]
    assert "lol" in ann.issues[0].message


def test_external_entity_is_refused(profile: Profile) -> None:
    xxe = (
        '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        "<Annotations><Annotation Name='&x;'/></Annotations>"
    )
    (ann,) = parse(xxe, profile, "x.xml")
    assert not ann.readable and codes(ann) == ["XML_FORBIDDEN"]


@pytest.mark.parametrize(
    ("doctype", "forbidden"),
    [
        ('<!DOCTYPE a SYSTEM "http://example.org/a.dtd">', True),
        ('<!DOCTYPE a PUBLIC "-//X//DTD A//EN" "a.dtd">', True),
        ('<!DOCTYPE a SYSTEM "">', True),
        ('<!DOCTYPE a SYSTEM "PT-20231234 Hong Gildong.dtd">', True),
        ("<!DOCTYPE a>", False),
        ("<!DOCTYPE a [<!ELEMENT a ANY>]>", False),
    ],
)
def test_an_external_dtd_is_refused_like_an_external_entity(
    profile: Profile, doctype: str, forbidden: bool
) -> None:
    """``<!DOCTYPE x SYSTEM "http://…">`` was read without a word: expat does not fetch it, but it
    is an external reference as an external entity is. It is named a DTD (not "an external
    entity"), its path masked as every path a file names (it may hold an identifier), and an
    empty ``SYSTEM ""`` (the document itself) refused too."""
    text = f'<?xml version="1.0"?>{doctype}<ASAP_Annotations><Annotations></Annotations></ASAP_Annotations>'
    (ann,) = parse(text, profile, "d.xml")
    if forbidden:
        message = ann.issues[0].message
        assert not ann.readable and codes(ann) == ["XML_FORBIDDEN"] and "external DTD" in message
        assert "entity" not in message and "Gildong" not in message and "example" not in message
    else:
        assert ann.readable and "XML_FORBIDDEN" not in codes(ann)


@pytest.mark.parametrize("marks", [2, 5])
def test_an_xml_file_with_several_byte_order_marks_is_read(profile: Profile, marks: int) -> None:
    """Two UTF-8 BOMs (a file saved twice by a BOM-adding editor) made an XML file UNKNOWN_FORMAT:
    detection stripped one."""
    text = '<?xml version="1.0"?><ASAP_Annotations><Annotations></Annotations></ASAP_Annotations>'
    (ann,) = parse(b"\xef\xbb\xbf" * marks + text.encode(), profile, "b.xml")
    assert ann.format == "asap" and ann.readable and "UTF8_BOM" in codes(ann)


def test_malformed_xml_has_a_line(profile: Profile) -> None:
    (ann,) = parse("<ASAP_Annotations>\n<Annotations>\n</ASAP_Annotations>", profile, "m.xml")
    assert codes(ann) == ["INVALID_XML"] and ann.issues[0].line == 3


def test_unknown_xml_root_and_extension_that_lies(profile: Profile) -> None:
    (ann,) = parse("<svg></svg>", profile, "a.xml")
    assert codes(ann) == ["UNKNOWN_FORMAT"] and "<svg>" in ann.issues[0].message
    asap = "<ASAP_Annotations><Annotations></Annotations></ASAP_Annotations>"
    (ann,) = parse(asap, profile, "called.json")
    assert ann.format == "asap" and ann.readable


def test_unknown_json_object_falls_back_to_the_native_reader(profile: Profile) -> None:
    (ann,) = parse({"lesion": []}, profile)
    assert ann.format == "native" and "MISSING_KEY" in codes(ann)


# ---- ASAP ----------------------------------------------------------------------------


def asap(*annotations: str) -> str:
    return "<ASAP_Annotations><Annotations>" + "".join(annotations) + "</Annotations></ASAP_Annotations>"


def asap_ann(kind: str, group: str, pts: list[tuple[str, str]]) -> str:
    coords = "".join(f'<Coordinate Order="{k}" X="{x}" Y="{y}"/>' for k, (x, y) in enumerate(pts))
    return f'<Annotation Name="A" Type="{kind}" PartOfGroup="{group}"><Coordinates>{coords}</Coordinates></Annotation>'


def test_asap_points_groups_and_decimal_commas(profile: Profile) -> None:
    sq = [("0", "0"), ("10", "0"), ("10", "10"), ("0", "10")]
    doc = asap(
        asap_ann("Dot", "BCC", [("1", "1")]),
        asap_ann("PointSet", "BCC", [("1", "1"), ("2", "2")]),
        asap_ann("Rectangle", "None", sq),
        asap_ann("Polygon", "BCC", [("0", "0"), ("10,5", "0"), ("10", "10")]),
    )
    (ann,) = parse(doc, profile, "a.xml")
    assert codes(ann) == ["NOT_AN_AREA", "NOT_AN_AREA", "CLASS_MISSING", "BAD_VERTEX"]
    bad = ann.issues[3]
    assert bad.pointer == "/ASAP_Annotations/Annotations/Annotation[4]/Coordinates/Coordinate[2]"
    assert "decimal comma" in bad.message and bad.vertex == 1
    assert [les.index for les in ann.lesions] == [2, 3]
    assert ann.lesions[0].geometry.area == 100


# ---- ImageScope and HALO layers --------------------------------------------------------


def region(pts, negative=False, tag="Vertex") -> str:
    v = "".join(f'<{tag} X="{x}" Y="{y}"/>' for x, y in pts)
    return f'<Region Id="1" Type="0" NegativeROA="{int(negative)}"><Vertices>{v}</Vertices></Region>'


def test_imagescope_negative_region_is_a_hole_and_orphans_are_reported(profile: Profile) -> None:
    big = [(0, 0), (100, 0), (100, 100), (0, 100)]
    hole = [(10, 10), (20, 10), (20, 20), (10, 20)]
    outside = [(200, 200), (210, 200), (210, 210)]
    ruler = [(0, 0), (50, 50)]
    doc = (
        '<Annotations MicronsPerPixel="0.5"><Annotation Id="1" Name="BCC"><Regions>'
        + region(big)
        + region(hole, True)
        + region(outside, True)
        + region(ruler)
        + "</Regions></Annotation></Annotations>"
    )
    (ann,) = parse(doc, profile, "s.xml")
    assert ann.format == "imagescope" and ann.mpp == 0.5
    (les,) = ann.lesions
    assert les.label == "BCC" and les.n_holes == 1 and les.geometry.area == 10000 - 100
    assert codes(ann) == ["NOT_AN_AREA", "NEGATIVE_REGION_UNMATCHED"]
    assert ann.issues[1].pointer == "/Annotations/Annotation[1]/Regions/Region[3]"


def test_halo_shapes(profile: Profile) -> None:
    def halo_region(kind: str, pts, negative=False) -> str:
        v = "".join(f'<V X="{x}" Y="{y}"/>' for x, y in pts)
        return f'<Region Type="{kind}" HasEndcaps="0" NegativeROA="{int(negative)}"><Vertices>{v}</Vertices></Region>'

    doc = (
        '<Annotations><Annotation Name="MN" Visible="True" LineColor="1"><Regions>'
        + halo_region("Ellipse", [(0, 0), (200, 100)])
        + halo_region("Rectangle", [(300, 300), (310, 320)])
        + halo_region("Rectangle", [(302, 302), (304, 304)], negative=True)
        + "</Regions></Annotation></Annotations>"
    )
    (ann,) = parse(doc, profile, "h.annotations")
    assert ann.format == "halo" and not ann.issues
    ellipse, rect = ann.lesions
    true_area = math.pi * 100 * 50
    assert ellipse.geometry.area == pytest.approx(true_area, rel=0.002)
    assert rect.geometry.area == 200 - 4 and rect.n_holes == 1


# ---- COCO ----------------------------------------------------------------------------


def coco_doc(annotations: list[dict], images=None, categories=None) -> dict:
    return {
        "images": images or [{"id": 1, "file_name": "s1.tiff", "width": 100, "height": 80}],
        "annotations": annotations,
        "categories": categories or [{"id": 7, "name": "basal cell carcinoma"}],
    }


def test_coco_polygon_and_unknown_references(profile: Profile) -> None:
    doc = coco_doc(
        [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 7,
                "segmentation": [[0, 0, 10, 0, 10, 10, 0, 10]],
                "bbox": [0, 0, 10, 10],
            },
            {"id": 2, "image_id": 1, "category_id": 99, "segmentation": [[0, 0, 5, 0, 5]]},
            {"id": 3, "image_id": 42, "category_id": 7, "segmentation": [[0, 0, 1, 0, 1, 1]]},
        ]
    )
    (ann,) = parse(doc, profile)
    assert (ann.format, ann.image_key, ann.width, ann.height) == ("coco", "s1.tiff", 100, 80)
    assert ann.lesions[0].label == "BCC" and ann.lesions[0].geometry.area == 100
    assert sorted(codes(ann)) == ["BAD_VERTEX", "COCO_UNKNOWN_CATEGORY", "COCO_UNKNOWN_IMAGE"]


def test_coco_xywh_boxes_are_not_flagged_but_xyxy_are() -> None:
    rng = np.random.default_rng(0)
    xywh = [(float(x), float(y), 30.0, 30.0) for x, y in rng.uniform(100, 900, (50, 2))]
    sizes = [(1000, 1000)] * 50
    assert coco.bbox_convention(xywh, sizes) is None
    xyxy = [(x, y, x + 30, y + 30) for x, y, _, _ in xywh]
    assert coco.bbox_convention(xyxy, sizes) is not None
    # two boxes only, but as xywh they leave the image and as corners they fit
    assert coco.bbox_convention([(900, 900, 950, 950), (10, 10, 40, 40)], [(1000, 1000)] * 2) is not None


def test_coco_rle_decodes_to_exact_pixel_polygons(profile: Profile) -> None:
    mask = np.zeros((8, 10), dtype=np.uint8)
    mask[1:7, 2:9] = 1
    mask[3:5, 4:6] = 0  # a hole
    flat = mask.flatten(order="F")
    counts, value, run = [], 0, 0
    for px in flat:
        if px != value:
            counts.append(run)
            value, run = px, 0
        run += 1
    counts.append(run)
    for seg in ({"size": [8, 10], "counts": counts}, {"size": [8, 10], "counts": rle.encode_counts(counts)}):
        doc = coco_doc([{"id": 1, "image_id": 1, "category_id": 7, "segmentation": seg, "iscrowd": 1}])
        (ann,) = parse(doc, profile)
        (les,) = ann.lesions
        assert les.geometry.area == mask.sum() == 38
        assert les.n_holes == 1 and les.geometry.is_valid
        assert codes(ann) == ["COCO_CROWD"]
    assert rle.decode_counts(rle.encode_counts(counts)) == counts


def test_coco_bad_rle_is_a_finding(profile: Profile) -> None:
    doc = coco_doc(
        [{"id": 1, "image_id": 1, "category_id": 7, "segmentation": {"size": [4, 4], "counts": [3, 2]}}]
    )
    (ann,) = parse(doc, profile)
    assert codes(ann) == ["COCO_BAD_RLE"] and "cover 5 pixels" in ann.issues[0].message


def test_coco_file_is_parsed_once_per_process(profile: Profile, monkeypatch) -> None:
    calls = []
    real = coco.read

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(coco, "read", counting)
    images = [{"id": i, "file_name": f"s{i}.tiff", "width": 10, "height": 10} for i in range(3000)]
    anns = [
        {"id": i, "image_id": i, "category_id": 7, "segmentation": [[0, 0, 5, 0, 5, 5]]} for i in range(3000)
    ]
    data = json.dumps(coco_doc(anns, images)).encode()
    assert len(data) > 256 * 1024
    first = parse_annotation(data, "big.json")
    second = parse_annotation(data, "big.json")
    assert len(calls) == 1 and len(first) == 3000 and first[5] is second[5]
    # the cache holds classes as written: each profile resolves the one parse its own way
    other = profile.model_copy(update={"institution_class_map": {"Seoul-A": {"basal cell carcinoma": "MN"}}})
    other = Profile.model_validate(other.model_dump())
    assert first[5].lesions[0].label is None
    assert resolve_classes(first[5], profile).lesions[0].label == "BCC"
    assert resolve_classes(first[5], other, "Seoul-A").lesions[0].label == "MN"
    assert first[5].lesions[0].label is None and len(calls) == 1


# ---- DSA -----------------------------------------------------------------------------


def test_dsa_shapes(profile: Profile) -> None:
    doc = {
        "annotation": {
            "name": "doc",
            "elements": [
                {
                    "type": "rectangle",
                    "center": [50, 50, 0],
                    "width": 20,
                    "height": 10,
                    "rotation": 0.5,
                    "group": "BCC",
                },
                {"type": "circle", "center": [0, 0], "radius": 10, "label": {"value": "MN"}},
                {
                    "type": "polyline",
                    "points": [[0, 0, 0], [1, 0, 0], [1, 1, 0]],
                    "closed": False,
                    "group": "BCC",
                },
                {"type": "point", "center": [1, 1, 0]},
                {
                    "type": "polyline",
                    "points": [[0, 0], [10, 0], [10, 10], [0, 10]],
                    "closed": True,
                    "holes": [HOLE],
                },
                {"type": "heatmap", "points": []},
            ],
        }
    }
    (ann,) = parse(doc, profile)
    assert ann.format == "dsa"
    rect, circle, poly, _heatmap = ann.lesions
    assert rect.geometry.area == pytest.approx(200) and rect.label == "BCC"
    assert circle.label == "MN" and circle.geometry.area == pytest.approx(math.pi * 100, rel=0.002)
    assert poly.n_holes == 1 and poly.raw_class is None
    assert codes(ann) == [
        "NOT_AN_AREA",
        "NOT_AN_AREA",
        "CLASS_MISSING",
        "CLASS_MISSING",
        "UNSUPPORTED_GEOMETRY",
    ]
    # an open polyline is no lesion: its group is searched as the file's text
    assert ann.properties == {"/annotation/name": "doc", "/annotation/elements/2/group": "BCC"}


# ---- class mapping per institution ----------------------------------------------------


def test_institution_class_map_applies_after_reading(profile: Profile) -> None:
    prof = profile.model_copy(update={"institution_class_map": {"Seoul-A": {"Tumor": "BCC"}}})
    prof = Profile.model_validate(prof.model_dump())
    poly = {"type": "Polygon", "coordinates": [SQUARE]}
    (ann,) = parse([feature(poly, classification="Tumor")], prof)
    assert ann.lesions[0].label is None
    mapped = resolve_classes(ann, prof, "Seoul-A")
    assert mapped.lesions[0].label == "BCC" and ann.lesions[0].label is None
    assert resolve_classes(ann, prof, "Busan-B") is ann


def test_readers_leave_classes_as_written_and_resolution_is_one_step_after(profile: Profile) -> None:
    poly = {"type": "Polygon", "coordinates": [SQUARE]}
    (ann,) = parse_annotation(json.dumps([feature(poly, classification="bcc")]).encode(), "a.json")
    assert [(les.raw_class, les.label) for les in ann.lesions] == [("bcc", None)]
    (resolved,) = resolve_classes([ann], profile)
    assert resolved.lesions[0].label == "BCC" and ann.lesions[0].label is None
    # the resolved lesion is the same lesion otherwise: every other field is carried over
    for f in dataclasses.fields(resolved.lesions[0]):
        if f.name != "label":
            assert getattr(resolved.lesions[0], f.name) is getattr(ann.lesions[0], f.name), f.name


def test_the_item_institution_wins_over_the_one_a_native_file_names(profile: Profile) -> None:
    from tests.helpers import native_doc

    prof = profile.model_copy(
        update={"institution_class_map": {"Seoul-A": {"Tumor": "BCC"}, "Busan-B": {"Tumor": "MN"}}}
    )
    prof = Profile.model_validate(prof.model_dump())
    doc = native_doc([{"class": "Tumor", "geometry": {"type": "Polygon", "coordinates": [SQUARE]}}])
    doc["clinical"]["institution"] = "Seoul-A"
    (ann,) = parse_annotation(json.dumps(doc).encode(), "a.json")
    assert resolve_classes(ann, prof).lesions[0].label == "BCC"  # the file's own institution
    assert resolve_classes(ann, prof, "Busan-B").lesions[0].label == "MN"  # the manifest's
    assert resolve_classes(ann, prof, " ").lesions[0].label == "BCC"  # a blank one is none


HUGE = "1" + "0" * 400  # an integer no float can hold


@pytest.mark.parametrize(
    "doc",
    [
        '{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[BIGNUM,0],[1,1]]]},"properties":{}}',
        '{"images":[{"id":1,"file_name":"a","width":BIGNUM,"height":1}],"annotations":[{"image_id":1,"category_id":1,'
        '"segmentation":[[0,0,BIGNUM,0,1,1]],"bbox":[BIGNUM,0,1,1]}],"categories":[{"id":1,"name":"x"}]}',
        '{"elements":[{"type":"rectangle","center":[BIGNUM,0],"width":1,"height":1},'
        '{"type":"polyline","closed":true,"points":[[0,0],[BIGNUM,1],[1,1]]}]}',
        '<Annotations><Annotation Name="x"><Regions><Region Type="Ellipse" NegativeROA="0"><Vertices>'
        '<V X="inf" Y="0"/><V X="1" Y="1"/></Vertices></Region></Regions></Annotation></Annotations>',
    ],
)
def test_numbers_no_float_can_hold_are_findings(profile: Profile, doc: str) -> None:
    from dqm.model import Item
    from dqm.runner import run_item_checks
    from validators.context import FileStatus, ItemView
    from validators.engine import configure

    doc = doc.replace("BIGNUM", HUGE)
    anns = parse(doc, profile, "h.annotations" if doc.startswith("<") else "a.json")
    found = []
    for ann in anns:
        view = ItemView(
            Item("x", None, "a", {}, None),
            profile,
            ann,
            None,
            FileStatus(None, False),
            FileStatus("a", True),
            False,
        )
        found += run_item_checks(view, configure(profile))
    found_codes = {f.code for f in found} | {i.code for a in anns for i in a.issues}
    assert "CHECK_CRASHED" not in found_codes
    assert found_codes & {"NON_FINITE_COORDINATE", "BAD_VERTEX", "WRONG_TYPE"}


def _slide_findings(ann, profile: Profile, probe_mpp: float = 0.5):
    from dqm.model import Item
    from dqm.runner import run_item_checks
    from dqm.slide_io import virtual_probe
    from validators.context import FileStatus, ItemView
    from validators.engine import configure

    item = Item("S1", "S1.tiff", ann.path, {}, None)
    view = ItemView(
        item,
        profile,
        ann,
        virtual_probe("S1.tiff", 100, 100, mpp_x=probe_mpp, mpp_y=probe_mpp),
        FileStatus("S1.tiff", True),
        FileStatus(ann.path, True),
    )
    checks = [c for c in configure(profile) if c.id in ("format.slide_info", "slide.annotation_agrees")]
    return {f.code: f.location.pointer for f in run_item_checks(view, checks)}


def test_slide_facts_of_foreign_formats_are_located_in_their_own_file(profile: Profile) -> None:
    """An ImageScope or COCO file has no /slide/mpp: a finding must point where the value is."""
    xml = (
        '<Annotations MicronsPerPixel="{mpp}"><Annotation Id="1" Name="BCC"><Regions>'
        '<Region Id="1"><Vertices><Vertex X="1" Y="1"/><Vertex X="9" Y="1"/><Vertex X="9" Y="9"/>'
        "</Vertices></Region></Regions></Annotation></Annotations>"
    )
    (bad,) = parse(xml.format(mpp="-1"), profile, "a.xml")
    assert _slide_findings(bad, profile)["MPP_INVALID"] == "/Annotations/@MicronsPerPixel"
    (other,) = parse(xml.format(mpp="0.25"), profile, "a.xml")
    assert _slide_findings(other, profile)["MPP_MISMATCH"] == "/Annotations/@MicronsPerPixel"
    doc = {
        "images": [{"id": 7, "file_name": "S1.tiff", "width": 0, "height": 50}],
        "annotations": [],
        "categories": [],
    }
    (img,) = parse(doc, profile)
    got = _slide_findings(img, profile)
    assert got["SLIDE_SIZE_INVALID"] == "/images/0/width" and got["SLIDE_SIZE_MISMATCH"] == "/images/0/width"
