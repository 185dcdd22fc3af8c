"""``dqm convert``: normalise a delivery -- any supported format to native, QuPath GeoJSON or a label mask.

The source is read with the same readers as ``dqm validate`` (format detected by content), so
what is converted is exactly what dqm checks: rings are written as read (no repair, no
simplification), splines and ellipses as the interpolated rings docs/formats.md describes. A
multi-image file (COCO) gives one output file per image. What cannot be written is reported,
not guessed: a lesion without a readable outline is left out, and a native file needs the
slide's size -- taken from the source, else from ``--slide`` (its header), else the file is not
converted.

A label mask (``--to mask``) is a PNG of the slide's size (or ``--downsample`` times smaller):
each pixel whose centre lies in a lesion takes the lesion's class value -- the profile's
``mask_values`` (its first value for the class), or the class's position in the taxonomy (1..K)
when the profile maps none; 0 is background; overlaps paint the smaller lesion last
(:mod:`dqm.raster`). 8-bit, 16-bit when a value needs it. A mask read by dqm and written back is
the same mask, pixel for pixel (its outlines lie on pixel edges). Lesions whose class the profile
does not know, or that has no value, are left out and reported.
"""

from __future__ import annotations

import io
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import numpy as np
import orjson

from dqm.coords import Frame, usable_mpp
from dqm.i18n import N_, msg
from dqm.model import Annotation, Lesion
from dqm.output import FileBatch, make_folder, write_file
from dqm.profile import Profile
from dqm.raster import painting_order, raster_crossings, rasterise
from dqm.readers import mask, read_annotation, resolve_classes
from dqm.readers.common.geojson import to_coordinates
from dqm.readers.native_schema import FORMAT_TAG

Target = Literal["native", "qupath", "mask"]
TARGETS: tuple[Target, ...] = ("native", "qupath", "mask")
SUFFIX = {"native": ".json", "qupath": ".geojson", "mask": ".png"}
UUID_NAMESPACE = uuid.UUID("8f0c6a52-5a1c-4d55-9a7e-4d1f6b0c2e11")


@dataclass(slots=True)
class Converted:
    """What converting one source file did."""

    source: str
    written: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    lesions: int = 0
    skipped_lesions: int = 0


@dataclass(frozen=True, slots=True)
class SlideFacts:
    """The slide size and resolution to write when the source does not state them."""

    file: str
    width: int
    height: int
    mpp: float | None = None


SLIDE_NOT_CHECKED = N_(
    "cannot read the slide {path} just now ({reason}): nothing was converted; run the command again"
)
"""Why ``--slide`` gave no size when the probe could not check the slide's files just now (a
transient error listing a DICOM slide's folder: :class:`~dqm.slide_io.NotChecked`): a usage
error (exit 2), as a slide that cannot be read, not dqm's own (exit 4)."""


def slide_facts(path: Path) -> SlideFacts | str:
    """Size and mpp from a slide header, or why they cannot be read."""
    from dqm.slide_io import NotChecked, ProbeOptions, probe_slide

    try:
        probe = probe_slide(path, path.name, ProbeOptions(tissue=False))
    except NotChecked as exc:  # EIO, EMFILE... listing its folder: to be tried again
        return msg(SLIDE_NOT_CHECKED, path=str(path), reason=exc.why)
    if not probe.opened or probe.width is None or probe.height is None:
        return f"cannot read the slide {path}: {probe.open_error or 'no size in its header'}"
    return SlideFacts(path.name, probe.width, probe.height, probe.mpp_x)


def _json_safe(value: Any) -> Any:
    try:
        return orjson.loads(orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY))
    except (TypeError, orjson.JSONEncodeError):
        return str(value)


def _geometry(lesion: Lesion, close: bool) -> dict[str, Any]:
    if close:
        kind, coords = to_coordinates(lesion.polygons)
        return {"type": kind, "coordinates": coords}
    polys = [[ring.tolist() for ring in poly] for poly in lesion.polygons]
    if len(polys) == 1:
        return {"type": "Polygon", "coordinates": polys[0]}
    return {"type": "MultiPolygon", "coordinates": polys}


def _writable(lesion: Lesion) -> bool:
    return lesion.outline_read and bool(lesion.polygons) and all(poly for poly in lesion.polygons)


def _class_name(ann: Annotation, lesion: Lesion) -> str:
    """The class to write: as the source names it, but a label mask's pixel value becomes the class
    id it resolves to (``255`` means nothing outside the mask)."""
    if ann.format == mask.NAME and lesion.label:
        return lesion.label
    return lesion.raw_class if lesion.raw_class is not None else ""


