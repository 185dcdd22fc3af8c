"""``dqm synth``: build an example batch of H&E-like slides with native annotations.

Slides are pyramidal tiled TIFFs (JPEG tiles, mpp in the header: OpenSlide reads them as
generic-tiff) and plain JPEG images, roughly two to one. Annotations are native JSON files with
1-3 lesions of the slide's class (polygons of 120-300 vertices, some with holes), a clinical
block and a manifest.csv. Every slide is drawn from its own seed, so the batch is the same for
a given ``--seed`` whatever the number of workers.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from shapely.geometry import Polygon

from dqm.output import csv_cell_limit, writing, written
from dqm.readers.native_schema import FORMAT_TAG
from dqm.synth import render
from dqm.synth.cohort import Record, cohort
from dqm.synth.defects import Delivery, Plan, inject, truth_csv
from dqm.synth.pyramid import write_level
from dqm.synth.shapes import band, blob, inner_radius, place_blobs

MPP = 0.5
OBJECTIVE = 20
MANIFEST_COLUMNS = (
    "slide_id",
    "image_path",
    "annotation_path",
    "institution",
    "diagnosis",
    "age",
    "sex",
    "site",
    "patient_id",
    "scanner",
    "stain",
    "acquired_on",
)
CLASS_NAMES = {
    "NS": "normal skin",
    "EC": "epidermal cyst",
    "SK": "seborrheic keratosis",
    "BD_SCC": "Bowen disease/squamous cell carcinoma",
    "BCC": "basal cell carcinoma",
    "MN": "melanocytic nevus",
    "MM": "malignant melanoma",
}


@dataclass(frozen=True, slots=True)
class SlideLayout:
    """The geometry of one synthetic slide, decided before anything is drawn."""

    width: int
    height: int
    tissue: np.ndarray
    epidermis: list[np.ndarray] | None
    lesions: list[tuple[str, list[np.ndarray]]]


SECTION_ASPECT = (0.4, 1.0)
"""A section's short axis over its long one: from a round punch biopsy to an elongated excision."""
SECTION_ROUGHNESS = (0.1, 0.3)
SECTION_FILL = 0.92
"""The section's bounding box fills this much of the slide image (its long side or its short one)."""


