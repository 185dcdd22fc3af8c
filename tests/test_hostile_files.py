"""Hostile content in the files dqm decodes: slides whose header lies about their size or tiles,
plain images that decompress to gigabytes, XML that declares external entities.

Each is a finding with a reason that names the file by its place in the batch (never by the host's
folders), within bounded time and memory.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from dqm.i18n import Message
from dqm.readers import parse_annotation
from dqm.slide_io import probe_slide


def _tiled_tiff(path: Path) -> bytes:
    import tifffile

    tifffile.imwrite(path, np.zeros((256, 256, 3), np.uint8), tile=(256, 256), compression="jpeg")
    return path.read_bytes()


def _patched(data: bytes, tag: int, value: int) -> bytes:
    """A classic little-endian TIFF with the first IFD's ``tag`` set to the LONG ``value``."""
    out = bytearray(data)
    ifd = struct.unpack("<I", out[4:8])[0]
    for k in range(struct.unpack("<H", out[ifd : ifd + 2])[0]):
        entry = ifd + 2 + 12 * k
        if struct.unpack("<H", out[entry : entry + 2])[0] == tag:
            out[entry + 2 : entry + 12] = struct.pack("<HII", 4, 1, value)
            return bytes(out)
    raise KeyError(tag)


@pytest.mark.parametrize(
    ("tag", "value"),
    [(256, 2**31), (324, 10**9)],
    ids=["width 2^31 with one tile", "tile offset past the end"],
)
def test_a_slide_decoders_message_names_the_file_by_its_place_in_the_batch(
    tmp_path: Path, tag: int, value: int
) -> None:
    host = tmp_path / "host-folder-of-kim"
    host.mkdir()
    path = host / "S1.tiff"
    path.write_bytes(_patched(_tiled_tiff(tmp_path / "base.tiff"), tag, value))
    probe = probe_slide(path, "slides/S1.tiff")
    assert probe.open_error and "slides/S1.tiff" in probe.open_error
    assert str(host) not in repr(probe)


