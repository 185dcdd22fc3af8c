"""Real H&E from other sites and organs, held out: assembled from public GitHub snapshots by a
rule fixed before any measurement, each file checked against a committed sha256.

    .venv/bin/python benchmarks/external_he.py --mirror-root /work/.mirror --out /tmp/external-he
    .venv/bin/python benchmarks/external_he.py --mirror-root /work/.mirror --select  # rewrite the list

The list, ``benchmarks/external_he.tsv`` (repo, commit, path, sha256, size, organ, site, source,
µm per pixel, licence), is what the benchmarks measure: ``--out`` copies each file from the git
mirrors (``MIRROR_ROOT/OWNER+NAME/repo``, as the ``fetch`` tool of a session leaves them) into
``DIR`` and writes ``DIR/external_he.tsv`` (the list with each copy's file name). Nothing is
downloaded: a missing mirror is named with the ``fetch`` source to use, a missing commit or file
and a file whose sha256 differs from the list are named too, and the command exits 1 with the
folder holding only the files that matched. The images are not committed (licences below).

The rule (written down before any image was probed; ``--select`` applies it to the mirrors):

1. Sources: the test folders (``mini_test/images``; MoNuSAC's ``MoNuSAC-mini-test/images``) of the
   repositories in :data:`SOURCES`, at their snapshots' commits. They are H&E of other sites than
   the shared data: TCGA (MoNuSeg 2018 test, MoNuSAC 2020 test, BCSS, PanNuke), the Institut Curie
   (TNBC, breast), oral cavity (OCDC), DigestPath (colon, China, via Lizard), EBHI-Seg (colorectal
   biopsies, China). Nothing of GlaS or of the files in ``shared/data/real``: Lizard's ``glas_*``
   crops are left out, and so are its ``crag_*`` and ``consep_*`` crops (CRAG and CoNSeP come from
   the hospital that GlaS comes from).
2. Whole images only: a file whose name says it is an augmented copy is left out
   (``deformed_``, ``distorted_``, rotations by other than a right angle), except right-angle
   rotations and flips (``rotated_90_``, ``rotated_180_``, ``rotated_270_``, ``hflipped_``,
   ``vflipped_``), which move the pixels of a real image and make none. One file per source image
   (the name without those prefixes): the first in path order.
3. At least 256 pixels a side (the probe needs tissue to measure); a file listed in the snapshot
   but absent from it (too large for the store) is left out; byte-identical files once.
4. At most :data:`PER_SOURCE` images of one patient or slide, across repositories (the TCGA
   patient: the barcode's first three fields; OCDC's slide number; EBHI's case number; elsewhere
   the repository states none and each image is its own source), the first in :data:`SOURCES`
   order, then path order.
5. H&E only: the images were viewed for their stain only and :data:`NOT_HE` lists what was left
   out and why. Nothing is left out for how it looks otherwise (a pen mark, a fold, a bubble in a
   real image stays: flagged, it counts as a false positive, as it would for a user).

How the set differs from the shared data: every image is a patch of a slide (no glass in it; the
benchmark lays the same glass margin around each), most re-encoded as JPEG by the repository,
some resized (PanNuke's 256 px patches and EBHI's 224 px to 512, TNBC's 512 to 640), at 20x to
40x (:data:`SOURCES` gives the µm per pixel where the dataset states it; unstated, the probe is
told none: blur is then not measured, and folds and bubbles are judged at the working image's
scale), stained in each site's own batches.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

LIST = Path(__file__).with_suffix(".tsv")
MANIFEST = "external_he.tsv"
"""The list as assembled, in ``--out``: each row with its file name (column ``file``)."""
COLUMNS = (
    "repo",
    "commit",
    "path",
    "sha256",
    "width",
    "height",
    "organ",
    "site",
    "source",
    "mpp",
    "licence",
)
PER_SOURCE = 2
"""Images of one patient or slide at most (rule 4)."""
MIN_SIDE = 256
"""Pixels a side at least (rule 3)."""
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
"""The files of a source's folder that are looked at (the folder may hold a README or code too)."""


