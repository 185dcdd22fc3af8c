"""Injected defects: one per affected slide, each with the reason code dqm must report.

A defect edits the in-memory delivery of one slide (its annotation document, its manifest row,
the bytes written for its files) before anything is written. ``truth.csv`` lists every affected
slide with its defect and expected code, so tests can measure recall per kind.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

LESION_CLASSES = ("EC", "SK", "BD_SCC", "BCC", "MN", "MM")


@dataclass(slots=True)
class Delivery:
    """One slide as it will be written: manifest row, annotation document and file overrides."""

    slide_id: str
    row: dict[str, Any]
    doc: dict[str, Any]
    image_kind: str
    image_name: str
    annotation_name: str
    width: int
    height: int
    annotation_bytes: bytes | None = None
    write_image: bool = True
    write_annotation: bool = True
    image_source: str | None = None
    """Write a copy of this other delivery's image instead of rendering one."""
    image_turned: bool = False
    """With ``image_source``: that image rotated by 180 degrees and encoded again (a near duplicate)."""
    image_bytes: bytes | None = None
    corrupt_tile: bool = False
    in_manifest: bool = True
    defect: str = ""
    code: str = ""
    truth_id: str = ""


@dataclass(slots=True)
class Plan:
    deliveries: list[Delivery]
    extra_slides: list[tuple[str, str]] = field(default_factory=list)
    """``(path, source slide_id)``: image copies written outside the manifest."""
    extra_truth: list[tuple[str, str, str]] = field(default_factory=list)
    """``(id, defect, code)`` for defects that add files rather than spoil a slide."""


Apply = Callable[[Plan, int, np.random.Generator], None]


@dataclass(frozen=True, slots=True)
class Defect:
    name: str
    code: str
    apply: Apply
    eligible: Callable[[Plan, int], bool] = lambda plan, i: True
    marks_slide: bool = True
    """False when the defect adds a file and leaves the slide itself clean."""


def _lesion0(d: Delivery) -> dict[str, Any]:
    return d.doc["lesions"][0]


def _shell(d: Delivery) -> list[list[float]]:
    return _lesion0(d)["geometry"]["coordinates"][0]


def _has_lesion(plan: Plan, i: int) -> bool:
    return bool(plan.deliveries[i].doc["lesions"])


def _lesion_class(plan: Plan, i: int) -> bool:
    return _has_lesion(plan, i) and plan.deliveries[i].row["diagnosis"] != "NS"


def _not_first(plan: Plan, i: int) -> bool:
    return i > 0


def _tiff(plan: Plan, i: int) -> bool:
    return plan.deliveries[i].image_kind == "tiff"


def _set_clinical(d: Delivery, key: str, manifest: Any, annotation: Any = "same") -> None:
    d.row[key] = manifest
    d.doc["clinical"][key] = manifest if annotation == "same" else annotation


def _empty(plan: Plan, i: int, rng: np.random.Generator) -> None:
    plan.deliveries[i].annotation_bytes = b""


