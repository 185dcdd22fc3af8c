"""Values an attacker writes: numbers beyond any slide, repeated keys, wide encodings.

Each is a finding at its pointer and enters no arithmetic; none raises.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import shapely

from dqm.readers import MAX_SLIDE_SIDE, MIN_MPP, parse_annotation
from dqm.readers.common import rle
from dqm.readers.common.base import MAX_DUPLICATE_KEYS, count_keys, key_ends
from tests.helpers import native_doc, square, view_of
from validators.engine import configure, run_checks


@pytest.fixture(scope="module")
def checks(profile):
    return configure(profile)


def _read(text: str | bytes):
    data = text.encode() if isinstance(text, str) else text
    (ann,) = parse_annotation(data, "annotations/S1.json")
    return ann


def _codes(profile, checks, doc=None, raw: bytes | None = None) -> list[tuple[str, str | None]]:
    view = view_of(doc if doc is not None else native_doc(), profile, raw=raw)
    return [(f.code, f.location.pointer) for f in run_checks("item", view, checks)]


@pytest.mark.parametrize("digits", [20, 300, 4000])
@pytest.mark.parametrize("key", ["width", "height"])
def test_a_slide_side_beyond_any_slide_is_out_of_range_and_not_used(profile, checks, key, digits):
    text = json.dumps(native_doc()).replace(f'"{key}": ', f'"{key}": ' + "9" * digits, 1)
    ann = _read(text)
    assert getattr(ann, key) is None
    assert ("VALUE_OUT_OF_RANGE", f"/slide/{key}") in _codes(profile, checks, raw=text.encode())


def test_a_slide_side_at_the_limit_is_kept():
    assert _read(json.dumps(native_doc(width=MAX_SLIDE_SIDE))).width == MAX_SLIDE_SIDE


@pytest.mark.parametrize("mpp", [1e300, 1e-300, 5e-4])
def test_a_resolution_beyond_any_slide_is_out_of_range(profile, checks, mpp):
    doc = native_doc(mpp=mpp)
    assert _read(json.dumps(doc)).mpp is None
    assert ("VALUE_OUT_OF_RANGE", "/slide/mpp") in _codes(profile, checks, doc)


@pytest.mark.parametrize("power", [-1, 0, 1e308, 10**400])
def test_an_objective_power_that_is_no_magnification_is_out_of_range(profile, checks, power):
    text = json.dumps(native_doc()).replace('"mpp": ', f'"objective_power": {power}, "mpp": ', 1)
    assert ("VALUE_OUT_OF_RANGE", "/slide/objective_power") in _codes(profile, checks, raw=text.encode())


def test_a_plausible_objective_power_is_read_clean():
    text = json.dumps(native_doc()).replace('"mpp": ', '"objective_power": 40, "mpp": ', 1)
    assert _read(text).issues == []


def test_a_resolution_at_the_lower_limit_is_kept():
    assert _read(json.dumps(native_doc(mpp=MIN_MPP))).mpp == MIN_MPP


def test_an_integer_past_pythons_digit_limit_is_a_type_finding_not_a_crash(profile, checks):
    text = json.dumps(native_doc()).replace('"width": ', '"width": ' + "9" * 5000, 1)
    codes = _codes(profile, checks, raw=text.encode())
    assert ("WRONG_TYPE", "/slide/width") in codes
    assert all(code != "CHECK_CRASHED" for code, _ in codes)


@pytest.mark.parametrize("far", [1e300, -1e12, 2.0**31 + 1])
def test_far_vertices_are_out_of_range_and_get_no_area(profile, checks, far):
    doc = native_doc(
        [
            {
                "class": "BCC",
                "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [far, 0], [far, far], [0, 0]]]},
            }
        ]
    )
    lesion = view_of(doc, profile).annotation.lesions[0]
    assert lesion.geometry is None and math.isfinite(lesion.area)
    found = _codes(profile, checks, doc)
    assert ("COORDINATE_OUT_OF_RANGE", "/lesions/0/geometry") in found
    assert "NON_FINITE_COORDINATE" not in {code for code, _ in found}


def test_a_far_and_an_infinite_vertex_are_each_reported(profile, checks):
    ring = [[0, 0], [1e300, 0], [1e300, 1e300], [0, float("inf")], [0, 0]]
    doc = native_doc([{"class": "BCC", "geometry": {"type": "Polygon", "coordinates": [ring]}}])
    raw = json.dumps(doc).encode()  # Infinity: the standard library writes it, the reader accepts it
    codes = {code for code, _ in _codes(profile, checks, raw=raw)}
    assert {"COORDINATE_OUT_OF_RANGE", "NON_FINITE_COORDINATE"} <= codes


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ('"format": "dqm.annotation/1"', '"format": "dqm.annotation/1", "format": "evil"', "/format"),
        ('"width": 4096', '"width": 4096, "width": 4096', "/slide/width"),  # same value: still repeated
        ('"id": 1', '"id": 1, "id": 2', "/lesions/0/id"),
        ('"age": ', '"age": 1, "age": ', "/clinical/age"),
    ],
)
def test_a_repeated_key_is_a_finding_with_its_pointer(profile, checks, old, new, where):
    text = json.dumps(native_doc())
    assert old in text
    raw = text.replace(old, new, 1).encode()
    assert ("DUPLICATE_KEY", where) in _codes(profile, checks, raw=raw)


def test_a_repeated_key_in_a_nested_object_and_a_key_with_a_slash():
    doc = native_doc()
    doc["lesions"][0]["properties"] = {"a/b": {"k": 1}}
    text = json.dumps(doc).replace('"k": 1', '"k": 1, "k": 2')
    ann = _read(text)
    assert [(i.code, i.pointer) for i in ann.issues] == [("DUPLICATE_KEY", "/lesions/0/properties/#1/#1")]
    assert ann.lesions[0].properties == {"a/b": {"k": 2}}  # the last value, as every JSON reader keeps


def test_repeated_keys_past_the_limit_are_counted_in_one_issue():
    """Fourteen bytes an object made one finding an object: 2.8 MB took 87 s and 1.35 GB."""
    doc = native_doc()
    doc["lesions"][0]["properties"] = {"x": "LIST"}
    n = MAX_DUPLICATE_KEYS + 500
    text = json.dumps(doc).replace('"LIST"', "[" + ",".join(['{"a": 0, "a": 1}'] * n) + "]")
    issues = [i for i in _read(text).issues if i.code == "DUPLICATE_KEY"]
    assert len(issues) == MAX_DUPLICATE_KEYS + 1
    assert issues[-1].message.startswith("500 more keys from here on")
    assert issues[-1].pointer == f"/lesions/0/properties/#1/{MAX_DUPLICATE_KEYS}/#1"


def test_a_clean_file_is_read_in_the_fast_pass():
    assert _read(json.dumps(native_doc())).document is None


def test_colons_in_strings_cost_the_exact_check_but_make_no_finding():
    doc = native_doc()
    doc["clinical"]["note"] = 'quoted \\": and ": inside'
    ann = _read(json.dumps(doc))
    assert ann.issues == []
    assert ann.clinical["note"] == doc["clinical"]["note"]


def test_key_count_never_undercounts_the_text():
    doc = {"a": [[1, 2], [3, 4]], "b": [{"c": 1, "d": [[{"e": 1}]]}], "f": 'x": y'}
    assert count_keys(doc) == 6
    assert count_keys({"a": [[1, {"x": 1}]]}) == 1  # not walked: only sends parse_json to the exact check
    assert key_ends(json.dumps(doc).encode()) >= count_keys(doc)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-be"])
def test_wide_json_is_read_as_json_with_an_encoding_finding(profile, checks, codec):
    raw = json.dumps(native_doc()).encode(codec)
    ann = _read(raw)
    assert ann.format == "native" and len(ann.lesions) == 2
    codes = _codes(profile, checks, raw=raw)
    assert [c for c, _ in codes] == ["INVALID_ENCODING"]


def test_wide_xml_still_goes_to_the_xml_reader():
    raw = '<?xml version="1.0" encoding="UTF-16"?><Annotations></Annotations>'.encode("utf-16")
    assert _read(raw).format != "native"


def test_a_broken_wide_file_is_an_encoding_finding():
    raw = b"\xff\xfe" + json.dumps(native_doc()).encode("utf-16-le")[:-1]
    assert [i.code for i in _read(raw).issues] == ["INVALID_ENCODING"]


def test_a_square_in_range_still_has_its_area(profile):
    doc = native_doc(
        [{"class": "BCC", "geometry": {"type": "Polygon", "coordinates": [square(10, 10, 100)]}}]
    )
    assert view_of(doc, profile).annotation.lesions[0].area == 10_000


@pytest.mark.parametrize(
    ("seg", "why"),
    [
        ({"size": [200_000, 200_000], "counts": [0, 40_000_000_000]}, "decoded-area limit"),
        ({"size": [10**30, 1], "counts": [0, 10**30]}, "beyond any slide"),
        ({"size": [4, 4], "counts": [0, 10**30, 0]}, "too long to be real"),
        ({"size": [4, 4], "counts": "0" + chr(200)}, "outside the RLE alphabet"),
        ({"size": [4, 4], "counts": "o"}, "middle of a number"),
        ({"size": [4, 4], "counts": "oooooooooooooooo0"}, "too long to be real"),
        ({"size": [1, 1_000_001], "counts": [0, 1_000_001]}, "column pieces"),
    ],
)
def test_an_rle_over_a_cap_is_refused_before_anything_is_drawn(seg, why):
    with pytest.raises(rle.RLEError, match=why):
        rle.rle_polygons(seg)


def test_the_decoded_area_cap_is_a_parameter():
    seg = {"size": [10, 10], "counts": [0, 50, 50]}
    assert rle.rle_polygons(seg, max_pixels=50)
    with pytest.raises(rle.RLEError, match="limit of 49"):
        rle.rle_polygons(seg, max_pixels=49)


def test_an_rle_bomb_in_a_coco_file_is_a_finding_at_its_pointer():
    doc = {
        "images": [{"id": 1, "file_name": "S1.tiff", "width": 200_000, "height": 200_000}],
        "categories": [{"id": 1, "name": "BCC"}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "segmentation": {"size": [200_000, 200_000], "counts": [0, 40_000_000_000]},
            }
        ],
    }
    (ann,) = parse_annotation(json.dumps(doc).encode(), "annotations/S1.json")
    assert [(i.code, i.pointer) for i in ann.issues] == [("LIMIT_EXCEEDED", "/annotations/0/segmentation")]
    assert "over limits.rle_pixels" in ann.issues[0].message


@pytest.mark.parametrize("seed", range(20))
def test_the_vectorised_rle_outlines_exactly_the_foreground(seed):
    rng = np.random.default_rng(seed)
    h, w = (int(v) for v in rng.integers(1, 15, 2))
    mask = rng.random((h, w)) < rng.random()
    counts, current, n = [], False, 0
    for value in mask.T.ravel():  # COCO runs go down each column, 0s first
        if value != current:
            counts.append(n)
            current, n = value, 0
        n += 1
    counts.append(n)
    for value in (counts, rle.encode_counts(counts)):
        polygons = rle.rle_polygons({"size": [h, w], "counts": value})
        area = sum(shapely.Polygon(p[0], p[1:]).area for p in polygons)
        assert area == mask.sum()


def test_a_repeated_key_with_blanks_before_its_colon_is_found():
    text = json.dumps(native_doc(), separators=(",", " \n: ")).replace(
        '"age" \n: ', '"age" : 1, "age"\t: ', 1
    )
    age = (
        f"/clinical/#{list(native_doc()['clinical']).index('age') + 1}"  # the reader names it by its position
    )
    assert ("DUPLICATE_KEY", age) in [(i.code, i.pointer) for i in _read(text).issues]


def test_an_xml_files_declared_encoding_is_named_as_python_names_it() -> None:
    """``encoding="UTF-8"`` is UTF-8: named ``utf-8``, so an XML file's notes are searched in its own
    bytes, not decoded and encoded again whole (it was, for most files, for the spelling)."""
    from dqm.readers.common.xmltree import xml_encoding

    declared = b'<?xml version="1.0" encoding="%s"?><a/>'
    assert [xml_encoding(declared % name) for name in (b"UTF-8", b"Latin-1", b"US-ASCII")] == [
        "utf-8",
        "iso8859-1",
        "ascii",
    ]


def test_unknown_keys_past_the_cap_are_counted_by_the_reader_in_one_issue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """2,000,000 unknown keys (25 MB) made 2,000,000 issues, each with its message and masked
    name, before the run's cap cut them to 1,000: the reader counts the rest itself."""
    import dqm.readers.common.base

    monkeypatch.setattr(dqm.readers.common.base, "MAX_ISSUES_PER_CODE", 3)
    doc = native_doc()
    doc.update({f"extra{k}": k for k in range(8)})
    ann = _read(json.dumps(doc))
    unknown = [i for i in ann.issues if i.code == "UNKNOWN_KEY"]
    assert [i.pointer for i in unknown] == ["/#1", "/#2", "/#3", "/#4"]  # names masked
    assert [i.counted for i in unknown] == [0, 0, 0, 5]
    assert unknown[-1].counted_values == 4
    assert unknown[-1].message.startswith("5 more UNKNOWN_KEY in this file from here on")


