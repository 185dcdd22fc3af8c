"""De-identification: patterns, masking, the four deid checks, and no identifier in the outputs."""

from __future__ import annotations

import csv
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from dqm.findings import Severity
from dqm.identifiers import DeidSettings, find, mask, valid_rrn
from dqm.model import Annotation, Item, Lesion
from dqm.profile import Profile, load_profile
from dqm.runner import run_item_checks
from dqm.slide_io import virtual_probe
from validators.context import FileStatus, ItemView
from validators.engine import configure

SETTINGS = DeidSettings()


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("RRN 900101-1234567", "korean_rrn"),
        ("주민등록번호: 020229-3123456", "korean_rrn"),  # 2002 is not a leap year... see below
        ("SSN 123-45-6789", "us_ssn"),
        ("DOB: 1990-01-02", "date_of_birth"),
        ("생년월일 19900102", "date_of_birth"),
        ("MRN: 12345678", "hospital_record_number"),
        ("병록번호 00123456", "hospital_record_number"),
        ("Patient name: Hong Gildong", "person_name"),
        ("환자명: 홍길동", "person_name"),
        ("call 010-1234-5678", "phone_number"),
        ("item-010-1234-5678", "phone_number"),  # after a letter and "-": a report anchor, a slide id
        ("S_010-1234-5678.svs", "phone_number"),
        ("item-123-45-6789", "us_ssn"),
        ("dr.kim@hospital.ac.kr", "email"),
    ],
)
def test_identifier_patterns(text: str, name: str) -> None:
    hits = find(text, SETTINGS, "annotation")
    if text.startswith("주민"):
        assert hits == []  # 2002-02-29 does not exist: not a registration number
        return
    assert [h.name for h in hits] == [name]


def test_rrn_birth_date_and_gender_digit_are_checked() -> None:
    assert valid_rrn("900101-1234567") and valid_rrn("040229-3123456")  # 2004 is a leap year
    assert not valid_rrn("901301-1234567")  # month 13
    assert not valid_rrn("900101-9234567")  # gender digit 9
    assert not valid_rrn("900101-123456")


@pytest.mark.parametrize(
    "text",
    [
        "1.3.6.1.4.1.5962.99.1.1747645553.419656796.1689669825649.3.0",  # DICOM UID
        "Aperio Image Library v11.2.1 46000x32914 [42673,5576 2220x2967] (240x240) JPEG/RGB Q=30",
        "b414003d-95c6-48b0-9369-8010ed517ba7",  # Aperio User GUID
        "TCGA-EJ-5519-01Z-00-DX1",
        "P000123",
        "2022-03-13",  # an acquisition date in the clinical table is not a birth date
        "S00001",
        "Annotation 12",
        "Cortical White Matter",
        "12345678",  # a bare number, without a keyword, outside an identifying field
    ],
)
def test_no_false_positives_on_real_metadata(text: str) -> None:
    for place in ("slide", "annotation", "clinical"):
        assert find(text, SETTINGS, place) == []


def test_dates_are_only_looked_for_in_file_names() -> None:
    assert [h.name for h in find("BEST2 CAM 0007 HE - 2020-11-11 16.28.24.xml", SETTINGS, "filename")] == [
        "date_in_filename"
    ]
    assert find("2020-11-11", SETTINGS, "annotation") == []


def test_mask_shows_two_characters_at_most() -> None:
    assert mask("900101-1234567") == "90************"
    assert mask("홍길동") == "***" and mask("") == ""


def test_profile_adds_and_turns_off_patterns(tmp_path: Path) -> None:
    text = (
        Path(load_profile.__code__.co_filename)
        .parent.joinpath("profiles", "dermatopathology.yaml")
        .read_text()
    )
    text += "\n" if not text.endswith("\n") else ""
    custom = text.replace(
        "  patterns:\n",
        "  patterns:\n    hospital_id: {regex: 'H-\\d{6}', what: hospital id}\n    email: {enabled: false}\n",
        1,
    )
    path = tmp_path / "p.yaml"
    path.write_text(custom)
    prof = load_profile(path)
    assert [h.name for h in find("ref H-123456", prof.deid, "annotation")] == ["hospital_id"]
    assert find("a@b.org", prof.deid, "annotation") == []
    assert [h.name for h in find("RRN 900101-1234567", prof.deid, "annotation")] == ["korean_rrn"]


def view_of(profile: Profile, **kw) -> ItemView:
    item = kw.pop("item", Item("s1", "slides/s1.svs", "ann/s1.json", {}, None))
    return ItemView(
        item,
        profile,
        kw.pop("annotation", None),
        kw.pop("slide", None),
        FileStatus(item.image_path, True),
        FileStatus(item.annotation_path, True),
    )


def deid_findings(view: ItemView):
    return [f for f in run_item_checks(view, configure(view.profile)) if f.check.startswith("deid.")]


SECRETS = ("Gildong", "900101-1234567", "1234567", "Minsu", "19900102", "1990-01-02")


def assert_masked(findings) -> None:
    text = json.dumps([f.model_dump(mode="json") for f in findings], ensure_ascii=False)
    for secret in SECRETS:
        assert secret not in text


_XMP = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>'
    b'<rdf:Description xmp:CreateDate="2021-03-04T10:11:12" xmp:CreatorTool="TOOL"/></rdf:RDF>'
    b'</x:xmpmeta><?xpacket end="w"?>'
)


@pytest.mark.parametrize(
    ("tool", "codes"),
    [
        ("Adobe Photoshop 22.0", []),
        ("Patient name: Hong Gildong, 900101-1234567", ["DEID_SLIDE_IDENTIFIER", "DEID_SLIDE_IDENTIFIER"]),
    ],
)
def test_a_tiffs_xmp_packet_is_searched_for_identifiers(
    tmp_path: Path, profile: Profile, tool: str, codes: list[str]
) -> None:
    """A TIFF's XMP packet (tag 700), which OpenSlide does not show, was never searched: a patient
    an editor or scanner wrote there passed the de-identification checks in silence."""
    import tifffile

    from dqm.slide_io import ProbeOptions, probe_slide

    xmp = _XMP.replace(b"TOOL", tool.encode())
    path = tmp_path / "s1.tiff"
    pixels = np.random.default_rng(0).integers(0, 255, (512, 512, 3), dtype=np.uint8)
    tifffile.imwrite(
        path, pixels, tile=(256, 256), photometric="rgb", extratags=[(700, "B", len(xmp), xmp, True)]
    )
    probe = probe_slide(path, "slides/s1.tiff", ProbeOptions(artefacts=False))
    found = [
        f
        for f in deid_findings(view_of(profile, slide=probe))
        if f.location.pointer == "/properties/tiff.XMP"
    ]
    assert [f.code for f in found] == codes
    assert_masked(found)


def test_slide_properties(profile: Profile) -> None:
    probe = virtual_probe(
        "slides/s1.svs",
        properties={
            "aperio.ImageDescription": "Aperio Image Library; Patient name: Hong Gildong; 900101-1234567",
            "dicom.PatientID": "12345678",
            "dicom.PatientName": "^^^^",
            "dicom.ContributingEquipmentSequence[0].InstitutionName": "PixelMed",
            "aperio.Date": "12/29/09",
            "aperio.User": "b414003d-95c6-48b0-9369-8010ed517ba7",
            "openslide.vendor": "aperio",
        },
    )
    found = deid_findings(view_of(profile, slide=probe))
    by_code = sorted((f.code, f.location.pointer) for f in found)
    assert by_code == [
        ("DEID_SLIDE_IDENTIFIER", "/properties/aperio.ImageDescription"),
        ("DEID_SLIDE_IDENTIFIER", "/properties/aperio.ImageDescription"),
        ("DEID_SLIDE_IDENTIFIER", "/properties/dicom.PatientID"),
        ("DEID_SLIDE_QUASI", "/properties"),
    ]
    quasi = next(f for f in found if f.code == "DEID_SLIDE_QUASI")
    assert quasi.severity == Severity.WARNING
    assert (
        "aperio.Date" in quasi.message
        and "InstitutionName" in quasi.message
        and "PatientName" not in quasi.message
    )
    assert all(f.location.file == "slides/s1.svs" for f in found)
    assert_masked(found)


