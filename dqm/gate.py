"""The release gate: which required dimensions hold, and the exit code CI sees.

Exit codes: 0 every required dimension passed; 1 a required dimension failed; 3 a required
dimension was not evaluated; 2 is left to usage errors (bad arguments, unreadable files).
A dimension named in ``warn_only`` is reported but never fails the gate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dqm.audit import DIMENSIONS, dimension_passed
from dqm.results import QualityResult

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_MISSING = 0, 1, 2, 3


@dataclass(frozen=True, slots=True)
class GateOutcome:
    exit_code: int
    lines: list[str]


def gate(
    result: QualityResult, require: Iterable[str] | None = None, warn_only: Iterable[str] = ()
) -> GateOutcome:
    """Decide the gate. ``require`` defaults to the dimensions the result holds."""
    warn = set(warn_only)
    required = (
        list(require)
        if require is not None
        else [d for d in DIMENSIONS if dimension_passed(result, d) is not None]
    )
    unknown = [d for d in (*required, *warn) if d not in DIMENSIONS]
    if unknown:
        raise ValueError(f"unknown dimension(s): {', '.join(unknown)} (choose from {', '.join(DIMENSIONS)})")
    lines, failed, missing = [], [], []
    for dim in required:
        state = dimension_passed(result, dim)
        if state is None:
            missing.append(dim)
            lines.append(f"MISSING  {dim}: not evaluated")
        elif state:
            lines.append(f"PASS     {dim}")
        elif dim in warn:
            lines.append(f"WARN     {dim}: failed (warn-only)")
        else:
            failed.append(dim)
            lines.append(f"FAIL     {dim}")
    code = EXIT_FAILED if failed else EXIT_MISSING if missing else EXIT_OK
    return GateOutcome(code, lines)
