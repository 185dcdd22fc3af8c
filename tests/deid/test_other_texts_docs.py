"""Text in a delivery that ``deid.other_texts`` did not search before session 27: a README below the
root (``README.md`` was left out of every listing at any depth), a ``Readme`` or ``README.rst``, a
folder holding only a README (its name never searched), a PDF's strings, a Word file's XML, a ZIP's
comment, member names and members; and a ``.doc`` or a ``.7z``, which dqm cannot read, passed in
silence: now it is named as not searched."""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

import dqm.batch
from dqm.cli import app
from dqm.doc_text import document_text
from dqm.profile import Profile
from dqm.runner import RunOptions, run_batch
from tests.helpers import write_tiny_batch

RRN = "900101-1234567"


def _found(root: Path, profile: Profile, prefix: str = "DEID_OTHER_TEXT") -> list:  # type: ignore[type-arg]
    run = run_batch(root, profile, RunOptions(workers=1))
    assert not [f for f in run.findings if f.code == "CHECK_CRASHED"]
    return [f for f in run.findings if f.code.startswith(prefix)]


def _docx(text_runs: list[str], core_author: str = "x") -> bytes:
    runs = "".join(f"<w:r><w:t>{t}</w:t></w:r>" for t in text_runs)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", f"<w:document><w:body><w:p>{runs}</w:p></w:body></w:document>")
        zf.writestr(
            "docProps/core.xml",
            f"<cp:coreProperties><dc:creator>{core_author}</dc:creator></cp:coreProperties>",
        )
        zf.writestr("word/media/image1.png", b"\x89PNG not read")
    return buf.getvalue()


def _zip(members: dict[str, bytes], comment: bytes = b"") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        zf.comment = comment
    return buf.getvalue()


def _pdf(content: bytes, info: bytes = b"(x)", flate: bool = False) -> bytes:
    body = zlib.compress(content) if flate else content
    filt = b"/Filter /FlateDecode " if flate else b""
    return (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n"
        b"2 0 obj << /Author " + info + b" >> endobj\n"
        b"3 0 obj << "
        + filt
        + b"/Length "
        + str(len(body)).encode()
        + b" >>\nstream\n"
        + body
        + b"\nendstream\nendobj\n"
        b"trailer << /Root 1 0 R /Info 2 0 R >>\n%%EOF\n"
    )


SPLIT = ["900", "101-12", "34567"]
FILES: dict[str, bytes] = {
    "slides/README.md": f"scanned for {RRN}\n".encode(),  # a README below the root
    "docs/README.txt": f"patient {RRN}\n".encode(),
    "Readme": f"patient {RRN}\n".encode(),  # another case, no extension
    "docs/readme": f"patient {RRN}\n".encode(),
    "README.rst": f"patient {RRN}\n".encode(),
    "notes/history.rst": f"patient {RRN}\n".encode(),
    "notes/letter.rtf": b"{\\rtf1\\ansi patient " + RRN.encode() + b"}",
    "report.docx": _docx(SPLIT),  # the RRN split over three Word runs
    "author.docx": _docx(["clean"], core_author=f"RRN {RRN}"),
    "letter.odt": _zip({"content.xml": f"<office:text><text:p>{RRN}</text:p></office:text>".encode()}),
    "names.zip": _zip({f"scans/{RRN}.txt": b"clean"}),  # a member's name
    "comment.zip": _zip({"a.txt": b"clean"}, comment=f"for {RRN}".encode()),
    "member.zip": _zip({"notes/a.csv": f"id,{RRN}\n".encode()}),
    "plain.pdf": _pdf(b"BT /F1 12 Tf (patient " + RRN.encode() + b") Tj ET"),
    "info.pdf": _pdf(b"BT (clean) Tj ET", info=b"<FEFF" + RRN.encode("utf-16-be").hex().encode() + b">"),
    "flate.pdf": _pdf(b"BT (patient " + RRN.encode() + b") Tj ET", flate=True),
}


@pytest.mark.parametrize("name", list(FILES))
def test_a_file_no_check_searched_is_searched(tmp_path: Path, profile: Profile, name: str) -> None:
    root = write_tiny_batch(tmp_path / "b")
    (root / name).parent.mkdir(exist_ok=True)
    (root / name).write_bytes(FILES[name])
    found = _found(root, profile)
    assert [(f.code, f.location.file) for f in found] == [("DEID_OTHER_TEXT_IDENTIFIER", name)], found
    assert RRN not in found[0].message


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("scan.doc", b"\xd0\xcf\x11\xe0 any bytes"),  # a format dqm does not read
        ("bundle.7z", b"7z\xbc\xaf\x27\x1c"),
        ("bundle.rar", b"Rar!\x1a\x07\x01\x00"),
        ("notes.hwp", b"\xd0\xcf\x11\xe0"),
        ("bad.zip", b"PK\x03\x04 truncated"),  # not a readable ZIP
        ("pictures.zip", _zip({"a.png": b"\x89PNG"})),  # a member that is no text: not read
        ("sealed.pdf", _pdf(b"BT (x) Tj ET").replace(b"/Type /Catalog", b"/Encrypt 9 0 R")),
        ("fonts.pdf", _pdf(b"BT /F1 12 Tf <00120034> Tj ET")),  # text in a font's own codes
    ],
)
def test_a_document_not_read_is_named_as_not_searched(
    tmp_path: Path, profile: Profile, name: str, data: bytes
) -> None:
    root = write_tiny_batch(tmp_path / "b")
    (root / name).write_bytes(data)
    found = _found(root, profile)
    assert [(f.code, f.location.file) for f in found] == [("DEID_OTHER_TEXT_UNSEARCHED", name)], found
    assert found[0].severity.value == "warning"


