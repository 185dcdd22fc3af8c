"""A copy of a batch with deliberately corrupted labels, to show that Dice measures validity.

Corruptions, each applied to a share of the slides (never to the source batch):

* ``class``: the slide's class is swapped for another one, consistently in the manifest, the
  annotation's clinical block and every lesion (the labels stay syntactically valid, only wrong);
  the chosen slides' classes are shuffled among them, and a slide that would keep its class gets
  a random other one.
* ``shift``: every lesion of the slide is moved by the same vector, ``shift`` times the mean
  lesion diameter in a random direction, limited so that every outline stays inside the slide
  (a label mask: its pixels are moved, what leaves the image is lost, what enters is background).
* ``erode`` (label masks): every region shrinks by ``erode`` times the mean region radius (a
  careless annotator's tight outlines).
* ``swap`` (label masks): the chosen slides' masks are exchanged in a cycle, each resized to the
  image it lands on (nearest neighbour): well-formed labels of the wrong image.

Native JSON annotations take ``class`` and ``shift``; lossless label masks (PNG, TIFF, BMP)
``shift``, ``erode`` and ``swap``: the kinds asked for are dealt in turn among the chosen slides
of each kind of annotation. ``corruption.csv`` in the copy lists what was done.
Run as ``python -m dqm.validity.corrupt SRC DST [--fraction F] [--seed S] [--kinds ...]``.
"""

from __future__ import annotations

import argparse
import csv
import errno
import io
import json
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dqm.i18n import N_
from dqm.output import (
    WriteRefused,
    csv_cell_limit,
    forget_written,
    refused_write_line,
    visible,
    write_file,
    written,
)
from dqm.pixels.masks import shifted
from dqm.profile import Profile, load_profile

REPORT = "corruption.csv"
MANIFEST = "manifest.csv"
MAX_MANIFEST_BYTES = 256 * 1024 * 1024
"""A manifest larger than this is refused (a link to ``/dev/zero`` would be read for ever)."""
NATIVE_KINDS = ("class", "shift")
MASK_KINDS = ("shift", "erode", "swap")


@dataclass(frozen=True, slots=True)
class Corruption:
    """What was done to one slide's labels."""

    slide_id: str
    kind: str
    detail: str


def _walk(coords: Any, dx: float, dy: float) -> Any:
    if isinstance(coords, list) and coords and isinstance(coords[0], (int, float)):
        return [round(coords[0] + dx, 2), round(coords[1] + dy, 2), *coords[2:]]
    return [_walk(c, dx, dy) for c in coords]


def _points(coords: Any) -> list[tuple[float, float]]:
    if isinstance(coords, list) and coords and isinstance(coords[0], (int, float)):
        return [(float(coords[0]), float(coords[1]))]
    return [p for c in coords for p in _points(c)]


def _shift_vector(doc: dict[str, Any], shift: float, rng: np.random.Generator) -> tuple[float, float] | None:
    from shapely.geometry import shape

    slide = doc.get("slide", {})
    width, height = slide.get("width"), slide.get("height")
    lesions = doc.get("lesions", [])
    if not lesions or not isinstance(width, (int, float)) or not isinstance(height, (int, float)):
        return None
    areas = [shape(les["geometry"]).area for les in lesions]
    diameter = float(np.mean([2 * np.sqrt(a / np.pi) for a in areas]))
    pts = np.array([p for les in lesions for p in _points(les["geometry"]["coordinates"])])
    angle = rng.uniform(0, 2 * np.pi)
    dx, dy = shift * diameter * np.cos(angle), shift * diameter * np.sin(angle)
    # keep every vertex at least one pixel inside the slide
    dx = float(np.clip(dx, 1 - pts[:, 0].min(), width - 1 - pts[:, 0].max()))
    dy = float(np.clip(dy, 1 - pts[:, 1].min(), height - 1 - pts[:, 1].max()))
    return dx, dy


def _is_mask(path: Path) -> bool:
    """A lossless label image (PNG, TIFF, BMP): the formats a mask can be rewritten in exactly."""
    from dqm.readers.mask import kind

    with path.open("rb") as fh:
        return kind(fh.read(32)) in ("PNG", "TIFF", "BMP")


def _special(folder: str, names: list[str]) -> set[str]:
    """The entries of ``folder`` that are neither regular files, folders nor links: the copy
    leaves them out (copying a FIFO waits for a writer, or fails the whole copy)."""
    out = set()
    for name in names:
        mode = os.lstat(os.path.join(folder, name)).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
            out.add(name)
    return out