def _invalid_json(plan: Plan, i: int, rng: np.random.Generator) -> None:
    d = plan.deliveries[i]
    text = json.dumps(d.doc).encode()
    d.annotation_bytes = text[: len(text) // 2]


def _invalid_encoding(plan: Plan, i: int, rng: np.random.Generator) -> None:
    d = plan.deliveries[i]
    d.doc["clinical"]["stain"] = "H&E – é"
    d.annotation_bytes = json.dumps(d.doc, ensure_ascii=False).encode("latin-1", errors="replace")


def _missing_key(plan: Plan, i: int, rng: np.random.Generator) -> None:
    del plan.deliveries[i].doc["slide"]["height"]


def _extra_key(plan: Plan, i: int, rng: np.random.Generator) -> None:
    _lesion0(plan.deliveries[i])["colour"] = "#ff0000"


def _wrong_type(plan: Plan, i: int, rng: np.random.Generator) -> None:
    d = plan.deliveries[i]
    d.doc["slide"]["width"] = str(d.doc["slide"]["width"])


def _unknown_class(plan: Plan, i: int, rng: np.random.Generator) -> None:
    _lesion0(plan.deliveries[i])["class"] = "Tumour"


def _non_finite(plan: Plan, i: int, rng: np.random.Generator) -> None:
    d = plan.deliveries[i]
    _shell(d)[3] = [float("nan"), _shell(d)[3][1]]
    d.annotation_bytes = json.dumps(d.doc, allow_nan=True).encode()


def _add_lesion(d: Delivery, cls: str, ring: list[list[float]], holes: list | None = None) -> None:
    d.doc["lesions"].append(
        {
            "id": len(d.doc["lesions"]) + 1,
            "class": cls,
            "geometry": {"type": "Polygon", "coordinates": [ring, *(holes or [])]},
        }
    )


def _centre(d: Delivery) -> tuple[float, float]:
    return d.width / 2, d.height / 2


def _too_few(plan: Plan, i: int, rng: np.random.Generator) -> None:
    d = plan.deliveries[i]
    cx, cy = _centre(d)
    _add_lesion(d, d.row["diagnosis"], [[cx, cy], [cx + 40, cy + 10]])


def _self_intersection(plan: Plan, i: int, rng: np.random.Generator) -> None:
    ring = _shell(plan.deliveries[i])
    n = len(ring)
    a, b = n // 8, n // 2
    ring[a:b] = ring[a:b][::-1]


def _zero_area(plan: Plan, i: int, rng: np.random.Generator) -> None:
    d = plan.deliveries[i]
    cx, cy = _centre(d)
    _add_lesion(d, d.row["diagnosis"], [[cx + k * 10.0, cy + k * 5.0] for k in range(6)])


def _hole_outside(plan: Plan, i: int, rng: np.random.Generator) -> None:
    d = plan.deliveries[i]
    shell = np.array(_shell(d))
    minx, miny, maxx, maxy = (
        shell[:, 0].min(),
        shell[:, 1].min(),
        shell[:, 0].max(),
        shell[:, 1].max(),
    )
    # a small square hole beside the shell, still inside the slide
    x = maxx + 20 if maxx + 60 < d.width else minx - 60
    y = (miny + maxy) / 2
    hole = [[x, y], [x + 30, y], [x + 30, y + 30], [x, y + 30]]
    _lesion0(d)["geometry"]["coordinates"] = [_shell(d), hole]


def _out_of_bounds(plan: Plan, i: int, rng: np.random.Generator) -> None:
    d = plan.deliveries[i]
    for p in _shell(d):
        p[0] += d.width
    _lesion0(d)["geometry"]["coordinates"] = [_shell(d)]


def _duplicate(plan: Plan, i: int, rng: np.random.Generator) -> None:
    d = plan.deliveries[i]
    dup = json.loads(json.dumps(_lesion0(d)))
    dup["id"] = len(d.doc["lesions"]) + 1
    d.doc["lesions"].append(dup)


def _overlap(plan: Plan, i: int, rng: np.random.Generator) -> None:
    d = plan.deliveries[i]
    shell = np.array(_shell(d))
    shift = (shell[:, 0].max() - shell[:, 0].min()) * 0.4
    other = next(c for c in LESION_CLASSES if c != d.row["diagnosis"])
    _add_lesion(d, other, (shell + np.array([shift, 0.0])).tolist())


def _tiny(plan: Plan, i: int, rng: np.random.Generator) -> None:
    d = plan.deliveries[i]
    cx, cy = _centre(d)
    ring = [[cx + 4 * np.cos(t), cy + 4 * np.sin(t)] for t in np.linspace(0, 2 * np.pi, 12, endpoint=False)]
    _add_lesion(d, d.row["diagnosis"], ring)


def _diagnosis_mismatch(plan: Plan, i: int, rng: np.random.Generator) -> None:
    d = plan.deliveries[i]
    other = next(c for c in LESION_CLASSES if c != d.row["diagnosis"])
    _set_clinical(d, "diagnosis", other)


def _missing_slide(plan: Plan, i: int, rng: np.random.Generator) -> None:
    plan.deliveries[i].write_image = False


def _missing_annotation(plan: Plan, i: int, rng: np.random.Generator) -> None:
    plan.deliveries[i].write_annotation = False


def _orphan(plan: Plan, i: int, rng: np.random.Generator) -> None:
    d = plan.deliveries[i]
    path = f"slides/unlisted_{d.slide_id}.{'tiff' if d.image_kind == 'tiff' else 'jpg'}"
    plan.extra_slides.append((path, d.slide_id))
    plan.extra_truth.append((path, "orphan_slide", "ORPHAN_SLIDE"))


def _duplicate_id(plan: Plan, i: int, rng: np.random.Generator) -> None:
    d, prev = plan.deliveries[i], plan.deliveries[i - 1]
    d.row["slide_id"] = prev.row["slide_id"]
    d.truth_id = prev.row["slide_id"]


def _duplicate_content(plan: Plan, i: int, rng: np.random.Generator) -> None:
    plan.deliveries[i].image_source = plan.deliveries[i - 1].slide_id


def _near_duplicate(plan: Plan, i: int, rng: np.random.Generator) -> None:
    """The previous slide turned upside down and re-encoded, under another patient (a mix-up)."""
    d, prev = plan.deliveries[i], plan.deliveries[i - 1]
    d.image_source, d.image_turned = prev.slide_id, True
    _set_clinical(d, "patient_id", "P9" + str(prev.row.get("patient_id", ""))[2:])


def _corrupt(plan: Plan, i: int, rng: np.random.Generator) -> None:
    plan.deliveries[i].image_bytes = rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()


def _unreadable(plan: Plan, i: int, rng: np.random.Generator) -> None:
    plan.deliveries[i].corrupt_tile = True


def _age_range(plan: Plan, i: int, rng: np.random.Generator) -> None:
    _set_clinical(plan.deliveries[i], "age", 150)


def _bad_sex(plan: Plan, i: int, rng: np.random.Generator) -> None:
    _set_clinical(plan.deliveries[i], "sex", "X")


def _missing_value(plan: Plan, i: int, rng: np.random.Generator) -> None:
    _set_clinical(plan.deliveries[i], "site", "")


def _age_type(plan: Plan, i: int, rng: np.random.Generator) -> None:
    _set_clinical(plan.deliveries[i], "age", "fifty")


def _unknown_diagnosis(plan: Plan, i: int, rng: np.random.Generator) -> None:
    _set_clinical(plan.deliveries[i], "diagnosis", "lymphoma")


def _clinical_mismatch(plan: Plan, i: int, rng: np.random.Generator) -> None:
    d = plan.deliveries[i]
    d.doc["clinical"]["age"] = int(d.row["age"]) + 7


def _bad_date(plan: Plan, i: int, rng: np.random.Generator) -> None:
    _set_clinical(plan.deliveries[i], "acquired_on", "2021-13-45")


DEFECTS: tuple[Defect, ...] = (
    Defect("empty_annotation", "EMPTY_FILE", _empty),
    Defect("invalid_json", "INVALID_JSON", _invalid_json),
    Defect("invalid_encoding", "INVALID_ENCODING", _invalid_encoding),
    Defect("missing_key", "MISSING_KEY", _missing_key),
    Defect("extra_key", "UNKNOWN_KEY", _extra_key, _has_lesion),
    Defect("wrong_type", "WRONG_TYPE", _wrong_type),
    Defect("unknown_class", "CLASS_UNKNOWN", _unknown_class, _has_lesion),
    Defect("non_finite_coordinate", "NON_FINITE_COORDINATE", _non_finite, _has_lesion),
    Defect("too_few_vertices", "TOO_FEW_VERTICES", _too_few),
    Defect("self_intersection", "SELF_INTERSECTION", _self_intersection, _has_lesion),
    Defect("zero_area", "ZERO_AREA", _zero_area),
    Defect("hole_outside_shell", "HOLE_OUTSIDE_SHELL", _hole_outside, _has_lesion),
    Defect("out_of_bounds", "LESION_OUT_OF_BOUNDS", _out_of_bounds, _has_lesion),
    Defect("duplicate_lesion", "DUPLICATE_LESION", _duplicate, _has_lesion),
    Defect("overlapping_classes", "OVERLAPPING_CLASSES", _overlap, _lesion_class),
    Defect("tiny_lesion", "LESION_TOO_SMALL", _tiny),
    Defect("diagnosis_mismatch", "DIAGNOSIS_WITHOUT_LESION", _diagnosis_mismatch, _has_lesion),
    Defect("missing_slide", "SLIDE_MISSING", _missing_slide),
    Defect("missing_annotation", "ANNOTATION_MISSING", _missing_annotation),
    Defect("orphan_slide", "ORPHAN_SLIDE", _orphan, marks_slide=False),
    Defect("duplicate_slide_id", "DUPLICATE_SLIDE_ID", _duplicate_id, _not_first),
    Defect("duplicate_slide_content", "DUPLICATE_SLIDE_CONTENT", _duplicate_content, _not_first),
    Defect("near_duplicate_slide", "NEAR_DUPLICATE_OTHER_PATIENT", _near_duplicate, _not_first),
    Defect("corrupt_slide", "SLIDE_UNOPENABLE", _corrupt),
    Defect("unreadable_slide", "SLIDE_UNREADABLE", _unreadable, _tiff),
    Defect("age_out_of_range", "CLINICAL_OUT_OF_RANGE", _age_range),
    Defect("sex_not_in_set", "CLINICAL_NOT_IN_SET", _bad_sex),
    Defect("missing_clinical_value", "CLINICAL_MISSING_VALUE", _missing_value),
    Defect("age_wrong_type", "CLINICAL_WRONG_TYPE", _age_type),
    Defect("unknown_diagnosis", "CLINICAL_UNKNOWN_CLASS", _unknown_diagnosis),
    Defect("clinical_mismatch", "CLINICAL_MISMATCH", _clinical_mismatch),
    Defect("bad_date", "CLINICAL_BAD_DATE", _bad_date),
)


def inject(plan: Plan, rate: float, rng: np.random.Generator) -> None:
    """Give ``round(rate * n)`` slides one defect each, cycling through every kind in turn."""
    n = len(plan.deliveries)
    budget = min(n, round(rate * n))
    kinds = list(DEFECTS)
    rng.shuffle(kinds)
    # Slides that a later defect copies from or shares an id with must stay clean.
    free = set(range(n))
    k = 0
    attempts = 0
    while budget > 0 and free and attempts < 10 * len(kinds):
        defect = kinds[k % len(kinds)]
        k += 1
        attempts += 1
        candidates = sorted(
            i
            for i in free
            if defect.eligible(plan, i) and (i == 0 or i - 1 in free or not _needs_previous(defect))
        )
        if not candidates:
            continue
        i = int(rng.choice(candidates))
        defect.apply(plan, i, rng)
        budget -= 1
        if not defect.marks_slide:
            continue
        d = plan.deliveries[i]
        d.defect, d.code = defect.name, defect.code
        d.truth_id = d.truth_id or d.slide_id
        free.discard(i)
        if _needs_previous(defect):
            free.discard(i - 1)
            if defect.name == "duplicate_slide_id":
                prev = plan.deliveries[i - 1]
                prev.defect, prev.code, prev.truth_id = defect.name, defect.code, d.truth_id


def _needs_previous(defect: Defect) -> bool:
    return defect.name in ("duplicate_slide_id", "duplicate_slide_content", "near_duplicate_slide")


def truth_csv(plan: Plan) -> str:
    """``slide_id,defect,code``: every slide, empty defect for clean ones."""
    out = io.StringIO()
    out.write("slide_id,defect,code\n")
    seen = set()
    for d in plan.deliveries:
        key = d.truth_id or d.row["slide_id"]
        if (key, d.defect) in seen:
            continue
        seen.add((key, d.defect))
        out.write(f"{key},{d.defect},{d.code}\n")
    for key, defect, code in plan.extra_truth:
        out.write(f"{key},{defect},{code}\n")
    return out.getvalue()
