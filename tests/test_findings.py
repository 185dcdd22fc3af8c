"""Findings echo values from the batch, so what they echo is bounded."""

from __future__ import annotations

import pytest

from dqm.findings import (
    MAX_MESSAGE_CHARS,
    MAX_NAME_CHARS,
    Aspect,
    Finding,
    Location,
    Severity,
    clip,
    cut_label,
)
from dqm.identifiers import DeidSettings, Masker


def test_long_values_are_cut_with_a_note() -> None:
    huge = "x" * 5_000_000
    f = Finding(
        item_id=huge,
        check="format.class_known",
        code="CLASS_UNKNOWN",
        severity=Severity.ERROR,
        aspect=Aspect.FORMAT,
        message=f"class {huge!r} is not in the taxonomy",
        location=Location(file=huge, pointer="/lesions/0/" + huge, column=huge),
    )
    assert len(f.message) < MAX_MESSAGE_CHARS + 40 and f.message.endswith("[cut: 5,000,031 characters]")
    for text in (f.item_id, f.location.file, f.location.pointer, f.location.column):
        assert text is not None and len(text) < MAX_NAME_CHARS + 40 and "[cut: " in text
    assert len(f.model_dump_json()) < 5 * (MAX_MESSAGE_CHARS + MAX_NAME_CHARS)


def test_short_values_are_kept_as_they_are() -> None:
    assert clip("S00001", MAX_NAME_CHARS) == "S00001"
    text = "a" * MAX_NAME_CHARS
    assert clip(text, MAX_NAME_CHARS) == text


@pytest.mark.parametrize(
    ("before", "identifier", "secret"),
    [
        ("class x x x ", "900101-1234567", "900101-1234567"),
        ("annotations/dir/S_", "900101-1234567", "900101-1234567"),
        ("c" * 300 + "_", "900101-1234567", "900101-1234567"),
        ("call ", "010-2345-6789", "010-2345-6789"),
        ("mail ", "kim.minsu@hospital.example", "kim.minsu@hospital.example"),
        ("record MRN: ", "87654321", "87654321"),
        ("id ", "900101 - 1234567", "9001011234567"),
    ],
)
def test_a_cut_never_keeps_part_of_an_identifier(before: str, identifier: str, secret: str) -> None:
    """Outputs are masked as they are written, and the masker knows an identifier only whole: a cut
    through one (``900101-12… [cut``) would show its first digits, a birth date."""
    masker = Masker(DeidSettings(), b"k" * 32)
    text = before + identifier + " and more text after it"
    for limit in range(len(before) - 1, len(before) + len(identifier) + 2):
        shown = masker(clip(text, limit))
        kept = shown.replace(" ", "").replace("-", "")
        pieces = {secret.replace("-", "")[i : i + 4] for i in range(len(secret.replace("-", "")) - 3)}
        assert not [p for p in pieces if p in kept.split("[")[0]], (limit, shown)


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("Patient name: Hong Gildong", "Hong"),
        ("PATIENT NAME: HONG^GILDONG", "HONG"),
        ("patient's name = Hong, Gildong", "Hong"),
        ("Pt. name: Kim Min Su", "Kim"),
        ("Patient name:\\tHong Gildong", "Hong"),  # escaped, as a name quoted with repr() is
        ("성명: 남궁민수", "남궁"),
        ("환자명 홍길동", "홍길"),
        ("DOB: 1990/01/21", "1990/01"),
        ("born on 21.01.1990", "21.01"),
    ],
)
def test_a_cut_never_keeps_part_of_a_name_or_a_date(text: str, part: str) -> None:
    """A name or date the masker knows only whole: a cut between given and family name once kept
    ``Patient name: Hong``, and one after a date lost its last digits (``1990/01/``)."""
    masker = Masker(DeidSettings(), b"k" * 32)
    whole = "x " * 20 + text + " and more"
    assert part not in masker(whole)
    for limit in range(40, len(whole)):
        shown = masker(clip(whole, limit))
        assert part not in shown, (limit, shown)


def test_a_cut_moves_back_only_out_of_an_identifier() -> None:
    """The word rule is applied again only where it left the cut inside an identifier: words and
    numbers that repeat are not left out one after another back to the start of the text."""
    for text in ("x1 " * 100_000, "a@b.co " * 100_000, "DOB: 1990/01/21 " * 10_000):
        head = clip(text, MAX_MESSAGE_CHARS).split("… [cut:")[0]
        assert MAX_MESSAGE_CHARS - 20 < len(head) <= MAX_MESSAGE_CHARS, text[:20]


def test_a_chart_label_of_one_long_word_is_not_cut_to_an_ellipsis() -> None:
    # cut_head leaves out a word the cut falls inside: a label of one long word became "…" alone
    assert cut_label("dermatofibrosarcoma_protuberans_x", 30) == "dermatofibrosarcoma_protuberans_x"
    assert cut_label("basal cell carcinoma, nodular and infiltrative", 30) == "basal cell carcinoma, nodular…"
    assert cut_label("BCC", 30) == "BCC"
