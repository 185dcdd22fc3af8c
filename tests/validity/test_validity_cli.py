"""``dqm validity`` and the audit stage end to end, on the 14-slide clean batch with a tiny profile."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.cli import app
from dqm.results import QualityResult
from dqm.validity.models import ValidityResult

TINY = str(Path(__file__).with_name("tiny.yaml"))
runner = CliRunner()


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(root).as_posix().encode() + p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def first_run(clean_batch: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ValidityResult]:
    before = _digest(clean_batch)
    out = tmp_path_factory.mktemp("validity") / "run"
    res = runner.invoke(app, ["validity", str(clean_batch), "--out", str(out), "--profile", TINY, "-j", "1"])
    assert res.exit_code == 1, res.output  # a few seconds of training cannot reach Dice 0.80
    assert "pooled Dice" in res.output and "mean slide Dice" in res.output
    assert _digest(clean_batch) == before  # the batch is read only
    return out, ValidityResult.model_validate_json((out / "validity.json").read_bytes())


def test_validity_writes_its_result_and_checkpoint(first_run: tuple[Path, ValidityResult]) -> None:
    out, v = first_run
    assert v.classes == ["NS", "EC", "SK", "BD_SCC", "BCC", "MN", "MM"]
    assert set(v.dice_per_class) == set(v.classes)
    assert v.n_slides == 14 and v.n_used == 14 and not v.excluded
    assert v.n_scored == sum(len(f.test) for f in v.split.folds) == len(v.per_slide)
    assert not v.passed
    assert all((out / c).is_file() for c in v.checkpoints)
    assert v.profile.name == "tiny" and v.seeds["seed"] == 0 and v.device == "cpu" and v.cpu_threads == 1
    assert [p.epoch for p in v.curve] == [1, 2]
    assert v.split.unit == "patient"
    fold = v.split.folds[0]
    assert set(fold.train).isdisjoint(fold.test)
    for cls, d in v.dice_per_class.items():
        scored = [s.dice[cls] for s in v.per_slide if cls in s.dice]
        assert d.n_slides == len(scored)
        if scored:
            assert d.dice == pytest.approx(sum(scored) / len(scored))
        # pooled: the slides' pixel counts summed, every held-out slide counted
        tp, fp, fn = (
            sum(getattr(s.pixels[cls], k) for s in v.per_slide if cls in s.pixels) for k in ("tp", "fp", "fn")
        )
        assert d.pooled is not None and (d.pooled.pixels.tp, d.pooled.pixels.fp, d.pooled.pixels.fn) == (
            tp,
            fp,
            fn,
        )
        assert d.pooled.n_slides == v.n_scored and d.pooled.n_annotated == d.n_slides
        if tp + fp + fn:
            assert d.pooled.dice == pytest.approx(2 * tp / (2 * tp + fp + fn))
        assert d.gated and d.pooled.gated  # smoke and tiny gate on both
    assert v.gate_dice == "both" and v.training_tiles == 2 * 32 and v.unreadable_tiles == {}
    assert v.passed == all(g.passed for g in v.gates) and len(v.gates) == 2 * len(v.classes)
    assert v.label_risk() == {s.slide_id: s.suspicion for s in v.per_slide}
    assert v.overlays and all(o.image.startswith("data:image/jpeg;base64,") for o in v.overlays)
    assert ValidityResult.model_validate_json(v.model_dump_json()) == v


def test_an_existing_run_is_kept_unless_resumed_or_forced(
    clean_batch: Path, first_run: tuple[Path, ValidityResult]
) -> None:
    out, v = first_run
    res = runner.invoke(app, ["validity", str(clean_batch), "--out", str(out), "--profile", TINY])
    assert res.exit_code == 2 and "--resume" in res.output
    res = runner.invoke(app, ["validity", str(clean_batch), "--out", str(out), "--profile", TINY, "--resume"])
    assert res.exit_code == 1, res.output
    again = ValidityResult.model_validate_json((out / "validity.json").read_bytes())
    assert again.dice_per_class == v.dice_per_class  # finished checkpoints are reloaded, not retrained
    assert again.timing is not None and again.timing.train_s == 0


def test_ctrl_c_then_resume_gives_the_uninterrupted_result(
    clean_batch: Path, first_run: tuple[Path, ValidityResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dqm.validity.progress import RichReporter

    def interrupt(self: RichReporter, point: object) -> None:
        raise KeyboardInterrupt

    out = tmp_path / "run"
    args = ["validity", str(clean_batch), "--out", str(out), "--profile", TINY, "-j", "1"]
    with monkeypatch.context() as m:
        m.setattr(RichReporter, "epoch_end", interrupt)
        res = runner.invoke(app, args)
    assert res.exit_code == 130
    assert "--resume" in res.output
    assert not (out / "validity.json").exists() and (out / "checkpoints").is_dir()
    res = runner.invoke(app, [*args, "--resume"])
    assert res.exit_code == 1, res.output
    resumed = ValidityResult.model_validate_json((out / "validity.json").read_bytes())
    _, uninterrupted = first_run
    assert resumed.dice_per_class == uninterrupted.dice_per_class
    assert [p.loss for p in resumed.curve] == [p.loss for p in uninterrupted.curve]


def test_usage_errors(clean_batch: Path, tmp_path: Path) -> None:
    res = runner.invoke(
        app, ["validity", str(clean_batch), "--out", str(tmp_path / "x"), "--profile", "nope"]
    )
    assert res.exit_code == 2 and "cannot read validity profile" in res.output
    res = runner.invoke(
        app, ["validity", str(clean_batch), "--out", str(clean_batch / "out"), "--profile", TINY]
    )
    assert res.exit_code == 2 and "outside the batch" in res.output
    res = runner.invoke(app, ["validity", str(tmp_path / "absent"), "--profile", TINY])
    assert res.exit_code == 2
    res = runner.invoke(app, ["validity", str(clean_batch), "--out", str(tmp_path / "y"), "--device", "tpu"])
    assert res.exit_code == 2
    import torch

    if not torch.cuda.is_available():
        res = runner.invoke(
            app,
            [
                "validity",
                str(clean_batch),
                "--out",
                str(tmp_path / "z"),
                "--profile",
                TINY,
                "--device",
                "cuda",
            ],
        )
        assert res.exit_code == 2 and "CUDA" in res.output


@pytest.mark.parametrize("command", ["validity", "audit"])
def test_a_target_of_an_unknown_class_is_refused_before_any_work(
    clean_batch: Path, tmp_path: Path, command: str
) -> None:
    # `Mn` for `MN`: the class was held to the default 0.80 without a word, after the training
    prof = tmp_path / "p.yaml"
    prof.write_text(
        Path(TINY).read_text("utf-8").replace("evaluation: {", "evaluation: {targets: {Mn: 0.5}, ")
    )
    out = tmp_path / "out"
    args = ["--profile", str(prof)] if command == "validity" else ["--validity-profile", str(prof)]
    extra = [] if command == "validity" else ["--stages", "syntactic,validity"]
    res = runner.invoke(app, [command, str(clean_batch), "--out", str(out), *args, *extra, "-j", "1"])
    assert res.exit_code == 2, res.output
    assert "evaluation.targets names Mn, not a class of the dataset profile" in " ".join(res.output.split())
    assert not out.exists()


def test_audit_runs_validity_only_when_asked(clean_batch: Path, tmp_path: Path) -> None:
    out = tmp_path / "audit"
    res = runner.invoke(
        app,
        [
            "audit",
            str(clean_batch),
            "--out",
            str(out),
            "--stages",
            "syntactic,validity",
            "--validity-profile",
            TINY,
        ],
    )
    assert res.exit_code == 1, res.output  # validity fails its target
    result = QualityResult.load(out / "results.json")
    assert result.validity is not None and result.validity.passed is False
    assert result.verdict.status == "not_certified" and "validity" in result.verdict.failed
    assert (out / "validity" / "validity.json").is_file()
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="validity"' in html and "<polyline" in html and 'src="data:image/jpeg;base64,' in html
    section = html[
        html.index('<section id="validity"') : html.index("</section>", html.index('id="validity"'))
    ]
    assert "style=" not in section
    assert QualityResult.model_validate_json(result.model_dump_json()) == result

    plain = tmp_path / "plain"
    res = runner.invoke(app, ["audit", str(clean_batch), "--out", str(plain)])
    assert QualityResult.load(plain / "results.json").validity is None
    assert not (plain / "validity").exists()
    res = runner.invoke(app, ["audit", str(clean_batch), "--out", str(plain), "--stages", "syntactic,magic"])
    assert res.exit_code == 2 and "unknown stage" in res.output


def test_importing_dqm_loads_no_torch_or_monai() -> None:
    code = (
        "import sys, dqm, dqm.results, dqm.validity, dqm.validity.models, dqm.cli\n"
        "bad = [m for m in ('torch', 'monai', 'great_expectations') if m in sys.modules]\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_results_schema_describes_validity() -> None:
    from dqm.schemas import results

    text = json.dumps(results())
    assert "ValidityResult" in text and re.search(r'"dice_per_class"', text)


def test_a_batch_with_no_usable_slide_fails_without_crashing(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    res = runner.invoke(app, ["validity", str(empty), "--out", str(tmp_path / "out"), "--profile", TINY])
    assert res.exit_code == 1, res.output
    v = ValidityResult.model_validate_json((tmp_path / "out" / "validity.json").read_bytes())
    assert v.n_used == 0 and v.n_scored == 0 and not v.passed and v.mean_dice is None
    assert all(d.n_slides == 0 and not d.passed for d in v.dice_per_class.values())


def test_slides_with_errors_are_left_out_with_their_reasons(defect_batch: Path, tmp_path: Path) -> None:
    res = runner.invoke(
        app, ["validity", str(defect_batch), "--out", str(tmp_path / "out"), "--profile", TINY]
    )
    assert res.exit_code == 1, res.output
    v = ValidityResult.model_validate_json((tmp_path / "out" / "validity.json").read_bytes())
    assert v.excluded and v.n_used + len(v.excluded) >= v.n_slides - 1
    assert all(e.reason for e in v.excluded)
    scored = {s.slide_id for s in v.per_slide}
    assert scored.isdisjoint({e.slide_id for e in v.excluded})
    text = " ".join(res.output.split())
    assert f"{len(v.excluded)} left out" in text and "left out: " in text and "syntactic errors" in text


def test_the_validity_lines_follow_the_commands_language(
    first_run: tuple[Path, ValidityResult],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from dqm.cli.audit import _print_validity
    from dqm.cli.common import LANGUAGE

    _, v = first_run
    monkeypatch.setattr(LANGUAGE, "value", "ko")  # what --lang ko sets while the command line is parsed
    _print_validity(v)
    printed = " ".join(capsys.readouterr().out.split())
    assert "유효성: 통합 Dice" in printed and "평균 슬라이드 Dice" in printed and "보류 슬라이드" in printed
    assert "mean slide Dice" not in printed and printed.endswith("FAIL")  # the marker stays


def test_the_reasons_slides_were_left_out_in_korean(
    first_run: tuple[Path, ValidityResult],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from dqm.cli.audit import _print_validity
    from dqm.cli.common import LANGUAGE
    from dqm.validity.models import ExcludedSlide

    excluded = [
        ExcludedSlide(
            slide_id="S1", reason="syntactic errors: SELF_INTERSECTION", codes=["SELF_INTERSECTION"]
        ),
        ExcludedSlide(slide_id="S2", reason="syntactic errors: ZERO_AREA", codes=["ZERO_AREA"]),
        ExcludedSlide(slide_id="S3", reason="resolution (mpp) unknown", codes=["MPP_MISSING"]),
        ExcludedSlide(
            slide_id="S4", reason="cannot read the slide: OSError: bad", codes=["SLIDE_UNREADABLE"]
        ),
    ]
    v = first_run[1].model_copy(update={"excluded": excluded})
    _print_validity(v)
    english = " ".join(capsys.readouterr().out.split())
    assert "left out: 2 syntactic errors, 1 resolution (mpp) unknown, 1 cannot read the slide" in english
    monkeypatch.setattr(LANGUAGE, "value", "ko")
    _print_validity(v)
    printed = " ".join(capsys.readouterr().out.split())
    assert "제외: 2 구문 오류, 1 " in printed and "1 슬라이드를 읽을 수 없음" in printed
    assert "syntactic errors" not in printed and "cannot read" not in printed