class Source(NamedTuple):
    repo: str
    folder: str
    """The folder of the images in the repository; empty: the whole snapshot."""
    site: str
    organ: str
    """The organ where the repository states one for all its images; ``tcga``: from the barcode's
    tissue source site (:data:`TCGA_SITES`); empty: not stated per image."""
    mpp: str
    """µm per pixel of the files as stored, where the dataset states its magnification and the
    repository its resizing; empty: unstated."""
    licence: str


SOURCES = (
    Source(
        "sarah-antillia/Tiled-ImageMask-Dataset-MoNuSeg",
        "mini_test/images",
        "TCGA (MoNuSeg 2018 test, 40x, 1000 px kept)",
        "tcga",
        "0.25",
        "CC BY-NC-SA 4.0",
    ),
    Source(
        "sarah-antillia/ImageMask-Dataset-MoNuSAC-2020",
        "MoNuSAC-mini-test/images",
        "TCGA (MoNuSAC 2020 test, 40x)",
        "tcga",
        "0.25",
        "CC BY-NC-SA 4.0",
    ),
    Source(
        "sarah-antillia/Tensorflow-Image-Segmentation-Breast-Cancer-Histopathological-Images",
        "projects/TensorflowSlightlyFlexibleUNet/Breast-Cancer/mini_test/images",
        "TCGA (BCSS regions)",
        "breast",
        "",
        "CC0 1.0",
    ),
    Source(
        "sarah-antillia/Tensorflow-Image-Segmentation-PanNuke",
        "projects/TensorflowSlightlyFlexibleUNet/PanNuke/mini_test/images",
        "PanNuke (40x, 256 px resized to 512)",
        "",
        "0.125",
        "",
    ),
    Source(
        "sarah-antillia/Tensorflow-Image-Segmentation-Triple-Negative-Breast-Cancer",
        "projects/TensorflowSlightlyFlexibleUNet/TNBC/mini_test/images",
        "Institut Curie (TNBC, 40x, 512 px resized to 640)",
        "breast",
        "0.2",
        "",
    ),
    Source(
        "sarah-antillia/Tensorflow-Image-Segmentation-OCDC",
        "projects/TensorflowSlightlyFlexibleUNet/OCDC/mini_test/images",
        "OCDC (oral squamous cell carcinoma)",
        "oral cavity",
        "",
        "CC BY 4.0",
    ),
    Source(
        "sarah-antillia/TensorFlow-FlexUNet-Image-Segmentation-Lizard",
        "projects/TensorFlowFlexUNet/Lizard/mini_test/images",
        "Lizard (DigestPath, PanNuke crops; 20x)",
        "colon",
        "0.5",
        "",
    ),
    Source(
        "sarah-antillia/TensorFlow-FlexUNet-Image-Segmentation-EBHI-Colorectal-Cancer",
        "projects/TensorFlowFlexUNet/EBHI-Colorectal-Cancer/mini_test/images",
        "EBHI-Seg (enteroscope biopsies, 400x, 224 px resized to 512)",
        "colorectum",
        "",
        "",
    ),
)
LEFT_OUT_PREFIXES = ("glas_", "crag_", "consep_")
"""Lizard's crops of GlaS and of the datasets from GlaS's hospital (rule 1)."""
KEPT_AUGMENTATION = re.compile(r"^(?:rotated_(?:90|180|270)_|hflipped_|vflipped_)")
AUGMENTED = re.compile(r"^(?:deformed_|distorted_|rotated_|shrinked_|sharpened_|barrel|pincushion)")
NOT_HE: dict[str, str] = {}
"""``repo:path`` -> why it was left out (rule 5: a stain other than H&E)."""
TCGA_SITES = {
    "2Z": "kidney",
    "44": "lung",
    "49": "lung",
    "50": "lung",
    "55": "lung",
    "69": "lung",
    "73": "lung",
    "78": "lung",
    "A2": "breast",
    "A6": "colon",
    "AC": "breast",
    "AO": "breast",
    "CU": "bladder",
    "DW": "kidney",
    "EJ": "prostate",
    "F9": "kidney",
    "FG": "brain",
    "G9": "prostate",
    "GL": "kidney",
    "HC": "prostate",
    "HT": "brain",
    "IZ": "kidney",
    "MP": "lung",
    "ZF": "bladder",
}
"""TCGA tissue source site (the barcode's second field) -> organ, for the TCGA images (the
repositories name the organs of the whole set, not of each image)."""