def test_file_names(profile: Profile) -> None:
    item = Item("s1", "slides/900101-1234567 HE.svs", "ann/HE - 2020-11-11.xml", {}, None)
    found = deid_findings(view_of(profile, item=item))
    # the date alone is the delivery's one count (``deid.file_name_dates``), not a warning a file
    assert sorted((f.code, f.location.file) for f in found) == [
        ("DEID_FILENAME_IDENTIFIER", "slides/900101-1234567 HE.svs"),
    ]
    assert "90************" in found[0].message


def test_annotation_properties(profile: Profile) -> None:
    ring = np.array([[0, 0], [10, 0], [10, 10]], float)
    lesions = [
        Lesion.build(
            0,
            "/features/0",
            "BCC",
            "BCC",
            [[ring]],
            {"name": "Patient name: Kim Minsu", "Patient_Name": "Kim"},
        ),
        Lesion.build(
            1,
            "/ASAP_Annotations/Annotations/Annotation[2]",
            "BCC",
            "BCC",
            [[ring]],
            {"Name": "DOB: 1990-01-02"},
        ),
        Lesion.build(
            2, "/features/2", "BCC", "BCC", [[ring]], {"measurements": {"Area": 1.0}, "name": "tumour 2"}
        ),
    ]
    ann = Annotation(
        "ann/s1.json",
        "qupath",
        lesions=[lesions[0], lesions[2]],
        properties={"/annotation/description": "call 010-1234-5678"},
    )
    found = deid_findings(view_of(profile, annotation=ann))
    assert sorted((f.code, f.location.pointer, f.location.lesion) for f in found) == [
        ("DEID_ANNOTATION_IDENTIFIER", "/features/0/properties/Patient_Name", 0),
        ("DEID_ANNOTATION_IDENTIFIER", "/features/0/properties/name", 0),
        ("DEID_ANNOTATION_QUASI", "/annotation/description", None),
    ]
    asap = Annotation("a.xml", "asap", lesions=[lesions[1]])
    (finding,) = deid_findings(view_of(profile, annotation=asap))
    assert finding.location.pointer == "/ASAP_Annotations/Annotations/Annotation[2]/@Name"
    assert_masked([*found, finding])


def test_clinical_record(profile: Profile) -> None:
    record = {
        "institution": "Seoul-A",
        "patient_id": "12345678",
        "patient_name": "Kim Minsu",
        "notes": "DOB: 1990-01-02",
        "acquired_on": "2022-03-13",
    }
    item = Item("s1", "slides/s1.svs", "ann/s1.json", record, row=4)
    found = deid_findings(view_of(profile, item=item))
    assert sorted((f.code, f.location.column, f.location.row) for f in found) == [
        ("DEID_CLINICAL_IDENTIFIER", "#3", 4),  # columns the profile does not declare: by position
        ("DEID_CLINICAL_IDENTIFIER", "#4", 4),
        ("DEID_CLINICAL_QUASI", "patient_id", 4),
    ]
    assert any("column 'patient_name' names a person" in f.message for f in found)  # a plain word
    assert_masked(found)
    pseudonym = Item(
        "s2", None, None, {**record, "patient_id": "P000123", "patient_name": "", "notes": ""}, row=5
    )
    assert deid_findings(view_of(profile, item=pseudonym)) == []


def test_disabled_deid_reports_nothing(profile: Profile) -> None:
    off = Profile.model_validate({**profile.model_dump(), "deid": {"enabled": False}})
    item = Item("s1", "slides/900101-1234567.svs", None, {"notes": "MRN 12345678"}, row=1)
    assert (
        deid_findings(view_of(off, item=item, slide=virtual_probe(properties={"aperio.Date": "1/1/09"})))
        == []
    )


@pytest.mark.slow
def test_no_identifier_reaches_results_or_report(tmp_path: Path, profile: Profile) -> None:
    """A batch full of identifiers: the findings point at them, results.json and report.html
    never contain them in full."""
    import tifffile

    from dqm.audit import build_result
    from dqm.runner import RunOptions, run_batch
    from reports import write_outputs

    batch = tmp_path / "batch"
    (batch / "slides").mkdir(parents=True)
    rgb = np.full((64, 64, 3), 230, np.uint8)
    rgb[16:48, 16:48] = (200, 120, 180)
    tifffile.imwrite(
        batch / "slides" / "s1.tiff",
        rgb,
        tile=(32, 32),
        description="Patient name: Hong Gildong RRN 900101-1234567",
        resolution=(20000, 20000),
        resolutionunit="CENTIMETER",
        metadata=None,
    )
    ann = {
        "slide": {"file": "s1.tiff", "width": 64, "height": 64},
        "lesions": [
            {
                "class": "BCC",
                "geometry": {"type": "Polygon", "coordinates": [[[20, 20], [40, 20], [40, 40], [20, 40]]]},
                "properties": {"note": "DOB: 1990-01-02"},
            }
        ],
        "clinical": {},
    }
    (batch / "s1.json").write_text(json.dumps(ann))
    with (batch / "manifest.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "slide_id",
                "image_path",
                "annotation_path",
                "institution",
                "diagnosis",
                "age",
                "sex",
                "site",
                "patient_id",
                "patient_name",
            ]
        )
        w.writerow(
            ["s1", "slides/s1.tiff", "s1.json", "Seoul-A", "BCC", "50", "F", "trunk", "19900102", "Kim Minsu"]
        )
    run = run_batch(batch, profile, RunOptions(workers=1))
    codes = sorted(f.code for f in run.findings if f.check.startswith("deid."))
    assert codes == [
        "DEID_ANNOTATION_IDENTIFIER",
        "DEID_CLINICAL_IDENTIFIER",
        "DEID_CLINICAL_QUASI",
        "DEID_SLIDE_IDENTIFIER",
        "DEID_SLIDE_IDENTIFIER",
    ]
    paths = write_outputs(build_result(run, ["dqm", "audit"]), tmp_path / "out")
    for path in paths.values():
        text = path.read_text(encoding="utf-8")
        for secret in SECRETS:
            assert secret not in text, (path.name, secret)


def minimal_result(slide):
    from dqm.results import BatchInfo, ItemSummary, ProfileInfo, QualityResult, Verdict

    return QualityResult(
        dqm_version="0",
        created="2026-01-01T00:00:00+00:00",
        batch=BatchInfo(path="b", fingerprint="f", n_items=1, n_slide_files=1, n_annotation_files=0),
        profile=ProfileInfo(name="p", version="1", sha256="0" * 64),
        items=[ItemSummary(slide_id="s1", slide=slide)],
        findings=[],
        verdict=Verdict(status="incomplete"),
    )


def test_label_thumbnails_show_only_when_present() -> None:
    from dqm.results import SlideSummary
    from reports import render_html

    plain = minimal_result(None)
    with_label = minimal_result(
        SlideSummary(width=10, height=10, label_thumbnail="data:image/jpeg;base64,AAAA")
    )
    assert 'id="labels"' not in render_html(plain)
    html = render_html(with_label)
    assert 'id="labels"' in html and 'src="data:image/jpeg;base64,AAAA"' in html
    assert "style=" not in html


def test_closed_domain_values_are_not_searched_but_values_outside_them_are(profile: Profile) -> None:
    clean = {"sex": "F", "site": "trunk", "age": "61", "diagnosis": "melanoma", "acquired_on": "2021-06-01"}
    item = Item("s1", "slides/s1.svs", "ann/s1.json", clean, row=2)
    assert deid_findings(view_of(profile, item=item)) == []
    # an identifier typed into a closed field is outside its domain, so it is searched and found
    leaked = {**clean, "sex": "RRN 900101-1234567", "site": "patient Kim Minsu"}
    found = deid_findings(view_of(profile, item=Item("s2", None, None, leaked, row=3)))
    assert {f.location.column for f in found} >= {"sex"}
    assert_masked(found)


