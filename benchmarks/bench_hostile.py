"""Hostile inputs: what each costs dqm (time, peak memory) and what it makes of it.

    .venv/bin/python benchmarks/bench_hostile.py [--only NAME,...] [--big] [--timeout 120]

Each case is a copy of a small clean synthetic batch with one hostile change (a number of
thousands of digits, nesting a thousand deep, a symlink out of the batch, a FIFO, an RLE that
expands to gigapixels, identifiers planted in a field, ...). ``dqm audit`` runs on it in a fresh
process; the table says its exit code, whether every output was written, the finding codes the
case was meant to produce, wall time, the process's peak RSS, whether the batch was modified, and
whether a planted identifier or a piece of a file outside the batch reached any output.

Targets (issue 12): every case <= 10 s and <= 1 GiB, exit 0/1/3 with every output written, batch
unchanged, nothing leaked. ``--big`` adds the 25M-vertex polygon (about 350 MB on disk) three
ways: audited with the default limits (the outline is over ``vertices_per_lesion``: counted, not
converted), refused by a lowered ``annotation_bytes`` (the refusal must be cheap), and parsed
alone with both limits raised (``parse_annotation``: the vertices into numpy; a file over 100 MB
must stay within 4x its size in memory). ``x_size`` is peak RSS over the annotation file's size.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

WORK = Path(os.environ.get("DQM_BENCH_WORK", "/tmp/dqm-bench-hostile"))
OUTSIDE_SECRET = "OUTSIDE-THE-BATCH-7f3a9c"
"""Text of a file outside the batch that a symlink points to: it must reach no output."""
RRN = "900101-1234567"
EMAIL = "kim.minsu@hospital.example"
PHONE = "010-2345-6789"
PLANTED = (RRN, EMAIL, PHONE)
OUTPUTS = ("results.json", "report.html", "junit.xml", "summary.md")
HIDDEN = {"\u202e": "U+202E", "\u2066": "U+2066", "\u200b": "U+200B", "\U000e0001": "U+E0001"}
"""Characters that change how a name displays (a right-to-left override, an isolate, a zero-width
space): no output a person reads may hold one raw (results.json is data: it keeps the true names)."""


@dataclass
class Case:
    name: str
    what: str
    make: Callable[[Path], None]
    big: bool = False
    limits: dict[str, int] | None = None
    """The profile's ``limits:`` for this case (None: the default profile)."""
    patterns: str = ""
    """YAML the case adds to the profile's ``deid.patterns`` (empty: none)."""
    parse_only: bool = False
    """Time ``parse_annotation`` of the first annotation alone, in a fresh process, not an audit."""


def _ann(batch: Path, k: int = 1) -> Path:
    return batch / "annotations" / f"S{k:05d}.json"


def _edit(batch: Path, fn: Callable[[dict], object], k: int = 1) -> None:
    path = _ann(batch, k)
    doc = json.loads(path.read_text())
    fn(doc)
    path.write_text(json.dumps(doc))


def _text(batch: Path, k: int = 1) -> str:
    """The annotation's JSON with the standard separators, for textual edits."""
    return json.dumps(json.loads(_ann(batch, k).read_text()))


def _raw(batch: Path, text: str, k: int = 1) -> None:
    _ann(batch, k).write_text(text)


def _nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


def _lesion(cls: str, x: float, y: float, side: float = 4.0) -> dict:
    ring = [[x, y], [x + side, y], [x + side, y + side], [x, y + side], [x, y]]
    return {"id": 0, "class": cls, "geometry": {"type": "Polygon", "coordinates": [ring]}}


