"""The ``dqm`` command line: one module per command family, sharing :mod:`dqm.cli.common`.

Exit codes: 0 passed, 1 a gated threshold failed (or validation found errors), 2 usage error
(no such folder, invalid profile, bad arguments), 3 a required dimension was not evaluated,
130 interrupted by Ctrl-C during a validity run (a checkpoint is kept: resume with --resume).
"""

from __future__ import annotations

# Each module registers its commands on the one app, in the order `dqm --help` lists them.
from dqm.cli import files  # noqa: F401  # isort: skip
from dqm.cli import audit  # noqa: F401  # isort: skip
from dqm.cli import semantic  # noqa: F401  # isort: skip
from dqm.cli.common import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``dqm`` script."""
    app()
