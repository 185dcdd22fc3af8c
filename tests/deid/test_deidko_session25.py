"""Session 25 (deidko): a Korean name after a keyword the rules did not know (``환자 김철수``,
``환자명_김철수``, ``pt_김철수``), and hex runs (UUID file names) no longer read as dates or phone
numbers."""

from __future__ import annotations

import random
import uuid

import pytest

from dqm.identifiers import DeidSettings, Masker, find

S = DeidSettings()


def _kinds(text: str, place: str = "filename") -> list[str]:
    return [hit.name for hit in find(text, S, place)]  # type: ignore[arg-type]


def test_random_uuids_are_no_date_nor_phone() -> None:
    """34,000 seeded random UUIDs as file names: none flagged (24 were, as a date or a phone
    number, before: ``3f2a1b9c-2024-0101-…``)."""
    rng = random.Random(25)
    flagged = [
        name for _ in range(34_000) if _kinds(name := f"{uuid.UUID(int=rng.getrandbits(128), version=4)}.svs")
    ]
    assert flagged == []


@pytest.mark.parametrize(
    "name",
    [
        "3f2a1b9c-2024-0101-8abc-0123456789ab.svs",  # a date across the UUID's groups
        "20240101-3f2a-4b1c-8abc-0123456789ab.svs",  # its first group all digits
        "3f2a1b9c-a010-1234-5678-abcdef012345.svs",  # a phone number across its groups
        "3F2A1B9C-2024-0101-8ABC-0123456789AB.svs",  # upper case
        "3f2a1b9c20240101abcd0123456789ab.svs",  # no dashes: 32 hex digits
        "d41d8cd98f00b204e9800998ecf8427e20240101.bin",  # a hex digest: 40 digits
    ],
)
def test_a_date_inside_a_hex_run_is_none(name: str) -> None:
    assert "date_in_filename" not in _kinds(name)
    assert "phone_number" not in _kinds(name)


@pytest.mark.parametrize(
    "name",
    [
        "2024-03-01_3f2a1b9c-4d2e-4b1c-8abc-0123456789ab.svs",  # a date beside a UUID
        "3f2a1b9c-4d2e-4b1c-8abc-0123456789ab_20240301.svs",
        "20240301-3f2a1b9c-4d2e-4b1c-8abc-0123456789ab.svs",  # glued by a dash
        "slide-20240301-abc.svs",  # short hex-looking words around it
        "case20240301fa.svs",
        "2024-03-01_slide.svs",
    ],
)
def test_a_date_beside_a_hex_run_is_still_one(name: str) -> None:
    assert "date_in_filename" in _kinds(name)


def test_a_phone_number_beside_a_uuid_is_still_one() -> None:
    text = "call 010-1234-5678 re 3f2a1b9c-4d2e-4b1c-8abc-0123456789ab"
    assert "phone_number" in _kinds(text, "clinical")
    masked = Masker(S, b"k" * 32)(text)
    assert "010-1234-5678" not in masked and "3f2a1b9c-4d2e-4b1c-8abc-0123456789ab" in masked


def test_a_phone_like_run_inside_a_uuid_is_not_masked() -> None:
    text = "id 3f2a1b9c-a010-1234-5678-abcdef012345"
    assert _kinds(text, "clinical") == []
    assert Masker(S, b"k" * 32)(text) == text


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("환자 김철수", "possible_name"),  # no ``:``: as often a word (deidkof), a quasi-identifier
        ("환자명_김철수", "person_name"),
        ("환자:김철수", "possible_name"),
        ("환자 : 김철수", "possible_name"),
        ("환자-김철수", "possible_name"),
        ("pt_김철수", "possible_name"),
        ("PT 김철수", "possible_name"),
        ("피검자 김철수", "possible_name"),
        ("피검자명_김철수", "person_name"),
        ("성명_김철수", "person_name"),
        ("이름-홍길동", "person_name"),
        ("환자_남궁민", "possible_name"),
        ("환자 제갈성렬", "possible_name"),
        ("환자 이몽룡 (M/45)", "possible_name"),
    ],
)
@pytest.mark.parametrize("place", ["clinical", "filename", "slide"])
def test_a_korean_name_after_a_korean_keyword(text: str, kind: str, place: str) -> None:
    """A surname-led Hangul word of 2 to 4 syllables after ``환자``, ``환자명``, ``성명``, ``이름``,
    ``피검자`` or ``pt`` joined by a space, ``_``, ``:`` or ``-``: found, and masked as found."""
    assert _kinds(text, place) == [kind]
    shown = Masker(S, b"k" * 32)(f"row 7: {text}.svs")
    assert f"[{kind.upper()}-" in shown
    assert not any(name in shown for name in ("김철수", "홍길동", "남궁민", "성렬", "몽룡"))


@pytest.mark.parametrize(
    "text",
    [
        "환자번호 12345",  # a keyword glued to its word
        "환자 수 12",  # one syllable
        "환자 번호 12345",  # no surname first (번)
        "환자 연락처 010",  # a column header's word
        "환자 김철수입니다만요",  # longer than a name (a sentence)
        "사용자명_조회",  # no keyword
        "opt_김철수",  # pt inside a word
        "환자_Kim",  # Latin after a Korean-only keyword
    ],
)
def test_no_korean_name(text: str) -> None:
    assert not {"person_name", "possible_name"} & set(_kinds(text, "clinical"))


