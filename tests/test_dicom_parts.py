"""The other files of a DICOM slide's series: named by :func:`dqm.slide_refs.slide_parts` as
OpenSlide's DICOM reader finds them (every file of the slide's folder whose ``SeriesInstanceUID``
is the slide's), hashed by ``--certify``, fingerprinted by ``--results`` and checked by
``dqm verify --batch``."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import dqm.cache
import dqm.slide_refs
from dqm.cli import app
from dqm.profile import load_profile
from dqm.results import load_result
from dqm.reuse import refusal
from dqm.runner import RunOptions
from dqm.slide_refs import _UNDEFINED, UNKNOWN_SERIES, WSI_SOP_CLASS, series_of, slide_parts
from dqm.verify import check_batch
from tests.test_cache_certify import _blank_the_middle_keeping_size_and_times, audit, checked  # noqa: F401

runner = CliRunner()
SERIES = "1.2.826.0.1.3680043.8.498.1"
IMPLICIT = "1.2.840.10008.1.2"
_LONG = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}


def _element(tag: int, vr: str, value: bytes, implicit: bool = False) -> bytes:
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF)
    value += b"\0" * (len(value) % 2)
    if implicit:
        return head + struct.pack("<I", len(value)) + value
    if vr in _LONG:
        return head + vr.encode() + b"\0\0" + struct.pack("<I", len(value)) + value
    return head + vr.encode() + struct.pack("<H", len(value)) + value


def dicom(
    series: str | None,
    sop_class: str = WSI_SOP_CLASS,
    syntax: str = "1.2.840.10008.1.2.1",
    private: int = 0,
    series_tag: int = 0x0020000E,
) -> bytes:
    """A DICOM file of image flavor ``OTHER`` (OpenSlide reads its metadata, compares its series
    and ignores it) of ``series`` (None: no ``SeriesInstanceUID``), with an undefined-length
    sequence before it and ``private`` bytes of a private element (its middle outside the quick
    print when over 2 MiB); the image tags libdicom requires of a file it reads."""
    implicit = syntax == IMPLICIT
    meta = b"".join(
        _element(tag, vr, value)
        for tag, vr, value in (
            (0x00020001, "OB", b"\0\1"),
            (0x00020002, "UI", sop_class.encode()),
            (0x00020003, "UI", b"1.2.3.4"),
            (0x00020010, "UI", syntax.encode()),
        )
    )
    meta = _element(0x00020000, "UL", struct.pack("<I", len(meta))) + meta
    item = struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF) + _element(0x00081150, "UI", b"1.2.3", implicit)
    sequence = struct.pack("<HH", 0x0008, 0x1115)
    sequence += struct.pack("<I", 0xFFFFFFFF) if implicit else b"SQ\0\0" + struct.pack("<I", 0xFFFFFFFF)
    sequence += item + struct.pack("<HHI", 0xFFFE, 0xE00D, 0) + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    data = _element(0x00080008, "CS", b"DERIVED\\PRIMARY\\OTHER\\NONE", implicit) + sequence
    if private:
        data += _element(0x00091010, "OB", bytes(range(256)) * (private // 256), implicit)
    if series is not None:
        data += _element(series_tag, "UI", series.encode(), implicit)

    def us(tag: int, n: int) -> bytes:
        return _element(tag, "US", struct.pack("<H", n), implicit)

    data += us(0x00280002, 3) + _element(0x00280004, "CS", b"RGB", implicit) + us(0x00280006, 0)
    data += _element(0x00280008, "IS", b"1", implicit) + us(0x00280010, 16) + us(0x00280011, 16)
    data += us(0x00280100, 8) + us(0x00280101, 8) + us(0x00280102, 7) + us(0x00280103, 0)
    data += _element(0x00480006, "UL", struct.pack("<I", 16), implicit)
    data += _element(0x00480007, "UL", struct.pack("<I", 16), implicit)
    return b"\0" * 128 + b"DICM" + meta + data


def _folder(root: Path) -> dict[str, bool]:
    """A DICOM slide ``s.dcm`` and the files beside it, each with whether it is of the slide's
    series as OpenSlide reads it."""
    root.mkdir(parents=True, exist_ok=True)
    files = {
        "s.dcm": (dicom(SERIES), False),  # the slide: not a part of itself
        "explicit": (dicom(SERIES, private=4096), True),
        "implicit": (dicom(SERIES, syntax=IMPLICIT), True),
        ".hidden": (dicom(SERIES + "\0"), True),  # padded as UIDs are; hidden files are listed too
        "other-series": (dicom("1.2.3"), False),
        "no-series": (dicom(None), False),
        "other-class": (dicom(SERIES, sop_class="1.2.840.10008.5.1.4.1.1.2"), False),
        "past-the-stop": (
            dicom(None) + _element(0x7FE00010, "OB", b"") + _element(0x0020000E, "UI", b"x"),
            False,
        ),
        "text.txt": (b"not DICOM", False),
    }
    for name, (data, _) in files.items():
        (root / name).write_bytes(data)
    return {name: member for name, (_, member) in files.items()}


def _meta(*elements: tuple[int, str, bytes], length: int | None = None) -> bytes:
    """A file meta group of ``elements`` (explicit VRs) and its group length (``length``: another)."""
    body = b"".join(_element(tag, vr, value) for tag, vr, value in elements)
    return _element(0x00020000, "UL", struct.pack("<I", len(body) if length is None else length)) + body


def _read_as_libdicom_does(root: Path) -> list[str]:
    """Files of the slide's series that OpenSlide keeps (libdicom reads C strings, a value's first
    value, the meta group to its length, every item to its end) and that dqm read otherwise:
    another series or none, so neither hashed nor fingerprinted. Returns their names."""
    root.mkdir(parents=True, exist_ok=True)
    whole = dicom(SERIES)
    data = whole[whole.index(b"\x08\x00\x08\x00CS") :]  # the dataset after the meta group
    series = _element(0x0020000E, "UI", SERIES.encode())

    def meta(sop_class: bytes = WSI_SOP_CLASS.encode(), syntax: bytes = b"1.2.840.10008.1.2.1") -> list:
        return [
            (0x00020001, "OB", b"\0\1"),
            (0x00020002, "UI", sop_class),
            (0x00020003, "UI", b"1.2.3.4"),
            (0x00020010, "UI", syntax),
        ]

    def file(meta_group: bytes, dataset: bytes = data) -> bytes:
        return b"\0" * 128 + b"DICM" + meta_group + dataset

    implicit = dicom(SERIES, syntax=IMPLICIT)
    # a sequence whose defined length ends inside its undefined-length item, where a decoy
    # series UID lies in a value: libdicom parses the item to its delimiter
    decoy = _element(0x0020000E, "UI", b"1.2.3")
    item = struct.pack("<HHI", 0xFFFE, 0xE000, _UNDEFINED) + struct.pack("<HH", 0x0008, 0x1150) + b"UI"
    item += struct.pack("<H", len(decoy)) + decoy + struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
    sequence = struct.pack("<HH", 0x0008, 0x1115) + b"SQ\0\0" + struct.pack("<I", 16) + item
    start, end = data.index(b"\x08\x00\x15\x11"), data.index(b"\xfe\xff\xdd\xe0") + 8
    files = {
        "series-nul": file(
            _meta(*meta()), data.replace(series, _element(0x0020000E, "UI", SERIES.encode() + b"\0j9"))
        ),
        "series-values": file(
            _meta(*meta()), data.replace(series, _element(0x0020000E, "UI", SERIES.encode() + b"\\9.9"))
        ),
        "class-padded": file(_meta(*meta(WSI_SOP_CLASS.encode() + b"\0" * 260))),
        "class-values": file(_meta(*meta(WSI_SOP_CLASS.encode() + b"\\1.2"))),
        "class-past-the-group": file(
            _meta(*meta(), (0x00020002, "UI", b"1.2.840.10008.5.1.4.1.1.2"), length=len(_meta(*meta())) - 12)
        ),
        "syntax-padded": file(
            _meta(*meta(syntax=IMPLICIT.encode() + b"\0" * 260)),
            implicit[implicit.index(b"\x08\x00\x08\x00") :],
        ),
        "sequence-short": file(_meta(*meta()), data[:start] + sequence + data[end:]),
    }
    for name, content in files.items():
        (root / name).write_bytes(content)
    return list(files)


def _parts(root: Path, slide: str = "s.dcm", dicom: bool = True) -> tuple[list[str], bool]:
    return slide_parts(str(root / slide), (root / slide).stat().st_size, root, dicom)


def test_a_dicom_slides_parts_are_the_files_of_its_series_in_its_folder(tmp_path):
    """Only the files OpenSlide takes into the slide: the same series UID, whatever their name,
    explicit or implicit VRs; not another series', another class's, a file without one or past
    where libdicom stops reading, nor a file that is no DICOM. Before: none at all."""
    expected = _folder(tmp_path)
    parts, more = _parts(tmp_path)
    assert sorted(parts) == sorted(name for name, member in expected.items() if member) and not more
    assert _parts(tmp_path, dicom=False) == ([], False)  # as results before 1.16 fingerprint
    assert series_of(str(tmp_path / "implicit")) == SERIES
    assert series_of(str(tmp_path / "text.txt")) is None


def test_the_parts_are_those_openslide_itself_compares_and_keeps(tmp_path):
    """OpenSlide's own search (``OPENSLIDE_DEBUG=search``) names each file it skips and why: the
    files it keeps or compares and finds of the slide's series are exactly the parts."""
    openslide = pytest.importorskip("openslide")
    expected = _folder(tmp_path)
    doubtful = _read_as_libdicom_does(tmp_path)
    expected.update(dict.fromkeys(doubtful, True))
    code = f"import openslide\ntry:\n    openslide.OpenSlide({str(tmp_path / 's.dcm')!r})\nexcept Exception:\n    pass\n"
    env = {**os.environ, "OPENSLIDE_DEBUG": "search"}
    got = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert openslide is not None and "opening" in got.stderr
    kept = {
        name
        for name in expected
        if name != "s.dcm"
        and not any(
            f"/{name}: " in line and "unknown image flavor" not in line for line in got.stderr.splitlines()
        )
    }
    assert kept == set(_parts(tmp_path)[0]) and kept >= set(doubtful)
    assert {series_of(str(tmp_path / name)) for name in doubtful} == {SERIES, UNKNOWN_SERIES}


