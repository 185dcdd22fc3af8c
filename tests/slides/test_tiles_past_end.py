"""A TIFF slide whose tiles run past the file's end (a byte count of 2^63, an offset beyond it):
OpenSlide reads such a tile as a missing one, blank with no error, so the slide opened, read and
passed with blank regions. ``SLIDE_TILES_PAST_END`` says so now, with the level and how many."""

from __future__ import annotations

import glob
import os
import struct
import time
from pathlib import Path

import numpy as np
import pytest

from dqm.runner import run_item_checks
from dqm.slide_io import ProbeOptions, probe_slide
from dqm.slide_refs import tiles_looked_at, tiles_past_end
from tests.deid.test_deid import view_of
from validators.engine import configure

REAL = Path("/work/shared/data/real/slides")


def _tiled(
    path: Path, levels: list[tuple[int, np.ndarray, np.ndarray]], tile: int, big: bool, head: bytes = b""
) -> Path:
    """An uncompressed RGB TIFF (BigTIFF: ``big``) of one page a level, each ``(side in pixels,
    tile offsets, tile byte counts)`` (LONG8 in a BigTIFF, else LONG), tiles ``tile`` a side;
    ``head``: bytes right after the file's header, where the tiles are."""
    kind, item = (16, "<u8") if big else (4, "<u4")
    esize, csize, osize = (20, 8, 8) if big else (12, 2, 4)
    n_entries = 9
    ifd = (16 if big else 8) + len(head)
    ifd_size = csize + esize * n_entries + osize
    values = ifd + ifd_size * len(levels)
    out = bytearray(b"II+\0" + struct.pack("<HHQ", 8, 0, ifd) if big else b"II*\0" + struct.pack("<I", ifd))
    out += head
    tail = bytearray()
    for k, (side, offsets, counts) in enumerate(levels):
        entries: list[tuple[int, int, int, int | bytes]] = [
            (256, 4, 1, side),
            (257, 4, 1, side),
            (258, 3, 1, 8),
            (262, 3, 1, 2),
            (277, 3, 1, 3),
        ]
        entries += [(322, 3, 1, tile), (323, 3, 1, tile)]
        entries += [(324, kind, len(offsets), offsets.astype(item).tobytes())]
        entries += [(325, kind, len(counts), counts.astype(item).tobytes())]
        out += struct.pack("<Q" if big else "<H", len(entries))
        for tag, kind_, count, value in entries:
            field = value if isinstance(value, int) else int.from_bytes(value, "little")
            if isinstance(value, bytes) and len(value) > osize:  # stored after the directories
                field = values + len(tail)
                tail += value
            out += struct.pack("<HHQQ" if big else "<HHII", tag, kind_, count, field)
        following = ifd + ifd_size * (k + 1) if k + 1 < len(levels) else 0
        out += struct.pack("<Q" if big else "<I", following)
    path.write_bytes(bytes(out + tail))
    return path


def _slide(path: Path, big: bool, counts: dict[int, int], offsets: dict[int, int]) -> Path:
    """A two-level RGB slide of uncompressed 256-pixel tiles (tissue-like colours): level 0 of
    512x512, four tiles whose byte counts and offsets given by tile index are then set to the
    values given; level 1 of 256x256, one tile (OpenSlide hashes the smallest level's tiles)."""
    rng = np.random.default_rng(0)
    size = 256 * 256 * 3
    pixels = rng.integers(60, 200, 5 * size, dtype=np.uint8).tobytes()
    base = 16 if big else 8
    at = np.array([base + k * size for k in range(4)], np.uint64)
    n = np.full(4, size, np.uint64)
    for index, value in counts.items():
        n[index] = value
    for index, value in offsets.items():
        at[index] = value
    small = (np.array([base + 4 * size], np.uint64), np.array([size], np.uint64))
    return _tiled(path, [(512, at, n), (256, *small)], 256, big, pixels)


def _findings(tmp_path: Path, profile, path: Path):
    probe = probe_slide(path, "slides/S1.tif", ProbeOptions(artefacts=False))
    found = run_item_checks(view_of(profile, slide=probe), configure(profile))
    return probe, [f for f in found if f.code == "SLIDE_TILES_PAST_END"]


