"""Hostile tiled-TIFF label masks: a tile as large as the image, a blank mask of many tile rows."""

from __future__ import annotations

import io

import numpy as np
import pytest

from dqm.readers import mask, parse_annotation


def _tiff(array: np.ndarray, tile: int) -> bytes:
    import tifffile

    out = io.BytesIO()
    tifffile.imwrite(out, array, tile=(tile, tile), compression="zlib")
    return out.getvalue()


def test_a_tiled_mask_whose_one_tile_is_too_large_is_not_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    # a tile's size is the file's: one tile of 9,008 x 9,008 uint64 zeros (a 1 MB file) was decoded
    # at once, 823 MiB of peak RSS; a tile over MAX_TILE_BYTES is refused before any is decoded
    monkeypatch.setattr(mask, "MAX_PIXELS", 1000)
    monkeypatch.setattr(mask, "MAX_TILE_BYTES", 16 << 10, raising=False)
    labels = np.zeros((64, 64), np.uint64)
    labels[10:20, 10:20] = 3
    (big,) = parse_annotation(_tiff(labels, 64), "masks/S.tif")  # 64 x 64 x 8 bytes = 32 KiB
    assert not big.readable and big.issues[0].code == "LIMIT_EXCEEDED"
    assert (
        "its tiles are 64x64 pixels of uint64, 0.1 MiB each decoded, over the 0 MiB" in big.issues[0].message
    )
    (small,) = parse_annotation(_tiff(labels, 32), "masks/S.tif")  # 8 KiB tiles: read
    assert small.readable and [les.area for les in small.lesions] == [100]


@pytest.mark.parametrize("tile", [None, 16])
def test_background_runs_do_not_make_a_blank_mask_noise(
    monkeypatch: pytest.MonkeyPatch, tile: int | None
) -> None:
    # every row of every tile began a background run, counted against MAX_RUNS: a blank tiled mask of
    # 50,000 x 50,000 in tiles of 1,024 was refused as "noise or a pattern"; only runs of a label
    # other than background are outlined, and only they count
    monkeypatch.setattr(mask, "MAX_RUNS", 100)
    labels = np.zeros((150, 170), np.uint8)
    labels[40:60, 50:80] = 255  # 20 runs of 255; 150 rows, 11 x 10 tiles of 16: 1,650 row pieces
    if tile is None:
        content = io.BytesIO()
        from PIL import Image

        Image.fromarray(labels).save(content, format="PNG")
        data = content.getvalue()
    else:
        monkeypatch.setattr(mask, "MAX_PIXELS", 1000)
        data = _tiff(labels, tile)
    (ann,) = parse_annotation(data, "masks/S.png" if tile is None else "masks/S.tif")
    assert ann.readable and [les.area for les in ann.lesions] == [600]
    noise = np.zeros((150, 170), np.uint8)
    noise[:, ::2] = 1  # 85 runs of 1 a row: 12,750 (the tiles are counted until past the limit)
    (refused,) = parse_annotation(_tiff(noise, 16) if tile else _png_bytes(noise), "masks/N.tif")
    assert not refused.readable and refused.issues[0].code == "LIMIT_EXCEEDED"
    assert "runs of labels other than background, over the 100 an outline" in refused.issues[0].message


def _png_bytes(array: np.ndarray) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_a_mask_drawn_by_transparency_is_not_read_as_one_region(mode: str) -> None:
    # white everywhere, the glands opaque and the rest transparent: the colour samples were read
    # as the labels, and the whole image became one region of 255, without a finding
    from PIL import Image

    labels = np.zeros((60, 80), np.uint8)
    labels[10:30, 10:30] = 255
    white = np.full_like(labels, 255)
    bands = [white] * (3 if mode == "RGBA" else 1)
    out = io.BytesIO()
    Image.fromarray(np.dstack([*bands, labels]), mode).save(out, format="PNG")
    (ann,) = parse_annotation(out.getvalue(), "masks/S.png")
    assert not ann.readable and not ann.lesions and ann.issues[0].code == "MASK_NOT_LABELS"
    assert "alpha channel varies (0 to 255)" in ann.issues[0].message
    opaque = io.BytesIO()
    Image.fromarray(np.dstack([*([labels] * len(bands)), white]), mode).save(opaque, format="PNG")
    (read,) = parse_annotation(opaque.getvalue(), "masks/S.png")
    assert read.readable and [les.area for les in read.lesions] == [400]


