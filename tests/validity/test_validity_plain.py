"""Plain images (PNG, JPEG: what Pillow reads) in a validity run: Pillow decodes one whole, so one
with more than MAX_DECODED_PIXELS to decode at the working resolution is left out from its header,
before any pixel is decoded (a JPEG drafted at 1/2 to 1/8 where the resolution allows it), and one
whose size is not the audit's (which its outlines are drawn on) is left out too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageFile

from dqm.validity import data
from dqm.validity.data import SlideReader, SlideRecord, SlideRefused
from dqm.validity.run import _unreadable


def _image(path: Path, size: tuple[int, int]) -> Path:
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


def _no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def never(self: Any) -> Any:
        raise AssertionError("a refused image was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", never)


@pytest.mark.parametrize("name", ["big.png", "big.jpg"])
def test_a_plain_image_with_too_many_pixels_to_decode_is_left_out_from_its_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """Validity decoded a plain image whole at any size Pillow allows (178 M pixels: a 13,000 x
    13,000 PNG took 1.2 GiB at peak in each process reading it)."""
    path = _image(tmp_path / name, (400, 300))
    monkeypatch.setattr(data, "MAX_DECODED_PIXELS", 400 * 300 - 1)
    _no_decoding(monkeypatch)
    reader = SlideReader(path, root=tmp_path)
    with pytest.raises(SlideRefused) as caught:
        reader.check(1.0, (400, 300))
    record = SlideRecord("S1", path, 1.0, 400, 300, [], None, None, "S1", root=tmp_path)
    excluded = _unreadable(record, caught.value)
    assert excluded.codes == ("PLAIN_IMAGE_TOO_LARGE",)
    assert "400x300 px to decode" in excluded.reason and "119,999" in excluded.reason
    with pytest.raises(SlideRefused, match="too large to decode"):  # a tile read later: the same
        reader.read(0, 0, 8, 8, 1.0)


def test_a_jpeg_is_decoded_at_the_reduced_scale_the_working_resolution_allows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _image(tmp_path / "big.jpg", (400, 300))
    monkeypatch.setattr(data, "MAX_DECODED_PIXELS", 100 * 75)
    reader = SlideReader(path, root=tmp_path)
    reader.check(4.0, (400, 300))  # drafted at 1/4: 100 x 75 pixels decoded
    assert reader.read(0, 0, 75, 100, 4.0).shape == (75, 100, 3)
    with pytest.raises(SlideRefused, match="200x150 px to decode"):
        reader.check(2.0, (400, 300))
    png = _image(tmp_path / "big.png", (400, 300))  # PNG has no reduced decoding
    with pytest.raises(SlideRefused, match="400x300 px to decode"):
        SlideReader(png, root=tmp_path).check(4.0, (400, 300))


def test_a_plain_image_of_another_size_than_the_audit_recorded_is_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its outlines are drawn on the size the audit recorded: an image replaced since by one of
    another size (``--results`` reads the slides later) was trained on under labels that did not fit."""
    path = _image(tmp_path / "s.png", (200, 100))
    _no_decoding(monkeypatch)
    with pytest.raises(SlideRefused) as caught:
        SlideReader(path, root=tmp_path).check(1.0, (400, 200))
    record = SlideRecord("S1", path, 1.0, 400, 200, [], None, None, "S1", root=tmp_path)
    excluded = _unreadable(record, caught.value)
    assert excluded.codes == ("PLAIN_IMAGE_CHANGED",) and "200x100" in excluded.reason
    assert "400x200" in excluded.reason


def test_an_image_past_pillows_own_limit_is_refused_as_too_large(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _image(tmp_path / "s.png", (200, 100))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 5_000)  # past twice this, Pillow refuses to open
    with pytest.raises(SlideRefused) as caught:
        SlideReader(path, root=tmp_path).check(1.0, (200, 100))
    assert caught.value.code == "PLAIN_IMAGE_TOO_LARGE" and "too large to decode" in caught.value.why


def test_a_slide_openslide_reads_passes_the_check(clean_records: list[SlideRecord]) -> None:
    record = clean_records[0]
    reader = SlideReader(record.path, root=record.root)
    reader.check(record.downsample(2.0), (record.width, record.height))
    reader.close()


