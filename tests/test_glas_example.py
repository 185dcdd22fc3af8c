"""examples/glas/build_batch.py: the manifest it writes for the real GlaS folder (skipped without it)."""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "examples" / "glas" / "build_batch.py"


def _script():
    spec = importlib.util.spec_from_file_location("glas_build_batch", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_glas_manifest_rows_name_every_image_its_mask_and_patient(real_data: Path) -> None:
    glas = real_data / "segmentation" / "glas"
    if not (glas / "metadata.csv").is_file():
        pytest.skip(f"GlaS not found at {glas}")
    rows = _script().manifest_rows(glas)
    assert len(rows) == 165 and len({r["patient_id"] for r in rows}) == 16
    assert Counter(r["split"] for r in rows) == {"train": 85, "testA": 60, "testB": 20}
    assert {r["grade"] for r in rows} == {"benign", "malignant"}
    for row in rows:
        assert (glas / row["image_path"]).is_file() and (glas / row["annotation_path"]).is_file()


def test_the_batch_is_never_built_inside_the_repository(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="inside the repository"):
        _script().build(tmp_path, SCRIPT.parent / "batch")
