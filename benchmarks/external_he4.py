"""A fourth held-out set of other sites' H&E, for the detectors tuned on the first three: to be
assembled from public GitHub snapshots by a rule fixed before any image of it is probed, and
measured once, by the lead, at the end of a session.

    .venv/bin/python benchmarks/external_he4.py --mirror-root /work/.mirror --select  # rewrite the list
    .venv/bin/python benchmarks/external_he4.py --mirror-root /work/.mirror --out /tmp/heldout4-he
    .venv/bin/python benchmarks/external_he4.py --alike /tmp/heldout4-he  # no image repeats a tuning one

Why a fourth set: the first three lists (``external_he.tsv``, ``external_he2.tsv``,
``external_he3.tsv``) are tuning data now (the third was measured once and the detectors are tuned
on it), so a claim that later changes transfer to other sites needs images that share no image,
patient, slide or dataset with GlaS, ``shared/data/real`` or any of the three. The list,
``benchmarks/external_he4.tsv``, has the first list's columns; ``--out`` copies and checks the files
with the first set's code and writes the manifest under the same name (``external_he.tsv``), so
``bench_artefacts.py --external DIR`` reads the folder unchanged. ``--alike DIR`` compares every
image of ``DIR`` with the tuning images (:data:`TUNING_FOLDERS`) in 24 px thumbnails under the
eight rotations and flips and prints the most alike pairs: the check that no image repeats a tuning
one without probing anything.

State of the list (session 22): 131 images of four datasets and organs (:data:`SOURCES`); the
search was short (:data:`NOT_USED` says what was looked at and why it was not taken, so that the
next search starts where this one stopped). The rule below was committed (d71295d) before any
source was chosen; the sources were added to it afterwards, before any image of them was probed
(the images were viewed for their stain only). Amended since, each before any probe: rule 4b after
DL4ETI's mirror was fetched; rule 4c and the subfolder fix of rules 1 to 3's name checks (the first
set's code read a subfolder's name as the start of the file's, so a GlaS crop, an augmented copy or
a tuning patient in a subfolder was not found; no list changed) after the set's review. Nothing of
this set has been probed or measured. ``--alike`` on the assembled folder (the 135 images before
rule 4c, of which the 131 are, against the 417 of sets 1 to 3, GlaS and the shared pictures): the
most alike pair correlates 0.776 (a PANDA patch and GlaS ``train_47``; a tuning image repeated
under a flip or a rotation scores 0.99 or more, the test shows), so no image of this set repeats a
tuning one.

The rule (written down before any image of this set is probed; ``--select`` applies it):

1. Sources: the test folders of the repositories in :data:`SOURCES`, at their snapshots' commits:
   PANDA (prostate core-needle biopsies, Radboud University Medical Center and Karolinska
   Institutet; 256 px patches of the Prostate Gleason Dataset) and the SEED gastric carcinoma set
   (stomach; 512 px patches), both from repositories by the account that set 3's
   osteosarcoma tiles came from (likely the first two sets' author; the images are of other
   datasets), and the folder ``external_dataset`` of DL4ETI (endometrium; Sun et al. 2020; 1280x960
   microscope fields; the README names no such folder, only the 3,302 images of the paper on
   figshare, so that these 200 are the paper's external test set is the list author's reading of
   the folder's name), and ThyHisTer's demo patches (thyroid; 6 slides), both by other authors.
   "China" in the site of SEED, DL4ETI and ThyHisTer is the list author's inference (DL4ETI's
   README names a Hubei Province grant): no README says where the images were taken. SEED's
   licence is unknown (neither the repository nor its README states the dataset's terms). Radboud
   is also one of CAMELYON's centres (set 2): another dataset, organ and patients, but not another
   site. Every repository of the three modules' ``SOURCES`` and
   ``NOT_USED`` is used up. Left out whatever repository holds them: every dataset the tuning sets
   draw on (:data:`EXCLUDED_DATASETS`: the first two sets' TCGA, PanNuke, TNBC, OCDC, MoNuSeg,
   MoNuSAC, BCSS, EBHI, DigestPath, Lizard, CoNSeP, CRAG, GlaS, CAMELYON/PCam, BreCaHAD, UCSB,
   NuInsSeg, BCNB; the third set's BreakHis, LC25000, AMIDA13, the oral mucosa/OSCC set,
   Osteosarcoma-Tumor-Assessment; ``shared/data/real``'s OpenSlide test slides, MIDOG and the
   Wikimedia skin image) and the other datasets of the hospital GlaS comes from (Warwick/Coventry:
   the extended CRC grading set among them); a source whose description names one of them is
   refused by :func:`this_rule`. An image whose dataset the repository does not state is left out
   (it cannot be shown to be none of these).
2. Whole images only, as rule 2 of the first three sets (their augmented-copy names, :data:`AUGMENTED`).
3. At least 256 pixels a side; a file absent from the snapshot, or no image PIL can read, is left
   out; byte-identical files once; a file byte-identical to one of the tuning sets (the three lists'
   sha256, ``shared/data/real/SHA256SUMS``) is left out, and so is an image of a patient or slide
   of the three lists (patients are named as the third set names them, :func:`_source_key`).
4. At most two images of one patient or slide where the names say it: PANDA's patch names keep
   the biopsy's image id (``1___6f23c9de94899d380bd7a075209ef415_290_104``:
   ``panda:6f23c9de94899d380bd7a075209ef415``), taken as the slide (PANDA gives no patient);
   ThyHisTer's folder and names give the slide (``train/BN_1/n_BN_1_0``: ``thyhister:BN_1``); the
   SEED names (``category_0___4IMYQETX_109``) and DL4ETI's (``EA/7.JPG``) name none, so each of
   those images is its own source (DL4ETI's 200 fields are likely of fewer patients). ThyHisTer's
   six slide folders hold normal-labelled patches (``n_``); only ``PTC_1`` holds tumour ones too
   (``t_``, 28), after them in path order, so the two a slide taken (12) are all normal-labelled:
   the set holds no thyroid tumour. 4b (added after DL4ETI's mirror was fetched): of DL4ETI's
   five class folders only the images numbered 1 to :data:`DL4ETI_FIRST` are taken (55 of 200;
   51 after 4c), so that one source does not outweigh the others. 4c (added after the review,
   before any probe): an image whose field repeats or overlaps an image listed before it
   (sources' order, then path order) is left out: same size, and grey thumbnails
   :data:`FIELD_SIDE` px wide, lined up at the offset phase correlation finds, correlate at least
   :data:`SAME_FIELD` where at least :data:`MIN_OVERLAP` of each overlaps. It left out 4 DL4ETI
   fields (``EP/2``, the field of ``EP/1`` re-saved, 1.00; ``NE(Follicular phase)/8``
   overlapping ``/10``, 0.96; ``NE(Luteal phase)/7`` overlapping ``/4``, 0.89, and ``/2``
   overlapping ``/1``, 0.86). :data:`SAME_FIELD` was put in the gap of this set's own pairs (the
   next pair, two PANDA patches of other biopsies, 0.72; 99 % of the 4645 same-shaped pairs of
   the 135 under 0.33); it was not cross-validated. Patients of the tuning lists are named as the
   third set names them; :func:`shared_patients` also names each row's file by the first three
   sets' rules.
5. H&E only: the images are viewed for their stain only; :data:`NOT_HE` lists what was left out and
   why. Nothing is left out for how it looks otherwise.

µm per pixel: recorded only where the dataset states it for the files as stored (blur is measured
only there): none does (PANDA's slides are scanned at 20x, but the patches' level is not stated;
SEED and ThyHisTer state nothing; DL4ETI gives the microscope's magnification only), so the column
is empty and the benchmark gives the probe its default (Kather's CRC-VAL-HE-7K tiles state 0.5 µm
but are 224 px: rule 3). Two ThyHisTer patches of slide BN_1 hold blocks of false colour (tiles of
the slide decoded wrongly): kept, as rule 5 keeps everything H&E whatever it looks like.
How the set differs from the first three: prostate biopsies, stomach, endometrium and thyroid,
organs none of them holds; whole microscope fields as well as patches.

Measured once (the lead, at 351112b, ``bench_artefacts.py --external /tmp/heldout4-he --only
external``; docs/formats.md has the table): recall pen 0.85 (blue 23/33), fold 0.62, bubble 0.82,
coverslip 0.96, over-staining 0.95, under-staining 0.98, debris 1.00; false positives 30/131 =
22.9 % (DL4ETI 11 of 51, pen; SEED 11 of 30; ThyHisTer 7 of 12; PANDA 1 of 38). It is tuning data
from then on.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import external_he as first
import external_he2 as second
import external_he3 as third

LIST = Path(__file__).with_suffix(".tsv")
FIRST_LIST = first.LIST
SECOND_LIST = second.LIST
THIRD_LIST = third.LIST
"""The first three external sets (tuning data now, rule 3)."""
SHARED_SUMS = second.SHARED_SUMS
TUNING_FOLDERS = (
    Path("/tmp/exthe-he"),
    Path("/tmp/heldout-he"),
    Path("/tmp/heldout3-he"),
    Path("/work/shared/data/real/segmentation/glas/images"),
    Path("/work/shared/data/real/images"),
)
"""Where the tuning images lie (``--alike`` compares with every image under them): sets 1 to 3 as
assembled, GlaS and the shared data's other pictures (its whole slides are not compared: a
thumbnail of a slide is no patch's). An absent folder is named and skipped."""
THUMB = 24
"""Thumbnail side for ``--alike`` (pixels)."""

