"""Discovering a batch: which slides and annotation files it holds and how they pair.

A batch is a folder (``docs/batch-format.md``). With a ``manifest.csv`` the manifest is the
contract: one row per slide, paths relative to the batch folder. Without one, slides and
annotation files are paired by file stem and clinical data comes from the annotation files.
Discovery only lists and reads the manifest; it never opens slides and never writes.
"""

from __future__ import annotations

import csv
import io
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from dqm.model import Item
from validators.context import DiscoveryIssue

MANIFEST = "manifest.csv"
PATH_COLUMNS = ("slide_id", "image_path", "annotation_path")
SLIDE_SUFFIXES = frozenset(
    {
        ".svs",
        ".tif",
        ".tiff",
        ".ndpi",
        ".vms",
        ".vmu",
        ".scn",
        ".mrxs",
        ".svslide",
        ".bif",
        ".dcm",
        ".png",
        ".jpg",
        ".jpeg",
    }
)
ANNOTATION_SUFFIXES = frozenset({".json", ".geojson", ".xml", ".annotations"})
# dqm's own bookkeeping beside a batch: truth.csv (dqm synth), corruption.csv (dqm.validity.corrupt)
IGNORED_NAMES = frozenset({MANIFEST, "truth.csv", "corruption.csv", "README.md", "README.txt"})


def suffix(path: str) -> str:
    """The file's extension in lower case (string operations: this runs once per file)."""
    name = path.rsplit("/", 1)[-1]
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def stem(path: str) -> str:
    """File name without its extension (and without ``.ome`` before ``.tif``)."""
    name = path.rsplit("/", 1)[-1]
    dot = name.rfind(".")
    name = name[:dot] if dot > 0 else name
    return name[:-4] if name.lower().endswith(".ome") else name


@dataclass(slots=True)
class Discovery:
    """What is in a batch folder and how it pairs up."""

    root: Path
    items: list[Item]
    manifest: str | None = None
    manifest_cells: int = 0
    """Cells of the manifest's path columns (value-grain denominator for the manifest)."""
    issues: list[DiscoveryIssue] = field(default_factory=list)
    slide_files: list[str] = field(default_factory=list)
    annotation_files: list[str] = field(default_factory=list)


def list_files(root: Path) -> tuple[list[str], list[str], list[str]]:
    """Slide files, annotation files and the other files under ``root`` (relative POSIX paths,
    sorted; hidden files, :data:`IGNORED_NAMES` and MIRAX data folders left out of the last)."""
    slides, annotations, others = [], [], []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        prefix = "" if rel_dir == "." else rel_dir + "/"
        for name in sorted(filenames):
            if name.startswith(".") or name in IGNORED_NAMES:
                continue
            rel = prefix + name
            ext = suffix(name)
            if ext in SLIDE_SUFFIXES:
                slides.append(rel)
            elif ext in ANNOTATION_SUFFIXES:
                annotations.append(rel)
            else:
                others.append(rel)
    # a MIRAX slide is X.mrxs plus a folder X/ of data files beside it
    mirax = tuple(s[: -len(".mrxs")] + "/" for s in slides if suffix(s) == ".mrxs")
    return slides, annotations, [o for o in others if not o.startswith(mirax)]


def normalise(rel: str) -> tuple[str, bool]:
    """A manifest path as a clean relative POSIX path, and whether it leaves the batch folder."""
    cleaned = rel.strip().replace("\\", "/")
    norm = os.path.normpath(cleaned).replace(os.sep, "/") if cleaned else ""
    outside = cleaned.startswith("/") or norm == ".." or norm.startswith("../")
    return norm, outside


def discover(root: Path) -> Discovery:
    """List the batch and pair its files into items."""
    slides, annotations, others = list_files(root)
    manifest_path = root / MANIFEST
    disc = Discovery(root=root, items=[], slide_files=slides, annotation_files=annotations)
    for rel in others:
        disc.issues.append(
            DiscoveryIssue(
                "FILE_NOT_READ",
                f"not a slide or annotation file dqm reads (extension {suffix(rel) or 'none'!r}): not "
                "checked; move it out of the batch, or give it its format's extension",
                file=rel,
            )
        )
    if manifest_path.is_file():
        disc.manifest = MANIFEST
        if _read_manifest(manifest_path, disc, slides, annotations):
            _orphans(disc)
            return disc
    _pair_by_stem(disc, slides, annotations)
    if not disc.items:
        disc.issues.append(
            DiscoveryIssue("EMPTY_BATCH", "no slide or annotation files found", item_id="batch")
        )
    return disc


