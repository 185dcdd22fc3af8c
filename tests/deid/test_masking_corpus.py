"""The masker's output, byte for byte, on a corpus of tricky texts: identifiers across window
boundaries, escapes (``\\uXXXX``, ``\\t``, twice escaped), keywords in every case, overlapping
matches, Unicode digits, lone surrogates, a profile's own patterns on RE2 and a built-in one
overridden or turned off. The expected outputs (tests/fixtures/masking/corpus.json) were written
once by the masker as it was before it skipped to each pattern's first characters (d2fe5b3): any
change to what it masks shows here."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path
from typing import Any

import pytest

from dqm.identifiers import (
    _BUILT_IN,
    _STARTS,
    CACHED_TEXTS,
    DEFAULT_PATTERNS,
    DeidSettings,
    Masker,
    Place,
    _scan,
    cut_outside_identifiers,
    find,
    use_profile_patterns,
)

CORPUS: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "masking" / "corpus.json").read_text(encoding="ascii")
)
SETTINGS = {"default": DeidSettings(), "profile": DeidSettings.model_validate(CORPUS["profile"])}


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_the_corpus_is_masked_as_before(name: str) -> None:
    masker = Masker(SETTINGS[name], CORPUS["key"].encode())
    texts, expected = CORPUS["texts"], CORPUS["masked"][name]
    assert len(texts) == len(expected) > 1000
    wrong = [
        (i, text) for i, (text, want) in enumerate(zip(texts, expected, strict=True)) if masker(text) != want
    ]
    assert wrong == []


def test_cuts_fall_where_they_fell_before() -> None:
    use_profile_patterns(SETTINGS["default"])  # the built-in patterns only, whatever ran before
    cuts = CORPUS["cuts"]
    got = [
        [at, cut_outside_identifiers(text, at)] for text, (at, _) in zip(CORPUS["texts"], cuts, strict=False)
    ]
    assert got == cuts


@pytest.mark.parametrize("name", sorted(p for p, d in DEFAULT_PATTERNS.items() if d.regex in _STARTS))
def test_a_skipping_scan_finds_what_finditer_finds(name: str) -> None:
    rx = re.compile(DEFAULT_PATTERNS[name].regex)
    for text in CORPUS["texts"]:
        want = [(m.span(), m.groupdict()) for m in rx.finditer(text)]
        got = [
            (m.span(base), {k: m.group(base + i) for k, i in rx.groupindex.items()})
            for m, base in _scan(rx, text)
        ]
        assert got == want, text


EXAMPLES = {
    "korean_rrn": ["900101-1234567", "900101 – 1234567"],
    "us_ssn": ["123-45-6789"],
    "phone_number": ["010-1234-5678", "02-555-1234"],
    "date_of_birth": ["dob 900101", "d.o.b. 19900101", "birth date: 1990-01-01", "date of birth 1/2/90",
                      "birthday=900101", "born on 900101", "생년월일 900101"],
    "hospital_record_number": ["MRN 12345", "HRN: AB12345", "medical record no. 123456", "hospital id 12345",
                               "chart number 12345", "record no 12345", "병록번호 12345", "등록번호 12345",
                               "환자번호 12345"],
    "date_in_filename": ["19900102", "2020-01-02", "1990_01_02"],
    "person_name": ["patient name: John Smith", "patient's name KIM MINSU", "pt. name John Smith",
                    "성명 홍길동", "환자명 홍길동", "이름 홍길동"],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_no_match_starts_with_a_character_outside_its_starts(name: str) -> None:
    """Every character of the Basic Multilingual Plane (where the case variants of the keywords'
    first letters lie) put first in a match of the pattern: a match only with one of its starts."""
    source = DEFAULT_PATTERNS[name].regex
    assert source in _BUILT_IN
    rx, starts = re.compile(source), re.compile(f"[{_STARTS[source]}]")
    for example in EXAMPLES[name]:
        assert rx.match(example) and starts.match(example)
        rest = example[1:]
        starting = [c for c in map(chr, range(0x10000)) if rx.match(c + rest) and not starts.match(c)]
        assert starting == [], (example, [hex(ord(c)) for c in starting])


def _first_characters(items: Any, flags: int, state: Any) -> list[re.Pattern[str]] | None:
    """The one-character matchers a match of the parsed ``items`` can start with, each compiled
    alone (under the flags in force there); None where the parse has a node this does not know."""
    import re._compiler as compiler
    import re._constants as c
    import re._parser as parser

    out: list[re.Pattern[str]] = []
    for op, av in items:
        if op in (c.ASSERT, c.ASSERT_NOT, c.AT):
            continue  # zero-width: the next node starts the match
        if op is c.SUBPATTERN:
            _, add, drop, sub = av
            got = _first_characters(sub, (flags | add) & ~drop, state)
        elif op is c.BRANCH:
            asserting = [all(o in (c.ASSERT, c.ASSERT_NOT, c.AT) for o, _ in branch) for branch in av[1]]
            branches = [
                _first_characters(b, flags, state)
                for b, zero in zip(av[1], asserting, strict=True)
                if not zero
            ]
            got = None if None in branches else [rx for b in branches for rx in b or ()]
            if got is not None and any(asserting):  # a branch that only asserts: what follows may start it
                out += got
                continue
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
            low, _, sub = av
            got = _first_characters(sub, flags, state)
            if got is not None and low == 0:  # optional: what follows may start the match too
                out += got
                continue
        elif op in (c.LITERAL, c.NOT_LITERAL, c.IN, c.ANY):
            got = [compiler.compile(parser.SubPattern(state, [(op, av)]), flags & re.IGNORECASE)]
        else:
            return None
        return None if got is None else out + got
    return None


@pytest.mark.parametrize("source", sorted(_STARTS))
def test_a_patterns_starts_hold_every_character_its_regex_can_start_with(source: str) -> None:
    """The start characters are written by hand beside each pattern: a keyword added to a pattern
    without its first letter (and its case variants) there would be skipped by the scan and leak.
    Here they are worked out from the parsed regex itself, over the whole Basic Multilingual Plane."""
    import re._parser as parser

    parsed = parser.parse(source)
    atoms = _first_characters(list(parsed), parsed.state.flags, parsed.state)
    assert atoms, "the pattern's first characters could not be worked out"
    plane = "".join(chr(k) for k in range(0x10000) if not 0xD800 <= k < 0xE000)
    starts = re.compile(f"[{_STARTS[source]}]")
    can = {m.group() for rx in atoms for m in rx.finditer(plane)}
    assert can and sorted(ch for ch in can if not starts.fullmatch(ch)) == []


def test_the_gate_passes_every_text_a_gated_pattern_matches() -> None:
    masker = Masker(SETTINGS["default"], CORPUS["key"].encode())
    gate = masker._gate
    assert gate is not None
    masked = {p.regex for p in DEFAULT_PATTERNS.values() if p.places != ("filename",)}  # as a masker searches
    gated = [re.compile(source) for source in _STARTS if source in masked]
    matched = [text for text in CORPUS["texts"] if any(rx.search(text) for rx in gated)]
    assert len(matched) > 400
    assert [text for text in matched if gate.search(text) is None] == []


def test_a_masker_keeps_short_texts_masked_within_bounds_and_sends_none_to_a_worker() -> None:
    masker = Masker(SETTINGS["default"], CORPUS["key"].encode())
    rrn = "900101-1234567"
    first = masker(f"slide {rrn}.svs")
    assert rrn not in first and masker(f"slide {rrn}.svs") == first
    assert rrn.encode() not in pickle.dumps(masker)  # the texts it masked stay in this process
    copy = pickle.loads(pickle.dumps(masker))
    assert copy(f"slide {rrn}.svs") == first
    for i in range(CACHED_TEXTS + 10):
        masker(f"S{i:06d}")
    assert 0 < len(masker._seen) <= CACHED_TEXTS


@pytest.mark.parametrize("name", sorted(SETTINGS))
@pytest.mark.parametrize("place", ["slide", "filename"])
def test_the_corpus_is_found_in_as_before(name: str, place: Place) -> None:
    expected = CORPUS["found"][name][place]
    got = {}
    for i, text in enumerate(CORPUS["texts"]):
        if hits := find(text, SETTINGS[name], place):
            got[str(i)] = [[h.name, h.masked, h.length] for h in hits]
    assert len(expected) > 500
    assert got == expected
