"""Whole-slide prediction at the working resolution with MONAI ``sliding_window_inference``.

A slide up to ``block`` working pixels a side is predicted in one pass; a larger one block by
block, each block read with a margin of half a tile so that windows near a block edge see the
same context as elsewhere, and only the block's core is kept.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dqm.validity.data import SlideReader, SlideRecord
from dqm.validity.train import scale_input


def predict_slide(
    model: Any,
    reader: SlideReader,
    record: SlideRecord,
    *,
    resolution_um: float,
    tile: int,
    overlap: float,
    sw_batch_size: int,
    block: int,
    device: str,
    amp: bool,
) -> np.ndarray:
    """The ``(rows, cols)`` uint8 label map (argmax of the logits) of a whole slide."""
    import torch
    from monai.inferers import sliding_window_inference

    ds = record.downsample(resolution_um)
    rows, cols = record.size_at(resolution_um)
    out = np.zeros((rows, cols), dtype=np.uint8)
    margin = tile // 2 if rows > block or cols > block else 0
    use_amp = device == "cuda" and amp
    for r0 in range(0, rows, block):
        for c0 in range(0, cols, block):
            h, w = min(block, rows - r0), min(block, cols - c0)
            rgb = reader.read(r0 - margin, c0 - margin, h + 2 * margin, w + 2 * margin, ds)
            x = torch.from_numpy(scale_input(rgb))[None].to(device)
            with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
                logits = sliding_window_inference(
                    x,
                    roi_size=(tile, tile),
                    sw_batch_size=sw_batch_size,
                    predictor=model,
                    overlap=overlap,
                    mode="gaussian",
                    padding_mode="constant",
                    cval=1.0,
                )
            labels = logits[0].float().argmax(dim=0).to("cpu").numpy().astype(np.uint8)
            out[r0 : r0 + h, c0 : c0 + w] = labels[margin : margin + h, margin : margin + w]
    return out
