"""Every refused or failed write is said truly: the output the user named, the reason, exit 4, which
outputs were already written; no temporary or staged file is left behind (session 26, writes2)."""

from __future__ import annotations

import datetime as dt
import errno
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from dqm.cli import main
from dqm.output import FileBatch, HalfMoved, NotReplaceable, OutputSet, WriteRefused, write_file
from dqm.results import BatchInfo, ProfileInfo, QualityResult, Verdict

TAIL = "only outputs already reported as written were written"


def _result() -> QualityResult:
    return QualityResult(
        dqm_version="test",
        created=dt.datetime(2025, 1, 1, tzinfo=dt.UTC).isoformat(),
        batch=BatchInfo(
            path="nowhere", fingerprint="f" * 64, n_items=0, n_slide_files=0, n_annotation_files=0
        ),
        profile=ProfileInfo(name="dermatopathology", version="1.0", sha256="0" * 64),
        items=[],
        findings=[],
        verdict=Verdict(status="incomplete"),
    )


def _dqm(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["dqm", *argv])
    with pytest.raises(SystemExit) as exit_info:
        main()
    return int(exit_info.value.code or 0)


def _leftovers(root: Path) -> list[str]:
    """Temporary files (``.NAME.XXXXXXXX.part``) and staging folders anywhere under ``root``."""
    return [str(p) for p in root.rglob(".*") if p.name.endswith(".part") or p.name.startswith(".dqm-staging")]


# Every file option of every command, its target put under a plain file ("FILE/out"); the report's
# own HTML (``-o``) is written first where another of its outputs is the one refused.
COMMANDS: dict[str, Callable[[Path, Path], list[str]]] = {
    "schema -o": lambda r, t: ["schema", "results", "-o", str(t)],
    "diff -o": lambda r, t: ["diff", str(r), str(r), "-o", str(t)],
    "report -o": lambda r, t: ["report", str(r), "-o", str(t)],
    "report --junit": lambda r, t: ["report", str(r), "-o", str(r.parent / "ok.html"), "--junit", str(t)],
    "report --summary": lambda r, t: ["report", str(r), "-o", str(r.parent / "ok.html"), "--summary", str(t)],
    "report --quality-table": lambda r, t: [
        *("report", str(r), "-o", str(r.parent / "ok.html")),
        *("--quality-table", str(t.with_suffix(".xlsx"))),
    ],
    "keygen": lambda r, t: ["keygen", str(t)],
    "validate --json": lambda r, t: ["validate", str(r.parent / "empty"), "--json", str(t)],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_an_output_under_a_plain_file_is_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """``dqm report R --junit FILE/j.xml``, FILE a plain file, wrote the report, then said "internal
    error (FileExistsError); no results were written": false on both counts."""
    results = tmp_path / "results.json"
    _result().dump(results)
    plain = tmp_path / "FILE"
    plain.write_text("kept")
    (tmp_path / "empty").mkdir()  # a batch of nothing, for validate
    argv = COMMANDS[command](results, plain / "out.x")
    target = Path(argv[-1])
    capsys.readouterr()
    assert _dqm(argv, monkeypatch) == 4
    captured = capsys.readouterr()
    (line,) = captured.err.strip().splitlines()
    reason = f"{os.strerror(errno.ENOTDIR)}: {plain}"
    assert line == f"dqm: {target} could not be written ({reason}); {TAIL}"
    if "ok.html" in argv:  # the report was written and said so: the line's tail is true
        assert (tmp_path / "ok.html").is_file() and f"report: {tmp_path / 'ok.html'}" in captured.out
    assert plain.read_text() == "kept" and _leftovers(tmp_path) == []


@pytest.mark.parametrize("code", ["EACCES", "EROFS", "ENOSPC", "ENAMETOOLONG", "EPERM"])
def test_a_folder_that_refuses_the_new_file_is_said_with_the_outputs_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], code: str
) -> None:
    """The temporary file beside the output cannot be made (a folder not writable, read-only, full):
    the line names the output, never the temporary name, and the report already written stays."""
    number = getattr(errno, code)
    real_open = os.open

    def refusing(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if str(path).endswith(".part") and ".j.xml." in str(path):
            raise OSError(number, os.strerror(number), str(path))
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    results = tmp_path / "results.json"
    _result().dump(results)
    monkeypatch.setattr(os, "open", refusing)
    junit = tmp_path / "sub" / "j.xml"
    argv = ["report", str(results), "-o", str(tmp_path / "ok.html"), "--junit", str(junit)]
    assert _dqm(argv, monkeypatch) == 4
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == f"dqm: {junit} could not be written ({os.strerror(number)}); {TAIL}"
    assert (tmp_path / "ok.html").is_file() and _leftovers(tmp_path) == []


def test_a_name_as_long_as_the_file_system_allows_is_written(tmp_path: Path) -> None:
    """The temporary file's name (``.NAME.XXXXXXXX.part``) made a 250-byte name, valid itself, fail
    with "File name too long"."""
    target = tmp_path / ("y" * 250)
    write_file(target, "data")
    assert target.read_text() == "data" and _leftovers(tmp_path) == []


def _failing_fsync(number: int) -> Callable[[int], None]:
    def fsync(fd: int) -> None:
        raise OSError(number, os.strerror(number))

    return fsync


@pytest.mark.parametrize("code", ["EIO", "ENOSPC", "EDQUOT"])
def test_a_flush_that_fails_fails_the_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: str
) -> None:
    """``_fsync`` swallowed every error: a file whose data never reached the disk (EIO, a full disk
    at the flush) took its name and the command said it was written."""
    number = getattr(errno, code)
    target = tmp_path / "out.json"
    target.write_text("previous")
    monkeypatch.setattr(os, "fsync", _failing_fsync(number))
    with pytest.raises(WriteRefused) as refused:
        write_file(target, "new")
    assert (refused.value.errno, refused.value.filename) == (number, str(target))
    assert target.read_text() == "previous" and _leftovers(tmp_path) == []
    with pytest.raises(WriteRefused) as refused, FileBatch() as batch:
        batch.write(tmp_path / "batch" / "a.txt", "a")
    assert refused.value.filename == str(tmp_path / "batch" / "a.txt")
    assert not (tmp_path / "batch" / "a.txt").exists() and _leftovers(tmp_path) == []


