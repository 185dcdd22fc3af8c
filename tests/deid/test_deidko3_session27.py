"""Session 27 (deidko3): what session 26's Korean name rules left. ``환자`` and ``명`` parted by a
line break read alike by the identifier and the warning rule (``환자\\n명김정은`` was no name);
``환자 명은 홍길동`` (a keyword, a particle, the name) was no name; ``성함`` was no identifier key; a
two-syllable glued name ending like a particle (``이름이은``, ``이름김도``) was shown in clear; a
glued name with and without a particle (``이름김철``, ``이름김철에게``) were two tokens."""

from __future__ import annotations

import pytest

from dqm.identifiers import MASK_SCAN_CHARS, DeidSettings, identifier_key, identifying_key

from .test_deidko2_session26 import MASK, _named


@pytest.mark.parametrize("gap", ["\n", "\r\n", " \n ", "\t\n", "\u2028"])
@pytest.mark.parametrize(("name", "kind"), [("김정은", "possible_name"), ("김지은", "person_name")])
def test_patient_and_myeong_parted_by_a_line_break_read_alike_by_both_rules(
    gap: str, name: str, kind: str
) -> None:
    """``환자\\n명김지은`` was an identifier (``\\s*``) and ``환자\\n명김정은`` nothing (spaces and tabs only)."""
    text = "환자" + gap + "명" + name
    assert [found for found, _ in _named(text)] == [kind]
    assert name not in MASK(text)


@pytest.mark.parametrize("name", ["김정은", "김지은"])
def test_patient_and_myeong_parted_by_more_than_the_gap_are_no_keyword_for_either_rule(name: str) -> None:
    """Past :data:`_KO_GAP` (64) spaces neither rule reads ``환자 … 명`` as a keyword (``김지은`` was
    an identifier there, ``김정은`` nothing)."""
    assert _named("환자" + " " * 65 + "명" + name) == []
    assert _named("환자" + " " * 64 + "명" + name) != []


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("환자 명은 홍길동", "홍길동"),
        ("환자명이 김철수", "김철수"),
        ("환자 명은: 김철수님", "김철수"),
        ("피검자 명은 洪吉童", "洪吉童"),
        ("환자명은 (남궁민수)", "남궁민수"),
    ],
)
def test_a_keyword_and_a_particle_before_the_name_is_an_identifier(text: str, secret: str) -> None:
    assert [found for found, _ in _named(text)] == ["person_name"]
    assert secret not in MASK(text)


@pytest.mark.parametrize(
    "text",
    ["환자 명은 모름", "환자 명은 기재 안됨", "환자 명이 누락", "환자 명은 정보 없음", "환자 명은 미상"],
)
def test_a_keyword_and_a_particle_before_a_missing_word_is_no_name(text: str) -> None:
    assert _named(text) == []


@pytest.mark.parametrize("key", ["성함", "환자 성함", "환자_성함", "보호자 성함", "보호자 성명", "환자 성명"])
def test_seongham_is_an_identifier_key(key: str) -> None:
    """``성함`` (an honorific 성명) was no identifier key: ``{"성함": "홍길동"}`` was read as any text."""
    assert identifying_key(key)
    assert identifier_key(key, DeidSettings())


@pytest.mark.parametrize(
    "text", ["이름이은", "이름김도", "성명이은", "환자명김도", "pt 명이은", "이름김도에게"]
)
def test_a_two_syllable_glued_name_ending_like_a_particle_is_masked(text: str) -> None:
    """``이은`` (``은`` after no final consonant is no particle) and ``김도`` were read as a syllable
    and a particle, and shown in clear."""
    assert _named(text) == [("possible_name", "quasi")]
    masked = MASK(text)
    assert "이은" not in masked and "김도" not in masked


@pytest.mark.parametrize("text", ["이름표를", "성명서를", "이름서가", "이름김에게", "이름김은", "이름표는"])
def test_a_syllable_and_a_particle_that_fits_it_stays_no_name(text: str) -> None:
    assert _named(text) == []


@pytest.mark.parametrize(
    ("bare", "with_particle", "shown"),
    [
        ("이름김철", "이름김철에게", "에게"),
        ("이름김정은", "이름김정은에게", "에게"),
        ("pt 명김철", "pt 명김철을", "을"),
        ("환자명이준", "환자명이준에게", "에게"),
        ("이름이은", "이름이은의", "의"),
    ],
)
def test_a_glued_name_is_one_token_with_and_without_its_particle(
    bare: str, with_particle: str, shown: str
) -> None:
    """``이름김철`` and ``이름김철에게`` were masked to two tokens (the particle inside the second):
    one person is one token, the particle shown after it as the identifier rule shows it."""
    assert MASK(with_particle) == MASK(bare) + shown


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("환자 명은 홍길동", "홍길동"),
        ("환자\n명김정은", "김정은"),
        ("이름김도에게", "김도"),
        ("이름이은", "이은"),
    ],
)
def test_find_and_the_masker_agree_on_the_new_shapes_across_windows(text: str, secret: str) -> None:
    """Each new shape is found and masked wherever it falls on the masker's windows."""
    for before in range(MASK_SCAN_CHARS - 40, MASK_SCAN_CHARS + 1, 3):
        padded = "." * before + text + " 끝"
        assert _named(padded), before
        assert secret not in MASK(padded), before


@pytest.mark.parametrize(
    "text",
    [
        "이름이라고",
        "이름이라는",
        "이름이에요",
        "이름이예요",
        "성함은요",
        "성함이요",
        "이름이었다",
        "이름이세요",
        "이름인가요",
        "이름인데요",
        "이름이지요",
        "이름이네요",
        "이름이고요",
        "이름이잖아",
        "이름이라서",
        "성명이라도",
    ],
)
def test_the_copula_s_endings_glued_to_a_keyword_are_no_name(text: str) -> None:
    """Session 26 made these quasi warnings (``이름이잖아`` an identifier) where its docs said the
    copula's endings are no name."""
    assert _named(text) == []


@pytest.mark.parametrize("text", ["이름이지은", "이름이나영", "이름이다인", "성함이요한"])
def test_a_name_starting_like_the_copula_stays_a_name(text: str) -> None:
    assert [found for found, _ in _named(text)] == ["person_name"]


@pytest.mark.parametrize(
    ("text", "kind", "secret"),
    [
        ("성명: 洪 吉童", "person_name", "吉童"),
        ("성명: 洪·吉童", "person_name", "吉童"),
        ("성명: 洪吉童先生", "person_name", "吉童"),
        ("성명: 諸葛孔明亮", "person_name", "孔明"),
        ("환자: 洪吉童", "possible_name", "吉童"),
        ("pt_洪吉童", "possible_name", "吉童"),
    ],
)
def test_a_spaced_a_long_or_an_unlabelled_hanja_name_is_found(text: str, kind: str, secret: str) -> None:
    """A Hanja name a space parts, one of 5 ideographs or more, and one after ``환자:`` were shown in clear."""
    assert [found for found, _ in _named(text)] == [kind]
    assert secret not in MASK(text)


@pytest.mark.parametrize("name", ["洪 吉童", "洪吉童先生", "諸葛孔明亮漢字"])
@pytest.mark.parametrize("gap", [1, 60])
def test_find_and_the_masker_agree_on_hanja_names_across_windows(name: str, gap: int) -> None:
    for before in range(MASK_SCAN_CHARS - 80, MASK_SCAN_CHARS + 1, 3):
        text = "." * before + "성명:" + " " * gap + name + " 끝"
        assert _named(text), before
        assert name[-2:] not in MASK(text), before