def _own_file(dst: Path, rel: str) -> Path | None:
    """``dst / rel`` when it is a regular file of the copy itself, else None: a path that climbs
    out of the copy (``../``, an absolute one) or passes through a link leads to files the copy
    must not rewrite (the source batch's own, or any other)."""
    if not rel:
        return None
    path = dst / rel
    try:
        inside = path.resolve(strict=True).relative_to(dst.resolve())
    except (OSError, ValueError, RuntimeError):
        return None
    path = dst.resolve() / inside
    return (
        path
        if path.is_file() and not path.is_symlink() and inside.as_posix() == Path(rel).as_posix()
        else None
    )


def _source_manifest(src: Path) -> bytes:
    """The bytes of ``src/manifest.csv``, when it is a regular file of the batch (or a link to
    one inside it) of at most :data:`MAX_MANIFEST_BYTES`; else ValueError. The copy's manifest is
    written from these, as a file of its own: a link copied as a link led the rewrite back into
    the source batch, and one to ``/dev/zero`` was read without end."""
    path = src / MANIFEST
    try:
        real = path.resolve(strict=True)
        real.relative_to(src.resolve())
        if not stat.S_ISREG(real.stat().st_mode):
            raise ValueError
        with real.open("rb") as fh:
            data = fh.read(MAX_MANIFEST_BYTES + 1)
    except (OSError, RuntimeError, ValueError) as exc:
        raise ValueError(f"{path} must be a regular file inside the batch {src}") from exc
    if len(data) > MAX_MANIFEST_BYTES:
        raise ValueError(f"{path} is larger than {MAX_MANIFEST_BYTES} bytes")
    return data


def _relink(src: Path, dst: Path) -> None:
    """Point the copy's relative links that leave the batch where they pointed from the source:
    ``images -> ../store`` copied as it is leads to ``DST/../store``. A link whose target lies
    inside the batch leads to the copy's own file, relatively (``../../batch/x``, which leaves
    and comes back, to the copy's ``x``); one outside it becomes an absolute link to the
    resolved target."""
    source, copy = src.resolve(), dst.resolve()
    for folder, dirs, files in os.walk(copy):
        for name in dirs + files:
            link = Path(folder) / name
            if not link.is_symlink():
                continue
            target = os.readlink(link)
            if os.path.isabs(target):
                continue
            try:
                resolved = (source / link.parent.relative_to(copy) / target).resolve()
            except (OSError, RuntimeError):  # a loop: left as it is (it leads nowhere either way)
                continue
            if resolved == source or source in resolved.parents:
                new = os.path.relpath(copy / resolved.relative_to(source), link.parent)
            else:
                new = str(resolved)
            link.unlink()
            os.symlink(new, link)


def _load_mask(path: Path) -> tuple[np.ndarray, str | None] | None:
    """The mask's labels and format, read as the audit reads them
    (:func:`dqm.readers.mask.decode_whole`: a palette mask's indices, a big-endian BigTIFF's
    labels); None when it cannot be read or decoded, has more pixels than a mask is decoded whole
    (:data:`dqm.readers.mask.MAX_PIXELS`), is no label image (colour, see-through), or holds labels
    Pillow does not write back (64-bit ones): it is then left as it is."""
    from PIL import Image

    from dqm.readers import read_bytes
    from dqm.readers.common.reader import limits
    from dqm.readers.mask import decode_whole, kind

    content, _, _ = read_bytes(path, limits().annotation_bytes)
    if content is None:
        return None
    array, _, _ = decode_whole(content, path.name)
    if array is None:
        return None
    try:
        Image.fromarray(array[:1, :1])  # what _save_mask writes back
    except (TypeError, ValueError):  # "Cannot handle this data type": uint32, uint64, int64
        return None
    return array, kind(content)


def _save_mask(path: Path, array: np.ndarray, fmt: str | None) -> None:
    from PIL import Image

    Image.fromarray(array).save(path, format=fmt or "PNG")


def _mean_radius(array: np.ndarray) -> float:
    """Mean radius of the mask's regions (connected, any non-zero value), in pixels."""
    from scipy import ndimage

    _, n = ndimage.label(array > 0)
    return float(np.sqrt(np.count_nonzero(array) / max(n, 1) / np.pi))


def _eroded(array: np.ndarray, radius: int) -> np.ndarray:
    """Each value's regions shrunk by ``radius`` pixels (a disc), background where they vanish."""
    from scipy import ndimage

    yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    disc = xx * xx + yy * yy <= radius * radius
    out = np.zeros_like(array)
    for value in np.unique(array):
        if value != 0:
            out[ndimage.binary_erosion(array == value, structure=disc)] = value
    return out


