"""Near-duplicate slides, slides delivered again, and patients in two splits."""

from __future__ import annotations

import numpy as np
import pytest

from dqm.pixels.hashes import WORDS, orientations
from validators import REGISTRY
from validators.context import BatchView, EarlierRelease, EarlierSlide, ItemFacts
from validators.engine import configure
from validators.registry import CheckContext


def _run(check_id, profile, items, manifest="manifest.csv", earlier=None):
    spec = REGISTRY[check_id]
    cfg = {c.id: c for c in configure(profile)}[check_id]
    ctx = CheckContext(spec, "batch", cfg.severities, manifest)
    return spec.func(BatchView(profile, items, manifest, earlier=earlier), cfg.params, ctx)


def _hex(words: np.ndarray) -> str:
    return "".join(f"{int(w):016x}" for w in words)


RNG = np.random.default_rng(7)
A, B = RNG.integers(0, 2**63, (2, WORDS), dtype=np.uint64)
A_TURNED = orientations(A[None])[0, 3] ^ np.array([0b111] + [0] * (WORDS - 1), dtype=np.uint64)
"""Slide A rotated by 180 degrees with three bits changed (a re-saved copy)."""


def _item(sid, words, patient=None, split=None, row=1, sha=None):
    clinical = {k: v for k, v in (("patient_id", patient), ("split", split)) if v is not None}
    return ItemFacts(
        sid, row, f"slides/{sid}.svs", f"ann/{sid}.json", sha or sid * 8, None, {}, _hex(words), clinical
    )


@pytest.mark.parametrize(
    "patients,code,severity",
    [
        ((None, None), "NEAR_DUPLICATE_SLIDE", "warning"),
        (("P1", None), "NEAR_DUPLICATE_SLIDE", "warning"),
        (("P1", " P1 "), "NEAR_DUPLICATE_SAME_PATIENT", "info"),
        (("P1", "P2"), "NEAR_DUPLICATE_OTHER_PATIENT", "error"),
    ],
)
def test_a_near_pair_is_reported_by_what_is_known_of_its_patients(profile, patients, code, severity):
    items = [_item("S1", A, patients[0]), _item("S2", B), _item("S3", A_TURNED, patients[1], row=3)]
    (f,) = _run("duplicates.near_slides", profile, items)
    assert (f.code, f.severity, f.item_id, f.location.file) == (code, severity, "S3", "slides/S3.svs")
    assert "'S1'" in f.message and "distance 3 of 192 bits" in f.message
    assert "P1" not in f.message and "P2" not in f.message, "patient ids are never echoed"


def test_byte_identical_files_and_slides_without_a_hash_are_not_near_duplicates(profile):
    same_file = [_item("S1", A, sha="f" * 64), _item("S2", A_TURNED, sha="f" * 64)]
    assert _run("duplicates.near_slides", profile, same_file) == []  # DUPLICATE_SLIDE_CONTENT says it
    no_hash = ItemFacts("S9", 9, "slides/S9.png", None, "9" * 64, None, {}, None, {})
    malformed = ItemFacts("S8", 8, "slides/S8.png", None, "8" * 64, None, {}, "not hex", {})
    assert _run("duplicates.near_slides", profile, [_item("S1", A), no_hash, malformed]) == []


def test_a_slide_of_the_earlier_release_delivered_again_names_both_items(profile):
    earlier = EarlierRelease(
        "old/results.json of 2026-01-01",
        (EarlierSlide("OLD-7", "slides/old7.svs", _hex(A)), EarlierSlide("OLD-8", None, _hex(B ^ B))),
    )
    items = [_item("NEW-1", A_TURNED), _item("NEW-2", RNG.integers(0, 2**63, WORDS, dtype=np.uint64))]
    (f,) = _run("duplicates.near_slides", profile, items, earlier=earlier)
    assert (f.code, f.severity, f.item_id) == ("SLIDE_DELIVERED_AGAIN", "warning", "NEW-1")
    assert "'OLD-7' ('slides/old7.svs') of the earlier release old/results.json of 2026-01-01" in f.message


