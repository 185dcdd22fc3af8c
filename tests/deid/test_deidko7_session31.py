"""Session 31 (deidko7): a Korean name's list goes on after ``/`` as after ``,`` (``성명: 김지은/이철수``: ``이철수``
was in clear), and a listed name before an age (``성명: 홍길동, 김지은 45세``: ``김지은`` was in clear). The age
itself is kept: alone it identifies nobody once the names beside it are masked (docs/formats.md)."""

from __future__ import annotations

import pytest

from tests.deid.deid_helpers import default_masker, kinds_found


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("성명: 김지은/이철수", ("김지은", "이철수")),
        ("성명: 홍길동, 김지은/이철수", ("홍길동", "김지은", "이철수")),
        ("성명: 홍길동/김지은/이철수", ("홍길동", "김지은", "이철수")),
        ("환자 김철수/이영희", ("김철수", "이영희")),
        ("성명: 홍길동, 김지은 45세", ("홍길동", "김지은")),
        ("성명: 김지은/이철수 45세", ("김지은", "이철수")),
        ("성명: 홍길동，김지은\u300045세", ("홍길동", "김지은")),
    ],
)
def test_every_name_of_a_korean_list_is_masked(text: str, names: tuple[str, ...]) -> None:
    masked = default_masker()(text)
    assert [name for name in names if name in masked] == []


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("성명: 홍길동/남", "/남"),
        ("성명: 홍길동/여성", "/여성"),
        ("성명: 홍길동/45세", "/45세"),
        ("성명: 홍길동, 나이 45세", ", 나이 45세"),
        ("성명: 홍길동, 김지은 45세대", ", 김지은 45세대"),
        ("성명: 홍길동, 김지은 45세", " 45세"),
        ("환자: 홍길동 45세", " 45세"),
    ],
)
def test_what_follows_a_korean_name_that_is_no_name_is_kept(text: str, kept: str) -> None:
    """A sex or an age after a ``/``, a word no name's shape after a comma, and an age after a name stay in clear:
    an age is a quasi-identifier only past 89 (HIPAA's safe harbour), and the name beside it is masked."""
    masked = default_masker()(text)
    assert masked.endswith(kept) and "홍길동" not in masked


@pytest.mark.parametrize(
    "text",
    [
        "주민번호: 9001011234567",
        "RRN 9001011234567",
        "주민등록번호 9001011234567",
        "주민번호: ９００１０１１２３４５６７",
    ],
)
def test_a_resident_number_without_its_dash_after_its_keyword_is_masked(text: str) -> None:
    """Thirteen digits after a resident number's keyword, no dash between its parts: in clear before session 31."""
    assert kinds_found(text) == ["korean_rrn"]
    assert "1234567" not in default_masker()(text) and "１２３４５６７" not in default_masker()(text)


@pytest.mark.parametrize(
    "text",
    ["주민번호: 90010112345678", "주민번호: 9013011234567", "slide 9001011234567", "accession 9001011234567"],
)
def test_thirteen_digits_are_no_resident_number_without_its_keyword_or_date(text: str) -> None:
    """Fourteen digits, a month 13, or no keyword before them: none (an accession number's digits)."""
    assert "korean_rrn" not in kinds_found(text)