EXCLUDED_DATASETS = (
    "TCGA",
    "PanNuke",
    "TNBC",
    "Institut Curie",
    "OCDC",
    "MoNuSeg",
    "MoNuSAC",
    "BCSS",
    "EBHI",
    "DigestPath",
    "Lizard",
    "CoNSeP",
    "CRAG",
    "GlaS",
    "Warwick",
    "CAMELYON",
    "PCam",
    "BreCaHAD",
    "UCSB",
    "NuInsSeg",
    "BCNB",
    "BreakHis",
    "LC25000",
    "AMIDA13",
    "OSCC",
    "Osteosarcoma",
    "OpenSlide",
    "MIDOG",
    "Wikimedia",
)
"""Datasets (and sites) of the tuning sets: a source whose site names one is refused (rule 1)."""

_ANTILLIA_LICENCE = "Apache-2.0 (repository)"
DL4ETI = "ssea-lab/DL4ETI"
SOURCES: tuple[first.Source, ...] = (
    first.Source(
        "atlan-antillia/EfficientNet-Prostate-Cancer",
        "projects/Prostate-Cancer/test",
        "PANDA (Radboud University Medical Center and Karolinska Institutet; Prostate Gleason Dataset, 256 px)",
        "prostate",
        "",
        f"{_ANTILLIA_LICENCE}; Prostate Gleason Dataset CC BY-NC-SA 4.0, PANDA's terms",
    ),
    first.Source(
        "atlan-antillia/EfficientNet-Gastric-Carcinoma",
        "projects/Gastric-Carcinoma/test",
        "SEED gastric carcinoma (China; Kaggle wangtyi/seedgastric-carcinoma-dataset, 512 px)",
        "stomach",
        "",
        f"{_ANTILLIA_LICENCE}; the SEED dataset's terms",
    ),
    first.Source(
        DL4ETI,
        "external_dataset",
        "DL4ETI external test set (endometrium, China; Sun et al., IEEE JBHI 2020; 1280x960 JPEG)",
        "endometrium",
        "",
        "MIT (repository); cite Sun et al. 2020",
    ),
    first.Source(
        "beatttt/ThyHisTer",
        "dataset",
        "ThyHisTer (thyroid, China; demo patches of 6 slides, 304 px)",
        "thyroid",
        "",
        "none stated in the repository (ThyHisTer: cite the paper; the whole set by request)",
    ),
)
DL4ETI_FIRST = 12
"""DL4ETI's images numbered over this in their class folder are left out (rule 4b)."""
FIELD_SIDE = 160
"""Width of the grey thumbnails that rule 4c compares (pixels)."""
MIN_OVERLAP = 0.25
"""Share of a thumbnail that must overlap the other's for rule 4c to compare them."""
SAME_FIELD = 0.8
"""Correlation over the overlap from which two images are one field (rule 4c)."""
AUGMENTED = third.AUGMENTED
NOT_HE: dict[str, str] = {}
"""``repo:path`` -> why it was left out (rule 5: a stain other than H&E)."""
NOT_USED = {
    "BioImageInformatics/gleason_grade": (
        "11 prostate tiles (tutorials/example_data/img) of a dataset the repository does not state (rule 1)"
    ),
    "KatherLab/mopadi": "TCGA tiles (the first set's dataset), and NCT-CRC-HE-100K tiles of 224 px",
    "histolab/histolab": "test expectations cut from TCGA and OpenSlide's CMU slides",
    "zeeshanalipnhwr/Texture-Classification-in-Colorectal-Cancer-Histology": (
        "Kather 2016 texture tiles of 150 px (under 256 px a side)"
    ),
    "jnkather/histology-multiclass-texture": "code only; the images are on Zenodo",
    "farhancv09/KBSMC_Gastric_Dataset": "README only",
    "juancarlosmoradiaz/TFG-BRACS": "result plots only",
    "NereaHdez/BRACS_Classification": "no images in the snapshot",
    "sudo-subho/bracs-histopathology-classification": "code only",
    "chetan-bisht/BRACS-Breast-Abnormality-Classification-System-": "figures and prediction plots only",
    "RationAI/prostate-gleason-grading": "no images in the snapshot",
    "MicheleDamian/prostate-gleason-dataset": "PANDA patches in release archives, one composite figure in the tree",
    "Harito97/GasHisClassifier": "GasHisSDB: 80 to 160 px images (under 256 px a side)",
    "atlan-antillia/EfficientNet-Prostate-Cancer:projects/Resampled_Prostate-Cancer/test": (
        "PANDA patches resampled from the train split by a tool that may augment them (rule 2)"
    ),
    "atlan-antillia/EfficientNet-Colorectal-Cancer": "CRC-VAL-HE-7K tiles of 224 px (rule 3), though 0.5 µm stated",
    "atlan-antillia/EfficientNet-Pancreatic-Cancer": "PCGIPI tiles of 200 px (rule 3)",
    "atlan-antillia/EfficientNet-Breast-Cancer": "BreakHis (set 3's dataset)",
    "atlan-antillia/EfficientNet-Kidney-Disease": "CT, not histology",
    "atlan-antillia/Image-Segmentation-Breast-Cancer": "breast ultrasound (BUSI)",
    "sarah-antillia/EfficientNet-Lymphoma": "MYC immunohistochemistry, DAB and haematoxylin channels: no H&E (rule 5)",
    "sarah-antillia/Image-Segmentation-Neuroblastoma": "fluorescence (S-BSST265), not H&E",
    "sarah-antillia/Image-Segmentation-Neoplastic-Cell": "PanNuke (set 1's dataset); test images absent",
    "arneschmidt/pionono_segmentation": "Gleason 2019: no example images in the snapshot",
    "cancer-research-data-inside/lymphoma": "malignant lymphoma (NIA) TIFFs absent from the snapshot",
    "chrisoeser/lymphoma-detection-app": "three lymphoma examples of a dataset the repository does not state (rule 1)",
    "kerocode/lymphomaClassification": "lymphoma examples of 250 px (rule 3), dataset unstated",
    "CrocoPops/LymphomAug": "the lymphoma images are no longer in the snapshot",
    "Borda/BIRL": "ANHIR images scaled to 5 % (rodent tissue and lesions)",
    "EIDOSLAB/UNITOPATHO": "one composite figure (UniToPatho's patches are on IEEE DataPort)",
    "sarah-antillia/*, atlan-antillia/* (others)": (
        "radiology, cytology, IHC, fluorescence or datasets of the tuning sets"
    ),
}
"""Repositories looked at for this set and not used (rule 1), with why."""