def git_dir(mirror_root: Path, repo: str) -> Path:
    """The git directory of ``repo``'s mirror (``OWNER+NAME/repo``, bare or with a ``.git``)."""
    base = mirror_root / repo.replace("/", "+") / "repo"
    return base / ".git" if (base / ".git").is_dir() else base


def _git(gd: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "--git-dir", str(gd), *args], capture_output=True, check=False)


def _source_key(repo: str, stem: str) -> str:
    """The patient or slide an image is of (rule 4)."""
    tcga = re.match(r"^(TCGA-[A-Z0-9]{2}-[A-Z0-9]{4})", stem)
    if tcga:
        return tcga.group(1)
    if repo.endswith("OCDC"):
        return "ocdc:" + stem.split("_r")[0]
    if repo.endswith("EBHI-Colorectal-Cancer"):
        return "ebhi:" + stem.split("-")[1]
    return f"{repo}:{stem}"


def _organ(source: Source, stem: str) -> str:
    if source.organ != "tcga":
        if source.repo.endswith("Lizard") and stem.startswith("pannuke_"):
            return ""
        return source.organ
    tcga = re.match(r"^TCGA-([A-Z0-9]{2})-", stem)
    return TCGA_SITES.get(tcga.group(1), "") if tcga else ""


class Rule(NamedTuple):
    """What a selection depends on: the rule of a list's docstring as data."""

    sources: tuple[Source, ...]
    source_key: Callable[[str, str], str]
    """(repo, name without augmentation prefixes) -> the patient or slide (rule 4)."""
    organ: Callable[[Source, str], str]
    not_he: dict[str, str]
    left_out: tuple[str, ...]
    """Name prefixes of images of other datasets than the source's own (rule 1)."""
    augmented: re.Pattern[str]
    taken: dict[str, str]
    """sha256 or patient/slide key -> the set it belongs to already (none of them is listed)."""
    left_out_path: Callable[[str, str], str] = lambda repo, path: ""
    """(repo, path) -> why the rule leaves this file out (a list's own rule); empty: kept."""
    repeats: Callable[[], Callable[[str, bytes], str]] = lambda: lambda path, data: ""
    """A fresh check per selection: (path, file) of an image that passed every other check -> why it
    repeats an image listed before it (a list's own rule; the check remembers what it let through);
    empty: listed."""


def this_rule() -> Rule:
    """The rule of this module's docstring (read at call time, so a test may replace a part)."""
    return Rule(SOURCES, _source_key, _organ, NOT_HE, LEFT_OUT_PREFIXES, AUGMENTED, {})


def taken_by(lists: tuple[Path, ...], sums: Path | None = None) -> dict[str, str]:
    """The sha256 and patient/slide keys of other sets, each mapped to the set's file name: every row
    of ``lists`` (lists of :data:`COLUMNS`) and every checksum of ``sums`` (``sha256sum`` output; an
    absent file is not compared)."""
    out: dict[str, str] = {}
    if sums is not None and sums.is_file():
        for line in sums.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out[line.split()[0]] = "shared/data/real"
    for listed in lists:
        for row in read_list(listed):
            out[row["sha256"]] = out[row["source"]] = listed.name
    return out


class Files(NamedTuple):
    """One source's files as :func:`select` reads them."""

    commit: str
    """The version read (a mirror's commit; the list's ``commit`` column)."""
    listing: list[tuple[str, bool]]
    """(path, present) of every file in the source's folder; absent: listed but not stored."""
    read: Callable[[str], bytes]
    """path -> the file's bytes."""


def mirror_files(mirror_root: Path, source: Source) -> Files | str:
    """``source``'s folder in its git mirror at the snapshot's commit; a string: why it cannot be
    read (no mirror, with the ``fetch`` source to use)."""
    gd = git_dir(mirror_root, source.repo)
    commit = _git(gd, "rev-parse", "HEAD").stdout.decode().strip()
    if not commit:
        return f"{source.repo}: no mirror (fetch github:{source.repo})"
    within = ["--", source.folder + "/"] if source.folder else []
    listing = _git(gd, "ls-tree", "-r", "-l", commit, *within).stdout.decode()
    files = []
    for line in listing.splitlines():
        meta, path = line.split("\t", 1)
        files.append((path, meta.split()[3] not in ("-", "BAD")))
    return Files(commit, files, lambda path: _git(gd, "cat-file", "blob", f"{commit}:{path}").stdout)