def _label_tiff(path: Path, label: str, *, bigtiff: bool = False, stripped: bool = False) -> None:
    """A slide of a main page and a small label page whose ImageDescription is ``label``, as a
    vendor writes it (the accession number, the patient); the main page carries no identifier."""
    import tifffile

    rng = np.random.default_rng(0)
    with tifffile.TiffWriter(path, bigtiff=bigtiff) as tw:
        tile = None if stripped else (256, 256)
        tw.write(rng.integers(0, 255, (512, 512, 3), dtype=np.uint8), tile=tile, description="scan")
        tw.write(
            rng.integers(0, 255, (64, 96, 3), dtype=np.uint8),
            description=label,
            extratags=[(285, "s", 0, "label page", True)],
        )


@pytest.mark.parametrize(("bigtiff", "stripped"), [(False, False), (True, False), (False, True)])
def test_a_label_pages_description_is_searched_for_identifiers(
    tmp_path: Path, profile: Profile, bigtiff: bool, stripped: bool
) -> None:
    """Only the main page's tags (and, since round 3, its XMP) were searched: an identifier a vendor
    writes into the label or macro page's ImageDescription, or any other text tag of a page past
    the first, passed the de-identification checks in silence (a stripped TIFF, opened by Pillow,
    showed none of its tags at all)."""
    from dqm.slide_io import ProbeOptions, probe_slide

    path = tmp_path / "s1.tiff"
    _label_tiff(
        path, "label 96x64\nPatient name: Hong Gildong, 900101-1234567", bigtiff=bigtiff, stripped=stripped
    )
    probe = probe_slide(path, "slides/s1.tiff", ProbeOptions(artefacts=False))
    found = [
        (f.code, f.location.pointer)
        for f in deid_findings(view_of(profile, slide=probe))
        if f.code == "DEID_SLIDE_IDENTIFIER"
    ]
    assert found == [("DEID_SLIDE_IDENTIFIER", "/properties/tiff.page1.ImageDescription")] * 2
    assert probe.properties["tiff.page1.PageName"] == "label page"
    assert_masked(deid_findings(view_of(profile, slide=probe)))


def _plain_image(path: Path, fmt: str, text: str) -> None:
    """A plain PNG or JPEG slide carrying ``text`` where editors and cameras write it: a PNG's
    tEXt, zTXt and iTXt chunks; a JPEG's comment and EXIF ImageDescription and UserComment."""
    from PIL import Image, PngImagePlugin

    img = Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    if fmt == "png":
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", text + " (1)")
        info.add_text("Author", text + " (2)", zip=True)
        info.add_itxt("Description", text + " (3)", lang="ko")
        img.save(path, pnginfo=info)
        return
    exif = Image.Exif()
    exif[270] = text + " (1)"
    exif.get_ifd(0x8769)[37510] = b"UNICODE\x00" + (text + " (2)").encode("utf-16-be")
    img.save(path, exif=exif, comment=(text + " (3)").encode())


@pytest.mark.parametrize(
    ("fmt", "keys"),
    [
        ("png", ["png.Author", "png.Comment", "png.Description"]),
        ("jpg", ["exif.ImageDescription", "exif.UserComment", "jpeg.comment"]),
    ],
)
def test_a_plain_images_text_is_searched_for_identifiers(
    tmp_path: Path, profile: Profile, fmt: str, keys: list[str]
) -> None:
    """A plain image slide showed only its format and mode: a name and an RRN in a PNG's text
    chunks or a JPEG's comment and EXIF passed the de-identification checks in silence."""
    from dqm.slide_io import ProbeOptions, probe_slide

    path = tmp_path / f"s1.{fmt}"
    _plain_image(path, fmt, "Patient name: Hong Gildong, 900101-1234567")
    probe = probe_slide(path, f"slides/s1.{fmt}", ProbeOptions(artefacts=False))
    found = deid_findings(view_of(profile, slide=probe))
    pointers = sorted({f.location.pointer for f in found if f.code == "DEID_SLIDE_IDENTIFIER"})
    assert pointers == [f"/properties/{key}" for key in keys]
    assert_masked(found)


@pytest.mark.parametrize(("width", "height"), [(100_000_000, 1), (100_000, 100_000)])  # dqm's limit; Pillow's
def test_a_plain_image_too_large_to_decode_has_its_text_searched(
    tmp_path: Path, profile: Profile, width: int, height: int
) -> None:
    """A PNG of a few bytes declaring width x height pixels is refused before a pixel is decoded; its
    text chunks were not read either, so a name and an RRN in them passed de-identification."""
    import struct
    import zlib

    from dqm.slide_io import ProbeOptions, probe_slide

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path = tmp_path / "s1.png"
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"tEXt", b"Comment\x00Patient name: Hong Gildong, 900101-1234567")
        + chunk(b"IDAT", zlib.compress(b"\x00" * 4096))
        + chunk(b"IEND", b"")
    )
    probe = probe_slide(path, "slides/s1.png", ProbeOptions(artefacts=False))
    assert not probe.opened and "too large" in (probe.open_error or "")
    found = deid_findings(view_of(profile, slide=probe))
    assert {f.location.pointer for f in found if f.code == "DEID_SLIDE_IDENTIFIER"} == {
        "/properties/png.Comment"
    }
    assert_masked(found)


def _png(path: Path, width: int, height: int, after: bytes, end: bytes = b"") -> Path:
    """A PNG of ``width`` x ``height`` pixels whose ``after`` chunks come after its pixels (IDAT),
    then ``end`` (an IEND chunk where not given)."""
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 4096))
        + after
        + (end or _chunk(b"IEND", b""))
    )
    return path


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


_RRN_TEXT = b"Patient 900101-1234567"
_EXIF = (  # a big-endian TIFF header and one IFD: ImageDescription, 23 bytes at offset 26
    b"MM\x00*\x00\x00\x00\x08\x00\x01\x01\x0e\x00\x02\x00\x00\x00\x17\x00\x00\x00\x1a\x00\x00\x00\x00"
    + _RRN_TEXT
    + b"\x00"
)


@pytest.mark.parametrize(
    ("chunk", "key"),
    [
        (_chunk(b"tEXt", b"Comment\x00" + _RRN_TEXT), "png.Comment"),
        (_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(_RRN_TEXT)), "png.Comment"),
        (_chunk(b"iTXt", b"Comment\x00\x01\x00en\x00\x00" + zlib.compress(_RRN_TEXT)), "png.Comment"),
        (_chunk(b"eXIf", _EXIF), "exif.ImageDescription"),
    ],
)
@pytest.mark.parametrize(("width", "height"), [(100_000_000, 1), (100_000, 100_000)])  # dqm's limit; Pillow's
def test_a_png_too_large_to_decode_has_its_text_past_its_pixels_searched(
    tmp_path: Path, profile: Profile, chunk: bytes, key: str, width: int, height: int
) -> None:
    """Pillow reads a PNG's chunks after its pixels only as it decodes them, which a refused image
    never is: an RRN in a text or EXIF chunk there gave no finding and no notice. They are walked
    to, the pixels skipped by their length."""
    from dqm.slide_io import ProbeOptions, probe_slide

    path = _png(tmp_path / "s1.png", width, height, _chunk(b"IDAT", b"\x00" * 64) + chunk)
    probe = probe_slide(path, "slides/s1.png", ProbeOptions(artefacts=False))
    assert not probe.opened and "too large" in (probe.open_error or "")
    assert probe.text_unread is None
    found = deid_findings(view_of(profile, slide=probe))
    assert {f.location.pointer for f in found if f.code == "DEID_SLIDE_IDENTIFIER"} == {f"/properties/{key}"}
    assert_masked(found)


