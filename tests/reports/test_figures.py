"""Reading dimensions generically: states, gates and flattened figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from dqm.decided import DecidedFigure
from dqm.diversity.models import VERDICT_NOTE, DiversityResult
from dqm.figures import MAX_LIST_FIGURES, all_gates, dimension_gates, dimension_state, figures, fmt_value
from tests.reports.conftest import diversity, make_result, semantic, validity

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "results"


def test_syntactic_gates_come_from_its_explicit_list():
    r = make_result(files_ok=30)
    gates = dimension_gates(r, "syntactic")
    assert [g.key for g in gates] == [
        "syntactic.file_accuracy",
        "syntactic.structure_accuracy",
        "syntactic.format_accuracy",
    ]
    g = gates[0]
    assert (g.numerator, g.denominator, g.unit, g.target, g.passed) == (30, 40, "files", 0.99, False)
    assert g.value == r.syntactic.file_accuracy and g.percent
    assert g.describe() == "file accuracy 75.00 % (30 / 40 files), target ≥ 99.00 %: fail"


def test_a_top_level_estimate_is_one_gate_with_its_interval():
    r = make_result(semantic=semantic())
    (g,) = dimension_gates(r, "semantic")
    assert g.key == "semantic.accuracy"
    assert (g.value, g.ci_low, g.ci_high, g.target, g.passed) == (306 / 315, 0.9468, 0.9850, None, True)
    assert (g.numerator, g.denominator) == (306, 315)
    assert g.shown_ci == "94.68 % – 98.50 %"


def test_a_pending_dimension_has_provisional_figures_without_a_decision():
    r = make_result(semantic=semantic(passed=False, decision="incomplete"))
    (g,) = dimension_gates(r, "semantic")
    assert g.passed is None and g.decision == "–" and "provisional" in g.note
    assert g.value == 191 / 200  # the figure itself is still shown


def test_a_dimension_declares_its_gates_and_nothing_is_guessed_from_field_names():
    class PerClass(BaseModel):
        model_config = ConfigDict(frozen=True)
        dice: float
        target: float
        passed: bool

    class Validity(BaseModel):
        model_config = ConfigDict(frozen=True)
        per_class: dict[str, PerClass]
        passed: bool

        @property
        def gates(self) -> list[DecidedFigure]:
            return [
                DecidedFigure(name=c, value=p.dice, target=p.target, passed=p.passed, source=f"per_class/{c}")
                for c, p in self.per_class.items()
                if c != "MM"  # a figure the dimension does not gate is no gate, whatever its fields
            ]

    from tests.reports.conftest import FullResult

    class R(FullResult):
        validity: Validity | None = None  # type: ignore[assignment]

    per_class = {
        "BCC": PerClass(dice=0.9, target=0.8, passed=True),
        "MM": PerClass(dice=0.7, target=0.8, passed=False),
    }
    r = R(**{**dict(make_result()), "validity": Validity(per_class=per_class, passed=False)})
    (g,) = dimension_gates(r, "validity")
    assert (g.key, g.value, g.target, g.passed, g.pointer) == (
        "validity.BCC",
        0.9,
        0.8,
        True,
        "/validity/per_class/BCC",
    )
    assert dimension_state(r, "validity") == "failed"


def test_a_dimension_that_declares_no_gate_is_gated_on_its_passed():
    class Other(BaseModel):
        model_config = ConfigDict(frozen=True)
        per_class: dict[str, float]  # figures with a target-like shape are not read as gates
        target: float
        passed: bool

    from tests.reports.conftest import FullResult

    class R(FullResult):
        validity: Other | None = None  # type: ignore[assignment]

    r = R(**{**dict(make_result()), "validity": Other(per_class={"BCC": 0.9}, target=0.8, passed=False)})
    (g,) = dimension_gates(r, "validity")
    assert (g.key, g.label, g.value, g.target, g.passed, g.pointer) == (
        "validity.passed",
        "validity",
        None,
        None,
        False,
        "/validity",
    )


def test_validity_gates_each_class_not_the_mean():
    r = make_result(validity=validity(passed=False))
    gates = dimension_gates(r, "validity")
    assert [(g.key, g.value, g.target, g.passed, g.percent) for g in gates] == [
        ("validity.BCC", 0.86, 0.8, True, False),
        ("validity.MM", 0.38, 0.8, False, False),
    ]
    assert fmt_value(gates[1].value, gates[1].percent) == "0.38"
    assert gates[0].pointer == "/validity/dice_per_class/BCC"  # where results.json holds it


def test_diversity_declares_its_verdict_as_its_one_gate():
    r = make_result(diversity=diversity(passed=False))
    (g,) = dimension_gates(r, "diversity")
    assert (g.key, g.label, g.value, g.target, g.passed) == (
        "diversity.passed",
        "diversity",
        None,
        None,
        False,
    )
    assert g.pointer == "/diversity/gates/0"  # stored in results.json, like syntactic's
    assert r.diversity.gates == [DecidedFigure.verdict("diversity", False, VERDICT_NOTE)]


def test_a_diversity_result_of_schema_1_1_gets_its_gates_when_it_loads():
    stored = diversity(passed=False).model_dump(mode="json")
    del stored["gates"]
    old = DiversityResult.model_validate(stored)
    assert old.gates == diversity(passed=False).gates
    r = make_result(diversity=old)
    assert [g.key for g in dimension_gates(r, "diversity")] == ["diversity.passed"]


def test_a_dimension_without_targets_is_one_pass_fail_gate():
    r = make_result()
    r = r.model_copy(
        update={"syntactic": r.syntactic.model_copy(update={"gates": []})}
    )  # a profile without targets
    (g,) = dimension_gates(r, "syntactic")
    assert (g.key, g.value, g.target, g.passed) == ("syntactic.passed", None, None, True)


def test_states():
    r = make_result(semantic=semantic(decision="incomplete", passed=False), validity=validity(passed=False))
    assert [dimension_state(r, d) for d in ("syntactic", "semantic", "diversity", "validity")] == [
        "passed",
        "pending",
        "missing",
        "failed",
    ]
    assert dimension_gates(r, "diversity") == []
    assert len(all_gates(r)) == 3 + 1 + 2


def test_figures_flatten_every_number_and_skip_long_lists():
    r = make_result(validity=validity(passed=False))
    f = figures(r, "validity")
    assert f["validity.dice_per_class.MM.dice"] == 0.38
    assert f["validity.passed"] is False
    syn = figures(r, "syntactic")
    assert syn["syntactic.gates[file_accuracy].value"] == 1.0
    assert "syntactic.method" in syn
    assert "syntactic.by_code" not in syn  # an empty mapping holds no figure


def test_figures_leave_out_per_slide_lists():
    class DiversityTest(BaseModel):
        model_config = ConfigDict(frozen=True)
        name: str
        statistic: float
        p_value: float
        decision: str

    class FakeDiversity(BaseModel):
        model_config = ConfigDict(frozen=True)
        tests: list[DiversityTest]
        passed: bool

    from tests.reports.conftest import FullResult

    class R(FullResult):
        diversity: FakeDiversity | None = None  # type: ignore[assignment]

    def make(tests):
        return R(**{**dict(make_result()), "diversity": FakeDiversity(tests=tests, passed=True)})

    many = [
        DiversityTest(name=f"t{i}", statistic=i, p_value=0.5, decision="pass")
        for i in range(MAX_LIST_FIGURES + 1)
    ]
    few = many[:2]
    assert not [k for k in figures(make(many), "diversity") if "tests" in k]
    f = figures(make(few), "diversity")
    assert f["diversity.tests[t1].statistic"] == 1


def test_a_value_below_its_target_is_never_shown_as_reaching_it():
    """98,995 of 100,000 files accurate against a target of 0.99 read ``99.00 % ..., target ≥ 99.00 %:
    fail`` (two decimals round it up): a delivery that misses the target looked as if it met it, in
    the gate's lines, the report, the summary and the quality table. Enough digits now show it below."""
    from dqm.figures import Gate
    from reports.quality_table import Row

    value = 98_995 / 100_000
    key, name = "syntactic.file_accuracy", "file_accuracy"
    gate = Gate("syntactic", key, name, value, 0.99, False, 98_995, 100_000, unit="files", percent=True)
    assert gate.describe() == "file accuracy 98.995 % (98995 / 100000 files), target ≥ 99.00 %: fail"
    row = Row("accuracy", "files", "file accuracy", 0.99, "≥ 99.00 %", "batch", "", value, True, "fail")
    assert row.shown("value") == "98.995 %"
    assert fmt_value(0.79996, False, 0.8) == "0.79996" and fmt_value(0.79996, False) == "0.8"
    # at or above the target, and without one, the usual digits
    assert (fmt_value(0.99, True, 0.99), fmt_value(0.995, True, 0.99), fmt_value(0.9, True, 0.99)) == (
        "99.00 %",
        "99.50 %",
        "90.00 %",
    )
    assert fmt_value(1 - 2e-12, True, 1.0) == "99.9999999998 %" and fmt_value(None, True, 0.99) == "n/a"


