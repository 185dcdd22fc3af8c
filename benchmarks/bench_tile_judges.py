"""Benchmark: can a decoder other than OpenSlide judge a corrupt JPEG tile as OpenSlide does? (issue 13 §4)

    python benchmarks/bench_tile_judges.py [--tiles 3000] [--seed 1]

``dqm.slide_tiles`` decodes each JPEG tile twice: OpenSlide reads one pixel of it first (libjpeg
through OpenSlide, which makes every libjpeg warning an error), then imagecodecs decodes the
tile's bytes for the pixels. One decode would do if a decoder installed here failed on exactly the
tiles OpenSlide fails on and gave its pixels to the bit elsewhere. This script mutates level 0's
first tile of a ``dqm.synth`` pyramid ``--tiles`` times (1 to 3 of: a byte flipped, the tail cut,
up to 64 bytes deleted, up to 7 random bytes inserted; the tile is appended to the file and its
offset and byte count pointed at it), reads it with OpenSlide (a fresh handle each time) and
decodes the same bytes with imagecodecs (``jpeg8_decode``, as slide_tiles does) and with Pillow
(``LOAD_TRUNCATED_IMAGES`` off: it raises on a tile that ends early), and counts each outcome:
whether OpenSlide reads it, whether each decoder does and gives OpenSlide's pixels to the bit.
It prints the OpenSlide messages of the tiles a decoder reads that OpenSlide refuses, and the CPU
time of each way of decoding the intact tile.

Result (session 14, imagecodecs 2026.3.6 with libjpeg-turbo 3.1.3, Pillow 13.0.0, OpenSlide
4.0.1; 3,000 tiles, seed 1): OpenSlide reads 1,695 and refuses 1,305. Both decoders give its
pixels to the bit on every tile it reads. imagecodecs refuses only 69 of the 1,305 (it passes over
every libjpeg warning); Pillow refuses 1,286 and reads 19 that OpenSlide refuses: "Corrupt JPEG
data: N extraneous bytes before marker 0xc0/c4/da/db" (junk between header segments, 15) and
"Corrupt JPEG data: premature end of data segment" (the entropy data ends before the last block,
4). The first could be found by scanning the header's markers as libjpeg does; the second only by
decoding the entropy data. So no decoder here judges a tile as OpenSlide does, and OpenSlide's
one-pixel read stays. CPU ms a tile of 256 px (the intact one, under a load of ~10 on 2 cores):
imagecodecs 0.45, Pillow 0.72, OpenSlide's one-pixel read on a fresh handle 0.57 (its open apart),
OpenSlide's whole tile from its cache 0.97 (the painting): taking OpenSlide's pixels instead of
decoding again would cost more than the second decode, and Pillow is slower than imagecodecs.
"""

from __future__ import annotations

import argparse
import io
import resource
import struct
import sys
import tempfile
import warnings
from pathlib import Path

import imagecodecs
import numpy as np
import openslide
import tifffile
from PIL import Image, ImageFile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dqm.synth.pyramid import write_pyramid


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    buf = bytearray(data)
    for _ in range(int(rng.integers(1, 4))):
        if not buf:
            break
        kind, pos = int(rng.integers(0, 4)), int(rng.integers(0, max(len(buf) - 1, 1)))
        if kind == 0:
            buf[pos] ^= int(rng.integers(1, 256))
        elif kind == 1:
            del buf[pos:]
        elif kind == 2:
            del buf[pos : pos + int(rng.integers(1, 64))]
        else:
            buf[pos:pos] = rng.integers(0, 256, int(rng.integers(1, 8)), dtype=np.uint8).tobytes()
    return bytes(buf)


def pillow(tile: bytes, tables: bytes) -> np.ndarray | None:
    stream = tables[:-2] + tile[2:] if tables else tile  # the tables' SOI..DHT, then the tile's
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(stream)) as im:
                im.load()
                return np.asarray(im.convert("RGBA"))
    except Exception:
        return None


def codecs(tile: bytes, tables: bytes) -> np.ndarray | None:
    try:
        return imagecodecs.jpeg8_decode(tile, tables=tables, colorspace="YCBCR", outcolorspace="RGBA")
    except Exception:
        return None


def same(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    return a is not None and b is not None and a.shape == b.shape and bool((a == b).all())


def cpu_ms(fn, n: int = 200) -> float:
    start = resource.getrusage(resource.RUSAGE_SELF)
    for _ in range(n):
        fn()
    end = resource.getrusage(resource.RUSAGE_SELF)
    return (end.ru_utime + end.ru_stime - start.ru_utime - start.ru_stime) * 1000 / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tiles", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    work = Path(tempfile.mkdtemp(prefix="tileonce-judges-"))
    image = np.random.default_rng(5).integers(0, 256, (700, 900, 3), dtype=np.uint8)
    image[::7] = (230, 120, 200)
    src = work / "src.tiff"
    write_pyramid(src, image, 0.5)
    with tifffile.TiffFile(src) as tf:
        page = tf.pages[0]
        first, count, tables = page.dataoffsets[0], page.databytecounts[0], page.jpegtables or b""
        fields = [
            (page.tags[t].valueoffset, {3: "<H", 4: "<I", 16: "<Q"}[int(page.tags[t].dtype)])
            for t in (324, 325)
        ]
    base = src.read_bytes()
    tile = base[first : first + count]
    rng = np.random.default_rng(args.seed)
    outcomes: dict[tuple[bool, bool, bool, bool, bool], int] = {}
    missed: dict[str, int] = {}
    path = work / "mutated.tiff"
    for _ in range(args.tiles):
        bad = mutate(tile, rng)
        data = bytearray(base) + bad
        for (at, item), value in zip(fields, (len(base), len(bad)), strict=True):
            data[at : at + struct.calcsize(item)] = struct.pack(item, value)
        path.write_bytes(data)
        try:
            with openslide.OpenSlide(str(path)) as slide:
                ref: np.ndarray | None = np.asarray(slide.read_region((0, 0), 0, (256, 256)))
            error = ""
        except openslide.OpenSlideError as exc:
            ref, error = None, str(exc)
        a, b = codecs(bad, tables), pillow(bad, tables)
        key = (ref is not None, a is not None, same(a, ref), b is not None, same(b, ref))
        outcomes[key] = outcomes.get(key, 0) + 1
        if ref is None and b is not None:
            missed[error] = missed.get(error, 0) + 1
    print("openslide reads | imagecodecs reads | = openslide | pillow reads | = openslide : tiles")
    for key, n in sorted(outcomes.items()):
        print("  ".join(f"{v!s:5}" for v in key), ":", n)
    print("read by Pillow, refused by OpenSlide:")
    for error, n in sorted(missed.items(), key=lambda kv: -kv[1]):
        print(f"  {n:4}  {error}")
    with openslide.OpenSlide(str(src)) as slide:
        full = cpu_ms(lambda: slide.read_region((0, 0), 0, (256, 256)))
    fresh = cpu_ms(lambda: openslide.OpenSlide(str(src)).read_region((0, 0), 0, (1, 1)), 100)
    opened = cpu_ms(lambda: openslide.OpenSlide(str(src)), 100)
    print(
        f"CPU ms a tile: imagecodecs {cpu_ms(lambda: codecs(tile, tables)):.3f}, Pillow "
        f"{cpu_ms(lambda: pillow(tile, tables)):.3f}, OpenSlide's one-pixel read on a fresh handle "
        f"{fresh - opened:.3f} (its open {opened:.3f} apart), OpenSlide's whole tile from its cache {full:.3f}"
    )


if __name__ == "__main__":
    main()
