"""``dqm sample``, ``dqm review plan|ingest`` and ``dqm audit --review`` end to end on a synthetic batch."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import sqlite3
from html import unescape
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.cli import app
from dqm.results import QualityResult

runner = CliRunner()


def plan_rows(plan_dir: Path) -> list[dict[str, str]]:
    with (plan_dir / "review_plan.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def tree_hash(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def sampled(defect_batch: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """``dqm sample`` on the 40-slide defect batch, twice with the same seed; the batch's hash before."""
    before = tree_hash(defect_batch)
    out = tmp_path_factory.mktemp("review")
    for name in ("a", "b"):
        res = runner.invoke(app, ["sample", str(defect_batch), "--out", str(out / name), "--seed", "11"])
        assert res.exit_code == 0, res.output
        assert "(13 core, the rest supplementary)" in res.output
    return out / "a", out / "b", before


def test_sample_writes_plan_csv_and_sheet(sampled: tuple[Path, Path, str], defect_batch: Path) -> None:
    a, _b, before = sampled
    plan = json.loads((a / "review_plan.json").read_text())
    # 40 items, one slide id given twice (an injected defect) → a lot of 39 distinct slides;
    # level II: code letter D (26–50), AQL 1.0 follows ↓ to E: n = 13, Ac 0, Re 1
    assert plan["batch"]["n_items"] == 40 and len(plan["duplicate_ids"]) == 1
    assert (plan["lot_size"], plan["code_letter"], plan["plan_sample_size"]) == (39, "E", 13)
    assert (plan["acceptance_number"], plan["rejection_number"], plan["seed"]) == (0, 1, 11)
    for key in ("plan", "sample_size", "strata", "lot_ids"):
        assert key in plan
    rows = plan_rows(a)
    assert len(rows) == plan["sample_size"] and {"slide_id", "stratum", "weight", "sample"} <= set(rows[0])
    # the plan's n is the equal-probability core; floors add supplementary slides
    assert [r["sample"] for r in rows].count("core") == 13
    assert {r["sample"] for r in rows} <= {"core", "supplementary"}
    assert [s["core"] for s in plan["sample"]] == [r["sample"] == "core" for r in rows]
    assert sum(s["sampled"] for s in plan["strata"]) == plan["sample_size"]
    html = (a / "review.html").read_text()
    assert "Content-Security-Policy" in html and "default-src 'none'" in unescape(html)
    assert (
        not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
        and "@import" not in html
        and "url(" not in html
    )
    assert html.count("data:image/jpeg;base64,") >= plan["sample_size"] - 2  # unreadable slides have no image
    assert 'style="' not in html  # the CSP forbids inline styles
    assert "supplementary" not in html  # the review stays blind to why a slide was drawn
    assert tree_hash(defect_batch) == before  # the batch is never written to


def test_same_batch_and_seed_give_the_same_bytes_but_the_run_id(sampled: tuple[Path, Path, str]) -> None:
    a, b, _ = sampled
    run_a = json.loads((a / "review_plan.json").read_text())["run_id"]
    run_b = json.loads((b / "review_plan.json").read_text())["run_id"]
    assert run_a != run_b  # two runs; the plan itself (and its plan_id) is the same
    for name in ("review_plan.json", "review_plan.csv", "review.html"):
        assert (a / name).read_text().replace(run_a, "RUN") == (b / name).read_text().replace(run_b, "RUN"), (
            name
        )


def test_another_seed_gives_another_sample(
    sampled: tuple[Path, Path, str], defect_batch: Path, tmp_path: Path
) -> None:
    res = runner.invoke(app, ["sample", str(defect_batch), "--out", str(tmp_path), "--seed", "12"])
    assert res.exit_code == 0, res.output
    assert [r["slide_id"] for r in plan_rows(tmp_path)] != [r["slide_id"] for r in plan_rows(sampled[0])]