@pytest.mark.parametrize("size", [(8, 8), (100_000, 100_000)])
@pytest.mark.parametrize(
    "chunks",
    [
        (b"Comment\x00" + _RRN_TEXT, b"Comment\x00benign", None),  # header, header, past the pixels: none
        (b"Comment\x00scanner", b"Comment\x00" + _RRN_TEXT, b"Comment\x00benign"),
        (b"Comment\x00scanner", b"Comment#2\x00" + _RRN_TEXT, b"Comment\x00benign"),
        (b"exif\x00" + _RRN_TEXT, None, None),  # a tEXt keyword-named exif
    ],
)
def test_every_png_text_chunk_is_searched_though_its_keyword_repeats(
    tmp_path: Path, profile: Profile, size: tuple[int, int], chunks: tuple[bytes | None, ...]
) -> None:
    """Pillow's ``img.info`` keeps one value a keyword, the last: an RRN in a ``Comment`` before
    another ``Comment`` (before or after the pixels), decodable or refused, was dropped with no
    notice (a review of the lead's first fix), and a ``tEXt`` named ``exif`` went unsearched. Each
    text chunk is read on its own now, a keyword met again kept as ``keyword#2``."""
    from dqm.slide_io import ProbeOptions, probe_slide

    first, second, tail = chunks
    w, h = size
    raw = b"".join(b"\x00" + b"\x00" * 3 * w for _ in range(h)) if w < 100 else b"\x00" * 4096
    path = tmp_path / "s1.png"
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
        + b"".join(_chunk(b"tEXt", c) for c in (first, second) if c is not None)
        + _chunk(b"IDAT", zlib.compress(raw))
        + (_chunk(b"tEXt", tail) if tail is not None else b"")
        + _chunk(b"IEND", b"")
    )
    probe = probe_slide(path, "slides/s1.png", ProbeOptions(artefacts=False, tissue=False))
    found = deid_findings(view_of(profile, slide=probe))
    assert "DEID_SLIDE_IDENTIFIER" in {f.code for f in found}, sorted(probe.properties)
    assert_masked(found)


@pytest.mark.parametrize(
    ("before", "after", "code", "pointer"),
    [
        (b"tEXt", b"tEXt", "DEID_SLIDE_IDENTIFIER", "/properties/png.Comment#2"),
        (b"gAMA", b"tEXt", "DEID_SLIDE_IDENTIFIER", "/properties/png.gamma#2"),
        (b"eXIf", b"eXIf", "DEID_SLIDE_UNSEARCHED", None),
    ],
)
def test_a_png_too_large_to_decode_keeps_a_keyword_its_header_holds_too(
    tmp_path: Path, profile: Profile, before: bytes, after: bytes, code: str, pointer: str | None
) -> None:
    """A refused PNG whose header holds a keyword that a chunk past its pixels holds again: the
    later value was dropped with no notice (a second review: ``Comment=scanner`` before the pixels
    hid ``Comment=Patient 900101-1234567`` after them; a ``gamma`` text behind a gAMA chunk). Both
    texts are searched; a second EXIF block is said unsearched."""
    from dqm.slide_io import ProbeOptions, probe_slide

    head = {
        b"tEXt": _chunk(b"tEXt", b"Comment\x00scanner"),
        b"gAMA": _chunk(b"gAMA", struct.pack(">I", 45455)),
        b"eXIf": _chunk(b"eXIf", _EXIF.replace(_RRN_TEXT, b"scanner X 1.0 build 77")),
    }[before]
    tail = {
        b"tEXt": _chunk(b"tEXt", (b"gamma" if before == b"gAMA" else b"Comment") + b"\x00" + _RRN_TEXT),
        b"eXIf": _chunk(b"eXIf", _EXIF),
    }[after]
    path = tmp_path / "s1.png"
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0))
        + head
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 4096))
        + tail
        + _chunk(b"IEND", b"")
    )
    probe = probe_slide(path, "slides/s1.png", ProbeOptions(artefacts=False))
    assert not probe.opened and "too large" in (probe.open_error or "")
    found = deid_findings(view_of(profile, slide=probe))
    assert code in {f.code for f in found}
    if pointer is not None:
        assert pointer in {f.location.pointer for f in found if f.code == code}
    assert_masked(found)


@pytest.mark.parametrize(
    "end",
    [
        b"\x00\x00\x10\x00tEXtComment\x00Patient",  # the file ends inside a text chunk
        b"\x00\x00\x00\x04t@Xt",  # a broken chunk header
        b"\x00\x00",  # inside a chunk's header
    ],
)
def test_a_png_too_large_to_decode_cut_short_says_its_text_was_not_all_searched(
    tmp_path: Path, profile: Profile, end: bytes
) -> None:
    """A refused PNG whose chunks past its pixels are cut short or broken is no crash: the text read
    before is searched, and the rest is said unsearched (DEID_SLIDE_UNSEARCHED)."""
    from dqm.slide_io import ProbeOptions, probe_slide

    path = _png(tmp_path / "s1.png", 100_000, 100_000, _chunk(b"tEXt", b"Comment\x00" + _RRN_TEXT), end)
    probe = probe_slide(path, "slides/s1.png", ProbeOptions(artefacts=False))
    assert probe.text_unread is not None and "PNG chunks past byte" in probe.text_unread
    codes = {f.code for f in deid_findings(view_of(profile, slide=probe))}
    assert {"DEID_SLIDE_IDENTIFIER", "DEID_SLIDE_UNSEARCHED"} <= codes


def test_a_slide_property_name_is_searched_for_identifiers(profile: Profile) -> None:
    """A property's name comes from the file too (an Aperio ``key = value`` pair, a PNG text
    chunk's keyword), but only its value was searched: an RRN or a phone number as the name passed.
    A name is searched when its value is blank too (a chunk whose text was emptied)."""
    probe = virtual_probe(
        "slides/s1.png",
        properties={"png.Note 900101-1234567": "", "png.call 010-2345-6789": "y", "png.Software": "GIMP"},
    )
    found = deid_findings(view_of(profile, slide=probe))
    assert sorted((f.code, f.location.pointer) for f in found) == [
        ("DEID_SLIDE_IDENTIFIER", "/properties/png.No*****************"),
        ("DEID_SLIDE_QUASI", "/properties/png.ca****************"),
    ]  # the name holds the identifier: masked in the pointer too (test_kind_shapes)


def test_a_coco_annotations_own_keys_are_searched(profile: Profile) -> None:
    """A COCO annotation's keys past the standard ones (CVAT writes ``attributes``; any tool may
    add a ``note``) were dropped by the reader, so an identifier there reached no check."""
    from dqm.readers import parse_annotation

    seg = {"image_id": 1, "category_id": 7, "segmentation": [[10, 10, 60, 10, 60, 60]], "iscrowd": 0}
    doc = {
        "images": [{"id": 1, "file_name": "s1.svs", "width": 100, "height": 80}],
        "categories": [{"id": 7, "name": "BCC"}],
        "annotations": [
            {"id": 1, **seg, "attributes": {"occluded": False, "comment": "Patient name: Hong Gildong"}},
            {"id": 2, **seg, "note 900101-1234567": "x"},
        ],
    }
    (ann,) = parse_annotation(json.dumps(doc).encode(), "ann/s1.json")
    found = deid_findings(view_of(profile, annotation=ann))
    assert sorted((f.code, f.location.pointer[:20], f.location.lesion) for f in found) == [
        ("DEID_ANNOTATION_IDENTIFIER", "/annotations/0/attri", 0),
        ("DEID_ANNOTATION_IDENTIFIER", "/annotations/1/#1", 1),  # a key holding the RRN: by its position
    ]
    assert found[0].location.pointer == "/annotations/0/attributes/#2"  # comment, after occluded


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-16-le", "utf-16-be", "latin-1"])
def test_an_xml_files_comments_and_processing_instructions_are_searched(
    profile: Profile, encoding: str
) -> None:
    """The XML parser drops comments and processing instructions, so an identifier written there
    (``<!-- Patient name: Hong Gildong -->``) reached no check, though it is in the delivered file.
    They are read in the encoding the parser reads the file in: UTF-16 without a byte-order mark
    (either order) was searched as UTF-8 and missed, and a big-endian one was not read at all."""
    from dqm.readers import parse_annotation

    declared = "utf-16" if encoding.startswith("utf-16") else encoding
    xml = (
        f'<?xml version="1.0" encoding="{declared}"?>\n<!-- Patient name: Hong Gildong -->\n'
        "<?scanner ref 900101-1234567?>\n<ASAP_Annotations><Annotations>"
        '<Annotation Name="a" Type="Polygon" PartOfGroup="BCC"><Coordinates><Coordinate Order="0" X="10" Y="10"/>'
        '<Coordinate Order="1" X="60" Y="10"/><Coordinate Order="2" X="60" Y="60"/></Coordinates></Annotation>'
        "<!-- marge revue \xe0 2 mm --></Annotations></ASAP_Annotations>"
    )
    (ann,) = parse_annotation(xml.encode(encoding), "ann/s1.xml")
    found = deid_findings(view_of(profile, annotation=ann))
    assert sorted((f.code, f.location.pointer) for f in found) == [
        ("DEID_ANNOTATION_IDENTIFIER", "/comment()[1]"),
        ("DEID_ANNOTATION_IDENTIFIER", "/processing-instruction()[1]"),
    ]
    assert ann.properties["/comment()[2]"] == "marge revue \xe0 2 mm"