def _jpeg_slide(path: Path, counts: dict[int, int]) -> Path:
    """A 1024-pixel JPEG slide of 16 tiles (tifffile; LONG byte counts), the byte counts given by
    tile index then rewritten in place."""
    import tifffile

    image = np.random.default_rng(0).integers(60, 200, (1024, 1024, 3), dtype=np.uint8)
    tifffile.imwrite(path, image, tile=(256, 256), photometric="rgb", compression="jpeg")
    with tifffile.TiffFile(path) as tf:
        tag = tf.pages.first.tags[325]
        assert int(tag.dtype) == 4
        at = tag.valueoffset
    with open(path, "r+b") as fh:
        for index, value in counts.items():
            fh.seek(at + 4 * index)
            fh.write(struct.pack("<I", value))
    return path


def test_a_jpeg_tile_past_the_end_opens_and_reads_blank_and_is_a_finding(tmp_path: Path, profile) -> None:
    """Tile 11's byte count 2^32 - 1: OpenSlide opens the slide and reads it with no failure (the
    tile painted blank); the finding names level 0, 1 of its 16 tiles, the first tile 11."""
    probe, found = _findings(tmp_path, profile, _jpeg_slide(tmp_path / "S1.tif", {11: 2**32 - 1}))
    assert probe.opened and probe.read_failure is None
    assert len(found) == 1 and found[0].severity.value == "error"
    text = str(found[0].message)
    assert "level 0 (1024x1024, TIFF page 0): 1 of its 16 tiles run past the file's end" in text
    assert "the first is tile 11" in text and found[0].location.file == "slides/S1.tif"


def test_a_byte_count_of_2_63_is_a_finding(tmp_path: Path, profile) -> None:
    """A BigTIFF's tile 3 of byte count 2^63 and tile 1 at an offset past the end (OpenSlide fails
    on uncompressed tiles so, and says why: the finding says which tiles)."""
    path = _slide(tmp_path / "S1.tif", True, {3: 2**63}, {1: 10**7})
    _, found = _findings(tmp_path, profile, path)
    assert len(found) == 1 and "2 of its 4 tiles" in str(found[0].message)
    assert "the first is tile 1" in str(found[0].message)


def test_a_classic_tiff_offset_past_the_end_is_a_finding(tmp_path: Path, profile) -> None:
    path = _slide(tmp_path / "S1.tif", False, {}, {2: 2**32 - 1})
    _, found = _findings(tmp_path, profile, path)
    assert len(found) == 1 and "1 of its 4 tiles" in str(found[0].message)


def test_a_tile_of_no_bytes_is_a_sparse_tile_not_a_finding(tmp_path: Path, profile) -> None:
    """A byte count of 0 is a tile left out on purpose (OpenSlide paints it transparent, as Aperio
    scanners write empty regions), whatever its offset: no finding."""
    path = _slide(tmp_path / "S1.tif", True, {0: 0, 1: 0}, {1: 2**62})
    assert _findings(tmp_path, profile, path)[1] == []
    probe, found = _findings(tmp_path, profile, _jpeg_slide(tmp_path / "S2.tif", {5: 0}))
    assert probe.opened and probe.read_failure is None and found == []


def test_a_healthy_tiff_is_no_finding(tmp_path: Path, profile) -> None:
    _, found = _findings(tmp_path, profile, _slide(tmp_path / "S1.tif", True, {}, {}))
    assert found == []


def test_real_slides_have_no_tile_past_their_end() -> None:
    files = [f for f in glob.glob(str(REAL / "*")) if f.endswith((".svs", ".tif", ".tiff", ".ndpi"))]
    if not files:
        pytest.skip("no real slides here")
    for name in files:
        fd = os.open(name, os.O_RDONLY)
        try:
            seen = tiles_looked_at(fd)
        finally:
            os.close(fd)
        found, looked = seen.found, seen.looked
        assert found == [], name
        if name.endswith(".svs") and Path(name).stem not in ("broken",):  # Aperio: tiled, level 0 whole
            assert looked > 0, name