def test_the_real_dicom_slides_are_each_others_part_read_as_c_strings(real_data, tmp_path):
    """The real ``boxes_1.dcm``'s series UID with text after a NUL, or a second value: OpenSlide
    reads it as ``boxes_0.dcm``'s (its thumbnail is the slide's); dqm named no part."""
    uid = series_of(str(real_data / "slides" / "boxes_1.dcm"))
    assert uid is not None and uid != UNKNOWN_SERIES
    for tail in (b"\0zz", b"\\zz"):
        for name, end in (("boxes_0.dcm", b"\0\0\0"), ("boxes_1.dcm", tail)):
            data = (real_data / "slides" / name).read_bytes()
            (tmp_path / name).write_bytes(data.replace(uid.encode(), uid[:-3].encode() + end))
        assert _parts(tmp_path, "boxes_0.dcm") == (["boxes_1.dcm"], False)


def _after_openslide(monkeypatch, act):
    """``act`` run once, when OpenSlide has opened and read the slide (before the probe confirms its
    files)."""
    import dqm.slide_io

    real, acts = dqm.slide_io._probe_openslide, [act]

    def then_act(*args):
        done = real(*args)
        while acts:
            acts.pop()()
        return done

    monkeypatch.setattr(dqm.slide_io, "_probe_openslide", then_act)


