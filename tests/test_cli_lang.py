"""``--lang ko`` on the commands that print lines a person reads: each command group's lines and
usage errors in Korean with ``--lang ko`` (Hangul there, the English line not), and unchanged in
English. Codes, JSON and machine columns stay English."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from dqm.cli import app
from dqm.semantic.history import LotHistory
from dqm.semantic.iso2859 import plan_iso2859
from dqm.semantic.switching import LotOutcome
from tests.helpers import write_tiny_batch

runner = CliRunner()
FIXTURES = Path(__file__).parent / "fixtures" / "results"
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def said(res: Result) -> str:
    """What a command printed, its lines joined (rich wraps long lines at the terminal width)."""
    return " ".join(res.output.split())


def both(args: list[str]) -> tuple[Result, Result]:
    """The command run in English (the default) and with ``--lang ko``."""
    return runner.invoke(app, args), runner.invoke(app, [*args, "--lang", "ko"])


def test_validate_prints_its_summary_and_findings_in_korean(tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    write_tiny_batch(batch)
    en, ko = both(["validate", str(batch), "--annotations-only", "-j", "1"])
    assert en.exit_code == ko.exit_code == 1, ko.output
    assert "files accurate" in said(en) and "errors," in said(en) and not HANGUL.search(said(en))
    assert "파일" in said(ko) and "정확" in said(ko) and "files accurate" not in said(ko)
    assert re.search(r"\b[A-Z]+_[A-Z_]+\b", ko.output)  # codes stay English
    en, ko = both(["validate", str(tmp_path / "nowhere.json")])
    assert en.exit_code == ko.exit_code == 2
    assert "error: not a file:" in said(en)
    assert "오류: 파일이 아닙니다:" in said(ko) and "not a file" not in said(ko)


def test_checks_convert_synth_and_schema_in_korean(tmp_path: Path) -> None:
    en, ko = both(["checks"])
    assert en.exit_code == ko.exit_code == 0
    assert "severity" in said(en) and "심각도" in said(ko) and "severity" not in said(ko)
    batch = tmp_path / "batch"
    write_tiny_batch(batch)
    source = batch / "annotations" / "S1.json"
    en, ko = both(["convert", str(source), "--to", "qupath", "-o", str(tmp_path / "c"), "--force"])
    assert en.exit_code == ko.exit_code == 0, said(ko)
    assert "wrote " in said(en) and "작성함:" in said(ko) and "wrote " not in said(ko)
    en, ko = both(["convert", str(source), "--to", "svg"])
    assert en.exit_code == ko.exit_code == 2
    assert "--to must be one of" in said(en) and "--to는" in said(ko) and "must be" not in said(ko)
    ko = runner.invoke(
        app, ["synth", str(tmp_path / "s"), "-n", "2", "--max-size", "256", "-j", "1", "--lang", "ko"]
    )
    assert ko.exit_code == 0, ko.output
    assert "슬라이드 2장을" in said(ko) and "wrote 2 slides" not in said(ko)
    en, ko = both(["schema", "nonsense"])
    assert en.exit_code == ko.exit_code == 2
    assert "unknown schema" in said(en) and "알 수 없는 스키마" in said(ko)


def test_fixlist_and_diff_in_korean(tmp_path: Path) -> None:
    results = FIXTURES / "results-1.10.json"
    en = runner.invoke(app, ["fixlist", str(results), "-o", str(tmp_path / "en")])
    ko = runner.invoke(app, ["fixlist", str(results), "-o", str(tmp_path / "ko"), "--lang", "ko"])
    assert en.exit_code == ko.exit_code == 0, said(ko)
    # the words before the paths: rich wraps a long path anywhere, "fixlist.html" too ("fix list.html")
    assert (
        "fix list:" in said(en) and "수정 목록:" in said(ko) and "fix list" not in said(ko).split(" html:")[0]
    )
    old = FIXTURES / "results-1.9.json"
    ko = runner.invoke(app, ["diff", str(old), str(results), "-o", str(tmp_path / "d.md"), "--lang", "ko"])
    assert ko.exit_code == 0, ko.output
    assert "변경 비교:" in said(ko) and "diff:" not in said(ko)
    en, ko = both(["diff", str(old), str(results)])
    assert en.exit_code == ko.exit_code == 0, said(ko)
    assert "finding codes:" in said(en) and "발견 사항 코드:" in said(ko) and "finding codes:" not in said(ko)
    en, ko = both(["diff", str(old), str(results), "--format", "pdf"])
    assert en.exit_code == ko.exit_code == 2
    assert "unknown --format" in said(en) and "알 수 없는 --format" in said(ko)


def test_keygen_sign_and_verify_in_korean(tmp_path: Path) -> None:
    en = runner.invoke(app, ["keygen", str(tmp_path / "en.key")])
    ko = runner.invoke(app, ["keygen", str(tmp_path / "ko.key"), "--lang", "ko"])
    assert en.exit_code == ko.exit_code == 0, said(ko)
    assert "private key:" in said(en) and "개인 키:" in said(ko) and "private key" not in said(ko)
    ko = runner.invoke(app, ["keygen", str(tmp_path / "ko.key"), "--lang", "ko"])
    assert ko.exit_code == 2 and "이미 있습니다" in said(ko) and "exists" not in said(ko)
    results = tmp_path / "out" / "results.json"
    results.parent.mkdir()
    results.write_bytes((FIXTURES / "results-1.10.json").read_bytes())
    en, ko = both(["verify", str(results)])
    assert en.exit_code == ko.exit_code == 0, said(ko)
    assert "digest: ok: content digest sha256:" in said(en) and "unsigned (no signature" in said(en)
    assert "digest: ok: 내용 다이제스트" in said(ko) and "서명 없음" in said(ko)  # part names and ok stay
    assert "matches" not in said(ko) and said(ko).endswith("VERIFIED")
    en, ko = both(["verify", str(tmp_path / "missing.json")])
    assert en.exit_code == ko.exit_code == 2
    assert "no such results file" in said(en) and "결과 파일이 없습니다" in said(ko)
    en, ko = both(["sign", str(tmp_path / "missing.json"), "--key", str(tmp_path / "ko.key")])
    assert en.exit_code == ko.exit_code == 2 and "결과 파일이 없습니다" in said(ko)


@pytest.fixture
def history(tmp_path: Path) -> Path:
    path = tmp_path / "dqm-lot-history.sqlite"
    with LotHistory(path) as h:  # two lots of Seoul-A not accepted: tightened
        for lot in ("2026-01", "2026-02"):
            h.record("Seoul-A", LotOutcome(False, 2, plan_iso2859(50, "II", 1.0)), lot)
    return path


def test_lots_show_and_resume_in_korean(history: Path, tmp_path: Path) -> None:
    en, ko = both(["lots", "show", str(history)])
    assert en.exit_code == ko.exit_code == 0, said(ko)
    assert "Seoul-A: 2 lots, next lot at tightened inspection" in said(en)
    assert "Seoul-A: 로트 2개, 다음 로트는 까다로운 검사" in said(ko) and "next lot" not in said(ko)
    assert "불합격" in said(ko) and "NOT accepted" in said(en)
    assert "normal → tightened: 2 of the last 2 lots not accepted" in said(en)
    assert "보통 → 까다로운: 최근 로트 2개 중 2개 불합격" in said(ko)  # the switching rule that applied
    en, ko = both(["lots", "resume", str(history), "--supplier", "Seoul-A"])
    assert en.exit_code == ko.exit_code == 2
    assert "not discontinued" in said(en) and "검사가 중지되지 않았습니다" in said(ko)
    en, ko = both(["lots", "show", str(tmp_path / "none.sqlite")])
    assert en.exit_code == ko.exit_code == 2
    assert "no such lot history" in said(en) and "로트 이력이 없습니다" in said(ko)


def test_review_plan_and_ingest_errors_in_korean() -> None:
    en, ko = both(["review", "plan", "--lot-size", "500"])
    assert en.exit_code == ko.exit_code == 0
    assert "ISO 2859-1 single sampling, normal inspection" in said(en)
    assert "1회 샘플링, 보통 검사" in said(ko) and "single sampling" not in said(ko)
    assert "Ac = " in said(ko)  # the standard's symbols stay
    en, ko = both(["review", "plan", "--lot-size", "500", "--plan", "precision"])
    assert "precision plan" in said(en) and "정밀도 계획" in said(ko)
    en, ko = both(["review", "plan", "--lot-size", "500", "--lq", "5"])
    assert en.exit_code == ko.exit_code == 0, said(ko)
    assert "limiting-quality plan for an isolated lot" in said(en)
    assert "고립 로트의 한계 품질 계획" in said(ko)
    json_ko = runner.invoke(app, ["review", "plan", "--lot-size", "500", "--json", "--lang", "ko"])
    assert json_ko.output.startswith('{"plan": "iso2859"') and not HANGUL.search(said(json_ko))
    args = ["review", "ingest", "v.csv", "--plan", "p", "--out", "o", "--confidence", "2"]
    en, ko = both(args)
    assert en.exit_code == ko.exit_code == 2
    assert "--confidence must be between 0 and 1" in said(en) and "--confidence는 0과 1 사이" in said(ko)


def test_audit_and_gate_usage_errors_in_korean(tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    write_tiny_batch(batch)
    en, ko = both(["audit", str(batch), "--out", str(tmp_path / "o"), "--stages", "syntactic,colour"])
    assert en.exit_code == ko.exit_code == 2
    assert "unknown stage(s): colour" in said(en) and "알 수 없는 단계: colour" in said(ko)
    results = FIXTURES / "results-1.10.json"
    en, ko = both(["gate", str(results), "--new-only", str(tmp_path / "nothing")])
    assert en.exit_code == ko.exit_code == 2
    assert "no such baseline" in said(en) and "기준선이 없습니다" in said(ko)


def test_the_errors_of_loading_a_file_in_korean(tmp_path: Path) -> None:
    """What dqm says about a profile, results, waivers, a review plan or a lot history it cannot
    use: Korean with --lang ko (the path and the library's reason quoted), English unchanged."""
    results = FIXTURES / "results-1.10.json"
    bad_profile = tmp_path / "profile.yaml"
    bad_profile.write_text("- a list\n", encoding="utf-8")
    en, ko = both(["diff", str(results), str(results), "--profile", str(bad_profile)])
    assert en.exit_code == ko.exit_code == 2
    assert "a profile is a YAML mapping, got list" in said(en)
    assert "프로파일은(는) YAML 매핑이어야 하는데 list입니다" in said(ko) and "YAML mapping" not in said(ko)
    not_results = tmp_path / "results.json"
    not_results.write_text("{}", encoding="utf-8")
    en, ko = both(["diff", str(not_results), str(results)])
    assert en.exit_code == ko.exit_code == 2
    assert "is not a dqm results.json" in said(en) and "dqm results.json이 아닙니다" in said(ko)
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("waivers: [{code: 1}]\n", encoding="utf-8")
    en, ko = both(["gate", str(results), "--waivers", str(waivers)])
    assert en.exit_code == ko.exit_code == 2
    assert "waiver file" in said(en) and "is not valid" in said(en)  # rich may wrap inside the long path
    assert "면제 파일" in said(ko) and "올바르지 않습니다" in said(ko) and "is not valid" not in said(ko)
    plan = tmp_path / "plan"
    plan.mkdir()
    (plan / "review_plan.json").write_text("{}", encoding="utf-8")
    en, ko = both(["review", "ingest", "v.csv", "--plan", str(plan), "--out", str(tmp_path / "o")])
    assert en.exit_code == ko.exit_code == 2
    assert "is not a dqm review plan" in said(en) and "dqm 검토 계획이 아닙니다" in said(ko)
    history = tmp_path / "history.sqlite"
    history.write_text("not a database", encoding="utf-8")
    en, ko = both(["lots", "show", str(history)])
    assert en.exit_code == ko.exit_code == 2
    assert "cannot be used as a lot history" in said(en) and "로트 이력으로 쓸 수 없습니다" in said(ko)
