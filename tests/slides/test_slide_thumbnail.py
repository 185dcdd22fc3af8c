"""The one slide-thumbnail function: bounded pictures of whole slides, or a reason, never an exception."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dqm.slide_io import slide_thumbnail


@pytest.mark.wsi
def test_real_slides_are_drawn_small_or_say_why(real_data: Path) -> None:
    seen = {}
    for path in sorted((real_data / "slides").iterdir()):
        got = slide_thumbnail(path, 256)
        if got.image is None:
            assert got.failure and got.reason, path.name
            seen[path.name] = None
            continue
        assert got.failure is None and got.reason == ""
        assert max(got.image.size) <= 256 and got.image.mode == "RGB"
        w, h = got.size
        # the thumbnail keeps the slide's aspect ratio (to a pixel)
        assert abs(got.image.size[0] / got.image.size[1] - w / h) < 2 / min(got.image.size)
        seen[path.name] = got.size
    assert seen["CMU-1-Small-Region.svs"] == (2220, 2967)
    assert seen["tcga-cr-7395-01a-01-ts1.svs"] == (4443, 3567)
    assert seen["broken.svs"] is None and seen["unopenable.tiff"] is None


def test_an_image_over_the_decode_limit_is_too_large_with_its_size(tmp_path: Path) -> None:
    Image.new("RGB", (800, 600), "white").save(tmp_path / "s.png")
    got = slide_thumbnail(tmp_path / "s.png", 100, max_decode_pixels=1000)
    assert got.image is None and got.failure == "too_large" and got.size == (800, 600)
    assert got.reason == "plain image of 800x600 pixels is too large to decode safely"


def test_jpeg_draft_decodes_a_big_jpeg_at_a_fraction_of_its_size(tmp_path: Path) -> None:
    Image.new("RGB", (4000, 3000), "pink").save(tmp_path / "s.jpg")
    got = slide_thumbnail(tmp_path / "s.jpg", 200, max_decode_pixels=4000 * 3000 // 16)
    assert got.failure is None and got.size == (4000, 3000) and got.image.size == (200, 150)
    assert got.backend == "pillow"


def test_bytes_no_library_reads_are_unreadable_not_an_exception(tmp_path: Path) -> None:
    (tmp_path / "bad.svs").write_bytes(b"not a slide at all")
    got = slide_thumbnail(tmp_path / "bad.svs", 128)
    assert got.image is None and got.size is None and got.failure == "unreadable"
    assert got.error_type == "UnidentifiedImageError" and "cannot identify image file" in got.reason
    noisy = np.random.default_rng(0).integers(0, 255, (300, 400, 3), dtype=np.uint8)
    Image.fromarray(noisy).save(tmp_path / "whole.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "whole.png").read_bytes()[:5000])  # a truncated file
    cut = slide_thumbnail(tmp_path / "cut.png", 128)
    assert cut.failure == "unreadable" and cut.size is None and cut.reason


def _tiff_with_a_tag_past_its_end(path: Path) -> None:
    """A small readable TIFF whose extra tag points past the end of the file: Pillow warns
    (``Truncated File Read``) and decodes the image anyway."""
    import struct

    import tifffile

    tifffile.imwrite(
        path,
        np.full((64, 80, 3), 200, np.uint8),
        photometric="rgb",
        extratags=[(65000, "s", 0, "x" * 64, True)],
    )
    data = bytearray(path.read_bytes())
    (ifd,) = struct.unpack_from("<I", data, 4)
    (count,) = struct.unpack_from("<H", data, ifd)
    for k in range(count):
        entry = ifd + 2 + 12 * k
        if struct.unpack_from("<H", data, entry)[0] == 65000:
            struct.pack_into("<I", data, entry + 8, 0x7FFFFFF0)
    path.write_bytes(bytes(data))


def test_a_decoders_warnings_are_not_printed(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """The probe reports them (SLIDE_METADATA_CORRUPT); the thumbnail let them reach the
    terminal, past dqm's console and its mask (``filterwarnings = error``: here they would raise)."""
    path = tmp_path / "S1.tiff"
    _tiff_with_a_tag_past_its_end(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Image.open(path).close()
    assert [str(w.message) for w in caught][:1] == ["Truncated File Read"]  # the file makes Pillow warn
    got = slide_thumbnail(path, 64)
    assert got.failure is None and got.image is not None and got.size == (80, 64)
    assert capfd.readouterr().err == ""