def _source_key(repo: str, stem: str) -> str:
    """The patient or slide an image is of (rule 4): PANDA's biopsy image id
    (``1___6f23c9de94899d380bd7a075209ef415_290_104``: ``panda:6f23c9de…``); elsewhere as the third
    set names them, so that a patient of a tuning list is found whatever repository holds the image."""
    panda = re.match(r"^\d___([0-9a-f]{32})_", stem)
    if panda:
        return "panda:" + panda.group(1)
    thyhister = re.match(r"^[nt]_((?:BN|PTC|FTC)_\d+)_\d+$", stem.rsplit("/", 1)[-1])
    if repo.endswith("/ThyHisTer") and thyhister:
        return "thyhister:" + thyhister.group(1)
    return third._source_key(repo, stem)


def shared_patients(
    rows: list[dict[str, str]],
    tuning: list[dict[str, str]],
    namings: tuple[Callable[[str, str], str], ...] = (),
) -> list[str]:
    """The rows of ``rows`` whose patient or slide is one of ``tuning``'s (``repo:path: keys``): the
    row's own key and the keys that each of the four sets' rules (and ``namings``, a later set's)
    gives the file's own name, so that a tuning patient is found however this set's rule names it."""
    known = {row["source"] for row in tuning}
    namings = (first._source_key, second._source_key, third._source_key, _source_key, *namings)
    found = []
    for row in rows:
        own = first.KEPT_AUGMENTATION.sub("", row["path"].rsplit("/", 1)[-1].rsplit(".", 1)[0])
        hit = ({row["source"]} | {name(row["repo"], own) for name in namings}) & known
        if hit:
            found.append(f"{row['repo']}:{row['path']}: {', '.join(sorted(hit))}")
    return found