def test_without_a_seed_each_draw_takes_a_fresh_one_recorded_to_draw_it_again(
    defect_batch: Path, tmp_path: Path
) -> None:
    """The seed defaulted to 0: the review sample was ``sha256("dqm-review:0:{slide_id}")`` and a
    supplier could compute before delivery which slides would be reviewed, and fix only those. Now
    each draw takes a fresh seed, recorded in the plan; ``--seed`` with it draws the same sample,
    the same plan: its ``plan_id`` hashed how the seed was chosen and differed for the same draw."""
    plans, outputs = [], []
    for name in ("x", "y"):
        res = runner.invoke(app, ["sample", str(defect_batch), "--out", str(tmp_path / name)])
        assert res.exit_code == 0, res.output
        plans.append(json.loads((tmp_path / name / "review_plan.json").read_text()))
        outputs.append(" ".join(res.output.split()))
    x, y = plans
    assert x["seed"] != y["seed"] and x["seed_source"] == y["seed_source"] == "drawn"
    assert 0 <= x["seed"] < 2**53 and f"(seed {x['seed']})" in outputs[0]
    again = runner.invoke(
        app, ["sample", str(defect_batch), "--out", str(tmp_path / "z"), "--seed", str(x["seed"])]
    )
    assert again.exit_code == 0, again.output
    z = json.loads((tmp_path / "z" / "review_plan.json").read_text())
    assert z["seed_source"] == "given" and z["sample"] == x["sample"] and z["plan_id"] == x["plan_id"]


def test_sample_usage_errors(defect_batch: Path, tmp_path: Path) -> None:
    inside = runner.invoke(app, ["sample", str(defect_batch), "--out", str(defect_batch / "review")])
    assert inside.exit_code == 2 and "outside the batch" in inside.output
    assert not (defect_batch / "review").exists()
    bad = runner.invoke(app, ["sample", str(defect_batch), "--out", str(tmp_path), "--strata", "shoe_size"])
    assert bad.exit_code == 2 and "shoe_size" in bad.output
    aql = runner.invoke(app, ["sample", str(defect_batch), "--out", str(tmp_path), "--aql", "0.7"])
    assert aql.exit_code == 2 and "Table 2-A" in aql.output


def test_review_plan_for_the_reference_study_lot() -> None:
    res = runner.invoke(app, ["review", "plan", "--lot-size", "34376", "--level", "II", "--aql", "1.0"])
    assert res.exit_code == 0
    assert "code letter M, n = 315, Ac = 7, Re = 8" in res.output
    res = runner.invoke(app, ["review", "plan", "--lot-size", "34376", "--json"])
    data = json.loads(res.output)
    assert (
        data["code_letter"],
        data["sample_size"],
        data["acceptance_number"],
        data["rejection_number"],
    ) == ("M", 315, 7, 8)
    res = runner.invoke(
        app, ["review", "plan", "--lot-size", "34376", "--plan", "precision", "--margin", "0.03"]
    )
    assert res.exit_code == 0 and re.search(r"n = \d+", res.output)


def _write_verdicts(path: Path, plan_dir: Path, reviewer: str, fail: int = 0) -> Path:
    """Every sampled slide judged; the first ``fail`` slides of the core (which decides) FAIL."""
    rows = plan_rows(plan_dir)
    failing = {r["slide_id"] for r in [r for r in rows if r["sample"] == "core"][:fail]}
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["slide_id", "reviewer", "verdict", "reason", "comment"])
        for r in rows:
            bad = r["slide_id"] in failing
            w.writerow([r["slide_id"], reviewer, "fail" if bad else "pass", "wrong_class" if bad else "", ""])
    return path


