"""Session 30's deid30f, the review of deid14 and deidko6: two places' words a space parts started no name
(``Patient Name: Ward Bay`` in clear), a Korean name list that a masker's window cut left the names after the cut
in clear, a Korean list ended only at ``,;()[]`` or a line's end (``홍길동, 김지은 외 2명`` showed ``김지은``), and
a tab after a record's number read as prose."""

from __future__ import annotations

import pytest

from tests.deid.deid_helpers import default_masker, kinds_found

NAMES = ["김지은", "이철수", "박민수", "최영희"]


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Patient Name: Ward Block, Mary", ["Ward", "Block", "Mary"]),
        ("Patient Name: Ward Bay", ["Ward", "Bay"]),
        ("Patient Name: Bay Ward", ["Bay", "Ward"]),
        ("Patient Name: Wing Block", ["Wing", "Block"]),
        ("Patient Name: Suite Level", ["Suite", "Level"]),
    ],
)
def test_two_place_words_a_space_parts_are_a_name(text: str, names: list[str]) -> None:
    assert kinds_found(text) == ["person_name"]
    masked = default_masker()(text)
    assert not [name for name in names if name in masked]


@pytest.mark.parametrize(
    "header",
    [
        "Patient Name|Ward|Bed",
        "Patient Name\tWard\tBed",
        "Patient Name,Ward,Bed,45",
        "Patient Name;Ward;Bed",
        '"Patient Name","Ward","Bed"',
        "| Patient Name | Ward | Bed |",
    ],
)
def test_two_place_columns_start_no_name(header: str) -> None:
    assert kinds_found(header) == []
    assert default_masker()(header) == header


@pytest.mark.parametrize("pad", range(0, 4200, 97))
def test_a_long_korean_name_list_a_window_cuts_is_masked_whole(pad: int) -> None:
    text = "x " * (pad // 2) + "성명: 홍길동, " + ", ".join(NAMES[i % 4] for i in range(200)) + "\n"
    masked = default_masker()(text)
    assert not [name for name in NAMES if name in masked]
    assert masked.startswith("x " * (pad // 2) + "성명: [PERSON_NAME-")


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("성명: 홍길동, 김지은.", "."),
        ("성명: 홍길동, 김지은 등", " 등"),
        ("성명: 홍길동, 김지은 외 2명", " 외 2명"),
        ("성명: 홍길동, 김지은\t45", "\t45"),
        ("성명: 홍길동, 김지은|45", "|45"),
        ("성명: 홍길동, 김지은/45", "/45"),
        ("환자명: 홍길동、김지은.", "."),
    ],
)
def test_a_korean_list_ends_at_a_dot_a_cell_or_a_spaced_deung(text: str, kept: str) -> None:
    assert kinds_found(text) == ["person_name"]
    masked = default_masker()(text)
    assert "홍길동" not in masked and "김지은" not in masked
    assert masked.endswith("]" + kept)


@pytest.mark.parametrize(
    "text",
    [
        "성명: 홍길동, 가능한 경우",
        "성명: 홍길동, 나이 45",
        "성명: 홍길동, 가능한 등의 경우",
        "성명: 홍길동, 가능한 외래",
    ],
)
def test_prose_after_a_korean_name_is_no_list(text: str) -> None:
    masked = default_masker()(text)
    assert "홍길동" not in masked
    assert text[text.index(",") :] in masked


@pytest.mark.parametrize(
    "text", ["Medical Record, 1234567\tslide_07.svs", "medical record, 12345678\tnot reviewed"]
)
def test_a_tab_after_a_record_number_ends_its_cell(text: str) -> None:
    assert kinds_found(text) == ["hospital_record_number"]
    assert "1234567" not in default_masker()(text)


@pytest.mark.parametrize(
    "text", ["medical record, 12345678 slides were reviewed", "medical record, 1234567\u00a0slides were cut"]
)
def test_a_lowercase_word_a_space_after_the_number_is_still_prose(text: str) -> None:
    assert kinds_found(text) == []
