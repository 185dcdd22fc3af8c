"""Session 26 (deidko2): the Korean names the keyword rules still missed or cut. A two-syllable
surname and a two-syllable given name masked whole (``남궁지은``, where ``은`` was left as a
particle); a name starting ``명`` after ``환자`` (``환자 명희``), told from the ``명`` of ``환자명``
with a particle (``환자 명은``) and from a counter (``환자 3명``); a Korean keyword glued to an
ordinary word no name (``이름으로``, ``성명서를``, ``환자:이름바꾸기`` were identifiers); ``성명``,
``성함``, ``이름`` after ``환자`` or ``pt`` keywords, not names; a name in brackets, with a space or
a middle dot, in Hanja, followed by ``환자``; a CP949 manifest's note."""

from __future__ import annotations

from pathlib import Path

import pytest

from dqm.identifiers import MASK_SCAN_CHARS
from dqm.profile import load_profile
from dqm.runner import RunOptions, run_batch
from tests.deid.test_deidkof2_session25 import MASK, _named
from tests.helpers import write_tiny_batch


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("환자 남궁지은", "possible_name"),
        ("성명: 남궁지은", "person_name"),
        ("이름 제갈지은", "person_name"),
        ("환자명_선우정아", "person_name"),
        ("pt_독고영재", "possible_name"),
        ("성명: 망절길동", "person_name"),
    ],
)
def test_a_two_syllable_surname_and_two_syllables_are_masked_whole(text: str, kind: str) -> None:
    """``남궁지은`` read as ``남궁지`` and the particle ``은`` left ``은`` in clear: a two-syllable
    surname is read first, and its four syllables are one token."""
    assert [found for found, _ in _named(text)] == [kind]
    masked = MASK(text)
    assert masked.endswith("]"), masked


@pytest.mark.parametrize(("text", "shown"), [("환자 남궁민에게", "에게"), ("성명: 남궁민수님", "님")])
def test_a_two_syllable_surname_s_name_keeps_its_particle_apart(text: str, shown: str) -> None:
    assert MASK(text).endswith("]" + shown)


@pytest.mark.parametrize(
    "text", ["환자 명희", "환자 명희님", "pt_명희", "환자-명숙", "환자 명희수", "환자 (명희)"]
)
def test_a_name_starting_myeong_after_patient_is_found(text: str) -> None:
    """``환자 명희`` was no name: a ``명`` after ``환자`` was taken for ``환자명``'s."""
    assert _named(text) == [("possible_name", "quasi")]
    assert "명희" not in MASK(text) and "명숙" not in MASK(text)


@pytest.mark.parametrize(
    "text",
    ["환자 3명", "환자 3명의 검체", "환자 명의 검체", "환자 명이 늘었다", "환자 명은 모름", "환자 12 명"],
)
def test_a_counter_or_the_keyword_with_a_particle_is_no_name(text: str) -> None:
    assert _named(text) == []


@pytest.mark.parametrize("text", ["환자 명홍길동", "환자 명 홍길동", "환자 명: 홍길동"])
def test_the_patient_name_keyword_still_names_what_follows(text: str) -> None:
    assert _named(text) == [("person_name", "identifier")]
    assert "홍길동" not in MASK(text)


@pytest.mark.parametrize(
    "text",
    [
        "파일 이름으로 저장",
        "이름표를 붙임",
        "성명서를 냄",
        "이름바꾸기",
        "환자:이름바꾸기",
        "pt_이름바꾸기",
        "이름변경을 함",
        "성명미상",
        "환자 명희님",
    ],
)
def test_a_korean_keyword_glued_to_a_word_is_no_name_keyword(text: str) -> None:
    """``이름``, ``성명`` or ``환자 명`` glued to a word read the word as a name, an identifier
    (``이름으로`` took ``으로``; ``환자 명희님`` took ``희님``)."""
    assert ("person_name", "identifier") not in _named(text)


@pytest.mark.parametrize("text", ["이름홍길동", "성명홍길동에게", "환자명홍길동"])
def test_a_name_glued_to_its_keyword_is_still_a_name(text: str) -> None:
    assert _named(text) == [("person_name", "identifier")]
    assert "홍길동" not in MASK(text)