def _corrupt_masks(
    rows: list[dict[str, str]],
    masks: dict[int, Path],
    plan: dict[int, str],
    shift: float,
    erode: float,
    rng: np.random.Generator,
) -> list[Corruption]:
    """Rewrite the chosen label masks in place (in the copy) as ``plan`` says; what was done.
    A mask that cannot be decoded (:func:`_load_mask`) is left as it is."""
    from PIL import Image

    read = {i: _load_mask(masks[i]) for i in plan}
    loaded = {i: r for i, r in read.items() if r is not None}
    plan = {i: kind for i, kind in plan.items() if i in loaded}
    done = []
    cycle = [i for i in plan if plan[i] == "swap"]
    if len(cycle) == 1:  # nothing to swap with: that slide's labels are shifted instead
        plan = {**plan, cycle[0]: "shift"}
        cycle = []
    for i, kind in plan.items():
        array, fmt = loaded[i]
        sid = rows[i]["slide_id"]
        if kind == "shift":
            step = shift * 2 * _mean_radius(array)
            angle = rng.uniform(0, 2 * np.pi)
            dx, dy = round(step * np.cos(angle)), round(step * np.sin(angle))
            _save_mask(masks[i], shifted(array, -dy, -dx), fmt)  # moved by (dx, dy)
            done.append(Corruption(sid, "shift", f"dx={dx} dy={dy} px"))
        elif kind == "erode":
            radius = max(1, round(erode * _mean_radius(array)))
            _save_mask(masks[i], _eroded(array, radius), fmt)
            done.append(Corruption(sid, "erode", f"radius {radius} px"))
    if cycle:
        for src, dst in zip(cycle, cycle[1:] + cycle[:1], strict=True):
            array, fmt = loaded[src]
            target = loaded[dst][0].shape
            moved = Image.fromarray(array).resize((target[1], target[0]), Image.Resampling.NEAREST)
            _save_mask(masks[dst], np.asarray(moved), loaded[dst][1])
            done.append(Corruption(rows[dst]["slide_id"], "swap", f"the mask of {rows[src]['slide_id']}"))
    return done


class _CopyStopped(Exception):
    """An OSError of one file's copy, carried out of :func:`shutil.copytree` (which would keep only
    its text and go on copying the rest onto a full disk)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error)
        self.error = error


class SourceUnreadable(ValueError):
    """A file of the source batch that could not be read (permission denied, an I/O error) stopped
    the copy: a refused input, never a write refused (``path`` is the batch's file, ``error`` the
    system's reason)."""

    def __init__(self, path: str, error: str | None) -> None:
        super().__init__(f"the batch's file {visible(path)} could not be read ({error})")
        self.path, self.error = path, error


COPY_INCOMPLETE = N_("{n} of the batch's files or folders could not be copied into it")

_WRITE_REFUSED = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})
"""What a failed copy raises whichever name it carries: a write refused (``sendfile`` names the
source first even for a full disk)."""


def _source_failed(exc: OSError, source: str, target: str) -> bool:
    """Whether ``exc``, raised while ``source`` was copied to ``target``, is a failure to read the
    source: raised naming the source alone (its opening or its ``stat``), or, where the error
    names both files (``sendfile``) or neither (a plain read or write), when the source cannot be
    read again to its end. A full disk, a quota or a read-only copy is the copy's, whatever it names."""
    if exc.errno in _WRITE_REFUSED:
        return False
    names = {os.fsdecode(name) for name in (exc.filename, exc.filename2) if name is not None}
    if names == {source}:
        return True
    if target in names and source not in names:
        return False
    try:
        with open(source, "rb") as fh:
            while fh.read(1 << 20):
                pass
    except OSError:
        return True
    return False