def _read_manifest(path: Path, disc: Discovery, slides: list[str], annotations: list[str]) -> bool:
    """Items from the manifest; False when it cannot be used (the caller pairs by stem)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
        rows = _csv_rows(text, disc)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        disc.issues.append(
            DiscoveryIssue(
                "MANIFEST_UNREADABLE",
                f"cannot read the manifest ({exc}); files paired by name instead",
                file=MANIFEST,
            )
        )
        return False
    if not rows or not any(c.strip() for c in rows[0]):
        disc.issues.append(
            DiscoveryIssue(
                "MANIFEST_UNREADABLE",
                "the manifest has no header row; files paired by name instead",
                file=MANIFEST,
            )
        )
        return False
    header = [c.strip() for c in rows[0]]
    first: dict[str, int] = {}
    for i, name in enumerate(header):
        if name and name in first:
            disc.issues.append(
                DiscoveryIssue(
                    "MANIFEST_DUPLICATE_COLUMN",
                    f"column {name!r} appears twice (columns {first[name] + 1} and {i + 1}); "
                    "the first one is used",
                    file=MANIFEST,
                    column=name,
                )
            )
            header[i] = ""  # ignored like an unnamed column: the first one holds the value
        first.setdefault(name, i)
    if "slide_id" not in header:
        disc.issues.append(
            DiscoveryIssue(
                "MANIFEST_MISSING_COLUMN",
                "no slide_id column; files paired by name instead",
                file=MANIFEST,
                column="slide_id",
            )
        )
        return False
    for col in PATH_COLUMNS[1:]:
        if col not in header:
            disc.issues.append(
                DiscoveryIssue(
                    "MANIFEST_MISSING_COLUMN",
                    f"no {col} column: files are looked up by slide_id",
                    file=MANIFEST,
                    column=col,
                )
            )
    by_stem_slide = _by_stem(slides)
    by_stem_ann = _by_stem(annotations)
    path_cols = [c for c in PATH_COLUMNS if c in header]
    for n, cells in enumerate(rows[1:], start=1):
        if not any(c.strip() for c in cells):
            continue  # blank line
        if len(cells) != len(header):
            disc.issues.append(
                DiscoveryIssue(
                    "MANIFEST_BAD_ROW",
                    f"row has {len(cells)} cells, the header {len(header)}",
                    file=MANIFEST,
                    row=n,
                )
            )
        record = {h: (cells[i] if i < len(cells) else None) for i, h in enumerate(header) if h}
        slide_id = (record.get("slide_id") or "").strip()
        if not slide_id:
            slide_id = f"{MANIFEST}:row{n}"
            disc.issues.append(
                DiscoveryIssue(
                    "MANIFEST_EMPTY_SLIDE_ID",
                    "row has no slide_id",
                    file=MANIFEST,
                    row=n,
                    column="slide_id",
                    item_id=slide_id,
                )
            )
        image = _path_cell(record, "image_path", slide_id, by_stem_slide)
        annotation = _path_cell(record, "annotation_path", slide_id, by_stem_ann)
        clinical = {k: v for k, v in record.items() if k not in PATH_COLUMNS}
        disc.items.append(Item(slide_id, image, annotation, clinical, n))
        disc.manifest_cells += len(path_cols)
    return True


def _csv_rows(text: str, disc: Discovery) -> list[list[str]]:
    """The manifest's rows. CSV that breaks the syntax (an unclosed quote swallows the rest of
    the file, text after a closing quote) is read leniently, as before, but reported with the
    line where it breaks: the lenient reading may have merged or cut cells."""
    try:
        return list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        reader = csv.reader(io.StringIO(text, newline=""))
        rows = list(reader)  # csv.Error here (a field over the size limit): the caller reports it
        line = _error_line(text)
        disc.issues.append(
            DiscoveryIssue(
                "MANIFEST_UNREADABLE",
                f"not valid CSV in the row starting at line {line} ({exc}); "
                "the rows from there may be merged or cut",
                file=MANIFEST,
                line=line,
            )
        )
        return rows


def _error_line(text: str) -> int:
    """The physical line where the record that breaks strict parsing starts (an unclosed quote
    is only noticed at the end of the file)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    last_good = 0
    try:
        for _ in reader:
            last_good = reader.line_num
    except csv.Error:
        pass
    return last_good + 1


def _path_cell(
    record: dict[str, str | None], column: str, slide_id: str, by_stem: dict[str, list[str]]
) -> str | None:
    if column in record:
        value = (record[column] or "").strip()
        return value or None
    found = by_stem.get(slide_id, [])
    return found[0] if len(found) == 1 else None


def _by_stem(paths: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for p in paths:
        out[stem(p)].append(p)
    return out


def _orphans(disc: Discovery) -> None:
    referenced = set()
    for item in disc.items:
        for p in (item.image_path, item.annotation_path):
            if p:
                referenced.add(normalise(p)[0])
    for files, code, what in (
        (disc.slide_files, "ORPHAN_SLIDE", "slide"),
        (disc.annotation_files, "ORPHAN_ANNOTATION", "annotation"),
    ):
        for f in files:
            if f not in referenced and not _is_companion(f, referenced):
                disc.issues.append(
                    DiscoveryIssue(code, f"{what} file is not referenced by the manifest", file=f, item_id=f)
                )


def _is_companion(path: str, referenced: set[str]) -> bool:
    """DICOM series: every ``.dcm`` beside a referenced ``.dcm`` belongs to the same slide."""
    if suffix(path) != ".dcm":
        return False
    parent = PurePosixPath(path).parent
    return any(suffix(r) == ".dcm" and PurePosixPath(r).parent == parent for r in referenced)


def _pair_by_stem(disc: Discovery, slides: list[str], annotations: list[str]) -> None:
    slide_by, ann_by = _by_stem(slides), _by_stem(annotations)
    for key in sorted(slide_by.keys() | ann_by.keys()):
        s_list, a_list = slide_by.get(key, []), ann_by.get(key, [])
        for i in range(max(len(s_list), len(a_list))):
            image = s_list[i] if i < len(s_list) else None
            annotation = a_list[i] if i < len(a_list) else None
            disc.items.append(Item(key, image, annotation, {}, None))
