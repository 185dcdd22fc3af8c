"""Peak memory and time of reading one big JSON annotation file of many small objects (issue 13).

    python benchmarks/bench_annotation_memory.py [--sizes 20,50,100] [--formats qupath,coco,native]
        [--small-runs 200] [--work DIR]
    python benchmarks/bench_annotation_memory.py --shapes [--shape-mb 17] [--shape-limit MIB]
        [--only SHAPE,...] [--work DIR] [--raw FILE]

For each format (a QuPath GeoJSON FeatureCollection of small polygons, a COCO file of many
annotations on 100 images (fewer in a small file), a clean dqm native file) and each size in MB,
writes a seeded file of that size, then reads it in a fresh child process (``parse_annotation``:
every lesion of the file is made; ``limits.lesions_per_file`` cuts only afterwards, per slide) and
prints its wall and CPU time, peak RSS (``ru_maxrss``) and peak RSS / file size. Where the memory
goes, from the same child: the RSS after importing dqm, with the file's bytes read, and kept after
the read with the lesions alive (what the allocator keeps of a freed object tree counts too); and
from a second child the peak of the JSON parse alone (``orjson.loads``: the object tree the
whole-document read starts from).

Then the small-file path: a 2 KB and a 200 KB file of each format read in this process, the
median wall and CPU time of ``--small-runs`` reads (the parse cache does not hold files under 256 KiB).

``--shapes``: instead, the shapes that cost the most a byte read in pieces, each a file of
``--shape-mb`` MiB (17: in pieces) read in a fresh child: its peak RSS (``VmHWM``) over the RSS
before the read (the bytes included), against the estimate it is admitted at
(:func:`dqm.readers.pieces_needed`) and the former one (its values at ``PIECE_VALUE_BYTES``):
3-vertex polygons (with a class or not), MultiPolygons of 50 parts, 2,000- and 300-character
strings (2,000 ASCII characters and a CJK one or an emoji: Python holds them at 2 or 4 bytes a
character), properties nested 200 deep, 100 keys (unique ones too: each a string of its own),
lists, dicts, strings or floats a lesion, features without a geometry or an object of properties,
points, empty objects, an issue a feature with a message of its own (an unsupported geometry type,
a GeometryCollection of points, a vertex of one number), detections (those of 60 unique keys, points of 60 unique strings: each kept
with its pointer), a ``clinical``, ``metadata``, ``annotations`` or ``lesions`` object of unique
keys as big as the file, lists of one list 10 deep in properties or in a ``metadata`` as big as the
file, and one item as big as the file (a detection or an annotation of unique keys, a native lesion
of unique properties), the usual exports of the big files and small named annotations with an id
or two measurements. With ``--shape-limit MIB`` (``--at-estimate``: each at its own estimate)
each is read under that ``limits.annotation_memory``: its peak against the limit, and whether it was stopped (``LIMIT_EXCEEDED``: refused up front, or stopped by the run-time
tally of what it keeps, :mod:`dqm.readers.common.tally`). ``--raw FILE``: each shape's figures added to
FILE, a JSON line each, for ``benchmarks/fit_piece_marks.py``.

The dqm measured is the one on PYTHONPATH (another checkout's, to compare). ``--identifier-keys
PATTERN`` reads as for a profile whose own ``identifier_keys`` are PATTERN (the readers keep the
values under the keys it names; a checkout from before that option takes none).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

CHILD = """
import resource, sys, time
from pathlib import Path
def rss():
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20
base = rss()
from dqm.profile import Limits
from dqm.readers import parse_annotation
imported = rss()
data = Path(sys.argv[1]).read_bytes()
with_bytes = rss()
t0, c0 = time.perf_counter(), time.process_time()
anns = parse_annotation(data, "annotations/" + Path(sys.argv[1]).name, Limits(lesions_per_file=10**8), None, *sys.argv[2:])
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
after = rss()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
lesions = sum(len(a.lesions) for a in anns)
issues = sum(len(a.issues) for a in anns)
print(wall, cpu, peak, imported, with_bytes, after, lesions, issues)
"""
TREE = """
import resource, sys
from pathlib import Path
import orjson
data = Path(sys.argv[1]).read_bytes()
doc = orjson.loads(data)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


