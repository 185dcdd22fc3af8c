"""Label-mask corruption (shift, erode, swap): what the GlaS validity benchmark corrupts."""

from __future__ import annotations

import csv
import io
import os
import resource
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dqm.pixels.masks import shifted
from dqm.validity.corrupt import REPORT, corrupt_batch


def _disc_mask(h: int, w: int, cy: int, cx: int, r: int) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    return np.where((yy - cy) ** 2 + (xx - cx) ** 2 <= r * r, 255, 0).astype(np.uint8)


@pytest.fixture
def mask_batch(tmp_path: Path) -> Path:
    root = tmp_path / "batch"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rows = []
    for k in range(6):
        sid = f"img{k}"
        h, w = (48, 64) if k < 5 else (40, 50)  # one image of another size: a swap resizes
        Image.fromarray(np.full((h, w, 3), 200, np.uint8)).save(root / "images" / f"{sid}.png")
        Image.fromarray(_disc_mask(h, w, 20, 12 + 5 * k, 9)).save(root / "masks" / f"{sid}.png")
        rows.append(
            {"slide_id": sid, "image_path": f"images/{sid}.png", "annotation_path": f"masks/{sid}.png"}
        )
    with (root / "manifest.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return root


def _mask(root: Path, sid: str) -> np.ndarray:
    return np.asarray(Image.open(root / "masks" / f"{sid}.png"))


def test_each_mask_corruption_does_what_it_says(mask_batch: Path, tmp_path: Path) -> None:
    before = {p.name: p.read_bytes() for p in (mask_batch / "masks").iterdir()}
    dst = tmp_path / "corrupted"
    done = corrupt_batch(mask_batch, dst, fraction=1.0, seed=3, kinds=("shift", "erode", "swap"))
    assert {p.name: p.read_bytes() for p in (mask_batch / "masks").iterdir()} == before  # source untouched
    assert sorted(c.kind for c in done) == ["erode", "erode", "shift", "shift", "swap", "swap"]
    for c in done:
        old = np.asarray(Image.open(mask_batch / "masks" / f"{c.slide_id}.png"))
        new = _mask(dst, c.slide_id)
        assert new.shape == old.shape and set(np.unique(new)) <= {0, 255}
        if c.kind == "erode":
            assert 0 < np.count_nonzero(new) < 0.5 * np.count_nonzero(old)
            assert not (new & ~old).any()  # only shrinks
        elif c.kind == "shift":
            dx, dy = (int(v.split("=")[1]) for v in c.detail.removesuffix(" px").split())
            assert (dx, dy) != (0, 0)
            ys, xs = np.nonzero(old)
            inside = (ys + dy >= 0) & (ys + dy < old.shape[0]) & (xs + dx >= 0) & (xs + dx < old.shape[1])
            expected = np.zeros_like(old)
            expected[ys[inside] + dy, xs[inside] + dx] = 255  # moved; what leaves the image is lost
            assert np.array_equal(new, expected)
        else:
            other = c.detail.removeprefix("the mask of ")
            src = np.asarray(Image.open(mask_batch / "masks" / f"{other}.png"))
            if src.shape == new.shape:
                assert np.array_equal(new, src)
            assert not np.array_equal(new, old)
    for sid in {f"img{k}" for k in range(6)} - {c.slide_id for c in done}:
        assert (dst / "masks" / f"{sid}.png").read_bytes() == before[f"{sid}.png"]
    with (dst / REPORT).open(encoding="utf-8") as fh:
        assert sorted(r["slide_id"] for r in csv.DictReader(fh)) == sorted(c.slide_id for c in done)
    again = corrupt_batch(mask_batch, dst, fraction=1.0, seed=3, kinds=("shift", "erode", "swap"), force=True)
    assert again == done  # seeded


def test_a_lone_swap_is_shifted_instead(mask_batch: Path, tmp_path: Path) -> None:
    done = corrupt_batch(mask_batch, tmp_path / "c", fraction=1 / 6, seed=0, kinds=("swap",))
    assert [c.kind for c in done] == ["shift"]


def test_native_kinds_leave_masks_alone(mask_batch: Path, tmp_path: Path) -> None:
    assert corrupt_batch(mask_batch, tmp_path / "c", fraction=0.5, seed=0, kinds=("class",)) == []
    with pytest.raises(ValueError, match="kinds must be among"):
        corrupt_batch(mask_batch, tmp_path / "d", kinds=("blur",))


def _truth_from_mask(array: np.ndarray, ds: float, profile_path: Path) -> np.ndarray:
    """The validity run's annotated label map of a mask, through the reader and the rasteriser."""
    from dqm.coords import Frame
    from dqm.profile import load_profile
    from dqm.raster import label_layers, rasterise
    from dqm.readers import mask, resolve_classes

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    prof = load_profile(profile_path)
    (ann,) = resolve_classes(mask.read(buf.getvalue(), "m.png", []), prof)
    layers = label_layers(ann, {c: k + 1 for k, c in enumerate(prof.class_ids)})
    h, w = array.shape
    return rasterise(layers, Frame(downsample=ds), (int(h / ds), int(w / ds)))


def _sampled(array: np.ndarray, ds: float, shape: tuple[int, int]) -> np.ndarray:
    """The mask itself at the working pixels' centres."""
    rows = np.floor((np.arange(shape[0]) + 0.5) * ds).astype(int)
    cols = np.floor((np.arange(shape[1]) + 0.5) * ds).astype(int)
    return (array[np.ix_(rows, cols)] > 0).astype(np.uint8)


GLAS_PROFILE = Path(__file__).resolve().parents[2] / "examples" / "glas" / "glas.yaml"


@pytest.mark.parametrize("ds", [1.0, 3.2258, 4.0])
def test_validity_reads_a_label_mask_exactly(ds: float) -> None:
    """No lossy round trip: the regions the reader outlines at pixel edges, rasterised by centre,
    are the mask sampled at the working pixels' centres, holes and corner-touching regions included."""
    rng = np.random.default_rng(5)
    array = np.where(rng.random((90, 130)) < 0.45, 255, 0).astype(np.uint8)  # ragged regions, holes
    array[30:60, 40:90] = 255
    array[40:50, 55:70] = 0  # a hole
    truth = _truth_from_mask(array, ds, GLAS_PROFILE)
    assert np.array_equal(truth, _sampled(array, ds, truth.shape))


def test_validity_reads_a_real_glas_mask_exactly(real_data: Path) -> None:
    glas = real_data / "segmentation" / "glas"
    first = glas / "masks" / "testA_1.png"
    if not first.is_file():
        pytest.skip(f"no GlaS mask at {first}")
    array = np.where(np.asarray(Image.open(first)) > 0, 255, 0).astype(np.uint8)
    ds = 2.0 / 0.62  # the smoke profile's 2 µm/px on GlaS's 0.62 µm/px
    truth = _truth_from_mask(array, ds, GLAS_PROFILE)
    assert truth.any() and np.array_equal(truth, _sampled(array, ds, truth.shape))


@pytest.mark.parametrize("dy, dx", [(0, 0), (3, -5), (-7, 2), (48, 0), (0, -64), (-100, 100)])
def test_a_shifted_mask_moves_and_loses_what_leaves_it(dy: int, dx: int) -> None:
    """The one ``shifted`` (dqm.pixels.artefacts) the fold rule and the corruption share: a shift
    of the mask's side or more leaves it empty (the corruption's own copy raised on it)."""
    mask = np.random.default_rng(1).integers(0, 3, (48, 64)).astype(np.uint8)
    expected = np.zeros_like(mask)
    for y, x in np.ndindex(*mask.shape):
        if 0 <= y + dy < 48 and 0 <= x + dx < 64:
            expected[y, x] = mask[y + dy, x + dx]
    assert np.array_equal(shifted(mask, dy, dx), expected)


def _rewrite_manifest(root: Path, edit: dict[str, str]) -> None:
    """Point the annotation_path of the slides named in ``edit`` elsewhere."""
    with (root / "manifest.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row["annotation_path"] = edit.get(row["slide_id"], row["annotation_path"])
    with (root / "manifest.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_copy_never_writes_outside_itself(mask_batch: Path, tmp_path: Path) -> None:
    # an annotation path that climbs out of the copy (back into the source batch, or anywhere)
    # was corrupted where it led: the source's own mask rewritten
    outside = tmp_path / "elsewhere.png"
    outside.write_bytes((mask_batch / "masks" / "img1.png").read_bytes())
    _rewrite_manifest(mask_batch, {"img0": "../batch/masks/img0.png", "img1": f"../{outside.name}"})
    before, elsewhere = _tree(mask_batch), outside.read_bytes()
    done = corrupt_batch(
        mask_batch, tmp_path / "copy", fraction=1.0, seed=3, kinds=("shift", "erode", "swap")
    )
    assert _tree(mask_batch) == before and outside.read_bytes() == elsewhere
    assert {c.slide_id for c in done} == {f"img{k}" for k in range(2, 6)}  # the two are not corrupted


@pytest.mark.parametrize("where", ["same", "inside", "parent"])
def test_the_copy_is_never_the_source_nor_inside_it_nor_around_it(mask_batch: Path, where: str) -> None:
    # with force, a copy named like the source (or its folder) removed the source batch first
    dst = {"same": mask_batch, "inside": mask_batch / "copy", "parent": mask_batch.parent}[where]
    before = _tree(mask_batch)
    with pytest.raises(ValueError, match="outside the source batch"):
        corrupt_batch(mask_batch, dst, fraction=1.0, kinds=("shift",), force=True)
    assert _tree(mask_batch) == before


@pytest.fixture
def small_files() -> Iterator[None]:
    """Files written by the test stop at 50 MB (RLIMIT_FSIZE; Python ignores SIGXFSZ, so a write
    past it raises OSError): a regression that copies ``/dev/zero`` by content cannot fill the disk."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    limit = 50_000_000 if hard == resource.RLIM_INFINITY else min(hard, 50_000_000)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


@pytest.mark.usefixtures("small_files")
def test_links_and_special_files_are_not_followed_into_the_copy(mask_batch: Path, tmp_path: Path) -> None:
    # a link to /dev/zero was copied by reading it (for ever), a FIFO stopped the copy with
    # shutil.Error, and a link to a file outside the batch copied that file's content in

    secret = tmp_path / "secret.png"
    secret.write_bytes((mask_batch / "masks" / "img2.png").read_bytes())
    kept = secret.read_bytes()
    os.symlink("/dev/zero", mask_batch / "masks" / "zero.png")
    os.mkfifo(mask_batch / "masks" / "pipe.png")
    (mask_batch / "masks" / "img2.png").unlink()
    os.symlink(secret, mask_batch / "masks" / "img2.png")
    done = corrupt_batch(mask_batch, tmp_path / "copy", fraction=1.0, seed=3, kinds=("shift", "erode"))
    copy = tmp_path / "copy" / "masks"
    assert (copy / "img2.png").is_symlink() and not (copy / "pipe.png").exists()
    assert "img2" not in {c.slide_id for c in done}  # not corrupted through the link
    assert secret.read_bytes() == kept


def test_a_mask_that_cannot_be_decoded_is_left_as_it_is(mask_batch: Path, tmp_path: Path) -> None:
    # a truncated mask, or one of more pixels than a mask is decoded whole (a few bytes that
    # expand to gigabytes), raised out of the corruption
    import struct
    import zlib

    (mask_batch / "masks" / "img0.png").write_bytes((mask_batch / "masks" / "img0.png").read_bytes()[:60])
    rows = zlib.compress(b"\0" * (1 + 20_000) * 20_000, 9)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", 20_000, 20_000, 8, 0, 0, 0, 0)
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    (mask_batch / "masks" / "img1.png").write_bytes(bomb)
    done = corrupt_batch(mask_batch, tmp_path / "copy", fraction=1.0, seed=3, kinds=("shift", "erode"))
    assert {c.slide_id for c in done} == {f"img{k}" for k in range(2, 6)}
    assert (tmp_path / "copy" / "masks" / "img1.png").read_bytes() == bomb


@pytest.mark.usefixtures("small_files")
def test_linked_manifest_and_report_are_replaced_in_the_copy_not_written_through(
    mask_batch: Path, tmp_path: Path
) -> None:
    # manifest.csv and corruption.csv, copied as links, were written through: the source batch's
    # manifest (linked inside the batch) rewritten, a file outside the batch overwritten
    (mask_batch / "meta").mkdir()
    (mask_batch / "manifest.csv").rename(mask_batch / "meta" / "manifest.csv")
    os.symlink(mask_batch / "meta" / "manifest.csv", mask_batch / "manifest.csv")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    os.symlink(victim, mask_batch / REPORT)
    before = _tree(mask_batch)
    done = corrupt_batch(mask_batch, tmp_path / "copy", fraction=1.0, seed=3, kinds=("shift", "erode"))
    assert done and _tree(mask_batch) == before and victim.read_text() == "precious\n"
    copy = tmp_path / "copy"
    for name in ("manifest.csv", REPORT):
        assert (copy / name).is_file() and not (copy / name).is_symlink()
    assert "slide_id,kind,detail" in (copy / REPORT).read_text()


@pytest.mark.parametrize("kind", ["dev-zero", "outside", "folder", "missing", "too-large"])
@pytest.mark.usefixtures("small_files")
def test_a_manifest_that_is_no_bounded_regular_file_of_the_batch_is_refused(
    mask_batch: Path, tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a manifest linked to /dev/zero was read into memory without end (MemoryError at 1.5 GB)
    from dqm.validity import corrupt

    manifest = mask_batch / "manifest.csv"
    if kind == "too-large":
        monkeypatch.setattr(corrupt, "MAX_MANIFEST_BYTES", 16)
    else:
        outside = tmp_path / "outside.csv"
        outside.write_bytes(manifest.read_bytes())
        manifest.unlink()
        if kind == "folder":
            manifest.mkdir()
        elif kind != "missing":
            os.symlink("/dev/zero" if kind == "dev-zero" else outside, manifest)
    why = "larger than 16 bytes" if kind == "too-large" else "must be a regular file inside the batch"
    with pytest.raises(ValueError, match=why):
        corrupt_batch(mask_batch, tmp_path / "copy", fraction=1.0, kinds=("shift",))
    assert not (tmp_path / "copy").exists()


def test_relative_links_that_leave_the_batch_still_lead_there_from_the_copy(tmp_path: Path) -> None:
    # images -> ../store was copied as it is: DST/../store, where there are no slides
    store, root = tmp_path / "store", tmp_path / "batch"
    store.mkdir()
    (root / "masks").mkdir(parents=True)
    Image.fromarray(np.full((48, 64, 3), 200, np.uint8)).save(store / "img0.png")
    Image.fromarray(_disc_mask(48, 64, 20, 20, 9)).save(root / "masks" / "img0.png")
    os.symlink("../store", root / "images")
    os.symlink("img0.png", root / "masks" / "same.png")  # stays inside: kept relative
    os.symlink("../../batch/masks/img0.png", root / "masks" / "round.png")  # leaves and comes back
    (root / "manifest.csv").write_text(
        "slide_id,image_path,annotation_path\nimg0,images/img0.png,masks/img0.png\n"
    )
    (tmp_path / "out").mkdir()
    copy = tmp_path / "out" / "copy"
    corrupt_batch(root, copy, fraction=1.0, seed=3, kinds=("shift",))
    assert (copy / "images" / "img0.png").read_bytes() == (store / "img0.png").read_bytes()
    assert os.readlink(copy / "images") == str(store.resolve())
    assert os.readlink(copy / "masks" / "same.png") == "img0.png"
    assert os.readlink(copy / "masks" / "round.png") == "img0.png"  # the copy's own, not the source's
    assert (copy / "masks" / "round.png").read_bytes() == (copy / "masks" / "img0.png").read_bytes()


def test_force_replaces_a_destination_that_is_a_dangling_link(mask_batch: Path, tmp_path: Path) -> None:
    # shutil.rmtree on a dangling link raised FileNotFoundError
    os.symlink(tmp_path / "gone", tmp_path / "copy")
    corrupt_batch(mask_batch, tmp_path / "copy", fraction=1.0, seed=3, kinds=("shift",), force=True)
    assert (tmp_path / "copy").is_dir() and not (tmp_path / "copy").is_symlink()
    assert not (tmp_path / "gone").exists()


def test_the_command_refuses_a_linked_manifest_with_its_reason(
    mask_batch: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dqm.validity.corrupt import main

    outside = tmp_path / "outside.csv"
    (mask_batch / "manifest.csv").rename(outside)  # a link out of the batch: refused like /dev/zero
    os.symlink(outside, mask_batch / "manifest.csv")
    with pytest.raises(SystemExit) as exc:
        main([str(mask_batch), str(tmp_path / "copy")])
    assert exc.value.code == 2
    assert "must be a regular file inside the batch" in capsys.readouterr().err


@pytest.mark.parametrize("form", ["big-endian BigTIFF", "palette PNG"])
def test_a_mask_is_corrupted_with_the_labels_the_audit_reads(tmp_path: Path, form: str) -> None:
    # _load_mask read with Pillow apart from the mask reader: a big-endian BigTIFF (which Pillow
    # does not open) was left as it is without a word, and a palette mask was converted to grey,
    # its labels written back as the palette colours' luminance (label 1 in red became 76)
    import tifffile

    from dqm.readers import mask, parse_annotation

    root = tmp_path / "batch"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rows = []
    for k in range(2):
        sid = f"img{k}"
        labels = (_disc_mask(48, 64, 20, 20 + 10 * k, 9) // 255).astype(np.uint8)
        Image.fromarray(np.full((48, 64, 3), 200, np.uint8)).save(root / "images" / f"{sid}.png")
        name = f"masks/{sid}.{'tif' if form.endswith('TIFF') else 'png'}"
        if form.endswith("TIFF"):
            tifffile.imwrite(root / name, labels, bigtiff=True, byteorder=">")
        else:
            image = Image.fromarray(labels, "P")
            image.putpalette([0, 0, 0, 255, 0, 0])
            image.save(root / name)
        rows.append({"slide_id": sid, "image_path": f"images/{sid}.png", "annotation_path": name})
    with (root / "manifest.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    done = corrupt_batch(root, tmp_path / "copy", fraction=1.0, seed=3, kinds=("erode",))
    assert sorted(c.slide_id for c in done) == ["img0", "img1"]
    for row in rows:
        (before,) = parse_annotation((root / row["annotation_path"]).read_bytes(), row["annotation_path"])
        (after,) = parse_annotation((tmp_path / "copy" / row["annotation_path"]).read_bytes(), "m")
        assert after.format == mask.NAME and after.readable
        assert {les.raw_class for les in after.lesions} == {les.raw_class for les in before.lesions} == {"1"}
        assert sum(les.area for les in after.lesions) < sum(les.area for les in before.lesions)
