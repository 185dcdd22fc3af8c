"""A category spelled in decomposed code points (NFD, as a manifest written on macOS holds
Hangul or an accent) is the profile's category and the same one as its composed spelling."""

from __future__ import annotations

import unicodedata

from dqm.clinical_table import RowSource, build_table, validate_table
from dqm.diversity import diversity_result
from dqm.profile import FieldDef, Profile
from dqm.synth.summaries import synthetic_items


def _nfd(word: str) -> str:
    return unicodedata.normalize("NFD", word)


def test_an_nfd_category_is_in_the_profiles_set(profile: Profile) -> None:
    # "sex ('여성'): expected one of 여성, 남성": the NFD spelling was not the profile's word
    fields = {**profile.clinical, "sex": FieldDef(type="category", values=["여성", "남성"])}
    p = profile.model_copy(update={"clinical": fields})
    cells = [_nfd("여성"), "남성", _nfd("남성"), "기타"]
    sources = [RowSource(f"S{k}", "manifest.csv", k + 1) for k in range(len(cells))]
    frame = build_table([{"sex": c} for c in cells], sources, p)
    failures = [f for f in validate_table(frame, sources, p).failures if f.column == "sex"]
    assert [(f.code, f.rows) for f in failures] == [("CLINICAL_NOT_IN_SET", (3,))]


def test_nfc_and_nfd_spellings_are_one_category_in_the_counts(profile: Profile) -> None:
    # the counts held 여성 twice (67 and 66) and Café twice, and the note called both undeclared
    fields = {**profile.clinical, "sex": FieldDef(type="category", values=[_nfd("여성"), "Café"])}
    p = profile.model_copy(update={"clinical": fields})
    items = synthetic_items(60, seed=3)
    spelled = ["여성", _nfd("여성"), "Café", _nfd("Café")]
    items = [
        i.model_copy(update={"clinical": {**i.clinical, "sex": spelled[k % 4]}}) for k, i in enumerate(items)
    ]
    d = diversity_result(items, p)
    sex = next(c for c in d.categorical if c.name == "sex")
    assert sex.counts == {"여성": 30, "Café": 30}
    assert not [n for n in d.notes if n.startswith("sex")]
