"""Multi-file slides whose companion files leave the batch or are special files (dqm.slide_refs).

OpenSlide opens the files a VMS/VMU names, those a MIRAX ``Slidedat.ini`` names, and every file
beside a DICOM slide: each test builds one such slide, small and real, and checks that dqm refuses
it before OpenSlide reads anything outside the batch (or waits on a FIFO), with the finding
``SLIDE_REFERENCE_REFUSED`` naming the reference; a slide whose files are all inside still opens.
FIFOs are tested on ``refused_reference`` alone: a regression must not hang the suite.
The TIFF tests at the end: chains of too many directories or tags, texts too long (tiff_refusal).
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from dqm.model import Item
from dqm.profile import Profile
from dqm.runner import run_item_checks
from dqm.semantic.server.tiles import SlideUnavailable, open_slide
from dqm.slide_io import SlideProbe, batch_named, probe_slide, slide_thumbnail
from dqm.slide_refs import not_to_open, refused_reference, unturned
from validators.context import FileStatus, ItemView
from validators.engine import configure


def _jpeg(path: Path, colour: tuple[int, int, int]) -> None:
    """A JPEG OpenSlide's Hamamatsu reader takes: restart markers, no chroma subsampling."""
    img = Image.fromarray(np.full((64, 128, 3), colour, np.uint8))
    img.save(path, "JPEG", quality=90, restart_marker_blocks=8, subsampling=0)


def _vms(path: Path, image: str, map_file: str | None = None) -> None:
    path.write_text(
        "[Virtual Microscope Specimen]\nNoLayers=1\nNoJpegColumns=1\nNoJpegRows=1\n"
        f"ImageFile={image}\nMapFile={map_file or image}\nPhysicalWidth=1000\nPhysicalHeight=1000\n"
    )


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    (tmp_path / "outside").mkdir()
    _jpeg(tmp_path / "outside" / "other.jpg", (200, 30, 30))
    root = tmp_path / "batch"
    (root / "sub").mkdir(parents=True)
    return root


def _findings(profile: Profile, probe: SlideProbe) -> list:
    item = Item("s", probe.path, None, {}, None)
    view = ItemView(item, profile, None, probe, FileStatus(probe.path, True), FileStatus(None, False))
    return [f for f in run_item_checks(view, configure(profile)) if f.check == "slide.opens"]


def test_vms_inside_the_batch_opens(batch: Path) -> None:
    _jpeg(batch / "sub" / "S1.jpg", (20, 200, 20))
    _vms(batch / "sub" / "S1.vms", "S1.jpg")
    probe = probe_slide(batch / "sub" / "S1.vms", "sub/S1.vms")
    assert probe.opened and probe.vendor == "hamamatsu" and not probe.reference_refused
    assert refused_reference(batch / "sub" / "S1.vms", batch) is None


@pytest.mark.parametrize(
    "image",
    [
        "../../outside/other.jpg",  # climbs out of the batch
        "link/../../outside/other.jpg",  # lexically inside: the link is followed before '..'
        "out.jpg",  # a link beside it, to a file outside
    ],
)
def test_vms_naming_a_file_outside_is_not_opened(batch: Path, image: str, profile: Profile) -> None:
    outside = batch.parent / "outside"
    (batch / "sub" / "link").symlink_to(outside / "deeper", target_is_directory=True)
    (outside / "deeper").mkdir()
    (batch / "sub" / "out.jpg").symlink_to(outside / "other.jpg")
    _jpeg(batch / "sub" / "S1.jpg", (20, 200, 20))
    _vms(batch / "sub" / "S1.vms", "S1.jpg", map_file=image)
    probe = probe_slide(batch / "sub" / "S1.vms", "sub/S1.vms")
    assert not probe.opened and probe.reference_refused and probe.width is None
    assert image in probe.open_error and "outside the batch" in probe.open_error
    (finding,) = _findings(profile, probe)
    assert finding.code == "SLIDE_REFERENCE_REFUSED" and finding.location.file == "sub/S1.vms"
    thumb = slide_thumbnail(batch / "sub" / "S1.vms", 64, rel="sub/S1.vms")
    assert thumb.image is None and thumb.failure == "unreadable" and image in thumb.reason
    with pytest.raises(SlideUnavailable, match="outside the batch"):
        open_slide(batch / "sub" / "S1.vms", batch)


def test_vms_naming_a_fifo_is_not_opened(batch: Path) -> None:
    """OpenSlide's open of a FIFO waits for a writer for ever: the run hung."""
    os.mkfifo(batch / "sub" / "pipe.jpg")
    _jpeg(batch / "sub" / "S1.jpg", (20, 200, 20))
    _vms(batch / "sub" / "S1.vms", "S1.jpg", map_file="pipe.jpg")
    why = refused_reference(batch / "sub" / "S1.vms", batch)
    assert why is not None and "pipe.jpg" in why and "FIFO" in why


def test_vms_of_another_name_is_checked(batch: Path) -> None:
    """OpenSlide tries any file that is no TIFF as a VMS key file, whatever its name."""
    _vms(batch / "sub" / "S1.svs", "../../outside/other.jpg")
    probe = probe_slide(batch / "sub" / "S1.svs", "sub/S1.svs")
    assert probe.reference_refused and not probe.opened


def _mirax(root: Path, slidedat: str | None) -> Path:
    (root / "S1.mrxs").write_bytes(b"MIRAX")
    (root / "S1").mkdir()
    if slidedat is not None:
        (root / "S1" / "Slidedat.ini").write_text(slidedat)
    return root / "S1.mrxs"


def test_mirax_slidedat_fifo_is_not_opened(batch: Path) -> None:
    """OpenSlide would wait on it for ever (the former code's probe hung)."""
    slide = _mirax(batch, None)
    os.mkfifo(batch / "S1" / "Slidedat.ini")
    why = refused_reference(slide, batch)
    assert why is not None and "Slidedat.ini" in why and "FIFO" in why


def test_mirax_folder_linked_outside_is_not_opened(batch: Path) -> None:
    slide = _mirax(batch, None)
    (batch / "S1").rmdir()
    outside = batch.parent / "outside" / "S1"
    outside.mkdir()
    (outside / "Slidedat.ini").write_text("[GENERAL]\nSLIDE_ID=x\n")
    (batch / "S1").symlink_to(outside, target_is_directory=True)
    probe = probe_slide(slide, "S1.mrxs")
    assert probe.reference_refused and "outside the batch" in probe.open_error


@pytest.mark.parametrize("key", ["[DATAFILE]\nFILE_COUNT=1\nFILE_0", "[HIERARCHICAL]\nINDEXFILE"])
def test_mirax_data_file_outside_is_refused(batch: Path, key: str) -> None:
    slide = _mirax(batch, f"[GENERAL]\nSLIDE_ID=x\n{key} = ../../outside/other.jpg\n")
    why = refused_reference(slide, batch)
    assert why is not None and "../../outside/other.jpg" in why


def test_mirax_inside_is_left_to_openslide(batch: Path) -> None:
    slide = _mirax(batch, "[HIERARCHICAL]\nINDEXFILE=Index.dat\n[DATAFILE]\nFILE_0=Data0000.dat\n")
    assert refused_reference(slide, batch) is None
    probe = probe_slide(slide, "S1.mrxs")
    assert not probe.reference_refused and not probe.opened  # OpenSlide's own error: no GENERAL


@pytest.fixture
def dicom(batch: Path, real_data: Path) -> Path:
    """The real two-file DICOM slide, one file in the batch and the other outside."""
    shutil.copy(real_data / "slides" / "boxes_0.dcm", batch / "sub" / "boxes_0.dcm")
    shutil.copy(real_data / "slides" / "boxes_1.dcm", batch.parent / "outside" / "boxes_1.dcm")
    return batch / "sub" / "boxes_0.dcm"


def test_dicom_alone_opens(dicom: Path, batch: Path) -> None:
    probe = probe_slide(dicom, "sub/boxes_0.dcm")
    assert probe.opened and probe.vendor == "dicom" and probe.associated_images == ()


