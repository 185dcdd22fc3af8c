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
from typing import Any

import pytest

from dqm.cli import main
from dqm.output import (
    FileBatch,
    HalfMoved,
    NotReplaceable,
    OutputSet,
    WriteRefused,
    refused_write_line,
    write_file,
)
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
    written = any(arg.endswith("ok.html") for arg in argv)  # the report, said so too
    tail = f"written before it: {tmp_path / 'ok.html'}" if written else TAIL
    assert line == f"dqm: {target} could not be written ({reason}); {tail}"
    if written:  # the report was written and said so
        said = "".join(f"report: {tmp_path / 'ok.html'}".split())  # the console wraps a long path
        assert (tmp_path / "ok.html").is_file() and said in "".join(captured.out.split())
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
    tail = f"written before it: {tmp_path / 'ok.html'}"  # the report, said so too
    assert line == f"dqm: {junit} could not be written ({os.strerror(number)}); {tail}"
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
    """A flush the file system does not offer for a folder (some FUSE or network file systems) is
    ignored: the names went as far as that file system takes them (``dqm.output.FSYNC_UNSUPPORTED``).
    A regular file's flush failing so fails the write (the test below)."""
    real = os.fsync

    def fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(getattr(errno, code), os.strerror(getattr(errno, code)))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
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

    def failing_after_the_record(fd: int, folder: bool = False) -> None:
        recorded = any(out.glob(f".dqm-staging.*/{output.COMMIT_RECORD}"))
        if recorded and os.path.samestat(os.fstat(fd), os.stat(out)):  # the folder, after the moves
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real(fd, folder)

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
        f"그 전에 쓴 출력: {tmp_path / 'ok.html'}"
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
        dir_fd = kwargs.get("dir_fd")
        where = str(path)
        if isinstance(dir_fd, int):  # a file made in a folder opened (the run and commit locks)
            where = os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), where)
        if where.startswith(str(out)) and flags & os.O_CREAT:
            raise OSError(number, os.strerror(number), str(path))
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", refusing)
    assert _dqm(["fixlist", str(results), "--out", str(out)], monkeypatch) == 4
    (line,) = capsys.readouterr().err.strip().splitlines()
    # the run lock, the first file made there (opened in the folder checked: named as the lock)
    lock = out / ".dqm.lock"
    assert line == f"dqm: {lock} could not be written ({os.strerror(number)}); {TAIL}"
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


def _pdf_report(tmp_path: Path, folder: Path, prints_to: str) -> tuple[Path, list[str]]:
    """A results.json, a fake Chromium that prints only to paths matching the shell pattern
    ``prints_to``, and the ``dqm report --pdf`` arguments writing ``folder/r.html`` and ``r.pdf``
    (the PDF's path, the arguments)."""
    chromium = tmp_path / "fake-chromium"
    chromium.write_text(
        f"#!/bin/sh\nfor a; do case $a in --print-to-pdf={prints_to}) "
        "printf '%%PDF-1.4 fake' > \"${a#*=}\";; esac; done\n"
    )
    chromium.chmod(0o755)
    results = tmp_path / "results.json"
    _result().dump(results)
    html = folder / "r.html"
    return folder / "r.pdf", ["report", str(results), "-o", str(html), "--pdf", "--chromium", str(chromium)]