def test_the_decoded_images_the_tile_readers_keep_are_bounded_by_the_runs_budget(tmp_path: Path) -> None:
    """Each slide's reader kept up to 512 MiB of decoded images of its own, in each DataLoader
    worker: 12 plain images read by 2 workers were 24 decoded images kept. The run's budget
    (``training.decoded_cache_mib``) is now split among the workers, and a worker's slides share
    its share: what all of them keep is bounded by the budget, whatever the number of slides."""
    import pickle

    side = 600  # 1.03 MiB decoded as RGB
    records = [
        SlideRecord(
            f"S{k}", _image(tmp_path / f"s{k}.png", (side, side)), 1.0, side, side, [], None, None, f"P{k}"
        )
        for k in range(12)
    ]
    budget_mib, workers = 4, 2
    share = data.decoded_cache_share(budget_mib, workers)
    assert share == 2 << 20 and data.decoded_cache_share(budget_mib, workers, processes=2) == 1 << 20
    assert data.decoded_cache_share(budget_mib, 0) == 4 << 20  # no workers: the training process reads
    tiles = data.TileReader(records, 1.0, 32, cache_bytes=share)
    assert len(pickle.dumps(tiles)) < 100_000  # what a worker is sent: no decoded image
    kept = []
    for w in range(workers):  # as DataLoader gives each worker the dataset: a copy of its own
        worker = pickle.loads(pickle.dumps(tiles))
        assert all(r.cache is worker.cache for r in worker.readers)  # one cache for all its slides
        for k in range(len(records)):
            sample = worker({"slide": k, "row0": 100 * w, "col0": 50, "label": 0})
            assert sample["unreadable"] == 0 and sample["image"].shape == (3, 32, 32)
            assert worker.cache.nbytes <= share
        kept.append(worker.cache.nbytes)
    assert 0 < sum(kept) <= budget_mib << 20
    # an image read again after it was let go is decoded again, the same
    again = worker({"slide": 0, "row0": 10, "col0": 20, "label": 0})["image"]
    first = np.asarray(Image.open(records[0].path))[10:42, 20:52].transpose(2, 0, 1)
    assert np.array_equal(again, first)