def _organ(source: first.Source, stem: str) -> str:
    return source.organ


def taken() -> dict[str, str]:
    """The sha256 and patient/slide keys of the tuning sets (rule 3): the three lists' and
    :data:`SHARED_SUMS`'s."""
    return first.taken_by((FIRST_LIST, SECOND_LIST, THIRD_LIST), SHARED_SUMS)


def _left_out_path(repo: str, path: str) -> str:
    """Rule 4b: of DL4ETI's external images, only those numbered 1 to :data:`DL4ETI_FIRST` in each
    class folder (``external_dataset/EA/7.JPG``)."""
    number = re.match(r"^(\d+)\.", path.rsplit("/", 1)[-1])
    if repo == DL4ETI and number and int(number.group(1)) > DL4ETI_FIRST:
        return f"numbered over {DL4ETI_FIRST} in its class folder (rule 4b)"
    return ""


def _field(data: bytes, side: int = FIELD_SIDE) -> Any:
    """A grey thumbnail of an image file, ``side`` px wide (its aspect kept), less its mean; None:
    not an image PIL can read."""
    import numpy as np
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as img:
            img.draft("L", (side * 2, side * 2))
            grey = img.convert("L")
            height = max(8, round(side * grey.height / max(grey.width, 1)))
            small = np.asarray(grey.resize((side, height), Image.Resampling.BILINEAR), dtype=np.float64)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None
    return small - small.mean()