def test_a_pdf_is_printed_aside_and_never_replaces_a_special_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``dqm report --pdf`` removed what held the PDF's name (a FIFO too) and had Chromium print
    onto it; it prints into a folder of its own now and writes the PDF as every output is."""
    pdf, argv = _pdf_report(tmp_path, tmp_path, "*")
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

    def full(state: object, where: Any) -> None:
        where.write(b"PK half")  # into the file dqm opened
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(torch, "save", full)
    target = tmp_path / "checkpoints" / "model.pt"
    with pytest.raises(WriteRefused) as refused:
        save_checkpoint(target, {"format": 1})
    assert (refused.value.errno, refused.value.filename) == (errno.ENOSPC, str(target))
    assert list((tmp_path / "checkpoints").iterdir()) == []


# session 26, writes2f: what the review of writes2 found


@pytest.fixture(scope="module")
def tiny_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from dqm.synth import build_batch

    batch = tmp_path_factory.mktemp("tiny") / "batch"
    build_batch(batch, 2, seed=5, defect_rate=0.0, max_size=128)
    return batch


def test_a_refused_identifier_map_names_the_audit_set_written_before_it(
    tiny_batch: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``audit --out OUT --identifier-map FILE/map.json`` wrote OUT's set, then said "only outputs
    already reported as written were written": the set had not been reported."""
    monkeypatch.setenv("DQM_MASK_KEY", "a test key of at least 16 characters")
    plain = tmp_path / "FILE"
    plain.write_text("kept")
    out = tmp_path / "out"
    argv = ["audit", str(tiny_batch), "--out", str(out), "--identifier-map", str(plain / "map.json")]
    capsys.readouterr()
    assert _dqm([*argv, "--workers", "1"], monkeypatch) == 4
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"dqm: {plain / 'map.json'} could not be written (")
    assert TAIL not in line and "; written before it: " in line and str(out / "results.json") in line
    assert (out / "results.json").is_file() and _leftovers(tmp_path) == []


def test_many_outputs_written_before_a_refused_one_are_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A command that wrote many files before one was refused (``dqm convert``) names the first few
    and counts the rest: one line, never thousands of names."""
    sources = []
    for n in range(5):
        source = tmp_path / f"s{n}.json"
        source.write_text('{"lesions": []}')
        sources.append(str(source))
    Path(tmp_path / "out").mkdir()
    (tmp_path / "out" / "s4.geojson").mkdir()  # the last one's name is taken by a folder
    argv = ["convert", *sources, "--to", "qupath", "--out", str(tmp_path / "out"), "--force"]
    capsys.readouterr()
    code = _dqm(argv, monkeypatch)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 4, err
    assert err[-1].endswith(" and 1 more") and "; written before it: " in err[-1]


@pytest.mark.parametrize("second", [True, False])
def test_a_key_pair_is_written_whole_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], second: bool
) -> None:
    """On a nearly full disk ``keygen K`` wrote the private key, failed on ``K.pub``, said only
    reported outputs were written, and a rerun was refused as "K exists"."""
    key = tmp_path / "k"
    real, calls = os.fsync, []

    def fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == (2 if second else 1):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    capsys.readouterr()
    assert _dqm(["keygen", str(key)], monkeypatch) == 4
    (line,) = capsys.readouterr().err.strip().splitlines()
    failed = key.with_name("k.pub") if second else key
    assert line == f"dqm: {failed} could not be written ({os.strerror(errno.ENOSPC)}); {TAIL}"
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    monkeypatch.setattr(os, "fsync", real)
    assert _dqm(["keygen", str(key)], monkeypatch) == 0
    assert key.is_file() and key.with_name("k.pub").is_file()


def test_a_key_name_too_long_for_its_public_half_is_the_writers_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 252-byte key name (K.pub is 256 bytes, over the limit) ended as "internal error (OSError)"
    from the check that K.pub does not exist yet."""
    key = tmp_path / ("k" * 252)
    capsys.readouterr()
    assert _dqm(["keygen", str(key)], monkeypatch) == 4
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == f"dqm: {key}.pub could not be written ({os.strerror(errno.ENAMETOOLONG)}); {TAIL}"
    assert list(tmp_path.iterdir()) == []


