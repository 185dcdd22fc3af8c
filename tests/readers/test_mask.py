"""Raster label masks (dqm.readers.mask): decoding, tracing with holes, the mask issues, offsets,
class resolution through the profile's ``mask_values``, pairing by name and the size check."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dqm.batch import discover, is_mask, pair_key
from dqm.model import Annotation
from dqm.profile import Limits, Profile
from dqm.readers import mask, parse_annotation, read_annotation, resolve_classes
from dqm.runner import RunOptions, run_batch

GLAS = ("segmentation", "glas")
BCSS = ("annotations", "dsa", "TCGA-A2-A0YE_left-59206_top-33505_mag-BASE.png")


def _png(array: np.ndarray, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format=fmt)
    return out.getvalue()


def _labels() -> np.ndarray:
    """A 60x80 label image: a ring of 1 (20x20 outer, 8x8 hole) and a 10x10 square of 2."""
    a = np.zeros((60, 80), np.uint8)
    a[10:30, 10:30] = 1
    a[16:24, 16:24] = 0
    a[40:50, 50:60] = 2
    return a


def _glas_profile() -> Profile:
    return Profile(
        name="glas", classes=({"id": "gland", "name": "gland"},), clinical={}, mask_values={255: "gland"}
    )


def test_label_mask_regions_become_lesions_with_holes() -> None:
    (ann,) = parse_annotation(_png(_labels()), "masks/S1.png")
    assert ann.format == "mask" and ann.readable and not ann.issues
    assert (ann.width, ann.height) == (80, 60)
    ring, square = ann.lesions
    assert (ring.raw_class, square.raw_class) == ("1", "2")
    assert ring.pointer == "/mask/1/0" and ring.is_valid and square.is_valid
    assert len(ring.polygons[0]) == 2  # shell and hole
    assert ring.geometry.bounds == (10.0, 10.0, 30.0, 30.0)
    assert square.geometry.bounds == (50.0, 40.0, 60.0, 50.0)
    assert ring.area == ring.properties[mask.PIXELS] == 400 - 64  # exact pixel edges: area = pixel count
    assert square.area == 100 and len(square.polygons[0][0]) == 5  # a closed ring of 4 corners


def test_16_bit_and_bmp_masks_are_read() -> None:
    a = np.zeros((20, 20), np.uint16)
    a[5:10, 5:10] = 1000
    (ann,) = parse_annotation(_png(a), "m.png")
    assert [les.raw_class for les in ann.lesions] == ["1000"]
    (bmp,) = parse_annotation(_png(_labels(), "BMP"), "S1_anno.bmp")
    assert [les.raw_class for les in bmp.lesions] == ["1", "2"]
    (text,) = parse_annotation(b"BMI,age\n22.5,40\n", "table.csv")  # starts with BM: not an image
    assert [i.code for i in text.issues] == ["UNKNOWN_FORMAT"]


def test_values_resolve_through_the_profile_and_unmapped_ones_are_counted(profile: Profile) -> None:
    mapped = profile.model_copy(update={"mask_values": {1: profile.class_ids[0]}})
    (ann,) = resolve_classes(parse_annotation(_png(_labels()), "m.png"), mapped)
    assert [les.label for les in ann.lesions] == [profile.class_ids[0], None]
    (issue,) = ann.issues
    assert issue.code == "MASK_VALUE_UNMAPPED" and issue.pointer == "/mask/2"
    assert "100 pixels in 1 region(s)" in issue.message


def test_institution_mask_values_win(profile: Profile) -> None:
    a, b = profile.class_ids[:2]
    mapped = profile.model_copy(update={"mask_values": {1: a}, "institution_mask_values": {"Site B": {1: b}}})
    assert mapped.mask_class("1") == a and mapped.mask_class("1", "site b") == b
    assert mapped.mask_class("x") is None
    with pytest.raises(ValueError, match="not in the taxonomy"):
        Profile(name="p", classes=({"id": "a", "name": "a"},), clinical={}, mask_values={1: "zz"})


def test_grey_levels_lossy_empty_and_colour_masks() -> None:
    binary = np.zeros((100, 100), np.uint8)
    binary[20:60, 20:60] = 255
    binary[20, 20:60] = 128  # an anti-aliased edge: 40 pixels between the labels
    (grey,) = parse_annotation(_png(binary), "g.png")
    (issue,) = [i for i in grey.issues if i.code == "MASK_GREY_LEVELS"]
    assert "40 of 10000 pixels (0.400%)" in issue.message
    (jpeg,) = parse_annotation(_png(binary, "JPEG"), "j.jpg")
    assert "MASK_LOSSY" in {i.code for i in jpeg.issues}
    (empty,) = parse_annotation(_png(np.zeros((10, 10), np.uint8)), "e.png")
    assert [i.code for i in empty.issues] == ["MASK_EMPTY"] and not empty.lesions
    colour = np.zeros((10, 10, 3), np.uint8)
    colour[2:5, 2:5] = (255, 0, 0)
    (rgb,) = parse_annotation(_png(colour), "c.png")
    assert not rgb.readable and [i.code for i in rgb.issues] == ["MASK_NOT_LABELS"]
    grey_rgb = np.repeat(_labels()[..., None], 3, axis=2)
    (same,) = parse_annotation(_png(grey_rgb), "r.png")
    assert same.readable and [les.raw_class for les in same.lesions] == ["1", "2"]


def test_broken_and_oversized_masks_are_issues_not_crashes() -> None:
    data = _png(_labels())
    (cut,) = parse_annotation(data[: len(data) // 2], "cut.png")
    assert not cut.readable and cut.issues[0].code == "ANNOTATION_UNREADABLE"
    (garbage,) = parse_annotation(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "g.png")
    assert garbage.issues[0].message == "the image cannot be decoded: Pillow does not recognise its content"
    (big,) = parse_annotation(data, "big.png", Limits(mask_pixels=1000))
    assert not big.readable and big.issues[0].code == "LIMIT_EXCEEDED"
    assert "over limits.mask_pixels = 1000 (not decoded)" in big.issues[0].message


def test_regions_touching_at_a_corner_are_two_lesions() -> None:
    a = np.zeros((10, 10), np.uint8)
    a[2:4, 2:4] = 1
    a[4:6, 4:6] = 1
    (ann,) = parse_annotation(_png(a), "c.png")
    assert sorted(les.area for les in ann.lesions) == [4, 4] and all(les.is_valid for les in ann.lesions)


def test_too_many_regions_are_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    dots = np.zeros((20, 20), np.uint8)
    dots[::4, ::4] = 1
    monkeypatch.setattr(mask, "MAX_LESIONS", 3)
    (ann,) = parse_annotation(_png(dots), "d.png")
    assert len(ann.lesions) == 3 and [i.code for i in ann.issues] == ["MASK_TOO_MANY_REGIONS"]


def test_region_offset_from_the_name() -> None:
    assert mask.offset("a/TCGA-X_left-59206_top-33505_mag-BASE.png") == (59206, 33505)
    assert mask.offset("S1_mask.png") == (0, 0)
    (ann,) = parse_annotation(_png(_labels()), "S_left-1000_top-2000_mag-BASE.png")
    assert ann.lesions[1].geometry.bounds == (1050.0, 2040.0, 1060.0, 2050.0)
    assert ann.width is None  # a region does not say the slide's size


def test_mask_names_and_folders_pair_with_their_images(tmp_path: Path) -> None:
    assert is_mask("masks/X.png") and is_mask("X_mask.png") and is_mask("X_anno.bmp")
    assert is_mask("masks_grade/X.png") and not is_mask("images/X.png") and not is_mask("masks/X.svs")
    assert not is_mask("gtex/X.png")
    assert pair_key("X_mask.png") == pair_key("masks/X.png") == pair_key("X_anno.bmp") == "X"
    assert pair_key("X_mask.json") == "X_mask"
    png = _png(_labels())
    for rel in (
        "images/A.png",
        "masks/A.png",
        "B.png",
        "B_mask.png",
        "C.bmp",
        "C_anno.bmp",
        "D.png",
        "E_mask.png",
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(png)
    items = {i.slide_id: (i.image_path, i.annotation_path) for i in discover(tmp_path).items}
    assert items == {
        "A": ("images/A.png", "masks/A.png"),
        "B": ("B.png", "B_mask.png"),
        "C": ("C.bmp", "C_anno.bmp"),
        "D": ("D.png", None),
        "E": (None, "E_mask.png"),
    }


def test_audit_of_masks_reports_size_pairing_and_values(tmp_path: Path) -> None:
    image = np.full((60, 80, 3), 230, np.uint8)
    image[10:30, 10:30] = (150, 60, 140)
    binary = (_labels() == 1).astype(np.uint8) * 255
    files = {
        "images/A.png": _png(image),
        "masks/A.png": _png(binary),
        "images/B.png": _png(image),
        "masks/B.png": _png(binary[:, :60].copy()),  # cut: another aspect ratio
        "images/C.png": _png(image),
        "masks/D.png": _png(binary),
        "images/E.png": _png(image),
        "masks/E.png": _png(_labels()),  # values 1 and 2, not 255
    }
    for rel, data in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    run = run_batch(tmp_path, _glas_profile(), RunOptions(workers=1, clinical=False))
    found = Counter((f.item_id, f.code) for f in run.findings)
    assert found[("B", "MASK_SIZE_MISMATCH")] == 1
    (size,) = [f for f in run.findings if f.code == "MASK_SIZE_MISMATCH"]
    assert size.message == "the mask is 60x60, its image 80x60: another aspect ratio (1 against 1.333)"
    assert found[("C", "ANNOTATION_MISSING")] == 1 and found[("D", "SLIDE_MISSING")] == 1
    assert found[("E", "MASK_VALUE_UNMAPPED")] == 2 and not found[("E", "CLASS_UNKNOWN")]
    assert not found[("batch", "CLASS_UNMAPPED")]  # values are not class names: reported once, per item
    assert not {code for item, code in found if item == "A" and code.startswith(("MASK", "CLASS"))}


def test_real_glas_masks(real_data: Path) -> None:
    root = real_data.joinpath(*GLAS)
    if not root.is_dir():
        pytest.skip(f"GlaS not found at {root}")
    profile = _glas_profile()
    names = sorted(p.name for p in (root / "masks").glob("*.png"))
    assert len(names) == 165
    codes: Counter[str] = Counter()
    glands = 0
    for name in names[::15]:  # every 15th mask: 11 of the 165
        (ann,) = resolve_classes(read_annotation(root / "masks" / name, f"masks/{name}"), profile)
        with Image.open(root / "images" / name) as image:
            assert ann.readable and (ann.width, ann.height) == image.size
        assert all(les.label == "gland" and les.is_valid for les in ann.lesions)
        codes.update(i.code for i in ann.issues)
        glands += len(ann.lesions)
    assert not codes and glands > 11


def test_real_bcss_region_mask(real_data: Path, profile: Profile) -> None:
    path = real_data.joinpath(*BCSS)
    (ann,) = resolve_classes(read_annotation(path, path.name), profile)
    assert ann.readable and ann.width is None
    assert Counter(les.raw_class for les in ann.lesions) == {
        "1": 29,
        "2": 20,
        "3": 14,
        "7": 1,
        "13": 2,
        "18": 3,
    }
    x0, y0, x1, y1 = np.array([les.geometry.bounds for les in ann.lesions]).T
    assert x0.min() >= 59206 and y0.min() >= 33505 and x1.max() <= 59206 + 4542 and y1.max() <= 33505 + 4594
    unmapped = {i.pointer: i.message for i in ann.issues if i.code == "MASK_VALUE_UNMAPPED"}
    assert len(unmapped) == 6 and "3396902 pixels in 29 region(s)" in unmapped["/mask/1"]


def test_binary_mask_takes_the_class_of_the_diagnosis(profile: Profile) -> None:
    binary = (_labels() == 1).astype(np.uint8) * 255
    anns = parse_annotation(_png(binary), "m.png")
    first = profile.classes[0]
    (by_diagnosis,) = resolve_classes(anns, profile, None, first.name)
    assert [les.label for les in by_diagnosis.lesions] == [first.id] and not by_diagnosis.issues
    (without,) = resolve_classes(anns, profile)
    assert [i.code for i in without.issues] == ["MASK_VALUE_UNMAPPED"]
    (labels,) = resolve_classes(parse_annotation(_png(_labels()), "l.png"), profile, None, first.name)
    assert {les.label for les in labels.lesions} == {None}  # only a 0/255 mask's 255 follows the diagnosis


def test_plain_images_take_their_resolution_from_the_manifest_or_the_profile(tmp_path: Path) -> None:
    image = np.full((60, 80, 3), 230, np.uint8)
    binary = (_labels() == 1).astype(np.uint8) * 255
    for name in ("A", "B"):
        (tmp_path / "images").mkdir(exist_ok=True)
        (tmp_path / "masks").mkdir(exist_ok=True)
        (tmp_path / "images" / f"{name}.png").write_bytes(_png(image))
        (tmp_path / "masks" / f"{name}.png").write_bytes(_png(binary))

    def missing(profile: Profile) -> set[str]:
        run = run_batch(tmp_path, profile, RunOptions(workers=1, clinical=False))
        return {f.item_id for f in run.findings if f.code == "MPP_MISSING"}

    assert missing(_glas_profile()) == {"A", "B"}
    (tmp_path / "manifest.csv").write_text(
        "slide_id,image_path,annotation_path,mpp\nA,images/A.png,masks/A.png,0.62\nB,images/B.png,masks/B.png,n/a\n"
    )
    assert missing(_glas_profile()) == {"B"}
    assert missing(_glas_profile().model_copy(update={"image_mpp": 0.5})) == set()
    run = run_batch(tmp_path, _glas_profile(), RunOptions(workers=1, clinical=False))
    assert [o.summary.slide.mpp for o in run.outcomes] == [0.62, None]


def test_whole_slide_masks_at_a_downsample_are_scaled_to_the_slide(tmp_path: Path) -> None:
    image = np.full((120, 160, 3), 230, np.uint8)
    binary = (_labels() == 1).astype(np.uint8) * 255  # 80x60: half the image
    three_quarters = np.zeros((90, 120), np.uint8)
    three_quarters[30:60, 30:60] = 255
    files = {
        "images/A.png": image,
        "masks/A.png": binary,
        "images/B.png": image,
        "masks/B.png": three_quarters,
    }
    for rel, array in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(_png(array.copy()))
    run = run_batch(tmp_path, _glas_profile(), RunOptions(workers=1, clinical=False))
    a, b = run.outcomes
    assert not [f for f in a.findings if f.code == "MASK_SIZE_MISMATCH"]
    (les,) = a.annotation.annotation().lesions
    assert les.geometry.bounds == (20.0, 20.0, 60.0, 60.0) and les.area == 4 * (400 - 64)
    (size,) = [f for f in b.findings if f.code == "MASK_SIZE_MISMATCH"]
    assert "120x90, its image 160x120: the same aspect ratio at 0.75 of the size" in size.message
    (region,) = parse_annotation(_png(binary), "S_left-10_top-20_mag-BASE.png")
    assert mask.at_slide_scale(region, (160, 120), None) is region  # a region is never scaled
    (stated,) = parse_annotation(_png(binary), "m.png")
    assert mask.at_slide_scale(stated, None, 4).width == 320


def test_a_mask_converts_to_qupath_polygons_with_holes(tmp_path: Path) -> None:
    from dqm.convert import convert_file

    profile = Profile(
        name="p", classes=({"id": "a", "name": "a"},), clinical={}, mask_values={1: "a", 2: "a"}
    )
    src = tmp_path / "S1_mask.png"
    src.write_bytes(_png(_labels()))
    (path,) = convert_file(src, "qupath", tmp_path / "out", profile).written
    (back,) = read_annotation(Path(path), "S1.geojson")
    assert back.format == "qupath" and [les.area for les in back.lesions] == [400 - 64, 100]
    assert len(back.lesions[0].polygons[0]) == 2  # the hole survives the round trip


def test_a_region_mask_lies_where_the_manifest_says(tmp_path: Path) -> None:
    image = np.full((60, 80, 3), 230, np.uint8)
    binary = (_labels() == 1).astype(np.uint8) * 255
    for rel, array in {"slides/A.png": image, "masks/A.png": binary[:40, :40].copy()}.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(_png(array))
    (tmp_path / "manifest.csv").write_text(
        "slide_id,image_path,annotation_path,mask_left,mask_top\nA,slides/A.png,masks/A.png,30,15\n"
    )
    (outcome,) = run_batch(tmp_path, _glas_profile(), RunOptions(workers=1, clinical=False)).outcomes
    (les,) = outcome.annotation.annotation().lesions
    assert les.geometry.bounds == (40.0, 25.0, 60.0, 45.0)
    assert not [f for f in outcome.findings if f.code == "MASK_SIZE_MISMATCH"]  # a region: no slide size
    (named,) = parse_annotation(_png(binary), "S_left-5_top-5_mag-BASE.png")
    assert mask.at_offset(named, (30, 15)) is named  # the name's offset wins


def _tiff(array: np.ndarray, tile: int = 32) -> bytes:
    import tifffile

    out = io.BytesIO()
    tifffile.imwrite(out, array, tile=(tile, tile), compression="zlib")
    return out.getvalue()


def test_a_tiled_mask_too_large_to_decode_whole_is_read_tile_by_tile(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pyramidal mask as large as its slide: read tile by tile, regions joined across tiles,
    the same lesions as decoding it whole (regions cross tile edges, holes, a ragged edge tile)."""
    rng = np.random.default_rng(3)
    labels = np.zeros((150, 170), np.uint8)
    labels[rng.random(labels.shape) < 0.05] = 2
    labels[20:120, 25:140] = 1
    labels[50:70, 60:90] = 0  # a hole across tile edges
    labels[130:150, 150:170] = 2  # in the ragged last tile
    (whole,) = parse_annotation(_tiff(labels), "masks/S.tif")
    monkeypatch.setattr(mask, "MAX_PIXELS", 1000)
    (tiled,) = parse_annotation(_tiff(labels), "masks/S.tif")
    assert tiled.readable and (tiled.width, tiled.height) == (170, 150)
    assert tiled.issues == whole.issues

    def by_value(ann: Annotation) -> list[tuple]:
        return sorted((les.raw_class, round(les.area), les.geometry.bounds) for les in ann.lesions)

    assert by_value(tiled) == by_value(whole)
    ring = max(tiled.lesions, key=lambda les: les.area)
    assert ring.area == 100 * 115 - 20 * 30 and len(ring.polygons[0]) == 2  # joined, hole kept
    (refused,) = parse_annotation(_tiff(labels), "masks/S.tif", Limits(mask_pixels=10_000))
    assert not refused.readable and refused.issues[0].code == "LIMIT_EXCEEDED"
    assert "over limits.mask_pixels = 10000 (not decoded)" in refused.issues[0].message


