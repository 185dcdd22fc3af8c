"""Smooth random outlines: star-shaped blobs, so every generated polygon is simple and valid."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import Polygon


def blob(
    rng: np.random.Generator,
    cx: float,
    cy: float,
    radius: float,
    n_vertices: int,
    roughness: float = 0.18,
) -> np.ndarray:
    """An ``(n, 2)`` x/y ring: radius modulated by a few random harmonics (always > 0.45 r).

    A star-shaped ring around its centre never crosses itself, so the polygon is valid.
    """
    theta = np.linspace(0, 2 * np.pi, n_vertices, endpoint=False)
    r = np.ones_like(theta)
    for k in range(2, 7):
        amp = roughness * rng.uniform(0.2, 1.0) / (k - 1) ** 0.8
        r += amp * np.sin(k * theta + rng.uniform(0, 2 * np.pi))
    r = radius * np.clip(r, 0.45, None)
    return np.column_stack([cx + r * np.cos(theta), cy + r * np.sin(theta)])


def inner_radius(ring: np.ndarray, cx: float, cy: float) -> float:
    """The smallest centre-to-vertex distance of a star-shaped ring."""
    return float(np.min(np.hypot(ring[:, 0] - cx, ring[:, 1] - cy)))


def place_blobs(
    rng: np.random.Generator,
    region: Polygon,
    count: int,
    radius_range: tuple[float, float],
    n_vertices: int,
    tries: int = 200,
) -> list[tuple[np.ndarray, float, float]]:
    """Up to ``count`` disjoint blobs inside ``region``: ``(ring, cx, cy)`` each."""
    placed: list[tuple[np.ndarray, float, float]] = []
    geoms: list[Polygon] = []
    minx, miny, maxx, maxy = region.bounds
    for _ in range(tries):
        if len(placed) == count:
            break
        radius = rng.uniform(*radius_range)
        cx, cy = (
            rng.uniform(minx + radius, maxx - radius),
            rng.uniform(miny + radius, maxy - radius),
        )
        ring = blob(rng, cx, cy, radius, n_vertices)
        poly = Polygon(ring)
        if not region.contains(poly) or any(poly.buffer(radius * 0.1).intersects(g) for g in geoms):
            continue
        placed.append((ring, cx, cy))
        geoms.append(poly)
    return placed


def band(outline: Polygon, thickness: float, upper_fraction: float = 0.5) -> Polygon:
    """The band of ``outline`` within ``thickness`` of its upper boundary (an epidermis)."""
    minx, miny, maxx, maxy = outline.bounds
    upper = shapely.box(minx - 1, miny - 1, maxx + 1, miny + (maxy - miny) * upper_fraction)
    edge = outline.exterior.intersection(upper)
    return outline.intersection(edge.buffer(thickness))