def test_dicom_beside_a_hidden_link_outside_is_not_opened(dicom: Path, batch: Path) -> None:
    """The former code took the outside file into the slide: its ``thumbnail`` image appeared."""
    (batch / "sub" / ".x").symlink_to(batch.parent / "outside" / "boxes_1.dcm")
    probe = probe_slide(dicom, "sub/boxes_0.dcm")
    assert not probe.opened and probe.reference_refused and ".x" in probe.open_error
    assert probe.associated_images == ()


def test_dicom_beside_a_link_to_an_outside_folder_opens(dicom: Path, batch: Path) -> None:
    """OpenSlide cannot read a folder as a file: such a link is harmless (an output folder, say)."""
    (batch / "sub" / "out").symlink_to(batch.parent / "outside", target_is_directory=True)
    assert refused_reference(dicom, batch) is None


@pytest.mark.parametrize("group", ["Virtual Microscope Specimen", "Uncompressed Virtual Microscope Specimen"])
def test_vms_and_vmu_keys_are_read_as_glib_reads_them(batch: Path, group: str) -> None:
    """Blanks around '=', GLib's escapes, a BOM, any case of the key: the name OpenSlide opens."""
    text = f"\ufeff[{group}]\n  imagefile(0,0) =  ..\\s/x.jpg\n MapFile = \\s../../outside/other.jpg\n"
    (batch / "sub" / "S1.vmu").write_text(text, encoding="utf-8")
    assert refused_reference(batch / "sub" / "S1.vmu", batch) is None  # ' ../x' stays inside
    (batch / "sub" / "S1.vmu").write_text(text.replace("\\s../../", "../../"), encoding="utf-8")
    why = refused_reference(batch / "sub" / "S1.vmu", batch)
    assert why is not None and "../../outside/other.jpg" in why


def test_dicom_beside_a_fifo_is_refused(dicom: Path, batch: Path) -> None:
    os.mkfifo(batch / "sub" / ".fifo")
    why = refused_reference(dicom, batch)
    assert why is not None and ".fifo" in why and "FIFO" in why


def test_dicom_of_another_name_is_checked(dicom: Path, batch: Path) -> None:
    """OpenSlide reads a DICOM file by its content: named .svs, it still opens its folder."""
    dicom.rename(batch / "sub" / "S1.svs")
    os.mkfifo(batch / "sub" / "pipe")
    assert refused_reference(batch / "sub" / "S1.svs", batch) is not None


def test_single_file_slides_are_not_refused(batch: Path) -> None:
    os.mkfifo(batch / "sub" / "pipe")  # beside a plain image, nothing opens it
    _jpeg(batch / "sub" / "S1.jpg", (1, 2, 3))
    assert refused_reference(batch / "sub" / "S1.jpg", batch) is None


def _tiff_with_ifds(path: Path, extra: int, bigtiff: bool = False, tags: int = 1) -> None:
    """A real tiled TIFF (tifffile) followed by ``extra`` directories of ``tags`` tags (0 or 1) each."""
    import struct

    import tifffile

    tifffile.imwrite(path, np.full((256, 256, 3), 200, np.uint8), tile=(256, 256), bigtiff=bigtiff)
    data = bytearray(path.read_bytes())
    order, (count_fmt, next_fmt, entry) = "<", (("Q", "Q", 20) if bigtiff else ("H", "I", 12))
    first = struct.unpack_from(order + ("Q" if bigtiff else "I"), data, 8 if bigtiff else 4)[0]
    (entries,) = struct.unpack_from(order + count_fmt, data, first)
    link = first + struct.calcsize(count_fmt) + entries * entry
    for _ in range(extra):
        here = len(data)
        struct.pack_into(order + next_fmt, data, link, here)
        tag = (
            struct.pack(order + "HHQQ", 254, 4, 1, 1)
            if bigtiff
            else struct.pack(order + "HHII", 254, 4, 1, 1)
        )
        data += struct.pack(order + count_fmt, tags) + tag * tags
        link = len(data)
        data += struct.pack(order + next_fmt, 0)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("bigtiff", [False, True])
def test_a_tiff_of_too_many_directories_is_not_opened(tmp_path: Path, bigtiff: bool) -> None:
    """OpenSlide holds every directory in memory (a million: 485 MB for an 18 MB file)."""
    from dqm.slide_refs import MAX_TIFF_IFDS

    many, few = tmp_path / "many.tif", tmp_path / "few.tif"
    _tiff_with_ifds(many, MAX_TIFF_IFDS, bigtiff)  # one more than the limit, with the image's own
    _tiff_with_ifds(few, 5, bigtiff)
    probe = probe_slide(many, "many.tif")
    assert not probe.opened and "10,000 image directories" in probe.open_error
    assert slide_thumbnail(many, 64, rel="many.tif").failure == "unreadable"
    with pytest.raises(SlideUnavailable, match="image directories"):
        open_slide(many, tmp_path)
    assert probe_slide(few, "few.tif").opened


def test_openslide_errors_name_the_batchs_files_by_their_place(batch: Path) -> None:
    """A VMS naming '/home/kim/x.jpg' (OpenSlide looks for it in the slide's folder): its error
    named the file by its host path, the batch's location on this machine included."""
    _vms(batch / "sub" / "S1.vms", "/home/kim/x.jpg")
    probe = probe_slide(batch / "sub" / "S1.vms", "sub/S1.vms")
    assert not probe.reference_refused and "sub/home/kim/x.jpg" in probe.open_error
    assert str(batch) not in probe.open_error and str(batch) not in probe.open_error.params["reason"]
    thumb = slide_thumbnail(batch / "sub" / "S1.vms", 64, rel="sub/S1.vms")
    assert "sub/home/kim/x.jpg" in thumb.reason and str(batch) not in thumb.reason + thumb.detail
    with pytest.raises(SlideUnavailable) as served:  # the review server's open, too
        open_slide(batch / "sub" / "S1.vms", batch)
    assert "sub/home/kim/x.jpg" in str(served.value) and str(batch) not in str(served.value)


def test_only_a_path_that_starts_with_the_batch_folder_is_renamed() -> None:
    """The batch folder ``/data`` of ``/data/cases/data/S1.tif`` is no part of ``cases/data/``: the
    former code removed it wherever it was and named the slide ``casesS1.tif``."""
    slide = Path("/data/cases/data/S1.tif")
    named = batch_named("Invalid TIFF: /data/cases/data/S1.tif", slide, "cases/data/S1.tif")
    assert named == "Invalid TIFF: cases/data/S1.tif"
    named = batch_named("Can't open '/data/cases/data/x.jpg'", slide, "cases/data/S1.tif")
    assert named == "Can't open 'cases/data/x.jpg'"


def _ndpi(path: Path, directories: int) -> Path:
    """NDPI as OpenSlide reads it: the first offset 8 bytes long, each directory its count, its
    entries, an 8-byte next offset, then a 4-byte extension an entry."""
    import struct

    data = bytearray(b"II*\x00" + struct.pack("<QI", 16, 0))
    for k in range(directories):
        tag = 65420 if k == 0 else 254
        data += struct.pack("<HHHII", 1, tag, 4, 1, 1)  # one entry
        data += struct.pack("<Q", len(data) + 12 if k < directories - 1 else 0) + b"\0" * 4
    path.write_bytes(bytes(data))
    return path


def test_an_ndpi_chain_is_walked_as_openslide_walks_it(tmp_path: Path) -> None:
    """NDPI: the next offset (8 bytes) right after the entries, their extensions after it; the
    former walk read it 4 bytes later (from the offset's high half and the extension, zeros) and
    stopped at the first directory of a million."""
    from dqm.slide_refs import MAX_TIFF_IFDS, tiff_refusal

    assert tiff_refusal(_ndpi(tmp_path / "many.ndpi", MAX_TIFF_IFDS + 1)) is not None
    assert tiff_refusal(_ndpi(tmp_path / "few.ndpi", MAX_TIFF_IFDS)) is None


