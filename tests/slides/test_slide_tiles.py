"""JPEG tiles decoded from their bytes give OpenSlide's pixels to the bit, and OpenSlide still
judges whether a tile reads (dqm.slide_tiles)."""

from __future__ import annotations

import os
import shutil
import struct
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import openslide
import pytest
import tifffile

from dqm.slide_io import SlideProbe, _codec, _read_rgba, probe_slide
from dqm.slide_tiles import JpegTiles
from dqm.synth.pyramid import write_level, write_pyramid
from tests.slides.test_slide_refs import no_hang  # noqa: F401 (a fixture)

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real" / "slides"


@pytest.fixture(scope="module")
def pyramid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A JPEG-tiled pyramid (tiles of 256, levels at downsamples 1 and 4) whose level 0 ends
    inside its last tiles, with texture in every tile."""
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (700, 900, 3), dtype=np.uint8)
    image[::7] = (230, 120, 200)
    path = tmp_path_factory.mktemp("tiles") / "slide.tiff"
    write_pyramid(path, image, 0.5)
    return path


def _opened(path: Path) -> tuple[openslide.OpenSlide, JpegTiles]:
    slide = openslide.OpenSlide(str(path))
    vendor = slide.properties.get("openslide.vendor")
    tiles = JpegTiles.open(path, vendor, tuple(slide.level_dimensions), tuple(slide.level_downsamples))
    assert tiles is not None
    return slide, tiles


REGIONS = [
    (0, (0, 0), (256, 256)),  # a whole tile
    (0, (256, 512), (256, 256)),  # a tile of the last row, past the level's bottom edge
    (0, (768, 0), (256, 256)),  # the last column, past the right edge
    (0, (768, 512), (256, 256)),  # the corner tile
    (0, (300, 260), (100, 40)),  # inside one tile
    (0, (0, 0), (1, 1)),
    (0, (200, 0), (200, 200)),  # across two tiles
    (0, (100, 100), (700, 650)),  # over twelve, past both edges
    (1, (0, 0), (225, 175)),  # the smallest level read whole
    (1, (40, 0), (10, 10)),  # a level-1 pixel at (10, 0)
]


@pytest.mark.parametrize(("level", "xy", "size"), REGIONS)
def test_a_region_inside_one_tile_is_openslides_pixels(
    pyramid: Path, level: int, xy: tuple[int, int], size: tuple[int, int]
) -> None:
    slide, tiles = _opened(pyramid)
    with slide, tiles:
        direct = tiles.region(level, xy, size, lambda level, at: True)
        assert direct is not None  # decoded here, not by OpenSlide
        assert direct.dtype == np.uint8 and direct.shape == (size[1], size[0], 4)
        np.testing.assert_array_equal(direct, np.asarray(slide.read_region(xy, level, size)))
        np.testing.assert_array_equal(_read_rgba(slide, xy, level, size, tiles), direct)


@pytest.mark.parametrize(
    ("level", "xy", "size"),
    [
        (1, (2, 0), (10, 10)),  # half a level-1 pixel: OpenSlide interpolates
        (0, (-10, 0), (20, 20)),  # before the level
        (0, (900, 0), (20, 20)),  # past it
    ],
)
def test_other_regions_are_left_to_openslide(
    pyramid: Path, level: int, xy: tuple[int, int], size: tuple[int, int]
) -> None:
    slide, tiles = _opened(pyramid)
    with slide, tiles:
        assert tiles.region(level, xy, size, lambda level, at: True) is None
        np.testing.assert_array_equal(
            _read_rgba(slide, xy, level, size, tiles), np.asarray(slide.read_region(xy, level, size))
        )


def test_the_first_pixel_of_each_tile_is_checked_first(pyramid: Path) -> None:
    """Each stored tile the region covers is asked of OpenSlide before any is decoded here; one
    that OpenSlide does not read leaves the whole region to OpenSlide."""
    slide, tiles = _opened(pyramid)
    with slide, tiles:
        checked: list[tuple[int, int]] = []
        assert tiles.region(0, (100, 300), (500, 300), lambda level, at: not checked.append(at)) is not None
        assert sorted(checked) == [(100, 300), (100, 512), (256, 300), (256, 512), (512, 300), (512, 512)]
        assert tiles.region(0, (100, 300), (500, 300), lambda level, at: at != (512, 512)) is None


def test_openslides_message_when_a_check_fails(pyramid: Path, tmp_path: Path) -> None:
    """OpenSlide paints a region's tiles from the last backwards and its error is sticky: where a
    tile fails the check, the region is read by the caller's OpenSlide handle, which fails with
    OpenSlide's own message (here the last tile's, not the first's), then and at every later read."""
    import imagecodecs

    path = tmp_path / "two-bad.tiff"
    shutil.copy(pyramid, path)
    with tifffile.TiffFile(path) as tf:
        page = tf.pages[0]
        where, item = page.tags[325].valueoffset, {3: "<H", 4: "<I", 16: "<Q"}[int(page.tags[325].dtype)]
        offsets, counts = page.dataoffsets, page.databytecounts
    small = imagecodecs.jpeg8_encode(np.zeros((64, 64, 3), np.uint8))
    assert len(small) < counts[5]
    with path.open("r+b") as fh:
        fh.seek(where)
        fh.write(struct.pack(item, counts[0] // 2))  # tile 0 truncated
        fh.seek(where + 5 * struct.calcsize(item))
        fh.write(struct.pack(item, len(small)))  # tile 5 (row 1, column 1) of another size
        fh.seek(offsets[5])
        fh.write(small)
    region = ((0, 0), 0, (512, 512))
    with openslide.OpenSlide(str(path)) as alone:
        with pytest.raises(openslide.OpenSlideError) as base:
            alone.read_region(*region)
        with pytest.raises(openslide.OpenSlideError) as base_later:
            alone.read_region((0, 0), 1, (10, 10))
    slide, tiles = _opened(path)
    with slide, tiles:
        with pytest.raises(openslide.OpenSlideError) as got:
            _read_rgba(slide, *region, tiles)
        with pytest.raises(openslide.OpenSlideError) as got_later:
            _read_rgba(slide, (0, 0), 1, (10, 10), tiles)
    assert "Dimensional mismatch" in str(base.value)
    assert (str(got.value), str(got_later.value)) == (str(base.value), str(base_later.value))


def test_a_region_over_much_larger_tiles_is_left_to_openslide(tmp_path: Path) -> None:
    """A thin region over large stored tiles would decode many times its pixels (a 1024-pixel
    tile for 256 x 8): OpenSlide reads it, from its cache; a region over more than 16 MiB of
    decoded tiles too. A region read here holds one decoded tile at a time besides its own."""
    path = tmp_path / "tiles.tiff"
    image = np.random.default_rng(7).integers(0, 256, (3072, 2048, 3), dtype=np.uint8)
    tifffile.imwrite(path, image, tile=(1024, 1024), compression="jpeg", photometric="rgb")
    slide, tiles = _opened(path)
    with slide, tiles:
        assert tiles.region(0, (0, 0), (256, 8), lambda level, at: True) is None  # 512 x its pixels
        assert tiles.region(0, (0, 0), (2048, 2049), lambda level, at: True) is None  # 24 MiB decoded
        tracemalloc.start()
        got = tiles.region(0, (0, 0), (2048, 2048), lambda level, at: True)  # 4 tiles, 16 MiB
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert got is not None
        assert peak < got.nbytes + 2 * 1024 * 1024 * 4  # the region, a tile, its bytes (not four)
        np.testing.assert_array_equal(got, np.asarray(slide.read_region((0, 0), 0, (2048, 2048))))


def test_a_truncated_tile_fails_as_openslide_fails(pyramid: Path, tmp_path: Path) -> None:
    """libjpeg warns about a truncated tile and decodes it anyway (imagecodecs passes the warning
    over); OpenSlide makes the warning an error. The direct read has OpenSlide read the tile's
    first pixel first, so the probe still reports the slide unreadable."""
    path = tmp_path / "truncated.tiff"
    shutil.copy(pyramid, path)
    with tifffile.TiffFile(path) as tf:
        counts = tf.pages[0].tags[325]
        where, count = counts.valueoffset, tf.pages[0].databytecounts[0]
        item = {3: "<H", 4: "<I", 16: "<Q"}[int(counts.dtype)]
    with path.open("r+b") as fh:
        fh.seek(where)
        fh.write(struct.pack(item, count // 2))
    slide, tiles = _opened(path)
    with slide, tiles:
        assert tiles.region(0, (0, 0), (256, 256), lambda level, at: True) is not None  # decodes regardless
        with pytest.raises(openslide.OpenSlideError):
            _read_rgba(slide, (0, 0), 0, (256, 256), tiles)
    probe = probe_slide(path, path.name)
    assert probe.read_failure is not None and probe.read_failure.xy == (0, 0)


def _written(path: Path, **layout: Any) -> np.ndarray:
    image = np.random.default_rng(6).integers(0, 256, (700, 900, 3), dtype=np.uint8)
    with tifffile.TiffWriter(path, **layout) as tw:
        for ds in (1, 4):
            write_level(tw, image if ds == 1 else image[::ds, ::ds].copy(), 0.5, ds, quality=85)
    return image


def test_bigtiff_tiles_are_openslides_pixels(tmp_path: Path) -> None:
    """The IFD walk reads 64-bit entries, offsets and counts."""
    path = tmp_path / "big.tiff"
    _written(path, bigtiff=True)
    slide, tiles = _opened(path)
    with slide, tiles:
        for level, xy, size in REGIONS:
            direct = tiles.region(level, xy, size, lambda level, at: True)
            assert direct is not None
            np.testing.assert_array_equal(direct, np.asarray(slide.read_region(xy, level, size)))


def test_a_big_endian_tiff_is_walked_as_tifffile_reads_it(tmp_path: Path) -> None:
    """Big-endian values (a SHORT held at the left of its entry's field), against tifffile (OpenSlide
    does not open this file: it is left to OpenSlide's refusal)."""
    path = tmp_path / "motorola.tiff"
    _written(path, byteorder=">")
    tiles = JpegTiles.open(path, "generic-tiff", ((900, 700), (225, 175)), (1.0, 4.0))
    assert tiles is not None
    with tiles, tifffile.TiffFile(path) as tf:
        for level, page in enumerate(tf.pages):
            whole = page.asarray()
            got = tiles.region(level, (0, 0), (page.imagewidth, page.imagelength), lambda level, at: True)
            assert got is not None
            np.testing.assert_array_equal(got[..., :3], whole)
            assert (got[..., 3] == 255).all()


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="counts the bytes read in /proc/self/io")
def test_the_tile_index_is_not_read_whole(tmp_path: Path) -> None:
    """Opening reads the IFD entries, not every tile's offset and byte count (4,096 tiles here,
    32 KiB of them; a 50,000-pixel pyramid holds 40,000): those are read a tile at a time."""
    path = tmp_path / "many.tiff"
    tifffile.imwrite(path, np.zeros((1024, 1024, 3), np.uint8), tile=(16, 16), compression="jpeg")

    def rchar() -> int:
        line = next(x for x in Path("/proc/self/io").read_text().splitlines() if x.startswith("rchar:"))
        return int(line.split()[1])

    before = rchar()
    tiles = JpegTiles.open(path, "generic-tiff", ((1024, 1024),), (1.0,))
    read = rchar() - before
    assert tiles is not None
    with tiles:
        assert tiles.region(0, (1008, 1008), (16, 16), lambda level, at: True) is not None  # the last tile
    assert read < 4096


def test_a_loop_in_the_ifd_chain_leaves_the_slide_to_openslide(pyramid: Path, tmp_path: Path) -> None:
    path = tmp_path / "loop.tiff"
    shutil.copy(pyramid, path)
    with tifffile.TiffFile(path) as tf:
        last = tf.pages[-1]
        next_at = last.offset + 2 + 12 * len(last.tags)
    data = bytearray(path.read_bytes())
    data[next_at : next_at + 4] = data[4:8]  # the last page's next page is the first
    path.write_bytes(bytes(data))
    assert JpegTiles.open(path, "generic-tiff", ((900, 700), (225, 175)), (1.0, 4.0)) is None


def test_only_plain_jpeg_levels_are_read_here(pyramid: Path, tmp_path: Path) -> None:
    dims, ds = ((900, 700), (225, 175)), (1.0, 4.0)
    assert JpegTiles.open(pyramid, "hamamatsu", dims, ds) is None  # another layout
    assert JpegTiles.open(pyramid, "generic-tiff", ((900, 700),), (1.0,)) is None  # not the levels
    deflate = tmp_path / "deflate.tiff"
    tifffile.imwrite(deflate, np.zeros((300, 300, 3), np.uint8), tile=(256, 256), compression="zlib")
    assert JpegTiles.open(deflate, "generic-tiff", ((300, 300),), (1.0,)) is None
    corrupt = tmp_path / "corrupt.tiff"
    corrupt.write_bytes(b"II*\x00" + b"\xff" * 64)
    assert JpegTiles.open(corrupt, "generic-tiff", ((300, 300),), (1.0,)) is None


@pytest.mark.wsi
def test_an_aperio_rgb_tile_is_openslides_pixels() -> None:
    """Aperio's JPEG tiles (RGB, shared JPEG tables, 240 pixels a side)."""
    path = REAL / "CMU-1-Small-Region.svs"
    if not path.exists():
        pytest.skip("no real slides here")
    slide, tiles = _opened(path)
    with slide, tiles:
        for xy, size in (((0, 0), (240, 240)), ((480, 720), (240, 240)), ((500, 730), (100, 60))):
            direct = tiles.region(0, xy, size, lambda level, at: True)
            assert direct is not None
            np.testing.assert_array_equal(direct, np.asarray(slide.read_region(xy, 0, size)))


def _entry_at(path: Path, page: int, tag: int) -> tuple[int, int]:
    """``(file offset, size)`` of the IFD entry of ``tag`` on ``page``."""
    with tifffile.TiffFile(path) as tf:
        p = tf.pages[page]
        big = tf.is_bigtiff
        size, head = (20, 8) if big else (12, 2)
        codes = [t.code for t in p.tags.values()]
        return p.offset + head + size * codes.index(tag), size


def test_a_repeated_entry_leaves_the_slide_to_openslide(pyramid: Path, tmp_path: Path) -> None:
    """libtiff keeps the first of two TileOffsets and TileByteCounts entries (this walk kept the
    last: other tiles than OpenSlide shows, every pixel differing); a page repeating an entry the
    levels are read by is OpenSlide's, whose pixels the probe gets."""
    path = tmp_path / "twice.tiff"
    shutil.copy(pyramid, path)
    with tifffile.TiffFile(path) as tf:
        first = tf.pages[0].dataoffsets[0], tf.pages[0].databytecounts[0]
    data = bytearray(path.read_bytes())
    other = len(data)  # a second pair: every tile the first one's
    data += struct.pack("<12I", *[first[0]] * 12) + struct.pack("<12I", *[first[1]] * 12)
    for tag, after, at in ((324, 530, other), (325, 532, other + 48)):
        where, _ = _entry_at(path, 0, after)
        data[where : where + 12] = struct.pack("<HHII", tag, 4, 12, at)
    path.write_bytes(bytes(data))
    with openslide.OpenSlide(str(path)) as slide:
        dims, ds = tuple(slide.level_dimensions), tuple(slide.level_downsamples)
        assert JpegTiles.open(path, "generic-tiff", dims, ds) is None
        with openslide.OpenSlide(str(pyramid)) as original:
            np.testing.assert_array_equal(
                np.asarray(slide.read_region((256, 0), 0, (256, 256))),
                np.asarray(original.read_region((256, 0), 0, (256, 256))),
            )


@pytest.mark.parametrize(
    ("page", "tag", "entry"),
    [
        (0, 284, struct.pack("<HHII", 284, 8, 1, 2)),  # PlanarConfiguration 2, SSHORT
        (0, 322, struct.pack("<HHII", 322, 3, 2, 256 | 256 << 16)),  # TileWidth, two SHORTs
        (1, 256, struct.pack("<HHII", 256, 7, 1, 225)),  # ImageWidth, UNDEFINED
    ],
)
def test_an_entry_of_another_type_or_count_leaves_the_slide_to_openslide(
    pyramid: Path, tmp_path: Path, page: int, tag: int, entry: bytes
) -> None:
    """What libtiff would coerce, read as signed or reject is not guessed here."""
    path = tmp_path / "odd.tiff"
    shutil.copy(pyramid, path)
    where, size = _entry_at(path, page, tag)
    data = bytearray(path.read_bytes())
    data[where : where + size] = entry[:size]
    path.write_bytes(bytes(data))
    assert JpegTiles.open(path, "generic-tiff", ((900, 700), (225, 175)), (1.0, 4.0)) is None


def test_tile_offsets_past_any_file_leave_the_slide_to_openslide(tmp_path: Path) -> None:
    """TileOffsets whose array lies at 2**63 (os.pread raises OverflowError there) or past the
    file's end: the file is OpenSlide's, not a crash."""
    path = tmp_path / "far.tiff"
    _written(path, bigtiff=True)
    where, _ = _entry_at(path, 0, 324)
    for at in (2**63, path.stat().st_size):
        data = bytearray(path.read_bytes())
        data[where + 12 : where + 20] = struct.pack("<Q", at)
        path.write_bytes(bytes(data))
        tiles = JpegTiles.open(path, "generic-tiff", ((900, 700), (225, 175)), (1.0, 4.0))
        assert tiles is None or tiles.region(0, (0, 0), (256, 256), lambda level, at: True) is None


def test_a_tile_rewritten_since_it_was_checked_is_openslides(pyramid: Path, tmp_path: Path) -> None:
    """OpenSlide's check of a tile it holds in its cache does not read the tile again: bytes
    rewritten in the file since are not decoded here unchecked, but left to OpenSlide."""
    path = tmp_path / "rewritten.tiff"
    shutil.copy(pyramid, path)
    slide, tiles = _opened(path)
    with slide, tiles:
        assert tiles.region(0, (0, 0), (256, 256), lambda level, at: True) is not None
        with tifffile.TiffFile(path) as tf:
            offset, count = tf.pages[0].dataoffsets[0], tf.pages[0].databytecounts[0]
        data = bytearray(path.read_bytes())
        data[offset + count - 100 : offset + count - 90] = bytes(10)  # in the scan, same length
        with path.open("r+b") as fh:
            fh.write(bytes(data))
        assert tiles.region(0, (0, 0), (256, 256), lambda level, at: True) is None
        assert tiles.region(0, (256, 0), (256, 256), lambda level, at: True) is not None


def test_a_file_replaced_since_openslide_opened_it_is_openslides(pyramid: Path, tmp_path: Path) -> None:
    """OpenSlide holds the file it opened (its directory) and this module opens it again, and its
    checking handle later: a file replaced in between (same levels, other pixels) is not read
    here, whether replaced before this module opens it or before its first check."""
    path, other = tmp_path / "slide.tiff", tmp_path / "other.tiff"
    shutil.copy(pyramid, path)
    _written(other)
    dims, ds = ((900, 700), (225, 175)), (1.0, 4.0)
    opened = path.stat()
    shutil.copy(other, tmp_path / "swap.tiff")
    (tmp_path / "swap.tiff").replace(path)
    assert JpegTiles.open(path, "generic-tiff", dims, ds, opened) is None
    shutil.copy(pyramid, path)
    tiles = JpegTiles.open(path, "generic-tiff", dims, ds, path.stat())
    assert tiles is not None
    with tiles:
        shutil.copy(other, tmp_path / "swap.tiff")
        (tmp_path / "swap.tiff").replace(path)
        assert tiles.region(0, (0, 0), (256, 256)) is None  # its checking handle sees another file
        assert tiles.region(0, (256, 0), (256, 256)) is None  # and every later read


@pytest.mark.usefixtures("no_hang")
def test_a_fifo_swapped_in_before_the_first_check_is_not_waited_on(pyramid: Path, tmp_path: Path) -> None:
    """The checking handle opens the file this module holds open (its descriptor), not the batch
    path again: a FIFO renamed over the slide after it was opened neither hangs the probe nor is
    judged in the slide's place; nor does one renamed over it before this module opens it."""
    path = tmp_path / "slide.tiff"
    shutil.copy(pyramid, path)
    dims, ds = ((900, 700), (225, 175)), (1.0, 4.0)
    tiles = JpegTiles.open(path, "generic-tiff", dims, ds, path.stat())
    assert tiles is not None
    with tiles:
        os.mkfifo(tmp_path / "fifo")
        (tmp_path / "fifo").replace(path)
        read = tiles.region(0, (0, 0), (256, 256))  # the file it opened, or left to OpenSlide
    if read is not None:
        with openslide.OpenSlide(str(pyramid)) as slide:
            assert np.array_equal(read, np.asarray(slide.read_region((0, 0), 0, (256, 256))))
    assert JpegTiles.open(path, "generic-tiff", dims, ds) is None  # a FIFO is not a slide to read


def test_a_rewrite_that_sets_the_modification_time_back_is_seen(pyramid: Path, tmp_path: Path) -> None:
    """The file's change time is part of what says it is the file OpenSlide opened: bytes
    rewritten in place with the modification time set back are not decoded here."""
    path = tmp_path / "slide.tiff"
    shutil.copy(pyramid, path)
    opened = path.stat()
    dims, ds = ((900, 700), (225, 175)), (1.0, 4.0)
    tiles = JpegTiles.open(path, "generic-tiff", dims, ds, opened)
    assert tiles is not None
    with tiles:
        data = path.read_bytes()
        time.sleep(0.05)  # a tick of the kernel's file clock, so the change time moves
        with path.open("r+b") as fh:
            fh.write(data)  # the same bytes: only the times tell
        os.utime(path, ns=(opened.st_atime_ns, opened.st_mtime_ns))
        assert tiles.region(0, (0, 0), (256, 256)) is None


def _codec_probe(path: Path, slide: openslide.OpenSlide, tiles: JpegTiles | None) -> SlideProbe:
    probe = SlideProbe(path=path.name, backend="openslide", opened=True)
    probe.vendor = slide.properties.get("openslide.vendor")
    probe.properties = dict(slide.properties)
    _codec(path, probe, tiles)
    return probe


def test_the_header_facts_come_from_the_tiles_without_tifffile(
    pyramid: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The codec, JPEG quality and text properties of a slide whose levels are read here come from
    the first page as walked here and its open handle: tifffile does not parse the header again."""
    before = probe_slide(pyramid, pyramid.name)

    def no_tifffile(fh: Any) -> Any:
        raise AssertionError("the header was parsed again")

    monkeypatch.setattr("dqm.slide_io.tiff_facts", no_tifffile)
    after = probe_slide(pyramid, pyramid.name)
    assert after.compression == "jpeg" and after.jpeg_quality is not None
    for name in ("compression", "jpeg_quality", "properties", "text_unread", "container"):
        assert getattr(after, name) == getattr(before, name)


@pytest.mark.parametrize("name", ["pyramid", "small.svs"])
def test_the_header_facts_from_the_tiles_are_tifffiles_on_mutated_headers(
    pyramid: Path, tmp_path: Path, name: str
) -> None:
    """Bytes of the IFDs, the JPEG tables (an Aperio slide's; each tile of the pyramid holds its
    own) and the first tile's start mutated 300 times: wherever OpenSlide opens the file and its
    levels are read here, the facts taken from the walk here are those tifffile gave."""
    source = pyramid if name == "pyramid" else REAL / name
    if not source.exists():
        pytest.skip(f"{source} is not here")
    data = source.read_bytes()
    with tifffile.TiffFile(source) as tf:
        spans = [(p.offset, p.offset + 2 + 12 * len(p.tags) + 4) for p in tf.pages]
        first = tf.pages[0]
        if 347 in first.tags:
            spans += [(first.tags[347].valueoffset, first.tags[347].valueoffset + first.tags[347].count)]
        spans += [(first.dataoffsets[0], first.dataoffsets[0] + 64)]
    where = np.concatenate([np.arange(a, b) for a, b in spans])
    rng = np.random.default_rng(11)
    path, compared = tmp_path / "mutated.tiff", 0
    for _ in range(300):
        buf = bytearray(data)
        for at in rng.choice(where, int(rng.integers(1, 4))):
            buf[at] ^= int(rng.integers(1, 256))
        path.write_bytes(buf)
        try:
            slide = openslide.OpenSlide(str(path))
        except openslide.OpenSlideError:
            continue
        with slide:
            tiles = JpegTiles.open(
                path,
                slide.properties.get("openslide.vendor"),
                tuple(slide.level_dimensions),
                tuple(slide.level_downsamples),
            )
            if tiles is None:
                continue
            with tiles:
                compared += tiles.first_page_head(1 << 16) is not None
                old, new = _codec_probe(path, slide, None), _codec_probe(path, slide, tiles)
        for name in ("compression", "jpeg_quality", "properties", "text_unread", "container"):
            assert getattr(new, name) == getattr(old, name), name
    assert compared > 50  # the comparison ran, not only the refusals


def test_a_compression_tag_of_type_byte_is_read_as_libtiff_reads_it(pyramid: Path, tmp_path: Path) -> None:
    """Level 0's Compression (259) stored as a BYTE, 7: libtiff reads JPEG and OpenSlide opens the
    slide; tifffile read no compression (the probe said ``None``), the levels walked here read
    JPEG, which is what OpenSlide decodes."""
    data = bytearray(pyramid.read_bytes())
    with tifffile.TiffFile(pyramid) as tf:
        at = tf.pages.first.tags[259].offset
    assert struct.unpack_from("<HHIH", data, at) == (259, 3, 1, 7)
    struct.pack_into("<H", data, at + 2, 1)  # its type: SHORT -> BYTE (the value's first byte, 7)
    path = tmp_path / "byte.tif"
    path.write_bytes(bytes(data))
    probe = probe_slide(path, path.name)
    assert probe.opened and probe.backend == "openslide"
    before = probe_slide(pyramid, pyramid.name)  # its tag a SHORT
    assert before.jpeg_quality is not None
    assert (probe.compression, probe.jpeg_quality) == ("jpeg", before.jpeg_quality)