def test_a_review_plan_is_written_as_a_pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``sample`` wrote review_plan.json, then failed on review_plan.csv: a new JSON beside the
    previous CSV. Neither is replaced now unless both are."""
    from dqm.semantic.planfile import PLAN_CSV, PLAN_JSON, write_plan

    (tmp_path / PLAN_JSON).write_text("previous")
    (tmp_path / PLAN_CSV).write_text("previous")
    real, calls = os.fsync, []

    def fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    plan = __import__("dqm.semantic.models", fromlist=["ReviewPlan"]).ReviewPlan.model_construct()
    monkeypatch.setattr("dqm.semantic.planfile.plan_csv", lambda plan: "new")
    monkeypatch.setattr(type(plan), "model_dump_json", lambda self, **_: "new")
    with pytest.raises(WriteRefused) as refused:
        write_plan(plan, tmp_path)
    assert refused.value.filename == str(tmp_path / PLAN_CSV)
    assert (tmp_path / PLAN_JSON).read_text() == (tmp_path / PLAN_CSV).read_text() == "previous"
    assert _leftovers(tmp_path) == []


def test_a_full_disk_at_the_commit_record_keeps_the_previous_set_readable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk while the commit record was written said "a file could not be written", naming
    nothing; it left an empty ``.dqm-commit``, so readers refused the intact previous set as
    "stopped while it moved its outputs"."""
    from dqm.output import whole_set

    out = tmp_path / "out"
    with OutputSet(out) as outputs:
        outputs.write("results.json", "previous")

    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full)  # the record alone is written with os.write
    with pytest.raises(WriteRefused) as refused, OutputSet(out) as outputs:
        outputs.write("results.json", "new")
    monkeypatch.undo()
    assert (refused.value.errno, refused.value.filename) == (errno.ENOSPC, str(out))
    assert sorted(p.name for p in out.iterdir()) == [".dqm-commit.lock", "results.json"]
    with whole_set(out, wait=0.2):
        assert (out / "results.json").read_text() == "previous"


@pytest.mark.parametrize("command", ["convert", "validity", "synth"])
def test_an_output_folder_under_a_plain_file_is_the_writers_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """``convert --out FILE/x``, ``validity --out FILE/x``, ``synth FILE/x`` ended as "internal error
    (NotADirectoryError)"."""
    plain = tmp_path / "FILE"
    plain.write_text("kept")
    target = plain / "x"
    source = tmp_path / "a.json"
    source.write_text('{"lesions": []}')
    argv = {
        "convert": ["convert", str(source), "--to", "qupath", "--out", str(target)],
        "validity": ["validity", str(tmp_path / "empty"), "--out", str(target)],
        "synth": ["synth", str(target)],
    }[command]
    (tmp_path / "empty").mkdir()
    capsys.readouterr()
    assert _dqm(argv, monkeypatch) == 4
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == f"dqm: {target} could not be written ({os.strerror(errno.ENOTDIR)}: {plain}); {TAIL}"
    assert plain.read_text() == "kept"


def test_synth_into_a_link_to_a_folder_is_refused_by_the_writers_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``synth LINK`` and ``synth --force LINK``, LINK a link to a folder, ended as "internal error
    (OSError: Cannot call rmtree on a symbolic link)" (a second review); dqm never replaces a link
    to a folder, and what it points to is left as it was."""
    target = tmp_path / "target"
    target.mkdir()
    (target / "kept.txt").write_text("kept")
    link = tmp_path / "L"
    link.symlink_to(target)
    cases = (
        (["synth", str(link), "--force"], ["kept.txt"]),
        (["synth", str(link)], ["kept.txt"]),  # not "use --force", which is then refused (a last review)
        (["synth", str(link)], []),  # a link to an empty folder was removed by rmtree too
    )
    for argv, kept in cases:
        if not kept:
            (target / "kept.txt").unlink()
        capsys.readouterr()
        assert _dqm(argv, monkeypatch) == 4
        (line,) = capsys.readouterr().err.strip().splitlines()
        assert line.startswith(f"dqm: {link} could not be written (it is not a regular file"), line
        assert link.is_symlink() and [p.name for p in target.iterdir()] == kept


def test_a_pdf_is_printed_inside_its_own_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A confined Chromium (Ubuntu's snap) cannot write into the host's /tmp: writes2 had it print
    into ``/tmp/dqm-pdf-*`` ("wrote no PDF"). It prints inside the PDF's folder again, in a folder
    not hidden (snap's ``home`` interface refuses hidden folders at the top of ``$HOME``: a second
    review of ``.dqm-pdf-*``)."""
    allowed = tmp_path / "home"
    allowed.mkdir()
    pdf, argv = _pdf_report(tmp_path, allowed, str(allowed) + "/[!.]*")
    assert _dqm(argv, monkeypatch) == 0 and pdf.read_bytes() == b"%PDF-1.4 fake"
    assert sorted(p.name for p in allowed.iterdir()) == ["r.html", "r.pdf"]


