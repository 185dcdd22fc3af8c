"""Lots: the batch split by a field, each lot's figures, plan at its supplier's severity and gate."""

from __future__ import annotations

from pathlib import Path

import pytest

from dqm.lots.compute import LotDecision, lot_names, lots_result
from dqm.profile import load_profile
from dqm.runner import Run, RunOptions, run_batch
from dqm.semantic.switching import SchemeState
from dqm.syntactic.accuracy import syntactic_result
from tests.lots.common import two_lot_batch


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = two_lot_batch(tmp_path_factory.mktemp("lots") / "batch")
    return run_batch(root, load_profile(None), RunOptions(workers=1))


def test_each_lot_is_judged_on_its_own(tiny_run: Run) -> None:
    lots = {lot.name: lot for lot in lots_result(tiny_run, "institution").lots}
    busan, seoul = lots["Busan-B"], lots["Seoul-A"]
    assert (busan.items, seoul.items) == (1, 2)
    # Busan-B: S1's annotation and slide, and the manifest its row is in; all accurate
    assert (busan.files.numerator, busan.files.denominator) == (3, 3)
    assert busan.syntactic_passed and busan.passed and busan.failed == []
    # Seoul-A: S2 (invalid JSON) and S3 (unknown key, age 200 in the manifest) fail
    assert (seoul.files.numerator, seoul.files.denominator) == (2, 5)
    assert (seoul.structure.numerator, seoul.structure.denominator) == (22, 24)
    assert not seoul.passed and seoul.failed == ["syntactic"] and seoul.evaluated == ["syntactic"]
    # the lots' value slots add up to the batch's
    batch = syntactic_result(tiny_run)
    assert busan.structure.denominator + seoul.structure.denominator == batch.structure.values.denominator


def test_the_plan_follows_the_supplier_s_severity(tiny_run: Run) -> None:
    states = {
        "Busan-B": SchemeState("tightened"),
        "Seoul-A": SchemeState("discontinued", tightened_rejected=5),
    }
    lots = {lot.name: lot for lot in lots_result(tiny_run, "institution", "II", 1.0, states).lots}
    assert lots["Busan-B"].scheme == "tightened" and lots["Busan-B"].plan is not None
    assert lots["Busan-B"].plan.severity == "tightened" and lots["Busan-B"].switching_score is None
    assert lots["Seoul-A"].plan is None and "discontinued" in lots["Seoul-A"].note


def test_a_review_decision_joins_the_lot_s_gate(tiny_run: Run) -> None:
    decisions = {"Busan-B": LotDecision(accepted=False, nonconforming=1)}
    lots = {lot.name: lot for lot in lots_result(tiny_run, "institution", decisions=decisions).lots}
    busan = lots["Busan-B"]
    assert busan.decision == "reject" and busan.nonconforming == 1
    assert busan.evaluated == ["syntactic", "semantic"] and busan.failed == ["semantic"] and not busan.passed
    assert lots["Seoul-A"].decision == "pending"


def test_lots_of_a_synthetic_batch_add_up(defect_batch: Path) -> None:
    run = run_batch(defect_batch, load_profile(None), RunOptions(workers=1))
    result = lots_result(run, "institution")
    batch = syntactic_result(run)
    assert sum(lot.items for lot in result.lots) == len(run.outcomes)
    assert [lot.name for lot in result.lots] == sorted(lot_names(run, "institution"))
    assert sum(lot.structure.denominator for lot in result.lots) == batch.structure.values.denominator
    # every lot counts the manifest its rows are in; files only discovery knows (an orphan
    # annotation, a file named twice) are the batch's alone
    batch_only = {i.file for i in run.discovery.issues if i.file and i.code != "FILE_NOT_READ"}
    files = sum(lot.files.denominator for lot in result.lots)
    shared = len(result.lots) - 1
    assert batch.files_total + shared - len(batch_only) <= files <= batch.files_total + shared
    assert sum(lot.errors for lot in result.lots) <= batch.errors


def test_a_waived_finding_does_not_fail_its_lot(tiny_run: Run) -> None:
    """Lots are decided with the waivers, as the whole batch is: a waived finding makes no file or
    value of its lot inaccurate; the lot's error count stays as measured."""
    seoul_items = {o.summary.slide_id for o in tiny_run.outcomes if o.summary.institution == "Seoul-A"}
    waived = [f for f in tiny_run.findings if f.item_id in seoul_items and f.severity.value == "error"]
    assert {f.code for f in waived} == {"INVALID_JSON", "UNKNOWN_KEY", "CLINICAL_OUT_OF_RANGE"}
    before = {lot.name: lot for lot in lots_result(tiny_run, "institution").lots}
    after = {lot.name: lot for lot in lots_result(tiny_run, "institution", waived=waived).lots}
    seoul, was = after["Seoul-A"], before["Seoul-A"]
    assert (was.files.numerator, seoul.files.numerator, seoul.files.denominator) == (2, 5, 5)
    assert (was.structure.numerator, seoul.structure.numerator) == (22, 23)  # UNKNOWN_KEY's value
    assert seoul.format.numerator == seoul.format.denominator  # the age of 200 in the manifest
    # S2 cannot be read, so its one structure value stays unknown, waiver or not (as for the batch)
    assert seoul.structure.denominator == 24 and not seoul.syntactic_passed
    assert seoul.errors == was.errors  # listed, only no longer counted against the lot
    assert after["Busan-B"] == before["Busan-B"]  # the other lot is untouched


class CountedList(list):  # type: ignore[type-arg]
    """A list that counts the passes over it."""

    passes = 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        CountedList.passes += 1
        return super().__iter__()


def test_every_finding_waived_is_keyed_once_and_the_batch_is_read_once(
    defect_batch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every finding waived, in lots: the waived findings were serialised again for every lot, and
    every lot went over the whole clinical table and every batch finding (lots x findings: 160 s
    for 500 lots of 4,000 items with 12,000 findings all waived). Now once for the batch; the same
    lots."""
    from dqm.findings import Finding

    run = run_batch(defect_batch, load_profile(None), RunOptions(workers=1))
    waived = [f for f in run.findings if f.aspect.value != "internal"]
    expected = lots_result(run, "institution", waived=waived)
    assert len(expected.lots) >= 3 and len(waived) > 20
    dumps = 0
    real = Finding.model_dump_json

    def counted(self: Finding, *args: object, **kwargs: object) -> str:
        nonlocal dumps
        dumps += 1
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Finding, "model_dump_json", counted)
    assert run.table is not None
    monkeypatch.setattr(run.table, "sources", CountedList(run.table.sources))
    monkeypatch.setattr(run, "batch_findings", CountedList(run.batch_findings))
    CountedList.passes = 0
    got = lots_result(run, "institution", waived=waived)
    assert dumps <= len(waived) + len(run.findings)
    assert CountedList.passes <= 2 + 2 * len(got.lots)  # once each to find the rows, then a lot's own
    assert got == expected