@pytest.mark.parametrize("limit", [900, 1050, 5000])
def test_counted_issues_past_the_cap_follow_lesions_per_file(limit: int) -> None:
    """The reader's count past the cap once carried the lesion of its first issue and counted root
    issues with lesion issues: a lower ``lesions_per_file`` dropped the root's unknown keys with
    it (1,500 never reported at 900), or counted issues of lesions not checked. The figures are
    those of the issues one by one, whatever the limit."""
    from dqm.profile import Limits
    from dqm.readers import within_limits

    n = 1100
    lesions = [
        {"id": k, "class": 5, "zz": 1, "geometry": {"type": "Polygon", "coordinates": [square(10, 10, 5)]}}
        for k in range(n)
    ]
    doc = native_doc(lesions=lesions)
    doc.update({f"patient{k}": k for k in range(n)})
    issues = within_limits(_read(json.dumps(doc)), Limits(lesions_per_file=limit)).issues
    issues = [i for i in issues if i.code != "LIMIT_EXCEEDED"]
    total: dict[str, int] = {}
    for i in issues:
        total[i.code] = total.get(i.code, 0) + (i.counted or 1)
    checked = min(limit, n)
    assert total == {"UNKNOWN_KEY": n + checked, "WRONG_TYPE": checked}  # the root's n keys too
    assert len({i.pointer for i in issues}) + sum(i.counted_values for i in issues) == n + 2 * checked