def test_a_checkpoint_on_a_full_disk_is_named_with_the_systems_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a real full disk (a 64 KiB tmpfs, tried) ``torch.save`` raises ``RuntimeError('[enforce fail
    at inline_container.cc:672] . unexpected pos 704 vs 598')`` whether given a path or a file: the
    checkpoint was never named. The file's write failing so (ENOSPC), the real torch.save runs."""
    torch = pytest.importorskip("torch")
    import io

    import dqm.validity.train as train

    class FullDisk(io.FileIO):
        def write(self, data: Any) -> int:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    real_fdopen = os.fdopen

    def full_disk(fd: int, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        return FullDisk(fd, "wb", closefd=True) if mode == "wb" else real_fdopen(fd, mode, *args, **kwargs)

    monkeypatch.setattr(os, "fdopen", full_disk)
    target = tmp_path / "checkpoints" / "model.pt"
    with pytest.raises(WriteRefused) as refused:
        train.save_checkpoint(target, {"w": torch.zeros(1000)})
    assert (refused.value.errno, refused.value.filename) == (errno.ENOSPC, str(target))
    assert list((tmp_path / "checkpoints").iterdir()) == []


def test_a_regular_file_that_cannot_be_flushed_is_not_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EINVAL/ENOTSUP from ``fsync`` were ignored for regular files too: data that never reached the
    disk took its name. Only a folder's flush may be unsupported."""
    target = tmp_path / "out.json"
    target.write_text("previous")
    monkeypatch.setattr(os, "fsync", _failing_fsync(errno.EINVAL))
    with pytest.raises(WriteRefused) as refused:
        write_file(target, "new")
    assert refused.value.errno == errno.EINVAL and target.read_text() == "previous"


def test_a_batch_whose_rename_fails_says_that_error_not_the_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``FileBatch.flush`` flushed the folders of the files moved in its ``finally``: a flush failing
    there hid the error that had stopped the batch."""
    import dqm.output as output

    real_replace, moved = output._replace, []

    def replace(tmp: Path, path: Path) -> None:
        if moved:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        moved.append(path)
        real_replace(tmp, path)

    monkeypatch.setattr(output, "_replace", replace)
    monkeypatch.setattr(output, "_fsync_folder", lambda folder: _failing_fsync(errno.EIO)(0))
    with pytest.raises(WriteRefused) as refused, FileBatch() as batch:
        batch.write(tmp_path / "a.txt", "a")
        batch.write(tmp_path / "b.txt", "b")
    assert (refused.value.errno, refused.value.filename) == (errno.EROFS, str(tmp_path / "b.txt"))
    assert (tmp_path / "a.txt").read_text() == "a" and _leftovers(tmp_path) == []


def _folder_flush_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each flush of a folder fails with EIO (after the rename: the file is in place)."""
    real = os.fsync

    def fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)