@pytest.mark.parametrize("code", ["EINVAL", "EOPNOTSUPP", "ENOSYS"])
def test_a_file_system_that_cannot_flush_is_no_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: str
) -> None:
    """A flush the file system does not offer (a folder on some FUSE or network file systems) is
    ignored: the data went as far as that file system takes it (``dqm.output.FSYNC_UNSUPPORTED``)."""
    monkeypatch.setattr(os, "fsync", _failing_fsync(getattr(errno, code)))
    write_file(tmp_path / "out.json", "new")
    with OutputSet(tmp_path / "set") as outputs:
        outputs.write("a.txt", "a")
    assert (tmp_path / "out.json").read_text() == "new" and (tmp_path / "set" / "a.txt").read_text() == "a"


def test_a_staged_file_is_named_as_the_user_knows_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk while an audit's file was staged named ``OUT/.dqm-staging.XXXXXXXX/report.html``."""
    out = tmp_path / "out"
    monkeypatch.setattr(os, "fsync", _failing_fsync(errno.ENOSPC))
    with pytest.raises(WriteRefused) as refused, OutputSet(out) as outputs:
        outputs.write("report.html", "page")
    assert (refused.value.errno, refused.value.filename) == (errno.ENOSPC, str(out / "report.html"))
    assert sorted(p.name for p in out.iterdir()) == [".dqm-commit.lock"]


def test_a_full_disk_while_results_json_is_copied_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """results.json is copied from its body into place (``reports/results_file.py``); ENOSPC there
    carries no name and was "a file could not be written"."""
    from reports import results_file
    from reports.outputs import with_digest_slot, write_rendered

    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(results_file.shutil, "copyfileobj", full)
    out = tmp_path / "out"
    with pytest.raises(WriteRefused) as refused:
        write_rendered(with_digest_slot(_result()), {}, out)
    assert (refused.value.errno, refused.value.filename) == (errno.ENOSPC, str(out / "results.json"))
    assert sorted(p.name for p in out.iterdir()) == [".dqm-commit.lock"]


def test_a_special_file_that_takes_the_name_while_a_set_is_flushed_is_never_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An output set checked its names before it flushed its staged files, never after: a FIFO made
    meanwhile was replaced by the set's file."""
    import dqm.output as output

    out = tmp_path / "out"
    real = output._fsync_path

    def fifo_appears(path: Path, folder: bool = False) -> None:
        if not (out / "report.html").exists():
            os.mkfifo(out / "report.html")
        real(path, folder)

    monkeypatch.setattr(output, "_fsync_path", fifo_appears)
    with pytest.raises(NotReplaceable) as refused, OutputSet(out) as outputs:
        outputs.write("report.html", "page")
    assert refused.value.filename == str(out / "report.html")
    assert stat.S_ISFIFO(os.lstat(out / "report.html").st_mode)
    assert sorted(p.name for p in out.iterdir()) == [".dqm-commit.lock", "report.html"]


