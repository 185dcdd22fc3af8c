"""What the lot tests share: a batch of two lots and the audit command that splits it."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import write_tiny_batch


def two_lot_batch(root: Path, institution: str = "Busan-B") -> Path:
    """The tiny batch with S1 (clean) moved to its own institution."""
    write_tiny_batch(root)
    manifest = root / "manifest.csv"
    manifest.write_text(manifest.read_text().replace("S1.json,Seoul-A", f"S1.json,{institution}"))
    return root


def audit_args(batch: Path, out: Path, *extra: str) -> list[str]:
    """``dqm audit`` of the syntactic stage alone, split into lots by institution."""
    head = [
        "audit",
        str(batch),
        "--out",
        str(out),
        "--no-cache",
        "--stages",
        "syntactic",
        "--thumbnails",
        "0",
    ]
    return [*head, "--lot-by", "institution", *extra]
