"""Peak memory of reading an annotation file of many tiny objects, per text format, against the
estimate ``limits.annotation_memory`` is held to (:func:`dqm.readers.memory_needed`).

    .venv/bin/python benchmarks/bench_memory_estimate.py [--mb 20]

Each format's file (``--mb`` MiB of small polygons: a GeoJSON FeatureCollection, a native dqm
file, COCO, ASAP and ImageScope XML) is parsed alone in a fresh process with the memory limit
raised; the table gives its peak RSS, the peak over the file's size, and the estimate over the peak
(above 1: the estimate is the safe side) at each cost a value may be given: read whole
(``VALUE_BYTES``: XML, and JSON a reader cannot take in pieces) and read in pieces
(``pieces_needed``: a QuPath or clean native file of at least 16 MiB; a COCO file,
whose lesions are held in arrays, at ``COCO_VALUE_BYTES``: the last column). The native file
here has no ``clinical`` block, so it is not schema-clean and is read whole (that path's worst case).
The COCO shapes: triangles, 1,000-vertex outlines and uncompressed RLE masks of short runs (20 x 20
pixels, runs of 1 to 3: many pixel-edge rings a mask).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

SQUARE = [[0, 0], [3, 0], [3, 3], [0, 0]]
ASAP = (
    '<Annotation Name="A" Type="Polygon" PartOfGroup="BCC"><Coordinates><Coordinate Order="0" X="0" Y="0"/>'
    '<Coordinate Order="1" X="3" Y="0"/><Coordinate Order="2" X="3" Y="3"/></Coordinates></Annotation>'
)
REGION = (
    '<Region Id="1" Type="0" NegativeROA="0"><Vertices><Vertex X="0" Y="0"/><Vertex X="3" Y="0"/>'
    '<Vertex X="3" Y="3"/></Vertices></Region>'
)


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


FORMATS = {
    "geojson.json": (
        '{"type":"FeatureCollection","features":[',
        _dumps(
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [SQUARE]},
                "properties": {"classification": {"name": "BCC"}},
            }
        ),
        ",",
        "]}",
    ),
    "native.json": (
        '{"format":"dqm.annotation/1","slide":{"file":"S1.tiff","width":397,"height":348,"mpp":0.5},"lesions":[',
        _dumps({"id": 1, "class": "BCC", "geometry": {"type": "Polygon", "coordinates": [SQUARE]}}),
        ",",
        "]}",
    ),
    "coco.json": (
        '{"images":[{"id":1,"file_name":"S1.tiff","width":397,"height":348}],'
        '"categories":[{"id":1,"name":"BCC"}],"annotations":[',
        _dumps(
            {"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[0, 0, 3, 0, 3, 3]], "iscrowd": 0}
        ),
        ",",
        "]}",
    ),
    "coco-1000.json": (
        '{"images":[{"id":1,"file_name":"S1.tiff","width":9000,"height":9000}],'
        '"categories":[{"id":1,"name":"BCC"}],"annotations":[',
        _dumps(
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "segmentation": [[c for k in range(1000) for c in (k % 97 * 9, k * 7 % 89 * 9)]],
            }
        ),
        ",",
        "]}",
    ),
    "coco-rle.json": (
        '{"images":[{"id":1,"file_name":"S1.tiff","width":20,"height":20}],'
        '"categories":[{"id":1,"name":"BCC"}],"annotations":[',
        _dumps(
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "segmentation": {"size": [20, 20], "counts": [*(1 + k % 3 for k in range(199)), 3]},
            }
        ),
        ",",
        "]}",
    ),
    "asap.xml": ("<ASAP_Annotations><Annotations>", ASAP, "", "</Annotations></ASAP_Annotations>"),
    "imagescope.xml": (
        '<Annotations MicronsPerPixel="0.5"><Annotation Id="1" Name="BCC"><Regions>',
        REGION,
        "",
        "</Regions></Annotation></Annotations>",
    ),
}

PARSE = """
import resource, sys
from pathlib import Path
from dqm.profile import Limits
from dqm.readers import COCO_VALUE_BYTES, memory_needed, parse_annotation, pieces_needed
data = Path(sys.argv[1]).read_bytes()
anns = parse_annotation(data, "a" + Path(sys.argv[1]).suffix, Limits(annotation_memory=2**62))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(
    sum(len(a.lesions) for a in anns),
    peak,
    memory_needed(data),
    pieces_needed(data),
    memory_needed(data, COCO_VALUE_BYTES),
)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=20, help="MiB of each file")
    args = parser.parse_args()
    print("| format | MiB | lesions | peak MiB | peak / size | estimate / peak: whole | in pieces | COCO |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (head, unit, sep, tail) in FORMATS.items():
            n = (args.mb * 2**20 - len(head) - len(tail)) // (len(unit) + len(sep))
            path = Path(tmp) / name
            path.write_text(head + sep.join([unit] * n) + tail)
            done = subprocess.run(
                [sys.executable, "-c", PARSE, str(path)], capture_output=True, text=True, check=True
            )
            lesions, peak, need, need_pieces, need_coco = (int(v) for v in done.stdout.split())
            size = path.stat().st_size
            print(
                f"| {name} | {size / 2**20:.0f} | {lesions:,} | {peak / 2**20:,.0f} | {peak / size:.1f} "
                f"| {need / peak:.2f} | {need_pieces / peak:.2f} "
                + (f"| {need_coco / peak:.2f} |" if name.startswith("coco") else "| |"),
                flush=True,
            )
            path.unlink()


if __name__ == "__main__":
    main()
