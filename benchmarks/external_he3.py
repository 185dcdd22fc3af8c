"""A third held-out set of other sites' H&E, for the detectors tuned on the first two: assembled from
public GitHub snapshots by a rule fixed before any image of it was probed, to be measured once.

    .venv/bin/python benchmarks/external_he3.py --mirror-root /work/.mirror --out /tmp/heldout3-he
    .venv/bin/python benchmarks/external_he3.py --mirror-root /work/.mirror --select  # rewrite the list

Why a third set: the first (``benchmarks/external_he.tsv``) and the second
(``benchmarks/external_he2.tsv``) are tuning data now (the second was measured, and the detectors
were changed after it), so a claim that the changes transfer to other sites needs images that share
no image, patient, slide or dataset with GlaS, ``shared/data/real`` or either list. The list,
``benchmarks/external_he3.tsv``, has the first list's columns; ``--out`` copies and checks the
files exactly as ``external_he.py --out`` does (same code) and writes the manifest under the same
name (``external_he.tsv``), so ``bench_artefacts.py --external DIR`` reads the folder unchanged.

The rule (written down before any image of this set was probed; ``--select`` applies it). It was
amended once, before any probe: the first selection gave 58 images, short of the 60 aimed at, and
the osteosarcoma tiles of ``atlan-antillia/EfficientNet-Osteosarcoma`` were then added (a dataset
none of the tuning sets draws on; the account is likely the same author's as the first two sets'
repositories, but the images are not), with rule 4's patients for them.

1. Sources: the folders of the repositories in :data:`SOURCES`, at their snapshots' commits, by
   other authors than the first two sets' (whose repositories are all used up): BreakHis (breast
   tumours, P&D Laboratory, Parana, Brazil), LC25000 (lung and colon, James A. Haley Veterans'
   Hospital, Tampa), AMIDA13 (breast, University Medical Center Utrecht), an oral cancer set
   (normal oral mucosa and OSCC, 100x/400x, shared on Kaggle) and Osteosarcoma-Tumor-Assessment
   (bone, UT Southwestern and Children's Medical Center, Dallas). Left out whatever repository holds
   them: every dataset of the tuning sets (TCGA, PanNuke, TNBC, OCDC, MoNuSeg, MoNuSAC, BCSS, EBHI,
   DigestPath, Lizard, CoNSeP, CRAG, GlaS, CAMELYON/PCam, BreCaHAD, UCSB, NuInsSeg, BCNB) and the
   sources of ``shared/data/real`` (OpenSlide's test slides, TCGA, MIDOG++, the Wikimedia skin
   image); an image whose dataset the repository does not state is left out too (it cannot be
   shown to be none of these). Repositories looked at and not used, with why: :data:`NOT_USED`.
   AMIDA13 comes from a hospital that is also one of CAMELYON's two centres (set 2): another
   dataset, organ and patients (breast tumours, not lymph nodes), but not another site.
2. Whole images only, as rule 2 of the first two sets; derived images (a Fourier transform,
   ``*_fft``; a class-activation map, ``*_cam``) are left out as augmented copies
   (:data:`AUGMENTED`). Only image files are looked at (a folder may hold code or a README).
3. At least 256 pixels a side; a file absent from the snapshot, or one that is no image PIL can
   read, is left out; byte-identical files once; a file byte-identical to one of the tuning sets
   (the first two lists' sha256, ``shared/data/real/SHA256SUMS``) is left out, and so is an image of
   a patient or slide of the first two lists.
4. At most two images of one patient: BreakHis names give the patient
   (``SOB_M_DC-14-13412-100-007``: ``breakhis:14-13412``; a letter suffix, ``14-22549AB`` and
   ``14-22549CD``, is taken as the same patient, and so is one number under two tumour types),
   across the repositories that hold BreakHis images, in :data:`SOURCES` order then path order;
   the osteosarcoma tiles' names give the case (``Non-Tumor___Case-3-A15-2939-11262_112``:
   ``osteosarcoma:Case-3``; ``P9``: its own); the other repositories name none, so each of their
   images is its own source. Taken in path order, the two tiles of every osteosarcoma case are
   its ``Non-Tumor___`` ones (the review found no viable or necrotic tumour tile in the list);
   LC25000's images are taken as LC25000's from their names and 768 px size (the repository
   says only that its model was trained on LC25000).
5. H&E only: the images were viewed for their stain only; :data:`NOT_HE` lists what was left out
   and why. Nothing is left out for how it looks otherwise.

µm per pixel: stated for none of the files as stored (BreakHis and the oral set give the
microscope's magnification only, the osteosarcoma tiles 10X, LC25000 none, AMIDA13 0.25 µm for its
2000 px fields but the repository's 1024 px examples do not say whether they are crops or resized;
BreakHis's pixel size at 100X is given as 0.20 µm by some and 0.25 µm at 40X by others, so it is
not taken as stated), so the column is empty and the benchmark gives the probe its default. How the set differs from the first two: microscope
camera pictures (BreakHis, the oral set, LC25000) as well as scanner fields (AMIDA13), 100x to
400x total magnification, PNG, JPEG and TIFF, three continents.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import external_he as first
import external_he2 as second

LIST = Path(__file__).with_suffix(".tsv")
FIRST_LIST = first.LIST
SECOND_LIST = second.LIST
"""The first two external sets (tuning data now, rule 3)."""
SHARED_SUMS = second.SHARED_SUMS

_BREAKHIS_TERMS = "BreakHis: research use, cite Spanhol et al. 2016"
SOURCES = (
    first.Source(
        "Pnyaa/Histopathological-Image-Classification",
        "data-challenge/Train",
        "BreakHis (P&D Laboratory, Parana, Brazil; 100X, 700x460)",
        "breast",
        "",
        f"none stated in the repository ({_BREAKHIS_TERMS})",
    ),
    first.Source(
        "mkpetterson/Cancer_Prediction",
        "website/static/images/histology",
        "BreakHis (P&D Laboratory, Parana, Brazil; 40X to 400X, resized to 500x328)",
        "breast",
        "",
        f"MIT (repository; {_BREAKHIS_TERMS})",
    ),
    first.Source(
        "AbidHasanRafi/histopathology-cancer-classifier-app",
        "samples",
        "LC25000 (James A. Haley Veterans' Hospital, Tampa, USA; 768x768)",
        "",
        "",
        "none stated in the repository (LC25000: cite Borkowski et al. 2019)",
    ),
    first.Source(
        "mitkovetta/staining-normalization",
        "",
        "AMIDA13 (University Medical Center Utrecht; Aperio ScanScope XT, 40x; 1024 px examples)",
        "breast",
        "",
        "BSD-style (repository licence.txt)",
    ),
    first.Source(
        "AyushDave30/OncoVision",
        "Sample_data",
        "oral mucosa and OSCC (Kaggle ashenafifasilkebede/dataset; 100x and 400x, 2048x1536)",
        "oral cavity",
        "",
        "none stated in the repository",
    ),
    first.Source(
        "atlan-antillia/EfficientNet-Osteosarcoma",
        "projects/Osteosarcoma/test",
        "Osteosarcoma-Tumor-Assessment (UT Southwestern, Dallas; TCIA; 1024 px tiles at 10X)",
        "bone",
        "",
        "Apache-2.0 (repository; the TCIA collection's terms)",
    ),
)
AUGMENTED = re.compile(second.AUGMENTED.pattern + r"|^.*_(?:fft|cam)$")
NOT_HE: dict[str, str] = {}
"""``repo:path`` -> why it was left out (rule 5: a stain other than H&E)."""
NOT_USED = {
    "Pnyaa/Histopathological-Image-Classification:data-challenge/Test": (
        "BreakHis images renamed to numbers (no patient to count); the README finds Train images among them"
    ),
    "mkpetterson/Cancer_Prediction:images/readme": "the same BreakHis figures, and mammograms",
    "EIDOSLAB/torchstain": "two example images of an unstated dataset (rule 1)",
    "khtao/StainNet": "two example tiles of an unstated dataset (rule 1)",
    "Peter554/StainTools": "figures composed of several images, no single picture of tissue",
    "xtarx/StainGAN": "CAMELYON16 examples (set 2's dataset)",
    "petebankhead/2022-qupath-cell-detection": "OpenSlide OS-1: the source of shared/data/real's OS-1-detail",
    "schaugf/HEnorm_python": "the AMIDA13 examples of mitkovetta/staining-normalization, re-encoded as PNG",
    "goonm/BACH_challenge": "BACH examples of 242x231 (under 256 px) and class-activation maps",
    "berkantGunel/deepbreast-ai-breast-cancer-decision": (
        "test TIFFs absent from the snapshot, PNG samples of a few kB of an unstated dataset"
    ),
    "martinlie/iti43210_project2": "Kather 2016 fields with class-activation overlays only",
    "tampapath/lung_colon_image_set": "LC25000's own repository: its README only",
    "eiriniar/gleason_CNN": "no images in the snapshot",
    "dfilipeloja/breakhis": "result plots only",
    "bill-close/NormalisationHistologyStaining": "no images in the snapshot",
    "Nazim-balroo/lung-cancer-detection-app": "no images in the snapshot",
    "ShyamRavidath/colorectal-cancer-app": "no images in the snapshot",
    "Snarci/DLA": "Chaoyang images, but the snapshot is over the 500 MiB fetch limit",
    "Vejni/Capsules": "BACH images, but the snapshot is over the 500 MiB fetch limit",
}
"""Repositories (or folders) looked at for this set and not used (rule 1), with why."""


def _source_key(repo: str, stem: str) -> str:
    """The patient an image is of (rule 4): BreakHis's patient number, the letters after it and
    the tumour type dropped (``SOB_B_A-14-22549AB-100-002``: ``breakhis:14-22549``); the
    osteosarcoma tiles' case; elsewhere the image itself."""
    breakhis = re.match(r"^SOB_[BM]_[A-Z]+-(\d+-\d+)", stem)
    if breakhis:
        return "breakhis:" + breakhis.group(1)
    osteosarcoma = re.match(r"^[A-Za-z-]+___(Case-\d+|P\d+)-", stem)
    if osteosarcoma:
        return "osteosarcoma:" + osteosarcoma.group(1)
    return f"{repo}:{stem}"


def _organ(source: first.Source, stem: str) -> str:
    """LC25000's organ from the class in the name (``lung_aca``, ``colon_n``); elsewhere the
    source's."""
    if source.organ:
        return source.organ
    named = re.match(r"^(lung|colon)", stem)
    return named.group(1) if named else ""


def taken() -> dict[str, str]:
    """The sha256 and patient/slide keys of the tuning sets (rule 3): the first two lists' and
    :data:`SHARED_SUMS`'s."""
    return first.taken_by((FIRST_LIST, SECOND_LIST), SHARED_SUMS)


def this_rule() -> first.Rule:
    return first.Rule(SOURCES, _source_key, _organ, NOT_HE, first.LEFT_OUT_PREFIXES, AUGMENTED, taken())


def main(argv: list[str] | None = None) -> int:
    return first.cli(argv, __doc__ or "", LIST, this_rule)


if __name__ == "__main__":
    sys.exit(main())
