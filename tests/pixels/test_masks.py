"""The probe's morphology (dqm/pixels/masks.py) equals scipy.ndimage's."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from dqm.pixels.masks import dilate, fill_holes, grey_closing


def test_dilation_and_hole_filling_equal_scipy() -> None:
    rng = np.random.default_rng(5)
    for _ in range(60):
        mask = rng.random(tuple(rng.integers(1, 70, 2))) < rng.uniform(0.05, 0.8)
        for radius in (1, 3):
            assert np.array_equal(dilate(mask, radius), ndimage.binary_dilation(mask, iterations=radius))
        assert np.array_equal(fill_holes(mask), ndimage.binary_fill_holes(mask))


def test_grey_closing_equals_scipy_down_to_images_smaller_than_the_window() -> None:
    rng = np.random.default_rng(6)
    for rows in (1, 2, 4, 5, 9, 17, 64):
        for cols in (1, 3, 4, 8, 13, 70):
            image = rng.random((rows, cols)).astype(np.float32)
            for size in (3, 9):
                assert np.array_equal(grey_closing(image, size), ndimage.grey_closing(image, size=size))


def test_hole_filling_with_and_without_holes_equals_scipy() -> None:
    yy, xx = np.mgrid[:40, :50]
    radius = np.hypot(yy - 20, xx - 25)
    for mask in (radius < 12, (radius < 12) & (radius > 6), radius > 30, np.zeros((40, 50), bool)):
        assert np.array_equal(fill_holes(mask), ndimage.binary_fill_holes(mask))
