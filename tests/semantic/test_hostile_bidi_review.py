"""The review of a slide whose id holds a right-to-left override (U+202E), an isolate (U+2066) and a
zero-width space (U+200B): the review sheet, ``review_plan.csv`` and the review server show it as
its escape (``evil\\u202egpj\\u200b``), never displayed reversed; ``review_plan.json`` keeps the
true id; a verdict that names the slide as the reviewer saw it counts for that slide.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.cli import app as cli_app
from dqm.profile import load_profile
from dqm.results import ItemSummary
from dqm.semantic.ingest import IngestOptions, ingest
from dqm.semantic.models import PlanBatch
from dqm.semantic.planfile import PlanOptions, build_plan, plan_csv, read_plan
from dqm.semantic.server import app as server_app
from dqm.semantic.server.commands import build
from dqm.semantic.verdicts import read_verdict_files

runner = CliRunner()
KEY = b"a test masking key of 32 bytes!!"
HIDDEN = ("\u202e", "\u2066", "\u200b")
SLIDE = "evil\u202egpj\u2066\u200b"
SHOWN = "evil\\u202egpj\\u2066\\u200b"
HOSPITAL = "서울대학교병원"


def _no_hidden(text: str) -> None:
    assert not any(c in text for c in HIDDEN)


def test_a_verdict_naming_the_slide_as_shown_counts_for_it(tmp_path: Path) -> None:
    items = [ItemSummary(slide_id=s, diagnosis="BCC", institution=HOSPITAL) for s in ("S1", SLIDE, "S3")]
    batch = PlanBatch(path="/nowhere", fingerprint="f" * 64, n_items=3, profile="p", profile_sha256="0")
    plan = build_plan(items, batch, PlanOptions(plan="precision", margin=0.01))
    assert SLIDE in {s.slide_id for s in plan.sample}
    rows = list(csv.DictReader(plan_csv(plan).splitlines()))
    assert SHOWN in {r["slide_id"] for r in rows} and {f"BCC / {HOSPITAL}"} == {r["stratum"] for r in rows}
    path = tmp_path / "verdicts.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:  # as a reviewer fills the plan's CSV in
        writer = csv.writer(fh)
        writer.writerow(["slide_id", "reviewer", "verdict", "reason"])
        for r in rows:
            failed = r["slide_id"] == SHOWN
            writer.writerow(
                [r["slide_id"], "kim", "fail" if failed else "pass", "wrong_class" if failed else ""]
            )
    result = ingest(plan, read_verdict_files([path]), load_profile(), IngestOptions())
    assert not [f for f in result.findings if f.code.startswith("VERDICT_")], result.findings
    assert result.n_reviewed == 3 and result.n_pass == 2


@pytest.mark.skipif(not server_app.VIEWER_JS.is_file(), reason="the viewer is not installed (make viewer)")
def test_the_sheet_the_plan_and_the_server_show_the_escape(
    edited_batch: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DQM_MASK_KEY", KEY.decode())

    def hostile(rows: list[dict[str, str]]) -> None:
        rows[1]["slide_id"] = SLIDE
        rows[1]["institution"] = HOSPITAL

    batch = edited_batch(hostile)
    out = batch.parent / "review"
    args = ["sample", str(batch), "--out", str(out), "--plan", "precision", "--margin", "0.01"]
    res = runner.invoke(cli_app, args)
    assert res.exit_code == 0, res.output
    assert SLIDE in {s.slide_id for s in read_plan(out).sample}  # the data keeps the true id
    table = (out / "review_plan.csv").read_text(encoding="utf-8")
    sheet = (out / "review.html").read_text(encoding="utf-8")
    for text in (table, sheet):
        _no_hidden(text)
        assert HOSPITAL in text
    assert SHOWN in table
    (island,) = re.findall(r'<script type="application/json" id="sheet-data">(.*?)</script>', sheet, re.S)
    assert SHOWN in {s["id"] for s in json.loads(island)["slides"]}  # what the sheet shows and exports

    res = runner.invoke(cli_app, ["review", "add-reviewer", str(out), "김 Kim"])
    assert res.exit_code == 0, res.output
    token = res.output.strip().split("#token=", 1)[1]
    with server_app_client(out, batch) as client:
        assert client.post("/api/login", json={"token": token}).status_code == 200
        page = client.get("/")
        assert page.status_code == 200 and "김 Kim" in page.text
        _no_hidden(page.text)
        state = client.get("/api/state")
        _no_hidden(state.text)
        (n,) = [s["n"] for s in state.json()["slides"] if s["id"] == SHOWN]
        detail = client.get(f"/api/slides/{n}")
        _no_hidden(detail.text)
        body = detail.json()
        assert body["id"] == SHOWN and [v for k, v in body["record"] if k == "institution"] == [HOSPITAL]
        refused = client.get("/api/slides/999")
        assert refused.status_code == 404
        _no_hidden(json.dumps(refused.json(), ensure_ascii=False))


def server_app_client(review_dir: Path, batch: Path):  # type: ignore[no-untyped-def]
    from starlette.testclient import TestClient

    return TestClient(build(review_dir, batch, load_profile(), KEY))
