"""Coordinate frames, written down once.

OpenSlide, annotation files and shapely use ``(x, y)`` in the **level-0** pixel frame: x to the
right, y down. numpy and scikit-image index arrays ``(row, col)`` = ``(y, x)``. Variables in dqm
say which they hold (``xy`` or ``rc``); every raster carries its downsample from level 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MAX_MPP = 1e4
"""The largest declared resolution, micrometres per pixel, taken as a number (1 cm a pixel)."""
MAX_OBJECTIVE_POWER = 1000.0
"""The largest declared objective power taken as a magnification (light microscopes stop near 100×):
an annotation's (``VALUE_OUT_OF_RANGE`` beyond it) and a slide header's in the diversity variables
(an ``AppMag`` of 1e308 was a magnification category ``1e+308×``)."""
PLAUSIBLE_OBJECTIVE_POWER = (1.0, 100.0)
"""The objective powers a slide header's is taken as a magnification between, by default: the
``slide.header`` check's ``objective_min`` / ``objective_max`` (``OBJECTIVE_POWER_IMPLAUSIBLE``
outside) and the diversity variable ``magnification`` (outside, the nominal one from mpp: a header's
1e-308 was a category ``1e-308×``, 500 one of ``500×``)."""
PLAUSIBLE_MPP = (0.1, 2.0)
"""The level-0 resolutions (µm per pixel) taken as a scanned or photographed slide's, by default:
the ``slide.header`` check's ``mpp_min`` / ``mpp_max`` (``MPP_IMPLAUSIBLE`` outside) and the
artefact measure's (:mod:`dqm.pixels.artefacts`: folds are not judged at a resolution outside,
whatever states it, and ``artefacts.slide`` reports an error)."""
MIN_MPP = 1e-3
"""The smallest positive declared resolution taken as a number (1 nm a pixel; a light microscope
resolves about 200 nm): 1e-300 made every lesion's area 0.0 µm² and LESION_TOO_SMALL. Annotation
files and the manifest's ``mpp`` column are held to the same bounds."""


def xy_to_rc(xy: np.ndarray) -> np.ndarray:
    """``(N, 2)`` x/y points to ``(N, 2)`` row/col points (same frame, columns swapped)."""
    return np.asarray(xy)[:, ::-1]


def rc_to_xy(rc: np.ndarray) -> np.ndarray:
    """``(N, 2)`` row/col points to ``(N, 2)`` x/y points (same frame, columns swapped)."""
    return np.asarray(rc)[:, ::-1]


@dataclass(frozen=True, slots=True)
class Frame:
    """A raster's place in level 0: pixel ``(r, c)`` covers level-0 ``x = x0 + c * downsample``."""

    x0: float = 0.0
    y0: float = 0.0
    downsample: float = 1.0

    def to_level0_xy(self, rc: np.ndarray) -> np.ndarray:
        """Raster row/col points to level-0 x/y."""
        xy = rc_to_xy(np.asarray(rc, dtype=float))
        return xy * self.downsample + (self.x0, self.y0)

    def from_level0_xy(self, xy: np.ndarray) -> np.ndarray:
        """Level-0 x/y points to raster x/y (still x/y: shapely and PIL draw in x/y)."""
        return (np.asarray(xy, dtype=float) - (self.x0, self.y0)) / self.downsample


def usable_mpp(mpp: float | None) -> bool:
    """Whether a resolution (µm per level-0 pixel) can be used: a positive finite number."""
    return mpp is not None and math.isfinite(mpp) and mpp > 0


def area_um2(area_px: float, mpp: float | None) -> float | None:
    """A level-0 pixel area in square micrometres, or None when the resolution is unknown."""
    if mpp is None or not usable_mpp(mpp):
        return None
    return float(area_px) * mpp * mpp
