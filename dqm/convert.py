"""``dqm convert``: normalise a delivery -- any supported format to native, or to QuPath GeoJSON.

The source is read with the same readers as ``dqm validate`` (format detected by content), so
what is converted is exactly what dqm checks: rings are written as read (no repair, no
simplification), splines and ellipses as the interpolated rings docs/formats.md describes. A
multi-image file (COCO) gives one output file per image. What cannot be written is reported,
not guessed: a lesion without a readable outline is left out, and a native file needs the
slide's size -- taken from the source, else from ``--slide`` (its header), else the file is not
converted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import orjson

from dqm.coords import usable_mpp
from dqm.model import Annotation, Lesion
from dqm.output import write_file
from dqm.profile import Profile
from dqm.readers import read_annotation, resolve_classes
from dqm.readers.common.geojson import to_coordinates
from dqm.readers.native_schema import FORMAT_TAG

Target = Literal["native", "qupath"]
SUFFIX = {"native": ".json", "qupath": ".geojson"}
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


def slide_facts(path: Path) -> SlideFacts | str:
    """Size and mpp from a slide header, or why they cannot be read."""
    from dqm.slide_io import ProbeOptions, probe_slide

    probe = probe_slide(path, path.name, ProbeOptions(tissue=False))
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
            "class": lesion.raw_class if lesion.raw_class is not None else "",
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
            props["classification"] = {"name": lesion.raw_class, "color": rgb}
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


def _name(src: Path, ann: Annotation, many: bool, target: Target) -> str:
    stem = PurePosixPath(ann.image_key).stem if many and ann.image_key else src.stem
    if stem.lower().endswith(".ome"):
        stem = stem[:-4]
    return stem + SUFFIX[target]


def convert_file(
    src: Path,
    target: Target,
    out: Path,
    profile: Profile,
    slide: SlideFacts | None = None,
    force: bool = False,
    taken: set[Path] | None = None,
) -> Converted:
    """Convert one annotation file into ``out`` (created).

    Never overwrites a source file, and never writes one output twice in a run: ``taken`` holds
    the outputs already written (pass the same set for every file of one command), so two
    sources or two COCO images with the same stem are reported, not silently merged into the last.
    ``force`` only allows replacing what an earlier run left in ``out``.
    """
    taken = set() if taken is None else taken
    result = Converted(str(src))
    annotations = resolve_classes(read_annotation(src, src.name), profile)
    many = len(annotations) > 1
    out.mkdir(parents=True, exist_ok=True)
    for ann in annotations:
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
        else:
            doc = to_qupath(ann, profile)
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
        write_file(dest, orjson.dumps(doc, option=orjson.OPT_INDENT_2))
        taken.add(where)
        result.written.append(dest)
        result.lesions += len(ann.lesions) - skipped
    return result
