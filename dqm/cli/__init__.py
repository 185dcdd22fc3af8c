"""The ``dqm`` command line: one module per command family, sharing :mod:`dqm.cli.common`.

Exit codes: 0 passed, 1 a gated threshold failed (or validation found errors), 2 usage error
(no such folder, invalid profile, bad arguments, an output folder in use by another run), 3 a
required dimension was not evaluated, 4 an internal error of dqm (one line names the log file
holding the traceback) or a write refused (a full disk or quota, a read-only or unwritable folder,
a plain file where a folder must be: :class:`dqm.output.WriteRefused`; one line names the output
and the reason), 130 interrupted (Ctrl-C or SIGTERM; a validity run keeps a checkpoint:
resume with --resume).
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import tempfile
import traceback
from types import FrameType

from typer.models import CommandInfo

# Each module registers its commands on the one app when imported.
from dqm.cli import files  # noqa: F401  # isort: skip
from dqm.cli import audit  # noqa: F401  # isort: skip
from dqm.cli import semantic  # noqa: F401  # isort: skip
from dqm.cli import delivery  # noqa: F401  # isort: skip
from dqm.cli import certify  # noqa: F401  # isort: skip
from dqm.cli.common import (
    ABORTS,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    INTERRUPT_EXPLAINED,
    LANGUAGE,
    RUN,
    USAGE_ERRORS,
    app,
    console,
    show_usage_error,
    tr,
)
from dqm.cli.lots import lots_app
from dqm.i18n import Message, msg
from dqm.output import WriteRefused, forget_batches, forget_written, not_utf8, refused_write_line

app.add_typer(lots_app, name="lots")

__all__ = ["app", "main"]

HELP_ORDER = (
    "version", "synth", "validate",
    "audit", "validity", "report", "gate", "diff", "fixlist",
    "checks", "convert", "schema",
    "sample",
    "keygen", "sign", "verify",
)  # fmt: skip
"""The order ``dqm --help`` lists the commands in (then any other, then the ``review`` group)."""


def _help_rank(command: CommandInfo) -> int:
    name = command.name or (command.callback.__name__ if command.callback else "")
    return HELP_ORDER.index(name) if name in HELP_ORDER else len(HELP_ORDER)


app.registered_commands.sort(key=_help_rank)


def _terminated(signum: int, frame: FrameType | None) -> None:
    """SIGTERM ends a run like Ctrl-C: outputs being staged are discarded, the previous set stays."""
    raise KeyboardInterrupt


def _internal_error(exc: BaseException) -> int:
    """Keep the traceback in a log file (owner-only and masked: it may quote the batch) and say where, in one line."""
    fd, path = tempfile.mkstemp(prefix="dqm-error-", suffix=".log")
    run = f"run {RUN.id}\n" if RUN.id else ""  # the run this log belongs to
    text = f"dqm {' '.join(sys.argv[1:])}\n{run}\n" + "".join(traceback.format_exception(exc))
    with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:  # a path not in UTF-8
        fh.write(console.mask(text) if console.mask is not None else text)  # the run's masker, if any
    if RUN.id:
        line = msg(
            "dqm: internal error ({error}) in run {run}; no results were written. The traceback is in {path}",
            error=type(exc).__name__,
            run=RUN.id,
            path=path,
        )
    else:
        line = msg(
            "dqm: internal error ({error}); no results were written. The traceback is in {path}",
            error=type(exc).__name__,
            path=path,
        )
    print(tr(line), file=sys.stderr)
    return EXIT_INTERNAL


REFUSED_WRITES = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG})
"""What a write the system refuses raises: the machine's state, not a bug of dqm. Every failure of
dqm's writer (:class:`dqm.output.WriteRefused`: a plain file where a folder must be, a folder not
writable, a name too long, whatever the errno) is said so too, naming the output."""


def _refused_write(exc: OSError) -> int:
    """Say in one line which write the system refused and why (no traceback: dqm has no bug to
    report). An audit's outputs are staged, so the previous set stays whole; a command that writes
    its files one by one (``dqm report``'s several outputs, ``dqm convert``) keeps those it has
    already said it wrote (a review: "no results were written" followed a report it had written);
    a set that could not all be moved into place is finished by the next run into its folder."""
    line = refused_write_line(exc, LANGUAGE.value)
    print(console.mask(line) if console.mask is not None else line, file=sys.stderr)
    return EXIT_INTERNAL


def _argument_not_utf8() -> Message | None:
    """Why the command line cannot be run, when an argument (a batch folder, ``--out``) is not
    valid UTF-8: results.json records the command and the batch's path, and no output can hold
    such a name (the writer raised; the run ended as an internal error)."""
    for n, arg in enumerate(sys.argv[1:], start=1):
        if (shown := not_utf8(arg)) is not None:
            return msg(
                "argument {n} is not valid UTF-8 ({shown}): dqm writes its command line and paths into "
                "its outputs; rename the file or folder",
                n=n,
                shown=shown,
            )
    return None


def main() -> None:
    """Entry point of the ``dqm`` script: exit codes as the module says, never a traceback."""
    forget_written()
    forget_batches()
    signal.signal(signal.SIGTERM, _terminated)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored
    if (bad := _argument_not_utf8()) is not None:
        print(tr(bad), file=sys.stderr)
        sys.exit(EXIT_USAGE)
    try:
        code = app(standalone_mode=False)  # click turns Ctrl-C into exit code 130
    except ABORTS:
        code = EXIT_INTERRUPTED
    except USAGE_ERRORS as exc:  # usage errors of the command line itself
        code = show_usage_error(exc)
    except OSError as exc:
        refused = exc.errno in REFUSED_WRITES or isinstance(exc, WriteRefused)
        code = _refused_write(exc) if refused else _internal_error(exc)
    except Exception as exc:  # a bug of dqm: exit 4, never 1 ("a dimension failed")
        code = _internal_error(exc)
    if code == EXIT_INTERRUPTED and not INTERRUPT_EXPLAINED:
        print(tr(msg("dqm: interrupted; no new results were written")), file=sys.stderr)
    _forget_an_unhandled_interrupt()
    sys.exit(code if isinstance(code, int) else 0)


def _forget_an_unhandled_interrupt() -> None:
    """Exit with the code ``main`` chose, even when the interrupt came inside code run from a string.

    CPython marks a KeyboardInterrupt that leaves an ``exec`` of source text (dataclasses and namedtuple
    build their methods so) as unhandled, and a process so marked ends by killing itself
    with SIGINT after its exit, whatever code it asked for: a SIGTERM'd audit then ended as -2, not
    130. Each ``exec`` of a string clears the mark first, so one of nothing clears it.
    """
    exec("pass")  # a constant: the point is CPython's reset, not the code
