"""``--lot-by`` on dqm audit and dqm gate, the supplier history it reads, and ``dqm lots``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.cli import app
from dqm.identifiers import Masker
from dqm.profile import load_profile
from dqm.semantic.history import LotHistory
from dqm.semantic.iso2859 import plan_iso2859
from dqm.semantic.switching import LotOutcome
from tests.lots.common import audit_args, two_lot_batch

runner = CliRunner()
RRN = "900101-1234567"  # a (fake) resident registration number used as an institution name


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return two_lot_batch(tmp_path_factory.mktemp("lots-cli") / "batch", RRN)


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("key") / "mask.key"
    path.write_bytes(b"k" * 32)
    return path


def audit(batch: Path, out: Path, key: Path, *extra: str) -> object:
    return runner.invoke(app, audit_args(batch, out, "--mask-key", str(key), *extra))


def test_audit_writes_a_row_per_lot_masked(batch: Path, key: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs" / "2026-03"
    res = audit(batch, out, key)
    assert res.exit_code == 1, res.output
    assert RRN not in res.output and "lots by institution:" in res.output
    data = json.loads((out / "results.json").read_text())
    lots = data["lots"]
    assert lots["field"] == "institution" and lots["history"] is None
    token = Masker(load_profile(None).deid, key.read_bytes())(RRN)
    assert {lot["name"] for lot in lots["lots"]} == {token, "Seoul-A"}
    assert {lot["name"]: lot["passed"] for lot in lots["lots"]} == {token: True, "Seoul-A": False}
    for name in ("results.json", "report.html", "summary.md", "junit.xml"):
        assert RRN not in (out / name).read_text(encoding="utf-8"), name
    assert 'id="lots"' in (out / "report.html").read_text(encoding="utf-8")
    assert "| Seoul-A | **FAIL** (syntactic) | 2 |" in (out / "summary.md").read_text(encoding="utf-8")
    res = runner.invoke(app, ["gate", str(out / "results.json"), "--lots", "--mask-key", str(key)])
    assert res.exit_code == 1 and "FAIL     lots: 1 of 2 failed" in res.output and RRN not in res.output


def test_audit_reads_the_supplier_history_beside_its_output(batch: Path, key: Path, tmp_path: Path) -> None:
    history = tmp_path / "runs" / "dqm-lot-history.sqlite"
    history.parent.mkdir()
    plan = plan_iso2859(50, "II", 1.0)
    with LotHistory(history) as h:  # two lots of Seoul-A not accepted: tightened
        for lot in ("2026-01", "2026-02"):
            h.record("Seoul-A", LotOutcome(False, 2, plan), lot)
    res = audit(batch, tmp_path / "runs" / "2026-03", key)
    assert res.exit_code == 1, res.output
    lots = json.loads((tmp_path / "runs" / "2026-03" / "results.json").read_text())["lots"]
    assert lots["history"] == str(history.resolve())
    seoul = next(lot for lot in lots["lots"] if lot["name"] == "Seoul-A")
    assert seoul["scheme"] == "tightened" and seoul["plan"]["severity"] == "tightened"
    res = runner.invoke(app, ["lots", "show", str(history), "--mask-key", str(key)])
    assert res.exit_code == 0, res.output
    assert "Seoul-A: 2 lots, next lot at tightened inspection" in res.output
    assert "normal → tightened" in res.output
    res = runner.invoke(
        app, ["lots", "resume", str(history), "--supplier", "Seoul-A", "--mask-key", str(key)]
    )
    assert res.exit_code == 2 and "not discontinued" in res.output


def test_bad_lot_options_are_usage_errors(batch: Path, key: Path, tmp_path: Path) -> None:
    res = audit(batch, tmp_path / "o", key, "--aql", "3.3")
    assert res.exit_code == 2 and "AQL 3.3 is not in Table 2-A" in res.output
    args = [
        "audit",
        str(batch),
        "--out",
        str(tmp_path / "o"),
        "--lot-by",
        "shoe_size",
        "--mask-key",
        str(key),
    ]
    res = runner.invoke(app, args)
    assert res.exit_code == 2 and "--lot-by 'shoe_size'" in res.output
    res = audit(batch, tmp_path / "o", key, "--history", str(batch / "h.sqlite"))
    assert res.exit_code == 2 and not (batch / "h.sqlite").exists()
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"junk" * 400)
    res = audit(batch, tmp_path / "o2", key, "--history", str(junk))
    assert res.exit_code == 2 and "cannot be used as a lot history" in res.output
    assert not (tmp_path / "o2" / "results.json").exists()  # refused before any work


def test_a_hostile_lot_name_is_escaped_everywhere(key: Path, tmp_path: Path) -> None:
    name = "<img src=x onerror=alert(1)>|**x**"
    batch = two_lot_batch(tmp_path / "batch", name)
    out = tmp_path / "out"
    res = audit(batch, out, key)
    assert res.exit_code == 1, res.output
    assert name in {lot["name"] for lot in json.loads((out / "results.json").read_text())["lots"]["lots"]}
    assert "<img" not in (out / "report.html").read_text(encoding="utf-8")
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "<img" not in summary and "&lt;img src=x onerror=alert(1)&gt;\\|\\*\\*x\\*\\*" in summary


def test_a_field_that_names_no_supplier_is_refused(
    batch: Path, key: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("dqm.lots.compute.MAX_LOTS", 1)
    res = audit(batch, tmp_path / "o", key)
    assert res.exit_code == 2 and "gives 2 lots, more than 1" in res.output
    args = ["sample", str(batch), "--out", str(tmp_path / "s"), "--lot-by", "institution", "--workers", "1"]
    res = runner.invoke(app, [*args, "--mask-key", str(key)])
    assert res.exit_code == 2 and "gives 2 lots, more than 1" in res.output


def test_the_gates_lot_lines_are_in_its_language(batch: Path, key: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert audit(batch, out, key).exit_code == 1
    args = ["gate", str(out / "results.json"), "--lots", "--mask-key", str(key)]
    en, ko = runner.invoke(app, args), runner.invoke(app, [*args, "--lang", "ko"])
    assert "lots by institution:" in en.output and "file accuracy" in en.output
    assert "institution별 로트:" in ko.output and "파일 구문 정확도" in ko.output
    assert "file accuracy" not in ko.output and "slides," not in ko.output
    assert "FAIL     Seoul-A: " in ko.output  # the marker logs are searched for stays
    # the inspection's severity is a word of two meanings: looked up in its context, not left in English
    assert "ISO 2859-1 normal " in en.output
    assert "ISO 2859-1 보통 검사" in ko.output and "ISO 2859-1 normal" not in ko.output


def test_a_link_at_the_default_history_path_into_the_batch_is_refused(key: Path, tmp_path: Path) -> None:
    """The lot history defaults to dqm-lot-history.sqlite beside --out, outside the batch; a link
    there into the batch was followed: SQLite opened the batch's file and wrote its tables (and
    journal) into the delivery. Now audit and sample refuse it as they refuse --history inside the
    batch, before any work, and the batch is left as it was."""
    import sqlite3

    batch = two_lot_batch(tmp_path / "batch")
    inside = batch / "notes.sqlite"
    sqlite3.connect(inside).close()  # an empty SQLite file of the delivery's
    before = inside.read_bytes()
    (tmp_path / "dqm-lot-history.sqlite").symlink_to(inside)
    res = audit(batch, tmp_path / "out", key)
    assert res.exit_code == 2, res.output
    assert "--history must be outside the batch folder" in " ".join(res.output.split())
    assert not (tmp_path / "out" / "results.json").exists()
    args = ["sample", str(batch), "--out", str(tmp_path / "s"), "--lot-by", "institution", "--workers", "1"]
    res = runner.invoke(app, [*args, "--mask-key", str(key)])
    assert res.exit_code == 2, res.output
    assert "--history must be outside the batch folder" in " ".join(res.output.split())
    assert inside.read_bytes() == before
    assert sorted(p.name for p in batch.iterdir() if p.name.startswith("notes")) == ["notes.sqlite"]


def test_a_link_inside_out_into_the_batch_is_never_written_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only --out itself was checked to be outside the batch: a link inside it (out/lots, out/lots/lot-01)
    that leads into the batch was followed, and sample wrote its plans and sheets into the delivery.
    Every write is now refused there (exit 4, the batch named), and the batch is left as it was."""
    import sys

    from dqm.cli import main

    batch = two_lot_batch(tmp_path / "batch")
    (batch / "extra").mkdir()
    before = sorted(p.relative_to(batch) for p in batch.rglob("*"))
    for n, link in enumerate(("lots", "lots/lot-01")):
        out = tmp_path / f"s{n}"
        (out / link).parent.mkdir(parents=True, exist_ok=True)
        (out / link).symlink_to(batch / "extra")
        args = ["sample", str(batch), "--out", str(out), "--lot-by", "institution", "--workers", "1"]
        monkeypatch.setattr(sys, "argv", ["dqm", *args, "--history", str(tmp_path / "h.sqlite")])
        with pytest.raises(SystemExit) as exit_info:
            main()
        err = capsys.readouterr().err
        assert exit_info.value.code == 4, err
        assert "inside the batch folder" in " ".join(err.split()), err
        assert sorted(p.relative_to(batch) for p in batch.rglob("*")) == before
