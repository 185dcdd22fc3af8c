"""Readers after the audit (the report's thumbnails, validity's reader, the review's tiles) check a
slide's first open against the audit's record of its files (:class:`dqm.slide_io.Recorded`: size,
modification time and quick print of the slide and of each file OpenSlide opens besides it), not
only their later reads against their own first open; a plain image is opened through the
descriptor checked; a part made a link out of the batch after the open is refused at every read."""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dqm import slide_refs
from dqm.profile import Profile
from dqm.runner import Run, RunOptions, run_batch
from dqm.semantic.server.tiles import (
    SlideNotAudited,
    SlideNotChecked,
    SlideUnavailable,
    TileSource,
    open_slide,
)
from dqm.slide_io import (
    REFUSED_ERRNOS,
    AuditUnchecked,
    NotAudited,
    NotChecked,
    NotOpened,
    Recorded,
    fingerprint,
    open_checked,
    recorded_of,
    slide_thumbnail,
    stat_values,
    taken_of,
    unlike_audit,
)
from dqm.slide_refs import series_of, slide_parts
from dqm.thumbnails import thumbnail
from dqm.validity.data import SlideReader, SlideRefused, select_slides
from tests.slides.test_slide_refs import _jpeg, _trestle, _vms_to_swap
from tests.test_dicom_parts import _folder

SAID = "is not the file the audit checked"


@pytest.fixture()
def audited(tmp_path: Path, profile: Profile) -> Run:
    """Two clean synthetic slides (single pyramidal TIFFs), audited."""
    from dqm.synth import build_batch

    root = tmp_path / "batch"
    build_batch(root, 2, seed=11, defect_rate=0.0, max_size=512)
    return run_batch(root, profile, RunOptions(workers=1))


def _slide(run: Run, k: int) -> Path:
    return run.root / str(run.record(k).summary.image_path)


