"""The gate's exit codes, the verdict over the dimensions, and the CLI around them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.audit import verdict, with_verdict
from dqm.cli import app
from dqm.gate import EXIT_FAILED, EXIT_MISSING, EXIT_OK, gate, parse_dimensions
from tests.reports.conftest import as_core, diversity, finding, make_result, semantic, validity

ALL = ["syntactic", "semantic", "diversity", "validity"]


def complete(**over):
    dims = dict(semantic=semantic(), diversity=diversity(), validity=validity())
    dims.update(over)
    return make_result(**dims)


def test_certified_when_every_dimension_passed():
    r = complete()
    assert r.verdict.status == "certified"
    out = gate(r, ALL)
    assert out.exit_code == EXIT_OK
    assert [ln.split()[0] for ln in out.lines if not ln.startswith(" ")] == ["PASS"] * 4


def test_a_failed_requirement_exits_1_and_names_the_dimension():
    r = complete(validity=validity(passed=False))
    assert r.verdict.status == "not_certified" and r.verdict.failed == ["validity"]
    out = gate(r, ALL)
    assert out.exit_code == EXIT_FAILED and out.failed == ["validity"]
    assert any(ln.startswith("FAIL     validity") for ln in out.lines)
    assert any("MM 0.38" in ln and "target ≥ 0.8: fail" in ln for ln in out.lines)


def test_a_missing_requirement_exits_3():
    r = make_result()  # syntactic only
    assert r.verdict.status == "incomplete" and r.verdict.missing == ["semantic", "diversity", "validity"]
    out = gate(r, ALL)
    assert out.exit_code == EXIT_MISSING and out.missing == ["semantic", "diversity", "validity"]
    assert gate(r, ["syntactic"]).exit_code == EXIT_OK
    assert gate(r).exit_code == EXIT_OK  # default: what was evaluated


def test_the_release_gate_requires_every_dimension_so_incomplete_never_passes():
    """``dqm gate`` (``every``) without --require: an INCOMPLETE result (the review missing, or
    one not finished) exits 3; it exited 0 before. --warn-only lets one through; CERTIFIED passes."""
    no_review = complete(semantic=None)
    assert no_review.verdict.status == "incomplete"
    assert gate(no_review).exit_code == EXIT_OK  # the audit's default: what was evaluated
    out = gate(no_review, every=True)
    assert out.exit_code == EXIT_MISSING and out.missing == ["semantic"] and out.required == ALL
    assert "MISSING  semantic: not evaluated" in out.lines
    assert gate(no_review, every=True, warn_only=["semantic"]).exit_code == EXIT_OK
    assert gate(no_review, ["syntactic", "diversity", "validity"], every=True).exit_code == EXIT_OK
    assert gate(complete(), every=True).exit_code == EXIT_OK
    assert gate(make_result(files_ok=3), every=True).exit_code == EXIT_FAILED  # failure wins over missing


def test_failure_wins_over_missing():
    r = make_result(files_ok=10)
    assert r.verdict.status == "not_certified"
    assert gate(r, ALL).exit_code == EXIT_FAILED


def test_warn_only_never_fails_the_gate_whether_failed_or_missing():
    r = make_result(files_ok=10, semantic=semantic())
    assert gate(r, ["syntactic", "semantic"]).exit_code == EXIT_FAILED
    out = gate(r, ["syntactic", "semantic"], warn_only=["syntactic"])
    assert out.exit_code == EXIT_OK and out.warned == ["syntactic"]
    out = gate(r, ALL, warn_only=["syntactic", "diversity", "validity"])
    assert out.exit_code == EXIT_OK
    assert sum(ln.startswith("WARN") for ln in out.lines) == 3


def test_a_pending_review_is_incomplete_not_failed():
    r = complete(semantic=semantic(passed=False, decision="incomplete"))
    assert r.verdict.status == "incomplete"
    assert r.verdict.pending == ["semantic"] and r.verdict.failed == []
    assert "semantic pending" in r.verdict.summary
    out = gate(r, ALL)
    assert out.exit_code == EXIT_MISSING
    assert any("pending" in ln for ln in out.lines if ln.startswith("MISSING"))


def test_verdict_summary_names_failed_and_missing():
    v = verdict(make_result(files_ok=3))
    assert v.summary == "NOT CERTIFIED: syntactic failed; semantic, diversity, validity not evaluated"


@pytest.mark.parametrize("text", ["", " , ", "syntactic,bogus", "Syntactic;semantic"])
def test_bad_dimension_lists_are_rejected(text):
    with pytest.raises(ValueError):
        parse_dimensions(text, "--require")


def test_dimension_lists_are_cleaned():
    assert parse_dimensions(" Syntactic, semantic ,syntactic", "--require") == ["syntactic", "semantic"]
    assert parse_dimensions(None, "--require") is None
    with pytest.raises(ValueError, match="unknown dimension"):
        gate(make_result(), ["nope"])


# ---- the CLI -------------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def results_json(tmp_path: Path):
    def write(r, name="results.json") -> Path:
        p = tmp_path / name
        as_core(r).dump(p)
        return p

    return write


def _run(*args: str):
    res = runner.invoke(app, list(args))
    assert "Traceback" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    return res


def test_cli_gate_exit_codes(results_json):
    ok = results_json(make_result(), "ok.json")
    bad = results_json(make_result(files_ok=5, findings=[finding("S00001", "SELF_INTERSECTION")]), "bad.json")
    res = _run("gate", str(ok))  # INCOMPLETE: without --require, every dimension is required
    assert res.exit_code == 3 and "MISSING  semantic: not evaluated" in res.output, res.output
    assert _run("gate", str(ok), "--warn-only", "semantic,diversity,validity").exit_code == 0
    assert _run("gate", str(ok), "--require", "syntactic").exit_code == 0
    assert _run("gate", str(ok), "--require", ",".join(ALL)).exit_code == 3
    res = _run("gate", str(bad))
    assert res.exit_code == 1 and "FAIL     syntactic" in res.output
    assert _run("gate", str(bad), "--warn-only", ",".join(ALL)).exit_code == 0
    assert _run("gate", str(ok), "--require", "syntactic,nonsense").exit_code == 2
    assert _run("gate", str(ok), "--require", "").exit_code == 2


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "cannot read"),
        (b"", "not JSON"),
        (b"{not json", "not JSON"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not JSON"),
        (b"[1, 2]", "not a dqm results.json"),
        (b'{"schema_version": "9.0"}', "schema version"),
        (b'{"schema_version": "1.0", "batch": 3}', "does not match the results schema"),
    ],
)
def test_cli_malformed_results_are_usage_errors(tmp_path: Path, content, message):
    p = tmp_path / "results.json"
    if content is not None:
        p.write_bytes(content)
    for cmd in (
        ["gate", str(p)],
        ["report", str(p), "-o", str(tmp_path / "r.html")],
        ["diff", str(p), str(p)],
    ):
        res = _run(*cmd)
        assert res.exit_code == 2, (cmd, res.output)
        assert message in " ".join(res.output.split())
        assert len(res.output.splitlines()) <= 12  # a message, not a dump of the file


def test_a_folder_is_not_a_results_file(tmp_path: Path):
    res = _run("gate", str(tmp_path))
    assert res.exit_code == 2 and "cannot read" in res.output


def test_markup_like_text_in_a_message_is_printed_verbatim(tmp_path: Path):
    p = tmp_path / "[bold]x[/].json"
    res = _run("gate", str(p))
    assert res.exit_code == 2 and "[bold]x[/].json" in "".join(res.output.split())


def _with_ordered(r, bad: int, not_delivered: int = 1, not_ordered: int = 0, fail_on_it: bool = False):
    """``r`` (20 items of 10 value slots) with ``bad`` structure errors in each item's annotation
    file, ``not_delivered`` items of the order list not delivered and ``not_ordered`` of its items
    not ordered, and the figures over the items ordered dqm computes from them; ``fail_on_it``:
    its structure gate failed on them, as dqm writes it."""
    from dqm.facts import Ratio
    from dqm.order import NOT_DELIVERED, NOT_ORDERED
    from dqm.results import OrderInfo
    from dqm.syntactic.accuracy import ORDERED_NOTE, figures_over_order

    ids = [i.slide_id for i in r.items]
    findings = [
        *r.findings,
        *(finding(i, "X", aspect="structure", pointer=f"/v/{j}") for i in ids for j in range(bad)),
        *(
            finding(f"GONE{k}", NOT_DELIVERED, aspect="file", file="order.csv", line=k)
            for k in range(not_delivered)
        ),
        *(finding(i, NOT_ORDERED, "warning", aspect="file") for i in ids[:not_ordered]),
    ]
    entries = len(ids) - not_ordered + not_delivered
    ordered = figures_over_order(ids, [10] * len(ids), [0] * len(ids), findings, entries)
    if not_ordered:  # the value-weighted figures without them, as dqm gives them
        slots = 10 * (len(ids) - not_ordered)
        ok = slots - bad * (len(ids) - not_ordered)
        ordered = ordered.model_copy(
            update={
                "structure_without_unordered": Ratio.of("structure_accuracy", "values", ok, slots, 0.995),
                "format_without_unordered": Ratio.of("format_accuracy", "values", ok, ok, 0.995),
            }
        )
    s = r.syntactic
    gates = [
        g.model_copy(update={"passed": False, "note": ORDERED_NOTE})
        if fail_on_it and g.name == "structure_accuracy"
        else g
        for g in s.gates
    ]
    passed = all(g.passed is not False for g in gates)
    order = OrderInfo(
        sha256="0" * 64, ordered=entries, delivered=len(ids) - not_ordered, not_ordered=not_ordered
    )
    return r.model_copy(
        update={
            "findings": findings,
            "syntactic": s.model_copy(update={"ordered": ordered, "gates": gates, "passed": passed}),
            "order": order,
        }
    )


def test_a_value_gate_passed_below_its_figure_over_the_items_ordered_is_a_contradiction():
    """An edited results.json whose value gates say they pass though the figure over the items
    ordered (which they are judged on with an item not delivered) misses the target fails the gate."""
    from dqm.figures import contradictions, dimension_state

    r = complete()
    assert gate(r, ALL).exit_code == EXIT_OK
    edited = _with_ordered(r, 5)
    assert edited.syntactic.passed
    assert [g.name for g in contradictions(edited, "syntactic")] == ["structure_accuracy", "format_accuracy"]
    assert dimension_state(edited, "syntactic") == "failed"
    assert gate(edited, ALL).exit_code == EXIT_FAILED
    # a delivery of the order list exactly is judged on the value-weighted figures alone
    assert not contradictions(_with_ordered(r, 5, not_delivered=0), "syntactic")
    # judged on them (an item not ordered), which reach the target
    assert not contradictions(_with_ordered(r, 0, not_delivered=0, not_ordered=1), "syntactic")


def test_the_gate_says_a_value_gate_failed_on_the_figure_over_the_items_ordered():
    r = _with_ordered(complete(), 5, fail_on_it=True)
    out = gate(with_verdict(r), ALL)
    assert out.exit_code == EXIT_FAILED
    # the structure gate (20 items of 0.5, 1 of 0, over 21), and the format gate said to pass below
    # its figure (every structurally accurate value accurate, 20 of 21): a contradiction, said why too
    lines = [ln for ln in out.lines if "over the items ordered" in ln]
    assert len(lines) == 2 and all("syntactic.ordered" in ln for ln in lines)
    assert "47.62 %" in lines[0] and "95.24 %" in lines[1]


def test_the_gate_says_a_value_gate_failed_on_the_figure_without_the_items_not_ordered():
    """A padded delivery (an item not ordered) whose value-weighted structure figure without it
    misses the target, though the figure over the items ordered reaches it: the gate's line says
    which figure failed it."""
    from dqm.facts import Ratio
    from dqm.syntactic.accuracy import PADDED_NOTE

    r = _with_ordered(complete(), 0, not_delivered=0, not_ordered=1)
    s = r.syntactic
    low = Ratio.of("structure_accuracy", "values", 180, 190, 0.995)
    gates = [
        g.model_copy(update={"passed": False, "note": PADDED_NOTE}) if g.name == low.name else g
        for g in s.gates
    ]
    ordered = s.ordered.model_copy(update={"structure_without_unordered": low})
    r = r.model_copy(
        update={"syntactic": s.model_copy(update={"ordered": ordered, "gates": gates, "passed": False})}
    )
    out = gate(with_verdict(r), ALL)
    assert out.exit_code == EXIT_FAILED
    (line,) = [ln for ln in out.lines if "not ordered" in ln and "fails" in ln]
    assert "without the items not ordered, 94.74 %" in line
    assert not any("disagrees" in ln for ln in out.lines)
