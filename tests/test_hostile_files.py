"""Hostile content in the files dqm decodes: slides whose header lies about their size or tiles,
plain images that decompress to gigabytes, XML that declares external entities.

Each is a finding with a reason that names the file by its place in the batch (never by the host's
folders), within bounded time and memory.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

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
    path.write_bytes(_png(20_000, 20_000))  # 1.2 GB of pixels in a 1.2 MB file
    probe = probe_slide(path, "slides/S1.png")
    assert not probe.opened and probe.open_error
    assert "too large to decode safely" in probe.open_error and "400000000 pixels" in probe.open_error
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
    assert "external" in issue.message and "file:///etc/passwd" in issue.message
    assert "root:" not in repr(ann)


def test_an_entity_with_a_huge_name_is_refused_in_a_short_message() -> None:
    name = "e" * 1_000_000
    data = f'<!DOCTYPE r [<!ENTITY {name} "x">]>{ASAP.format(name="a")}'.encode()
    (ann,) = parse_annotation(data, "annotations/S1.xml")
    (issue,) = ann.issues
    assert issue.code == "XML_FORBIDDEN" and len(issue.message) < 400
