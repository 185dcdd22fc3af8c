"""Session 31 (deidko7f), the review of deidko7: a Korean name list parted by ``/`` that a masker's window cut left
the names after the cut in clear (``"성명: 홍길동" + "/김지은" * 5000`` showed 3,978 ``김지은``): the pending name a
window keeps scanning (:data:`dqm.identifiers._PENDING_NAME`) now goes on after ``/`` as the list does."""

from __future__ import annotations

import pytest

from tests.deid.deid_helpers import default_masker

NAMES = ["김지은", "이철수", "박민수", "최영희"]


@pytest.mark.parametrize("pad", range(0, 4200, 97))
def test_a_long_slash_list_a_window_cuts_is_masked_whole(pad: int) -> None:
    text = "x " * (pad // 2) + "성명: 홍길동/" + "/".join(NAMES[i % 4] for i in range(200)) + "\n"
    masked = default_masker()(text)
    assert not [name for name in NAMES if name in masked]
    assert masked.startswith("x " * (pad // 2) + "성명: [PERSON_NAME-")


def test_five_thousand_slashed_names_are_masked() -> None:
    masked = default_masker()("성명: 홍길동" + "/김지은" * 5000)
    assert masked.count("김지은") == 0
