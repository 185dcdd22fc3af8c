"""Task deidf (session 24): what deidmend's review found.

A header-word surname's given names are a name wherever the value is written (alone, quoted in
results.json, ``repr``'d in a report, cut with a ``…``), not only where a line's end follows them;
a header row's phrase whose second word names no one (``Date Collected``, ``Slide Barcode``) or
whose words go on to a header's word (``Sample Collection Date``) stays no name. A character
nobody sees (a control, a format character, a zero-width one, a Hangul filler; raw, escaped or as
a reference) inside an identifier or its keyword no longer hides it from :func:`find` or the masker."""

from __future__ import annotations

import csv
import json
import unicodedata
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.findings import clip, cut_label
from dqm.identifiers import _INVISIBLE, _plain, unescaped
from tests.deid.deid_helpers import RRN, assert_no_name, default_masker, kinds_found

NAMED = "Patient Name\tSample Joe"


@pytest.mark.parametrize(
    "written",
    [
        lambda v: v,
        lambda v: json.dumps({"t": v}),
        lambda v: json.dumps({"t": v}, indent=2),
        lambda v: repr(v),
        lambda v: f"<td>{v}</td>",
        lambda v: f"annotation text '{v}' holds a person name",
        lambda v: clip(v + "\n" + "x" * 3000, 23),
        lambda v: cut_label(v + "\nAge\t45", 24),
    ],
    ids=["alone", "json", "json-indented", "repr", "html", "quoted", "clip", "cut_label"],
)
@pytest.mark.parametrize("value", [NAMED, "Patient Name\tSample&nbsp;Joe", "Patient name:  Age Kim"])
def test_a_header_word_surname_is_masked_in_every_context_it_is_written(written, value: str) -> None:
    # failed on 9895fdd: flagged alone, left in clear where a quote, a < or a … followed the name
    assert kinds_found(value) == ["person_name"]
    masked = default_masker()(written(value))
    assert "Joe" not in masked and "Kim" not in masked


def test_an_audit_prints_a_header_word_surname_nowhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dqm.cli import app
    from dqm.synth import build_batch

    monkeypatch.setenv("DQM_MASK_KEY", "a test key of at least 16 characters")
    batch = tmp_path / "batch"
    build_batch(batch, 2, seed=5, defect_rate=0.0, max_size=128)
    manifest = batch / "manifest.csv"
    rows = list(csv.DictReader(manifest.read_text().splitlines()))
    rows[0]["diagnosis"] = NAMED
    with manifest.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["audit", str(batch), "--out", str(out / "a"), "--workers", "1"])
    assert res.exit_code in (0, 1), res.output
    res = CliRunner().invoke(
        app,
        ["report", str(out / "a" / "results.json"), "-o", str(out / "r.html"), "--junit", str(out / "j.xml")],
    )
    assert res.exit_code == 0, res.output
    results = (out / "a" / "results.json").read_text()
    assert "[PERSON_NAME-" in results  # the value was flagged and its text masked where quoted
    for path in [p for p in out.rglob("*") if p.is_file()]:
        text = path.read_text(errors="replace")
        # failed on 9895fdd: results.json, the report and junit.xml held Patient Name\tSample Joe
        assert "Sample Joe" not in text and "Sample\\tJoe" not in text, path


@pytest.mark.parametrize(
    "header",
    [
        "Patient Name\tDate Collected",
        "Patient Name\tSlide Barcode",
        "Patient Name\tAge Years",
        "Patient name:  Date Signed",
        "Patient Name\tSample Collection Date",
        "Patient Name\tSample Collection Date\n",
        "PATIENT NAME\tDATE COLLECTED",
        "Patient Name\tSample Descriptor\tAge",
    ],
)
def test_a_header_rows_phrase_is_no_name(header: str) -> None:
    # failed on 9895fdd (all but the last): its second word read as a given name ending the line
    assert_no_name(header)


def test_a_header_word_surname_before_more_columns_is_masked() -> None:
    # 9895fdd traded it as a header row, left in clear
    text = "Patient Name\tSample Joe\t45\tM"
    assert kinds_found(text) == ["person_name"]
    assert "Joe" not in default_masker()(text)


HIDDEN = [
    "\x01", "\x7f", "\x9b", "\u00ad", "\u034f", "\u061c", "\u115f", "\u180e", "\u200b", "\u200d",
    "\u200f", "\u202e", "\u2060", "\u2066", "\u2800", "\u3164", "\ufe0f", "\ufeff", "\uffa0",
    "\ufff9", "\U000e0001", "\U000e0041", "\U000e0100",
    "\\u200b", "\\\\u200b", "&#8203;", "&#x200B;", "&#01;", "&amp;#01;", "\\x01", "&shy;",
    "&ZeroWidthSpace;", "&NoBreak;", "&zwj;", "&zwnj;", "&lrm;", "&rlm;",
]  # fmt: skip


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize(
    ("template", "kind", "secret"),  # a keyword's character is kept, the rest masked
    [
        ("RRN 900101{}-1234567 ok", "korean_rrn", "1234567"),
        ("RRN 9001{}01-1234567 ok", "korean_rrn", "1234567"),
        ("MRN 1234{}5678 ok", "hospital_record_number", "5678"),
        ("M{}RN 12345678 ok", "hospital_record_number", "5678"),
        ("pat{}ient name: Hong Gildong ok", "person_name", "Gildong"),
        ("Patient name: Hong{}Gildong ok", "person_name", "Gildong"),
        ("Patient name: Gil{}dong Hong ok", "person_name", "Hong"),
        ("성{}명: 홍길동 ok", "person_name", "길동"),
        ("성명: 홍{}길동 ok", "person_name", "길동"),
    ],
)
def test_an_invisible_character_hides_no_identifier(
    hidden: str, template: str, kind: str, secret: str
) -> None:
    # failed on 9895fdd: the character parted the identifier or its keyword, neither found nor masked
    text = template.format(hidden)
    assert kinds_found(text) == [kind]
    masked = default_masker()(text)
    assert secret not in masked and masked.endswith(" ok")
    if template.index("{}") > template.index(" "):  # inside the identifier: the masked span covers it
        assert hidden not in masked
    assert _plain(text) == unescaped(text)[0]


@pytest.mark.parametrize("kept", ["\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "\x85"])
def test_gaps_and_line_ends_are_kept(kept: str) -> None:
    text = f"a{kept}b"
    assert _plain(text) == text and unescaped(text) == (text, None)


def test_every_format_character_is_read_as_none() -> None:
    missing = [
        hex(c)
        for c in range(0x110000)
        if unicodedata.category(chr(c)) == "Cf" and not _INVISIBLE.match(chr(c))
    ]
    assert missing == []


def test_the_masked_span_maps_back_over_the_invisible_characters() -> None:
    text = "x RRN 9001\u200b\u200b01&shy;-12345\\u200b67 y"
    read, where = unescaped(text)
    assert read == f"x RRN {RRN} y" and where is not None and len(where) == len(read) + 1
    masked = default_masker()(text)
    assert masked.startswith("x RRN [KOREAN_RRN-") and masked.endswith("] y") and "\u200b" not in masked
    assert "Hong Gildong" in _plain("Hong\u200bGildong")