def test_a_redelivered_slide_under_its_own_id_is_not_a_slide_delivered_again(profile):
    """A redelivery's unchanged slide is the same item, not a duplicate across releases; the earlier
    results may name it masked (the run's masker compares it so)."""
    earlier = EarlierRelease("old", (EarlierSlide("S-1", None, _hex(A)),))
    assert _run("duplicates.near_slides", profile, [_item("S-1", A)], earlier=earlier) == []
    masked = EarlierRelease("old", (EarlierSlide("[ID-1]", None, _hex(A)),), mask=lambda s: "[ID-1]")
    assert _run("duplicates.near_slides", profile, [_item("S-1", A_TURNED)], earlier=masked) == []
    (f,) = _run("duplicates.near_slides", profile, [_item("S-2", A)], earlier=earlier)  # another id
    assert f.code == "SLIDE_DELIVERED_AGAIN" and "'S-1'" in f.message


def test_the_threshold_comes_from_the_profile(tmp_path):
    from pathlib import Path

    import dqm
    from dqm.profile import load_profile

    text = (Path(dqm.__file__).parent / "profiles" / "dermatopathology.yaml").read_text("utf-8")
    assert "\nchecks:\n" in text
    custom = tmp_path / "profile.yaml"
    custom.write_text(
        text.replace("\nchecks:\n", "\nchecks:\n  duplicates.near_slides:\n    params: {max_distance: 2}\n")
    )
    items = [_item("S1", A), _item("S3", A_TURNED)]
    assert _run("duplicates.near_slides", load_profile(custom), items) == []
    assert len(_run("duplicates.near_slides", load_profile(), items)) == 1


def test_one_patient_in_two_splits_is_reported_without_the_patient_id(profile):
    items = [
        _item("S1", A, "P-77", "train", row=1),
        _item("S2", B, "P-77", "Train", row=2),
        _item("S3", A, "P-77", "test", row=3),
        _item("S4", B, "P-12", "test", row=4),
        _item("S5", B, None, "val", row=5),
    ]
    (f,) = _run("duplicates.patient_split", profile, items)
    assert (f.code, f.severity, f.item_id) == ("PATIENT_IN_TWO_SPLITS", "error", "S3")
    assert (f.location.file, f.location.row, f.location.column) == ("manifest.csv", 3, "split")
    assert "'test'" in f.message and "'S1', 'S2'" in f.message and "'train'" in f.message
    assert "P-77" not in f.message


def test_no_split_column_or_no_patients_means_no_leakage_finding(profile):
    assert _run("duplicates.patient_split", profile, [_item("S1", A, "P1"), _item("S2", B, "P1")]) == []
    assert (
        _run("duplicates.patient_split", profile, [_item("S1", A, None, "a"), _item("S2", B, None, "b")])
        == []
    )


def test_a_cluster_of_alike_slides_gives_one_finding_per_slide_about_its_worst_match(profile):
    variants = orientations(A[None])[0]
    items = [_item(f"S{k}", variants[k], "P1" if k < 4 else "P2", row=k) for k in range(6)]
    found = _run("duplicates.near_slides", profile, items)
    assert [f.item_id for f in found] == ["S1", "S2", "S3", "S4", "S5"], "n - 1 findings, not n^2 / 2"
    by_id = {f.item_id: f for f in found}
    assert by_id["S3"].code == "NEAR_DUPLICATE_SAME_PATIENT" and "and 2 other slide(s)" in by_id["S3"].message
    # S4 (patient P2) is near S0-S3 (P1): the mix-up is what it reports
    assert by_id["S4"].code == "NEAR_DUPLICATE_OTHER_PATIENT" and "'S0'" in by_id["S4"].message
    assert by_id["S5"].code == "NEAR_DUPLICATE_OTHER_PATIENT"