def _many_lesions(n: int) -> Callable[[Path], None]:
    def make(batch: Path) -> None:
        def fn(doc: dict) -> None:
            w, h = doc["slide"]["width"], doc["slide"]["height"]
            per_row = max(1, int((w - 10) // 6))
            lesions = [
                _lesion("bcc", 2 + 6 * (i % per_row) % (w - 8), 2 + (i // per_row) % (h - 8), 3)
                for i in range(n)
            ]
            for i, les in enumerate(lesions):
                les["id"] = i + 1
            doc["lesions"] = lesions

        _edit(batch, fn)

    return make


def _unknown_key_a_lesion(n: int) -> Callable[[Path], None]:
    """``n`` lesions, each with one unknown key: past the cap, the reader's count is one issue a
    code with a tally by lesion (it was one issue a lesion, each with its message and name)."""

    def make(batch: Path) -> None:
        def fn(doc: dict) -> None:
            lesions = [_lesion("bcc", 2 + (i % 50), 2 + (i // 50) % 50, 3) for i in range(n)]
            for i, les in enumerate(lesions):
                les["id"] = i + 1
                les["zz"] = 1
            doc["lesions"] = lesions

        _edit(batch, fn)

    return make


def _huge_polygon(n: int) -> Callable[[Path], None]:
    def make(batch: Path) -> None:
        kept = WORK / f"polygon-{n}.json"  # written once, copied for each case that needs it
        if not kept.is_file():
            _write_polygon(_ann(batch), n)
            shutil.copyfile(_ann(batch), kept)
        shutil.copyfile(kept, _ann(batch))

    return make


def _write_polygon(path: Path, n: int) -> None:
    doc = json.loads(path.read_text())
    del doc["lesions"]  # written last, vertex by vertex
    head = (
        json.dumps(doc)[:-1]
        + ', "lesions": [{"id": 1, "class": "bcc", "geometry": {"type": "Polygon", "coordinates": [['
    )
    with path.open("w") as fh:
        fh.write(head)
        step = 256
        for start in range(0, n, step):
            fh.write(
                ",".join(
                    f"[{(i % 400) + 0.5},{(i // 400) % 300 + 0.5}]"
                    for i in range(start, min(n, start + step))
                )
            )
            fh.write("," if start + step < n else "")
        fh.write("]]}}]}")


def _outline(points: Callable[[float, float], list[list[float]]]) -> Callable[[Path], None]:
    """The first annotation's first lesion replaced by one Polygon of ``points(width, height)``."""

    def fn(doc: dict) -> None:
        ring = points(doc["slide"]["width"], doc["slide"]["height"])
        doc["lesions"][0]["geometry"] = {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}

    return lambda batch: _edit(batch, fn)


def _zigzag(n: int) -> Callable[[float, float], list[list[float]]]:
    """``n`` vertices whose every edge but two crosses every row of the slide."""

    def points(w: float, h: float) -> list[list[float]]:
        top = [[1 + (w - 2) * k / (n - 1), 1.0 if k % 2 == 0 else h - 1.0] for k in range(n)]
        return [*top, [w - 1.0, h - 0.5], [1.0, h - 0.5]]

    return points


def _star(n: int) -> Callable[[float, float], list[list[float]]]:
    """A star polygon of ``n`` (odd) vertices: every edge crosses most of the others."""

    def points(w: float, h: float) -> list[list[float]]:
        r = min(w, h) / 2 - 1
        turn = math.pi * (n - 1) / n
        return [[w / 2 + r * math.cos(k * turn), h / 2 + r * math.sin(k * turn)] for k in range(n)]

    return points


def _symlink_out(batch: Path) -> None:
    secret = WORK / "outside.json"
    secret.write_text(
        json.dumps(
            {"format": "dqm.annotation/1", "note": OUTSIDE_SECRET, "lesions": [{"class": OUTSIDE_SECRET}]}
        )
    )
    _ann(batch).unlink()
    _ann(batch).symlink_to(secret)


def _symlink_dir_out(batch: Path) -> None:
    outside = WORK / "outside-dir"
    outside.mkdir(exist_ok=True)
    (outside / "leak.json").write_text(json.dumps({"lesions": [{"class": OUTSIDE_SECRET}]}))
    (batch / "extra").symlink_to(outside, target_is_directory=True)


def _fifo(batch: Path) -> None:
    _ann(batch).unlink()
    os.mkfifo(_ann(batch))


def _hidden_folder(batch: Path) -> None:
    """The first slide's files moved into ``.old/`` and its manifest row dropped: skipped without
    a word before (the batch read as one slide smaller); a FILE_NOT_READ warning now."""
    lines = (batch / "manifest.csv").read_text().splitlines()
    (batch / ".old").mkdir()
    for rel in lines[1].split(",")[1:3]:
        (batch / rel).rename(batch / ".old" / Path(rel).name)
    (batch / "manifest.csv").write_text("\n".join([lines[0], *lines[2:]]) + "\n")


def _manifest_fifo(batch: Path) -> None:
    (batch / "manifest.csv").unlink()
    os.mkfifo(batch / "manifest.csv")


def _manifest_dir(batch: Path) -> None:
    (batch / "manifest.csv").unlink()
    (batch / "manifest.csv").mkdir()


def _manifest_bad_bytes(batch: Path) -> None:
    (batch / "manifest.csv").write_bytes(b"\xff\xfe\x00" + os.urandom(64))


def _utf16(batch: Path) -> None:
    _ann(batch).write_bytes(_text(batch).encode("utf-16"))


def _dup_keys(batch: Path) -> None:
    text = _text(batch)
    _raw(
        batch,
        text.replace('"format": "dqm.annotation/1"', '"format": "dqm.annotation/1", "format": "evil"', 1),
    )


def _dup_keys_5000(batch: Path) -> None:
    """The first lesion repeating 5,000 distinct keys (about 100 KB): each key's name was worked
    out by building its object's names again (parse alone: 36 s of CPU, quadratic; now 0.06 s)."""
    keys = ", ".join(f'"k{i}": 1, "k{i}": 2' for i in range(5000))
    text = _text(batch)
    assert '"lesions": [{' in text
    _raw(batch, text.replace('"lesions": [{', '"lesions": [{' + keys + ", ", 1))


def _nfkc_key(batch: Path) -> None:
    """The first lesion's properties holding one key of 2M U+FDFA (6 MB), which NFKC grows 18
    times: every fold of the key was matched again, outside the budget of text searched (20M:
    179 s, 2.3 GB). A key is folded no longer than it is now."""
    _edit(
        batch, lambda ann: ann["lesions"][0].setdefault("properties", {}).update({"\ufdfa" * 2_000_000: "x"})
    )


def _coco_rle_bomb(batch: Path) -> None:
    doc = {
        "images": [{"id": 1, "file_name": "S00001.tiff", "width": 200000, "height": 200000}],
        "categories": [{"id": 1, "name": "bcc"}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "segmentation": {"size": [200000, 200000], "counts": [0, 40000000000]},
            }
        ],
    }
    _raw(batch, json.dumps(doc))


def _deid_digits(batch: Path) -> None:
    def fn(doc: dict) -> None:
        for les in doc["lesions"]:
            les["properties"] = {f"p{i}": "1" * 5000 for i in range(100)}

    _edit(batch, fn)


def _long_class(batch: Path) -> None:
    def fn(doc: dict) -> None:
        doc["lesions"][0]["class"] = "x" * 50_000_000

    _edit(batch, fn)


TIB = 1 << 40


def _listed_sparse(slide: bool) -> Callable[[Path], None]:
    """A terabyte of holes listed in ``SHA256SUMS`` (``truncate -s 1T``): a file of its own, or the
    first slide with the holes after its data (an interrupted copy); every other file listed with
    its real hash. Read whole, either would take hours."""

    def make(batch: Path) -> None:
        if slide:
            target = sorted((batch / "slides").iterdir())[0]
        else:
            target = batch / "extra.bin"
            target.touch()
        os.truncate(target, TIB)
        lines = [
            f"{'0' * 64 if p == target else _file_sha(p)}  {p.relative_to(batch).as_posix()}"
            for p in sorted(batch.rglob("*"))
            if p.is_file() and p.name not in ("README.md", "truth.csv")
        ]
        (batch / "SHA256SUMS").write_text("\n".join(lines) + "\n")

    return make


def _file_sha(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _plant(field: str) -> Callable[[Path], None]:
    """An identifier in one field of the batch; it must be masked wherever dqm writes it."""

    def make(batch: Path) -> None:
        manifest = batch / "manifest.csv"
        lines = manifest.read_text().splitlines()
        header = lines[0].split(",")
        row = lines[1].split(",")
        if field == "manifest_cell":
            row[header.index("site")] = f"{RRN}"
        elif field == "slide_id":
            row[header.index("slide_id")] = f"S{RRN}"
        elif field == "file_name":
            src = batch / row[header.index("annotation_path")]
            dst = src.with_name(f"{RRN}.json")
            src.rename(dst)
            row[header.index("annotation_path")] = f"annotations/{dst.name}"
        elif field == "class_name":
            _edit(batch, lambda d: d["lesions"][0].__setitem__("class", f"bcc {EMAIL}"))
        elif field == "json_key":
            _edit(batch, lambda d: d["lesions"][0].setdefault("properties", {}).__setitem__(PHONE, "x"))
        elif field == "clinical_value":
            row[header.index("scanner")] = f"call {PHONE}"
        lines[1] = ",".join(row)
        manifest.write_text("\n".join(lines) + "\n")

    return make


def _bidi_names(batch: Path) -> None:
    """A slide id that displays reversed (``evil\\u202egpj`` shows as ``evilgpj`` backwards, with an
    RRN after a language tag, U+E0001, that outputs show as ``\\U000e0001``: it must still be
    masked), a file name with an isolate, a class name with a zero-width space."""
    manifest = batch / "manifest.csv"
    lines = manifest.read_text().splitlines()
    header = lines[0].split(",")
    row = lines[1].split(",")
    row[header.index("slide_id")] = f"evil\u202egpj\U000e0001{RRN}"
    src = batch / row[header.index("annotation_path")]
    dst = src.with_name("S\u20661.json")
    src.rename(dst)
    row[header.index("annotation_path")] = f"annotations/{dst.name}"
    lines[1] = ",".join(row)
    manifest.write_text("\n".join(lines) + "\n")
    doc = json.loads(dst.read_text())
    doc["lesions"][0]["class"] = "B\u200bCC"
    dst.write_text(json.dumps(doc))


def _swap_first(batch: Path, column: str, name: str, data: bytes) -> None:
    """The first row's file in ``column`` (``image_path`` or ``annotation_path``) replaced by
    ``data`` under a new ``name`` in the same folder."""
    manifest = batch / "manifest.csv"
    lines = manifest.read_text().splitlines()
    header = lines[0].split(",")
    row = lines[1].split(",")
    old = batch / row[header.index(column)]
    old.unlink()
    (old.parent / name).write_bytes(data)
    row[header.index(column)] = f"{old.parent.name}/{name}"
    lines[1] = ",".join(row)
    manifest.write_text("\n".join(lines) + "\n")


def _png(width: int, height: int, colour: int = 2, samples: int = 3) -> bytes:
    """A PNG of zeros: about a kilobyte for each megabyte of pixels."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    pack, piece = zlib.compressobj(9), bytes(1 << 22)
    left, parts = height * (1 + samples * width), []  # every row: filter 0, then zeros
    while left:
        parts.append(pack.compress(piece[: min(left, len(piece))]))
        left -= min(left, len(piece))
    idat = b"".join(parts) + pack.flush()
    head = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _checker_mask(batch: Path) -> None:
    import io

    import numpy as np
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray((np.indices((4000, 4000)).sum(0) % 2).astype(np.uint8)).save(buf, "PNG")
    _swap_first(batch, "annotation_path", "S00001.png", buf.getvalue())


def _noise_mask(batch: Path) -> None:
    import io

    import numpy as np
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 65536, (2048, 2048), dtype=np.uint16)).save(
        buf, "PNG"
    )
    _swap_first(batch, "annotation_path", "S00001.png", buf.getvalue())


def _float_mask(batch: Path) -> None:
    """A float32 TIFF mask holding NaN, infinity and a fraction."""
    import io

    import numpy as np
    import tifffile

    labels = np.zeros((400, 400), np.float32)
    labels[50:150, 50:150], labels[200:300, 200:300], labels[:10, :10] = np.nan, np.inf, 1.5
    buf = io.BytesIO()
    tifffile.imwrite(buf, labels, metadata=None)
    _swap_first(batch, "annotation_path", "S00001.tiff", buf.getvalue())


def _rle_checker(batch: Path) -> None:
    """A COCO RLE at the run cap: 500,000 one-pixel regions down an odd-height mask."""
    h, w = 1001, 999
    doc = {
        "images": [{"id": 1, "file_name": "S00001.tiff", "width": w, "height": h}],
        "categories": [{"id": 1, "name": "bcc"}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "segmentation": {"size": [h, w], "counts": [1] * (h * w)},
            }
        ],
    }
    _raw(batch, json.dumps(doc))


def _coco_repeated(batch: Path) -> None:
    """100,000 image entries naming the first slide, its one lesion on the last of them."""
    n = 100_000
    doc = {
        "images": [{"id": k, "file_name": "S00001.tiff", "width": 397, "height": 348} for k in range(n)],
        "categories": [{"id": 1, "name": "bcc"}],
        "annotations": [
            {"id": 1, "image_id": n - 1, "category_id": 1, "segmentation": [[10, 10, 60, 10, 60, 60, 10, 60]]}
        ],
    }
    _raw(batch, json.dumps(doc))


def _coco_interleaved(batch: Path, files: int = 5, rows: int = 3000) -> None:
    """``rows`` manifest rows for absent slides, their lesions in ``files`` COCO files (120 KB each
    at 3,000 rows), the rows of the files interleaved (sorted by slide id, the files by
    institution)."""
    docs: list[dict] = [
        {"images": [], "annotations": [], "categories": [{"id": 1, "name": "bcc"}]} for _ in range(files)
    ]
    lines = []
    for i in range(rows):
        doc, x = docs[i % files], 10 + i % 300
        doc["images"].append({"id": i, "file_name": f"X{i:05d}.tiff", "width": 397, "height": 348})
        seg = [[x, 10, x + 30, 10, x + 30, 40, x, 40]]
        doc["annotations"].append({"id": i, "image_id": i, "category_id": 1, "segmentation": seg})
        lines.append(
            f"X{i:05d},slides/X{i:05d}.tiff,annotations/coco{i % files}.json,Seoul-A,BCC,50,F,trunk,"
            f"P{i:06d},Aperio GT450,H&E,2022-01-01\n"
        )
    for f, doc in enumerate(docs):
        (batch / "annotations" / f"coco{f}.json").write_text(json.dumps(doc))
    with (batch / "manifest.csv").open("a") as fh:
        fh.write("".join(lines))


def _tiny_features(megabytes: int) -> Callable[[Path], None]:
    """A GeoJSON FeatureCollection of ``megabytes`` of tiny features, written a piece at a time."""

    def make(batch: Path) -> None:
        feature = (
            b'{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[3,0],[3,3],[0,0]]]},'
            b'"properties":{"classification":{"name":"BCC"}}}'
        )
        n = megabytes * 2**20 // (len(feature) + 1)
        with _ann(batch).open("wb") as fh:
            fh.write(b'{"type":"FeatureCollection","features":[' + feature)
            for _ in range(n // 10_000):
                fh.write((b"," + feature) * 10_000)
            fh.write(b"]}")

    return make


def _xxe(batch: Path) -> None:
    """An ASAP file whose class is an external entity: the file outside the batch."""
    secret = WORK / "outside.txt"
    secret.write_text(OUTSIDE_SECRET)
    xml = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<ASAP_Annotations><Annotations><Annotation Name="a" PartOfGroup="&x;" Type="Polygon"><Coordinates>'
        '<Coordinate Order="0" X="10" Y="10"/><Coordinate Order="1" X="60" Y="10"/>'
        '<Coordinate Order="2" X="60" Y="60"/></Coordinates></Annotation></Annotations></ASAP_Annotations>'
    )
    _swap_first(batch, "annotation_path", "S00001.xml", xml.encode())


def _label_page(batch: Path) -> None:
    """The first slide as a TIFF whose label page (its second IFD) describes itself with an RRN."""
    import io

    import numpy as np
    import tifffile

    buf = io.BytesIO()
    with tifffile.TiffWriter(buf) as tw:
        tw.write(np.full((512, 512, 3), 200, np.uint8), tile=(256, 256), metadata=None)
        tw.write(np.zeros((64, 96, 3), np.uint8), description=f"label 96x64\nRRN {RRN}", metadata=None)
    _swap_first(batch, "image_path", "S00001.tiff", buf.getvalue())


def _tiff_tag(tag: int, kind: int, count: int) -> Callable[[Path], None]:
    """The first slide as a small TIFF whose tag ``tag`` (type ``kind``: 3 SHORT, 4 LONG) declares
    ``count`` values, held by holes at the file's end (a 16 KB file of 512 MiB): libtiff reads them
    whole (a ``Software`` of SHORTs as text, an unknown tag too)."""

    def make(batch: Path) -> None:
        import io
        import struct

        import numpy as np
        import tifffile

        buf = io.BytesIO()
        tifffile.imwrite(
            buf, np.full((64, 64, 3), 200, np.uint8), extratags=[(65000, "H", 4, [1, 2, 3, 4], True)]
        )
        data = bytearray(buf.getvalue())
        at = data.index(struct.pack("<HHI", 65000, 3, 4))
        struct.pack_into("<HHII", data, at, tag, kind, count, len(data))
        _swap_first(batch, "image_path", "S00001.tiff", bytes(data))
        os.truncate(_first_path(batch, "image_path")[1], len(data) + count * {3: 2, 4: 4}[kind])

    return make


def _plain_texts(batch: Path) -> None:
    """The first slide as a PNG whose text chunks hold an RRN, an e-mail and a phone number, and
    whose ICC profile's description holds the RRN too."""
    import io
    import struct

    import numpy as np
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", f"RRN {RRN}")
    info.add_text("Author", EMAIL, zip=True)
    info.add_itxt(f"call {PHONE}", "x")
    desc = f"sRGB, RRN {RRN}".encode()
    tag = b"desc" + bytes(4) + struct.pack(">I", len(desc) + 1) + desc + bytes(1 + 78)
    icc = (
        struct.pack(">I", 144 + len(tag))
        + bytes(124)
        + struct.pack(">I4sII", 1, b"desc", 144, len(tag))
        + tag
    )
    buf = io.BytesIO()
    Image.fromarray(np.full((512, 512, 3), 200, np.uint8)).save(
        buf, format="PNG", pnginfo=info, icc_profile=icc
    )
    _swap_first(batch, "image_path", "S00001.png", buf.getvalue())


REAL_SLIDES = Path(
    os.environ.get("DQM_REAL_DATA", Path(__file__).resolve().parents[2] / "shared" / "data" / "real")
)
REAL_SLIDES /= "slides"


def _restart_jpeg(path: Path) -> None:
    """A JPEG OpenSlide's Hamamatsu reader takes (restart markers, no chroma subsampling)."""
    import numpy as np
    from PIL import Image

    Image.fromarray(np.full((256, 512, 3), (200, 30, 30), np.uint8)).save(
        path, quality=90, restart_marker_blocks=8, subsampling=0
    )


def _vms_outside(batch: Path) -> None:
    """The first slide as a Hamamatsu VMS whose JPEG and map are a file outside the batch: OpenSlide
    opened it (its pixels in the probe, the report's thumbnail and the sheet)."""
    outside = WORK / "outside-pixels.jpg"
    _restart_jpeg(outside)
    _swap_first(batch, "image_path", "S00001.vms", b"")
    vms = next(batch.rglob("S00001.vms"))
    ref = os.path.relpath(outside, vms.parent)
    vms.write_text(
        "[Virtual Microscope Specimen]\nNoLayers=1\nNoJpegColumns=1\nNoJpegRows=1\n"
        f"ImageFile={ref}\nMapFile={ref}\nPhysicalWidth=1000\nPhysicalHeight=1000\n"
    )


def _vms_absolute(batch: Path) -> None:
    """The first slide as a VMS naming '/home/kim/x.jpg': OpenSlide looks for it in the slide's
    folder, and its error named that file by its host path (the batch's location on the machine)."""
    _swap_first(batch, "image_path", "S00001.vms", b"")
    next(batch.rglob("S00001.vms")).write_text(
        "[Virtual Microscope Specimen]\nNoLayers=1\nNoJpegColumns=1\nNoJpegRows=1\n"
        "ImageFile=/home/kim/x.jpg\nMapFile=/home/kim/x.jpg\n"
    )


def _slide_link_out(batch: Path) -> None:
    """The first slide a link to an image outside the batch: the audit refused it, but the report's
    thumbnail followed the link and showed the outside image (pixels: no text to find in the
    outputs; tests/reports/test_thumbnails.py checks them)."""
    from PIL import Image

    outside = WORK / "outside-slide.png"
    Image.new("RGB", (400, 300), (10, 200, 240)).save(outside)
    _swap_first(batch, "image_path", "S00001.png", b"")
    link = next(batch.rglob("S00001.png"))
    link.unlink()
    link.symlink_to(outside)


def _tiff_ifds(n: int) -> Callable[[Path], None]:
    """The first slide as a tiled TIFF followed by ``n`` directories of one tag each (18 bytes)."""

    def make(batch: Path) -> None:
        import io
        import struct

        import numpy as np
        import tifffile

        buf = io.BytesIO()
        tifffile.imwrite(buf, np.full((512, 512, 3), 200, np.uint8), tile=(256, 256), metadata=None)
        data = bytearray(buf.getvalue())
        first = struct.unpack_from("<I", data, 4)[0]
        link = first + 2 + 12 * struct.unpack_from("<H", data, first)[0]
        tail = bytearray()
        for k in range(n):
            here = len(data) + len(tail)
            struct.pack_into("<I", data if k == 0 else tail, link if k == 0 else link - len(data), here)
            tail += struct.pack("<HHHII", 1, 254, 4, 1, 1)
            link = len(data) + len(tail)
            tail += b"\0\0\0\0"
        _swap_first(batch, "image_path", "S00001.tiff", bytes(data + tail))

    return make


def _svs_description(megabytes: int) -> Callable[[Path], None]:
    """The first slide as an Aperio SVS whose ImageDescription holds ``megabytes`` MB of text."""

    def make(batch: Path) -> None:
        import io

        import numpy as np
        import tifffile

        text = "Aperio Image Library v10.0.50\r\n512x512 (256x256) JPEG/RGB Q=70|AppMag = 20|MPP = 0.5|"
        buf = io.BytesIO()
        tifffile.imwrite(
            buf,
            np.full((512, 512, 3), 200, np.uint8),
            tile=(256, 256),
            description=text + "x" * (megabytes << 20),
            metadata=None,
        )
        _swap_first(batch, "image_path", "S00001.svs", buf.getvalue())

    return make


def _dicom_fifo(batch: Path) -> None:
    """The first slide as the real DICOM slide boxes_0.dcm, a hidden FIFO beside it: OpenSlide opens
    every file of a DICOM slide's folder, and waited on the FIFO for ever."""
    _swap_first(batch, "image_path", "S00001.dcm", (REAL_SLIDES / "boxes_0.dcm").read_bytes())
    os.mkfifo(next(batch.rglob("S00001.dcm")).parent / ".pipe")


def _mirax_fifo(batch: Path) -> None:
    """The first slide as a MIRAX X.mrxs whose X/Slidedat.ini is a FIFO: OpenSlide waited on it."""
    _swap_first(batch, "image_path", "S00001.mrxs", b"MIRAX")
    folder = next(batch.rglob("S00001.mrxs")).with_suffix("")
    folder.mkdir()
    os.mkfifo(folder / "Slidedat.ini")


def _manifest_as(
    encode: Callable[[str], bytes], institution: str = "서울대학교병원", first: bool = False, header: str = ""
) -> Callable[[Path], None]:
    """The manifest with a Korean institution (``institution``: in the first row alone where ``first``;
    ``header``: the column's name in the header), saved in another encoding (rt11: Korean Excel)."""

    def make(batch: Path) -> None:
        manifest = batch / "manifest.csv"
        text = manifest.read_text()
        was = text.splitlines()[1].split(",")[3]
        text = text.replace(was, institution, 1 if first else -1)
        manifest.write_bytes(encode(text.replace("institution", header) if header else text))

    return make


def _manifest_lines(edit: Callable[[list[str]], list[str]], end: str = "\n") -> Callable[[Path], None]:
    def make(batch: Path) -> None:
        manifest = batch / "manifest.csv"
        manifest.write_text(end.join(edit(manifest.read_text().splitlines())) + end, newline="")

    return make


def _first_path(batch: Path, column: str) -> tuple[list[str], Path]:
    """The manifest's lines and the first row's file in ``column``."""
    lines = (batch / "manifest.csv").read_text().splitlines()
    return lines, batch / lines[1].split(",")[lines[0].split(",").index(column)]


def _hangul_name(disk: str, named: str, twice: bool = False) -> Callable[[Path], None]:
    """The first slide renamed to a Hangul name in Unicode form ``disk`` (macOS: NFD), the manifest
    naming it in form ``named`` (Windows: NFC); ``twice``: a copy under the other form too."""

    def make(batch: Path) -> None:
        lines, old = _first_path(batch, "image_path")
        name = "조직" + old.name
        if twice:
            shutil.copy(old, old.with_name(unicodedata.normalize(named, name)))
        old.rename(old.with_name(unicodedata.normalize(disk, name)))
        lines[1] = lines[1].replace(old.name, unicodedata.normalize(named, name))
        (batch / "manifest.csv").write_text("\n".join(lines) + "\n")

    return make


def _windows_path(batch: Path) -> None:
    lines, old = _first_path(batch, "image_path")
    rel = old.relative_to(batch).as_posix()
    lines[1] = lines[1].replace(rel, "C:\\delivery\\" + rel.replace("/", "\\"))
    (batch / "manifest.csv").write_text("\n".join(lines) + "\n")


def _windows_name(batch: Path) -> None:
    lines, old = _first_path(batch, "image_path")
    old.rename(old.with_name("S:1?" + old.name))
    lines[1] = lines[1].replace(old.name, "S:1?" + old.name)
    (batch / "manifest.csv").write_text("\n".join(lines) + "\n")


def _xml_in(codec: str, declared: str, copies: int = 1) -> Callable[[Path], None]:
    """The first annotation as ASAP XML in ``codec`` declaring ``declared``, its class and a comment
    in Korean; ``copies``: its lesion that many times, each outline with 1,000 more vertices."""

    def make(batch: Path) -> None:
        doc = json.loads(_text(batch))
        ring = doc["lesions"][0]["geometry"]["coordinates"][0][:-1]
        if copies > 1:  # the first edge walked in 1,000 steps
            (x0, y0), (x1, y1) = ring[:2]
            ring = [
                ring[0],
                *([x0 + (x1 - x0) * k / 1001, y0 + (y1 - y0) * k / 1001] for k in range(1, 1001)),
                *ring[1:],
            ]
        points = "".join(f'<Coordinate Order="{i}" X="{x}" Y="{y}"/>' for i, (x, y) in enumerate(ring))
        group = doc["lesions"][0]["class"]
        one = f'<Annotation Name="병변 1" PartOfGroup="{group}" Type="Polygon"><Coordinates>{points}</Coordinates></Annotation>'
        xml = (
            f'<?xml version="1.0" encoding="{declared}"?><!-- 판독 완료 --><ASAP_Annotations><Annotations>'
            f"{one * copies}</Annotations></ASAP_Annotations>"
        )
        _swap_first(batch, "annotation_path", "S00001.xml", xml.encode(codec))

    return make


def _tiny_square(k: int) -> dict:
    """Lesion ``k`` of a grid of disjoint 0.4 px squares, 390 a row 1 px apart, rows 1.3 px apart
    (100,000 fit a 397x348 slide)."""
    x, y = 1 + k % 390, round(1 + 1.3 * (k // 390), 1)
    ring = [[x, y], [x + 0.4, y], [x + 0.4, y + 0.4], [x, y + 0.4], [x, y]]
    return {
        "id": k + 1,
        "class": ("BCC", "SCC")[k % 2],
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


CASES = [
    Case(
        "huge_int",
        "a JSON integer of 5,000 digits as the slide width",
        lambda b: _raw(b, _text(b).replace('"width": ', '"width": ' + "9" * 5000, 1)),
    ),
    Case(
        "deep_nesting",
        "an annotation nested 1,000 levels deep",
        lambda b: _raw(b, '{"format": "dqm.annotation/1", "lesions": ' + _nested(1000) + "}"),
    ),
    Case(
        "deep_clinical",
        "a clinical block nested 600 levels deep",
        lambda b: _edit(b, lambda d: d.__setitem__("clinical", json.loads('{"a":' * 600 + "1" + "}" * 600))),
    ),
    Case(
        "far_vertices",
        "two finite vertices 1e300 apart",
        lambda b: _edit(
            b,
            lambda d: d["lesions"][0]["geometry"].__setitem__(
                "coordinates", [[[0, 0], [1e300, 0], [1e300, 1e300], [0, 0]]]
            ),
        ),
    ),
    Case(
        "huge_size",
        "width and height of 300 digits",
        lambda b: _raw(
            b,
            _text(b)
            .replace('"width": ', '"width": ' + "9" * 300, 1)
            .replace('"height": ', '"height": ' + "9" * 300, 1),
        ),
    ),
    Case("manifest_dir", "manifest.csv is a folder", _manifest_dir),
    Case("manifest_fifo", "manifest.csv is a FIFO", _manifest_fifo),
    Case("manifest_bytes", "manifest.csv of random bytes", _manifest_bad_bytes),
    Case(
        "institutions_9000",
        "9,000 manifest rows for absent files, each its own institution and scanner (19 GB, killed)",
        lambda b: (
            (b / "manifest.csv")
            .open("a")
            .write(
                "".join(
                    f"X{i:05d},slides/X{i:05d}.tiff,annotations/X{i:05d}.json,Inst-{i},BCC,50,F,trunk,"
                    f"P{i:06d},Scanner-{i},H&E,2022-01-01\n"
                    for i in range(9000)
                )
            )
        ),
    ),
    Case(
        "manifest_line_200mb",
        "a manifest row of one 200 MB line (its lines were split through a 4-byte-a-character copy)",
        lambda b: (b / "manifest.csv").open("a").write("S00009," + "x" * 200_000_000 + "\n"),
    ),
    Case("symlink_file", "an annotation symlinked to a file outside the batch", _symlink_out),
    Case("symlink_dir", "a folder symlinked outside the batch", _symlink_dir_out),
    Case("fifo", "an annotation file that is a FIFO", _fifo),
    Case("hidden_folder", "a slide's files moved into a hidden folder, its row dropped", _hidden_folder),
    Case("dup_keys", "a JSON object with a duplicate key", _dup_keys),
    Case("dup_keys_5000", "one object repeating 5,000 keys", _dup_keys_5000),
    Case("nfkc_key", "a property key of 2M U+FDFA, 18 times longer in NFKC", _nfkc_key),
    Case("utf16", "a UTF-16 JSON annotation", _utf16),
    Case("rle_bomb", "a 200-byte COCO RLE of 40 gigapixels", _coco_rle_bomb),
    Case("deid_digits", "100 digit strings of 5,000 characters per lesion", _deid_digits),
    Case("lesions_6000", "6,000 small lesions in one file", _many_lesions(6000)),
    Case("unknown_key_a_lesion", "20,000 lesions with one unknown key each", _unknown_key_a_lesion(20000)),
    Case("polygon_2m", "one polygon of 2M vertices (~40 MB)", _huge_polygon(2_000_000)),
    Case("polygon_25m", "one polygon of 25M vertices (~350 MB)", _huge_polygon(25_000_000), big=True),
    Case(
        "polygon_25m_refused",
        "the same, annotation_bytes lowered to 100 MB",
        _huge_polygon(25_000_000),
        big=True,
        limits={"annotation_bytes": 100 * 2**20},
    ),
    Case(
        "polygon_25m_parsed",
        "the same parsed alone, vertices_per_lesion raised to 30M",
        _huge_polygon(25_000_000),
        big=True,
        limits={"vertices_per_lesion": 30_000_000},
        parse_only=True,
    ),
    Case("class_50mb", "a class name of 50 MB", _long_class),
    Case("sparse_1t", "a 1 TiB sparse file (no data) listed in SHA256SUMS", _listed_sparse(slide=False)),
    Case(
        "sums_short_lines",
        "a SHA256SUMS of 63 MB of three-byte lines (every line was held at once)",
        lambda b: (b / "SHA256SUMS").write_text("ab\n" * (21 << 20)),
    ),
    Case(
        "sparse_slide", "a slide extended by 1 TiB of holes, listed in SHA256SUMS", _listed_sparse(slide=True)
    ),
    *(
        Case(f"id_{f}", f"an RRN/e-mail/phone in the {f.replace('_', ' ')}", _plant(f))
        for f in ("manifest_cell", "slide_id", "file_name", "class_name", "json_key", "clinical_value")
    ),
    Case("id_label_page", "an RRN in the ImageDescription of a TIFF's label page", _label_page),
    Case(
        "tiff_short_software",
        "a TIFF Software tag of 2^28 SHORTs (512 MiB of holes)",
        _tiff_tag(305, 3, 1 << 28),
    ),
    Case(
        "tiff_long_tag", "an unknown TIFF tag of 2^27 LONGs (512 MiB of holes)", _tiff_tag(65000, 4, 1 << 27)
    ),
    Case(
        "id_png_text", "an RRN, an e-mail, a phone in a PNG slide's text chunks and ICC profile", _plain_texts
    ),
    Case(
        "keyword_spaces",
        "a class name of 'dob' then 3,000 spaces (the keyword patterns backtracked, cubic)",
        lambda b: _edit(b, lambda d: d["lesions"][0].__setitem__("class", "dob" + " " * 3000 + "!")),
    ),
    Case("bidi_names", "U+202E, U+2066, U+200B in a slide id, a file name and a class name", _bidi_names),
    Case("mask_checker", "a 20 KB PNG mask: a 4000x4000 checkerboard (8M one-pixel regions)", _checker_mask),
    Case("mask_noise16", "a 16-bit PNG mask of 2048x2048 random labels (65,535 values)", _noise_mask),
    Case("mask_float_nan", "a float32 TIFF mask with NaN (KeyError: nan, CHECK_CRASHED)", _float_mask),
    Case("rle_checker", "a COCO RLE of 500,000 one-pixel regions (the run cap)", _rle_checker),
    Case("coco_repeated", "100,000 COCO images naming one slide, its lesion on the last", _coco_repeated),
    Case(
        "coco_interleaved",
        "3,000 rows of five 120 KB COCO files, interleaved (each row parsed its whole file again: past "
        "164 s of CPU; 10,000 rows of five 400 KB files evicted each other from the parse cache: past "
        "248 s)",
        _coco_interleaved,
    ),
    Case("xxe", "an ASAP class that is an external entity (a file outside the batch)", _xxe),
    Case(
        "xml_deep_40000",
        "an ASAP file of 40,000 nested elements, each with its own text (709 KB: 37 s, 4 GB of XPaths)",
        lambda b: _swap_first(
            b,
            "annotation_path",
            "S00001.xml",
            (
                "<ASAP_Annotations><Annotations/>"
                + "".join(f'<a n="t{k}">' for k in range(40_000))
                + "</a>" * 40_000
                + "</ASAP_Annotations>"
            ).encode(),
        ),
    ),
    Case(
        "features_200mb",
        "a FeatureCollection of 200 MB of tiny features (parsed, 20-35x its size: 4-7 GB a worker)",
        _tiny_features(200),
    ),
    Case(
        "multipolygon_overlap",
        "a MultiPolygon of 100,000 copies of one square (6 MB; GEOS's validity test took 60 s, 3 a lesion)",
        lambda b: _edit(
            b,
            lambda d: d["lesions"][0].__setitem__(
                "geometry",
                {
                    "type": "MultiPolygon",
                    "coordinates": [[[[50, 50], [150, 50], [150, 150], [50, 150], [50, 50]]]] * 100_000,
                },
            ),
        ),
    ),
    Case(
        "lesions_alike_20000",
        "20,000 copies of one 90x90 square, classes alternating (2.7 MB; every pair met: 2e8, past 14 GB)",
        lambda b: _edit(
            b,
            lambda d: d.__setitem__(
                "lesions",
                [
                    {
                        "class": ("BCC", "SCC")[k % 2],
                        "geometry": {
                            "type": "Polygon",
                            "coordinates": [[[10, 10], [100, 10], [100, 100], [10, 100], [10, 10]]],
                        },
                    }
                    for k in range(20_000)
                ],
            ),
        ),
    ),
    Case(
        "lesions_100000",
        "100,000 disjoint squares of 0.4 px (16 MB, the limit a file; cell-level labels pay per lesion: "
        "50 s of CPU, 1.3 GB; an older masker: past 300 s)",
        lambda b: _edit(b, lambda d: d.__setitem__("lesions", [_tiny_square(k) for k in range(100_000)])),
    ),
    Case(
        "zigzag_outline",
        "one outline of 999,000 vertices zigzagging across every row of the slide (13.7 MB; the "
        "tissue check's point-in-polygon tests met every edge at every pixel: killed past 300 s)",
        _outline(_zigzag(999_000)),
    ),
    Case(
        "star_outline",
        "a star polygon of 200,001 vertices, every edge crossing most others (8 MB; GEOS's "
        "validity test and its reason took 67 s and 54 s)",
        _outline(_star(200_001)),
    ),
    Case(
        "profile_regex",
        "a profile's deid pattern (a+)+$ and a class name of 40 a's and a b (re backtracked 2^40 ways)",
        lambda b: _edit(b, lambda d: d["lesions"][0].__setitem__("class", "a" * 40 + "b")),
        patterns="    evil: {regex: '(a+)+$'}\n",
    ),
    Case(
        "png_slide_13k",
        "a 0.7 MB RGBA PNG slide of 13300x13300 (just under Pillow's bomb limit)",
        lambda b: _swap_first(b, "image_path", "S00001.png", _png(13_300, 13_300, colour=6, samples=4)),
    ),
    Case(
        "png_1x100m",
        "a 0.3 MB PNG slide of 100,000,000 x 1 (Pillow's decoder raised MemoryError: CHECK_CRASHED)",
        lambda b: _swap_first(b, "image_path", "S00001.png", _png(100_000_000, 1)),
    ),
    Case(
        "png_100mx1",
        "a 0.3 MB PNG slide of 1 x 100,000,000 (decoded whole: 1.2 GB)",
        lambda b: _swap_first(b, "image_path", "S00001.png", _png(1, 100_000_000)),
    ),
    Case(
        "vms_outside",
        "a Hamamatsu VMS slide naming a JPEG outside the batch (OpenSlide read its pixels)",
        _vms_outside,
    ),
    Case(
        "dicom_fifo",
        "a real DICOM slide with a hidden FIFO beside it (OpenSlide opens its whole folder: hung)",
        _dicom_fifo,
    ),
    Case(
        "vms_absolute",
        "a VMS slide naming /home/kim/x.jpg (OpenSlide's error named the batch's host folder)",
        _vms_absolute,
    ),
    Case(
        "slide_link_out",
        "the first slide a link to an image outside the batch (the report drew its pixels)",
        _slide_link_out,
    ),
    Case(
        "tiff_2m_ifds",
        "a 36 MB TIFF slide of two million one-tag directories (OpenSlide held them all: ~1 GB)",
        _tiff_ifds(2_000_000),
    ),
    Case(
        "svs_description_100mb",
        "an SVS slide whose ImageDescription is 100 MB (OpenSlide copied it twice, dqm once more: 925 MB)",
        _svs_description(100),
    ),
    Case("mirax_fifo", "a MIRAX slide whose Slidedat.ini is a FIFO (hung)", _mirax_fifo),
    # rt11: what Windows, Excel and macOS do to a delivery by accident
    Case(
        "manifest_cp949",
        "manifest.csv saved by Korean Excel (CP949)",
        _manifest_as(lambda t: t.encode("cp949")),
    ),
    # enc2: the CP949 guess counted by words and Hangul syllables
    Case(
        "manifest_cp949_one_name",
        "manifest.csv in CP949 whose only Korean is '홍길동' in one row",
        _manifest_as(lambda t: t.encode("cp949"), "홍길동", first=True),
    ),
    Case(
        "manifest_latin1_header",
        "manifest.csv in Latin-1 with a header 'Tumorgröße' (CP949 read 'Tumorgr秤e')",
        _manifest_as(lambda t: t.encode("latin-1"), "Koeln", header="Tumorgröße"),
    ),
    Case(
        "manifest_gbk",
        "manifest.csv in GBK (Chinese Excel), its institution '北京协和医院'",
        _manifest_as(lambda t: t.encode("gbk"), "北京协和医院"),
    ),
    Case(
        "manifest_utf16",
        "manifest.csv as Excel's Unicode text (UTF-16 LE, BOM)",
        _manifest_as(lambda t: t.encode("utf-16")),
    ),
    Case(
        "manifest_semicolons",
        "manifest.csv separated by ';'",
        _manifest_lines(lambda ls: [x.replace(",", ";") for x in ls]),
    ),
    Case(
        "manifest_header_twice",
        "manifest.csv with its header again mid-file",
        _manifest_lines(lambda ls: [*ls[:3], ls[0], *ls[3:]]),
    ),
    Case("manifest_cr", "manifest.csv with lone CR line ends", _manifest_lines(lambda ls: ls, end="\r")),
    Case(
        "name_nfd",
        "a Hangul slide name stored NFD (macOS), named NFC by the manifest",
        _hangul_name("NFD", "NFC"),
    ),
    Case("name_nfc", "a Hangul slide name stored NFC, named NFD by the manifest", _hangul_name("NFC", "NFD")),
    Case(
        "name_collision", "two slide files whose names are one in NFC", _hangul_name("NFD", "NFC", twice=True)
    ),
    Case("path_drive", "a manifest path C:\\delivery\\slides\\...", _windows_path),
    Case("name_windows", "a slide file name with ':' and '?' (Windows forbids)", _windows_name),
    Case("xml_euc_kr", "an ASAP XML annotation declaring encoding=EUC-KR", _xml_in("euc-kr", "EUC-KR")),
    Case(
        "xml_utf16_comment",
        "a 30 MB UTF-16 ASAP XML (250 outlines of 1,000 vertices), a comment in Korean",
        _xml_in("utf-16", "UTF-16", copies=250),
    ),
    Case(
        "png_slide_20k",
        "a 1.2 MB PNG slide of 20000x20000 (over Pillow's bomb limit)",
        lambda b: _swap_first(b, "image_path", "S00001.png", _png(20_000, 20_000)),
    ),
]


def _digest(root: Path) -> str:
    """The batch's names and contents, hashed file by file in pieces: this process never holds a
    big file (a child's peak RSS starts from its parent's at fork: Linux keeps it across exec)."""
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        h.update(str(p.relative_to(root)).encode())
        if p.is_symlink():
            h.update(os.readlink(p).encode())
        elif p.is_file():
            with p.open("rb") as fh:
                _data_digest(fh.fileno(), h.update)
    return h.hexdigest()


def _data_digest(fd: int, update: Callable[[bytes], object]) -> None:
    """A file's size and the bytes of its data regions at their offsets to ``update``: its holes are
    skipped (they read as zeros; a terabyte of them, as the sparse cases make, would take hours)."""
    size, pos = os.fstat(fd).st_size, 0
    update(str(size).encode())
    while pos < size:
        try:
            start = os.lseek(fd, pos, os.SEEK_DATA)
        except OSError:  # ENXIO: only holes from here to the end
            break
        end = os.lseek(fd, start, os.SEEK_HOLE)
        update(str(start).encode())
        os.lseek(fd, start, os.SEEK_SET)
        while start < end and (chunk := os.read(fd, min(1 << 20, end - start))):
            update(chunk)
            start += len(chunk)
        pos = end


def _leaks(out: Path, stdout: str, planted: tuple[str, ...]) -> list[str]:
    """Planted identifiers in any output or what the command printed, and characters that change
    how a name displays (:data:`HIDDEN`) raw in what it printed or an output a person reads (not
    results.json nor the result cache: data)."""
    texts = [("stdout", stdout)]
    texts += [(p.name, p.read_text(errors="replace")) for p in out.rglob("*") if p.is_file()]
    found = {f"{s} in {name}" for name, text in texts for s in planted if s in text}
    found |= {
        f"raw {code} in {name}"
        for name, text in texts
        if name == "stdout" or name.endswith((".html", ".md", ".xml", ".csv"))
        for c, code in HIDDEN.items()
        if c in text
    }
    return sorted(found)


PROFILE = Path(__file__).resolve().parents[1] / "dqm" / "profiles" / "dermatopathology.yaml"
PARSE_ONLY = """
import json, sys
from pathlib import Path
from dqm.profile import Limits
from dqm.readers import parse_annotation
path = Path(sys.argv[1])
(ann,) = parse_annotation(path.read_bytes(), path.name, Limits(**json.loads(sys.argv[2])))
print(f"{len(ann.lesions)} lesions, {sum(l.n_vertices for l in ann.lesions)} vertices read; "
      f"issues: {sorted({i.code for i in ann.issues})}")
"""


def _profile(case: Case) -> list[str]:
    """``--profile FILE`` with the case's limits, or nothing."""
    if case.limits is None and not case.patterns:
        return []
    text = PROFILE.read_text()
    if case.patterns:
        head = "deid:\n  enabled: true\n  patterns:\n"
        text = text.replace(head, head + case.patterns, 1)
    if case.limits is not None:
        text += "\nlimits:\n" + "".join(f"  {k}: {v}\n" for k, v in case.limits.items())
    path = WORK / f"profile-{case.name}.yaml"
    path.write_text(text)
    return ["--profile", str(path)]


def _made_in_a_child(case: Case, batch: Path) -> None:
    """``case.make(batch)`` in a forked child: a case that builds 200 MB of text in this process
    raised its peak RSS, which every later dqm child inherits at fork (the table showed 409 MiB for
    every case after one)."""
    import multiprocessing

    child = multiprocessing.get_context("fork").Process(target=case.make, args=(batch,))
    child.start()
    child.join()
    if child.exitcode != 0:
        raise RuntimeError(f"making case {case.name} failed (exit {child.exitcode})")


def run_case(case: Case, base: Path, timeout: float, clean_codes: set[str]) -> dict:
    batch = WORK / "cases" / case.name
    shutil.rmtree(batch, ignore_errors=True)
    shutil.copytree(base, batch, symlinks=True)
    _made_in_a_child(case, batch)
    before = _digest(batch)
    out = WORK / "out" / case.name
    shutil.rmtree(out, ignore_errors=True)
    size_mib = _ann(batch).stat().st_size / 2**20 if _ann(batch).is_file() else None
    if case.parse_only:
        cmd = [sys.executable, "-c", PARSE_ONLY, str(_ann(batch)), json.dumps(case.limits or {})]
    else:
        cmd = [sys.executable, "-m", "dqm", "audit", str(batch), "--out", str(out), "--workers", "1"]
        cmd += _profile(case)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        stdout, _ = proc.communicate(timeout=timeout)
        code: int | str = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, _ = proc.communicate()
        code = "timeout"
    wall = time.perf_counter() - start
    peak = _peak_rss(proc)
    written = [n for n in OUTPUTS if (out / n).is_file()]
    codes: set[str] = set()
    if (out / "results.json").is_file():
        try:
            codes = {f["code"] for f in json.loads((out / "results.json").read_text())["findings"]}
        except (ValueError, KeyError):
            codes = {"<results.json unreadable>"}
    planted = (*PLANTED, OUTSIDE_SECRET)
    return {
        "case": case.name,
        "what": case.what,
        "exit": code,
        "outputs": "parse only" if case.parse_only else f"{len(written)}/{len(OUTPUTS)}",
        "new_codes": (stdout.strip().splitlines() or ["–"])[-1][:120]
        if case.parse_only
        else ",".join(sorted(codes - clean_codes)) or "–",
        "crash": ",".join(sorted(c for c in codes if c.endswith("CRASHED"))) or "–",
        "seconds": round(wall, 2),
        "peak_mib": peak,
        "x_size": round(peak / size_mib, 2) if peak and size_mib and size_mib > 100 else "–",
        "batch_unchanged": _digest(batch) == before,
        "leaks": "; ".join(_leaks(out, stdout, planted)) or "–",
        "tail": stdout.strip().splitlines()[-1][:160] if stdout.strip() else "",
    }


_RSS: dict[int, float] = {}


def _peak_rss(proc: subprocess.Popen) -> float | None:
    return _RSS.get(proc.pid)


def _patch_popen_for_rusage() -> None:
    """Record each child's peak RSS (``wait4``) as it is reaped."""
    original = subprocess.Popen._try_wait  # type: ignore[attr-defined]

    def _try_wait(self: subprocess.Popen, wait_flags: int) -> tuple[int, int]:
        try:
            pid, sts, usage = os.wait4(self.pid, wait_flags)
        except ChildProcessError:
            return original(self, wait_flags)
        if pid == self.pid:
            _RSS[pid] = round(usage.ru_maxrss / 1024, 1)
        return pid, sts

    subprocess.Popen._try_wait = _try_wait  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated case names")
    parser.add_argument("--big", action="store_true", help="include the ~500 MB polygon")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = parser.parse_args()
    _patch_popen_for_rusage()
    WORK.mkdir(parents=True, exist_ok=True)
    base = WORK / "base"
    if not base.is_dir():
        subprocess.run(
            [sys.executable, "-m", "dqm", "synth", str(base), "-n", "6", "--seed", "1", "--max-size", "512"],
            check=True,
            capture_output=True,
        )
    only = {n for n in args.only.split(",") if n}
    rows = []
    cols = (
        "case",
        "exit",
        "outputs",
        "new_codes",
        "crash",
        "seconds",
        "peak_mib",
        "x_size",
        "batch_unchanged",
        "leaks",
    )
    clean = run_case(Case("clean", "the clean batch", lambda b: None), base, args.timeout, set())
    clean_codes = set(clean["new_codes"].split(","))
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for case in CASES:
        if (only and case.name not in only) or (case.big and not args.big and case.name not in only):
            continue
        row = run_case(case, base, args.timeout, clean_codes)
        rows.append(row)
        print("| " + " | ".join(str(row[c]) for c in cols) + " |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