def test_a_file_of_the_series_copied_in_while_openslide_reads_is_not_described(
    real_data, tmp_path, monkeypatch
):
    """The real ``boxes_1.dcm`` copied beside ``boxes_0.dcm`` while OpenSlide reads it: OpenSlide
    took it in (its thumbnail among the associated images, its properties), but the record's
    parts, taken before, do not name it and only those were stat'ed again (review of
    slideparts3, ``add.py``). Now the parts are listed again after the read: not described,
    naming the file that joined; nothing copied in, the slide opens."""
    from dqm.slide_io import probe_slide, taken_of

    shutil.copy(real_data / "slides" / "boxes_0.dcm", tmp_path / "boxes_0.dcm")
    slide = tmp_path / "boxes_0.dcm"
    before = taken_of(slide, slide.stat(), tmp_path)
    assert before.listed == [] and probe_slide(slide, "boxes_0.dcm", taken=before).opened
    _after_openslide(
        monkeypatch, lambda: shutil.copy(real_data / "slides" / "boxes_1.dcm", tmp_path / "boxes_1.dcm")
    )
    probe = probe_slide(slide, "boxes_0.dcm", taken=before)
    assert not probe.opened and not probe.associated_images and not probe.properties
    assert probe.open_error is not None and probe.open_error.startswith("boxes_1.dcm joined or left")


