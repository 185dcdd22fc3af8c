"""Text from the batch cut short anywhere dqm shortens it (a clinical value in a finding, a
crashed check's reason, JUnit's failure message) is cut with :func:`dqm.findings.clip`, which never
keeps part of an identifier: the masker, run when an output is written, knows one only whole, and a
raw slice through ``900101-1234567`` left ``900101-12`` (a birth date) in clear."""

from __future__ import annotations

from pathlib import Path

import pytest

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
    (ann,) = parse_annotation(native.encode(), "a.json")  # a key no format defines: by its position
    quoted = [i.message for i in ann.issues if i.code == "DUPLICATE_KEY"]
    assert quoted == ["key #1 appears more than once in one object (the last value is read)"]
    (ann,) = parse_annotation(asap.encode(), "a.xml")
    quoted = [i.message for i in ann.issues]
    assert any("[cut:" in m for m in quoted), quoted
    assert all(_no_part_of_the_rrn(m) for m in quoted), quoted


GIVEN, FAMILY = "Hong", "Gildong"
"""A person's name: the masker knows ``Patient name: Hong Gildong`` only with both names, so a cut
between them once left ``Patient name: Hong`` in clear."""


def _names_cut_at(limit: int) -> list[str]:
    """Texts that hold a name after a keyword, each a cut at ``limit`` falls inside of: inside the
    family name, just before it, after the separator (a DICOM ``^``, a comma)."""
    texts = []
    for keyword, name in (
        ("Patient name: ", f"{GIVEN} {FAMILY}"),
        ("PATIENT NAME: ", f"{GIVEN.upper()}^{FAMILY.upper()}"),
        ("patient's name = ", f"{GIVEN}, {FAMILY}"),
    ):
        for into in (len(GIVEN) + 1, len(GIVEN) + 3, len(GIVEN) + 2):
            pad = "c" * (limit - into - len(keyword) - 1)
            texts.append(f"{pad} {keyword}{name} and more")
    return texts


def batch_with_cuts(root: Path, classes: list[str], keyword: str, first: str, second: str) -> Path:
    """The tiny batch with ``classes`` in S1's annotation, and S3's moved to a path of more than
    500 characters that ends in ``keyword``, ``first`` and ``second``, the 500th character two into
    ``second``: a cut there would keep ``first``."""
    import json

    from dqm.findings import MAX_NAME_CHARS

    write_tiny_batch(root)
    doc = json.loads((root / "annotations" / "S1.json").read_text())
    lesion = doc["lesions"][0]
    doc["lesions"] = [{**lesion, "class": c} for c in classes]
    (root / "annotations" / "S1.json").write_text(json.dumps(doc))
    into = len(first) + 3
    folder = "annotations/" + "d" * 240 + "/" + "e" * (MAX_NAME_CHARS - 12 - 241 - 1 - len(keyword) - into)
    rel = f"{folder}/{keyword}{first} {second}.json"
    assert rel.index(second) < MAX_NAME_CHARS < rel.index(second) + len(second)
    (root / folder).mkdir(parents=True)
    (root / "annotations" / "S3.json").rename(root / rel)
    manifest = root / "manifest.csv"
    manifest.write_text(manifest.read_text().replace("annotations/S3.json", rel))
    return root


def audit_texts(root: Path, out: Path, *args: str) -> list[tuple[str, str]]:
    """Every file ``dqm audit`` writes (the cache too), the report's explorer data and what it
    prints, as text; the audit fails the tiny batch's gates and cuts some text."""
    from typer.testing import CliRunner

    from dqm.cli import app
    from reports.html import unpack_island

    res = CliRunner().invoke(
        app, ["audit", str(root), "--out", str(out), *args], env={"DQM_MASK_KEY": "k" * 32}
    )
    assert res.exit_code == 1, res.output
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {
        "results.json",
        "report.html",
        "junit.xml",
        "summary.md",
        "records.sqlite",
    }
    assert "[cut:" in (out / "results.json").read_text()
    html = (out / "report.html").read_text("utf-8")
    island = "\n".join(unpack_island(html.split('id="dqm-data">')[1].split("</script>")[0])["strings"])
    texts = [(p.name, p.read_bytes().decode("utf-8", "replace")) for p in files]
    return [*texts, ("report data", island), ("stdout", res.output)]


def test_a_name_cut_between_given_and_family_name_reaches_no_output(tmp_path: Path) -> None:
    """Through the real path: class names and an annotation's path that hold a name, cut where dqm
    cuts them (a class name at 500 characters in the item's summary and 80 in CLASS_UNMAPPED, a
    file path at 500), audited with every output and the cache; no output holds the given name."""
    from dqm.findings import MAX_NAME_CHARS

    classes = _names_cut_at(MAX_NAME_CHARS) + _names_cut_at(80)
    root = batch_with_cuts(tmp_path / "b", classes, "Patient name: ", GIVEN, FAMILY)
    texts = audit_texts(root, tmp_path / "out", "--workers", "1")
    assert "[PERSON_NAME-" in dict(texts)["results.json"]  # the masker saw names
    leaks = [(name, given) for name, text in texts for given in (GIVEN, GIVEN.upper()) if given in text]
    assert leaks == [], leaks