def test_no_output_rounds_a_value_up_to_its_target() -> None:
    """98,999 of 100,000 files against 0.99 still read ``99.00 % (98999 / 100000 files)`` in the
    report's sentence, its table (``99.00 % ≥ 99.00 % fail``), in English and Korean, in ``dqm
    audit``'s line, the lots table, the summary's lots and the gate's lot lines: each printed value
    beside a target goes through ``fmt_value`` now. A value 1 ulp below the target reaches it
    (:func:`dqm.tolerance.reaches`, as every gate decides it) and reads ``80.00 %``, the target (it
    read ``80.00000000000000000 %``, then ``< 80.00 %`` beside a pass)."""
    import math
    import re

    from dqm.cli.common import syntactic_figures
    from dqm.gate import lot_lines
    from dqm.lots.models import Lot, LotsResult
    from dqm.results import QualityResult
    from reports.html import render_html
    from reports.markdown import render_summary
    from reports.svg import hbar

    assert fmt_value(math.nextafter(0.8, 0), True, 0.8, True) == "80.00 %"
    d = json.loads((FIXTURES / "results-1.16.json").read_text(encoding="utf-8"))
    s = d["syntactic"]
    s["files_total"], s["files_valid"], s["file_accuracy"] = 100_000, 98_999, 0.98999
    s["gates"][0].update(numerator=98_999, denominator=100_000, value=0.98999)
    result = QualityResult.model_validate(d)
    files = result.syntactic.gates[0]
    assert files.target == 0.99
    lot = Lot(
        name="H1", items=3, files=files, structure=files, format=files, syntactic_passed=False, passed=False
    )
    result = result.model_copy(update={"lots": LotsResult(field="institution", lots=[lot])})
    rounded = re.compile(r"99\.00 %\s*(\(98999|≥)")
    for lang in ("en", "ko"):
        text = re.sub(r"<[^>]+>", " ", render_html(result, lang=lang))
        assert not rounded.search(text) and text.count("98.999 %") >= 4, lang  # sentence, table, lots
        assert "98.999 % (98999/100000)" in "\n".join(lot_lines(result, lang))
    assert "98.999 % (98999 / 100000)" in render_summary(result)
    assert syntactic_figures(result.syntactic)["file_accuracy"] == "98.999 %"
    assert ">98.999 %</text>" in hbar(
        [("H1", 0.98999, "")], title="file accuracy", target=0.99
    )  # a chart's bar