def test_dqm_s_own_korean_messages_hold_no_korean_name() -> None:
    """A phrase of dqm's Korean catalogue is no name (``환자 정보 없음``: it would be masked in a
    Korean report)."""
    from pathlib import Path

    import dqm

    po = Path(dqm.__file__).parent / "locale" / "ko" / "LC_MESSAGES" / "dqm.po"
    lines = [line for line in po.read_text(encoding="utf-8").splitlines() if line.startswith(("msgstr", '"'))]
    assert [line for line in lines if {"person_name", "possible_name"} & set(_kinds(line, "clinical"))] == []


def _batch_check(check: str, files: tuple[str, ...] = (), items: tuple[tuple[str, str], ...] = ()) -> list:
    """``check`` (a batch check) over a batch listing ``files`` and holding items of these
    (slide, annotation) paths."""
    from dqm.profile import load_profile
    from validators import REGISTRY
    from validators.context import BatchView
    from validators.engine import configure
    from validators.registry import CheckContext

    from .test_deid import Item

    profile = load_profile()
    spec = REGISTRY[check]
    cfg = {c.id: c for c in configure(profile)}[check]
    ctx = CheckContext(spec, "batch", cfg.severities, "manifest.csv")
    facts = [Item(f"s{i}", slide, ann, {}, None) for i, (slide, ann) in enumerate(items)]
    view = BatchView(profile, facts, "manifest.csv", files=files)  # type: ignore[arg-type]
    return spec.func(view, cfg.params, ctx)


DATED = tuple(f"slides/2024-03-{1 + i % 28:02d}_S{i:05d}.svs" for i in range(34))


def test_dated_file_names_are_one_warning_for_the_delivery() -> None:
    """34 dated slides: one warning saying 34, the first five shown with their dates masked (a
    delivery that dated every file had a warning a file: 34,000 for 34,000 slides)."""
    (found,) = _batch_check("deid.file_name_dates", files=DATED)
    assert (found.code, found.severity.value) == ("DEID_FILENAME_DATES", "warning")
    assert found.location.file == DATED[0]  # where the first is: a waiver's or a baseline's handle
    assert "34 file and folder names" in found.message and "the first 5:" in found.message
    assert "slides/20********_S00000.svs" in found.message and "slides/20********_S00004.svs" in found.message
    assert "S00005" not in found.message and "2024-03" not in found.message


def test_the_items_own_dated_names_are_counted_each_name_once() -> None:
    """The items' own files, a dated folder once whatever it holds, then the files listed."""
    items = (("2024-03-01/a.svs", "2024-03-01/a.json"), ("2024-03-01/b.svs", "ann/b_20240302.json"))
    (found,) = _batch_check(
        "deid.file_name_dates", files=("notes/20240303.txt", "notes/plain.txt"), items=items
    )
    assert "date (a birth, procedure or scan date) in 3 file and folder names" in found.message
    assert found.location.file == "2024-03-01/a.svs"


def test_no_date_no_finding_and_a_uuid_is_none() -> None:
    uuids = ("slides/3f2a1b9c-2024-0101-8abc-0123456789ab.svs", "slides/plain.svs")
    assert _batch_check("deid.file_name_dates", files=uuids) == []


def test_a_dated_name_is_no_longer_a_warning_a_file() -> None:
    """``deid.other_names`` and ``deid.file_names`` leave a lone date to the delivery's count; a
    date beside an identifier keeps the identifier's finding."""
    assert _batch_check("deid.other_names", files=DATED) == []
    (found,) = _batch_check("deid.other_names", files=("slides/900101-1234567_2024-03-01.svs",))
    assert found.code == "DEID_OTHER_NAME_IDENTIFIER"


def test_a_waiver_still_waives_the_delivery_s_warning() -> None:
    import datetime as dt

    from dqm.delivery import Waiver
    from dqm.waivers import covers

    (found,) = _batch_check("deid.file_name_dates", files=DATED)
    every = Waiver(
        code="DEID_FILENAME_DATES", file="*", reason="scan dates", approved_by="x", expires=dt.date.max
    )
    assert covers(every, found)
    by_folder = Waiver(
        code="DEID_FILENAME_DATES", file="slides/*", reason="r", approved_by="x", expires=dt.date.max
    )
    assert covers(by_folder, found)
    elsewhere = Waiver(
        code="DEID_FILENAME_DATES", file="other/*", reason="r", approved_by="x", expires=dt.date.max
    )
    assert not covers(elsewhere, found)


def test_a_dated_folder_no_longer_hides_the_identifier_in_the_file_name() -> None:
    """``deid.file_names`` stopped at the first part of a path with a finding: a dated folder's
    warning hid the resident number in the file's own name."""
    from dqm.profile import load_profile

    from .test_deid import Item, deid_findings, view_of

    item = Item("s1", "2024-03-01/900101-1234567.svs", "ann/s1.json", {}, None)
    found = deid_findings(view_of(load_profile(), item=item))
    assert [(f.code, f.location.file) for f in found] == [("DEID_FILENAME_IDENTIFIER", item.image_path)]
