"""Corrupted labels score lower: the property that makes Dice a validity measure.

The fast tests use an oracle (the clean masks as the "prediction", i.e. a model that learnt the
true tissue perfectly) scored against the corrupted annotations, through the same scoring code
as a run. The slow test trains the smoke network on a clean and on a corrupted copy.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from dqm.coords import Frame
from dqm.profile import Profile
from dqm.raster import rasterise
from dqm.runner import RunOptions, run_batch
from dqm.validity.corrupt import REPORT, corrupt_batch
from dqm.validity.data import select_slides
from dqm.validity.metrics import summarise_classes
from dqm.validity.run import score_slide


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(root).as_posix().encode() + p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def corrupted(clean_batch: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    before = _digest(clean_batch)
    dst = tmp_path_factory.mktemp("corrupt") / "batch"
    done = corrupt_batch(clean_batch, dst, fraction=0.5, seed=4)
    assert _digest(clean_batch) == before  # the source batch is never written to
    return dst, done


@pytest.fixture(scope="module")
def corrupted_records(corrupted: tuple[Path, list], profile: Profile) -> list:
    records, _ = select_slides(run_batch(corrupted[0], profile, RunOptions(workers=1)), profile)
    return records


def test_corruption_is_as_asked_and_recorded(clean_batch: Path, corrupted: tuple[Path, list]) -> None:
    dst, done = corrupted
    assert len(done) == 7  # half of 14
    kinds = {c.kind for c in done}
    assert kinds == {"class", "shift"}
    with (dst / REPORT).open(encoding="utf-8") as fh:
        assert [r["slide_id"] for r in csv.DictReader(fh)] == [c.slide_id for c in done]
    again = corrupt_batch(clean_batch, dst, fraction=0.5, seed=4, force=True)
    assert again == done  # seeded
    with pytest.raises(FileExistsError):
        corrupt_batch(clean_batch, dst)


def test_corrupted_labels_stay_syntactically_valid(corrupted: tuple[Path, list], profile: Profile) -> None:
    dst, done = corrupted
    run = run_batch(dst, profile, RunOptions(workers=1))
    assert not [f for f in run.findings if f.severity.value == "error"]
    # the copy's own corruption.csv is dqm's bookkeeping, like truth.csv: not a stray file
    assert not [f for f in run.findings if f.location.file == REPORT]
    records, excluded = select_slides(run, profile)
    assert not excluded and len(records) == 14
    by_id = {r.slide_id: r for r in records}
    for c in done:
        doc = json.loads((dst / "annotations" / f"{c.slide_id}.json").read_text(encoding="utf-8"))
        if c.kind == "class":
            new = c.detail.split(" -> ")[1]
            assert by_id[c.slide_id].diagnosis == new
            assert {les["class"] for les in doc["lesions"]} == {new}
        else:
            w, h = doc["slide"]["width"], doc["slide"]["height"]
            pts = np.array(
                [p for les in doc["lesions"] for ring in les["geometry"]["coordinates"] for p in ring]
            )
            assert (
                pts[:, 0].min() >= 0
                and pts[:, 0].max() <= w
                and pts[:, 1].min() >= 0
                and pts[:, 1].max() <= h
            )


def test_an_oracle_scores_the_corrupted_batch_lower_and_flags_exactly_the_corrupted_slides(
    clean_records: list, corrupted_records: list, corrupted: tuple[Path, list], profile: Profile
) -> None:
    _, done = corrupted
    classes = list(profile.class_ids)
    clean = clean_records
    bad_by_id = {r.slide_id: r for r in corrupted_records}
    res = 2.0
    clean_scores, bad_scores = [], []
    for rec in clean:
        ds = rec.downsample(res)
        shape = rec.size_at(res)
        truth = rasterise(rec.lesions, Frame(downsample=ds), shape)  # the oracle's prediction
        wrong = rasterise(bad_by_id[rec.slide_id].lesions, Frame(downsample=ds), shape)
        clean_scores.append(score_slide(rec, "oracle", truth, truth, classes))
        bad_scores.append(score_slide(bad_by_id[rec.slide_id], "oracle", truth, wrong, classes))
    targets = dict.fromkeys(classes, 0.8)
    _, clean_mean, *_ = summarise_classes(clean_scores, classes, targets, 0, 0.95, 0)
    _, bad_mean, *_ = summarise_classes(bad_scores, classes, targets, 0, 0.95, 0)
    assert clean_mean == pytest.approx(1.0)
    assert bad_mean is not None and bad_mean < clean_mean - 0.25
    corrupted_ids = {c.slide_id for c in done}
    flagged = {s.slide_id for s in bad_scores if s.suspicion > 0.3}
    assert flagged == corrupted_ids
    for s in bad_scores:
        if s.slide_id in corrupted_ids:
            kind = next(c.kind for c in done if c.slide_id == s.slide_id)
            assert s.suspicion == pytest.approx(1.0) if kind == "class" else 0.3 < s.suspicion < 1.0
        else:
            assert s.suspicion == pytest.approx(0.0)


def test_a_trained_model_agrees_less_with_corrupted_labels(
    tmp_path: Path,
    clean_records: list,
    corrupted_records: list,
    corrupted: tuple[Path, list],
    profile: Profile,
) -> None:
    """Small scale, seconds: a model trained on the batch's true labels agrees much less with the
    corrupted annotations of the corrupted slides than with their true ones.

    Ten seconds of training cannot generalise to held-out slides of a 14-slide batch (classes go
    missing from training), so this model trains on every slide's true labels; the held-out,
    full-scale comparison is the slow test below.
    """
    from dqm.validity.data import SlideReader, index_slide
    from dqm.validity.run import evaluate_slides
    from dqm.validity.settings import load_validity_profile
    from dqm.validity.train import Reporter, reproducible, train_fold

    prof = load_validity_profile(Path(__file__).with_name("fast.yaml"))
    classes = list(profile.class_ids)
    bad_ids = {c.slide_id for c in corrupted[1]}
    train = list(range(len(clean_records)))
    rng = np.random.default_rng(0)
    indices = [
        index_slide(r, SlideReader(r.path), prof.resolution_um, prof.index_factor, rng) for r in clean_records
    ]
    with reproducible("cpu", 1):
        model = train_fold(
            profile=prof,
            fold_name="fast",
            fold_seed=0,
            records=clean_records,
            indices=indices,
            train_ids=train,
            classes=classes,
            device="cpu",
            checkpoint=tmp_path / "fast.pt",
            resume=False,
            reporter=Reporter(),
        ).model
        true_labels = evaluate_slides(
            model, [r for r in clean_records if r.slide_id in bad_ids], "t", prof, classes, "cpu"
        )
        bad_labels = evaluate_slides(
            model, [r for r in corrupted_records if r.slide_id in bad_ids], "b", prof, classes, "cpu"
        )
    good = np.mean([s.lesion_dice or 0.0 for s in true_labels.scores])
    bad = np.mean([s.lesion_dice or 0.0 for s in bad_labels.scores])
    print(f"lesion Dice on the corrupted slides: true labels {good:.3f}, corrupted labels {bad:.3f}")
    assert good > 0.3, "the model learnt the tissue"
    assert bad < 0.5 * good


@pytest.mark.slow
def test_training_on_corrupted_labels_scores_clearly_lower(tmp_path: Path, profile: Profile) -> None:
    """The smoke network, trained and scored on a clean batch and on a half-corrupted copy."""
    from dqm.synth import build_batch
    from dqm.validity.run import ValidityOptions, run_validity
    from dqm.validity.settings import load_validity_profile

    clean = tmp_path / "clean"
    build_batch(clean, 35, seed=21, max_size=1024)
    corrupt_batch(clean, tmp_path / "bad", fraction=0.5, seed=1)
    smoke = load_validity_profile("smoke")
    prof = smoke.model_copy(update={"training": smoke.training.model_copy(update={"epochs": 6})})
    good = run_validity(clean, profile, ValidityOptions(prof, tmp_path / "out-clean"), workers=1)
    bad = run_validity(tmp_path / "bad", profile, ValidityOptions(prof, tmp_path / "out-bad"), workers=1)
    assert good.mean_dice is not None and bad.mean_dice is not None
    print(f"mean Dice: clean {good.mean_dice:.3f}, half corrupted {bad.mean_dice:.3f}")
    assert bad.mean_dice < good.mean_dice - 0.15
    assert good.mean_dice > 0.6