def test_a_tiled_colour_mask_is_refused_tile_by_tile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mask, "MAX_PIXELS", 1000)
    rgb = np.zeros((64, 64, 3), np.uint8)
    rgb[40:50, 40:50] = (200, 30, 30)
    (ann,) = parse_annotation(_tiff(rgb), "masks/S.tif")
    assert not ann.readable and ann.issues[0].code == "MASK_NOT_LABELS"
    grey = np.repeat(_labels()[..., None], 3, axis=2)  # RGB with equal channels: a label image
    (ok,) = parse_annotation(_tiff(grey), "masks/S.tif")
    assert ok.readable and sorted(les.area for les in ok.lesions) == [100, 400 - 64]


def _frames(sizes: list[tuple[int, int]], fmt: str) -> bytes:
    """A mask of several frames (the first the labels, the rest of ``sizes``)."""
    first = Image.fromarray(_labels())
    rest = [Image.fromarray(np.full((h, w), 2 + k, np.uint8)) for k, (w, h) in enumerate(sizes)]
    out = io.BytesIO()
    first.save(out, format=fmt, save_all=True, append_images=rest)
    return out.getvalue()


@pytest.mark.parametrize("fmt,name", [("TIFF", "m.tif"), ("PNG", "m.png")])
def test_a_mask_of_several_frames_says_only_the_first_was_read(fmt: str, name: str) -> None:
    # an animated PNG, a multi-page TIFF: the later frames were left out in silence
    (ann,) = parse_annotation(_frames([(80, 60)] * 3, fmt), name)
    (issue,) = [i for i in ann.issues if i.code == "MASK_FRAMES"]
    assert "(3 of the next 8 looked at)" in issue.message
    assert [les.raw_class for les in ann.lesions] == ["1", "2"]  # the first frame's labels


