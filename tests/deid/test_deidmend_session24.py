"""Task deidmend (session 24): de-identification's leftovers of session 23.

A surname that is a column header's word too (``Sample``, ``Date``, ``Organ``, ``Stage``) right
after a tab or two spaces is a name where its given name follows it in the same field and the line
ends there, or a DICOM ``^`` parts them (``Patient Name<TAB>Sample Joe``); a header row
(``patient name<TAB>Age<TAB>Sex``, ``Patient Name<TAB>Slide Label``) still holds none. A numeric
character reference is read as the HTML standard reads it: ``&#01;`` as U+0001 (as ``\\u0001`` and
the raw character are, which nobody sees: read past since task deidf), ``&#150;`` as Windows-1252's
en dash, a surrogate as U+FFFD."""

from __future__ import annotations

import pytest

from dqm.identifiers import unescaped
from tests.deid.deid_helpers import RRN, assert_no_name, default_masker, kinds_found


@pytest.mark.parametrize(
    ("text", "surname"),
    [
        ("Patient Name\tSample Joe", "Sample"),
        ("Patient Name\tDATE ANIL", "DATE"),
        ("Patient Name\tOrgan, Bryan", "Organ"),
        ("Patient Name\tStage John Paul\nAge\t45", "Stage"),
        ("PATIENT NAME  STAGE JOHN", "STAGE"),
        ("Patient name:  Age Kim", "Age"),
        ("Patient Name\tGrade Smith  \r\nSex\tM", "Grade"),
        ("Patient Name\tSample^Joe\t45\tM", "Sample"),
        ("이름\tSample^Joe", "Sample"),
    ],
)
def test_a_header_word_surname_after_a_tab_is_a_name_where_its_given_name_ends_the_field(
    text: str, surname: str
) -> None:
    # failed on 1706a01: read as a header row, neither flagged nor masked
    assert kinds_found(text) == ["person_name"]
    masked = default_masker()(text)
    assert surname not in masked and "[PERSON_NAME-" in masked


@pytest.mark.parametrize(
    "header",
    [
        "Patient Name\tSlide Label",
        "Patient Name\tHospital Name",
        "Patient Name\tDate Of Birth",
        "PATIENT NAME\tDATE OF BIRTH",
        "Patient Name\tSample ID",
        "Patient Name\tSample Type\tAge",
        "Patient Name\tSample Source\tAge",
        "Patient Name\tStage Group",
        "PATIENT NAME  ID CARD",
        "patient name\tAge\tSex\nHong Gildong\t45\tM",
    ],
)
def test_a_header_row_whose_next_column_is_a_phrase_stays_no_name(header: str) -> None:
    assert_no_name(header)


@pytest.mark.parametrize("dash", ["&#150;", "&#x96;", "&#0150;", "&amp;#150;"])
def test_a_windows_1252_reference_reads_as_the_character_a_browser_shows(dash: str) -> None:
    text = f"RRN {RRN.replace('-', dash)} seen"
    # failed on 1706a01: &#150; read as the control U+0096, where a browser shows an en dash
    assert kinds_found(text) == ["korean_rrn"]
    masked = default_masker()(text)
    assert "1234567" not in masked and masked.endswith(" seen")


@pytest.mark.parametrize(
    "control",
    ["&#01;", "&#1", "&#x01;", "&#X1;", "&amp;#01;", "\\u0001", "\\x01", "\x01", "&#127;", "&#x8D;"],
)
def test_a_control_reads_as_itself_however_written(control: str) -> None:
    """``&#01;`` is U+0001 as the HTML standard reads it (``html.unescape`` drops it), the character
    ``\\u0001`` and the raw control are: one reading, which nobody sees, so ``find`` and the masker
    read past it (task deidf, session 24: 9895fdd let it hide the number and the name)."""
    for text, secret in (
        (f"RRN 900101{control}-1234567", "1234567"),
        (f"Patient name: Hong{control}Gildong", "Gildong"),
    ):
        assert len(kinds_found(text)) == 1
        masked = default_masker()(text)
        assert secret not in masked and control not in masked


def test_a_surrogates_reference_reads_as_the_replacement_character() -> None:
    # failed on 1706a01: a lone surrogate, no text a writer could encode
    assert unescaped("a&#xD800;b&#55296;c")[0] == "a\ufffdb\ufffdc"
    # the controls nobody sees are read past (deidf, session 24)
    assert unescaped("a&#01;b&#150;c&#x81;d")[0] == "ab\u2013cd"