def test_a_cluster_of_500_alike_slides_gives_each_slide_its_count_and_worst_match(profile):
    """500 slides of one tissue in two orientations (two groups of identical hashes), every
    seventh re-saved (2 bits changed: groups of their own, 2 bits from the rest); patients P1, P2
    and unknown; three byte-identical files. One finding per slide but the first, counting every
    earlier slide near it but its own file's, about its worst match (two patients, else an unknown
    one, then the nearest, then the first)."""
    resaved = A ^ np.array([0b101] + [0] * (WORDS - 1), dtype=np.uint64)

    def patient(k):
        return None if 100 <= k < 120 else ("P1" if k < 300 else "P2")

    items = [
        _item(
            f"S{k}",
            orientations((resaved if k % 7 == 6 else A)[None])[0, 3 * (k % 2)],
            patient(k),
            row=k,
            sha="e" * 64 if k >= 497 else None,
        )
        for k in range(500)
    ]
    found = _run("duplicates.near_slides", profile, items)
    assert [f.item_id for f in found] == [f"S{k}" for k in range(1, 500)]
    by_id = {f.item_id: f for f in found}
    for k in range(2, 500):
        others = k - 1 - {498: 1, 499: 2}.get(k, 0)  # S497-S499: one file
        assert f"and {others} other slide(s) as near" in by_id[f"S{k}"].message
    assert "other slide(s)" not in by_id["S1"].message
    codes = [f.code for f in found]
    assert (
        codes
        == ["NEAR_DUPLICATE_SAME_PATIENT"] * 99
        + ["NEAR_DUPLICATE_SLIDE"] * 200
        + ["NEAR_DUPLICATE_OTHER_PATIENT"] * 200
    )
    about = {
        "S6": ("'S0'", 2),  # re-saved, and no earlier slide re-saved
        "S13": ("'S6'", 0),  # its own group first
        "S299": ("'S100'", 0),  # the first of unknown patient
        "S300": ("'S6'", 0),  # of the other patient, the nearest
        "S301": ("'S0'", 0),
        "S499": ("'S0'", 0),
    }
    for sid, (first, d) in about.items():
        assert f"like slide {first} " in by_id[sid].message and f"distance {d} of" in by_id[sid].message


def test_a_cluster_of_alike_slides_of_the_earlier_release(profile):
    """300 slides delivered again, alike, against an earlier release of 200 alike ones, one of
    them under the item's own id and one with a malformed hash: each names the nearest other earlier slide
    and counts the rest."""
    resaved = A ^ np.array([0b11] + [0] * (WORDS - 1), dtype=np.uint64)
    slides = [EarlierSlide("BAD", None, "not hex")]
    slides += [EarlierSlide(f"OLD-{k}", None, _hex(resaved if k < 5 else A)) for k in range(199)]
    earlier = EarlierRelease("old", tuple(slides))
    items = [_item(f"S{k}", A, row=k) for k in range(299)] + [_item("OLD-7", resaved, row=299)]
    found = _run("duplicates.near_slides", profile, items, earlier=earlier)
    (bad,) = [f for f in found if f.code == "BASELINE_HASH_MALFORMED"]
    assert "1 of 200 slide hashes" in bad.message and "'BAD'" in bad.message
    again = [f for f in found if f.code == "SLIDE_DELIVERED_AGAIN"]
    assert [f.item_id for f in again] == [f"S{k}" for k in range(299)] + ["OLD-7"]
    assert all("'OLD-5'" in f.message and "distance 0 of" in f.message for f in again[:299])
    assert all("and 198 other slide(s)" in f.message for f in again[:299])
    assert "'OLD-0'" in again[-1].message and "and 197 other slide(s)" in again[-1].message


def test_a_patient_id_saved_in_decomposed_form_is_the_same_patient_in_two_splits(tmp_path, profile):
    # a manifest edited on macOS spells the Korean id of one patient decomposed (NFD) on one row and
    # composed (NFC) on another: the check keyed on the text as written, two patients, and the
    # patient in train and test went unseen; the manifest's clinical cells are read in NFC
    import unicodedata

    from dqm.batch import discover
    from tests.helpers import write_tiny_batch

    root = write_tiny_batch(tmp_path / "b")
    composed, decomposed = (unicodedata.normalize(form, "김민수") for form in ("NFC", "NFD"))
    manifest = root / "manifest.csv"
    rows = manifest.read_text(encoding="utf-8").splitlines()
    extra = [",patient_id,split", f",{composed},train", f",{decomposed},test", ",P-12,test"]
    manifest.write_text("\n".join(r + e for r, e in zip(rows, extra, strict=True)) + "\n", encoding="utf-8")
    disc = discover(root)
    clinical = [item.record for item in disc.items]
    assert [c["patient_id"] for c in clinical] == [composed, composed, "P-12"]
    items = [
        _item(f"S{k + 1}", (A, B, B)[k], c["patient_id"], c["split"], row=k + 1)
        for k, c in enumerate(clinical)
    ]
    (f,) = _run("duplicates.patient_split", profile, items)
    assert (f.code, f.item_id) == ("PATIENT_IN_TWO_SPLITS", "S1")