def test_a_png_bomb_is_a_limit_in_the_reports_words() -> None:
    # a 300 KB PNG of 50,000 x 50,000 pixels: Pillow refuses to open it, and its English message
    # ("... could be decompression bomb DOS attack.") was the reason, ANNOTATION_UNREADABLE
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 50_000, 50_000, 1, 0, 0, 0, 0)
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
    (ann,) = parse_annotation(bomb + chunk(b"IEND", b""), "masks/S.png")
    assert not ann.readable and ann.issues[0].code == "LIMIT_EXCEEDED"
    from PIL import Image

    limit = 2 * (Image.MAX_IMAGE_PIXELS or 0)  # where Pillow refuses (it only warns from its limit)
    assert ann.issues[0].message.startswith(
        f"more pixels than Pillow opens ({limit:,}; a decompression bomb?)"
    )


def test_a_tall_blank_mask_lists_no_background_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    # every row of a blank 1 x N mask is a background run, and every run start was listed (rows,
    # columns, ends, values: 26 bytes a pixel) before background was dropped: a 122 KB PNG of
    # 1 x 63,000,000 peaked at 1,751 MiB; only runs of labels other than background are listed
    import tracemalloc

    monkeypatch.setattr(mask, "TALLY_PIXELS", 1 << 16)  # bands far smaller than the mask
    n = 2_000_000
    labels = np.zeros((n, 1), np.uint8)
    labels[1000:1010] = 7
    data = _png_bytes(labels)
    del labels
    tracemalloc.start()
    try:
        (ann,) = parse_annotation(data, "masks/T.png")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert ann.readable and [les.area for les in ann.lesions] == [10]
    assert peak < 4 * n, f"{peak / n:.1f} bytes a pixel"  # the labels and their run starts: 2


def test_a_mask_of_too_many_tiles_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # each tile costs ~0.1 ms however small: a 7 MB blank 10,240 x 10,240 TIFF in 16 x 16 tiles
    # (409,600) took 50 s of CPU; the tile count is bounded before any tile is decoded
    monkeypatch.setattr(mask, "MAX_PIXELS", 1000)
    monkeypatch.setattr(mask, "MAX_TILES", 50, raising=False)
    labels = np.zeros((150, 170), np.uint8)
    labels[40:60, 50:80] = 255
    (refused,) = parse_annotation(_tiff(labels, 16), "masks/S.tif")  # 10 x 11 tiles
    assert not refused.readable and refused.issues[0].code == "LIMIT_EXCEEDED"
    assert (
        refused.issues[0].message
        == "it is stored in 110 tiles of 16x16 pixels, over the 50 a mask is read in (not decoded)"
    )
    (read,) = parse_annotation(_tiff(labels, 32), "masks/S.tif")  # 5 x 6 tiles
    assert read.readable and [les.area for les in read.lesions] == [600]


def test_a_tile_a_little_over_the_limit_is_not_said_to_be_at_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # a tile of 1,040 x 1,024 8-bit labels (1.016 MiB) over a 1 MiB limit said "1 MiB each
    # decoded, over the 1 MiB": its size is rounded up to a tenth
    monkeypatch.setattr(mask, "MAX_PIXELS", 1000)
    monkeypatch.setattr(mask, "MAX_TILE_BYTES", 1 << 20)
    import tifffile

    out = io.BytesIO()
    tifffile.imwrite(out, np.zeros((1024, 1040), np.uint8), tile=(1024, 1040), compression="zlib")
    (big,) = parse_annotation(out.getvalue(), "masks/S.tif")
    assert not big.readable and big.issues[0].code == "LIMIT_EXCEEDED"
    assert (
        "its tiles are 1040x1024 pixels of uint8, 1.1 MiB each decoded, over the 1 MiB"
        in big.issues[0].message
    )