def _rejected_precision_plan(target: float, accuracy: float) -> Any:
    """The semantic result of a precision plan rejected with ``accuracy`` against ``target``."""
    update = {
        "plan": "precision",
        "target": target,
        "accuracy": accuracy,
        "passed": False,
        "decision": "reject",
    }
    return semantic().model_copy(update=update)


def test_a_precision_plans_estimate_is_not_rounded_up_to_its_target(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A precision plan decides on the weighted estimate against its target: 0.98999 against 0.99
    (reject) read ``99.00 %`` in the report's semantic table and ``dqm review ingest``'s lines."""
    import re

    from dqm.cli.semantic import _print_result
    from reports.html import render_html

    s = _rejected_precision_plan(0.99, 0.98999)
    w = s.weighted
    assert w is None or w.accuracy is None
    result = make_result(semantic=s)
    text = " ".join(re.sub(r"<[^>]+>", " ", render_html(result)).split())
    assert "306 / 315 slides PASS 98.999 %" in text
    _print_result(s, 0, "en")
    assert "accuracy 98.999 % (306/315 PASS)" in capsys.readouterr().out


def test_a_mean_a_float_rounding_below_its_target_is_no_contradiction() -> None:
    """A validity gate on ``ci_low``: 15 Dice of 0.85 have a mean 1 ulp below 0.85 while the bound
    equals it, so dqm's own pass read as "edited after dqm wrote it" (a failed gate). A value within
    a 1e-12 relative tolerance of its target is rounding; one clearly below still contradicts."""
    import numpy as np

    from dqm.figures import contradictions

    mean = float(np.mean([0.85] * 15))
    assert mean < 0.85
    v = validity()
    for value, flagged in ((mean, False), (0.849, True)):
        per = {
            c: d.model_copy(update={"dice": value, "ci_low": 0.85, "target": 0.85, "passed": True})
            for c, d in v.dice_per_class.items()
        }
        result = make_result(validity=v.model_copy(update={"dice_per_class": per, "target": 0.85}))
        assert bool(contradictions(result, "validity")) is flagged
        assert dimension_state(result, "validity") == ("failed" if flagged else "passed")


@pytest.mark.parametrize("flip_gates", [False, True])
def test_a_pass_its_own_figures_contradict_fails_the_gate(flip_gates: bool, tmp_path: Path) -> None:
    """A results.json whose syntactic accuracy failed (30 of 40 files against 0.99), edited to say
    ``"passed": true`` and sealed again (the content digest is no key: anyone computes it with
    dqm's own function), made ``dqm gate`` print ``PASS syntactic`` above its own ``file accuracy
    75.00 % ..., target ≥ 99.00 %: fail`` and exit 0. The figures decide now: exit 1, and why."""
    from typer.testing import CliRunner

    from dqm.cli import app
    from dqm.digest import seal_results
    from dqm.gate import gate

    r = make_result(files_ok=30)
    gates = (
        [g.model_copy(update={"passed": True}) for g in r.syntactic.gates]
        if flip_gates
        else r.syntactic.gates
    )
    forged = r.model_copy(
        update={"syntactic": r.syntactic.model_copy(update={"passed": True, "gates": gates})}
    )
    assert dimension_state(forged, "syntactic") == "failed"
    outcome = gate(forged, ["syntactic"])
    assert outcome.exit_code == 1 and outcome.failed == ["syntactic"]
    assert (
        "FAIL     syntactic: the result says it passed, but its gated figures say otherwise"
        in outcome.lines[0]
    )
    honest = make_result(files_ok=40)
    assert dimension_state(honest, "syntactic") == "passed" and gate(honest, ["syntactic"]).exit_code == 0
    path = tmp_path / "results.json"
    path.write_text(seal_results(forged.model_dump_json(exclude={"digest"}))[0])
    res = CliRunner().invoke(app, ["gate", str(path), "--require", "syntactic"])
    assert res.exit_code == 1, res.output


def test_a_result_holding_no_dimension_passes_no_gate() -> None:
    """``dqm gate`` requires by default the dimensions the result holds: a results.json holding none
    (its syntactic member taken out, the digest sealed again) was required nothing and exited 0,
    the certificate's pass. It is missing everything now (exit 3), and says so."""
    from dqm.gate import EXIT_MISSING, gate

    empty = make_result().model_copy(update={"syntactic": None})
    outcome = gate(empty)
    assert outcome.exit_code == EXIT_MISSING and outcome.missing == [
        "syntactic",
        "semantic",
        "diversity",
        "validity",
    ]
    assert outcome.lines == [
        "MISSING  syntactic: not evaluated",
        "MISSING  the result holds no evaluated dimension: there is nothing to pass",
    ]
    # nothing held passes no gate, even where the missing dimensions are asked as warnings only
    assert gate(empty, warn_only=["syntactic"]).exit_code == EXIT_MISSING
    assert gate(empty, warn_only=["diversity"]).exit_code == EXIT_MISSING


def test_a_deleted_member_stays_required() -> None:
    """``required`` defaulted to the dimensions the result holds: the failing syntactic member
    taken out (``syntactic: null``, digest sealed again) left a passing diversity, and ``dqm gate``
    exited 0. Syntactic, which every audit runs, and what the verdict says failed or is pending
    are required whether the file holds them or not."""
    from dqm.gate import EXIT_FAILED, EXIT_MISSING, EXIT_OK, gate
    from dqm.results import QualityResult

    d = json.loads((FIXTURES / "results-1.16.json").read_text(encoding="utf-8"))
    div = d["diversity"]  # its diversity made to pass, as the reviewer's forgery did
    div["passed"], div["verdict"] = True, "pass"
    div["gates"] = [g | {"passed": True} for g in div["gates"]]
    assert gate(QualityResult.model_validate(d)).exit_code == EXIT_FAILED  # syntactic failed
    d["syntactic"], d["verdict"]["failed"] = None, []  # taken out, and out of the verdict too
    forged = QualityResult.model_validate(d)
    outcome = gate(forged)
    assert outcome.exit_code == EXIT_MISSING and outcome.missing == ["syntactic"]
    assert gate(forged, warn_only=["diversity"]).exit_code == EXIT_MISSING
    assert gate(forged, require=["diversity"]).exit_code == EXIT_OK  # asked for diversity only
    verdict = forged.verdict.model_copy(update={"failed": ["validity"]})
    assert "validity" in gate(forged.model_copy(update={"verdict": verdict})).missing


def test_a_failing_dice_is_never_shown_as_its_target(capsys: pytest.CaptureFixture[str]) -> None:
    """Validity's Dice were printed with ``%.3f``: a failing 0.8496 against 0.85 read ``0.850``
    beside *fail* in the report's validity table and headline and in ``dqm audit``'s validity table
    and line; a target of 0.855 read ``0.85`` (``%.2f``) beside a 0.853 that fails it; an
    interval's low end, what ``gate_on: ci_low`` decides on, read ``0.85`` beside a fail in every
    gate table (report, summary)."""
    import re

    from dqm.cli.audit import _print_validity
    from dqm.figures import Gate
    from reports.html import render_html

    v = validity(passed=False)
    per = {
        "MM": v.dice_per_class["MM"].model_copy(
            update={"dice": 0.8496, "ci_low": 0.8012, "ci_high": 0.8901, "target": 0.85, "passed": False}
        ),
        "BCC": v.dice_per_class["BCC"].model_copy(
            update={"dice": 0.853, "ci_low": 0.8113, "ci_high": 0.8802, "target": 0.855, "passed": False}
        ),
    }
    v = v.model_copy(update={"dice_per_class": per, "mean_dice": 0.8496, "target": 0.85, "passed": False})
    html = render_html(make_result(validity=v))
    section = html[html.index('<section id="validity">') :]
    text = " ".join(re.sub(r"<[^>]+>", " ", section[: section.index("</section>")]).split())
    assert "0.850" not in text and text.count("0.8496") == 2, text  # the headline's mean, MM's row
    assert "BCC 0.853 0.811–0.880 30 0.855 fail" in text  # its target as written
    _print_validity(v)
    said = " ".join(capsys.readouterr().out.split())
    assert "0.850" not in said and said.count("0.8496") == 2 and "0.855" in said, said
    gate = Gate("validity", "validity.BCC", "BCC", 0.9, 0.85, False, ci_low=0.84996, ci_high=0.95)
    assert gate.shown_ci == "0.84996 – 0.95"  # decided on the low end (gate_on: ci_low): it failed
    passing = Gate("validity", "validity.BCC", "BCC", 0.9, 0.85, True, ci_low=0.85, ci_high=0.95)
    assert passing.shown_ci == "0.85 – 0.95"


def test_a_passing_dice_never_reads_under_a_target_with_more_decimals() -> None:
    """Targets are printed as written, but a Dice or an interval's low end that passes was cut to 3
    decimals: 0.8552 / 0.8551 against 0.8551 (``gate_on: ci_low``) read ``BCC 0.855 0.855–0.900
    30 0.8551 pass`` in the report's validity table, under its own target; and a percentage target
    of 0.99995 read ``≥ 100.00 %`` in every gate table."""
    import re

    from dqm.figures import Gate
    from dqm.tolerance import fmt_dice
    from reports.html import render_html

    assert fmt_dice(0.8552, 0.8551, 0.9, 0.8551, True) == ("0.8552", "0.8551–0.900")
    assert fmt_dice(0.8549, 0.85496, 0.9, 0.8551, False) == ("0.8549", "0.8550–0.900")  # under it
    assert fmt_dice(0.86, 0.8551, 0.9, 0.8551, True) == ("0.860", "0.8551–0.900")  # as ever above
    v = validity(passed=True)
    bcc = v.dice_per_class["BCC"].model_copy(
        update={"dice": 0.8552, "ci_low": 0.8551, "ci_high": 0.9, "target": 0.8551, "passed": True}
    )
    v = v.model_copy(update={"dice_per_class": {"BCC": bcc}, "mean_dice": 0.8552, "target": 0.8551})
    html = render_html(make_result(validity=v))
    section = html[html.index('<section id="validity">') :]
    text = " ".join(re.sub(r"<[^>]+>", " ", section[: section.index("</section>")]).split())
    assert "BCC 0.8552 0.8551–0.900 30 0.8551 pass" in text, text
    quality = Gate("technical", "technical.resolution", "resolution", 0.99996, 0.99995, True, percent=True)
    assert quality.shown_target == "≥ 99.995 %" and quality.shown_value == "100.00 %"
    short = Gate("technical", "technical.resolution", "resolution", 0.99994, 0.99995, False, percent=True)
    assert short.shown_value == "99.99 %"


def test_a_percentage_target_reads_as_written_in_every_table_and_chart(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A target of 0.99994 beside 99,993 of 100,000 files read ``99.993 % ≥ 99.99 % fail`` in the
    report's syntactic and waivers tables, ``≥ 99.99 % … 99.993 % fail`` in the quality table (ko
    ``99.99 % 이상``) and ``target 99.99 %`` on the chart: a failing figure above its target as
    printed. A precision plan's target 0.99994 read ``target 0.99994`` (``{:g}``: 6 digits) and
    ``99.99 %`` in the report; 0.99995 read ``100.00 %`` in the quality table."""
    import datetime as dt
    import re

    from dqm.cli.semantic import _print_result
    from dqm.delivery import WaiverSection
    from dqm.quality_layout import QualityTableLayout
    from dqm.results import QualityResult
    from reports.html import render_html
    from reports.quality_table import quality_rows
    from reports.svg import hbar

    d = json.loads((FIXTURES / "results-1.16.json").read_text(encoding="utf-8"))
    s = d["syntactic"]
    s["files_total"], s["files_valid"], s["file_accuracy"] = 100_000, 99_993, 0.99993
    s["gates"][0].update(numerator=99_993, denominator=100_000, value=0.99993, target=0.99994, passed=False)
    result = QualityResult.model_validate(d)
    gates = list(result.syntactic.gates)
    waivers = WaiverSection(source="w.yaml", checked_on=dt.date(2026, 6, 1), uses=[], measured=gates)
    result = result.model_copy(update={"waivers": waivers})
    for lang in ("en", "ko"):
        html = render_html(result, lang=lang)
        text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
        assert "≥ 99.99 %" not in text, lang
        assert text.count("99.993 % ≥ 99.994 %") == 2, lang  # the syntactic table, the waivers' one
        rows = [r for r in quality_rows(result, QualityTableLayout(), lang) if r.target == 0.99994]
        assert [(r.target_text, r.shown("value")) for r in rows] == [
            ("≥ 99.994 %" if lang == "en" else "99.994 % 이상", "99.993 %")
        ], lang
    assert "target 99.994 %</text>" in hbar([("H1", 0.99993, "")], title="files", target=0.99994)
    s["gates"][0].update(target=0.99995)
    result = QualityResult.model_validate(d)
    (row,) = [r for r in quality_rows(result, QualityTableLayout(), "en") if r.target == 0.99995]
    assert row.target_text == "≥ 99.995 %"

    plan = _rejected_precision_plan(0.99994, 0.99993)
    text = " ".join(re.sub(r"<[^>]+>", " ", render_html(make_result(semantic=plan))).split())
    assert "(precision plan, target 99.994 %)" in text
    _print_result(plan, 0, "en")
    assert "target 99.994 %" in " ".join(capsys.readouterr().out.split())


def test_a_weighted_count_that_rejects_never_reads_as_its_acceptance_number() -> None:
    """An ISO plan decided on the weighted count of failures printed it with ``%.2f``: 7.004 over
    Ac 7 (reject) read ``weighted count 7.00``, the acceptance number it exceeds."""
    import re

    from reports.html import render_html

    def said(counted: float, decision: str) -> str:
        update = {"decision_basis": "weighted", "failures_counted": counted, "decision": decision}
        s = semantic().model_copy(update={**update, "acceptance_number": 7, "rejection_number": 8})
        return " ".join(re.sub(r"<[^>]+>", " ", render_html(make_result(semantic=s))).split())

    assert "weighted count 7.004" in said(7.004, "reject")
    assert "weighted count 7.00)" in said(7.0000000004, "accept")  # within the decision's 1e-9
    assert "weighted count 6.50)" in said(6.5, "accept")