def section(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """The outline of one tissue section on a ``width`` x ``height`` image: a rough blob of random
    elongation, turned by a random angle and scaled to fill the image. Sections of one shape (every
    slide the same centred ellipse) would look alike to the near-duplicate hash, whose crop is the
    tissue's bounding box: distinct synthetic slides came within its threshold of each other."""
    ring = blob(rng, 0.0, 0.0, 1.0, 360, roughness=rng.uniform(*SECTION_ROUGHNESS))
    ring[:, 1] *= rng.uniform(*SECTION_ASPECT)
    angle = rng.uniform(0, np.pi)
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    ring = ring @ turn.T
    low, high = ring.min(axis=0), ring.max(axis=0)
    scale = SECTION_FILL * min((width - 6) / (high[0] - low[0]), (height - 6) / (high[1] - low[1]))
    centre = np.array([width / 2 + rng.uniform(-0.03, 0.03) * width, height / 2])
    return np.clip(centre + (ring - (low + high) / 2) * scale, 2, [width - 3, height - 3])


def _narrow_side(outline: Polygon) -> float:
    """The shorter side of the smallest rotated rectangle around ``outline``: the section's width."""
    corners = np.asarray(outline.minimum_rotated_rectangle.exterior.coords)
    sides = np.hypot(*np.diff(corners[:3], axis=0).T)
    return float(sides.min())


def layout(rng: np.random.Generator, diagnosis: str, max_size: int) -> SlideLayout:
    """Tissue, epidermis and 1-3 lesions of ``diagnosis`` for one slide."""
    width = int(max_size * rng.uniform(0.75, 1.0))
    height = int(max_size * rng.uniform(0.6, 0.85))
    tissue = section(rng, width, height)
    tissue_poly = Polygon(tissue)
    short = _narrow_side(tissue_poly)  # lesions and epidermis scale with the section, not the image
    epi = band(tissue_poly, short * 0.035)
    epidermis = [np.asarray(epi.exterior.coords)] if epi.geom_type == "Polygon" and not epi.is_empty else None
    inner = tissue_poly.buffer(-short * 0.06)
    count = int(rng.integers(1, 4))
    placed = place_blobs(rng, inner, count, (short * 0.08, short * 0.15), int(rng.integers(120, 301)))
    lesions = []
    for ring, bx, by in placed:
        rings = [ring]
        if rng.random() < 0.2:
            r_in = inner_radius(ring, bx, by)
            rings.append(blob(rng, bx, by, r_in * 0.35, 60, roughness=0.1)[::-1])
        lesions.append((diagnosis, rings))
    return SlideLayout(width, height, tissue, epidermis, lesions)


def _round(ring: np.ndarray) -> list[list[float]]:
    return np.round(ring, 2).tolist()


def annotation_doc(
    record: Record, lay: SlideLayout, image_name: str, rng: np.random.Generator
) -> dict[str, Any]:
    """The native annotation document of one slide."""
    lesions = []
    for k, (cls, rings) in enumerate(lay.lesions):
        spelling = rng.random()
        written = cls if spelling < 0.7 else (CLASS_NAMES[cls] if spelling < 0.9 else cls.lower())
        lesions.append(
            {
                "id": k + 1,
                "class": written,
                "geometry": {"type": "Polygon", "coordinates": [_round(r) for r in rings]},
            }
        )
    return {
        "format": FORMAT_TAG,
        "slide": {
            "file": image_name,
            "width": lay.width,
            "height": lay.height,
            "mpp": MPP,
            "objective_power": OBJECTIVE,
        },
        "lesions": lesions,
        "clinical": record.clinical(),
    }


def write_tiff(path: Path, image: np.ndarray, mpp: float) -> None:
    """A tiled, JPEG-compressed pyramidal TIFF (downsamples 1, 4, 16 while >= 256 px)."""
    import tifffile

    with tifffile.TiffWriter(path) as tw:
        ds = 1
        while True:
            level = image
            if ds > 1:
                from PIL import Image

                h, w = image.shape[0] // ds, image.shape[1] // ds
                level = np.asarray(Image.fromarray(image).resize((w, h), Image.Resampling.BILINEAR))
            write_level(tw, level, mpp, ds, quality=88, software="dqm synth")
            ds *= 4
            if min(image.shape[0], image.shape[1]) // ds < 256:
                break


def _put(path: Path, data: bytes) -> None:
    """``data`` written to ``path`` in the new batch folder, recorded as written
    (:func:`dqm.output.written`): a failure (a full disk) names the file, and a later one names
    those written before it."""
    with writing(path):
        path.write_bytes(data)
    written(path)


def corrupt_first_tile(path: Path) -> None:
    """Overwrite level 0's first tile with garbage: the file opens, reading it fails."""
    import tifffile

    with tifffile.TiffFile(path) as tf:
        offset, count = tf.pages[0].dataoffsets[0], tf.pages[0].databytecounts[0]
    with path.open("r+b") as fh:
        fh.seek(offset + 2)
        fh.write(b"\xff\x01" * ((count - 4) // 2))


def _render_one(args: tuple[int, str, int, str], turned: bool = False) -> tuple[str, bytes]:
    seed, diagnosis, max_size, kind = args
    rng = np.random.default_rng(seed)
    lay = layout(rng, diagnosis, max_size)
    image = render.render_slide(rng, lay.width, lay.height, lay.tissue, lay.epidermis, lay.lesions)
    if turned:
        image = np.ascontiguousarray(image[::-1, ::-1])
    buf = io.BytesIO()
    if kind == "tiff":
        tmp = io.BytesIO()
        _write_tiff_buffer(tmp, image)
        return kind, tmp.getvalue()
    from PIL import Image

    Image.fromarray(image).save(buf, format="JPEG", quality=88)
    return kind, buf.getvalue()


def _write_tiff_buffer(buf: io.BytesIO, image: np.ndarray) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "s.tiff"
        write_tiff(p, image, MPP)
        buf.write(p.read_bytes())


def _manifest_csv(plan: Plan) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    for d in plan.deliveries:
        if d.in_manifest:
            writer.writerow([d.row.get(c, "") for c in MANIFEST_COLUMNS])
    return out.getvalue()


def build_batch(
    out: Path,
    n_slides: int,
    seed: int,
    defect_rate: float = 0.0,
    max_size: int = 1536,
    workers: int = 1,
    force: bool = False,
    progress: Any = None,
) -> Plan:
    """Write a synthetic batch to ``out``; returns the plan (deliveries and defects)."""
    from dqm.output import NOT_REPLACEABLE, NotReplaceable, make_folder, writing

    if out.is_symlink():  # a link: never replaced, --force or not (rmtree refused it: an internal error)
        raise NotReplaceable(errno.EEXIST, NOT_REPLACEABLE, str(out))
    with writing(out):  # FILE itself, or a plain file on the way: the writer's line, naming ``out``
        full = out.exists() and any(out.iterdir())
    if full and not force:
        raise FileExistsError(f"{out} exists and is not empty (use --force to replace it)")
    if out.exists():
        shutil.rmtree(out)
    make_folder(out)
    (out / "slides").mkdir()
    (out / "annotations").mkdir()
    root_seq = np.random.SeedSequence(seed)
    cohort_seq, defect_seq, *slide_seqs = root_seq.spawn(2 + n_slides)
    records = cohort(np.random.default_rng(cohort_seq), n_slides)
    plan = Plan([])
    layouts = []
    for k, (record, seq) in enumerate(zip(records, slide_seqs, strict=True)):
        kind = "jpeg" if k % 3 == 2 else "tiff"
        slide_seed = int(seq.generate_state(1)[0])
        lay = layout(np.random.default_rng(slide_seed), record.diagnosis, max_size)
        image_name = f"{record.slide_id}.{'tiff' if kind == 'tiff' else 'jpg'}"
        doc = annotation_doc(record, lay, image_name, np.random.default_rng(slide_seed + 1))
        row = {
            "slide_id": record.slide_id,
            "image_path": f"slides/{image_name}",
            "annotation_path": f"annotations/{record.slide_id}.json",
            **{k2: str(v) for k2, v in record.clinical().items()},
        }
        plan.deliveries.append(
            Delivery(
                record.slide_id,
                row,
                doc,
                kind,
                image_name,
                f"{record.slide_id}.json",
                lay.width,
                lay.height,
            )
        )
        layouts.append((slide_seed, record.diagnosis, max_size, kind))
    inject(plan, defect_rate, np.random.default_rng(defect_seq))

    images: dict[str, bytes] = {}
    jobs = [layouts[i] for i in range(n_slides)]
    if workers > 1 and n_slides > 4:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            rendered = pool.map(_render_one, jobs, chunksize=2)
            for d, (_, data) in zip(plan.deliveries, rendered, strict=True):
                images[d.slide_id] = data
                if progress:
                    progress()
    else:
        for d, job in zip(plan.deliveries, jobs, strict=True):
            images[d.slide_id] = _render_one(job)[1]
            if progress:
                progress()

    index = {d.slide_id: k for k, d in enumerate(plan.deliveries)}
    for d in plan.deliveries:
        image_path = out / "slides" / d.image_name
        if d.write_image and d.image_turned and d.image_source is not None:
            seed_, diagnosis, size, _ = layouts[index[d.image_source]]
            _put(image_path, _render_one((seed_, diagnosis, size, d.image_kind), turned=True)[1])
        elif d.write_image:
            data = d.image_bytes if d.image_bytes is not None else images[d.image_source or d.slide_id]
            _put(image_path, data)
            if d.corrupt_tile:
                corrupt_first_tile(image_path)
        if d.write_annotation:
            data = (
                d.annotation_bytes if d.annotation_bytes is not None else orjson.dumps(d.doc, default=float)
            )
            _put(out / "annotations" / d.annotation_name, data)
    for path, source in plan.extra_slides:
        _put(out / path, images[source])
    _put(out / "manifest.csv", _manifest_csv(plan).encode("utf-8"))
    _put(out / "truth.csv", truth_csv(plan).encode("utf-8"))
    _put(
        out / "README.md",
        (
            f"Synthetic dqm batch: {n_slides} slides, seed {seed}, defect rate {defect_rate}.\n"
            "truth.csv lists each slide's injected defect (empty = clean) and the code dqm must report.\n"
        ).encode(),
    )
    return plan


def load_truth(batch: Path) -> list[dict[str, str]]:
    """``truth.csv`` rows: ``slide_id``, ``defect``, ``code``."""
    csv_cell_limit()  # raised again, where something lowered it since dqm.output's import
    with (batch / "truth.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


__all__ = ["build_batch", "json", "load_truth"]