def _hard_link_elsewhere(path: Path) -> None:
    os.link(path, path.parent.parent / "elsewhere")


def _access_time_put_back(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns - 10**9, st.st_mtime_ns))


@pytest.mark.parametrize(
    "change",
    [lambda path: os.chmod(path, 0o444), _hard_link_elsewhere, _access_time_put_back],
    ids=["chmod", "hard link", "atime"],
)
def test_a_part_whose_change_time_alone_moved_is_confirmed_by_its_print(
    real_data, tmp_path, monkeypatch, change
):
    """A part's metadata changed while OpenSlide read the slide (``chmod 444``, a hard link made
    elsewhere, its access time put back as backup and virus scanners do): its change time moved
    and the slide was refused as "replaced or changed" though its content was the same (review of
    slideparts3, ``ct.py``). Its quick print, taken before, now confirms it: described; its
    content rewritten with its size and times kept is refused as changed content."""
    from dqm.slide_io import probe_slide, taken_of

    batch = tmp_path / "b"
    batch.mkdir()
    for name in ("boxes_0.dcm", "boxes_1.dcm"):
        shutil.copy(real_data / "slides" / name, batch / name)
    slide, part = batch / "boxes_0.dcm", batch / "boxes_1.dcm"
    before = taken_of(slide, slide.stat(), batch)
    assert before.listed == ["boxes_1.dcm"]
    _after_openslide(monkeypatch, lambda: change(part))
    probe = probe_slide(slide, "boxes_0.dcm", taken=before)
    assert part.stat().st_ctime_ns != before.parts["boxes_1.dcm"][1][2]
    assert probe.opened and probe.open_error is None and "thumbnail" in probe.associated_images
    before = taken_of(slide, slide.stat(), batch)
    _after_openslide(monkeypatch, lambda: _rewrite_the_end_keeping_size_and_times(part))
    probe = probe_slide(slide, "boxes_0.dcm", taken=before)
    assert not probe.opened and probe.open_error is not None
    assert probe.open_error.startswith("boxes_1.dcm") and "changed content" in probe.open_error
    assert "replaced" not in probe.open_error


def test_the_real_dicom_slides_are_each_others_part(real_data, tmp_path):
    for name in ("boxes_0.dcm", "boxes_1.dcm"):
        shutil.copy(real_data / "slides" / name, tmp_path / name)
    other = (tmp_path / "boxes_1.dcm").read_bytes()
    uid = series_of(str(tmp_path / "boxes_1.dcm"))
    assert uid is not None and uid != UNKNOWN_SERIES
    (tmp_path / "another").write_bytes(other.replace(uid.encode(), uid[:-1].encode() + b"9"))
    assert _parts(tmp_path, "boxes_0.dcm") == (["boxes_1.dcm"], False)
    assert _parts(tmp_path, "boxes_1.dcm") == (["boxes_0.dcm"], False)


def test_a_header_past_the_bound_is_taken_for_the_series_and_the_parts_stop_at_max_parts(
    tmp_path, monkeypatch
):
    """A file whose series UID lies past :data:`~dqm.slide_refs.MAX_DICOM_ELEMENTS` elements is
    not known: hashed as one of the slide's (none is missed). More files of the series than
    :data:`~dqm.slide_refs.MAX_PARTS`: the first are named, and there are more."""
    _folder(tmp_path)
    monkeypatch.setattr(dqm.slide_refs, "MAX_DICOM_ELEMENTS", 3)
    dqm.slide_refs._SERIES_MEMO.clear()
    assert series_of(str(tmp_path / "other-series")) == UNKNOWN_SERIES
    assert "other-series" in _parts(tmp_path)[0]
    monkeypatch.setattr(dqm.slide_refs, "MAX_DICOM_ELEMENTS", 10_000)
    monkeypatch.setattr(dqm.slide_refs, "MAX_PARTS", 2)
    dqm.slide_refs._SERIES_MEMO.clear()
    assert _parts(tmp_path) == ([".hidden", "explicit"], True)


