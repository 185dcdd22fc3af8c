"""A Trestle slide's macro image: OpenSlide opens ``X.Full`` beside ``X.tif`` (the slide's name up to
its last dot, then ``.Full``) when it is given the slide by that name, as validity's reader and the
review server give it; :func:`dqm.slide_refs.refused_reference` refuses the slide when that file is
a FIFO (OpenSlide's ``fopen`` waited for ever) or leads out of the batch."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from dqm.slide_io import probe_slide
from dqm.slide_refs import _tiff_software, not_to_open, refused_reference, slide_parts

PIXELS = np.random.default_rng(0).integers(0, 255, (512, 512, 3), dtype=np.uint8)


def _trestle(
    path: Path, software: str | bool = "MedScan", bigtiff: bool = False, extratags: list | None = None
) -> Path:
    """A tiled TIFF OpenSlide reads as Trestle (``software`` MedScan), with its macro ``.Full``;
    ``software`` False: no ``Software`` tag but those of ``extratags``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(
        path,
        PIXELS,
        tile=(256, 256),
        photometric="rgb",
        software=software,
        description="Objective Power=20;Background Color=FFFFFF;OverlapsXY=0 0",
        bigtiff=bigtiff,
        extratags=extratags or [],
    )
    macro = path.with_suffix(".Full")
    Image.fromarray(PIXELS[:100, :200]).save(macro, format="JPEG")
    return macro


def test_the_macro_is_a_part_of_a_trestle_slide(tmp_path):
    """The probe opens a Trestle slide by its name (through a descriptor OpenSlide finds no file
    named after it), so its macro is among the record's associated images: the macro is one of
    the files the slide's answers depend on, named by slide_parts (before: none). A TIFF of
    another software has none; results before 1.16 fingerprint none."""
    _trestle(tmp_path / "b" / "t.tif")
    probe = probe_slide(tmp_path / "b" / "t.tif", "t.tif")
    assert probe.opened and probe.vendor == "trestle" and "macro" in probe.associated_images
    assert slide_parts(str(tmp_path / "b" / "t.tif"), 1, tmp_path / "b") == (["t.Full"], False)
    assert slide_parts(str(tmp_path / "b" / "t.tif"), 1, tmp_path / "b", False) == ([], False)
    _trestle(tmp_path / "c" / "t.tif", software="Aperio")
    assert slide_parts(str(tmp_path / "c" / "t.tif"), 1, tmp_path / "c") == ([], False)


@pytest.mark.parametrize("bigtiff", [False, True])
def test_a_fifo_or_a_link_out_as_the_macro_refuses_a_trestle_slide(tmp_path, bigtiff):
    root = tmp_path / "b"
    macro = _trestle(root / "sub.d" / "t.tif", bigtiff=bigtiff)
    with open(root / "sub.d" / "t.tif", "rb") as fh:
        assert _tiff_software(fh).startswith(b"MedScan")
    assert refused_reference(root / "sub.d" / "t.tif", root) is None  # a regular file: opened
    macro.unlink()
    os.mkfifo(macro)
    why = not_to_open(root / "sub.d" / "t.tif", root)
    assert why is not None and "t.Full" in why and "FIFO" in why and "Trestle" in why
    macro.unlink()
    (tmp_path / "outside.jpg").write_bytes(b"\xff\xd8")
    macro.symlink_to(tmp_path / "outside.jpg")
    why = refused_reference(root / "sub.d" / "t.tif", root)
    assert why is not None and "outside the batch" in why


def test_the_macro_is_named_after_the_last_dot_of_the_whole_name(tmp_path):
    """``get_associated_path`` cuts the whole name at its last dot: a slide with no extension in
    a folder ``a.b`` has its macro at ``a.Full``, outside that folder."""
    root = tmp_path / "b"
    _trestle(root / "a.b" / "t.tif")
    os.replace(root / "a.b" / "t.tif", root / "a.b" / "t")
    os.mkfifo(root / "a.Full")
    why = refused_reference(root / "a.b" / "t", root)
    assert why is not None and "a.Full" in why