def test_an_image_larger_than_the_share_is_not_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One image larger than the budget was kept alone (every other one let go for it): a process
    kept a whole 64 M-pixel decode, 192 MiB, on a share of a few MiB. It is not kept now; the
    images kept stay, and it is decoded again, the same, for its next read."""
    side = 600  # 1.03 MiB decoded as RGB
    small, big = _image(tmp_path / "small.png", (100, 100)), _image(tmp_path / "big.png", (side, side))
    cache = data.DecodedCache(1 << 20)
    SlideReader(small, cache=cache).read(0, 0, 8, 8, 1.0)
    assert cache.nbytes == 100 * 100 * 3
    decoded = []
    load = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(1) or load(self))
    reader = SlideReader(big, cache=cache)
    first, again = reader.read(10, 20, 32, 32, 1.0), reader.read(10, 20, 32, 32, 1.0)
    assert len(decoded) == 2  # decoded for each read
    assert np.array_equal(first, again) and np.array_equal(first, np.asarray(Image.open(big))[10:42, 20:52])
    assert cache.nbytes == 100 * 100 * 3 and cache.get(big, 1.0) is None
    assert cache.get(small, 1.0) is not None


def test_the_runs_own_readers_share_its_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """The readers a run made to index, predict and draw its slides each kept 512 MiB of their own,
    outside ``training.decoded_cache_mib``: each is given the run's cache now, one process's share;
    and the index pass's open of the slide (the record's ``first``), which each checks its own
    opens against (a reader made without it took whatever scan it found as its baseline)."""
    from dqm.validity import run
    from dqm.validity.settings import load_validity_profile

    base = load_validity_profile("smoke")
    training = base.training.model_copy(update={"decoded_cache_mib": 8, "loader_workers": 2, "processes": 2})
    prof = base.model_copy(update={"training": training})
    cache = run.run_cache(prof)
    assert cache.budget == 2 << 20 == data.decoded_cache_share(8, 2, 2)
    given: list[Any] = []
    firsts: list[Any] = []

    class Reader:
        def __init__(
            self, path: Path, root: Path | None = None, cache: Any = None, first: Any = None
        ) -> None:
            given.append(cache)
            firsts.append(first)

        def read(self, *args: Any) -> Any:
            raise OSError("unreadable")

        def close(self) -> None:
            pass

    monkeypatch.setattr(run, "SlideReader", Reader)
    index_pass: Any = object()  # what the index pass's open took: every later reader checks against it
    record = SlideRecord("S1", Path("s1.png"), 1.0, 64, 64, [], None, None, "P1", first=index_pass)
    done = run.evaluate_slides(None, [record], "f", prof, ["C0"], "cpu", cache=cache)
    assert [e.slide_id for e in done.unreadable] == ["S1"]
    run.evaluate_slides(None, [record], "f", prof, ["C0"], "cpu")  # made from the profile
    score = run.SlideScore(slide_id="S1", fold="f", lesion_dice=0.5)
    labels = np.zeros((4, 4), dtype=np.uint8)
    assert run._overlays([score], [record], {"S1": (1, labels, labels)}, ["#000000"], prof, cache) == []
    assert given[0] is cache and given[2] is cache
    assert isinstance(given[1], data.DecodedCache) and given[1].budget == 2 << 20
    assert firsts == [index_pass] * 3


def _small_share(mib: int = 1, workers: int = 2) -> Any:
    """The ``smoke`` profile with ``decoded_cache_mib`` of ``mib`` split among ``workers``."""
    from dqm.validity.settings import load_validity_profile

    base = load_validity_profile("smoke")
    training = base.training.model_copy(update={"decoded_cache_mib": mib, "loader_workers": workers})
    return base.model_copy(update={"training": training})


def test_predicting_an_image_larger_than_the_share_decodes_it_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An image over the run's share was decoded whole again for each block its prediction read
    (600 x 600 px in blocks of 200: 9 decodes; an 8,000 x 8,000 PNG on a 128 MiB share in blocks of
    1,024: 64 decodes of 183 MiB for one slide). The run's own cache holds it while its slide is
    read, beside the images it keeps, and lets it go with the slide's reader."""
    import torch

    from dqm.validity import run
    from dqm.validity.infer import predict_slide

    side = 600  # 1.03 MiB decoded as RGB, over a share of 512 KiB
    small, big = _image(tmp_path / "small.png", (100, 100)), _image(tmp_path / "big.png", (side, side))
    cache = run.run_cache(_small_share(1, 2))
    assert cache.budget == 512 << 10
    SlideReader(small, cache=cache).read(0, 0, 8, 8, 1.0)
    expected = np.asarray(Image.open(big))[10:42, 20:52]
    decoded: list[int] = []
    load = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(1) or load(self))
    record = SlideRecord("S1", big, 1.0, side, side, [], None, None, "S1", root=tmp_path)
    reader = SlideReader(big, root=tmp_path, cache=cache)
    size = reader.check(1.0, (side, side))

    def model(x: Any) -> Any:
        return torch.zeros((x.shape[0], 2, *x.shape[2:]))

    reads = []
    read = reader.read
    monkeypatch.setattr(reader, "read", lambda *a: reads.append(a) or read(*a))
    kw = dict(resolution_um=1.0, tile=32, overlap=0.0, sw_batch_size=4, device="cpu", amp=False)
    assert predict_slide(model, reader, record, block=200, **kw).shape == (side, side)  # type: ignore[arg-type]
    assert len(reads) == 9 and len(decoded) == 1 and cache.decodes == 2  # the small one, then this
    assert np.array_equal(reader.read(10, 20, 32, 32, 1.0), expected)
    assert len(decoded) == 1 and cache.nbytes == 100 * 100 * 3  # the images kept: within the share
    assert size == side * side * 3  # what its decode takes (the run's warning adds these up)
    reader.close()
    assert cache.get(big, 1.0) is None and cache.get(small, 1.0) is not None
    # a tile reader's cache holds none: a worker reads many slides, one held each would be unbounded
    tiles = data.TileReader([record], 1.0, 32, cache_bytes=cache.budget)
    for _ in range(2):
        tiles({"slide": 0, "row0": 0, "col0": 0, "label": 0})
    assert tiles.cache.decodes == 2 and tiles.cache.get(big, 1.0) is None