def test_a_folder_flush_failing_after_the_rename_says_the_file_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The flush of the folder after the rename failing said "out.json could not be written" of a
    file in place, whole: now it says it is written and its name may not survive a power cut (exit
    4 still), and lists it as written by no other output's line."""
    from dqm.output import NotFlushed, write_together

    _folder_flush_fails(monkeypatch)
    target = tmp_path / "out.json"
    with pytest.raises(NotFlushed) as refused:
        write_file(target, "new")
    assert refused.value.filename == str(target) and target.read_text() == "new"
    with pytest.raises(NotFlushed) as refused:
        write_together([(tmp_path / "k", b"key", True), (tmp_path / "k.pub", b"pub", False)])
    assert refused.value.filename == str(tmp_path / "k.pub") and (tmp_path / "k").read_bytes() == b"key"
    with pytest.raises(NotFlushed) as refused, FileBatch() as batch:
        batch.write(tmp_path / "b" / "a.txt", "a")
    assert refused.value.filename == str(tmp_path / "b" / "a.txt") and (tmp_path / "b" / "a.txt").exists()
    assert _leftovers(tmp_path) == []
    out = tmp_path / "schema.json"
    assert _dqm(["schema", "results", "-o", str(out)], monkeypatch) == 4
    line = "".join(capsys.readouterr().err.split())
    assert "".join(f"dqm: {out} is written, but its folder could not be flushed to the disk".split()) in line
    assert "couldnotbewritten" not in line and out.exists()
    assert line.endswith("onlyoutputsalreadyreportedaswrittenwerewritten")


def test_files_written_by_synth_and_corrupt_are_listed_as_written(tmp_path: Path) -> None:
    """``dqm synth``'s files and ``dqm validity corrupt``'s copy were written outside dqm's writers:
    a write failing after them said "only outputs already reported as written were written"."""
    from dqm.output import forget_written, written_so_far
    from dqm.synth import build_batch
    from dqm.validity.corrupt import corrupt_batch

    forget_written()
    build_batch(tmp_path / "synth", 2, seed=1, max_size=256)
    done = written_so_far()
    assert str(tmp_path / "synth" / "manifest.csv") in done and str(tmp_path / "synth" / "README.md") in done
    assert sum("/annotations/" in p for p in done) == 2
    forget_written()
    corrupt_batch(tmp_path / "synth", tmp_path / "copy", fraction=1.0)
    assert written_so_far()[0] == str(tmp_path / "copy")
    forget_written()


def test_a_full_disk_while_corrupt_copies_the_batch_names_the_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A full disk during ``dqm validity corrupt``'s copy: copytree's ``shutil.Error`` has no errno
    and named no output (an internal error to dqm's commands, "no results were written"), the copy
    folder, left with the files copied so far, was not recorded, and the copy went on."""
    import shutil

    from dqm.cli import _refused_write
    from dqm.output import forget_written
    from dqm.synth import build_batch
    from dqm.validity.corrupt import corrupt_batch

    build_batch(tmp_path / "synth", 2, seed=1, max_size=256)
    real, copied = shutil.copyfile, [0]

    def copyfile(src: str, dst: str, **kw: bool) -> str:
        copied[0] += 1
        if copied[0] == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), dst)
        return str(real(src, dst, **kw))

    monkeypatch.setattr(shutil, "copyfile", copyfile)
    copy = tmp_path / "copy"
    forget_written()
    with pytest.raises(WriteRefused) as refused:
        corrupt_batch(tmp_path / "synth", copy, fraction=1.0)
    assert refused.value.errno == errno.ENOSPC and refused.value.filename == str(copy)
    assert _refused_write(refused.value) == 4  # the one line dqm's commands say of a refused write
    forget_written()
    line = "".join(capsys.readouterr().err.split())
    head = f"dqm: {copy} could not be written ({os.strerror(errno.ENOSPC)}); written before it: {copy}"
    assert line == "".join(head.split())
    assert copied[0] == 3  # the copy stopped at the failure, not carried on onto a full disk
    assert sum(p.is_file() for p in copy.rglob("*")) == 2


def test_corrupt_s_own_main_says_a_full_disk_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m dqm.validity.corrupt SRC DST`` caught only a refused source: a full disk during its
    copy ended in a traceback (WriteRefused); now one line naming the copy, exit code 4."""
    import shutil

    from dqm.output import forget_written
    from dqm.synth import build_batch
    from dqm.validity import corrupt

    build_batch(tmp_path / "synth", 2, seed=1, max_size=256)

    def copyfile(src: str, dst: str, **kw: bool) -> str:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), dst)

    monkeypatch.setattr(shutil, "copyfile", copyfile)
    copy = tmp_path / "copy"
    with pytest.raises(SystemExit) as exited:
        corrupt.main([str(tmp_path / "synth"), str(copy), "--fraction", "1.0"])
    forget_written()
    assert exited.value.code == 4
    err = "".join(capsys.readouterr().err.split())
    assert "Traceback" not in err
    assert "".join(f"{copy} could not be written ({os.strerror(errno.ENOSPC)})".split()) in err