def test_a_file_beside_that_cannot_be_read_as_dicom_is_skipped_not_waited_on(tmp_path):
    """A FIFO, a folder, a link out of the batch: none is a part and none blocks or raises. A
    truncated header, a nested sequence never closed: DICOM files whose series is not known, so
    parts (hashed: a file more, never one missed)."""
    _folder(tmp_path / "b")
    os.mkfifo(tmp_path / "b" / "fifo")
    (tmp_path / "b" / "folder").mkdir()
    (tmp_path / "outside").write_bytes(dicom(SERIES))
    (tmp_path / "b" / "link").symlink_to(tmp_path / "outside")
    whole = dicom(SERIES)
    (tmp_path / "b" / "truncated").write_bytes(whole[: whole.index(b"\x08\x00\x15\x11") + 20])
    (tmp_path / "b" / "unclosed").write_bytes(whole[:132] + whole[132:].split(b"\xfe\xff\x0d\xe0")[0])
    parts = set(_parts(tmp_path / "b")[0])
    assert parts == {"explicit", "implicit", ".hidden", "truncated", "unclosed"}
    assert series_of(str(tmp_path / "b" / "truncated")) == UNKNOWN_SERIES


def test_each_header_is_read_once_a_run_while_its_stat_stands(tmp_path, monkeypatch):
    """A folder of many slides of many series: listed again for each slide, each file's header
    is read once (not once a slide), and again once rewritten."""
    for k in range(20):
        (tmp_path / f"f{k:02d}.dcm").write_bytes(dicom(f"1.2.{k % 4}"))
    reads: list[str] = []
    real = dqm.slide_refs._series
    monkeypatch.setattr(dqm.slide_refs, "_series", lambda fh, *a: reads.append(fh.name) or real(fh, *a))
    monkeypatch.setattr(dqm.slide_refs, "racy", lambda times, now: False)
    dqm.slide_refs._SERIES_MEMO.clear()
    for k in range(20):
        parts = _parts(tmp_path, f"f{k:02d}.dcm")[0]
        assert parts == [f"f{j:02d}.dcm" for j in range(k % 4, 20, 4) if j != k]
    assert len(reads) == 20
    (tmp_path / "f05.dcm").write_bytes(dicom("1.2.3"))  # rewritten: another size
    assert "f05.dcm" in _parts(tmp_path, "f03.dcm")[0] and len(reads) == 21


def _batch(root: Path) -> Path:
    """A DICOM slide ``s.dcm`` with its annotation, another file of its series ``frames`` (3 MiB:
    its middle outside the quick print; no ``.dcm`` name, so no item of its own) and a file of
    another series ``alien``, as large. Returns ``frames``."""
    from tests.helpers import native_doc

    root.mkdir(parents=True, exist_ok=True)
    (root / "s.json").write_text(json.dumps(native_doc(file="s.dcm", width=16, height=16)))
    (root / "s.dcm").write_bytes(dicom(SERIES))
    (root / "frames").write_bytes(dicom(SERIES, private=3 << 20))
    (root / "alien").write_bytes(dicom("1.2.3", private=3 << 20))
    return root / "frames"


def test_certify_hashes_the_other_files_of_a_dicom_slides_series(tmp_path, profile, checked, monkeypatch):  # noqa: F811
    """A file of the series rewritten in place, its size, modification time and inode kept (a
    file system without change times of its own, where the folder's listing does not change):
    --certify hashed the ``.dcm`` and its annotation alone and served the stale record."""
    monkeypatch.setattr(dqm.cache, "_listing", lambda folder, root: ("blind", 3, False))
    frames = _batch(tmp_path / "b")
    certify = RunOptions(workers=1, clinical=False, certify=True)
    first, _ = audit(tmp_path / "b", profile, tmp_path / "cache", certify)
    (record,) = list(first.outcomes)
    assert set(record.parts) == {"frames"} and set(record.sha256) == {"s.dcm", "s.json", "frames"}
    checked.clear()
    _blank_the_middle_keeping_size_and_times(tmp_path / "b" / "alien")  # another series: no matter
    _, cache = audit(tmp_path / "b", profile, tmp_path / "cache", certify)
    assert checked == [] and cache.hits == 1
    _blank_the_middle_keeping_size_and_times(frames)
    certified, cache = audit(tmp_path / "b", profile, tmp_path / "cache", certify)
    assert checked == ["s"] and cache.unconfirmed == ["s"]
    assert next(iter(certified.outcomes)).sha256["frames"] != record.sha256["frames"]


