"""Hostile file names: bytes that are not UTF-8, and control characters, escape sequences, bidi
overrides and line breaks in the names a command prints.

A name that is not UTF-8 cannot be written into any output (JSON, HTML and XML are UTF-8): it is a
finding (``NAME_NOT_UTF8``) and never taken into the batch, and the audit writes every output. A
folder that cannot be listed is a finding too (``FOLDER_UNREADABLE``), not left out in silence. What a
command prints from the batch is shown harmlessly: no escape sequence reaches the terminal, no name
displays reversed, one finding is one line.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dqm.batch import discover
from dqm.cli import app
from dqm.output import terminal_safe
from tests.helpers import write_tiny_batch

runner = CliRunner()


def _name(raw: bytes) -> str:
    return os.fsdecode(raw)


def test_a_name_that_is_not_utf8_is_a_finding_never_taken_into_the_batch(tmp_path: Path) -> None:
    root = write_tiny_batch(tmp_path / "b", manifest=False)
    shutil.copy(root / "annotations" / "S1.json", root / "annotations" / _name(b"caf\xe9.json"))
    (root / _name(b"d\xe9j\xe0")).mkdir()
    shutil.copy(root / "annotations" / "S1.json", root / _name(b"d\xe9j\xe0") / "S9.json")
    disc = discover(root)
    found = {(i.code, i.file) for i in disc.issues if i.code == "NAME_NOT_UTF8"}
    assert found == {("NAME_NOT_UTF8", "annotations/caf\\xe9.json"), ("NAME_NOT_UTF8", "d\\xe9j\\xe0/")}
    listed = disc.annotation_files + disc.slide_files + disc.other_files
    assert all(p.isprintable() for p in listed) and not any("S9" in p for p in listed)


def test_an_audit_of_a_batch_with_a_name_that_is_not_utf8_writes_every_output(tmp_path: Path) -> None:
    root = write_tiny_batch(tmp_path / "b")
    shutil.copy(root / "annotations" / "S1.json", root / "annotations" / _name(b"S1\xff\xfe.json"))
    out = tmp_path / "out"
    res = runner.invoke(app, ["audit", str(root), "--out", str(out), "--workers", "1"])
    assert res.exit_code == 1, res.output  # failed on the batch's defects, not an internal error (4)
    for name in ("results.json", "report.html", "junit.xml", "summary.md"):
        assert (out / name).is_file(), name
    findings = json.loads((out / "results.json").read_text(encoding="utf-8"))["findings"]
    (bad,) = [f for f in findings if f["code"] == "NAME_NOT_UTF8"]
    assert bad["location"]["file"] == "annotations/S1\\xff\\xfe.json"


def test_names_with_control_characters_print_harmlessly_one_finding_a_line(tmp_path: Path) -> None:
    root = write_tiny_batch(tmp_path / "b", manifest=False)
    names = ["esc\x1b[2J\x1b]0;pwned\x07.json", "bidi\u202egnp.json", "two\nlines.json", "c1\x9b31m.json"]
    for name in names:
        (root / "annotations" / name).write_text('{"slide": ')  # invalid JSON: a finding naming it
    res = runner.invoke(app, ["validate", str(root), "--workers", "1"])
    assert res.exit_code == 1, res.output
    printed = res.output
    for bad in ("\x1b", "\x07", "\u202e", "\x9b"):
        assert bad not in printed
    for shown in ("esc\\x1b[2J\\x1b]0;pwned\\x07.json", "bidi\\u202egnp.json", "two\\x0alines.json"):
        assert shown in printed
    lines = printed.splitlines()
    assert not any(line.startswith("lines.json") for line in lines)  # no forged line
    assert sum("c1\\x9b31m.json" in line for line in lines) >= 1


@pytest.mark.parametrize(
    ("text", "newlines", "shown"),
    [
        ("a\x1b[31mb", True, "a\\x1b[31mb"),
        ("x\u202ey\u2066z", True, "x\\u202ey\\u2066z"),
        ("one\ntwo\tthree\r", True, "one\ntwo\tthree\\x0d"),
        ("one\ntwo", False, "one\\x0atwo"),
        (os.fsdecode(b"bad\xff"), True, "bad\\xff"),
        ("plain 한글 text", False, "plain 한글 text"),
    ],
)
def test_terminal_safe(text: str, newlines: bool, shown: str) -> None:
    assert terminal_safe(text, newlines=newlines) == shown


def test_a_folder_that_cannot_be_listed_is_a_finding_not_a_silent_skip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a user without the permission (``chmod 000``): dqm runs as root here, so the refusal is
    the operating system's answer played by a stand-in ``os.scandir``."""
    root = write_tiny_batch(tmp_path / "b", manifest=False)
    (root / "locked").mkdir()
    shutil.copy(root / "annotations" / "S1.json", root / "locked" / "S9.json")
    scandir = os.scandir

    def refusing(path: str) -> Any:
        if os.fspath(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refusing)
    disc = discover(root)
    (issue,) = [i for i in disc.issues if i.code == "FOLDER_UNREADABLE"]
    assert issue.file == "locked/" and "Permission denied" in issue.message
    assert not any("S9" in p for p in disc.annotation_files)