def field_overlap(a: Any, b: Any) -> float:
    """How alike two thumbnails of :func:`_field` are where they overlap, at the offset that lines
    them up best (phase correlation): the correlation of the shared part, which covers at least
    :data:`MIN_OVERLAP` of each; -1: shapes differ or too little overlaps."""
    import numpy as np

    if a.shape != b.shape:
        return -1.0
    cross = np.fft.fft2(a) * np.conj(np.fft.fft2(b))
    peak = np.real(np.fft.ifft2(cross / (np.abs(cross) + 1e-9)))
    shift = [
        int(i) if i <= n // 2 else int(i) - n
        for i, n in zip(np.unravel_index(peak.argmax(), peak.shape), a.shape, strict=True)
    ]
    part_a = a[tuple(slice(max(0, d), n + min(0, d)) for d, n in zip(shift, a.shape, strict=True))]
    part_b = b[tuple(slice(max(0, -d), n + min(0, -d)) for d, n in zip(shift, a.shape, strict=True))]
    if part_a.size < MIN_OVERLAP * a.size:
        return -1.0
    part_a, part_b = part_a - part_a.mean(), part_b - part_b.mean()
    norm = float(np.linalg.norm(part_a) * np.linalg.norm(part_b))
    return float((part_a * part_b).sum() / norm) if norm > 0 else -1.0