def test_a_pyramids_smaller_levels_are_not_frames_of_the_mask() -> None:
    (ann,) = parse_annotation(_frames([(40, 30), (20, 15)], "TIFF"), "m.tif")
    assert "MASK_FRAMES" not in {i.code for i in ann.issues}
    (one,) = parse_annotation(_png(_labels()), "one.png")
    assert "MASK_FRAMES" not in {i.code for i in one.issues}


def _blocks(rows: int, cols: int) -> np.ndarray:
    """Squares of four values on a grid, one with a hole: few runs, many pixels."""
    a = np.zeros((rows, cols), np.uint8)
    for k, y in enumerate(range(10, rows - 60, 90)):
        for j, x in enumerate(range(10, cols - 60, 90)):
            a[y : y + 60, x : x + 60] = (1, 2, 255, 7)[(k + j) % 4]
            a[y + 20 : y + 30, x + 20 : x + 30] = 0
    return a


@pytest.mark.parametrize("mode", ["L", "RGB", "I;16"])
def test_a_decoded_mask_holds_few_copies_of_its_pixels(monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    # counting a mask's values widened every pixel to 8 bytes at once (np.bincount), and an RGB mask
    # was copied three times over: a 64-million-pixel mask peaked at 10 bytes a pixel (611 MiB),
    # an RGB one at 14; now the values are counted and the pixels copied a band of rows at a time
    import tracemalloc

    monkeypatch.setattr(mask, "TALLY_PIXELS", 1 << 16)  # bands small beside the 4 M pixels
    labels = _blocks(2000, 2000)
    if mode == "RGB":
        content = _png(np.dstack([labels] * 3))
    else:
        content = _png(labels.astype(np.uint16) * 3 if mode == "I;16" else labels)
    mask.read(_png(_blocks(200, 200)), "masks/S.png", [])  # what the first read imports is not counted
    tracemalloc.start()
    try:
        (ann,) = mask.read(content, "masks/S.png", [])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    size = labels.size * (2 if mode == "I;16" else 1)  # the label array's bytes
    assert ann.readable and len(ann.lesions) == 22 * 22 and not ann.issues
    assert peak < 3 * size  # the labels and where their runs start (a byte a pixel): 2.6 for L


def test_values_counted_and_pixels_copied_in_bands_are_the_whole_mask(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(4)
    a = _blocks(700, 300)
    a[rng.random(a.shape) < 0.01] = 9
    for labels in (a, a.astype(np.uint16) * 300, a.astype(np.int32) - 5, np.dstack([a] * 3)[..., 0]):
        whole = np.unique(labels, return_counts=True)
        for band in (1, 299, 301, 10**9):  # pixels a band: less than a row, about one, all
            monkeypatch.setattr(mask, "TALLY_PIXELS", band)
            values, counts = mask._tally(labels)
            np.testing.assert_array_equal(values, whole[0])
            np.testing.assert_array_equal(counts, whole[1])
    content = _png(np.dstack([a] * 3))
    monkeypatch.setattr(mask, "TALLY_PIXELS", 10**9)
    (one,) = mask.read(content, "masks/S.png", [])
    monkeypatch.setattr(mask, "TALLY_PIXELS", 500)  # a row a band
    (banded,) = mask.read(content, "masks/S.png", [])
    assert one.readable and len(one.lesions) > 4
    assert [(les.raw_class, les.polygons[0][0].tobytes()) for les in banded.lesions] == [
        (les.raw_class, les.polygons[0][0].tobytes()) for les in one.lesions
    ]
    b = np.dstack([a] * 3)
    b[650, 7, 2] += 1  # in the last band: a colour image after all
    (colour,) = mask.read(_png(b), "masks/S.png", [])
    assert not colour.readable and colour.issues[0].code == "MASK_NOT_LABELS"


def _oriented(array: np.ndarray, fmt: str, orientation: int | None, order: str = "<") -> bytes:
    """``array`` as a ``fmt`` file (PNG, JPEG: an EXIF Orientation; TIFF, BigTIFF: tag 274 of its
    first page, in byte order ``order``) stating ``orientation`` (None: no tag)."""
    import tifffile

    out = io.BytesIO()
    if fmt in ("TIFF", "BigTIFF"):
        tags = [] if orientation is None else [(274, "H", 1, orientation, True)]
        tifffile.imwrite(out, array, bigtiff=fmt == "BigTIFF", byteorder=order, extratags=tags)  # type: ignore[arg-type]
        return out.getvalue()
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    Image.fromarray(array).save(out, format=fmt, exif=exif.tobytes())
    return out.getvalue()


def test_a_mask_whose_orientation_differs_from_its_image_is_said(tmp_path: Path) -> None:
    # neither the image's nor the mask's Orientation is applied (as Pillow and MONAI read them);
    # where the two differ, whatever applies them turns one against the other: no finding said so
    image = np.full((60, 80, 3), 230, np.uint8)
    binary = (_labels() == 1).astype(np.uint8) * 255
    files = {
        "images/A.tif": _oriented(image, "TIFF", None),
        "masks/A.tif": _oriented(binary, "TIFF", 6),
        "images/B.jpg": _oriented(image, "JPEG", 3),
        "masks/B.png": _oriented(binary, "PNG", 3),
        "images/C.png": _oriented(image, "PNG", 8),
        "masks/C.tif": _oriented(binary, "BigTIFF", 8, ">"),
        "images/D.png": _oriented(image, "PNG", None),
        "masks/D.tif": _oriented(binary, "BigTIFF", 1, ">"),
        "images/E.tif": _oriented(image, "TIFF", 6, ">"),
        "masks/E.png": _oriented(binary, "PNG", None),
    }
    for rel, data in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    run = run_batch(tmp_path, _glas_profile(), RunOptions(workers=1, clinical=False))
    turned = {f.item_id: f for f in run.findings if f.code == "MASK_ORIENTATION_MISMATCH"}
    assert sorted(turned) == ["A", "E"]
    assert turned["A"].message.startswith("the mask's Orientation tag is 6, its image's 1 (1: as stored)")
    assert turned["E"].message.startswith("the mask's Orientation tag is 1, its image's 6 (1: as stored)")
    assert turned["A"].location.pointer == "/mask/orientation" and turned["A"].severity == "warning"
    assert not {f.code for f in run.findings if f.item_id in "BCD" and f.code.startswith(("MASK", "SLIDE"))}


@pytest.mark.parametrize(("fmt", "order"), [("TIFF", "<"), ("TIFF", ">"), ("BigTIFF", "<")])
def test_a_tiff_mask_is_read_as_stored_whatever_its_orientation(fmt: str, order: str) -> None:
    # Pillow 13 turns a TIFF by its tag 274 on load (tifffile, reading a BE BigTIFF or a tiled
    # mask, and every PNG reader do not): the mask was read turned or as stored by its layout
    stored = np.random.default_rng(1).integers(0, 3, (6, 9)).astype(np.uint8)
    for orientation in range(1, 9):
        array, failed, _ = mask.decode_whole(_oriented(stored, fmt, orientation, order), "m.tif")
        assert failed is None and array is not None
        assert array.shape == (6, 9) and np.array_equal(array, stored), orientation


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_a_tiff_mask_with_alpha_is_read_as_stored_whatever_its_orientation(mode: str) -> None:
    # its alpha check loaded the pixels first: Pillow 13 turned them and dropped the tag before
    # the turn was looked up, so an opaque RGBA or LA TIFF mask of tags 2-8 was read turned
    import tifffile

    stored = np.random.default_rng(2).integers(0, 3, (6, 9)).astype(np.uint8) * 100
    opaque = np.full_like(stored, 255)
    planes = [stored] * 3 + [opaque] if mode == "RGBA" else [stored, opaque]
    kw = {"photometric": "rgb"} if mode == "RGBA" else {"photometric": "minisblack"}
    arrays = []
    for t in range(1, 9):
        out = io.BytesIO()
        tags = [(274, "H", 1, t, True)]
        tifffile.imwrite(out, np.dstack(planes), extrasamples=[2], extratags=tags, **kw)  # type: ignore[arg-type]
        array, failed, _ = mask.decode_whole(out.getvalue(), "m.tif")
        assert failed is None and array is not None, t
        arrays.append(array)
    assert arrays[0].shape == (6, 9)
    assert all(a.shape == (6, 9) and np.array_equal(a, arrays[0]) for a in arrays), mode


def test_a_tiff_image_and_mask_of_one_orientation_are_read_in_one_frame(tmp_path: Path) -> None:
    # a plain stripped TIFF image and its TIFF mask, both of tag t (one tool wrote both): Pillow 13
    # turned the image by its tag on load, the mask was read as stored. Tag 6: MASK_SIZE_MISMATCH;
    # tag 3: the lesion, in the stored tissue, LESION_ON_BACKGROUND. Both are read as stored now
    image = np.full((60, 80, 3), 235, np.uint8)
    image[5:35, 5:45] = (150, 90, 160)  # tissue at the top left, as stored
    binary = np.zeros((60, 80), np.uint8)
    binary[10:30, 10:40] = 255  # the lesion within it
    for t in range(1, 9):
        (tmp_path / "images").mkdir(exist_ok=True)
        (tmp_path / "masks").mkdir(exist_ok=True)
        (tmp_path / f"images/O{t}.tif").write_bytes(_oriented(image, "TIFF", t))
        (tmp_path / f"masks/O{t}.tif").write_bytes(_oriented(binary, "TIFF", t))
    run = run_batch(tmp_path, _glas_profile(), RunOptions(workers=1, clinical=False))
    assert len(run.outcomes) == 8
    wrong = {"MASK_SIZE_MISMATCH", "LESION_ON_BACKGROUND", "MASK_ORIENTATION_MISMATCH"}
    assert sorted((f.item_id, f.code) for f in run.findings if f.code in wrong) == []


def test_a_mask_oriented_like_its_image_is_read_in_its_frame(tmp_path: Path) -> None:
    # A: JPEG image and LE TIFF mask both of tag 3: equal tags, but the mask was read turned 180°
    # (the lesion at x 40-70), and nothing said so. B: TIFF mask 6, image none: the mismatch, and no
    # size mismatch (the mask was read 60x80). C: tiled TIFF mask 3, PNG image 3: as stored both.
    import tifffile

    image = np.full((60, 80, 3), 230, np.uint8)
    binary = np.zeros((60, 80), np.uint8)
    binary[10:30, 10:40] = 255
    tiled = io.BytesIO()
    tifffile.imwrite(tiled, binary, tile=(16, 16), extratags=[(274, "H", 1, 3, True)])
    files = {
        "images/A.jpg": _oriented(image, "JPEG", 3),
        "masks/A.tif": _oriented(binary, "TIFF", 3),
        "images/B.jpg": _oriented(image, "JPEG", None),
        "masks/B.tif": _oriented(binary, "TIFF", 6),
        "images/C.png": _oriented(image, "PNG", 3),
        "masks/C.tif": tiled.getvalue(),
    }
    for rel, data in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    for key in "ABC":
        (ann,) = mask.read(files[f"masks/{key}.tif"], f"masks/{key}.tif", [])
        assert (ann.width, ann.height) == (80, 60) and ann.lesions[0].geometry.bounds == (10, 10, 40, 30)
    run = run_batch(tmp_path, _glas_profile(), RunOptions(workers=1, clinical=False))
    said = sorted((f.item_id, f.code) for f in run.findings if f.code.startswith(("MASK", "SLIDE")))
    assert said == [("B", "MASK_ORIENTATION_MISMATCH")]


def test_a_png_mask_s_orientation_is_read_without_its_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    # getexif() on a PNG with no eXIf before its pixels decoded them all (a second decode)
    from PIL import ImageFile

    loads: list[str] = []
    real = ImageFile.ImageFile.load

    def counted(self: ImageFile.ImageFile) -> object:
        loads.append(self.format or "")
        return real(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counted)
    assert mask._orientation(_png(_labels())) is None  # no eXIf chunk
    assert mask._orientation(_oriented(_labels(), "PNG", 6)) == 6
    assert mask._orientation(_oriented(np.dstack([_labels()] * 3), "JPEG", 8)) == 8
    assert loads == []
