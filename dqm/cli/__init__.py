"""The ``dqm`` command line: one module per command family, sharing :mod:`dqm.cli.common`.

Exit codes: 0 passed, 1 a gated threshold failed (or validation found errors), 2 usage error
(no such folder, invalid profile, bad arguments), 3 a required dimension was not evaluated,
130 interrupted by Ctrl-C during a validity run (a checkpoint is kept: resume with --resume).
"""

from __future__ import annotations

from typer.models import CommandInfo

# Each module registers its commands on the one app when imported.
from dqm.cli import files  # noqa: F401  # isort: skip
from dqm.cli import audit  # noqa: F401  # isort: skip
from dqm.cli import semantic  # noqa: F401  # isort: skip
from dqm.cli.common import app

__all__ = ["app", "main"]

HELP_ORDER = (
    "version", "synth", "validate",
    "audit", "validity", "report", "gate", "diff",
    "checks", "convert", "schema",
    "sample",
)  # fmt: skip
"""The order ``dqm --help`` lists the commands in (then any other, then the ``review`` group)."""


def _help_rank(command: CommandInfo) -> int:
    name = command.name or (command.callback.__name__ if command.callback else "")
    return HELP_ORDER.index(name) if name in HELP_ORDER else len(HELP_ORDER)


app.registered_commands.sort(key=_help_rank)


def main() -> None:
    """Entry point of the ``dqm`` script."""
    app()
