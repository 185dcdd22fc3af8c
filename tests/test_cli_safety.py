"""Exit codes and outputs a CI can trust: usage errors before any work, internal errors as exit 4
with a log, a crashed stage that costs only itself, one run per output folder, Ctrl-C and SIGTERM
as exit 130 leaving the previous outputs."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.cli import app, main
from dqm.output import run_lock

runner = CliRunner()


def test_an_out_option_that_is_a_file_is_a_usage_error_before_any_work(
    clean_batch: Path, tmp_path: Path
) -> None:
    taken = tmp_path / "out"
    taken.write_text("not a folder")
    res = runner.invoke(app, ["audit", str(clean_batch), "--out", str(taken)])
    assert res.exit_code == 2 and "existing file" in res.output
    assert taken.read_text() == "not a folder"


def test_a_second_run_into_a_folder_in_use_is_refused(clean_batch: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with run_lock(out):
        res = runner.invoke(app, ["audit", str(clean_batch), "--out", str(out)])
    # the message wraps at the console's width, wherever the (long, per-worker) temporary path ends
    assert res.exit_code == 2 and "in use by another dqm run" in " ".join(res.output.split())
    assert not (out / "results.json").exists()


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["validate"], "Missing argument"),
        (["no-such-command"], "No such command"),
        (["validate", ".", "--no-such-option"], "No such option"),
        (["validate", ".", "--json"], "requires an argument"),
    ],
)
def test_a_usage_error_of_the_command_line_exits_2_not_as_an_internal_error(
    argv: list[str], said: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Through the real entry point: typer 0.2x raises its own copy of click's exceptions, which
    once fell through to the internal-error handler (exit 4, a traceback log for a typo)."""
    monkeypatch.setattr(sys, "argv", ["dqm", *argv])
    with pytest.raises(SystemExit) as exit_info:
        main()
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and said in err and "internal error" not in err


