"""Every page's text tags are read for the identifier checks, within fixed bounds on a hostile file."""

from __future__ import annotations

import io
import struct
import time

import numpy as np
import tifffile

from dqm.image_text import MAX_PAGES, MAX_TEXT_BYTES, MAX_TEXTS, UNREAD, VALUE_BYTES, tiff_texts


def _ifd(entries: list[tuple[int, int, int, int]], next_offset: int) -> bytes:
    """A classic little-endian IFD: (tag, type, count, value or offset) entries, then the next one."""
    body = b"".join(struct.pack("<HHII", *e) for e in entries)
    return struct.pack("<H", len(entries)) + body + struct.pack("<I", next_offset)


def test_every_pages_text_tags_are_read_and_nothing_else() -> None:
    buf = io.BytesIO()
    with tifffile.TiffWriter(buf) as tw:
        tw.write(np.zeros((32, 32, 3), np.uint8), description="main", metadata=None)
        label = np.zeros((8, 8, 3), np.uint8)
        tw.write(label, description="label S21-00042", metadata=None, extratags=[(65001, "s", 0, "x", True)])
    texts = tiff_texts(buf)
    assert texts["ImageDescription"] == [(0, "main"), (1, "label S21-00042")]
    assert texts["Tag65001"] == [(1, "x")]
    assert "ImageWidth" not in texts and "StripOffsets" not in texts


def _chain(n_pages: int, entries: list[tuple[int, int, int, int]], tail: bytes = b"") -> bytes:
    """``n_pages`` classic IFDs of the same entries chained one after another, the last pointing back
    at the first (a loop), then ``tail``; an entry's value ``-1`` stands for the tail's offset."""
    size = 2 + 12 * len(entries) + 4
    tail_at = 8 + n_pages * size
    fixed = [(t, k, c, tail_at if v == -1 else v) for t, k, c, v in entries]
    pages = [_ifd(fixed, 8 + (i + 1) * size if i < n_pages - 1 else 8) for i in range(n_pages)]
    return b"II*\x00" + struct.pack("<I", 8) + b"".join(pages) + tail


def test_a_hostile_chain_is_read_within_bounds() -> None:
    """100,000 pages chained into a loop, text counts of 4 GB, offsets past the end, an IFD
    claiming 65,535 entries, a BigTIFF offset near 2^64: a bounded walk, no exception."""
    inline = _chain(100_000, [(270, 2, 3, 0x0062_6161), (271, 2, 2**32 - 1, 2**31 + 5)])
    started = time.perf_counter()
    texts = tiff_texts(io.BytesIO(inline))
    assert texts == {
        "ImageDescription": [(page, "aab") for page in range(MAX_PAGES)],
        UNREAD: [(0, "page 0 Make: 262,144 of 4,294,967,295 bytes")],  # what was left is said
    }
    big_texts = _chain(100, [(270, 2, 2**32 - 1, -1)], b"A" * (3 * VALUE_BYTES))
    read = tiff_texts(io.BytesIO(big_texts))
    assert [len(text) for _, text in read["ImageDescription"]] == [VALUE_BYTES] * (
        MAX_TEXT_BYTES // VALUE_BYTES
    )
    assert read[UNREAD] == [(0, "page 0 ImageDescription: 262,144 of 4,294,967,295 bytes")]
    wide = b"II*\x00" + struct.pack("<IH", 8, 65535) + struct.pack("<HHII", 270, 2, 3, 0x0041_4141) * 65535
    assert tiff_texts(io.BytesIO(wide)) == {
        "ImageDescription": [(0, "AAA")] * MAX_TEXTS,
        UNREAD: [(0, "page 0: 61,439 entries past the first 4,096")],
    }
    big = b"II+\x00\x08\x00\x00\x00" + struct.pack("<QQ", 16, 1)
    big += struct.pack("<HHQQ", 270, 2, 100, 2**64 - 2) + struct.pack("<Q", 2**64 - 1)
    assert tiff_texts(io.BytesIO(big)) == {}
    assert time.perf_counter() - started < 5


