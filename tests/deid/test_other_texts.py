"""The text of the files a batch delivers and no item reads is searched for identifiers
(``deid.other_texts``): before it, an RRN in the root's README, in a ``.md`` note or ``.txt`` log
beside the slides (``FILE_NOT_READ``), or in an annotation file no item names
(``ORPHAN_ANNOTATION``) gave no DEID finding: the batch delivered it and passed."""

from __future__ import annotations

from pathlib import Path

import pytest

import dqm.batch
import dqm.runner
import validators.deid
from dqm.profile import Profile
from dqm.runner import RunOptions, run_batch
from tests.helpers import write_tiny_batch

RRN = "900101-1234567"
FILES = {
    "README.txt": f"delivered for 환자 {RRN}\n",
    "README.md": f"# notes\n{RRN}\n",
    "README": f"notes for {RRN}\n",  # no extension: read as the others
    "slides/notes.md": f"re-scan of {RRN}\n",
    "logs/scan.log": f"2024 scanner log, patient {RRN}\n",
    "annotations/S9.json": '{"slide": {"file": "S9.png"}, "note": "' + RRN + '"}',  # no item names it
}


def _found(root: Path, profile: Profile) -> list:  # type: ignore[type-arg]
    run = run_batch(root, profile, RunOptions(workers=1))
    assert not [f for f in run.findings if f.code == "CHECK_CRASHED"]
    return [f for f in run.findings if f.code.startswith("DEID_OTHER_TEXT")]


@pytest.mark.parametrize("name", list(FILES))
def test_a_file_no_item_reads_is_searched(tmp_path: Path, profile: Profile, name: str) -> None:
    root = write_tiny_batch(tmp_path / "b")
    (root / name).parent.mkdir(exist_ok=True)
    (root / name).write_text(FILES[name])
    found = _found(root, profile)
    assert [(f.code, f.location.file) for f in found] == [("DEID_OTHER_TEXT_IDENTIFIER", name)]
    assert "90************" in found[0].message and RRN not in found[0].message


def test_a_note_in_utf16_and_a_clean_batch(tmp_path: Path, profile: Profile) -> None:
    root = write_tiny_batch(tmp_path / "b")
    assert _found(root, profile) == []  # nothing to search: no finding
    (root / "notes.txt").write_bytes(f"patient {RRN}".encode("utf-16"))  # Notepad's "Unicode"
    assert [f.location.file for f in _found(root, profile)] == ["notes.txt"]


def test_text_past_the_bound_is_said_unsearched(
    tmp_path: Path, profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_tiny_batch(tmp_path / "b")
    (root / "README.txt").write_text("x" * 50 + RRN)
    monkeypatch.setattr(dqm.batch, "MANIFEST_UNREAD_CHARS", 40)
    assert [f.code for f in _found(root, profile)] == ["DEID_OTHER_TEXT_UNSEARCHED"]


@pytest.mark.parametrize("form", ["PNG", "TIFF"])
def test_the_text_an_orphan_slide_carries_is_searched(tmp_path: Path, profile: Profile, form: str) -> None:
    from PIL import Image, PngImagePlugin

    root = write_tiny_batch(tmp_path / "b")
    image = Image.new("RGB", (40, 30), (230, 170, 200))
    if form == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", f"patient {RRN}")
        image.save(root / "slides" / "S9.png", pnginfo=info)  # no manifest row names it
    else:
        image.save(root / "slides" / "S9.tif", description=f"patient {RRN}")
    found = _found(root, profile)
    assert [(f.code, f.location.file) for f in found] == [
        ("DEID_OTHER_TEXT_IDENTIFIER", f"slides/S9.{'png' if form == 'PNG' else 'tif'}")
    ]


def test_a_file_past_those_searched_one_by_one_is_named(
    tmp_path: Path, profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hit past the first files is at its own file: it was said at the first of them."""
    monkeypatch.setattr(validators.deid, "MAX_KEPT_ONE_BY_ONE", 4)
    root = write_tiny_batch(tmp_path / "b")
    (root / "notes").mkdir()
    for k in range(20):
        (root / "notes" / f"n{k:02}.txt").write_text(f"patient {RRN}\n" if k == 15 else "clean\n")
    assert [f.location.file for f in _found(root, profile)] == ["notes/n15.txt"]


def test_nothing_is_read_for_a_search_that_is_off(
    tmp_path: Path, profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(disc: object) -> None:
        raise AssertionError("read with deid off")

    root = write_tiny_batch(tmp_path / "b")
    (root / "README.txt").write_text(f"patient {RRN}\n")
    off = Profile.model_validate({**profile.model_dump(), "deid": {"enabled": False}})
    monkeypatch.setattr(dqm.runner, "delivered_texts", refused)
    assert _found(root, off) == []