def test_a_coco_files_own_text_is_searched_once(profile: Profile) -> None:
    """A COCO file's ``info``, ``licenses``, a category's ``supercategory`` and the name of a
    category no lesion is of (or a malformed one) reached no check. They are the file's, searched
    once: on its first image's annotation, at their own pointers; a class name a lesion has is
    searched as that lesion's class, not twice."""
    from dqm.readers import merged, parse_annotation

    seg = {"category_id": 7, "segmentation": [[10, 10, 60, 10, 60, 60]]}
    doc = {
        "info": {
            "description": "BCC set",
            "contributor": "Patient name: Hong Gildong",
            "url": "",
            "year": 2024,
        },
        "licenses": [{"id": 1, "name": "CC-BY", "url": "https://example.org/900101-1234567"}],
        "images": [{"id": k, "file_name": f"s{k}.svs", "width": 100, "height": 80} for k in (1, 2)],
        "categories": [
            {"id": 7, "name": "BCC", "supercategory": "Patient name: Hong Gildong"},
            {"id": 8, "name": "RRN 900101-1234567"},
            {"id": "x", "name": "Patient name: Kim Cheolsu"},
            {"id": 9, "name": ["Patient name: Park Jimin"]},  # unhashable: the reader raised TypeError
        ],
        "annotations": [{"id": 1, "image_id": 1, **seg}, {"id": 2, "image_id": 2, **seg}],
    }
    first, second = parse_annotation(json.dumps(doc).encode(), "ann/coco.json")
    expected = [
        "/categories/0/supercategory",
        "/categories/1/name",
        "/categories/2/name",
        "/categories/3/name",
        "/info/contributor",
        "/licenses/0/url",
    ]
    found = deid_findings(view_of(profile, annotation=first))
    assert sorted(f.location.pointer for f in found) == expected
    assert {f.code for f in found} == {"DEID_ANNOTATION_IDENTIFIER"}
    assert all("Gildong" not in f.message and "1234567" not in f.message for f in found)
    other = Item("s2", "slides/s2.svs", "ann/coco.json", {}, None, searches_file_text=False)
    assert deid_findings(view_of(profile, annotation=second, item=other)) == []
    assert sorted(f.location.pointer for f in deid_findings(view_of(profile, annotation=second))) == expected
    alone = deid_findings(view_of(profile, annotation=merged([first, second])))  # dqm validate FILE
    assert sorted(f.location.pointer for f in alone) == expected