def test_a_png_that_fails_to_decode_keeps_its_read_failure_and_its_text(tmp_path) -> None:
    """Its text chunks are searched all the same, and looking for its EXIF (which makes Pillow load
    a PNG) does not turn the read failure into "cannot open"."""
    from PIL import Image, PngImagePlugin

    from dqm.slide_io import ProbeOptions, probe_slide

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "scanned by Hong")
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (256, 256, 3), np.uint8)).save(
        buf, "PNG", pnginfo=info
    )
    path = tmp_path / "s1.png"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    probe = probe_slide(path, "slides/s1.png", ProbeOptions(artefacts=False))
    assert probe.open_error is None and probe.read_failure is not None
    assert probe.properties["png.Comment"] == "scanned by Hong"


def icc_profile(desc: str, copyright_: str) -> bytes:
    """A small ICC profile: a ``desc`` tag of the v2 ``desc`` type and a ``cprt`` of the v4
    ``mluc`` type (UTF-16), each naming what the caller says."""
    desc_tag = (
        b"desc" + bytes(4) + struct.pack(">I", len(desc) + 1) + desc.encode() + bytes(1 + 4 + 4 + 2 + 1 + 67)
    )
    u16 = copyright_.encode("utf-16-be")
    cprt_tag = (
        b"mluc" + bytes(4) + struct.pack(">II", 1, 12) + b"enUS" + struct.pack(">II", len(u16), 28) + u16
    )
    table_at = 128 + 4 + 12 * 2
    tags = [(b"desc", desc_tag), (b"cprt", cprt_tag)]
    table, body, at = b"", b"", table_at
    for sig, data in tags:
        table += sig + struct.pack(">II", at, len(data))
        body += data
        at += len(data)
    header = struct.pack(">I", at) + bytes(32) + b"acsp" + bytes(128 - 40)
    return header + struct.pack(">I", len(tags)) + table + body


def test_an_icc_profiles_text_is_read_from_a_tiff_page_and_a_plain_image(tmp_path) -> None:
    """A colour profile's description and copyright are text a scanner or an editor writes; no one
    read them (OpenSlide keeps the profile apart from the properties, Pillow in ``info``)."""
    from PIL import Image

    from dqm.image_text import icc_texts, pillow_texts

    icc = icc_profile("Scanner 7, Patient name: Hong", "(c) Hospital 010-2345-6789")
    assert icc_texts(icc) == [
        ("desc", "Scanner 7, Patient name: Hong"),
        ("cprt", "(c) Hospital 010-2345-6789"),
    ]
    buf = io.BytesIO()
    with tifffile.TiffWriter(buf) as tw:
        tw.write(np.zeros((32, 32, 3), np.uint8), metadata=None)
        tw.write(np.zeros((8, 8, 3), np.uint8), metadata=None, extratags=[(34675, "B", len(icc), icc, True)])
    assert tiff_texts(buf)["icc.desc"] == [(1, "Scanner 7, Patient name: Hong")]
    path = tmp_path / "s1.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(path, icc_profile=icc)
    with Image.open(path) as img:
        assert ("icc.cprt", "(c) Hospital 010-2345-6789") in pillow_texts(img)
    for cut in (1, 130, 140, len(icc) - 5):  # a profile cut short anywhere: what is whole is read
        assert isinstance(icc_texts(icc[:cut]), list)


def test_a_jpegs_xmp_packet_is_searched() -> None:
    """Pillow gives a JPEG's XMP packet as bytes (a PNG's as text): an editor's patient name
    there is read as the property ``jpeg.xmp``."""
    from PIL import Image

    from dqm.image_text import pillow_texts

    buf = io.BytesIO()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:creator>Hong Gildong</dc:creator></x:xmpmeta>'
    Image.new("RGB", (8, 8), "white").save(buf, format="JPEG", xmp=xmp)
    with Image.open(io.BytesIO(buf.getvalue())) as img:
        texts = dict(pillow_texts(img))
    assert "Hong Gildong" in texts["jpeg.xmp"]
