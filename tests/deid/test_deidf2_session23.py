"""Task deidf2 (session 23): the second review of task deidf's findings.

A header row whose columns a tab or two spaces part (``PATIENT NAME<TAB>DATE OF BIRTH<TAB>SEX``)
holds no name, while a surname that is a header's word after ``: `` stays a name; a reference
whose ``&`` is escaped in any way a reader decodes (``&AMP;#``, ``&amp#``, ``&#38;#``, ``&#x26;#``,
``&amp;&#35;``) is searched as written."""

from __future__ import annotations

import json

import pytest

from dqm.identifiers import cut_outside_identifiers
from tests.deid.deid_helpers import RRN, default_masker, kinds_found


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Patient name: Sample^Joe", "Sample"),
        ("Patient name: DATE^ANIL", "DATE"),
        ("Patient name: Organ, Bryan", "Organ"),
        ("PATIENT NAME: STAGE JOHN", "STAGE"),
        ("Patient name: Age Kim", "Age"),
        ("Patient Name\tHong Gildong", "Hong"),
        ("Patient Name\tKIM MINSU", "KIM"),
        ("PATIENT NAME  HONG GILDONG", "HONG"),
    ],
)
def test_a_name_stays_a_name_beside_the_header_rule(text: str, name: str) -> None:
    assert kinds_found(text) == ["person_name"]
    assert name not in default_masker()(text)


@pytest.mark.parametrize(
    "text",
    [
        f"RRN &AMP;#{RRN} ok",
        f"RRN &amp#{RRN} ok",
        f"RRN &#38;#{RRN} ok",
        f"RRN &#x26;#{RRN} ok",
        f"RRN &#X0026;#{RRN} ok",
        f"RRN &amp;&#35;{RRN} ok",
        f"RRN &amp;#38;&#x23;{RRN} ok",
    ],
)
def test_a_reference_behind_any_escaped_ampersand_is_searched_as_written(text: str) -> None:
    masked = default_masker()(text)
    # failed on 94e950d: neither flagged nor masked (only a literal ``&(amp;)*#`` was searched as written)
    assert kinds_found(text) == ["korean_rrn"]
    assert "[KOREAN_RRN-" in masked and RRN[-4:] not in masked
    assert json.loads(json.dumps(masked)) == masked
    start = text.index(RRN)
    for at in range(start + 1, start + len(RRN)):  # a cut inside it keeps none of it
        assert cut_outside_identifiers(text, at) <= start, at


@pytest.mark.parametrize("text", [f"RRN &#35;{RRN} ok", f"RRN #{RRN} ok", "tag &amp;#38; x 12"])
def test_an_ampersand_or_a_hash_alone_takes_in_no_number_that_is_none(text: str) -> None:
    # a ``#`` written as ``&#35;`` with no ``&`` before it is read as a ``#``: the number is read whole
    assert kinds_found(text) == (["korean_rrn"] if RRN in text else [])
