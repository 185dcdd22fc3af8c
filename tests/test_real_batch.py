"""Every real third-party file in one delivered batch: `dqm audit` reports on each, crashes on none.

The folder mixes what a team receives in practice: slides OpenSlide opens or refuses, plain
images, annotation exports of six tools, and files of no format dqm reads. Nothing pairs by name,
so most items are missing a partner; what matters is that every file is accounted for.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.cli import app
from validators.engine import CRASH_CODE

pytestmark = pytest.mark.wsi


def _digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_an_audit_of_every_real_file_accounts_for_each_and_crashes_on_none(
    real_data: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
):
    batch = tmp_path / "batch"
    for part in ("slides", "annotations", "images"):
        shutil.copytree(real_data / part, batch / part)
    before = _digest(batch)
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["audit", str(batch), "--out", str(out), "--workers", "2"])
    assert res.exit_code == 1, res.output  # not certified, and not a usage error or a crash
    assert _digest(batch) == before  # the batch is never written to
    result = json.loads((out / "results.json").read_text())
    findings = result["findings"]
    assert not [f for f in findings if f["code"] == CRASH_CODE]
    mentioned = {f["location"]["file"] for f in findings} | {
        path
        for item in result["items"]
        for path in (item.get("image_path"), item.get("annotation_path"))
        if path
    }
    assert sorted(set(before) - mentioned) == []  # no file silently skipped
    codes = {f["code"] for f in findings}
    expected = {"SLIDE_UNOPENABLE", "SLIDE_UNREADABLE", "MPP_MISSING", "LABEL_IMAGE_PRESENT"}
    expected |= {"COCO_BBOX_NOT_XYWH", "SELF_INTERSECTION", "FILE_NOT_READ", "CLASS_MISSING"}
    assert expected <= codes
    assert (out / "report.html").stat().st_size > 0
    # libtiff prints its own warning for this file: it becomes the slide's finding, not a stray line
    (warned,) = [
        f
        for f in findings
        if f["code"] == "SLIDE_METADATA_CORRUPT" and f["location"]["file"] == "slides/OS-1-detail.ome.tif"
    ]
    assert "JPEGPreDecode" in warned["message"]
    assert "JPEGPreDecode" not in capfd.readouterr().err
