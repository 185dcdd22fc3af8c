"""Session 30 (deidko6): a fresh process's first find compiled ``person_name`` and ``possible_name`` as
written though :func:`dqm.identifiers.find` runs neither so, and ``import dqm.identifiers`` parsed every
built-in pattern; a comma (``,``, ``，``, ``、``) after ``주민등록번호`` and the ideographic comma ``、``
after a record keyword were no separator; the names a Korean name's comma lists after it were in clear."""

from __future__ import annotations

import pickle
import re
import re._compiler
import re._constants
import re._parser
import subprocess
import sys

import pytest

from dqm import identifiers
from dqm.identifiers import DeidSettings, find

from .deid_helpers import default_masker


def _kinds(text: str) -> list[str]:
    return sorted({hit.name for hit in find(text, DeidSettings(), "clinical")})


def test_a_first_find_compiles_no_built_in_pattern_as_written() -> None:
    settings = DeidSettings()
    assert find("x", settings, "clinical") == []
    assert [h.name for h in find("성명: 홍길동", settings, "clinical")] == ["person_name"]
    compiled = {name: rx for name, rx, _ in settings.compiled.patterns}
    # find runs them behind the gate and as _skipping: neither was compiled as written
    assert compiled["person_name"]._rx is None  # type: ignore[union-attr]
    assert compiled["possible_name"]._rx is None  # type: ignore[union-attr]
    # used as written (a profile's check of its examples, the file-name dates) it compiles then
    assert compiled["person_name"].search("Patient Name: John Smith") is not None
    copy = pickle.loads(pickle.dumps(compiled["person_name"]))
    assert copy == compiled["person_name"] and copy._rx is None  # type: ignore[union-attr]


def test_import_parses_no_built_in_pattern() -> None:
    code = (
        "import dqm.identifiers as i; "
        "print(i._run_chars.cache_info().currsize, i._name_found.cache_info().currsize)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["0", "0"]


@pytest.mark.parametrize(
    "source",
    [
        "(?i)[가-힣a-z]+",
        "[가-힣]+[^가-힣]",
        "(?i:[ſs]+)[가-힣]",
        identifiers.DEFAULT_PATTERNS["person_name"].regex,
    ],
)
def test_kept_character_classes_compile_what_re_compiles(source: str) -> None:
    # re's cache would hand back one compile for both: purged, each is compiled here
    re.purge()
    before = re._compiler._optimize_charset  # type: ignore[attr-defined]
    kept = identifiers._compiling(source)
    assert re._compiler._optimize_charset is before  # type: ignore[attr-defined]
    re.purge()
    plain = re.compile(source)
    assert kept is not plain
    for text in ("홍길동", "ABC홍", "SSſ김", "성명: 홍길동", "Patient Name: John Smith", "x"):
        assert [m.span() for m in kept.finditer(text)] == [m.span() for m in plain.finditer(text)]
    # the same code, twice (a class kept by the first compile)
    for _ in range(2):
        assert _code(source, identifiers._kept_charset) == _code(source, before)


def _code(source: str, optimize: object) -> list[int]:
    """What ``re`` compiles ``source`` to, its character classes optimised by ``optimize``."""
    saved = re._compiler._optimize_charset  # type: ignore[attr-defined]
    re._compiler._optimize_charset = optimize  # type: ignore[attr-defined]
    try:
        return list(re._compiler._code(re._parser.parse(source), 0))  # type: ignore[attr-defined]
    finally:
        re._compiler._optimize_charset = saved  # type: ignore[attr-defined]


def test_the_swap_leaves_another_s_optimize_charset_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    original = re._compiler._optimize_charset  # type: ignore[attr-defined]
    real_compile = re.compile
    theirs = []

    def compile_and_patch(source: str, *args: object) -> object:
        # someone else's patch, put in place while _compiling holds the swap
        re._compiler._optimize_charset = other  # type: ignore[attr-defined]
        theirs.append(source)
        return real_compile(source, *args)  # type: ignore[call-overload]

    def other(*args: object) -> object:
        return original(*args)

    monkeypatch.setattr(identifiers.re, "compile", compile_and_patch)
    monkeypatch.setattr(re._compiler, "_optimize_charset", original)  # put back after the test
    identifiers._compiling("[가-힣]x")
    assert theirs == ["[가-힣]x"]
    assert re._compiler._optimize_charset is other  # type: ignore[attr-defined]


def test_a_class_optimised_with_an_unknown_argument_is_not_kept() -> None:
    before = len(identifiers._CHARSETS)
    table = {ord("a"): (ord("b"),)}
    charset = [(re._constants.RANGE, (0xAC00, 0xD7A3))]  # type: ignore[attr-defined]
    assert identifiers._kept_charset(charset, None, None, table) == identifiers._OPTIMIZE_CHARSET(
        charset, None, None, table
    )
    assert len(identifiers._CHARSETS) == before


@pytest.mark.parametrize(
    "text",
    ["주민등록번호， 900101\t1234567", "주민등록번호, 900101\t1234567", "주민등록번호、900101\t1234567"],
)
def test_a_comma_after_the_resident_number_keyword(text: str) -> None:
    assert _kinds(text) == ["korean_rrn"]
    assert "1234567" not in default_masker()(text)


@pytest.mark.parametrize("text", ["환자번호、12345678", "환자번호、 12345678", "MRN、12345678"])
def test_the_ideographic_comma_after_a_record_keyword(text: str) -> None:
    assert _kinds(text) == ["hospital_record_number"]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("환자명: 홍길동, 김지은", "person_name"),
        ("환자명: 홍길동，김지은", "person_name"),
        ("환자명: 홍길동、김지은", "person_name"),
        ("성명: 홍길동, 김지은, 이철수", "person_name"),
        ("파일명: 홍길동, 김지은", "possible_name"),
        ("환자 김철수, 이영희", "possible_name"),
        ("성명: 홍길동, 김지은 (보호자)", "person_name"),
        ("성명: 홍길동, 김지은\n나이: 45", "person_name"),
    ],
)
def test_names_listed_after_a_korean_name_are_masked(text: str, kind: str) -> None:
    assert _kinds(text) == [kind]
    masked = default_masker()(text)
    for name in ("김지은", "이철수", "이영희"):
        assert name not in masked


@pytest.mark.parametrize("text", ["성명: 홍길동, 나이 45", "성명: 홍길동, 남자", "성명: 홍길동, 가능한 경우"])
def test_a_listed_word_of_no_name_shape_ends_the_list(text: str) -> None:
    masked = default_masker()(text)
    assert "홍길동" not in masked
    assert masked.endswith(text.split(",", 1)[1])