def test_an_annotation_files_clinical_block_in_decomposed_form_is_the_same_patient(tmp_path):
    # without a manifest each annotation file's clinical block is its item's record: read in NFC
    # too, so the patient of S1 (NFC) and of S2 (NFD) is one patient, in train and in test
    import json
    import unicodedata

    from dqm.profile import load_profile
    from dqm.runner import RunOptions, run_batch
    from tests.helpers import write_tiny_batch

    root = write_tiny_batch(tmp_path / "b", manifest=False)
    forms = {"S1": ("NFC", "train"), "S2": ("NFD", "test"), "S3": ("NFC", "test")}
    template = (root / "annotations" / "S1.json").read_text(encoding="utf-8")  # S2's is broken
    for sid, (form, split) in forms.items():
        path = root / "annotations" / f"{sid}.json"
        doc = json.loads(template)
        patient = unicodedata.normalize(form, "김민수") if sid != "S3" else "P-12"
        doc["clinical"] = {"patient_id": patient, "split": split}
        path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    run = run_batch(root, load_profile(None), RunOptions(workers=1, slides=False, clinical=False))
    records = run.outcomes.clinical_records()
    assert [r["patient_id"] for r in records] == [unicodedata.normalize("NFC", "김민수")] * 2 + ["P-12"]


def test_an_earlier_releases_malformed_hashes_are_named_not_dropped(profile):
    """A baseline's slide hashes of another length (a hand-edited or foreign results.json) were
    left out of the comparison without a word: one finding counts them and names the first."""
    earlier = EarlierRelease(
        "old/results.json",
        (
            EarlierSlide("OLD-1", None, _hex(A)[:-2]),
            EarlierSlide("OLD-2", None, _hex(B)),
            EarlierSlide("OLD-3", None, _hex(B) + "00"),
        ),
    )
    found = _run("duplicates.near_slides", profile, [_item("NEW-1", A_TURNED)], earlier=earlier)
    (f,) = [f for f in found if f.code == "BASELINE_HASH_MALFORMED"]
    assert (f.severity, f.item_id) == ("warning", "batch")
    assert "2 of 3 slide hashes of the earlier release old/results.json" in f.message
    assert "(48 hex characters)" in f.message and "'OLD-1'" in f.message
    assert [g.code for g in found if g is not f] == []


def test_an_earlier_releases_hash_with_a_sign_is_malformed_not_a_crash(profile):
    """``int(word, 16)`` takes a sign, a space and ``_``: a leading ``-`` overflowed uint64 and the
    check crashed (every near-duplicate finding of the batch lost); the others passed as hashes."""
    good = _hex(A)
    earlier = EarlierRelease(
        "old/results.json",
        (
            EarlierSlide("OLD-1", None, "-" + good[1:]),
            EarlierSlide("OLD-2", None, "+" + good[1:]),
            EarlierSlide("OLD-3", None, " " + good[1:]),
            EarlierSlide("OLD-4", None, good[:20] + "_" + good[21:]),
            EarlierSlide("OLD-5", None, good),
        ),
    )
    found = _run("duplicates.near_slides", profile, [_item("NEW-1", A_TURNED)], earlier=earlier)
    (f,) = [f for f in found if f.code == "BASELINE_HASH_MALFORMED"]
    assert "4 of 5 slide hashes" in f.message and "'OLD-1'" in f.message
    (again,) = [g for g in found if g.code == "SLIDE_DELIVERED_AGAIN"]
    assert "'OLD-5'" in again.message