def test_a_special_file_that_takes_the_name_while_data_is_written_is_never_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last step looks at the name again: a FIFO made while the data was flushed stays."""
    target = tmp_path / "out.json"
    real = os.fsync

    def fifo_appears(fd: int) -> None:
        if not os.path.lexists(target):
            os.mkfifo(target)
        real(fd)

    monkeypatch.setattr(os, "fsync", fifo_appears)
    with pytest.raises(NotReplaceable):
        write_file(target, "new")
    assert stat.S_ISFIFO(os.lstat(target).st_mode) and _leftovers(tmp_path) == []


def test_a_set_that_cannot_all_be_moved_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A flush of the folder failing after the set's record is written (now that a flush may fail):
    the set is left for the next run to finish, and the line says that, not "internal error"."""
    import dqm.output as output
    from dqm.cli import _refused_write

    out = tmp_path / "out"
    real = output._fsync

    def failing_after_the_record(fd: int) -> None:
        recorded = any(out.glob(f".dqm-staging.*/{output.COMMIT_RECORD}"))
        if recorded and os.path.samestat(os.fstat(fd), os.stat(out)):  # the folder, after the moves
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real(fd)

    monkeypatch.setattr(output, "_fsync", failing_after_the_record)
    with pytest.raises(HalfMoved) as half, OutputSet(out) as outputs:
        outputs.write("report.html", "page")
    assert half.value.filename == str(out)
    assert _refused_write(half.value) == 4
    line = capsys.readouterr().err.strip()
    assert line.startswith(f"dqm: the outputs could not all be moved into {out} (a file could not be moved")
    assert "the next dqm run into that folder finishes the move" in line


def test_the_refusal_is_said_in_korean_with_lang_ko(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The line naming the output and the folder in its way is translated as every other line is."""
    results = tmp_path / "results.json"
    _result().dump(results)
    plain = tmp_path / "FILE"
    plain.write_text("kept")
    junit = plain / "j.xml"
    argv = ["report", str(results), "-o", str(tmp_path / "ok.html"), "--junit", str(junit), "--lang", "ko"]
    assert _dqm(argv, monkeypatch) == 4
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == (
        f"dqm: {junit}을(를) 쓸 수 없습니다({os.strerror(errno.ENOTDIR)}: {plain}). "
        "쓴 것으로 이미 알린 출력만 쓰였습니다"
    )


@pytest.mark.parametrize("code", ["EACCES", "EROFS"])
def test_an_output_folder_that_cannot_be_written_in_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], code: str
) -> None:
    """``--out`` a folder this user cannot write in: the run lock could not be made there, and a
    permission error ended as "internal error (PermissionError)"."""
    number = getattr(errno, code)
    results = tmp_path / "results.json"
    _result().dump(results)
    out = tmp_path / "out"
    real_open = os.open

    def refusing(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if str(path).startswith(str(out)) and flags & os.O_CREAT:
            raise OSError(number, os.strerror(number), str(path))
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", refusing)
    assert _dqm(["fixlist", str(results), "--out", str(out)], monkeypatch) == 4
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == f"dqm: {out} could not be written ({os.strerror(number)}); {TAIL}"
    assert _leftovers(tmp_path) == []


def test_a_staging_folder_that_cannot_be_marked_is_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The staging folder was made, then its mark could not be (a full disk): it stayed."""
    real_open = os.open

    def full(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if str(path).endswith(".dqm-staging"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", full)
    out = tmp_path / "out"
    with pytest.raises(WriteRefused) as refused, OutputSet(out):
        pass
    assert refused.value.filename == str(out) and _leftovers(tmp_path) == []


def test_a_pdf_is_printed_aside_and_never_replaces_a_special_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``dqm report --pdf`` removed what held the PDF's name (a FIFO too) and had Chromium print
    onto it; it prints into a folder of its own now and writes the PDF as every output is."""
    chromium = tmp_path / "fake-chromium"
    chromium.write_text(
        "#!/bin/sh\nfor a; do case $a in --print-to-pdf=*) printf '%%PDF-1.4 fake' > \"${a#*=}\";; esac; done\n"
    )
    chromium.chmod(0o755)
    results = tmp_path / "results.json"
    _result().dump(results)
    html, pdf = tmp_path / "r.html", tmp_path / "r.pdf"
    argv = ["report", str(results), "-o", str(html), "--pdf", "--chromium", str(chromium)]
    assert _dqm(argv, monkeypatch) == 0 and pdf.read_bytes() == b"%PDF-1.4 fake"
    pdf.unlink()
    os.mkfifo(pdf)
    capsys.readouterr()
    assert _dqm(argv, monkeypatch) == 4
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"dqm: {pdf} could not be written (it is not a regular file")
    assert stat.S_ISFIFO(os.lstat(pdf).st_mode) and _leftovers(tmp_path) == []


def test_a_checkpoint_that_cannot_be_written_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk while ``torch.save`` wrote a validity checkpoint left ``CHECKPOINT.tmp`` and named it."""
    torch = pytest.importorskip("torch")
    from dqm.validity.train import save_checkpoint

    def full(state: object, where: Path) -> None:
        Path(where).write_bytes(b"PK half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(torch, "save", full)
    target = tmp_path / "checkpoints" / "model.pt"
    with pytest.raises(WriteRefused) as refused:
        save_checkpoint(target, {"format": 1})
    assert (refused.value.errno, refused.value.filename) == (errno.ENOSPC, str(target))
    assert list((tmp_path / "checkpoints").iterdir()) == []