def test_a_tiff_slide_without_an_extension_in_a_dotted_folder_is_not_refused(tmp_path):
    """The macro name of a slide ``run.2024/slide`` is ``run.Full``, above the batch: with
    nothing there OpenSlide would only fail to open it, and an ordinary TIFF slide was refused
    ("it resolves outside the batch folder") since every TIFF's macro name is looked at (review
    of the fix round). Something there, a FIFO, still refuses a Trestle slide."""
    root = tmp_path / "b"
    for software in ("Aperio", "MedScan"):
        slide = root / "run.2024" / f"slide-{software}"
        _trestle(slide.with_suffix(".tif"), software=software)
        os.replace(slide.with_suffix(".tif"), slide)
        assert refused_reference(slide, root) is None
        assert (
            refused_reference(slide, root / "run.2024") is None
        )  # run.Full outside this batch: nothing there


def _software_kind(path: Path, kind: int) -> None:
    """The TIFF type of the ``Software`` tag of ``path``'s first directory set to ``kind``."""
    data = bytearray(path.read_bytes())
    (offset,) = struct.unpack_from("<I", data, 4)
    for k in range(struct.unpack_from("<H", data, offset)[0]):
        at = offset + 2 + 12 * k
        if struct.unpack_from("<H", data, at)[0] == 305:
            struct.pack_into("<H", data, at + 2, kind)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("kind", [1, 7])
def test_a_software_tag_of_bytes_is_read_as_libtiff_reads_it(tmp_path, kind):
    """libtiff reads a ``Software`` tag of type BYTE (1) or UNDEFINED (7) as its text, so
    OpenSlide reads the slide as Trestle and opens ``t.Full``: dqm read ASCII (2) alone, so a
    FIFO there was not refused (OpenSlide waited on it for ever) and the macro was no part."""
    openslide = pytest.importorskip("openslide")
    root = tmp_path / "b"
    macro = _trestle(root / "t.tif")
    _software_kind(root / "t.tif", kind)
    assert openslide.OpenSlide.detect_format(str(root / "t.tif")) == "trestle"
    assert slide_parts(str(root / "t.tif"), 1, root) == (["t.Full"], False)
    macro.unlink()
    os.mkfifo(macro)
    why = not_to_open(root / "t.tif", root)
    assert why is not None and "t.Full" in why and "FIFO" in why


def _software_entries(path: Path, *entries: tuple[int, list[int]]) -> None:
    """:func:`_trestle` at ``path`` whose first directory has a ``Software`` tag for each
    ``(type, values)`` of ``entries``, in that order (a tag given twice, as tifffile never writes it)."""
    codes = {1: "B", 2: "B", 3: "H", 4: "I", 6: "b", 7: "B"}
    extra = [(65000 + k, codes[kind], len(values), values, True) for k, (kind, values) in enumerate(entries)]
    _trestle(path, software=False, extratags=extra)
    data = bytearray(path.read_bytes())
    (offset,) = struct.unpack_from("<I", data, 4)
    for k in range(struct.unpack_from("<H", data, offset)[0]):
        at = offset + 2 + 12 * k
        tag = struct.unpack_from("<H", data, at)[0]
        if 65000 <= tag < 65000 + len(entries):
            struct.pack_into("<HH", data, at, 305, entries[tag - 65000][0])
    path.write_bytes(bytes(data))


MEDSCAN = list(b"MedScan\0")


@pytest.mark.parametrize(
    ("entries", "trestle"),
    [
        (((2, list(b"Aperio\0")), (2, MEDSCAN)), True),  # the last one counts
        (((2, MEDSCAN), (2, list(b"Aperio\0"))), False),
        (((2, list(b"Aperio\0")), (1, MEDSCAN)), True),
        (((2, MEDSCAN), (3, MEDSCAN)), False),  # the last one is no text to OpenSlide
        (((3, MEDSCAN),), False),  # SHORT, LONG, SBYTE: libtiff's text, not OpenSlide's test's
        (((4, MEDSCAN),), False),
        (((6, MEDSCAN),), False),
    ],
)
def test_the_software_tag_is_read_as_openslides_trestle_test_reads_it(tmp_path, entries, trestle):
    """OpenSlide tells a Trestle slide by its own TIFF reader, which keeps the last of a tag given
    twice and reads ASCII, BYTE and UNDEFINED as text, nothing else: dqm read the first
    ``Software`` tag of a text type, so a slide of ``Aperio`` then ``MedScan`` (Trestle to
    OpenSlide, which opens ``t.Full``) had no macro among its parts (not hashed by --certify, not
    in the --results fingerprint), and one of SBYTE ``MedScan`` (a generic TIFF) had one. Whether
    it is Trestle is OpenSlide's own ``detect_format``'s answer."""
    openslide = pytest.importorskip("openslide")
    root = tmp_path / "b"
    root.mkdir()
    _software_entries(root / "t.tif", *entries)
    detected = openslide.OpenSlide.detect_format(str(root / "t.tif"))
    assert (detected == "trestle") is trestle, detected
    assert slide_parts(str(root / "t.tif"), 1, root) == ((["t.Full"] if trestle else []), False)


