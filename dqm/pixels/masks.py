"""Morphology the probe's pixel measures share, equal to their :mod:`scipy.ndimage` counterparts
and cheaper on the small images a probe makes (shifted array operations, no iterated structuring
passes)."""

from __future__ import annotations

import numpy as np


def dilate(mask: np.ndarray, iterations: int) -> np.ndarray:
    """``ndimage.binary_dilation(mask, iterations=iterations)`` (the 4-neighbour cross each time,
    nothing beyond the border), by shifted ORs."""
    for _ in range(iterations):
        grown = mask.copy()
        grown[1:] |= mask[:-1]
        grown[:-1] |= mask[1:]
        grown[:, 1:] |= mask[:, :-1]
        grown[:, :-1] |= mask[:, 1:]
        mask = grown
    return mask


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """``ndimage.binary_fill_holes(mask)``: the background regions (4-connected) that do not reach
    the border are filled; one labelling, not a propagation of the border region step by step."""
    from scipy import ndimage

    labels, n = ndimage.label(~mask)
    if not n:
        return mask
    outside = np.zeros(n + 1, bool)
    for edge in (labels[0], labels[-1], labels[:, 0], labels[:, -1]):
        outside[edge] = True
    outside[0] = False  # label 0: the mask itself
    if outside[1:].all():  # no hole (most masks): the mask as it is, without a pass over the labels
        return mask
    return ~outside[labels]


def grey_closing(image: np.ndarray, size: int) -> np.ndarray:
    """``ndimage.grey_closing(image, size=size)`` of a 2-D array, ``size`` odd: a sliding maximum
    then minimum over ``size`` x ``size`` windows, edges mirrored (scipy's ``reflect``), each
    window built by doubling (a window of 9 in four array operations a side, not eight)."""
    return _sliding(_sliding(image, size, np.maximum), size, np.minimum)


def _sliding(image: np.ndarray, size: int, op: np.ufunc) -> np.ndarray:
    half = size // 2
    for axis in (0, 1):
        cur = _mirrored(image, half, axis)
        width = 1
        while width < size:
            step = min(width, size - width)
            n = cur.shape[axis] - step
            cur = op(cur[_along(axis, 0, n)], cur[_along(axis, step, step + n)])
            width += step
        image = cur
    return image


def _mirrored(image: np.ndarray, half: int, axis: int) -> np.ndarray:
    """``np.pad(mode="symmetric")`` by ``half`` either side along ``axis``, by one concatenation
    (np.pad's own work is several times the copy on a probe's image)."""
    n = image.shape[axis]
    if half > n:  # mirrored more than once: np.pad knows how
        return np.pad(image, [(half, half) if ax == axis else (0, 0) for ax in (0, 1)], mode="symmetric")
    head = np.flip(image[_along(axis, 0, half)], axis)
    tail = np.flip(image[_along(axis, n - half, n)], axis)
    return np.concatenate([head, image, tail], axis=axis)


def _along(axis: int, start: int, stop: int) -> tuple[slice, slice]:
    """The 2-D index of ``start:stop`` along ``axis`` (all of the other axis)."""
    return (slice(start, stop), slice(None)) if axis == 0 else (slice(None), slice(start, stop))


def shifted(a: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``a`` moved so that ``out[y, x] = a[y + dy, x + dx]``, zero (False) beyond its edge (all
    of it when the shift is the array's side or more). The fold rule's band sides, and the label
    masks ``dqm.validity.corrupt`` shifts."""
    h, w = a.shape[:2]
    out = np.zeros_like(a)
    if abs(dy) < h and abs(dx) < w:
        out[max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)] = a[
            max(0, dy) : h - max(0, -dy), max(0, dx) : w - max(0, -dx)
        ]
    return out