def test_ingest_then_audit_with_review(
    sampled: tuple[Path, Path, str], defect_batch: Path, tmp_path: Path
) -> None:
    plan_dir = sampled[0]
    good = _write_verdicts(tmp_path / "kim.csv", plan_dir, "kim")
    res = runner.invoke(
        app, ["review", "ingest", "--plan", str(plan_dir), str(good), "--out", str(tmp_path / "sem")]
    )
    assert res.exit_code == 0, res.output
    assert "decision: ACCEPT (0 FAIL in the core, 0 in all" in res.output
    sem = json.loads((tmp_path / "sem" / "semantic.json").read_text())
    for key in (
        "core",
        "accuracy",
        "ci_low",
        "ci_high",
        "ci_method",
        "n_reviewed",
        "n_pass",
        "sample_size",
        "decision",
        "strata",
        "weighted",
    ):
        assert key in sem
    assert sem["accuracy"] == 1.0 and sem["decision"] == "accept" and sem["passed"] is True
    # the plan's seed was given (--seed 11): the report says whoever knew it could predict the sample
    assert "The seed was given to dqm sample (--seed)" in sem["method"]

    res = runner.invoke(
        app, ["audit", str(defect_batch), "--out", str(tmp_path / "audit"), "--review", str(tmp_path / "sem")]
    )
    result = QualityResult.load(tmp_path / "audit" / "results.json")
    assert result.semantic is not None and result.semantic.passed
    assert "semantic" not in result.verdict.missing and "semantic" not in result.verdict.failed
    report = (tmp_path / "audit" / "report.html").read_text()
    assert 'id="semantic"' in report and "Semantic accuracy" in report
    assert "PASS     semantic" in res.output

    bad = _write_verdicts(tmp_path / "lee.csv", plan_dir, "lee", fail=1)
    res = runner.invoke(
        app, ["review", "ingest", "--plan", str(plan_dir), str(bad), "--out", str(tmp_path / "sem2")]
    )
    assert res.exit_code == 1 and "decision: REJECT (1 FAIL in the core" in res.output
    res = runner.invoke(
        app,
        ["audit", str(defect_batch), "--out", str(tmp_path / "audit2"), "--review", str(tmp_path / "sem2")],
    )
    assert res.exit_code == 1
    result = QualityResult.load(tmp_path / "audit2" / "results.json")
    assert "semantic" in result.verdict.failed