def test_a_file_of_another_series_rewritten_to_join_the_slides_is_no_cache_hit(
    tmp_path,
    profile,
    checked,  # noqa: F811
    monkeypatch,
):
    """A file of another series rewritten in place to join the slide's, its size, times and
    inode kept, on a file system without change times of its own (the folder's listing of stats
    does not change): the cache served the record of the slide without it (its parts, hashed by
    --certify, did not name it), although OpenSlide now reads its images as the slide's. The key
    now holds the series each file of the folder is of, read from its header: the item is checked
    again and the file is one of its parts."""
    monkeypatch.setattr(dqm.cache, "_listing", lambda folder, root: ("blind", 3, False))
    root = tmp_path / "b"
    _batch(root)
    other = SERIES[:-1] + "7"  # as long as the slide's: the file keeps its size
    alien = root / "alien"
    alien.write_bytes(dicom(other, private=3 << 20))
    certify = RunOptions(workers=1, clinical=False, certify=True)
    first, _ = audit(root, profile, tmp_path / "cache", certify)
    assert set(next(iter(first.outcomes)).parts) == {"frames"}
    checked.clear()
    _join_the_series_keeping_size_and_times(alien, other)
    again, cache = audit(root, profile, tmp_path / "cache", certify)
    assert checked == ["s"] and cache.hits == 0
    assert set(next(iter(again.outcomes)).parts) == {"frames", "alien"}


def _join_the_series_keeping_size_and_times(path: Path, other: str) -> None:
    """``path``, of series ``other`` (as long as :data:`SERIES`), rewritten in place to be of the
    slide's series, its size, modification time and inode kept."""
    st = path.stat()
    with path.open("r+b") as fh:
        fh.write(path.read_bytes().replace(other.encode(), SERIES.encode()))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    now = path.stat()
    assert (now.st_size, now.st_mtime_ns, now.st_ino) == (st.st_size, st.st_mtime_ns, st.st_ino)


def test_results_refuse_a_batch_where_a_file_joined_the_slides_series(tmp_path):
    """The same rewrite under ``--results``: the fingerprint names the slide's parts as they are
    now (each header read again), so the file that joined adds its line and the audit is refused."""
    batch, out = tmp_path / "batch", tmp_path / "out"
    _batch(batch)
    other = SERIES[:-1] + "7"
    (batch / "alien").write_bytes(dicom(other, private=3 << 20))
    got = runner.invoke(app, ["audit", str(batch), "--out", str(out), "-j", "1", "--stages", "syntactic"])
    assert got.exit_code in (0, 1), got.output
    result = load_result(out / "results.json")
    assert refusal(result, out / "results.json", batch, load_profile(None)) is None
    _join_the_series_keeping_size_and_times(batch / "alien", other)
    why = refusal(result, out / "results.json", batch, load_profile(None))
    assert why is not None and "fingerprint differs" in why


def _rewrite_the_end_keeping_size_and_times(path: Path) -> None:
    """A byte of the file's last MiB changed (within the quick print), its times put back."""
    st = path.stat()
    with path.open("r+b") as fh:
        fh.seek(st.st_size - 1000)
        byte = fh.read(1)
        fh.seek(st.st_size - 1000)
        fh.write(bytes([byte[0] ^ 0xFF]))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_results_and_verify_refuse_a_batch_whose_dicom_series_changed(tmp_path):
    """``frames`` rewritten with its size and times kept: ``--results`` accepted the batch and
    ``dqm verify --batch`` verified it (the fingerprint held ``s.dcm`` alone; verify compares
    ``frames`` by its full SHA-256, ``--results`` by its quick print). A file of another series
    rewritten leaves both as they were."""
    batch, out = tmp_path / "batch", tmp_path / "out"
    frames = _batch(batch)
    got = runner.invoke(
        app, ["audit", str(batch), "--out", str(out), "-j", "1", "--stages", "syntactic", "--full-hashes"]
    )
    assert got.exit_code in (0, 1), got.output
    result = load_result(out / "results.json")
    assert {f.path: f.role for f in result.batch.files}["frames"] == "slide_part"
    assert "alien" not in {f.path for f in result.batch.files}
    profile = load_profile(None)
    _rewrite_the_end_keeping_size_and_times(batch / "alien")
    assert refusal(result, out / "results.json", batch, profile) is None
    assert check_batch(result, batch, None).ok
    _blank_the_middle_keeping_size_and_times(frames)
    assert refusal(result, out / "results.json", batch, profile) is None  # the quick print's blind spot
    got = runner.invoke(app, ["verify", str(out), "--batch", str(batch)])
    assert got.exit_code == 1 and "frames" in got.output, got.output
    _rewrite_the_end_keeping_size_and_times(frames)
    assert refusal(result, out / "results.json", batch, profile) is not None


