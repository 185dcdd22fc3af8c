"""Small pictures of prediction against annotation, as JPEG ``data:`` URIs for the report.

Left: the annotation; right: the prediction; each over the slide, filled at 40 % with the
class colour of the dataset profile and outlined at full strength.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import numpy as np
from PIL import Image

MAX_SIDE = 240


def _hex(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _edges(labels: np.ndarray) -> np.ndarray:
    e = np.zeros(labels.shape, dtype=bool)
    e[1:, :] |= labels[1:, :] != labels[:-1, :]
    e[:-1, :] |= labels[1:, :] != labels[:-1, :]
    e[:, 1:] |= labels[:, 1:] != labels[:, :-1]
    e[:, :-1] |= labels[:, 1:] != labels[:, :-1]
    return e & (labels > 0)


def paint(rgb: np.ndarray, labels: np.ndarray, colours: Sequence[str]) -> np.ndarray:
    """``rgb`` with label ``k`` (k >= 1) filled and outlined in ``colours[k - 1]``."""
    out = rgb.astype(np.float32).copy()
    lut = np.array([(0, 0, 0), *(_hex(c) for c in colours)], dtype=np.float32)
    fill = labels > 0
    out[fill] = 0.6 * out[fill] + 0.4 * lut[labels[fill]]
    edge = _edges(labels)
    out[edge] = lut[labels[edge]]
    return np.clip(out, 0, 255).astype(np.uint8)


def step_for(rows: int, cols: int, max_side: int = MAX_SIDE) -> int:
    """The integer subsampling that brings a slide's longest side to at most ``max_side``."""
    return max(1, -(-max(rows, cols) // max_side))


def overlay_uri(rgb: np.ndarray, truth: np.ndarray, pred: np.ndarray, colours: Sequence[str]) -> str:
    """Annotation (left) and prediction (right) side by side, as a JPEG data URI."""
    left, right = paint(rgb, truth, colours), paint(rgb, pred, colours)
    gap = np.full((rgb.shape[0], 4, 3), 255, dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(np.concatenate([left, gap, right], axis=1)).save(buf, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