def _copy_batch(src: Path, dst: Path) -> None:
    """Copy the batch ``src`` to ``dst``: links as links (a link to /dev/zero was read for ever, one
    to a file outside the batch copied that file in), FIFOs, sockets and devices left out. ``dst``
    is recorded as written before the copy starts (:func:`dqm.output.written`: its files are
    changed in place later, and a copy that stops part way leaves those copied so far); a copy that
    fails (a full disk) is a :class:`~dqm.output.WriteRefused` naming ``dst`` with the system's
    reason, never an internal error "no results were written" (``shutil.Error`` has no errno); a
    batch file that cannot be read is a :class:`SourceUnreadable` naming it, not a refused write."""

    def copy(source: str, target: str) -> object:
        try:
            return shutil.copy2(source, target)
        except OSError as exc:
            if _source_failed(exc, os.fsdecode(source), os.fsdecode(target)):
                raise SourceUnreadable(os.fsdecode(source), exc.strerror) from exc
            raise _CopyStopped(exc) from exc

    written(dst)
    try:
        shutil.copytree(src, dst, symlinks=True, ignore=_special, copy_function=copy)
    except _CopyStopped as stopped:
        raise WriteRefused(stopped.error.errno, stopped.error.strerror, str(dst)) from stopped.error
    except shutil.Error as exc:  # a folder, a link or a folder's times: copytree kept only their text
        refused = WriteRefused(None, None, str(dst))
        refused.why, refused.params = COPY_INCOMPLETE, {"n": len(exc.args[0])}
        raise refused from exc
    except OSError as exc:  # the copy's own folder could not be made
        raise WriteRefused(exc.errno, exc.strerror, str(dst)) from exc


def corrupt_batch(
    src: Path,
    dst: Path,
    fraction: float = 0.5,
    seed: int = 0,
    kinds: tuple[str, ...] = ("class", "shift"),
    shift: float = 0.6,
    profile: Profile | None = None,
    force: bool = False,
    erode: float = 0.5,
) -> list[Corruption]:
    """Copy ``src`` to ``dst`` and corrupt the labels of ``round(fraction * n)`` slides.

    Slides are chosen at random (``seed``) among those with a native annotation with lesions or a
    lossless label mask with a region, and the kinds that apply to each are dealt in turn. Returns
    what was done (also written to ``dst/corruption.csv``).
    """
    if not 0 <= fraction <= 1:
        raise ValueError("fraction must be between 0 and 1")
    known = set(NATIVE_KINDS) | set(MASK_KINDS)
    if set(kinds) - known or not kinds:
        raise ValueError(f"kinds must be among {', '.join(sorted(known))} (got {kinds})")
    source, copy = src.resolve(), dst.resolve()
    if copy == source or source in copy.parents or copy in source.parents:
        # with force, the source itself (or a folder holding it) was removed first
        raise ValueError(f"the copy {dst} must lie outside the source batch {src}, and not hold it")
    manifest_bytes = _source_manifest(src)
    if dst.exists() or dst.is_symlink():
        if not force:
            raise FileExistsError(f"{dst} exists (use force to replace it)")
        if dst.is_symlink() or not dst.is_dir():  # a link (dangling or not) is removed, not followed
            dst.unlink()
        else:
            shutil.rmtree(dst)
    _copy_batch(src, dst)
    _relink(src, dst)
    manifest = dst / MANIFEST
    write_file(manifest, manifest_bytes, binary=True)  # a link there is replaced, never written through
    profile = profile or load_profile()
    classes = list(profile.class_ids)
    rng = np.random.default_rng(seed)
    csv_cell_limit()  # raised again, where something lowered it since dqm.output's import
    reader = csv.DictReader(io.StringIO(manifest_bytes.decode("utf-8-sig"), newline=""))
    header = list(reader.fieldnames or [])
    rows = list(reader)
    docs: dict[int, tuple[Path, dict[str, Any]]] = {}
    masks: dict[int, Path] = {}
    for i, row in enumerate(rows):
        path = _own_file(dst, (row.get("annotation_path") or "").strip())
        if path is None:  # none, or not a file of the copy's own: never rewritten
            continue
        if _is_mask(path):
            masks[i] = path
            continue
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            continue
        if isinstance(doc, dict) and isinstance(doc.get("lesions"), list) and doc["lesions"]:
            docs[i] = (path, doc)
    native_kinds = [k for k in kinds if k in NATIVE_KINDS]
    mask_kinds = [k for k in kinds if k in MASK_KINDS]
    eligible = sorted([i for i in docs if native_kinds] + [i for i in masks if mask_kinds])
    n = min(len(eligible), round(fraction * len(rows)))
    chosen = sorted(int(i) for i in rng.choice(eligible, size=n, replace=False)) if n else []
    order = list(rng.permutation(chosen))
    native_order = [i for i in order if i in docs]
    plan = {i: native_kinds[k % len(native_kinds)] for k, i in enumerate(native_order)}
    done: list[Corruption] = []
    class_slides = [i for i in native_order if plan[i] == "class"]
    current = {
        i: profile.resolve_class(rows[i].get("diagnosis"), rows[i].get("institution")) for i in class_slides
    }
    shuffled = list(rng.permutation([current[i] or classes[0] for i in class_slides]))
    for i, new in zip(class_slides, shuffled, strict=True):
        if new == current[i]:
            new = str(rng.choice([c for c in classes if c != current[i]]))
        path, doc = docs[i]
        rows[i]["diagnosis"] = new
        if isinstance(doc.get("clinical"), dict) and "diagnosis" in doc["clinical"]:
            doc["clinical"]["diagnosis"] = new
        for les in doc["lesions"]:
            les["class"] = new
        done.append(Corruption(rows[i]["slide_id"], "class", f"{current[i]} -> {new}"))
    for i in native_order:
        if plan[i] != "shift":
            continue
        path, doc = docs[i]
        vec = _shift_vector(doc, shift, rng)
        if vec is None:
            continue
        for les in doc["lesions"]:
            les["geometry"]["coordinates"] = _walk(les["geometry"]["coordinates"], *vec)
        done.append(Corruption(rows[i]["slide_id"], "shift", f"dx={vec[0]:.1f} dy={vec[1]:.1f} px"))
    for i in plan:
        path, doc = docs[i]
        path.write_text(json.dumps(doc), encoding="utf-8")
    mask_order = [i for i in order if i in masks]
    mask_plan = {i: mask_kinds[k % len(mask_kinds)] for k, i in enumerate(mask_order)}
    done += _corrupt_masks(rows, masks, mask_plan, shift, erode, rng)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_file(manifest, out.getvalue().encode("utf-8"), binary=True)
    report = io.StringIO()
    w = csv.writer(report, lineterminator="\n")
    w.writerow(["slide_id", "kind", "detail"])
    w.writerows((c.slide_id, c.kind, c.detail) for c in sorted(done, key=lambda c: c.slide_id))
    write_file(dst / REPORT, report.getvalue().encode("utf-8"), binary=True)
    return sorted(done, key=lambda c: c.slide_id)


