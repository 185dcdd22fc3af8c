"""A slide probe reads a bounded number of bytes, whatever the slide's size (issue 13 §4)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dqm import slide_io
from dqm.pixels.artefacts import BLUR_TILES
from dqm.slide_io import HASH_CHUNK, TILE, ProbeOptions, probe_slide, sample_regions
from dqm.synth.pyramid import paint, write_large_pyramid, write_pyramid

INDEX_BYTES_PER_TILE = 32
"""What the TIFF's tile index costs per tile (offset and byte count, 8 bytes each in a BigTIFF): read
by OpenSlide for every level and by tifffile for level 0. The only read that grows with the slide."""
HEADERS = 1 << 16
"""The TIFF header and directories, and what buffered reads take beyond what was asked."""
OPENSLIDE_HANDLES = 2
"""OpenSlide handles that read the directories and the tile index: the probe's, and the one
``dqm.slide_tiles`` has check the JPEG tiles it decodes (its errors are sticky: a failed check
must leave the probe's handle as it was)."""


def _bytes_read() -> int:
    """Bytes this process has read through system calls so far (page cache or disk alike)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar line in /proc/self/io")


def _print_bytes(size: int) -> int:
    """What the file's quick print reads: its first MiB, and its last when it is over two."""
    return min(size, HASH_CHUNK) + (HASH_CHUNK if size > 2 * HASH_CHUNK else 0)


def _bound(path: Path) -> int:
    """The most a probe may read of ``path`` besides its print, from the probe's constants: the
    directories and tile index (by each OpenSlide handle), 3 sample regions per level and the blur tiles (each region covering at most 4 tiles of the
    largest size in the file), and the smallest level read whole for the tissue mask."""
    import tifffile

    with tifffile.TiffFile(path) as tf:
        pages = list(tf.pages)
        tiles = sum(len(p.databytecounts) for p in pages)
        largest = max(max(p.databytecounts) for p in pages)
        smallest_level = sum(pages[-1].databytecounts)
    regions = 3 * len(pages) + BLUR_TILES
    return (
        OPENSLIDE_HANDLES * HEADERS
        + INDEX_BYTES_PER_TILE * (OPENSLIDE_HANDLES * tiles + len(pages[0].databytecounts))
        + 4 * regions * largest
        + smallest_level
    )


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs Linux's per-process I/O counters")
def test_bytes_read_are_bounded_whatever_the_slide_size(tmp_path: Path) -> None:
    """Two pyramids, the second 16 times the pixels and file of the first (576 and 9,216 level-0
    tiles, each with a 768 px second level; blur tiles read at level 0): each probe reads within the
    same size-free bound, and the large one a small share of its file."""
    read, sizes = [], []
    for side, downsample in ((6144, 8), (24576, 32)):
        path = tmp_path / f"{side}.tiff"
        write_large_pyramid(path, side, mpp=1.0, downsamples=(1, downsample))
        probe_slide(path, path.name)  # the first probe imports what the probe needs
        size = path.stat().st_size
        before = _bytes_read()
        probe = probe_slide(path, path.name)
        read.append(_bytes_read() - before - _print_bytes(size))
        sizes.append(size)
        assert probe.opened and probe.read_failure is None and not probe.skipped
        assert (
            probe.tissue is not None and probe.tissue.tissue_fraction > 0.05 and probe.artefacts is not None
        )
        assert read[-1] <= _bound(path), (side, read[-1], _bound(path))
    assert sizes[1] > 12 * sizes[0] and read[1] < sizes[1] / 20


def test_sample_regions_lie_on_the_tile_grid() -> None:
    """Each region starts on a stored tile's corner (one tile decoded per read), the last holds the
    level's last pixel (a truncated file loses it first), and a level within one read is read once."""
    dims, downsamples = ((1000, 700), (250, 175)), (1.0, 4.0)
    regions = sample_regions(dims, downsamples, grids=[(240, 240), (240, 240)])
    level0 = [xy for level, xy, _ in regions if level == 0]
    assert level0 == [(0, 0), (480, 240), (960, 480)]
    assert all(size == (TILE, TILE) for level, _, size in regions if level == 0)
    assert [(xy, size) for level, xy, size in regions if level == 1] == [((0, 0), (250, 175))]
    assert len(sample_regions(dims, downsamples)) == 4  # no grid known: unaligned diagonal, small level once


def test_probe_reads_each_region_once_on_the_tile_grid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a small JPEG pyramid (levels 1 and 4, 256 px tiles, tissue in the middle): every read
    starts on a stored tile's corner, none is repeated (the smallest level, one read, serves the
    sample and the tissue mask; a sampled level-0 tile on tissue serves the blur sample), and blur
    is still measured on tissue."""

    side = 1000
    outline = np.array([[150, 150], [850, 150], [850, 850], [150, 850]])
    image = paint(np.random.default_rng(5), side, side, outline)
    path = tmp_path / "small.tiff"
    write_pyramid(path, image, 0.5)
    reads: list[tuple[int, tuple[int, int], tuple[int, int]]] = []
    plain = slide_io._read_rgba  # every OpenSlide read of the probe

    def counted(
        slide: Any, location: tuple[int, int], level: int, size: tuple[int, int], tiles: Any = None
    ) -> Any:
        reads.append((level, tuple(location), tuple(size)))
        return plain(slide, location, level, size, tiles)

    monkeypatch.setattr(slide_io, "_read_rgba", counted)
    probe = probe_slide(path, path.name, ProbeOptions(artefacts_budget_s=60.0))  # unhurried under load
    assert probe.read_failure is None and probe.artefacts is not None
    assert probe.artefacts.blur is not None and probe.artefacts.blur.tiles > 0
    assert len(reads) == len(set(reads)), reads
    downsamples = {0: 1, 1: 4}
    assert all(x / downsamples[lv] % 256 == 0 and y / downsamples[lv] % 256 == 0 for lv, (x, y), _ in reads)
    assert len(reads) < probe.regions_read + probe.artefacts.blur.tiles + 1  # at least one read served twice


def test_the_probes_reads_are_read_regions_pixels_without_pillows_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``_read_rgba`` gives the bytes of ``np.asarray(read_region(...))`` (level 0 and the smallest
    level, inside and across the slide's edge, where OpenSlide leaves pixels transparent), read-only
    as Pillow's are; the probe reads through it, not through ``read_region``'s image, whose copy
    into an array cost a quarter of each read; a slide object without openslide-python's handle is
    read through ``read_region``."""
    import openslide

    image = paint(
        np.random.default_rng(3), 900, 700, np.array([[100, 100], [800, 100], [800, 600], [100, 600]])
    )
    path = tmp_path / "small.tiff"
    write_pyramid(path, image, 0.5)
    with openslide.OpenSlide(str(path)) as slide:
        for xy, level, size in (
            ((256, 256), 0, (256, 256)),
            ((0, 0), 1, (225, 175)),
            ((800, 600), 0, (300, 200)),
        ):
            got = slide_io._read_rgba(slide, xy, level, size)
            expected = np.asarray(slide.read_region(xy, level, size))
            assert got.shape == expected.shape and got.tobytes() == expected.tobytes()
            assert not got.flags.writeable

        class Other:  # a reader with read_region only
            def read_region(self, xy: Any, level: int, size: Any) -> Any:
                return slide.read_region(xy, level, size)

        corner = np.asarray(slide.read_region((0, 0), 0, (64, 32))).tobytes()
        assert slide_io._read_rgba(Other(), (0, 0), 0, (64, 32)).tobytes() == corner
    expected = probe_slide(path, path.name)

    def refused(*args: Any) -> Any:
        raise AssertionError("read through read_region's image")

    monkeypatch.setattr(openslide.OpenSlide, "read_region", refused)
    probe = probe_slide(path, path.name)
    assert probe.read_failure is None and probe.regions_read == expected.regions_read
    assert probe.artefacts is not None and expected.artefacts is not None
    assert probe.artefacts.blur == expected.artefacts.blur and probe.artefacts.blur is not None
    assert probe.tissue is not None and expected.tissue is not None
    assert probe.tissue.mask.tobytes() == expected.tissue.mask.tobytes()


@pytest.mark.parametrize(
    ("thumbnail", "used"),
    [((768, 768), True), ((1024, 1024), True), ((60_000, 60_000), False), ((1025, 1024), False)],
)
def test_a_thumbnail_larger_than_the_slide_is_not_taken_for_its_tissue_mask(
    thumbnail: tuple[int, int], used: bool
) -> None:
    """A header may state any size for the "thumbnail" image: one larger than level 0 (a red-team
    slide of 1,024 px a side stated 60,000) was chosen for the tissue mask, spent the slide's budget
    (SLIDE_TIME_BUDGET) and left the slide with no mask; the smallest level is used instead."""
    probe = slide_io.SlideProbe(path="s.svs", associated_images=("thumbnail",))
    probe.properties = {
        "openslide.associated.thumbnail.width": str(thumbnail[0]),
        "openslide.associated.thumbnail.height": str(thumbnail[1]),
    }
    got = slide_io._whole_slide_thumbnail(probe, (1024, 1024))
    assert got == (thumbnail[0] * thumbnail[1] if used else None)
