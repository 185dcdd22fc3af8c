"""Identifier patterns run on every text from the batch (the deid checks) and on every output (the
masker): a value built to make a pattern backtrack must cost one pass. A keyword followed by
thousands of spaces (``dob`` then 3,000 spaces in a class name) made the keyword patterns try
every way to split the spaces among three optional runs, cubic in their length: an audit of such
a batch ran for over five minutes. The search runs in a child process under a bound far above its
cost (a regular expression cannot be interrupted from Python), so a relapse fails instead of hanging."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from dqm.identifiers import DeidSettings, Masker, find

KEYWORDS = ("dob", "born on", "MRN", "record no", "Patient name", "이름", "생년월일")
SEARCHED = textwrap.dedent(
    """
    from dqm.identifiers import DeidSettings, Masker, find
    settings = DeidSettings()
    masker = Masker(settings, b"k" * 32)
    for keyword in {keywords!r}:
        for gap in (" ", "\\t", " no ", " # : "):
            text = "x " + keyword + (gap * 10_000)[:10_000] + "!"
            for place in ("annotation", "slide", "clinical", "filename"):
                find(text, settings, place)
            masker(text)
    print("searched")
    """
)


def test_a_keyword_followed_by_thousands_of_spaces_is_searched_in_one_pass() -> None:
    code = SEARCHED.format(keywords=KEYWORDS)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "searched", done.stderr[-2000:]


@pytest.mark.parametrize(
    ("text", "name", "found"),
    [
        ("MRN no: 12345678", "hospital_record_number", "12345678"),
        ("MRN#:  12345678", "hospital_record_number", "12345678"),
        ("record number   #   AB12345", "hospital_record_number", "AB12345"),
        ("DOB : 1990-01-02", "date_of_birth", "1990-01-02"),
        ("born on\t1990.01.02", "date_of_birth", "1990.01.02"),
        ("Patient name  =  Hong Gildong", "person_name", "Hong Gildong"),
        ("이름:홍길동", "person_name", "홍길동"),
    ],
)
def test_the_keyword_patterns_still_find_what_follows_their_separators(
    text: str, name: str, found: str
) -> None:
    settings = DeidSettings()
    assert name in {h.name for h in find(text, settings, "clinical")}
    assert found not in Masker(settings, b"k" * 32)(text)
