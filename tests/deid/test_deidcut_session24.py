"""Task deidcut (session 24): the cut's look-back over backslash escapes of invisible characters.

JSON text writes U+200B as ``\\u200b``, which the masker and :func:`dqm.identifiers.find` read as
nothing, as they read the raw character: a run of such escapes parts no identifier, so a cut in
the middle of the run must reach back over it to the identifier's start, as over a raw run."""

from __future__ import annotations

import pytest

from dqm.findings import clip
from tests.deid.deid_helpers import CUT_CASES, default_masker, kinds_found

ESC = "\\u200b"  # a backslash, then u200b: as JSON text holds it


@pytest.mark.parametrize("count", [300, 1100, 3000])
@pytest.mark.parametrize(
    ("head", "tail", "kind"),
    CUT_CASES,
)
def test_cut_inside_a_run_of_escaped_invisible_characters(
    head: str, tail: str, kind: str, count: int
) -> None:
    text = head + ESC * count + tail
    assert kind in kinds_found(text)
    kept = default_masker()(clip(text + " " + "x" * 3000, len(head) + len(ESC) * (count // 2)))
    # no part of the identifier before the run is kept (the masker sees nothing to mask there)
    assert head.split()[-1].split("-")[-1] not in kept