def test_a_run_says_once_which_plain_images_its_share_cannot_keep(tmp_path: Path) -> None:
    """An image over a training process's share of ``training.decoded_cache_mib`` is decoded whole
    again for each tile read from it, N times the decoding, and nothing said so. The run says it
    once, with the counts and sizes (no slide named) and the setting that keeps them all."""
    import io

    from rich.console import Console

    from dqm.validity import run
    from dqm.validity.progress import RichReporter

    prof = _small_share(4, 8)  # 512 KiB a process
    mib = 1 << 20
    assert run.decoded_over_share([0, 100_000, 512 << 10], prof) is None  # OpenSlide, small, equal
    note = run.decoded_over_share([0, 3 * mib + 1, 2 * mib, 100_000], prof)
    assert note is not None
    text = note.rendered("en")  # type: ignore[attr-defined]
    assert text.startswith("2 plain images decode to more than")
    for part in (
        "(0.5 MiB: 4 MiB among 8 processes",
        "the largest decodes to 3.1 MiB",  # one decimal below 10 MiB (was 4)
        "decoded_cache_mib: 48 keeps",
    ):
        assert part in text, part
    text = run.decoded_over_share([600 << 10, 40 * mib + 1], _small_share(1, 2)).rendered("en")  # type: ignore[union-attr]
    assert "(0.5 MiB: 1 MiB among 2 processes" in text and "the largest decodes to 41 MiB" in text
    one = run.decoded_over_share([600 << 10], _small_share(1, 2))
    assert one is not None and "the largest decodes to 0.6 MiB" in one.rendered("en")  # type: ignore[attr-defined]
    for decoded, said in ((mib, "1 MiB)"), (10 * mib - 1, "10 MiB)"), (mib + 1, "1.1 MiB)")):  # not 1.0, 10.0
        whole = run.decoded_over_share([decoded], _small_share(1, 2))
        assert whole is not None and f"the largest decodes to {said}" in whole.rendered("en"), decoded  # type: ignore[attr-defined]
    out = io.StringIO()
    RichReporter(Console(file=out, width=400), "ko").warn(note)
    shown = out.getvalue()
    assert shown.startswith("경고: 일반 이미지 2개가") and "48로 하면" in shown


