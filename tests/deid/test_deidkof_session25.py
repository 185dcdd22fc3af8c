"""Session 25 (deidkof): the review of deidko. Hex runs looked up by bisection, not compared with
every date or phone number; a date read across a control character in a file name still
reported; the masker's long-gap logic knows the Korean keywords; ordinary words after ``환자`` no
name, a name with a particle or an honorific after it one."""

from __future__ import annotations

import random
import re
import uuid

import pytest

import dqm.identifiers as identifiers
from dqm.identifiers import MASK_SCAN_CHARS, DeidSettings, Masker, find

from .test_deidko_session25 import _batch_check

S = DeidSettings()


class _Counted(int):
    """An offset that counts how often it is compared."""

    compared = 0

    def _count(self, other: object, op: str) -> bool:
        _Counted.compared += 1
        return getattr(int(self), op)(other)

    def __lt__(self, other: object) -> bool:  # type: ignore[override]
        return self._count(other, "__lt__")

    def __le__(self, other: object) -> bool:  # type: ignore[override]
        return self._count(other, "__le__")

    def __gt__(self, other: object) -> bool:  # type: ignore[override]
        return self._count(other, "__gt__")

    def __ge__(self, other: object) -> bool:  # type: ignore[override]
        return self._count(other, "__ge__")


class _CountedRun:
    def __init__(self, run: re.Match[str]) -> None:
        self._span = run.span()

    def span(self) -> tuple[int, int]:
        return _Counted(self._span[0]), _Counted(self._span[1])


class _CountedRuns:
    """:data:`dqm.identifiers._HEX_RUN` whose runs' offsets count their comparisons."""

    def __init__(self, rx: re.Pattern[str]) -> None:
        self._rx = rx

    def finditer(self, text: str) -> list[_CountedRun]:
        return [_CountedRun(run) for run in self._rx.finditer(text)]


def test_hex_runs_are_looked_up_not_each_compared(monkeypatch: pytest.MonkeyPatch) -> None:
    """3,000 lines of a UUID and a phone number: each number is placed among the runs by bisection
    (about 12 comparisons each), not compared with every run (4.5 million comparisons before: a
    400 KB text took 5.6 s, 24 s at 816 KB)."""
    rng = random.Random(1)
    lines = 3_000
    text = "\n".join(f"{uuid.UUID(int=rng.getrandbits(128))} 010-1234-{i % 10000:04d}" for i in range(lines))
    monkeypatch.setattr(identifiers, "_HEX_RUN", _CountedRuns(identifiers._HEX_RUN))
    _Counted.compared = 0
    hits = find(text, S, "clinical")
    assert [hit.name for hit in hits] == ["phone_number"]
    assert _Counted.compared < 40 * lines


def test_a_date_inside_one_of_many_hex_runs_is_none_beside_one_it_is_one() -> None:
    """The bisection takes the run a match starts in, first, middle and last among many."""
    rng = random.Random(2)
    ids = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(50)]
    inside = "3f2a1b9c-2024-0101-8abc-0123456789ab"
    for at in (0, 25, 50):
        text = " ".join([*ids[:at], inside, *ids[at:]])
        assert find(text, S, "filename") == []
        beside = " ".join([*ids[:at], "2024-03-01", *ids[at:]])
        assert [hit.name for hit in find(beside, S, "filename")] == ["date_in_filename"]


@pytest.mark.parametrize("name", ["2024\x01-03-01.svs", "2024-03\x7f-01.svs", "20240301\x1f.svs"])
def test_a_date_read_across_a_control_character_is_reported(name: str) -> None:
    """``find`` reads a file name past its control characters: the check that skipped a printable
    ASCII name whose raw text the date pattern does not match skipped these too, and no check
    reported them (before deidko: ``DEID_OTHER_NAME_QUASI``). The example shown has its digits
    masked (the pattern alone finds no date in it to mask)."""
    assert "date_in_filename" in [hit.name for hit in find(name, S, "filename")]
    (found,) = _batch_check("deid.file_name_dates", files=(f"slides/{name}",))
    assert found.code == "DEID_FILENAME_DATES"
    assert not any(part in found.message for part in ("2024", "03", "01"))
    (found,) = _batch_check("deid.file_name_dates", items=((f"slides/{name}", "a/x.json"),))
    assert found.code == "DEID_FILENAME_DATES"


def _named(text: str, place: str = "clinical") -> list[tuple[str, str]]:
    return [
        (hit.name, hit.level) for hit in find(text, S, place) if hit.name in ("person_name", "possible_name")
    ]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "환자 여성",
        "환자 남성",
        "환자 조직검사",
        "환자 고위험군",
        "환자 신장 170",
        "환자 이송",
        "환자 나이 45",
    ],
)
def test_a_word_after_patient_is_no_identifier(text: str) -> None:
    """The review's words after ``환자``: a word as often as a name, none an identifier (an error
    that fails the delivery); at most a quasi-identifier (a warning), masked where shown."""
    assert all(level == "quasi" for _, level in _named(text))


@pytest.mark.parametrize("name", ["PT-전이암.svs", "pt_전립선.svs", "환자_전립선_H&E.svs"])
def test_a_word_after_pt_in_a_file_name_is_a_warning(name: str) -> None:
    (found,) = _batch_check("deid.other_names", files=(f"slides/{name}",))
    assert (found.code, found.severity.value) == ("DEID_OTHER_NAME_QUASI", "warning")


@pytest.mark.parametrize(
    ("text", "kind", "name"),
    [
        ("환자 홍길동에게서 채취", "possible_name", "홍길동"),
        ("환자 남궁민수님", "possible_name", "남궁민수"),
        ("환자 김철수님은 내원", "possible_name", "김철수"),
        ("환자: 홍길동에게서 채취", "possible_name", "홍길동"),
        ("환자명: 남궁민수님", "person_name", "남궁민수"),
        ("피검자명_이몽룡씨의 검체", "person_name", "이몽룡"),
    ],
)
def test_a_name_with_a_particle_or_an_honorific_is_found_and_masked(text: str, kind: str, name: str) -> None:
    """A name glued to a particle or an honorific (``에게서``, ``님``, ``씨의``) is judged without
    it: found (it was missed, five syllables or more), and masked."""
    assert [found for found, _ in _named(text)] == [kind]
    assert name not in Masker(S, b"k" * 32)(text)


@pytest.mark.parametrize("text", ["환자 정보가 없습니다", "환자 성별은 남", "환자 여성의 검체"])
def test_a_record_word_with_a_particle_is_no_name(text: str) -> None:
    assert _named(text) == []


@pytest.mark.parametrize("keyword", ["환자", "환자:", "피검자", "피검자명", "pt", "환자명:"])
@pytest.mark.parametrize("gap", [1, 30, 64, 65, 300, 5_000])
def test_find_and_the_masker_agree_across_a_korean_keyword_s_gap(keyword: str, gap: int) -> None:
    """A Korean keyword, up to 64 spaces, a name: found and masked wherever it falls on the
    masker's windows; farther (``환자`` and 5,000 spaces before a name, flagged by find and left
    by the masker before): neither, but after ``환자명:`` (the English keyword's rule, any gap)."""
    masker = Masker(S, b"k" * 32)
    for before in range(MASK_SCAN_CHARS - 400, MASK_SCAN_CHARS + 1, 37):
        text = "." * before + keyword + " " * gap + "김철수 끝"
        found = bool(_named(text))
        assert found == ("김철수" not in masker(text)), before
        assert found == (gap <= 64 or keyword == "환자명:"), before