def test_a_fifo_named_as_the_macro_refuses_any_tiff_slide(tmp_path):
    """Whatever its ``Software`` tag says (what libtiff reads as it need not be what dqm reads),
    a TIFF slide beside a FIFO ``t.Full`` is refused: a stat. A TIFF of another software names no
    macro among its parts."""
    root = tmp_path / "b"
    macro = _trestle(root / "t.tif", software="Aperio")
    assert refused_reference(root / "t.tif", root) is None
    assert slide_parts(str(root / "t.tif"), 1, root) == ([], False)
    macro.unlink()
    os.mkfifo(macro)
    why = refused_reference(root / "t.tif", root)
    assert why is not None and "t.Full" in why


def test_the_probe_and_validitys_reader_refuse_the_slide_instead_of_waiting_on_the_macro(tmp_path):
    """The audit's probe and validity's :class:`~dqm.validity.data.SlideReader` give OpenSlide a
    Trestle slide's name: with a FIFO as ``t.Full`` both waited for ever (run here in a process of
    their own, stopped after 120 s); now the slide is refused before OpenSlide sees it."""
    pytest.importorskip("openslide")
    root = tmp_path / "b"
    macro = _trestle(root / "t.tif")
    macro.unlink()
    os.mkfifo(macro)
    code = (
        "import sys\nfrom pathlib import Path\nfrom dqm.validity.data import SlideReader, SlideRefused\n"
        f"reader = SlideReader(Path({str(root / 't.tif')!r}), root=Path({str(root)!r}))\n"
        "try:\n    reader.read(0, 0, 4, 4, 1.0)\nexcept SlideRefused as exc:\n    print('refused:', exc)\n"
        "from dqm.slide_io import probe_slide\n"
        f"probe = probe_slide(Path({str(root / 't.tif')!r}), 't.tif')\n"
        "print('probe:', probe.opened, probe.reference_refused, probe.open_error)\n"
    )
    root_of_dqm = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root_of_dqm)}
    try:
        got = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=root_of_dqm,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("validity's reader waited on the FIFO beside the Trestle slide")
    assert got.returncode == 0 and "refused:" in got.stdout and "t.Full" in got.stdout, got.stderr
    assert "probe: False True a file beside the slide, t.Full" in got.stdout


def test_results_and_verify_refuse_a_batch_whose_trestle_macro_changed(tmp_path):
    """The macro rewritten with its size and times kept: the fingerprint held ``t.tif`` alone, so
    ``--results`` accepted the batch, whose record's macro (its size among the associated images)
    was another's."""
    import json

    from typer.testing import CliRunner

    from dqm.cli import app
    from dqm.profile import load_profile
    from dqm.results import load_result
    from dqm.reuse import refusal
    from tests.helpers import native_doc
    from tests.test_dicom_parts import _rewrite_the_end_keeping_size_and_times

    batch, out = tmp_path / "batch", tmp_path / "out"
    macro = _trestle(batch / "t.tif")
    (batch / "t.json").write_text(json.dumps(native_doc(file="t.tif", width=512, height=512)))
    args = ["audit", str(batch), "--out", str(out), "-j", "1", "--stages", "syntactic", "--full-hashes"]
    got = CliRunner().invoke(app, args)
    assert got.exit_code in (0, 1), got.output
    result = load_result(out / "results.json")
    assert {f.path: f.role for f in result.batch.files}["t.Full"] == "slide_part"
    assert refusal(result, out / "results.json", batch, load_profile(None)) is None
    _rewrite_the_end_keeping_size_and_times(macro)
    assert refusal(result, out / "results.json", batch, load_profile(None)) is not None
    got = CliRunner().invoke(app, ["verify", str(out), "--batch", str(batch)])
    assert got.exit_code == 1 and "t.Full" in got.output, got.output