SHAPE_CHILD = """
import gc, sys
from pathlib import Path
from dqm.profile import Limits
from dqm.readers import PIECE_VALUE_BYTES, memory_needed, parse_annotation
data = Path(sys.argv[1]).read_bytes()
gc.collect()
before = int(Path("/proc/self/statm").read_text().split()[1]) * 4096 - len(data)
try:
    from dqm.readers import pieces_needed
except ImportError:  # a checkout from before it
    pieces_needed = lambda text: memory_needed(text, PIECE_VALUE_BYTES)
limit = 2**50 if len(sys.argv) < 3 else pieces_needed(data) if sys.argv[2] == "est" else int(sys.argv[2])
if len(sys.argv) > 3:  # --in-pieces: a smaller file read in pieces too
    from dqm.readers.common import pieces
    pieces.MIN_BYTES = 0
tallied = [0, 0]
try:  # what the run-time tally counted the read to keep, at its last check, and its most need
    from dqm.readers.common import tally
    _check = tally.Tally.check
    def check(self, *raw):  # recorded after the check: it counts the newest lesions and issues
        try:
            _check(self, *raw)
        finally:
            tallied[0] = self.kept
            tallied[1] = max(tallied[1], self.need())
    tally.Tally.check = check
except ImportError:  # a checkout from before it
    pass
anns = parse_annotation(data, "a/" + Path(sys.argv[1]).name, Limits(lesions_per_file=10**8, annotation_memory=limit))
peak = int(Path("/proc/self/status").read_text().split("VmHWM:")[1].split()[0]) * 1024
lesions, issues = sum(len(a.lesions) for a in anns), sum(len(a.issues) for a in anns)
stopped = any(i.code == "LIMIT_EXCEEDED" for a in anns for i in a.issues)
print(peak - before, pieces_needed(data), memory_needed(data, PIECE_VALUE_BYTES), lesions, issues, anns[0].format, stopped, tallied[0], limit, tallied[1])
"""


def _tri(k: int) -> list[list[list[int]]]:
    return [[[k % 1000, 0], [k % 1000 + 1, 0], [k % 1000, 1]]]


def _nested(depth: int) -> object:
    return json.loads('{"a":' * depth + "0" + "}" * depth)


def _q(k: int, **props: object) -> dict[str, object]:
    """A QuPath feature: a triangle, class T, ``props`` besides."""
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": _tri(k)},
        "properties": {"classification": "T", **props},
    }


def _n(k: int, **more: object) -> dict[str, object]:
    """A native lesion: a triangle of class T, ``more`` keys besides."""
    return {"class": "T", "geometry": {"type": "Polygon", "coordinates": _tri(k)}, **more}


def _parts(k: int) -> dict[str, object]:
    return {"type": "MultiPolygon", "coordinates": [_tri(k + 3 * j) for j in range(50)]}


_EMOJI = "\U0001f600"
_DEEP_LIST = json.loads("[" * 10 + "0" + "]" * 10)

