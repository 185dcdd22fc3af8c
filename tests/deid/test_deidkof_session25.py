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
from dqm.identifiers import DeidSettings, find

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