def test_a_million_tiles_are_looked_at_in_bulk(tmp_path: Path) -> None:
    """A level of 10^6 tiles (16 pixels a side, offsets and counts of 4 MB each) is looked at whole
    within a second, and the tiles past the end are counted, the first one named."""
    n_side, n = 1000, 1000 * 1000
    offsets = np.full(n, 8, "<u4")
    counts = np.full(n, 768, "<u4")
    counts[[5, 777_777, n - 1]] = [2**32 - 1, 1, 0]
    offsets[777_777] = 2**31
    path = _tiled(tmp_path / "many.tif", [(16 * n_side, offsets, counts)], 16, False, bytes(768))
    fd = os.open(path, os.O_RDONLY)
    try:
        started = time.process_time()
        (page,) = tiles_past_end(fd)
        assert time.process_time() - started < 1
    finally:
        os.close(fd)
    assert (page.page, page.size, page.past, page.tiles, page.first) == (0, (16000, 16000), 2, n, 5)


def _tiles(path: Path) -> tuple[list, int, float]:
    fd = os.open(path, os.O_RDONLY)
    try:
        started = time.process_time()
        seen = tiles_looked_at(fd)
        return seen.found, seen.looked, time.process_time() - started
    finally:
        os.close(fd)


@pytest.mark.parametrize("pointer", [2**64 - 1, 2**63 - 1, 2**40])
def test_a_page_whose_tile_array_lies_past_the_end_hides_no_other_page(tmp_path: Path, pointer: int) -> None:
    """Page 1's TileOffsets pointer far past the end of a BigTIFF (os.pread raised on 2^63 and
    more, and the whole walk gave nothing): page 0's tile past the end is still found."""
    size = 256 * 256 * 3
    at, n = np.array([16 + k * size for k in range(4)], np.uint64), np.full(4, size, np.uint64)
    n[3] = 2**40
    sound = (np.array([16, 16], np.uint64), np.array([size, size], np.uint64))
    path = _tiled(tmp_path / "S1.tif", [(512, at, n), (512, *sound)], 256, True, bytes(5 * size))
    data = bytearray(path.read_bytes())
    entry = data.rindex(struct.pack("<HHQ", 324, 16, 2))  # page 1's TileOffsets (2: not in its entry)
    struct.pack_into("<Q", data, entry + 12, pointer)
    path.write_bytes(bytes(data))
    found, looked, _ = _tiles(path)
    assert [(page.page, page.past, page.tiles, page.first, page.unindexed) for page in found] == [
        (0, 1, 4, 3, 0),
        (1, 0, 0, -1, 2),  # its two tiles' offsets lie past the end: a finding of its own
    ]
    assert looked == 4


@pytest.mark.parametrize("pages", [64, 1000])
def test_pages_sharing_one_tile_array_read_it_once(tmp_path: Path, pages: int) -> None:
    """A 16 MiB BigTIFF whose directories all point at one array of 2^20 tiles (tile 7 past the
    end): read once (it was read for each page, 2 s of CPU, and the 1,000-page file stopped at 64),
    every page's finding given."""
    n = 1 << 20
    counts = np.full(n, 1, "<u8")
    counts[7] = 2**63
    arrays = np.full(n, 16, "<u8").tobytes() + counts.tobytes()
    ifd0 = 16 + len(arrays)
    size = 8 + 9 * 20 + 8
    out = bytearray(b"II+\0" + struct.pack("<HHQ", 8, 0, ifd0)) + arrays
    for k in range(pages):
        entries = [(256, 4, 1, 16384), (257, 4, 1, 16384), (258, 3, 1, 8), (262, 3, 1, 2), (277, 3, 1, 3)]
        entries += [(322, 3, 1, 16), (323, 3, 1, 16), (324, 16, n, 16), (325, 16, n, 16 + 8 * n)]
        out += struct.pack("<Q", len(entries)) + b"".join(struct.pack("<HHQQ", *e) for e in entries)
        out += struct.pack("<Q", ifd0 + size * (k + 1) if k + 1 < pages else 0)
    path = tmp_path / "shared.tif"
    path.write_bytes(bytes(out))
    found, looked, took = _tiles(path)
    assert [(page.page, page.past, page.first) for page in found] == [(k, 1, 7) for k in range(pages)]
    assert looked == pages * n and took < 0.5


