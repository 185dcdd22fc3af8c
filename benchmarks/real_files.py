"""The real-file results table: every file in ../shared/data/real and what dqm makes of it.

    .venv/bin/python benchmarks/real_files.py [--real PATH]    # prints Markdown tables

Annotation files go through the readers (format detected by content) and the item checks that
need no slide; slides through the probe and the slide and de-identification checks. Each row
says the format detected and the counts read (lesions, vertices, holes, classes), or the
findings that say why not. Times are wall-clock for one read (after a warm-up that imports the
libraries), reading and checking included.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

from dqm.model import Item
from dqm.profile import load_profile
from dqm.readers import merged, read_annotation, resolve_classes
from dqm.runner import run_item_checks
from dqm.slide_io import probe_slide
from validators.context import FileStatus, ItemView
from validators.engine import configure

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REAL = ROOT.parent / "shared" / "data" / "real"


def _codes(findings) -> str:
    counts = Counter(f.code for f in findings)
    return ", ".join(f"{c}×{n}" if n > 1 else c for c, n in sorted(counts.items())) or "–"


def annotation_rows(real: Path, profile, checks) -> list[list[str]]:
    rows = []
    for path in sorted((real / "annotations").rglob("*")):
        if not path.is_file():
            continue
        t0 = time.perf_counter()
        anns = resolve_classes(read_annotation(path, path.name), profile)
        ann = anns[0] if len(anns) == 1 else merged(anns)
        item = Item(path.stem, None, path.name, {}, None)
        view = ItemView(item, profile, ann, None, FileStatus(None, False), FileStatus(path.name, True), False)
        found = [f for f in run_item_checks(view, checks) if f.code not in ("CLASS_UNKNOWN",)]
        ms = (time.perf_counter() - t0) * 1000
        lesions = ann.lesions
        classes = Counter(les.raw_class for les in lesions)
        unknown = sum(1 for les in lesions if les.label is None and les.raw_class is not None)
        rows.append(
            [
                str(path.relative_to(real / "annotations")),
                ann.format + (f" ({len(anns)} images)" if len(anns) > 1 else ""),
                str(len(lesions)),
                str(sum(les.n_vertices for les in lesions)),
                str(sum(les.n_holes for les in lesions)),
                ", ".join(f"{k if k is not None else '∅'}×{v}" for k, v in sorted(classes.items(), key=str))
                or "–",
                str(unknown),
                _codes(found),
                f"{ms:.0f}",
            ]
        )
    return rows


def slide_rows(real: Path, profile, checks) -> list[list[str]]:
    rows = []
    paths = sorted((real / "slides").iterdir()) + sorted((real / "images").iterdir())
    for path in paths:
        t0 = time.perf_counter()
        probe = probe_slide(path, path.name)
        item = Item(path.stem, path.name, None, {}, None)
        view = ItemView(item, profile, None, probe, FileStatus(path.name, True), FileStatus(None, False))
        found = [f for f in run_item_checks(view, checks) if f.check.startswith(("slide.", "deid."))]
        ms = (time.perf_counter() - t0) * 1000
        size = f"{probe.width}×{probe.height}" if probe.width else "–"
        mpp = f"{probe.mpp_x:.4g}" if probe.mpp_x else "–"
        tissue = f"{probe.tissue.tissue_fraction:.0%} ({probe.tissue.source})" if probe.tissue else "–"
        rows.append(
            [
                str(path.relative_to(real)),
                f"{probe.backend or 'none'} / {probe.vendor or '–'}",
                size,
                str(probe.level_count),
                mpp,
                probe.compression or "–",
                tissue,
                _codes(found),
                f"{ms:.0f}",
            ]
        )
    return rows


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, default=DEFAULT_REAL)
    args = parser.parse_args()
    profile = load_profile()
    checks = configure(profile)
    # warm-up, untimed: the first probe and parse import openslide, tifffile, scipy, defusedxml
    probe_slide(args.real / "slides" / "small.svs", "small.svs")
    read_annotation(args.real / "annotations" / "halo" / "test_types.annotations", "t")
    print("## Annotation files\n")
    print("CLASS_UNKNOWN (one per lesion whose class is not in the taxonomy) is counted in 'unmapped'.\n")
    print(
        table(
            [
                "file",
                "format",
                "lesions",
                "vertices",
                "holes",
                "classes as written",
                "unmapped",
                "findings",
                "ms",
            ],
            annotation_rows(args.real, profile, checks),
        )
    )
    print("\n## Slides and images\n")
    print(
        table(
            ["file", "backend / vendor", "size", "levels", "mpp", "codec", "tissue", "findings", "ms"],
            slide_rows(args.real, profile, checks),
        )
    )
    masks = sorted(p.name for p in (args.real / "masks").iterdir())
    print(
        f"\nmasks/ ({', '.join(masks)}): reference tissue masks, compared in tests/slides/test_real_slides.py."
    )


if __name__ == "__main__":
    main()
