"""Finding messages in Korean: a batch with a representative set of problems (malformed JSON, a
schema error, a non-finite coordinate, an unreadable slide, a checksum mismatch, a clinical value
out of range) gives findings whose every message is a msgid, rendered in Korean at output time,
where the run's mask still applies to the identifiers in it."""

from __future__ import annotations

import hashlib
import json
import re
from string import Formatter

import pytest
from PIL import Image

from dqm.findings import Finding
from dqm.i18n import msg, render
from dqm.identifiers import DeidSettings, Masker
from dqm.profile import load_profile
from dqm.runner import RunOptions, run_batch
from tests.helpers import square

HANGUL = re.compile(r"[\uac00-\ud7a3]")
RRN = "900101-1234567"
"""A resident registration number in a file name: masked in every output, Korean included."""
LEAKY = f"annotations/S5 {RRN}.json"


def _doc(**changes: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "slide": {"file": "x.png", "width": 400, "height": 300, "mpp": 0.5},
        "lesions": [{"class": "BCC", "geometry": {"type": "Polygon", "coordinates": [square(100, 100, 80)]}}],
        "clinical": {},
    }
    doc.update(changes)
    return doc


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> list[Finding]:
    root = tmp_path_factory.mktemp("batch")
    (root / "slides").mkdir()
    (root / "annotations").mkdir()
    for sid in ("S1", "S2", "S3", "S5"):
        Image.new("RGB", (400, 300), (230, 170, 200)).save(root / "slides" / f"{sid}.png")
    (root / "slides" / "S4.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 8)  # unreadable
    ring = square(100, 100, 80)
    ring[1] = [float("nan"), 100.0]
    nan = {"class": "BCC", "geometry": {"type": "Polygon", "coordinates": [ring]}}
    (root / "annotations" / "S1.json").write_text(json.dumps(_doc(lesions=[nan])))  # NaN literal
    (root / "annotations" / "S2.json").write_text('{"slide": ')  # malformed JSON
    bad_width = _doc(slide={"file": "x.png", "width": "400", "height": 300, "mpp": 0.5})
    (root / "annotations" / "S3.json").write_text(json.dumps(bad_width))  # a schema error
    (root / "annotations" / "S4.json").write_text(json.dumps(_doc()))
    (root / LEAKY).write_text(json.dumps(_doc()))
    rows = ["slide_id,image_path,annotation_path,institution,diagnosis,age,sex,site"]
    for sid, age, ann in (
        ("S1", 40, "annotations/S1.json"),
        ("S2", 50, "annotations/S2.json"),
        ("S3", 200, "annotations/S3.json"),  # out of range
        ("S4", 60, "annotations/S4.json"),
        ("S5", 70, LEAKY),
    ):
        rows.append(f"{sid},slides/{sid}.png,{ann},Seoul-A,BCC,{age},F,trunk")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    wrong = hashlib.sha256(b"another file").hexdigest()
    (root / "SHA256SUMS").write_text(f"{wrong}  {LEAKY}\n")  # a checksum mismatch
    run = run_batch(root, load_profile(None), RunOptions(workers=1))
    return run.findings


def _one(findings: list[Finding], code: str) -> Finding:
    found = [f for f in findings if f.code == code]
    assert found, f"no {code} among {sorted({f.code for f in findings})}"
    return found[0]


def _english_words(template: str) -> list[str]:
    """The template's literal runs of three or more English words (what must not stay in Korean)."""
    runs = []
    for literal, *_ in Formatter().parse(template):
        runs += [m.group(0) for m in re.finditer(r"[A-Za-z]+(?:[ ,'-]+[A-Za-z]+){2,}", literal)]
    return runs


@pytest.mark.parametrize(
    "code",
    [
        "INVALID_JSON",
        "WRONG_TYPE",
        "NON_FINITE_COORDINATE",
        "SLIDE_UNOPENABLE",
        "CHECKSUM_MISMATCH",
        "CLINICAL_OUT_OF_RANGE",
        "CHECKSUM_UNLISTED",
    ],
)
def test_a_finding_reads_in_korean(findings: list[Finding], code: str) -> None:
    f = _one(findings, code)
    assert f.template is not None, f.message
    ko = f.text("ko")
    assert HANGUL.search(ko), ko
    assert not [run for run in _english_words(f.template) if run in ko], (f.template, ko)
    assert f.text("en") == f.message == render(f.template, f.params, "en")


def test_every_finding_of_the_batch_is_a_msgid(findings: list[Finding]) -> None:
    assert [(f.code, f.message) for f in findings if f.template is None] == []
    assert all(HANGUL.search(f.text("ko")) for f in findings)


def test_masking_applies_to_the_korean_message(findings: list[Finding]) -> None:
    f = _one(findings, "CHECKSUM_MISMATCH")
    assert RRN in f.text("ko")  # the path is a parameter, shown as it is ...
    masker = Masker(DeidSettings(), b"k" * 32)
    masked = masker(f.text("ko"))
    assert RRN not in masked and "[KOREAN_RRN-" in masked and HANGUL.search(masked)  # ... and masked


def test_a_part_named_underscore_is_a_translated_msgid_filled_from_the_other_parameters() -> None:
    m = msg(
        "{_what} in {_where}: {masked} ({length} characters, masked)",
        _what="person name",
        _where="column {name!r}",
        name="note",
        masked="J***",
        length=8,
    )
    assert m == "person name in column 'note': J*** (8 characters, masked)"
    assert m.rendered("ko") == "열 'note'에 사람 이름: J*** (8자, 마스킹됨)"
    own = msg(
        "{_what} in {_where}: {masked} ({length} characters, masked)",
        _what="{a profile's} own",  # a profile's own pattern name: not a msgid, not a template
        _where="the file name",
        masked="x",
        length=1,
    )
    assert own == "{a profile's} own in the file name: x (1 characters, masked)"
    assert own.rendered("ko") == "파일 이름에 {a profile's} own: x (1자, 마스킹됨)"


def test_the_json_parser_s_reason_is_translated_too(findings: list[Finding]) -> None:
    f = _one(findings, "INVALID_JSON")
    assert f.message == "not valid JSON: Expecting value"
    assert f.text("ko") == "올바른 JSON이 아닙니다: 값이 와야 합니다"
