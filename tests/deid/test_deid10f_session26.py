"""The review of deid10 (session 26): a header's word and a given name parted by a gap with
characters written inside a word beside it, every way a profile turns a built-in pattern off
warned of, a bidirectional control printed as its escape wherever a path is shown, the isolate's
trade as documented, and a file name searched as one text by every name check."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.cli import app
from tests.deid.deid_helpers import assert_no_name, default_masker, kinds_found
from tests.deid.test_deid10_session26 import _profile_with, count_searches
from tests.helpers import write_tiny_batch


@pytest.mark.parametrize(
    "written",
    ["SAMPLE\u200b\u00adJOE", "SAMPLE\u00ad\u200bJOE", "SAMPLE\u2066\u200dJOE", "Age\u200e\u200b\ufeffKim"],
)
def test_a_gap_with_in_word_characters_beside_it_parts_a_header_word_from_a_given_name(written: str) -> None:
    """``_GIVEN_GAP`` alone left these out: no finding, the name in clear in every output."""
    text = f"Patient Name\t{written}\t45"
    assert kinds_found(text) == ["person_name"]
    masked = default_masker()(text)
    assert written not in masked and "JOE" not in masked and "Kim" not in masked
    assert masked.startswith("Patient Name\t[PERSON_NAME-") and masked.endswith("\t45")


@pytest.mark.parametrize(
    "header",
    [
        "Patient Name\tSample\u200b\u00adCollection Date\tAge",
        "Patient Name\tSample\u00ad\u200bCollection\u200b\u00adDate",
        "Patient Name\tSample\u2066\u200dDescriptor\tAge",
    ],
)
def test_header_rows_with_such_gaps_stay_unnamed(header: str) -> None:
    assert_no_name(header)


@pytest.mark.parametrize(
    "turned_off",
    ["possible_name: {regex: ''}", "possible_name: {places: []}", "possible_name: {enabled: false}"],
)
def test_every_way_of_turning_a_built_in_pattern_off_is_warned_of(tmp_path: Path, turned_off: str) -> None:
    from dqm.identifiers import find
    from dqm.profile import load_profile

    path = _profile_with(tmp_path, f"    {turned_off}\n")
    assert [h.name for h in find("환자 김철수", load_profile(path).deid, "clinical")] == []  # it is off
    annotation = tmp_path / "a.json"
    annotation.write_text('{"slide": {"file": "x.png", "width": 4, "height": 3}, "lesions": []}')
    res = CliRunner().invoke(app, ["validate", str(annotation), "--profile", str(path)])
    said = " ".join(res.output.split())  # the console wraps its lines
    assert "built-in de-identification pattern possible_name (quasi)" in said, res.output


def test_a_profile_narrowing_a_built_in_pattern_is_not_warned_of(tmp_path: Path) -> None:
    annotation = tmp_path / "a.json"
    annotation.write_text('{"slide": {"file": "x.png", "width": 4, "height": 3}, "lesions": []}')
    path = _profile_with(tmp_path, "    possible_name: {places: [clinical]}\n")
    res = CliRunner().invoke(app, ["validate", str(annotation), "--profile", str(path)])
    assert "turns off" not in " ".join(res.output.split()), res.output


BIDI = {"\u202e": "\\u202e", "\u2066": "\\u2066", "\u2067": "\\u2067"}


def _escaped(text: str, *marks: str) -> None:
    """``text`` shows each of ``marks`` as its escape and holds no raw bidirectional control."""
    assert not any(c in text for c in BIDI), [hex(ord(c)) for c in BIDI if c in text]
    flat = "".join(text.split())  # the console wraps a long path at its width, inside an escape too
    for mark in marks:
        assert BIDI[mark] in flat, (mark, text[-2000:])


def test_a_bidi_control_in_a_shown_path_is_printed_as_its_escape(tmp_path: Path) -> None:
    """A slide file no item refers to (its path in the finding, unmasked: no identifier in it), a
    batch folder and an output folder each named with a bidirectional control: the console, the
    report's page (its findings' data too), summary.md and ``dqm report``'s page and summary show
    the control's escape (the bytes' order), never the control."""
    from PIL import Image

    from reports.html import unpack_island

    root = write_tiny_batch(tmp_path / "bat\u2066ch")
    Image.new("RGB", (400, 300), (230, 170, 200)).save(root / "slides" / "evil\u202egpj.png")
    out = tmp_path / "o\u202eut"
    res = CliRunner().invoke(app, ["audit", str(root), "--out", str(out), "--workers", "1"])
    assert res.exit_code == 1, res.output
    (orphan,) = [
        f
        for f in json.loads((out / "results.json").read_text("utf-8"))["findings"]
        if f["code"] == "ORPHAN_SLIDE"
    ]
    assert orphan["location"]["file"] == "slides/evil\u202egpj.png"  # as it is, in the data only
    _escaped(res.output, "\u202e")  # the output folder's name
    html = (out / "report.html").read_text("utf-8")
    _escaped(html, "\u2066")  # the batch's folder
    island = unpack_island(html.split('id="dqm-data">')[1].split("</script>")[0])
    _escaped(json.dumps(island, ensure_ascii=False), "\u202e")  # the orphan's path
    assert "slides/evil\\u202egpj.png" in island["strings"]
    _escaped((out / "summary.md").read_text("utf-8"), "\u2066")
    page = tmp_path / "r\u2067" / "page.html"
    printed = CliRunner().invoke(
        app, ["report", str(out / "results.json"), "-o", str(page), "--summary", str(page.with_suffix(".md"))]
    )
    assert printed.exit_code in (0, 1), printed.output
    _escaped(printed.output, "\u2067")
    _escaped(page.read_text("utf-8"), "\u2066")
    _escaped(page.with_suffix(".md").read_text("utf-8"), "\u2066")
    checked = CliRunner().invoke(app, ["validate", str(root)])
    _escaped(checked.output, "\u202e")
    assert "evil\\u202egpj.png" in checked.output and "ORPHAN_SLIDE" in checked.output


def test_an_isolate_in_a_header_masks_that_cell_only_as_documented() -> None:
    """docs/formats.md's ``person_name`` row: the trade masks the cell, never the header's next ones
    (session 27: a name never crosses a tab)."""
    masked = default_masker()("PATIENT NAME\tDIAG\u2066NOSIS\tAGE")
    assert masked.startswith("PATIENT NAME\t[PERSON_NAME-") and masked.endswith("]\tAGE")
    docs = (Path(__file__).parents[2] / "docs" / "formats.md").read_text("utf-8")
    assert "`PATIENT NAME<TAB>DIAG<U+2066>NOSIS<TAB>AGE` is masked to" in docs


def _cp949_shown(name: str) -> str:
    from dqm.output import not_utf8

    return not_utf8(os.fsdecode(name.encode("cp949"))) or name


def test_a_name_shown_with_its_bad_bytes_is_searched_once_as_it_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``deid.file_names`` searched an item's ``\\xNN`` name as written (where the name it holds
    is no one's: the Korean name in it went unflagged), ``deid.file_name_dates`` as it reads on a
    Korean Windows: two searches of one name, and a leak."""
    from dqm.model import Item
    from dqm.profile import load_profile
    from validators import REGISTRY
    from validators.context import BatchView
    from validators.engine import configure
    from validators.registry import CheckContext

    from .test_deid import view_of

    searched = count_searches(monkeypatch)
    shown = _cp949_shown("환자명_김철수_2024-03-01.svs")
    assert "\\x" in shown
    items = [Item("s1", f"slides/{shown}", "ann/s1.json", {}, None)]
    profile = load_profile()
    configured = {c.id: c for c in configure(profile)}
    spec, cfg = REGISTRY["deid.file_names"], configured["deid.file_names"]
    own = spec.func(
        view_of(profile, item=items[0]), cfg.params, CheckContext(spec, "item", cfg.severities, "x")
    )
    assert [f.code for f in own] == ["DEID_FILENAME_IDENTIFIER"]
    assert "김철수" not in own[0].message
    spec, cfg = REGISTRY["deid.file_name_dates"], configured["deid.file_name_dates"]
    batch = BatchView(profile, items, "manifest.csv", files=(f"slides/{shown}",))
    dated = spec.func(batch, cfg.params, CheckContext(spec, "batch", cfg.severities, "manifest.csv"))
    assert [f.code for f in dated] == ["DEID_FILENAME_DATES"]
    assert sorted(searched) == sorted(set(searched)), searched  # each name once
    assert "환자명_김철수_2024-03-01.svs" in searched  # as it reads; as written too (below), once