def repeats() -> Callable[[str, bytes], str]:
    """Rule 4c, a fresh check per selection: an image whose field repeats or overlaps one listed
    before it (the same size, :func:`field_overlap` at least :data:`SAME_FIELD`) -> why; empty: it
    is remembered and listed."""
    fields: list[tuple[str, Any]] = []

    def check(path: str, data: bytes) -> str:
        field = _field(data)
        if field is None:
            return ""
        for earlier, seen in fields:
            score = field_overlap(field, seen)
            if score >= SAME_FIELD:
                return f"the field of {earlier} again or overlapping it ({score:.2f}, rule 4c)"
        fields.append((path, field))
        return ""

    return check


def file_name(row: dict[str, str]) -> str:
    """The copy's name in ``--out``: the first set's, with DL4ETI's class folder before the number
    (its five folders number their images alike: ``DL4ETI__EA_7.JPG``)."""
    if row["repo"] != DL4ETI:
        return first.file_name(row)
    folder, name = row["path"].rsplit("/", 2)[-2:]
    return f"DL4ETI__{re.sub(r'[^A-Za-z0-9]+', '-', folder).strip('-')}_{name}"


def refused(source: first.Source, excluded: tuple[str, ...] = EXCLUDED_DATASETS) -> str:
    """The excluded dataset a source's description names (rule 1); empty: none."""
    site = source.site.lower()
    return next((name for name in excluded if name.lower() in site), "")


def rule_of(
    sources: tuple[first.Source, ...],
    source_key: Callable[[str, str], str],
    not_he: dict[str, str],
    tuned: dict[str, str],
    left_out_path: Callable[[str, str], str],
    repeat_check: Callable[[], Callable[[str, bytes], str]],
    refuse: Callable[[first.Source], str] = refused,
) -> first.Rule:
    """A held-out list's rule: ``sources`` with the rule 1 check (a source that ``refuse`` names a
    reason for raises ValueError), the first sets' rule 2 and rule 3's ``tuned`` files and patients."""
    bad = {s.repo: refuse(s) for s in sources if refuse(s)}
    if bad:
        raise ValueError(f"sources of a tuning set's dataset (rule 1): {bad}")
    return first.Rule(
        sources,
        source_key,
        _organ,
        not_he,
        first.LEFT_OUT_PREFIXES,
        AUGMENTED,
        tuned,
        left_out_path,
        repeat_check,
    )