DICOM_1_15 = Path(__file__).parent / "fixtures" / "dicom-1.15" / "results.json"
"""results.json written by dqm at 7893eff (results 1.15, before a DICOM slide's series was
fingerprinted) of :func:`_batch`'s batch: ``dqm audit BATCH --stages syntactic --no-cache -j 1
--full-hashes``. Never regenerated."""


def test_a_dicom_result_written_before_1_16_is_compared_by_the_fingerprint_it_made(tmp_path):
    """A result of 1.15 fingerprinted a DICOM slide by its ``.dcm`` alone: ``--results`` and
    ``dqm verify --batch`` compare it so (this code compared it with ``frames`` too and refused
    the unchanged batch); a file it did fingerprint changed is refused by both."""
    batch, out = tmp_path / "batch", tmp_path / "out"
    _batch(batch)
    out.mkdir()
    shutil.copy(DICOM_1_15, out / "results.json")
    result = load_result(out / "results.json")
    assert result.schema_version == "1.15" and "frames" not in {f.path for f in result.batch.files}
    # the profile the result was audited with (the built-in one has changed since)
    audited_with = load_profile(DICOM_1_15.with_name("profile.yaml"))
    assert refusal(result, out / "results.json", batch, audited_with) is None
    got = runner.invoke(app, ["verify", str(out), "--batch", str(batch)])
    assert got.exit_code == 0 and "VERIFIED" in got.output, got.output
    (batch / "s.dcm").write_bytes(dicom(SERIES, private=256))
    assert refusal(result, out / "results.json", batch, audited_with) is not None
    assert runner.invoke(app, ["verify", str(out), "--batch", str(batch)]).exit_code == 1


def test_each_header_is_read_again_in_another_run(tmp_path, monkeypatch):
    """The series kept by stat are a run's (as :mod:`dqm.file_digests`' digests are): a worker
    that outlives its run, or a program calling dqm on a file system whose change time does not
    move, was served the series read in an earlier run."""
    from dqm.file_digests import in_run

    path = tmp_path / "f.dcm"
    path.write_bytes(dicom(SERIES))
    reads: list[str] = []
    real = dqm.slide_refs._series
    monkeypatch.setattr(dqm.slide_refs, "_series", lambda fh, *a: reads.append(fh.name) or real(fh, *a))
    monkeypatch.setattr(dqm.slide_refs, "racy", lambda times, now: False)
    for run in ("a", "a", "b"):
        with in_run(run):
            assert series_of(str(path), path.stat()) == SERIES
    assert len(reads) == 2


def test_a_slide_that_is_another_slides_part_keeps_its_full_hash(tmp_path):
    """Two DICOM slides of one series, each the other's part, both named by a SHA256SUMS:
    ``t.dcm`` was listed as ``s.dcm``'s part first (role ``slide_part``, no full SHA-256, though
    its own item took one), so ``dqm verify --batch`` passed it blanked in its middle (its quick
    print's blind spot) "by quick print only"."""
    import hashlib

    from tests.helpers import native_doc

    batch, out = tmp_path / "batch", tmp_path / "out"
    batch.mkdir()
    for name in ("s", "t"):
        (batch / f"{name}.json").write_text(json.dumps(native_doc(file=f"{name}.dcm", width=16, height=16)))
        (batch / f"{name}.dcm").write_bytes(dicom(SERIES, private=(3 << 20) + (256 if name == "t" else 0)))
    sums = (f"{hashlib.sha256((batch / f).read_bytes()).hexdigest()}  {f}\n" for f in ("s.dcm", "t.dcm"))
    (batch / "SHA256SUMS").write_text("".join(sums))
    got = runner.invoke(app, ["audit", str(batch), "--out", str(out), "-j", "1", "--stages", "syntactic"])
    assert got.exit_code in (0, 1), got.output
    rows = {f.path: (f.role, f.sha256 is not None) for f in load_result(out / "results.json").batch.files}
    assert rows["s.dcm"] == rows["t.dcm"] == ("slide", True)
    _blank_the_middle_keeping_size_and_times(batch / "t.dcm")
    got = runner.invoke(app, ["verify", str(out), "--batch", str(batch)])
    assert got.exit_code == 1 and "t.dcm" in got.output, got.output