def test_a_name_the_korean_reading_hides_is_found_as_written() -> None:
    """A second review: ``file_names`` searched an item's ``\\xNN`` name only as it reads on a
    Korean Windows, where ``\\xa0G`` became one syllable and ``Hong Gildong`` no name; the
    written form is searched too (no other check searches an item's own names)."""
    from dqm.model import Item
    from dqm.output import not_utf8
    from dqm.profile import load_profile
    from validators import REGISTRY
    from validators.engine import configure
    from validators.registry import CheckContext

    from .test_deid import view_of

    raw = b"Patient name Hong\xa0Gildong_" + "김철수_조직검사_병리과".encode("cp949") + b".svs"
    shown = not_utf8(os.fsdecode(raw))
    profile = load_profile()
    configured = {c.id: c for c in configure(profile)}
    spec, cfg = REGISTRY["deid.file_names"], configured["deid.file_names"]
    item = Item("s1", f"slides/{shown}", "ann/s1.json", {}, None)
    own = spec.func(view_of(profile, item=item), cfg.params, CheckContext(spec, "item", cfg.severities, "x"))
    assert [f.code for f in own] == ["DEID_FILENAME_IDENTIFIER"]
    assert "Gildong" not in own[0].message


def test_a_name_no_item_reads_that_the_korean_reading_hides_is_found_as_written() -> None:
    """A last review: ``other_names`` searched a name no item reads only as it reads on a Korean
    Windows (``Patient name Hong\\xa0Gildong_<CP949>.txt`` under ``notes/``: only NAME_NOT_UTF8);
    it is searched as written too, as an item's own names are."""
    from dqm.output import not_utf8
    from dqm.profile import load_profile
    from validators import REGISTRY
    from validators.context import BatchView
    from validators.engine import configure
    from validators.registry import CheckContext

    raw = b"Patient name Hong\xa0Gildong_" + "김철수_조직검사_병리과".encode("cp949") + b".txt"
    shown = f"notes/{not_utf8(os.fsdecode(raw))}"
    profile = load_profile()
    configured = {c.id: c for c in configure(profile)}
    spec, cfg = REGISTRY["deid.other_names"], configured["deid.other_names"]
    batch = BatchView(profile, [], "manifest.csv", files=(shown,))
    found = spec.func(batch, cfg.params, CheckContext(spec, "batch", cfg.severities, "manifest.csv"))
    assert [f.code for f in found] == ["DEID_OTHER_NAME_IDENTIFIER"], found
    assert "Gildong" not in found[0].message