def test_ingest_partial_and_bad_inputs(sampled: tuple[Path, Path, str], tmp_path: Path) -> None:
    plan_dir = sampled[0]
    rows = plan_rows(plan_dir)
    partial = tmp_path / "p.csv"
    partial.write_text(f"slide_id,reviewer,verdict\n{rows[0]['slide_id']},kim,pass\nGHOST,kim,pass\n")
    res = runner.invoke(
        app, ["review", "ingest", "--plan", str(plan_dir), str(partial), "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 3 and "INCOMPLETE" in res.output and "VERDICT_UNKNOWN_SLIDE" in res.output
    assert f"{len(rows) - 1} of {len(rows)} slides still to review" in res.output
    res = runner.invoke(
        app, ["review", "ingest", "--plan", str(tmp_path), str(partial), "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 2 and "cannot read" in res.output
    res = runner.invoke(
        app,
        [
            "review",
            "ingest",
            "--plan",
            str(plan_dir),
            str(tmp_path / "none.csv"),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert res.exit_code == 2
    res = runner.invoke(
        app,
        [
            "review",
            "ingest",
            "--plan",
            str(plan_dir),
            str(partial),
            "--out",
            str(tmp_path / "o"),
            "--ci",
            "wald",
        ],
    )
    assert res.exit_code == 2


def test_audit_refuses_a_review_of_another_batch(
    clean_batch: Path, sampled: tuple[Path, Path, str], tmp_path: Path
) -> None:
    good = _write_verdicts(tmp_path / "kim.csv", sampled[0], "kim")
    assert (
        runner.invoke(
            app, ["review", "ingest", "--plan", str(sampled[0]), str(good), "--out", str(tmp_path / "sem")]
        ).exit_code
        == 0
    )
    res = runner.invoke(
        app, ["audit", str(clean_batch), "--out", str(tmp_path / "a"), "--review", str(tmp_path / "sem")]
    )
    assert res.exit_code == 2 and "another batch" in res.output


def test_sample_writes_the_sheet_in_korean(defect_batch: Path, tmp_path: Path) -> None:
    res = runner.invoke(
        app, ["sample", str(defect_batch), "--out", str(tmp_path), "--seed", "11", "--lang", "ko"]
    )
    assert res.exit_code == 0, res.output
    html = (tmp_path / "review.html").read_text("utf-8")
    assert '<html lang="ko">' in html and "<h1>전문가 검토</h1>" in html and "부적합 사유" in html
    island = html.split('id="sheet-data">')[1].split("</script>")[0]
    sheet = json.loads(island.replace("\\u003c", "<").replace("\\u003e", ">").replace("\\u0026", "&"))
    assert [r["label"] for r in sheet["reasons"]][:2] == ["클래스 오류", "경계가 너무 넓음"]
    assert {c["cls"]: c["name"] for c in sheet["classes"]}["BCC"] == "기저세포암"
    assert sheet["words"]["no_lesion"] == "어노테이션된 병변 없음" and sheet["fields"]["age"] == "나이"


def test_ingest_prints_its_findings_in_korean(sampled: tuple[Path, Path, str], tmp_path: Path) -> None:
    plan_dir = sampled[0]
    rows = plan_rows(plan_dir)
    partial = tmp_path / "p.csv"
    partial.write_text(f"slide_id,reviewer,verdict\n{rows[0]['slide_id']},kim,pass\nGHOST,kim,pass\n")
    args = ["review", "ingest", "--plan", str(plan_dir), str(partial), "--limit", "100"]
    en = runner.invoke(app, [*args, "--out", str(tmp_path / "en")])
    ko = runner.invoke(app, [*args, "--out", str(tmp_path / "ko"), "--lang", "ko"])
    assert en.exit_code == ko.exit_code == 3
    assert "no verdict yet for this sampled slide" in en.output
    assert "표본으로 뽑힌 이 슬라이드에 아직 판정이 없습니다" in ko.output
    assert "VERDICT_UNKNOWN_SLIDE" in ko.output and "INCOMPLETE" in ko.output  # codes and markers stay
    english = [line for line in en.output.splitlines() if "VERDICT_" in line]
    assert english and not any(line in ko.output for line in english)
    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.close()
    ko = runner.invoke(
        app,
        [
            "review",
            "ingest",
            "--plan",
            str(plan_dir),
            str(other),
            "--out",
            str(tmp_path / "db"),
            "--lang",
            "ko",
        ],
    )
    assert "VERDICT_FILE_UNREADABLE" in ko.output
    assert "dqm 검토 데이터베이스가 아닙니다" in " ".join(ko.output.split())


def test_sample_warns_when_the_floors_per_stratum_more_than_double_the_review(
    defect_batch: Path, tmp_path: Path
) -> None:
    """Stratified by age, most of the 39 slides are a stratum of their own: the floor of one a
    stratum draws nearly the whole lot for a plan of 13, and the command says so; the default
    strata (diagnosis and institution) add fewer than the plan and say nothing."""
    by_age = runner.invoke(
        app, ["sample", str(defect_batch), "--out", str(tmp_path / "a"), "--strata", "age"]
    )
    said = " ".join(by_age.output.split())
    plan = json.loads((tmp_path / "a" / "review_plan.json").read_text())
    floors = sum(min(1, s["lot"]) for s in plan["strata"])
    assert by_age.exit_code == 0 and floors > 2 * plan["plan_sample_size"]
    assert f"the lot makes {len(plan['strata'])} strata for a sample of 13" in said
    assert f"adds {floors - 13} slides to review" in said
    default = runner.invoke(app, ["sample", str(defect_batch), "--out", str(tmp_path / "b")])
    assert default.exit_code == 0 and "strata for a sample of" not in default.output