def test_the_real_dicom_slides_keep_their_role_slide(real_data, tmp_path):
    """The real ``boxes_0.dcm`` and ``boxes_1.dcm`` (one series), each an item: both are listed
    as slides, as before their series was named (``boxes_1.dcm`` was ``boxes_0.dcm``'s part)."""
    from tests.helpers import native_doc

    batch, out = tmp_path / "batch", tmp_path / "out"
    batch.mkdir()
    for name in ("boxes_0", "boxes_1"):
        shutil.copy(real_data / "slides" / f"{name}.dcm", batch)
        (batch / f"{name}.json").write_text(json.dumps(native_doc(file=f"{name}.dcm", width=16, height=16)))
    got = runner.invoke(app, ["audit", str(batch), "--out", str(out), "-j", "1", "--stages", "syntactic"])
    assert got.exit_code in (0, 1), got.output
    roles = {f.path: f.role for f in load_result(out / "results.json").batch.files}
    assert roles == {
        f"boxes_{k}.{ext}": role for k in (0, 1) for ext, role in (("dcm", "slide"), ("json", "annotation"))
    }


def test_a_slide_listed_without_its_full_hash_takes_the_one_its_part_row_holds():
    """``t.dcm``'s own record holds its quick print alone and ``s.dcm``'s record hashed it whole
    as its part: the row stays ``t.dcm``'s slide row, with that full SHA-256 (the first record
    that has one)."""
    from types import SimpleNamespace

    from dqm.audit import file_digests

    full = "ab" * 32
    columns = {"annotation_path": [None, None], "image_path": ["s.dcm", "t.dcm"]}
    outcomes = SimpleNamespace(
        summaries=lambda: SimpleNamespace(column=columns.__getitem__),
        annotation_sha256s=lambda: [None, None],
        fingerprints=lambda: ["q-s", "q-t"],
        full_hashes_of=lambda k: [{"s.dcm": "cd" * 32, "t.dcm": full}, {}][k],
        stat_of=lambda k, rel: None,
        parts_of=lambda k: [{"t.dcm": "q-t"}, {"s.dcm": "q-s"}][k],
    )
    run = SimpleNamespace(outcomes=_Sized(outcomes, 2), discovery=SimpleNamespace(manifest=None))
    rows = [(f.path, f.role, f.sha256, f.quick_print) for f in file_digests(run)]  # type: ignore[arg-type]
    assert rows == [("s.dcm", "slide", "cd" * 32, "q-s"), ("t.dcm", "slide", full, "q-t")]


class _Sized:
    """``outcomes`` with a length (a namespace has none)."""

    def __init__(self, outcomes: object, n: int) -> None:
        self._outcomes, self._n = outcomes, n

    def __len__(self) -> int:
        return self._n

    def __getattr__(self, name: str) -> object:
        return getattr(self._outcomes, name)


def test_a_file_that_joined_is_named_before_one_pushed_off_the_listing(tmp_path, monkeypatch):
    """Past :data:`~dqm.slide_refs.MAX_PARTS` a file joining a slide's files pushes another off the
    listing's end: both differ from what was listed, and the message names the one that joined,
    not the one that never left (review of slidefix; the symmetric difference's first name was
    ``b2.dcm`` here)."""
    import dqm.slide_io as slide_io

    monkeypatch.setattr(slide_io, "slide_parts", lambda *args, **kw: (["a1.dcm", "c3.dcm"], None))
    taken = slide_io.Taken(own=[0, 0, 0, 0], listed=["a1.dcm", "b2.dcm"], parts={})
    why = slide_io._changed_while_read("s.dcm", tmp_path / "s.dcm", None, tmp_path, taken, None)
    assert why is not None and str(why).startswith("c3.dcm joined or left")