REF_HEAD, REF_TAIL = "QXZ", "482913"
"""A case reference only a profile's own pattern knows (``Case ref: QXZ 482913``): a cut between
its two words once left ``QXZ`` in clear, the built-in patterns being all that clip consulted."""
CASE_REF_PATTERN = (
    "    case_ref:\n"
    r"      regex: '(?i:case\s*ref)\s*:\s*(?P<id>[A-Z]{3} \d{6})'" + "\n"
    "      what: case reference\n"
)


def case_ref_profile(folder: Path) -> Path:
    """The built-in profile with the ``case_ref`` pattern added to its ``deid.patterns``."""
    from importlib import resources

    text = resources.files("dqm.profiles").joinpath("dermatopathology.yaml").read_text("utf-8")
    assert "deid:\n  enabled: true\n  patterns:\n" in text
    path = folder / "case-ref.yaml"
    path.write_text(text.replace("  patterns:\n", "  patterns:\n" + CASE_REF_PATTERN, 1), "utf-8")
    return path


def _refs_cut_at(limit: int) -> list[str]:
    """Texts that hold a case reference a cut at ``limit`` falls inside of: just after its first
    word, just before its second, inside the second."""
    keyword = "Case ref: "
    texts = []
    for into in (len(REF_HEAD), len(REF_HEAD) + 1, len(REF_HEAD) + 3):
        pad = "c" * (limit - into - len(keyword) - 1)
        texts.append(f"{pad} {keyword}{REF_HEAD} {REF_TAIL} and more")
    return texts


def case_ref_batch(root: Path) -> Path:
    """The tiny batch with class names holding a case reference that dqm cuts between its words (at
    500 characters in the item's summary and 80 in CLASS_UNMAPPED), and S3's annotation at a path
    of more than 500 characters cut there too."""
    from dqm.findings import MAX_NAME_CHARS

    classes = _refs_cut_at(MAX_NAME_CHARS) + _refs_cut_at(80)
    return batch_with_cuts(root, classes, "Case ref: ", REF_HEAD, REF_TAIL)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_profiles_own_identifier_cut_between_its_words_reaches_no_output(
    tmp_path: Path, workers: str
) -> None:
    """A profile's two-word pattern protects every cut as the built-in ones do, in this process
    (``--workers 1``) and in a pool's workers; an audit with another profile after it, in the same
    process, cuts as that profile's patterns say (``QXZ`` is no identifier to it, and kept)."""
    root = case_ref_batch(tmp_path / "b")
    profile = case_ref_profile(tmp_path)
    texts = audit_texts(root, tmp_path / "out", "--profile", str(profile), "--workers", workers)
    assert "[CASE_REF-" in dict(texts)["results.json"]  # the masker saw whole references
    assert [name for name, text in texts if REF_HEAD in text] == []
    after = audit_texts(root, tmp_path / "built-in", "--workers", workers)
    assert REF_HEAD in dict(after)["results.json"]


def test_a_cut_respects_the_patterns_of_the_profile_in_use_and_only_its(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The run's profile's patterns replace the previous run's, never add to them; the built-in
    ones stay, also where a profile turns one off."""
    from dqm import identifiers
    from dqm.findings import cut_head
    from dqm.identifiers import use_profile_patterns

    monkeypatch.setattr(identifiers, "_CUT_WITH", {})  # this process's setting, as it was, after the test
    ref = _refs_cut_at(80)[2]
    name = _names_cut_at(80)[0]
    assert REF_HEAD in cut_head(ref, 80)  # the built-in patterns know no case reference
    case_ref = DeidSettings.model_validate(
        {"patterns": {"case_ref": {"regex": r"(?i:case\s*ref)\s*:\s*(?P<id>[A-Z]{3} \d{6})"}}}
    )
    use_profile_patterns(case_ref)
    assert cut_head(ref, 80).endswith("Case ref:")
    use_profile_patterns(DeidSettings.model_validate({"patterns": {"person_name": {"enabled": False}}}))
    assert REF_HEAD in cut_head(ref, 80)
    assert cut_head(name, 80).endswith("Patient name:")


def test_a_cut_backs_over_a_long_run_of_digits_and_spaces_as_char_by_char() -> None:
    """The run of digits, spaces and dashes a cut would end with is passed by blocks
    (:func:`dqm.identifiers.run_start`; a 10 MB run took 3 s char by char): the same end as the
    char-by-char walk, superscripts, ideographic spaces and block borders included."""
    import random

    from dqm.findings import _WORD_CHAR, _word_kept

    def walked(text: str, cut: int) -> int:
        end = cut
        while end and (text[end - 1].isdigit() or text[end - 1].isspace() or text[end - 1] in ".-–"):
            end -= 1
        return end

    rng = random.Random(7)
    for _ in range(300):
        n = rng.randint(0, 12_288)
        text = "".join(
            rng.choice("1 ") if rng.random() < 0.995 else rng.choice("a²\u3000–.x") for _ in range(n)
        )
        cut = rng.randint(0, n)
        if _WORD_CHAR.match(text, cut):
            continue  # a cut inside a word backs over the word first: not what this compares
        assert _word_kept(text, cut) == walked(text, cut)
    run = "x" + "²" + "1" * (2 * 4096 + 5)
    assert _word_kept(run, len(run)) == 1  # the superscript is a digit to str.isdigit, not to \d