def mirror_row(mirror_root: Path, row: dict[str, str]) -> bytes | str:
    """A listed file's bytes from its git mirror; a string: why not (the mirror, the commit or the
    file missing, with the ``fetch`` source to use)."""
    gd = git_dir(mirror_root, row["repo"])
    if not gd.is_dir():
        return f"no mirror under {mirror_root} (fetch github:{row['repo']})"
    got = _git(gd, "cat-file", "blob", f"{row['commit']}:{row['path']}")
    if got.returncode != 0:
        return f"not in the mirror (commit or file missing; fetch github:{row['repo']} again)"
    return got.stdout


class Access(NamedTuple):
    """Where a list's files come from: the command-line flag naming the folder they lie in, its
    default, and how a source's files (:func:`select`) and a listed file (:func:`assemble`) are read
    from it."""

    flag: str
    default: Path
    files: Callable[[Path, Source], Files | str]
    read_row: Callable[[Path, dict[str, str]], bytes | str]


MIRRORS = Access("--mirror-root", Path("/work/.mirror"), mirror_files, mirror_row)
"""The git mirrors the ``fetch`` tool leaves (sets 1 to 5)."""


def select(
    mirror_root: Path, rule: Rule | None = None, access: Access = MIRRORS
) -> tuple[list[dict[str, str]], list[str]]:
    """The list by the rule (rows of :data:`COLUMNS`), and a line per image file (a name ending in
    one of :data:`IMAGE_SUFFIXES`) left out saying why; other files are not looked at. The sources'
    files are read by ``access`` from under ``mirror_root``."""
    from PIL import Image

    rule = rule or this_rule()
    rows: list[dict[str, str]] = []
    notes: list[str] = []
    seen_sha: set[str] = set()
    per_source: dict[str, int] = {}
    repeats = rule.repeats()
    for source in rule.sources:
        files = access.files(mirror_root, source)
        if isinstance(files, str):
            notes.append(files)
            continue
        commit = files.commit
        images: dict[str, tuple[str, str]] = {}
        for path, present in sorted(files.listing):
            name = path.rsplit("/", 1)[-1]
            if not name.lower().endswith(IMAGE_SUFFIXES):
                continue
            stem = name.rsplit(".", 1)[0]
            own = KEPT_AUGMENTATION.sub("", stem)
            below = path[len(source.folder) + 1 :] if source.folder else path
            # The rule reads the file's own name; the subfolder only tells same-named files apart.
            plain = below.rsplit("/", 1)[0] + "/" + own if "/" in below else own
            why = ""
            if own.startswith(rule.left_out):
                why = "GlaS or its hospital"
            elif rule.augmented.match(own):
                why = "augmented copy"
            elif not present:
                why = "absent from the snapshot"
            elif plain in images:
                why = f"a copy of {images[plain][0]}"
            elif f"{source.repo}:{path}" in rule.not_he:
                why = rule.not_he[f"{source.repo}:{path}"]
            else:
                why = rule.left_out_path(source.repo, path)
            if why:
                notes.append(f"{source.repo}:{path}: {why}")
                continue
            images[plain] = (path, own)
        for plain, (path, own) in images.items():
            data = files.read(path)
            sha = hashlib.sha256(data).hexdigest()
            try:
                with Image.open(io.BytesIO(data)) as img:
                    width, height = img.size
            except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
                notes.append(f"{source.repo}:{path}: not an image PIL can read ({type(exc).__name__})")
                continue
            key = rule.source_key(source.repo, own)
            if key == f"{source.repo}:{own}" and plain != own:  # no patient named: the image itself
                key = f"{source.repo}:{plain}"
            why = ""
            if min(width, height) < MIN_SIDE:
                why = f"{width}x{height}, under {MIN_SIDE} px a side"
            elif sha in rule.taken:
                why = f"byte-identical to a file of {rule.taken[sha]}"
            elif key in rule.taken:
                why = f"{key} is a patient or slide of {rule.taken[key]}"
            elif sha in seen_sha:
                why = "byte-identical to a file listed"
            elif per_source.get(key, 0) >= PER_SOURCE:
                why = f"{PER_SOURCE} images of {key} listed already"
            else:
                why = repeats(f"{source.repo}:{path}", data)
            if why:
                notes.append(f"{source.repo}:{path}: {why}")
                continue
            seen_sha.add(sha)
            per_source[key] = per_source.get(key, 0) + 1
            rows.append(
                {
                    "repo": source.repo,
                    "commit": commit,
                    "path": path,
                    "sha256": sha,
                    "width": str(width),
                    "height": str(height),
                    "organ": rule.organ(source, own),
                    "site": source.site,
                    "source": key,
                    "mpp": source.mpp,
                    "licence": source.licence,
                }
            )
    return rows, notes