def test_a_mask_over_the_whole_decode_limit_is_a_limit_as_a_larger_one_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a PNG of 65 to 179 M pixels was ANNOTATION_UNREADABLE while a larger one (Pillow's bomb
    # limit) was LIMIT_EXCEEDED: both are size limits
    monkeypatch.setattr(mask, "MAX_PIXELS", 1000)
    (ann,) = parse_annotation(_png_bytes(np.zeros((40, 40), np.uint8)), "masks/S.png")
    assert not ann.readable and ann.issues[0].code == "LIMIT_EXCEEDED"
    assert "a 40x40 mask is over the 1000 pixel limit" in ann.issues[0].message


@pytest.mark.parametrize("where", ["across tiles", "in a tile"])
def test_a_tiled_mask_drawn_by_transparency_is_not_read_as_one_region(
    monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    # a tiled RGBA mask's alpha was not looked at: white everywhere, the glands opaque, was one
    # region covering the image; each tile's alpha is looked at, and must be one value throughout
    import tifffile

    monkeypatch.setattr(mask, "MAX_PIXELS", 1000)
    labels = np.zeros((64, 64), np.uint8)
    if where == "across tiles":
        labels[:32, :32] = 255  # one tile opaque, the rest transparent
    else:
        labels[10:20, 10:20] = 255
    white = np.full_like(labels, 255)

    def tiff(rgba: np.ndarray) -> bytes:
        out = io.BytesIO()
        tifffile.imwrite(out, rgba, tile=(32, 32), photometric="rgb", extrasamples=[2])
        return out.getvalue()

    (ann,) = parse_annotation(tiff(np.dstack([white, white, white, labels])), "masks/S.tif")
    assert not ann.readable and not ann.lesions and ann.issues[0].code == "MASK_NOT_LABELS"
    assert "alpha channel varies (0 to 255)" in ann.issues[0].message
    (read,) = parse_annotation(tiff(np.dstack([labels, labels, labels, white])), "masks/S.tif")
    assert read.readable and [les.area for les in read.lesions] == [1024 if where == "across tiles" else 100]


def _planar_tiff(planes: np.ndarray, tile: int, compression: str = "zlib") -> bytes:
    """A tiled RGB TIFF of samples stored apart (PlanarConfiguration 2), ``planes`` (3, h, w)."""
    import tifffile

    out = io.BytesIO()
    tifffile.imwrite(
        out, planes, tile=(tile, tile), photometric="rgb", planarconfig="separate", compression=compression
    )
    return out.getvalue()


@pytest.mark.parametrize("compression", ["zlib", "jpeg"])
def test_a_tiled_mask_of_separate_sample_planes_is_read_as_its_pixels(
    monkeypatch: pytest.MonkeyPatch, compression: str
) -> None:
    # PlanarConfiguration 2: the page is shaped (3, h, w), so its size was read as 3 x h and the
    # mask never took the tiled path (a 20,000^2 mask was refused as over the whole-decode limit);
    # each tile holds one plane, counted against MAX_TILE_BYTES as three. Now its tile positions'
    # planes are decoded together, a tile of one plane's bytes counted once
    monkeypatch.setattr(mask, "MAX_PIXELS", 1000)
    monkeypatch.setattr(mask, "MAX_TILE_BYTES", 2 * 32 * 32)  # one plane's tile fits, three would not
    labels = np.zeros((64, 96), np.uint8)
    # across four tiles; at 8-pixel blocks, so JPEG decodes it exactly (a JPEG mask was refused:
    # "a tile cannot be decoded: Not a JPEG file", its first tile's bytes read from where tifffile
    # left the file when it first made page.decode)
    labels[8:40, 16:48] = 255
    (ann,) = parse_annotation(_planar_tiff(np.stack([labels] * 3), 32, compression), "masks/S.tif")
    assert ann.readable and [les.area for les in ann.lesions] == [1024]
    assert (ann.width, ann.height) == (96, 64)  # its size, not its shape's first two (3, 64)
    colour = np.stack([labels, labels // 2, labels])  # not grey: read as pixels, so refused as colour
    (refused,) = parse_annotation(_planar_tiff(colour, 32, compression), "masks/C.tif")
    assert not refused.readable and refused.issues[0].code == "MASK_NOT_LABELS"


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("tiled", [False, True])
def test_a_bigtiff_mask_is_read(monkeypatch: pytest.MonkeyPatch, tiled: bool, order: str) -> None:
    # a BigTIFF label mask (a whole-slide mask past 4 GiB is one) was UNKNOWN_FORMAT "a BigTIFF
    # image, not an annotation file"; Pillow (whole) and tifffile (tile by tile) read it, bounded
    # alike. Pillow does not open a big-endian one ("does not recognise its content"): tifffile
    # decodes it whole
    import tifffile

    labels = np.zeros((64, 96), np.uint8)
    labels[5:15, 5:25] = 255
    if tiled:
        monkeypatch.setattr(mask, "MAX_PIXELS", 1000)
    out = io.BytesIO()
    tifffile.imwrite(out, labels, bigtiff=True, byteorder=order, **({"tile": (32, 32)} if tiled else {}))
    (ann,) = parse_annotation(out.getvalue(), "masks/S.tif")
    assert ann.readable and [les.area for les in ann.lesions] == [200]
    monkeypatch.setattr(mask, "MAX_TILE_BYTES", 512)  # the same tile bound
    if tiled:
        (big,) = parse_annotation(out.getvalue(), "masks/T.tif")
        assert not big.readable and big.issues[0].code == "LIMIT_EXCEEDED"


@pytest.mark.parametrize("planar", [False, True])
@pytest.mark.parametrize("small", [False, True])
def test_a_volumetric_tiled_mask_is_refused(
    monkeypatch: pytest.MonkeyPatch, planar: bool, small: bool
) -> None:
    # ImageDepth 2, a region in each slice: the tiled path (taken since a page is sized by its
    # width and length) read both slices' tiles at the same places (the two regions as one mask),
    # and a planar one's second slice below the image (a lesion at rows past its height)
    import tifffile

    if not small:
        monkeypatch.setattr(mask, "MAX_PIXELS", 1000)
    first, second = np.zeros((50, 77), np.uint8), np.zeros((50, 77), np.uint8)
    first[0:10, 0:20], second[30:40, 50:70] = 255, 255
    out = io.BytesIO()
    volume = np.stack([first, second])
    if planar:
        tifffile.imwrite(
            out,
            np.stack([volume] * 3),
            tile=(1, 16, 16),
            volumetric=True,
            photometric="rgb",
            planarconfig="separate",
        )
    else:
        tifffile.imwrite(out, volume, tile=(1, 16, 16), volumetric=True)
    (ann,) = parse_annotation(out.getvalue(), "masks/V.tif")
    assert not ann.readable and not ann.lesions
    assert [(i.code, i.message) for i in ann.issues] == [
        ("ANNOTATION_UNREADABLE", "a volumetric TIFF of 2 slices: not a 2-D label mask")
    ]


def test_a_planar_tile_table_longer_than_the_image_adds_no_lesion_outside_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a planar mask whose ImageLength says 20 rows while its tile tables hold two tile rows: the
    # second row's tiles (y = 32) were cropped to ``segment[: 20 - 32]``, which keeps rows, so its
    # region became a lesion at rows 40 to 60 of a 20-row mask; the tiles past the image are left out
    import tifffile

    monkeypatch.setattr(mask, "MAX_PIXELS", 1000)
    labels = np.zeros((64, 96), np.uint8)
    labels[2:10, 2:12] = 255  # within the 20 rows
    labels[40:60, 40:60] = 255  # below them
    data = bytearray(_planar_tiff(np.stack([labels] * 3), 32))
    with tifffile.TiffFile(io.BytesIO(bytes(data))) as tf:
        tag = tf.pages[0].tags[257]
        at, code = tag.valueoffset, {3: "<H", 4: "<I"}[int(tag.dtype)]
    import struct

    struct.pack_into(code, data, at, 20)
    (ann,) = parse_annotation(bytes(data), "masks/S.tif")
    assert ann.readable and (ann.width, ann.height) == (96, 20)
    assert [les.area for les in ann.lesions] == [80]
    assert all(les.geometry.bounds[3] <= 20 for les in ann.lesions)


def _set_image_length(data: bytes, rows: int) -> bytes:
    """``data`` (a little-endian TIFF) with its first page's ImageLength set to ``rows``."""
    import struct

    import tifffile

    out = bytearray(data)
    with tifffile.TiffFile(io.BytesIO(data)) as tf:
        tag = tf.pages[0].tags[257]  # type: ignore[union-attr]
        at, code = tag.valueoffset, {3: "<H", 4: "<I"}[int(tag.dtype)]
    struct.pack_into(code, out, at, rows)
    return bytes(out)


@pytest.mark.parametrize("planar", [False, True])
def test_a_tile_table_shorter_than_the_image_is_a_missing_tile(
    monkeypatch: pytest.MonkeyPatch, planar: bool
) -> None:
    # ImageLength 96 (three tile rows) over tables of two rows: a contiguous mask said the tile at
    # y=64 is missing, a planar one was read with its third row as background, without a word
    monkeypatch.setattr(mask, "MAX_PIXELS", 1000)
    labels = np.zeros((64, 96), np.uint8)
    labels[2:10, 2:12] = 255
    data = _planar_tiff(np.stack([labels] * 3), 32) if planar else _tiff(labels, 32)
    (ann,) = parse_annotation(_set_image_length(data, 96), "masks/S.tif")
    assert not ann.readable and not ann.lesions
    assert [(i.code, i.message) for i in ann.issues] == [
        ("ANNOTATION_UNREADABLE", "the tile at x=0, y=64 is missing from the file")
    ]


@pytest.mark.parametrize(("samples", "dtype"), [(64, "u1"), (16, "f8"), (200, "u8")])
def test_a_big_endian_bigtiff_mask_of_no_label_samples_is_refused_before_decoding(
    monkeypatch: pytest.MonkeyPatch, samples: int, dtype: str
) -> None:
    # decoded whole before its samples were looked at: 256 x 256 pixels of 200 uint64 samples (a
    # 115 KB file) took 101 MiB, then "an image of shape (256, 256, 200)"; refused as the tiled
    # path refuses them, before any decoding
    import tifffile

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("decoded")

    monkeypatch.setattr(tifffile.TiffPage, "asarray", never)
    pixels = np.zeros((64, 64, samples), dtype)
    out = io.BytesIO()
    tifffile.imwrite(
        out,
        pixels,
        bigtiff=True,
        byteorder=">",
        photometric="minisblack",
        planarconfig="contig",
        compression="zlib",
    )
    (ann,) = parse_annotation(out.getvalue(), "masks/S.tif")
    assert not ann.readable
    assert [(i.code, i.message) for i in ann.issues] == [
        ("ANNOTATION_UNREADABLE", f"a TIFF of {samples} samples of {np.dtype(dtype)}: not a label mask")
    ]


def test_a_big_endian_bigtiff_mask_over_the_whole_byte_bound_is_not_decoded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 4 samples of uint64 a pixel (32 bytes) at the pixel limit would be 2 GB decoded; the bound is
    # WHOLE_BYTES_PER_PIXEL bytes a pixel of MAX_PIXELS, checked before decoding
    import tifffile

    monkeypatch.setattr(mask, "MAX_PIXELS", 1000)
    labels = np.zeros((30, 30), np.uint64)
    labels[5:15, 5:25] = 7

    def big_endian(pixels: np.ndarray, **kwargs: object) -> bytes:
        out = io.BytesIO()
        tifffile.imwrite(out, pixels, bigtiff=True, byteorder=">", **kwargs)  # type: ignore[arg-type]
        return out.getvalue()

    (one,) = parse_annotation(big_endian(labels), "masks/S.tif")  # 7,200 bytes: within 8,000
    assert one.readable and [les.area for les in one.lesions] == [200]
    rgba = np.stack([labels] * 3 + [np.full_like(labels, 9)], axis=-1)
    (four,) = parse_annotation(big_endian(rgba, photometric="rgb", extrasamples=[2]), "masks/S.tif")
    assert not four.readable and [i.code for i in four.issues] == ["LIMIT_EXCEEDED"]
    assert "its 4 samples of uint64 a pixel take 0.1 MiB decoded" in four.issues[0].message


def test_a_big_endian_bigtiff_mask_of_several_pages_or_cut_short_is_said_so() -> None:
    # decoded by tifffile (Pillow does not open it): its later pages of its size are MASK_FRAMES,
    # as Pillow's frames are; cut short, it is unreadable with tifffile's reason, never a crash
    import tifffile

    labels = np.zeros((64, 96), np.uint8)
    labels[5:15, 5:25] = 255
    out = io.BytesIO()
    with tifffile.TiffWriter(out, bigtiff=True, byteorder=">") as tw:
        for page in (labels, labels, labels[:10]):
            tw.write(page)
    (ann,) = parse_annotation(out.getvalue(), "masks/S.tif")
    assert ann.readable and [les.area for les in ann.lesions] == [200]
    assert [i.code for i in ann.issues] == ["MASK_FRAMES"] and "(1 of the next" in ann.issues[0].message
    (cut,) = parse_annotation(out.getvalue()[:100], "masks/S.tif")
    assert not cut.readable and cut.issues[0].message.startswith("the image cannot be decoded: ")


@pytest.mark.parametrize("dtype", ["bool", "u1"])
def test_a_miniswhite_mask_reads_alike_in_either_byte_order(dtype: str) -> None:
    # Pillow (little-endian) inverts a MINISWHITE page, tifffile (a big-endian BigTIFF) did not:
    # the same picture was one lesion of 5,944 pixels one way and 200 the other
    import tifffile

    labels = np.zeros((64, 96), dtype)
    labels[5:15, 5:25] = True if dtype == "bool" else 200
    areas = []
    for order, big in (("<", False), (">", True)):
        out = io.BytesIO()
        tifffile.imwrite(out, labels, bigtiff=big, byteorder=order, photometric="miniswhite")
        (ann,) = parse_annotation(out.getvalue(), "masks/S.tif")
        assert ann.readable
        areas.append(sorted(les.area for les in ann.lesions))
    assert areas[0] == areas[1]


@pytest.mark.parametrize("order", ["<", ">"])
def test_a_stripped_mask_of_separate_sample_planes_reads_alike_in_either_byte_order(order: str) -> None:
    # a big-endian BigTIFF is decoded whole by tifffile, which shapes a page of separate planes
    # (PlanarConfiguration 2) (3, h, w): it was taken for 3 rows of pixels and refused as "an image
    # of shape (3, 64, 96)" (a mask 3 or 4 pixels wide, read as 3 samples); Pillow reads the
    # little-endian one as its pixels
    import tifffile

    labels = np.zeros((64, 96), np.uint8)
    labels[8:40, 16:48] = 255
    out = io.BytesIO()
    tifffile.imwrite(
        out, np.stack([labels] * 3), bigtiff=True, byteorder=order, photometric="rgb", planarconfig="separate"
    )
    (ann,) = parse_annotation(out.getvalue(), "masks/S.tif")
    assert ann.readable and not ann.issues
    assert (ann.width, ann.height) == (96, 64) and [les.area for les in ann.lesions] == [1024]
    out = io.BytesIO()
    colour = np.stack([labels, labels // 2, labels])
    tifffile.imwrite(out, colour, bigtiff=True, byteorder=order, photometric="rgb", planarconfig="separate")
    (refused,) = parse_annotation(out.getvalue(), "masks/C.tif")
    assert not refused.readable and refused.issues[0].code == "MASK_NOT_LABELS"


def _zero_tile(data: bytes, index: int) -> bytes:
    """``data`` (a tiled TIFF) with tile ``index``'s offset and byte count set to 0: not stored."""
    import struct

    import tifffile

    out = bytearray(data)
    with tifffile.TiffFile(io.BytesIO(data)) as tf:
        page = tf.pages[0]
        for code in (324, 325):  # TileOffsets, TileByteCounts
            tag = page.tags[code]  # type: ignore[union-attr]
            size = {3: "H", 4: "I", 16: "Q"}[int(tag.dtype)]
            struct.pack_into(tf.byteorder + size, out, tag.valueoffset + index * struct.calcsize(size), 0)
    return bytes(out)


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("planar", [False, True])
def test_a_tile_not_stored_is_a_missing_tile(
    monkeypatch: pytest.MonkeyPatch, planar: bool, order: str
) -> None:
    # a tile of offset and byte count 0 is missing (tifffile's segments yield None): a contiguous
    # mask said so, a planar one decoded zero bytes ("a tile cannot be decoded: ... BAD_DATA")
    import tifffile

    monkeypatch.setattr(mask, "MAX_PIXELS", 1000)
    labels = np.zeros((64, 96), np.uint8)
    labels[2:10, 2:12] = 255
    out = io.BytesIO()
    kwargs: dict[str, object] = {"photometric": "rgb", "planarconfig": "separate"} if planar else {}
    pixels = np.stack([labels] * 3) if planar else labels
    tifffile.imwrite(out, pixels, tile=(32, 32), compression="zlib", byteorder=order, **kwargs)  # type: ignore[arg-type]
    (ann,) = parse_annotation(_zero_tile(out.getvalue(), 1), "masks/S.tif")
    assert not ann.readable and not ann.lesions
    assert [(i.code, i.message) for i in ann.issues] == [
        ("ANNOTATION_UNREADABLE", "the tile at x=32, y=0 is missing from the file")
    ]


def _looping(order: str, big: bool) -> bytes:
    """A TIFF mask of two pages of its size whose second page links back to the first."""
    import struct

    import tifffile

    labels = np.zeros((32, 48), np.uint8)
    labels[4:12, 4:14] = 255
    out = io.BytesIO()
    with tifffile.TiffWriter(out, bigtiff=big, byteorder=order) as tw:  # type: ignore[arg-type]
        tw.write(labels)
        tw.write(labels)
    data = bytearray(out.getvalue())
    with tifffile.TiffFile(io.BytesIO(bytes(data))) as tf:
        first, second = tf.pages[0].offset, tf.pages[1].offset  # type: ignore[union-attr]
    count, entry, link = ("Q", 20, "Q") if big else ("H", 12, "I")
    (entries,) = struct.unpack_from(order + count, data, second)
    struct.pack_into(order + link, data, second + struct.calcsize(count) + entries * entry, first)
    return bytes(data)


@pytest.mark.parametrize("big", [False, True])
@pytest.mark.parametrize("order", ["<", ">"])
def test_a_looping_page_chain_counts_each_page_once_and_is_said(order: str, big: bool) -> None:
    # page 2 linking back to page 1: a big-endian BigTIFF (read by tifffile) counted "8 of the next
    # 8" frames of the mask's size where the same file little-endian (Pillow) counted 1; neither
    # said the chain loops
    (ann,) = parse_annotation(_looping(order, big), "masks/S.tif")
    assert ann.readable and [les.area for les in ann.lesions] == [80]
    assert [(i.code, i.message) for i in ann.issues] == [
        (
            "MASK_FRAMES",
            "the mask holds more frames of its size than the first (1 of the next 8 looked at): only the first was read",
        ),
        (
            "MASK_PAGES_LOOP",
            "the TIFF's chain of pages loops: page 2 links back to page 1 (a damaged or hostile file; each page "
            "was counted once)",
        ),
    ]