def this_rule() -> first.Rule:
    return rule_of(SOURCES, _source_key, NOT_HE, taken(), _left_out_path, repeats)


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in first.IMAGE_SUFFIXES)


def _thumbs(paths: list[Path], side: int = THUMB) -> tuple[list[Path], Any]:
    """Unit-norm, zero-mean RGB thumbnails of ``paths`` (rows of a matrix) and the paths read; an
    unreadable file is skipped."""
    import numpy as np
    from PIL import Image

    read: list[Path] = []
    rows = []
    for path in paths:
        try:
            with Image.open(path) as img:
                img.draft("RGB", (side * 4, side * 4))
                small = np.asarray(
                    img.convert("RGB").resize((side, side), Image.Resampling.BILINEAR), dtype=np.float64
                )
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            continue
        read.append(path)
        rows.append(small)
    stack = np.array(rows).reshape(len(rows), side, side, 3) if rows else np.zeros((0, side, side, 3))
    return read, stack


def _unit(stack: Any) -> Any:
    """Each thumbnail less its channels' means, scaled to unit length: its correlation with another
    then measures shared structure, not the shared colour of H&E."""
    import numpy as np

    flat = np.asarray(stack, dtype=np.float64).reshape(len(stack), -1, 3)
    flat = (flat - flat.mean(axis=1, keepdims=True)).reshape(len(stack), -1)
    return flat / np.maximum(np.linalg.norm(flat, axis=1, keepdims=True), 1e-9)


def alike(candidates: list[Path], tuning: list[Path], side: int = THUMB) -> list[tuple[float, Path, Path]]:
    """For each readable candidate, its most alike tuning image: (correlation of the thumbnails,
    best of the eight rotations and flips; candidate; tuning image), most alike first."""
    import numpy as np

    got, cand = _thumbs(candidates, side)
    have, tune = _thumbs(tuning, side)
    if not got or not have:
        return []
    base = _unit(tune)
    best = np.full(len(got), -2.0)
    where = np.zeros(len(got), dtype=int)
    for flip in (False, True):
        for turns in range(4):
            moved = np.rot90(cand[:, :, ::-1] if flip else cand, k=turns, axes=(1, 2))
            corr = _unit(moved) @ base.T
            top = corr.argmax(axis=1)
            value = corr[np.arange(len(got)), top]
            better = value > best
            best[better], where[better] = value[better], top[better]
    pairs = [(float(best[i]), got[i], have[where[i]]) for i in range(len(got))]
    return sorted(pairs, key=lambda p: -p[0])


def main(argv: list[str] | None = None) -> int:
    return alike_cli(argv, __doc__ or "", LIST, this_rule, file_name, TUNING_FOLDERS)


def alike_cli(
    argv: list[str] | None,
    doc: str,
    default_list: Path,
    rule: Callable[[], first.Rule],
    name_of: Callable[[dict[str, str]], str],
    tuning_folders: tuple[Path, ...],
    access: first.Access = first.MIRRORS,
) -> int:
    """The first set's command line (:func:`first.cli`) and ``--alike DIR``: ``DIR``'s images
    against those under ``--against`` (default ``tuning_folders``)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--alike", type=Path)
    parser.add_argument("--against", type=Path, nargs="+", default=list(tuning_folders))
    parser.add_argument("--top", type=int, default=5)
    args, rest = parser.parse_known_args(argv)
    if args.alike is None:
        return first.cli(rest, doc, default_list, rule, name_of, access)
    tuning: list[Path] = []
    for folder in args.against:
        if folder.is_dir():
            tuning += _images(folder)
        else:
            print(f"{folder}: absent, not compared", file=sys.stderr)
    pairs = alike(_images(args.alike), tuning)
    for corr, a, b in pairs[: args.top]:
        print(f"{corr:.3f}\t{a}\t{b}")
    print(f"{len(pairs)} images compared with {len(tuning)} tuning images")
    return 0


if __name__ == "__main__":
    sys.exit(main())
