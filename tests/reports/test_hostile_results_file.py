"""A results.json handed over by someone else and edited by hand: what dqm renders from it is
escaped, and a field dqm puts into its pages unescaped is refused when read."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from dqm.cli import app
from dqm.digest import seal_results
from reports.outputs import write_outputs
from tests.reports.conftest import PLANT

runner = CliRunner()


def _edited(
    tmp_path: Path, result_factory: Callable[..., Any], edit: Callable[[dict[str, Any]], None]
) -> Path:
    """The results.json of ``result_factory``'s result, edited by ``edit`` and written back with its
    digest made again unless the edit is of the digest: whoever edits a results.json can seal it
    again (the digest says the file is as written, not who wrote it; every command reading one
    refuses it otherwise), so what dqm does with the content is what is tested here."""
    out = tmp_path / "out"
    write_outputs(result_factory(), out)
    path = out / "results.json"
    data = json.loads(path.read_text("utf-8"))
    del data["digest"]
    edit(data)
    text = json.dumps(data)  # an edit of the digest itself is kept as it made it
    path.write_text(text if "digest" in data else seal_results(text)[0], "utf-8")
    return path


def test_a_digest_that_is_not_a_sha256_is_refused_not_put_into_the_report(
    tmp_path: Path, result_factory: Callable[..., Any]
) -> None:
    """The stated digest went into report.html raw (it stands in for a slot filled after
    rendering): ``dqm report`` of a results.json whose digest value held a script wrote that
    script into the page. A digest is 64 hex digits; anything else is a malformed results.json."""

    def plant(data: dict[str, Any]) -> None:
        data["digest"] = {"algorithm": "sha256", "canonical": "dqm-json-1", "value": PLANT}

    path = _edited(tmp_path, result_factory, plant)
    page = tmp_path / "r.html"
    res = runner.invoke(app, ["report", str(path), "-o", str(page)])
    assert res.exit_code == 2, res.output
    assert "digest" in res.output
    assert not page.exists()
    verified = runner.invoke(app, ["verify", str(path)])
    assert verified.exit_code == 1
    assert "changed after it was written" in verified.output


def test_dimension_names_in_the_verdict_are_escaped_in_the_summary(
    tmp_path: Path, result_factory: Callable[..., Any]
) -> None:
    """summary.md named the verdict's failed, pending and missing dimensions as they stood in
    results.json: markup there reached the Markdown raw (GitHub renders inline HTML)."""

    def plant(data: dict[str, Any]) -> None:
        data["verdict"]["failed"] = [PLANT]
        data["verdict"]["pending"] = [PLANT]
        data["verdict"]["missing"] = [PLANT]

    path = _edited(tmp_path, result_factory, plant)
    summary = tmp_path / "s.md"
    res = runner.invoke(app, ["report", str(path), "-o", str(tmp_path / "r.html"), "--summary", str(summary)])
    assert res.exit_code == 0, res.output
    text = summary.read_text("utf-8")
    assert text.count("&lt;script&gt;") == 3
    assert "<script" not in text and "<img" not in text


def test_a_huge_schema_version_is_not_echoed_whole(
    tmp_path: Path, result_factory: Callable[..., Any]
) -> None:
    """A schema_version of 5 million digits from a later major version was quoted whole in the
    error: dqm gate printed 5 MB."""

    def plant(data: dict[str, Any]) -> None:
        data["schema_version"] = "2." + "9" * 5_000_000

    res = runner.invoke(app, ["gate", str(_edited(tmp_path, result_factory, plant))])
    assert res.exit_code == 2
    assert "this dqm reads 1.x" in " ".join(res.output.split())
    assert len(res.output) < 2_000


def test_a_thumbnail_colour_that_is_not_rrggbb_is_refused(
    tmp_path: Path, result_factory: Callable[..., Any]
) -> None:
    """A thumbnail's legend and artefact colours went into the report's SVG swatches as written:
    ``url(https://evil.example/x)`` became a stroke that names another site (only the page's
    Content-Security-Policy kept a browser from fetching it). dqm writes ``#rrggbb``; anything
    else is a malformed results.json."""
    import base64
    import io

    from PIL import Image

    jpeg = io.BytesIO()
    Image.new("RGB", (2, 2)).save(jpeg, format="JPEG")
    thumbnail = {
        "slide_id": "S1",
        "data": base64.b64encode(jpeg.getvalue()).decode("ascii"),
        "width": 2,
        "height": 2,
        "downsample": 1.0,
        "source": "slide",
    }
    for field in ("legend", "artefacts"):

        def plant(data: dict[str, Any], field: str = field) -> None:
            data["thumbnails"] = [dict(thumbnail, **{field: {"BCC": "url(https://evil.example/x)"}})]

        path = _edited(tmp_path / field, result_factory, plant)
        page = tmp_path / field / "r.html"
        res = runner.invoke(app, ["report", str(path), "-o", str(page)])
        assert res.exit_code == 2, res.output
        assert f"thumbnails/0/{field}" in " ".join(res.output.split())
        assert not page.exists()


def test_a_share_past_one_or_a_negative_count_is_refused_where_it_stands(
    tmp_path: Path, result_factory: Callable[..., Any]
) -> None:
    """A syntactic share of 1e308 was read as it stood: the report showed ``inf %`` and stopped
    with an internal error (OverflowError) drawing the accuracy bars; a count of -1 was shown as
    ``(-1 / -1 values)``. A share is refused past [0, 1], a count below 0, naming the field."""

    def huge(data: dict[str, Any]) -> None:
        data["syntactic"]["structure"]["files"]["value"] = 1e308

    def negative(data: dict[str, Any]) -> None:
        data["syntactic"]["values_total"] = -1

    for edit, where in ((huge, "syntactic/structure/files/value"), (negative, "syntactic/values_total")):
        path = _edited(tmp_path, result_factory, edit)
        page = tmp_path / "r.html"
        res = runner.invoke(app, ["report", str(path), "-o", str(page)])
        assert res.exit_code == 2, res.output
        assert where in res.output and not page.exists()