def test_a_member_inflating_past_the_bound_is_not_inflated(
    tmp_path: Path, profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A zip bomb: a member of 50 MB of zeros, inflated no further than the bound."""
    bomb = _zip({"a.txt": b"0" * 50_000_000})
    text, why = document_text(io.BytesIO(bomb), ".zip", 1000)
    assert why == "a member past the bound read" and len(text) < 2000
    root = write_tiny_batch(tmp_path / "b")
    (root / "bomb.zip").write_bytes(bomb)
    monkeypatch.setattr(dqm.batch, "MAX_DOCUMENT_BYTES", 100_000)
    found = [(f.code, f.location.file) for f in _found(root, profile)]
    assert found == [("DEID_OTHER_TEXT_UNSEARCHED", "bomb.zip")], found


def test_a_folder_holding_only_a_readme_is_a_name_searched(
    tmp_path: Path, profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``900102-1234567/README.md`` listed in SHA256SUMS: the folder's name is delivered, and the
    ``.doc`` named as not searched has its path masked in the results."""
    monkeypatch.setenv("DQM_MASK_KEY", "a test key of at least 16 characters")
    root = write_tiny_batch(tmp_path / "b")
    (root / "900102-1234567").mkdir()
    (root / "900102-1234567" / "README.md").write_text("clean\n")
    (root / "scan 900103-1234567.doc").write_bytes(b"\xd0\xcf\x11\xe0")
    out = tmp_path / "f.json"
    res = CliRunner().invoke(app, ["validate", str(root), "--json", str(out), "--workers", "1"])
    assert res.exit_code == 1, res.output
    text = out.read_text()
    assert "1234567" not in text and "1234567" not in res.output
    found = [f for f in json.loads(text) if f["check"] in ("deid.other_names", "deid.other_texts")]
    codes = sorted((f["code"], f["location"]["file"].endswith(".doc")) for f in found)
    assert codes == [
        ("DEID_OTHER_NAME_IDENTIFIER", False),  # the folder holding only a README
        ("DEID_OTHER_NAME_IDENTIFIER", True),
        ("DEID_OTHER_TEXT_UNSEARCHED", True),  # the .doc not read, its path masked
    ], codes


@pytest.mark.parametrize("field", ["comment", "exif"])
def test_an_orphan_jpegs_text_is_searched(tmp_path: Path, profile: Profile, field: str) -> None:
    """A JPEG no item names: its comment and EXIF text are read from its header (ORPHAN_SLIDE)."""
    from PIL import Image

    root = write_tiny_batch(tmp_path / "b")
    image = Image.new("RGB", (40, 30), (230, 170, 200))
    if field == "comment":
        image.save(root / "slides" / "S9.jpg", comment=f"patient {RRN}".encode())
    else:
        exif = Image.Exif()
        exif[0x010E] = f"patient {RRN}"  # ImageDescription
        image.save(root / "slides" / "S9.jpg", exif=exif)
    found = _found(root, profile)
    assert [(f.code, f.location.file) for f in found] == [("DEID_OTHER_TEXT_IDENTIFIER", "slides/S9.jpg")], (
        found
    )


def test_an_orphan_dicom_is_named_as_not_searched(tmp_path: Path, profile: Profile) -> None:
    root = write_tiny_batch(tmp_path / "b")
    (root / "slides" / "S9.dcm").write_bytes(b"\0" * 128 + b"DICM")  # no item names it
    found = _found(root, profile)
    assert [(f.code, f.location.file) for f in found] == [("DEID_OTHER_TEXT_UNSEARCHED", "slides/S9.dcm")], (
        found
    )


def test_files_not_read_are_named_within_a_bound(
    tmp_path: Path, profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A million ``.npy`` files are not a million findings: past the bound, the batch's one warning.
    A ``readme.doc`` is a ``.doc`` (its bytes are no text to read)."""
    monkeypatch.setattr(dqm.batch, "MAX_UNREAD_NAMED", 2)
    root = write_tiny_batch(tmp_path / "b")
    for name in ("a.npy", "b.npy", "c.npy", "readme.doc"):
        (root / name).write_bytes(b"\x93NUMPY " + RRN.encode())
    found = _found(root, profile)
    assert [(f.code, f.location.file) for f in found] == [
        ("DEID_OTHER_TEXT_UNSEARCHED", "a.npy"),
        ("DEID_OTHER_TEXT_UNSEARCHED", "b.npy"),
        ("DEID_OTHER_TEXT_UNSEARCHED", "manifest.csv"),  # the batch's: more not named
    ], found
    assert "2 named" in found[2].message


@pytest.mark.parametrize("run", [b"(", b"(a", b"\\(", b"[<00", b"<FEFF"])
def test_a_hostile_pdf_costs_one_pass(run: bytes) -> None:
    """4 MB of one token: linear regular expressions, a bound on strings (a nested ``[`` pattern
    took minutes on 200 KB before it was bounded)."""
    import time

    start = time.process_time()
    _, why = document_text(io.BytesIO(b"%PDF-1.4\n" + run * (4_000_000 // len(run))), ".pdf", 4_000_000)
    assert why is not None and time.process_time() - start < 10


# Session 27, fix round (textsf): bounds that did not hold, boundaries that were lost.


def test_a_pdf_stream_after_the_bound_is_not_inflated() -> None:
    """A stream that fills the bound, then a bomb: zlib read ``max_length=0`` as no limit, so the
    second stream was inflated whole (292 KB -> 300 MB)."""
    first = zlib.compress(b"0" * 200_000)
    bomb = zlib.compress(b"(" + b"x" * 10_000_000 + b")")
    pdf = b"%PDF-1.4\n"
    for body in (first, bomb):
        pdf += b"<< /Filter /FlateDecode /Length %d >>\nstream\n" % len(body) + body + b"\nendstream\n"
    assert len(pdf) < 100_000
    text, why = document_text(io.BytesIO(pdf), ".pdf", 100_000)
    assert why == "a stream past the bound read" and len(text) < 100_000, (why, len(text))


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_a_member_zipfile_cannot_bound_is_not_opened(method: int) -> None:
    """zipfile inflates a bzip2 or LZMA member a whole compressed block at a time, whatever is
    asked for (414 bytes -> 400 MB): such a member is named, not opened."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        zf.writestr("a.txt", b"(" + b"0" * 5_000_000)
    text, why = document_text(io.BytesIO(buf.getvalue()), ".zip", 1000)
    assert why == "a member compressed other than with Deflate" and len(text) < 100, (why, len(text))


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_a_stored_or_deflated_member_is_read_within_the_bound(method: int) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        zf.writestr("a.txt", f"id {RRN}\n".encode() + b"0" * 5_000_000)
    text, why = document_text(io.BytesIO(buf.getvalue()), ".zip", 1000)
    assert why == "a member past the bound read" and RRN in text and len(text) < 1100


def test_a_run_of_lt_in_an_office_member_costs_one_pass() -> None:
    """``<`` x 200,000 in a .docx's XML: the tag pattern stopped at the end of the member from each
    ``<`` (80,000 took 8 s; 200,000 about a minute)."""
    import time

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("word/document.xml", b"<" * 200_000 + b"<a " * 100_000)
    start = time.process_time()
    document_text(io.BytesIO(buf.getvalue()), ".docx", 4_000_000)
    assert time.process_time() - start < 1


def _office(members: dict[str, bytes]) -> bytes:
    return _zip({"[Content_Types].xml": b"<Types/>", **members})


SEPARATE = {
    "cells.xlsx": _office(
        {"xl/sharedStrings.xml": f"<sst><si><t>12</t></si><si><t>{RRN}</t></si></sst>".encode()}
    ),
    "rich.xlsx": _office(
        {
            "xl/sharedStrings.xml": b"<sst><si><r><rPr><b/></rPr><t>9001</t></r><r><t>01-1234567</t></r></si></sst>"
        }
    ),
    "props.docx": _office(
        {
            "docProps/core.xml": (
                f"<cp:coreProperties><dc:title>x1</dc:title><dc:creator>{RRN}</dc:creator></cp:coreProperties>"
            ).encode()
        }
    ),
    "kerned.pdf": _pdf(b"BT /F1 12 Tf [(ID )-20(9001)12.5(01-1234567)] TJ ET"),
    "tj.pdf": _pdf(b"BT /F1 12 Tf (ID 900101-) Tj (1234567) Tj ET"),
    "continued.pdf": _pdf(b"BT /F1 12 Tf (ID 900101-\\\n1234567) Tj ET"),
    "continued_crlf.pdf": _pdf(b"BT /F1 12 Tf (ID 900101-\\\r\n1234567) Tj ET"),
}


@pytest.mark.parametrize("name", list(SEPARATE))
def test_cells_properties_and_pdf_runs_keep_their_boundaries(
    tmp_path: Path, profile: Profile, name: str
) -> None:
    """Two cells, two properties stay apart (``12`` then an RRN was ``12900101-1234567``, no RRN);
    a kerned ``TJ`` array, consecutive ``Tj`` and a ``\\``-continued line are one run of text."""
    root = write_tiny_batch(tmp_path / "b")
    (root / name).write_bytes(SEPARATE[name])
    found = [(f.code, f.location.file) for f in _found(root, profile)]
    assert found == [("DEID_OTHER_TEXT_IDENTIFIER", name)], found


def test_wide_kerning_is_a_word_break() -> None:
    text, _ = document_text(io.BytesIO(_pdf(b"BT [(Kim)-20(Gil)-900(dong)] TJ ET")), ".pdf", 10_000)
    assert "KimGil dong" in text.splitlines(), text


@pytest.mark.parametrize(
    "member",
    ["mimetype", "xl/printerSettings/printerSettings1.bin", "word/fonts/font1.odttf", "Configurations2/x"],
)
def test_an_office_files_machinery_is_not_a_member_unsearched(member: str) -> None:
    """Every LibreOffice file holds ``mimetype``; an Office file, printer settings and fonts: none
    made the file 'not searched'; an embedded object still does."""
    data = _office({"content.xml": f"<text:p>{RRN}</text:p>".encode(), member: b"\x00\x01binary"})
    text, why = document_text(io.BytesIO(data), ".odt", 10_000)
    assert why is None and RRN in text, why
    data = _office({"content.xml": b"<x/>", "word/embeddings/oleObject1.bin": b"\xd0\xcf"})
    assert document_text(io.BytesIO(data), ".docx", 10_000)[1] == "a member that is not text"


def test_a_zips_member_names_are_held_to_the_bound() -> None:
    """300,000 tile names were 9.8 M characters, the whole batch's budget: held to the document's."""
    data = _zip({f"tiles/{i:07d}.txt": b"" for i in range(2000)})
    text, why = document_text(io.BytesIO(data), ".zip", 1000)
    assert why == "past the bound read" and len(text) <= 1000, (why, len(text))


def _jpeg_of_size(width: int, height: int, comment: bytes) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buf, "JPEG", comment=comment)
    data = bytearray(buf.getvalue())
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


def test_a_slide_sized_orphan_jpegs_text_is_searched(tmp_path: Path, profile: Profile) -> None:
    """A 20000 x 20000 header is past Pillow's guard against decompression bombs: its comment was
    never read, in silence; a header that cannot be read is named as not searched."""
    root = write_tiny_batch(tmp_path / "b")
    (root / "slides" / "S9.jpg").write_bytes(_jpeg_of_size(20000, 20000, f"patient {RRN}".encode()))
    (root / "slides" / "S8.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00broken")
    found = sorted((f.code, f.location.file) for f in _found(root, profile))
    assert found == [
        ("DEID_OTHER_TEXT_IDENTIFIER", "slides/S9.jpg"),
        ("DEID_OTHER_TEXT_UNSEARCHED", "slides/S8.jpg"),
    ], found


def test_an_rtfs_korean_escapes_are_read(tmp_path: Path, profile: Profile) -> None:
    """WordPad and Word write Korean as ``\\'b1\\'e8`` (CP949) or ``\\uN``: the name in ``note.rtf`` is
    found as in ``note.txt`` (only the phone number was)."""
    from dqm.doc_text import rtf_text

    line = "환자명: 김철수 연락처 010-1234-5678"
    body = "".join(c if ord(c) < 128 else "".join(f"\\'{b:02x}" for b in c.encode("cp949")) for c in line)
    found = {}
    for name, data in {
        "note.txt": line.encode(),
        "note.rtf": ("{\\rtf1\\ansi\\ansicpg949 " + body + "}").encode(),
    }.items():
        root = write_tiny_batch(tmp_path / name)
        (root / name).write_bytes(data)
        found[name] = sorted(f.message.replace(name, "") for f in _found(root, profile))
    assert len(found["note.txt"]) >= 2 and found["note.rtf"] == found["note.txt"], found
    assert rtf_text(b"{\\rtf1 \\u44608?\\u52384\\'3f}") == "{\\rtf1 김철}".encode()


@pytest.mark.parametrize("before", [0, 900])
def test_an_rtf_cut_at_the_bound_is_named_as_not_all_searched(
    tmp_path: Path, profile: Profile, monkeypatch: pytest.MonkeyPatch, before: int
) -> None:
    """An .rtf read up to the characters left is shorter once its escapes are read (``\\'b1\\'e8``: 8
    bytes, 2 out): the cut was measured after, never fired, and the identifier past it went
    unnoticed. Alone at the bound, or read after a README used most of it."""
    monkeypatch.setattr(dqm.batch, "MANIFEST_UNREAD_CHARS", 1000)
    root = write_tiny_batch(tmp_path / "b")
    if before:
        (root / "README.txt").write_text("notes " * (before // 6))
    pad = "\\'b1\\'e8 " * 150  # 1,350 bytes, 450 characters read
    (root / "note.rtf").write_text("{\\rtf1\\ansi\\ansicpg949 " + pad + f" RRN {RRN}}}")
    found = [(f.code, f.location.file) for f in _found(root, profile)]
    assert [c for c, _ in found if c == "DEID_OTHER_TEXT_UNSEARCHED"], found


def test_an_html_members_inline_tags_join_and_its_blocks_break() -> None:
    """Word's HTML splits a number into spans: ``<span>``, ``<a>``, ``<b>``, ``<font>``… stand for
    nothing (each was a newline, and the RRN was missed); a cell or a paragraph still ends a line."""
    page = (
        f"<html><body><p>RRN <span>900101</span>-<SPAN>1234567</SPAN></p>"
        f"<p><a href='x'>Kim</a><b>Gil</b><i>d</i><u>o</u><em>n</em><strong>g</strong>"
        f"<font face='x'>!</font><sub>1</sub><sup>2</sup></p>"
        f"<table><tr><td>12</td><td>{RRN}</td></tr></table><div>a</div><div>b</div></body></html>"
    )
    text, why = document_text(io.BytesIO(_zip({"page.html": page.encode()})), ".zip", 10_000)
    lines = text.splitlines()
    assert why is None and f"RRN {RRN}" in lines and "KimGildong!12" in lines, lines
    assert "12" in lines and RRN in lines and "a" in lines and "b" in lines, lines


LIBREOFFICE_MEMBERS = [
    "mimetype", "content.xml", "manifest.rdf", "styles.xml", "meta.xml", "Thumbnails/thumbnail.png",
    "Configurations2/accelerator/current.xml", "Configurations2/toolbar/", "settings.xml",
    "META-INF/manifest.xml", "ObjectReplacements/Object 1", "Object 1/content.xml",
]  # fmt: skip
"""The members LibreOffice writes into an .odt (docutils' ``styles.odt``), and a chart's."""


def test_a_real_libreoffice_odt_is_searched_whole() -> None:
    """LibreOffice writes ``manifest.rdf`` into every ODF file and a chart's picture into
    ``ObjectReplacements/``: each made every real .odt 'not searched'. The .rdf is XML, read."""
    members = {m: b"" if m.endswith("/") else b"\x00\x01binary" for m in LIBREOFFICE_MEMBERS}
    members["content.xml"] = f"<text:p>{RRN}</text:p>".encode()
    members["manifest.rdf"] = (
        b"<rdf:RDF><rdf:Description><x:name>Kim Gildong</x:name></rdf:Description></rdf:RDF>"
    )
    members["Object 1/content.xml"] = b"<chart:title><text:p>12</text:p></chart:title>"
    text, why = document_text(io.BytesIO(_office(members)), ".odt", 10_000)
    assert why is None and RRN in text.splitlines() and "Kim Gildong" in text, (why, text)


@pytest.mark.parametrize(
    ("rtf", "read"),
    [
        # \uc2: each \uN followed by a two-byte fallback (was 김è민Î수ö)
        (b"{\\rtf1\\uc2\\u44608\\'b1\\'e8\\u48124\\'b9\\'ce\\u49688\\'bc\\'f6}", "{\\rtf1김민수}"),
        (b"{\\rtf1\\uc0\\u44608 A}", "{\\rtf1김A}"),  # \uc0: nothing to drop (the A was)
        (b"{\\rtf1{\\uc2 \\u44608\\'b1\\'e8}\\u44608?B}", "{\\rtf1{김}김B}"),  # \uc ends with its group
        (  # Word on an English system: a Korean font in an \ansicpg1252 file (was ±è¹Î¼ö)
            b"{\\rtf1\\ansi\\ansicpg1252\\deff0{\\fonttbl{\\f0\\fswiss\\fcharset0 Arial;}"
            b"{\\f1\\fnil\\fcharset129 Gulim;}}\\f1 \\'b1\\'e8\\'b9\\'ce\\'bc\\'f6\\f0 \\'e9}",
            "{\\rtf1\\ansi\\ansicpg1252\\deff0{\\fonttbl{\\f0\\fswiss\\fcharset0 Arial;}"
            "{\\f1\\fnil\\fcharset129 Gulim;}}\\f1 김민수\\f0 é}",
        ),
    ],
)
def test_an_rtfs_unicode_fallbacks_and_font_charsets_are_read(rtf: bytes, read: str) -> None:
    from dqm.doc_text import rtf_text

    assert rtf_text(rtf).decode() == read


@pytest.mark.parametrize(
    "data",
    [
        b"{" * 500_000 + b"}" * 500_000,
        b"\\'b1" * 250_000,
        b"\\u44608" * 150_000,
        b"\\uc9\\u1" * 150_000,
        b"\\\\" * 500_000,
        b"\\plain" * 170_000,
        b"\\f1" * 340_000,
        b"{\\fonttbl" + b"{" * 1_000_000,  # a font table that never ends
        b"\\uc9" + b"\\u1\\par" * 100_000,  # fallbacks of control words
    ],
)
def test_a_hostile_rtf_costs_one_pass(data: bytes) -> None:
    """A megabyte of one token read in well under a second of CPU (a pass a token over what is
    left, or a list rebuilt a token, takes 3 to 9 s at this size): bounded at 2 s of CPU, load aside."""
    import time

    from dqm.doc_text import rtf_text

    start = time.process_time()
    out = rtf_text(data)
    assert time.process_time() - start < 2.0
    assert len(out) <= len(data)


@pytest.mark.parametrize(
    ("rtf", "read"),
    [
        # \plain: back to the default font (\deff0, Western), not the Korean one (was 0xE9 as CP949: �)
        (
            b"{\\rtf1\\ansi\\ansicpg1252\\deff0{\\fonttbl{\\f0\\fcharset0 Arial;}{\\f2\\fcharset129 Gulim;}}"
            b"\\f2 \\'c8\\'ab\\plain\\'e9\\pard\\plain \\'e9}",
            "{\\rtf1\\ansi\\ansicpg1252\\deff0{\\fonttbl{\\f0\\fcharset0 Arial;}{\\f2\\fcharset129 Gulim;}}"
            "\\f2 홍\\plainé\\pard\\plain é}",
        ),
        (b"{\\rtf1 a\\\\u1234 b}", "{\\rtf1 a\\\\u1234 b}"),  # a backslash, then u1234 (was ሴ)
        (
            b"{\\rtf1\\ansicpg1252 \\\\'b1\\'b1}",
            "{\\rtf1\\ansicpg1252 \\\\'b1±}",
        ),  # a backslash, then 'b1: no escape
        (b"{\\rtf1 \\{\\uc0 \\}\\u44608 A}", "{\\rtf1 \\{\\}김A}"),  # \{ opens no group
    ],
)
def test_rtf_plain_resets_the_font_and_an_escaped_backslash_is_a_character(rtf: bytes, read: str) -> None:
    from dqm.doc_text import rtf_text

    assert rtf_text(rtf).decode() == read


PAGE = "<html><body><p>RRN <b>900101</b>-1234567</p><p>성명: <span>홍</span>길동</p></body></html>"
"""A page whose identifiers a tag splits: inline tags join, the paragraph breaks."""


@pytest.mark.parametrize(
    ("name", "encoding"), [("note.html", "utf-8"), ("note.htm", "cp949"), ("note.xml", "utf-8")]
)
def test_a_delivered_html_is_read_through_its_tags(
    tmp_path: Path, profile: Profile, name: str, encoding: str
) -> None:
    """A loose .html/.htm/.xml was searched with its tags in (``RRN <b>900101</b>-1234567``,
    ``성명: <span>홍</span>길동``: no finding) while the same in a .zip was found: read alike now,
    a CP949 page as one."""
    found = {}
    for file, data in {
        "note.txt": "RRN 900101-1234567\n성명: 홍길동".encode(),
        name: PAGE.encode(encoding),
    }.items():
        root = write_tiny_batch(tmp_path / file)
        (root / file).write_bytes(data)
        found[file] = sorted(f.message.replace(file, "") for f in _found(root, profile))
    assert len(found["note.txt"]) >= 2 and found[name] == found["note.txt"], found


@pytest.mark.parametrize(
    ("name", "page"),
    [
        ("record.xml", '<?xml version="1.0"?><patient name="x" rrn="900101-1234567"/>'),
        ("page.html", '<p>x</p><img alt="RRN 900101-1234567"><!-- RRN 900101-1234567 -->'),
    ],
)
def test_a_delivered_pages_attributes_are_still_searched(
    tmp_path: Path, profile: Profile, name: str, page: str
) -> None:
    """Reading a loose page through its tags keeps what its tags hold (an attribute, a comment),
    searched after its text: they were searched raw before, and must not be lost."""
    root = write_tiny_batch(tmp_path / "b")
    (root / name).write_text(page)
    assert [f for f in _found(root, profile) if f.code == "DEID_OTHER_TEXT_IDENTIFIER"]


def test_an_rtf_member_of_a_zip_has_its_escapes_read(tmp_path: Path, profile: Profile) -> None:
    """An .rtf inside a .zip was read as UTF-8, its ``\\'c8\\'ab`` escapes left: read as a loose .rtf
    is now (its name found in the batch too)."""
    line = "환자명: 홍길동"
    body = "".join(c if ord(c) < 128 else "".join(f"\\'{b:02x}" for b in c.encode("cp949")) for c in line)
    rtf = ("{\\rtf1\\ansi\\ansicpg949 " + body + "}").encode()
    text, why = document_text(
        io.BytesIO(_zip({"notes/note.rtf": rtf, "page.htm": PAGE.encode()})), ".zip", 10_000
    )
    assert why is None and line in text and "RRN 900101-1234567" in text.splitlines(), text
    root = write_tiny_batch(tmp_path / "b")
    (root / "notes.zip").write_bytes(_zip({"note.rtf": rtf}))
    assert [f for f in _found(root, profile) if f.code == "DEID_OTHER_TEXT_IDENTIFIER"]


# Session 28 (texts2): text no check searched yet.


def _tar(members: dict[str, bytes], mode: str = "w", link: str = "") -> bytes:
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        if link:
            info = tarfile.TarInfo("scans/latest")
            info.type = tarfile.SYMTYPE
            info.linkname = link
            tf.addfile(info)
    return buf.getvalue()


@pytest.mark.parametrize("name", ["manifest.csv", "truth.csv", "corruption.csv", "SHA256SUMS"])
def test_bookkeeping_names_below_the_root_are_searched(tmp_path: Path, profile: Profile, name: str) -> None:
    """dqm's own ``truth.csv``, ``manifest.csv``… are at the root: in a folder below it such a file
    was left out of every listing at any depth, its text and its folder's name never searched."""
    root = write_tiny_batch(tmp_path / "b")
    (root / "old").mkdir()
    (root / "old" / name).write_text(f"slide,patient\nS1,{RRN}\n")
    (root / f"ward {RRN}").mkdir()
    (root / f"ward {RRN}" / name).write_text("clean\n")
    run = run_batch(root, profile, RunOptions(workers=1))
    found = sorted((f.code, f.location.file) for f in run.findings if f.code.startswith("DEID_OTHER"))
    assert ("DEID_OTHER_TEXT_IDENTIFIER", f"old/{name}") in found, found
    assert any(c == "DEID_OTHER_NAME_IDENTIFIER" for c, _ in found), found


@pytest.mark.parametrize(
    ("ext", "data", "read"),
    [
        (".xml", f"<a>RRN <![CDATA[{RRN}]]></a>".encode(), f"RRN {RRN}"),
        (".html", b"<p>RRN <![CDATA[900101-<b>1234567]]></p>", "RRN 900101-<b>1234567"),
        (".xml", b"<a><![CDATA[unended 900101-1234567", "unended 900101-1234567"),
    ],
)
def test_a_cdata_sections_text_is_read(ext: str, data: bytes, read: str) -> None:
    """``<![CDATA[…]]>`` was taken for one tag: its text dropped (no tag, no entity read in it)."""
    from dqm.doc_text import markup_text

    assert read in markup_text(data, ext).decode().splitlines(), markup_text(data, ext)


@pytest.mark.parametrize(
    "content",
    [
        b"BT [(900101-)300(1234567)] TJ ET",  # a positive number tightens: no space
        b"BT (900101-) Tj <FEFF0031003200330034003500360037> Tj ET",  # a literal, then UTF-16
        b"BT [<FEFF003900300030003100300031002D>(1234567)] TJ ET",  # UTF-16, then a literal
    ],
)
def test_a_pdfs_tightened_and_mixed_runs_are_one_string(content: bytes) -> None:
    text, why = document_text(io.BytesIO(_pdf(content)), ".pdf", 10_000)
    assert RRN in text.splitlines() and why is None, (text, why)


@pytest.mark.parametrize(
    ("rtf", "read"),
    [
        (  # a font table past its first 64 KiB (a hundred embedded fonts): the font's charset read
            b"{\\rtf1\\ansi\\ansicpg1252{\\fonttbl"
            + b"".join(b"{\\f%d\\fnil Font number %d;}" % (i + 2, i) for i in range(3000))
            + b"{\\f1\\fnil\\fcharset129 Gulim;}}\\f1 \\'b1\\'e8\\'b9\\'ce\\'bc\\'f6}",
            "김민수}",
        ),
        (b"{\\rtf1\\uc2\\u44608\\hich\\'b1X}", "{\\rtf1김X}"),  # a control word is one fallback unit
        (b"{\\rtf1\\uc1\\u44608\\~X}", "{\\rtf1김X}"),  # so is a control symbol
    ],
)
def test_an_rtfs_long_font_table_and_control_word_fallbacks_are_read(rtf: bytes, read: str) -> None:
    from dqm.doc_text import rtf_text

    assert rtf_text(rtf).decode().endswith(read), rtf_text(rtf)[-60:]


@pytest.mark.parametrize(
    ("name", "mode"),
    [
        ("scans.tar", "w"),
        ("scans.tar.gz", "w:gz"),
        ("scans.tgz", "w:gz"),
        ("scans.tar.bz2", "w:bz2"),
        ("scans.tar.xz", "w:xz"),
        ("mislabelled.tar", "w:gz"),  # known by its first bytes
    ],
)
def test_a_tar_archives_member_names_are_searched(
    tmp_path: Path, profile: Profile, name: str, mode: str
) -> None:
    """A ``.tar``, ``.tar.gz``… was named as not searched: its member names (and a link's target,
    never followed) are read now, never its members' data."""
    root = write_tiny_batch(tmp_path / "b")
    (root / name).write_bytes(_tar({f"scans/{RRN}.svs": b"x" * 1000}, mode))
    found = [(f.code, f.location.file) for f in _found(root, profile)]
    assert found == [("DEID_OTHER_TEXT_IDENTIFIER", name)], found
    text, why = document_text(io.BytesIO(_tar({"a.svs": b""}, mode, link=f"../{RRN}")), ".tar", 10_000)
    assert f"../{RRN}" in text.splitlines() and why is None, (text, why)


def test_a_tar_bomb_is_read_within_its_bound() -> None:
    """A .tar.gz of one 200 MB member of zeros (200 KB): decompressed no further than the bound to
    get past it, the names after it named as not read; well under a second of CPU."""
    import gzip
    import tarfile
    import time

    import dqm.doc_text

    head = tarfile.TarInfo("zeros")
    head.size = 200_000_000
    gz = gzip.compress(head.tobuf() + bytes(200_000_000) + _tar({f"{RRN}.svs": b""}), 9)
    assert len(gz) < 300_000
    start = time.process_time()
    text, why = document_text(io.BytesIO(gz), ".tar.gz", 1000)
    assert why == "past the bound read" and text == "zeros", (text, why)
    assert time.process_time() - start < 0.2 * dqm.doc_text.MAX_TAR_READ / 10_000_000


@pytest.mark.parametrize("data", [b"garbage" * 100, b"\x1f\x8b\x08 garbage" * 10, b"BZh9 x", b""])
def test_a_tar_that_is_no_tar_is_named(data: bytes) -> None:
    assert document_text(io.BytesIO(data), ".tar", 1000) == ("", "not a readable tar archive")


def test_an_archive_of_too_many_members_is_not_opened(monkeypatch: pytest.MonkeyPatch) -> None:
    """zipfile reads a ZIP's whole central directory at once, an object a member: a million empty
    members took about 1 GB. Past the bound the ZIP is named, its directory never read (ZIP64's end
    records too: past 65,535 members)."""
    import dqm.doc_text

    data = _zip({str(i): b"" for i in range(70_000)})  # 65,535 members or more: ZIP64's end records
    monkeypatch.setattr(dqm.doc_text, "MAX_ARCHIVE_MEMBERS", 69_999)
    assert document_text(io.BytesIO(data), ".zip", 1000) == ("", "more members than dqm reads in one archive")
    monkeypatch.setattr(dqm.doc_text, "MAX_ARCHIVE_MEMBERS", 70_000)
    assert document_text(io.BytesIO(data), ".zip", 1000)[1] == "past the bound read"
    monkeypatch.setattr(dqm.doc_text, "MAX_ARCHIVE_MEMBERS", 3)
    small = _zip({str(i): b"" for i in range(4)})
    assert document_text(io.BytesIO(small), ".docx", 1000)[1] == "more members than dqm reads in one archive"
    assert document_text(io.BytesIO(_tar({str(i): b"" for i in range(4)})), ".tar", 1000) == (
        "0\n1\n2",
        "more members than dqm reads in one archive",
    )


def test_files_past_the_batchs_bound_are_named(
    tmp_path: Path, profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two archives' names fill the batch's bound: each file after them was left in silence under
    one warning of the batch; each is named now."""
    monkeypatch.setattr(dqm.batch, "MANIFEST_UNREAD_CHARS", 2000)
    monkeypatch.setattr(dqm.batch, "MAX_DOCUMENT_BYTES", 1000)
    root = write_tiny_batch(tmp_path / "b")
    for name in ("a.zip", "b.zip"):
        (root / name).write_bytes(_zip({f"tiles/{i:07d}.txt": b"" for i in range(200)}))
    (root / "z_note.txt").write_text(f"patient {RRN}\n")
    found = [(f.code, f.location.file) for f in _found(root, profile)]
    assert ("DEID_OTHER_TEXT_UNSEARCHED", "z_note.txt") in found, found


def test_a_batchs_tars_share_one_bound(
    tmp_path: Path, profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each tar.gz may decompress 64 MB to get past its members: 10,000 of them were 10,000 times
    that. All of a batch's tars share :data:`dqm.batch.MAX_TARS_READ`; past it, a tar is named."""
    monkeypatch.setattr(dqm.batch, "MAX_TARS_READ", 15_000)
    root = write_tiny_batch(tmp_path / "b")
    for name in ("a.tar.gz", "b.tar.gz"):
        (root / name).write_bytes(_tar({f"{name[0]}/{RRN}.svs": b"x" * 5000}, "w:gz"))
    run = run_batch(root, profile, RunOptions(workers=1))
    found = [(f.code, f.location.file) for f in run.findings if f.code.startswith("DEID_OTHER_TEXT")]
    assert found == [
        ("DEID_OTHER_TEXT_IDENTIFIER", "a.tar.gz"),
        ("DEID_OTHER_TEXT_UNSEARCHED", "b.tar.gz"),
    ], found
    unsearched = next(f for f in run.findings if f.code == "DEID_OTHER_TEXT_UNSEARCHED")
    assert "past the bound read" in unsearched.message


# Session 28 (textsf): the review of texts2.


def _raw_tar(members: list[tuple[bytes, bytes]]) -> bytes:
    """A tar whose member names (and link targets) are these bytes, as a Korean Windows writes them."""
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT, encoding="utf-8") as tf:
        for name, link in members:
            info = tarfile.TarInfo(name.decode("utf-8", "surrogateescape"))
            if link:
                info.type = tarfile.SYMTYPE
                info.linkname = link.decode("utf-8", "surrogateescape")
            tf.addfile(info, io.BytesIO(b""))
    return buf.getvalue()


def test_a_tar_of_cp949_names_is_searched_not_a_crash(tmp_path: Path, profile: Profile) -> None:
    """A name that is not UTF-8 (a tar made on a Korean Windows) stopped the whole audit
    (UnicodeEncodeError, exit 4, no results): it is read as CP949, as every other delivered text,
    so its Korean name and the RRN in another name are searched."""
    tar = _raw_tar(
        [
            ("환자 김철수.txt".encode("cp949"), b""),
            (f"스캔 {RRN}.svs".encode("cp949"), b""),
            (b"latest", f"../검사 {RRN}".encode("cp949")),
        ]
    )
    text, why = document_text(io.BytesIO(tar), ".tar", 10_000)
    assert text.splitlines() == ["환자 김철수.txt", f"스캔 {RRN}.svs", "latest", f"../검사 {RRN}"], text
    assert why is None
    root = write_tiny_batch(tmp_path / "b")
    (root / "notes.tar").write_bytes(tar)
    found = [(f.code, f.location.file) for f in _found(root, profile)]
    # the RRN, and the Korean name (a quasi-identifier): both read only as CP949
    assert found == [("DEID_OTHER_TEXT_IDENTIFIER", "notes.tar"), ("DEID_OTHER_TEXT_QUASI", "notes.tar")], (
        found
    )
    result = CliRunner().invoke(app, ["audit", str(root), "--out", str(tmp_path / "out")])
    assert result.exit_code != 4, result.output
    assert (tmp_path / "out" / "results.json").is_file(), result.output


def test_a_tar_size_past_any_seek_is_named_not_raised() -> None:
    """A base-256 size of 2**80: seeking past it in a file in memory raised OverflowError."""
    import tarfile

    h = bytearray(tarfile.TarInfo("a").tobuf(format=tarfile.GNU_FORMAT))
    h[124:136] = b"\x80" + (2**80).to_bytes(11, "big")
    h[148:156] = b"        "
    h[148:156] = b"%06o\0 " % sum(h)
    assert document_text(io.BytesIO(bytes(h) + bytes(1024)), ".tar", 1000) == (
        "a",
        "not a readable tar archive",
    )


def _zip_of(count: int) -> bytes:
    return _zip({f"{i}.txt": b"" for i in range(count)})


def test_a_zips_member_bound_holds_whatever_its_end_record_counts_say(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The bound trusted counts zipfile never reads, from end records found otherwise than zipfile
    finds them: A, ``PK\\x05\\x06`` in the end record's own counts (no end record found: opened
    unbounded); C, counts that say 2. The member headers in the directory zipfile reads are counted."""
    import struct

    import dqm.doc_text

    monkeypatch.setattr(dqm.doc_text, "MAX_ARCHIVE_MEMBERS", 3)
    good = _zip_of(10)
    end = len(good) - 22
    a = good[: end + 8] + b"PK\x05\x06" + good[end + 12 :]
    fields = list(struct.unpack("<4s4H2LH", good[end:]))
    fields[3] = fields[4] = 2
    c = good[:end] + struct.pack("<4s4H2LH", *fields)
    for data in (good, a, c):
        assert len(zipfile.ZipFile(io.BytesIO(data)).infolist()) == 10  # zipfile reads all ten
        assert document_text(io.BytesIO(data), ".zip", 1000) == (
            "",
            "more members than dqm reads in one archive",
        )
    monkeypatch.setattr(dqm.doc_text, "MAX_ARCHIVE_MEMBERS", 10)
    for data in (good, a, c):
        assert document_text(io.BytesIO(data), ".zip", 1000)[0].split() == [f"{i}.txt" for i in range(10)]


def test_a_zip64_locator_pointing_elsewhere_does_not_lift_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """B: the ZIP64 locator's offset pointed away from its record: the bound kept the 16-bit count
    (65,535), zipfile read the ZIP64 record just before the locator, whatever its offset says."""
    import struct

    import dqm.doc_text

    data = bytearray(_zip_of(70_000))
    struct.pack_into("<Q", data, data.rfind(b"PK\x06\x07") + 8, 0)  # the locator's offset: a local header
    try:
        listed = len(zipfile.ZipFile(io.BytesIO(bytes(data))).infolist())
    except zipfile.BadZipFile:  # CPython's fix for CVE-2025-8291 (gh-139700) reads where the locator says
        listed = None
    assert listed in (70_000, None)
    monkeypatch.setattr(dqm.doc_text, "MAX_ARCHIVE_MEMBERS", 69_999)
    assert document_text(io.BytesIO(bytes(data)), ".zip", 1000) in (
        ("", "more members than dqm reads in one archive"),
        ("", "not a readable ZIP file"),
    )
    if listed is not None:  # the fixed zipfile refuses it; dqm counts both readings' directories
        assert (
            document_text(io.BytesIO(bytes(data)), ".zip", 1000)[1]
            == "more members than dqm reads in one archive"
        )


_END_REC_DATA = getattr(zipfile, "_EndRecData", None)
"""zipfile's private end-record reader, None in a Python without it (its comparisons skipped)."""


def _fixed_end_rec_data(fh: io.BytesIO) -> list[object] | None:
    """``zipfile._EndRecData`` as CPython's fix for CVE-2025-8291 (gh-139700, 3.10 to 3.14's
    security releases) has it, from the installed one: a ZIP64 record read where its locator says
    (else just before the locator), refused where the directory does not end at the locator's
    offset, and its place reported (before the fix: the end record's; left as it is where the
    installed zipfile has the fix already)."""
    import struct

    assert _END_REC_DATA is not None  # never called without it (its users skip)
    end = _END_REC_DATA(fh)
    if not end or end[0] != b"PK\x06\x06":
        return end
    fh.seek(end[9])
    if fh.read(4) != b"PK\x05\x06":  # the installed zipfile reports the ZIP64 record's place
        return end
    locator = end[9] - 20
    fh.seek(locator)
    reloff = struct.unpack("<4sLQL", fh.read(20))[2]
    fh.seek(reloff)
    record = reloff if fh.read(4) == b"PK\x06\x06" else locator - 56
    fh.seek(record)
    size, offset = struct.unpack("<4sQ2H2L4Q", fh.read(56))[-2:]
    if offset + size != reloff:
        raise zipfile.BadZipFile("Corrupt zip64 end of central directory record")
    end[9] = record
    return end


def _zip64_directory_first(count: int) -> bytes:
    """A ZIP64 of ``count`` empty members whose directory starts the file: no local headers, which
    zipfile never reads to list the members."""
    import struct

    directory = b"".join(
        struct.pack(
            "<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 0, 20, 0, 0, 0, 0, 33, 0, 0, 0, len(n), 0, 0, 0, 0, 0, 0
        )
        + n
        for n in (f"{i}.txt".encode() for i in range(count))
    )
    size = len(directory)
    record = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, size, 0)
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, size, 1)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return directory + record + locator + end


def _small_zip64(count: int, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """A ZIP64 zipfile writes, of ``count`` members (its ZIP64 end records written past 5 members)."""
    with monkeypatch.context() as m:
        m.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 5)
        data = _zip_of(count)
    assert data.rfind(b"PK\x06\x06") > 0
    return data


def test_a_zip64s_member_bound_holds_under_either_zipfile_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    """CPython's fix for CVE-2025-8291 made ``_EndRecData`` report the ZIP64 record's place, not the
    end record's: the bound, counted 76 bytes short of it, read no directory where it starts in the
    first 76 bytes (opened unbounded) and missed the last 76 bytes of a zipfile-written one (100,001
    members opened). Each is counted whole under either reading (both are read: :func:`zip_end`)."""
    from dqm.doc_text import _zip_members_bound

    first = _zip64_directory_first(20)
    written = _small_zip64(10, monkeypatch)
    assert [len(zipfile.ZipFile(io.BytesIO(d)).infolist()) for d in (first, written)] == [20, 10]
    assert [_zip_members_bound(io.BytesIO(d)) for d in (first, written)] == [20, 10]


def test_a_zip64_whose_directory_starts_the_file_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read by the zipfile installed, whichever reading it has: past the bound not opened, within it read."""
    import dqm.doc_text

    data = _zip64_directory_first(20)
    monkeypatch.setattr(dqm.doc_text, "MAX_ARCHIVE_MEMBERS", 19)
    assert document_text(io.BytesIO(data), ".zip", 1000) == ("", "more members than dqm reads in one archive")
    monkeypatch.setattr(dqm.doc_text, "MAX_ARCHIVE_MEMBERS", 20)
    assert document_text(io.BytesIO(data), ".zip", 1000)[0].split() == [f"{i}.txt" for i in range(20)]


def test_an_empty_member_after_the_bound_is_spent_is_not_named() -> None:
    """Only a member with bytes left unread is past the bound: an empty one was named so."""
    from dqm.doc_text import zip_text

    assert zip_text(io.BytesIO(_zip({"empty.txt": b""})), 1000, False, [0]) == ("empty.txt", None)
    assert zip_text(io.BytesIO(_zip({"empty.txt": b"", "b.txt": b"x"})), 1000, False, [0]) == (
        "empty.txt\nb.txt",
        "past the bound read",
    )


def test_an_escaped_brace_is_one_rtf_fallback_unit() -> None:
    """``\\{`` and ``\\}`` are control symbols: one unit of a ``\\uN``'s fallback, not its end."""
    from dqm.doc_text import rtf_text

    assert rtf_text(rb"{\rtf1\uc1\u44608\{X}") == "{\\rtf1김X}".encode()
    assert rtf_text(rb"{\rtf1\uc2\u44608\}\'b1X}") == "{\\rtf1김X}".encode()


def test_a_batchs_zips_and_pdfs_share_one_inflation_bound(
    tmp_path: Path, profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each ZIP or PDF may inflate 4 MB: 10,000 of them, markup with little text, were 40 GB. All
    of a batch's share :data:`dqm.batch.MAX_DOCUMENTS_INFLATED`; past it, a document is named."""
    monkeypatch.setattr(dqm.batch, "MAX_DOCUMENTS_INFLATED", 15_000)
    root = write_tiny_batch(tmp_path / "b")
    for name in ("a.zip", "b.zip"):
        (root / name).write_bytes(_zip({"note.txt": b" " * 9000 + RRN.encode()}))
    (root / "c.pdf").write_bytes(_pdf(b"BT (" + RRN.encode() + b") Tj ET", flate=True))
    run = run_batch(root, profile, RunOptions(workers=1))
    found = [(f.code, f.location.file) for f in run.findings if f.code.startswith("DEID_OTHER_TEXT")]
    assert found == [
        ("DEID_OTHER_TEXT_IDENTIFIER", "a.zip"),
        ("DEID_OTHER_TEXT_UNSEARCHED", "b.zip"),
        ("DEID_OTHER_TEXT_UNSEARCHED", "c.pdf"),
    ], found
    inflated = [10]
    text, why = document_text(
        io.BytesIO(_pdf(b"BT (" + RRN.encode() + b") Tj ET", flate=True)), ".pdf", 1000, None, inflated
    )
    assert RRN not in text and why == "a stream past the bound read" and inflated == [0], (text, why)


# Session 29 (texts3): dqm's own ZIP end record reader; ZIP names in CP949.


def _hostile_zips(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Real and hostile ZIPs whose end records zipfile reads in its own way."""
    import struct

    plain = _zip({"a.txt": b"x", "b/c.txt": b"y"})
    zip64 = _small_zip64(10, monkeypatch)
    fake_end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 9, 9, 999, 3, 0)
    locator_elsewhere = bytearray(zip64)
    struct.pack_into("<Q", locator_elsewhere, zip64.rfind(b"PK\x06\x07") + 8, 0)
    end = len(plain) - 22
    return {
        "plain": plain,
        "comment": _zip({"a.txt": b"x"}, comment=b"for the record"),
        "fake end in comment": _zip({"a.txt": b"x"}, comment=b"note " + fake_end),
        "fake end is the comment": _zip({"a.txt": b"x"}, comment=fake_end),
        "counts hold the signature": plain[: end + 8] + b"PK\x05\x06" + plain[end + 12 :],
        "empty": _zip({}),
        "zip64": zip64,
        "zip64 locator elsewhere": bytes(locator_elsewhere),
        "zip64 directory first": _zip64_directory_first(20),
        "self-extractor": b"MZ\x90\x00" + bytes(5000) + plain,
        "prepended, zip64": b"#!/bin/sh\nexit 0\n" + zip64,
        "truncated end": plain[:-5],
        "truncated directory": plain[:40] + plain[60:],
        "head only": plain[:10],
        "no bytes": b"",
        "zip64, record cut": zip64[: zip64.rfind(b"PK\x06\x06") + 10] + zip64[zip64.rfind(b"PK\x06\x07") :],
    }


def test_dqms_zip_end_reader_agrees_with_zipfile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The member bound read a ZIP's end records with ``zipfile._EndRecData``, private and absent
    in some Python (AttributeError, uncaught): dqm reads them itself, as zipfile does before and
    after CPython's CVE-2025-8291 fix. Where the installed zipfile opens a file, its reading finds
    the directory where zipfile reads it, the same comment, and a bound at least its member count;
    its private reader and the fixed one (:func:`_fixed_end_rec_data`) give the same records."""
    from dqm.doc_text import _zip_members_bound, zip_end

    zips = _hostile_zips(monkeypatch)
    probe = tmp_path / "probe.zip"
    probe.write_bytes(zips["zip64 locator elsewhere"])
    try:  # the fixed zipfile follows the locator and refuses it; before the fix it is read
        zipfile.ZipFile(probe).close()
        installed_fixed = False
    except zipfile.BadZipFile:
        installed_fixed = True
    private = getattr(zipfile, "_EndRecData", None)
    opened = set()
    for name, data in zips.items():
        path = tmp_path / "z.zip"
        path.write_bytes(data)
        with path.open("rb") as fh:
            readings = {fixed: zip_end(fh, fixed) for fixed in (False, True)}
            bound = _zip_members_bound(fh)
            references = (
                [(True, private)]
                if installed_fixed
                else [(False, private), (True, _fixed_end_rec_data if private is not None else None)]
            )
            for fixed, reference in references:
                if reference is None:
                    continue
                try:
                    rec = reference(fh)
                except (zipfile.BadZipFile, OSError):
                    rec = None
                if (
                    reference is _fixed_end_rec_data
                    and rec
                    and rec[0] != b"PK\x06\x06"
                    and b"PK\x06\x07" in data
                ):
                    continue  # simulated only where the installed zipfile reads a ZIP64 record
                end = readings[fixed]
                if rec is None:
                    assert end is None, (name, fixed, end)
                    continue
                zip64 = rec[0] == b"PK\x06\x06"
                location = rec[9] - 76 if zip64 and not fixed else rec[9]
                assert end == (rec[5], rec[6], rec[8], location, zip64), (name, fixed, end, rec)
        try:
            with zipfile.ZipFile(path) as zf:
                listed, start, comment = len(zf.infolist()), zf.start_dir, zf.comment
        except zipfile.BadZipFile:
            continue
        opened.add(name)
        end = readings[installed_fixed]
        assert end is not None and (end.location - end.size, end.comment) == (start, comment), name
        assert bound is not None and bound >= listed, (name, bound, listed)
    assert {"plain", "comment", "empty", "zip64", "self-extractor"} <= opened, opened
    assert not {"truncated end", "head only", "no bytes", "fake end in comment"} & opened


def test_the_member_bound_needs_no_private_zipfile_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Python whose zipfile has no ``_EndRecData``: the bound raised AttributeError, uncaught."""
    from dqm.doc_text import _zip_members_bound

    data = _zip({f"scans/{i}.txt": b"" for i in range(7)})
    monkeypatch.delattr(zipfile, "_EndRecData", raising=False)
    assert _zip_members_bound(io.BytesIO(data)) == 7


def _zip_raw_names(names: list[bytes]) -> bytes:
    """A ZIP whose member names are these bytes, without the UTF-8 flag (Windows Explorer, ALZip)."""
    data = _zip({"abcdefgh"[i] * len(n): b"" for i, n in enumerate(names)})
    for i, name in enumerate(names):
        data = data.replace(("abcdefgh"[i] * len(name)).encode(), name)
    return data


def test_a_zips_cp949_names_are_searched_as_korean(tmp_path: Path, profile: Profile) -> None:
    """A name without the UTF-8 flag was read as CP437 only: a Korean name from a Korean Windows was
    mojibake, its Hangul name never found (an ASCII RRN in it was). Read as a tar's name is now."""
    from dqm.doc_text import zip_text

    names = [
        "환자 김철수.txt".encode("cp949"),
        f"스캔 {RRN}.txt".encode("cp949"),
        b"plain.txt",
        "é.txt".encode(),
    ]
    data = _zip_raw_names(names)
    assert not any(i.flag_bits & 0x800 for i in zipfile.ZipFile(io.BytesIO(data)).infolist())
    text, _why = zip_text(io.BytesIO(data), 10_000, False)
    assert [line for line in text.splitlines() if line] == [
        "환자 김철수.txt",
        f"스캔 {RRN}.txt",
        "plain.txt",
        "é.txt",
    ]
    # bytes neither UTF-8 nor CP949 stay as zipfile read them (CP437)
    odd = _zip_raw_names([b"\xff\xfe.txt"])
    assert zip_text(io.BytesIO(odd), 1000, False)[0].split("\n")[0] == b"\xff\xfe.txt".decode("cp437")
    root = write_tiny_batch(tmp_path / "b")
    (root / "notes.zip").write_bytes(data)
    found = [(f.code, f.location.file) for f in _found(root, profile)]
    assert found == [("DEID_OTHER_TEXT_IDENTIFIER", "notes.zip"), ("DEID_OTHER_TEXT_QUASI", "notes.zip")], (
        found
    )
    quasi = next(f for f in _found(root, profile) if f.code == "DEID_OTHER_TEXT_QUASI")
    assert "김철수" not in quasi.message, quasi.message  # the name masked


def test_a_vendors_truth_or_corruption_csv_at_the_root_is_searched(tmp_path: Path, profile: Profile) -> None:
    """At the root, ``truth.csv`` and ``corruption.csv`` were taken for dqm's own (synth's, corrupt's)
    whatever they held: a vendor's, with a patient's RRN, was neither searched nor named."""
    root = write_tiny_batch(tmp_path / "b")
    (root / "truth.csv").write_text(f"slide,patient\nS1,{RRN}\n")
    (root / "corruption.csv").write_text(f"slide_id,rrn\nS1,{RRN}\n")
    found = sorted((f.code, f.location.file) for f in _found(root, profile))
    assert found == [
        ("DEID_OTHER_TEXT_IDENTIFIER", "corruption.csv"),
        ("DEID_OTHER_TEXT_IDENTIFIER", "truth.csv"),
    ], found


def test_a_zips_cp949_comment_and_text_member_are_searched_as_korean(
    tmp_path: Path, profile: Profile
) -> None:
    """A ZIP's comment and text members were read as UTF-8 only: Hangul that ALZip or Notepad (ANSI)
    wrote in CP949 became U+FFFD and the name in it was never found, though the same bytes loose
    were. They are read as a loose file is now (UTF-8, and CP949 where bytes were bad)."""
    from dqm.doc_text import zip_text

    note = "환자 성명: 김철수\n".encode("cp949")
    text, why = zip_text(io.BytesIO(_zip({"a.bin": b""}, comment=note)), 10_000, False)
    assert "김철수" in text, text
    text, why = zip_text(
        io.BytesIO(_zip({"note.txt": note, "b.csv": "이름,김영희\n".encode("cp949")})), 10_000, False
    )
    assert "김철수" in text and "김영희" in text and why is None, (text, why)
    utf8 = "환자 성명: 김철수\n".encode()
    assert zip_text(io.BytesIO(_zip({"note.txt": utf8})), 10_000, False)[0] == "note.txt\n" + utf8.decode()
    for label, data in {
        "comment": _zip({"a.txt": b""}, comment=note),
        "member": _zip({"note.txt": note}),
    }.items():
        root = write_tiny_batch(tmp_path / label)
        (root / "notes.zip").write_bytes(data)
        found = _found(root, profile)
        assert [(f.code, f.location.file) for f in found] == [("DEID_OTHER_TEXT_IDENTIFIER", "notes.zip")], (
            found
        )
        assert "김철수" not in found[0].message, found[0].message  # the name masked


def test_a_nul_in_a_zip_member_name_hides_nothing(tmp_path: Path, profile: Profile) -> None:
    """zipfile cuts ``filename`` at a NUL: an RRN after it (``scan.txt\\0`` and the number) was never
    searched. The whole name (``orig_filename``) is, its NUL shown escaped."""
    from dqm.doc_text import zip_text

    data = _zip_raw_names([b"scan.txt\x00" + RRN.encode(), b"x\x00" + "환자 김철수".encode("cp949")])
    text, _why = zip_text(io.BytesIO(data), 10_000, False)
    assert text.split("\n")[:2] == [f"scan.txt\\x00 {RRN}", "x\\x00 환자 김철수"], text
    root = write_tiny_batch(tmp_path / "b")
    (root / "notes.zip").write_bytes(_zip_raw_names([b"scan.txt\x00" + RRN.encode()]))
    found = [(f.code, f.location.file) for f in _found(root, profile)]
    assert found == [("DEID_OTHER_TEXT_IDENTIFIER", "notes.zip")], found


@pytest.mark.parametrize(
    "name", ["truth.csv", "corruption.csv", "sub/truth.csv", "README.md", "sub/manifest.csv"]
)
def test_a_linked_or_special_root_note_is_named(tmp_path: Path, profile: Profile, name: str) -> None:
    """A ``truth.csv``, ``corruption.csv`` or README that is a link out of the batch or a FIFO was
    skipped by the walk (a bookkeeping name) and by the search (``jailed`` refuses it), with no
    finding; a ``notes.txt`` so was named. Each is named as any other file now."""
    import os

    from dqm.batch import discover

    root = write_tiny_batch(tmp_path / "b")
    outside = tmp_path / "outside.csv"
    outside.write_text(f"slide,patient\nS1,{RRN}\n")
    (root / name).parent.mkdir(exist_ok=True)
    (root / name).symlink_to(outside)
    codes = [(i.code, i.file) for i in discover(root).issues if i.file == name]
    assert codes == [("SYMLINK_OUTSIDE_BATCH", name)], codes
    assert name not in discover(root).notes
    (root / name).unlink()
    os.mkfifo(root / name)
    codes = [(i.code, i.file) for i in discover(root).issues if i.file == name]
    assert codes == [("SPECIAL_FILE", name)], codes
    (root / name).unlink()
    (root / name).symlink_to(root / "manifest.csv")  # a link inside the batch: read
    assert name in discover(root).notes


def test_a_vendors_truth_csv_with_dqms_header_is_searched(tmp_path: Path, profile: Profile) -> None:
    """A root ``truth.csv`` or ``corruption.csv`` whose first row was dqm's own header was taken for
    dqm's bookkeeping whatever its rows held: an RRN under ``slide_id,defect,code`` was never
    searched. Both are searched always (dqm's own hold slide ids and codes only: no finding)."""
    from dqm.batch import discover

    root = write_tiny_batch(tmp_path / "b")
    (root / "truth.csv").write_text(f"slide_id,defect,code\nS1,{RRN},x\n")
    (root / "corruption.csv").write_text(f"slide_id,kind,detail\nS1,truncate,{RRN}\n")
    found = sorted((f.code, f.location.file) for f in _found(root, profile))
    assert found == [
        ("DEID_OTHER_TEXT_IDENTIFIER", "corruption.csv"),
        ("DEID_OTHER_TEXT_IDENTIFIER", "truth.csv"),
    ], found
    (root / "truth.csv").write_text("slide_id,defect,code\nS1,blank_slide,SLIDE_BLANK\n")
    (root / "corruption.csv").write_text("slide_id,kind,detail\r\nS1,truncate,cut at 10 bytes\r\n")
    assert {"truth.csv", "corruption.csv"} <= set(discover(root).notes)
    assert _found(root, profile) == []


@pytest.mark.parametrize(
    "name",
    [
        "notes.alz",
        "notes.egg",
        "notes.zipx",
        "disc.iso",
        "old.lzh",
        "notes.z01",
        "notes.7z.001",
        "s1.dicom",
        "IM0001",
    ],
)
def test_alzip_split_and_dicom_kinds_are_named_unsearched(
    tmp_path: Path, profile: Profile, name: str
) -> None:
    """ALZip's ``.alz`` and ``.egg``, a ``.zipx``, an ``.iso``, an ``.lzh``, a split archive's parts,
    a ``.dicom`` and a DICOM without extension (``DICM`` at byte 128) were named ``FILE_NOT_READ``
    only, never as files whose identifiers are not searched."""
    root = write_tiny_batch(tmp_path / "b")
    (root / name).write_bytes(b"\x00" * 128 + b"DICM" + b"\x00" * 16 if name == "IM0001" else b"\x01data")
    found = [(f.code, f.location.file) for f in _found(root, profile)]
    assert found == [("DEID_OTHER_TEXT_UNSEARCHED", name)], found


def test_an_extensionless_file_that_is_no_dicom_is_not_named_unsearched(
    tmp_path: Path, profile: Profile
) -> None:
    """Guard: only a ``DICM`` at byte 128 makes an extensionless file a DICOM."""
    root = write_tiny_batch(tmp_path / "b")
    (root / "IM0001").write_bytes(b"\x00" * 200)
    assert _found(root, profile) == []


def test_the_module_imports_without_zipfiles_private_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    """This module read ``zipfile._EndRecData`` at import: on a Python without it all its tests
    failed with AttributeError, not only the comparisons that need it."""
    import importlib.util

    monkeypatch.delattr(zipfile, "_EndRecData", raising=False)
    spec = importlib.util.spec_from_file_location("_docs_without_end_rec", __file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module._END_REC_DATA is None