def test_distinct_arrays_past_a_quarter_of_the_file_are_not_read(tmp_path: Path) -> None:
    """Directories whose arrays start 8 bytes apart in one region (no cache hit) read at most a
    quarter of the file's size in tiles: a real slide's arrays, 4 bytes a tile at least, fit."""
    n = 1 << 16
    arrays = np.full(2 * n + 64, 1, "<u8").tobytes()
    ifd0 = 16 + len(arrays)
    size, pages = 8 + 9 * 20 + 8, 64
    out = bytearray(b"II+\0" + struct.pack("<HHQ", 8, 0, ifd0)) + arrays
    for k in range(pages):
        entries = [(256, 4, 1, 4096), (257, 4, 1, 4096), (258, 3, 1, 8), (262, 3, 1, 2), (277, 3, 1, 3)]
        entries += [
            (322, 3, 1, 16),
            (323, 3, 1, 16),
            (324, 16, n, 16 + 8 * k),
            (325, 16, n, 16 + 8 * (n + k)),
        ]
        out += struct.pack("<Q", len(entries)) + b"".join(struct.pack("<HHQQ", *e) for e in entries)
        out += struct.pack("<Q", ifd0 + size * (k + 1) if k + 1 < pages else 0)
    path = tmp_path / "shifted.tif"
    path.write_bytes(bytes(out))
    _, looked, _ = _tiles(path)
    assert looked == len(out) // 4


def _cut_index(path: Path, keep: int) -> Path:
    """The slide of :func:`_slide` (classic TIFF) with level 0's TileOffsets moved to the file's
    last 8 bytes, so only its first ``keep`` offsets (of 4) lie within the file."""
    path = _slide(path, False, {}, {})
    data = bytearray(path.read_bytes())
    entry = data.index(struct.pack("<HHI", 324, 4, 4))  # level 0's TileOffsets (4 LONGs)
    (at,) = struct.unpack_from("<I", data, entry + 8)
    offsets = bytes(data[at : at + 16])
    data += offsets[: 4 * keep]
    struct.pack_into("<I", data, entry + 8, len(data) - 4 * keep)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("keep", [0, 2])
def test_a_tile_index_cut_short_is_a_finding(tmp_path: Path, profile, keep: int) -> None:
    """Level 0's TileOffsets array runs past the file's end (none or 2 of its 4 offsets held):
    OpenSlide refuses it ("Invalid TIFF") and nothing said why. Now a finding says which level
    and how many tiles have no index (a page's tile index pointing past the end gives one too:
    test_a_page_whose_tile_array_lies_past_the_end_hides_no_other_page)."""
    probe, found = _findings(tmp_path, profile, _cut_index(tmp_path / "S1.tif", keep))
    assert [(p.page, p.unindexed, p.tiles, p.past) for p in probe.tiles_past_end] == [(0, 4 - keep, keep, 0)]
    (finding,) = found
    assert finding.message.startswith("TIFF page 0 (512x512): the offsets or byte counts of ")
    assert f"{4 - keep} of its 4 tiles lie past the file's end themselves" in finding.message


def test_the_tile_index_look_is_charged_to_the_probe_budget(tmp_path: Path) -> None:
    """The tiles read are taken from the probe's work budget: a budget of 2^20 units (about 0.05
    s) reads 2^19 of a level's 10^6 tiles (it read them all whatever the budget) and records the
    step ``tile index`` as skipped by the work budget; a 30 s budget reads them all."""
    from dqm.budget import WORK_RATE

    n = 1000 * 1000
    offsets, counts = np.full(n, 8, "<u4"), np.full(n, 768, "<u4")
    counts[900_000] = 2**32 - 1
    path = _tiled(tmp_path / "many.tif", [(16 * 1000, offsets, counts)], 16, False, bytes(768))
    small = probe_slide(path, "slides/S1.tif", ProbeOptions(artefacts=False, budget_s=(1 << 20) / WORK_RATE))
    assert small.skipped[:1] == ("tile index",) and small.budget_clock == "work"
    assert small.tiles_past_end == ()  # tile 900,000 was not reached: the finding is SLIDE_TIME_BUDGET's
    whole = probe_slide(path, "slides/S1.tif", ProbeOptions(artefacts=False))
    assert "tile index" not in whole.skipped
    assert [(p.past, p.tiles, p.first) for p in whole.tiles_past_end] == [(1, n, 900_000)]


