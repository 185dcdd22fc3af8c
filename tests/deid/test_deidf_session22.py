"""Task deidf (session 22): the review of task deid's findings, each on the reviewer's inputs.

A character reference a window's end cuts keeps a run masked whole (a resident number after
``&#49;`` a thousand times was shown); a name's words are as long as a text holds (35 letters
were no name on 848046f); a cut reaches back over ``&#32;`` as over spaces; a reference is read as
a browser reads it (no ``;``, leading zeros, ``&nbsp;``); an ISO edition before ISO's first, or a
part ISO 8601 does not have, is an id's; what :func:`find` flags as a name the masker masks."""

from __future__ import annotations

import random

import pytest

from dqm.findings import clip, cut_head
from dqm.identifiers import find, looks_identifying
from tests.deid.deid_helpers import SETTINGS, default_masker


@pytest.mark.parametrize("digit", ["&#49;", "&#x31;", "&#0049;"])
@pytest.mark.parametrize("shift", range(5))
@pytest.mark.parametrize("count", [780, 805, 820, 900, 1700])
def test_a_birth_dates_digits_as_references_past_a_window_keep_the_rrn_masked(
    digit: str, shift: int, count: int
) -> None:
    text = "x" * shift + " dob " + digit * count + "900101-1234567 end"  # a window's end cuts some
    masked = default_masker()(text)
    assert "1234567" not in masked and "900101" not in masked  # failed on 848046f (&#49; x900)
    assert masked.endswith(" end")


@pytest.mark.parametrize("gap", ["&#32;", "&nbsp;", "&#00000032;", "&#x20;", " "])
@pytest.mark.parametrize("count", [200, 410, 820, 900, 5000])
def test_a_name_parted_by_thousands_of_spaces_is_masked_as_find_flags_it(gap: str, count: int) -> None:
    text = "Patient name: Hong" + gap * count + "Gildong and more"
    assert [h.name for h in find(text, SETTINGS, "annotation")] == ["person_name"]
    masked = default_masker()(text)
    assert "Hong" not in masked and "Gildong" not in masked  # failed on 848046f: shown whole
    assert masked.endswith(" and more")


NAMES = [
    "Wolfeschlegelsteinhausenbergerdorff Hubert",
    "Hubert Wolfeschlegelsteinhausenbergerdorff",
    "WOLFESCHLEGELSTEINHAUSENBERGERDORFF^HUBERT",
    *(f"Ho{'n' * n}g Gildong" for n in (31, 100, 1000, 3000, 10000)),
    *(f"Hong Gildo{'n' * n}g" for n in (31, 100, 1000, 3000, 10000)),
]


@pytest.mark.parametrize("name", NAMES, ids=lambda name: f"{name[:6]}{len(name)}")
def test_a_name_of_words_longer_than_32_letters_is_a_name(name: str) -> None:
    text = f"Patient name: {name} and more"
    hits = find(text, SETTINGS, "annotation")
    assert [h.name for h in hits] == ["person_name"]  # failed on 848046f: none for the first words
    masked = default_masker()(text)
    assert masked.startswith("Patient name: [PERSON_NAME-") and masked.endswith("] and more")
    first, last = name.replace("^", " ").split()
    for at in (text.index(first) + 2, text.index(last) + 2, text.index(last) + len(last) - 1):
        kept = default_masker()(cut_head(text, at))  # the cut: a head that keeps no letter of the name
        assert first[:2] not in kept.removeprefix("Patient name") and last[:3] not in kept, at


@pytest.mark.parametrize("gap", ["&#32;", "&#x20;", "&#00000032;", "&nbsp;", "&#32"])
@pytest.mark.parametrize("count", [150, 250, 396, 600])
def test_a_cut_reaches_back_over_character_references_to_the_names_keyword(gap: str, count: int) -> None:
    text = "Patient name:" + gap * count + "Hong Gildong, seen" + "." * 100
    for kept in (clip(text, 2000), cut_head(text, text.index("Gildong") + 3)):
        masked = default_masker()(kept)
        assert "Hong" not in masked and "Gildong" not in masked  # failed on 848046f (&#32; x396)


@pytest.mark.parametrize(
    "text",
    [
        "Patient name: Hong&#32Gildong",
        "Patient name: Hong&#00000032;Gildong",
        "Patient name: Hong&#x0000020;Gildong",
        "Patient name: Hong&nbsp;Gildong",
        "Patient name: Hong&nbspGildong",
        "Patient name: Hong&#160;Gildong",
        "Patient name: Hong&ensp;Gildong",
        "Patient name: Hong&comma;Gildong",
        "Patient name:&Tab;Hong Gildong",
        "Patient name: Hong\u00a0Gildong",
        "Patient name: Hong&#" + "0" * 5000 + "32;Gildong",
    ],
)
def test_a_reference_is_read_as_a_browser_reads_it(text: str) -> None:
    assert [h.name for h in find(text, SETTINGS, "annotation")] == ["person_name"]  # failed on 848046f
    assert "Gildong" not in default_masker()(text)


def test_a_reference_of_thousands_of_digits_is_no_crash() -> None:
    text = "a &#" + "9" * 5000 + "; b &#x" + "f" * 5000 + "; c"
    assert default_masker()(text) == text and find(text, SETTINGS, "annotation") == []


@pytest.mark.parametrize(
    "value",
    ["ISO 3166:1950", "ISO 9000:1950", "ISO 4217:1948", "ISO 8601-1:2000", "ISO 8601-3:2019", "ISO 9001-1"],
)
def test_an_iso_edition_never_issued_is_an_id(value: str) -> None:
    assert looks_identifying(value)  # failed on 848046f: taken for a standard


@pytest.mark.parametrize(
    "value", ["ISO 3166:1974", "ISO 9000:2015", "ISO 8601-2:2019", "ISO 8601:2004", "ISO 4217:2015"]
)
def test_an_iso_edition_issued_is_a_standard(value: str) -> None:
    assert not looks_identifying(value)


@pytest.mark.parametrize("seed", range(4))
def test_every_name_find_flags_the_masker_masks(seed: int) -> None:
    """One rule: what :func:`find` flags as a person name, the masker masks whole, wherever the
    windows fall (words and gaps of random lengths, a random lead before the keyword)."""
    rng = random.Random(seed)
    masker = default_masker()
    for _ in range(30):
        words = [
            rng.choice("ABCDEFGHKLMNPRSTW")
            + "".join(rng.choice("aeiou") for _ in range(rng.choice((3, 40, 900, 3000))))
            for _ in range(rng.randint(2, 4))
        ]
        gaps = [
            rng.choice((" ", ", ", "^", "&#32;", "&nbsp;")) * rng.choice((1, 300, 2000)) for _ in words[1:]
        ]
        name = words[0] + "".join(gap + word for gap, word in zip(gaps, words[1:], strict=True))
        text = "x. " * rng.randint(0, 1500) + "Patient name: " + name + ". end"
        assert [h.name for h in find(text, SETTINGS, "annotation")] == ["person_name"]
        masked = masker(text)
        assert not any(word[:3] in masked for word in words), seed  # failed on 848046f