def mask_values(profile: Profile) -> dict[str, int]:
    """Class id -> the pixel value a written mask gives it (see the module docstring)."""
    if profile.mask_values:
        out: dict[str, int] = {}
        for value, cls in sorted(profile.mask_values.items()):
            out.setdefault(cls, value)
        return out
    return {cls: k + 1 for k, cls in enumerate(profile.class_ids)}


def to_mask(
    ann: Annotation, profile: Profile, slide: SlideFacts | None, downsample: int = 1
) -> tuple[np.ndarray | None, str | None, int]:
    """The label image of one annotation, or why it cannot be written; and how many lesions were
    left out for lack of a class value."""
    width = ann.width or (slide.width if slide else None)
    height = ann.height or (slide.height if slide else None)
    if width is None or height is None:
        return None, "the source does not state the slide size: pass --slide with the slide file", 0
    rows, cols = max(1, int(height / downsample)), max(1, int(width / downsample))
    if rows * cols > mask.MAX_PIXELS:
        return (
            None,
            f"a {cols}x{rows} mask is over the {mask.MAX_PIXELS} pixel limit: pass a larger --downsample",
            0,
        )
    index = mask_values(profile)
    writable = [les for les in ann.lesions if _writable(les)]
    unknown = sum(1 for les in writable if les.label not in index)
    lesions = painting_order(ann, index)
    top = max(index.values(), default=0)
    if top > 65535:
        return None, f"class value {top} does not fit a 16-bit mask", unknown
    dtype = np.uint8 if top <= 255 else np.uint16
    if not lesions:
        return np.zeros((rows, cols), dtype), None, unknown
    small = [(k, v) for k, v in enumerate(sorted(set(index.values())), start=1)]
    # rasterise paints uint8 labels: paint ranks, then map ranks to the (possibly 16-bit) values
    rank = {v: k for k, v in small}
    layers = [(rank[index[les.label]], les.geometry) for les in lesions]  # type: ignore[index]
    frame = Frame(downsample=downsample)
    over = _too_much_work(lesions, raster_crossings(layers, frame, (rows, cols)), profile)
    if over is not None:
        return None, over, unknown
    painted = rasterise(layers, frame, (rows, cols))
    lut = np.zeros(len(small) + 1, dtype)
    for k, v in small:
        lut[k] = v
    return lut[painted], None, unknown


def _too_much_work(lesions: list[Lesion], work: list[int], profile: Profile) -> str | None:
    """Why a mask whose lesions' fill takes ``work`` steps (:func:`dqm.raster.raster_crossings`,
    each of ``lesions``) is not written, or None when it is within ``limits.raster_crossings``."""
    limit = profile.limits.raster_crossings
    if sum(work) <= limit:
        return None
    most = max(range(len(work)), key=work.__getitem__)
    return (
        f"filling its outlines takes {sum(work):,} steps (crossings of the mask's rows and cells of "
        f"the outlines' boxes), over limits.raster_crossings ({limit:,}); lesion {lesions[most].pointer} "
        f"alone takes {work[most]:,} (a larger --downsample makes fewer rows and cells)"
    )


def to_native(ann: Annotation, slide: SlideFacts | None) -> tuple[dict[str, Any] | None, str | None]:
    """A native document for one annotation, or why it cannot be written."""
    width, height = ann.width, ann.height
    file = ann.slide_file
    mpp = ann.mpp if usable_mpp(ann.mpp) else None
    if slide is not None:
        width, height = width or slide.width, height or slide.height
        file = file or slide.file
        mpp = mpp if mpp is not None else slide.mpp
    if width is None or height is None:
        return None, "the source does not state the slide size: pass --slide with the slide file"
    slide_info: dict[str, Any] = {
        "file": file or PurePosixPath(ann.path).stem,
        "width": int(width),
        "height": int(height),
    }
    if mpp is not None:
        slide_info["mpp"] = float(mpp)
    lesions = [
        {
            "id": lesion.index,
            "class": _class_name(ann, lesion),
            "geometry": _geometry(lesion, close=False),
            "properties": _json_safe(lesion.properties),
        }
        for lesion in ann.lesions
        if _writable(lesion)
    ]
    return {
        "format": FORMAT_TAG,
        "slide": slide_info,
        "lesions": lesions,
        "clinical": _json_safe(ann.clinical),
    }, None


