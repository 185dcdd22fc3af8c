"""Pixels carry identifiers too: a real slide's label image reaches no output unless the run asks
for it (``--label-thumbnails``), and never the review sheet that is served to reviewers; its macro
image (the whole glass, label included) reaches none at all."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.cli import app
from dqm.slide_io import ProbeOptions, probe_slide
from tests.helpers import native_doc, square

pytestmark = pytest.mark.wsi
runner = CliRunner()
SLIDE = "CMU-1-Small-Region.svs"  # label and macro images


def _outputs(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file()}


def test_a_label_image_reaches_an_output_only_when_the_run_asks(real_data: Path, tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    (batch / "slides").mkdir(parents=True)
    (batch / "annotations").mkdir()
    shutil.copyfile(real_data / "slides" / SLIDE, batch / "slides" / "S1.svs")
    doc = native_doc(
        [{"class": "BCC", "geometry": {"type": "Polygon", "coordinates": [square(500, 500, 300)]}}]
    )
    doc["slide"].update(file="S1.svs", width=2220, height=2967)
    (batch / "annotations" / "S1.json").write_text(json.dumps(doc))
    probe = probe_slide(batch / "slides" / "S1.svs", "slides/S1.svs", ProbeOptions(label_thumbnail=True))
    assert {"label", "macro"} <= set(probe.associated_images) and probe.label_thumbnail
    label = probe.label_thumbnail.split(",", 1)[1][:200]  # the label's pixels, as dqm encodes them

    plain, asked = tmp_path / "plain", tmp_path / "asked"
    for out, flag in ((plain, []), (asked, ["--label-thumbnails"])):
        res = runner.invoke(app, ["audit", str(batch), "--out", str(out), "-j", "1", "--no-cache", *flag])
        assert res.exit_code in (0, 1, 3), res.output
        assert label not in res.output
    assert not [name for name, text in _outputs(plain).items() if label in text]
    assert {"results.json", "report.html"} <= {
        name for name, text in _outputs(asked).items() if label in text
    }

    # re-rendering a result that holds the label shows it only when asked again
    again = tmp_path / "again.html"
    assert runner.invoke(app, ["report", str(asked / "results.json"), "-o", str(again)]).exit_code == 0
    assert label not in again.read_text()

    # the review sheet, served to reviewers, never shows it, even drawn from that audit
    review = tmp_path / "review"
    res = runner.invoke(
        app, ["sample", str(batch), "--out", str(review), "--results", str(asked / "results.json")]
    )
    assert res.exit_code == 0, res.output
    assert not [name for name, text in _outputs(review).items() if label in text]
    assert "S1" in (review / "review.html").read_text()  # the slide is on the sheet, its label is not