@pytest.mark.parametrize("bigtiff", [False, True])
def test_directories_of_no_entry_are_counted(tmp_path: Path, bigtiff: bool) -> None:
    """OpenSlide goes on through a directory of no entry, and holds it: the former walk stopped
    there (a 6 MB file of a million such took OpenSlide 317 MB)."""
    from dqm.slide_refs import MAX_TIFF_IFDS, tiff_refusal

    _tiff_with_ifds(tmp_path / "many.tif", MAX_TIFF_IFDS, bigtiff, tags=0)
    _tiff_with_ifds(tmp_path / "few.tif", MAX_TIFF_IFDS - 1, bigtiff, tags=0)
    assert tiff_refusal(tmp_path / "many.tif") is not None
    assert tiff_refusal(tmp_path / "few.tif") is None


def test_overlapping_directories_of_many_tags_are_not_opened(tmp_path: Path) -> None:
    """Four directories 4 bytes apart, each declaring 65,535 tags: 262,140 in a 786 KB file."""
    import struct

    from dqm.slide_refs import tiff_refusal

    data = bytearray(b"II*\x00" + struct.pack("<I", 8)) + bytes(65_535 * 12 + 64)
    for k in range(4):  # directory k at 8 + 4k: its count, its entries the zeros after it
        struct.pack_into("<H", data, 8 + 4 * k, 65_535)
    for k in range(3):  # directory k's next-offset field: after its count and its entries
        struct.pack_into("<I", data, 8 + 4 * k + 2 + 12 * 65_535, 8 + 4 * (k + 1))
    (tmp_path / "S1.tif").write_bytes(bytes(data))
    why = tiff_refusal(tmp_path / "S1.tif")
    assert why is not None and "200,000 tags" in why


def test_a_tiff_text_of_more_than_the_limit_is_not_opened(tmp_path: Path) -> None:
    """A 100 MB ImageDescription took the audit to 925 MB (OpenSlide copies it twice, dqm once more);
    the limit is on the count the tag declares, whether the file holds that many bytes or not."""
    import struct

    import tifffile

    from dqm.slide_refs import MAX_TIFF_TEXT_BYTES

    path = tmp_path / "S1.svs"
    tifffile.imwrite(
        path, np.full((64, 64, 3), 200, np.uint8), description="Aperio Image Library|AppMag = 20"
    )
    assert probe_slide(path, "S1.svs").opened
    data = bytearray(path.read_bytes())
    with tifffile.TiffFile(path) as tf:
        tag = tf.pages.first.tags[270]
    struct.pack_into("<I", data, tag.offset + 4, MAX_TIFF_TEXT_BYTES + 1)  # its count
    path.write_bytes(bytes(data))
    probe = probe_slide(path, "S1.svs")
    assert not probe.opened and "tag 270 declares 33,554,433 bytes of text" in probe.open_error


@pytest.mark.parametrize(
    ("tag", "kind", "said"),
    [
        (305, 3, "tag 305 declares 536,870,912 bytes of text"),  # Software of SHORTs: read as text
        (270, 4, "tag 270 declares 1,073,741,824 bytes of text"),  # ImageDescription of LONGs
        (65000, 3, "(tag 65000: 536,870,912)"),  # an unknown tag: read whole
    ],
)
def test_a_tiff_tag_of_another_type_declaring_too_many_bytes_is_not_opened(
    tmp_path: Path, tag: int, kind: int, said: str
) -> None:
    """Only ASCII tags were bounded: a Software tag of 2^28 SHORTs (libtiff reads a text tag of
    any integer type, each value cut to a byte) or an unknown tag of as many (read whole) in a
    16 KB sparse slide of 512 MiB took the probe 596 MB / 3.7 s and 1.6 GB / 4.4 s of CPU, a whole
    audit 2.8 GB (benchmarks/bench_hostile.py, tiff_short_software). Now the bytes a tag declares
    (its count times its type's size) are bounded: a text tag's by its count alone, another's
    where the file does not hold them (here past its end; a hole:
    :func:`test_a_large_tag_the_file_holds_is_read_and_one_in_a_hole_is_not`)."""
    path = tmp_path / "S1.svs"
    tifffile.imwrite(
        path, np.full((64, 64, 3), 200, np.uint8), description="Aperio Image Library|AppMag = 20"
    )
    data = bytearray(path.read_bytes())
    with tifffile.TiffFile(path) as tf:
        at = tf.pages.first.tags[tag if tag != 65000 else 270].offset
    struct.pack_into("<HHI", data, at, tag if tag != 65000 else 270, kind, 1 << 28)
    if tag == 65000:  # the description's entry made an unknown tag (out of order: libtiff reads it still)
        struct.pack_into("<H", data, at, 65000)
    path.write_bytes(bytes(data))
    probe = probe_slide(path, "S1.svs")
    assert not probe.opened and said in str(probe.open_error)