def test_a_full_disk_while_synth_writes_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk while ``dqm synth`` wrote a file raised an unnamed OSError."""
    from dqm.synth import build_batch

    def full(self: Path, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(WriteRefused) as refused:
        build_batch(tmp_path / "synth", 2, seed=1, max_size=256)
    assert refused.value.filename is not None and refused.value.filename.startswith(str(tmp_path / "synth"))


def test_a_link_the_corrupt_copy_cannot_make_names_the_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A link (or a folder) copytree could not make is kept in its ``shutil.Error`` as text alone,
    without an errno: a WriteRefused naming the copy and counting them, never an internal error."""
    from dqm.validity import corrupt

    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("a")
    (src / "link").symlink_to("a.txt")

    def refused(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(os, "symlink", refused)
    with pytest.raises(WriteRefused) as raised:
        corrupt._copy_batch(src, tmp_path / "copy")
    assert raised.value.filename == str(tmp_path / "copy") and raised.value.why == corrupt.COPY_INCOMPLETE
    assert raised.value.params == {"n": 1} and (tmp_path / "copy" / "a.txt").read_text() == "a"


RRN_NAME = "900101-1234567.txt"


def test_corrupt_names_a_batch_file_it_cannot_read_masked_not_a_refused_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A batch file that could not be read (permission denied) stopped the copy and was said as the
    copy that "could not be written" (exit 4), naming no file: a refused input, the file named."""
    import shutil

    from dqm.synth import build_batch
    from dqm.validity import corrupt

    build_batch(tmp_path / "synth", 2, seed=1, max_size=256)
    (tmp_path / "synth" / RRN_NAME).write_text("notes")
    real = shutil.copyfile

    def copyfile(src: str, dst: str, **kw: bool) -> str:
        if src.endswith(RRN_NAME):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), src)
        return str(real(src, dst, **kw))

    monkeypatch.setenv("DQM_MASK_KEY", "a key given by the environment")
    monkeypatch.setattr(shutil, "copyfile", copyfile)
    with pytest.raises(SystemExit) as exited:
        corrupt.main([str(tmp_path / "synth"), str(tmp_path / "copy"), "--fraction", "1.0"])
    err = "".join(capsys.readouterr().err.split())
    assert exited.value.code == 2 and "couldnotbewritten" not in err
    assert "1234567" not in err and "[KOREAN_RRN-" in err
    assert f"couldnotberead({os.strerror(errno.EACCES)})".replace(" ", "") in err
    assert "".join(str(tmp_path / "synth").split()) in err


@pytest.mark.parametrize(
    ("number", "names", "readable", "unread"),
    [
        (errno.EACCES, ("src", None), True, True),  # opening the source
        (errno.ENOSPC, ("src", "dst"), True, False),  # sendfile names the source first
        (errno.EIO, ("src", "dst"), True, False),  # the copy's disk
        (errno.EIO, ("src", "dst"), False, True),  # the batch's disk
        (errno.EIO, (None, None), False, True),  # a plain read
        (errno.EACCES, ("dst", None), False, False),  # opening the copy
    ],
)
def test_only_a_failure_to_read_the_source_is_the_sources(
    tmp_path: Path, number: int, names: tuple[str | None, str | None], readable: bool, unread: bool
) -> None:
    from dqm.validity.corrupt import _source_failed

    source, target = tmp_path / "src", tmp_path / "dst"
    if readable:
        source.write_bytes(b"x" * 100)
    paths = {"src": str(source), "dst": str(target), None: None}
    exc = OSError(number, os.strerror(number), paths[names[0]], None, paths[names[1]])
    assert _source_failed(exc, str(source), str(target)) is unread


def test_corrupt_says_a_refused_write_as_dqm_says_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``corrupt.main`` printed ``could not be written ([Errno None] None: '…')`` of a WriteRefused
    carrying dqm's own reason (a link the copy could not make), and "could not be written" of an
    output in place whose folder was not flushed: now the line ``dqm``'s commands print."""
    from dqm.cli import _refused_write
    from dqm.output import NotFlushed
    from dqm.synth import build_batch
    from dqm.validity import corrupt

    build_batch(tmp_path / "synth", 2, seed=1, max_size=256)
    os.symlink("slides", tmp_path / "synth" / "alink")

    def refused(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EPERM, os.strerror(errno.EPERM), args[1])

    monkeypatch.setenv("DQM_MASK_KEY", "a key given by the environment")
    monkeypatch.setattr(os, "symlink", refused)
    copy = tmp_path / "copy"
    with pytest.raises(SystemExit) as exited:
        corrupt.main([str(tmp_path / "synth"), str(copy), "--fraction", "1.0"])
    assert exited.value.code == 4
    err = "".join(capsys.readouterr().err.split())
    assert "Errno" not in err and "None" not in err
    said = f"dqm: {copy} could not be written (1 of the batch's files or folders could not be copied into it)"
    assert "".join(said.split()) in err
    monkeypatch.undo()
    monkeypatch.setenv("DQM_MASK_KEY", "a key given by the environment")

    flushed = NotFlushed(errno.EIO, os.strerror(errno.EIO), str(copy / "corruption.csv"))

    def unflushed(*args: object, **kwargs: object) -> None:
        raise flushed

    monkeypatch.setattr(corrupt, "corrupt_batch", unflushed)
    with pytest.raises(SystemExit) as exited:
        corrupt.main([str(tmp_path / "synth"), str(tmp_path / "copy2")])
    assert exited.value.code == 4
    err = capsys.readouterr().err
    assert _refused_write(flushed) == 4  # dqm's own line, word for word
    assert err == capsys.readouterr().err and "could not be written" not in err
    assert "".join(
        f"{copy / 'corruption.csv'} is written, but its folder could not be flushed".split()
    ) in "".join(err.split())


def test_no_writer_writes_through_a_link_into_a_batch(tmp_path: Path) -> None:
    """A batch the command reads (never_into) is never written to through a link inside an output
    folder: write_file, FileBatch, OutputSet, a folder made, and a writer outside dqm.output
    (writing) are each refused, naming the output and the batch; nothing lands in the batch."""
    from dqm.output import forget_batches, make_folder, never_into, writing

    batch = tmp_path / "batch"
    (batch / "slides").mkdir(parents=True)
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").symlink_to(batch / "slides")
    never_into(batch)
    try:
        attempts: list[Callable[[], object]] = [
            lambda: write_file(out / "sub" / "a.json", "{}"),
            lambda: make_folder(out / "sub" / "deeper" / "still"),
        ]

        def batched() -> None:
            with FileBatch() as files:
                files.write(out / "sub" / "b.txt", "b")

        def as_set() -> None:
            with OutputSet(out / "sub") as outputs:
                outputs.write("c.json", "{}")

        def foreign() -> None:
            with writing(out / "sub" / "model.pt"):
                (out / "sub" / "model.pt").write_bytes(b"weights")

        for attempt in [*attempts, batched, as_set, foreign]:
            with pytest.raises(WriteRefused) as refused:
                attempt()
            line = refused_write_line(refused.value)
            assert "inside the batch folder" in line and str(batch) in line, line
        assert [p.name for p in batch.rglob("*")] == ["slides"]
        write_file(out / "elsewhere.json", "{}")  # outside the batch: written as before
    finally:
        forget_batches()
    write_file(out / "sub" / "a.json", "{}")  # no batch read any more: the link is followed as before
    assert (batch / "slides" / "a.json").exists()


# session 30, redteam7f3: writes into the batch the fix round missed


@pytest.mark.parametrize("registered", [True, False])
def test_a_checkpoint_never_follows_a_link_at_its_temporary_name(tmp_path: Path, registered: bool) -> None:
    """``save_checkpoint`` wrote into ``<fold>.pt.tmp`` opened by its fixed name: a link planted there
    into the batch had ``torch.save`` overwrite the batch's manifest.csv (and the link then took
    the checkpoint's name). Now its temporary file is a fresh random name, never a link followed."""
    torch = pytest.importorskip("torch")
    from dqm.output import forget_batches, never_into
    from dqm.validity.train import save_checkpoint

    batch = tmp_path / "batch"
    batch.mkdir()
    manifest = batch / "manifest.csv"
    manifest.write_text("slide_id,annotation_path\nA,a.json\n")
    folder = tmp_path / "out" / "checkpoints"
    folder.mkdir(parents=True)
    (folder / "fold.pt.tmp").symlink_to(manifest)
    if registered:
        never_into(batch)
    try:
        save_checkpoint(folder / "fold.pt", {"w": torch.arange(10)})
    finally:
        forget_batches()
    assert manifest.read_text() == "slide_id,annotation_path\nA,a.json\n"
    assert not (folder / "fold.pt").is_symlink()
    assert torch.load(folder / "fold.pt")["w"].tolist() == list(range(10))
    assert sorted(p.name for p in folder.iterdir()) == ["fold.pt", "fold.pt.tmp"]


def test_a_link_at_the_run_lock_is_refused_and_makes_nothing_in_the_batch(
    clean_batch: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``OUT/.dqm.lock`` was opened by its name, following a link: one planted there into the batch
    made an empty file in it (the audit went on as usual). The lock is never taken through a link:
    a refused write naming the output folder (exit 4)."""
    out = tmp_path / "out"
    out.mkdir()
    before = sorted(p.name for p in clean_batch.iterdir())
    (out / ".dqm.lock").symlink_to(clean_batch / "PLANTED.txt")
    assert _dqm(["audit", str(clean_batch), "--out", str(out)], monkeypatch) == 4
    assert sorted(p.name for p in clean_batch.iterdir()) == before
    assert not (out / "results.json").exists()
    assert str(out) in "".join(capsys.readouterr().err.split())


def test_a_training_rank_started_by_spawn_knows_the_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``training.processes > 1`` each rank is a new interpreter (spawn) that knew no batch:
    rank 0's checkpoint went through a link in ``--out`` into the batch unrefused. The ranks get the
    registered batches with their arguments (what a spawned rank runs, run here after the
    parent's batches are forgotten, as a new interpreter has none)."""
    pytest.importorskip("torch")
    import torch.distributed as dist
    import torch.multiprocessing as tmp

    from dqm.output import forget_batches, never_into, refuse_into_batch
    from dqm.validity import train

    class Started(Exception):
        pass

    started: list[tuple[Any, ...]] = []

    def start_processes(fn: Any, args: tuple[Any, ...], **kw: Any) -> None:
        started.append(args)
        raise Started

    def init_process_group(*args: Any, **kw: Any) -> None:
        raise Started

    monkeypatch.setattr(tmp, "start_processes", start_processes)
    monkeypatch.setattr(dist, "init_process_group", init_process_group)
    batch = tmp_path / "batch"
    batch.mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "checkpoints").symlink_to(batch)
    profile = type("P", (), {"training": type("T", (), {"processes": 2})()})()
    never_into(batch)
    try:
        with pytest.raises(Started):
            train._train_distributed(reporter=train.Reporter(), profile=profile, device="cpu")
        forget_batches()  # the rank's new interpreter
        with pytest.raises(Started):
            train._rank_main(0, *started[0])
        with pytest.raises(WriteRefused):
            refuse_into_batch(tmp_path / "out" / "checkpoints" / "all.pt")
    finally:
        forget_batches()
