"""Text from the batch cut short anywhere dqm shortens it (a clinical value in a finding, a
crashed check's reason, JUnit's failure message) is cut with :func:`dqm.findings.clip`, which never
keeps part of an identifier: the masker, run when an output is written, knows one only whole, and a
raw slice through ``900101-1234567`` left ``900101-12`` (a birth date) in clear."""

from __future__ import annotations

from pathlib import Path

from dqm.findings import Aspect, Finding, Severity
from dqm.identifiers import DeidSettings, Masker
from dqm.profile import Profile
from dqm.runner import RunOptions, run_batch
from tests.helpers import write_tiny_batch
from validators.engine import crash_finding

RRN = "900101-1234567"
MASK = Masker(DeidSettings(), b"k" * 32)


def _no_part_of_the_rrn(text: str) -> bool:
    masked = MASK(text)
    return not any(RRN[i : i + 5] in masked for i in range(len(RRN) - 4))


def test_a_clinical_value_cut_in_a_finding_keeps_no_part_of_an_identifier(
    tmp_path: Path, profile: Profile
) -> None:
    root = write_tiny_batch(tmp_path / "b")
    manifest = root / "manifest.csv"
    value = "a site noted as " + "x" * 38 + " " + RRN  # the RRN across the 60th character
    manifest.write_text(manifest.read_text().replace(",trunk\n", f",{value}\n", 1))
    run = run_batch(root, profile, RunOptions(workers=1, slides=False))
    quoted = [f.message for f in run.findings if f.location.column == "site"]
    assert quoted and all(_no_part_of_the_rrn(m) for m in quoted), quoted


def test_a_crashed_checks_reason_cut_keeps_no_part_of_an_identifier() -> None:
    for pad in range(385, 400):
        finding = crash_finding("x.y", "S1", ValueError("v" * pad + " " + RRN), None)
        assert _no_part_of_the_rrn(finding.message), pad


def test_junits_failure_message_cut_keeps_no_part_of_an_identifier(
    clean_batch: Path, profile: Profile
) -> None:
    from dqm.audit import build_result
    from reports.junit import render_junit

    run = run_batch(clean_batch, profile, RunOptions(workers=1, slides=False))
    result = build_result(run, ["audit"])
    for pad in range(940, 1000, 7):
        bad = Finding(
            item_id="S1",
            check="format.class_known",
            code="CLASS_UNKNOWN",
            severity=Severity.ERROR,
            aspect=Aspect.FORMAT,
            message="class " + "c " * (pad // 2) + RRN + " is not in the taxonomy",
        )
        failed = result.model_copy(
            update={
                "findings": [bad],
                "syntactic": result.syntactic.model_copy(update={"passed": False}),
            }
        )
        xml = render_junit(failed).decode("utf-8")
        assert _no_part_of_the_rrn(xml), pad


def test_what_a_reader_quotes_cut_keeps_no_part_of_an_identifier() -> None:
    """A repeated JSON key and an XML attribute that is not a number, each quoted cut (80 and 40
    characters), with an RRN across the cut."""
    from dqm.readers import parse_annotation

    key = "k" * 70 + " " + RRN
    native = f'{{"format": "dqm.annotation/1", "lesions": [], "{key}": 1, "{key}": 2}}'
    value = "v" * 30 + " " + RRN
    asap = (
        '<ASAP_Annotations><Annotations><Annotation Name="a" Type="Polygon" PartOfGroup="BCC">'
        f'<Coordinates><Coordinate Order="0" X="{value}" Y="1"/><Coordinate Order="1" X="5" Y="1"/>'
        '<Coordinate Order="2" X="5" Y="5"/></Coordinates></Annotation></Annotations></ASAP_Annotations>'
    )
    for data, rel, code in ((native, "a.json", "DUPLICATE_KEY"), (asap, "a.xml", None)):
        (ann,) = parse_annotation(data.encode(), rel)
        quoted = [i.message for i in ann.issues if code is None or i.code == code]
        assert any("[cut:" in m for m in quoted), quoted
        assert all(_no_part_of_the_rrn(m) for m in quoted), quoted
