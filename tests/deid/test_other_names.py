"""Identifiers in the names of files and folders no item reads (an orphan slide, a note beside the
slides, a name that is not UTF-8, a DICOM series' other file) are de-identification findings like
the items' own file names: each was delivered, and before ``deid.other_names`` a batch carrying
``환자 900102-1234567/`` passed de-identification with a ``FILE_NOT_READ`` warning."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from dqm.synth import build_batch

    root = tmp_path_factory.mktemp("other") / "batch"
    build_batch(root, 3, seed=5, defect_rate=0.0, max_size=256)
    folder = root / "slides" / "환자 900102-1234567"  # a folder named with an RRN, holding a note
    folder.mkdir()
    (folder / "note.txt").write_text("x")
    (folder / "more.txt").write_text("x")  # the same folder: one finding, not one a file
    rows = list(csv.DictReader((root / "manifest.csv").read_text().splitlines()))
    orphan = root / rows[0]["image_path"]  # a slide no manifest row names, its name an RRN
    os.link(orphan, orphan.with_name("900103-1234567.tiff"))
    # a name written on a Korean Windows (not UTF-8): its bytes are the RRN's digits too
    os.link(
        orphan, os.path.join(os.fsencode(orphan.parent), "홍길동_900104-1234567".encode("cp949") + b".tiff")
    )
    (root / "slides" / "plain-notes.txt").write_text("x")  # a name without one: nothing
    series = root / "slides" / "series"  # a DICOM slide's other files: no issue names them
    series.mkdir()
    (series / "S9.dcm").write_bytes(b"\0" * 132)
    (series / "900105-1234567.dcm").write_bytes(b"\0" * 132)
    with (root / "manifest.csv").open("a", newline="") as fh:
        csv.DictWriter(fh, rows[0].keys()).writerow(
            {**rows[0], "slide_id": "S9", "image_path": "slides/series/S9.dcm", "annotation_path": ""}
        )
    return root


def test_names_no_item_reads_are_searched_for_identifiers(
    batch: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DQM_MASK_KEY", "a test key of at least 16 characters")
    out = tmp_path / "f.json"
    res = runner.invoke(app, ["validate", str(batch), "--json", str(out), "--workers", "1"])
    assert res.exit_code == 1, res.output
    text = out.read_text()
    assert "1234567" not in text and "1234567" not in res.output
    found = [f for f in json.loads(text) if f["check"] == "deid.other_names"]
    assert [f["code"] for f in found] == ["DEID_OTHER_NAME_IDENTIFIER"] * 4, found
    assert all(f["severity"] == "error" and "in the file name" in f["message"] for f in found)
    files = sorted(f["location"]["file"] for f in found)
    assert files[0].startswith("slides/") and files[0].endswith(".tiff")  # the orphan
    assert sum("note" in f or "more" in f for f in files) == 1  # the folder once
    assert any("\\x" in f for f in files)  # the name not UTF-8, its bad bytes escaped
    assert any(f.startswith("slides/series/") for f in files)  # the DICOM series' other file


def _other_names(
    files: tuple[str, ...] = (), not_utf8_names: tuple[bytes, ...] = (), check: str = "deid.other_names"
) -> list:
    """``check`` (``deid.other_names``) over a batch of no item listing ``files`` and reporting each of
    ``not_utf8_names`` (bytes) as the batch layout does, shown with its bad bytes as ``\\xNN``."""
    from dqm.model import DiscoveryIssue
    from dqm.output import not_utf8
    from dqm.profile import load_profile
    from validators import REGISTRY
    from validators.context import BatchView
    from validators.engine import configure
    from validators.registry import CheckContext

    profile = load_profile()
    spec = REGISTRY[check]
    cfg = {c.id: c for c in configure(profile)}[check]
    ctx = CheckContext(spec, "batch", cfg.severities, "manifest.csv")
    shown = [not_utf8("slides/" + raw.decode("utf-8", "surrogateescape")) for raw in not_utf8_names]
    issues = [DiscoveryIssue("NAME_NOT_UTF8", "not UTF-8", file=name) for name in shown]
    view = BatchView(profile, [], "manifest.csv", discovery_issues=issues, files=files)
    return spec.func(view, cfg.params, ctx)


@pytest.mark.parametrize(
    ("name", "what"),
    [("환자명 김철수.txt", "person name"), ("생년월일 1987-06-15.txt", "date of birth")],
)
def test_a_name_written_on_a_korean_windows_is_searched_as_it_reads_there(name: str, what: str) -> None:
    """Its ``\\xNN`` form hid the name and the birth date from every pattern: the first gave no
    finding, the second a date's warning only, while NAME_NOT_UTF8's message read it as CP949."""
    (found,) = _other_names(not_utf8_names=(name.encode("cp949"),))
    assert found.code == "DEID_OTHER_NAME_IDENTIFIER" and what in found.message, found
    assert "\\x" in found.location.file  # where it is: the name as the batch layout shows it
    assert "김철수" not in found.message and "1987-06-15" not in found.message


def test_a_name_not_utf8_that_is_not_korean_is_searched_as_shown() -> None:
    """A Latin-1 name is no CP949 (``Tumorgröße`` would read ``Tumorgr秤e``): its escaped form is
    searched, the phone number in it a warning as in any name, the date counted with the
    delivery's others (``deid.file_name_dates``)."""
    (found,) = _other_names(not_utf8_names=("Tumorgröße 010-1234-5678.txt".encode("latin-1"),))
    assert found.code == "DEID_OTHER_NAME_QUASI", found
    dated = ("Tumorgröße 1987-06-15.txt".encode("latin-1"),)
    assert _other_names(not_utf8_names=dated) == []
    (found,) = _other_names(not_utf8_names=dated, check="deid.file_name_dates")
    assert found.code == "DEID_FILENAME_DATES" and "\\x" in found.location.file, found


def test_a_dated_name_no_item_reads_keeps_its_path_as_an_items_own_does() -> None:
    """One rule for names: a date with no birth keyword is counted in the delivery's one warning
    (``deid.file_name_dates``) for a file no item reads as for an item's own file, its message
    masked and its ``file`` the first path itself (the masker masks no date; the path is how the
    file is found)."""
    from dqm.identifiers import find
    from dqm.profile import load_profile

    assert _other_names(files=("slides/scan_1987-06-15.txt",)) == []
    (found,) = _other_names(files=("slides/scan_1987-06-15.txt",), check="deid.file_name_dates")
    settings = load_profile().deid
    (hit,) = find("scan_1987-06-15.txt", settings, "filename")
    assert (found.code, hit.level) == ("DEID_FILENAME_DATES", "quasi")
    assert found.location.file == "slides/scan_1987-06-15.txt" and "1987-06-15" not in found.message