@pytest.mark.parametrize("held", [True, False])
def test_a_large_tag_the_file_holds_is_read_and_one_in_a_hole_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, held: bool
) -> None:
    """A plain TIFF saved by Photoshop keeps its layers in tag 37724: 70 MiB of them in a real,
    non-sparse file were over the 64 MiB bound and the image was refused (the bound is lowered to
    1 MiB here, the tag 2 MiB). Now a tag over the bound is read where the file holds its bytes,
    and still refused where they lie in a hole of a sparse file (what the bound is for: a 16 KB
    file declaring 512 MiB)."""
    import dqm.slide_refs

    monkeypatch.setattr(dqm.slide_refs, "MAX_TIFF_VALUE_BYTES", 1 << 20)
    path, n = tmp_path / "layers.tif", 2 << 20
    layers = np.random.default_rng(0).integers(0, 255, n if held else 16, dtype=np.uint8).tobytes()
    image = np.full((64, 64, 3), 200, np.uint8)
    tifffile.imwrite(path, image, photometric="rgb", extratags=[(37724, 7, len(layers), layers, True)])
    if not held:  # the tag made to declare 2 MiB at an offset past a hole the file is extended by
        with tifffile.TiffFile(path) as tf:
            entry = tf.pages.first.tags[37724].offset
        hole = (path.stat().st_size // 4096 + 2) * 4096
        with open(path, "r+b") as fh:
            fh.seek(entry + 4)
            fh.write(struct.pack("<II", n, hole))
            fh.truncate(hole + n)
    probe = probe_slide(path, "layers.tif")
    if held:
        assert probe.open_error is None and probe.opened and (probe.width, probe.height) == (64, 64)
    else:
        assert not probe.opened and "(tag 37724: 2,097,152)" in str(probe.open_error)
        assert "hole" in str(probe.open_error)


def _tags_at(path: Path, tags: list[tuple[int, int, int]], extend: int = 0) -> None:
    """The TIFF at ``path`` with ``tags`` (``(tag, bytes, offset)``, type UNDEFINED) added to its
    first directory, rewritten at its end; ``extend``: bytes the file is then extended by (a hole)."""
    data = bytearray(path.read_bytes())
    with tifffile.TiffFile(path) as tf:
        page = tf.pages.first
        ifd = page.offset
        entries = [bytes(data[ifd + 2 + 12 * k : ifd + 14 + 12 * k]) for k in range(len(page.tags))]
        after = data[ifd + 2 + 12 * len(entries) : ifd + 6 + 12 * len(entries)]
    entries += [struct.pack("<HHII", tag, 7, n, at) for tag, n, at in tags]
    entries.sort(key=lambda e: struct.unpack_from("<H", e)[0])
    at = len(data) + len(data) % 2
    data += b"\0" * (at - len(data)) + struct.pack("<H", len(entries)) + b"".join(entries) + after
    struct.pack_into("<I", data, 4, at)
    path.write_bytes(bytes(data))
    if extend:
        with open(path, "r+b") as fh:
            fh.truncate(len(data) + extend)


def test_tags_pointing_at_the_same_bytes_are_counted_once_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each tag over the bound was checked alone: 15 tags of 70 MiB all pointing at the one 70 MiB
    block of a 74 MB file each held it, and the probe took 1.3 GB (libtiff reads each tag whole).
    Now the bytes tags declare are summed, once a tag, and the sum must be within the file (the
    bound lowered to 1 MiB here, the block 2 MiB): one tag of it is read, two are not."""
    import dqm.slide_refs

    monkeypatch.setattr(dqm.slide_refs, "MAX_TIFF_VALUE_BYTES", 1 << 20)
    for k in (1, 2):
        path, n = tmp_path / f"same{k}.tif", 2 << 20
        block = np.random.default_rng(0).integers(0, 255, n, dtype=np.uint8).tobytes()
        tifffile.imwrite(path, np.full((64, 64, 3), 200, np.uint8), photometric="rgb")
        at = path.stat().st_size
        with open(path, "ab") as fh:
            fh.write(block)
        _tags_at(path, [(65000 + i, n, at) for i in range(k)])
        probe = probe_slide(path, path.name)
        if k == 1:
            assert probe.open_error is None and probe.opened
        else:
            assert not probe.opened and "values in all (tag 65000: 2,097,152)" in str(probe.open_error)


def test_tags_each_under_the_bound_in_holes_are_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a tag over the bound was looked at: 10 tags of 60 MiB each in holes of a 196 KB file
    took the probe 798 MB and 7.4 s. Now their sum is over it, and they are refused (the bound
    lowered to 1 MiB here, three tags of 512 KiB)."""
    import dqm.slide_refs

    monkeypatch.setattr(dqm.slide_refs, "MAX_TIFF_VALUE_BYTES", 1 << 20)
    path, n = tmp_path / "holes.tif", 512 << 10
    tifffile.imwrite(path, np.full((64, 64, 3), 200, np.uint8), photometric="rgb")
    hole = (path.stat().st_size // 4096 + 64) * 4096
    _tags_at(path, [(65000 + i, n, hole + i * n) for i in range(3)], extend=hole + 3 * n)
    probe = probe_slide(path, path.name)
    assert not probe.opened and "values in all (tag 65000: 524,288)" in str(probe.open_error)


def test_a_file_system_without_seek_hole_is_judged_by_its_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where ``SEEK_HOLE`` raises, the blocks on disk must cover the sum: a sparse file's tags are
    refused (the bound lowered to 1 MiB here, the tag 2 MiB in a hole)."""
    import dqm.slide_refs

    monkeypatch.setattr(dqm.slide_refs, "MAX_TIFF_VALUE_BYTES", 1 << 20)
    path, n = tmp_path / "flat.tif", 2 << 20
    tifffile.imwrite(path, np.full((64, 64, 3), 200, np.uint8), photometric="rgb")
    at = (path.stat().st_size // 4096 + 64) * 4096
    _tags_at(path, [(65000, n, at)], extend=at + n)
    real = os.lseek

    def lseek(fd: int, pos: int, how: int) -> int:
        if how == os.SEEK_HOLE:
            raise OSError(22, "Invalid argument")
        return real(fd, pos, how)

    monkeypatch.setattr(os, "lseek", lseek)
    assert "values in all (tag 65000: 2,097,152)" in str(not_to_open(path, tmp_path))


class _Compressed:
    """``st``, with the blocks a compressing file system (btrfs, ZFS) reports: a third of them."""

    def __init__(self, st: os.stat_result) -> None:
        self._st = st

    def __getattr__(self, name: str) -> object:
        return self._st.st_blocks // 3 if name == "st_blocks" else getattr(self._st, name)


def test_a_dense_tiff_on_a_compressing_file_system_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On btrfs or ZFS with compression a file's blocks are its compressed size (and some FUSE file
    systems report none), and the sum of the tags was always held to them: a dense slide whose tags
    are all data was refused. Now the blocks are looked at only where ``SEEK_HOLE`` raises (the
    bound lowered to 1 MiB here, the tag 2 MiB of compressible data)."""
    import dqm.slide_refs

    monkeypatch.setattr(dqm.slide_refs, "MAX_TIFF_VALUE_BYTES", 1 << 20)
    path, n = tmp_path / "dense.tif", 2 << 20
    tifffile.imwrite(path, np.full((64, 64, 3), 200, np.uint8), photometric="rgb")
    at = path.stat().st_size
    with open(path, "ab") as fh:
        fh.write((b"<layer data>" * (n // 12 + 1))[:n])
    _tags_at(path, [(37724, n, at)])
    real = os.fstat
    monkeypatch.setattr(os, "fstat", lambda fd: _Compressed(real(fd)))
    with open(path, "rb") as fh:
        assert os.fstat(fh.fileno()).st_blocks * 512 < n
    assert dqm.slide_refs.tiff_refusal(path) is None


@pytest.fixture
def no_hang() -> Iterator[None]:
    """A FIFO test that regresses fails in 20 s instead of blocking the suite on an open."""

    def stop(signum: int, frame: object) -> None:
        raise TimeoutError("the check opened a FIFO")

    former = signal.signal(signal.SIGALRM, stop)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, former)


def test_a_vms_named_mrxs_is_checked(batch: Path) -> None:
    """OpenSlide reads ``X.mrxs`` as MIRAX only when ``X/Slidedat.ini`` is there, else as the other
    formats: the former code checked any ``.mrxs`` as MIRAX alone, so a VMS so named read outside."""
    _vms(batch / "sub" / "S1.mrxs", "../../outside/other.jpg")
    why = refused_reference(batch / "sub" / "S1.mrxs", batch)
    assert why is not None and "../../outside/other.jpg" in why


def test_a_dicom_named_mrxs_is_checked(dicom: Path, batch: Path, no_hang: None) -> None:
    dicom.rename(batch / "sub" / "S1.mrxs")
    os.mkfifo(batch / "sub" / "pipe")
    why = refused_reference(batch / "sub" / "S1.mrxs", batch)
    assert why is not None and "pipe" in why


def test_a_dicom_named_tif_of_a_broken_tiff_is_checked(dicom: Path, batch: Path, no_hang: None) -> None:
    """TIFF magic in the DICOM preamble and a ``.tif`` name: OpenSlide skips DICOM only when the TIFF
    parses, which this one does not (the former code skipped it on the magic and the name)."""
    data = bytearray(dicom.read_bytes())
    data[:8] = b"II*\x00\xff\xff\xff\x7f"  # first directory far past the end
    (batch / "sub" / "S1.tif").write_bytes(bytes(data))
    dicom.unlink()
    os.mkfifo(batch / "sub" / "pipe")
    why = refused_reference(batch / "sub" / "S1.tif", batch)
    assert why is not None and "pipe" in why


def test_mirax_values_are_read_raw(batch: Path, no_hang: None) -> None:
    """OpenSlide reads Slidedat.ini's values with ``g_key_file_get_value``, escapes and all: the
    former code read ``idx\\s`` as ``idx `` (nothing there) and let OpenSlide open the link."""
    slide = _mirax(batch, "[HIERARCHICAL]\nINDEXFILE=idx\\s\n")
    (batch / "S1" / "idx\\s").symlink_to(batch.parent / "outside" / "other.jpg")
    why = refused_reference(slide, batch)
    assert why is not None and "outside the batch" in why
    (batch / "S1" / "idx\\s").unlink()
    os.mkfifo(batch / "S1" / "idx\\s")
    why = refused_reference(slide, batch)
    assert why is not None and "FIFO" in why


def test_vms_values_are_unescaped(batch: Path) -> None:
    """OpenSlide reads a VMS's values with ``g_key_file_get_string``: ``l\\s`` is the file ``l ``."""
    (batch / "sub" / "l ").symlink_to(batch.parent / "outside" / "other.jpg")
    _vms(batch / "sub" / "S1.vms", "l\\s")
    why = refused_reference(batch / "sub" / "S1.vms", batch)
    assert why is not None and "outside the batch" in why


@pytest.mark.parametrize("blank", ["\r", "\f", "\t ", " "])
def test_vms_values_lose_glibs_leading_blanks(batch: Path, blank: str) -> None:
    """GLib strips ``g_ascii_isspace`` before a value, ``\\r`` and ``\\f`` too: the former code kept
    them, and ``\\f../../x`` resolved inside the batch (a folder ``\\f..`` that is not there)."""
    _vms(batch / "sub" / "S1.vms", f"{blank}../../outside/other.jpg")
    why = refused_reference(batch / "sub" / "S1.vms", batch)
    assert why is not None and "outside the batch" in why


@pytest.mark.parametrize("suffix", ["-journal", "-wal", "-shm"])
def test_an_sqlite_file_beside_a_slide_is_checked(batch: Path, suffix: str, no_hang: None) -> None:
    """OpenSlide's Sakura reader opens a slide that is no TIFF as SQLite, which opens
    ``<slide>-journal`` (and a WAL's files): a FIFO there hung the run."""
    slide = batch / "sub" / "S1.png"
    Image.fromarray(np.full((64, 64, 3), 100, np.uint8)).save(slide)
    sidecar = batch / "sub" / f"S1.png{suffix}"
    sidecar.write_bytes(b"")
    assert not_to_open(slide, batch) is None  # a regular file is SQLite's business
    sidecar.unlink()
    os.mkfifo(sidecar)
    why = not_to_open(slide, batch)
    assert why is not None and sidecar.name in why and "FIFO" in why
    sidecar.unlink()
    sidecar.symlink_to(batch.parent / "outside" / "other.jpg")
    why = not_to_open(slide, batch)
    assert why is not None and "outside the batch" in why


def _swapped_after_the_checks(
    monkeypatch: pytest.MonkeyPatch, path: Path, check: str = "tiff_refusal"
) -> list[Path]:
    """A list: each file put in it replaces ``path`` once the checks before OpenSlide have read
    ``path`` (a batch rewritten mid-run; ``check``: the last of them, as slide_io calls it)."""
    import dqm.slide_io

    checked, pending = getattr(dqm.slide_io, check), []

    def then_swap(*args: object) -> object:
        why = checked(*args)  # type: ignore[arg-type]
        if pending:
            os.replace(pending.pop(), path)
        return why

    monkeypatch.setattr(dqm.slide_io, check, then_swap)
    return pending


def test_openslide_opens_the_tiff_the_checks_read(
    batch: Path, monkeypatch: pytest.MonkeyPatch, no_hang: None
) -> None:
    """A TIFF swapped, after the checks, for one they would refuse (too many directories) or for a
    FIFO: OpenSlide opens the file the checks read, through their descriptor, not what the batch
    path names by then; its facts are that file's."""
    from dqm.slide_refs import MAX_TIFF_IFDS
    from dqm.synth.pyramid import write_pyramid

    image = np.random.default_rng(2).integers(0, 256, (300, 400, 3), dtype=np.uint8)
    path = batch / "sub" / "S1.tif"
    write_pyramid(path, image, 0.5)
    _tiff_with_ifds(batch / "many.tif", MAX_TIFF_IFDS, False)
    swaps = _swapped_after_the_checks(monkeypatch, path)
    swaps.append(batch / "many.tif")
    probe = probe_slide(path, "sub/S1.tif")
    assert probe.opened and (probe.width, probe.height) == (400, 300) and probe.regions_read > 0
    write_pyramid(path, image, 0.5)
    os.mkfifo(batch / "fifo")
    swaps.append(batch / "fifo")
    probe = probe_slide(path, "sub/S1.tif")
    assert probe.opened and (probe.width, probe.height) == (400, 300)


def test_openslides_messages_name_the_batch_path_not_the_descriptor(batch: Path) -> None:
    """OpenSlide names a TIFF it was given as ``/proc/self/fd/N`` by that name: the probe names it
    by its place in the batch."""
    from dqm.synth.pyramid import write_pyramid

    path = batch / "sub" / "S1.svs"
    write_pyramid(path, np.zeros((300, 400, 3), np.uint8), 0.5)
    with tifffile.TiffFile(path) as tf:
        counts = tf.pages[-1].tags[325]  # the smallest level's, which OpenSlide hashes as it opens
        where, item = counts.valueoffset, {3: "<H", 4: "<I", 16: "<Q"}[int(counts.dtype)]
    with path.open("r+b") as fh:
        fh.seek(where)
        fh.write(struct.pack(item, 60000))  # past the file's end: 'Short read of file ...'
    probe = probe_slide(path, "sub/S1.svs")
    texts = [str(probe.open_error), str(probe.read_failure), *probe.decoder_warnings]
    assert any("sub/S1.svs" in text for text in texts), texts
    assert not any("/proc/self" in text or str(batch) in text for text in texts)


def test_the_thumbnail_is_of_the_tiff_the_checks_read(batch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The thumbnail's OpenSlide, too, opens the file the checks read, and its messages name the
    batch path."""
    import dqm.slide_io
    from dqm.synth.pyramid import write_pyramid

    path = batch / "sub" / "S1.tif"
    write_pyramid(path, np.full((300, 400, 3), 200, np.uint8), 0.5)
    write_pyramid(batch / "other.tif", np.full((30, 40, 3), 200, np.uint8), 0.5)
    checked = dqm.slide_io.tiff_refusal  # the refusal's look's last step

    def then_swap(*args: object) -> object:
        why = checked(*args)  # type: ignore[arg-type]
        os.replace(batch / "other.tif", path)
        return why

    monkeypatch.setattr(dqm.slide_io, "tiff_refusal", then_swap)
    assert slide_thumbnail(path, 64, rel="sub/S1.tif").size == (400, 300)


@pytest.mark.parametrize(
    ("name", "head", "by_descriptor"),
    [
        ("S1.tif", b"II*\0" + bytes(200), True),
        ("S1.svs", b"MM\0+" + bytes(200), True),  # a big-endian BigTIFF
        ("S1.dcm", b"II*\0" + bytes(200), False),  # OpenSlide's DICOM reader takes the name
        ("S1.tif", b"II*\0" + bytes(124) + b"DICM" + bytes(72), False),  # and the magic at 128
        ("S1.vms", b"[Virtual Microscope Specimen]\n", False),  # the files it names
        ("S1.mrxs", b"\xff\xd8\xff\xe0" + bytes(200), False),
    ],
)
def test_only_a_single_tiff_is_given_to_openslide_by_its_descriptor(
    tmp_path: Path, name: str, head: bytes, by_descriptor: bool
) -> None:
    from dqm.slide_refs import named_as, openslide_name

    path = tmp_path / name
    path.write_bytes(head)
    fd = os.open(path, os.O_RDONLY)
    try:
        given = openslide_name(path, fd)
        assert (given == f"/proc/self/fd/{fd}") is by_descriptor and (given == str(path)) is not by_descriptor
        assert named_as(f"Invalid TIFF: {given}: x; {given}0", given, path) == (
            f"Invalid TIFF: {path}: x; {path}0" if not by_descriptor else f"Invalid TIFF: {path}: x; {given}0"
        )
    finally:
        os.close(fd)


@pytest.fixture
def unblocked() -> Iterator[list[Path]]:
    """A list: each FIFO path put in it is opened for writing whenever a reader waits on it, and
    closed (the reader reads an end of file), until the test ends. A regression that opens a FIFO
    then fails on what the test asserts instead of blocking the suite (:func:`no_hang`'s alarm
    may reach another thread, leaving the ``open`` waiting)."""
    import threading

    watched: list[Path] = []
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.05):
            for path in list(watched):
                try:
                    os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))  # ENXIO: no reader waits
                except OSError:
                    continue

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    yield watched
    done.set()
    thread.join()


def test_pillow_reads_the_tiff_the_checks_read(
    batch: Path, monkeypatch: pytest.MonkeyPatch, unblocked: list[Path]
) -> None:
    """A TIFF OpenSlide does not take (stripped) goes to Pillow, which opens the checks'
    descriptor too: a FIFO swapped in after the checks blocked Pillow's open of the batch path."""
    path = batch / "sub" / "S1.tif"
    tifffile.imwrite(path, np.random.default_rng(1).integers(0, 256, (300, 400, 3), np.uint8))
    os.mkfifo(batch / "fifo")
    _swapped_after_the_checks(monkeypatch, path).append(batch / "fifo")
    unblocked.append(path)
    probe = probe_slide(path, "sub/S1.tif")
    assert probe.opened and probe.backend == "pillow" and (probe.width, probe.height) == (400, 300)


def test_pillows_messages_name_the_batch_path_not_the_descriptor(batch: Path) -> None:
    path = batch / "sub" / "S1.bin"
    path.write_bytes(b"no image at all" * 10)
    probe = probe_slide(path, "sub/S1.bin")
    assert not probe.opened and "sub/S1.bin" in str(probe.open_error)
    assert "/proc/self" not in str(probe.open_error) and str(batch) not in str(probe.open_error)


@pytest.mark.parametrize("swap", ["fifo", "other"])
def test_a_slide_given_to_openslide_by_its_path_is_the_one_the_checks_read(
    batch: Path, monkeypatch: pytest.MonkeyPatch, unblocked: list[Path], swap: str
) -> None:
    """A slide OpenSlide opens by its name (no TIFF) swapped, after the checks, for a FIFO (its open
    waited for ever) or for another file: refused, not opened, neither by OpenSlide nor by Pillow."""
    path = batch / "sub" / "S1.jpg"
    _jpeg(path, (200, 30, 30))
    if swap == "fifo":
        os.mkfifo(batch / "swap")
        unblocked.append(path)
    else:
        _jpeg(batch / "swap", (30, 30, 200))
    _swapped_after_the_checks(monkeypatch, path).append(batch / "swap")
    probe = probe_slide(path, "sub/S1.jpg")
    assert not probe.opened and "replaced while it was being checked" in str(probe.open_error)


def test_the_thumbnail_of_a_fifo_is_refused_without_opening_it(batch: Path, unblocked: list[Path]) -> None:
    """``slide_thumbnail`` of a FIFO: the checks opened it by its path and waited for ever."""
    os.mkfifo(batch / "sub" / "S1.tif")
    unblocked.append(batch / "sub" / "S1.tif")
    got = slide_thumbnail(batch / "sub" / "S1.tif", 64, rel="sub/S1.tif")
    assert got.failure == "unreadable" and got.error_type == "refused" and "FIFO" in str(got.reason)
    why = not_to_open(batch / "sub" / "S1.tif", batch)  # no descriptor: opened without waiting
    assert why is not None and "FIFO" in str(why)


def test_the_thumbnail_of_a_slide_swapped_for_a_fifo_is_refused(
    batch: Path, monkeypatch: pytest.MonkeyPatch, unblocked: list[Path]
) -> None:
    path = batch / "sub" / "S1.jpg"
    _jpeg(path, (200, 30, 30))
    os.mkfifo(batch / "fifo")
    unblocked.append(path)
    _swapped_after_the_checks(monkeypatch, path).append(batch / "fifo")
    got = slide_thumbnail(path, 64, rel="sub/S1.jpg")
    assert got.failure == "unreadable" and "replaced while it was being checked" in str(got.reason)


def _trestle(path: Path) -> None:
    """A Trestle slide: a JPEG pyramid whose Software is MedScan, its macro image ``<stem>.Full``
    beside it (OpenSlide finds it by the slide's name)."""
    from PIL import Image

    from dqm.synth.pyramid import write_level

    image = np.random.default_rng(3).integers(0, 256, (300, 400, 3), dtype=np.uint8)
    with tifffile.TiffWriter(path) as tw:
        for ds in (1, 4):
            level = image if ds == 1 else np.asarray(Image.fromarray(image).reduce(ds))
            write_level(tw, level, 0.5, ds, quality=85, software="MedScan")
    _jpeg(path.with_suffix(".Full"), (30, 200, 30))


def test_a_trestle_slide_finds_its_associated_images(batch: Path) -> None:
    """OpenSlide finds a Trestle slide's macro by the slide's name: given the descriptor's
    ``/proc/self/fd/N`` it found none, so a Trestle slide is opened again by its path."""
    path = batch / "sub" / "S1.tif"
    _trestle(path)
    probe = probe_slide(path, "sub/S1.tif")
    assert probe.opened and probe.vendor == "trestle" and "macro" in probe.associated_images


@pytest.mark.parametrize("swap", ["fifo", "other"])
def test_a_trestle_slide_swapped_after_the_checks_is_refused(
    batch: Path, monkeypatch: pytest.MonkeyPatch, unblocked: list[Path], swap: str
) -> None:
    """The Trestle slide opened again by its path must be the file the checks read: a FIFO there
    blocked that open; another file was read in its place."""
    path = batch / "sub" / "S1.tif"
    _trestle(path)
    if swap == "fifo":
        os.mkfifo(batch / "swap")
        unblocked.append(path)
    else:
        _trestle(batch / "swap.tif")
        os.replace(batch / "swap.tif", batch / "swap")
    _swapped_after_the_checks(monkeypatch, path).append(batch / "swap")
    probe = probe_slide(path, "sub/S1.tif")
    assert not probe.opened and "replaced while it was being checked" in str(probe.open_error)


@pytest.mark.parametrize("when", ["before the open", "after the open"])
def test_a_vms_image_swapped_before_openslide_reads_it_is_not_described(
    batch: Path, monkeypatch: pytest.MonkeyPatch, profile: Profile, when: str
) -> None:
    """The JPEG a VMS names replaced (another scan's) in the instant between the checks and
    OpenSlide's own open by name, or between its open and its reads (OpenSlide 4 opens the JPEG
    again by name for every read and holds no descriptor): the probe described the other file's
    pixels under this slide. Now the names are checked against the stats taken before, once
    OpenSlide is done with them, and the slide is not described (SLIDE_UNOPENABLE naming the
    file); an unswapped slide still opens."""
    import dqm.slide_io
    from dqm.slide_io import taken_of

    _jpeg(batch / "sub" / "S1.jpg", (20, 200, 20))
    _jpeg(batch / "other.jpg", (200, 30, 30))
    _vms(batch / "sub" / "S1.vms", "S1.jpg")
    key = batch / "sub" / "S1.vms"
    before = taken_of(key, key.stat(), batch)  # as the runner takes them
    assert before.listed == ["sub/S1.jpg"] and probe_slide(key, "sub/S1.vms", taken=before).opened
    real = dqm.slide_io.openslide_name if when == "before the open" else dqm.slide_io._openslide_by

    def then_swap(*args: object) -> object:
        out = real(*args)  # type: ignore[operator]
        if (batch / "other.jpg").exists():
            os.replace(batch / "other.jpg", batch / "sub" / "S1.jpg")
        return out

    monkeypatch.setattr(
        dqm.slide_io, "openslide_name" if when == "before the open" else "_openslide_by", then_swap
    )
    probe = probe_slide(key, "sub/S1.vms", taken=before)
    assert not probe.opened and not probe.width and probe.regions_read == 0
    assert (
        probe.open_error is not None and "sub/S1.jpg" in probe.open_error and "replaced" in probe.open_error
    )
    (finding,) = _findings(profile, probe)
    assert finding.code == "SLIDE_UNOPENABLE"


@pytest.mark.parametrize("times", ["moved", "put back"])
def test_a_vms_key_file_rewritten_in_place_while_openslide_reads_it_is_not_described(
    batch: Path, monkeypatch: pytest.MonkeyPatch, times: str
) -> None:
    """The key file rewritten in place (its inode and size kept) just after the checks, to name
    ``B.jpg`` instead of ``A.jpg``: the slide itself was confirmed by its inode alone, so the probe
    described B's properties under a record that printed A (review of slideparts3, ``vms.py``).
    Now the slide's own stat is compared with the one taken before (and, where its times were put
    back, its quick print), and the parts are listed again: not described, naming the key file."""
    import dqm.slide_io
    from dqm.slide_io import taken_of

    _jpeg(batch / "sub" / "A.jpg", (20, 200, 20))
    _jpeg(batch / "sub" / "B.jpg", (200, 30, 30))
    key = batch / "sub" / "S.vms"
    _vms(key, "A.jpg")
    before = taken_of(key, key.stat(), batch)
    real = dqm.slide_io.openslide_name

    def then_rewrite(*args: object) -> object:
        out = real(*args)  # type: ignore[arg-type]
        st = key.stat()
        with key.open("r+b") as fh:
            text = fh.read().replace(b"A.jpg", b"B.jpg")
            fh.seek(0)
            fh.write(text)
        if times == "put back":
            os.utime(key, ns=(st.st_atime_ns, st.st_mtime_ns))
        return out

    monkeypatch.setattr(dqm.slide_io, "openslide_name", then_rewrite)
    probe = probe_slide(key, "sub/S.vms", taken=before)
    assert key.stat().st_ino == before.own[3] and key.stat().st_size == before.own[0]
    assert not probe.opened and not probe.properties
    why = "written to" if times == "moved" else "changed content"
    assert (
        probe.open_error is not None and probe.open_error.startswith("sub/S.vms") and why in probe.open_error
    )


def test_a_trestle_macro_or_slide_swapped_while_openslide_reads_it_by_name_is_not_described(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Trestle slide is opened again by its name (OpenSlide opens its macro ``t.Full`` beside
    it): the macro, or the slide itself, replaced after that open left the probe describing files
    that were not the ones checked. With no stats given, the probe takes its own before opening."""
    import dqm.slide_io
    from tests.test_trestle_refs import _trestle

    root = tmp_path / "b"
    _trestle(root / "t.tif")
    _trestle(tmp_path / "o" / "t.tif")
    assert probe_slide(root / "t.tif", "t.tif").vendor == "trestle"
    real, swaps = dqm.slide_io._openslide_by, []

    def then_swap(name: str, path: Path, fd: int | None) -> object:
        slide = real(name, path, fd)
        if name == str(path) and swaps:
            os.replace(*swaps.pop())
        return slide

    monkeypatch.setattr(dqm.slide_io, "_openslide_by", then_swap)
    for swapped, rel in ((tmp_path / "o" / "t.Full", "t.Full"), (tmp_path / "o" / "t.tif", "t.tif")):
        swaps.append((swapped, root / rel))
        probe = probe_slide(root / "t.tif", "t.tif")
        assert not probe.opened and probe.open_error is not None and probe.open_error.startswith(rel)


def _vms_to_swap(batch: Path) -> tuple[Path, Path]:
    """A VMS ``sub/S1.vms`` of a blue JPEG, and a red one (another scan's, its restart markers where
    the blue one has them: OpenSlide reads it without an error) to swap in for it."""
    _jpeg(batch / "sub" / "S1.jpg", (30, 30, 200))
    _jpeg(batch / "other.jpg", (200, 30, 30))
    _vms(batch / "sub" / "S1.vms", "S1.jpg")
    return batch / "sub" / "S1.vms", batch / "other.jpg"


def _swap_after_the_open(monkeypatch: pytest.MonkeyPatch, swapped: Path, part: Path) -> None:
    """``swapped`` moved over ``part`` just after OpenSlide's open (it opens the JPEG again by name
    for every read and holds no descriptor of it)."""
    import dqm.slide_io

    real = dqm.slide_io._openslide_by

    def then_swap(*args: object) -> object:
        out = real(*args)  # type: ignore[arg-type]
        if swapped.exists():
            os.replace(swapped, part)
        return out

    monkeypatch.setattr(dqm.slide_io, "_openslide_by", then_swap)


def test_a_thumbnail_read_from_a_part_swapped_after_the_open_is_not_shown(
    batch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report's thumbnail of a VMS whose JPEG was replaced after OpenSlide opened it: it showed
    the other scan's pixels under this slide (the probe's check after OpenSlide's reads was the
    probe's alone). Now it is refused, naming the JPEG, and no image is made."""
    key, other = _vms_to_swap(batch)
    got = slide_thumbnail(key, 32, rel="sub/S1.vms")
    assert got.failure is None and got.image.getpixel((4, 4))[2] > 150  # blue, unswapped
    _swap_after_the_open(monkeypatch, other, batch / "sub" / "S1.jpg")
    got = slide_thumbnail(key, 32, rel="sub/S1.vms")
    assert got.image is None and got.failure == "unreadable"
    assert got.reason.startswith("sub/S1.jpg") and "replaced" in got.reason


def test_a_tile_read_from_a_part_swapped_after_the_open_is_not_served(batch: Path) -> None:
    """The review server keeps a slide open across requests: a VMS's JPEG replaced between two
    tiles was served as this slide's. Now the tile is refused (the viewer shows it missing) with
    the reason; and so is every request after it (the slide, opened again on the next one, took
    the swapped scan as its baseline and served it), its tiles cached before the swap dropped."""
    from dqm.semantic.server.tiles import TileSource

    key, other = _vms_to_swap(batch)
    tiles = TileSource(batch, {0: key.relative_to(batch).as_posix()})
    top = int(tiles.info(0)["levels"]) - 1
    assert tiles.tile(0, top, 0, 0)
    os.replace(other, batch / "sub" / "S1.jpg")
    for level in (top - 1, top - 2, top):
        with pytest.raises(SlideUnavailable) as refused:
            tiles.tile(0, level, 0, 0)
        assert str(refused.value).startswith("sub/S1.jpg") and "replaced" in str(refused.value)
    with pytest.raises(SlideUnavailable):
        tiles.info(0)
    tiles.close()


def test_a_slide_swapped_while_its_first_open_is_under_way_is_not_served(
    batch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two first requests for a slide at once each opened it unchecked, and the baseline was the
    one that finished first: a VMS's JPEG replaced after a slow first open had begun was opened by
    the second request, taken as the baseline and served, then on every request after. Now a
    slide's opens are one at a time: the second waits for the first's, and is checked against it."""
    import threading

    import dqm.semantic.server.tiles as tiles_module
    from dqm.semantic.server.tiles import TileSource

    key, other = _vms_to_swap(batch)
    real, opened, go_on = tiles_module.open_slide, threading.Event(), threading.Event()

    def slow_first(path: Path, root: Path, first: object = None, recorded: object = None) -> object:
        got = real(path, root, first, recorded)
        if threading.current_thread().name == "first":
            opened.set()  # the first request's open is done, not yet kept (a large slide's)
            go_on.wait(30)
        return got

    monkeypatch.setattr(tiles_module, "open_slide", slow_first)
    tiles = TileSource(batch, {0: key.relative_to(batch).as_posix()})
    served: dict[str, object] = {}

    def request(who: str) -> None:
        try:
            served[who] = tiles.tile(0, 3, 0, 0)
        except SlideUnavailable as exc:
            served[who] = exc

    first = threading.Thread(target=request, args=("first",), name="first")
    first.start()
    assert opened.wait(30)
    os.replace(other, batch / "sub" / "S1.jpg")  # after the first open, before the second
    second = threading.Thread(target=request, args=("second",), name="second")
    second.start()
    second.join(1)  # the former code served it meanwhile; now it waits for the first open
    go_on.set()
    first.join(30)
    second.join(30)
    for who in ("first", "second"):  # both read after the swap: neither serves the other scan
        assert isinstance(served[who], SlideUnavailable) and "replaced" in str(served[who])
    for level in (2, 3):
        with pytest.raises(SlideUnavailable):
            tiles.tile(0, level, 0, 0)
    tiles.close()


def test_a_region_read_from_a_part_swapped_after_the_open_is_not_trained_on(batch: Path) -> None:
    """Validity's reader keeps a slide open across reads: a VMS's JPEG replaced between two
    regions gave the other scan's pixels to training under this slide's masks. Now the read raises
    SlideRefused (the slide excluded with SLIDE_UNREADABLE and the reason, never a crash); and so
    does every read after it (the third read reopened the slide and took the swapped scan as its
    baseline: the other scan trained on from then on), in a loader worker's copy too, whose tile
    is white and flagged unreadable. The worker's copy is of a reader the main process never read
    (the training loader's are so: its TileReader's readers were made afresh, without the index
    pass's open, and each epoch's workers took the scan they found as the baseline): made of the
    record, it checks against the index pass's open that the record carries."""
    import pickle

    from dqm.validity.data import SlideReader, SlideRecord, SlideRefused, TileReader

    key, other = _vms_to_swap(batch)
    reader = SlideReader(key, root=batch)  # the index pass's
    assert reader.read(0, 0, 8, 8, 1.0)[4, 4, 2] > 150  # blue
    record = SlideRecord("S1", key, 1.0, 128, 64, [], None, None, "S1", root=batch, first=reader.first)
    loader = pickle.dumps(TileReader([record], 1.0, 8))  # what each epoch's workers get, never read
    os.replace(other, batch / "sub" / "S1.jpg")
    worker = pickle.loads(loader)  # the next epoch's worker: its slide opened after the swap
    for again in (reader, reader, worker.readers[0]):
        with pytest.raises(SlideRefused) as refused:
            again.read(0, 0, 8, 8, 1.0)
        assert refused.value.code == "SLIDE_UNREADABLE"
        assert refused.value.why.startswith("sub/S1.jpg") and "replaced" in refused.value.why
    reader.close()
    got = pickle.loads(loader)({"slide": 0, "row0": 0, "col0": 0})
    assert got["unreadable"] == 1 and (got["image"] == 255).all()
    worker.readers[0].close()


@pytest.mark.parametrize("reader", ["thumbnail", "probe"])
def test_a_part_swapped_for_a_link_out_between_the_look_and_the_take_is_not_read(
    batch: Path, monkeypatch: pytest.MonkeyPatch, reader: str
) -> None:
    """A VMS's JPEG replaced by a link out of the batch after the refusal's look passed it and
    before its stat and print were taken: the take recorded the outside file as the slide's part,
    OpenSlide read it and the check after its reads found it as taken (the thumbnail showed the
    outside file's red pixels). Now the take comes first: the look sees the link and refuses it."""
    import dqm.slide_io

    key, _ = _vms_to_swap(batch)
    part, outside = batch / "sub" / "S1.jpg", batch.parent / "outside" / "other.jpg"
    real = dqm.slide_io.taken_of

    def swap_then_take(*args: object) -> object:
        if not part.is_symlink():
            part.unlink()
            part.symlink_to(outside)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(dqm.slide_io, "taken_of", swap_then_take)
    if reader == "thumbnail":
        got = slide_thumbnail(key, 32, rel="sub/S1.vms")
        assert got.image is None and got.failure == "unreadable"
        assert "outside the batch" in (got.reason or "")
    else:
        probe = probe_slide(key, "sub/S1.vms")
        assert not probe.opened and probe.regions_read == 0 and probe.reference_refused
        assert probe.open_error is not None and "outside the batch" in probe.open_error


def test_an_unknown_slide_takes_no_opening_lock(tmp_path: Path) -> None:
    """A lock for a slide's opens was made before its number was checked: 1,000 requests for
    unknown slides (or for one without image) left 1,000 locks kept for good, as many as a
    client asked numbers. Now the number is checked first."""
    from dqm.semantic.server.tiles import TileSource

    tiles = TileSource(tmp_path, {0: None})
    for index in range(1000):
        with pytest.raises(SlideUnavailable):
            tiles.tile(index, 0, 0, 0)
    assert tiles._opening == {}


def test_a_bigtiff_tag_of_12_bytes_is_counted(tmp_path: Path) -> None:
    """A BigTIFF entry holds up to 8 bytes of values, a classic one 4; the walk took 12 for
    BigTIFF (its entry's 20 bytes less 8), so a tag of 9 to 12 bytes, whose values lie
    elsewhere, was left out of the sum the bound is held to. Now it is counted."""
    from dqm.slide_refs import _walk

    path = tmp_path / "big.tif"
    tifffile.imwrite(
        path, np.full((8, 8), 1, np.uint8), bigtiff=True, extratags=[(65000, 7, 12, bytes(range(12)), True)]
    )
    with open(path, "rb") as fh:
        walked = _walk(fh, 100, 10_000)
    assert walked is not None
    tags = [(tag, size) for tag, size, _ in walked[1]]
    assert (65000, 12) in tags


def test_a_png_whose_pixels_are_corrupt_is_unreadable_not_black(tmp_path: Path) -> None:
    # the EXIF orientation was read by getexif(), which decodes a PNG with no eXIf before its
    # pixels: the decoding error was swallowed there, and the image then read zero-filled
    rng = np.random.default_rng(0)
    out = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (120, 160, 3), np.uint8)).save(out, "PNG")
    png = out.getvalue()
    path = tmp_path / "A.png"
    path.write_bytes(png[:200] + bytes(rng.integers(0, 255, len(png) - 400, np.uint8)) + png[-200:])
    probe = probe_slide(path, "images/A.png")
    assert probe.opened and probe.read_failure is not None and probe.regions_read == 0
    assert "decoding failed" in probe.read_failure.message


@pytest.mark.parametrize(
    ("kind", "fmt", "expected"),
    [(3, "H", 6), (4, "I", 6), (1, "B", 6), (8, "h", 6), (9, "i", 6), (16, "Q", None), (5, "I", None)],
)
def test_a_tiff_orientation_of_any_integer_type_is_read(kind: int, fmt: str, expected: int | None) -> None:
    # libtiff, Pillow and tifffile honour a LONG or BYTE Orientation; only a SHORT was read (a LONG8
    # does not fit a classic TIFF's entry, a RATIONAL is no integer)
    from dqm.slide_refs import tiff_orientation

    field = struct.pack("<" + fmt, 6).ljust(4, b"\0")[:4]
    ifd = struct.pack("<H", 1) + struct.pack("<HHI", 274, kind, 1) + field + struct.pack("<I", 0)
    assert tiff_orientation(io.BytesIO(b"II*\0" + struct.pack("<I", 8) + ifd)) == expected


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "LA"])
def test_unturned_keeps_a_tiff_as_stored_whatever_its_orientation(mode: str) -> None:
    # Pillow 13 turns a TIFF by its tag 274 on load (by the cached EXIF; it leans on the private
    # _size and _tile_size, pinned here): unturned keeps every tag's image as stored, size first
    import tifffile
    from PIL import Image

    bands = {"L": 1, "RGB": 3, "RGBA": 4, "LA": 2}[mode]
    stored = np.arange(54 * bands, dtype=np.uint8).reshape((6, 9, bands)).squeeze()
    extra = {"RGBA": {"extrasamples": [2]}, "LA": {"extrasamples": [2], "photometric": "minisblack"}}
    for t in range(1, 9):
        out = io.BytesIO()
        kw = {"photometric": "rgb"} if mode in ("RGB", "RGBA") else {}
        tifffile.imwrite(out, stored, extratags=[(274, "H", 1, t, True)], **kw, **extra.get(mode, {}))  # type: ignore[arg-type]
        with Image.open(out) as img:
            assert unturned(img) is img and img.size == (9, 6), t
            assert img.mode == mode and np.array_equal(np.asarray(img), stored), t


def test_unturned_leaves_what_pillow_does_not_turn() -> None:
    from PIL import Image

    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("L", (9, 6)).save(out, format="PNG", exif=exif.tobytes())
    with Image.open(out) as img:  # a PNG: left to exif_transpose
        assert unturned(img).getexif()[0x0112] == 6 and img.size == (9, 6)
    older = type("Older", (), {"format": "TIFF"})()  # a Pillow that does not turn: no _tile_size
    assert unturned(older) is older and vars(older) == {}