@pytest.mark.parametrize("limit", [10, 39, 100])
def test_the_readers_count_past_the_cap_is_one_issue_a_code_split_by_lesion(
    monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    """The count past the cap was one issue a lesion, each with its message and masked name
    (100,000 lesions with one unknown key: 100,000 issues, 12.5 -> 17.5 s CPU): it is one issue
    a code whose tally by lesion ``within_limits`` trims, with the same figures."""
    import dqm.readers.common.base
    from dqm.profile import Limits
    from dqm.readers import within_limits

    monkeypatch.setattr(dqm.readers.common.base, "MAX_ISSUES_PER_CODE", 3)
    n = 40
    lesions = [
        {"id": k, "class": 5, "zz": 1, "geometry": {"type": "Polygon", "coordinates": [square(10, 10, 5)]}}
        for k in range(n)
    ]
    doc = native_doc(lesions=lesions)
    doc.update({f"patient{k}": k for k in range(5)})
    ann = _read(json.dumps(doc))
    unknown = [i for i in ann.issues if i.code == "UNKNOWN_KEY"]
    assert [i.counted for i in unknown] == [0, 0, 0, n + 5 - 3]
    assert "patient" not in unknown[-1].pointer  # names masked
    issues = within_limits(ann, Limits(lesions_per_file=limit)).issues
    unknown = [i for i in issues if i.code == "UNKNOWN_KEY"]
    checked = min(limit, n)
    assert sum(i.counted or 1 for i in unknown) == 5 + checked
    assert len({i.pointer for i in unknown}) + sum(i.counted_values for i in unknown) == 5 + checked
    assert unknown[-1].message.startswith(f"{5 + checked - 3} more UNKNOWN_KEY in this file")


@pytest.mark.parametrize("marks", [1, 2, 5])
def test_a_file_with_several_utf8_byte_order_marks_is_read_with_one_finding(marks: int) -> None:
    """Two BOMs (a file saved twice by an editor that adds one) made the file UNKNOWN_FORMAT."""
    ann = _read(b"\xef\xbb\xbf" * marks + json.dumps(native_doc()).encode())
    assert ann.format == "native" and ann.readable
    assert [i.code for i in ann.issues] == ["UTF8_BOM"]


@pytest.mark.parametrize("limit", [1, 2, 100])
def test_a_count_past_the_cap_says_how_many_are_listed(monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
    """The reader's count said "(the first 3 are reported one by one)" after ``lesions_per_file``
    had dropped some of those 3 with their lesions: it names as many as are listed."""
    import dqm.readers.common.base
    from dqm.profile import Limits
    from dqm.readers import within_limits

    monkeypatch.setattr(dqm.readers.common.base, "MAX_ISSUES_PER_CODE", 3)
    lesions = [
        {
            "id": k,
            "class": "BCC",
            "zz": 1,
            "geometry": {"type": "Polygon", "coordinates": [square(10, 10, 5)]},
        }
        for k in range(40)
    ]
    doc = native_doc(lesions=lesions)
    doc.update({f"patient{k}": k for k in range(5)})
    issues = within_limits(_read(json.dumps(doc)), Limits(lesions_per_file=limit)).issues
    unknown = [i for i in issues if i.code == "UNKNOWN_KEY"]
    listed = [i for i in unknown if not i.counted]
    (count,) = [i for i in unknown if i.counted]
    assert f"(the first {len(listed)} are reported one by one)" in count.message, (len(listed), count.message)
    assert count.counted + len(listed) == 5 + min(limit, 40)