SHAPES: dict[str, Callable[[int], object]] = {
    "qupath-triangles": _q,
    "qupath-unclassified": lambda k: {"type": "Feature", "geometry": _q(k)["geometry"]},
    "qupath-bare": lambda k: {"type": "Feature"},
    "qupath-bad-properties": lambda k: {"type": "Feature", "properties": 1},
    "qupath-points": lambda k: {"type": "Feature", "geometry": {"type": "Point", "coordinates": [k, 0]}},
    "qupath-empty": lambda k: {},
    "qupath-parts": lambda k: {**_q(k), "geometry": _parts(k)},
    "qupath-long-name": lambda k: _q(k, name=f"{k}" + "x" * 2000),
    "qupath-nested": lambda k: _q(k, m=_nested(200)),
    "qupath-keys": lambda k: _q(k, m={f"k{j}": j for j in range(100)}),
    "qupath-key-lists": lambda k: _q(k, m={f"k{j}": [] for j in range(100)}),
    "qupath-key-dicts": lambda k: _q(k, m={f"k{j}": {} for j in range(100)}),
    "qupath-dicts": lambda k: _q(k, m=[{"a": 0}] * 100),
    "qupath-lists": lambda k: _q(k, m=[[]] * 100),
    "qupath-lists-of-one": lambda k: _q(k, m=[[j] for j in range(100)]),
    "qupath-strings": lambda k: _q(k, m=[f"{k}-{j}" for j in range(100)]),
    "qupath-floats": lambda k: _q(k, m=[j + 0.5 for j in range(100)]),
    "qupath-detections": lambda k: _q(
        k, objectType="detection", measurements={"Area": 1.5, "Perimeter": 3.25}
    ),
    "qupath-detection-names": lambda k: _q(k, objectType="detection", name=f"{k}" + "y" * 300),
    "native-triangles": _n,
    "native-ids": lambda k: _n(k, id=f"lesion-{k:012d}"),
    "native-parts": lambda k: {**_n(k), "geometry": _parts(k)},
    "native-nested": lambda k: _n(k, properties=_nested(200)),
    "native-keys": lambda k: _n(k, properties={f"k{j}": j for j in range(100)}),
    "native-dicts": lambda k: _n(k, properties={"m": [{"a": 0}] * 100}),
    # a review's (text the readers keep a string, key or pointer of, at 1, 2 or 4 bytes a character)
    "qupath-detection-keys": lambda k: {
        "type": "Feature",
        "properties": {"objectType": "detection", **{f"{k * 60 + j:x}": 0 for j in range(60)}},
    },
    "qupath-point-strings": lambda k: {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [0, 0]},
        "properties": {"classification": "T", "m": [f"{k * 60 + j:x}" for j in range(60)]},
    },
    "qupath-emoji-name": lambda k: _q(k, name=f"{_EMOJI}{k}" + "x" * 2000),
    "qupath-cjk-name": lambda k: _q(k, name=f"\u4e00{k}" + "x" * 2000),
    "qupath-unique-keys": lambda k: _q(k, m={f"k{k}_{j}": j + 0.5 for j in range(100)}),
    "qupath-emoji-keys": lambda k: _q(k, m={f"{_EMOJI}{k}_{j}": 0 for j in range(50)}),
    "native-emoji-name": lambda k: _n(k, properties={"name": f"{_EMOJI}{k}" + "x" * 2000}),
    "native-unique-keys": lambda k: _n(k, properties={f"k{k}_{j}": j + 0.5 for j in range(100)}),
    "native-clinical-keys": _n,  # and a ``clinical`` of the file's size (_WHOLE)
    "qupath-metadata-keys": _q,  # and a ``metadata`` of the file's size, strings
    # a review's: lists of one list 10 deep, each list kept (~114 bytes)
    "qupath-deep-lists": lambda k: _q(k, m=[_DEEP_LIST] * 20),
    "qupath-metadata-lists": _q,  # and a ``metadata`` of the file's size, such lists
    # a review's: one item as big as the file (its ``size``: _ONE), a top-level object beside the
    # features no up-front charge counted
    "qupath-one-detection": lambda size: {
        "type": "Feature",
        "properties": {"objectType": "detection", **_unique(size)},
    },
    "qupath-one-annotation": lambda size: {
        **_q(0),
        "properties": {"objectType": "annotation", **_unique(size)},
    },
    "native-one-lesion": lambda size: _n(0, properties={f"k{j:x}": j + 0.5 for j in range(size // 14)}),
    # a second review's: one outline as big as the file (its parse was charged 254 bytes a vertex)
    "native-one-polygon": lambda size: {
        "class": "T",
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[j % 1000, j // 1000] for j in range(size // 9)] + [[0, 0]]],
        },
    },
    # a third review's: an issue a feature whose message names the feature's value (a message of
    # its own, some 560 bytes: it was tallied as a shared one)
    "qupath-unsupported": lambda k: {"type": "Feature", "geometry": {"type": f"X{k}"}},
    "qupath-collection-points": lambda k: {
        "type": "Feature",
        "geometry": {"type": "GeometryCollection", "geometries": [k]},
    },
    "qupath-bad-vertex": lambda k: {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [[[k]]]},
    },
    # usual exports (the big files' features and lesions) and small named annotations with an id or
    # two measurements (a second review's: the tally came to 1.11 times their estimate)
    "qupath-usual": lambda k: qupath_feature(random.Random(k), k),
    "native-usual": lambda k: native_lesion(random.Random(k), k),
    "qupath-named-ids": lambda k: {"id": f"{k:08x}-0000-4000-8000-000000000000", **_q(k, name=f"n{k}")},
    "qupath-named-measurements": lambda k: _q(
        k, name=f"n{k}", measurements={"Area": k + 0.5, "Length": 2.25}
    ),
    "qupath-annotations-keys": _q,  # and an ``annotations`` object of the file's size, strings
    "qupath-lesions-keys": _q,  # and a ``lesions`` object of the file's size, strings
}
"""What costs the most a byte of a file read in pieces: lesions of few bytes, parts, issues, nesting."""


_WHOLE = {
    "native-clinical-keys": "clinical",
    "qupath-metadata-keys": "metadata",
    "qupath-metadata-lists": "metadata",
    "qupath-annotations-keys": "annotations",
    "qupath-lesions-keys": "lesions",
}
"""Shapes whose one top-level object, read whole, is the file: ``{"1a": 26.5, ...}`` (strings
``{"1a": "1a", ...}`` but in ``clinical``; or ``[[[...[0]...]], ...]``, lists 10 deep)."""
_ONE = {"qupath-one-detection", "qupath-one-annotation", "native-one-lesion", "native-one-polygon"}
"""Shapes of one item made of the file's size: the file."""


def _unique(size: int) -> dict[str, str]:
    """Properties of unique keys and strings, ``size`` bytes of them or more (one item's: the file)."""
    return {f"k{j:x}": f"v{j:x}" for j in range(size // 14)}


def _write_shape(name: str, path: Path, size: int) -> None:
    whole = _WHOLE.get(name)
    value = "{}.5" if whole == "clinical" else '"{:x}"'  # of a key ``f"{k:x}"``
    top = "{" + ",".join(f'"{k:x}":' + value.format(k) for k in range(size // 12)) + "}" if whole else "{}"
    if name == "qupath-metadata-lists":
        top = json.dumps([_DEEP_LIST] * (size // 22), separators=(",", ":"))
    if name.startswith("native"):
        slide = '{"file":"s.svs","width":100000,"height":100000}'
        head = f'{{"format":"dqm.annotation/1","slide":{slide},"clinical":{top},"lesions":['
    else:
        head = '{"type":"FeatureCollection",' + (f'"{whole}":{top},' if whole else "") + '"features":['
    with path.open("wb") as fh:
        fh.write(head.encode())
        written, k = len(head), 0
        while (written < size and name not in _ONE) or not k:  # one item of the file's size: one
            item = SHAPES[name](size if name in _ONE else k)
            text = ("," if k else "") + json.dumps(item, separators=(",", ":"), ensure_ascii=False)
            fh.write(text.encode())
            written, k = written + len(text.encode()), k + 1
        fh.write(b"]}")


def shapes(
    mb: float,
    work: Path,
    limit_mb: float | None = None,
    in_pieces: bool = False,
    at_estimate: bool = False,
    raw: Path | None = None,
) -> None:
    """Each shape's peak against its estimate; with ``limit_mb`` (or ``at_estimate``: each at its
    own :func:`~dqm.readers.pieces_needed`, the least limit that admits it), read under that
    ``limits.annotation_memory``: the peak against the limit, and whether the read was stopped
    (``LIMIT_EXCEEDED``: refused up front or stopped by the run-time tally). ``raw``: a file each
    shape's figures are added to, a JSON line each (bytes: the peak, the estimate, what the tally
    kept at its last check and its most need at a check)."""
    limit = ["est"] if at_estimate else [] if limit_mb is None else [str(int(limit_mb * 2**20))]
    if in_pieces:
        limit = [limit[0] if limit else str(2**50), "in-pieces"]
    limited = limit_mb is not None or at_estimate
    tail = " limit MiB | stopped | peak / limit |" if limited else ""
    print(
        "| shape | MiB | lesions | issues | peak MiB | peak / size | estimate / size | estimate / peak "
        f"| former / peak | (peak - size) / tally | tally's need / estimate |{tail}"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|" + ("---|---|---|" if limited else ""))
    for name in SHAPES:
        path = work / f"{name}-{mb}.json"
        if not path.exists():
            _write_shape(name, path, int(mb * 2**20))
        used, need, former, lesions, issues, fmt, *stopped = _run(SHAPE_CHILD, path, *limit)
        size = path.stat().st_size
        held_to = int(stopped[2]) if len(stopped) > 2 else int(limit[0]) if limit_mb else 0  # the child's
        more = (
            f" {held_to / 2**20:.1f} | {stopped[0]} | {int(used) / held_to:.2f} |"
            if limited and held_to
            else ""
        )
        kept = int(stopped[1]) if len(stopped) > 1 else 0
        ratio = f"{(int(used) - size) / kept:.2f}" if kept else "-"
        most = int(stopped[3]) if len(stopped) > 3 else 0  # the tally's most need at a check
        tallied = f"{most / int(need):.2f}" if most else "-"
        print(
            f"| {name} ({fmt}) | {size / 2**20:.1f} | {int(lesions):,} | {int(issues):,} | {int(used) / 2**20:.0f} "
            f"| {int(used) / size:.1f} | {int(need) / size:.1f} | {int(need) / int(used):.2f} "
            f"| {int(former) / int(used):.2f} | {ratio} | {tallied} |{more}",
            flush=True,
        )
        if raw is not None:
            row = {"shape": name, "size": size, "peak": int(used), "estimate": int(need), "kept": kept}
            with raw.open("a") as fh:
                fh.write(json.dumps({**row, "most": most, "stopped": stopped[:1]}) + "\n")


def _square(rnd: random.Random) -> list[list[float]]:
    """A small outline of 5 to 8 vertices, QuPath-like coordinates (some halves)."""
    x, y = rnd.randrange(1000, 90000), rnd.randrange(1000, 90000)
    n = rnd.randrange(5, 9)
    pts = [[x + rnd.randrange(0, 40) + rnd.choice((0, 0.5)), y + rnd.randrange(0, 40)] for _ in range(n)]
    return [*pts, pts[0]]


def qupath_feature(rnd: random.Random, k: int) -> dict[str, object]:
    return {
        "type": "Feature",
        "id": f"{k:08x}-0000-4000-8000-000000000000",
        "geometry": {"type": "Polygon", "coordinates": [_square(rnd)]},
        "properties": {
            "objectType": "annotation",
            "classification": {"name": rnd.choice(("Tumor", "Stroma")), "color": [200, 0, 0]},
        },
    }


def coco_annotation(rnd: random.Random, k: int, images: int) -> dict[str, object]:
    x, y = rnd.randrange(3900), rnd.randrange(3900)
    w, h = rnd.randrange(5, 60), rnd.randrange(5, 60)
    return {
        "id": k,
        "image_id": k % images,
        "category_id": 1 + k % 2,
        "segmentation": [[x, y, x + w, y, x + w, y + h, x, y + h]],
        "area": w * h,
        "bbox": [x, y, w, h],
        "iscrowd": 0,
    }


def native_lesion(rnd: random.Random, k: int) -> dict[str, object]:
    return {
        "id": k,
        "class": rnd.choice(("MM", "BCC")),
        "geometry": {"type": "Polygon", "coordinates": [_square(rnd)]},
    }


def write(fmt: str, path: Path, size: int) -> None:
    """A ``fmt`` file of about ``size`` bytes (written object by object until it is reached)."""
    rnd = random.Random(size)
    images = max(1, min(100, size // 50_000))
    if fmt == "qupath":
        head, tail = '{"type":"FeatureCollection","features":[', "]}"
    elif fmt == "coco":
        imgs = [{"id": i, "file_name": f"s{i:04d}.svs", "width": 4000, "height": 4000} for i in range(images)]
        cats = [{"id": 1, "name": "MM"}, {"id": 2, "name": "BCC"}]
        head = '{"images":' + json.dumps(imgs) + ',"categories":' + json.dumps(cats) + ',"annotations":['
        tail = "]}"
    else:
        slide = {"file": "s.svs", "width": 100000, "height": 100000, "mpp": 0.25}
        head = '{"format":"dqm.annotation/1","slide":' + json.dumps(slide) + ',"clinical":{},"lesions":['
        tail = "]}"
    with path.open("w") as fh:
        fh.write(head)
        written, k = len(head) + len(tail), 0
        while written < size:
            if fmt == "qupath":
                obj = qupath_feature(rnd, k)
            elif fmt == "coco":
                obj = coco_annotation(rnd, k, images)
            else:
                obj = native_lesion(rnd, k)
            text = ("," if k else "") + json.dumps(obj, separators=(",", ":"))
            fh.write(text)
            written += len(text)
            k += 1
        fh.write(tail)


def _run(code: str, path: Path, *extra: str) -> list[str]:
    # run in the files' folder, not a checkout: ``-c`` puts the working directory first on the
    # path, and the dqm measured must be the one PYTHONPATH names
    done = subprocess.run(
        [sys.executable, "-c", code, str(path), *extra], capture_output=True, text=True, cwd=path.parent
    )
    if done.returncode:
        raise SystemExit(f"{path}: exit {done.returncode}\n{done.stderr[-2000:]}")
    return done.stdout.split()


def big(fmt: str, mb: int, work: Path, keys: tuple[str, ...] = ()) -> None:
    path = work / f"{fmt}-{mb}mb.json"
    if not path.exists():
        write(fmt, path, mb * 10**6)
    size = path.stat().st_size / 2**20
    wall, cpu, peak, imported, with_bytes, after, lesions, issues = map(float, _run(CHILD, path, *keys))
    tree = float(_run(TREE, path)[0])
    print(
        f"{fmt:7s} {size:6.1f} MiB  {int(lesions):>9,} lesions {int(issues):>3} issues  {wall:6.1f} s ({cpu:5.1f} s CPU)  "
        f"peak {peak:7.0f} MiB = {peak / size:5.1f}x  | imported {imported:4.0f}, +bytes {with_bytes - imported:5.0f}, "
        f"kept after the read {after - with_bytes:6.0f} ({(after - with_bytes) / size:4.1f}x); orjson tree alone: "
        f"peak {tree:6.0f} MiB ({tree / size:4.1f}x)",
        flush=True,
    )


def small(fmt: str, size: int, runs: int, work: Path, keys: tuple[str, ...] = ()) -> None:
    from dqm.profile import Limits
    from dqm.readers import parse_annotation

    path = work / f"{fmt}-{size}b.json"
    write(fmt, path, size)
    data = path.read_bytes()
    parse_annotation(data, "a.json", Limits(), None, *keys)
    times, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        parse_annotation(data, "a.json", Limits(), None, *keys)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    print(
        f"{fmt:7s} {len(data):>7,} B  median {statistics.median(times) * 1e3:8.3f} ms "
        f"({statistics.median(cpu) * 1e3:8.3f} ms CPU) of {runs}",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="20,50,100", help="big files' sizes in MB (10^6 bytes)")
    ap.add_argument("--formats", default="qupath,coco,native")
    ap.add_argument("--small-runs", type=int, default=200, help="reads of each small file (0: none)")
    ap.add_argument(
        "--work", type=Path, help="where the files are written (kept; default: a temporary folder)"
    )
    ap.add_argument("--identifier-keys", help="a profile's own identifier-key pattern the readers keep")
    ap.add_argument("--shapes", action="store_true", help="the costliest shapes against the estimate")
    ap.add_argument("--shape-mb", type=float, default=17, help="MiB of each shape's file")
    ap.add_argument(
        "--shape-limit", type=float, help="read each shape under this limits.annotation_memory (MiB)"
    )
    ap.add_argument(
        "--at-estimate", action="store_true", help="read each shape under a limit just at its estimate"
    )
    ap.add_argument(
        "--in-pieces", action="store_true", help="read a shape under 16 MiB in pieces too (quicker)"
    )
    ap.add_argument("--only", help="the shapes to read, comma-separated (default: all)")
    ap.add_argument("--raw", type=Path, help="add each shape's figures to this file, a JSON line each")
    args = ap.parse_args()
    if args.shapes:
        if args.only:
            for name in set(SHAPES) - set(args.only.split(",")):
                del SHAPES[name]
        with tempfile.TemporaryDirectory() as tmp:
            shapes(
                args.shape_mb,
                args.work or Path(tmp),
                args.shape_limit,
                args.in_pieces,
                args.at_estimate,
                args.raw,
            )
        return
    keys = (args.identifier_keys,) if args.identifier_keys else ()
    formats = args.formats.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for fmt in formats:
            for mb in (int(s) for s in args.sizes.split(",") if s):
                big(fmt, mb, work, keys)
        if args.small_runs:
            for fmt in formats:
                for size in (2_000, 200_000):
                    small(fmt, size, args.small_runs, work, keys)


if __name__ == "__main__":
    main()