def main(argv: list[str] | None = None) -> None:
    """``python -m dqm.validity.corrupt SRC DST``: write a label-corrupted copy of a batch."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path)
    parser.add_argument("dst", type=Path)
    parser.add_argument("--fraction", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kinds", default="class,shift")
    parser.add_argument("--shift", type=float, default=0.6)
    parser.add_argument("--erode", type=float, default=0.5, help="label masks: share of the mean radius")
    parser.add_argument("--profile", type=Path, help="dataset profile (classes); default: the built-in one")
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    forget_written()  # a new command: a refused write names only what this one wrote before it
    profile = None
    try:
        profile = load_profile(args.profile) if args.profile else None
        done = corrupt_batch(
            args.src,
            args.dst,
            args.fraction,
            args.seed,
            tuple(k.strip() for k in args.kinds.split(",") if k.strip()),
            args.shift,
            profile=profile,
            force=args.force,
            erode=args.erode,
        )
    except SourceUnreadable as exc:  # a refused input, exit code 2: the file named, masked
        line = f"{parser.prog}: {exc}; {_copy_holds(args.dst)}"
        parser.exit(2, _masked(line, profile) + "\n")
    except (ValueError, FileExistsError) as exc:  # a refused source or copy: its reason, exit code 2
        parser.error(str(exc))
    except WriteRefused as exc:  # a full disk, a refused copy: dqm's one line, exit code 4 (as `dqm`'s)
        parser.exit(4, _masked(refused_write_line(exc), profile) + "\n")
    # the copy as typed, escaped as every typed path dqm prints (a newline in it forged a line)
    # and masked as its error lines are (a copy named with an identifier printed it whole)
    line = f"corrupted {len(done)} slides; see {visible(str(args.dst / REPORT), newlines=False)}"
    print(_masked(line, profile))


def _copy_holds(dst: Path) -> str:
    """What is left of the copy ``dst`` after a batch file could not be read."""
    return f"the copy {visible(str(dst))} holds the files copied before it"


def _masked(line: str, profile: Profile | None) -> str:
    """``line`` masked as dqm's commands mask what they print (the profile's identifier patterns,
    the user's masking key; a random key where that key cannot be read: masked all the same)."""
    import secrets

    from dqm.identifiers import Masker, load_mask_key

    deid = (profile or load_profile()).deid
    if not deid.enabled:
        return line
    try:
        key = load_mask_key()
    except (OSError, ValueError):
        key = secrets.token_bytes(32)
    return Masker(deid, key)(line)


if __name__ == "__main__":
    main()