def _swapped_same_size(path: Path) -> None:
    """``path`` replaced by a copy of it whose description reads otherwise (the same size, still a
    readable slide), its modification time put back: only the quick print tells them apart."""
    st = path.stat()
    data = path.read_bytes()
    at = data.index(b'"shape"')
    other = path.with_name("swap.tmp")
    other.write_bytes(data[:at] + b'"shapE"' + data[at + 7 :])
    os.replace(other, path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns


def test_a_slide_swapped_between_the_audit_and_its_thumbnail_is_drawn_as_outlines_only(
    audited: Run, profile: Profile
) -> None:
    """The report's thumbnail opened the slide afresh and showed whatever file was there by then as
    the audited slide. Now its first open is checked against the audit's record of it."""
    record = audited.record(0)
    assert thumbnail(audited.root, record, [], profile).source == "slide"
    shutil.copyfile(_slide(audited, 1), _slide(audited, 0))  # another scan, another size
    got = thumbnail(audited.root, record, [], profile)
    assert got is not None and got.source == "outline"
    assert "slides/S00001.tiff" in got.note and SAID in got.note and "size or modification" in got.note


def test_a_same_size_swap_with_its_old_modification_time_is_caught_by_the_quick_print(
    audited: Run, profile: Profile
) -> None:
    """A scan swapped for one of the same size, its modification time put back: validity's index
    pass trained on it as the audited slide. Now it is left out (SLIDE_UNREADABLE), never read."""
    records, excluded = select_slides(audited, profile)
    assert not excluded and records[0].recorded is not None
    _swapped_same_size(records[0].path)
    reader = SlideReader(records[0].path, root=records[0].root, recorded=records[0].recorded)
    with pytest.raises(SlideRefused) as refused:
        reader.read(0, 0, 8, 8, 1.0)
    assert refused.value.code == "SLIDE_UNREADABLE"
    assert SAID in refused.value.why and "first or last bytes" in refused.value.why
    reader.close()
    other = SlideReader(records[1].path, root=records[1].root, recorded=records[1].recorded)
    assert other.read(0, 0, 8, 8, 1.0).shape == (8, 8, 3)  # the slide not swapped is read
    other.close()
    got = slide_thumbnail(records[0].path, 32, rel="slides/S00001.tiff", recorded=records[0].recorded)
    assert got.image is None and got.error_type == "refused" and SAID in got.reason


def test_no_record_reads_as_before(audited: Run) -> None:
    """A folder given without results: nothing to check against, the slide read as it is."""
    path = _slide(audited, 0)
    _swapped_same_size(path)
    assert recorded_of("slides/S00001.tiff", None, {}, {}) is None
    reader = SlideReader(path, root=audited.root)
    assert reader.read(0, 0, 8, 8, 1.0).shape == (8, 8, 3)
    reader.close()


def _png(path: Path, colour: tuple[int, int, int]) -> Path:
    Image.fromarray(np.full((40, 60, 3), colour, np.uint8)).save(path)
    return path


def _recorded(path: Path, rel: str) -> Recorded:
    """The record an audit keeps of a single-file slide (its stat and quick print)."""
    st = path.stat()
    got = recorded_of(rel, fingerprint(path, st.st_size), {rel: stat_values(st)}, {})
    assert got is not None
    return got


def test_a_png_swapped_since_the_audit_is_not_trained_on(tmp_path: Path) -> None:
    path = _png(tmp_path / "s.png", (200, 30, 30))
    recorded = _recorded(path, "s.png")
    _png(tmp_path / "o.png", (30, 30, 200))
    os.replace(tmp_path / "o.png", path)
    reader = SlideReader(path, root=tmp_path, recorded=recorded)
    with pytest.raises(SlideRefused) as refused:
        reader.check(1.0, (60, 40))
    assert refused.value.code == "SLIDE_UNREADABLE" and SAID in refused.value.why
    reader.close()


def test_a_png_swapped_after_the_first_open_is_not_decoded_by_its_name(tmp_path: Path) -> None:
    """Validity's reader checked a plain image's header, then decoded it by its batch path: a PNG
    swapped between the two (or before a loader worker's decode) was trained on. Now Pillow opens
    the descriptor checked against the first open."""
    path = _png(tmp_path / "s.png", (200, 30, 30))
    reader = SlideReader(path, root=tmp_path, recorded=_recorded(path, "s.png"))
    assert reader.check(1.0, (60, 40)) > 0 and reader.first is not None
    _png(tmp_path / "o.png", (30, 30, 200))
    os.replace(tmp_path / "o.png", path)
    with pytest.raises(SlideRefused) as refused:
        reader.read(0, 0, 8, 8, 1.0)
    assert refused.value.code == "SLIDE_UNREADABLE" and "s.png" in refused.value.why
    reader.close()


@pytest.mark.parametrize("parts", [{}, {"sub/S0.jpg": (None, None, None)}])
def test_a_part_joined_or_gone_since_the_audit_is_refused(tmp_path: Path, parts: dict) -> None:
    """A VMS whose key file names an image the audit did not record as its part (none, or another
    one: the key file rewritten since): OpenSlide would read a file the audit never saw."""
    root = tmp_path / "batch"
    (root / "sub").mkdir(parents=True)
    key, _ = _vms_to_swap(root)
    recorded = Recorded(_recorded(key, "sub/S1.vms").own, parts)
    got = slide_thumbnail(key, 32, rel="sub/S1.vms", recorded=recorded)
    assert got.image is None and got.error_type == "refused"
    assert got.reason.startswith("sub/S1.jpg" if not parts else "sub/S0.jpg")
    assert "joined or left" in got.reason and "since the audit" in got.reason
    assert slide_thumbnail(key, 32, rel="sub/S1.vms").image is not None  # no record: as before


def _vms_with_optimisation(root: Path) -> Path:
    """A VMS naming an ``OptimisationFile`` that is missing (OpenSlide opens it without)."""
    (root / "sub").mkdir(parents=True)
    _jpeg(root / "sub" / "S1.jpg", (30, 30, 200))
    key = root / "sub" / "S1.vms"
    key.write_text(
        "[Virtual Microscope Specimen]\nNoLayers=1\nNoJpegColumns=1\nNoJpegRows=1\nImageFile=S1.jpg\n"
        "MapFile=S1.jpg\nOptimisationFile=opt.bin\nPhysicalWidth=1000\nPhysicalHeight=1000\n"
    )
    return key


def test_a_part_missing_at_the_open_and_made_a_link_out_after_it_is_refused_at_every_read(
    tmp_path: Path,
) -> None:
    """The listing of a slide's parts leaves out a file the jail refuses: a part missing at the
    first open, made a link out of the batch after it, passed the check after every read (same
    names listed, every taken part as taken). Now the check after a read applies the jail rule."""
    (tmp_path / "outside").mkdir()
    _jpeg(tmp_path / "outside" / "other.jpg", (200, 30, 30))
    root = tmp_path / "batch"
    key = _vms_with_optimisation(root)
    reader = SlideReader(key, root=root)
    assert reader.read(0, 0, 8, 8, 1.0)[4, 4, 2] > 150
    (root / "sub" / "opt.bin").symlink_to(tmp_path / "outside" / "other.jpg")
    for _ in range(2):  # the read on the open slide, then the reopen's
        with pytest.raises(SlideRefused) as refused:
            reader.read(0, 0, 8, 8, 1.0)
        assert "opt.bin" in refused.value.why and "outside the batch" in refused.value.why
    reader.close()


def test_parts_recorded_by_their_masked_paths_are_matched_through_the_mask(tmp_path: Path) -> None:
    """The review plan names a slide's parts by their masked paths (a part's name may hold an
    identifier): matched through the plan's masker, the audit's own slide is served; without it,
    every part would look joined and every multi-file slide refused."""
    root = tmp_path / "batch"
    (root / "sub").mkdir(parents=True)
    key, _ = _vms_to_swap(root)
    taken = taken_of(key, key.stat(), root)
    assert list(taken.parts) == ["sub/S1.jpg"]

    def mask(part: str) -> str:
        return f"[MASKED-{len(part)}]"

    parts = {mask(p): (values[0], values[1], quick) for p, (quick, values) in taken.parts.items()}
    own = _recorded(key, "sub/S1.vms").own
    open_checked(key, root, recorded=Recorded(own, parts, mask)).close()
    with pytest.raises(NotAudited) as refused:
        open_checked(key, root, recorded=Recorded(own, parts)).close()
    assert "joined or left" in refused.value.why
    changed = {name: (size, mtime, "another print") for name, (size, mtime, _) in parts.items()}
    with pytest.raises(NotAudited) as refused:
        open_checked(key, root, recorded=Recorded(own, changed, mask)).close()
    assert "[MASKED-10]" in refused.value.why and "first or last bytes" in refused.value.why


@pytest.mark.parametrize("kind", ["tiff", "png"])
def test_a_slide_swapped_since_the_audit_is_not_served_for_review(
    audited: Run, tmp_path: Path, kind: str
) -> None:
    """The review server's tiles opened each slide afresh: a scan swapped since the audit was
    reviewed as the audited one. Given the audit's record, its first open is checked against it."""
    from dqm.semantic.server.tiles import SlideUnavailable, TileSource

    if kind == "tiff":
        root, rel = audited.root, "slides/S00001.tiff"
        recorded = recorded_of(rel, audited.record(0).fingerprint, audited.record(0).stats, {})
    else:
        root, rel = tmp_path, "s.png"
        recorded = _recorded(_png(tmp_path / rel, (200, 30, 30)), rel)
    assert recorded is not None
    assert TileSource(root, {0: rel}, recorded={0: recorded}).tile(0, 0, 0, 0)
    if kind == "tiff":
        _swapped_same_size(root / rel)
    else:
        _png(tmp_path / "o.png", (30, 30, 200))
        os.replace(tmp_path / "o.png", root / rel)
    tiles = TileSource(root, {0: rel}, recorded={0: recorded})
    with pytest.raises(SlideUnavailable) as refused:
        tiles.tile(0, 0, 0, 0)
    assert str(refused.value).startswith(rel) and SAID in str(refused.value)
    assert TileSource(root, {0: rel}).tile(0, 0, 0, 0)  # no record: served as before


def test_a_tiff_for_pillow_swapped_after_openslide_refused_it_is_not_served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A TIFF OpenSlide does not read (stripped) goes to Pillow: the image Pillow opens must be the
    file open_checked took, not whatever the batch path names by then."""
    import tifffile

    import dqm.slide_io
    from dqm.semantic.server.tiles import SlideUnavailable, TileSource

    path = tmp_path / "s.tif"
    tifffile.imwrite(path, np.full((300, 400, 3), 200, np.uint8))
    tifffile.imwrite(tmp_path / "o.tif", np.full((300, 400, 3), 30, np.uint8), description="other")
    assert TileSource(tmp_path, {0: "s.tif"}).tile(0, 0, 0, 0)
    real = dqm.slide_io.plain_file

    def swapped_first(*args: object) -> object:
        os.replace(tmp_path / "o.tif", path)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(dqm.slide_io, "plain_file", swapped_first)
    with pytest.raises(SlideUnavailable) as refused:
        TileSource(tmp_path, {0: "s.tif"}).tile(0, 0, 0, 0)
    assert str(refused.value).startswith("s.tif")


def _raw_rgba_tiff(root: Path) -> tuple[Path, Path]:
    """A plain uncompressed RGBA TIFF of one strip (blue; Pillow memory-maps such an image by its
    file name as it loads it) and another file of red bytes."""
    root.mkdir(exist_ok=True)
    Image.fromarray(np.full((64, 64, 4), (30, 30, 200, 255), np.uint8), "RGBA").save(root / "a.tif")
    other = root / "other.bin"
    other.write_bytes(bytes([250, 10, 10, 255]) * 20_000)
    return root / "a.tif", other


def test_a_plain_image_served_for_review_is_its_own_pixels_when_its_descriptor_number_is_reused(
    tmp_path: Path,
) -> None:
    """The review's plain image was given to Pillow as ``/proc/self/fd/N``, N closed once opened:
    Pillow mapped that name at the first tile, and a file opened meanwhile (another request's
    slide) under the number N was served as this image."""
    from dqm.semantic.server.tiles import open_slide

    path, other = _raw_rgba_tiff(tmp_path / "batch")
    slide, checked = open_slide(path, tmp_path / "batch")
    fd = os.open(other, os.O_RDONLY)  # the lowest number free: the one the open held, closed since
    try:
        assert checked is None
        pixel = np.asarray(slide.read_region((0, 0), 0, (4, 4)))[0, 0]
    finally:
        os.close(fd)
        slide.close()
    assert tuple(pixel) == (30, 30, 200, 255)


def test_a_plain_image_trained_on_is_decoded_from_the_file_held_not_a_reused_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Validity's reader decoded its plain image once the descriptor Pillow was given by name had
    been closed: a file another thread opened in between under that number gave the pixels."""
    path, other = _raw_rgba_tiff(tmp_path / "batch")
    opened: list[int] = []
    real = SlideReader._drafted

    def drafted(img: Image.Image, ds: float) -> tuple[int, int]:
        opened.append(os.open(other, os.O_RDONLY))  # another thread's open, before the decode
        return real(img, ds)

    monkeypatch.setattr(SlideReader, "_drafted", staticmethod(drafted))
    reader = SlideReader(path, root=tmp_path / "batch")
    try:
        region = reader.read(0, 0, 8, 8, 1.0)
    finally:
        reader.close()
        for fd in opened:
            os.close(fd)
    assert opened and {tuple(px) for px in region.reshape(-1, 3)} == {(30, 30, 200)}


def _counted(monkeypatch: pytest.MonkeyPatch, name: str) -> list[object]:
    """The first arguments of each call of ``dqm.slide_io``'s ``name``, which still does its work."""
    import dqm.slide_io

    calls: list[object] = []
    real = getattr(dqm.slide_io, name)

    def counted(first: object, *args: object, **kwargs: object) -> object:
        calls.append(first)
        return real(first, *args, **kwargs)

    monkeypatch.setattr(dqm.slide_io, name, counted)
    return calls


def test_reads_after_the_first_apply_the_jail_rule_without_reading_the_slide_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The jail rule after a read read the slide's head and resolved every name it gives again,
    each read (a MIRAX slide of 400 data files: 8.7 ms a read); what OpenSlide opens is fixed at its
    open, so only the first check after it applies the whole rule."""
    calls = _counted(monkeypatch, "refused_reference")
    root = tmp_path / "batch"
    reader = SlideReader(_vms_with_optimisation(root), root=root)
    for _ in range(5):
        assert reader.read(0, 0, 8, 8, 1.0)[4, 4, 2] > 150
    reader.close()
    assert len(calls) == 2  # the look before OpenSlide's open, the check after its first read


def test_a_named_file_past_the_parts_made_a_link_out_after_the_open_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file the slide names past the parts stat'ed after each read (MAX_PARTS) is looked at by
    its name after each read: made a link out of the batch, the slide is read no further."""
    import dqm.slide_refs

    monkeypatch.setattr(dqm.slide_refs, "MAX_PARTS", 1)
    (tmp_path / "outside").mkdir()
    _jpeg(tmp_path / "outside" / "other.jpg", (200, 30, 30))
    root = tmp_path / "batch"
    key = _vms_with_optimisation(root)
    _jpeg(root / "sub" / "map.jpg", (30, 30, 200))
    key.write_text(key.read_text().replace("MapFile=S1.jpg", "MapFile=map.jpg"))
    reader = SlideReader(key, root=root)
    assert reader.read(0, 0, 8, 8, 1.0)[4, 4, 2] > 150
    (root / "sub" / "map.jpg").unlink()
    (root / "sub" / "map.jpg").symlink_to(tmp_path / "outside" / "other.jpg")
    with pytest.raises(SlideRefused) as refused:
        reader.read(0, 0, 8, 8, 1.0)
    reader.close()
    assert "map.jpg" in refused.value.why and "outside the batch" in refused.value.why


def _vms_naming_a_subfolder(root: Path) -> Path:
    """:func:`_vms_with_optimisation` whose ``MapFile`` is ``m/map.jpg``, a file in a folder."""
    key = _vms_with_optimisation(root)
    (root / "sub" / "m").mkdir()
    _jpeg(root / "sub" / "m" / "map.jpg", (30, 30, 200))
    key.write_text(key.read_text().replace("MapFile=S1.jpg", "MapFile=m/map.jpg"))
    return key


def test_a_folder_above_a_named_file_past_the_parts_made_a_link_out_after_the_open_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file past the parts was looked at by ``lstat`` of its name after each read: a link put in
    place of a folder above it (the name now leading out of the batch) left the file itself a
    regular file, and the slide was read on. The file its name leads to is compared with the one
    at the open (device, inode): another file is judged by the jail rule."""
    import dqm.slide_refs

    monkeypatch.setattr(dqm.slide_refs, "MAX_PARTS", 1)
    (tmp_path / "outside" / "m").mkdir(parents=True)
    _jpeg(tmp_path / "outside" / "m" / "map.jpg", (200, 30, 30))
    root = tmp_path / "batch"
    key = _vms_naming_a_subfolder(root)
    reader = SlideReader(key, root=root)
    assert reader.read(0, 0, 8, 8, 1.0)[4, 4, 2] > 150
    assert reader.read(0, 0, 8, 8, 1.0)[4, 4, 2] > 150  # the check with what is watched taken
    (root / "sub" / "m").rename(root / "sub" / "m-before")
    (root / "sub" / "m").symlink_to(tmp_path / "outside" / "m")
    with pytest.raises(SlideRefused) as refused:
        reader.read(0, 0, 8, 8, 1.0)
    reader.close()
    assert "map.jpg" in refused.value.why and "outside the batch" in refused.value.why


def test_parts_a_slide_names_are_listed_once_and_stated_by_their_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parts were listed again after every read (a MIRAX slide of 400 data files: the
    ``Slidedat.ini`` read and every name resolved, ~17 ms a read). A slide whose parts it names
    is listed at the take before OpenSlide's open and at the check after it only; later, each
    part is stat'ed by the name OpenSlide opens, so a folder above a part made a link (to another file of the batch) is
    still seen, and so is a named file that was missing at the open and is there now."""
    calls = _counted(monkeypatch, "slide_parts")
    root = tmp_path / "batch"
    key = _vms_naming_a_subfolder(root)
    reader = SlideReader(key, root=root)
    for _ in range(5):
        assert reader.read(0, 0, 8, 8, 1.0)[4, 4, 2] > 150
    assert len(calls) == 2  # the take before OpenSlide's open, the check after it: none a read
    (root / "other").mkdir()
    _jpeg(root / "other" / "map.jpg", (30, 30, 200))
    (root / "sub" / "m").rename(root / "sub" / "m-before")
    (root / "sub" / "m").symlink_to(root / "other")
    with pytest.raises(SlideRefused) as refused:
        reader.read(0, 0, 8, 8, 1.0)
    assert "map.jpg" in refused.value.why
    reader.close()


@pytest.mark.parametrize("how", ["file", "link_to_part", "hard_link_to_part"])
@pytest.mark.parametrize("reads_before", [1, 2])
def test_a_named_file_missing_at_the_open_and_there_after_it_is_refused(
    tmp_path: Path, reads_before: int, how: str
) -> None:
    """A named file missing at the open and there after it: OpenSlide would read a file not taken.
    Written after the first read (before the check that builds what later reads watch), it was
    watched as a file there at the open, never seen joined; after the second, it was seen. Made a
    link to a part after the first read, it was taken for that part (one file, listed once):
    never seen joined."""
    key = _vms_with_optimisation(tmp_path / "batch")
    reader = SlideReader(key, root=tmp_path / "batch")
    for _ in range(reads_before):
        assert reader.read(0, 0, 8, 8, 1.0)[4, 4, 2] > 150
    opt, part = tmp_path / "batch" / "sub" / "opt.bin", tmp_path / "batch" / "sub" / "S1.jpg"
    if how == "file":
        opt.write_bytes(b"\0" * 64)
    elif how == "link_to_part":
        opt.symlink_to(part)
    else:
        os.link(part, opt)
    with pytest.raises(SlideRefused) as refused:
        reader.read(0, 0, 8, 8, 1.0)
    assert "opt.bin" in refused.value.why and "joined or left" in refused.value.why
    reader.close()


def test_a_listing_of_exactly_max_parts_is_not_taken_as_cut(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A listing of exactly MAX_PARTS files, none left out, was taken as cut (a file past the cut
    cannot be told from one joined since): a named file missing at the open and written after the
    first read went unseen. The listing says whether it was cut."""
    import dqm.slide_refs

    key = _vms_with_optimisation(tmp_path / "batch")  # one part: S1.jpg, named twice
    monkeypatch.setattr(dqm.slide_refs, "MAX_PARTS", 1)
    reader = SlideReader(key, root=tmp_path / "batch")
    assert reader.read(0, 0, 8, 8, 1.0)[4, 4, 2] > 150
    (tmp_path / "batch" / "sub" / "opt.bin").write_bytes(b"\0" * 64)
    with pytest.raises(SlideRefused) as refused:
        for _ in range(2):
            reader.read(0, 0, 8, 8, 1.0)
    assert "opt.bin" in refused.value.why and "joined or left" in refused.value.why
    reader.close()


def _vms_recorded(tmp_path: Path) -> tuple[Path, Path, Recorded]:
    """A VMS ``sub/S1.vms`` of one JPEG in the batch folder, and the audit's record of both."""
    root = tmp_path / "batch"
    (root / "sub").mkdir(parents=True)
    key, _ = _vms_to_swap(root)
    part = root / "sub" / "S1.jpg"
    recorded = Recorded(_recorded(key, "sub/S1.vms").own, {"sub/S1.jpg": _recorded(part, "sub/S1.jpg").own})
    assert unlike_audit(key, root, recorded) is None
    return root, key, recorded


def _failing_open(monkeypatch: pytest.MonkeyPatch, path: Path, code: int, after: int = 0) -> None:
    """``os.open`` of ``path`` failing with ``code`` from its ``after``+1-th call on."""
    real_open, calls = os.open, [0]

    def failing(file: object, *args: object, **kw: object) -> int:
        if isinstance(file, (str, os.PathLike)) and os.path.realpath(file) == os.path.realpath(path):
            calls[0] += 1
            if calls[0] > after:
                raise OSError(code, os.strerror(code))
        return real_open(file, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", failing)


@pytest.mark.parametrize("code", [errno.EIO, errno.EMFILE])
def test_a_transient_error_reading_a_part_refuses_nothing_for_good(
    tmp_path: Path, code: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A part whose open failed with EIO or EMFILE was left out of what was taken, and so read as
    a part gone since the audit ("sub/S1.jpg joined or left ... since the audit"): the review
    server refused the slide for good at its verdict or its first open for tiles. Such an error
    says nothing of the part: the check could not be made (AuditUnchecked; NotChecked at an
    open), and once it can the slide is the audit's."""
    root, key, recorded = _vms_recorded(tmp_path)
    _failing_open(monkeypatch, root / "sub" / "S1.jpg", code)
    with pytest.raises(AuditUnchecked):
        unlike_audit(key, root, recorded)
    with pytest.raises(NotChecked):
        open_checked(key, root, recorded=recorded)
    with pytest.raises(SlideNotChecked):  # the review's tiles: not SlideNotAudited, never refused
        open_slide(key, root, None, recorded)
    monkeypatch.undo()
    assert unlike_audit(key, root, recorded) is None
    open_checked(key, root, recorded=recorded).close()
    _failing_open(monkeypatch, root / "sub" / "S1.jpg", errno.EACCES)  # made unreadable: refused
    assert "since the audit" in str(unlike_audit(key, root, recorded))


def test_a_transient_error_reading_the_key_file_again_refuses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key file opened for the check (the slide's own print), then read again for the names
    it gives: EMFILE at that second open read as a key file naming nothing, its JPEG "left since
    the audit", the slide refused for good."""
    root, key, recorded = _vms_recorded(tmp_path)
    _failing_open(monkeypatch, key, errno.EMFILE, after=1)
    with pytest.raises(AuditUnchecked):
        unlike_audit(key, root, recorded)


def test_a_socket_at_the_slides_path_is_not_the_audited_file(tmp_path: Path) -> None:
    """A socket where the slide was fails its open with ENXIO, which was not among the errors
    that refuse: answered 503 for ever. A special file there is not the audit's file: refused,
    by its type (a stat before the open)."""
    import socket

    root = tmp_path / "b"
    root.mkdir()
    path = root / "s.tiff"
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(path))
        got = unlike_audit(path, root, Recorded((10, 1, "x"), {}))
    finally:
        sock.close()
    assert got is not None and "not the file the audit checked" in str(got) and "socket" in str(got)
    assert {errno.ENXIO, errno.ENODEV, errno.EISDIR} <= REFUSED_ERRNOS
    assert not {errno.EIO, errno.EMFILE, errno.ENFILE, errno.EAGAIN, errno.EINTR} & REFUSED_ERRNOS


def _parts_recorded(root: Path, slide: Path) -> Recorded:
    """The audit's record of ``slide`` and the parts it was listed with (:func:`slide_parts`)."""
    parts, cut = slide_parts(str(slide), slide.stat().st_size, root)
    assert parts and not cut
    rel = str(slide.relative_to(root))
    recorded = Recorded(_recorded(slide, rel).own, {part: _recorded(root / part, part).own for part in parts})
    assert unlike_audit(slide, root, recorded) is None
    return recorded


def _failing_scandir(monkeypatch: pytest.MonkeyPatch, folder: Path, code: int) -> None:
    """``os.scandir`` of ``folder`` failing with ``code``."""
    real_scandir = os.scandir

    def failing(path: object = ".") -> object:
        if os.path.realpath(path) == os.path.realpath(folder):  # type: ignore[arg-type]
            raise OSError(code, os.strerror(code))
        return real_scandir(path)  # type: ignore[call-overload]

    monkeypatch.setattr(os, "scandir", failing)


def _raising(code: int) -> Callable[..., object]:
    """A function raising OSError ``code`` whatever it is given."""

    def raising(*args: object, **kw: object) -> object:
        raise OSError(code, os.strerror(code))

    return raising


def _only_unchecked(monkeypatch: pytest.MonkeyPatch, slide: Path, root: Path, recorded: Recorded) -> None:
    """With the error faked: the check could not be made (AuditUnchecked, NotChecked at the first
    open); without it, the slide is the audit's."""
    with pytest.raises(AuditUnchecked):
        unlike_audit(slide, root, recorded)
    with pytest.raises(NotChecked):
        open_checked(slide, root, recorded=recorded)
    monkeypatch.undo()
    assert unlike_audit(slide, root, recorded) is None


@pytest.mark.parametrize("code", [errno.EIO, errno.EMFILE])
def test_a_transient_error_listing_a_dicom_folder_refuses_nothing(
    tmp_path: Path, code: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The DICOM slide's folder listed again for its series: EMFILE there read as a folder of no
    other file (".hidden joined or left ... since the audit"), the slide refused for good."""
    root = tmp_path / "dicom"
    _folder(root)
    slide = root / "s.dcm"
    recorded = _parts_recorded(root, slide)
    _failing_scandir(monkeypatch, root, code)
    _only_unchecked(monkeypatch, slide, root, recorded)


@pytest.mark.parametrize("code", [errno.EIO, errno.EMFILE])
def test_a_transient_error_reading_a_dicom_series_file_refuses_nothing(
    tmp_path: Path, code: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One file of the series (``explicit``) failing its open: read as a file of no series, left
    out of what was taken, the slide refused for good. Made unreadable (EACCES), it is gone."""
    root = tmp_path / "dicom"
    _folder(root)
    slide = root / "s.dcm"
    recorded = _parts_recorded(root, slide)
    assert "explicit" in recorded.parts
    _failing_open(monkeypatch, root / "explicit", code)
    _only_unchecked(monkeypatch, slide, root, recorded)
    _failing_open(monkeypatch, root / "explicit", errno.EACCES)
    assert "since the audit" in str(unlike_audit(slide, root, recorded))


def test_a_transient_read_error_of_a_dicom_header_is_not_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read error in a header (the probe's listing, not strict) was kept as the file's series
    for the run: the check after it took that series and refused the slide."""
    root = tmp_path / "dicom"
    _folder(root)
    slide = root / "s.dcm"
    recorded = _parts_recorded(root, slide)
    path, st = str(root / "explicit"), os.stat(root / "explicit")
    slide_refs._SERIES_MEMO.clear()
    monkeypatch.setattr(slide_refs, "racy", lambda times, now: False)  # kept however new the file
    with monkeypatch.context() as patch:
        patch.setattr(slide_refs, "_dataset_series", _raising(errno.EIO))
        assert series_of(path, st) == slide_refs.UNKNOWN_SERIES  # the probe's reading, as before
        with pytest.raises(OSError):
            series_of(path, st, strict=True)
    assert series_of(path, st) not in (None, slide_refs.UNKNOWN_SERIES)
    assert unlike_audit(slide, root, recorded) is None


@pytest.mark.parametrize("code", [errno.EIO, errno.EMFILE])
def test_a_transient_error_reopening_a_trestle_slide_for_its_macro_refuses_nothing(
    tmp_path: Path, code: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Trestle slide reopened by its path for its macro image's name: EMFILE there read as a
    slide without one ("sub/S1.Full joined or left"), the slide refused for good."""
    root = tmp_path / "batch"
    (root / "sub").mkdir(parents=True)
    slide = root / "sub" / "S1.tif"
    _trestle(slide)
    recorded = _parts_recorded(root, slide)
    assert "sub/S1.Full" in recorded.parts
    _failing_open(monkeypatch, slide, code, after=1)
    with pytest.raises(AuditUnchecked):
        unlike_audit(slide, root, recorded)
    monkeypatch.undo()
    assert unlike_audit(slide, root, recorded) is None


def _failing_look(monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    """``os.scandir`` failing with ``code`` in the look at a DICOM slide's folder for files not to
    open (:func:`~dqm.slide_refs._dicom_folder`) only: the listing of its series before it
    (:func:`~dqm.slide_refs.slide_parts`) succeeds, as when the error strikes between the two."""
    import sys

    real_scandir = os.scandir

    def failing(path: object = ".") -> object:
        if sys._getframe(1).f_code.co_name == "_dicom_folder":
            raise OSError(code, os.strerror(code))
        return real_scandir(path)  # type: ignore[call-overload]

    monkeypatch.setattr(os, "scandir", failing)


def _dicom_looked_at(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> tuple[Path, Recorded, TileSource]:
    """A DICOM slide, the audit's record of it and the review's tiles of it, the look at its
    folder failing with ``code`` (:func:`_failing_look`)."""
    root = tmp_path / "dicom"
    _folder(root)
    slide = root / "s.dcm"
    recorded = _parts_recorded(root, slide)
    source = TileSource(root, {0: "s.dcm"}, recorded={0: recorded})
    _failing_look(monkeypatch, code)
    return slide, recorded, source


@pytest.mark.parametrize("code", [errno.EIO, errno.EMFILE, errno.ESTALE])
def test_a_transient_error_looking_at_a_dicom_folder_is_answered_try_again(
    tmp_path: Path, code: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The look for links out of the batch and special files beside a DICOM slide read a listing
    error as nothing to refuse: OpenSlide then opened every file of the folder unlooked at (a FIFO
    placed there waited for ever). A transient error is "not checked" (the server's 503, try
    again), nothing refused for good; the probe, which cannot ask again, refuses the slide."""
    slide, recorded, source = _dicom_looked_at(tmp_path, monkeypatch, code)
    root = slide.parent
    with pytest.raises(NotChecked):
        open_checked(slide, root, recorded=recorded)
    with pytest.raises(SlideNotChecked):
        source.dzi(0)
    assert not source._not_audited
    why = slide_refs.refused_reference(slide, root)
    assert why is not None and "cannot be listed" in str(why)


@pytest.mark.parametrize("code", [errno.EACCES, errno.ENOTDIR, errno.ENOENT])
def test_a_dicom_folder_that_cannot_be_listed_is_refused(
    tmp_path: Path, code: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder made unreadable (or gone) since the listing of the series: what OpenSlide would
    open in it is not known, so the slide is refused, not handed to OpenSlide unlooked at."""
    slide, recorded, source = _dicom_looked_at(tmp_path, monkeypatch, code)
    root = slide.parent
    with pytest.raises(NotOpened) as got:
        open_checked(slide, root, recorded=recorded)
    assert not isinstance(got.value, NotChecked) and "cannot be listed" in str(got.value.why)
    with pytest.raises(SlideUnavailable) as unserved:
        source.dzi(0)
    assert not isinstance(unserved.value, SlideNotChecked) and "cannot be listed" in str(unserved.value)


def test_a_dicom_slide_of_exactly_max_parts_that_gains_one_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The audit's record holds the first MAX_PARTS files of a series and not whether there were
    more: a slide of exactly that many at the audit that gained one since (named to sort last, so
    the listing cut leaves it out) was the audit's slide to the server, and OpenSlide opened the
    file joined. A series listed cut now is refused (not the audit's, for good); one of as many as
    the record is not."""
    from tests.test_dicom_parts import SERIES, dicom

    root = tmp_path / "dicom"
    _folder(root)
    slide = root / "s.dcm"
    monkeypatch.setattr(slide_refs, "MAX_PARTS", 3)  # the slide's series: explicit, implicit, .hidden
    recorded = _parts_recorded(root, slide)
    assert len(recorded.parts) == 3
    source = TileSource(root, {0: "s.dcm"}, recorded={0: recorded})
    source.check_audited(0)  # exactly MAX_PARTS, as at the audit: taken
    (root / "zz-joined").write_bytes(dicom(SERIES))
    assert unlike_audit(slide, root, recorded) is None  # what the record alone tells: nothing
    with pytest.raises(SlideNotAudited) as refused:
        source.check_audited(0)
    assert "more than 3 files of its series" in str(refused.value)
    with pytest.raises(SlideNotAudited):
        source.dzi(0)  # refused for the server's life
    fresh = TileSource(root, {0: "s.dcm"}, recorded={0: recorded})
    with pytest.raises(SlideNotAudited):
        fresh.dzi(0)  # at a first open too, before OpenSlide opens anything


def _real_dicom(real_data: Path, tmp_path: Path) -> tuple[Path, Path, Recorded]:
    """The real ``boxes_0.dcm`` and ``boxes_1.dcm`` (its series' other file) in the folder ``d`` of a
    batch beside a plain image ``S1.png``, and the audit's record of ``boxes_0.dcm``: with
    :data:`~dqm.slide_refs.MAX_PARTS` patched to 1, a series of exactly as many as the record holds."""
    root = tmp_path / "b"
    (root / "d").mkdir(parents=True)
    for name in ("boxes_0.dcm", "boxes_1.dcm"):
        shutil.copy(real_data / "slides" / name, root / "d" / name)
    _png(root / "S1.png", (200, 30, 30))
    slide = root / "d" / "boxes_0.dcm"
    return root, slide, _parts_recorded(root, slide)


def _last_tile(source: TileSource, index: int) -> tuple[int, int, int]:
    """The address of the first tile of slide ``index``'s largest Deep Zoom level, the slide
    opened and not checked since (``info`` checks it now, as a tile: the tile's is the first check
    after the open, whose look at a DICOM folder is what some tests make fail)."""
    with source._using(index) as entry:
        return int(entry.dz.level_count) - 1, 0, 0


@pytest.mark.parametrize("evicted", [False, True])
def test_a_dicom_series_of_exactly_max_parts_gaining_one_while_served_is_not_read(
    real_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, evicted: bool
) -> None:
    """A DICOM slide of exactly MAX_PARTS files besides it, served, that gains one (``zz.dcm``,
    sorted past the others: off the listing cut at MAX_PARTS as off the one taken at the open):
    only its first open and the verdicts looked for a listing cut, so the check after each read
    (the parts listed again: the same names) and a reopen after it was pushed out of the open ones
    (checked against its first open: not listed cut) served the tiles OpenSlide read with the file
    joined. A listing cut now that was not cut when taken is a change: not read."""
    monkeypatch.setattr(slide_refs, "MAX_PARTS", 1)
    root, slide, recorded = _real_dicom(real_data, tmp_path)
    source = TileSource(root, {0: "d/boxes_0.dcm", 1: "S1.png"}, max_open=1, recorded={0: recorded})
    level, col, row = _last_tile(source, 0)
    assert source.tile(0, level - 1, 0, 0)
    shutil.copy(real_data / "slides" / "boxes_1.dcm", root / "d" / "zz.dcm")
    assert slide_parts(str(slide), slide.stat().st_size, root) == (["d/boxes_1.dcm"], True)
    if evicted:
        source.dzi(1)
        assert 0 not in source._open
    with pytest.raises(SlideUnavailable) as refused:
        source.tile(0, level, col, row)
    assert "joined" in str(refused.value)
    with pytest.raises(SlideNotAudited):
        source.check_audited(0)


def test_a_dicom_file_joining_between_the_take_and_the_open_is_not_served(
    real_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file of the series that joins after the first open took the slide's files (not cut: the
    look for a series listed cut is that take, :func:`~dqm.slide_io.crowded_since_audit`) and
    before OpenSlide opens it: OpenSlide read the file joined. The check after the first read
    lists the series cut, which it was not when taken: not served."""
    from dqm import slide_io

    monkeypatch.setattr(slide_refs, "MAX_PARTS", 1)
    root, _, recorded = _real_dicom(real_data, tmp_path)
    source = TileSource(root, {0: "d/boxes_0.dcm"}, recorded={0: recorded})
    took = slide_io.taken_of

    def then_joined(*args: object, **kw: object) -> object:
        taken = took(*args, **kw)  # type: ignore[arg-type]
        shutil.copy(real_data / "slides" / "boxes_1.dcm", root / "d" / "zz.dcm")
        return taken

    monkeypatch.setattr(slide_io, "taken_of", then_joined)
    with pytest.raises(SlideUnavailable) as refused:  # its first read: the pyramid's
        level, col, row = _last_tile(source, 0)
        source.tile(0, level, col, row)
    assert "joined" in str(refused.value)


def test_a_dicom_slide_whose_head_cannot_be_read_at_the_crowded_look_is_not_passed_over(
    real_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A DICOM slide not named ``.dcm`` whose head could not be read at the server's look for a
    series listed cut (EIO) was taken for no DICOM slide and passed over, at its only look before
    its first open: "not checked" (try again), and refused once the look can be made."""
    monkeypatch.setattr(slide_refs, "MAX_PARTS", 1)
    root = tmp_path / "b"
    (root / "d").mkdir(parents=True)
    shutil.copy(real_data / "slides" / "boxes_0.dcm", root / "d" / "s.bin")
    shutil.copy(real_data / "slides" / "boxes_1.dcm", root / "d" / "boxes_1.dcm")
    slide = root / "d" / "s.bin"
    recorded = _parts_recorded(root, slide)
    shutil.copy(real_data / "slides" / "boxes_1.dcm", root / "d" / "zz.dcm")
    source = TileSource(root, {0: "d/s.bin"}, recorded={0: recorded})
    real_head, failed = slide_refs._head, []

    def failing_once(target: str, limit: int, strict: bool = False, whole: bool = True) -> bytes:
        # its head read for the magic (the descriptor the open reads it through is no such read)
        if not failed and os.path.realpath(target) == str(slide) and limit == slide_refs.DICOM_MAGIC_AT + 4:
            failed.append(target)
            if strict:
                raise OSError(errno.EIO, os.strerror(errno.EIO))
            return b""
        return real_head(target, limit, strict, whole)

    monkeypatch.setattr(slide_refs, "_head", failing_once)
    with pytest.raises(SlideNotChecked):
        source.dzi(0)
    assert failed and not source._not_audited
    with pytest.raises(SlideNotAudited):
        source.dzi(0)


@pytest.mark.parametrize("where", ["series", "look"])
def test_a_transient_listing_error_after_a_read_refuses_nothing(
    real_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """The check after each read of a DICOM slide lists its folder again (its series, then the
    look for files not to open): EIO there read as the series' files gone, or as a folder that
    cannot be listed (refused), and the tile was a 404 and the slide closed. It is "not checked"
    (the server's 503, try again), the slide kept, its tiles served once the listing can be made."""
    root, _, recorded = _real_dicom(real_data, tmp_path)
    source = TileSource(root, {0: "d/boxes_0.dcm"}, recorded={0: recorded})
    level, col, row = _last_tile(source, 0)
    if where == "series":
        _failing_scandir(monkeypatch, root / "d", errno.EIO)
    else:
        _failing_look(monkeypatch, errno.EIO)
    with pytest.raises(SlideNotChecked):
        source.tile(0, level, col, row)
    assert 0 in source._open and not source._not_audited
    monkeypatch.undo()
    assert source.tile(0, level, col, row)


def test_a_transient_listing_error_at_the_audit_is_not_kept_in_the_result_cache(
    real_data: Path, tmp_path: Path, profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The audit's probe looked at a DICOM slide's folder non-strict: EMFILE there was a refusal
    ("cannot be listed"), kept by the result cache under a key whose listing succeeded, so every
    run after refused the slide. The item is not checked now, not kept: the next run checks it."""
    from dqm.cache import RecordCache, context_key
    from tests.test_cache import boxes_batch

    root = boxes_batch(real_data, tmp_path / "b")
    options = RunOptions(workers=1, clinical=False)

    def audited() -> list[str]:
        with RecordCache(tmp_path / "cache", root, context_key(profile.sha256, options)) as cache:
            run = run_batch(root, profile, options, cache=cache)
        outcome = {o.summary.slide_id: o for o in run.outcomes}["boxes_0"]
        return [str(f.message) for f in outcome.findings]

    _failing_look(monkeypatch, errno.EMFILE)
    said = audited()
    assert not [s for s in said if "cannot be listed" in s] and [s for s in said if "crashed" in s]
    monkeypatch.undo()
    again = audited()
    assert not [s for s in again if "cannot be listed" in s or "crashed" in s]


def test_a_transient_listing_error_opening_for_validity_is_no_reference_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Validity's reader took a DICOM folder that could not be listed just now (EIO) for a slide
    refused for a file it names (SLIDE_REFERENCE_REFUSED): it is a read that failed now."""
    root = tmp_path / "dicom"
    _folder(root)
    slide = root / "s.dcm"
    recorded = _parts_recorded(root, slide)
    _failing_look(monkeypatch, errno.EIO)
    reader = SlideReader(slide, root=root, recorded=recorded)
    with pytest.raises(SlideRefused) as refused:
        reader.check(1.0, (60, 40))
    assert refused.value.code == "SLIDE_UNREADABLE"
    reader.close()


def test_a_transient_listing_error_after_a_validity_read_is_an_unreadable_read(
    real_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check after a read of validity's reader lists the DICOM slide's series again: EIO there
    read as its other file gone ("joined or left ... while the slide was being checked"), the slide
    changed; it is a read that failed now (SLIDE_UNREADABLE, the error named), the next read made
    once the listing can be."""
    root, slide, recorded = _real_dicom(real_data, tmp_path)
    reader = SlideReader(slide, root=root, recorded=recorded)
    assert reader.read(0, 0, 4, 4, 1.0).shape[:2] == (4, 4)
    _failing_scandir(monkeypatch, root / "d", errno.EIO)
    with pytest.raises(SlideRefused) as refused:
        reader.read(0, 0, 4, 4, 1.0)
    why = str(refused.value.why)
    assert refused.value.code == "SLIDE_UNREADABLE" and "joined or left" not in why and "error" in why
    monkeypatch.undo()
    assert reader.read(0, 0, 4, 4, 1.0).shape[:2] == (4, 4)
    reader.close()
