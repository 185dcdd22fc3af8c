"""Perceptual slide hashes: robust to re-saving, small crops, rotations and flips; distinct slides far
apart (the pair search itself: tests/pixels/test_pairs.py)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from dqm.pixels import hashes
from dqm.pixels.hashes import distance, hash_words, orientations, parse_hash, slide_hash, stack
from dqm.pixels.pairs import near_pairs
from dqm.slide_io import tissue_from_rgba

THRESHOLD = 32  # the profile's default for duplicates.near_slides


def tissue_image(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """Pink-purple tissue with smooth texture on white glass, an off-centre blob: no symmetry."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    cx, cy = w * rng.uniform(0.4, 0.6), h * rng.uniform(0.4, 0.6)
    blob = ((xx - cx) / (w * 0.38)) ** 2 + ((yy - cy) / (h * 0.4)) ** 2 < 1
    noise = [
        np.asarray(Image.fromarray(rng.uniform(0, 255, (6, 8)).astype(np.uint8)).resize(size, Image.BICUBIC))
        for _ in range(3)
    ]
    img = np.full((h, w, 3), 245, np.float32)
    tissue = np.stack([200 + 0.2 * noise[0], 90 + 0.5 * noise[1], 170 + 0.3 * noise[2]], axis=-1)
    img[blob] = tissue[blob]
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def words_of(img: Image.Image) -> np.ndarray:
    rgba = np.asarray(img.convert("RGBA"))
    mask, _ = tissue_from_rgba(rgba)
    words = hash_words(rgba, mask)
    assert words is not None
    return words


DIHEDRAL = [
    lambda im: im,
    lambda im: im.transpose(Image.Transpose.ROTATE_90),
    lambda im: im.transpose(Image.Transpose.ROTATE_180),
    lambda im: im.transpose(Image.Transpose.ROTATE_270),
    lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    lambda im: im.transpose(Image.Transpose.FLIP_TOP_BOTTOM),
    lambda im: im.transpose(Image.Transpose.TRANSPOSE),
    lambda im: im.transpose(Image.Transpose.TRANSVERSE),
]


@pytest.mark.parametrize("k", range(8))
def test_every_rotation_and_flip_is_one_of_the_stored_orientations(k: int) -> None:
    img = tissue_image(1)
    base, turned = words_of(img), words_of(DIHEDRAL[k](img))
    assert distance(turned, base) <= 2  # exact but for coefficients at about zero
    assert distance(base, turned) == distance(turned, base)
    assert (orientations(base[None])[:, 0] == base).all(), "orientation 0 is the hash itself"


def test_re_saving_and_small_crops_stay_near_and_other_slides_stay_far() -> None:
    img = tissue_image(2)
    base = words_of(img)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=50)
    assert distance(words_of(Image.open(io.BytesIO(buf.getvalue())).convert("RGB")), base) <= THRESHOLD
    w, h = img.size
    cropped = img.crop((int(0.03 * w), int(0.02 * h), w - int(0.01 * w), h))  # glass and a rim of tissue
    assert distance(words_of(cropped), base) <= THRESHOLD
    assert distance(words_of(img.resize((w // 2, h // 2))), base) <= THRESHOLD
    others = [distance(words_of(tissue_image(seed)), base) for seed in range(10, 20)]
    assert min(others) > THRESHOLD, others


def test_real_he_images_and_their_copies(real_data) -> None:
    paths = sorted((real_data / "segmentation" / "glas" / "images").glob("*.png"))[:6]
    if len(paths) < 6:
        pytest.skip("GlaS images not found")
    images = [Image.open(p).convert("RGB") for p in paths]
    words = np.array([words_of(im) for im in images])
    assert near_pairs(words, THRESHOLD) == [], "distinct real images are not near duplicates"
    copies = np.array([words_of(im.transpose(Image.Transpose.ROTATE_90)) for im in images])
    both = np.concatenate([words, copies])
    found = {(i, j) for i, j, _ in near_pairs(both, THRESHOLD)}
    assert found == {(i, i + 6) for i in range(6)}


def test_no_hash_without_tissue_or_contrast() -> None:
    white = np.full((100, 100, 3), 240, np.uint8)
    assert hash_words(white) is None, "a flat image has nothing to hash"
    assert hash_words(white, np.zeros((100, 100), bool)) is None, "an empty tissue mask"
    speck = np.zeros((100, 100), bool)
    speck[10:14, 10:14] = True
    assert hash_words(np.asarray(tissue_image(3).resize((100, 100))), speck) is None, "a box too small"
    assert hash_words(white[..., 0]) is None, "a single-channel array"
    assert slide_hash(white) is None


def test_stored_hashes_round_trip_and_malformed_ones_are_skipped() -> None:
    text = slide_hash(np.asarray(tissue_image(4)))
    assert text is not None and len(text) == hashes.HEX_CHARS
    assert (parse_hash(text) == hash_words(np.asarray(tissue_image(4)))).all()
    for bad in (None, "", "zz" * 24, text[:-1], 12):
        assert parse_hash(bad) is None  # type: ignore[arg-type]
    # int(word, 16) takes each of these; a leading "-" overflowed uint64 (the check crashed)
    for sign in ("-", "+", " ", "_"):
        assert parse_hash(sign + text[1:]) is None, sign
        assert parse_hash(text[:20] + sign + text[21:]) is None, sign
    assert parse_hash(text[:-1] + "\u0663") is None, "a non-ASCII digit"
    array, index = stack([None, text, "not a hash", text])
    assert array.shape == (2, hashes.WORDS) and index == [1, 3]