def test_an_internal_error_exits_4_with_a_log_and_no_traceback(
    clean_batch: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in dqm")

    monkeypatch.setattr("dqm.audit.build_result", broken)
    monkeypatch.setattr(sys, "argv", ["dqm", "audit", str(clean_batch), "--out", str(tmp_path / "out")])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 4
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "internal error (RuntimeError)" in err[0] and "Traceback" not in err[0]
    log = Path(err[0].rsplit(" ", 1)[-1])
    assert "a bug in dqm" in log.read_text() and "Traceback" in log.read_text()
    run_id = re.search(r"in run (\d{8}T\d{6}Z-[0-9a-f]{8});", err[0])  # the run the log belongs to
    assert run_id is not None and f"run {run_id.group(1)}\n" in log.read_text()
    log.unlink()


def test_the_internal_error_line_is_in_the_commands_language(
    clean_batch: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in dqm")

    monkeypatch.setattr("dqm.audit.build_result", broken)
    argv = ["dqm", "audit", str(clean_batch), "--out", str(tmp_path / "out"), "--lang", "ko"]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 4
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "내부 오류 (RuntimeError)" in line and "internal error" not in line
    log = Path(line.rsplit(" ", 1)[-1])  # the log's path still ends the line, for scripts
    assert "a bug in dqm" in log.read_text()
    log.unlink()


def test_a_crashed_stage_is_a_finding_and_the_other_outputs_are_written(
    clean_batch: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise OverflowError("int too large to convert to float")

    monkeypatch.setattr("dqm.diversity.analyse.diversity_result", broken)
    out = tmp_path / "out"
    res = runner.invoke(
        app, ["audit", str(clean_batch), "--out", str(out), "--require", "syntactic,diversity"]
    )
    assert res.exit_code == 3, res.output  # diversity was not evaluated: incomplete, not failed
    result = json.loads((out / "results.json").read_text())
    (crash,) = [f for f in result["findings"] if f["code"] == "STAGE_CRASHED"]
    assert "diversity stage" in crash["message"] and "OverflowError" in crash["message"]
    assert result["diversity"] is None and "diversity" in result["verdict"]["missing"]
    for name in ("report.html", "junit.xml", "summary.md"):
        assert "STAGE_CRASHED" in (out / name).read_text()


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_audit_exits_130_and_keeps_the_previous_outputs(
    defect_batch: Path, tmp_path: Path, sig: int
) -> None:
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "dqm", "audit", str(defect_batch), "--out", str(out), "--workers", "1"]
    first = subprocess.run(cmd, capture_output=True, text=True)
    assert first.returncode == 1, first.stderr
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    # Checked again, not taken from the first run's cache: a cached run ends in about the 2 s the
    # signal waits, and a signal that comes while Python shuts down meets its default handler.
    proc = subprocess.Popen([*cmd, "--no-cache"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2.0)  # past the imports, into the checks
    os.kill(proc.pid, sig)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "dqm: interrupted; no new results were written"
    assert "Traceback" not in stderr
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert after == before  # the previous complete set, untouched
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging left


def test_an_interrupt_inside_code_run_from_a_string_still_exits_130(tmp_path: Path) -> None:
    # dataclasses and namedtuple run their generated methods through exec(); CPython marks an interrupt
    # that leaves one as unhandled and ends a `python -m` process by SIGINT (-2), whatever main chose.
    (tmp_path / "interrupted_dqm.py").write_text(
        "import sys\n"
        "import dqm.cli as cli\n"
        "def interrupted(**_):\n"
        "    exec('raise KeyboardInterrupt')\n"
        "cli.app = interrupted\n"
        "sys.argv = ['dqm', 'audit']\n"
        "cli.main()\n"
    )
    res = subprocess.run(
        [sys.executable, "-m", "interrupted_dqm"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 130, res.stderr
    assert res.stderr.strip().splitlines()[-1] == "dqm: interrupted; no new results were written"


def test_the_consoles_do_not_highlight_what_they_print() -> None:
    """rich's repr highlighter took time in the square of an unbroken run of text: a line quoting
    80,000 characters from a file (a digest dqm verify quoted) spent 6.5 of its 7 s there. What dqm
    prints is its own words and a file's text: nothing in it is highlighted as a Python repr."""
    from dqm.cli.common import console, out

    for printer in (console, out):
        assert printer.render_str("S00001 123 'x' /tmp/a True").spans == []


@pytest.mark.parametrize("code", ["ENOSPC", "EROFS", "EDQUOT"])
def test_a_write_the_system_refuses_is_said_plainly_not_as_an_internal_error(
    clean_batch: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    code: str,
) -> None:
    """A full disk (or a folder made read-only, a quota reached) while the outputs are written
    ended as 'internal error (OSError)' with a traceback log, as if dqm had a bug."""
    import errno

    number = getattr(errno, code)

    def full(result: object, target: Path, *args: object, **kwargs: object) -> None:
        target.write_bytes(b'{"half": ')  # what a full disk lets through
        raise OSError(number, os.strerror(number), str(target))

    monkeypatch.setattr("reports.outputs.write_results", full)
    out = tmp_path / "out"
    argv = ["dqm", "audit", str(clean_batch), "--out", str(out), "--workers", "1", "--no-cache"]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 4
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "internal error" not in line and "Traceback" not in line and ".log" not in line
    assert os.strerror(number) in line and "only outputs already reported as written were written" in line
    assert not (out / "results.json").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging left


def _schema_to(target: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["dqm", "schema", "results", "-o", str(target)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    return int(exit_info.value.code or 0)


@pytest.mark.parametrize("kind", ["fifo", "folder", "link to a FIFO", "link to a folder"])
def test_an_output_never_replaces_what_is_not_a_regular_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    """``dqm diff A B -o /dev/full``, run as root, replaced the device by a regular file and exited 0
    (the atomic write renames over the name). A FIFO here stands for every special file (a test
    never touches /dev); a link to one (``-o /dev/stdout``) is refused too."""
    target, fifo, folder = tmp_path / "out.json", tmp_path / "fifo", tmp_path / "folder"
    os.mkfifo(fifo)
    folder.mkdir()
    {"fifo": lambda: os.mkfifo(target), "folder": target.mkdir}.get(
        kind, lambda: target.symlink_to(fifo if "FIFO" in kind else folder)
    )()
    before = os.lstat(target)
    assert _schema_to(target, monkeypatch) == 4
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"dqm: {target} could not be written (it is not a regular file")
    assert "internal error" not in line
    after = os.lstat(target)
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and list(folder.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "folder", "out.json"]


def test_a_link_to_a_file_or_to_nothing_is_replaced_never_written_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As dqm always did (``dqm validity corrupt`` replaces a copy's linked manifest.csv so): the
    link gives way to the new file; the file it led to is left as it was."""
    kept, target, dangling = tmp_path / "kept.json", tmp_path / "out.json", tmp_path / "dangling.json"
    kept.write_text("kept")
    target.symlink_to(kept)
    dangling.symlink_to(tmp_path / "nowhere")
    assert _schema_to(target, monkeypatch) == 0 and _schema_to(dangling, monkeypatch) == 0
    assert kept.read_text() == "kept" and not (tmp_path / "nowhere").exists()
    for written in (target, dangling):
        assert stat.S_ISREG(os.lstat(written).st_mode) and written.read_text().startswith("{")


def test_a_full_disk_names_the_file_being_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """ENOSPC from ``write`` or ``fsync`` carries no file name (``-o /dev/full`` said "a file could
    not be written"): the writer knows its target and names it, as the README says."""
    import errno

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("dqm.output._fsync", full)
    target = tmp_path / "schema.json"
    assert _schema_to(target, monkeypatch) == 4
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert (
        line
        == f"dqm: {target} could not be written ({os.strerror(errno.ENOSPC)}); only outputs already reported as written were written"
    )
    assert list(tmp_path.iterdir()) == []


def test_an_output_whose_folder_is_a_plain_file_is_a_refused_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``dqm report --junit FILE/j.xml`` with FILE a plain file wrote the report, then said
    "internal error (FileExistsError); no results were written" (note25): the folder that cannot
    be made is a write refused, said as one, the output named."""
    plain = tmp_path / "plain"
    plain.write_text("x")
    assert _schema_to(plain / "s.json", monkeypatch) == 4
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "internal error" not in line and ".log" not in line
    assert str(plain / "s.json") in line and "only outputs already reported as written were written" in line