def test_an_argument_that_is_not_utf8_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """results.json records the command and the batch's path: such a batch folder or ``--out``
    made the writer raise (exit 4), and the internal error's log raised in turn (a raw traceback
    and exit 1, a failed audit to a CI)."""
    from dqm.cli import main

    batch = write_tiny_batch(tmp_path / _name(b"b\xff"))
    monkeypatch.setattr("sys.argv", ["dqm", "audit", str(batch), "--out", str(tmp_path / "out")])
    with pytest.raises(SystemExit) as end:
        main()
    assert end.value.code == 2
    assert "argument 2 is not valid UTF-8" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_the_log_of_an_internal_error_takes_a_command_line_that_is_not_utf8(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dqm.cli import _internal_error

    monkeypatch.setattr("sys.argv", ["dqm", "audit", _name(b"b\xff")])
    assert _internal_error(RuntimeError("a bug")) == 4
    log = Path(capsys.readouterr().err.rsplit("The traceback is in ", 1)[1].strip())
    try:
        text = log.read_text(encoding="utf-8")
    finally:
        log.unlink()
    assert "dqm audit b\\udcff" in text and "RuntimeError: a bug" in text


def test_a_listed_name_written_in_other_code_points_is_read_and_in_other_case_named_by_the_file_beside_it(
    tmp_path: Path,
) -> None:
    """A Korean name copied from macOS is decomposed (NFD): it looks like the manifest's composed
    (NFC) name and is another name to the file system. The one file of that name is read, the row
    told so (``PATH_UNICODE_FORM``: a Linux program opening the path would not find it); a name in
    other case stays a missing file and an orphan, whose finding names the row and says why two
    names that look the same are two."""
    import unicodedata

    root = write_tiny_batch(tmp_path / "b")
    composed, decomposed = (unicodedata.normalize(form, "병리1") for form in ("NFC", "NFD"))
    os.rename(root / "slides" / "S1.png", root / "slides" / f"{decomposed}.png")
    os.rename(root / "annotations" / "S3.json", root / "annotations" / "s3.JSON")
    manifest = root / "manifest.csv"
    manifest.write_text(manifest.read_text().replace("slides/S1.png", f"slides/{composed}.png"))
    manifest.write_text(manifest.read_text().replace("annotations/S3.json", "annotations/S3.JSON"))
    disc = discover(root)
    orphans = {i.file: i.message for i in disc.issues if i.code.startswith("ORPHAN_")}
    assert disc.items[0].image_path == f"slides/{decomposed}.png"
    (form,) = (i for i in disc.issues if i.code == "PATH_UNICODE_FORM")
    assert (form.row, form.column, form.item_id) == (1, "image_path", "S1")
    assert form.message.params["found"] == f"slides/{decomposed}.png"
    assert "NFD" in form.message.rendered("en") and "NFD" in form.message.rendered("ko")
    assert set(orphans) == {"annotations/s3.JSON"}
    case = orphans["annotations/s3.JSON"]
    assert case.params["row"] == 3 and "letter case" in case.rendered("en")
