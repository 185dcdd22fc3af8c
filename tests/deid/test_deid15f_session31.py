"""Session 31's deid15f, the review of deid15: one Latin word after the bare ``이름`` is no name (a file's, a class's
name as often), a one-word name in a key-value record is found, and ``law`` no longer hides a surname."""

from __future__ import annotations

import pytest

from tests.deid.deid_helpers import default_masker, kinds_found


@pytest.mark.parametrize(
    "text",
    [
        "클래스 이름: Stroma",
        "클래스 이름: Necrosis",
        "파일 이름: Mask",
        "모델 이름: Resnet",
        "스캐너 이름: Aperio, 배율: 40x",
        "병원 이름: Severance",
        "레이어 이름: Background",
        "이름: Python",
        "이름 Red",
        "이름,Lesion",
        '{"이름": "Stroma", "색상": "#ff0000"}',
    ],
)
def test_one_latin_word_after_the_bare_ireum_is_no_name(text: str) -> None:
    assert kinds_found(text) == []


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("이름: John Smith", "Smith"),
        ("성명 Nakamura", "Nakamura"),
        ("성함: Nakamura", "Nakamura"),
        ("환자 이름: Nakamura", "Nakamura"),
        ("환자 명: Nakamura", "Nakamura"),
    ],
)
def test_one_word_after_a_keyword_that_names_a_person_is_still_a_name(text: str, name: str) -> None:
    assert kinds_found(text) == ["person_name"]
    assert name not in default_masker()(text)


@pytest.mark.parametrize(
    "text",
    [
        '{"patient_name": "Smith", "age": 45}',
        '{"Patient Name": "Smith", "Age": 45}',
        "Patient Name: Smith | Age: 45",
        "Patient Name: Smith\tAge: 45",
        "Patient Name: Smith, DOB: 1990-01-01",
        "Patient Name: Smith; MRN 1234567",
        "patient_name=Smith,age=45",
        'patient_name: "Smith", age: 45',
    ],
)
def test_a_one_word_name_before_another_key_is_found(text: str) -> None:
    assert "person_name" in kinds_found(text)
    assert "Smith" not in default_masker()(text)


@pytest.mark.parametrize(
    "text",
    [
        "Patient Name|Pathologist|Date",
        "Patient Name, Stain, Notes",
        "Patient Name\tAge\tSex",
        '"Patient Name","Age","Sex"',
    ],
)
def test_a_header_row_is_still_no_name(text: str) -> None:
    assert kinds_found(text) == []


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Patient Name: Addison Law", "Addison"),
        ("Patient Name: Barrett Law", "Barrett"),
        ("Patient Name: Graves Law", "Graves"),
        ("Patient Name: Clark Law, Mary", "Clark"),
        ("Patient Name: Graves Disease, Mary", "Mary"),
    ],
)
def test_an_eponym_rule_hides_no_surname(text: str, shown: str) -> None:
    assert kinds_found(text) == ["person_name"]
    assert shown not in default_masker()(text)


@pytest.mark.parametrize(
    "text", ["Patient Name: DiGeorge Syndrome", "Patient Name: LaPlace's law", "Patient Name: Gleason Score"]
)
def test_an_eponym_and_its_term_are_still_no_name(text: str) -> None:
    assert kinds_found(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "patient_name: Optional",
        "patient_name: Required",
        "patient_name: Varchar",
        "Patient Name: Boolean",
        "Patient Name: Nan",
        "Patient Name: Stroma",
        "Patient Name: Necrosis",
        "Patient Name: Mask",
        "Patient Name: Background",
        "Patient Name: Hematoxylin",
        "Patient Name: Unavailable",
        "Patient Name: Scrubbed",
        "Patient Name: Confidentiel",
    ],
)
def test_a_schema_or_class_word_alone_is_no_name(text: str) -> None:
    assert kinds_found(text) == []


def test_doe_alone_is_still_masked() -> None:
    assert kinds_found("Patient Name: Doe") == ["person_name"]