def to_qupath(ann: Annotation, profile: Profile) -> dict[str, Any]:
    """A QuPath GeoJSON FeatureCollection for one annotation (rings closed, as GeoJSON requires)."""
    features = []
    for lesion in ann.lesions:
        if not _writable(lesion):
            continue
        props: dict[str, Any] = {"objectType": "annotation"}
        if lesion.raw_class is not None:
            colour = profile.class_def(lesion.label).colour if lesion.label else "#888888"
            rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
            props["classification"] = {"name": _class_name(ann, lesion), "color": rgb}
        for key, value in _json_safe(lesion.properties).items():
            props.setdefault(key, value)
        features.append(
            {
                "type": "Feature",
                "id": str(uuid.uuid5(UUID_NAMESPACE, f"{ann.path}#{ann.image_key}#{lesion.index}")),
                "geometry": _geometry(lesion, close=True),
                "properties": props,
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _png(raster: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(raster).save(buf, format="PNG")
    return buf.getvalue()


_CONTROL = re.compile("[\x00-\x1f\x7f]")


def _name(src: Path, ann: Annotation, many: bool, target: Target) -> str:
    """The output's name: the source's stem, or the image's for a file of many (COCO). The image's
    name is the file's content: a NUL in it made the path raise (exit 4, nothing converted), and
    ``..`` or a leading dot a hidden name; control characters become ``_``, leading dots go."""
    stem = PurePosixPath(ann.image_key).stem if many and ann.image_key else src.stem
    if stem.lower().endswith(".ome"):
        stem = stem[:-4]
    stem = _CONTROL.sub("_", stem).lstrip(".") or src.stem
    return stem + SUFFIX[target]


def convert_file(
    src: Path,
    target: Target,
    out: Path,
    profile: Profile,
    slide: SlideFacts | None = None,
    force: bool = False,
    taken: set[Path] | None = None,
    downsample: int = 1,
    batch: FileBatch | None = None,
) -> Converted:
    """Convert one annotation file into ``out`` (created).

    Never overwrites a source file, and never writes one output twice in a run: ``taken`` holds
    the outputs already written (pass the same set for every file of one command), so two
    sources or two COCO images with the same stem are reported, not silently merged into the last.
    ``force`` only allows replacing what an earlier run left in ``out``. ``batch``: the files are
    written through it (in place once its block ends: a command converting many files), else each
    with :func:`write_file`.
    """
    taken = set() if taken is None else taken
    result = Converted(str(src))
    annotations = read_annotation(src, src.name)
    many = len(annotations) > 1
    make_folder(out)
    for read in annotations:
        ann = resolve_classes(read, profile)  # one image's lesions built at a time (a COCO file holds many)
        if not ann.readable:
            reasons = "; ".join(f"{i.code}: {i.message}" for i in ann.issues) or "unreadable"
            result.problems.append(f"{src.name}: not converted ({reasons})")
            continue
        skipped = sum(1 for lesion in ann.lesions if not _writable(lesion))
        result.skipped_lesions += skipped
        if skipped:
            result.problems.append(
                f"{src.name}{' ' + ann.image_key if many and ann.image_key else ''}: "
                f"{skipped} lesion(s) without a readable outline left out"
            )
        if target == "native":
            if ann.mpp is not None and not usable_mpp(ann.mpp):
                instead = "the slide's is written" if slide is not None and slide.mpp else "left out"
                result.problems.append(
                    f"{src.name}: its mpp {ann.mpp:g} is not a positive finite number: {instead}"
                )
            doc, why = to_native(ann, slide)
            if doc is None:
                result.problems.append(f"{src.name}: not converted ({why})")
                continue
            payload = orjson.dumps(doc, option=orjson.OPT_INDENT_2)
        elif target == "mask":
            raster, why, unknown = to_mask(ann, profile, slide, downsample)
            if raster is None:
                result.problems.append(f"{src.name}: not converted ({why})")
                continue
            if unknown:
                result.problems.append(
                    f"{src.name}: {unknown} lesion(s) whose class has no mask value left out"
                )
                skipped += unknown
            payload = _png(raster)
        else:
            payload = orjson.dumps(to_qupath(ann, profile), option=orjson.OPT_INDENT_2)
        dest = out / _name(src, ann, many, target)
        where = dest.resolve()
        if where == src.resolve():
            result.problems.append(f"{dest} is the source file: not overwritten (choose another --out)")
            continue
        if where in taken:
            result.problems.append(
                f"{src.name}{' ' + ann.image_key if many and ann.image_key else ''}: "
                f"{dest} was already written by this run (same name): not overwritten"
            )
            continue
        if dest.exists() and not force:
            result.problems.append(f"{dest} exists: not overwritten (use --force)")
            continue
        if batch is not None:
            batch.write(dest, payload, binary=target == "mask")
        else:
            write_file(dest, payload, binary=target == "mask")
        taken.add(where)
        result.written.append(dest)
        result.lesions += len(ann.lesions) - skipped
    return result