def read_list(path: Path = LIST) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def write_list(rows: list[dict[str, str]], path: Path, columns: tuple[str, ...] = COLUMNS) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.DictWriter(f, fieldnames=columns, delimiter="\t", lineterminator="\n")
        out.writeheader()
        out.writerows(rows)


def file_name(row: dict[str, str]) -> str:
    """The copy's name in ``--out``: the repository's name and the file's (unique in the list)."""
    return f"{row['repo'].split('/', 1)[1]}__{row['path'].rsplit('/', 1)[-1]}"


def assemble(
    rows: list[dict[str, str]],
    mirror_root: Path,
    out: Path,
    name_of: Callable[[dict[str, str]], str] = file_name,
    read_row: Callable[[Path, dict[str, str]], bytes | str] = mirror_row,
) -> tuple[list[dict[str, str]], list[str]]:
    """Copy each listed file (read by ``read_row`` from under ``mirror_root``) into ``out`` when its
    sha256 matches the list: the rows copied (each with ``file``), and a line per row not copied
    saying why. ``out``'s manifest lists the rows copied."""
    out.mkdir(parents=True, exist_ok=True)
    copied: list[dict[str, str]] = []
    problems: list[str] = []
    for row in rows:
        where = f"{row['repo']}@{row['commit'][:12]}:{row['path']}"
        got = read_row(mirror_root, row)
        if isinstance(got, str):
            problems.append(f"{where}: {got}")
            continue
        sha = hashlib.sha256(got).hexdigest()
        if sha != row["sha256"]:
            problems.append(f"{where}: sha256 {sha}, the list says {row['sha256']}")
            continue
        name = name_of(row)
        (out / name).write_bytes(got)
        copied.append({**row, "file": name})
    write_list(copied, out / MANIFEST, ("file", *COLUMNS))
    return copied, problems


def cli(
    argv: list[str] | None,
    doc: str,
    default_list: Path,
    rule: Callable[[], Rule],
    name_of: Callable[[dict[str, str]], str] = file_name,
    access: Access = MIRRORS,
) -> int:
    """The command line of a list module: ``--select`` applies ``rule`` to the sources (read by
    ``access``: the mirrors unless told) and rewrites the list, ``--out DIR`` copies the listed files."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument(access.flag, dest="mirror_root", type=Path, default=access.default)
    parser.add_argument("--out", type=Path, help="copy the listed files here")
    parser.add_argument("--list", type=Path, default=default_list, help="the list (default: %(default)s)")
    parser.add_argument("--select", action="store_true", help="apply the rule to the mirrors, rewrite --list")
    args = parser.parse_args(argv)
    if args.select:
        rows, notes = select(args.mirror_root, rule(), access)
        print(*notes, sep="\n")
        write_list(rows, args.list)
        print(f"{len(rows)} images listed in {args.list}")
        return 0
    if args.out is None:
        parser.error("give --out DIR (or --select)")
    copied, problems = assemble(read_list(args.list), args.mirror_root, args.out, name_of, access.read_row)
    print(*problems, sep="\n", file=sys.stderr)
    print(f"{len(copied)} of {len(copied) + len(problems)} images in {args.out}")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    return cli(argv, __doc__ or "", LIST, this_rule)


if __name__ == "__main__":
    sys.exit(main())