@pytest.mark.parametrize("before", ["환자", "pt", "환자:", "pt_", "PT "])
@pytest.mark.parametrize("keyword", ["성명", "성함", "이름", "환자명"])
def test_a_name_keyword_after_patient_labels_the_name_and_is_none(before: str, keyword: str) -> None:
    """``환자 성명: 홍길동`` read ``성명`` as a possible name; ``성함`` was no keyword at all."""
    gap = "" if before.endswith((":", "_", " ")) else " "
    text = f"{before}{gap}{keyword}: 홍길동"
    assert _named(text) == [("person_name", "identifier")], text
    masked = MASK(text)
    assert "홍길동" not in masked and keyword in masked


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("성명(홍길동)", "홍길동"),
        ("성명: (홍길동)", "홍길동"),
        ("환자명 [홍길동]", "홍길동"),
        ("성명: 홍 길동", "길동"),
        ("성명: 홍·길동", "길동"),
        ("이름 남궁 민수님", "민수"),
        ("성명: 洪吉童", "吉童"),
        ("성함 (洪吉童)", "吉童"),
        ("성명: 홍길동환자", "홍길동"),
        ("성함: 이몽룡님", "이몽룡"),
    ],
)
def test_a_name_in_brackets_spaced_dotted_or_in_hanja_is_masked(text: str, name: str) -> None:
    assert _named(text) == [("person_name", "identifier")], text
    masked = MASK(text)
    assert name not in masked and ("환자" in masked) == ("환자" in text)


@pytest.mark.parametrize("text", ["환자(홍길동)", "환자 (홍길동)", "pt (홍길동)"])
def test_a_name_in_brackets_after_patient_is_a_possible_name(text: str) -> None:
    assert _named(text) == [("possible_name", "quasi")]
    assert "홍길동" not in MASK(text)


@pytest.mark.parametrize("text", ["환자 안 좋음", "이름\t나이\t성별", "환자(여)", "성명: 김 나이 45"])
def test_a_syllable_and_a_word_is_no_spaced_name(text: str) -> None:
    assert _named(text) == []


def test_a_cp949_manifest_s_korean_names_are_found_and_masked(tmp_path: Path) -> None:
    """A manifest written in CP949 (a Korean Windows export), read as CP949: the names of this
    session's shapes in a column are found, each whole (``남궁지은``: 4 characters, not 3), and an
    output that quotes the cell (a value not in the column's set) shows none of them."""
    root = write_tiny_batch(tmp_path / "b")
    manifest = root / "manifest.csv"
    lines = manifest.read_text(encoding="utf-8").splitlines()
    notes = ["성명: 남궁지은", "환자 명희님", "성함(홍길동)"]
    for k, note in enumerate(notes, start=1):
        lines[k] = lines[k].rsplit(",", 1)[0] + "," + note
    manifest.write_bytes(("\n".join(lines) + "\n").encode("cp949"))
    run = run_batch(root, load_profile(), RunOptions(workers=1))
    assert "MANIFEST_ENCODING" in {f.code for f in run.findings}
    deid = {f.location.row: (f.code, str(f.message)) for f in run.findings if f.code.startswith("DEID_")}
    assert deid[1][0] == "DEID_CLINICAL_IDENTIFIER" and "(4 characters, masked)" in deid[1][1]
    assert deid[2][0] == "DEID_CLINICAL_QUASI" and "(2 characters, masked)" in deid[2][1]
    assert deid[3][0] == "DEID_CLINICAL_IDENTIFIER" and "(3 characters, masked)" in deid[3][1]
    quoted = [MASK(str(f.message)) for f in run.findings if f.code == "CLINICAL_NOT_IN_SET"]
    assert len(quoted) == 3
    for name in ("지은", "명희", "홍길동"):
        assert not any(name in text for text in quoted), quoted


@pytest.mark.parametrize(
    ("name", "secret"), [("洪吉童", "吉童"), ("홍 길동", "길동"), ("(홍길동)", "홍길동")]
)
@pytest.mark.parametrize("gap", [1, 300, 5_000])
def test_find_and_the_masker_agree_on_the_new_shapes_across_windows(name: str, secret: str, gap: int) -> None:
    """A Hanja, a spaced or a bracketed name after ``성명:`` and any gap: found and masked wherever
    it falls on the masker's windows (a window's end inside the name or its gap); a bracket only
    within the Korean keywords' gap of 64 spaces (``_KO_GAP``), as ``환자`` and its name are."""
    for before in range(MASK_SCAN_CHARS - 300, MASK_SCAN_CHARS + 1, 29):
        text = "." * before + "성명:" + " " * gap + name + " 끝"
        found = bool(_named(text))
        assert found == (secret not in MASK(text)), before
        assert found == (gap <= 64 or not name.startswith("(")), before