@pytest.mark.parametrize("limit", [1, 0])
def test_a_cut_index_looked_at_within_a_small_budget_says_the_page_s_own_tile_count(
    tmp_path: Path, profile, limit: int
) -> None:
    """Level 0's index holds 2 of its 4 tiles' offsets and the budget let 1 or 0 tiles be read:
    the finding said "2 of its 3 tiles" or "2 of its 2 tiles" (the tiles read plus those past the
    end). It says the page's own 4 (TilesPastEnd.total)."""
    import dataclasses

    path = _cut_index(tmp_path / "S1.tif", 2)
    fd = os.open(path, os.O_RDONLY)
    try:
        looked = tiles_looked_at(fd, limit)
    finally:
        os.close(fd)
    assert looked.cut
    assert [(p.page, p.unindexed, p.tiles, p.total) for p in looked.found] == [(0, 2, limit, 4)]
    probe = dataclasses.replace(
        probe_slide(path, "slides/S1.tif", ProbeOptions(artefacts=False)), tiles_past_end=tuple(looked.found)
    )
    found = [
        f
        for f in run_item_checks(view_of(profile, slide=probe), configure(profile))
        if f.code == "SLIDE_TILES_PAST_END"
    ]
    assert [f.message.count("2 of its 4 tiles lie past the file's end themselves") for f in found] == [1]


@pytest.mark.parametrize("big", [False, True])
def test_a_label_image_s_strip_past_the_end_is_a_finding(tmp_path: Path, profile, big: bool) -> None:
    """A slide's stripped page (an Aperio label or macro image: 7 strips of 16 rows) whose strip 5
    runs past the end: only the tiled levels were compared, so OpenSlide's failure on that image
    came with no finding (read only when a label thumbnail is asked for). The slide still opens
    and reads; the finding names the page and its strips."""
    import tifffile

    path = tmp_path / "S1.tif"
    image = np.random.default_rng(0).integers(60, 200, (512, 512, 3), dtype=np.uint8)
    label = np.full((100, 200, 3), 240, np.uint8)
    with tifffile.TiffWriter(path, bigtiff=big) as tw:
        tw.write(image, tile=(256, 256), photometric="rgb", compression="jpeg")
        tw.write(label, photometric="rgb", rowsperstrip=16, subfiletype=1)
    with tifffile.TiffFile(path) as tf:
        tag = tf.pages[1].tags[279]  # type: ignore[union-attr]
        assert tag.count == 7
        fmt, at = {3: "<H", 4: "<I", 16: "<Q"}[int(tag.dtype)], tag.valueoffset
    healthy = _findings(tmp_path, profile, path)[1]
    with open(path, "r+b") as fh:
        fh.seek(at + struct.calcsize(fmt) * 5)
        fh.write(struct.pack(fmt, 2**31 if fmt != "<H" else 2**16 - 1))
    probe, found = _findings(tmp_path, profile, path)
    assert healthy == [] and probe.opened and probe.read_failure is None
    assert [str(f.message) for f in found] == [
        "TIFF page 1 (200x100, stored in strips): 1 of its 7 strips run past the file's end (offset plus byte "
        "count; the first is strip 5): the image cannot be read whole (a label or macro image: OpenSlide fails "
        "when it reads it)"
    ]


def test_a_plain_stripped_tiff_s_strip_past_the_end_names_the_image_itself(tmp_path: Path, profile) -> None:
    """A plain stripped TIFF (page 0, the image Pillow reads) whose strip 3 runs past the end: the
    finding called it "a label or macro image: OpenSlide fails when it reads it"."""
    import tifffile

    path = tmp_path / "S1.tif"
    tifffile.imwrite(path, np.full((100, 200, 3), 240, np.uint8), photometric="rgb", rowsperstrip=16)
    with tifffile.TiffFile(path) as tf:
        tag = tf.pages.first.tags[279]
        fmt, at = {3: "<H", 4: "<I", 16: "<Q"}[int(tag.dtype)], tag.valueoffset
    with open(path, "r+b") as fh:
        fh.seek(at + struct.calcsize(fmt) * 3)
        fh.write(struct.pack(fmt, 2**31 if fmt != "<H" else 2**16 - 1))
    _, found = _findings(tmp_path, profile, path)
    assert [str(f.message) for f in found] == [
        "TIFF page 0 (200x100, stored in strips): 1 of its 7 strips run past the file's end (offset plus byte "
        "count; the first is strip 3): the image itself cannot be read whole (its reader fails on that strip)"
    ]