def _png(width: int, height: int) -> bytes:
    """An RGB PNG of zeros: a few hundred bytes for each megapixel."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    pack = zlib.compressobj(9)
    row = bytes(1 + 3 * width)
    idat = b"".join(pack.compress(row) for _ in range(height)) + pack.flush()
    head = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_a_plain_image_too_large_to_decode_is_said_so_not_called_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "S1.png"
    path.write_bytes(_png(13_400, 13_400))  # 540 MB of pixels in a 0.5 MB file, over Pillow's limit
    probe = probe_slide(path, "slides/S1.png")
    assert not probe.opened and probe.open_error
    assert "too large to decode safely" in probe.open_error and "179560000 pixels" in probe.open_error
    assert "corrupt" not in probe.open_error


ASAP = (
    '<ASAP_Annotations><Annotations><Annotation Name="{name}" PartOfGroup="bcc" Type="Polygon">'
    '<Coordinates><Coordinate Order="0" X="0" Y="0"/><Coordinate Order="1" X="10" Y="0"/>'
    '<Coordinate Order="2" X="10" Y="10"/></Coordinates></Annotation></Annotations></ASAP_Annotations>'
)


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE r [<!ENTITY % x SYSTEM "file:///etc/passwd"> %x;]>',
    ],
    ids=["general", "parameter"],
)
def test_an_external_entity_is_refused_as_one_and_nothing_of_the_host_file_is_read(doctype: str) -> None:
    data = ('<?xml version="1.0"?>' + doctype + ASAP.format(name="&x;")).encode()
    (ann,) = parse_annotation(data, "annotations/S1.xml")
    (issue,) = ann.issues
    assert issue.code == "XML_FORBIDDEN"
    # the reference is named as every path is, masked (redteam4f2): its kind and its head only
    assert "external reference 'fi" in issue.message and "/etc/passwd" not in issue.message
    assert "root:" not in repr(ann)


def test_an_entity_with_a_huge_name_is_refused_in_a_short_message() -> None:
    name = "e" * 1_000_000
    data = f'<!DOCTYPE r [<!ENTITY {name} "x">]>{ASAP.format(name="a")}'.encode()
    (ann,) = parse_annotation(data, "annotations/S1.xml")
    (issue,) = ann.issues
    assert issue.code == "XML_FORBIDDEN" and len(issue.message) < 400


def _mask_png(array: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    return buf.getvalue()


def test_a_checkerboard_mask_is_refused_before_it_is_outlined() -> None:
    board = (np.indices((1500, 1500)).sum(0) % 2).astype(np.uint8)  # 1.1M one-pixel regions in 3 KB
    (ann,) = parse_annotation(_mask_png(board), "masks/S1.png")
    (issue,) = ann.issues
    assert issue.code == "LIMIT_EXCEEDED" and "1125000 runs" in issue.message  # background runs do not count
    assert not ann.lesions


def test_a_16_bit_mask_of_ten_thousand_labels_outlines_each() -> None:
    labels = (np.arange(10_000, dtype=np.uint16) + 1).reshape(100, 100)
    (ann,) = parse_annotation(_mask_png(labels), "masks/S1.png")
    assert len(ann.lesions) == 10_000 and not ann.issues
    assert {les.raw_class for les in ann.lesions} == {str(v) for v in range(1, 10_001)}


def test_a_tiled_mask_whose_tile_table_is_short_is_unreadable_not_a_crash() -> None:
    import tifffile

    buf = io.BytesIO()
    tifffile.imwrite(buf, np.zeros((512, 512), np.uint8), tile=(256, 256), compression="zlib")
    data = _patched(_patched(buf.getvalue(), 256, 9000), 257, 9000)  # 9000x9000 of 4 tiles
    (ann,) = parse_annotation(data, "masks/S1.tif")
    (issue,) = ann.issues
    assert issue.code == "ANNOTATION_UNREADABLE" and "x=1024, y=0 is missing" in issue.message


def test_a_coco_rle_of_a_checkerboard_is_outlined_region_by_region() -> None:
    height, width = 401, 400  # 80,200 one-pixel regions: one union of them all took minutes
    counts = [1] * (height * width)  # runs of one pixel, 0s and 1s in turn, down each column
    doc = {
        "images": [{"id": 1, "file_name": "S1.tiff", "width": width, "height": height}],
        "categories": [{"id": 1, "name": "bcc"}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "segmentation": {"size": [height, width], "counts": counts},
            }
        ],
    }
    (ann,) = parse_annotation(json.dumps(doc).encode(), "annotations/coco.json")
    (lesion,) = ann.lesions
    assert len(lesion.polygons) == height * width // 2


@pytest.mark.parametrize("same", ["file_name", "id"])
def test_a_coco_image_listed_twice_is_a_finding_and_its_lesions_are_kept(same: str) -> None:
    second = {"id": 1 if same == "id" else 2, "file_name": "S1.tiff" if same == "file_name" else "S2.tiff"}
    square = [0, 0, 10, 0, 10, 10, 0, 10]
    doc = {
        "images": [{"id": 1, "file_name": "S1.tiff", "width": 100, "height": 100}, second],
        "categories": [{"id": 1, "name": "bcc"}],
        "annotations": [
            {"id": k, "image_id": image, "category_id": 1, "segmentation": [square]}
            for k, image in ((1, 1), (2, second["id"]))
        ],
    }
    (ann,) = parse_annotation(json.dumps(doc).encode(), "annotations/coco.json")
    assert ann.image_key == "S1.tiff" and len(ann.lesions) == 2
    (issue,) = ann.issues
    assert issue.code == "COCO_DUPLICATE_IMAGE" and issue.pointer == "/images/1"


def test_a_renamed_decoder_message_keeps_its_template_for_translation(tmp_path: Path) -> None:
    path = tmp_path / "S1.tiff"
    path.write_bytes(_patched(_tiled_tiff(tmp_path / "base.tiff"), 256, 2**31))
    probe = probe_slide(path, "slides/S1.tiff")
    assert isinstance(probe.open_error, Message)
    assert str(tmp_path) not in probe.open_error.rendered(
        "ko"
    ) and "slides/S1.tiff" in probe.open_error.rendered("ko")


def test_an_audit_names_a_corrupt_slide_by_its_place_in_the_batch_in_every_output(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from dqm.cli import app
    from tests.helpers import write_tiny_batch

    root = write_tiny_batch(tmp_path / "b")
    (root / "slides" / "S1.png").unlink()
    (root / "slides" / "S1.tiff").write_bytes(_patched(_tiled_tiff(tmp_path / "base.tiff"), 324, 10**9))
    manifest = root / "manifest.csv"
    manifest.write_text(manifest.read_text().replace("slides/S1.png", "slides/S1.tiff"))
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["audit", str(root), "--out", str(out), "--workers", "1"])
    assert res.exit_code == 1, res.output
    outputs = [p for p in out.rglob("*") if p.is_file() and p.suffix in (".json", ".html", ".xml", ".md")]
    assert len(outputs) >= 4
    for p in outputs:
        assert f"{root}/slides" not in p.read_text(encoding="utf-8", errors="replace"), p.name
    assert "slides/S1.tiff" in (out / "results.json").read_text(encoding="utf-8")


def _long_png(width: int, height: int) -> bytes:
    """A black RGB PNG, compressed a piece at a time (its rows may be longer than memory wants)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    pack, piece = zlib.compressobj(1), bytes(1 << 22)
    left, parts = height * (1 + 3 * width), []  # every row: filter 0, then black pixels, all zeros
    while left:
        parts.append(pack.compress(piece[: min(left, len(piece))]))
        left -= min(left, len(piece))
    idat = b"".join(parts) + pack.flush()
    head = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize(("width", "height"), [(100_000_000, 1), (1, 100_000_000)])
def test_a_plain_image_one_pixel_thick_is_refused_before_decoding(
    tmp_path: Path, width: int, height: int
) -> None:
    """A 0.3 MB PNG of 100,000,000 x 1 pixels (under the pixel limit) crashed the audit: Pillow's
    decoder raised MemoryError for a row past 2^31 bits (CHECK_CRASHED); 1 x 100,000,000 was decoded
    whole (1.2 GB). A side past MAX_PLAIN_SIDE is refused like too many pixels, and drawn by no one."""
    from dqm.slide_io import MAX_PLAIN_SIDE, slide_thumbnail

    path = tmp_path / "S1.png"
    path.write_bytes(_long_png(width, height))
    assert max(width, height) > MAX_PLAIN_SIDE
    probe = probe_slide(path, "slides/S1.png")
    assert not probe.opened and "too large to decode safely" in (probe.open_error or "")
    assert slide_thumbnail(path, 256).failure == "too_large"


@pytest.mark.parametrize("value", [np.nan, np.inf, 1.5, 1.0])
def test_a_floating_point_mask_is_not_a_label_mask(value: float) -> None:
    """A float32 TIFF mask holding NaN crashed the annotation check (``KeyError: nan``: NaN is
    not equal to itself, so it found no region of its own value). The tiled path refused floats
    already; a mask decoded whole now does too, whatever its values."""
    import tifffile

    labels = np.zeros((64, 64), np.float32)
    labels[8:24, 8:24] = value
    buf = io.BytesIO()
    tifffile.imwrite(buf, labels, metadata=None)
    (ann,) = parse_annotation(buf.getvalue(), "masks/S1.tiff")
    assert not ann.readable and "float32" in str(ann.issues[0].message)