def test_a_training_batch_decodes_each_image_larger_than_the_share_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Training tiles are sampled over every slide in turn: an image over a process's share was
    decoded whole for each of its tiles (a batch of 8 tiles of 2 such images: 8 decodes; a 6,000 x
    6,000 PNG took 0.76 s of CPU a tile). A batch's tiles are read slide by slide now, each such
    image decoded once a batch, held while its tiles are read and let go after; the batch is the
    one read tile by tile, in its order."""
    import torch

    from dqm.validity.train import TileSamples, train_transforms

    side = 300  # 264 KiB decoded, over a share of 128 KiB
    records = [
        SlideRecord(
            f"S{k}", _image(tmp_path / f"s{k}.png", (side, side)), 1.0, side, side, [], None, None, f"P{k}"
        )
        for k in range(2)
    ]
    prof = _small_share(1, 8).model_copy(update={"tile": 32})
    tiles = data.TileReader(records, 1.0, 32, cache_bytes=data.decoded_cache_share(1, 8))
    samples = [{"slide": k % 2, "row0": 10 * k, "col0": 7 * k, "label": 0} for k in range(16)]
    transform = train_transforms(prof, tiles)
    transform.set_random_state(seed=3)
    one_by_one = [transform(s) for s in samples[:8]]
    assert tiles.cache.decodes == 8  # a decode a tile
    decoded = tiles.cache.decodes
    transform.set_random_state(seed=3)
    loader = torch.utils.data.DataLoader(TileSamples(samples, transform, tiles), batch_size=8, num_workers=0)
    batches = list(loader)
    assert tiles.cache.decodes - decoded == 2 * 2  # each image once a batch
    assert tiles.cache.nbytes == 0 and tiles.cache.get(records[0].path, 1.0) is None  # let go
    for key in ("image", "label", "slide", "unreadable"):
        assert torch.equal(batches[0][key], torch.stack([torch.as_tensor(s[key]) for s in one_by_one])), key


def test_a_validity_run_on_plain_images_over_the_share_warns_once_and_decodes_once_a_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``dqm validity`` on two 600 x 600 PNGs (1 MiB decoded each) with ``decoded_cache_mib: 1`` and
    two loader workers (0.5 MiB a worker): the run says once, on stderr, that its share keeps
    neither, and its training workers decode the training image once a batch (``TileSamples``),
    not once a tile (a DataLoader over the transform alone: 32 decodes for 4 batches). Neither
    the warning's wiring nor train_fold's dataset was tested end to end."""
    import csv
    import multiprocessing
    import os

    from typer.testing import CliRunner

    from dqm.cli import app

    batch = tmp_path / "batch"
    (batch / "images").mkdir(parents=True)
    (batch / "masks").mkdir()
    rows = []
    yy, xx = np.mgrid[:600, :600]
    for k in range(2):
        rgb = np.random.default_rng(k).integers(0, 255, (600, 600, 3), dtype=np.uint8)  # two images
        Image.fromarray(rgb).save(batch / "images" / f"img{k}.png")
        disc = (yy - 300) ** 2 + (xx - 200 - 200 * k) ** 2 <= 120**2
        Image.fromarray(np.where(disc, 255, 0).astype(np.uint8)).save(batch / "masks" / f"img{k}.png")
        rows.append([f"img{k}", f"images/img{k}.png", f"masks/img{k}.png", f"P{k}", "train", "benign"])
    with (batch / "manifest.csv").open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(
            [["slide_id", "image_path", "annotation_path", "patient_id", "split", "grade"], *rows]
        )
    tiny = Path(__file__).with_name("tiny.yaml").read_text()
    profile = tmp_path / "plain.yaml"
    profile.write_text(
        tiny.replace("resolution_um: 4.0", "resolution_um: 0.62")
        .replace("epochs: 2,", "epochs: 1,")
        .replace("cpu_threads: 1}", "cpu_threads: 1, decoded_cache_mib: 1, loader_workers: 2}")
        .replace("overlays: 1", "overlays: 0")
    )
    decodes = tmp_path / "decodes.txt"
    put = data.DecodedCache.put

    def counted(self: data.DecodedCache, path: Path, ds: float, image: np.ndarray) -> None:
        with decodes.open("a") as fh:  # the loader's workers are other processes: one line a decode
            fh.write(f"{os.getpid()}\n")
        put(self, path, ds, image)

    monkeypatch.setattr(data.DecodedCache, "put", counted)
    glas = Path(__file__).resolve().parents[2] / "examples" / "glas" / "glas.yaml"
    out = tmp_path / "out"
    args = [
        "validity",
        str(batch),
        "--out",
        str(out),
        "--profile",
        str(profile),
        "--dataset-profile",
        str(glas),
    ]
    res = CliRunner().invoke(app, [*args, "-j", "1"])
    assert res.exit_code in (0, 1), res.output
    said = " ".join(res.stderr.split())
    assert said.count("warning: 2 plain images decode to more than") == 1, said
    assert "(0.5 MiB: 1 MiB among 2 processes reading tiles; the largest decodes to 1.1 MiB)" in said
    assert "training.decoded_cache_mib: 6 keeps every plain image decoded" in said
    if multiprocessing.get_start_method() != "fork":
        pytest.skip(
            f"decodes counted only where the loader's workers are forked: under "
            f"{multiprocessing.get_start_method()!r} they import DecodedCache.put afresh, unpatched"
        )
    workers = [line for line in decodes.read_text().split() if line != str(os.getpid())]
    assert len(workers) == 4  # 32 tiles of the one training image in 4 batches of 8: once a batch