def test_slide_properties_past_the_cap_are_not_searched_and_said_so(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An Aperio description of 500,000 ``key = value`` pairs cost seconds more in the checks
    (names and values searched): the first :data:`MAX_SLIDE_PROPERTIES` are searched, in the
    file's order, and the cut is a warning that names how many were not."""
    from validators import deid

    monkeypatch.setattr(deid, "MAX_SLIDE_PROPERTIES", 4)
    props = {f"aperio.k{k}": "x" for k in range(6)}
    props |= {"aperio.k1": "Patient name: Hong Gildong", "aperio.k5": "RRN 900101-1234567"}
    probe = virtual_probe("slides/s1.svs", properties={"openslide.vendor": "aperio", **props})
    found = deid_findings(view_of(profile, slide=probe))
    assert sorted((f.code, f.location.pointer) for f in found) == [
        ("DEID_SLIDE_IDENTIFIER", "/properties/aperio.k1"),
        ("DEID_SLIDE_UNSEARCHED", "/properties"),
    ]
    cut = next(f for f in found if f.code == "DEID_SLIDE_UNSEARCHED")
    assert cut.severity == "warning" and "6 slide properties" in cut.message and "other 2" in cut.message
    assert_masked(found)


def test_a_date_or_author_on_a_label_page_or_in_exif_is_a_quasi_identifier(profile: Profile) -> None:
    """``tiff.DateTime`` and ``tiff.Artist`` were quasi-identifier keys, but the same tags on a label
    page (``tiff.page2.DateTime``) or in a plain image's EXIF (``exif.DateTimeOriginal``) were not,
    once every page's and every EXIF tag's text was read."""
    probe = virtual_probe(
        "slides/s1.jpg",
        properties={
            "tiff.page2.DateTime": "2024:03:01 10:22:03",
            "exif.DateTimeOriginal": "2024:03:01 10:22:03",
            "exif.BodySerialNumber": "SN 4411",
            "exif.Make": "Canon",
        },
    )
    (found,) = deid_findings(view_of(profile, slide=probe))
    assert found.code == "DEID_SLIDE_QUASI"
    for key in ("tiff.page2.DateTime", "exif.DateTimeOriginal", "exif.BodySerialNumber"):
        assert key in found.message
    assert "exif.Make" not in found.message


def _coco_batch(root: Path, doc: dict, rows: list[tuple[str, str]]) -> Path:
    """A batch of one COCO file shared by the manifest's items (slide id, slide file), no slides."""
    (root / "ann").mkdir(parents=True)
    (root / "ann" / "coco.json").write_text(json.dumps(doc))
    with (root / "manifest.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["slide_id", "image_path", "annotation_path"])
        w.writerows([sid, f"slides/{name}", "ann/coco.json"] for sid, name in rows)
    return root


def _coco_doc(**extra) -> dict:
    seg = {"category_id": 7, "segmentation": [[10, 10, 60, 10, 60, 60]]}
    return {
        "info": {"description": "BCC set, RRN 900101-1234567"},
        "images": [{"id": k, "file_name": f"s{k}.svs", "width": 100, "height": 80} for k in (1, 2, 3)],
        "categories": [{"id": 7, "name": "BCC"}],
        "annotations": [{"id": k, "image_id": k, **seg} for k in (1, 2, 3)],
        **extra,
    }


def _audit_deid(batch: Path, profile: Profile) -> list[tuple[str, str, str | None]]:
    from dqm.runner import RunOptions, run_batch

    run = run_batch(batch, profile, RunOptions(workers=1))
    found = [f for f in run.findings if f.check.startswith("deid.")]
    assert_masked(found)
    return sorted((f.item_id, f.location.file or "", f.location.pointer) for f in found)


@pytest.mark.parametrize(
    "rows",
    [
        [("s2", "s2.svs")],  # the file's first image is not in this delivery: never searched
        [("s3", "s3.svs"), ("s2", "s2.svs")],
        [("s1", "s1.svs"), ("s2", "s2.svs"), ("s3", "s3.svs")],
        [("s9", "s9.svs"), ("s2", "s2.svs")],  # the first item's image is not in the file
    ],
)
def test_a_shared_coco_files_own_text_is_searched_once_an_audit(
    tmp_path: Path, profile: Profile, rows: list[tuple[str, str]]
) -> None:
    """A COCO file's own text was carried by its first image's annotation only: an audit whose
    manifest lists only other images of the file (a split delivery) never searched an RRN in
    ``info.description``. It is searched once an audit, by the first item that reads the file,
    whichever image that is, and reported once, at the file."""
    batch = _coco_batch(tmp_path / "b", _coco_doc(), rows)
    assert _audit_deid(batch, profile) == [(rows[0][0], "ann/coco.json", "/info/description")]


def test_every_text_of_a_coco_file_is_searched(
    tmp_path: Path, profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Top-level keys other than info, licenses and categories (a vendor's ``hospital`` or
    ``patient``), an image's nested values, the notes of an annotation with a box only, of one
    of an unknown image and an annotation that is a bare string reached no check. Each is
    searched once, at its own pointer, read whole and in pieces alike."""
    from dqm import readers
    from dqm.readers import coco
    from dqm.readers.common import pieces

    monkeypatch.setattr(readers, "CACHE_MIN_BYTES", 1 << 62)  # each audit reads the file again
    doc = _coco_doc(
        hospital={"name": "Seoul-A", "ward": {"contact": "Patient name: Hong Gildong"}},
        patient="RRN 900101-1234567",
        notes=["fine", "call 010-2345-6789"],
    )
    doc["images"][1]["meta"] = {"scanned_for": "Patient name: Hong Gildong"}
    doc["annotations"] += [
        {"id": 4, "image_id": 2, "bbox": [1, 2, 3, 4], "note": "DOB: 1990-01-02"},
        {"id": 5, "image_id": 99, "bbox": [1, 2, 3, 4], "attributes": {"who": "Patient name: Hong Gildong"}},
        "RRN 900101-1234567",
    ]
    rows = [("s2", "s2.svs"), ("s3", "s3.svs")]
    want = sorted(
        [("s2", "ann/coco.json", p) for p in ("/info/description", "/#1/#1", "/patient")]  # hospital/ward
        + [("s2", "ann/coco.json", p) for p in ("/#3/1", "/images/1/#1", "/annotations/3/#1")]  # notes, meta
        + [("s2", "ann/coco.json", p) for p in ("/annotations/4/attributes", "/annotations/5")]
    )
    whole = _audit_deid(_coco_batch(tmp_path / "whole", doc, rows), profile)
    monkeypatch.setattr(pieces, "MIN_BYTES", 0)
    split_reads: list[str] = []
    monkeypatch.setattr(
        coco,
        "read_pieces",
        lambda found, path, real=coco.read_pieces: split_reads.append(path) or real(found, path),
    )
    split = _audit_deid(_coco_batch(tmp_path / "pieces", doc, rows), profile)
    assert split_reads and whole == split == want


_NAME = "Patient name: Hong Gildong"
_RRN = "RRN 900101-1234567"
_SQUARE = [[10, 10], [60, 10], [60, 60], [10, 60], [10, 10]]
_UNREAD_TEXT = {
    "native": (
        {
            "patient": _RRN,
            "slide": {"file": "s1.svs", "width": 100, "height": 80, "note": _NAME},
            "lesions": [
                {"class": "BCC", "geometry": {"type": "Polygon", "coordinates": [_SQUARE]}, "id": _RRN},
                {"class": "BCC", "geometry": {"type": "Polygon", "coordinates": [_SQUARE]}, "note": _NAME},
                {
                    "class": "BCC",
                    "geometry": {"type": "Polygon", "coordinates": [_SQUARE]},
                    "properties": _RRN,
                },
                _NAME,
            ],
            "clinical": {},
        },
        [
            "/lesions/0/id",
            "/lesions/1/#1",  # note: no format's key, named by its position
            "/lesions/2/properties",
            "/lesions/3",
            "/patient",
            "/slide/#1",
        ],
    ),
    "qupath": (
        {
            "type": "FeatureCollection",
            "name": _NAME,
            "features": [
                {
                    "type": "Feature",
                    "geometry": {"type": "Polygon", "coordinates": [_SQUARE]},
                    "properties": {"objectType": "annotation", "classification": {"name": "BCC"}},
                    "note": _RRN,
                },
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [5, 5]},
                    "properties": {"objectType": "annotation", "name": _NAME},
                },
                {
                    "type": "Feature",
                    "geometry": {"type": "Polygon", "coordinates": [_SQUARE]},
                    "properties": {"objectType": "detection", "name": "Patient name: Kim Minsu"},
                },
                {"type": "Feature", "geometry": None, "properties": "DOB: 1990-01-02"},
                "MRN: 12345678",
            ],
        },
        [
            "/features/0/#1",  # note
            "/features/1/properties/name",
            "/features/2/properties/name",
            "/features/3/properties",
            "/features/4",
            "/name",
        ],
    ),
    "dsa": (
        [
            {
                "_id": "5f0c",
                "creator": _NAME,
                "annotation": {
                    "name": "BCC",
                    "attributes": {"patient": _RRN},
                    "elements": [
                        {
                            "type": "polyline",
                            "closed": True,
                            "group": "BCC",
                            "points": [[*p, 0] for p in _SQUARE],
                        },
                        {"type": "point", "center": [5, 5, 0], "label": {"value": _NAME}},
                        _RRN,
                    ],
                },
            }
        ],
        [
            "/0/#1",  # creator
            "/0/annotation/attributes",
            "/0/annotation/elements/1/label/value",
            "/0/annotation/elements/2",
        ],
    ),
}


@pytest.mark.parametrize("fmt", sorted(_UNREAD_TEXT))
@pytest.mark.parametrize("in_pieces", [False, True])
def test_every_text_of_a_json_annotation_file_is_searched(
    profile: Profile, monkeypatch: pytest.MonkeyPatch, fmt: str, in_pieces: bool
) -> None:
    """Text the readers did not keep reached no check: a native file's top-level ``patient``,
    a slide's ``note``, a lesion's string ``id`` or own key, properties that are a string; a
    FeatureCollection's ``name``, a feature's own key, a point's or a detection's properties;
    a DSA record's and document's other keys and a point's label. Each is searched, at its own
    pointer, masked, read whole and (where the format is) in pieces. A text skipped objects repeat
    (a million cells naming the same measurements) is searched once, at its first pointer."""
    from dqm import readers
    from dqm.readers import parse_annotation
    from dqm.readers.common import pieces

    monkeypatch.setattr(readers, "CACHE_MIN_BYTES", 1 << 62)
    if in_pieces:
        monkeypatch.setattr(pieces, "MIN_BYTES", 0)
    doc, expected = _UNREAD_TEXT[fmt]
    (ann,) = parse_annotation(json.dumps(doc).encode(), f"ann/s1.{'geojson' if fmt == 'qupath' else 'json'}")
    assert ann.format == fmt
    found = deid_findings(view_of(profile, annotation=ann))
    assert sorted(f.location.pointer for f in found) == expected
    assert_masked(found)


_COORDS = '<Coordinates><Coordinate Order="0" X="10" Y="10"/><Coordinate Order="1" X="60" Y="10"/><Coordinate Order="2" X="60" Y="60"/></Coordinates>'
_VERTICES = '<Vertices><Vertex X="10" Y="10"/><Vertex X="60" Y="10"/><Vertex X="60" Y="60"/></Vertices>'
_UNREAD_XML = {
    "asap": (
        '<ASAP_Annotations Operator="Patient name: Hong Gildong"><Annotations>'
        f'<Annotation Name="a" Type="Polygon" PartOfGroup="BCC" Note="RRN 900101-1234567">{_COORDS}</Annotation>'
        f'<Annotation Name="Patient name: Kim Minsu" Type="Dot" PartOfGroup="BCC">{_COORDS}</Annotation>'
        "</Annotations><AnnotationGroups>"
        '<Group Name="DOB: 1990-01-02" PartOfGroup="None"><Attributes/></Group>'
        '<Group Name="BCC" PartOfGroup="None"><Attributes>MRN: 12345678</Attributes></Group>'
        "</AnnotationGroups></ASAP_Annotations>",
        [
            "/ASAP_Annotations/@#1",  # Operator: no format's attribute, named by its position
            "/ASAP_Annotations/AnnotationGroups[1]/Group[1]/@Name",
            "/ASAP_Annotations/AnnotationGroups[1]/Group[2]/Attributes[1]/text()[1]",
            "/ASAP_Annotations/Annotations/Annotation[1]/@#1",  # Note: a lesion's own, searched as before
            "/ASAP_Annotations/Annotations[1]/Annotation[2]/@Name",
        ],
    ),
    "imagescope": (
        '<Annotations MicronsPerPixel="0.25"><Annotation Id="1" Name="BCC" LineColor="65280">'
        '<Attributes><Attribute Name="Patient name: Hong Gildong" Value=""/></Attributes><Regions>'
        f'<Region Id="1" Type="0" Text="" Description="RRN 900101-1234567">{_VERTICES}</Region>'
        f'<Region Id="2" Type="0" NegativeROA="1" Text="Patient name: Kim Minsu">{_VERTICES}</Region>'
        "</Regions></Annotation>"
        '<Annotation Id="2" Name="DOB: 1990-01-02"><Regions/></Annotation></Annotations>',
        [
            "/Annotations/Annotation[1]/Attributes[1]/Attribute[1]/@Name",
            "/Annotations/Annotation[1]/Regions[1]/Region[1]/@Description",
            "/Annotations/Annotation[1]/Regions[1]/Region[2]/@Text",
            "/Annotations/Annotation[2]/@Name",
        ],
    ),
}


@pytest.mark.parametrize("fmt", sorted(_UNREAD_XML))
def test_every_text_of_an_xml_annotation_file_is_searched(profile: Profile, fmt: str) -> None:
    """The XML readers keep the attributes they read: an operator on the root, a point
    annotation's name (skipped before its attributes were kept), a group's name, an element's
    text, a region's other attributes, a hole's text, a layer with no region or an attribute
    with no value reached no check. Every attribute and text of the tree is searched once, at
    its XPath, but numbers, vertices and what a lesion holds (searched as that lesion's)."""
    from dqm.readers import parse_annotation

    xml, expected = _UNREAD_XML[fmt]
    (ann,) = parse_annotation(xml.encode(), "ann/s1.xml")
    assert ann.format == fmt
    found = deid_findings(view_of(profile, annotation=ann))
    assert sorted(f.location.pointer for f in found) == expected
    assert_masked(found)


@pytest.mark.parametrize(
    ("rows", "want"),
    [
        (
            [("s2", "s2.svs")],
            [
                ("s2", "/annotations/2/#1"),  # note
                ("s2", "/annotations/2/category_id"),
                ("s2", "/images/0/#1"),  # meta
                ("s2", "/info/description"),
            ],
        ),
        (
            [("s2", "s2.svs"), ("s3", "s3.svs"), ("s1", "s1.svs")],
            [
                ("s1", "/images/0/#1"),  # meta
                ("s2", "/annotations/2/category_id"),  # a class name: by the item searching the file
                ("s2", "/info/description"),
                ("s3", "/annotations/2/#1"),  # note
            ],
        ),
    ],
)
def test_the_images_of_a_shared_coco_file_no_item_has_are_searched(
    tmp_path: Path, profile: Profile, rows: list[tuple[str, str]], want: list[tuple[str, str]]
) -> None:
    """A manifest that lists only some of a shared COCO file's images left the others' text (an
    image's ``meta``, an annotation's ``note``, a class only their lesions have) unsearched, though
    the file is delivered whole. The item that searches the file's own text searches them; an image
    an item has is searched by that item, once, but for its class names: the file's, searched by
    the item searching its text (each item searched its own: a 4 MB name 20 times)."""
    doc = _coco_doc()
    doc["images"][0]["meta"] = {"scanned_for": "Patient name: Hong Gildong"}
    doc["categories"].append({"id": 8, "name": "Patient name: Kim Minsu"})
    doc["annotations"][2] |= {"note": "DOB: 1990-01-02", "category_id": 8}
    batch = _coco_batch(tmp_path / "b", doc, rows)
    assert [(item, ptr) for item, _, ptr in _audit_deid(batch, profile)] == want


def _deep_asap(depth: int, leaf: str) -> str:
    """An ASAP file holding ``depth`` nested elements, each with its own text, ``leaf`` innermost."""
    inner = f'<a n="{leaf}"/>'
    opened = "".join(f'<a n="t{k}">' for k in range(depth))
    return f"<ASAP_Annotations><Annotations/>{opened}{inner}{'</a>' * depth}</ASAP_Annotations>"


def test_the_texts_of_deeply_nested_xml_are_searched_with_bounded_pointers(profile: Profile) -> None:
    """Each element's XPath was built from its parent's: nested 20,000 deep (349 KB) the pointers
    held 1.0 GB (40,000 deep: 4 GB, 37 s). Paths stop growing past a fixed depth (the deeper
    texts keep their ancestor's path): all searched, each pointer short."""
    from dqm.readers import parse_annotation
    from dqm.readers.common.xmltree import MAX_PATH_DEPTH

    (ann,) = parse_annotation(_deep_asap(3_000, "Patient name: Hong Gildong").encode(), "ann/s1.xml")
    assert ann.readable
    assert len(ann.properties) == 3_001
    assert max(len(key) for key in ann.properties) < 20 * MAX_PATH_DEPTH
    found = deid_findings(view_of(profile, annotation=ann))
    assert [f.code for f in found] == ["DEID_ANNOTATION_IDENTIFIER"]
    assert_masked(found)


def test_an_xml_file_with_more_texts_than_are_searched_says_so(profile: Profile) -> None:
    """The texts kept from one XML file are capped (entries and characters); the rest is not
    passed over in silence: DEID_ANNOTATION_UNSEARCHED says where searching stopped."""
    from dqm.readers import parse_annotation
    from dqm.readers.common.xmltree import MAX_TEXTS

    groups = "".join(f'<Group Name="g{k}"/>' for k in range(MAX_TEXTS + 5))
    xml = f"<ASAP_Annotations><Annotations/><AnnotationGroups>{groups}</AnnotationGroups></ASAP_Annotations>"
    (ann,) = parse_annotation(xml.encode(), "ann/s1.xml")
    assert len(ann.properties) == MAX_TEXTS
    found = deid_findings(view_of(profile, annotation=ann))
    (unsearched,) = (f for f in found if f.code == "DEID_ANNOTATION_UNSEARCHED")
    assert (
        unsearched.location.pointer == f"/ASAP_Annotations/AnnotationGroups[1]/Group[{MAX_TEXTS + 1}]/@Name"
    )
    assert unsearched.severity == Severity.WARNING


def test_distinct_texts_keep_each_new_key_whatever_its_value() -> None:
    """Only string values were tracked: a measurement's name over a number was never kept, and a
    key over a value met before was dropped. Each new key is kept at its pointer, with its value."""
    from dqm.readers.common.base import DistinctTexts

    into: dict[str, object] = {}
    unread = DistinctTexts(into)
    unread.add({"note": "x", "measurements": {"Patient Kim Area": 3.2}}, "features", 0, "properties")
    unread.add({"note": "x", "patient_name": "x"}, "features", 1, "properties")
    unread.add({"note": "x", "measurements": {"Patient Kim Area": 4.1}}, "features", 2, "properties")
    assert into == {
        "/features/0/properties/#1": "x",  # note: no format's key, by its position
        "/features/0/properties/measurements": None,
        "/features/0/properties/measurements/#1": 3.2,
        "/features/0/properties/measurements/#1\x00": "Patient Kim Area",  # its name, searched
        "/features/1/properties/patient_name": "x",
    }


def test_a_skipped_objects_identifier_key_is_found_over_a_repeated_value(profile: Profile) -> None:
    """A detection's ``patient_name`` whose value an earlier detection held under another key
    reached no check (DEID_ANNOTATION_IDENTIFIER never fired for it)."""
    from dqm.readers import parse_annotation

    def detection(props: dict) -> dict:
        return {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [_SQUARE]},
            "properties": {"objectType": "detection", **props},
        }

    doc = {
        "type": "FeatureCollection",
        "features": [detection({"note": "Hong Gildong"}), detection({"patient_name": "Hong Gildong"})],
    }
    (ann,) = parse_annotation(json.dumps(doc).encode(), "ann/s1.geojson")
    found = [
        f for f in deid_findings(view_of(profile, annotation=ann)) if f.code == "DEID_ANNOTATION_IDENTIFIER"
    ]
    assert [f.location.pointer for f in found] == ["/features/1/properties/patient_name"]
    assert_masked(found)


def test_a_shared_coco_files_readers_are_named_as_the_runner_names_their_slides(
    tmp_path: Path, profile: Profile
) -> None:
    """The readers of a shared file were named from the manifest's raw slide path: an item whose
    slide is ``sub\\s3.svs`` (the runner reads ``sub/s3.svs``, and picks image s3) counted as no
    reader, so its image's text was searched twice, by the searching item too."""
    doc = _coco_doc()
    doc["images"][0]["meta"] = {"scanned_for": "Patient name: Hong Gildong"}
    doc["annotations"][2] |= {"note": "DOB: 1990-01-02"}
    batch = _coco_batch(tmp_path / "b", doc, [("s2", "s2.svs"), ("x3", "sub\\s3.svs")])
    assert [(item, ptr) for item, _, ptr in _audit_deid(batch, profile)] == [
        ("s2", "/images/0/#1"),  # meta
        ("s2", "/info/description"),
        ("x3", "/annotations/2/#1"),  # note
    ]


def test_an_annotation_file_one_item_reads_names_no_readers(tmp_path: Path) -> None:
    """Every item was given the names of its file's readers, the usual file of one slide too
    (two paths and a tuple an item, 4.2 s per 200,000 items, in every item's cache key): only
    the items of a file two or more items read are, each the same set of (slide id, slide file
    as read) that decides their images (:func:`dqm.readers.items.image_of`)."""
    from dqm.batch import discover

    doc = _coco_doc()
    batch = _coco_batch(tmp_path / "b", doc, [("s1", "s1.svs"), ("s2", "s2.svs")])
    (batch / "ann" / "own.json").write_text(json.dumps(doc))
    with (batch / "manifest.csv").open("a", newline="") as fh:
        csv.writer(fh).writerow(["s3", "slides/s3.svs", "ann/own.json"])
    items = {item.slide_id: item for item in discover(batch).items}
    want = {("s1", "slides/s1.svs"), ("s2", "slides/s2.svs")}
    assert items["s1"].file_readers == want and items["s2"].file_readers is items["s1"].file_readers
    assert items["s3"].file_readers == frozenset()
    assert items["s3"].searches_file_text


def test_the_text_of_images_no_item_could_be_given_is_searched(tmp_path: Path, profile: Profile) -> None:
    """Two slides ``a/slide1.svs`` and ``b/slide1.svs`` and a file listing ``x/slide1.svs`` and
    ``y/slide1.svs``: neither image is either slide's (ambiguous), yet both were left out of the
    search of the images no item has, as matching a slide's name: an RRN in one image's fields
    was never searched. Only an image an item is given is left to that item."""
    doc = _coco_doc()
    doc["info"] = {"description": "BCC set"}
    doc["images"] = [
        {"id": 1, "file_name": "x/slide1.svs", "width": 100, "height": 80, "note": "RRN 900101-1234567"},
        {"id": 2, "file_name": "y/slide1.svs", "width": 100, "height": 80},
        {"id": 3, "file_name": "c.svs", "width": 100, "height": 80, "note": "RRN 900101-1234567"},
    ]
    batch = _coco_batch(tmp_path / "b", doc, [("A", "a/slide1.svs"), ("B", "b/slide1.svs"), ("C", "c.svs")])
    got = _audit_deid(batch, profile)
    assert ("A", "ann/coco.json", "/images/0/#1") in got  # searched by the item that searches the file
    assert [f for f in got if f[2] == "/images/2/#1"] == [("C", "ann/coco.json", "/images/2/#1")]  # C's, once


def test_a_crash_searching_a_shared_files_other_images_loses_no_annotation(
    tmp_path: Path, profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The search of the images no item has shared the reader's guard: a bug in it made the
    searching item's annotation unreadable and hid its checks. It is a crash of that search
    (CHECK_CRASHED, the item not evaluated), and the item's annotation is checked as read."""
    from dqm import runner
    from dqm.runner import RunOptions, run_batch

    def broken(*args: object) -> dict:
        raise KeyError("boom")

    monkeypatch.setattr(runner, "unpicked_text", broken)
    batch = _coco_batch(tmp_path / "b", _coco_doc(), [("s2", "s2.svs"), ("s3", "s3.svs")])
    found = run_batch(batch, profile, RunOptions(workers=1)).findings
    crashes = [(f.item_id, f.check) for f in found if f.code == "CHECK_CRASHED"]
    assert crashes == [("s2", "deid.annotation_properties")]
    assert ("s2", "/info/description") in {
        (f.item_id, f.location.pointer) for f in found if f.check.startswith("deid.")
    }
    assert not [f for f in found if f.check == "file.annotation_readable"]


def test_every_text_node_and_namespaced_sibling_of_an_xml_element_is_kept() -> None:
    """An element's own text and the text after each of its children shared one key, so only the
    last was kept (and searched); siblings of one local name in two namespaces shared one path, so
    only the last was kept: a name before a child element, or in the first of two namespaced
    elements, was never searched."""
    from xml.etree.ElementTree import fromstring

    from dqm.readers.common.xmltree import xml_texts

    root = fromstring(
        '<Annotations xmlns:p="urn:p" xmlns:q="urn:q">Patient John Smith<Annotation Name="x"/>second note<Region/>third'
        '<p:Attribute V="Hong Gildong"/><q:Attribute V="Kim Minsu"/></Annotations>'
    )
    texts = xml_texts(root, set()).texts
    assert texts == {
        "/Annotations/text()[1]": "Patient John Smith",
        "/Annotations/Annotation[1]/following-sibling::text()[1]": "second note",
        "/Annotations/Region[1]/following-sibling::text()[1]": "third",
        "/Annotations/Annotation[1]/@Name": "x",
        "/Annotations/Attribute[1]/@#1": "Hong Gildong",  # V: no format's attribute, by its position
        "/Annotations/Attribute[2]/@#1": "Kim Minsu",
        "/Annotations/Attribute[1]\x00": "{urn:p}Attribute",  # a namespace's URI: the file's text
        "/Annotations/Attribute[2]\x00": "{urn:q}Attribute",
    }


@pytest.mark.parametrize(
    ("xml", "where"),
    [
        # no text before the child: the text after it is XPath's text()[1], not text()[2]
        (
            "<Annotations><Annotation/>Hong Gildong<Region/></Annotations>",
            "/Annotations/Annotation[1]/following-sibling::text()[1]",
        ),
        # blank text nodes are XPath text nodes: this one is text()[3], not text()[2]
        (
            "<Annotations>\n  <Annotation/>\n  <Region/>Hong Gildong</Annotations>",
            "/Annotations/Region[1]/following-sibling::text()[1]",
        ),
        # children without a tail between: the text after the third is text()[1], not text()[4]
        (
            "<Annotations><Annotation/><Annotation/><Annotation/>Hong Gildong</Annotations>",
            "/Annotations/Annotation[3]/following-sibling::text()[1]",
        ),
        ("<Annotations>Hong Gildong<Annotation/></Annotations>", "/Annotations/text()[1]"),
    ],
)
def test_an_xml_texts_path_names_the_text_node_xpath_finds(xml: str, where: str) -> None:
    """A tail's path counted one text node per child before it (``text()[j + 2]``): XPath counts
    the text nodes there are, so in compact XML, or with blank nodes between some children only,
    the path named another text or none (1,077 of 1,077 texts added to compact copies of the real
    XML exports, 100 of 1,077 to pretty-printed ones, evaluated by lxml's ``xpath()``). The path
    is now the text node right after its child element, which XPath finds whatever comes before."""
    from xml.etree.ElementTree import fromstring

    from dqm.readers.common.xmltree import xml_texts

    assert xml_texts(fromstring(xml), set()).texts == {where: "Hong Gildong"}
