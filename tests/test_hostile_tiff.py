"""Hostile TIFF slides (red team, session 28): cyclic and endless IFD chains, offsets past the end,
absurd tile sizes and byte counts, a 100 MB description holding an identifier, a ``.tif`` that is
a PNG. Each file is built here byte by byte; each probe is a finding naming the slide, in bounded
time and memory, and a text it refuses to parse whole is still searched for identifiers."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from dqm.slide_io import ProbeOptions, probe_slide, slide_thumbnail
from tests.deid.test_deid import assert_masked, deid_findings, view_of

SHORT, LONG, ASCII, LONG8 = 3, 4, 2, 16
PIXELS = bytes(range(256)) * 3  # 16 x 16 RGB
RRN_TEXT = b"Aperio Image Library v12.0.15|Patient = 900101-1234567|Name = Hong Gildong"


def _tiff(path: Path, pages: list[tuple[list[tuple], int | None]], big: bool = False) -> Path:
    """A TIFF of :data:`PIXELS` at offset 8 (16 for a BigTIFF) and ``pages``' IFDs after it, in
    order, each ``(entries, next)``: ``next`` the index of the page its next-IFD offset points at,
    or None (the end). An entry's value is an int held in the entry, or bytes stored after the
    IFDs (held in the entry where they fit)."""
    esize, csize, osize, fit = (20, 8, 8, 8) if big else (12, 2, 4, 4)
    start = (16 if big else 8) + len(PIXELS)
    offsets, pos = [], start
    for entries, _ in pages:
        offsets.append(pos)
        pos += csize + esize * len(entries) + osize
    head = b"II+\0" + struct.pack("<HHQ", 8, 0, start) if big else b"II*\0" + struct.pack("<I", start)
    out, values = bytearray(head + PIXELS), bytearray()
    for entries, following in pages:
        out += struct.pack("<Q" if big else "<H", len(entries))
        for tag, kind, count, value in sorted(entries, key=lambda e: e[0]):
            if isinstance(value, bytes) and len(value) <= fit:
                value = int.from_bytes(value.ljust(fit, b"\0"), "little")
            elif isinstance(value, bytes):
                value, values = pos + len(values), values + value
            out += struct.pack("<HHQQ" if big else "<HHII", tag, kind, count, value)
        out += struct.pack("<Q" if big else "<I", 0 if following is None else offsets[following])
    path.write_bytes(bytes(out + values))
    return path


def _page(
    w: int, h: int, *, tile: int | None = None, at: int = 8, count: int = 768, big: bool = False, extra=()
):
    """A page of RGB bytes: one strip, or one tile of ``tile`` a side, at ``at`` of ``count`` bytes."""
    rgb = [(256, LONG, 1, w), (257, LONG, 1, h), (258, SHORT, 3, struct.pack("<3H", 8, 8, 8))]
    rgb += [(259, SHORT, 1, 1), (262, SHORT, 1, 2), (277, SHORT, 1, 3), (284, SHORT, 1, 1)]
    if tile is None:
        return [*rgb, (273, LONG, 1, at), (278, LONG, 1, h), (279, LONG, 1, count), *extra]
    kind = LONG8 if big else LONG
    return [
        *rgb,
        (322, LONG, 1, tile),
        (323, LONG, 1, tile),
        (324, kind, 1, at),
        (325, kind, 1, count),
        *extra,
    ]


@pytest.mark.parametrize("held", [True, False])
def test_a_description_too_long_to_open_is_still_searched_for_identifiers(
    tmp_path: Path, profile, held: bool
) -> None:
    """An SVS whose ImageDescription is over the limit OpenSlide is given (32 MiB; the file holding
    it, or only declaring it) is refused before OpenSlide opens it, and its text was then never
    read: an RRN and a name at the description's start passed the de-identification checks with no
    word (no property, no DEID_SLIDE_UNSEARCHED). Its first 256 KiB are searched now, the rest said
    unsearched, the identifiers masked in every finding."""
    from dqm.slide_refs import MAX_TIFF_TEXT_BYTES

    size = MAX_TIFF_TEXT_BYTES + 1
    head = RRN_TEXT + b"|<script>alert(1)</script>|"
    text = head + b"x" * (size - len(head) - 1) + b"\0"
    assert len(text) == size
    stored = text if held else text[:4096]
    path = _tiff(tmp_path / "S1.svs", [(_page(16, 16, extra=[(270, ASCII, size, stored)]), None)])
    probe = probe_slide(path, "slides/S1.svs", ProbeOptions(artefacts=False))
    assert not probe.opened and "tag 270 declares 33,554,433 bytes of text" in (probe.open_error or "")
    assert probe.text_unread is not None and "ImageDescription" in probe.text_unread
    found = deid_findings(view_of(profile, slide=probe))
    codes = {(f.code, f.location.file) for f in found}
    assert {("DEID_SLIDE_IDENTIFIER", "slides/S1.svs"), ("DEID_SLIDE_UNSEARCHED", "slides/S1.svs")} <= codes
    assert_masked(found)


def test_too_many_directories_refused_still_have_their_first_pages_searched(tmp_path: Path, profile) -> None:
    """Twice :data:`~dqm.slide_refs.MAX_TIFF_IFDS` IFDs chained (one-entry directories after a first
    page holding an RRN; 10^6 of them, 18 MB, take the probe 0.2 s too): refused before OpenSlide,
    and the first page's description searched (it was not), the pages past the first 64 said
    unsearched."""
    import time

    from dqm.slide_refs import MAX_TIFF_IFDS

    first = _page(16, 16, extra=[(270, ASCII, len(RRN_TEXT) + 1, RRN_TEXT + b"\0")])
    n = 2 * MAX_TIFF_IFDS
    chain = [([(254, LONG, 1, 1)], k + 1 if k + 1 < n else None) for k in range(1, n)]
    path = _tiff(tmp_path / "S1.svs", [(first, 1), *chain])
    started = time.process_time()
    probe = probe_slide(path, "slides/S1.svs", ProbeOptions(artefacts=False))
    assert time.process_time() - started < 10
    assert not probe.opened and "image directories" in (probe.open_error or "")
    found = deid_findings(view_of(profile, slide=probe))
    assert {"DEID_SLIDE_IDENTIFIER", "DEID_SLIDE_UNSEARCHED"} <= {f.code for f in found}
    assert_masked(found)


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\0" + PIXELS[:48] for _ in range(16))
    head = struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", head)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


HOSTILE = {
    "cyclic": lambda p: _tiff(p, [(_page(256, 256, tile=256), 1), (_page(128, 128, tile=128), 0)]),
    "strip_past_end": lambda p: _tiff(p, [(_page(16, 16, at=10**9), None)]),
    "tile_past_end": lambda p: _tiff(p, [(_page(256, 256, tile=256, at=10**9, count=196_608), None)]),
    "tile_count_2^32": lambda p: _tiff(p, [(_page(256, 256, tile=256, count=2**32 - 1), None)]),
    "bigtiff_tile_2^31": lambda p: _tiff(
        p, [(_page(2**31, 2**31, tile=2**31, at=16, big=True), None)], big=True
    ),
    "bigtiff_2^31_of_256_tiles": lambda p: _tiff(
        p, [(_page(2**31 - 16, 2**31 - 16, tile=256, at=16, big=True), None)], big=True
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_tiff_structure_is_a_finding_naming_the_slide(tmp_path: Path, case: str) -> None:
    """Each structure (measured: 0.1 s and under 100 MB each, probe and thumbnail) is refused or
    read with a failure that names the slide by its place in the batch, never a raise."""
    path = HOSTILE[case](tmp_path / "S1.tif")
    probe = probe_slide(path, "slides/S1.tif", ProbeOptions(artefacts=False))
    why = probe.open_error or (probe.read_failure.message if probe.read_failure else None)
    assert why is not None, case
    assert str(tmp_path) not in why
    thumb = slide_thumbnail(path, 256, rel="slides/S1.tif")
    assert thumb.failure is not None and str(tmp_path) not in thumb.reason


@pytest.mark.parametrize("png", [True, False])
def test_a_tif_that_is_a_png_or_loops_on_itself_is_read_as_a_flat_image(tmp_path: Path, png: bool) -> None:
    """A ``.tif`` holding a PNG, or a strip TIFF whose one IFD points at itself: Pillow reads it
    (a flat image: SLIDE_NOT_WSI), and the probe says which format."""
    path = tmp_path / "S1.tif"
    if png:
        path.write_bytes(_png())
    else:
        _tiff(path, [(_page(16, 16), 0)])
    probe = probe_slide(path, "slides/S1.tif", ProbeOptions(artefacts=False))
    assert probe.opened and probe.backend == "pillow" and probe.read_failure is None
    assert probe.vendor == ("image/png" if png else "image/tiff")
