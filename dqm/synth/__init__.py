"""Synthetic example batches with known, injected defects (``dqm synth``)."""

from dqm.synth.build import build_batch, load_truth

__all__ = ["build_batch", "load_truth"]
