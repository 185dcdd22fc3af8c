"""Shapes that annotation tools store by a few parameters, turned into rings (level-0 x/y).

* rectangles by two opposite corners (HALO) or centre, size and rotation (DSA);
* ellipses by their bounding box (HALO) or centre and size (DSA): :data:`ELLIPSE_VERTICES`
  vertices at equal parameter steps, the first at angle 0 (the area is 0.16 % under the true
  ellipse's: ``n sin(2 pi / n) / (2 pi)`` for n = 64);
* ASAP splines: a closed centripetal Catmull-Rom curve through the control points, sampled
  :data:`SPLINE_SAMPLES` times per segment (see :func:`closed_spline`);
* negative regions (ImageScope, HALO) matched to the positive region that contains them.
"""

from __future__ import annotations

import math

import numpy as np
import shapely

ELLIPSE_VERTICES = 64
SPLINE_SAMPLES = 8
"""Vertices per spline segment: control point ``j`` is vertex ``j * SPLINE_SAMPLES`` of the ring."""


def rectangle(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """The 4-vertex ring of an axis-aligned rectangle given two opposite corners."""
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


def rotated_rectangle(cx: float, cy: float, width: float, height: float, rotation: float) -> np.ndarray:
    """The 4-vertex ring of a rectangle by centre, size and rotation (radians, counter-clockwise)."""
    hw, hh = width / 2, height / 2
    corners = np.array([[-hw, -hh], [hw, -hh], [hw, hh], [-hw, hh]], dtype=np.float64)
    return _rotate(corners, rotation) + np.array([cx, cy])


def ellipse(cx: float, cy: float, rx: float, ry: float, rotation: float = 0.0) -> np.ndarray:
    """An ellipse as a ring of :data:`ELLIPSE_VERTICES` vertices."""
    t = np.arange(ELLIPSE_VERTICES) * (2 * math.pi / ELLIPSE_VERTICES)
    pts = np.column_stack([rx * np.cos(t), ry * np.sin(t)])
    return _rotate(pts, rotation) + np.array([cx, cy])


def _rotate(pts: np.ndarray, angle: float) -> np.ndarray:
    if not angle:
        return pts
    c, s = math.cos(angle), math.sin(angle)
    return pts @ np.array([[c, s], [-s, c]])


def _bezier_controls(
    p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, p3: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Inner Bézier control points of the centripetal (alpha = 0.5) Catmull-Rom segment p1 -> p2."""
    d1, d2, d3 = (float(np.hypot(*(b - a))) for a, b in ((p0, p1), (p1, p2), (p2, p3)))
    if d2 == 0:
        return p1, p2
    r1, r2, r3 = math.sqrt(d1), math.sqrt(d2), math.sqrt(d3)
    b1 = p1 if d1 == 0 else (d1 * p2 - d2 * p0 + (2 * d1 + 3 * r1 * r2 + d2) * p1) / (3 * r1 * (r1 + r2))
    b2 = p2 if d3 == 0 else (d3 * p1 - d2 * p3 + (2 * d3 + 3 * r3 * r2 + d2) * p2) / (3 * r3 * (r3 + r2))
    return b1, b2


def closed_spline(points: np.ndarray, samples: int = SPLINE_SAMPLES) -> np.ndarray:
    """A closed centripetal Catmull-Rom curve through ``points``, as a ring.

    Each segment ``p[i] -> p[i+1]`` (and the closing one ``p[n-1] -> p[0]``) is the cubic Bézier
    curve whose inner control points follow from the neighbours ``p[i-1]`` and ``p[i+2]``
    (indices wrap around), sampled at ``t = k / samples`` for ``k = 0 .. samples - 1``. The curve
    passes through every control point: control point ``j`` is ring vertex ``j * samples``.

    Degenerate input is returned unchanged (fewer than 3 points, or non-finite coordinates):
    the geometry checks then report it on the vertices as written.
    """
    pts = np.asarray(points, dtype=np.float64)
    if len(pts) > 3 and np.array_equal(pts[0], pts[-1]):
        pts = pts[:-1]  # an explicit closing vertex is not a control point
    n = len(pts)
    if n < 3 or not np.isfinite(pts).all():
        return np.asarray(points, dtype=np.float64)
    t = (np.arange(samples) / samples)[:, None]
    basis = ((1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3)
    out = np.empty((n * samples, 2))
    with np.errstate(over="ignore", invalid="ignore"):  # vertices near 1e308 overflow the curve
        for i in range(n):
            p0, p1, p2, p3 = pts[i - 1], pts[i], pts[(i + 1) % n], pts[(i + 2) % n]
            b1, b2 = _bezier_controls(p0, p1, p2, p3)
            out[i * samples : (i + 1) * samples] = (
                basis[0] * p1 + basis[1] * b1 + basis[2] * b2 + basis[3] * p2
            )
    if not np.isfinite(out).all():
        return np.asarray(points, dtype=np.float64)  # as written: the geometry checks report it
    return out


def assign_holes(shells: list[np.ndarray], holes: list[np.ndarray]) -> tuple[list[int | None], list[int]]:
    """For each hole ring, the index of the smallest shell that contains it (or None).

    A hole belongs to a shell when the shell's polygon contains the hole's representative point
    (its first vertex when the hole cannot form a polygon). Returns the owner of each hole and the
    holes no shell contains.
    """
    polys = [_polygon(s) for s in shells]
    areas = [p.area if p is not None else math.inf for p in polys]
    owners: list[int | None] = []
    orphans: list[int] = []
    for h, ring in enumerate(holes):
        probe = _probe_point(ring)
        best: int | None = None
        if probe is not None:
            for s, poly in enumerate(polys):
                if poly is not None and poly.contains(probe) and (best is None or areas[s] < areas[best]):
                    best = s
        owners.append(best)
        if best is None:
            orphans.append(h)
    return owners, orphans


def _polygon(ring: np.ndarray) -> shapely.Polygon | None:
    if len(ring) < 3 or not np.isfinite(ring).all() or len(np.unique(ring, axis=0)) < 3:
        return None
    poly = shapely.Polygon(ring)
    if not poly.is_valid:
        with np.errstate(over="ignore", invalid="ignore"):  # GEOS overflows near 1e308
            poly = shapely.make_valid(poly)  # only to test containment; the ring itself is kept as read
    return poly if poly.area > 0 else None


def _probe_point(ring: np.ndarray) -> shapely.Point | None:
    if not len(ring) or not np.isfinite(ring).all():
        return None
    poly = _polygon(ring)
    if poly is not None:
        return poly.representative_point()
    return shapely.Point(ring[0])
