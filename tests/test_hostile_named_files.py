"""Files a user names on the command line that are not regular files: a FIFO (which blocks the
reader until something writes) or a device (``/dev/zero`` never ends). None of them is read."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.cli import app
from dqm.semantic.resultfile import SemanticFileError, load_semantic
from reports.outputs import write_outputs

runner = CliRunner()


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    """A FIFO. Before dqm refused them a reader blocked on it for good: a thread opens it for
    writing and closes it again and again, so such a reader gets an end and the test fails
    instead of hanging."""
    path = tmp_path / "named"
    os.mkfifo(path)
    stop = threading.Event()

    def unblock() -> None:
        while not stop.wait(0.05):
            try:
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # no reader yet
                continue
            os.close(fd)

    thread = threading.Thread(target=unblock, daemon=True)
    thread.start()
    yield path
    stop.set()
    thread.join()


@pytest.fixture
def results(tmp_path: Path, result_factory: Callable[..., object]) -> Path:
    write_outputs(result_factory(), tmp_path / "out")  # type: ignore[arg-type]
    return tmp_path / "out" / "results.json"


@pytest.fixture
def result_factory():  # type: ignore[no-untyped-def]
    from tests.reports.conftest import make_result

    return make_result


@pytest.mark.parametrize(
    "args",
    [
        ["gate", "{fifo}"],
        ["diff", "{results}", "{fifo}"],
        ["gate", "{results}", "--waivers", "{fifo}"],
        ["gate", "{results}", "--profile", "{fifo}"],
        ["verify", "{results}", "--key", "{fifo}"],
        ["review", "ingest", "{results}", "--plan", "{fifo}", "--out", "{tmp}"],
    ],
    ids=["results", "diff", "waivers", "profile", "key", "plan"],
)
def test_a_fifo_named_on_the_command_line_is_refused_not_read(
    args: list[str], fifo: Path, results: Path, tmp_path: Path
) -> None:
    """Each of these blocked on the FIFO until something wrote to it (for ever at a terminal); and
    ``dqm gate /dev/zero`` read until memory ran out. Now each is a usage error naming the file."""
    filled = [a.format(fifo=fifo, results=results, tmp=tmp_path / "o") for a in args]
    res = runner.invoke(app, filled)
    assert res.exit_code == 2, res.output
    assert "not a regular file" in " ".join(res.output.split())


def test_a_semantic_result_that_is_a_fifo_is_refused(fifo: Path) -> None:
    with pytest.raises(SemanticFileError, match="not a regular file"):
        load_semantic(fifo, "0" * 64)


def test_a_device_named_as_results_is_refused() -> None:
    res = runner.invoke(app, ["gate", "/dev/zero"])
    assert res.exit_code == 2
    assert "not a regular file" in " ".join(res.output.split())


def test_a_gx_suite_that_is_a_fifo_is_an_error_of_the_suite_not_a_hang(fifo: Path) -> None:
    import pandas as pd

    from dqm.clinical_table import TableValidation, _user_suite

    out = TableValidation(frame=pd.DataFrame({"age": [40]}), sources=[])
    assert _user_suite(out.frame, fifo, out) == []
    assert out.error is not None and "not a regular file" in out.error


def test_a_risk_file_that_is_a_fifo_is_refused(fifo: Path) -> None:
    # it was read as it came: an empty risk table once the writer closed, a hang while none did
    import typer

    from dqm.cli.semantic import _read_risk

    with pytest.raises(typer.Exit) as stopped:
        _read_risk(fifo)
    assert stopped.value.exit_code == 2
